//! [`Packet`]: a zero-copy view of an NHRP packet's fixed header, common mandatory header and
//! source/destination addresses, with setters for what a forwarding NHS rewrites.

use core::ops::Range;

use crate::checksum;
use crate::error::{Error, Result};
use crate::gre::EtherType;

use super::types::{AddressFamily, Flags, PacketType};
use super::{ADDRESSES_OFFSET, FIXED_HEADER_LEN};

mod field {
    use core::ops::Range;
    pub const AFN: Range<usize> = 0..2;
    pub const PRO_TYPE: Range<usize> = 2..4;
    pub const PRO_SNAP: Range<usize> = 4..9;
    pub const HOPCNT: usize = 9;
    pub const PKTSZ: Range<usize> = 10..12;
    pub const CHKSUM: Range<usize> = 12..14;
    pub const EXTOFF: Range<usize> = 14..16;
    pub const VERSION: usize = 16;
    pub const TYPE: usize = 17;
    pub const SHTL: usize = 18;
    pub const SSTL: usize = 19;
    pub const SPL: usize = 20;
    pub const DPL: usize = 21;
    pub const FLAGS: Range<usize> = 22..24;
    pub const REQUEST_ID: Range<usize> = 24..28;
}

/// A read/write view of an NHRP packet.
///
/// [`Packet::check_len`] guarantees: the buffer holds `ar$pktsz` bytes, `ar$pktsz` covers the
/// fixed and mandatory headers and the four addresses. After it passes no getter panics (the
/// getters never panic anyway: out-of-range reads return 0 or an empty slice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checks.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and runs [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the lengths described on [`Packet`].
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < ADDRESSES_OFFSET {
            let field = if have < FIXED_HEADER_LEN {
                "fixed_header"
            } else {
                "mandatory_header"
            };
            let offset = if have < FIXED_HEADER_LEN {
                0
            } else {
                FIXED_HEADER_LEN
            };
            let need = if have < FIXED_HEADER_LEN {
                FIXED_HEADER_LEN
            } else {
                ADDRESSES_OFFSET - FIXED_HEADER_LEN
            };
            return Err(Error::Truncated {
                field,
                offset,
                need,
                have: have - offset,
            });
        }
        let size = usize::from(self.packet_size());
        if size < ADDRESSES_OFFSET {
            return Err(Error::Invalid {
                field: "ar$pktsz",
                offset: 10,
                reason: "smaller than the fixed and mandatory headers (28)",
            });
        }
        if size > have {
            return Err(Error::Truncated {
                field: "packet",
                offset: 0,
                need: size,
                have,
            });
        }
        let end = self.addresses_end();
        if end > size {
            return Err(Error::Truncated {
                field: "addresses",
                offset: ADDRESSES_OFFSET,
                need: end - ADDRESSES_OFFSET,
                have: size - ADDRESSES_OFFSET,
            });
        }
        Ok(())
    }

    /// Consumes the view, giving back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn get8(&self, at: usize) -> u8 {
        self.b().get(at).copied().unwrap_or(0)
    }
    fn get16(&self, r: Range<usize>) -> u16 {
        self.b()
            .get(r)
            .and_then(|s| <[u8; 2]>::try_from(s).ok())
            .map_or(0, u16::from_be_bytes)
    }

    /// `ar$afn`.
    pub fn afn(&self) -> AddressFamily {
        AddressFamily::from(self.get16(field::AFN))
    }
    /// `ar$pro.type`.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.get16(field::PRO_TYPE))
    }
    /// `ar$pro.snap`.
    pub fn protocol_snap(&self) -> &[u8] {
        self.b().get(field::PRO_SNAP).unwrap_or(&[])
    }
    /// `ar$hopcnt`.
    pub fn hop_count(&self) -> u8 {
        self.get8(field::HOPCNT)
    }
    /// `ar$pktsz`.
    pub fn packet_size(&self) -> u16 {
        self.get16(field::PKTSZ)
    }
    /// `ar$chksum`.
    pub fn checksum(&self) -> u16 {
        self.get16(field::CHKSUM)
    }
    /// `ar$extoff`.
    pub fn extension_offset(&self) -> u16 {
        self.get16(field::EXTOFF)
    }
    /// `ar$op.version`.
    pub fn version(&self) -> u8 {
        self.get8(field::VERSION)
    }
    /// `ar$op.type`.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(self.get8(field::TYPE))
    }
    /// `ar$shtl` raw octet.
    pub fn shtl(&self) -> u8 {
        self.get8(field::SHTL)
    }
    /// `ar$sstl` raw octet.
    pub fn sstl(&self) -> u8 {
        self.get8(field::SSTL)
    }
    /// Source protocol address length.
    pub fn src_proto_len(&self) -> u8 {
        self.get8(field::SPL)
    }
    /// Destination protocol address length.
    pub fn dst_proto_len(&self) -> u8 {
        self.get8(field::DPL)
    }
    /// Flags.
    pub fn flags(&self) -> Flags {
        Flags(self.get16(field::FLAGS))
    }
    /// Mandatory bytes 4-7 (request id; error code+offset; traffic code+unused).
    pub fn request_id(&self) -> u32 {
        self.b()
            .get(field::REQUEST_ID)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(0, u32::from_be_bytes)
    }

    fn ranges(&self) -> [Range<usize>; 4] {
        let a = ADDRESSES_OFFSET;
        let b = a + usize::from(self.shtl() & 0x3f);
        let c = b + usize::from(self.sstl() & 0x3f);
        let d = c + usize::from(self.src_proto_len());
        let e = d + usize::from(self.dst_proto_len());
        [a..b, b..c, c..d, d..e]
    }

    /// Offset just after the destination protocol address.
    pub fn addresses_end(&self) -> usize {
        let [.., dst] = self.ranges();
        dst.end
    }
    /// Source NBMA address bytes.
    pub fn src_nbma(&self) -> &[u8] {
        let [r, ..] = self.ranges();
        self.b().get(r).unwrap_or(&[])
    }
    /// Source NBMA subaddress bytes.
    pub fn src_nbma_subaddr(&self) -> &[u8] {
        let [_, r, ..] = self.ranges();
        self.b().get(r).unwrap_or(&[])
    }
    /// Source protocol address bytes.
    pub fn src_proto(&self) -> &[u8] {
        let [_, _, r, _] = self.ranges();
        self.b().get(r).unwrap_or(&[])
    }
    /// Destination protocol address bytes.
    pub fn dst_proto(&self) -> &[u8] {
        let [.., r] = self.ranges();
        self.b().get(r).unwrap_or(&[])
    }

    /// True when `ar$chksum` verifies over `ar$pktsz` bytes.
    pub fn verify_checksum(&self) -> bool {
        self.b()
            .get(..usize::from(self.packet_size()))
            .is_some_and(checksum::verify)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, r: Range<usize>, v: u16) {
        if let Some(s) = self.buffer.as_mut().get_mut(r) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Sets `ar$hopcnt` (then call [`Packet::fill_checksum`]).
    pub fn set_hop_count(&mut self, v: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(field::HOPCNT) {
            *b = v;
        }
    }
    /// Sets `ar$chksum`.
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(field::CHKSUM, v);
    }
    /// Sets the flags.
    pub fn set_flags(&mut self, v: Flags) {
        self.put16(field::FLAGS, v.0);
    }
    /// Sets mandatory bytes 4-7.
    pub fn set_request_id(&mut self, v: u32) {
        if let Some(s) = self.buffer.as_mut().get_mut(field::REQUEST_ID) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }
    /// Recomputes `ar$chksum` over `ar$pktsz` bytes (no-op if the buffer is shorter).
    pub fn fill_checksum(&mut self) {
        let size = usize::from(self.packet_size());
        if self.buffer.as_ref().len() < size || size < FIXED_HEADER_LEN {
            return;
        }
        self.set_checksum(0);
        let c = self
            .buffer
            .as_ref()
            .get(..size)
            .map_or(0, checksum::compute);
        self.set_checksum(c);
    }
}

/// Raw header fields, for packets that [`super::Repr`] refuses (smoltcp's fallback): every
/// value is printed as found, addresses only as far as the buffer holds them.
impl<T: AsRef<[u8]>> core::fmt::Display for Packet<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let len = self.b().len();
        write!(
            f,
            "NHRP (raw) afn {:#06x}, pro.type {:#06x}, hopcnt {}, pktsz {}, chksum {:#06x}, extoff {}, version {}, type {}, shtl {:#04x}, sstl {:#04x}",
            u16::from(self.afn()),
            u16::from(self.protocol_type()),
            self.hop_count(),
            self.packet_size(),
            self.checksum(),
            self.extension_offset(),
            self.version(),
            self.packet_type().value(),
            self.shtl(),
            self.sstl(),
        )?;
        if len >= ADDRESSES_OFFSET {
            write!(
                f,
                ", src proto len {}, dst proto len {}, flags {:#06x}, request id {}",
                self.src_proto_len(),
                self.dst_proto_len(),
                self.flags().0,
                self.request_id()
            )?;
        }
        if len < FIXED_HEADER_LEN {
            write!(f, " [truncated: {len} bytes]")?;
        }
        Ok(())
    }
}

//! GRE (RFC 2784 with the RFC 2890 key and sequence number extensions).
//!
//! [`Packet`] is a zero-copy view over a buffer; [`Repr`] is the owned, validated header.
//! The payload (NHRP, IPv4, IPv6, MPLS or anything else) is carried opaquely: its protocol
//! is named by [`EtherType`].
//!
//! Layout (RFC 2784 §2.1, RFC 2890 §2):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |C|R|K|S|s|Recur|  Reserved0  | Ver |         Protocol Type         |
//! |      Checksum (optional)      |       Reserved1 (Optional)    |
//! |                         Key (optional)                        |
//! |                 Sequence Number (Optional)                    |
//! ```
//!
//! Validation in [`Repr::parse`]: the version must be 0; the routing bit (R, RFC 1701 source
//! routing), the strict-source-route bit and the high recursion bit are refused with a typed
//! error (RFC 2784 §2.3: "MUST discard ... bits 1-5 non-zero" minus K and S, which RFC 2890
//! defines). Reserved0 bits 6-12 are ignored on receipt but kept for a lossless round trip.

use core::fmt;

use crate::checksum;
use crate::error::{Error, Result};
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// Protocol type of the GRE payload (an Ethernet type), also used for NHRP `ar$pro.type`.
    pub enum EtherType(u16) {
        /// IPv4, 0x0800.
        Ipv4 = 0x0800,
        /// IPv6, 0x86DD.
        Ipv6 = 0x86DD,
        /// NHRP over GRE, 0x2001 (Cisco / Linux ETH_P_NHRP).
        Nhrp = 0x2001,
        /// MPLS unicast, 0x8847.
        Mpls = 0x8847,
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => write!(f, "IPv4"),
            EtherType::Ipv6 => write!(f, "IPv6"),
            EtherType::Nhrp => write!(f, "NHRP"),
            EtherType::Mpls => write!(f, "MPLS"),
            EtherType::Unknown(v) => write!(f, "{v:#06x}"),
        }
    }
}

/// Bit masks of the first 16-bit word.
pub mod flags {
    /// C: checksum present.
    pub const CHECKSUM: u16 = 0x8000;
    /// R: routing present (RFC 1701; refused).
    pub const ROUTING: u16 = 0x4000;
    /// K: key present (RFC 2890).
    pub const KEY: u16 = 0x2000;
    /// S: sequence number present (RFC 2890).
    pub const SEQUENCE: u16 = 0x1000;
    /// s: strict source route (RFC 1701; refused).
    pub const STRICT_ROUTE: u16 = 0x0800;
    /// Recursion control, top bit (RFC 2784 bit 5; refused).
    pub const RECUR_HIGH: u16 = 0x0400;
    /// Reserved0 bits 6-12: ignored on receipt, kept for round trips.
    pub const RESERVED0: u16 = 0x03F8;
    /// Version (must be 0).
    pub const VERSION: u16 = 0x0007;
}

mod field {
    pub const FLAGS: core::ops::Range<usize> = 0..2;
    pub const PROTOCOL: core::ops::Range<usize> = 2..4;
}

/// Length of the mandatory part of the header.
pub const BASE_HEADER_LEN: usize = 4;

/// A read/write view of a GRE packet.
///
/// After [`Packet::new_checked`] (or a successful [`Packet::check_len`]) no getter panics.
/// Setters that change the C/K/S bits invalidate that check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at.saturating_add(2))
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, u16::from_be_bytes)
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it (for emission into a buffer you sized yourself).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that the header announced by its flags fits.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the base header and every optional field its flags announce.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < BASE_HEADER_LEN {
            return Err(Error::Truncated {
                field: "gre.header",
                offset: 0,
                need: BASE_HEADER_LEN,
                have,
            });
        }
        let need = self.header_len();
        if have < need {
            return Err(Error::Truncated {
                field: "gre.optional_fields",
                offset: BASE_HEADER_LEN,
                need: need - BASE_HEADER_LEN,
                have: have - BASE_HEADER_LEN,
            });
        }
        Ok(())
    }

    /// Consumes the view, giving back the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The raw first 16-bit word (flags, reserved0, version).
    pub fn flags_word(&self) -> u16 {
        be16(self.buffer.as_ref(), field::FLAGS.start)
    }

    /// C bit.
    pub fn checksum_present(&self) -> bool {
        self.flags_word() & flags::CHECKSUM != 0
    }
    /// R bit.
    pub fn routing_present(&self) -> bool {
        self.flags_word() & flags::ROUTING != 0
    }
    /// K bit.
    pub fn key_present(&self) -> bool {
        self.flags_word() & flags::KEY != 0
    }
    /// S bit.
    pub fn sequence_present(&self) -> bool {
        self.flags_word() & flags::SEQUENCE != 0
    }
    /// Version field (low 3 bits).
    pub fn version(&self) -> u8 {
        (self.flags_word() & flags::VERSION) as u8
    }
    /// Protocol type of the payload.
    pub fn protocol(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::PROTOCOL.start))
    }

    /// Header length implied by the C, K and S bits.
    pub fn header_len(&self) -> usize {
        BASE_HEADER_LEN
            + 4 * usize::from(self.checksum_present())
            + 4 * usize::from(self.key_present())
            + 4 * usize::from(self.sequence_present())
    }

    /// Checksum field, when present.
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| be16(self.buffer.as_ref(), 4))
    }
    /// Reserved1 field (after the checksum), when present.
    pub fn reserved1(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| be16(self.buffer.as_ref(), 6))
    }
    /// Key, when present.
    pub fn key(&self) -> Option<u32> {
        let at = BASE_HEADER_LEN + 4 * usize::from(self.checksum_present());
        self.key_present().then(|| be32(self.buffer.as_ref(), at))
    }
    /// Sequence number, when present.
    pub fn sequence(&self) -> Option<u32> {
        let at = BASE_HEADER_LEN
            + 4 * usize::from(self.checksum_present())
            + 4 * usize::from(self.key_present());
        self.sequence_present()
            .then(|| be32(self.buffer.as_ref(), at))
    }

    /// The payload after the header (empty if the buffer is shorter than the header).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }

    /// True when no checksum is present, or the checksum over header and payload verifies.
    pub fn verify_checksum(&self) -> bool {
        !self.checksum_present() || checksum::verify(self.buffer.as_ref())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer.
    pub fn payload_ref(&self) -> &'a [u8] {
        let len = self.header_len();
        self.buffer.as_ref().get(len..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put16(&mut self, at: usize, v: u16) {
        if let Some(s) = self.buffer.as_mut().get_mut(at..at + 2) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }
    fn put32(&mut self, at: usize, v: u32) {
        if let Some(s) = self.buffer.as_mut().get_mut(at..at + 4) {
            s.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Sets the whole first word (invalidates `check_len`). Writes nothing if the buffer is
    /// shorter than the field; the other setters behave the same way.
    pub fn set_flags_word(&mut self, v: u16) {
        self.put16(field::FLAGS.start, v);
    }
    /// Sets the protocol type.
    pub fn set_protocol(&mut self, p: EtherType) {
        self.put16(field::PROTOCOL.start, p.value());
    }
    /// Sets the checksum field (only meaningful when C is set).
    pub fn set_checksum(&mut self, v: u16) {
        self.put16(4, v);
    }
    /// Sets the key field (only when K is set).
    pub fn set_key(&mut self, v: u32) {
        if self.key_present() {
            let at = BASE_HEADER_LEN + 4 * usize::from(self.checksum_present());
            self.put32(at, v);
        }
    }
    /// Sets the sequence number field (only when S is set).
    pub fn set_sequence(&mut self, v: u32) {
        if self.sequence_present() {
            let at = BASE_HEADER_LEN
                + 4 * usize::from(self.checksum_present())
                + 4 * usize::from(self.key_present());
            self.put32(at, v);
        }
    }
    /// Recomputes the checksum over header and payload (no-op when C is clear).
    pub fn fill_checksum(&mut self) {
        if self.checksum_present() {
            self.set_checksum(0);
            let c = checksum::compute(self.buffer.as_ref());
            self.set_checksum(c);
        }
    }
    /// Mutable payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = self.header_len();
        self.buffer.as_mut().get_mut(len..).unwrap_or(&mut [])
    }
}

/// The checksum option of a GRE header. The checksum value itself is always computed on
/// emit; the received value is available from [`Packet::checksum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChecksumField {
    /// Reserved1 (RFC 2784: sent as zero), kept for round trips.
    pub reserved1: u16,
}

/// An owned, validated GRE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Present when the C bit is set.
    pub checksum: Option<ChecksumField>,
    /// RFC 2890 key.
    pub key: Option<u32>,
    /// RFC 2890 sequence number.
    pub sequence: Option<u32>,
    /// Payload protocol.
    pub protocol: EtherType,
    /// Reserved0 bits 6-12 as received (mask [`flags::RESERVED0`]); zero when building.
    pub reserved0: u16,
}

/// Options for [`Repr::parse_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Refuse a packet whose checksum does not verify (default true).
    pub verify_checksum: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            verify_checksum: true,
        }
    }
}

impl Repr {
    /// A header with only the protocol type (no checksum, key or sequence).
    pub const fn new(protocol: EtherType) -> Repr {
        Repr {
            checksum: None,
            key: None,
            sequence: None,
            protocol,
            reserved0: 0,
        }
    }

    /// Parses and validates the header, verifying the checksum if present.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        Repr::parse_with(packet, ParseOptions::default())
    }

    /// Parses and validates the header with explicit options.
    pub fn parse_with<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        opts: ParseOptions,
    ) -> Result<Repr> {
        packet.check_len()?;
        let word = packet.flags_word();
        if word & flags::VERSION != 0 {
            return Err(Error::Unsupported {
                field: "gre.version",
                offset: 1,
                value: u32::from(word & flags::VERSION),
            });
        }
        if word & flags::ROUTING != 0 {
            return Err(Error::Unsupported {
                field: "gre.routing",
                offset: 0,
                value: 1,
            });
        }
        if word & flags::STRICT_ROUTE != 0 {
            return Err(Error::Invalid {
                field: "gre.strict_source_route",
                offset: 0,
                reason: "bit must be zero (RFC 2784 §2.3)",
            });
        }
        if word & flags::RECUR_HIGH != 0 {
            return Err(Error::Invalid {
                field: "gre.recursion",
                offset: 0,
                reason: "bit 5 must be zero (RFC 2784 §2.3)",
            });
        }
        if opts.verify_checksum && !packet.verify_checksum() {
            let mut copy = packet.buffer.as_ref().to_vec();
            if let Some(s) = copy.get_mut(4..6) {
                s.copy_from_slice(&[0, 0]);
            }
            return Err(Error::Checksum {
                field: "gre.checksum",
                received: packet.checksum().unwrap_or(0),
                computed: checksum::compute(&copy),
            });
        }
        Ok(Repr {
            checksum: packet
                .reserved1()
                .map(|reserved1| ChecksumField { reserved1 }),
            key: packet.key(),
            sequence: packet.sequence(),
            protocol: packet.protocol(),
            reserved0: word & flags::RESERVED0,
        })
    }

    /// Parses a GRE packet from bytes, returning the header and the payload.
    pub fn parse_bytes(bytes: &[u8]) -> Result<(Repr, &[u8])> {
        let packet = Packet::new_checked(bytes)?;
        let repr = Repr::parse(&packet)?;
        Ok((repr, packet.payload_ref()))
    }

    /// Length of the header this Repr emits.
    pub const fn header_len(&self) -> usize {
        BASE_HEADER_LEN
            + if self.checksum.is_some() { 4 } else { 0 }
            + if self.key.is_some() { 4 } else { 0 }
            + if self.sequence.is_some() { 4 } else { 0 }
    }

    /// Length of header plus a payload of `payload_len` bytes.
    pub const fn buffer_len(&self, payload_len: usize) -> usize {
        self.header_len() + payload_len
    }

    /// The first 16-bit word this Repr emits.
    pub fn flags_word(&self) -> u16 {
        let mut w = self.reserved0 & flags::RESERVED0;
        if self.checksum.is_some() {
            w |= flags::CHECKSUM;
        }
        if self.key.is_some() {
            w |= flags::KEY;
        }
        if self.sequence.is_some() {
            w |= flags::SEQUENCE;
        }
        w
    }

    /// Writes header and payload into `buf`, computing the checksum; returns the bytes written.
    pub fn emit(&self, buf: &mut [u8], payload: &[u8]) -> Result<usize> {
        let total = self.buffer_len(payload.len());
        let Some(out) = buf.get_mut(..total) else {
            return Err(Error::BufferTooSmall {
                need: total,
                have: buf.len(),
            });
        };
        let mut p = Packet::new_unchecked(out);
        p.set_flags_word(self.flags_word());
        p.set_protocol(self.protocol);
        if let Some(c) = self.checksum {
            p.put16(4, 0);
            p.put16(6, c.reserved1);
        }
        if let Some(k) = self.key {
            p.set_key(k);
        }
        if let Some(s) = self.sequence {
            p.set_sequence(s);
        }
        p.payload_mut().copy_from_slice(payload);
        p.fill_checksum();
        Ok(total)
    }

    /// Emits header and payload into a new vector.
    pub fn to_bytes(&self, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len(payload.len())];
        // Cannot fail: the buffer has exactly buffer_len bytes.
        let _ = self.emit(&mut v, payload);
        v
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GREv0")?;
        let mut names = Vec::new();
        if self.checksum.is_some() {
            names.push("checksum present");
        }
        if self.key.is_some() {
            names.push("key present");
        }
        if self.sequence.is_some() {
            names.push("sequence present");
        }
        write!(f, ", Flags [{}]", names.join(", "))?;
        if let Some(k) = self.key {
            write!(f, ", key={k:#x}")?;
        }
        if let Some(s) = self.sequence {
            write!(f, ", seq {s}")?;
        }
        write!(
            f,
            ", proto {} ({:#06x})",
            self.protocol,
            self.protocol.value()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // GRE with key 2 carrying NHRP (first 8 bytes of NHRP_registration.pcap frame 1's GRE).
    static KEYED: [u8; 10] = [0x20, 0x00, 0x20, 0x01, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&KEYED[..]).unwrap();
        assert!(p.key_present());
        assert!(!p.checksum_present());
        assert_eq!(p.key(), Some(2));
        assert_eq!(p.sequence(), None);
        assert_eq!(p.protocol(), EtherType::Nhrp);
        assert_eq!(p.header_len(), 8);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn parse_emit_keyed() {
        let (repr, payload) = Repr::parse_bytes(&KEYED).unwrap();
        assert_eq!(
            repr,
            Repr {
                key: Some(2),
                ..Repr::new(EtherType::Nhrp)
            }
        );
        assert_eq!(repr.to_bytes(payload), KEYED);
    }

    #[test]
    fn construct_all_options_into_dirty_buffer() {
        let repr = Repr {
            checksum: Some(ChecksumField::default()),
            key: Some(0x0102_0304),
            sequence: Some(7),
            protocol: EtherType::Ipv6,
            reserved0: 0,
        };
        let mut buf = [0xa5u8; 20];
        let n = repr.emit(&mut buf, &[1, 2, 3, 4]).unwrap();
        assert_eq!(n, 20);
        assert_eq!(&buf[..4], &[0xb0, 0x00, 0x86, 0xdd]);
        assert_eq!(&buf[6..8], &[0, 0]);
        assert_eq!(&buf[8..12], &[1, 2, 3, 4]);
        assert_eq!(&buf[12..16], &[0, 0, 0, 7]);
        assert!(checksum::verify(&buf));
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), repr);
    }

    #[test]
    fn checksum_verified_and_lenient() {
        let repr = Repr {
            checksum: Some(ChecksumField::default()),
            ..Repr::new(EtherType::Ipv4)
        };
        let mut bytes = repr.to_bytes(&[0x45, 0, 0, 20]);
        bytes[9] ^= 0xff;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(!p.verify_checksum());
        assert!(matches!(
            Repr::parse(&p),
            Err(Error::Checksum {
                field: "gre.checksum",
                ..
            })
        ));
        let lenient = Repr::parse_with(
            &p,
            ParseOptions {
                verify_checksum: false,
            },
        )
        .unwrap();
        assert_eq!(lenient, repr);
    }

    #[test]
    fn refuses_bad_headers() {
        assert_eq!(
            Packet::new_checked(&[0u8, 0, 8][..]).unwrap_err(),
            Error::Truncated {
                field: "gre.header",
                offset: 0,
                need: 4,
                have: 3
            }
        );
        assert_eq!(
            Packet::new_checked(&[0x30u8, 0, 8, 0, 0, 0, 0, 1][..]).unwrap_err(),
            Error::Truncated {
                field: "gre.optional_fields",
                offset: 4,
                need: 8,
                have: 4
            }
        );
        let routing = [0x40u8, 0, 8, 0, 0, 0, 0, 0];
        assert_eq!(
            Repr::parse(&Packet::new_checked(&routing[..]).unwrap()).unwrap_err(),
            Error::Unsupported {
                field: "gre.routing",
                offset: 0,
                value: 1
            }
        );
        let v1 = [0x00u8, 1, 0x88, 0x0b];
        assert_eq!(
            Repr::parse(&Packet::new_checked(&v1[..]).unwrap()).unwrap_err(),
            Error::Unsupported {
                field: "gre.version",
                offset: 1,
                value: 1
            }
        );
        let ssr = [0x08u8, 0, 8, 0];
        assert!(matches!(
            Repr::parse(&Packet::new_checked(&ssr[..]).unwrap()),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn reserved0_kept_and_protocols_named() {
        let bytes = [0x00u8, 0x08, 0x88, 0x47, 9];
        let (repr, payload) = Repr::parse_bytes(&bytes).unwrap();
        assert_eq!(repr.protocol, EtherType::Mpls);
        assert_eq!(repr.reserved0, 0x0008);
        assert_eq!(repr.to_bytes(payload), bytes);
        assert_eq!(EtherType::from(0x1234), EtherType::Unknown(0x1234));
        assert_eq!(repr.to_string(), "GREv0, Flags [], proto MPLS (0x8847)");
    }
}

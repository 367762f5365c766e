//! NHRP parsing (bytes → [`Repr`]) and emission ([`Repr`] → bytes).
//!
//! Every read goes through [`Reader`], which checks the length first and reports the field
//! name and absolute offset on failure, so no input can panic or read out of bounds.

use crate::checksum;
use crate::error::{Error, Result};
use crate::gre::EtherType;

use super::types::*;
use super::{ADDRESSES_OFFSET, CIE_HEADER_LEN, FIXED_HEADER_LEN, NBMA_ADDRESS_MAX, VERSION};

/// A bounds-checked cursor. `base` is the absolute offset of `buf[0]`, for error messages.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn offset(&self) -> usize {
        self.base + self.pos
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let have = self.remaining();
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) if n <= have => {
                self.pos += n;
                Ok(s)
            }
            _ => Err(Error::Truncated {
                field,
                offset: self.offset(),
                need: n,
                have,
            }),
        }
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }
    fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.take(1, field)?.first().copied().unwrap_or(0))
    }
    /// Exactly `N` bytes (`take` checked the length, so the conversion cannot fail).
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        Ok(<[u8; N]>::try_from(self.take(N, field)?).unwrap_or([0; N]))
    }
    fn u16(&mut self, field: &'static str) -> Result<u16> {
        self.array(field).map(u16::from_be_bytes)
    }
    fn u32(&mut self, field: &'static str) -> Result<u32> {
        self.array(field).map(u32::from_be_bytes)
    }
    /// Reads an NBMA type-length octet: refuses the reserved bit 0x80.
    fn nbma_tl(&mut self, field: &'static str) -> Result<(bool, usize)> {
        let at = self.offset();
        let tl = self.u8(field)?;
        if tl & 0x80 != 0 {
            return Err(Error::Invalid {
                field,
                offset: at,
                reason: "reserved bit 0x80 of the type/length octet is set",
            });
        }
        Ok((tl & 0x40 != 0, usize::from(tl & 0x3f)))
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at.saturating_add(2))
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, u16::from_be_bytes)
}

fn parse_cie(r: &mut Reader<'_>) -> Result<Cie> {
    r.take(CIE_HEADER_LEN, "cie")?;
    r.pos -= CIE_HEADER_LEN;
    let code = CieCode::from(r.u8("cie.code")?);
    let prefix_len = r.u8("cie.prefix_len")?;
    let unused = r.u16("cie.unused")?;
    let mtu = r.u16("cie.mtu")?;
    let holding_time = r.u16("cie.holding_time")?;
    let (nbma_e164, nbma_len) = r.nbma_tl("cie.client_nbma_tl")?;
    let (sub_e164, sub_len) = r.nbma_tl("cie.client_nbma_subaddr_tl")?;
    let proto_len = usize::from(r.u8("cie.client_proto_len")?);
    let preference = r.u8("cie.preference")?;
    let client_nbma = NbmaAddress {
        e164: nbma_e164,
        bytes: r.take(nbma_len, "cie.client_nbma")?.to_vec(),
    };
    let client_nbma_subaddr = NbmaAddress {
        e164: sub_e164,
        bytes: r.take(sub_len, "cie.client_nbma_subaddr")?.to_vec(),
    };
    let client_proto = ProtocolAddress(r.take(proto_len, "cie.client_proto")?.to_vec());
    Ok(Cie {
        code,
        prefix_len,
        unused,
        mtu,
        holding_time,
        client_nbma,
        client_nbma_subaddr,
        client_proto,
        preference,
    })
}

/// Parses CIEs while at least a CIE header remains; returns them and the bytes consumed.
fn parse_cie_prefix(bytes: &[u8], offset: usize) -> Result<(Vec<Cie>, usize)> {
    let mut r = Reader::new(bytes, offset);
    let mut cies = Vec::new();
    while r.remaining() >= CIE_HEADER_LEN {
        cies.push(parse_cie(&mut r)?);
    }
    Ok((cies, r.pos))
}

/// Parses a CIE list that fills `bytes` exactly (the payload of a CIE-list extension).
/// `offset` is the absolute offset of `bytes[0]`, used in errors.
pub fn parse_cies(bytes: &[u8], offset: usize) -> Result<Vec<Cie>> {
    let mut r = Reader::new(bytes, offset);
    let mut cies = Vec::new();
    while r.remaining() > 0 {
        cies.push(parse_cie(&mut r)?);
    }
    Ok(cies)
}

fn parse_auth(body: &[u8], offset: usize, src_proto_len: usize) -> Result<Authentication> {
    if body.len() <= 4 + super::CISCO_PASSWORD_MAX && body.get(..4) == Some(&[0, 0, 0, 1]) {
        return Ok(Authentication::CiscoCleartext {
            password: body.get(4..).unwrap_or(&[]).to_vec(),
        });
    }
    let mut r = Reader::new(body, offset);
    let reserved = r.u16("auth.reserved")?;
    let spi = r.u16("auth.spi")?;
    let src_addr = r.take(src_proto_len, "auth.src_addr")?.to_vec();
    let data = r.rest().to_vec();
    Ok(Authentication::Rfc2332 {
        reserved,
        spi,
        src_addr,
        data,
    })
}

fn parse_extension_body(
    ty: ExtensionType,
    body: &[u8],
    offset: usize,
    src_proto_len: usize,
) -> Result<ExtensionBody> {
    Ok(match ty {
        ExtensionType::ResponderAddress
        | ExtensionType::ForwardTransitNhs
        | ExtensionType::ReverseTransitNhs => ExtensionBody::Cies(parse_cies(body, offset)?),
        ExtensionType::CiscoNat if body.len() == 8 => {
            let mut r = Reader::new(body, offset);
            ExtensionBody::DeviceCapabilities {
                source: r.u32("device_caps.source")?,
                destination: r.u32("device_caps.destination")?,
            }
        }
        ExtensionType::CiscoNat => ExtensionBody::Cies(parse_cies(body, offset)?),
        ExtensionType::Authentication => {
            ExtensionBody::Authentication(parse_auth(body, offset, src_proto_len)?)
        }
        ExtensionType::VendorPrivate => {
            let mut r = Reader::new(body, offset);
            let oui = r.array("vendor_private.oui")?;
            ExtensionBody::VendorPrivate {
                oui,
                data: r.rest().to_vec(),
            }
        }
        ExtensionType::End | ExtensionType::Unknown(_) => ExtensionBody::Raw(body.to_vec()),
    })
}

/// The extension area of a packet: the extensions in order (End included) and any bytes after
/// End.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionList {
    /// Extensions in wire order.
    pub extensions: Vec<Extension>,
    /// Bytes after the End extension.
    pub trailing: Vec<u8>,
}

/// Parses the extension area (`ar$extoff .. ar$pktsz`). `offset` is the absolute offset of
/// `bytes[0]` for errors; `src_proto_len` is the packet's source protocol address length,
/// needed by the RFC 2332 authentication format. Parsing stops after End; what follows is
/// returned as `trailing`.
pub fn parse_extensions(bytes: &[u8], offset: usize, src_proto_len: u8) -> Result<ExtensionList> {
    let mut r = Reader::new(bytes, offset);
    let mut list = ExtensionList::default();
    while r.remaining() > 0 {
        let raw_type = r.u16("extension.type")?;
        let len = usize::from(r.u16("extension.length")?);
        let body_offset = r.offset();
        let body = r.take(len, "extension.value")?;
        let ty = ExtensionType::from(raw_type & 0x3fff);
        let body = parse_extension_body(ty, body, body_offset, usize::from(src_proto_len))?;
        list.extensions.push(Extension {
            compulsory: raw_type & 0x8000 != 0,
            unused_bit: raw_type & 0x4000 != 0,
            ty,
            body,
        });
        if ty == ExtensionType::End {
            list.trailing = r.rest().to_vec();
        }
    }
    Ok(list)
}

/// The result of [`Repr::decode`]: the packet plus the header values that `Repr` recomputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The packet.
    pub repr: Repr,
    /// `ar$pktsz` as received.
    pub packet_size: u16,
    /// `ar$chksum` as received.
    pub checksum: u16,
    /// Whether `ar$chksum` verifies over `ar$pktsz` bytes.
    pub checksum_valid: bool,
    /// `ar$extoff` as received.
    pub extension_offset: u16,
    /// Bytes in the input after `ar$pktsz` (link padding), not part of the packet.
    pub excess: usize,
}

impl Repr {
    /// Parses a packet for the engine: the checksum must verify. Bytes after `ar$pktsz` are
    /// ignored.
    pub fn parse(bytes: &[u8]) -> Result<Repr> {
        let d = Repr::decode(bytes)?;
        if !d.checksum_valid {
            let mut copy = bytes
                .get(..usize::from(d.packet_size))
                .unwrap_or(bytes)
                .to_vec();
            if let Some(s) = copy.get_mut(12..14) {
                s.copy_from_slice(&[0, 0]);
            }
            return Err(Error::Checksum {
                field: "ar$chksum",
                received: d.checksum,
                computed: checksum::compute(&copy),
            });
        }
        Ok(d.repr)
    }

    /// Parses a packet for a decoder: a bad checksum is reported in [`Decoded`], not refused.
    pub fn decode(bytes: &[u8]) -> Result<Decoded> {
        let have = bytes.len();
        if have < FIXED_HEADER_LEN {
            return Err(Error::Truncated {
                field: "fixed_header",
                offset: 0,
                need: FIXED_HEADER_LEN,
                have,
            });
        }
        let pktsz = be16(bytes, 10);
        let size = usize::from(pktsz);
        if size < ADDRESSES_OFFSET {
            return Err(Error::Invalid {
                field: "ar$pktsz",
                offset: 10,
                reason: "smaller than the fixed and mandatory headers (28)",
            });
        }
        let Some(data) = bytes.get(..size) else {
            return Err(Error::Truncated {
                field: "packet",
                offset: 0,
                need: size,
                have,
            });
        };
        let received_checksum = be16(data, 12);
        let extoff = be16(data, 14);

        let mut r = Reader::new(data, 0);
        let afn = AddressFamily::from(r.u16("ar$afn")?);
        let protocol_type = EtherType::from(r.u16("ar$pro.type")?);
        let protocol_snap = r.array("ar$pro.snap")?;
        let hop_count = r.u8("ar$hopcnt")?;
        r.take(6, "ar$pktsz/chksum/extoff")?;
        let version = r.u8("ar$op.version")?;
        if version != VERSION {
            return Err(Error::Unsupported {
                field: "ar$op.version",
                offset: 16,
                value: u32::from(version),
            });
        }
        let packet_type = PacketType::from(r.u8("ar$op.type")?);
        let (shtl_e164, shtl) = r.nbma_tl("ar$shtl")?;
        let (sstl_e164, sstl) = r.nbma_tl("ar$sstl")?;

        r.take(8, "mandatory_header")?;
        r.pos -= 8;
        let spl = r.u8("src_proto_len")?;
        let dpl = r.u8("dst_proto_len")?;
        let flags = Flags(r.u16("flags")?);
        let word = r.u32("request_id")?;
        let src_nbma = NbmaAddress {
            e164: shtl_e164,
            bytes: r.take(shtl, "src_nbma")?.to_vec(),
        };
        let src_nbma_subaddr = NbmaAddress {
            e164: sstl_e164,
            bytes: r.take(sstl, "src_nbma_subaddr")?.to_vec(),
        };
        let src_proto = ProtocolAddress(r.take(usize::from(spl), "src_proto")?.to_vec());
        let dst_proto = ProtocolAddress(r.take(usize::from(dpl), "dst_proto")?.to_vec());
        let addr_end = r.pos;

        let body_end = match usize::from(extoff) {
            0 => size,
            e if e < addr_end => {
                return Err(Error::Invalid {
                    field: "ar$extoff",
                    offset: 14,
                    reason: "points inside the mandatory part",
                });
            }
            e if e > size => {
                return Err(Error::Invalid {
                    field: "ar$extoff",
                    offset: 14,
                    reason: "points beyond ar$pktsz",
                });
            }
            e => e,
        };
        let payload = data.get(addr_end..body_end).unwrap_or(&[]);
        let mut padding = Vec::new();
        let body = match packet_type {
            PacketType::ErrorIndication => Body::ErrorIndication {
                code: ErrorCode::from((word >> 16) as u16),
                offset: word as u16,
                packet: payload.to_vec(),
            },
            PacketType::TrafficIndication => Body::TrafficIndication {
                code: TrafficCode::from((word >> 16) as u16),
                unused: word as u16,
                packet: payload.to_vec(),
            },
            t if t.has_cies() => {
                let (cies, used) = parse_cie_prefix(payload, addr_end)?;
                padding = payload.get(used..).unwrap_or(&[]).to_vec();
                Body::Cies {
                    request_id: word,
                    cies,
                }
            }
            _ => Body::Unknown {
                word,
                payload: payload.to_vec(),
            },
        };

        let (extensions, trailing, empty_extension_area) = if extoff == 0 {
            (Vec::new(), Vec::new(), false)
        } else {
            let area = data.get(body_end..).unwrap_or(&[]);
            let list = parse_extensions(area, body_end, spl)?;
            let empty = list.extensions.is_empty();
            (list.extensions, list.trailing, empty)
        };

        let repr = Repr {
            afn,
            protocol_type,
            protocol_snap,
            hop_count,
            version,
            packet_type,
            src_nbma,
            src_nbma_subaddr,
            src_proto,
            dst_proto,
            flags,
            body,
            padding,
            extensions,
            trailing,
            empty_extension_area,
        };
        Ok(Decoded {
            repr,
            packet_size: pktsz,
            checksum: received_checksum,
            checksum_valid: checksum::verify(data),
            extension_offset: extoff,
            excess: have - size,
        })
    }

    /// Bytes [`Repr::emit`] writes (`ar$pktsz`).
    pub fn buffer_len(&self) -> usize {
        self.body_len_through_padding()
            + self
                .extensions
                .iter()
                .map(Extension::wire_len)
                .sum::<usize>()
            + self.trailing.len()
    }

    fn body_len_through_padding(&self) -> usize {
        self.addresses_end() + self.body.wire_len() + self.padding.len()
    }

    /// Emits the packet into a new vector, computing `ar$pktsz`, `ar$extoff` and `ar$chksum`.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let total = self.buffer_len();
        if total > usize::from(u16::MAX) {
            return Err(Error::TooLong {
                field: "ar$pktsz",
                len: total,
                max: usize::from(u16::MAX),
            });
        }
        let mut w = Vec::with_capacity(total);
        w.extend_from_slice(&self.afn.value().to_be_bytes());
        w.extend_from_slice(&self.protocol_type.value().to_be_bytes());
        w.extend_from_slice(&self.protocol_snap);
        w.push(self.hop_count);
        w.extend_from_slice(&(total as u16).to_be_bytes());
        w.extend_from_slice(&[0, 0]);
        let extoff = self.extension_offset().unwrap_or(0);
        w.extend_from_slice(&(extoff as u16).to_be_bytes());
        w.push(self.version);
        w.push(self.packet_type.value());
        w.push(nbma_tl(&self.src_nbma, "src_nbma")?);
        w.push(nbma_tl(&self.src_nbma_subaddr, "src_nbma_subaddr")?);
        w.push(proto_len(&self.src_proto, "src_proto")?);
        w.push(proto_len(&self.dst_proto, "dst_proto")?);
        w.extend_from_slice(&self.flags.0.to_be_bytes());
        w.extend_from_slice(&self.body.mandatory_word().to_be_bytes());
        w.extend_from_slice(&self.src_nbma.bytes);
        w.extend_from_slice(&self.src_nbma_subaddr.bytes);
        w.extend_from_slice(&self.src_proto.0);
        w.extend_from_slice(&self.dst_proto.0);
        match &self.body {
            Body::Cies { cies, .. } => {
                for c in cies {
                    emit_cie(&mut w, c)?;
                }
            }
            Body::ErrorIndication { packet, .. } | Body::TrafficIndication { packet, .. } => {
                w.extend_from_slice(packet)
            }
            Body::Unknown { payload, .. } => w.extend_from_slice(payload),
        }
        w.extend_from_slice(&self.padding);
        for e in &self.extensions {
            emit_extension(&mut w, e)?;
        }
        w.extend_from_slice(&self.trailing);
        let c = checksum::compute(&w);
        if let Some(s) = w.get_mut(12..14) {
            s.copy_from_slice(&c.to_be_bytes());
        }
        Ok(w)
    }

    /// Emits the packet into `buf` (at least [`Repr::buffer_len`] bytes); returns the length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let bytes = self.to_bytes()?;
        let have = buf.len();
        let Some(out) = buf.get_mut(..bytes.len()) else {
            return Err(Error::BufferTooSmall {
                need: bytes.len(),
                have,
            });
        };
        out.copy_from_slice(&bytes);
        Ok(bytes.len())
    }
}

impl Cie {
    /// The CIE's wire bytes (header and addresses).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Vec::with_capacity(self.wire_len());
        emit_cie(&mut w, self)?;
        Ok(w)
    }

    /// Parses exactly one CIE from the start of `bytes`, returning it and the bytes it used.
    /// `offset` is the absolute offset of `bytes[0]`, for errors.
    pub fn parse(bytes: &[u8], offset: usize) -> Result<(Cie, usize)> {
        let mut r = Reader::new(bytes, offset);
        let c = parse_cie(&mut r)?;
        Ok((c, r.pos))
    }
}

impl Authentication {
    /// Decodes an Authentication extension payload (see [`Authentication`] for how the format
    /// is chosen). `src_proto_len` is the packet's source protocol address length.
    pub fn parse(body: &[u8], offset: usize, src_proto_len: u8) -> Result<Authentication> {
        parse_auth(body, offset, usize::from(src_proto_len))
    }

    /// The payload bytes (what follows the extension header).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(self.wire_len());
        emit_auth(&mut w, self);
        w
    }
}

impl ExtensionBody {
    /// The payload bytes (what follows the extension header).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Vec::with_capacity(self.wire_len());
        emit_extension_body(&mut w, self)?;
        Ok(w)
    }
}

impl Extension {
    /// The extension's wire bytes (header and payload).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut w = Vec::with_capacity(self.wire_len());
        emit_extension(&mut w, self)?;
        Ok(w)
    }
}

fn nbma_tl(a: &NbmaAddress, field: &'static str) -> Result<u8> {
    if a.bytes.len() > NBMA_ADDRESS_MAX {
        return Err(Error::TooLong {
            field,
            len: a.bytes.len(),
            max: NBMA_ADDRESS_MAX,
        });
    }
    Ok(a.type_length())
}

fn proto_len(a: &ProtocolAddress, field: &'static str) -> Result<u8> {
    u8::try_from(a.0.len()).map_err(|_| Error::TooLong {
        field,
        len: a.0.len(),
        max: 255,
    })
}

fn emit_cie(w: &mut Vec<u8>, c: &Cie) -> Result<()> {
    w.push(c.code.value());
    w.push(c.prefix_len);
    w.extend_from_slice(&c.unused.to_be_bytes());
    w.extend_from_slice(&c.mtu.to_be_bytes());
    w.extend_from_slice(&c.holding_time.to_be_bytes());
    w.push(nbma_tl(&c.client_nbma, "cie.client_nbma")?);
    w.push(nbma_tl(&c.client_nbma_subaddr, "cie.client_nbma_subaddr")?);
    w.push(proto_len(&c.client_proto, "cie.client_proto")?);
    w.push(c.preference);
    w.extend_from_slice(&c.client_nbma.bytes);
    w.extend_from_slice(&c.client_nbma_subaddr.bytes);
    w.extend_from_slice(&c.client_proto.0);
    Ok(())
}

fn emit_extension(w: &mut Vec<u8>, e: &Extension) -> Result<()> {
    let len = e.body.wire_len();
    let len16 = u16::try_from(len).map_err(|_| Error::TooLong {
        field: "extension.length",
        len,
        max: usize::from(u16::MAX),
    })?;
    w.extend_from_slice(&e.type_field().to_be_bytes());
    w.extend_from_slice(&len16.to_be_bytes());
    emit_extension_body(w, &e.body)
}

fn emit_auth(w: &mut Vec<u8>, a: &Authentication) {
    match a {
        Authentication::CiscoCleartext { password } => {
            w.extend_from_slice(&1u32.to_be_bytes());
            w.extend_from_slice(password);
        }
        Authentication::Rfc2332 {
            reserved,
            spi,
            src_addr,
            data,
        } => {
            w.extend_from_slice(&reserved.to_be_bytes());
            w.extend_from_slice(&spi.to_be_bytes());
            w.extend_from_slice(src_addr);
            w.extend_from_slice(data);
        }
    }
}

fn emit_extension_body(w: &mut Vec<u8>, body: &ExtensionBody) -> Result<()> {
    match body {
        ExtensionBody::Raw(b) => w.extend_from_slice(b),
        ExtensionBody::Cies(cies) => {
            for c in cies {
                emit_cie(w, c)?;
            }
        }
        ExtensionBody::Authentication(a) => emit_auth(w, a),
        ExtensionBody::VendorPrivate { oui, data } => {
            w.extend_from_slice(oui);
            w.extend_from_slice(data);
        }
        ExtensionBody::DeviceCapabilities {
            source,
            destination,
        } => {
            w.extend_from_slice(&source.to_be_bytes());
            w.extend_from_slice(&destination.to_be_bytes());
        }
    }
    Ok(())
}

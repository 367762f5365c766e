//! Conversion between NHRP bytes (through `dmvpn_wire::nhrp::Repr`) and the engine's
//! [`Message`] model. Decoding refuses anything the engine cannot act on (bad checksum, unknown
//! packet type, non-IPv4 addresses) with a typed [`DecodeError`]; encoding writes extensions in
//! the order Cisco IOS and FRR use (Forward Transit, Reverse Transit, Responder, NAT, others,
//! Authentication, End).

use crate::error::DropReason;
use crate::packet::{Cie, Extensions, Message, PacketType, RawExtension};
use dmvpn_wire::gre::EtherType;
use dmvpn_wire::nhrp as w;
use std::net::{IpAddr, Ipv4Addr};
use thiserror::Error;

/// Why received bytes could not become a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The codec refused the bytes.
    #[error("malformed NHRP packet: {0}")]
    Wire(#[from] dmvpn_wire::Error),
    /// Well-formed, but not something this engine handles.
    #[error("unsupported NHRP packet: {0}")]
    Unsupported(&'static str),
    /// A well-formed header with a packet type RFC 2332 does not define (counted as `other`).
    #[error("unknown NHRP packet type {0}")]
    UnknownType(u8),
}

impl DecodeError {
    /// The drop reason to count.
    pub fn drop_reason(&self) -> DropReason {
        match self {
            DecodeError::Wire(_) => DropReason::Malformed,
            DecodeError::Unsupported(_) | DecodeError::UnknownType(_) => DropReason::Unsupported,
        }
    }
}

fn v4_opt(bytes: &[u8], what: &'static str) -> Result<Option<Ipv4Addr>, DecodeError> {
    match bytes.len() {
        0 => Ok(None),
        4 => <[u8; 4]>::try_from(bytes)
            .map(|a| Some(Ipv4Addr::from(a)))
            .map_err(|_| DecodeError::Unsupported(what)),
        _ => Err(DecodeError::Unsupported(what)),
    }
}

fn cie_from(c: &w::Cie) -> Result<Cie, DecodeError> {
    Ok(Cie {
        code: c.code.value(),
        prefix_len: c.prefix_len,
        mtu: c.mtu,
        holding_time: c.holding_time,
        client_nbma: v4_opt(&c.client_nbma.bytes, "CIE client NBMA address is not IPv4")?,
        client_proto: v4_opt(&c.client_proto.0, "CIE client protocol address is not IPv4")?,
        preference: c.preference,
    })
}

fn cie_to(c: &Cie) -> w::Cie {
    w::Cie {
        code: w::CieCode::from(c.code),
        prefix_len: c.prefix_len,
        unused: 0,
        mtu: c.mtu,
        holding_time: c.holding_time,
        client_nbma: c
            .client_nbma
            .map(|a| w::NbmaAddress::from_ip(IpAddr::V4(a)))
            .unwrap_or_else(w::NbmaAddress::empty),
        client_nbma_subaddr: w::NbmaAddress::empty(),
        client_proto: c
            .client_proto
            .map(|a| w::ProtocolAddress::from_ip(IpAddr::V4(a)))
            .unwrap_or_else(w::ProtocolAddress::empty),
        preference: c.preference,
    }
}

fn cies_from(list: &[w::Cie]) -> Result<Vec<Cie>, DecodeError> {
    list.iter().map(cie_from).collect()
}

/// Decode received bytes into a [`Message`].
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let r = w::Repr::parse(bytes)?;
    let ptype = r
        .packet_type
        .known()
        .ok_or(DecodeError::UnknownType(r.packet_type.value()))?;
    if r.protocol_type != EtherType::Ipv4 {
        return Err(DecodeError::Unsupported("protocol type is not IPv4"));
    }
    // The NBMA addresses are IPv4: a packet naming another family (found by the hostile
    // corpus: an unknown `ar$afn` with 4-byte addresses was taken for IPv4) is refused.
    if r.afn != w::AddressFamily::Ipv4 {
        return Err(DecodeError::Unsupported("NBMA address family is not IPv4"));
    }
    let src_nbma = v4_opt(&r.src_nbma.bytes, "source NBMA address is not IPv4")?;
    let src_proto = v4_opt(&r.src_proto.0, "source protocol address is not IPv4")?
        .ok_or(DecodeError::Unsupported("no source protocol address"))?;
    let dst_proto = v4_opt(&r.dst_proto.0, "destination protocol address is not IPv4")?
        .ok_or(DecodeError::Unsupported("no destination protocol address"))?;
    let (request_id, cies, payload) = match &r.body {
        w::Body::Cies { request_id, cies } => (*request_id, cies_from(cies)?, Vec::new()),
        w::Body::ErrorIndication {
            code,
            offset,
            packet,
        } => (
            (u32::from(code.value()) << 16) | u32::from(*offset),
            Vec::new(),
            packet.clone(),
        ),
        w::Body::TrafficIndication {
            code,
            unused,
            packet,
        } => (
            (u32::from(code.value()) << 16) | u32::from(*unused),
            Vec::new(),
            packet.clone(),
        ),
        w::Body::Unknown { .. } => return Err(DecodeError::Unsupported("unknown packet body")),
    };
    let mut ext = Extensions::default();
    for (off, e) in r.extensions_with_offsets() {
        match (e.ty, &e.body) {
            (w::ExtensionType::End, _) => {}
            (w::ExtensionType::ResponderAddress, w::ExtensionBody::Cies(c)) => {
                ext.responder = Some(cies_from(c)?)
            }
            (w::ExtensionType::ForwardTransitNhs, w::ExtensionBody::Cies(c)) => {
                ext.forward_transit = Some(cies_from(c)?)
            }
            (w::ExtensionType::ReverseTransitNhs, w::ExtensionBody::Cies(c)) => {
                ext.reverse_transit = Some(cies_from(c)?)
            }
            (w::ExtensionType::CiscoNat, w::ExtensionBody::Cies(c)) => {
                ext.nat = Some(cies_from(c)?)
            }
            (w::ExtensionType::Authentication, w::ExtensionBody::Authentication(a)) => {
                ext.auth = Some(a.to_bytes())
            }
            (ty, body) => {
                if e.compulsory && !ty.is_known() && ext.first_unknown_compulsory.is_none() {
                    ext.first_unknown_compulsory = u16::try_from(off).ok();
                }
                // The codec's own emission of the body: one implementation of the bytes.
                let data = body.to_bytes()?;
                ext.other.push(RawExtension {
                    ext_type: ty.value(),
                    compulsory: e.compulsory,
                    data,
                });
            }
        }
    }
    Ok(Message {
        ptype,
        hop_count: r.hop_count,
        flags: r.flags.0,
        request_id,
        src_nbma,
        src_proto,
        dst_proto,
        cies,
        payload,
        ext,
    })
}

/// Offset of the first compulsory extension the engine does not understand.
pub(crate) fn unknown_compulsory(m: &Message) -> Option<u16> {
    m.ext.first_unknown_compulsory
}

fn auth_ext(a: &[u8]) -> w::Extension {
    match a.split_first_chunk::<4>() {
        Some(([0, 0, 0, 1], rest)) if rest.len() <= w::CISCO_PASSWORD_MAX => {
            w::Extension::cisco_auth(rest)
        }
        _ => {
            let be16 = |r: std::ops::Range<usize>| {
                a.get(r)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(u16::from_be_bytes)
                    .unwrap_or(0)
            };
            let reserved = be16(0..2);
            let spi = be16(2..4);
            let src_addr = a.get(4..8).map(|b| b.to_vec()).unwrap_or_default();
            let data = a.get(8..).map(|b| b.to_vec()).unwrap_or_default();
            w::Extension::authentication(w::Authentication::Rfc2332 {
                reserved,
                spi,
                src_addr,
                data,
            })
        }
    }
}

/// Encode a [`Message`] into NHRP bytes.
pub fn encode(m: &Message) -> Result<Vec<u8>, dmvpn_wire::Error> {
    let ptype = w::PacketType::from(m.ptype);
    let src_nbma = m
        .src_nbma
        .map(IpAddr::V4)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut r = w::Repr::new(
        ptype,
        src_nbma,
        IpAddr::V4(m.src_proto),
        IpAddr::V4(m.dst_proto),
    );
    if m.src_nbma.is_none() {
        r.src_nbma = w::NbmaAddress::empty();
    }
    r.hop_count = m.hop_count;
    r.flags = w::Flags(m.flags);
    r.body = match m.ptype {
        PacketType::ErrorIndication => w::Body::ErrorIndication {
            code: w::ErrorCode::from(m.error_code()),
            offset: m.request_id as u16,
            packet: m.payload.clone(),
        },
        PacketType::TrafficIndication => w::Body::TrafficIndication {
            code: w::TrafficCode::from(m.error_code()),
            unused: m.request_id as u16,
            packet: m.payload.clone(),
        },
        PacketType::ResolutionRequest
        | PacketType::ResolutionReply
        | PacketType::RegistrationRequest
        | PacketType::RegistrationReply
        | PacketType::PurgeRequest
        | PacketType::PurgeReply => w::Body::Cies {
            request_id: m.request_id,
            cies: m.cies.iter().map(cie_to).collect(),
        },
    };
    let mut exts = Vec::new();
    let list = |v: &Option<Vec<Cie>>| v.as_ref().map(|c| c.iter().map(cie_to).collect::<Vec<_>>());
    if let Some(c) = list(&m.ext.forward_transit) {
        exts.push(w::Extension::forward_transit(c));
    }
    if let Some(c) = list(&m.ext.reverse_transit) {
        exts.push(w::Extension::reverse_transit(c));
    }
    if let Some(c) = list(&m.ext.responder) {
        exts.push(w::Extension::responder_address(c));
    }
    if let Some(c) = list(&m.ext.nat) {
        exts.push(w::Extension::cisco_nat(c));
    }
    for o in &m.ext.other {
        exts.push(w::Extension {
            compulsory: o.compulsory,
            unused_bit: false,
            ty: w::ExtensionType::from(o.ext_type & 0x3fff),
            body: w::ExtensionBody::Raw(o.data.clone()),
        });
    }
    if let Some(a) = &m.ext.auth {
        exts.push(auth_ext(a));
    }
    if !exts.is_empty() {
        exts.push(w::Extension::end());
    }
    r.extensions = exts;
    r.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::flags;

    fn reg() -> Message {
        let mut m = Message::new(
            PacketType::RegistrationRequest,
            1,
            Ipv4Addr::new(172, 16, 1, 24),
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 1),
        );
        m.flags = flags::REG_U | flags::NAT;
        m.request_id = 7;
        m.cies.push(Cie {
            prefix_len: 0xff,
            mtu: 1400,
            holding_time: 7200,
            ..Cie::default()
        });
        m.ext.forward_transit = Some(vec![]);
        m.ext.reverse_transit = Some(vec![]);
        m.ext.responder = Some(vec![]);
        m.ext.nat = Some(vec![Cie {
            prefix_len: 32,
            client_nbma: Some(Ipv4Addr::new(172, 17, 0, 1)),
            client_proto: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..Cie::default()
        }]);
        m
    }

    /// nhrp-interop.md §1.5.3 golden size: an FRR-style Registration Request without
    /// authentication is 92 bytes with ar$extoff 52.
    #[test]
    fn registration_request_is_92_bytes() {
        let b = encode(&reg()).expect("encode");
        assert_eq!(b.len(), 92);
        assert_eq!(u16::from_be_bytes([b[14], b[15]]), 52);
        assert_eq!(decode(&b).expect("decode"), reg());
    }

    #[test]
    fn auth_round_trips_and_unknown_compulsory_is_flagged() {
        let mut m = reg();
        m.ext.auth = Some(b"\0\0\0\x01test123".to_vec());
        m.ext.other.push(RawExtension {
            ext_type: 0x1234,
            compulsory: true,
            data: vec![1, 2],
        });
        let b = encode(&m).expect("encode");
        let d = decode(&b).expect("decode");
        assert_eq!(d.ext.auth, m.ext.auth);
        assert!(d.ext.first_unknown_compulsory.is_some());
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for n in 0..64 {
            let junk: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert!(decode(&junk).is_err());
        }
        let mut b = encode(&reg()).expect("encode");
        b[12] ^= 0xff;
        assert!(matches!(decode(&b), Err(DecodeError::Wire(_))));
    }
}

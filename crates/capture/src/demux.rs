//! Demultiplexing of captured frames down to NHRP.
//!
//! A frame is unwrapped link layer first (Ethernet with VLAN tags, Linux
//! cooked SLL and SLL2, BSD/OpenBSD loopback, raw IPv4/IPv6), then IP (IPv4
//! with options, IPv6 with extension headers; both via `etherparse`, tolerant
//! of captures cut short by a snap length), then either GRE carrying protocol
//! type 0x2001 or IP protocol 54 (NHRP directly over IP). Linux cooked
//! captures taken on a GRE tunnel device carry NHRP with no outer IP header
//! (SLL protocol 0x2001); those are found too.
//!
//! Frames that carry no NHRP give `Ok(None)`. A frame that announces NHRP but
//! whose GRE header is malformed gives a [`DemuxError`]. Nothing here panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// TEMPORARY shim until dmvpn_wire::gre lands.
mod gre {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Repr {
        pub key: Option<u32>,
    }
    pub fn parse_header(b: &[u8]) -> Result<(Repr, usize), String> {
        if b.len() < 4 {
            return Err("short".into());
        }
        let key = b[0] & 0x20 != 0;
        let mut len = 4;
        if b[0] & 0x80 != 0 {
            len += 4;
        }
        let k = if key {
            let k = b.get(len..len + 4).ok_or("short")?;
            len += 4;
            Some(u32::from_be_bytes([k[0], k[1], k[2], k[3]]))
        } else {
            None
        };
        if b[0] & 0x10 != 0 {
            len += 4;
        }
        Ok((Repr { key: k }, len))
    }
}
use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket};

use crate::error::DemuxError;
use crate::reader::{Frame, LinkType, Timestamp};

/// GRE protocol type / ethertype of NHRP.
pub const ETHERTYPE_NHRP: u16 = 0x2001;
/// IP protocol number of NHRP directly over IP (RFC 2332 §3, "NARP" in IANA's table).
pub const IP_PROTO_NHRP: u8 = 54;
/// IP protocol number of GRE.
pub const IP_PROTO_GRE: u8 = 47;

/// How an NHRP packet was carried in its frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encapsulation {
    /// In GRE (the DMVPN case); the parsed GRE header.
    Gre(gre::Repr),
    /// Directly over IP, protocol 54.
    Ip,
    /// Directly in the link layer with protocol 0x2001 (a Linux cooked
    /// capture taken on a GRE tunnel device, or an Ethernet frame).
    Link,
}

/// One NHRP packet found in a capture, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NhrpFrame {
    /// Frame number (1-based, as Wireshark numbers frames).
    pub frame: u64,
    /// Capture timestamp of the frame.
    pub timestamp: Timestamp,
    /// Link type of the frame.
    pub link_type: LinkType,
    /// Outer (NBMA) source address: the IP source, or for a cooked capture
    /// on a tunnel device the sender address the kernel recorded.
    pub src: Option<IpAddr>,
    /// Outer (NBMA) destination address, when the frame has an IP header.
    pub dst: Option<IpAddr>,
    /// How the NHRP packet was carried.
    pub encapsulation: Encapsulation,
    /// True when the capture holds fewer NHRP bytes than the outer headers
    /// announce (snap length, or a first IP fragment).
    pub truncated: bool,
    /// The NHRP packet, from its fixed header on.
    pub nhrp: Vec<u8>,
}

impl NhrpFrame {
    /// The GRE key, when the packet was carried in GRE with a key.
    pub fn gre_key(&self) -> Option<u32> {
        match &self.encapsulation {
            Encapsulation::Gre(repr) => repr.key,
            _ => None,
        }
    }
}

/// Finds the NHRP packet carried by `frame`, if any.
pub fn nhrp_in_frame(frame: &Frame) -> Result<Option<NhrpFrame>, DemuxError> {
    let data = frame.data.as_slice();
    let parsed = match frame.link_type {
        LinkType::Ethernet => match LaxSlicedPacket::from_ethernet(data) {
            Ok(packet) => {
                if let Some(nhrp) = link_nhrp_ethernet(frame, &packet) {
                    return Ok(Some(nhrp));
                }
                packet
            }
            Err(_) => return Ok(None),
        },
        LinkType::LinuxSll => {
            // 16 bytes: packet type, ARPHRD, address length, 8 address bytes, protocol.
            let Some(header) = data.get(..16) else {
                return Ok(None);
            };
            let proto = u16::from_be_bytes([header[14], header[15]]);
            let halen = usize::from(u16::from_be_bytes([header[4], header[5]]));
            let addr = header.get(6..6 + halen.min(8)).unwrap_or(&[]);
            return Ok(from_ether_type(
                frame,
                proto,
                addr,
                data.get(16..).unwrap_or(&[]),
            ));
        }
        LinkType::LinuxSll2 => {
            // 20 bytes: protocol, reserved, ifindex, ARPHRD, packet type,
            // address length, 8 address bytes.
            let Some(header) = data.get(..20) else {
                return Ok(None);
            };
            let proto = u16::from_be_bytes([header[0], header[1]]);
            let halen = usize::from(header[11]);
            let addr = header.get(12..12 + halen.min(8)).unwrap_or(&[]);
            return Ok(from_ether_type(
                frame,
                proto,
                addr,
                data.get(20..).unwrap_or(&[]),
            ));
        }
        LinkType::Null | LinkType::Loop => {
            let Some(rest) = data.get(4..) else {
                return Ok(None);
            };
            match LaxSlicedPacket::from_ip(rest) {
                Ok(packet) => packet,
                Err(_) => return Ok(None),
            }
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => match LaxSlicedPacket::from_ip(data) {
            Ok(packet) => packet,
            Err(_) => return Ok(None),
        },
        LinkType::Unknown(_) => {
            return Err(DemuxError::UnsupportedLinkType {
                frame: frame.number,
                link_type: frame.link_type,
            });
        }
    };
    from_ip(frame, &parsed)
}

/// An Ethernet frame whose ethertype is NHRP itself.
fn link_nhrp_ethernet(frame: &Frame, packet: &LaxSlicedPacket<'_>) -> Option<NhrpFrame> {
    if packet.net.is_some() || !packet.link_exts.is_empty() {
        return None;
    }
    let link = packet.link.as_ref()?;
    let (ether_type, payload) = match link {
        etherparse::LinkSlice::Ethernet2(eth) => (eth.ether_type(), eth.payload_slice()),
        _ => return None,
    };
    if ether_type != EtherType(ETHERTYPE_NHRP) {
        return None;
    }
    Some(NhrpFrame {
        frame: frame.number,
        timestamp: frame.timestamp,
        link_type: frame.link_type,
        src: None,
        dst: None,
        encapsulation: Encapsulation::Link,
        truncated: frame.is_truncated(),
        nhrp: payload.to_vec(),
    })
}

/// A cooked-capture payload with the given protocol.
fn from_ether_type(frame: &Frame, proto: u16, addr: &[u8], payload: &[u8]) -> Option<NhrpFrame> {
    if proto == ETHERTYPE_NHRP {
        let src = <[u8; 4]>::try_from(addr)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a)))
            .or_else(|| {
                <[u8; 16]>::try_from(addr)
                    .ok()
                    .map(|a| IpAddr::V6(Ipv6Addr::from(a)))
            });
        return Some(NhrpFrame {
            frame: frame.number,
            timestamp: frame.timestamp,
            link_type: frame.link_type,
            src,
            dst: None,
            encapsulation: Encapsulation::Link,
            truncated: frame.is_truncated(),
            nhrp: payload.to_vec(),
        });
    }
    let packet = LaxSlicedPacket::from_ether_type(EtherType(proto), payload);
    from_ip(frame, &packet).ok().flatten()
}

/// Looks for GRE/NHRP or IP/NHRP in a parsed IP packet.
fn from_ip(frame: &Frame, packet: &LaxSlicedPacket<'_>) -> Result<Option<NhrpFrame>, DemuxError> {
    let (src, dst, payload) = match &packet.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let header = ip.header();
            (
                IpAddr::V4(header.source_addr()),
                IpAddr::V4(header.destination_addr()),
                ip.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let header = ip.header();
            (
                IpAddr::V6(header.source_addr()),
                IpAddr::V6(header.destination_addr()),
                ip.payload(),
            )
        }
        _ => return Ok(None),
    };
    // A non-first fragment does not start with a GRE or NHRP header.
    if payload.fragmented && !is_first_fragment(packet) {
        return Ok(None);
    }
    let truncated = payload.incomplete || payload.fragmented;
    let bytes = payload.payload;
    let (encapsulation, nhrp) = match payload.ip_number {
        IpNumber(IP_PROTO_NHRP) => (Encapsulation::Ip, bytes),
        IpNumber(IP_PROTO_GRE) => {
            // Only GRE carrying NHRP is of interest; look at the protocol
            // type first so that broken non-NHRP GRE is silently skipped.
            match bytes.get(2..4) {
                Some(pt) if u16::from_be_bytes([pt[0], pt[1]]) == ETHERTYPE_NHRP => {}
                _ => return Ok(None),
            }
            let offset = offset_in(&frame.data, bytes);
            let (repr, header_len) = gre::parse_header(bytes).map_err(|err| DemuxError::Gre {
                frame: frame.number,
                offset,
                reason: err.to_string(),
            })?;
            (
                Encapsulation::Gre(repr),
                bytes.get(header_len..).unwrap_or(&[]),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(NhrpFrame {
        frame: frame.number,
        timestamp: frame.timestamp,
        link_type: frame.link_type,
        src: Some(src),
        dst: Some(dst),
        encapsulation,
        truncated,
        nhrp: nhrp.to_vec(),
    }))
}

/// Whether a fragmented IP packet is the first fragment (offset 0).
fn is_first_fragment(packet: &LaxSlicedPacket<'_>) -> bool {
    match &packet.net {
        Some(LaxNetSlice::Ipv4(ip)) => ip.header().fragments_offset().value() == 0,
        Some(LaxNetSlice::Ipv6(ip)) => ip.extensions().clone().into_iter().all(|ext| match ext {
            etherparse::Ipv6ExtensionSlice::Fragment(frag) => frag.fragment_offset().value() == 0,
            _ => true,
        }),
        _ => false,
    }
}

/// Byte offset of `inner` within `outer` (0 if it is not a sub-slice).
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize)
        .checked_sub(outer.as_ptr() as usize)
        .filter(|off| *off <= outer.len())
        .unwrap_or(0)
}

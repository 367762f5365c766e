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

use dmvpn_wire::gre;
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
    /// Whether the GRE checksum verifies; `None` when the GRE header has no
    /// checksum or the capture is truncated.
    pub gre_checksum_ok: Option<bool>,
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
            let Some(header) = data.first_chunk::<16>() else {
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
            let Some(header) = data.first_chunk::<20>() else {
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
        gre_checksum_ok: None,
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
            gre_checksum_ok: None,
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
    let mut gre_checksum_ok = None;
    let (encapsulation, nhrp) = match payload.ip_number {
        IpNumber(IP_PROTO_NHRP) => (Encapsulation::Ip, bytes),
        IpNumber(IP_PROTO_GRE) => {
            // Only GRE carrying NHRP is of interest; look at the protocol
            // type first so that broken non-NHRP GRE is silently skipped.
            let protocol_type = bytes
                .get(2..4)
                .and_then(|pt| <[u8; 2]>::try_from(pt).ok())
                .map(u16::from_be_bytes);
            if protocol_type != Some(ETHERTYPE_NHRP) {
                return Ok(None);
            }
            let gre_error = |error| DemuxError::Gre {
                frame: frame.number,
                offset: offset_in(&frame.data, bytes),
                error,
            };
            let packet = gre::Packet::new_checked(bytes).map_err(gre_error)?;
            let options = gre::ParseOptions {
                verify_checksum: false,
            };
            let repr = gre::Repr::parse_with(&packet, options).map_err(gre_error)?;
            // The checksum covers the whole GRE packet: only judge it when complete.
            if repr.checksum.is_some() && !truncated {
                gre_checksum_ok = Some(packet.verify_checksum());
            }
            (Encapsulation::Gre(repr), packet.payload_ref())
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
        gre_checksum_ok,
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
    // Subtract first and compare only the difference: no comparison of two
    // addresses, whose values would differ from run to run and leak into
    // the fuzzer's comparison tables (docs/fuzzing.md).
    let off = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    if off <= outer.len() { off } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Ipv4Header, Ipv6FlowLabel, Ipv6Header};

    /// A minimal NHRP-looking payload (contents do not matter to the demux).
    const NHRP: [u8; 8] = [0, 1, 8, 0, 0, 0, 0, 0];

    fn gre(key: Option<u32>, proto: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if key.is_some() { 0x20 } else { 0 }, 0];
        out.extend_from_slice(&proto.to_be_bytes());
        if let Some(k) = key {
            out.extend_from_slice(&k.to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let header = Ipv4Header::new(
            payload.len() as u16,
            64,
            IpNumber(proto),
            [192, 0, 2, 1],
            [192, 0, 2, 2],
        )
        .unwrap();
        let mut out = header.to_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn ipv6(proto: u8, payload: &[u8]) -> Vec<u8> {
        let header = Ipv6Header {
            traffic_class: 0,
            flow_label: Ipv6FlowLabel::ZERO,
            payload_length: payload.len() as u16,
            next_header: IpNumber(proto),
            hop_limit: 64,
            source: "2001:db8::1".parse::<Ipv6Addr>().unwrap().octets(),
            destination: "2001:db8::2".parse::<Ipv6Addr>().unwrap().octets(),
        };
        let mut out = header.to_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn frame(link_type: LinkType, data: Vec<u8>) -> Frame {
        Frame {
            number: 7,
            timestamp: Timestamp::default(),
            link_type,
            orig_len: data.len() as u32,
            data,
        }
    }

    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        out.extend_from_slice(&ethertype.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn ethernet_ipv4_gre_with_key() {
        let data = ethernet(0x0800, &ipv4(47, &gre(Some(2), 0x2001, &NHRP)));
        let found = nhrp_in_frame(&frame(LinkType::Ethernet, data))
            .unwrap()
            .unwrap();
        assert_eq!(found.frame, 7);
        assert_eq!(found.gre_key(), Some(2));
        assert_eq!(found.src, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(found.dst, Some("192.0.2.2".parse().unwrap()));
        assert_eq!(found.nhrp, NHRP);
        assert!(!found.truncated);
    }

    #[test]
    fn vlan_tagged_ethernet() {
        let mut tagged = vec![0, 10];
        tagged.extend_from_slice(&0x0800u16.to_be_bytes());
        tagged.extend_from_slice(&ipv4(47, &gre(None, 0x2001, &NHRP)));
        let data = ethernet(0x8100, &tagged);
        let found = nhrp_in_frame(&frame(LinkType::Ethernet, data))
            .unwrap()
            .unwrap();
        assert_eq!(found.nhrp, NHRP);
        assert_eq!(found.gre_key(), None);
    }

    #[test]
    fn raw_ipv6_gre_and_ip_protocol_54() {
        let data = ipv6(47, &gre(None, 0x2001, &NHRP));
        let found = nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap().unwrap();
        assert_eq!(found.src, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(found.nhrp, NHRP);

        let data = ipv4(54, &NHRP);
        let found = nhrp_in_frame(&frame(LinkType::Ipv4, data))
            .unwrap()
            .unwrap();
        assert_eq!(found.encapsulation, Encapsulation::Ip);
        assert_eq!(found.nhrp, NHRP);
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        // SLL: packet type, ARPHRD_ETHER, address length 6, address, protocol.
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&ipv4(47, &gre(Some(9), 0x2001, &NHRP)));
        let found = nhrp_in_frame(&frame(LinkType::LinuxSll, sll))
            .unwrap()
            .unwrap();
        assert_eq!(found.gre_key(), Some(9));

        // SLL2 on a GRE tunnel device: NHRP directly, sender NBMA in the address.
        let mut sll2 = 0x2001u16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[
            0, 0, 0, 0, 0, 5, 0x03, 0x0a, 0, 4, 198, 51, 100, 7, 0, 0, 0, 0,
        ]);
        sll2.extend_from_slice(&NHRP);
        let found = nhrp_in_frame(&frame(LinkType::LinuxSll2, sll2))
            .unwrap()
            .unwrap();
        assert_eq!(found.encapsulation, Encapsulation::Link);
        assert_eq!(found.src, Some("198.51.100.7".parse().unwrap()));
        assert_eq!(found.nhrp, NHRP);
    }

    #[test]
    fn loopback_null_header() {
        let mut data = 2u32.to_le_bytes().to_vec();
        data.extend_from_slice(&ipv4(47, &gre(None, 0x2001, &NHRP)));
        let found = nhrp_in_frame(&frame(LinkType::Null, data))
            .unwrap()
            .unwrap();
        assert_eq!(found.nhrp, NHRP);
    }

    #[test]
    fn other_gre_and_other_protocols_are_skipped() {
        let data = ipv4(47, &gre(None, 0x0800, &NHRP));
        assert_eq!(nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap(), None);
        let data = ipv4(17, &NHRP);
        assert_eq!(nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap(), None);
        // Broken GRE that does not claim NHRP is not our business.
        let data = ipv4(47, &[0xff, 0xff, 0x08, 0x00]);
        assert_eq!(nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap(), None);
    }

    #[test]
    fn bad_gre_carrying_nhrp_is_a_typed_error() {
        // Key bit set but no key bytes.
        let data = ipv4(47, &[0x20, 0x00, 0x20, 0x01]);
        let err = nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap_err();
        assert!(
            matches!(
                err,
                DemuxError::Gre {
                    frame: 7,
                    offset: 20,
                    ..
                }
            ),
            "{err:?}"
        );
        // Version 1 (PPTP) with the NHRP protocol type.
        let data = ipv4(47, &[0x00, 0x01, 0x20, 0x01]);
        assert!(nhrp_in_frame(&frame(LinkType::Raw, data)).is_err());
    }

    #[test]
    fn truncated_capture_is_flagged() {
        let mut data = ipv4(47, &gre(None, 0x2001, &[0u8; 40]));
        data.truncate(data.len() - 30);
        let found = nhrp_in_frame(&frame(LinkType::Raw, data)).unwrap().unwrap();
        assert!(found.truncated);
        assert_eq!(found.nhrp.len(), 10);
    }

    #[test]
    fn unsupported_link_type_and_garbage() {
        let err = nhrp_in_frame(&frame(LinkType::Unknown(147), vec![1, 2, 3])).unwrap_err();
        assert!(matches!(err, DemuxError::UnsupportedLinkType { .. }));
        for lt in [
            LinkType::Ethernet,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
            LinkType::Raw,
        ] {
            for len in 0..24 {
                let data = vec![0x45; len];
                assert!(nhrp_in_frame(&frame(lt, data)).is_ok());
            }
        }
    }
}

//! Writing captures: classic pcap files and GRE/NHRP frames to put in them.
//!
//! Used by tests (packets built with the wire builders are written to a pcap
//! and handed to tshark) and by tools that record what a node sent. The pcap
//! container is the classic little-endian libpcap format with microsecond
//! timestamps; frames are Ethernet II with IPv4 or IPv6 and GRE, built with
//! `etherparse` (IP header checksums included) and [`dmvpn_wire::gre`].

use std::io::{self, Write};
use std::net::IpAddr;

use dmvpn_wire::gre;
use etherparse::{EtherType, Ethernet2Header, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header};

use crate::reader::{LinkType, Timestamp};

/// Why a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The source and destination are not of the same IP version.
    #[error("outer source and destination must both be IPv4 or both IPv6")]
    MixedFamilies,
    /// The payload does not fit in one IP packet.
    #[error("payload of {len} bytes does not fit in an IP packet")]
    TooLong {
        /// Length of the IP payload.
        len: usize,
    },
}

/// Writes a classic pcap file (little-endian, microsecond timestamps).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for frames of `link_type`.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<PcapWriter<W>> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, microseconds
        header.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        header.extend_from_slice(&link_type.to_raw().to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    /// Appends one frame captured at `timestamp`.
    pub fn write_frame(&mut self, timestamp: Timestamp, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
        // Classic pcap has 32-bit seconds; clamp instead of wrapping.
        let secs = u32::try_from(timestamp.secs.max(0)).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(16);
        record.extend_from_slice(&secs.to_le_bytes());
        record.extend_from_slice(&(timestamp.nanos / 1000).to_le_bytes());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(data)
    }

    /// Flushes and gives back the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// An Ethernet II frame carrying `payload` in GRE (header `gre`) in IP from
/// `src` to `dst`. The MAC addresses are fixed locally administered values.
pub fn ethernet_gre_frame(
    src: IpAddr,
    dst: IpAddr,
    gre: &gre::Repr,
    payload: &[u8],
) -> Result<Vec<u8>, BuildError> {
    let gre_bytes = gre.to_bytes(payload);
    let len = gre_bytes.len();
    let too_long = |_| BuildError::TooLong { len };
    let (ether_type, ip_header) = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let payload_len = u16::try_from(len).map_err(too_long)?;
            let mut header =
                Ipv4Header::new(payload_len, 255, IpNumber::GRE, s.octets(), d.octets())
                    .map_err(|_| BuildError::TooLong { len })?;
            header.header_checksum = header.calc_header_checksum();
            (EtherType::IPV4, header.to_bytes().to_vec())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let header = Ipv6Header {
                traffic_class: 0,
                flow_label: Ipv6FlowLabel::ZERO,
                payload_length: u16::try_from(len).map_err(too_long)?,
                next_header: IpNumber::GRE,
                hop_limit: 255,
                source: s.octets(),
                destination: d.octets(),
            };
            (EtherType::IPV6, header.to_bytes().to_vec())
        }
        _ => return Err(BuildError::MixedFamilies),
    };
    let ethernet = Ethernet2Header {
        source: [0x02, 0, 0, 0, 0, 0x01],
        destination: [0x02, 0, 0, 0, 0, 0x02],
        ether_type,
    };
    let mut frame = Vec::with_capacity(Ethernet2Header::LEN + ip_header.len() + len);
    frame.extend_from_slice(&ethernet.to_bytes());
    frame.extend_from_slice(&ip_header);
    frame.extend_from_slice(&gre_bytes);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NhrpFrames;

    #[test]
    fn written_frames_read_back_through_the_demux() {
        let mut writer = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
        let mut keyed = gre::Repr::new(gre::EtherType::Nhrp);
        keyed.key = Some(42);
        let v4 = ethernet_gre_frame(
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap(),
            &keyed,
            b"nhrp-bytes",
        )
        .unwrap();
        let plain = gre::Repr::new(gre::EtherType::Nhrp);
        let v6 = ethernet_gre_frame(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            &plain,
            b"more",
        )
        .unwrap();
        let ts = Timestamp {
            secs: 1_700_000_000,
            nanos: 123_456_000,
        };
        writer.write_frame(ts, &v4).unwrap();
        writer.write_frame(ts, &v6).unwrap();
        let bytes = writer.into_inner().unwrap();

        let found: Vec<_> = NhrpFrames::from_bytes(&bytes)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].gre_key(), Some(42));
        assert_eq!(found[0].nhrp, b"nhrp-bytes");
        assert_eq!(found[0].timestamp, ts);
        assert_eq!(found[1].frame, 2);
        assert_eq!(found[1].dst, Some("2001:db8::2".parse().unwrap()));
        assert_eq!(found[1].nhrp, b"more");

        assert_eq!(
            ethernet_gre_frame(
                "192.0.2.1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
                &plain,
                b""
            ),
            Err(BuildError::MixedFamilies)
        );
    }
}

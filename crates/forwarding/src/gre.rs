//! The GRE header as the data path writes and reads it (RFC 2784 with the RFC 2890 key):
//! a thin adapter over the `dmvpn_wire::gre` codec that writes the header into headroom in
//! front of a payload already in place, and parses a received header without copying.

use crate::counters::Stat;
use dmvpn_wire::gre::{EtherType, Packet, Repr};

/// GRE protocol type of IPv4 payloads.
pub const PROTO_IPV4: u16 = 0x0800;
/// GRE protocol type of NHRP (as Cisco and Linux ip_gre send it).
pub const PROTO_NHRP: u16 = 0x2001;

/// Why a received GRE header was refused (the codec's typed error).
pub type GreError = dmvpn_wire::Error;

/// The fields of a GRE header the data plane uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreHeader {
    /// The protocol type of the payload.
    pub protocol: u16,
    /// The key (RFC 2890), present when `tunnel key` is configured.
    pub key: Option<u32>,
}

impl GreHeader {
    fn repr(&self) -> Repr {
        let mut r = Repr::new(EtherType::from(self.protocol));
        r.key = self.key;
        r
    }

    /// Bytes this header takes on the wire when emitted (no checksum, no sequence).
    pub const fn len(&self) -> usize {
        if self.key.is_some() { 8 } else { 4 }
    }

    /// Always false: a GRE header is never empty (present to pair with `len`).
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the header into `out`, which must be at least [`GreHeader::len`] bytes; returns
    /// the bytes written, or `None` when `out` is too short.
    pub fn emit(&self, out: &mut [u8]) -> Option<usize> {
        let out = out.get_mut(..self.len())?;
        self.repr().emit(out, &[]).ok()
    }

    /// Parses the GRE header at the start of `packet`; returns it and the payload offset.
    /// A checksum, when present, is verified; a sequence number is skipped; version 1,
    /// routing and reserved bits are refused.
    pub fn parse(packet: &[u8]) -> Result<(Self, usize), GreError> {
        let view = Packet::new_checked(packet)?;
        let repr = Repr::parse(&view)?;
        Ok((
            Self {
                protocol: u16::from(repr.protocol),
                key: repr.key,
            },
            view.header_len(),
        ))
    }
}

/// The drop counter for a GRE header the codec refused (besides
/// [`Stat::gre_malformed`], which counts them all).
pub fn drop_stat(e: &GreError) -> Stat {
    match e {
        GreError::Truncated { .. } | GreError::BufferTooSmall { .. } => Stat::gre_truncated,
        GreError::Unsupported {
            field: "gre.version",
            ..
        } => Stat::gre_bad_version,
        GreError::Checksum { .. } => Stat::gre_bad_checksum,
        _ => Stat::gre_bad_flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_header_round_trips() {
        let h = GreHeader {
            protocol: PROTO_NHRP,
            key: Some(0x0001_e240),
        };
        let mut buf = [0xa5u8; 8];
        assert_eq!(h.emit(&mut buf), Some(8));
        assert_eq!(buf, [0x20, 0, 0x20, 0x01, 0, 1, 0xe2, 0x40]);
        assert_eq!(GreHeader::parse(&buf), Ok((h, 8)));
    }

    #[test]
    fn plain_header_round_trips_and_short_buffers_fail() {
        let h = GreHeader {
            protocol: PROTO_IPV4,
            key: None,
        };
        let mut buf = [0u8; 4];
        assert_eq!(h.emit(&mut buf), Some(4));
        assert_eq!(GreHeader::parse(&buf), Ok((h, 4)));
        assert_eq!(h.emit(&mut [0u8; 3]), None);
        assert!(GreHeader::parse(&[0x20, 0, 8, 0, 1]).is_err());
        assert!(GreHeader::parse(&[0, 1, 8, 0]).is_err());
        assert!(GreHeader::parse(&[0x40, 0, 8, 0]).is_err());
    }

    #[test]
    fn checksum_and_sequence_are_handled() {
        // C and S bits, protocol IPv4, checksum over header + payload.
        let mut pkt = vec![0x90, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0xde, 0xad];
        let ck = crate::packet::internet_checksum(&pkt);
        pkt[4..6].copy_from_slice(&ck.to_be_bytes());
        let (h, off) = GreHeader::parse(&pkt).unwrap();
        assert_eq!(h.key, None);
        assert_eq!(off, 12);
        pkt[13] ^= 1;
        assert!(GreHeader::parse(&pkt).is_err());
    }

    #[test]
    fn refusals_are_counted_by_cause() {
        let stat = |b: &[u8]| GreHeader::parse(b).map(|_| ()).map_err(|e| drop_stat(&e));
        assert_eq!(stat(&[0x20, 0, 8, 0, 1]), Err(Stat::gre_truncated));
        assert_eq!(stat(&[0, 1, 8, 0]), Err(Stat::gre_bad_version));
        assert_eq!(stat(&[0x40, 0, 8, 0]), Err(Stat::gre_bad_flags));
        let mut pkt = vec![0x80, 0, 0x08, 0, 0, 0, 0, 0, 0xde, 0xad];
        let ck = crate::packet::internet_checksum(&pkt);
        pkt[4..6].copy_from_slice(&(ck ^ 1).to_be_bytes());
        assert_eq!(stat(&pkt), Err(Stat::gre_bad_checksum));
    }

    #[test]
    fn no_input_panics() {
        for len in 0..16 {
            for fill in [0u8, 0xff, 0x30, 0xb0] {
                let _ = GreHeader::parse(&vec![fill; len]);
            }
        }
    }
}

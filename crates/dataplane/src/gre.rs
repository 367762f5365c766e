//! The GRE header as the data plane writes and reads it (RFC 2784 with the RFC 2890 key and
//! sequence extensions): encapsulation in front of a payload and checked decapsulation.
//!
//! This is the minimal subset the data path needs on every packet. The full codec with typed
//! views lives in `dmvpn-wire`; this module is kept small and allocation-free.

/// GRE protocol type of IPv4 payloads.
pub const PROTO_IPV4: u16 = 0x0800;
/// GRE protocol type of NHRP (as Cisco and Linux ip_gre send it).
pub const PROTO_NHRP: u16 = 0x2001;

const FLAG_CHECKSUM: u16 = 0x8000;
const FLAG_ROUTING: u16 = 0x4000;
const FLAG_KEY: u16 = 0x2000;
const FLAG_SEQUENCE: u16 = 0x1000;
const VERSION_MASK: u16 = 0x0007;

/// Why a GRE header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GreError {
    /// Fewer bytes than the flags announce.
    #[error("GRE header truncated: {len} bytes, flags need {need}")]
    Truncated {
        /// Bytes available.
        len: usize,
        /// Bytes the flags require.
        need: usize,
    },
    /// Version field (bits 13-15 of byte 0-1) is not 0.
    #[error("GRE version {0} not supported (byte 1)")]
    Version(u8),
    /// The routing-present bit (RFC 1701) is set.
    #[error("GRE routing (RFC 1701 R bit, byte 0) not supported")]
    Routing,
    /// The checksum field does not match the packet.
    #[error("GRE checksum mismatch")]
    Checksum,
}

/// The fields of a GRE header the data plane uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreHeader {
    /// The protocol type of the payload.
    pub protocol: u16,
    /// The key (RFC 2890), present when `tunnel key` is configured.
    pub key: Option<u32>,
}

impl GreHeader {
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
        let len = self.len();
        let out = out.get_mut(..len)?;
        let flags = if self.key.is_some() { FLAG_KEY } else { 0 };
        out[0..2].copy_from_slice(&flags.to_be_bytes());
        out[2..4].copy_from_slice(&self.protocol.to_be_bytes());
        if let Some(key) = self.key {
            out[4..8].copy_from_slice(&key.to_be_bytes());
        }
        Some(len)
    }

    /// Parses the GRE header at the start of `packet`; returns it and the payload offset.
    /// A checksum, when present, is verified; a sequence number is skipped.
    pub fn parse(packet: &[u8]) -> Result<(Self, usize), GreError> {
        let truncated = |need| GreError::Truncated {
            len: packet.len(),
            need,
        };
        let head = packet.get(..4).ok_or(truncated(4))?;
        let flags = u16::from_be_bytes([head[0], head[1]]);
        let protocol = u16::from_be_bytes([head[2], head[3]]);
        let version = u8::try_from(flags & VERSION_MASK).unwrap_or(u8::MAX);
        if version != 0 {
            return Err(GreError::Version(version));
        }
        if flags & FLAG_ROUTING != 0 {
            return Err(GreError::Routing);
        }
        let mut offset = 4;
        if flags & FLAG_CHECKSUM != 0 {
            packet
                .get(offset..offset + 4)
                .ok_or(truncated(offset + 4))?;
            if crate::packet::internet_checksum(packet) != 0 {
                return Err(GreError::Checksum);
            }
            offset += 4;
        }
        let key = if flags & FLAG_KEY != 0 {
            let k = packet
                .get(offset..offset + 4)
                .ok_or(truncated(offset + 4))?;
            offset += 4;
            Some(u32::from_be_bytes([k[0], k[1], k[2], k[3]]))
        } else {
            None
        };
        if flags & FLAG_SEQUENCE != 0 {
            packet
                .get(offset..offset + 4)
                .ok_or(truncated(offset + 4))?;
            offset += 4;
        }
        Ok((Self { protocol, key }, offset))
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
        assert!(matches!(
            GreHeader::parse(&[0x20, 0, 8, 0, 1]),
            Err(GreError::Truncated { .. })
        ));
        assert_eq!(GreHeader::parse(&[0, 1, 8, 0]), Err(GreError::Version(1)));
        assert_eq!(GreHeader::parse(&[0x40, 0, 8, 0]), Err(GreError::Routing));
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
        assert_eq!(GreHeader::parse(&pkt), Err(GreError::Checksum));
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

//! Traffic Selector payloads, TSi and TSr (RFC 7296 §3.13).
//!
//! ```text
//! Body:     | Number of TSs | RESERVED (3) | <Traffic Selectors> ...
//! Selector: |   TS Type     |IP Protocol ID*|       Selector Length         |
//!           |           Start Port*         |           End Port*           |
//!           ~                         Starting Address*                     ~
//!           ~                         Ending Address*                       ~
//! ```
//!
//! TS_IPV4_ADDR_RANGE (Selector Length 16) and TS_IPV6_ADDR_RANGE (40) are decoded; any
//! other TS Type is skipped by its Selector Length (at least 4) and kept opaque. The number
//! of selectors found must equal Number of TSs, and nothing may follow the last one.

use super::{
    GENERIC_HEADER_LEN, Result, TsType, WireError, Writer, be16, byte, len8, len16, payload_view,
    range,
};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Selector Length of TS_IPV4_ADDR_RANGE.
const V4_LEN: usize = 16;
/// Selector Length of TS_IPV6_ADDR_RANGE.
const V6_LEN: usize = 40;

payload_view! {
    /// A view of a TSi or TSr payload.
    TrafficSelectors
}

impl<T: AsRef<[u8]>> TrafficSelectors<T> {
    /// Checks the generic header and the 4-byte body header (the selectors are checked
    /// while walking them).
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()?;
        super::need("ts.header", GENERIC_HEADER_LEN, 4, self.body().len())
    }
    /// Number of TSs.
    pub fn count(&self) -> u8 {
        byte(self.body(), 0)
    }
    /// The reserved octets.
    pub fn reserved(&self) -> [u8; 3] {
        let b = self.body();
        [byte(b, 1), byte(b, 2), byte(b, 3)]
    }
    /// Walks the selectors (offsets from the start of the payload).
    pub fn selectors(&self) -> Selectors<'_> {
        let b = self.body();
        Selectors {
            bytes: range(b, 4, b.len()),
            pos: 0,
            base: GENERIC_HEADER_LEN + 4,
            left: self.count(),
            done: false,
        }
    }
}

/// A view of one traffic selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Selector<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Selector { buffer }
    }

    /// Wraps a buffer that starts with a selector and checks its length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let s = Selector::new_unchecked(buffer);
        s.check_len()?;
        Ok(s)
    }

    /// Checks the Selector Length: at least 4, within the buffer, and exactly 16 or 40 for
    /// the IPv4 and IPv6 ranges.
    pub fn check_len(&self) -> Result<()> {
        let have = self.b().len();
        super::need("ts.selector", 0, 4, have)?;
        let len = usize::from(self.length());
        let exact = match self.ts_type() {
            TsType::Ipv4AddrRange => Some(V4_LEN),
            TsType::Ipv6AddrRange => Some(V6_LEN),
            TsType::Unknown(_) => None,
        };
        if len < 4 || exact.is_some_and(|e| e != len) {
            return Err(WireError::BadLength {
                field: "ts.selector_length",
                offset: 0,
                len,
                reason: "wrong for the TS Type",
            });
        }
        if len > have {
            return Err(WireError::BadLength {
                field: "ts.selector_length",
                offset: 0,
                len,
                reason: "longer than the payload",
            });
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// TS Type.
    pub fn ts_type(&self) -> TsType {
        TsType::from(byte(self.b(), 0))
    }
    /// IP Protocol ID (0: any).
    pub fn ip_protocol(&self) -> u8 {
        byte(self.b(), 1)
    }
    /// Selector Length.
    pub fn length(&self) -> u16 {
        be16(self.b(), 2)
    }
    /// The bytes after the 4-byte selector header (ports and addresses for the known types).
    pub fn data(&self) -> &[u8] {
        let end = usize::from(self.length()).min(self.b().len());
        range(self.b(), 4, end)
    }
    /// Start Port (known types only).
    pub fn start_port(&self) -> u16 {
        be16(self.b(), 4)
    }
    /// End Port (known types only).
    pub fn end_port(&self) -> u16 {
        be16(self.b(), 6)
    }
    /// The address range of a TS_IPV4_ADDR_RANGE.
    pub fn ipv4_range(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        if self.ts_type() != TsType::Ipv4AddrRange {
            return None;
        }
        let s: [u8; 4] = range(self.b(), 8, 12).try_into().ok()?;
        let e: [u8; 4] = range(self.b(), 12, 16).try_into().ok()?;
        Some((Ipv4Addr::from(s), Ipv4Addr::from(e)))
    }
    /// The address range of a TS_IPV6_ADDR_RANGE.
    pub fn ipv6_range(&self) -> Option<(Ipv6Addr, Ipv6Addr)> {
        if self.ts_type() != TsType::Ipv6AddrRange {
            return None;
        }
        let s: [u8; 16] = range(self.b(), 8, 24).try_into().ok()?;
        let e: [u8; 16] = range(self.b(), 24, 40).try_into().ok()?;
        Some((Ipv6Addr::from(s), Ipv6Addr::from(e)))
    }
}

/// Walks the selectors of a TS payload.
#[derive(Debug, Clone)]
pub struct Selectors<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    left: u8,
    done: bool,
}

impl<'a> Iterator for Selectors<'a> {
    type Item = Result<(usize, Selector<&'a [u8]>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        let rest = range(self.bytes, self.pos, self.bytes.len());
        if self.left == 0 {
            self.done = true;
            if rest.is_empty() {
                return None;
            }
            return Some(Err(WireError::TrailingBytes {
                field: "ts.selectors",
                offset,
                count: rest.len(),
            }));
        }
        let s = match Selector::new_checked(rest) {
            Ok(s) => s,
            Err(e) => {
                self.done = true;
                return Some(Err(e.shifted(offset)));
            }
        };
        self.left -= 1;
        let len = usize::from(s.length());
        self.pos = self.pos.saturating_add(len);
        Some(Ok((offset, Selector::new_unchecked(range(rest, 0, len)))))
    }
}

impl core::iter::FusedIterator for Selectors<'_> {}

/// An owned traffic selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrafficSelector {
    /// TS_IPV4_ADDR_RANGE.
    Ipv4 {
        /// IP Protocol ID (0: any).
        protocol: u8,
        /// Start Port.
        start_port: u16,
        /// End Port.
        end_port: u16,
        /// Starting Address.
        start: Ipv4Addr,
        /// Ending Address.
        end: Ipv4Addr,
    },
    /// TS_IPV6_ADDR_RANGE.
    Ipv6 {
        /// IP Protocol ID (0: any).
        protocol: u8,
        /// Start Port.
        start_port: u16,
        /// End Port.
        end_port: u16,
        /// Starting Address.
        start: Ipv6Addr,
        /// Ending Address.
        end: Ipv6Addr,
    },
    /// Any other TS Type, kept opaque (emitting one with type 7 or 8 is refused).
    Other {
        /// TS Type.
        ts_type: u8,
        /// IP Protocol ID.
        protocol: u8,
        /// The bytes after the selector header.
        data: Vec<u8>,
    },
}

impl TrafficSelector {
    /// One IPv4 host, every port of `protocol` (DMVPN's GRE selector uses 47).
    pub fn ipv4_host(a: Ipv4Addr, protocol: u8) -> Self {
        TrafficSelector::Ipv4 {
            protocol,
            start_port: 0,
            end_port: u16::MAX,
            start: a,
            end: a,
        }
    }

    /// Parses a selector.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(s: &Selector<&T>) -> Result<Self> {
        s.check_len()?;
        let protocol = s.ip_protocol();
        let (start_port, end_port) = (s.start_port(), s.end_port());
        if let Some((start, end)) = s.ipv4_range() {
            return Ok(TrafficSelector::Ipv4 {
                protocol,
                start_port,
                end_port,
                start,
                end,
            });
        }
        if let Some((start, end)) = s.ipv6_range() {
            return Ok(TrafficSelector::Ipv6 {
                protocol,
                start_port,
                end_port,
                start,
                end,
            });
        }
        Ok(TrafficSelector::Other {
            ts_type: s.ts_type().value(),
            protocol,
            data: s.data().to_vec(),
        })
    }

    /// Wire length.
    pub fn buffer_len(&self) -> usize {
        match self {
            TrafficSelector::Ipv4 { .. } => V4_LEN,
            TrafficSelector::Ipv6 { .. } => V6_LEN,
            TrafficSelector::Other { data, .. } => 4 + data.len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let len = len16("ts.selector_length", self.buffer_len())?;
        match self {
            TrafficSelector::Ipv4 {
                protocol,
                start_port,
                end_port,
                start,
                end,
            } => {
                w.bytes(&[TsType::Ipv4AddrRange.value(), *protocol])?;
                w.u16(len)?;
                w.u16(*start_port)?;
                w.u16(*end_port)?;
                w.bytes(&start.octets())?;
                w.bytes(&end.octets())
            }
            TrafficSelector::Ipv6 {
                protocol,
                start_port,
                end_port,
                start,
                end,
            } => {
                w.bytes(&[TsType::Ipv6AddrRange.value(), *protocol])?;
                w.u16(len)?;
                w.u16(*start_port)?;
                w.u16(*end_port)?;
                w.bytes(&start.octets())?;
                w.bytes(&end.octets())
            }
            TrafficSelector::Other {
                ts_type,
                protocol,
                data,
            } => {
                if !matches!(TsType::from(*ts_type), TsType::Unknown(_)) {
                    return Err(WireError::Invalid {
                        field: "ts.type",
                        offset: 0,
                        reason: "a known TS Type must use its own variant",
                    });
                }
                w.bytes(&[*ts_type, *protocol])?;
                w.u16(len)?;
                w.bytes(data)
            }
        }
    }
}

/// An owned TSi or TSr body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrafficSelectorsRepr {
    /// The selectors, in order (at most 255).
    pub selectors: Vec<TrafficSelector>,
    /// The reserved octets, as received (zero when building).
    pub reserved: [u8; 3],
}

impl TrafficSelectorsRepr {
    /// Parses every selector.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &TrafficSelectors<&T>) -> Result<Self> {
        v.check_len()?;
        let mut selectors = Vec::new();
        for s in v.selectors() {
            let (off, s) = s?;
            selectors.push(TrafficSelector::parse(&s).map_err(|e| e.shifted(off))?);
        }
        Ok(TrafficSelectorsRepr {
            selectors,
            reserved: v.reserved(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self
            .selectors
            .iter()
            .map(TrafficSelector::buffer_len)
            .sum::<usize>()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(len8("ts.count", self.selectors.len())?)?;
        w.bytes(&self.reserved)?;
        for s in &self.selectors {
            s.emit(&mut w)?;
        }
        Ok(w.written())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend(((body.len() + 4) as u16).to_be_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn skips_unknown_types_and_round_trips() {
        let r = TrafficSelectorsRepr {
            selectors: vec![
                TrafficSelector::ipv4_host(Ipv4Addr::new(192, 0, 2, 1), 47),
                TrafficSelector::Other {
                    ts_type: 9,
                    protocol: 0,
                    data: vec![1, 2, 3],
                },
                TrafficSelector::Ipv6 {
                    protocol: 0,
                    start_port: 0,
                    end_port: 65535,
                    start: Ipv6Addr::UNSPECIFIED,
                    end: Ipv6Addr::LOCALHOST,
                },
            ],
            reserved: [0; 3],
        };
        let mut b = vec![0; r.body_len()];
        r.emit_body(&mut b).unwrap();
        let p = payload(&b);
        let v = TrafficSelectors::new_checked(&p[..]).unwrap();
        assert_eq!(v.count(), 3);
        let offs: Vec<usize> = v.selectors().map(|s| s.unwrap().0).collect();
        assert_eq!(offs, vec![8, 24, 31]);
        assert_eq!(TrafficSelectorsRepr::parse(&v).unwrap(), r);
    }

    #[test]
    fn malformed_selectors() {
        let parse = |b: &[u8]| {
            let p = payload(b);
            TrafficSelectorsRepr::parse(&TrafficSelectors::new_checked(&p[..])?)
        };
        // IPv4 range with length 12.
        assert!(matches!(
            parse(&[1, 0, 0, 0, 7, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(WireError::BadLength {
                offset: 8,
                len: 12,
                ..
            })
        ));
        // Unknown type with length 2.
        assert!(matches!(
            parse(&[1, 0, 0, 0, 9, 0, 0, 2]),
            Err(WireError::BadLength { len: 2, .. })
        ));
        // One announced, none there.
        assert!(matches!(
            parse(&[1, 0, 0, 0]),
            Err(WireError::Truncated { .. })
        ));
        // None announced, one there.
        assert!(matches!(
            parse(&[0, 0, 0, 0, 9, 0, 0, 4]),
            Err(WireError::TrailingBytes {
                offset: 8,
                count: 4,
                ..
            })
        ));
        // Body shorter than its header.
        assert!(parse(&[1, 0]).is_err());
        let other7 = TrafficSelector::Other {
            ts_type: 7,
            protocol: 0,
            data: vec![],
        };
        let r = TrafficSelectorsRepr {
            selectors: vec![other7],
            reserved: [0; 3],
        };
        assert!(r.emit_body(&mut [0u8; 16]).is_err());
    }
}

//! `dmvpn-wire`: byte-exact codecs for GRE (RFC 2784 + RFC 2890) and NHRP (RFC 2332 with the
//! Cisco DMVPN additions).
//!
//! # Layers
//!
//! Following smoltcp's wire module, each protocol has two layers:
//!
//! * a **packet view** (`Packet<T: AsRef<[u8]>>`) giving faithful access to every header
//!   field, even nonsensical ones, so a bad packet can still be logged; and
//! * an owned **representation** (`Repr`) with `parse`, `emit` and `buffer_len`.
//!
//! [`gre`] carries its payload opaquely (NHRP, IPv4, IPv6, MPLS, anything: [`gre::EtherType`]).
//! [`nhrp`] decodes the whole packet: fixed header, mandatory part, CIE lists, Error and
//! Traffic Indication payloads and every extension.
//!
//! # Contract
//!
//! * **No panics, no out-of-bounds reads** on any input, in any function of this crate.
//!   `Packet::new_checked` (or `check_len`) is required before trusting the getters'
//!   values on untrusted input; the getters themselves never panic even without it (they
//!   return 0 / empty slices out of range). `Packet::new_unchecked` is for emission into a
//!   buffer you sized.
//! * A malformed input gives a typed [`Error`] naming the field and the byte offset, e.g.
//!   `Error::Truncated { field: "cie.client_nbma", offset: 57, need: 4, have: 1 }`.
//! * **Lossless NHRP**: for every packet that parses, `Repr::parse(b)?.to_bytes()? ==
//!   b[..ar$pktsz]` (unknown codes are kept as `Unknown(raw)`, unknown extensions as raw
//!   bytes, and extension order, subaddresses, SNAP, bytes between the CIEs and `ar$extoff`,
//!   bytes after End and embedded packets are all kept). GRE is lossless for every header that
//!   parses, with the checksum recomputed.
//! * **Generated packets round trip**: `Repr::parse(&x.to_bytes()?) == x` for every `Repr` the
//!   `testing` strategies generate (property-tested; the module needs the `proptest`
//!   feature).
//! * **Checksums**: `nhrp::Repr::parse` and `gre::Repr::parse` refuse a bad checksum
//!   (engine use). `nhrp::Repr::decode` and `gre::Repr::parse_with` accept it and report it
//!   (decoder use). `emit` always writes a correct checksum, `ar$pktsz` and `ar$extoff`.
//! * `emit` returns `Err` (never panics) when the `Repr` holds a value its wire field cannot
//!   carry (an address over 63 bytes, a packet over 65535 bytes) or the buffer is too small.
//! * Entry points for fuzzing: [`gre::Repr::parse_bytes`], [`nhrp::Repr::decode`],
//!   [`nhrp::Repr::parse`], [`nhrp::parse_cies`], [`nhrp::parse_extensions`], and `Display`
//!   of every `Repr`.
//!
//! # Example
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use dmvpn_wire::nhrp::{Cie, Repr};
//!
//! let ip = |d| IpAddr::V4(Ipv4Addr::new(10, 0, 0, d));
//! // FRR's Registration Request layout: 92 bytes, extensions at 52.
//! let req = Repr::registration_request(ip(2), ip(2), ip(1), 1, true)
//!     .with_request_extensions(Some(vec![Cie::client(ip(1), ip(1))]), None);
//! let bytes = req.to_bytes()?;
//! assert_eq!((bytes.len(), req.extension_offset()), (92, Some(52)));
//! assert_eq!(Repr::parse(&bytes)?, req);
//! # Ok::<(), dmvpn_wire::Error>(())
//! ```
//!
//! # One definition of each protocol fact
//!
//! The rest of the workspace takes these from here instead of keeping copies:
//!
//! * the packet types: [`nhrp::KnownPacketType`] (closed, with `ALL`, `code`, `name` — the
//!   RFC/IOS name — and `label` — the snake_case JSON/metrics name), and [`nhrp::PacketType`]
//!   (open, as received);
//! * flags ([`nhrp::Flags`]), CIE codes ([`nhrp::CieCode`]), Error Indication codes
//!   ([`nhrp::ErrorCode`], with `label`), extension types;
//! * the hop counts, one constant per meaning: [`nhrp::CISCO_HOP_COUNT`] (the builders'),
//!   [`nhrp::ROUTED_HOP_COUNT`] and [`nhrp::ONE_HOP_COUNT`] (what the engine sends);
//! * the IPv4 prefix type, [`Ipv4Prefix`] (host bits cleared, length validated, the CIE
//!   prefix-length rule in [`Ipv4Prefix::from_cie`]).
//!
//! Features: `serde` (serde for the closed enums and [`Ipv4Prefix`]), `ipnet` (conversions
//! with `ipnet::Ipv4Net`), `proptest` (the `testing` strategies).
//!
//! # Numbering
//!
//! Error codes and CIE codes are numbered as RFC 2332 numbers them (loop detected = 3, no
//! binding = 12, unique address registered = 14, hop count exceeded = 15, authentication
//! failure = 11), not as FRR and OpenNHRP do.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checksum;
mod error;
mod macros;
mod prefix;

pub mod gre;
pub mod nhrp;

#[cfg(any(test, feature = "proptest"))]
pub mod testing;

pub use checksum::{compute as internet_checksum, verify as verify_internet_checksum};
pub use error::{Error, Result};
pub use prefix::{Ipv4Prefix, PrefixLengthError, PrefixParseError, netmask};

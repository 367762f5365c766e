//! NHRP (RFC 2332) with the Cisco DMVPN additions (Traffic Indication, NAT extension and flag,
//! cleartext authentication).
//!
//! * [`Packet`] — a zero-copy view of the fixed and common mandatory headers, with setters for
//!   the fields a forwarding NHS rewrites (hop count, checksum, request id).
//! * [`Repr`] — an owned, **lossless** representation of a whole packet: `Repr::parse(b)?.emit()`
//!   gives back `b[..ar$pktsz]` for every well-formed packet (extension order, raw bodies,
//!   subaddresses, SNAP, bytes between the CIEs and `ar$extoff`, bytes after the End extension
//!   and embedded packets are all kept).
//! * Standalone parsers for sub-structures: [`parse_cies`], [`parse_extensions`].
//! * Builders for every packet type: [`Repr::resolution_request`], [`Repr::registration_request`],
//!   [`Repr::purge_request`], [`Repr::error_indication`], [`Repr::traffic_indication`], the
//!   reply constructors and the `with_*` chain.
//!
//! Numbering follows RFC 2332 (loop detected = 3, no binding = 12), not FRR/OpenNHRP.

mod build;
mod display;
mod packet;
mod parse;
mod types;

pub use packet::Packet;
pub use parse::{Decoded, ExtensionList, parse_cies, parse_extensions};
pub use types::*;

/// Length of the fixed header (`ar$afn` .. `ar$sstl`).
pub const FIXED_HEADER_LEN: usize = 20;
/// Length of the common mandatory header before the addresses.
pub const MANDATORY_HEADER_LEN: usize = 8;
/// Offset of the first address (source NBMA) in a packet.
pub const ADDRESSES_OFFSET: usize = FIXED_HEADER_LEN + MANDATORY_HEADER_LEN;
/// Length of a CIE before its addresses.
pub const CIE_HEADER_LEN: usize = 12;
/// Length of an extension header (type + length).
pub const EXTENSION_HEADER_LEN: usize = 4;
/// The only NHRP version (`ar$op.version`).
pub const VERSION: u8 = 1;
/// Hop count the `Repr` builders start with: what Cisco IOS puts in the packets it
/// originates, so that a built packet looks like Cisco's. Never 0, which Cisco rejects.
///
/// The workspace has one constant per meaning of "default hop count":
/// * [`CISCO_HOP_COUNT`] (255): the builders' default, a Cisco-shaped packet;
/// * [`ROUTED_HOP_COUNT`] (64): what the engine sends in packets that NHSs may forward
///   (resolution, purge, replies, Error Indications), as FRR nhrpd does; it bounds a
///   forwarding loop the Forward Transit record does not catch;
/// * [`ONE_HOP_COUNT`] (1): what the engine sends in packets that go one NBMA hop only
///   (Registration Request, Traffic Indication), as nhrpd does.
pub const CISCO_HOP_COUNT: u8 = 255;
/// Hop count of an originated packet that NHSs may forward (see [`CISCO_HOP_COUNT`]).
pub const ROUTED_HOP_COUNT: u8 = 64;
/// Hop count of an originated packet that travels one NBMA hop (see [`CISCO_HOP_COUNT`]).
pub const ONE_HOP_COUNT: u8 = 1;
/// Longest Cisco cleartext authentication password.
pub const CISCO_PASSWORD_MAX: usize = 8;
/// Longest address an `ar$shtl`/`ar$sstl`/CIE NBMA type-length octet can announce.
pub const NBMA_ADDRESS_MAX: usize = 0x3f;

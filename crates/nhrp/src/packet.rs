//! The engine's decoded view of an NHRP message ([`Message`]), independent of the codec.
//!
//! `codec.rs` converts between this model and `dmvpn_wire`'s `Repr`s; every role module reads
//! and builds [`Message`]s only. Addresses are IPv4 (protocol and NBMA); the engine drops
//! packets of other address families with [`crate::error::DropReason::Unsupported`].

use std::net::Ipv4Addr;

/// NHRP packet types: the one definition in `dmvpn_wire` (closed, with `ALL`, `code`,
/// `from_code`, `index`, `is_request`, `name` and `label`).
pub use dmvpn_wire::nhrp::KnownPacketType as PacketType;

/// Mandatory-part flags as the raw `u16` bits of [`Message::flags`]; the values are
/// `dmvpn_wire::nhrp::Flags`' (RFC 2332 §5.2.1, §5.2.3, §5.2.5 and Cisco's NAT bit).
pub mod flags {
    use dmvpn_wire::nhrp::Flags;
    /// Resolution: Q, the requester is a router.
    pub const Q: u16 = Flags::Q.0;
    /// Resolution: A, authoritative.
    pub const A: u16 = Flags::A.0;
    /// Resolution: D, destination is stable.
    pub const D: u16 = Flags::D.0;
    /// Resolution: U, unique.
    pub const RES_U: u16 = Flags::RESOLUTION_U.0;
    /// Resolution: S, source is stable.
    pub const S: u16 = Flags::S.0;
    /// Registration: U, unique.
    pub const REG_U: u16 = Flags::REGISTRATION_U.0;
    /// Purge: N, no reply.
    pub const N: u16 = Flags::N.0;
    /// Cisco: NAT supported.
    pub const NAT: u16 = Flags::CISCO_NAT.0;
}

/// CIE codes as the raw `u8` of [`Cie::code`]; the values are `dmvpn_wire::nhrp::CieCode`'s.
pub mod code {
    use dmvpn_wire::nhrp::CieCode;
    /// Success.
    pub const SUCCESS: u8 = CieCode::Success.value();
    /// Administratively prohibited.
    pub const PROHIBITED: u8 = CieCode::AdministrativelyProhibited.value();
    /// Insufficient resources.
    pub const INSUFFICIENT_RESOURCES: u8 = CieCode::InsufficientResources.value();
    /// No interworking layer address to NBMA address binding exists (RFC 2332 §5.2.2).
    pub const NO_BINDING: u8 = CieCode::NoBinding.value();
    /// Binding exists but is not unique.
    pub const NOT_UNIQUE: u8 = CieCode::NonUniqueBinding.value();
    /// Unique internetworking layer address already registered (RFC 2332 §5.2.4).
    pub const ALREADY_REGISTERED: u8 = CieCode::UniqueAddressRegistered.value();
}

/// Error Indication codes as the raw `u16` of [`Message::error_code`]; the values are
/// `dmvpn_wire::nhrp::ErrorCode`'s (RFC 2332 §5.2.7).
pub mod error_code {
    use dmvpn_wire::nhrp::ErrorCode;
    /// Unrecognized Extension.
    pub const UNRECOGNIZED_EXTENSION: u16 = ErrorCode::UnrecognizedExtension.value();
    /// NHRP Loop Detected.
    pub const LOOP_DETECTED: u16 = ErrorCode::LoopDetected.value();
    /// Protocol Address Unreachable.
    pub const PROTOCOL_ADDRESS_UNREACHABLE: u16 = ErrorCode::ProtocolAddressUnreachable.value();
    /// Protocol Error.
    pub const PROTOCOL_ERROR: u16 = ErrorCode::ProtocolError.value();
    /// SDU Size Exceeded.
    pub const SDU_SIZE_EXCEEDED: u16 = ErrorCode::SduSizeExceeded.value();
    /// Invalid Extension.
    pub const INVALID_EXTENSION: u16 = ErrorCode::InvalidExtension.value();
    /// Invalid NHRP Resolution Reply Received.
    pub const INVALID_RESOLUTION_REPLY: u16 = ErrorCode::InvalidResolutionReply.value();
    /// Authentication Failure.
    pub const AUTHENTICATION_FAILURE: u16 = ErrorCode::AuthenticationFailure.value();
    /// Hop Count Exceeded.
    pub const HOP_COUNT_EXCEEDED: u16 = ErrorCode::HopCountExceeded.value();
}

/// A Client Information Entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cie {
    /// Code.
    pub code: u8,
    /// Prefix length (0xFF = unique host in Cisco/FRR requests).
    pub prefix_len: u8,
    /// MTU.
    pub mtu: u16,
    /// Holding time, seconds.
    pub holding_time: u16,
    /// Client NBMA address.
    pub client_nbma: Option<Ipv4Addr>,
    /// Client protocol address.
    pub client_proto: Option<Ipv4Addr>,
    /// Preference.
    pub preference: u8,
}

/// An extension the engine does not interpret, kept for copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawExtension {
    /// Type without the C bit.
    pub ext_type: u16,
    /// Compulsory bit.
    pub compulsory: bool,
    /// Payload.
    pub data: Vec<u8>,
}

/// The extensions the engine understands; `None` = absent, `Some(vec![])` = present, empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Responder Address (type 3).
    pub responder: Option<Vec<Cie>>,
    /// Forward Transit NHS Record (type 4).
    pub forward_transit: Option<Vec<Cie>>,
    /// Reverse Transit NHS Record (type 5).
    pub reverse_transit: Option<Vec<Cie>>,
    /// Authentication (type 7) payload, verbatim.
    pub auth: Option<Vec<u8>>,
    /// Cisco NAT Address (type 9).
    pub nat: Option<Vec<Cie>>,
    /// Anything else, in order.
    pub other: Vec<RawExtension>,
    /// Byte offset of the first compulsory extension of an unknown type (received packets).
    pub first_unknown_compulsory: Option<u16>,
}

/// A decoded NHRP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Packet type.
    pub ptype: PacketType,
    /// ar$hopcnt.
    pub hop_count: u8,
    /// Mandatory-part flags.
    pub flags: u16,
    /// Request ID (for Error Indication: code << 16 | offset; Traffic Indication: code << 16).
    pub request_id: u32,
    /// Source NBMA address.
    pub src_nbma: Option<Ipv4Addr>,
    /// Source protocol address.
    pub src_proto: Ipv4Addr,
    /// Destination protocol address.
    pub dst_proto: Ipv4Addr,
    /// CIEs (requests, replies, purges).
    pub cies: Vec<Cie>,
    /// Payload of Error and Traffic Indications.
    pub payload: Vec<u8>,
    /// Extensions.
    pub ext: Extensions,
}

impl Message {
    /// A message with no CIEs, payload or extensions.
    pub fn new(
        ptype: PacketType,
        hop_count: u8,
        src_nbma: Ipv4Addr,
        src_proto: Ipv4Addr,
        dst_proto: Ipv4Addr,
    ) -> Self {
        Message {
            ptype,
            hop_count,
            flags: 0,
            request_id: 0,
            src_nbma: Some(src_nbma),
            src_proto,
            dst_proto,
            cies: Vec::new(),
            payload: Vec::new(),
            ext: Extensions::default(),
        }
    }

    /// The Error Indication code (upper half of the request-id word).
    pub fn error_code(&self) -> u16 {
        (self.request_id >> 16) as u16
    }
}

//! NHRP value types: code enums, flags, addresses, CIEs, extensions and the packet [`Repr`].

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::ops::{BitAnd, BitOr, BitOrAssign};

use crate::gre::EtherType;
use crate::macros::enum_with_unknown;

enum_with_unknown! {
    /// NHRP packet type (`ar$op.type`), as received: unknown values are kept.
    pub enum PacketType(u8) /
    /// The eight NHRP packet types this implementation knows (RFC 2332 §5 and Cisco's Traffic
    /// Indication), closed so that a consumer matches every one. This list, with
    /// [`KnownPacketType::name`] and [`KnownPacketType::label`], is the workspace's one definition
    /// of the packet types: the engine, the counters, the show output, the metrics and the
    /// decoder all use it.
    pub enum KnownPacketType {
        /// 1
        ResolutionRequest = 1,
        /// 2
        ResolutionReply = 2,
        /// 3
        RegistrationRequest = 3,
        /// 4
        RegistrationReply = 4,
        /// 5
        PurgeRequest = 5,
        /// 6
        PurgeReply = 6,
        /// 7
        ErrorIndication = 7,
        /// 8 (Cisco "redirect", draft-detienne-dmvpn)
        TrafficIndication = 8,
    }
}

impl KnownPacketType {
    /// The name RFC 2332 gives the type, which is also what Cisco IOS prints in `show ip nhrp
    /// traffic` and `debug nhrp packet`, e.g. "Registration Request". Type 8 is Cisco's
    /// "Traffic Indication" (the draft's redirect).
    pub const fn name(self) -> &'static str {
        match self {
            KnownPacketType::ResolutionRequest => "Resolution Request",
            KnownPacketType::ResolutionReply => "Resolution Reply",
            KnownPacketType::RegistrationRequest => "Registration Request",
            KnownPacketType::RegistrationReply => "Registration Reply",
            KnownPacketType::PurgeRequest => "Purge Request",
            KnownPacketType::PurgeReply => "Purge Reply",
            KnownPacketType::ErrorIndication => "Error Indication",
            KnownPacketType::TrafficIndication => "Traffic Indication",
        }
    }

    /// The snake_case name used as a JSON field (`show ip nhrp traffic --json`), a metrics
    /// `type` label and the decoder's `type`, e.g. `registration_request`.
    pub const fn label(self) -> &'static str {
        match self {
            KnownPacketType::ResolutionRequest => "resolution_request",
            KnownPacketType::ResolutionReply => "resolution_reply",
            KnownPacketType::RegistrationRequest => "registration_request",
            KnownPacketType::RegistrationReply => "registration_reply",
            KnownPacketType::PurgeRequest => "purge_request",
            KnownPacketType::PurgeReply => "purge_reply",
            KnownPacketType::ErrorIndication => "error_indication",
            KnownPacketType::TrafficIndication => "traffic_indication",
        }
    }

    /// Position in [`KnownPacketType::ALL`] (code − 1), for per-type counter arrays.
    pub const fn index(self) -> usize {
        self.code().saturating_sub(1) as usize
    }

    /// True for the three requests that get a reply (resolution, registration, purge).
    pub const fn is_request(self) -> bool {
        matches!(
            self,
            KnownPacketType::ResolutionRequest
                | KnownPacketType::RegistrationRequest
                | KnownPacketType::PurgeRequest
        )
    }

    /// True for the six types whose mandatory part carries a request id and a CIE list.
    pub const fn has_cies(self) -> bool {
        !matches!(
            self,
            KnownPacketType::ErrorIndication | KnownPacketType::TrafficIndication
        )
    }
}

impl PacketType {
    /// Human name, e.g. "Registration Request" ([`KnownPacketType::name`]); "Unknown" for a
    /// type without a name.
    pub const fn name(self) -> &'static str {
        match self.known() {
            Some(k) => k.name(),
            None => "Unknown",
        }
    }

    /// snake_case name ([`KnownPacketType::label`]); `unknown` for a type without a name.
    pub const fn label(self) -> &'static str {
        match self.known() {
            Some(k) => k.label(),
            None => "unknown",
        }
    }

    /// True for the six types whose mandatory part carries a request id and a CIE list.
    pub const fn has_cies(self) -> bool {
        match self.known() {
            Some(k) => k.has_cies(),
            None => false,
        }
    }
}

enum_with_unknown! {
    /// `ar$afn`: address family of the NBMA addresses (IANA address family numbers).
    pub enum AddressFamily(u16) {
        /// 1
        Ipv4 = 1,
        /// 2
        Ipv6 = 2,
        /// 3
        Nsap = 3,
        /// 6 (IEEE 802 MAC)
        Ieee802 = 6,
        /// 8
        E164 = 8,
    }
}

enum_with_unknown! {
    /// Error Indication error code (RFC 2332 §5.2.7; 16/17 from RFC 2735).
    pub enum ErrorCode(u16) {
        /// 1
        UnrecognizedExtension = 1,
        /// 3 (FRR/OpenNHRP wrongly use 2)
        LoopDetected = 3,
        /// 6
        ProtocolAddressUnreachable = 6,
        /// 7
        ProtocolError = 7,
        /// 8
        SduSizeExceeded = 8,
        /// 9
        InvalidExtension = 9,
        /// 10
        InvalidResolutionReply = 10,
        /// 11
        AuthenticationFailure = 11,
        /// 15
        HopCountExceeded = 15,
        /// 16 (RFC 2735)
        VpnMismatch = 16,
        /// 17 (RFC 2735)
        VpnUnsupported = 17,
    }
}

impl ErrorCode {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::UnrecognizedExtension => "Unrecognized Extension",
            ErrorCode::LoopDetected => "Loop Detected",
            ErrorCode::ProtocolAddressUnreachable => "Protocol Address Unreachable",
            ErrorCode::ProtocolError => "Protocol Error",
            ErrorCode::SduSizeExceeded => "SDU Size Exceeded",
            ErrorCode::InvalidExtension => "Invalid Extension",
            ErrorCode::InvalidResolutionReply => "Invalid Resolution Reply",
            ErrorCode::AuthenticationFailure => "Authentication Failure",
            ErrorCode::HopCountExceeded => "Hop Count Exceeded",
            ErrorCode::VpnMismatch => "VPN Mismatch",
            ErrorCode::VpnUnsupported => "VPN Unsupported",
            ErrorCode::Unknown(_) => "Unknown",
        }
    }

    /// snake_case name, as a metrics `code` label (`loop_detected`); `unknown` for a code
    /// without a name.
    pub const fn label(self) -> &'static str {
        match self {
            ErrorCode::UnrecognizedExtension => "unrecognized_extension",
            ErrorCode::LoopDetected => "loop_detected",
            ErrorCode::ProtocolAddressUnreachable => "protocol_address_unreachable",
            ErrorCode::ProtocolError => "protocol_error",
            ErrorCode::SduSizeExceeded => "sdu_size_exceeded",
            ErrorCode::InvalidExtension => "invalid_extension",
            ErrorCode::InvalidResolutionReply => "invalid_resolution_reply",
            ErrorCode::AuthenticationFailure => "authentication_failure",
            ErrorCode::HopCountExceeded => "hop_count_exceeded",
            ErrorCode::VpnMismatch => "vpn_mismatch",
            ErrorCode::VpnUnsupported => "vpn_unsupported",
            ErrorCode::Unknown(_) => "unknown",
        }
    }
}

enum_with_unknown! {
    /// CIE code (RFC 2332 §5.2.2, §5.2.4, §5.2.6).
    pub enum CieCode(u8) {
        /// 0
        Success = 0,
        /// 4
        AdministrativelyProhibited = 4,
        /// 5
        InsufficientResources = 5,
        /// 12: no internetworking-layer-to-NBMA binding exists (FRR/OpenNHRP wrongly use 11)
        NoBinding = 12,
        /// 13: binding exists but is not unique
        NonUniqueBinding = 13,
        /// 14: unique internetworking layer address already registered
        UniqueAddressRegistered = 14,
    }
}

// The enum is generated by a macro, so `#[derive(Default)]` cannot mark the variant.
#[allow(clippy::derivable_impls)]
impl Default for CieCode {
    fn default() -> Self {
        CieCode::Success
    }
}

impl CieCode {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            CieCode::Success => "Success",
            CieCode::AdministrativelyProhibited => "Administratively Prohibited",
            CieCode::InsufficientResources => "Insufficient Resources",
            CieCode::NoBinding => "No Binding Exists",
            CieCode::NonUniqueBinding => "Binding Non-Unique",
            CieCode::UniqueAddressRegistered => "Unique Address Already Registered",
            CieCode::Unknown(_) => "Unknown",
        }
    }
}

enum_with_unknown! {
    /// Traffic Indication traffic code (Cisco).
    pub enum TrafficCode(u16) {
        /// 0: NHRP traffic redirect/indirection.
        Redirect = 0,
    }
}

enum_with_unknown! {
    /// Extension type (14 bits; the compulsory and unused bits live in [`Extension`]).
    pub enum ExtensionType(u16) {
        /// 0: End of Extensions.
        End = 0,
        /// 3: Responder Address.
        ResponderAddress = 3,
        /// 4: Forward Transit NHS Record.
        ForwardTransitNhs = 4,
        /// 5: Reverse Transit NHS Record.
        ReverseTransitNhs = 5,
        /// 7: Authentication.
        Authentication = 7,
        /// 8: Vendor-Private.
        VendorPrivate = 8,
        /// 9: Cisco NAT Address (non-compulsory); with length 8, RFC 2735 Device Capabilities.
        CiscoNat = 9,
    }
}

impl ExtensionType {
    /// Human name.
    pub fn name(self) -> &'static str {
        match self {
            ExtensionType::End => "End of Extensions",
            ExtensionType::ResponderAddress => "Responder Address",
            ExtensionType::ForwardTransitNhs => "Forward Transit NHS Record",
            ExtensionType::ReverseTransitNhs => "Reverse Transit NHS Record",
            ExtensionType::Authentication => "Authentication",
            ExtensionType::VendorPrivate => "Vendor-Private",
            ExtensionType::CiscoNat => "Cisco NAT Address",
            ExtensionType::Unknown(_) => "Unknown",
        }
    }

    /// True for the types this crate interprets (anything else is "unrecognized" in the sense
    /// of RFC 2332 error code 1).
    pub fn is_known(self) -> bool {
        !matches!(self, ExtensionType::Unknown(_))
    }
}

/// The 16-bit `Flags` field of the common mandatory header. Which bits have names depends on
/// the packet type; see [`Flags::names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// Resolution: Q, the requester is a router.
    pub const Q: Flags = Flags(0x8000);
    /// Resolution: A, authoritative.
    pub const A: Flags = Flags(0x4000);
    /// Resolution: D, destination is stable.
    pub const D: Flags = Flags(0x2000);
    /// Resolution: U, unique.
    pub const RESOLUTION_U: Flags = Flags(0x1000);
    /// Resolution: S, source is stable.
    pub const S: Flags = Flags(0x0800);
    /// Registration: U, unique.
    pub const REGISTRATION_U: Flags = Flags(0x8000);
    /// Purge: N, no reply expected.
    pub const N: Flags = Flags(0x8000);
    /// Cisco: NAT supported (resolution, registration, purge).
    pub const CISCO_NAT: Flags = Flags(0x0002);

    /// True when every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: Flags, on: bool) {
        if on {
            self.0 |= other.0;
        } else {
            self.0 &= !other.0;
        }
    }

    fn table(ty: PacketType) -> &'static [(u16, &'static str)] {
        match ty {
            PacketType::ResolutionRequest | PacketType::ResolutionReply => &[
                (Flags::Q.0, "Q"),
                (Flags::A.0, "A"),
                (Flags::D.0, "D"),
                (Flags::RESOLUTION_U.0, "U"),
                (Flags::S.0, "S"),
                (Flags::CISCO_NAT.0, "NAT"),
            ],
            PacketType::RegistrationRequest | PacketType::RegistrationReply => {
                &[(Flags::REGISTRATION_U.0, "U"), (Flags::CISCO_NAT.0, "NAT")]
            }
            PacketType::PurgeRequest | PacketType::PurgeReply => {
                &[(Flags::N.0, "N"), (Flags::CISCO_NAT.0, "NAT")]
            }
            _ => &[],
        }
    }

    /// Names of the set bits that `ty` defines, most significant first.
    pub fn names(self, ty: PacketType) -> Vec<&'static str> {
        Flags::table(ty)
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// Set bits that `ty` gives no name.
    pub fn unknown_bits(self, ty: PacketType) -> u16 {
        let known = Flags::table(ty).iter().fold(0, |acc, (bit, _)| acc | bit);
        self.0 & !known
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

fn ip_to_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// An NBMA address or subaddress, whose type-length octet carries a type bit (0x40:
/// 0 = NSAP format, 1 = E.164) and a 6-bit length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NbmaAddress {
    /// The type bit (0x40) of the type-length octet: true = E.164 format.
    pub e164: bool,
    /// The address bytes (at most 63).
    pub bytes: Vec<u8>,
}

impl NbmaAddress {
    /// An absent address (length 0).
    pub const fn empty() -> NbmaAddress {
        NbmaAddress {
            e164: false,
            bytes: Vec::new(),
        }
    }
    /// An IPv4 or IPv6 address.
    pub fn from_ip(ip: IpAddr) -> NbmaAddress {
        NbmaAddress {
            e164: false,
            bytes: ip_to_bytes(ip),
        }
    }
    /// The address as an IP address when it is 4 or 16 bytes long.
    pub fn ip(&self) -> Option<IpAddr> {
        ip_from_bytes(&self.bytes)
    }
    /// True when the length is 0.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The type-length octet this address emits (length masked to 6 bits; emit checks it).
    pub fn type_length(&self) -> u8 {
        (if self.e164 { 0x40 } else { 0 }) | (self.bytes.len() as u8 & 0x3f)
    }
}

impl From<IpAddr> for NbmaAddress {
    fn from(ip: IpAddr) -> Self {
        NbmaAddress::from_ip(ip)
    }
}

/// A protocol (internetworking layer) address; its length octet is a plain length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ProtocolAddress(pub Vec<u8>);

impl ProtocolAddress {
    /// An absent address (length 0).
    pub const fn empty() -> ProtocolAddress {
        ProtocolAddress(Vec::new())
    }
    /// An IPv4 or IPv6 address.
    pub fn from_ip(ip: IpAddr) -> ProtocolAddress {
        ProtocolAddress(ip_to_bytes(ip))
    }
    /// The address as an IP address when it is 4 or 16 bytes long.
    pub fn ip(&self) -> Option<IpAddr> {
        ip_from_bytes(&self.0)
    }
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// True when the length is 0.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<IpAddr> for ProtocolAddress {
    fn from(ip: IpAddr) -> Self {
        ProtocolAddress::from_ip(ip)
    }
}

/// A Client Information Entry (RFC 2332 §5.2.0.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Cie {
    /// Code.
    pub code: CieCode,
    /// Prefix length (0xFF = unique in requests).
    pub prefix_len: u8,
    /// The two unused bytes, kept for round trips (send 0).
    pub unused: u16,
    /// Maximum transmission unit (0 = default).
    pub mtu: u16,
    /// Holding time in seconds.
    pub holding_time: u16,
    /// Client NBMA address.
    pub client_nbma: NbmaAddress,
    /// Client NBMA subaddress.
    pub client_nbma_subaddr: NbmaAddress,
    /// Client protocol address.
    pub client_proto: ProtocolAddress,
    /// Preference.
    pub preference: u8,
}

impl Cie {
    /// A CIE with the given code and everything else zero/empty (the "empty CIE" of requests).
    pub fn new(code: CieCode) -> Cie {
        Cie {
            code,
            ..Cie::default()
        }
    }

    /// A CIE naming a client by NBMA and protocol address.
    pub fn client(nbma: IpAddr, proto: IpAddr) -> Cie {
        Cie {
            client_nbma: NbmaAddress::from_ip(nbma),
            client_proto: ProtocolAddress::from_ip(proto),
            ..Cie::default()
        }
    }

    /// Sets prefix length, MTU and holding time (builder style).
    pub fn with_binding(mut self, prefix_len: u8, mtu: u16, holding_time: u16) -> Cie {
        self.prefix_len = prefix_len;
        self.mtu = mtu;
        self.holding_time = holding_time;
        self
    }

    /// Sets the code (builder style).
    pub fn with_code(mut self, code: CieCode) -> Cie {
        self.code = code;
        self
    }

    /// Bytes this CIE occupies on the wire.
    pub fn wire_len(&self) -> usize {
        crate::nhrp::CIE_HEADER_LEN
            + self.client_nbma.bytes.len()
            + self.client_nbma_subaddr.bytes.len()
            + self.client_proto.0.len()
    }
}

/// The Authentication extension payload, in either of the two formats seen in the wild.
///
/// Parsing picks [`Authentication::CiscoCleartext`] when the payload is `00 00 00 01` followed
/// by at most 8 bytes (what Cisco IOS, FRR and OpenNHRP send), and the RFC 2332 §5.3.4 form
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Authentication {
    /// Cisco/FRR: u32 type 1 (cleartext) + password (at most 8 bytes).
    CiscoCleartext {
        /// The password bytes.
        password: Vec<u8>,
    },
    /// RFC 2332: reserved(2), SPI(2), source address (`src proto len` bytes), data.
    Rfc2332 {
        /// Reserved (send 0).
        reserved: u16,
        /// Security Parameter Index.
        spi: u16,
        /// Protocol address of the station that added the extension.
        src_addr: Vec<u8>,
        /// Authentication data (e.g. a keyed hash).
        data: Vec<u8>,
    },
}

impl Authentication {
    /// Bytes of the payload.
    pub fn wire_len(&self) -> usize {
        match self {
            Authentication::CiscoCleartext { password } => 4 + password.len(),
            Authentication::Rfc2332 { src_addr, data, .. } => 4 + src_addr.len() + data.len(),
        }
    }
}

/// The payload of an extension, decoded according to its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExtensionBody {
    /// Uninterpreted bytes: End (normally empty) and unknown types.
    Raw(Vec<u8>),
    /// A CIE list: Responder Address, Forward/Reverse Transit NHS Record, Cisco NAT Address.
    Cies(Vec<Cie>),
    /// Authentication.
    Authentication(Authentication),
    /// Vendor-Private: 3-byte IEEE OUI, then opaque data.
    VendorPrivate {
        /// Vendor OUI.
        oui: [u8; 3],
        /// Opaque data.
        data: Vec<u8>,
    },
    /// Type 9 with length 8: RFC 2735 NHRP Device Capabilities.
    DeviceCapabilities {
        /// Source capabilities word.
        source: u32,
        /// Destination capabilities word.
        destination: u32,
    },
}

impl ExtensionBody {
    /// Bytes of the payload.
    pub fn wire_len(&self) -> usize {
        match self {
            ExtensionBody::Raw(b) => b.len(),
            ExtensionBody::Cies(c) => c.iter().map(Cie::wire_len).sum(),
            ExtensionBody::Authentication(a) => a.wire_len(),
            ExtensionBody::VendorPrivate { data, .. } => 3 + data.len(),
            ExtensionBody::DeviceCapabilities { .. } => 8,
        }
    }
}

/// One extension: `C | u | type(14) | length(16) | value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extension {
    /// The compulsory bit (0x8000). A receiver that does not know a compulsory extension must
    /// answer with Error Indication code 1 (Unrecognized Extension).
    pub compulsory: bool,
    /// The unused bit (0x4000), kept for round trips (send 0).
    pub unused_bit: bool,
    /// The 14-bit type.
    pub ty: ExtensionType,
    /// The payload.
    pub body: ExtensionBody,
}

impl Extension {
    /// True when the compulsory bit is set.
    pub fn is_compulsory(&self) -> bool {
        self.compulsory
    }
    /// The 16-bit type field as emitted (type | C | u).
    pub fn type_field(&self) -> u16 {
        (self.ty.value() & 0x3fff)
            | if self.compulsory { 0x8000 } else { 0 }
            | if self.unused_bit { 0x4000 } else { 0 }
    }
    /// Bytes on the wire, header included.
    pub fn wire_len(&self) -> usize {
        crate::nhrp::EXTENSION_HEADER_LEN + self.body.wire_len()
    }
    /// The CIEs of a CIE-list extension (empty slice for other bodies).
    pub fn cies(&self) -> &[Cie] {
        match &self.body {
            ExtensionBody::Cies(c) => c,
            _ => &[],
        }
    }

    fn cie_list(ty: ExtensionType, compulsory: bool, cies: Vec<Cie>) -> Extension {
        Extension {
            compulsory,
            unused_bit: false,
            ty,
            body: ExtensionBody::Cies(cies),
        }
    }

    /// End of Extensions (compulsory, empty).
    pub fn end() -> Extension {
        Extension {
            compulsory: true,
            unused_bit: false,
            ty: ExtensionType::End,
            body: ExtensionBody::Raw(Vec::new()),
        }
    }
    /// Responder Address (compulsory); empty in requests, one CIE in replies.
    pub fn responder_address(cies: Vec<Cie>) -> Extension {
        Extension::cie_list(ExtensionType::ResponderAddress, true, cies)
    }
    /// Forward Transit NHS Record (compulsory).
    pub fn forward_transit(cies: Vec<Cie>) -> Extension {
        Extension::cie_list(ExtensionType::ForwardTransitNhs, true, cies)
    }
    /// Reverse Transit NHS Record (compulsory).
    pub fn reverse_transit(cies: Vec<Cie>) -> Extension {
        Extension::cie_list(ExtensionType::ReverseTransitNhs, true, cies)
    }
    /// Cisco NAT Address, type 9, non-compulsory.
    pub fn cisco_nat(cies: Vec<Cie>) -> Extension {
        Extension::cie_list(ExtensionType::CiscoNat, false, cies)
    }
    /// Cisco cleartext authentication (compulsory). Passwords longer than 8 bytes are cut to
    /// 8, as Cisco IOS does.
    pub fn cisco_auth(password: &[u8]) -> Extension {
        let password = password
            .get(..crate::nhrp::CISCO_PASSWORD_MAX)
            .unwrap_or(password)
            .to_vec();
        Extension::authentication(Authentication::CiscoCleartext { password })
    }
    /// Authentication extension (compulsory) with any payload format.
    pub fn authentication(auth: Authentication) -> Extension {
        Extension {
            compulsory: true,
            unused_bit: false,
            ty: ExtensionType::Authentication,
            body: ExtensionBody::Authentication(auth),
        }
    }
    /// Vendor-Private (non-compulsory).
    pub fn vendor_private(oui: [u8; 3], data: Vec<u8>) -> Extension {
        Extension {
            compulsory: false,
            unused_bit: false,
            ty: ExtensionType::VendorPrivate,
            body: ExtensionBody::VendorPrivate { oui, data },
        }
    }
}

/// The part of the packet after the addresses and before the extensions, by packet type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Body {
    /// Types 1-6: request id (mandatory bytes 4-7) and the CIE list.
    Cies {
        /// Request ID.
        request_id: u32,
        /// Client Information Entries.
        cies: Vec<Cie>,
    },
    /// Type 7: error code and offset, and the packet in error (opaque bytes).
    ErrorIndication {
        /// Error code.
        code: ErrorCode,
        /// Offset of the error in the offending packet, from its fixed header.
        offset: u16,
        /// The offending packet, or as much of it as was included.
        packet: Vec<u8>,
    },
    /// Type 8 (Cisco): traffic code and the data packet that triggered the indication.
    TrafficIndication {
        /// Traffic code.
        code: TrafficCode,
        /// The unused mandatory bytes 6-7 (send 0).
        unused: u16,
        /// The data packet (IP header and what follows), opaque.
        packet: Vec<u8>,
    },
    /// Any other packet type: mandatory bytes 4-7 and the payload, uninterpreted.
    Unknown {
        /// Mandatory bytes 4-7.
        word: u32,
        /// Payload up to the extensions.
        payload: Vec<u8>,
    },
}

impl Body {
    /// The empty body a packet of type `ty` starts with.
    pub fn empty_for(ty: PacketType) -> Body {
        match ty {
            PacketType::ErrorIndication => Body::ErrorIndication {
                code: ErrorCode::ProtocolError,
                offset: 0,
                packet: Vec::new(),
            },
            PacketType::TrafficIndication => Body::TrafficIndication {
                code: TrafficCode::Redirect,
                unused: 0,
                packet: Vec::new(),
            },
            t if t.has_cies() => Body::Cies {
                request_id: 0,
                cies: Vec::new(),
            },
            _ => Body::Unknown {
                word: 0,
                payload: Vec::new(),
            },
        }
    }

    /// Mandatory bytes 4-7 as emitted.
    pub fn mandatory_word(&self) -> u32 {
        match self {
            Body::Cies { request_id, .. } => *request_id,
            Body::ErrorIndication { code, offset, .. } => {
                (u32::from(code.value()) << 16) | u32::from(*offset)
            }
            Body::TrafficIndication { code, unused, .. } => {
                (u32::from(code.value()) << 16) | u32::from(*unused)
            }
            Body::Unknown { word, .. } => *word,
        }
    }

    /// Bytes after the addresses (CIEs or embedded packet).
    pub fn wire_len(&self) -> usize {
        match self {
            Body::Cies { cies, .. } => cies.iter().map(Cie::wire_len).sum(),
            Body::ErrorIndication { packet, .. } | Body::TrafficIndication { packet, .. } => {
                packet.len()
            }
            Body::Unknown { payload, .. } => payload.len(),
        }
    }
}

/// An owned NHRP packet. See the module documentation for the losslessness contract.
///
/// `ar$pktsz`, `ar$chksum` and `ar$extoff` are not stored: [`Repr::emit`] computes them.
/// [`Repr::decode`] reports the received values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repr {
    /// `ar$afn`.
    pub afn: AddressFamily,
    /// `ar$pro.type` (short form: an Ethernet type).
    pub protocol_type: EtherType,
    /// `ar$pro.snap` (zero unless `ar$pro.type` is 0x0080).
    pub protocol_snap: [u8; 5],
    /// `ar$hopcnt`.
    pub hop_count: u8,
    /// `ar$op.version` (always [`crate::nhrp::VERSION`] after a successful parse).
    pub version: u8,
    /// `ar$op.type`.
    pub packet_type: PacketType,
    /// Source NBMA address (`ar$shtl`).
    pub src_nbma: NbmaAddress,
    /// Source NBMA subaddress (`ar$sstl`).
    pub src_nbma_subaddr: NbmaAddress,
    /// Source protocol address.
    pub src_proto: ProtocolAddress,
    /// Destination protocol address.
    pub dst_proto: ProtocolAddress,
    /// Mandatory bytes 2-3: flags (unused in Error and Traffic Indication).
    pub flags: Flags,
    /// Request id / error / traffic fields and the payload.
    pub body: Body,
    /// Bytes after the last CIE and before the extensions (fewer than 12; normally empty).
    pub padding: Vec<u8>,
    /// Extensions in wire order, End included when present.
    pub extensions: Vec<Extension>,
    /// Bytes after the End extension up to `ar$pktsz` (normally empty).
    pub trailing: Vec<u8>,
    /// When there are no extensions, emit `ar$extoff = ar$pktsz` instead of 0 (seen only in
    /// odd packets; kept for round trips).
    pub empty_extension_area: bool,
}

impl Repr {
    /// Request ID for types 1-6.
    pub fn request_id(&self) -> Option<u32> {
        match &self.body {
            Body::Cies { request_id, .. } => Some(*request_id),
            _ => None,
        }
    }

    /// The CIE list (empty for Error/Traffic Indication).
    pub fn cies(&self) -> &[Cie] {
        match &self.body {
            Body::Cies { cies, .. } => cies,
            _ => &[],
        }
    }

    /// Mutable CIE list (None for Error/Traffic Indication).
    pub fn cies_mut(&mut self) -> Option<&mut Vec<Cie>> {
        match &mut self.body {
            Body::Cies { cies, .. } => Some(cies),
            _ => None,
        }
    }

    /// The first extension of type `ty`.
    pub fn extension(&self, ty: ExtensionType) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.ty == ty)
    }

    /// The first extension of type `ty`, mutable.
    pub fn extension_mut(&mut self, ty: ExtensionType) -> Option<&mut Extension> {
        self.extensions.iter_mut().find(|e| e.ty == ty)
    }

    /// The authentication payload, if any.
    pub fn authentication(&self) -> Option<&Authentication> {
        self.extensions.iter().find_map(|e| match &e.body {
            ExtensionBody::Authentication(a) => Some(a),
            _ => None,
        })
    }

    /// Offset of the first extension in the emitted packet, or `None` when `ar$extoff` is 0.
    pub fn extension_offset(&self) -> Option<usize> {
        if self.extensions.is_empty() && self.trailing.is_empty() && !self.empty_extension_area {
            None
        } else {
            Some(self.body_end())
        }
    }

    /// Offset just after the addresses.
    pub fn addresses_end(&self) -> usize {
        crate::nhrp::ADDRESSES_OFFSET
            + self.src_nbma.bytes.len()
            + self.src_nbma_subaddr.bytes.len()
            + self.src_proto.0.len()
            + self.dst_proto.0.len()
    }

    fn body_end(&self) -> usize {
        self.addresses_end() + self.body.wire_len() + self.padding.len()
    }

    /// Each extension with its byte offset in the emitted packet.
    pub fn extensions_with_offsets(&self) -> Vec<(usize, &Extension)> {
        let mut at = self.body_end();
        self.extensions
            .iter()
            .map(|e| {
                let here = at;
                at += e.wire_len();
                (here, e)
            })
            .collect()
    }

    /// The first extension that is compulsory but of a type this crate does not know, with its
    /// offset: the engine answers such a packet with Error Indication code 1
    /// ([`ErrorCode::UnrecognizedExtension`]) and that offset.
    pub fn first_unknown_compulsory(&self) -> Option<(usize, &Extension)> {
        self.extensions_with_offsets()
            .into_iter()
            .find(|(_, e)| e.compulsory && !e.ty.is_known())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_packet_types_are_the_named_open_ones() {
        let open: Vec<PacketType> = KnownPacketType::ALL.iter().map(|&k| k.into()).collect();
        assert_eq!(open, PacketType::KNOWN);
        for (i, k) in KnownPacketType::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(usize::from(k.code()), i + 1);
            assert_eq!(KnownPacketType::from_code(k.code()), Some(k));
            assert_eq!(PacketType::from(k).name(), k.name());
            assert_eq!(PacketType::from(k).label(), k.label());
            assert_eq!(k.name().to_lowercase().replace(' ', "_"), k.label());
        }
        assert_eq!(KnownPacketType::from_code(9), None);
        assert_eq!(PacketType::Unknown(9).label(), "unknown");
        assert_eq!(KnownPacketType::try_from(PacketType::Unknown(0)), Err(0));
    }
}

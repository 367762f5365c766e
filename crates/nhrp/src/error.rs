//! Why received packets are dropped ([`DropReason`], counted per interface), the engine's API
//! errors ([`EngineError`]), and the Error Indication rules of RFC 2332 §5.2.7.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why the engine dropped a received packet. Every drop is counted per interface
/// ([`crate::TrafficStats::drops`]) and reported as [`crate::Event::Dropped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DropReason {
    /// The bytes did not parse (length, checksum, version).
    Malformed,
    /// Parsed, but uses something the engine does not support (non-IPv4 addresses, unknown type).
    Unsupported,
    /// The interface index is not configured.
    UnknownInterface,
    /// The authentication extension is missing or wrong (RFC 2332 §5.3.4).
    AuthenticationFailure,
    /// The packet would have to be forwarded with hop count 0.
    HopCountExceeded,
    /// Our own address is already in the Forward Transit NHS Record.
    LoopDetected,
    /// A reply whose Request ID matches nothing we sent.
    UnexpectedReply,
    /// A compulsory extension we do not understand (RFC 2332 §5.3).
    UnrecognizedCompulsoryExtension,
    /// The feature the packet asks for is not enabled (e.g. a Traffic Indication without
    /// `ip nhrp shortcut`).
    NotEnabled,
    /// A packet semantically invalid for its type (e.g. a registration with no source NBMA).
    ProtocolError,
    /// An unsolicited Resolution Request or Traffic Indication beyond its rate limit
    /// ([`crate::UNKNOWN_SOURCE_RATE`], [`crate::TRAFFIC_INDICATION_RATE`]).
    RateLimited,
    /// Identity-bound NHRP: a Resolution Reply answering for an address its sender's IKE
    /// identity may not claim.
    IdentityRefused,
}

/// Errors returned by the engine's API (never caused by untrusted packet bytes).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The interface index is not configured.
    #[error("interface {0} is not an NHRP interface")]
    UnknownInterface(u32),
    /// Two interfaces share an index.
    #[error("interface index {0} is configured twice")]
    DuplicateInterface(u32),
    /// The authentication string is longer than Cisco's 8 bytes.
    #[error("interface {0}: NHRP authentication string longer than 8 bytes")]
    AuthTooLong(u32),
}

/// RFC 2332 §5.2.7: "An Error Indication packet is never sent in response to an Error
/// Indication packet" — and (Cisco/FRR) not to a Traffic Indication's sender either, since
/// nothing there waits for it.
pub(crate) fn may_send_error_for(ptype: crate::packet::PacketType) -> bool {
    !matches!(ptype, crate::packet::PacketType::ErrorIndication)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketType;

    /// RFC 2332 §5.2.7: never answer an Error Indication with an Error Indication.
    #[test]
    fn rfc2332_5_2_7_no_error_for_error() {
        assert!(!may_send_error_for(PacketType::ErrorIndication));
        assert!(may_send_error_for(PacketType::ResolutionRequest));
        assert!(may_send_error_for(PacketType::RegistrationRequest));
    }
}

//! The engine's outputs: [`Action`]s drained with [`crate::Engine::poll_action`], the
//! [`Event`]s inside them, the data-plane [`Lookup`] answer and the [`ClearRequest`] input.

use crate::config::{IfIndex, Prefix};
use crate::packet::PacketType;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Something the caller must do. Drain with [`crate::Engine::poll_action`] after every input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Send an NHRP packet (GRE protocol 0x2001) to an NBMA address out of `iface`.
    Send {
        /// Tunnel interface.
        iface: IfIndex,
        /// Outer destination.
        to_nbma: Ipv4Addr,
        /// The NHRP packet.
        bytes: Vec<u8>,
    },
    /// Install (or replace) the neighbour mapping protocol → NBMA on `iface`.
    MappingAdd {
        /// Tunnel interface.
        iface: IfIndex,
        /// Tunnel (protocol) address.
        proto: Ipv4Addr,
        /// NBMA address.
        nbma: Ipv4Addr,
    },
    /// Remove the neighbour mapping for `proto` on `iface`.
    MappingRemove {
        /// Tunnel interface.
        iface: IfIndex,
        /// Tunnel (protocol) address.
        proto: Ipv4Addr,
        /// The NBMA address it pointed to.
        nbma: Ipv4Addr,
    },
    /// Install a shortcut route `prefix` via tunnel next hop `next_hop`, overriding the hub path.
    ShortcutAdd {
        /// Tunnel interface.
        iface: IfIndex,
        /// Destination prefix.
        prefix: Prefix,
        /// Tunnel next hop (mapped by a preceding [`Action::MappingAdd`]).
        next_hop: Ipv4Addr,
    },
    /// Remove a shortcut route.
    ShortcutRemove {
        /// Tunnel interface.
        iface: IfIndex,
        /// Destination prefix.
        prefix: Prefix,
        /// The next hop it had.
        next_hop: Ipv4Addr,
    },
    /// Traffic to this NBMA peer needs protection (bring up IPsec), then call
    /// [`crate::Engine::handle_protection`]. Only on interfaces with `protection_required`.
    ProtectionNeeded {
        /// Tunnel interface.
        iface: IfIndex,
        /// Peer NBMA address.
        nbma: Ipv4Addr,
    },
    /// No cache entry references this peer any more: its protection may be torn down.
    ProtectionNotNeeded {
        /// Tunnel interface.
        iface: IfIndex,
        /// Peer NBMA address.
        nbma: Ipv4Addr,
    },
    /// Add an NBMA address to the interface's multicast replication list.
    MulticastAdd {
        /// Tunnel interface.
        iface: IfIndex,
        /// NBMA address.
        nbma: Ipv4Addr,
    },
    /// Remove an NBMA address from the multicast replication list.
    MulticastRemove {
        /// Tunnel interface.
        iface: IfIndex,
        /// NBMA address.
        nbma: Ipv4Addr,
    },
    /// Something worth logging.
    Event(Event),
}

/// Why a registration, resolution or purge failed or was refused: the raw value of a
/// `dmvpn_wire::nhrp::CieCode` (as received, so unknown codes survive).
pub type CieCode = u8;

/// A notable occurrence, for logs (`%DMVPN-5-NHRP_NHS: Tunnel0 10.0.0.1 is UP`) and tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// An NHS answered a registration after being DOWN or never answered.
    NhsUp {
        /// Interface.
        iface: IfIndex,
        /// NHS tunnel address.
        nhs: Ipv4Addr,
    },
    /// An NHS left three registration requests unanswered.
    NhsDown {
        /// Interface.
        iface: IfIndex,
        /// NHS tunnel address.
        nhs: Ipv4Addr,
    },
    /// A Registration Reply with code 0 was received.
    RegistrationAccepted {
        /// Interface.
        iface: IfIndex,
        /// NHS tunnel address.
        nhs: Ipv4Addr,
    },
    /// A Registration Reply refused the registration.
    RegistrationRefused {
        /// Interface.
        iface: IfIndex,
        /// NHS tunnel address.
        nhs: Ipv4Addr,
        /// CIE code (14: unique address already registered).
        code: CieCode,
    },
    /// This NHS accepted a client's registration.
    ClientRegistered {
        /// Interface.
        iface: IfIndex,
        /// Client tunnel address.
        proto: Ipv4Addr,
        /// Client NBMA (post-NAT) address.
        nbma: Ipv4Addr,
        /// The client is behind NAT (claimed NBMA ≠ outer source).
        nat: bool,
    },
    /// This NHS refused a client's registration.
    ClientRefused {
        /// Interface.
        iface: IfIndex,
        /// Client tunnel address.
        proto: Ipv4Addr,
        /// Client NBMA address.
        nbma: Ipv4Addr,
        /// CIE code sent.
        code: CieCode,
    },
    /// Identity-bound NHRP refused a claim: a registration (answered administratively
    /// prohibited) or a Resolution Reply (dropped) for `proto` from NBMA peer `nbma`, whose
    /// IKE identity may not claim it.
    IdentityRefused {
        /// Interface.
        iface: IfIndex,
        /// The tunnel address claimed.
        proto: Ipv4Addr,
        /// The peer's NBMA address.
        nbma: Ipv4Addr,
        /// Whether it was a registration (else a Resolution Reply).
        registration: bool,
    },
    /// A cache entry was created.
    CacheAdded {
        /// Interface.
        iface: IfIndex,
        /// Protocol prefix.
        prefix: Prefix,
        /// NBMA address (none for negative entries).
        nbma: Option<Ipv4Addr>,
    },
    /// A cache entry expired or was removed.
    CacheRemoved {
        /// Interface.
        iface: IfIndex,
        /// Protocol prefix.
        prefix: Prefix,
        /// Why.
        reason: RemoveReason,
    },
    /// A Traffic Indication (redirect) was sent.
    RedirectSent {
        /// Interface.
        iface: IfIndex,
        /// Source of the hairpinned packet (the redirected spoke's side).
        src: Ipv4Addr,
        /// Destination of the hairpinned packet.
        dst: Ipv4Addr,
    },
    /// A Traffic Indication was received.
    RedirectReceived {
        /// Interface.
        iface: IfIndex,
        /// Destination to resolve.
        dst: Ipv4Addr,
    },
    /// A resolution completed.
    ResolutionDone {
        /// Interface.
        iface: IfIndex,
        /// Resolved destination.
        dst: Ipv4Addr,
        /// Resolved prefix.
        prefix: Prefix,
        /// NBMA address.
        nbma: Ipv4Addr,
    },
    /// A resolution failed (negative reply, error, or retries exhausted).
    ResolutionFailed {
        /// Interface.
        iface: IfIndex,
        /// Destination.
        dst: Ipv4Addr,
        /// CIE or error code, if any was received.
        code: Option<u8>,
    },
    /// A Purge Request was received and applied.
    PurgeReceived {
        /// Interface.
        iface: IfIndex,
        /// Sender's NBMA.
        from: Ipv4Addr,
        /// Entries removed.
        removed: usize,
    },
    /// An Error Indication was received.
    ErrorReceived {
        /// Interface.
        iface: IfIndex,
        /// Sender's NBMA.
        from: Ipv4Addr,
        /// Error code (RFC 2332 §5.2.7).
        code: u16,
    },
    /// An Error Indication was sent.
    ErrorSent {
        /// Interface.
        iface: IfIndex,
        /// Destination NBMA.
        to: Ipv4Addr,
        /// Error code.
        code: u16,
    },
    /// A received packet was dropped.
    Dropped {
        /// Interface.
        iface: IfIndex,
        /// Outer source.
        from: Ipv4Addr,
        /// Why.
        reason: crate::error::DropReason,
    },
    /// A packet could not be sent because the max-send quota is used up.
    MaxSendExceeded {
        /// Interface.
        iface: IfIndex,
        /// The packet type held back.
        packet: PacketType,
    },
}

/// Why a cache entry went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemoveReason {
    /// Its holding time ran out.
    Expired,
    /// A Purge Request removed it.
    Purged,
    /// `clear ip nhrp`.
    Cleared,
    /// Replaced by a newer binding or configuration.
    Replaced,
}

/// The data-plane next-hop answer for a tunnel destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lookup {
    /// Send directly to this NBMA address.
    Direct(Ipv4Addr),
    /// No direct binding (yet): send via the NHS at this NBMA address; nothing is dropped.
    ViaNhs(Ipv4Addr),
    /// A resolution is pending and no NHS is usable.
    Pending,
    /// No binding and no NHS.
    Unreachable,
}

/// `clear ip nhrp ...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClearRequest {
    /// Dynamic (and incomplete/negative) entries only, on one interface or all.
    Dynamic {
        /// Interface, or all.
        iface: Option<IfIndex>,
    },
    /// Everything; static entries are re-installed from the configuration.
    All {
        /// Interface, or all.
        iface: Option<IfIndex>,
    },
    /// One entry (any kind but static) for a protocol address.
    Entry {
        /// Interface.
        iface: IfIndex,
        /// Protocol address inside the entry's prefix.
        proto: Ipv4Addr,
    },
}

/// What a [`ClearRequest`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearReport {
    /// Entries removed.
    pub removed: usize,
}

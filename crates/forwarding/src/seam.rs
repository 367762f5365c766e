//! The data-plane seam: everything a node core asks of one tunnel's data plane.
//!
//! The node core (crates/daemon) talks to a tunnel only through [`DataPlane`]. Two
//! implementations are planned:
//! - the userspace data plane (crates/dataplane): a TUN device, the NBMA transport
//!   (raw GRE today, ESP and UDP 500/4500 next) and the pure forwarding of this crate;
//! - the Linux kernel data plane (a later issue): an `ip_gre` device, neighbour entries for
//!   mappings, kernel routes for shortcuts, XFRM for IPsec.
//!
//! A backend reports what it sees as [`Event`]s, delivered in order on a channel that the
//! backend hands out when the tunnel starts; the daemon's shell feeds each one to the node
//! core. Starting and stopping a tunnel is the backend's own (possibly async) business and is
//! not part of the trait: the core only ever sees started tunnels.
//!
//! Every method takes `&self`: backends keep their state behind interior mutability, so a
//! handle can be shared with the packet tasks. None of them blocks on the network.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::counters::{DropCounters, TrafficCounters};
use crate::tables::{Ipv4Prefix, MirroredRoute, MulticastPolicy};

/// What a data plane reports to the node core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An NHRP packet (GRE protocol 0x2001) arrived from NBMA address `source`.
    Nhrp {
        /// The sender's NBMA address.
        source: Ipv4Addr,
        /// The NHRP packet, starting at the NHRP fixed header.
        packet: Vec<u8>,
    },
    /// Traffic needs the NBMA address of `next_hop`; meanwhile it goes via the NHS (or is
    /// dropped when no NHS is known). Repeated at most once per `event_interval`.
    ResolutionNeeded {
        /// The overlay next hop without a mapping.
        next_hop: Ipv4Addr,
        /// The destination of the packet that triggered it.
        destination: Ipv4Addr,
        /// The source of the packet that triggered it.
        source: Ipv4Addr,
    },
    /// A packet received from the tunnel was routed back into it (the hub relays spoke to
    /// spoke): the engine may send a redirect (Traffic Indication).
    Hairpin {
        /// Inner source address.
        source: Ipv4Addr,
        /// Inner destination address.
        destination: Ipv4Addr,
        /// NBMA address the packet came from.
        ingress_nbma: Ipv4Addr,
        /// The start of the packet (IP header and up to 64 bytes of payload), as quoted in a
        /// Traffic Indication.
        packet: Vec<u8>,
    },
    /// The tunnel source address changed (the node should re-register).
    SourceAddressChanged {
        /// The previous address.
        old: Option<Ipv4Addr>,
        /// The new address.
        new: Option<Ipv4Addr>,
    },
    /// An IKE message arrived on UDP 500, or on UDP 4500 after the non-ESP marker (which is
    /// removed): for the IKE engine.
    Ike {
        /// The local address and port it arrived on.
        local: SocketAddrV4,
        /// The peer's address and port (after any NAT).
        remote: SocketAddrV4,
        /// The IKE message, IKE header first.
        message: Vec<u8>,
    },
    /// A data-plane task stopped with an error; the tunnel is degraded.
    TaskFailed {
        /// Which task.
        task: &'static str,
        /// The error.
        error: String,
    },
}

/// A snapshot of a tunnel's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Whole-tunnel traffic.
    pub tunnel: TrafficCounters,
    /// Per peer (NBMA address) traffic.
    pub peers: Vec<(Ipv4Addr, TrafficCounters)>,
    /// Drops and special cases.
    pub drops: DropCounters,
}

impl CounterSnapshot {
    /// Packets this node relayed: received from the tunnel and routed back into it (on a
    /// hub, the spoke-to-spoke traffic it carries).
    pub fn relayed(&self) -> u64 {
        self.drops.hairpins
    }
}

/// Why a packet handed to the NBMA transport was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// The tunnel has no source address yet (interface down or unnumbered).
    NoSource,
    /// Protection is configured and the peer has no SA, and none will be negotiated
    /// (fail closed).
    Unprotected,
    /// The underlay socket refused the packet (the OS error, as text).
    Io(String),
    /// The packet does not fit the tunnel (after encapsulation).
    TooBig,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::NoSource => f.write_str("no tunnel source address"),
            DropReason::Unprotected => f.write_str("no security association (fail closed)"),
            DropReason::Io(e) => write!(f, "send failed: {e}"),
            DropReason::TooBig => f.write_str("packet too big for the tunnel"),
        }
    }
}

/// What became of a packet handed to the NBMA transport, in the style of boringtun's
/// `TunnResult`: sent, held until protection is up, or dropped with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The bytes left on the underlay.
    Sent,
    /// Protection is not up yet: the packet is held (bounded) and the transport has asked
    /// for negotiation with the peer; it leaves once the SA exists, or is dropped.
    Queued,
    /// Not sent.
    Dropped(DropReason),
}

/// A data-plane operation the backend could not carry out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DataPlaneError(pub String);

/// One tunnel's data plane, as the node core sees it.
pub trait DataPlane: Send + Sync {
    /// The tunnel interface's name (`Tunnel0`).
    fn name(&self) -> &str;
    /// The tunnel interface's kernel index.
    fn ifindex(&self) -> u32;
    /// The tunnel source (NBMA) address in use, if any.
    fn source_address(&self) -> Option<Ipv4Addr>;

    /// Installs or replaces an NHRP mapping (overlay address → NBMA address).
    fn set_mapping(&self, overlay: Ipv4Addr, nbma: Ipv4Addr);
    /// Removes a mapping; returns the NBMA address it had.
    fn remove_mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr>;
    /// The NBMA address mapped to `overlay`.
    fn mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr>;

    /// Installs or replaces a shortcut route (prefix → overlay next hop).
    fn set_shortcut(&self, prefix: Ipv4Prefix, next_hop: Ipv4Addr);
    /// Removes a shortcut route; returns its next hop.
    fn remove_shortcut(&self, prefix: Ipv4Prefix) -> Option<Ipv4Addr>;
    /// The installed shortcut routes.
    fn shortcuts(&self) -> Vec<(Ipv4Prefix, Ipv4Addr)>;

    /// Replaces the NHS list (NBMA addresses, in preference order).
    fn set_nhs(&self, nbma: Vec<Ipv4Addr>);
    /// The NHS at NBMA address `nbma` went UP or DOWN: unresolved traffic goes through the
    /// most preferred NHS that is UP. (Default: ignored, for backends that have no NHS path.)
    fn set_nhs_up(&self, _nbma: Ipv4Addr, _up: bool) {}
    /// Replaces the multicast replication policy (`ip nhrp map multicast …`).
    fn set_multicast_policy(&self, policy: MulticastPolicy);
    /// Adds a dynamically registered peer to multicast replication.
    fn add_dynamic_peer(&self, nbma: Ipv4Addr);
    /// Removes a dynamic multicast peer; true when it was present.
    fn remove_dynamic_peer(&self, nbma: Ipv4Addr) -> bool;

    /// `ip tcp adjust-mss` (None: off).
    fn set_tcp_adjust_mss(&self, mss: Option<u16>);
    /// Hairpin detection (a hub with `ip nhrp redirect`).
    fn set_detect_hairpin(&self, on: bool);
    /// `ip mtu`.
    fn set_mtu(&self, mtu: u16) -> Result<(), DataPlaneError>;

    /// Sends one NHRP packet (starting at the NHRP fixed header) to the peer's NBMA address.
    fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> SendOutcome;

    /// The tunnel's counters.
    fn counters(&self) -> CounterSnapshot;
    /// One peer's counters (zero when unknown).
    fn peer_counters(&self, nbma: Ipv4Addr) -> TrafficCounters;

    /// The routes through the tunnel that the data plane follows (kernel routes).
    fn routes(&self) -> Vec<MirroredRoute>;
    /// Re-reads the routes the data plane follows (after a route change the backend may not
    /// have been told of).
    fn resync_routes(&self);
    /// The routes of the table the tunnel uses that leave through other interfaces
    /// (connected LANs, static routes, routing daemons' routes; not default routes, not
    /// routes through the tunnel or its source interface): the networks the node answers
    /// Resolution Requests for. (Default: none.)
    fn local_routes(&self) -> Vec<Ipv4Prefix> {
        Vec::new()
    }
    /// A number that changes whenever [`DataPlane::routes`] or [`DataPlane::local_routes`]
    /// change, so that the node core can look again only then. (Default: constant.)
    fn routes_version(&self) -> u64 {
        0
    }

    /// Protection (IPsec) with `peer` came up (`up`): the packets the NBMA transport held
    /// for it ([`SendOutcome::Queued`]) leave now; or it failed: they are dropped. Returns
    /// how many packets were released or dropped. A backend without protection holds
    /// nothing.
    fn protection_changed(&self, _peer: Ipv4Addr, _up: bool) -> usize {
        0
    }

    /// The peers for which the NBMA transport queued packets and asked for protection since
    /// the last call (each once): the node core starts a negotiation with each.
    fn negotiations(&self) -> Vec<Ipv4Addr> {
        Vec::new()
    }

    /// Sends an IKE message from the tunnel source's UDP port `local_port` (500, or 4500 where
    /// the non-ESP marker is added) to `remote`. (Default: this backend has no IKE sockets.)
    fn send_ike(&self, _local_port: u16, _remote: SocketAddrV4, _message: &[u8]) -> SendOutcome {
        SendOutcome::Dropped(DropReason::Io("no IKE socket on this data plane".into()))
    }

    /// Sends a NAT-keepalive (the single byte 0xFF, RFC 3948 §2.3) from UDP 4500 to `remote`.
    /// (Default: not supported.)
    fn send_nat_keepalive(&self, _remote: SocketAddrV4) -> SendOutcome {
        SendOutcome::Dropped(DropReason::Io(
            "no UDP 4500 socket on this data plane".into(),
        ))
    }
}

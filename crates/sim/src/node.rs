//! The contract between the simulator and the protocol engine running on each
//! simulated node: [`SimNode`] (inputs) and [`NodeOutput`] (outputs).
//!
//! The simulator core only knows this trait, so it can be exercised with toy
//! nodes; [`crate::engine_node::EngineNode`] implements it for the real
//! `dmvpn_nhrp::Engine`.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Index of a node in a [`crate::Sim`].
pub type NodeId = usize;

/// An IPv4 prefix: the workspace's one prefix type (host bits cleared, length at most
/// 32), used for routes and shortcuts.
pub use dmvpn_wire::Ipv4Prefix as Prefix;

/// Something a node asks the outside world to do, drained with
/// [`SimNode::poll_output`] after every input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum NodeOutput {
    /// Send an NHRP packet (GRE payload) to an NBMA address.
    Send { to_nbma: Ipv4Addr, bytes: Vec<u8> },
    /// Install a protocol → NBMA mapping (kernel neighbour entry).
    MappingAdd { proto: Ipv4Addr, nbma: Ipv4Addr },
    /// Remove the mapping of a protocol address.
    MappingRemove { proto: Ipv4Addr },
    /// Install a shortcut route `prefix via next_hop` that overrides routing.
    ShortcutAdd { prefix: Prefix, next_hop: Ipv4Addr },
    /// Remove a shortcut route.
    ShortcutRemove { prefix: Prefix },
    /// An NHS went UP (`true`) or DOWN: the data plane sends unresolved traffic through
    /// the most preferred NHS that is up, as the daemon reorders its NHS list.
    NhsState { nhs: Ipv4Addr, up: bool },
    /// Anything else worth recording in the trace (events, protection, ...).
    Note(String),
}

/// A protocol engine as seen by the simulator. Every method takes the virtual
/// time `now` (time since the start of the simulation).
pub trait SimNode {
    /// An NHRP packet arrived from `from_nbma` (the outer source as seen by
    /// this node, i.e. after NAT).
    fn handle_packet(&mut self, now: Duration, from_nbma: Ipv4Addr, bytes: &[u8]);
    /// The deadline returned by [`SimNode::poll_timeout`] has passed.
    fn handle_timeout(&mut self, now: Duration);
    /// The next deadline at which [`SimNode::handle_timeout`] must be called.
    fn poll_timeout(&mut self) -> Option<Duration>;
    /// Next pending output, if any.
    fn poll_output(&mut self) -> Option<NodeOutput>;
    /// The data plane sent (or tried to send) `packet` (an IPv4 datagram) into the
    /// tunnel towards `dst_proto` (the route's tunnel next hop, or the packet's destination
    /// when it follows a shortcut route). The forwarding tables already decided where it
    /// went; this tells the node of the traffic, as the daemon does with the data plane's
    /// "resolution needed" events and its usage tracking (here for every packet).
    fn handle_traffic(&mut self, _now: Duration, _dst_proto: Ipv4Addr, _packet: &[u8]) {}
    /// The data plane forwarded `packet` (inner `src` → `dst`), received from
    /// tunnel peer `from_nbma`, back out of the tunnel (hub hairpin).
    fn handle_hairpin(
        &mut self,
        _now: Duration,
        _from_nbma: Ipv4Addr,
        _src: Ipv4Addr,
        _dst: Ipv4Addr,
        _packet: &[u8],
    ) {
    }
    /// A route via the tunnel was added (`Some(next_hop)`) or withdrawn.
    fn route_changed(&mut self, _now: Duration, _prefix: Prefix, _next_hop: Option<Ipv4Addr>) {}
    /// This node's own NBMA address changed (e.g. a new DHCP lease).
    fn local_nbma_changed(&mut self, _now: Duration, _nbma: Ipv4Addr) {}
}

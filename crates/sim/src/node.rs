//! The contract between the simulator and the protocol engine running on each
//! simulated node: [`SimNode`] (inputs) and [`NodeOutput`] (outputs).
//!
//! The simulator core only knows this trait, so it can be exercised with toy
//! nodes; [`crate::engine_node::EngineNode`] implements it for the real
//! `dmvpn_nhrp::Engine`.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Index of a node in a [`crate::Sim`].
pub type NodeId = usize;

/// An IPv4 prefix (`addr/len`), used by the data-plane model for routes and
/// shortcuts. The address is stored with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    addr: Ipv4Addr,
    len: u8,
}

impl Prefix {
    /// `addr/len`; lengths above 32 are clamped to 32, host bits are cleared.
    pub fn new(addr: Ipv4Addr, len: u8) -> Self {
        let len = len.min(32);
        let addr = Ipv4Addr::from(u32::from(addr) & Self::mask(len));
        Prefix { addr, len }
    }

    /// A /32 host prefix.
    pub fn host(addr: Ipv4Addr) -> Self {
        Self::new(addr, 32)
    }

    fn mask(len: u8) -> u32 {
        match len {
            0 => 0,
            l => u32::MAX << (32 - u32::from(l.min(32))),
        }
    }

    /// Network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether `ip` lies inside this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask(self.len) == u32::from(self.addr)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

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
    /// Anything else worth recording in the trace (events, protection, ...).
    Note(String),
}

/// A node's answer to "where do I send traffic for this tunnel destination".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// Straight to this NBMA address.
    Direct(Ipv4Addr),
    /// Through the NHS at this NBMA address (no direct binding yet).
    ViaNhs(Ipv4Addr),
    /// Nowhere: the packet is dropped.
    Unreachable,
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
    /// The data plane is about to send `packet` (an IPv4 datagram) out of the
    /// tunnel towards `dst_proto` (the route's tunnel next hop, or the packet's
    /// destination when it follows a shortcut route). A node that answers
    /// `Some` decides the NBMA next hop; `None` lets the data plane use its own
    /// mapping table and NHS relays.
    fn handle_traffic(
        &mut self,
        _now: Duration,
        _dst_proto: Ipv4Addr,
        _packet: &[u8],
    ) -> Option<NextHop> {
        None
    }
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

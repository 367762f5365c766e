//! The discrete-event network: a virtual clock, an event queue ordered by
//! (time, sequence number), a seeded ChaCha RNG, nodes running a
//! [`SimNode`], NBMA links with latency, jitter (reordering) and loss,
//! one-to-one NAT, partitions, node kill/restart, NBMA address changes and
//! the data-plane model that carries host traffic between LANs.
//!
//! Nothing here reads the wall clock or an unseeded RNG: the same seed and
//! the same scenario always produce the same [`Trace`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::Ipv4Addr;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::dataplane::{DataPlane, Forward};
use crate::node::{NodeId, NodeOutput, Prefix, SimNode};
use crate::trace::{DropReason, Payload, Trace, TraceEntry, TraceKind};

/// Default TTL of data packets; a routing loop exhausts it.
const DATA_TTL: u8 = 16;

/// How many events may run at one virtual instant before the simulator
/// declares a livelock (an engine asking for a timeout in the past forever).
const MAX_EVENTS_PER_INSTANT: u64 = 100_000;

/// Simulator failures.
#[derive(Debug, Error, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum SimError {
    /// An engine keeps scheduling work at the same instant.
    #[error("livelock at {at:?}: more than {MAX_EVENTS_PER_INSTANT} events without time advancing")]
    Livelock { at: Duration },
}

/// Properties of an NBMA path between two nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    /// One-way base latency.
    pub latency: Duration,
    /// Extra uniform random delay in `[0, jitter]`; reorders packets.
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a packet is lost.
    pub loss: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
        }
    }
}

/// A data packet of the data-plane model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataPacket {
    /// Unique id, in order of sending.
    pub id: u64,
    /// Source host.
    pub src: Ipv4Addr,
    /// Destination host.
    pub dst: Ipv4Addr,
    /// Remaining router hops.
    pub ttl: u8,
    /// Routers traversed so far.
    pub path: Vec<NodeId>,
    /// The IPv4 datagram as the data plane would see it.
    pub bytes: Vec<u8>,
}

/// Fate of a data packet, see [`Sim::data_outcome`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum DataOutcome {
    /// Still travelling.
    InFlight,
    /// Delivered to the destination LAN through these routers.
    Delivered { at: Duration, path: Vec<NodeId> },
    /// Lost.
    Dropped {
        reason: DropReason,
        path: Vec<NodeId>,
    },
}

impl DataOutcome {
    /// Delivered with no router between source and destination router.
    pub fn is_direct(&self) -> bool {
        matches!(self, DataOutcome::Delivered { path, .. } if path.len() == 2)
    }

    /// Delivered through at least one relaying router (the hub).
    pub fn is_relayed(&self) -> bool {
        matches!(self, DataOutcome::Delivered { path, .. } if path.len() > 2)
    }
}

/// An NHRP packet as it left a node (outer source after NAT), recorded when
/// capture is on ([`Sim::set_capture`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// Virtual time of sending.
    pub at: Duration,
    /// Sending node.
    pub from: NodeId,
    /// Outer source as the network sees it.
    pub src: Ipv4Addr,
    /// Outer destination.
    pub dst: Ipv4Addr,
    /// The NHRP packet.
    pub bytes: Vec<u8>,
}

/// Counters of the data-plane model over the whole network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataStats {
    /// Packets sent by hosts.
    pub sent: u64,
    /// Packets delivered without an intermediate router.
    pub delivered_direct: u64,
    /// Packets delivered through at least one intermediate router.
    pub delivered_relayed: u64,
    /// Relay operations performed by routers (a packet entering from the
    /// tunnel and leaving into it again).
    pub relays: u64,
    /// Packets dropped.
    pub dropped: u64,
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        to: NodeId,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        what: InFlight,
    },
    Timer {
        node: NodeId,
        at: Duration,
    },
}

#[derive(Clone, Debug)]
enum InFlight {
    Nhrp(Vec<u8>),
    Data(DataPacket),
}

impl InFlight {
    fn payload(&self) -> Payload {
        match self {
            InFlight::Nhrp(b) => Payload::Nhrp {
                op: crate::trace::packet_type(b),
                len: b.len(),
            },
            InFlight::Data(p) => Payload::Data {
                id: p.id,
                src: p.src,
                dst: p.dst,
            },
        }
    }
}

struct Scheduled {
    at: Duration,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed: BinaryHeap is a max-heap, we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .at
            .cmp(&self.at)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

struct Slot<N> {
    name: String,
    node: N,
    alive: bool,
    nbma: Ipv4Addr,
    nat_public: Option<Ipv4Addr>,
    scheduled: Option<Duration>,
    dp: DataPlane,
}

/// The simulated network.
pub struct Sim<N: SimNode> {
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    rng: ChaCha8Rng,
    slots: Vec<Slot<N>>,
    default_link: LinkParams,
    links: BTreeMap<(NodeId, NodeId), LinkParams>,
    cut: BTreeSet<(NodeId, NodeId)>,
    trace: Trace,
    next_data_id: u64,
    outcomes: BTreeMap<u64, DataOutcome>,
    data_stats: DataStats,
    events_at_now: u64,
    capture: Option<Vec<Captured>>,
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a <= b { (a, b) } else { (b, a) }
}

impl<N: SimNode> Sim<N> {
    /// An empty network whose randomness comes only from `seed`.
    pub fn new(seed: u64) -> Self {
        Sim {
            now: Duration::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            slots: Vec::new(),
            default_link: LinkParams::default(),
            links: BTreeMap::new(),
            cut: BTreeSet::new(),
            trace: Trace::default(),
            next_data_id: 1,
            outcomes: BTreeMap::new(),
            data_stats: DataStats::default(),
            events_at_now: 0,
            capture: None,
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Mutable access to the trace (e.g. to stop keeping entries).
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// Record every NHRP packet sent from now on (`true`), or stop and
    /// forget them (`false`).
    pub fn set_capture(&mut self, on: bool) {
        self.capture = if on {
            Some(self.capture.take().unwrap_or_default())
        } else {
            None
        };
    }

    /// NHRP packets recorded since capture was switched on.
    pub fn captured(&self) -> &[Captured] {
        self.capture.as_deref().unwrap_or(&[])
    }

    /// Add a node with NBMA address `nbma`; its timers start now.
    pub fn add_node(&mut self, name: &str, nbma: Ipv4Addr, node: N) -> NodeId {
        let id = self.slots.len();
        self.slots.push(Slot {
            name: name.to_owned(),
            node,
            alive: true,
            nbma,
            nat_public: None,
            scheduled: None,
            dp: DataPlane::default(),
        });
        self.control(Some(id), format!("add node {name} nbma {nbma}"));
        self.pump(id);
        id
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.slots.len()
    }

    /// Name given at [`Sim::add_node`].
    pub fn name(&self, id: NodeId) -> Option<&str> {
        self.slots.get(id).map(|s| s.name.as_str())
    }

    /// The node's engine.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.slots.get(id).map(|s| &s.node)
    }

    /// The node's engine, mutably. Call [`Sim::pump`] after feeding it
    /// inputs directly so that its outputs and timers are processed.
    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut N> {
        self.slots.get_mut(id).map(|s| &mut s.node)
    }

    /// The node's data plane.
    pub fn dataplane(&self, id: NodeId) -> Option<&DataPlane> {
        self.slots.get(id).map(|s| &s.dp)
    }

    /// The node's data plane, mutably (routes, static mappings, relays).
    pub fn dataplane_mut(&mut self, id: NodeId) -> Option<&mut DataPlane> {
        self.slots.get_mut(id).map(|s| &mut s.dp)
    }

    /// The node's own (inside) NBMA address.
    pub fn nbma(&self, id: NodeId) -> Option<Ipv4Addr> {
        self.slots.get(id).map(|s| s.nbma)
    }

    /// The address the rest of the network sees for the node (public NAT
    /// address if it is behind NAT).
    pub fn public_nbma(&self, id: NodeId) -> Option<Ipv4Addr> {
        self.slots.get(id).map(|s| s.nat_public.unwrap_or(s.nbma))
    }

    /// Whether the node is running.
    pub fn is_alive(&self, id: NodeId) -> bool {
        self.slots.get(id).is_some_and(|s| s.alive)
    }

    /// Link properties for every pair without an override.
    pub fn set_default_link(&mut self, params: LinkParams) {
        self.default_link = params;
    }

    /// Link properties between `a` and `b` (both directions).
    pub fn set_link(&mut self, a: NodeId, b: NodeId, params: LinkParams) {
        self.links.insert(pair(a, b), params);
    }

    /// Put `id` behind a one-to-one NAT: its outer source is rewritten to
    /// `public` on the way out and `public` is rewritten back to its own
    /// address on the way in.
    pub fn set_nat(&mut self, id: NodeId, public: Option<Ipv4Addr>) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.nat_public = public;
            self.control(Some(id), format!("nat public {public:?}"));
        }
    }

    /// Cut every path between a node of `side_a` and a node of `side_b`.
    pub fn partition(&mut self, side_a: &[NodeId], side_b: &[NodeId]) {
        for &a in side_a {
            for &b in side_b {
                self.cut.insert(pair(a, b));
            }
        }
        self.control(None, format!("partition {side_a:?} | {side_b:?}"));
    }

    /// Remove all partitions.
    pub fn heal(&mut self) {
        self.cut.clear();
        self.control(None, "heal".to_owned());
    }

    /// Stop a node: it receives nothing and its timers stop. Its data plane
    /// loses what the engine installed.
    pub fn kill(&mut self, id: NodeId) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.alive = false;
            slot.scheduled = None;
            slot.dp.clear_dynamic();
            self.control(Some(id), "kill".to_owned());
        }
    }

    /// Start a node again with a fresh engine (a reboot).
    pub fn restart(&mut self, id: NodeId, node: N) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.node = node;
            slot.alive = true;
            slot.scheduled = None;
            slot.dp.clear_dynamic();
            self.control(Some(id), "restart".to_owned());
            self.pump(id);
        }
    }

    /// Change a node's own NBMA address and tell its engine.
    pub fn set_nbma(&mut self, id: NodeId, nbma: Ipv4Addr) {
        let now = self.now;
        if let Some(slot) = self.slots.get_mut(id) {
            slot.nbma = nbma;
            if slot.alive {
                slot.node.local_nbma_changed(now, nbma);
            }
            self.control(Some(id), format!("nbma changed to {nbma}"));
            self.pump(id);
        }
    }

    /// Add a route via the tunnel (`Some(next_hop)`) or remove it (`None`) on
    /// `id`, in both its data plane and its engine (as a routing protocol
    /// would install it).
    pub fn set_tunnel_route(&mut self, id: NodeId, prefix: Prefix, next_hop: Option<Ipv4Addr>) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        match next_hop {
            Some(nh) => slot
                .dp
                .add_route(prefix, crate::dataplane::RouteVia::Tunnel(nh)),
            None => slot.dp.remove_route(prefix),
        }
        if slot.alive {
            slot.node.route_changed(now, prefix, next_hop);
        }
        self.control(Some(id), format!("route {prefix} via {next_hop:?}"));
        self.pump(id);
    }

    /// The trace as text, one entry per line, with node names.
    pub fn render_trace(&self, since: Duration) -> String {
        let mut out = String::new();
        for e in self.trace.entries().iter().filter(|e| e.at >= since) {
            let name = e.node.and_then(|n| self.name(n)).unwrap_or("");
            out.push_str(&format!(
                "{:>11.3}s {name:<8} {}\n",
                e.at.as_secs_f64(),
                e.kind
            ));
        }
        out
    }

    /// Record a scenario remark in the trace.
    pub fn note(&mut self, text: &str) {
        self.control(None, text.to_owned());
    }

    fn control(&mut self, node: Option<NodeId>, text: String) {
        self.record(node, TraceKind::Control(text));
    }

    fn record(&mut self, node: Option<NodeId>, kind: TraceKind) {
        self.trace.push(TraceEntry {
            at: self.now,
            node,
            kind,
        });
    }

    fn schedule(&mut self, at: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            event,
        });
    }

    /// Drain a node's outputs, apply them, and (re)arm its timer. Call after
    /// feeding a node inputs through [`Sim::node_mut`].
    pub fn pump(&mut self, id: NodeId) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        if !slot.alive {
            return;
        }
        let mut outputs = Vec::new();
        while let Some(out) = slot.node.poll_output() {
            outputs.push(out);
        }
        let src = slot.nbma;
        for out in outputs {
            match out {
                NodeOutput::Send { to_nbma, bytes } => {
                    self.transmit(id, src, to_nbma, InFlight::Nhrp(bytes));
                }
                other => {
                    if let Some(slot) = self.slots.get_mut(id) {
                        slot.dp.apply(&other);
                    }
                    self.record(Some(id), TraceKind::Output(other));
                }
            }
        }
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        let next = slot.node.poll_timeout();
        if next != slot.scheduled {
            slot.scheduled = next;
            if let Some(deadline) = next {
                // A deadline in the past fires now; the event keeps the exact
                // deadline the node asked for, which identifies it (stale
                // timer events are skipped).
                self.schedule(
                    deadline.max(self.now),
                    Event::Timer {
                        node: id,
                        at: deadline,
                    },
                );
            }
        }
    }

    /// Which node receives packets for `dst`, and whether it is reached
    /// through its NAT public address.
    fn owner(&self, dst: Ipv4Addr) -> Option<NodeId> {
        self.slots
            .iter()
            .position(|s| s.nat_public == Some(dst))
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|s| s.nat_public.is_none() && s.nbma == dst)
            })
    }

    fn transmit(&mut self, from: NodeId, inner_src: Ipv4Addr, dst: Ipv4Addr, what: InFlight) {
        let src = self
            .slots
            .get(from)
            .and_then(|s| s.nat_public)
            .unwrap_or(inner_src);
        if let (Some(cap), InFlight::Nhrp(bytes)) = (self.capture.as_mut(), &what) {
            cap.push(Captured {
                at: self.now,
                from,
                src,
                dst,
                bytes: bytes.clone(),
            });
        }
        self.record(
            Some(from),
            TraceKind::Sent {
                src,
                dst,
                payload: what.payload(),
            },
        );
        let Some(to) = self.owner(dst) else {
            self.drop_packet(Some(from), dst, what, DropReason::Unroutable);
            return;
        };
        if self.cut.contains(&pair(from, to)) {
            self.drop_packet(Some(from), dst, what, DropReason::Partition);
            return;
        }
        let params = self
            .links
            .get(&pair(from, to))
            .copied()
            .unwrap_or(self.default_link);
        if params.loss > 0.0 && self.rng.random::<f64>() < params.loss {
            self.drop_packet(Some(from), dst, what, DropReason::Loss);
            return;
        }
        let jitter = if params.jitter.is_zero() {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(params.jitter.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.random_range(0..=nanos))
        };
        let at = self.now + params.latency + jitter;
        self.schedule(at, Event::Deliver { to, src, dst, what });
    }

    fn drop_packet(
        &mut self,
        node: Option<NodeId>,
        dst: Ipv4Addr,
        what: InFlight,
        reason: DropReason,
    ) {
        let payload = what.payload();
        if let InFlight::Data(p) = what {
            self.data_stats.dropped += 1;
            self.outcomes.insert(
                p.id,
                DataOutcome::Dropped {
                    reason,
                    path: p.path,
                },
            );
        }
        self.record(
            node,
            TraceKind::Dropped {
                dst,
                payload,
                reason,
            },
        );
    }

    /// Process the next event if it is due at or before `limit`. Returns
    /// whether one was processed.
    fn step(&mut self, limit: Duration) -> Result<bool, SimError> {
        match self.queue.peek() {
            Some(s) if s.at <= limit => {}
            _ => return Ok(false),
        }
        let Some(Scheduled { at, event, .. }) = self.queue.pop() else {
            return Ok(false);
        };
        if at > self.now {
            self.now = at;
            self.events_at_now = 0;
        }
        self.events_at_now += 1;
        if self.events_at_now > MAX_EVENTS_PER_INSTANT {
            return Err(SimError::Livelock { at: self.now });
        }
        match event {
            Event::Timer { node, at } => {
                let now = self.now;
                let Some(slot) = self.slots.get_mut(node) else {
                    return Ok(true);
                };
                if !slot.alive || slot.scheduled != Some(at) {
                    return Ok(true); // stale
                }
                slot.scheduled = None;
                slot.node.handle_timeout(now);
                self.record(Some(node), TraceKind::Timer);
                self.pump(node);
            }
            Event::Deliver { to, src, dst, what } => {
                // The destination may have moved, died or left NAT meanwhile.
                if self.owner(dst) != Some(to) {
                    self.drop_packet(Some(to), dst, what, DropReason::Unroutable);
                    return Ok(true);
                }
                if !self.is_alive(to) {
                    self.drop_packet(Some(to), dst, what, DropReason::NodeDown);
                    return Ok(true);
                }
                self.record(
                    Some(to),
                    TraceKind::Delivered {
                        src,
                        payload: what.payload(),
                    },
                );
                match what {
                    InFlight::Nhrp(bytes) => {
                        let now = self.now;
                        if let Some(slot) = self.slots.get_mut(to) {
                            slot.node.handle_packet(now, src, &bytes);
                        }
                        self.pump(to);
                    }
                    InFlight::Data(p) => self.forward(to, p, Some(src)),
                }
            }
        }
        Ok(true)
    }

    /// Run every event due up to `t`, then set the clock to `t`.
    pub fn run_until(&mut self, t: Duration) -> Result<(), SimError> {
        while self.step(t)? {}
        if t > self.now {
            self.now = t;
            self.events_at_now = 0;
        }
        Ok(())
    }

    /// Run for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        self.run_until(self.now + d)
    }

    /// Run until `cond` holds (checked before and after every event) or the
    /// virtual deadline `now + within` passes. Returns whether it held.
    pub fn run_until_cond(
        &mut self,
        within: Duration,
        mut cond: impl FnMut(&Self) -> bool,
    ) -> Result<bool, SimError> {
        let deadline = self.now + within;
        if cond(self) {
            return Ok(true);
        }
        while self.step(deadline)? {
            if cond(self) {
                return Ok(true);
            }
        }
        self.run_until(deadline)?;
        Ok(cond(self))
    }

    /// A host on `from`'s LAN sends an IPv4 packet from `src` to `dst` now.
    /// Returns the packet id for [`Sim::data_outcome`].
    pub fn send_data(&mut self, from: NodeId, src: Ipv4Addr, dst: Ipv4Addr) -> u64 {
        let id = self.next_data_id;
        self.next_data_id += 1;
        self.data_stats.sent += 1;
        let bytes = crate::packet::icmp_echo(src, dst, id);
        let p = DataPacket {
            id,
            src,
            dst,
            ttl: DATA_TTL,
            path: Vec::new(),
            bytes,
        };
        self.outcomes.insert(id, DataOutcome::InFlight);
        self.forward(from, p, None);
        id
    }

    /// What happened to data packet `id`.
    pub fn data_outcome(&self, id: u64) -> Option<&DataOutcome> {
        self.outcomes.get(&id)
    }

    /// Network-wide data-plane counters.
    pub fn data_stats(&self) -> DataStats {
        self.data_stats
    }

    /// The data plane of `at` handles packet `p`, which came from the
    /// tunnel peer `from_tunnel` (then `p.bytes` is the GRE packet) or from the LAN
    /// (`None`; `p.bytes` is the IPv4 datagram). Decapsulation and forwarding into the
    /// tunnel run the shipped pipeline ([`DataPlane::from_nbma`],
    /// [`DataPlane::from_overlay`]); the kernel step in between picks LAN or tunnel.
    fn forward(&mut self, at: NodeId, mut p: DataPacket, from_tunnel: Option<Ipv4Addr>) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        if !slot.alive {
            return;
        }
        p.path.push(at);
        if let Some(src) = from_tunnel {
            match slot.dp.from_nbma(src, &p.bytes, now).up {
                Some(inner) => p.bytes = inner,
                None => {
                    let dst = p.dst;
                    self.drop_packet(Some(at), dst, InFlight::Data(p), DropReason::Rejected);
                    return;
                }
            }
        }
        if p.ttl == 0 {
            let dst = p.dst;
            self.drop_packet(Some(at), dst, InFlight::Data(p), DropReason::TtlExpired);
            return;
        }
        p.ttl -= 1;
        let Some(slot) = self.slots.get_mut(at) else {
            return;
        };
        match slot.dp.into_tunnel(p.dst) {
            Some(false) => {
                if p.path.len() > 2 {
                    self.data_stats.delivered_relayed += 1;
                } else {
                    self.data_stats.delivered_direct += 1;
                }
                self.outcomes.insert(
                    p.id,
                    DataOutcome::Delivered {
                        at: now,
                        path: p.path.clone(),
                    },
                );
                self.record(
                    Some(at),
                    TraceKind::DataArrived {
                        id: p.id,
                        path: p.path,
                    },
                );
            }
            None => {
                let dst = p.dst;
                self.drop_packet(Some(at), dst, InFlight::Data(p), DropReason::NoRoute);
            }
            Some(true) => {
                let relayed_before = slot.dp.forwarder().counters().drops().hairpins;
                let out = slot.dp.from_overlay(&p.bytes, now);
                let relayed = slot
                    .dp
                    .forwarder()
                    .counters()
                    .drops()
                    .hairpins
                    .saturating_sub(relayed_before);
                for event in &out.events {
                    if let dmvpn_forwarding::Event::Hairpin {
                        source,
                        destination,
                        ingress_nbma,
                        packet,
                    } = event
                    {
                        slot.node
                            .handle_hairpin(now, *ingress_nbma, *source, *destination, packet);
                    }
                }
                // The node learns of the traffic (the daemon's ResolutionNeeded handling and
                // usage tracking, here per packet): the route's next hop, or the destination
                // when a shortcut carries it.
                let key = match slot.dp.lookup(p.dst) {
                    Forward::Tunnel {
                        next_hop, shortcut, ..
                    } => {
                        if shortcut {
                            p.dst
                        } else {
                            next_hop
                        }
                    }
                    Forward::Local | Forward::NoRoute => p.dst,
                };
                slot.node.handle_traffic(now, key, &p.bytes);
                let src = slot.nbma;
                if relayed > 0 {
                    self.data_stats.relays += relayed;
                    self.record(Some(at), TraceKind::DataRelayed { id: p.id });
                }
                self.pump(at);
                if out.sent.is_empty() {
                    let dst = p.dst;
                    self.drop_packet(Some(at), dst, InFlight::Data(p), DropReason::NoMapping);
                    return;
                }
                for (to, gre) in out.sent {
                    let mut q = p.clone();
                    q.bytes = gre;
                    self.transmit(at, src, to, InFlight::Data(q));
                }
            }
        }
    }
}

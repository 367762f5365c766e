//! A deterministic-time simulation of whole nodes: many [`NodeCore`]s (NHRP engine, IKE
//! engine, the real userspace ESP table) joined by a simulated underlay, with no sockets and
//! a virtual clock. It runs what the daemon runs, minus the kernel: each node's data plane
//! is a [`SimDataPlane`] whose sends go through the same pure protector as the userspace
//! data plane (no SA: held and a negotiation asked for; with one: ESP, really encrypted),
//! and whose receives are really decrypted, so a peer that lost its SAs sees unknown SPIs
//! exactly as on the wire.
//!
//! [`restart_storm`] is the issue-16 scenario: a hub and N IPsec spokes converge, the hub
//! restarts with nothing (a new core, a new ESP table), and the report says how long (in
//! virtual time) until every spoke is registered and protected again, and how much CPU the
//! hub's core spent on it. Randomness: the engines' seeds are fixed; the IKE and ESP
//! engines draw keys and SPIs from the system generator, which changes no timing.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dmvpn_dataplane::PacketBuf;
use dmvpn_dataplane::gre::{GreHeader, PROTO_NHRP};
use dmvpn_dataplane::transport::{
    DEFAULT_QUEUE_PER_PEER, IPPROTO_ESP, Protector, Received, Transmit, Underlay,
};
use dmvpn_dataplane::{
    CounterSnapshot, DataPlane, DataPlaneError, DropReason, Event, Ipv4Prefix, MirroredRoute,
    MulticastPolicy, SendOutcome, TrafficCounters,
};
use dmvpn_nhrp::Instant;

use crate::core::{NodeCore, TunnelIo};

/// One datagram on the simulated underlay.
#[derive(Debug, Clone)]
enum Wire {
    /// ESP (GRE inside) between NBMA addresses.
    Esp {
        from: Ipv4Addr,
        to: Ipv4Addr,
        bytes: Vec<u8>,
    },
    /// An IKE message.
    Ike {
        from: SocketAddrV4,
        to: SocketAddrV4,
        bytes: Vec<u8>,
    },
}

impl Wire {
    fn to(&self) -> Ipv4Addr {
        match self {
            Wire::Esp { to, .. } => *to,
            Wire::Ike { to, .. } => *to.ip(),
        }
    }
}

/// A node's data plane in the simulation: its protector over the node's ESP table, and
/// the datagrams it sent since the last look.
pub struct SimDataPlane {
    name: String,
    ifindex: u32,
    local: Ipv4Addr,
    key: Option<u32>,
    protector: Protector,
    out: Mutex<Vec<Wire>>,
    mappings: Mutex<BTreeMap<Ipv4Addr, Ipv4Addr>>,
    shortcuts: Mutex<BTreeMap<Ipv4Prefix, Ipv4Addr>>,
}

impl SimDataPlane {
    fn new(
        name: &str,
        ifindex: u32,
        local: Ipv4Addr,
        key: Option<u32>,
        esp: Arc<dmvpn_esp::EspProtection>,
    ) -> Self {
        SimDataPlane {
            name: name.to_string(),
            ifindex,
            local,
            key,
            protector: Protector::new(esp, DEFAULT_QUEUE_PER_PEER),
            out: Mutex::new(Vec::new()),
            mappings: Mutex::new(BTreeMap::new()),
            shortcuts: Mutex::new(BTreeMap::new()),
        }
    }

    fn take_out(&self) -> Vec<Wire> {
        std::mem::take(&mut *self.out.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Sends a GRE packet through the protector.
    fn transmit(&self, peer: Ipv4Addr, mut buf: PacketBuf) -> SendOutcome {
        let t = self.protector.outbound(peer, 0, &mut buf);
        if let Transmit::Send(Underlay::Esp) = t {
            self.out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Wire::Esp {
                    from: self.local,
                    to: peer,
                    bytes: buf.as_slice().to_vec(),
                });
        }
        t.outcome()
    }

    /// An ESP packet arrived: the NHRP packet inside, when it decrypts.
    fn receive_esp(&self, from: Ipv4Addr, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut buf = PacketBuf::with_capacity(bytes.len() + 64);
        buf.set(bytes).ok()?;
        match self.protector.inbound(from, IPPROTO_ESP, &mut buf) {
            Received::Gre { .. } => {
                let (h, len) = GreHeader::parse(buf.as_slice()).ok()?;
                (h.protocol == PROTO_NHRP && h.key == self.key)
                    .then(|| buf.as_slice().get(len..).map(<[u8]>::to_vec))
                    .flatten()
            }
            _ => None,
        }
    }
}

impl DataPlane for SimDataPlane {
    fn name(&self) -> &str {
        &self.name
    }
    fn ifindex(&self) -> u32 {
        self.ifindex
    }
    fn source_address(&self) -> Option<Ipv4Addr> {
        Some(self.local)
    }
    fn set_mapping(&self, overlay: Ipv4Addr, nbma: Ipv4Addr) {
        self.mappings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(overlay, nbma);
    }
    fn remove_mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.mappings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&overlay)
    }
    fn mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.mappings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&overlay)
            .copied()
    }
    fn set_shortcut(&self, prefix: Ipv4Prefix, next_hop: Ipv4Addr) {
        self.shortcuts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(prefix, next_hop);
    }
    fn remove_shortcut(&self, prefix: Ipv4Prefix) -> Option<Ipv4Addr> {
        self.shortcuts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&prefix)
    }
    fn shortcuts(&self) -> Vec<(Ipv4Prefix, Ipv4Addr)> {
        self.shortcuts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(p, n)| (*p, *n))
            .collect()
    }
    fn set_nhs(&self, _nbma: Vec<Ipv4Addr>) {}
    fn set_multicast_policy(&self, _policy: MulticastPolicy) {}
    fn add_dynamic_peer(&self, _nbma: Ipv4Addr) {}
    fn remove_dynamic_peer(&self, _nbma: Ipv4Addr) -> bool {
        false
    }
    fn set_tcp_adjust_mss(&self, _mss: Option<u16>) {}
    fn set_detect_hairpin(&self, _on: bool) {}
    fn set_mtu(&self, _mtu: u16) -> Result<(), DataPlaneError> {
        Ok(())
    }
    fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> SendOutcome {
        let header = GreHeader {
            protocol: PROTO_NHRP,
            key: self.key,
        };
        let mut bytes = vec![0u8; header.len() + packet.len()];
        let Some(n) = header.emit(&mut bytes) else {
            return SendOutcome::Dropped(DropReason::Io("GRE header".into()));
        };
        if let Some(body) = bytes.get_mut(n..) {
            body.copy_from_slice(packet);
        }
        let mut buf = PacketBuf::with_capacity(bytes.len() + 128);
        if buf.set(&bytes).is_err() {
            return SendOutcome::Dropped(DropReason::Io("packet too large".into()));
        }
        self.transmit(peer, buf)
    }
    fn counters(&self) -> CounterSnapshot {
        CounterSnapshot::default()
    }
    fn peer_counters(&self, _nbma: Ipv4Addr) -> TrafficCounters {
        TrafficCounters::default()
    }
    fn routes(&self) -> Vec<MirroredRoute> {
        Vec::new()
    }
    fn resync_routes(&self) {}
    fn protection_changed(&self, peer: Ipv4Addr, up: bool) -> usize {
        if !up {
            return self.protector.discard(peer);
        }
        let held = self.protector.release(peer);
        for (_, packet) in &held {
            let mut buf = PacketBuf::with_capacity(packet.len() + 128);
            if buf.set(packet).is_ok() {
                self.transmit(peer, buf);
            }
        }
        held.len()
    }
    fn negotiations(&self) -> Vec<Ipv4Addr> {
        self.protector.take_negotiations()
    }
    fn send_ike(&self, local_port: u16, remote: SocketAddrV4, message: &[u8]) -> SendOutcome {
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Wire::Ike {
                from: SocketAddrV4::new(self.local, local_port),
                to: remote,
                bytes: message.to_vec(),
            });
        SendOutcome::Sent
    }
    fn send_nat_keepalive(&self, _remote: SocketAddrV4) -> SendOutcome {
        SendOutcome::Sent
    }
}

/// A simulated node.
struct SimNode {
    core: NodeCore,
    dp: Arc<SimDataPlane>,
    ifindex: u32,
}

/// Options of [`restart_storm`].
#[derive(Debug, Clone)]
pub struct StormOptions {
    /// Number of spokes.
    pub spokes: usize,
    /// The spokes' `ip nhrp registration timeout`, seconds.
    pub registration_timeout: u32,
    /// One-way latency of the underlay.
    pub latency: Duration,
    /// Give up after this much virtual time (per phase).
    pub deadline: Duration,
}

impl Default for StormOptions {
    fn default() -> Self {
        StormOptions {
            spokes: 100,
            registration_timeout: 10,
            latency: Duration::from_millis(5),
            deadline: Duration::from_secs(600),
        }
    }
}

/// What [`restart_storm`] measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StormReport {
    /// Spokes.
    pub spokes: usize,
    /// Virtual seconds until every spoke was registered and protected at the start.
    pub initial_secs: f64,
    /// Virtual seconds from the hub's restart until every spoke was back.
    pub recovery_secs: f64,
    /// CPU seconds the restarted hub's core spent until then (this process's time in its
    /// calls).
    pub hub_cpu_secs: f64,
    /// Whether every spoke came back before the deadline.
    pub converged: bool,
    /// Spokes registered and protected at the end.
    pub spokes_back: usize,
}

const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 1);
const CRYPTO: &str = "crypto ikev2 keyring K
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key storm-k3y
crypto ikev2 profile I
 match identity remote address 0.0.0.0
 authentication local pre-share
 authentication remote pre-share
 keyring local K
crypto ipsec transform-set T esp-gcm 256
 mode transport
crypto ipsec profile P
 set transform-set T
 set ikev2-profile I
";

fn spoke_addrs(i: usize) -> (Ipv4Addr, Ipv4Addr) {
    let n = i + 2;
    let (hi, lo) = ((n / 250) as u8, (n % 250) as u8 + 1);
    (
        Ipv4Addr::new(10, 0, hi, lo),
        Ipv4Addr::new(172, 16, 100u8.saturating_add(hi), lo),
    )
}

fn hub_config(spokes: usize) -> String {
    format!(
        "{CRYPTO}crypto ikev2 limit max-sa {}\ninterface Tunnel0\n ip address 10.0.0.1 255.255.0.0\n ip nhrp network-id 1\n ip nhrp holdtime 600\n ip nhrp map multicast dynamic\n ip nhrp max-send 65535 every 10\n tunnel source {HUB_NBMA}\n tunnel mode gre multipoint\n tunnel key 1\n tunnel protection ipsec profile P\n",
        spokes * 2 + 16
    )
}

fn spoke_config(i: usize, rt: u32) -> String {
    let (t, n) = spoke_addrs(i);
    format!(
        "{CRYPTO}interface Tunnel0\n ip address {t} 255.255.0.0\n ip nhrp network-id 1\n ip nhrp holdtime 300\n ip nhrp map 10.0.0.1 {HUB_NBMA}\n ip nhrp nhs 10.0.0.1\n ip nhrp registration timeout {rt}\n tunnel source {n}\n tunnel mode gre multipoint\n tunnel key 1\n tunnel protection ipsec profile P\n"
    )
}

fn node(text: &str, local: Ipv4Addr, seed: u64, now: Instant) -> Result<SimNode, String> {
    let parsed = dmvpn_config::parse(text);
    if parsed.has_errors() {
        return Err(parsed.render("sim"));
    }
    let plans = crate::core::reload::start_plans(&parsed.config).map_err(|e| e.to_string())?;
    let plan = plans.into_iter().next().ok_or("no tunnel")?;
    let esp = crate::core::ipsec::userspace_esp(local);
    let dp = Arc::new(SimDataPlane::new(
        &plan.name,
        100 + plan.ifindex,
        local,
        plan.dataplane.key,
        esp.clone(),
    ));
    let ifindex = plan.ifindex;
    let io = TunnelIo {
        dp: dp.clone(),
        sad: Some(esp),
    };
    let core = NodeCore::new(
        text.to_string(),
        &parsed.config,
        vec![(plan, io)],
        seed,
        now,
    )
    .map_err(|e| e.to_string())?;
    Ok(SimNode { core, dp, ifindex })
}

/// The simulated network: nodes, in-flight datagrams, timers, virtual time.
struct Net {
    nodes: Vec<SimNode>,
    by_nbma: HashMap<Ipv4Addr, usize>,
    flight: BinaryHeap<Reverse<(u64, u64, usize)>>,
    packets: HashMap<u64, Wire>,
    timers: BinaryHeap<Reverse<(u64, usize)>>,
    seq: u64,
    now_ms: u64,
    latency_ms: u64,
    hub_cpu: Duration,
}

impl Net {
    fn now(&self) -> Instant {
        Instant::from_millis(self.now_ms)
    }

    /// After a call on node `i`: its datagrams go in flight, its next deadline is queued.
    fn after(&mut self, i: usize) {
        let Some(n) = self.nodes.get(i) else {
            return;
        };
        for w in n.dp.take_out() {
            if let Some(&to) = self.by_nbma.get(&w.to()) {
                self.seq += 1;
                self.packets.insert(self.seq, w);
                self.flight
                    .push(Reverse((self.now_ms + self.latency_ms, self.seq, to)));
            }
        }
        if let Some(t) = n.core.poll_timeout() {
            self.timers
                .push(Reverse((t.as_millis().max(self.now_ms), i)));
        }
    }

    fn timed<T>(&mut self, i: usize, f: impl FnOnce(&mut SimNode, Instant) -> T) -> Option<T> {
        let now = self.now();
        let start = std::time::Instant::now();
        let out = self.nodes.get_mut(i).map(|n| f(n, now));
        if i == 0 {
            self.hub_cpu += start.elapsed();
        }
        self.after(i);
        out
    }

    /// Runs one step (the earliest datagram or timer); false when there is nothing left.
    fn step(&mut self) -> bool {
        let next_packet = self.flight.peek().map(|Reverse((t, _, _))| *t);
        let next_timer = self.timers.peek().map(|Reverse((t, _))| *t);
        match (next_packet, next_timer) {
            (Some(p), t) if t.is_none_or(|t| p <= t) => {
                let Some(Reverse((at, seq, to))) = self.flight.pop() else {
                    return false;
                };
                self.now_ms = self.now_ms.max(at);
                let Some(w) = self.packets.remove(&seq) else {
                    return true;
                };
                self.deliver(to, w);
            }
            (_, Some(_)) => {
                let Some(Reverse((at, i))) = self.timers.pop() else {
                    return false;
                };
                // Stale entries (the node's deadline moved) are skipped.
                let due = self
                    .nodes
                    .get(i)
                    .and_then(|n| n.core.poll_timeout())
                    .is_some_and(|t| t.as_millis() <= at);
                self.now_ms = self.now_ms.max(at);
                if due {
                    self.timed(i, |n, now| n.core.handle_timeout(now));
                }
            }
            _ => return false,
        }
        true
    }

    fn deliver(&mut self, to: usize, w: Wire) {
        match w {
            Wire::Ike {
                from,
                to: dst,
                bytes,
            } => {
                self.timed(to, |n, now| {
                    let ifx = n.ifindex;
                    n.core.handle_event(
                        now,
                        ifx,
                        Event::Ike {
                            local: dst,
                            remote: from,
                            message: bytes,
                        },
                    );
                });
            }
            Wire::Esp { from, bytes, .. } => {
                self.timed(to, |n, now| {
                    if let Some(packet) = n.dp.receive_esp(from, &bytes) {
                        let ifx = n.ifindex;
                        n.core.handle_event(
                            now,
                            ifx,
                            Event::Nhrp {
                                source: from,
                                packet,
                            },
                        );
                    }
                });
            }
        }
    }

    /// Spokes registered at the hub (at their NBMA address) whose SAs with it are up.
    fn spokes_back(&self) -> usize {
        let Some(hub) = self.nodes.first() else {
            return 0;
        };
        let registered: HashMap<Ipv4Addr, Ipv4Addr> = hub
            .core
            .engine()
            .cache_entries(None)
            .into_iter()
            .filter_map(|e| Some((e.prefix.addr(), e.nbma?)))
            .collect();
        let protected: std::collections::HashSet<Ipv4Addr> = hub
            .core
            .ipsec_groups()
            .flat_map(|g| g.engine.sas())
            .filter(|s| s.state == dmvpn_ike::SaState::Established)
            .map(|s| *s.remote.ip())
            .collect();
        (1..self.nodes.len())
            .filter(|i| {
                let (t, n) = spoke_addrs(i - 1);
                registered.get(&t) == Some(&n) && protected.contains(&n)
            })
            .count()
    }

    /// Runs until every spoke is back or `deadline` of virtual time passed; the time taken.
    fn run_until_back(&mut self, spokes: usize, deadline: Duration) -> (bool, f64) {
        let start = self.now_ms;
        let end = start.saturating_add(u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX));
        let mut next_check = start;
        while self.now_ms <= end {
            if self.now_ms >= next_check {
                next_check = self.now_ms + 250;
                if self.spokes_back() == spokes {
                    return (true, (self.now_ms - start) as f64 / 1000.0);
                }
            }
            if !self.step() {
                break;
            }
        }
        (false, (self.now_ms - start) as f64 / 1000.0)
    }
}

/// A hub and `spokes` IPsec spokes converge; the hub restarts with nothing; how long until
/// every spoke is back (registered at the hub, with a READY IKE SA), in virtual time, and
/// the restarted hub's CPU.
pub fn restart_storm(opts: &StormOptions) -> Result<StormReport, String> {
    let now = Instant::ZERO;
    let mut nodes = vec![node(&hub_config(opts.spokes), HUB_NBMA, 1, now)?];
    let mut by_nbma = HashMap::from([(HUB_NBMA, 0)]);
    for i in 0..opts.spokes {
        let (_, nbma) = spoke_addrs(i);
        nodes.push(node(
            &spoke_config(i, opts.registration_timeout),
            nbma,
            i as u64 + 2,
            now,
        )?);
        by_nbma.insert(nbma, i + 1);
    }
    let mut net = Net {
        nodes,
        by_nbma,
        flight: BinaryHeap::new(),
        packets: HashMap::new(),
        timers: BinaryHeap::new(),
        seq: 0,
        now_ms: 0,
        latency_ms: u64::try_from(opts.latency.as_millis()).unwrap_or(5).max(1),
        hub_cpu: Duration::ZERO,
    };
    for i in 0..net.nodes.len() {
        net.after(i);
    }
    let (ok, initial) = net.run_until_back(opts.spokes, opts.deadline);
    if !ok {
        return Err(format!(
            "the first convergence did not finish: {} of {} spokes",
            net.spokes_back(),
            opts.spokes
        ));
    }
    // The hub restarts: a new core and ESP table; what was in flight to it is lost.
    let restarted = node(&hub_config(opts.spokes), HUB_NBMA, 99, net.now())?;
    if let Some(h) = net.nodes.first_mut() {
        *h = restarted;
    }
    net.hub_cpu = Duration::ZERO;
    net.after(0);
    let (converged, recovery) = net.run_until_back(opts.spokes, opts.deadline);
    Ok(StormReport {
        spokes: opts.spokes,
        initial_secs: initial,
        recovery_secs: recovery,
        hub_cpu_secs: net.hub_cpu.as_secs_f64(),
        converged,
        spokes_back: net.spokes_back(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_ipsec_spokes_come_back_after_the_hub_restarts() {
        let r = restart_storm(&StormOptions {
            spokes: 20,
            ..StormOptions::default()
        })
        .expect("storm");
        assert!(r.converged, "{r:?}");
        assert_eq!(r.spokes_back, 20);
    }
}

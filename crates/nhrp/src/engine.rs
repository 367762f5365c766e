//! The [`Engine`]: one node's NHRP state (all its tunnel interfaces), its inputs (`handle_*`),
//! outputs (`poll_action`, `poll_timeout`) and show getters. The protocol roles live in their
//! own modules as `impl Engine` blocks: `nhc` (registration client), `nhs` (registration
//! server), `resolution`, `redirect`, `purge`, `errind` (Error Indications), `gate`
//! (protection and max-send).

use crate::action::{Action, ClearReport, ClearRequest, Event, Lookup, RemoveReason};
use crate::cache::{Cache, CacheEntry, EntryFlags, EntryKind};
use crate::config::{EngineConfig, IfIndex, InterfaceConfig, MulticastMap, Prefix};
use crate::counters::TrafficStats;
use crate::error::{DropReason, EngineError};
use crate::nhc::Nhs;
use crate::packet::PacketType;
use crate::reqid::ReqIds;
use crate::show::{CacheEntryView, InterfaceView, NhsState, NhsView, ShortcutView};
use crate::time::Instant;
use crate::timer::{TimerKey, Timers};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Hop count of Registration Requests and Traffic Indications
/// (`dmvpn_wire::nhrp::ONE_HOP_COUNT`: 1, never 0, which Cisco rejects).
pub(crate) use dmvpn_wire::nhrp::ONE_HOP_COUNT as DIRECT_HOP_COUNT;
/// Hop count of packets that NHSs may forward (`dmvpn_wire::nhrp::ROUTED_HOP_COUNT`, 64 as FRR).
pub(crate) use dmvpn_wire::nhrp::ROUTED_HOP_COUNT as DEFAULT_HOP_COUNT;
/// Seed 003: an entry used in the last minute before expiry is refreshed.
pub(crate) const REFRESH_WINDOW: Duration = Duration::from_secs(60);
/// Packets queued per peer while waiting for protection.
pub(crate) const GATE_QUEUE_LIMIT: usize = 32;

/// One tunnel interface's state.
#[derive(Debug)]
pub(crate) struct Iface {
    pub(crate) cfg: InterfaceConfig,
    pub(crate) cache: Cache,
    pub(crate) nhs: Vec<Nhs>,
    pub(crate) stats: TrafficStats,
    /// Send and receive budgets (max-send, established peers, unsolicited input).
    pub(crate) budgets: crate::budget::Budgets,
    /// Last redirect per (source, destination) pair.
    pub(crate) redirects: BTreeMap<(Ipv4Addr, Ipv4Addr), Instant>,
    /// Dynamic multicast members: NBMA → registered entries using it.
    pub(crate) multicast_dynamic: BTreeMap<Ipv4Addr, u32>,
    /// Routes learned through [`Engine::handle_route`].
    pub(crate) routes: BTreeMap<Prefix, Ipv4Addr>,
    /// The node's routes that leave through a non-tunnel interface
    /// ([`Engine::handle_local_route`]); a copy of [`Engine::local_routes`].
    pub(crate) local_routes: BTreeSet<Prefix>,
    /// Routes through the tunnel without a next hop (connected or `dev` routes), given by
    /// [`Engine::handle_tunnel_prefix`]: never local.
    pub(crate) tunnel_prefixes: BTreeSet<Prefix>,
    /// Own public NBMA, learned from a Registration Reply's NAT extension.
    pub(crate) nat_nbma: Option<Ipv4Addr>,
    /// Peers for which ProtectionNeeded was emitted.
    pub(crate) protection_requested: BTreeSet<Ipv4Addr>,
    /// Packets waiting for protection, per peer.
    pub(crate) gate_queue: BTreeMap<Ipv4Addr, VecDeque<Vec<u8>>>,
}

impl Iface {
    fn new(cfg: InterfaceConfig, local_routes: BTreeSet<Prefix>) -> Self {
        let nhs = cfg
            .nhs
            .iter()
            .map(|n| Nhs::new(n.clone(), cfg.nhs_nbma(n)))
            .collect();
        Iface {
            cfg,
            cache: Cache::default(),
            nhs,
            stats: TrafficStats::default(),
            budgets: crate::budget::Budgets::default(),
            redirects: BTreeMap::new(),
            multicast_dynamic: BTreeMap::new(),
            routes: BTreeMap::new(),
            local_routes,
            tunnel_prefixes: BTreeSet::new(),
            nat_nbma: None,
            protection_requested: BTreeSet::new(),
            gate_queue: BTreeMap::new(),
        }
    }

    /// Whether `a` is one of this station's own addresses or networks; returns the prefix.
    ///
    /// A longest-prefix match, as the kernel's lookup: the tunnel address itself; the
    /// networks written in the config (`local_networks`) and the node's routes through
    /// non-tunnel interfaces ([`Engine::handle_local_route`]) are local; routes through the
    /// tunnel (the tunnel's own subnet, config routes, [`Engine::handle_route`] and
    /// [`Engine::handle_tunnel_prefix`]) never are. A tunnel route wins only when it is
    /// strictly more specific than the best local one.
    pub(crate) fn local_prefix(&self, a: Ipv4Addr) -> Option<Prefix> {
        if a == self.cfg.protocol_addr {
            return Some(Prefix::host(a));
        }
        let local = self
            .cfg
            .local_networks
            .iter()
            .chain(self.local_routes.iter())
            .filter(|p| p.contains(a))
            .max_by_key(|p| p.len())
            .copied()?;
        let tunnel = self
            .cfg
            .routes
            .iter()
            .map(|r| r.prefix)
            .chain(self.routes.keys().copied())
            .chain(self.tunnel_prefixes.iter().copied())
            .chain(Prefix::new(self.cfg.protocol_addr, self.cfg.prefix_len).ok())
            .filter(|p| p.contains(a))
            .map(|p| p.len())
            .max();
        match tunnel {
            Some(t) if t > local.len() => None,
            _ => Some(local),
        }
    }

    /// Whether `p` is still one of this station's networks (config or local route).
    fn owns_network(&self, p: &Prefix) -> bool {
        self.cfg.local_networks.contains(p) || self.local_routes.contains(p)
    }

    /// Route lookup (config routes and learned routes): the tunnel next hop for `a`.
    pub(crate) fn route(&self, a: Ipv4Addr) -> Option<Ipv4Addr> {
        let cfg = self.cfg.routes.iter().map(|r| (r.prefix, r.next_hop));
        let dynamic = self.routes.iter().map(|(p, n)| (*p, *n));
        cfg.chain(dynamic)
            .filter(|(p, _)| p.contains(a))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, n)| n)
    }

    /// The NHS to send resolution requests to: the best priority that is not DOWN, falling
    /// back to any NHS with a known NBMA.
    pub(crate) fn active_nhs(&self) -> Option<usize> {
        let usable = |n: &&Nhs| n.nbma.is_some();
        let best = |only_up: bool| {
            self.nhs
                .iter()
                .enumerate()
                .filter(|(_, n)| usable(n) && (!only_up || n.state != NhsState::Down))
                .min_by_key(|(i, n)| {
                    (
                        n.cfg.priority,
                        matches!(n.state, NhsState::Up).then_some(0).unwrap_or(1),
                        *i,
                    )
                })
                .map(|(i, _)| i)
        };
        best(true).or_else(|| best(false))
    }

    /// Whether `nbma` is one of our NHSs.
    pub(crate) fn is_nhs_nbma(&self, nbma: Ipv4Addr) -> bool {
        self.nhs.iter().any(|n| n.nbma == Some(nbma))
    }
}

/// The sans-IO NHRP engine of one node. See the crate documentation for the call contract.
#[derive(Debug)]
pub struct Engine {
    /// Identity-bound NHRP: the tunnel networks each NBMA peer may claim (from its IKE
    /// identity), and the refusals per interface.
    pub(crate) claims: BTreeMap<Ipv4Addr, Vec<Prefix>>,
    pub(crate) identity_refused: BTreeMap<IfIndex, u64>,
    /// Jitter of registration refreshes, from the engine's seed.
    pub(crate) jitter: rand_chacha::ChaCha8Rng,
    pub(crate) ifaces: BTreeMap<IfIndex, Iface>,
    pub(crate) timers: Timers,
    pub(crate) actions: VecDeque<Action>,
    pub(crate) reqids: ReqIds,
    /// NBMA peers whose protection is up.
    pub(crate) protected: BTreeSet<Ipv4Addr>,
    pub(crate) now: Instant,
    started: bool,
    /// The node's routes through non-tunnel interfaces ([`Engine::handle_local_route`]).
    pub(crate) local_routes: BTreeSet<Prefix>,
}

impl Engine {
    /// A new engine. `seed` makes the Request ID sequence (the only "random" choice the engine
    /// makes) deterministic. Nothing happens until the first input: [`Engine::poll_timeout`]
    /// returns the epoch so the caller's first `handle_timeout(now)` starts registrations and
    /// installs static mappings.
    pub fn new(config: EngineConfig, seed: u64) -> Result<Self, EngineError> {
        let mut ifaces = BTreeMap::new();
        for c in config.interfaces {
            Self::validate(&c)?;
            let idx = c.ifindex;
            if ifaces.insert(idx, Iface::new(c, BTreeSet::new())).is_some() {
                return Err(EngineError::DuplicateInterface(idx));
            }
        }
        Ok(Engine {
            claims: BTreeMap::new(),
            identity_refused: BTreeMap::new(),
            jitter: <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed),
            ifaces,
            timers: Timers::default(),
            actions: VecDeque::new(),
            reqids: ReqIds::new(seed),
            protected: BTreeSet::new(),
            now: Instant::ZERO,
            started: false,
            local_routes: BTreeSet::new(),
        })
    }

    fn validate(c: &InterfaceConfig) -> Result<(), EngineError> {
        if c.authentication.as_ref().is_some_and(|a| a.len() > 8) {
            return Err(EngineError::AuthTooLong(c.ifindex));
        }
        Ok(())
    }

    /// A registration refresh interval spread by jitter: 90–100 % of `interval`, so that
    /// spokes started together (or all answered by a hub that came back) do not refresh in
    /// one burst; never later than asked, so entries never lapse.
    pub(crate) fn jittered(&mut self, interval: Duration) -> Duration {
        use rand::Rng as _;
        interval.mul_f64(self.jitter.random_range(0.9..=1.0))
    }

    /// Record the time of an input and run first-call initialisation.
    pub(crate) fn enter(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        if !self.started {
            self.started = true;
            let idxs: Vec<IfIndex> = self.ifaces.keys().copied().collect();
            for i in idxs {
                self.start_iface(i);
            }
        }
    }

    /// Install static state and start registrations on one interface.
    fn start_iface(&mut self, i: IfIndex) {
        let Some(iface) = self.ifaces.get(&i) else {
            return;
        };
        let maps = iface.cfg.static_maps.clone();
        let nhs: Vec<(Ipv4Addr, Option<Ipv4Addr>)> =
            iface.nhs.iter().map(|n| (n.cfg.protocol, n.nbma)).collect();
        let mcast = iface.cfg.multicast.clone();
        for m in &maps {
            self.install_static(i, m.protocol, m.nbma);
        }
        for (proto, nbma) in &nhs {
            if let Some(n) = nbma {
                if !maps.iter().any(|m| m.protocol == Prefix::host(*proto)) {
                    self.install_static(i, Prefix::host(*proto), *n);
                }
            }
        }
        for m in mcast {
            match m {
                MulticastMap::Static(n) => self.push(Action::MulticastAdd { iface: i, nbma: n }),
                MulticastMap::Nhs => {
                    for n in nhs.iter().filter_map(|(_, n)| *n) {
                        self.push(Action::MulticastAdd { iface: i, nbma: n });
                    }
                }
                MulticastMap::Dynamic => {}
            }
        }
        let now = self.now;
        let wanted = self
            .ifaces
            .get(&i)
            .map(|f| f.wanted_nhs())
            .unwrap_or_default();
        for (proto, _) in nhs {
            if wanted.contains(&proto) {
                self.timers.set(
                    TimerKey::Register {
                        iface: i,
                        nhs: proto,
                    },
                    now,
                );
            }
        }
    }

    fn install_static(&mut self, i: IfIndex, prefix: Prefix, nbma: Ipv4Addr) {
        let now = self.now;
        let e = CacheEntry {
            prefix,
            kind: EntryKind::Static,
            flags: EntryFlags::AUTHORITATIVE,
            nbma: Some(nbma),
            claimed_nbma: Some(nbma),
            next_hop: prefix.addr(),
            created: now,
            expires: None,
            holding_time: 0,
            mtu: 0,
            resolved_for: prefix.addr(),
            refreshing: false,
            answered_to: Vec::new(),
        };
        self.install(i, e);
    }

    pub(crate) fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.actions.push_back(Action::Event(e));
    }

    pub(crate) fn drop_packet(&mut self, i: IfIndex, from: Ipv4Addr, reason: DropReason) {
        if let Some(iface) = self.ifaces.get_mut(&i) {
            *iface.stats.drops.entry(reason).or_insert(0) += 1;
        }
        self.event(Event::Dropped {
            iface: i,
            from,
            reason,
        });
    }

    // ---------------------------------------------------------------- inputs

    /// A received NHRP packet (the GRE payload, protocol 0x2001) that arrived on `iface` from
    /// outer source `from_nbma`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        iface: IfIndex,
        from_nbma: Ipv4Addr,
        bytes: &[u8],
    ) {
        self.enter(now);
        self.receive(iface, from_nbma, bytes);
    }

    /// Timers: call at (or after) [`Engine::poll_timeout`]. Early or repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.enter(now);
        while let Some(key) = self.timers.pop_due(self.now) {
            match key {
                TimerKey::Register { iface, nhs } => self.on_register_timer(iface, nhs),
                TimerKey::Retransmit { reqid } => self.on_retransmit_timer(reqid),
                TimerKey::CacheExpire { iface, prefix } => self.on_cache_expire(iface, prefix),
            }
        }
    }

    /// The data plane needs the NBMA next hop for tunnel destination `dst_proto` (the route's
    /// tunnel next hop; for packets that follow a shortcut route, the packet's destination).
    /// Marks the matching entry used, starts a resolution when there is no entry (phase 2),
    /// refreshes entries used in the last minute before expiry (seed 003), and answers like
    /// [`Engine::resolve_nbma`].
    pub fn handle_traffic(&mut self, now: Instant, iface: IfIndex, dst_proto: Ipv4Addr) -> Lookup {
        self.enter(now);
        self.on_traffic(iface, dst_proto);
        self.resolve_nbma(iface, dst_proto)
    }

    /// Hub hairpin: a packet that came in from the tunnel (source `src_proto`) is being
    /// forwarded back out of it towards `dst_proto`. With `ip nhrp redirect` this sends a
    /// Traffic Indication to the source's station, rate-limited per (source, destination).
    pub fn handle_hairpin(
        &mut self,
        now: Instant,
        iface: IfIndex,
        src_proto: Ipv4Addr,
        dst_proto: Ipv4Addr,
        packet: &[u8],
    ) {
        self.enter(now);
        self.on_hairpin(iface, None, src_proto, dst_proto, packet);
    }

    /// Like [`Engine::handle_hairpin`] when the data plane knows the NBMA address the packet
    /// came from: the Traffic Indication goes straight back to that peer.
    pub fn handle_hairpin_from(
        &mut self,
        now: Instant,
        iface: IfIndex,
        from_nbma: Ipv4Addr,
        src_proto: Ipv4Addr,
        dst_proto: Ipv4Addr,
        packet: &[u8],
    ) {
        self.enter(now);
        self.on_hairpin(iface, Some(from_nbma), src_proto, dst_proto, packet);
    }

    /// The interface's own NBMA address changed: re-register with every NHS.
    pub fn handle_nbma_change(&mut self, now: Instant, iface: IfIndex, new_nbma: Ipv4Addr) {
        self.enter(now);
        let Some(ifc) = self.ifaces.get_mut(&iface) else {
            return;
        };
        if ifc.cfg.nbma_addr == new_nbma {
            return;
        }
        ifc.cfg.nbma_addr = new_nbma;
        ifc.nat_nbma = None;
        let nhs: Vec<Ipv4Addr> = ifc.nhs.iter().map(|n| n.cfg.protocol).collect();
        self.purge_own_learners(iface);
        for n in nhs {
            self.register_now(iface, n);
        }
    }

    /// Our NBMA address on `iface` changed: the stations that learned our networks from our
    /// Resolution Replies hold the old one, and would keep sending there until their
    /// entries expire. They are told to forget it (RFC 2332 §5.2.5 Purge Request) and
    /// resolve again; the records of whom we taught start over.
    fn purge_own_learners(&mut self, iface: IfIndex) {
        let Some(ifc) = self.ifaces.get_mut(&iface) else {
            return;
        };
        let prefixes: Vec<Prefix> = ifc
            .cache
            .iter_local()
            .filter(|e| !e.answered_to.is_empty())
            .map(|e| e.prefix)
            .collect();
        let mut taught = Vec::new();
        for p in prefixes {
            if let Some(e) = ifc.cache.get_mut(&p) {
                taught.push(e.clone());
                e.answered_to.clear();
            }
        }
        for e in taught {
            self.purge_learners(iface, &e);
        }
    }

    /// The tunnel source of `iface` came back (its link up again, or the interface created
    /// again) with address `nbma`, which may be the one it had: every NHS is registered
    /// with at once, as IOS does when the tunnel comes up, instead of at the next refresh.
    pub fn handle_source_up(&mut self, now: Instant, iface: IfIndex, nbma: Ipv4Addr) {
        self.enter(now);
        let Some(ifc) = self.ifaces.get_mut(&iface) else {
            return;
        };
        let moved = ifc.cfg.nbma_addr != nbma;
        ifc.cfg.nbma_addr = nbma;
        ifc.nat_nbma = None;
        let nhs: Vec<Ipv4Addr> = ifc.nhs.iter().map(|n| n.cfg.protocol).collect();
        if moved {
            self.purge_own_learners(iface);
        }
        for n in nhs {
            self.register_now(iface, n);
        }
    }

    /// Identity-bound NHRP: NBMA peer `nbma` authenticated (IKE) as an identity that may
    /// claim the tunnel networks `claims`; `None` when it has no authenticated SA any more
    /// (it may then claim nothing). Registrations already accepted stay until they expire
    /// or are refreshed.
    pub fn set_peer_claims(&mut self, now: Instant, nbma: Ipv4Addr, claims: Option<Vec<Prefix>>) {
        self.enter(now);
        match claims {
            Some(c) => {
                self.claims.insert(nbma, c);
            }
            None => {
                self.claims.remove(&nbma);
            }
        }
    }

    /// Whether a claim of `prefix` from NBMA peer `from` on interface `i` is allowed: always
    /// without identity-bound NHRP; else when the peer's claims cover the whole prefix.
    pub(crate) fn may_claim(&self, i: IfIndex, from: Ipv4Addr, prefix: &Prefix) -> bool {
        let Some(ifc) = self.ifaces.get(&i) else {
            return false;
        };
        if !ifc.cfg.identity_bound {
            return true;
        }
        self.claims.get(&from).is_some_and(|claims| {
            claims
                .iter()
                .any(|c| c.contains(prefix.addr()) && prefix.len() >= c.len())
        })
    }

    /// Counts and reports an identity-bound refusal.
    pub(crate) fn identity_refusal(
        &mut self,
        i: IfIndex,
        proto: Ipv4Addr,
        nbma: Ipv4Addr,
        registration: bool,
    ) {
        *self.identity_refused.entry(i).or_default() += 1;
        self.event(Event::IdentityRefused {
            iface: i,
            proto,
            nbma,
            registration,
        });
    }

    /// Identity-bound refusals on interface `iface` (registrations and Resolution Replies).
    pub fn identity_refusals(&self, iface: IfIndex) -> u64 {
        self.identity_refused.get(&iface).copied().unwrap_or(0)
    }

    /// Protection (IPsec) to NBMA peer `nbma` came up or went down. Packets held for the peer
    /// are released when it comes up; when it goes down while the peer is still mapped (or is
    /// an NHS), [`Action::ProtectionNeeded`] is emitted again and NHRP traffic waits.
    pub fn handle_protection(&mut self, now: Instant, nbma: Ipv4Addr, up: bool) {
        self.enter(now);
        if up {
            self.protected.insert(nbma);
            self.flush_gate(nbma);
        } else {
            self.protected.remove(&nbma);
            // Peers still in use need protection again; others are forgotten.
            let mut again = Vec::new();
            for (i, ifc) in self.ifaces.iter_mut() {
                if !ifc.protection_requested.contains(&nbma) {
                    continue;
                }
                if ifc.cache.refs(nbma) > 0 || ifc.is_nhs_nbma(nbma) {
                    again.push(*i);
                } else {
                    ifc.protection_requested.remove(&nbma);
                }
            }
            for i in again {
                self.push(Action::ProtectionNeeded { iface: i, nbma });
            }
        }
    }

    /// A route via the tunnel was added (`Some(next_hop)`) or withdrawn (`None`); used to
    /// forward Resolution Requests towards the station owning a destination.
    pub fn handle_route(
        &mut self,
        now: Instant,
        iface: IfIndex,
        prefix: Prefix,
        next_hop: Option<Ipv4Addr>,
    ) {
        self.enter(now);
        if let Some(ifc) = self.ifaces.get_mut(&iface) {
            match next_hop {
                Some(n) => ifc.routes.insert(prefix, n),
                None => ifc.routes.remove(&prefix),
            };
        }
    }

    /// A route of the node's routing table that leaves through a non-tunnel interface (a
    /// connected LAN, a static route, a routing daemon's route) was added (`present`) or
    /// withdrawn. The station answers Resolution Requests for destinations whose best match is
    /// such a route, with the route's prefix length (as Cisco IOS and FRR nhrpd do).
    ///
    /// Default routes (`/0`) are ignored: the uplink's default route is not a network this
    /// station owns, and answering for it would claim every address. Routes through the tunnel
    /// belong in [`Engine::handle_route`]. Withdrawing a route that was answered for purges the
    /// stations that learned it, as removing a `local_networks` entry does.
    pub fn handle_local_route(&mut self, now: Instant, prefix: Prefix, present: bool) {
        self.enter(now);
        if prefix.is_empty() {
            return;
        }
        let changed = if present {
            self.local_routes.insert(prefix)
        } else {
            self.local_routes.remove(&prefix)
        };
        if !changed {
            return;
        }
        let mut withdrawn = Vec::new();
        for (i, ifc) in self.ifaces.iter_mut() {
            if present {
                ifc.local_routes.insert(prefix);
            } else {
                ifc.local_routes.remove(&prefix);
                if !ifc.owns_network(&prefix)
                    && ifc
                        .cache
                        .get(&prefix)
                        .is_some_and(|e| e.flags.contains(EntryFlags::LOCAL))
                {
                    withdrawn.push(*i);
                }
            }
        }
        for i in withdrawn {
            if let Some(e) = self.remove_entry(i, prefix, RemoveReason::Replaced) {
                self.purge_learners(i, &e);
            }
        }
    }

    /// A route through tunnel `iface` without a next hop (a connected or `dev` route) was
    /// added (`present`) or withdrawn. Such routes are never local: a destination whose best
    /// match is one is not answered for (see [`Engine::handle_local_route`]).
    pub fn handle_tunnel_prefix(
        &mut self,
        now: Instant,
        iface: IfIndex,
        prefix: Prefix,
        present: bool,
    ) {
        self.enter(now);
        if let Some(ifc) = self.ifaces.get_mut(&iface) {
            if present {
                ifc.tunnel_prefixes.insert(prefix);
            } else {
                ifc.tunnel_prefixes.remove(&prefix);
            }
        }
    }

    /// The node's routes through non-tunnel interfaces, as given to
    /// [`Engine::handle_local_route`].
    pub fn local_routes(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.local_routes.iter().copied()
    }

    /// Replace the configuration. Removed interfaces are cleared; new ones start; changed ones
    /// keep their dynamic cache when their own addresses are unchanged, get their static
    /// entries reinstalled and restart registration.
    pub fn update_config(&mut self, now: Instant, config: EngineConfig) -> Result<(), EngineError> {
        self.enter(now);
        let mut seen = BTreeSet::new();
        for c in &config.interfaces {
            Self::validate(c)?;
            if !seen.insert(c.ifindex) {
                return Err(EngineError::DuplicateInterface(c.ifindex));
            }
        }
        let old: Vec<IfIndex> = self.ifaces.keys().copied().collect();
        for i in old {
            if !seen.contains(&i) {
                self.remove_iface(i);
            }
        }
        for c in config.interfaces {
            let i = c.ifindex;
            match self.ifaces.get(&i) {
                Some(cur) if cur.cfg == c => {}
                Some(_) => self.reconfigure_iface(i, c),
                None => {
                    self.ifaces
                        .insert(i, Iface::new(c, self.local_routes.clone()));
                    self.start_iface(i);
                }
            }
        }
        Ok(())
    }

    /// Apply a changed configuration to a running interface with as little churn as possible:
    /// dynamic entries survive unless the own addresses changed; static entries and multicast
    /// members are diffed; NHSs whose address and registration parameters are unchanged keep
    /// their state and schedule, others (re)start registering at once.
    fn reconfigure_iface(&mut self, i: IfIndex, c: InterfaceConfig) {
        let Some(cur) = self.ifaces.get(&i) else {
            return;
        };
        let old = &cur.cfg;
        let keep_dynamic = old.protocol_addr == c.protocol_addr && old.nbma_addr == c.nbma_addr;
        let same_registration = keep_dynamic
            && old.holdtime == c.holdtime
            && old.registration_timeout == c.registration_timeout
            && old.registration_no_unique == c.registration_no_unique
            && old.authentication == c.authentication
            && old.mtu == c.mtu
            && old.protection_required == c.protection_required;
        // Networks we stopped answering for: purge whoever learned them from us.
        let withdrawn: Vec<Prefix> = cur
            .cache
            .iter_local()
            .filter(|e| {
                !c.local_networks.contains(&e.prefix) && !cur.local_routes.contains(&e.prefix)
            })
            .map(|e| e.prefix)
            .collect();
        let desired = static_set(&c);
        let stale_statics: Vec<Prefix> = cur
            .cache
            .prefixes()
            .into_iter()
            .filter(|p| {
                cur.cache.get(p).is_some_and(|e| {
                    e.kind == EntryKind::Static && desired.get(p).copied() != e.nbma
                })
            })
            .collect();
        let old_mc = static_multicast(old);
        let new_mc = static_multicast(&c);
        let old_nhs = cur.nhs.clone();
        for p in withdrawn {
            if let Some(e) = self.remove_entry(i, p, RemoveReason::Replaced) {
                self.purge_learners(i, &e);
            }
        }
        if !keep_dynamic {
            self.clear_iface(i, true, false);
        }
        for p in stale_statics {
            self.remove_entry(i, p, RemoveReason::Replaced);
        }
        // NHSs: carry unchanged ones over, stop the others.
        let mut nhs = Vec::new();
        let mut fresh = Vec::new();
        for n in &c.nhs {
            let nbma = c.nhs_nbma(n);
            match old_nhs
                .iter()
                .find(|o| o.cfg.protocol == n.protocol && o.nbma == nbma)
            {
                Some(o) if same_registration => {
                    let mut kept = o.clone();
                    kept.cfg = n.clone();
                    nhs.push(kept);
                }
                _ => {
                    nhs.push(Nhs::new(n.clone(), nbma));
                    fresh.push(n.protocol);
                }
            }
        }
        for o in &old_nhs {
            let kept = nhs.iter().any(|n| n.cfg.protocol == o.cfg.protocol)
                && !fresh.contains(&o.cfg.protocol);
            if !kept {
                self.timers.cancel(TimerKey::Register {
                    iface: i,
                    nhs: o.cfg.protocol,
                });
                if let Some(id) = o.reqid {
                    self.reqids.pending.remove(&id);
                    self.timers.cancel(TimerKey::Retransmit { reqid: id });
                }
            }
        }
        if let Some(ifc) = self.ifaces.get_mut(&i) {
            ifc.nhs = nhs;
            ifc.cfg = c;
        }
        for (p, n) in &desired {
            let present = self
                .ifaces
                .get(&i)
                .and_then(|f| f.cache.get(p))
                .is_some_and(|e| e.kind == EntryKind::Static && e.nbma == Some(*n));
            if !present {
                self.install_static(i, *p, *n);
            }
        }
        for n in old_mc.difference(&new_mc) {
            self.push(Action::MulticastRemove { iface: i, nbma: *n });
        }
        for n in new_mc.difference(&old_mc) {
            self.push(Action::MulticastAdd { iface: i, nbma: *n });
        }
        let now = self.now;
        let wanted = self
            .ifaces
            .get(&i)
            .map(|f| f.wanted_nhs())
            .unwrap_or_default();
        for p in fresh {
            if wanted.contains(&p) {
                self.timers
                    .set(TimerKey::Register { iface: i, nhs: p }, now);
            }
        }
        self.rebalance_nhs(i);
    }

    fn remove_iface(&mut self, i: IfIndex) {
        self.clear_iface(i, true, true);
        self.stop_registrations(i);
        self.ifaces.remove(&i);
    }

    fn stop_registrations(&mut self, i: IfIndex) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let nhs: Vec<Ipv4Addr> = ifc.nhs.iter().map(|n| n.cfg.protocol).collect();
        for n in nhs {
            self.timers.cancel(TimerKey::Register { iface: i, nhs: n });
        }
        let ids: Vec<u32> = self
            .reqids
            .pending
            .iter()
            .filter(|(_, p)| p.iface == i)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.reqids.pending.remove(&id);
            self.timers.cancel(TimerKey::Retransmit { reqid: id });
        }
    }

    /// Orderly stop: send a Purge Request (N flag) for our own binding to every NHS we
    /// registered with, and stop registering. The engine stays usable for show commands.
    pub fn shutdown(&mut self, now: Instant) {
        self.enter(now);
        let idxs: Vec<IfIndex> = self.ifaces.keys().copied().collect();
        for i in idxs {
            let registered: Vec<Ipv4Addr> = self
                .ifaces
                .get(&i)
                .map(|f| {
                    f.nhs
                        .iter()
                        .filter(|n| n.state == NhsState::Up)
                        .map(|n| n.cfg.protocol)
                        .collect()
                })
                .unwrap_or_default();
            self.stop_registrations(i);
            for n in registered {
                self.purge_own_binding(i, n);
            }
        }
    }

    /// `clear ip nhrp`: dynamic entries only, everything (static entries are reinstalled), or
    /// one entry.
    pub fn clear(&mut self, now: Instant, req: ClearRequest) -> ClearReport {
        self.enter(now);
        let all: Vec<IfIndex> = self.ifaces.keys().copied().collect();
        let mut removed = 0;
        match req {
            ClearRequest::Dynamic { iface } => {
                for i in iface.map(|i| vec![i]).unwrap_or(all) {
                    removed += self.clear_iface(i, true, false);
                }
            }
            ClearRequest::All { iface } => {
                for i in iface.map(|i| vec![i]).unwrap_or(all) {
                    removed += self.clear_iface(i, true, true);
                    if let Some(ifc) = self.ifaces.get(&i) {
                        let maps = ifc.cfg.static_maps.clone();
                        let nhs: Vec<(Ipv4Addr, Option<Ipv4Addr>)> =
                            ifc.nhs.iter().map(|n| (n.cfg.protocol, n.nbma)).collect();
                        for m in &maps {
                            self.install_static(i, m.protocol, m.nbma);
                        }
                        for (p, n) in nhs {
                            if let Some(n) = n {
                                if !maps.iter().any(|m| m.protocol == Prefix::host(p)) {
                                    self.install_static(i, Prefix::host(p), n);
                                }
                            }
                        }
                    }
                }
            }
            ClearRequest::Entry { iface, proto } => {
                let target = self.ifaces.get(&iface).and_then(|ifc| {
                    ifc.cache
                        .lookup(proto)
                        .filter(|e| e.kind != EntryKind::Static)
                        .map(|e| e.prefix)
                });
                if let Some(p) = target {
                    if let Some(old) = self.remove_entry(iface, p, RemoveReason::Cleared) {
                        self.purge_learners(iface, &old);
                    }
                    removed += 1;
                }
            }
        }
        ClearReport { removed }
    }

    /// Remove dynamic entries (and static ones when `statics`); `dynamic == false` keeps them.
    fn clear_iface(&mut self, i: IfIndex, dynamic: bool, statics: bool) -> usize {
        let Some(ifc) = self.ifaces.get(&i) else {
            return 0;
        };
        let mut victims: Vec<Prefix> = ifc
            .cache
            .iter()
            .filter(|e| {
                if e.kind == EntryKind::Static {
                    statics
                } else {
                    dynamic
                }
            })
            .map(|e| e.prefix)
            .collect();
        // Deterministic output order.
        victims.sort();
        let n = victims.len();
        for p in victims {
            // Stations that learned a cleared binding from us are told to forget it.
            if let Some(old) = self.remove_entry(i, p, RemoveReason::Cleared) {
                self.purge_learners(i, &old);
            }
        }
        n
    }

    // ---------------------------------------------------------------- outputs

    /// The next action to perform, in order. Drain after every input.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Engine::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.started {
            return Some(Instant::ZERO);
        }
        self.timers.next()
    }

    // ---------------------------------------------------------------- data plane

    /// The NBMA next hop for tunnel destination `proto` without side effects: a direct binding,
    /// else the active NHS (so nothing is dropped while a resolution is pending).
    pub fn resolve_nbma(&self, iface: IfIndex, proto: Ipv4Addr) -> Lookup {
        let Some(ifc) = self.ifaces.get(&iface) else {
            return Lookup::Unreachable;
        };
        let entry = ifc.cache.lookup(proto);
        if let Some(e) = entry {
            if e.is_complete() {
                if let Some(n) = e.nbma {
                    return Lookup::Direct(n);
                }
            }
        }
        if let Some(n) = ifc
            .active_nhs()
            .and_then(|k| ifc.nhs.get(k))
            .and_then(|n| n.nbma)
        {
            return Lookup::ViaNhs(n);
        }
        match entry.map(|e| e.kind) {
            Some(EntryKind::Incomplete) => Lookup::Pending,
            _ => Lookup::Unreachable,
        }
    }

    // ---------------------------------------------------------------- show

    /// Cache entries of one interface (or all), sorted by interface and prefix.
    pub fn cache_entries(&self, iface: Option<IfIndex>) -> Vec<CacheEntryView> {
        let mut out = Vec::new();
        for (i, ifc) in self
            .ifaces
            .iter()
            .filter(|(i, _)| iface.is_none_or(|x| x == **i))
        {
            for p in ifc.cache.prefixes() {
                if let Some(e) = ifc.cache.get(&p) {
                    out.push(CacheEntryView {
                        iface: *i,
                        iface_name: ifc.cfg.name.clone(),
                        prefix: e.prefix,
                        next_hop: e.next_hop,
                        nbma: e.nbma,
                        claimed_nbma: e.claimed_nbma.filter(|c| Some(*c) != e.nbma),
                        kind: e.kind,
                        flags: e.flags,
                        flag_names: e.flags.names().into_iter().map(String::from).collect(),
                        created: e.created,
                        expires: e.expires,
                    });
                }
            }
        }
        out
    }

    /// NHS state per interface (or all).
    pub fn nhs_status(&self, iface: Option<IfIndex>) -> Vec<NhsView> {
        let mut out = Vec::new();
        for (i, ifc) in self
            .ifaces
            .iter()
            .filter(|(i, _)| iface.is_none_or(|x| x == **i))
        {
            let active = ifc.active_nhs();
            for (k, n) in ifc.nhs.iter().enumerate() {
                out.push(NhsView {
                    iface: *i,
                    iface_name: ifc.cfg.name.clone(),
                    protocol: n.cfg.protocol,
                    nbma: n.nbma,
                    priority: n.cfg.priority,
                    state: n.state,
                    requests: n.requests,
                    replies: n.replies,
                    unanswered: n.unanswered,
                    failed: n.failed,
                    next_registration: self.next_registration(*i, n),
                    active: active == Some(k),
                });
            }
        }
        out
    }

    /// Installed shortcut routes.
    pub fn shortcuts(&self, iface: Option<IfIndex>) -> Vec<ShortcutView> {
        let mut out = Vec::new();
        for (i, ifc) in self
            .ifaces
            .iter()
            .filter(|(i, _)| iface.is_none_or(|x| x == **i))
        {
            if !ifc.cfg.shortcut {
                continue;
            }
            for p in ifc.cache.prefixes() {
                if let Some(e) = ifc
                    .cache
                    .get(&p)
                    .filter(|e| e.is_complete() && e.is_shortcut() && e.kind == EntryKind::Dynamic)
                {
                    out.push(ShortcutView {
                        iface: *i,
                        prefix: e.prefix,
                        next_hop: e.next_hop,
                        nbma: e.nbma,
                        expires: e.expires,
                    });
                }
            }
        }
        out
    }

    /// `show ip nhrp traffic` for one interface.
    pub fn traffic(&self, iface: IfIndex) -> Option<TrafficStats> {
        let ifc = self.ifaces.get(&iface)?;
        let mut s = ifc.stats.clone();
        if let Some(m) = ifc.cfg.max_send {
            s.max_send_limit = Some(m.packets);
            s.max_send_interval_secs = m.every.as_secs();
            s.max_send_used = ifc.budgets.shared.used(self.now, m.packets, m.every);
            s.max_send_established_used =
                ifc.budgets.established.used(self.now, m.packets, m.every);
            s.max_send_usage_percent = s
                .max_send_used
                .saturating_mul(100)
                .checked_div(m.packets)
                .unwrap_or(100);
        }
        s.protection_queued = ifc.gate_queue.values().map(|q| q.len() as u64).sum();
        Some(s)
    }

    /// Interface summaries.
    pub fn interfaces(&self) -> Vec<InterfaceView> {
        self.ifaces
            .iter()
            .map(|(i, ifc)| {
                let mut mc: BTreeSet<Ipv4Addr> = ifc.multicast_dynamic.keys().copied().collect();
                for m in &ifc.cfg.multicast {
                    match m {
                        MulticastMap::Static(n) => {
                            mc.insert(*n);
                        }
                        MulticastMap::Nhs => mc.extend(ifc.nhs.iter().filter_map(|n| n.nbma)),
                        MulticastMap::Dynamic => {}
                    }
                }
                InterfaceView {
                    iface: *i,
                    name: ifc.cfg.name.clone(),
                    protocol_addr: ifc.cfg.protocol_addr,
                    nbma_addr: ifc.cfg.nbma_addr,
                    nat_nbma: ifc.nat_nbma,
                    entries: ifc.cache.len(),
                    multicast: mc.into_iter().collect(),
                }
            })
            .collect()
    }

    /// The current configuration.
    pub fn config(&self) -> EngineConfig {
        EngineConfig {
            interfaces: self.ifaces.values().map(|i| i.cfg.clone()).collect(),
        }
    }

    /// Number of armed timers (for benchmarks and leak tests).
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Number of requests waiting for replies (for benchmarks and leak tests).
    pub fn pending_requests(&self) -> usize {
        self.reqids.pending.len()
    }

    // ---------------------------------------------------------------- receive path

    fn receive(&mut self, i: IfIndex, from: Ipv4Addr, bytes: &[u8]) {
        if !self.ifaces.contains_key(&i) {
            self.event(Event::Dropped {
                iface: i,
                from,
                reason: DropReason::UnknownInterface,
            });
            return;
        }
        let msg = match crate::codec::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                if let (crate::codec::DecodeError::UnknownType(_), Some(ifc)) =
                    (&e, self.ifaces.get_mut(&i))
                {
                    ifc.stats.rcvd.count_other();
                }
                self.drop_packet(i, from, e.drop_reason());
                return;
            }
        };
        if let Err(reason) = self.check_auth(i, &msg) {
            self.drop_packet(i, from, reason);
            if crate::error::may_send_error_for(msg.ptype) {
                self.send_error(
                    i,
                    from,
                    crate::packet::error_code::AUTHENTICATION_FAILURE,
                    0,
                    &msg,
                    bytes,
                );
            }
            return;
        }
        if let Some(off) = crate::codec::unknown_compulsory(&msg) {
            self.drop_packet(i, from, DropReason::UnrecognizedCompulsoryExtension);
            if crate::error::may_send_error_for(msg.ptype) {
                self.send_error(
                    i,
                    from,
                    crate::packet::error_code::UNRECOGNIZED_EXTENSION,
                    off,
                    &msg,
                    bytes,
                );
            }
            return;
        }
        if let Some(ifc) = self.ifaces.get_mut(&i) {
            ifc.stats.rcvd.count(&msg);
        }
        if !self.admit_unsolicited(i, from, msg.ptype) {
            return self.drop_packet(i, from, DropReason::RateLimited);
        }
        match msg.ptype {
            PacketType::RegistrationRequest => self.on_registration_request(i, from, msg),
            PacketType::RegistrationReply => self.on_registration_reply(i, from, msg),
            PacketType::ResolutionRequest => self.on_resolution_request(i, from, msg, bytes),
            PacketType::ResolutionReply => self.on_resolution_reply(i, from, msg),
            PacketType::PurgeRequest => self.on_purge_request(i, from, msg),
            PacketType::PurgeReply => self.on_purge_reply(i, from, msg),
            PacketType::ErrorIndication => self.on_error_indication(i, from, msg),
            PacketType::TrafficIndication => self.on_traffic_indication(i, from, msg),
        }
    }

    // ---------------------------------------------------------------- cache operations

    /// Install (or replace) an entry, emitting mapping/shortcut/protection actions and arming
    /// its expiry timer.
    pub(crate) fn install(&mut self, i: IfIndex, e: CacheEntry) {
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        let prefix = e.prefix;
        let new_binding = e
            .is_complete()
            .then_some((e.next_hop, e.nbma))
            .and_then(|(h, n)| n.map(|n| (h, n)));
        let shortcut_enabled = ifc.cfg.shortcut;
        let is_shortcut = e.is_shortcut();
        let expires = e.expires;
        let kind = e.kind;
        let nbma = e.nbma;
        let old = ifc.cache.insert(e);
        let old_binding = old
            .as_ref()
            .filter(|o| o.is_complete())
            .and_then(|o| o.nbma.map(|n| (o.next_hop, n)));
        let old_nbma = old_binding.map(|(_, n)| n);
        if let Some(o) = old
            .as_ref()
            .filter(|o| o.flags.contains(EntryFlags::REGISTERED) && o.nbma != nbma)
        {
            if let Some(n) = o.nbma {
                self.multicast_leave(i, n);
            }
        }
        match expires {
            Some(t) => self
                .timers
                .set(TimerKey::CacheExpire { iface: i, prefix }, t),
            None => self
                .timers
                .cancel(TimerKey::CacheExpire { iface: i, prefix }),
        }
        if old.is_none() || old.as_ref().map(|o| (o.kind, o.nbma)) != Some((kind, nbma)) {
            self.event(Event::CacheAdded {
                iface: i,
                prefix,
                nbma,
            });
        }
        if old_binding != new_binding {
            if let Some((hop, n)) = old_binding {
                if old.as_ref().is_some_and(|o| o.is_shortcut()) {
                    if shortcut_enabled {
                        self.push(Action::ShortcutRemove {
                            iface: i,
                            prefix,
                            next_hop: hop,
                        });
                    }
                } else {
                    self.push(Action::MappingRemove {
                        iface: i,
                        proto: hop,
                        nbma: n,
                    });
                }
            }
            if let Some((hop, n)) = new_binding {
                if is_shortcut {
                    if shortcut_enabled {
                        self.push(Action::ShortcutAdd {
                            iface: i,
                            prefix,
                            next_hop: hop,
                        });
                    }
                } else {
                    self.push(Action::MappingAdd {
                        iface: i,
                        proto: hop,
                        nbma: n,
                    });
                }
                self.ensure_protection(i, n);
            }
        }
        if let Some(n) = old_nbma {
            if new_binding.map(|(_, x)| x) != Some(n) {
                self.release_protection(i, n);
            }
        }
    }

    /// Remove an entry, emitting the reverse actions.
    pub(crate) fn remove_entry(
        &mut self,
        i: IfIndex,
        prefix: Prefix,
        reason: RemoveReason,
    ) -> Option<CacheEntry> {
        let ifc = self.ifaces.get_mut(&i)?;
        let old = ifc.cache.remove(&prefix)?;
        let shortcut_enabled = ifc.cfg.shortcut;
        self.timers
            .cancel(TimerKey::CacheExpire { iface: i, prefix });
        if old.flags.contains(EntryFlags::REGISTERED) {
            if let Some(n) = old.nbma {
                self.multicast_leave(i, n);
            }
        }
        if old.is_complete() {
            if let Some(n) = old.nbma {
                if old.is_shortcut() {
                    if shortcut_enabled {
                        self.push(Action::ShortcutRemove {
                            iface: i,
                            prefix,
                            next_hop: old.next_hop,
                        });
                    }
                } else {
                    self.push(Action::MappingRemove {
                        iface: i,
                        proto: old.next_hop,
                        nbma: n,
                    });
                }
                self.release_protection(i, n);
            }
        }
        self.event(Event::CacheRemoved {
            iface: i,
            prefix,
            reason,
        });
        Some(old)
    }

    fn on_cache_expire(&mut self, i: IfIndex, prefix: Prefix) {
        let Some(e) = self.ifaces.get(&i).and_then(|f| f.cache.get(&prefix)) else {
            return;
        };
        if e.expires.is_some_and(|t| t > self.now) {
            // Re-armed by a refresh that raced with this deadline.
            if let Some(t) = e.expires {
                self.timers
                    .set(TimerKey::CacheExpire { iface: i, prefix }, t);
            }
            return;
        }
        let was_incomplete = e.kind == EntryKind::Incomplete;
        let removed = self.remove_entry(i, prefix, RemoveReason::Expired);
        if let Some(old) = removed {
            if !was_incomplete {
                self.purge_learners(i, &old);
            }
        }
    }

    /// Mark the entry for `dst` used; refresh it when it is in its last minute; start a
    /// resolution when there is none.
    fn on_traffic(&mut self, i: IfIndex, dst: Ipv4Addr) {
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        let Some(p) = ifc.cache.lookup_prefix(dst) else {
            if !ifc.nhs.is_empty() && ifc.local_prefix(dst).is_none() {
                self.start_resolution(i, dst, false);
            }
            return;
        };
        let Some(e) = ifc.cache.get_mut(&p) else {
            return;
        };
        e.flags.insert(EntryFlags::USED);
        let needs_refresh = e.kind == EntryKind::Dynamic
            && !e.refreshing
            && !e.flags.contains(EntryFlags::REGISTERED)
            && !e.flags.contains(EntryFlags::LOCAL)
            && e.expires
                .is_some_and(|t| t.saturating_duration_since(now) <= REFRESH_WINDOW);
        let target = e.resolved_for;
        let hop = e.next_hop;
        let shortcut = e.is_shortcut();
        if needs_refresh {
            e.refreshing = true;
            self.start_resolution(i, target, true);
        }
        if shortcut {
            if let Some(h) = self
                .ifaces
                .get_mut(&i)
                .and_then(|f| f.cache.get_mut(&Prefix::host(hop)))
            {
                h.flags.insert(EntryFlags::USED);
            }
        }
    }

    pub(crate) fn next_registration(&self, i: IfIndex, n: &Nhs) -> Option<Instant> {
        let reg = self.timers.get(&TimerKey::Register {
            iface: i,
            nhs: n.cfg.protocol,
        });
        let rtx = n
            .reqid
            .and_then(|id| self.timers.get(&TimerKey::Retransmit { reqid: id }));
        match (reg, rtx) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The static entries a configuration asks for: `ip nhrp map`, plus one per NHS whose NBMA
/// comes from the `nhs ... nbma` form.
fn static_set(c: &InterfaceConfig) -> BTreeMap<Prefix, Ipv4Addr> {
    let mut out: BTreeMap<Prefix, Ipv4Addr> =
        c.static_maps.iter().map(|m| (m.protocol, m.nbma)).collect();
    for n in &c.nhs {
        if let Some(nbma) = c.nhs_nbma(n) {
            out.entry(Prefix::host(n.protocol)).or_insert(nbma);
        }
    }
    out
}

/// Multicast members a configuration names statically (`map multicast NBMA` and `... nhs`).
fn static_multicast(c: &InterfaceConfig) -> BTreeSet<Ipv4Addr> {
    let mut out = BTreeSet::new();
    for m in &c.multicast {
        match m {
            MulticastMap::Static(n) => {
                out.insert(*n);
            }
            MulticastMap::Nhs => out.extend(c.nhs.iter().filter_map(|n| c.nhs_nbma(n))),
            MulticastMap::Dynamic => {}
        }
    }
    out
}

//! The node core: one DMVPN node's state and logic, synchronous and free of I/O scheduling.
//!
//! [`NodeCore`] owns the sans-IO NHRP engine and, per tunnel interface, the data plane behind
//! the seam ([`DataPlane`], never a concrete backend). The async shell ([`crate::shell`]) feeds
//! it inputs, each with `now` (milliseconds on the node's monotonic clock):
//! * data-plane [`Event`]s ([`NodeCore::handle_event`]);
//! * timer expiry ([`NodeCore::handle_timeout`]) at [`NodeCore::poll_timeout`], the earliest
//!   deadline of every engine the core drives;
//! * the kernel routes the data plane follows ([`NodeCore::sync_routes`]) and the traffic it
//!   carried ([`NodeCore::track_usage`]);
//! * control requests ([`NodeCore::on_control`]), answered from its state ([`show`], [`clear`]);
//! * reloads, as a computed diff ([`reload`]);
//! * shutdown ([`NodeCore::shutdown`]), which goes through `Engine::shutdown`.
//!
//! After every input the core executes the engine's actions on the data plane ([`actions`]).
//! Starting and stopping tunnels, kernel routes and the clock belong to the shell.

pub mod actions;
pub mod clear;
mod identity;
pub mod ipsec;
mod ipsec_log;
pub mod reload;
pub mod show;
pub mod show_crypto;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use dmvpn_config::Config;
use dmvpn_dataplane::seam::{DataPlane, Event};
use dmvpn_dataplane::{Ipv4Prefix, TrafficCounters};
use dmvpn_mgmt as mgmt;
use dmvpn_nhrp::{EngineConfig, EntryFlags, EntryKind, IfIndex, Instant, Prefix as NhrpPrefix};

use crate::events::LineLimiter;
use crate::translate::{KernelRoute, TunnelPlan};

pub use reload::{ReloadPlan, TunnelChange};

/// Why the core cannot take a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// The configuration cannot be run (translation or validation).
    #[error("{0}")]
    Config(String),
    /// The NHRP engine refused its configuration.
    #[error("NHRP: {0}")]
    Engine(String),
    /// A reload plan was computed against another running state.
    #[error("reload plan is stale: {0}")]
    StalePlan(String),
}

/// A started tunnel's I/O, as the shell hands it to the core: the data plane and, for a
/// protected tunnel, the SA database its protection reads.
#[derive(Clone)]
pub struct TunnelIo {
    /// The data plane.
    pub dp: Arc<dyn DataPlane>,
    /// Where Child SAs go (`None`: the tunnel is not protected).
    pub sad: Option<Arc<dyn ipsec::SaDatabase>>,
}

impl From<Arc<dyn DataPlane>> for TunnelIo {
    fn from(dp: Arc<dyn DataPlane>) -> TunnelIo {
        TunnelIo { dp, sad: None }
    }
}

/// A tunnel as the core holds it: its plan and its data plane.
pub struct CoreTunnel {
    /// What the configuration asked for.
    pub plan: TunnelPlan,
    /// The tunnel's data plane.
    pub dp: Arc<dyn DataPlane>,
    /// The SA database of a protected tunnel (its IKE engine is its IPsec group's, in
    /// `NodeCore::ipsec`).
    pub sad: Option<Arc<dyn ipsec::SaDatabase>>,
    /// Tunnel routes last given to the engine (from the routes the data plane follows).
    engine_routes: BTreeMap<NhrpPrefix, Ipv4Addr>,
    /// Tunnel routes without a next hop last given to the engine (never local).
    engine_tunnel_prefixes: BTreeSet<NhrpPrefix>,
    /// The data plane's [`DataPlane::routes_version`] at the last sync.
    routes_version: Option<u64>,
}

impl CoreTunnel {
    fn new(plan: TunnelPlan, dp: Arc<dyn DataPlane>) -> CoreTunnel {
        CoreTunnel {
            plan,
            dp,
            sad: None,
            engine_routes: BTreeMap::new(),
            engine_tunnel_prefixes: BTreeSet::new(),
            routes_version: None,
        }
    }

    /// Seeds the data plane's tables from the plan (NHS list, multicast policy) and applies
    /// the settings a running data plane can change in place.
    /// A tunnel started with `io`: a protected plan keeps `io.sad` (its IPsec group's IKE
    /// engine installs there), and cannot run without one (fail closed).
    fn start(plan: TunnelPlan, io: TunnelIo) -> Result<CoreTunnel, CoreError> {
        let mut t = CoreTunnel::new(plan, io.dp);
        if let Some(profile) = &t.plan.ipsec {
            let Some(sad) = io.sad else {
                return Err(CoreError::Config(format!(
                    "{}: protected by `{}` but started without an SA database: refusing to run it unprotected",
                    t.plan.name, profile.ipsec_profile
                )));
            };
            // The profile must make an engine (checked again when the group is formed).
            crate::ike_config::ike_config(profile, &t.plan.ike_limits)
                .map_err(CoreError::Config)?;
            t.sad = Some(sad);
        }
        Ok(t)
    }

    fn apply_plan(&self) {
        self.dp.set_nhs(self.plan.nhs_nbma.clone());
        self.dp.set_multicast_policy(self.plan.multicast.clone());
        self.dp
            .set_tcp_adjust_mss(self.plan.dataplane.tcp_adjust_mss);
        self.dp
            .set_detect_hairpin(self.plan.dataplane.detect_hairpin);
        if let Err(e) = self.dp.set_mtu(self.plan.dataplane.mtu) {
            tracing::warn!(
                "{}: ip mtu {} not applied: {e}",
                self.plan.name,
                self.plan.dataplane.mtu
            );
        }
    }
}

/// The node: engine, tunnels, counter baselines, debug state.
pub struct NodeCore {
    /// The latest `now` of any input (show answers are relative to it).
    now: Instant,
    config_text: String,
    engine: dmvpn_nhrp::Engine,
    tunnels: BTreeMap<IfIndex, CoreTunnel>,
    /// IPsec: per group of protected tunnels ([`TunnelPlan::ipsec_group`]), the IKE engine
    /// over the group's SA database.
    ipsec: BTreeMap<String, ipsec::TunnelIpsec>,
    /// Peers whose protection the engine asked for.
    protected: BTreeSet<Ipv4Addr>,
    /// Counter values at the last `clear dmvpn statistics` / `clear counters`, per tunnel and
    /// per peer (`None` = the whole tunnel); shown counters are relative to them.
    counter_base: BTreeMap<(IfIndex, Option<Ipv4Addr>), TrafficCounters>,
    /// `debug …` switches and conditions.
    debug: mgmt::DebugConditions,
    /// Packets sent per (tunnel, peer NBMA) at the last usage check.
    last_tx: BTreeMap<(IfIndex, Ipv4Addr), u64>,
    /// `debug nhrp capture FILE`: every NHRP packet sent and received.
    capture: Option<actions::NhrpCapture>,
    /// `logging dmvpn rate-limit SECONDS`.
    event_limiter: LineLimiter,
    /// The always-on limits of flood-prone log lines.
    flood_log: crate::flood_log::FloodLog,
    /// Set by [`NodeCore::shutdown`]: Purge Requests sent from then on are logged.
    shutting_down: bool,
    /// The node's routes through non-tunnel interfaces last given to the engine.
    engine_local_routes: BTreeSet<NhrpPrefix>,
    /// The IPsec key log (Wireshark `esp_sa` lines), when asked for.
    key_log: Option<std::fs::File>,
}

/// The earliest of several optional deadlines (one per engine the core drives).
pub fn earliest(deadlines: impl IntoIterator<Item = Option<Instant>>) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}

fn engine_config(tunnels: &BTreeMap<IfIndex, CoreTunnel>) -> EngineConfig {
    EngineConfig {
        interfaces: tunnels
            .values()
            .filter(|t| t.plan.nhrp)
            .map(|t| {
                t.plan
                    .engine_config(t.dp.source_address().unwrap_or(Ipv4Addr::UNSPECIFIED))
            })
            .collect(),
    }
}

fn dp_prefix(p: &NhrpPrefix) -> Option<Ipv4Prefix> {
    Ipv4Prefix::new(p.addr(), p.len()).ok()
}

impl NodeCore {
    /// A core over started tunnels (`tunnels`: each plan with its data plane), running the
    /// configuration `config` (whose text `show running-config` prints). The engine is seeded
    /// with `seed` (request ids) and starts at `now`.
    pub fn new(
        config_text: String,
        config: &Config,
        tunnels: Vec<(TunnelPlan, TunnelIo)>,
        seed: u64,
        now: Instant,
    ) -> Result<NodeCore, CoreError> {
        let mut started = BTreeMap::new();
        for (plan, io) in tunnels {
            started.insert(plan.ifindex, CoreTunnel::start(plan, io)?);
        }
        let tunnels = started;
        let engine = dmvpn_nhrp::Engine::new(engine_config(&tunnels), seed)
            .map_err(|e| CoreError::Engine(e.to_string()))?;
        for t in tunnels.values() {
            t.apply_plan();
        }
        let mut core = NodeCore {
            now,
            config_text,
            engine,
            tunnels,
            ipsec: BTreeMap::new(),
            protected: BTreeSet::new(),
            counter_base: BTreeMap::new(),
            debug: mgmt::DebugConditions::default(),
            last_tx: BTreeMap::new(),
            capture: None,
            event_limiter: LineLimiter::new(config.logging_dmvpn_rate_limit),
            flood_log: crate::flood_log::FloodLog::default(),
            shutting_down: false,
            engine_local_routes: BTreeSet::new(),
            key_log: None,
        };
        core.regroup_ipsec().map_err(CoreError::Config)?;
        core.handle_timeout(now);
        Ok(core)
    }

    fn enter(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The latest time the core has seen.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The engine (read-only: views for tests and tools).
    pub fn engine(&self) -> &dmvpn_nhrp::Engine {
        &self.engine
    }

    /// The tunnels, by engine interface index.
    pub fn tunnels(&self) -> impl Iterator<Item = &CoreTunnel> {
        self.tunnels.values()
    }

    /// The IPsec groups (one per protected tunnel, or per `shared` tunnel source).
    pub fn ipsec_groups(&self) -> impl Iterator<Item = &ipsec::TunnelIpsec> {
        self.ipsec.values()
    }

    /// The kernel routes the configuration installs, per tunnel device name.
    pub fn kernel_routes(&self) -> Vec<(String, KernelRoute)> {
        self.tunnels
            .values()
            .flat_map(|t| t.plan.routes.iter().map(|r| (t.plan.name.clone(), *r)))
            .collect()
    }

    /// When [`NodeCore::handle_timeout`] is due next: the earliest deadline of every engine
    /// the core drives (the NHRP engine, and each protected tunnel's IKE engine and SA
    /// database poll).
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.engine.poll_timeout(), self.ipsec_deadline()])
    }

    /// Timers are due: every engine whose deadline has passed handles it.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.enter(now);
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        if self.ipsec_deadline().is_some_and(|t| t <= now) {
            self.ipsec_timeout();
        }
        self.drain_actions();
    }

    /// Appends every Child SA's keys from now on to `path` as Wireshark `esp_sa` lines (so
    /// that tshark can decrypt a capture of our ESP). Key material on disk: for labs and
    /// troubleshooting only.
    pub fn set_key_log(&mut self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.key_log = Some(file);
        Ok(())
    }

    /// A data-plane event of tunnel `ifindex`.
    pub fn handle_event(&mut self, now: Instant, ifindex: IfIndex, event: Event) {
        self.enter(now);
        match event {
            Event::Nhrp { source, packet } => {
                // A route added a moment ago (a LAN coming up just before a Resolution
                // Request for it arrives) is answered: look at the routes again when the
                // data plane saw them change since the last sync.
                if self.routes_changed() {
                    self.sync_route_inputs(now);
                }
                self.debug_packet(false, ifindex, source, &packet);
                self.engine.handle_packet(now, ifindex, source, &packet);
            }
            Event::ResolutionNeeded {
                next_hop,
                destination,
                source: _,
            } => {
                tracing::debug!("traffic to {destination} needs the NBMA address of {next_hop}");
                let _ = self.engine.handle_traffic(now, ifindex, next_hop);
            }
            Event::Hairpin {
                source,
                destination,
                ingress_nbma,
                packet,
            } => {
                // The data plane knows the peer the packet came from: the redirect goes
                // straight back to it.
                self.engine.handle_hairpin_from(
                    now,
                    ifindex,
                    ingress_nbma,
                    source,
                    destination,
                    &packet,
                );
            }
            Event::SourceAddressChanged { old, new } => {
                let name = self.iface_name(ifindex);
                tracing::info!(
                    "%DMVPN-5-TUNNEL_SOURCE: {name} source address changed from {} to {}",
                    old.map_or("none".to_string(), |a| a.to_string()),
                    new.map_or("none".to_string(), |a| a.to_string())
                );
                if let Some(new) = new {
                    self.ipsec_source_changed(ifindex, new);
                }
                match (old, new) {
                    // The source came back (link up, interface created again): register
                    // at once, even with the address it had.
                    (None, Some(new)) => self.engine.handle_source_up(now, ifindex, new),
                    (Some(_), Some(new)) => self.engine.handle_nbma_change(now, ifindex, new),
                    (_, None) => {}
                }
            }
            Event::Ike {
                local,
                remote,
                message,
            } => self.ipsec_datagram(ifindex, local, remote, &message),
            Event::TaskFailed { task, error } => {
                let name = self.iface_name(ifindex);
                tracing::error!("%DMVPN-3-TUNNEL: {name}: data-plane task {task} failed: {error}");
            }
        }
        self.drain_actions();
    }

    fn iface_name(&self, ifindex: IfIndex) -> String {
        self.tunnels
            .get(&ifindex)
            .map_or_else(|| format!("Tunnel{ifindex}"), |t| t.plan.name.clone())
    }

    /// Whether a data plane reports a route change since the last sync.
    fn routes_changed(&self) -> bool {
        self.tunnels
            .values()
            .any(|t| t.routes_version != Some(t.dp.routes_version()))
    }

    /// Gives the engine the tunnel routes the data plane follows (static `ip route`, FRR,
    /// BIRD), so that Resolution Requests can be forwarded along them, and the node's routes
    /// through other interfaces, which it answers Resolution Requests for.
    pub fn sync_routes(&mut self, now: Instant) {
        self.enter(now);
        self.sync_route_inputs(now);
        self.drain_actions();
    }

    /// [`NodeCore::sync_routes`] without draining the engine's actions.
    fn sync_route_inputs(&mut self, now: Instant) {
        // Local routes: those every tunnel's data plane sees leave through a non-tunnel
        // interface (each data plane only excludes its own device, so a route into another
        // tunnel is dropped by that tunnel's view).
        let mut local: Option<BTreeSet<NhrpPrefix>> = None;
        for (ifindex, t) in &mut self.tunnels {
            // The version first: a change while reading is seen at the next look.
            t.routes_version = Some(t.dp.routes_version());
            let mine: BTreeSet<NhrpPrefix> =
                t.dp.local_routes()
                    .iter()
                    .filter_map(|p| NhrpPrefix::new(p.addr(), p.len()).ok())
                    .collect();
            local = Some(match local {
                None => mine,
                Some(acc) => acc.intersection(&mine).copied().collect(),
            });
            let mut current = BTreeMap::new();
            let mut connected = BTreeSet::new();
            for r in t.dp.routes() {
                let Ok(p) = NhrpPrefix::new(r.prefix.addr(), r.prefix.len()) else {
                    continue;
                };
                match r.gateway {
                    Some(gw) => {
                        current.insert(p, gw);
                    }
                    None => {
                        connected.insert(p);
                    }
                }
            }
            for p in connected.difference(&t.engine_tunnel_prefixes) {
                self.engine.handle_tunnel_prefix(now, *ifindex, *p, true);
            }
            for p in t.engine_tunnel_prefixes.difference(&connected) {
                self.engine.handle_tunnel_prefix(now, *ifindex, *p, false);
            }
            t.engine_tunnel_prefixes = connected;
            if current == t.engine_routes {
                continue;
            }
            for (p, gw) in &current {
                if t.engine_routes.get(p) != Some(gw) {
                    self.engine.handle_route(now, *ifindex, *p, Some(*gw));
                }
            }
            for p in t.engine_routes.keys() {
                if !current.contains_key(p) {
                    self.engine.handle_route(now, *ifindex, *p, None);
                }
            }
            t.engine_routes = current;
        }
        let local = local.unwrap_or_default();
        for p in local.difference(&self.engine_local_routes) {
            self.engine.handle_local_route(now, *p, true);
        }
        for p in self.engine_local_routes.difference(&local) {
            self.engine.handle_local_route(now, *p, false);
        }
        self.engine_local_routes = local;
    }

    /// Tells the engine which dynamic entries carried traffic since the last call (the data
    /// plane forwards mapped traffic without asking), so that it marks them used and refreshes
    /// them before they expire, as IOS does for entries used in their last minute.
    pub fn track_usage(&mut self, now: Instant) {
        self.enter(now);
        let mut used: Vec<(IfIndex, Ipv4Addr)> = Vec::new();
        for (ifindex, t) in &self.tunnels {
            for (nbma, c) in t.dp.counters().peers {
                let key = (*ifindex, nbma);
                let before = self.last_tx.insert(key, c.tx_packets).unwrap_or(0);
                if c.tx_packets > before {
                    used.push(key);
                }
            }
        }
        if used.is_empty() {
            return;
        }
        for e in self.engine.cache_entries(None) {
            if e.kind != EntryKind::Dynamic || e.flags.contains(EntryFlags::LOCAL) {
                continue;
            }
            if let Some(nbma) = e.nbma
                && used.contains(&(e.iface, nbma))
            {
                let _ = self.engine.handle_traffic(now, e.iface, e.prefix.addr());
            }
        }
        self.drain_actions();
    }

    /// The engine counters the control API does not carry, for the metrics endpoint: Error
    /// Indications by code and received packets dropped by reason, per interface.
    pub fn metrics_extras(&self) -> dmvpn_metrics::Extras {
        let mut extras = dmvpn_metrics::Extras::default();
        for t in self.tunnels.values() {
            if let Some(s) = self.engine.traffic(t.plan.ifindex) {
                let name = &t.plan.name;
                extras.add_error_codes(name, dmvpn_metrics::Direction::Sent, &s.sent.error_codes);
                extras.add_error_codes(
                    name,
                    dmvpn_metrics::Direction::Received,
                    &s.rcvd.error_codes,
                );
                extras.add_receive_drops(name, &s.drops);
            }
        }
        extras
    }

    /// Answers one control request line (`show …`, `clear …`, `debug …`).
    pub fn on_control(&mut self, now: Instant, line: &str) -> String {
        self.enter(now);
        let answer = mgmt::serve_line(self, line);
        self.drain_actions();
        answer
    }

    /// Orderly stop: the engine purges our registrations (Purge Requests to every NHS we are
    /// registered with, executed on the data plane like any other action) and stops
    /// registering. The shell then removes the kernel routes and stops the tunnels.
    pub fn shutdown(&mut self, now: Instant) {
        self.enter(now);
        self.shutting_down = true;
        self.engine.shutdown(now);
        self.drain_actions();
    }
}

//! Configuration reload as a computed diff.
//!
//! [`ReloadPlan::compute`] is pure: from the running tunnels' plans and a new configuration it
//! works out which tunnels start, stop, restart (a device-level setting changed) or are
//! updated in place, which kernel routes come and go, and whether the engine's configuration
//! changes; it validates everything that can be validated before any I/O (translation, the
//! engine's configuration).
//!
//! The shell then performs the plan's I/O: it starts the new tunnels and only then calls
//! [`NodeCore::commit_reload`]. If a tunnel cannot start, the shell tears down the ones it
//! started for this plan and never commits: the running state is exactly as it was. The commit
//! itself is atomic: the engine takes the new configuration first (it validates before it
//! changes anything) and only then are the tunnels swapped.
//!
//! A restart (same interface, new address, source, mode or key) needs the device name the
//! running tunnel holds, so the shell stops the old device before it starts the new one; if
//! the new one cannot start it starts the old plan again and gives it back with
//! [`NodeCore::replace_dataplane`], which re-installs the engine's state into it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dmvpn_config::Config;
use dmvpn_nhrp::{EngineConfig, EntryFlags, EntryKind, IfIndex, Instant};

use super::{CoreError, CoreTunnel, NodeCore, TunnelIo, dp_prefix, engine_config};
use crate::translate::{self, KernelRoute, TunnelPlan};

/// What happens to one tunnel interface.
#[derive(Debug, Clone, PartialEq)]
pub enum TunnelChange {
    /// A new interface: the shell starts it before the commit.
    Start(TunnelPlan),
    /// Removed from the configuration: the shell stops it after the commit.
    Stop(TunnelPlan),
    /// A device-level setting changed: the old device goes, a new one starts.
    Restart {
        /// The running plan.
        from: TunnelPlan,
        /// The new plan.
        to: TunnelPlan,
    },
    /// Settings the running data plane changes in place (NHS list, multicast, MSS, MTU,
    /// hairpin detection, routes, NHRP).
    Update {
        /// The running plan.
        from: TunnelPlan,
        /// The new plan.
        to: TunnelPlan,
    },
    /// Nothing changed.
    Keep(IfIndex),
}

/// Whether `from` can become `to` without a new device.
fn in_place(from: &TunnelPlan, to: &TunnelPlan) -> bool {
    let mut a = from.dataplane.clone();
    let b = &to.dataplane;
    a.mtu = b.mtu;
    a.tcp_adjust_mss = b.tcp_adjust_mss;
    a.detect_hairpin = b.detect_hairpin;
    a == *b && from.name == to.name && protection_kind(from) == protection_kind(to)
}

/// What a running tunnel's device depends on in its protection: whether it has any (its
/// data plane fails closed over an SA database) and whether it shares it (its IPsec
/// sockets). Everything else in a profile (proposals, keys, lifetimes, DPD) is applied to
/// the running IKE engine: established SAs keep what they negotiated, new ones and rekeys
/// use the new settings, as on IOS.
fn protection_kind(p: &TunnelPlan) -> Option<bool> {
    p.ipsec.as_ref().map(|i| i.shared)
}

/// The per-tunnel diff between the running plans and the new ones (pure).
pub fn diff(running: &[TunnelPlan], new: &[TunnelPlan]) -> Vec<TunnelChange> {
    let old: BTreeMap<IfIndex, &TunnelPlan> = running.iter().map(|p| (p.ifindex, p)).collect();
    let mut changes = Vec::new();
    for to in new {
        let change = match old.get(&to.ifindex) {
            None => TunnelChange::Start(to.clone()),
            Some(from) if *from == to => TunnelChange::Keep(to.ifindex),
            Some(from) if in_place(from, to) => TunnelChange::Update {
                from: (*from).clone(),
                to: to.clone(),
            },
            Some(from) => TunnelChange::Restart {
                from: (*from).clone(),
                to: to.clone(),
            },
        };
        changes.push(change);
    }
    for (i, from) in old {
        if !new.iter().any(|p| p.ifindex == i) {
            changes.push(TunnelChange::Stop(from.clone()));
        }
    }
    changes
}

/// A kernel route into the tunnel device of that name.
pub type DeviceRoute = (String, KernelRoute);

/// The kernel routes that go and come between two sets of plans: `(removed, added)`, each
/// as (device, route).
pub fn route_diff(
    running: &[TunnelPlan],
    new: &[TunnelPlan],
) -> (Vec<DeviceRoute>, Vec<DeviceRoute>) {
    let flat = |plans: &[TunnelPlan]| -> Vec<DeviceRoute> {
        plans
            .iter()
            .flat_map(|p| p.routes.iter().map(|r| (p.name.clone(), *r)))
            .collect()
    };
    let (before, after) = (flat(running), flat(new));
    let removed = before
        .iter()
        .filter(|r| !after.contains(r))
        .cloned()
        .collect();
    let added = after
        .iter()
        .filter(|r| !before.contains(r))
        .cloned()
        .collect();
    (removed, added)
}

/// Everything a reload does, computed before any of it is done.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadPlan {
    /// The new configuration's text (`show running-config`).
    pub config_text: String,
    /// `logging dmvpn rate-limit`.
    pub rate_limit: Option<u32>,
    /// The running plans the diff was computed against.
    pub running: Vec<TunnelPlan>,
    /// Every tunnel of the new configuration.
    pub plans: Vec<TunnelPlan>,
    /// What happens to each tunnel.
    pub changes: Vec<TunnelChange>,
    /// Kernel routes to remove (device, route); removed routes of stopped tunnels included.
    pub routes_removed: Vec<DeviceRoute>,
    /// Kernel routes to install (device, route); all routes of (re)started tunnels included.
    pub routes_added: Vec<DeviceRoute>,
}

impl ReloadPlan {
    /// Computes the plan for `config` against the running plans; fails (and nothing may
    /// change) when the configuration cannot run.
    pub fn compute(
        running: Vec<TunnelPlan>,
        config_text: String,
        config: &Config,
    ) -> Result<ReloadPlan, CoreError> {
        let plans = start_plans(config)?;
        // The engine's validation, on a throwaway engine (source addresses are not known
        // before the tunnels start and do not affect validity).
        let candidate = EngineConfig {
            interfaces: plans
                .iter()
                .filter(|p| p.nhrp)
                .map(|p| p.engine_config(Ipv4Addr::UNSPECIFIED))
                .collect(),
        };
        dmvpn_nhrp::Engine::new(candidate, 0).map_err(|e| CoreError::Engine(e.to_string()))?;
        let changes = diff(&running, &plans);
        let (mut routes_removed, mut routes_added) = route_diff(&running, &plans);
        // A restarted device loses its routes with it: install them all again.
        for c in &changes {
            if let TunnelChange::Restart { from, to } = c {
                for r in &from.routes {
                    routes_removed.retain(|(d, x)| !(d == &from.name && x == r));
                }
                for r in &to.routes {
                    let entry = (to.name.clone(), *r);
                    if !routes_added.contains(&entry) {
                        routes_added.push(entry);
                    }
                }
            }
        }
        Ok(ReloadPlan {
            config_text,
            rate_limit: config.logging_dmvpn_rate_limit,
            running,
            plans,
            changes,
            routes_removed,
            routes_added,
        })
    }

    /// The plans of the tunnels the shell must start before the commit (new and restarted).
    pub fn to_start(&self) -> Vec<&TunnelPlan> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                TunnelChange::Start(p) | TunnelChange::Restart { to: p, .. } => Some(p),
                TunnelChange::Stop(_) | TunnelChange::Update { .. } | TunnelChange::Keep(_) => None,
            })
            .collect()
    }

    /// The interfaces whose running device goes away (stopped and restarted ones).
    pub fn to_stop(&self) -> Vec<IfIndex> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                TunnelChange::Stop(p) | TunnelChange::Restart { from: p, .. } => Some(p.ifindex),
                TunnelChange::Start(_) | TunnelChange::Update { .. } | TunnelChange::Keep(_) => {
                    None
                }
            })
            .collect()
    }

    /// The interfaces restarted (their old device must be stopped before the new one starts).
    pub fn restarted(&self) -> Vec<IfIndex> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                TunnelChange::Restart { from, .. } => Some(from.ifindex),
                TunnelChange::Start(_)
                | TunnelChange::Stop(_)
                | TunnelChange::Update { .. }
                | TunnelChange::Keep(_) => None,
            })
            .collect()
    }
}

/// The tunnel plans of a configuration the node can start (at least one tunnel).
pub fn start_plans(config: &Config) -> Result<Vec<TunnelPlan>, CoreError> {
    let plans = translate::plan(config).map_err(|e| CoreError::Config(e.to_string()))?;
    if plans.is_empty() {
        return Err(CoreError::Config(
            "no tunnel interface to run (add `interface Tunnel0` with `ip address` and `tunnel source`)"
                .to_string(),
        ));
    }
    // Every protection must make an IKE engine: a reload that could not is refused before
    // anything changes.
    for p in &plans {
        if let Some(profile) = &p.ipsec {
            crate::ike_config::ike_config(profile, &p.ike_limits).map_err(CoreError::Config)?;
        }
    }
    Ok(plans)
}

/// A summary of a committed reload, for the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Tunnels kept running (unchanged or updated in place).
    pub kept: usize,
    /// Tunnels started or restarted.
    pub started: usize,
    /// Tunnels removed.
    pub stopped: usize,
}

impl NodeCore {
    /// The plans of the running tunnels.
    pub fn running_plans(&self) -> Vec<TunnelPlan> {
        self.tunnels.values().map(|t| t.plan.clone()).collect()
    }

    /// Computes a reload of `config` against the running state (pure; nothing changes).
    pub fn plan_reload(
        &self,
        config_text: String,
        config: &Config,
    ) -> Result<ReloadPlan, CoreError> {
        ReloadPlan::compute(self.running_plans(), config_text, config)
    }

    /// Commits a reload whose tunnels the shell has started (`started`: the data plane of
    /// every plan in [`ReloadPlan::to_start`]). On error nothing has changed and the shell
    /// must stop the started tunnels; on success the shell stops the devices of
    /// [`ReloadPlan::to_stop`] (their data planes are no longer referenced by the core).
    pub fn commit_reload(
        &mut self,
        now: Instant,
        plan: ReloadPlan,
        started: Vec<(IfIndex, TunnelIo)>,
    ) -> Result<ReloadSummary, CoreError> {
        self.enter(now);
        if plan.running != self.running_plans() {
            return Err(CoreError::StalePlan(
                "the running tunnels changed since it was computed".to_string(),
            ));
        }
        let mut started: BTreeMap<IfIndex, TunnelIo> = started.into_iter().collect();
        let mut next: BTreeMap<IfIndex, CoreTunnel> = BTreeMap::new();
        let mut fresh = Vec::new();
        let mut summary = ReloadSummary::default();
        for p in &plan.plans {
            let tunnel = match plan.changes.iter().find(|c| change_ifindex(c) == p.ifindex) {
                Some(TunnelChange::Start(_) | TunnelChange::Restart { .. }) => {
                    let io = started.remove(&p.ifindex).ok_or_else(|| {
                        CoreError::StalePlan(format!("{} was not started", p.name))
                    })?;
                    fresh.push(p.ifindex);
                    summary.started += 1;
                    CoreTunnel::start(p.clone(), io)?
                }
                Some(TunnelChange::Update { .. } | TunnelChange::Keep(_)) => {
                    let dp = self
                        .tunnels
                        .get(&p.ifindex)
                        .map(|t| t.dp.clone())
                        .ok_or_else(|| {
                            CoreError::StalePlan(format!("{} is not running", p.name))
                        })?;
                    summary.kept += 1;
                    CoreTunnel::new(p.clone(), dp)
                }
                Some(TunnelChange::Stop(_)) | None => {
                    return Err(CoreError::StalePlan(format!("no change for {}", p.name)));
                }
            };
            next.insert(p.ifindex, tunnel);
        }
        summary.stopped = plan
            .changes
            .iter()
            .filter(|c| matches!(c, TunnelChange::Stop(_)))
            .count();
        // The engine first: it validates before it changes anything.
        let config = engine_config(&next);
        if config != self.engine.config() {
            self.engine
                .update_config(now, config)
                .map_err(|e| CoreError::Engine(e.to_string()))?;
        }
        // Nothing can fail from here on.
        for (i, t) in next.iter_mut() {
            t.apply_plan();
            // A kept tunnel keeps its SA database, and its group its IKE engine (a
            // protection change restarts the tunnel).
            if t.sad.is_none()
                && !fresh.contains(i)
                && let Some(old) = self.tunnels.get(i)
            {
                t.sad = old.sad.clone();
            }
        }
        self.tunnels = next;
        if let Err(e) = self.regroup_ipsec() {
            tracing::error!("IPsec after the reload: {e}");
        }
        for i in &fresh {
            self.reinstall(*i);
        }
        self.config_text = plan.config_text;
        self.event_limiter.set_window(plan.rate_limit);
        // A new device counts from zero: baselines of gone or new devices go.
        let live = |i: &IfIndex| self.tunnels.contains_key(i) && !fresh.contains(i);
        self.counter_base.retain(|(i, _), _| live(i));
        self.last_tx.retain(|(i, _), _| live(i));
        self.drain_actions();
        // Routes into new tunnels are re-learned by the next sync.
        for t in self.tunnels.values_mut() {
            t.engine_routes.clear();
        }
        self.sync_routes(now);
        Ok(summary)
    }

    /// Gives a running interface a new data plane (its device was recreated), and installs
    /// the engine's state for it: the plan's seeds, mappings, shortcuts and registered
    /// multicast peers.
    pub fn replace_dataplane(&mut self, ifindex: IfIndex, io: TunnelIo) {
        if let Some(t) = self.tunnels.get_mut(&ifindex) {
            t.dp = io.dp.clone();
            // A recreated device has a fresh ESP table (unless it rejoined a running
            // `shared` group): IKE starts over with it.
            t.sad = io.sad.clone();
            if t.plan.ipsec.is_some() && t.sad.is_none() {
                tracing::error!(
                    "{}: restored without an SA database: its peers stay unreachable",
                    t.plan.name
                );
            }
            t.engine_routes.clear();
            t.apply_plan();
            if let Err(e) = self.regroup_ipsec() {
                tracing::error!("IPsec not restored: {e}");
            }
            self.reinstall(ifindex);
        }
    }

    /// Installs the engine's bindings of `ifindex` into its (fresh) data plane.
    fn reinstall(&self, ifindex: IfIndex) {
        let Some(t) = self.tunnels.get(&ifindex) else {
            return;
        };
        let shortcuts = self.engine.shortcuts(Some(ifindex));
        for e in self.engine.cache_entries(Some(ifindex)) {
            let Some(nbma) = e.nbma else { continue };
            if e.flags.contains(EntryFlags::LOCAL) || e.kind == EntryKind::Incomplete {
                continue;
            }
            if shortcuts.iter().any(|s| s.prefix == e.prefix) {
                continue;
            }
            t.dp.set_mapping(e.next_hop, nbma);
            if e.kind == EntryKind::Dynamic && e.flags.contains(EntryFlags::REGISTERED) {
                t.dp.add_dynamic_peer(nbma);
            }
        }
        for s in shortcuts {
            if let Some(p) = dp_prefix(&s.prefix) {
                t.dp.set_shortcut(p, s.next_hop);
            }
        }
    }
}

fn change_ifindex(c: &TunnelChange) -> IfIndex {
    match c {
        TunnelChange::Start(p) | TunnelChange::Stop(p) => p.ifindex,
        TunnelChange::Restart { to, .. } | TunnelChange::Update { to, .. } => to.ifindex,
        TunnelChange::Keep(i) => *i,
    }
}

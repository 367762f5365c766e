//! The async shell around the [`NodeCore`]: it only moves bytes, time and signals.
//!
//! It owns the tokio side of a node: the node's monotonic clock (the core's `now` is the
//! milliseconds since the node started), the running userspace tunnels and the tasks that
//! forward their data-plane events, kernel routes (`ip route`), and the I/O of a reload
//! (starting and stopping tunnels). Every decision is the core's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dmvpn_config::Config;
use dmvpn_dataplane::seam::{DataPlane, Event};
use dmvpn_dataplane::{PassThrough, Protection, Tunnel, TunnelMode};
use dmvpn_nhrp::IfIndex;
use tokio::sync::mpsc;

use crate::DaemonError;
use crate::core::ipsec::SaDatabase;
use crate::core::{NodeCore, TunnelIo, reload};

#[cfg(test)]
mod tests;
use crate::translate::{KernelRoute, TunnelPlan};

/// A running userspace tunnel and the task forwarding its events to the node.
pub struct RunningTunnel {
    tunnel: Tunnel,
    forwarder: tokio::task::JoinHandle<()>,
}

/// Starting and stopping tunnel devices: the I/O of a reload. The userspace data plane is
/// one implementation; the tests use a fake.
pub trait TunnelStarter {
    /// What the shell keeps of a running tunnel (to stop it later).
    type Running;
    /// Starts the tunnel of `plan`.
    fn start(
        &mut self,
        plan: &TunnelPlan,
    ) -> impl Future<Output = Result<(Self::Running, TunnelIo), DaemonError>>;
    /// Stops a running tunnel and waits until it is gone.
    fn stop(&mut self, running: Self::Running) -> impl Future<Output = ()>;
    /// Installs (`add`) or removes a kernel route into a tunnel device.
    fn route(&mut self, dev: &str, route: &KernelRoute, add: bool) -> impl Future<Output = ()>;
}

/// The userspace data plane's tunnels.
struct UserspaceTunnels {
    protection: Arc<dyn Protection>,
    events_tx: mpsc::Sender<(IfIndex, Event)>,
    groups: SharedGroups,
}

/// The running `shared` protection groups, by [`TunnelPlan::ipsec_group`]: a tunnel that
/// joins a group gets its SA database and IPsec sockets. Weak: a group goes when its last
/// tunnel stops.
#[derive(Clone, Default)]
struct SharedGroups(Arc<std::sync::Mutex<BTreeMap<String, SharedGroup>>>);

/// A running `shared` group: its SA database and its data-plane side.
type SharedGroup = (
    std::sync::Weak<dmvpn_esp::EspProtection>,
    std::sync::Weak<dmvpn_dataplane::SharedIpsec>,
);

impl SharedGroups {
    /// The group `key`'s SA database and data-plane group, made when none runs.
    fn get(
        &self,
        key: &str,
        local: std::net::Ipv4Addr,
    ) -> (
        Arc<dmvpn_esp::EspProtection>,
        Arc<dmvpn_dataplane::SharedIpsec>,
    ) {
        let mut groups = self.0.lock().unwrap_or_else(|e| e.into_inner());
        groups.retain(|_, (e, g)| e.strong_count() > 0 && g.strong_count() > 0);
        if let Some((e, g)) = groups.get(key)
            && let (Some(e), Some(g)) = (e.upgrade(), g.upgrade())
        {
            return (e, g);
        }
        let esp = crate::core::ipsec::userspace_esp(local);
        let group = dmvpn_dataplane::SharedIpsec::new(esp.clone());
        groups.insert(
            key.to_string(),
            (Arc::downgrade(&esp), Arc::downgrade(&group)),
        );
        (esp, group)
    }
}

impl TunnelStarter for UserspaceTunnels {
    type Running = RunningTunnel;

    async fn start(&mut self, plan: &TunnelPlan) -> Result<(RunningTunnel, TunnelIo), DaemonError> {
        start_tunnel(
            plan,
            self.protection.clone(),
            self.events_tx.clone(),
            &self.groups,
        )
        .await
    }

    async fn stop(&mut self, running: RunningTunnel) {
        stop_tunnel(running).await;
    }

    async fn route(&mut self, dev: &str, route: &KernelRoute, add: bool) {
        install_route(dev, route, add).await;
    }
}

/// Applies a reload of `config` (text `text`): the core computes the plan; this performs its
/// I/O and commits it. New tunnels start before the commit; restarted ones lose their old
/// device first (it holds the name). On any failure the tunnels this reload started are
/// stopped, restarted ones come back with their running plan, nothing is committed, and the
/// error is returned: the running state is as it was.
pub async fn apply_reload<S: TunnelStarter>(
    core: &mut NodeCore,
    running: &mut BTreeMap<IfIndex, S::Running>,
    starter: &mut S,
    epoch: tokio::time::Instant,
    text: String,
    config: &Config,
) -> Result<reload::ReloadSummary, DaemonError> {
    let plan = core
        .plan_reload(text, config)
        .map_err(|e| DaemonError::Config(e.to_string()))?;
    let mut stopped_for_restart = Vec::new();
    for i in plan.restarted() {
        if let Some(rt) = running.remove(&i) {
            starter.stop(rt).await;
            stopped_for_restart.push(i);
        }
    }
    let mut started: Vec<(IfIndex, S::Running, TunnelIo)> = Vec::new();
    let mut failure = None;
    for p in plan.to_start() {
        match starter.start(p).await {
            Ok((rt, dp)) => started.push((p.ifindex, rt, dp)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() {
        let dps = started.iter().map(|(i, _, dp)| (*i, dp.clone())).collect();
        match core.commit_reload(now(epoch), plan.clone(), dps) {
            Ok(summary) => {
                for i in plan.to_stop() {
                    if let Some(rt) = running.remove(&i) {
                        starter.stop(rt).await;
                    }
                }
                for (i, rt, _) in started {
                    running.insert(i, rt);
                }
                for (dev, r) in &plan.routes_removed {
                    starter.route(dev, r, false).await;
                }
                for (dev, r) in &plan.routes_added {
                    starter.route(dev, r, true).await;
                }
                return Ok(summary);
            }
            Err(e) => failure = Some(DaemonError::Config(e.to_string())),
        }
    }
    for (_, rt, _) in started {
        starter.stop(rt).await;
    }
    for i in stopped_for_restart {
        let Some(old) = plan.running.iter().find(|p| p.ifindex == i) else {
            continue;
        };
        match starter.start(old).await {
            Ok((rt, dp)) => {
                running.insert(i, rt);
                core.replace_dataplane(i, dp);
                for r in &old.routes {
                    starter.route(&old.name, r, true).await;
                }
            }
            Err(e) => tracing::error!("{}: cannot restore the running tunnel: {e}", old.name),
        }
    }
    Err(failure.unwrap_or_else(|| DaemonError::Config("reload failed".to_string())))
}

/// A node: the core and the I/O it needs.
pub struct Shell {
    epoch: tokio::time::Instant,
    config_path: PathBuf,
    core: NodeCore,
    running: BTreeMap<IfIndex, RunningTunnel>,
    events_tx: mpsc::Sender<(IfIndex, Event)>,
    protection: Arc<dyn Protection>,
    groups: SharedGroups,
}

/// Reads and validates a configuration file (errors as `FILE:LINE:COLUMN: error: ...`).
pub fn load_config(path: &Path) -> Result<(String, Config), DaemonError> {
    let text = std::fs::read_to_string(path).map_err(|source| DaemonError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let parsed = dmvpn_config::parse(&text);
    if parsed.has_errors() {
        return Err(DaemonError::Config(
            parsed.render(&path.display().to_string()),
        ));
    }
    Ok((text, parsed.config))
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

impl Shell {
    /// Starts every tunnel of `config` and the core. Data-plane events arrive on the receiver
    /// returned alongside (feed them to [`Shell::on_dataplane`]).
    pub async fn start(
        config_path: &Path,
        config_text: String,
        config: &Config,
    ) -> Result<(Shell, mpsc::Receiver<(IfIndex, Event)>), DaemonError> {
        let plans = reload::start_plans(config)
            .map_err(|e| DaemonError::Config(format!("{}: {e}", config_path.display())))?;
        let (events_tx, events_rx) = mpsc::channel(4096);
        let epoch = tokio::time::Instant::now();
        let protection: Arc<dyn Protection> = Arc::new(PassThrough);
        let mut running = BTreeMap::new();
        let mut tunnels = Vec::new();
        let groups = SharedGroups::default();
        for plan in plans {
            match start_tunnel(&plan, protection.clone(), events_tx.clone(), &groups).await {
                Ok((rt, dp)) => {
                    running.insert(plan.ifindex, rt);
                    tunnels.push((plan, dp));
                }
                Err(e) => {
                    stop_all(running).await;
                    return Err(e);
                }
            }
        }
        let core = match NodeCore::new(config_text, config, tunnels, random_seed(), now(epoch)) {
            Ok(core) => core,
            Err(e) => {
                stop_all(running).await;
                return Err(DaemonError::Config(e.to_string()));
            }
        };
        for (dev, r) in core.kernel_routes() {
            install_route(&dev, &r, true).await;
        }
        let shell = Shell {
            epoch,
            config_path: config_path.to_path_buf(),
            core,
            running,
            events_tx,
            protection,
            groups,
        };
        Ok((shell, events_rx))
    }

    fn now(&self) -> dmvpn_nhrp::Instant {
        now(self.epoch)
    }

    /// When the core wants [`Shell::on_timeout`] next.
    pub fn deadline(&self) -> tokio::time::Instant {
        match self.core.poll_timeout() {
            Some(t) => self.epoch + Duration::from_millis(t.as_millis()),
            None => tokio::time::Instant::now() + Duration::from_secs(3600),
        }
    }

    /// The core's timers.
    pub fn on_timeout(&mut self) {
        let now = self.now();
        self.core.handle_timeout(now);
    }

    /// A data-plane event of tunnel `ifindex`.
    pub fn on_dataplane(&mut self, ifindex: IfIndex, event: Event) {
        let now = self.now();
        self.core.handle_event(now, ifindex, event);
    }

    /// The periodic sync of the routes the data planes follow.
    pub fn sync_routes(&mut self) {
        let now = self.now();
        self.core.sync_routes(now);
    }

    /// The periodic usage check.
    pub fn track_usage(&mut self) {
        let now = self.now();
        self.core.track_usage(now);
    }

    /// Opens the IPsec key log (see [`NodeCore::set_key_log`]).
    pub fn set_key_log(&mut self, path: &Path) -> std::io::Result<()> {
        self.core.set_key_log(path)
    }

    /// The metrics endpoint's engine counters.
    pub fn metrics_extras(&self) -> dmvpn_metrics::Extras {
        self.core.metrics_extras()
    }

    /// One control request line.
    pub fn on_control(&mut self, line: &str) -> String {
        let now = self.now();
        self.core.on_control(now, line)
    }

    /// SIGHUP: re-reads the configuration and applies the core's diff. Tunnels whose device
    /// settings are unchanged keep running (their peers are not disturbed). A reload that
    /// fails leaves the running state as it was.
    pub async fn reload(&mut self) -> Result<(), DaemonError> {
        let (text, config) = load_config(&self.config_path)?;
        let mut starter = UserspaceTunnels {
            protection: self.protection.clone(),
            events_tx: self.events_tx.clone(),
            groups: self.groups.clone(),
        };
        let summary = apply_reload(
            &mut self.core,
            &mut self.running,
            &mut starter,
            self.epoch,
            text,
            &config,
        )
        .await?;
        tracing::info!(
            "configuration reloaded from {}: {} tunnel(s) kept, {} (re)started, {} removed",
            self.config_path.display(),
            summary.kept,
            summary.started,
            summary.stopped
        );
        Ok(())
    }

    /// SIGTERM: the core purges our registrations through the engine, then the kernel routes
    /// and the TUN devices go.
    pub async fn shutdown(mut self) {
        let now = self.now();
        self.core.shutdown(now);
        for (dev, r) in self.core.kernel_routes() {
            install_route(&dev, &r, false).await;
        }
        let names: BTreeMap<IfIndex, String> = self
            .core
            .tunnels()
            .map(|t| (t.plan.ifindex, t.plan.name.clone()))
            .collect();
        for (i, rt) in std::mem::take(&mut self.running) {
            stop_tunnel(rt).await;
            if let Some(name) = names.get(&i) {
                tracing::info!("{name}: removed");
            }
        }
    }
}

fn now(epoch: tokio::time::Instant) -> dmvpn_nhrp::Instant {
    let ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    dmvpn_nhrp::Instant::from_millis(ms)
}

async fn start_tunnel(
    plan: &TunnelPlan,
    plain: Arc<dyn Protection>,
    events_tx: mpsc::Sender<(IfIndex, Event)>,
    groups: &SharedGroups,
) -> Result<(RunningTunnel, TunnelIo), DaemonError> {
    // A protected tunnel gets its own ESP table (or its `shared` group's), which requires an
    // SA for every peer: no GRE leaves it in the clear, whatever IKE does (fail closed).
    let started = match &plan.ipsec {
        Some(p) if p.shared => {
            let key = plan.ipsec_group().unwrap_or_default();
            let (esp, group) = groups.get(&key, plan_source(plan));
            let sad: Arc<dyn SaDatabase> = esp;
            Tunnel::start_shared(plan.dataplane.clone(), group)
                .await
                .map(|t| (t, Some(sad)))
        }
        Some(_) => {
            let esp = crate::core::ipsec::userspace_esp(plan_source(plan));
            let sad: Arc<dyn SaDatabase> = esp.clone();
            Tunnel::start(plan.dataplane.clone(), esp)
                .await
                .map(|t| (t, Some(sad)))
        }
        None => Tunnel::start(plan.dataplane.clone(), plain)
            .await
            .map(|t| (t, None)),
    };
    let ((tunnel, mut events), sad) =
        started.map_err(|e| DaemonError::Dataplane(format!("{}: {e}", plan.name)))?;
    let handle = tunnel.handle();
    let ifindex = plan.ifindex;
    let forwarder = tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if events_tx.send((ifindex, ev)).await.is_err() {
                return;
            }
        }
    });
    tracing::info!(
        "{}: up, {} {}/{}, source {}{}",
        plan.name,
        match plan.dataplane.mode {
            TunnelMode::Multipoint => "multipoint GRE".to_string(),
            TunnelMode::PointToPoint { destination } => format!("GRE to {destination}"),
        },
        plan.dataplane.address,
        plan.dataplane.prefix_len,
        handle
            .source_address()
            .map_or("(no address yet)".to_string(), |a| a.to_string()),
        match &plan.ipsec {
            Some(p) => format!(
                ", protected by IPsec profile {} (IKEv2{})",
                p.ipsec_profile,
                if p.shared { ", shared" } else { "" }
            ),
            None => String::new(),
        }
    );
    let dp: Arc<dyn DataPlane> = Arc::new(handle);
    Ok((RunningTunnel { tunnel, forwarder }, TunnelIo { dp, sad }))
}

/// The tunnel source address when configured as one (`tunnel source A.B.C.D`), else
/// `0.0.0.0` (the ESP table only uses it in its unknown-SPI reports, which the core
/// completes with the data plane's current source).
fn plan_source(plan: &TunnelPlan) -> std::net::Ipv4Addr {
    match &plan.dataplane.source {
        dmvpn_dataplane::TunnelSource::Address(a) => *a,
        dmvpn_dataplane::TunnelSource::Interface(_) => std::net::Ipv4Addr::UNSPECIFIED,
    }
}

async fn stop_tunnel(rt: RunningTunnel) {
    rt.forwarder.abort();
    rt.tunnel.shutdown().await;
}

async fn stop_all(running: BTreeMap<IfIndex, RunningTunnel>) {
    for (_, rt) in running {
        stop_tunnel(rt).await;
    }
}

/// Adds (`ip route replace`) or removes a kernel route into a tunnel.
async fn install_route(dev: &str, route: &KernelRoute, add: bool) {
    let prefix = route.prefix.to_string();
    let mut args: Vec<String> = vec![
        "route".into(),
        if add { "replace" } else { "del" }.into(),
        prefix.clone(),
    ];
    if let Some(via) = route.via {
        args.push("via".into());
        args.push(via.to_string());
    }
    args.push("dev".into());
    args.push(dev.to_string());
    args.push("proto".into());
    args.push("static".into());
    match tokio::process::Command::new("ip")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
    {
        Ok(out) if out.status.success() => {
            tracing::debug!("ip {}", args.join(" "));
        }
        Ok(out) => {
            if add {
                tracing::warn!(
                    "route {prefix} via {dev} not installed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        Err(e) => tracing::warn!("cannot run ip to install route {prefix}: {e}"),
    }
}

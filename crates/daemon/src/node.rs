//! One DMVPN node: the NHRP engine, the data-plane tunnels, and the glue between them.
//!
//! [`Node`] is driven by the event loop in [`crate::run`] and never blocks:
//! * inputs: data-plane [`Event`]s ([`Node::on_dataplane`]), the engine's timer
//!   ([`Node::on_timeout`]), a periodic sync of the kernel routes the data plane mirrors
//!   ([`Node::sync_routes`]), control requests ([`Node::on_control`]) and reloads
//!   ([`Node::reload`]);
//! * after each input it drains the engine's actions ([`Node::drain_actions`]) onto the data
//!   plane: NHRP packets out of the GRE socket, mappings, shortcuts and multicast membership
//!   into the forwarding tables, protection requests to the protection controller, events
//!   into the log.
//!
//! Time: the engine's `now` is the milliseconds since the node started, from tokio's monotonic
//! clock.
//!
//! Protection (IPsec) seam: packets pass through the data plane's [`Protection`] transform
//! between GRE encapsulation and the socket (today [`PassThrough`]); the engine's
//! `ProtectionNeeded`/`ProtectionNotNeeded` actions go to [`Node::protection_needed`], which
//! with pass-through protection reports the peer protected at once. An IKE engine plugs in
//! there.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dmvpn_config::Config;
use dmvpn_dataplane::{
    Event, Ipv4Prefix, PassThrough, Protection, Tunnel, TunnelHandle, TunnelMode,
};
use dmvpn_mgmt as mgmt;
use dmvpn_nhrp::{
    Action, ClearRequest, EngineConfig, EntryFlags, EntryKind, IfIndex, Prefix as NhrpPrefix,
};
use tokio::sync::mpsc;

use crate::DaemonError;
use crate::events::{LineLimiter, log_event_limited};
use crate::translate::{self, KernelRoute, TunnelPlan};

/// A running tunnel interface.
struct TunnelRt {
    plan: TunnelPlan,
    tunnel: Option<Tunnel>,
    handle: TunnelHandle,
    forwarder: tokio::task::JoinHandle<()>,
    /// Tunnel routes last given to the engine (from the kernel route mirror).
    engine_routes: BTreeMap<NhrpPrefix, Ipv4Addr>,
}

/// The node: engine, tunnels and configuration.
pub struct Node {
    epoch: tokio::time::Instant,
    config_path: PathBuf,
    config_text: String,
    engine: dmvpn_nhrp::Engine,
    tunnels: BTreeMap<IfIndex, TunnelRt>,
    events_tx: mpsc::Sender<(IfIndex, Event)>,
    protection: Arc<dyn Protection>,
    /// Peers whose protection the engine asked for.
    protected: BTreeSet<Ipv4Addr>,
    /// Counter values at the last `clear dmvpn statistics` / `clear counters`, per tunnel and
    /// per peer (`None` = the whole tunnel); shown counters are relative to them.
    counter_base: BTreeMap<(IfIndex, Option<Ipv4Addr>), dmvpn_dataplane::TrafficCounters>,
    /// `debug …` switches and conditions.
    debug: mgmt::DebugConditions,
    /// Packets sent per (tunnel, peer NBMA) at the last usage check.
    last_tx: BTreeMap<(IfIndex, Ipv4Addr), u64>,
    /// `debug nhrp capture FILE`: every NHRP packet sent and received, as GRE frames.
    capture: Option<NhrpCapture>,
    /// `logging dmvpn rate-limit SECONDS`: repeated event lines dropped within the window.
    event_limiter: LineLimiter,
}

/// An open `debug nhrp capture` file.
struct NhrpCapture {
    /// Unbuffered: NHRP is rare, and the file stays readable while it grows.
    writer: dmvpn_capture::PcapWriter<std::fs::File>,
}

impl NhrpCapture {
    fn open(path: &Path) -> std::io::Result<NhrpCapture> {
        let file = std::fs::File::create(path)?;
        let writer = dmvpn_capture::PcapWriter::new(file, dmvpn_capture::LinkType::Ethernet)?;
        Ok(NhrpCapture { writer })
    }

    /// Writes one NHRP packet as it travelled: in GRE (with the tunnel key) in IPv4.
    fn write(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        key: Option<u32>,
        packet: &[u8],
    ) -> std::io::Result<()> {
        let mut gre = dmvpn_wire::gre::Repr::new(dmvpn_wire::gre::EtherType::Nhrp);
        gre.key = key;
        let frame =
            dmvpn_capture::ethernet_gre_frame(IpAddr::V4(src), IpAddr::V4(dst), &gre, packet)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let timestamp = dmvpn_capture::Timestamp {
            secs: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            nanos: since.subsec_nanos(),
        };
        self.writer.write_frame(timestamp, &frame)
    }
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

fn nhrp_now(epoch: tokio::time::Instant) -> dmvpn_nhrp::Instant {
    let ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
    dmvpn_nhrp::Instant::from_millis(ms)
}

fn dp_prefix(p: &NhrpPrefix) -> Option<Ipv4Prefix> {
    Ipv4Prefix::new(p.addr(), p.len()).ok()
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

impl Node {
    /// Starts every tunnel of `config` and the engine. Data-plane events arrive on the
    /// receiver returned alongside.
    pub async fn start(
        config_path: &Path,
        config_text: String,
        config: &Config,
    ) -> Result<(Node, mpsc::Receiver<(IfIndex, Event)>), DaemonError> {
        let plans = translate::plan(config).map_err(|e| DaemonError::Config(e.to_string()))?;
        if plans.is_empty() {
            return Err(DaemonError::Config(format!(
                "{}: no tunnel interface to run (add `interface Tunnel0` with `ip address` and `tunnel source`)",
                config_path.display()
            )));
        }
        let (events_tx, events_rx) = mpsc::channel(4096);
        let epoch = tokio::time::Instant::now();
        let protection: Arc<dyn Protection> = Arc::new(PassThrough);
        let mut tunnels = BTreeMap::new();
        for plan in plans {
            let rt = start_tunnel(plan, protection.clone(), events_tx.clone()).await?;
            tunnels.insert(rt.plan.ifindex, rt);
        }
        let engine_config = EngineConfig {
            interfaces: tunnels
                .values()
                .filter(|t| t.plan.nhrp)
                .map(|t| {
                    t.plan
                        .engine_config(t.handle.source_address().unwrap_or(Ipv4Addr::UNSPECIFIED))
                })
                .collect(),
        };
        let engine = dmvpn_nhrp::Engine::new(engine_config, random_seed())
            .map_err(|e| DaemonError::Config(format!("NHRP: {e}")))?;
        let mut node = Node {
            epoch,
            config_path: config_path.to_path_buf(),
            config_text,
            engine,
            tunnels,
            events_tx,
            protection,
            protected: BTreeSet::new(),
            counter_base: BTreeMap::new(),
            debug: mgmt::DebugConditions::default(),
            last_tx: BTreeMap::new(),
            capture: None,
            event_limiter: LineLimiter::new(config.logging_dmvpn_rate_limit),
        };
        node.install_all_routes().await;
        node.on_timeout();
        Ok((node, events_rx))
    }

    /// The engine's clock.
    pub fn now(&self) -> dmvpn_nhrp::Instant {
        nhrp_now(self.epoch)
    }

    /// When the engine wants [`Node::on_timeout`] next.
    pub fn deadline(&self) -> tokio::time::Instant {
        match self.engine.poll_timeout() {
            Some(t) => self.epoch + Duration::from_millis(t.as_millis()),
            None => tokio::time::Instant::now() + Duration::from_secs(3600),
        }
    }

    /// The engine's timer fired.
    pub fn on_timeout(&mut self) {
        let now = self.now();
        self.engine.handle_timeout(now);
        self.drain_actions();
    }

    /// A data-plane event of tunnel `ifindex`.
    pub fn on_dataplane(&mut self, ifindex: IfIndex, event: Event) {
        let now = self.now();
        match event {
            Event::Nhrp { source, packet } => {
                self.debug_packet(false, ifindex, source, &packet);
                self.engine.handle_packet(now, ifindex, source, &packet);
            }
            Event::ResolutionNeeded {
                next_hop,
                destination,
                ..
            } => {
                tracing::debug!("traffic to {destination} needs the NBMA address of {next_hop}");
                let _ = self.engine.handle_traffic(now, ifindex, next_hop);
            }
            Event::Hairpin {
                source,
                destination,
                packet,
                ..
            } => {
                self.engine
                    .handle_hairpin(now, ifindex, source, destination, &packet);
            }
            Event::SourceAddressChanged { old, new } => {
                let name = self.iface_name(ifindex);
                tracing::info!(
                    "%DMVPN-5-TUNNEL_SOURCE: {name} source address changed from {} to {}",
                    old.map_or("none".to_string(), |a| a.to_string()),
                    new.map_or("none".to_string(), |a| a.to_string())
                );
                if let Some(new) = new {
                    self.engine.handle_nbma_change(now, ifindex, new);
                }
            }
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

    /// Executes the engine's pending actions on the data plane.
    pub fn drain_actions(&mut self) {
        while let Some(action) = self.engine.poll_action() {
            self.execute(action);
        }
    }

    fn execute(&mut self, action: Action) {
        match action {
            Action::Send {
                iface,
                to_nbma,
                bytes,
            } => {
                self.debug_packet(true, iface, to_nbma, &bytes);
                if let Some(t) = self.tunnels.get(&iface)
                    && let Err(e) = t.handle.send_nhrp(to_nbma, &bytes)
                {
                    tracing::debug!("{}: NHRP to {to_nbma} not sent: {e}", t.plan.name);
                }
            }
            Action::MappingAdd { iface, proto, nbma } => {
                if let Some(t) = self.tunnels.get(&iface) {
                    t.handle.tables().set_mapping(proto, nbma);
                }
            }
            Action::MappingRemove { iface, proto, nbma } => {
                if let Some(t) = self.tunnels.get(&iface)
                    && t.handle.tables().mapping(proto) == Some(nbma)
                {
                    t.handle.tables().remove_mapping(proto);
                }
            }
            Action::ShortcutAdd {
                iface,
                prefix,
                next_hop,
            } => {
                if let (Some(t), Some(p)) = (self.tunnels.get(&iface), dp_prefix(&prefix)) {
                    tracing::info!(
                        "%DMVPN-5-NHRP_SHORTCUT: {} shortcut {prefix} via {next_hop} installed",
                        t.plan.name
                    );
                    t.handle.tables().set_shortcut(p, next_hop);
                }
            }
            Action::ShortcutRemove {
                iface,
                prefix,
                next_hop,
            } => {
                if let (Some(t), Some(p)) = (self.tunnels.get(&iface), dp_prefix(&prefix)) {
                    let current = t.handle.tables().shortcuts();
                    if current.iter().any(|(q, n)| *q == p && *n == next_hop) {
                        t.handle.tables().remove_shortcut(p);
                        tracing::info!(
                            "%DMVPN-5-NHRP_SHORTCUT: {} shortcut {prefix} via {next_hop} removed",
                            t.plan.name
                        );
                    }
                }
            }
            Action::ProtectionNeeded { iface, nbma } => self.protection_needed(iface, nbma, true),
            Action::ProtectionNotNeeded { iface, nbma } => {
                self.protection_needed(iface, nbma, false);
            }
            Action::MulticastAdd { iface, nbma } => {
                if let Some(t) = self.tunnels.get(&iface) {
                    t.handle.tables().add_dynamic_peer(nbma);
                }
            }
            Action::MulticastRemove { iface, nbma } => {
                if let Some(t) = self.tunnels.get(&iface) {
                    t.handle.tables().remove_dynamic_peer(nbma);
                }
            }
            Action::Event(event) => {
                let name = match &event {
                    dmvpn_nhrp::Event::NhsUp { iface, .. }
                    | dmvpn_nhrp::Event::NhsDown { iface, .. }
                    | dmvpn_nhrp::Event::RegistrationAccepted { iface, .. }
                    | dmvpn_nhrp::Event::RegistrationRefused { iface, .. }
                    | dmvpn_nhrp::Event::ClientRegistered { iface, .. }
                    | dmvpn_nhrp::Event::ClientRefused { iface, .. }
                    | dmvpn_nhrp::Event::CacheAdded { iface, .. }
                    | dmvpn_nhrp::Event::CacheRemoved { iface, .. }
                    | dmvpn_nhrp::Event::RedirectSent { iface, .. }
                    | dmvpn_nhrp::Event::RedirectReceived { iface, .. }
                    | dmvpn_nhrp::Event::ResolutionDone { iface, .. }
                    | dmvpn_nhrp::Event::ResolutionFailed { iface, .. }
                    | dmvpn_nhrp::Event::PurgeReceived { iface, .. }
                    | dmvpn_nhrp::Event::ErrorReceived { iface, .. }
                    | dmvpn_nhrp::Event::ErrorSent { iface, .. }
                    | dmvpn_nhrp::Event::Dropped { iface, .. }
                    | dmvpn_nhrp::Event::MaxSendExceeded { iface, .. } => self.iface_name(*iface),
                    _ => String::from("Tunnel?"),
                };
                let nhrp = self.debug.effective_nhrp();
                let promote = (nhrp.events || nhrp.cache || nhrp.error)
                    && self.debug.matches(Some(&name), None, None);
                let now = self.now();
                log_event_limited(&event, &name, promote, &mut self.event_limiter, now);
            }
            other => tracing::debug!("engine action not handled: {other:?}"),
        }
    }

    /// `debug nhrp packet`: one line per NHRP packet sent or received; `debug nhrp capture`:
    /// the packet into the capture file.
    fn debug_packet(&mut self, outbound: bool, ifindex: IfIndex, peer: Ipv4Addr, packet: &[u8]) {
        if let Some(capture) = &mut self.capture {
            let (own, key) = self.tunnels.get(&ifindex).map_or((None, None), |t| {
                (t.handle.source_address(), t.plan.dataplane.key)
            });
            let own = own.unwrap_or(Ipv4Addr::UNSPECIFIED);
            let (src, dst) = if outbound { (own, peer) } else { (peer, own) };
            match capture.write(src, dst, key, packet) {
                Ok(()) => {
                    if let Some(status) = &mut self.debug.capture {
                        status.packets += 1;
                    }
                }
                Err(e) => {
                    tracing::error!("NHRP capture stopped: {e}");
                    self.capture = None;
                    self.debug.capture = None;
                }
            }
        }
        if self.debug.effective_nhrp().packet {
            let name = self.iface_name(ifindex);
            if self
                .debug
                .matches(Some(&name), Some(IpAddr::V4(peer)), None)
            {
                tracing::info!(
                    "{}",
                    crate::events::packet_line(outbound, &name, peer, packet)
                );
            }
        }
    }

    /// The protection seam: the engine needs (or no longer needs) protection towards `nbma`.
    /// With pass-through protection the peer counts as protected at once.
    pub fn protection_needed(&mut self, iface: IfIndex, nbma: Ipv4Addr, needed: bool) {
        let name = self.iface_name(iface);
        if needed {
            tracing::debug!("{name}: protection towards {nbma} requested (pass-through)");
            self.protected.insert(nbma);
            let now = self.now();
            self.engine.handle_protection(now, nbma, true);
        } else {
            tracing::debug!("{name}: protection towards {nbma} no longer needed");
            self.protected.remove(&nbma);
        }
    }

    /// Gives the engine the tunnel routes the data plane mirrors from the kernel (static
    /// `ip route`, FRR, BIRD), so that Resolution Requests can be forwarded along them.
    pub fn sync_routes(&mut self) {
        let now = self.now();
        for (ifindex, t) in &mut self.tunnels {
            let mut current = BTreeMap::new();
            for r in t.handle.routes() {
                if let Some(gw) = r.gateway {
                    current.insert(NhrpPrefix::new(r.prefix.addr(), r.prefix.len()), gw);
                }
            }
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
        self.drain_actions();
    }

    /// Tells the engine which dynamic entries carried traffic since the last call (the data
    /// plane forwards mapped traffic without asking), so that it marks them used and refreshes
    /// them before they expire, as IOS does for entries used in their last minute.
    pub fn track_usage(&mut self) {
        let now = self.now();
        let mut used: Vec<(IfIndex, Ipv4Addr)> = Vec::new();
        for (ifindex, t) in &self.tunnels {
            for (nbma, c) in t.handle.counters().peers {
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

    async fn install_all_routes(&self) {
        for t in self.tunnels.values() {
            for r in &t.plan.routes {
                install_route(&t.plan.name, r, true).await;
            }
        }
    }

    /// SIGHUP: re-reads the configuration and applies what changed. Tunnels whose data-plane
    /// settings are unchanged keep running (their peers are not disturbed); the engine gets
    /// the new configuration, which keeps the dynamic cache of unchanged interfaces.
    pub async fn reload(&mut self) -> Result<(), DaemonError> {
        let (text, config) = load_config(&self.config_path)?;
        let plans = translate::plan(&config).map_err(|e| DaemonError::Config(e.to_string()))?;
        let mut new_tunnels = BTreeMap::new();
        let mut kept = 0usize;
        let mut restarted = 0usize;
        let mut old = std::mem::take(&mut self.tunnels);
        for plan in plans {
            match old.remove(&plan.ifindex) {
                Some(mut rt) if rt.plan.dataplane == plan.dataplane => {
                    // Same interface: update tables and routes in place.
                    rt.handle.tables().set_nhs(plan.nhs_nbma.clone());
                    rt.handle
                        .tables()
                        .set_multicast_policy(plan.multicast.clone());
                    for r in &rt.plan.routes {
                        if !plan.routes.contains(r) {
                            install_route(&plan.name, r, false).await;
                        }
                    }
                    for r in &plan.routes {
                        if !rt.plan.routes.contains(r) {
                            install_route(&plan.name, r, true).await;
                        }
                    }
                    rt.plan = plan;
                    kept += 1;
                    new_tunnels.insert(rt.plan.ifindex, rt);
                }
                previous => {
                    if let Some(rt) = previous {
                        stop_tunnel(rt).await;
                    }
                    let rt =
                        match start_tunnel(plan, self.protection.clone(), self.events_tx.clone())
                            .await
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                // Keep whatever still runs; the engine keeps its configuration.
                                new_tunnels.append(&mut old);
                                self.tunnels = new_tunnels;
                                return Err(e);
                            }
                        };
                    for r in &rt.plan.routes {
                        install_route(&rt.plan.name, r, true).await;
                    }
                    restarted += 1;
                    new_tunnels.insert(rt.plan.ifindex, rt);
                }
            }
        }
        for (_, rt) in old {
            tracing::info!("{}: removed from the configuration", rt.plan.name);
            stop_tunnel(rt).await;
        }
        self.tunnels = new_tunnels;
        let engine_config = EngineConfig {
            interfaces: self
                .tunnels
                .values()
                .filter(|t| t.plan.nhrp)
                .map(|t| {
                    t.plan
                        .engine_config(t.handle.source_address().unwrap_or(Ipv4Addr::UNSPECIFIED))
                })
                .collect(),
        };
        let now = self.now();
        if engine_config != self.engine.config() {
            self.engine
                .update_config(now, engine_config)
                .map_err(|e| DaemonError::Config(format!("NHRP: {e}")))?;
        }
        self.config_text = text;
        self.event_limiter
            .set_window(config.logging_dmvpn_rate_limit);
        // Routes into new tunnels are re-learned by the next sync.
        for t in self.tunnels.values_mut() {
            t.engine_routes.clear();
        }
        self.sync_routes();
        tracing::info!(
            "configuration reloaded from {}: {kept} tunnel(s) kept, {restarted} (re)started",
            self.config_path.display()
        );
        Ok(())
    }

    /// SIGTERM: tells every NHS that our registrations are gone (Purge Request), then removes
    /// the kernel routes and the TUN devices.
    pub async fn shutdown(mut self) {
        self.send_purges();
        for (_, rt) in std::mem::take(&mut self.tunnels) {
            for r in &rt.plan.routes {
                install_route(&rt.plan.name, r, false).await;
            }
            let name = rt.plan.name.clone();
            stop_tunnel(rt).await;
            tracing::info!("{name}: removed");
        }
    }

    /// Purge Requests (no reply wanted) for our own binding to every NHS of every tunnel.
    fn send_purges(&mut self) {
        use dmvpn_nhrp::packet::{Cie, Message};
        let config = self.engine.config();
        for ifc in &config.interfaces {
            let Some(t) = self.tunnels.get(&ifc.ifindex) else {
                continue;
            };
            let nbma = t.handle.source_address().unwrap_or(ifc.nbma_addr);
            for nhs in &ifc.nhs {
                let Some(to) = ifc.nhs_nbma(nhs) else {
                    continue;
                };
                let mut m = Message::new(
                    dmvpn_nhrp::PacketType::PurgeRequest,
                    64,
                    nbma,
                    ifc.protocol_addr,
                    nhs.protocol,
                );
                // N flag (0x8000 in Purge): no reply expected.
                m.flags = 0x8000;
                m.request_id = self.now().as_millis() as u32 | 1;
                m.cies.push(Cie {
                    code: 0,
                    prefix_len: 32,
                    mtu: 0,
                    holding_time: 0,
                    client_nbma: Some(nbma),
                    client_proto: Some(ifc.protocol_addr),
                    preference: 0,
                });
                if let Some(password) = &ifc.authentication {
                    let mut auth = 1u32.to_be_bytes().to_vec();
                    auth.extend(password.as_bytes().iter().take(8));
                    m.ext.auth = Some(auth);
                }
                match dmvpn_nhrp::codec::encode(&m) {
                    Ok(bytes) => {
                        if let Err(e) = t.handle.send_nhrp(to, &bytes) {
                            tracing::warn!("{}: Purge to {to} not sent: {e}", ifc.name);
                        } else {
                            tracing::info!(
                                "%DMVPN-5-NHRP_PURGE: {} Purge Request sent to NHS {} ({to})",
                                ifc.name,
                                nhs.protocol
                            );
                        }
                    }
                    Err(e) => tracing::warn!("{}: cannot encode Purge: {e}", ifc.name),
                }
            }
        }
    }

    /// Answers one control request line.
    pub fn on_control(&mut self, line: &str) -> String {
        let answer = mgmt::serve_line(self, line);
        self.drain_actions();
        answer
    }

    fn secs_since(&self, t: dmvpn_nhrp::Instant) -> u64 {
        self.now().saturating_duration_since(t).as_secs()
    }

    fn secs_until(&self, t: dmvpn_nhrp::Instant) -> u64 {
        t.saturating_duration_since(self.now()).as_secs()
    }

    fn ifindex_of(&self, name: &str) -> Option<IfIndex> {
        let want = mgmt::normalize_interface(name);
        self.tunnels
            .values()
            .find(|t| mgmt::normalize_interface(&t.plan.name) == want)
            .map(|t| t.plan.ifindex)
    }

    fn nhs_snapshot(&self, ifindex: Option<IfIndex>) -> Vec<mgmt::NhsStatus> {
        self.engine
            .nhs_status(ifindex)
            .into_iter()
            .map(|n| mgmt::NhsStatus {
                interface: n.iface_name.clone(),
                address: IpAddr::V4(n.protocol),
                nbma: n.nbma.map(IpAddr::V4),
                state: match n.state {
                    dmvpn_nhrp::NhsState::Up => mgmt::NhsState::Up,
                    _ => mgmt::NhsState::Down,
                },
                priority: n.priority,
                cluster: 0,
                expecting_replies: n.state == dmvpn_nhrp::NhsState::Expecting,
                responding: n.state == dmvpn_nhrp::NhsState::Up,
                waiting: n.state == dmvpn_nhrp::NhsState::Down,
                requests_sent: n.requests,
                requests_failed: u64::from(n.unanswered),
                replies_received: n.replies,
                last_reply_secs: None,
            })
            .collect()
    }
}

fn mgmt_prefix(p: &NhrpPrefix) -> mgmt::Prefix {
    mgmt::Prefix {
        address: IpAddr::V4(p.addr()),
        prefix_len: p.len(),
    }
}

fn traffic(
    c: &dmvpn_dataplane::TrafficCounters,
    base: Option<&dmvpn_dataplane::TrafficCounters>,
) -> mgmt::PacketCounters {
    let zero = dmvpn_dataplane::TrafficCounters::default();
    let b = base.unwrap_or(&zero);
    mgmt::PacketCounters {
        packets_in: c.rx_packets.saturating_sub(b.rx_packets),
        packets_out: c.tx_packets.saturating_sub(b.tx_packets),
        bytes_in: c.rx_bytes.saturating_sub(b.rx_bytes),
        bytes_out: c.tx_bytes.saturating_sub(b.tx_bytes),
    }
}

fn type_counters(c: &dmvpn_nhrp::PacketCounts) -> mgmt::NhrpTypeCounters {
    mgmt::NhrpTypeCounters {
        total: c.total,
        resolution_request: c.resolution_request,
        resolution_reply: c.resolution_reply,
        registration_request: c.registration_request,
        registration_reply: c.registration_reply,
        purge_request: c.purge_request,
        purge_reply: c.purge_reply,
        error_indication: c.error_indication,
        traffic_indication: c.traffic_indication,
        other: c.total.saturating_sub(
            c.resolution_request
                + c.resolution_reply
                + c.registration_request
                + c.registration_reply
                + c.purge_request
                + c.purge_reply
                + c.error_indication
                + c.traffic_indication,
        ),
    }
}

impl mgmt::Handler for Node {
    fn dmvpn(&mut self) -> Result<mgmt::DmvpnStatus, mgmt::HandlerError> {
        let mut status = mgmt::DmvpnStatus::default();
        for t in self.tunnels.values() {
            let ifindex = t.plan.ifindex;
            let counters = t.handle.counters();
            let mut peers: BTreeMap<Ipv4Addr, mgmt::DmvpnPeer> = BTreeMap::new();
            for e in self.engine.cache_entries(Some(ifindex)) {
                if e.flags.contains(EntryFlags::LOCAL) {
                    continue;
                }
                let nbma = e.nbma.unwrap_or(Ipv4Addr::UNSPECIFIED);
                let incomplete = e.kind == EntryKind::Incomplete || e.nbma.is_none();
                let state = if incomplete {
                    mgmt::PeerState::Nhrp
                } else {
                    mgmt::PeerState::Up
                };
                let attributes = mgmt::PeerAttributes {
                    is_static: e.kind == EntryKind::Static,
                    dynamic: e.kind == EntryKind::Dynamic,
                    incomplete,
                    nated: e.flags.contains(EntryFlags::NAT),
                    local: false,
                    no_socket: false,
                };
                let entry = mgmt::DmvpnEntry {
                    target: mgmt_prefix(&e.prefix),
                    state,
                    up_down_secs: Some(self.secs_since(e.created)),
                    attributes,
                };
                let peer_counters = counters
                    .peers
                    .iter()
                    .find(|(a, _)| *a == nbma)
                    .map(|(_, c)| traffic(c, self.counter_base.get(&(ifindex, Some(nbma)))))
                    .unwrap_or_default();
                let peer = peers.entry(nbma).or_insert_with(|| mgmt::DmvpnPeer {
                    nbma: IpAddr::V4(nbma),
                    tunnel: IpAddr::V4(e.next_hop),
                    state,
                    up_down_secs: Some(self.secs_since(e.created)),
                    attributes,
                    entries: Vec::new(),
                    counters: peer_counters,
                });
                // The tunnel address of the peer is its host entry's address when it has one.
                if e.prefix.len() == 32 && e.prefix.addr() == e.next_hop {
                    peer.tunnel = IpAddr::V4(e.next_hop);
                }
                peer.entries.push(entry);
            }
            let destination = match t.plan.dataplane.mode {
                TunnelMode::PointToPoint { destination } => Some(IpAddr::V4(destination)),
                TunnelMode::Multipoint => None,
            };
            let source = t.handle.source_address();
            status.interfaces.push(mgmt::DmvpnInterface {
                name: t.plan.name.clone(),
                role: t.plan.role,
                admin_up: true,
                line_up: source.is_some(),
                tunnel_address: Some(IpAddr::V4(t.plan.dataplane.address)),
                source: source.map(IpAddr::V4),
                destination,
                protection: t.plan.protection.clone(),
                nhs: self.nhs_snapshot(Some(ifindex)),
                peers: peers.into_values().collect(),
                counters: traffic(&counters.tunnel, self.counter_base.get(&(ifindex, None))),
            });
        }
        Ok(status)
    }

    fn nhrp_cache(&mut self) -> Result<mgmt::NhrpCache, mgmt::HandlerError> {
        let entries = self
            .engine
            .cache_entries(None)
            .into_iter()
            .map(|e| {
                let flags = mgmt::CacheFlags {
                    router: e.flags.contains(EntryFlags::ROUTER),
                    implicit: e.flags.contains(EntryFlags::IMPLICIT),
                    authoritative: e.flags.contains(EntryFlags::AUTHORITATIVE),
                    unique: e.flags.contains(EntryFlags::UNIQUE),
                    registered: e.flags.contains(EntryFlags::REGISTERED),
                    used: e.flags.contains(EntryFlags::USED),
                    nat: e.flags.contains(EntryFlags::NAT),
                    local: e.flags.contains(EntryFlags::LOCAL),
                };
                mgmt::NhrpCacheEntry {
                    prefix: mgmt_prefix(&e.prefix),
                    via: Some(IpAddr::V4(e.next_hop)),
                    interface: e.iface_name.clone(),
                    created_secs: self.secs_since(e.created),
                    expire_secs: e.expires.map(|t| self.secs_until(t)),
                    entry_type: match e.kind {
                        EntryKind::Static => mgmt::EntryType::Static,
                        EntryKind::Dynamic => mgmt::EntryType::Dynamic,
                        EntryKind::Incomplete => mgmt::EntryType::Incomplete,
                        EntryKind::Negative => mgmt::EntryType::Negative,
                    },
                    flags,
                    nbma: e.nbma.map(IpAddr::V4),
                    claimed_nbma: e.claimed_nbma.map(IpAddr::V4),
                    preference: None,
                }
            })
            .collect();
        Ok(mgmt::NhrpCache { entries })
    }

    fn nhs(&mut self) -> Result<mgmt::NhsReport, mgmt::HandlerError> {
        Ok(mgmt::NhsReport {
            servers: self.nhs_snapshot(None),
        })
    }

    fn traffic(&mut self) -> Result<mgmt::TrafficReport, mgmt::HandlerError> {
        let mut report = mgmt::TrafficReport::default();
        for t in self.tunnels.values() {
            let Some(s) = self.engine.traffic(t.plan.ifindex) else {
                continue;
            };
            report.interfaces.push(mgmt::NhrpTraffic {
                interface: t.plan.name.clone(),
                max_send: mgmt::MaxSend {
                    packets: s.max_send_limit.unwrap_or(0),
                    interval_secs: u32::try_from(s.max_send_interval_secs).unwrap_or(u32::MAX),
                    usage_percent: u8::try_from(s.max_send_usage_percent.min(100)).unwrap_or(100),
                    dropped: s.max_send_dropped,
                },
                sent: type_counters(&s.sent),
                received: type_counters(&s.rcvd),
            });
        }
        Ok(report)
    }

    fn shortcuts(&mut self) -> Result<mgmt::ShortcutTable, mgmt::HandlerError> {
        let mut table = mgmt::ShortcutTable::default();
        let entries = self.engine.cache_entries(None);
        for s in self.engine.shortcuts(None) {
            let created = entries
                .iter()
                .find(|e| e.iface == s.iface && e.prefix == s.prefix)
                .map_or(0, |e| self.secs_since(e.created));
            let installed = self.tunnels.get(&s.iface).is_some_and(|t| {
                dp_prefix(&s.prefix).is_some_and(|p| {
                    t.handle
                        .tables()
                        .shortcuts()
                        .iter()
                        .any(|(q, n)| *q == p && *n == s.next_hop)
                })
            });
            table.shortcuts.push(mgmt::Shortcut {
                interface: self.iface_name(s.iface),
                target: mgmt_prefix(&s.prefix),
                next_hop: IpAddr::V4(s.next_hop),
                nbma: s.nbma.map(IpAddr::V4),
                created_secs: created,
                expire_secs: s.expires.map(|t| self.secs_until(t)),
                installed,
            });
        }
        Ok(table)
    }

    fn running_config(&mut self) -> Result<mgmt::RunningConfig, mgmt::HandlerError> {
        Ok(mgmt::RunningConfig {
            text: self.config_text.clone(),
        })
    }

    fn debug_conditions(&mut self) -> Result<mgmt::DebugConditions, mgmt::HandlerError> {
        Ok(self.debug.clone())
    }

    fn debug(&mut self, req: &mgmt::DebugRequest) -> Result<mgmt::Ack, mgmt::HandlerError> {
        if let mgmt::DebugCommand::NhrpCapture { path } = &req.command {
            // Close any capture first (`no debug nhrp capture`, or a new file).
            self.capture = None;
            if req.enable {
                let Some(path) = path else {
                    return Err(mgmt::HandlerError::Failed(
                        "debug nhrp capture needs a file name".to_string(),
                    ));
                };
                let capture = NhrpCapture::open(Path::new(path))
                    .map_err(|e| mgmt::HandlerError::Failed(format!("cannot write {path}: {e}")))?;
                self.capture = Some(capture);
            }
        }
        self.debug.apply(&req.command, req.enable);
        let message = req.command.confirmation(req.enable);
        tracing::info!("{message}");
        Ok(mgmt::Ack {
            message,
            affected: None,
        })
    }

    fn undebug_all(&mut self) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.capture = None;
        self.debug.undebug_all();
        Ok(mgmt::Ack {
            message: "All possible debugging has been turned off".to_string(),
            affected: None,
        })
    }

    fn clear_dmvpn_session(
        &mut self,
        req: &mgmt::ClearDmvpnSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.clear_sessions(req)
    }

    fn clear_dmvpn_statistics(
        &mut self,
        req: &mgmt::ClearDmvpnStatistics,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let mut n = 0;
        for ifindex in self.selected(req.interface.as_ref())? {
            n += self.reset_counters(ifindex, req.peer.as_ref());
        }
        Ok(mgmt::Ack {
            message: format!("DMVPN statistics cleared ({n} counter sets)"),
            affected: Some(n),
        })
    }

    fn clear_counters(
        &mut self,
        req: &mgmt::ClearCounters,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let ifindex = self.ifindex_of(&req.interface).ok_or_else(|| {
            mgmt::HandlerError::NotFound(format!("no interface {}", req.interface))
        })?;
        let n = self.reset_counters(ifindex, None);
        Ok(mgmt::Ack {
            message: format!("counters of {} cleared", self.iface_name(ifindex)),
            affected: Some(n),
        })
    }

    fn clear_ip_nhrp(&mut self, req: &mgmt::ClearIpNhrp) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let now = self.now();
        let iface = match &req.interface {
            Some(name) => Some(
                self.ifindex_of(name)
                    .ok_or_else(|| mgmt::HandlerError::NotFound(format!("no interface {name}")))?,
            ),
            None => None,
        };
        let report = match req.address {
            Some(IpAddr::V4(proto)) => {
                let mut removed = 0;
                for i in iface.map_or_else(|| self.tunnels.keys().copied().collect(), |i| vec![i]) {
                    removed += self
                        .engine
                        .clear(now, ClearRequest::Entry { iface: i, proto })
                        .removed;
                }
                removed
            }
            Some(IpAddr::V6(_)) => {
                return Err(mgmt::HandlerError::Failed(
                    "IPv6 NHRP is not supported".to_string(),
                ));
            }
            None => {
                self.engine
                    .clear(now, ClearRequest::Dynamic { iface })
                    .removed
            }
        };
        self.drain_actions();
        Ok(mgmt::Ack {
            message: format!("{report} NHRP entries cleared"),
            affected: Some(report as u64),
        })
    }
}

impl Node {
    /// The tunnels an optional interface filter selects.
    fn selected(&self, interface: Option<&String>) -> Result<Vec<IfIndex>, mgmt::HandlerError> {
        match interface {
            Some(name) => Ok(vec![self.ifindex_of(name).ok_or_else(|| {
                mgmt::HandlerError::NotFound(format!("no interface {name}"))
            })?]),
            None => Ok(self.tunnels.keys().copied().collect()),
        }
    }

    fn peer_matches(
        filter: Option<&mgmt::PeerFilter>,
        nbma: Option<Ipv4Addr>,
        tunnel: Ipv4Addr,
    ) -> bool {
        match filter {
            None => true,
            Some(mgmt::PeerFilter::Nbma { address }) => nbma.map(IpAddr::V4) == Some(*address),
            Some(mgmt::PeerFilter::Tunnel { address }) => IpAddr::V4(tunnel) == *address,
        }
    }

    fn reset_counters(&mut self, ifindex: IfIndex, peer: Option<&mgmt::PeerFilter>) -> u64 {
        let Some(t) = self.tunnels.get(&ifindex) else {
            return 0;
        };
        let snapshot = t.handle.counters();
        let mut n = 0;
        if peer.is_none() {
            self.counter_base.insert((ifindex, None), snapshot.tunnel);
            n += 1;
        }
        let tunnel_of: BTreeMap<Ipv4Addr, Ipv4Addr> = self
            .engine
            .cache_entries(Some(ifindex))
            .into_iter()
            .filter_map(|e| e.nbma.map(|a| (a, e.next_hop)))
            .collect();
        for (nbma, c) in snapshot.peers {
            let tunnel = tunnel_of
                .get(&nbma)
                .copied()
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            if Self::peer_matches(peer, Some(nbma), tunnel) {
                self.counter_base.insert((ifindex, Some(nbma)), c);
                n += 1;
            }
        }
        n
    }
}

/// The clear commands of the control API.
impl Node {
    fn clear_sessions(
        &mut self,
        req: &mgmt::ClearDmvpnSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let now = self.now();
        let mut removed = 0usize;
        for ifindex in self.selected(req.interface.as_ref())? {
            if req.peer.is_none() {
                let r = if req.include_static {
                    ClearRequest::All {
                        iface: Some(ifindex),
                    }
                } else {
                    ClearRequest::Dynamic {
                        iface: Some(ifindex),
                    }
                };
                removed += self.engine.clear(now, r).removed;
                continue;
            }
            let victims: Vec<Ipv4Addr> = self
                .engine
                .cache_entries(Some(ifindex))
                .into_iter()
                .filter(|e| !e.flags.contains(EntryFlags::LOCAL))
                .filter(|e| Self::peer_matches(req.peer.as_ref(), e.nbma, e.next_hop))
                .map(|e| e.prefix.addr())
                .collect();
            for proto in victims {
                removed += self
                    .engine
                    .clear(
                        now,
                        ClearRequest::Entry {
                            iface: ifindex,
                            proto,
                        },
                    )
                    .removed;
            }
        }
        self.drain_actions();
        Ok(mgmt::Ack {
            message: format!("{removed} DMVPN session entries cleared"),
            affected: Some(removed as u64),
        })
    }
}

async fn start_tunnel(
    plan: TunnelPlan,
    protection: Arc<dyn Protection>,
    events_tx: mpsc::Sender<(IfIndex, Event)>,
) -> Result<TunnelRt, DaemonError> {
    let (tunnel, mut events) = Tunnel::start(plan.dataplane.clone(), protection)
        .await
        .map_err(|e| DaemonError::Dataplane(format!("{}: {e}", plan.name)))?;
    let handle = tunnel.handle();
    handle.tables().set_nhs(plan.nhs_nbma.clone());
    handle.tables().set_multicast_policy(plan.multicast.clone());
    let ifindex = plan.ifindex;
    let forwarder = tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if events_tx.send((ifindex, ev)).await.is_err() {
                return;
            }
        }
    });
    if let Some(profile) = &plan.protection {
        tracing::warn!(
            "%DMVPN-4-PROTECTION: {}: `tunnel protection ipsec profile {profile}` is configured but this build has no IPsec: GRE and NHRP to every peer go out UNENCRYPTED",
            plan.name
        );
    }
    tracing::info!(
        "{}: up, {} {}/{}, source {}",
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
    );
    Ok(TunnelRt {
        plan,
        tunnel: Some(tunnel),
        handle,
        forwarder,
        engine_routes: BTreeMap::new(),
    })
}

async fn stop_tunnel(mut rt: TunnelRt) {
    rt.forwarder.abort();
    if let Some(t) = rt.tunnel.take() {
        t.shutdown().await;
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

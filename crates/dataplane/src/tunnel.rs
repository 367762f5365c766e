//! One tunnel interface: its TUN device, its raw GRE socket, its tables and the tasks that
//! move packets between them. [`Tunnel::start`] builds everything and spawns the tasks;
//! [`TunnelHandle`] is the daemon's side (tables, NHRP send, counters); [`Event`]s come out
//! of the receiver returned by `start`.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::Error;
use crate::seam::{CounterSnapshot, Event};
use crate::counters::{Counters, Stat, TrafficCounters};
use crate::gre::{GreHeader, PROTO_IPV4, PROTO_NHRP};
use crate::nbma::GreSocket;
use crate::netlink::{self, RT_TABLE_MAIN};
use crate::packet::{
    IPV4_MIN_HEADER_LEN, Ipv4Info, clamp_tcp_mss, fragment_ipv4, icmp_frag_needed,
};
use crate::protection::{PacketBuf, Protection};
use crate::tables::{Decision, ForwardingTables, MirroredRoute};

/// Largest IPv4 packet.
const MAX_PACKET: usize = 65535;
/// Transmit queue length of the TUN device (packets the kernel queues for the reader).
const TUN_TX_QUEUE: u32 = 2000;
/// Slots of the hairpin flow cache (a power of two).
const FLOW_SLOTS: usize = 4096;
/// How long a decapsulated flow stays in the hairpin cache.
const FLOW_WINDOW: Duration = Duration::from_secs(10);

/// Where the tunnel's NBMA source address comes from (`tunnel source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelSource {
    /// An interface: its primary IPv4 address, followed as it changes.
    Interface(String),
    /// A fixed address.
    Address(Ipv4Addr),
}

/// Point-to-point or multipoint GRE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelMode {
    /// `tunnel mode gre multipoint`: peers are found through the tables.
    Multipoint,
    /// `tunnel destination A.B.C.D`: everything goes to (and only comes from) one peer.
    PointToPoint {
        /// The peer's NBMA address.
        destination: Ipv4Addr,
    },
}

/// Configuration of one tunnel interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Interface name (`Tunnel0`); at most 15 bytes.
    pub name: String,
    /// `ip address`: the tunnel's overlay address.
    pub address: Ipv4Addr,
    /// `ip address`: the prefix length.
    pub prefix_len: u8,
    /// `ip mtu`: the MTU of the TUN device.
    pub mtu: u16,
    /// MTU of the NBMA path; inner packets are limited to this minus outer IP and GRE.
    pub nbma_mtu: u16,
    /// `tunnel source`.
    pub source: TunnelSource,
    /// `tunnel mode gre multipoint` or `tunnel destination`.
    pub mode: TunnelMode,
    /// `tunnel key`.
    pub key: Option<u32>,
    /// `ip tcp adjust-mss`: clamp the MSS of TCP SYNs in both directions.
    pub tcp_adjust_mss: Option<u16>,
    /// Copy the inner packet's TOS byte into the outer IP header (IOS default when no
    /// `tunnel tos` is set).
    pub copy_tos: bool,
    /// Report packets that hairpin (received from the tunnel, routed back into it) as
    /// [`Event::Hairpin`] (a hub with `ip nhrp redirect`).
    pub detect_hairpin: bool,
    /// The kernel routing table mirrored (254, main, by default).
    pub route_table: u32,
    /// How often the route mirror is rebuilt from a full dump, to catch removals the
    /// kernel does not announce (routes flushed with a deleted nexthop object).
    pub route_resync: Duration,
    /// Minimum interval between two events about the same next hop or flow.
    pub event_interval: Duration,
    /// Capacity of the event queue; events beyond it are counted as lost.
    pub event_queue: usize,
}

impl TunnelConfig {
    /// A multipoint tunnel with Cisco-like defaults: MTU 1400, NBMA MTU 1500, no key, no
    /// MSS clamping, no hairpin detection, main table, events at most once a second.
    pub fn new(
        name: impl Into<String>,
        address: Ipv4Addr,
        prefix_len: u8,
        source: TunnelSource,
    ) -> Self {
        Self {
            name: name.into(),
            address,
            prefix_len,
            mtu: 1400,
            nbma_mtu: 1500,
            source,
            mode: TunnelMode::Multipoint,
            key: None,
            tcp_adjust_mss: None,
            copy_tos: true,
            detect_hairpin: false,
            route_table: RT_TABLE_MAIN,
            route_resync: Duration::from_secs(30),
            event_interval: Duration::from_secs(1),
            event_queue: 1024,
        }
    }

    fn gre_header(&self, protocol: u16) -> GreHeader {
        GreHeader {
            protocol,
            key: self.key,
        }
    }

    /// The largest inner packet sent without fragmentation: the smaller of `mtu` and the
    /// NBMA MTU minus the outer IPv4 and GRE headers.
    pub fn max_inner(&self) -> usize {
        self.max_inner_for(self.mtu)
    }

    fn max_inner_for(&self, mtu: u16) -> usize {
        let overhead = IPV4_MIN_HEADER_LEN + self.gre_header(PROTO_IPV4).len();
        usize::from(mtu).min(usize::from(self.nbma_mtu).saturating_sub(overhead))
    }

    fn validate(&self) -> Result<(), Error> {
        if self.name.is_empty() || self.name.len() > 15 {
            return Err(Error::Config(format!(
                "interface name {:?} must be 1 to 15 bytes",
                self.name
            )));
        }
        if self.prefix_len > 32 {
            return Err(Error::Config(format!(
                "prefix length {} above 32",
                self.prefix_len
            )));
        }
        if self.max_inner() < 68 {
            return Err(Error::Config(format!(
                "MTU {} / NBMA MTU {} leave fewer than 68 bytes for inner packets",
                self.mtu, self.nbma_mtu
            )));
        }
        Ok(())
    }
}

/// Rate limiter for repeated events, keyed by kind and two addresses.
#[derive(Debug)]
struct EventLimiter {
    last: HashMap<(u8, Ipv4Addr, Ipv4Addr), Instant>,
    interval: Duration,
}

impl EventLimiter {
    fn allow(&mut self, key: (u8, Ipv4Addr, Ipv4Addr), now: Instant) -> bool {
        if let Some(t) = self.last.get(&key)
            && now.saturating_duration_since(*t) < self.interval
        {
            return false;
        }
        if self.last.len() >= 4096 {
            let interval = self.interval;
            self.last
                .retain(|_, t| now.saturating_duration_since(*t) < interval);
        }
        self.last.insert(key, now);
        true
    }
}

/// Remembers recently decapsulated flows (inner source, destination) and where they came
/// from, in a fixed-size direct-mapped table: a collision only forgets a flow.
#[derive(Debug)]
struct FlowCache {
    slots: Vec<Option<(Ipv4Addr, Ipv4Addr, Ipv4Addr, Instant)>>,
    hasher: std::collections::hash_map::RandomState,
}

impl FlowCache {
    fn new() -> Self {
        Self {
            slots: vec![None; FLOW_SLOTS],
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    fn slot(&self, src: Ipv4Addr, dst: Ipv4Addr) -> usize {
        usize::try_from(self.hasher.hash_one((src, dst))).unwrap_or(0) & (FLOW_SLOTS - 1)
    }

    fn record(&mut self, src: Ipv4Addr, dst: Ipv4Addr, nbma: Ipv4Addr, now: Instant) {
        let i = self.slot(src, dst);
        if let Some(s) = self.slots.get_mut(i) {
            *s = Some((src, dst, nbma, now));
        }
    }

    fn ingress(&self, src: Ipv4Addr, dst: Ipv4Addr, now: Instant) -> Option<Ipv4Addr> {
        match self.slots.get(self.slot(src, dst)).copied().flatten() {
            Some((s, d, nbma, t))
                if s == src && d == dst && now.saturating_duration_since(t) < FLOW_WINDOW =>
            {
                Some(nbma)
            }
            _ => None,
        }
    }
}

/// Settings the daemon may change while the tunnel runs (SIGHUP without a restart).
#[derive(Debug)]
struct Runtime {
    /// `ip tcp adjust-mss`; 0 is off.
    mss: AtomicU16,
    /// Report hairpins as events.
    hairpin_events: AtomicBool,
    /// `ip mtu`.
    mtu: AtomicU16,
}

/// State shared by the tasks and the handles.
#[derive(Debug)]
struct Shared {
    config: TunnelConfig,
    runtime: Runtime,
    /// The TUN device, owned by the tasks; weak so that handles do not keep it alive.
    tun: Weak<tun_rs::AsyncDevice>,
    ifindex: u32,
    tables: Arc<ForwardingTables>,
    counters: Counters,
    protection: Arc<dyn Protection>,
    socket: RwLock<Option<Arc<GreSocket>>>,
    source: Arc<watch::Sender<Option<Ipv4Addr>>>,
    events: mpsc::Sender<Event>,
    resync_routes: Arc<tokio::sync::Notify>,
    limiter: Mutex<EventLimiter>,
    flows: Mutex<FlowCache>,
}

impl Shared {
    fn adjust_mss(&self) -> Option<u16> {
        match self.runtime.mss.load(Ordering::Relaxed) {
            0 => None,
            m => Some(m),
        }
    }

    fn max_inner(&self) -> usize {
        self.config
            .max_inner_for(self.runtime.mtu.load(Ordering::Relaxed))
    }

    fn socket(&self) -> Option<Arc<GreSocket>> {
        self.socket
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_socket(&self, socket: Option<Arc<GreSocket>>) {
        *self.socket.write().unwrap_or_else(|e| e.into_inner()) = socket;
    }

    fn emit(&self, event: Event) {
        if self.events.try_send(event).is_err() {
            self.counters.count(Stat::events_lost);
        }
    }

    fn allow_event(&self, key: (u8, Ipv4Addr, Ipv4Addr)) -> bool {
        self.limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .allow(key, Instant::now())
    }

    /// Encapsulates `inner` with GRE `protocol`, protects it and sends it to `peer`.
    fn encap_send(
        &self,
        buf: &mut PacketBuf,
        inner: &[u8],
        protocol: u16,
        peer: Ipv4Addr,
        tos: u8,
    ) -> Result<(), Error> {
        let socket = self.socket().ok_or(Error::NoSource)?;
        let encap = |reason: String| Error::Encapsulation { peer, reason };
        if peer == socket.local() {
            // A mapping to our own NBMA address would loop packets through the kernel.
            return Err(encap("peer is this node's own NBMA address".into()));
        }
        buf.set(inner).map_err(|e| encap(e.to_string()))?;
        let gre = self.config.gre_header(protocol);
        let head = buf.prepend(gre.len()).map_err(|e| encap(e.to_string()))?;
        gre.emit(head).ok_or_else(|| encap("GRE header".into()))?;
        if let Err(e) = self.protection.protect(peer, buf) {
            self.counters.count(Stat::protection);
            return Err(encap(e.to_string()));
        }
        socket
            .send_to_tos(buf.as_slice(), peer, tos)
            .map_err(|source| Error::Send { peer, source })?;
        Ok(())
    }

    fn send_data(&self, buf: &mut PacketBuf, inner: &[u8], peer: Ipv4Addr) {
        let tos = if self.config.copy_tos {
            inner.get(1).copied().unwrap_or(0)
        } else {
            0
        };
        match self.encap_send(buf, inner, PROTO_IPV4, peer, tos) {
            Ok(()) => self.counters.tx(peer, inner.len()),
            Err(e) => {
                tracing::debug!(%peer, error = %e, "send failed");
                self.counters.count(Stat::send_errors);
            }
        }
    }
}

/// The daemon's handle on a running tunnel: cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub struct TunnelHandle {
    shared: Arc<Shared>,
}

impl TunnelHandle {
    /// The interface name.
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// The TUN device's interface index.
    pub fn ifindex(&self) -> u32 {
        self.shared.ifindex
    }

    /// The configuration the tunnel was started with (see the setters below for what may
    /// change at run time).
    pub fn config(&self) -> &TunnelConfig {
        &self.shared.config
    }

    /// Changes `ip tcp adjust-mss` at run time (`None` turns clamping off).
    pub fn set_tcp_adjust_mss(&self, mss: Option<u16>) {
        self.shared
            .runtime
            .mss
            .store(mss.unwrap_or(0), Ordering::Relaxed);
    }

    /// Turns [`Event::Hairpin`] reporting on or off at run time (`ip nhrp redirect`).
    pub fn set_detect_hairpin(&self, on: bool) {
        self.shared
            .runtime
            .hairpin_events
            .store(on, Ordering::Relaxed);
    }

    /// Changes `ip mtu` at run time: the TUN device's MTU and the fragmentation limit.
    /// Call it from a thread in the tunnel's network namespace (the daemon's own).
    pub fn set_mtu(&self, mtu: u16) -> Result<(), Error> {
        if self.shared.config.max_inner_for(mtu) < 68 {
            return Err(Error::Config(format!(
                "MTU {mtu} leaves fewer than 68 bytes"
            )));
        }
        let tun = self.shared.tun.upgrade().ok_or_else(|| Error::Tun {
            name: self.shared.config.name.clone(),
            source: std::io::Error::from(std::io::ErrorKind::NotConnected),
        })?;
        tun.set_mtu(mtu).map_err(|source| Error::Tun {
            name: self.shared.config.name.clone(),
            source,
        })?;
        self.shared.runtime.mtu.store(mtu, Ordering::Relaxed);
        Ok(())
    }

    /// The current MTU (`ip mtu`).
    pub fn mtu(&self) -> u16 {
        self.shared.runtime.mtu.load(Ordering::Relaxed)
    }

    /// The forwarding tables: mappings, shortcuts, NHS list, multicast targets, routes.
    pub fn tables(&self) -> &ForwardingTables {
        &self.shared.tables
    }

    /// The current tunnel source (NBMA) address.
    pub fn source_address(&self) -> Option<Ipv4Addr> {
        *self.shared.source.borrow()
    }

    /// Sends an NHRP packet (starting at the NHRP fixed header) to NBMA address `peer` in
    /// GRE protocol 0x2001.
    pub fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> Result<(), Error> {
        let mut buf = PacketBuf::with_capacity(packet.len());
        self.shared
            .encap_send(&mut buf, packet, PROTO_NHRP, peer, 0)
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> CounterSnapshot {
        CounterSnapshot {
            tunnel: self.shared.counters.tunnel(),
            peers: self.shared.counters.peers_snapshot(),
            drops: self.shared.counters.drops(),
        }
    }

    /// The counters of one peer.
    pub fn peer_counters(&self, nbma: Ipv4Addr) -> TrafficCounters {
        self.shared.counters.peer(nbma)
    }

    /// The mirrored kernel routes into this tunnel.
    pub fn routes(&self) -> Vec<MirroredRoute> {
        self.shared.tables.routes()
    }

    /// Asks the route mirror to rebuild itself from a full dump now (it also does so every
    /// `route_resync`), e.g. after the daemon removed a nexthop object.
    pub fn resync_routes(&self) {
        self.shared.resync_routes.notify_one();
    }
}

/// The userspace data plane behind the node core's seam.
impl crate::seam::DataPlane for TunnelHandle {
    fn name(&self) -> &str {
        TunnelHandle::name(self)
    }
    fn ifindex(&self) -> u32 {
        TunnelHandle::ifindex(self)
    }
    fn source_address(&self) -> Option<Ipv4Addr> {
        TunnelHandle::source_address(self)
    }
    fn set_mapping(&self, overlay: Ipv4Addr, nbma: Ipv4Addr) {
        self.tables().set_mapping(overlay, nbma);
    }
    fn remove_mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.tables().remove_mapping(overlay)
    }
    fn mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.tables().mapping(overlay)
    }
    fn set_shortcut(&self, prefix: crate::Ipv4Prefix, next_hop: Ipv4Addr) {
        self.tables().set_shortcut(prefix, next_hop);
    }
    fn remove_shortcut(&self, prefix: crate::Ipv4Prefix) -> Option<Ipv4Addr> {
        self.tables().remove_shortcut(prefix)
    }
    fn shortcuts(&self) -> Vec<(crate::Ipv4Prefix, Ipv4Addr)> {
        self.tables().shortcuts()
    }
    fn set_nhs(&self, nbma: Vec<Ipv4Addr>) {
        self.tables().set_nhs(nbma);
    }
    fn set_multicast_policy(&self, policy: crate::MulticastPolicy) {
        self.tables().set_multicast_policy(policy);
    }
    fn add_dynamic_peer(&self, nbma: Ipv4Addr) {
        self.tables().add_dynamic_peer(nbma);
    }
    fn remove_dynamic_peer(&self, nbma: Ipv4Addr) -> bool {
        self.tables().remove_dynamic_peer(nbma)
    }
    fn set_tcp_adjust_mss(&self, mss: Option<u16>) {
        TunnelHandle::set_tcp_adjust_mss(self, mss);
    }
    fn set_detect_hairpin(&self, on: bool) {
        TunnelHandle::set_detect_hairpin(self, on);
    }
    fn set_mtu(&self, mtu: u16) -> Result<(), crate::DataPlaneError> {
        TunnelHandle::set_mtu(self, mtu).map_err(|e| crate::DataPlaneError(e.to_string()))
    }
    fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> crate::SendOutcome {
        match TunnelHandle::send_nhrp(self, peer, packet) {
            Ok(()) => crate::SendOutcome::Sent,
            Err(Error::NoSource) => crate::SendOutcome::Dropped(crate::DropReason::NoSource),
            Err(e) => crate::SendOutcome::Dropped(crate::DropReason::Io(e.to_string())),
        }
    }
    fn counters(&self) -> CounterSnapshot {
        TunnelHandle::counters(self)
    }
    fn peer_counters(&self, nbma: Ipv4Addr) -> TrafficCounters {
        TunnelHandle::peer_counters(self, nbma)
    }
    fn routes(&self) -> Vec<MirroredRoute> {
        TunnelHandle::routes(self)
    }
    fn resync_routes(&self) {
        TunnelHandle::resync_routes(self);
    }
}

/// A running tunnel. Dropping it stops its tasks; the TUN device disappears once they have
/// wound down. [`Tunnel::shutdown`] does the same and waits for it.
#[derive(Debug)]
pub struct Tunnel {
    handle: TunnelHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl Tunnel {
    /// Creates the TUN device (named, addressed, MTU set, up), opens the GRE socket on the
    /// tunnel source, loads the route mirror and spawns the data-plane tasks on the current
    /// tokio runtime. Returns the tunnel and the receiver of its [`Event`]s.
    ///
    /// Needs CAP_NET_ADMIN and CAP_NET_RAW. A source interface without an IPv4 address is
    /// not an error: the tunnel starts without a socket and opens one when an address
    /// appears ([`Event::SourceAddressChanged`]).
    pub async fn start(
        config: TunnelConfig,
        protection: Arc<dyn Protection>,
    ) -> Result<(Tunnel, mpsc::Receiver<Event>), Error> {
        config.validate()?;
        let source_addr = match &config.source {
            TunnelSource::Address(a) => Some(*a),
            TunnelSource::Interface(name) => netlink::resolve_interface_ipv4(name).await?,
        };
        let socket = match source_addr {
            Some(local) => Some(Arc::new(
                GreSocket::bind(local).map_err(|source| Error::Socket { local, source })?,
            )),
            None => None,
        };
        let tun_err = |source| Error::Tun {
            name: config.name.clone(),
            source,
        };
        let tun = tun_rs::DeviceBuilder::new()
            .name(&config.name)
            .ipv4(config.address, config.prefix_len, None)
            .mtu(config.mtu)
            // Room for bursts while the reader task is scheduled out (default 500).
            .tx_queue_len(TUN_TX_QUEUE)
            .enable(false)
            .build_async()
            .map_err(tun_err)?;
        let ifindex = tun.if_index().map_err(tun_err)?;
        // Before the link comes up, so no IPv6 link-local traffic ever enters the tunnel.
        configure_sysctls(&config.name);
        crate::kernel_gre::suppress_port_unreachable().await;
        tun.enabled(true).map_err(tun_err)?;
        let tun = Arc::new(tun);
        let destination = match config.mode {
            TunnelMode::PointToPoint { destination } => Some(destination),
            TunnelMode::Multipoint => None,
        };
        let tables = Arc::new(
            ForwardingTables::new(config.address, config.prefix_len, destination)
                .map_err(|e| Error::Config(e.to_string()))?,
        );
        let (events_tx, events_rx) = mpsc::channel(config.event_queue.max(1));
        let (source_tx, _) = watch::channel(source_addr);
        let shared = Arc::new(Shared {
            runtime: Runtime {
                mss: AtomicU16::new(config.tcp_adjust_mss.unwrap_or(0)),
                hairpin_events: AtomicBool::new(config.detect_hairpin),
                mtu: AtomicU16::new(config.mtu),
            },
            tun: Arc::downgrade(&tun),
            limiter: Mutex::new(EventLimiter {
                last: HashMap::new(),
                interval: config.event_interval,
            }),
            config,
            ifindex,
            tables: tables.clone(),
            counters: Counters::default(),
            protection,
            socket: RwLock::new(socket),
            source: Arc::new(source_tx),
            events: events_tx,
            resync_routes: Arc::new(tokio::sync::Notify::new()),
            flows: Mutex::new(FlowCache::new()),
        });

        let mut tasks = Vec::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        let route_table = shared.config.route_table;
        tasks.push(supervise(
            &shared,
            "route-mirror",
            netlink::run_route_mirror(
                ifindex,
                route_table,
                tables,
                ready_tx,
                shared.config.route_resync,
                shared.resync_routes.clone(),
            ),
        ));
        if let TunnelSource::Interface(name) = &shared.config.source {
            tasks.push(supervise(
                &shared,
                "source-watch",
                netlink::watch_source(name.clone(), shared.source.clone()),
            ));
        }
        tasks.push(supervise(
            &shared,
            "tun-reader",
            tun_reader(shared.clone(), tun.clone()),
        ));
        tasks.push(supervise(
            &shared,
            "gre-reader",
            gre_reader(shared.clone(), tun),
        ));
        let tunnel = Tunnel {
            handle: TunnelHandle { shared },
            tasks,
        };
        if ready_rx.await.is_err() {
            return Err(Error::NetlinkRequest(
                "route mirror failed before its initial dump".into(),
            ));
        }
        Ok((tunnel, events_rx))
    }

    /// A handle for the daemon.
    pub fn handle(&self) -> TunnelHandle {
        self.handle.clone()
    }

    /// Stops the tasks and waits until they are gone; the TUN device is removed when the
    /// last task has dropped it.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Per-device kernel settings of the TUN device: no IPv6 (the overlay is IPv4; this keeps
/// router solicitations out of the tunnel) and no ICMP redirects from a hub that relays
/// spoke-to-spoke traffic (the daemon should also clear `net.ipv4.conf.all.send_redirects`,
/// which the kernel ORs in). Failures are logged: the settings are an optimisation.
fn configure_sysctls(name: &str) {
    for (path, value) in [
        (format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1"),
        (
            format!("/proc/sys/net/ipv4/conf/{name}/send_redirects"),
            "0",
        ),
    ] {
        if let Err(e) = std::fs::write(&path, value) {
            tracing::debug!(%path, error = %e, "sysctl not applied");
        }
    }
}

fn supervise<F>(shared: &Arc<Shared>, task: &'static str, fut: F) -> JoinHandle<()>
where
    F: Future<Output = Result<(), Error>> + Send + 'static,
{
    let events = shared.events.clone();
    tokio::spawn(async move {
        if let Err(e) = fut.await {
            tracing::warn!(task, error = %e, "data-plane task stopped");
            let _ = events.try_send(Event::TaskFailed {
                task,
                error: e.to_string(),
            });
        }
    })
}

/// Consecutive I/O errors tolerated on a descriptor before its task gives up: transient
/// errors (ICMP-reported errors, ENOBUFS) are skipped, a dead descriptor is not spun on.
#[derive(Debug, Default)]
struct ErrorBudget {
    consecutive: u32,
}

impl ErrorBudget {
    const LIMIT: u32 = 1000;

    fn ok(&mut self) {
        self.consecutive = 0;
    }

    fn failed(&mut self, e: std::io::Error) -> Result<(), std::io::Error> {
        self.consecutive += 1;
        tracing::debug!(error = %e, consecutive = self.consecutive, "I/O error");
        let fatal = matches!(
            e.raw_os_error(),
            Some(libc::EBADF | libc::EBADFD | libc::ENOTSOCK | libc::EINVAL | libc::EFAULT)
        );
        if fatal || self.consecutive >= Self::LIMIT {
            Err(e)
        } else {
            Ok(())
        }
    }
}

/// Reusable buffers of the outbound path.
struct Outbound {
    read: Vec<u8>,
    send: PacketBuf,
    frags: Vec<u8>,
    frag_ranges: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    icmp: Vec<u8>,
    targets: Vec<Ipv4Addr>,
}

async fn tun_reader(shared: Arc<Shared>, tun: Arc<tun_rs::AsyncDevice>) -> Result<(), Error> {
    let mut o = Outbound {
        read: vec![0; MAX_PACKET],
        send: PacketBuf::with_capacity(MAX_PACKET),
        frags: Vec::new(),
        frag_ranges: Vec::new(),
        scratch: Vec::new(),
        icmp: Vec::new(),
        targets: Vec::new(),
    };
    let mut errors = ErrorBudget::default();
    loop {
        let n = match tun.recv(&mut o.read).await {
            Ok(n) => {
                errors.ok();
                n
            }
            Err(e) => {
                errors.failed(e).map_err(Error::TunIo)?;
                continue;
            }
        };
        if let Some(icmp) = outbound(&shared, &mut o, n)
            && let Err(e) = tun.send(icmp).await
        {
            tracing::debug!(error = %e, "writing ICMP to TUN failed");
        }
    }
}

/// Handles one packet read from the TUN device (in `o.read[..n]`). Returns an ICMP error
/// to write back into the TUN device, if one is due.
fn outbound<'a>(shared: &Shared, o: &'a mut Outbound, n: usize) -> Option<&'a [u8]> {
    let cfg = &shared.config;
    let packet = o.read.get_mut(..n)?;
    let Ok(ip) = Ipv4Info::parse(packet) else {
        shared.counters.count(Stat::tun_malformed);
        return None;
    };
    let packet = packet.get_mut(..ip.total_len)?;
    if let Some(mss) = shared.adjust_mss()
        && clamp_tcp_mss(packet, mss).is_some()
    {
        shared.counters.count(Stat::mss_clamped);
    }
    if cfg.mode == TunnelMode::Multipoint {
        let now = Instant::now();
        let ingress = shared
            .flows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ingress(ip.src, ip.dst, now);
        if let Some(ingress_nbma) = ingress {
            shared.counters.count(Stat::hairpins);
            if shared.runtime.hairpin_events.load(Ordering::Relaxed)
                && shared.allow_event((1, ip.src, ip.dst))
            {
                let quote = packet.get(..(ip.header_len + 64).min(packet.len()))?;
                shared.emit(Event::Hairpin {
                    source: ip.src,
                    destination: ip.dst,
                    ingress_nbma,
                    packet: quote.to_vec(),
                });
            }
        }
    }
    let decision = shared.tables.decide(ip.dst);
    let resolve_for = match decision {
        Decision::Unicast {
            next_hop,
            resolve: true,
            ..
        } => Some(next_hop),
        Decision::Unreachable { next_hop } => Some(next_hop),
        _ => None,
    };
    if let Some(next_hop) = resolve_for
        && shared.allow_event((0, next_hop, Ipv4Addr::UNSPECIFIED))
    {
        shared.emit(Event::ResolutionNeeded {
            next_hop,
            destination: ip.dst,
            source: ip.src,
        });
    }
    match decision {
        Decision::Unreachable { .. } => {
            shared.counters.count(Stat::no_route);
            return None;
        }
        Decision::Replicate => shared.tables.multicast_targets(&mut o.targets),
        Decision::Unicast { nbma, .. } => {
            o.targets.clear();
            o.targets.push(nbma);
        }
    }
    if o.targets.is_empty() {
        return None;
    }
    let max = shared.max_inner();
    if packet.len() <= max {
        for &peer in &o.targets {
            shared.send_data(&mut o.send, packet, peer);
        }
        return None;
    }
    if ip.dont_fragment {
        shared.counters.count(Stat::too_big);
        let mtu = u16::try_from(max).unwrap_or(u16::MAX);
        return match icmp_frag_needed(packet, ip.dst, mtu, &mut o.icmp) {
            Ok(true) => Some(&o.icmp),
            _ => None,
        };
    }
    shared.counters.count(Stat::fragmented);
    o.frags.clear();
    o.frag_ranges.clear();
    let (frags, ranges) = (&mut o.frags, &mut o.frag_ranges);
    let result = fragment_ipv4(packet, max, &mut o.scratch, |f| {
        let start = frags.len();
        frags.extend_from_slice(f);
        ranges.push((start, frags.len()));
    });
    if result.is_err() {
        shared.counters.count(Stat::tun_malformed);
        return None;
    }
    for &peer in &o.targets {
        for &(s, e) in &o.frag_ranges {
            if let Some(f) = o.frags.get(s..e) {
                shared.send_data(&mut o.send, f, peer);
            }
        }
    }
    None
}

async fn gre_reader(shared: Arc<Shared>, tun: Arc<tun_rs::AsyncDevice>) -> Result<(), Error> {
    let mut source_rx = shared.source.subscribe();
    let mut buf = PacketBuf::with_capacity(MAX_PACKET);
    let mut errors = ErrorBudget::default();
    loop {
        let socket = shared.socket();
        let received = match &socket {
            Some(sock) => tokio::select! {
                r = sock.recv(buf.payload_space()) => match r {
                    Ok(r) => { errors.ok(); Some(r) }
                    Err(e) => {
                        // Raw sockets report ICMP errors (e.g. protocol unreachable from a
                        // peer without GRE) through recv: count them and carry on.
                        errors.failed(e).map_err(Error::SocketIo)?;
                        continue;
                    }
                },
                c = source_rx.changed() => { if c.is_err() { return Ok(()); } None }
            },
            None => {
                if source_rx.changed().await.is_err() {
                    return Ok(());
                }
                None
            }
        };
        let Some(received) = received else {
            // The source address changed: reopen the socket on the new address.
            let new = *source_rx.borrow_and_update();
            let old = socket.as_ref().map(|s| s.local());
            if old == new {
                continue;
            }
            let reopened = match new {
                Some(local) => match GreSocket::bind(local) {
                    Ok(s) => Some(Arc::new(s)),
                    Err(e) => {
                        shared.emit(Event::TaskFailed {
                            task: "gre-reader",
                            error: Error::Socket { local, source: e }.to_string(),
                        });
                        None
                    }
                },
                None => None,
            };
            shared.set_socket(reopened);
            tracing::info!(?old, ?new, "tunnel source address changed");
            shared.emit(Event::SourceAddressChanged { old, new });
            continue;
        };
        if let Some(packet) = inbound(&shared, &mut buf, received)
            && let Err(e) = tun.send(packet).await
        {
            tracing::debug!(error = %e, "writing to TUN failed");
        }
    }
}

/// Handles one GRE packet received from the NBMA side. Returns the inner IPv4 packet to
/// write into the TUN device, if any.
fn inbound<'a>(
    shared: &Shared,
    buf: &'a mut PacketBuf,
    received: crate::nbma::Received,
) -> Option<&'a [u8]> {
    let cfg = &shared.config;
    let peer = received.source;
    if let TunnelMode::PointToPoint { destination } = cfg.mode
        && peer != destination
    {
        shared.counters.count(Stat::wrong_source);
        return None;
    }
    buf.set_len(received.end).ok()?;
    buf.advance(received.gre_offset).ok()?;
    if shared.protection.unprotect(peer, buf).is_err() {
        shared.counters.count(Stat::protection);
        return None;
    }
    let header = match GreHeader::parse(buf.as_slice()) {
        Ok((h, off)) if h.key == cfg.key => {
            buf.advance(off).ok()?;
            h
        }
        Ok(_) => {
            // Another tunnel's key (all raw GRE sockets see every GRE packet).
            shared.counters.count(Stat::key_mismatch);
            return None;
        }
        _ => {
            shared.counters.count(Stat::gre_malformed);
            return None;
        }
    };
    match header.protocol {
        PROTO_IPV4 => {
            let Ok(ip) = Ipv4Info::parse(buf.as_slice()) else {
                shared.counters.count(Stat::gre_malformed);
                return None;
            };
            buf.truncate(ip.total_len);
            if let Some(mss) = shared.adjust_mss()
                && clamp_tcp_mss(buf.as_mut_slice(), mss).is_some()
            {
                shared.counters.count(Stat::mss_clamped);
            }
            if cfg.mode == TunnelMode::Multipoint {
                shared
                    .flows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .record(ip.src, ip.dst, peer, Instant::now());
            }
            shared.counters.rx(peer, ip.total_len);
            Some(buf.as_slice())
        }
        PROTO_NHRP => {
            shared.emit(Event::Nhrp {
                source: peer,
                packet: buf.as_slice().to_vec(),
            });
            None
        }
        _ => {
            shared.counters.count(Stat::unknown_protocol);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_budget_skips_transient_and_stops_on_fatal() {
        let mut b = ErrorBudget::default();
        assert!(
            b.failed(std::io::Error::from_raw_os_error(libc::ENOPROTOOPT))
                .is_ok()
        );
        b.ok();
        assert!(
            b.failed(std::io::Error::from_raw_os_error(libc::EBADF))
                .is_err()
        );
        let mut b = ErrorBudget::default();
        for _ in 1..ErrorBudget::LIMIT {
            assert!(
                b.failed(std::io::Error::from_raw_os_error(libc::ENOBUFS))
                    .is_ok()
            );
        }
        assert!(
            b.failed(std::io::Error::from_raw_os_error(libc::ENOBUFS))
                .is_err()
        );
    }

    #[test]
    fn limiter_suppresses_repeats_within_interval() {
        let mut l = EventLimiter {
            last: HashMap::new(),
            interval: Duration::from_secs(1),
        };
        let t0 = Instant::now();
        let k = (0, Ipv4Addr::new(10, 0, 0, 12), Ipv4Addr::UNSPECIFIED);
        assert!(l.allow(k, t0));
        assert!(!l.allow(k, t0 + Duration::from_millis(500)));
        assert!(l.allow(k, t0 + Duration::from_millis(1500)));
        assert!(l.allow((0, Ipv4Addr::new(10, 0, 0, 13), Ipv4Addr::UNSPECIFIED), t0));
    }

    #[test]
    fn flow_cache_remembers_ingress_for_a_window() {
        let mut c = FlowCache::new();
        let (s, d, n) = (
            Ipv4Addr::new(192, 168, 1, 5),
            Ipv4Addr::new(192, 168, 2, 5),
            Ipv4Addr::new(192, 0, 2, 11),
        );
        let t0 = Instant::now();
        assert_eq!(c.ingress(s, d, t0), None);
        c.record(s, d, n, t0);
        assert_eq!(c.ingress(s, d, t0), Some(n));
        assert_eq!(c.ingress(d, s, t0), None);
        assert_eq!(c.ingress(s, d, t0 + FLOW_WINDOW), None);
    }

    #[test]
    fn max_inner_accounts_for_gre_and_key() {
        let mut c = TunnelConfig::new(
            "Tunnel0",
            Ipv4Addr::new(10, 0, 0, 1),
            24,
            TunnelSource::Address(Ipv4Addr::LOCALHOST),
        );
        c.mtu = 1500;
        assert_eq!(c.max_inner(), 1476);
        c.key = Some(1);
        assert_eq!(c.max_inner(), 1472);
        c.mtu = 1400;
        assert_eq!(c.max_inner(), 1400);
        c.nbma_mtu = 90;
        assert!(c.validate().is_err());
        c.nbma_mtu = 1500;
        c.name = "sixteen-chars-xx".into();
        assert!(c.validate().is_err());
    }
}

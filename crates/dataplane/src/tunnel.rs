//! One tunnel interface: its TUN device, its NBMA transport and the tasks that move packets
//! between them. The per-packet work is the pure [`Forwarder`] of `dmvpn-forwarding`; this
//! module only does the I/O around it. [`Tunnel::start`] builds everything and spawns the
//! tasks; [`TunnelHandle`] is the daemon's side (tables, NHRP send, counters); [`Event`]s
//! come out of the receiver returned by `start`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::Error;
use crate::counters::TrafficCounters;
use crate::nbma::{Arrival, NbmaTransport};
use crate::netlink::{self, RT_TABLE_MAIN};
use crate::pipeline::{self, Forwarder, ForwarderConfig, MAX_PACKET, Scratch, Sink};
use crate::protection::{PacketBuf, Protection, Protector, Received, RecvDrop};
use crate::seam::{CounterSnapshot, DropReason, Event, SendOutcome};
use crate::shared::SharedIpsec;
use crate::tables::{ForwardingTables, MirroredRoute};
use dmvpn_forwarding::counters::Stat;
use dmvpn_forwarding::transport::DEFAULT_QUEUE_PER_PEER;

/// Transmit queue length of the TUN device (packets the kernel queues for the reader).
const TUN_TX_QUEUE: u32 = 2000;

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

    /// The largest inner packet sent without fragmentation: the smaller of `mtu` and the
    /// NBMA MTU minus the outer IPv4 and GRE headers.
    pub fn max_inner(&self) -> usize {
        pipeline::max_inner(self.mtu, self.nbma_mtu, self.key)
    }

    /// The settings of the tunnel's pure forwarding.
    pub fn forwarder_config(&self, flow_seed: u64) -> ForwarderConfig {
        ForwarderConfig {
            destination: match self.mode {
                TunnelMode::PointToPoint { destination } => Some(destination),
                TunnelMode::Multipoint => None,
            },
            key: self.key,
            copy_tos: self.copy_tos,
            mtu: self.mtu,
            nbma_mtu: self.nbma_mtu,
            tcp_adjust_mss: self.tcp_adjust_mss,
            detect_hairpin: self.detect_hairpin,
            event_interval: self.event_interval,
            flow_seed,
        }
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
        if self.max_inner() < pipeline::MIN_INNER_MTU {
            return Err(Error::Config(format!(
                "MTU {} / NBMA MTU {} leave fewer than 68 bytes for inner packets",
                self.mtu, self.nbma_mtu
            )));
        }
        Ok(())
    }
}

/// State shared by the tasks and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    config: TunnelConfig,
    /// The pure per-packet pipeline, its tables, counters and run-time settings.
    forwarder: Forwarder,
    /// The TUN device, owned by the tasks; weak so that handles do not keep it alive.
    tun: Weak<tun_rs::AsyncDevice>,
    ifindex: u32,
    protector: Arc<Protector>,
    /// The `shared` protection group this tunnel belongs to.
    group: Option<Arc<SharedIpsec>>,
    transport: RwLock<Option<Arc<NbmaTransport>>>,
    source: Arc<watch::Sender<Option<Ipv4Addr>>>,
    events: mpsc::Sender<Event>,
    resync_routes: Arc<tokio::sync::Notify>,
    /// The routes of the tunnel's table through other interfaces.
    local_routes: Arc<netlink::LocalRoutes>,
    /// Shortcut changes for the kernel table (applied by the shortcut-routes task).
    kernel_shortcuts: mpsc::UnboundedSender<netlink::ShortcutRoute>,
    /// The forwarder's time is measured from here.
    epoch: Instant,
}

impl Shared {
    fn transport(&self) -> Option<Arc<NbmaTransport>> {
        self.transport
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_transport(&self, transport: Option<Arc<NbmaTransport>>) {
        *self.transport.write().unwrap_or_else(|e| e.into_inner()) = transport;
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The TUN device, while the tunnel runs.
    pub(crate) fn tun(&self) -> Option<Arc<tun_rs::AsyncDevice>> {
        self.tun.upgrade()
    }

    /// Opens the NBMA transport on tunnel source `local`: its own, or a `shared` group
    /// member's.
    fn open_transport(&self, local: Ipv4Addr) -> std::io::Result<NbmaTransport> {
        open_transport(local, &self.protector, self.group.as_ref())
    }

    fn emit(&self, event: Event) {
        if self.events.try_send(event).is_err() {
            self.forwarder.counters().count(Stat::events_lost);
        }
    }
}

/// The forwarder's outputs, carried out: GRE packets to the NBMA transport, events to the
/// daemon's queue.
struct Io<'a> {
    shared: &'a Shared,
    transport: Option<Arc<NbmaTransport>>,
}

impl Io<'_> {
    fn new(shared: &Shared) -> Io<'_> {
        Io {
            shared,
            transport: shared.transport(),
        }
    }
}

impl Sink for Io<'_> {
    fn send(&mut self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome {
        let outcome = match &self.transport {
            Some(t) => t.send(peer, tos, packet),
            None => SendOutcome::Dropped(DropReason::NoSource),
        };
        if let SendOutcome::Dropped(reason) = &outcome {
            tracing::debug!(%peer, %reason, "not sent");
        }
        outcome
    }

    fn event(&mut self, event: Event) -> bool {
        self.shared.events.try_send(event).is_ok()
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
        self.shared.forwarder.set_tcp_adjust_mss(mss);
    }

    /// Turns [`Event::Hairpin`] reporting on or off at run time (`ip nhrp redirect`).
    pub fn set_detect_hairpin(&self, on: bool) {
        self.shared.forwarder.set_detect_hairpin(on);
    }

    /// Changes `ip mtu` at run time: the TUN device's MTU and the fragmentation limit.
    /// Call it from a thread in the tunnel's network namespace (the daemon's own).
    pub fn set_mtu(&self, mtu: u16) -> Result<(), Error> {
        let cfg = &self.shared.config;
        if pipeline::max_inner(mtu, cfg.nbma_mtu, cfg.key) < pipeline::MIN_INNER_MTU {
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
        self.shared.forwarder.set_mtu(mtu);
        Ok(())
    }

    /// The current MTU (`ip mtu`).
    pub fn mtu(&self) -> u16 {
        self.shared.forwarder.mtu()
    }

    /// The forwarding tables: mappings, shortcuts, NHS list, multicast targets, routes.
    pub fn tables(&self) -> &ForwardingTables {
        self.shared.forwarder.tables()
    }

    /// The NBMA transport's protection state (packets held per peer, negotiations asked).
    pub fn protector(&self) -> &Arc<Protector> {
        &self.shared.protector
    }

    /// Protection with `peer` came up (`up`: its held packets are sent again through the
    /// transport) or failed (they are dropped). Returns how many were released or dropped.
    pub fn protection_changed(&self, peer: Ipv4Addr, up: bool) -> usize {
        if !up {
            return self.shared.protector.discard(peer);
        }
        let held = self.shared.protector.release(peer);
        let mut io = Io::new(&self.shared);
        let mut buf = PacketBuf::with_capacity(MAX_PACKET);
        for (tos, packet) in &held {
            if buf.set(packet).is_ok() {
                io.send(peer, *tos, &mut buf);
            }
        }
        held.len()
    }

    /// The current tunnel source (NBMA) address.
    pub fn source_address(&self) -> Option<Ipv4Addr> {
        *self.shared.source.borrow()
    }

    /// Sends an NHRP packet (starting at the NHRP fixed header) to NBMA address `peer` in
    /// GRE protocol 0x2001, through the NBMA transport.
    pub fn send_outcome(&self, peer: Ipv4Addr, packet: &[u8]) -> SendOutcome {
        let mut buf = PacketBuf::with_capacity(packet.len());
        self.shared
            .forwarder
            .send_nhrp(&mut buf, peer, packet, &mut Io::new(&self.shared))
    }

    /// Like [`TunnelHandle::send_outcome`], as a `Result`: a packet queued while protection
    /// comes up counts as sent.
    pub fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> Result<(), Error> {
        match self.send_outcome(peer, packet) {
            SendOutcome::Sent | SendOutcome::Queued => Ok(()),
            SendOutcome::Dropped(DropReason::NoSource) => Err(Error::NoSource),
            SendOutcome::Dropped(reason) => Err(Error::Encapsulation {
                peer,
                reason: reason.to_string(),
            }),
        }
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> CounterSnapshot {
        let c = self.shared.forwarder.counters();
        CounterSnapshot {
            tunnel: c.tunnel(),
            peers: c.peers_snapshot(),
            drops: c.drops(),
        }
    }

    /// The counters of one peer.
    pub fn peer_counters(&self, nbma: Ipv4Addr) -> TrafficCounters {
        self.shared.forwarder.counters().peer(nbma)
    }

    /// The mirrored kernel routes into this tunnel.
    pub fn routes(&self) -> Vec<MirroredRoute> {
        self.tables().routes()
    }

    /// Asks the route mirror to rebuild itself from a full dump now (it also does so every
    /// `route_resync`), e.g. after the daemon removed a nexthop object.
    pub fn resync_routes(&self) {
        self.shared.resync_routes.notify_one();
    }

    /// The routes of the tunnel's table that leave through other interfaces (not the
    /// tunnel, not the tunnel source interface, no default route): the networks this
    /// station answers Resolution Requests for.
    pub fn local_routes(&self) -> Vec<crate::Ipv4Prefix> {
        self.shared.local_routes.prefixes()
    }

    /// Changes whenever [`TunnelHandle::routes`] or [`TunnelHandle::local_routes`] change.
    pub fn routes_version(&self) -> u64 {
        self.shared.local_routes.version()
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
        let _ = self
            .shared
            .kernel_shortcuts
            .send(netlink::ShortcutRoute::Add(prefix, next_hop));
    }
    fn remove_shortcut(&self, prefix: crate::Ipv4Prefix) -> Option<Ipv4Addr> {
        let old = self.tables().remove_shortcut(prefix);
        if old.is_some() {
            let _ = self
                .shared
                .kernel_shortcuts
                .send(netlink::ShortcutRoute::Remove(prefix));
        }
        old
    }
    fn shortcuts(&self) -> Vec<(crate::Ipv4Prefix, Ipv4Addr)> {
        self.tables().shortcuts()
    }
    fn set_nhs(&self, nbma: Vec<Ipv4Addr>) {
        self.tables().set_nhs(nbma);
    }
    fn set_nhs_up(&self, nbma: Ipv4Addr, up: bool) {
        self.tables().set_nhs_up(nbma, up);
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
        self.send_outcome(peer, packet)
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
    fn local_routes(&self) -> Vec<crate::Ipv4Prefix> {
        TunnelHandle::local_routes(self)
    }
    fn routes_version(&self) -> u64 {
        TunnelHandle::routes_version(self)
    }
    fn protection_changed(&self, peer: Ipv4Addr, up: bool) -> usize {
        TunnelHandle::protection_changed(self, peer, up)
    }
    fn negotiations(&self) -> Vec<Ipv4Addr> {
        self.shared.protector.take_negotiations()
    }
    fn send_ike(&self, local_port: u16, remote: SocketAddrV4, message: &[u8]) -> SendOutcome {
        match self.shared.transport() {
            Some(t) => t.send_ike(local_port, remote, message),
            None => SendOutcome::Dropped(DropReason::NoSource),
        }
    }
    fn send_nat_keepalive(&self, remote: SocketAddrV4) -> SendOutcome {
        match self.shared.transport() {
            Some(t) => t.send_nat_keepalive(remote),
            None => SendOutcome::Dropped(DropReason::NoSource),
        }
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
        let protector = Arc::new(Protector::new(protection, DEFAULT_QUEUE_PER_PEER));
        Self::start_with(config, protector, None).await
    }

    /// Starts a member of a `shared` protection group (`tunnel protection ipsec profile
    /// NAME shared`): like [`Tunnel::start`], with the group's protector and IPsec sockets.
    pub async fn start_shared(
        config: TunnelConfig,
        group: Arc<SharedIpsec>,
    ) -> Result<(Tunnel, mpsc::Receiver<Event>), Error> {
        let protector = group.protector().clone();
        Self::start_with(config, protector, Some(group)).await
    }

    async fn start_with(
        config: TunnelConfig,
        protector: Arc<Protector>,
        group: Option<Arc<SharedIpsec>>,
    ) -> Result<(Tunnel, mpsc::Receiver<Event>), Error> {
        config.validate()?;
        let source_addr = match &config.source {
            TunnelSource::Address(a) => Some(*a),
            TunnelSource::Interface(name) => netlink::resolve_interface_ipv4(name).await?,
        };
        let transport = match source_addr {
            Some(local) => Some(Arc::new(
                open_transport(local, &protector, group.as_ref())
                    .map_err(|source| Error::Socket { local, source })?,
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
        // The flow cache's slot hash is keyed per tunnel, so that collisions cannot be
        // aimed at from outside.
        let flow_seed = {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(ifindex)
        };
        let (shortcuts_tx, shortcuts_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            forwarder: Forwarder::new(config.forwarder_config(flow_seed), tables.clone()),
            tun: Arc::downgrade(&tun),
            config,
            ifindex,
            protector,
            group,
            transport: RwLock::new(transport),
            source: Arc::new(source_tx),
            events: events_tx,
            resync_routes: Arc::new(tokio::sync::Notify::new()),
            local_routes: Arc::new(netlink::LocalRoutes::default()),
            kernel_shortcuts: shortcuts_tx,
            epoch: Instant::now(),
        });

        if let Some(group) = &shared.group {
            group.join(shared.config.key, Arc::downgrade(&shared));
        }
        let mut tasks = Vec::new();
        let (ready_tx, ready_rx) = oneshot::channel();
        let route_table = shared.config.route_table;
        tasks.push(supervise(
            &shared,
            "route-mirror",
            netlink::run_route_mirror(
                ifindex,
                route_table,
                netlink::MirrorTargets {
                    tables,
                    local: shared.local_routes.clone(),
                    source_interface: match &shared.config.source {
                        TunnelSource::Interface(name) => Some(name.clone()),
                        TunnelSource::Address(_) => None,
                    },
                },
                ready_tx,
                shared.config.route_resync,
                shared.resync_routes.clone(),
            ),
        ));
        tasks.push(supervise(
            &shared,
            "shortcut-routes",
            netlink::run_shortcut_routes(ifindex, route_table, shortcuts_rx),
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
pub(crate) struct ErrorBudget {
    consecutive: u32,
}

impl ErrorBudget {
    const LIMIT: u32 = 1000;

    pub(crate) fn ok(&mut self) {
        self.consecutive = 0;
    }

    pub(crate) fn failed(&mut self, e: std::io::Error) -> Result<(), std::io::Error> {
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

async fn tun_reader(shared: Arc<Shared>, tun: Arc<tun_rs::AsyncDevice>) -> Result<(), Error> {
    let mut read = vec![0; MAX_PACKET];
    let mut scratch = Scratch::new();
    let mut errors = ErrorBudget::default();
    loop {
        let n = match tun.recv(&mut read).await {
            Ok(n) => {
                errors.ok();
                n
            }
            Err(e) => {
                errors.failed(e).map_err(Error::TunIo)?;
                continue;
            }
        };
        let Some(packet) = read.get_mut(..n) else {
            continue;
        };
        let now = shared.now();
        let icmp = shared
            .forwarder
            .from_overlay(&mut scratch, packet, now, &mut Io::new(&shared));
        if let Some(icmp) = icmp
            && let Err(e) = tun.send(icmp).await
        {
            tracing::debug!(error = %e, "writing ICMP to TUN failed");
        }
    }
}

async fn gre_reader(shared: Arc<Shared>, tun: Arc<tun_rs::AsyncDevice>) -> Result<(), Error> {
    let mut source_rx = shared.source.subscribe();
    let mut buf = PacketBuf::with_capacity(MAX_PACKET);
    let mut errors = ErrorBudget::default();
    loop {
        let transport = shared.transport();
        let received = match &transport {
            Some(t) => tokio::select! {
                r = t.recv(buf.payload_space()) => match r {
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
            let old = transport.as_ref().map(|t| t.local());
            if old == new {
                continue;
            }
            let reopened = match new {
                Some(local) => match shared.open_transport(local) {
                    Ok(t) => Some(Arc::new(t)),
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
            shared.set_transport(reopened);
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

/// Opens the NBMA transport of tunnel source `local`: a `shared` group member's, or one
/// with its own sockets.
fn open_transport(
    local: Ipv4Addr,
    protector: &Arc<Protector>,
    group: Option<&Arc<SharedIpsec>>,
) -> std::io::Result<NbmaTransport> {
    match group {
        Some(g) => NbmaTransport::open_shared(local, g),
        None => NbmaTransport::open(local, protector.clone()),
    }
}

/// Handles one packet received on the NBMA transport: unprotects it through the
/// transport's protector and runs the forwarder on it, or hands an IKE message to the
/// daemon. Returns the inner IPv4 packet to write into the TUN device, if any.
fn inbound<'a>(shared: &Shared, buf: &'a mut PacketBuf, arrival: Arrival) -> Option<&'a [u8]> {
    let received = unprotect(&shared.protector, buf, arrival)?;
    deliver(shared, buf, received)
}

/// Undoes the protection of one arrival in `buf` (left holding the GRE packet or the IKE
/// message).
pub(crate) fn unprotect(
    protector: &Protector,
    buf: &mut PacketBuf,
    arrival: Arrival,
) -> Option<Received> {
    Some(match arrival {
        Arrival::Raw(r) => {
            buf.set_len(r.end).ok()?;
            buf.advance(r.gre_offset).ok()?;
            protector.inbound(r.source, r.protocol, buf)
        }
        Arrival::Udp {
            remote,
            local_port,
            len,
        } => {
            buf.set_len(len).ok()?;
            protector.inbound_udp(*remote.ip(), remote.port(), local_port, buf)
        }
    })
}

/// Runs the forwarder of tunnel `shared` on an unprotected arrival, or hands an IKE
/// message to the daemon. Returns the inner IPv4 packet to write into the TUN device.
pub(crate) fn deliver<'a>(
    shared: &Shared,
    buf: &'a mut PacketBuf,
    received: Received,
) -> Option<&'a [u8]> {
    match received {
        Received::Gre { source } => {
            let now = shared.now();
            shared
                .forwarder
                .from_nbma(source, buf, now, &mut Io::new(shared))
        }
        Received::Ike {
            source,
            port,
            local_port,
        } => {
            let local = shared.transport().map(|t| t.local())?;
            shared.emit(Event::Ike {
                local: SocketAddrV4::new(local, local_port),
                remote: SocketAddrV4::new(source, port),
                message: buf.as_slice().to_vec(),
            });
            None
        }
        Received::Dropped(RecvDrop::Protection(_)) => {
            shared.forwarder.counters().count(Stat::protection);
            None
        }
        Received::Dropped(RecvDrop::Truncated) => {
            shared.forwarder.counters().count(Stat::transport_truncated);
            None
        }
        Received::Dropped(RecvDrop::NotOurs) => {
            shared.forwarder.counters().count(Stat::transport_not_ours);
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

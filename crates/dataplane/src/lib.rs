//! `dmvpn-dataplane`: the userspace multipoint-GRE data plane.
//!
//! The host kernel may have no `ip_gre`, so packets are moved in userspace:
//!
//! ```text
//!            overlay (kernel routing, FRR, BIRD, sockets)
//!                        │  ▲
//!               TUN "Tunnel0" (ip address, ip mtu)
//!                        ▼  │
//!   tun-reader: Forwarder::from_overlay (MSS clamp → hairpin check → decide → DF/ICMP or
//!               fragment → GRE) → NbmaTransport::send (Protector → socket)
//!   gre-reader: socket → Protector::inbound (demux, unprotect) → Forwarder::from_nbma
//!               (GRE decap/key check → NHRP up as Event, IPv4 → MSS clamp → TUN)
//!                        ▼  │
//!            raw IPv4 socket, protocol 47, bound to the tunnel source
//! ```
//!
//! The per-packet work is the pure `dmvpn-forwarding` crate (shared with the simulator);
//! this crate is only the I/O around it.
//!
//! Protocol logic stays out: the NHRP engine decides, the daemon turns its actions into
//! table updates here, and this crate reports what it sees as [`Event`]s.
//!
//! # Layers
//! - pure, unit-tested, in `dmvpn-forwarding` and re-exported here: [`packet`] (MSS clamp,
//!   fragmentation, ICMP frag-needed), [`gre`] (encapsulation header), [`tables`] (route
//!   mirror, shortcuts, mappings, NHS, multicast targets, the forwarding decision),
//!   [`counters`], [`pipeline`] (the per-packet [`pipeline::Forwarder`]), [`transport`] (the
//!   protection decision and underlay demultiplexing), [`seam`] (the [`DataPlane`] trait
//!   the node core drives, implemented by [`TunnelHandle`]);
//! - I/O edge: [`nbma`] (the [`nbma::NbmaTransport`]: the raw GRE socket behind the
//!   protector, a [`SendOutcome`] for every send), [`protection`] (the protection seam's
//!   types), [`netlink`] (route mirror and source watcher), [`tunnel`] (the TUN device and
//!   the tasks).
//!
//! # Using it from the daemon
//!
//! ```no_run
//! use std::sync::Arc;
//! use dmvpn_dataplane::{Event, PassThrough, Tunnel, TunnelConfig, TunnelSource, MulticastPolicy};
//! # async fn run() -> Result<(), dmvpn_dataplane::Error> {
//! let mut cfg = TunnelConfig::new(
//!     "Tunnel0",
//!     "10.0.0.11".parse().unwrap(),
//!     24,
//!     TunnelSource::Interface("eth0".into()), // or TunnelSource::Address(..)
//! );
//! cfg.key = Some(100000);            // tunnel key
//! cfg.tcp_adjust_mss = Some(1360);   // ip tcp adjust-mss
//! // cfg.mode = TunnelMode::PointToPoint { destination } for `tunnel destination`
//! // cfg.detect_hairpin = true on a hub with `ip nhrp redirect`
//!
//! // Creates the TUN device, the GRE socket, loads the route mirror, spawns the tasks
//! // (tun-reader, gre-reader, route-mirror, source-watch) on the current runtime.
//! let (tunnel, mut events) = Tunnel::start(cfg, Arc::new(PassThrough)).await?;
//! let dp = tunnel.handle(); // Clone + Send + Sync; all table methods are synchronous
//!
//! // Tables the daemon maintains from configuration and engine actions:
//! let hub_nbma = "192.0.2.1".parse().unwrap();
//! dp.tables().set_mapping("10.0.0.1".parse().unwrap(), hub_nbma); // ip nhrp map / cache
//! dp.tables().set_nhs(vec![hub_nbma]);                              // ip nhrp nhs
//! dp.tables().set_multicast_policy(MulticastPolicy { static_targets: vec![hub_nbma], dynamic: false, nhs: true });
//! // dp.tables().set_shortcut(prefix, next_hop)   on an engine "install shortcut" action
//! // dp.tables().add_dynamic_peer(nbma)            when a spoke registers (hub)
//!
//! while let Some(ev) = events.recv().await {
//!     match ev {
//!         Event::Nhrp { source, packet } => { /* engine.handle_packet(now, source, &packet) */ }
//!         Event::ResolutionNeeded { next_hop, .. } => { /* engine: resolve next_hop */ }
//!         Event::Hairpin { source, destination, ingress_nbma, packet } => { /* redirect */ }
//!         Event::SourceAddressChanged { new, .. } => { /* re-register from `new` */ }
//!         Event::Ike { local, remote, message } => { /* ike.handle_datagram(..) */ }
//!         Event::TaskFailed { task, error } => { /* log; restart the tunnel */ }
//!     }
//!     // Engine output: dp.send_nhrp(peer_nbma, &nhrp_bytes)?
//! }
//! tunnel.shutdown().await; // removes the TUN device (also on drop)
//! # Ok(()) }
//! ```
//!
//! Forwarding of a unicast packet read from the TUN device: the next hop comes from the
//! longest prefix across shortcuts and mirrored kernel routes into the tunnel (a shortcut
//! wins a tie: NHRP overrides the routing protocol's path of the same length, never a more
//! specific route), else it is the destination itself. The NBMA address is the mapping of the next
//! hop (or of the destination). Without one, the packet goes to the first NHS and
//! [`Event::ResolutionNeeded`] is raised (at most once per `event_interval` per next hop):
//! no packet is dropped while resolution is pending. Multicast, limited broadcast and the
//! tunnel subnet's broadcast go to every multicast target.
//!
//! The route mirror follows `RTNLGRP_IPV4_ROUTE` notifications and is rebuilt from a full
//! dump every `route_resync` (30 s) and on [`TunnelHandle::resync_routes`], which catches
//! removals the kernel does not announce (routes flushed with a deleted nexthop object), and
//! on every link change (the kernel flushes the routes of a link going down or away without
//! a notification).
//!
//! The same mirror keeps [`TunnelHandle::local_routes`]: the routes of the tunnel's table
//! that leave through other interfaces (connected LANs, static routes, FRR or BIRD routes),
//! which the node answers Resolution Requests for with the route's prefix, as Cisco IOS and
//! FRR nhrpd answer from the routing table. Left out: routes into the tunnel, routes through
//! the tunnel source interface (they lead to the NBMA network, the uplink, not to a site
//! behind this node; only when the source is given as an interface), default routes (`/0`:
//! the uplink's default route does not make a node own every address) and nexthop-object
//! routes without an output interface. [`TunnelHandle::routes_version`] changes with either
//! set, so the node core syncs the engine right before an NHRP packet when it changed: a
//! route added a moment before a Resolution Request arrives is answered.
//!
//! Counters: [`TunnelHandle::counters`] gives per-tunnel and per-peer (NBMA address)
//! packets and bytes in both directions (inner packet bytes, data only: NHRP is not
//! counted), and [`DropCounters`] by reason. `drops.hairpins` counts packets this node
//! relayed (received from the tunnel and routed back into it): on a hub, the spoke-to-spoke
//! traffic it carries.
//!
//! # Run-time changes (SIGHUP)
//! [`TunnelHandle::set_tcp_adjust_mss`], [`TunnelHandle::set_mtu`] and
//! [`TunnelHandle::set_detect_hairpin`] apply without a restart; every table setter does too.
//! A change of name, address, source, mode or key needs a new [`Tunnel`].
//!
//! # What the host must provide
//! - CAP_NET_ADMIN and CAP_NET_RAW; `/dev/net/tun`.
//! - A hub relays spoke-to-spoke traffic through the kernel: `net.ipv4.ip_forward=1`, and
//!   `net.ipv4.conf.all.send_redirects=0` (the tunnel device's own `send_redirects` and
//!   `disable_ipv6` are set by [`Tunnel::start`]).
//! - Routes installed with nexthop objects (FRR) are mirrored through the legacy attributes
//!   the kernel adds with `net.ipv4.nexthop_compat_mode=1`, its default.
//! - Everything (start, `set_mtu`) must run in the tunnel's network namespace; tests that
//!   run nodes in several namespaces enter them from dedicated threads (see `tests/common`).
//!
//! # Demultiplexing
//! Every raw GRE socket sees every GRE packet to its address. A tunnel accepts those whose
//! key equals its `tunnel key` (absent when none is configured); others are counted in
//! `drops.key_mismatch`. A point-to-point tunnel also requires the outer source to be its
//! `tunnel destination`. Two tunnels on the same source therefore need different keys, as
//! on IOS.

//!
//! # Tests
//! - unit tests of the pure parts in `dmvpn-forwarding` (`cargo test -p dmvpn-forwarding`):
//!   MSS clamping, fragmentation, ICMP generation, GRE, tables and the forwarding decision,
//!   counters, the pipeline, the protection decision and demultiplexing; here
//!   (`cargo test -p dmvpn-dataplane --lib`) the I/O edge's own logic;
//! - `tests/packet_props.rs`: property tests (no input panics, fragments reassemble,
//!   checksums stay valid);
//! - `tests/netns.rs` (root): data-plane instances in network namespaces the tests create
//!   and remove, checked with ping, TCP, UDP multicast, raw-socket captures and counters.
//!   Without root they print `SKIP`; `DMVPN_REQUIRE_ROOT=1` makes that a failure.
//! - `examples/throughput.rs` (root, `--release`): TCP through the tunnel versus bare veth.
#![warn(missing_docs)]

mod error;
pub mod kernel_gre;
pub mod nbma;
pub mod netlink;
pub mod protection;
pub mod shared;
pub mod tunnel;

// The pure forwarding lives in dmvpn-forwarding (shared with the simulator); re-exported
// here under its old paths.
pub use dmvpn_forwarding::{
    CounterSnapshot, DataPlane, DataPlaneError, Decision, DropCounters, DropReason, Event,
    ForwardingTables, Ipv4Prefix, MirroredRoute, MulticastPolicy, NextHopSource, RouteMirror,
    SendOutcome, TrafficCounters,
};
pub use dmvpn_forwarding::{counters, gre, packet, pipeline, seam, tables, transport};
pub use error::Error;
pub use protection::{PacketBuf, PassThrough, Protection, ProtectionError};
pub use shared::SharedIpsec;
pub use tunnel::{Tunnel, TunnelConfig, TunnelHandle, TunnelMode, TunnelSource};

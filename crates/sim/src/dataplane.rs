//! The data plane of one simulated router: the shipped pure forwarding
//! (`dmvpn_forwarding`: [`ForwardingTables`] and the [`Forwarder`] pipeline, the code the
//! userspace data plane runs for every packet) behind a small "kernel" routing step.
//!
//! ```text
//! host packet ─► kernel step: longest prefix over LAN routes, tunnel routes and
//!                shortcuts ─► LAN: delivered
//!                           └► tunnel: Forwarder::from_overlay ─► GRE to an NBMA address
//! GRE packet  ─► Forwarder::from_nbma ─► inner packet ─► kernel step (a hub relays it)
//! ```
//!
//! Tunnel routes are the forwarder's route mirror, engine mappings and static mappings its
//! mappings, the relays' (NHS) NBMA addresses its NHS list, engine shortcuts its shortcuts.
//! There is no second forwarding model here: what the simulator forwards, and where, is
//! decided by the same functions as in the shipped data plane.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use dmvpn_forwarding::tables::RouteKey;
use dmvpn_forwarding::{
    Decision, Event, Forwarder, ForwarderConfig, ForwardingTables, Ipv4Prefix, MirroredRoute,
    NextHopSource, PacketBuf, Scratch, SendOutcome, Sink,
};

use crate::node::{NodeOutput, Prefix};

/// The kernel routing protocol number the simulator's tunnel routes carry (static).
const RTPROT_STATIC: u8 = 4;

/// Where a route points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteVia {
    /// The prefix is on this router's LAN: deliver to the host.
    Local,
    /// Out of the tunnel to this tunnel (protocol) next hop.
    Tunnel(Ipv4Addr),
}

/// What the data plane decides for a packet to a destination, for inspection in tests
/// ([`DataPlane::lookup`]); forwarding itself runs the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum Forward {
    /// Deliver on the LAN.
    Local,
    /// No route.
    NoRoute,
    /// Tunnel to `next_hop`; `nbma` is its mapping, or `None` if unmapped.
    Tunnel {
        next_hop: Ipv4Addr,
        nbma: Option<Ipv4Addr>,
        shortcut: bool,
    },
}

/// What the forwarder produced for one packet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// GRE packets (GRE header first) and the NBMA address each goes to.
    pub sent: Vec<(Ipv4Addr, Vec<u8>)>,
    /// Events for the node (resolution needed, hairpin, NHRP).
    pub events: Vec<Event>,
    /// Bytes for the LAN side (a decapsulated packet, or an ICMP error).
    pub up: Option<Vec<u8>>,
}

impl Sink for Outputs {
    fn send(&mut self, peer: Ipv4Addr, _tos: u8, packet: &mut PacketBuf) -> SendOutcome {
        self.sent.push((peer, packet.as_slice().to_vec()));
        SendOutcome::Sent
    }

    fn event(&mut self, event: Event) -> bool {
        self.events.push(event);
        true
    }
}

/// Routing table, shortcut routes, NBMA mappings and the forwarder of one node.
#[derive(Debug)]
pub struct DataPlane {
    routes: BTreeMap<Prefix, RouteVia>,
    shortcuts: BTreeMap<Prefix, Ipv4Addr>,
    mappings: BTreeMap<Ipv4Addr, Ipv4Addr>,
    static_mappings: BTreeMap<Ipv4Addr, Ipv4Addr>,
    relays: Vec<Ipv4Addr>,
    relays_down: BTreeSet<Ipv4Addr>,
    tunnel: (Ipv4Addr, u8),
    forwarder: Forwarder,
    scratch: Scratch,
    buf: PacketBuf,
}

impl Default for DataPlane {
    fn default() -> Self {
        let tunnel = (Ipv4Addr::UNSPECIFIED, 32);
        DataPlane {
            routes: BTreeMap::new(),
            shortcuts: BTreeMap::new(),
            mappings: BTreeMap::new(),
            static_mappings: BTreeMap::new(),
            relays: Vec::new(),
            relays_down: BTreeSet::new(),
            tunnel,
            forwarder: new_forwarder(tunnel),
            scratch: Scratch::new(),
            buf: PacketBuf::with_capacity(dmvpn_forwarding::pipeline::MAX_PACKET),
        }
    }
}

/// The forwarder of a simulated tunnel: multipoint, no key, hairpins reported (the engine
/// decides whether to redirect), a fixed flow seed (determinism).
fn new_forwarder((addr, len): (Ipv4Addr, u8)) -> Forwarder {
    // The only error of `ForwardingTables::new` is a length above 32, clamped away here.
    #[allow(clippy::expect_used)]
    let tables = ForwardingTables::new(addr, len.min(32), None).expect("length at most 32");
    Forwarder::new(sim_config(), Arc::new(tables))
}

fn sim_config() -> ForwarderConfig {
    let mut c = ForwarderConfig::new();
    c.detect_hairpin = true;
    c
}

fn to_fwd(p: Prefix) -> Option<Ipv4Prefix> {
    Some(p)
}

fn mirrored(prefix: Ipv4Prefix, gateway: Ipv4Addr) -> MirroredRoute {
    MirroredRoute {
        prefix,
        gateway: Some(gateway),
        metric: 0,
        protocol: RTPROT_STATIC,
    }
}

impl DataPlane {
    /// The tunnel's own address and prefix length (`ip address`): the forwarder replicates
    /// the subnet's broadcast like multicast.
    pub fn set_tunnel_address(&mut self, addr: Ipv4Addr, prefix_len: u8) {
        self.tunnel = (addr, prefix_len);
        self.forwarder = new_forwarder(self.tunnel);
        let tables = self.forwarder.tables().clone();
        for (p, via) in &self.routes {
            if let (RouteVia::Tunnel(nh), Some(fp)) = (via, to_fwd(*p)) {
                tables.update_routes(|m| m.upsert(0, mirrored(fp, *nh)));
            }
        }
        for (p, nh) in &self.shortcuts {
            if let Some(fp) = to_fwd(*p) {
                tables.set_shortcut(fp, *nh);
            }
        }
        for (proto, nbma) in self.static_mappings.iter().chain(self.mappings.iter()) {
            tables.set_mapping(*proto, *nbma);
        }
        self.sync_nhs();
    }

    /// The forwarder (its tables and counters).
    pub fn forwarder(&self) -> &Forwarder {
        &self.forwarder
    }

    /// Add (or replace) a configured route, as a routing protocol would.
    pub fn add_route(&mut self, prefix: Prefix, via: RouteVia) {
        if let Some(RouteVia::Tunnel(_)) = self.routes.insert(prefix, via) {
            self.unmirror(prefix);
        }
        if let (RouteVia::Tunnel(nh), Some(fp)) = (via, to_fwd(prefix)) {
            self.forwarder
                .tables()
                .update_routes(|m| m.upsert(0, mirrored(fp, nh)));
        }
    }

    fn unmirror(&mut self, prefix: Prefix) {
        if let Some(fp) = to_fwd(prefix) {
            self.forwarder.tables().update_routes(|m| {
                m.remove(&RouteKey {
                    prefix: fp,
                    tos: 0,
                    metric: 0,
                });
            });
        }
    }

    /// Configured routes.
    pub fn routes(&self) -> &BTreeMap<Prefix, RouteVia> {
        &self.routes
    }

    /// Remove a configured route.
    pub fn remove_route(&mut self, prefix: Prefix) {
        if let Some(RouteVia::Tunnel(_)) = self.routes.remove(&prefix) {
            self.unmirror(prefix);
        }
    }

    /// A static mapping (`ip nhrp map`), kept across engine restarts.
    pub fn add_static_mapping(&mut self, proto: Ipv4Addr, nbma: Ipv4Addr) {
        self.static_mappings.insert(proto, nbma);
        if !self.mappings.contains_key(&proto) {
            self.forwarder.tables().set_mapping(proto, nbma);
        }
        self.sync_nhs();
    }

    /// Tunnel addresses of the NHSs through which unresolved traffic is
    /// relayed while resolution is pending (IOS phase-2 behaviour), in preference order;
    /// the forwarder's NHS list holds their mapped NBMA addresses.
    pub fn set_relays(&mut self, relays: Vec<Ipv4Addr>) {
        self.relays = relays;
        self.sync_nhs();
    }

    /// Relays in preference order.
    pub fn relays(&self) -> &[Ipv4Addr] {
        &self.relays
    }

    /// The forwarder's NHS list (the relays' NBMA addresses, in preference order) and which
    /// of them are DOWN; the tables pick the first that is up.
    fn sync_nhs(&self) {
        let tables = self.forwarder.tables();
        let mut nhs = Vec::new();
        for r in &self.relays {
            if let Some(nbma) = self.mapping(*r) {
                tables.set_nhs_up(nbma, !self.relays_down.contains(r));
                nhs.push(nbma);
            }
        }
        tables.set_nhs(nhs);
    }

    /// Apply an engine output; returns whether it changed the data plane.
    pub fn apply(&mut self, out: &NodeOutput) -> bool {
        let tables = self.forwarder.tables().clone();
        let changed = match out {
            NodeOutput::MappingAdd { proto, nbma } => {
                tables.set_mapping(*proto, *nbma);
                self.mappings.insert(*proto, *nbma) != Some(*nbma)
            }
            NodeOutput::MappingRemove { proto } => {
                let removed = self.mappings.remove(proto).is_some();
                if removed {
                    match self.static_mappings.get(proto) {
                        Some(nbma) => tables.set_mapping(*proto, *nbma),
                        None => {
                            tables.remove_mapping(*proto);
                        }
                    }
                }
                removed
            }
            NodeOutput::ShortcutAdd { prefix, next_hop } => {
                if let Some(fp) = to_fwd(*prefix) {
                    tables.set_shortcut(fp, *next_hop);
                }
                self.shortcuts.insert(*prefix, *next_hop) != Some(*next_hop)
            }
            NodeOutput::ShortcutRemove { prefix } => {
                if let Some(fp) = to_fwd(*prefix) {
                    tables.remove_shortcut(fp);
                }
                self.shortcuts.remove(prefix).is_some()
            }
            NodeOutput::NhsState { nhs, up } => {
                if *up {
                    self.relays_down.remove(nhs)
                } else {
                    self.relays_down.insert(*nhs)
                }
            }
            NodeOutput::Send { .. } | NodeOutput::Note(_) => false,
        };
        if changed {
            self.sync_nhs();
        }
        changed
    }

    /// Forget everything the engine installed (the node restarted).
    pub fn clear_dynamic(&mut self) {
        let tables = self.forwarder.tables().clone();
        for proto in std::mem::take(&mut self.mappings).into_keys() {
            match self.static_mappings.get(&proto) {
                Some(nbma) => tables.set_mapping(proto, *nbma),
                None => {
                    tables.remove_mapping(proto);
                }
            }
        }
        for prefix in std::mem::take(&mut self.shortcuts).into_keys() {
            if let Some(fp) = to_fwd(prefix) {
                tables.remove_shortcut(fp);
            }
        }
        self.relays_down.clear();
        self.sync_nhs();
    }

    /// The NBMA address mapped to `proto` (engine-installed, then static).
    pub fn mapping(&self, proto: Ipv4Addr) -> Option<Ipv4Addr> {
        self.forwarder.tables().mapping(proto)
    }

    /// Engine-installed mappings.
    pub fn mappings(&self) -> &BTreeMap<Ipv4Addr, Ipv4Addr> {
        &self.mappings
    }

    /// Engine-installed shortcut routes.
    pub fn shortcuts(&self) -> &BTreeMap<Prefix, Ipv4Addr> {
        &self.shortcuts
    }

    /// The kernel step: the longest prefix over LAN routes, tunnel routes and shortcuts
    /// (a shortcut wins a tie). `Some(true)`: into the tunnel; `Some(false)`: the LAN.
    pub fn into_tunnel(&self, dst: Ipv4Addr) -> Option<bool> {
        let route = self
            .routes
            .iter()
            .filter(|(p, _)| p.contains(dst))
            .max_by_key(|(p, _)| p.len());
        let shortcut = self
            .shortcuts
            .keys()
            .filter(|p| p.contains(dst))
            .map(Prefix::len)
            .max();
        match (route, shortcut) {
            (Some((p, RouteVia::Local)), s) if s.is_none_or(|l| l < p.len()) => Some(false),
            (None, None) => None,
            _ => Some(true),
        }
    }

    /// Where a packet to `dst` would go (the forwarding tables' decision, for tests).
    pub fn lookup(&self, dst: Ipv4Addr) -> Forward {
        match self.into_tunnel(dst) {
            None => Forward::NoRoute,
            Some(false) => Forward::Local,
            Some(true) => match self.forwarder.tables().decide(dst) {
                Decision::Unicast {
                    nbma,
                    next_hop,
                    source,
                    resolve,
                } => Forward::Tunnel {
                    next_hop,
                    nbma: (!resolve).then_some(nbma),
                    shortcut: source == NextHopSource::Shortcut,
                },
                Decision::Unreachable { next_hop } => Forward::Tunnel {
                    next_hop,
                    nbma: None,
                    shortcut: !self
                        .routes
                        .values()
                        .any(|v| *v == RouteVia::Tunnel(next_hop)),
                },
                Decision::Replicate => Forward::NoRoute,
            },
        }
    }

    /// Runs the shipped pipeline on an IPv4 packet going into the tunnel at virtual time
    /// `now` (the TUN reader's entry point).
    pub fn from_overlay(&mut self, packet: &[u8], now: Duration) -> Outputs {
        let mut out = Outputs::default();
        let mut packet = packet.to_vec();
        out.up = self
            .forwarder
            .from_overlay(&mut self.scratch, &mut packet, now, &mut out)
            .map(<[u8]>::to_vec);
        out
    }

    /// Runs the shipped pipeline on a GRE packet (GRE header first) from NBMA address
    /// `source` at virtual time `now` (the GRE reader's entry point).
    pub fn from_nbma(&mut self, source: Ipv4Addr, gre: &[u8], now: Duration) -> Outputs {
        let mut out = Outputs::default();
        if self.buf.set(gre).is_ok() {
            out.up = self
                .forwarder
                .from_nbma(source, &mut self.buf, now, &mut out)
                .map(<[u8]>::to_vec);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn shortcut_overrides_equal_length_route_and_mapping_resolves() {
        let mut dp = DataPlane::default();
        let lan2 = Prefix::new(ip("192.168.2.0"), 24).unwrap();
        dp.add_route(lan2, RouteVia::Tunnel(ip("10.0.0.1")));
        dp.add_static_mapping(ip("10.0.0.1"), ip("172.17.0.1"));
        assert_eq!(
            dp.lookup(ip("192.168.2.3")),
            Forward::Tunnel {
                next_hop: ip("10.0.0.1"),
                nbma: Some(ip("172.17.0.1")),
                shortcut: false
            }
        );
        dp.apply(&NodeOutput::ShortcutAdd {
            prefix: lan2,
            next_hop: ip("10.0.0.3"),
        });
        assert_eq!(
            dp.lookup(ip("192.168.2.3")),
            Forward::Tunnel {
                next_hop: ip("10.0.0.3"),
                nbma: None,
                shortcut: true
            }
        );
        dp.apply(&NodeOutput::MappingAdd {
            proto: ip("10.0.0.3"),
            nbma: ip("172.16.2.75"),
        });
        assert_eq!(
            dp.lookup(ip("192.168.2.3")),
            Forward::Tunnel {
                next_hop: ip("10.0.0.3"),
                nbma: Some(ip("172.16.2.75")),
                shortcut: true
            }
        );
        dp.apply(&NodeOutput::ShortcutRemove { prefix: lan2 });
        assert!(matches!(
            dp.lookup(ip("192.168.2.3")),
            Forward::Tunnel {
                shortcut: false,
                ..
            }
        ));
        assert_eq!(dp.lookup(ip("8.8.8.8")), Forward::NoRoute);
    }

    #[test]
    fn a_more_specific_route_beats_a_shorter_shortcut() {
        let mut dp = DataPlane::default();
        dp.add_route(
            Prefix::new(ip("192.168.2.128"), 25).unwrap(),
            RouteVia::Tunnel(ip("10.0.0.1")),
        );
        dp.add_route(
            Prefix::new(ip("192.168.0.0"), 16).unwrap(),
            RouteVia::Tunnel(ip("10.0.0.1")),
        );
        dp.apply(&NodeOutput::ShortcutAdd {
            prefix: Prefix::new(ip("192.168.2.0"), 24).unwrap(),
            next_hop: ip("10.0.0.3"),
        });
        assert!(matches!(
            dp.lookup(ip("192.168.2.200")),
            Forward::Tunnel { next_hop, shortcut: false, .. } if next_hop == ip("10.0.0.1")
        ));
        assert!(matches!(
            dp.lookup(ip("192.168.2.5")),
            Forward::Tunnel { next_hop, shortcut: true, .. } if next_hop == ip("10.0.0.3")
        ));
        dp.remove_route(Prefix::new(ip("192.168.2.128"), 25).unwrap());
        assert!(matches!(
            dp.lookup(ip("192.168.2.200")),
            Forward::Tunnel { shortcut: true, .. }
        ));
    }

    #[test]
    fn engine_mappings_fall_back_to_static_ones_and_relays_follow() {
        let mut dp = DataPlane::default();
        dp.add_static_mapping(ip("10.0.0.1"), ip("172.17.0.1"));
        dp.set_relays(vec![ip("10.0.0.1")]);
        assert_eq!(dp.forwarder().tables().nhs(), vec![ip("172.17.0.1")]);
        dp.apply(&NodeOutput::MappingAdd {
            proto: ip("10.0.0.1"),
            nbma: ip("172.17.0.9"),
        });
        assert_eq!(dp.forwarder().tables().nhs(), vec![ip("172.17.0.9")]);
        dp.clear_dynamic();
        assert_eq!(dp.mapping(ip("10.0.0.1")), Some(ip("172.17.0.1")));
        assert_eq!(dp.forwarder().tables().nhs(), vec![ip("172.17.0.1")]);
        assert!(dp.mappings().is_empty());
    }

    #[test]
    fn prefix_masks_host_bits() {
        let p = Prefix::new(ip("192.168.2.77"), 24).unwrap();
        assert_eq!(p.addr(), ip("192.168.2.0"));
        assert!(p.contains(ip("192.168.2.1")));
        assert!(!p.contains(ip("192.168.3.1")));
        assert!(
            Prefix::new(ip("1.2.3.4"), 0)
                .unwrap()
                .contains(ip("9.9.9.9"))
        );
        assert!(Prefix::new(ip("1.2.3.4"), 40).is_err());
    }
}

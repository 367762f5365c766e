//! The forwarding tables of one tunnel and the per-packet forwarding decision.
//!
//! Four inputs decide where a packet read from the TUN device goes:
//! - the **route mirror**: the kernel's IPv4 routes that point into the tunnel device, kept
//!   current by the netlink task (static routes, FRR, BIRD);
//! - **shortcut routes** (prefix → overlay next hop), set by the daemon from NHRP engine
//!   actions; the longest prefix wins across shortcuts and mirrored routes, and a shortcut
//!   beats a mirrored route of the same length (as the kernel and IOS choose routes);
//! - **NHRP mappings** (overlay address → NBMA address), set by the daemon;
//! - the **NHS list** and the **multicast targets**.
//!
//! [`ForwardingTables::decide`] combines them. It never drops a unicast packet for want of
//! a mapping while an NHS is known: the packet goes via the NHS and the decision says a
//! resolution is wanted (phase 2 without loss).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::RwLock;

pub use dmvpn_wire::{Ipv4Prefix, PrefixLengthError};

fn mask(len: u8) -> u32 {
    dmvpn_wire::netmask(len)
}

/// The prefix of a table key (`len` is at most 32 by construction).
fn prefix(addr: u32, len: u8) -> Ipv4Prefix {
    Ipv4Prefix::new(Ipv4Addr::from(addr), len).unwrap_or(Ipv4Prefix::host(Ipv4Addr::from(addr)))
}

/// A longest-prefix-match table: one hash map per prefix length.
#[derive(Debug, Clone)]
pub struct LpmTable<V> {
    by_len: Vec<HashMap<u32, V>>,
    present: u64,
}

impl<V> Default for LpmTable<V> {
    fn default() -> Self {
        Self {
            by_len: (0..=32).map(|_| HashMap::new()).collect(),
            present: 0,
        }
    }
}

impl<V> LpmTable<V> {
    /// Inserts or replaces the value of `prefix`; returns the old value.
    pub fn insert(&mut self, prefix: Ipv4Prefix, value: V) -> Option<V> {
        let len = usize::from(prefix.len());
        let map = self.by_len.get_mut(len)?;
        self.present |= 1 << len;
        map.insert(u32::from(prefix.addr()), value)
    }

    /// Removes `prefix`; returns its value.
    pub fn remove(&mut self, prefix: &Ipv4Prefix) -> Option<V> {
        let len = usize::from(prefix.len());
        let map = self.by_len.get_mut(len)?;
        let old = map.remove(&u32::from(prefix.addr()));
        if map.is_empty() {
            self.present &= !(1 << len);
        }
        old
    }

    /// The exact entry for `prefix`.
    pub fn get(&self, prefix: &Ipv4Prefix) -> Option<&V> {
        self.by_len
            .get(usize::from(prefix.len()))?
            .get(&u32::from(prefix.addr()))
    }

    /// The exact entry for `prefix`, mutable.
    pub fn get_mut(&mut self, prefix: &Ipv4Prefix) -> Option<&mut V> {
        self.by_len
            .get_mut(usize::from(prefix.len()))?
            .get_mut(&u32::from(prefix.addr()))
    }

    /// The longest prefix containing `ip`, with its value.
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<(Ipv4Prefix, &V)> {
        let ip = u32::from(ip);
        let mut bits = self.present;
        while bits != 0 {
            let len = 63 - bits.leading_zeros();
            bits &= !(1u64 << len);
            let len = u8::try_from(len).ok()?;
            let key = ip & mask(len);
            if let Some(v) = self.by_len.get(usize::from(len)).and_then(|m| m.get(&key)) {
                return Some((prefix(key, len), v));
            }
        }
        None
    }

    /// All entries, longest prefixes first.
    pub fn iter(&self) -> impl Iterator<Item = (Ipv4Prefix, &V)> {
        self.by_len.iter().enumerate().rev().flat_map(|(len, m)| {
            let len = u8::try_from(len).unwrap_or(32);
            m.iter().map(move |(a, v)| (prefix(*a, len), v))
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_len.iter().map(HashMap::len).sum()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        for m in &mut self.by_len {
            m.clear();
        }
        self.present = 0;
    }
}

/// A kernel route into the tunnel, as mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirroredRoute {
    /// Destination prefix.
    pub prefix: Ipv4Prefix,
    /// The gateway (overlay next hop); `None` for a directly connected route.
    pub gateway: Option<Ipv4Addr>,
    /// The route metric (priority); lower wins.
    pub metric: u32,
    /// The kernel routing protocol number (2 kernel, 4 static, 11 zebra, 12 bird, ...).
    pub protocol: u8,
}

/// Identity of a kernel route inside one table: prefix, TOS and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// Destination prefix.
    pub prefix: Ipv4Prefix,
    /// Type of service.
    pub tos: u8,
    /// Metric (priority).
    pub metric: u32,
}

/// The mirror of the kernel's routes that point into the tunnel device.
#[derive(Debug, Default, Clone)]
pub struct RouteMirror {
    table: LpmTable<BTreeMap<(u32, u8), MirroredRoute>>,
}

impl RouteMirror {
    /// Adds or replaces a route.
    pub fn upsert(&mut self, tos: u8, route: MirroredRoute) {
        if self.table.get(&route.prefix).is_none() {
            self.table.insert(route.prefix, BTreeMap::new());
        }
        if let Some(set) = self.table.get_mut(&route.prefix) {
            set.insert((route.metric, tos), route);
        }
    }

    /// Removes a route by identity; returns whether it was present.
    pub fn remove(&mut self, key: &RouteKey) -> bool {
        let Some(set) = self.table.get_mut(&key.prefix) else {
            return false;
        };
        let found = set.remove(&(key.metric, key.tos)).is_some();
        if set.is_empty() {
            self.table.remove(&key.prefix);
        }
        found
    }

    /// The best route for `ip`: longest prefix, then lowest metric.
    pub fn lookup(&self, ip: Ipv4Addr) -> Option<MirroredRoute> {
        self.table
            .lookup(ip)
            .and_then(|(_, set)| set.values().next().copied())
    }

    /// Every mirrored route, longest prefixes first, then by metric.
    pub fn routes(&self) -> Vec<MirroredRoute> {
        self.table
            .iter()
            .flat_map(|(_, set)| set.values().copied())
            .collect()
    }

    /// Removes every route.
    pub fn clear(&mut self) {
        self.table.clear();
    }
}

/// Which targets `ip nhrp map multicast` lists besides static addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MulticastPolicy {
    /// Static NBMA addresses (`ip nhrp map multicast A.B.C.D`).
    pub static_targets: Vec<Ipv4Addr>,
    /// `ip nhrp map multicast dynamic`: every registered peer.
    pub dynamic: bool,
    /// `ip nhrp map multicast nhs`: every NHS.
    pub nhs: bool,
}

/// How the next hop of a unicast decision was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHopSource {
    /// A shortcut route set by the daemon.
    Shortcut,
    /// A mirrored kernel route with a gateway.
    Route,
    /// No gateway: the destination itself is the next hop (connected or no route).
    Destination,
    /// Point-to-point tunnel: everything goes to the tunnel destination.
    PointToPoint,
}

/// The forwarding decision for one packet read from the TUN device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send to `nbma`. When `resolve` is set, `nbma` is the NHS used meanwhile and the
    /// daemon should resolve `next_hop` (no mapping yet).
    Unicast {
        /// NBMA address to send to.
        nbma: Ipv4Addr,
        /// Overlay next hop.
        next_hop: Ipv4Addr,
        /// How the next hop was found.
        source: NextHopSource,
        /// No mapping for `next_hop` exists; `nbma` is an NHS.
        resolve: bool,
    },
    /// Replicate to the multicast targets ([`ForwardingTables::multicast_targets`]).
    Replicate,
    /// No mapping and no NHS: the packet cannot be sent; resolution is wanted.
    Unreachable {
        /// Overlay next hop with no mapping.
        next_hop: Ipv4Addr,
    },
}

#[derive(Debug, Default)]
struct Inner {
    routes: RouteMirror,
    shortcuts: LpmTable<Ipv4Addr>,
    mappings: HashMap<Ipv4Addr, Ipv4Addr>,
    nhs: Vec<Ipv4Addr>,
    nhs_down: HashSet<Ipv4Addr>,
    dynamic: HashSet<Ipv4Addr>,
    policy: MulticastPolicy,
}

fn active_nhs(inner: &Inner) -> Option<Ipv4Addr> {
    inner
        .nhs
        .iter()
        .find(|n| !inner.nhs_down.contains(n))
        .or(inner.nhs.first())
        .copied()
}

/// The tables of one tunnel, shared between the data-plane tasks (readers) and the daemon
/// (writer). All methods take `&self`; locks are held only for the duration of a call.
#[derive(Debug)]
pub struct ForwardingTables {
    inner: RwLock<Inner>,
    /// The tunnel's own address and prefix (`ip address`).
    subnet: Ipv4Prefix,
    local: Ipv4Addr,
    /// Point-to-point destination (`tunnel destination`).
    destination: Option<Ipv4Addr>,
}

impl ForwardingTables {
    /// Empty tables for a tunnel with address `local`/`prefix_len` and optional
    /// point-to-point `destination`.
    pub fn new(
        local: Ipv4Addr,
        prefix_len: u8,
        destination: Option<Ipv4Addr>,
    ) -> Result<Self, PrefixLengthError> {
        Ok(Self {
            inner: RwLock::new(Inner::default()),
            subnet: Ipv4Prefix::new(local, prefix_len)?,
            local,
            destination,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The tunnel's own overlay address.
    pub fn local_address(&self) -> Ipv4Addr {
        self.local
    }

    /// The tunnel's overlay subnet.
    pub fn subnet(&self) -> Ipv4Prefix {
        self.subnet
    }

    /// Sets the NHRP mapping `overlay → nbma` (static `ip nhrp map` or a learned entry).
    pub fn set_mapping(&self, overlay: Ipv4Addr, nbma: Ipv4Addr) {
        self.write().mappings.insert(overlay, nbma);
    }

    /// Removes the mapping of `overlay`; returns the NBMA address it had.
    pub fn remove_mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.write().mappings.remove(&overlay)
    }

    /// The NBMA address mapped to `overlay`.
    pub fn mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.read().mappings.get(&overlay).copied()
    }

    /// Every mapping, sorted by overlay address.
    pub fn mappings(&self) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        let mut v: Vec<_> = self.read().mappings.iter().map(|(a, b)| (*a, *b)).collect();
        v.sort();
        v
    }

    /// Sets the shortcut route `prefix → next_hop` (it beats mirrored routes of the same
    /// or a shorter prefix length).
    pub fn set_shortcut(&self, prefix: Ipv4Prefix, next_hop: Ipv4Addr) {
        self.write().shortcuts.insert(prefix, next_hop);
    }

    /// Removes the shortcut route of `prefix`.
    pub fn remove_shortcut(&self, prefix: Ipv4Prefix) -> Option<Ipv4Addr> {
        self.write().shortcuts.remove(&prefix)
    }

    /// Every shortcut route, longest prefixes first.
    pub fn shortcuts(&self) -> Vec<(Ipv4Prefix, Ipv4Addr)> {
        self.read().shortcuts.iter().map(|(p, n)| (p, *n)).collect()
    }

    /// Replaces the NBMA addresses of the NHSes, in order of preference. The first is used
    /// for traffic whose next hop has no mapping yet.
    pub fn set_nhs(&self, nbma: Vec<Ipv4Addr>) {
        self.write().nhs = nbma;
    }

    /// The NBMA addresses of the NHSes.
    pub fn nhs(&self) -> Vec<Ipv4Addr> {
        self.read().nhs.clone()
    }

    /// Marks the NHS at `nbma` UP or DOWN (the engine's NHS events): traffic without a
    /// mapping goes through the most preferred NHS that is not DOWN (the first one when all
    /// are).
    pub fn set_nhs_up(&self, nbma: Ipv4Addr, up: bool) {
        let mut inner = self.write();
        if up {
            inner.nhs_down.remove(&nbma);
        } else {
            inner.nhs_down.insert(nbma);
        }
    }

    /// The NHS unresolved traffic goes through now.
    pub fn active_nhs(&self) -> Option<Ipv4Addr> {
        let inner = self.read();
        active_nhs(&inner)
    }

    /// Replaces the multicast policy (`ip nhrp map multicast ...`).
    pub fn set_multicast_policy(&self, policy: MulticastPolicy) {
        self.write().policy = policy;
    }

    /// Adds a dynamically registered peer (its NBMA address) to the `dynamic` targets.
    pub fn add_dynamic_peer(&self, nbma: Ipv4Addr) {
        self.write().dynamic.insert(nbma);
    }

    /// Removes a dynamically registered peer.
    pub fn remove_dynamic_peer(&self, nbma: Ipv4Addr) -> bool {
        self.write().dynamic.remove(&nbma)
    }

    /// The dynamically registered peers (NBMA addresses), sorted.
    pub fn dynamic_peers(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<_> = self.read().dynamic.iter().copied().collect();
        v.sort_unstable();
        v
    }

    /// The multicast policy in force.
    pub fn multicast_policy(&self) -> MulticastPolicy {
        self.read().policy.clone()
    }

    /// Fills `out` with the current multicast targets (deduplicated, sorted).
    pub fn multicast_targets(&self, out: &mut Vec<Ipv4Addr>) {
        out.clear();
        if let Some(d) = self.destination {
            out.push(d);
            return;
        }
        let inner = self.read();
        out.extend_from_slice(&inner.policy.static_targets);
        if inner.policy.dynamic {
            out.extend(inner.dynamic.iter().copied());
        }
        if inner.policy.nhs {
            out.extend_from_slice(&inner.nhs);
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Applies a route-mirror change; used by the netlink task and by tests.
    pub fn update_routes<F: FnOnce(&mut RouteMirror)>(&self, f: F) {
        f(&mut self.write().routes);
    }

    /// A copy of the mirrored routes.
    pub fn routes(&self) -> Vec<MirroredRoute> {
        self.read().routes.routes()
    }

    /// True when `dst` must be replicated: multicast, limited broadcast, or the directed
    /// broadcast of the tunnel subnet.
    pub fn is_multicast_or_broadcast(&self, dst: Ipv4Addr) -> bool {
        dst.is_multicast()
            || dst.is_broadcast()
            || (self.subnet.len() < 31 && dst == self.subnet.broadcast())
    }

    /// True when `src` would be reached through the tunnel (a mirrored route, a shortcut or
    /// a mapping covers it) and is not this node's own address.
    pub fn reached_via_tunnel(&self, src: Ipv4Addr) -> bool {
        if src == self.local {
            return false;
        }
        let inner = self.read();
        inner.mappings.contains_key(&src)
            || inner.shortcuts.lookup(src).is_some()
            || inner.routes.lookup(src).is_some()
    }

    /// The forwarding decision for a packet to `dst`.
    pub fn decide(&self, dst: Ipv4Addr) -> Decision {
        if let Some(d) = self.destination {
            return if self.is_multicast_or_broadcast(dst) {
                Decision::Replicate
            } else {
                Decision::Unicast {
                    nbma: d,
                    next_hop: dst,
                    source: NextHopSource::PointToPoint,
                    resolve: false,
                }
            };
        }
        if self.is_multicast_or_broadcast(dst) {
            return Decision::Replicate;
        }
        let inner = self.read();
        // Longest prefix across shortcuts and mirrored routes, as the kernel and IOS pick
        // routes; a shortcut wins over a route of the same length (NHRP overrides the
        // routing protocol's path through the hub), never over a more specific one.
        let shortcut = inner.shortcuts.lookup(dst);
        let route = inner.routes.lookup(dst);
        let shortcut = match (shortcut, route) {
            (Some((sp, nh)), Some(r)) if sp.len() >= r.prefix.len() => Some(*nh),
            (Some((_, nh)), None) => Some(*nh),
            _ => None,
        };
        let (next_hop, source) = match (shortcut, route) {
            (Some(nh), _) => (nh, NextHopSource::Shortcut),
            (
                None,
                Some(MirroredRoute {
                    gateway: Some(gw), ..
                }),
            ) => (gw, NextHopSource::Route),
            (None, _) => (dst, NextHopSource::Destination),
        };
        // A mapping for the destination itself beats going through the next hop.
        let mapped = inner
            .mappings
            .get(&next_hop)
            .or_else(|| inner.mappings.get(&dst));
        match (mapped, active_nhs(&inner).as_ref()) {
            (Some(nbma), _) => Decision::Unicast {
                nbma: *nbma,
                next_hop,
                source,
                resolve: false,
            },
            (None, Some(nhs)) => Decision::Unicast {
                nbma: *nhs,
                next_hop,
                source,
                resolve: true,
            },
            (None, None) => Decision::Unreachable { next_hop },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn p(s: &str, len: u8) -> Ipv4Prefix {
        Ipv4Prefix::new(ip(s), len).unwrap()
    }

    #[test]
    fn prefix_masks_host_bits() {
        let pr = p("10.1.2.3", 16);
        assert_eq!(pr.addr(), ip("10.1.0.0"));
        assert!(pr.contains(ip("10.1.255.1")));
        assert!(!pr.contains(ip("10.2.0.1")));
        assert_eq!(pr.broadcast(), ip("10.1.255.255"));
        assert_eq!(p("1.2.3.4", 0).addr(), ip("0.0.0.0"));
        assert!(Ipv4Prefix::new(ip("1.2.3.4"), 33).is_err());
        assert_eq!(pr.to_string(), "10.1.0.0/16");
    }

    #[test]
    fn lpm_prefers_longest() {
        let mut t = LpmTable::default();
        t.insert(p("0.0.0.0", 0), 0);
        t.insert(p("10.0.0.0", 8), 8);
        t.insert(p("10.1.0.0", 16), 16);
        assert_eq!(t.lookup(ip("10.1.2.3")).map(|(_, v)| *v), Some(16));
        assert_eq!(t.lookup(ip("10.2.2.3")).map(|(_, v)| *v), Some(8));
        assert_eq!(t.lookup(ip("11.0.0.1")).map(|(_, v)| *v), Some(0));
        t.remove(&p("0.0.0.0", 0));
        assert_eq!(t.lookup(ip("11.0.0.1")), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn route_mirror_prefers_lower_metric_and_removes_by_key() {
        let mut m = RouteMirror::default();
        let r = |gw: &str, metric| MirroredRoute {
            prefix: p("192.168.2.0", 24),
            gateway: Some(ip(gw)),
            metric,
            protocol: 4,
        };
        m.upsert(0, r("10.0.0.12", 20));
        m.upsert(0, r("10.0.0.1", 10));
        assert_eq!(
            m.lookup(ip("192.168.2.9")).unwrap().gateway,
            Some(ip("10.0.0.1"))
        );
        assert!(m.remove(&RouteKey {
            prefix: p("192.168.2.0", 24),
            tos: 0,
            metric: 10
        }));
        assert_eq!(
            m.lookup(ip("192.168.2.9")).unwrap().gateway,
            Some(ip("10.0.0.12"))
        );
        assert_eq!(m.routes().len(), 1);
    }

    fn spoke() -> ForwardingTables {
        let t = ForwardingTables::new(ip("10.0.0.11"), 24, None).unwrap();
        t.set_nhs(vec![ip("192.0.2.1")]);
        t.set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
        t.update_routes(|m| {
            m.upsert(
                0,
                MirroredRoute {
                    prefix: p("10.0.0.0", 24),
                    gateway: None,
                    metric: 0,
                    protocol: 2,
                },
            );
            m.upsert(
                0,
                MirroredRoute {
                    prefix: p("192.168.2.0", 24),
                    gateway: Some(ip("10.0.0.12")),
                    metric: 0,
                    protocol: 4,
                },
            );
        });
        t
    }

    #[test]
    fn unmapped_next_hop_goes_via_nhs_and_asks_for_resolution() {
        let t = spoke();
        assert_eq!(
            t.decide(ip("192.168.2.5")),
            Decision::Unicast {
                nbma: ip("192.0.2.1"),
                next_hop: ip("10.0.0.12"),
                source: NextHopSource::Route,
                resolve: true
            }
        );
        t.set_mapping(ip("10.0.0.12"), ip("192.0.2.12"));
        assert_eq!(
            t.decide(ip("192.168.2.5")),
            Decision::Unicast {
                nbma: ip("192.0.2.12"),
                next_hop: ip("10.0.0.12"),
                source: NextHopSource::Route,
                resolve: false
            }
        );
    }

    #[test]
    fn shortcut_overrides_route_and_connected_uses_destination() {
        let t = spoke();
        t.set_mapping(ip("10.0.0.13"), ip("192.0.2.13"));
        t.set_shortcut(p("192.168.2.0", 25), ip("10.0.0.13"));
        assert!(matches!(
            t.decide(ip("192.168.2.5")),
            Decision::Unicast { nbma, source: NextHopSource::Shortcut, .. } if nbma == ip("192.0.2.13")
        ));
        assert!(matches!(
            t.decide(ip("10.0.0.1")),
            Decision::Unicast { nbma, source: NextHopSource::Destination, resolve: false, .. } if nbma == ip("192.0.2.1")
        ));
        t.set_nhs(vec![]);
        assert_eq!(
            t.decide(ip("10.0.0.99")),
            Decision::Unreachable {
                next_hop: ip("10.0.0.99")
            }
        );
    }

    #[test]
    fn longest_prefix_wins_across_shortcuts_and_routes() {
        let t = spoke();
        t.set_mapping(ip("10.0.0.13"), ip("192.0.2.13"));
        t.set_mapping(ip("10.0.0.12"), ip("192.0.2.12"));
        // A /16 shortcut does not beat the more specific /24 route.
        t.set_shortcut(p("192.168.0.0", 16), ip("10.0.0.13"));
        assert!(matches!(
            t.decide(ip("192.168.2.5")),
            Decision::Unicast { next_hop, source: NextHopSource::Route, .. } if next_hop == ip("10.0.0.12")
        ));
        assert!(matches!(
            t.decide(ip("192.168.7.5")),
            Decision::Unicast { next_hop, source: NextHopSource::Shortcut, .. } if next_hop == ip("10.0.0.13")
        ));
        // An equal-length shortcut beats the route.
        t.set_shortcut(p("192.168.2.0", 24), ip("10.0.0.13"));
        assert!(matches!(
            t.decide(ip("192.168.2.5")),
            Decision::Unicast { next_hop, source: NextHopSource::Shortcut, .. } if next_hop == ip("10.0.0.13")
        ));
    }

    #[test]
    fn unresolved_traffic_goes_through_the_first_nhs_that_is_up() {
        let t = spoke();
        t.set_nhs(vec![ip("192.0.2.1"), ip("192.0.2.2")]);
        let via = |t: &ForwardingTables| match t.decide(ip("192.168.2.5")) {
            Decision::Unicast {
                nbma,
                resolve: true,
                ..
            } => nbma,
            other => panic!("{other:?}"),
        };
        assert_eq!(via(&t), ip("192.0.2.1"));
        t.set_nhs_up(ip("192.0.2.1"), false);
        assert_eq!(via(&t), ip("192.0.2.2"));
        assert_eq!(t.active_nhs(), Some(ip("192.0.2.2")));
        t.set_nhs_up(ip("192.0.2.2"), false);
        assert_eq!(via(&t), ip("192.0.2.1"), "all down: the first");
        t.set_nhs_up(ip("192.0.2.1"), true);
        assert_eq!(via(&t), ip("192.0.2.1"));
    }

    #[test]
    fn multicast_targets_follow_policy() {
        let t = spoke();
        assert_eq!(t.decide(ip("224.0.0.5")), Decision::Replicate);
        assert_eq!(t.decide(ip("10.0.0.255")), Decision::Replicate);
        assert_eq!(t.decide(ip("255.255.255.255")), Decision::Replicate);
        t.set_multicast_policy(MulticastPolicy {
            static_targets: vec![ip("192.0.2.50"), ip("192.0.2.1")],
            dynamic: true,
            nhs: true,
        });
        t.add_dynamic_peer(ip("192.0.2.12"));
        assert_eq!(t.dynamic_peers(), vec![ip("192.0.2.12")]);
        assert!(t.multicast_policy().dynamic);
        let mut out = Vec::new();
        t.multicast_targets(&mut out);
        assert_eq!(
            out,
            vec![ip("192.0.2.1"), ip("192.0.2.12"), ip("192.0.2.50")]
        );
        t.remove_dynamic_peer(ip("192.0.2.12"));
        t.set_multicast_policy(MulticastPolicy {
            static_targets: vec![],
            dynamic: true,
            nhs: false,
        });
        t.multicast_targets(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn point_to_point_sends_everything_to_destination() {
        let t = ForwardingTables::new(ip("10.9.0.1"), 30, Some(ip("198.51.100.2"))).unwrap();
        assert!(matches!(
            t.decide(ip("8.8.8.8")),
            Decision::Unicast { nbma, source: NextHopSource::PointToPoint, .. } if nbma == ip("198.51.100.2")
        ));
        let mut out = Vec::new();
        t.multicast_targets(&mut out);
        assert_eq!(out, vec![ip("198.51.100.2")]);
    }

    #[test]
    fn reached_via_tunnel_excludes_own_address() {
        let t = spoke();
        assert!(t.reached_via_tunnel(ip("192.168.2.1")));
        assert!(t.reached_via_tunnel(ip("10.0.0.12")));
        assert!(!t.reached_via_tunnel(ip("10.0.0.11")));
        assert!(!t.reached_via_tunnel(ip("172.16.0.1")));
    }
}

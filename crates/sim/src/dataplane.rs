//! A minimal per-node data plane: a routing table (which prefixes are local,
//! which are reached through which tunnel next hop), the shortcut routes and
//! the protocol → NBMA mappings the engine installs, and the forwarding
//! decision the real userspace mGRE data plane makes for each packet.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::node::{NodeOutput, Prefix};

/// Where a route points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteVia {
    /// The prefix is on this router's LAN: deliver to the host.
    Local,
    /// Out of the tunnel to this tunnel (protocol) next hop.
    Tunnel(Ipv4Addr),
}

/// What the data plane decided for one packet.
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

/// Routing table, shortcut routes and NBMA mappings of one node.
#[derive(Clone, Debug, Default)]
pub struct DataPlane {
    routes: BTreeMap<Prefix, RouteVia>,
    shortcuts: BTreeMap<Prefix, Ipv4Addr>,
    mappings: BTreeMap<Ipv4Addr, Ipv4Addr>,
    static_mappings: BTreeMap<Ipv4Addr, Ipv4Addr>,
    relays: Vec<Ipv4Addr>,
}

impl DataPlane {
    /// Add (or replace) a configured route, as a routing protocol would.
    pub fn add_route(&mut self, prefix: Prefix, via: RouteVia) {
        self.routes.insert(prefix, via);
    }

    /// Configured routes.
    pub fn routes(&self) -> &BTreeMap<Prefix, RouteVia> {
        &self.routes
    }

    /// Remove a configured route.
    pub fn remove_route(&mut self, prefix: Prefix) {
        self.routes.remove(&prefix);
    }

    /// A static mapping (`ip nhrp map`), kept across engine restarts.
    pub fn add_static_mapping(&mut self, proto: Ipv4Addr, nbma: Ipv4Addr) {
        self.static_mappings.insert(proto, nbma);
    }

    /// Tunnel addresses of the NHSs through which unresolved traffic is
    /// relayed while resolution is pending (IOS phase-2 behaviour).
    pub fn set_relays(&mut self, relays: Vec<Ipv4Addr>) {
        self.relays = relays;
    }

    /// Relays in preference order.
    pub fn relays(&self) -> &[Ipv4Addr] {
        &self.relays
    }

    /// Apply an engine output; returns whether it changed the data plane.
    pub fn apply(&mut self, out: &NodeOutput) -> bool {
        match out {
            NodeOutput::MappingAdd { proto, nbma } => {
                self.mappings.insert(*proto, *nbma) != Some(*nbma)
            }
            NodeOutput::MappingRemove { proto } => self.mappings.remove(proto).is_some(),
            NodeOutput::ShortcutAdd { prefix, next_hop } => {
                self.shortcuts.insert(*prefix, *next_hop) != Some(*next_hop)
            }
            NodeOutput::ShortcutRemove { prefix } => self.shortcuts.remove(prefix).is_some(),
            NodeOutput::Send { .. } | NodeOutput::Note(_) => false,
        }
    }

    /// Forget everything the engine installed (the node restarted).
    pub fn clear_dynamic(&mut self) {
        self.mappings.clear();
        self.shortcuts.clear();
    }

    /// The NBMA address mapped to `proto` (engine-installed, then static).
    pub fn mapping(&self, proto: Ipv4Addr) -> Option<Ipv4Addr> {
        self.mappings
            .get(&proto)
            .or_else(|| self.static_mappings.get(&proto))
            .copied()
    }

    /// Engine-installed mappings.
    pub fn mappings(&self) -> &BTreeMap<Ipv4Addr, Ipv4Addr> {
        &self.mappings
    }

    /// Engine-installed shortcut routes.
    pub fn shortcuts(&self) -> &BTreeMap<Prefix, Ipv4Addr> {
        &self.shortcuts
    }

    /// Longest-prefix match over routes and shortcuts; on equal length a
    /// shortcut wins (it overrides the routing protocol's hub path).
    pub fn lookup(&self, dst: Ipv4Addr) -> Forward {
        let route = self
            .routes
            .iter()
            .filter(|(p, _)| p.contains(dst))
            .max_by_key(|(p, _)| p.prefix_len());
        let shortcut = self
            .shortcuts
            .iter()
            .filter(|(p, _)| p.contains(dst))
            .max_by_key(|(p, _)| p.prefix_len());
        let (via, is_shortcut) = match (route, shortcut) {
            (Some((rp, via)), Some((sp, nh))) => {
                if sp.prefix_len() >= rp.prefix_len() {
                    (RouteVia::Tunnel(*nh), true)
                } else {
                    (*via, false)
                }
            }
            (Some((_, via)), None) => (*via, false),
            (None, Some((_, nh))) => (RouteVia::Tunnel(*nh), true),
            (None, None) => return Forward::NoRoute,
        };
        match via {
            RouteVia::Local => Forward::Local,
            RouteVia::Tunnel(next_hop) => Forward::Tunnel {
                next_hop,
                nbma: self.mapping(next_hop),
                shortcut: is_shortcut,
            },
        }
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
        let lan2 = Prefix::new(ip("192.168.2.0"), 24);
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
    fn prefix_masks_host_bits() {
        let p = Prefix::new(ip("192.168.2.77"), 24);
        assert_eq!(p.addr(), ip("192.168.2.0"));
        assert!(p.contains(ip("192.168.2.1")));
        assert!(!p.contains(ip("192.168.3.1")));
        assert!(Prefix::new(ip("1.2.3.4"), 0).contains(ip("9.9.9.9")));
        assert_eq!(Prefix::new(ip("1.2.3.4"), 40).prefix_len(), 32);
    }
}

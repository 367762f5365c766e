//! [`Lab`]: a simulated DMVPN built from real engines, with the helpers the
//! scenario tests and the examples share — interface configurations in the
//! style of seed 003 (`hub_iface`, `spoke_iface`), routes installed in both
//! the data plane and the engine, restarts with the node's own
//! configuration, and show-style getters (cache entries, NHS state, events).

use std::net::Ipv4Addr;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use dmvpn_nhrp::{
    CacheEntryView, EngineConfig, EngineError, Event, InterfaceConfig, MulticastMap, NhsConfig,
    NhsState, ShortcutView, StaticMap,
};

use crate::dataplane::RouteVia;
use crate::engine_node::EngineNode;
use crate::net::Sim;
use crate::node::{NodeId, Prefix};

/// Interface index used for the tunnel in every lab node.
pub const TUNNEL_IFINDEX: u32 = 10;
/// Holding time used by the seed 003 examples (`ip nhrp holdtime 300`).
pub const SEED_HOLDTIME: Duration = Duration::from_secs(300);

/// A hub interface: `ip nhrp map multicast dynamic`, holdtime 300, no
/// max-send limit (a hub serves many spokes), no NHS.
pub fn hub_iface(tunnel: Ipv4Addr, nbma: Ipv4Addr, lan: Prefix) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(TUNNEL_IFINDEX, "Tunnel0", tunnel, 24, nbma);
    c.holdtime = SEED_HOLDTIME;
    c.multicast = vec![MulticastMap::Dynamic];
    c.local_networks = vec![lan];
    c.max_send = None;
    c
}

/// A spoke interface registering with the given NHSs (`ip nhrp map P N`,
/// `ip nhrp nhs P`, in priority order), holdtime 300.
pub fn spoke_iface(
    tunnel: Ipv4Addr,
    nbma: Ipv4Addr,
    lan: Prefix,
    nhs: &[(Ipv4Addr, Ipv4Addr)],
) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(TUNNEL_IFINDEX, "Tunnel0", tunnel, 24, nbma);
    c.holdtime = SEED_HOLDTIME;
    c.local_networks = vec![lan];
    for (prio, (p, n)) in nhs.iter().enumerate() {
        c.static_maps.push(StaticMap {
            protocol: dmvpn_nhrp::Prefix::host(*p),
            nbma: *n,
        });
        c.nhs.push(NhsConfig {
            protocol: *p,
            nbma: None,
            priority: u8::try_from(prio).unwrap_or(u8::MAX),
        });
    }
    c
}

/// A simulated DMVPN of real engines.
pub struct Lab {
    sim: Sim<EngineNode>,
    seed: u64,
    configs: Vec<EngineConfig>,
}

impl Deref for Lab {
    type Target = Sim<EngineNode>;
    fn deref(&self) -> &Self::Target {
        &self.sim
    }
}

impl DerefMut for Lab {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.sim
    }
}

impl Lab {
    /// An empty lab; all randomness (links, engine Request IDs) derives
    /// from `seed`.
    pub fn new(seed: u64) -> Self {
        Lab {
            sim: Sim::new(seed),
            seed,
            configs: Vec::new(),
        }
    }

    fn node_seed(&self, id: NodeId, generation: u64) -> u64 {
        self.seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((id as u64) << 16)
            .wrapping_add(generation)
    }

    /// Add a router whose tunnel interface is `iface`; its LANs
    /// (`local_networks`) become local routes of its data plane.
    pub fn add(&mut self, name: &str, iface: InterfaceConfig) -> Result<NodeId, EngineError> {
        let nbma = iface.nbma_addr;
        let lans: Vec<Prefix> = iface.local_networks.clone();
        // The data plane's tables as the daemon fills them from the configuration: the
        // tunnel address, `ip nhrp map` host mappings, and the NHSs (by priority) through
        // which unresolved traffic goes.
        let tunnel = (iface.protocol_addr, iface.prefix_len);
        let maps: Vec<(Ipv4Addr, Ipv4Addr)> = iface
            .static_maps
            .iter()
            .filter(|m| m.protocol.is_host())
            .map(|m| (m.protocol.addr(), m.nbma))
            .chain(
                iface
                    .nhs
                    .iter()
                    .filter_map(|n| n.nbma.map(|nbma| (n.protocol, nbma))),
            )
            .collect();
        let mut nhs: Vec<_> = iface.nhs.iter().map(|n| (n.priority, n.protocol)).collect();
        nhs.sort();
        let relays: Vec<Ipv4Addr> = nhs.into_iter().map(|(_, p)| p).collect();
        let config = EngineConfig {
            interfaces: vec![iface],
        };
        let id = self.sim.node_count();
        let node = EngineNode::new(config.clone(), self.node_seed(id, 0))?;
        self.configs.push(config);
        let id = self.sim.add_node(name, nbma, node);
        if let Some(dp) = self.sim.dataplane_mut(id) {
            dp.set_tunnel_address(tunnel.0, tunnel.1);
            for (proto, nbma) in maps {
                dp.add_static_mapping(proto, nbma);
            }
            dp.set_relays(relays);
            for lan in lans {
                dp.add_route(lan, RouteVia::Local);
            }
        }
        Ok(id)
    }

    /// `prefix via next_hop` on `node` (data plane and engine).
    pub fn route(&mut self, node: NodeId, prefix: Prefix, next_hop: Ipv4Addr) {
        self.sim.set_tunnel_route(node, prefix, Some(next_hop));
    }

    /// Restart `node` with a fresh engine built from its configuration
    /// (with the NBMA address it has now), re-installing its routes.
    pub fn restart(&mut self, node: NodeId) -> Result<(), EngineError> {
        let Some(mut config) = self.configs.get(node).cloned() else {
            return Ok(());
        };
        if let (Some(iface), Some(nbma)) = (config.interfaces.first_mut(), self.sim.nbma(node)) {
            iface.nbma_addr = nbma;
        }
        let generation = self.sim.trace().len();
        let fresh = EngineNode::new(config, self.node_seed(node, generation))?;
        self.sim.restart(node, fresh);
        let routes: Vec<(Prefix, Ipv4Addr)> = self
            .sim
            .dataplane(node)
            .map(|dp| {
                dp.routes()
                    .iter()
                    .filter_map(|(p, v)| match v {
                        RouteVia::Tunnel(nh) => Some((*p, *nh)),
                        RouteVia::Local => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (p, nh) in routes {
            self.sim.set_tunnel_route(node, p, Some(nh));
        }
        Ok(())
    }

    /// Orderly stop of `node`: its engine purges its own registrations
    /// (`Engine::shutdown`), the packets leave, then the node goes down.
    pub fn shutdown(&mut self, node: NodeId) {
        let now = crate::engine_node::to_instant(self.sim.now());
        if let Some(n) = self.sim.node_mut(node) {
            n.engine_mut().shutdown(now);
        }
        self.sim.pump(node);
        self.sim.kill(node);
    }

    /// Replace a node's configuration now (e.g. fix its authentication key).
    pub fn reconfigure(&mut self, node: NodeId, iface: InterfaceConfig) -> Result<(), EngineError> {
        let config = EngineConfig {
            interfaces: vec![iface],
        };
        let now = crate::engine_node::to_instant(self.sim.now());
        if let Some(n) = self.sim.node_mut(node) {
            n.engine_mut().update_config(now, config.clone())?;
        }
        if let Some(c) = self.configs.get_mut(node) {
            *c = config;
        }
        self.sim.pump(node);
        Ok(())
    }

    /// `show ip nhrp` of a node.
    pub fn cache(&self, node: NodeId) -> Vec<CacheEntryView> {
        self.sim
            .node(node)
            .map(|n| n.engine().cache_entries(None))
            .unwrap_or_default()
    }

    /// The most specific cache entry of `node` covering `proto`.
    pub fn entry(&self, node: NodeId, proto: Ipv4Addr) -> Option<CacheEntryView> {
        self.cache(node)
            .into_iter()
            .filter(|e| e.prefix.contains(proto))
            .max_by_key(|e| e.prefix.len())
    }

    /// The state of `node`'s NHS `nhs` (tunnel address).
    pub fn nhs_state(&self, node: NodeId, nhs: Ipv4Addr) -> Option<NhsState> {
        self.sim
            .node(node)?
            .engine()
            .nhs_status(None)
            .into_iter()
            .find(|v| v.protocol == nhs)
            .map(|v| v.state)
    }

    /// Installed shortcuts of a node.
    pub fn shortcuts(&self, node: NodeId) -> Vec<ShortcutView> {
        self.sim
            .node(node)
            .map(|n| n.engine().shortcuts(None))
            .unwrap_or_default()
    }

    /// Events a node emitted, with their virtual time.
    pub fn events(&self, node: NodeId) -> &[(Duration, Event)] {
        self.sim.node(node).map(|n| n.events()).unwrap_or(&[])
    }

    /// Whether `node` has emitted an event matching `pred`.
    pub fn saw(&self, node: NodeId, pred: impl Fn(&Event) -> bool) -> bool {
        self.events(node).iter().any(|(_, e)| pred(e))
    }

    /// Whether every NHS of `node` is UP.
    pub fn registered(&self, node: NodeId) -> bool {
        self.sim.node(node).is_some_and(|n| {
            let v = n.engine().nhs_status(None);
            !v.is_empty() && v.iter().all(|s| s.state == NhsState::Up)
        })
    }
}

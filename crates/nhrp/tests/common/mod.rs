//! A tiny deterministic network of engines for the engine's own tests (the big scenarios live
//! in `dmvpn-sim`): delivery with fixed latency, optional loss filter, NAT (a node's public
//! address differs from the NBMA it claims), automatic protection, and an action log.
#![allow(dead_code)]

use dmvpn_nhrp::{
    Action, Engine, EngineConfig, Event, Instant, InterfaceConfig, Message, NhsConfig, PacketType,
    Prefix, StaticMap,
};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

pub const IF: u32 = 1;

pub fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

pub const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
pub const HUB_PROTO: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

pub fn hub_cfg() -> InterfaceConfig {
    let mut c = InterfaceConfig::new(IF, "Tunnel0", HUB_PROTO, 24, HUB_NBMA);
    c.holdtime = Duration::from_secs(300);
    c.multicast.push(dmvpn_nhrp::MulticastMap::Dynamic);
    c
}

/// Spoke `n` (2, 3, ...): tunnel 10.0.0.n, NBMA 172.16.n.1, LAN 192.168.n.0/24.
pub fn spoke_cfg(n: u8) -> InterfaceConfig {
    let mut c = InterfaceConfig::new(IF, "Tunnel0", ip(10, 0, 0, n), 24, ip(172, 16, n, 1));
    c.holdtime = Duration::from_secs(300);
    c.nhs.push(NhsConfig {
        protocol: HUB_PROTO,
        nbma: None,
        priority: 0,
    });
    c.static_maps.push(StaticMap {
        protocol: Prefix::host(HUB_PROTO),
        nbma: HUB_NBMA,
    });
    c.local_networks
        .push(Prefix::new(ip(192, 168, n, 0), 24).unwrap());
    c
}

pub fn spoke_lan(n: u8) -> Prefix {
    Prefix::new(ip(192, 168, n, 0), 24).unwrap()
}

/// An IPv4 packet header from `src` to `dst` (enough for a Traffic Indication payload).
pub fn ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0]);
    p
}

pub struct Node {
    pub engine: Engine,
    /// The NBMA address the node claims (its tunnel source).
    pub nbma: Ipv4Addr,
    /// The address others see as the outer source (differs behind NAT).
    pub public: Ipv4Addr,
    /// Every action the node emitted, with the time.
    pub log: Vec<(Instant, Action)>,
    /// Answer ProtectionNeeded with handle_protection(up) automatically.
    pub auto_protect: bool,
    /// The node is switched off: it neither receives nor runs timers.
    pub down: bool,
}

pub struct Packet {
    pub at: Instant,
    pub from: usize,
    pub to: Option<usize>,
    pub to_nbma: Ipv4Addr,
    pub msg: Option<Message>,
    pub bytes: Vec<u8>,
}

pub struct Net {
    pub nodes: Vec<Node>,
    pub now: Instant,
    pub latency: Duration,
    queue: BTreeMap<(Instant, u64), (usize, Ipv4Addr, Vec<u8>)>,
    seq: u64,
    /// Return false to lose a packet.
    pub filter: Box<dyn FnMut(&Packet) -> bool>,
    /// Every packet sent.
    pub wire: Vec<Packet>,
}

impl Net {
    pub fn new() -> Self {
        Net {
            nodes: Vec::new(),
            now: Instant::ZERO,
            latency: Duration::from_millis(10),
            queue: BTreeMap::new(),
            seq: 0,
            filter: Box::new(|_| true),
            wire: Vec::new(),
        }
    }

    pub fn add(&mut self, cfg: InterfaceConfig) -> usize {
        self.add_seeded(cfg, self.nodes.len() as u64 + 1)
    }

    pub fn add_seeded(&mut self, cfg: InterfaceConfig, seed: u64) -> usize {
        let nbma = cfg.nbma_addr;
        let engine = Engine::new(
            EngineConfig {
                interfaces: vec![cfg],
            },
            seed,
        )
        .expect("valid config");
        self.nodes.push(Node {
            engine,
            nbma,
            public: nbma,
            log: Vec::new(),
            auto_protect: true,
            down: false,
        });
        self.nodes.len() - 1
    }

    fn node_by_addr(&self, a: Ipv4Addr) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.public == a)
            .or_else(|| self.nodes.iter().position(|n| n.nbma == a))
    }

    /// Drain every node's actions, queueing packets.
    pub fn drain(&mut self) {
        loop {
            let mut any = false;
            for k in 0..self.nodes.len() {
                while let Some(a) = self.nodes[k].engine.poll_action() {
                    any = true;
                    self.nodes[k].log.push((self.now, a.clone()));
                    match a {
                        Action::Send { to_nbma, bytes, .. } => {
                            let to = self.node_by_addr(to_nbma);
                            let msg = dmvpn_nhrp::codec::decode(&bytes).ok();
                            let p = Packet {
                                at: self.now,
                                from: k,
                                to,
                                to_nbma,
                                msg,
                                bytes: bytes.clone(),
                            };
                            let pass = (self.filter)(&p);
                            self.wire.push(p);
                            if let (true, Some(t)) = (pass, to) {
                                self.seq += 1;
                                let src = self.nodes[k].public;
                                self.queue
                                    .insert((self.now + self.latency, self.seq), (t, src, bytes));
                            }
                        }
                        Action::ProtectionNeeded { nbma, .. } if self.nodes[k].auto_protect => {
                            let now = self.now;
                            self.nodes[k].engine.handle_protection(now, nbma, true);
                        }
                        _ => {}
                    }
                }
            }
            if !any {
                break;
            }
        }
    }

    /// Advance virtual time to `deadline`, delivering packets and firing timers in order.
    pub fn run_until(&mut self, deadline: Instant) {
        for _ in 0..2_000_000 {
            self.drain();
            let next_pkt = self.queue.keys().next().map(|(t, _)| *t);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| !n.down)
                .filter_map(|n| n.engine.poll_timeout())
                .min();
            let next = match (next_pkt, next_timer) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let Some(next) = next.filter(|t| *t <= deadline) else {
                self.now = self.now.max(deadline);
                return;
            };
            self.now = self.now.max(next);
            if next_pkt == Some(next) {
                let key = *self.queue.keys().next().expect("non-empty");
                let (to, src, bytes) = self.queue.remove(&key).expect("present");
                if !self.nodes[to].down {
                    let now = self.now;
                    self.nodes[to].engine.handle_packet(now, IF, src, &bytes);
                }
            } else {
                let now = self.now;
                for n in self.nodes.iter_mut().filter(|n| !n.down) {
                    if n.engine.poll_timeout().is_some_and(|t| t <= now) {
                        n.engine.handle_timeout(now);
                    }
                }
            }
        }
        panic!("livelock: too many steps before {deadline}");
    }

    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Events of node `k`.
    pub fn events(&self, k: usize) -> Vec<Event> {
        self.nodes[k]
            .log
            .iter()
            .filter_map(|(_, a)| {
                if let Action::Event(e) = a {
                    Some(e.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    /// Actions of node `k` (excluding events and sends).
    pub fn effects(&self, k: usize) -> Vec<Action> {
        self.nodes[k]
            .log
            .iter()
            .filter(|(_, a)| !matches!(a, Action::Event(_) | Action::Send { .. }))
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// Packets of a type sent by node `k`, with their time.
    pub fn sent(&self, k: usize, t: PacketType) -> Vec<&Packet> {
        self.wire
            .iter()
            .filter(|p| p.from == k && p.msg.as_ref().is_some_and(|m| m.ptype == t))
            .collect()
    }

    pub fn traffic(&mut self, k: usize, dst: Ipv4Addr) -> dmvpn_nhrp::Lookup {
        let now = self.now;
        let l = self.nodes[k].engine.handle_traffic(now, IF, dst);
        self.drain();
        l
    }

    pub fn entry(&self, k: usize, p: Prefix) -> Option<dmvpn_nhrp::CacheEntryView> {
        self.nodes[k]
            .engine
            .cache_entries(Some(IF))
            .into_iter()
            .find(|e| e.prefix == p)
    }

    /// Inject raw bytes into node `k` as if sent from `from`.
    pub fn inject(&mut self, k: usize, from: Ipv4Addr, bytes: &[u8]) {
        let now = self.now;
        self.nodes[k].engine.handle_packet(now, IF, from, bytes);
        self.drain();
    }
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn at(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// Hub + spokes 2..=n, registered.
pub fn hub_and_spokes(n: u8) -> Net {
    let mut net = Net::new();
    net.add(hub_cfg());
    for s in 2..=n {
        net.add(spoke_cfg(s));
    }
    net.run_for(secs(2));
    net
}

//! A tiny in-memory network for engine tests: nodes running real engines, datagrams moved
//! between them with a fixed latency, optional loss, duplication and reordering from a
//! seeded generator, and an optional NAT in front of one node. Virtual time only.

#![allow(dead_code)]

use dmvpn_crypto::{Random, SeededRandom};
use dmvpn_ike::{
    Authenticator, ChildSa, IkeConfig, IkeEngine, IkeEvent, Keyring, KeyringEntry, Output,
};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// What a node did, in output order (for ordering assertions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rec {
    Install(u32),
    Delete(u32),
    Up(Ipv4Addr),
    Down(Ipv4Addr),
}

pub struct Node {
    pub engine: IkeEngine,
    /// The node's own address (private when behind the NAT).
    pub addr: Ipv4Addr,
    pub installed: BTreeMap<u32, ChildSa>,
    pub log: Vec<Rec>,
    pub events: Vec<IkeEvent>,
    pub sent: usize,
    pub keepalives: usize,
}

/// A NAT in front of one node: its private address is rewritten to `public`, and its ports
/// to `port_base + port`.
#[derive(Clone, Copy, Debug)]
pub struct Nat {
    pub node: usize,
    pub public: Ipv4Addr,
    pub port_base: u16,
}

struct Packet {
    at: Duration,
    to: usize,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    bytes: Vec<u8>,
}

pub struct Net {
    pub now: Duration,
    pub nodes: Vec<Node>,
    pub latency: Duration,
    /// Loss, duplication and reordering probabilities, per mille.
    pub loss: u32,
    pub dup: u32,
    pub reorder: u32,
    pub nat: Option<Nat>,
    /// Drop everything sent to or from this node (a dead peer).
    pub blackhole: Option<usize>,
    rng: SeededRandom,
    flight: Vec<Packet>,
    pub delivered: usize,
}

pub const PSK: &[u8] = b"cisco123";

pub fn addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, u8::try_from(i + 1).unwrap())
}

pub fn psk_config(key: &[u8]) -> IkeConfig {
    let mut k = Keyring::default();
    k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, key).unwrap());
    IkeConfig::new(Authenticator::Psk(k))
}

impl Net {
    pub fn new(seed: u64, configs: Vec<IkeConfig>) -> Net {
        let nodes = configs
            .into_iter()
            .enumerate()
            .map(|(i, c)| Node::new(addr(i), c, seed * 1000 + i as u64))
            .collect();
        Net {
            now: Duration::ZERO,
            nodes,
            latency: Duration::from_millis(10),
            loss: 0,
            dup: 0,
            reorder: 0,
            nat: None,
            blackhole: None,
            rng: SeededRandom::new(seed),
            flight: Vec::new(),
            delivered: 0,
        }
    }

    /// Two nodes with the same PSK and `cfg` tweaks.
    pub fn pair(seed: u64, tweak: impl Fn(&mut IkeConfig)) -> Net {
        let mut a = psk_config(PSK);
        let mut b = psk_config(PSK);
        tweak(&mut a);
        tweak(&mut b);
        Net::new(seed, vec![a, b])
    }

    /// Restart node `i` with a fresh engine (all SAs forgotten).
    pub fn restart(&mut self, i: usize, cfg: IkeConfig, seed: u64) {
        let a = self.nodes[i].addr;
        self.nodes[i] = Node::new(a, cfg, seed);
    }

    /// The address node `i` is reached at by others.
    pub fn public(&self, i: usize) -> Ipv4Addr {
        match self.nat {
            Some(n) if n.node == i => n.public,
            _ => self.nodes[i].addr,
        }
    }

    fn chance(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.rng.next_u32() % 1000 < per_mille
    }

    /// Drain node `i`'s outputs.
    pub fn drain(&mut self, i: usize) {
        while let Some(o) = self.nodes[i].engine.poll_output() {
            match o {
                Output::Send {
                    local,
                    remote,
                    bytes,
                } => {
                    self.nodes[i].sent += 1;
                    if bytes == [0xFF] {
                        self.nodes[i].keepalives += 1;
                    }
                    self.route(i, local, remote, bytes);
                }
                Output::InstallChild(c) => {
                    self.nodes[i].log.push(Rec::Install(c.spi_in));
                    self.nodes[i].installed.insert(c.spi_in, c);
                }
                Output::DeleteChild { spi_in, .. } => {
                    self.nodes[i].log.push(Rec::Delete(spi_in));
                    self.nodes[i].installed.remove(&spi_in);
                }
                Output::ProtectionUp { peer } => self.nodes[i].log.push(Rec::Up(peer)),
                Output::ProtectionDown { peer } => self.nodes[i].log.push(Rec::Down(peer)),
                Output::Event(e) => self.nodes[i].events.push(e),
            }
        }
    }

    fn route(&mut self, from: usize, local: SocketAddrV4, remote: SocketAddrV4, bytes: Vec<u8>) {
        if self.blackhole == Some(from) {
            return;
        }
        assert_eq!(
            *local.ip(),
            self.nodes[from].addr,
            "sent from a foreign address"
        );
        let mut src = local;
        if let Some(n) = self.nat
            && n.node == from
        {
            src = SocketAddrV4::new(n.public, n.port_base + local.port());
        }
        let (to, dst) = match self.nat {
            Some(n) if *remote.ip() == n.public => {
                let port = remote.port().wrapping_sub(n.port_base);
                (n.node, SocketAddrV4::new(self.nodes[n.node].addr, port))
            }
            _ => match self.nodes.iter().position(|x| x.addr == *remote.ip()) {
                Some(t) => (t, remote),
                None => return,
            },
        };
        if self.blackhole == Some(to) || self.chance(self.loss) {
            return;
        }
        let mut at = self.now + self.latency;
        if self.chance(self.reorder) {
            at += Duration::from_millis(u64::from(self.rng.next_u32() % 50));
        }
        if self.chance(self.dup) {
            self.flight.push(Packet {
                at: at + Duration::from_millis(1),
                to,
                local: dst,
                remote: src,
                bytes: bytes.clone(),
            });
        }
        self.flight.push(Packet {
            at,
            to,
            local: dst,
            remote: src,
            bytes,
        });
    }

    /// Run the network until `end` (absolute virtual time).
    pub fn run_until(&mut self, end: Duration) {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
        loop {
            let next_pkt = self.flight.iter().map(|p| p.at).min();
            let next_timer = self
                .nodes
                .iter()
                .filter_map(|n| n.engine.poll_timeout())
                .min();
            let next = match (next_pkt, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if next_pkt == Some(next) {
                let idx = self.flight.iter().position(|p| p.at == next).unwrap();
                let p = self.flight.remove(idx);
                self.delivered += 1;
                let now = self.now;
                self.nodes[p.to]
                    .engine
                    .handle_datagram(now, p.local, p.remote, &p.bytes);
                self.drain(p.to);
            } else {
                for i in 0..self.nodes.len() {
                    if self.nodes[i]
                        .engine
                        .poll_timeout()
                        .is_some_and(|t| t <= next)
                    {
                        let now = self.now;
                        self.nodes[i].engine.handle_timeout(now);
                        self.drain(i);
                    }
                }
            }
        }
        self.now = self.now.max(end);
    }

    /// Run for `d` from now.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// Node `i` asks for protection to node `j`.
    pub fn protect(&mut self, i: usize, j: usize) {
        let (local, peer, now) = (self.nodes[i].addr, self.public(j), self.now);
        self.nodes[i].engine.protect(now, local, peer);
        self.drain(i);
    }

    pub fn protected(&self, i: usize, j: usize) -> bool {
        self.nodes[i].engine.is_protected(self.public(j))
    }

    pub fn has_event(&self, i: usize, f: impl Fn(&IkeEvent) -> bool) -> bool {
        self.nodes[i].events.iter().any(f)
    }

    /// Every installed Child SA of `i` has its mirror on `j` with the same keys crosswise.
    pub fn assert_keys_match(&self, i: usize, j: usize) {
        let (a, b) = (&self.nodes[i], &self.nodes[j]);
        assert!(!a.installed.is_empty(), "no Child SA on node {i}");
        assert_eq!(a.installed.len(), b.installed.len(), "child counts differ");
        for c in a.installed.values() {
            let m = b
                .installed
                .get(&c.spi_out)
                .unwrap_or_else(|| panic!("no mirror for {:#x}", c.spi_out));
            assert_eq!(m.spi_out, c.spi_in);
            assert!(c.enc_key_out.ct_eq(&m.enc_key_in));
            assert!(c.enc_key_in.ct_eq(&m.enc_key_out));
            assert!(c.integ_key_out.ct_eq(&m.integ_key_in));
            assert!(c.integ_key_in.ct_eq(&m.integ_key_out));
            assert!(!c.enc_key_in.ct_eq(&c.enc_key_out));
            assert_eq!(c.encryption, m.encryption);
            assert_eq!(c.integrity, m.integrity);
            assert_eq!(c.mode, m.mode);
            assert_eq!(c.esn, m.esn);
        }
    }

    /// Established IKE SAs of node `i`.
    pub fn established(&self, i: usize) -> usize {
        self.nodes[i]
            .engine
            .sas()
            .iter()
            .filter(|s| s.state == dmvpn_ike::SaState::Established)
            .count()
    }
}

impl Node {
    pub fn new(addr: Ipv4Addr, cfg: IkeConfig, seed: u64) -> Node {
        Node {
            engine: IkeEngine::new(cfg, Box::new(SeededRandom::new(seed))).unwrap(),
            addr,
            installed: BTreeMap::new(),
            log: Vec::new(),
            events: Vec::new(),
            sent: 0,
            keepalives: 0,
        }
    }
}

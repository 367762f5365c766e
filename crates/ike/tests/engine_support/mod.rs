//! A tiny in-memory network for engine tests: nodes running real engines, datagrams moved
//! between them with a fixed latency, optional loss, duplication and reordering from a
//! seeded generator, and an optional NAT in front of one node. Virtual time only.
//!
//! Each node also has a userspace ESP data plane ([`dmvpn_esp::EspProtection`]) fed with
//! the engine's `InstallChild`/`DeleteChild`, so tests can send GRE through real ESP over
//! the same lossy network ([`Net::send_gre`]) or check keys end to end ([`Net::ping`]).
//! ESP arriving with an unknown SPI is reported to the receiving engine as
//! `EspEvent::InvalidSpi`, as the daemon does.

#![allow(dead_code)]

use dmvpn_crypto::{Random, SeededRandom};
use dmvpn_esp::{EspProtection, LifetimeLimits, SaPair, SaSpec};
use dmvpn_forwarding::buf::PacketBuf;
use dmvpn_forwarding::transport::{Protection, ProtectionError, Underlay};
use dmvpn_ike::{
    Authenticator, ChildSa, EspEvent, IkeConfig, IkeEngine, IkeEvent, Keyring, KeyringEntry,
    NATT_PORT, Output,
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
    /// The node's ESP data plane, kept in step with `InstallChild`/`DeleteChild`.
    pub esp: EspProtection,
    /// Every Child SA ever installed: inbound SPI → peer (never forgotten).
    pub peer_of: BTreeMap<u32, Ipv4Addr>,
    /// Data-plane installs that failed (should stay empty).
    pub esp_errors: Vec<String>,
    /// GRE received over the network: (outer source, payload, came in ESP).
    pub gre_rx: Vec<(Ipv4Addr, Vec<u8>, bool)>,
    /// Data-plane events taken after each ESP delivery.
    pub esp_events: Vec<dmvpn_esp::EspEvent>,
}

/// A NAT in front of one node: its private address is rewritten to `public`, and its ports
/// to `port_base + port`.
#[derive(Clone, Copy, Debug)]
pub struct Nat {
    pub node: usize,
    pub public: Ipv4Addr,
    pub port_base: u16,
}

/// What a datagram in flight carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ike,
    /// GRE, plain or in ESP (IP protocol 50 or UDP 4500).
    Data(Underlay),
}

struct Packet {
    at: Duration,
    to: usize,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    bytes: Vec<u8>,
    kind: Kind,
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
    /// Per directed link (from, to): loss per mille instead of `loss`.
    pub link_loss: BTreeMap<(usize, usize), u32>,
    /// Report ESP with an unknown SPI to the receiving engine (as the daemon does).
    pub feed_invalid_spi: bool,
    /// When set, every output and every datagram lost is recorded in `trace` with its
    /// time and node, for debugging a failing scenario.
    pub tracing: bool,
    pub trace: Vec<String>,
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
            link_loss: BTreeMap::new(),
            feed_invalid_spi: true,
            tracing: false,
            trace: Vec::new(),
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
            if self.tracing {
                let line = match &o {
                    Output::Send { remote, bytes, .. } => {
                        format!("send to {} {}", remote.ip(), ike_summary(bytes))
                    }
                    o => format!("{o:?}"),
                };
                self.trace.push(format!("{:?} node {i}: {line}", self.now));
            }
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
                    self.route(i, local, remote, bytes, Kind::Ike);
                }
                Output::InstallChild(c) => {
                    let n = &mut self.nodes[i];
                    n.log.push(Rec::Install(c.spi_in));
                    n.peer_of.insert(c.spi_in, c.peer);
                    let installed = SaPair::new(&esp_spec(&c), self.now)
                        .map_err(|e| e.to_string())
                        .and_then(|p| {
                            // As the daemon does: a rekey responder's pair waits for the
                            // peer before carrying outbound traffic.
                            if c.defer_outbound {
                                n.esp.install_deferred(p)
                            } else {
                                n.esp.install(p)
                            }
                            .map_err(|e| e.to_string())
                        });
                    if let Err(e) = installed {
                        n.esp_errors.push(e);
                    }
                    n.installed.insert(c.spi_in, c);
                }
                Output::DeleteChild { spi_in, .. } => {
                    self.nodes[i].log.push(Rec::Delete(spi_in));
                    self.nodes[i].installed.remove(&spi_in);
                    self.nodes[i].esp.remove_spi(spi_in);
                }
                Output::ProtectionUp { peer } => self.nodes[i].log.push(Rec::Up(peer)),
                Output::ProtectionDown { peer } => self.nodes[i].log.push(Rec::Down(peer)),
                Output::Event(e) => self.nodes[i].events.push(e),
            }
        }
    }

    fn route(
        &mut self,
        from: usize,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        bytes: Vec<u8>,
        kind: Kind,
    ) {
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
        let loss = self
            .link_loss
            .get(&(from, to))
            .copied()
            .unwrap_or(self.loss);
        if self.blackhole == Some(to) || self.chance(loss) {
            if self.tracing {
                let what = match kind {
                    Kind::Ike => ike_summary(&bytes),
                    Kind::Data(u) => format!("{u:?}"),
                };
                let line = format!("{:?} node {from}: lost to {} {what}", self.now, remote.ip());
                self.trace.push(line);
            }
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
                kind,
            });
        }
        self.flight.push(Packet {
            at,
            to,
            local: dst,
            remote: src,
            bytes,
            kind,
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
                self.deliver(p);
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

    fn deliver(&mut self, p: Packet) {
        let now = self.now;
        match p.kind {
            Kind::Ike => {
                self.nodes[p.to]
                    .engine
                    .handle_datagram(now, p.local, p.remote, &p.bytes);
            }
            Kind::Data(u) => {
                let src = *p.remote.ip();
                let feed = self.feed_invalid_spi;
                let n = &mut self.nodes[p.to];
                let mut b = buf(&p.bytes);
                if n.esp.unprotect(src, u, &mut b).is_ok() {
                    n.gre_rx
                        .push((src, b.as_slice().to_vec(), u != Underlay::Gre));
                }
                for e in n.esp.take_events() {
                    n.esp_events.push(e);
                    if let (true, dmvpn_esp::EspEvent::InvalidSpi { peer, local, spi }) = (feed, e)
                    {
                        let ev = EspEvent::InvalidSpi { peer, local, spi };
                        n.engine.handle_esp_event(now, ev);
                    }
                }
            }
        }
        self.drain(p.to);
    }

    /// Node `i` sends a GRE packet to node `j` through its ESP data plane and the network
    /// (loss, reordering and NAT apply): ESP when an SA is installed, else cleartext GRE
    /// unless the data plane refuses. Returns the underlay used.
    pub fn send_gre(
        &mut self,
        i: usize,
        j: usize,
        payload: &[u8],
    ) -> Result<Underlay, ProtectionError> {
        let peer = self.public(j);
        let mut b = buf(payload);
        let u = self.nodes[i].esp.protect(peer, &mut b)?;
        let a = self.nodes[i].addr;
        let (local, remote) = match u {
            Underlay::NatT => (
                SocketAddrV4::new(a, NATT_PORT),
                SocketAddrV4::new(peer, self.nodes[i].esp.udp_port(peer)),
            ),
            _ => (SocketAddrV4::new(a, 0), SocketAddrV4::new(peer, 0)),
        };
        self.route(i, local, remote, b.as_slice().to_vec(), Kind::Data(u));
        Ok(u)
    }

    /// A GRE packet from `i` to `j` straight through both data planes (no network, no
    /// loss): Ok with the underlay when it left in ESP and `j` decrypted exactly what `i`
    /// sent. Data-plane events it causes are recorded, not fed to the engine.
    pub fn ping(&mut self, i: usize, j: usize) -> Result<Underlay, String> {
        let payload = gre_packet(i, j, self.now);
        let (to, from) = (self.public(j), self.public(i));
        let mut b = buf(&payload);
        let u = self.nodes[i]
            .esp
            .protect(to, &mut b)
            .map_err(|e| format!("{i}->{j}: protect: {e}"))?;
        if u == Underlay::Gre || b.as_slice() == payload.as_slice() {
            return Err(format!("{i}->{j}: sent in cleartext"));
        }
        let r = self.nodes[j].esp.unprotect(from, u, &mut b);
        let evs = self.nodes[j].esp.take_events();
        self.nodes[j].esp_events.extend(evs);
        r.map_err(|e| format!("{i}->{j}: unprotect: {e}"))?;
        if b.as_slice() != payload.as_slice() {
            return Err(format!("{i}->{j}: payload changed"));
        }
        Ok(u)
    }

    /// Datagrams in flight.
    pub fn in_flight(&self) -> usize {
        self.flight.len()
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

/// An IKE datagram's header in a few words, for traces: exchange, request or response,
/// message ID and the SPIs.
pub fn ike_summary(b: &[u8]) -> String {
    if b.len() < 28 {
        return format!("{} bytes", b.len());
    }
    let spi = |r: std::ops::Range<usize>| b[r].iter().fold(0u64, |a, x| a << 8 | u64::from(*x));
    let exchange = match b[18] {
        34 => "IKE_SA_INIT",
        35 => "IKE_AUTH",
        36 => "CREATE_CHILD_SA",
        37 => "INFORMATIONAL",
        _ => "?",
    };
    let kind = if b[19] & 0x20 != 0 { "resp" } else { "req" };
    let id = spi(20..24);
    format!("{exchange} {kind} #{id} {:x}/{:x}", spi(0..8), spi(8..16))
}

/// A GRE-like packet (GRE header, then an IPv4-looking body naming the nodes and time).
pub fn gre_packet(i: usize, j: usize, now: Duration) -> Vec<u8> {
    let mut p = vec![0x00, 0x00, 0x08, 0x00, 0x45, 0, 0, 28];
    p.extend_from_slice(&(i as u32).to_be_bytes());
    p.extend_from_slice(&(j as u32).to_be_bytes());
    p.extend_from_slice(&(now.as_millis() as u64).to_be_bytes());
    p
}

fn buf(data: &[u8]) -> PacketBuf {
    let mut b = PacketBuf::with_capacity(2048);
    b.set(data).unwrap();
    b
}

/// The data plane's spec of a Child SA from the engine (as the daemon builds it; limits
/// are left to the engine's timers).
pub fn esp_spec(c: &ChildSa) -> SaSpec {
    SaSpec {
        peer: c.peer,
        local: c.local,
        spi_in: c.spi_in,
        spi_out: c.spi_out,
        encryption: c.encryption,
        integrity: c.integrity,
        enc_key_in: c.enc_key_in.clone(),
        integ_key_in: c.integ_key_in.clone(),
        enc_key_out: c.enc_key_out.clone(),
        integ_key_out: c.integ_key_out.clone(),
        mode: match c.mode {
            dmvpn_ike::Mode::Transport => dmvpn_esp::Mode::Transport,
            dmvpn_ike::Mode::Tunnel => dmvpn_esp::Mode::Tunnel,
        },
        esn: c.esn,
        limits: LifetimeLimits::default(),
        replay_window: c
            .replay_window
            .clamp(dmvpn_esp::MIN_WINDOW, dmvpn_esp::MAX_WINDOW),
        nat_t: c.encap.map(|e| e.remote_port),
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
            esp: EspProtection::new(addr, Box::new(SeededRandom::new(seed ^ 0x5eed))),
            peer_of: BTreeMap::new(),
            esp_errors: Vec::new(),
            gre_rx: Vec::new(),
            esp_events: Vec::new(),
        }
    }
}

//! The [`IkeEngine`]: every IKE SA of the node, keyed by the peer's NBMA address; its inputs
//! (`handle_*`, [`IkeEngine::protect`], [`IkeEngine::release`], [`IkeEngine::clear`]),
//! outputs ([`IkeEngine::poll_output`], [`IkeEngine::poll_timeout`]) and show getters. The
//! exchanges live in `exchange/*` as `impl IkeEngine` blocks; sending, retransmission and
//! the request window in `send`; Child SA bookkeeping in `child`.
//!
//! Call contract (as the NHRP engine): every input carries `now`, a [`Duration`] since an
//! epoch the caller chooses; after each input drain [`IkeEngine::poll_output`], then arm a
//! timer for [`IkeEngine::poll_timeout`] and call [`IkeEngine::handle_timeout`] when it
//! passes (early or repeated calls are harmless). The engine reads no clock and draws all
//! randomness (SPIs, nonces, DH keys, IVs, jitter) from the [`Random`] it was given.

use crate::child::Child;
use crate::config::{ConfigError, IkeConfig};
use crate::cookie::CookieJar;
use crate::output::{ChildSaView, DownReason, EspEvent, IkeEvent, IkeSaView, Output};
use crate::sa::{IkeSa, Pending, Phase, Request, SaId};
use crate::timer::{TimerKey, Timers};
use dmvpn_crypto::Random;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// Outputs kept at most before the oldest are dropped (the caller drains after every input,
/// so this only bounds a caller that does not).
const MAX_OUTPUTS: usize = 65_536;

/// A peer NHRP wants protected.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted {
    pub(crate) local: Ipv4Addr,
    /// Delay before the next try after a failure.
    pub(crate) backoff: Duration,
}

/// The sans-IO IKEv2 engine of one node. See the module documentation for the call
/// contract.
pub struct IkeEngine {
    pub(crate) cfg: IkeConfig,
    pub(crate) rng: Box<dyn Random>,
    pub(crate) now: Duration,
    pub(crate) sas: BTreeMap<SaId, IkeSa>,
    /// Our SPI → SA.
    pub(crate) by_spi: HashMap<u64, SaId>,
    /// Responder SAs by (peer address, initiator SPI), to recognise a retransmitted
    /// IKE_SA_INIT.
    pub(crate) by_init: HashMap<(SocketAddrV4, u64), SaId>,
    /// Peer → its SAs.
    pub(crate) by_peer: BTreeMap<Ipv4Addr, BTreeSet<SaId>>,
    /// Child SAs by our inbound SPI.
    pub(crate) children: BTreeMap<u32, Child>,
    /// Peers for which ProtectionUp was emitted (and not yet ProtectionDown).
    pub(crate) protected: BTreeSet<Ipv4Addr>,
    pub(crate) wanted: BTreeMap<Ipv4Addr, Wanted>,
    pub(crate) timers: Timers,
    pub(crate) out: VecDeque<Output>,
    pub(crate) cookies: CookieJar,
    /// A counter ordering SA creation and establishment (SA ids come from it too).
    pub(crate) seq: u64,
}

impl fmt::Debug for IkeEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IkeEngine")
            .field("now", &self.now)
            .field("sas", &self.sas.len())
            .field("children", &self.children.len())
            .field("wanted", &self.wanted.len())
            .finish_non_exhaustive()
    }
}

impl IkeEngine {
    /// A new engine. Checks the configuration.
    pub fn new(config: IkeConfig, mut random: Box<dyn Random>) -> Result<Self, ConfigError> {
        config.validate()?;
        let cookies = CookieJar::new(random.as_mut());
        Ok(IkeEngine {
            cfg: config,
            rng: random,
            now: Duration::ZERO,
            sas: BTreeMap::new(),
            by_spi: HashMap::new(),
            by_init: HashMap::new(),
            by_peer: BTreeMap::new(),
            children: BTreeMap::new(),
            protected: BTreeSet::new(),
            wanted: BTreeMap::new(),
            timers: Timers::default(),
            out: VecDeque::new(),
            cookies,
            seq: 0,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &IkeConfig {
        &self.cfg
    }

    /// Replaces the configuration. SAs already negotiated keep their algorithms and
    /// lifetimes until their next rekey; new negotiations use the new settings.
    pub fn update_config(&mut self, now: Duration, config: IkeConfig) -> Result<(), ConfigError> {
        self.enter(now);
        config.validate()?;
        self.cfg = config;
        Ok(())
    }

    pub(crate) fn enter(&mut self, now: Duration) {
        if now > self.now {
            self.now = now;
        }
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn push(&mut self, o: Output) {
        if self.out.len() >= MAX_OUTPUTS {
            self.out.pop_front();
        }
        self.out.push_back(o);
    }

    pub(crate) fn event(&mut self, e: IkeEvent) {
        self.push(Output::Event(e));
    }

    // ---------------------------------------------------------------- inputs

    /// A UDP datagram arrived at `local` from `remote` (port 500, or 4500 with the
    /// non-ESP marker already removed by the caller; ESP on 4500 goes to the data plane).
    pub fn handle_datagram(
        &mut self,
        now: Duration,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        bytes: &[u8],
    ) {
        self.enter(now);
        self.receive(local, remote, bytes);
    }

    /// NHRP wants traffic to `peer` protected (its `ProtectionNeeded`); `local` is our
    /// NBMA address towards it. Starts an IKE SA unless one exists or is being negotiated;
    /// when protection is already up, [`Output::ProtectionUp`] is emitted again. Until
    /// [`IkeEngine::release`], a failed negotiation is retried with a growing delay.
    pub fn protect(&mut self, now: Duration, local: Ipv4Addr, peer: Ipv4Addr) {
        self.enter(now);
        let backoff = self.cfg.reconnect;
        if self.wanted.len() < self.cfg.limits.max_sas || self.wanted.contains_key(&peer) {
            self.wanted
                .entry(peer)
                .and_modify(|w| w.local = local)
                .or_insert(Wanted { local, backoff });
        }
        if self.protected.contains(&peer) {
            self.push(Output::ProtectionUp { peer });
            return;
        }
        match self.live_sa(peer) {
            None => self.initiate(local, peer, false),
            // An IKE SA whose Child SAs are gone (deleted by the peer, expired): ask for a
            // new one over it.
            Some(id) if self.sas.get(&id).is_some_and(|s| s.is_established()) => {
                if !self.children.values().any(|c| c.sa == id) {
                    let r = Request::RekeyChild(crate::exchange::create_child::NEW_CHILD);
                    self.request(id, r);
                }
            }
            Some(_) => {}
        }
    }

    /// The mapping to `peer` is gone: its SAs are deleted (Delete sent) and it is no
    /// longer retried.
    pub fn release(&mut self, now: Duration, peer: Ipv4Addr) {
        self.enter(now);
        self.wanted.remove(&peer);
        self.timers.cancel(TimerKey::Reconnect(peer));
        self.delete_peer(peer);
    }

    /// `clear crypto session [peer]`: delete the SAs of `peer` (or of every peer). Peers
    /// NHRP still wants are negotiated again after the reconnect delay (NHRP also asks
    /// again when it sees protection go down).
    pub fn clear(&mut self, now: Duration, peer: Option<Ipv4Addr>) {
        self.enter(now);
        let peers: Vec<Ipv4Addr> = match peer {
            Some(p) => vec![p],
            None => self.by_peer.keys().copied().collect(),
        };
        for p in peers {
            self.delete_peer(p);
        }
    }

    /// Rekey the IKE SA with `peer` now (administratively; lifetimes do it by themselves).
    pub fn rekey_ike(&mut self, now: Duration, peer: Ipv4Addr) {
        self.enter(now);
        if let Some(id) = self.live_sa(peer) {
            self.request(id, Request::RekeyIke);
        }
    }

    /// Timers: call at (or after) [`IkeEngine::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Duration) {
        self.enter(now);
        // Only what is due now: a handler that re-arms a timer at (or, saturated, before)
        // `now` is served on the next call, never in a loop here.
        let mut due = Vec::new();
        while let Some(key) = self.timers.pop_due(self.now) {
            due.push(key);
        }
        for key in due {
            if self.timers.get(&key).is_some() {
                continue; // re-armed by an earlier handler of this batch
            }
            match key {
                TimerKey::Retransmit(id) => self.on_retransmit(id),
                TimerKey::Negotiation(id) => self.on_negotiation_timeout(id),
                TimerKey::IkeRekey(id) => self.request(id, Request::RekeyIke),
                TimerKey::IkeExpire(id) => self.on_ike_expire(id),
                TimerKey::ChildRekey(spi) => self.on_child_soft(spi),
                TimerKey::ChildExpire(spi) => self.on_child_hard(spi, true),
                TimerKey::Dpd(id) => self.on_dpd_timer(id),
                TimerKey::Keepalive(id) => self.on_keepalive(id),
                TimerKey::Reconnect(peer) => self.on_reconnect(peer),
            }
        }
    }

    /// An event from the ESP data plane.
    pub fn handle_esp_event(&mut self, now: Duration, ev: EspEvent) {
        self.enter(now);
        match ev {
            EspEvent::SoftExpired { spi_in } => self.on_child_soft(spi_in),
            EspEvent::HardExpired { spi_in } => self.on_child_hard(spi_in, false),
            EspEvent::InvalidSpi { peer, local, .. } => self.on_invalid_spi(local, peer),
            EspEvent::DpdCheck { peer } => self.on_dpd_check(peer),
        }
    }

    // ---------------------------------------------------------------- outputs

    /// The next thing to do, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`IkeEngine::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next()
    }

    /// IKE SAs, for `show crypto ikev2 sa`.
    pub fn sas(&self) -> Vec<IkeSaView> {
        self.sas
            .values()
            .map(|sa| IkeSaView {
                local: sa.local,
                remote: sa.remote,
                spi_i: sa.spi_i,
                spi_r: sa.spi_r,
                initiator: sa.initiator,
                state: sa.state(),
                encryption: sa.suite.map(|s| s.enc),
                integrity: sa.suite.and_then(|s| s.integ),
                prf: sa.suite.map(|s| s.prf),
                dh_group: sa.suite.map(|s| s.dh),
                nat: sa.nat(),
                age: self
                    .now
                    .saturating_sub(sa.established.unwrap_or(sa.created)),
                lifetime: self.cfg.ike_lifetime,
                peer_id: sa.peer_id.map(|i| i.to_string()),
                children: self.children.values().filter(|c| c.sa == sa.id).count(),
            })
            .collect()
    }

    /// Child SAs, for `show crypto ipsec sa`.
    pub fn children(&self) -> Vec<ChildSaView> {
        self.children
            .values()
            .map(|c| ChildSaView {
                peer: c.peer,
                local: c.local,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
                encryption: c.suite.enc,
                integrity: c.suite.integ,
                mode: c.mode,
                esn: c.suite.esn,
                encap: c.encap.is_some(),
                age: self.now.saturating_sub(c.created),
                remaining: c.hard_at.saturating_sub(self.now),
                ike_spi: self.sas.get(&c.sa).map(IkeSa::our_spi).unwrap_or(0),
            })
            .collect()
    }

    /// Whether protection to `peer` is up (a Child SA is installed).
    pub fn is_protected(&self, peer: Ipv4Addr) -> bool {
        self.protected.contains(&peer)
    }

    // ---------------------------------------------------------------- tables

    /// The peer's SA that is established or negotiating (not being deleted), preferring an
    /// established one.
    pub(crate) fn live_sa(&self, peer: Ipv4Addr) -> Option<SaId> {
        let ids = self.by_peer.get(&peer)?;
        let live = |want_est: bool| {
            ids.iter().copied().find(|id| {
                self.sas.get(id).is_some_and(|sa| {
                    !matches!(sa.phase, Phase::Deleting) && (!want_est || sa.is_established())
                })
            })
        };
        live(true).or_else(|| live(false))
    }

    /// A fresh SPI of ours (non-zero, unused).
    pub(crate) fn new_ike_spi(&mut self) -> u64 {
        loop {
            let s = self.rng.next_u64();
            if s != 0 && !self.by_spi.contains_key(&s) {
                return s;
            }
        }
    }

    /// A fresh inbound ESP SPI (≥ 256, RFC 4303 §2.1; unused).
    pub(crate) fn new_esp_spi(&mut self) -> u32 {
        loop {
            let s = self.rng.next_u32();
            if s >= 256 && !self.children.contains_key(&s) {
                return s;
            }
        }
    }

    /// A fresh nonce (32 bytes: at least half the key size of every PRF we offer, §2.10).
    pub(crate) fn new_nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill(&mut n);
        n
    }

    /// Register a new SA in the tables.
    pub(crate) fn insert_sa(&mut self, sa: IkeSa) {
        let id = sa.id;
        let spi = sa.our_spi();
        if spi != 0 {
            self.by_spi.insert(spi, id);
        }
        self.by_peer.entry(sa.peer).or_default().insert(id);
        self.sas.insert(id, sa);
    }

    /// Drop an SA and everything that refers to it. Its Child SAs are deleted (data plane
    /// told, protection down when they were the peer's last); an event says why when the
    /// SA had been established or failed with a reason worth logging; a peer still wanted
    /// is retried later.
    pub(crate) fn remove_sa(&mut self, id: SaId, reason: DownReason) {
        let spis: Vec<u32> = self
            .children
            .values()
            .filter(|c| c.sa == id)
            .map(|c| c.spi_in)
            .collect();
        for s in spis {
            self.remove_child(s);
        }
        let Some(sa) = self.sas.remove(&id) else {
            return;
        };
        self.salvage_requests(&sa);
        self.by_spi.remove(&sa.spi_i);
        self.by_spi.remove(&sa.spi_r);
        if self.by_spi.get(&sa.our_spi()) == Some(&id) {
            self.by_spi.remove(&sa.our_spi());
        }
        self.by_init.retain(|_, v| *v != id);
        if let Some(set) = self.by_peer.get_mut(&sa.peer) {
            set.remove(&id);
            if set.is_empty() {
                self.by_peer.remove(&sa.peer);
            }
        }
        for k in [
            TimerKey::Retransmit(id),
            TimerKey::Negotiation(id),
            TimerKey::IkeRekey(id),
            TimerKey::IkeExpire(id),
            TimerKey::Dpd(id),
            TimerKey::Keepalive(id),
        ] {
            self.timers.cancel(k);
        }
        if !sa.superseded && (sa.established.is_some() || reason != DownReason::Local) {
            self.event(IkeEvent::SaDown {
                peer: sa.peer,
                spi: sa.our_spi(),
                reason,
            });
        }
        self.maybe_reconnect(sa.peer);
    }

    /// Requests of a removed IKE SA about Child SAs that live on under another IKE SA
    /// (moved there by an IKE rekey while the request waited or was out) go to that SA:
    /// a Delete of a replaced Child SA, or its rekey. Without this a rekey collision that
    /// deleted the SA carrying them left a redundant Child SA installed for good, or a
    /// Child SA marked as rekeying that never rekeyed again (found by the simulation
    /// tests). A Delete sent twice is harmless: the peer answers for SPIs it no longer has.
    fn salvage_requests(&mut self, sa: &IkeSa) {
        let mut reqs: Vec<Request> = sa.queue.iter().copied().collect();
        match sa.outstanding.as_ref().map(|o| &o.what) {
            Some(Pending::Delete {
                ike: false,
                children,
            }) => reqs.extend(children.iter().map(|s| Request::DeleteChild(*s))),
            Some(Pending::RekeyChild { old_spi, .. }) => {
                if let Some(c) = self.children.get_mut(old_spi) {
                    c.rekeying = false;
                }
                reqs.push(Request::RekeyChild(*old_spi));
            }
            _ => {}
        }
        for r in reqs {
            let (Request::DeleteChild(spi) | Request::RekeyChild(spi)) = r else {
                continue;
            };
            let to = self.children.get(&spi).map(|c| c.sa);
            if let Some(to) = to.filter(|t| *t != sa.id && self.sas.contains_key(t)) {
                self.request(to, r);
            }
        }
    }

    /// Schedule another try for a wanted peer left without a live SA.
    pub(crate) fn maybe_reconnect(&mut self, peer: Ipv4Addr) {
        if self.live_sa(peer).is_some() {
            return;
        }
        let Some(w) = self.wanted.get_mut(&peer) else {
            return;
        };
        let at = self.now.saturating_add(w.backoff);
        w.backoff = w.backoff.saturating_mul(2).min(self.cfg.reconnect_max);
        if self.timers.get(&TimerKey::Reconnect(peer)).is_none() {
            self.timers.set(TimerKey::Reconnect(peer), at);
        }
    }

    fn on_reconnect(&mut self, peer: Ipv4Addr) {
        let Some(w) = self.wanted.get(&peer).copied() else {
            return;
        };
        if self.live_sa(peer).is_none() {
            self.initiate(w.local, peer, false);
        }
    }

    /// Delete every SA with `peer`: established ones with a Delete exchange, negotiating
    /// ones silently.
    fn delete_peer(&mut self, peer: Ipv4Addr) {
        let ids: Vec<SaId> = self
            .by_peer
            .get(&peer)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for id in ids {
            self.begin_delete(id);
        }
    }

    /// Start deleting an SA: its Child SAs go at once; an established SA sends a Delete and
    /// is dropped when answered (or given up); one still negotiating is dropped now.
    pub(crate) fn begin_delete(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if !sa.is_established() {
            if matches!(sa.phase, Phase::Deleting) {
                return;
            }
            self.remove_sa(id, DownReason::Local);
            return;
        }
        let spis: Vec<u32> = self
            .children
            .values()
            .filter(|c| c.sa == id)
            .map(|c| c.spi_in)
            .collect();
        for s in spis {
            self.remove_child(s);
        }
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.phase = Phase::Deleting;
            sa.queue.clear();
            sa.queue.push_back(Request::DeleteIke);
        }
        for k in [
            TimerKey::IkeRekey(id),
            TimerKey::Dpd(id),
            TimerKey::Keepalive(id),
        ] {
            self.timers.cancel(k);
        }
        self.pump(id);
    }

    /// The hard lifetime ran out before a rekey replaced the SA: delete it (with a Delete
    /// to the peer); a wanted peer is negotiated again.
    fn on_ike_expire(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let (peer, spi) = (sa.peer, sa.our_spi());
        if sa.is_established() && !sa.superseded {
            self.event(IkeEvent::SaDown {
                peer,
                spi,
                reason: DownReason::Expired,
            });
            if let Some(sa) = self.sas.get_mut(&id) {
                sa.superseded = true;
            }
            self.begin_delete(id);
        } else {
            self.remove_sa(id, DownReason::Expired);
        }
    }

    /// The negotiation (or the post-failure grace period) ran out.
    fn on_negotiation_timeout(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if sa.is_established() {
            return;
        }
        let reason = if matches!(sa.phase, Phase::Deleting) {
            DownReason::Local
        } else {
            DownReason::Timeout
        };
        self.remove_sa(id, reason);
    }

    /// Total time a request is retransmitted before giving up.
    pub(crate) fn give_up_after(&self) -> Duration {
        let r = &self.cfg.retransmit;
        let mut wait = r.initial;
        let mut total = Duration::ZERO;
        for _ in 0..=r.max_retries {
            total += wait;
            wait = wait.saturating_mul(r.backoff);
        }
        total
    }

    /// Number of half-open (responder, before IKE_AUTH) SAs.
    pub(crate) fn half_open(&self) -> usize {
        self.sas.values().filter(|s| s.is_half_open()).count()
    }

    /// When to rekey an SA of lifetime `life`: a jittered `lo`–`hi` per mille of it, but
    /// leaving before the hard limit the time the first five tries of an exchange take
    /// (62 s with the default retransmissions), at most a third of the lifetime. With
    /// the shortest lifetimes (120 s) a plain 90–98 % left 2–18 s, so a rekey that lost a
    /// couple of datagrams ran into the hard limit and protection went down (found by
    /// the simulation tests); long lifetimes are unaffected. A deadline pulled earlier
    /// keeps its jitter.
    pub(crate) fn soft_deadline(&mut self, life: Duration, lo: u32, hi: u32) -> Duration {
        let soft = self.jitter(life, lo, hi);
        let r = &self.cfg.retransmit;
        let (mut room, mut wait) = (Duration::ZERO, r.initial);
        for _ in 0..5 {
            room = room.saturating_add(wait);
            wait = wait.saturating_mul(r.backoff);
        }
        let latest = life.saturating_sub(room.min(life / 3));
        if soft <= latest {
            soft
        } else {
            latest.saturating_sub(soft - latest)
        }
    }

    /// A uniformly drawn fraction in [lo, hi) per mille of `d` (lifetime jitter).
    pub(crate) fn jitter(&mut self, d: Duration, lo: u32, hi: u32) -> Duration {
        let span = hi.saturating_sub(lo).max(1);
        let pm = lo + self.rng.next_u32() % span;
        d.checked_mul(pm)
            .map_or_else(|| (d / 1000).saturating_mul(pm), |x| x / 1000)
    }
}

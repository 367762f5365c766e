//! [`EspProtection`]: the SA table of one tunnel behind
//! [`dmvpn_forwarding::transport::Protection`], failing closed.
//!
//! * **Table**: peer NBMA address → the active outbound SA; our SPI → inbound SA. Several
//!   inbound SAs per peer coexist during a rekey (make-before-break): [`EspProtection::install`]
//!   adds the new inbound SA first and only then switches the peer's outbound traffic to
//!   the new pair; the old pair stays (receiving) until [`EspProtection::remove_spi`]. When
//!   the active pair goes, the newest remaining pair of the peer takes over.
//! * **Policy**: a peer must be protected when it is listed with
//!   [`EspProtection::set_required`], when "protect all peers" is on (the tunnel-wide
//!   `tunnel protection`), or once it ever had an SA installed (so that an expired or
//!   deleted SA never lets GRE out in clear). Such a peer without an SA gets
//!   [`ProtectionError::NoSa`] (the packet waits, a negotiation is requested) and its
//!   cleartext GRE is refused.
//! * **Receive**: ESP (raw or in UDP 4500) is looked up by SPI; an unknown SPI is refused,
//!   counted, and reported once as [`EspEvent::InvalidSpi`] for the IKE layer. Replay and
//!   authentication failures are counted per SA and reported as events.
//! * **Time**: no clocks; [`EspProtection::poll_expired`] takes `now` and reports (and for
//!   hard limits removes) SAs past their lifetimes, sequence numbers or idle timeout.
//!
//! The hot path takes the table's read lock only to clone an `Arc` of the SA; sequence
//! numbers are atomics and the replay window has its own mutex.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use dmvpn_crypto::cipher::CBC_IV_LEN;
use dmvpn_crypto::{Encryption, Integrity, Random};
use dmvpn_forwarding::buf::PacketBuf;
use dmvpn_forwarding::transport::{Protection, ProtectionError, Underlay};
use thiserror::Error;

use crate::counters::{SaCounters, bump, get};
use crate::lifetime::{Lifetime, Usage};
use crate::replay::ReplayError;
use crate::sa::{EspError, Mode, SaPair};
use crate::wire::EspPacket;

/// Events kept between two polls before the oldest are dropped. Unknown-SPI events are
/// kept once per (peer, SPI): after a hub restarts, every spoke's next packet reports one
/// within about a second, and each one dropped leaves that spoke unprotected until its
/// next refresh, so the bound is sized for a large hub (10,000 spokes), not for the logs.
pub const MAX_EVENTS: usize = 16_384;

/// A notable ESP occurrence, for logs and for the IKE layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EspEvent {
    /// ESP arrived with an SPI we do not know (`%CRYPTO-4-RECVD_PKT_INV_SPI`): the peer
    /// may have restarted. Feed the IKE engine's `EspEvent::InvalidSpi`. Reported once
    /// until taken.
    InvalidSpi {
        /// Outer source.
        peer: Ipv4Addr,
        /// Our NBMA address.
        local: Ipv4Addr,
        /// The unknown SPI.
        spi: u32,
    },
    /// A replayed or too old packet (`%CRYPTO-4-PKT_REPLAY_ERR`).
    ReplayFailure {
        /// Peer.
        peer: Ipv4Addr,
        /// Our inbound SPI.
        spi: u32,
        /// The packet's full sequence number.
        sequence: u64,
    },
    /// A packet whose ICV did not verify (`%CRYPTO-4-RECVD_PKT_MAC_ERR`).
    AuthFailure {
        /// Peer.
        peer: Ipv4Addr,
        /// Our inbound SPI.
        spi: u32,
    },
    /// An outbound SA ran out of sequence numbers or hit a hard volume limit: packets to
    /// the peer wait for a new SA.
    OutboundExhausted {
        /// Peer.
        peer: Ipv4Addr,
        /// The outbound SPI.
        spi: u32,
    },
}

/// An SA pair that reached a limit, from [`EspProtection::poll_expired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// The peer.
    pub peer: Ipv4Addr,
    /// Our inbound SPI (the IKE engine's `spi_in`).
    pub spi_in: u32,
    /// The outbound SPI.
    pub spi_out: u32,
    /// [`Lifetime::SoftExpired`] (rekey; reported once) or [`Lifetime::HardExpired`]
    /// (the pair was removed).
    pub lifetime: Lifetime,
}

/// Why an SA pair could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InstallError {
    /// Our inbound SPI is already in use.
    #[error("inbound SPI {0:#010x} already installed")]
    DuplicateSpi(u32),
}

/// One SA pair for `show crypto ipsec sa`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaSnapshot {
    /// Peer.
    pub peer: Ipv4Addr,
    /// Our NBMA address.
    pub local: Ipv4Addr,
    /// Inbound SPI.
    pub spi_in: u32,
    /// Outbound SPI.
    pub spi_out: u32,
    /// Mode.
    pub mode: Mode,
    /// Cipher.
    pub encryption: Encryption,
    /// Integrity algorithm.
    pub integrity: Option<Integrity>,
    /// Extended sequence numbers.
    pub esn: bool,
    /// ESP in UDP to this peer port.
    pub nat_t: Option<u16>,
    /// Anti-replay window size.
    pub replay_window: u32,
    /// Whether the peer's outbound traffic uses this pair (else it is an older pair
    /// still receiving during a rekey).
    pub active: bool,
    /// Time since installation.
    pub age: Duration,
    /// Bytes left before the hard volume limit.
    pub remaining_bytes: Option<u64>,
    /// Time left before the hard lifetime.
    pub remaining_time: Option<Duration>,
    /// Where it stands against its limits.
    pub lifetime: Lifetime,
    /// Counters.
    pub counters: SaCounters,
    /// The last sequence number sent.
    pub last_sequence_out: u64,
    /// The highest sequence number received.
    pub highest_sequence_in: u64,
}

/// Counters of the table itself (packets no SA accounts for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProtectionStats {
    /// Packets to a protected peer without an SA (`#pkts no sa (send)`).
    pub no_sa: u64,
    /// Cleartext GRE refused from a protected peer.
    pub cleartext_refused: u64,
    /// ESP with an unknown SPI (`#pkts invalid sa (rcv)`).
    pub invalid_spi: u64,
    /// ESP whose SPI belongs to another peer.
    pub wrong_peer: u64,
    /// ESP too short for its header.
    pub malformed: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
}

#[derive(Debug, Default)]
struct Stats {
    no_sa: AtomicU64,
    cleartext_refused: AtomicU64,
    invalid_spi: AtomicU64,
    wrong_peer: AtomicU64,
    malformed: AtomicU64,
    events_dropped: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    pair: Arc<SaPair>,
    /// Installation order, to pick the newest remaining pair.
    order: u64,
    soft_reported: bool,
    /// Packets seen at the last poll, and when they last changed.
    activity: (u64, Duration),
    /// Installed with [`EspProtection::install_deferred`] while another pair carried the
    /// peer's traffic: outbound moves to it on its first authenticated inbound packet, or
    /// when the active pair goes.
    pending: bool,
}

#[derive(Debug, Default)]
struct Table {
    /// By our inbound SPI.
    pairs: HashMap<u32, Entry>,
    /// The pair whose outbound half each peer's traffic uses.
    active: HashMap<Ipv4Addr, Arc<SaPair>>,
    required: HashSet<Ipv4Addr>,
    protect_all: bool,
    next_order: u64,
}

impl Table {
    fn is_required(&self, peer: Ipv4Addr) -> bool {
        self.protect_all || self.required.contains(&peer)
    }

    /// Removes the pair with inbound SPI `spi`; the peer's newest other pair becomes
    /// active if this one was.
    fn remove(&mut self, spi: u32) -> Option<Entry> {
        let entry = self.pairs.remove(&spi)?;
        let peer = entry.pair.inbound.peer();
        let was_active = self
            .active
            .get(&peer)
            .is_some_and(|a| Arc::ptr_eq(a, &entry.pair));
        if was_active {
            let next = self
                .pairs
                .values()
                .filter(|e| e.pair.inbound.peer() == peer)
                .max_by_key(|e| e.order)
                .map(|e| e.pair.clone());
            match next {
                Some(p) => {
                    if let Some(e) = self.pairs.get_mut(&p.inbound.spi()) {
                        e.pending = false;
                    }
                    self.active.insert(peer, p)
                }
                None => self.active.remove(&peer),
            };
        }
        Some(entry)
    }
}

#[derive(Debug, Default)]
struct Events {
    queue: VecDeque<EspEvent>,
    /// (peer, SPI) of the InvalidSpi events in `queue`.
    invalid: HashSet<(Ipv4Addr, u32)>,
}

/// IPsec ESP protection of one mGRE tunnel: the SA table, the protection policy and the
/// event queue. Shared by the data path (`&self`) and the control plane.
pub struct EspProtection {
    local: Ipv4Addr,
    table: RwLock<Table>,
    rng: Mutex<Box<dyn Random>>,
    events: Mutex<Events>,
    stats: Stats,
    /// ESP that arrived for an SPI not installed yet (see [`EspProtection::take_early`]).
    early: Mutex<VecDeque<EarlyEsp>>,
}

/// Packets kept for SPIs not installed yet: the newest few, small ones only.
const MAX_EARLY: usize = 16;
/// Largest packet kept early (NHRP is small; bulk data is not worth keeping).
const MAX_EARLY_LEN: usize = 1600;

/// An ESP packet that arrived before its SA was installed.
#[derive(Debug)]
struct EarlyEsp {
    peer: Ipv4Addr,
    underlay: Underlay,
    spi: u32,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for EspProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.read();
        f.debug_struct("EspProtection")
            .field("local", &self.local)
            .field("pairs", &t.pairs.len())
            .field("protect_all", &t.protect_all)
            .finish_non_exhaustive()
    }
}

impl EspProtection {
    /// An empty table for the tunnel whose NBMA address is `local`; `rng` gives AES-CBC's
    /// IVs (the system CSPRNG in the daemon). Nothing is protected until peers are
    /// required or SAs installed.
    pub fn new(local: Ipv4Addr, rng: Box<dyn Random>) -> EspProtection {
        EspProtection {
            local,
            table: RwLock::new(Table::default()),
            rng: Mutex::new(rng),
            events: Mutex::new(Events::default()),
            stats: Stats::default(),
            early: Mutex::new(VecDeque::new()),
        }
    }

    /// The ESP packets that arrived for `spi_in` before its pair was installed (a responder
    /// may send on a new Child SA before the initiator has processed the IKE_AUTH or
    /// CREATE_CHILD_SA response that creates it), opened with the pair now installed: the
    /// GRE packets (GRE header first) with their peer. Call right after
    /// [`EspProtection::install`]; packets that fail any check are dropped as usual.
    pub fn take_early(&self, spi_in: u32) -> Vec<(Ipv4Addr, Vec<u8>)> {
        let taken: Vec<EarlyEsp> = {
            let mut q = self.early.lock().unwrap_or_else(|e| e.into_inner());
            let (mine, rest): (VecDeque<EarlyEsp>, VecDeque<EarlyEsp>) =
                q.drain(..).partition(|e| e.spi == spi_in);
            *q = rest;
            mine.into()
        };
        if !taken.is_empty() {
            // Their unknown-SPI reports were not a peer that restarted after all.
            let mut ev = self.events.lock().unwrap_or_else(|e| e.into_inner());
            ev.queue
                .retain(|e| !matches!(e, EspEvent::InvalidSpi { spi, .. } if *spi == spi_in));
            ev.invalid.retain(|(_, spi)| *spi != spi_in);
        }
        let mut out = Vec::new();
        for e in taken {
            let mut buf = PacketBuf::with_capacity(e.bytes.len() + 64);
            if buf.set(&e.bytes).is_err() {
                continue;
            }
            if self.receive_esp(e.peer, e.underlay, &mut buf).is_ok() {
                out.push((e.peer, buf.as_slice().to_vec()));
            }
        }
        out
    }

    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: EspEvent) {
        let mut ev = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if let EspEvent::InvalidSpi { peer, spi, .. } = event
            && !ev.invalid.insert((peer, spi))
        {
            return;
        }
        if ev.queue.len() >= MAX_EVENTS {
            if let Some(EspEvent::InvalidSpi { peer, spi, .. }) = ev.queue.pop_front() {
                ev.invalid.remove(&(peer, spi));
            }
            bump(&self.stats.events_dropped);
        }
        ev.queue.push_back(event);
    }

    /// Installs an SA pair (make-before-break): its inbound SA first, then the peer's
    /// outbound traffic switches to it. Older pairs of the peer keep receiving until
    /// removed. The peer is protected from now on (see the module documentation).
    pub fn install(&self, pair: SaPair) -> Result<(), InstallError> {
        self.install_with(pair, false)
    }

    /// Installs a pair this side created answering the peer's rekey: its inbound SA at
    /// once, but the peer's outbound traffic stays on the current pair until the new one
    /// has carried an authenticated packet from the peer (the rekey's initiator has it
    /// then) or the current pair is removed (the peer's Delete). The responder of a rekey
    /// would otherwise send on an SA its peer installs only when the response arrives, and
    /// lose those packets (a round trip, or a retransmission time under loss). Without a
    /// current pair it is [`EspProtection::install`].
    pub fn install_deferred(&self, pair: SaPair) -> Result<(), InstallError> {
        self.install_with(pair, true)
    }

    fn install_with(&self, pair: SaPair, defer: bool) -> Result<(), InstallError> {
        let spi = pair.inbound.spi();
        let peer = pair.inbound.peer();
        let mut t = self.write();
        if t.pairs.contains_key(&spi) {
            return Err(InstallError::DuplicateSpi(spi));
        }
        let order = t.next_order;
        t.next_order += 1;
        let pair = Arc::new(pair);
        let installed_at = pair.installed_at;
        let pending = defer && t.active.contains_key(&peer);
        t.pairs.insert(
            spi,
            Entry {
                pair: pair.clone(),
                order,
                soft_reported: false,
                activity: (0, installed_at),
                pending,
            },
        );
        if !pending {
            t.active.insert(peer, pair);
        }
        t.required.insert(peer);
        Ok(())
    }

    /// Removes the pair whose inbound SPI is `spi_in` (the IKE engine's `DeleteChild`).
    /// Returns whether it existed.
    pub fn remove_spi(&self, spi_in: u32) -> bool {
        self.write().remove(spi_in).is_some()
    }

    /// Removes every pair of `peer`; returns how many. The peer stays protected.
    pub fn remove_peer(&self, peer: Ipv4Addr) -> usize {
        let mut t = self.write();
        let spis: Vec<u32> = t
            .pairs
            .iter()
            .filter(|(_, e)| e.pair.inbound.peer() == peer)
            .map(|(&spi, _)| spi)
            .collect();
        for spi in &spis {
            t.remove(*spi);
        }
        spis.len()
    }

    /// Whether `peer` must be protected (with `false`: only while "protect all" is off
    /// and it has no SA is GRE to it sent in clear).
    pub fn set_required(&self, peer: Ipv4Addr, required: bool) {
        let mut t = self.write();
        if required {
            t.required.insert(peer);
        } else {
            t.required.remove(&peer);
        }
    }

    /// Protect every peer: the tunnel-wide policy of `tunnel protection`.
    pub fn set_protect_all(&self, on: bool) {
        self.write().protect_all = on;
    }

    /// Whether GRE to `peer` needs an SA.
    pub fn is_required(&self, peer: Ipv4Addr) -> bool {
        self.read().is_required(peer)
    }

    /// Whether `peer` has an active outbound SA.
    pub fn has_sa(&self, peer: Ipv4Addr) -> bool {
        self.read().active.contains_key(&peer)
    }

    /// The underlay of `peer`'s active SA, and for ESP in UDP the peer's port.
    pub fn underlay(&self, peer: Ipv4Addr) -> Option<(Underlay, Option<u16>)> {
        self.read()
            .active
            .get(&peer)
            .map(|p| (p.outbound.underlay(), p.outbound.nat_t_port()))
    }

    /// Takes the events queued since the last call, oldest first.
    pub fn take_events(&self) -> Vec<EspEvent> {
        let mut ev = self.events.lock().unwrap_or_else(|e| e.into_inner());
        ev.invalid.clear();
        ev.queue.drain(..).collect()
    }

    /// The table's own counters.
    pub fn stats(&self) -> ProtectionStats {
        let s = &self.stats;
        ProtectionStats {
            no_sa: get(&s.no_sa),
            cleartext_refused: get(&s.cleartext_refused),
            invalid_spi: get(&s.invalid_spi),
            wrong_peer: get(&s.wrong_peer),
            malformed: get(&s.malformed),
            events_dropped: get(&s.events_dropped),
        }
    }

    /// Every pair at `now`, by peer and then oldest first.
    pub fn snapshot(&self, now: Duration) -> Vec<SaSnapshot> {
        let t = self.read();
        let mut entries: Vec<&Entry> = t.pairs.values().collect();
        entries.sort_by_key(|e| (e.pair.inbound.peer(), e.order));
        entries
            .into_iter()
            .map(|e| {
                let p = &e.pair;
                let (o, i) = (&p.outbound, &p.inbound);
                let counters = p.counters();
                let usage = usage(e, &counters, now);
                let (remaining_bytes, remaining_time) = o.limits().remaining(&usage);
                SaSnapshot {
                    peer: i.peer(),
                    local: o.local(),
                    spi_in: i.spi(),
                    spi_out: o.spi(),
                    mode: o.mode(),
                    encryption: o.encryption(),
                    integrity: o.integrity(),
                    esn: o.esn(),
                    nat_t: o.nat_t_port(),
                    replay_window: i.replay_window(),
                    active: t.active.get(&i.peer()).is_some_and(|a| Arc::ptr_eq(a, p)),
                    age: usage.age,
                    remaining_bytes,
                    remaining_time,
                    lifetime: lifetime(p, &usage),
                    counters,
                    last_sequence_out: o.last_sequence(),
                    highest_sequence_in: i.replay_top(),
                }
            })
            .collect()
    }

    /// Checks every pair against its limits at `now`: a soft limit is reported once (the
    /// IKE engine's `EspEvent::SoftExpired`: rekey); a hard limit (time, volume, idle
    /// timeout, sequence numbers) removes the pair and is reported (`HardExpired`).
    /// Idle time is measured between calls: call it every second or so.
    pub fn poll_expired(&self, now: Duration) -> Vec<Expiry> {
        let mut t = self.write();
        let mut out = Vec::new();
        let mut hard = Vec::new();
        for (&spi, e) in t.pairs.iter_mut() {
            let counters = e.pair.counters();
            let total = counters.pkts_encaps.saturating_add(counters.pkts_decaps);
            if total != e.activity.0 {
                e.activity = (total, now);
            }
            let state = lifetime(&e.pair, &usage(e, &counters, now));
            let report = match state {
                Lifetime::HardExpired(_) => {
                    hard.push(spi);
                    true
                }
                Lifetime::SoftExpired(_) => !std::mem::replace(&mut e.soft_reported, true),
                Lifetime::Ok => false,
            };
            if report {
                out.push(Expiry {
                    peer: e.pair.inbound.peer(),
                    spi_in: spi,
                    spi_out: e.pair.outbound.spi(),
                    lifetime: state,
                });
            }
        }
        for spi in hard {
            t.remove(spi);
        }
        out.sort_by_key(|x| (x.peer, x.spi_in));
        out
    }
}

fn usage(e: &Entry, c: &SaCounters, now: Duration) -> Usage {
    Usage {
        age: now.saturating_sub(e.pair.installed_at),
        idle_for: now.saturating_sub(e.activity.1),
        bytes: c.bytes_encaps.max(c.bytes_decaps),
        packets: c.pkts_encaps.max(c.pkts_decaps),
    }
}

/// The limits and the sequence numbers together; hard wins.
fn lifetime(p: &SaPair, usage: &Usage) -> Lifetime {
    let limits = p.outbound.limits().evaluate(usage);
    let seq = p.outbound.sequence_lifetime();
    match (limits, seq) {
        (Lifetime::HardExpired(_), _) => limits,
        (_, Lifetime::HardExpired(_)) => seq,
        (Lifetime::SoftExpired(_), _) => limits,
        _ => seq,
    }
}

/// The NAT-T keepalive (RFC 3948 §2.3): one byte 0xFF on port 4500.
const NAT_KEEPALIVE: [u8; 1] = [0xff];

impl Protection for EspProtection {
    fn protect(&self, peer: Ipv4Addr, packet: &mut PacketBuf) -> Result<Underlay, ProtectionError> {
        let (pair, required) = {
            let t = self.read();
            (t.active.get(&peer).cloned(), t.is_required(peer))
        };
        let Some(pair) = pair else {
            if required {
                bump(&self.stats.no_sa);
                return Err(ProtectionError::NoSa(peer));
            }
            return Ok(Underlay::Gre);
        };
        let out = &pair.outbound;
        let result = if out.needs_random_iv() {
            let mut iv = [0u8; CBC_IV_LEN];
            self.rng
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .fill(&mut iv);
            out.encapsulate_with(packet, |dst| {
                for (d, s) in dst.iter_mut().zip(iv) {
                    *d = s;
                }
            })
        } else {
            out.encapsulate_with(packet, |_| {})
        };
        match result {
            Ok(_) => Ok(out.underlay()),
            Err(EspError::NoRoom(n)) => Err(ProtectionError::NoRoom(n)),
            Err(EspError::SequenceExhausted | EspError::HardLimit) => {
                self.push(EspEvent::OutboundExhausted {
                    peer,
                    spi: out.spi(),
                });
                Err(ProtectionError::NoSa(peer))
            }
            Err(_) => Err(ProtectionError::Integrity(peer)),
        }
    }

    fn unprotect(
        &self,
        peer: Ipv4Addr,
        underlay: Underlay,
        packet: &mut PacketBuf,
    ) -> Result<(), ProtectionError> {
        match underlay {
            Underlay::Gre => {
                let t = self.read();
                if t.is_required(peer) || t.active.contains_key(&peer) {
                    bump(&self.stats.cleartext_refused);
                    return Err(ProtectionError::Integrity(peer));
                }
                Ok(())
            }
            Underlay::Ike => Err(ProtectionError::Unexpected(peer, underlay)),
            Underlay::NatT if packet.as_slice() == NAT_KEEPALIVE => {
                Err(ProtectionError::Unexpected(peer, underlay))
            }
            Underlay::Esp | Underlay::NatT => self.receive_esp(peer, underlay, packet),
        }
    }

    fn udp_port(&self, peer: Ipv4Addr) -> u16 {
        self.underlay(peer)
            .and_then(|(_, port)| port)
            .unwrap_or(dmvpn_forwarding::transport::NAT_T_PORT)
    }

    fn uses_ipsec(&self) -> bool {
        true
    }
}

impl EspProtection {
    fn receive_esp(
        &self,
        peer: Ipv4Addr,
        underlay: Underlay,
        packet: &mut PacketBuf,
    ) -> Result<(), ProtectionError> {
        let Ok(esp) = EspPacket::new_checked(packet.as_slice()) else {
            bump(&self.stats.malformed);
            return Err(ProtectionError::Integrity(peer));
        };
        let spi = esp.spi();
        let found = self
            .read()
            .pairs
            .get(&spi)
            .map(|e| (e.pair.clone(), e.pending));
        let (pair, pending) = match found {
            Some((p, pending)) => (Some(p), pending),
            None => (None, false),
        };
        let Some(pair) = pair else {
            if packet.len() <= MAX_EARLY_LEN {
                let mut q = self.early.lock().unwrap_or_else(|e| e.into_inner());
                if q.len() >= MAX_EARLY {
                    q.pop_front();
                }
                q.push_back(EarlyEsp {
                    peer,
                    underlay,
                    spi,
                    bytes: packet.as_slice().to_vec(),
                });
            }
            bump(&self.stats.invalid_spi);
            self.push(EspEvent::InvalidSpi {
                peer,
                local: self.local,
                spi,
            });
            return Err(ProtectionError::Integrity(peer));
        };
        if pair.inbound.peer() != peer {
            bump(&self.stats.wrong_peer);
            return Err(ProtectionError::Integrity(peer));
        }
        match pair.inbound.decapsulate(packet) {
            Ok(()) => {
                if pending {
                    // The peer sends on the new pair: it has it, so ours may follow.
                    let mut t = self.write();
                    if let Some(e) = t.pairs.get_mut(&spi)
                        && e.pending
                    {
                        e.pending = false;
                        t.active.insert(peer, pair.clone());
                    }
                }
                Ok(())
            }
            // A dummy packet is valid and silently dropped; nothing is wrong with it.
            Err(EspError::Dummy) => Err(ProtectionError::Unexpected(peer, underlay)),
            Err(EspError::Replay(
                ReplayError::TooOld(sequence) | ReplayError::Duplicate(sequence),
            )) => {
                self.push(EspEvent::ReplayFailure {
                    peer,
                    spi,
                    sequence,
                });
                Err(ProtectionError::Integrity(peer))
            }
            Err(EspError::Authentication) => {
                self.push(EspEvent::AuthFailure { peer, spi });
                Err(ProtectionError::Integrity(peer))
            }
            Err(_) => Err(ProtectionError::Integrity(peer)),
        }
    }
}

#[cfg(test)]
#[path = "protection_tests.rs"]
mod tests;

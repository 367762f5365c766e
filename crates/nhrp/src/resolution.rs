//! Address resolution (RFC 2332 §5.2.1/§5.2.2; seed 003 steps 1–11; phase 3 per seed 002).
//!
//! * Requester: [`crate::Engine::handle_traffic`] for a destination without a binding creates
//!   an incomplete entry and sends a Resolution Request to the active NHS; retries after 1 s,
//!   doubling, capped at 8 s, six sends in all; then a negative entry. Replies install a
//!   dynamic entry (and, for a network answer, a shortcut plus the next hop's host entry) living
//!   for the reply's holding time. Entries used in their last minute are refreshed.
//! * Responder: a station answers for its own tunnel address and `local_networks` (with the
//!   prefix length of its route) and caches the requester implicitly; an NHS answers
//!   authoritatively from its registration cache; otherwise the request is forwarded towards
//!   the destination (route → next hop's binding, else the NHS) with hop count − 1 and a
//!   Forward Transit record, or answered negatively (code 12).
//! * A request whose Forward Transit record already names us is a loop: Error Indication code 3.

use crate::action::{Event, RemoveReason};
use crate::cache::{CacheEntry, EntryFlags, EntryKind};
use crate::config::{IfIndex, Prefix};
use crate::engine::{DEFAULT_HOP_COUNT, Engine};
use crate::error::DropReason;
use crate::packet::{Cie, Message, PacketType, code, error_code, flags};
use crate::reqid::{PendingKind, Schedule};
use crate::timer::TimerKey;
use std::net::Ipv4Addr;
use std::time::Duration;

/// How long an incomplete entry may wait (longer than the whole retry schedule).
pub(crate) const INCOMPLETE_HOLD: Duration = Duration::from_secs(45);
/// Negative entry lifetime after the retries ran out.
pub(crate) const NEGATIVE_HOLD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bounds of the negative entry lifetime after a negative reply.
pub(crate) const NEGATIVE_HOLD_MIN: Duration = Duration::from_secs(15);
/// Upper bound of a negative entry lifetime.
pub(crate) const NEGATIVE_HOLD_MAX: Duration = Duration::from_secs(180);
/// Holding time put in negative replies (RFC 2332 §5.2.2: how long to cache the NAK).
pub(crate) const NAK_HOLDING_SECS: u16 = 60;
/// Resolutions in flight per interface, at most (bounded state under a flood of unknown
/// destinations or Traffic Indications).
pub const MAX_PENDING_RESOLUTIONS: usize = 1024;
/// Stations remembered per registered entry for purges.
pub(crate) const MAX_LEARNERS: usize = 16;

/// RFC 2332 §5.3.2: a request is looping when its Forward Transit NHS Record already lists
/// this station.
pub(crate) fn is_loop(m: &Message, own_nbma: Ipv4Addr, own_proto: Ipv4Addr) -> bool {
    m.ext.forward_transit.as_ref().is_some_and(|l| {
        l.iter()
            .any(|c| c.client_nbma == Some(own_nbma) || c.client_proto == Some(own_proto))
    })
}

impl Engine {
    /// Start (or, with `refresh`, repeat) the resolution of `dst` via the active NHS.
    pub(crate) fn start_resolution(&mut self, i: IfIndex, dst: Ipv4Addr, refresh: bool) {
        let now = self.now;
        let already = self
            .reqids
            .pending
            .values()
            .any(|p| p.iface == i && p.kind == PendingKind::Resolution { target: dst });
        if already {
            return;
        }
        let in_flight = self
            .reqids
            .pending
            .values()
            .filter(|p| p.iface == i && matches!(p.kind, PendingKind::Resolution { .. }))
            .count();
        if in_flight >= MAX_PENDING_RESOLUTIONS {
            if let Some(ifc) = self.ifaces.get_mut(&i) {
                ifc.stats.resolutions_suppressed += 1;
            }
            return;
        }
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let Some(nhs_nbma) = ifc
            .active_nhs()
            .and_then(|k| ifc.nhs.get(k))
            .and_then(|n| n.nbma)
        else {
            return;
        };
        let cfg = &ifc.cfg;
        let mut m = Message::new(
            PacketType::ResolutionRequest,
            DEFAULT_HOP_COUNT,
            cfg.nbma_addr,
            cfg.protocol_addr,
            dst,
        );
        m.flags = flags::Q | flags::A | flags::S | flags::NAT;
        m.cies.push(Cie {
            prefix_len: 32,
            mtu: cfg.mtu,
            holding_time: cfg.holdtime_secs(),
            ..Cie::default()
        });
        m.ext.forward_transit = Some(Vec::new());
        m.ext.reverse_transit = Some(Vec::new());
        m.ext.responder = Some(Vec::new());
        m.ext.nat = Some(
            ifc.nat_nbma
                .map(|n| {
                    vec![Cie {
                        prefix_len: 32,
                        client_nbma: Some(n),
                        client_proto: Some(cfg.protocol_addr),
                        ..Cie::default()
                    }]
                })
                .unwrap_or_default(),
        );
        let has_entry = ifc.cache.get(&Prefix::host(dst)).is_some();
        self.stamp_auth(i, &mut m);
        if !refresh && !has_entry {
            self.install(
                i,
                CacheEntry {
                    prefix: Prefix::host(dst),
                    kind: EntryKind::Incomplete,
                    flags: EntryFlags::empty(),
                    nbma: None,
                    claimed_nbma: None,
                    next_hop: dst,
                    created: now,
                    expires: Some(now + INCOMPLETE_HOLD),
                    holding_time: 0,
                    mtu: 0,
                    resolved_for: dst,
                    refreshing: false,
                    answered_to: Vec::new(),
                },
            );
        }
        self.start_request(
            i,
            nhs_nbma,
            m,
            PendingKind::Resolution { target: dst },
            Schedule::RESOLUTION,
        );
    }

    /// The NBMA address answers to a request's originator go to.
    pub(crate) fn requester_nbma(&self, i: IfIndex, m: &Message, from: Ipv4Addr) -> Ipv4Addr {
        if let Some(n) = m
            .ext
            .nat
            .as_ref()
            .and_then(|l| l.iter().find(|c| c.client_proto == Some(m.src_proto)))
            .and_then(|c| c.client_nbma)
        {
            return n;
        }
        if let Some(e) = self
            .ifaces
            .get(&i)
            .and_then(|f| f.cache.get(&Prefix::host(m.src_proto)))
        {
            if e.flags.contains(EntryFlags::REGISTERED) {
                if let Some(n) = e.nbma {
                    return n;
                }
            }
        }
        if m.ext.forward_transit.as_ref().is_none_or(|l| l.is_empty()) {
            return from;
        }
        m.src_nbma.unwrap_or(from)
    }

    /// Interfaces sharing `i`'s network-id (`i` first).
    fn same_network(&self, i: IfIndex) -> Vec<IfIndex> {
        let Some(id) = self.ifaces.get(&i).map(|f| f.cfg.network_id) else {
            return Vec::new();
        };
        let mut v = vec![i];
        v.extend(
            self.ifaces
                .iter()
                .filter(|(k, f)| **k != i && f.cfg.network_id == id)
                .map(|(k, _)| *k),
        );
        v
    }

    pub(crate) fn on_resolution_request(
        &mut self,
        i: IfIndex,
        from: Ipv4Addr,
        m: Message,
        raw: &[u8],
    ) {
        let now = self.now;
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let (own_nbma, own_proto, holdtime, mtu) = (
            ifc.cfg.nbma_addr,
            ifc.cfg.protocol_addr,
            ifc.cfg.holdtime_secs(),
            ifc.cfg.mtu,
        );
        let no_unique = ifc.cfg.registration_no_unique;
        if is_loop(&m, own_nbma, own_proto) {
            self.drop_packet(i, from, DropReason::LoopDetected);
            self.send_error(i, from, error_code::LOOP_DETECTED, 0, &m, raw);
            return;
        }
        let to = self.requester_nbma(i, &m, from);
        // 1. Our own address or networks: answer, and remember the requester.
        if let Some(p) = ifc.local_prefix(m.dst_proto) {
            let public = ifc.nat_nbma.unwrap_or(own_nbma);
            let cie = Cie {
                code: code::SUCCESS,
                prefix_len: p.len(),
                mtu,
                holding_time: holdtime,
                client_nbma: Some(public),
                client_proto: Some(own_proto),
                preference: 0,
            };
            if to != own_nbma && ifc.local_prefix(m.src_proto).is_none() {
                let existing = ifc.cache.get(&Prefix::host(m.src_proto));
                if existing.is_none_or(|e| {
                    e.kind != EntryKind::Static && !e.flags.contains(EntryFlags::REGISTERED)
                }) {
                    let hold = m
                        .cies
                        .first()
                        .map(|c| c.holding_time)
                        .filter(|h| *h > 0)
                        .unwrap_or(holdtime);
                    let mut fl = EntryFlags::IMPLICIT;
                    if m.flags & flags::Q != 0 {
                        fl.insert(EntryFlags::ROUTER);
                    }
                    let created = existing
                        .filter(|e| e.nbma == Some(to))
                        .map(|e| e.created)
                        .unwrap_or(now);
                    self.install(
                        i,
                        CacheEntry {
                            prefix: Prefix::host(m.src_proto),
                            kind: EntryKind::Dynamic,
                            flags: fl,
                            nbma: Some(to),
                            claimed_nbma: m.src_nbma,
                            next_hop: m.src_proto,
                            created,
                            expires: Some(now + Duration::from_secs(u64::from(hold))),
                            holding_time: hold,
                            mtu: 0,
                            resolved_for: m.src_proto,
                            refreshing: false,
                            answered_to: Vec::new(),
                        },
                    );
                }
            }
            if p != Prefix::host(own_proto) {
                self.record_local_answer(i, p, to, m.src_proto, public);
            }
            self.answer_resolution(i, &m, to, cie, !no_unique);
            return;
        }
        // 2. The registration cache of this network-id: authoritative answer.
        for k in self.same_network(i) {
            let hit = self
                .ifaces
                .get(&k)
                .and_then(|f| f.cache.lookup(m.dst_proto))
                .filter(|e| e.is_complete() && e.flags.contains(EntryFlags::REGISTERED))
                .cloned();
            if let Some(e) = hit {
                let remaining = e
                    .expires
                    .map(|t| t.saturating_duration_since(now).as_secs())
                    .unwrap_or(u64::from(holdtime));
                let cie = Cie {
                    code: code::SUCCESS,
                    prefix_len: e.prefix.len(),
                    mtu: e.mtu,
                    holding_time: u16::try_from(remaining).unwrap_or(u16::MAX).max(1),
                    client_nbma: e.nbma,
                    client_proto: Some(e.next_hop),
                    preference: 0,
                };
                if let Some(entry) = self
                    .ifaces
                    .get_mut(&k)
                    .and_then(|f| f.cache.get_mut(&e.prefix))
                {
                    entry.flags.insert(EntryFlags::USED);
                    let learner = (to, m.src_proto);
                    if !entry.answered_to.contains(&learner)
                        && entry.answered_to.len() < MAX_LEARNERS
                    {
                        entry.answered_to.push(learner);
                    }
                }
                let unique = e.flags.contains(EntryFlags::UNIQUE);
                self.answer_resolution(i, &m, to, cie, unique);
                return;
            }
        }
        // 3. Forward towards the destination.
        if let Some((k, nh)) = self.forward_target(i, &m, from) {
            if m.hop_count <= 1 {
                self.drop_packet(i, from, DropReason::HopCountExceeded);
                self.send_error(i, from, error_code::HOP_COUNT_EXCEEDED, 0, &m, raw);
                return;
            }
            self.forward(i, k, nh, m);
            return;
        }
        // 4. Nobody has it: negative reply.
        let cie = Cie {
            code: code::NO_BINDING,
            prefix_len: 32,
            mtu: 0,
            holding_time: NAK_HOLDING_SECS,
            client_nbma: None,
            client_proto: None,
            preference: 0,
        };
        self.answer_resolution(i, &m, to, cie, false);
    }

    /// Cisco's "local" entry: remember that we handed out a binding for our network `p`, and to
    /// whom, so a withdrawal can be purged at the requesters.
    fn record_local_answer(
        &mut self,
        i: IfIndex,
        p: Prefix,
        to: Ipv4Addr,
        requester: Ipv4Addr,
        public: Ipv4Addr,
    ) {
        let now = self.now;
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let (own_nbma, own_proto, holdtime, mtu) = (
            ifc.cfg.nbma_addr,
            ifc.cfg.protocol_addr,
            ifc.cfg.holdtime_secs(),
            ifc.cfg.mtu,
        );
        let existing = ifc
            .cache
            .get(&p)
            .filter(|e| e.flags.contains(EntryFlags::LOCAL));
        let created = existing.map(|e| e.created).unwrap_or(now);
        let mut learners = existing.map(|e| e.answered_to.clone()).unwrap_or_default();
        if !learners.contains(&(to, requester)) && learners.len() < MAX_LEARNERS {
            learners.push((to, requester));
        }
        if ifc
            .cache
            .get(&p)
            .is_some_and(|e| !e.flags.contains(EntryFlags::LOCAL))
        {
            return;
        }
        self.install(
            i,
            CacheEntry {
                prefix: p,
                kind: EntryKind::Dynamic,
                flags: EntryFlags::LOCAL | EntryFlags::ROUTER | EntryFlags::UNIQUE,
                nbma: Some(public),
                claimed_nbma: Some(own_nbma),
                next_hop: own_proto,
                created,
                expires: Some(now + Duration::from_secs(u64::from(holdtime))),
                holding_time: holdtime,
                mtu,
                resolved_for: p.addr(),
                refreshing: false,
                answered_to: learners,
            },
        );
    }

    /// Where to forward a request we cannot answer: (interface, next NBMA).
    fn forward_target(
        &self,
        i: IfIndex,
        m: &Message,
        from: Ipv4Addr,
    ) -> Option<(IfIndex, Ipv4Addr)> {
        for k in self.same_network(i) {
            let Some(f) = self.ifaces.get(&k) else {
                continue;
            };
            if let Some(hop) = f.route(m.dst_proto) {
                if hop == f.cfg.protocol_addr {
                    continue;
                }
                if let Some(n) = f
                    .cache
                    .lookup(hop)
                    .filter(|e| e.is_complete())
                    .and_then(|e| e.nbma)
                {
                    if n != from && n != f.cfg.nbma_addr {
                        return Some((k, n));
                    }
                }
            }
        }
        let f = self.ifaces.get(&i)?;
        let n = f
            .active_nhs()
            .and_then(|x| f.nhs.get(x))
            .and_then(|n| n.nbma)?;
        (n != from).then_some((i, n))
    }

    fn forward(&mut self, i: IfIndex, k: IfIndex, to: Ipv4Addr, mut m: Message) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let own = Cie {
            prefix_len: 32,
            mtu: ifc.cfg.mtu,
            holding_time: ifc.cfg.holdtime_secs(),
            client_nbma: Some(ifc.cfg.nbma_addr),
            client_proto: Some(ifc.cfg.protocol_addr),
            ..Cie::default()
        };
        // Cisco NAT: a first-hop NHS names the requester's real address when it is behind NAT.
        let nat_fill = ifc
            .cache
            .get(&Prefix::host(m.src_proto))
            .filter(|e| {
                e.flags.contains(EntryFlags::NAT) && e.flags.contains(EntryFlags::REGISTERED)
            })
            .and_then(|e| e.nbma);
        m.hop_count = m.hop_count.saturating_sub(1);
        m.ext.forward_transit.get_or_insert_with(Vec::new).push(own);
        if let Some(n) = nat_fill {
            let list = m.ext.nat.get_or_insert_with(Vec::new);
            if !list.iter().any(|c| c.client_proto == Some(m.src_proto)) {
                list.push(Cie {
                    prefix_len: 32,
                    client_nbma: Some(n),
                    client_proto: Some(m.src_proto),
                    ..Cie::default()
                });
            }
        }
        self.stamp_auth(k, &mut m);
        self.send_msg(k, to, &m);
    }

    /// Send a Resolution Reply for request `m` with one CIE to `to`.
    fn answer_resolution(&mut self, i: IfIndex, m: &Message, to: Ipv4Addr, cie: Cie, unique: bool) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let mut r = Message::new(
            PacketType::ResolutionReply,
            DEFAULT_HOP_COUNT,
            ifc.cfg.nbma_addr,
            m.src_proto,
            m.dst_proto,
        );
        r.src_nbma = m.src_nbma;
        // RFC 2332 §5.2.2: A — we answer from our own or registered data; U — the binding
        // is unique (registered with the unique flag).
        r.flags = (m.flags & (flags::Q | flags::S | flags::NAT))
            | flags::D
            | flags::A
            | if unique { flags::RES_U } else { 0 };
        r.request_id = m.request_id;
        r.cies = vec![cie];
        r.ext.responder = Some(vec![Cie {
            prefix_len: 32,
            mtu: ifc.cfg.mtu,
            holding_time: ifc.cfg.holdtime_secs(),
            client_nbma: Some(ifc.nat_nbma.unwrap_or(ifc.cfg.nbma_addr)),
            client_proto: Some(ifc.cfg.protocol_addr),
            ..Cie::default()
        }]);
        r.ext.forward_transit = m.ext.forward_transit.clone();
        r.ext.reverse_transit = Some(m.ext.reverse_transit.clone().unwrap_or_default());
        r.ext.nat = m.ext.nat.clone();
        self.stamp_auth(i, &mut r);
        self.send_msg(i, to, &r);
    }

    pub(crate) fn on_resolution_reply(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let own_proto = self.ifaces.get(&i).map(|f| f.cfg.protocol_addr);
        if own_proto.is_some_and(|p| p != m.src_proto) {
            return self.forward_reply(i, from, m);
        }
        let target = match self.reqids.pending.get(&m.request_id) {
            Some(p) if p.iface == i => match p.kind {
                PendingKind::Resolution { target } => target,
                _ => return self.drop_packet(i, from, DropReason::UnexpectedReply),
            },
            _ => return self.drop_packet(i, from, DropReason::UnexpectedReply),
        };
        if m.dst_proto != target {
            return self.protocol_error(i, from, &m);
        }
        self.reqids.pending.remove(&m.request_id);
        self.timers.cancel(TimerKey::Retransmit {
            reqid: m.request_id,
        });
        let Some(cie) = m.cies.first().cloned() else {
            return self.resolution_failed(i, target, None);
        };
        if cie.code != code::SUCCESS {
            let hold = Duration::from_secs(u64::from(cie.holding_time))
                .clamp(NEGATIVE_HOLD_MIN, NEGATIVE_HOLD_MAX);
            return self.resolution_negative(i, target, Some(cie.code), hold);
        }
        let next_hop = cie.client_proto.unwrap_or(target);
        let nat_nbma = m
            .ext
            .nat
            .as_ref()
            .and_then(|l| l.iter().find(|c| c.client_proto == Some(next_hop)))
            .and_then(|c| c.client_nbma);
        let responder = m
            .ext
            .responder
            .as_ref()
            .and_then(|l| l.first())
            .and_then(|c| c.client_nbma);
        let Some(nbma) = nat_nbma.or(cie.client_nbma).or(responder) else {
            return self.resolution_failed(i, target, None);
        };
        let now = self.now;
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let holding = if cie.holding_time == 0 {
            ifc.cfg.holdtime_secs()
        } else {
            cie.holding_time
        };
        let prefix = Prefix::from_cie(target, cie.prefix_len);
        // Identity-bound NHRP: the sender (the answering station, or the NHS relaying its
        // answer) must be allowed to claim what it answers for.
        if !self.may_claim(i, from, &prefix) {
            self.identity_refusal(i, target, from, false);
            return self.drop_packet(i, from, DropReason::IdentityRefused);
        }
        // Seed 003: a resolved peer shows `router unique used` (authoritative is for static
        // maps and the NHS's own registrations); unique when the reply's U bit says so.
        let mut fl = EntryFlags::ROUTER | EntryFlags::USED;
        if m.flags & flags::RES_U != 0 || cie.prefix_len == 0xff {
            fl.insert(EntryFlags::UNIQUE);
        }
        let expires = now + Duration::from_secs(u64::from(holding));
        let mk = |prefix: Prefix, created| CacheEntry {
            prefix,
            kind: EntryKind::Dynamic,
            flags: fl,
            nbma: Some(nbma),
            claimed_nbma: cie.client_nbma,
            next_hop,
            created,
            expires: Some(expires),
            holding_time: holding,
            mtu: cie.mtu,
            resolved_for: target,
            refreshing: false,
            answered_to: Vec::new(),
        };
        let created_of = |p: &Prefix| {
            ifc.cache
                .get(p)
                .filter(|e| e.nbma == Some(nbma))
                .map(|e| e.created)
                .unwrap_or(now)
        };
        let entry = mk(prefix, created_of(&prefix));
        let host = Prefix::host(next_hop);
        let host_entry = (prefix != host).then(|| mk(host, created_of(&host)));
        let host_is_static = ifc
            .cache
            .get(&host)
            .is_some_and(|e| e.kind == EntryKind::Static);
        let stale_target = ifc
            .cache
            .get(&Prefix::host(target))
            .filter(|e| {
                Prefix::host(target) != prefix
                    && matches!(e.kind, EntryKind::Incomplete | EntryKind::Negative)
            })
            .map(|e| e.prefix);
        if let Some(p) = stale_target {
            self.remove_entry(i, p, RemoveReason::Replaced);
        }
        if let Some(h) = host_entry.filter(|_| !host_is_static) {
            self.install(i, h);
        }
        self.install(i, entry);
        self.event(Event::ResolutionDone {
            iface: i,
            dst: target,
            prefix,
            nbma,
        });
    }

    /// RFC 2332 §5.2.2 and §5.3.3: a reply for another requester that reaches a transit NHS
    /// travels on towards the requester, with this NHS appended to the Reverse Transit NHS
    /// Record (a reply already listing us is a loop).
    fn forward_reply(&mut self, i: IfIndex, from: Ipv4Addr, mut m: Message) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let (own_nbma, own_proto) = (ifc.cfg.nbma_addr, ifc.cfg.protocol_addr);
        let looped = m.ext.reverse_transit.as_ref().is_some_and(|l| {
            l.iter()
                .any(|c| c.client_nbma == Some(own_nbma) || c.client_proto == Some(own_proto))
        });
        if looped {
            return self.drop_packet(i, from, DropReason::LoopDetected);
        }
        let to = ifc
            .cache
            .get(&Prefix::host(m.src_proto))
            .filter(|e| e.is_complete())
            .and_then(|e| e.nbma);
        let Some(to) = to.filter(|t| *t != from) else {
            return self.drop_packet(i, from, DropReason::UnexpectedReply);
        };
        if m.hop_count <= 1 {
            return self.drop_packet(i, from, DropReason::HopCountExceeded);
        }
        let own = Cie {
            prefix_len: 32,
            mtu: ifc.cfg.mtu,
            holding_time: ifc.cfg.holdtime_secs(),
            client_nbma: Some(own_nbma),
            client_proto: Some(own_proto),
            ..Cie::default()
        };
        m.hop_count -= 1;
        m.ext.reverse_transit.get_or_insert_with(Vec::new).push(own);
        self.stamp_auth(i, &mut m);
        self.send_msg(i, to, &m);
    }

    /// Retries ran out (or the answer was unusable).
    pub(crate) fn resolution_failed(&mut self, i: IfIndex, target: Ipv4Addr, code: Option<u8>) {
        self.resolution_negative(i, target, code, NEGATIVE_HOLD_TIMEOUT);
    }

    fn resolution_negative(
        &mut self,
        i: IfIndex,
        target: Ipv4Addr,
        code: Option<u8>,
        hold: Duration,
    ) {
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        let p = Prefix::host(target);
        match ifc.cache.get_mut(&p) {
            // A failed refresh leaves the binding to expire on its own.
            Some(e) if e.is_complete() => e.refreshing = false,
            _ => {
                self.install(
                    i,
                    CacheEntry {
                        prefix: p,
                        kind: EntryKind::Negative,
                        flags: EntryFlags::empty(),
                        nbma: None,
                        claimed_nbma: None,
                        next_hop: target,
                        created: now,
                        expires: Some(now + hold),
                        holding_time: u16::try_from(hold.as_secs()).unwrap_or(u16::MAX),
                        mtu: 0,
                        resolved_for: target,
                        refreshing: false,
                        answered_to: Vec::new(),
                    },
                );
            }
        }
        // A refresh of a shortcut (network) entry leaves it alone too.
        if let Some(ifc) = self.ifaces.get_mut(&i) {
            for e in ifc.cache.iter_mut_resolved_for(target) {
                e.refreshing = false;
            }
        }
        self.event(Event::ResolutionFailed {
            iface: i,
            dst: target,
            code,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2332 §5.3.2: our own NBMA address in the Forward Transit NHS Record means a loop.
    #[test]
    fn rfc2332_5_3_2_loop_is_own_address_in_forward_transit() {
        let me = Ipv4Addr::new(172, 17, 0, 1);
        let a = Ipv4Addr::new(10, 0, 0, 2);
        let mut m = Message::new(PacketType::ResolutionRequest, 10, a, a, a);
        assert!(!is_loop(&m, me, Ipv4Addr::new(10, 0, 0, 1)));
        m.ext.forward_transit = Some(vec![Cie {
            client_nbma: Some(me),
            ..Cie::default()
        }]);
        assert!(is_loop(&m, me, Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn rfc2332_5_2_0_1_prefix_len_full_address() {
        let a = Ipv4Addr::new(10, 1, 2, 3);
        assert_eq!(Prefix::from_cie(a, 0).len(), 32);
        assert_eq!(Prefix::from_cie(a, 0xff).len(), 32);
        assert_eq!(Prefix::from_cie(a, 24).len(), 24);
    }
}

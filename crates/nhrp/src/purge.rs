//! Purge Request / Reply (RFC 2332 §5.2.5, §5.2.6), which nhrpd lacks.
//!
//! * Received: every non-static entry inside the purged prefix, and every shortcut through it,
//!   is removed; unless the N flag is set a Purge Reply goes back.
//! * Sent: by a client refused with code 14, for its own stale binding at the NHS (N set, no
//!   reply wanted); by an NHS when a registered binding it has handed out goes away, to every
//!   station that learned it (reply wanted, retransmitted on the purge schedule).

use crate::action::{Event, RemoveReason};
use crate::cache::{CacheEntry, EntryFlags, EntryKind};
use crate::config::{IfIndex, Prefix};
use crate::engine::{DEFAULT_HOP_COUNT, Engine};
use crate::error::DropReason;
use crate::packet::{Cie, Message, PacketType, flags};
use crate::reqid::{PendingKind, Schedule};
use crate::timer::TimerKey;
use std::net::Ipv4Addr;

/// RFC 2332 §5.2.5: whether an entry is cleared by a purge of `purged`: its prefix lies inside
/// the purged one, or it routes through an address inside it. Static entries stay.
pub(crate) fn purge_hits(e: &CacheEntry, purged: &Prefix) -> bool {
    e.kind != EntryKind::Static
        && ((purged.contains(e.prefix.addr()) && e.prefix.len() >= purged.len())
            || purged.contains(e.next_hop))
}

impl Engine {
    /// Code 14 recovery: ask the NHS to drop our old binding (N flag: no reply).
    pub(crate) fn purge_own_binding(&mut self, i: IfIndex, nhs_proto: Ipv4Addr) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let Some(to) = ifc
            .nhs
            .iter()
            .find(|n| n.cfg.protocol == nhs_proto)
            .and_then(|n| n.nbma)
        else {
            return;
        };
        let mut m = Message::new(
            PacketType::PurgeRequest,
            DEFAULT_HOP_COUNT,
            ifc.cfg.nbma_addr,
            ifc.cfg.protocol_addr,
            nhs_proto,
        );
        m.flags = flags::N;
        m.request_id = self.reqids.allocate();
        m.cies.push(Cie {
            prefix_len: 32,
            client_nbma: Some(ifc.cfg.nbma_addr),
            client_proto: Some(ifc.cfg.protocol_addr),
            ..Cie::default()
        });
        self.stamp_auth(i, &mut m);
        self.send_msg(i, to, &m);
    }

    /// A binding we handed out went away: purge it at every station that learned it.
    pub(crate) fn purge_learners(&mut self, i: IfIndex, old: &CacheEntry) {
        if old.answered_to.is_empty() {
            return;
        }
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let (own_nbma, own_proto) = (ifc.cfg.nbma_addr, ifc.cfg.protocol_addr);
        let learners = old.answered_to.clone();
        for (nbma, proto) in learners {
            let mut m = Message::new(
                PacketType::PurgeRequest,
                DEFAULT_HOP_COUNT,
                own_nbma,
                own_proto,
                proto,
            );
            m.cies.push(Cie {
                prefix_len: old.prefix.len(),
                client_nbma: old.nbma,
                client_proto: Some(old.prefix.addr()),
                ..Cie::default()
            });
            self.stamp_auth(i, &mut m);
            self.start_request(i, nbma, m, PendingKind::Purge, Schedule::PURGE);
        }
    }

    pub(crate) fn on_purge_request(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let purged: Vec<Prefix> = if m.cies.is_empty() {
            vec![Prefix::host(m.src_proto)]
        } else {
            m.cies
                .iter()
                .map(|c| Prefix::from_cie(c.client_proto.unwrap_or(m.src_proto), c.prefix_len))
                .collect()
        };
        let mut victims: Vec<Prefix> =
            if purged.iter().all(|p| p.len() == 32) && ifc.cache.len() > 1024 {
                // Large (hub) caches: host purges look up directly instead of scanning.
                purged
                    .iter()
                    .filter_map(|p| {
                        ifc.cache
                            .get(p)
                            .filter(|e| purge_hits(e, p))
                            .map(|e| e.prefix)
                    })
                    .collect()
            } else {
                ifc.cache
                    .iter()
                    .filter(|e| purged.iter().any(|p| purge_hits(e, p)))
                    .map(|e| e.prefix)
                    .collect()
            };
        // Deterministic output order.
        victims.sort();
        victims.dedup();
        let mut removed = 0;
        for p in victims {
            if let Some(old) = self.remove_entry(i, p, RemoveReason::Purged) {
                removed += 1;
                if old.flags.contains(EntryFlags::REGISTERED) {
                    self.purge_learners(i, &old);
                }
            }
        }
        if let Some(ifc) = self.ifaces.get_mut(&i) {
            ifc.redirects
                .retain(|(s, d), _| !purged.iter().any(|p| p.contains(*s) || p.contains(*d)));
        }
        self.event(Event::PurgeReceived {
            iface: i,
            from,
            removed,
        });
        if m.flags & flags::N == 0 {
            let mut r = m.clone();
            r.ptype = PacketType::PurgeReply;
            r.hop_count = DEFAULT_HOP_COUNT;
            r.ext.other.clear();
            self.stamp_auth(i, &mut r);
            self.send_msg(i, from, &r);
        }
    }

    pub(crate) fn on_purge_reply(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        match self.reqids.pending.get(&m.request_id) {
            Some(p) if p.iface == i && p.kind == PendingKind::Purge => {
                self.reqids.pending.remove(&m.request_id);
                self.timers.cancel(TimerKey::Retransmit {
                    reqid: m.request_id,
                });
            }
            _ => self.drop_packet(i, from, DropReason::UnexpectedReply),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn entry(prefix: Prefix, next_hop: Ipv4Addr, kind: EntryKind) -> CacheEntry {
        CacheEntry {
            prefix,
            kind,
            flags: EntryFlags::empty(),
            nbma: Some(Ipv4Addr::new(172, 16, 3, 1)),
            claimed_nbma: None,
            next_hop,
            created: Instant::ZERO,
            expires: None,
            holding_time: 0,
            mtu: 0,
            resolved_for: next_hop,
            refreshing: false,
            answered_to: Vec::new(),
        }
    }

    /// RFC 2332 §5.2.5: a purge clears bindings inside the purged prefix and routes through it,
    /// never static entries.
    #[test]
    fn rfc2332_5_2_5_purge_hits() {
        let hop = Ipv4Addr::new(10, 0, 0, 3);
        let purged = Prefix::host(hop);
        let host = entry(Prefix::host(hop), hop, EntryKind::Dynamic);
        let shortcut = entry(
            Prefix::new(Ipv4Addr::new(192, 168, 3, 0), 24).unwrap(),
            hop,
            EntryKind::Dynamic,
        );
        let other = entry(
            Prefix::host(Ipv4Addr::new(10, 0, 0, 4)),
            Ipv4Addr::new(10, 0, 0, 4),
            EntryKind::Dynamic,
        );
        let stat = entry(Prefix::host(hop), hop, EntryKind::Static);
        assert!(purge_hits(&host, &purged));
        assert!(purge_hits(&shortcut, &purged));
        assert!(!purge_hits(&other, &purged));
        assert!(!purge_hits(&stat, &purged));
        let wide = Prefix::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap();
        assert!(purge_hits(
            &entry(
                Prefix::new(Ipv4Addr::new(192, 168, 3, 0), 24).unwrap(),
                Ipv4Addr::new(10, 0, 0, 9),
                EntryKind::Negative
            ),
            &wide
        ));
    }
}

//! The request-ID registry: allocates Request IDs (never 0, starting from a seeded value) and
//! remembers every request that waits for a reply, with its retransmission schedule.
//!
//! RFC 2332 §5.2.1: a retransmitted request keeps its Request ID, and a reply is matched to its
//! request by that ID.

use crate::config::IfIndex;
use crate::packet::Message;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// What a pending request is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PendingKind {
    /// A registration to the NHS with this protocol address.
    Registration { nhs: Ipv4Addr },
    /// A resolution of `target` (a refresh when an entry already exists).
    Resolution { target: Ipv4Addr },
    /// A purge that wants a reply.
    Purge,
}

/// A retransmission schedule: first retry after `initial`, doubling up to `cap`; `max_sends`
/// sends in all (`None`: forever).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) initial: Duration,
    pub(crate) cap: Duration,
    pub(crate) max_sends: Option<u32>,
}

impl Schedule {
    /// Registration (seed 000): 1, 2, 4, 8, 16, 32, 64 s, then every 64 s until answered.
    pub(crate) const REGISTRATION: Schedule = Schedule {
        initial: Duration::from_secs(1),
        cap: Duration::from_secs(64),
        max_sends: None,
    };
    /// Resolution: 1 s, doubling, capped at 8 s, six sends in all.
    pub(crate) const RESOLUTION: Schedule = Schedule {
        initial: Duration::from_secs(1),
        cap: Duration::from_secs(8),
        max_sends: Some(6),
    };
    /// Purge: 1 s, doubling, capped at 4 s, four sends in all.
    pub(crate) const PURGE: Schedule = Schedule {
        initial: Duration::from_secs(1),
        cap: Duration::from_secs(4),
        max_sends: Some(4),
    };

    /// The wait after the `sends`-th send (1-based).
    pub(crate) fn interval_after(&self, sends: u32) -> Duration {
        let shift = sends.saturating_sub(1).min(30);
        self.initial.saturating_mul(1u32 << shift).min(self.cap)
    }
}

/// A request waiting for its reply.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) iface: IfIndex,
    pub(crate) kind: PendingKind,
    pub(crate) to_nbma: Ipv4Addr,
    pub(crate) msg: Message,
    pub(crate) sends: u32,
    pub(crate) schedule: Schedule,
}

/// Request IDs and pending requests.
#[derive(Debug)]
pub(crate) struct ReqIds {
    next: u32,
    pub(crate) pending: BTreeMap<u32, Pending>,
}

impl ReqIds {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 of the seed, folded to a non-zero 32-bit start.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ReqIds {
            next: (z as u32).max(1),
            pending: BTreeMap::new(),
        }
    }

    /// A fresh Request ID: never 0, never one still pending.
    pub(crate) fn allocate(&mut self) -> u32 {
        loop {
            let id = self.next;
            self.next = self.next.wrapping_add(1).max(1);
            if id != 0 && !self.pending.contains_key(&id) {
                return id;
            }
        }
    }
}

impl crate::engine::Engine {
    /// Send a request that waits for a reply and arm its retransmission; returns its ID.
    pub(crate) fn start_request(
        &mut self,
        i: IfIndex,
        to: Ipv4Addr,
        mut msg: Message,
        kind: PendingKind,
        schedule: Schedule,
    ) -> u32 {
        let id = self.reqids.allocate();
        msg.request_id = id;
        self.send_msg(i, to, &msg);
        let now = self.now;
        self.reqids.pending.insert(
            id,
            Pending {
                iface: i,
                kind,
                to_nbma: to,
                msg,
                sends: 1,
                schedule,
            },
        );
        self.timers.set(
            crate::timer::TimerKey::Retransmit { reqid: id },
            now + schedule.interval_after(1),
        );
        id
    }

    /// A retransmission deadline passed: resend with the same Request ID, or give up.
    pub(crate) fn on_retransmit_timer(&mut self, id: u32) {
        let Some(p) = self.reqids.pending.get(&id) else {
            return;
        };
        let (i, kind) = (p.iface, p.kind.clone());
        if let PendingKind::Registration { nhs } = kind {
            self.registration_unanswered(i, nhs);
        }
        // A Resolution Request sent to an NHS that is DOWN by now goes to the NHS that is
        // active now (dual hub: the secondary takes over the primary's pending requests).
        let retarget = match (&kind, self.reqids.pending.get(&id), self.ifaces.get(&i)) {
            (PendingKind::Resolution { .. }, Some(p), Some(ifc)) if ifc.is_nhs_nbma(p.to_nbma) => {
                ifc.active_nhs()
                    .and_then(|k| ifc.nhs.get(k))
                    .and_then(|n| n.nbma)
                    .filter(|active| *active != p.to_nbma)
            }
            _ => None,
        };
        let Some(p) = self.reqids.pending.get_mut(&id) else {
            return;
        };
        if let Some(active) = retarget {
            p.to_nbma = active;
        }
        if p.schedule.max_sends.is_some_and(|m| p.sends >= m) {
            self.reqids.pending.remove(&id);
            if let PendingKind::Resolution { target } = kind {
                self.resolution_failed(i, target, None);
            }
            return;
        }
        p.sends += 1;
        let (to, msg, wait) = (p.to_nbma, p.msg.clone(), p.schedule.interval_after(p.sends));
        self.send_msg(i, to, &msg);
        let now = self.now;
        self.timers
            .set(crate::timer::TimerKey::Retransmit { reqid: id }, now + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_schedule_matches_seed_000() {
        let s = Schedule::REGISTRATION;
        let waits: Vec<u64> = (1..=9).map(|n| s.interval_after(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 64, 64]);
    }

    #[test]
    fn resolution_schedule_doubles_with_a_cap() {
        let s = Schedule::RESOLUTION;
        let waits: Vec<u64> = (1..=6).map(|n| s.interval_after(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 8, 8]);
    }

    #[test]
    fn ids_are_never_zero_and_seeded() {
        let mut a = ReqIds::new(1);
        let mut b = ReqIds::new(1);
        let mut c = ReqIds::new(2);
        assert_eq!(a.allocate(), b.allocate());
        assert_ne!(a.allocate(), c.allocate());
        let mut z = ReqIds {
            next: u32::MAX,
            pending: BTreeMap::new(),
        };
        assert_eq!(z.allocate(), u32::MAX);
        assert_eq!(z.allocate(), 1);
    }
}

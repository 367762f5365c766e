//! Timers as data: a table of named deadlines; the next timeout is the minimum.
//!
//! Each [`TimerKey`] names one deadline; setting a key replaces its previous deadline.
//! [`Timers::pop_due`] hands back, in deadline order, every key whose deadline is at or
//! before `now`, clearing each before it is dispatched, so a spurious or early
//! `handle_timeout` does nothing. Time is a [`Duration`] since the caller's epoch.

use crate::sa::SaId;
use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

/// One named deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKey {
    /// Retransmit (or give up) the outstanding request of an IKE SA.
    Retransmit(SaId),
    /// A half-open or negotiating SA took too long.
    Negotiation(SaId),
    /// Rekey the IKE SA (soft lifetime).
    IkeRekey(SaId),
    /// The IKE SA's hard lifetime.
    IkeExpire(SaId),
    /// Rekey a Child SA (soft lifetime), by its inbound SPI.
    ChildRekey(u32),
    /// A Child SA's hard lifetime, by its inbound SPI.
    ChildExpire(u32),
    /// Periodic DPD check of an IKE SA.
    Dpd(SaId),
    /// NAT keepalive of an IKE SA.
    Keepalive(SaId),
    /// Try a wanted peer again.
    Reconnect(Ipv4Addr),
}

/// The deadline table.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    by_time: BTreeSet<(Duration, TimerKey)>,
    by_key: HashMap<TimerKey, Duration>,
}

impl Timers {
    /// Arm `key` at `at`, replacing any earlier deadline for it.
    pub(crate) fn set(&mut self, key: TimerKey, at: Duration) {
        if let Some(old) = self.by_key.insert(key, at) {
            self.by_time.remove(&(old, key));
        }
        self.by_time.insert((at, key));
    }

    /// Disarm `key`.
    pub(crate) fn cancel(&mut self, key: TimerKey) {
        if let Some(old) = self.by_key.remove(&key) {
            self.by_time.remove(&(old, key));
        }
    }

    /// The deadline of `key`, if armed.
    pub(crate) fn get(&self, key: &TimerKey) -> Option<Duration> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Duration> {
        self.by_time.first().map(|(t, _)| *t)
    }

    /// Remove and return the earliest key due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Duration) -> Option<TimerKey> {
        let (t, key) = *self.by_time.first()?;
        if t > now {
            return None;
        }
        self.by_time.remove(&(t, key));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Number of armed deadlines.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_minimum_and_set_replaces() {
        let mut t = Timers::default();
        let a = TimerKey::Retransmit(SaId(1));
        let b = TimerKey::ChildRekey(7);
        let s = Duration::from_secs;
        t.set(a, s(10));
        t.set(b, s(5));
        assert_eq!(t.next(), Some(s(5)));
        t.set(b, s(20));
        assert_eq!(t.next(), Some(s(10)));
        assert_eq!(t.len(), 2);
        assert_eq!(t.pop_due(s(9)), None);
        assert_eq!(t.pop_due(s(10)), Some(a));
        assert_eq!(t.get(&b), Some(s(20)));
        t.cancel(b);
        assert_eq!(t.next(), None);
        assert_eq!(t.get(&b), None);
    }
}

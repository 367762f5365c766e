//! Timers as data: a table of named deadlines; the next timeout is the minimum.
//!
//! Each [`TimerKey`] names one deadline; setting a key replaces its previous deadline.
//! [`Timers::pop_expired`] hands back, in deadline order, every key whose deadline is at or
//! before `now`, clearing each before it is dispatched, so a spurious or early
//! `handle_timeout` does nothing.

use crate::config::{IfIndex, Prefix};
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// One named deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKey {
    /// Send (or refresh) the registration to one NHS.
    Register {
        /// Interface.
        iface: IfIndex,
        /// NHS protocol address.
        nhs: Ipv4Addr,
    },
    /// Retransmit (or give up) the pending request with this id.
    Retransmit {
        /// Request ID.
        reqid: u32,
    },
    /// Expire a cache entry.
    CacheExpire {
        /// Interface.
        iface: IfIndex,
        /// Entry prefix.
        prefix: Prefix,
    },
}

/// The deadline table.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    by_time: BTreeSet<(Instant, TimerKey)>,
    by_key: BTreeMap<TimerKey, Instant>,
}

impl Timers {
    /// Arm `key` at `at`, replacing any earlier deadline for it.
    pub(crate) fn set(&mut self, key: TimerKey, at: Instant) {
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
    pub(crate) fn get(&self, key: &TimerKey) -> Option<Instant> {
        self.by_key.get(key).copied()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.by_time.first().map(|(t, _)| *t)
    }

    /// Remove and return the earliest key due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<TimerKey> {
        let (t, key) = *self.by_time.first()?;
        if t > now {
            return None;
        }
        self.by_time.remove(&(t, key));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Number of armed deadlines.
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
        let a = TimerKey::Retransmit { reqid: 1 };
        let b = TimerKey::Retransmit { reqid: 2 };
        t.set(a, Instant::from_secs(10));
        t.set(b, Instant::from_secs(5));
        assert_eq!(t.next(), Some(Instant::from_secs(5)));
        t.set(b, Instant::from_secs(20));
        assert_eq!(t.next(), Some(Instant::from_secs(10)));
        assert_eq!(t.len(), 2);
        assert_eq!(t.pop_due(Instant::from_secs(9)), None);
        assert_eq!(t.pop_due(Instant::from_secs(10)), Some(a));
        t.cancel(b);
        assert_eq!(t.next(), None);
        assert_eq!(t.get(&b), None);
    }
}

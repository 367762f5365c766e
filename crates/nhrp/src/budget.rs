//! Send and receive budgets that bound what a flood can make the engine do.
//!
//! * **max-send** (`ip nhrp max-send N every S`) is a leaky bucket: it holds at most `N`
//!   packets and drains at `N` per `S` seconds, so a burst of `N` leaves at once and the usage
//!   shown by `show ip nhrp traffic` decays while the sender is idle (instead of staying at
//!   100 % until a fixed window ends).
//! * **Established peers** have a bucket of their own of the same size: Registration Replies
//!   and Resolution Replies to an NBMA address that holds a registration at least
//!   [`ESTABLISHED_MIN_AGE`] old (a refresh, not a first registration) are charged to it, so a
//!   flood of requests from new (e.g. spoofed) addresses cannot hold back the answers to the
//!   spokes already registered (IOS keeps its replies to registered clients flowing the same
//!   way). Everything else shares the configured quota.
//! * **Unsolicited input**: Resolution Requests and Traffic Indications from an NBMA address
//!   the interface knows nothing about (no cache entry, not an NHS) are admitted at
//!   [`UNKNOWN_SOURCE_RATE`] per second (burst [`UNKNOWN_SOURCE_BURST`]), and Traffic
//!   Indications from anyone at [`TRAFFIC_INDICATION_RATE`] per second (burst
//!   [`TRAFFIC_INDICATION_BURST`]). The rest are dropped and counted
//!   ([`crate::DropReason::RateLimited`]).

use crate::time::Instant;
use std::time::Duration;

/// How old a registration must be before replies to its NBMA address use the established
/// peers' budget.
pub const ESTABLISHED_MIN_AGE: Duration = Duration::from_secs(1);
/// Resolution Requests and Traffic Indications per second admitted from unknown NBMA addresses.
pub const UNKNOWN_SOURCE_RATE: u32 = 20;
/// Burst of [`UNKNOWN_SOURCE_RATE`].
pub const UNKNOWN_SOURCE_BURST: u32 = 50;
/// Traffic Indications per second admitted on one interface, from any source.
pub const TRAFFIC_INDICATION_RATE: u32 = 100;
/// Burst of [`TRAFFIC_INDICATION_RATE`].
pub const TRAFFIC_INDICATION_BURST: u32 = 200;

/// Milli-packets per packet (the bucket level is kept in thousandths to drain smoothly).
const MILLI: u64 = 1000;

/// A leaky bucket: `level` rises by one packet per packet admitted and drains at
/// `capacity` packets per `every`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Current level, in milli-packets.
    level: u64,
    /// When the level was last drained.
    last: Instant,
}

impl Bucket {
    /// Drains the bucket up to `now`.
    fn drain(&mut self, now: Instant, capacity: u32, every: Duration) {
        if now < self.last {
            // The clock went backwards (a test's engine restarted): start afresh.
            self.level = 0;
            self.last = now;
            return;
        }
        let elapsed = u128::from(now.as_millis().saturating_sub(self.last.as_millis()));
        let every_ms = every.as_millis().max(1);
        let drained = elapsed
            .saturating_mul(u128::from(capacity))
            .saturating_mul(u128::from(MILLI))
            / every_ms;
        let drained = u64::try_from(drained).unwrap_or(u64::MAX);
        self.level = self.level.saturating_sub(drained);
        self.last = now;
    }

    /// Admits one packet at `now` if the bucket has room for it.
    pub(crate) fn admit(&mut self, now: Instant, capacity: u32, every: Duration) -> bool {
        self.drain(now, capacity, every);
        let cap = u64::from(capacity).saturating_mul(MILLI);
        if self.level.saturating_add(MILLI) > cap {
            return false;
        }
        self.level += MILLI;
        true
    }

    /// Packets in the bucket at `now` (rounded up), without changing it.
    pub(crate) fn used(&self, now: Instant, capacity: u32, every: Duration) -> u32 {
        let mut b = *self;
        b.drain(now, capacity, every);
        u32::try_from(b.level.div_ceil(MILLI)).unwrap_or(u32::MAX)
    }
}

/// The budgets of one interface.
#[derive(Clone, Debug, Default)]
pub(crate) struct Budgets {
    /// The configured max-send quota, shared by everything but replies to established peers.
    pub(crate) shared: Bucket,
    /// Replies to established peers (same size as the configured quota).
    pub(crate) established: Bucket,
    /// Resolution Requests and Traffic Indications from unknown NBMA addresses.
    pub(crate) unknown_source: Bucket,
    /// Traffic Indications from any source.
    pub(crate) traffic_indication: Bucket,
}

impl Budgets {
    /// Admits one unsolicited packet from an unknown source.
    pub(crate) fn admit_unknown(&mut self, now: Instant) -> bool {
        self.unknown_source.admit(
            now,
            UNKNOWN_SOURCE_BURST,
            per_second(UNKNOWN_SOURCE_BURST, UNKNOWN_SOURCE_RATE),
        )
    }

    /// Admits one Traffic Indication.
    pub(crate) fn admit_traffic_indication(&mut self, now: Instant) -> bool {
        self.traffic_indication.admit(
            now,
            TRAFFIC_INDICATION_BURST,
            per_second(TRAFFIC_INDICATION_BURST, TRAFFIC_INDICATION_RATE),
        )
    }
}

/// The drain interval that empties a bucket of `burst` packets at `rate` per second.
fn per_second(burst: u32, rate: u32) -> Duration {
    Duration::from_millis(u64::from(burst) * 1000 / u64::from(rate.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_admits_a_burst_then_the_rate_and_decays_when_idle() {
        let every = Duration::from_secs(10);
        let mut b = Bucket::default();
        let t0 = Instant::from_secs(100);
        for _ in 0..10 {
            assert!(b.admit(t0, 10, every));
        }
        assert!(!b.admit(t0, 10, every));
        assert_eq!(b.used(t0, 10, every), 10);
        // One packet drains per second.
        assert!(!b.admit(Instant::from_millis(100_500), 10, every));
        assert!(b.admit(Instant::from_secs(101), 10, every));
        // Idle: the usage decays smoothly to nothing.
        assert_eq!(b.used(Instant::from_secs(106), 10, every), 5);
        assert_eq!(b.used(Instant::from_secs(111), 10, every), 0);
        // A clock that goes backwards starts afresh.
        assert!(b.admit(Instant::from_secs(1), 10, every));
    }

    #[test]
    fn unsolicited_budgets_hold_their_rates() {
        let mut g = Budgets::default();
        let t0 = Instant::from_secs(5);
        let admitted = (0..1000).filter(|_| g.admit_unknown(t0)).count();
        assert_eq!(admitted, UNKNOWN_SOURCE_BURST as usize);
        let t1 = Instant::from_secs(6);
        let more = (0..1000).filter(|_| g.admit_unknown(t1)).count();
        assert_eq!(more, UNKNOWN_SOURCE_RATE as usize);
        let ti = (0..1000).filter(|_| g.admit_traffic_indication(t0)).count();
        assert_eq!(ti, TRAFFIC_INDICATION_BURST as usize);
    }
}

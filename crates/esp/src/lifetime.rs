//! SA lifetimes (RFC 4301 §4.4.2.1): soft and hard limits in time, bytes and packets, and
//! an idle timeout. Nothing here reads a clock: the caller passes `now` as a
//! [`Duration`] since an epoch of its choosing, the same epoch for every call.

use std::time::Duration;

/// The limits of one SA. `None` means no limit of that kind. A soft limit asks for a
/// rekey; a hard limit ends the SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LifetimeLimits {
    /// Soft limit on the SA's age.
    pub soft_time: Option<Duration>,
    /// Hard limit on the SA's age.
    pub hard_time: Option<Duration>,
    /// Soft limit on the payload bytes protected in either direction.
    pub soft_bytes: Option<u64>,
    /// Hard limit on the payload bytes protected in either direction.
    pub hard_bytes: Option<u64>,
    /// Soft limit on the packets protected in either direction.
    pub soft_packets: Option<u64>,
    /// Hard limit on the packets protected in either direction.
    pub hard_packets: Option<u64>,
    /// The SA ends after this long without a packet in either direction.
    pub idle: Option<Duration>,
}

/// Which limit an SA reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Its age.
    Time,
    /// Its byte volume.
    Bytes,
    /// Its packet count.
    Packets,
    /// Its idle timeout (always hard).
    Idle,
    /// Its outbound sequence numbers (soft near the end, hard when exhausted: a sequence
    /// number never cycles, RFC 4303 §3.3.3).
    Sequence,
}

/// Where an SA stands against its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifetime {
    /// Within every limit.
    Ok,
    /// A soft limit was reached: rekey now.
    SoftExpired(Limit),
    /// A hard limit was reached: the SA must no longer be used.
    HardExpired(Limit),
}

impl Lifetime {
    /// Whether a hard limit was reached.
    pub fn is_hard(self) -> bool {
        matches!(self, Lifetime::HardExpired(_))
    }

    /// Whether a soft (and no hard) limit was reached.
    pub fn is_soft(self) -> bool {
        matches!(self, Lifetime::SoftExpired(_))
    }
}

/// What an SA has used of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Time since the SA was installed.
    pub age: Duration,
    /// Time since the last packet (or since installation).
    pub idle_for: Duration,
    /// Payload bytes, the larger of the two directions.
    pub bytes: u64,
    /// Packets, the larger of the two directions.
    pub packets: u64,
}

fn reached<T: PartialOrd + Copy>(limit: Option<T>, used: T) -> bool {
    limit.is_some_and(|l| used >= l)
}

impl LifetimeLimits {
    /// Only a hard and a soft time limit, as the IKE engine negotiates them.
    pub fn time(soft: Duration, hard: Duration) -> LifetimeLimits {
        LifetimeLimits {
            soft_time: Some(soft),
            hard_time: Some(hard),
            ..LifetimeLimits::default()
        }
    }

    /// Where `usage` stands: the hard limits are looked at first, then the soft ones.
    pub fn evaluate(&self, usage: &Usage) -> Lifetime {
        if reached(self.hard_time, usage.age) {
            Lifetime::HardExpired(Limit::Time)
        } else if reached(self.hard_bytes, usage.bytes) {
            Lifetime::HardExpired(Limit::Bytes)
        } else if reached(self.hard_packets, usage.packets) {
            Lifetime::HardExpired(Limit::Packets)
        } else if reached(self.idle, usage.idle_for) {
            Lifetime::HardExpired(Limit::Idle)
        } else if reached(self.soft_time, usage.age) {
            Lifetime::SoftExpired(Limit::Time)
        } else if reached(self.soft_bytes, usage.bytes) {
            Lifetime::SoftExpired(Limit::Bytes)
        } else if reached(self.soft_packets, usage.packets) {
            Lifetime::SoftExpired(Limit::Packets)
        } else {
            Lifetime::Ok
        }
    }

    /// Whether `bytes` and `packets` so far leave room for one more packet of
    /// `next_bytes` (the data path's check of the hard volume limits).
    pub fn volume_allows(&self, bytes: u64, packets: u64, next_bytes: u64) -> bool {
        self.hard_packets
            .is_none_or(|l| packets.saturating_add(1) <= l)
            && self
                .hard_bytes
                .is_none_or(|l| bytes.saturating_add(next_bytes) <= l)
    }

    /// What remains before the hard time and byte limits at `usage`, for `show` commands
    /// (Cisco's "remaining key lifetime (k/sec)").
    pub fn remaining(&self, usage: &Usage) -> (Option<u64>, Option<Duration>) {
        (
            self.hard_bytes.map(|l| l.saturating_sub(usage.bytes)),
            self.hard_time.map(|l| l.saturating_sub(usage.age)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn hard_wins_and_order() {
        let l = LifetimeLimits {
            soft_time: Some(secs(10)),
            hard_time: Some(secs(20)),
            soft_bytes: Some(100),
            hard_bytes: Some(200),
            soft_packets: Some(5),
            hard_packets: Some(10),
            idle: Some(secs(30)),
        };
        let u = |age, idle, bytes, packets| Usage {
            age: secs(age),
            idle_for: secs(idle),
            bytes,
            packets,
        };
        assert_eq!(l.evaluate(&u(0, 0, 0, 0)), Lifetime::Ok);
        assert_eq!(
            l.evaluate(&u(10, 0, 0, 0)),
            Lifetime::SoftExpired(Limit::Time)
        );
        assert_eq!(
            l.evaluate(&u(0, 0, 100, 0)),
            Lifetime::SoftExpired(Limit::Bytes)
        );
        assert_eq!(
            l.evaluate(&u(0, 0, 0, 5)),
            Lifetime::SoftExpired(Limit::Packets)
        );
        assert_eq!(
            l.evaluate(&u(15, 0, 250, 0)),
            Lifetime::HardExpired(Limit::Bytes)
        );
        assert_eq!(
            l.evaluate(&u(20, 0, 0, 0)),
            Lifetime::HardExpired(Limit::Time)
        );
        assert_eq!(
            l.evaluate(&u(1, 30, 0, 0)),
            Lifetime::HardExpired(Limit::Idle)
        );
        assert_eq!(
            l.evaluate(&u(1, 0, 0, 10)),
            Lifetime::HardExpired(Limit::Packets)
        );
        assert!(Lifetime::HardExpired(Limit::Idle).is_hard());
        assert!(Lifetime::SoftExpired(Limit::Idle).is_soft());
        assert_eq!(
            LifetimeLimits::default().evaluate(&u(1 << 40, 1 << 40, u64::MAX, u64::MAX)),
            Lifetime::Ok
        );
        assert_eq!(l.remaining(&u(5, 0, 50, 0)), (Some(150), Some(secs(15))));
    }

    #[test]
    fn volume_check() {
        let l = LifetimeLimits {
            hard_bytes: Some(100),
            hard_packets: Some(3),
            ..LifetimeLimits::time(secs(1), secs(2))
        };
        assert!(l.volume_allows(0, 0, 100));
        assert!(!l.volume_allows(0, 0, 101));
        assert!(l.volume_allows(50, 1, 50));
        assert!(l.volume_allows(0, 2, 1), "the third packet is the last");
        assert!(!l.volume_allows(0, 3, 1));
        assert!(LifetimeLimits::default().volume_allows(u64::MAX, u64::MAX, u64::MAX));
    }
}

//! Rate limits for the log lines a flood causes, always on (unlike `logging dmvpn rate-limit`,
//! which only folds identical lines).
//!
//! The lines about dropped, refused or quota-limited packets differ in their addresses, so a
//! flood from spoofed sources would write one line per packet. Here each *class* of line
//! (refused registrations, dropped packets, max-send quota, Error Indications sent, client
//! registrations) on one interface has a token bucket: [`FLOOD_LOG_BURST`] lines at once, then
//! [`FLOOD_LOG_RATE`] per second ([`REGISTERED_LOG_BURST`] and [`REGISTERED_LOG_RATE`] for
//! registrations, so a restart storm of a few hundred spokes is still logged line by line).
//! The first line logged after some were held back ends with `(N similar messages
//! suppressed)`. Pure: the caller passes the time.

use dmvpn_nhrp::{Event, Instant};
use std::collections::HashMap;

/// Lines of one class logged at once.
pub const FLOOD_LOG_BURST: u32 = 10;
/// Lines of one class per second after the burst.
pub const FLOOD_LOG_RATE: u32 = 2;
/// `Client … Registered` lines logged at once.
pub const REGISTERED_LOG_BURST: u32 = 300;
/// `Client … Registered` lines per second after the burst.
pub const REGISTERED_LOG_RATE: u32 = 50;

/// Interfaces × classes remembered at most (the table never grows beyond it).
const CAPACITY: usize = 1024;

/// The class of a flood-prone event with its burst and rate, or `None` for events that are
/// always logged.
fn class(event: &Event) -> Option<(&'static str, u32, u32)> {
    let (name, burst, rate) = match event {
        Event::ClientRefused { .. } => ("refused", FLOOD_LOG_BURST, FLOOD_LOG_RATE),
        Event::Dropped { .. } => ("dropped", FLOOD_LOG_BURST, FLOOD_LOG_RATE),
        Event::MaxSendExceeded { .. } => ("quota", FLOOD_LOG_BURST, FLOOD_LOG_RATE),
        Event::ErrorSent { .. } => ("error_sent", FLOOD_LOG_BURST, FLOOD_LOG_RATE),
        Event::ErrorReceived { .. } => ("error_received", FLOOD_LOG_BURST, FLOOD_LOG_RATE),
        Event::ClientRegistered { .. } => ("registered", REGISTERED_LOG_BURST, REGISTERED_LOG_RATE),
        _ => return None,
    };
    Some((name, burst, rate))
}

#[derive(Debug, Clone, Copy)]
struct State {
    /// Tokens left, in thousandths of a line.
    tokens: u64,
    last: Instant,
    suppressed: u64,
}

/// The per-class limiter of one daemon.
#[derive(Debug, Default)]
pub struct FloodLog {
    classes: HashMap<(&'static str, String), State>,
}

impl FloodLog {
    /// Whether the line for `event` on `iface` may be logged at `now`: `Some(n)` with the
    /// number of lines of its class held back since the last one logged, `None` to hold it
    /// back.
    pub fn admit(&mut self, event: &Event, iface: &str, now: Instant) -> Option<u64> {
        let Some((name, burst, rate)) = class(event) else {
            return Some(0);
        };
        let cap = u64::from(burst) * 1000;
        if self.classes.len() >= CAPACITY && !self.classes.contains_key(&(name, iface.into())) {
            self.classes.clear();
        }
        let s = self
            .classes
            .entry((name, iface.to_owned()))
            .or_insert(State {
                tokens: cap,
                last: now,
                suppressed: 0,
            });
        let elapsed = now.as_millis().saturating_sub(s.last.as_millis());
        s.tokens = s
            .tokens
            .saturating_add(elapsed.saturating_mul(u64::from(rate)))
            .min(cap);
        s.last = now;
        if s.tokens < 1000 {
            s.suppressed = s.suppressed.saturating_add(1);
            return None;
        }
        s.tokens -= 1000;
        Some(std::mem::take(&mut s.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn refused(n: u8) -> Event {
        Event::ClientRefused {
            iface: 1,
            proto: Ipv4Addr::new(10, 9, 0, n),
            nbma: Ipv4Addr::new(198, 18, 0, n),
            code: 4,
        }
    }

    #[test]
    fn a_flood_of_different_lines_is_bounded_and_counted() {
        let mut f = FloodLog::default();
        let t0 = Instant::from_secs(10);
        let logged = (0..=255u8)
            .filter(|n| f.admit(&refused(*n), "Tunnel0", t0).is_some())
            .count();
        assert_eq!(logged, FLOOD_LOG_BURST as usize);
        // Another interface and other classes are not held back by it.
        assert_eq!(f.admit(&refused(1), "Tunnel1", t0), Some(0));
        let up = Event::NhsUp {
            iface: 1,
            nhs: Ipv4Addr::new(10, 0, 0, 1),
        };
        assert_eq!(f.admit(&up, "Tunnel0", t0), Some(0));
        // Half a second later one more line passes and says how many were held back.
        let t1 = Instant::from_millis(10_500);
        assert_eq!(f.admit(&refused(7), "Tunnel0", t1), Some(246));
        assert_eq!(f.admit(&refused(8), "Tunnel0", t1), None);
    }
}

//! Engine events as the seeds' syslog lines, logged through `tracing`.
//!
//! The text follows Cisco's DMVPN messages (seed 001): `%DMVPN-5-NHRP_NHS: Tunnel0 10.0.0.1 is
//! UP`, `%DMVPN-5-NHRP_CACHE: Client 10.0.0.2 on Tunnel0 Registered.`, `%DMVPN-3-NHRP_ERROR:
//! Registration Request failed for 10.0.0.1 on Tunnel0`, `%NHRP-4-QUOTA: ...`. The number in
//! the tag is the syslog severity; it also picks the tracing level (3 error, 4 warn, 5 info,
//! 7 debug). [`format_event`] is pure so the wording is unit-tested.

use dmvpn_nhrp::{Event, RemoveReason};

/// Syslog severity of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 3: error.
    Error,
    /// 4: warning.
    Warning,
    /// 5: notice.
    Notice,
    /// 7: debug.
    Debug,
}

/// The seed-form line for an engine event on interface `iface_name`, with its severity, or
/// `None` for events that are not logged.
pub fn format_event(event: &Event, iface_name: &str) -> Option<(Severity, String)> {
    let line = match event {
        Event::NhsUp { nhs, .. } => (
            Severity::Notice,
            format!("%DMVPN-5-NHRP_NHS: {iface_name} {nhs} is UP"),
        ),
        Event::NhsDown { nhs, .. } => (
            Severity::Notice,
            format!("%DMVPN-5-NHRP_NHS: {iface_name} {nhs} is DOWN"),
        ),
        Event::RegistrationAccepted { nhs, .. } => (
            Severity::Debug,
            format!("%DMVPN-7-NHRP_REG: Registration Reply from {nhs} on {iface_name} accepted"),
        ),
        Event::RegistrationRefused { nhs, code, .. } => (
            Severity::Error,
            format!(
                "%DMVPN-3-NHRP_ERROR: Registration Request failed for {nhs} on {iface_name} (code {code})"
            ),
        ),
        Event::ClientRegistered {
            proto, nbma, nat, ..
        } => (
            Severity::Notice,
            format!(
                "%DMVPN-5-NHRP_CACHE: Client {proto} on {iface_name} Registered. (NBMA {nbma}{})",
                if *nat { ", NATed" } else { "" }
            ),
        ),
        Event::ClientRefused {
            proto, nbma, code, ..
        } => (
            Severity::Error,
            format!(
                "%DMVPN-3-NHRP_ERROR: Registration of client {proto} (NBMA {nbma}) on {iface_name} refused (code {code})"
            ),
        ),
        Event::IdentityRefused {
            proto,
            nbma,
            registration,
            ..
        } => (
            Severity::Warning,
            format!(
                "%DMVPN-4-NHRP_IDENTITY: {} for {proto} from NBMA {nbma} on {iface_name} refused: the peer's IKE identity may not claim it (ip nhrp identity-map)",
                if *registration {
                    "Registration"
                } else {
                    "Resolution Reply"
                }
            ),
        ),
        Event::CacheAdded { prefix, nbma, .. } => (
            Severity::Debug,
            match nbma {
                Some(n) => {
                    format!("%DMVPN-7-NHRP_CACHE: {prefix} via NBMA {n} on {iface_name} added")
                }
                None => {
                    format!("%DMVPN-7-NHRP_CACHE: {prefix} on {iface_name} added (incomplete)")
                }
            },
        ),
        Event::CacheRemoved { prefix, reason, .. } => (
            Severity::Debug,
            format!(
                "%DMVPN-7-NHRP_CACHE: {prefix} on {iface_name} removed ({})",
                match reason {
                    RemoveReason::Expired => "expired",
                    RemoveReason::Purged => "purged",
                    RemoveReason::Cleared => "cleared",
                    RemoveReason::Replaced => "replaced",
                }
            ),
        ),
        Event::RedirectSent { src, dst, .. } => (
            Severity::Notice,
            format!(
                "%DMVPN-5-NHRP_REDIRECT: Traffic Indication sent to {src} on {iface_name} for {dst}"
            ),
        ),
        Event::RedirectReceived { dst, .. } => (
            Severity::Notice,
            format!(
                "%DMVPN-5-NHRP_REDIRECT: Traffic Indication received on {iface_name} for {dst}"
            ),
        ),
        Event::ResolutionDone {
            dst, prefix, nbma, ..
        } => (
            Severity::Notice,
            format!(
                "%DMVPN-5-NHRP_RESOLVE: {dst} resolved on {iface_name}: {prefix} at NBMA {nbma}"
            ),
        ),
        Event::ResolutionFailed { dst, code, .. } => (
            Severity::Error,
            match code {
                Some(c) => format!(
                    "%DMVPN-3-NHRP_ERROR: Resolution Request failed for {dst} on {iface_name} (code {c})"
                ),
                None => format!(
                    "%DMVPN-3-NHRP_ERROR: Resolution Request failed for {dst} on {iface_name} (no reply)"
                ),
            },
        ),
        Event::PurgeReceived { from, removed, .. } => (
            Severity::Notice,
            format!(
                "%DMVPN-5-NHRP_PURGE: Purge Request from {from} on {iface_name} removed {removed} entries"
            ),
        ),
        Event::ErrorReceived { from, code, .. } => (
            Severity::Error,
            format!(
                "%DMVPN-3-NHRP_ERROR: Error Indication (code {code}) received from {from} on {iface_name}"
            ),
        ),
        Event::ErrorSent { to, code, .. } => (
            Severity::Warning,
            format!(
                "%DMVPN-4-NHRP_ERROR: Error Indication (code {code}) sent to {to} on {iface_name}"
            ),
        ),
        Event::Dropped { from, reason, .. } => (
            Severity::Debug,
            format!("%DMVPN-7-NHRP_DROP: packet from {from} on {iface_name} dropped: {reason:?}"),
        ),
        Event::MaxSendExceeded { packet, .. } => (
            Severity::Warning,
            format!("%NHRP-4-QUOTA: Max-send quota exceeded on {iface_name} ({packet:?} not sent)"),
        ),
    };
    Some(line)
}

/// Logs an engine event in the seed form; `promote` raises debug-level lines to info (when
/// `debug nhrp events`/`cache` or `debug dmvpn detail` is on).
pub fn log_event(event: &Event, iface_name: &str, promote: bool) {
    if let Some((severity, line)) = format_event(event, iface_name) {
        emit(severity, &line, promote);
    }
}

/// `logging dmvpn rate-limit SECONDS`: an identical event line is logged at most once per
/// window; the next line logged after a suppressed run says how many were suppressed. Pure:
/// the caller passes the time.
#[derive(Debug, Default)]
pub struct LineLimiter {
    /// The window in milliseconds; `None` logs everything.
    window_ms: Option<u64>,
    /// Per line: when it was last logged and how many copies were suppressed since.
    seen: std::collections::HashMap<String, (dmvpn_nhrp::Instant, u64)>,
}

/// Lines remembered at most; older ones are forgotten first when the table is full.
const LIMITER_CAPACITY: usize = 4096;

impl LineLimiter {
    /// A limiter with a window of `secs` seconds (`None`: no limit).
    pub fn new(secs: Option<u32>) -> LineLimiter {
        LineLimiter {
            window_ms: secs.map(|s| u64::from(s).saturating_mul(1000)),
            seen: std::collections::HashMap::new(),
        }
    }

    /// Changes the window (after a configuration reload).
    pub fn set_window(&mut self, secs: Option<u32>) {
        let fresh = LineLimiter::new(secs);
        if fresh.window_ms != self.window_ms {
            *self = fresh;
        }
    }

    /// Whether `line` may be logged at `now`: `Some(n)` with the number of identical lines
    /// suppressed since it was last logged, `None` to suppress it.
    pub fn admit(&mut self, line: &str, now: dmvpn_nhrp::Instant) -> Option<u64> {
        let Some(window) = self.window_ms else {
            return Some(0);
        };
        if let Some((last, suppressed)) = self.seen.get_mut(line) {
            if now.as_millis().saturating_sub(last.as_millis()) < window {
                *suppressed = suppressed.saturating_add(1);
                return None;
            }
            let n = *suppressed;
            *last = now;
            *suppressed = 0;
            return Some(n);
        }
        if self.seen.len() >= LIMITER_CAPACITY {
            self.seen
                .retain(|_, (last, _)| now.as_millis().saturating_sub(last.as_millis()) < window);
            if self.seen.len() >= LIMITER_CAPACITY {
                self.seen.clear();
            }
        }
        self.seen.insert(line.to_string(), (now, 0));
        Some(0)
    }
}

/// [`log_event`] through a [`LineLimiter`] (`logging dmvpn rate-limit`): repeated identical
/// lines within the window are dropped, and the next one logged carries
/// `(N messages suppressed)`; `similar` lines of the same class held back by the flood limits
/// ([`crate::flood_log`]) are reported as `(N similar messages suppressed)`.
pub fn log_event_limited(
    event: &Event,
    iface_name: &str,
    promote: bool,
    limiter: &mut LineLimiter,
    now: dmvpn_nhrp::Instant,
    similar: u64,
) {
    let Some((severity, line)) = format_event(event, iface_name) else {
        return;
    };
    let Some(suppressed) = limiter.admit(&line, now) else {
        return;
    };
    let mut line = if suppressed > 0 {
        format!("{line} ({suppressed} messages suppressed)")
    } else {
        line
    };
    if similar > 0 {
        line.push_str(&format!(" ({similar} similar messages suppressed)"));
    }
    emit(severity, &line, promote);
}

fn emit(severity: Severity, line: &str, promote: bool) {
    let severity = if promote && severity == Severity::Debug {
        Severity::Notice
    } else {
        severity
    };
    match severity {
        Severity::Error => tracing::error!("{line}"),
        Severity::Warning => tracing::warn!("{line}"),
        Severity::Notice => tracing::info!("{line}"),
        Severity::Debug => tracing::debug!("{line}"),
    }
}

/// IOS's name of an NHRP packet type (`Registration Request`, the workspace's one definition
/// in `dmvpn-wire`), read from the packet's fixed header (`ar$op.type`); `unknown` when the
/// packet is too short or the type unknown.
pub fn packet_type_name(packet: &[u8]) -> &'static str {
    dmvpn_wire::nhrp::Packet::new_checked(packet)
        .ok()
        .and_then(|p| p.packet_type().known())
        .map_or("unknown", |k| k.name())
}

/// The `debug nhrp packet` line for a packet sent (`outbound`) or received on `iface_name`.
pub fn packet_line(
    outbound: bool,
    iface_name: &str,
    peer: std::net::Ipv4Addr,
    packet: &[u8],
) -> String {
    format!(
        "NHRP: {} {} via {iface_name} vrf 0, packet size: {}, {} NBMA {peer}",
        if outbound { "Send" } else { "Receive" },
        packet_type_name(packet),
        packet.len(),
        if outbound { "dst" } else { "src" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn packet_lines_name_the_type() {
        use std::net::IpAddr;
        let repr = dmvpn_wire::nhrp::Repr::registration_request(
            IpAddr::V4(Ipv4Addr::new(172, 16, 1, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            1,
            true,
        );
        let mut pkt = vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut pkt).expect("emit");
        pkt.truncate(n);
        assert_eq!(
            packet_line(true, "Tunnel0", Ipv4Addr::new(172, 17, 0, 1), &pkt),
            format!(
                "NHRP: Send Registration Request via Tunnel0 vrf 0, packet size: {n}, dst NBMA 172.17.0.1"
            )
        );
        assert_eq!(packet_type_name(&pkt[..10]), "unknown");
    }

    #[test]
    fn nhs_and_registration_lines_match_the_seed() {
        let up = Event::NhsUp {
            iface: 0,
            nhs: Ipv4Addr::new(10, 0, 0, 1),
        };
        assert_eq!(
            format_event(&up, "Tunnel0"),
            Some((
                Severity::Notice,
                "%DMVPN-5-NHRP_NHS: Tunnel0 10.0.0.1 is UP".to_string()
            ))
        );
        let reg = Event::ClientRegistered {
            iface: 0,
            proto: Ipv4Addr::new(10, 0, 0, 2),
            nbma: Ipv4Addr::new(172, 16, 1, 1),
            nat: false,
        };
        let (sev, line) = format_event(&reg, "Tunnel0").expect("logged");
        assert_eq!(sev, Severity::Notice);
        assert!(
            line.starts_with("%DMVPN-5-NHRP_CACHE: Client 10.0.0.2 on Tunnel0 Registered."),
            "{line}"
        );
        let refused = Event::RegistrationRefused {
            iface: 0,
            nhs: Ipv4Addr::new(10, 0, 0, 1),
            code: 14,
        };
        let (sev, line) = format_event(&refused, "Tunnel0").expect("logged");
        assert_eq!(sev, Severity::Error);
        assert!(
            line.starts_with(
                "%DMVPN-3-NHRP_ERROR: Registration Request failed for 10.0.0.1 on Tunnel0"
            ),
            "{line}"
        );
    }

    #[test]
    fn limiter_drops_repeats_within_the_window_and_counts_them() {
        use dmvpn_nhrp::Instant;
        let mut l = LineLimiter::new(Some(10));
        assert_eq!(l.admit("a", Instant::from_secs(0)), Some(0));
        assert_eq!(l.admit("a", Instant::from_secs(1)), None);
        assert_eq!(l.admit("a", Instant::from_secs(9)), None);
        // A different line is not limited by the first.
        assert_eq!(l.admit("b", Instant::from_secs(9)), Some(0));
        assert_eq!(l.admit("a", Instant::from_secs(10)), Some(2));
        assert_eq!(l.admit("a", Instant::from_secs(11)), None);
        // Without a window everything passes.
        let mut none = LineLimiter::new(None);
        for t in 0..3 {
            assert_eq!(none.admit("a", Instant::from_secs(t)), Some(0));
        }
        // Changing the window forgets the history; setting the same one keeps it.
        l.set_window(Some(10));
        assert_eq!(l.admit("a", Instant::from_secs(12)), None);
        l.set_window(Some(5));
        assert_eq!(l.admit("a", Instant::from_secs(12)), Some(0));
    }
}

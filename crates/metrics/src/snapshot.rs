//! [`MetricsSnapshot`]: the numbers one scrape exposes, built from the control
//! API's snapshot types so they are by construction the ones the show
//! commands print.
//!
//! - [`MetricsSnapshot::from_mgmt`] takes the answers of `show dmvpn`,
//!   `show ip nhrp traffic` and `show ip nhrp nhs`.
//! - [`MetricsSnapshot::from_control`] asks a running daemon for exactly those
//!   three answers over any request/response line transport (the control
//!   socket, or the daemon's own control channel).
//! - [`Extras`] carries what the control API does not report (Error
//!   Indications by code, redirect rate-limit drops, receive drops by reason);
//!   the daemon fills it from the NHRP engine when it has it.

use std::collections::BTreeMap;
use std::future::Future;

use dmvpn_mgmt::{
    DmvpnStatus, InterfaceFilter, NhsReport, Payload, Request, Response, ShowDmvpn, ShowNhs,
    TrafficReport, decode_response, encode_request,
};

/// Direction of a counted packet, as the `direction` label spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Sent by this node (`sent`).
    Sent,
    /// Received by this node (`received`).
    Received,
}

impl Direction {
    /// The label value: `sent` or `received`.
    pub fn as_label(self) -> &'static str {
        match self {
            Direction::Sent => "sent",
            Direction::Received => "received",
        }
    }
}

/// Counters the control API does not carry, keyed by interface name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// Error Indications by (interface, direction, RFC 2332 §5.2.7 error code).
    pub error_codes: BTreeMap<(String, Direction, u16), u64>,
    /// Traffic Indications (redirects) not sent because the per-flow redirect
    /// rate limit held them back, by interface.
    pub redirect_rate_limited: BTreeMap<String, u64>,
    /// Received NHRP packets dropped, by (interface, reason); the reason is a
    /// snake_case word such as `authentication_failure`.
    pub receive_drops: BTreeMap<(String, String), u64>,
}

impl Extras {
    /// Adds `count` Error Indications with `code` in `direction` on `interface`.
    pub fn add_error_code(&mut self, interface: &str, direction: Direction, code: u16, count: u64) {
        let slot = self
            .error_codes
            .entry((interface.to_owned(), direction, code))
            .or_insert(0);
        *slot = slot.saturating_add(count);
    }

    /// Adds a whole per-code table (the NHRP engine's `error_codes` of one
    /// direction) for `interface`.
    pub fn add_error_codes(
        &mut self,
        interface: &str,
        direction: Direction,
        codes: &BTreeMap<u16, u64>,
    ) {
        for (code, count) in codes {
            self.add_error_code(interface, direction, *code, *count);
        }
    }

    /// Adds a whole per-reason drop table (the NHRP engine's `drops`) for
    /// `interface`; each reason's `Debug` name (`AuthenticationFailure`)
    /// becomes a snake_case label value (`authentication_failure`).
    pub fn add_receive_drops<R: std::fmt::Debug>(
        &mut self,
        interface: &str,
        drops: &BTreeMap<R, u64>,
    ) {
        for (reason, count) in drops {
            self.add_receive_drop(interface, &snake_case(&format!("{reason:?}")), *count);
        }
    }

    /// Adds `count` rate-limited redirects on `interface`.
    pub fn add_redirect_rate_limited(&mut self, interface: &str, count: u64) {
        let slot = self
            .redirect_rate_limited
            .entry(interface.to_owned())
            .or_insert(0);
        *slot = slot.saturating_add(count);
    }

    /// Adds `count` received packets dropped for `reason` on `interface`.
    pub fn add_receive_drop(&mut self, interface: &str, reason: &str, count: u64) {
        let slot = self
            .receive_drops
            .entry((interface.to_owned(), reason.to_owned()))
            .or_insert(0);
        *slot = slot.saturating_add(count);
    }
}

/// `AuthenticationFailure` → `authentication_failure`; characters other than
/// ASCII letters and digits become `_`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// Everything one scrape exposes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// `show dmvpn`: interfaces, peers and their packet counters.
    pub dmvpn: DmvpnStatus,
    /// `show ip nhrp traffic`: NHRP packets per type and the max-send quota.
    pub traffic: TrafficReport,
    /// `show ip nhrp nhs`: the NHS of each interface.
    pub nhs: NhsReport,
    /// Counters the control API does not report.
    pub extras: Extras,
    /// `show crypto ikev2 sa` and `show crypto ipsec sa`, when the daemon answers them.
    pub crypto: Option<(dmvpn_mgmt::IkeSaReport, dmvpn_mgmt::IpsecSaReport)>,
}

/// Why [`MetricsSnapshot::from_control`] could not build a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum ControlQueryError {
    /// The transport gave no answer (daemon gone, channel closed).
    #[error("no answer from the daemon to {0}")]
    NoAnswer(&'static str),
    /// The answer did not decode.
    #[error("bad answer from the daemon to {command}: {source}")]
    Decode {
        /// The show command asked.
        command: &'static str,
        /// The decoding error.
        source: dmvpn_mgmt::ProtocolError,
    },
    /// The daemon answered with an error message.
    #[error("the daemon refused {command}: {message}")]
    Refused {
        /// The show command asked.
        command: &'static str,
        /// The daemon's message.
        message: String,
    },
    /// The daemon answered with another kind of payload.
    #[error("the daemon answered {0} with an unexpected payload")]
    Unexpected(&'static str),
}

impl MetricsSnapshot {
    /// A snapshot of the three show answers (cloned), with no [`Extras`].
    pub fn from_mgmt(dmvpn: &DmvpnStatus, traffic: &TrafficReport, nhs: &NhsReport) -> Self {
        MetricsSnapshot {
            dmvpn: dmvpn.clone(),
            traffic: traffic.clone(),
            nhs: nhs.clone(),
            extras: Extras::default(),
            crypto: None,
        }
    }

    /// This snapshot with `extras` attached.
    pub fn with_extras(mut self, extras: Extras) -> Self {
        self.extras = extras;
        self
    }

    /// Asks a daemon for `show dmvpn`, `show ip nhrp traffic`,
    /// `show ip nhrp nhs` (all interfaces) and, when it has IPsec, `show crypto ikev2 sa`
    /// and `show crypto ipsec sa` through `ask`, which sends one
    /// request line and resolves to the answer line (`None` when the daemon
    /// is unreachable).
    pub async fn from_control<A, F>(ask: A) -> Result<Self, ControlQueryError>
    where
        A: Fn(String) -> F,
        F: Future<Output = Option<String>>,
    {
        let dmvpn = match query(&ask, Request::ShowDmvpn(ShowDmvpn::default())).await? {
            Payload::Dmvpn(d) => d,
            _ => return Err(ControlQueryError::Unexpected("show dmvpn")),
        };
        let traffic =
            match query(&ask, Request::ShowIpNhrpTraffic(InterfaceFilter::default())).await? {
                Payload::Traffic(t) => t,
                _ => return Err(ControlQueryError::Unexpected("show ip nhrp traffic")),
            };
        let nhs = match query(&ask, Request::ShowIpNhrpNhs(ShowNhs::default())).await? {
            Payload::Nhs(n) => n,
            _ => return Err(ControlQueryError::Unexpected("show ip nhrp nhs")),
        };
        // IPsec: a daemon without it (or an older one) refuses; its metrics are left out.
        let ike = query(
            &ask,
            Request::ShowCryptoIkev2Sa(dmvpn_mgmt::ShowCryptoIkev2Sa::default()),
        )
        .await;
        let ipsec = query(
            &ask,
            Request::ShowCryptoIpsecSa(dmvpn_mgmt::ShowCryptoIpsecSa::default()),
        )
        .await;
        let crypto = match (ike, ipsec) {
            (Ok(Payload::IkeSas(i)), Ok(Payload::IpsecSas(e))) => Some((i, e)),
            _ => None,
        };
        Ok(MetricsSnapshot {
            dmvpn,
            traffic,
            nhs,
            extras: Extras::default(),
            crypto,
        })
    }
}

async fn query<A, F>(ask: &A, request: Request) -> Result<Payload, ControlQueryError>
where
    A: Fn(String) -> F,
    F: Future<Output = Option<String>>,
{
    let command = request.command_name();
    let line = ask(encode_request(&request))
        .await
        .ok_or(ControlQueryError::NoAnswer(command))?;
    match decode_response(line.trim_end()) {
        Ok(Response::Ok { payload }) => Ok(payload),
        Ok(Response::Error { message }) => Err(ControlQueryError::Refused { command, message }),
        Err(source) => Err(ControlQueryError::Decode { command, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
    enum Reason {
        AuthenticationFailure,
        Malformed,
        Odd(u8),
    }

    #[test]
    fn engine_tables_become_labels() {
        let mut e = Extras::default();
        let drops = BTreeMap::from([
            (Reason::AuthenticationFailure, 2),
            (Reason::Malformed, 1),
            (Reason::Odd(7), 1),
        ]);
        e.add_receive_drops("Tunnel0", &drops);
        e.add_receive_drops("Tunnel0", &drops);
        let got: Vec<_> = e.receive_drops.iter().collect();
        assert_eq!(
            got,
            vec![
                (&("Tunnel0".into(), "authentication_failure".into()), &4),
                (&("Tunnel0".into(), "malformed".into()), &2),
                (&("Tunnel0".into(), "odd_7".into()), &2),
            ]
        );
        e.add_error_codes(
            "Tunnel0",
            Direction::Sent,
            &BTreeMap::from([(11, 3), (6, u64::MAX)]),
        );
        e.add_error_code("Tunnel0", Direction::Sent, 6, 5);
        assert_eq!(e.error_codes[&("Tunnel0".into(), Direction::Sent, 11)], 3);
        assert_eq!(
            e.error_codes[&("Tunnel0".into(), Direction::Sent, 6)],
            u64::MAX
        );
    }
}

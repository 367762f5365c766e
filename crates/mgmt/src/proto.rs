//! The control protocol: requests, responses and their line codec.
//!
//! Transport: a Unix stream socket. The client writes one request as a single
//! line of JSON terminated by `\n`; the daemon answers with one response line.
//! A connection may carry several request/response pairs in turn.
//!
//! Every message carries `"version": 1` ([`PROTOCOL_VERSION`]) next to its
//! other fields:
//!
//! ```json
//! {"version":1,"command":"show_ip_nhrp","brief":false,"address":null,"interface":"Tunnel0"}
//! {"version":1,"status":"ok","payload":{"kind":"nhrp_cache","data":{"entries":[]}}}
//! {"version":1,"status":"error","message":"no such interface: Tunnel9"}
//! ```
//!
//! The daemon side plugs in through [`crate::Handler`] and [`crate::serve_line`].

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::crypto::{
    ClearCryptoSession, CryptoSessionReport, IkeSaReport, IpsecSaReport, ShowCryptoIkev2Sa,
    ShowCryptoIpsecSa, ShowCryptoSession,
};
use crate::debug::DebugCommand;
use crate::state::{
    Ack, DebugConditions, DmvpnStatus, NhrpCache, NhsReport, RunningConfig, ShortcutTable,
    TrafficReport,
};

/// Version of the control protocol spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest request line the daemon accepts, in bytes (1 MiB). Requests are
/// a few hundred bytes; the limit bounds what a client can make the daemon
/// buffer.
pub const MAX_REQUEST_LINE: usize = 1024 * 1024;

/// Longest response line the client accepts, in bytes (512 MiB). The
/// `show ip nhrp` answer of a hub with 100,000 spokes is about 34 MB.
pub const MAX_RESPONSE_LINE: usize = 512 * 1024 * 1024;

/// Errors decoding a protocol line.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The line is not JSON or does not match the schema.
    #[error("malformed control message: {0}")]
    Malformed(#[from] serde_json::Error),
    /// The `version` field is missing.
    #[error("control message has no \"version\" field")]
    MissingVersion,
    /// The peer speaks another protocol version.
    #[error(
        "control protocol version {got} is not supported (this build speaks {PROTOCOL_VERSION})"
    )]
    Version {
        /// Version received.
        got: u64,
    },
}

/// Selects peers by NBMA or tunnel address (`peer {nbma|tunnel} IP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum PeerFilter {
    /// `peer nbma IP`.
    Nbma {
        /// NBMA address.
        address: IpAddr,
    },
    /// `peer tunnel IP`.
    Tunnel {
        /// Tunnel address.
        address: IpAddr,
    },
}

/// `show dmvpn [detail] [peer {nbma|tunnel} IP] [interface TunnelN] [static]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowDmvpn {
    /// Detail form (interface info, NHS status, target networks).
    #[serde(default)]
    pub detail: bool,
    /// Only this peer.
    #[serde(default)]
    pub peer: Option<PeerFilter>,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
    /// Only static peers.
    #[serde(default, rename = "static")]
    pub static_only: bool,
}

/// `show ip nhrp [brief] [IP] [interface TunnelN]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowIpNhrp {
    /// One line per entry.
    #[serde(default)]
    pub brief: bool,
    /// Only entries whose prefix contains this address.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// `show ip nhrp nhs [detail] [interface TunnelN]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowNhs {
    /// Detail form.
    #[serde(default)]
    pub detail: bool,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// An optional `interface TunnelN` restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceFilter {
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// `clear ip nhrp [IP | interface TunnelN]`: removes dynamic entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearIpNhrp {
    /// Only entries whose prefix contains this address.
    #[serde(default)]
    pub address: Option<IpAddr>,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// `clear dmvpn session [peer {nbma|tunnel} IP] [interface TunnelN] [static]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearDmvpnSession {
    /// Only this peer.
    #[serde(default)]
    pub peer: Option<PeerFilter>,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
    /// Also clear static entries (otherwise only dynamic ones).
    #[serde(default, rename = "static")]
    pub include_static: bool,
}

/// `clear dmvpn statistics [peer {nbma|tunnel} IP] [interface TunnelN]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearDmvpnStatistics {
    /// Only this peer.
    #[serde(default)]
    pub peer: Option<PeerFilter>,
    /// Only this interface.
    #[serde(default)]
    pub interface: Option<String>,
}

/// `clear counters tunnel N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearCounters {
    /// Interface name (`Tunnel1` for `clear counters tunnel 1`).
    pub interface: String,
}

/// `debug …` and `no debug …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebugRequest {
    /// What to switch.
    #[serde(flatten)]
    pub command: DebugCommand,
    /// `true` for `debug …`, `false` for `no debug …`.
    pub enable: bool,
}

/// A request from the CLI to the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// `show dmvpn …`.
    ShowDmvpn(ShowDmvpn),
    /// `show dmvpn debug-condition`.
    ShowDmvpnDebugCondition,
    /// `show ip nhrp …`.
    ShowIpNhrp(ShowIpNhrp),
    /// `show ip nhrp nhs …`.
    ShowIpNhrpNhs(ShowNhs),
    /// `show ip nhrp traffic [interface TunnelN]`.
    ShowIpNhrpTraffic(InterfaceFilter),
    /// `show ip nhrp shortcut [interface TunnelN]`.
    ShowIpNhrpShortcut(InterfaceFilter),
    /// `show running-config`.
    ShowRunningConfig,
    /// `clear ip nhrp …`.
    ClearIpNhrp(ClearIpNhrp),
    /// `clear dmvpn session …`.
    ClearDmvpnSession(ClearDmvpnSession),
    /// `clear dmvpn statistics …`.
    ClearDmvpnStatistics(ClearDmvpnStatistics),
    /// `clear counters tunnel N`.
    ClearCounters(ClearCounters),
    /// `debug …` / `no debug …`.
    Debug(DebugRequest),
    /// `undebug all`.
    UndebugAll,
    /// `show crypto ikev2 sa [detail]`.
    ShowCryptoIkev2Sa(ShowCryptoIkev2Sa),
    /// `show crypto ipsec sa [peer ADDR]`.
    ShowCryptoIpsecSa(ShowCryptoIpsecSa),
    /// `show crypto session [detail]`.
    ShowCryptoSession(ShowCryptoSession),
    /// `clear crypto session [remote ADDR]`.
    ClearCryptoSession(ClearCryptoSession),
    /// `clear crypto ikev2 sa [remote ADDR]`.
    ClearCryptoIkev2Sa(ClearCryptoSession),
}

impl Request {
    /// The IOS command this request stands for, for messages
    /// (e.g. `show ip nhrp`).
    pub fn command_name(&self) -> &'static str {
        match self {
            Request::ShowDmvpn(_) => "show dmvpn",
            Request::ShowDmvpnDebugCondition => "show dmvpn debug-condition",
            Request::ShowIpNhrp(_) => "show ip nhrp",
            Request::ShowIpNhrpNhs(_) => "show ip nhrp nhs",
            Request::ShowIpNhrpTraffic(_) => "show ip nhrp traffic",
            Request::ShowIpNhrpShortcut(_) => "show ip nhrp shortcut",
            Request::ShowRunningConfig => "show running-config",
            Request::ClearIpNhrp(_) => "clear ip nhrp",
            Request::ClearDmvpnSession(_) => "clear dmvpn session",
            Request::ClearDmvpnStatistics(_) => "clear dmvpn statistics",
            Request::ClearCounters(_) => "clear counters",
            Request::Debug(_) => "debug",
            Request::UndebugAll => "undebug all",
            Request::ShowCryptoIkev2Sa(_) => "show crypto ikev2 sa",
            Request::ShowCryptoIpsecSa(_) => "show crypto ipsec sa",
            Request::ShowCryptoSession(_) => "show crypto session",
            Request::ClearCryptoSession(_) => "clear crypto session",
            Request::ClearCryptoIkev2Sa(_) => "clear crypto ikev2 sa",
        }
    }
}

/// The typed result of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Payload {
    /// Answer to `show dmvpn`.
    Dmvpn(DmvpnStatus),
    /// Answer to `show ip nhrp`.
    NhrpCache(NhrpCache),
    /// Answer to `show ip nhrp nhs`.
    Nhs(NhsReport),
    /// Answer to `show ip nhrp traffic`.
    Traffic(TrafficReport),
    /// Answer to `show ip nhrp shortcut`.
    Shortcuts(ShortcutTable),
    /// Answer to `show running-config`.
    RunningConfig(RunningConfig),
    /// Answer to `show dmvpn debug-condition`.
    DebugConditions(DebugConditions),
    /// Answer to clear, debug and undebug commands.
    Ack(Ack),
    /// Answer to `show crypto ikev2 sa`.
    IkeSas(IkeSaReport),
    /// Answer to `show crypto ipsec sa`.
    IpsecSas(IpsecSaReport),
    /// Answer to `show crypto session`.
    CryptoSessions(CryptoSessionReport),
}

impl Payload {
    /// The snapshot alone, as JSON (what `--json` prints).
    pub fn data_json(&self) -> serde_json::Value {
        let r = match self {
            Payload::Dmvpn(d) => serde_json::to_value(d),
            Payload::NhrpCache(d) => serde_json::to_value(d),
            Payload::Nhs(d) => serde_json::to_value(d),
            Payload::Traffic(d) => serde_json::to_value(d),
            Payload::Shortcuts(d) => serde_json::to_value(d),
            Payload::RunningConfig(d) => serde_json::to_value(d),
            Payload::DebugConditions(d) => serde_json::to_value(d),
            Payload::Ack(d) => serde_json::to_value(d),
            Payload::IkeSas(d) => serde_json::to_value(d),
            Payload::IpsecSas(d) => serde_json::to_value(d),
            Payload::CryptoSessions(d) => serde_json::to_value(d),
        };
        // These types hold only strings, numbers, booleans, addresses and
        // maps with string keys, so serialising to a Value cannot fail.
        r.unwrap_or(serde_json::Value::Null)
    }

    /// The snapshot alone as pretty-printed JSON, fields in their
    /// documented order (what `--json` prints).
    pub fn data_json_pretty(&self) -> String {
        fn pretty<T: Serialize>(v: &T) -> String {
            serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".to_owned())
        }
        match self {
            Payload::Dmvpn(d) => pretty(d),
            Payload::NhrpCache(d) => pretty(d),
            Payload::Nhs(d) => pretty(d),
            Payload::Traffic(d) => pretty(d),
            Payload::Shortcuts(d) => pretty(d),
            Payload::RunningConfig(d) => pretty(d),
            Payload::DebugConditions(d) => pretty(d),
            Payload::Ack(d) => pretty(d),
            Payload::IkeSas(d) => pretty(d),
            Payload::IpsecSas(d) => pretty(d),
            Payload::CryptoSessions(d) => pretty(d),
        }
    }

    /// The payload kind as it appears on the wire (`dmvpn`, `nhrp_cache`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Dmvpn(_) => "dmvpn",
            Payload::NhrpCache(_) => "nhrp_cache",
            Payload::Nhs(_) => "nhs",
            Payload::Traffic(_) => "traffic",
            Payload::Shortcuts(_) => "shortcuts",
            Payload::RunningConfig(_) => "running_config",
            Payload::DebugConditions(_) => "debug_conditions",
            Payload::Ack(_) => "ack",
            Payload::IkeSas(_) => "ike_sas",
            Payload::IpsecSas(_) => "ipsec_sas",
            Payload::CryptoSessions(_) => "crypto_sessions",
        }
    }
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Response {
    /// Success with a typed payload.
    Ok {
        /// The result.
        payload: Payload,
    },
    /// Failure, with a message for the operator.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Response {
    /// A success.
    pub fn ok(payload: Payload) -> Self {
        Response::Ok { payload }
    }

    /// A failure.
    pub fn error(message: impl Into<String>) -> Self {
        Response::Error {
            message: message.into(),
        }
    }
}

/// A request as sent on the wire: `version` next to the request's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequestEnvelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The request.
    #[serde(flatten)]
    pub request: Request,
}

/// A response as sent on the wire: `version` next to the response's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResponseEnvelope {
    /// Protocol version, [`PROTOCOL_VERSION`].
    pub version: u32,
    /// The response.
    #[serde(flatten)]
    pub response: Response,
}

/// The wire form of [`RequestEnvelope`] and [`ResponseEnvelope`] for
/// encoding, borrowing the message instead of cloning it.
#[derive(Serialize)]
struct EnvelopeRef<'a, T: Serialize> {
    version: u32,
    #[serde(flatten)]
    inner: &'a T,
}

fn check_version(v: &serde_json::Value) -> Result<(), ProtocolError> {
    match v.get("version").and_then(serde_json::Value::as_u64) {
        None => Err(ProtocolError::MissingVersion),
        Some(n) if n == u64::from(PROTOCOL_VERSION) => Ok(()),
        Some(got) => Err(ProtocolError::Version { got }),
    }
}

fn to_line<T: Serialize>(value: &T) -> String {
    // The protocol types serialise infallibly (see `Payload::data_json`).
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!(
            "{{\"version\":{PROTOCOL_VERSION},\"status\":\"error\",\"message\":{}}}",
            serde_json::Value::String(format!("cannot encode message: {e}"))
        )
    })
}

/// Encodes a request as one line of JSON (without the trailing newline).
pub fn encode_request(request: &Request) -> String {
    to_line(&EnvelopeRef {
        version: PROTOCOL_VERSION,
        inner: request,
    })
}

/// Decodes one request line.
pub fn decode_request(line: &str) -> Result<Request, ProtocolError> {
    let value: serde_json::Value = serde_json::from_str(line)?;
    check_version(&value)?;
    let env: RequestEnvelope = serde_json::from_value(value)?;
    Ok(env.request)
}

/// Encodes a response as one line of JSON (without the trailing newline).
pub fn encode_response(response: &Response) -> String {
    to_line(&EnvelopeRef {
        version: PROTOCOL_VERSION,
        inner: response,
    })
}

/// The response as it is laid out on the wire, without flattening or
/// internal tagging, so that serde decodes large payloads in one streaming
/// pass instead of buffering them.
#[derive(Deserialize)]
struct WireResponse {
    version: u64,
    status: WireStatus,
    #[serde(default)]
    payload: Option<Payload>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireStatus {
    Ok,
    Error,
}

/// Decodes one response line.
pub fn decode_response(line: &str) -> Result<Response, ProtocolError> {
    // Fast path: one pass, typed.
    if let Ok(w) = serde_json::from_str::<WireResponse>(line) {
        if w.version != u64::from(PROTOCOL_VERSION) {
            return Err(ProtocolError::Version { got: w.version });
        }
        match (w.status, w.payload, w.message) {
            (WireStatus::Ok, Some(payload), _) => return Ok(Response::Ok { payload }),
            (WireStatus::Error, _, Some(message)) => return Ok(Response::Error { message }),
            _ => {} // let the slow path name the problem
        }
    }
    // Slow path: precise errors (version first, then the schema).
    let value: serde_json::Value = serde_json::from_str(line)?;
    check_version(&value)?;
    let env: ResponseEnvelope = serde_json::from_value(value)?;
    Ok(env.response)
}

/// Canonical interface name: `tunnel0`, `Tu0`, `tunnel 0` and `Tunnel0`
/// all become `Tunnel0`. Other names are returned trimmed and unchanged.
/// The one normaliser of the workspace, `dmvpn_config::normalise_interface_name`,
/// so that a filter names an interface exactly as the configuration does.
pub fn normalize_interface(name: &str) -> String {
    dmvpn_config::normalise_interface_name(name)
}

/// Whether interface `name` is selected by the optional filter.
pub fn interface_matches(filter: Option<&str>, name: &str) -> bool {
    match filter {
        None => true,
        Some(f) => normalize_interface(f).eq_ignore_ascii_case(&normalize_interface(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_with_version() {
        let req = Request::ShowIpNhrp(ShowIpNhrp {
            brief: true,
            address: Some("10.0.0.2".parse().unwrap()),
            interface: Some("Tunnel0".into()),
        });
        let line = encode_request(&req);
        assert!(line.contains("\"version\":1"), "{line}");
        assert!(line.contains("\"command\":\"show_ip_nhrp\""), "{line}");
        assert!(!line.contains('\n'));
        assert_eq!(decode_request(&line).unwrap(), req);
    }

    #[test]
    fn unit_requests_round_trip() {
        for req in [
            Request::UndebugAll,
            Request::ShowRunningConfig,
            Request::ShowDmvpnDebugCondition,
        ] {
            assert_eq!(decode_request(&encode_request(&req)).unwrap(), req);
        }
    }

    #[test]
    fn minimal_request_uses_defaults() {
        let req = decode_request(r#"{"version":1,"command":"show_dmvpn"}"#).unwrap();
        assert_eq!(req, Request::ShowDmvpn(ShowDmvpn::default()));
    }

    #[test]
    fn wrong_or_missing_version_is_refused() {
        let e = decode_request(r#"{"version":2,"command":"show_dmvpn"}"#).unwrap_err();
        assert!(matches!(e, ProtocolError::Version { got: 2 }), "{e}");
        let e = decode_request(r#"{"command":"show_dmvpn"}"#).unwrap_err();
        assert!(matches!(e, ProtocolError::MissingVersion), "{e}");
        let e = decode_request("not json").unwrap_err();
        assert!(matches!(e, ProtocolError::Malformed(_)), "{e}");
        let e = decode_request(r#"{"version":1,"command":"reboot"}"#).unwrap_err();
        assert!(matches!(e, ProtocolError::Malformed(_)), "{e}");
    }

    #[test]
    fn responses_round_trip() {
        let ok = Response::ok(Payload::Ack(Ack {
            message: "done".into(),
            affected: Some(3),
        }));
        let line = encode_response(&ok);
        assert!(
            line.starts_with("{\"version\":1,\"status\":\"ok\""),
            "{line}"
        );
        assert_eq!(decode_response(&line).unwrap(), ok);
        let err = Response::error("no such interface");
        assert_eq!(decode_response(&encode_response(&err)).unwrap(), err);
    }

    #[test]
    fn interface_names_normalise() {
        assert_eq!(normalize_interface("tunnel0"), "Tunnel0");
        assert_eq!(normalize_interface("Tu12"), "Tunnel12");
        assert_eq!(normalize_interface(" tunnel 7 "), "Tunnel7");
        assert_eq!(normalize_interface("eth0"), "eth0");
        assert!(interface_matches(Some("tu0"), "Tunnel0"));
        assert!(!interface_matches(Some("tu1"), "Tunnel0"));
        assert!(interface_matches(None, "Tunnel0"));
    }
}

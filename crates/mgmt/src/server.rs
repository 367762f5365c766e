//! The daemon's side of the control protocol, without any I/O policy.
//!
//! The daemon implements [`Handler`]: one method per snapshot it can take
//! and per action it can perform. Every method has a default that answers
//! "not supported", so a daemon implements what its engine supports and
//! grows from there. [`dispatch`] routes a [`Request`] to the handler and
//! applies the request's filters (`interface`, `peer`, `static`, address) to
//! the snapshot, so handlers always return everything. [`serve_line`] does
//! the same from a request line to a response line, which is all an async
//! server needs:
//!
//! ```
//! use dmvpn_mgmt::{serve_line, Handler, HandlerError, NhrpCache};
//!
//! struct Daemon;
//! impl Handler for Daemon {
//!     fn nhrp_cache(&mut self) -> Result<NhrpCache, HandlerError> {
//!         Ok(NhrpCache::default())
//!     }
//! }
//!
//! let reply = serve_line(&mut Daemon, r#"{"version":1,"command":"show_ip_nhrp"}"#);
//! assert!(reply.contains("\"status\":\"ok\""));
//! ```
//!
//! [`serve_stream`] serves a blocking stream (one connection) with the same
//! codec; tests use it for fake daemons.

use std::io::{BufRead, BufReader, Read, Write};

use crate::filter;
use crate::proto::{
    ClearCounters, ClearDmvpnSession, ClearDmvpnStatistics, ClearIpNhrp, DebugRequest,
    MAX_REQUEST_LINE, Payload, Request, Response, decode_request, encode_response,
};
use crate::state::{
    Ack, DebugConditions, DmvpnStatus, NhrpCache, NhsReport, RunningConfig, ShortcutTable,
    TrafficReport,
};

/// Why a handler could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// This daemon does not implement the command.
    #[error("`{0}` is not supported by this daemon")]
    Unsupported(&'static str),
    /// The request names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The command failed.
    #[error("{0}")]
    Failed(String),
}

/// What the daemon plugs into the control protocol. Snapshots are complete;
/// [`dispatch`] filters them.
pub trait Handler {
    /// `show dmvpn`: every interface and peer.
    fn dmvpn(&mut self) -> Result<DmvpnStatus, HandlerError> {
        Err(HandlerError::Unsupported("show dmvpn"))
    }
    /// `show ip nhrp`: the whole cache.
    fn nhrp_cache(&mut self) -> Result<NhrpCache, HandlerError> {
        Err(HandlerError::Unsupported("show ip nhrp"))
    }
    /// `show ip nhrp nhs`: every NHS of every interface.
    fn nhs(&mut self) -> Result<NhsReport, HandlerError> {
        Err(HandlerError::Unsupported("show ip nhrp nhs"))
    }
    /// `show ip nhrp traffic`: every interface.
    fn traffic(&mut self) -> Result<TrafficReport, HandlerError> {
        Err(HandlerError::Unsupported("show ip nhrp traffic"))
    }
    /// `show ip nhrp shortcut`: every shortcut.
    fn shortcuts(&mut self) -> Result<ShortcutTable, HandlerError> {
        Err(HandlerError::Unsupported("show ip nhrp shortcut"))
    }
    /// `show running-config`.
    fn running_config(&mut self) -> Result<RunningConfig, HandlerError> {
        Err(HandlerError::Unsupported("show running-config"))
    }
    /// `show dmvpn debug-condition`.
    fn debug_conditions(&mut self) -> Result<DebugConditions, HandlerError> {
        Err(HandlerError::Unsupported("show dmvpn debug-condition"))
    }
    /// `clear ip nhrp …` (dynamic entries only).
    fn clear_ip_nhrp(&mut self, _req: &ClearIpNhrp) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("clear ip nhrp"))
    }
    /// `clear dmvpn session …`.
    fn clear_dmvpn_session(&mut self, _req: &ClearDmvpnSession) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("clear dmvpn session"))
    }
    /// `clear dmvpn statistics …`.
    fn clear_dmvpn_statistics(&mut self, _req: &ClearDmvpnStatistics) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("clear dmvpn statistics"))
    }
    /// `clear counters tunnel N`.
    fn clear_counters(&mut self, _req: &ClearCounters) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("clear counters"))
    }
    /// `debug …` / `no debug …`. A daemon keeping a
    /// [`DebugConditions`] typically calls [`DebugConditions::apply`] and
    /// answers with [`crate::DebugCommand::confirmation`].
    fn debug(&mut self, _req: &DebugRequest) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("debug"))
    }
    /// `undebug all`.
    fn undebug_all(&mut self) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("undebug all"))
    }
    /// `show crypto ikev2 sa`: every IKE SA of every protected tunnel.
    fn ikev2_sas(&mut self) -> Result<crate::crypto::IkeSaReport, HandlerError> {
        Err(HandlerError::Unsupported("show crypto ikev2 sa"))
    }
    /// `show crypto ipsec sa`: every peer's ESP SAs.
    fn ipsec_sas(&mut self) -> Result<crate::crypto::IpsecSaReport, HandlerError> {
        Err(HandlerError::Unsupported("show crypto ipsec sa"))
    }
    /// `show crypto session`: every peer's crypto session.
    fn crypto_sessions(&mut self) -> Result<crate::crypto::CryptoSessionReport, HandlerError> {
        Err(HandlerError::Unsupported("show crypto session"))
    }
    /// `clear crypto session [remote ADDR]`: deletes IKE and Child SAs (NHRP builds them
    /// again for the mappings that still need them).
    fn clear_crypto_session(
        &mut self,
        _req: &crate::crypto::ClearCryptoSession,
    ) -> Result<Ack, HandlerError> {
        Err(HandlerError::Unsupported("clear crypto session"))
    }
}

fn answer<T>(r: Result<T, HandlerError>, wrap: impl FnOnce(T) -> Payload) -> Response {
    match r {
        Ok(v) => Response::ok(wrap(v)),
        Err(e) => Response::error(e.to_string()),
    }
}

/// Routes one request to the handler and filters the snapshot it returns.
pub fn dispatch<H: Handler + ?Sized>(handler: &mut H, request: &Request) -> Response {
    match request {
        Request::ShowDmvpn(q) => answer(handler.dmvpn(), |s| Payload::Dmvpn(filter::dmvpn(s, q))),
        Request::ShowDmvpnDebugCondition => {
            answer(handler.debug_conditions(), Payload::DebugConditions)
        }
        Request::ShowIpNhrp(q) => answer(handler.nhrp_cache(), |c| {
            Payload::NhrpCache(filter::nhrp_cache(c, q))
        }),
        Request::ShowIpNhrpNhs(q) => answer(handler.nhs(), |n| {
            Payload::Nhs(filter::nhs(n, q.interface.as_deref()))
        }),
        Request::ShowIpNhrpTraffic(q) => answer(handler.traffic(), |t| {
            Payload::Traffic(filter::traffic(t, q.interface.as_deref()))
        }),
        Request::ShowIpNhrpShortcut(q) => answer(handler.shortcuts(), |s| {
            Payload::Shortcuts(filter::shortcuts(s, q.interface.as_deref()))
        }),
        Request::ShowRunningConfig => answer(handler.running_config(), Payload::RunningConfig),
        Request::ClearIpNhrp(q) => answer(handler.clear_ip_nhrp(q), Payload::Ack),
        Request::ClearDmvpnSession(q) => answer(handler.clear_dmvpn_session(q), Payload::Ack),
        Request::ClearDmvpnStatistics(q) => answer(handler.clear_dmvpn_statistics(q), Payload::Ack),
        Request::ClearCounters(q) => answer(handler.clear_counters(q), Payload::Ack),
        Request::Debug(q) => answer(handler.debug(q), Payload::Ack),
        Request::UndebugAll => answer(handler.undebug_all(), Payload::Ack),
        Request::ShowCryptoIkev2Sa(_) => answer(handler.ikev2_sas(), Payload::IkeSas),
        Request::ShowCryptoIpsecSa(q) => answer(handler.ipsec_sas(), |mut r| {
            if let Some(peer) = q.peer {
                r.peers.retain(|p| p.remote == peer);
            }
            Payload::IpsecSas(r)
        }),
        Request::ShowCryptoSession(_) => answer(handler.crypto_sessions(), Payload::CryptoSessions),
        Request::ClearCryptoSession(q) | Request::ClearCryptoIkev2Sa(q) => {
            answer(handler.clear_crypto_session(q), Payload::Ack)
        }
    }
}

/// Decodes a request line, dispatches it, and encodes the response line
/// (without the trailing newline). Malformed requests get an error response.
pub fn serve_line<H: Handler + ?Sized>(handler: &mut H, line: &str) -> String {
    let response = match decode_request(line.trim_end()) {
        Ok(req) => dispatch(handler, &req),
        Err(e) => Response::error(e.to_string()),
    };
    encode_response(&response)
}

/// Serves one blocking connection until the peer closes it: reads request
/// lines, writes response lines. A line longer than [`MAX_REQUEST_LINE`] gets an
/// error response and ends the connection.
pub fn serve_stream<H, S>(handler: &mut H, stream: S) -> std::io::Result<()>
where
    H: Handler + ?Sized,
    S: Read + Write,
{
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        let n = (&mut reader)
            .take(MAX_REQUEST_LINE as u64 + 1)
            .read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        if n > MAX_REQUEST_LINE {
            let resp = encode_response(&Response::error("request line too long"));
            let w = reader.get_mut();
            w.write_all(resp.as_bytes())?;
            w.write_all(b"\n")?;
            return w.flush();
        }
        if line.trim().is_empty() {
            continue;
        }
        let resp = serve_line(handler, &line);
        let w = reader.get_mut();
        w.write_all(resp.as_bytes())?;
        w.write_all(b"\n")?;
        w.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{ShowIpNhrp, decode_response};

    struct Nothing;
    impl Handler for Nothing {}

    #[test]
    fn default_handler_says_unsupported() {
        let r = dispatch(&mut Nothing, &Request::ShowIpNhrp(ShowIpNhrp::default()));
        assert_eq!(
            r,
            Response::error("`show ip nhrp` is not supported by this daemon")
        );
    }

    #[test]
    fn malformed_line_gets_error_response() {
        let line = serve_line(&mut Nothing, "{\"version\":1,\"command\":\"nope\"}\n");
        match decode_response(&line).unwrap() {
            Response::Error { message } => assert!(message.contains("malformed"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn stream_serves_several_requests() {
        let input = "{\"version\":1,\"command\":\"undebug_all\"}\n\n{\"version\":1,\"command\":\"show_running_config\"}\n";
        let mut io = std::io::Cursor::new(Vec::new());
        // A Read + Write pair over one buffer is awkward; use a duplex type.
        struct Duplex<'a> {
            input: &'a [u8],
            output: &'a mut Vec<u8>,
        }
        impl Read for Duplex<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.input.read(buf)
            }
        }
        impl Write for Duplex<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.output.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = io.get_mut();
        serve_stream(
            &mut Nothing,
            Duplex {
                input: input.as_bytes(),
                output: out,
            },
        )
        .unwrap();
        let text = String::from_utf8(io.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("undebug all"));
        assert!(lines[1].contains("show running-config"));
    }
}

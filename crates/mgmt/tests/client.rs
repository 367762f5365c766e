//! The blocking client against small servers on temporary Unix sockets:
//! normal answers, daemon refusals, silence (timeout), hang-ups, a foreign
//! protocol version, and no daemon at all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/sample.rs"]
mod sample;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Duration;

use dmvpn_mgmt::{
    Client, ClientError, Handler, HandlerError, NhrpCache, Payload, ProtocolError, Request,
    Response, ShowIpNhrp,
};

struct Server {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

/// Binds a socket and serves each connection with `serve` on a thread.
fn server(serve: impl Fn(UnixStream) + Send + 'static) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dmvpn.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            match s {
                Ok(s) => serve(s),
                Err(_) => return,
            }
        }
    });
    Server { _dir: dir, path }
}

struct Cache;
impl Handler for Cache {
    fn nhrp_cache(&mut self) -> Result<NhrpCache, HandlerError> {
        Ok(sample::hub_nhrp_cache())
    }
}

fn show_nhrp() -> Request {
    Request::ShowIpNhrp(ShowIpNhrp::default())
}

#[test]
fn answers_and_refusals_come_back_typed() {
    let s = server(|stream| {
        let _ = dmvpn_mgmt::serve_stream(&mut Cache, stream);
    });
    let mut c = Client::connect(&s.path).unwrap();
    // Two exchanges on one connection.
    for _ in 0..2 {
        let r = c.request(&show_nhrp()).unwrap();
        assert_eq!(
            r,
            Response::ok(Payload::NhrpCache(sample::hub_nhrp_cache()))
        );
    }
    let r = c.request(&Request::ShowRunningConfig).unwrap();
    assert_eq!(
        r,
        Response::error("`show running-config` is not supported by this daemon")
    );
}

#[test]
fn a_silent_daemon_times_out() {
    let s = server(|mut stream| {
        // Read until the client goes away, never answer.
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    let mut c = Client::connect_with_timeout(&s.path, Duration::from_millis(200)).unwrap();
    let e = c.request(&show_nhrp()).unwrap_err();
    assert!(matches!(e, ClientError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("did not answer within"), "{e}");
}

#[test]
fn a_hang_up_is_reported() {
    let s = server(|stream| {
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        // Dropping the stream closes it without an answer.
    });
    let mut c = Client::connect(&s.path).unwrap();
    let e = c.request(&show_nhrp()).unwrap_err();
    assert!(matches!(e, ClientError::Closed { .. }), "{e}");
}

#[test]
fn another_protocol_version_is_refused() {
    let s = server(|stream| {
        let mut r = BufReader::new(stream);
        let mut line = String::new();
        let _ = r.read_line(&mut line);
        let _ = r
            .get_mut()
            .write_all(b"{\"version\":2,\"status\":\"error\",\"message\":\"x\"}\n");
    });
    let mut c = Client::connect(&s.path).unwrap();
    let e = c.request(&show_nhrp()).unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Protocol {
                error: ProtocolError::Version { got: 2 },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn no_daemon_gives_the_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.sock");
    let e = Client::connect(&path).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot reach the dmvpn daemon at {}: ",
            path.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("— is `dmvpn daemon` running? (use --socket)"),
        "{msg}"
    );
}

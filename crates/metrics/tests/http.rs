//! The `/metrics` HTTP server on loopback: a scrape with a plain TcpStream
//! (status, content type, a counter equal to `show ip nhrp traffic`), 404,
//! 405, garbage, oversized and half-sent requests, the 503 of an async source
//! with nothing to give, and a snapshot fetched through a control-line
//! transport answered by `dmvpn_mgmt::serve_line`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::sample;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{parse, sample_snapshot, value};
use dmvpn_metrics::{CONTENT_TYPE, Limits, MetricsServer, MetricsSnapshot};
use dmvpn_mgmt::{DmvpnStatus, Handler, HandlerError, NhsReport, TrafficReport};

/// Starts a server on 127.0.0.1:0 serving the sample snapshot.
async fn start(limits: Limits) -> SocketAddr {
    let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind loopback")
        .with_limits(limits);
    let addr = server.local_addr().expect("local addr");
    tokio::spawn(server.run(sample_snapshot));
    addr
}

/// Sends `request` on a fresh connection and reads until the server closes.
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("write request");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read response");
    String::from_utf8(out).expect("utf-8 response")
}

async fn exchange_async(addr: SocketAddr, request: &'static [u8]) -> String {
    tokio::task::spawn_blocking(move || exchange(addr, request))
        .await
        .expect("client task")
}

fn split(resp: &str) -> (&str, &str) {
    resp.split_once("\r\n\r\n").expect("head and body")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_returns_counters_of_show_ip_nhrp_traffic() {
    let addr = start(Limits::default()).await;
    let resp = exchange_async(
        addr,
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
    )
    .await;
    let (head, body) = split(&resp);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(header(head, "Content-Type"), Some(CONTENT_TYPE));
    assert_eq!(
        header(head, "Content-Length"),
        Some(body.len().to_string().as_str())
    );
    let lines = parse(body);
    let traffic = sample::traffic_report();
    let t = &traffic.interfaces[0];
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_packets_total",
            &[
                ("interface", "Tunnel7"),
                ("direction", "sent"),
                ("type", "registration_request")
            ]
        ),
        Some(t.sent.registration_request as f64)
    );
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_packets_all_total",
            &[("interface", "Tunnel7"), ("direction", "received")]
        ),
        Some(t.received.total as f64)
    );
    assert!(body.ends_with("# EOF\n"));

    // HEAD: same head, no body.
    let resp = exchange_async(addr, b"HEAD /metrics HTTP/1.0\r\n\r\n").await;
    let (head, body) = split(&resp);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_methods_and_garbage() {
    let addr = start(Limits::default()).await;
    let status = |resp: String| resp.lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        status(exchange_async(addr, b"GET / HTTP/1.1\r\n\r\n").await),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        status(exchange_async(addr, b"GET /metricsx HTTP/1.1\r\n\r\n").await),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        status(exchange_async(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await),
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        status(
            exchange_async(
                addr,
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
            )
            .await
        ),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status(exchange_async(addr, b"hello\n\n").await),
        "HTTP/1.1 400 Bad Request"
    );
    // Half a request, then the client closes its side.
    let half = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.write_all(b"GET /metr").expect("write");
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    })
    .await
    .expect("client task");
    assert!(half.starts_with("HTTP/1.1 400 Bad Request"), "{half}");
    // The server still answers after all that.
    let ok = exchange_async(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    assert!(ok.starts_with("HTTP/1.1 200 OK"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_is_refused() {
    let addr = start(Limits {
        max_request_bytes: 512,
        ..Limits::default()
    })
    .await;
    let resp = tokio::task::spawn_blocking(move || {
        let mut req = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..200 {
            req.extend_from_slice(format!("X-Filler-{i}: aaaaaaaaaaaaaaaa\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        // The server may close before reading everything; a write error is fine.
        let _ = s.write_all(&req);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .expect("client task");
    assert!(
        resp.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{resp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_is_dropped_after_the_timeout() {
    let addr = start(Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let started = Instant::now();
        let mut buf = [0u8; 16];
        // Send nothing: the server closes without an answer.
        let n = s.read(&mut buf).unwrap_or(0);
        (n, started.elapsed())
    })
    .await
    .expect("client task");
    assert_eq!(closed.0, 0, "no bytes for a client that sent nothing");
    assert!(closed.1 < Duration::from_secs(30), "closed by the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_source_without_snapshot_answers_503() {
    let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(server.run_async(|| async { None::<MetricsSnapshot> }));
    let resp = exchange_async(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    assert!(
        resp.starts_with("HTTP/1.1 503 Service Unavailable"),
        "{resp}"
    );
}

/// A daemon stand-in answering the show requests with the sample snapshots.
struct FakeDaemon;

impl Handler for FakeDaemon {
    fn dmvpn(&mut self) -> Result<DmvpnStatus, HandlerError> {
        Ok(sample::spoke_dmvpn())
    }
    fn traffic(&mut self) -> Result<TrafficReport, HandlerError> {
        Ok(sample::traffic_report())
    }
    fn nhs(&mut self) -> Result<NhsReport, HandlerError> {
        Ok(sample::nhs_report())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_through_control_lines_equals_the_show_answers() {
    let ask = |line: String| async move { Some(dmvpn_mgmt::serve_line(&mut FakeDaemon, &line)) };
    let snap = MetricsSnapshot::from_control(ask).await.expect("snapshot");
    assert_eq!(snap.traffic, sample::traffic_report());
    assert_eq!(snap.dmvpn, sample::spoke_dmvpn());
    assert_eq!(snap.nhs, sample::nhs_report());

    // Served through run_async, as the daemon plugs it in.
    let server = MetricsServer::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(
        server.run_async(move || async move { MetricsSnapshot::from_control(ask).await.ok() }),
    );
    let resp = exchange_async(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    let (head, body) = split(&resp);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let lines = parse(body);
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_packets_total",
            &[
                ("interface", "Tunnel7"),
                ("direction", "received"),
                ("type", "registration_reply")
            ]
        ),
        Some(36.0)
    );

    // A daemon that is gone: no answer, a typed error.
    let gone = MetricsSnapshot::from_control(|_line: String| async { None }).await;
    assert!(gone.is_err());
}

/// The daemon's control call (same shape as `dmvpn_daemon::control::ControlCall`).
struct ControlCall {
    line: String,
    reply: tokio::sync::oneshot::Sender<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_integration_lines_work_over_an_event_loop_channel() {
    // The event loop: owns the state, answers control lines one by one.
    let (calls_tx, mut calls) = tokio::sync::mpsc::channel::<ControlCall>(64);
    tokio::spawn(async move {
        let mut daemon = FakeDaemon;
        while let Some(call) = calls.recv().await {
            let _ = call
                .reply
                .send(dmvpn_mgmt::serve_line(&mut daemon, &call.line));
        }
    });
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");

    // The lines documented in lib.rs for the daemon's `run()`.
    let server = dmvpn_metrics::MetricsServer::bind(addr)
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    let calls = calls_tx.clone();
    let ask = move |line: String| {
        let calls = calls.clone();
        async move {
            let (reply, rx) = tokio::sync::oneshot::channel();
            calls.send(ControlCall { line, reply }).await.ok()?;
            rx.await.ok()
        }
    };
    tokio::spawn(server.run_async(move || {
        let ask = ask.clone();
        async move { dmvpn_metrics::MetricsSnapshot::from_control(ask).await.ok() }
    }));

    let resp = exchange_async(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    let (head, body) = split(&resp);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let lines = parse(body);
    let t = &sample::traffic_report().interfaces[0];
    for (ty, want) in [
        ("resolution_request", t.sent.resolution_request),
        ("purge_reply", t.sent.purge_reply),
    ] {
        assert_eq!(
            value(
                &lines,
                "dmvpn_nhrp_packets_total",
                &[
                    ("interface", "Tunnel7"),
                    ("direction", "sent"),
                    ("type", ty)
                ]
            ),
            Some(want as f64)
        );
    }
    assert_eq!(
        value(
            &lines,
            "dmvpn_peers",
            &[("interface", "Tunnel1"), ("state", "up")]
        ),
        Some(1.0)
    );
}

//! The CLI against a fake daemon: a thread serving canned snapshots on a
//! temporary Unix socket with the real codec (`dmvpn_mgmt::serve_stream`).

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::Parser;
use dmvpn_mgmt::{
    Ack, DebugConditions, DmvpnStatus, EntryType, Handler, HandlerError, NhrpCache, NhsReport,
    Payload, RunningConfig, ShortcutTable, TrafficReport, filter,
};

use super::*;

// The sample snapshots are test data of `dmvpn-mgmt`, not part of its library.
#[path = "../../../mgmt/tests/support/sample.rs"]
mod sample;

#[derive(Parser, Debug)]
#[command(name = "dmvpn")]
struct TestCli {
    #[command(subcommand)]
    cmd: Top,
}

#[derive(clap::Subcommand, Debug)]
enum Top {
    #[command(subcommand)]
    Show(Show),
    #[command(subcommand)]
    Clear(Clear),
    #[command(subcommand)]
    Debug(Debug),
    #[command(subcommand)]
    Undebug(Undebug),
    #[command(subcommand)]
    No(No),
}

fn parse(line: &str) -> anyhow::Result<(Request, bool)> {
    let argv = std::iter::once("dmvpn").chain(line.split_whitespace());
    let cli = TestCli::try_parse_from(argv).map_err(|e| anyhow!("{e}"))?;
    match cli.cmd {
        Top::Show(c) => show_request(&c),
        Top::Clear(c) => clear_request(&c),
        Top::Debug(c) => debug_request(&c, true),
        Top::Undebug(c) => undebug_request(&c),
        Top::No(No::Debug(c)) => debug_request(&c, false),
    }
}

fn req(line: &str) -> Request {
    parse(line).unwrap_or_else(|e| panic!("{line}: {e}")).0
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn show_words_follow_ios() {
    assert_eq!(req("show dmvpn"), Request::ShowDmvpn(ShowDmvpn::default()));
    assert_eq!(
        req("show dmvpn detail peer nbma 192.0.2.1 interface tunnel 1 static"),
        Request::ShowDmvpn(ShowDmvpn {
            detail: true,
            peer: Some(PeerFilter::Nbma {
                address: ip("192.0.2.1")
            }),
            interface: Some("Tunnel1".into()),
            static_only: true,
        })
    );
    assert_eq!(
        req("show dmvpn peer tunnel 10.0.0.3"),
        Request::ShowDmvpn(ShowDmvpn {
            peer: Some(PeerFilter::Tunnel {
                address: ip("10.0.0.3")
            }),
            ..ShowDmvpn::default()
        })
    );
    assert_eq!(
        req("show dmvpn debug-condition"),
        Request::ShowDmvpnDebugCondition
    );
    assert_eq!(
        req("show ip nhrp brief 10.0.0.2 interface Tu0"),
        Request::ShowIpNhrp(ShowIpNhrp {
            brief: true,
            address: Some(ip("10.0.0.2")),
            interface: Some("Tunnel0".into()),
        })
    );
    assert_eq!(
        req("show ip nhrp nhs detail"),
        Request::ShowIpNhrpNhs(ShowNhs {
            detail: true,
            interface: None
        })
    );
    assert_eq!(
        req("show ip nhrp traffic interface Tunnel0"),
        Request::ShowIpNhrpTraffic(InterfaceFilter {
            interface: Some("Tunnel0".into())
        })
    );
    assert_eq!(
        req("show ip nhrp shortcut"),
        Request::ShowIpNhrpShortcut(InterfaceFilter::default())
    );
    assert_eq!(req("show running-config"), Request::ShowRunningConfig);
    assert!(parse("show dmvpn --json").unwrap().1);
    assert!(parse("show ip nhrp --json").unwrap().1);
    assert!(parse("show ip nhrp traffic --json").unwrap().1);
    assert_eq!(
        parse("show ip nhrp --json traffic interface tunnel 0").unwrap(),
        (
            Request::ShowIpNhrpTraffic(InterfaceFilter {
                interface: Some("Tunnel0".into())
            }),
            true
        )
    );
    assert_eq!(
        parse("show ip nhrp --json nhs detail").unwrap(),
        (
            Request::ShowIpNhrpNhs(ShowNhs {
                detail: true,
                interface: None
            }),
            true
        )
    );
}

#[test]
fn clear_and_debug_words_follow_ios() {
    assert_eq!(
        req("clear ip nhrp"),
        Request::ClearIpNhrp(ClearIpNhrp::default())
    );
    assert_eq!(
        req("clear ip nhrp 10.0.0.3"),
        Request::ClearIpNhrp(ClearIpNhrp {
            address: Some(ip("10.0.0.3")),
            interface: None
        })
    );
    assert_eq!(
        req("clear ip nhrp tunnel 1"),
        Request::ClearIpNhrp(ClearIpNhrp {
            address: None,
            interface: Some("Tunnel1".into())
        })
    );
    assert_eq!(
        req("clear dmvpn session peer nbma 1.2.3.4"),
        Request::ClearDmvpnSession(ClearDmvpnSession {
            peer: Some(PeerFilter::Nbma {
                address: ip("1.2.3.4")
            }),
            interface: None,
            include_static: false,
        })
    );
    assert_eq!(
        req("clear dmvpn session interface tunnel 100 static"),
        Request::ClearDmvpnSession(ClearDmvpnSession {
            peer: None,
            interface: Some("Tunnel100".into()),
            include_static: true,
        })
    );
    assert_eq!(
        req("clear dmvpn statistics peer tunnel 192.0.2.3"),
        Request::ClearDmvpnStatistics(ClearDmvpnStatistics {
            peer: Some(PeerFilter::Tunnel {
                address: ip("192.0.2.3")
            }),
            interface: None,
        })
    );
    assert_eq!(
        req("clear counters tunnel 1"),
        Request::ClearCounters(ClearCounters {
            interface: "Tunnel1".into()
        })
    );
    let dbg = |command, enable| Request::Debug(DebugRequest { command, enable });
    assert_eq!(
        req("debug nhrp packet"),
        dbg(
            DebugCommand::Nhrp {
                kind: NhrpDebugKind::Packet
            },
            true
        )
    );
    assert_eq!(
        req("debug nhrp"),
        dbg(
            DebugCommand::Nhrp {
                kind: NhrpDebugKind::All
            },
            true
        )
    );
    assert_eq!(
        req("debug dmvpn error all"),
        dbg(
            DebugCommand::Dmvpn {
                level: DmvpnDebugLevel::Error,
                scope: DmvpnDebugScope::All
            },
            true
        )
    );
    assert_eq!(
        req("debug dmvpn detail tunnel"),
        dbg(
            DebugCommand::Dmvpn {
                level: DmvpnDebugLevel::Detail,
                scope: DmvpnDebugScope::Tunnel
            },
            true
        )
    );
    assert_eq!(
        req("debug dmvpn condition peer nbma 192.0.2.1"),
        dbg(
            DebugCommand::Condition {
                condition: DebugCondition::PeerNbma {
                    address: ip("192.0.2.1")
                }
            },
            true
        )
    );
    assert_eq!(
        req("no debug dmvpn condition interface tunnel1"),
        dbg(
            DebugCommand::Condition {
                condition: DebugCondition::Interface {
                    name: "Tunnel1".into()
                }
            },
            false
        )
    );
    assert_eq!(
        req("no debug dmvpn condition"),
        dbg(
            DebugCommand::Condition {
                condition: DebugCondition::All
            },
            false
        )
    );
    let Request::Debug(DebugRequest {
        command: DebugCommand::NhrpCapture { path: Some(p) },
        enable: true,
    }) = req("debug nhrp capture cap.pcapng")
    else {
        panic!("capture request expected")
    };
    assert!(p.starts_with('/') && p.ends_with("/cap.pcapng"), "{p}");
    assert_eq!(
        req("no debug nhrp capture"),
        dbg(DebugCommand::NhrpCapture { path: None }, false)
    );
    assert_eq!(
        req("undebug nhrp capture"),
        dbg(DebugCommand::NhrpCapture { path: None }, false)
    );
    assert_eq!(req("undebug all"), Request::UndebugAll);
}

#[test]
fn bad_words_are_usage_errors() {
    for (line, needle) in [
        ("show dmvpn detial", "unexpected word `detial`"),
        ("show dmvpn peer nbma", "expected at the end"),
        ("show dmvpn peer nbma 300.1.1.1", "not an IP address"),
        ("show dmvpn peer bogus 1.1.1.1", "`nbma` or `tunnel`"),
        ("show dmvpn interface tunnel", "tunnel number"),
        ("show dmvpn debug-condition detail", "takes no other words"),
        ("show ip nhrp nhs bogus", "unexpected word"),
        ("clear counters tunnel x", "not a tunnel number"),
        ("clear ip nhrp 10.0.0.1 interface Tunnel0", "not both"),
        ("debug dmvpn", "expected at the end"),
        ("debug dmvpn error web", "unexpected word `web`"),
        ("debug nhrp capture", "capture file name"),
        ("undebug all now", "unexpected word"),
    ] {
        let e = parse(line).expect_err(line).to_string();
        assert!(e.contains(needle), "{line}: {e}");
    }
}

/// A fake daemon: sample snapshots, a cache that `clear ip nhrp`
/// empties of dynamic entries, and real debug state.
struct Fake {
    cache: NhrpCache,
    debug: DebugConditions,
    requests: usize,
}

impl Handler for Fake {
    fn dmvpn(&mut self) -> Result<DmvpnStatus, HandlerError> {
        self.requests += 1;
        Ok(sample::spoke_dmvpn())
    }
    fn nhrp_cache(&mut self) -> Result<NhrpCache, HandlerError> {
        self.requests += 1;
        Ok(self.cache.clone())
    }
    fn nhs(&mut self) -> Result<NhsReport, HandlerError> {
        Ok(sample::nhs_report())
    }
    fn traffic(&mut self) -> Result<TrafficReport, HandlerError> {
        Ok(sample::traffic_report())
    }
    fn shortcuts(&mut self) -> Result<ShortcutTable, HandlerError> {
        Ok(sample::shortcut_table())
    }
    fn running_config(&mut self) -> Result<RunningConfig, HandlerError> {
        Ok(sample::running_config())
    }
    fn debug_conditions(&mut self) -> Result<DebugConditions, HandlerError> {
        Ok(self.debug.clone())
    }
    fn clear_ip_nhrp(&mut self, q: &ClearIpNhrp) -> Result<Ack, HandlerError> {
        let before = self.cache.entries.len();
        self.cache
            .entries
            .retain(|e| !filter::clear_ip_nhrp_selects(q, e));
        let n = (before - self.cache.entries.len()) as u64;
        Ok(Ack {
            message: String::new(),
            affected: Some(n),
        })
    }
    fn clear_counters(&mut self, q: &ClearCounters) -> Result<Ack, HandlerError> {
        Err(HandlerError::NotFound(format!(
            "no such interface: {}",
            q.interface
        )))
    }
    fn debug(&mut self, q: &DebugRequest) -> Result<Ack, HandlerError> {
        self.debug.apply(&q.command, q.enable);
        Ok(Ack {
            message: q.command.confirmation(q.enable),
            affected: None,
        })
    }
    fn undebug_all(&mut self) -> Result<Ack, HandlerError> {
        self.debug.undebug_all();
        Ok(Ack {
            message: "All possible debugging has been turned off".into(),
            affected: None,
        })
    }
}

/// The socket file of a fake daemon, removed on drop.
struct FakeDaemon {
    path: PathBuf,
    state: Arc<Mutex<Fake>>,
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn unique_socket_path() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "dmvpn-ctl-test-{}-{}.sock",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn start_fake() -> FakeDaemon {
    let path = unique_socket_path();
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind fake daemon socket");
    let state = Arc::new(Mutex::new(Fake {
        cache: sample::spoke_nhrp_cache(),
        debug: DebugConditions::default(),
        requests: 0,
    }));
    let shared = Arc::clone(&state);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            let _ = dmvpn_mgmt::serve_stream(&mut *guard, stream);
        }
    });
    FakeDaemon { path, state }
}

/// Runs one command line against the daemon: (exit code, stdout, stderr).
fn cli(d: &FakeDaemon, line: &str) -> (ExitCode, String, String) {
    let (request, json) = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&request, json, &d.path, &mut out, &mut err)
        .unwrap_or_else(|e| panic!("{line}: {e:#}"));
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn show_commands_render_the_daemons_snapshots() {
    let d = start_fake();
    let cases: Vec<(&str, Request, Payload)> = vec![
        (
            "show dmvpn",
            Request::ShowDmvpn(ShowDmvpn::default()),
            Payload::Dmvpn(sample::spoke_dmvpn()),
        ),
        (
            "show dmvpn detail",
            Request::ShowDmvpn(ShowDmvpn {
                detail: true,
                ..ShowDmvpn::default()
            }),
            Payload::Dmvpn(sample::spoke_dmvpn()),
        ),
        (
            "show ip nhrp",
            Request::ShowIpNhrp(ShowIpNhrp::default()),
            Payload::NhrpCache(sample::spoke_nhrp_cache()),
        ),
        (
            "show ip nhrp brief",
            Request::ShowIpNhrp(ShowIpNhrp {
                brief: true,
                ..ShowIpNhrp::default()
            }),
            Payload::NhrpCache(sample::spoke_nhrp_cache()),
        ),
        (
            "show ip nhrp nhs detail",
            Request::ShowIpNhrpNhs(ShowNhs {
                detail: true,
                interface: None,
            }),
            Payload::Nhs(sample::nhs_report()),
        ),
        (
            "show ip nhrp traffic",
            Request::ShowIpNhrpTraffic(InterfaceFilter::default()),
            Payload::Traffic(sample::traffic_report()),
        ),
        (
            "show ip nhrp shortcut",
            Request::ShowIpNhrpShortcut(InterfaceFilter::default()),
            Payload::Shortcuts(sample::shortcut_table()),
        ),
        (
            "show running-config",
            Request::ShowRunningConfig,
            Payload::RunningConfig(sample::running_config()),
        ),
    ];
    for (line, request, payload) in cases {
        let (code, out, err) = cli(&d, line);
        assert_eq!(code, ExitCode::SUCCESS, "{line}: {err}");
        assert_eq!(out, render::render(&request, &payload), "{line}");
    }
    let (_, out, _) = cli(&d, "show dmvpn");
    assert!(
        out.contains("Tunnel1, Type: Spoke, NBMA Peers: 3,"),
        "{out}"
    );
    let (_, out, _) = cli(&d, "show ip nhrp traffic interface Tunnel9");
    assert_eq!(out, "", "filtered to nothing");
}

#[test]
fn json_prints_the_payload_data() {
    let d = start_fake();
    let (code, out, _) = cli(&d, "show dmvpn --json");
    assert_eq!(code, ExitCode::SUCCESS);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, Payload::Dmvpn(sample::spoke_dmvpn()).data_json());
    // Fields in their documented order, not sorted.
    let first_keys: Vec<&str> = out.lines().skip(3).take(3).map(str::trim).collect();
    assert_eq!(
        first_keys,
        [
            "\"name\": \"Tunnel1\",",
            "\"role\": \"spoke\",",
            "\"admin_up\": true,"
        ],
        "{out}"
    );
    assert_eq!(v["interfaces"][0]["peers"][0]["nbma"], "192.0.2.21");
    let (_, out, _) = cli(&d, "show ip nhrp --json 10.0.0.3");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["entries"][0]["nbma"], "172.16.2.75");
    assert_eq!(v["entries"][0]["flags"]["router"], true);
}

#[test]
fn clear_ip_nhrp_removes_dynamic_entries_only() {
    let d = start_fake();
    let (code, _, _) = cli(&d, "clear ip nhrp 10.0.0.3");
    assert_eq!(code, ExitCode::SUCCESS);
    let (_, out, _) = cli(&d, "show ip nhrp");
    assert!(!out.contains("10.0.0.3/32"), "{out}");
    assert!(out.contains("10.0.0.4/32"), "{out}");
    let (_, out, _) = cli(&d, "clear ip nhrp --json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["affected"], 2, "the NAT entry and the incomplete one");
    let (_, out, _) = cli(&d, "show ip nhrp brief");
    let types: Vec<&str> = out
        .lines()
        .skip(6)
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    assert_eq!(types, ["S/aU", "S/aU"], "{out}");
    let state = d.state.lock().unwrap();
    assert!(
        state
            .cache
            .entries
            .iter()
            .all(|e| e.entry_type == EntryType::Static)
    );
    assert_eq!(state.requests, 2, "two `show ip nhrp`");
}

#[test]
fn debug_switches_show_in_debug_condition() {
    let d = start_fake();
    let (_, out, _) = cli(&d, "debug nhrp packet");
    assert_eq!(out, "NHRP packet debugging is on\n");
    cli(&d, "debug dmvpn condition interface tunnel 101");
    cli(&d, "debug dmvpn condition peer nbma 192.0.2.1");
    cli(&d, "debug dmvpn error nhrp");
    cli(&d, "debug nhrp capture /tmp/dmvpn-ctl-test.pcapng");
    let (_, out, _) = cli(&d, "show dmvpn debug-condition");
    assert_eq!(out, render::debug_condition(&d.state.lock().unwrap().debug));
    assert!(out.contains("Tunnel101,\n"), "{out}");
    assert!(out.contains("192.0.2.1,\n"), "{out}");
    assert!(
        out.contains("NHRP packet capture to /tmp/dmvpn-ctl-test.pcapng is on"),
        "{out}"
    );
    cli(&d, "no debug nhrp capture");
    assert!(d.state.lock().unwrap().debug.capture.is_none());
    let (_, out, _) = cli(&d, "show dmvpn debug-condition --json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["nhrp"]["packet"], true);
    assert_eq!(v["dmvpn"]["nhrp"]["error"], true);
    assert_eq!(v["interfaces"][0], "Tunnel101");
    let (_, out, _) = cli(&d, "undebug all");
    assert_eq!(out, "All possible debugging has been turned off\n");
    assert_eq!(d.state.lock().unwrap().debug, DebugConditions::default());
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let d = start_fake();
    let (request, _) = parse("show dmvpn detail").unwrap();
    let code = execute(&request, false, &d.path, &mut Closed, &mut Vec::new()).unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
}

#[test]
fn daemon_refusal_exits_1_with_its_message() {
    let d = start_fake();
    let (code, out, err) = cli(&d, "clear counters tunnel 9");
    assert_eq!(code, ExitCode::from(1));
    assert_eq!(out, "");
    assert_eq!(err, "% no such interface: Tunnel9\n");
    let (code, _, err) = cli(&d, "clear dmvpn statistics");
    assert_eq!(code, ExitCode::from(1));
    assert!(err.contains("not supported by this daemon"), "{err}");
}

#[test]
fn missing_daemon_says_how_to_fix_it() {
    let path = unique_socket_path();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let e = execute(
        &Request::ShowRunningConfig,
        false,
        &path,
        &mut out,
        &mut err,
    )
    .expect_err("no daemon listens");
    let msg = format!("{e:#}");
    assert!(
        msg.contains(&format!(
            "cannot reach the dmvpn daemon at {}",
            path.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("is `dmvpn daemon` running? (use --socket)"),
        "{msg}"
    );
}

//! The daemon's lifecycle in namespaces: SIGTERM sends Purge (the hub forgets the spoke long
//! before its holdtime) and removes the TUN device and the kernel routes; SIGHUP applies a
//! changed configuration without disturbing the unchanged peers; the control socket answers
//! `show dmvpn` and `show ip nhrp` through the `dmvpn show` CLI; a bad configuration is
//! refused with `FILE:LINE:COLUMN`.
//!
//! Needs root and `ip`; skips otherwise (the bad-configuration test needs nothing).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase, Signal};

fn started_lab(tag: &str) -> Lab {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 2, Phase::Two, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab
}

fn hub_knows(lab: &Lab, tunnel: std::net::Ipv4Addr) -> bool {
    lab.show_nhrp(0).is_ok_and(|c| {
        c.entries
            .iter()
            .any(|e| e.prefix.address == IpAddr::V4(tunnel))
    })
}

#[test]
fn sigterm_purges_the_registration_and_removes_the_tunnel() {
    if !common::can_run_with(&["ip"]) {
        return;
    }
    let mut lab = started_lab("st");
    let spoke = lab.nodes()[1].clone();
    assert!(hub_knows(&lab, spoke.tunnel));
    let status = lab.stop_daemon(1).expect("spoke1's daemon exits");
    assert!(status.success(), "exit status {status}");
    // The hub's holdtime is 600 s: only a Purge removes the entry this soon.
    lab::wait_for(
        Duration::from_secs(15),
        "the hub to drop spoke1 after its Purge",
        || (!hub_knows(&lab, spoke.tunnel)).then_some(()),
    )
    .expect("purged");
    assert!(hub_knows(&lab, lab.nodes()[2].tunnel), "spoke2 must stay");
    assert!(
        lab::ns_run(&spoke.ns, "ip", &["link", "show", "Tunnel0"]).is_err(),
        "Tunnel0 still exists after SIGTERM"
    );
    let routes = lab::ns_run(&spoke.ns, "ip", &["route", "show"]).expect("ip route");
    assert!(
        !routes.contains("Tunnel0"),
        "routes into the tunnel remain:\n{routes}"
    );
    let log = std::fs::read_to_string(&spoke.log).unwrap_or_default();
    assert!(log.contains("Purge Request sent"), "log:\n{log}");
}

#[test]
fn sighup_applies_changes_without_disturbing_unchanged_peers() {
    if !common::can_run_with(&["ip"]) {
        return;
    }
    let lab = started_lab("hu");
    let nodes = lab.nodes().to_vec();
    let created = |lab: &Lab| -> Vec<(IpAddr, u64)> {
        lab.show_nhrp(0)
            .map(|c| {
                c.entries
                    .iter()
                    .map(|e| (e.prefix.address, e.created_secs))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ifindex = |ns: &str| lab::ns_run(ns, "cat", &["/sys/class/net/Tunnel0/ifindex"]).ok();
    let before = created(&lab);
    let hub_ifindex = ifindex(&nodes[0].ns);
    lab.append_config(0, "ip route 192.168.99.0 255.255.255.0 10.0.0.2")
        .expect("edit the hub's config");
    lab.signal_daemon(0, Signal::SIGHUP);
    lab::wait_for(
        Duration::from_secs(20),
        "the reloaded route in the hub's kernel",
        || {
            lab::ns_run(&nodes[0].ns, "ip", &["route", "show", "192.168.99.0/24"])
                .ok()
                .filter(|r| r.contains("via 10.0.0.2") && r.contains("Tunnel0"))
                .map(|_| ())
        },
    )
    .expect("route installed on reload");
    // The tunnel was not recreated and the registrations were kept (same entries, ages
    // still counting up).
    assert_eq!(ifindex(&nodes[0].ns), hub_ifindex, "Tunnel0 was recreated");
    let after = created(&lab);
    for (addr, age) in &before {
        let now = after
            .iter()
            .find(|(a, _)| a == addr)
            .unwrap_or_else(|| panic!("{addr} lost on reload: {after:?}"));
        assert!(now.1 >= *age, "{addr} was re-created on reload");
    }
    let running = lab
        .request(0, &dmvpn_mgmt::Request::ShowRunningConfig)
        .expect("show running-config");
    assert!(
        format!("{running:?}").contains("192.168.99.0"),
        "running config not updated: {running:?}"
    );
    // Traffic still flows through the hub.
    let p = lab.ping(1, nodes[0].host, 3, 0.2).expect("ping");
    assert!(p.received > 0, "{p:?}");
}

#[test]
fn show_commands_answer_over_the_control_socket() {
    if !common::can_run_with(&["ip"]) {
        return;
    }
    let lab = started_lab("sh");
    let hub = lab.nodes()[0].clone();
    let commands: [&[&str]; 2] = [
        &["show", "dmvpn", "--json"],
        &["show", "ip", "nhrp", "--json"],
    ];
    for args in commands {
        let out = Command::new(common::exe())
            .arg("--socket")
            .arg(&hub.socket)
            .args(args)
            .output()
            .expect("run dmvpn show");
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("not available") || err.contains("unrecognized") {
                eprintln!(
                    "SKIP: `dmvpn {}` is not in this build: {err}",
                    args.join(" ")
                );
                continue;
            }
            panic!("dmvpn {} failed: {err}", args.join(" "));
        }
        let v: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("dmvpn {}: not JSON ({e}): {text}", args.join(" ")));
        for spoke in &lab.nodes()[1..] {
            assert!(
                v.to_string().contains(&spoke.nbma.to_string()),
                "dmvpn {} does not show {}: {text}",
                args.join(" "),
                spoke.nbma
            );
        }
    }
}

#[test]
fn a_bad_configuration_is_refused_with_its_location() {
    let dir = std::env::temp_dir().join(format!("dmvpn-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cfg = dir.join("bad.conf");
    std::fs::write(
        &cfg,
        "interface Tunnel0\n ip address 10.0.0.1 255.255.255.0\n ip nhrp holdtime banana\n",
    )
    .expect("write");
    let out = Command::new(common::exe())
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .arg("daemon")
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("run dmvpn daemon");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:3:"), "stderr: {err}");
}

#[test]
fn debug_nhrp_packet_logs_packets_and_clear_relearns() {
    if !common::can_run_with(&["ip"]) {
        return;
    }
    let lab = started_lab("db");
    let nodes = lab.nodes().to_vec();
    let on = dmvpn_mgmt::Request::Debug(dmvpn_mgmt::DebugRequest {
        command: dmvpn_mgmt::DebugCommand::Nhrp {
            kind: dmvpn_mgmt::NhrpDebugKind::Packet,
        },
        enable: true,
    });
    match lab.request(1, &on).expect("debug nhrp packet") {
        dmvpn_mgmt::Payload::Ack(a) => assert!(a.message.contains("on"), "{a:?}"),
        other => panic!("unexpected {other:?}"),
    }
    match lab
        .request(1, &dmvpn_mgmt::Request::ShowDmvpnDebugCondition)
        .expect("show dmvpn debug-condition")
    {
        dmvpn_mgmt::Payload::DebugConditions(d) => assert!(d.nhrp.packet, "{d:?}"),
        other => panic!("unexpected {other:?}"),
    }
    // Phase 2: traffic to spoke2's LAN makes spoke1 send a Resolution Request.
    let p = lab.ping(1, nodes[2].host, 3, 0.2).expect("ping");
    assert!(p.received > 0, "{p:?}");
    lab::wait_for(Duration::from_secs(20), "the packet debug line", || {
        std::fs::read_to_string(&nodes[1].log)
            .ok()
            .filter(|l| l.contains("NHRP: Send Resolution Request via Tunnel0"))
            .map(|_| ())
    })
    .expect("debug line in the log");
    // `debug nhrp capture FILE` records what follows; tshark decodes it.
    let capture_file = lab.state_dir().join("spoke1-nhrp.pcapng");
    let capture_on = dmvpn_mgmt::Request::Debug(dmvpn_mgmt::DebugRequest {
        command: dmvpn_mgmt::DebugCommand::NhrpCapture {
            path: Some(capture_file.to_string_lossy().into_owned()),
        },
        enable: true,
    });
    lab.request(1, &capture_on).expect("debug nhrp capture");
    // `clear ip nhrp` on spoke1 removes the learned entry for spoke2; traffic re-learns it.
    assert!(lab.has_entry_with_nbma(1, nodes[2].nbma));
    let cleared = lab
        .request(
            1,
            &dmvpn_mgmt::Request::ClearIpNhrp(dmvpn_mgmt::ClearIpNhrp::default()),
        )
        .expect("clear ip nhrp");
    assert!(matches!(cleared, dmvpn_mgmt::Payload::Ack(_)));
    assert!(
        !lab.has_entry_with_nbma(1, nodes[2].nbma),
        "the dynamic entry survived clear ip nhrp"
    );
    // The data plane reports a missing mapping at most once a second per next hop, so keep
    // traffic flowing for a few seconds.
    let p = lab.ping(1, nodes[2].host, 10, 0.3).expect("ping");
    assert!(p.received > 0, "{p:?}");
    lab::wait_for(
        Duration::from_secs(20),
        "the entry to be re-learned",
        || lab.has_entry_with_nbma(1, nodes[2].nbma).then_some(()),
    )
    .expect("re-learned");
    let status = match lab
        .request(1, &dmvpn_mgmt::Request::ShowDmvpnDebugCondition)
        .expect("show dmvpn debug-condition")
    {
        dmvpn_mgmt::Payload::DebugConditions(d) => d.capture.expect("capture status"),
        other => panic!("unexpected {other:?}"),
    };
    assert!(status.packets >= 2, "{status:?}");
    let capture_off = dmvpn_mgmt::Request::Debug(dmvpn_mgmt::DebugRequest {
        command: dmvpn_mgmt::DebugCommand::NhrpCapture { path: None },
        enable: false,
    });
    lab.request(1, &capture_off).expect("no debug nhrp capture");
    if lab::run("sh", &["-c", "command -v tshark"]).is_ok() {
        let file = capture_file.to_string_lossy().into_owned();
        let decoded = lab::run("tshark", &["-n", "-r", &file]).expect("tshark reads the capture");
        assert!(
            decoded.contains("NHRP") && decoded.contains("Resolution Request"),
            "tshark:\n{decoded}"
        );
        assert!(
            !decoded.to_lowercase().contains("malformed"),
            "tshark:\n{decoded}"
        );
    } else {
        eprintln!("SKIP: tshark is not installed; capture not decoded");
    }
    match lab
        .request(1, &dmvpn_mgmt::Request::UndebugAll)
        .expect("undebug all")
    {
        dmvpn_mgmt::Payload::Ack(_) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn metrics_endpoint_matches_show_ip_nhrp_traffic() {
    if !common::can_run_with(&["ip"]) || lab::run("sh", &["-c", "command -v python3"]).is_err() {
        eprintln!("SKIP: needs root and python3");
        return;
    }
    let prefix = lab::unique_prefix("mt");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Two, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.hub_metrics = Some("127.0.0.1:9850".parse().expect("address"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    let hub_ns = lab.nodes()[0].ns.clone();
    let scrape = lab::ns_run(
        &hub_ns,
        "python3",
        &[
            "-c",
            "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9850/metrics',timeout=10).read().decode())",
        ],
    )
    .expect("scrape the hub's metrics");
    assert!(scrape.trim_end().ends_with("# EOF"), "{scrape}");
    let traffic = match lab
        .request(
            0,
            &dmvpn_mgmt::Request::ShowIpNhrpTraffic(dmvpn_mgmt::InterfaceFilter::default()),
        )
        .expect("show ip nhrp traffic")
    {
        dmvpn_mgmt::Payload::Traffic(t) => t,
        other => panic!("unexpected {other:?}"),
    };
    let received = traffic.interfaces[0].received.registration_request;
    assert!(received >= 2, "{traffic:?}");
    let line = scrape
        .lines()
        .find(|l| {
            l.starts_with("dmvpn_nhrp_packets_total{")
                && l.contains("direction=\"received\"")
                && l.contains("type=\"registration_request\"")
        })
        .unwrap_or_else(|| panic!("no received registration counter:\n{scrape}"));
    let value: f64 = line
        .rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {line}"));
    assert_eq!(value as u64, received, "{line}");
}

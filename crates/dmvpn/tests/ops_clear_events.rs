//! Issue 7's "Must show" for the clear commands and the event lines, against a live lab (a hub
//! and 2 spokes in namespaces), driven through the `dmvpn` binary over the control socket:
//! `clear dmvpn session` empties the hub's dynamic entries and the spokes' registrations bring
//! them back; `clear dmvpn statistics` and `clear counters tunnel 0` put the tunnel counters
//! back to zero and traffic makes them grow again; the daemons' logs carry
//! `%DMVPN-5-NHRP_CACHE: Client … on Tunnel0 Registered.`, `%DMVPN-5-NHRP_NHS: Tunnel0 … is UP`
//! and, once the hub is stopped, `… is DOWN`; with `logging dmvpn rate-limit SECONDS` in the
//! hub's configuration, a spoke's refreshes log `Registered.` once per window, not each time.
//!
//! Needs root and `ip`, `ping`; skips otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

/// Runs `dmvpn --socket SOCKET ARGS…` and returns its stdout; panics with stderr on failure.
fn cli(socket: &Path, args: &[&str]) -> String {
    let out = Command::new(common::exe())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run dmvpn");
    assert!(
        out.status.success(),
        "dmvpn {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn started_lab(tag: &str, holdtime: u32) -> Lab {
    started_lab_with(tag, holdtime, "")
}

/// A lab whose hub configuration ends with `hub_lines`.
fn started_lab_with(tag: &str, holdtime: u32, hub_lines: &str) -> Lab {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 2, Phase::Two, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.holdtime = holdtime;
    spec.registration_timeout = Some(5);
    let mut lab = Lab::build(spec).expect("build the lab");
    if !hub_lines.is_empty() {
        lab.append_config(0, hub_lines).expect("hub config");
    }
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab
}

/// Dynamic entries in node `index`'s cache (`show ip nhrp --json`).
fn dynamic_entries(lab: &Lab, index: usize) -> usize {
    lab.show_nhrp(index).map_or(0, |c| {
        c.entries
            .iter()
            .filter(|e| e.entry_type == dmvpn_mgmt::EntryType::Dynamic)
            .count()
    })
}

#[test]
fn clear_dmvpn_session_removes_entries_that_registrations_bring_back() {
    if !common::can_run() {
        return;
    }
    // Spokes register every holdtime/3 = 5 s, so the hub re-learns them quickly.
    let lab = started_lab("oc", 15);
    let hub = lab.nodes()[0].clone();
    assert_eq!(dynamic_entries(&lab, 0), 2, "{:?}", lab.show_nhrp(0));
    let ack = cli(&hub.socket, &["clear", "dmvpn", "session"]);
    assert!(ack.contains("cleared"), "{ack}");
    // Gone right after the clear (no registration can have arrived in the same instant, and
    // if one did, it would re-create at most one entry).
    let after = dynamic_entries(&lab, 0);
    assert!(
        after < 2,
        "clear dmvpn session left {after} dynamic entries"
    );
    let text = cli(&hub.socket, &["show", "dmvpn"]);
    let listed = lab.nodes()[1..]
        .iter()
        .filter(|s| text.contains(&s.nbma.to_string()))
        .count();
    assert!(
        listed < 2,
        "show dmvpn still lists both spokes after the clear:\n{text}"
    );
    // The next registrations put both back, visible in `show dmvpn`.
    lab::wait_for(
        Duration::from_secs(60),
        "both spokes to be re-learned",
        || lab.all_registered().then_some(()),
    )
    .expect("re-learned");
    let text = cli(&hub.socket, &["show", "dmvpn"]);
    for spoke in &lab.nodes()[1..] {
        assert!(
            text.contains(&spoke.nbma.to_string()),
            "{} missing after re-registration:\n{text}",
            spoke.nbma
        );
    }
}

#[test]
fn clear_statistics_and_clear_counters_reset_then_counters_grow() {
    if !common::can_run() {
        return;
    }
    let lab = started_lab("ot", 300);
    let spoke = lab.nodes()[1].clone();
    let hub_host = lab.nodes()[0].host;
    for clear in [
        &["clear", "dmvpn", "statistics"][..],
        &["clear", "counters", "tunnel", "0"][..],
    ] {
        let ping = lab.ping(1, hub_host, 3, 0.2).expect("ping");
        assert!(ping.lossless(), "{ping:?}");
        let before = lab.tunnel_counters(1).expect("counters");
        assert!(
            before.packets_out >= 3 && before.packets_in >= 3,
            "no traffic counted before `{}`: {before:?}",
            clear.join(" ")
        );
        let ack = cli(&spoke.socket, clear);
        assert!(ack.contains("cleared"), "{ack}");
        // Registrations run every 100 s here: nothing else crosses the tunnel meanwhile.
        let zero = lab.tunnel_counters(1).expect("counters");
        assert_eq!(
            (
                zero.packets_in,
                zero.packets_out,
                zero.bytes_in,
                zero.bytes_out
            ),
            (0, 0, 0, 0),
            "`{}` did not reset the tunnel counters",
            clear.join(" ")
        );
        let json = cli(&spoke.socket, &["show", "dmvpn", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        for peer in v["interfaces"][0]["peers"].as_array().expect("peers") {
            assert_eq!(
                peer["counters"]["packets_out"],
                0,
                "peer counters survived `{}`: {peer}",
                clear.join(" ")
            );
        }
        let ping = lab.ping(1, hub_host, 2, 0.2).expect("ping");
        assert!(ping.lossless(), "{ping:?}");
        lab::wait_for(
            Duration::from_secs(10),
            "the counters to grow again",
            || {
                lab.tunnel_counters(1)
                    .filter(|c| c.packets_out >= 2 && c.packets_in >= 2)
                    .map(|_| ())
            },
        )
        .expect("counters grow after the clear");
    }
}

fn log_has(path: &Path, needle: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle))
}

#[test]
fn event_lines_for_registrations_and_nhs_up_and_down() {
    if !common::can_run() {
        return;
    }
    let mut lab = started_lab("oe", 15);
    let nodes = lab.nodes().to_vec();
    let (hub, spoke1, spoke2) = (&nodes[0], &nodes[1], &nodes[2]);
    for spoke in [spoke1, spoke2] {
        let line = format!(
            "%DMVPN-5-NHRP_CACHE: Client {} on Tunnel0 Registered.",
            spoke.tunnel
        );
        lab::wait_for(Duration::from_secs(30), &line, || {
            log_has(&hub.log, &line).then_some(())
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}; hub log:\n{}",
                std::fs::read_to_string(&hub.log).unwrap_or_default()
            )
        });
        let up = format!("%DMVPN-5-NHRP_NHS: Tunnel0 {} is UP", hub.tunnel);
        lab::wait_for(Duration::from_secs(30), &up, || {
            log_has(&spoke.log, &up).then_some(())
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}; {} log:\n{}",
                spoke.name,
                std::fs::read_to_string(&spoke.log).unwrap_or_default()
            )
        });
    }
    // Without `logging dmvpn rate-limit`, every refresh is logged (the control for
    // `logging_dmvpn_rate_limit_limits_repeated_lines`).
    let refreshed = format!(
        "%DMVPN-5-NHRP_CACHE: Client {} on Tunnel0 Registered.",
        spoke1.tunnel
    );
    lab::wait_for(Duration::from_secs(60), "a refresh to be logged", || {
        (count_lines(&hub.log, &refreshed) >= 2).then_some(())
    })
    .expect("refresh lines without a rate limit");
    // The hub stops: the spokes' registrations go unanswered and the NHS is declared DOWN.
    lab.stop_daemon(0);
    let down = format!("%DMVPN-5-NHRP_NHS: Tunnel0 {} is DOWN", hub.tunnel);
    lab::wait_for(Duration::from_secs(120), &down, || {
        log_has(&spoke1.log, &down).then_some(())
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}; spoke1 log:\n{}",
            std::fs::read_to_string(&spoke1.log).unwrap_or_default()
        )
    });
    let nhs = cli(&spoke1.socket, &["show", "ip", "nhrp", "nhs"]);
    assert!(
        nhs.contains("DOWN"),
        "show ip nhrp nhs after the hub stopped:\n{nhs}"
    );
}

/// Registration replies spoke `index` has received from its NHS (`show ip nhrp nhs`).
fn replies_received(lab: &Lab, index: usize) -> u64 {
    let Some(node) = lab.nodes().get(index) else {
        return 0;
    };
    let payload = lab::control_request(
        &node.socket,
        &dmvpn_mgmt::Request::ShowIpNhrpNhs(dmvpn_mgmt::ShowNhs::default()),
    );
    match payload {
        Ok(dmvpn_mgmt::Payload::Nhs(r)) => r.servers.iter().map(|s| s.replies_received).sum(),
        _ => 0,
    }
}

fn count_lines(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(needle)).count())
        .unwrap_or(0)
}

#[test]
fn logging_dmvpn_rate_limit_limits_repeated_lines() {
    if !common::can_run() {
        return;
    }
    // Spokes refresh every 5 s; the hub logs each registration line at most once an hour.
    let lab = started_lab_with("or", 15, "logging dmvpn rate-limit 3600");
    let nodes = lab.nodes().to_vec();
    let hub = &nodes[0];
    let running = cli(&hub.socket, &["show", "running-config"]);
    assert!(
        running.contains("logging dmvpn rate-limit 3600"),
        "the setting is not in the running configuration:\n{running}"
    );
    // Two refreshes after the first registration.
    lab::wait_for(Duration::from_secs(60), "spoke1 to refresh twice", || {
        (replies_received(&lab, 1) >= 3).then_some(())
    })
    .expect("refreshes");
    let line = format!(
        "%DMVPN-5-NHRP_CACHE: Client {} on Tunnel0 Registered.",
        nodes[1].tunnel
    );
    let n = count_lines(&hub.log, &line);
    assert_eq!(
        n,
        1,
        "`{line}` logged {n} times within the window; hub log:\n{}",
        std::fs::read_to_string(&hub.log).unwrap_or_default()
    );
}

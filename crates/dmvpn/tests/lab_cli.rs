//! `dmvpn lab` end to end: `dmvpn lab --spokes 3 --phase 3 --json` builds the lab, runs the
//! walk-through, reports the shortcut and removes everything; `--keep` leaves it up with
//! working control sockets until `--down`; without root it says so plainly.
//!
//! Needs root and `ip`, `ping`; skips otherwise. Each run uses its own `--name`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use dmvpn_lab as lab;

fn namespaces_of(name: &str) -> Vec<String> {
    lab::list_namespaces()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect()
}

#[test]
fn lab_phase3_json_reports_the_shortcut_and_cleans_up() {
    if !common::can_run() {
        return;
    }
    let name = lab::unique_prefix("cj");
    let out = Command::new(common::exe())
        .args([
            "lab", "--spokes", "3", "--phase", "3", "--json", "--name", &name,
        ])
        .output()
        .expect("run dmvpn lab");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dmvpn lab failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["spokes"], 3);
    assert_eq!(report["shortcut"]["spoke1_to_spoke2"], true, "{report:#}");
    let pings = report["pings"].as_array().expect("pings");
    assert_eq!(pings.len(), 2);
    for p in pings {
        assert_eq!(p["ok"], true, "{p}");
    }
    assert!(report["hub_relayed_before"].is_u64());
    assert!(report["hub_relayed_after"].is_u64());
    assert!(
        namespaces_of(&name).is_empty(),
        "namespaces left behind: {:?}",
        namespaces_of(&name)
    );
}

#[test]
fn lab_keep_then_down() {
    if !common::can_run() {
        return;
    }
    let name = lab::unique_prefix("ck");
    let out = Command::new(common::exe())
        .args(["lab", "--phase", "2", "--keep", "--json", "--name", &name])
        .output()
        .expect("run dmvpn lab --keep");
    // Whatever happens below, remove the lab.
    struct Down(String);
    impl Drop for Down {
        fn drop(&mut self) {
            let _ = Command::new(common::exe())
                .args(["lab", "--down", "--name", &self.0])
                .output();
        }
    }
    let guard = Down(name.clone());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["kept"], true);
    let sockets = report["sockets"].as_array().expect("sockets");
    assert_eq!(sockets.len(), 3);
    // The kept daemons answer on their sockets.
    for s in sockets {
        let path = PathBuf::from(s["socket"].as_str().expect("socket path"));
        let payload = lab::control_request(
            &path,
            &dmvpn_mgmt::Request::ShowDmvpn(dmvpn_mgmt::ShowDmvpn::default()),
        )
        .expect("kept daemon answers");
        assert!(matches!(payload, dmvpn_mgmt::Payload::Dmvpn(_)));
    }
    assert!(!namespaces_of(&name).is_empty());
    let down = Command::new(common::exe())
        .args(["lab", "--down", "--name", &name])
        .output()
        .expect("run dmvpn lab --down");
    assert!(down.status.success());
    assert!(
        namespaces_of(&name).is_empty(),
        "namespaces left after --down: {:?}",
        namespaces_of(&name)
    );
    drop(guard);
}

#[test]
fn lab_interrupted_removes_everything() {
    if !common::can_run() {
        return;
    }
    let name = lab::unique_prefix("ci");
    let mut child = Command::new(common::exe())
        .args(["lab", "--spokes", "2", "--name", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run dmvpn lab");
    // Interrupt once the daemons are being started (the hub's config is written).
    let state = lab::default_state_dir(&name);
    let seen = lab::wait_for(
        std::time::Duration::from_secs(60),
        "the lab to come up",
        || state.join("hub.pid").exists().then_some(()),
    );
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().expect("dmvpn lab exits");
    seen.expect("lab started");
    assert!(
        !status.success(),
        "an interrupted lab must not report success"
    );
    lab::wait_for(
        std::time::Duration::from_secs(30),
        "the interrupted lab to be removed",
        || namespaces_of(&name).is_empty().then_some(()),
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}", namespaces_of(&name)));
    assert!(!state.exists(), "state directory left behind");
    // No daemon of this lab survives (they would run on in deleted namespaces).
    let marker = format!("/{name}/");
    lab::wait_for(
        std::time::Duration::from_secs(30),
        "the interrupted lab's daemons to exit",
        || daemons_with(&marker).is_empty().then_some(()),
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}", daemons_with(&marker)));
}

/// Pids of processes whose command line mentions `marker`.
fn daemons_with(marker: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(" daemon ") && cmdline.contains(marker) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn lab_without_root_says_so() {
    if !lab::is_root() || lab::run("sh", &["-c", "command -v setpriv"]).is_err() {
        eprintln!("SKIP: needs root and setpriv to drop privileges");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(common::exe())
        .args(["lab", "--name", "nobody"])
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Permission denied") {
        eprintln!("SKIP: the binary is not executable by nobody: {stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(
        lab::list_namespaces()
            .unwrap_or_default()
            .iter()
            .all(|n| !n.starts_with("nobody-"))
    );
}

//! Issue 7's "Must show" for the show commands, against a live lab (a hub and 2 spokes in
//! namespaces): every show command's text output, run through the `dmvpn` binary over the
//! daemon's control socket, is compared with a golden snapshot in the seeds' layouts (times
//! and counters that vary between runs normalised), and its `--json` output validates against
//! the JSON Schema of its payload in `crates/mgmt/schemas/`.
//!
//! Regenerate the snapshots under `tests/golden/ops/` with `UPDATE_GOLDEN=1`.
//! Needs root and `ip`, `ping`; skips otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ops")
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mgmt/schemas")
}

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

/// Whether `token` is a plain count (digits, maybe with a trailing `%`, `,` or `)`), as
/// opposed to an address, an interface name or a time.
fn is_count(token: &str) -> bool {
    let core = token
        .trim_start_matches('(')
        .trim_end_matches([',', ')', '%']);
    !core.is_empty() && core.bytes().all(|b| b.is_ascii_digit())
}

/// The output with times normalised (`dmvpn_mgmt::render::normalize_times`) and, on the lines
/// that carry packet counters, every count replaced by `#`.
fn normalize(command: &str, text: &str) -> String {
    let text = dmvpn_mgmt::render::normalize_times(text);
    let counters_everywhere = command.contains("traffic") || command.contains("nhs");
    let mut out = Vec::new();
    for line in text.split('\n') {
        let counting = counters_everywhere
            || line.contains("packets")
            || line.contains("Pkts")
            || line.contains("bytes")
            || line.contains("Usage");
        if !counting {
            out.push(line.to_string());
            continue;
        }
        let mut new = String::with_capacity(line.len());
        let mut rest = line;
        while !rest.is_empty() {
            let start = rest.find(|c: char| c != ' ').unwrap_or(rest.len());
            let (spaces, tail) = rest.split_at(start);
            new.push_str(spaces);
            let end = tail.find([' ', ':', '/']).map_or(tail.len(), |e| e.max(1));
            let (token, after) = tail.split_at(end);
            if is_count(token) {
                let core_len = token
                    .trim_start_matches('(')
                    .trim_end_matches([',', ')', '%'])
                    .len();
                let lead = token.len() - token.trim_start_matches('(').len();
                new.push_str(&token[..lead]);
                new.push('#');
                new.push_str(&token[lead + core_len..]);
            } else {
                new.push_str(token);
            }
            rest = after;
        }
        out.push(new);
    }
    out.join("\n")
}

/// Spoke 1's entry for spoke 2's tunnel address comes either from spoke 1's own Resolution
/// Request (`router unique used`) or, when spoke 2's request arrives first, from that request's
/// source (`router implicit`): both forms become `router {implicit|unique used}` (`D/R?` in
/// `brief`), so the snapshot does not depend on which spoke resolved first.
fn normalize_resolution_race(text: &str, racy_prefix: &str) -> String {
    let mut out = Vec::new();
    let mut in_entry = false;
    for line in text.split('\n') {
        let mut line = line.to_string();
        if line.starts_with(&format!("{racy_prefix} ")) {
            in_entry = true;
            line = line
                .replace("D/RuU    ", "D/R?     ")
                .replace("D/Ri     ", "D/R?     ");
        } else if !line.starts_with(' ') {
            in_entry = false;
        } else if in_entry && line.contains("Flags:") {
            line = line
                .replace(
                    "Flags: router unique used",
                    "Flags: router {implicit|unique used}",
                )
                .replace(
                    "Flags: router implicit",
                    "Flags: router {implicit|unique used}",
                );
        }
        out.push(line);
    }
    out.join("\n")
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).expect("create the golden directory");
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual,
        expected,
        "{name}: the output differs from {} (regenerate with UPDATE_GOLDEN=1 after checking it)",
        path.display()
    );
}

fn validate(schema_file: &str, instance: &serde_json::Value) -> Vec<String> {
    let path = schema_dir().join(schema_file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Every show command, with the schema file of its `--json` payload.
const SHOWS: &[(&str, &str)] = &[
    ("show dmvpn", "dmvpn_status.schema.json"),
    ("show dmvpn detail", "dmvpn_status.schema.json"),
    ("show ip nhrp", "nhrp_cache.schema.json"),
    ("show ip nhrp brief", "nhrp_cache.schema.json"),
    ("show ip nhrp nhs", "nhs_report.schema.json"),
    ("show ip nhrp nhs detail", "nhs_report.schema.json"),
    ("show ip nhrp traffic", "traffic_report.schema.json"),
    ("show ip nhrp shortcut", "shortcut_table.schema.json"),
    ("show dmvpn debug-condition", "debug_conditions.schema.json"),
    ("show running-config", "running_config.schema.json"),
];

fn started_lab(tag: &str, phase: Phase) -> Lab {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 2, phase, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab
}

#[test]
fn every_show_matches_its_snapshot_and_its_schema() {
    if !common::can_run() {
        return;
    }
    let lab = started_lab("os", Phase::Three);
    let nodes = lab.nodes().to_vec();
    let (hub, spoke1, spoke2) = (&nodes[0], &nodes[1], &nodes[2]);
    // Spoke 1 sees the hub's entry and the hub both spokes' before the snapshots are taken.
    lab::wait_for(
        Duration::from_secs(30),
        "the hub to know both spokes",
        || {
            (lab.has_entry_with_nbma(0, spoke1.nbma) && lab.has_entry_with_nbma(0, spoke2.nbma))
                .then_some(())
        },
    )
    .expect("hub cache");
    // Traffic between the two LANs forms phase 3 shortcuts, so `show ip nhrp shortcut` has rows.
    let _ = lab.ping(1, spoke2.host, 5, 0.2);
    lab::wait_for(
        Duration::from_secs(30),
        "both spokes to hold a shortcut",
        || {
            let has = |i: usize| lab.show_shortcuts(i).is_ok_and(|t| !t.shortcuts.is_empty());
            if !(has(1) && has(2)) {
                let _ = lab.ping(1, spoke2.host, 1, 0.2);
                return None;
            }
            Some(())
        },
    )
    .expect("shortcuts");
    // Some debugging on, so that `show dmvpn debug-condition` has something to print.
    for node in [hub, spoke1] {
        cli(&node.socket, &["debug", "nhrp", "packet"]);
        cli(
            &node.socket,
            &[
                "debug",
                "dmvpn",
                "condition",
                "peer",
                "nbma",
                &spoke2.nbma.to_string(),
            ],
        );
    }
    let mut failures = Vec::new();
    for (role, node) in [("hub", hub), ("spoke", spoke1)] {
        for (command, schema) in SHOWS {
            let args: Vec<&str> = command.split(' ').collect();
            let text = cli(&node.socket, &args);
            // The hub holds no shortcut and IOS prints nothing for an empty table.
            if !(role == "hub" && command.ends_with("shortcut")) {
                assert!(
                    !text.trim().is_empty(),
                    "{role}: `{command}` printed nothing"
                );
            }
            let name = format!("{}_{role}", command.replace([' ', '-'], "_"));
            let mut normal = normalize(command, &text);
            if role == "spoke" {
                normal = normalize_resolution_race(&normal, &format!("{}/32", spoke2.tunnel));
            }
            check_golden(&name, &normal);
            let mut json_args = args.clone();
            json_args.push("--json");
            let json = cli(&node.socket, &json_args);
            let value: serde_json::Value = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{role}: `{command} --json` is not JSON ({e}): {json}"));
            let errors = validate(schema, &value);
            if !errors.is_empty() {
                failures.push(format!(
                    "{role}: `{command} --json` vs {schema}: {errors:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn normalize_hides_counts_and_keeps_addresses() {
    let text = "Tunnel0: Max-send limit:100Pkts/10Sec, Usage:3%\n   Sent: Total 12\n  10.0.0.1  UP 00:01:02";
    let got = normalize("show ip nhrp traffic", text);
    assert_eq!(
        got,
        "Tunnel0: Max-send limit:100Pkts/10Sec, Usage:#%\n   Sent: Total #\n  10.0.0.1  UP hh:mm:ss"
    );
}

#[test]
fn the_resolution_race_has_one_snapshot_form() {
    let implicit = "10.0.0.3/32 via 10.0.0.3, Tunnel0 created hh:mm:ss, expire hh:mm:ss\n  Type: dynamic, Flags: router implicit\n10.0.0.30/32        10.0.0.3        172.16.2.1      D/Ri     Tunnel0\n10.0.0.3/32        10.0.0.3        172.16.2.1      D/Ri     Tunnel0";
    let resolved = "10.0.0.3/32 via 10.0.0.3, Tunnel0 created hh:mm:ss, expire hh:mm:ss\n  Type: dynamic, Flags: router unique used\n10.0.0.30/32        10.0.0.3        172.16.2.1      D/Ri     Tunnel0\n10.0.0.3/32        10.0.0.3        172.16.2.1      D/RuU    Tunnel0";
    let a = normalize_resolution_race(implicit, "10.0.0.3/32");
    assert_eq!(a, normalize_resolution_race(resolved, "10.0.0.3/32"));
    assert!(a.contains("Flags: router {implicit|unique used}"), "{a}");
    // Other entries keep their flags.
    assert!(
        a.contains("10.0.0.30/32        10.0.0.3        172.16.2.1      D/Ri "),
        "{a}"
    );
}

//! FRR BGP over our tunnels, across network namespaces: a hub and 3 spokes whose dmvpn
//! configurations hold only the tunnel; zebra and bgpd run in every router's namespace. The
//! hub is a route reflector with dynamic neighbours (`bgp listen range 10.0.0.0/24
//! peer-group SPOKES`) and the spokes advertise their LANs (set with `ip addr`).
//!
//! * Phase 2: the reflected routes keep the advertising spoke's tunnel address as next hop;
//!   spoke 1 resolves spoke 2 on demand and the LAN-to-LAN traffic bypasses the hub.
//! * Phase 3: the hub sends only the summary `192.168.0.0/16`; traffic hairpins through the
//!   hub, which redirects; the shortcut route (protocol 157, the LAN's /24) overrides the
//!   summary in the kernel table, zebra sees it, and the traffic bypasses the hub (hub
//!   counters and a GRE capture).
//!
//! Needs root, `ip`, `ping`, `tcpdump` and FRR (Debian package `frr`); skips otherwise.
//! Each test builds its own lab and removes it (namespaces, dmvpn, FRR) on every exit path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::routing::{can_run_frr, converged_lab, ping_until_reply, spec};
use dmvpn_lab::{self as lab, Lab, Phase, Routing};

/// The steady state is spoke to spoke: 20 echoes, the hub relays (almost) nothing to spoke
/// 2, and the capture on the internet segment shows the GRE packets spoke 1 -> spoke 2.
fn assert_bypasses_the_hub(lab: &Lab) {
    let nodes = lab.nodes().to_vec();
    let (s1, s2) = (&nodes[1], &nodes[2]);
    let capture = lab.capture_gre("path").expect("capture on br0");
    let relayed_1 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let ping = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(ping.lossless(), "spoke-to-spoke ping lost echoes: {ping:?}");
    let relayed_2 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let lines = capture
        .stop_when(Duration::from_secs(10), |l| {
            lab::count_between(l, s1.nbma, s2.nbma) >= 20
        })
        .expect("read the capture");
    assert!(
        relayed_2 - relayed_1 < 5,
        "the hub still relays ({relayed_1} -> {relayed_2})"
    );
    let direct = lab::count_between(&lines, s1.nbma, s2.nbma);
    assert!(
        direct >= 20,
        "the capture shows {direct} GRE packets spoke1 -> spoke2, expected >= 20"
    );
}

#[test]
fn bgp_phase2_route_reflector_keeps_the_next_hop_and_spokes_go_direct() {
    if !can_run_frr() {
        return;
    }
    let lab = converged_lab(spec("bg2", 3, Phase::Two, Routing::Bgp));
    let nodes = lab.nodes().to_vec();
    let (s1, s2) = (&nodes[1], &nodes[2]);

    // The hub's sessions are dynamic neighbours from the listen range, one per spoke.
    let hub_peers = lab.bgp_peers(0);
    for spoke in &nodes[1..] {
        let p = hub_peers
            .iter()
            .find(|p| p.peer == spoke.tunnel.to_string())
            .unwrap_or_else(|| panic!("no session with {}: {hub_peers:?}", spoke.name));
        assert_eq!(p.state, "Established");
        assert_eq!(p.prefixes_received, 1, "{p:?}");
    }
    let summary = lab.vtysh(0, "show bgp summary").expect("vtysh");
    assert!(summary.contains("dynamic neighbor"), "{summary}");

    // Next hop preserved: spoke 1 reaches spoke 2's LAN through spoke 2's tunnel address.
    let bgp_routes = lab.kernel_routes(1, Some("bgp"));
    let want = format!("{}/24 via {} dev Tunnel0", s2.lan_net(), s2.tunnel);
    assert!(
        bgp_routes.contains(&want),
        "spoke1's BGP routes lack `{want}`:\n{bgp_routes}"
    );

    ping_until_reply(&lab, 1, s2.host, Duration::from_secs(30));
    lab::wait_for(
        Duration::from_secs(30),
        "spoke1 to hold a direct entry for spoke2",
        || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
    )
    .expect("spoke-to-spoke mapping");
    assert_bypasses_the_hub(&lab);
    let _ = s1;
}

#[test]
fn bgp_phase3_summary_from_the_hub_and_the_shortcut_overrides_it() {
    if !can_run_frr() {
        return;
    }
    let lab = converged_lab(spec("bg3", 3, Phase::Three, Routing::Bgp));
    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);

    // The spokes learn only the summary, with the hub as next hop.
    let bgp_routes = lab.kernel_routes(1, Some("bgp"));
    let summary = format!("192.168.0.0/16 via {} dev Tunnel0", hub.tunnel);
    assert!(
        bgp_routes.contains(&summary),
        "spoke1 lacks the summary `{summary}`:\n{bgp_routes}"
    );
    assert!(
        !bgp_routes.contains(&format!("{}/24", s2.lan_net())),
        "the hub leaked spoke2's /24 past the summary:\n{bgp_routes}"
    );

    // Traffic hairpins through the hub, which redirects; spoke 2 answers with its LAN.
    ping_until_reply(&lab, 1, s2.host, Duration::from_secs(30));
    let shortcut = format!("{}/24 via {} dev Tunnel0", s2.lan_net(), s2.tunnel);
    lab::wait_for(
        Duration::from_secs(30),
        "the shortcut route in spoke1's kernel table",
        || {
            let _ = lab.ping(1, s2.host, 2, 0.05);
            lab.kernel_routes(1, Some("157"))
                .contains(&shortcut)
                .then_some(())
        },
    )
    .expect("shortcut route (protocol 157)");
    let shortcuts = lab.show_shortcuts(1).expect("show ip nhrp shortcut");
    assert!(
        shortcuts
            .shortcuts
            .iter()
            .any(|s| s.target.to_string() == format!("{}/24", s2.lan_net())
                && s.next_hop == IpAddr::V4(s2.tunnel)),
        "show ip nhrp shortcut: {shortcuts:?}"
    );
    // The more specific shortcut beats the summary in the kernel's choice...
    let get = lab::ns_run(&s1.ns, "ip", &["route", "get", &s2.host.to_string()]).expect("ip");
    assert!(
        get.contains(&format!("via {} dev Tunnel0", s2.tunnel)),
        "ip route get: {get}"
    );
    // ... the summary is still there, and zebra sees the shortcut as a kernel route.
    assert!(lab.kernel_routes(1, Some("bgp")).contains(&summary));
    let rib = lab
        .vtysh(1, &format!("show ip route {}/24", s2.lan_net()))
        .expect("vtysh");
    assert!(
        rib.contains("kernel") || rib.contains("Known via \"kernel\""),
        "zebra does not see the shortcut route:\n{rib}"
    );
    assert_bypasses_the_hub(&lab);
}

/// `dmvpn lab --routing bgp --json`: the walk-through starts FRR, reports the sessions and
/// the shortcut over the BGP summary, and removes everything.
#[test]
fn lab_cli_routing_bgp_reports_the_sessions() {
    if !can_run_frr() {
        return;
    }
    let name = lab::unique_prefix("cb");
    let out = std::process::Command::new(common::exe())
        .args([
            "lab",
            "--phase",
            "3",
            "--routing",
            "bgp",
            "--json",
            "--name",
            &name,
        ])
        .output()
        .expect("run dmvpn lab");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "dmvpn lab --routing bgp failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["routing"], "bgp");
    assert_eq!(report["shortcut"]["spoke1_to_spoke2"], true, "{report:#}");
    let neighbors = report["routing_neighbors"].as_array().expect("neighbors");
    let hub_sessions = neighbors
        .iter()
        .filter(|n| n["node"] == "hub" && n["state"] == "Established")
        .count();
    assert_eq!(hub_sessions, 2, "{report:#}");
    let left: Vec<String> = lab::list_namespaces()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{name}-")))
        .collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

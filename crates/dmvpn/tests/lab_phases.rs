//! DMVPN phases 1, 2 and 3 across network namespaces: a hub and 3 spokes run `dmvpn daemon`;
//! the host behind spoke 1 pings the host behind spoke 2. The path is checked with the hub's
//! per-peer counters and a capture of the GRE packets on the internet segment: via the hub
//! first, then direct in phases 2 and 3. No echo may be lost while the shortcut forms.
//!
//! Needs root (namespaces, TUN, raw sockets) and `ip`, `ping`, `tcpdump`; skips otherwise.
//! Each test builds its own lab with a unique prefix and removes it on every exit path (the
//! `Lab` drop guard).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn phase_walkthrough(phase: Phase, tag: &str) {
    walkthrough(phase, tag);
}

/// The walk-through in the clear (`--no-ipsec`): the GRE capture sees the path. The
/// protected walk-through is `ipsec_phases.rs`.
fn walkthrough(phase: Phase, tag: &str) {
    if !common::can_run() {
        return;
    }
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 3, phase, common::exe());
    spec.protection = false;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");

    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);
    let capture = lab.capture_gre("path").expect("capture on br0");
    let relayed_0 = lab.packets_out_to(0, s2.nbma).expect("hub counters");

    // Stage 1: the first packets go via the hub; in phases 2 and 3 the spoke-to-spoke
    // mapping forms meanwhile, and not one echo is lost.
    let first = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(
        first.lossless(),
        "phase {}: echoes lost while the path formed: {first:?}",
        phase.number()
    );
    let relayed_1 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    assert!(
        relayed_1 > relayed_0,
        "phase {}: the first packets must be relayed by the hub ({relayed_0} -> {relayed_1})",
        phase.number()
    );
    if phase != Phase::One {
        lab::wait_for(
            Duration::from_secs(30),
            "spoke1 to hold a direct entry for spoke2",
            || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
        )
        .expect("direct mapping on spoke1");
    }
    if phase == Phase::Three {
        let shortcuts = lab.show_shortcuts(1).expect("show ip nhrp shortcut");
        assert!(
            shortcuts
                .shortcuts
                .iter()
                .any(|s| s.target.to_string() == "192.168.2.0/24"
                    && s.next_hop == std::net::IpAddr::V4(s2.tunnel)),
            "spoke1 has no shortcut to spoke2's LAN: {shortcuts:?}"
        );
    }

    // Stage 2: the steady state.
    let second = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(second.lossless(), "second ping lost echoes: {second:?}");
    let relayed_2 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let lines = capture
        .stop_when(Duration::from_secs(10), |l| {
            if phase == Phase::One {
                lab::count_between(l, hub.nbma, s2.nbma) >= 40
            } else {
                lab::count_between(l, s1.nbma, s2.nbma) >= 20
            }
        })
        .expect("read the capture");
    let hub_to_s2 = lab::count_between(&lines, hub.nbma, s2.nbma);
    let s1_to_hub = lab::count_between(&lines, s1.nbma, hub.nbma);
    let s1_to_s2 = lab::count_between(&lines, s1.nbma, s2.nbma);
    assert!(
        s1_to_hub > 0 && hub_to_s2 > 0,
        "the capture shows no path via the hub (s1->hub {s1_to_hub}, hub->s2 {hub_to_s2})"
    );
    match phase {
        Phase::One => {
            assert!(
                relayed_2 - relayed_1 >= 20,
                "phase 1: the hub must relay every echo ({relayed_1} -> {relayed_2})"
            );
            assert_eq!(s1_to_s2, 0, "phase 1: no GRE packet may go spoke to spoke");
        }
        Phase::Two | Phase::Three => {
            assert!(
                relayed_2 - relayed_1 < 5,
                "phase {}: the hub still relays ({relayed_1} -> {relayed_2})",
                phase.number()
            );
            // 20 echo requests, each seen twice on the bridge (in and out of the router).
            assert!(
                s1_to_s2 >= 20,
                "phase {}: the capture shows {s1_to_s2} GRE packets spoke1 -> spoke2, expected >= 20",
                phase.number()
            );
        }
    }
    // The third spoke was not involved and still has only its hub mapping.
    assert!(!lab.has_entry_with_nbma(3, s1.nbma));
}

#[test]
fn phase1_point_to_point_spokes_go_via_the_hub() {
    phase_walkthrough(Phase::One, "p1");
}

#[test]
fn phase2_spokes_resolve_each_other_without_losing_packets() {
    phase_walkthrough(Phase::Two, "p2");
}

#[test]
fn phase3_hub_redirects_and_spokes_install_shortcuts() {
    phase_walkthrough(Phase::Three, "p3");
}

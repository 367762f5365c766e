//! Failures and changes across namespaces: the hub's daemon is killed (SIGKILL: no Purge, no
//! cleanup) and restarted, and the spokes re-register and traffic through the hub resumes; a
//! spoke's NBMA address changes (as after a DHCP renewal) and the hub's mapping follows.
//!
//! The spokes use `ip nhrp registration timeout 5` so re-registration happens within seconds.
//! Needs root and `ip`, `ping`; skips otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn started_lab(tag: &str, phase: Phase) -> Lab {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 3, phase, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.registration_timeout = Some(5);
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab
}

#[test]
fn hub_killed_and_restarted_spokes_reregister_and_traffic_resumes() {
    if !common::can_run() {
        return;
    }
    let mut lab = started_lab("hk", Phase::Three);
    let nodes = lab.nodes().to_vec();
    let hub_host = nodes[0].host;
    let before = lab.ping(1, hub_host, 3, 0.2).expect("ping");
    assert!(before.lossless(), "before the crash: {before:?}");

    lab.kill_daemon(0);
    assert!(!lab.daemon_running(0));
    // The hub's TUN device went with its process.
    lab::wait_for(
        Duration::from_secs(10),
        "the hub's Tunnel0 to vanish",
        || {
            lab::ns_run(&nodes[0].ns, "ip", &["link", "show", "Tunnel0"])
                .is_err()
                .then_some(())
        },
    )
    .expect("Tunnel0 removed");

    lab.start_daemon(0).expect("restart the hub");
    // A fresh hub knows no spoke until they register again.
    lab::wait_for(
        Duration::from_secs(60),
        "every spoke to register with the restarted hub",
        || lab.all_registered().then_some(()),
    )
    .expect("re-registration");
    for (i, spoke) in nodes.iter().enumerate().skip(1) {
        let after = lab.ping(i, hub_host, 3, 0.2).expect("ping");
        assert!(
            after.received > 0,
            "{}: no traffic through the restarted hub: {after:?}",
            spoke.name
        );
    }
    // Spoke to spoke works again too (via the hub, then direct).
    let s2 = nodes[2].host;
    let p = lab.ping(1, s2, 5, 0.2).expect("ping");
    assert!(p.received > 0, "spoke1 -> spoke2 after the restart: {p:?}");
}

#[test]
fn spoke_nbma_change_is_followed_by_the_hub_mapping() {
    if !common::can_run() {
        return;
    }
    let mut lab = started_lab("nb", Phase::Two);
    let old = lab.nodes()[1].nbma;
    let new = std::net::Ipv4Addr::new(172, 16, 1, 2);
    let spoke_tunnel = lab.nodes()[1].tunnel;
    lab.set_nbma(1, new).expect("change spoke1's address");
    lab::wait_for(
        Duration::from_secs(60),
        "the hub's mapping of spoke1 to follow the new NBMA address",
        || {
            let cache = lab.show_nhrp(0).ok()?;
            cache
                .entries
                .iter()
                .any(|e| {
                    e.prefix.address == IpAddr::V4(spoke_tunnel) && e.nbma == Some(IpAddr::V4(new))
                })
                .then_some(())
        },
    )
    .expect("mapping follows");
    let cache = lab.show_nhrp(0).expect("show ip nhrp");
    assert!(
        !cache
            .entries
            .iter()
            .any(|e| e.nbma == Some(IpAddr::V4(old))),
        "the hub still maps something to the old address {old}: {cache:?}"
    );
    // Traffic from the hub's LAN reaches spoke1's LAN at its new address.
    let hub_to_s1 = lab.ping(0, lab.nodes()[1].host, 3, 0.2).expect("ping");
    assert!(
        hub_to_s1.received > 0,
        "hub -> spoke1 after the change: {hub_to_s1:?}"
    );
}

/// A spoke-to-spoke entry that carries traffic is refreshed before it expires: a steady flow
/// never falls back to the hub. The spokes' holdtime is 15 s and the flow lasts 25 s; a
/// capture on the internet segment shows no echo request relayed by the hub once the direct
/// path is up.
#[test]
fn used_entries_are_refreshed_and_the_flow_stays_direct() {
    if !common::can_run() || lab::run("sh", &["-c", "command -v tcpdump"]).is_err() {
        eprintln!("SKIP: needs root and tcpdump");
        return;
    }
    let prefix = lab::unique_prefix("rf");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Two, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.holdtime = 15;
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);
    // Form the direct path first.
    let warm = lab.ping(1, s2.host, 5, 0.2).expect("ping");
    assert!(warm.received > 0);
    lab::wait_for(Duration::from_secs(20), "the direct entries", || {
        (lab.has_entry_with_nbma(1, s2.nbma) && lab.has_entry_with_nbma(2, s1.nbma)).then_some(())
    })
    .expect("direct path");
    let capture = lab.capture_gre("refresh").expect("capture");
    let flow = lab.ping(1, s2.host, 50, 0.5).expect("ping");
    assert!(flow.lossless(), "{flow:?}");
    let lines = capture.stop().expect("capture");
    let relayed: Vec<&String> = lines
        .iter()
        .filter(|l| {
            l.contains(&format!("IP {} > {}:", hub.nbma, s2.nbma)) && l.contains("ICMP echo")
        })
        .collect();
    assert!(
        relayed.is_empty(),
        "the hub relayed {} echo requests during the flow: the entry expired\n{}",
        relayed.len(),
        relayed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(lab.has_entry_with_nbma(1, s2.nbma));
}

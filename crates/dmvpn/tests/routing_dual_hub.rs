//! Seed 003's dual hub, single DMVPN layout with FRR BGP, across network namespaces: two
//! hubs (`10.0.0.1` and `10.0.0.254`, both route reflectors with dynamic neighbours, both
//! sending the phase-3 summary), 3 spokes that register with both (`ip nhrp nhs … priority
//! 1|2`) and peer with both, preferring the first. The primary hub is killed as by a power
//! cut (its NBMA link goes down, then SIGKILL to its dmvpn, zebra and bgpd: no Purge, no BGP
//! notification, no TCP reset); once the spokes' BGP hold timer (9 s) expires they follow the
//! second hub's summary, and LAN-to-LAN traffic flows through the second hub (its counters),
//! then over a shortcut it redirects to (the resolution goes to the second hub once the
//! first is DOWN as an NHS).
//!
//! Needs root, `ip`, `ping`, `tcpdump` and FRR; skips otherwise. The lab removes itself.
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
use dmvpn_lab::{self as lab, Phase, Routing};

#[test]
fn dual_hub_bgp_primary_killed_traffic_resumes_through_the_second() {
    if !can_run_frr() {
        return;
    }
    let mut spec = spec("dh", 3, Phase::Three, Routing::Bgp);
    spec.dual_hub = true;
    spec.registration_timeout = Some(5);
    let hub2_index = spec.hub2_index().expect("second hub");
    let mut lab = converged_lab(spec);
    let nodes = lab.nodes().to_vec();
    let (hub1, s1, s2, s3) = (&nodes[0], &nodes[1], &nodes[2], &nodes[3]);
    let hub2 = &nodes[hub2_index];

    // Both hubs know every spoke; every spoke has a session with both hubs.
    for h in [0, hub2_index] {
        let cache = lab.show_nhrp(h).expect("show ip nhrp");
        for spoke in &nodes[1..=3] {
            assert!(
                cache
                    .entries
                    .iter()
                    .any(|e| e.prefix.address == IpAddr::V4(spoke.tunnel)),
                "{} has no registration from {}",
                nodes[h].name,
                spoke.name
            );
        }
    }
    let nhs = lab.show_dmvpn(1).expect("show dmvpn");
    let peers: Vec<IpAddr> = nhs.interfaces[0].peers.iter().map(|p| p.nbma).collect();
    assert!(
        peers.contains(&IpAddr::V4(hub1.nbma)) && peers.contains(&IpAddr::V4(hub2.nbma)),
        "spoke1 is not up with both hubs: {peers:?}"
    );
    // The primary's summary wins (the second hub's has local preference 50).
    let primary = format!("192.168.0.0/16 via {} dev Tunnel0", hub1.tunnel);
    let routes = lab.kernel_routes(1, Some("bgp"));
    assert!(routes.contains(&primary), "{routes}");

    ping_until_reply(&lab, 1, s2.host, Duration::from_secs(30));

    lab.kill_node(0);
    assert!(!lab.daemon_running(0));

    // The spokes' sessions with the primary time out and they follow the second hub.
    let secondary = format!("192.168.0.0/16 via {} dev Tunnel0", hub2.tunnel);
    for (i, spoke) in nodes.iter().enumerate().take(4).skip(1) {
        lab::wait_for(
            Duration::from_secs(60),
            &format!("{} to route the summary via the second hub", spoke.name),
            || {
                lab.kernel_routes(i, Some("bgp"))
                    .contains(&secondary)
                    .then_some(())
            },
        )
        .expect("summary via the second hub");
    }

    // A flow that has no shortcut yet goes through the second hub.
    let relayed_before = lab.packets_out_to(hub2_index, s3.nbma).unwrap_or(0);
    ping_until_reply(&lab, 1, s3.host, Duration::from_secs(60));
    let relayed_after = lab
        .packets_out_to(hub2_index, s3.nbma)
        .expect("hub2 counters");
    assert!(
        relayed_after > relayed_before,
        "the second hub relayed nothing to spoke3 ({relayed_before} -> {relayed_after})"
    );
    // The second hub redirects: spoke 1 gets a shortcut to spoke 3 through it.
    lab::wait_for(
        Duration::from_secs(60),
        "spoke1 to hold a direct entry for spoke3",
        || {
            let _ = lab.ping(1, s3.host, 2, 0.05);
            lab.has_entry_with_nbma(1, s3.nbma).then_some(())
        },
    )
    .expect("shortcut through the second hub");
    // And the earlier pair still talks.
    ping_until_reply(&lab, 2, s1.host, Duration::from_secs(30));
}

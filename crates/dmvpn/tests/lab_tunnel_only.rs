//! Responder from the kernel's routing table, across network namespaces: a hub and 3 spokes
//! whose dmvpn configurations hold only the tunnel (no LAN interface, no route). The LANs are
//! the lab's `ip addr` on `Ethernet1`; the routes through the tunnel are added with
//! `ip route`, as a routing daemon adds them. In phase 3 the spoke owning the destination
//! answers the Resolution Request from its connected LAN route, with the LAN's prefix (/24):
//! the shortcut forms, is visible with `ip route` (protocol 157), and the traffic bypasses
//! the hub (hub counters and a GRE capture). In
//! phase 2 the spokes resolve each other directly and the traffic bypasses the hub too. A
//! prefix spoke2 learned from a router behind it is resolved with that route's length.
//!
//! Needs root (namespaces, TUN, raw sockets) and `ip`, `ping`, `tcpdump`; skips otherwise.
//! Each test builds its own lab with a unique prefix and removes it on every exit path.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn tunnel_only(phase: Phase, tag: &str) {
    if !common::can_run_with(&["ip", "ping", "tcpdump"]) {
        return;
    }
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 3, phase, common::exe());
    spec.tunnel_only = true;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    for i in 0..=3 {
        let text = lab.config_text(i);
        assert!(
            !text.contains("interface Ethernet") && !text.contains("ip route"),
            "the configuration holds more than the tunnel:\n{text}"
        );
    }
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab.add_kernel_routes().expect("ip route");

    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);

    // The first packets go via the hub while the shortcut forms.
    let first = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(first.received > 0, "no echo came back: {first:?}");
    lab::wait_for(
        Duration::from_secs(30),
        "spoke1 to hold a direct entry for spoke2",
        || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
    )
    .expect("direct mapping on spoke1");
    if phase == Phase::Three {
        // Spoke2 answered for its LAN from its connected route: the /24, not a host.
        let shortcuts = lab.show_shortcuts(1).expect("show ip nhrp shortcut");
        assert!(
            shortcuts
                .shortcuts
                .iter()
                .any(|s| s.target.to_string() == "192.168.2.0/24"
                    && s.next_hop == std::net::IpAddr::V4(s2.tunnel)),
            "spoke1 has no shortcut to spoke2's LAN /24: {shortcuts:?}"
        );
        // The shortcut is in the kernel's table, through the tunnel, under its protocol.
        let want = format!("192.168.2.0/24 via {} dev Tunnel0", s2.tunnel);
        lab::wait_for(
            Duration::from_secs(10),
            "the shortcut route in spoke1's kernel table",
            || {
                let out = lab::ns_run(&s1.ns, "ip", &["route", "show", "proto", "157"]).ok()?;
                out.contains(&want).then_some(())
            },
        )
        .expect("shortcut route visible with ip route");
    }

    // The steady state: spoke to spoke.
    let capture = lab.capture_gre("path").expect("capture on br0");
    let relayed_1 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let second = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(second.lossless(), "second ping lost echoes: {second:?}");
    let relayed_2 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let lines = capture
        .stop_when(Duration::from_secs(10), |l| {
            lab::count_between(l, s1.nbma, s2.nbma) >= 20
        })
        .expect("read the capture");
    assert!(
        relayed_2 - relayed_1 < 5,
        "phase {}: the hub still relays ({relayed_1} -> {relayed_2})",
        phase.number()
    );
    let s1_to_s2 = lab::count_between(&lines, s1.nbma, s2.nbma);
    assert!(
        s1_to_s2 >= 20,
        "phase {}: the capture shows {s1_to_s2} GRE packets spoke1 -> spoke2, expected >= 20",
        phase.number()
    );
    if phase == Phase::Three {
        learned_prefix_is_answered_with_its_length(&lab);
        // `clear ip nhrp` removes the shortcut routes from the kernel table, and so does the
        // daemon's exit.
        let kernel_shortcuts =
            || lab::ns_run(&s1.ns, "ip", &["route", "show", "proto", "157"]).unwrap_or_default();
        lab.request(
            1,
            &dmvpn_mgmt::Request::ClearIpNhrp(dmvpn_mgmt::ClearIpNhrp::default()),
        )
        .expect("clear ip nhrp");
        lab::wait_for(
            Duration::from_secs(10),
            "clear to remove the kernel shortcut routes",
            || (!kernel_shortcuts().contains("192.168.2.0/24")).then_some(()),
        )
        .expect("shortcut routes removed by clear");
        lab.ping(1, s2.host, 5, 0.1).expect("ping");
        lab::wait_for(
            Duration::from_secs(30),
            "the shortcut route to come back with traffic",
            || {
                let _ = lab.ping(1, s2.host, 2, 0.1);
                kernel_shortcuts().contains("192.168.2.0/24").then_some(())
            },
        )
        .expect("shortcut route back");
        lab.stop_daemon(1);
        assert!(
            kernel_shortcuts().trim().is_empty(),
            "shortcut routes left after the daemon's exit: {}",
            kernel_shortcuts()
        );
    }
    let _ = hub;
}

/// A prefix spoke2 learned from a router behind it (its LAN host stands in for that router)
/// is answered with the route's length: spoke1 gets a /16 shortcut.
fn learned_prefix_is_answered_with_its_length(lab: &Lab) {
    let nodes = lab.nodes().to_vec();
    let (hub, s2) = (&nodes[0], &nodes[2]);
    let ip = |ns: &str, args: &[&str]| {
        lab::ns_run(ns, "ip", args).expect("ip");
    };
    ip(&s2.host_ns, &["link", "set", "lo", "up"]);
    ip(&s2.host_ns, &["addr", "add", "172.20.1.1/32", "dev", "lo"]);
    let behind = s2.host.to_string();
    ip(
        &s2.ns,
        &[
            "route",
            "add",
            "172.20.0.0/16",
            "via",
            &behind,
            "dev",
            "Ethernet1",
        ],
    );
    let s2_tunnel = s2.tunnel.to_string();
    ip(
        &hub.ns,
        &[
            "route",
            "add",
            "172.20.0.0/16",
            "via",
            &s2_tunnel,
            "dev",
            "Tunnel0",
        ],
    );
    let hub_tunnel = hub.tunnel.to_string();
    ip(
        &nodes[1].ns,
        &[
            "route",
            "add",
            "172.20.0.0/16",
            "via",
            &hub_tunnel,
            "dev",
            "Tunnel0",
        ],
    );
    let target = std::net::Ipv4Addr::new(172, 20, 1, 1);
    lab::wait_for(
        Duration::from_secs(30),
        "a /16 shortcut on spoke1 for the prefix learned behind spoke2",
        || {
            let r = lab.ping(1, target, 3, 0.1).ok()?;
            let shortcuts = lab.show_shortcuts(1).ok()?;
            (r.received > 0
                && shortcuts.shortcuts.iter().any(|s| {
                    s.target.to_string() == "172.20.0.0/16"
                        && s.next_hop == std::net::IpAddr::V4(s2.tunnel)
                }))
            .then_some(())
        },
    )
    .expect("learned prefix resolved");
}

#[test]
fn phase3_tunnel_only_configs_answer_from_the_kernel_routes() {
    tunnel_only(Phase::Three, "to3");
}

#[test]
fn phase2_tunnel_only_configs_go_spoke_to_spoke() {
    tunnel_only(Phase::Two, "to2");
}

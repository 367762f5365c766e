//! FRR OSPF over our multipoint tunnels, across network namespaces: a hub and 3 spokes whose
//! dmvpn configurations hold only the tunnel; zebra and ospfd run in every router's
//! namespace. The hellos are multicast (224.0.0.5): the hub replicates them to every
//! registered spoke (`ip nhrp map multicast dynamic`), the spokes send theirs to the hub
//! (`ip nhrp map multicast`, the NHS). `ip ospf mtu-ignore`, hello 1 s, dead 4 s.
//!
//! * Point-to-multipoint: every spoke is Full with the hub, the LANs are learned via the hub,
//!   LAN-to-LAN traffic flows, and in phase 3 the hub's redirect gives a shortcut on top.
//! * Broadcast with the hub as DR (spokes priority 0), as in seed 003: the hub is Full/DR
//!   on every spoke, routes keep the remote spoke as next hop (phase 2), and the traffic goes
//!   spoke to spoke.
//!
//! Needs root, `ip`, `ping`, `tcpdump` and FRR; skips otherwise. Each test removes its lab.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use common::routing::{can_run_frr, converged_lab, ping_until_reply, spec};
use dmvpn_lab::{self as lab, OspfNetwork, Phase, Routing};

#[test]
fn ospf_point_to_multipoint_adjacencies_routes_traffic_and_a_phase3_shortcut() {
    if !can_run_frr() {
        return;
    }
    let mut spec = spec("op", 3, Phase::Three, Routing::Ospf);
    spec.ospf_network = OspfNetwork::PointToMultipoint;
    let lab = converged_lab(spec);
    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);

    let hub_neighbors = lab.ospf_neighbors(0);
    for spoke in &nodes[1..] {
        assert!(
            hub_neighbors
                .iter()
                .any(|n| n.router_id == spoke.tunnel.to_string() && n.full()),
            "the hub is not Full with {}: {hub_neighbors:?}",
            spoke.name
        );
    }
    let brief = lab
        .vtysh(0, "show ip ospf interface Tunnel0")
        .expect("vtysh");
    assert!(brief.contains("POINTOMULTIPOINT"), "{brief}");

    // Point-to-multipoint: the other spokes' LANs are learned with the hub as next hop.
    let routes = lab.kernel_routes(1, Some("ospf"));
    let via_hub = format!("{}/24 via {} dev Tunnel0", s2.lan_net(), hub.tunnel);
    assert!(
        routes.contains(&via_hub),
        "spoke1 lacks `{via_hub}`:\n{routes}"
    );

    ping_until_reply(&lab, 1, s2.host, Duration::from_secs(30));
    // Phase 3 on top of OSPF: the hub redirects and the shortcut overrides the OSPF route.
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
    .expect("shortcut over the OSPF route");
    let relayed_1 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let ping = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(ping.lossless(), "{ping:?}");
    let relayed_2 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    assert!(
        relayed_2 - relayed_1 < 10,
        "the hub still relays ({relayed_1} -> {relayed_2})"
    );
    // Every spoke reaches every LAN, the hub's included.
    ping_until_reply(&lab, 3, hub.host, Duration::from_secs(10));
    ping_until_reply(&lab, 2, s1.host, Duration::from_secs(10));
}

#[test]
fn ospf_broadcast_hub_is_the_dr_and_spokes_go_direct() {
    if !can_run_frr() {
        return;
    }
    let lab = converged_lab(spec("ob", 3, Phase::Two, Routing::Ospf));
    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2) = (&nodes[0], &nodes[1], &nodes[2]);

    for (i, spoke) in nodes.iter().enumerate().skip(1) {
        let neighbors = lab.ospf_neighbors(i);
        assert!(
            neighbors
                .iter()
                .any(|n| n.router_id == hub.tunnel.to_string() && n.state == "Full/DR"),
            "{} does not see the hub as Full/DR: {neighbors:?}",
            spoke.name
        );
    }
    let iface = lab
        .vtysh(1, "show ip ospf interface Tunnel0")
        .expect("vtysh");
    assert!(iface.contains("BROADCAST"), "{iface}");
    assert!(iface.contains("Priority 0"), "{iface}");

    // Broadcast keeps the remote spoke as next hop (phase 2).
    let routes = lab.kernel_routes(1, Some("ospf"));
    let direct = format!("{}/24 via {} dev Tunnel0", s2.lan_net(), s2.tunnel);
    assert!(
        routes.contains(&direct),
        "spoke1 lacks `{direct}`:\n{routes}"
    );

    ping_until_reply(&lab, 1, s2.host, Duration::from_secs(30));
    lab::wait_for(
        Duration::from_secs(30),
        "spoke1 to hold a direct entry for spoke2",
        || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
    )
    .expect("spoke-to-spoke mapping");
    let relayed_1 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    let ping = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(ping.lossless(), "{ping:?}");
    let relayed_2 = lab.packets_out_to(0, s2.nbma).expect("hub counters");
    assert!(
        relayed_2 - relayed_1 < 10,
        "the hub still relays ({relayed_1} -> {relayed_2})"
    );
    ping_until_reply(&lab, 2, s1.host, Duration::from_secs(10));
}

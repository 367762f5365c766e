//! Simulation: a hub and 50 spokes (one behind a NAT) over links with 5 % loss,
//! duplication and reordering. Every spoke asks for protection to the hub; all come up,
//! each pair agrees on SPIs and keys (checked by passing GRE through ESP built from both
//! sides' `InstallChild`), traffic crosses the network in ESP, and the same seed gives
//! the same run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_forwarding::transport::Underlay;
use dmvpn_ike::{IkeEvent, NATT_PORT};
use engine_support::{Nat, Net, gre_packet};
use sim_support::{
    HUB, assert_data_planes_ok, assert_no_gap, assert_pair, children_with, fingerprint, heal,
    hub_and_spokes, ike_with, impair, ms, secs,
};
use std::net::Ipv4Addr;

const SPOKES: usize = 50;
/// The last spoke sits behind a NAT.
const NATTED: usize = SPOKES;

fn run(seed: u64) -> Net {
    let mut net = hub_and_spokes(seed, SPOKES, |_| {});
    net.nat = Some(Nat {
        node: NATTED,
        public: Ipv4Addr::new(198, 51, 100, 7),
        port_base: 30_000,
    });
    impair(&mut net, 50, 20, 200);
    // The spokes come up within a second of each other (a hub reload).
    for s in 1..=SPOKES {
        net.protect(s, HUB);
        net.run_for(ms(20));
    }
    net.run_for(secs(300));
    net
}

#[test]
fn fifty_spokes_under_loss_all_establish_and_agree() {
    let mut net = run(1);
    assert_eq!(
        net.established(HUB),
        SPOKES,
        "{:?}",
        net.nodes[HUB].engine.sas()
    );
    assert_eq!(net.nodes[HUB].installed.len(), SPOKES);
    for s in 1..=SPOKES {
        assert_pair(&mut net, HUB, s);
        assert_eq!(net.established(s), 1, "spoke {s}");
        assert_no_gap(&net, s);
        assert!(
            net.nodes[s].events.iter().any(|e| matches!(
                e,
                IkeEvent::SaUp {
                    initiator: true,
                    ..
                }
            )),
            "spoke {s} initiated"
        );
    }
    assert_no_gap(&net, HUB);
    assert_data_planes_ok(&net);
    // Loss really happened: some requests were retransmitted.
    let retransmits: usize = (0..=SPOKES)
        .map(|i| sim_support::count(&net, i, |e| matches!(e, IkeEvent::Retransmit { .. })))
        .sum();
    assert!(retransmits > 0);
    // The NATed spoke floated to 4500 and its ESP is UDP-encapsulated to the NAT's port.
    let c = children_with(&net, HUB, NATTED)[0];
    let encap = c.encap.expect("UDP encapsulation towards the NATed spoke");
    assert_eq!(encap.remote_port, 30_000 + NATT_PORT);
    assert_eq!(
        ike_with(&net, HUB, NATTED)[0].remote.port(),
        30_000 + NATT_PORT
    );
    assert!(children_with(&net, NATTED, HUB)[0].encap.is_some());
    assert!(children_with(&net, HUB, 1)[0].encap.is_none());

    // GRE over the (now clean) network, every spoke to the hub and back, all in ESP.
    heal(&mut net);
    for s in 1..=SPOKES {
        let u = net.send_gre(s, HUB, &gre_packet(s, HUB, net.now)).unwrap();
        let want = if s == NATTED {
            Underlay::NatT
        } else {
            Underlay::Esp
        };
        assert_eq!(u, want);
        net.send_gre(HUB, s, &gre_packet(HUB, s, net.now)).unwrap();
    }
    net.run_for(secs(1));
    let hub_rx = &net.nodes[HUB].gre_rx;
    assert_eq!(hub_rx.len(), SPOKES);
    assert!(hub_rx.iter().all(|(_, _, esp)| *esp));
    for s in 1..=SPOKES {
        let src = net.public(s);
        assert!(
            hub_rx
                .iter()
                .any(|(from, p, _)| *from == src && p[8..12] == (s as u32).to_be_bytes()),
            "hub got nothing from spoke {s}"
        );
        let rx = &net.nodes[s].gre_rx;
        assert_eq!(rx.len(), 1, "spoke {s}");
        assert_eq!(rx[0].0, net.public(HUB));
        assert!(rx[0].2);
    }
    assert!(net.nodes.iter().all(|n| n.esp_events.is_empty()));
}

#[test]
fn same_seed_same_run() {
    let (a, b) = (run(2), run(2));
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let spis = |n: &Net| -> Vec<(u32, u32)> {
        n.nodes[HUB]
            .installed
            .values()
            .map(|c| (c.spi_in, c.spi_out))
            .collect()
    };
    assert_eq!(spis(&a), spis(&b));
    assert_eq!(spis(&a).len(), SPOKES);
    // Another seed, another run.
    assert_ne!(spis(&a), spis(&run(3)));
}

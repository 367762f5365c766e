//! Simulation: a node loses all its SAs (its engine and data plane replaced by fresh
//! ones: a restart) while its peers still have theirs, over a lossy network. ESP with a
//! stale SPI reaching the restarted node's data plane is reported to its engine
//! (`InvalidSpi`), which negotiates a new IKE SA with INITIAL_CONTACT; the peer then
//! drops its stale SAs (make-before-break: the new Child SA is installed first, so its
//! protection never goes down) and traffic passes again. Likewise when the restarted
//! spoke's NHRP asks for protection first, and when the hub restarts under all spokes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_ike::{DownReason, IkeEvent};
use engine_support::{Net, PSK, Rec, gre_packet, psk_config};
use sim_support::{
    HUB, assert_data_planes_ok, assert_no_gap, assert_pair, children_with, count, heal,
    hub_and_spokes, ike_with, impair, ms, secs, settle,
};
use std::collections::BTreeMap;

const SPOKES: usize = 8;
const VICTIM: usize = 3;

/// Hub and spokes up, all SPIs noted (hub's inbound SPI per spoke).
fn up(seed: u64) -> (Net, BTreeMap<usize, u32>) {
    let mut net = hub_and_spokes(seed, SPOKES, |_| {});
    for s in 1..=SPOKES {
        net.protect(s, HUB);
    }
    net.run_for(secs(5));
    let spis = (1..=SPOKES)
        .map(|s| (s, children_with(&net, HUB, s)[0].spi_in))
        .collect();
    (net, spis)
}

/// GRE from `from` to `to` every 100 ms for `d` (traffic that finds the stale SAs).
fn traffic(net: &mut Net, from: usize, to: &[usize], d: std::time::Duration) {
    let end = net.now + d;
    while net.now < end {
        for &t in to {
            let p = gre_packet(from, t, net.now);
            let _ = net.send_gre(from, t, &p);
        }
        net.run_for(ms(100));
    }
}

/// Every pair works, the others kept their SAs, the peers of `restarted` dropped the
/// stale SAs as restarted (not as failures) without protection going down.
fn check_recovered(net: &mut Net, before: &BTreeMap<usize, u32>, restarted: &[usize]) {
    settle(net, secs(130));
    for s in 1..=SPOKES {
        assert_pair(net, HUB, s);
        let now_spi = children_with(net, HUB, s)[0].spi_in;
        if restarted.contains(&s) || restarted.contains(&HUB) {
            assert_ne!(now_spi, before[&s], "spoke {s}: stale SA kept");
            assert!(!net.nodes[HUB].installed.contains_key(&before[&s]));
        } else {
            assert_eq!(now_spi, before[&s], "spoke {s} was not touched");
        }
    }
    for (i, n) in net.nodes.iter().enumerate() {
        if restarted.contains(&i) {
            assert!(
                n.events.iter().any(|e| matches!(
                    e,
                    IkeEvent::SaUp {
                        initiator: true,
                        ..
                    }
                )),
                "node {i} negotiated anew"
            );
            continue;
        }
        assert_no_gap(net, i);
        let failures = count(
            net,
            i,
            |e| matches!(e, IkeEvent::SaDown { reason, .. } if *reason != DownReason::PeerRestarted),
        );
        assert_eq!(failures, 0, "node {i}: {:?}", n.events);
    }
    assert_data_planes_ok(net);
    // GRE over the healed network, both ways, in ESP.
    heal(net);
    for s in 1..=SPOKES {
        net.nodes[s].gre_rx.clear();
        net.send_gre(HUB, s, &gre_packet(HUB, s, net.now)).unwrap();
    }
    net.run_for(secs(1));
    for s in 1..=SPOKES {
        let rx = &net.nodes[s].gre_rx;
        assert_eq!(rx.len(), 1, "spoke {s}");
        assert!(rx[0].2, "spoke {s}: not in ESP");
    }
}

#[test]
fn restarted_spoke_recovers_through_invalid_spi() {
    for seed in 500..504 {
        let (mut net, before) = up(seed);
        impair(&mut net, 50, 20, 200);
        net.restart(VICTIM, psk_config(PSK), seed + 77);
        assert!(net.nodes[HUB].engine.is_protected(net.public(VICTIM)));
        // The hub's traffic with the old SPI: the fresh data plane reports it, the fresh
        // engine starts over with INITIAL_CONTACT.
        traffic(&mut net, HUB, &[VICTIM], secs(20));
        let hub = net.public(HUB);
        assert!(
            net.nodes[VICTIM]
                .esp_events
                .iter()
                .any(|e| matches!(e, dmvpn_esp::EspEvent::InvalidSpi { peer, .. } if *peer == hub)),
            "seed {seed}"
        );
        let victim = net.public(VICTIM);
        assert!(
            net.nodes[HUB].events.iter().any(|e| matches!(
                e,
                IkeEvent::SaDown { peer, reason: DownReason::PeerRestarted, .. } if *peer == victim
            )),
            "seed {seed}: {:?}",
            net.nodes[HUB].events
        );
        check_recovered(&mut net, &before, &[VICTIM]);
        // The hub's log for the victim: the new SA installed before the stale one went.
        let hub_log = &net.nodes[HUB].log;
        let k = hub_log
            .iter()
            .position(|r| *r == Rec::Delete(before[&VICTIM]))
            .unwrap();
        assert!(matches!(hub_log[k - 1], Rec::Install(_)), "{hub_log:?}");
    }
}

#[test]
fn restarted_spoke_asking_first_replaces_the_stale_sa() {
    for seed in 510..514 {
        let (mut net, before) = up(seed);
        impair(&mut net, 50, 20, 200);
        net.restart(VICTIM, psk_config(PSK), seed + 77);
        // NHRP on the restarted spoke registers again and asks for protection.
        net.protect(VICTIM, HUB);
        net.run_for(secs(60));
        let old_ike = ike_with(&net, HUB, VICTIM);
        assert_eq!(old_ike.len(), 1, "seed {seed}: {old_ike:?}");
        check_recovered(&mut net, &before, &[VICTIM]);
    }
}

#[test]
fn restarted_hub_recovers_every_spoke_through_their_traffic() {
    for seed in 520..523 {
        let (mut net, before) = up(seed);
        impair(&mut net, 50, 20, 200);
        net.restart(HUB, psk_config(PSK), seed + 77);
        // Every spoke still sends to the hub with its old SA; the hub's fresh data plane
        // reports each, and the hub negotiates with each spoke anew.
        let hub = net.public(HUB);
        for _ in 0..200 {
            for s in 1..=SPOKES {
                let p = gre_packet(s, HUB, net.now);
                let _ = net.send_gre(s, HUB, &p);
            }
            net.run_for(ms(100));
        }
        for s in 1..=SPOKES {
            assert!(
                net.nodes[s].events.iter().any(|e| matches!(
                    e,
                    IkeEvent::SaDown { peer, reason: DownReason::PeerRestarted, .. } if *peer == hub
                )),
                "seed {seed} spoke {s}: {:?}",
                net.nodes[s].events
            );
        }
        check_recovered(&mut net, &before, &[HUB]);
    }
}

//! Simulation: spokes registered with a hub open spoke-to-spoke tunnels. Both ends of
//! each pair ask for protection at the same instant (as NHRP resolution replies cross), so
//! both send IKE_SA_INIT: two IKE SAs come up and the duplicate is deleted (the one with
//! the lowest nonce, by its initiator), leaving exactly one IKE SA and one Child SA pair
//! per pair on both sides, with traffic passing and protection never going down. Under
//! loss, duplication and reordering, over several seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_ike::{DownReason, IkeEvent};
use engine_support::Net;
use sim_support::{
    HUB, assert_data_planes_ok, assert_no_gap, assert_pair, count, hub_and_spokes, impair, ms, secs,
};
use std::time::Duration;

const SPOKES: usize = 6;

fn pairs() -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    for a in 1..=SPOKES {
        for b in a + 1..=SPOKES {
            v.push((a, b));
        }
    }
    v
}

/// Spokes up with the hub, then every spoke pair protected from both ends at once.
fn mesh(seed: u64, loss: u32, dup: u32, reorder: u32) -> Net {
    let mut net = hub_and_spokes(seed, SPOKES, |_| {});
    net.latency = ms(30);
    for s in 1..=SPOKES {
        net.protect(s, HUB);
    }
    net.run_for(secs(10));
    impair(&mut net, loss, dup, reorder);
    for (a, b) in pairs() {
        net.protect(a, b);
        net.protect(b, a);
    }
    net.run_for(secs(300));
    net
}

fn check(net: &mut Net, seed: u64) {
    for s in 1..=SPOKES {
        assert_pair(net, HUB, s);
    }
    for (a, b) in pairs() {
        assert_pair(net, a, b);
    }
    for i in 0..=SPOKES {
        assert_no_gap(net, i);
        assert_eq!(
            net.established(i),
            SPOKES,
            "seed {seed} node {i}: {:?}",
            net.nodes[i].engine.sas()
        );
    }
    assert_data_planes_ok(net);
}

#[test]
fn simultaneous_initiation_without_loss_keeps_one_sa_per_pair() {
    let mut net = mesh(40, 0, 0, 0);
    check(&mut net, 40);
    // Every pair really collided: each spoke saw two IKE SAs come up per spoke peer, and
    // one per pair was deleted by its initiator (never as a failure).
    for s in 1..=SPOKES {
        let ups = count(&net, s, |e| matches!(e, IkeEvent::SaUp { .. }));
        assert_eq!(ups, 1 + 2 * (SPOKES - 1), "spoke {s}");
        let failures = count(&net, s, |e| {
            matches!(e, IkeEvent::SaDown { reason, .. } if *reason != DownReason::Local
                && *reason != DownReason::PeerDeleted)
        });
        assert_eq!(failures, 0, "spoke {s}: {:?}", net.nodes[s].events);
    }
}

#[test]
fn simultaneous_initiation_under_loss_keeps_one_sa_per_pair() {
    for seed in 41..49 {
        let mut net = mesh(seed, 50, 20, 200);
        check(&mut net, seed);
        // Traffic keeps passing over time (no later cleanup removes the survivor).
        net.run_for(Duration::from_secs(600));
        for (a, b) in pairs() {
            assert_pair(&mut net, a, b);
        }
    }
}

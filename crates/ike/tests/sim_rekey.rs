//! Simulation: a hub and spokes run for half an hour with the shortest lifetimes the
//! engine accepts (Child SA 120 s, IKE SA 180 s) over links with loss, duplication and
//! reordering. Child and IKE SAs are rekeyed over and over, make-before-break: a new Child
//! SA is installed before the old one is deleted, protection never goes down, and GRE
//! passes through ESP every second of the run — except for the moments a rekey responder
//! already sends on a new Child SA whose CREATE_CHILD_SA response the initiator has not
//! received yet (see `assert_only_responder_ahead`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_ike::IkeEvent;
use engine_support::{Net, Rec};
use sim_support::{
    HUB, assert_data_planes_ok, assert_no_gap, assert_pair, count, hub_and_spokes, impair, secs,
    settle,
};
use std::collections::BTreeSet;
use std::time::Duration;

const SPOKES: usize = 4;

fn short_lived(seed: u64) -> Net {
    hub_and_spokes(seed, SPOKES, |c| {
        c.child_lifetime = secs(120);
        c.ike_lifetime = secs(180);
    })
}

/// A ping that failed: when, which way, and whether the receiver simply did not have the
/// sender's newest Child SA yet.
#[derive(Debug)]
#[allow(dead_code)] // printed through Debug
struct Lost {
    at: Duration,
    from: usize,
    to: usize,
    error: String,
    receiver_behind: bool,
}

/// The Child SA `i` sends to `j` with: its newest installed one for that peer.
fn newest_out(net: &Net, i: usize, j: usize) -> Option<u32> {
    let peer = net.public(j);
    let n = &net.nodes[i];
    n.log.iter().rev().find_map(|r| match r {
        Rec::Install(spi) if n.peer_of[spi] == peer && n.installed.contains_key(spi) => {
            Some(n.installed[spi].spi_out)
        }
        _ => None,
    })
}

/// Runs `minutes` of virtual time in one-second steps, pinging hub ⇄ every spoke
/// through the data planes after each step; returns the failed pings.
fn run_with_traffic(net: &mut Net, minutes: u64) -> Vec<Lost> {
    let mut lost = Vec::new();
    for _ in 0..minutes * 60 {
        net.run_for(secs(1));
        for s in 1..=SPOKES {
            for (a, b) in [(HUB, s), (s, HUB)] {
                if let Err(error) = net.ping(a, b) {
                    let out = newest_out(net, a, b);
                    let receiver_behind =
                        out.is_some_and(|o| !net.nodes[b].installed.contains_key(&o));
                    lost.push(Lost {
                        at: net.now,
                        from: a,
                        to: b,
                        error,
                        receiver_behind,
                    });
                }
            }
        }
    }
    lost
}

/// The sender always had an SA (never cleartext, never refused), and nothing is lost: a
/// rekey responder keeps sending on the old pair until the initiator uses the new one
/// (`EspProtection::install_deferred`, as the daemon installs a `defer_outbound` SA), so
/// no packet goes out on an SA the receiver has not installed yet, with or without loss
/// of IKE datagrams.
fn assert_no_loss(lost: &[Lost], ctx: &str) {
    assert!(lost.is_empty(), "{ctx}: {lost:?}");
}

fn check_rekeyed(net: &mut Net, minutes: u64) {
    settle(net, secs(130));
    for s in 1..=SPOKES {
        assert_pair(net, HUB, s);
        // A Child SA lives at most 120 s and an IKE SA 180 s: both were replaced many
        // times, on both sides.
        for i in [HUB, s] {
            let peer = net.public(if i == HUB { s } else { HUB });
            let child_rekeys = count(
                net,
                i,
                |e| matches!(e, IkeEvent::ChildUp { peer: p, rekey: true, .. } if *p == peer),
            );
            let ike_rekeys = count(
                net,
                i,
                |e| matches!(e, IkeEvent::IkeRekeyed { peer: p, .. } if *p == peer),
            );
            assert!(
                child_rekeys as u64 >= minutes * 60 / 120,
                "node {i} peer {peer}: {child_rekeys} Child SA rekeys"
            );
            assert!(
                ike_rekeys as u64 >= minutes * 60 / 180,
                "node {i} peer {peer}: {ike_rekeys} IKE SA rekeys"
            );
            assert_eq!(
                count(net, i, |e| matches!(e, IkeEvent::SaDown { .. })),
                0,
                "node {i}: {:?}",
                net.nodes[i].events
            );
        }
    }
    for i in 0..=SPOKES {
        assert_no_gap(net, i);
        // Never more than a rekey's worth of Child SAs at once.
        assert!(net.nodes[i].installed.len() <= 2 * SPOKES.max(1));
    }
    assert_data_planes_ok(net);
}

#[test]
fn rekeys_without_loss_keep_traffic_flowing() {
    let mut net = short_lived(60);
    for s in 1..=SPOKES {
        net.protect(s, HUB);
    }
    net.run_for(secs(5));
    let lost = run_with_traffic(&mut net, 30);
    assert_no_loss(&lost, "no loss");
    check_rekeyed(&mut net, 30);
    // Every SPI ever used is fresh: no Child SA SPI repeats.
    let spis: Vec<u32> = net.nodes[HUB].peer_of.keys().copied().collect();
    assert_eq!(spis.len(), spis.iter().collect::<BTreeSet<_>>().len());
}

#[test]
fn rekeys_under_loss_are_make_before_break() {
    for seed in 61..64 {
        let mut net = short_lived(seed);
        impair(&mut net, 50, 20, 200);
        for s in 1..=SPOKES {
            net.protect(s, HUB);
        }
        net.run_for(secs(30));
        let lost = run_with_traffic(&mut net, 30);
        check_rekeyed(&mut net, 30);
        assert_no_loss(&lost, &format!("seed {seed}"));
    }
}

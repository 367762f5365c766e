//! Simulation: tearing SAs down from one side over a lossy network. `release` (NHRP no
//! longer wants the peer) and `clear` (`clear crypto session`) delete the IKE and Child
//! SAs on both sides with Delete payloads: protection goes down on both, the data planes
//! drop the pairs, and nothing is sent in the clear. A side that still wants the peer
//! negotiates again by itself; a released one only when asked again with `protect`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_ike::{DownReason, IkeEvent};
use engine_support::{Net, Rec};
use sim_support::{
    HUB, assert_data_planes_ok, assert_pair, children_with, hub_and_spokes, ike_with, impair, secs,
    settle,
};

const SPOKES: usize = 4;

fn up(seed: u64) -> Net {
    let mut net = hub_and_spokes(seed, SPOKES, |_| {});
    for s in 1..=SPOKES {
        net.protect(s, HUB);
    }
    net.run_for(secs(5));
    for s in 1..=SPOKES {
        assert_pair(&mut net, HUB, s);
    }
    impair(&mut net, 50, 20, 200);
    net
}

/// Position in `i`'s log of the last ProtectionDown for `j`.
fn last_down(net: &Net, i: usize, j: usize) -> Option<usize> {
    let peer = net.public(j);
    net.nodes[i].log.iter().rposition(|r| *r == Rec::Down(peer))
}

/// Both `i` and `j` lost protection to each other (after log positions `mark_i`,
/// `mark_j`), hold no SA with each other, the data planes refuse to send, and the side
/// that did not delete saw the peer's Delete.
fn assert_down(net: &mut Net, i: usize, j: usize, marks: (usize, usize), deleter: usize) {
    for (a, b, mark) in [(i, j, marks.0), (j, i, marks.1)] {
        let d = last_down(net, a, b).unwrap_or_else(|| panic!("{a} never went down"));
        assert!(d >= mark, "node {a}: {:?}", net.nodes[a].log);
        assert!(!net.protected(a, b));
        assert!(children_with(net, a, b).is_empty());
        assert!(ike_with(net, a, b).is_empty(), "{:?}", ike_with(net, a, b));
        assert!(net.ping(a, b).is_err(), "{a} -> {b} still passes");
    }
    let other = if deleter == i { j } else { i };
    let peer = net.public(deleter);
    assert!(
        net.nodes[other].events.iter().any(|e| matches!(
            e,
            IkeEvent::SaDown { peer: p, reason: DownReason::PeerDeleted, .. } if *p == peer
        )),
        "node {other}: {:?}",
        net.nodes[other].events
    );
}

fn marks(net: &Net, i: usize, j: usize) -> (usize, usize) {
    (net.nodes[i].log.len(), net.nodes[j].log.len())
}

#[test]
fn release_by_a_spoke_deletes_both_sides_until_asked_again() {
    for seed in 800..804 {
        let mut net = up(seed);
        let m = marks(&net, 1, HUB);
        let (now, hub) = (net.now, net.public(HUB));
        net.nodes[1].engine.release(now, hub);
        net.drain(1);
        // Locally down at once.
        assert!(!net.protected(1, HUB));
        net.run_for(secs(30));
        settle(&mut net, secs(130));
        assert_down(&mut net, 1, HUB, m, 1);
        // Released: nothing comes back by itself.
        net.run_for(secs(300));
        assert!(ike_with(&net, 1, HUB).is_empty());
        assert!(ike_with(&net, HUB, 1).is_empty());
        // The others never noticed.
        for s in 2..=SPOKES {
            assert_pair(&mut net, HUB, s);
        }
        // Asked again: up again.
        impair(&mut net, 50, 20, 200);
        net.protect(1, HUB);
        net.run_for(secs(60));
        settle(&mut net, secs(130));
        assert_pair(&mut net, HUB, 1);
        assert_data_planes_ok(&net);
    }
}

#[test]
fn release_by_the_hub_is_renegotiated_by_the_spoke_that_still_wants_it() {
    for seed in 810..814 {
        let mut net = up(seed);
        let m = marks(&net, HUB, 2);
        let (now, spoke) = (net.now, net.public(2));
        net.nodes[HUB].engine.release(now, spoke);
        net.drain(HUB);
        // Run until both sides are down (the Delete may need retransmissions).
        for _ in 0..300 {
            if last_down(&net, 2, HUB).is_some_and(|d| d >= m.1) {
                break;
            }
            net.run_for(secs(1) / 10);
        }
        let d = last_down(&net, 2, HUB).expect("spoke went down");
        assert!(d >= m.1);
        assert!(last_down(&net, HUB, 2).is_some_and(|d| d >= m.0));
        // The spoke still wants the hub: it negotiates again after its reconnect delay,
        // the hub answers.
        net.run_for(secs(60));
        settle(&mut net, secs(130));
        assert_pair(&mut net, HUB, 2);
        let after = &net.nodes[2].log[d..];
        assert!(after.iter().any(|r| matches!(r, Rec::Up(_))), "{after:?}");
    }
}

#[test]
fn clear_all_on_the_hub_and_clear_one_on_a_spoke() {
    for seed in 820..824 {
        let mut net = up(seed);
        let before: Vec<usize> = (0..=SPOKES).map(|i| net.nodes[i].log.len()).collect();
        let now = net.now;
        net.nodes[HUB].engine.clear(now, None);
        net.drain(HUB);
        for s in 1..=SPOKES {
            assert!(!net.protected(HUB, s));
        }
        net.run_for(secs(90));
        settle(&mut net, secs(130));
        // Every spoke went down (Delete from the hub) and came back by itself.
        for (s, &mark) in before.iter().enumerate().skip(1) {
            let log = &net.nodes[s].log[mark..];
            let down = log
                .iter()
                .position(|r| matches!(r, Rec::Down(_)))
                .unwrap_or_else(|| panic!("seed {seed} spoke {s}: {log:?}"));
            assert!(
                log[down..].iter().any(|r| matches!(r, Rec::Up(_))),
                "{log:?}"
            );
            assert_pair(&mut net, HUB, s);
        }
        // A spoke clears its session: down on both sides, then up again by itself.
        let m = marks(&net, 3, HUB);
        let (now, hub) = (net.now, net.public(HUB));
        net.nodes[3].engine.clear(now, Some(hub));
        net.drain(3);
        assert!(!net.protected(3, HUB));
        net.run_for(secs(90));
        settle(&mut net, secs(130));
        assert!(
            last_down(&net, HUB, 3).is_some_and(|d| d >= m.1),
            "seed {seed}"
        );
        assert!(last_down(&net, 3, HUB).is_some_and(|d| d >= m.0));
        assert_pair(&mut net, HUB, 3);
        assert_data_planes_ok(&net);
    }
}

//! Simulation: both ends of an SA start the same rekey at the same instant (RFC 7296
//! §2.8.1 collisions): a Child SA rekey forced from both data planes (`SoftExpired` on
//! both sides in one step) and an IKE SA rekey (`rekey_ike` on both), together, between a
//! hub and several spokes, with and without loss. Of the two new SAs exactly one survives
//! (the one with the lowest nonce is deleted), both sides agree on it, the old SAs are
//! gone, protection never goes down and traffic passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;
mod sim_support;

use dmvpn_ike::{EspEvent, IkeEvent};
use engine_support::Net;
use sim_support::{
    HUB, assert_data_planes_ok, assert_no_gap, assert_pair, children_with, count, hub_and_spokes,
    ike_with, impair, secs,
};

const SPOKES: usize = 5;

#[derive(Clone, Copy, Debug)]
enum Order {
    /// SoftExpired on both, then rekey_ike on both.
    ChildFirst,
    /// rekey_ike on both, then SoftExpired on both.
    IkeFirst,
    /// Only the Child SA rekey collides.
    ChildOnly,
    /// Only the IKE SA rekey collides.
    IkeOnly,
}

fn collide(net: &mut Net, s: usize, order: Order) {
    let now = net.now;
    let (hub_addr, spoke_addr) = (net.public(HUB), net.public(s));
    let hub_spi = children_with(net, HUB, s)[0].spi_in;
    let spoke_spi = children_with(net, s, HUB)[0].spi_in;
    let child = |net: &mut Net| {
        let ev = |spi_in| EspEvent::SoftExpired { spi_in };
        net.nodes[HUB].engine.handle_esp_event(now, ev(hub_spi));
        net.nodes[s].engine.handle_esp_event(now, ev(spoke_spi));
    };
    let ike = |net: &mut Net| {
        net.nodes[HUB].engine.rekey_ike(now, spoke_addr);
        net.nodes[s].engine.rekey_ike(now, hub_addr);
    };
    match order {
        Order::ChildFirst => {
            child(net);
            ike(net);
        }
        Order::IkeFirst => {
            ike(net);
            child(net);
        }
        Order::ChildOnly => child(net),
        Order::IkeOnly => ike(net),
    }
    net.drain(HUB);
    net.drain(s);
}

fn scenario(seed: u64, loss: u32, order: Order) {
    let mut net = hub_and_spokes(seed, SPOKES, |_| {});
    for s in 1..=SPOKES {
        net.protect(s, HUB);
    }
    net.run_for(secs(5));
    // Without loss, no reordering either: both requests cross on the wire and both
    // rekeys complete. (With reordering one side may see the other's Delete of the old
    // SA first: then only one rekey completes, also correct.)
    if loss > 0 {
        impair(&mut net, loss, 20, 200);
    }
    net.tracing = true;
    let before: Vec<(u32, u32, u64, u64)> = (1..=SPOKES)
        .map(|s| {
            let c = children_with(&net, s, HUB)[0];
            let i = &ike_with(&net, s, HUB)[0];
            (c.spi_in, c.spi_out, i.spi_i, i.spi_r)
        })
        .collect();
    for s in 1..=SPOKES {
        collide(&mut net, s, order);
    }
    net.run_for(secs(300));
    let ctx = format!("seed {seed} loss {loss} {order:?}");
    for s in 1..=SPOKES {
        assert_pair(&mut net, HUB, s);
        let c = children_with(&net, s, HUB)[0];
        let i = &ike_with(&net, s, HUB)[0];
        let (spi_in, spi_out, spi_i, spi_r) = before[s - 1];
        let child_rekeyed = !matches!(order, Order::IkeOnly);
        let ike_rekeyed = !matches!(order, Order::ChildOnly);
        // The old SAs are gone: a new Child SA pair and a new IKE SA.
        assert_eq!(
            c.spi_in != spi_in && c.spi_out != spi_out,
            child_rekeyed,
            "{ctx} spoke {s}"
        );
        assert_eq!(i.spi_i != spi_i && i.spi_r != spi_r, ike_rekeyed, "{ctx}");
        for n in [HUB, s] {
            let peer = net.public(if n == HUB { s } else { HUB });
            let child_ups = count(
                &net,
                n,
                |e| matches!(e, IkeEvent::ChildUp { peer: p, rekey: true, .. } if *p == peer),
            );
            let ike_rekeys = count(
                &net,
                n,
                |e| matches!(e, IkeEvent::IkeRekeyed { peer: p, .. } if *p == peer),
            );
            // Without loss a lone collision completes both rekeys on both sides: two new
            // SAs each, one of which was deleted again. With loss, or with the other
            // rekey in the way, a request may be refused, retried or overtaken, so at
            // least one.
            let (c_min, i_min) = (usize::from(child_rekeyed), usize::from(ike_rekeyed));
            if loss == 0 && matches!(order, Order::ChildOnly | Order::IkeOnly) {
                assert_eq!(child_ups, 2 * c_min, "{ctx} node {n} peer {peer}");
                assert_eq!(ike_rekeys, 2 * i_min, "{ctx} node {n} peer {peer}");
            } else {
                assert!(child_ups >= c_min, "{ctx} node {n} peer {peer}");
                assert!(ike_rekeys >= i_min, "{ctx} node {n} peer {peer}");
            }
            assert_eq!(
                count(&net, n, |e| matches!(e, IkeEvent::SaDown { .. })),
                0,
                "{ctx} node {n}: {:?}",
                net.nodes[n].events
            );
        }
    }
    for i in 0..=SPOKES {
        assert_no_gap(&net, i);
    }
    assert_data_planes_ok(&net);
    // Whatever survived keeps working: a normal rekey of each afterwards.
    for s in 1..=SPOKES {
        let spi = children_with(&net, s, HUB)[0].spi_in;
        let now = net.now;
        net.nodes[s]
            .engine
            .handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
        net.drain(s);
        let peer = net.public(s);
        net.nodes[HUB].engine.rekey_ike(now, peer);
        net.drain(HUB);
    }
    net.run_for(secs(300));
    for s in 1..=SPOKES {
        assert_pair(&mut net, HUB, s);
    }
    for i in 0..=SPOKES {
        assert_no_gap(&net, i);
    }
}

#[test]
fn collisions_without_loss() {
    for (k, order) in [
        Order::ChildOnly,
        Order::IkeOnly,
        Order::ChildFirst,
        Order::IkeFirst,
    ]
    .into_iter()
    .enumerate()
    {
        for seed in 0..3 {
            scenario(300 + 10 * k as u64 + seed, 0, order);
        }
    }
}

#[test]
fn collisions_under_loss() {
    for (k, order) in [
        Order::ChildOnly,
        Order::IkeOnly,
        Order::ChildFirst,
        Order::IkeFirst,
    ]
    .into_iter()
    .enumerate()
    {
        for seed in 0..3 {
            scenario(400 + 10 * k as u64 + seed, 50, order);
        }
    }
}

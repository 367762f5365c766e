//! A larger phase-3 cloud: 40 spokes behind one hub that keeps IOS's
//! default `max-send` (100 packets per 10 s). Spokes summarise everything
//! via the hub; random spoke pairs talk. Registrations and shortcuts must
//! converge even when the hub's quota holds packets back, and the quota
//! must be visible in the counters.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::MaxSend;
use dmvpn_sim::Lab;
use dmvpn_sim::lab::{hub_iface, spoke_iface};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::Ipv4Addr;

const SPOKES: usize = 40;

fn spoke_addrs(i: usize) -> (Ipv4Addr, Ipv4Addr, String, Ipv4Addr) {
    let i = u8::try_from(i).unwrap();
    (
        Ipv4Addr::new(10, 0, 0, 10 + i),
        Ipv4Addr::new(172, 16, i, 1),
        format!("192.168.{}.0/24", 10 + i),
        Ipv4Addr::new(192, 168, 10 + i, 5),
    )
}

#[test]
fn forty_spokes_phase3_with_default_max_send_converge() {
    let mut lab = Lab::new(77);
    let mut h = hub_iface(ip(HUB_T), ip(HUB_N), pfx(LAN0));
    h.redirect = true;
    h.max_send = Some(MaxSend::default());
    let hub = lab.add("hub", h).unwrap();
    let mut spokes = Vec::new();
    for i in 0..SPOKES {
        let (t, n, lan, _) = spoke_addrs(i);
        let mut c = spoke_iface(t, n, pfx(&lan), &[(ip(HUB_T), ip(HUB_N))]);
        c.shortcut = true;
        let s = lab.add(&format!("spoke{i}"), c).unwrap();
        lab.route(s, pfx("192.168.0.0/16"), ip(HUB_T));
        lab.route(hub, pfx(&lan), t);
        spokes.push(s);
    }
    assert!(
        wait_registered(&mut lab, &spokes, secs(120)),
        "all spokes registered"
    );

    // Random pairs talk, a packet per pair per second, until every pair is direct.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let pairs: Vec<(usize, usize)> = (0..60)
        .map(|_| {
            let a = rng.random_range(0..SPOKES);
            let b = (a + rng.random_range(1..SPOKES)) % SPOKES;
            (a, b)
        })
        .collect();
    let mut direct = vec![false; pairs.len()];
    for _ in 0..300 {
        let ids: Vec<(usize, u64)> = pairs
            .iter()
            .enumerate()
            .filter(|(k, _)| !direct[*k])
            .map(|(k, (a, b))| {
                (
                    k,
                    lab.send_data(spokes[*a], spoke_addrs(*a).3, spoke_addrs(*b).3),
                )
            })
            .collect();
        if ids.is_empty() {
            break;
        }
        lab.run_for(SECOND).unwrap();
        for (k, id) in ids {
            if lab.data_outcome(id).is_some_and(|o| o.is_direct()) {
                direct[k] = true;
            }
        }
    }
    let missing: Vec<_> = pairs
        .iter()
        .zip(&direct)
        .filter(|(_, d)| !**d)
        .map(|(p, _)| *p)
        .collect();
    assert!(missing.is_empty(), "pairs never direct: {missing:?}");
    // The hub hit its quota on the way (60 redirects + 60 forwarded requests
    // in a few seconds) and counted it.
    let engine = lab.node(hub).unwrap().engine();
    let stats = engine.traffic(lab.node(hub).unwrap().iface()).unwrap();
    assert!(stats.max_send_dropped > 0, "quota exercised: {stats:?}");
    // Registrations survive several refresh periods.
    lab.run_for(secs(400)).unwrap();
    assert_eq!(engine_entries(&lab, hub), SPOKES);
}

fn engine_entries(lab: &Lab, hub: usize) -> usize {
    lab.cache(hub)
        .iter()
        .filter(|e| e.flags.contains(dmvpn_nhrp::EntryFlags::REGISTERED))
        .count()
}

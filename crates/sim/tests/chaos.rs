//! Randomised fault schedules (seeded, so every failure is reproducible):
//! node crashes and restarts, partitions, bursts of loss and jitter and
//! host traffic, in phase 2 and phase 3. After the faults stop, the network
//! must converge: every spoke registered, the hub's cache right, and
//! spoke-to-spoke traffic direct again.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_sim::LinkParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

fn chaos(seed: u64, phase: Phase) {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(seed, phase, |_, _| {});
    let nodes = [hub, s1, s2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC4A0);
    for _ in 0..60 {
        match rng.random_range(0..10) {
            0 => {
                let n = nodes[rng.random_range(0..3)];
                if lab.is_alive(n) {
                    lab.kill(n);
                } else {
                    lab.restart(n).unwrap();
                }
            }
            1 => {
                let n = nodes[rng.random_range(1..3)];
                lab.partition(&[hub], &[n]);
            }
            2 => lab.heal(),
            3 => lab.set_default_link(LinkParams {
                latency: Duration::from_millis(rng.random_range(1..80)),
                jitter: Duration::from_millis(rng.random_range(0..500)),
                loss: rng.random_range(0.0..0.4),
            }),
            _ => {
                let _ = lab.send_data(s1, ip(HOST1), ip(HOST2));
                let _ = lab.send_data(s2, ip(HOST2), ip(HOST1));
            }
        }
        let pause = Duration::from_millis(rng.random_range(0..40_000));
        lab.run_for(pause).unwrap();
    }
    // Faults stop.
    lab.heal();
    lab.set_default_link(LinkParams::default());
    for n in nodes {
        if !lab.is_alive(n) {
            lab.restart(n).unwrap();
        }
    }
    // A restarted hub has an empty cache until the spokes' next refresh
    // (holdtime/3 = 100 s), so allow a refresh period plus retries.
    let converged = lab
        .run_until_cond(secs(400), |s| {
            let hub_ok = [(S1_T, S1_N), (S2_T, S2_N)].iter().all(|(t, n)| {
                s.node(hub)
                    .unwrap()
                    .engine()
                    .cache_entries(None)
                    .iter()
                    .any(|e| e.prefix.addr() == ip(t) && e.nbma == Some(ip(n)))
            });
            let spokes_up = [s1, s2].iter().all(|n| {
                s.node(*n)
                    .unwrap()
                    .engine()
                    .nhs_status(None)
                    .iter()
                    .all(|v| v.state == dmvpn_nhrp::NhsState::Up)
            });
            hub_ok && spokes_up
        })
        .unwrap();
    assert!(
        converged,
        "seed {seed}: spokes registered again, hub cache right"
    );
    // Negative answers received during the faults are cached for up to
    // their holding time (180 s), so allow that long for direct paths.
    let mut direct = false;
    for _ in 0..300 {
        if ping(&mut lab, s1, HOST1, HOST2).is_direct()
            && ping(&mut lab, s2, HOST2, HOST1).is_direct()
        {
            direct = true;
            break;
        }
    }
    if !direct && std::env::var_os("CHAOS_DUMP").is_some() {
        dump(&lab);
    }
    assert!(direct, "seed {seed}: spoke-to-spoke traffic direct again");
}

/// Seeds per phase: 20, or `CHAOS_RUNS` for a longer hunt.
fn runs() -> u64 {
    std::env::var("CHAOS_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[test]
fn chaos_phase2_converges() {
    let only: Option<u64> = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    for seed in (100..100 + runs()).filter(|s| only.is_none_or(|o| o == *s)) {
        chaos(seed, Phase::Two);
    }
}

#[test]
fn chaos_phase3_converges() {
    let only: Option<u64> = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    for seed in (200..200 + runs()).filter(|s| only.is_none_or(|o| o == *s)) {
        chaos(seed, Phase::Three);
    }
}

/// Dual hub, spoke1 behind NAT, spoke2 changing its NBMA address now and
/// then, plus crashes, partitions and loss. Afterwards both hubs must hold
/// both spokes at their current public addresses and traffic goes direct.
fn chaos_dual_hub_nat(seed: u64) {
    use dmvpn_sim::lab::{hub_iface, spoke_iface};
    let (h2_t, h2_n) = (ip("10.0.0.10"), ip("172.17.0.5"));
    let mut lab = dmvpn_sim::Lab::new(seed);
    let h1 = lab.add("hub1", hub_cfg()).unwrap();
    let h2 = lab
        .add("hub2", hub_iface(h2_t, h2_n, pfx("192.168.10.0/24")))
        .unwrap();
    let nhs = [(ip(HUB_T), ip(HUB_N)), (h2_t, h2_n)];
    let s1 = lab
        .add(
            "spoke1",
            spoke_iface(ip(S1_T), ip("10.200.1.24"), pfx(LAN1), &nhs),
        )
        .unwrap();
    let s2 = lab
        .add("spoke2", spoke_iface(ip(S2_T), ip(S2_N), pfx(LAN2), &nhs))
        .unwrap();
    lab.set_nat(s1, Some(ip("198.51.100.24")));
    for h in [h1, h2] {
        lab.route(h, pfx(LAN1), ip(S1_T));
        lab.route(h, pfx(LAN2), ip(S2_T));
    }
    lab.route(s1, pfx(LAN2), ip(S2_T));
    lab.route(s2, pfx(LAN1), ip(S1_T));
    let nodes = [h1, h2, s1, s2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD0A1);
    for _ in 0..50 {
        match rng.random_range(0..10) {
            0 => {
                let n = nodes[rng.random_range(0..4)];
                if lab.is_alive(n) {
                    lab.kill(n);
                } else {
                    lab.restart(n).unwrap();
                }
            }
            1 => {
                let n = [s1, s2][rng.random_range(0..2)];
                lab.partition(&[[h1, h2][rng.random_range(0..2)]], &[n]);
            }
            2 => lab.heal(),
            3 => lab.set_default_link(LinkParams {
                latency: Duration::from_millis(rng.random_range(1..80)),
                jitter: Duration::from_millis(rng.random_range(0..300)),
                loss: rng.random_range(0.0..0.3),
            }),
            4 => {
                let new = std::net::Ipv4Addr::new(172, 16, 2, rng.random_range(100..200));
                lab.set_nbma(s2, new);
            }
            _ => {
                let _ = lab.send_data(s1, ip(HOST1), ip(HOST2));
                let _ = lab.send_data(s2, ip(HOST2), ip(HOST1));
            }
        }
        lab.run_for(Duration::from_millis(rng.random_range(0..40_000)))
            .unwrap();
    }
    lab.heal();
    lab.set_default_link(LinkParams::default());
    for n in nodes {
        if !lab.is_alive(n) {
            lab.restart(n).unwrap();
        }
    }
    let want = [
        (ip(S1_T), ip("198.51.100.24")),
        (ip(S2_T), lab.nbma(s2).unwrap()),
    ];
    let converged = lab
        .run_until_cond(secs(600), |s| {
            [h1, h2].iter().all(|h| {
                let cache = s.node(*h).unwrap().engine().cache_entries(None);
                want.iter().all(|(t, n)| {
                    cache
                        .iter()
                        .any(|e| e.prefix.addr() == *t && e.nbma == Some(*n))
                })
            }) && [s1, s2].iter().all(|n| {
                s.node(*n)
                    .unwrap()
                    .engine()
                    .nhs_status(None)
                    .iter()
                    .all(|v| v.state == dmvpn_nhrp::NhsState::Up)
            })
        })
        .unwrap();
    if !converged && std::env::var_os("CHAOS_DUMP").is_some() {
        dump(&lab);
    }
    assert!(
        converged,
        "seed {seed}: both hubs hold both spokes at their current addresses"
    );
    let mut direct = false;
    for _ in 0..400 {
        if ping(&mut lab, s1, HOST1, HOST2).is_direct()
            && ping(&mut lab, s2, HOST2, HOST1).is_direct()
        {
            direct = true;
            break;
        }
    }
    if !direct && std::env::var_os("CHAOS_DUMP").is_some() {
        dump(&lab);
    }
    assert!(direct, "seed {seed}: direct again");
}

#[test]
fn chaos_dual_hub_nat_nbma_change_converges() {
    let only: Option<u64> = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    for seed in (300..300 + runs()).filter(|s| only.is_none_or(|o| o == *s)) {
        chaos_dual_hub_nat(seed);
    }
}

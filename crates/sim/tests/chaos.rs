//! Randomised fault schedules (seeded, so every failure is reproducible):
//! node crashes and restarts, partitions, bursts of loss and jitter and
//! host traffic, in phase 2 and phase 3. After the faults stop, the network
//! must converge: every spoke registered, the hub's cache right, and
//! spoke-to-spoke traffic direct again.

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

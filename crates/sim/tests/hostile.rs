//! A hostile NBMA peer: thousands of mutated copies of real NHRP packets
//! (bytes flipped, truncated, extended; checksum fixed up so they reach the
//! parsers) are thrown at the hub and the spokes from a stranger's address.
//! No engine may panic, and once the noise stops the network converges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn mutated_packets_do_not_break_the_cloud() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(71, Phase::Three, |_, _| {});
    lab.set_capture(true);
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    let _ = ping(&mut lab, s2, HOST2, HOST1);
    lab.run_for(secs(5)).unwrap();
    let corpus: Vec<Vec<u8>> = lab.captured().iter().map(|c| c.bytes.clone()).collect();
    assert!(corpus.len() >= 8, "corpus of {} packets", corpus.len());
    lab.set_capture(false);

    let stranger = ip("203.0.113.66");
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for round in 0..3000 {
        let mut p = corpus[rng.random_range(0..corpus.len())].clone();
        match rng.random_range(0..4) {
            0 => {
                for _ in 0..rng.random_range(1..6) {
                    let i = rng.random_range(0..p.len());
                    p[i] = rng.random();
                }
            }
            1 => p.truncate(rng.random_range(0..p.len())),
            2 => p.extend((0..rng.random_range(1..40)).map(|_| rng.random::<u8>())),
            _ => {
                let i = rng.random_range(0..p.len());
                p[i] ^= 1 << rng.random_range(0..8);
            }
        }
        // Fix the NHRP checksum (bytes 12-13) so most packets get past it.
        if p.len() >= 20 && rng.random_bool(0.9) {
            p[12] = 0;
            p[13] = 0;
            let c = dmvpn_wire::internet_checksum(&p);
            p[12..14].copy_from_slice(&c.to_be_bytes());
        }
        let target = [hub, s1, s2][round % 3];
        let from = if rng.random_bool(0.5) {
            stranger
        } else {
            lab.public_nbma([hub, s1, s2][rng.random_range(0..3)])
                .unwrap()
        };
        let now = lab.now();
        lab.node_mut(target)
            .unwrap()
            .handle_packet_now(now, from, &p);
        lab.pump(target);
        if round % 100 == 0 {
            lab.run_for(secs(1)).unwrap();
        }
    }

    // The noise reached the parsers and beyond: some packets were dropped
    // for a reason other than the checksum, some were accepted.
    let node = lab.node(hub).unwrap();
    let st = node.engine().traffic(node.iface()).unwrap();
    eprintln!("hub after noise: rcvd {:?} drops {:?}", st.rcvd, st.drops);
    assert!(st.drops.len() >= 3, "{:?}", st.drops);
    assert!(st.rcvd.total > 100, "{:?}", st.rcvd);

    // The noise stops; real traffic and refreshes put everything right.
    let converged = lab
        .run_until_cond(secs(900), |s| {
            [(S1_T, S1_N), (S2_T, S2_N)].iter().all(|(t, n)| {
                s.node(hub)
                    .unwrap()
                    .engine()
                    .cache_entries(None)
                    .iter()
                    .any(|e| e.prefix.addr() == ip(t) && e.nbma == Some(ip(n)))
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
    assert!(converged, "registrations recover");
    let mut direct = false;
    for _ in 0..400 {
        if ping(&mut lab, s1, HOST1, HOST2).is_direct()
            && ping(&mut lab, s2, HOST2, HOST1).is_direct()
        {
            direct = true;
            break;
        }
    }
    assert!(direct, "spoke-to-spoke traffic direct again");
}

//! Two engines back to back over time: Child and IKE SA rekeys (make-before-break, and
//! simultaneous), Delete, DPD, retransmission under loss, NAT traversal, a restarted peer
//! and simultaneous initiation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;

use dmvpn_ike::{DpdConfig, DpdMode, EspEvent, IkeEvent, NATT_PORT};
use engine_support::{Nat, Net, PSK, Rec, addr, psk_config};
use std::net::Ipv4Addr;
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn up(net: &mut Net) {
    net.protect(0, 1);
    net.run_for(secs(5));
    assert!(net.protected(0, 1) && net.protected(1, 0));
    net.assert_keys_match(0, 1);
}

/// For every Delete of an SA in a node's log, some Install came before it (rekeys are
/// make-before-break) and protection never went down.
fn assert_make_before_break(net: &Net, i: usize) {
    let log = &net.nodes[i].log;
    for (k, r) in log.iter().enumerate() {
        if let Rec::Delete(_) = r {
            assert!(
                log[..k]
                    .iter()
                    .filter(|x| matches!(x, Rec::Install(_)))
                    .count()
                    >= 2,
                "delete before the replacement was installed: {log:?}"
            );
        }
    }
    assert!(
        !log.iter().any(|r| matches!(r, Rec::Down(_))),
        "protection went down: {log:?}"
    );
}

#[test]
fn child_rekey_installs_before_deleting() {
    let mut net = Net::pair(100, |_| {});
    up(&mut net);
    let first: Vec<u32> = net.nodes[0].installed.keys().copied().collect();
    net.run_for(secs(3600 * 3));
    assert!(net.protected(0, 1) && net.protected(1, 0));
    net.assert_keys_match(0, 1);
    net.assert_keys_match(1, 0);
    assert_eq!(net.nodes[0].installed.len(), 1);
    assert!(!net.nodes[0].installed.contains_key(&first[0]));
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::ChildUp { rekey: true, .. })));
    assert_make_before_break(&net, 0);
    assert_make_before_break(&net, 1);
    // Still one IKE SA on each side.
    assert_eq!(net.established(0), 1);
    assert_eq!(net.established(1), 1);
}

#[test]
fn child_rekey_with_pfs_and_from_the_data_plane() {
    let mut net = Net::pair(101, |c| c.pfs = Some(dmvpn_crypto::DhGroup::Curve25519));
    up(&mut net);
    let spi = *net.nodes[1].installed.keys().next().unwrap();
    let now = net.now;
    net.nodes[1]
        .engine
        .handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
    net.run_for(secs(2));
    assert!(!net.nodes[1].installed.contains_key(&spi));
    net.assert_keys_match(0, 1);
    assert_make_before_break(&net, 0);
    assert_make_before_break(&net, 1);
}

#[test]
fn ike_rekey_keeps_children() {
    let mut net = Net::pair(102, |c| c.ike_lifetime = secs(600));
    up(&mut net);
    let child: Vec<u32> = net.nodes[0].installed.keys().copied().collect();
    let spi0 = net.nodes[0].engine.sas()[0].spi_i;
    net.run_for(secs(1000));
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::IkeRekeyed { .. })));
    assert!(net.has_event(1, |e| matches!(e, IkeEvent::IkeRekeyed { .. })));
    let sas = net.nodes[0].engine.sas();
    assert_eq!(sas.len(), 1, "{sas:?}");
    assert_ne!(sas[0].spi_i, spi0);
    assert_eq!(net.nodes[1].engine.sas().len(), 1);
    assert_eq!(sas[0].children, 1);
    // The Child SA did not change with the IKE rekey.
    assert_eq!(
        net.nodes[0].installed.keys().copied().collect::<Vec<_>>(),
        child
    );
    assert!(!net.has_event(0, |e| matches!(e, IkeEvent::SaDown { .. })));
    // Child rekeys and DPD work over the new IKE SA.
    let spi = child[0];
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
    net.run_for(secs(2));
    net.assert_keys_match(0, 1);
    assert!(!net.nodes[0].installed.contains_key(&spi));
}

#[test]
fn simultaneous_child_rekey_leaves_one_pair() {
    for seed in 0..6 {
        let mut net = Net::pair(110 + seed, |_| {});
        up(&mut net);
        let a = *net.nodes[0].installed.keys().next().unwrap();
        let b = *net.nodes[1].installed.keys().next().unwrap();
        let now = net.now;
        net.nodes[0]
            .engine
            .handle_esp_event(now, EspEvent::SoftExpired { spi_in: a });
        net.nodes[1]
            .engine
            .handle_esp_event(now, EspEvent::SoftExpired { spi_in: b });
        net.drain(0);
        net.drain(1);
        net.run_for(secs(5));
        assert_eq!(
            net.nodes[0].installed.len(),
            1,
            "seed {seed}: {:?}",
            net.nodes[0].log
        );
        assert_eq!(
            net.nodes[1].installed.len(),
            1,
            "seed {seed}: {:?}",
            net.nodes[1].log
        );
        net.assert_keys_match(0, 1);
        assert_make_before_break(&net, 0);
        assert_make_before_break(&net, 1);
        // Both rekeys completed (a real collision): two new pairs, one deleted again.
        for i in 0..2 {
            let rekeys = net.nodes[i]
                .events
                .iter()
                .filter(|e| matches!(e, IkeEvent::ChildUp { rekey: true, .. }))
                .count();
            assert_eq!(rekeys, 2, "seed {seed} node {i}");
        }
    }
}

#[test]
fn simultaneous_ike_rekey_leaves_one_sa() {
    for seed in 0..6 {
        let mut net = Net::pair(120 + seed, |_| {});
        up(&mut net);
        let child: Vec<u32> = net.nodes[0].installed.keys().copied().collect();
        let now = net.now;
        net.nodes[0].engine.rekey_ike(now, addr(1));
        net.nodes[1].engine.rekey_ike(now, addr(0));
        net.drain(0);
        net.drain(1);
        net.run_for(secs(5));
        assert_eq!(
            net.established(0),
            1,
            "seed {seed}: {:?}",
            net.nodes[0].engine.sas()
        );
        assert_eq!(
            net.established(1),
            1,
            "seed {seed}: {:?}",
            net.nodes[1].engine.sas()
        );
        assert_eq!(net.nodes[0].engine.sas().len(), 1);
        assert_eq!(net.nodes[1].engine.sas().len(), 1);
        let (a, b) = (&net.nodes[0].engine.sas()[0], &net.nodes[1].engine.sas()[0]);
        assert_eq!((a.spi_i, a.spi_r), (b.spi_i, b.spi_r));
        assert_eq!(a.children, 1);
        assert_eq!(b.children, 1);
        assert_eq!(
            net.nodes[0].installed.keys().copied().collect::<Vec<_>>(),
            child
        );
        for i in 0..2 {
            let rekeys = net.nodes[i]
                .events
                .iter()
                .filter(|e| matches!(e, IkeEvent::IkeRekeyed { .. }))
                .count();
            assert_eq!(rekeys, 2, "seed {seed} node {i}: both rekeys completed");
        }
        // The surviving SA works: a Child SA rekey over it.
        let spi = child[0];
        let now = net.now;
        net.nodes[0]
            .engine
            .handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
        net.run_for(secs(2));
        net.assert_keys_match(0, 1);
        assert!(net.protected(0, 1) && net.protected(1, 0));
    }
}

#[test]
fn release_deletes_both_sides() {
    let mut net = Net::pair(140, |_| {});
    up(&mut net);
    let now = net.now;
    net.nodes[0].engine.release(now, addr(1));
    net.drain(0);
    assert_eq!(net.nodes[0].log.last(), Some(&Rec::Down(addr(1))));
    net.run_for(secs(2));
    assert!(net.nodes[0].engine.sas().is_empty());
    assert!(net.nodes[1].engine.sas().is_empty());
    assert!(net.nodes[1].installed.is_empty());
    assert_eq!(net.nodes[1].log.last(), Some(&Rec::Down(addr(0))));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::SaDown {
            reason: dmvpn_ike::DownReason::PeerDeleted,
            ..
        }
    )));
    // Released: no new negotiation.
    net.run_for(secs(120));
    assert!(net.nodes[0].engine.sas().is_empty());
}

#[test]
fn clear_reconnects_a_wanted_peer() {
    let mut net = Net::pair(141, |_| {});
    up(&mut net);
    let now = net.now;
    net.nodes[0].engine.clear(now, None);
    net.run_for(secs(30));
    assert!(net.protected(0, 1) && net.protected(1, 0));
    assert_eq!(net.established(0), 1);
    assert_eq!(net.established(1), 1);
    net.assert_keys_match(0, 1);
}

#[test]
fn dpd_finds_a_dead_peer() {
    let dpd = DpdConfig {
        interval: secs(10),
        retry: secs(2),
        mode: DpdMode::Periodic,
    };
    let mut net = Net::pair(150, |c| c.dpd = Some(dpd));
    up(&mut net);
    // Alive: probes are answered, nothing happens.
    net.run_for(secs(60));
    assert!(net.protected(0, 1));
    assert!(!net.has_event(0, |e| matches!(e, IkeEvent::PeerDead { .. })));
    net.blackhole = Some(1);
    net.run_for(secs(60));
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::PeerDead { .. })));
    assert!(!net.protected(0, 1));
    assert!(net.nodes[0].log.contains(&Rec::Down(addr(1))));
    assert!(net.nodes[0].installed.is_empty());
}

#[test]
fn on_demand_dpd() {
    let dpd = DpdConfig {
        interval: secs(10),
        retry: secs(2),
        mode: DpdMode::OnDemand,
    };
    let mut net = Net::pair(151, |c| c.dpd = Some(dpd));
    up(&mut net);
    net.blackhole = Some(1);
    net.run_for(secs(30));
    assert!(net.protected(0, 1), "on-demand DPD never probes by itself");
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_esp_event(now, EspEvent::DpdCheck { peer: addr(1) });
    net.drain(0);
    net.run_for(secs(30));
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::PeerDead { .. })));
}

#[test]
fn retransmission_gives_up() {
    let mut net = Net::pair(160, |_| {});
    net.blackhole = Some(1);
    net.protect(0, 1);
    net.run_for(secs(200));
    let retrans = net.nodes[0]
        .events
        .iter()
        .filter(|e| matches!(e, IkeEvent::Retransmit { .. }))
        .count();
    assert!(retrans >= 5);
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::RetransmitGiveUp { .. })));
}

#[test]
fn converges_under_30_percent_loss() {
    for seed in 0..8 {
        let mut net = Net::pair(170 + seed, |_| {});
        net.loss = 300;
        net.dup = 50;
        net.reorder = 100;
        net.protect(0, 1);
        net.run_for(secs(600));
        assert!(net.protected(0, 1), "seed {seed}");
        assert!(net.protected(1, 0), "seed {seed}");
        net.assert_keys_match(0, 1);
        net.assert_keys_match(1, 0);
        assert_eq!(net.established(0), 1, "seed {seed}");
    }
}

#[test]
fn rekeys_survive_loss() {
    for seed in 0..4 {
        let mut net = Net::pair(180 + seed, |c| c.ike_lifetime = secs(900));
        up(&mut net);
        net.loss = 300;
        net.run_for(secs(3600 * 2));
        net.loss = 0;
        net.run_for(secs(300));
        assert!(net.protected(0, 1) && net.protected(1, 0), "seed {seed}");
        net.assert_keys_match(0, 1);
        net.assert_keys_match(1, 0);
    }
}

#[test]
fn nat_moves_to_4500_with_udp_encapsulation() {
    let mut net = Net::pair(190, |c| c.nat_keepalive = Some(secs(20)));
    net.nat = Some(Nat {
        node: 0,
        public: Ipv4Addr::new(203, 0, 113, 7),
        port_base: 10_000,
    });
    up(&mut net);
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::NatDetected {
            local_behind: true,
            peer_behind: false,
            ..
        }
    )));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::NatDetected {
            local_behind: false,
            peer_behind: true,
            ..
        }
    )));
    let a = net.nodes[0].installed.values().next().unwrap();
    let enc = a.encap.unwrap();
    assert_eq!((enc.local_port, enc.remote_port), (NATT_PORT, NATT_PORT));
    let b = net.nodes[1].installed.values().next().unwrap();
    assert_eq!(b.peer, Ipv4Addr::new(203, 0, 113, 7));
    assert_eq!(b.encap.unwrap().remote_port, 10_000 + NATT_PORT);
    let sa = &net.nodes[0].engine.sas()[0];
    assert_eq!(sa.local.port(), NATT_PORT);
    assert!(sa.nat);
    // Keepalives from the node behind the NAT only.
    net.run_for(secs(100));
    assert!(net.nodes[0].keepalives >= 4);
    assert_eq!(net.nodes[1].keepalives, 0);
    // Rekeys over NAT.
    let spi = *net.nodes[0].installed.keys().next().unwrap();
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
    net.run_for(secs(2));
    net.assert_keys_match(0, 1);
}

#[test]
fn restarted_peer_recovers_through_invalid_spi() {
    let mut net = Net::pair(200, |_| {});
    up(&mut net);
    let old_a: Vec<u32> = net.nodes[0].installed.keys().copied().collect();
    // Node 1 restarts and loses everything; node 0 still sends ESP with old SPIs.
    net.restart(1, psk_config(PSK), 9999);
    let now = net.now;
    let spi = net.nodes[0].installed.values().next().unwrap().spi_out;
    net.nodes[1].engine.handle_esp_event(
        now,
        EspEvent::InvalidSpi {
            peer: addr(0),
            local: addr(1),
            spi,
        },
    );
    net.drain(1);
    net.run_for(secs(5));
    assert!(net.protected(1, 0));
    assert!(net.protected(0, 1));
    assert_eq!(net.established(0), 1, "{:?}", net.nodes[0].engine.sas());
    assert_eq!(net.nodes[0].installed.len(), 1);
    assert!(!net.nodes[0].installed.contains_key(&old_a[0]));
    net.assert_keys_match(0, 1);
    net.assert_keys_match(1, 0);
    // Node 0 never saw protection drop: the new SA came before the stale one went.
    assert!(!net.nodes[0].log.contains(&Rec::Down(addr(1))));
}

#[test]
fn simultaneous_initiation_keeps_one_sa() {
    for seed in 0..8 {
        let mut net = Net::pair(210 + seed, |_| {});
        net.latency = Duration::from_millis(50);
        net.protect(0, 1);
        net.protect(1, 0);
        net.run_for(secs(10));
        assert_eq!(
            net.established(0),
            1,
            "seed {seed}: {:?}",
            net.nodes[0].engine.sas()
        );
        assert_eq!(
            net.established(1),
            1,
            "seed {seed}: {:?}",
            net.nodes[1].engine.sas()
        );
        net.assert_keys_match(0, 1);
        net.assert_keys_match(1, 0);
        assert!(net.protected(0, 1) && net.protected(1, 0));
        assert!(!net.nodes[0].log.contains(&Rec::Down(addr(1))));
        // Both SAs came up on both sides before one was deleted.
        for i in 0..2 {
            let ups = net.nodes[i]
                .events
                .iter()
                .filter(|e| matches!(e, IkeEvent::SaUp { .. }))
                .count();
            assert_eq!(ups, 2, "seed {seed} node {i}");
        }
    }
}

#[test]
fn peers_are_independent() {
    let cfgs = (0..4).map(|_| psk_config(PSK)).collect();
    let mut net = Net::new(220, cfgs);
    for j in 1..4 {
        net.protect(0, j);
    }
    net.protect(2, 3);
    net.run_for(secs(10));
    for j in 1..4 {
        assert!(net.protected(0, j) && net.protected(j, 0));
    }
    assert!(net.protected(2, 3) && net.protected(3, 2));
    assert_eq!(net.established(0), 3);
    let now = net.now;
    net.nodes[0].engine.release(now, addr(2));
    net.run_for(secs(5));
    assert!(!net.protected(0, 2));
    assert!(net.protected(0, 1) && net.protected(0, 3));
    assert!(net.protected(2, 3));
}

#[test]
fn a_new_child_over_the_existing_ike_sa() {
    let mut net = Net::pair(230, |_| {});
    up(&mut net);
    let ike = net.nodes[0].engine.sas()[0].spi_i;
    let spi = *net.nodes[1].installed.keys().next().unwrap();
    let now = net.now;
    net.nodes[1]
        .engine
        .handle_esp_event(now, EspEvent::HardExpired { spi_in: spi });
    net.drain(1);
    net.run_for(secs(2));
    assert!(!net.protected(0, 1) && !net.protected(1, 0));
    assert_eq!(net.nodes[0].log.last(), Some(&Rec::Down(addr(1))));
    assert_eq!(net.established(0), 1);
    // NHRP asks again: a CREATE_CHILD_SA over the same IKE SA.
    net.protect(0, 1);
    net.run_for(secs(2));
    assert!(net.protected(0, 1) && net.protected(1, 0));
    net.assert_keys_match(0, 1);
    assert_eq!(net.nodes[0].engine.sas()[0].spi_i, ike);
    assert_eq!(net.nodes[0].engine.sas().len(), 1);
}

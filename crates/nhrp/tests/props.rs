//! Property tests: arbitrary bytes and arbitrary input sequences never panic, and the engine's
//! invariants hold (complete entries have an NBMA, dynamic entries expire, timers drain).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::{ClearRequest, EntryKind, PacketType};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut net = hub_and_spokes(2);
        net.inject(0, ip(172, 16, 2, 1), &bytes);
        net.inject(1, HUB_NBMA, &bytes);
        net.run_for(secs(5));
    }

    #[test]
    fn mutated_valid_packets_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), which in 0usize..4) {
        let mut net = hub_and_spokes(3);
        net.traffic(1, ip(10, 0, 0, 3));
        net.run_for(secs(1));
        let kinds = [PacketType::RegistrationRequest, PacketType::ResolutionRequest, PacketType::RegistrationReply, PacketType::ResolutionReply];
        let kind = kinds[which];
        let Some(pkt) = net.wire.iter().find(|p| p.msg.as_ref().is_some_and(|m| m.ptype == kind)) else { return Ok(()) };
        let mut b = pkt.bytes.clone();
        for (i, v) in flips {
            let n = b.len();
            b[i % n] = v;
        }
        for k in 0..3 {
            net.inject(k, ip(172, 16, 2, 1), &b);
        }
        net.run_for(secs(30));
    }

    #[test]
    fn arbitrary_input_sequences_keep_invariants(ops in proptest::collection::vec((0u8..9, 0u8..4, any::<u8>()), 1..60)) {
        let mut net = hub_and_spokes(3);
        for (op, node, x) in ops {
            let k = usize::from(node % 3);
            let now = net.now;
            match op {
                0 => { net.traffic(k, ip(10, 0, 0, x % 6)); }
                1 => { net.run_for(secs(u64::from(x))); }
                2 => {
                    let pkt = ipv4_packet(ip(192, 168, 2, x), ip(192, 168, 3, x));
                    net.nodes[0].engine.handle_hairpin(now, IF, ip(192, 168, 2, x), ip(192, 168, 3, x), &pkt);
                }
                3 => {
                    let new = ip(172, 16, 100, x);
                    net.nodes[k].nbma = new;
                    net.nodes[k].public = new;
                    net.nodes[k].engine.handle_nbma_change(now, IF, new);
                }
                4 => net.nodes[k].engine.handle_protection(now, HUB_NBMA, x % 2 == 0),
                5 => { net.nodes[k].engine.clear(now, ClearRequest::Dynamic { iface: None }); }
                6 => { net.nodes[k].engine.clear(now, ClearRequest::All { iface: Some(IF) }); }
                7 => { net.nodes[k].down = !net.nodes[k].down; }
                _ => { net.nodes[k].engine.handle_timeout(now); }
            }
            net.drain();
        }
        net.run_for(secs(10));
        // Switched-off nodes run no timers in the harness; check the live ones.
        for n in net.nodes.iter().filter(|n| !n.down) {
            for e in n.engine.cache_entries(None) {
                match e.kind {
                    EntryKind::Static => prop_assert!(e.expires.is_none() && e.nbma.is_some()),
                    EntryKind::Dynamic => prop_assert!(e.expires.is_some() && e.nbma.is_some()),
                    EntryKind::Incomplete | EntryKind::Negative => prop_assert!(e.expires.is_some() && e.nbma.is_none()),
                }
                if let Some(t) = e.expires {
                    prop_assert!(t >= net.now, "expired entry still present: {e:?}");
                }
            }
        }
    }
}

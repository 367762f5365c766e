//! Floods with a bounded answer, and counters that account for everything: a Registration
//! Request flood does not starve the replies to registered spokes (their own budget), the
//! max-send usage decays when idle, unsolicited Resolution Requests and Traffic Indications are
//! rate-limited and counted, unknown packet types are counted under `other`, and an NHS keeps
//! a lifetime count of unanswered requests next to the running one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::Cie;
use dmvpn_nhrp::{DropReason, Event, Message, PacketType};
use std::net::Ipv4Addr;

const S1: usize = 1;
const S2: usize = 2;

/// A Registration Request from spoofed NBMA `nbma` for protocol address `proto`.
fn registration(nbma: Ipv4Addr, proto: Ipv4Addr, id: u32) -> Vec<u8> {
    let mut m = Message::new(PacketType::RegistrationRequest, 255, nbma, proto, HUB_PROTO);
    m.request_id = id;
    m.cies.push(Cie {
        prefix_len: 32,
        holding_time: 600,
        ..Cie::default()
    });
    dmvpn_nhrp::codec::encode(&m).unwrap()
}

/// Flood source `k`: NBMA 198.18.x.y, protocol address mostly outside the tunnel network.
fn flood_source(k: u32) -> (Ipv4Addr, Ipv4Addr) {
    let [_, _, a, b] = k.to_be_bytes();
    let nbma = Ipv4Addr::new(198, 18, a, b);
    let proto = if k.is_multiple_of(80) {
        Ipv4Addr::new(10, 0, 0, 100 + (k / 80 % 150) as u8)
    } else {
        Ipv4Addr::new(10, 9, a, b)
    };
    (nbma, proto)
}

#[test]
fn registration_flood_does_not_starve_registered_spokes() {
    let mut net = hub_and_spokes(3);
    let mut k = 0u32;
    // 200 spoofed registrations a second for 130 s: every refresh of both spokes (about every
    // 90-100 s) falls inside the flood.
    for _ in 0..130 {
        for _ in 0..200 {
            let (nbma, proto) = flood_source(k);
            let bytes = registration(nbma, proto, k);
            net.inject(0, nbma, &bytes);
            k += 1;
        }
        net.run_for(secs(1));
    }
    for s in [S1, S2] {
        let down = net
            .events(s)
            .iter()
            .filter(|e| matches!(e, Event::NhsDown { .. }))
            .count();
        assert_eq!(down, 0, "spoke {s} saw its NHS go down");
        let nhs = &net.nodes[s].engine.nhs_status(None)[0];
        assert!(nhs.replies >= 2, "spoke {s}: refreshes answered: {nhs:?}");
    }
    let t = net.nodes[0].engine.traffic(IF).unwrap();
    assert!(
        t.max_send_dropped > 1000,
        "the flood used up the shared quota: {t:?}"
    );
    assert!(t.max_send_established_sent >= 2, "{t:?}");
    assert_eq!(t.max_send_established_dropped, 0, "{t:?}");
}

#[test]
fn max_send_usage_decays_when_idle() {
    let mut net = hub_and_spokes(2);
    for k in 0..100 {
        let (nbma, proto) = flood_source(k);
        net.inject(0, nbma, &registration(nbma, proto, k));
    }
    let t = net.nodes[0].engine.traffic(IF).unwrap();
    assert_eq!(t.max_send_usage_percent, 100, "{t:?}");
    net.run_for(secs(5));
    // The engine reads the clock it was last given (the daemon passes it on every show).
    let now = net.now;
    net.nodes[0].engine.handle_timeout(now);
    let half = net.nodes[0].engine.traffic(IF).unwrap();
    assert!(
        half.max_send_usage_percent > 0 && half.max_send_usage_percent <= 60,
        "{half:?}"
    );
    net.run_for(secs(6));
    let now = net.now;
    net.nodes[0].engine.handle_timeout(now);
    let t = net.nodes[0].engine.traffic(IF).unwrap();
    assert_eq!(t.max_send_usage_percent, 0, "{t:?}");
}

fn resolution_request(nbma: Ipv4Addr, proto: Ipv4Addr, dst: Ipv4Addr, id: u32) -> Vec<u8> {
    let mut m = Message::new(PacketType::ResolutionRequest, 255, nbma, proto, dst);
    m.request_id = id;
    m.cies.push(Cie::default());
    dmvpn_nhrp::codec::encode(&m).unwrap()
}

#[test]
fn resolution_request_flood_from_strangers_is_rate_limited_and_counted() {
    let mut net = hub_and_spokes(3);
    for k in 0..1000u32 {
        let (nbma, proto) = flood_source(k + 1);
        let b = resolution_request(nbma, proto, ip(10, 0, 0, 3), k);
        net.inject(0, nbma, &b);
    }
    let t = net.nodes[0].engine.traffic(IF).unwrap();
    let limited = t.drops.get(&DropReason::RateLimited).copied().unwrap_or(0);
    assert_eq!(
        limited,
        1000 - u64::from(dmvpn_nhrp::UNKNOWN_SOURCE_BURST),
        "{t:?}"
    );
    assert_eq!(t.rcvd.resolution_request, 1000, "every packet is counted");
    // A registered spoke is still answered at once.
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    assert_eq!(
        net.traffic(S1, ip(10, 0, 0, 3)),
        dmvpn_nhrp::Lookup::Direct(ip(172, 16, 3, 1))
    );
}

#[test]
fn traffic_indication_flood_at_a_spoke_is_bounded() {
    let mut c = spoke_cfg(2);
    c.shortcut = true;
    let mut net = Net::new();
    net.add(hub_cfg());
    net.add(c);
    net.run_for(secs(2));
    // 5000 Traffic Indications "from the hub" (its NBMA, so a known source), each for
    // another destination.
    for k in 0..5000u32 {
        let [_, _, a, b] = k.to_be_bytes();
        let mut m = Message::new(
            PacketType::TrafficIndication,
            255,
            HUB_NBMA,
            HUB_PROTO,
            ip(10, 0, 0, 2),
        );
        m.payload = ipv4_packet(ip(192, 168, 2, 1), ip(10, 50, a, b));
        net.inject(S1, HUB_NBMA, &dmvpn_nhrp::codec::encode(&m).unwrap());
    }
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    let limited = t.drops.get(&DropReason::RateLimited).copied().unwrap_or(0);
    assert_eq!(
        limited,
        5000 - u64::from(dmvpn_nhrp::TRAFFIC_INDICATION_BURST),
        "{t:?}"
    );
    assert!(net.nodes[S1].engine.pending_requests() <= dmvpn_nhrp::MAX_PENDING_RESOLUTIONS);
    // The spoke still refreshes its registration.
    net.run_for(secs(120));
    let down = net
        .events(S1)
        .iter()
        .filter(|e| matches!(e, Event::NhsDown { .. }))
        .count();
    assert_eq!(down, 0);
}

#[test]
fn unknown_packet_types_are_counted_as_other() {
    let mut net = hub_and_spokes(2);
    let mut bytes = registration(ip(198, 18, 0, 1), ip(10, 0, 0, 77), 1);
    // ar$op.type is byte 17 of the fixed header; the checksum (bytes 12-13) must be redone.
    bytes[17] = 42;
    bytes[12] = 0;
    bytes[13] = 0;
    let sum = internet_checksum(&bytes);
    bytes[12..14].copy_from_slice(&sum.to_be_bytes());
    let before = net.nodes[0].engine.traffic(IF).unwrap();
    net.inject(0, ip(198, 18, 0, 1), &bytes);
    let t = net.nodes[0].engine.traffic(IF).unwrap();
    assert_eq!(t.rcvd.other, before.rcvd.other + 1, "{t:?}");
    assert_eq!(t.rcvd.total, before.rcvd.total + 1);
    assert_eq!(
        t.drops.get(&DropReason::Unsupported).copied().unwrap_or(0),
        1
    );
}

#[test]
fn nhs_keeps_a_lifetime_count_of_unanswered_requests() {
    let mut net = hub_and_spokes(2);
    net.nodes[0].down = true;
    net.run_for(secs(200));
    let n = net.nodes[S1].engine.nhs_status(None)[0].clone();
    assert!(n.unanswered >= 3, "{n:?}");
    assert_eq!(n.failed, u64::from(n.unanswered));
    net.nodes[0].down = false;
    net.run_for(secs(200));
    let n = net.nodes[S1].engine.nhs_status(None)[0].clone();
    assert_eq!(n.unanswered, 0, "{n:?}");
    assert!(n.failed >= 3, "the lifetime count stays: {n:?}");
}

/// RFC 1071 checksum (the NHRP `ar$chksum`).
fn internet_checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(c.get(1).copied().unwrap_or(0)))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

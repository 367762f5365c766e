//! Resolution: the seed 003 phase-2 walk-through, negative answers, retries, cache refresh and
//! expiry, transit records, responder address, hop count and loops.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::{code, error_code, flags};
use dmvpn_nhrp::{Action, EntryFlags, EntryKind, Event, Lookup, Message, PacketType, Prefix};

const S1: usize = 1;
const S2: usize = 2;

#[test]
fn seed_003_phase_2_walk_through() {
    let mut net = hub_and_spokes(3);
    let (s2_proto, s2_nbma) = (ip(10, 0, 0, 3), ip(172, 16, 3, 1));
    let (s1_proto, s1_nbma) = (ip(10, 0, 0, 2), ip(172, 16, 2, 1));
    // Steps 1-2: no entry, so a Resolution Request goes to the NHS; traffic keeps going via the hub.
    assert_eq!(net.traffic(S1, s2_proto), Lookup::ViaNhs(HUB_NBMA));
    assert_eq!(
        net.entry(S1, Prefix::host(s2_proto)).unwrap().kind,
        EntryKind::Incomplete
    );
    let req = net.sent(S1, PacketType::ResolutionRequest)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(req.dst_proto, s2_proto);
    assert_eq!(req.flags, flags::Q | flags::A | flags::S | flags::NAT);
    // Step 3: the hub answers from its registration cache.
    net.run_for(secs(1));
    let rep = net.sent(0, PacketType::ResolutionReply)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(rep.request_id, req.request_id);
    assert_eq!(rep.cies[0].client_nbma, Some(s2_nbma));
    assert_ne!(rep.flags & flags::A, 0, "authoritative");
    assert_eq!(
        rep.ext.responder.as_ref().unwrap()[0].client_proto,
        Some(HUB_PROTO),
        "Responder Address"
    );
    assert!(rep.ext.reverse_transit.is_some() && rep.ext.forward_transit.is_some());
    // Step 4: the mapping is installed.
    assert!(net.effects(S1).contains(&Action::MappingAdd {
        iface: IF,
        proto: s2_proto,
        nbma: s2_nbma
    }));
    let e = net.entry(S1, Prefix::host(s2_proto)).unwrap();
    assert_eq!(e.kind, EntryKind::Dynamic);
    assert_eq!(
        e.flag_names,
        vec!["unique", "used", "router"],
        "seed 003: router unique used"
    );
    let hold = u64::from(rep.cies[0].holding_time);
    assert!(
        hold > 290 && hold <= 300,
        "the hub hands out the remaining registration time"
    );
    assert_eq!(
        e.expires,
        Some(e.created + secs(hold)),
        "lives for the reply's holding time"
    );
    // Step 6: packets go direct.
    assert_eq!(net.traffic(S1, s2_proto), Lookup::Direct(s2_nbma));
    assert!(net.events(S1).iter().any(|e| matches!(e, Event::ResolutionDone { dst, nbma, .. } if *dst == s2_proto && *nbma == s2_nbma)));
    // Steps 7-10: the other direction.
    assert_eq!(net.traffic(S2, s1_proto), Lookup::ViaNhs(HUB_NBMA));
    net.run_for(secs(1));
    assert_eq!(net.traffic(S2, s1_proto), Lookup::Direct(s1_nbma));
    // Step 11: unused mappings are deleted after the holdtime; no refresh is sent.
    let before = net.sent(S1, PacketType::ResolutionRequest).len();
    net.run_for(secs(305));
    assert!(net.entry(S1, Prefix::host(s2_proto)).is_none());
    assert_eq!(net.sent(S1, PacketType::ResolutionRequest).len(), before);
    assert!(net.effects(S1).contains(&Action::MappingRemove {
        iface: IF,
        proto: s2_proto,
        nbma: s2_nbma
    }));
}

#[test]
fn used_in_last_minute_is_refreshed_unused_expires_and_protection_is_released() {
    let mut net = Net::new();
    let mut h = hub_cfg();
    h.protection_required = true;
    net.add(h);
    for n in [2u8, 3] {
        let mut c = spoke_cfg(n);
        c.protection_required = true;
        net.add(c);
    }
    net.run_for(secs(2));
    let s2 = ip(10, 0, 0, 3);
    let s2_nbma = ip(172, 16, 3, 1);
    net.traffic(S1, s2);
    net.run_for(secs(1));
    assert!(net.effects(S1).contains(&Action::ProtectionNeeded {
        iface: IF,
        nbma: s2_nbma
    }));
    let created = net.entry(S1, Prefix::host(s2)).unwrap().expires.unwrap();
    // Used at 4 minutes (not in the last minute): no refresh.
    net.run_until(created.saturating_sub(secs(90)));
    net.traffic(S1, s2);
    assert_eq!(net.sent(S1, PacketType::ResolutionRequest).len(), 1);
    // Used in the last minute: refreshed before expiry.
    net.run_until(created.saturating_sub(secs(30)));
    net.traffic(S1, s2);
    net.run_for(secs(1));
    assert_eq!(net.sent(S1, PacketType::ResolutionRequest).len(), 2);
    let e = net.entry(S1, Prefix::host(s2)).unwrap();
    // The refresh moved the expiry later (by the answer's holding time: what is left of the
    // target's registration at the hub, whose refreshes are jittered).
    assert!(e.expires.unwrap() > created + secs(60));
    assert!(!net.effects(S1).contains(&Action::MappingRemove {
        iface: IF,
        proto: s2,
        nbma: s2_nbma
    }));
    // Then unused: expires, and the peer's protection is no longer needed.
    net.run_for(secs(400));
    assert!(net.entry(S1, Prefix::host(s2)).is_none());
    assert!(net.effects(S1).contains(&Action::ProtectionNotNeeded {
        iface: IF,
        nbma: s2_nbma
    }));
    assert!(
        !net.effects(S1).contains(&Action::ProtectionNotNeeded {
            iface: IF,
            nbma: HUB_NBMA
        }),
        "the NHS stays"
    );
    // Needed again later: protection is requested again.
    net.traffic(S1, s2);
    net.run_for(secs(1));
    let asks = net
        .effects(S1)
        .iter()
        .filter(|a| {
            **a == Action::ProtectionNeeded {
                iface: IF,
                nbma: s2_nbma,
            }
        })
        .count();
    assert_eq!(asks, 2);
    assert_eq!(net.traffic(S1, s2), Lookup::Direct(s2_nbma));
}

#[test]
fn negative_answer_code_12_is_cached_and_traffic_stays_on_the_hub() {
    let mut net = hub_and_spokes(2);
    let x = ip(10, 0, 0, 99);
    net.traffic(S1, x);
    net.run_for(secs(1));
    let rep = net.sent(0, PacketType::ResolutionReply)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(rep.cies[0].code, code::NO_BINDING);
    assert_ne!(rep.cies[0].holding_time, 0);
    let e = net.entry(S1, Prefix::host(x)).unwrap();
    assert_eq!(e.kind, EntryKind::Negative);
    assert!(net.events(S1).contains(&Event::ResolutionFailed {
        iface: IF,
        dst: x,
        code: Some(12)
    }));
    assert_eq!(net.traffic(S1, x), Lookup::ViaNhs(HUB_NBMA));
    assert_eq!(
        net.sent(S1, PacketType::ResolutionRequest).len(),
        1,
        "negative entry suppresses new requests"
    );
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    assert_eq!(t.rcvd.resolution_reply_codes.get(&12), Some(&1));
}

#[test]
fn resolution_retries_at_1s_doubling_with_a_cap_then_fails() {
    let mut net = hub_and_spokes(2);
    net.filter = Box::new(|p| {
        p.msg
            .as_ref()
            .is_none_or(|m| m.ptype != PacketType::ResolutionRequest)
    });
    let t0 = net.now;
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(60));
    let times: Vec<u64> = net
        .sent(S1, PacketType::ResolutionRequest)
        .iter()
        .map(|p| (p.at.as_millis() - t0.as_millis()) / 1000)
        .collect();
    assert_eq!(times, vec![0, 1, 3, 7, 15, 23]);
    let ids: Vec<u32> = net
        .sent(S1, PacketType::ResolutionRequest)
        .iter()
        .map(|p| p.msg.as_ref().unwrap().request_id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert!(net.events(S1).contains(&Event::ResolutionFailed {
        iface: IF,
        dst: ip(10, 0, 0, 3),
        code: None
    }));
    assert_eq!(net.nodes[S1].engine.pending_requests(), 0);
}

fn request(
    from_nbma: std::net::Ipv4Addr,
    from_proto: std::net::Ipv4Addr,
    dst: std::net::Ipv4Addr,
    hop: u8,
) -> Message {
    let mut m = Message::new(
        PacketType::ResolutionRequest,
        hop,
        from_nbma,
        from_proto,
        dst,
    );
    m.flags = flags::Q | flags::A | flags::S;
    m.request_id = 4242;
    m.cies.push(dmvpn_nhrp::packet::Cie {
        prefix_len: 32,
        holding_time: 300,
        ..Default::default()
    });
    m.ext.forward_transit = Some(vec![]);
    m.ext.reverse_transit = Some(vec![]);
    m.ext.responder = Some(vec![]);
    m
}

#[test]
fn forwarded_request_gets_transit_record_and_decremented_hop_count() {
    let mut h = hub_cfg();
    h.routes.push(dmvpn_nhrp::TunnelRoute {
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3),
    });
    let mut net = Net::new();
    net.add(h);
    net.add(spoke_cfg(2));
    net.add(spoke_cfg(3));
    net.run_for(secs(2));
    let m = request(ip(172, 16, 2, 1), ip(10, 0, 0, 2), ip(192, 168, 3, 9), 8);
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let fwd = net.sent(0, PacketType::ResolutionRequest)[0];
    assert_eq!(fwd.to_nbma, ip(172, 16, 3, 1));
    let f = fwd.msg.clone().unwrap();
    assert_eq!(f.hop_count, 7);
    assert_eq!(
        f.ext.forward_transit.unwrap()[0].client_nbma,
        Some(HUB_NBMA)
    );
    assert_eq!(f.request_id, 4242);
    // The owner answers directly with its route's prefix length.
    net.run_for(secs(1));
    let rep = net.sent(S2, PacketType::ResolutionReply)[0];
    assert_eq!(rep.to_nbma, ip(172, 16, 2, 1));
    let r = rep.msg.clone().unwrap();
    assert_eq!(r.cies[0].prefix_len, 24);
    assert_eq!(r.cies[0].client_proto, Some(ip(10, 0, 0, 3)));
    assert_eq!(
        r.ext.forward_transit.unwrap().len(),
        1,
        "Forward Transit record copied into the reply"
    );
    // ... and learned the requester implicitly.
    let e = net.entry(S2, Prefix::host(ip(10, 0, 0, 2))).unwrap();
    assert!(e.flags.contains(EntryFlags::IMPLICIT));
}

#[test]
fn loop_gets_error_indication_code_3_and_hop_count_exhaustion_code_15() {
    let mut h = hub_cfg();
    h.routes.push(dmvpn_nhrp::TunnelRoute {
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3),
    });
    let mut net = Net::new();
    net.add(h);
    net.add(spoke_cfg(2));
    net.add(spoke_cfg(3));
    net.run_for(secs(2));
    let mut m = request(ip(172, 16, 2, 1), ip(10, 0, 0, 2), ip(192, 168, 3, 9), 8);
    m.ext.forward_transit = Some(vec![dmvpn_nhrp::packet::Cie {
        client_nbma: Some(HUB_NBMA),
        client_proto: Some(HUB_PROTO),
        ..Default::default()
    }]);
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let ei = net.sent(0, PacketType::ErrorIndication);
    assert_eq!(ei.len(), 1);
    assert_eq!(
        ei[0].msg.as_ref().unwrap().error_code(),
        error_code::LOOP_DETECTED
    );
    assert!(net.sent(0, PacketType::ResolutionRequest).is_empty());

    let m = request(ip(172, 16, 2, 1), ip(10, 0, 0, 2), ip(192, 168, 3, 9), 1);
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let ei = net.sent(0, PacketType::ErrorIndication);
    assert_eq!(ei.len(), 2);
    let e = ei[1].msg.clone().unwrap();
    assert_eq!(e.error_code(), error_code::HOP_COUNT_EXCEEDED);
    assert!(
        e.ext.auth.is_none() && e.ext.nat.is_none() && e.ext.forward_transit.is_none(),
        "no extensions in an Error Indication"
    );
    assert_ne!(e.hop_count, 0);
    let stats = net.nodes[0].engine.traffic(IF).unwrap();
    assert_eq!(stats.sent.error_codes.get(&3), Some(&1));
    assert_eq!(stats.sent.error_codes.get(&15), Some(&1));
    assert_eq!(
        stats.drops.get(&dmvpn_nhrp::DropReason::LoopDetected),
        Some(&1)
    );
}

#[test]
fn hierarchical_hubs_forward_to_the_region_that_knows() {
    use dmvpn_nhrp::{NhsConfig, StaticMap, TunnelRoute};
    let regional = |n: u8| {
        let mut c = hub_cfg();
        c.protocol_addr = ip(10, 0, 0, 10 + n);
        c.nbma_addr = ip(172, 18, n, 1);
        c.nhs.push(NhsConfig {
            protocol: HUB_PROTO,
            nbma: Some(HUB_NBMA),
            priority: 0,
        });
        c
    };
    let spoke = |n: u8, region: u8| {
        let mut c = spoke_cfg(n);
        c.nhs = vec![NhsConfig {
            protocol: ip(10, 0, 0, 10 + region),
            nbma: None,
            priority: 0,
        }];
        c.static_maps = vec![StaticMap {
            protocol: Prefix::host(ip(10, 0, 0, 10 + region)),
            nbma: ip(172, 18, region, 1),
        }];
        c
    };
    let mut central = hub_cfg();
    central.routes.push(TunnelRoute {
        prefix: Prefix::host(ip(10, 0, 0, 22)),
        next_hop: ip(10, 0, 0, 12),
    });
    let mut net = Net::new();
    let c = net.add(central);
    let r1 = net.add(regional(1));
    let r2 = net.add(regional(2));
    let s1 = net.add(spoke(21, 1));
    let s2 = net.add(spoke(22, 2));
    net.run_for(secs(2));
    assert!(net.entry(r2, Prefix::host(ip(10, 0, 0, 22))).is_some());
    assert!(
        net.entry(c, Prefix::host(ip(10, 0, 0, 12))).is_some(),
        "regional hubs register centrally"
    );
    net.traffic(s1, ip(10, 0, 0, 22));
    net.run_for(secs(1));
    assert_eq!(
        net.sent(r1, PacketType::ResolutionRequest)[0].to_nbma,
        HUB_NBMA,
        "regional → central"
    );
    assert_eq!(
        net.sent(c, PacketType::ResolutionRequest)[0].to_nbma,
        ip(172, 18, 2, 1),
        "central → other region"
    );
    let fwd = net.sent(c, PacketType::ResolutionRequest)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(fwd.ext.forward_transit.as_ref().unwrap().len(), 2);
    let rep = net.sent(r2, PacketType::ResolutionReply);
    assert_eq!(
        rep[0].to_nbma,
        ip(172, 16, 21, 1),
        "answered straight to the requester"
    );
    assert_eq!(
        net.traffic(s1, ip(10, 0, 0, 22)),
        Lookup::Direct(ip(172, 16, 22, 1))
    );
    let _ = s2;
}

#[test]
fn routes_from_handle_route_are_used_for_forwarding() {
    let mut net = hub_and_spokes(3);
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_route(now, IF, spoke_lan(3), Some(ip(10, 0, 0, 3)));
    let m = request(ip(172, 16, 2, 1), ip(10, 0, 0, 2), ip(192, 168, 3, 9), 8);
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    assert_eq!(
        net.sent(0, PacketType::ResolutionRequest)[0].to_nbma,
        ip(172, 16, 3, 1)
    );
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_route(now, IF, spoke_lan(3), None);
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    assert_eq!(
        net.sent(0, PacketType::ResolutionRequest).len(),
        1,
        "withdrawn: answered negatively"
    );
    assert_eq!(
        net.sent(0, PacketType::ResolutionReply)
            .last()
            .unwrap()
            .msg
            .as_ref()
            .unwrap()
            .cies[0]
            .code,
        code::NO_BINDING
    );
}

#[test]
fn registration_without_source_nbma_is_a_protocol_error() {
    let mut net = hub_and_spokes(2);
    let mut m = Message::new(
        PacketType::RegistrationRequest,
        1,
        ip(172, 16, 2, 1),
        ip(10, 0, 0, 9),
        HUB_PROTO,
    );
    m.src_nbma = None;
    m.request_id = 3;
    net.inject(
        0,
        ip(172, 16, 9, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let ei = net.sent(0, PacketType::ErrorIndication);
    assert_eq!(ei.len(), 1);
    assert_eq!(
        ei[0].msg.as_ref().unwrap().error_code(),
        error_code::PROTOCOL_ERROR
    );
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 9))).is_none());
}

#[test]
fn transit_nhs_forwards_replies_with_a_reverse_transit_record() {
    let mut net = hub_and_spokes(3);
    // A reply for spoke 1's request, sent by the responder to the hub instead of directly.
    let mut r = Message::new(
        PacketType::ResolutionReply,
        10,
        ip(172, 16, 2, 1),
        ip(10, 0, 0, 2),
        ip(10, 0, 0, 3),
    );
    r.request_id = 77;
    r.cies.push(dmvpn_nhrp::packet::Cie {
        prefix_len: 32,
        holding_time: 300,
        client_nbma: Some(ip(172, 16, 3, 1)),
        client_proto: Some(ip(10, 0, 0, 3)),
        ..Default::default()
    });
    r.ext.reverse_transit = Some(vec![]);
    net.inject(
        0,
        ip(172, 16, 3, 1),
        &dmvpn_nhrp::codec::encode(&r).unwrap(),
    );
    let fwd = net.sent(0, PacketType::ResolutionReply);
    assert_eq!(fwd.len(), 1);
    assert_eq!(fwd[0].to_nbma, ip(172, 16, 2, 1));
    let m = fwd[0].msg.clone().unwrap();
    assert_eq!(m.hop_count, 9);
    assert_eq!(
        m.ext.reverse_transit.unwrap()[0].client_nbma,
        Some(HUB_NBMA)
    );
    // A reply that already passed through the hub is a loop and is dropped.
    r.ext.reverse_transit = Some(vec![dmvpn_nhrp::packet::Cie {
        client_nbma: Some(HUB_NBMA),
        ..Default::default()
    }]);
    net.inject(
        0,
        ip(172, 16, 3, 1),
        &dmvpn_nhrp::codec::encode(&r).unwrap(),
    );
    assert_eq!(net.sent(0, PacketType::ResolutionReply).len(), 1);
}

#[test]
fn loop_error_ends_the_resolution_at_once() {
    let mut net = hub_and_spokes(2);
    net.filter = Box::new(|p| {
        p.msg
            .as_ref()
            .is_none_or(|m| m.ptype != PacketType::ResolutionRequest)
    });
    let x = ip(10, 0, 0, 77);
    net.traffic(S1, x);
    let req = net.sent(S1, PacketType::ResolutionRequest)[0].bytes.clone();
    // The hub reports a loop for it.
    let mut e = Message::new(
        PacketType::ErrorIndication,
        64,
        HUB_NBMA,
        HUB_PROTO,
        ip(10, 0, 0, 2),
    );
    e.request_id = u32::from(error_code::LOOP_DETECTED) << 16;
    e.payload = req;
    net.inject(S1, HUB_NBMA, &dmvpn_nhrp::codec::encode(&e).unwrap());
    assert!(net.events(S1).contains(&Event::ResolutionFailed {
        iface: IF,
        dst: x,
        code: Some(3)
    }));
    assert_eq!(
        net.entry(S1, Prefix::host(x)).unwrap().kind,
        EntryKind::Negative
    );
    net.run_for(secs(30));
    assert_eq!(
        net.sent(S1, PacketType::ResolutionRequest).len(),
        1,
        "no retries after the loop error"
    );
}

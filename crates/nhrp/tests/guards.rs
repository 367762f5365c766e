//! Purge, Error Indication, authentication, network-id, max-send, counters, clear semantics,
//! the protection gate, robustness and determinism.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::{error_code, flags};
use dmvpn_nhrp::{
    Action, ClearRequest, DropReason, EngineConfig, EntryKind, Event, Lookup, Message, NhsState,
    PacketType, Prefix, RemoveReason,
};

const S1: usize = 1;

#[test]
fn hub_purges_stations_that_learned_a_binding_when_it_moves() {
    let mut net = Net::new();
    net.add(hub_cfg());
    net.add(spoke_cfg(2));
    let mut c = spoke_cfg(3);
    c.registration_no_unique = true;
    let s2 = net.add(c);
    net.run_for(secs(2));
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    assert_eq!(
        net.traffic(S1, ip(10, 0, 0, 3)),
        Lookup::Direct(ip(172, 16, 3, 1))
    );
    // Spoke 3 moves; the hub accepts the non-unique re-registration and purges spoke 1.
    let new = ip(172, 16, 33, 1);
    net.nodes[s2].nbma = new;
    net.nodes[s2].public = new;
    let now = net.now;
    net.nodes[s2].engine.handle_nbma_change(now, IF, new);
    net.run_for(secs(2));
    let purge = net.sent(0, PacketType::PurgeRequest);
    assert_eq!(purge.len(), 1);
    assert_eq!(purge[0].to_nbma, ip(172, 16, 2, 1));
    assert_eq!(
        purge[0].msg.as_ref().unwrap().flags & flags::N,
        0,
        "reply wanted"
    );
    assert!(net.entry(S1, Prefix::host(ip(10, 0, 0, 3))).is_none());
    let p = Prefix::host(ip(10, 0, 0, 3));
    assert!(net.events(S1).contains(&Event::CacheRemoved {
        iface: IF,
        prefix: p,
        reason: RemoveReason::Purged
    }));
    assert!(net.effects(S1).contains(&Action::MappingRemove {
        iface: IF,
        proto: ip(10, 0, 0, 3),
        nbma: ip(172, 16, 3, 1)
    }));
    assert_eq!(net.sent(S1, PacketType::PurgeReply).len(), 1);
    assert_eq!(
        net.nodes[0].engine.pending_requests(),
        0,
        "the purge reply ended the request"
    );
    // The next packet resolves the new address.
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    assert_eq!(net.traffic(S1, ip(10, 0, 0, 3)), Lookup::Direct(new));
}

fn authed(mut c: dmvpn_nhrp::InterfaceConfig, pw: &str) -> dmvpn_nhrp::InterfaceConfig {
    c.authentication = Some(pw.into());
    c
}

#[test]
fn authentication_mismatch_then_recovery() {
    let mut net = Net::new();
    net.add(authed(hub_cfg(), "test123"));
    net.add(authed(spoke_cfg(2), "wrong"));
    net.run_for(secs(10));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_none());
    let ei = net.sent(0, PacketType::ErrorIndication);
    assert!(!ei.is_empty());
    assert_eq!(
        ei[0].msg.as_ref().unwrap().error_code(),
        error_code::AUTHENTICATION_FAILURE
    );
    // The spoke learns why (Error Indications carry no authentication) and never answers.
    assert!(
        net.events(S1)
            .iter()
            .any(|e| matches!(e, Event::ErrorReceived { code: 11, .. }))
    );
    assert!(
        net.sent(S1, PacketType::ErrorIndication).is_empty(),
        "no Error Indication for an Error Indication"
    );
    assert_eq!(
        net.nodes[S1].engine.nhs_status(None)[0].state,
        NhsState::Down
    );
    let regs = net.sent(S1, PacketType::RegistrationRequest);
    let a = regs[0].msg.as_ref().unwrap().ext.auth.clone().unwrap();
    assert_eq!(a, b"\0\0\0\x01wrong".to_vec(), "Cisco cleartext format");
    // Fix the password: the next retransmission registers.
    let now = net.now;
    let cfg = EngineConfig {
        interfaces: vec![authed(spoke_cfg(2), "test123")],
    };
    net.nodes[S1].engine.update_config(now, cfg).unwrap();
    net.run_for(secs(20));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
    assert_eq!(net.nodes[S1].engine.nhs_status(None)[0].state, NhsState::Up);
}

#[test]
fn error_indication_received_is_counted_and_never_answered() {
    let mut net = hub_and_spokes(2);
    let mut e = Message::new(
        PacketType::ErrorIndication,
        64,
        HUB_NBMA,
        HUB_PROTO,
        ip(10, 0, 0, 2),
    );
    e.request_id = u32::from(error_code::PROTOCOL_ERROR) << 16;
    e.payload = vec![0; 28];
    // With a compulsory unknown extension, still no Error Indication back.
    e.ext.other.push(dmvpn_nhrp::packet::RawExtension {
        ext_type: 0x1111,
        compulsory: true,
        data: vec![],
    });
    net.inject(S1, HUB_NBMA, &dmvpn_nhrp::codec::encode(&e).unwrap());
    assert!(net.sent(S1, PacketType::ErrorIndication).is_empty());
    e.ext.other.clear();
    net.inject(S1, HUB_NBMA, &dmvpn_nhrp::codec::encode(&e).unwrap());
    assert!(net.events(S1).contains(&Event::ErrorReceived {
        iface: IF,
        from: HUB_NBMA,
        code: 7
    }));
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    assert_eq!(t.rcvd.error_indication, 1);
    assert_eq!(t.rcvd.error_codes.get(&7), Some(&1));
}

#[test]
fn unknown_compulsory_extension_gets_code_1() {
    let mut net = hub_and_spokes(2);
    let mut m = Message::new(
        PacketType::ResolutionRequest,
        64,
        ip(172, 16, 2, 1),
        ip(10, 0, 0, 2),
        ip(10, 0, 0, 9),
    );
    m.request_id = 9;
    m.ext.other.push(dmvpn_nhrp::packet::RawExtension {
        ext_type: 0x1111,
        compulsory: true,
        data: vec![1, 2, 3, 4],
    });
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let ei = net.sent(0, PacketType::ErrorIndication);
    assert_eq!(ei.len(), 1);
    let e = ei[0].msg.as_ref().unwrap();
    assert_eq!(e.error_code(), error_code::UNRECOGNIZED_EXTENSION);
    assert_ne!(e.request_id & 0xffff, 0, "offset of the extension");
    assert!(net.sent(0, PacketType::ResolutionReply).is_empty());
    // A non-compulsory unknown extension is fine.
    m.ext.other[0].compulsory = false;
    net.inject(
        0,
        ip(172, 16, 2, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    assert_eq!(net.sent(0, PacketType::ResolutionReply).len(), 1);
}

#[test]
fn network_id_separates_interfaces() {
    let mut hub = hub_cfg();
    let mut t1 = hub_cfg();
    t1.ifindex = 2;
    t1.name = "Tunnel1".into();
    t1.network_id = 2;
    t1.protocol_addr = ip(10, 0, 1, 1);
    hub.network_id = 1;
    let mut net = Net::new();
    let k = net.nodes.len();
    net.add(hub);
    let now = net.now;
    let mut cfg = net.nodes[k].engine.config();
    cfg.interfaces.push(t1.clone());
    net.nodes[k].engine.update_config(now, cfg).unwrap();
    net.add(spoke_cfg(2));
    net.run_for(secs(2));
    // A request arriving on Tunnel1 (network-id 2) for a Tunnel0 client is answered negatively.
    let m = {
        let mut m = Message::new(
            PacketType::ResolutionRequest,
            64,
            ip(172, 16, 9, 1),
            ip(10, 0, 1, 9),
            ip(10, 0, 0, 2),
        );
        m.request_id = 5;
        m.cies.push(Default::default());
        m
    };
    let now = net.now;
    net.nodes[0].engine.handle_packet(
        now,
        2,
        ip(172, 16, 9, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    net.drain();
    let r = net.sent(0, PacketType::ResolutionReply);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].msg.as_ref().unwrap().cies[0].code,
        dmvpn_nhrp::packet::code::NO_BINDING
    );
    // The same request on Tunnel0 is answered.
    net.inject(
        0,
        ip(172, 16, 9, 1),
        &dmvpn_nhrp::codec::encode(&m).unwrap(),
    );
    let r = net.sent(0, PacketType::ResolutionReply);
    assert_eq!(r[1].msg.as_ref().unwrap().cies[0].code, 0);
}

#[test]
fn max_send_quota_limits_and_counts() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.max_send = Some(dmvpn_nhrp::MaxSend {
        packets: 5,
        every: secs(10),
    });
    net.add(c);
    net.run_for(secs(1));
    for d in 10..30u8 {
        net.traffic(S1, ip(10, 0, 0, d));
    }
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    assert_eq!(t.max_send_limit, Some(5));
    assert_eq!(t.max_send_used, 5);
    assert_eq!(t.max_send_usage_percent, 100);
    assert_eq!(t.sent.total, 5, "1 registration + 4 resolutions");
    assert_eq!(t.max_send_dropped, 16);
    assert!(
        net.events(S1)
            .iter()
            .any(|e| matches!(e, Event::MaxSendExceeded { .. }))
    );
    // A new window opens after 10 s; the held-back requests go out on their retries.
    net.run_for(secs(20));
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    assert!(t.sent.total > 5);
    // Default is IOS's 100 per 10 s.
    assert_eq!(
        dmvpn_nhrp::MaxSend::default(),
        dmvpn_nhrp::MaxSend {
            packets: 100,
            every: secs(10)
        }
    );
}

#[test]
fn counters_per_type_and_code() {
    let mut net = hub_and_spokes(3);
    net.traffic(S1, ip(10, 0, 0, 3));
    net.traffic(S1, ip(10, 0, 0, 99));
    net.run_for(secs(1));
    let hub = net.nodes[0].engine.traffic(IF).unwrap();
    assert_eq!(hub.rcvd.registration_request, 2);
    assert_eq!(hub.sent.registration_reply, 2);
    assert_eq!(hub.sent.registration_reply_codes.get(&0), Some(&2));
    assert_eq!(hub.rcvd.resolution_request, 2);
    assert_eq!(hub.sent.resolution_reply_codes.get(&0), Some(&1));
    assert_eq!(hub.sent.resolution_reply_codes.get(&12), Some(&1));
    assert_eq!(hub.sent.total, 4);
    let s = net.nodes[S1].engine.traffic(IF).unwrap();
    assert_eq!(s.sent.of(PacketType::ResolutionRequest), 2);
    assert_eq!(s.rcvd.of(PacketType::RegistrationReply), 1);
}

#[test]
fn clear_dynamic_keeps_static_and_clear_all_reinstalls_static() {
    let mut net = hub_and_spokes(3);
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    let now = net.now;
    let r = net.nodes[S1]
        .engine
        .clear(now, ClearRequest::Dynamic { iface: None });
    assert_eq!(r.removed, 1);
    net.drain();
    let kinds: Vec<EntryKind> = net.nodes[S1]
        .engine
        .cache_entries(None)
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, vec![EntryKind::Static]);
    assert!(net.effects(S1).contains(&Action::MappingRemove {
        iface: IF,
        proto: ip(10, 0, 0, 3),
        nbma: ip(172, 16, 3, 1)
    }));
    let r = net.nodes[S1]
        .engine
        .clear(now, ClearRequest::All { iface: Some(IF) });
    assert_eq!(r.removed, 1);
    net.drain();
    assert_eq!(
        net.nodes[S1].engine.cache_entries(None).len(),
        1,
        "static map reinstalled"
    );
    // One entry on the hub.
    let r = net.nodes[0].engine.clear(
        now,
        ClearRequest::Entry {
            iface: IF,
            proto: ip(10, 0, 0, 3),
        },
    );
    assert_eq!(r.removed, 1);
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 3))).is_none());
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
}

#[test]
fn protection_gate_holds_nhrp_until_protection_is_up() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.protection_required = true;
    net.add(c);
    net.nodes[S1].auto_protect = false;
    net.run_for(secs(5));
    assert!(net.effects(S1).contains(&Action::ProtectionNeeded {
        iface: IF,
        nbma: HUB_NBMA
    }));
    assert!(
        net.wire.iter().all(|p| p.from != S1),
        "nothing leaves before protection"
    );
    assert_eq!(
        net.nodes[S1].engine.traffic(IF).unwrap().protection_queued,
        3,
        "sent at 0, 1 and 3 s"
    );
    let now = net.now;
    net.nodes[S1].engine.handle_protection(now, HUB_NBMA, true);
    net.run_for(secs(1));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
    assert_eq!(net.nodes[S1].engine.nhs_status(None)[0].state, NhsState::Up);
}

#[test]
fn garbage_and_truncations_never_panic_and_are_counted() {
    let mut net = hub_and_spokes(2);
    let good = net.sent(S1, PacketType::RegistrationRequest)[0]
        .bytes
        .clone();
    for n in 0..good.len() {
        net.inject(0, ip(172, 16, 2, 1), &good[..n]);
    }
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        let mut b = good.clone();
        for _ in 0..4 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x as usize >> 8) % b.len();
            b[i] = (x >> 24) as u8;
        }
        net.inject(0, ip(172, 16, 2, 1), &b);
        net.inject(S1, HUB_NBMA, &b);
    }
    let drops = net.nodes[0].engine.traffic(IF).unwrap().drops;
    assert!(drops.get(&DropReason::Malformed).copied().unwrap_or(0) >= good.len() as u64);
    net.run_for(secs(400));
}

#[test]
fn same_seed_same_trace() {
    let run = |seed: u64| {
        let mut net = Net::new();
        net.add_seeded(hub_cfg(), seed);
        net.add_seeded(spoke_cfg(2), seed + 1);
        net.add_seeded(spoke_cfg(3), seed + 2);
        net.run_for(secs(2));
        net.traffic(1, ip(10, 0, 0, 3));
        net.run_for(secs(700));
        net.wire
            .iter()
            .map(|p| (p.at, p.from, p.to_nbma, p.bytes.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "the seed picks the Request IDs");
}

#[test]
fn protection_down_asks_again_for_peers_in_use() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.protection_required = true;
    net.add(c);
    net.run_for(secs(2));
    let needed = |net: &Net| {
        net.effects(S1)
            .iter()
            .filter(|a| {
                **a == Action::ProtectionNeeded {
                    iface: IF,
                    nbma: HUB_NBMA,
                }
            })
            .count()
    };
    assert_eq!(needed(&net), 1);
    net.nodes[S1].auto_protect = false;
    let now = net.now;
    net.nodes[S1].engine.handle_protection(now, HUB_NBMA, false);
    net.drain();
    assert_eq!(needed(&net), 2, "the NHS is still needed");
    // Until it is back, refreshes wait behind the gate.
    let before = net.wire.iter().filter(|p| p.from == S1).count();
    net.run_for(secs(120));
    assert_eq!(net.wire.iter().filter(|p| p.from == S1).count(), before);
    assert!(net.nodes[S1].engine.traffic(IF).unwrap().protection_queued > 0);
}

#[test]
fn registering_the_hubs_own_address_is_prohibited() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.protocol_addr = HUB_PROTO;
    net.add(c);
    net.run_for(secs(2));
    let r = net.sent(0, PacketType::RegistrationReply)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(r.cies[0].code, dmvpn_nhrp::packet::code::PROHIBITED);
    assert!(net.events(S1).contains(&Event::RegistrationRefused {
        iface: IF,
        nhs: HUB_PROTO,
        code: 4
    }));
}

#[test]
fn clear_and_purge_outputs_are_in_a_stable_order() {
    let run = || {
        let mut net = hub_and_spokes(6);
        for d in 3..=6u8 {
            net.traffic(S1, ip(10, 0, 0, d));
        }
        net.run_for(secs(1));
        let now = net.now;
        net.nodes[S1]
            .engine
            .clear(now, ClearRequest::Dynamic { iface: None });
        net.nodes[0]
            .engine
            .clear(now, ClearRequest::Dynamic { iface: None });
        net.drain();
        (net.effects(S1), net.effects(0))
    };
    let first = run();
    for _ in 0..5 {
        assert_eq!(run(), first);
    }
}

#[test]
fn pending_resolutions_are_bounded() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.max_send = None;
    net.add(c);
    net.run_for(secs(1));
    net.nodes[0].down = true;
    for k in 0..1100u32 {
        let dst = std::net::Ipv4Addr::from(0x0a01_0000 + k);
        net.traffic(S1, dst);
    }
    assert_eq!(
        net.nodes[S1].engine.pending_requests(),
        dmvpn_nhrp::MAX_PENDING_RESOLUTIONS
    );
    let t = net.nodes[S1].engine.traffic(IF).unwrap();
    assert_eq!(t.resolutions_suppressed, 76);
    // Traffic still flows via the NHS meanwhile.
    assert_eq!(net.traffic(S1, ip(10, 1, 9, 9)), Lookup::ViaNhs(HUB_NBMA));
}

#[test]
fn reconfiguration_keeps_what_did_not_change() {
    let mut net = hub_and_spokes(3);
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    let regs = net.sent(S1, PacketType::RegistrationRequest).len();
    let log = net.nodes[S1].log.len();
    // An unrelated change (shortcut on, a new static map, multicast to the NHS).
    let mut c = spoke_cfg(2);
    c.shortcut = true;
    c.static_maps.push(dmvpn_nhrp::StaticMap {
        protocol: Prefix::host(ip(10, 0, 0, 50)),
        nbma: ip(172, 16, 50, 1),
    });
    c.multicast.push(dmvpn_nhrp::MulticastMap::Nhs);
    let now = net.now;
    net.nodes[S1]
        .engine
        .update_config(
            now,
            EngineConfig {
                interfaces: vec![c.clone()],
            },
        )
        .unwrap();
    net.drain();
    let new_actions: Vec<Action> = net.nodes[S1].log[log..]
        .iter()
        .map(|(_, a)| a.clone())
        .filter(|a| !matches!(a, Action::Event(_)))
        .collect();
    assert_eq!(
        new_actions,
        vec![
            Action::MappingAdd {
                iface: IF,
                proto: ip(10, 0, 0, 50),
                nbma: ip(172, 16, 50, 1)
            },
            Action::MulticastAdd {
                iface: IF,
                nbma: HUB_NBMA
            },
        ]
    );
    assert_eq!(net.nodes[S1].engine.nhs_status(None)[0].state, NhsState::Up);
    assert_eq!(
        net.traffic(S1, ip(10, 0, 0, 3)),
        Lookup::Direct(ip(172, 16, 3, 1)),
        "dynamic entries kept"
    );
    net.run_for(secs(5));
    assert_eq!(
        net.sent(S1, PacketType::RegistrationRequest).len(),
        regs,
        "no re-registration"
    );
    // Removing the static map and the NHS multicast undoes exactly that.
    let log = net.nodes[S1].log.len();
    let mut c2 = c.clone();
    c2.static_maps.pop();
    c2.multicast.clear();
    let now = net.now;
    net.nodes[S1]
        .engine
        .update_config(
            now,
            EngineConfig {
                interfaces: vec![c2],
            },
        )
        .unwrap();
    net.drain();
    let new_actions: Vec<Action> = net.nodes[S1].log[log..]
        .iter()
        .map(|(_, a)| a.clone())
        .filter(|a| !matches!(a, Action::Event(_)))
        .collect();
    assert_eq!(
        new_actions,
        vec![
            Action::MappingRemove {
                iface: IF,
                proto: ip(10, 0, 0, 50),
                nbma: ip(172, 16, 50, 1)
            },
            Action::MulticastRemove {
                iface: IF,
                nbma: HUB_NBMA
            },
        ]
    );
    // A changed holdtime re-registers at once.
    let mut c3 = spoke_cfg(2);
    c3.holdtime = secs(600);
    let now = net.now;
    net.nodes[S1]
        .engine
        .update_config(
            now,
            EngineConfig {
                interfaces: vec![c3],
            },
        )
        .unwrap();
    net.run_for(secs(1));
    let regs_now = net.sent(S1, PacketType::RegistrationRequest);
    assert_eq!(regs_now.len(), regs + 1);
    assert_eq!(
        regs_now.last().unwrap().msg.as_ref().unwrap().cies[0].holding_time,
        600
    );
}

#[test]
fn clearing_a_handed_out_binding_on_the_hub_purges_the_learner() {
    let mut net = hub_and_spokes(3);
    net.traffic(S1, ip(10, 0, 0, 3));
    net.run_for(secs(1));
    let now = net.now;
    let r = net.nodes[0].engine.clear(
        now,
        ClearRequest::Entry {
            iface: IF,
            proto: ip(10, 0, 0, 3),
        },
    );
    assert_eq!(r.removed, 1);
    net.run_for(secs(1));
    let purge = net.sent(0, PacketType::PurgeRequest);
    assert_eq!(purge.len(), 1);
    assert_eq!(purge[0].to_nbma, ip(172, 16, 2, 1));
    assert!(net.entry(S1, Prefix::host(ip(10, 0, 0, 3))).is_none());
    assert_eq!(net.nodes[0].engine.pending_requests(), 0, "purge answered");
}

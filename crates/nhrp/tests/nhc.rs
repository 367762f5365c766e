//! NHC (spoke) behaviour: registration, refresh, retransmission, NHS state, unique flag,
//! code-14 recovery, NBMA change, dual NHS with priority.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::flags;
use dmvpn_nhrp::{
    Action, EntryFlags, Event, NhsConfig, NhsState, PacketType, Prefix, StaticMap, TunnelRoute,
};

#[test]
fn spoke_registers_and_hub_caches_with_seed_flags() {
    let net = hub_and_spokes(2);
    let regs = net.sent(1, PacketType::RegistrationRequest);
    assert_eq!(regs.len(), 1);
    let m = regs[0].msg.as_ref().unwrap();
    assert_eq!(
        m.hop_count, 1,
        "registration hop count must not be 0 towards Cisco"
    );
    assert_eq!(regs[0].bytes.len(), 92, "FRR/Cisco-sized registration");
    assert_ne!(m.flags & flags::REG_U, 0);
    assert_eq!(regs[0].to_nbma, HUB_NBMA);
    let e = net
        .entry(0, Prefix::host(ip(10, 0, 0, 2)))
        .expect("hub entry");
    assert_eq!(e.nbma, Some(ip(172, 16, 2, 1)));
    assert_eq!(e.kind, dmvpn_nhrp::EntryKind::Dynamic);
    for f in [
        EntryFlags::AUTHORITATIVE,
        EntryFlags::UNIQUE,
        EntryFlags::REGISTERED,
    ] {
        assert!(e.flags.contains(f), "{:?}", e.flag_names);
    }
    assert_eq!(e.expires, Some(e.created + secs(300)));
    let nhs = net.nodes[1].engine.nhs_status(None);
    assert_eq!(nhs[0].state, NhsState::Up);
    assert!(net.events(1).contains(&Event::NhsUp {
        iface: IF,
        nhs: HUB_PROTO
    }));
    assert!(net.effects(0).contains(&Action::MappingAdd {
        iface: IF,
        proto: ip(10, 0, 0, 2),
        nbma: ip(172, 16, 2, 1)
    }));
}

#[test]
fn refresh_at_a_third_of_holdtime_or_registration_timeout() {
    let mut net = hub_and_spokes(2);
    net.run_until(at(650));
    let times: Vec<u64> = net
        .sent(1, PacketType::RegistrationRequest)
        .iter()
        .map(|p| p.at.as_millis() / 1000)
        .collect();
    // A third of the holdtime, spread by jitter to 90-100 % of it (never later).
    assert_eq!(times.len(), 7, "{times:?}");
    assert!(
        times
            .windows(2)
            .all(|w| (90..=100).contains(&(w[1] - w[0]))),
        "{times:?}"
    );
    assert!(
        times.windows(2).any(|w| w[1] - w[0] < 100),
        "no jitter at all: {times:?}"
    );
    // The hub entry never expired.
    assert!(
        !net.events(0)
            .iter()
            .any(|e| matches!(e, Event::CacheRemoved { .. }))
    );

    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.registration_timeout = Some(secs(30));
    net.add(c);
    net.run_until(at(95));
    let times: Vec<u64> = net
        .sent(1, PacketType::RegistrationRequest)
        .iter()
        .map(|p| p.at.as_millis() / 1000)
        .collect();
    assert_eq!(times.len(), 4, "{times:?}");
    assert!(
        times.windows(2).all(|w| (27..=30).contains(&(w[1] - w[0]))),
        "{times:?}"
    );
}

#[test]
fn retransmits_on_the_seed_schedule_then_down_then_up() {
    let mut net = Net::new();
    net.add(hub_cfg());
    net.add(spoke_cfg(2));
    net.nodes[0].down = true;
    net.run_until(at(300));
    let times: Vec<u64> = net
        .sent(1, PacketType::RegistrationRequest)
        .iter()
        .map(|p| p.at.as_millis() / 1000)
        .collect();
    assert_eq!(times, vec![0, 1, 3, 7, 15, 31, 63, 127, 191, 255]);
    let reqids: Vec<u32> = net
        .sent(1, PacketType::RegistrationRequest)
        .iter()
        .map(|p| p.msg.as_ref().unwrap().request_id)
        .collect();
    assert!(
        reqids.windows(2).all(|w| w[0] == w[1]),
        "retransmissions keep the request id"
    );
    let down_at = net.nodes[1]
        .log
        .iter()
        .find(|(_, a)| matches!(a, Action::Event(Event::NhsDown { .. })))
        .map(|(t, _)| t.as_millis() / 1000);
    assert_eq!(down_at, Some(7), "DOWN once three requests are unanswered");
    assert_eq!(
        net.nodes[1].engine.nhs_status(None)[0].state,
        NhsState::Down
    );
    net.nodes[0].down = false;
    net.run_until(at(330));
    assert_eq!(net.nodes[1].engine.nhs_status(None)[0].state, NhsState::Up);
    assert!(net.events(1).contains(&Event::NhsUp {
        iface: IF,
        nhs: HUB_PROTO
    }));
}

#[test]
fn no_unique_clears_the_flag() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut c = spoke_cfg(2);
    c.registration_no_unique = true;
    net.add(c);
    net.run_for(secs(2));
    let m = net.sent(1, PacketType::RegistrationRequest)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(m.flags & flags::REG_U, 0);
    assert_eq!(m.cies[0].prefix_len, 32);
    let e = net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap();
    assert!(!e.flags.contains(EntryFlags::UNIQUE));
}

#[test]
fn nbma_change_reregisters_and_code_14_purges_then_reregisters() {
    let mut net = hub_and_spokes(2);
    let new = ip(172, 16, 99, 1);
    net.nodes[1].nbma = new;
    net.nodes[1].public = new;
    let now = net.now;
    net.nodes[1].engine.handle_nbma_change(now, IF, new);
    net.run_for(secs(5));
    let regs = net.sent(1, PacketType::RegistrationRequest);
    assert!(
        regs.len() >= 3,
        "initial, after the change, after the purge"
    );
    assert!(net.events(1).contains(&Event::RegistrationRefused {
        iface: IF,
        nhs: HUB_PROTO,
        code: 14
    }));
    let purge = net.sent(1, PacketType::PurgeRequest);
    assert_eq!(purge.len(), 1);
    assert_ne!(
        purge[0].msg.as_ref().unwrap().flags & flags::N,
        0,
        "code-14 purge wants no reply"
    );
    assert!(net.sent(0, PacketType::PurgeReply).is_empty());
    let e = net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap();
    assert_eq!(e.nbma, Some(new), "re-registered from the new NBMA");
    assert_eq!(net.nodes[1].engine.nhs_status(None)[0].state, NhsState::Up);
    assert!(
        net.events(1)
            .iter()
            .filter(|e| matches!(e, Event::RegistrationAccepted { .. }))
            .count()
            >= 2
    );
}

#[test]
fn a_source_that_comes_back_registers_at_once_even_with_the_same_address() {
    let mut net = hub_and_spokes(2);
    let before = net.sent(1, PacketType::RegistrationRequest).len();
    // The uplink went down and came back with the address it had (link flap, interface
    // created again): the refresh timer (holdtime / 3) is not waited for.
    let (now, nbma) = (net.now, net.nodes[1].nbma);
    net.nodes[1].engine.handle_source_up(now, IF, nbma);
    net.run_for(secs(1));
    assert_eq!(
        net.sent(1, PacketType::RegistrationRequest).len(),
        before + 1,
        "one Registration Request at once"
    );
    assert!(
        net.sent(1, PacketType::PurgeRequest).is_empty(),
        "the same address: nobody to tell"
    );
}

#[test]
fn dual_hub_priority_and_fallback() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut h2 = hub_cfg();
    h2.protocol_addr = ip(10, 0, 0, 254);
    h2.nbma_addr = ip(172, 17, 0, 2);
    net.add(h2);
    let mut s = spoke_cfg(2);
    s.nhs = vec![
        NhsConfig {
            protocol: ip(10, 0, 0, 254),
            nbma: Some(ip(172, 17, 0, 2)),
            priority: 1,
        },
        NhsConfig {
            protocol: HUB_PROTO,
            nbma: None,
            priority: 0,
        },
    ];
    net.add(s);
    net.run_for(secs(2));
    assert!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some(),
        "registered with hub 1"
    );
    assert!(
        net.entry(1, Prefix::host(ip(10, 0, 0, 2))).is_some(),
        "registered with hub 2"
    );
    let st = net.nodes[2].engine.nhs_status(None);
    let active: Vec<_> = st.iter().filter(|n| n.active).map(|n| n.protocol).collect();
    assert_eq!(active, vec![HUB_PROTO], "priority 0 preferred");
    assert_eq!(
        net.traffic(2, ip(10, 0, 0, 77)),
        dmvpn_nhrp::Lookup::ViaNhs(HUB_NBMA)
    );
    net.run_for(secs(1));
    assert_eq!(
        net.sent(2, PacketType::ResolutionRequest)[0].to_nbma,
        HUB_NBMA
    );
    // Hub 1 dies; after it is DOWN, resolutions go to hub 2.
    net.nodes[0].down = true;
    let t = net.now + secs(110);
    net.run_until(t);
    let st = net.nodes[2].engine.nhs_status(None);
    assert_eq!(
        st.iter().find(|n| n.protocol == HUB_PROTO).unwrap().state,
        NhsState::Down
    );
    assert_eq!(
        net.traffic(2, ip(10, 0, 0, 78)),
        dmvpn_nhrp::Lookup::ViaNhs(ip(172, 17, 0, 2))
    );
    net.run_for(secs(1));
    let last = net
        .sent(2, PacketType::ResolutionRequest)
        .last()
        .map(|p| p.to_nbma);
    assert_eq!(last, Some(ip(172, 17, 0, 2)));
}

/// Seed 003's dual hub: a Resolution Request sent to the primary NHS just before it died is
/// retransmitted to the secondary once the primary is DOWN, instead of going on at the dead
/// hub until the schedule gives up (31 s) and leaving a failed resolution behind.
#[test]
fn a_resolution_pending_at_an_nhs_that_goes_down_moves_to_the_next() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let h2_nbma = ip(172, 17, 0, 2);
    let mut h2 = hub_cfg();
    h2.protocol_addr = ip(10, 0, 0, 254);
    h2.nbma_addr = h2_nbma;
    // The second hub routes spoke 3's LAN to spoke 3 (as the routing protocol would).
    h2.routes.push(TunnelRoute {
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3),
    });
    net.add(h2);
    for n in [2, 3] {
        let mut s = spoke_cfg(n);
        s.registration_timeout = Some(secs(5));
        s.nhs = vec![
            NhsConfig {
                protocol: HUB_PROTO,
                nbma: None,
                priority: 1,
            },
            NhsConfig {
                protocol: ip(10, 0, 0, 254),
                nbma: Some(h2_nbma),
                priority: 2,
            },
        ];
        net.add(s);
    }
    net.run_for(secs(2));
    assert!(net.entry(1, Prefix::host(ip(10, 0, 0, 3))).is_some());
    // The primary dies; spoke 2 resolves spoke 3's LAN through it before noticing.
    net.nodes[0].down = true;
    let t0 = net.now;
    assert_eq!(
        net.traffic(2, ip(192, 168, 3, 10)),
        dmvpn_nhrp::Lookup::ViaNhs(HUB_NBMA)
    );
    net.run_until(t0 + secs(20));
    let down_at = net.nodes[2]
        .log
        .iter()
        .find(|(_, a)| matches!(a, Action::Event(Event::NhsDown { nhs, .. }) if *nhs == HUB_PROTO))
        .map(|(t, _)| *t)
        .expect("the primary NHS went DOWN");
    let requests = net.sent(2, PacketType::ResolutionRequest);
    assert_eq!(requests[0].to_nbma, HUB_NBMA);
    assert!(
        requests
            .iter()
            .filter(|p| p.at > down_at)
            .all(|p| p.to_nbma == h2_nbma),
        "retransmissions after the primary went DOWN still go to it"
    );
    let lan3 = Prefix::new(ip(192, 168, 3, 0), 24).unwrap();
    let entry = net
        .entry(2, lan3)
        .expect("spoke 3's LAN resolved via the second hub");
    assert_eq!(entry.nbma, Some(ip(172, 16, 3, 1)));
    assert!(
        !net.events(2)
            .iter()
            .any(|e| matches!(e, Event::ResolutionFailed { .. })),
        "{:?}",
        net.events(2)
    );
}

#[test]
fn nhs_nbma_from_nhs_command_installs_static_entry() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut s = spoke_cfg(2);
    s.static_maps.clear();
    s.nhs = vec![NhsConfig {
        protocol: HUB_PROTO,
        nbma: Some(HUB_NBMA),
        priority: 0,
    }];
    net.add(s);
    net.run_for(secs(2));
    let e = net.entry(1, Prefix::host(HUB_PROTO)).unwrap();
    assert_eq!(e.kind, dmvpn_nhrp::EntryKind::Static);
    assert_eq!(net.nodes[1].engine.nhs_status(None)[0].state, NhsState::Up);
    let _ = StaticMap {
        protocol: Prefix::host(HUB_PROTO),
        nbma: HUB_NBMA,
    };
}

#[test]
fn max_connections_registers_with_the_best_and_falls_back() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let mut h2 = hub_cfg();
    h2.protocol_addr = ip(10, 0, 0, 254);
    h2.nbma_addr = ip(172, 17, 0, 2);
    net.add(h2);
    let mut s = spoke_cfg(2);
    s.nhs = vec![
        NhsConfig {
            protocol: HUB_PROTO,
            nbma: None,
            priority: 0,
        },
        NhsConfig {
            protocol: ip(10, 0, 0, 254),
            nbma: Some(ip(172, 17, 0, 2)),
            priority: 1,
        },
    ];
    s.nhs_max_connections = Some(1);
    let k = net.add(s);
    net.run_for(secs(2));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
    assert!(
        net.entry(1, Prefix::host(ip(10, 0, 0, 2))).is_none(),
        "only the preferred NHS"
    );
    // The preferred NHS dies: after it is DOWN, the spoke registers with the next one.
    net.nodes[0].down = true;
    net.run_until(at(110));
    assert!(
        net.entry(1, Prefix::host(ip(10, 0, 0, 2))).is_some(),
        "fell back to NHS 2"
    );
    let st = net.nodes[k].engine.nhs_status(None);
    assert_eq!(st[0].state, NhsState::Down);
    assert_eq!(st[1].state, NhsState::Up);
    // It comes back: the spoke returns to it and stops refreshing the fallback.
    net.nodes[0].down = false;
    net.run_until(at(300));
    let st = net.nodes[k].engine.nhs_status(None);
    assert_eq!(st[0].state, NhsState::Up);
    assert_eq!(st[1].state, NhsState::Expecting);
    let to_h2 = |net: &Net| {
        net.sent(k, PacketType::RegistrationRequest)
            .iter()
            .filter(|p| p.to_nbma == ip(172, 17, 0, 2))
            .count()
    };
    let n = to_h2(&net);
    net.run_until(at(1000));
    assert_eq!(to_h2(&net), n, "no more registrations to the fallback");
}

#[test]
fn shutdown_purges_the_registration_and_stops_refreshing() {
    let mut net = hub_and_spokes(2);
    let now = net.now;
    net.nodes[1].engine.shutdown(now);
    net.run_for(secs(1));
    let purge = net.sent(1, PacketType::PurgeRequest);
    assert_eq!(purge.len(), 1);
    assert_eq!(purge[0].to_nbma, HUB_NBMA);
    assert!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_none(),
        "the hub forgot us at once"
    );
    let before = net.sent(1, PacketType::RegistrationRequest).len();
    net.run_for(secs(500));
    assert_eq!(net.sent(1, PacketType::RegistrationRequest).len(), before);
    assert_eq!(net.nodes[1].engine.pending_requests(), 0);
}

#[test]
fn spurious_and_early_timeouts_do_nothing() {
    let mut net = hub_and_spokes(2);
    let e = &mut net.nodes[1].engine;
    while e.poll_action().is_some() {}
    let next = e.poll_timeout().expect("a refresh is scheduled");
    let now = net.now;
    for _ in 0..3 {
        e.handle_timeout(now);
        e.handle_timeout(next.saturating_sub(secs(1)));
    }
    assert!(e.poll_action().is_none(), "no output before the deadline");
    assert_eq!(e.poll_timeout(), Some(next));
}

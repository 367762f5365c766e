//! Phase 3: redirect (Traffic Indication), rate limit, shortcut install, refresh and expiry.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::{Action, Event, Lookup, PacketType, Prefix, TunnelRoute};

const S1: usize = 1;
const S2: usize = 2;

fn phase3() -> Net {
    let mut h = hub_cfg();
    h.redirect = true;
    for n in [2u8, 3] {
        h.routes.push(TunnelRoute {
            prefix: spoke_lan(n),
            next_hop: ip(10, 0, 0, n),
        });
    }
    let mut net = Net::new();
    net.add(h);
    for n in [2u8, 3] {
        let mut c = spoke_cfg(n);
        c.shortcut = true;
        net.add(c);
    }
    net.run_for(secs(2));
    net
}

fn hairpin(net: &mut Net, src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr) {
    let now = net.now;
    let pkt = ipv4_packet(src, dst);
    net.nodes[0].engine.handle_hairpin(now, IF, src, dst, &pkt);
    net.drain();
}

#[test]
fn redirect_resolution_shortcut_sequence() {
    let mut net = phase3();
    let (h1, h2) = (ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    hairpin(&mut net, h1, h2);
    let ti = net.sent(0, PacketType::TrafficIndication);
    assert_eq!(ti.len(), 1);
    assert_eq!(
        ti[0].to_nbma,
        ip(172, 16, 2, 1),
        "sent to the source's spoke"
    );
    let m = ti[0].msg.clone().unwrap();
    assert_eq!(m.hop_count, 1, "never 0 towards Cisco");
    assert_eq!(
        m.dst_proto, h1,
        "destination protocol address = the packet's source"
    );
    assert_eq!(m.error_code(), 0, "traffic code redirect");
    assert_eq!(m.payload, ipv4_packet(h1, h2));
    assert!(net.events(0).contains(&Event::RedirectSent {
        iface: IF,
        src: h1,
        dst: h2
    }));
    // Rate limit per pair: a second hairpin at once sends nothing; another pair does.
    hairpin(&mut net, h1, h2);
    assert_eq!(net.sent(0, PacketType::TrafficIndication).len(), 1);
    hairpin(&mut net, h2, h1);
    assert_eq!(net.sent(0, PacketType::TrafficIndication).len(), 2);
    net.run_for(secs(2));
    // Spoke 1 resolved 192.168.3.3 through the hub; spoke 2 answered for its /24.
    let req = net.sent(S1, PacketType::ResolutionRequest);
    assert_eq!(req[0].msg.as_ref().unwrap().dst_proto, h2);
    assert!(!net.sent(S2, PacketType::ResolutionReply).is_empty());
    assert!(net.effects(S1).contains(&Action::ShortcutAdd {
        iface: IF,
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3)
    }));
    assert!(net.effects(S1).contains(&Action::MappingAdd {
        iface: IF,
        proto: ip(10, 0, 0, 3),
        nbma: ip(172, 16, 3, 1)
    }));
    assert!(net.effects(S2).contains(&Action::ShortcutAdd {
        iface: IF,
        prefix: spoke_lan(2),
        next_hop: ip(10, 0, 0, 2)
    }));
    assert_eq!(
        net.traffic(S1, h2),
        Lookup::Direct(ip(172, 16, 3, 1)),
        "the shortcut overrides the hub path"
    );
    let sc = net.nodes[S1].engine.shortcuts(None);
    assert_eq!(sc.len(), 1);
    assert_eq!(sc[0].prefix, spoke_lan(3));
    // After the holdoff the pair may be redirected again.
    net.run_for(secs(5));
    hairpin(&mut net, h1, h2);
    assert_eq!(net.sent(0, PacketType::TrafficIndication).len(), 3);
}

#[test]
fn shortcut_is_refreshed_while_used_and_expires_when_not() {
    let mut net = phase3();
    let (h1, h2) = (ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    hairpin(&mut net, h1, h2);
    net.run_for(secs(2));
    let exp = net.nodes[S1].engine.shortcuts(None)[0].expires.unwrap();
    // Keep using it through the last minute: it is refreshed.
    net.run_until(exp.saturating_sub(secs(30)));
    net.traffic(S1, h2);
    net.run_for(secs(2));
    let sc = net.nodes[S1].engine.shortcuts(None);
    assert_eq!(sc.len(), 1);
    assert!(sc[0].expires.unwrap() > exp + secs(200));
    let req = net.sent(S1, PacketType::ResolutionRequest);
    assert_eq!(req.len(), 2);
    assert_eq!(
        req[1].msg.as_ref().unwrap().dst_proto,
        h2,
        "the refresh resolves the destination again"
    );
    // Unused: expires and the route is withdrawn.
    net.run_for(secs(400));
    assert!(net.nodes[S1].engine.shortcuts(None).is_empty());
    assert!(net.effects(S1).contains(&Action::ShortcutRemove {
        iface: IF,
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3)
    }));
}

#[test]
fn traffic_indication_without_shortcut_is_dropped_and_no_redirect_without_redirect() {
    let mut net = hub_and_spokes(3);
    hairpin(&mut net, ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    assert!(
        net.sent(0, PacketType::TrafficIndication).is_empty(),
        "hub without ip nhrp redirect"
    );
    let mut m = dmvpn_nhrp::Message::new(
        PacketType::TrafficIndication,
        1,
        HUB_NBMA,
        HUB_PROTO,
        ip(192, 168, 2, 2),
    );
    m.payload = ipv4_packet(ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    net.inject(S1, HUB_NBMA, &dmvpn_nhrp::codec::encode(&m).unwrap());
    assert!(net.sent(S1, PacketType::ResolutionRequest).is_empty());
    let drops = net.nodes[S1].engine.traffic(IF).unwrap().drops;
    assert_eq!(drops.get(&dmvpn_nhrp::DropReason::NotEnabled), Some(&1));
    let _ = Prefix::host(HUB_PROTO);
}

#[test]
fn hairpin_with_known_source_peer_needs_no_route() {
    let mut h = hub_cfg();
    h.redirect = true;
    let mut net = Net::new();
    net.add(h);
    for n in [2u8, 3] {
        let mut c = spoke_cfg(n);
        c.shortcut = true;
        net.add(c);
    }
    net.run_for(secs(2));
    let (h1, h2) = (ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    hairpin(&mut net, h1, h2);
    assert!(
        net.sent(0, PacketType::TrafficIndication).is_empty(),
        "no route, no binding for the source"
    );
    let now = net.now;
    let pkt = ipv4_packet(h1, h2);
    net.nodes[0]
        .engine
        .handle_hairpin_from(now, IF, ip(172, 16, 2, 1), h1, h2, &pkt);
    net.drain();
    let ti = net.sent(0, PacketType::TrafficIndication);
    assert_eq!(ti.len(), 1);
    assert_eq!(ti[0].to_nbma, ip(172, 16, 2, 1));
}

#[test]
fn responder_keeps_local_records_and_purges_them_when_the_network_goes() {
    let mut net = phase3();
    let (h1, h2) = (ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    hairpin(&mut net, h1, h2);
    net.run_for(secs(2));
    let local = net
        .entry(S2, spoke_lan(3))
        .expect("local record on the responder");
    assert_eq!(local.flag_names, vec!["unique", "router", "local"]);
    assert_eq!(
        net.traffic(S2, h2),
        Lookup::ViaNhs(HUB_NBMA),
        "a local record is no binding"
    );
    assert!(
        !net.effects(S2)
            .iter()
            .any(|a| matches!(a, Action::ShortcutAdd { prefix, .. } if *prefix == spoke_lan(3)))
    );
    // Spoke 2 stops announcing its LAN: spoke 1's shortcut is purged.
    let mut cfg = spoke_cfg(3);
    cfg.shortcut = true;
    cfg.local_networks.clear();
    let now = net.now;
    net.nodes[S2]
        .engine
        .update_config(
            now,
            dmvpn_nhrp::EngineConfig {
                interfaces: vec![cfg],
            },
        )
        .unwrap();
    net.run_for(secs(1));
    let purge = net.sent(S2, PacketType::PurgeRequest);
    assert_eq!(purge.len(), 1);
    assert_eq!(purge[0].to_nbma, ip(172, 16, 2, 1));
    assert!(net.effects(S1).contains(&Action::ShortcutRemove {
        iface: IF,
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3)
    }));
    assert!(net.nodes[S1].engine.shortcuts(None).is_empty());
    assert_eq!(net.sent(S1, PacketType::PurgeReply).len(), 1);
}

#[test]
fn a_redirect_overrides_an_old_negative_entry() {
    let mut net = phase3();
    let (h1, h2) = (ip(192, 168, 2, 2), ip(192, 168, 3, 3));
    // Spoke 2 is away: the first redirect's resolution is answered negatively.
    net.nodes[S2].down = true;
    let now = net.now;
    let mut cfg = net.nodes[0].engine.config();
    cfg.interfaces[0].routes.clear();
    net.nodes[0].engine.update_config(now, cfg.clone()).unwrap();
    redirect(&mut net, h1, h2);
    net.run_for(secs(2));
    assert_eq!(
        net.entry(S1, Prefix::host(h2)).unwrap().kind,
        dmvpn_nhrp::EntryKind::Negative
    );
    // A redirect right away is ignored; after the minimum negative hold it resolves again.
    redirect(&mut net, h1, h2);
    net.run_for(secs(6));
    redirect(&mut net, h1, h2);
    net.run_for(secs(1));
    assert_eq!(net.sent(S1, PacketType::ResolutionRequest).len(), 1);
    net.nodes[S2].down = false;
    cfg.interfaces[0].routes.push(TunnelRoute {
        prefix: spoke_lan(3),
        next_hop: ip(10, 0, 0, 3),
    });
    let now = net.now;
    net.nodes[0].engine.update_config(now, cfg).unwrap();
    net.run_for(secs(10));
    redirect(&mut net, h1, h2);
    net.run_for(secs(2));
    assert_eq!(net.sent(S1, PacketType::ResolutionRequest).len(), 2);
    assert_eq!(net.traffic(S1, h2), Lookup::Direct(ip(172, 16, 3, 1)));
}

/// A hairpin whose source peer the data plane knows (no route needed on the hub).
fn redirect(net: &mut Net, src: std::net::Ipv4Addr, dst: std::net::Ipv4Addr) {
    let now = net.now;
    let pkt = ipv4_packet(src, dst);
    net.nodes[0]
        .engine
        .handle_hairpin_from(now, IF, ip(172, 16, 2, 1), src, dst, &pkt);
    net.drain();
}

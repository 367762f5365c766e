//! Interop with real Cisco/OpenNHRP packets from the shared tcpdump captures: the engine
//! accepts them, answers them, and its answers carry what the real peers' answers carry.
//! Skips (with a visible message) when the shared directory is absent, unless
//! `DMVPN_REQUIRE_SHARED=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::{
    Action, DropReason, EngineConfig, EntryFlags, Event, InterfaceConfig, NhsConfig, PacketType,
    Prefix,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// The NHRP packets of a shared capture, with their outer source, or None when absent.
fn capture(name: &str) -> Option<Vec<(Ipv4Addr, Vec<u8>)>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/tcpdump");
    let path = root.join(name);
    if !path.exists() {
        if std::env::var("DMVPN_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!("shared capture {name} is missing");
        }
        eprintln!("SKIP: shared capture {name} not found");
        return None;
    }
    let frames = dmvpn_capture::NhrpFrames::open(&path).expect("open capture");
    Some(
        frames
            .map(|f| f.expect("frame"))
            .map(|f| {
                let src = match f.src {
                    Some(IpAddr::V4(a)) => a,
                    _ => Ipv4Addr::UNSPECIFIED,
                };
                (src, f.nhrp)
            })
            .collect(),
    )
}

fn engine(cfg: InterfaceConfig) -> dmvpn_nhrp::Engine {
    let mut e = dmvpn_nhrp::Engine::new(
        EngineConfig {
            interfaces: vec![cfg],
        },
        1,
    )
    .unwrap();
    e.handle_timeout(at(0));
    while e.poll_action().is_some() {}
    e
}

fn drain(e: &mut dmvpn_nhrp::Engine) -> Vec<Action> {
    std::iter::from_fn(|| e.poll_action()).collect()
}

fn sends(actions: &[Action]) -> Vec<(Ipv4Addr, dmvpn_nhrp::Message)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to_nbma, bytes, .. } => Some((
                *to_nbma,
                dmvpn_nhrp::codec::decode(bytes).expect("our own packet decodes"),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn cisco_ios_registration_is_accepted_and_answered() {
    let Some(pkts) = capture("ios_nhrp.pcap") else {
        return;
    };
    let mut cfg = InterfaceConfig::new(IF, "Tunnel0", ip(192, 168, 0, 1), 24, ip(10, 0, 12, 1));
    cfg.authentication = Some("CISCO".into());
    let mut hub = engine(cfg);
    let (src, bytes) = &pkts[0];
    hub.handle_packet(at(1), IF, *src, bytes);
    let out = drain(&mut hub);
    let s = sends(&out);
    assert_eq!(s.len(), 1, "{out:?}");
    let (to, reply) = &s[0];
    assert_eq!(*to, ip(10, 0, 12, 2));
    assert_eq!(reply.ptype, PacketType::RegistrationReply);
    assert_eq!(reply.request_id, 5);
    assert_eq!(reply.cies[0].code, 0);
    assert_eq!(reply.ext.auth.as_deref(), Some(&b"\0\0\0\x01CISCO"[..]));
    let e = hub
        .cache_entries(None)
        .into_iter()
        .find(|e| e.prefix == Prefix::host(ip(192, 168, 0, 2)))
        .unwrap();
    assert_eq!(e.nbma, Some(ip(10, 0, 12, 2)));
    assert_eq!(e.expires, Some(at(31)), "Cisco's 30 s holding time");
    assert!(e.flags.contains(EntryFlags::REGISTERED));
}

#[test]
fn cisco_registration_with_nat_extension_gets_a_cisco_like_reply() {
    let Some(pkts) = capture("NHRP_registration.pcap") else {
        return;
    };
    let mut cfg = InterfaceConfig::new(IF, "Tunnel0", ip(155, 1, 0, 5), 24, ip(169, 254, 100, 5));
    cfg.authentication = Some("NHRPAUTH".into());
    let mut hub = engine(cfg);
    let (src, bytes) = &pkts[0];
    hub.handle_packet(at(1), IF, *src, bytes);
    let s = sends(&drain(&mut hub));
    let (to, ours) = &s[0];
    let cisco = dmvpn_nhrp::codec::decode(&pkts[1].1).expect("Cisco's reply decodes");
    assert_eq!(*to, ip(169, 254, 100, 1));
    assert_eq!(ours.ptype, cisco.ptype);
    assert_eq!(ours.request_id, cisco.request_id);
    assert_eq!(ours.flags, cisco.flags);
    assert_eq!(
        (ours.src_nbma, ours.src_proto, ours.dst_proto),
        (cisco.src_nbma, cisco.src_proto, cisco.dst_proto)
    );
    assert_eq!(ours.cies[0].code, cisco.cies[0].code);
    assert_eq!(ours.cies[0].holding_time, cisco.cies[0].holding_time);
    let (o, c) = (
        ours.ext.responder.as_ref().unwrap(),
        cisco.ext.responder.as_ref().unwrap(),
    );
    assert_eq!(
        (o[0].client_nbma, o[0].client_proto),
        (c[0].client_nbma, c[0].client_proto)
    );
    assert_eq!(
        ours.ext.nat, cisco.ext.nat,
        "NAT extension echoed as Cisco does"
    );
    // Cisco's own reply reaches a spoke as a well-formed but unexpected reply.
    let mut spoke_cfg =
        InterfaceConfig::new(IF, "Tunnel0", ip(155, 1, 0, 1), 24, ip(169, 254, 100, 1));
    spoke_cfg.authentication = Some("NHRPAUTH".into());
    let mut spoke = engine(spoke_cfg);
    spoke.handle_packet(at(1), IF, pkts[1].0, &pkts[1].1);
    let out = drain(&mut spoke);
    assert!(out.contains(&Action::Event(Event::Dropped {
        iface: IF,
        from: pkts[1].0,
        reason: DropReason::UnexpectedReply
    })));
}

#[test]
fn phase3_trace_redirect_and_forwarded_request_are_acted_on() {
    let Some(pkts) = capture("nhrp-trace.pcap") else {
        return;
    };
    let hub_nbma = ip(192, 168, 200, 1);
    // Spoke .3 receives the hub's Traffic Indication and resolves the redirected destination.
    let mut s3 = InterfaceConfig::new(IF, "Tunnel0", ip(10, 255, 255, 3), 24, ip(192, 168, 200, 3));
    s3.authentication = Some("secret".into());
    s3.shortcut = true;
    s3.nhs.push(NhsConfig {
        protocol: ip(10, 255, 255, 1),
        nbma: Some(hub_nbma),
        priority: 0,
    });
    let mut s3 = engine(s3);
    s3.handle_packet(at(1), IF, pkts[0].0, &pkts[0].1);
    let s = sends(&drain(&mut s3));
    let req: Vec<_> = s
        .iter()
        .filter(|(_, m)| m.ptype == PacketType::ResolutionRequest)
        .collect();
    assert_eq!(req.len(), 1);
    assert_eq!(req[0].0, hub_nbma);
    let real = dmvpn_nhrp::codec::decode(&pkts[1].1).unwrap();
    assert_eq!(
        req[0].1.dst_proto, real.dst_proto,
        "same destination as the real spoke resolved"
    );
    assert_eq!(req[0].1.flags, real.flags);
    // Spoke .2 receives the hub-forwarded request and answers the requester directly.
    let mut s2 = InterfaceConfig::new(IF, "Tunnel0", ip(10, 255, 255, 2), 24, ip(192, 168, 200, 2));
    s2.authentication = Some("secret".into());
    let mut s2 = engine(s2);
    s2.handle_packet(at(1), IF, pkts[2].0, &pkts[2].1);
    let out = drain(&mut s2);
    let s = sends(&out);
    let (to, ours) = s
        .iter()
        .find(|(_, m)| m.ptype == PacketType::ResolutionReply)
        .expect("a reply");
    let real = dmvpn_nhrp::codec::decode(&pkts[3].1).unwrap();
    assert_eq!(*to, ip(192, 168, 200, 3));
    assert_eq!(ours.request_id, real.request_id);
    assert_eq!(
        (ours.cies[0].code, ours.cies[0].prefix_len),
        (real.cies[0].code, real.cies[0].prefix_len)
    );
    assert_eq!(
        (ours.cies[0].client_nbma, ours.cies[0].client_proto),
        (real.cies[0].client_nbma, real.cies[0].client_proto)
    );
    assert_eq!(
        ours.ext.forward_transit, real.ext.forward_transit,
        "Forward Transit record carried back"
    );
    assert!(out.contains(&Action::MappingAdd {
        iface: IF,
        proto: ip(10, 255, 255, 3),
        nbma: ip(192, 168, 200, 3)
    }));
}

#[test]
fn fuzzed_capture_packet_is_dropped_quietly() {
    let Some(pkts) = capture("pb_nhrp_1.pcap") else {
        return;
    };
    let mut hub = engine(hub_cfg());
    for (src, b) in &pkts {
        hub.handle_packet(at(1), IF, *src, b);
    }
    let out = drain(&mut hub);
    assert!(sends(&out).is_empty());
    assert!(
        out.iter()
            .all(|a| matches!(a, Action::Event(Event::Dropped { .. })))
    );
}

//! The node core against a fake data plane: no root, no sockets, no tokio.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use dmvpn_dataplane::seam::{CounterSnapshot, DataPlane, Event};
use dmvpn_dataplane::{Ipv4Prefix, MirroredRoute, TrafficCounters};
use dmvpn_mgmt::{self as mgmt, Handler};
use dmvpn_nhrp::{Action, IfIndex, Instant, Prefix as NhrpPrefix};
use dmvpn_wire::nhrp::{CieCode, PacketType, Repr};

use super::fake::{Call, FakeDataPlane};
use super::reload::{ReloadPlan, TunnelChange, start_plans};
use super::{CoreError, NodeCore, earliest};

const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
const HUB_TUNNEL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SPOKE_NBMA: Ipv4Addr = Ipv4Addr::new(172, 16, 1, 1);
const SPOKE_TUNNEL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

const SPOKE: &str = "\
hostname Spoke1
interface Tunnel0
 ip address 10.0.0.2 255.255.255.0
 ip mtu 1400
 ip nhrp map 10.0.0.1 172.17.0.1
 ip nhrp map multicast 172.17.0.1
 ip nhrp network-id 100000
 ip nhrp holdtime 300
 ip nhrp nhs 10.0.0.1
 ip nhrp shortcut
 tunnel source 172.16.1.1
 tunnel mode gre multipoint
 tunnel key 100000
!
ip route 192.168.0.0 255.255.0.0 10.0.0.1
";

const HUB: &str = "\
hostname Hub
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 ip nhrp map multicast dynamic
 ip nhrp network-id 100000
 ip nhrp redirect
 tunnel source 172.17.0.1
 tunnel mode gre multipoint
 tunnel key 100000
!
";

fn parse(text: &str) -> dmvpn_config::Config {
    let p = dmvpn_config::parse(text);
    assert!(!p.has_errors(), "{}", p.render("test.conf"));
    p.config
}

struct Node {
    core: NodeCore,
    fakes: Vec<Arc<FakeDataPlane>>,
}

impl Node {
    fn fake(&self, i: usize) -> &FakeDataPlane {
        &self.fakes[i]
    }
}

fn node(text: &str, source: Ipv4Addr) -> Node {
    let config = parse(text);
    let plans = start_plans(&config).expect("plans");
    let mut fakes = Vec::new();
    let mut tunnels: Vec<(crate::translate::TunnelPlan, crate::core::TunnelIo)> = Vec::new();
    for p in plans {
        let fake = Arc::new(FakeDataPlane::new(&p.name, 100 + p.ifindex, source));
        fakes.push(fake.clone());
        let sad = p.ipsec.as_ref().map(|_| {
            let esp: Arc<dyn crate::core::ipsec::SaDatabase> =
                crate::core::ipsec::userspace_esp(source);
            esp
        });
        let dp: Arc<dyn DataPlane> = fake;
        tunnels.push((p, crate::core::TunnelIo { dp, sad }));
    }
    let core = NodeCore::new(text.to_string(), &config, tunnels, 7, Instant::ZERO).expect("core");
    Node { core, fakes }
}

fn emit(repr: &Repr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut buf).expect("emit");
    buf.truncate(n);
    buf
}

fn packet_type(bytes: &[u8]) -> PacketType {
    Repr::parse(bytes)
        .expect("engine packets parse")
        .packet_type
}

fn sent_of_type(fake: &FakeDataPlane, ty: PacketType) -> Vec<(Ipv4Addr, Vec<u8>)> {
    fake.sent()
        .into_iter()
        .filter(|(_, b)| packet_type(b) == ty)
        .collect()
}

/// A spoke whose registration the hub (NBMA 172.17.0.1) has accepted.
fn registered_spoke() -> Node {
    let mut n = node(SPOKE, SPOKE_NBMA);
    let requests = sent_of_type(n.fake(0), PacketType::RegistrationRequest);
    let (to, bytes) = requests
        .first()
        .expect("a Registration Request at start")
        .clone();
    assert_eq!(to, HUB_NBMA);
    let request = Repr::parse(&bytes).expect("parse");
    let reply = emit(&Repr::registration_reply(&request, CieCode::Success));
    n.core.handle_event(
        Instant::from_secs(1),
        0,
        Event::Nhrp {
            source: HUB_NBMA,
            packet: reply,
        },
    );
    n
}

fn spoke_registration() -> Vec<u8> {
    emit(
        &Repr::registration_request(
            IpAddr::V4(SPOKE_NBMA),
            IpAddr::V4(SPOKE_TUNNEL),
            IpAddr::V4(HUB_TUNNEL),
            0x1234,
            true,
        )
        .with_mtu_and_holding_time(1400, 300),
    )
}

#[test]
fn a_spoke_installs_its_static_state_and_registers_with_its_nhs() {
    let n = node(SPOKE, SPOKE_NBMA);
    let calls = n.fake(0).calls();
    // The plan's seeds and settings.
    assert!(calls.contains(&Call::SetNhs(vec![HUB_NBMA])), "{calls:?}");
    assert!(calls.contains(&Call::SetMtu(1400)), "{calls:?}");
    // MappingAdd for the static map, MulticastAdd for the static multicast target.
    assert_eq!(n.fake(0).mappings().get(&HUB_TUNNEL), Some(&HUB_NBMA));
    assert!(n.fake(0).dynamic_peers().contains(&HUB_NBMA));
    // Send: the Registration Request goes out through the data plane.
    assert_eq!(
        sent_of_type(n.fake(0), PacketType::RegistrationRequest).len(),
        1,
        "{calls:?}"
    );
    // The engine has a timer (registration refresh / retransmit).
    assert!(n.core.poll_timeout().is_some());
}

#[test]
fn a_registration_reply_brings_the_nhs_up_in_show_answers() {
    let mut n = registered_spoke();
    // The data plane is told the NHS is UP (unresolved traffic may go through it).
    assert!(
        n.fake(0).calls().contains(&Call::SetNhsUp(HUB_NBMA, true)),
        "{:?}",
        n.fake(0).calls()
    );
    let report = n.core.nhs().expect("nhs");
    assert_eq!(report.servers.len(), 1);
    assert_eq!(report.servers[0].state, mgmt::NhsState::Up);
    let status = n.core.dmvpn().expect("dmvpn");
    assert_eq!(status.interfaces.len(), 1);
    assert_eq!(status.interfaces[0].name, "Tunnel0");
    assert!(status.interfaces[0].line_up);
    assert!(
        status.interfaces[0]
            .peers
            .iter()
            .any(|p| p.nbma == IpAddr::V4(HUB_NBMA))
    );
}

#[test]
fn shutdown_sends_the_engines_purge_through_the_data_plane() {
    let mut n = registered_spoke();
    n.fake(0).take_calls();
    n.core.shutdown(Instant::from_secs(2));
    let purges = sent_of_type(n.fake(0), PacketType::PurgeRequest);
    assert_eq!(purges.len(), 1, "{:?}", n.fake(0).calls());
    let (to, bytes) = &purges[0];
    assert_eq!(*to, HUB_NBMA);
    let purge = Repr::parse(bytes).expect("parse");
    assert_eq!(purge.src_proto.ip(), Some(IpAddr::V4(SPOKE_TUNNEL)));
    assert_eq!(purge.dst_proto.ip(), Some(IpAddr::V4(HUB_TUNNEL)));
    // No further registrations after the shutdown.
    n.fake(0).take_calls();
    n.core.handle_timeout(Instant::from_secs(3600));
    assert!(
        sent_of_type(n.fake(0), PacketType::RegistrationRequest).is_empty(),
        "{:?}",
        n.fake(0).calls()
    );
}

#[test]
fn a_hub_registers_a_spoke_and_clear_session_removes_it_from_the_data_plane() {
    let mut n = node(HUB, HUB_NBMA);
    n.core.handle_event(
        Instant::from_secs(1),
        0,
        Event::Nhrp {
            source: SPOKE_NBMA,
            packet: spoke_registration(),
        },
    );
    assert_eq!(n.fake(0).mappings().get(&SPOKE_TUNNEL), Some(&SPOKE_NBMA));
    assert!(n.fake(0).dynamic_peers().contains(&SPOKE_NBMA));
    let replies = sent_of_type(n.fake(0), PacketType::RegistrationReply);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, SPOKE_NBMA);

    let ack = n
        .core
        .clear_dmvpn_session(&mgmt::ClearDmvpnSession::default())
        .expect("clear");
    assert_eq!(ack.affected, Some(1));
    assert_eq!(n.fake(0).mappings().get(&SPOKE_TUNNEL), None);
    assert!(!n.fake(0).dynamic_peers().contains(&SPOKE_NBMA));
    assert!(n.core.nhrp_cache().expect("cache").entries.is_empty());
}

#[test]
fn control_lines_are_answered_from_the_core() {
    let mut n = registered_spoke();
    let line = mgmt::encode_request(&mgmt::Request::ShowRunningConfig);
    let answer = n.core.on_control(Instant::from_secs(2), &line);
    match mgmt::decode_response(&answer).expect("response") {
        mgmt::Response::Ok { payload } => {
            assert!(
                format!("{payload:?}").contains("hostname Spoke1"),
                "{payload:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// The name of an action's variant. Exhaustive: a new variant does not compile until the
/// test below covers it.
fn variant(a: &Action) -> &'static str {
    match a {
        Action::Send { .. } => "Send",
        Action::MappingAdd { .. } => "MappingAdd",
        Action::MappingRemove { .. } => "MappingRemove",
        Action::ShortcutAdd { .. } => "ShortcutAdd",
        Action::ShortcutRemove { .. } => "ShortcutRemove",
        Action::ProtectionNeeded { .. } => "ProtectionNeeded",
        Action::ProtectionNotNeeded { .. } => "ProtectionNotNeeded",
        Action::MulticastAdd { .. } => "MulticastAdd",
        Action::MulticastRemove { .. } => "MulticastRemove",
        Action::Event(_) => "Event",
    }
}

#[test]
fn every_action_variant_is_executed_on_the_data_plane() {
    let mut n = node(HUB, HUB_NBMA);
    let fake = n.fakes[0].clone();
    let iface: IfIndex = 0;
    let peer = Ipv4Addr::new(172, 16, 9, 9);
    let other = Ipv4Addr::new(172, 16, 9, 10);
    let overlay = Ipv4Addr::new(10, 0, 0, 9);
    let prefix = NhrpPrefix::new(Ipv4Addr::new(192, 168, 9, 0), 24).expect("prefix");
    let dp_prefix = Ipv4Prefix::new(Ipv4Addr::new(192, 168, 9, 0), 24).expect("prefix");
    let mut covered = std::collections::BTreeSet::new();
    let mut run = |n: &mut Node, a: Action| -> Vec<Call> {
        covered.insert(variant(&a));
        fake.take_calls();
        n.core.execute(a);
        n.core.drain_actions();
        fake.take_calls()
    };

    let bytes = emit(&Repr::purge_reply(&Repr::purge_request(
        IpAddr::V4(HUB_NBMA),
        IpAddr::V4(HUB_TUNNEL),
        IpAddr::V4(overlay),
        9,
        Vec::new(),
        false,
    )));
    let calls = run(
        &mut n,
        Action::Send {
            iface,
            to_nbma: peer,
            bytes: bytes.clone(),
        },
    );
    assert_eq!(calls, vec![Call::SendNhrp(peer, bytes)]);

    run(
        &mut n,
        Action::MappingAdd {
            iface,
            proto: overlay,
            nbma: peer,
        },
    );
    assert_eq!(fake.mappings().get(&overlay), Some(&peer));
    // A removal naming another NBMA address leaves the newer binding alone.
    run(
        &mut n,
        Action::MappingRemove {
            iface,
            proto: overlay,
            nbma: other,
        },
    );
    assert_eq!(fake.mappings().get(&overlay), Some(&peer));
    run(
        &mut n,
        Action::MappingRemove {
            iface,
            proto: overlay,
            nbma: peer,
        },
    );
    assert_eq!(fake.mappings().get(&overlay), None);

    let calls = run(
        &mut n,
        Action::ShortcutAdd {
            iface,
            prefix,
            next_hop: overlay,
        },
    );
    assert_eq!(calls, vec![Call::SetShortcut(dp_prefix, overlay)]);
    assert_eq!(fake.shortcuts(), vec![(dp_prefix, overlay)]);
    run(
        &mut n,
        Action::ShortcutRemove {
            iface,
            prefix,
            next_hop: other,
        },
    );
    assert_eq!(fake.shortcuts(), vec![(dp_prefix, overlay)]);
    run(
        &mut n,
        Action::ShortcutRemove {
            iface,
            prefix,
            next_hop: overlay,
        },
    );
    assert!(fake.shortcuts().is_empty());

    run(&mut n, Action::MulticastAdd { iface, nbma: peer });
    assert!(fake.dynamic_peers().contains(&peer));
    run(&mut n, Action::MulticastRemove { iface, nbma: peer });
    assert!(!fake.dynamic_peers().contains(&peer));

    let calls = run(&mut n, Action::ProtectionNeeded { iface, nbma: peer });
    assert_eq!(calls, vec![Call::ProtectionChanged(peer, true)]);
    assert!(n.core.protected_peers().any(|p| *p == peer));
    run(&mut n, Action::ProtectionNotNeeded { iface, nbma: peer });
    assert!(!n.core.protected_peers().any(|p| *p == peer));

    // Events go to the log, not to the data plane.
    let calls = run(
        &mut n,
        Action::Event(dmvpn_nhrp::Event::NhsUp {
            iface,
            nhs: overlay,
        }),
    );
    assert!(calls.is_empty(), "{calls:?}");

    // Actions for an interface the node does not run are ignored.
    let calls = run(
        &mut n,
        Action::MappingAdd {
            iface: 99,
            proto: overlay,
            nbma: peer,
        },
    );
    assert!(calls.is_empty());

    let all = [
        "Send",
        "MappingAdd",
        "MappingRemove",
        "ShortcutAdd",
        "ShortcutRemove",
        "ProtectionNeeded",
        "ProtectionNotNeeded",
        "MulticastAdd",
        "MulticastRemove",
        "Event",
    ];
    assert_eq!(covered.len(), all.len());
    for v in all {
        assert!(covered.contains(v), "{v} not covered");
    }
}

#[test]
fn a_resolution_reply_installs_a_shortcut_and_clear_removes_it() {
    let mut n = registered_spoke();
    let target = Ipv4Addr::new(192, 168, 2, 1);
    let remote_tunnel = Ipv4Addr::new(10, 0, 0, 3);
    let remote_nbma = Ipv4Addr::new(172, 16, 2, 1);
    n.fake(0).take_calls();
    n.core.handle_event(
        Instant::from_secs(2),
        0,
        Event::ResolutionNeeded {
            next_hop: target,
            destination: target,
            source: Ipv4Addr::new(192, 168, 1, 1),
        },
    );
    let requests = sent_of_type(n.fake(0), PacketType::ResolutionRequest);
    let (_, bytes) = requests.first().expect("a Resolution Request").clone();
    let request = Repr::parse(&bytes).expect("parse");
    let cie = dmvpn_wire::nhrp::Cie::client(IpAddr::V4(remote_nbma), IpAddr::V4(remote_tunnel))
        .with_binding(24, 1400, 300);
    let reply = emit(&Repr::resolution_reply(&request, vec![cie]));
    n.core.handle_event(
        Instant::from_secs(3),
        0,
        Event::Nhrp {
            source: HUB_NBMA,
            packet: reply,
        },
    );
    let shortcut = Ipv4Prefix::new(Ipv4Addr::new(192, 168, 2, 0), 24).expect("prefix");
    assert_eq!(n.fake(0).mappings().get(&remote_tunnel), Some(&remote_nbma));
    assert_eq!(n.fake(0).shortcuts(), vec![(shortcut, remote_tunnel)]);
    let table = n.core.shortcuts().expect("shortcuts");
    assert!(table.shortcuts.iter().any(|s| s.installed));

    n.core
        .clear_ip_nhrp(&mgmt::ClearIpNhrp {
            address: None,
            interface: None,
        })
        .expect("clear");
    assert!(n.fake(0).shortcuts().is_empty());
    assert_eq!(n.fake(0).mappings().get(&remote_tunnel), None);
}

fn counters(rx: u64, tx: u64) -> TrafficCounters {
    TrafficCounters {
        tx_packets: tx,
        tx_bytes: tx * 100,
        rx_packets: rx,
        rx_bytes: rx * 100,
    }
}

#[test]
fn clear_statistics_counts_from_a_baseline() {
    let mut n = registered_spoke();
    n.fake(0).set_counters(CounterSnapshot {
        tunnel: counters(10, 20),
        peers: vec![(HUB_NBMA, counters(4, 8))],
        ..CounterSnapshot::default()
    });
    let shown = |n: &mut Node| {
        let s = n.core.dmvpn().expect("dmvpn");
        let i = &s.interfaces[0];
        let peer = i
            .peers
            .iter()
            .find(|p| p.nbma == IpAddr::V4(HUB_NBMA))
            .expect("hub peer")
            .counters;
        (i.counters, peer)
    };
    let (tunnel, peer) = shown(&mut n);
    assert_eq!((tunnel.packets_in, tunnel.packets_out), (10, 20));
    assert_eq!((peer.packets_in, peer.packets_out), (4, 8));

    let ack = n
        .core
        .clear_dmvpn_statistics(&mgmt::ClearDmvpnStatistics::default())
        .expect("clear");
    assert_eq!(ack.affected, Some(2));
    let (tunnel, peer) = shown(&mut n);
    assert_eq!(
        (tunnel.packets_in, tunnel.packets_out, tunnel.bytes_in),
        (0, 0, 0)
    );
    assert_eq!((peer.packets_in, peer.packets_out), (0, 0));

    // The data plane's counters grow; the shown ones grow from the baseline.
    n.fake(0).set_counters(CounterSnapshot {
        tunnel: counters(13, 25),
        peers: vec![(HUB_NBMA, counters(5, 8))],
        ..CounterSnapshot::default()
    });
    let (tunnel, peer) = shown(&mut n);
    assert_eq!((tunnel.packets_in, tunnel.packets_out), (3, 5));
    assert_eq!((peer.packets_in, peer.packets_out), (1, 0));

    // `clear dmvpn statistics peer nbma …` resets that peer's set only.
    let ack = n
        .core
        .clear_dmvpn_statistics(&mgmt::ClearDmvpnStatistics {
            peer: Some(mgmt::PeerFilter::Nbma {
                address: IpAddr::V4(HUB_NBMA),
            }),
            interface: None,
        })
        .expect("clear peer");
    assert_eq!(ack.affected, Some(1));
    let (tunnel, peer) = shown(&mut n);
    assert_eq!((tunnel.packets_in, tunnel.packets_out), (3, 5));
    assert_eq!((peer.packets_in, peer.packets_out), (0, 0));

    // `clear counters Tunnel0` (any spelling of the name) resets the tunnel and its peers.
    n.fake(0).set_counters(CounterSnapshot {
        tunnel: counters(14, 25),
        peers: vec![(HUB_NBMA, counters(6, 8))],
        ..CounterSnapshot::default()
    });
    let ack = n
        .core
        .clear_counters(&mgmt::ClearCounters {
            interface: "tu0".to_string(),
        })
        .expect("clear counters");
    assert_eq!(ack.affected, Some(2));
    let (tunnel, peer) = shown(&mut n);
    assert_eq!((tunnel.packets_in, tunnel.packets_out), (0, 0));
    assert_eq!((peer.packets_in, peer.packets_out), (0, 0));
    assert!(
        n.core
            .clear_counters(&mgmt::ClearCounters {
                interface: "Tunnel7".to_string()
            })
            .is_err()
    );
}

#[test]
fn routes_the_data_plane_follows_reach_the_engine() {
    let mut n = registered_spoke();
    let prefix = Ipv4Prefix::new(Ipv4Addr::new(192, 168, 0, 0), 16).expect("prefix");
    n.fake(0).set_routes(vec![MirroredRoute {
        prefix,
        gateway: Some(HUB_TUNNEL),
        metric: 0,
        protocol: 4,
    }]);
    n.core.sync_routes(Instant::from_secs(2));
    // Traffic to a destination behind that route is resolved (a Resolution Request).
    n.fake(0).take_calls();
    n.core.handle_event(
        Instant::from_secs(3),
        0,
        Event::ResolutionNeeded {
            next_hop: Ipv4Addr::new(192, 168, 5, 5),
            destination: Ipv4Addr::new(192, 168, 5, 5),
            source: Ipv4Addr::new(192, 168, 1, 1),
        },
    );
    assert_eq!(
        sent_of_type(n.fake(0), PacketType::ResolutionRequest).len(),
        1,
        "{:?}",
        n.fake(0).calls()
    );
}

/// A Resolution Request for `target`, as the hub forwards it from spoke 10.0.0.3; the
/// spoke's answer (code, prefix length).
fn resolve_at_spoke(n: &mut Node, at: u64, target: Ipv4Addr, id: u32) -> (CieCode, u8) {
    n.fake(0).take_calls();
    let request = Repr::resolution_request(
        IpAddr::V4(Ipv4Addr::new(172, 16, 3, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)),
        IpAddr::V4(target),
        id,
    );
    n.core.handle_event(
        Instant::from_secs(at),
        0,
        Event::Nhrp {
            source: HUB_NBMA,
            packet: emit(&request),
        },
    );
    let replies = sent_of_type(n.fake(0), PacketType::ResolutionReply);
    let (_, bytes) = replies.first().expect("a Resolution Reply");
    let reply = Repr::parse(bytes).expect("parse");
    let cie = reply.cies().first().expect("a CIE").clone();
    (cie.code, cie.prefix_len)
}

#[test]
fn routes_through_other_interfaces_are_answered_at_once_and_withdrawn() {
    let mut n = registered_spoke();
    let lan = Ipv4Prefix::new(Ipv4Addr::new(192, 168, 1, 0), 24).expect("prefix");
    let host = Ipv4Addr::new(192, 168, 1, 10);
    assert_eq!(
        resolve_at_spoke(&mut n, 2, host, 1).0,
        CieCode::NoBinding,
        "no LAN yet"
    );
    // The route appears (a netlink notification); the next request is answered with no
    // periodic sync in between.
    n.fake(0).set_local_routes(vec![lan]);
    assert_eq!(
        resolve_at_spoke(&mut n, 3, host, 2),
        (CieCode::Success, 24),
        "the LAN's prefix"
    );
    // A default route through another interface does not make the spoke answer for all.
    let default = Ipv4Prefix::new(Ipv4Addr::UNSPECIFIED, 0).expect("prefix");
    n.fake(0).set_local_routes(vec![lan, default]);
    assert_eq!(
        resolve_at_spoke(&mut n, 4, Ipv4Addr::new(203, 0, 113, 1), 3).0,
        CieCode::NoBinding
    );
    // Withdrawn: no longer answered.
    n.fake(0).set_local_routes(vec![default]);
    assert_eq!(resolve_at_spoke(&mut n, 5, host, 4).0, CieCode::NoBinding);
    // A route through the tunnel more specific than a local one is not local.
    n.fake(0).set_local_routes(vec![
        Ipv4Prefix::new(Ipv4Addr::new(192, 168, 0, 0), 16).expect("p"),
    ]);
    n.fake(0).set_routes(vec![MirroredRoute {
        prefix: Ipv4Prefix::new(Ipv4Addr::new(192, 168, 7, 0), 24).expect("p"),
        gateway: None,
        metric: 0,
        protocol: 4,
    }]);
    assert_eq!(
        resolve_at_spoke(&mut n, 6, Ipv4Addr::new(192, 168, 7, 1), 5).0,
        CieCode::NoBinding
    );
    assert_eq!(resolve_at_spoke(&mut n, 7, host, 6), (CieCode::Success, 16));
}

#[test]
fn the_timeout_is_the_earliest_of_every_engine() {
    let a = Instant::from_secs(5);
    let b = Instant::from_secs(3);
    assert_eq!(earliest([Some(a), None, Some(b)]), Some(b));
    assert_eq!(earliest([None, None]), None);
    let n = node(SPOKE, SPOKE_NBMA);
    assert_eq!(n.core.poll_timeout(), n.core.engine().poll_timeout());
}

#[test]
fn protection_is_asked_for_and_released_through_the_engine() {
    let text = ipsec::protected(HUB);
    let mut n = node(&text, HUB_NBMA);
    n.core.handle_event(
        Instant::from_secs(1),
        0,
        Event::Nhrp {
            source: SPOKE_NBMA,
            packet: spoke_registration(),
        },
    );
    // ProtectionNeeded: IKE starts towards the spoke and the engine's reply waits for the
    // Child SA (nothing leaves unprotected).
    assert!(n.core.protected_peers().any(|p| *p == SPOKE_NBMA));
    assert!(
        sent_of_type(n.fake(0), PacketType::RegistrationReply).is_empty(),
        "{:?}",
        n.fake(0).calls()
    );
    let sas = |n: &Node| {
        n.core
            .ipsec_groups()
            .next()
            .map(|i| i.engine.sas())
            .unwrap_or_default()
    };
    assert!(
        sas(&n).iter().any(|s| *s.remote.ip() == SPOKE_NBMA),
        "no IKE SA negotiating with the spoke"
    );
    // ProtectionNotNeeded once no entry references the peer: the IKE SA goes.
    n.core
        .clear_dmvpn_session(&mgmt::ClearDmvpnSession::default())
        .expect("clear");
    assert!(!n.core.protected_peers().any(|p| *p == SPOKE_NBMA));
}

#[test]
fn a_protected_tunnel_needing_ikev1_does_not_start() {
    let profile = "crypto isakmp policy 1\n authentication pre-share\n!\ncrypto ipsec transform-set T esp-aes esp-sha-hmac\n mode transport\n!\ncrypto ipsec profile P\n set transform-set T\n!\n";
    let text = format!(
        "{profile}{}",
        HUB.replace(
            " tunnel key 100000\n",
            " tunnel key 100000\n tunnel protection ipsec profile P\n",
        )
    );
    let config = parse(&text);
    let err = start_plans(&config).expect_err("IKEv1 must be refused");
    assert!(err.to_string().contains("IKEv1"), "{err}");
}

mod ipsec;
mod reload;

#[test]
fn every_data_plane_event_reaches_the_engine() {
    // Hairpin: a hub with `ip nhrp redirect` sends a Traffic Indication to the spoke the
    // relayed packet came from.
    let mut hub = node(HUB, HUB_NBMA);
    hub.core.handle_event(
        Instant::from_secs(1),
        0,
        Event::Nhrp {
            source: SPOKE_NBMA,
            packet: spoke_registration(),
        },
    );
    hub.fake(0).take_calls();
    let mut inner = vec![0u8; 28];
    inner[0] = 0x45;
    inner[3] = 28;
    inner[8] = 64;
    inner[9] = 1;
    inner[12..16].copy_from_slice(&Ipv4Addr::new(192, 168, 1, 1).octets());
    inner[16..20].copy_from_slice(&Ipv4Addr::new(192, 168, 2, 1).octets());
    hub.core.handle_event(
        Instant::from_secs(2),
        0,
        Event::Hairpin {
            source: Ipv4Addr::new(192, 168, 1, 1),
            destination: Ipv4Addr::new(192, 168, 2, 1),
            ingress_nbma: SPOKE_NBMA,
            packet: inner,
        },
    );
    let redirects = sent_of_type(hub.fake(0), PacketType::TrafficIndication);
    assert_eq!(redirects.len(), 1, "{:?}", hub.fake(0).calls());
    assert_eq!(redirects[0].0, SPOKE_NBMA);

    // A task failure is logged; nothing changes on the data plane.
    hub.fake(0).take_calls();
    hub.core.handle_event(
        Instant::from_secs(3),
        0,
        Event::TaskFailed {
            task: "gre-reader",
            error: "gone".to_string(),
        },
    );
    assert!(hub.fake(0).calls().is_empty());

    // A new tunnel source address: the spoke registers again from it.
    let mut spoke = registered_spoke();
    spoke.fake(0).take_calls();
    let new_nbma = Ipv4Addr::new(172, 16, 9, 1);
    spoke.core.handle_event(
        Instant::from_secs(4),
        0,
        Event::SourceAddressChanged {
            old: Some(SPOKE_NBMA),
            new: Some(new_nbma),
        },
    );
    let requests = sent_of_type(spoke.fake(0), PacketType::RegistrationRequest);
    let (_, bytes) = requests.first().expect("a new Registration Request");
    let request = Repr::parse(bytes).expect("parse");
    assert_eq!(request.src_nbma.ip(), Some(IpAddr::V4(new_nbma)));
}

#[test]
fn traffic_the_data_plane_carried_marks_entries_used() {
    let mut hub = node(HUB, HUB_NBMA);
    hub.core.handle_event(
        Instant::from_secs(1),
        0,
        Event::Nhrp {
            source: SPOKE_NBMA,
            packet: spoke_registration(),
        },
    );
    let used = |n: &mut Node| {
        n.core
            .nhrp_cache()
            .expect("cache")
            .entries
            .iter()
            .any(|e| e.nbma == Some(IpAddr::V4(SPOKE_NBMA)) && e.flags.used)
    };
    hub.core.track_usage(Instant::from_secs(2));
    assert!(!used(&mut hub));
    hub.fake(0).set_counters(CounterSnapshot {
        peers: vec![(SPOKE_NBMA, counters(0, 5))],
        ..CounterSnapshot::default()
    });
    hub.core.track_usage(Instant::from_secs(3));
    assert!(used(&mut hub));
}

#[test]
fn protection_the_transport_asks_for_comes_up_and_releases_held_packets() {
    let mut n = registered_spoke();
    let peer = Ipv4Addr::new(172, 16, 3, 3);
    n.fake(0).ask_protection(peer);
    n.fake(0).take_calls();
    n.core.handle_timeout(Instant::from_secs(2));
    assert!(
        n.fake(0)
            .calls()
            .contains(&Call::ProtectionChanged(peer, true)),
        "{:?}",
        n.fake(0).calls()
    );
    // Asked once, answered once.
    n.fake(0).take_calls();
    n.core.handle_timeout(Instant::from_secs(3));
    assert!(
        !n.fake(0)
            .calls()
            .contains(&Call::ProtectionChanged(peer, true))
    );
}

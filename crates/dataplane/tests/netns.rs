//! End-to-end tests of the data plane in network namespaces the tests create and always
//! remove: two (or three) namespaces joined by veth pairs, a data-plane instance in each,
//! traffic through the GRE tunnel observed with ping, raw-socket captures and counters.
//! They need root; without it they print `SKIP` and pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use common::*;
use dmvpn_dataplane::{Event, MulticastPolicy, TunnelConfig, TunnelMode, TunnelSource};

const KEY: u32 = 4242;

fn config(addr: &str, source: TunnelSource) -> TunnelConfig {
    let mut c = TunnelConfig::new("Tunnel0", ip(addr), 24, source);
    c.key = Some(KEY);
    c.event_interval = Duration::from_millis(200);
    c
}

/// Two namespaces on one veth segment 192.0.2.0/24, tunnel 10.0.0.0/24, static mappings.
struct Pair {
    a: NetNs,
    b: NetNs,
}

fn pair(tag: &str) -> Pair {
    let a = NetNs::new(&format!("{tag}a"));
    let b = NetNs::new(&format!("{tag}b"));
    veth(&a, "vA", "192.0.2.1/24", &b, "vB", "192.0.2.2/24");
    Pair { a, b }
}

fn map_each_other(na: &Node, nb: &Node) {
    na.handle
        .tables()
        .set_mapping(ip("10.0.0.2"), ip("192.0.2.2"));
    nb.handle
        .tables()
        .set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
}

#[test]
fn ping_passes_through_keyed_gre_and_counters_follow() {
    if !can_run() {
        return;
    }
    let p = pair("ping");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Interface("vA".into())),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);
    assert_eq!(na.handle.source_address(), Some(ip("192.0.2.1")));

    // The TUN device exists with its name, address, MTU and is up.
    let out = p.a.exec(&["ip", "-o", "addr", "show", "dev", "Tunnel0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10.0.0.1/24"), "{text}");
    let out = p.a.exec(&["ip", "-o", "link", "show", "dev", "Tunnel0"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mtu 1400") && text.contains(",UP"), "{text}");

    let sniff = Sniffer::start(&p.b);
    let out = ping(&p.a, &["-c", "3", "-i", "0.2", "-W", "5", "10.0.0.2"]);
    assert!(out.status.success(), "ping failed: {out:?}");

    // GRE with the key on the wire, carrying IPv4 to 10.0.0.2.
    let g = sniff.wait_for("keyed GRE to 192.0.2.2", |g| {
        g.outer_dst == ip("192.0.2.2") && g.protocol == 0x0800
    });
    assert_eq!(g.key, Some(KEY));
    assert_eq!(g.outer_src, ip("192.0.2.1"));
    assert_eq!(g.inner_dst(), Some(ip("10.0.0.2")));

    let ca = na.handle.peer_counters(ip("192.0.2.2"));
    assert!(ca.tx_packets >= 3 && ca.rx_packets >= 3, "{ca:?}");
    assert!(ca.tx_bytes >= 3 * 84, "{ca:?}");
    let cb = nb.handle.peer_counters(ip("192.0.2.1"));
    assert!(cb.rx_packets >= 3 && cb.tx_packets >= 3, "{cb:?}");
    assert!(na.handle.counters().tunnel.tx_packets >= 3);

    // The inner TOS is copied to the outer header.
    let sniff = Sniffer::start(&p.b);
    let out = ping(&p.a, &["-c", "1", "-W", "5", "-Q", "0xb8", "10.0.0.2"]);
    assert!(out.status.success(), "{out:?}");
    let tos_of = |g: &Gre| g.payload.get(1).copied();
    sniff.wait_for("DSCP EF inside and outside", |g| {
        g.protocol == 0x0800 && tos_of(g) == Some(0xb8) && g.outer_tos == 0xb8
    });

    // No IPv6 on the tunnel: nothing but IPv4 was read from the TUN device.
    let out =
        p.a.exec(&["cat", "/proc/sys/net/ipv6/conf/Tunnel0/disable_ipv6"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    assert_eq!(na.handle.counters().drops.tun_malformed, 0);

    // Removed on shutdown.
    na.stop();
    wait_until("Tunnel0 removed", || {
        !p.a.exec(&["ip", "link", "show", "dev", "Tunnel0"])
            .status
            .success()
    });
}

#[test]
fn wrong_key_is_dropped() {
    if !can_run() {
        return;
    }
    let p = pair("key");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let mut cb = config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2")));
    cb.key = Some(KEY + 1);
    let nb = Node::start(&p.b, cb);
    map_each_other(&na, &nb);
    let out = ping(&p.a, &["-c", "1", "-W", "1", "10.0.0.2"]);
    assert!(!out.status.success());
    wait_until("key mismatch counted", || {
        nb.handle.counters().drops.key_mismatch >= 1
    });
    assert_eq!(nb.handle.peer_counters(ip("192.0.2.1")).rx_packets, 0);
}

#[test]
fn route_mirror_follows_ip_route_and_unresolved_next_hop_goes_via_nhs() {
    if !can_run() {
        return;
    }
    let p = pair("route");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);
    // The connected route of the tunnel subnet is mirrored from the initial dump.
    wait_until("connected route mirrored", || {
        na.handle
            .routes()
            .iter()
            .any(|r| r.prefix.to_string() == "10.0.0.0/24" && r.gateway.is_none())
    });

    p.b.ip(&["addr", "add", "192.168.2.1/32", "dev", "lo"]);
    p.a.ip(&[
        "route",
        "add",
        "192.168.2.0/24",
        "via",
        "10.0.0.2",
        "dev",
        "Tunnel0",
    ]);
    wait_until("static route mirrored", || {
        na.handle
            .routes()
            .iter()
            .any(|r| r.prefix.to_string() == "192.168.2.0/24" && r.gateway == Some(ip("10.0.0.2")))
    });
    let out = ping(&p.a, &["-c", "1", "-W", "5", "192.168.2.1"]);
    assert!(out.status.success(), "{out:?}");

    // Next hop 10.0.0.7 has no mapping: traffic goes via the NHS (B) and a resolution is
    // asked for; nothing is lost.
    p.a.ip(&[
        "route",
        "replace",
        "192.168.2.0/24",
        "via",
        "10.0.0.7",
        "dev",
        "Tunnel0",
    ]);
    wait_until("route replaced", || {
        na.handle
            .routes()
            .iter()
            .any(|r| r.gateway == Some(ip("10.0.0.7")))
    });
    na.handle.tables().set_nhs(vec![ip("192.0.2.2")]);
    let out = ping(&p.a, &["-c", "3", "-i", "0.2", "-W", "5", "192.168.2.1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 received"));
    let ev = na.wait_event("resolution needed", |e| {
        matches!(e, Event::ResolutionNeeded { .. })
    });
    assert_eq!(
        ev,
        Event::ResolutionNeeded {
            next_hop: ip("10.0.0.7"),
            destination: ip("192.168.2.1"),
            source: ip("10.0.0.1"),
        }
    );

    p.a.ip(&["route", "del", "192.168.2.0/24"]);
    wait_until("route removed from mirror", || {
        !na.handle
            .routes()
            .iter()
            .any(|r| r.prefix.to_string() == "192.168.2.0/24")
    });
}

#[test]
fn tcp_mss_is_clamped_in_both_directions() {
    if !can_run() {
        return;
    }
    let p = pair("mss");
    let mut ca = config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1")));
    ca.tcp_adjust_mss = Some(1000);
    let na = Node::start(&p.a, ca);
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);
    let sniff = Sniffer::start(&p.b);

    let listener = p.b.run_in(|| TcpListener::bind("10.0.0.2:5001").unwrap());
    let accept = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let stream = p.a.run_in(|| {
        TcpStream::connect_timeout(
            &SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5001).into(),
            DEADLINE,
        )
    });
    let stream = stream.expect("TCP connect through the tunnel");
    let _server = accept.join().unwrap().unwrap();

    // The SYN on the wire carries the clamped MSS.
    let g = sniff.wait_for("TCP SYN in GRE", |g| {
        g.protocol == 0x0800 && g.payload.get(9) == Some(&6) && tcp_flags(&g.payload) & 0x02 != 0
    });
    assert_eq!(mss_option(&g.payload), Some(1000));
    // Both the outgoing SYN and the incoming SYN-ACK were clamped on A.
    assert!(na.handle.counters().drops.mss_clamped >= 2);
    drop(stream);
}

fn tcp_flags(ipv4: &[u8]) -> u8 {
    let hl = usize::from(ipv4[0] & 0x0f) * 4;
    ipv4.get(hl + 13).copied().unwrap_or(0)
}

fn mss_option(ipv4: &[u8]) -> Option<u16> {
    let hl = usize::from(ipv4[0] & 0x0f) * 4;
    let tcp = ipv4.get(hl..)?;
    let doff = usize::from(tcp[12] >> 4) * 4;
    let mut i = 20;
    while i < doff {
        match tcp[i] {
            0 => return None,
            1 => i += 1,
            2 => return Some(u16::from_be_bytes([tcp[i + 2], tcp[i + 3]])),
            _ => i += usize::from(tcp[i + 1]).max(2),
        }
    }
    None
}

#[test]
fn oversize_df_gets_icmp_frag_needed_and_others_are_fragmented() {
    if !can_run() {
        return;
    }
    let p = pair("mtu");
    let mut ca = config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1")));
    ca.mtu = 1500;
    ca.nbma_mtu = 1400; // inner limit: 1400 - 20 - 8 = 1372
    let na = Node::start(&p.a, ca);
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);

    // Without DF the packet is fragmented by the data plane and still arrives (before the
    // kernel has learnt a path MTU, it hands over the 1478-byte packets whole).
    let out = ping(
        &p.a,
        &[
            "-c", "2", "-i", "0.2", "-W", "5", "-M", "dont", "-s", "1450", "10.0.0.2",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(na.handle.counters().drops.fragmented >= 2);
    assert_eq!(na.handle.counters().drops.too_big, 0);

    // With DF the data plane answers with ICMP fragmentation-needed carrying its MTU.
    // Use a fresh destination so no path MTU learnt above interferes.
    p.b.ip(&["addr", "add", "10.0.0.3/24", "dev", "Tunnel0"]);
    na.handle
        .tables()
        .set_mapping(ip("10.0.0.3"), ip("192.0.2.2"));
    let out = ping(
        &p.a,
        &["-c", "1", "-W", "2", "-M", "do", "-s", "1450", "10.0.0.3"],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("mtu = 1372") || text.contains("mtu=1372"),
        "ping did not report the frag-needed MTU: {text}"
    );
    assert!(na.handle.counters().drops.too_big >= 1);
}

#[test]
fn multicast_is_replicated_to_every_target() {
    if !can_run() {
        return;
    }
    let p = pair("mcast");
    for extra in ["192.0.2.3/24", "192.0.2.4/24"] {
        p.b.ip(&["addr", "add", extra, "dev", "vB"]);
    }
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let t = na.handle.tables();
    t.set_nhs(vec![ip("192.0.2.2")]);
    t.add_dynamic_peer(ip("192.0.2.4"));
    t.set_multicast_policy(MulticastPolicy {
        static_targets: vec![ip("192.0.2.3")],
        dynamic: true,
        nhs: true,
    });
    p.a.ip(&["route", "add", "224.0.0.0/4", "dev", "Tunnel0"]);
    let sniff = Sniffer::start(&p.b);
    p.a.run_in(|| {
        let s = UdpSocket::bind("10.0.0.1:0").unwrap();
        socket2::SockRef::from(&s)
            .set_multicast_if_v4(&Ipv4Addr::new(10, 0, 0, 1))
            .unwrap();
        s.send_to(b"hello", "224.0.0.5:5000").unwrap();
    });
    for target in ["192.0.2.2", "192.0.2.3", "192.0.2.4"] {
        let g = sniff.wait_for(&format!("multicast copy to {target}"), |g| {
            g.outer_dst == ip(target) && g.inner_dst() == Some(ip("224.0.0.5"))
        });
        assert_eq!(g.key, Some(KEY));
    }
    let copies = sniff
        .packets()
        .iter()
        .filter_map(|p| Gre::parse(p))
        .filter(|g| g.inner_dst() == Some(ip("224.0.0.5")))
        .count();
    assert_eq!(copies, 3);
    // The subnet broadcast is replicated too.
    p.a.run_in(|| {
        let s = UdpSocket::bind("10.0.0.1:0").unwrap();
        s.set_broadcast(true).unwrap();
        s.send_to(b"hello", "10.0.0.255:5000").unwrap();
    });
    sniff.wait_for("broadcast copy", |g| {
        g.inner_dst() == Some(ip("10.0.0.255"))
    });
}

#[test]
fn source_address_change_is_reported_and_traffic_follows() {
    if !can_run() {
        return;
    }
    let p = pair("src");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Interface("vA".into())),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);
    assert!(
        ping(&p.a, &["-c", "1", "-W", "5", "10.0.0.2"])
            .status
            .success()
    );

    p.a.ip(&["addr", "del", "192.0.2.1/24", "dev", "vA"]);
    p.a.ip(&["addr", "add", "192.0.2.11/24", "dev", "vA"]);
    let ev = na.wait_event(
        "source change to .11",
        |e| matches!(e, Event::SourceAddressChanged { new: Some(n), .. } if *n == ip("192.0.2.11")),
    );
    drop(ev);
    assert_eq!(na.handle.source_address(), Some(ip("192.0.2.11")));
    // The daemon would re-register; here the peer's mapping is updated by hand.
    nb.handle
        .tables()
        .set_mapping(ip("10.0.0.1"), ip("192.0.2.11"));
    let sniff = Sniffer::start(&p.b);
    let out = ping(&p.a, &["-c", "1", "-W", "5", "10.0.0.2"]);
    assert!(out.status.success(), "{out:?}");
    let g = sniff.wait_for("GRE from the new source", |g| g.protocol == 0x0800);
    assert_eq!(g.outer_src, ip("192.0.2.11"));
}

#[test]
fn nhrp_frames_go_down_and_come_up() {
    if !can_run() {
        return;
    }
    let p = pair("nhrp");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    let frame = vec![0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0, 20, 0, 0, 0, 0];
    na.handle.send_nhrp(ip("192.0.2.2"), &frame).unwrap();
    let ev = nb.wait_event("NHRP up", |e| matches!(e, Event::Nhrp { .. }));
    assert_eq!(
        ev,
        Event::Nhrp {
            source: ip("192.0.2.1"),
            packet: frame
        }
    );
}

/// Hub and two spokes: the spokes send via the hub (no direct mapping), the hub sees the
/// hairpin and reports it with the ingress NBMA; after a direct mapping is set, traffic
/// goes spoke to spoke.
#[test]
fn hub_reports_hairpin_and_spokes_go_direct_after_mapping() {
    if !can_run() {
        return;
    }
    let Star {
        hub: _hub,
        s1,
        s2: _s2,
        nh,
        n1,
        n2,
    } = star("hp", true);

    let out = ping(&s1, &["-c", "3", "-i", "0.2", "-W", "5", "10.0.0.12"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 received"));
    let ev = nh.wait_event("hairpin", |e| matches!(e, Event::Hairpin { .. }));
    let Event::Hairpin {
        source,
        destination,
        ingress_nbma,
        packet,
    } = ev
    else {
        unreachable!()
    };
    assert_eq!((source, destination), (ip("10.0.0.11"), ip("10.0.0.12")));
    assert_eq!(ingress_nbma, ip("192.0.2.11"));
    assert_eq!(&packet[12..20], &[10, 0, 0, 11, 10, 0, 0, 12]);
    n1.wait_event(
        "spoke 1 asks to resolve 10.0.0.12",
        |e| matches!(e, Event::ResolutionNeeded { next_hop, .. } if *next_hop == ip("10.0.0.12")),
    );
    let relayed = nh.handle.counters().drops.hairpins;
    assert!(relayed >= 3, "hub relayed {relayed}");

    // Resolution done: direct mappings on both spokes.
    n1.handle
        .tables()
        .set_mapping(ip("10.0.0.12"), ip("198.51.100.12"));
    n2.handle
        .tables()
        .set_mapping(ip("10.0.0.11"), ip("192.0.2.11"));
    let out = ping(&s1, &["-c", "3", "-i", "0.2", "-W", "5", "10.0.0.12"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        nh.handle.counters().drops.hairpins,
        relayed,
        "hub still relays"
    );
    assert!(n1.handle.peer_counters(ip("198.51.100.12")).rx_packets >= 3);
}

#[test]
fn point_to_point_tunnel_needs_no_mapping() {
    if !can_run() {
        return;
    }
    let p = pair("p2p");
    let mut ca = config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1")));
    ca.mode = TunnelMode::PointToPoint {
        destination: ip("192.0.2.2"),
    };
    let na = Node::start(&p.a, ca);
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    nb.handle
        .tables()
        .set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
    let out = ping(&p.a, &["-c", "2", "-i", "0.2", "-W", "5", "10.0.0.2"]);
    assert!(out.status.success(), "{out:?}");
    assert!(na.handle.peer_counters(ip("192.0.2.2")).rx_packets >= 2);
}

/// A peer without GRE answers with ICMP protocol-unreachable, which raw sockets report
/// through recv: the reader must carry on.
#[test]
fn icmp_errors_from_a_peer_without_gre_do_not_stop_the_reader() {
    if !can_run() {
        return;
    }
    let p = pair("icmperr");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    na.handle
        .tables()
        .set_mapping(ip("10.0.0.2"), ip("192.0.2.2"));
    // Nothing in B handles GRE yet.
    let out = ping(&p.a, &["-c", "3", "-i", "0.2", "-W", "1", "10.0.0.2"]);
    assert!(!out.status.success());
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    nb.handle
        .tables()
        .set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
    let out = ping(&p.a, &["-c", "2", "-i", "0.2", "-W", "5", "10.0.0.2"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        na.events
            .try_iter()
            .all(|e| !matches!(e, Event::TaskFailed { .. }))
    );
}

#[test]
fn runtime_settings_change_mss_and_mtu() {
    if !can_run() {
        return;
    }
    let p = pair("rt");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    map_each_other(&na, &nb);
    // Interface ioctls work by name in the caller's namespace: call from inside it.
    let h = na.handle.clone();
    p.a.run_in(move || h.set_mtu(1300)).unwrap();
    assert_eq!(na.handle.mtu(), 1300);
    let out = p.a.exec(&["ip", "-o", "link", "show", "dev", "Tunnel0"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("mtu 1300"));
    na.handle.set_tcp_adjust_mss(Some(900));
    let listener = p.b.run_in(|| TcpListener::bind("10.0.0.2:5002").unwrap());
    let accept = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let sniff = Sniffer::start(&p.b);
    p.a.run_in(|| {
        TcpStream::connect_timeout(
            &SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 5002).into(),
            DEADLINE,
        )
    })
    .expect("connect");
    let _ = accept.join().unwrap().unwrap();
    let g = sniff.wait_for("SYN", |g| {
        g.protocol == 0x0800 && g.payload.get(9) == Some(&6) && tcp_flags(&g.payload) & 0x02 != 0
    });
    assert_eq!(mss_option(&g.payload), Some(900));
}

/// A hub and two spokes on separate NBMA segments routed by the hub namespace; the hub
/// maps both spokes, the spokes map the hub and use it as NHS.
struct Star {
    hub: NetNs,
    s1: NetNs,
    s2: NetNs,
    nh: Node,
    n1: Node,
    n2: Node,
}

fn star(tag: &str, detect_hairpin: bool) -> Star {
    let hub = NetNs::new(&format!("{tag}hub"));
    let s1 = NetNs::new(&format!("{tag}s1"));
    let s2 = NetNs::new(&format!("{tag}s2"));
    veth(&hub, "h1", "192.0.2.1/24", &s1, "e1", "192.0.2.11/24");
    veth(&hub, "h2", "198.51.100.1/24", &s2, "e2", "198.51.100.12/24");
    s1.ip(&["route", "add", "default", "via", "192.0.2.1"]);
    s2.ip(&["route", "add", "default", "via", "198.51.100.1"]);
    hub.sysctl("net.ipv4.ip_forward", "1");
    hub.sysctl("net.ipv4.conf.all.send_redirects", "0");

    let mut hc = config("10.0.0.1", TunnelSource::Interface("h1".into()));
    hc.detect_hairpin = detect_hairpin;
    let nh = Node::start(&hub, hc);
    let n1 = Node::start(
        &s1,
        config("10.0.0.11", TunnelSource::Interface("e1".into())),
    );
    let n2 = Node::start(
        &s2,
        config("10.0.0.12", TunnelSource::Interface("e2".into())),
    );
    nh.handle
        .tables()
        .set_mapping(ip("10.0.0.11"), ip("192.0.2.11"));
    nh.handle
        .tables()
        .set_mapping(ip("10.0.0.12"), ip("198.51.100.12"));
    for n in [&n1, &n2] {
        n.handle
            .tables()
            .set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
        n.handle.tables().set_nhs(vec![ip("192.0.2.1")]);
    }
    Star {
        hub,
        s1,
        s2,
        nh,
        n1,
        n2,
    }
}

/// The hub's multicast (`ip nhrp map multicast dynamic`) reaches an application on every
/// registered spoke, and a spoke's multicast (`map multicast nhs`) reaches the hub.
#[test]
fn multicast_reaches_every_registered_spoke_and_the_hub() {
    if !can_run() {
        return;
    }
    let st = star("mc", false);
    st.nh.handle.tables().set_multicast_policy(MulticastPolicy {
        static_targets: vec![],
        dynamic: true,
        nhs: false,
    });
    st.nh.handle.tables().add_dynamic_peer(ip("192.0.2.11"));
    st.nh.handle.tables().add_dynamic_peer(ip("198.51.100.12"));
    for n in [&st.n1, &st.n2] {
        n.handle.tables().set_multicast_policy(MulticastPolicy {
            static_targets: vec![],
            dynamic: false,
            nhs: true,
        });
    }
    let group = Ipv4Addr::new(224, 0, 0, 9);
    let listen = |ns: &NetNs, local: &'static str| {
        let local: Ipv4Addr = local.parse().unwrap();
        ns.run_in(move || {
            let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 5520)).unwrap();
            s.join_multicast_v4(&group, &local).unwrap();
            s.set_read_timeout(Some(DEADLINE)).unwrap();
            s
        })
    };
    let r1 = listen(&st.s1, "10.0.0.11");
    let r2 = listen(&st.s2, "10.0.0.12");
    let rh = listen(&st.hub, "10.0.0.1");
    let send = |ns: &NetNs, local: &'static str, msg: &'static [u8]| {
        let local: Ipv4Addr = local.parse().unwrap();
        ns.run_in(move || {
            let s = UdpSocket::bind((local, 0)).unwrap();
            socket2::SockRef::from(&s)
                .set_multicast_if_v4(&local)
                .unwrap();
            s.set_multicast_loop_v4(false).unwrap();
            s.send_to(msg, (group, 5520)).unwrap();
        })
    };
    send(&st.hub, "10.0.0.1", b"hello from hub");
    let mut buf = [0u8; 64];
    for r in [&r1, &r2] {
        let (n, from) = r
            .recv_from(&mut buf)
            .expect("spoke got the hub's multicast");
        assert_eq!(&buf[..n], b"hello from hub");
        assert_eq!(from.ip(), std::net::IpAddr::V4(ip("10.0.0.1")));
    }
    send(&st.s1, "10.0.0.11", b"hello from s1");
    let (n, _) = rh
        .recv_from(&mut buf)
        .expect("hub got the spoke's multicast");
    assert_eq!(&buf[..n], b"hello from s1");
}

/// Routes as routing daemons install them are mirrored: a BIRD-style route with a protocol
/// and metric, an FRR-style route through a nexthop object, and an ECMP route with one hop
/// into the tunnel; the lowest metric wins.
#[test]
fn route_mirror_follows_routing_daemon_routes() {
    if !can_run() {
        return;
    }
    let p = pair("rd");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let has = |prefix: &str, gw: &str, proto: u8| {
        na.handle.routes().iter().any(|r| {
            r.prefix.to_string() == prefix && r.gateway == Some(ip(gw)) && r.protocol == proto
        })
    };
    p.a.ip(&[
        "route",
        "add",
        "192.168.3.0/24",
        "via",
        "10.0.0.2",
        "dev",
        "Tunnel0",
        "proto",
        "bird",
        "metric",
        "20",
    ]);
    wait_until("BIRD route", || has("192.168.3.0/24", "10.0.0.2", 12));
    p.a.ip(&[
        "route",
        "add",
        "192.168.3.0/24",
        "via",
        "10.0.0.3",
        "dev",
        "Tunnel0",
        "proto",
        "bird",
        "metric",
        "10",
    ]);
    wait_until("lower metric wins", || {
        na.handle.tables().decide(ip("192.168.3.1"))
            == dmvpn_dataplane::Decision::Unreachable {
                next_hop: ip("10.0.0.3"),
            }
    });

    p.a.ip(&[
        "nexthop", "add", "id", "77", "via", "10.0.0.4", "dev", "Tunnel0",
    ]);
    p.a.ip(&[
        "route",
        "add",
        "192.168.4.0/24",
        "nhid",
        "77",
        "proto",
        "zebra",
    ]);
    wait_until("nexthop-object route", || {
        has("192.168.4.0/24", "10.0.0.4", 11)
    });

    p.a.ip(&[
        "route",
        "add",
        "192.168.5.0/24",
        "nexthop",
        "via",
        "192.0.2.9",
        "dev",
        "vA",
        "nexthop",
        "via",
        "10.0.0.5",
        "dev",
        "Tunnel0",
    ]);
    wait_until("ECMP hop into the tunnel", || {
        has("192.168.5.0/24", "10.0.0.5", 3)
    });

    // The kernel flushes routes with their nexthop object without announcing it: the
    // periodic (here: requested) resync removes them.
    p.a.ip(&["nexthop", "del", "id", "77"]);
    na.handle.resync_routes();
    wait_until("nexthop-object route gone with its nexthop", || {
        !na.handle
            .routes()
            .iter()
            .any(|r| r.prefix.to_string() == "192.168.4.0/24")
    });
}

/// Phase 2/3 switch-over at the data plane: a continuous ping from spoke 1 to spoke 2 runs
/// via the hub, the direct mappings are installed mid-stream, and no echo is lost.
#[test]
fn no_ping_is_lost_when_traffic_moves_from_hub_to_direct() {
    if !can_run() {
        return;
    }
    let st = star("sw", true);
    let s1_name = st.s1.name.clone();
    let pinger = std::thread::spawn(move || {
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &s1_name,
                "ping",
                "-n",
                "-c",
                "60",
                "-i",
                "0.05",
                "-W",
                "5",
                "10.0.0.12",
            ])
            .output()
            .expect("ping")
    });
    wait_until("hub relays the first echoes", || {
        st.nh.handle.counters().relayed() >= 10
    });
    st.n1
        .handle
        .tables()
        .set_mapping(ip("10.0.0.12"), ip("198.51.100.12"));
    st.n2
        .handle
        .tables()
        .set_mapping(ip("10.0.0.11"), ip("192.0.2.11"));
    let relayed_at_switch = st.nh.handle.counters().relayed();
    let out = pinger.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("60 received"), "{text}");
    // After the switch the hub relays (almost) nothing more: at most the echoes in flight.
    let relayed_after = st.nh.handle.counters().relayed() - relayed_at_switch;
    assert!(
        relayed_after <= 4,
        "hub relayed {relayed_after} after the switch"
    );
    assert!(st.n1.handle.peer_counters(ip("198.51.100.12")).tx_packets >= 30);
}

/// A fixed `tunnel source` address that is configured only after the tunnel started.
#[test]
fn fixed_source_address_may_appear_after_start() {
    if !can_run() {
        return;
    }
    let p = pair("late");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.21"))),
    );
    let nb = Node::start(
        &p.b,
        config("10.0.0.2", TunnelSource::Address(ip("192.0.2.2"))),
    );
    na.handle
        .tables()
        .set_mapping(ip("10.0.0.2"), ip("192.0.2.2"));
    nb.handle
        .tables()
        .set_mapping(ip("10.0.0.1"), ip("192.0.2.21"));
    p.a.ip(&["addr", "add", "192.0.2.21/24", "dev", "vA"]);
    let out = ping(&p.a, &["-c", "2", "-i", "0.2", "-W", "5", "10.0.0.2"]);
    assert!(out.status.success(), "{out:?}");
}

/// A mapping to this node's own NBMA address is refused instead of looping packets.
#[test]
fn mapping_to_own_nbma_address_does_not_loop() {
    if !can_run() {
        return;
    }
    let p = pair("self");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    na.handle
        .tables()
        .set_mapping(ip("10.0.0.2"), ip("192.0.2.1"));
    let out = ping(&p.a, &["-c", "1", "-W", "1", "10.0.0.2"]);
    assert!(!out.status.success());
    let c = na.handle.counters();
    assert!(c.drops.send_errors >= 1, "{c:?}");
    assert_eq!(c.tunnel.rx_packets, 0);
    assert_eq!(c.tunnel.tx_packets, 0);
}

/// A burst of routes, as a routing daemon loading a table installs them, is mirrored in
/// full, and so is their removal.
#[test]
fn route_mirror_keeps_up_with_a_burst_of_routes() {
    if !can_run() {
        return;
    }
    let p = pair("burst");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let n = 3000;
    let mut batch = String::new();
    for i in 0..n {
        batch.push_str(&format!(
            "route add 172.{}.{}.0/24 via 10.0.0.2 dev Tunnel0 proto bird\n",
            16 + i / 256,
            i % 256
        ));
    }
    let file = std::env::temp_dir().join(format!("dpt-burst-{}.batch", std::process::id()));
    std::fs::write(&file, &batch).unwrap();
    let out = p.a.exec(&["ip", "-batch", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "{out:?}");
    let bird =
        |h: &dmvpn_dataplane::TunnelHandle| h.routes().iter().filter(|r| r.protocol == 12).count();
    wait_until("all routes mirrored", || bird(&na.handle) == n);
    p.a.ip(&["route", "flush", "proto", "bird"]);
    wait_until("all routes removed", || bird(&na.handle) == 0);
}

/// With the kernel's ip_gre loaded (as on a Debian host), the kernel would answer every GRE
/// packet with ICMP port-unreachable; the tunnel installs the nftables rule that drops
/// exactly those, once, however many times it starts.
#[test]
fn kernel_gre_port_unreachable_is_suppressed() {
    if !can_run() {
        return;
    }
    let p = pair("kgre");
    let first = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    first.stop();
    let _again = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let out = p.a.exec(&["nft", "list", "table", "ip", "dmvpn"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let rules: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("port-unreachable"))
        .collect();
    assert_eq!(rules.len(), 1, "{text}");
    assert!(
        rules[0].contains("@th,136,8 0x2f") && rules[0].contains("drop"),
        "{text}"
    );
}

#[test]
fn local_routes_follow_other_interfaces_but_not_the_tunnel_its_source_or_default() {
    if !can_run() {
        return;
    }
    let p = pair("local");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Interface("vA".to_string())),
    );
    let has = |prefix: &str| {
        na.handle
            .local_routes()
            .iter()
            .any(|r| r.to_string() == prefix)
    };
    let v0 = na.handle.routes_version();
    // A LAN set with `ip addr`: its connected route is local, from a notification.
    p.a.ip(&[
        "link", "add", "lan0", "type", "veth", "peer", "name", "lan0p",
    ]);
    p.a.ip(&["addr", "add", "192.168.9.1/24", "dev", "lan0"]);
    p.a.ip(&["link", "set", "lan0p", "up"]);
    p.a.ip(&["link", "set", "lan0", "up"]);
    wait_until("connected LAN route is local", || has("192.168.9.0/24"));
    assert_ne!(na.handle.routes_version(), v0, "the version follows");
    // A route learned behind the LAN (as from a router there) is local too.
    p.a.ip(&[
        "route",
        "add",
        "172.30.0.0/16",
        "via",
        "192.168.9.2",
        "dev",
        "lan0",
    ]);
    wait_until("learned route is local", || has("172.30.0.0/16"));
    // Routes through the tunnel, through the tunnel source interface and the default route
    // are not; a marker route added after them shows they were seen.
    p.a.ip(&[
        "route",
        "add",
        "192.168.50.0/24",
        "via",
        "10.0.0.2",
        "dev",
        "Tunnel0",
    ]);
    p.a.ip(&[
        "route",
        "add",
        "198.51.100.0/24",
        "via",
        "192.0.2.2",
        "dev",
        "vA",
    ]);
    p.a.ip(&["route", "add", "default", "via", "192.0.2.2", "dev", "vA"]);
    p.a.ip(&["route", "add", "172.31.0.0/16", "dev", "lan0"]);
    wait_until("marker route is local", || has("172.31.0.0/16"));
    let local: Vec<String> = na
        .handle
        .local_routes()
        .iter()
        .map(|r| r.to_string())
        .collect();
    for not_local in [
        "192.168.50.0/24",
        "198.51.100.0/24",
        "192.0.2.0/24",
        "0.0.0.0/0",
        "10.0.0.0/24",
    ] {
        assert!(
            !local.iter().any(|l| l == not_local),
            "{not_local} must not be local: {local:?}"
        );
    }
    // Withdrawn routes leave the set.
    p.a.ip(&["route", "del", "172.30.0.0/16"]);
    wait_until("withdrawn route is no longer local", || {
        !has("172.30.0.0/16")
    });
    p.a.ip(&["link", "del", "lan0"]);
    wait_until("routes of a removed interface are no longer local", || {
        !has("192.168.9.0/24") && !has("172.31.0.0/16")
    });
}

#[test]
fn shortcuts_appear_in_the_kernel_table_under_their_own_protocol() {
    use dmvpn_dataplane::netlink::RTPROT_DMVPN_SHORTCUT;
    use dmvpn_dataplane::seam::DataPlane;
    if !can_run() {
        return;
    }
    let p = pair("kshort");
    let na = Node::start(
        &p.a,
        config("10.0.0.1", TunnelSource::Address(ip("192.0.2.1"))),
    );
    let proto = RTPROT_DMVPN_SHORTCUT.to_string();
    let show = || {
        let out = p.a.exec(&["ip", "route", "show", "proto", &proto]);
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let lan = dmvpn_dataplane::Ipv4Prefix::new(ip("192.168.7.0"), 24).unwrap();
    DataPlane::set_shortcut(&na.handle, lan, ip("10.0.0.2"));
    wait_until("the shortcut route is in the kernel table", || {
        show().contains("192.168.7.0/24 via 10.0.0.2 dev Tunnel0")
    });
    let get = p.a.exec(&["ip", "route", "get", "192.168.7.9"]);
    assert!(
        String::from_utf8_lossy(&get.stdout).contains("dev Tunnel0"),
        "{get:?}"
    );
    // Our own route is not mirrored back as a routing-daemon route, nor local.
    assert!(
        !na.handle
            .routes()
            .iter()
            .any(|r| r.prefix.to_string() == "192.168.7.0/24")
    );
    assert_eq!(
        DataPlane::remove_shortcut(&na.handle, lan),
        Some(ip("10.0.0.2"))
    );
    wait_until("the shortcut route is gone", || {
        !show().contains("192.168.7.0/24")
    });
}

//! The simulator and the shipped userspace data plane take the same forwarding decisions:
//! the same tables and the same packets, fed through the entry points each of them uses
//! (the simulator's `DataPlane::from_overlay` / `from_nbma`, and the `Forwarder` the
//! shipped tunnel builds from its `TunnelConfig`), give the same GRE packets to the same
//! NBMA addresses and the same events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use dmvpn_dataplane::pipeline::{Forwarder, Scratch};
use dmvpn_dataplane::{
    Event, ForwardingTables, Ipv4Prefix, MirroredRoute, PacketBuf, TunnelConfig, TunnelSource,
};
use dmvpn_sim::{DataPlane, NodeOutput, Outputs, Prefix, RouteVia};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn pfx(s: &str, len: u8) -> Prefix {
    Prefix::new(ip(s), len).unwrap()
}

fn udp(src: &str, dst: &str) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ipv4(ip(src).octets(), ip(dst).octets(), 64)
        .udp(4000, 5000)
        .write(&mut out, b"same packet")
        .unwrap();
    out
}

/// The tables of a spoke 10.0.0.11/24: the hub 10.0.0.1 (NHS) at 192.0.2.1; a /16 route via
/// the hub; a more specific /25 route via spoke 10.0.0.12 (mapped); a /24 shortcut via
/// spoke 10.0.0.13 (unmapped at first); a host route via unmapped 10.0.0.14.
struct Tables {
    routes: Vec<(&'static str, u8, &'static str)>,
    mappings: Vec<(&'static str, &'static str)>,
    shortcuts: Vec<(&'static str, u8, &'static str)>,
    nhs: (&'static str, &'static str),
}

fn tables() -> Tables {
    Tables {
        routes: vec![
            ("192.168.0.0", 16, "10.0.0.1"),
            ("192.168.2.128", 25, "10.0.0.12"),
            ("172.16.9.9", 32, "10.0.0.14"),
        ],
        mappings: vec![("10.0.0.12", "192.0.2.12")],
        shortcuts: vec![
            ("192.168.2.0", 24, "10.0.0.13"),
            ("192.168.0.0", 16, "10.0.0.15"),
        ],
        nhs: ("10.0.0.1", "192.0.2.1"),
    }
}

fn simulator(t: &Tables) -> DataPlane {
    let mut dp = DataPlane::default();
    dp.set_tunnel_address(ip("10.0.0.11"), 24);
    dp.add_static_mapping(ip(t.nhs.0), ip(t.nhs.1));
    dp.set_relays(vec![ip(t.nhs.0)]);
    dp.add_route(pfx("192.168.1.0", 24), RouteVia::Local);
    for (a, l, nh) in &t.routes {
        dp.add_route(pfx(a, *l), RouteVia::Tunnel(ip(nh)));
    }
    for (o, n) in &t.mappings {
        dp.apply(&NodeOutput::MappingAdd {
            proto: ip(o),
            nbma: ip(n),
        });
    }
    for (a, l, nh) in &t.shortcuts {
        dp.apply(&NodeOutput::ShortcutAdd {
            prefix: pfx(a, *l),
            next_hop: ip(nh),
        });
    }
    dp
}

/// The shipped data plane's forwarding, set up as the daemon sets up a tunnel.
fn shipped(t: &Tables) -> Forwarder {
    let mut cfg = TunnelConfig::new(
        "Tunnel0",
        ip("10.0.0.11"),
        24,
        TunnelSource::Address(ip("192.0.2.11")),
    );
    cfg.detect_hairpin = true;
    let tables = ForwardingTables::new(ip("10.0.0.11"), 24, None).unwrap();
    tables.set_mapping(ip(t.nhs.0), ip(t.nhs.1));
    tables.set_nhs(vec![ip(t.nhs.1)]);
    tables.update_routes(|m| {
        for (a, l, nh) in &t.routes {
            m.upsert(
                0,
                MirroredRoute {
                    prefix: Ipv4Prefix::new(ip(a), *l).unwrap(),
                    gateway: Some(ip(nh)),
                    metric: 0,
                    protocol: 4,
                },
            );
        }
    });
    for (o, n) in &t.mappings {
        tables.set_mapping(ip(o), ip(n));
    }
    for (a, l, nh) in &t.shortcuts {
        tables.set_shortcut(Ipv4Prefix::new(ip(a), *l).unwrap(), ip(nh));
    }
    Forwarder::new(cfg.forwarder_config(0), Arc::new(tables))
}

#[test]
fn simulator_and_shipped_data_plane_decide_alike() {
    let t = tables();
    let mut sim = simulator(&t);
    let ship = shipped(&t);
    let mut scratch = Scratch::new();
    let mut now = Duration::from_secs(10);
    let destinations = [
        "192.168.2.200", // /25 route (10.0.0.12, mapped) beats the /24 shortcut
        "192.168.2.5",   // /24 shortcut (10.0.0.13, unmapped): via the NHS, resolve
        "192.168.7.1",   // /16 shortcut beats the equal /16 route: 10.0.0.15 via the NHS
        "172.16.9.9",    // host route via unmapped 10.0.0.14
        "10.0.0.1",      // connected: the hub itself
        "10.0.0.255",    // subnet broadcast: replicated (no targets)
        "224.0.0.5",     // multicast
    ];
    let mut decided = 0;
    for round in 0..2 {
        for dst in destinations {
            let packet = udp("192.168.1.5", dst);
            let from_sim = sim.from_overlay(&packet, now);
            let mut seen = Outputs::default();
            let mut p = packet.clone();
            seen.up = ship
                .from_overlay(&mut scratch, &mut p, now, &mut seen)
                .map(<[u8]>::to_vec);
            assert_eq!(
                (&from_sim.sent, &from_sim.events, &from_sim.up),
                (&seen.sent, &seen.events, &seen.up),
                "round {round}, destination {dst}"
            );
            decided += from_sim.sent.len();
            now += Duration::from_millis(300);
        }
        // Between the rounds the engine resolves 10.0.0.13 and 10.0.0.15.
        sim.apply(&NodeOutput::MappingAdd {
            proto: ip("10.0.0.13"),
            nbma: ip("192.0.2.13"),
        });
        ship.tables().set_mapping(ip("10.0.0.13"), ip("192.0.2.13"));
    }
    assert!(decided >= 8, "packets left in both: {decided}");

    // A packet from a peer comes up the same way, and when it is routed back into the
    // tunnel both report the same hairpin.
    let inner = udp("192.168.3.5", "192.168.2.200");
    let mut gre = vec![0, 0, 0x08, 0x00];
    gre.extend_from_slice(&inner);
    let from_sim = sim.from_nbma(ip("192.0.2.33"), &gre, now);
    let mut seen = Outputs::default();
    let mut buf = PacketBuf::with_capacity(2048);
    buf.set(&gre).unwrap();
    seen.up = ship
        .from_nbma(ip("192.0.2.33"), &mut buf, now, &mut seen)
        .map(<[u8]>::to_vec);
    assert_eq!(from_sim.up.as_deref(), Some(&inner[..]));
    assert_eq!((&from_sim.up, &from_sim.events), (&seen.up, &seen.events));
    let back_sim = sim.from_overlay(&inner, now + Duration::from_millis(1));
    let mut back = Outputs::default();
    let mut p = inner.clone();
    ship.from_overlay(
        &mut scratch,
        &mut p,
        now + Duration::from_millis(1),
        &mut back,
    );
    assert_eq!(
        (&back_sim.sent, &back_sim.events),
        (&back.sent, &back.events)
    );
    assert!(
        matches!(&back.events[..], [Event::Hairpin { ingress_nbma, .. }] if *ingress_nbma == ip("192.0.2.33"))
    );
    assert_eq!(
        sim.forwarder().counters().drops(),
        ship.counters().drops(),
        "same drops counted"
    );
}

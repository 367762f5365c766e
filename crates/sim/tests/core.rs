//! Simulator core tests with a toy protocol (no NHRP engine involved):
//! timers, delivery, loss, jitter, NAT, partitions, kill/restart, address
//! changes, the data-plane model and trace determinism.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_sim::{
    DataOutcome, DropReason, LinkParams, NodeOutput, Payload, Prefix, RouteVia, Sim, SimNode,
    TraceKind,
};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Sends "ping" to `peer` every second; answers "ping" with "pong";
/// remembers who it heard from. Hairpins are answered with a mapping.
#[derive(Default)]
struct Toy {
    peer: Option<Ipv4Addr>,
    next: Option<Duration>,
    out: Vec<NodeOutput>,
    heard: Vec<(Ipv4Addr, Vec<u8>)>,
    traffic: Vec<Ipv4Addr>,
    hairpins: u32,
    nbma_changes: u32,
}

impl Toy {
    fn pinger(peer: Ipv4Addr) -> Self {
        Toy {
            peer: Some(peer),
            next: Some(Duration::from_secs(1)),
            ..Toy::default()
        }
    }
}

impl SimNode for Toy {
    fn handle_packet(&mut self, _now: Duration, from: Ipv4Addr, bytes: &[u8]) {
        self.heard.push((from, bytes.to_vec()));
        if bytes == b"ping" {
            self.out.push(NodeOutput::Send {
                to_nbma: from,
                bytes: b"pong".to_vec(),
            });
        }
    }
    fn handle_timeout(&mut self, now: Duration) {
        if let Some(peer) = self.peer {
            self.out.push(NodeOutput::Send {
                to_nbma: peer,
                bytes: b"ping".to_vec(),
            });
            self.next = Some(now + Duration::from_secs(1));
        }
    }
    fn poll_timeout(&mut self) -> Option<Duration> {
        self.next
    }
    fn poll_output(&mut self) -> Option<NodeOutput> {
        if self.out.is_empty() {
            None
        } else {
            Some(self.out.remove(0))
        }
    }
    fn handle_traffic(&mut self, _now: Duration, nh: Ipv4Addr, _p: &[u8]) {
        self.traffic.push(nh);
    }
    fn handle_hairpin(&mut self, _: Duration, _: Ipv4Addr, _: Ipv4Addr, _: Ipv4Addr, _: &[u8]) {
        self.hairpins += 1;
    }
    fn local_nbma_changed(&mut self, _now: Duration, _nbma: Ipv4Addr) {
        self.nbma_changes += 1;
    }
}

fn pongs(sim: &Sim<Toy>, n: usize) -> usize {
    sim.node(n)
        .unwrap()
        .heard
        .iter()
        .filter(|(_, b)| b == b"pong")
        .count()
}

#[test]
fn timers_fire_and_packets_arrive_after_latency() {
    let mut sim = Sim::new(1);
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    let _b = sim.add_node("b", ip("1.0.0.2"), Toy::default());
    sim.run_until(Duration::from_millis(1015)).unwrap();
    assert_eq!(pongs(&sim, a), 0, "pong needs 2 x 10 ms");
    sim.run_until(Duration::from_millis(1020)).unwrap();
    assert_eq!(pongs(&sim, a), 1);
    sim.run_until(Duration::from_secs(10) + Duration::from_millis(30))
        .unwrap();
    assert_eq!(pongs(&sim, a), 10);
}

#[test]
fn loss_drops_about_the_configured_fraction() {
    let mut sim = Sim::new(7);
    sim.set_default_link(LinkParams {
        loss: 0.1,
        ..LinkParams::default()
    });
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    sim.add_node("b", ip("1.0.0.2"), Toy::default());
    sim.run_for(Duration::from_secs(1000)).unwrap();
    let lost = sim
        .trace()
        .entries()
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                TraceKind::Dropped {
                    reason: DropReason::Loss,
                    ..
                }
            )
        })
        .count();
    // ~2000 packets at 10 %: expect ~200 losses.
    assert!((120..300).contains(&lost), "lost {lost}");
    assert!(pongs(&sim, a) > 700);
}

#[test]
fn jitter_reorders_packets() {
    let mut sim = Sim::new(3);
    sim.set_default_link(LinkParams {
        latency: Duration::from_millis(10),
        jitter: Duration::from_secs(3),
        loss: 0.0,
    });
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    let b = sim.add_node("b", ip("1.0.0.2"), Toy::default());
    // Number the pings by send order and compare with arrival order.
    sim.run_for(Duration::from_secs(60)).unwrap();
    let sent_at: Vec<Duration> = sim
        .trace()
        .entries()
        .iter()
        .filter(|e| e.node == Some(a) && matches!(e.kind, TraceKind::Sent { .. }))
        .map(|e| e.at)
        .collect();
    let delivered = sim
        .trace()
        .entries()
        .iter()
        .filter(|e| e.node == Some(b) && matches!(e.kind, TraceKind::Delivered { .. }))
        .count();
    assert!(sent_at.len() > 50 && delivered > 50);
    // With 3 s jitter and 1 s spacing, arrival order differs from send order
    // somewhere; detect it through the pong count lagging behind.
    let late = sim
        .trace()
        .entries()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Delivered { .. }) && e.node == Some(b));
    let arrivals: Vec<Duration> = late.map(|e| e.at).collect();
    let min_gap = arrivals.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(
        min_gap < Duration::from_millis(500),
        "some packets bunch up/overtake"
    );
}

#[test]
fn nat_rewrites_source_and_destination() {
    let mut sim = Sim::new(1);
    let hub = sim.add_node("hub", ip("172.17.0.1"), Toy::default());
    let spoke = sim.add_node("spoke", ip("10.1.1.5"), Toy::pinger(ip("172.17.0.1")));
    sim.set_nat(spoke, Some(ip("198.51.100.7")));
    assert_eq!(sim.public_nbma(spoke), Some(ip("198.51.100.7")));
    sim.run_for(Duration::from_millis(1100)).unwrap();
    let heard = &sim.node(hub).unwrap().heard;
    assert_eq!(heard.len(), 1);
    assert_eq!(
        heard[0].0,
        ip("198.51.100.7"),
        "hub sees the public address"
    );
    // The pong went to the public address and was translated back in.
    assert_eq!(pongs(&sim, spoke), 1);
    // The private address is not reachable from outside.
    sim.node_mut(hub).unwrap().peer = Some(ip("10.1.1.5"));
    sim.node_mut(hub).unwrap().next = Some(sim.now());
    sim.pump(hub);
    sim.run_for(Duration::from_millis(100)).unwrap();
    assert!(sim.trace().entries().iter().any(|e| matches!(
        e.kind,
        TraceKind::Dropped { reason: DropReason::Unroutable, dst, .. } if dst == ip("10.1.1.5")
    )));
}

#[test]
fn partition_kill_restart_and_address_change() {
    let mut sim = Sim::new(1);
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    let b = sim.add_node("b", ip("1.0.0.2"), Toy::default());
    sim.partition(&[a], &[b]);
    sim.run_for(Duration::from_millis(5500)).unwrap();
    assert_eq!(pongs(&sim, a), 0);
    sim.heal();
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(pongs(&sim, a), 5);

    sim.kill(b);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(pongs(&sim, a), 5);
    assert!(sim.trace().entries().iter().any(|e| matches!(
        e.kind,
        TraceKind::Dropped {
            reason: DropReason::NodeDown,
            ..
        }
    )));
    sim.restart(b, Toy::default());
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(pongs(&sim, a), 10);
    assert_eq!(
        sim.node(b).unwrap().heard.len(),
        5,
        "restarted node starts empty"
    );

    sim.set_nbma(b, ip("1.0.0.99"));
    assert_eq!(sim.node(b).unwrap().nbma_changes, 1);
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert_eq!(
        pongs(&sim, a),
        10,
        "pings to the old address are unroutable"
    );
    sim.node_mut(a).unwrap().peer = Some(ip("1.0.0.99"));
    sim.run_for(Duration::from_secs(5)).unwrap();
    assert!(pongs(&sim, a) >= 14);
}

#[test]
fn run_until_cond_stops_on_condition_or_deadline() {
    let mut sim = Sim::new(1);
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    sim.add_node("b", ip("1.0.0.2"), Toy::default());
    let met = sim
        .run_until_cond(Duration::from_secs(100), |s| pongs(s, a) == 3)
        .unwrap();
    assert!(met);
    assert_eq!(sim.now(), Duration::from_millis(3020));
    let met = sim
        .run_until_cond(Duration::from_secs(1), |_| false)
        .unwrap();
    assert!(!met);
    assert_eq!(sim.now(), Duration::from_millis(4020));
}

/// A hub-and-spoke data plane: unmapped spoke-to-spoke traffic is relayed
/// by the hub (which sees a hairpin); once mapped, it goes direct.
#[test]
fn data_plane_relays_through_hub_then_goes_direct() {
    let mut sim: Sim<Toy> = Sim::new(1);
    let hub = sim.add_node("hub", ip("172.17.0.1"), Toy::default());
    let s1 = sim.add_node("s1", ip("172.16.1.24"), Toy::default());
    let s2 = sim.add_node("s2", ip("172.16.2.75"), Toy::default());
    let lan1 = Prefix::new(ip("192.168.1.0"), 24).unwrap();
    let lan2 = Prefix::new(ip("192.168.2.0"), 24).unwrap();
    for (n, own) in [(s1, lan1), (s2, lan2)] {
        let dp = sim.dataplane_mut(n).unwrap();
        dp.add_route(own, RouteVia::Local);
        dp.add_static_mapping(ip("10.0.0.1"), ip("172.17.0.1"));
        dp.set_relays(vec![ip("10.0.0.1")]);
    }
    sim.dataplane_mut(s1)
        .unwrap()
        .add_route(lan2, RouteVia::Tunnel(ip("10.0.0.3")));
    sim.dataplane_mut(s2)
        .unwrap()
        .add_route(lan1, RouteVia::Tunnel(ip("10.0.0.2")));
    let hdp = sim.dataplane_mut(hub).unwrap();
    hdp.add_route(lan1, RouteVia::Tunnel(ip("10.0.0.2")));
    hdp.add_route(lan2, RouteVia::Tunnel(ip("10.0.0.3")));
    hdp.add_static_mapping(ip("10.0.0.2"), ip("172.16.1.24"));
    hdp.add_static_mapping(ip("10.0.0.3"), ip("172.16.2.75"));

    let id = sim.send_data(s1, ip("192.168.1.2"), ip("192.168.2.3"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(
        sim.data_outcome(id),
        Some(&DataOutcome::Delivered {
            at: Duration::from_millis(20),
            path: vec![s1, hub, s2]
        })
    );
    assert_eq!(sim.node(s1).unwrap().traffic, vec![ip("10.0.0.3")]);
    assert_eq!(sim.node(hub).unwrap().hairpins, 1);

    // The engine installs a mapping: direct from now on.
    sim.node_mut(s1).unwrap().out.push(NodeOutput::MappingAdd {
        proto: ip("10.0.0.3"),
        nbma: ip("172.16.2.75"),
    });
    sim.pump(s1);
    let id = sim.send_data(s1, ip("192.168.1.2"), ip("192.168.2.3"));
    sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(sim.data_outcome(id).unwrap().is_direct());
    let stats = sim.data_stats();
    assert_eq!(
        (
            stats.sent,
            stats.delivered_relayed,
            stats.delivered_direct,
            stats.relays
        ),
        (2, 1, 1, 1)
    );

    // A host with no route is dropped and counted.
    let id = sim.send_data(s1, ip("192.168.1.2"), ip("8.8.8.8"));
    assert!(matches!(
        sim.data_outcome(id),
        Some(DataOutcome::Dropped {
            reason: DropReason::NoRoute,
            ..
        })
    ));
    let data_sent = sim
        .trace()
        .entries()
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                TraceKind::Sent {
                    payload: Payload::Data { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(data_sent, 3);
}

fn lossy_run(seed: u64) -> String {
    let mut sim = Sim::new(seed);
    sim.set_default_link(LinkParams {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(50),
        loss: 0.2,
    });
    sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    sim.add_node("b", ip("1.0.0.2"), Toy::pinger(ip("1.0.0.1")));
    sim.run_for(Duration::from_secs(200)).unwrap();
    sim.trace().hash()
}

#[test]
fn same_seed_same_trace_hash_different_seed_differs() {
    assert_eq!(lossy_run(42), lossy_run(42));
    assert_ne!(lossy_run(42), lossy_run(43));
}

/// A node that always asks for a timeout in the past is reported, not
/// spun on forever.
#[test]
fn livelock_is_reported() {
    struct Stuck;
    impl SimNode for Stuck {
        fn handle_packet(&mut self, _: Duration, _: Ipv4Addr, _: &[u8]) {}
        fn handle_timeout(&mut self, _: Duration) {}
        fn poll_timeout(&mut self) -> Option<Duration> {
            Some(Duration::ZERO)
        }
        fn poll_output(&mut self) -> Option<NodeOutput> {
            None
        }
    }
    let mut sim = Sim::new(1);
    sim.add_node("stuck", ip("1.0.0.1"), Stuck);
    assert!(matches!(
        sim.run_for(Duration::from_secs(1)),
        Err(dmvpn_sim::SimError::Livelock { .. })
    ));
}

#[test]
fn per_link_parameters_override_the_default() {
    let mut sim = Sim::new(5);
    let a = sim.add_node("a", ip("1.0.0.1"), Toy::pinger(ip("1.0.0.2")));
    sim.add_node("b", ip("1.0.0.2"), Toy::default());
    let c = sim.add_node("c", ip("1.0.0.3"), Toy::pinger(ip("1.0.0.2")));
    // a–b is dead, c–b is slow.
    sim.set_link(
        a,
        1,
        LinkParams {
            loss: 1.0,
            ..LinkParams::default()
        },
    );
    sim.set_link(
        c,
        1,
        LinkParams {
            latency: Duration::from_millis(400),
            ..LinkParams::default()
        },
    );
    sim.run_until(Duration::from_millis(1700)).unwrap();
    assert_eq!(pongs(&sim, a), 0);
    assert_eq!(pongs(&sim, c), 0, "the pong needs 800 ms");
    sim.run_until(Duration::from_millis(1800)).unwrap();
    assert_eq!(pongs(&sim, c), 1);
}

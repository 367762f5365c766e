//! Drive one hub engine with N spokes' registrations and resolutions, without a network, and
//! print throughput: `cargo run --release -p dmvpn-nhrp --example hub_load -- 100000`.
//! (The full benchmark with simulated spokes is `dmvpn bench hub`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use dmvpn_nhrp::packet::{Cie, Message, PacketType, flags};
use dmvpn_nhrp::{Action, Engine, EngineConfig, Instant, InterfaceConfig};
use std::net::Ipv4Addr;
use std::time::Duration;

fn spoke(i: u32) -> (Ipv4Addr, Ipv4Addr) {
    (
        Ipv4Addr::from(0x0a00_0000 + 2 + i),
        Ipv4Addr::from(0xac10_0000 + 2 + i),
    )
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut cfg = InterfaceConfig::new(
        1,
        "Tunnel0",
        Ipv4Addr::new(10, 0, 0, 1),
        8,
        Ipv4Addr::new(172, 17, 0, 1),
    );
    cfg.max_send = None;
    let mut hub = Engine::new(
        EngineConfig {
            interfaces: vec![cfg],
        },
        1,
    )
    .expect("config");
    let regs: Vec<(Ipv4Addr, Vec<u8>)> = (0..n)
        .map(|i| {
            let (proto, nbma) = spoke(i);
            let mut m = Message::new(
                PacketType::RegistrationRequest,
                1,
                nbma,
                proto,
                Ipv4Addr::new(10, 0, 0, 1),
            );
            m.flags = flags::REG_U | flags::NAT;
            m.request_id = i + 1;
            m.cies.push(Cie {
                prefix_len: 0xff,
                mtu: 1400,
                holding_time: 7200,
                ..Cie::default()
            });
            m.ext.forward_transit = Some(vec![]);
            m.ext.reverse_transit = Some(vec![]);
            m.ext.responder = Some(vec![]);
            (nbma, dmvpn_nhrp::codec::encode(&m).expect("encode"))
        })
        .collect();
    let t = std::time::Instant::now();
    let mut sent = 0u64;
    for (k, (nbma, b)) in regs.iter().enumerate() {
        hub.handle_packet(Instant::from_millis(k as u64 / 10), 1, *nbma, b);
        while let Some(a) = hub.poll_action() {
            if matches!(a, Action::Send { .. }) {
                sent += 1;
            }
        }
    }
    let reg = t.elapsed();
    let res: Vec<(Ipv4Addr, Vec<u8>)> = (0..n)
        .map(|i| {
            let (proto, nbma) = spoke(i);
            let (target, _) = spoke((i + 1) % n);
            let mut m = Message::new(PacketType::ResolutionRequest, 64, nbma, proto, target);
            m.flags = flags::Q | flags::A | flags::S | flags::NAT;
            m.request_id = i + 1;
            m.cies.push(Cie {
                prefix_len: 32,
                holding_time: 7200,
                ..Cie::default()
            });
            (nbma, dmvpn_nhrp::codec::encode(&m).expect("encode"))
        })
        .collect();
    let t = std::time::Instant::now();
    for (nbma, b) in &res {
        hub.handle_packet(Instant::from_millis(u64::from(n) / 10), 1, *nbma, b);
        while let Some(a) = hub.poll_action() {
            if matches!(a, Action::Send { .. }) {
                sent += 1;
            }
        }
    }
    let resd = t.elapsed();
    hub.handle_timeout(Instant::from_millis(u64::from(n) / 10) + Duration::from_secs(1));
    println!(
        "spokes={n} entries={} replies={sent} registrations_per_second={:.0} resolutions_per_second={:.0} timers={}",
        hub.cache_entries(None).len(),
        f64::from(n) / reg.as_secs_f64(),
        f64::from(n) / resd.as_secs_f64(),
        hub.timer_count()
    );
}

//! Measures [`dmvpn_metrics::render`] on a hub with N registered spokes:
//! `cargo run --release -p dmvpn-metrics --example render_bench -- 10000`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../mgmt/tests/support/sample.rs"]
mod sample;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use dmvpn_metrics::{MetricsSnapshot, render};
use dmvpn_mgmt::{DmvpnPeer, PacketCounters, PeerAttributes, PeerState, TrafficReport};

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mut dmvpn = sample::hub_dmvpn();
    if let Some(hub) = dmvpn.interfaces.first_mut() {
        hub.peers = (0..n)
            .map(|i| DmvpnPeer {
                nbma: IpAddr::V4(Ipv4Addr::from(0xac10_0000 + i)),
                tunnel: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
                state: PeerState::Up,
                up_down_secs: Some(60),
                attributes: PeerAttributes {
                    dynamic: true,
                    ..PeerAttributes::default()
                },
                entries: vec![],
                counters: PacketCounters {
                    packets_in: u64::from(i) * 3,
                    packets_out: u64::from(i) * 5,
                    bytes_in: u64::from(i) * 300,
                    bytes_out: u64::from(i) * 500,
                },
                crypto: None,
            })
            .collect();
    }
    let mut traffic: TrafficReport = sample::traffic_report();
    if let Some(t) = traffic.interfaces.first_mut() {
        t.interface = "Tunnel0".into();
    }
    let snap = MetricsSnapshot::from_mgmt(&dmvpn, &traffic, &Default::default());
    let runs = 5;
    let mut best = f64::MAX;
    let mut len = 0;
    let mut lines = 0;
    for _ in 0..runs {
        let t0 = Instant::now();
        let text = render(&snap);
        best = best.min(t0.elapsed().as_secs_f64());
        len = text.len();
        lines = text.lines().count();
    }
    println!(
        "peers={n} bytes={len} lines={lines} best_of_{runs}={:.1} ms",
        best * 1e3
    );
}

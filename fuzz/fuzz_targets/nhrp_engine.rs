//! Fuzz target: the sans-IO NHRP engine (`dmvpn_nhrp::Engine`) on hostile input.
//!
//! Two engines, a hub (NHS with dynamic multicast, redirect, routes to a
//! spoke LAN) and a spoke (registered to that hub, shortcut, a local
//! network), are started and then fed a sequence of received packets cut
//! from the input. Each record is
//! `[ctl][len_hi][len_lo][len bytes of NHRP packet]`, where `ctl` bits 0-1
//! pick the outer source (hub, spoke, another spoke, an unknown host), bit 2
//! asks to fix up `ar$chksum` so the fuzzer gets past the checksum, bit 3
//! sends the packet to the spoke instead of the hub, and bits 4-7 advance
//! the clock by that many seconds (timers fire). After every input all
//! actions are drained and the show snapshots are taken. Nothing may panic.
#![no_main]

use dmvpn_nhrp::{
    Engine, EngineConfig, Instant, InterfaceConfig, MulticastMap, NhsConfig, Prefix, StaticMap,
    TunnelRoute,
};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;
use std::time::Duration;

const IF: u32 = 1;
const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
const HUB_PROTO: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SPOKE_NBMA: Ipv4Addr = Ipv4Addr::new(172, 16, 2, 1);
const SOURCES: [Ipv4Addr; 4] = [
    HUB_NBMA,
    SPOKE_NBMA,
    Ipv4Addr::new(172, 16, 3, 1),
    Ipv4Addr::new(198, 51, 100, 7),
];

fn hub() -> Engine {
    let mut c = InterfaceConfig::new(IF, "Tunnel0", HUB_PROTO, 24, HUB_NBMA);
    c.holdtime = Duration::from_secs(300);
    c.multicast.push(MulticastMap::Dynamic);
    c.redirect = true;
    c.routes.push(TunnelRoute {
        prefix: Prefix::new(Ipv4Addr::new(192, 168, 2, 0), 24).expect("valid prefix"),
        next_hop: Ipv4Addr::new(10, 0, 0, 2),
    });
    Engine::new(
        EngineConfig {
            interfaces: vec![c],
        },
        1,
    )
    .expect("hub configuration is valid")
}

fn spoke() -> Engine {
    let mut c = InterfaceConfig::new(IF, "Tunnel0", Ipv4Addr::new(10, 0, 0, 2), 24, SPOKE_NBMA);
    c.holdtime = Duration::from_secs(300);
    c.shortcut = true;
    c.nhs.push(NhsConfig {
        protocol: HUB_PROTO,
        nbma: None,
        priority: 0,
    });
    c.static_maps.push(StaticMap {
        protocol: Prefix::host(HUB_PROTO),
        nbma: HUB_NBMA,
    });
    c.local_networks
        .push(Prefix::new(Ipv4Addr::new(192, 168, 2, 0), 24).expect("valid prefix"));
    Engine::new(
        EngineConfig {
            interfaces: vec![c],
        },
        2,
    )
    .expect("spoke configuration is valid")
}

/// Drain every action and exercise the read-only views.
fn drain(engine: &mut Engine) {
    let mut n = 0usize;
    while engine.poll_action().is_some() {
        n += 1;
        assert!(n < 1_000_000, "poll_action never returns None");
    }
    let _ = engine.cache_entries(None);
    let _ = engine.nhs_status(None);
    let _ = engine.shortcuts(None);
    let _ = engine.traffic(IF);
    let _ = engine.interfaces();
}

/// Run the due timers of `engine` up to `now`.
fn tick(engine: &mut Engine, now: Instant) {
    if engine.poll_timeout().is_some_and(|t| t <= now) {
        engine.handle_timeout(now);
    }
    drain(engine);
}

/// Set `ar$chksum` (bytes 12..14) over `ar$pktsz` bytes when the size is sane.
fn fix_checksum(bytes: &mut [u8]) {
    let Some(size) = bytes
        .get(10..12)
        .map(|s| usize::from(u16::from_be_bytes([s[0], s[1]])))
    else {
        return;
    };
    if size < 14 || size > bytes.len() {
        return;
    }
    bytes[12] = 0;
    bytes[13] = 0;
    let sum = dmvpn_wire::internet_checksum(&bytes[..size]);
    bytes[12..14].copy_from_slice(&sum.to_be_bytes());
}

fuzz_target!(|data: &[u8]| {
    let mut engines = [hub(), spoke()];
    let mut now = Instant::ZERO;
    for e in &mut engines {
        e.handle_timeout(now);
        drain(e);
    }

    let mut rest = data;
    while let Some((&[ctl, hi, lo], tail)) = rest.split_first_chunk::<3>() {
        let len = usize::from(u16::from_be_bytes([hi, lo])).min(tail.len());
        let (packet, tail) = tail.split_at(len);
        rest = tail;

        now = now + Duration::from_secs(u64::from(ctl >> 4));
        let from = SOURCES[usize::from(ctl & 3)];
        let mut bytes = packet.to_vec();
        if ctl & 4 != 0 {
            fix_checksum(&mut bytes);
        }
        let target = usize::from(ctl & 8 != 0);
        for e in &mut engines {
            tick(e, now);
        }
        if let Some(e) = engines.get_mut(target) {
            e.handle_packet(now, IF, from, &bytes);
            drain(e);
        }
    }

    // Let every timer run out once, then stop cleanly.
    now = now + Duration::from_secs(3600);
    for e in &mut engines {
        tick(e, now);
        e.shutdown(now);
        drain(e);
    }
});

//! Bounds and odd inputs: SA and half-open limits, datagrams for unknown SPIs, garbage,
//! keepalive bytes, configuration updates, a configured identity, keyring lookups by
//! address.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;

use dmvpn_ike::{
    Authenticator, DropReason, Identity, IkeEngine, IkeEvent, Keyring, KeyringEntry, Output,
};
use engine_support::{Net, PSK, addr, psk_config};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn max_sas_refuses_new_negotiations() {
    let mut cfgs: Vec<_> = (0..4).map(|_| psk_config(PSK)).collect();
    cfgs[0].limits.max_sas = 2;
    let mut net = Net::new(300, cfgs);
    for j in 1..4 {
        net.protect(0, j);
    }
    net.run_for(secs(3));
    assert_eq!(net.established(0), 2);
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::Refused { .. })));
    // A responder at its limit refuses too.
    net.protect(3, 0);
    net.run_for(secs(1));
    assert_eq!(net.established(0), 2);
}

#[test]
fn half_open_limit_drops_init() {
    let mut cfgs: Vec<_> = (0..3).map(|_| psk_config(PSK)).collect();
    cfgs[0].limits.max_half_open = 1;
    cfgs[0].limits.cookie_threshold = 10;
    let mut net = Net::new(301, cfgs);
    // Two initiators at once: their INITs arrive together.
    net.protect(1, 0);
    net.protect(2, 0);
    // The second INIT finds the half-open table full.
    net.run_for(secs(1));
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::Dropped {
            reason: DropReason::HalfOpen,
            ..
        }
    )));
    // The dropped initiator retransmits and gets through once the first is done.
    net.run_for(secs(10));
    assert_eq!(net.established(0), 2);
}

fn engine() -> IkeEngine {
    IkeEngine::new(
        psk_config(PSK),
        Box::new(dmvpn_crypto::SeededRandom::new(5)),
    )
    .unwrap()
}

fn events(e: &mut IkeEngine) -> Vec<IkeEvent> {
    let mut v = Vec::new();
    while let Some(o) = e.poll_output() {
        match o {
            Output::Event(x) => v.push(x),
            Output::Send { .. } => panic!("answered garbage"),
            _ => {}
        }
    }
    v
}

#[test]
fn garbage_and_unknown_spis_are_dropped() {
    let mut e = engine();
    let l = SocketAddrV4::new(addr(0), 500);
    let r = SocketAddrV4::new(addr(1), 500);
    e.handle_datagram(secs(1), l, r, &[0xFF]);
    assert!(events(&mut e).is_empty(), "a keepalive is silently ignored");
    e.handle_datagram(secs(1), l, r, &[1, 2, 3]);
    assert!(matches!(
        events(&mut e)[..],
        [IkeEvent::Dropped {
            reason: DropReason::Malformed,
            ..
        }]
    ));
    // A well-formed header for an SA we do not have (INFORMATIONAL, SK first).
    let mut m = vec![0u8; 28];
    m[..8].copy_from_slice(&7u64.to_be_bytes());
    m[8..16].copy_from_slice(&9u64.to_be_bytes());
    m[16] = 46;
    m[17] = 0x20;
    m[18] = 37;
    m[19] = 0x08;
    m[24..28].copy_from_slice(&28u32.to_be_bytes());
    e.handle_datagram(secs(1), l, r, &m);
    assert!(matches!(
        events(&mut e)[..],
        [IkeEvent::Dropped {
            reason: DropReason::UnknownSpi,
            ..
        }]
    ));
    m[17] = 0x10;
    e.handle_datagram(secs(1), l, r, &m);
    assert!(matches!(
        events(&mut e)[..],
        [IkeEvent::Dropped {
            reason: DropReason::Version,
            ..
        }]
    ));
    assert!(e.sas().is_empty());
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn configured_identity_and_keyring_by_address() {
    // Node 1 knows node 0 only by its /32 key, and node 0 presents a configured identity.
    let mut k0 = Keyring::default();
    k0.push(KeyringEntry::new(addr(1), 32, b"pair-key").unwrap());
    k0.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"other").unwrap());
    let mut a = psk_config(b"x");
    a.auth = Authenticator::Psk(k0);
    a.local_id = Some(Identity::Ipv4(Ipv4Addr::new(10, 255, 0, 1)));
    let mut k1 = Keyring::default();
    k1.push(KeyringEntry::new(addr(0), 32, b"pair-key").unwrap());
    let mut b = psk_config(b"x");
    b.auth = Authenticator::Psk(k1);
    let mut net = Net::new(310, vec![a, b]);
    net.protect(0, 1);
    net.run_for(secs(3));
    assert!(net.protected(0, 1));
    assert_eq!(
        net.nodes[1].engine.sas()[0].peer_id.as_deref(),
        Some("10.255.0.1")
    );
}

#[test]
fn configuration_updates_apply_to_new_negotiations() {
    let mut net = Net::pair(320, |_| {});
    net.protect(0, 1);
    net.run_for(secs(3));
    let now = net.now;
    let mut bad = psk_config(PSK);
    bad.proposals.clear();
    assert!(net.nodes[0].engine.update_config(now, bad).is_err());
    let mut cfg = psk_config(PSK);
    cfg.child_lifetime = secs(600);
    net.nodes[0].engine.update_config(now, cfg.clone()).unwrap();
    net.nodes[1].engine.update_config(now, cfg).unwrap();
    // The running Child SA keeps its lifetime until the next rekey, which uses the new one.
    assert_eq!(
        net.nodes[0]
            .installed
            .values()
            .next()
            .unwrap()
            .hard_lifetime,
        secs(3600)
    );
    net.run_for(secs(3600));
    net.assert_keys_match(0, 1);
    assert_eq!(
        net.nodes[0]
            .installed
            .values()
            .next()
            .unwrap()
            .hard_lifetime,
        secs(600)
    );
}

#[test]
fn show_views() {
    let mut net = Net::pair(330, |_| {});
    net.protect(0, 1);
    net.run_for(secs(3));
    let sa = &net.nodes[0].engine.sas()[0];
    assert!(sa.initiator);
    assert_eq!(sa.remote, SocketAddrV4::new(addr(1), 500));
    assert_eq!(sa.children, 1);
    assert_eq!(sa.peer_id.as_deref(), Some("192.0.2.2"));
    let c = &net.nodes[0].engine.children()[0];
    assert_eq!(c.peer, addr(1));
    assert!(c.remaining <= secs(3600));
    assert_eq!(c.ike_spi, sa.spi_i);
    let text = format!("{:?}", net.nodes[0].engine);
    assert!(text.contains("IkeEngine"));
    let child = format!("{:?}", net.nodes[0].installed.values().next().unwrap());
    assert!(child.contains("redacted"));
}

#[test]
fn extreme_times_and_lifetimes_do_not_panic() {
    let mut net = Net::pair(340, |c| {
        c.ike_lifetime = Duration::MAX;
        c.child_lifetime = Duration::MAX;
        c.reconnect = Duration::MAX;
        c.reconnect_max = Duration::MAX;
    });
    net.now = Duration::MAX - secs(100);
    net.protect(0, 1);
    net.run_until(Duration::MAX - secs(1));
    assert!(net.protected(0, 1));
    let now = net.now;
    net.nodes[0].engine.handle_timeout(now);
    net.nodes[0].engine.clear(now, None);
    net.nodes[0].engine.handle_timeout(Duration::MAX);
    net.drain(0);
}

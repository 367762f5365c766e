//! Unit tests of [`super::EspProtection`]: fail-closed sending and receiving, unknown
//! SPIs, make-before-break rekeys, NAT-T, lifetimes and events.

use super::*;
use crate::lifetime::{LifetimeLimits, Limit};
use crate::sa::tests::{A, B, buf, mirror, spec, suites};
use crate::sa::{SaSpec, tests::hex};
use dmvpn_crypto::SeededRandom;
use dmvpn_forwarding::transport::{Protector, Received, RecvDrop, Transmit};

const C: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 3);
const GRE: &[u8] = &[0x00, 0x00, 0x08, 0x00, 0x45, 0, 0, 20, 1, 2, 3, 4];

fn node(local: Ipv4Addr, seed: u64) -> EspProtection {
    EspProtection::new(local, Box::new(SeededRandom::new(seed)))
}

fn gcm() -> SaSpec {
    spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        false,
    )
}

fn with_spis(mut s: SaSpec, spi_in: u32, spi_out: u32) -> SaSpec {
    s.spi_in = spi_in;
    s.spi_out = spi_out;
    s
}

/// A (our side, local A, peer B) and B (local B, peer A), with the pair `s` installed.
fn linked(s: &SaSpec, now: Duration) -> (EspProtection, EspProtection) {
    let (a, b) = (node(A, 1), node(B, 2));
    a.install(SaPair::new(s, now).unwrap()).unwrap();
    b.install(SaPair::new(&mirror(s), now).unwrap()).unwrap();
    (a, b)
}

/// Sends GRE from `from` to `to_peer` and returns the wire bytes, or the refusal.
fn send(from: &EspProtection, to_peer: Ipv4Addr) -> Result<(Underlay, Vec<u8>), ProtectionError> {
    let mut p = buf(GRE);
    let u = from.protect(to_peer, &mut p)?;
    Ok((u, p.as_slice().to_vec()))
}

fn recv(
    at: &EspProtection,
    from_peer: Ipv4Addr,
    u: Underlay,
    bytes: &[u8],
) -> Result<Vec<u8>, ProtectionError> {
    let mut p = buf(bytes);
    at.unprotect(from_peer, u, &mut p)?;
    Ok(p.as_slice().to_vec())
}

#[test]
fn no_sa_is_never_cleartext() {
    let a = node(A, 1);
    // Unprotected peer, no policy: plain GRE both ways.
    assert_eq!(send(&a, B).unwrap(), (Underlay::Gre, GRE.to_vec()));
    assert_eq!(recv(&a, B, Underlay::Gre, GRE).unwrap(), GRE);
    // A required peer: NoSa, the packet untouched; its cleartext refused.
    a.set_required(B, true);
    let mut p = buf(GRE);
    assert_eq!(a.protect(B, &mut p), Err(ProtectionError::NoSa(B)));
    assert_eq!(p.as_slice(), GRE);
    assert_eq!(
        recv(&a, B, Underlay::Gre, GRE),
        Err(ProtectionError::Integrity(B))
    );
    // Protect all: every peer.
    assert_eq!(send(&a, C).unwrap().0, Underlay::Gre);
    a.set_protect_all(true);
    assert!(a.is_required(C));
    assert_eq!(send(&a, C), Err(ProtectionError::NoSa(C)));
    a.set_protect_all(false);
    a.set_required(B, false);
    assert_eq!(send(&a, B).unwrap().0, Underlay::Gre);
    let s = a.stats();
    assert_eq!((s.no_sa, s.cleartext_refused), (2, 1));
    // ESP without any SA: refused.
    assert!(recv(&a, B, Underlay::Esp, &[0; 40]).is_err());
}

#[test]
fn protected_round_trip_through_the_protector() {
    let (a, b) = linked(&gcm(), Duration::ZERO);
    let (pa, pb) = (
        Protector::new(Arc::new(a), 4),
        Protector::new(Arc::new(b), 4),
    );
    let mut p = buf(GRE);
    assert_eq!(pa.outbound(B, 0, &mut p), Transmit::Send(Underlay::Esp));
    assert_ne!(p.as_slice(), GRE);
    assert_eq!(
        pb.inbound(A, dmvpn_forwarding::transport::IPPROTO_ESP, &mut p),
        Received::Gre { source: A }
    );
    assert_eq!(p.as_slice(), GRE);
    // Cleartext GRE from the protected peer is refused.
    let mut p = buf(GRE);
    assert!(matches!(
        pb.inbound(A, dmvpn_forwarding::transport::IPPROTO_GRE, &mut p),
        Received::Dropped(RecvDrop::Protection(ProtectionError::Integrity(_)))
    ));
}

#[test]
fn every_suite_and_mode_through_protection() {
    for (enc, integ) in suites() {
        for mode in [Mode::Transport, Mode::Tunnel] {
            for esn in [false, true] {
                let (a, b) = linked(&spec(enc, integ, mode, esn), Duration::ZERO);
                for _ in 0..3 {
                    let (u, wire) = send(&a, B).unwrap();
                    assert_eq!(recv(&b, A, u, &wire).unwrap(), GRE);
                    let (u, wire) = send(&b, A).unwrap();
                    assert_eq!(recv(&a, B, u, &wire).unwrap(), GRE);
                }
            }
        }
    }
}

#[test]
fn unknown_spi_is_refused_counted_and_reported_once() {
    let (a, _) = linked(&gcm(), Duration::ZERO);
    let mut bogus = vec![0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1];
    bogus.extend([0u8; 40]);
    for _ in 0..3 {
        assert_eq!(
            recv(&a, B, Underlay::Esp, &bogus),
            Err(ProtectionError::Integrity(B))
        );
    }
    assert_eq!(a.stats().invalid_spi, 3);
    assert_eq!(
        a.take_events(),
        vec![EspEvent::InvalidSpi {
            peer: B,
            local: A,
            spi: 0xdead_beef
        }]
    );
    assert!(recv(&a, B, Underlay::NatT, &bogus).is_err());
    assert_eq!(a.take_events().len(), 1, "reported again once taken");
    // Too short for an SPI.
    assert!(recv(&a, B, Underlay::Esp, &[1, 2, 3]).is_err());
    assert_eq!(a.stats().malformed, 1);
    // A known SPI from the wrong peer.
    let (_, b) = linked(&gcm(), Duration::ZERO);
    let (u, wire) = send(&b, A).unwrap();
    assert!(recv(&a, C, u, &wire).is_err());
    assert_eq!(a.stats().wrong_peer, 1);
    assert!(recv(&a, B, u, &wire).is_ok());
}

#[test]
fn rekey_is_make_before_break() {
    let old = gcm();
    let new = with_spis(gcm(), 0x3000_0003, 0x4000_0004);
    let (a, b) = linked(&old, Duration::ZERO);
    // B sends on the old pair; the packet is still in flight during the rekey.
    let (u, in_flight) = send(&b, A).unwrap();
    // Both install the new pair: A's traffic moves to it at once.
    a.install(SaPair::new(&new, Duration::ZERO).unwrap())
        .unwrap();
    b.install(SaPair::new(&mirror(&new), Duration::ZERO).unwrap())
        .unwrap();
    let (_, wire) = send(&a, B).unwrap();
    assert_eq!(
        EspPacket::new_checked(&wire[..]).unwrap().spi(),
        new.spi_out
    );
    assert_eq!(recv(&b, A, u, &wire).unwrap(), GRE);
    // The old inbound SA still takes the packet sent before the switch.
    assert_eq!(recv(&a, B, u, &in_flight).unwrap(), GRE);
    let snap = a.snapshot(Duration::ZERO);
    assert_eq!(
        snap.iter()
            .map(|s| (s.spi_in, s.active))
            .collect::<Vec<_>>(),
        vec![(old.spi_in, false), (new.spi_in, true)]
    );
    // Deleting the old pair leaves the new one; old-SPI packets are now unknown.
    assert!(a.remove_spi(old.spi_in));
    assert!(!a.remove_spi(old.spi_in));
    assert!(recv(&a, B, u, &in_flight).is_err());
    assert_eq!(send(&a, B).unwrap().0, Underlay::Esp);
    // Deleting the last pair fails closed.
    assert!(a.remove_spi(new.spi_in));
    assert!(!a.has_sa(B));
    assert_eq!(send(&a, B), Err(ProtectionError::NoSa(B)));
    assert!(recv(&a, B, Underlay::Gre, GRE).is_err());
}

#[test]
fn removing_the_active_pair_falls_back_to_the_newest_other() {
    let a = node(A, 1);
    let s1 = gcm();
    let s2 = with_spis(gcm(), 0x3000_0003, 0x4000_0004);
    let s3 = with_spis(gcm(), 0x5000_0005, 0x6000_0006);
    for s in [&s1, &s2, &s3] {
        a.install(SaPair::new(s, Duration::ZERO).unwrap()).unwrap();
    }
    assert_eq!(
        a.install(SaPair::new(&s1, Duration::ZERO).unwrap()),
        Err(InstallError::DuplicateSpi(s1.spi_in))
    );
    let out_spi = |a: &EspProtection| {
        let (_, w) = send(a, B).unwrap();
        EspPacket::new_checked(&w[..]).unwrap().spi()
    };
    assert_eq!(out_spi(&a), s3.spi_out);
    a.remove_spi(s3.spi_in);
    assert_eq!(out_spi(&a), s2.spi_out);
    assert_eq!(a.remove_peer(B), 2);
    assert_eq!(send(&a, B), Err(ProtectionError::NoSa(B)));
    assert!(a.is_required(B), "a peer that had an SA stays protected");
}

#[test]
fn replay_and_tampering_are_counted_and_reported() {
    let (a, b) = linked(&gcm(), Duration::ZERO);
    let (u, wire) = send(&a, B).unwrap();
    assert!(recv(&b, A, u, &wire).is_ok());
    assert_eq!(recv(&b, A, u, &wire), Err(ProtectionError::Integrity(A)));
    let (u, mut wire) = send(&a, B).unwrap();
    let last = wire.len() - 1;
    wire[last] ^= 1;
    assert_eq!(recv(&b, A, u, &wire), Err(ProtectionError::Integrity(A)));
    let spi = gcm().spi_out;
    assert_eq!(
        b.take_events(),
        vec![
            EspEvent::ReplayFailure {
                peer: A,
                spi,
                sequence: 1
            },
            EspEvent::AuthFailure { peer: A, spi }
        ]
    );
    let c = b.snapshot(Duration::ZERO)[0].counters;
    assert_eq!(
        (
            c.pkts_decaps,
            c.replay_failures,
            c.auth_failures,
            c.recv_errors
        ),
        (1, 1, 1, 2)
    );
}

#[test]
fn nat_t_and_keepalives() {
    let mut s = gcm();
    s.nat_t = Some(4501);
    let (a, b) = linked(&s, Duration::ZERO);
    assert_eq!(a.underlay(B), Some((Underlay::NatT, Some(4501))));
    assert_eq!(a.underlay(C), None);
    let (u, wire) = send(&a, B).unwrap();
    assert_eq!(u, Underlay::NatT);
    assert_eq!(recv(&b, A, u, &wire).unwrap(), GRE);
    assert_eq!(
        recv(&b, A, Underlay::NatT, &[0xff]),
        Err(ProtectionError::Unexpected(A, Underlay::NatT))
    );
    assert_eq!(b.stats(), ProtectionStats::default());
    assert!(recv(&b, A, Underlay::Ike, b"ike").is_err());
}

#[test]
fn lifetimes_soft_once_then_hard_removes() {
    let mut s = gcm();
    s.limits = LifetimeLimits {
        soft_bytes: Some(30),
        ..LifetimeLimits::time(Duration::from_secs(100), Duration::from_secs(120))
    };
    let t0 = Duration::from_secs(1000);
    let (a, b) = linked(&s, t0);
    assert!(a.poll_expired(t0 + Duration::from_secs(10)).is_empty());
    // Volume soft limit: 3 × 12 bytes.
    for _ in 0..3 {
        let (u, w) = send(&a, B).unwrap();
        recv(&b, A, u, &w).unwrap();
    }
    let soft = vec![Expiry {
        peer: B,
        spi_in: s.spi_in,
        spi_out: s.spi_out,
        lifetime: Lifetime::SoftExpired(Limit::Bytes),
    }];
    assert_eq!(a.poll_expired(t0 + Duration::from_secs(11)), soft);
    assert!(
        a.poll_expired(t0 + Duration::from_secs(101)).is_empty(),
        "once"
    );
    let snap = &a.snapshot(t0 + Duration::from_secs(20))[0];
    assert_eq!(snap.remaining_time, Some(Duration::from_secs(100)));
    assert_eq!(snap.lifetime, Lifetime::SoftExpired(Limit::Bytes));
    let hard = a.poll_expired(t0 + Duration::from_secs(120));
    assert_eq!(hard[0].lifetime, Lifetime::HardExpired(Limit::Time));
    assert!(a.snapshot(t0).is_empty());
    assert_eq!(send(&a, B), Err(ProtectionError::NoSa(B)));
}

#[test]
fn idle_timeout_counts_from_the_last_packet() {
    let mut s = gcm();
    s.limits.idle = Some(Duration::from_secs(60));
    let (a, b) = linked(&s, Duration::ZERO);
    let at = Duration::from_secs;
    assert!(a.poll_expired(at(30)).is_empty());
    let (u, w) = send(&b, A).unwrap();
    recv(&a, B, u, &w).unwrap();
    assert!(a.poll_expired(at(40)).is_empty(), "activity seen at 40 s");
    assert!(a.poll_expired(at(99)).is_empty());
    let e = a.poll_expired(at(100));
    assert_eq!(e[0].lifetime, Lifetime::HardExpired(Limit::Idle));
    assert!(!a.has_sa(B));
}

#[test]
fn exhausted_sequence_numbers_wait_for_a_new_sa() {
    let (a, _) = linked(&gcm(), Duration::ZERO);
    a.read().active[&B]
        .outbound
        .set_next_sequence(u64::from(u32::MAX));
    assert_eq!(send(&a, B).unwrap().0, Underlay::Esp);
    let mut p = buf(GRE);
    assert_eq!(a.protect(B, &mut p), Err(ProtectionError::NoSa(B)));
    assert_eq!(p.as_slice(), GRE);
    assert_eq!(
        a.take_events(),
        vec![EspEvent::OutboundExhausted {
            peer: B,
            spi: gcm().spi_out
        }]
    );
    let e = a.poll_expired(Duration::ZERO);
    assert_eq!(e[0].lifetime, Lifetime::HardExpired(Limit::Sequence));
    assert!(!a.has_sa(B));
}

#[test]
fn dummy_packets_are_dropped_quietly() {
    let (a, b) = linked(&gcm(), Duration::ZERO);
    let _ = a;
    // An ESP packet with Next Header 59, sealed with A's outbound keys.
    let s = gcm();
    let c = dmvpn_crypto::Cipher::new(s.encryption, None, s.enc_key_out.as_slice(), &[]).unwrap();
    let mut p = Vec::new();
    p.extend_from_slice(&s.spi_out.to_be_bytes());
    p.extend_from_slice(&hex("00000001 0000000000000001"));
    p.extend_from_slice(&[1, 2, 2, 59]);
    p.extend([0u8; 16]);
    let aad = c.esp_aad(s.spi_out, 1, false);
    c.seal_region(aad.aad(), aad.tail(), &mut p[8..]).unwrap();
    assert_eq!(
        recv(&b, A, Underlay::Esp, &p),
        Err(ProtectionError::Unexpected(A, Underlay::Esp))
    );
    assert!(b.take_events().is_empty());
    let c = b.snapshot(Duration::ZERO)[0].counters;
    assert_eq!((c.dummy_packets, c.recv_errors), (1, 0));
}

#[test]
fn event_queue_is_bounded() {
    let a = node(A, 1);
    for spi in 0..(MAX_EVENTS as u32 + 10) {
        let mut p = spi.to_be_bytes().to_vec();
        p.extend([0u8; 40]);
        let _ = recv(&a, B, Underlay::Esp, &p);
    }
    assert_eq!(a.take_events().len(), MAX_EVENTS);
    assert_eq!(a.stats().events_dropped, 10);
    assert!(format!("{a:?}").contains("EspProtection"));
}

#[test]
fn snapshot_shows_the_pair() {
    let mut s = spec(
        Encryption::AesCbc { key_bits: 256 },
        Some(Integrity::HmacSha256_128),
        Mode::Tunnel,
        true,
    );
    s.replay_window = 128;
    s.limits.hard_bytes = Some(1000);
    let (a, b) = linked(&s, Duration::from_secs(5));
    let (u, w) = send(&a, B).unwrap();
    recv(&b, A, u, &w).unwrap();
    let snap = &a.snapshot(Duration::from_secs(65))[0];
    assert_eq!(
        (snap.peer, snap.local, snap.spi_in, snap.spi_out),
        (B, A, s.spi_in, s.spi_out)
    );
    assert_eq!(
        (snap.mode, snap.esn, snap.replay_window),
        (Mode::Tunnel, true, 128)
    );
    assert_eq!(snap.encryption, s.encryption);
    assert_eq!(snap.integrity, s.integrity);
    assert_eq!(snap.age, Duration::from_secs(60));
    assert_eq!(snap.remaining_bytes, Some(1000 - GRE.len() as u64));
    assert_eq!((snap.counters.pkts_encaps, snap.last_sequence_out), (1, 1));
    assert!(snap.active);
    assert_eq!(b.snapshot(Duration::ZERO)[0].highest_sequence_in, 1);
}

#[test]
fn esp_that_beats_its_sa_opens_once_the_sa_is_installed() {
    let now = Duration::ZERO;
    let s = gcm();
    // B (the IKE responder) has the pair and sends at once; A has not installed it yet.
    let (a, b) = (node(A, 1), node(B, 2));
    b.install(SaPair::new(&mirror(&s), now).unwrap()).unwrap();
    let (u, wire) = send(&b, A).unwrap();
    assert_eq!(recv(&a, B, u, &wire), Err(ProtectionError::Integrity(B)));
    assert_eq!(a.stats().invalid_spi, 1);
    // Another SPI's early packet stays; this one opens when its pair arrives, once.
    assert!(a.take_early(s.spi_in ^ 1).is_empty());
    a.install(SaPair::new(&s, now).unwrap()).unwrap();
    assert_eq!(a.take_early(s.spi_in), vec![(B, GRE.to_vec())]);
    assert!(a.take_early(s.spi_in).is_empty());
    // The unknown-SPI report is withdrawn: the peer did not restart.
    assert!(
        !a.take_events()
            .iter()
            .any(|e| matches!(e, EspEvent::InvalidSpi { .. }))
    );
}

#[test]
fn early_packets_are_bounded() {
    let now = Duration::ZERO;
    let s = gcm();
    let (a, b) = (node(A, 1), node(B, 2));
    b.install(SaPair::new(&mirror(&s), now).unwrap()).unwrap();
    for _ in 0..(MAX_EARLY + 10) {
        let (u, wire) = send(&b, A).unwrap();
        let _ = recv(&a, B, u, &wire);
    }
    a.install(SaPair::new(&s, now).unwrap()).unwrap();
    assert_eq!(a.take_early(s.spi_in).len(), MAX_EARLY);
}

#[test]
fn a_rekey_responder_keeps_sending_on_the_old_pair_until_the_new_one_is_used() {
    let old = gcm();
    let new = with_spis(gcm(), 0x3000_0003, 0x4000_0004);
    let (a, b) = linked(&old, Duration::ZERO);
    let out_spi = |n: &EspProtection, to: Ipv4Addr| {
        let (_, w) = send(n, to).unwrap();
        EspPacket::new_checked(&w[..]).unwrap().spi()
    };
    // B answered A's rekey: it has the new pair, A does not yet. B stays on the old one,
    // which A can still open.
    b.install_deferred(SaPair::new(&mirror(&new), Duration::ZERO).unwrap())
        .unwrap();
    assert_eq!(out_spi(&b, A), old.spi_in);
    let (u, wire) = send(&b, A).unwrap();
    assert_eq!(recv(&a, B, u, &wire).unwrap(), GRE);
    // A gets the response, installs, and sends on the new pair: B follows.
    a.install(SaPair::new(&new, Duration::ZERO).unwrap())
        .unwrap();
    assert_eq!(out_spi(&a, B), new.spi_out);
    let (u, wire) = send(&a, B).unwrap();
    assert_eq!(recv(&b, A, u, &wire).unwrap(), GRE);
    assert_eq!(out_spi(&b, A), new.spi_in);

    // Without traffic from the peer, the Delete of the old pair moves B over.
    let newer = with_spis(gcm(), 0x5000_0005, 0x6000_0006);
    b.install_deferred(SaPair::new(&mirror(&newer), Duration::ZERO).unwrap())
        .unwrap();
    assert_eq!(out_spi(&b, A), new.spi_in);
    assert!(b.remove_spi(new.spi_out));
    assert_eq!(out_spi(&b, A), newer.spi_in);
    // With no pair at all, a deferred install is an install.
    let c = node(C, 3);
    c.install_deferred(SaPair::new(&old, Duration::ZERO).unwrap())
        .unwrap();
    assert!(c.has_sa(B));
}

//! The public wire module against the engine's private codec: two engines run real
//! exchanges in memory (IKE_SA_INIT with a COOKIE and an INVALID_KE_PAYLOAD round, IKE_AUTH,
//! Child SA rekeys with PFS split into RFC 7383 fragments, an IKE SA rekey, DPD, Delete),
//! and every datagram they send is parsed here: header fields consistent with the
//! exchange, the payload chain walked to its end, the unencrypted IKE_SA_INIT payloads
//! (SA, KE, Nonce, NAT detection notifies) parsed in full, and every message re-emitted
//! byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod wire_support;

use dmvpn_crypto::{DhGroup, Encryption, Prf, SeededRandom};
use dmvpn_ike::wire::*;
use dmvpn_ike::{
    Authenticator, EspEvent, IkeConfig, IkeEngine, IkeProposal, Keyring, KeyringEntry, Output,
};
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

fn addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 1 + i as u8)
}

fn config() -> IkeConfig {
    let mut k = Keyring::default();
    k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"wire-test").unwrap());
    IkeConfig::new(Authenticator::Psk(k))
}

/// One datagram an engine sent.
struct Sent {
    from: usize,
    bytes: Vec<u8>,
}

/// Two engines wired back to back with a 10 ms delay; every IKE datagram is recorded.
struct Pair {
    now: Duration,
    engines: Vec<IkeEngine>,
    flight: VecDeque<(Duration, usize, SocketAddrV4, SocketAddrV4, Vec<u8>)>,
    sent: Vec<Sent>,
}

impl Pair {
    fn new(seed: u64, a: IkeConfig, b: IkeConfig) -> Pair {
        let engines = [a, b]
            .into_iter()
            .enumerate()
            .map(|(i, c)| IkeEngine::new(c, Box::new(SeededRandom::new(seed + i as u64))).unwrap())
            .collect();
        Pair {
            now: Duration::ZERO,
            engines,
            flight: VecDeque::new(),
            sent: Vec::new(),
        }
    }

    fn drain(&mut self, i: usize) {
        while let Some(o) = self.engines[i].poll_output() {
            if let Output::Send {
                local,
                remote,
                bytes,
            } = o
            {
                let to = usize::from(*remote.ip() == addr(1));
                if bytes != [0xff] {
                    self.sent.push(Sent {
                        from: i,
                        bytes: bytes.clone(),
                    });
                }
                let at = self.now + Duration::from_millis(10);
                self.flight.push_back((at, to, remote, local, bytes));
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        for i in 0..2 {
            self.drain(i);
        }
        loop {
            let pkt = self.flight.front().map(|p| p.0);
            let timer = self.engines.iter().filter_map(|e| e.poll_timeout()).min();
            let next = match (pkt, timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(x) => x,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if pkt == Some(next) {
                let (_, to, local, remote, bytes) = self.flight.pop_front().unwrap();
                let now = self.now;
                self.engines[to].handle_datagram(now, local, remote, &bytes);
                self.drain(to);
            } else {
                for i in 0..2 {
                    if self.engines[i].poll_timeout().is_some_and(|t| t <= next) {
                        let now = self.now;
                        self.engines[i].handle_timeout(now);
                        self.drain(i);
                    }
                }
            }
        }
        self.now = self.now.max(end);
    }

    fn protect(&mut self) {
        let now = self.now;
        self.engines[0].protect(now, addr(0), addr(1));
        self.run_for(Duration::from_secs(5));
        assert!(self.engines[0].is_protected(addr(1)), "not established");
        assert!(self.engines[1].is_protected(addr(0)), "not established");
    }
}

/// What the checks saw, for the scenario's own assertions.
#[derive(Default, Debug)]
struct Seen {
    exchanges: Vec<(ExchangeType, bool)>,
    cookies: usize,
    invalid_ke: Vec<u16>,
    fragments: usize,
    nat_d: usize,
}

/// Checks one datagram in depth; returns its parsed form.
fn check(s: &Sent, seen: &mut Seen) -> MessageRepr {
    let b = &s.bytes;
    let view = Header::new_checked(&b[..]).expect("a complete header");
    assert_eq!(view.length() as usize, b.len(), "Length is the datagram");
    assert_eq!((view.major_version(), view.minor_version()), (2, 0));
    let h = HeaderRepr::parse(&view).unwrap();
    assert!(matches!(
        h.exchange_type,
        ExchangeType::IkeSaInit
            | ExchangeType::IkeAuth
            | ExchangeType::CreateChildSa
            | ExchangeType::Informational
    ));
    assert_eq!(h.flags.reserved(), 0);
    assert!(!h.flags.higher_version());
    assert_ne!(h.spi_i, 0);
    seen.exchanges.push((h.exchange_type, h.flags.response()));

    // The chain walks to its end without error.
    let raws: Vec<RawPayload<'_>> = view.payloads().map(|r| r.unwrap()).collect();
    assert!(!raws.is_empty());
    let last = raws.last().unwrap();
    assert_eq!(last.offset + last.bytes.len(), b.len());
    assert_eq!(wire_support::walk_all(b), raws.len());

    let m = MessageRepr::parse(b).expect("the engine's message parses");
    assert_eq!(m.to_bytes().unwrap(), *b, "re-emitted byte for byte");
    assert_eq!(m.header, h);

    if h.exchange_type == ExchangeType::IkeSaInit {
        check_init(&h, &m, seen);
    } else {
        // Everything after IKE_SA_INIT is one SK or SKF payload.
        assert_eq!(m.payloads.len(), 1);
        assert_ne!(h.spi_r, 0);
        match &m.payloads[0].body {
            PayloadBody::Encrypted(sk) => {
                let inner = sk.first_inner;
                if h.exchange_type == ExchangeType::IkeAuth {
                    let want = if h.flags.response() {
                        [PayloadType::IdR, PayloadType::Notify]
                    } else {
                        [PayloadType::IdI, PayloadType::IdI]
                    };
                    assert!(want.contains(&inner), "IKE_AUTH starts with {inner}");
                }
                // Block-aligned: the engine's suites here are AES-GCM (8-byte IV, 16-byte ICV).
                assert!(sk.content.len() > 8 + 16, "IV, pad length and ICV at least");
            }
            PayloadBody::EncryptedFragment(f) => {
                seen.fragments += 1;
                assert!(f.number >= 1 && f.number <= f.total && f.total >= 2);
                if f.number == 1 {
                    assert_ne!(f.first_inner, PayloadType::NoNext);
                } else {
                    assert_eq!(f.first_inner, PayloadType::NoNext);
                }
                assert!(b.len() <= 576, "fragments fit the configured MTU");
            }
            other => panic!("unencrypted {other:?} in {}", h.exchange_type),
        }
    }
    m
}

fn check_init(h: &HeaderRepr, m: &MessageRepr, seen: &mut Seen) {
    assert_eq!(h.message_id, 0);
    assert_eq!(h.flags.initiator(), !h.flags.response());
    if !h.flags.response() {
        assert_eq!(h.spi_r, 0);
    }
    if let Some(c) = m.notify(NotifyType::Cookie) {
        seen.cookies += 1;
        assert!(!c.data.is_empty() && c.data.len() <= 64);
        if h.flags.response() {
            assert_eq!(
                m.payloads.len(),
                1,
                "a COOKIE response holds only the cookie"
            );
            return;
        }
        // The retried request carries the cookie first.
        assert!(matches!(
            &m.payloads[0].body,
            PayloadBody::Notify(n) if n.notify_type == NotifyType::Cookie
        ));
    }
    if let Some(n) = m.notify(NotifyType::InvalidKePayload) {
        assert!(h.flags.response());
        seen.invalid_ke
            .push(n.invalid_ke_group().expect("2-byte group"));
        return;
    }
    let mut sa = None;
    let mut ke = None;
    let mut nonce = None;
    let mut nat = (0, 0);
    for p in &m.payloads {
        assert!(!p.critical && p.reserved == 0);
        match &p.body {
            PayloadBody::Sa(s) => sa = Some(s),
            PayloadBody::Ke(k) => ke = Some(k),
            PayloadBody::Nonce(n) => nonce = Some(n),
            PayloadBody::Notify(n) => {
                assert_eq!(n.protocol, ProtocolId::None);
                assert!(n.spi.is_empty());
                match n.notify_type {
                    NotifyType::NatDetectionSourceIp => nat.0 += 1,
                    NotifyType::NatDetectionDestinationIp => nat.1 += 1,
                    _ => {}
                }
                if matches!(
                    n.notify_type,
                    NotifyType::NatDetectionSourceIp | NotifyType::NatDetectionDestinationIp
                ) {
                    assert_eq!(n.data.len(), 20, "SHA-1 of SPIs, address and port");
                }
            }
            PayloadBody::VendorId(_) => {}
            other => panic!("unexpected payload in IKE_SA_INIT: {other:?}"),
        }
    }
    let (sa, ke, nonce) = (sa.unwrap(), ke.unwrap(), nonce.unwrap());
    assert_eq!(nat, (1, 1));
    seen.nat_d += 2;
    assert!((32..=256).contains(&nonce.nonce.len()));
    if h.flags.response() {
        assert_eq!(sa.proposals.len(), 1, "the responder picks one proposal");
    }
    // Every proposal is for IKE, numbered from 1, with ENCR, PRF and D-H; the KE group is
    // one the SA offers.
    let mut groups = Vec::new();
    for (i, p) in sa.proposals.iter().enumerate() {
        assert_eq!(p.protocol, ProtocolId::Ike);
        assert!(p.spi.is_empty());
        if !h.flags.response() {
            assert_eq!(usize::from(p.number), i + 1);
        }
        let has = |t| p.transforms.iter().any(|x| x.transform_type == t);
        assert!(has(TransformType::Encr) && has(TransformType::Prf) && has(TransformType::Dh));
        for t in &p.transforms {
            if t.transform_type == TransformType::Dh {
                groups.push(t.id);
            }
            if t.transform_type == TransformType::Encr {
                assert!(t.key_length().is_some(), "AES carries its key length (TV)");
            }
        }
    }
    assert!(
        groups.contains(&ke.group),
        "KE group {} not offered",
        ke.group
    );
    assert_eq!(ke.reserved, 0);
    // Each parsed payload re-emits byte for byte on its own too.
    let bytes = m.to_bytes().unwrap();
    let raws: Vec<_> = Header::new_checked(&bytes[..])
        .unwrap()
        .payloads()
        .map(|r| r.unwrap())
        .collect();
    for (raw, p) in raws.iter().zip(&m.payloads) {
        let mut out = vec![0; p.buffer_len()];
        p.emit(&mut out, raw.next_payload).unwrap();
        assert_eq!(out, raw.bytes);
    }
}

fn check_all(pair: &Pair) -> Seen {
    let mut seen = Seen::default();
    for s in &pair.sent {
        let m = check(s, &mut seen);
        // Requests come from the side whose message IDs they use; here only a sanity check
        // that a response never comes from the node that sent the matching request.
        if m.header.flags.response() {
            let req = pair.sent.iter().find(|r| {
                let h = Header::new_unchecked(&r.bytes[..]);
                !h.flags().response()
                    && h.message_id() == m.header.message_id
                    && h.exchange_type() == m.header.exchange_type
                    && h.spi_i() == m.header.spi_i
            });
            assert!(req.is_some_and(|r| r.from != s.from), "orphan response");
        }
    }
    seen
}

#[test]
fn default_exchange_parses_fully() {
    let mut pair = Pair::new(1, config(), config());
    pair.protect();
    assert_eq!(pair.sent.len(), 4);
    let seen = check_all(&pair);
    assert_eq!(
        seen.exchanges,
        vec![
            (ExchangeType::IkeSaInit, false),
            (ExchangeType::IkeSaInit, true),
            (ExchangeType::IkeAuth, false),
            (ExchangeType::IkeAuth, true),
        ]
    );
    assert_eq!(seen.nat_d, 4);
}

#[test]
fn cookie_and_invalid_ke_rounds_parse() {
    let mut a = config();
    a.proposals = vec![IkeProposal {
        encryption: vec![Encryption::AesGcm16 { key_bits: 256 }],
        integrity: vec![],
        prf: vec![Prf::HmacSha256],
        dh_groups: vec![DhGroup::Ecp256, DhGroup::Curve25519],
    }];
    let mut b = config();
    b.proposals = vec![IkeProposal {
        dh_groups: vec![DhGroup::Curve25519],
        ..a.proposals[0].clone()
    }];
    b.limits.cookie_threshold = 0;
    let mut pair = Pair::new(2, a, b);
    pair.protect();
    let seen = check_all(&pair);
    assert!(seen.cookies >= 2, "{seen:?}");
    assert_eq!(seen.invalid_ke, vec![31]);
}

#[test]
fn rekeys_fragments_dpd_and_delete_parse() {
    let tweak = |c: &mut IkeConfig| {
        c.pfs = Some(DhGroup::Modp4096);
        c.fragment_mtu = 576;
    };
    let (mut a, mut b) = (config(), config());
    tweak(&mut a);
    tweak(&mut b);
    let mut pair = Pair::new(3, a, b);
    pair.protect();
    // A Child SA rekey with a 512-byte KE: larger than 576, so fragmented.
    let spi = pair.engines[0].children()[0].spi_in;
    let now = pair.now;
    pair.engines[0].handle_esp_event(now, EspEvent::SoftExpired { spi_in: spi });
    pair.run_for(Duration::from_secs(2));
    // An IKE SA rekey, then idle long enough for DPD, then a Delete.
    let now = pair.now;
    pair.engines[1].rekey_ike(now, addr(0));
    pair.run_for(Duration::from_secs(120));
    let now = pair.now;
    pair.engines[0].release(now, addr(1));
    pair.run_for(Duration::from_secs(2));
    let seen = check_all(&pair);
    assert!(seen.fragments >= 2, "{seen:?}");
    let count = |x: ExchangeType| seen.exchanges.iter().filter(|e| e.0 == x).count();
    assert!(count(ExchangeType::CreateChildSa) >= 4, "{seen:?}");
    assert!(count(ExchangeType::Informational) >= 2, "{seen:?}");
}

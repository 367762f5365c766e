//! Unit tests of [`super::OutboundSa`] and [`super::InboundSa`]: known-answer ESP packets
//! (draft-mcgrew-gcm-test-01), round trips for every suite × mode × ESN, tampering,
//! replay, padding, dummy packets, sequence number exhaustion and volume limits.

use super::*;
use dmvpn_crypto::SeededRandom;

pub(crate) const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(crate) const B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ::hex::decode(s).unwrap()
}

pub(crate) fn buf(data: &[u8]) -> PacketBuf {
    let mut b = PacketBuf::with_capacity(2048);
    b.set(data).unwrap();
    b
}

/// Every suite: AES-GCM 128/192/256, AES-CBC 128/192/256 with each HMAC.
pub(crate) fn suites() -> Vec<(Encryption, Option<Integrity>)> {
    let mut v = Vec::new();
    for k in [128, 192, 256] {
        v.push((Encryption::AesGcm16 { key_bits: k }, None));
        for i in Integrity::ALL {
            v.push((Encryption::AesCbc { key_bits: k }, Some(i)));
        }
    }
    v
}

fn key(len: usize, tag: u8) -> SecretBytes {
    SecretBytes::new((0..len).map(|i| (i as u8).wrapping_mul(7) ^ tag).collect())
}

/// The spec of `local`'s side of an SA pair with `peer`; [`mirror`] gives the peer's.
pub(crate) fn spec(enc: Encryption, integ: Option<Integrity>, mode: Mode, esn: bool) -> SaSpec {
    let ilen = integ.map_or(0, |i| i.key_len());
    SaSpec {
        peer: B,
        local: A,
        spi_in: 0x1000_0001,
        spi_out: 0x2000_0002,
        encryption: enc,
        integrity: integ,
        enc_key_in: key(enc.keymat_len(), 1),
        integ_key_in: key(ilen, 2),
        enc_key_out: key(enc.keymat_len(), 3),
        integ_key_out: key(ilen, 4),
        mode,
        esn,
        limits: LifetimeLimits::default(),
        replay_window: 64,
        nat_t: None,
    }
}

/// The other end's view of `s`.
pub(crate) fn mirror(s: &SaSpec) -> SaSpec {
    SaSpec {
        peer: s.local,
        local: s.peer,
        spi_in: s.spi_out,
        spi_out: s.spi_in,
        enc_key_in: s.enc_key_out.clone(),
        integ_key_in: s.integ_key_out.clone(),
        enc_key_out: s.enc_key_in.clone(),
        integ_key_out: s.integ_key_in.clone(),
        ..s.clone()
    }
}

fn pair(s: &SaSpec) -> SaPair {
    SaPair::new(s, Duration::ZERO).unwrap()
}

fn gre(len: usize) -> Vec<u8> {
    let mut p = vec![0x00, 0x00, 0x08, 0x00];
    p.extend((0..len).map(|i| i as u8));
    p
}

/// An inbound GCM SA with the given keying material, SPI and ESN setting.
fn gcm_inbound(keymat: &str, spi: u32, esn: bool) -> SaPair {
    let keymat = hex(keymat);
    let enc = Encryption::AesGcm16 {
        key_bits: ((keymat.len() - 4) * 8) as u16,
    };
    let mut s = spec(enc, None, Mode::Transport, esn);
    s.spi_in = spi;
    s.enc_key_in = SecretBytes::new(keymat);
    pair(&s)
}

/// draft-mcgrew-gcm-test-01 §4: whole ESP packets decrypt with our inbound SA to the
/// draft's plaintext, whose trailer (Next Header 1 in these vectors) is removed.
#[test]
fn mcgrew_gcm_esp_packets_decrypt() {
    let cases = [
        // AES-192, SPI 0x0000a5f8, sequence number 10.
        (
            "feffe9928665731c6d6a8f9467308308feffe9928665731c cafebabe",
            0x0000_a5f8u32,
            false,
            None,
            "0000a5f80000000afacedbaddecaf888 a5b1f8066029aea40e598b8122de0242
             0938b3ab33f828e687b8858b5bfbdbd0 315b27452144cc7795457b9652037f53
             18027b5b4cd7a636",
            "45000028a4ad4000400678800a01038f 0a010612802306b8cb712602dd6bb03e
             501016d075680001",
            10u64,
        ),
        // AES-256, SPI 0x4a2cbfe3, sequence number 2.
        (
            "abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344",
            0x4a2c_bfe3,
            false,
            None,
            "4a2cbfe3000000020102030405060708 ff425c9b724599df7a3bcd510194e00d
             6a78107f1b0b1cbf06efae9d65a5d763 748a637985771d347f0545659f14e99d
             ef842d8eb335f4eecfdbf831824b4c49 15956c96",
            "4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
             7002400020bf0000020405b401010402 01020201",
            2,
        ),
        // AES-128 with ESN: only the low half (0) of 0x8765432100000000 is on the wire;
        // the window's position makes the receiver infer the high half.
        (
            "4c80cdefbb5d10da906ac73c3613a634 2e443b68",
            0x0000_4321,
            true,
            Some(0x8765_4320_ffff_fff0u64),
            "00004321000000004956ed7e3b244cfe fecf537e729d5b07dc30df528dd22b76
             8d1b98736696a6fd348509fa13ceac34 cfa2436f14a3f3cf65925bf1f4a13c5d
             15b21e1884f5ff6247aeabb786b93bce 61bc17d768fd9732459018148f6cbe72
             2fd04796562dfdb4",
            "45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000
             00000000045f736970045f7564700373 69700963796265726369747902646b00
             0021000101020201",
            0x8765_4321_0000_0000,
        ),
    ];
    for (keymat, spi, esn, top, packet, plain, seq) in cases {
        let p = gcm_inbound(keymat, spi, esn);
        if let Some(top) = top {
            p.inbound.set_replay_top(top);
        }
        let plain = hex(plain);
        let (pad_len, nh) = (plain[plain.len() - 2], plain[plain.len() - 1]);
        let payload = &plain[..plain.len() - 2 - usize::from(pad_len)];
        let mut b = buf(&hex(packet));
        assert_eq!(
            p.inbound.open(&mut b),
            Ok(Opened {
                sequence: seq,
                next_header: nh
            })
        );
        assert_eq!(nh, 1);
        assert_eq!(b.as_slice(), payload);
        assert_eq!(p.inbound.replay_top(), seq);
        // The same packet again is a replay; as GRE transport it has the wrong protocol.
        let mut b = buf(&hex(packet));
        assert!(matches!(
            p.inbound.decapsulate(&mut b),
            Err(EspError::Replay(ReplayError::Duplicate(_)))
        ));
        let p = gcm_inbound(keymat, spi, esn);
        if let Some(top) = top {
            p.inbound.set_replay_top(top);
        }
        let mut b = buf(&hex(packet));
        assert_eq!(p.inbound.decapsulate(&mut b), Err(EspError::NextHeader(1)));
        assert_eq!(p.counters().invalid_protocol, 1);
    }
}

#[test]
fn round_trip_every_suite_mode_and_esn() {
    let mut rng = SeededRandom::new(7);
    for (enc, integ) in suites() {
        for mode in [Mode::Transport, Mode::Tunnel] {
            for esn in [false, true] {
                let s = spec(enc, integ, mode, esn);
                let (a, b) = (pair(&s), pair(&mirror(&s)));
                for len in [0usize, 1, 2, 3, 13, 14, 15, 16, 17, 100, 1400] {
                    let g = gre(len);
                    let mut p = buf(&g);
                    let seq = a.outbound.encapsulate(&mut p, &mut rng).unwrap();
                    assert_eq!(p.len(), g.len() + a.outbound.overhead(g.len()));
                    let wire = EspPacket::new_checked(p.as_slice()).unwrap();
                    assert_eq!((wire.spi(), u64::from(wire.sequence())), (s.spi_out, seq));
                    assert_ne!(&p.as_slice()[p.len() - g.len()..], &g[..]);
                    b.inbound.decapsulate(&mut p).unwrap();
                    assert_eq!(p.as_slice(), &g[..], "{enc} {integ:?} {mode:?} {esn}");
                }
                let (ca, cb) = (a.counters(), b.counters());
                assert_eq!((ca.pkts_encaps, cb.pkts_decaps), (11, 11));
                assert_eq!(ca.bytes_encaps, cb.bytes_decaps);
                assert_eq!(cb.recv_errors, 0);
            }
        }
    }
}

#[test]
fn gcm_iv_is_the_sequence_number_and_cbc_iv_is_random() {
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        true,
    );
    let a = pair(&s);
    a.outbound.set_next_sequence(0x1_0000_0005);
    let mut p = buf(&gre(10));
    a.outbound
        .encapsulate(&mut p, &mut SeededRandom::new(1))
        .unwrap();
    assert_eq!(&p.as_slice()[4..8], &5u32.to_be_bytes());
    assert_eq!(&p.as_slice()[8..16], &0x1_0000_0005u64.to_be_bytes());

    let s = spec(
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha256_128),
        Mode::Transport,
        false,
    );
    let a = pair(&s);
    assert!(a.outbound.needs_random_iv());
    let mut ivs = Vec::new();
    let mut rng = SeededRandom::new(1);
    for _ in 0..2 {
        let mut p = buf(&gre(10));
        a.outbound.encapsulate(&mut p, &mut rng).unwrap();
        ivs.push(p.as_slice()[8..24].to_vec());
    }
    assert_ne!(ivs[0], ivs[1]);
}

#[test]
fn tampering_any_byte_fails() {
    let mut rng = SeededRandom::new(3);
    for (enc, integ) in [
        (Encryption::AesGcm16 { key_bits: 256 }, None),
        (
            Encryption::AesCbc { key_bits: 128 },
            Some(Integrity::HmacSha1_96),
        ),
    ] {
        let s = spec(enc, integ, Mode::Transport, true);
        let (a, b) = (pair(&s), pair(&mirror(&s)));
        let mut p = buf(&gre(33));
        a.outbound.encapsulate(&mut p, &mut rng).unwrap();
        let good = p.as_slice().to_vec();
        for i in 0..good.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= bit;
                let r = b.inbound.decapsulate(&mut buf(&bad));
                if i < 4 {
                    assert!(matches!(r, Err(EspError::WrongSpi(_))), "{i}");
                } else {
                    assert!(
                        matches!(
                            r,
                            Err(EspError::Authentication | EspError::Replay(ReplayError::TooOld(_)))
                        ),
                        "{enc} byte {i}: {r:?}"
                    );
                }
            }
        }
        // Nothing moved the window: the genuine packet still passes, once.
        let mut ok = buf(&good);
        b.inbound.decapsulate(&mut ok).unwrap();
        assert_eq!(ok.as_slice(), &gre(33)[..]);
        assert!(b.counters().auth_failures >= 2 * (good.len() as u64 - 8));
        // Truncated packets are refused as malformed.
        for cut in [0, 7, 8, 20, good.len() - 1] {
            assert!(matches!(
                b.inbound.decapsulate(&mut buf(&good[..cut])),
                Err(EspError::Malformed(_))
            ));
        }
    }
}

#[test]
fn replay_is_a_counted_drop() {
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        false,
    );
    let (a, b) = (pair(&s), pair(&mirror(&s)));
    let mut rng = SeededRandom::new(0);
    let mut packets = Vec::new();
    for _ in 0..70 {
        let mut p = buf(&gre(5));
        a.outbound.encapsulate(&mut p, &mut rng).unwrap();
        packets.push(p.as_slice().to_vec());
    }
    // Out of order within the window is fine; again is not; too old is not.
    for i in [3usize, 1, 2, 0] {
        b.inbound.decapsulate(&mut buf(&packets[i])).unwrap();
    }
    assert_eq!(
        b.inbound.decapsulate(&mut buf(&packets[1])),
        Err(EspError::Replay(ReplayError::Duplicate(2)))
    );
    b.inbound.decapsulate(&mut buf(&packets[69])).unwrap();
    assert_eq!(
        b.inbound.decapsulate(&mut buf(&packets[4])),
        Err(EspError::Replay(ReplayError::TooOld(5)))
    );
    b.inbound.decapsulate(&mut buf(&packets[10])).unwrap();
    let c = b.counters();
    assert_eq!((c.replay_failures, c.recv_errors, c.pkts_decaps), (2, 2, 6));
}

/// Seals `plaintext` (payload ‖ padding ‖ pad length ‖ next header, as given) as an ESP
/// packet of `s`'s outbound direction with sequence number `seq`.
fn craft(s: &SaSpec, seq: u64, plaintext: &[u8]) -> Vec<u8> {
    let c = Cipher::new(
        s.encryption,
        s.integrity,
        s.enc_key_out.as_slice(),
        s.integ_key_out.as_slice(),
    )
    .unwrap();
    let mut p = Vec::new();
    p.extend_from_slice(&s.spi_out.to_be_bytes());
    p.extend_from_slice(&(seq as u32).to_be_bytes());
    p.extend(std::iter::repeat_n(0x5a, c.iv_len()));
    p.extend_from_slice(plaintext);
    p.extend(std::iter::repeat_n(0, c.icv_len()));
    let aad = c.esp_aad(s.spi_out, seq, s.esn);
    c.seal_region(aad.aad(), aad.tail(), &mut p[8..]).unwrap();
    p
}

#[test]
fn padding_dummy_and_next_header_checks() {
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        false,
    );
    let b = pair(&mirror(&s));
    // Correct padding, GRE.
    let mut p = buf(&craft(&s, 1, &[0, 0, 8, 0, 1, 2, 2, 47]));
    assert_eq!(p.len(), 8 + 8 + 8 + 16);
    b.inbound.decapsulate(&mut p).unwrap();
    assert_eq!(p.as_slice(), &[0, 0, 8, 0][..]);
    // Wrong padding bytes: authenticated, then refused.
    let r = b
        .inbound
        .decapsulate(&mut buf(&craft(&s, 2, &[0, 0, 8, 0, 1, 3, 2, 47])));
    assert_eq!(r, Err(EspError::Padding));
    // Pad length beyond the data.
    let r = b
        .inbound
        .decapsulate(&mut buf(&craft(&s, 3, &[0, 0, 9, 47])));
    assert_eq!(r, Err(EspError::Padding));
    // Dummy packet (Next Header 59): silent, counted, not an error in the counters.
    let r = b
        .inbound
        .decapsulate(&mut buf(&craft(&s, 4, &[7, 7, 0, 59])));
    assert_eq!(r, Err(EspError::Dummy));
    // A protocol the mode does not carry.
    let r = b
        .inbound
        .decapsulate(&mut buf(&craft(&s, 5, &[0x45, 0, 0, 4])));
    assert_eq!(r, Err(EspError::NextHeader(4)));
    let c = b.counters();
    assert_eq!(
        (
            c.padding_errors,
            c.dummy_packets,
            c.invalid_protocol,
            c.pkts_decaps
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(c.recv_errors, 3);
}

#[test]
fn tunnel_mode_checks_the_inner_header() {
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Tunnel,
        false,
    );
    let b = pair(&mirror(&s));
    let mut rng = SeededRandom::new(0);
    // An inner header from the wrong source (a peer cannot speak for another).
    let mut wrong = s.clone();
    wrong.local = Ipv4Addr::new(203, 0, 113, 9);
    let forger = pair(&wrong);
    let mut p = buf(&gre(20));
    forger.outbound.encapsulate(&mut p, &mut rng).unwrap();
    assert_eq!(b.inbound.decapsulate(&mut p), Err(EspError::InnerHeader));
    assert_eq!(b.counters().invalid_identity, 1);
    // The real one passes, and TFC padding after the inner packet is cut off.
    let a = pair(&s);
    a.outbound.set_next_sequence(2);
    let mut p = buf(&gre(20));
    a.outbound.encapsulate(&mut p, &mut rng).unwrap();
    b.inbound.decapsulate(&mut p).unwrap();
    assert_eq!(p.as_slice(), &gre(20)[..]);
    let mut inner = vec![0u8; 20];
    assert!(write_header(&mut inner, A, B, 4, 1));
    inner.extend_from_slice(&[0, 0, 8, 0, 0xee, 0xee, 0xee, 0xee, 1, 2, 2, 4]);
    let mut p = buf(&craft(&s, 9, &inner));
    b.inbound.decapsulate(&mut p).unwrap();
    assert_eq!(p.as_slice(), &[0, 0, 8, 0][..]);
}

#[test]
fn sequence_numbers_never_cycle() {
    let mut rng = SeededRandom::new(0);
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        false,
    );
    let a = pair(&s);
    assert_eq!(a.outbound.sequence_lifetime(), Lifetime::Ok);
    a.outbound.set_next_sequence(u64::from(u32::MAX));
    assert_eq!(
        a.outbound.sequence_lifetime(),
        Lifetime::SoftExpired(Limit::Sequence)
    );
    let mut p = buf(&gre(3));
    assert_eq!(
        a.outbound.encapsulate(&mut p, &mut rng),
        Ok(u64::from(u32::MAX))
    );
    let g = gre(3);
    let mut p = buf(&g);
    assert_eq!(
        a.outbound.encapsulate(&mut p, &mut rng),
        Err(EspError::SequenceExhausted)
    );
    assert_eq!(p.as_slice(), &g[..], "a refused packet is left as it was");
    assert_eq!(
        a.outbound.sequence_lifetime(),
        Lifetime::HardExpired(Limit::Sequence)
    );
    assert_eq!(a.outbound.last_sequence(), u64::from(u32::MAX));
    let c = a.counters();
    assert_eq!((c.sequence_exhausted, c.send_errors), (1, 1));

    // With ESN the numbers go on across 2^32, and the receiver follows.
    let s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        true,
    );
    let (a, b) = (pair(&s), pair(&mirror(&s)));
    a.outbound.set_next_sequence((1 << 32) - 3);
    b.inbound.set_replay_top((1 << 32) - 4);
    for want in (1u64 << 32) - 3..(1 << 32) + 3 {
        let mut p = buf(&gre(3));
        assert_eq!(a.outbound.encapsulate(&mut p, &mut rng), Ok(want));
        b.inbound.decapsulate(&mut p).unwrap();
    }
    assert_eq!(b.inbound.replay_top(), (1 << 32) + 2);
    a.outbound.set_next_sequence(u64::MAX - 1);
    assert!(a.outbound.encapsulate(&mut buf(&gre(1)), &mut rng).is_ok());
    assert_eq!(
        a.outbound.encapsulate(&mut buf(&gre(1)), &mut rng),
        Err(EspError::SequenceExhausted)
    );
}

#[test]
fn refusals_leave_the_packet_alone() {
    let mut rng = SeededRandom::new(0);
    let mut s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Tunnel,
        false,
    );
    s.limits.hard_packets = Some(2);
    let a = pair(&s);
    // No tailroom.
    let mut p = PacketBuf::with_capacity(8);
    let full = vec![1u8; 8 + dmvpn_forwarding::buf::TAILROOM];
    p.set(&full).unwrap();
    assert!(matches!(
        a.outbound.encapsulate(&mut p, &mut rng),
        Err(EspError::NoRoom(_))
    ));
    assert_eq!(p.as_slice(), &full[..]);
    // No headroom.
    let mut p = buf(&gre(4));
    p.prepend(dmvpn_forwarding::buf::HEADROOM - 10).unwrap();
    let before = p.as_slice().to_vec();
    assert!(matches!(
        a.outbound.encapsulate(&mut p, &mut rng),
        Err(EspError::NoRoom(_))
    ));
    assert_eq!(p.as_slice(), &before[..]);
    // The hard packet limit.
    for _ in 0..2 {
        a.outbound.encapsulate(&mut buf(&gre(4)), &mut rng).unwrap();
    }
    let mut p = buf(&gre(4));
    assert_eq!(
        a.outbound.encapsulate(&mut p, &mut rng),
        Err(EspError::HardLimit)
    );
    assert_eq!(p.as_slice(), &gre(4)[..]);
    assert_eq!(a.counters().send_errors, 3);
    assert_eq!(
        a.outbound.last_sequence(),
        2,
        "refusals use no sequence number"
    );
}

#[test]
fn specs_are_validated() {
    let mut s = spec(
        Encryption::AesGcm16 { key_bits: 128 },
        None,
        Mode::Transport,
        false,
    );
    s.replay_window = 16;
    assert!(matches!(
        SaPair::new(&s, Duration::ZERO),
        Err(SaError::Window(_))
    ));
    s.replay_window = 64;
    s.spi_in = 255;
    assert_eq!(
        SaPair::new(&s, Duration::ZERO).unwrap_err(),
        SaError::ReservedSpi(255)
    );
    s.spi_in = 256;
    s.integ_key_in = SecretBytes::from_slice(&[1; 32]);
    assert!(matches!(
        SaPair::new(&s, Duration::ZERO),
        Err(SaError::Crypto(_))
    ));
    let dbg = format!(
        "{:?}",
        pair(&spec(
            Encryption::AesGcm16 { key_bits: 128 },
            None,
            Mode::Transport,
            false
        ))
    );
    assert!(!dbg.contains("[3, 4"), "no key bytes in Debug");
}

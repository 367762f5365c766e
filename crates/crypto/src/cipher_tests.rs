//! Unit tests of [`super::Cipher`]: round trips and tampering for every suite, size checks,
//! and known-answer tests (RFC 3602, RFC 4868, draft-mcgrew-gcm-test-01).

use super::*;
use proptest::prelude::*;

/// Every suite we build, with deterministic keys.
fn suites() -> Vec<(Encryption, Option<Integrity>)> {
    let mut v = Vec::new();
    for k in [128, 192, 256] {
        v.push((Encryption::AesGcm16 { key_bits: k }, None));
        for i in Integrity::ALL {
            v.push((Encryption::AesCbc { key_bits: k }, Some(i)));
        }
    }
    v
}

fn build(enc: Encryption, integ: Option<Integrity>) -> Cipher {
    let ek: Vec<u8> = (0..enc.keymat_len()).map(|i| i as u8).collect();
    let ik: Vec<u8> = (0..integ.map_or(0, |i| i.key_len()))
        .map(|i| 0x80 | i as u8)
        .collect();
    Cipher::new(enc, integ, &ek, &ik).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ::hex::decode(s).unwrap()
}

#[test]
fn sizes() {
    let g = build(Encryption::AesGcm16 { key_bits: 256 }, None);
    assert_eq!((g.iv_len(), g.icv_len(), g.block_len()), (8, 16, 4));
    let c = build(
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha1_96),
    );
    assert_eq!((c.iv_len(), c.icv_len(), c.block_len()), (16, 12, 16));
    let c = build(
        Encryption::AesCbc { key_bits: 256 },
        Some(Integrity::HmacSha512_256),
    );
    assert_eq!(c.icv_len(), 32);
    assert!(format!("{c:?}").starts_with("Cipher { encryption: AesCbc"));
}

#[test]
fn wrong_combinations_and_lengths_are_refused() {
    let gcm = Encryption::AesGcm16 { key_bits: 128 };
    let cbc = Encryption::AesCbc { key_bits: 128 };
    assert!(matches!(
        Cipher::new(gcm, Some(Integrity::HmacSha256_128), &[0; 20], &[0; 32]),
        Err(CryptoError::Algorithm(_))
    ));
    assert!(matches!(
        Cipher::new(cbc, None, &[0; 16], &[]),
        Err(CryptoError::Algorithm(_))
    ));
    assert!(matches!(
        Cipher::new(gcm, None, &[0; 16], &[]),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        Cipher::new(cbc, Some(Integrity::HmacSha256_128), &[0; 16], &[0; 31]),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        Cipher::new(
            Encryption::AesCbc { key_bits: 100 },
            Some(Integrity::HmacSha256_128),
            &[0; 12],
            &[0; 32]
        ),
        Err(CryptoError::Algorithm(_))
    ));

    let c = build(cbc, Some(Integrity::HmacSha256_128));
    let mut icv = [0u8; 16];
    let mut data = [0u8; 17];
    assert!(matches!(
        c.seal(&[0; 16], b"", b"", &mut data, &mut icv),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        c.seal(&[0; 16], b"", b"", &mut [], &mut icv),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        c.seal(&[0; 8], b"", b"", &mut data[..16], &mut icv),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        c.seal(&[0; 16], b"", b"", &mut data[..16], &mut icv[..12]),
        Err(CryptoError::Length { .. })
    ));
    let g = build(gcm, None);
    assert!(matches!(
        g.seal(&[0; 8], b"", b"tail", &mut data, &mut icv),
        Err(CryptoError::Length { .. })
    ));
    assert!(matches!(
        g.open_region(b"", b"", &mut [0u8; 23]),
        Err(CryptoError::Length { .. })
    ));
}

#[test]
fn esp_aad_layouts() {
    let g = build(Encryption::AesGcm16 { key_bits: 128 }, None);
    let c = build(
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha256_128),
    );
    let seq = 0x0000_0001_0000_0002u64;
    let a = g.esp_aad(0xa1b2c3d4, seq, false);
    assert_eq!(a.aad(), hex("a1b2c3d4 00000002"));
    assert!(a.tail().is_empty());
    let a = g.esp_aad(0xa1b2c3d4, seq, true);
    assert_eq!(a.aad(), hex("a1b2c3d4 00000001 00000002"));
    assert!(a.tail().is_empty());
    let a = c.esp_aad(0xa1b2c3d4, seq, true);
    assert_eq!(a.aad(), hex("a1b2c3d4 00000002"));
    assert_eq!(a.tail(), hex("00000001"));
    let a = c.esp_aad(0xa1b2c3d4, seq, false);
    assert!(a.tail().is_empty());
}

#[test]
fn esn_high_bits_are_authenticated() {
    for (enc, integ) in suites() {
        let c = build(enc, integ);
        let mut region = vec![0u8; c.iv_len() + 32 + c.icv_len()];
        let sent = c.esp_aad(7, 0x1_0000_0005, true);
        c.seal_region(sent.aad(), sent.tail(), &mut region).unwrap();
        let wrong = c.esp_aad(7, 0x2_0000_0005, true);
        let mut copy = region.clone();
        assert_eq!(
            c.open_region(wrong.aad(), wrong.tail(), &mut copy).err(),
            Some(CryptoError::Authentication)
        );
        assert!(c.open_region(sent.aad(), sent.tail(), &mut region).is_ok());
    }
}

#[test]
fn cipher_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Cipher>();
}

proptest! {
    #[test]
    fn seal_open_round_trip_and_tamper(
        suite in 0usize..15,
        blocks in 1usize..8,
        fill in any::<u8>(),
        aad in proptest::collection::vec(any::<u8>(), 0..40),
        flip in any::<usize>(),
        bit in 0u8..8,
    ) {
        let all = suites();
        let (enc, integ) = all[suite % all.len()];
        let c = build(enc, integ);
        let plain: Vec<u8> = (0..blocks * 16).map(|i| fill.wrapping_add(i as u8)).collect();
        let mut region = vec![0u8; c.iv_len()];
        for (i, b) in region.iter_mut().enumerate() {
            *b = 0x40 ^ i as u8;
        }
        region.extend_from_slice(&plain);
        region.resize(region.len() + c.icv_len(), 0);
        c.seal_region(&aad, b"", &mut region).unwrap();
        let iv_len = c.iv_len();
        prop_assert_ne!(&region[iv_len..iv_len + plain.len()], &plain[..]);

        let mut good = region.clone();
        let opened = c.open_region(&aad, b"", &mut good).unwrap();
        prop_assert_eq!(&opened[..], &plain[..]);

        // Any flipped bit in IV, ciphertext or ICV, or in the AAD, is caught.
        let mut bad = region.clone();
        let at = flip % bad.len();
        bad[at] ^= 1 << bit;
        prop_assert_eq!(c.open_region(&aad, b"", &mut bad).err(), Some(CryptoError::Authentication));
        prop_assert_ne!(&bad[iv_len..iv_len + plain.len()], &plain[..]);
        let mut bad_aad = aad.clone();
        bad_aad.push(0);
        let mut copy = region.clone();
        prop_assert_eq!(
            c.open_region(&bad_aad, b"", &mut copy).err(),
            Some(CryptoError::Authentication)
        );
    }
}

// ---- Known-answer tests ------------------------------------------------------------------

/// RFC 3602 §4 cases 1–4 (AES-128-CBC): the ciphertext part of what `seal` produces. The
/// HMAC key is arbitrary here; the ICV is checked in `cbc_hmac_esp_packet_with_esn`.
#[test]
fn rfc3602_aes_cbc_cases() {
    let cases: [(&str, &str, Vec<u8>, &str); 4] = [
        (
            "06a9214036b8a15b512e03d534120006",
            "3dafba429d9eb430b422da802c9fac41",
            b"Single block msg".to_vec(),
            "e353779c1079aeb82708942dbe77181a",
        ),
        (
            "c286696d887c9aa0611bbb3e2025a45a",
            "562e17996d093d28ddb3ba695a2e6f58",
            (0u8..32).collect(),
            "d296cd94c2cccf8a3a863028b5e1dc0a 7586602d253cfff91b8266bea6d61ab1",
        ),
        (
            "6c3ea0477630ce21a2ce334aa746c2cd",
            "c782dc4c098c66cbd9cd27d825682c81",
            b"This is a 48-byte message (exactly 3 AES blocks)".to_vec(),
            "d0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5
             021c19216bad525c8579695d83ba2684",
        ),
        (
            "56e47a38c5598974bc46903dba290349",
            "8ce82eefbea0da3c44699ed7db51b7d9",
            (0xa0u8..0xe0).collect(),
            "c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e
             35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55",
        ),
    ];
    for (key, iv, plain, cipher) in cases {
        let c = Cipher::new(
            Encryption::AesCbc { key_bits: 128 },
            Some(Integrity::HmacSha256_128),
            &hex(key),
            &[7; 32],
        )
        .unwrap();
        let mut data = plain.clone();
        let mut icv = [0u8; 16];
        c.seal(&hex(iv), b"", b"", &mut data, &mut icv).unwrap();
        assert_eq!(data, hex(cipher));
        c.open(&hex(iv), b"", b"", &mut data, &icv).unwrap();
        assert_eq!(data, plain);
    }
}

/// RFC 4868 §2.7.2 AUTH test case 3 (key 0xaa…, data 0xdd × 50) for each SHA-2 ICV, and
/// RFC 2404 §3 test case 3 for HMAC-SHA1-96: `open` authenticates aad ‖ IV ‖ ciphertext, so
/// splitting the 50 bytes as 18 + 16 + 16 makes the ICV exactly the RFC's truncated MAC.
#[test]
fn rfc4868_truncated_hmac_icvs() {
    let cases = [
        (
            Integrity::HmacSha256_128,
            "cdcb1220d1ecccea91e53aba3092f962",
        ),
        (
            Integrity::HmacSha384_192,
            "809f439be00274321d4a538652164b53554a508184a0c316",
        ),
        (
            Integrity::HmacSha512_256,
            "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8",
        ),
        (Integrity::HmacSha1_96, "125d7342b9ac11cd91a39af4"),
    ];
    for (integ, mac) in cases {
        let c = Cipher::new(
            Encryption::AesCbc { key_bits: 128 },
            Some(integ),
            &[0; 16],
            &vec![0xaa; integ.key_len()],
        )
        .unwrap();
        let mut data = [0xdd; 16];
        c.open(&[0xdd; 16], &[0xdd; 18], b"", &mut data, &hex(mac))
            .unwrap();
        let mut wrong = hex(mac);
        wrong[0] ^= 1;
        let mut data = [0xdd; 16];
        assert_eq!(
            c.open(&[0xdd; 16], &[0xdd; 18], b"", &mut data, &wrong),
            Err(CryptoError::Authentication)
        );
        assert_eq!(data, [0xdd; 16], "failed open leaves the ciphertext");
    }
}

/// An ESP packet with AES-CBC + HMAC-SHA-256-128 and ESN: the RFC 3602 case 4 ciphertext,
/// and an ICV over SPI ‖ seq-lo ‖ IV ‖ ciphertext ‖ seq-hi (RFC 4303 §3.3.2.1). The expected
/// ICV was computed independently with Python's `hmac` and `cryptography` modules.
#[test]
fn cbc_hmac_esp_packet_with_esn() {
    let c = Cipher::new(
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha256_128),
        &hex("56e47a38c5598974bc46903dba290349"),
        &(1u8..=32).collect::<Vec<_>>(),
    )
    .unwrap();
    let aad = c.esp_aad(0x1234, 0x1_0000_0005, true);
    let mut region = hex("8ce82eefbea0da3c44699ed7db51b7d9");
    region.extend(0xa0u8..0xe0);
    region.extend([0u8; 16]);
    c.seal_region(aad.aad(), aad.tail(), &mut region).unwrap();
    assert_eq!(
        &region[16..80],
        &hex(
            "c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e
             35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55"
        )[..]
    );
    assert_eq!(&region[80..], &hex("d690837edfd268b208b43777394ab0bc")[..]);
}

/// draft-mcgrew-gcm-test-01 §4 ESP packets: (key ‖ salt, SPI, 64-bit sequence number, ESN,
/// IV, plaintext payload, ciphertext ‖ ICV).
#[test]
fn mcgrew_gcm_esp_packets() {
    let cases = [
        // Test case 1: AES-128, ESN (AAD = SPI ‖ 64-bit sequence number).
        (
            "4c80cdefbb5d10da906ac73c3613a634 2e443b68",
            0x0000_4321u32,
            0x8765_4321_0000_0000u64,
            true,
            "4956ed7e3b244cfe",
            "45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000
             00000000045f736970045f7564700373 69700963796265726369747902646b00
             0021000101020201",
            "fecf537e729d5b07dc30df528dd22b76 8d1b98736696a6fd348509fa13ceac34
             cfa2436f14a3f3cf65925bf1f4a13c5d 15b21e1884f5ff6247aeabb786b93bce
             61bc17d768fd9732 459018148f6cbe722fd04796562dfdb4",
        ),
        // AES-192, 32-bit sequence number.
        (
            "feffe9928665731c6d6a8f9467308308feffe9928665731c cafebabe",
            0x0000_a5f8,
            0x0000_000a,
            false,
            "facedbaddecaf888",
            "45000028a4ad4000400678800a01038f 0a010612802306b8cb712602dd6bb03e
             501016d075680001",
            "a5b1f8066029aea40e598b8122de0242 0938b3ab33f828e687b8858b5bfbdbd0
             315b27452144cc77 95457b9652037f5318027b5b4cd7a636",
        ),
        // AES-256, 32-bit sequence number.
        (
            "abbccddef00112233445566778899aababbccddef00112233445566778899aab 11223344",
            0x4a2c_bfe3,
            2,
            false,
            "0102030405060708",
            "4500003069a6400080062690c0a80102 9389155e0a9e008b2dc57ee000000000
             7002400020bf0000020405b401010402 01020201",
            "ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763
             748a637985771d347f0545659f14e99d ef842d8eb335f4eecfdbf831824b4c49
             15956c96",
        ),
    ];
    for (key, spi, seq, esn, iv, plain, sealed) in cases {
        let key = hex(key);
        let enc = Encryption::AesGcm16 {
            key_bits: ((key.len() - 4) * 8) as u16,
        };
        let c = Cipher::new(enc, None, &key, &[]).unwrap();
        let aad = c.esp_aad(spi, seq, esn);
        let (plain, sealed) = (hex(plain), hex(sealed));
        let mut region = hex(iv);
        region.extend_from_slice(&plain);
        region.extend([0u8; 16]);
        c.seal_region(aad.aad(), aad.tail(), &mut region).unwrap();
        assert_eq!(&region[8..], &sealed[..], "{enc}");
        let opened = c.open_region(aad.aad(), aad.tail(), &mut region).unwrap();
        assert_eq!(opened, &plain[..]);
    }
}

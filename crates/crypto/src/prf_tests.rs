//! Tests of the key schedule: RFC 4868 PRF vectors, a NIST CAVS IKEv2 KDF (SP 800-135)
//! vector for SHA-1, and SHA-256 schedules cross-checked against an independent
//! computation with Python's `hmac` module (the expected bytes below came from it).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ::hex::decode(s).unwrap()
}

#[test]
fn rfc4868_prf_vectors() {
    // RFC 4868 §2.7.1 test cases 3 (key 0xaa × 20, data 0xdd × 50) and 4 (131-byte key).
    let dd = [0xddu8; 50];
    let cases: [(Prf, &[u8], &[u8], &str); 6] = [
        (
            Prf::HmacSha256,
            &[0xaa; 20],
            &dd,
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            Prf::HmacSha384,
            &[0xaa; 20],
            &dd,
            "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b
             2a5ab39dc13814b94e3ab6e101a34f27",
        ),
        (
            Prf::HmacSha512,
            &[0xaa; 20],
            &dd,
            "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39
             bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        ),
        (
            Prf::HmacSha256,
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            Prf::HmacSha384,
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6
             0c2ef6ab4030fe8296248df163f44952",
        ),
        // RFC 2202 §3 test case 3 for PRF_HMAC_SHA1.
        (
            Prf::HmacSha1,
            &[0xaa; 20],
            &dd,
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        ),
    ];
    for (p, key, data, want) in cases {
        assert_eq!(prf(p, key, &[data]).as_slice(), &hex(want)[..], "{p}");
        // Parts are concatenated.
        let (a, b) = data.split_at(7);
        assert_eq!(prf(p, key, &[a, &[], b]).as_slice(), &hex(want)[..], "{p}");
    }
}

/// NIST CAVS IKEv2 KDF sample vector, SHA-1, 1056-bit DKM (as reproduced in libreswan's
/// CAVS test driver, and re-checked with Python): SKEYSEED, DKM = prf+(SKEYSEED, Ni | Nr |
/// SPIi | SPIr), DKM(Child SA) = prf+(SK_d, Ni | Nr), DKM(Child SA D-H) = prf+(SK_d,
/// g^ir (new) | Ni | Nr), SKEYSEED(Rekey) = prf(SK_d, g^ir (new) | Ni | Nr), where SK_d is
/// the first 20 bytes of DKM.
#[test]
fn cavs_ikev2_kdf_sha1() {
    let g_ir = hex("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52");
    let g_ir_new = hex("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330");
    let ni = hex("32b50d5f4a3763f3");
    let nr = hex("9206a04b26564cb1");
    let spi_i = 0x34c9_e7c1_8886_8785u64;
    let spi_r = 0x3ff7_7d76_0d2b_2199u64;
    let p = Prf::HmacSha1;

    let seed = skeyseed(p, &ni, &nr, &g_ir);
    assert_eq!(
        seed.as_slice(),
        &hex("a9a7b222b59f8f48645f28a1db5b5f5d7479cba7")[..]
    );
    let dkm = prf_plus(
        p,
        seed.as_slice(),
        &[&ni, &nr, &spi_i.to_be_bytes(), &spi_r.to_be_bytes()],
        132,
    )
    .unwrap();
    assert_eq!(
        dkm.as_slice(),
        &hex(
            "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002
             a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a
             5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119
             8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435
             a7a56cc4"
        )[..]
    );
    let sk_d = dkm.slice(0, 20).unwrap();
    assert_eq!(
        child_keymat(p, sk_d.as_slice(), None, &ni, &nr, 132)
            .unwrap()
            .as_slice(),
        &hex(
            "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c581
             1a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee7181
             4ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf
             285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e66499
             4d234cb4"
        )[..]
    );
    assert_eq!(
        child_keymat(p, sk_d.as_slice(), Some(&g_ir_new), &ni, &nr, 132)
            .unwrap()
            .as_slice(),
        &hex(
            "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d373016
             28190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c04000
             52f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a
             05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054
             d56fd74c"
        )[..]
    );
    assert_eq!(
        skeyseed_rekey(p, sk_d.as_slice(), &g_ir_new, &ni, &nr).as_slice(),
        &hex("63e81194946ebd05df7df5ebf5d8750056bf1f1d")[..]
    );
    // IkeKeys::derive splits the same DKM: SK_d first, then SK_ai (20 bytes for
    // HMAC-SHA1-96), SK_ar, SK_ei, ...
    let k = IkeKeys::derive(
        p,
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha1_96),
        &ni,
        &nr,
        &g_ir,
        spi_i,
        spi_r,
    )
    .unwrap();
    assert!(k.sk_d.ct_eq(&sk_d));
    assert_eq!(k.sk_ai.as_slice(), dkm.slice(20, 20).unwrap().as_slice());
    assert_eq!(k.sk_ar.as_slice(), dkm.slice(40, 20).unwrap().as_slice());
    assert_eq!(k.sk_ei.as_slice(), dkm.slice(60, 16).unwrap().as_slice());
    assert_eq!(k.sk_er.as_slice(), dkm.slice(76, 16).unwrap().as_slice());
    assert_eq!(k.sk_pi.as_slice(), dkm.slice(92, 20).unwrap().as_slice());
    assert_eq!(k.sk_pr.as_slice(), dkm.slice(112, 20).unwrap().as_slice());
}

const NI: std::ops::Range<u8> = 0x10..0x30;
const NR: std::ops::Range<u8> = 0x40..0x60;
const SPI_I: u64 = 0x0123_4567_89ab_cdef;
const SPI_R: u64 = 0xfedc_ba98_7654_3210;

#[test]
fn ike_keys_sha256_cbc_and_gcm() {
    let (ni, nr): (Vec<u8>, Vec<u8>) = (NI.collect(), NR.collect());
    let g_ir = [0x5au8; 32];
    let p = Prf::HmacSha256;
    assert_eq!(
        skeyseed(p, &ni, &nr, &g_ir).as_slice(),
        &hex("beece808dedbf43b9f4fe44e9f16bd27a966bcad1fbae23e3f3268bc790380b0")[..]
    );
    let k = IkeKeys::derive(
        p,
        Encryption::AesCbc { key_bits: 256 },
        Some(Integrity::HmacSha256_128),
        &ni,
        &nr,
        &g_ir,
        SPI_I,
        SPI_R,
    )
    .unwrap();
    let want = [
        (
            &k.sk_d,
            "838c45644fe1f881b8421293c6bd1a56a46ece38b50778c9d2d8288ec339e8b8",
        ),
        (
            &k.sk_ai,
            "b2bebbba95f03dc0233a5aecf5202899e2349466d341931970272384ad251728",
        ),
        (
            &k.sk_ar,
            "8fa41998bb363e0313801c425ac5745a13906290a9bf67c14de55bae84057646",
        ),
        (
            &k.sk_ei,
            "19f65acb3a31aeeabc11bb8ca2430d27ec7bfe3aab3a9a8ac1d89230e69cbde0",
        ),
        (
            &k.sk_er,
            "d7c6c6e972198961c4347b64bed96960be41b384edfe60873fbfaf9bef76b6f6",
        ),
        (
            &k.sk_pi,
            "c024619c72abb1873e2817adca099ba26916fb8ce6a6962d3672ddc48537d650",
        ),
        (
            &k.sk_pr,
            "e9401e9a64009c3dbf74c0a2c42ba96c80ca2b503f2753c279d473c440ac477a",
        ),
    ];
    for (got, w) in want {
        assert_eq!(got.as_slice(), &hex(w)[..]);
    }

    // AES-GCM-256: no SK_a, 36-byte SK_e (key ‖ salt).
    let g = IkeKeys::derive(
        p,
        Encryption::AesGcm16 { key_bits: 256 },
        None,
        &ni,
        &nr,
        &g_ir,
        SPI_I,
        SPI_R,
    )
    .unwrap();
    assert!(g.sk_ai.is_empty() && g.sk_ar.is_empty());
    assert!(g.sk_d.ct_eq(&k.sk_d));
    assert_eq!(
        g.sk_ei.as_slice(),
        &hex("b2bebbba95f03dc0233a5aecf5202899e2349466d341931970272384ad2517288fa41998")[..]
    );
    assert_eq!(
        g.sk_er.as_slice(),
        &hex("bb363e0313801c425ac5745a13906290a9bf67c14de55bae8405764619f65acb3a31aeea")[..]
    );
    assert_eq!(
        g.sk_pr.as_slice(),
        &hex("c4347b64bed96960be41b384edfe60873fbfaf9bef76b6f6c024619c72abb187")[..]
    );

    // Child SA with PFS, AES-GCM-128 both ways: 20 bytes each, initiator's first.
    let c = ChildKeys::derive(
        p,
        g.sk_d.as_slice(),
        Some(&[0x77; 32]),
        &ni,
        &nr,
        Encryption::AesGcm16 { key_bits: 128 },
        None,
    )
    .unwrap();
    assert_eq!(
        c.encr_i.as_slice(),
        &hex("f8048f9b73fd1581f3c0a392e251f4be2e9b54bd")[..]
    );
    assert_eq!(
        c.encr_r.as_slice(),
        &hex("c0221f1551230f023a21f455d7d61e91a9bef1e2")[..]
    );
    assert!(c.integ_i.is_empty() && c.integ_r.is_empty());
}

#[test]
fn rekey_uses_the_old_prf_for_skeyseed() {
    let (ni, nr): (Vec<u8>, Vec<u8>) = (NI.collect(), NR.collect());
    let old_sk_d = [9u8; 20];
    let g = [3u8; 32];
    let enc = Encryption::AesGcm16 { key_bits: 128 };
    let k = IkeKeys::derive_rekey(
        Prf::HmacSha1,
        &old_sk_d,
        Prf::HmacSha256,
        enc,
        None,
        &ni,
        &nr,
        &g,
        1,
        2,
    )
    .unwrap();
    let seed = skeyseed_rekey(Prf::HmacSha1, &old_sk_d, &g, &ni, &nr);
    assert_eq!(seed.len(), 20);
    let again = IkeKeys::expand(Prf::HmacSha256, enc, None, &seed, &ni, &nr, 1, 2).unwrap();
    assert!(k.sk_d.ct_eq(&again.sk_d) && k.sk_er.ct_eq(&again.sk_er));
    assert_eq!(k.sk_d.len(), 32, "SK_d has the new PRF's length");
}

#[test]
fn psk_auth_value() {
    let a = psk_auth(
        Prf::HmacSha256,
        b"cisco123",
        &[b"first-message", b"nonce", b"maced-id"],
    );
    assert_eq!(
        a.as_slice(),
        &hex("71e86c3cfdd73b6dc5cb745815d92a5e97cd1444b50bfa30e2827bf41dd2c0a9")[..]
    );
}

#[test]
fn prf_plus_limits() {
    let max = prf_plus_max(Prf::HmacSha256);
    assert_eq!(max, 8160);
    let all = prf_plus(Prf::HmacSha256, b"k", &[b"seed"], max).unwrap();
    assert_eq!(
        all.slice(max - 32, 32).unwrap().as_slice(),
        &hex("69a4719b54a0c82fa34ab5413f6ad007feb469e26d5a3bc47344d2fc1a17c0e8")[..]
    );
    assert_eq!(
        prf_plus(Prf::HmacSha256, b"k", &[b"seed"], max + 1).unwrap_err(),
        CryptoError::PrfPlusTooLong {
            requested: max + 1,
            max
        }
    );
    assert!(prf_plus(Prf::HmacSha512, b"k", &[], 0).unwrap().is_empty());
    // A prefix of a longer output is the shorter output.
    let short = prf_plus(Prf::HmacSha256, b"k", &[b"seed"], 45).unwrap();
    assert_eq!(short.as_slice(), all.slice(0, 45).unwrap().as_slice());
}

#[test]
fn suite_mismatches_and_short_keymat_are_refused() {
    let gcm = Encryption::AesGcm16 { key_bits: 128 };
    let cbc = Encryption::AesCbc { key_bits: 128 };
    assert!(matches!(
        IkeKeys::derive(
            Prf::HmacSha256,
            gcm,
            Some(Integrity::HmacSha256_128),
            b"n",
            b"n",
            b"g",
            1,
            2
        ),
        Err(CryptoError::Algorithm(_))
    ));
    assert!(matches!(
        IkeKeys::derive(Prf::HmacSha256, cbc, None, b"n", b"n", b"g", 1, 2),
        Err(CryptoError::Algorithm(_))
    ));
    assert_eq!(child_keymat_len(cbc, Some(Integrity::HmacSha256_128)), 96);
    assert!(matches!(
        ChildKeys::split(
            &SecretBytes::zeroed(95),
            cbc,
            Some(Integrity::HmacSha256_128)
        ),
        Err(CryptoError::Length { .. })
    ));
    let c = ChildKeys::split(
        &SecretBytes::new((0u8..96).collect()),
        cbc,
        Some(Integrity::HmacSha256_128),
    )
    .unwrap();
    assert_eq!(c.encr_i.as_slice(), &(0u8..16).collect::<Vec<_>>()[..]);
    assert_eq!(c.integ_i.as_slice(), &(16u8..48).collect::<Vec<_>>()[..]);
    assert_eq!(c.encr_r.as_slice(), &(48u8..64).collect::<Vec<_>>()[..]);
    assert_eq!(c.integ_r.as_slice(), &(64u8..96).collect::<Vec<_>>()[..]);
    assert!(format!("{c:?}").contains("redacted"));
}

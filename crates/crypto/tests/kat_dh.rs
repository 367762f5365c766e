//! Diffie-Hellman known answers through the public API: [`KeyExchange::new`] takes its
//! private key from the [`Random`] it is handed, so a [`Random`] that returns the vector's
//! scalar gives a key pair with a known private key, and no test hook is needed in `dh.rs`.
//!
//! Sources:
//!
//! * Groups 19, 20, 21: RFC 5903 §8.1–8.3 (both sides of each exchange), and NIST CAVS 14.1
//!   "ECC CDH Primitive" (SP 800-56A) `KAS_ECC_CDH_PrimitiveTest.txt`, COUNT 0–4 of
//!   [P-256], [P-384] and [P-521]: COUNT 0 with QIUT as reproduced in golang/go
//!   `src/crypto/ecdh/ecdh_test.go` (P-521 without the file's two extra leading zero bytes),
//!   COUNT 1–4 (dIUT, QCAVS, ZIUT) as reproduced in the nRF5 SDK's `nrf_crypto` ECDH test
//!   vectors. Every ZIUT was re-derived with Python's `cryptography` before being copied.
//! * Group 31: RFC 7748 §5.2 (two scalar multiplications and the 1 and 1000 iteration
//!   results), §6.1 (Alice and Bob, both directions), and the RFC 8031 Appendix A example.
//! * Group 14: no published vector fits our exponent size (40 bytes, top bit set: the
//!   strongSwan `test_vectors/modp.c` MODP-2048 vector uses 48-byte exponents), so the
//!   expected values were computed with Python: the RFC 3526 §3 prime rebuilt from its
//!   formula with π from Machin's series (checked against `pow(2, p - 1, p) == 1` and the
//!   RFC's hex), then `pow(2, a, p)`, `pow(2, b, p)` and `pow(pow(2, b, p), a, p)`.
//!
//! Public values are in IKE's KE payload format: x ‖ y without SEC1's 0x04 for ECP (RFC
//! 5903 §7), u for Curve25519, zero-padded big-endian for MODP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use dmvpn_crypto::{CryptoError, DhGroup, KeyExchange, Random};

/// A "random" source that returns the given bytes: the vector's private key.
struct Fixed(Vec<u8>);

impl Random for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        assert!(buf.len() <= self.0.len(), "vector key too short");
        let rest = self.0.split_off(buf.len());
        buf.copy_from_slice(&self.0);
        self.0 = rest;
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(s).unwrap()
}

/// A key pair whose private key is `private` (hex).
fn keys(group: DhGroup, private: &str) -> KeyExchange {
    let mut r = Fixed(hex(private));
    let k = KeyExchange::new(group, &mut r).unwrap();
    assert!(r.0.is_empty(), "{group}: the whole private key is used");
    k
}

/// (group, i, g^i as x ‖ y, r, g^r as x ‖ y, x of g^ir) from RFC 5903 §8.1–8.3.
const RFC5903: [(DhGroup, &str, &str, &str, &str, &str); 3] = [
    (
        DhGroup::Ecp256,
        "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180
         5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63
         56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    ),
    (
        DhGroup::Ecp384,
        "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655
         E35B538041E649EE3FAEF896783AB194",
        "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6
         DE3AC808ACB4BDB4C88732AEE95F41AA
         9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E
         EB9FCFF3C2C947DAE69B4C634573A81C",
        "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942
         E0308312916B8ED2960E4BD55A7448FC",
        "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D
         0D1AC43A0336DEF96FDA41D0774A3571
         DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF
         F83FA40142209DFF5EAAD96DB9E6386C",
        "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4
         D603135569B9E9D09CF5D4A270F59746",
    ),
    (
        DhGroup::Ecp521,
        "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0
         95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D
         4A52",
        "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE
         E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C
         ED3E
         017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A
         D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F
         9582",
        "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E
         9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB15168
         5EB9",
        "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21
         9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9
         460F
         015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87
         220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0F
         C56A",
        "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04
         D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3
         DDEA",
    ),
];

#[test]
fn rfc5903_section8_both_sides() {
    for (group, i, gi, r, gr, gir) in RFC5903 {
        let ki = keys(group, i);
        let kr = keys(group, r);
        assert_eq!(ki.public_value(), &hex(gi)[..], "{group}: g^i");
        assert_eq!(kr.public_value(), &hex(gr)[..], "{group}: g^r");
        assert_eq!(ki.public_value().len(), group.public_len());
        // The shared secret is the x coordinate only (RFC 5903 §9), the same both ways.
        let (gi_wire, gr_wire) = (ki.public_value().to_vec(), kr.public_value().to_vec());
        let s_i = ki.agree(&gr_wire).unwrap();
        let s_r = kr.agree(&gi_wire).unwrap();
        assert_eq!(s_i.as_slice(), &hex(gir)[..], "{group}: g^ir");
        assert!(s_i.ct_eq(&s_r), "{group}");
        assert_eq!(s_i.len(), group.public_len() / 2);
        // The SEC1 form (0x04 ‖ x ‖ y) is not what IKE sends: wrong length, refused.
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(&hex(gr));
        assert_eq!(
            keys(group, i).agree(&sec1).unwrap_err(),
            CryptoError::InvalidPublicValue
        );
    }
}

/// NIST CAVS 14.1 ECC CDH primitive: (group, COUNT, dIUT, QCAVSx ‖ QCAVSy, ZIUT, QIUT).
type Cdh = (
    DhGroup,
    u32,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const CAVS_CDH: [Cdh; 15] = [
    (
        DhGroup::Ecp256,
        0,
        "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
        "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287
         db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
        "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
        Some(
            "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230
             28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
        ),
    ),
    (
        DhGroup::Ecp256,
        1,
        "38f65d6dce47676044d58ce5139582d568f64bb16098d179dbab07741dd5caf5",
        "809f04289c64348c01515eb03d5ce7ac1a8cb9498f5caa50197e58d43a86a7ae
         b29d84e811197f25eba8f5194092cb6ff440e26d4421011372461f579271cda3",
        "057d636096cb80b67a8c038c890e887d1adfa4195e9b3ce241c8a778c59cda67",
        None,
    ),
    (
        DhGroup::Ecp256,
        2,
        "1accfaf1b97712b85a6f54b148985a1bdc4c9bec0bd258cad4b3d603f49f32c8",
        "a2339c12d4a03c33546de533268b4ad667debf458b464d77443636440ee7fec3
         ef48a3ab26e20220bcda2c1851076839dae88eae962869a497bf73cb66faf536",
        "2d457b78b4614132477618a5b077965ec90730a8c81a1c75d6d4ec68005d67ec",
        None,
    ),
    (
        DhGroup::Ecp256,
        3,
        "207c43a79bfee03db6f4b944f53d2fb76cc49ef1c9c4d34d51b6c65c4db6932d",
        "df3989b9fa55495719b3cf46dccd28b5153f7808191dd518eff0c3cff2b705ed
         422294ff46003429d739a33206c8752552c8ba54a270defc06e221e0feaf6ac4",
        "96441259534b80f6aee3d287a6bb17b5094dd4277d9e294f8fe73e48bf2a0024",
        None,
    ),
    (
        DhGroup::Ecp256,
        4,
        "59137e38152350b195c9718d39673d519838055ad908dd4757152fd8255c09bf",
        "41192d2813e79561e6a1d6f53c8bc1a433a199c835e141b05a74a97b0faeb922
         1af98cc45e98a7e041b01cf35f462b7562281351c8ebf3ffa02e33a0722a1328",
        "19d44c8d63e8e8dd12c22a87b8cd4ece27acdde04dbf47f7f27537a6999a8e62",
        None,
    ),
    (
        DhGroup::Ecp384,
        0,
        "3cc3122a68f0d95027ad38c067916ba0eb8c38894d22e1b15618b6818a661774
         ad463b205da88cf699ab4d43c9cf98a1",
        "a7c76b970c3b5fe8b05d2838ae04ab47697b9eaf52e764592efda27fe7513272
         734466b400091adbf2d68c58e0c50066
         ac68f19f2e1cb879aed43a9969b91a0839c4c38a49749b661efedf243451915e
         d0905a32b060992b468c64766fc8437a",
        "5f9d29dc5e31a163060356213669c8ce132e22f57c9a04f40ba7fcead493b457
         e5621e766c40a2e3d4d6a04b25e533f1",
        Some(
            "9803807f2f6d2fd966cdd0290bd410c0190352fbec7ff6247de1302df86f25d3
             4fe4a97bef60cff548355c015dbb3e5f
             ba26ca69ec2f5b5d9dad20cc9da711383a9dbe34ea3fa5a2af75b46502629ad5
             4dd8b7d73a8abb06a3a3be47d650cc99",
        ),
    ),
    (
        DhGroup::Ecp384,
        1,
        "92860c21bde06165f8e900c687f8ef0a05d14f290b3f07d8b3a8cc6404366e5d
         5119cd6d03fb12dc58e89f13df9cd783",
        "30f43fcf2b6b00de53f624f1543090681839717d53c7c955d1d69efaf0349b73
         63acb447240101cbb3af6641ce4b88e0
         25e46c0c54f0162a77efcc27b6ea792002ae2ba82714299c860857a68153ab62
         e525ec0530d81b5aa15897981e858757",
        "a23742a2c267d7425fda94b93f93bbcc24791ac51cd8fd501a238d40812f4cbf
         c59aac9520d758cf789c76300c69d2ff",
        None,
    ),
    (
        DhGroup::Ecp384,
        2,
        "12cf6a223a72352543830f3f18530d5cb37f26880a0b294482c8a8ef8afad09a
         a78b7dc2f2789a78c66af5d1cc553853",
        "1aefbfa2c6c8c855a1a216774550b79a24cda37607bb1f7cc906650ee4b3816d
         68f6a9c75da6e4242cebfb6652f65180
         419d28b723ebadb7658fcebb9ad9b7adea674f1da3dc6b6397b55da0f61a3edd
         acb4acdb14441cb214b04a0844c02fa3",
        "3d2e640f350805eed1ff43b40a72b2abed0a518bcebe8f2d15b111b6773223da
         3c3489121db173d414b5bd5ad7153435",
        None,
    ),
    (
        DhGroup::Ecp384,
        3,
        "8dd48063a3a058c334b5cc7a4ce07d02e5ee6d8f1f3c51a1600962cbab462690
         ae3cd974fb39e40b0e843daa0fd32de1",
        "8bc089326ec55b9cf59b34f0eb754d93596ca290fcb3444c83d4de3a5607037e
         c397683f8cef07eab2fe357eae36c449
         d9d16ce8ac85b3f1e94568521aae534e67139e310ec72693526aa2e927b5b322
         c95a1a033c229cb6770c957cd3148dd7",
        "6a42cfc392aba0bfd3d17b7ccf062b91fc09bbf3417612d02a90bdde62ae40c5
         4bb2e56e167d6b70db670097eb8db854",
        None,
    ),
    (
        DhGroup::Ecp384,
        4,
        "84ece6cc3429309bd5b23e959793ed2b111ec5cb43b6c18085fcaea9efa0685d
         98a6262ee0d330ee250bc8a67d0e733f",
        "eb952e2d9ac0c20c6cc48fb225c2ad154f53c8750b003fd3b4ed8ed1dc0defac
         61bcdde02a2bcfee7067d75d342ed2b0
         f1828205baece82d1b267d0d7ff2f9c9e15b69a72df47058a97f3891005d1fb3
         8858f5603de840e591dfa4f6e7d489e1",
        "ce7ba454d4412729a32bb833a2d1fd2ae612d4667c3a900e069214818613447d
         f8c611de66da200db7c375cf913e4405",
        None,
    ),
    (
        DhGroup::Ecp521,
        0,
        "017eecc07ab4b329068fba65e56a1f8890aa935e57134ae0ffcce802735151f4
         eac6564f6ee9974c5e6887a1fefee5743ae2241bfeb95d5ce31ddcb6f9edb4d6
         fc47",
        "00685a48e86c79f0f0875f7bc18d25eb5fc8c0b07e5da4f4370f3a9490340854
         334b1e1b87fa395464c60626124a4e70d0f785601d37c09870ebf176666877a2
         046d
         01ba52c56fc8776d9e8f5db4f0cc27636d0b741bbe05400697942e80b739884a
         83bde99e0f6716939e632bc8986fa18dccd443a348b6c3e522497955a4f3c302
         f676",
        "005fc70477c3e63bc3954bd0df3ea0d1f41ee21746ed95fc5e1fdf90930d5e13
         6672d72cc770742d1711c3c3a4c334a0ad9759436a4d3c5bf6e74b9578fac148
         c831",
        Some(
            "00602f9d0cf9e526b29e22381c203c48a886c2b0673033366314f1ffbcba240b
             a42f4ef38a76174635f91e6b4ed34275eb01c8467d05ca80315bf1a7bbd945f5
             50a5
             01b7c85f26f5d4b2d7355cf6b02117659943762b6d1db5ab4f1dbc44ce7b2946
             eb6c7de342962893fd387d1b73d7a8672d1f236961170b7eb3579953ee5cdc88
             cd2d",
        ),
    ),
    (
        DhGroup::Ecp521,
        1,
        "00816f19c1fb10ef94d4a1d81c156ec3d1de08b66761f03f06ee4bb9dcebbbfe
         1eaa1ed49a6a990838d8ed318c14d74cc872f95d05d07ad50f621ceb620cd905
         cfb8",
        "01df277c152108349bc34d539ee0cf06b24f5d3500677b4445453ccc21409453
         aafb8a72a0be9ebe54d12270aa51b3ab7f316aa5e74a951c5e53f74cd95fc29a
         ee7a
         013d52f33a9f3c14384d1587fa8abe7aed74bc33749ad9c570b471776422c7d4
         505d9b0a96b3bfac041e4c6a6990ae7f700e5b4a6640229112deafa0cd8bb0d0
         89b0",
        "000b3920ac830ade812c8f96805da2236e002acbbf13596a9ab254d44d0e91b6
         255ebf1229f366fb5a05c5884ef46032c26d42189273ca4efa4c3db6bd12a685
         3759",
        None,
    ),
    (
        DhGroup::Ecp521,
        2,
        "012f2e0c6d9e9d117ceb9723bced02eb3d4eebf5feeaf8ee0113ccd8057b13dd
         d416e0b74280c2d0ba8ed291c443bc1b141caf8afb3a71f97f57c225c03e1e4d
         42b0",
        "0092db3142564d27a5f0006f819908fba1b85038a5bc2509906a497daac67fd7
         aee0fc2daba4e4334eeaef0e0019204b471cd88024f82115d8149cc0cf4f7ce1
         a4d5
         016bad0623f517b158d9881841d2571efbad63f85cbe2e581960c5d670601a67
         60272675a548996217e4ab2b8ebce31d71fca63fcc3c08e91c1d8edd91cf6fe8
         45f8",
        "006b380a6e95679277cfee4e8353bf96ef2a1ebdd060749f2f046fe571053740
         bbcc9a0b55790bc9ab56c3208aa05ddf746a10a3ad694daae00d980d944aabc6
         a08f",
        None,
    ),
    (
        DhGroup::Ecp521,
        3,
        "00e548a79d8b05f923b9825d11b656f222e8cb98b0f89de1d317184dc5a698f7
         c71161ee7dc11cd31f4f4f8ae3a981e1a3e78bdebb97d7c204b9261b4ef92e09
         18e0",
        "00fdd40d9e9d974027cb3bae682162eac1328ad61bc4353c45bf5afe76bf607d
         2894c8cce23695d920f2464fda4773d4693be4b3773584691bdb0329b7f4c86c
         c299
         0034ceac6a3fef1c3e1c494bfe8d872b183832219a7e14da414d4e3474573671
         ec19b033be831b915435905925b44947c592959945b4eb7c951c3b9c8cf52530
         ba23",
        "00fbbcd0b8d05331fef6086f22a6cce4d35724ab7a2f49dd8458d0bfd57a0b8b
         70f246c17c4468c076874b0dff7a0336823b19e98bf1cec05e4beffb0591f977
         13c6",
        None,
    ),
    (
        DhGroup::Ecp521,
        4,
        "01c8aae94bb10b8ca4f7be577b4fb32bb2381032c4942c24fc2d753e7cc5e47b
         483389d9f3b956d20ee9001b1eef9f23545f72c5602140046839e963313c3dec
         c864",
        "0098d99dee0816550e84dbfced7e88137fddcf581a725a455021115fe49f8dc3
         cf233cd9ea0e6f039dc7919da973cdceaca205da39e0bd98c8062536c47f258f
         44b5
         00cd225c8797371be0c4297d2b457740100c774141d8f214c23b61aa2b6cd480
         6b9b70722aa4965fb622f42b7391e27e5ec21c5679c5b06b59127372997d421a
         dc1e",
        "0145cfa38f25943516c96a5fd4bfebb2f645d10520117aa51971eff442808a23
         b4e23c187e639ff928c3725fbd1c0c2ad0d4aeb207bc1a6fb6cb6d467888dc04
         4b3c",
        None,
    ),
];

#[test]
fn nist_cavs_ecc_cdh_primitive() {
    for (group, count, d, q_cavs, z, q_iut) in CAVS_CDH {
        let k = keys(group, d);
        if let Some(q) = q_iut {
            assert_eq!(k.public_value(), &hex(q)[..], "{group} COUNT {count}: QIUT");
        }
        let secret = k.agree(&hex(q_cavs)).unwrap();
        assert_eq!(
            secret.as_slice(),
            &hex(z)[..],
            "{group} COUNT {count}: ZIUT"
        );
    }
}

/// The CAVS "invalid public key" variants (QCAVSx with its first nibble changed, so the
/// point is off the curve) are refused.
#[test]
fn nist_cavs_points_off_the_curve_are_refused() {
    for (group, count, d, q_cavs, _, _) in CAVS_CDH {
        let mut q = hex(q_cavs);
        q[0] ^= 0x10;
        assert_eq!(
            keys(group, d).agree(&q).unwrap_err(),
            CryptoError::InvalidPublicValue,
            "{group} COUNT {count}"
        );
    }
}

/// RFC 7748 §5.2: X25519(scalar, u) for two inputs. The second u has its top bit set,
/// which X25519 must ignore (§5).
#[test]
fn rfc7748_x25519_function() {
    let cases = [
        (
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
        ),
        (
            "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
            "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
        ),
    ];
    for (scalar, u, out) in cases {
        let k = keys(DhGroup::Curve25519, scalar);
        assert_eq!(k.agree(&hex(u)).unwrap().as_slice(), &hex(out)[..]);
    }
}

/// RFC 7748 §5.2 iterations: k = u = 9; repeatedly k, u = X25519(k, u), k. The results
/// after 1 and 1000 iterations are published (the 1,000,000 one is too slow for a test).
#[test]
fn rfc7748_x25519_iterated() {
    let mut k = [0u8; 32];
    k[0] = 9;
    let mut u = k;
    for i in 1..=1000 {
        let x = KeyExchange::new(DhGroup::Curve25519, &mut Fixed(k.to_vec())).unwrap();
        let out = x.agree(&u).unwrap();
        u = k;
        k.copy_from_slice(out.as_slice());
        match i {
            1 => assert_eq!(
                k[..],
                hex("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")[..]
            ),
            1000 => assert_eq!(
                k[..],
                hex("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")[..]
            ),
            _ => {}
        }
    }
}

/// RFC 7748 §6.1 (Alice and Bob) and the RFC 8031 Appendix A example (i and r), each
/// exchange checked from both sides: (a, A, b, B, K).
#[test]
fn curve25519_exchanges_both_sides() {
    let cases = [
        (
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
        ),
        (
            "751fb4308655b476b6789b7325f9ea8cddd16a58533ff6d9e60009464a5f9d94",
            "48d5ddd4061257ba166fa3f9bbdb74f1a4e81c089384fa77f790709f0dfbc766",
            "0a54645253290d60ddadd0e030bacd9e5501efdc220755a1e978f1b839a05688",
            "0be7c1f5aad87d7e448662673298a443478b859745179eaf564c79c0ef6eee25",
            "c74950607a12327f3204d94b6825bfb068b7f8319a9e3708ed3d43ce8130c950",
        ),
    ];
    for (a, pub_a, b, pub_b, shared) in cases {
        let ka = keys(DhGroup::Curve25519, a);
        let kb = keys(DhGroup::Curve25519, b);
        assert_eq!(ka.public_value(), &hex(pub_a)[..]);
        assert_eq!(kb.public_value(), &hex(pub_b)[..]);
        assert_eq!(ka.agree(&hex(pub_b)).unwrap().as_slice(), &hex(shared)[..]);
        assert_eq!(kb.agree(&hex(pub_a)).unwrap().as_slice(), &hex(shared)[..]);
    }
}

/// Our exponent a (40 bytes, the length used for group 14) and the peer's b.
const MODP14_A: &str =
    "c00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627";
const MODP14_B: &str =
    "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0dfdedddcdbdad9d8";
/// 2^a mod p (Python `pow(2, a, p)`).
const MODP14_GA: &str = "
    ef741fc9ac313407af1009c005b1ae22044068e196b62ac9d97925a74b013495
    8bb31f4e22de747b3ddff86ebe6342cb770be89f9318af441073d2d5d639d8e2
    deba588f02b64ca6b5782fe4bb33b23912e21112fd20cf9265ee49fe1bdd04a3
    1e309e384cfa6406edfc6592f3a5d6edeea2992e4e67d4fd95b814c1674b0344
    2da14b6ac88c96bbcc41b7ce65731b43b4db88c957b688b5387258d17de4a610
    640623460ac054c636b45b97bef94b19a224a8af23430201670de8d3c5cf9925
    dca4c0e99f70ee37f5427de90e8cb755dd6bace197c40ea1bbf996bdcdf3b790
    5e80f239ab91903be8fd75d976c17b38c53b2f2eb0da291cb2cea21860bc8f60";
/// 2^b mod p.
const MODP14_GB: &str = "
    ba44d54a6d00d2229765919c323aa3ee639b4f1ecda4fd8ee0263f45984a37c6
    7eb481ef275af4bf42e28fe8410aba3cc492df3a31f71bcbf8d8f9d99a163f2a
    0571826ee2cbfdb9634c9b802f55b0dd4f4fb56f20c9125c30b8aeaefb4a3ef8
    c7680c77203a108497a66020d4d33ee3f344b39e9942456c676117da33b2e84e
    e115cc042b1db68d19e2c095ca72f6325579169468da8421d80af16ddaa1d2e2
    26237404796a36e1b14af28d4b79c15c969cb8b2e58873bbb90bc32cbf89d46a
    8ca478df71573cbba9aab72de8b684fabfbc154e1470eae242e1790bdad925c1
    41d30aaeddabc8b339eeae238424fbbf2a9d1952d44f412eb254b661a027ad29";
/// (2^b)^a mod p.
const MODP14_GAB: &str = "
    92b3af80cf14d713f6dad4743d9fcee84172a90d5f0fc493927d7d4054e6f9c9
    09e5993d7a6601b82a30cba1d96583a63c9d43d36d5c08e18aff958fdac19967
    525ba60afec257dd784b8f45274487b8ffdf43647df8e905bd2bafdf1ad6d627
    bbe3f4ed0e302fa4ffeaee77b415409ed32903f10ae2c561cd8a1d7953ae8732
    c46e1eab0b675ef681447706479484a3e1740d1bce617605c41f09347e1cc5c3
    81190db80d89336b6b7d504a61c535528979a5329641b3f52a5fc9922126314c
    d053aa52922ea878680782317f323018ffbfcfb7999c4df12b37500c169a9168
    07205492b84696d40ecd3af9b52bfea2e7acb22d1d42eed1338730f1fcb3544a";

#[test]
fn modp14_known_exponents() {
    let ka = keys(DhGroup::Modp2048, MODP14_A);
    let kb = keys(DhGroup::Modp2048, MODP14_B);
    assert_eq!(ka.public_value(), &hex(MODP14_GA)[..]);
    assert_eq!(kb.public_value(), &hex(MODP14_GB)[..]);
    let s_a = ka.agree(&hex(MODP14_GB)).unwrap();
    let s_b = kb.agree(&hex(MODP14_GA)).unwrap();
    assert_eq!(s_a.as_slice(), &hex(MODP14_GAB)[..]);
    assert!(s_a.ct_eq(&s_b));
    assert_eq!(s_a.len(), 256, "padded to the prime's length");
}

/// The implementation sets the exponent's top bit, so a source byte with it clear gives
/// the same key as one with it set: [`keys`] with `0x40…` equals `0xc0…`.
#[test]
fn modp14_exponent_top_bit_is_forced() {
    let clear = format!("40{}", &MODP14_A[2..]);
    assert_eq!(
        keys(DhGroup::Modp2048, &clear).public_value(),
        &hex(MODP14_GA)[..]
    );
}

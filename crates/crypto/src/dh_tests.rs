//! Tests of [`super::KeyExchange`] (the RFC 5903 §8 ECP vectors are in the crate's
//! known-answer tests, `tests/kat_dh.rs`): RFC 7748 §6.1 and RFC 8031 X25519 vectors (all also re-checked with Python's `cryptography`), MODP values checked
//! against Python's `pow` with the RFC 3526 primes rebuilt from their formula in π, and
//! the rejection of invalid peer values.

use super::*;
use crate::random::SeededRandom;
use proptest::prelude::*;

/// A "random" source that hands out fixed bytes, to feed known private keys.
struct Fixed(Vec<u8>);

impl Random for Fixed {
    fn fill(&mut self, buf: &mut [u8]) {
        let n = buf.len();
        buf.copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ::hex::decode(s).unwrap()
}

fn sha256(b: &[u8]) -> String {
    ::hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b))
}

#[test]
fn x25519_vectors() {
    // RFC 7748 §6.1 (Alice and Bob) and RFC 8031 §... appendix A.
    let cases = [
        (
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
        ),
        (
            "75 1f b4 30 86 55 b4 76 b6 78 9b 73 25 f9 ea 8c dd d1 6a 58 53 3f f6 d9 e6 00 09 46 4a 5f 9d 94",
            "48d5ddd4061257ba166fa3f9bbdb74f1a4e81c089384fa77f790709f0dfbc766",
            "0be7c1f5aad87d7e448662673298a443478b859745179eaf564c79c0ef6eee25",
            "c74950607a12327f3204d94b6825bfb068b7f8319a9e3708ed3d43ce8130c950",
        ),
    ];
    for (private, public, peer, shared) in cases {
        let k = KeyExchange::new(DhGroup::Curve25519, &mut Fixed(hex(private))).unwrap();
        assert_eq!(k.public_value(), &hex(public)[..]);
        assert_eq!(k.agree(&hex(peer)).unwrap().as_slice(), &hex(shared)[..]);
    }
}

/// The RFC 3526 2048-bit prime, rebuilt in Python from 2^2048 - 2^1984 - 1 + 2^64 *
/// ([2^1918 π] + 124476) (RFC 3526 §3).
const MODP2048_PRIME: &str = "
    ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74
    020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f1437
    4fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed
    ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf05
    98da48361c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb
    9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b
    e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf695581718
    3995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff";

/// Exponent bytes 1, 2, … (top bit set by the implementation) for us and the next ones for
/// the peer; expected SHA-256 of our public value and of the shared secret from Python's
/// `pow(2, x, p)` and `pow(pow(2, y, p), x, p)`.
#[test]
fn modp_known_answers() {
    let cases = [
        (
            DhGroup::Modp2048,
            40,
            "5d42b02cc7ccd3d51a5c4f8b7a4dd6bd0f90c22b9c75640f268f635c8fea2e15",
            "5f58d99a6f8488aa81f76fcf0582fa658cba186d02d42e95750a737a128f9cf3",
        ),
        (
            DhGroup::Modp3072,
            56,
            "9f2d73c92f3f240b5b96099e03431f58b5fc59b22b0a95e1e275db1965068d68",
            "92611e9392207f516d46f18de833a72fc49f38f442430296b1006dfdca294237",
        ),
        (
            DhGroup::Modp4096,
            64,
            "ef1d70629353c458131378be223d1a1225b00d92d04f8bdf06f9eba83c2b4e6e",
            "e668469ad95a2207fcc4c59f229615551ac00263761e9c42576eca2526c2a7b2",
        ),
    ];
    for (group, exp_len, public_sha, shared_sha) in cases {
        let ours: Vec<u8> = (1..=exp_len).collect();
        let theirs: Vec<u8> = (exp_len + 1..=2 * exp_len).collect();
        let a = KeyExchange::new(group, &mut Fixed(ours)).unwrap();
        let b = KeyExchange::new(group, &mut Fixed(theirs)).unwrap();
        assert_eq!(a.public_value().len(), group.public_len());
        assert_eq!(sha256(a.public_value()), public_sha, "{group}");
        let b_public = b.public_value().to_vec();
        let s1 = a.agree(&b_public).unwrap();
        assert_eq!(s1.len(), group.public_len());
        assert_eq!(sha256(s1.as_slice()), shared_sha, "{group}");
    }
}

#[test]
fn modp_peer_range_is_checked() {
    let p = hex(MODP2048_PRIME);
    let mut p_minus_1 = p.clone();
    p_minus_1[255] -= 1;
    let mut two = vec![0u8; 256];
    two[255] = 2;
    let mut one = vec![0u8; 256];
    one[255] = 1;
    for bad in [vec![0u8; 256], one, p_minus_1, p.clone(), vec![0xff; 256]] {
        let k = KeyExchange::new(DhGroup::Modp2048, &mut SeededRandom::new(1)).unwrap();
        assert_eq!(k.agree(&bad).unwrap_err(), CryptoError::InvalidPublicValue);
    }
    let k = KeyExchange::new(DhGroup::Modp2048, &mut SeededRandom::new(1)).unwrap();
    assert!(k.agree(&two).is_ok());
    // p - 2 is the largest value accepted.
    let mut p_minus_2 = p;
    p_minus_2[255] -= 2;
    let k = KeyExchange::new(DhGroup::Modp2048, &mut SeededRandom::new(1)).unwrap();
    assert!(k.agree(&p_minus_2).is_ok());
}

#[test]
fn every_group_agrees_and_is_deterministic() {
    for group in DhGroup::ALL {
        let a = KeyExchange::new(group, &mut SeededRandom::new(7)).unwrap();
        let again = KeyExchange::new(group, &mut SeededRandom::new(7)).unwrap();
        assert_eq!(a.public_value(), again.public_value(), "{group}");
        let b = KeyExchange::new(group, &mut SeededRandom::new(8)).unwrap();
        assert_ne!(a.public_value(), b.public_value());
        assert_eq!(a.public_value().len(), group.public_len());
        assert_eq!(format!("{a:?}"), format!("KeyExchange({group})"));
        let (pa, pb) = (a.public_value().to_vec(), b.public_value().to_vec());
        let (sa, sb) = (a.agree(&pb).unwrap(), b.agree(&pa).unwrap());
        assert!(sa.ct_eq(&sb), "{group}");
        // Wrong lengths are refused for every group.
        let k = KeyExchange::new(group, &mut SeededRandom::new(9)).unwrap();
        let mut long = pa.clone();
        long.push(0);
        assert_eq!(k.agree(&long).unwrap_err(), CryptoError::InvalidPublicValue);
        let k = KeyExchange::new(group, &mut SeededRandom::new(9)).unwrap();
        assert_eq!(
            k.agree(&pa[1..]).unwrap_err(),
            CryptoError::InvalidPublicValue
        );
    }
}

#[test]
fn invalid_curve_points_are_refused() {
    for group in [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Ecp521] {
        let peer = KeyExchange::new(group, &mut SeededRandom::new(3)).unwrap();
        let mut off_curve = peer.public_value().to_vec();
        *off_curve.last_mut().unwrap() ^= 1;
        let k = KeyExchange::new(group, &mut SeededRandom::new(4)).unwrap();
        assert_eq!(
            k.agree(&off_curve).unwrap_err(),
            CryptoError::InvalidPublicValue
        );
        let k = KeyExchange::new(group, &mut SeededRandom::new(4)).unwrap();
        let zeros = vec![0u8; group.public_len()];
        assert_eq!(
            k.agree(&zeros).unwrap_err(),
            CryptoError::InvalidPublicValue
        );
    }
    // Curve25519: the zero point has low order and gives an all-zero secret.
    let k = KeyExchange::new(DhGroup::Curve25519, &mut SeededRandom::new(4)).unwrap();
    assert_eq!(
        k.agree(&[0u8; 32]).unwrap_err(),
        CryptoError::InvalidPublicValue
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary peer bytes never panic: they agree or are refused.
    #[test]
    fn arbitrary_peer_values_do_not_panic(
        group in 0usize..4,
        bytes in proptest::collection::vec(any::<u8>(), 0..140),
    ) {
        let group = [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Ecp521, DhGroup::Curve25519][group];
        let k = KeyExchange::new(group, &mut SeededRandom::new(5)).unwrap();
        let _ = k.agree(&bytes);
        let k = KeyExchange::new(group, &mut SeededRandom::new(5)).unwrap();
        let mut sized = bytes.clone();
        sized.resize(group.public_len(), 0x5a);
        let _ = k.agree(&sized);
    }
}

//! Diffie-Hellman key exchange for IKEv2 KE payloads: ECP groups 19/20/21 (RFC 5903) and
//! Curve25519 (group 31, RFC 8031) through aws-lc-rs, MODP groups 14/15/16 (RFC 3526)
//! through the small aws-lc-sys wrapper in `modp`.
//!
//! Private keys are drawn from the [`Random`] the caller hands in, so simulations are
//! reproducible. Wire formats (RFC 7296 §3.4):
//!
//! * ECP: the public value is x ‖ y without SEC1's 0x04 prefix (RFC 5903 §7); the shared
//!   secret is the x coordinate of the shared point (RFC 5903 §9).
//! * Curve25519: 32-byte u-coordinates both ways; an all-zero shared secret (a low-order
//!   peer point) is refused (RFC 8031 §2).
//! * MODP: big-endian, zero-padded to the prime's length, for both the public value and the
//!   shared secret; the peer's value must satisfy 1 < y < p-1.

use std::fmt;

use aws_lc_rs::agreement;
use zeroize::Zeroizing;

use crate::algorithm::DhGroup;
use crate::error::CryptoError;
use crate::keys::SecretBytes;
use crate::modp;
use crate::random::Random;

/// How many times a private scalar is redrawn when the curve rejects it (zero or not below
/// the group order: probability below 2^-32 per draw for every curve here).
const MAX_DRAWS: usize = 8;

/// Largest ECP public value with the SEC1 prefix (P-521: 1 + 2 × 66).
const MAX_SEC1_LEN: usize = 133;

/// One side of a Diffie-Hellman exchange: our private key and public value. Consumed by
/// [`KeyExchange::agree`]; `Debug` shows only the group.
pub struct KeyExchange {
    group: DhGroup,
    private: Private,
    public: Vec<u8>,
}

enum Private {
    Ec(agreement::PrivateKey),
    Modp(SecretBytes),
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyExchange({})", self.group)
    }
}

fn ec_algorithm(group: DhGroup) -> Option<&'static agreement::Algorithm> {
    match group {
        DhGroup::Ecp256 => Some(&agreement::ECDH_P256),
        DhGroup::Ecp384 => Some(&agreement::ECDH_P384),
        DhGroup::Ecp521 => Some(&agreement::ECDH_P521),
        DhGroup::Curve25519 => Some(&agreement::X25519),
        DhGroup::Modp2048 | DhGroup::Modp3072 | DhGroup::Modp4096 => None,
    }
}

/// Private key length in bytes for the curves (big-endian scalar, or X25519's 32 bytes).
fn ec_private_len(group: DhGroup) -> usize {
    match group {
        DhGroup::Ecp384 => 48,
        DhGroup::Ecp521 => 66,
        _ => 32,
    }
}

/// MODP private exponent length in bytes: at least twice the group's strength, the larger
/// estimate of RFC 3526 §8 (320, 420 and 480 bits), rounded up.
fn modp_exponent_len(group: DhGroup) -> usize {
    match group {
        DhGroup::Modp3072 => 56,
        DhGroup::Modp4096 => 64,
        _ => 40,
    }
}

impl KeyExchange {
    /// A fresh key pair for `group`, its private key drawn from `random`.
    pub fn new(group: DhGroup, random: &mut dyn Random) -> Result<KeyExchange, CryptoError> {
        match ec_algorithm(group) {
            Some(alg) => Self::new_ec(group, alg, random),
            None => Self::new_modp(group, random),
        }
    }

    fn new_ec(
        group: DhGroup,
        alg: &'static agreement::Algorithm,
        random: &mut dyn Random,
    ) -> Result<KeyExchange, CryptoError> {
        let mut buf = Zeroizing::new([0u8; 66]);
        let scalar = buf
            .get_mut(..ec_private_len(group))
            .ok_or(CryptoError::Internal)?;
        for _ in 0..MAX_DRAWS {
            random.fill(scalar);
            if group == DhGroup::Ecp521 {
                // P-521 scalars are 521 bits: only the low bit of the first byte is used.
                if let Some(top) = scalar.first_mut() {
                    *top &= 0x01;
                }
            }
            let Ok(private) = agreement::PrivateKey::from_private_key(alg, scalar) else {
                continue;
            };
            let public = private
                .compute_public_key()
                .map_err(|_| CryptoError::Internal)?;
            let raw = public.as_ref();
            let public = if group == DhGroup::Curve25519 {
                raw.to_vec()
            } else {
                // SEC1 uncompressed point: 0x04 ‖ x ‖ y; IKE sends x ‖ y.
                match raw.split_first() {
                    Some((0x04, xy)) => xy.to_vec(),
                    _ => return Err(CryptoError::Internal),
                }
            };
            if public.len() != group.public_len() {
                return Err(CryptoError::Internal);
            }
            return Ok(KeyExchange {
                group,
                private: Private::Ec(private),
                public,
            });
        }
        Err(CryptoError::Internal)
    }

    fn new_modp(group: DhGroup, random: &mut dyn Random) -> Result<KeyExchange, CryptoError> {
        let mut exp = SecretBytes::zeroed(modp_exponent_len(group));
        random.fill(exp.as_mut_slice());
        // A fixed top bit gives every exponent the same length (nothing about its size
        // leaks through timing) and keeps it far from 0 and 1.
        if let Some(top) = exp.as_mut_slice().first_mut() {
            *top |= 0x80;
        }
        let mut public = vec![0u8; group.public_len()];
        modp::public_value(group, exp.as_slice(), &mut public)?;
        Ok(KeyExchange {
            group,
            private: Private::Modp(exp),
            public,
        })
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Our public value in KE payload format ([`DhGroup::public_len`] bytes).
    pub fn public_value(&self) -> &[u8] {
        &self.public
    }

    /// The shared secret g^ir with the peer's KE payload data, in the form the key schedule
    /// takes (ECP: x coordinate; MODP: padded to the prime length). Invalid peer values
    /// (wrong length, not on the curve, out of range, low order) give
    /// [`CryptoError::InvalidPublicValue`].
    pub fn agree(self, peer_public: &[u8]) -> Result<SecretBytes, CryptoError> {
        if peer_public.len() != self.group.public_len() {
            return Err(CryptoError::InvalidPublicValue);
        }
        match self.private {
            Private::Modp(exp) => {
                let mut out = SecretBytes::zeroed(self.group.public_len());
                modp::shared_secret(self.group, peer_public, exp.as_slice(), out.as_mut_slice())?;
                Ok(out)
            }
            Private::Ec(private) => {
                let alg = ec_algorithm(self.group).ok_or(CryptoError::Internal)?;
                let mut sec1 = [0u8; MAX_SEC1_LEN];
                let peer = if self.group == DhGroup::Curve25519 {
                    peer_public
                } else {
                    let (prefix, xy) = sec1.split_first_mut().ok_or(CryptoError::Internal)?;
                    *prefix = 0x04;
                    xy.get_mut(..peer_public.len())
                        .ok_or(CryptoError::Internal)?
                        .copy_from_slice(peer_public);
                    sec1.get(..=peer_public.len())
                        .ok_or(CryptoError::Internal)?
                };
                let secret = agreement::agree(
                    &private,
                    agreement::UnparsedPublicKey::new(alg, peer),
                    CryptoError::InvalidPublicValue,
                    |s| Ok(SecretBytes::from_slice(s)),
                )?;
                if secret.as_slice().iter().all(|b| *b == 0) {
                    return Err(CryptoError::InvalidPublicValue);
                }
                Ok(secret)
            }
        }
    }
}

#[cfg(test)]
#[path = "dh_tests.rs"]
mod tests;

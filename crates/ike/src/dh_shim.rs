//! TEMPORARY stand-in for `dmvpn_crypto::dh::KeyExchange` until that module lands: ECDH
//! (P-256/384/521) and X25519 from aws-lc-rs, private keys drawn from the given Random.
//! MODP groups are refused here.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{DhGroup, Random};

pub(crate) struct KeyExchange {
    key: PrivateKey,
    alg: &'static agreement::Algorithm,
    public: Vec<u8>,
    group: DhGroup,
}

#[derive(Debug)]
pub(crate) struct DhError;

impl KeyExchange {
    pub(crate) fn new(group: DhGroup, random: &mut dyn Random) -> Result<KeyExchange, DhError> {
        let (alg, len) = match group {
            DhGroup::Ecp256 => (&agreement::ECDH_P256, 32),
            DhGroup::Ecp384 => (&agreement::ECDH_P384, 48),
            DhGroup::Ecp521 => (&agreement::ECDH_P521, 66),
            DhGroup::Curve25519 => (&agreement::X25519, 32),
            _ => return Err(DhError),
        };
        for _ in 0..16 {
            let mut k = zeroize::Zeroizing::new(vec![0u8; len]);
            random.fill(&mut k);
            if group == DhGroup::Ecp521 {
                if let Some(b) = k.first_mut() {
                    *b &= 0x01;
                }
            }
            let Ok(key) = PrivateKey::from_private_key(alg, &k) else {
                continue;
            };
            let Ok(p) = key.compute_public_key() else {
                continue;
            };
            let raw = p.as_ref();
            let public = if group == DhGroup::Curve25519 {
                raw.to_vec()
            } else {
                raw.get(1..).unwrap_or_default().to_vec()
            };
            return Ok(KeyExchange {
                key,
                alg,
                public,
                group,
            });
        }
        Err(DhError)
    }

    pub(crate) fn public_value(&self) -> &[u8] {
        &self.public
    }

    pub(crate) fn agree(self, peer: &[u8]) -> Result<SecretBytes, DhError> {
        let mut buf = Vec::new();
        if self.group != DhGroup::Curve25519 {
            buf.push(4);
        }
        buf.extend_from_slice(peer);
        agreement::agree(
            &self.key,
            UnparsedPublicKey::new(self.alg, &buf),
            DhError,
            |s| Ok(SecretBytes::from_slice(s)),
        )
    }
}

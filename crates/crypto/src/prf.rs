//! The IKEv2 key schedule (RFC 7296 §2.13–§2.18) over the negotiated HMAC PRF: `prf`,
//! `prf+`, SKEYSEED and the seven SK_* keys of an IKE SA ([`IkeKeys`]), rekeyed IKE SAs,
//! Child SA keying material ([`child_keymat`], [`ChildKeys`]) and the shared-key AUTH value
//! ([`psk_auth`]).
//!
//! Only HMAC PRFs are implemented, and HMAC takes keys of any length, so §2.14's special
//! rule for fixed-key-size PRFs (AES-XCBC/CMAC use only 64 bits of each nonce for
//! SKEYSEED) never applies: SKEYSEED is keyed with the whole `Ni | Nr`.

use aws_lc_rs::hmac;
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::{Encryption, Integrity, Prf};
use crate::error::CryptoError;
use crate::keys::SecretBytes;

/// The largest PRF output (HMAC-SHA-512).
const MAX_PRF_OUT: usize = 64;
/// prf+ stops after 255 blocks: the counter is one octet (RFC 7296 §2.13).
const MAX_PRF_PLUS_BLOCKS: usize = 255;

fn hmac_algorithm(p: Prf) -> hmac::Algorithm {
    match p {
        Prf::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        Prf::HmacSha256 => hmac::HMAC_SHA256,
        Prf::HmacSha384 => hmac::HMAC_SHA384,
        Prf::HmacSha512 => hmac::HMAC_SHA512,
    }
}

/// `prf(key, data)` where `data` is the concatenation of `data`'s parts.
pub fn prf(p: Prf, key: &[u8], data: &[&[u8]]) -> SecretBytes {
    let key = hmac::Key::new(hmac_algorithm(p), key);
    let mut ctx = hmac::Context::with_key(&key);
    for part in data {
        ctx.update(part);
    }
    SecretBytes::from_slice(ctx.sign().as_ref())
}

/// The most bytes `prf+` can produce with `p`: 255 blocks.
pub fn prf_plus_max(p: Prf) -> usize {
    p.output_len() * MAX_PRF_PLUS_BLOCKS
}

/// `prf+(key, seed)` truncated to `len` bytes (RFC 7296 §2.13): T1 = prf(K, S | 0x01),
/// Tn = prf(K, Tn-1 | S | n). Asking for more than 255 blocks is an error.
pub fn prf_plus(
    p: Prf,
    key: &[u8],
    seed: &[&[u8]],
    len: usize,
) -> Result<SecretBytes, CryptoError> {
    let max = prf_plus_max(p);
    if len > max {
        return Err(CryptoError::PrfPlusTooLong {
            requested: len,
            max,
        });
    }
    let key = hmac::Key::new(hmac_algorithm(p), key);
    let mut out = SecretBytes::zeroed(len);
    let mut prev = Zeroizing::new([0u8; MAX_PRF_OUT]);
    let mut prev_len = 0;
    let mut counter = 1u8;
    for chunk in out.as_mut_slice().chunks_mut(p.output_len()) {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(prev.get(..prev_len).ok_or(CryptoError::Internal)?);
        for part in seed {
            ctx.update(part);
        }
        ctx.update(&[counter]);
        let tag = ctx.sign();
        let t = tag.as_ref();
        for (o, b) in chunk.iter_mut().zip(t) {
            *o = *b;
        }
        for (o, b) in prev.iter_mut().zip(t) {
            *o = *b;
        }
        prev_len = t.len();
        counter = counter.wrapping_add(1);
    }
    Ok(out)
}

/// The seven secrets of an IKE SA (RFC 7296 §2.14), in prf+ order. SK_ai/SK_ar are empty
/// for an AEAD suite; SK_ei/SK_er include the 4-byte salt for AES-GCM (RFC 5282 §7.1).
#[derive(Debug, Clone)]
pub struct IkeKeys {
    /// Derives Child SA keys (and the next IKE SA's SKEYSEED).
    pub sk_d: SecretBytes,
    /// Integrity key for messages from the original initiator.
    pub sk_ai: SecretBytes,
    /// Integrity key for messages from the original responder.
    pub sk_ar: SecretBytes,
    /// Encryption key for messages from the original initiator.
    pub sk_ei: SecretBytes,
    /// Encryption key for messages from the original responder.
    pub sk_er: SecretBytes,
    /// Key for the initiator's AUTH payload (MACedIDForI).
    pub sk_pi: SecretBytes,
    /// Key for the responder's AUTH payload (MACedIDForR).
    pub sk_pr: SecretBytes,
}

/// SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14).
pub fn skeyseed(p: Prf, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> SecretBytes {
    let mut key = Zeroizing::new(Vec::with_capacity(ni.len().saturating_add(nr.len())));
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    prf(p, &key, &[g_ir])
}

/// SKEYSEED of a rekeyed IKE SA = prf(SK_d (old), g^ir (new) | Ni | Nr), with the OLD IKE
/// SA's PRF (RFC 7296 §2.18).
pub fn skeyseed_rekey(
    old_prf: Prf,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> SecretBytes {
    prf(old_prf, old_sk_d, &[g_ir_new, ni, nr])
}

fn check_suite(enc: Encryption, integ: Option<Integrity>) -> Result<usize, CryptoError> {
    match (enc.is_aead(), integ) {
        (true, None) => Ok(0),
        (false, Some(i)) => Ok(i.key_len()),
        (true, Some(_)) => Err(CryptoError::Algorithm(
            "AES-GCM is combined mode and takes no integrity transform",
        )),
        (false, None) => Err(CryptoError::Algorithm(
            "AES-CBC needs an integrity transform",
        )),
    }
}

impl IkeKeys {
    /// The keys of a new IKE SA from IKE_SA_INIT: SKEYSEED = prf(Ni | Nr, g^ir), then
    /// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr |
    /// SPIi | SPIr). `g_ir` is the shared secret as [`crate::dh::KeyExchange::agree`]
    /// returns it (padded to the modulus length for MODP).
    #[allow(clippy::too_many_arguments)]
    pub fn derive(
        p: Prf,
        enc: Encryption,
        integ: Option<Integrity>,
        ni: &[u8],
        nr: &[u8],
        g_ir: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, CryptoError> {
        let seed = skeyseed(p, ni, nr, g_ir);
        Self::expand(p, enc, integ, &seed, ni, nr, spi_i, spi_r)
    }

    /// The keys of an IKE SA created by rekeying (RFC 7296 §2.18): SKEYSEED =
    /// prf_old(SK_d (old), g^ir (new) | Ni | Nr), then the SK_* as in §2.14 with the new
    /// SA's PRF, the new exchange's nonces and the new SPIs.
    #[allow(clippy::too_many_arguments)]
    pub fn derive_rekey(
        old_prf: Prf,
        old_sk_d: &[u8],
        p: Prf,
        enc: Encryption,
        integ: Option<Integrity>,
        ni: &[u8],
        nr: &[u8],
        g_ir_new: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, CryptoError> {
        let seed = skeyseed_rekey(old_prf, old_sk_d, g_ir_new, ni, nr);
        Self::expand(p, enc, integ, &seed, ni, nr, spi_i, spi_r)
    }

    /// The SK_* from a SKEYSEED (the prf+ step of §2.14).
    #[allow(clippy::too_many_arguments)]
    pub fn expand(
        p: Prf,
        enc: Encryption,
        integ: Option<Integrity>,
        skeyseed: &SecretBytes,
        ni: &[u8],
        nr: &[u8],
        spi_i: u64,
        spi_r: u64,
    ) -> Result<IkeKeys, CryptoError> {
        let a = check_suite(enc, integ)?;
        let d = p.output_len();
        let e = enc.keymat_len();
        let total = 3 * d + 2 * a + 2 * e;
        let km = prf_plus(
            p,
            skeyseed.as_slice(),
            &[ni, nr, &spi_i.to_be_bytes(), &spi_r.to_be_bytes()],
            total,
        )?;
        let mut at = 0;
        let mut take = |len: usize| {
            let part = km.slice(at, len).ok_or(CryptoError::Internal);
            at += len;
            part
        };
        Ok(IkeKeys {
            sk_d: take(d)?,
            sk_ai: take(a)?,
            sk_ar: take(a)?,
            sk_ei: take(e)?,
            sk_er: take(e)?,
            sk_pi: take(d)?,
            sk_pr: take(d)?,
        })
    }
}

/// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), `len` bytes (RFC 7296 §2.17). `g_ir_new`
/// is the CREATE_CHILD_SA Diffie-Hellman secret when PFS is used.
pub fn child_keymat(
    p: Prf,
    sk_d: &[u8],
    g_ir_new: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    len: usize,
) -> Result<SecretBytes, CryptoError> {
    match g_ir_new {
        Some(g) => prf_plus(p, sk_d, &[g, ni, nr], len),
        None => prf_plus(p, sk_d, &[ni, nr], len),
    }
}

/// How many KEYMAT bytes one ESP Child SA pair takes: both directions' encryption (with
/// salt) and integrity keys.
pub fn child_keymat_len(enc: Encryption, integ: Option<Integrity>) -> usize {
    2 * (enc.keymat_len() + integ.map_or(0, Integrity::key_len))
}

/// The keys of an ESP Child SA pair, by direction of traffic (RFC 7296 §2.17).
#[derive(Debug, Clone)]
pub struct ChildKeys {
    /// Encryption key (‖ salt for GCM) for initiator-to-responder traffic.
    pub encr_i: SecretBytes,
    /// Integrity key for initiator-to-responder traffic (empty for AEAD).
    pub integ_i: SecretBytes,
    /// Encryption key (‖ salt for GCM) for responder-to-initiator traffic.
    pub encr_r: SecretBytes,
    /// Integrity key for responder-to-initiator traffic (empty for AEAD).
    pub integ_r: SecretBytes,
}

impl ChildKeys {
    /// Splits KEYMAT: initiator-to-responder keys first, and within a direction the
    /// encryption key before the integrity key (RFC 7296 §2.17, RFC 4301).
    pub fn split(
        keymat: &SecretBytes,
        enc: Encryption,
        integ: Option<Integrity>,
    ) -> Result<ChildKeys, CryptoError> {
        let a = check_suite(enc, integ)?;
        let e = enc.keymat_len();
        if keymat.len() < 2 * (a + e) {
            return Err(CryptoError::Length { what: "KEYMAT" });
        }
        let part = |from: usize, len: usize| keymat.slice(from, len).ok_or(CryptoError::Internal);
        Ok(ChildKeys {
            encr_i: part(0, e)?,
            integ_i: part(e, a)?,
            encr_r: part(e + a, e)?,
            integ_r: part(2 * e + a, a)?,
        })
    }

    /// KEYMAT computed and split in one step.
    pub fn derive(
        p: Prf,
        sk_d: &[u8],
        g_ir_new: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
        enc: Encryption,
        integ: Option<Integrity>,
    ) -> Result<ChildKeys, CryptoError> {
        check_suite(enc, integ)?;
        let km = child_keymat(p, sk_d, g_ir_new, ni, nr, child_keymat_len(enc, integ))?;
        Self::split(&km, enc, integ)
    }
}

/// The key pad of shared-key authentication (RFC 7296 §2.15).
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), `<SignedOctets>`) (RFC 7296 §2.15);
/// `signed_octets` are its parts (the first message, the peer's nonce, prf(SK_p, IDx')).
pub fn psk_auth(p: Prf, psk: &[u8], signed_octets: &[&[u8]]) -> SecretBytes {
    let mut inner = prf(p, psk, &[KEY_PAD]);
    let auth = prf(p, inner.as_slice(), signed_octets);
    inner.zeroize();
    auth
}

#[cfg(test)]
#[path = "prf_tests.rs"]
mod tests;

//! The symmetric protection of one SA direction, shared by ESP (RFC 4303, with AES-GCM per
//! RFC 4106 and AES-CBC + HMAC per RFC 3602 / RFC 4868) and by the IKEv2 Encrypted payload
//! (RFC 7296 §3.14, AES-GCM per RFC 5282).
//!
//! A [`Cipher`] is built once per SA direction with its keys expanded up front (an aws-lc-rs
//! `LessSafeKey` for GCM; an AES key schedule plus an HMAC key for CBC). Sealing and opening
//! work in place and allocate nothing. The protected region is always
//! `IV ‖ ciphertext ‖ ICV`:
//!
//! * **AES-GCM**: nonce = 4-byte salt (the last 4 bytes of the keying material) ‖ 8-byte IV;
//!   the AAD is the caller's `aad` (ESP: SPI ‖ sequence number, or SPI ‖ seq-hi ‖ seq-lo with
//!   ESN, RFC 4106 §5; IKE: the IKE header ‖ the Encrypted payload's generic header,
//!   RFC 5282 §5.1). `aad_tail` must be empty.
//! * **AES-CBC + HMAC** (encrypt-then-MAC): ICV = HMAC(integ key, `aad` ‖ IV ‖ ciphertext ‖
//!   `aad_tail`) truncated (ESP: `aad` = SPI ‖ seq-lo and `aad_tail` = seq-hi with ESN,
//!   RFC 4303 §2.2.1 and §3.3.2.1; IKE: `aad` = everything from the IKE header up to the IV).
//!   The plaintext must already be padded to the 16-byte block.
//!
//! [`Cipher::esp_aad`] builds the right `aad`/`aad_tail` pair for ESP from the SPI and the
//! 64-bit sequence number. On opening, the ICV is checked in constant time before anything
//! is decrypted (CBC), or the buffer is wiped when the tag fails (GCM): a failed open never
//! leaves usable plaintext.

use std::fmt;

use aws_lc_rs::{aead, cipher, constant_time, hmac, iv::FixedLength};
use zeroize::Zeroizing;

use crate::algorithm::{Encryption, Integrity};
use crate::error::CryptoError;

/// Length of the explicit IV of AES-GCM in ESP and IKE (RFC 4106 §3.1, RFC 5282 §3.1).
pub const GCM_IV_LEN: usize = 8;
/// Length of the AES-GCM salt taken from the keying material (RFC 4106 §4, RFC 5282 §7.1).
pub const GCM_SALT_LEN: usize = 4;
/// Length of the AES-GCM ICV for ENCR_AES_GCM_16.
pub const GCM_ICV_LEN: usize = 16;
/// Length of the AES-CBC IV and block.
pub const CBC_IV_LEN: usize = 16;

/// The protection of one SA direction: encryption key (and salt) plus, for CBC, the
/// integrity key. Keys are expanded once; `Debug` shows only the algorithms.
pub struct Cipher {
    encryption: Encryption,
    integrity: Option<Integrity>,
    inner: Inner,
}

enum Inner {
    Gcm {
        key: aead::LessSafeKey,
        salt: Zeroizing<[u8; GCM_SALT_LEN]>,
    },
    /// Boxed: two expanded AES schedules and an HMAC state are about 2 KB.
    Cbc(Box<CbcKeys>),
}

struct CbcKeys {
    enc: cipher::EncryptingKey,
    dec: cipher::DecryptingKey,
    mac: hmac::Key,
    icv_len: usize,
}

/// `IV`, data and `ICV` parts of a protected region.
type Region<'a> = (&'a mut [u8], &'a mut [u8], &'a mut [u8]);

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("encryption", &self.encryption)
            .field("integrity", &self.integrity)
            .finish_non_exhaustive()
    }
}

fn hmac_algorithm(i: Integrity) -> hmac::Algorithm {
    match i {
        Integrity::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        Integrity::HmacSha256_128 => hmac::HMAC_SHA256,
        Integrity::HmacSha384_192 => hmac::HMAC_SHA384,
        Integrity::HmacSha512_256 => hmac::HMAC_SHA512,
    }
}

impl Cipher {
    /// Builds the protection for one SA direction.
    ///
    /// `enc_key` is the transform's keying material ([`Encryption::keymat_len`]): for GCM the
    /// AES key followed by the 4-byte salt. `integ` must be `None` for GCM and `Some` for
    /// CBC; `integ_key` is then [`Integrity::key_len`] bytes (and empty for GCM).
    pub fn new(
        enc: Encryption,
        integ: Option<Integrity>,
        enc_key: &[u8],
        integ_key: &[u8],
    ) -> Result<Cipher, CryptoError> {
        if enc_key.len() != enc.keymat_len() {
            return Err(CryptoError::Length {
                what: "encryption key",
            });
        }
        let inner = match (enc, integ) {
            (Encryption::AesGcm16 { key_bits }, None) => {
                if !integ_key.is_empty() {
                    return Err(CryptoError::Length {
                        what: "integrity key (AEAD takes none)",
                    });
                }
                let alg = match key_bits {
                    128 => &aead::AES_128_GCM,
                    192 => &aead::AES_192_GCM,
                    256 => &aead::AES_256_GCM,
                    _ => return Err(CryptoError::Algorithm("AES-GCM key size")),
                };
                let (key, salt_bytes) = enc_key
                    .split_at_checked(enc_key.len().saturating_sub(GCM_SALT_LEN))
                    .ok_or(CryptoError::Length {
                        what: "encryption key",
                    })?;
                let mut salt = Zeroizing::new([0u8; GCM_SALT_LEN]);
                salt.copy_from_slice(salt_bytes);
                let unbound = aead::UnboundKey::new(alg, key).map_err(|_| CryptoError::Length {
                    what: "encryption key",
                })?;
                Inner::Gcm {
                    key: aead::LessSafeKey::new(unbound),
                    salt,
                }
            }
            (Encryption::AesCbc { key_bits }, Some(i)) => {
                if integ_key.len() != i.key_len() {
                    return Err(CryptoError::Length {
                        what: "integrity key",
                    });
                }
                let alg = match key_bits {
                    128 => &cipher::AES_128,
                    192 => &cipher::AES_192,
                    256 => &cipher::AES_256,
                    _ => return Err(CryptoError::Algorithm("AES-CBC key size")),
                };
                let unbound = || {
                    cipher::UnboundCipherKey::new(alg, enc_key).map_err(|_| CryptoError::Length {
                        what: "encryption key",
                    })
                };
                let enc =
                    cipher::EncryptingKey::cbc(unbound()?).map_err(|_| CryptoError::Internal)?;
                let dec =
                    cipher::DecryptingKey::cbc(unbound()?).map_err(|_| CryptoError::Internal)?;
                Inner::Cbc(Box::new(CbcKeys {
                    enc,
                    dec,
                    mac: hmac::Key::new(hmac_algorithm(i), integ_key),
                    icv_len: i.icv_len(),
                }))
            }
            (Encryption::AesGcm16 { .. }, Some(_)) => {
                return Err(CryptoError::Algorithm(
                    "AES-GCM is combined mode and takes no integrity transform",
                ));
            }
            (Encryption::AesCbc { .. }, None) => {
                return Err(CryptoError::Algorithm(
                    "AES-CBC needs an integrity transform",
                ));
            }
        };
        Ok(Cipher {
            encryption: enc,
            integrity: integ,
            inner,
        })
    }

    /// The encryption transform.
    pub fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// The integrity transform (`None` for AEAD).
    pub fn integrity(&self) -> Option<Integrity> {
        self.integrity
    }

    /// Length of the IV that precedes the ciphertext: 8 for GCM, 16 for CBC.
    pub fn iv_len(&self) -> usize {
        match self.inner {
            Inner::Gcm { .. } => GCM_IV_LEN,
            Inner::Cbc(_) => CBC_IV_LEN,
        }
    }

    /// Length of the ICV that follows the ciphertext: 16 for GCM, the truncated HMAC length
    /// for CBC.
    pub fn icv_len(&self) -> usize {
        match self.inner {
            Inner::Gcm { .. } => GCM_ICV_LEN,
            Inner::Cbc(ref k) => k.icv_len,
        }
    }

    /// The alignment the padded plaintext must reach. CBC: 16, the AES block (the cipher
    /// requires it). GCM: 4, which is what ESP requires (RFC 4303 §2.4: the Pad Length and
    /// Next Header fields end on a 4-byte boundary); GCM itself needs no padding, and the
    /// IKE Encrypted payload may pad to 4 as well (RFC 5282 §3.2 allows any padding).
    pub fn block_len(&self) -> usize {
        match self.inner {
            Inner::Gcm { .. } => 4,
            Inner::Cbc(_) => CBC_IV_LEN,
        }
    }

    /// The ESP additional authenticated data for `spi` and the 64-bit sequence number `seq`
    /// (only its low 32 bits go on the wire; with `esn` the high 32 bits are authenticated
    /// too): for GCM `aad` = SPI ‖ seq-lo or SPI ‖ seq-hi ‖ seq-lo (RFC 4106 §5); for CBC
    /// `aad` = SPI ‖ seq-lo and, with ESN, `aad_tail` = seq-hi (RFC 4303 §3.3.2.1).
    pub fn esp_aad(&self, spi: u32, seq: u64, esn: bool) -> EspAad {
        let spi = spi.to_be_bytes();
        let lo = (seq as u32).to_be_bytes();
        let hi = ((seq >> 32) as u32).to_be_bytes();
        match (&self.inner, esn) {
            (Inner::Gcm { .. }, true) => EspAad {
                aad: cat3(spi, hi, lo),
                aad_len: 12,
                tail: [0; 4],
                tail_len: 0,
            },
            (Inner::Cbc(_), true) => EspAad {
                aad: cat3(spi, lo, [0; 4]),
                aad_len: 8,
                tail: hi,
                tail_len: 4,
            },
            (_, false) => EspAad {
                aad: cat3(spi, lo, [0; 4]),
                aad_len: 8,
                tail: [0; 4],
                tail_len: 0,
            },
        }
    }

    /// Encrypts `data` in place and writes the ICV.
    ///
    /// `iv` is [`Self::iv_len`] bytes: for GCM unique per key (ESP uses the sequence number,
    /// RFC 4106 §3.1), for CBC unpredictable (from a [`crate::Random`]). `icv` is
    /// [`Self::icv_len`] bytes. For CBC, `data` must be a non-zero multiple of 16 bytes.
    pub fn seal(
        &self,
        iv: &[u8],
        aad: &[u8],
        aad_tail: &[u8],
        data: &mut [u8],
        icv: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.check_sizes(iv, aad_tail, icv.len())?;
        match &self.inner {
            Inner::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, iv)?;
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), data)
                    .map_err(|_| CryptoError::Internal)?;
                icv.copy_from_slice(tag.as_ref());
                Ok(())
            }
            Inner::Cbc(k) => {
                let CbcKeys { enc, mac, .. } = &**k;
                check_cbc_data(data)?;
                let context = cipher::EncryptionContext::Iv128(FixedLength::from(cbc_iv(iv)?));
                enc.less_safe_encrypt(data, context)
                    .map_err(|_| CryptoError::Internal)?;
                let tag = cbc_tag(mac, aad, iv, data, aad_tail);
                let full = tag.as_ref();
                icv.copy_from_slice(full.get(..icv.len()).ok_or(CryptoError::Internal)?);
                Ok(())
            }
        }
    }

    /// Verifies `icv` and decrypts `data` in place. On [`CryptoError::Authentication`] the
    /// contents of `data` are not plaintext (CBC: untouched ciphertext; GCM: wiped to zero).
    pub fn open(
        &self,
        iv: &[u8],
        aad: &[u8],
        aad_tail: &[u8],
        data: &mut [u8],
        icv: &[u8],
    ) -> Result<(), CryptoError> {
        self.check_sizes(iv, aad_tail, icv.len())?;
        match &self.inner {
            Inner::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, iv)?;
                if key
                    .open_in_place_separate_tag(nonce, aead::Aad::from(aad), icv, data)
                    .is_err()
                {
                    data.fill(0);
                    return Err(CryptoError::Authentication);
                }
                Ok(())
            }
            Inner::Cbc(k) => {
                let CbcKeys { dec, mac, .. } = &**k;
                check_cbc_data(data)?;
                let tag = cbc_tag(mac, aad, iv, data, aad_tail);
                let truncated = tag.as_ref().get(..icv.len()).ok_or(CryptoError::Internal)?;
                constant_time::verify_slices_are_equal(truncated, icv)
                    .map_err(|_| CryptoError::Authentication)?;
                let context = cipher::DecryptionContext::Iv128(FixedLength::from(cbc_iv(iv)?));
                dec.decrypt(data, context)
                    .map_err(|_| CryptoError::Internal)?;
                Ok(())
            }
        }
    }

    /// [`Self::seal`] over one contiguous region `IV ‖ plaintext ‖ ICV-space`, the IV
    /// already written by the caller.
    pub fn seal_region(
        &self,
        aad: &[u8],
        aad_tail: &[u8],
        region: &mut [u8],
    ) -> Result<(), CryptoError> {
        let (iv, data, icv) = self.split_region(region)?;
        self.seal(iv, aad, aad_tail, data, icv)
    }

    /// [`Self::open`] over one contiguous region `IV ‖ ciphertext ‖ ICV`; returns the
    /// plaintext part of the region.
    pub fn open_region<'a>(
        &self,
        aad: &[u8],
        aad_tail: &[u8],
        region: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        let (iv, data, icv) = self.split_region(region)?;
        self.open(iv, aad, aad_tail, data, icv)?;
        Ok(data)
    }

    fn split_region<'a>(&self, region: &'a mut [u8]) -> Result<Region<'a>, CryptoError> {
        let too_short = CryptoError::Length { what: "region" };
        let (iv, rest) = region
            .split_at_mut_checked(self.iv_len())
            .ok_or(too_short)?;
        let data_len = rest.len().checked_sub(self.icv_len()).ok_or(too_short)?;
        let (data, icv) = rest.split_at_mut_checked(data_len).ok_or(too_short)?;
        Ok((iv, data, icv))
    }

    fn check_sizes(&self, iv: &[u8], aad_tail: &[u8], icv_len: usize) -> Result<(), CryptoError> {
        if iv.len() != self.iv_len() {
            return Err(CryptoError::Length { what: "IV" });
        }
        if icv_len != self.icv_len() {
            return Err(CryptoError::Length { what: "ICV" });
        }
        if matches!(self.inner, Inner::Gcm { .. }) && !aad_tail.is_empty() {
            return Err(CryptoError::Length {
                what: "AAD tail (GCM authenticates the whole AAD up front)",
            });
        }
        Ok(())
    }
}

fn gcm_nonce(salt: &[u8; GCM_SALT_LEN], iv: &[u8]) -> Result<aead::Nonce, CryptoError> {
    let mut n = [0u8; GCM_SALT_LEN + GCM_IV_LEN];
    let (s, i) = n.split_at_mut(GCM_SALT_LEN);
    s.copy_from_slice(salt);
    if i.len() != iv.len() {
        return Err(CryptoError::Length { what: "IV" });
    }
    i.copy_from_slice(iv);
    Ok(aead::Nonce::assume_unique_for_key(n))
}

fn cat3(a: [u8; 4], b: [u8; 4], c: [u8; 4]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for (o, x) in out.iter_mut().zip(a.iter().chain(&b).chain(&c)) {
        *o = *x;
    }
    out
}

fn cbc_iv(iv: &[u8]) -> Result<[u8; CBC_IV_LEN], CryptoError> {
    iv.try_into()
        .map_err(|_| CryptoError::Length { what: "IV" })
}

fn check_cbc_data(data: &[u8]) -> Result<(), CryptoError> {
    if data.is_empty() || !data.len().is_multiple_of(CBC_IV_LEN) {
        return Err(CryptoError::Length {
            what: "CBC data (must be a non-zero multiple of 16)",
        });
    }
    Ok(())
}

fn cbc_tag(mac: &hmac::Key, aad: &[u8], iv: &[u8], ct: &[u8], tail: &[u8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(mac);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ct);
    ctx.update(tail);
    ctx.sign()
}

/// ESP's additional authenticated data for one packet, from [`Cipher::esp_aad`]: pass
/// [`EspAad::aad`] and [`EspAad::tail`] to [`Cipher::seal`] / [`Cipher::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspAad {
    aad: [u8; 12],
    aad_len: usize,
    tail: [u8; 4],
    tail_len: usize,
}

impl EspAad {
    /// The AAD authenticated before the IV.
    pub fn aad(&self) -> &[u8] {
        self.aad.get(..self.aad_len).unwrap_or(&[])
    }

    /// The data authenticated after the ciphertext (CBC with ESN: seq-hi), else empty.
    pub fn tail(&self) -> &[u8] {
        self.tail.get(..self.tail_len).unwrap_or(&[])
    }
}

#[cfg(test)]
#[path = "cipher_tests.rs"]
mod tests;

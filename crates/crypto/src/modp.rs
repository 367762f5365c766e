//! MODP Diffie-Hellman arithmetic (groups 14, 15, 16: the RFC 3526 safe primes in
//! `modp_primes.rs`, generator 2) over aws-lc's constant-time Montgomery exponentiation, reached through aws-lc-sys
//! because aws-lc-rs has no finite-field DH API. This is the only `unsafe` code of the
//! crate: each FFI call is wrapped once here, with the ownership of every BIGNUM held by
//! an RAII guard that clears and frees it.

#![allow(unsafe_code)]

use std::ptr::{self, NonNull};

use aws_lc_sys as sys;

use crate::algorithm::DhGroup;
use crate::error::CryptoError;

#[path = "modp_primes.rs"]
mod primes;

/// An owned aws-lc BIGNUM, cleared and freed on drop.
struct Bn(NonNull<sys::BIGNUM>);

impl Bn {
    fn from_raw(p: *mut sys::BIGNUM) -> Result<Bn, CryptoError> {
        NonNull::new(p).map(Bn).ok_or(CryptoError::Internal)
    }

    /// A fresh zero BIGNUM.
    fn new() -> Result<Bn, CryptoError> {
        // SAFETY: BN_new has no preconditions; it returns a new BIGNUM or NULL on
        // allocation failure, which from_raw turns into an error.
        Bn::from_raw(unsafe { sys::BN_new() })
    }

    /// The unsigned big-endian integer in `bytes`.
    fn from_be(bytes: &[u8]) -> Result<Bn, CryptoError> {
        // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes for the duration of the
        // call; a NULL `ret` makes BN_bin2bn allocate the result (or return NULL).
        Bn::from_raw(unsafe { sys::BN_bin2bn(bytes.as_ptr(), bytes.len(), ptr::null_mut()) })
    }

    /// The group's RFC 3526 prime.
    fn prime(group: DhGroup) -> Result<Bn, CryptoError> {
        match group {
            DhGroup::Modp2048 => Bn::from_be(&primes::MODP_2048),
            DhGroup::Modp3072 => Bn::from_be(&primes::MODP_3072),
            DhGroup::Modp4096 => Bn::from_be(&primes::MODP_4096),
            _ => Err(CryptoError::Algorithm("not a MODP group")),
        }
    }

    fn as_ptr(&self) -> *const sys::BIGNUM {
        self.0.as_ptr()
    }

    /// `self - 1` as a new BIGNUM.
    fn minus_one(&self) -> Result<Bn, CryptoError> {
        // SAFETY: self.as_ptr() is a valid BIGNUM; BN_dup returns a new copy or NULL.
        let r = Bn::from_raw(unsafe { sys::BN_dup(self.as_ptr()) })?;
        // SAFETY: r owns a valid BIGNUM that nothing else references.
        if unsafe { sys::BN_sub_word(r.0.as_ptr(), 1) } != 1 {
            return Err(CryptoError::Internal);
        }
        Ok(r)
    }

    /// Big-endian, left-padded with zeros to exactly `out.len()` bytes.
    fn write_be_padded(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        // SAFETY: `out` is valid for writes of `out.len()` bytes; BN_bn2bin_padded writes
        // exactly that many or fails (returns 0) when the number does not fit.
        if unsafe { sys::BN_bn2bin_padded(out.as_mut_ptr(), out.len(), self.as_ptr()) } != 1 {
            return Err(CryptoError::Internal);
        }
        Ok(())
    }
}

impl Drop for Bn {
    fn drop(&mut self) {
        // SAFETY: self.0 was returned by an aws-lc allocator, is owned solely by this guard
        // and is freed exactly once here; BN_clear_free zeroes the limbs first.
        unsafe { sys::BN_clear_free(self.0.as_ptr()) }
    }
}

/// An owned aws-lc BN_CTX (scratch space for the exponentiation).
struct Ctx(NonNull<sys::BN_CTX>);

impl Ctx {
    fn new() -> Result<Ctx, CryptoError> {
        // SAFETY: BN_CTX_new has no preconditions; NULL on allocation failure.
        NonNull::new(unsafe { sys::BN_CTX_new() })
            .map(Ctx)
            .ok_or(CryptoError::Internal)
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: self.0 came from BN_CTX_new, is owned solely by this guard and freed once.
        unsafe { sys::BN_CTX_free(self.0.as_ptr()) }
    }
}

/// The prime's length in bytes (the KE payload and shared secret length), for MODP groups.
pub(crate) fn prime_len(group: DhGroup) -> Option<usize> {
    match group {
        DhGroup::Modp2048 => Some(256),
        DhGroup::Modp3072 => Some(384),
        DhGroup::Modp4096 => Some(512),
        _ => None,
    }
}

/// `base ^ exp mod p` into `out` (padded to the prime length), constant-time in `exp`.
/// `base` must already be in [2, p-2].
fn mod_exp(p: &Bn, base: &Bn, exp: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let e = Bn::from_be(exp)?;
    let r = Bn::new()?;
    let ctx = Ctx::new()?;
    // SAFETY: every pointer is a live BIGNUM/BN_CTX owned by a guard in this frame; `r` is
    // distinct from the inputs; `p` is odd (a safe prime) and `base` < `p` as the
    // function requires; a NULL BN_MONT_CTX makes aws-lc build one internally. The
    // exponent is treated as secret (fixed window, no secret-dependent branches).
    let ok = unsafe {
        sys::BN_mod_exp_mont_consttime(
            r.0.as_ptr(),
            base.as_ptr(),
            e.as_ptr(),
            p.as_ptr(),
            ctx.0.as_ptr(),
            ptr::null(),
        )
    };
    if ok != 1 {
        return Err(CryptoError::Internal);
    }
    r.write_be_padded(out)
}

/// Our public value g^x mod p, with g = 2, big-endian padded to the prime length.
pub(crate) fn public_value(group: DhGroup, exp: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let p = Bn::prime(group)?;
    let g = Bn::from_be(&[2])?;
    mod_exp(&p, &g, exp, out)
}

/// The shared secret peer^x mod p, padded to the prime length, after checking the peer's
/// value is exactly prime-length and 1 < y < p-1 (rejecting the degenerate values 0, 1
/// and p-1, and anything not reduced modulo p).
pub(crate) fn shared_secret(
    group: DhGroup,
    peer: &[u8],
    exp: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    if Some(peer.len()) != prime_len(group) {
        return Err(CryptoError::InvalidPublicValue);
    }
    let p = Bn::prime(group)?;
    let y = Bn::from_be(peer)?;
    let p_minus_1 = p.minus_one()?;
    // SAFETY: `y` and `p_minus_1` are live BIGNUMs owned by guards in this frame.
    let in_range = unsafe {
        sys::BN_cmp_word(y.as_ptr(), 1) > 0 && sys::BN_cmp(y.as_ptr(), p_minus_1.as_ptr()) < 0
    };
    if !in_range {
        return Err(CryptoError::InvalidPublicValue);
    }
    mod_exp(&p, &y, exp, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_have_the_rfc3526_shape() {
        for (p, bits) in [
            (&primes::MODP_2048[..], 2048),
            (&primes::MODP_3072[..], 3072),
            (&primes::MODP_4096[..], 4096),
        ] {
            assert_eq!(p.len() * 8, bits);
            // The top and bottom 64 bits are all ones, then the fraction of pi starts:
            // 0xC90FDAA2_2168C234 is the first 64 bits of pi's fraction.
            assert!(p[..8].iter().all(|b| *b == 0xff));
            assert!(p[p.len() - 8..].iter().all(|b| *b == 0xff));
            assert_eq!(p[8..16], [0xc9, 0x0f, 0xda, 0xa2, 0x21, 0x68, 0xc2, 0x34]);
        }
        // They share π's leading bits (the MODP prefix of dh_tests checks group 14 whole).
        assert_eq!(primes::MODP_2048[..200], primes::MODP_3072[..200]);
        assert_eq!(prime_len(DhGroup::Ecp256), None);
    }
}

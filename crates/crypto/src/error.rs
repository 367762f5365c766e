//! The one error type of this crate. Variants say what went wrong without carrying any
//! secret: a failed integrity check is just [`CryptoError::Authentication`].

use thiserror::Error;

/// What a cryptographic operation can fail with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// The ICV (AEAD tag or truncated HMAC) did not verify: the packet was forged,
    /// corrupted, or protected with other keys. Nothing decrypted may be used.
    #[error("integrity check failed")]
    Authentication,
    /// A buffer, IV, ICV or key had the wrong length for the algorithm (for CBC: data not a
    /// non-zero multiple of the block size).
    #[error("wrong length for {what}")]
    Length {
        /// Which input was the wrong size.
        what: &'static str,
    },
    /// The algorithm combination is not usable: AEAD with an integrity transform, CBC
    /// without one, or an unsupported key size.
    #[error("unusable algorithm combination: {0}")]
    Algorithm(&'static str),
    /// prf+ was asked for more than 255 blocks of output (RFC 7296 §2.13).
    #[error("prf+ output too long: {requested} bytes, at most {max}")]
    PrfPlusTooLong {
        /// Bytes asked for.
        requested: usize,
        /// The most this PRF's prf+ can produce.
        max: usize,
    },
    /// A Diffie-Hellman public value from the peer is invalid (wrong length, not on the
    /// curve, out of range for MODP, or a low-order point).
    #[error("invalid Diffie-Hellman public value")]
    InvalidPublicValue,
    /// The underlying library reported an unexpected failure.
    #[error("cryptographic library failure")]
    Internal,
}

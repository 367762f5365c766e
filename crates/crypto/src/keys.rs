//! Key material in memory: [`SecretBytes`] owns secret bytes, wipes them when dropped, never
//! prints them, and compares them only in constant time.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Secret bytes (keys, shared secrets, keying material): zeroized on drop, `Debug` prints
/// only the length, equality only through [`SecretBytes::ct_eq`].
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(bytes)
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> SecretBytes {
        SecretBytes(bytes.to_vec())
    }

    /// `len` zero bytes, to be filled in place (no reallocation leaves copies behind).
    pub fn zeroed(len: usize) -> SecretBytes {
        SecretBytes(vec![0; len])
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes (the integrity key of an AEAD suite).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether both hold the same bytes, in time independent of the contents (lengths are
    /// not secret).
    pub fn ct_eq(&self, other: &SecretBytes) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &other.0).is_ok()
    }

    /// Copies out `len` bytes at `from`, or `None` past the end.
    pub fn slice(&self, from: usize, len: usize) -> Option<SecretBytes> {
        let end = from.checked_add(len)?;
        self.0.get(from..end).map(SecretBytes::from_slice)
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(v: Vec<u8>) -> SecretBytes {
        SecretBytes(v)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{s:?}"), "SecretBytes(<7 bytes redacted>)");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn constant_time_equality() {
        let a = SecretBytes::from_slice(&[1, 2, 3]);
        assert!(a.ct_eq(&SecretBytes::new(vec![1, 2, 3])));
        assert!(!a.ct_eq(&SecretBytes::new(vec![1, 2, 4])));
        assert!(!a.ct_eq(&SecretBytes::new(vec![1, 2])));
    }

    #[test]
    fn slices_and_zeroize() {
        let mut s = SecretBytes::from_slice(&[1, 2, 3, 4]);
        assert_eq!(s.slice(1, 2).unwrap().as_slice(), &[2, 3]);
        assert!(s.slice(3, 2).is_none());
        assert!(s.slice(usize::MAX, 2).is_none());
        s.zeroize();
        assert!(s.is_empty());
    }
}

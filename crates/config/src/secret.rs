//! [`Secret`]: a pre-shared key as written in the configuration. Its `Debug` is redacted, it
//! is wiped from memory when dropped, and two secrets compare in constant time.
//!
//! The configuration text and the serde form carry the key in clear: they are the
//! configuration (the writer must reproduce it). Everything else — logs, `{:?}` of a model,
//! error messages — sees `Secret(<redacted>)`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// A pre-shared key (or another configured secret).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        Secret(key.into())
    }

    /// The key in clear, for the writer and the IKE engine.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        // The lengths are not secret enough to hide: a configured key's length shows in the
        // configuration text anyway.
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes())
            .is_ok()
    }
}

impl Eq for Secret {}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_equality_compares_the_key() {
        let s = Secret::new("cisco47");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "cisco47");
        assert_eq!(s, Secret::from("cisco47"));
        assert_ne!(s, Secret::from("cisco48"));
        assert_ne!(s, Secret::from("cisco4"));
    }
}

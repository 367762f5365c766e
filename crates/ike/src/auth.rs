//! Authentication (RFC 7296 §2.15): how this node proves itself and checks its peer in
//! IKE_AUTH. Today one method, pre-shared keys looked up in a keyring by the peer's address
//! (IOS `crypto ikev2 keyring`: longest prefix wins, `0.0.0.0/0` is the wildcard spokes need
//! for spoke-to-spoke SAs, and local and remote keys may differ). [`Authenticator`] is an
//! enum so that certificates (RSA/ECDSA with RFC 7427 digital signatures) can join it.
//!
//! A successful check yields an `Authenticated` token; installing a Child SA from an
//! IKE_AUTH exchange requires one, so no path installs keys for an unauthenticated peer.

use crate::config::ConfigError;
use dmvpn_crypto::Prf;
use std::fmt;
use std::net::Ipv4Addr;
use zeroize::Zeroizing;

/// AUTH method "Shared Key Message Integrity Code" (RFC 7296 §3.8).
pub const AUTH_METHOD_PSK: u8 = 2;

/// A pre-shared key. Zeroized on drop; `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct PresharedKey(Zeroizing<Vec<u8>>);

impl PresharedKey {
    /// A key from its bytes (the configured string's bytes).
    pub fn new(bytes: &[u8]) -> Self {
        PresharedKey(Zeroizing::new(bytes.to_vec()))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PresharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresharedKey(<{} bytes redacted>)", self.0.len())
    }
}

/// One keyring entry: `peer X address A M` + `pre-shared-key local K1` / `remote K2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringEntry {
    /// The peer prefix's address.
    pub addr: Ipv4Addr,
    /// The prefix length (0 for the `0.0.0.0 0.0.0.0` wildcard).
    pub prefix_len: u8,
    /// The key this node signs with.
    pub local: PresharedKey,
    /// The key the peer signs with.
    pub remote: PresharedKey,
}

impl KeyringEntry {
    /// An entry with the same key in both directions (`pre-shared-key K`).
    pub fn new(addr: Ipv4Addr, prefix_len: u8, key: &[u8]) -> Result<Self, ConfigError> {
        Self::asymmetric(addr, prefix_len, key, key)
    }

    /// An entry with different local and remote keys.
    pub fn asymmetric(
        addr: Ipv4Addr,
        prefix_len: u8,
        local: &[u8],
        remote: &[u8],
    ) -> Result<Self, ConfigError> {
        let e = KeyringEntry {
            addr,
            prefix_len,
            local: PresharedKey::new(local),
            remote: PresharedKey::new(remote),
        };
        e.check()?;
        Ok(e)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.prefix_len > 32 {
            return Err(ConfigError::PrefixLength(self.prefix_len));
        }
        if self.local.as_bytes().is_empty() || self.remote.as_bytes().is_empty() {
            return Err(ConfigError::EmptyKey(self.addr));
        }
        Ok(())
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix_len.min(32)))
            .unwrap_or(0)
    }

    /// Whether `a` is inside the entry's prefix.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        let m = self.mask();
        u32::from(a) & m == u32::from(self.addr) & m
    }
}

/// The keyring: entries matched longest prefix first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring {
    entries: Vec<KeyringEntry>,
}

impl Keyring {
    /// Adds an entry (an entry with the same prefix is replaced).
    pub fn push(&mut self, e: KeyringEntry) {
        let m = e.mask();
        self.entries.retain(|x| {
            !(x.prefix_len == e.prefix_len && u32::from(x.addr) & m == u32::from(e.addr) & m)
        });
        self.entries.push(e);
    }

    /// The entries.
    pub fn entries(&self) -> &[KeyringEntry] {
        &self.entries
    }

    /// The longest-prefix entry containing `peer`.
    pub fn lookup(&self, peer: Ipv4Addr) -> Option<&KeyringEntry> {
        self.entries
            .iter()
            .filter(|e| e.contains(peer))
            .max_by_key(|e| e.prefix_len)
    }
}

/// How this node authenticates to its peers and checks them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authenticator {
    /// Pre-shared keys (AUTH method 2).
    Psk(Keyring),
}

/// An IKE identity (RFC 7296 §3.5). Only ID_IPV4_ADDR today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// ID_IPV4_ADDR (1).
    Ipv4(Ipv4Addr),
}

impl Identity {
    /// ID_IPV4_ADDR.
    pub const TYPE_IPV4_ADDR: u8 = 1;

    /// The ID type number.
    pub fn id_type(&self) -> u8 {
        match self {
            Identity::Ipv4(_) => Self::TYPE_IPV4_ADDR,
        }
    }

    /// The identification data.
    pub fn data(&self) -> Vec<u8> {
        match self {
            Identity::Ipv4(a) => a.octets().to_vec(),
        }
    }

    /// The ID payload body after the generic header ("RestOfIDPayload", §2.15): type,
    /// three reserved bytes, data.
    pub fn rest_of_payload(&self) -> Vec<u8> {
        let mut v = vec![self.id_type(), 0, 0, 0];
        v.extend_from_slice(&self.data());
        v
    }

    /// From a received ID payload, when the type is one we understand.
    pub fn from_payload(id_type: u8, data: &[u8]) -> Option<Identity> {
        match id_type {
            Self::TYPE_IPV4_ADDR => {
                let b: [u8; 4] = data.try_into().ok()?;
                Some(Identity::Ipv4(Ipv4Addr::from(b)))
            }
            _ => None,
        }
    }

    /// The address inside, for keyring lookups.
    pub fn addr(&self) -> Option<Ipv4Addr> {
        match self {
            Identity::Ipv4(a) => Some(*a),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Ipv4(a) => write!(f, "{a}"),
        }
    }
}

/// Proof that the peer's AUTH payload verified. Only [`Authenticator::verify`] makes one.
#[derive(Debug)]
pub(crate) struct Authenticated(());

impl Authenticated {
    /// The proof carries over to an IKE SA made by rekeying an authenticated one
    /// (RFC 7296 §2.18: the rekeyed SA inherits the authentication).
    pub(crate) fn inherit(&self) -> Authenticated {
        Authenticated(())
    }
}

/// Why authentication could not be done or failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No keyring entry matches the peer.
    #[error("no pre-shared key for the peer")]
    NoKey,
    /// The peer used an authentication method we do not accept.
    #[error("unsupported authentication method {0}")]
    Method(u8),
    /// The AUTH value did not match.
    #[error("AUTH payload mismatch")]
    Mismatch,
}

/// What an AUTH computation covers (RFC 7296 §2.15): the sender's whole first message, the
/// other side's nonce, and prf(SK_p, RestOfIDPayload) of the sender's ID.
pub(crate) struct SignedOctets<'a> {
    /// The first message the signer sent (IKE_SA_INIT request or response), as sent.
    pub(crate) first_message: &'a [u8],
    /// The other side's nonce data.
    pub(crate) other_nonce: &'a [u8],
    /// prf(SK_pi or SK_pr, RestOfIDPayload).
    pub(crate) maced_id: &'a [u8],
}

impl Authenticator {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Authenticator::Psk(k) => k.entries().iter().try_for_each(KeyringEntry::check),
        }
    }

    fn entry(&self, peer: Ipv4Addr, id: Option<&Identity>) -> Option<&KeyringEntry> {
        match self {
            Authenticator::Psk(k) => k
                .lookup(peer)
                .or_else(|| id.and_then(Identity::addr).and_then(|a| k.lookup(a))),
        }
    }

    /// Our AUTH payload for `peer` (looked up by its transport address, then by its
    /// identity): (method, data).
    pub(crate) fn sign(
        &self,
        prf: Prf,
        peer: Ipv4Addr,
        peer_id: Option<&Identity>,
        octets: &SignedOctets<'_>,
    ) -> Result<(u8, Vec<u8>), AuthError> {
        let e = self.entry(peer, peer_id).ok_or(AuthError::NoKey)?;
        let v = psk_mac(prf, e.local.as_bytes(), octets);
        Ok((AUTH_METHOD_PSK, v))
    }

    /// Checks the peer's AUTH payload (constant-time comparison).
    pub(crate) fn verify(
        &self,
        prf: Prf,
        peer: Ipv4Addr,
        peer_id: Option<&Identity>,
        method: u8,
        data: &[u8],
        octets: &SignedOctets<'_>,
    ) -> Result<Authenticated, AuthError> {
        if method != AUTH_METHOD_PSK {
            return Err(AuthError::Method(method));
        }
        let e = self.entry(peer, peer_id).ok_or(AuthError::NoKey)?;
        let want = Zeroizing::new(psk_mac(prf, e.remote.as_bytes(), octets));
        aws_lc_rs::constant_time::verify_slices_are_equal(&want, data)
            .map_err(|_| AuthError::Mismatch)?;
        Ok(Authenticated(()))
    }
}

/// AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>).
fn psk_mac(prf: Prf, psk: &[u8], o: &SignedOctets<'_>) -> Vec<u8> {
    let v = dmvpn_crypto::prf::psk_auth(prf, psk, &[o.first_message, o.other_nonce, o.maced_id]);
    v.as_slice().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_match_and_wildcard() {
        let mut k = Keyring::default();
        k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"any").unwrap());
        k.push(KeyringEntry::new(Ipv4Addr::new(10, 0, 0, 0), 8, b"ten").unwrap());
        k.push(KeyringEntry::new(Ipv4Addr::new(10, 1, 2, 3), 32, b"host").unwrap());
        let key = |k: &Keyring, a| k.lookup(a).unwrap().local.as_bytes().to_vec();
        assert_eq!(key(&k, Ipv4Addr::new(10, 1, 2, 3)), b"host");
        assert_eq!(key(&k, Ipv4Addr::new(10, 9, 9, 9)), b"ten");
        assert_eq!(key(&k, Ipv4Addr::new(192, 0, 2, 1)), b"any");
        k.push(KeyringEntry::new(Ipv4Addr::new(10, 1, 2, 3), 32, b"new").unwrap());
        assert_eq!(key(&k, Ipv4Addr::new(10, 1, 2, 3)), b"new");
        assert_eq!(k.entries().len(), 3);
    }

    #[test]
    fn debug_hides_keys() {
        let e = KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"topsecret").unwrap();
        let s = format!("{e:?}");
        assert!(!s.contains("topsecret"));
        assert!(s.contains("redacted"));
        assert!(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 33, b"x").is_err());
        assert!(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"").is_err());
    }

    #[test]
    fn identity_payload() {
        let id = Identity::Ipv4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(id.rest_of_payload(), vec![1, 0, 0, 0, 192, 0, 2, 1]);
        assert_eq!(Identity::from_payload(1, &[192, 0, 2, 1]), Some(id));
        assert_eq!(Identity::from_payload(1, &[192, 0, 2]), None);
        assert_eq!(Identity::from_payload(2, b"x"), None);
    }
}

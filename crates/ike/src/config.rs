//! The engine's configuration: IKE proposals, Child SA transforms and mode, lifetimes, DPD,
//! NAT keepalives, retransmission, bounds, and authentication (a PSK keyring looked up by
//! the peer's address, longest match first, as IOS's `crypto ikev2 keyring`).
//!
//! Defaults follow IOS-XE's smart defaults (ipsec-interop notes §2): IKE SA 86400 s, Child
//! SA 3600 s / 4,608,000 KB, no PFS, transport mode preferred, replay window 64, DPD and NAT
//! keepalives off, retransmissions starting at 2 s doubling five times.

use crate::auth::{Authenticator, Identity};
use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};
use std::time::Duration;

/// One IKE SA proposal (`crypto ikev2 proposal`): any of its encryption, integrity, PRF and
/// DH-group transforms may combine. With an AEAD cipher (AES-GCM) the integrity list is
/// ignored and sent empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeProposal {
    /// Encryption transforms, preferred first.
    pub encryption: Vec<Encryption>,
    /// Integrity transforms (only for non-AEAD ciphers), preferred first.
    pub integrity: Vec<Integrity>,
    /// PRFs, preferred first.
    pub prf: Vec<Prf>,
    /// DH groups, preferred first; an initiator sends its KE for the first one.
    pub dh_groups: Vec<DhGroup>,
}

impl IkeProposal {
    /// Whether every combination the proposal allows is usable (non-empty lists; integrity
    /// present when a non-AEAD cipher is listed).
    fn check(&self) -> Result<(), ConfigError> {
        if self.encryption.is_empty() || self.prf.is_empty() || self.dh_groups.is_empty() {
            return Err(ConfigError::EmptyProposal);
        }
        let has_cbc = self.encryption.iter().any(|e| !e.is_aead());
        let has_aead = self.encryption.iter().any(|e| e.is_aead());
        if has_cbc && self.integrity.is_empty() {
            return Err(ConfigError::MissingIntegrity);
        }
        if has_cbc && has_aead {
            // RFC 7296 §3.3: combined-mode and classic ciphers go in separate proposals.
            return Err(ConfigError::MixedAead);
        }
        Ok(())
    }
}

/// One ESP transform pair (`crypto ipsec transform-set`): AES-GCM alone, or AES-CBC with an
/// HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildTransform {
    /// The cipher.
    pub encryption: Encryption,
    /// The integrity algorithm: `None` for AES-GCM, required for AES-CBC.
    pub integrity: Option<Integrity>,
}

/// The ESP mode a Child SA uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Transport mode (RFC 7296 §1.3.1 USE_TRANSPORT_MODE): what DMVPN wants.
    Transport,
    /// Tunnel mode.
    Tunnel,
}

/// When dead-peer detection probes are sent (`dpd <interval> <retry> on-demand|periodic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpdMode {
    /// Only when the data plane reports traffic sent without anything received
    /// ([`crate::EspEvent::DpdCheck`]).
    OnDemand,
    /// Every `interval` without an IKE message from the peer.
    Periodic,
}

/// Dead-peer detection (RFC 7296 §2.4 liveness check with an empty INFORMATIONAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DpdConfig {
    /// Idle time before a probe.
    pub interval: Duration,
    /// Retransmission interval of an unanswered probe (fixed, as IOS).
    pub retry: Duration,
    /// On demand or periodic.
    pub mode: DpdMode,
}

/// Request retransmission (RFC 7296 §2.1): first retransmission after `initial`, each later
/// one after `backoff` times the previous wait; after `max_retries` retransmissions and one
/// more wait the exchange gives up and the IKE SA is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetransmitConfig {
    /// Wait before the first retransmission.
    pub initial: Duration,
    /// Multiplier applied to each later wait.
    pub backoff: u32,
    /// Retransmissions before giving up.
    pub max_retries: u32,
}

impl Default for RetransmitConfig {
    /// IOS-like: 2 s, doubling, 5 retransmissions (give-up after 2+4+8+16+32+64 = 126 s).
    fn default() -> Self {
        RetransmitConfig {
            initial: Duration::from_secs(2),
            backoff: 2,
            max_retries: 5,
        }
    }
}

/// Tables are bounded; these are the bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Half-open (responder, before IKE_AUTH) SAs beyond which IKE_SA_INIT requests are
    /// answered with a COOKIE (RFC 7296 §2.6).
    pub cookie_threshold: usize,
    /// Half-open SAs beyond which new IKE_SA_INIT requests are dropped.
    pub max_half_open: usize,
    /// IKE SAs in total (established and negotiating); new ones are refused beyond it.
    pub max_sas: usize,
    /// Child SAs per IKE SA.
    pub max_children_per_sa: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cookie_threshold: 64,
            max_half_open: 1024,
            max_sas: 4096,
            max_children_per_sa: 8,
        }
    }
}

/// Everything the engine needs. Build with [`IkeConfig::new`] (defaults plus an
/// authenticator) and adjust the public fields.
#[derive(Clone, Debug)]
pub struct IkeConfig {
    /// IKE SA proposals, preferred first.
    pub proposals: Vec<IkeProposal>,
    /// IKE SA lifetime; the SA is rekeyed before it runs out (at 90–98 %, jittered, and
    /// with the same room for retransmissions as Child SAs).
    pub ike_lifetime: Duration,
    /// Child SA lifetime in time (hard limit; the soft limit, which triggers a rekey, is
    /// 85–95 % of it, jittered, but early enough for the first five retransmission waits,
    /// 62 s by default, at most a third of the lifetime, before the hard limit).
    pub child_lifetime: Duration,
    /// Child SA lifetime in kilobytes (enforced by the data plane; soft at 90 %).
    pub child_lifetime_kb: u64,
    /// ESP transforms, preferred first.
    pub child_transforms: Vec<ChildTransform>,
    /// PFS: a DH group for CREATE_CHILD_SA (IKE_AUTH's first Child SA never has one).
    pub pfs: Option<DhGroup>,
    /// The preferred Child SA mode.
    pub mode: Mode,
    /// With [`Mode::Transport`]: refuse tunnel mode (`mode transport require`).
    pub transport_require: bool,
    /// Offer and accept extended sequence numbers (preferred when offered).
    pub esn: bool,
    /// Anti-replay window for the data plane (packets).
    pub replay_window: u32,
    /// Dead-peer detection; off by default.
    pub dpd: Option<DpdConfig>,
    /// NAT keepalive interval when this node is behind a NAT; off by default.
    pub nat_keepalive: Option<Duration>,
    /// Request retransmission.
    pub retransmit: RetransmitConfig,
    /// Table bounds.
    pub limits: Limits,
    /// Largest IKE datagram (IP header included) before an encrypted message is split
    /// into RFC 7383 fragments when both sides support fragmentation. Default 1280: the
    /// IPv6 minimum MTU, which IPv4 paths in practice carry whole; IKE_AUTH with a PSK is
    /// far smaller, so only certificate exchanges come near it.
    pub fragment_mtu: usize,
    /// Delay before a wanted peer whose negotiation failed is tried again (doubling up to
    /// [`IkeConfig::reconnect_max`]).
    pub reconnect: Duration,
    /// Longest delay between two tries for a wanted peer.
    pub reconnect_max: Duration,
    /// How this node authenticates and checks its peers.
    pub auth: Authenticator,
    /// Our IKE identity; `None` (the default) is ID_IPV4_ADDR of the local NBMA address
    /// the SA runs over.
    pub local_id: Option<Identity>,
}

/// Default IKE SA lifetime (IOS).
pub const DEFAULT_IKE_LIFETIME: Duration = Duration::from_secs(86_400);
/// Default Child SA lifetime (IOS).
pub const DEFAULT_CHILD_LIFETIME: Duration = Duration::from_secs(3600);
/// Default Child SA volume lifetime in kilobytes (IOS).
pub const DEFAULT_CHILD_LIFETIME_KB: u64 = 4_608_000;
/// Default anti-replay window (IOS).
pub const DEFAULT_REPLAY_WINDOW: u32 = 64;
/// Default fragmentation threshold.
pub const DEFAULT_FRAGMENT_MTU: usize = 1280;

impl IkeConfig {
    /// The defaults with `auth`: one IOS-XE-like proposal (AES-CBC-256, SHA-512/384,
    /// groups 19, 14, 21) preceded by an AES-GCM-256 one, ESP transforms AES-GCM-256,
    /// AES-CBC-256 + SHA-256, and IOS's `esp-aes esp-sha-hmac`.
    pub fn new(auth: Authenticator) -> Self {
        let groups = vec![DhGroup::Ecp256, DhGroup::Modp2048, DhGroup::Ecp521];
        IkeConfig {
            proposals: vec![
                IkeProposal {
                    encryption: vec![Encryption::AesGcm16 { key_bits: 256 }],
                    integrity: vec![],
                    prf: vec![Prf::HmacSha512, Prf::HmacSha384],
                    dh_groups: groups.clone(),
                },
                IkeProposal {
                    encryption: vec![Encryption::AesCbc { key_bits: 256 }],
                    integrity: vec![Integrity::HmacSha512_256, Integrity::HmacSha384_192],
                    prf: vec![Prf::HmacSha512, Prf::HmacSha384],
                    dh_groups: groups,
                },
            ],
            ike_lifetime: DEFAULT_IKE_LIFETIME,
            child_lifetime: DEFAULT_CHILD_LIFETIME,
            child_lifetime_kb: DEFAULT_CHILD_LIFETIME_KB,
            child_transforms: vec![
                ChildTransform {
                    encryption: Encryption::AesGcm16 { key_bits: 256 },
                    integrity: None,
                },
                ChildTransform {
                    encryption: Encryption::AesCbc { key_bits: 256 },
                    integrity: Some(Integrity::HmacSha256_128),
                },
                ChildTransform {
                    encryption: Encryption::AesCbc { key_bits: 128 },
                    integrity: Some(Integrity::HmacSha1_96),
                },
            ],
            pfs: None,
            mode: Mode::Transport,
            transport_require: false,
            esn: false,
            replay_window: DEFAULT_REPLAY_WINDOW,
            dpd: None,
            nat_keepalive: None,
            retransmit: RetransmitConfig::default(),
            limits: Limits::default(),
            fragment_mtu: DEFAULT_FRAGMENT_MTU,
            reconnect: Duration::from_secs(5),
            reconnect_max: Duration::from_secs(60),
            auth,
            local_id: None,
        }
    }

    /// Checks the configuration for combinations the engine cannot negotiate.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.proposals.is_empty() {
            return Err(ConfigError::NoProposal);
        }
        for p in &self.proposals {
            p.check()?;
        }
        if self.child_transforms.is_empty() {
            return Err(ConfigError::NoTransform);
        }
        for t in &self.child_transforms {
            match (t.encryption.is_aead(), t.integrity) {
                (true, Some(_)) => return Err(ConfigError::AeadWithIntegrity),
                (false, None) => return Err(ConfigError::MissingIntegrity),
                _ => {}
            }
        }
        if self.ike_lifetime < Duration::from_secs(120)
            || self.child_lifetime < Duration::from_secs(120)
        {
            return Err(ConfigError::LifetimeTooShort);
        }
        if self.replay_window == 0 {
            return Err(ConfigError::ReplayWindow);
        }
        if self.retransmit.initial.is_zero() || self.retransmit.backoff == 0 {
            return Err(ConfigError::Retransmit);
        }
        if self.fragment_mtu < 576 {
            return Err(ConfigError::FragmentMtu(self.fragment_mtu));
        }
        if let Some(d) = &self.dpd
            && (d.interval.is_zero() || d.retry.is_zero())
        {
            return Err(ConfigError::Dpd);
        }
        if self.nat_keepalive.is_some_and(|k| k.is_zero()) {
            return Err(ConfigError::Keepalive);
        }
        if self.limits.max_sas == 0 || self.limits.max_half_open == 0 {
            return Err(ConfigError::Limits);
        }
        self.auth.validate()
    }
}

/// What is wrong with an [`IkeConfig`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No IKE proposal.
    #[error("no IKEv2 proposal configured")]
    NoProposal,
    /// A proposal lacks an encryption, PRF or DH transform.
    #[error("an IKEv2 proposal needs at least one encryption, PRF and DH group")]
    EmptyProposal,
    /// An AES-CBC cipher without an integrity algorithm.
    #[error("AES-CBC needs an integrity algorithm")]
    MissingIntegrity,
    /// An AEAD cipher and a classic cipher in one IKE proposal.
    #[error("AES-GCM and AES-CBC must be in separate IKEv2 proposals")]
    MixedAead,
    /// An AEAD ESP transform with an integrity algorithm.
    #[error("AES-GCM takes no integrity algorithm")]
    AeadWithIntegrity,
    /// No ESP transform.
    #[error("no ESP transform configured")]
    NoTransform,
    /// Lifetimes under two minutes.
    #[error("SA lifetimes must be at least 120 seconds")]
    LifetimeTooShort,
    /// A zero replay window.
    #[error("the replay window must be at least 1")]
    ReplayWindow,
    /// A zero retransmission interval or multiplier.
    #[error("retransmission interval and backoff must be positive")]
    Retransmit,
    /// A fragmentation MTU under the IPv4 minimum reassembly size.
    #[error("fragmentation MTU {0} is below 576")]
    FragmentMtu(usize),
    /// A zero DPD interval or retry.
    #[error("DPD interval and retry must be positive")]
    Dpd,
    /// A zero keepalive interval.
    #[error("NAT keepalive interval must be positive")]
    Keepalive,
    /// A zero table bound.
    #[error("SA limits must be positive")]
    Limits,
    /// A keyring entry with a prefix length over 32.
    #[error("keyring prefix length {0} is over 32")]
    PrefixLength(u8),
    /// A keyring entry with an empty key.
    #[error("keyring entry for {0} has an empty key")]
    EmptyKey(std::net::Ipv4Addr),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Keyring, KeyringEntry};
    use std::net::Ipv4Addr;

    fn cfg() -> IkeConfig {
        let mut k = Keyring::default();
        k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"secret").unwrap());
        IkeConfig::new(Authenticator::Psk(k))
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(cfg().validate(), Ok(()));
    }

    #[test]
    fn bad_combinations_are_refused() {
        let mut c = cfg();
        c.child_transforms = vec![ChildTransform {
            encryption: Encryption::AesCbc { key_bits: 128 },
            integrity: None,
        }];
        assert_eq!(c.validate(), Err(ConfigError::MissingIntegrity));
        let mut c = cfg();
        c.proposals[0]
            .encryption
            .push(Encryption::AesCbc { key_bits: 128 });
        c.proposals[0].integrity.push(Integrity::HmacSha256_128);
        assert_eq!(c.validate(), Err(ConfigError::MixedAead));
        let mut c = cfg();
        c.proposals.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoProposal));
        let mut c = cfg();
        c.auth = Authenticator::Psk(Keyring::default());
        assert!(c.validate().is_ok());
    }
}

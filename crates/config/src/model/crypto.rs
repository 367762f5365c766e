//! The IKE and IPsec blocks of the model, typed with the `dmvpn-crypto` algorithm registry
//! (no algorithm is a string). `None` still means "not written, use the IOS default": the
//! defaults are applied by [`crate::crypto::resolve`], so that the writer reproduces what was
//! written. Algorithms serialise under their IOS-XE names (`aes-cbc-256`, `sha256`, `19`).

use std::net::Ipv4Addr;

use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// The words every IKEv1 warning and refusal carries.
pub const IKEV1_NOT_SUPPORTED: &str = "IKEv1 is not supported yet (it comes in a later release)";

/// Anti-replay window sizes IOS accepts (`… replay window-size N`), in packets.
pub const REPLAY_WINDOW_SIZES: [u16; 5] = [64, 128, 256, 512, 1024];

/// The IKE and IPsec configuration blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crypto {
    /// `crypto isakmp policy N` (IKEv1: accepted with a warning, not used yet).
    pub isakmp_policies: Vec<IsakmpPolicy>,
    /// `crypto isakmp key …` (IKEv1: accepted with a warning, not used yet).
    pub isakmp_keys: Vec<IsakmpKey>,
    pub transform_sets: Vec<TransformSet>,
    pub ipsec_profiles: Vec<IpsecProfile>,
    pub ikev2_keyrings: Vec<Ikev2Keyring>,
    pub ikev2_profiles: Vec<Ikev2Profile>,
    pub ikev2_proposals: Vec<Ikev2Proposal>,
    pub ikev2_policies: Vec<Ikev2Policy>,
    /// Global `crypto ipsec security-association …` settings.
    #[serde(default)]
    pub sa: GlobalSa,
    /// Call admission: `crypto ikev2 limit …`, `crypto call admission limit ike sa N`,
    /// `crypto ikev2 cookie-challenge N`.
    #[serde(default)]
    pub limits: IkeLimits,
    /// `crypto ikev2 identity-map NAME IDENTITY tunnel-address A MASK` (our extension, for
    /// identity-bound NHRP): which tunnel addresses a peer authenticated as IDENTITY may
    /// register or answer for.
    #[serde(default)]
    pub identity_maps: Vec<IdentityClaim>,
}

/// One line of a `crypto ikev2 identity-map`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityClaim {
    /// The map's name.
    pub map: String,
    /// The IKE identities the line is for.
    pub identity: IdentityMatch,
    /// The tunnel network they may claim (address, mask).
    pub address: Ipv4Addr,
    /// Its mask.
    pub mask: Ipv4Addr,
}

/// Bounds on IKE SAs (IOS call admission control). `None`: the built-in default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IkeLimits {
    /// `crypto ikev2 limit max-sa N`: IKE SAs in total (established and negotiating).
    pub max_sa: Option<u32>,
    /// `crypto ikev2 limit max-in-negotiation-sa N`: half-open SAs.
    pub max_in_negotiation_sa: Option<u32>,
    /// `crypto call admission limit ike sa N`: IKE SAs in total (IOS's older CAC
    /// command; the lower of it and `max-sa` applies).
    pub call_admission_ike_sa: Option<u32>,
    /// `crypto ikev2 cookie-challenge N`: half-open SAs beyond which IKE_SA_INIT is
    /// answered with a COOKIE (RFC 7296 §2.6).
    pub cookie_challenge: Option<u32>,
}

impl IkeLimits {
    /// The effective bound on IKE SAs, when one is configured.
    pub fn max_sas(&self) -> Option<u32> {
        match (self.max_sa, self.call_admission_ike_sa) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Global `crypto ipsec security-association …` lines: defaults for every IPsec profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalSa {
    /// `replay window-size N` (one of [`REPLAY_WINDOW_SIZES`]; default 64).
    pub replay_window: Option<u16>,
    /// `lifetime seconds S` (120–86400; default 3600).
    pub lifetime_seconds: Option<u32>,
    /// `lifetime kilobytes K` (2560–4294967295; default 4608000).
    pub lifetime_kilobytes: Option<u32>,
    /// `idle-time S` (60–86400; default none).
    pub idle_time: Option<u32>,
}

/// `crypto isakmp policy N` (1–10000) and its lines (IKEv1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsakmpPolicy {
    pub priority: u16,
    /// `encryption aes [128|192|256]` (AES-CBC; `aes` is 128 bits).
    #[serde(with = "crate::algs::opt")]
    pub encryption: Option<Encryption>,
    /// `hash sha|sha256|sha384|sha512`.
    #[serde(with = "crate::algs::opt")]
    pub hash: Option<Integrity>,
    /// `authentication pre-share|rsa-sig|rsa-encr`.
    pub authentication: Option<String>,
    /// `group N`.
    #[serde(with = "crate::algs::opt")]
    pub group: Option<DhGroup>,
    /// `lifetime S` (60–86400).
    pub lifetime: Option<u32>,
}

/// `crypto isakmp key KEY address ADDR [MASK]` (IKEv1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsakmpKey {
    pub key: Secret,
    pub address: Ipv4Addr,
    pub mask: Option<Ipv4Addr>,
}

/// `crypto ipsec transform-set NAME T1 [T2]` with `mode`: one ESP cipher, and an HMAC
/// unless the cipher is AES-GCM.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformSet {
    pub name: String,
    /// `esp-aes [128|192|256]` (AES-CBC, 128 bits when no size is written, as IOS) or
    /// `esp-gcm [128|256]` (AES-GCM with a 16-byte ICV, 128 bits by default).
    #[serde(with = "crate::algs::opt")]
    pub encryption: Option<Encryption>,
    /// `esp-sha-hmac`, `esp-sha256-hmac`, `esp-sha384-hmac`, `esp-sha512-hmac`.
    #[serde(with = "crate::algs::opt")]
    pub integrity: Option<Integrity>,
    /// `mode tunnel|transport [require]`; dmvpn's default is transport (see
    /// [`crate::crypto::resolve`]).
    pub mode: Option<IpsecMode>,
}

/// IPsec encapsulation mode of a transform set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IpsecMode {
    /// `mode tunnel`.
    Tunnel,
    /// `mode transport`: transport preferred, tunnel accepted when the peer insists.
    Transport,
    /// `mode transport require`: transport only.
    TransportRequire,
}

/// `set pfs [groupN]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pfs {
    /// `set pfs` without a group (IOS's default group 1 is refused; see
    /// [`crate::crypto::resolve`] for the group used).
    Default,
    /// `set pfs groupN`.
    Group(#[serde(with = "crate::algs::one")] DhGroup),
}

/// Anti-replay setting of an IPsec profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Replay {
    /// `set security-association replay window-size N`.
    Window(u16),
    /// `set security-association replay disable`.
    Disabled,
}

/// `crypto ipsec profile NAME` and its `set …` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpsecProfile {
    pub name: String,
    /// `set transform-set A [B …]`, preferred first.
    pub transform_sets: Vec<String>,
    /// `set pfs [groupN]`.
    pub pfs: Option<Pfs>,
    /// `set security-association lifetime seconds S`.
    pub lifetime_seconds: Option<u32>,
    /// `set security-association lifetime kilobytes K`.
    pub lifetime_kilobytes: Option<u32>,
    /// `set security-association idle-time S`.
    #[serde(default)]
    pub idle_time: Option<u32>,
    /// `set security-association replay window-size N|disable`.
    #[serde(default)]
    pub replay: Option<Replay>,
    /// `set ikev2-profile NAME`.
    pub ikev2_profile: Option<String>,
}

/// `crypto ikev2 keyring NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ikev2Keyring {
    pub name: String,
    pub peers: Vec<Ikev2Peer>,
}

/// `peer NAME` inside a keyring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ikev2Peer {
    pub name: String,
    /// `address A [MASK]` (`0.0.0.0 0.0.0.0` matches every peer).
    pub address: Option<(Ipv4Addr, Option<Ipv4Addr>)>,
    /// `identity address A|fqdn X|email X`.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// `pre-shared-key KEY`: both directions.
    pub pre_shared_key: Option<Secret>,
    /// `pre-shared-key local KEY`: what this node signs with.
    #[serde(default)]
    pub pre_shared_key_local: Option<Secret>,
    /// `pre-shared-key remote KEY`: what the peer signs with.
    #[serde(default)]
    pub pre_shared_key_remote: Option<Secret>,
}

/// An IKE identity (`identity local …`, a keyring peer's `identity …`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Identity {
    Address(Ipv4Addr),
    Fqdn(String),
    Email(String),
}

/// `match identity remote …` of an IKEv2 profile.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdentityMatch {
    /// `address A [MASK]`.
    Address {
        address: Ipv4Addr,
        mask: Option<Ipv4Addr>,
    },
    /// `fqdn [domain] NAME`: the whole name, or (`domain`) a name in that domain.
    Fqdn { domain: bool, name: String },
    /// `email [domain] NAME`.
    Email { domain: bool, name: String },
}

/// An `authentication local|remote …` method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    /// `pre-share [key K]`: the key inline, or from the keyring.
    PreShare { key: Option<Secret> },
    /// `rsa-sig` (certificates: a later release).
    RsaSig,
    /// `ecdsa-sig` (certificates: a later release).
    EcdsaSig,
}

/// `crypto ikev2 profile NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ikev2Profile {
    pub name: String,
    /// `match identity remote …`.
    pub match_identity_remote: Vec<IdentityMatch>,
    /// `match fvrf any` (accepted; dmvpn has one front-door table).
    #[serde(default)]
    pub match_fvrf_any: bool,
    /// `identity local …`; the IOS default is the local address.
    pub identity_local: Option<Identity>,
    /// `authentication local pre-share|rsa-sig|ecdsa-sig`.
    pub authentication_local: Option<AuthMethod>,
    /// `authentication remote …` (several allowed).
    pub authentication_remote: Vec<AuthMethod>,
    /// `keyring local NAME`.
    pub keyring: Option<String>,
    /// `lifetime S` (120–86400; default 86400).
    pub lifetime: Option<u32>,
    /// `dpd INTERVAL RETRY on-demand|periodic` (default off).
    pub dpd: Option<Dpd>,
    /// `nat keepalive S` (5–3600; default off).
    #[serde(default)]
    pub nat_keepalive: Option<u16>,
}

/// Dead peer detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dpd {
    /// 10–3600 seconds.
    pub interval: u16,
    /// 2–60 seconds.
    pub retry: u16,
    pub periodic: bool,
}

/// `crypto ikev2 proposal NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ikev2Proposal {
    pub name: String,
    /// `encryption …`, preferred first.
    #[serde(with = "crate::algs::list")]
    pub encryption: Vec<Encryption>,
    /// `integrity …` (none with AES-GCM).
    #[serde(with = "crate::algs::list")]
    pub integrity: Vec<Integrity>,
    /// `prf …`; with AES-CBC and no `prf`, the PRFs of the integrity algorithms.
    #[serde(default, with = "crate::algs::list")]
    pub prf: Vec<Prf>,
    /// `group …`.
    #[serde(with = "crate::algs::list")]
    pub group: Vec<DhGroup>,
}

/// `crypto ikev2 policy NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ikev2Policy {
    pub name: String,
    /// `proposal NAME`, in order.
    pub proposals: Vec<String>,
    /// `match address local A`: the policy applies to these local addresses only.
    #[serde(default)]
    pub match_address_local: Vec<Ipv4Addr>,
    /// `match fvrf any`.
    #[serde(default)]
    pub match_fvrf_any: bool,
}

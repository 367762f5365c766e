//! Resolution of a tunnel's IPsec protection: [`resolve`] follows `tunnel protection ipsec
//! profile NAME` through the IPsec profile, its transform sets, its IKEv2 profile, keyring,
//! policies and proposals, applies IOS-XE's smart defaults where nothing is written, and
//! returns a fully typed [`ResolvedProtection`] for the IKE engine and the ESP data path.
//!
//! Smart defaults (IOS-XE, `show crypto ikev2 proposal default` and friends):
//! * IKE proposal when no `crypto ikev2 policy` is written: [`default_ike_proposal`] —
//!   AES-CBC-256, integrity SHA-512 and SHA-384, PRF SHA-512 and SHA-384, DH groups 19, 14
//!   and 21. IOS-XE also offers group 5, which the compliance shield refuses: it is left out.
//! * IKE SA lifetime 86400 s, DPD off, NAT keepalive off.
//! * Transform set when the profile names none: [`default_transform`] — IOS's `default`
//!   set `esp-aes esp-sha-hmac` (`esp-aes` without a size is AES-CBC-128; HMAC-SHA1-96).
//!   IOS's second default set, `esp-3des esp-sha-hmac`, is refused and left out.
//! * Mode: transport unless the transform set says `mode tunnel`. IOS's own default for a
//!   written transform set is tunnel, but DMVPN wants transport (NAT transparency; issue 12),
//!   and tunnel mode is still accepted when the peer insists unless the set says
//!   `mode transport require`.
//! * Child SA lifetimes 3600 s and 4,608,000 KB, no PFS, no idle timeout, replay window 64;
//!   the global `crypto ipsec security-association …` lines override these defaults and a
//!   profile's `set security-association …` lines override both.
//! * `set pfs` without a group: IOS's default (group 1) is refused; the first DH group of the
//!   first IKE proposal is used instead.

use std::net::Ipv4Addr;

pub use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};

use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::model::*;
use crate::parse::{BlockKind, SpanIndex};
use crate::secret::Secret;
use ipnet::Ipv4Net;

/// Default IKE SA lifetime in seconds.
pub const DEFAULT_IKE_LIFETIME: u32 = 86_400;
/// Default Child SA lifetime in seconds.
pub const DEFAULT_SA_LIFETIME_SECONDS: u32 = 3600;
/// Default Child SA lifetime in kilobytes.
pub const DEFAULT_SA_LIFETIME_KILOBYTES: u64 = 4_608_000;
/// Default anti-replay window in packets.
pub const DEFAULT_REPLAY_WINDOW: u16 = 64;

/// A tunnel's protection, every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedProtection {
    /// The tunnel interface (`Tunnel0`).
    pub tunnel: String,
    /// The IPsec profile's name.
    pub ipsec_profile: String,
    /// `tunnel protection … shared`: one IKE SA per peer across the tunnels sharing the
    /// tunnel source.
    pub shared: bool,
    /// The IKE SA side.
    pub ike: IkePolicy,
    /// The Child SA (ESP) side.
    pub child: ChildPolicy,
}

/// How IKE SAs are negotiated and authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkePolicy {
    /// The IKEv2 profile's name.
    pub profile: String,
    /// Proposals, preferred first (from the policies, or [`default_ike_proposal`]).
    pub proposals: Vec<IkeProposal>,
    /// Keys by peer address; the longest prefix wins.
    pub keyring: Vec<KeyringEntry>,
    /// `identity local …`; `None`: the local address (the IOS default).
    pub local_identity: Option<Identity>,
    /// `match identity remote …`: the peer identities this profile accepts.
    pub remote_identities: Vec<IdentityMatch>,
    /// IKE SA lifetime in seconds.
    pub lifetime_secs: u32,
    /// Dead peer detection; `None`: off.
    pub dpd: Option<Dpd>,
    /// NAT keepalive interval in seconds; `None`: off.
    pub nat_keepalive_secs: Option<u16>,
}

/// One IKE proposal: any combination of its transforms may be chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeProposal {
    /// The `crypto ikev2 proposal` name (`default` for the smart default).
    pub name: String,
    pub encryption: Vec<Encryption>,
    /// Empty with AES-GCM.
    pub integrity: Vec<Integrity>,
    pub prf: Vec<Prf>,
    pub dh_groups: Vec<DhGroup>,
}

/// The keys for the peers inside a prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyringEntry {
    /// The keyring peer's name (`(inline)` for keys written in the IKEv2 profile).
    pub peer: String,
    /// Peer addresses this entry covers (`0.0.0.0/0` for the wildcard).
    pub prefix: Ipv4Net,
    /// The peer's `identity …`, when written.
    pub identity: Option<Identity>,
    /// The key this node authenticates with.
    pub local_psk: Secret,
    /// The key the peer must authenticate with.
    pub remote_psk: Secret,
}

/// One ESP transform pair, from a transform set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildTransform {
    pub encryption: Encryption,
    /// `None` with AES-GCM.
    pub integrity: Option<Integrity>,
    /// The set's mode (transport unless written).
    pub mode: IpsecMode,
}

/// How Child SAs are negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildPolicy {
    /// The transform sets' names, in the profile's order (`default` for the smart default).
    pub transform_sets: Vec<String>,
    /// Their transforms, same order.
    pub transforms: Vec<ChildTransform>,
    /// The preferred set's mode.
    pub mode: IpsecMode,
    /// PFS group for CREATE_CHILD_SA; `None`: no PFS.
    pub pfs: Option<DhGroup>,
    pub lifetime_seconds: u32,
    pub lifetime_kilobytes: u64,
    /// Idle time in seconds after which an unused SA is deleted; `None`: never.
    pub idle_time_secs: Option<u32>,
    /// Anti-replay window in packets; `None`: anti-replay disabled.
    pub replay_window: Option<u16>,
}

/// The IOS-XE default IKEv2 proposal, minus the refused group 5.
pub fn default_ike_proposal() -> IkeProposal {
    IkeProposal {
        name: "default".to_string(),
        encryption: vec![Encryption::AesCbc { key_bits: 256 }],
        integrity: vec![Integrity::HmacSha512_256, Integrity::HmacSha384_192],
        prf: vec![Prf::HmacSha512, Prf::HmacSha384],
        dh_groups: vec![DhGroup::Ecp256, DhGroup::Modp2048, DhGroup::Ecp521],
    }
}

/// IOS's default transform set `esp-aes esp-sha-hmac` (AES-CBC-128, HMAC-SHA1-96),
/// transport mode.
pub fn default_transform() -> ChildTransform {
    ChildTransform {
        encryption: Encryption::AesCbc { key_bits: 128 },
        integrity: Some(Integrity::HmacSha1_96),
        mode: IpsecMode::Transport,
    }
}

/// Resolve the protection of the tunnel interface `tunnel` (any spelling
/// [`crate::normalise_interface_name`] accepts). `Ok(None)`: the tunnel is not protected.
/// Errors carry no source position (the model has none); [`crate::parse()`] reports the
/// same problems with positions.
pub fn resolve(cfg: &Config, tunnel: &str) -> Result<Option<ResolvedProtection>, Vec<Diagnostic>> {
    resolve_with_spans(cfg, &SpanIndex::default(), tunnel)
}

/// [`resolve`], with positions from the parser's [`SpanIndex`].
pub fn resolve_with_spans(
    cfg: &Config,
    spans: &SpanIndex,
    tunnel: &str,
) -> Result<Option<ResolvedProtection>, Vec<Diagnostic>> {
    let Some(iface) = cfg.interface(tunnel) else {
        return Err(vec![Diagnostic::error(
            Span::default(),
            format!("no interface `{tunnel}`"),
        )]);
    };
    let Some(t) = iface.tunnel.as_ref() else {
        return Err(vec![Diagnostic::error(
            Span::default(),
            format!("`{}` is not a tunnel interface", iface.name),
        )]);
    };
    let mut r = Resolver {
        cfg,
        spans,
        diags: Vec::new(),
        failed: false,
    };
    let out = r.tunnel(iface, t);
    match out {
        Some(p) if !r.failed => Ok(p),
        _ => {
            if r.diags.is_empty() {
                r.diags.push(Diagnostic::error(
                    Span::default(),
                    format!("{}: its IPsec protection has errors", iface.name),
                ));
            }
            Err(r.diags)
        }
    }
}

/// What [`crate::validate`] needs: the errors only, where blocks rejected by the parser
/// add nothing (their error is already reported).
pub(crate) fn check_tunnel(
    cfg: &Config,
    spans: &SpanIndex,
    iface: &Interface,
    t: &Tunnel,
) -> Vec<Diagnostic> {
    let mut r = Resolver {
        cfg,
        spans,
        diags: Vec::new(),
        failed: false,
    };
    let _ = r.tunnel(iface, t);
    r.diags
}

struct Resolver<'a> {
    cfg: &'a Config,
    spans: &'a SpanIndex,
    diags: Vec<Diagnostic>,
    failed: bool,
}

impl Resolver<'_> {
    fn error(&mut self, at: Span, msg: String) {
        self.failed = true;
        self.diags.push(Diagnostic::error(at, msg));
    }

    /// A failure whose cause the parser already reported.
    fn silent_failure(&mut self) {
        self.failed = true;
    }

    fn rejected(&self, kind: BlockKind, name: &str) -> bool {
        self.spans.crypto.is_rejected(kind, name)
    }

    fn tunnel(&mut self, iface: &Interface, t: &Tunnel) -> Option<Option<ResolvedProtection>> {
        let Some(prot) = &t.protection else {
            return Some(None);
        };
        let at = self
            .spans
            .interfaces
            .get(&iface.name)
            .map(|s| s.protection)
            .unwrap_or_default();
        let Some(profile) = self.cfg.ipsec_profile(&prot.profile) else {
            self.error(
                at,
                format!(
                    "{}: IPsec profile `{}` does not exist: expected a `crypto ipsec profile {}` block{}",
                    iface.name,
                    prot.profile,
                    prot.profile,
                    did_you_mean(
                        &prot.profile,
                        self.cfg.crypto.ipsec_profiles.iter().map(|p| p.name.as_str())
                    )
                ),
            );
            return None;
        };
        if let Some(msg) = self.cfg.ikev1_refusal(&iface.name, t) {
            self.error(at, msg);
            return None;
        }
        let local = local_address(self.cfg, t);
        let ike = self.ike(profile, local, &iface.name, at);
        let child = self.child(profile, ike.as_ref());
        Some(Some(ResolvedProtection {
            tunnel: iface.name.clone(),
            ipsec_profile: profile.name.clone(),
            shared: prot.shared,
            ike: ike?,
            child: child?,
        }))
    }

    fn ike(
        &mut self,
        profile: &IpsecProfile,
        local: Option<Ipv4Addr>,
        tunnel: &str,
        tunnel_at: Span,
    ) -> Option<IkePolicy> {
        let name = profile.ikev2_profile.as_deref()?;
        let Some(v2) = self
            .cfg
            .crypto
            .ikev2_profiles
            .iter()
            .find(|p| p.name == name)
        else {
            let at = self
                .spans
                .ikev2_profile_refs
                .iter()
                .find(|(p, v, _)| *p == profile.name && v == name)
                .map(|(_, _, s)| *s)
                .unwrap_or_default();
            self.error(
                at,
                format!(
                    "IPsec profile `{}`: IKEv2 profile `{name}` does not exist: expected a `crypto ikev2 profile {name}` block{}",
                    profile.name,
                    did_you_mean(name, self.cfg.crypto.ikev2_profiles.iter().map(|p| p.name.as_str()))
                ),
            );
            return None;
        };
        let proposals = self.proposals(local, tunnel, tunnel_at);
        let keyring = self.keyring(v2);
        Some(IkePolicy {
            profile: v2.name.clone(),
            proposals: proposals?,
            keyring: keyring?,
            local_identity: v2.identity_local.clone(),
            remote_identities: v2.match_identity_remote.clone(),
            lifetime_secs: v2.lifetime.unwrap_or(DEFAULT_IKE_LIFETIME),
            dpd: v2.dpd,
            nat_keepalive_secs: v2.nat_keepalive,
        })
    }

    /// The proposals of the policies that apply to `local`, or the default proposal.
    fn proposals(
        &mut self,
        local: Option<Ipv4Addr>,
        tunnel: &str,
        at: Span,
    ) -> Option<Vec<IkeProposal>> {
        let policies = &self.cfg.crypto.ikev2_policies;
        if policies.is_empty() {
            return Some(vec![default_ike_proposal()]);
        }
        let applies = |p: &&Ikev2Policy| {
            p.match_address_local.is_empty()
                || local.is_none_or(|l| p.match_address_local.contains(&l))
        };
        let mut names: Vec<&str> = Vec::new();
        let mut any = false;
        for p in policies.iter().filter(applies) {
            any = true;
            for n in &p.proposals {
                if !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        }
        if !any {
            let addr = local.map(|a| a.to_string()).unwrap_or_default();
            self.error(
                at,
                format!(
                    "{tunnel}: no `crypto ikev2 policy` applies to the local address {addr}: add `match address local {addr}` to a policy, or a policy without `match address local`"
                ),
            );
            return None;
        }
        let mut out = Vec::new();
        for n in names {
            // A missing proposal is reported where the policy names it (validate).
            let Some(p) = self.cfg.crypto.ikev2_proposals.iter().find(|p| p.name == n) else {
                let (policy, at) = self
                    .spans
                    .proposal_refs
                    .iter()
                    .find(|(_, prop, _)| prop == n)
                    .map(|(pol, _, s)| (pol.clone(), *s))
                    .or_else(|| {
                        policies
                            .iter()
                            .find(|p| p.proposals.iter().any(|x| x == n))
                            .map(|p| (p.name.clone(), Span::default()))
                    })
                    .unwrap_or_default();
                self.error(
                    at,
                    format!(
                        "IKEv2 policy `{policy}`: proposal `{n}` does not exist: expected a `crypto ikev2 proposal {n}` block{}",
                        did_you_mean(n, self.cfg.crypto.ikev2_proposals.iter().map(|p| p.name.as_str()))
                    ),
                );
                continue;
            };
            if let Some(r) = self.proposal(p) {
                out.push(r);
            }
        }
        if out.is_empty() && !self.failed {
            self.error(
                at,
                format!("{tunnel}: the IKEv2 policies name no proposal: add `proposal NAME` to a `crypto ikev2 policy`"),
            );
        }
        Some(out)
    }

    fn proposal(&mut self, p: &Ikev2Proposal) -> Option<IkeProposal> {
        if self.rejected(BlockKind::Ikev2Proposal, &p.name) {
            self.silent_failure();
            return None;
        }
        let at = self.spans.crypto.block(BlockKind::Ikev2Proposal, &p.name);
        let aead = p.encryption.first().is_some_and(|e| e.is_aead());
        let mut missing = Vec::new();
        if p.encryption.is_empty() {
            missing.push("`encryption` (e.g. `encryption aes-gcm-256`)");
        }
        if !aead && !p.encryption.is_empty() && p.integrity.is_empty() {
            missing.push("`integrity` (e.g. `integrity sha256`)");
        }
        if aead && p.prf.is_empty() {
            missing.push(
                "`prf` (AES-GCM has no integrity algorithm to derive it from; e.g. `prf sha256`)",
            );
        }
        if p.group.is_empty() {
            missing.push("`group` (e.g. `group 19`)");
        }
        if !missing.is_empty() {
            self.error(
                at,
                format!(
                    "IKEv2 proposal `{}` is incomplete: it needs {}",
                    p.name,
                    missing.join(" and ")
                ),
            );
            return None;
        }
        let integrity = if aead {
            Vec::new()
        } else {
            p.integrity.clone()
        };
        let prf = if p.prf.is_empty() {
            let mut v: Vec<Prf> = Vec::new();
            for i in &integrity {
                let f = Prf::for_integrity(*i);
                if !v.contains(&f) {
                    v.push(f);
                }
            }
            v
        } else {
            p.prf.clone()
        };
        Some(IkeProposal {
            name: p.name.clone(),
            encryption: p.encryption.clone(),
            integrity,
            prf,
            dh_groups: p.group.clone(),
        })
    }

    fn keyring(&mut self, v2: &Ikev2Profile) -> Option<Vec<KeyringEntry>> {
        let k = BlockKind::Ikev2Profile;
        let header = self.spans.crypto.block(k, &v2.name);
        let mut ok = true;
        if v2.match_identity_remote.is_empty() && !self.rejected(k, &v2.name) {
            self.error(
                header,
                format!(
                    "IKEv2 profile `{}` is incomplete: no `match identity remote` (add `match identity remote address 0.0.0.0` to accept any peer)",
                    v2.name
                ),
            );
            ok = false;
        }
        let mut inline = [None, None];
        let sides = [
            (
                "local",
                "authentication local",
                v2.authentication_local.as_ref(),
            ),
            (
                "remote",
                "authentication remote",
                v2.authentication_remote
                    .iter()
                    .find(|m| matches!(m, AuthMethod::PreShare { .. }))
                    .or(v2.authentication_remote.first()),
            ),
        ];
        for (i, (side, kw, m)) in sides.into_iter().enumerate() {
            let at = self.spans.crypto.line(k, &v2.name, kw);
            match m {
                None if self.rejected(k, &v2.name) => {
                    self.silent_failure();
                    ok = false;
                }
                None => {
                    self.error(
                        header,
                        format!(
                            "IKEv2 profile `{}` is incomplete: no `authentication {side}` (add `authentication {side} pre-share`)",
                            v2.name
                        ),
                    );
                    ok = false;
                }
                Some(AuthMethod::PreShare { key }) => {
                    if let Some(slot) = inline.get_mut(i) {
                        *slot = key.clone();
                    }
                }
                Some(m) => {
                    let word = if *m == AuthMethod::RsaSig {
                        "rsa-sig"
                    } else {
                        "ecdsa-sig"
                    };
                    self.error(
                        at,
                        format!(
                            "IKEv2 profile `{}`: `authentication {side} {word}` needs certificates, which come in a later release: use `pre-share`",
                            v2.name
                        ),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let [inline_local, inline_remote] = inline;
        if let (Some(l), Some(r), None) = (&inline_local, &inline_remote, &v2.keyring) {
            return Some(vec![KeyringEntry {
                peer: "(inline)".to_string(),
                prefix: Ipv4Net::default(),
                identity: None,
                local_psk: l.clone(),
                remote_psk: r.clone(),
            }]);
        }
        let Some(kname) = &v2.keyring else {
            let at = self.spans.crypto.line(k, &v2.name, "authentication local");
            self.error(
                at,
                format!(
                    "IKEv2 profile `{}`: `pre-share` authentication needs a keyring: add `keyring local NAME` (or write the key inline, `authentication local pre-share key KEY`)",
                    v2.name
                ),
            );
            return None;
        };
        let Some(kr) = self
            .cfg
            .crypto
            .ikev2_keyrings
            .iter()
            .find(|x| x.name == *kname)
        else {
            let at = self
                .spans
                .keyring_refs
                .iter()
                .find(|(p, k, _)| *p == v2.name && k == kname)
                .map(|(_, _, s)| *s)
                .unwrap_or_default();
            self.error(
                at,
                format!(
                    "IKEv2 profile `{}`: keyring `{kname}` does not exist: expected a `crypto ikev2 keyring {kname}` block{}",
                    v2.name,
                    did_you_mean(kname, self.cfg.crypto.ikev2_keyrings.iter().map(|k| k.name.as_str()))
                ),
            );
            return None;
        };
        if self.rejected(BlockKind::Ikev2Keyring, &kr.name) {
            self.silent_failure();
            return None;
        }
        let mut entries = Vec::new();
        for peer in &kr.peers {
            let at = self
                .spans
                .crypto
                .peers
                .get(&(kr.name.clone(), peer.name.clone()))
                .copied()
                .unwrap_or_default();
            let Some((addr, mask)) = peer.address else {
                // Reported as a warning by validate: identity-only peers are not used.
                continue;
            };
            let len = mask
                .and_then(|m| ipnet::ipv4_mask_to_prefix(m).ok())
                .unwrap_or(32);
            let prefix = Ipv4Net::new(addr, len)
                .map(|n| n.trunc())
                .unwrap_or_default();
            let local = inline_local
                .clone()
                .or_else(|| peer.pre_shared_key_local.clone())
                .or_else(|| peer.pre_shared_key.clone());
            let remote = inline_remote
                .clone()
                .or_else(|| peer.pre_shared_key_remote.clone())
                .or_else(|| peer.pre_shared_key.clone());
            match (local, remote) {
                (Some(local_psk), Some(remote_psk)) => entries.push(KeyringEntry {
                    peer: peer.name.clone(),
                    prefix,
                    identity: peer.identity.clone(),
                    local_psk,
                    remote_psk,
                }),
                (l, _) => {
                    let side = if l.is_none() { "local" } else { "remote" };
                    self.error(
                        at,
                        format!(
                            "keyring `{}`, peer `{}`: no {side} pre-shared key: add `pre-shared-key KEY` (or `pre-shared-key {side} KEY`)",
                            kr.name, peer.name
                        ),
                    );
                }
            }
        }
        if entries.is_empty() && !self.failed {
            let at = self.spans.crypto.block(BlockKind::Ikev2Keyring, &kr.name);
            self.error(
                at,
                format!(
                    "keyring `{}` has no peer with an `address` and a `pre-shared-key`: add `peer NAME` with `address 0.0.0.0 0.0.0.0` and `pre-shared-key KEY` for every peer",
                    kr.name
                ),
            );
            return None;
        }
        // Longest prefix first (stable: equal prefixes keep the written order).
        entries.sort_by_key(|e| std::cmp::Reverse(e.prefix.prefix_len()));
        Some(entries)
    }

    fn child(&mut self, profile: &IpsecProfile, ike: Option<&IkePolicy>) -> Option<ChildPolicy> {
        let mut names = Vec::new();
        let mut transforms = Vec::new();
        for n in &profile.transform_sets {
            match self.cfg.crypto.transform_sets.iter().find(|t| t.name == *n) {
                Some(ts) => {
                    let Some(encryption) = ts.encryption else {
                        self.silent_failure();
                        continue;
                    };
                    names.push(ts.name.clone());
                    transforms.push(ChildTransform {
                        encryption,
                        integrity: if encryption.is_aead() {
                            None
                        } else {
                            ts.integrity
                        },
                        mode: ts.mode.unwrap_or(IpsecMode::Transport),
                    });
                }
                // A refused set is reported at its token by the parser.
                None if self.rejected(BlockKind::TransformSet, n) => self.silent_failure(),
                None => {
                    let at = self
                        .spans
                        .transform_set_refs
                        .iter()
                        .find(|(p, t, _)| *p == profile.name && t == n)
                        .map(|(_, _, s)| *s)
                        .unwrap_or_default();
                    self.error(
                        at,
                        format!(
                            "IPsec profile `{}`: transform-set `{n}` does not exist: expected a `crypto ipsec transform-set {n} …` line{}",
                            profile.name,
                            did_you_mean(n, self.cfg.crypto.transform_sets.iter().map(|t| t.name.as_str()))
                        ),
                    );
                }
            }
        }
        if profile.transform_sets.is_empty() {
            names.push("default".to_string());
            transforms.push(default_transform());
        }
        let first = transforms.first()?;
        let sa = &self.cfg.crypto.sa;
        let pfs = match profile.pfs {
            None => None,
            Some(Pfs::Group(g)) => Some(g),
            Some(Pfs::Default) => Some(
                ike.and_then(|i| i.proposals.first())
                    .and_then(|p| p.dh_groups.first().copied())
                    .unwrap_or(DhGroup::Ecp256),
            ),
        };
        let replay_window = match profile.replay {
            Some(Replay::Disabled) => None,
            Some(Replay::Window(n)) => Some(n),
            None => Some(sa.replay_window.unwrap_or(DEFAULT_REPLAY_WINDOW)),
        };
        Some(ChildPolicy {
            mode: first.mode,
            transform_sets: names,
            transforms,
            pfs,
            lifetime_seconds: profile
                .lifetime_seconds
                .or(sa.lifetime_seconds)
                .unwrap_or(DEFAULT_SA_LIFETIME_SECONDS),
            lifetime_kilobytes: profile
                .lifetime_kilobytes
                .or(sa.lifetime_kilobytes)
                .map(u64::from)
                .unwrap_or(DEFAULT_SA_LIFETIME_KILOBYTES),
            idle_time_secs: profile.idle_time.or(sa.idle_time),
            replay_window,
        })
    }
}

/// The tunnel's local NBMA address when the configuration says it.
fn local_address(cfg: &Config, t: &Tunnel) -> Option<Ipv4Addr> {
    match &t.source {
        Some(TunnelSource::Address(a)) => Some(*a),
        Some(TunnelSource::Interface(i)) => cfg
            .interface(i)
            .and_then(Interface::static_address)
            .map(|n| n.addr()),
        None => None,
    }
}

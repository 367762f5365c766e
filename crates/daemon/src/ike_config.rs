//! From a tunnel's resolved IPsec protection (`dmvpn_config::crypto::ResolvedProtection`,
//! IOS-XE's words with every smart default applied) to the IKE engine's [`IkeConfig`].
//!
//! Everything the engine cannot do yet is refused here, with a message that says what to
//! write instead, so that a tunnel never runs with less protection than its configuration
//! asks for (fail closed): FQDN and e-mail identities, certificates, and keyrings without a
//! key for any peer.

use std::time::Duration;

use dmvpn_config::Config;
use dmvpn_config::crypto::{ResolvedProtection, resolve};
use dmvpn_config::model::{IdentityMatch, IkeLimits, IpsecMode};
use dmvpn_ike::{
    Authenticator, ChildTransform, DpdConfig, DpdMode, IkeConfig, IkeProposal, Keyring,
    KeyringEntry, Mode,
};

/// The replay window used when a profile disables anti-replay (`replay window-size 0`
/// style): the data plane always checks replay; the largest window is the closest.
const NO_REPLAY_WINDOW: u32 = 1024;

/// The resolved protection of tunnel `name`, or why it cannot run: the same refusals as
/// `dmvpn config check` (IKEv1, refused algorithms, missing keys), then what the IKE
/// engine does not support yet.
pub fn tunnel_protection(
    config: &Config,
    name: &str,
) -> Result<Option<ResolvedProtection>, String> {
    if let Some((iface, tunnel)) = config.tunnels().find(|(i, _)| i.name == name)
        && let Some(refusal) = config.ikev1_refusal(&iface.name, tunnel)
    {
        return Err(refusal);
    }
    let resolved = resolve(config, name).map_err(|diags| {
        diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{name}: {}", d.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    if let Some(r) = &resolved {
        ike_config(r, &config.crypto.limits)?;
    }
    Ok(resolved)
}

/// The IKE engine's configuration for a resolved protection under the node's call
/// admission `limits`.
pub fn ike_config(r: &ResolvedProtection, limits: &IkeLimits) -> Result<IkeConfig, String> {
    let name = &r.tunnel;
    let mut keyring = Keyring::default();
    for e in &r.ike.keyring {
        let entry = KeyringEntry::asymmetric(
            e.prefix.network(),
            e.prefix.prefix_len(),
            e.local_psk.expose().as_bytes(),
            e.remote_psk.expose().as_bytes(),
        )
        .map_err(|err| format!("{name}: keyring peer `{}`: {err}", e.peer))?;
        keyring.push(entry);
    }
    if keyring.entries().is_empty() {
        return Err(format!(
            "{name}: IKEv2 profile `{}` has no pre-shared key for any peer: add `crypto ikev2 keyring NAME` with `peer ANY` / `address 0.0.0.0 0.0.0.0` / `pre-shared-key KEY`, and `keyring local NAME` in the profile",
            r.ike.profile
        ));
    }
    if let Some(id) = &r.ike.local_identity {
        match id {
            dmvpn_config::model::Identity::Address(_) => {}
            other => {
                return Err(format!(
                    "{name}: `identity local {other:?}` is not supported yet (only addresses, the IOS default): remove it or use `identity local address A.B.C.D`"
                ));
            }
        }
    }
    for m in &r.ike.remote_identities {
        if !matches!(m, IdentityMatch::Address { .. }) {
            return Err(format!(
                "{name}: IKEv2 profile `{}`: `match identity remote` by name is not supported yet (peers identify by address): use `match identity remote address 0.0.0.0`",
                r.ike.profile
            ));
        }
    }
    let mut cfg = IkeConfig::new(Authenticator::Psk(keyring));
    cfg.proposals = r
        .ike
        .proposals
        .iter()
        .map(|p| IkeProposal {
            encryption: p.encryption.clone(),
            integrity: if p.encryption.iter().all(|e| e.is_aead()) {
                Vec::new()
            } else {
                p.integrity.clone()
            },
            prf: p.prf.clone(),
            dh_groups: p.dh_groups.clone(),
        })
        .collect();
    cfg.ike_lifetime = Duration::from_secs(u64::from(r.ike.lifetime_secs));
    cfg.child_lifetime = Duration::from_secs(u64::from(r.child.lifetime_seconds));
    cfg.child_lifetime_kb = r.child.lifetime_kilobytes;
    cfg.child_transforms = r
        .child
        .transforms
        .iter()
        .map(|t| ChildTransform {
            encryption: t.encryption,
            integrity: t.integrity,
        })
        .collect();
    cfg.pfs = r.child.pfs;
    (cfg.mode, cfg.transport_require) = match r.child.mode {
        IpsecMode::Tunnel => (Mode::Tunnel, false),
        IpsecMode::Transport => (Mode::Transport, false),
        IpsecMode::TransportRequire => (Mode::Transport, true),
    };
    cfg.replay_window = r
        .child
        .replay_window
        .map_or(NO_REPLAY_WINDOW, |w| u32::from(w).clamp(32, 1024));
    cfg.dpd = r.ike.dpd.as_ref().map(|d| DpdConfig {
        interval: Duration::from_secs(u64::from(d.interval)),
        retry: Duration::from_secs(u64::from(d.retry)),
        mode: if d.periodic {
            DpdMode::Periodic
        } else {
            DpdMode::OnDemand
        },
    });
    cfg.nat_keepalive = r
        .ike
        .nat_keepalive_secs
        .map(|s| Duration::from_secs(u64::from(s)));
    if let Some(dmvpn_config::model::Identity::Address(a)) = r.ike.local_identity {
        cfg.local_id = Some(dmvpn_ike::Identity::Ipv4(a));
    }
    let n = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
    if let Some(max) = limits.max_sas() {
        cfg.limits.max_sas = n(max);
    }
    if let Some(h) = limits.max_in_negotiation_sa {
        cfg.limits.max_half_open = n(h);
    }
    if let Some(c) = limits.cookie_challenge {
        cfg.limits.cookie_threshold = n(c);
    }
    cfg.validate().map_err(|e| {
        format!(
            "{name}: IPsec profile `{}` cannot be negotiated: {e}",
            r.ipsec_profile
        )
    })?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &str = "\
hostname Hub
crypto ikev2 keyring KR
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key s3cret-key
crypto ikev2 profile IKEP
 match identity remote address 0.0.0.0
 authentication local pre-share
 authentication remote pre-share
 keyring local KR
 dpd 10 3 on-demand
crypto ipsec transform-set TS esp-gcm 256
 mode transport
crypto ipsec profile PROF
 set transform-set TS
 set ikev2-profile IKEP
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 ip nhrp network-id 1
 tunnel source 192.0.2.1
 tunnel mode gre multipoint
 tunnel protection ipsec profile PROF
";

    fn parse(text: &str) -> Config {
        let p = dmvpn_config::parse(text);
        assert!(!p.has_errors(), "{}", p.render("test.cfg"));
        p.config
    }

    #[test]
    fn ikev2_profile_becomes_an_engine_config() {
        let cfg = parse(HUB);
        let r = tunnel_protection(&cfg, "Tunnel0").unwrap().unwrap();
        let ike = ike_config(&r, &cfg.crypto.limits).unwrap();
        assert_eq!(ike.child_transforms.len(), 1);
        assert!(ike.child_transforms[0].encryption.is_aead());
        assert_eq!(ike.mode, Mode::Transport);
        assert!(!ike.transport_require);
        assert_eq!(ike.dpd.unwrap().interval, Duration::from_secs(10));
        assert_eq!(ike.dpd.unwrap().mode, DpdMode::OnDemand);
        assert_eq!(ike.replay_window, 64);
        let Authenticator::Psk(kr) = &ike.auth;
        assert!(kr.lookup("198.51.100.7".parse().unwrap()).is_some());
    }

    #[test]
    fn two_protected_tunnels_on_one_source_are_refused() {
        let second = "interface Tunnel1\n ip address 10.1.0.1 255.255.255.0\n ip nhrp network-id 2\n tunnel source 192.0.2.1\n tunnel mode gre multipoint\n tunnel key 2\n tunnel protection ipsec profile PROF\n";
        let cfg = parse(&format!("{HUB}{second}"));
        let err = crate::translate::plan(&cfg).unwrap_err().to_string();
        assert!(err.contains("Tunnel0 and Tunnel1"), "{err}");
        let other_source = second.replace("192.0.2.1", "192.0.2.2");
        let cfg = parse(&format!("{HUB}{other_source}"));
        assert_eq!(crate::translate::plan(&cfg).unwrap().len(), 2);
    }

    #[test]
    fn call_admission_limits_bound_the_engine() {
        let text = format!(
            "crypto call admission limit ike sa 40\ncrypto ikev2 limit max-sa 50\ncrypto ikev2 limit max-in-negotiation-sa 7\n{HUB}"
        );
        let cfg = parse(&text);
        let r = tunnel_protection(&cfg, "Tunnel0").unwrap().unwrap();
        let ike = ike_config(&r, &cfg.crypto.limits).unwrap();
        assert_eq!(ike.limits.max_sas, 40);
        assert_eq!(ike.limits.max_half_open, 7);
    }

    #[test]
    fn unprotected_tunnel_has_no_protection() {
        let text = HUB.replace(" tunnel protection ipsec profile PROF\n", "");
        let cfg = parse(&text);
        assert_eq!(tunnel_protection(&cfg, "Tunnel0").unwrap(), None);
    }

    #[test]
    fn ikev1_profile_is_refused_with_the_check_message() {
        let text = HUB.replace(" set ikev2-profile IKEP\n", "");
        let p = dmvpn_config::parse(&text);
        let err = tunnel_protection(&p.config, "Tunnel0").unwrap_err();
        assert!(err.contains("IKEv1"), "{err}");
        assert!(err.contains("set ikev2-profile"), "{err}");
    }
}

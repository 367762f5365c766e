//! Cross-checks on a parsed [`Config`]: ranges that depend on each other,
//! references between blocks and NBMA reachability. Messages point at the
//! place recorded in the [`SpanIndex`].

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::model::*;
use crate::parse::{BlockKind, InterfaceSpans, SpanIndex};

/// Check a configuration. `spans` may be `SpanIndex::default()` for a model
/// built in code; messages then carry no position.
pub fn validate(cfg: &Config, spans: &SpanIndex) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let empty = InterfaceSpans::default();
    let mut used_keys: HashMap<(String, Option<u32>), String> = HashMap::new();
    for (iface, t) in cfg.tunnels() {
        let sp = spans.interfaces.get(&iface.name).unwrap_or(&empty);
        let n = &t.nhrp;
        let name = &iface.name;

        if let Some(rt) = n.registration_timeout
            && rt > n.effective_holdtime()
        {
            let held = match n.holdtime {
                Some(h) => format!("the holdtime {h}"),
                None => format!("the default holdtime {DEFAULT_HOLDTIME}"),
            };
            out.push(Diagnostic::error(
                sp.registration_timeout,
                format!("{name}: registration timeout {rt} is longer than {held}: expected at most the holdtime"),
            ));
        }

        for e in &n.nhs {
            let NhsAddress::Address(p) = e.protocol else {
                continue;
            };
            let mapped = e.nbma.is_some()
                || n.maps.iter().any(|m| m.protocol == p)
                || (t.mode == TunnelMode::GreIp && t.destination.is_some());
            if !mapped {
                let at = sp
                    .nhs
                    .iter()
                    .find(|(a, _)| *a == e.protocol)
                    .map(|(_, s)| *s)
                    .unwrap_or_default();
                out.push(Diagnostic::error(
                    at,
                    format!(
                        "{name}: NHS {p} has no NBMA address: add `ip nhrp map {p} <nbma-address>` or write `ip nhrp nhs {p} nbma <nbma-address>`"
                    ),
                ));
            }
        }

        if t.mode == TunnelMode::GreMultipoint && t.destination.is_some() {
            out.push(Diagnostic::error(
                sp.destination,
                format!("{name}: `tunnel destination` cannot be used with `tunnel mode gre multipoint`: remove one of them"),
            ));
        }
        if t.mode == TunnelMode::GreIp && t.destination.is_none() && iface.address.is_some() {
            out.push(Diagnostic::error(
                sp.header,
                format!(
                    "{name}: point-to-point GRE tunnel has no `tunnel destination`: add one, or use `tunnel mode gre multipoint`"
                ),
            ));
        }
        if n.is_configured() && iface.address.is_none() {
            out.push(Diagnostic::error(
                sp.header,
                format!("{name}: NHRP is configured but the tunnel has no `ip address`"),
            ));
        }

        if let Some(net) = iface.static_address() {
            let mut nbmas: Vec<(Ipv4Addr, Span)> = Vec::new();
            for m in &n.maps {
                nbmas.push((m.nbma, find_nbma(sp, m.nbma)));
            }
            for m in &n.multicast {
                if let MulticastMap::Nbma(a) = m {
                    nbmas.push((*a, find_nbma(sp, *a)));
                }
            }
            for e in &n.nhs {
                if let Some(a) = e.nbma {
                    nbmas.push((a, find_nbma(sp, a)));
                }
            }
            if let Some(d) = t.destination {
                nbmas.push((d, sp.destination));
            }
            match &t.source {
                Some(TunnelSource::Address(s)) => nbmas.push((*s, sp.source)),
                Some(TunnelSource::Interface(src)) => {
                    if let Some(a) = cfg.interface(src).and_then(Interface::static_address) {
                        nbmas.push((a.addr(), sp.source));
                    }
                }
                None => {}
            }
            let mut seen = Vec::new();
            for (a, at) in nbmas {
                if net.contains(&a) && !seen.contains(&a) {
                    seen.push(a);
                    out.push(Diagnostic::error(
                        at,
                        format!(
                            "{name}: NBMA address {a} lies inside the tunnel's own network {}: the tunnel would be routed through itself; expected a public (underlay) address",
                            net.trunc()
                        ),
                    ));
                }
            }
        }

        if let Some(m) = &t.nhrp.identity_map {
            if !cfg.crypto.identity_maps.iter().any(|c| &c.map == m) {
                out.push(Diagnostic::error(
                    sp.identity_map,
                    format!(
                        "{name}: identity map `{m}` does not exist: expected `crypto ikev2 identity-map {m} address A.B.C.D tunnel-address A.B.C.D MASK` lines{}",
                        did_you_mean(m, cfg.crypto.identity_maps.iter().map(|c| c.map.as_str()))
                    ),
                ));
            } else if t.protection.is_none() {
                out.push(Diagnostic::error(
                    sp.identity_map,
                    format!(
                        "{name}: `ip nhrp identity-map {m}` needs IKE identities: add `tunnel protection ipsec profile NAME`"
                    ),
                ));
            }
        }

        if let Some(p) = &t.protection {
            if cfg.ipsec_profile(&p.profile).is_none() {
                out.push(Diagnostic::error(
                    sp.protection,
                    format!(
                        "{name}: IPsec profile `{}` does not exist: expected a `crypto ipsec profile {}` block{}",
                        p.profile,
                        p.profile,
                        did_you_mean(&p.profile, cfg.crypto.ipsec_profiles.iter().map(|p| p.name.as_str()))
                    ),
                ));
            } else if let Some(msg) = cfg.ikev1_refusal(name, t) {
                out.push(Diagnostic::warning(sp.protection, msg));
            } else {
                out.extend(crate::crypto::check_tunnel(cfg, spans, iface, t));
            }
        }

        if t.mode == TunnelMode::GreMultipoint {
            let src = match &t.source {
                Some(TunnelSource::Interface(i)) => i.to_ascii_lowercase(),
                Some(TunnelSource::Address(a)) => a.to_string(),
                None => String::new(),
            };
            if let Some(other) = used_keys.insert((src, t.key), name.clone()) {
                out.push(Diagnostic::error(
                    sp.header,
                    format!(
                        "{name}: multipoint tunnels {other} and {name} share the same tunnel source and tunnel key: give each a distinct `tunnel key`"
                    ),
                ));
            }
        }
    }

    for (profile, ts, at) in &spans.transform_set_refs {
        if !cfg.crypto.transform_sets.iter().any(|t| t.name == *ts)
            && !spans.crypto.is_rejected(BlockKind::TransformSet, ts)
        {
            out.push(Diagnostic::error(
                *at,
                format!(
                    "IPsec profile `{profile}`: transform-set `{ts}` does not exist: expected a `crypto ipsec transform-set {ts} …` line{}",
                    did_you_mean(ts, cfg.crypto.transform_sets.iter().map(|t| t.name.as_str()))
                ),
            ));
        }
    }
    if spans.transform_set_refs.is_empty() {
        for p in &cfg.crypto.ipsec_profiles {
            for ts in &p.transform_sets {
                if !cfg.crypto.transform_sets.iter().any(|t| t.name == *ts) {
                    out.push(Diagnostic::error(
                        Span::default(),
                        format!(
                            "IPsec profile `{}`: transform-set `{ts}` does not exist",
                            p.name
                        ),
                    ));
                }
            }
        }
    }
    for (profile, v2, at) in &spans.ikev2_profile_refs {
        if !cfg.crypto.ikev2_profiles.iter().any(|p| p.name == *v2) {
            out.push(Diagnostic::error(
                *at,
                format!(
                    "IPsec profile `{profile}`: IKEv2 profile `{v2}` does not exist: expected a `crypto ikev2 profile {v2}` block{}",
                    did_you_mean(v2, cfg.crypto.ikev2_profiles.iter().map(|p| p.name.as_str()))
                ),
            ));
        }
    }
    for (profile, kr, at) in &spans.keyring_refs {
        if !cfg.crypto.ikev2_keyrings.iter().any(|k| k.name == *kr) {
            out.push(Diagnostic::error(
                *at,
                format!(
                    "IKEv2 profile `{profile}`: keyring `{kr}` does not exist: expected a `crypto ikev2 keyring {kr}` block{}",
                    did_you_mean(kr, cfg.crypto.ikev2_keyrings.iter().map(|k| k.name.as_str()))
                ),
            ));
        }
    }
    for (policy, prop, at) in &spans.proposal_refs {
        if !cfg.crypto.ikev2_proposals.iter().any(|p| p.name == *prop) {
            out.push(Diagnostic::error(
                *at,
                format!(
                    "IKEv2 policy `{policy}`: proposal `{prop}` does not exist: expected a `crypto ikev2 proposal {prop}` block{}",
                    did_you_mean(prop, cfg.crypto.ikev2_proposals.iter().map(|p| p.name.as_str()))
                ),
            ));
        }
    }
    for (ifname, at) in &spans.route_interfaces {
        if ifname.starts_with("Tunnel") && cfg.interface(ifname).is_none() {
            out.push(Diagnostic::error(
                *at,
                format!("static route through `{ifname}`, which is not configured: expected an `interface {ifname}` block"),
            ));
        }
    }
    crypto_warnings(cfg, spans, &mut out);
    // Resolution and the reference checks may find the same missing block: say it once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((d.span, d.message.clone())));
    out
}

/// Settings that are accepted but probably not what was meant.
fn crypto_warnings(cfg: &Config, spans: &SpanIndex, out: &mut Vec<Diagnostic>) {
    let c = &cfg.crypto;
    let cs = &spans.crypto;
    for p in &c.ikev2_proposals {
        let at = cs.block(BlockKind::Ikev2Proposal, &p.name);
        if !c
            .ikev2_policies
            .iter()
            .any(|pol| pol.proposals.contains(&p.name))
        {
            let why = if c.ikev2_policies.is_empty() {
                "without a `crypto ikev2 policy`, the default proposal is used"
            } else {
                "no `crypto ikev2 policy` names it"
            };
            out.push(Diagnostic::warning(
                at,
                format!(
                    "IKEv2 proposal `{}` is not used: {why}; add `proposal {}` to a `crypto ikev2 policy`",
                    p.name, p.name
                ),
            ));
        }
        if p.encryption.iter().any(|e| e.is_aead()) && !p.integrity.is_empty() {
            out.push(Diagnostic::warning(
                at,
                format!(
                    "IKEv2 proposal `{}`: `integrity` is not used with AES-GCM, which authenticates by itself",
                    p.name
                ),
            ));
        }
    }
    for k in &c.ikev2_keyrings {
        for peer in k.peers.iter().filter(|p| p.address.is_none()) {
            let at = cs
                .peers
                .get(&(k.name.clone(), peer.name.clone()))
                .copied()
                .unwrap_or_default();
            out.push(Diagnostic::warning(
                at,
                format!(
                    "keyring `{}`, peer `{}` has no `address`: it is not used (dmvpn finds a peer's keys by its address)",
                    k.name, peer.name
                ),
            ));
        }
    }
    for p in &c.ipsec_profiles {
        let modes: Vec<IpsecMode> = p
            .transform_sets
            .iter()
            .filter_map(|n| c.transform_sets.iter().find(|t| t.name == *n))
            .map(|t| t.mode.unwrap_or(IpsecMode::Transport))
            .collect();
        if modes.windows(2).any(|w| w.first() != w.get(1)) {
            out.push(Diagnostic::warning(
                cs.block(BlockKind::IpsecProfile, &p.name),
                format!(
                    "IPsec profile `{}`: its transform sets differ in `mode`; the first set's mode is preferred",
                    p.name
                ),
            ));
        }
    }
}

fn find_nbma(sp: &InterfaceSpans, a: Ipv4Addr) -> Span {
    sp.nbma
        .iter()
        .find(|(x, _)| *x == a)
        .map(|(_, s)| *s)
        .unwrap_or_default()
}

//! Identity-bound NHRP in the node core: when an IKE SA with an NBMA peer comes up, the
//! peer's authenticated IKE identity is looked up in the identity maps of the group's
//! tunnels (`crypto ikev2 identity-map`, `ip nhrp identity-map`), and the NHRP engine learns
//! which tunnel networks that peer may register or answer for; when its last SA goes, it
//! may claim nothing. The engine does the refusing (administratively prohibited, counted,
//! logged); this module only feeds it.

use std::net::Ipv4Addr;

use dmvpn_config::model::{IdentityClaim, IdentityMatch};
use dmvpn_ike::{IkeEvent, SaState};
use dmvpn_nhrp::Prefix;

use super::NodeCore;

/// Whether the IKE identity `id` (as the IKE engine prints it: an address, a name, …)
/// matches `m`.
pub(crate) fn identity_matches(m: &IdentityMatch, id: &str) -> bool {
    match m {
        IdentityMatch::Address { address, mask } => {
            let Ok(a) = id.parse::<Ipv4Addr>() else {
                return false;
            };
            let mask = u32::from(mask.unwrap_or(Ipv4Addr::BROADCAST));
            u32::from(a) & mask == u32::from(*address) & mask
        }
        IdentityMatch::Fqdn { domain, name } | IdentityMatch::Email { domain, name } => {
            if id.eq_ignore_ascii_case(name) {
                return true;
            }
            *domain
                && id.len() > name.len()
                && id
                    .get(id.len() - name.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(name))
                && matches!(
                    id.as_bytes().get(id.len() - name.len() - 1),
                    Some(b'.' | b'@')
                )
        }
    }
}

/// The tunnel network of a claim.
fn claim_prefix(c: &IdentityClaim) -> Option<Prefix> {
    let len = u8::try_from(u32::from(c.mask).leading_ones()).ok()?;
    Prefix::new(c.address, len).ok()
}

impl NodeCore {
    /// An IKE event of IPsec group `key`: an SA up gives its peer the claims of its
    /// identity; when no established SA with the peer is left, it may claim nothing.
    pub(crate) fn identity_event(&mut self, key: &str, e: &IkeEvent) {
        let peer = match e {
            IkeEvent::SaUp { peer, .. } | IkeEvent::SaDown { peer, .. } => *peer,
            _ => return,
        };
        let Some(g) = self.ipsec.get(key) else {
            return;
        };
        let claims: Vec<&IdentityClaim> = g
            .members
            .iter()
            .filter_map(|i| self.tunnels.get(i))
            .flat_map(|t| t.plan.identity_claims.iter())
            .collect();
        if claims.is_empty() {
            return;
        }
        let ids: Vec<String> = g
            .engine
            .sas()
            .into_iter()
            .filter(|s| *s.remote.ip() == peer && s.state == SaState::Established)
            .filter_map(|s| s.peer_id)
            .collect();
        let allowed: Option<Vec<Prefix>> = (!ids.is_empty()).then(|| {
            claims
                .iter()
                .filter(|c| ids.iter().any(|id| identity_matches(&c.identity, id)))
                .filter_map(|c| claim_prefix(c))
                .collect()
        });
        tracing::debug!(
            "identity-bound NHRP: {peer} (identity {}) may claim {:?}",
            ids.join(", "),
            allowed
        );
        let now = self.now;
        self.engine.set_peer_claims(now, peer, allowed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_match_as_ios_match_identity_does() {
        let a = |s: &str, m: Option<&str>| IdentityMatch::Address {
            address: s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
            mask: m.map(|m| m.parse().unwrap_or(Ipv4Addr::BROADCAST)),
        };
        assert!(identity_matches(&a("172.16.1.1", None), "172.16.1.1"));
        assert!(!identity_matches(&a("172.16.1.1", None), "172.16.1.2"));
        assert!(identity_matches(
            &a("172.16.1.0", Some("255.255.255.0")),
            "172.16.1.77"
        ));
        assert!(!identity_matches(&a("172.16.1.1", None), "spoke1.example"));
        let f = |domain, n: &str| IdentityMatch::Fqdn {
            domain,
            name: n.to_string(),
        };
        assert!(identity_matches(
            &f(false, "Spoke1.Example"),
            "spoke1.example"
        ));
        assert!(identity_matches(&f(true, "example"), "spoke1.example"));
        assert!(!identity_matches(&f(true, "example"), "spoke1.badexample"));
        assert!(!identity_matches(&f(false, "example"), "spoke1.example"));
    }
}

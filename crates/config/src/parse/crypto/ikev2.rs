//! The IKEv2 blocks: `crypto ikev2 keyring` (with its `peer` sub-mode), `profile`,
//! `proposal` and `policy`.

use super::*;

impl Parser {
    pub(super) fn crypto_ikev2(&mut self, line: &Line, a: &mut Args<'_>) -> PResult<()> {
        let kind = a.keyword(&[
            "keyring",
            "profile",
            "proposal",
            "policy",
            "limit",
            "cookie-challenge",
            "identity-map",
        ])?;
        match kind {
            "identity-map" => {
                let map = a.word("a map name")?.text.clone();
                let identity = identity_match(a)?;
                a.keyword(&["tunnel-address"])?;
                let (address, _) = a.ipv4("tunnel address")?;
                let mask = mask_arg(a, "tunnel mask")?;
                a.end()?;
                let claim = IdentityClaim {
                    map,
                    identity,
                    address,
                    mask,
                };
                let maps = &mut self.cfg.crypto.identity_maps;
                if !maps.contains(&claim) {
                    maps.push(claim);
                }
                return Ok(());
            }
            "limit" => {
                let what = a.keyword(&["max-sa", "max-in-negotiation-sa"])?;
                let (n, _) = a.number::<u32>("a number of SAs", 1, 100_000)?;
                a.end()?;
                let l = &mut self.cfg.crypto.limits;
                if what == "max-sa" {
                    l.max_sa = Some(n);
                } else {
                    l.max_in_negotiation_sa = Some(n);
                }
                return Ok(());
            }
            "cookie-challenge" => {
                let (n, _) = a.number::<u32>("a number of half-open SAs", 1, 100_000)?;
                a.end()?;
                self.cfg.crypto.limits.cookie_challenge = Some(n);
                return Ok(());
            }
            _ => {}
        }
        let tok = a.word("a name")?;
        let name = tok.text.clone();
        a.end()?;
        let c = &mut self.cfg.crypto;
        let (mode, block) = match kind {
            "keyring" => (
                Mode::Keyring(find_or_push(
                    &mut c.ikev2_keyrings,
                    |k| k.name == name,
                    || Ikev2Keyring {
                        name: name.clone(),
                        ..Default::default()
                    },
                )),
                BlockKind::Ikev2Keyring,
            ),
            "profile" => (
                Mode::Ikev2Profile(find_or_push(
                    &mut c.ikev2_profiles,
                    |k| k.name == name,
                    || Ikev2Profile {
                        name: name.clone(),
                        ..Default::default()
                    },
                )),
                BlockKind::Ikev2Profile,
            ),
            "proposal" => (
                Mode::Proposal(find_or_push(
                    &mut c.ikev2_proposals,
                    |k| k.name == name,
                    || Ikev2Proposal {
                        name: name.clone(),
                        ..Default::default()
                    },
                )),
                BlockKind::Ikev2Proposal,
            ),
            _ => (
                Mode::Policy(find_or_push(
                    &mut c.ikev2_policies,
                    |k| k.name == name,
                    || Ikev2Policy {
                        name: name.clone(),
                        ..Default::default()
                    },
                )),
                BlockKind::Ikev2Policy,
            ),
        };
        self.note_block(block, &name, tok.span);
        self.push(mode, line);
        Ok(())
    }

    pub(in crate::parse) fn keyring_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let mut a = Args::new(line, 0);
        let Some(k) = self.cfg.crypto.ikev2_keyrings.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["peer"])?;
        let tok = a.word("a peer name")?;
        let name = tok.text.clone();
        a.end()?;
        let p = find_or_push(
            &mut k.peers,
            |p| p.name == name,
            || Ikev2Peer {
                name: name.clone(),
                ..Default::default()
            },
        );
        let key = (k.name.clone(), name);
        self.spans.crypto.peers.entry(key).or_insert(tok.span);
        self.push(Mode::KeyringPeer(idx, p), line);
        Ok(())
    }

    pub(in crate::parse) fn peer_line(&mut self, k: usize, p: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(peer) = self
            .cfg
            .crypto
            .ikev2_keyrings
            .get_mut(k)
            .and_then(|k| k.peers.get_mut(p))
        else {
            return Ok(());
        };
        match a.keyword(&["address", "pre-shared-key", "identity"])? {
            "address" => {
                peer.address = if neg {
                    None
                } else {
                    let (ip, _) = a.ipv4("peer address")?;
                    let mask = if a.peek_is_ipv4() {
                        Some(mask_arg(&mut a, "peer mask")?)
                    } else {
                        None
                    };
                    Some((ip, mask))
                };
            }
            "identity" => {
                peer.identity = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    Some(identity(&mut a)?)
                };
            }
            _ => {
                let side = a.opt_keyword(&["local", "remote"]);
                let key = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    Some(typed_key(&mut a, "a pre-shared key")?)
                };
                match side {
                    Some("local") => peer.pre_shared_key_local = key,
                    Some(_) => peer.pre_shared_key_remote = key,
                    None => peer.pre_shared_key = key,
                }
            }
        }
        a.end()
    }

    pub(in crate::parse) fn ikev2_profile_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let first = line
            .tokens
            .get(usize::from(neg))
            .map(|t| t.span)
            .unwrap_or_default();
        let Some(p) = self.cfg.crypto.ikev2_profiles.get_mut(idx) else {
            return Ok(());
        };
        let pname = p.name.clone();
        let mut noted: Option<&'static str> = None;
        match a.keyword(&[
            "match",
            "identity",
            "authentication",
            "keyring",
            "lifetime",
            "dpd",
            "nat",
        ])? {
            "match" => {
                if a.keyword(&["identity", "fvrf"])? == "fvrf" {
                    a.keyword(&["any"])?;
                    p.match_fvrf_any = !neg;
                    return a.end();
                }
                a.keyword(&["remote"])?;
                let m = identity_match(&mut a)?;
                if neg {
                    p.match_identity_remote.retain(|x| *x != m);
                } else if !p.match_identity_remote.contains(&m) {
                    p.match_identity_remote.push(m);
                }
                noted = Some("match identity remote");
            }
            "identity" => {
                a.keyword(&["local"])?;
                p.identity_local = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    Some(identity(&mut a)?)
                };
            }
            "authentication" => {
                let side = a.keyword(&["local", "remote"])?;
                let m = if neg && a.is_done() {
                    None
                } else {
                    let m = match a.keyword(&["pre-share", "rsa-sig", "ecdsa-sig"])? {
                        "pre-share" => AuthMethod::PreShare {
                            key: if a.opt_keyword(&["key"]).is_some() {
                                Some(typed_key(&mut a, "a pre-shared key")?)
                            } else {
                                None
                            },
                        },
                        "rsa-sig" => AuthMethod::RsaSig,
                        _ => AuthMethod::EcdsaSig,
                    };
                    Some(m)
                };
                if side == "local" {
                    p.authentication_local = if neg { None } else { m };
                    noted = Some("authentication local");
                } else {
                    let same = |a: &AuthMethod, b: &AuthMethod| {
                        std::mem::discriminant(a) == std::mem::discriminant(b)
                    };
                    match (neg, m) {
                        (true, None) => p.authentication_remote.clear(),
                        (true, Some(m)) => p.authentication_remote.retain(|x| !same(x, &m)),
                        (false, Some(m)) => {
                            p.authentication_remote.retain(|x| !same(x, &m));
                            p.authentication_remote.push(m);
                        }
                        (false, None) => {}
                    }
                    noted = Some("authentication remote");
                }
            }
            "keyring" => {
                a.keyword(&["local"])?;
                self.spans
                    .keyring_refs
                    .retain(|(prof, _, _)| *prof != pname);
                if neg {
                    p.keyring = None;
                    return Ok(());
                }
                let t = a.word("a keyring name")?;
                self.spans
                    .keyring_refs
                    .push((pname, t.text.clone(), t.span));
                p.keyring = Some(t.text.clone());
            }
            "lifetime" => {
                p.lifetime = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    Some(a.number("IKEv2 SA lifetime (seconds)", 120, 86400)?.0)
                }
            }
            "nat" => {
                a.keyword(&["keepalive"])?;
                p.nat_keepalive = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    Some(a.number("NAT keepalive interval (seconds)", 5, 3600)?.0)
                };
            }
            _ => {
                p.dpd = if neg {
                    a.pos = a.line.tokens.len();
                    None
                } else {
                    let (interval, _) = a.number("DPD interval (seconds)", 10, 3600)?;
                    let (retry, _) = a.number("DPD retry interval (seconds)", 2, 60)?;
                    let periodic = a.opt_keyword(&["on-demand", "periodic"]) == Some("periodic");
                    Some(Dpd {
                        interval,
                        retry,
                        periodic,
                    })
                };
            }
        }
        a.end()?;
        if let Some(k) = noted {
            self.note_line(Mode::Ikev2Profile(idx), k, first);
        }
        Ok(())
    }

    pub(in crate::parse) fn proposal_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let kw = a.keyword(&["encryption", "integrity", "prf", "group"])?;
        let Some(p) = self.cfg.crypto.ikev2_proposals.get_mut(idx) else {
            return Ok(());
        };
        if neg && a.is_done() {
            match kw {
                "encryption" => p.encryption.clear(),
                "integrity" => p.integrity.clear(),
                "prf" => p.prf.clear(),
                _ => p.group.clear(),
            }
            return Ok(());
        }
        let r = match kw {
            "encryption" => alg_list(&mut a, "an encryption algorithm such as `aes-gcm-256`", algs::ikev2_encryption)
                .and_then(|v| {
                    // RFC 7296 §3.3: combined-mode and classic ciphers never share a proposal.
                    let base = p
                        .encryption
                        .first()
                        .or(v.first().map(|(e, _)| e))
                        .map(|e| e.is_aead());
                    let odd = v.iter().find(|(e, _)| Some(e.is_aead()) != base);
                    if let (Some((_, at)), false) = (odd, neg) {
                        return Err(vec![Diagnostic::error(
                            *at,
                            format!(
                                "IKEv2 proposal `{}`: AES-GCM and AES-CBC cannot be in one proposal (RFC 7296 §3.3): put the AES-GCM ciphers in a proposal of their own",
                                p.name
                            ),
                        )]);
                    }
                    merge(&mut p.encryption, neg, &v);
                    Ok(())
                }),
            "integrity" => alg_list(&mut a, "an integrity algorithm such as `sha256`", algs::ikev2_integrity)
                .map(|v| merge(&mut p.integrity, neg, &v)),
            "prf" => alg_list(&mut a, "a PRF such as `sha256`", algs::ikev2_prf)
                .map(|v| merge(&mut p.prf, neg, &v)),
            _ => alg_list(&mut a, "a Diffie-Hellman group such as `19`", algs::dh_group)
                .map(|v| merge(&mut p.group, neg, &v)),
        };
        match r {
            Ok(()) => Ok(()),
            Err(errs) => self.all_errors(errs),
        }
    }

    pub(in crate::parse) fn policy_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.ikev2_policies.get_mut(idx) else {
            return Ok(());
        };
        if a.keyword(&["proposal", "match"])? == "match" {
            if a.keyword(&["address", "fvrf"])? == "fvrf" {
                a.keyword(&["any"])?;
                p.match_fvrf_any = !neg;
            } else {
                a.keyword(&["local"])?;
                let (ip, _) = a.ipv4("local address")?;
                p.match_address_local.retain(|x| *x != ip);
                if !neg {
                    p.match_address_local.push(ip);
                }
            }
            return a.end();
        }
        let t = a.word("an IKEv2 proposal name")?;
        a.end()?;
        if neg {
            p.proposals.retain(|x| *x != t.text);
            self.spans
                .proposal_refs
                .retain(|(pol, prop, _)| !(*pol == p.name && *prop == t.text));
        } else if !p.proposals.contains(&t.text) {
            self.spans
                .proposal_refs
                .push((p.name.clone(), t.text.clone(), t.span));
            p.proposals.push(t.text.clone());
        }
        Ok(())
    }
}

/// `address A [MASK] | fqdn [domain] NAME | email [domain] NAME`: IKE identities, as
/// `match identity remote` names them.
pub(in crate::parse) fn identity_match(a: &mut Args<'_>) -> PResult<IdentityMatch> {
    Ok(match a.keyword(&["address", "fqdn", "email"])? {
        "address" => {
            let (address, _) = a.ipv4("identity address")?;
            let mask = if a.peek_is_ipv4() {
                Some(mask_arg(a, "identity mask")?)
            } else {
                None
            };
            IdentityMatch::Address { address, mask }
        }
        kind => {
            let domain = a.opt_keyword(&["domain"]).is_some();
            let name = a.word("a name")?.text.clone();
            if kind == "fqdn" {
                IdentityMatch::Fqdn { domain, name }
            } else {
                IdentityMatch::Email { domain, name }
            }
        }
    })
}

//! The `crypto …` global commands and their sub-modes: IKEv1 (`crypto isakmp`, accepted
//! with a warning), transform sets, IPsec profiles, the global SA settings, and the IKEv2
//! keyring, profile, proposal and policy blocks.
//!
//! Algorithms are parsed into the `dmvpn-crypto` registry types; a refused one (DES, 3DES,
//! MD5, DH groups 1, 2, 5) is an error at its token that names a replacement, as IOS-XE's
//! compliance shield does. Every refused token of a line is reported, and the line is not
//! applied.

use dmvpn_crypto::Encryption;

use super::*;
use crate::algs::{self, refused_error};
use crate::lexer::Token;
use crate::secret::Secret;

mod ikev2;

/// Transforms IOS knows that dmvpn does not implement (and does not refuse as broken).
const UNSUPPORTED_TRANSFORMS: &[&str] = &[
    "esp-null",
    "esp-gmac",
    "esp-seal",
    "ah-sha-hmac",
    "ah-sha256-hmac",
    "ah-sha384-hmac",
    "ah-sha512-hmac",
    "comp-lzs",
];
const TRANSFORMS: &[&str] = &[
    "esp-aes",
    "esp-gcm",
    "esp-sha-hmac",
    "esp-sha256-hmac",
    "esp-sha384-hmac",
    "esp-sha512-hmac",
    "esp-aes-128-cbc",
    "esp-aes-192-cbc",
    "esp-aes-256-cbc",
];
const REPLAY_SIZES: &[&str] = &["64", "128", "256", "512", "1024"];

/// A key written `[0|6] KEY`: type 0 is clear text, type 6 needs the router's master key.
fn typed_key(a: &mut Args<'_>, what: &str) -> PResult<Secret> {
    let first = a.word(what)?;
    let has_more = !a.is_done() && a.peek_lower().as_deref() != Some("address");
    match first.text.as_str() {
        "0" if has_more => Ok(Secret::new(a.word(what)?.text.clone())),
        "6" | "7" if has_more => Err(Diagnostic::error(
            first.span,
            format!(
                "encrypted keys (type {}) cannot be read without the router's master key: write the key in clear text (`0 KEY` or just `KEY`)",
                first.text
            ),
        )),
        _ => Ok(Secret::new(first.text.clone())),
    }
}

fn ipsec_mode(a: &mut Args<'_>) -> PResult<IpsecMode> {
    Ok(match a.keyword(&["tunnel", "transport"])? {
        "tunnel" => IpsecMode::Tunnel,
        _ if a.opt_keyword(&["require"]).is_some() => IpsecMode::TransportRequire,
        _ => IpsecMode::Transport,
    })
}

/// An address mask that must be contiguous.
fn mask_arg(a: &mut Args<'_>, what: &str) -> PResult<Ipv4Addr> {
    let (m, sp) = a.ipv4(what)?;
    if ipnet::ipv4_mask_to_prefix(m).is_err() {
        return Err(Diagnostic::error(
            sp,
            format!("netmask {m} is not contiguous: expected a mask such as 255.255.255.0"),
        ));
    }
    Ok(m)
}

fn identity(a: &mut Args<'_>) -> PResult<Identity> {
    Ok(match a.keyword(&["address", "fqdn", "email"])? {
        "address" => Identity::Address(a.ipv4("identity address")?.0),
        "fqdn" => Identity::Fqdn(a.word("a host name")?.text.clone()),
        _ => Identity::Email(a.word("an e-mail address")?.text.clone()),
    })
}

/// Parse the rest of the line as a list of algorithms, collecting every bad token.
fn alg_list<T: PartialEq>(
    a: &mut Args<'_>,
    what: &str,
    parse: fn(&Token) -> PResult<T>,
) -> Result<Vec<(T, Span)>, Vec<Diagnostic>> {
    if a.is_done() {
        return Err(vec![Diagnostic::error(
            a.line.end_span(),
            format!("`{}` is incomplete: expected {what}", a.ctx()),
        )]);
    }
    let (mut out, mut errs) = (Vec::new(), Vec::new());
    while let Some(t) = a.next() {
        match parse(t) {
            Ok(v) if out.iter().any(|(x, _)| *x == v) => {}
            Ok(v) => out.push((v, t.span)),
            Err(d) => errs.push(d),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

/// Add (or with `no`, remove) the listed values.
fn merge<T: PartialEq + Copy>(list: &mut Vec<T>, neg: bool, values: &[(T, Span)]) {
    for (v, _) in values {
        if neg {
            list.retain(|x| x != v);
        } else if !list.contains(v) {
            list.push(*v);
        }
    }
}

impl Parser {
    /// Report every diagnostic: all but the last directly, the last as the line's error.
    fn all_errors(&mut self, mut errs: Vec<Diagnostic>) -> PResult<()> {
        match errs.pop() {
            None => Ok(()),
            Some(last) => {
                self.diags.extend(errs);
                Err(last)
            }
        }
    }

    fn block_of(&self, mode: Mode) -> Option<(BlockKind, String)> {
        let c = &self.cfg.crypto;
        Some(match mode {
            Mode::Isakmp(i) => (
                BlockKind::IsakmpPolicy,
                c.isakmp_policies.get(i)?.priority.to_string(),
            ),
            Mode::TransformSet(i) => (
                BlockKind::TransformSet,
                c.transform_sets.get(i)?.name.clone(),
            ),
            Mode::Profile(i) => (
                BlockKind::IpsecProfile,
                c.ipsec_profiles.get(i)?.name.clone(),
            ),
            Mode::Keyring(i) | Mode::KeyringPeer(i, _) => (
                BlockKind::Ikev2Keyring,
                c.ikev2_keyrings.get(i)?.name.clone(),
            ),
            Mode::Ikev2Profile(i) => (
                BlockKind::Ikev2Profile,
                c.ikev2_profiles.get(i)?.name.clone(),
            ),
            Mode::Proposal(i) => (
                BlockKind::Ikev2Proposal,
                c.ikev2_proposals.get(i)?.name.clone(),
            ),
            Mode::Policy(i) => (
                BlockKind::Ikev2Policy,
                c.ikev2_policies.get(i)?.name.clone(),
            ),
            _ => return None,
        })
    }

    /// Remember that a block had an erroneous line.
    pub(super) fn reject_block(&mut self, mode: Mode) {
        if let Some(b) = self.block_of(mode) {
            self.spans.crypto.rejected.insert(b);
        }
    }

    fn note_line(&mut self, mode: Mode, keyword: &'static str, span: Span) {
        if let Some((kind, name)) = self.block_of(mode) {
            self.spans.crypto.lines.insert((kind, name, keyword), span);
        }
    }

    fn note_block(&mut self, kind: BlockKind, name: &str, span: Span) {
        self.spans
            .crypto
            .blocks
            .entry((kind, name.to_string()))
            .or_insert(span);
    }

    fn ikev1_warning(&mut self, line: &Line, what: &str) {
        let first = line.tokens.first().map(|t| t.span).unwrap_or_default();
        self.diags.push(Diagnostic::warning(
            first,
            format!(
                "`{what}`: {IKEV1_NOT_SUPPORTED}; accepted, but a tunnel whose IPsec profile has no `set ikev2-profile` will not start"
            ),
        ));
    }

    pub(super) fn crypto(&mut self, line: &Line, neg: bool, pos: usize) -> PResult<()> {
        let mut a = Args::new(line, pos);
        let first = line.tokens.first().map(|t| t.span).unwrap_or_default();
        let kind = match a.keyword(&[
            "isakmp",
            "ipsec",
            "ikev2",
            "map",
            "dynamic-map",
            "ike",
            "pki",
            "key",
            "ca",
            "call",
        ]) {
            Ok(k) => k,
            Err(d) => return self.swallow(line, d),
        };
        if neg {
            return self.swallow(
                line,
                Diagnostic::error(first, "`no crypto …` is not supported in a configuration file: delete the block instead"),
            );
        }
        let r = match kind {
            "isakmp" => self.crypto_isakmp(line, &mut a),
            "call" => (|| {
                a.keyword(&["admission"])?;
                a.keyword(&["limit"])?;
                a.keyword(&["ike"])?;
                a.keyword(&["sa"])?;
                let (n, _) = a.number::<u32>("a number of IKE SAs", 1, 100_000)?;
                a.end()?;
                self.cfg.crypto.limits.call_admission_ike_sa = Some(n);
                Ok(())
            })(),
            "ipsec" => self.crypto_ipsec(line, &mut a),
            "ikev2" => self.crypto_ikev2(line, &mut a),
            "map" | "dynamic-map" => {
                self.ignore_block(
                    line,
                    format!(
                        "`{}` ignored: crypto maps are not supported; protect the tunnel with `tunnel protection ipsec profile`",
                        line.text()
                    ),
                );
                Ok(())
            }
            "ike" => Err(Diagnostic::error(
                first,
                "`crypto ike` is AOS syntax: convert the file with `dmvpn config import --from aos FILE`",
            )),
            _ => {
                self.ignore_block(
                    line,
                    format!(
                        "`{}` ignored: certificates are not supported yet",
                        line.text()
                    ),
                );
                Ok(())
            }
        };
        if let Err(d) = r {
            return self.swallow(line, d);
        }
        Ok(())
    }

    fn crypto_isakmp(&mut self, line: &Line, a: &mut Args<'_>) -> PResult<()> {
        match a.keyword(&[
            "policy",
            "key",
            "keepalive",
            "nat",
            "identity",
            "profile",
            "aggressive-mode",
            "invalid-spi-recovery",
        ])? {
            "policy" => {
                let (priority, sp) = a.number::<u16>("ISAKMP policy priority", 1, 10000)?;
                a.end()?;
                self.ikev1_warning(line, &format!("crypto isakmp policy {priority}"));
                let idx = find_or_push(
                    &mut self.cfg.crypto.isakmp_policies,
                    |p| p.priority == priority,
                    || IsakmpPolicy {
                        priority,
                        ..IsakmpPolicy::default()
                    },
                );
                self.note_block(BlockKind::IsakmpPolicy, &priority.to_string(), sp);
                self.push(Mode::Isakmp(idx), line);
            }
            "key" => {
                let key = typed_key(a, "a pre-shared key")?;
                a.keyword(&["address"])?;
                let (address, _) = a.ipv4("peer address")?;
                let mask = if a.peek_is_ipv4() {
                    Some(mask_arg(a, "peer mask")?)
                } else {
                    None
                };
                a.opt_keyword(&["no-xauth"]);
                a.end()?;
                self.ikev1_warning(line, "crypto isakmp key");
                let k = IsakmpKey { key, address, mask };
                let keys = &mut self.cfg.crypto.isakmp_keys;
                keys.retain(|x| !(x.address == k.address && x.mask == k.mask));
                keys.push(k);
            }
            _ => self.ignore_block(
                line,
                format!("`{}` ignored: {IKEV1_NOT_SUPPORTED}", line.text()),
            ),
        }
        Ok(())
    }

    fn crypto_ipsec(&mut self, line: &Line, a: &mut Args<'_>) -> PResult<()> {
        match a.keyword(&[
            "transform-set",
            "profile",
            "security-association",
            "nat-transparency",
            "df-bit",
        ])? {
            "transform-set" => {
                let name = a.word("a transform-set name")?;
                let r = self.transform_set_header(&name.text, a);
                match r {
                    Ok(ts) => {
                        let list = &mut self.cfg.crypto.transform_sets;
                        let idx = find_or_push(list, |t| t.name == ts.name, TransformSet::default);
                        if let Some(slot) = list.get_mut(idx) {
                            *slot = ts;
                        }
                        self.spans
                            .crypto
                            .rejected
                            .remove(&(BlockKind::TransformSet, name.text.clone()));
                        self.note_block(BlockKind::TransformSet, &name.text, name.span);
                        self.push(Mode::TransformSet(idx), line);
                    }
                    Err(errs) => {
                        self.spans
                            .crypto
                            .rejected
                            .insert((BlockKind::TransformSet, name.text.clone()));
                        return self.all_errors(errs);
                    }
                }
            }
            "profile" => {
                let name = a.word("an IPsec profile name")?;
                a.end()?;
                let idx = find_or_push(
                    &mut self.cfg.crypto.ipsec_profiles,
                    |p| p.name == name.text,
                    || IpsecProfile {
                        name: name.text.clone(),
                        ..IpsecProfile::default()
                    },
                );
                self.note_block(BlockKind::IpsecProfile, &name.text, name.span);
                self.push(Mode::Profile(idx), line);
            }
            "security-association" => match self.global_sa(a) {
                Some(r) => return r,
                None => self.ignore_block(
                    line,
                    format!("`{}` ignored: not supported yet", line.text()),
                ),
            },
            _ => self.ignore_block(
                line,
                format!("`{}` ignored: not supported yet", line.text()),
            ),
        }
        Ok(())
    }

    /// `crypto ipsec security-association replay window-size N | lifetime seconds S |
    /// lifetime kilobytes K | idle-time S`; `None` for other sub-commands (ignored).
    fn global_sa(&mut self, a: &mut Args<'_>) -> Option<PResult<()>> {
        let sa = &mut self.cfg.crypto.sa;
        let r = match a.peek_lower()?.as_str() {
            "replay" => {
                a.next();
                a.keyword(&["window-size"]).and_then(|_| {
                    let n = a.keyword(REPLAY_SIZES)?;
                    sa.replay_window = n.parse().ok();
                    a.end()
                })
            }
            "lifetime" => {
                a.next();
                a.keyword(&["seconds", "kilobytes"]).and_then(|k| {
                    if k == "seconds" {
                        sa.lifetime_seconds =
                            Some(a.number("SA lifetime (seconds)", 120, 86_400)?.0);
                    } else {
                        sa.lifetime_kilobytes =
                            Some(a.number("SA lifetime (kilobytes)", 2560, 4_294_967_295)?.0);
                    }
                    a.end()
                })
            }
            "idle-time" => {
                a.next();
                a.number("SA idle time (seconds)", 60, 86_400)
                    .and_then(|(s, _)| {
                        sa.idle_time = Some(s);
                        a.end()
                    })
            }
            _ => return None,
        };
        Some(r)
    }

    /// The transforms (and an AOS inline `mode`) of `crypto ipsec transform-set NAME …`.
    fn transform_set_header(
        &mut self,
        name: &str,
        a: &mut Args<'_>,
    ) -> Result<TransformSet, Vec<Diagnostic>> {
        let mut ts = TransformSet {
            name: name.to_string(),
            ..TransformSet::default()
        };
        if a.is_done() {
            return Err(vec![Diagnostic::error(
                a.line.end_span(),
                format!(
                    "`{}` is incomplete: expected transforms such as `esp-gcm 256`, or `esp-aes 256 esp-sha256-hmac`",
                    a.ctx()
                ),
            )]);
        }
        let mut errs = Vec::new();
        let (mut enc_at, mut integ_at): (Option<&Token>, Option<&Token>) = (None, None);
        while let Some(tok) = a.next() {
            let lower = tok.text.to_ascii_lowercase();
            if lower == "mode" {
                if enc_at.is_none() && integ_at.is_none() && errs.is_empty() {
                    errs.push(Diagnostic::error(
                        tok.span,
                        "expected at least one transform such as `esp-gcm 256` before `mode`",
                    ));
                    break;
                }
                match ipsec_mode(a).and_then(|m| a.end().map(|()| m)) {
                    Ok(m) => ts.mode = Some(m),
                    Err(d) => errs.push(d),
                }
                break;
            }
            if let Some(d) = refused_error(tok, "transform") {
                errs.push(d);
                continue;
            }
            let enc = match lower.as_str() {
                "esp-aes" | "esp-gcm" => {
                    let bits = match a.opt_keyword(&["128", "192", "256"]) {
                        Some(b) => b.parse().unwrap_or(128),
                        None => 128,
                    };
                    if lower == "esp-gcm" && bits == 192 {
                        errs.push(Diagnostic::error(
                            tok.span,
                            "`esp-gcm 192` is not supported: expected `esp-gcm 128` or `esp-gcm 256`",
                        ));
                        continue;
                    }
                    Some(if lower == "esp-aes" {
                        Encryption::AesCbc { key_bits: bits }
                    } else {
                        Encryption::AesGcm16 { key_bits: bits }
                    })
                }
                "esp-aes-128-cbc" => Some(Encryption::AesCbc { key_bits: 128 }),
                "esp-aes-192-cbc" => Some(Encryption::AesCbc { key_bits: 192 }),
                "esp-aes-256-cbc" => Some(Encryption::AesCbc { key_bits: 256 }),
                _ => None,
            };
            if let Some(e) = enc {
                if let Some(prev) = enc_at {
                    errs.push(Diagnostic::error(
                        tok.span,
                        format!(
                            "a transform set has one cipher: `{}` and `{}` given; list several transform sets in the profile instead",
                            prev.text, tok.text
                        ),
                    ));
                }
                enc_at = Some(tok);
                ts.encryption = Some(e);
                continue;
            }
            let integ = dmvpn_crypto::Integrity::ALL
                .into_iter()
                .find(|i| i.esp_name() == lower);
            if let Some(i) = integ {
                if let Some(prev) = integ_at {
                    errs.push(Diagnostic::error(
                        tok.span,
                        format!(
                            "a transform set has one integrity transform: `{}` and `{}` given",
                            prev.text, tok.text
                        ),
                    ));
                }
                integ_at = Some(tok);
                ts.integrity = Some(i);
                continue;
            }
            if UNSUPPORTED_TRANSFORMS.contains(&lower.as_str()) {
                errs.push(Diagnostic::error(
                    tok.span,
                    format!(
                        "transform `{}` is not supported: dmvpn protects with ESP, `esp-gcm 128|256` or `esp-aes 128|192|256` with `esp-sha256-hmac` (or sha384, sha512, sha)",
                        tok.text
                    ),
                ));
                continue;
            }
            let mut cands: Vec<&str> = TRANSFORMS.to_vec();
            cands.extend_from_slice(UNSUPPORTED_TRANSFORMS);
            errs.push(Diagnostic::error(
                tok.span,
                format!(
                    "unknown transform `{}`: expected a transform such as `esp-gcm 256`, `esp-aes 256`, `esp-sha256-hmac`{}",
                    tok.text,
                    did_you_mean(&tok.text, cands)
                ),
            ));
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        match (ts.encryption, enc_at, integ_at) {
            (None, _, Some(i)) => Err(vec![Diagnostic::error(
                i.span,
                format!(
                    "transform set `{name}` has no cipher: add `esp-aes 256` before `{}`, or use `esp-gcm 256` alone",
                    i.text
                ),
            )]),
            (Some(e), Some(at), None) if !e.is_aead() => Err(vec![Diagnostic::error(
                at.span,
                format!(
                    "`{}` needs an integrity transform: add `esp-sha256-hmac` (or use `esp-gcm 256`, which authenticates by itself)",
                    at.text
                ),
            )]),
            (Some(e), _, Some(i)) if e.is_aead() => Err(vec![Diagnostic::error(
                i.span,
                format!(
                    "`{}` cannot be combined with AES-GCM, which authenticates by itself: remove it",
                    i.text
                ),
            )]),
            _ => Ok(ts),
        }
    }

    pub(super) fn isakmp_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.isakmp_policies.get_mut(idx) else {
            return Ok(());
        };
        match a.keyword(&[
            "encryption",
            "encr",
            "hash",
            "authentication",
            "group",
            "lifetime",
        ])? {
            "encryption" | "encr" => {
                p.encryption = if neg {
                    None
                } else {
                    let t = a.word("an encryption algorithm (`aes`, `aes 256`)")?;
                    if let Some(d) = refused_error(t, "ISAKMP encryption") {
                        return Err(d);
                    }
                    if !t.text.eq_ignore_ascii_case("aes") {
                        a.pos -= 1;
                        a.keyword(&["aes"])?;
                    }
                    let bits = if a.is_done() {
                        128
                    } else {
                        a.keyword(&["128", "192", "256"])?.parse().unwrap_or(128)
                    };
                    Some(Encryption::AesCbc { key_bits: bits })
                };
            }
            "hash" => {
                p.hash = if neg {
                    None
                } else {
                    let t = a.word("a hash (`sha`, `sha256`, `sha384`, `sha512`)")?;
                    Some(algs::isakmp_hash(t)?)
                };
            }
            "authentication" => {
                p.authentication = if neg {
                    None
                } else {
                    Some(
                        a.keyword(&["pre-share", "rsa-sig", "rsa-encr"])?
                            .to_string(),
                    )
                };
            }
            "group" => {
                p.group = if neg {
                    None
                } else {
                    Some(algs::dh_group(a.word("a Diffie-Hellman group")?)?)
                };
            }
            _ => {
                p.lifetime = if neg {
                    None
                } else {
                    Some(a.number("ISAKMP lifetime (seconds)", 60, 86400)?.0)
                }
            }
        }
        a.end()
    }

    pub(super) fn transform_set_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(ts) = self.cfg.crypto.transform_sets.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["mode"])?;
        ts.mode = if neg { None } else { Some(ipsec_mode(&mut a)?) };
        a.end()
    }

    pub(super) fn profile_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let first = line.tokens.first().map(|t| t.span).unwrap_or_default();
        a.keyword(&["set"])?;
        let kw = a.keyword(&[
            "transform-set",
            "pfs",
            "security-association",
            "security",
            "ikev2-profile",
            "identity",
            "isakmp-profile",
        ])?;
        let kw = match kw {
            // The Cisco guide writes `set security association lifetime …`.
            "security" => {
                a.keyword(&["association"])?;
                "security-association"
            }
            "identity" => {
                self.diags.push(Diagnostic::warning(
                    first,
                    format!(
                        "`{}` ignored: identity restrictions are not supported yet",
                        line.text()
                    ),
                ));
                return Ok(());
            }
            "isakmp-profile" => {
                self.diags.push(Diagnostic::warning(
                    first,
                    format!("`{}` ignored: {IKEV1_NOT_SUPPORTED}", line.text()),
                ));
                return Ok(());
            }
            k => k,
        };
        let Some(p) = self.cfg.crypto.ipsec_profiles.get_mut(idx) else {
            return Ok(());
        };
        let pname = p.name.clone();
        match kw {
            "transform-set" => {
                p.transform_sets.clear();
                self.spans
                    .transform_set_refs
                    .retain(|(prof, _, _)| *prof != pname);
                if neg {
                    return Ok(());
                }
                if a.is_done() {
                    a.word("a transform-set name")?;
                }
                while let Some(t) = a.next() {
                    if p.transform_sets.contains(&t.text) {
                        continue;
                    }
                    self.spans
                        .transform_set_refs
                        .push((pname.clone(), t.text.clone(), t.span));
                    p.transform_sets.push(t.text.clone());
                }
            }
            "pfs" => {
                p.pfs = if neg {
                    None
                } else if a.is_done() {
                    self.diags.push(Diagnostic::warning(
                        first,
                        format!(
                            "IPsec profile `{pname}`: `set pfs` without a group: IOS's default, group 1, is refused; the first DH group of the IKE proposal is used (19 with the default proposal); write the group, e.g. `set pfs group19`"
                        ),
                    ));
                    Some(Pfs::Default)
                } else {
                    Some(Pfs::Group(algs::pfs_group(a.word("a PFS group")?)?))
                };
                self.note_line(Mode::Profile(idx), "pfs", first);
            }
            "security-association" => match a.keyword(&["lifetime", "idle-time", "replay"])? {
                "lifetime" => match a.keyword(&["seconds", "kilobytes"])? {
                    "seconds" => {
                        p.lifetime_seconds = if neg {
                            None
                        } else {
                            Some(a.number("SA lifetime (seconds)", 120, 2_592_000)?.0)
                        };
                    }
                    _ => {
                        p.lifetime_kilobytes = if neg {
                            None
                        } else {
                            Some(a.number("SA lifetime (kilobytes)", 2560, 4_294_967_295)?.0)
                        };
                    }
                },
                "idle-time" => {
                    p.idle_time = if neg {
                        None
                    } else {
                        Some(a.number("SA idle time (seconds)", 60, 86_400)?.0)
                    };
                }
                _ => {
                    if neg {
                        a.opt_keyword(&["window-size", "disable"]);
                        a.opt_keyword(REPLAY_SIZES);
                        p.replay = None;
                    } else if a.keyword(&["window-size", "disable"])? == "disable" {
                        p.replay = Some(Replay::Disabled);
                        a.end()?;
                        self.diags.push(Diagnostic::warning(
                                first,
                                format!(
                                    "IPsec profile `{pname}`: anti-replay is disabled: replayed ESP packets will be accepted"
                                ),
                            ));
                    } else {
                        let n = a.keyword(REPLAY_SIZES)?;
                        p.replay = n.parse().ok().map(Replay::Window);
                    }
                }
            },
            _ => {
                self.spans
                    .ikev2_profile_refs
                    .retain(|(prof, _, _)| *prof != pname);
                if neg {
                    p.ikev2_profile = None;
                    return a.end();
                }
                let t = a.word("an IKEv2 profile name")?;
                self.spans
                    .ikev2_profile_refs
                    .push((pname, t.text.clone(), t.span));
                p.ikev2_profile = Some(t.text.clone());
            }
        }
        a.end()
    }
}

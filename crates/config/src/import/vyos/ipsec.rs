//! VyOS `set vpn ipsec …` → IOS crypto blocks.
//!
//! * An IKE group with `key-exchange ikev2` becomes one `crypto ikev2 proposal G-N` per
//!   VyOS proposal and a `crypto ikev2 policy G` listing them; each profile using it gets a
//!   wildcard keyring (`address 0.0.0.0 0.0.0.0`, the profile's pre-shared secret), an
//!   IKEv2 profile (identities by address, as VyOS's `dynamic[gre]` profiles do) and
//!   `set ikev2-profile`. Without `key-exchange` (VyOS's default, IKEv1) the group becomes
//!   `crypto isakmp` policies, which are accepted with a warning: IKEv1 is not supported yet.
//! * An ESP group becomes one transform set `G-N` per proposal; the profile lists them.
//! * Missing algorithms take VyOS's defaults (AES-128, SHA-1); an IKEv2 proposal without a
//!   `dh-group` gets group 14, with a warning (VyOS's default, group 2, is refused).
//! * A weak proposal (DES, 3DES, MD5, DH groups 1, 2, 5) next to a strong one in the same
//!   group is dropped with a warning; a group with only weak proposals is converted as is,
//!   so that the parser refuses it with an error naming the replacement.

use dmvpn_crypto::algorithm::{Refused, refused_dh_group, refused_keyword};

use super::emit::{Out, at_line, warn};
use super::{At, Group, Proposal, Vy};
use crate::diag::Diagnostic;
use crate::model::IKEV1_NOT_SUPPORTED;

fn ike_enc_v1(e: &str) -> Option<&'static str> {
    Some(match e {
        "aes256" => "aes 256",
        "aes192" => "aes 192",
        "aes128" => "aes 128",
        "3des" => "3des",
        "des" => "des",
        _ => return None,
    })
}

fn ike_hash_v1(h: &str) -> Option<&'static str> {
    Some(match h {
        "sha1" => "sha",
        "md5" => "md5",
        "sha256" => "sha256",
        "sha384" => "sha384",
        "sha512" => "sha512",
        _ => return None,
    })
}

/// IKEv2 encryption keyword, and whether it is AES-GCM.
fn ikev2_enc(e: &str) -> Option<(&'static str, bool)> {
    Some(match e {
        "aes256" => ("aes-cbc-256", false),
        "aes192" => ("aes-cbc-192", false),
        "aes128" => ("aes-cbc-128", false),
        "aes256gcm128" => ("aes-gcm-256", true),
        "aes128gcm128" => ("aes-gcm-128", true),
        "3des" => ("3des", false),
        "des" => ("des", false),
        _ => return None,
    })
}

fn ikev2_hash(h: &str) -> Option<&'static str> {
    Some(match h {
        "sha1" => "sha1",
        "md5" => "md5",
        "sha256" => "sha256",
        "sha384" => "sha384",
        "sha512" => "sha512",
        _ => return None,
    })
}

fn esp_enc(e: &str) -> Option<&'static str> {
    Some(match e {
        "aes256" => "esp-aes 256",
        "aes192" => "esp-aes 192",
        "aes128" => "esp-aes 128",
        "3des" => "esp-3des",
        "des" => "esp-des",
        "aes256gcm128" => "esp-gcm 256",
        "aes128gcm128" => "esp-gcm 128",
        _ => return None,
    })
}

fn esp_hash(h: &str) -> Option<&'static str> {
    Some(match h {
        "sha1" => "esp-sha-hmac",
        "md5" => "esp-md5-hmac",
        "sha256" => "esp-sha256-hmac",
        "sha384" => "esp-sha384-hmac",
        "sha512" => "esp-sha512-hmac",
        _ => return None,
    })
}

fn dh(g: &str) -> Option<String> {
    g.strip_prefix("dh-group")
        .map(str::to_string)
        .or_else(|| g.parse::<u8>().ok().map(|n| n.to_string()))
}

fn is_ikev2(g: &Group) -> bool {
    g.key_exchange.as_ref().is_some_and(|k| k.v == "ikev2")
}

/// The first refused algorithm of a proposal, with the VyOS line that set it.
fn weakness(p: &Proposal) -> Option<(Refused, u32)> {
    let alg = |a: &Option<At>| {
        a.as_ref().and_then(|a| {
            refused_keyword(&a.v)
                .filter(|r| !r.name.starts_with("DH"))
                .map(|r| (r, a.line))
        })
    };
    let group = p.dh_group.as_ref().and_then(|a| {
        dh(&a.v)
            .and_then(|n| n.parse::<u16>().ok())
            .and_then(refused_dh_group)
            .map(|r| (r, a.line))
    });
    alg(&p.encryption).or_else(|| alg(&p.hash)).or(group)
}

/// The proposals to convert: weak ones are dropped, with a warning, when the group also
/// offers a strong one.
fn usable<'a>(g: &'a Group, kind: &str, warns: &mut Vec<Diagnostic>) -> Vec<&'a Proposal> {
    let strong: Vec<&Proposal> = g
        .proposals
        .iter()
        .filter(|p| weakness(p).is_none())
        .collect();
    if strong.is_empty() {
        return g.proposals.iter().collect();
    }
    let kept: Vec<String> = strong.iter().map(|p| p.num.to_string()).collect();
    for p in &g.proposals {
        if let Some((r, line)) = weakness(p) {
            warns.push(Diagnostic::warning(
                at_line(line),
                format!(
                    "{kind} group `{}` proposal {} dropped: {r}; proposal {} is kept",
                    g.name,
                    p.num,
                    kept.join(", ")
                ),
            ));
        }
    }
    strong
}

fn line_of(a: &Option<At>) -> Option<u32> {
    a.as_ref().map(|a| a.line)
}

pub(super) fn emit(vy: &Vy, o: &mut Out, warns: &mut Vec<Diagnostic>) {
    let mut prio = 10;
    for g in &vy.ike {
        let props = usable(g, "IKE", warns);
        if is_ikev2(g) {
            ikev2_group(g, &props, o, warns);
            continue;
        }
        warns.push(Diagnostic::warning(
            at_line(g.line),
            format!(
                "IKE group `{}` uses IKEv1 (VyOS's default key exchange): converted to `crypto isakmp` policies, but {IKEV1_NOT_SUPPORTED}; set `key-exchange ikev2` in the group, on every router, to use IKEv2",
                g.name
            ),
        ));
        for p in props {
            o.push(Some(p.line), format!("crypto isakmp policy {prio}"));
            prio += 10;
            if let Some(e) = &p.encryption {
                match ike_enc_v1(&e.v) {
                    Some(x) => o.push(Some(e.line), format!(" encryption {x}")),
                    None => warn(
                        warns,
                        format!("IKE group `{}`: encryption `{}` not converted", g.name, e.v),
                    ),
                }
            }
            if let Some(h) = &p.hash {
                match ike_hash_v1(&h.v) {
                    Some(x) => o.push(Some(h.line), format!(" hash {x}")),
                    None => warn(
                        warns,
                        format!("IKE group `{}`: hash `{}` not converted", g.name, h.v),
                    ),
                }
            }
            o.push(Some(p.line), " authentication pre-share");
            if let Some(d) = &p.dh_group
                && let Some(n) = dh(&d.v)
            {
                o.push(Some(d.line), format!(" group {n}"));
            }
            if let Some(l) = &g.lifetime {
                o.push(Some(l.line), format!(" lifetime {}", l.v));
            }
        }
    }
    let mut keys: Vec<&str> = Vec::new();
    for p in &vy.profiles {
        let v2 = ike_group(vy, p.ike_group.as_ref()).is_some_and(is_ikev2);
        if let Some(k) = &p.psk
            && !v2
            && !keys.contains(&k.v.as_str())
        {
            keys.push(&k.v);
            o.push(
                Some(k.line),
                format!("crypto isakmp key {} address 0.0.0.0 0.0.0.0", k.v),
            );
        }
    }
    for p in &vy.profiles {
        if let Some(g) = ike_group(vy, p.ike_group.as_ref()).filter(|g| is_ikev2(g)) {
            ikev2_profile(p, g, o, warns);
        }
    }
    let mut esp_sets: Vec<(String, Vec<String>)> = Vec::new();
    for g in &vy.esp {
        let mut names = Vec::new();
        for p in usable(g, "ESP", warns) {
            let (enc, enc_line) = match &p.encryption {
                Some(e) => (e.v.as_str(), Some(e.line)),
                None => ("aes128", None),
            };
            let Some(e) = esp_enc(enc) else {
                warn(
                    warns,
                    format!("ESP group `{}`: encryption `{enc}` not converted", g.name),
                );
                continue;
            };
            let mut ts = vec![e];
            if !e.starts_with("esp-gcm") {
                let hash = p.hash.as_ref().map_or("sha1", |h| h.v.as_str());
                match esp_hash(hash) {
                    Some(x) => ts.push(x),
                    None => {
                        warn(
                            warns,
                            format!("ESP group `{}`: hash `{hash}` not converted", g.name),
                        );
                        continue;
                    }
                }
            }
            let name = format!("{}-{}", g.name, p.num);
            let src = enc_line.or(line_of(&p.hash)).unwrap_or(p.line);
            o.push(
                Some(src),
                format!("crypto ipsec transform-set {name} {}", ts.join(" ")),
            );
            if let Some(m) = &g.mode {
                o.push(Some(m.line), format!(" mode {}", m.v));
            }
            names.push(name);
        }
        esp_sets.push((g.name.clone(), names));
    }
    for p in &vy.profiles {
        o.push(Some(p.line), format!("crypto ipsec profile {}", p.name));
        let esp = p
            .esp_group
            .as_ref()
            .and_then(|g| vy.esp.iter().find(|e| e.name == g.v));
        if let Some(g) = esp {
            let src = line_of(&p.esp_group);
            if let Some((_, names)) = esp_sets.iter().find(|(n, _)| *n == g.name)
                && !names.is_empty()
            {
                o.push(src, format!(" set transform-set {}", names.join(" ")));
            }
            match &g.pfs {
                Some(a) if a.v == "enable" => o.push(Some(a.line), " set pfs"),
                Some(a) if a.v == "disable" => {}
                None => {}
                Some(a) => match dh(&a.v) {
                    Some(n) => o.push(Some(a.line), format!(" set pfs group{n}")),
                    None => warn(
                        warns,
                        format!("ESP group `{}`: pfs `{}` not converted", g.name, a.v),
                    ),
                },
            }
            if let Some(l) = &g.lifetime {
                o.push(
                    Some(l.line),
                    format!(" set security-association lifetime seconds {}", l.v),
                );
            }
        } else if let Some(g) = &p.esp_group {
            warns.push(Diagnostic::warning(
                at_line(g.line),
                format!(
                    "profile `{}` names ESP group `{}`, which is not defined",
                    p.name, g.v
                ),
            ));
        }
        if ike_group(vy, p.ike_group.as_ref()).is_some_and(is_ikev2) {
            o.push(
                line_of(&p.ike_group),
                format!(" set ikev2-profile {}", p.name),
            );
        }
    }
}

fn ike_group<'a>(vy: &'a Vy, name: Option<&At>) -> Option<&'a Group> {
    let n = name?;
    vy.ike.iter().find(|g| g.name == n.v)
}

fn ikev2_group(g: &Group, props: &[&Proposal], o: &mut Out, warns: &mut Vec<Diagnostic>) {
    let mut names = Vec::new();
    for p in props {
        let name = format!("{}-{}", g.name, p.num);
        let enc = p.encryption.as_ref().map_or("aes128", |e| e.v.as_str());
        let Some((e, aead)) = ikev2_enc(enc) else {
            warn(
                warns,
                format!("IKE group `{}`: encryption `{enc}` not converted", g.name),
            );
            continue;
        };
        let hash = p.hash.as_ref().map_or("sha1", |h| h.v.as_str());
        let Some(h) = ikev2_hash(hash) else {
            warn(
                warns,
                format!("IKE group `{}`: hash `{hash}` not converted", g.name),
            );
            continue;
        };
        o.push(Some(p.line), format!("crypto ikev2 proposal {name}"));
        o.push(line_of(&p.encryption), format!(" encryption {e}"));
        // strongSwan (VyOS) uses the group's hash as the PRF with AES-GCM.
        let kw = if aead { "prf" } else { "integrity" };
        o.push(line_of(&p.hash), format!(" {kw} {h}"));
        match p.dh_group.as_ref() {
            Some(d) => match dh(&d.v) {
                Some(n) => o.push(Some(d.line), format!(" group {n}")),
                None => warn(
                    warns,
                    format!("IKE group `{}`: dh-group `{}` not converted", g.name, d.v),
                ),
            },
            None => {
                warns.push(Diagnostic::warning(
                    at_line(p.line),
                    format!(
                        "IKE group `{}` proposal {} has no dh-group: VyOS's default, group 2, is refused; converted with group 14 (MODP-2048): set `dh-group 14` on the VyOS routers too",
                        g.name, p.num
                    ),
                ));
                o.push(Some(p.line), " group 14");
            }
        }
        names.push(name);
    }
    o.push(Some(g.line), format!("crypto ikev2 policy {}", g.name));
    for n in names {
        o.push(Some(g.line), format!(" proposal {n}"));
    }
}

fn ikev2_profile(p: &super::Profile, g: &Group, o: &mut Out, warns: &mut Vec<Diagnostic>) {
    match &p.psk {
        Some(k) => {
            o.push(Some(k.line), format!("crypto ikev2 keyring {}", p.name));
            o.push(Some(k.line), " peer any");
            o.push(Some(k.line), "  address 0.0.0.0 0.0.0.0");
            o.push(Some(k.line), format!("  pre-shared-key {}", k.v));
        }
        None => warns.push(Diagnostic::warning(
            at_line(p.line),
            format!(
                "profile `{}` has no `authentication pre-shared-secret`: add one (dmvpn authenticates IKEv2 peers with pre-shared keys)",
                p.name
            ),
        )),
    }
    o.push(Some(p.line), format!("crypto ikev2 profile {}", p.name));
    o.push(Some(p.line), " match identity remote address 0.0.0.0");
    o.push(Some(p.line), " authentication remote pre-share");
    o.push(Some(p.line), " authentication local pre-share");
    if p.psk.is_some() {
        o.push(Some(p.line), format!(" keyring local {}", p.name));
    }
    if let Some(l) = &g.lifetime {
        o.push(Some(l.line), format!(" lifetime {}", l.v));
    }
}

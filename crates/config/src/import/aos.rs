//! Adtran AOS → our dialect. AOS is close to IOS; the converter rewrites the
//! AOS-only constructs line by line (keeping line numbers, so messages point
//! into the AOS file) and lets the IOS parser do the rest:
//! `crypto ike policy` → `crypto isakmp policy` (IKEv1: accepted with a warning, not
//! supported yet), `crypto ike remote-id … preshared-key` → `crypto isakmp key`, AES
//! names, the IPsec profile's `antireplay` → `set security-association replay …`, and
//! crypto maps and access lists dropped with a warning (DMVPN uses tunnel protection).
//!
//! A weak transform set or IKE policy (DES, 3DES, MD5, DH groups 1, 2, 5) offered next to
//! a strong one is dropped with a warning; when only weak ones are offered they are kept,
//! and the parser refuses them with an error that names the replacement.

use std::collections::HashSet;

use dmvpn_crypto::algorithm::{Refused, refused_dh_group, refused_keyword};

use super::Imported;
use crate::diag::{Diagnostic, Span};

#[derive(PartialEq)]
enum State {
    Global,
    IkePolicy,
    IpsecProfile,
    Drop,
}

/// The first refused algorithm among `words` (transform or IKE policy words).
fn refused_word(words: &[&str]) -> Option<Refused> {
    words
        .iter()
        .find_map(|w| refused_keyword(w).filter(|r| !r.name.starts_with("DH")))
}

/// What the first pass learnt: the weak blocks to drop, by line number.
#[derive(Default)]
struct Weak {
    /// Transform sets to drop: name → (line, reason).
    sets: Vec<(String, u32, Refused)>,
    /// IKE policies to drop: (header line, last line, reason).
    policies: Vec<(u32, u32, Refused)>,
}

/// First pass: find weak transform sets and IKE policies that a strong alternative makes
/// unnecessary.
fn weak_blocks(text: &str) -> Weak {
    let raw: Vec<Vec<&str>> = text
        .split('\n')
        .map(|l| l.split_whitespace().collect())
        .collect();
    let lines: Vec<Vec<String>> = raw
        .iter()
        .map(|l| l.iter().map(|w| w.to_ascii_lowercase()).collect())
        .collect();
    let mut sets: Vec<(String, u32, Option<Refused>)> = Vec::new();
    let mut refs: Vec<Vec<String>> = Vec::new();
    let mut policies: Vec<(u32, u32, Option<Refused>)> = Vec::new();
    let mut in_policy = false;
    for (idx, lw) in lines.iter().enumerate() {
        let n = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let w: Vec<&str> = lw.iter().map(String::as_str).collect();
        let Some(&first) = w.first() else { continue };
        if in_policy && ends_block(first) {
            in_policy = false;
        }
        let body = match w.as_slice() {
            ["ip", rest @ ..] if rest.first() == Some(&"crypto") => rest,
            other => other,
        };
        match body {
            ["crypto", "ipsec", "transform-set", _, ts @ ..] => {
                // The name as written (the position is the same in the raw words).
                let at = w.len() - ts.len() - 1;
                let name = raw.get(idx).and_then(|r| r.get(at)).copied().unwrap_or("");
                sets.push((name.to_string(), n, refused_word(ts)));
            }
            ["crypto", "ike", "policy", ..] => {
                in_policy = true;
                policies.push((n, n, None));
            }
            ["set", "transform-set", names @ ..] => {
                refs.push(names.iter().map(|s| s.to_string()).collect());
            }
            _ if in_policy => {
                if let Some(p) = policies.last_mut() {
                    p.1 = n;
                    let r = match body {
                        ["encryption" | "hash", alg, ..] => refused_word(&[alg]),
                        ["group", g, ..] => g.parse().ok().and_then(refused_dh_group),
                        _ => None,
                    };
                    if p.2.is_none() {
                        p.2 = r;
                    }
                }
            }
            _ => {}
        }
    }
    let strong: HashSet<&str> = sets
        .iter()
        .filter(|s| s.2.is_none())
        .map(|s| s.0.as_str())
        .collect();
    let mut weak = Weak::default();
    for (name, line, r) in &sets {
        let Some(r) = r else { continue };
        // Dropped when a strong set exists and every profile naming this set names a strong
        // one too.
        let alone = refs.iter().any(|names| {
            names.contains(name) && !names.iter().any(|n| strong.contains(n.as_str()))
        });
        if !strong.is_empty() && !alone {
            weak.sets.push((name.clone(), *line, *r));
        }
    }
    if policies.iter().any(|p| p.2.is_none()) {
        for (a, b, r) in &policies {
            if let Some(r) = r {
                weak.policies.push((*a, *b, *r));
            }
        }
    }
    weak
}

fn ike_encryption(alg: &str) -> Option<&'static str> {
    Some(match alg {
        "aes-128-cbc" | "aes" | "aes-128" => "aes 128",
        "aes-192-cbc" | "aes-192" => "aes 192",
        "aes-256-cbc" | "aes-256" => "aes 256",
        "3des" => "3des",
        "des" => "des",
        _ => return None,
    })
}

fn ends_block(first: &str) -> bool {
    matches!(
        first,
        "interface" | "ip" | "crypto" | "router" | "hostname" | "end" | "line"
    )
}

pub fn import(text: &str) -> Imported {
    let mut out = Vec::new();
    let mut warns = Vec::new();
    let mut state = State::Global;
    let mut peer: Option<String> = None;
    let weak = weak_blocks(text);
    let dropped: Vec<&str> = weak.sets.iter().map(|s| s.0.as_str()).collect();
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let words: Vec<&str> = raw.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        let lw: Vec<&str> = lower.iter().map(String::as_str).collect();
        let col = u32::try_from(raw.len() - raw.trim_start().len() + 1).unwrap_or(1);
        let at = Span::new(
            line_no,
            col,
            u32::try_from(words.first().map_or(1, |w| w.len())).unwrap_or(1),
        );
        let Some(&first) = lw.first() else {
            out.push(String::new());
            continue;
        };
        if first.starts_with('!') {
            out.push("!".to_string());
            continue;
        }
        if state != State::Global && ends_block(first) {
            state = State::Global;
        }
        if let Some((a, _, r)) = weak
            .policies
            .iter()
            .find(|p| (p.0..=p.1).contains(&line_no))
        {
            if *a == line_no {
                warns.push(Diagnostic::warning(
                    at,
                    format!(
                        "AOS `{}` dropped: {r}; a stronger IKE policy is kept",
                        words.join(" ")
                    ),
                ));
            }
            out.push("!".to_string());
            continue;
        }
        if let Some((name, _, r)) = weak.sets.iter().find(|s| s.1 == line_no) {
            warns.push(Diagnostic::warning(
                at,
                format!("transform set `{name}` dropped: {r}; a stronger transform set is offered next to it"),
            ));
            out.push("!".to_string());
            continue;
        }
        if let ["set", "transform-set", names @ ..] = lw.as_slice()
            && names
                .iter()
                .any(|n| dropped.iter().any(|d| d.eq_ignore_ascii_case(n)))
        {
            let keep: Vec<&str> = words
                .iter()
                .skip(2)
                .copied()
                .filter(|n| !dropped.iter().any(|d| d.eq_ignore_ascii_case(n)))
                .collect();
            out.push(format!(" set transform-set {}", keep.join(" ")));
            continue;
        }
        match state {
            State::IkePolicy => {
                match first {
                    "encryption" => {
                        let alg = lw.get(1).copied().unwrap_or("");
                        match ike_encryption(alg) {
                            Some(e) => out.push(format!(" encryption {e}")),
                            None => out.push(format!(" encryption {alg}")),
                        }
                    }
                    "hash" | "authentication" | "group" | "lifetime" => {
                        out.push(format!(" {}", words.join(" ")))
                    }
                    "peer" => {
                        peer = words.get(1).map(|s| s.to_string());
                        out.push("!".to_string());
                    }
                    "attribute" => out.push("!".to_string()),
                    _ => {
                        warns.push(Diagnostic::warning(
                            at,
                            format!(
                                "AOS IKE policy option `{}` not converted: dmvpn does not need it",
                                words.join(" ")
                            ),
                        ));
                        out.push("!".to_string());
                    }
                }
                continue;
            }
            State::IpsecProfile => {
                match lw.as_slice() {
                    ["set", ..] => out.push(format!(" {}", words.join(" "))),
                    ["antireplay", n] => {
                        out.push(format!(" set security-association replay window-size {n}"))
                    }
                    ["antireplay"] => out.push("!".to_string()),
                    ["no", "antireplay", ..] => {
                        out.push(" set security-association replay disable".to_string())
                    }
                    _ => {
                        warns.push(Diagnostic::warning(
                            at,
                            format!(
                                "AOS IPsec profile option `{}` not converted: dmvpn does not need it",
                                words.join(" ")
                            ),
                        ));
                        out.push("!".to_string());
                    }
                }
                continue;
            }
            State::Drop => {
                out.push("!".to_string());
                continue;
            }
            State::Global => {}
        }
        match lw.as_slice() {
            ["ip", "crypto", "ipsec", "profile", ..] | ["crypto", "ipsec", "profile", ..] => {
                state = State::IpsecProfile;
                out.push(raw.to_string());
            }
            ["crypto", "ike", "policy", n, ..] => {
                state = State::IkePolicy;
                peer = None;
                out.push(format!("crypto isakmp policy {n}"));
            }
            ["crypto", "ike", "remote-id", ..] => {
                let key = lw
                    .iter()
                    .position(|w| *w == "preshared-key")
                    .and_then(|i| words.get(i + 1));
                match key {
                    Some(k) => {
                        let addr = match &peer {
                            Some(p) => p.clone(),
                            None => "0.0.0.0 0.0.0.0".to_string(),
                        };
                        let id: Vec<&str> = words
                            .iter()
                            .skip(3)
                            .take_while(|w| !w.eq_ignore_ascii_case("preshared-key"))
                            .copied()
                            .collect();
                        warns.push(Diagnostic::warning(
                            at,
                            format!(
                                "AOS remote-id `{}` converted to a pre-shared key for address {addr}: dmvpn matches peers by address",
                                id.join(" ")
                            ),
                        ));
                        out.push(format!("crypto isakmp key {k} address {addr}"));
                    }
                    None => {
                        warns.push(Diagnostic::warning(
                            at,
                            format!("AOS `{}` not converted: no preshared-key", words.join(" ")),
                        ));
                        out.push("!".to_string());
                    }
                }
            }
            ["crypto", "ike", ..] => {
                warns.push(Diagnostic::warning(
                    at,
                    format!("AOS `{}` not converted", words.join(" ")),
                ));
                out.push("!".to_string());
            }
            ["ip", "crypto", "map", _] => {
                warns.push(Diagnostic::warning(
                    at,
                    format!("`{}` dropped: crypto maps are not supported; protect the tunnel with `tunnel protection ipsec profile`", words.join(" ")),
                ));
                out.push("!".to_string());
            }
            ["ip", "crypto", "map", ..] | ["ip", "access-list", ..] => {
                warns.push(Diagnostic::warning(
                    at,
                    format!("`{}` dropped with its block: DMVPN derives peers and traffic selectors from the tunnel", words.join(" ")),
                ));
                state = State::Drop;
                out.push("!".to_string());
            }
            _ => out.push(raw.to_string()),
        }
    }
    let converted = out.join("\n");
    let p = crate::parse(&converted);
    let mut diagnostics = warns;
    diagnostics.extend(p.diagnostics);
    for i in &p.config.interfaces {
        if i.name.contains('/') {
            diagnostics.push(Diagnostic::warning(
                Span::default(),
                format!("interface `{}` keeps its AOS name: rename it to the Linux interface name (e.g. `eth0`)", i.name),
            ));
        }
    }
    diagnostics.sort_by_key(|d| (d.span.line == 0, d.span.line, d.span.column));
    Imported {
        config: p.config,
        diagnostics,
    }
}

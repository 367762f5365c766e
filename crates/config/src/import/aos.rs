//! Adtran AOS → our dialect. AOS is close to IOS; the converter rewrites the
//! AOS-only constructs line by line (keeping line numbers, so messages point
//! into the AOS file) and lets the IOS parser do the rest:
//! `crypto ike policy` → `crypto isakmp policy`, `crypto ike remote-id …
//! preshared-key` → `crypto isakmp key`, AES names, and crypto maps and
//! access lists dropped with a warning (DMVPN uses tunnel protection).

use super::Imported;
use crate::diag::{Diagnostic, Span};

#[derive(PartialEq)]
enum State {
    Global,
    IkePolicy,
    Drop,
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
            State::Drop => {
                out.push("!".to_string());
                continue;
            }
            State::Global => {}
        }
        match lw.as_slice() {
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
                        warns.push(Diagnostic::warning(
                            at,
                            format!(
                                "AOS remote-id `{}` converted to a pre-shared key for address {addr}: dmvpn matches peers by address",
                                words.get(4).copied().unwrap_or("")
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

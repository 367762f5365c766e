//! VyOS → our dialect. Reads `set interfaces …`, `set protocols nhrp …`,
//! `set vpn ipsec …`, `set system host-name` and `set protocols static`
//! lines (seed 004), builds the equivalent IOS text (mGRE tunnel, NHRP maps
//! and NHS, IKE groups as IKEv2 proposals and policies — or ISAKMP policies for
//! IKEv1, VyOS's default key exchange —, transform-sets from ESP groups, a keyring,
//! an IKEv2 profile and an IPsec profile per VyOS profile) and parses it.
//!
//! Diagnostics of the converted text point at the VyOS line the converted line came
//! from, and quote the converted line with its keys redacted.

use super::Imported;
use crate::diag::{Diagnostic, Span};
use crate::model::Ipv4Net;

mod emit;
mod ipsec;

/// A value and the line of the VyOS file that set it.
#[derive(Clone, Debug, Default)]
struct At {
    v: String,
    line: u32,
}

#[derive(Default)]
struct Eth {
    name: String,
    addresses: Vec<String>,
    description: Option<String>,
}

#[derive(Default)]
struct Tun {
    name: String,
    address: Option<String>,
    local_ip: Option<String>,
    remote_ip: Option<String>,
    key: Option<String>,
    description: Option<String>,
    mtu: Option<String>,
    auth: Option<String>,
    holdtime: Option<String>,
    multicast_dynamic: bool,
    multicast_nhs: bool,
    redirect: bool,
    shortcut: bool,
    /// (protocol, nbma, register)
    maps: Vec<(String, Option<String>, bool)>,
}

/// One numbered proposal of an ESP or IKE group.
#[derive(Default)]
struct Proposal {
    num: u32,
    encryption: Option<At>,
    hash: Option<At>,
    dh_group: Option<At>,
    line: u32,
}

#[derive(Default)]
struct Group {
    name: String,
    proposals: Vec<Proposal>,
    lifetime: Option<At>,
    pfs: Option<At>,
    mode: Option<At>,
    key_exchange: Option<At>,
    line: u32,
}

#[derive(Default)]
struct Profile {
    name: String,
    psk: Option<At>,
    bind: Vec<String>,
    esp_group: Option<At>,
    ike_group: Option<At>,
    line: u32,
}

#[derive(Default)]
struct Vy {
    hostname: Option<String>,
    eths: Vec<Eth>,
    tuns: Vec<Tun>,
    esp: Vec<Group>,
    ike: Vec<Group>,
    profiles: Vec<Profile>,
    ipsec_ifaces: Vec<String>,
    routes: Vec<(String, String)>,
    /// The line being applied.
    line: u32,
}

fn entry<'a, T: Default>(
    v: &'a mut Vec<T>,
    name: &str,
    get: impl Fn(&T) -> &str,
    set: impl FnOnce(&mut T, String),
) -> Option<&'a mut T> {
    upsert(
        v,
        |x| get(x) == name,
        || {
            let mut t = T::default();
            set(&mut t, name.to_string());
            t
        },
    )
}

/// The element matching `pred`, pushed with `make` when absent.
fn upsert<T>(
    v: &mut Vec<T>,
    pred: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> Option<&mut T> {
    if !v.iter().any(&pred) {
        v.push(make());
    }
    v.iter_mut().find(|x| pred(x))
}

/// Split a VyOS line into words, removing single or double quotes.
fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                has = true;
            }
            None if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            None => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn tunnel_number(name: &str) -> Option<u32> {
    name.strip_prefix("tun").and_then(|n| n.parse().ok())
}

fn ios_addr(cidr: &str) -> Option<String> {
    let net: Ipv4Net = cidr.parse().ok()?;
    Some(format!("{} {}", net.addr(), net.netmask()))
}

pub fn import(text: &str) -> Imported {
    let mut vy = Vy::default();
    let mut warns = Vec::new();
    let mut source_lines = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        source_lines.push(raw.trim_end());
        let w = split(raw);
        let ws: Vec<&str> = w.iter().map(String::as_str).collect();
        let at = whole_line(line_no, raw);
        if ws.first().is_none_or(|w| w.starts_with('#')) {
            continue;
        }
        vy.line = line_no;
        let ok = apply(&mut vy, &ws);
        if !ok {
            warns.push(Diagnostic::warning(
                at,
                format!("VyOS command not converted: `{}`", raw.trim()),
            ));
        }
    }
    let out = emit::emit(&vy, &mut warns);
    // Diagnostics the emitter placed at a VyOS line cover the whole line.
    for d in &mut warns {
        if d.span.line > 0 && d.span.len == 0 {
            let raw = source_lines
                .get(usize::try_from(d.span.line).unwrap_or(0).saturating_sub(1))
                .copied()
                .unwrap_or("");
            d.span = whole_line(d.span.line, raw);
        }
    }
    let converted = out.text();
    let p = crate::parse(&converted);
    for mut d in p.diagnostics {
        let idx = usize::try_from(d.span.line).unwrap_or(0).saturating_sub(1);
        let (conv, src) = out.lines.get(idx).cloned().unwrap_or_default();
        if d.span.line > 0 {
            let conv = redact(&conv);
            if !d.message.contains(&format!("`{conv}`")) {
                d.message = format!("in converted line `{conv}`: {}", d.message);
            }
        }
        d.span = match src {
            Some(l) => whole_line(
                l,
                source_lines
                    .get(usize::try_from(l).unwrap_or(0).saturating_sub(1))
                    .copied()
                    .unwrap_or(""),
            ),
            None => Span::default(),
        };
        warns.push(d);
    }
    warns.sort_by_key(|d| (d.span.line == 0, d.span.line));
    Imported {
        config: p.config,
        diagnostics: warns,
    }
}

/// A span over a whole VyOS line.
fn whole_line(line: u32, raw: &str) -> Span {
    Span::new(
        line,
        1,
        u32::try_from(raw.trim_end().chars().count())
            .unwrap_or(1)
            .max(1),
    )
}

/// A converted line with its keys replaced by `<redacted>` (for messages).
fn redact(line: &str) -> String {
    let mut out = Vec::new();
    let mut hide = false;
    for w in line.split_whitespace() {
        if hide && !matches!(w, "local" | "remote" | "0") {
            out.push("<redacted>");
            hide = false;
            continue;
        }
        hide = matches!(w, "key" | "pre-shared-key");
        out.push(w);
    }
    out.join(" ")
}

/// Record one `set` line; false when it is not understood.
fn apply(vy: &mut Vy, ws: &[&str]) -> bool {
    match ws {
        ["set", "system", "host-name", h] => vy.hostname = Some(h.to_string()),
        ["set", "interfaces", "ethernet", n, rest @ ..] => {
            let Some(e) = entry(&mut vy.eths, n, |e| &e.name, |e, s| e.name = s) else {
                return false;
            };
            match rest {
                ["address", a] => e.addresses.push(a.to_string()),
                ["description", d @ ..] => e.description = Some(d.join(" ")),
                [] => {}
                _ => return false,
            }
        }
        ["set", "interfaces", "tunnel", n, rest @ ..] => {
            let Some(t) = entry(&mut vy.tuns, n, |t| &t.name, |t, s| t.name = s) else {
                return false;
            };
            match rest {
                ["address", a] => t.address = Some(a.to_string()),
                ["encapsulation", "gre"] | ["multicast", "enable"] | [] => {}
                ["local-ip", a] | ["source-address", a] => t.local_ip = Some(a.to_string()),
                ["remote-ip", a] | ["remote", a] => t.remote_ip = Some(a.to_string()),
                ["parameters", "ip", "key", k] => t.key = Some(k.to_string()),
                ["description", d @ ..] => t.description = Some(d.join(" ")),
                ["mtu", m] => t.mtu = Some(m.to_string()),
                _ => return false,
            }
        }
        ["set", "protocols", "nhrp", "tunnel", n, rest @ ..] => {
            let Some(t) = entry(&mut vy.tuns, n, |t| &t.name, |t, s| t.name = s) else {
                return false;
            };
            match rest {
                ["cisco-authentication", a] => t.auth = Some(a.to_string()),
                ["holding-time", h] => t.holdtime = Some(h.to_string()),
                ["multicast", "dynamic"] => t.multicast_dynamic = true,
                ["multicast", "nhs"] => t.multicast_nhs = true,
                ["redirect"] => t.redirect = true,
                ["shortcut"] => t.shortcut = true,
                ["map", p, rest @ ..] => {
                    let proto = p.split('/').next().unwrap_or(p).to_string();
                    let Some(m) = upsert(
                        &mut t.maps,
                        |m| m.0 == proto,
                        || (proto.clone(), None, false),
                    ) else {
                        return false;
                    };
                    match rest {
                        ["nbma-address", a] => m.1 = Some(a.to_string()),
                        ["register"] => m.2 = true,
                        _ => return false,
                    }
                }
                [] => {}
                _ => return false,
            }
        }
        ["set", "vpn", "ipsec", "ipsec-interfaces", "interface", i] => {
            vy.ipsec_ifaces.push(i.to_string())
        }
        [
            "set",
            "vpn",
            "ipsec",
            kind @ ("esp-group" | "ike-group"),
            n,
            rest @ ..,
        ] => {
            let line = vy.line;
            let list = if *kind == "esp-group" {
                &mut vy.esp
            } else {
                &mut vy.ike
            };
            let Some(g) = entry(list, n, |g| &g.name, |g, s| g.name = s) else {
                return false;
            };
            if g.line == 0 {
                g.line = line;
            }
            let at = |v: &str| {
                Some(At {
                    v: v.to_string(),
                    line,
                })
            };
            match rest {
                ["proposal", num, rest @ ..] => {
                    let Ok(num) = num.parse::<u32>() else {
                        return false;
                    };
                    let Some(p) = upsert(
                        &mut g.proposals,
                        |p| p.num == num,
                        || Proposal {
                            num,
                            line,
                            ..Proposal::default()
                        },
                    ) else {
                        return false;
                    };
                    match rest {
                        [] => {}
                        ["encryption", e] => p.encryption = at(e),
                        ["hash", h] => p.hash = at(h),
                        ["dh-group", d] => p.dh_group = at(d),
                        _ => return false,
                    }
                }
                ["lifetime", l] => g.lifetime = at(l),
                ["pfs", p] => g.pfs = at(p),
                ["mode", m] => g.mode = at(m),
                ["key-exchange", k] => g.key_exchange = at(k),
                [] => {}
                _ => return false,
            }
        }
        ["set", "vpn", "ipsec", "profile", n, rest @ ..] => {
            let line = vy.line;
            let Some(p) = entry(&mut vy.profiles, n, |p| &p.name, |p, s| p.name = s) else {
                return false;
            };
            if p.line == 0 {
                p.line = line;
            }
            let at = |v: &str| {
                Some(At {
                    v: v.to_string(),
                    line,
                })
            };
            match rest {
                [] | ["authentication", "mode", "pre-shared-secret"] => {}
                ["authentication", "pre-shared-secret", s] => p.psk = at(s),
                ["bind", "tunnel", t] => p.bind.push(t.to_string()),
                ["esp-group", g] => p.esp_group = at(g),
                ["ike-group", g] => p.ike_group = at(g),
                _ => return false,
            }
        }
        [
            "set",
            "protocols",
            "static",
            "route",
            prefix,
            "next-hop",
            nh,
        ] => {
            vy.routes.push((prefix.to_string(), nh.to_string()));
        }
        _ => return false,
    }
    true
}

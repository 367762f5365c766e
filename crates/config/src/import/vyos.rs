//! VyOS → our dialect. Reads `set interfaces …`, `set protocols nhrp …`,
//! `set vpn ipsec …`, `set system host-name` and `set protocols static`
//! lines (seed 004), builds the equivalent IOS text (mGRE tunnel, NHRP maps
//! and NHS, ISAKMP policies from IKE groups, transform-sets from ESP groups,
//! an IPsec profile per VyOS profile) and parses it.

use std::fmt::Write as _;

use super::Imported;
use crate::diag::{Diagnostic, Span};
use crate::model::Ipv4Net;

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

/// (number, encryption, hash, dh-group)
type Proposal = (u32, Option<String>, Option<String>, Option<String>);

#[derive(Default)]
struct Group {
    name: String,
    proposals: Vec<Proposal>,
    lifetime: Option<String>,
    pfs: Option<String>,
    mode: Option<String>,
    key_exchange: Option<String>,
}

#[derive(Default)]
struct Profile {
    name: String,
    psk: Option<String>,
    bind: Vec<String>,
    esp_group: Option<String>,
    ike_group: Option<String>,
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

fn ike_enc(e: &str) -> Option<&'static str> {
    Some(match e {
        "aes256" => "aes 256",
        "aes192" => "aes 192",
        "aes128" => "aes 128",
        "3des" => "3des",
        "des" => "des",
        _ => return None,
    })
}

fn ike_hash(h: &str) -> Option<&'static str> {
    Some(match h {
        "sha1" => "sha",
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

pub fn import(text: &str) -> Imported {
    let mut vy = Vy::default();
    let mut warns = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let w = split(raw);
        let ws: Vec<&str> = w.iter().map(String::as_str).collect();
        let at = Span::new(
            line_no,
            1,
            u32::try_from(raw.trim_end().len()).unwrap_or(1).max(1),
        );
        if ws.first().is_none_or(|w| w.starts_with('#')) {
            continue;
        }
        let ok = apply(&mut vy, &ws);
        if !ok {
            warns.push(Diagnostic::warning(
                at,
                format!("VyOS command not converted: `{}`", raw.trim()),
            ));
        }
    }
    let (text, more) = emit(&vy);
    warns.extend(more);
    let p = crate::parse(&text);
    for d in p.diagnostics {
        let (line, mut d) = (d.span.line, d);
        let src = text
            .lines()
            .nth(usize::try_from(line).unwrap_or(0).saturating_sub(1))
            .unwrap_or("")
            .trim();
        if line > 0 {
            d.message = format!("in converted line `{src}`: {}", d.message);
        }
        d.span = Span::default();
        warns.push(d);
    }
    Imported {
        config: p.config,
        diagnostics: warns,
    }
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
            let list = if *kind == "esp-group" {
                &mut vy.esp
            } else {
                &mut vy.ike
            };
            let Some(g) = entry(list, n, |g| &g.name, |g, s| g.name = s) else {
                return false;
            };
            match rest {
                ["proposal", num, rest @ ..] => {
                    let Ok(num) = num.parse::<u32>() else {
                        return false;
                    };
                    let Some(p) =
                        upsert(&mut g.proposals, |p| p.0 == num, || (num, None, None, None))
                    else {
                        return false;
                    };
                    match rest {
                        [] => {}
                        ["encryption", e] => p.1 = Some(e.to_string()),
                        ["hash", h] => p.2 = Some(h.to_string()),
                        ["dh-group", d] => p.3 = Some(d.to_string()),
                        _ => return false,
                    }
                }
                ["lifetime", l] => g.lifetime = Some(l.to_string()),
                ["pfs", p] => g.pfs = Some(p.to_string()),
                ["mode", m] => g.mode = Some(m.to_string()),
                ["key-exchange", k] => g.key_exchange = Some(k.to_string()),
                [] => {}
                _ => return false,
            }
        }
        ["set", "vpn", "ipsec", "profile", n, rest @ ..] => {
            let Some(p) = entry(&mut vy.profiles, n, |p| &p.name, |p, s| p.name = s) else {
                return false;
            };
            match rest {
                [] | ["authentication", "mode", "pre-shared-secret"] => {}
                ["authentication", "pre-shared-secret", s] => p.psk = Some(s.to_string()),
                ["bind", "tunnel", t] => p.bind.push(t.to_string()),
                ["esp-group", g] => p.esp_group = Some(g.to_string()),
                ["ike-group", g] => p.ike_group = Some(g.to_string()),
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

fn emit(vy: &Vy) -> (String, Vec<Diagnostic>) {
    let mut o = String::new();
    let mut warns = Vec::new();
    let mut warn = |m: String| warns.push(Diagnostic::warning(Span::default(), m));
    if let Some(h) = &vy.hostname {
        let _ = writeln!(o, "hostname {h}");
    }
    let mut prio = 10;
    for g in &vy.ike {
        if g.key_exchange.as_deref() == Some("ikev2") {
            warn(format!(
                "IKE group `{}` uses IKEv2: converted to ISAKMP (IKEv1) policies; review them",
                g.name
            ));
        }
        for (_, enc, hash, group) in &g.proposals {
            let _ = writeln!(o, "crypto isakmp policy {prio}");
            prio += 10;
            if let Some(e) = enc {
                match ike_enc(e) {
                    Some(x) => {
                        let _ = writeln!(o, " encryption {x}");
                    }
                    None => warn(format!(
                        "IKE group `{}`: encryption `{e}` not converted",
                        g.name
                    )),
                }
            }
            if let Some(h) = hash {
                match ike_hash(h) {
                    Some(x) => {
                        let _ = writeln!(o, " hash {x}");
                    }
                    None => warn(format!("IKE group `{}`: hash `{h}` not converted", g.name)),
                }
            }
            o.push_str(" authentication pre-share\n");
            if let Some(d) = group.as_deref().and_then(dh) {
                let _ = writeln!(o, " group {d}");
            }
            if let Some(l) = &g.lifetime {
                let _ = writeln!(o, " lifetime {l}");
            }
        }
    }
    let mut keys = Vec::new();
    for p in &vy.profiles {
        if let Some(k) = &p.psk
            && !keys.contains(k)
        {
            keys.push(k.clone());
            let _ = writeln!(o, "crypto isakmp key {k} address 0.0.0.0 0.0.0.0");
        }
    }
    for g in &vy.esp {
        for (n, enc, hash, _) in &g.proposals {
            let mut ts = Vec::new();
            if let Some(e) = enc {
                match esp_enc(e) {
                    Some(x) => ts.push(x),
                    None => warn(format!(
                        "ESP group `{}`: encryption `{e}` not converted",
                        g.name
                    )),
                }
            }
            if let Some(h) = hash {
                match esp_hash(h) {
                    Some(x) => ts.push(x),
                    None => warn(format!("ESP group `{}`: hash `{h}` not converted", g.name)),
                }
            }
            if ts.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                "crypto ipsec transform-set {}-{n} {}",
                g.name,
                ts.join(" ")
            );
            if let Some(m) = &g.mode {
                let _ = writeln!(o, " mode {m}");
            }
        }
    }
    for p in &vy.profiles {
        let _ = writeln!(o, "crypto ipsec profile {}", p.name);
        if let Some(g) = p
            .esp_group
            .as_ref()
            .and_then(|g| vy.esp.iter().find(|e| e.name == *g))
        {
            let names: Vec<String> = g
                .proposals
                .iter()
                .map(|(n, ..)| format!("{}-{n}", g.name))
                .collect();
            if !names.is_empty() {
                let _ = writeln!(o, " set transform-set {}", names.join(" "));
            }
            match g.pfs.as_deref() {
                Some("enable") => o.push_str(" set pfs\n"),
                Some("disable") | None => {}
                Some(x) => match dh(x) {
                    Some(n) => {
                        let _ = writeln!(o, " set pfs group{n}");
                    }
                    None => warn(format!("ESP group `{}`: pfs `{x}` not converted", g.name)),
                },
            }
            if let Some(l) = &g.lifetime {
                let _ = writeln!(o, " set security-association lifetime seconds {l}");
            }
        } else if let Some(g) = &p.esp_group {
            warn(format!(
                "profile `{}` names ESP group `{g}`, which is not defined",
                p.name
            ));
        }
    }
    for e in &vy.eths {
        let _ = writeln!(o, "interface {}", e.name);
        if let Some(d) = &e.description {
            let _ = writeln!(o, " description {d}");
        }
        for a in &e.addresses {
            if a == "dhcp" {
                o.push_str(" ip address dhcp\n");
            } else {
                match ios_addr(a) {
                    Some(x) => {
                        let _ = writeln!(o, " ip address {x}");
                    }
                    None => warn(format!("interface {}: address `{a}` not converted", e.name)),
                }
            }
        }
    }
    for t in &vy.tuns {
        let Some(num) = tunnel_number(&t.name) else {
            warn(format!(
                "tunnel `{}` not converted: expected a name such as tun0",
                t.name
            ));
            continue;
        };
        let _ = writeln!(o, "interface Tunnel{num}");
        if let Some(d) = &t.description {
            let _ = writeln!(o, " description {d}");
        }
        if let Some(a) = &t.address {
            match ios_addr(a) {
                Some(x) => {
                    let _ = writeln!(o, " ip address {x}");
                }
                None => warn(format!("tunnel {}: address `{a}` not converted", t.name)),
            }
        }
        if let Some(m) = &t.mtu {
            let _ = writeln!(o, " ip mtu {m}");
        }
        if let Some(a) = &t.auth {
            let _ = writeln!(o, " ip nhrp authentication {a}");
        }
        if let Some(h) = &t.holdtime {
            let _ = writeln!(o, " ip nhrp holdtime {h}");
        }
        if t.multicast_dynamic {
            o.push_str(" ip nhrp map multicast dynamic\n");
        }
        for (proto, nbma, register) in &t.maps {
            match (nbma, register) {
                (Some(n), true) => {
                    let mc = if t.multicast_nhs { " multicast" } else { "" };
                    let _ = writeln!(o, " ip nhrp nhs {proto} nbma {n}{mc}");
                }
                (Some(n), false) => {
                    let _ = writeln!(o, " ip nhrp map {proto} {n}");
                }
                (None, _) => warn(format!(
                    "tunnel {}: NHRP map {proto} has no nbma-address",
                    t.name
                )),
            }
        }
        if t.redirect {
            o.push_str(" ip nhrp redirect\n");
        }
        if t.shortcut {
            o.push_str(" ip nhrp shortcut\n");
        }
        match t.local_ip.as_deref() {
            Some("0.0.0.0") | None => {
                let dhcp_eth = vy
                    .eths
                    .iter()
                    .find(|e| e.addresses.iter().any(|a| a == "dhcp"))
                    .map(|e| e.name.clone());
                match vy.ipsec_ifaces.first().cloned().or(dhcp_eth) {
                    Some(i) => {
                        let _ = writeln!(o, " tunnel source {i}");
                    }
                    None => warn(format!(
                        "tunnel {}: no local-ip; add `tunnel source <interface>`",
                        t.name
                    )),
                }
            }
            Some(a) => {
                let _ = writeln!(o, " tunnel source {a}");
            }
        }
        match &t.remote_ip {
            Some(r) => {
                let _ = writeln!(o, " tunnel destination {r}");
                o.push_str(" tunnel mode gre ip\n");
            }
            None => o.push_str(" tunnel mode gre multipoint\n"),
        }
        if let Some(k) = &t.key {
            let _ = writeln!(o, " tunnel key {k}");
        }
        if let Some(p) = vy.profiles.iter().find(|p| p.bind.contains(&t.name)) {
            let _ = writeln!(o, " tunnel protection ipsec profile {}", p.name);
        }
    }
    for (prefix, nh) in &vy.routes {
        match prefix.parse::<Ipv4Net>() {
            Ok(net) => {
                let _ = writeln!(o, "ip route {} {} {nh}", net.addr(), net.netmask());
            }
            Err(_) => warn(format!("static route `{prefix}` not converted")),
        }
    }
    (o, warns)
}

//! The normalised writer: [`Config::to_ios_text`] prints a configuration in
//! canonical IOS form (one-space indentation, `!` between blocks, fixed
//! order: version, hostname, global switches, crypto, ignored blocks,
//! interfaces, static routes, `end`). Parsing the output again yields the same [`Config`].

use std::fmt::Write as _;

use crate::algs;
use crate::model::*;

fn mask(net: &Ipv4Net) -> String {
    format!("{} {}", net.addr(), net.netmask())
}

impl Config {
    /// The configuration as normalised IOS text.
    pub fn to_ios_text(&self) -> String {
        let mut o = String::new();
        if let Some(v) = &self.version {
            let _ = writeln!(o, "version {v}");
        }
        if let Some(h) = &self.hostname {
            let _ = writeln!(o, "hostname {h}");
        }
        match self.ip_cef {
            Some(true) => o.push_str("ip cef\n"),
            Some(false) => o.push_str("no ip cef\n"),
            None => {}
        }
        match self.ip_crypto {
            Some(true) => o.push_str("ip crypto\n"),
            Some(false) => o.push_str("no ip crypto\n"),
            None => {}
        }
        if let Some(secs) = self.logging_dmvpn_rate_limit {
            let _ = writeln!(o, "logging dmvpn rate-limit {secs}");
        }
        if !o.is_empty() {
            o.push_str("!\n");
        }
        self.write_crypto(&mut o);
        // Ignored global blocks go before the interfaces: after an interface,
        // a line such as `mpls ip` or `ip crypto map X` would belong to it.
        for b in &self.ignored {
            let _ = writeln!(o, "{}", b.command);
            for l in &b.lines {
                let _ = writeln!(o, " {l}");
            }
            o.push_str("!\n");
        }
        for i in &self.interfaces {
            write_interface(&mut o, i);
            o.push_str("!\n");
        }
        for r in &self.static_routes {
            let target = match &r.target {
                RouteTarget::NextHop(a) => a.to_string(),
                RouteTarget::Interface(i) => i.clone(),
                RouteTarget::InterfaceNextHop(i, a) => format!("{i} {a}"),
            };
            let _ = write!(o, "ip route {} {target}", mask(&r.prefix));
            if let Some(d) = r.distance {
                let _ = write!(o, " {d}");
            }
            o.push('\n');
        }
        if !self.static_routes.is_empty() {
            o.push_str("!\n");
        }
        o.push_str("end\n");
        o
    }

    fn write_crypto(&self, o: &mut String) {
        let c = &self.crypto;
        for p in &c.isakmp_policies {
            let _ = writeln!(o, "crypto isakmp policy {}", p.priority);
            if let Some(e) = p.encryption {
                let _ = writeln!(o, " encryption {}", algs::isakmp_encryption_words(e));
            }
            if let Some(h) = p.hash {
                let _ = writeln!(o, " hash {}", algs::isakmp_hash_name(h));
            }
            opt_line(o, "authentication", &p.authentication);
            opt_line(o, "group", &p.group.map(|g| g.number()));
            opt_line(o, "lifetime", &p.lifetime);
        }
        for k in &c.isakmp_keys {
            let _ = write!(
                o,
                "crypto isakmp key {} address {}",
                k.key.expose(),
                k.address
            );
            if let Some(m) = k.mask {
                let _ = write!(o, " {m}");
            }
            o.push('\n');
        }
        if !c.isakmp_policies.is_empty() || !c.isakmp_keys.is_empty() {
            o.push_str("!\n");
        }
        let l = &c.limits;
        if let Some(n) = l.call_admission_ike_sa {
            let _ = writeln!(o, "crypto call admission limit ike sa {n}");
        }
        if let Some(n) = l.max_sa {
            let _ = writeln!(o, "crypto ikev2 limit max-sa {n}");
        }
        if let Some(n) = l.max_in_negotiation_sa {
            let _ = writeln!(o, "crypto ikev2 limit max-in-negotiation-sa {n}");
        }
        if let Some(n) = l.cookie_challenge {
            let _ = writeln!(o, "crypto ikev2 cookie-challenge {n}");
        }
        for m in &c.identity_maps {
            let _ = writeln!(
                o,
                "crypto ikev2 identity-map {} {} tunnel-address {} {}",
                m.map,
                identity_match_words(&m.identity),
                m.address,
                m.mask
            );
        }
        let sa = &c.sa;
        if let Some(w) = sa.replay_window {
            let _ = writeln!(
                o,
                "crypto ipsec security-association replay window-size {w}"
            );
        }
        if let Some(s) = sa.lifetime_seconds {
            let _ = writeln!(o, "crypto ipsec security-association lifetime seconds {s}");
        }
        if let Some(k) = sa.lifetime_kilobytes {
            let _ = writeln!(
                o,
                "crypto ipsec security-association lifetime kilobytes {k}"
            );
        }
        if let Some(s) = sa.idle_time {
            let _ = writeln!(o, "crypto ipsec security-association idle-time {s}");
        }
        if *sa != GlobalSa::default() {
            o.push_str("!\n");
        }
        for k in &c.ikev2_keyrings {
            let _ = writeln!(o, "crypto ikev2 keyring {}", k.name);
            for p in &k.peers {
                write_peer(o, p);
            }
            o.push_str("!\n");
        }
        for p in &c.ikev2_proposals {
            let _ = writeln!(o, "crypto ikev2 proposal {}", p.name);
            list_line(o, "encryption", p.encryption.iter().map(|e| e.ikev2_name()));
            list_line(o, "integrity", p.integrity.iter().map(|i| i.ikev2_name()));
            list_line(o, "prf", p.prf.iter().map(|i| i.ikev2_name()));
            list_line(o, "group", p.group.iter().map(|g| g.number()));
            o.push_str("!\n");
        }
        for p in &c.ikev2_policies {
            let _ = writeln!(o, "crypto ikev2 policy {}", p.name);
            for pr in &p.proposals {
                let _ = writeln!(o, " proposal {pr}");
            }
            for a in &p.match_address_local {
                let _ = writeln!(o, " match address local {a}");
            }
            if p.match_fvrf_any {
                o.push_str(" match fvrf any\n");
            }
            o.push_str("!\n");
        }
        for p in &c.ikev2_profiles {
            write_ikev2_profile(o, p);
        }
        for t in &c.transform_sets {
            let mut words = Vec::new();
            if let Some(e) = t.encryption {
                words.push(algs::esp_encryption_words(e));
            }
            if let Some(i) = t.integrity {
                words.push(i.esp_name().to_string());
            }
            let _ = writeln!(
                o,
                "crypto ipsec transform-set {} {}",
                t.name,
                words.join(" ")
            );
            match t.mode {
                Some(IpsecMode::Tunnel) => o.push_str(" mode tunnel\n"),
                Some(IpsecMode::Transport) => o.push_str(" mode transport\n"),
                Some(IpsecMode::TransportRequire) => o.push_str(" mode transport require\n"),
                None => {}
            }
            o.push_str("!\n");
        }
        for p in &c.ipsec_profiles {
            let _ = writeln!(o, "crypto ipsec profile {}", p.name);
            if !p.transform_sets.is_empty() {
                let _ = writeln!(o, " set transform-set {}", p.transform_sets.join(" "));
            }
            match p.pfs {
                Some(Pfs::Group(g)) => {
                    let _ = writeln!(o, " set pfs group{}", g.number());
                }
                Some(Pfs::Default) => o.push_str(" set pfs\n"),
                None => {}
            }
            if let Some(s) = p.lifetime_seconds {
                let _ = writeln!(o, " set security-association lifetime seconds {s}");
            }
            if let Some(k) = p.lifetime_kilobytes {
                let _ = writeln!(o, " set security-association lifetime kilobytes {k}");
            }
            if let Some(s) = p.idle_time {
                let _ = writeln!(o, " set security-association idle-time {s}");
            }
            match p.replay {
                Some(Replay::Window(w)) => {
                    let _ = writeln!(o, " set security-association replay window-size {w}");
                }
                Some(Replay::Disabled) => {
                    o.push_str(" set security-association replay disable\n");
                }
                None => {}
            }
            if let Some(v) = &p.ikev2_profile {
                let _ = writeln!(o, " set ikev2-profile {v}");
            }
            o.push_str("!\n");
        }
    }
}

fn list_line<T: std::fmt::Display>(o: &mut String, kw: &str, items: impl Iterator<Item = T>) {
    let words: Vec<String> = items.map(|i| i.to_string()).collect();
    if !words.is_empty() {
        let _ = writeln!(o, " {kw} {}", words.join(" "));
    }
}

fn identity_words(i: &Identity) -> String {
    match i {
        Identity::Address(a) => format!("address {a}"),
        Identity::Fqdn(n) => format!("fqdn {n}"),
        Identity::Email(n) => format!("email {n}"),
    }
}

fn write_peer(o: &mut String, p: &Ikev2Peer) {
    let _ = writeln!(o, " peer {}", p.name);
    match p.address {
        Some((a, Some(m))) => {
            let _ = writeln!(o, "  address {a} {m}");
        }
        Some((a, None)) => {
            let _ = writeln!(o, "  address {a}");
        }
        None => {}
    }
    if let Some(i) = &p.identity {
        let _ = writeln!(o, "  identity {}", identity_words(i));
    }
    if let Some(k) = &p.pre_shared_key {
        let _ = writeln!(o, "  pre-shared-key {}", k.expose());
    }
    if let Some(k) = &p.pre_shared_key_local {
        let _ = writeln!(o, "  pre-shared-key local {}", k.expose());
    }
    if let Some(k) = &p.pre_shared_key_remote {
        let _ = writeln!(o, "  pre-shared-key remote {}", k.expose());
    }
}

fn auth_words(m: &AuthMethod) -> String {
    match m {
        AuthMethod::PreShare { key: Some(k) } => format!("pre-share key {}", k.expose()),
        AuthMethod::PreShare { key: None } => "pre-share".to_string(),
        AuthMethod::RsaSig => "rsa-sig".to_string(),
        AuthMethod::EcdsaSig => "ecdsa-sig".to_string(),
    }
}

/// The words of an IKE identity match (`address A [MASK]`, `fqdn [domain] NAME`, …).
fn identity_match_words(m: &IdentityMatch) -> String {
    match m {
        IdentityMatch::Address {
            address,
            mask: Some(mask),
        } => format!("address {address} {mask}"),
        IdentityMatch::Address {
            address,
            mask: None,
        } => format!("address {address}"),
        IdentityMatch::Fqdn { domain, name } | IdentityMatch::Email { domain, name } => {
            let kind = if matches!(m, IdentityMatch::Fqdn { .. }) {
                "fqdn"
            } else {
                "email"
            };
            let dom = if *domain { "domain " } else { "" };
            format!("{kind} {dom}{name}")
        }
    }
}

fn write_ikev2_profile(o: &mut String, p: &Ikev2Profile) {
    let _ = writeln!(o, "crypto ikev2 profile {}", p.name);
    for m in &p.match_identity_remote {
        let words = identity_match_words(m);
        let _ = writeln!(o, " match identity remote {words}");
    }
    if p.match_fvrf_any {
        o.push_str(" match fvrf any\n");
    }
    if let Some(i) = &p.identity_local {
        let _ = writeln!(o, " identity local {}", identity_words(i));
    }
    for a in &p.authentication_remote {
        let _ = writeln!(o, " authentication remote {}", auth_words(a));
    }
    if let Some(a) = &p.authentication_local {
        let _ = writeln!(o, " authentication local {}", auth_words(a));
    }
    if let Some(k) = &p.keyring {
        let _ = writeln!(o, " keyring local {k}");
    }
    opt_line(o, "lifetime", &p.lifetime);
    if let Some(d) = &p.dpd {
        let kind = if d.periodic { "periodic" } else { "on-demand" };
        let _ = writeln!(o, " dpd {} {} {kind}", d.interval, d.retry);
    }
    opt_line(o, "nat keepalive", &p.nat_keepalive);
    o.push_str("!\n");
}

fn opt_line<T: std::fmt::Display>(o: &mut String, kw: &str, v: &Option<T>) {
    if let Some(v) = v {
        let _ = writeln!(o, " {kw} {v}");
    }
}

fn write_interface(o: &mut String, i: &Interface) {
    let _ = writeln!(o, "interface {}", i.name);
    opt_line(o, "description", &i.description);
    opt_line(o, "ip vrf forwarding", &i.vrf);
    match &i.address {
        Some(InterfaceAddress::Static(n)) => {
            let _ = writeln!(o, " ip address {}", mask(n));
        }
        Some(InterfaceAddress::Dhcp { hostname: Some(h) }) => {
            let _ = writeln!(o, " ip address dhcp hostname {h}");
        }
        Some(InterfaceAddress::Dhcp { hostname: None }) => o.push_str(" ip address dhcp\n"),
        None => {}
    }
    for s in &i.secondary_addresses {
        let _ = writeln!(o, " ip address {} secondary", mask(s));
    }
    opt_line(o, "ip mtu", &i.mtu);
    opt_line(o, "ip tcp adjust-mss", &i.tcp_adjust_mss);
    opt_line(o, "bandwidth", &i.bandwidth);
    opt_line(o, "delay", &i.delay);
    if let Some(t) = &i.tunnel {
        write_nhrp(o, &t.nhrp);
        match &t.source {
            Some(TunnelSource::Interface(n)) => {
                let _ = writeln!(o, " tunnel source {n}");
            }
            Some(TunnelSource::Address(a)) => {
                let _ = writeln!(o, " tunnel source {a}");
            }
            None => {}
        }
        opt_line(o, "tunnel destination", &t.destination);
        match t.mode {
            TunnelMode::GreMultipoint => o.push_str(" tunnel mode gre multipoint\n"),
            TunnelMode::GreIp => o.push_str(" tunnel mode gre ip\n"),
        }
        opt_line(o, "tunnel key", &t.key);
        if let Some(p) = &t.protection {
            let shared = if p.shared { " shared" } else { "" };
            let _ = writeln!(o, " tunnel protection ipsec profile {}{shared}", p.profile);
        }
    }
    for l in &i.ignored {
        let _ = writeln!(o, " {l}");
    }
    if i.shutdown {
        o.push_str(" shutdown\n");
    }
}

fn write_nhrp(o: &mut String, n: &Nhrp) {
    opt_line(o, "ip nhrp authentication", &n.authentication);
    opt_line(o, "ip nhrp network-id", &n.network_id);
    opt_line(o, "ip nhrp holdtime", &n.holdtime);
    for m in &n.maps {
        let _ = writeln!(o, " ip nhrp map {} {}", m.protocol, m.nbma);
    }
    for m in &n.multicast {
        match m {
            MulticastMap::Dynamic => o.push_str(" ip nhrp map multicast dynamic\n"),
            MulticastMap::Nbma(a) => {
                let _ = writeln!(o, " ip nhrp map multicast {a}");
            }
        }
    }
    for e in &n.nhs {
        match e.protocol {
            NhsAddress::Address(a) => {
                let _ = write!(o, " ip nhrp nhs {a}");
            }
            NhsAddress::Dynamic => o.push_str(" ip nhrp nhs dynamic"),
        }
        if let Some(a) = e.nbma {
            let _ = write!(o, " nbma {a}");
        }
        if e.multicast {
            o.push_str(" multicast");
        }
        if let Some(p) = e.priority {
            let _ = write!(o, " priority {p}");
        }
        if let Some(c) = e.cluster {
            let _ = write!(o, " cluster {c}");
        }
        o.push('\n');
    }
    opt_line(o, "ip nhrp registration timeout", &n.registration_timeout);
    if n.registration_no_unique {
        o.push_str(" ip nhrp registration no-unique\n");
    }
    if !n.record {
        o.push_str(" no ip nhrp record\n");
    }
    if n.redirect {
        o.push_str(" ip nhrp redirect\n");
    }
    if n.shortcut {
        o.push_str(" ip nhrp shortcut\n");
    }
    if let Some(m) = n.max_send {
        let _ = writeln!(o, " ip nhrp max-send {} every {}", m.packets, m.every_secs);
    }
    if let Some(m) = &n.identity_map {
        let _ = writeln!(o, " ip nhrp identity-map {m}");
    }
}

//! The normalised writer: [`Config::to_ios_text`] prints a configuration in
//! canonical IOS form (one-space indentation, `!` between blocks, fixed
//! order: version, hostname, global switches, crypto, ignored blocks,
//! interfaces, static routes, `end`). Parsing the output again yields the same [`Config`].

use std::fmt::Write as _;

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
            opt_line(o, "encryption", &p.encryption);
            opt_line(o, "hash", &p.hash);
            opt_line(o, "authentication", &p.authentication);
            opt_line(o, "group", &p.group);
            opt_line(o, "lifetime", &p.lifetime);
        }
        for k in &c.isakmp_keys {
            let _ = write!(o, "crypto isakmp key {} address {}", k.key, k.address);
            if let Some(m) = k.mask {
                let _ = write!(o, " {m}");
            }
            o.push('\n');
        }
        if !c.isakmp_policies.is_empty() || !c.isakmp_keys.is_empty() {
            o.push_str("!\n");
        }
        for k in &c.ikev2_keyrings {
            let _ = writeln!(o, "crypto ikev2 keyring {}", k.name);
            for p in &k.peers {
                let _ = writeln!(o, " peer {}", p.name);
                if let Some((a, m)) = p.address {
                    match m {
                        Some(m) => {
                            let _ = writeln!(o, "  address {a} {m}");
                        }
                        None => {
                            let _ = writeln!(o, "  address {a}");
                        }
                    }
                }
                if let Some(k) = &p.pre_shared_key {
                    let _ = writeln!(o, "  pre-shared-key {k}");
                }
            }
            o.push_str("!\n");
        }
        for p in &c.ikev2_proposals {
            let _ = writeln!(o, "crypto ikev2 proposal {}", p.name);
            if !p.encryption.is_empty() {
                let _ = writeln!(o, " encryption {}", p.encryption.join(" "));
            }
            if !p.integrity.is_empty() {
                let _ = writeln!(o, " integrity {}", p.integrity.join(" "));
            }
            if !p.group.is_empty() {
                let g: Vec<String> = p.group.iter().map(u8::to_string).collect();
                let _ = writeln!(o, " group {}", g.join(" "));
            }
            o.push_str("!\n");
        }
        for p in &c.ikev2_policies {
            let _ = writeln!(o, "crypto ikev2 policy {}", p.name);
            for pr in &p.proposals {
                let _ = writeln!(o, " proposal {pr}");
            }
            o.push_str("!\n");
        }
        for p in &c.ikev2_profiles {
            let _ = writeln!(o, "crypto ikev2 profile {}", p.name);
            for m in &p.match_identity_remote {
                let _ = writeln!(o, " match identity remote {m}");
            }
            if let Some(i) = &p.identity_local {
                let _ = writeln!(o, " identity local {i}");
            }
            if let Some(a) = &p.authentication_remote {
                let _ = writeln!(o, " authentication remote {a}");
            }
            if let Some(a) = &p.authentication_local {
                let _ = writeln!(o, " authentication local {a}");
            }
            if let Some(k) = &p.keyring {
                let _ = writeln!(o, " keyring local {k}");
            }
            opt_line(o, "lifetime", &p.lifetime);
            if let Some(d) = &p.dpd {
                let kind = if d.periodic { "periodic" } else { "on-demand" };
                let _ = writeln!(o, " dpd {} {} {kind}", d.interval, d.retry);
            }
            o.push_str("!\n");
        }
        for t in &c.transform_sets {
            let _ = writeln!(
                o,
                "crypto ipsec transform-set {} {}",
                t.name,
                t.transforms.join(" ")
            );
            match t.mode {
                Some(IpsecMode::Tunnel) => o.push_str(" mode tunnel\n"),
                Some(IpsecMode::Transport) => o.push_str(" mode transport\n"),
                None => {}
            }
            o.push_str("!\n");
        }
        for p in &c.ipsec_profiles {
            let _ = writeln!(o, "crypto ipsec profile {}", p.name);
            if !p.transform_sets.is_empty() {
                let _ = writeln!(o, " set transform-set {}", p.transform_sets.join(" "));
            }
            match &p.pfs {
                Some(Some(g)) => {
                    let _ = writeln!(o, " set pfs {g}");
                }
                Some(None) => o.push_str(" set pfs\n"),
                None => {}
            }
            if let Some(s) = p.lifetime_seconds {
                let _ = writeln!(o, " set security-association lifetime seconds {s}");
            }
            if let Some(k) = p.lifetime_kilobytes {
                let _ = writeln!(o, " set security-association lifetime kilobytes {k}");
            }
            if let Some(v) = &p.ikev2_profile {
                let _ = writeln!(o, " set ikev2-profile {v}");
            }
            o.push_str("!\n");
        }
    }
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
}

//! Writing the converted configuration: [`Out`] collects IOS lines together with the VyOS
//! line each came from; [`emit`] writes the host name, the IPsec blocks (see
//! [`super::ipsec`]), the interfaces, the tunnels and the static routes.

use super::{Vy, ios_addr, tunnel_number};
use crate::diag::{Diagnostic, Span};
use crate::model::Ipv4Net;

/// The converted text, line by line, with the VyOS line each came from.
#[derive(Default)]
pub(super) struct Out {
    pub lines: Vec<(String, Option<u32>)>,
}

impl Out {
    pub fn push(&mut self, src: Option<u32>, line: impl Into<String>) {
        self.lines.push((line.into(), src));
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        for (l, _) in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

/// A conversion warning at a VyOS line (`None`: no position).
pub(super) fn warn(warns: &mut Vec<Diagnostic>, message: String) {
    warns.push(Diagnostic::warning(Span::default(), message));
}

/// A diagnostic at a VyOS line; [`super::import`] widens the span to the whole line.
pub(super) fn at_line(line: u32) -> Span {
    Span::new(line, 1, 0)
}

pub(super) fn emit(vy: &Vy, warns: &mut Vec<Diagnostic>) -> Out {
    let mut o = Out::default();
    if let Some(h) = &vy.hostname {
        o.push(None, format!("hostname {h}"));
    }
    super::ipsec::emit(vy, &mut o, warns);
    for e in &vy.eths {
        o.push(None, format!("interface {}", e.name));
        if let Some(d) = &e.description {
            o.push(None, format!(" description {d}"));
        }
        for a in &e.addresses {
            if a == "dhcp" {
                o.push(None, " ip address dhcp");
            } else {
                match ios_addr(a) {
                    Some(x) => {
                        o.push(None, format!(" ip address {x}"));
                    }
                    None => warn(
                        &mut *warns,
                        format!("interface {}: address `{a}` not converted", e.name),
                    ),
                }
            }
        }
    }
    for t in &vy.tuns {
        let Some(num) = tunnel_number(&t.name) else {
            warn(
                &mut *warns,
                format!(
                    "tunnel `{}` not converted: expected a name such as tun0",
                    t.name
                ),
            );
            continue;
        };
        o.push(None, format!("interface Tunnel{num}"));
        if let Some(d) = &t.description {
            o.push(None, format!(" description {d}"));
        }
        if let Some(a) = &t.address {
            match ios_addr(a) {
                Some(x) => {
                    o.push(None, format!(" ip address {x}"));
                }
                None => warn(
                    &mut *warns,
                    format!("tunnel {}: address `{a}` not converted", t.name),
                ),
            }
        }
        if let Some(m) = &t.mtu {
            o.push(None, format!(" ip mtu {m}"));
        }
        if let Some(a) = &t.auth {
            o.push(None, format!(" ip nhrp authentication {a}"));
        }
        if let Some(h) = &t.holdtime {
            o.push(None, format!(" ip nhrp holdtime {h}"));
        }
        if t.multicast_dynamic {
            o.push(None, " ip nhrp map multicast dynamic");
        }
        for (proto, nbma, register) in &t.maps {
            match (nbma, register) {
                (Some(n), true) => {
                    let mc = if t.multicast_nhs { " multicast" } else { "" };
                    o.push(None, format!(" ip nhrp nhs {proto} nbma {n}{mc}"));
                }
                (Some(n), false) => {
                    o.push(None, format!(" ip nhrp map {proto} {n}"));
                }
                (None, _) => warn(
                    &mut *warns,
                    format!("tunnel {}: NHRP map {proto} has no nbma-address", t.name),
                ),
            }
        }
        if t.redirect {
            o.push(None, " ip nhrp redirect");
        }
        if t.shortcut {
            o.push(None, " ip nhrp shortcut");
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
                        o.push(None, format!(" tunnel source {i}"));
                    }
                    None => warn(
                        &mut *warns,
                        format!(
                            "tunnel {}: no local-ip; add `tunnel source <interface>`",
                            t.name
                        ),
                    ),
                }
            }
            Some(a) => {
                o.push(None, format!(" tunnel source {a}"));
            }
        }
        match &t.remote_ip {
            Some(r) => {
                o.push(None, format!(" tunnel destination {r}"));
                o.push(None, " tunnel mode gre ip");
            }
            None => o.push(None, " tunnel mode gre multipoint"),
        }
        if let Some(k) = &t.key {
            o.push(None, format!(" tunnel key {k}"));
        }
        if let Some(p) = vy.profiles.iter().find(|p| p.bind.contains(&t.name)) {
            o.push(
                Some(p.line),
                format!(" tunnel protection ipsec profile {}", p.name),
            );
        }
    }
    for (prefix, nh) in &vy.routes {
        match prefix.parse::<Ipv4Net>() {
            Ok(net) => {
                o.push(
                    None,
                    format!("ip route {} {} {nh}", net.addr(), net.netmask()),
                );
            }
            Err(_) => warn(
                &mut *warns,
                format!("static route `{prefix}` not converted"),
            ),
        }
    }
    o
}

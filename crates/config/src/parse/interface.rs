//! Interface blocks: the `interface` header (IOS and AOS forms), addresses, `tunnel …`
//! and `ip nhrp …` lines.

use super::*;

impl Parser {
    pub(super) fn interface_header(&mut self, line: &Line) -> PResult<()> {
        let mut a = Args::new(line, 1);
        let (raw, span) = match a.interface_name("an interface name") {
            Ok(x) => x,
            Err(d) => return self.swallow(line, d),
        };
        let is_tunnel_like = raw.to_ascii_lowercase().starts_with("tunnel");
        let number = if is_tunnel_like {
            match normalise_tunnel_name(&raw) {
                Some(n) => n.get(6..).and_then(|s| s.parse::<u32>().ok()),
                None => {
                    return self.swallow(
                        line,
                        Diagnostic::error(
                            span,
                            format!(
                                "`{raw}` is not a valid tunnel interface name: expected `Tunnel` followed by a number from 0 to 2147483647{}",
                                tunnel_name_hint(&raw)
                            ),
                        ),
                    );
                }
            }
        } else {
            None
        };
        // AOS: `interface tunnel 1 gre ip` / `multipoint-gre ip`.
        let mut mode = None;
        if number.is_some() && !a.is_done() {
            let m = match a.keyword(&["gre", "multipoint-gre"]) {
                Ok(m) => m,
                Err(d) => return self.swallow(line, d),
            };
            if let Err(d) = a.keyword(&["ip"]) {
                return self.swallow(line, d);
            }
            mode = Some(if m == "gre" {
                TunnelMode::GreIp
            } else {
                TunnelMode::GreMultipoint
            });
        }
        if let Err(d) = a.end() {
            return self.swallow(line, d);
        }
        let idx = match self
            .cfg
            .interfaces
            .iter()
            .position(|i| i.name.eq_ignore_ascii_case(&raw))
        {
            Some(i) => i,
            None => {
                self.cfg.interfaces.push(Interface {
                    name: raw.clone(),
                    tunnel: number.map(|n| Tunnel {
                        number: n,
                        ..Tunnel::default()
                    }),
                    ..Interface::default()
                });
                self.spans.interfaces.entry(raw.clone()).or_default().header = span;
                self.cfg.interfaces.len() - 1
            }
        };
        if let (Some(m), Some(Some(t))) = (
            mode,
            self.cfg.interfaces.get_mut(idx).map(|i| i.tunnel.as_mut()),
        ) {
            t.mode = m;
        }
        self.push(Mode::Interface(idx), line);
        Ok(())
    }

    pub(super) fn interface_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, ws) = words(line);
        let off = usize::from(neg);
        let mut a = Args::new(line, off + 1);
        let Some(iface) = self.cfg.interfaces.get_mut(idx) else {
            return Ok(());
        };
        let name = iface.name.clone();
        let first = line.tokens.get(off).map(|t| t.span).unwrap_or_default();
        match w(&ws, 0) {
            "description" => {
                iface.description = if neg {
                    None
                } else {
                    Some(a.rest("a description")?)
                };
            }
            "shutdown" => {
                a.end()?;
                iface.shutdown = !neg;
            }
            "bandwidth" => {
                iface.bandwidth = if neg {
                    None
                } else {
                    Some(a.number("bandwidth (kbit/s)", 1, 10_000_000)?.0)
                };
                a.end()?;
            }
            "delay" => {
                iface.delay = if neg {
                    None
                } else {
                    Some(a.number("delay (tens of µs)", 1, 16_777_215)?.0)
                };
                a.end()?;
            }
            "tunnel" => {
                if iface.tunnel.is_none() {
                    return Err(Diagnostic::error(
                        first,
                        format!(
                            "`tunnel` commands are only valid on `Tunnel<n>` interfaces, not on `{name}`"
                        ),
                    ));
                }
                return self.tunnel_line(idx, neg, &mut a);
            }
            "ip" => {
                let sub = w(&ws, 1);
                a.pos += 1;
                match sub {
                    "address" => {
                        let sp = line.tokens.get(off + 1).map(|t| t.span).unwrap_or(first);
                        self.spans
                            .interfaces
                            .entry(name.clone())
                            .or_default()
                            .address = sp;
                        return address_line(iface, neg, &mut a);
                    }
                    "mtu" => {
                        iface.mtu = if neg {
                            None
                        } else {
                            Some(a.number("MTU", 68, 65535)?.0)
                        };
                        a.end()?;
                    }
                    "tcp" => {
                        a.keyword(&["adjust-mss"])?;
                        iface.tcp_adjust_mss = if neg {
                            None
                        } else {
                            Some(a.number("TCP MSS", 500, 1460)?.0)
                        };
                        a.end()?;
                    }
                    "vrf" => {
                        a.keyword(&["forwarding"])?;
                        if neg {
                            iface.vrf = None;
                        } else {
                            iface.vrf = Some(a.word("a VRF name")?.text.clone());
                            a.end()?;
                        }
                    }
                    "nhrp" => {
                        if iface.tunnel.is_none() {
                            return Err(Diagnostic::error(
                                first,
                                format!(
                                    "`ip nhrp` is only valid on `Tunnel<n>` interfaces, not on `{name}`"
                                ),
                            ));
                        }
                        return self.nhrp_line(idx, neg, &mut a);
                    }
                    s if ROUTING_IP_IF.contains(&s) => {
                        iface.ignored.push(line.text());
                        self.diags.push(Diagnostic::warning(
                            first,
                            format!(
                                "`{}` ignored: dmvpn does not run routing protocols; configure your routing daemon",
                                line.text()
                            ),
                        ));
                    }
                    s if OTHER_IP_IF.contains(&s) || (s == "crypto" && w(&ws, 2) == "map") => {
                        iface.ignored.push(line.text());
                        self.diags.push(Diagnostic::warning(
                            first,
                            format!("`{}` ignored: not a DMVPN setting", line.text()),
                        ));
                    }
                    s => {
                        let tok = line.tokens.get(off + 1);
                        let sp = tok.map(|t| t.span).unwrap_or(line.end_span());
                        let txt = tok.map(|t| t.text.as_str()).unwrap_or("");
                        return Err(Diagnostic::error(
                            sp,
                            format!(
                                "unknown interface command `ip {s}`: expected one of `ip address`, `ip mtu`, `ip tcp adjust-mss`, `ip nhrp`, `ip vrf forwarding`{}",
                                did_you_mean(txt, IF_IP_CORE.iter().copied())
                            ),
                        ));
                    }
                }
            }
            s if IF_IGNORED.contains(&s) => {
                iface.ignored.push(line.text());
                self.diags.push(Diagnostic::warning(
                    first,
                    format!("`{}` ignored: not a DMVPN setting", line.text()),
                ));
            }
            s => {
                let tok = line.tokens.get(off).map(|t| t.text.as_str()).unwrap_or(s);
                let mut cands: Vec<&str> = IF_CORE.to_vec();
                cands.extend_from_slice(NHRP_WORDS);
                return Err(Diagnostic::error(
                    first,
                    format!(
                        "unknown interface command `{tok}`: expected one of `ip`, `tunnel`, `description`, `shutdown`, `bandwidth`, `delay`{}",
                        did_you_mean(tok, cands)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn tunnel_line(&mut self, idx: usize, neg: bool, a: &mut Args<'_>) -> PResult<()> {
        let kw = a.keyword(&["source", "destination", "mode", "key", "protection"])?;
        let Some(iface) = self.cfg.interfaces.get_mut(idx) else {
            return Ok(());
        };
        let spans = self.spans.interfaces.entry(iface.name.clone()).or_default();
        let Some(t) = iface.tunnel.as_mut() else {
            return Ok(());
        };
        match kw {
            "source" => {
                if neg {
                    t.source = None;
                    return Ok(());
                }
                if a.peek_is_ipv4() {
                    let (ip, sp) = a.ipv4("tunnel source address")?;
                    spans.source = sp;
                    t.source = Some(TunnelSource::Address(ip));
                } else {
                    let (name, sp) = a.interface_name("an interface name or IPv4 address")?;
                    if name.starts_with("Tunnel") {
                        return Err(Diagnostic::error(
                            sp,
                            format!(
                                "a tunnel cannot use `{name}` as its source: expected a physical interface such as `eth0`"
                            ),
                        ));
                    }
                    if name.len() > 15 || name.contains('/') {
                        self.diags.push(Diagnostic::warning(
                            sp,
                            format!(
                                "`{name}` is not a Linux interface name (at most 15 characters, no `/`): the daemon needs the kernel name, e.g. `eth0`"
                            ),
                        ));
                    }
                    spans.source = sp;
                    t.source = Some(TunnelSource::Interface(name));
                }
            }
            "destination" => {
                if neg {
                    t.destination = None;
                    return Ok(());
                }
                let (ip, sp) = a.ipv4("tunnel destination")?;
                spans.destination = sp;
                t.destination = Some(ip);
            }
            "mode" => {
                if neg {
                    t.mode = TunnelMode::GreIp;
                    return Ok(());
                }
                a.keyword(&["gre"])?;
                t.mode = if a.is_done() || a.keyword(&["multipoint", "ip"])? == "ip" {
                    TunnelMode::GreIp
                } else {
                    TunnelMode::GreMultipoint
                };
            }
            "key" => {
                if neg {
                    t.key = None;
                    return Ok(());
                }
                let (k, sp) = a.number("tunnel key", 0, 4_294_967_295)?;
                spans.key = sp;
                t.key = Some(k);
            }
            _ => {
                if neg {
                    t.protection = None;
                    return Ok(());
                }
                a.keyword(&["ipsec"])?;
                a.keyword(&["profile"])?;
                let name = a.word("an IPsec profile name")?;
                spans.protection = name.span;
                let shared = a.opt_keyword(&["shared"]).is_some();
                t.protection = Some(TunnelProtection {
                    profile: name.text.clone(),
                    shared,
                });
            }
        }
        a.end()
    }

    fn nhrp_line(&mut self, idx: usize, neg: bool, a: &mut Args<'_>) -> PResult<()> {
        let kw = a.keyword(NHRP_WORDS)?;
        let Some(iface) = self.cfg.interfaces.get_mut(idx) else {
            return Ok(());
        };
        let spans = self.spans.interfaces.entry(iface.name.clone()).or_default();
        let Some(t) = iface.tunnel.as_mut() else {
            return Ok(());
        };
        let n = &mut t.nhrp;
        match kw {
            "authentication" => {
                if neg {
                    n.authentication = None;
                    return Ok(());
                }
                let tok = a.word("an authentication string (at most 8 characters)")?;
                let len = tok.text.chars().count();
                if len > 8 {
                    return Err(Diagnostic::error(
                        tok.span,
                        format!(
                            "NHRP authentication string `{}` is {len} characters long: expected at most 8",
                            tok.text
                        ),
                    ));
                }
                n.authentication = Some(tok.text.clone());
            }
            "holdtime" => {
                if neg {
                    n.holdtime = None;
                    return Ok(());
                }
                let (v, sp) = a.number("NHRP holdtime (seconds)", 1, 65535)?;
                spans.holdtime = sp;
                n.holdtime = Some(v);
            }
            "network-id" => {
                n.network_id = if neg {
                    None
                } else {
                    Some(a.number("NHRP network-id", 1, 4_294_967_295)?.0)
                };
            }
            "map" | "multicast" => {
                let multicast = kw == "multicast" || a.opt_keyword(&["multicast"]).is_some();
                if multicast {
                    if neg && a.is_done() {
                        n.multicast.clear();
                        return Ok(());
                    }
                    let m = if a.opt_keyword(&["dynamic"]).is_some() {
                        MulticastMap::Dynamic
                    } else {
                        let (ip, sp) = a.ipv4("multicast NBMA address (or `dynamic`)")?;
                        spans.nbma.push((ip, sp));
                        MulticastMap::Nbma(ip)
                    };
                    if neg {
                        n.multicast.retain(|x| *x != m);
                    } else if !n.multicast.contains(&m) {
                        n.multicast.push(m);
                    }
                } else {
                    let (protocol, _) = a.ipv4("protocol (tunnel) address")?;
                    if neg && a.is_done() {
                        n.maps.retain(|m| m.protocol != protocol);
                        return Ok(());
                    }
                    let (nbma, sp) = a.ipv4("NBMA address")?;
                    let m = NhrpMap { protocol, nbma };
                    if neg {
                        n.maps.retain(|x| *x != m);
                    } else {
                        spans.nbma.push((nbma, sp));
                        if !n.maps.contains(&m) {
                            n.maps.push(m);
                        }
                    }
                }
            }
            "nhs" => {
                if neg && a.is_done() {
                    n.nhs.clear();
                    return Ok(());
                }
                let (protocol, psp) = if a.opt_keyword(&["dynamic"]).is_some() {
                    (
                        NhsAddress::Dynamic,
                        a.line
                            .tokens
                            .get(a.pos.saturating_sub(1))
                            .map(|t| t.span)
                            .unwrap_or_default(),
                    )
                } else {
                    let (ip, sp) = a.ipv4("NHS tunnel address (or `dynamic`)")?;
                    (NhsAddress::Address(ip), sp)
                };
                if neg {
                    n.nhs.retain(|e| e.protocol != protocol);
                    return Ok(());
                }
                let mut e = NhsEntry {
                    protocol,
                    nbma: None,
                    multicast: false,
                    priority: None,
                    cluster: None,
                };
                while !a.is_done() {
                    match a.keyword(&["nbma", "multicast", "priority", "cluster"])? {
                        "nbma" => {
                            let (ip, sp) = a.ipv4("NHS NBMA address")?;
                            spans.nbma.push((ip, sp));
                            e.nbma = Some(ip);
                        }
                        "multicast" => e.multicast = true,
                        "priority" => e.priority = Some(a.number("NHS priority", 0, 255)?.0),
                        _ => e.cluster = Some(a.number("NHS cluster", 0, 10)?.0),
                    }
                }
                if protocol == NhsAddress::Dynamic && e.nbma.is_none() {
                    return Err(Diagnostic::error(
                        psp,
                        "`ip nhrp nhs dynamic` needs the hub's NBMA address: expected `ip nhrp nhs dynamic nbma <address>`",
                    ));
                }
                spans.nhs.retain(|(p, _)| *p != protocol);
                spans.nhs.push((protocol, psp));
                match n.nhs.iter_mut().find(|x| x.protocol == protocol) {
                    Some(x) => *x = e,
                    None => n.nhs.push(e),
                }
            }
            "registration" => match a.keyword(&["timeout", "no-unique", "non-unique"])? {
                "timeout" => {
                    if neg {
                        n.registration_timeout = None;
                        return Ok(());
                    }
                    let (v, sp) = a.number("NHRP registration timeout (seconds)", 1, 65535)?;
                    spans.registration_timeout = sp;
                    n.registration_timeout = Some(v);
                }
                _ => n.registration_no_unique = !neg,
            },
            "record" => n.record = !neg,
            "redirect" => n.redirect = !neg,
            "shortcut" => n.shortcut = !neg,
            "identity-map" => {
                if neg {
                    n.identity_map = None;
                    return Ok(());
                }
                let tok = a.word("an identity map name")?;
                spans.identity_map = tok.span;
                n.identity_map = Some(tok.text.clone());
                return a.end();
            }
            _ => {
                if neg {
                    n.max_send = None;
                    return Ok(());
                }
                let (packets, _) = a.number("max-send packet count", 1, 65535)?;
                a.keyword(&["every"])?;
                let (every_secs, _) = a.number("max-send interval (seconds)", 10, 65535)?;
                n.max_send = Some(MaxSend {
                    packets,
                    every_secs,
                });
            }
        }
        a.end()
    }
}

fn address_line(iface: &mut Interface, neg: bool, a: &mut Args<'_>) -> PResult<()> {
    if neg {
        iface.address = None;
        iface.secondary_addresses.clear();
        return Ok(());
    }
    if a.opt_keyword(&["dhcp"]).is_some() {
        let hostname = if a.opt_keyword(&["hostname"]).is_some() {
            Some(a.word("a DHCP host name")?.text.clone())
        } else {
            None
        };
        iface.address = Some(InterfaceAddress::Dhcp { hostname });
        return a.end();
    }
    let start = a.peek().map(|t| t.span);
    let net = prefix_arg(a, false)?;
    if net.prefix_len() < 31 && (net.addr() == net.network() || net.addr() == net.broadcast()) {
        return Err(Diagnostic::error(
            start.unwrap_or_default(),
            format!(
                "{} is the network or broadcast address of {}: expected a host address",
                net.addr(),
                net.trunc()
            ),
        ));
    }
    if a.opt_keyword(&["secondary"]).is_some() {
        if !iface.secondary_addresses.contains(&net) {
            iface.secondary_addresses.push(net);
        }
    } else {
        iface.address = Some(InterfaceAddress::Static(net));
    }
    a.end()
}

/// `Tunnell` → "; did you mean `Tunnel1`?" (letters that look like digits).
fn tunnel_name_hint(raw: &str) -> String {
    let rest: String = raw
        .get(6..)
        .unwrap_or("")
        .chars()
        .map(|c| match c {
            'l' | 'I' | 'i' | '|' => '1',
            'O' | 'o' => '0',
            c => c,
        })
        .collect();
    match normalise_tunnel_name(&format!("Tunnel{rest}")) {
        Some(n) => format!("; did you mean `{n}`?"),
        None => " (e.g. `Tunnel1`)".to_string(),
    }
}

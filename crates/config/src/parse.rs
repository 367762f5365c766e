//! Stage two of the parser: attribute each tokenized line to a configuration
//! mode (global, interface, crypto sub-modes, ignored blocks) and run the
//! per-command parser, filling the [`Config`] model and a [`SpanIndex`] that
//! remembers where things were written for the validation messages.
//!
//! Mode tracking follows IOS, whatever the indentation (AOS and pasted
//! configurations are not indented): a line stays in the current block
//! unless it is a global command the block does not claim, in which case the
//! parser falls back to the parent modes and finally the global mode.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::args::{Args, PResult};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::lexer::{Line, tokenize};
use crate::model::*;
use crate::names::normalise_tunnel_name;

/// Where the parts of a configuration were written; used by validation.
#[derive(Clone, Debug, Default)]
pub struct SpanIndex {
    /// Per interface (normalised name).
    pub interfaces: HashMap<String, InterfaceSpans>,
    /// (profile, transform-set, span) for each `set transform-set` reference.
    pub transform_set_refs: Vec<(String, String, Span)>,
    /// (profile, ikev2 profile, span) for `set ikev2-profile`.
    pub ikev2_profile_refs: Vec<(String, String, Span)>,
    /// (ikev2 profile, keyring, span) for `keyring local`.
    pub keyring_refs: Vec<(String, String, Span)>,
    /// (ikev2 policy, proposal, span) for `proposal`.
    pub proposal_refs: Vec<(String, String, Span)>,
    /// Static routes through an interface: (interface, span).
    pub route_interfaces: Vec<(String, Span)>,
}

/// Spans of one interface's settings (default span when not written).
#[derive(Clone, Debug, Default)]
pub struct InterfaceSpans {
    pub header: Span,
    pub address: Span,
    pub source: Span,
    pub destination: Span,
    pub protection: Span,
    pub holdtime: Span,
    pub registration_timeout: Span,
    pub key: Span,
    pub nhs: Vec<(NhsAddress, Span)>,
    pub nbma: Vec<(Ipv4Addr, Span)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Interface(usize),
    Isakmp(usize),
    TransformSet(usize),
    Profile(usize),
    Keyring(usize),
    KeyringPeer(usize, usize),
    Ikev2Profile(usize),
    Proposal(usize),
    Policy(usize),
    Ignored(usize),
    Swallow,
}

const GLOBAL_CORE: &[&str] = &[
    "hostname",
    "version",
    "interface",
    "crypto",
    "ip",
    "router",
    "end",
];
const GLOBAL_IGNORED: &[&str] = &[
    "service",
    "boot-start-marker",
    "boot-end-marker",
    "boot",
    "aaa",
    "resource",
    "clock",
    "mpls",
    "line",
    "control-plane",
    "logging",
    "access-list",
    "route-map",
    "ntp",
    "snmp-server",
    "enable",
    "username",
    "banner",
    "ipv6",
];
const GLOBAL_IP_WORDS: &[&str] = &[
    "route",
    "cef",
    "crypto",
    "vrf",
    "access-list",
    "domain",
    "domain-name",
    "http",
    "subnet-zero",
    "classless",
    "host",
    "name-server",
    "multicast-routing",
    "prefix-list",
    "sla",
    "ssh",
    "dhcp",
    "domain-lookup",
    "bootp",
    "finger",
    "source-route",
];
const GLOBAL_IP_CORE: &[&str] = &["route", "cef", "crypto"];
const ROUTING_IP_IF: &[&str] = &[
    "ospf",
    "split-horizon",
    "next-hop-self",
    "summary-address",
    "hello-interval",
    "hold-time",
    "bandwidth-percent",
    "pim",
    "rip",
    "eigrp",
    "authentication",
];
const OTHER_IP_IF: &[&str] = &[
    "redirects",
    "unreachables",
    "proxy-arp",
    "nat",
    "access-group",
    "virtual-reassembly",
    "route-cache",
    "directed-broadcast",
    "flow",
    "igmp",
    "helper-address",
    "mroute-cache",
];
const IF_CORE: &[&str] = &[
    "description",
    "shutdown",
    "bandwidth",
    "delay",
    "ip",
    "tunnel",
];
const IF_IP_CORE: &[&str] = &["address", "mtu", "tcp", "nhrp", "vrf"];
const IF_IGNORED: &[&str] = &[
    "mpls",
    "crypto",
    "keepalive",
    "load-interval",
    "duplex",
    "speed",
    "media-type",
    "cdp",
    "no-autostate",
    "negotiation",
    "encapsulation",
    "qos",
    "service-policy",
];
const NHRP_WORDS: &[&str] = &[
    "authentication",
    "holdtime",
    "map",
    "multicast",
    "network-id",
    "nhs",
    "registration",
    "record",
    "redirect",
    "shortcut",
    "max-send",
];
const TRANSFORMS: &[&str] = &[
    "esp-des",
    "esp-3des",
    "esp-aes",
    "esp-gcm",
    "esp-gmac",
    "esp-null",
    "esp-seal",
    "esp-md5-hmac",
    "esp-sha-hmac",
    "esp-sha256-hmac",
    "esp-sha384-hmac",
    "esp-sha512-hmac",
    "ah-md5-hmac",
    "ah-sha-hmac",
    "ah-sha256-hmac",
    "ah-sha384-hmac",
    "ah-sha512-hmac",
    "comp-lzs",
    "esp-aes-128-cbc",
    "esp-aes-192-cbc",
    "esp-aes-256-cbc",
];
const DH_GROUPS: &[u64] = &[1, 2, 5, 14, 15, 16, 19, 20, 21, 24];

/// Words after an optional leading `no`, lowercased.
fn words(line: &Line) -> (bool, Vec<String>) {
    let mut w: Vec<String> = line
        .tokens
        .iter()
        .map(|t| t.text.to_ascii_lowercase())
        .collect();
    let neg = w.first().is_some_and(|f| f == "no") && w.len() > 1;
    if neg {
        w.remove(0);
    }
    (neg, w)
}

fn w(words: &[String], i: usize) -> &str {
    words.get(i).map(String::as_str).unwrap_or("")
}

fn is_global(words: &[String]) -> bool {
    let first = w(words, 0);
    if first == "ip" {
        return GLOBAL_IP_WORDS.contains(&w(words, 1));
    }
    first == "exit" || GLOBAL_CORE.contains(&first) || GLOBAL_IGNORED.contains(&first)
}

/// Does an interface claim a line whose first word is also a global command?
fn interface_claims(words: &[String]) -> bool {
    match (w(words, 0), w(words, 1)) {
        ("ip", "vrf") => w(words, 2) == "forwarding",
        ("ip", "crypto") => w(words, 2) == "map" && words.len() == 4,
        ("mpls", "ip") => words.len() == 2,
        _ => false,
    }
}

/// The result of parsing one file.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
    pub spans: SpanIndex,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// All diagnostics rendered with the file name, one per line.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.render(file));
            out.push('\n');
        }
        out
    }
}

/// Parse the text of a configuration without cross-checks (see
/// [`crate::parse()`] for parse + validate).
pub fn parse_syntax(text: &str) -> Parsed {
    let mut p = Parser::default();
    for line in tokenize(text) {
        p.line(&line);
    }
    Parsed {
        config: p.cfg,
        diagnostics: p.diags,
        spans: p.spans,
    }
}

#[derive(Default)]
struct Parser {
    cfg: Config,
    diags: Vec<Diagnostic>,
    spans: SpanIndex,
    stack: Vec<Mode>,
    vyos_reported: bool,
}

impl Parser {
    fn report(&mut self, r: PResult<()>) {
        if let Err(d) = r {
            self.diags.push(d);
        }
    }

    fn line(&mut self, line: &Line) {
        let (_, ws) = words(line);
        loop {
            let Some(&mode) = self.stack.last() else {
                let r = self.global(line);
                self.report(r);
                return;
            };
            // IOS semantics: a command the current mode does not know is tried
            // in the parent modes, whatever its indentation.
            let exit_or_end = ws.len() == 1 && matches!(w(&ws, 0), "exit" | "end");
            let belongs = exit_or_end
                || match mode {
                    Mode::KeyringPeer(..) if w(&ws, 0) == "peer" => false,
                    Mode::Interface(_) => !is_global(&ws) || interface_claims(&ws),
                    _ => !is_global(&ws),
                };
            if belongs {
                match w(&ws, 0) {
                    // Inside an ignored block (`router bgp` → `address-family` →
                    // `exit`), `exit` leaves a nested level we do not track: keep it.
                    "exit" if ws.len() == 1 && !matches!(mode, Mode::Ignored(_)) => {
                        self.stack.pop();
                    }
                    "end" if ws.len() == 1 => self.stack.clear(),
                    _ => {
                        let r = self.in_mode(mode, line);
                        self.report(r);
                    }
                }
                return;
            }
            self.stack.pop();
        }
    }

    fn push(&mut self, mode: Mode, _header: &Line) {
        self.stack.push(mode);
    }

    fn ignore_block(&mut self, line: &Line, message: String) {
        let first = line.tokens.first().map(|t| t.span).unwrap_or_default();
        self.diags.push(Diagnostic::warning(first, message));
        self.cfg.ignored.push(IgnoredBlock {
            command: line.text(),
            lines: Vec::new(),
        });
        let idx = self.cfg.ignored.len() - 1;
        self.push(Mode::Ignored(idx), line);
    }

    fn swallow(&mut self, line: &Line, d: Diagnostic) -> PResult<()> {
        self.push(Mode::Swallow, line);
        Err(d)
    }

    fn global(&mut self, line: &Line) -> PResult<()> {
        let (neg, ws) = words(line);
        let off = usize::from(neg);
        let mut a = Args::new(line, off + 1);
        let first = line.tokens.get(off).map(|t| t.span).unwrap_or_default();
        match w(&ws, 0) {
            "hostname" => {
                if neg {
                    self.cfg.hostname = None;
                    return Ok(());
                }
                let name = a.word("a host name")?;
                a.end()?;
                self.cfg.hostname = Some(name.text.clone());
            }
            "version" => {
                self.cfg.version = if neg {
                    None
                } else {
                    Some(a.rest("a version")?)
                };
            }
            "interface" if !neg => return self.interface_header(line),
            "crypto" => return self.crypto(line, neg, off + 1),
            "ip" => {
                let sub = w(&ws, 1);
                match sub {
                    "route" => return self.route(line, neg, off + 2),
                    "cef" => {
                        a.pos += 1;
                        a.end()?;
                        self.cfg.ip_cef = Some(!neg);
                    }
                    "crypto" if ws.len() == 2 => self.cfg.ip_crypto = Some(!neg),
                    "crypto" => return self.crypto(line, neg, off + 2),
                    "vrf" if w(&ws, 2) == "forwarding" => {
                        return Err(Diagnostic::error(
                            first,
                            "`ip vrf forwarding` is only valid inside an `interface` block",
                        ));
                    }
                    _ if GLOBAL_IP_WORDS.contains(&sub) => {
                        self.ignore_block(
                            line,
                            format!("`{}` ignored: not a DMVPN setting", line.text()),
                        );
                    }
                    "nhrp" | "address" | "mtu" | "tcp" | "ospf" => {
                        return self.swallow(
                            line,
                            Diagnostic::error(
                                first,
                                format!(
                                    "`ip {sub}` is only valid inside an `interface` block: expected `interface <name>` before it"
                                ),
                            ),
                        );
                    }
                    _ => {
                        let tok = line.tokens.get(off + 1).map(|t| t.span).unwrap_or(first);
                        return self.swallow(
                            line,
                            Diagnostic::error(
                                tok,
                                format!(
                                    "unknown global command `ip {sub}`: expected `ip route`, `ip cef` or `ip crypto`{}",
                                    did_you_mean(sub, GLOBAL_IP_CORE.iter().copied())
                                ),
                            ),
                        );
                    }
                }
            }
            "router" => {
                self.ignore_block(
                    line,
                    format!(
                        "`{}` ignored: dmvpn does not run routing protocols; configure your routing daemon",
                        line.text()
                    ),
                );
            }
            "logging" if w(&ws, 1) == "dmvpn" => {
                // `logging dmvpn rate-limit SECONDS`: at most one identical DMVPN event
                // line per SECONDS (issue 7, Events). `no logging dmvpn …` removes it.
                a.pos += 1;
                if neg {
                    self.cfg.logging_dmvpn_rate_limit = None;
                    return Ok(());
                }
                a.keyword(&["rate-limit"])?;
                let (secs, _) = a.number("seconds", 1, 86_400)?;
                a.end()?;
                self.cfg.logging_dmvpn_rate_limit = Some(secs);
            }
            "end" => self.stack.clear(),
            "exit" => {}
            "set" | "delete" => {
                if !self.vyos_reported {
                    self.vyos_reported = true;
                    return Err(Diagnostic::error(
                        first,
                        "this looks like VyOS `set` syntax: convert it with `dmvpn config import --from vyos FILE`",
                    ));
                }
            }
            other if GLOBAL_IGNORED.contains(&other) => {
                self.ignore_block(
                    line,
                    format!("`{}` ignored: not a DMVPN setting", line.text()),
                );
            }
            other => {
                let tok = line
                    .tokens
                    .get(off)
                    .map(|t| t.text.as_str())
                    .unwrap_or(other);
                let mut cands: Vec<&str> = GLOBAL_CORE.to_vec();
                cands.extend_from_slice(IF_CORE);
                cands.extend_from_slice(NHRP_WORDS);
                return self.swallow(
                    line,
                    Diagnostic::error(
                        first,
                        format!(
                            "unknown command `{tok}`: expected a global command such as `hostname`, `interface`, `crypto` or `ip route`{}",
                            did_you_mean(tok, cands)
                        ),
                    ),
                );
            }
        }
        Ok(())
    }

    fn interface_header(&mut self, line: &Line) -> PResult<()> {
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

    fn in_mode(&mut self, mode: Mode, line: &Line) -> PResult<()> {
        match mode {
            Mode::Interface(i) => self.interface_line(i, line),
            Mode::Isakmp(i) => self.isakmp_line(i, line),
            Mode::TransformSet(i) => self.transform_set_line(i, line),
            Mode::Profile(i) => self.profile_line(i, line),
            Mode::Keyring(i) => self.keyring_line(i, line),
            Mode::KeyringPeer(k, p) => self.peer_line(k, p, line),
            Mode::Ikev2Profile(i) => self.ikev2_profile_line(i, line),
            Mode::Proposal(i) => self.proposal_line(i, line),
            Mode::Policy(i) => self.policy_line(i, line),
            Mode::Ignored(i) => {
                if let Some(b) = self.cfg.ignored.get_mut(i) {
                    b.lines.push(line.text());
                }
                Ok(())
            }
            Mode::Swallow => Ok(()),
        }
    }

    fn interface_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
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

    fn crypto(&mut self, line: &Line, neg: bool, pos: usize) -> PResult<()> {
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
                let (priority, _) = a.number::<u16>("ISAKMP policy priority", 1, 10000)?;
                a.end()?;
                let list = &mut self.cfg.crypto.isakmp_policies;
                let idx = match list.iter().position(|p| p.priority == priority) {
                    Some(i) => i,
                    None => {
                        list.push(IsakmpPolicy {
                            priority,
                            ..IsakmpPolicy::default()
                        });
                        list.len() - 1
                    }
                };
                self.push(Mode::Isakmp(idx), line);
            }
            "key" => {
                let key = a.word("a pre-shared key")?.text.clone();
                a.keyword(&["address"])?;
                let (address, _) = a.ipv4("peer address")?;
                let mask = if a.peek_is_ipv4() {
                    Some(a.ipv4("peer mask")?.0)
                } else {
                    None
                };
                a.opt_keyword(&["no-xauth"]);
                a.end()?;
                let k = IsakmpKey { key, address, mask };
                let keys = &mut self.cfg.crypto.isakmp_keys;
                keys.retain(|x| !(x.address == k.address && x.mask == k.mask));
                keys.push(k);
            }
            _ => self.ignore_block(
                line,
                format!("`{}` ignored: not supported yet", line.text()),
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
                let name = a.word("a transform-set name")?.text.clone();
                let mut ts = TransformSet {
                    name,
                    ..TransformSet::default()
                };
                if a.is_done() {
                    a.word("at least one transform such as `esp-aes 256` or `esp-sha-hmac`")?;
                }
                while let Some(tok) = a.next() {
                    let lower = tok.text.to_ascii_lowercase();
                    if lower == "mode" {
                        if ts.transforms.is_empty() {
                            return Err(Diagnostic::error(
                                tok.span,
                                "expected at least one transform such as `esp-aes 256` or `esp-sha-hmac` before `mode`",
                            ));
                        }
                        ts.mode = Some(ipsec_mode(a)?);
                        break;
                    }
                    if !TRANSFORMS.contains(&lower.as_str()) {
                        return Err(Diagnostic::error(
                            tok.span,
                            format!(
                                "unknown transform `{}`: expected a transform such as `esp-aes`, `esp-3des`, `esp-sha-hmac`{}",
                                tok.text,
                                did_you_mean(&tok.text, TRANSFORMS.iter().copied())
                            ),
                        ));
                    }
                    ts.transforms.push(normalise_transform(&lower, a)?);
                }
                a.end()?;
                let list = &mut self.cfg.crypto.transform_sets;
                let idx = match list.iter().position(|t| t.name == ts.name) {
                    Some(i) => {
                        if let Some(slot) = list.get_mut(i) {
                            *slot = ts;
                        }
                        i
                    }
                    None => {
                        list.push(ts);
                        list.len() - 1
                    }
                };
                self.push(Mode::TransformSet(idx), line);
            }
            "profile" => {
                let name = a.word("an IPsec profile name")?.text.clone();
                a.end()?;
                let list = &mut self.cfg.crypto.ipsec_profiles;
                let idx = match list.iter().position(|p| p.name == name) {
                    Some(i) => i,
                    None => {
                        list.push(IpsecProfile {
                            name,
                            ..IpsecProfile::default()
                        });
                        list.len() - 1
                    }
                };
                self.push(Mode::Profile(idx), line);
            }
            _ => self.ignore_block(
                line,
                format!("`{}` ignored: not supported yet", line.text()),
            ),
        }
        Ok(())
    }

    fn crypto_ikev2(&mut self, line: &Line, a: &mut Args<'_>) -> PResult<()> {
        let kind = a.keyword(&["keyring", "profile", "proposal", "policy"])?;
        let name = a.word("a name")?.text.clone();
        a.end()?;
        let c = &mut self.cfg.crypto;
        let mode = match kind {
            "keyring" => Mode::Keyring(find_or_push(
                &mut c.ikev2_keyrings,
                |k| k.name == name,
                || Ikev2Keyring {
                    name: name.clone(),
                    ..Default::default()
                },
            )),
            "profile" => Mode::Ikev2Profile(find_or_push(
                &mut c.ikev2_profiles,
                |k| k.name == name,
                || Ikev2Profile {
                    name: name.clone(),
                    ..Default::default()
                },
            )),
            "proposal" => Mode::Proposal(find_or_push(
                &mut c.ikev2_proposals,
                |k| k.name == name,
                || Ikev2Proposal {
                    name: name.clone(),
                    ..Default::default()
                },
            )),
            _ => Mode::Policy(find_or_push(
                &mut c.ikev2_policies,
                |k| k.name == name,
                || Ikev2Policy {
                    name: name.clone(),
                    ..Default::default()
                },
            )),
        };
        self.push(mode, line);
        Ok(())
    }

    fn isakmp_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
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
                    let alg = a.keyword(&["aes", "3des", "des"])?;
                    if alg == "aes" && !a.is_done() {
                        Some(format!("aes {}", a.keyword(&["128", "192", "256"])?))
                    } else {
                        Some(alg.to_string())
                    }
                };
            }
            "hash" => {
                p.hash = if neg {
                    None
                } else {
                    Some(
                        a.keyword(&["md5", "sha", "sha256", "sha384", "sha512"])?
                            .to_string(),
                    )
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
            "group" => p.group = if neg { None } else { Some(dh_group(&mut a)?) },
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

    fn transform_set_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(ts) = self.cfg.crypto.transform_sets.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["mode"])?;
        ts.mode = if neg { None } else { Some(ipsec_mode(&mut a)?) };
        a.end()
    }

    fn profile_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.ipsec_profiles.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["set"])?;
        let kw = a.keyword(&[
            "transform-set",
            "pfs",
            "security-association",
            "security",
            "ikev2-profile",
            "identity",
        ])?;
        let kw = match kw {
            // The Cisco guide writes `set security association lifetime …`.
            "security" => {
                a.keyword(&["association"])?;
                "security-association"
            }
            "identity" => {
                let first = line.tokens.first().map(|t| t.span).unwrap_or_default();
                self.diags.push(Diagnostic::warning(
                    first,
                    format!(
                        "`{}` ignored: identity restrictions are not supported yet",
                        line.text()
                    ),
                ));
                return Ok(());
            }
            k => k,
        };
        match kw {
            "transform-set" => {
                p.transform_sets.clear();
                self.spans
                    .transform_set_refs
                    .retain(|(prof, _, _)| *prof != p.name);
                if neg {
                    return Ok(());
                }
                if a.is_done() {
                    a.word("a transform-set name")?;
                }
                while let Some(t) = a.next() {
                    self.spans
                        .transform_set_refs
                        .push((p.name.clone(), t.text.clone(), t.span));
                    p.transform_sets.push(t.text.clone());
                }
            }
            "pfs" => {
                p.pfs = if neg {
                    None
                } else {
                    const G: &[&str] = &[
                        "group1", "group2", "group5", "group14", "group15", "group16", "group19",
                        "group20", "group21", "group24",
                    ];
                    if a.is_done() {
                        Some(None)
                    } else {
                        Some(Some(a.keyword(G)?.to_string()))
                    }
                };
            }
            "security-association" => {
                a.keyword(&["lifetime"])?;
                match a.keyword(&["seconds", "kilobytes"])? {
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
                }
            }
            _ => {
                self.spans
                    .ikev2_profile_refs
                    .retain(|(prof, _, _)| *prof != p.name);
                if neg {
                    p.ikev2_profile = None;
                    return Ok(());
                }
                let t = a.word("an IKEv2 profile name")?;
                self.spans
                    .ikev2_profile_refs
                    .push((p.name.clone(), t.text.clone(), t.span));
                p.ikev2_profile = Some(t.text.clone());
            }
        }
        a.end()
    }

    fn keyring_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let mut a = Args::new(line, 0);
        let Some(k) = self.cfg.crypto.ikev2_keyrings.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["peer"])?;
        let name = a.word("a peer name")?.text.clone();
        a.end()?;
        let p = find_or_push(
            &mut k.peers,
            |p| p.name == name,
            || Ikev2Peer {
                name: name.clone(),
                ..Default::default()
            },
        );
        self.push(Mode::KeyringPeer(idx, p), line);
        Ok(())
    }

    fn peer_line(&mut self, k: usize, p: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(peer) = self
            .cfg
            .crypto
            .ikev2_keyrings
            .get_mut(k)
            .and_then(|k| k.peers.get_mut(p))
        else {
            return Ok(());
        };
        match a.keyword(&["address", "pre-shared-key"])? {
            "address" => {
                peer.address = if neg {
                    None
                } else {
                    let (ip, _) = a.ipv4("peer address")?;
                    let mask = if a.peek_is_ipv4() {
                        Some(a.ipv4("peer mask")?.0)
                    } else {
                        None
                    };
                    Some((ip, mask))
                };
            }
            _ => {
                peer.pre_shared_key = if neg {
                    None
                } else {
                    a.opt_keyword(&["local", "remote"]);
                    Some(a.word("a pre-shared key")?.text.clone())
                };
            }
        }
        a.end()
    }

    fn ikev2_profile_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.ikev2_profiles.get_mut(idx) else {
            return Ok(());
        };
        match a.keyword(&[
            "match",
            "identity",
            "authentication",
            "keyring",
            "lifetime",
            "dpd",
        ])? {
            "match" => {
                a.keyword(&["identity"])?;
                a.keyword(&["remote"])?;
                let kind = a.keyword(&["address", "fqdn", "email"])?;
                let rest = a.rest("an identity")?;
                let value = format!("{kind} {rest}");
                if neg {
                    p.match_identity_remote.retain(|m| *m != value);
                } else if !p.match_identity_remote.contains(&value) {
                    p.match_identity_remote.push(value);
                }
            }
            "identity" => {
                a.keyword(&["local"])?;
                p.identity_local = if neg {
                    None
                } else {
                    let kind = a.keyword(&["address", "fqdn", "email"])?;
                    Some(format!("{kind} {}", a.rest("an identity")?))
                };
            }
            "authentication" => {
                let side = a.keyword(&["local", "remote"])?;
                let v = if neg {
                    None
                } else {
                    Some(a.keyword(&["pre-share", "rsa-sig", "eap"])?.to_string())
                };
                if side == "local" {
                    p.authentication_local = v;
                } else {
                    p.authentication_remote = v;
                }
            }
            "keyring" => {
                a.keyword(&["local"])?;
                self.spans
                    .keyring_refs
                    .retain(|(prof, _, _)| *prof != p.name);
                if neg {
                    p.keyring = None;
                    return Ok(());
                }
                let t = a.word("a keyring name")?;
                self.spans
                    .keyring_refs
                    .push((p.name.clone(), t.text.clone(), t.span));
                p.keyring = Some(t.text.clone());
            }
            "lifetime" => {
                p.lifetime = if neg {
                    None
                } else {
                    Some(a.number("IKEv2 SA lifetime (seconds)", 120, 86400)?.0)
                }
            }
            _ => {
                p.dpd = if neg {
                    None
                } else {
                    let (interval, _) = a.number("DPD interval (seconds)", 10, 3600)?;
                    let (retry, _) = a.number("DPD retry interval (seconds)", 2, 60)?;
                    let periodic = a.keyword(&["on-demand", "periodic"])? == "periodic";
                    Some(Dpd {
                        interval,
                        retry,
                        periodic,
                    })
                };
            }
        }
        a.end()
    }

    fn proposal_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.ikev2_proposals.get_mut(idx) else {
            return Ok(());
        };
        match a.keyword(&["encryption", "integrity", "group"])? {
            "encryption" => {
                p.encryption.clear();
                if !neg {
                    const E: &[&str] = &[
                        "aes-cbc-128",
                        "aes-cbc-192",
                        "aes-cbc-256",
                        "aes-gcm-128",
                        "aes-gcm-256",
                        "3des",
                        "des",
                    ];
                    a.keyword(E).map(|e| p.encryption.push(e.to_string()))?;
                    while !a.is_done() {
                        p.encryption.push(a.keyword(E)?.to_string());
                    }
                }
            }
            "integrity" => {
                p.integrity.clear();
                if !neg {
                    const I: &[&str] = &["md5", "sha1", "sha256", "sha384", "sha512"];
                    a.keyword(I).map(|e| p.integrity.push(e.to_string()))?;
                    while !a.is_done() {
                        p.integrity.push(a.keyword(I)?.to_string());
                    }
                }
            }
            _ => {
                p.group.clear();
                if !neg {
                    p.group.push(dh_group(&mut a)?);
                    while !a.is_done() {
                        p.group.push(dh_group(&mut a)?);
                    }
                }
            }
        }
        a.end()
    }

    fn policy_line(&mut self, idx: usize, line: &Line) -> PResult<()> {
        let (neg, _) = words(line);
        let mut a = Args::new(line, usize::from(neg));
        let Some(p) = self.cfg.crypto.ikev2_policies.get_mut(idx) else {
            return Ok(());
        };
        a.keyword(&["proposal"])?;
        let t = a.word("an IKEv2 proposal name")?;
        a.end()?;
        if neg {
            p.proposals.retain(|x| *x != t.text);
        } else if !p.proposals.contains(&t.text) {
            self.spans
                .proposal_refs
                .push((p.name.clone(), t.text.clone(), t.span));
            p.proposals.push(t.text.clone());
        }
        Ok(())
    }

    fn route(&mut self, line: &Line, neg: bool, pos: usize) -> PResult<()> {
        let mut a = Args::new(line, pos);
        if a.peek_lower().as_deref() == Some("vrf") {
            self.ignore_block(
                line,
                format!(
                    "`{}` ignored: VRF static routes are not supported yet",
                    line.text()
                ),
            );
            return Ok(());
        }
        let prefix = prefix_arg(&mut a, true)?;
        if neg && a.is_done() {
            self.cfg.static_routes.retain(|r| r.prefix != prefix);
            return Ok(());
        }
        let target = if a.peek_is_ipv4() {
            RouteTarget::NextHop(a.ipv4("next hop")?.0)
        } else {
            let (name, sp) = a.interface_name("a next-hop address or interface")?;
            self.spans.route_interfaces.push((name.clone(), sp));
            if a.peek_is_ipv4() {
                RouteTarget::InterfaceNextHop(name, a.ipv4("next hop")?.0)
            } else {
                RouteTarget::Interface(name)
            }
        };
        let distance = if a.is_done() {
            None
        } else {
            Some(a.number("administrative distance", 1, 255)?.0)
        };
        a.end()?;
        let r = StaticRoute {
            prefix,
            target,
            distance,
        };
        self.cfg
            .static_routes
            .retain(|x| !(x.prefix == r.prefix && x.target == r.target));
        if !neg {
            self.cfg.static_routes.push(r);
        }
        Ok(())
    }
}

fn find_or_push<T>(v: &mut Vec<T>, pred: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> usize {
    match v.iter().position(pred) {
        Some(i) => i,
        None => {
            v.push(make());
            v.len() - 1
        }
    }
}

fn ipsec_mode(a: &mut Args<'_>) -> PResult<IpsecMode> {
    Ok(match a.keyword(&["tunnel", "transport"])? {
        "tunnel" => IpsecMode::Tunnel,
        _ => IpsecMode::Transport,
    })
}

fn dh_group(a: &mut Args<'_>) -> PResult<u8> {
    let tok = a.peek().map(|t| t.span);
    let (g, _) = a.number::<u8>("Diffie-Hellman group", 1, 24)?;
    if !DH_GROUPS.contains(&u64::from(g)) {
        return Err(Diagnostic::error(
            tok.unwrap_or_default(),
            format!(
                "Diffie-Hellman group {g} is not supported: expected one of 1, 2, 5, 14, 15, 16, 19, 20, 21, 24"
            ),
        ));
    }
    Ok(g)
}

/// `esp-aes [128|192|256]`, AOS `esp-aes-256-cbc` → `esp-aes 256`.
fn normalise_transform(lower: &str, a: &mut Args<'_>) -> PResult<String> {
    Ok(match lower {
        "esp-aes-128-cbc" => "esp-aes 128".to_string(),
        "esp-aes-192-cbc" => "esp-aes 192".to_string(),
        "esp-aes-256-cbc" => "esp-aes 256".to_string(),
        "esp-aes" | "esp-gcm" | "esp-gmac" => match a.opt_keyword(&["128", "192", "256"]) {
            Some(bits) => format!("{lower} {bits}"),
            None => lower.to_string(),
        },
        other => other.to_string(),
    })
}

/// `A.B.C.D M.M.M.M` or `A.B.C.D/len`. With `strict`, host bits must be 0.
fn prefix_arg(a: &mut Args<'_>, strict: bool) -> PResult<Ipv4Net> {
    let tok = a.peek().cloned();
    if let Some(t) = &tok
        && t.text.contains('/')
    {
        a.next();
        let net: Ipv4Net = t.text.parse().map_err(|_| {
            Diagnostic::error(
                t.span,
                format!(
                    "`{}` is not a valid prefix: expected ADDRESS/LENGTH such as 10.0.0.0/24",
                    t.text
                ),
            )
        })?;
        if strict && net.trunc() != net {
            return Err(Diagnostic::error(
                t.span,
                format!(
                    "prefix `{}` has host bits set: expected `{}`",
                    t.text,
                    net.trunc()
                ),
            ));
        }
        return Ok(net);
    }
    let (addr, asp) = a.ipv4("address")?;
    let (mask, msp) = a.ipv4("netmask")?;
    let len = ipnet::ipv4_mask_to_prefix(mask).map_err(|_| {
        Diagnostic::error(
            msp,
            format!("netmask {mask} is not contiguous: expected a mask such as 255.255.255.0"),
        )
    })?;
    let net =
        Ipv4Net::new(addr, len).map_err(|_| Diagnostic::error(msp, "invalid prefix length"))?;
    if strict && net.trunc() != net {
        return Err(Diagnostic::error(
            asp,
            format!(
                "address {addr} has host bits set for mask {mask}: expected {}",
                net.network()
            ),
        ));
    }
    Ok(net)
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

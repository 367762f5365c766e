//! Stage two of the parser: attribute each tokenized line to a configuration
//! mode (global, interface, crypto sub-modes, ignored blocks) and run the
//! per-command parser, filling the [`Config`] model and a [`SpanIndex`] that
//! remembers where things were written for the validation messages.
//!
//! Mode tracking follows IOS, whatever the indentation (AOS and pasted
//! configurations are not indented): a line stays in the current block
//! unless it is a global command the block does not claim, in which case the
//! parser falls back to the parent modes and finally the global mode.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use crate::args::{Args, PResult};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::lexer::{Line, tokenize};
use crate::model::*;
use crate::names::normalise_tunnel_name;

mod crypto;
mod interface;

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
    /// Where the crypto blocks and their lines were written.
    pub crypto: CryptoSpans,
}

/// A kind of crypto block, to key [`CryptoSpans`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockKind {
    IsakmpPolicy,
    TransformSet,
    IpsecProfile,
    Ikev2Keyring,
    Ikev2Profile,
    Ikev2Proposal,
    Ikev2Policy,
}

/// Spans of the crypto blocks (default span when not written).
#[derive(Clone, Debug, Default)]
pub struct CryptoSpans {
    /// The name in each block's header line.
    pub blocks: HashMap<(BlockKind, String), Span>,
    /// Blocks with a line that had an error: the error is reported, and the cross-checks
    /// leave them alone (one message per mistake).
    pub rejected: HashSet<(BlockKind, String)>,
    /// `peer NAME` inside a keyring: (keyring, peer) → the peer name.
    pub peers: HashMap<(String, String), Span>,
    /// The first word of a line inside a block: (kind, block, keyword) → span, e.g.
    /// `(IpsecProfile, "P", "pfs")` for `set pfs`, `(Ikev2Profile, "V2", "authentication local")`.
    pub lines: HashMap<(BlockKind, String, &'static str), Span>,
}

impl CryptoSpans {
    /// The header span of a block (default when unknown).
    pub fn block(&self, kind: BlockKind, name: &str) -> Span {
        self.blocks
            .get(&(kind, name.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// A line's span, else the block's header span.
    pub fn line(&self, kind: BlockKind, name: &str, keyword: &'static str) -> Span {
        self.lines
            .get(&(kind, name.to_string(), keyword))
            .copied()
            .unwrap_or_else(|| self.block(kind, name))
    }

    /// Whether a block had an erroneous line.
    pub fn is_rejected(&self, kind: BlockKind, name: &str) -> bool {
        self.rejected.contains(&(kind, name.to_string()))
    }
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
    pub identity_map: Span,
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
    "identity-map",
];

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
                        if r.is_err() {
                            self.reject_block(mode);
                        }
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

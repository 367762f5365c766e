//! `dmvpn show|clear|debug|undebug|no`: the Cisco-style operational commands.
//!
//! Each command is sent to the daemon over its control socket
//! ([`dmvpn_mgmt::Client`]) as one [`Request`], and the answer is printed
//! with the renderers of [`dmvpn_mgmt::render`], or as JSON with `--json`
//! (the payload's data, pretty-printed; field names in docs/cli.md).
//!
//! The command words mirror IOS. clap parses the command path (`show ip nhrp
//! nhs`); the optional words after it (`detail`, `brief`, `static`,
//! `peer nbma IP`, `interface Tunnel0`, an address…) are parsed here with the
//! IOS grammar, so `dmvpn show dmvpn peer nbma 192.0.2.1 detail` works as on
//! a router. Exit codes: 0 success, 1 the daemon refused the command (its
//! message is printed as `% …`), 2 usage errors and an unreachable daemon.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use dmvpn_mgmt::{
    ClearCounters, ClearDmvpnSession, ClearDmvpnStatistics, ClearIpNhrp, Client, DebugCommand,
    DebugCondition, DebugRequest, DmvpnDebugLevel, DmvpnDebugScope, InterfaceFilter, NhrpDebugKind,
    PeerFilter, Request, Response, ShowDmvpn, ShowIpNhrp, ShowNhs, normalize_interface, render,
};

/// Optional IOS words after a command, and `--json`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Words {
    /// Optional words, as on IOS (see the command's help).
    #[arg(value_name = "WORD")]
    pub words: Vec<String>,
    /// Print the daemon's answer as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `show …`.
// The doc comments are the commands' help in IOS syntax, where [word] is optional.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Subcommand, Debug)]
pub enum Show {
    /// show dmvpn [detail] [peer {nbma|tunnel} IP] [interface TunnelN] [static] | show dmvpn debug-condition
    Dmvpn(Words),
    /// show ip nhrp …
    #[command(subcommand)]
    Ip(ShowIp),
    /// show running-config
    RunningConfig(Words),
    /// show crypto ikev2 sa [detail] | show crypto ipsec sa [peer ADDR] | show crypto session [detail]
    Crypto(Words),
}

/// `show ip …`.
// The doc comments are the commands' help in IOS syntax, where [word] is optional.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Subcommand, Debug)]
pub enum ShowIp {
    /// show ip nhrp [brief] [IP] [interface TunnelN] | show ip nhrp {nhs|traffic|shortcut} …
    Nhrp(ShowNhrpArgs),
}

/// `show ip nhrp [brief] [IP] [interface TunnelN]` or one of its sub-commands.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ShowNhrpArgs {
    /// The cache listing's words.
    #[command(flatten)]
    pub words: Words,
    /// nhs, traffic or shortcut.
    #[command(subcommand)]
    pub sub: Option<ShowNhrpSub>,
}

/// `show ip nhrp {nhs|traffic|shortcut}`.
// The doc comments are the commands' help in IOS syntax, where [word] is optional.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Subcommand, Debug)]
pub enum ShowNhrpSub {
    /// show ip nhrp nhs [detail] [interface TunnelN]
    Nhs(Words),
    /// show ip nhrp traffic [interface TunnelN]
    Traffic(Words),
    /// show ip nhrp shortcut [interface TunnelN]
    Shortcut(Words),
}

/// `clear …`.
#[derive(clap::Subcommand, Debug)]
pub enum Clear {
    /// clear ip nhrp [IP | interface TunnelN]  (dynamic entries only)
    #[command(subcommand)]
    Ip(ClearIp),
    /// clear dmvpn {session|statistics} …
    #[command(subcommand)]
    Dmvpn(ClearDmvpn),
    /// clear counters tunnel N
    Counters(Words),
    /// clear crypto session [remote ADDR] | clear crypto ikev2 sa [remote ADDR]
    Crypto(Words),
}

/// `clear ip …`.
#[derive(clap::Subcommand, Debug)]
pub enum ClearIp {
    /// clear ip nhrp [IP | interface TunnelN]
    Nhrp(Words),
}

/// `clear dmvpn …`.
// The doc comments are the commands' help in IOS syntax, where [word] is optional.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Subcommand, Debug)]
pub enum ClearDmvpn {
    /// clear dmvpn session [peer {nbma|tunnel} IP] [interface TunnelN] [static]
    Session(Words),
    /// clear dmvpn statistics [peer {nbma|tunnel} IP] [interface TunnelN]
    Statistics(Words),
}

/// `debug …` (and, under `no` / `undebug`, its negation).
// The doc comments are the commands' help in IOS syntax, where [word] is optional.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(clap::Subcommand, Debug)]
pub enum Debug {
    /// debug nhrp [packet|events|error|extension|cache|rate] | debug nhrp condition … | debug nhrp capture FILE.pcapng
    Nhrp(Words),
    /// debug dmvpn {error|detail|packet|all} [nhrp|crypto|tunnel|socket|all] | debug dmvpn condition [peer {nbma|tunnel} IP] [interface TunnelN] [unmatched]
    Dmvpn(Words),
    /// debug crypto ikev2
    Crypto(Words),
}

/// `undebug …`.
#[derive(clap::Subcommand, Debug)]
pub enum Undebug {
    /// undebug all: every debug switch, condition and the capture off
    All(Words),
    /// undebug nhrp …  (same words as `debug nhrp`)
    Nhrp(Words),
    /// undebug dmvpn …  (same words as `debug dmvpn`)
    Dmvpn(Words),
    /// undebug crypto ikev2
    Crypto(Words),
}

/// `no …`.
#[derive(clap::Subcommand, Debug)]
pub enum No {
    /// no debug {nhrp|dmvpn} …, e.g. `no debug nhrp capture`
    #[command(subcommand)]
    Debug(Debug),
}

/// Runs `dmvpn show …`.
pub fn show(cmd: Show, socket: &Path) -> anyhow::Result<ExitCode> {
    let (req, json) = show_request(&cmd)?;
    run(&req, json, socket)
}

/// Runs `dmvpn clear …`.
pub fn clear(cmd: Clear, socket: &Path) -> anyhow::Result<ExitCode> {
    let (req, json) = clear_request(&cmd)?;
    run(&req, json, socket)
}

/// Runs `dmvpn debug …`.
pub fn debug(cmd: Debug, socket: &Path) -> anyhow::Result<ExitCode> {
    let (req, json) = debug_request(&cmd, true)?;
    run(&req, json, socket)
}

/// Runs `dmvpn undebug …`.
pub fn undebug(cmd: Undebug, socket: &Path) -> anyhow::Result<ExitCode> {
    let (req, json) = undebug_request(&cmd)?;
    run(&req, json, socket)
}

/// Runs `dmvpn no …`.
pub fn no(cmd: No, socket: &Path) -> anyhow::Result<ExitCode> {
    let No::Debug(d) = cmd;
    let (req, json) = debug_request(&d, false)?;
    run(&req, json, socket)
}

fn run(req: &Request, json: bool, socket: &Path) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    execute(req, json, socket, &mut stdout.lock(), &mut stderr.lock())
}

/// Sends `req` and prints the answer: text (or JSON) on `out`, the daemon's
/// refusal on `err` with exit code 1.
pub fn execute(
    req: &Request,
    json: bool,
    socket: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect(socket)?;
    match client.request(req)? {
        Response::Ok { payload } => {
            let text = if json {
                let mut t = payload.data_json_pretty();
                t.push('\n');
                t
            } else {
                render::render(req, &payload)
            };
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                // The reader went away (`dmvpn show … | head`): not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
                r => {
                    r.context("writing the answer")?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Response::Error { message } => {
            writeln!(err, "% {message}")?;
            Ok(ExitCode::from(1))
        }
    }
}

// ---------------------------------------------------------------------------
// IOS word grammar
// ---------------------------------------------------------------------------

/// A cursor over the optional words of one command.
struct Cursor<'a> {
    command: &'a str,
    words: &'a [String],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(command: &'a str, words: &'a [String]) -> Self {
        Cursor {
            command,
            words,
            pos: 0,
        }
    }

    fn next(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.pos)?;
        self.pos += 1;
        Some(w.as_str())
    }

    fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).map(String::as_str)
    }

    fn expect(&mut self, what: &str) -> anyhow::Result<&'a str> {
        self.next()
            .ok_or_else(|| anyhow!("`{}`: {what} expected at the end", self.command))
    }

    fn ip(&mut self, what: &str) -> anyhow::Result<IpAddr> {
        let w = self.expect(what)?;
        w.parse()
            .map_err(|_| anyhow!("`{}`: `{w}` is not an IP address ({what})", self.command))
    }

    /// After `interface`: `Tunnel0`, `tunnel0`, `Tu0` or `tunnel 0`.
    fn interface(&mut self) -> anyhow::Result<String> {
        let w = self.expect("an interface name (TunnelN)")?;
        if w.eq_ignore_ascii_case("tunnel") || w.eq_ignore_ascii_case("tu") {
            if let Some(n) = self
                .peek()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            {
                self.pos += 1;
                return Ok(format!("Tunnel{n}"));
            }
            bail!(
                "`{}`: a tunnel number is expected after `{w}`",
                self.command
            );
        }
        Ok(normalize_interface(w))
    }

    /// After `peer`: `nbma IP` or `tunnel IP`.
    fn peer(&mut self) -> anyhow::Result<PeerFilter> {
        let kind = self.expect("`nbma` or `tunnel`")?;
        match kind.to_ascii_lowercase().as_str() {
            "nbma" => Ok(PeerFilter::Nbma {
                address: self.ip("the peer's NBMA address")?,
            }),
            "tunnel" => Ok(PeerFilter::Tunnel {
                address: self.ip("the peer's tunnel address")?,
            }),
            _ => bail!(
                "`{}`: after `peer`, `nbma` or `tunnel` is expected, not `{kind}`",
                self.command
            ),
        }
    }

    fn unexpected(&self, word: &str, expected: &str) -> anyhow::Error {
        anyhow!(
            "`{}`: unexpected word `{word}`; expected {expected}",
            self.command
        )
    }

    fn set_once<T>(&self, slot: &mut Option<T>, value: T, word: &str) -> anyhow::Result<()> {
        if slot.is_some() {
            bail!("`{}`: `{word}` given twice", self.command);
        }
        *slot = Some(value);
        Ok(())
    }
}

fn lower(w: &str) -> String {
    w.to_ascii_lowercase()
}

fn show_dmvpn(words: &[String]) -> anyhow::Result<Request> {
    const EXPECTED: &str =
        "detail, peer {nbma|tunnel} IP, interface TunnelN, static or debug-condition";
    let mut c = Cursor::new("show dmvpn", words);
    let mut q = ShowDmvpn::default();
    let mut debug_condition = false;
    while let Some(w) = c.next() {
        match lower(w).as_str() {
            "detail" => q.detail = true,
            "static" => q.static_only = true,
            "peer" => {
                let p = c.peer()?;
                c.set_once(&mut q.peer, p, "peer")?;
            }
            "interface" => {
                let i = c.interface()?;
                c.set_once(&mut q.interface, i, "interface")?;
            }
            "debug-condition" => debug_condition = true,
            _ => return Err(c.unexpected(w, EXPECTED)),
        }
    }
    if debug_condition {
        if q != ShowDmvpn::default() {
            bail!("`show dmvpn debug-condition` takes no other words");
        }
        return Ok(Request::ShowDmvpnDebugCondition);
    }
    Ok(Request::ShowDmvpn(q))
}

fn show_ip_nhrp(words: &[String]) -> anyhow::Result<Request> {
    let mut c = Cursor::new("show ip nhrp", words);
    let mut q = ShowIpNhrp::default();
    while let Some(w) = c.next() {
        match lower(w).as_str() {
            "brief" => q.brief = true,
            "interface" => {
                let i = c.interface()?;
                c.set_once(&mut q.interface, i, "interface")?;
            }
            "detail" => {} // IOS's `show ip nhrp detail` is the default layout here
            _ => match w.parse::<IpAddr>() {
                Ok(a) => c.set_once(&mut q.address, a, "an address")?,
                Err(_) => {
                    return Err(c.unexpected(
                        w,
                        "brief, an IP address, interface TunnelN, or one of nhs, traffic, shortcut",
                    ));
                }
            },
        }
    }
    Ok(Request::ShowIpNhrp(q))
}

/// Words that are only `[detail] [interface TunnelN]`.
fn interface_words(
    command: &str,
    words: &[String],
    allow_detail: bool,
) -> anyhow::Result<(bool, Option<String>)> {
    let mut c = Cursor::new(command, words);
    let mut detail = false;
    let mut iface = None;
    while let Some(w) = c.next() {
        match lower(w).as_str() {
            "detail" if allow_detail => detail = true,
            "interface" => {
                let i = c.interface()?;
                c.set_once(&mut iface, i, "interface")?;
            }
            _ => {
                let exp = if allow_detail {
                    "detail or interface TunnelN"
                } else {
                    "interface TunnelN"
                };
                return Err(c.unexpected(w, exp));
            }
        }
    }
    Ok((detail, iface))
}

/// The request and the `--json` switch of a `show` command.
pub fn show_request(cmd: &Show) -> anyhow::Result<(Request, bool)> {
    Ok(match cmd {
        Show::Dmvpn(w) => (show_dmvpn(&w.words)?, w.json),
        Show::Crypto(w) => (crypto::show(&w.words)?, w.json),
        Show::RunningConfig(w) => {
            if let Some(x) = w.words.first() {
                bail!("`show running-config`: unexpected word `{x}`");
            }
            (Request::ShowRunningConfig, w.json)
        }
        Show::Ip(ShowIp::Nhrp(args)) => {
            match &args.sub {
                // `show ip nhrp --json traffic`: clap saw an option first and
                // took the sub-command's name as a word.
                None if args.words.words.first().is_some_and(|w| {
                    ["nhs", "traffic", "shortcut"].contains(&lower(w).as_str())
                }) =>
                {
                    let all = &args.words.words;
                    let first = all.first().map(String::as_str).unwrap_or_default();
                    let w = Words {
                        words: all.get(1..).unwrap_or_default().to_vec(),
                        json: args.words.json,
                    };
                    let sub = match lower(first).as_str() {
                        "nhs" => ShowNhrpSub::Nhs(w),
                        "traffic" => ShowNhrpSub::Traffic(w),
                        _ => ShowNhrpSub::Shortcut(w),
                    };
                    return show_request(&Show::Ip(ShowIp::Nhrp(ShowNhrpArgs {
                        words: Words::default(),
                        sub: Some(sub),
                    })));
                }
                None => (show_ip_nhrp(&args.words.words)?, args.words.json),
                Some(ShowNhrpSub::Nhs(w)) => {
                    let (detail, interface) = interface_words("show ip nhrp nhs", &w.words, true)?;
                    (
                        Request::ShowIpNhrpNhs(ShowNhs { detail, interface }),
                        w.json || args.words.json,
                    )
                }
                Some(ShowNhrpSub::Traffic(w)) => {
                    let (_, interface) = interface_words("show ip nhrp traffic", &w.words, false)?;
                    (
                        Request::ShowIpNhrpTraffic(InterfaceFilter { interface }),
                        w.json || args.words.json,
                    )
                }
                Some(ShowNhrpSub::Shortcut(w)) => {
                    let (_, interface) = interface_words("show ip nhrp shortcut", &w.words, false)?;
                    (
                        Request::ShowIpNhrpShortcut(InterfaceFilter { interface }),
                        w.json || args.words.json,
                    )
                }
            }
        }
    })
}

fn peer_interface_words(
    command: &str,
    words: &[String],
    allow_static: bool,
) -> anyhow::Result<(Option<PeerFilter>, Option<String>, bool)> {
    let mut c = Cursor::new(command, words);
    let (mut peer, mut iface, mut stat) = (None, None, false);
    while let Some(w) = c.next() {
        match lower(w).as_str() {
            "peer" => {
                let p = c.peer()?;
                c.set_once(&mut peer, p, "peer")?;
            }
            "interface" => {
                let i = c.interface()?;
                c.set_once(&mut iface, i, "interface")?;
            }
            "static" if allow_static => stat = true,
            _ => {
                let exp = if allow_static {
                    "peer {nbma|tunnel} IP, interface TunnelN or static"
                } else {
                    "peer {nbma|tunnel} IP or interface TunnelN"
                };
                return Err(c.unexpected(w, exp));
            }
        }
    }
    Ok((peer, iface, stat))
}

/// The request and the `--json` switch of a `clear` command.
pub fn clear_request(cmd: &Clear) -> anyhow::Result<(Request, bool)> {
    Ok(match cmd {
        Clear::Crypto(w) => (crypto::clear(&w.words)?, w.json),
        Clear::Ip(ClearIp::Nhrp(w)) => {
            let mut c = Cursor::new("clear ip nhrp", &w.words);
            let mut q = ClearIpNhrp::default();
            while let Some(word) = c.next() {
                match lower(word).as_str() {
                    "interface" => {
                        let i = c.interface()?;
                        c.set_once(&mut q.interface, i, "interface")?;
                    }
                    // AOS spelling: `clear ip nhrp tunnel 1`.
                    "tunnel" => {
                        let n = c.expect("a tunnel number")?;
                        c.set_once(
                            &mut q.interface,
                            normalize_interface(&format!("tunnel{n}")),
                            "tunnel",
                        )?;
                    }
                    _ => match word.parse::<IpAddr>() {
                        Ok(a) => c.set_once(&mut q.address, a, "an address")?,
                        Err(_) => {
                            return Err(c.unexpected(word, "an IP address or interface TunnelN"));
                        }
                    },
                }
            }
            if q.address.is_some() && q.interface.is_some() {
                bail!("`clear ip nhrp` takes an address or an interface, not both");
            }
            (Request::ClearIpNhrp(q), w.json)
        }
        Clear::Dmvpn(ClearDmvpn::Session(w)) => {
            let (peer, interface, include_static) =
                peer_interface_words("clear dmvpn session", &w.words, true)?;
            (
                Request::ClearDmvpnSession(ClearDmvpnSession {
                    peer,
                    interface,
                    include_static,
                }),
                w.json,
            )
        }
        Clear::Dmvpn(ClearDmvpn::Statistics(w)) => {
            let (peer, interface, _) =
                peer_interface_words("clear dmvpn statistics", &w.words, false)?;
            (
                Request::ClearDmvpnStatistics(ClearDmvpnStatistics { peer, interface }),
                w.json,
            )
        }
        Clear::Counters(w) => {
            let mut c = Cursor::new("clear counters", &w.words);
            let first = c.expect("`tunnel N`")?;
            let iface = if first.eq_ignore_ascii_case("tunnel") {
                let n = c.expect("a tunnel number")?;
                if !n.bytes().all(|b| b.is_ascii_digit()) {
                    bail!("`clear counters tunnel`: `{n}` is not a tunnel number");
                }
                format!("Tunnel{n}")
            } else {
                let i = normalize_interface(first);
                if !i.starts_with("Tunnel") {
                    bail!("`clear counters`: expected `tunnel N`, not `{first}`");
                }
                i
            };
            if let Some(x) = c.next() {
                return Err(c.unexpected(x, "nothing more"));
            }
            (
                Request::ClearCounters(ClearCounters { interface: iface }),
                w.json,
            )
        }
    })
}

fn condition(c: &mut Cursor<'_>) -> anyhow::Result<DebugCondition> {
    let Some(w) = c.next() else {
        return Ok(DebugCondition::All);
    };
    let cond = match lower(w).as_str() {
        "peer" => match c.peer()? {
            PeerFilter::Nbma { address } => DebugCondition::PeerNbma { address },
            PeerFilter::Tunnel { address } => DebugCondition::PeerTunnel { address },
        },
        "interface" => DebugCondition::Interface {
            name: c.interface()?,
        },
        "unmatched" => DebugCondition::Unmatched,
        _ => {
            return Err(c.unexpected(w, "peer {nbma|tunnel} IP, interface TunnelN or unmatched"));
        }
    };
    if let Some(x) = c.next() {
        return Err(c.unexpected(x, "one condition per command"));
    }
    Ok(cond)
}

fn debug_nhrp(words: &[String], enable: bool) -> anyhow::Result<DebugCommand> {
    let cmd = if enable {
        "debug nhrp"
    } else {
        "no debug nhrp"
    };
    let mut c = Cursor::new(cmd, words);
    let Some(w) = c.next() else {
        return Ok(DebugCommand::Nhrp {
            kind: NhrpDebugKind::All,
        });
    };
    let out = match lower(w).as_str() {
        "packet" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Packet,
        },
        "events" | "event" | "detail" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Events,
        },
        "error" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Error,
        },
        "extension" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Extension,
        },
        "cache" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Cache,
        },
        "rate" => DebugCommand::Nhrp {
            kind: NhrpDebugKind::Rate,
        },
        "condition" => {
            return Ok(DebugCommand::Condition {
                condition: condition(&mut c)?,
            });
        }
        "capture" => {
            let path = if enable {
                let file = c.expect("a capture file name (FILE.pcapng)")?;
                // The daemon writes the file: send an absolute path.
                let abs = std::path::absolute(file)
                    .with_context(|| format!("cannot resolve capture path {file}"))?;
                Some(abs.to_string_lossy().into_owned())
            } else {
                // `no debug nhrp capture [FILE]`: the file name is optional.
                let _ = c.next();
                None
            };
            DebugCommand::NhrpCapture { path }
        }
        _ => {
            return Err(c.unexpected(
                w,
                "packet, events, error, extension, cache, rate, condition or capture FILE",
            ));
        }
    };
    if let Some(x) = c.next() {
        return Err(c.unexpected(x, "nothing more"));
    }
    Ok(out)
}

fn debug_dmvpn(words: &[String], enable: bool) -> anyhow::Result<DebugCommand> {
    let cmd = if enable {
        "debug dmvpn"
    } else {
        "no debug dmvpn"
    };
    let mut c = Cursor::new(cmd, words);
    let w = c.expect("error, detail, packet, all or condition")?;
    let level = match lower(w).as_str() {
        "error" => DmvpnDebugLevel::Error,
        "detail" => DmvpnDebugLevel::Detail,
        "packet" => DmvpnDebugLevel::Packet,
        "all" => DmvpnDebugLevel::All,
        "condition" => {
            return Ok(DebugCommand::Condition {
                condition: condition(&mut c)?,
            });
        }
        _ => return Err(c.unexpected(w, "error, detail, packet, all or condition")),
    };
    let scope = match c.next().map(lower).as_deref() {
        None | Some("all") => DmvpnDebugScope::All,
        Some("nhrp") => DmvpnDebugScope::Nhrp,
        Some("crypto") => DmvpnDebugScope::Crypto,
        Some("tunnel") => DmvpnDebugScope::Tunnel,
        Some("socket") => DmvpnDebugScope::Socket,
        Some(x) => return Err(c.unexpected(x, "nhrp, crypto, tunnel, socket or all")),
    };
    if let Some(x) = c.next() {
        return Err(c.unexpected(x, "nothing more"));
    }
    Ok(DebugCommand::Dmvpn { level, scope })
}

/// The request and the `--json` switch of `debug …` (`enable`) or
/// `no debug …`.
pub fn debug_request(cmd: &Debug, enable: bool) -> anyhow::Result<(Request, bool)> {
    let (command, json) = match cmd {
        Debug::Nhrp(w) => (debug_nhrp(&w.words, enable)?, w.json),
        Debug::Dmvpn(w) => (debug_dmvpn(&w.words, enable)?, w.json),
        Debug::Crypto(w) => (crypto::debug(&w.words)?, w.json),
    };
    Ok((Request::Debug(DebugRequest { command, enable }), json))
}

/// The request and the `--json` switch of `undebug …`.
pub fn undebug_request(cmd: &Undebug) -> anyhow::Result<(Request, bool)> {
    match cmd {
        Undebug::All(w) => {
            if let Some(x) = w.words.first() {
                bail!("`undebug all`: unexpected word `{x}`");
            }
            Ok((Request::UndebugAll, w.json))
        }
        Undebug::Nhrp(w) => debug_request(&Debug::Nhrp(w.clone()), false),
        Undebug::Dmvpn(w) => debug_request(&Debug::Dmvpn(w.clone()), false),
        Undebug::Crypto(w) => debug_request(&Debug::Crypto(w.clone()), false),
    }
}

mod crypto;

#[cfg(test)]
mod tests;

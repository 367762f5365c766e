//! Cisco-style text renderers for the snapshots.
//!
//! Each function returns the full text of one command's output, every line
//! terminated by `\n` and without trailing spaces. Layouts follow the source
//! documents: `show dmvpn [detail]`, `show ip nhrp traffic` and
//! `show dmvpn debug-condition` from the Cisco DMVPN guide, `show ip nhrp`
//! from Cisco document 41940, and the `show ip nhrp nhs` table from the AOS
//! guide (extended with priority and counters). Where a seed's whitespace is
//! lost, columns are those of IOS: `# Ent` 5, addresses 15, `State` 5,
//! `UpDn Tm` 8, `Attrb` 5.
//!
//! [`render`] picks the renderer for a response payload given the request
//! that produced it (the request says `detail` or `brief`).

use dmvpn_wire::nhrp::KnownPacketType as PacketType;
use std::fmt::Write as _;
use std::net::IpAddr;

use crate::proto::{Payload, Request};
use crate::state::{
    Ack, DebugConditions, DmvpnInterface, DmvpnPeer, DmvpnStatus, NhrpCache, NhrpCacheEntry,
    NhrpTraffic, NhrpTypeCounters, NhsReport, NhsStatus, RunningConfig, ShortcutTable,
    TrafficReport,
};
use crate::time::{ios_duration, ios_duration_or_never};

/// Renders a payload as the text of the command in `request`.
pub fn render(request: &Request, payload: &Payload) -> String {
    match payload {
        Payload::Dmvpn(s) => match request {
            Request::ShowDmvpn(q) if q.detail => dmvpn_detail(s),
            _ => dmvpn(s),
        },
        Payload::NhrpCache(c) => match request {
            Request::ShowIpNhrp(q) if q.brief => nhrp_brief(c),
            _ => nhrp(c),
        },
        Payload::Nhs(n) => match request {
            Request::ShowIpNhrpNhs(q) if q.detail => nhs_detail(n),
            _ => nhs(n),
        },
        Payload::Traffic(t) => traffic(t),
        Payload::Shortcuts(s) => shortcuts(s),
        Payload::RunningConfig(c) => running_config(c),
        Payload::DebugConditions(d) => debug_condition(d),
        Payload::Ack(a) => ack(a),
        Payload::IkeSas(r) => crate::crypto::ikev2_sa(
            r,
            matches!(request, Request::ShowCryptoIkev2Sa(q) if q.detail),
        ),
        Payload::IpsecSas(r) => crate::crypto::ipsec_sa(r),
        Payload::CryptoSessions(r) => crate::crypto::crypto_session(
            r,
            matches!(request, Request::ShowCryptoSession(q) if q.detail),
        ),
    }
}

/// Collects lines, trimming trailing spaces from each.
#[derive(Default)]
pub(crate) struct Out(pub(crate) String);

impl Out {
    pub(crate) fn line(&mut self, s: impl AsRef<str>) {
        self.0.push_str(s.as_ref().trim_end());
        self.0.push('\n');
    }
    pub(crate) fn blank(&mut self) {
        self.0.push('\n');
    }
    pub(crate) fn finish(self) -> String {
        self.0
    }
}

fn opt_ip(a: Option<IpAddr>, none: &str) -> String {
    a.map_or_else(|| none.to_owned(), |a| a.to_string())
}

// ---------------------------------------------------------------------------
// show dmvpn
// ---------------------------------------------------------------------------

const DMVPN_LEGEND: [&str; 3] = [
    "Legend: Attrb --> S - Static, D - Dynamic, I - Incomplete",
    "         N - NATed, L - Local, X - No Socket",
    "         # Ent --> Number of NHRP entries with same NBMA peer",
];

const DMVPN_HEADER: &str = "# Ent  Peer NBMA Addr Peer Tunnel Add State  UpDn Tm Attrb";
const DMVPN_RULE: &str = "----- --------------- --------------- ----- -------- -----";

fn dmvpn_row(ent: &str, nbma: &str, tunnel: &str, state: &str, updn: &str, attrb: &str) -> String {
    format!("{ent:^5} {nbma:<15} {tunnel:>15} {state:>5} {updn:>8} {attrb:<5}")
}

/// `show dmvpn`: legend, then per interface its type, peer count and one row
/// per NBMA peer.
pub fn dmvpn(status: &DmvpnStatus) -> String {
    let mut o = Out::default();
    for l in DMVPN_LEGEND {
        o.line(l);
    }
    for i in &status.interfaces {
        o.blank();
        o.line(format!(
            "{}, Type: {}, NBMA Peers: {},",
            i.name,
            i.role.as_ios(),
            i.nbma_peer_count()
        ));
        o.line(DMVPN_HEADER);
        o.line(DMVPN_RULE);
        for p in &i.peers {
            o.line(dmvpn_row(
                &p.entry_count().to_string(),
                &p.nbma.to_string(),
                &p.tunnel.to_string(),
                p.state.as_ios(),
                &ios_duration_or_never(p.up_down_secs),
                &p.attributes.letters(),
            ));
        }
    }
    o.finish()
}

fn detail_interface(o: &mut Out, i: &DmvpnInterface) {
    o.line(format!("----- Interface {} info: -----", i.name));
    o.line(format!(
        "Intf. is {}, Line Protocol is {}, Addr. is {}",
        if i.admin_up { "up" } else { "down" },
        if i.line_up { "up" } else { "down" },
        opt_ip(i.tunnel_address, "unassigned")
    ));
    o.line(format!(
        "  Source addr: {}, Dest addr: {}",
        opt_ip(i.source, "unknown"),
        opt_ip(i.destination, "MGRE")
    ));
    let transport = if i.destination.is_some() {
        "GRE/IP"
    } else {
        "multi-GRE/IP"
    };
    o.line(format!(
        "  Protocol/Transport: \"{transport}\", Protect \"{}\",",
        i.protection.as_deref().unwrap_or("")
    ));
    o.line("  Tunnel VRF \"\" ip vrf forwarding \"\"");
    o.blank();
    if !i.nhs.is_empty() {
        let mut s = String::from("NHRP Details: NHS:");
        for n in &i.nhs {
            let _ = write!(s, " {} {}", n.address, n.letters());
        }
        o.line(s);
        o.blank();
    }
    o.line(format!(
        "Type: {}, NBMA Peers: {}",
        i.role.as_ios(),
        i.nbma_peer_count()
    ));
    for (k, p) in i.peers.iter().enumerate() {
        if k > 0 {
            o.blank();
        }
        detail_peer(o, i, p);
    }
    o.blank();
}

fn detail_peer(o: &mut Out, i: &DmvpnInterface, p: &DmvpnPeer) {
    o.line(format!("{DMVPN_HEADER} Target Network"));
    o.line(format!("{DMVPN_RULE} --------------"));
    let ent = p.entry_count().to_string();
    let nbma = p.nbma.to_string();
    let tunnel = p.tunnel.to_string();
    if p.entries.is_empty() {
        let target = crate::state::Prefix::host(p.tunnel).to_string();
        o.line(format!(
            "{} {target}",
            dmvpn_row(
                &ent,
                &nbma,
                &tunnel,
                p.state.as_ios(),
                &ios_duration_or_never(p.up_down_secs),
                &p.attributes.letters()
            )
        ));
    }
    for (k, e) in p.entries.iter().enumerate() {
        let (ent, nbma, tunnel) = if k == 0 {
            (ent.as_str(), nbma.as_str(), tunnel.as_str())
        } else {
            ("", "", "")
        };
        o.line(format!(
            "{} {}",
            dmvpn_row(
                ent,
                nbma,
                tunnel,
                e.state.as_ios(),
                &ios_duration_or_never(e.up_down_secs),
                &e.attributes.letters()
            ),
            e.target
        ));
    }
    o.blank();
    if let Some(c) = &p.crypto {
        for l in crate::crypto::dmvpn_detail_lines(c).lines() {
            o.line(l);
        }
    }
    o.line(format!(
        "GRE FLOW: local {} remote {}",
        opt_ip(i.source, "unknown"),
        p.nbma
    ));
    o.line(format!(
        "      Inbound: #pkts {} #bytes {}",
        p.counters.packets_in, p.counters.bytes_in
    ));
    o.line(format!(
        "      Outbound: #pkts {} #bytes {}",
        p.counters.packets_out, p.counters.bytes_out
    ));
}

/// `show dmvpn detail`: legend, then per interface its state, NHS status and
/// one block per peer with its target networks and counters, then the
/// pending sessions.
pub fn dmvpn_detail(status: &DmvpnStatus) -> String {
    let mut o = Out::default();
    for l in DMVPN_LEGEND {
        o.line(l);
    }
    for i in &status.interfaces {
        detail_interface(&mut o, i);
    }
    o.line("Pending DMVPN Sessions:");
    for s in &status.pending_sessions {
        o.line(format!(
            "{:<10} {:<15} {:>15} {:>5} {:>8}",
            s.interface,
            opt_ip(s.nbma, "-"),
            opt_ip(s.tunnel, "-"),
            s.state.as_ios(),
            ios_duration(s.age_secs)
        ));
    }
    o.finish()
}

// ---------------------------------------------------------------------------
// show ip nhrp
// ---------------------------------------------------------------------------

fn nhrp_entry(o: &mut Out, e: &NhrpCacheEntry) {
    let head = match e.via {
        Some(via) => format!("{} via {via}, {}", e.prefix, e.interface),
        None => format!("{}, {}", e.prefix, e.interface),
    };
    let expire = match e.expire_secs {
        Some(s) => format!("expire {}", ios_duration(s)),
        None => "never expire".to_owned(),
    };
    o.line(format!(
        "{head} created {}, {expire}",
        ios_duration(e.created_secs)
    ));
    let flags = e.flags.words();
    let flags = if flags.is_empty() {
        "none".to_owned()
    } else {
        flags.join(" ")
    };
    o.line(format!("  Type: {}, Flags: {flags}", e.entry_type.as_ios()));
    if let Some(nbma) = e.nbma {
        match e.claimed_nbma {
            Some(c) if c != nbma => o.line(format!(
                "  NBMA address: {nbma} (Claimed NBMA address: {c})"
            )),
            _ => o.line(format!("  NBMA address: {nbma}")),
        }
    }
}

/// `show ip nhrp`: three lines per entry, as in Cisco document 41940.
pub fn nhrp(cache: &NhrpCache) -> String {
    let mut o = Out::default();
    for e in &cache.entries {
        nhrp_entry(&mut o, e);
    }
    o.finish()
}

/// `show ip nhrp brief`: a legend, then one line per entry.
pub fn nhrp_brief(cache: &NhrpCache) -> String {
    let mut o = Out::default();
    o.line("Legend: Type --> S - Static, D - Dynamic, I - Incomplete, N - Negative");
    o.line("        Flags --> R - router, i - implicit, a - authoritative, u - unique,");
    o.line("                  r - registered, U - used, n - nat, l - local");
    o.blank();
    let row =
        |t: &str, v: &str, n: &str, f: &str, i: &str| format!("{t:<18} {v:<15} {n:<15} {f:<8} {i}");
    o.line(row("Target", "Via", "NBMA", "T/Flags", "Interface"));
    o.line(row(
        "------------------",
        "---------------",
        "---------------",
        "--------",
        "---------",
    ));
    for e in &cache.entries {
        let t = match e.entry_type {
            crate::state::EntryType::Static => 'S',
            crate::state::EntryType::Dynamic => 'D',
            crate::state::EntryType::Incomplete => 'I',
            crate::state::EntryType::Negative => 'N',
        };
        o.line(row(
            &e.prefix.to_string(),
            &opt_ip(e.via, "-"),
            &opt_ip(e.nbma, "-"),
            &format!("{t}/{}", e.flags.letters()),
            &e.interface,
        ));
    }
    o.finish()
}

// ---------------------------------------------------------------------------
// show ip nhrp nhs
// ---------------------------------------------------------------------------

/// `show ip nhrp nhs`: the AOS table (interface, NHS, status) with priority,
/// cluster and registration counters.
pub fn nhs(report: &NhsReport) -> String {
    let mut o = Out::default();
    let row = |c: [&str; 8]| {
        format!(
            "{:<10} {:<15} {:<6} {:>8} {:>7} {:>10} {:>10} {:>10}",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        )
    };
    o.line(row([
        "INTERFACE",
        "NHS",
        "STATUS",
        "PRIORITY",
        "CLUSTER",
        "REQ-SENT",
        "REQ-FAILED",
        "REPL-RECV",
    ]));
    for n in &report.servers {
        o.line(row([
            &n.interface,
            &n.address.to_string(),
            n.state.as_ios(),
            &n.priority.to_string(),
            &n.cluster.to_string(),
            &n.requests_sent.to_string(),
            &n.requests_failed.to_string(),
            &n.replies_received.to_string(),
        ]));
    }
    o.finish()
}

fn interfaces_in_order<'a, T>(items: &'a [T], name: impl Fn(&T) -> &str) -> Vec<&'a str>
where
    T: 'a,
{
    let mut names: Vec<&str> = Vec::new();
    for it in items {
        let n = name(it);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

fn nhs_detail_line(n: &NhsStatus) -> String {
    let mut s = format!(
        "{:<15} {:<2} NBMA Address: {} priority = {} cluster = {}  req-sent {}  req-failed {}  repl-recv {}",
        n.address.to_string(),
        n.letters(),
        opt_ip(n.nbma, "unknown"),
        n.priority,
        n.cluster,
        n.requests_sent,
        n.requests_failed,
        n.replies_received
    );
    if n.unanswered > 0 {
        let _ = write!(s, "  unanswered {}", n.unanswered);
    }
    if let Some(ago) = n.last_reply_secs {
        let _ = write!(s, " ({} ago)", ios_duration(ago));
    }
    let _ = write!(s, " {}", n.state.as_ios());
    s
}

/// `show ip nhrp nhs detail`: IOS's per-interface detail lines.
pub fn nhs_detail(report: &NhsReport) -> String {
    let mut o = Out::default();
    o.line("Legend: E=Expecting replies, R=Responding, W=Waiting");
    for iface in interfaces_in_order(&report.servers, |n| n.interface.as_str()) {
        o.line(format!("{iface}:"));
        for n in report.servers.iter().filter(|n| n.interface == iface) {
            o.line(nhs_detail_line(n));
        }
    }
    o.finish()
}

// ---------------------------------------------------------------------------
// show ip nhrp traffic
// ---------------------------------------------------------------------------

fn traffic_counts(o: &mut Out, label: &str, c: &NhrpTypeCounters) {
    o.line(format!("  {label}: Total {}", c.total));
    // IOS prints the types three to a line, in wire order, under their RFC names.
    for row in PacketType::ALL.chunks(3) {
        let mut line = String::new();
        for (k, t) in row.iter().enumerate() {
            let n = c.get(*t);
            let last = k + 1 == row.len();
            let cell = match (k, last) {
                (0, false) => format!("{n:>10} {:<18}", t.name()),
                (0, true) => format!("{n:>10} {}", t.name()),
                (_, false) => format!("{n:>5} {:<18}", t.name()),
                (_, true) => format!("{n:>5} {}", t.name()),
            };
            line.push_str(&cell);
        }
        o.line(line);
    }
}

fn traffic_interface(o: &mut Out, t: &NhrpTraffic) {
    o.line(format!(
        "{}: Max-send limit:{}Pkts/{}Sec, Usage:{}%",
        t.interface, t.max_send.packets, t.max_send.interval_secs, t.max_send.usage_percent
    ));
    traffic_counts(o, "Sent", &t.sent);
    traffic_counts(o, "Rcvd", &t.received);
    traffic_accounting(o, t);
}

/// The lines IOS does not print, only when they have something to say: packets of unknown
/// types, the established peers' budget, engine drops by reason, GRE-level drops.
fn traffic_accounting(o: &mut Out, t: &NhrpTraffic) {
    if t.identity_refused > 0 {
        o.line(format!(
            "  Identity-bound: {} refused (IKE identity may not claim the address)",
            t.identity_refused
        ));
    }
    if t.received.other > 0 || t.sent.other > 0 {
        o.line(format!(
            "  Other (unknown type): {} sent, {} rcvd",
            t.sent.other, t.received.other
        ));
    }
    if t.max_send.established_sent > 0 || t.max_send.established_usage_percent > 0 {
        o.line(format!(
            "  Established peers: {} replies sent from their own budget, Usage:{}%",
            t.max_send.established_sent, t.max_send.established_usage_percent
        ));
    }
    if !t.drops.is_empty() {
        let list: Vec<String> = t.drops.iter().map(|(r, n)| format!("{n} {r}")).collect();
        o.line(format!("  Rcvd dropped: {}", list.join(", ")));
    }
    if let Some(g) = t.gre.filter(|g| g.total() > 0) {
        let cells = [
            ("truncated", g.truncated),
            ("bad version", g.bad_version),
            ("bad flags", g.bad_flags),
            ("bad checksum", g.bad_checksum),
            ("inner malformed", g.inner_malformed),
            ("key mismatch", g.key_mismatch),
            ("unknown protocol", g.unknown_protocol),
            ("wrong source", g.wrong_source),
            ("protection", g.protection),
            ("transport", g.transport),
        ];
        let list: Vec<String> = cells
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        o.line(format!(
            "  GRE dropped: Total {}, {}",
            g.total(),
            list.join(", ")
        ));
    }
}

/// `show ip nhrp traffic`: per interface, the max-send limit and its usage,
/// then sent and received counts per packet type.
pub fn traffic(report: &TrafficReport) -> String {
    let mut o = Out::default();
    for t in &report.interfaces {
        traffic_interface(&mut o, t);
    }
    o.finish()
}

// ---------------------------------------------------------------------------
// show ip nhrp shortcut, show running-config, acknowledgements
// ---------------------------------------------------------------------------

/// `show ip nhrp shortcut`: shortcut entries in the `show ip nhrp` layout.
pub fn shortcuts(table: &ShortcutTable) -> String {
    let mut o = Out::default();
    for s in &table.shortcuts {
        let expire = match s.expire_secs {
            Some(x) => format!("expire {}", ios_duration(x)),
            None => "never expire".to_owned(),
        };
        o.line(format!(
            "{} via {}, {} created {}, {expire}",
            s.target,
            s.next_hop,
            s.interface,
            ios_duration(s.created_secs)
        ));
        o.line(format!(
            "  Type: dynamic, Flags: router{}",
            if s.installed { " rib" } else { "" }
        ));
        if let Some(n) = s.nbma {
            o.line(format!("  NBMA address: {n}"));
        }
    }
    o.finish()
}

/// `show running-config`: the text, newline-terminated.
pub fn running_config(c: &RunningConfig) -> String {
    let mut s = c.text.clone();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Clear and debug answers: the message line, if any.
pub fn ack(a: &Ack) -> String {
    if a.message.is_empty() {
        String::new()
    } else {
        format!("{}\n", a.message.trim_end())
    }
}

// ---------------------------------------------------------------------------
// show dmvpn debug-condition
// ---------------------------------------------------------------------------

fn on_levels(l: &crate::debug::DebugLevels) -> String {
    let mut v = Vec::new();
    if l.error {
        v.push("error");
    }
    if l.detail {
        v.push("detail");
    }
    if l.packet {
        v.push("packet");
    }
    v.join(" ")
}

/// `show dmvpn debug-condition`: the conditions as in the Cisco guide, then
/// the debugging switches that are on and the capture.
pub fn debug_condition(d: &DebugConditions) -> String {
    let mut o = Out::default();
    o.line("NBMA addresses under debug are:");
    for a in &d.peer_nbma {
        o.line(format!("{a},"));
    }
    o.line("Tunnel addresses under debug are:");
    for a in &d.peer_tunnel {
        o.line(format!("{a},"));
    }
    o.line("Interfaces under debug are:");
    for i in &d.interfaces {
        o.line(format!("{i},"));
    }
    o.line("Crypto DMVPN filters:");
    for i in &d.interfaces {
        o.line(format!("Interface = {i}"));
    }
    for a in &d.peer_nbma {
        o.line(format!("Peer NBMA = {a}"));
    }
    for a in &d.peer_tunnel {
        o.line(format!("Peer Tunnel = {a}"));
    }
    o.blank();
    o.line(format!(
        "DMVPN Conditional debug context unmatched flag: {}",
        if d.unmatched { "ON" } else { "OFF" }
    ));
    o.blank();
    o.line("Debugging on:");
    let n = d.nhrp;
    let mut any = false;
    for (on, what) in [
        (n.packet, "NHRP packet"),
        (n.events, "NHRP events"),
        (n.error, "NHRP errors"),
        (n.extension, "NHRP extension processing"),
        (n.cache, "NHRP cache"),
        (n.rate, "NHRP rate limiting"),
    ] {
        if on {
            o.line(format!("  {what} debugging is on"));
            any = true;
        }
    }
    for (scope, l) in [
        ("nhrp", &d.dmvpn.nhrp),
        ("crypto", &d.dmvpn.crypto),
        ("tunnel", &d.dmvpn.tunnel),
        ("socket", &d.dmvpn.socket),
    ] {
        if l.any() {
            o.line(format!("  DMVPN {scope} debugging is on: {}", on_levels(l)));
            any = true;
        }
    }
    if let Some(c) = &d.capture {
        o.line(format!(
            "  NHRP packet capture to {} is on ({} packets)",
            c.path, c.packets
        ));
        any = true;
    }
    if d.crypto_ikev2 {
        o.line("  IKEv2 default debugging is on");
        any = true;
    }
    if !any {
        o.line("  none");
    }
    o.finish()
}

// ---------------------------------------------------------------------------
// Snapshot normalisation
// ---------------------------------------------------------------------------

/// Placeholder that [`normalize_times`] puts in place of a duration.
pub const TIME_PLACEHOLDER: &str = "hh:mm:ss";

/// Whether `t` is a duration as [`crate::time::ios_duration`] prints it.
fn is_ios_duration(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |s: Option<&[u8]>| s.is_some_and(|s| !s.is_empty() && s.iter().all(u8::is_ascii_digit));
    if b.len() == 8 && b.get(2) == Some(&b':') && b.get(5) == Some(&b':') {
        return digits(b.get(0..2)) && digits(b.get(3..5)) && digits(b.get(6..8));
    }
    // 1d02h, 3w0d, 1y2w: digits, unit, digits, unit.
    [(b'd', b'h'), (b'w', b'd'), (b'y', b'w')]
        .iter()
        .any(|&(u1, u2)| {
            b.last() == Some(&u2)
                && b.iter().position(|&c| c == u1).is_some_and(|i| {
                    digits(b.get(..i)) && digits(b.get(i + 1..b.len().saturating_sub(1)))
                })
        })
}

/// Replaces every duration in rendered text (`00:57:27`, `1d02h`, `3w0d`)
/// with [`TIME_PLACEHOLDER`], keeping right-aligned columns aligned, so that
/// output of a live node can be compared with a snapshot. `never` is kept:
/// it is a state, not a measurement.
pub fn normalize_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (k, line) in text.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let mut rest = line;
        while !rest.is_empty() {
            let start = rest.find(|c: char| c != ' ').unwrap_or(rest.len());
            let (spaces, tail) = rest.split_at(start);
            let end = tail.find(' ').unwrap_or(tail.len());
            let (token, after) = tail.split_at(end);
            let core = token.trim_start_matches('(').trim_end_matches([',', ')']);
            if !core.is_empty() && is_ios_duration(core) {
                let shorter = TIME_PLACEHOLDER.len().saturating_sub(core.len());
                let keep = spaces
                    .len()
                    .saturating_sub(shorter)
                    .max(usize::from(!spaces.is_empty()));
                out.push_str(&spaces[..keep.min(spaces.len())]);
                out.push_str(&token.replacen(core, TIME_PLACEHOLDER, 1));
            } else {
                out.push_str(spaces);
                out.push_str(token);
            }
            rest = after;
        }
    }
    out
}

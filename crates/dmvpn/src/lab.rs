//! `dmvpn lab [--spokes N] [--phase 1|2|3] [--keep | --down] [--json]`: builds a hub and N
//! spokes in network namespaces (each with a LAN host behind it), starts `dmvpn daemon` in
//! each, walks through seed 003's spoke-to-spoke scenario (the host behind spoke 1 pings the
//! host behind spoke 2) and reports what happened, then removes everything.
//!
//! The namespace work is `dmvpn_daemon::lab`; this module owns the arguments, the walk-through
//! and the report (text or `--json`), and removing the lab on every exit path (success, failure,
//! Ctrl-C, SIGTERM).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use dmvpn_daemon::lab::{self, Lab, LabSpec, Phase, PingResult};
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of spokes (2 to 50).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=50))]
    pub spokes: u8,
    /// DMVPN phase: 1 (point-to-point GRE spokes, all traffic via the hub), 2 (mGRE spokes
    /// resolve each other on demand) or 3 (the hub redirects, spokes install shortcuts).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub phase: u8,
    /// Leave the lab up after the walk-through and print each node's control socket.
    #[arg(long, conflicts_with = "down")]
    pub keep: bool,
    /// Remove a lab left up by `--keep`.
    #[arg(long)]
    pub down: bool,
    /// Print a machine-readable report on stdout instead of the walk-through text.
    #[arg(long)]
    pub json: bool,
    /// Lab name: the prefix of its namespaces (at most 10 letters, digits or dashes).
    #[arg(long, default_value = "dmvpnlab", value_parser = parse_name)]
    pub name: String,
}

fn parse_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 10 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("use 1 to 10 letters, digits or dashes".to_string());
    }
    Ok(s.to_string())
}

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    phase: u8,
    spokes: usize,
    error: Option<String>,
    pings: Vec<PingReport>,
    registrations: Vec<Registration>,
    shortcut: ShortcutReport,
    hub_relayed_before: Option<u64>,
    hub_relayed_after: Option<u64>,
    path: Vec<String>,
    sockets: Vec<SocketReport>,
    kept: bool,
}

#[derive(Debug, Serialize)]
struct PingReport {
    stage: String,
    from: Ipv4Addr,
    to: Ipv4Addr,
    transmitted: u32,
    received: u32,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct Registration {
    spoke: String,
    registered: bool,
}

#[derive(Debug, Serialize, Default)]
struct ShortcutReport {
    /// Spoke 1 holds a direct mapping or shortcut to spoke 2.
    spoke1_to_spoke2: bool,
    /// Spoke 2 holds a direct mapping or shortcut to spoke 1.
    spoke2_to_spoke1: bool,
}

#[derive(Debug, Serialize)]
struct SocketReport {
    node: String,
    namespace: String,
    socket: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !lab::is_root() {
        eprintln!(
            "dmvpn lab: needs root: it creates network namespaces, TUN devices and raw sockets. Run it with sudo."
        );
        return Ok(ExitCode::from(2));
    }
    let state_dir = lab::default_state_dir(&args.name);
    if args.down {
        let n = lab::teardown_prefix(&args.name, &state_dir)?;
        if n == 0 {
            println!("no lab named `{}` is up", args.name);
        } else {
            println!("removed lab `{}` ({n} namespaces)", args.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let phase = Phase::from_number(args.phase).context("phase must be 1, 2 or 3")?;
    let exe = std::env::current_exe().context("cannot find the dmvpn binary")?;
    let mut spec = LabSpec::new(&args.name, usize::from(args.spokes), phase, exe);
    spec.state_dir = state_dir.clone();
    // A kept lab's daemons outlive this process; otherwise they end with it.
    spec.bind_daemons = !args.keep;

    // Ctrl-C / SIGTERM: remove the lab (unless it is being kept) and exit.
    let keep_flag = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(args.name.clone(), state_dir, keep_flag.clone())?;

    let report = Arc::new(Mutex::new(None));
    let result = walk_through(&args, spec, &keep_flag, &report);
    let mut report = report
        .lock()
        .ok()
        .and_then(|mut r| r.take())
        .unwrap_or_else(|| empty_report(&args));
    if let Err(err) = &result {
        report.ok = false;
        report.error = Some(format!("{err:#}"));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Err(err) = &result {
        eprintln!("dmvpn lab: error: {err:#}");
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn empty_report(args: &Args) -> Report {
    Report {
        ok: false,
        phase: args.phase,
        spokes: usize::from(args.spokes),
        error: None,
        pings: Vec::new(),
        registrations: Vec::new(),
        shortcut: ShortcutReport::default(),
        hub_relayed_before: None,
        hub_relayed_after: None,
        path: Vec::new(),
        sockets: Vec::new(),
        kept: false,
    }
}

fn install_interrupt_handler(
    name: String,
    state_dir: PathBuf,
    keep: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal runtime")?;
    std::thread::spawn(move || {
        runtime.block_on(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            if !keep.load(Ordering::SeqCst) {
                eprintln!("dmvpn lab: interrupted; removing the lab");
                let _ = lab::teardown_prefix(&name, &state_dir);
            }
            std::process::exit(130);
        });
    });
    Ok(())
}

/// Says what is happening (text mode only; `--json` keeps stdout for the report).
struct Say {
    quiet: bool,
}

impl Say {
    fn line(&self, text: impl AsRef<str>) {
        if !self.quiet {
            println!("{}", text.as_ref());
        }
    }
}

fn walk_through(
    args: &Args,
    spec: LabSpec,
    keep_flag: &AtomicBool,
    out: &Mutex<Option<Report>>,
) -> anyhow::Result<()> {
    let say = Say { quiet: args.json };
    let phase = spec.phase;
    let mut report = empty_report(args);
    say.line(format!(
        "== Building a phase {} lab: a hub and {} spokes, each with a LAN host (namespaces `{}-*`)",
        phase.number(),
        spec.spokes,
        spec.prefix
    ));
    let mut lab = Lab::build(spec)?;
    let result = drive(&say, &mut lab, &mut report);
    report.ok = result.is_ok() && report.pings.iter().all(|p| p.ok);
    if phase != Phase::One {
        report.ok &= report.shortcut.spoke1_to_spoke2;
    }
    report.sockets = lab
        .nodes()
        .iter()
        .map(|n| SocketReport {
            node: n.name.clone(),
            namespace: n.ns.clone(),
            socket: n.socket.clone(),
        })
        .collect();
    if args.keep {
        keep_flag.store(true, Ordering::SeqCst);
        report.kept = true;
        say.line("== Lab kept up. Control sockets:");
        for s in &report.sockets {
            say.line(format!(
                "  {:<8} dmvpn --socket {} show dmvpn     (namespace {})",
                s.node,
                s.socket.display(),
                s.namespace
            ));
        }
        say.line(format!(
            "  remove it with: dmvpn lab --down --name {}",
            args.name
        ));
        lab.keep();
    } else {
        say.line("== Removing the lab");
        drop(lab);
    }
    if let Ok(mut slot) = out.lock() {
        *slot = Some(report);
    }
    result
}

fn drive(say: &Say, lab: &mut Lab, report: &mut Report) -> anyhow::Result<()> {
    let phase = lab.spec().phase;
    for n in lab.nodes() {
        say.line(format!(
            "  {:<7} NBMA {:<12} tunnel {:<10} LAN host {}",
            n.name, n.nbma, n.tunnel, n.host
        ));
    }
    say.line("== Starting `dmvpn daemon` on every node");
    lab.start_all()?;
    say.line("== The spokes register with the hub (NHRP Registration Request/Reply)");
    let _ = lab::wait_for(Duration::from_secs(30), "the spokes to register", || {
        lab.all_registered().then_some(())
    });
    let hub_cache = lab.show_nhrp(0).map(|c| c.entries).unwrap_or_default();
    let nodes = lab.nodes().to_vec();
    for s in &nodes[1..] {
        let ok = hub_cache
            .iter()
            .any(|e| e.prefix.address == std::net::IpAddr::V4(s.tunnel));
        say.line(format!(
            "  {}: {} ({} -> NBMA {})",
            s.name,
            if ok { "registered" } else { "NOT registered" },
            s.tunnel,
            s.nbma
        ));
        report.registrations.push(Registration {
            spoke: s.name.clone(),
            registered: ok,
        });
    }
    if report.registrations.iter().any(|r| !r.registered) {
        anyhow::bail!("not every spoke registered with the hub within 30 s");
    }
    let (s1, s2) = (&nodes[1], &nodes[2]);
    let before = lab.packets_out_to(0, s2.nbma);
    report.hub_relayed_before = before;
    say.line(format!(
        "== The host behind spoke1 ({}) pings the host behind spoke2 ({})",
        s1.host, s2.host
    ));
    let first = lab.ping(1, s2.host, 5, 0.2)?;
    push_ping(report, "first", s1.host, s2.host, first);
    let mid = lab.packets_out_to(0, s2.nbma);
    say.line(format!(
        "  {} of {} echo replies; the hub relayed {} packets to spoke2",
        first.received,
        first.transmitted,
        delta(before, mid)
    ));
    report.path.push(format!(
        "first ping: via the hub ({} packets relayed)",
        delta(before, mid)
    ));
    if phase != Phase::One {
        say.line(match phase {
            Phase::Two => {
                "== spoke1 resolves spoke2's NBMA address on demand (NHRP Resolution Request via the hub); packets go via the hub meanwhile"
            }
            _ => {
                "== The hub sees the packets hairpin and sends Traffic Indications (redirect); the spokes resolve each other and install shortcuts"
            }
        });
        let got = lab::wait_for(
            Duration::from_secs(20),
            "the spoke-to-spoke mapping",
            || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
        );
        report.shortcut.spoke1_to_spoke2 = got.is_ok();
        report.shortcut.spoke2_to_spoke1 =
            lab::wait_for(Duration::from_secs(5), "the reverse mapping", || {
                lab.has_entry_with_nbma(2, s1.nbma).then_some(())
            })
            .is_ok();
        say.line(format!(
            "  spoke1 -> spoke2 direct: {}; spoke2 -> spoke1 direct: {}",
            yes(report.shortcut.spoke1_to_spoke2),
            yes(report.shortcut.spoke2_to_spoke1)
        ));
        for (i, n) in nodes.iter().enumerate() {
            if let Some(t) = nhrp_traffic(lab, i) {
                say.line(format!("  {}: {t}", n.name));
            }
        }
        if phase == Phase::Three
            && let Ok(table) = lab.show_shortcuts(1)
        {
            for s in &table.shortcuts {
                say.line(format!(
                    "  spoke1 shortcut: {} via {} ({})",
                    s.target,
                    s.next_hop,
                    s.nbma
                        .map_or("no NBMA".to_string(), |a| format!("NBMA {a}"))
                ));
            }
        }
    }
    let mid = lab.packets_out_to(0, s2.nbma);
    say.line("== The host behind spoke1 pings again");
    let second = lab.ping(1, s2.host, 10, 0.2)?;
    push_ping(report, "second", s1.host, s2.host, second);
    let after = lab.packets_out_to(0, s2.nbma);
    report.hub_relayed_after = after;
    let relayed = delta(mid, after);
    let path = if phase == Phase::One {
        format!(
            "second ping: via the hub ({relayed} packets relayed; phase 1 has no spoke-to-spoke tunnels)"
        )
    } else if relayed < u64::from(second.received) {
        format!("second ping: direct spoke1 -> spoke2 (the hub relayed {relayed} packets)")
    } else {
        format!("second ping: still via the hub ({relayed} packets relayed)")
    };
    say.line(format!(
        "  {} of {} echo replies; {path}",
        second.received, second.transmitted
    ));
    report.path.push(path);
    say.line("== show dmvpn on every node");
    for (i, n) in nodes.iter().enumerate() {
        say.line(format!("--- {} ---", n.name));
        match lab.show_dmvpn(i) {
            Ok(status) => say.line(dmvpn_mgmt::render::dmvpn(&status)),
            Err(e) => say.line(format!("(no answer: {e})")),
        }
    }
    Ok(())
}

/// The NHRP packets a node sent and received, in words (from `show ip nhrp traffic`).
fn nhrp_traffic(lab: &Lab, index: usize) -> Option<String> {
    let payload = lab
        .request(
            index,
            &dmvpn_mgmt::Request::ShowIpNhrpTraffic(dmvpn_mgmt::InterfaceFilter::default()),
        )
        .ok()?;
    let dmvpn_mgmt::Payload::Traffic(report) = payload else {
        return None;
    };
    let t = report.interfaces.first()?;
    let words = |c: &dmvpn_mgmt::NhrpTypeCounters| {
        let parts: Vec<String> = [
            (c.registration_request, "Registration Request"),
            (c.registration_reply, "Registration Reply"),
            (c.resolution_request, "Resolution Request"),
            (c.resolution_reply, "Resolution Reply"),
            (c.traffic_indication, "Traffic Indication"),
            (c.purge_request, "Purge Request"),
            (c.error_indication, "Error Indication"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, w)| format!("{n} {w}"))
        .collect();
        if parts.is_empty() {
            "nothing".to_string()
        } else {
            parts.join(", ")
        }
    };
    Some(format!(
        "sent {}; received {}",
        words(&t.sent),
        words(&t.received)
    ))
}

fn delta(a: Option<u64>, b: Option<u64>) -> u64 {
    match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn push_ping(report: &mut Report, stage: &str, from: Ipv4Addr, to: Ipv4Addr, r: PingResult) {
    report.pings.push(PingReport {
        stage: stage.to_string(),
        from,
        to,
        transmitted: r.transmitted,
        received: r.received,
        ok: r.received > 0,
    });
}

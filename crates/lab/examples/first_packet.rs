//! The first-packet benchmark (`scripts/bench-ipsec-first-packet.sh` runs it): how long a
//! new spoke-to-spoke flow takes to go direct in phase 3, with IPsec (the spokes must run
//! IKE before the first direct packet) and without (plain GRE).
//!
//! Each run builds a fresh two-spoke phase-3 lab (IPsec on or off), waits for the
//! registrations, resolves the LAN hosts' ARP entries (a ping to each host's gateway), then
//! the host behind spoke 1 pings the host behind spoke 2 every 10 ms. Three captures, all
//! stamped by the same kernel clock:
//!
//! * on the host's `eth0` (ICMP): when each echo request left, by sequence number;
//! * on the internet bridge `br0` (ESP, GRE, IKE): the first packet spoke 1 sent straight to
//!   spoke 2's NBMA address (ESP with IPsec, GRE without), and the first IKE packet between
//!   the spokes;
//! * on the hub's `Tunnel0` (the TUN device its data plane routes through, ICMP in the
//!   clear): which echoes the hub relayed, in either direction.
//!
//! Reported per run, from the first echo request: the first IKE packet between the spokes;
//! (a) the first direct ESP (or GRE) packet spoke 1 -> spoke 2; (b) when the echoes go
//! direct: the send time of the echo after the last echo request the hub relayed, and after
//! the last echo request or reply it relayed (both directions direct); (c) echoes lost.
//! Then min/median/max.
//!
//! `first_packet --exe PATH [--mode ipsec|gre|both] [--runs N] [--count ECHOES]
//! [--save-captures DIR] [--log RUST_LOG]`; needs root and tcpdump.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use dmvpn_lab::{Capture, Lab, LabError, LabSpec, Phase, ns_run, unique_prefix, wait_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ipsec,
    Gre,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Ipsec => "ipsec",
            Mode::Gre => "gre",
        }
    }
}

struct Args {
    exe: PathBuf,
    modes: Vec<Mode>,
    runs: u32,
    count: u32,
    /// Copy each run's captures and daemon logs here (`MODE-RUN-host|wire|hub.pcap`,
    /// `MODE-RUN-NODE.log`).
    save: Option<PathBuf>,
    /// `RUST_LOG` of the daemons.
    log: String,
}

fn parse_args() -> Result<Args, String> {
    let mut exe = None;
    let mut modes = vec![Mode::Ipsec, Mode::Gre];
    let mut runs = 5;
    let mut count = 300;
    let mut save = None;
    let mut log = "info".to_string();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--exe" => exe = Some(PathBuf::from(value()?)),
            "--mode" => {
                modes = match value()?.as_str() {
                    "ipsec" => vec![Mode::Ipsec],
                    "gre" => vec![Mode::Gre],
                    "both" => vec![Mode::Ipsec, Mode::Gre],
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--save-captures" => save = Some(PathBuf::from(value()?)),
            "--log" => log = value()?,
            "--count" => count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if count < 10 {
        return Err("--count: at least 10 echoes".to_string());
    }
    Ok(Args {
        exe: exe.ok_or("--exe PATH (the dmvpn binary) is required")?,
        modes,
        runs,
        count,
        save,
        log,
    })
}

/// What one run measured (milliseconds from the first echo request).
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// (a) The first ESP (GRE without IPsec) packet spoke 1 -> spoke 2 on the wire.
    first_direct: Option<f64>,
    /// The first IKE packet between the spokes (either way), with IPsec.
    first_ike: Option<f64>,
    /// The send time of the first echo after which the hub relays no echo request.
    requests_direct: Option<f64>,
    /// (b) The send time of the first echo after which the hub relays no echo, request or
    /// reply: both directions are direct.
    echoes_direct: Option<f64>,
    /// Echoes the hub relayed (requests and replies, by sequence number).
    relayed: usize,
    transmitted: u32,
    /// (c) Echoes without a reply.
    lost: u32,
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("first_packet: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!(
        "two-spoke phase-3 lab, a fresh lab per run; ping every 10 ms from the host behind spoke1 to the host behind spoke2, {} echoes",
        args.count
    );
    println!(
        "mode   run  first spoke-spoke IKE  first direct ESP/GRE  requests direct  both ways direct  relayed by hub  lost"
    );
    let mut failed = false;
    let mut all: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
    for &mode in &args.modes {
        for run in 1..=args.runs {
            match run_once(&args, mode, run) {
                Ok(s) => {
                    println!(
                        "{:<5} {run:>4}  {:>18} ms  {:>17} ms  {:>12} ms  {:>13} ms  {:>14}  {:>3} of {}",
                        mode.name(),
                        ms(s.first_ike),
                        ms(s.first_direct),
                        ms(s.requests_direct),
                        ms(s.echoes_direct),
                        s.relayed,
                        s.lost,
                        s.transmitted
                    );
                    all.entry(mode.name()).or_default().push(s);
                }
                Err(e) => {
                    failed = true;
                    println!("{:<5} {run:>4}  failed: {e}", mode.name());
                }
            }
        }
    }
    println!();
    println!(
        "min / median / max   first direct ESP/GRE ms  requests direct ms        both ways direct ms       echoes lost"
    );
    for &mode in &args.modes {
        let Some(samples) = all.get(mode.name()) else {
            continue;
        };
        let a: Vec<f64> = samples.iter().filter_map(|s| s.first_direct).collect();
        let r: Vec<f64> = samples.iter().filter_map(|s| s.requests_direct).collect();
        let b: Vec<f64> = samples.iter().filter_map(|s| s.echoes_direct).collect();
        let c: Vec<f64> = samples.iter().map(|s| f64::from(s.lost)).collect();
        println!(
            "{:<20}  {:<23}  {:<24}  {:<24}  {}",
            format!("{} ({} runs)", mode.name(), samples.len()),
            stats(&a, 1),
            stats(&r, 1),
            stats(&b, 1),
            stats(&c, 0)
        );
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |x| format!("{x:.1}"))
}

/// `min / median / max` of `v` with `decimals` digits, or `-` when empty.
fn stats(v: &[f64], decimals: usize) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let (Some(min), Some(max)) = (v.first(), v.last()) else {
        return "-".to_string();
    };
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v.get(mid).copied().unwrap_or(0.0)
    } else {
        (v.get(mid.saturating_sub(1)).copied().unwrap_or(0.0) + v.get(mid).copied().unwrap_or(0.0))
            / 2.0
    };
    format!("{min:.decimals$} / {median:.decimals$} / {max:.decimals$}")
}

fn run_once(args: &Args, mode: Mode, run: u32) -> Result<Sample, LabError> {
    let prefix = unique_prefix("bfp");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, args.exe.clone());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.protection = mode == Mode::Ipsec;
    spec.log_filter = args.log.clone();
    let mut lab = Lab::build(spec)?;
    lab.start_all()?;
    wait_for(Duration::from_secs(60), "every registration", || {
        lab.all_registered().then_some(())
    })?;
    let nodes = lab.nodes().to_vec();
    let (Some(hub), Some(s1), Some(s2)) = (nodes.first(), nodes.get(1), nodes.get(2)) else {
        return Err(LabError::Spec("the benchmark needs 2 spokes".to_string()));
    };
    // ARP between each host and its router, so that the first echo waits for nothing else.
    for n in [s1, s2] {
        let gw = n.lan_gw.to_string();
        ns_run(&n.host_ns, "ping", &["-n", "-q", "-c", "1", "-W", "2", &gw])?;
    }
    let dir = lab.state_dir().to_path_buf();
    let (host_file, wire_file, hub_file) = (
        dir.join("host.pcap"),
        dir.join("wire.pcap"),
        dir.join("hub.pcap"),
    );
    let host_cap = Capture::start(&s1.host_ns, "eth0", &host_file, "icmp")?;
    let wire_cap = Capture::start(
        &lab.inet_ns(),
        "br0",
        &wire_file,
        "ip proto 50 or ip proto 47 or udp port 500 or udp port 4500",
    )?;
    let hub_cap = Capture::start(&hub.ns, "Tunnel0", &hub_file, "icmp")?;
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &s1.host_ns,
            "ping",
            "-n",
            "-q",
            "-i",
            "0.01",
        ])
        .args(["-W", "1", "-c", &args.count.to_string()])
        .arg(s2.host.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: "ping".to_string(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = dmvpn_lab::parse_ping_summary(&text).ok_or_else(|| LabError::Command {
        command: format!("ping {}", s2.host),
        status: out.status,
        stderr: text.lines().last().unwrap_or("").to_string(),
    })?;
    // Let the captures write out what they saw.
    std::thread::sleep(Duration::from_millis(300));
    for cap in [host_cap, wire_cap, hub_cap] {
        let _ = cap.stop();
    }
    if let Some(save) = &args.save {
        for (name, file) in [
            ("host", &host_file),
            ("wire", &wire_file),
            ("hub", &hub_file),
        ] {
            let to = save.join(format!("{}-{run}-{name}.pcap", mode.name()));
            std::fs::copy(file, &to).map_err(|source| LabError::Io { path: to, source })?;
        }
        for n in &nodes {
            let to = save.join(format!("{}-{run}-{}.log", mode.name(), n.name));
            std::fs::copy(&n.log, &to).map_err(|source| LabError::Io { path: to, source })?;
        }
    }
    let host = read_pcap(&host_file)?;
    let wire = read_pcap(&wire_file)?;
    let hub_lines = read_pcap(&hub_file)?;
    drop(lab);

    let requests: BTreeMap<u32, f64> = host
        .iter()
        .filter(|l| l.text.contains("ICMP echo request"))
        .filter_map(|l| Some((icmp_seq(&l.text)?, l.at)))
        .collect();
    let Some(&t0) = requests.values().next() else {
        return Err(LabError::Timeout(
            "the host capture saw no echo request".to_string(),
        ));
    };
    let since = |t: f64| (t - t0) * 1000.0;
    let s1_to_s2 = format!("IP {} > {}:", s1.nbma, s2.nbma);
    let direct_proto = match mode {
        Mode::Ipsec => "ESP",
        Mode::Gre => "GRE",
    };
    let first_direct = wire
        .iter()
        .find(|l| l.text.contains(&s1_to_s2) && l.text.contains(direct_proto))
        .map(|l| since(l.at));
    let first_ike = wire
        .iter()
        .find(|l| {
            [(s1, s2), (s2, s1)].iter().any(|(a, b)| {
                l.text
                    .contains(&format!("IP {}.500 > {}.500:", a.nbma, b.nbma))
                    || l.text
                        .contains(&format!("IP {}.4500 > {}.4500:", a.nbma, b.nbma))
            })
        })
        .map(|l| since(l.at));
    // Sequence numbers the hub relayed: echo requests, and every echo (either way).
    let relayed_seqs = |what: &str| -> std::collections::BTreeSet<u32> {
        hub_lines
            .iter()
            .filter(|l| l.text.contains(what))
            .filter_map(|l| icmp_seq(&l.text))
            .collect()
    };
    let relayed = relayed_seqs("ICMP echo");
    // The send time of the first echo after the last relayed one.
    let direct_after = |relayed: &std::collections::BTreeSet<u32>| match relayed.last() {
        None => Some(0.0),
        Some(&last) => requests
            .range(last.saturating_add(1)..)
            .next()
            .map(|(_, &t)| since(t)),
    };
    let requests_direct = direct_after(&relayed_seqs("ICMP echo request"));
    let echoes_direct = direct_after(&relayed);
    Ok(Sample {
        first_direct,
        first_ike: first_ike.filter(|_| mode == Mode::Ipsec),
        requests_direct,
        echoes_direct,
        relayed: relayed.len(),
        transmitted: summary.transmitted,
        lost: summary.transmitted.saturating_sub(summary.received),
    })
}

/// One packet of a capture: its time stamp (seconds since the epoch) and tcpdump's decode.
struct Line {
    at: f64,
    text: String,
}

/// Reads a pcap file with `tcpdump -tt` (time stamps in seconds since the epoch).
fn read_pcap(file: &Path) -> Result<Vec<Line>, LabError> {
    let out = Command::new("tcpdump")
        .args(["-tt", "-nn", "-r"])
        .arg(file)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: "tcpdump".to_string(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (stamp, text) = l.split_once(' ')?;
            Some(Line {
                at: stamp.parse().ok()?,
                text: text.to_string(),
            })
        })
        .collect())
}

/// The `seq N` of an ICMP echo decode.
fn icmp_seq(text: &str) -> Option<u32> {
    let rest = text.split(", seq ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

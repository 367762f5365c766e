//! The dual-hub failover benchmark (`scripts/bench-failover.sh` runs it): how long LAN-to-LAN
//! traffic stops when the primary hub dies, with FRR BGP and with NHRP alone.
//!
//! Topology: seed 003's dual hub, single DMVPN layout built by the lab (hubs `10.0.0.1` and
//! `10.0.0.254`, 3 spokes registering with both, `ip nhrp nhs … priority 1|2`,
//! `ip nhrp registration timeout 5`), in phase 3 without redirects or shortcuts, so that
//! traffic following the routes goes through a hub:
//!
//! * `bgp`: FRR BGP (timers 3/9 s); the hubs send the summary `192.168.0.0/16`, the spokes
//!   prefer the first hub's (local preference);
//! * `nhrp`: no routing protocol; the spokes route `192.168.0.0/16 dev Tunnel0` (no next
//!   hop), so traffic without a mapping goes through the NHS that is up, and NHRP resolves
//!   the destination meanwhile (phase 2 resolution of a device route); the hubs route each
//!   LAN to its router with `ip route`.
//!
//! Each run pings every 10 ms from the host behind spoke 1: flow A to the host behind spoke 2
//! starts before the kill, flow B to the host behind spoke 3 starts at the kill (a flow that
//! needs a hub: nothing is resolved for it yet). The primary hub is killed as by a power cut
//! (NBMA link down, SIGKILL to its dmvpn and FRR). Reported per flow, from ping's `-D` time
//! stamps: the longest gap between two replies (A) or the time from the kill to the first
//! reply (B), and the echoes answered. (Lost echoes times 10 ms would understate the outage:
//! ping sends about 64 echoes a second at `-i 0.01` here.)
//!
//! `failover --exe PATH [--mode bgp|nhrp|both] [--runs N] [--seconds S]`; needs root and FRR.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dmvpn_lab::{Lab, LabError, LabSpec, Phase, Routing, ns_run, unique_prefix, wait_for};

/// Echo interval of the probes.
const INTERVAL: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bgp,
    Nhrp,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Bgp => "bgp",
            Mode::Nhrp => "nhrp",
        }
    }
}

/// What one flow saw.
#[derive(Debug, Clone, Copy)]
struct Flow {
    transmitted: u32,
    received: u32,
    /// Flow A: the longest gap between two consecutive replies, in seconds. Flow B: seconds
    /// from the kill to the first reply.
    outage: f64,
}

struct Args {
    exe: PathBuf,
    modes: Vec<Mode>,
    runs: u32,
    seconds: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut exe = None;
    let mut modes = vec![Mode::Bgp, Mode::Nhrp];
    let mut runs = 3;
    let mut seconds = 30;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--exe" => exe = Some(PathBuf::from(value()?)),
            "--mode" => {
                modes = match value()?.as_str() {
                    "bgp" => vec![Mode::Bgp],
                    "nhrp" => vec![Mode::Nhrp],
                    "both" => vec![Mode::Bgp, Mode::Nhrp],
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        exe: exe.ok_or("--exe PATH (the dmvpn binary) is required")?,
        modes,
        runs,
        seconds,
    })
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("failover: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!(
        "mode  run  flow A (before the kill): longest gap, echoes answered   flow B (at the kill): first reply after, echoes answered"
    );
    let mut failed = false;
    for mode in &args.modes {
        for run in 1..=args.runs {
            match run_once(&args, *mode) {
                Ok((a, b)) => println!(
                    "{:<5} {run:>3}  {:>6.2} s, {:>5} of {:<5}                         {:>6.2} s, {:>5} of {:<5}",
                    mode.name(),
                    a.outage,
                    a.received,
                    a.transmitted,
                    b.outage,
                    b.received,
                    b.transmitted
                ),
                Err(e) => {
                    failed = true;
                    println!("{:<5} {run:>3}  failed: {e}", mode.name());
                }
            }
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

fn run_once(args: &Args, mode: Mode) -> Result<(Flow, Flow), LabError> {
    let prefix = unique_prefix("fo");
    let mut spec = LabSpec::new(&prefix, 3, Phase::Three, args.exe.clone());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.dual_hub = true;
    spec.shortcuts = false;
    spec.tunnel_only = true;
    spec.registration_timeout = Some(5);
    spec.routing = match mode {
        Mode::Bgp => Routing::Bgp,
        Mode::Nhrp => Routing::Static,
    };
    let mut lab = Lab::build(spec)?;
    lab.start_all()?;
    wait_for(Duration::from_secs(60), "every registration", || {
        lab.all_registered().then_some(())
    })?;
    match mode {
        Mode::Bgp => {
            lab.start_routing()?;
            lab.wait_routing(Duration::from_secs(90))?;
        }
        Mode::Nhrp => add_device_routes(&lab)?,
    }
    let nodes = lab.nodes().to_vec();
    let (s1, s2, s3) = match (nodes.get(1), nodes.get(2), nodes.get(3)) {
        (Some(a), Some(b), Some(c)) => (a.clone(), b.clone(), c.clone()),
        _ => return Err(LabError::Spec("the benchmark needs 3 spokes".to_string())),
    };
    // Flow A is up before the kill.
    wait_for(Duration::from_secs(30), "flow A to get replies", || {
        lab.ping(1, s2.host, 3, 0.1)
            .ok()
            .filter(|r| r.received > 0)
            .map(|_| ())
    })?;
    let flow_a = Ping::start(&s1.host_ns, s2.host, args.seconds)?;
    std::thread::sleep(Duration::from_secs(3));
    let killed_at = now_secs();
    lab.kill_node(0);
    let flow_b = Ping::start(&s1.host_ns, s3.host, args.seconds.saturating_sub(3))?;
    let a = flow_a.finish()?;
    let b = flow_b.finish()?;
    drop(lab);
    Ok((
        Flow {
            transmitted: a.transmitted,
            received: a.received(),
            outage: a.longest_gap(),
        },
        Flow {
            transmitted: b.transmitted,
            received: b.received(),
            outage: b
                .replies
                .first()
                .map_or(f64::from(args.seconds), |t| t - killed_at),
        },
    ))
}

/// NHRP alone: the spokes route every LAN into the tunnel without a next hop, so unresolved
/// traffic goes through the NHS that is up; the hubs route each LAN to its router.
fn add_device_routes(lab: &Lab) -> Result<(), LabError> {
    let nodes = lab.nodes();
    for n in nodes {
        if n.hub {
            for other in nodes.iter().filter(|o| o.tunnel != n.tunnel) {
                let dst = format!("{}/24", other.lan_net());
                let via = other.tunnel.to_string();
                ns_run(
                    &n.ns,
                    "ip",
                    &["route", "replace", &dst, "via", &via, "dev", "Tunnel0"],
                )?;
            }
        } else {
            ns_run(
                &n.ns,
                "ip",
                &["route", "replace", "192.168.0.0/16", "dev", "Tunnel0"],
            )?;
        }
    }
    Ok(())
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A running `ping -D -i 0.01 -w SECONDS` from a namespace.
struct Ping {
    child: Child,
    dst: Ipv4Addr,
}

/// What a finished ping printed.
struct PingOutput {
    transmitted: u32,
    /// The time stamps (`-D`, seconds since the epoch) of the replies, in order.
    replies: Vec<f64>,
}

impl PingOutput {
    fn received(&self) -> u32 {
        u32::try_from(self.replies.len()).unwrap_or(u32::MAX)
    }

    fn longest_gap(&self) -> f64 {
        self.replies
            .windows(2)
            .filter_map(|w| match w {
                [a, b] => Some(b - a),
                _ => None,
            })
            .fold(0.0, f64::max)
    }
}

impl Ping {
    fn start(ns: &str, dst: Ipv4Addr, seconds: u32) -> Result<Ping, LabError> {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "ping", "-n", "-D", "-W", "1"])
            .args(["-i", &INTERVAL.to_string(), "-w", &seconds.to_string()])
            .arg(dst.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: "ping".to_string(),
                source,
            })?;
        Ok(Ping { child, dst })
    }

    fn finish(self) -> Result<PingOutput, LabError> {
        let out = self
            .child
            .wait_with_output()
            .map_err(|source| LabError::Spawn {
                program: "ping".to_string(),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let summary = dmvpn_lab::parse_ping_summary(&text).ok_or_else(|| LabError::Command {
            command: format!("ping {}", self.dst),
            status: out.status,
            stderr: text.lines().last().unwrap_or("").to_string(),
        })?;
        let replies = text
            .lines()
            .filter(|l| l.contains("bytes from"))
            .filter_map(|l| {
                let stamp = l.strip_prefix('[')?.split(']').next()?;
                stamp.parse::<f64>().ok()
            })
            .collect();
        Ok(PingOutput {
            transmitted: summary.transmitted,
            replies,
        })
    }
}

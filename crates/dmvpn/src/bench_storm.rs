//! `dmvpn bench storm`: a hub restart storm with real daemons. Builds a lab of N spokes in
//! network namespaces (IPsec on by default), waits until every spoke is registered, kills
//! the hub's daemon (SIGKILL: it forgets everything) and starts it again, then measures how
//! long until every spoke is registered again (and, with IPsec, has a READY IKE SA with the
//! hub), and the hub's CPU seconds and NHRP counters over the recovery.
//!
//! The spokes notice the hub is back at their next registration (`ip nhrp registration
//! timeout`, jittered to 90-100 %), and their IPsec is rebuilt when the hub, which no longer
//! knows their SPIs, starts IKE towards them.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

#[derive(clap::Args, Debug)]
pub struct StormArgs {
    /// Number of spokes: real daemons, each in its own namespace (needs root).
    #[arg(long, default_value_t = 50)]
    pub spokes: usize,
    /// Run GRE and NHRP in the clear.
    #[arg(long)]
    pub no_ipsec: bool,
    /// The spokes' `ip nhrp registration timeout` in seconds: how soon they register again.
    #[arg(long, default_value_t = 10)]
    pub registration_timeout: u32,
    /// Give up after this many seconds (for the first convergence, and for the recovery).
    #[arg(long, default_value_t = 900)]
    pub deadline: u64,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What the storm measured.
#[derive(Debug, serde::Serialize)]
pub struct StormReport {
    pub spokes: usize,
    pub ipsec: bool,
    pub registration_timeout_secs: u32,
    /// From starting every daemon to every spoke registered (and protected).
    pub initial_convergence_secs: f64,
    /// From the hub's restart to every spoke registered (and protected) again.
    pub recovery_secs: f64,
    /// The restarted hub's CPU time (user + system) until the recovery.
    pub hub_cpu_secs: f64,
    /// Registration Requests the restarted hub received until the recovery.
    pub registrations_received: u64,
    /// Packets the restarted hub held back under `ip nhrp max-send`.
    pub max_send_dropped: u64,
}

pub fn run(args: &StormArgs) -> anyhow::Result<ExitCode> {
    let report = storm(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "hub restart storm: {} spokes{}, registration timeout {} s\n  initial convergence  {:.1} s\n  recovery after the hub's restart  {:.1} s\n  hub CPU over the recovery  {:.2} s\n  Registration Requests received  {}\n  held back by max-send  {}",
            report.spokes,
            if report.ipsec { " with IPsec" } else { "" },
            report.registration_timeout_secs,
            report.initial_convergence_secs,
            report.recovery_secs,
            report.hub_cpu_secs,
            report.registrations_received,
            report.max_send_dropped
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Spokes the hub has registered at their current NBMA address.
fn registered(lab: &Lab) -> usize {
    let Ok(cache) = lab.show_nhrp(0) else {
        return 0;
    };
    lab.nodes()
        .iter()
        .skip(1)
        .filter(|s| {
            cache.entries.iter().any(|e| {
                e.prefix.address == IpAddr::V4(s.tunnel) && e.nbma == Some(IpAddr::V4(s.nbma))
            })
        })
        .count()
}

/// `show WHAT --json` of the hub, parsed (default when it does not answer).
pub(crate) fn hub_json<T: serde::de::DeserializeOwned + Default>(lab: &Lab, what: &[&str]) -> T {
    node_json(lab, 0, what)
}

/// `show WHAT --json` of node `index`, parsed (default when it does not answer).
pub(crate) fn node_json<T: serde::de::DeserializeOwned + Default>(
    lab: &Lab,
    index: usize,
    what: &[&str],
) -> T {
    let Ok(exe) = std::env::current_exe() else {
        return T::default();
    };
    let Some(node) = lab.nodes().get(index) else {
        return T::default();
    };
    let socket = node.socket.to_string_lossy().into_owned();
    let mut args = vec!["--socket", socket.as_str(), "show"];
    args.extend_from_slice(what);
    args.push("--json");
    let out = lab::run(&exe.to_string_lossy(), &args).unwrap_or_default();
    serde_json::from_str(&out).unwrap_or_default()
}

fn ready_sas(lab: &Lab) -> usize {
    hub_json::<dmvpn_mgmt::IkeSaReport>(lab, &["crypto", "ikev2", "sa"])
        .sas
        .iter()
        .filter(|s| s.status == dmvpn_mgmt::IkeSaStatus::Ready)
        .count()
}

fn converged(lab: &Lab, spokes: usize, ipsec: bool) -> bool {
    registered(lab) == spokes && (!ipsec || ready_sas(lab) >= spokes)
}

/// Waits until `converged`, polling.
fn wait(lab: &Lab, args: &StormArgs, what: &str) -> anyhow::Result<()> {
    lab::wait_for(Duration::from_secs(args.deadline), what, || {
        converged(lab, args.spokes, !args.no_ipsec).then_some(())
    })
    .with_context(|| {
        format!(
            "{what}: {} of {} spokes registered",
            registered(lab),
            args.spokes
        )
    })?;
    Ok(())
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after the ')'.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // /proc reports clock ticks in USER_HZ, which the Linux ABI fixes at 100.
    ticks as f64 / 100.0
}

fn storm(args: &StormArgs) -> anyhow::Result<StormReport> {
    anyhow::ensure!(
        (2..=dmvpn_lab::MAX_SPOKES).contains(&args.spokes),
        "--spokes must be between 2 and {}",
        dmvpn_lab::MAX_SPOKES
    );
    let exe = std::env::current_exe().context("the path of this program")?;
    let prefix = lab::unique_prefix("storm");
    let mut spec = LabSpec::new(&prefix, args.spokes, Phase::Three, exe);
    spec.protection = !args.no_ipsec;
    spec.registration_timeout = Some(args.registration_timeout);
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).context("building the lab (needs root)")?;
    let started = Instant::now();
    lab.start_all().context("starting the daemons")?;
    wait(&lab, args, "every spoke registered")?;
    let initial = started.elapsed().as_secs_f64();

    lab.kill_daemon(0);
    let restart = Instant::now();
    lab.start_daemon(0).context("restarting the hub")?;
    let pid = lab.daemon_pid(0).context("the hub's daemon")?;
    lab::wait_for(
        Duration::from_secs(args.deadline),
        "every spoke back after the hub's restart",
        || converged(&lab, args.spokes, !args.no_ipsec).then_some(()),
    )
    .with_context(|| {
        format!(
            "recovery: {} of {} spokes registered",
            registered(&lab),
            args.spokes
        )
    })?;
    let recovery = restart.elapsed().as_secs_f64();
    let hub_cpu = cpu_secs(pid);
    let traffic: dmvpn_mgmt::TrafficReport = hub_json(&lab, &["ip", "nhrp", "traffic"]);
    Ok(StormReport {
        spokes: args.spokes,
        ipsec: !args.no_ipsec,
        registration_timeout_secs: args.registration_timeout,
        initial_convergence_secs: initial,
        recovery_secs: recovery,
        hub_cpu_secs: hub_cpu,
        registrations_received: traffic
            .interfaces
            .iter()
            .map(|i| i.received.registration_request)
            .sum(),
        max_send_dropped: traffic.interfaces.iter().map(|i| i.max_send.dropped).sum(),
    })
}

//! `dmvpn bench soak`: shortcuts that form and expire continuously, with IPsec, for a
//! bounded time. A lab of N spokes (real daemons), phase 3, spokes' holdtime short so that
//! unused shortcuts (and their spoke-to-spoke SAs) expire within a minute; every few
//! seconds a few random spoke pairs exchange pings, which makes new shortcuts. Every
//! sample period the hub's and one spoke's RSS, file descriptors and IKE SAs are recorded:
//! the curve must stay flat. Prints CSV (or JSON).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use dmvpn_lab::{self as lab, LabSpec, Phase};

use crate::bench_storm::{hub_json, node_json};

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Number of spokes.
    #[arg(long, default_value_t = 50)]
    pub spokes: usize,
    /// How long to run, in minutes (at most 30).
    #[arg(long, default_value_t = 30)]
    pub minutes: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 30)]
    pub sample: u64,
    /// The spokes' `ip nhrp holdtime`: how long an unused shortcut lives.
    #[arg(long, default_value_t = 60)]
    pub holdtime: u32,
    /// Random seed for the pairs that talk.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the samples as JSON instead of CSV.
    #[arg(long)]
    pub json: bool,
}

/// One sample of the curve.
#[derive(Debug, serde::Serialize)]
pub struct Sample {
    pub secs: u64,
    pub hub_rss_kb: u64,
    pub hub_fds: usize,
    pub hub_ike_sas: usize,
    pub spoke_rss_kb: u64,
    pub spoke_fds: usize,
    pub spoke_ike_sas: usize,
    pub spoke_shortcuts: usize,
    pub pings_sent: u64,
}

fn rss_kb(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn ike_sas(lab: &dmvpn_lab::Lab, index: usize) -> usize {
    node_json::<dmvpn_mgmt::IkeSaReport>(lab, index, &["crypto", "ikev2", "sa"])
        .sas
        .len()
}

pub fn run(args: &SoakArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.minutes <= 30, "--minutes is at most 30");
    anyhow::ensure!(
        (2..=dmvpn_lab::MAX_SPOKES).contains(&args.spokes),
        "--spokes must be between 2 and {}",
        dmvpn_lab::MAX_SPOKES
    );
    let exe = std::env::current_exe().context("the path of this program")?;
    let prefix = lab::unique_prefix("soak");
    let mut spec = LabSpec::new(&prefix, args.spokes, Phase::Three, exe);
    spec.protection = true;
    spec.holdtime = args.holdtime;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = dmvpn_lab::Lab::build(spec).context("building the lab (needs root)")?;
    lab.start_all().context("starting the daemons")?;
    let _ = hub_json::<dmvpn_mgmt::IkeSaReport>(&lab, &["crypto", "ikev2", "sa"]);
    let start = Instant::now();
    let end = start + Duration::from_secs(args.minutes * 60);
    let mut next_sample = start;
    let mut rng = args.seed.max(1);
    let mut pings = 0u64;
    let mut samples = Vec::new();
    if !args.json {
        println!(
            "secs,hub_rss_kb,hub_fds,hub_ike_sas,spoke_rss_kb,spoke_fds,spoke_ike_sas,spoke_shortcuts,pings_sent"
        );
    }
    while Instant::now() < end {
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(args.sample);
            let s = Sample {
                secs: start.elapsed().as_secs(),
                hub_rss_kb: rss_kb(lab.daemon_pid(0)),
                hub_fds: lab.daemon_fds(0).unwrap_or(0),
                hub_ike_sas: ike_sas(&lab, 0),
                spoke_rss_kb: rss_kb(lab.daemon_pid(1)),
                spoke_fds: lab.daemon_fds(1).unwrap_or(0),
                spoke_ike_sas: ike_sas(&lab, 1),
                spoke_shortcuts: lab.show_shortcuts(1).map_or(0, |t| t.shortcuts.len()),
                pings_sent: pings,
            };
            if !args.json {
                println!(
                    "{},{},{},{},{},{},{},{},{}",
                    s.secs,
                    s.hub_rss_kb,
                    s.hub_fds,
                    s.hub_ike_sas,
                    s.spoke_rss_kb,
                    s.spoke_fds,
                    s.spoke_ike_sas,
                    s.spoke_shortcuts,
                    s.pings_sent
                );
            }
            samples.push(s);
        }
        // A few random pairs talk (xorshift: reproducible from --seed).
        for _ in 0..3 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let n = args.spokes as u64;
            let from = 1 + (rng % n) as usize;
            let to = 1 + ((rng >> 20) % n) as usize;
            if from == to {
                continue;
            }
            if let Some(dst) = lab.nodes().get(to).map(|t| t.host) {
                let _ = lab.ping(from, dst, 2, 0.2);
                pings += 2;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&samples)?);
    }
    Ok(ExitCode::SUCCESS)
}

//! `dmvpn bench`: benchmarks of the protocol engines. `bench hub` runs one
//! real hub engine against N simulated spokes (see `dmvpn_sim::bench` for
//! the method) and prints registrations and resolutions per hub CPU second
//! and heap bytes per cache entry, as text or JSON.

use std::process::ExitCode;

use anyhow::Context;
use dmvpn_sim::bench::{HubBenchOptions, HubBenchReport, run_hub_bench};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// One hub engine serving N simulated spokes that register, resolve and refresh.
    Hub(HubArgs),
    /// A hub restart storm with real daemons in network namespaces (needs root): how long
    /// until N spokes are registered and protected again, and the hub's CPU.
    Storm(crate::bench_storm::StormArgs),
    /// Shortcuts forming and expiring continuously with IPsec, for a bounded time (needs
    /// root): RSS, file descriptors and SAs sampled as a curve that must stay flat.
    Soak(crate::bench_soak::SoakArgs),
    /// The hub restart storm in the node simulator (virtual time, no root): a hub and N
    /// IPsec spokes, the hub restarts with nothing; time until every spoke is back.
    StormSim(StormSimArgs),
}

#[derive(clap::Args, Debug)]
pub struct StormSimArgs {
    /// Number of simulated IPsec spokes.
    #[arg(long, default_value_t = 10_000)]
    pub spokes: usize,
    /// The spokes' `ip nhrp registration timeout`, seconds.
    #[arg(long, default_value_t = 10)]
    pub registration_timeout: u32,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct HubArgs {
    /// Number of simulated spokes.
    #[arg(long, default_value_t = 10_000)]
    pub spokes: usize,
    /// Print the figures as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Seed for the engines' Request IDs (results do not depend on it beyond noise).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Hub(args) => {
            println!("{}", hub_output(&args)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Storm(args) => crate::bench_storm::run(&args),
        Command::Soak(args) => crate::bench_soak::run(&args),
        Command::StormSim(args) => {
            let started = std::time::Instant::now();
            let r = dmvpn_daemon::node_sim::restart_storm(&dmvpn_daemon::node_sim::StormOptions {
                spokes: args.spokes,
                registration_timeout: args.registration_timeout,
                ..Default::default()
            })
            .map_err(anyhow::Error::msg)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "simulated hub restart storm: {} IPsec spokes, registration timeout {} s\n  first convergence  {:.1} s (virtual)\n  recovery after the restart  {:.1} s (virtual), {} of {} back\n  restarted hub's CPU  {:.2} s\n  wall time of the whole simulation  {:.1} s",
                    r.spokes,
                    args.registration_timeout,
                    r.initial_secs,
                    r.recovery_secs,
                    r.spokes_back,
                    r.spokes,
                    r.hub_cpu_secs,
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(if r.converged {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn hub_output(args: &HubArgs) -> anyhow::Result<String> {
    let report = run_hub_bench(HubBenchOptions {
        spokes: args.spokes,
        seed: args.seed,
    })
    .context("bench hub failed")?;
    if args.json {
        Ok(serde_json::to_string_pretty(&report)?)
    } else {
        Ok(render_text(&report))
    }
}

fn render_text(r: &HubBenchReport) -> String {
    let bytes = r
        .bytes_per_cache_entry
        .map_or_else(|| "unavailable".to_owned(), |b| format!("{b:.0}"));
    format!(
        "hub benchmark: {spokes} spokes\n\
         registrations:       {regs} ({acc} accepted), {rps:.0} per CPU second\n\
         resolutions:         {res} ({rep} replies), {sps:.0} per CPU second\n\
         cache entries:       {entries}, {bytes} bytes each\n\
         hub CPU seconds:     {cpu:.3} (register {rc:.3}, resolve {sc:.3}, refresh {fc:.3}, expire {ec:.3})",
        spokes = r.spokes,
        regs = r.registrations,
        acc = r.registrations_accepted,
        rps = r.registrations_per_cpu_second,
        res = r.resolutions,
        rep = r.resolution_replies,
        sps = r.resolutions_per_cpu_second,
        entries = r.cache_entries,
        cpu = r.cpu_seconds,
        rc = r.registration_cpu_seconds,
        sc = r.resolution_cpu_seconds,
        fc = r.refresh_cpu_seconds,
        ec = r.expiry_cpu_seconds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Command,
    }

    #[test]
    fn bench_hub_1000_json_has_the_three_figures() {
        let cli = Cli::try_parse_from(["bench", "hub", "--spokes", "1000", "--json"]).unwrap();
        let Command::Hub(args) = cli.cmd else {
            panic!("bench hub")
        };
        let out = hub_output(&args).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for field in [
            "registrations_per_cpu_second",
            "resolutions_per_cpu_second",
            "bytes_per_cache_entry",
        ] {
            assert!(v.get(field).is_some(), "missing {field} in {out}");
        }
        assert_eq!(v["spokes"], 1000);
        assert_eq!(v["cache_entries"], 1000);
        assert_eq!(v["registrations_accepted"], 2000);
        assert_eq!(v["resolution_replies"], 1000);
    }

    #[test]
    fn bench_hub_rejects_zero_spokes_and_renders_text() {
        let cli = Cli::try_parse_from(["bench", "hub", "--spokes", "0"]).unwrap();
        let Command::Hub(args) = cli.cmd else {
            panic!("bench hub")
        };
        let err = hub_output(&args).unwrap_err();
        assert!(format!("{err:#}").contains("--spokes must be between 1"));
        let text = hub_output(&HubArgs {
            spokes: 10,
            json: false,
            seed: 3,
        })
        .unwrap();
        assert!(text.contains("10 spokes"), "{text}");
    }
}

//! `dmvpn lab [--spokes N] [--phase 1|2|3] [--routing static|bgp|ospf] [--keep | --down]
//! [--json] [--name NAME]`: builds a hub and N spokes in network namespaces (each with a LAN
//! host behind it), starts `dmvpn daemon` in each (and FRR's BGP or OSPF over the tunnel with
//! `--routing bgp|ospf`), walks through seed 003's spoke-to-spoke scenario (the host behind
//! spoke 1 pings the host behind spoke 2) and reports what happened, then removes everything.
//!
//! The namespaces, the walk-through and its report are the `dmvpn-lab` crate; this module
//! owns the arguments, printing the walk-through (text or `--json`), the exit status, and
//! removing the lab on Ctrl-C and SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use dmvpn_lab::{LabSpec, Phase, Routing};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of spokes (2 to 50).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=50))]
    pub spokes: u8,
    /// DMVPN phase: 1 (point-to-point GRE spokes, all traffic via the hub), 2 (mGRE spokes
    /// resolve each other on demand) or 3 (the hub redirects, spokes install shortcuts).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub phase: u8,
    /// What carries the routes between the LANs: static routes, or FRR's BGP (the hub is a
    /// route reflector; phase 3 hubs send only a summary) or OSPF (broadcast, the hub is the
    /// DR) over the tunnel. BGP and OSPF need FRR installed (Debian package `frr`).
    #[arg(long, default_value = "static", value_parser = ["static", "bgp", "ospf"])]
    pub routing: String,
    /// Run GRE and NHRP in the clear: no `tunnel protection` (by default every tunnel is
    /// protected by IKEv2 and ESP).
    #[arg(long)]
    pub no_ipsec: bool,
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

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !dmvpn_lab::is_root() {
        eprintln!(
            "dmvpn lab: needs root: it creates network namespaces, TUN devices and raw sockets. Run it with sudo."
        );
        return Ok(ExitCode::from(2));
    }
    let state_dir = dmvpn_lab::default_state_dir(&args.name);
    if args.down {
        let n = dmvpn_lab::teardown_prefix(&args.name, &state_dir)?;
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
    spec.routing =
        Routing::from_name(&args.routing).context("routing must be static, bgp or ospf")?;
    spec.protection = !args.no_ipsec;
    // A kept lab's daemons outlive this process; otherwise they end with it.
    spec.bind_daemons = !args.keep;

    // Ctrl-C / SIGTERM: remove the lab (unless it is being kept) and exit.
    let kept = Arc::new(AtomicBool::new(false));
    install_interrupt_handler(args.name.clone(), state_dir, kept.clone())?;

    // `--json` keeps stdout for the report.
    let quiet = args.json;
    let say = |line: &str| {
        if !quiet {
            println!("{line}");
        }
    };
    let (mut report, result) = dmvpn_lab::walk_through(spec, args.keep, &kept, &say);
    let result = result.map_err(anyhow::Error::from);
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

fn install_interrupt_handler(
    name: String,
    state_dir: PathBuf,
    kept: Arc<AtomicBool>,
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
            if !kept.load(Ordering::SeqCst) {
                eprintln!("dmvpn lab: interrupted; removing the lab");
                let _ = dmvpn_lab::teardown_prefix(&name, &state_dir);
            }
            std::process::exit(130);
        });
    });
    Ok(())
}

//! `dmvpn`: the single binary. This file owns only the command tree; each
//! subcommand lives in its own module, which owns its arguments and its run
//! function. Exit codes: 0 success, 1 a negative result (e.g. invalid config),
//! 2 a usage or runtime error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod bench_soak;
mod bench_storm;
mod config_cmd;
mod ctl;
mod daemon;
mod decode;
mod lab;

/// Default control socket of the daemon.
pub const DEFAULT_SOCKET: &str = "/run/dmvpn/dmvpn.sock";

#[derive(Parser, Debug)]
#[command(
    name = "dmvpn",
    version,
    about = "DMVPN router for Linux: NHRP (RFC 2332 + Cisco DMVPN), multipoint GRE and IPsec",
    propagate_version = true
)]
pub struct Cli {
    /// Control socket of the daemon to talk to.
    #[arg(long, global = true, env = "DMVPN_SOCKET", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decode NHRP packets from a pcap or pcapng capture.
    Decode(decode::Args),
    /// Check, import and show configuration.
    #[command(subcommand)]
    Config(config_cmd::Command),
    /// Benchmarks of the protocol engines.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Run a DMVPN node.
    Daemon(daemon::Args),
    /// Build a hub-and-spoke lab in network namespaces and walk through DMVPN phases.
    Lab(lab::Args),
    /// Show state of a running daemon (Cisco-style).
    #[command(subcommand)]
    Show(ctl::Show),
    /// Clear NHRP entries, DMVPN sessions and counters of a running daemon.
    #[command(subcommand)]
    Clear(ctl::Clear),
    /// Switch debugging of a running daemon on.
    #[command(subcommand)]
    Debug(ctl::Debug),
    /// Switch debugging of a running daemon off (`undebug all` stops all of it).
    #[command(subcommand)]
    Undebug(ctl::Undebug),
    /// Negate a command, e.g. `no debug nhrp capture`.
    #[command(subcommand)]
    No(ctl::No),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Config(cmd) => config_cmd::run(cmd, &cli.socket),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Daemon(args) => daemon::run(args, &cli.socket),
        Command::Lab(args) => lab::run(args),
        Command::Show(cmd) => ctl::show(cmd, &cli.socket),
        Command::Clear(cmd) => ctl::clear(cmd, &cli.socket),
        Command::Debug(cmd) => ctl::debug(cmd, &cli.socket),
        Command::Undebug(cmd) => ctl::undebug(cmd, &cli.socket),
        Command::No(cmd) => ctl::no(cmd, &cli.socket),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "dmvpn", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dmvpn: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

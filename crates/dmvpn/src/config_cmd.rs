//! `dmvpn config`: (being built; see the issue tracker).

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check configuration files.
    Check,
}

pub fn run(_cmd: Command, _socket: &std::path::Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`dmvpn config` is not available in this build yet")
}

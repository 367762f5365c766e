//! `dmvpn show|clear|debug`: (being built; see the issue tracker).

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Show {
    /// show dmvpn
    Dmvpn,
}

pub fn show(_cmd: Show, _socket: &std::path::Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`dmvpn show` is not available in this build yet")
}

//! `dmvpn bench`: (being built; see the issue tracker).

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// One hub engine serving N simulated spokes.
    Hub,
}

pub fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`dmvpn bench` is not available in this build yet")
}

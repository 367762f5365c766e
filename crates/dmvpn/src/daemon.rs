//! `dmvpn daemon`: (being built; see the issue tracker).

use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, _socket: &std::path::Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`dmvpn daemon` is not available in this build yet")
}

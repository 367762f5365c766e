//! `dmvpn daemon --config FILE [--socket PATH]`: runs one DMVPN node in the foreground.
//!
//! This module only parses the arguments, sets up logging (tracing to stderr, filtered by
//! `RUST_LOG`, default `info`; DMVPN events appear in the seeds' `%DMVPN-5-...` form) and
//! starts the tokio runtime; the node itself is `dmvpn_daemon::run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The node's configuration, in the IOS dialect (`dmvpn config check FILE` validates it).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9850).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Append every IPsec Child SA's keys to FILE as Wireshark `esp_sa` lines, so that
    /// tshark/Wireshark can decrypt a capture of this node's ESP. Key material on disk:
    /// for labs and troubleshooting only.
    #[arg(long, value_name = "FILE")]
    pub ipsec_keylog: Option<PathBuf>,
}

pub fn run(args: Args, socket: &Path) -> anyhow::Result<ExitCode> {
    dmvpn_daemon::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = dmvpn_daemon::Options {
        config: args.config,
        socket: socket.to_path_buf(),
        metrics: args.metrics,
        ipsec_keylog: args.ipsec_keylog,
    };
    match runtime.block_on(dmvpn_daemon::run(options)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            eprintln!("dmvpn daemon: error: {err}");
            Ok(ExitCode::from(2))
        }
    }
}

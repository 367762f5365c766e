//! `dmvpn-daemon`: a DMVPN node: its synchronous core and the async shell around it.
//!
//! Layers, from the outside in:
//! * [`run`] is the process: it loads the configuration, binds the control socket
//!   ([`control`]), installs the signal handlers (SIGTERM/SIGINT: Purge and remove the TUN
//!   devices; SIGHUP: reload) and drives the event loop of one [`shell::Shell`].
//! * [`shell`] moves bytes, time and signals: it owns the clock, the running userspace
//!   tunnels and their event channels, kernel routes, and the I/O of a reload.
//! * [`core`] is the node's logic, synchronous and without tokio: the sans-IO NHRP engine
//!   (`dmvpn-nhrp`) fed with packets, timers and data-plane events with `now` passed in, whose
//!   actions it executes on each tunnel's data plane through the `DataPlane` seam; reload as
//!   a computed diff, counter baselines for `clear`, and every show answer.
//! * [`translate`] turns the IOS-dialect configuration model (`dmvpn-config`) into the engine's
//!   configuration and the data plane's setup.
//! * [`events`] renders engine events as the seeds' syslog lines
//!   (`%DMVPN-5-NHRP_NHS: Tunnel0 10.0.0.1 is UP`) through `tracing`.
//!
//! Everything that talks to the kernel lives in the data plane; tokio lives only in [`shell`],
//! [`control`] and [`run`].

pub mod control;
pub mod core;
pub mod events;
pub mod flood_log;
pub mod ike_config;
pub mod node_sim;
pub mod shell;
pub mod translate;

use std::path::PathBuf;

/// How to run a node.
#[derive(Debug, Clone)]
pub struct Options {
    /// The IOS-style configuration file.
    pub config: PathBuf,
    /// The control socket path.
    pub socket: PathBuf,
    /// Serve Prometheus metrics on `http://ADDR/metrics` when set.
    pub metrics: Option<std::net::SocketAddr>,
    /// Append IPsec keys to this file as Wireshark `esp_sa` lines when set.
    pub ipsec_keylog: Option<PathBuf>,
}

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is invalid (one `FILE:LINE:COLUMN: error: ...` per problem).
    #[error("{0}")]
    Config(String),
    /// The control socket could not be opened.
    #[error(transparent)]
    Control(#[from] control::ControlError),
    /// Signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// The data plane failed.
    #[error("data plane: {0}")]
    Dataplane(String),
    /// The metrics endpoint could not be opened.
    #[error("cannot serve metrics: {0}")]
    Metrics(std::io::Error),
}

/// Installs the process's tracing subscriber: human-readable lines on stderr, filtered by
/// `RUST_LOG` (default `info`). Calling it twice is harmless.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Runs a node until SIGTERM or SIGINT: loads the configuration, starts the tunnels and the
/// engine, opens the control socket and drives the event loop. SIGHUP reloads the
/// configuration. On the way out the node sends Purge and removes its routes and TUN devices.
pub async fn run(options: Options) -> Result<(), DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};

    let (text, config) = shell::load_config(&options.config)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signals)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signals)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signals)?;
    let control = control::ControlSocket::bind(&options.socket).await?;
    let (mut node, mut dataplane_events) =
        shell::Shell::start(&options.config, text, &config).await?;
    if let Some(path) = &options.ipsec_keylog {
        node.set_key_log(path)
            .map_err(|e| DaemonError::Config(format!("cannot open {}: {e}", path.display())))?;
        tracing::warn!(
            "IPsec keys are written to {} (esp_sa lines for Wireshark): for labs and troubleshooting only",
            path.display()
        );
    }
    tracing::info!(
        "dmvpn daemon running {} (control socket {})",
        options.config.display(),
        control.path().display()
    );
    let (calls_tx, mut calls) = tokio::sync::mpsc::channel::<control::ControlCall>(64);
    // Engine-only counters for the metrics endpoint, refreshed on the usage tick.
    let extras = std::sync::Arc::new(std::sync::Mutex::new(dmvpn_metrics::Extras::default()));
    if let Some(addr) = options.metrics {
        let server = dmvpn_metrics::MetricsServer::bind(addr)
            .await
            .map_err(DaemonError::Metrics)?;
        if let Ok(local) = server.local_addr() {
            tracing::info!("metrics on http://{local}/metrics");
        }
        // Every scrape asks this event loop for the same snapshots `show` prints.
        let calls = calls_tx.clone();
        let ask = move |line: String| {
            let calls = calls.clone();
            async move {
                let (reply, rx) = tokio::sync::oneshot::channel();
                calls
                    .send(control::ControlCall { line, reply })
                    .await
                    .ok()?;
                rx.await.ok()
            }
        };
        let extras = extras.clone();
        tokio::spawn(server.run_async(move || {
            let ask = ask.clone();
            let extras = extras.clone();
            async move {
                let snapshot = dmvpn_metrics::MetricsSnapshot::from_control(ask)
                    .await
                    .ok()?;
                let extra = extras.lock().map(|e| e.clone()).unwrap_or_default();
                Some(snapshot.with_extras(extra))
            }
        }));
    }
    let serve = control.serve(calls_tx);
    tokio::pin!(serve);
    let mut route_sync = tokio::time::interval(std::time::Duration::from_millis(500));
    route_sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut usage = tokio::time::interval(std::time::Duration::from_secs(5));
    usage.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let deadline = node.deadline();
        tokio::select! {
            () = &mut serve => {}
            Some((ifindex, event)) = dataplane_events.recv() => node.on_dataplane(ifindex, event),
            () = tokio::time::sleep_until(deadline) => node.on_timeout(),
            _ = route_sync.tick() => node.sync_routes(),
            _ = usage.tick() => {
                node.track_usage();
                if let Ok(mut e) = extras.lock() {
                    *e = node.metrics_extras();
                }
            }
            Some(call) = calls.recv() => {
                let answer = node.on_control(&call.line);
                let _ = call.reply.send(answer);
            }
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading {}", options.config.display());
                if let Err(e) = node.reload().await {
                    tracing::error!("reload failed, keeping the running configuration: {e}");
                }
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    tracing::info!("shutting down: sending Purge, removing routes and tunnels");
    node.shutdown().await;

    Ok(())
}

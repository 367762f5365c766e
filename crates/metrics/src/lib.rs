//! `dmvpn-metrics`: Prometheus metrics of a running DMVPN node.
//!
//! - [`MetricsSnapshot`] holds the numbers of one scrape. It is built from the
//!   control API's snapshots ([`MetricsSnapshot::from_mgmt`] with the answers
//!   of `show dmvpn`, `show ip nhrp traffic` and `show ip nhrp nhs`, or
//!   [`MetricsSnapshot::from_control`], which asks the daemon for them), so
//!   the counters are by construction those the show commands print.
//!   [`Extras`] adds what the control API does not carry (Error Indications
//!   by code, redirect rate-limit drops, receive drops by reason).
//! - [`render()`] gives the OpenMetrics text (served as [`CONTENT_TYPE`]);
//!   [`families`] the same data as typed [`MetricFamily`] values. Every metric
//!   is listed in `docs/metrics.md`.
//! - [`MetricsServer`] / [`serve`]: a minimal HTTP/1.1 server answering
//!   `GET /metrics` (404 elsewhere), with bounded requests, a per-connection
//!   deadline and a connection cap ([`Limits`]).
//!
//! # Plugging it into the daemon
//!
//! The daemon's event loop owns all state and answers control request lines
//! received on its `calls` channel. The metrics server asks it the same three
//! show requests on every scrape, through that channel, so a scrape and a
//! `show ip nhrp traffic` taken at the same moment print the same numbers.
//! In `run()`, after creating `calls_tx` and before handing it to
//! `control.serve(...)`:
//!
//! ```text
//! if let Some(addr) = options.metrics {
//!     let server = dmvpn_metrics::MetricsServer::bind(addr).await.map_err(DaemonError::Metrics)?;
//!     let calls = calls_tx.clone();
//!     let ask = move |line: String| {
//!         let calls = calls.clone();
//!         async move {
//!             let (reply, rx) = tokio::sync::oneshot::channel();
//!             calls.send(control::ControlCall { line, reply }).await.ok()?;
//!             rx.await.ok()
//!         }
//!     };
//!     tokio::spawn(server.run_async(move || {
//!         let ask = ask.clone();
//!         async move { dmvpn_metrics::MetricsSnapshot::from_control(ask).await.ok() }
//!     }));
//! }
//! ```
//!
//! (`DaemonError::Metrics(std::io::Error)` is the daemon's variant for a
//! bind failure; the test `daemon_integration_lines_work_over_an_event_loop_channel`
//! runs these exact lines against a stand-in event loop.)
//!
//! The engine-only counters ([`Extras`]: Error Indications by code, receive
//! drops by reason, redirect rate-limit drops) do not travel over the control
//! protocol. To expose them, the event loop refreshes a shared
//! `Arc<std::sync::Mutex<Extras>>` (e.g. on its 5 s usage tick) with
//! [`Extras::add_error_codes`] and [`Extras::add_receive_drops`] from the
//! engine's per-interface traffic statistics, and the source above returns
//! `from_control(ask).await.ok().map(|s| s.with_extras(extras.lock()...clone()))`.
//!
//! A caller that keeps a whole snapshot at hand uses the synchronous form
//! instead: `dmvpn_metrics::serve(addr, move || snapshot_cell.lock().map(|s| s.clone()).unwrap_or_default())`.

pub mod crypto;
pub mod http;
pub mod render;
pub mod snapshot;

pub use http::{Limits, MetricsServer, serve};
pub use render::{
    CONTENT_TYPE, MetricFamily, MetricKind, Sample, error_code_name, families, render,
};
pub use snapshot::{ControlQueryError, Direction, Extras, MetricsSnapshot, snake_case};

//! `dmvpn-lab`: DMVPN labs in Linux network namespaces, for `dmvpn lab` and the namespace
//! integration tests. The production daemon does not depend on it.
//!
//! A lab is a hub and N spokes, each with a LAN host behind it, joined by an "internet"
//! namespace that routes between their NBMA subnets on one bridge (`br0`, the segment tests
//! capture on). `dmvpn daemon` runs inside each router's namespace; the lab talks to it over
//! its control socket. The CLI demo and CI exercise the same code.
//!
//! Addressing (seed 003): hub NBMA `172.17.0.1/24`, spoke *n* NBMA `172.16.n.1/24` (the
//! internet namespace is the `.254` gateway of each), tunnel `10.0.0.1` (hub) and `10.0.0.n+1`
//! (spoke *n*) in `10.0.0.0/24`, LANs `192.168.n.0/24` with the router at `.1` and a host at
//! `.10` (`n = 0` is the hub). Physical interfaces are called `Ethernet0` (NBMA side) and
//! `Ethernet1` (LAN side) so that the configs read like the seeds.
//!
//! Modules:
//! * [`spec`]: what to build ([`LabSpec`], [`Phase`]) and each router's addresses ([`Node`]).
//! * [`exec`]: running helper programs in namespaces, polling, stopping processes, removing a
//!   lab by prefix ([`teardown_prefix`]).
//! * [`topology`]: [`Lab`], which builds the namespaces, starts and stops the daemons and
//!   removes everything on drop.
//! * [`config`]: each node's IOS-style configuration in the style of seed 003.
//! * [`frr`]: FRR's zebra with bgpd or ospfd in each router's namespace
//!   ([`LabSpec::routing`]), their configurations and their state (`vtysh … json`).
//! * [`control`]: requests on a node's control socket and the `show` answers the tests read.
//! * [`probe`]: `ping` from a LAN host and `tcpdump` captures on the internet segment.
//! * [`walkthrough`]: seed 003's spoke-to-spoke walk-through and its report (the text and
//!   JSON of `dmvpn lab`).
//!
//! Every resource is named with a caller-chosen prefix; [`Lab`] removes all of it on drop, and
//! [`teardown_prefix`] removes a lab that was kept by an earlier process.

use std::path::PathBuf;
use std::process::ExitStatus;

pub mod churn;
pub mod config;
pub mod control;
pub mod exec;
pub mod frr;
pub mod impair;
pub mod probe;
pub mod spec;
pub mod topology;
pub mod walkthrough;

pub use control::control_request;
pub use exec::{is_root, list_namespaces, ns_run, run, teardown_prefix, unique_prefix, wait_for};
pub use frr::{BgpPeer, OspfNeighbor};
pub use nix::sys::signal::Signal;
pub use probe::{Capture, PingResult, count_between, parse_ping_summary, ping_in};
pub use spec::{LabSpec, MAX_SPOKES, Node, OspfNetwork, Phase, Routing, default_state_dir};
pub use topology::Lab;
pub use walkthrough::{Report, walk_through};

/// Errors while building, driving or removing a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab needs root (network namespaces, TUN devices, raw sockets).
    #[error(
        "`dmvpn lab` needs root: it creates network namespaces, TUN devices and raw sockets; run it with sudo"
    )]
    NotRoot,
    /// The spec asks for a lab this addressing plan cannot build.
    #[error("invalid lab: {0}")]
    Spec(String),
    /// A helper program could not be started.
    #[error("cannot run `{program}`: {source}; is it installed?")]
    Spawn {
        /// The program name.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A helper command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A lab with this prefix already exists.
    #[error("a lab named `{0}` is already up; remove it with `dmvpn lab --down` first")]
    AlreadyUp(String),
    /// File-system error in the lab's state directory.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A daemon did not come up or answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The control socket gave an answer that could not be read.
    #[error("control socket {path}: {detail}")]
    Control {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

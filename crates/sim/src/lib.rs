//! `dmvpn-sim`: a deterministic discrete-event simulator that runs many real
//! NHRP engines on a virtual network, and the hub benchmark behind
//! `dmvpn bench hub`.
//!
//! * [`net::Sim`] — virtual clock, event queue, seeded RNG, NBMA links with
//!   latency/jitter/loss, NAT, partitions, node kill/restart, address changes
//!   and host traffic between LANs.
//! * [`dataplane::DataPlane`] — each node's data plane: the shipped pure forwarding
//!   (`dmvpn_forwarding`) behind a LAN-or-tunnel routing step; no model of its own.
//! * [`node::SimNode`] — what the simulator needs from an engine.
//! * [`trace::Trace`] — ordered record of everything, hashed for determinism.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

pub mod bench;
pub mod dataplane;
pub mod engine_node;
pub mod lab;
pub mod net;
pub mod node;
pub mod packet;
pub mod trace;

pub use dataplane::{DataPlane, Forward, Outputs, RouteVia};
pub use engine_node::{EngineNode, Protection};
pub use lab::Lab;
pub use net::{Captured, DataOutcome, DataPacket, DataStats, LinkParams, Sim, SimError};
pub use node::{NodeId, NodeOutput, Prefix, SimNode};
pub use trace::{DropReason, Payload, Trace, TraceEntry, TraceKind};

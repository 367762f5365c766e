//! `dmvpn-forwarding`: the pure forwarding of a multipoint-GRE tunnel, shared by the
//! shipped userspace data plane (crates/dataplane) and the simulator (crates/sim).
//!
//! No sockets, no TUN devices, no async runtime, no clock reads: bytes and tables in,
//! decisions and bytes out. What lives here:
//! - [`packet`]: IPv4 header inspection, TCP MSS clamping, fragmentation, ICMP
//!   "fragmentation needed" for oversize DF packets;
//! - [`gre`]: the GRE encapsulation header of a tunnel (key, protocol);
//! - [`tables`]: the route mirror, shortcuts, NHRP mappings, NHS and multicast targets of one
//!   tunnel, and the per-packet forwarding decision;
//! - [`counters`]: per-tunnel and per-peer traffic counters and drops by reason;
//! - [`pipeline`]: the per-packet [`Forwarder`] (overlay → NBMA: MSS clamp, hairpin check,
//!   decision, resolution event, DF/ICMP or fragmentation, GRE; NBMA → overlay: GRE
//!   decapsulation and key check, NHRP up as an event, MSS clamp, flow cache), time passed
//!   in, outputs through a [`Sink`];
//! - [`buf`]: the packet buffer with head- and tailroom;
//! - [`transport`]: the pure half of the NBMA transport: the [`transport::Protection`]
//!   seam, the per-peer decision (plain, transformed, or queued while protection comes up,
//!   never cleartext), the underlay protocols (GRE, ESP, UDP 500/4500) and the receive
//!   demultiplexing;
//! - [`seam`]: the [`DataPlane`] trait through which the node core drives any data plane
//!   (userspace or kernel), its [`Event`]s, and the NBMA transport's [`SendOutcome`].
#![warn(missing_docs)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod buf;
pub mod counters;
pub mod gre;
pub mod packet;
pub mod pipeline;
pub mod seam;
pub mod tables;
pub mod transport;

pub use buf::PacketBuf;
pub use counters::{DropCounters, TrafficCounters};
pub use pipeline::{Forwarder, ForwarderConfig, Scratch, Sink};
pub use seam::{CounterSnapshot, DataPlane, DataPlaneError, DropReason, Event, SendOutcome};
pub use tables::{
    Decision, ForwardingTables, Ipv4Prefix, MirroredRoute, MulticastPolicy, NextHopSource,
    RouteMirror,
};

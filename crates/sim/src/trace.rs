//! The simulation trace: an ordered record of every packet sent, delivered
//! or dropped, every timer fired and every engine output, with a running
//! SHA-256 so that tests can assert that one seed always gives one trace.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::node::{NodeId, NodeOutput};

/// NHRP packet types (`ar$op.type`) as raw bytes, for matching captured packets; the
/// values come from the workspace's one definition, `dmvpn_wire::nhrp::KnownPacketType`.
pub mod nhrp_type {
    use dmvpn_wire::nhrp::KnownPacketType as K;

    /// Resolution Request.
    pub const RESOLUTION_REQUEST: u8 = K::ResolutionRequest.code();
    /// Resolution Reply.
    pub const RESOLUTION_REPLY: u8 = K::ResolutionReply.code();
    /// Registration Request.
    pub const REGISTRATION_REQUEST: u8 = K::RegistrationRequest.code();
    /// Registration Reply.
    pub const REGISTRATION_REPLY: u8 = K::RegistrationReply.code();
    /// Purge Request.
    pub const PURGE_REQUEST: u8 = K::PurgeRequest.code();
    /// Purge Reply.
    pub const PURGE_REPLY: u8 = K::PurgeReply.code();
    /// Error Indication.
    pub const ERROR_INDICATION: u8 = K::ErrorIndication.code();
    /// Traffic Indication (Cisco redirect).
    pub const TRAFFIC_INDICATION: u8 = K::TrafficIndication.code();
}

/// Offset of `ar$op.type` in the NHRP fixed header.
const OP_TYPE_OFFSET: usize = 17;

/// The NHRP packet type of a raw packet, if it is long enough to have one.
pub fn packet_type(bytes: &[u8]) -> Option<u8> {
    bytes.get(OP_TYPE_OFFSET).copied()
}

/// A readable name for an NHRP packet type ([`dmvpn_wire::nhrp::KnownPacketType::name`]).
pub fn type_name(op: u8) -> &'static str {
    match dmvpn_wire::nhrp::PacketType::from(op).known() {
        Some(k) => k.name(),
        None => "unknown type",
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Nhrp { op: Some(op), len } => {
                write!(f, "NHRP {} ({len} bytes)", type_name(*op))
            }
            Payload::Nhrp { op: None, len } => write!(f, "NHRP runt ({len} bytes)"),
            Payload::Data { id, src, dst } => write!(f, "data #{id} {src} > {dst}"),
        }
    }
}

/// What travelled on an NBMA link.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum Payload {
    /// An NHRP packet, with its type (if readable) and length.
    Nhrp { op: Option<u8>, len: usize },
    /// A data packet of the data-plane model, by id.
    Data {
        id: u64,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    },
}

/// Why a packet did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The two nodes are partitioned.
    Partition,
    /// No node owns the destination NBMA address.
    Unroutable,
    /// The destination node is down.
    NodeDown,
    /// Data plane: no route to the destination.
    NoRoute,
    /// Data plane: no NBMA mapping for the next hop and no NHS to relay.
    NoMapping,
    /// Data plane: TTL exhausted (routing loop).
    TtlExpired,
    /// Data plane: the receiving tunnel refused the GRE packet (key, protocol, malformed).
    Rejected,
}

/// One trace record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum TraceKind {
    /// `node` sent `payload` from outer source `src` to `dst`.
    Sent {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: Payload,
    },
    /// `node` received `payload`, outer source `src` (after NAT).
    Delivered { src: Ipv4Addr, payload: Payload },
    /// `payload` addressed to `dst` was dropped.
    Dropped {
        dst: Ipv4Addr,
        payload: Payload,
        reason: DropReason,
    },
    /// `node`'s timer fired.
    Timer,
    /// `node` emitted an output other than a packet.
    Output(NodeOutput),
    /// The data plane delivered packet `id` to a host on `node`'s LAN; `path`
    /// lists the routers it went through.
    DataArrived { id: u64, path: Vec<NodeId> },
    /// `node` relayed data packet `id` back into the tunnel (hub hairpin).
    DataRelayed { id: u64 },
    /// A scenario action (kill, restart, partition, address change, ...).
    Control(String),
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceKind::Sent { src, dst, payload } => write!(f, "send {payload} {src} -> {dst}"),
            TraceKind::Delivered { src, payload } => write!(f, "recv {payload} from {src}"),
            TraceKind::Dropped {
                dst,
                payload,
                reason,
            } => {
                write!(f, "DROP {payload} to {dst}: {reason:?}")
            }
            TraceKind::Timer => write!(f, "timer"),
            TraceKind::Output(o) => write!(f, "{o:?}"),
            TraceKind::DataArrived { id, path } => write!(f, "data #{id} delivered via {path:?}"),
            TraceKind::DataRelayed { id } => write!(f, "data #{id} relayed (hairpin)"),
            TraceKind::Control(c) => write!(f, "-- {c}"),
        }
    }
}

/// A timestamped trace record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// Virtual time.
    pub at: Duration,
    /// The node concerned, if any.
    pub node: Option<NodeId>,
    /// What happened.
    pub kind: TraceKind,
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12.6}s ", self.at.as_secs_f64())?;
        match self.node {
            Some(n) => write!(f, "n{n:<3} ")?,
            None => write!(f, "     ")?,
        }
        write!(f, "{}", self.kind)
    }
}

/// The ordered trace and its running hash.
#[derive(Clone)]
pub struct Trace {
    entries: Vec<TraceEntry>,
    keep: bool,
    hasher: Sha256,
    count: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            entries: Vec::new(),
            keep: true,
            hasher: Sha256::new(),
            count: 0,
        }
    }
}

impl Trace {
    /// Keep entries in memory (default) or only hash them.
    pub fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Append an entry.
    pub fn push(&mut self, entry: TraceEntry) {
        // The Debug rendering is a complete, ordered description of the entry.
        self.hasher.update(format!("{entry:?}\n").as_bytes());
        self.count += 1;
        if self.keep {
            self.entries.push(entry);
        }
    }

    /// Entries kept so far.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Number of entries recorded (kept or not).
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Hex SHA-256 of every entry recorded so far, in order.
    pub fn hash(&self) -> String {
        let digest = self.hasher.clone().finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

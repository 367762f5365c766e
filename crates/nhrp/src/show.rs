//! Serde snapshots for the show commands: cache entries (`show ip nhrp`), NHS state
//! (`show ip nhrp nhs`), shortcuts and multicast lists. Built by the getters on
//! [`crate::Engine`]; plain data, safe to send to another thread.

use crate::cache::{EntryFlags, EntryKind};
use crate::config::{IfIndex, Prefix};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// One cache entry as `show ip nhrp` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntryView {
    /// Interface.
    pub iface: IfIndex,
    /// Interface name.
    pub iface_name: String,
    /// Protocol prefix.
    pub prefix: Prefix,
    /// Tunnel next hop (`via`).
    pub next_hop: Ipv4Addr,
    /// NBMA address (post-NAT), if known.
    pub nbma: Option<Ipv4Addr>,
    /// The NBMA the client claimed, when it differs (NAT).
    pub claimed_nbma: Option<Ipv4Addr>,
    /// Kind.
    pub kind: EntryKind,
    /// Flags.
    pub flags: EntryFlags,
    /// Flag names in IOS order.
    pub flag_names: Vec<String>,
    /// Creation time.
    pub created: Instant,
    /// Expiry (`None`: never).
    pub expires: Option<Instant>,
}

/// NHS state as `show ip nhrp nhs` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NhsState {
    /// No reply yet, fewer than three requests unanswered ("E", expecting replies).
    Expecting,
    /// The last registration was answered.
    Up,
    /// Three requests in a row went unanswered.
    Down,
}

/// One NHS of one interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NhsView {
    /// Interface.
    pub iface: IfIndex,
    /// Interface name.
    pub iface_name: String,
    /// NHS tunnel address.
    pub protocol: Ipv4Addr,
    /// NHS NBMA address.
    pub nbma: Option<Ipv4Addr>,
    /// Priority (0 best).
    pub priority: u8,
    /// State.
    pub state: NhsState,
    /// Registration requests sent (including retransmissions).
    pub requests: u64,
    /// Registration replies received.
    pub replies: u64,
    /// Consecutive unanswered requests (reset by a reply).
    pub unanswered: u32,
    /// Requests that went unanswered since start (a lifetime counter).
    #[serde(default)]
    pub failed: u64,
    /// When the next registration (or retransmission) goes out.
    pub next_registration: Option<Instant>,
    /// Whether this is the NHS resolution requests currently go to.
    pub active: bool,
}

/// One installed shortcut route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortcutView {
    /// Interface.
    pub iface: IfIndex,
    /// Destination prefix.
    pub prefix: Prefix,
    /// Tunnel next hop.
    pub next_hop: Ipv4Addr,
    /// NBMA of the next hop.
    pub nbma: Option<Ipv4Addr>,
    /// Expiry.
    pub expires: Option<Instant>,
}

/// Per-interface summary (for `show dmvpn`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceView {
    /// Interface.
    pub iface: IfIndex,
    /// Name.
    pub name: String,
    /// Own tunnel address.
    pub protocol_addr: Ipv4Addr,
    /// Own NBMA address.
    pub nbma_addr: Ipv4Addr,
    /// Own public NBMA address as learned from an NHS's NAT extension, if behind NAT.
    pub nat_nbma: Option<Ipv4Addr>,
    /// Cache entries.
    pub entries: usize,
    /// Multicast replication list (static, NHS and dynamic members).
    pub multicast: Vec<Ipv4Addr>,
}

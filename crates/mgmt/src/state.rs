//! State snapshot types: what the daemon reports and the CLI renders.
//!
//! These are plain data. The daemon fills them from the NHRP engine's state
//! and the data plane's counters; the renderers in [`crate::render`] turn them
//! into Cisco's text layouts, and `--json` prints them as they are. Field names
//! are snake_case and documented in `docs/cli.md`; the JSON Schemas under
//! `crates/mgmt/schemas/` are generated from these definitions.
//!
//! Conventions:
//! - Addresses are [`IpAddr`] (IPv4 or IPv6), printed as strings in JSON.
//! - Durations are whole seconds (`*_secs`), measured when the snapshot was
//!   taken. `None` (JSON `null`) means "never" (an entry that never expires,
//!   a session that never came up).
//! - Interfaces are named as configured (`Tunnel0`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use dmvpn_wire::Ipv4Prefix;
use dmvpn_wire::nhrp::KnownPacketType as PacketType;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// The report's shape (IPv4 or IPv6, JSON `{"address", "prefix_len"}`), not
// a second prefix type: IPv4 prefixes are built from the workspace's one
// prefix type, `dmvpn_wire::Ipv4Prefix` (`From`), and IPv4 containment
// follows its rules. (A doc comment here would change the JSON Schema.)
/// An address prefix: `address/prefix_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Prefix {
    /// Network address.
    pub address: IpAddr,
    /// Prefix length in bits (32 for an IPv4 host).
    pub prefix_len: u8,
}

impl Prefix {
    /// A host prefix (/32 for IPv4, /128 for IPv6).
    pub fn host(address: IpAddr) -> Self {
        let prefix_len = if address.is_ipv4() { 32 } else { 128 };
        Prefix {
            address,
            prefix_len,
        }
    }

    /// Whether `addr` lies inside this prefix. A prefix of the other address
    /// family never contains it; an out-of-range length is treated as a host.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.address, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                Ipv4Prefix::new(net, self.prefix_len).map_or(net == a, |p| p.contains(a))
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let len = u32::from(self.prefix_len.min(128));
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                (u128::from(net) & mask) == (u128::from(a) & mask)
            }
            _ => false,
        }
    }
}

impl From<Ipv4Prefix> for Prefix {
    fn from(p: Ipv4Prefix) -> Self {
        Prefix {
            address: IpAddr::V4(p.addr()),
            prefix_len: p.len(),
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

// ---------------------------------------------------------------------------
// show dmvpn
// ---------------------------------------------------------------------------

/// `show dmvpn [detail]`: every tunnel interface with its NBMA peers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DmvpnStatus {
    /// One element per tunnel interface, in configuration order.
    pub interfaces: Vec<DmvpnInterface>,
    /// Sessions being set up that have no peer entry yet (detail form).
    #[serde(default)]
    pub pending_sessions: Vec<PendingSession>,
}

/// Role of a tunnel interface in the DMVPN cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TunnelRole {
    /// Next Hop Server: accepts registrations (no `ip nhrp nhs`).
    Hub,
    /// Next Hop Client: registers with one or more NHS.
    Spoke,
}

impl TunnelRole {
    /// IOS spelling (`Hub`, `Spoke`).
    pub fn as_ios(self) -> &'static str {
        match self {
            TunnelRole::Hub => "Hub",
            TunnelRole::Spoke => "Spoke",
        }
    }
}

/// One tunnel interface in `show dmvpn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DmvpnInterface {
    /// Interface name, e.g. `Tunnel0`.
    pub name: String,
    /// Hub or spoke.
    pub role: TunnelRole,
    /// Administrative state (`Intf. is up`).
    pub admin_up: bool,
    /// Line protocol state (`Line Protocol is up`).
    pub line_up: bool,
    /// Tunnel (overlay) address of this node on the interface.
    pub tunnel_address: Option<IpAddr>,
    /// Tunnel source (this node's NBMA address), if known.
    pub source: Option<IpAddr>,
    /// `tunnel destination` of a point-to-point GRE tunnel; `None` for mGRE
    /// (printed as `MGRE`).
    pub destination: Option<IpAddr>,
    /// Protection profile name (`tunnel protection ipsec profile`), if any.
    #[serde(default)]
    pub protection: Option<String>,
    /// The NHS this interface registers with (spokes).
    #[serde(default)]
    pub nhs: Vec<NhsStatus>,
    /// NBMA peers, one element per distinct peer NBMA address.
    pub peers: Vec<DmvpnPeer>,
    /// Interface-wide packet and byte counters.
    #[serde(default)]
    pub counters: PacketCounters,
}

impl DmvpnInterface {
    /// Number of distinct NBMA peers (`NBMA Peers: N`).
    pub fn nbma_peer_count(&self) -> usize {
        self.peers.len()
    }
}

/// Session state of a peer, as in the `State` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Session up.
    Up,
    /// Session down (no more specific reason).
    Down,
    /// Waiting on NHRP (registration or resolution not answered).
    Nhrp,
    /// Waiting on IKE.
    Ike,
    /// Waiting on IPsec.
    Ipsec,
    /// The tunnel interface is down.
    Intf,
}

impl PeerState {
    /// IOS spelling (`UP`, `DOWN`, `NHRP`, `IKE`, `IPSEC`, `INTF`).
    pub fn as_ios(self) -> &'static str {
        match self {
            PeerState::Up => "UP",
            PeerState::Down => "DOWN",
            PeerState::Nhrp => "NHRP",
            PeerState::Ike => "IKE",
            PeerState::Ipsec => "IPSEC",
            PeerState::Intf => "INTF",
        }
    }
}

/// The `Attrb` column: S, D, I, N, L, X.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeerAttributes {
    /// `S`: from static configuration (`ip nhrp map`, `ip nhrp nhs ... nbma`).
    #[serde(rename = "static")]
    pub is_static: bool,
    /// `D`: learned dynamically (registration, resolution).
    pub dynamic: bool,
    /// `I`: incomplete (resolution pending).
    pub incomplete: bool,
    /// `N`: the peer is behind NAT.
    pub nated: bool,
    /// `L`: local (an entry for this node's own address).
    pub local: bool,
    /// `X`: no socket (no protection socket / not usable for forwarding).
    pub no_socket: bool,
}

impl PeerAttributes {
    /// The attribute letters in IOS order (`S`, `D`, `I`, `N`, `L`, `X`),
    /// e.g. `DLX`. Empty when no attribute is set.
    pub fn letters(&self) -> String {
        let mut s = String::new();
        for (set, c) in [
            (self.is_static, 'S'),
            (self.dynamic, 'D'),
            (self.incomplete, 'I'),
            (self.nated, 'N'),
            (self.local, 'L'),
            (self.no_socket, 'X'),
        ] {
            if set {
                s.push(c);
            }
        }
        s
    }
}

/// One NBMA peer row (or block, in the detail form) of `show dmvpn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DmvpnPeer {
    /// The peer's NBMA (underlay) address, as seen by this node (after NAT).
    pub nbma: IpAddr,
    /// The peer's tunnel (overlay) address.
    pub tunnel: IpAddr,
    /// Session state.
    pub state: PeerState,
    /// Time in the current state (`UpDn Tm`); `None` prints `never`.
    pub up_down_secs: Option<u64>,
    /// Attribute letters.
    pub attributes: PeerAttributes,
    /// The NHRP entries reaching this peer (`# Ent` is their number, at least
    /// one is shown). In the detail form each is a `Target Network` line.
    #[serde(default)]
    pub entries: Vec<DmvpnEntry>,
    /// Packets and bytes exchanged with this peer.
    #[serde(default)]
    pub counters: PacketCounters,
    /// The peer's crypto session, on a protected tunnel (the crypto lines of
    /// `show dmvpn detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crypto: Option<crate::crypto::CryptoSession>,
}

impl DmvpnPeer {
    /// The `# Ent` column: number of NHRP entries with this NBMA peer (at
    /// least 1: the peer itself).
    pub fn entry_count(&self) -> usize {
        self.entries.len().max(1)
    }
}

/// One NHRP entry of a peer (a `Target Network` line of `show dmvpn detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DmvpnEntry {
    /// The destination covered by this entry.
    pub target: Prefix,
    /// State of the entry.
    pub state: PeerState,
    /// Time in the current state; `None` prints `never`.
    pub up_down_secs: Option<u64>,
    /// Attribute letters of this entry.
    pub attributes: PeerAttributes,
}

/// A session being negotiated that has no peer entry yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PendingSession {
    /// Interface name.
    pub interface: String,
    /// NBMA address of the remote end, if known.
    pub nbma: Option<IpAddr>,
    /// Tunnel address being resolved.
    pub tunnel: Option<IpAddr>,
    /// What the session waits for.
    pub state: PeerState,
    /// Age in seconds.
    pub age_secs: u64,
}

/// Packet and byte counters, each direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PacketCounters {
    /// Packets received (decapsulated).
    pub packets_in: u64,
    /// Packets sent (encapsulated).
    pub packets_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
}

// ---------------------------------------------------------------------------
// show ip nhrp
// ---------------------------------------------------------------------------

/// `show ip nhrp`: the NHRP cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NhrpCache {
    /// The entries, in the order to print them.
    pub entries: Vec<NhrpCacheEntry>,
}

/// Type of an NHRP cache entry (`Type:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// Configured (`ip nhrp map`, NHS).
    Static,
    /// Learned from registration or resolution.
    Dynamic,
    /// Resolution sent, no answer yet.
    Incomplete,
    /// Resolution failed (negative cache).
    Negative,
}

impl EntryType {
    /// IOS spelling (lower case).
    pub fn as_ios(self) -> &'static str {
        match self {
            EntryType::Static => "static",
            EntryType::Dynamic => "dynamic",
            EntryType::Incomplete => "incomplete",
            EntryType::Negative => "negative",
        }
    }
}

/// Flags of an NHRP cache entry (`Flags:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CacheFlags {
    /// `router`: the entry is for a router (a shortcut's next hop).
    pub router: bool,
    /// `implicit`: learned from a packet forwarded or received, not from our
    /// own request.
    pub implicit: bool,
    /// `authoritative`: learned from the NHS authoritative for it.
    pub authoritative: bool,
    /// `unique`: the registration asked for uniqueness.
    pub unique: bool,
    /// `registered`: learned from a registration of a client.
    pub registered: bool,
    /// `used`: used to forward data recently.
    pub used: bool,
    /// `nat`: the peer is behind NAT (claimed NBMA differs from the source).
    pub nat: bool,
    /// `local`: an address of this node.
    pub local: bool,
}

impl CacheFlags {
    /// The flag words in IOS order, e.g. `["authoritative", "unique",
    /// "registered"]`.
    pub fn words(&self) -> Vec<&'static str> {
        [
            (self.router, "router"),
            (self.implicit, "implicit"),
            (self.authoritative, "authoritative"),
            (self.unique, "unique"),
            (self.registered, "registered"),
            (self.used, "used"),
            (self.nat, "nat"),
            (self.local, "local"),
        ]
        .into_iter()
        .filter_map(|(set, w)| set.then_some(w))
        .collect()
    }

    /// One-letter codes for the brief form (see the brief legend).
    pub fn letters(&self) -> String {
        [
            (self.router, 'R'),
            (self.implicit, 'i'),
            (self.authoritative, 'a'),
            (self.unique, 'u'),
            (self.registered, 'r'),
            (self.used, 'U'),
            (self.nat, 'n'),
            (self.local, 'l'),
        ]
        .into_iter()
        .filter_map(|(set, c)| set.then_some(c))
        .collect()
    }
}

/// One NHRP cache entry: `10.0.0.2/32 via 10.0.0.2, Tunnel0 created 00:57:27,
/// expire 00:04:13` / `Type: dynamic, Flags: authoritative unique registered`
/// / `NBMA address: 172.16.1.24`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NhrpCacheEntry {
    /// The protocol (overlay) prefix this entry maps.
    pub prefix: Prefix,
    /// Next hop tunnel address; `None` for incomplete and negative entries.
    pub via: Option<IpAddr>,
    /// Interface name.
    pub interface: String,
    /// Age of the entry.
    pub created_secs: u64,
    /// Remaining lifetime; `None` means it never expires.
    pub expire_secs: Option<u64>,
    /// Entry type.
    #[serde(rename = "type")]
    pub entry_type: EntryType,
    /// Entry flags.
    pub flags: CacheFlags,
    /// NBMA address to send to (after NAT); `None` when unresolved.
    pub nbma: Option<IpAddr>,
    /// NBMA address the peer claimed, when it differs from `nbma` (NAT).
    #[serde(default)]
    pub claimed_nbma: Option<IpAddr>,
    /// Preference (RFC 2332 CIE preference), if known.
    #[serde(default)]
    pub preference: Option<u8>,
}

// ---------------------------------------------------------------------------
// show ip nhrp nhs
// ---------------------------------------------------------------------------

/// `show ip nhrp nhs [detail]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NhsReport {
    /// Every NHS of every interface.
    pub servers: Vec<NhsStatus>,
}

/// Whether an NHS answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NhsState {
    /// Registrations are answered.
    Up,
    /// Three registrations in a row went unanswered, or none sent yet.
    Down,
}

impl NhsState {
    /// `UP` / `DOWN`.
    pub fn as_ios(self) -> &'static str {
        match self {
            NhsState::Up => "UP",
            NhsState::Down => "DOWN",
        }
    }
}

/// One Next Hop Server as seen by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NhsStatus {
    /// Interface name.
    pub interface: String,
    /// Tunnel address of the NHS.
    pub address: IpAddr,
    /// NBMA address of the NHS, if known.
    pub nbma: Option<IpAddr>,
    /// UP or DOWN.
    pub state: NhsState,
    /// `ip nhrp nhs ... priority N` (0 is the highest).
    pub priority: u8,
    /// `ip nhrp nhs ... cluster N`.
    pub cluster: u8,
    /// `E`: a registration is outstanding.
    pub expecting_replies: bool,
    /// `R`: the NHS answered the last registration.
    pub responding: bool,
    /// `W`: waiting (not used now, e.g. a lower-priority NHS in standby).
    pub waiting: bool,
    /// Registration requests sent.
    pub requests_sent: u64,
    /// Registration requests that failed (error or timeout), since start: a
    /// lifetime counter that never goes down.
    pub requests_failed: u64,
    /// Registration requests unanswered in a row now (the running count that
    /// takes the NHS down at 3; a reply resets it).
    #[serde(default)]
    pub unanswered: u32,
    /// Registration replies received.
    pub replies_received: u64,
    /// Seconds since the last reply; `None` if none was received.
    pub last_reply_secs: Option<u64>,
}

impl NhsStatus {
    /// The IOS status letters, e.g. `RE`.
    pub fn letters(&self) -> String {
        let mut s = String::new();
        if self.responding {
            s.push('R');
        }
        if self.expecting_replies {
            s.push('E');
        }
        if self.waiting {
            s.push('W');
        }
        s
    }
}

// ---------------------------------------------------------------------------
// show ip nhrp traffic
// ---------------------------------------------------------------------------

/// `show ip nhrp traffic [interface TunnelN]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrafficReport {
    /// One element per interface.
    pub interfaces: Vec<NhrpTraffic>,
}

/// NHRP traffic statistics of one interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NhrpTraffic {
    /// Interface name.
    pub interface: String,
    /// The `ip nhrp max-send` limit and its current usage.
    pub max_send: MaxSend,
    /// Packets sent, by type.
    pub sent: NhrpTypeCounters,
    /// Packets received, by type.
    pub received: NhrpTypeCounters,
    /// Identity-bound NHRP (`ip nhrp identity-map`): registrations refused and Resolution
    /// Replies dropped because the sender's IKE identity may not claim the address.
    #[serde(default)]
    pub identity_refused: u64,
    /// Received packets the NHRP engine dropped, by reason (snake_case, e.g.
    /// `rate_limited`, `authentication_failure`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub drops: BTreeMap<String, u64>,
    /// Packets the tunnel's data plane dropped below NHRP (GRE header, key,
    /// protocol type), when the daemon has a data plane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gre: Option<GreDrops>,
}

/// GRE-level drops of one tunnel (`show ip nhrp traffic`, `GRE dropped:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GreDrops {
    /// Every GRE packet refused for its header or inner IPv4 header (the sum of
    /// `truncated`, `bad_version`, `bad_flags`, `bad_checksum`, `inner_malformed`).
    pub malformed: u64,
    /// Too short for the GRE header.
    pub truncated: u64,
    /// GRE version other than 0.
    pub bad_version: u64,
    /// Routing, strict source route or recursion bits set.
    pub bad_flags: u64,
    /// Checksum mismatch.
    pub bad_checksum: u64,
    /// IPv4 payload whose header does not parse.
    pub inner_malformed: u64,
    /// Another tunnel's key, or a key missing or unexpected.
    pub key_mismatch: u64,
    /// Protocol type neither NHRP (0x2001) nor IPv4 (0x0800).
    pub unknown_protocol: u64,
    /// From a source other than a point-to-point tunnel's destination.
    pub wrong_source: u64,
    /// Refused by IPsec (no SA, bad ICV, replay).
    pub protection: u64,
    /// Arrivals of another IP protocol or UDP port, or truncated UDP.
    pub transport: u64,
}

impl GreDrops {
    /// Every drop counted here.
    pub fn total(&self) -> u64 {
        [
            self.malformed,
            self.key_mismatch,
            self.unknown_protocol,
            self.wrong_source,
            self.protection,
            self.transport,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// `Max-send limit:100Pkts/10Sec, Usage:0%`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MaxSend {
    /// Packets allowed per interval.
    pub packets: u32,
    /// Interval in seconds.
    pub interval_secs: u32,
    /// Share of the quota used in the current interval, in percent.
    pub usage_percent: u8,
    /// Packets not sent because the quota was exhausted (since the last
    /// clear).
    #[serde(default)]
    pub dropped: u64,
    /// Share of the established peers' budget used (replies to registered
    /// spokes have a budget of the same size of their own), in percent.
    #[serde(default)]
    pub established_usage_percent: u8,
    /// Replies to established peers sent from their own budget.
    #[serde(default)]
    pub established_sent: u64,
}

impl Default for MaxSend {
    /// IOS default: 100 packets every 10 seconds.
    fn default() -> Self {
        MaxSend {
            packets: 100,
            interval_secs: 10,
            usage_percent: 0,
            dropped: 0,
            established_usage_percent: 0,
            established_sent: 0,
        }
    }
}

/// Counters per NHRP packet type. `total` is every NHRP packet, including
/// `other` (unknown types); use [`NhrpTypeCounters::with_total`] to keep it
/// consistent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NhrpTypeCounters {
    /// All NHRP packets.
    pub total: u64,
    /// Resolution Request (type 1).
    pub resolution_request: u64,
    /// Resolution Reply (type 2).
    pub resolution_reply: u64,
    /// Registration Request (type 3).
    pub registration_request: u64,
    /// Registration Reply (type 4).
    pub registration_reply: u64,
    /// Purge Request (type 5).
    pub purge_request: u64,
    /// Purge Reply (type 6).
    pub purge_reply: u64,
    /// Error Indication (type 7).
    pub error_indication: u64,
    /// Traffic Indication (type 8, Cisco redirect).
    pub traffic_indication: u64,
    /// Packets of any other type.
    #[serde(default)]
    pub other: u64,
}

impl NhrpTypeCounters {
    /// The counter of one packet type. The JSON field of each type is its
    /// [`PacketType::label`] (a test checks it).
    pub fn get(&self, t: PacketType) -> u64 {
        match t {
            PacketType::ResolutionRequest => self.resolution_request,
            PacketType::ResolutionReply => self.resolution_reply,
            PacketType::RegistrationRequest => self.registration_request,
            PacketType::RegistrationReply => self.registration_reply,
            PacketType::PurgeRequest => self.purge_request,
            PacketType::PurgeReply => self.purge_reply,
            PacketType::ErrorIndication => self.error_indication,
            PacketType::TrafficIndication => self.traffic_indication,
        }
    }

    /// The counter of one packet type, to change it.
    pub fn get_mut(&mut self, t: PacketType) -> &mut u64 {
        match t {
            PacketType::ResolutionRequest => &mut self.resolution_request,
            PacketType::ResolutionReply => &mut self.resolution_reply,
            PacketType::RegistrationRequest => &mut self.registration_request,
            PacketType::RegistrationReply => &mut self.registration_reply,
            PacketType::PurgeRequest => &mut self.purge_request,
            PacketType::PurgeReply => &mut self.purge_reply,
            PacketType::ErrorIndication => &mut self.error_indication,
            PacketType::TrafficIndication => &mut self.traffic_indication,
        }
    }

    /// Every known type with its counter, in wire order ([`PacketType::ALL`]).
    pub fn by_type(&self) -> impl Iterator<Item = (PacketType, u64)> + '_ {
        PacketType::ALL.into_iter().map(|t| (t, self.get(t)))
    }

    /// Counters from a per-type count and the count of every packet
    /// (`total`); `other` is what `total` has beyond the known types.
    pub fn from_counts(total: u64, count: impl Fn(PacketType) -> u64) -> Self {
        let mut c = NhrpTypeCounters::default();
        for t in PacketType::ALL {
            *c.get_mut(t) = count(t);
        }
        let known = c.sum();
        c.total = total;
        c.other = total.saturating_sub(known);
        c
    }

    /// Sum of the per-type counters (including `other`).
    pub fn sum(&self) -> u64 {
        self.by_type()
            .map(|(_, n)| n)
            .fold(self.other, |a, b| a.saturating_add(b))
    }

    /// This value with `total` set to [`Self::sum`].
    pub fn with_total(mut self) -> Self {
        self.total = self.sum();
        self
    }
}

// ---------------------------------------------------------------------------
// show ip nhrp shortcut
// ---------------------------------------------------------------------------

/// `show ip nhrp shortcut`: shortcut routes installed from resolutions
/// (phase 3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShortcutTable {
    /// The shortcuts.
    pub shortcuts: Vec<Shortcut>,
}

/// One shortcut: a destination network reached directly through a spoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Shortcut {
    /// Interface name.
    pub interface: String,
    /// Destination network.
    pub target: Prefix,
    /// Tunnel address of the next hop.
    pub next_hop: IpAddr,
    /// NBMA address of the next hop.
    pub nbma: Option<IpAddr>,
    /// Age.
    pub created_secs: u64,
    /// Remaining lifetime; `None` never expires.
    pub expire_secs: Option<u64>,
    /// Whether the route is installed in the routing table (`rib`).
    pub installed: bool,
}

// ---------------------------------------------------------------------------
// show running-config, debug conditions, acknowledgements
// ---------------------------------------------------------------------------

/// `show running-config`: the configuration in effect, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunningConfig {
    /// IOS-style configuration text.
    pub text: String,
}

/// Answer to a clear or debug command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ack {
    /// What happened, IOS-style (e.g. `NHRP protocol debugging is on`).
    /// May be empty: IOS prints nothing after most clear commands.
    pub message: String,
    /// Number of entries, sessions or counters affected, when meaningful.
    #[serde(default)]
    pub affected: Option<u64>,
}

pub use crate::debug::DebugConditions;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_counter_fields_are_the_packet_type_labels() {
        let mut c = NhrpTypeCounters::default();
        for t in PacketType::ALL {
            *c.get_mut(t) = u64::from(t.code());
        }
        let json = serde_json::to_value(c).unwrap();
        for t in PacketType::ALL {
            assert_eq!(json[t.label()], u64::from(t.code()), "{}", t.label());
        }
        let c = NhrpTypeCounters::from_counts(40, |t| u64::from(t.code()));
        assert_eq!((c.total, c.other, c.sum()), (40, 4, 40));
    }

    #[test]
    fn ipv4_prefixes_report_as_address_and_length() {
        let p: Ipv4Prefix = "192.168.2.9/24".parse().unwrap();
        let r = Prefix::from(p);
        assert_eq!(r.to_string(), "192.168.2.0/24");
        assert!(r.contains("192.168.2.77".parse().unwrap()));
        assert!(!r.contains("192.168.3.1".parse().unwrap()));
    }
}

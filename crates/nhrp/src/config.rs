//! Engine and per-interface configuration: pure data (`Clone + Debug + serde`).
//!
//! One [`EngineConfig`] describes one node; each NHRP tunnel interface has an
//! [`InterfaceConfig`] with the knobs IOS offers under `interface TunnelN` (`ip nhrp ...`).
//! Defaults follow IOS: holdtime 7200 s, max-send 100 packets per 10 s, unique registrations.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::time::Duration;

/// The interface index the caller uses to name a tunnel interface.
pub type IfIndex = u32;

/// An IPv4 prefix: the workspace's one prefix type, `dmvpn_wire::Ipv4Prefix` (host bits
/// cleared, length at most 32).
pub use dmvpn_wire::Ipv4Prefix as Prefix;

/// Configuration of one engine (one node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// The NHRP tunnel interfaces.
    pub interfaces: Vec<InterfaceConfig>,
}

/// One Next Hop Server this interface registers with (`ip nhrp nhs X [nbma Y] [priority P]`,
/// or `ip nhrp map X Y` + `ip nhrp nhs X`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NhsConfig {
    /// The NHS's tunnel (protocol) address.
    pub protocol: Ipv4Addr,
    /// Its NBMA address; when `None` it is taken from a static map for `protocol`.
    pub nbma: Option<Ipv4Addr>,
    /// IOS priority: 0 is the most preferred. Resolution requests go to the most preferred NHS
    /// that is UP, falling back to the next one.
    pub priority: u8,
}

/// A static mapping (`ip nhrp map PROTO NBMA`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticMap {
    /// Protocol prefix (usually a host address).
    pub protocol: Prefix,
    /// NBMA address.
    pub nbma: Ipv4Addr,
}

/// `ip nhrp map multicast ...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MulticastMap {
    /// `ip nhrp map multicast NBMA`.
    Static(Ipv4Addr),
    /// `ip nhrp map multicast dynamic`: every registered client joins the multicast list.
    Dynamic,
    /// `ip nhrp map multicast nhs`: every configured NHS joins the multicast list.
    Nhs,
}

/// `ip nhrp max-send PKTS every SECS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxSend {
    /// Packets allowed per interval.
    pub packets: u32,
    /// The interval.
    pub every: Duration,
}

impl Default for MaxSend {
    fn default() -> Self {
        MaxSend {
            packets: 100,
            every: Duration::from_secs(10),
        }
    }
}

/// A route via the tunnel that the engine may use to forward Resolution Requests towards the
/// station owning a destination (phase 3), as the routing protocol would have installed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelRoute {
    /// Destination prefix.
    pub prefix: Prefix,
    /// Tunnel (protocol) next hop.
    pub next_hop: Ipv4Addr,
}

/// Configuration of one NHRP tunnel interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceConfig {
    /// Caller's interface index.
    pub ifindex: IfIndex,
    /// Interface name, e.g. `Tunnel0` (used in events and show output).
    pub name: String,
    /// Own tunnel (protocol) address.
    pub protocol_addr: Ipv4Addr,
    /// Prefix length of the tunnel subnet.
    pub prefix_len: u8,
    /// Own NBMA (tunnel source) address.
    pub nbma_addr: Ipv4Addr,
    /// `ip nhrp holdtime`: holding time advertised in registrations and replies.
    pub holdtime: Duration,
    /// `ip nhrp registration timeout`: registration refresh interval (default holdtime/3).
    pub registration_timeout: Option<Duration>,
    /// `ip nhrp registration no-unique`.
    pub registration_no_unique: bool,
    /// Next Hop Servers to register with.
    pub nhs: Vec<NhsConfig>,
    /// Static mappings.
    pub static_maps: Vec<StaticMap>,
    /// Multicast mappings.
    pub multicast: Vec<MulticastMap>,
    /// `ip nhrp network-id`: requests are answered and forwarded only within one network-id.
    pub network_id: u32,
    /// `ip nhrp authentication STRING` (Cisco cleartext, at most 8 bytes).
    pub authentication: Option<String>,
    /// `ip nhrp redirect`: send Traffic Indications for hairpinned traffic.
    pub redirect: bool,
    /// `ip nhrp shortcut`: act on Traffic Indications and install shortcut routes.
    pub shortcut: bool,
    /// `ip nhrp max-send`; `None` disables the limit.
    pub max_send: Option<MaxSend>,
    /// `tunnel protection ...`: NHRP traffic to a peer waits until its protection is up.
    pub protection_required: bool,
    /// `ip mtu` advertised in CIEs (0 = unspecified).
    pub mtu: u16,
    /// Networks this station answers Resolution Requests for (its LANs), with the prefix length
    /// of their routes. The own tunnel address is always answered for.
    #[serde(default)]
    pub local_networks: Vec<Prefix>,
    /// Routes via the tunnel used to forward Resolution Requests (see also
    /// [`crate::Engine::handle_route`]).
    #[serde(default)]
    pub routes: Vec<TunnelRoute>,
    /// `ip nhrp nhs ... max-connections N`: register with at most this many NHSs at a time, the
    /// most preferred ones that are not DOWN; a DOWN one is replaced by the next in priority
    /// (and keeps being retried). `None`: register with every NHS.
    #[serde(default)]
    pub nhs_max_connections: Option<usize>,
    /// Identity-bound NHRP (`ip nhrp identity-map`): a registration, or a Resolution Reply,
    /// for a tunnel address is accepted only from an NBMA peer whose claims
    /// ([`crate::Engine::set_peer_claims`], from its authenticated IKE identity) cover it.
    #[serde(default)]
    pub identity_bound: bool,
}

impl InterfaceConfig {
    /// A configuration with IOS defaults and no NHS, maps or features.
    pub fn new(
        ifindex: IfIndex,
        name: impl Into<String>,
        protocol_addr: Ipv4Addr,
        prefix_len: u8,
        nbma_addr: Ipv4Addr,
    ) -> Self {
        InterfaceConfig {
            ifindex,
            name: name.into(),
            protocol_addr,
            prefix_len,
            nbma_addr,
            holdtime: Duration::from_secs(7200),
            registration_timeout: None,
            registration_no_unique: false,
            nhs: Vec::new(),
            static_maps: Vec::new(),
            multicast: Vec::new(),
            network_id: 1,
            authentication: None,
            redirect: false,
            shortcut: false,
            max_send: Some(MaxSend::default()),
            protection_required: false,
            mtu: 1400,
            local_networks: Vec::new(),
            routes: Vec::new(),
            nhs_max_connections: None,
            identity_bound: false,
        }
    }

    /// The registration refresh interval: `registration timeout`, else holdtime/3 (at least 1 s).
    pub fn registration_interval(&self) -> Duration {
        self.registration_timeout
            .unwrap_or(self.holdtime / 3)
            .max(Duration::from_secs(1))
    }

    /// The holding time in whole seconds as carried in a CIE (saturating at 65535).
    pub fn holdtime_secs(&self) -> u16 {
        u16::try_from(self.holdtime.as_secs()).unwrap_or(u16::MAX)
    }

    /// The NBMA address of a configured NHS: its own `nbma`, else a static map.
    pub fn nhs_nbma(&self, nhs: &NhsConfig) -> Option<Ipv4Addr> {
        nhs.nbma.or_else(|| {
            self.static_maps
                .iter()
                .find(|m| m.protocol.contains(nhs.protocol) && m.protocol.len() == 32)
                .map(|m| m.nbma)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_interval_defaults_to_a_third_of_holdtime() {
        let mut c = InterfaceConfig::new(
            1,
            "Tunnel0",
            Ipv4Addr::new(10, 0, 0, 2),
            24,
            Ipv4Addr::new(172, 16, 1, 24),
        );
        assert_eq!(c.registration_interval(), Duration::from_secs(2400));
        c.registration_timeout = Some(Duration::from_secs(300));
        assert_eq!(c.registration_interval(), Duration::from_secs(300));
    }
}

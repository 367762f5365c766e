//! The typed configuration model: plain data (Clone, Debug, PartialEq, serde)
//! that the daemon translates into NHRP engine, data-plane and IPsec settings.
//! Defaults follow Cisco IOS unless stated; `None` means "not configured, use
//! the default" so that the normalised writer can reproduce exactly what was
//! written.

use std::net::Ipv4Addr;

pub use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

mod crypto;
pub use crypto::*;

/// Default NHRP holdtime in seconds (Cisco IOS and AOS).
pub const DEFAULT_HOLDTIME: u16 = 7200;
/// Default NHRP network-id when a tunnel configures NHRP without one.
pub const DEFAULT_NETWORK_ID: u32 = 1;
/// Default NHRP rate limit: packets …
pub const DEFAULT_MAX_SEND_PACKETS: u16 = 100;
/// … every this many seconds.
pub const DEFAULT_MAX_SEND_INTERVAL: u16 = 10;

/// A whole configuration file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// `hostname NAME`.
    pub hostname: Option<String>,
    /// `version X` (recorded, not interpreted).
    pub version: Option<String>,
    /// `ip cef` / `no ip cef` (recorded; forwarding is always on).
    pub ip_cef: Option<bool>,
    /// `ip crypto` / `no ip crypto` (AOS global IPsec switch; recorded).
    pub ip_crypto: Option<bool>,
    /// Interfaces in file order, tunnels and others.
    pub interfaces: Vec<Interface>,
    /// IKE and IPsec blocks.
    pub crypto: Crypto,
    /// `ip route` static routes.
    pub static_routes: Vec<StaticRoute>,
    /// `logging dmvpn rate-limit SECONDS`: an identical DMVPN event line is logged at most
    /// once per this many seconds.
    #[serde(default)]
    pub logging_dmvpn_rate_limit: Option<u32>,
    /// Global commands accepted but not acted on (routing protocols, crypto
    /// maps, platform commands), each with its sub-mode lines.
    pub ignored: Vec<IgnoredBlock>,
}

/// A global command that dmvpn accepts but does not act on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredBlock {
    /// The command line, words joined by single spaces.
    pub command: String,
    /// Its sub-mode lines, normalised the same way.
    pub lines: Vec<String>,
}

/// An `interface` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Normalised name: `Tunnel<n>` for tunnels, otherwise as written with
    /// the space before the number removed (`Ethernet0/1`, `eth0`).
    pub name: String,
    pub description: Option<String>,
    /// `ip address A M`, `ip address A/len` or `ip address dhcp`.
    pub address: Option<InterfaceAddress>,
    /// `ip address A M secondary`.
    pub secondary_addresses: Vec<Ipv4Net>,
    /// `ip mtu N` (68–65535).
    pub mtu: Option<u16>,
    /// `ip tcp adjust-mss N` (500–1460).
    pub tcp_adjust_mss: Option<u16>,
    /// `bandwidth N` in kbit/s (1–10000000), recorded for routing metrics.
    pub bandwidth: Option<u32>,
    /// `delay N` in tens of microseconds (1–16777215), recorded.
    pub delay: Option<u32>,
    /// `shutdown` (administratively down).
    pub shutdown: bool,
    /// `ip vrf forwarding NAME` (VRF-aware DMVPN).
    pub vrf: Option<String>,
    /// Tunnel settings; `Some` exactly for `Tunnel<n>` interfaces.
    pub tunnel: Option<Tunnel>,
    /// Interface lines accepted but ignored (routing protocol settings).
    pub ignored: Vec<String>,
}

/// The primary address of an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InterfaceAddress {
    /// Address and prefix length, e.g. 10.0.0.1/24.
    Static(Ipv4Net),
    /// `ip address dhcp [hostname NAME]`.
    Dhcp { hostname: Option<String> },
}

/// Settings of a `Tunnel<n>` interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tunnel {
    /// The `<n>` of `Tunnel<n>`.
    pub number: u32,
    /// `tunnel mode gre multipoint` or `tunnel mode gre ip` (default).
    pub mode: TunnelMode,
    /// `tunnel source IFNAME|ADDRESS`: the NBMA side. On Linux an interface
    /// name is the kernel name (`eth0`).
    pub source: Option<TunnelSource>,
    /// `tunnel destination ADDRESS` (point-to-point GRE only).
    pub destination: Option<Ipv4Addr>,
    /// `tunnel key N` (0–4294967295): the GRE key.
    pub key: Option<u32>,
    /// `tunnel protection ipsec profile NAME [shared]`.
    pub protection: Option<TunnelProtection>,
    /// `ip nhrp …` settings.
    pub nhrp: Nhrp,
}

/// GRE flavour of a tunnel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelMode {
    /// Point-to-point GRE (`tunnel mode gre ip`, AOS `gre ip`): the IOS default.
    #[default]
    GreIp,
    /// Multipoint GRE (`tunnel mode gre multipoint`, AOS `multipoint-gre ip`).
    GreMultipoint,
}

/// Where a tunnel's packets leave from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TunnelSource {
    /// An interface; its primary address is the local NBMA address.
    Interface(String),
    /// A fixed local NBMA address.
    Address(Ipv4Addr),
}

/// `tunnel protection ipsec profile NAME [shared]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelProtection {
    pub profile: String,
    pub shared: bool,
}

/// Per-tunnel NHRP settings (`ip nhrp …`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nhrp {
    /// `ip nhrp network-id N` (1–4294967295); default [`DEFAULT_NETWORK_ID`].
    pub network_id: Option<u32>,
    /// `ip nhrp authentication STRING` (at most 8 characters, cleartext).
    pub authentication: Option<String>,
    /// `ip nhrp holdtime S` (1–65535); default [`DEFAULT_HOLDTIME`].
    pub holdtime: Option<u16>,
    /// `ip nhrp registration timeout S` (1–65535, at most the holdtime);
    /// default one third of the holdtime.
    pub registration_timeout: Option<u16>,
    /// `ip nhrp registration no-unique` (AOS: `non-unique`): clear the
    /// Unique flag in registrations.
    pub registration_no_unique: bool,
    /// `ip nhrp map PROTO NBMA`: static mappings.
    pub maps: Vec<NhrpMap>,
    /// `ip nhrp map multicast NBMA|dynamic`.
    pub multicast: Vec<MulticastMap>,
    /// `ip nhrp nhs …`: next-hop servers, in order.
    pub nhs: Vec<NhsEntry>,
    /// `ip nhrp record` (default on) / `no ip nhrp record`: forward and
    /// reverse record extensions.
    pub record: bool,
    /// `ip nhrp redirect` (phase 3 hub).
    pub redirect: bool,
    /// `ip nhrp shortcut` (phase 3 spoke).
    pub shortcut: bool,
    /// `ip nhrp max-send N every S`; default 100 every 10.
    pub max_send: Option<MaxSend>,
    /// `ip nhrp identity-map NAME` (our extension): identity-bound NHRP. A registration, or
    /// a Resolution Reply, for a tunnel address is accepted only from a peer whose IKE
    /// identity `crypto ikev2 identity-map NAME` lets claim that address.
    #[serde(default)]
    pub identity_map: Option<String>,
}

impl Default for Nhrp {
    fn default() -> Self {
        Nhrp {
            network_id: None,
            authentication: None,
            holdtime: None,
            registration_timeout: None,
            registration_no_unique: false,
            maps: Vec::new(),
            multicast: Vec::new(),
            nhs: Vec::new(),
            record: true,
            redirect: false,
            shortcut: false,
            max_send: None,
            identity_map: None,
        }
    }
}

impl Nhrp {
    /// True when any NHRP command was given (NHRP runs on this tunnel).
    pub fn is_configured(&self) -> bool {
        *self != Nhrp::default()
    }

    /// The holdtime in effect.
    pub fn effective_holdtime(&self) -> u16 {
        self.holdtime.unwrap_or(DEFAULT_HOLDTIME)
    }

    /// The registration interval in effect (explicit, else holdtime / 3).
    pub fn effective_registration_interval(&self) -> u16 {
        self.registration_timeout
            .unwrap_or_else(|| (self.effective_holdtime() / 3).max(1))
    }

    /// The network-id in effect.
    pub fn effective_network_id(&self) -> u32 {
        self.network_id.unwrap_or(DEFAULT_NETWORK_ID)
    }
}

/// `ip nhrp map PROTOCOL NBMA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NhrpMap {
    pub protocol: Ipv4Addr,
    pub nbma: Ipv4Addr,
}

/// A multicast replication target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MulticastMap {
    /// Replicate to this NBMA address.
    Nbma(Ipv4Addr),
    /// Replicate to every dynamically registered peer (hub).
    Dynamic,
}

/// The protocol (tunnel) address of an NHS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NhsAddress {
    Address(Ipv4Addr),
    /// `ip nhrp nhs dynamic nbma X`: learn the NHS tunnel address.
    Dynamic,
}

/// `ip nhrp nhs ADDR|dynamic [nbma NBMA] [multicast] [priority P] [cluster C]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NhsEntry {
    pub protocol: NhsAddress,
    /// NBMA address given inline; otherwise an `ip nhrp map` supplies it.
    pub nbma: Option<Ipv4Addr>,
    /// Also add the NBMA address as a multicast target.
    pub multicast: bool,
    /// 0–255, lower is preferred; default 0.
    pub priority: Option<u8>,
    /// 0–10.
    pub cluster: Option<u8>,
}

/// `ip nhrp max-send PACKETS every SECONDS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MaxSend {
    /// 1–65535.
    pub packets: u16,
    /// 10–65535.
    pub every_secs: u16,
}

/// `ip route PREFIX MASK NEXT-HOP|INTERFACE [DISTANCE]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticRoute {
    pub prefix: Ipv4Net,
    pub target: RouteTarget,
    /// Administrative distance 1–255.
    pub distance: Option<u8>,
}

/// Where a static route points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteTarget {
    NextHop(Ipv4Addr),
    Interface(String),
    /// `ip route … INTERFACE NEXT-HOP`.
    InterfaceNextHop(String, Ipv4Addr),
}

impl Config {
    /// The interface with this name, spelt any way [`crate::normalise_interface_name`]
    /// accepts (`tunnel 0`, `Tu0`, `Tunnel0`).
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        let want = crate::normalise_interface_name(name);
        self.interfaces
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(&want))
    }

    /// Tunnel interfaces with their settings.
    pub fn tunnels(&self) -> impl Iterator<Item = (&Interface, &Tunnel)> {
        self.interfaces
            .iter()
            .filter_map(|i| i.tunnel.as_ref().map(|t| (i, t)))
    }

    /// The IPsec profile with this name.
    pub fn ipsec_profile(&self, name: &str) -> Option<&IpsecProfile> {
        self.crypto.ipsec_profiles.iter().find(|p| p.name == name)
    }

    /// Whether `tunnel`'s protection is keyed with IKEv1, which is not supported yet: its
    /// IPsec profile has no `set ikev2-profile` (IOS then negotiates with ISAKMP). The
    /// daemon refuses to start such a tunnel with [`Config::ikev1_refusal`]'s message.
    pub fn needs_ikev1(&self, tunnel: &Tunnel) -> bool {
        tunnel
            .protection
            .as_ref()
            .and_then(|p| self.ipsec_profile(&p.profile))
            .is_some_and(|p| p.ikev2_profile.is_none())
    }

    /// The message that refuses a tunnel needing IKEv1 (see [`Config::needs_ikev1`]), the
    /// same words `dmvpn config check` warns with; `None` when the tunnel does not need it.
    pub fn ikev1_refusal(&self, iface: &str, tunnel: &Tunnel) -> Option<String> {
        if !self.needs_ikev1(tunnel) {
            return None;
        }
        let profile = tunnel.protection.as_ref().map(|p| p.profile.as_str())?;
        Some(format!(
            "{iface}: IPsec profile `{profile}` has no `set ikev2-profile`, so it needs IKEv1 (ISAKMP): {IKEV1_NOT_SUPPORTED}; this tunnel will not start. Use IKEv2: a `crypto ikev2 profile` and `set ikev2-profile NAME`"
        ))
    }
}

impl Interface {
    /// The static primary address, if any.
    pub fn static_address(&self) -> Option<Ipv4Net> {
        match &self.address {
            Some(InterfaceAddress::Static(net)) => Some(*net),
            _ => None,
        }
    }
}

//! What a lab is made of: the [`LabSpec`] a caller asks for, the DMVPN [`Phase`], the
//! [`Routing`] over the tunnel, and each router's [`Node`] with its namespaces, addresses and
//! files, from the addressing plan of seed 003 (see the crate documentation). With
//! [`LabSpec::dual_hub`] a second hub (seed 003's "dual hub, single DMVPN" layout) comes last:
//! tunnel `10.0.0.254`, NBMA `172.17.0.5`, LAN `192.168.254.0/24`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::LabError;

/// The most spokes one lab can have: spoke *n* gets `172.16.n.1`, `10.0.0.n+1` and
/// `192.168.n.0/24`, so *n* stays below 254 (and the internet bridge's addresses below .254).
pub const MAX_SPOKES: usize = 250;

/// Which DMVPN phase the lab is configured for (seed 002's phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    /// Spokes use point-to-point GRE to the hub; all traffic goes through the hub.
    One,
    /// mGRE spokes resolve each other's NBMA addresses on demand (routes name the other spoke).
    Two,
    /// The hub redirects, spokes install shortcuts (routes are summarised via the hub).
    Three,
}

impl Phase {
    /// Phase from its number (1, 2 or 3).
    pub fn from_number(n: u8) -> Option<Phase> {
        match n {
            1 => Some(Phase::One),
            2 => Some(Phase::Two),
            3 => Some(Phase::Three),
            _ => None,
        }
    }

    /// The phase's number.
    pub fn number(self) -> u8 {
        match self {
            Phase::One => 1,
            Phase::Two => 2,
            Phase::Three => 3,
        }
    }
}

/// What carries the routes between the LANs over the tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// Static routes (`ip route` lines in the dmvpn configs, or `ip route` commands with
    /// [`LabSpec::tunnel_only`]), standing in for a routing protocol.
    #[default]
    Static,
    /// FRR's bgpd in every router's namespace: the hubs are route reflectors with dynamic
    /// neighbours over the tunnel subnet, the spokes advertise their LANs (see
    /// [`crate::frr`]).
    Bgp,
    /// FRR's ospfd in every router's namespace, over the tunnel with the network type of
    /// [`LabSpec::ospf_network`].
    Ospf,
}

impl Routing {
    /// Every routing mode, in the order `dmvpn lab --help` lists them.
    pub const ALL: [Routing; 3] = [Routing::Static, Routing::Bgp, Routing::Ospf];

    /// The mode's name as `--routing` takes it: `static`, `bgp` or `ospf`.
    pub fn name(self) -> &'static str {
        match self {
            Routing::Static => "static",
            Routing::Bgp => "bgp",
            Routing::Ospf => "ospf",
        }
    }

    /// The mode named `name` (see [`Routing::name`]).
    pub fn from_name(name: &str) -> Option<Routing> {
        Routing::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// The OSPF network type on the tunnel (seed 003 uses broadcast with the hub as DR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OspfNetwork {
    /// `ip ospf network broadcast`: the hub is the DR (priority 10, the second hub 5), the
    /// spokes never become DR (priority 0); routes keep the remote spoke as next hop.
    #[default]
    Broadcast,
    /// `ip ospf network point-to-multipoint`: every route between spokes goes via the hub.
    PointToMultipoint,
}

/// What lab to build.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Prefix of every namespace name (keep it short: at most 12 characters).
    pub prefix: String,
    /// Number of spokes (at least 2, at most [`MAX_SPOKES`]).
    pub spokes: usize,
    /// DMVPN phase.
    pub phase: Phase,
    /// `ip nhrp holdtime` of the spokes (the hub uses twice this).
    pub holdtime: u32,
    /// `ip nhrp registration timeout` of the spokes, when set (faster re-registration).
    pub registration_timeout: Option<u32>,
    /// `ip tcp adjust-mss` on every tunnel, when set.
    pub adjust_mss: Option<u16>,
    /// Directory for configs, control sockets, logs and pid files.
    pub state_dir: PathBuf,
    /// The `dmvpn` binary to run as `dmvpn daemon` inside each node namespace.
    pub exe: PathBuf,
    /// `RUST_LOG` for the daemons.
    pub log_filter: String,
    /// `--metrics ADDR` for the hub's daemon (an address inside the hub's namespace).
    pub hub_metrics: Option<std::net::SocketAddr>,
    /// Stop the daemons (SIGTERM) when the thread that started them ends, whatever the way
    /// out (panic, abort, Ctrl-C); off for labs that are kept up.
    pub bind_daemons: bool,
    /// Add seed 003's IPsec profile (in IKEv2 words) and `tunnel protection ipsec profile
    /// vpnprof`: GRE and NHRP between the routers travel in ESP. `dmvpn lab` sets it unless
    /// `--no-ipsec`; tests choose.
    pub protection: bool,
    /// Write configurations that hold only the tunnel (no `interface Ethernet…`, no
    /// `ip route`), as on a Linux router whose LAN and routes belong to the operating system;
    /// the routes are then added with `ip route` ([`crate::Lab::add_kernel_routes`]).
    pub tunnel_only: bool,
    /// What carries the routes between the LANs (default: static routes).
    pub routing: Routing,
    /// OSPF network type on the tunnel, with [`Routing::Ospf`].
    pub ospf_network: OspfNetwork,
    /// Add a second hub (seed 003's dual hub, single DMVPN layout): the spokes register with
    /// both (`ip nhrp nhs … priority 1` the first hub, `priority 2` the second) and peer with
    /// both when they run BGP. It is the last node ([`LabSpec::hub2_index`]).
    pub dual_hub: bool,
    /// Phase 3: the hubs redirect (`ip nhrp redirect`) and the spokes take shortcuts
    /// (`ip nhrp shortcut`). Off, spoke-to-spoke traffic that follows the summary stays on
    /// the hubs (the failover benchmark measures that path). Default on.
    pub shortcuts: bool,
    /// Spokes (by index, 1-based) behind an nftables masquerade NAT: the router's
    /// `Ethernet0` has the private address `10.200.n.1` and a NAT namespace
    /// (`PREFIX-nN`) masquerades it to `172.16.n.1`, the address every other router sees.
    pub nat_spokes: Vec<usize>,
    /// Spokes (1-based) whose pre-shared key differs from everyone else's: their IKE
    /// fails authentication.
    pub wrong_key_spokes: Vec<usize>,
    /// `set security-association lifetime kilobytes N` in the IPsec profile (IOS's
    /// minimum is 2560): a volume that traffic can exhaust to force a rekey.
    pub sa_lifetime_kb: Option<u64>,
    /// Each daemon writes its IPsec keys to `NAME.keys` in the state directory
    /// (`--ipsec-keylog`, Wireshark `esp_sa` lines).
    pub ipsec_keylog: bool,
    /// The hub's call admission limit (`crypto ikev2 limit max-sa N`).
    pub hub_max_ike_sa: Option<u32>,
    /// The transform-set words written after `crypto ipsec transform-set trans2` (e.g.
    /// `esp-aes 256 esp-sha256-hmac`) instead of the default `esp-gcm 256`.
    pub esp_transform: Option<String>,
}

impl LabSpec {
    /// A spec with the seed's defaults and the given prefix, spoke count and phase; the state
    /// directory is `/run/dmvpn-lab/PREFIX`.
    pub fn new(prefix: &str, spokes: usize, phase: Phase, exe: PathBuf) -> LabSpec {
        LabSpec {
            prefix: prefix.to_string(),
            spokes,
            phase,
            holdtime: 300,
            registration_timeout: None,
            adjust_mss: Some(1360),
            state_dir: default_state_dir(prefix),
            exe,
            log_filter: "info".to_string(),
            hub_metrics: None,
            bind_daemons: true,
            protection: false,
            tunnel_only: false,
            routing: Routing::Static,
            ospf_network: OspfNetwork::Broadcast,
            dual_hub: false,
            shortcuts: true,
            nat_spokes: Vec::new(),
            wrong_key_spokes: Vec::new(),
            sa_lifetime_kb: None,
            ipsec_keylog: false,
            hub_max_ike_sa: None,
            esp_transform: None,
        }
    }

    /// The index of the second hub when the spec has one (the last node).
    pub fn hub2_index(&self) -> Option<usize> {
        self.dual_hub.then(|| self.spokes.saturating_add(1))
    }

    /// The indexes of every hub: 0, and the second hub's.
    pub fn hub_indexes(&self) -> Vec<usize> {
        std::iter::once(0).chain(self.hub2_index()).collect()
    }

    /// Every router of this lab: the hub (index 0), then spoke 1 to spoke N. Fails when the
    /// spoke count is outside 2 to [`MAX_SPOKES`].
    pub fn nodes(&self) -> Result<Vec<Node>, LabError> {
        if !(2..=MAX_SPOKES).contains(&self.spokes) {
            return Err(LabError::Spec(format!(
                "{} spokes; a lab has 2 to {MAX_SPOKES}",
                self.spokes
            )));
        }
        if self.dual_hub && self.phase == Phase::One {
            return Err(LabError::Spec(
                "a dual-hub lab needs multipoint spokes (phase 2 or 3)".to_string(),
            ));
        }
        let mut nodes = (0..=self.spokes)
            .map(|i| {
                let n = u8::try_from(i)
                    .map_err(|_| LabError::Spec(format!("spoke index {i} out of range")))?;
                Ok(Node::new(self, n))
            })
            .collect::<Result<Vec<Node>, LabError>>()?;
        if self.dual_hub {
            nodes.push(Node::second_hub(self));
        }
        Ok(nodes)
    }
}

/// The default state directory of a lab with this prefix.
pub fn default_state_dir(prefix: &str) -> PathBuf {
    Path::new("/run/dmvpn-lab").join(prefix)
}

/// One router of the lab (the hub is index 0, spoke *n* is index *n*).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Node {
    /// `hub`, `spoke1`, `spoke2`, ..., `hub2`
    pub name: String,
    /// A hub (the first, or the second of a dual-hub lab), not a spoke.
    pub hub: bool,
    /// The router's namespace.
    pub ns: String,
    /// The LAN host's namespace.
    pub host_ns: String,
    /// The NBMA address the other routers see (on `Ethernet0`, or the NAT's outside
    /// address when the router is behind a NAT).
    pub nbma: Ipv4Addr,
    /// Behind a NAT: the private address on `Ethernet0` (masqueraded to [`Node::nbma`]).
    pub private_nbma: Option<Ipv4Addr>,
    /// Tunnel address on `Tunnel0`.
    pub tunnel: Ipv4Addr,
    /// The router's LAN address on `Ethernet1`.
    pub lan_gw: Ipv4Addr,
    /// The LAN host's address.
    pub host: Ipv4Addr,
    /// The node's configuration file.
    pub config: PathBuf,
    /// The node daemon's control socket.
    pub socket: PathBuf,
    /// The node daemon's log file.
    pub log: PathBuf,
    /// The node daemon's IPsec key log (written with [`LabSpec::ipsec_keylog`]).
    pub keys: PathBuf,
}

impl Node {
    /// Router `n` of `spec` (0 = hub; `n` at most 253).
    fn new(spec: &LabSpec, n: u8) -> Node {
        let (name, ns_short) = if n == 0 {
            ("hub".to_string(), "hub".to_string())
        } else {
            (format!("spoke{n}"), format!("s{n}"))
        };
        let nbma = if n == 0 {
            Ipv4Addr::new(172, 17, 0, 1)
        } else {
            Ipv4Addr::new(172, 16, n, 1)
        };
        Node {
            ns: format!("{}-{ns_short}", spec.prefix),
            host_ns: format!("{}-h{n}", spec.prefix),
            nbma,
            private_nbma: (n != 0 && spec.nat_spokes.contains(&usize::from(n)))
                .then(|| Ipv4Addr::new(10, 200, n, 1)),
            tunnel: Ipv4Addr::new(10, 0, 0, n.saturating_add(1)),
            lan_gw: Ipv4Addr::new(192, 168, n, 1),
            host: Ipv4Addr::new(192, 168, n, 10),
            config: spec.state_dir.join(format!("{name}.conf")),
            socket: spec.state_dir.join(format!("{name}.sock")),
            log: spec.state_dir.join(format!("{name}.log")),
            keys: spec.state_dir.join(format!("{name}.keys")),
            name,
            hub: n == 0,
        }
    }

    /// The second hub of a dual-hub lab: seed 003's Hub2 (`172.17.0.5`, in the first hub's
    /// NBMA subnet), tunnel `10.0.0.254`, LAN `192.168.254.0/24`.
    fn second_hub(spec: &LabSpec) -> Node {
        let name = "hub2".to_string();
        Node {
            ns: format!("{}-hub2", spec.prefix),
            host_ns: format!("{}-h254", spec.prefix),
            nbma: Ipv4Addr::new(172, 17, 0, 5),
            private_nbma: None,
            tunnel: Ipv4Addr::new(10, 0, 0, 254),
            lan_gw: Ipv4Addr::new(192, 168, 254, 1),
            host: Ipv4Addr::new(192, 168, 254, 10),
            config: spec.state_dir.join(format!("{name}.conf")),
            socket: spec.state_dir.join(format!("{name}.sock")),
            log: spec.state_dir.join(format!("{name}.log")),
            keys: spec.state_dir.join(format!("{name}.keys")),
            name,
            hub: true,
        }
    }

    /// The address on the router's `Ethernet0` (private behind a NAT).
    pub fn local_nbma(&self) -> Ipv4Addr {
        self.private_nbma.unwrap_or(self.nbma)
    }

    /// The NAT namespace in front of this router, when it is behind one.
    pub fn nat_ns(&self) -> Option<String> {
        self.private_nbma.map(|_| format!("{}-nat", self.ns))
    }

    /// The NBMA gateway (in the internet namespace) of this node's subnet.
    pub fn nbma_gateway(&self) -> Ipv4Addr {
        let [a, b, c, _] = self.nbma.octets();
        Ipv4Addr::new(a, b, c, 254)
    }

    /// The network address of this node's LAN (`192.168.n.0`).
    pub fn lan_net(&self) -> Ipv4Addr {
        let [a, b, c, _] = self.lan_gw.octets();
        Ipv4Addr::new(a, b, c, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_numbers_round_trip() {
        for n in 1..=3 {
            assert_eq!(Phase::from_number(n).map(Phase::number), Some(n));
        }
        assert_eq!(Phase::from_number(4), None);
    }

    #[test]
    fn nodes_follow_the_seed_addressing() {
        let spec = LabSpec::new("t", 2, Phase::Three, PathBuf::from("dmvpn"));
        let nodes = spec.nodes().unwrap();
        assert_eq!(nodes.len(), 3);
        let hub = &nodes[0];
        assert_eq!(
            (hub.name.as_str(), hub.ns.as_str(), hub.host_ns.as_str()),
            ("hub", "t-hub", "t-h0")
        );
        assert_eq!(hub.nbma, Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(hub.nbma_gateway(), Ipv4Addr::new(172, 17, 0, 254));
        assert_eq!(hub.tunnel, Ipv4Addr::new(10, 0, 0, 1));
        let s2 = &nodes[2];
        assert_eq!((s2.name.as_str(), s2.ns.as_str()), ("spoke2", "t-s2"));
        assert_eq!(s2.nbma, Ipv4Addr::new(172, 16, 2, 1));
        assert_eq!(s2.tunnel, Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(s2.host, Ipv4Addr::new(192, 168, 2, 10));
        assert_eq!(s2.lan_net(), Ipv4Addr::new(192, 168, 2, 0));
        assert_eq!(s2.socket, PathBuf::from("/run/dmvpn-lab/t/spoke2.sock"));
    }

    #[test]
    fn a_dual_hub_lab_ends_with_the_second_hub() {
        let mut spec = LabSpec::new("t", 2, Phase::Three, PathBuf::from("dmvpn"));
        assert_eq!(spec.hub2_index(), None);
        assert_eq!(spec.hub_indexes(), vec![0]);
        spec.dual_hub = true;
        let nodes = spec.nodes().unwrap();
        assert_eq!(nodes.len(), 4);
        assert_eq!(spec.hub2_index(), Some(3));
        assert_eq!(spec.hub_indexes(), vec![0, 3]);
        let hub2 = &nodes[3];
        spec.phase = Phase::One;
        assert!(matches!(spec.nodes(), Err(LabError::Spec(_))));
        assert!(hub2.hub && nodes[0].hub && !nodes[1].hub && !nodes[2].hub);
        assert_eq!((hub2.name.as_str(), hub2.ns.as_str()), ("hub2", "t-hub2"));
        assert_eq!(hub2.nbma, Ipv4Addr::new(172, 17, 0, 5));
        assert_eq!(hub2.nbma_gateway(), nodes[0].nbma_gateway());
        assert_eq!(hub2.tunnel, Ipv4Addr::new(10, 0, 0, 254));
        assert_eq!(hub2.lan_net(), Ipv4Addr::new(192, 168, 254, 0));
    }

    #[test]
    fn routing_modes_have_names() {
        for r in Routing::ALL {
            assert_eq!(Routing::from_name(r.name()), Some(r));
        }
        assert_eq!(Routing::from_name("rip"), None);
        assert_eq!(Routing::default(), Routing::Static);
    }

    #[test]
    fn spoke_counts_outside_the_plan_are_refused() {
        for spokes in [0, 1, MAX_SPOKES + 1, usize::MAX] {
            let spec = LabSpec::new("t", spokes, Phase::Two, PathBuf::from("dmvpn"));
            assert!(matches!(spec.nodes(), Err(LabError::Spec(_))), "{spokes}");
        }
        let spec = LabSpec::new("t", MAX_SPOKES, Phase::Two, PathBuf::from("dmvpn"));
        let nodes = spec.nodes().unwrap();
        assert_eq!(
            nodes.last().map(|n| n.tunnel),
            Some(Ipv4Addr::new(10, 0, 0, 251))
        );
    }
}

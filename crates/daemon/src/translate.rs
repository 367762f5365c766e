//! Translation of the IOS-dialect configuration model (`dmvpn-config`) into what the node
//! runs: one [`TunnelPlan`] per `interface TunnelN` with the data plane's [`TunnelConfig`],
//! the forwarding-table seeds (NHS NBMA addresses, multicast policy), the kernel routes to
//! install from `ip route`, and a template of the NHRP engine's [`InterfaceConfig`] (completed
//! with the NBMA address once the data plane knows the tunnel source address).
//!
//! Physical interfaces in the configuration are not configured by the daemon (the operating
//! system owns them); their static addresses only tell the engine which networks this station
//! answers Resolution Requests for (`local_networks`).

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_config::{
    Config, Interface, Ipv4Net, MulticastMap as CfgMulticast, NhsAddress, RouteTarget, Tunnel,
    TunnelMode as CfgMode, TunnelSource as CfgSource,
};
use dmvpn_dataplane::{MulticastPolicy, TunnelConfig, TunnelMode, TunnelSource};
use dmvpn_mgmt::TunnelRole;
use dmvpn_nhrp::{
    IfIndex, InterfaceConfig, MaxSend, MulticastMap, NhsConfig, Prefix, StaticMap, TunnelRoute,
};

/// A configuration the node cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// A tunnel needs `ip address A.B.C.D M.M.M.M`.
    #[error("interface {0}: a tunnel needs a static `ip address`")]
    NoAddress(String),
    /// A tunnel needs `tunnel source`.
    #[error("interface {0}: a tunnel needs `tunnel source INTERFACE|ADDRESS`")]
    NoSource(String),
    /// Point-to-point GRE needs `tunnel destination`.
    #[error(
        "interface {0}: point-to-point GRE needs `tunnel destination`; or use `tunnel mode gre multipoint`"
    )]
    NoDestination(String),
    /// `ip nhrp nhs dynamic` is not supported yet.
    #[error("interface {0}: `ip nhrp nhs dynamic` is not supported yet; name the NHS address")]
    DynamicNhs(String),
    /// The tunnel's IPsec protection cannot run (IKEv1, an incomplete profile, something
    /// the IKE engine does not support yet): the tunnel does not start unprotected.
    #[error("{0}")]
    Protection(String),
    /// Linux interface names are at most 15 bytes.
    #[error("interface {0}: the name is longer than Linux's 15 bytes")]
    NameTooLong(String),
}

/// A kernel route the node installs into a tunnel (`ip route PREFIX MASK NEXT-HOP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelRoute {
    /// The destination prefix.
    pub prefix: Ipv4Net,
    /// The tunnel next hop, or `None` for an interface route.
    pub via: Option<Ipv4Addr>,
}

/// Everything the node needs to run one tunnel interface.
#[derive(Debug, Clone, PartialEq)]
pub struct TunnelPlan {
    /// The engine's interface index: the tunnel number (stable across reloads).
    pub ifindex: IfIndex,
    /// `Tunnel0`.
    pub name: String,
    /// Hub (no NHS) or spoke.
    pub role: TunnelRole,
    /// The data plane's configuration.
    pub dataplane: TunnelConfig,
    /// NBMA addresses of the NHSes, in order of preference: by `priority` (lower first, as
    /// the engine picks its active NHS), then in configured order.
    pub nhs_nbma: Vec<Ipv4Addr>,
    /// Multicast replication targets.
    pub multicast: MulticastPolicy,
    /// Routes to install into the kernel via this tunnel.
    pub routes: Vec<KernelRoute>,
    /// The engine's configuration; `nbma_addr` is filled in by [`TunnelPlan::engine_config`].
    pub engine: InterfaceConfig,
    /// `tunnel protection ipsec profile NAME`, when configured.
    pub protection: Option<String>,
    /// The protection resolved (profiles, keyring, smart defaults), when configured.
    pub ipsec: Option<dmvpn_config::crypto::ResolvedProtection>,
    /// Call admission (`crypto ikev2 limit …`): applied to a running IKE engine in place.
    pub ike_limits: dmvpn_config::model::IkeLimits,
    /// Whether any `ip nhrp` command was given (NHRP runs on this tunnel).
    pub nhrp: bool,
    /// Identity-bound NHRP (`ip nhrp identity-map NAME`): the map's lines.
    pub identity_claims: Vec<dmvpn_config::model::IdentityClaim>,
}

impl TunnelPlan {
    /// The engine configuration with the current NBMA (tunnel source) address.
    pub fn engine_config(&self, nbma: Ipv4Addr) -> InterfaceConfig {
        let mut c = self.engine.clone();
        c.nbma_addr = nbma;
        c
    }

    /// The IPsec group of a protected tunnel: the tunnels of one group share one IKE engine,
    /// one SA database and one set of IPsec sockets. A tunnel protected with `shared` groups
    /// with the other `shared` tunnels on its tunnel source (same profile, checked by
    /// [`plan`]); any other protected tunnel is a group of its own.
    pub fn ipsec_group(&self) -> Option<String> {
        let p = self.ipsec.as_ref()?;
        Some(if p.shared {
            let source = match &self.dataplane.source {
                dmvpn_dataplane::TunnelSource::Address(a) => a.to_string(),
                dmvpn_dataplane::TunnelSource::Interface(i) => i.clone(),
            };
            // One profile per shared source (checked by `plan`): the source names the group,
            // so a profile renamed by a reload keeps it.
            format!("shared on {source}")
        } else {
            self.name.clone()
        })
    }
}

fn prefix_of(net: &Ipv4Net) -> Prefix {
    // An `Ipv4Net`'s length is at most 32, so the fallback is never taken.
    Prefix::new(net.network(), net.prefix_len()).unwrap_or(Prefix::host(net.network()))
}

/// Builds the plan of every tunnel interface in `config` (shut-down tunnels are skipped).
pub fn plan(config: &Config) -> Result<Vec<TunnelPlan>, TranslateError> {
    let mut plans = Vec::new();
    for (iface, tunnel) in config.tunnels() {
        if iface.shutdown {
            continue;
        }
        plans.push(plan_tunnel(config, iface, tunnel)?);
    }
    // A protected tunnel owns the IKE and ESP sockets of its tunnel source, unless it shares
    // them (`tunnel protection ... shared`) with the other tunnels on that source, which
    // must then all be shared and use the same profile.
    for (i, a) in plans.iter().enumerate() {
        let Some(pa) = &a.ipsec else {
            continue;
        };
        for b in plans.iter().skip(i + 1) {
            let Some(pb) = &b.ipsec else {
                continue;
            };
            if b.dataplane.source != a.dataplane.source {
                continue;
            }
            if !pa.shared || !pb.shared {
                return Err(TranslateError::Protection(format!(
                    "{} and {} are both protected and share their tunnel source: add `shared` to the protection of both (`tunnel protection ipsec profile {} shared`), or give each its own tunnel source",
                    a.name, b.name, pa.ipsec_profile
                )));
            }
            if pa.ipsec_profile != pb.ipsec_profile {
                return Err(TranslateError::Protection(format!(
                    "{} and {} share their tunnel source and IPsec (`shared`) but name different IPsec profiles ({} and {}): tunnels sharing one IKE SA per peer must use the same profile",
                    a.name, b.name, pa.ipsec_profile, pb.ipsec_profile
                )));
            }
        }
    }
    Ok(plans)
}

fn plan_tunnel(
    config: &Config,
    iface: &Interface,
    tunnel: &Tunnel,
) -> Result<TunnelPlan, TranslateError> {
    let name = iface.name.clone();
    if name.len() > 15 {
        return Err(TranslateError::NameTooLong(name));
    }
    let ipsec =
        crate::ike_config::tunnel_protection(config, &name).map_err(TranslateError::Protection)?;
    let addr = iface
        .static_address()
        .ok_or_else(|| TranslateError::NoAddress(name.clone()))?;
    let source = match &tunnel.source {
        Some(CfgSource::Interface(n)) => TunnelSource::Interface(n.clone()),
        Some(CfgSource::Address(a)) => TunnelSource::Address(*a),
        None => return Err(TranslateError::NoSource(name)),
    };
    let mode = match tunnel.mode {
        CfgMode::GreMultipoint => TunnelMode::Multipoint,
        CfgMode::GreIp => TunnelMode::PointToPoint {
            destination: tunnel
                .destination
                .ok_or_else(|| TranslateError::NoDestination(name.clone()))?,
        },
    };
    let mut dp = TunnelConfig::new(name.clone(), addr.addr(), addr.prefix_len(), source.clone());
    if let Some(mtu) = iface.mtu {
        dp.mtu = mtu;
    }
    dp.mode = mode;
    dp.key = tunnel.key;
    dp.tcp_adjust_mss = iface.tcp_adjust_mss;
    // A hub with `ip nhrp redirect` watches for packets relayed tunnel to tunnel.
    dp.detect_hairpin = mode == TunnelMode::Multipoint && tunnel.nhrp.redirect;

    let nhrp = &tunnel.nhrp;
    let mut engine = InterfaceConfig::new(
        tunnel.number,
        name.clone(),
        addr.addr(),
        addr.prefix_len(),
        Ipv4Addr::UNSPECIFIED,
    );
    engine.holdtime = Duration::from_secs(u64::from(nhrp.effective_holdtime()));
    engine.registration_timeout = nhrp
        .registration_timeout
        .map(|s| Duration::from_secs(u64::from(s)));
    engine.registration_no_unique = nhrp.registration_no_unique;
    engine.network_id = nhrp.effective_network_id();
    engine.authentication = nhrp.authentication.clone();
    engine.redirect = nhrp.redirect;
    engine.shortcut = nhrp.shortcut;
    engine.max_send = Some(match nhrp.max_send {
        Some(m) => MaxSend {
            packets: u32::from(m.packets),
            every: Duration::from_secs(u64::from(m.every_secs)),
        },
        None => MaxSend::default(),
    });
    // With `tunnel protection`, NHRP to a peer waits for the protection seam to report the
    // peer protected (the node core's `Action::ProtectionNeeded` arm).
    engine.protection_required = tunnel.protection.is_some();
    engine.identity_bound = tunnel.nhrp.identity_map.is_some();
    engine.mtu = dp.mtu;
    engine.static_maps = nhrp
        .maps
        .iter()
        .map(|m| StaticMap {
            protocol: Prefix::host(m.protocol),
            nbma: m.nbma,
        })
        .collect();
    // In point-to-point mode the destination is the NBMA address of everything in the tunnel.
    let mut nhs_nbma = Vec::new();
    for n in &nhrp.nhs {
        let NhsAddress::Address(protocol) = n.protocol else {
            return Err(TranslateError::DynamicNhs(name));
        };
        let nbma = n
            .nbma
            .or_else(|| {
                nhrp.maps
                    .iter()
                    .find(|m| m.protocol == protocol)
                    .map(|m| m.nbma)
            })
            .or(tunnel.destination);
        if let Some(a) = nbma {
            nhs_nbma.push((n.priority.unwrap_or(0), a));
        }
        engine.nhs.push(NhsConfig {
            protocol,
            nbma,
            priority: n.priority.unwrap_or(0),
        });
        if n.multicast
            && let Some(a) = nbma
        {
            engine.multicast.push(MulticastMap::Static(a));
        }
    }
    // The data plane sends unresolved traffic through the first NHS that is up: the same
    // preference as the engine's (a stable sort keeps the configured order among equals).
    nhs_nbma.sort_by_key(|(priority, _)| *priority);
    let nhs_nbma: Vec<Ipv4Addr> = nhs_nbma.into_iter().map(|(_, a)| a).collect();
    let mut multicast = MulticastPolicy {
        static_targets: Vec::new(),
        dynamic: false,
        nhs: false,
    };
    for m in &nhrp.multicast {
        match m {
            CfgMulticast::Nbma(a) => {
                multicast.static_targets.push(*a);
                engine.multicast.push(MulticastMap::Static(*a));
            }
            CfgMulticast::Dynamic => {
                multicast.dynamic = true;
                engine.multicast.push(MulticastMap::Dynamic);
            }
        }
    }
    for n in &nhrp.nhs {
        if n.multicast
            && let Some(a) = n.nbma
            && !multicast.static_targets.contains(&a)
        {
            multicast.static_targets.push(a);
        }
    }

    // Local networks: static addresses of the other (non-tunnel) interfaces, except the one
    // the tunnel leaves from.
    let source_iface = match &source {
        TunnelSource::Interface(n) => Some(n.as_str()),
        TunnelSource::Address(_) => None,
    };
    for other in &config.interfaces {
        if other.tunnel.is_some() || other.shutdown {
            continue;
        }
        if source_iface.is_some_and(|s| other.name.eq_ignore_ascii_case(s)) {
            continue;
        }
        if let Some(net) = other.static_address() {
            if let TunnelSource::Address(a) = source
                && net.addr() == a
            {
                continue;
            }
            engine.local_networks.push(prefix_of(&net.trunc()));
        }
    }

    let subnet = addr.trunc();
    let mut routes = Vec::new();
    for r in &config.static_routes {
        let route = match &r.target {
            RouteTarget::NextHop(nh) if subnet.contains(nh) => Some(KernelRoute {
                prefix: r.prefix.trunc(),
                via: Some(*nh),
            }),
            RouteTarget::Interface(i) if i.eq_ignore_ascii_case(&name) => Some(KernelRoute {
                prefix: r.prefix.trunc(),
                via: None,
            }),
            RouteTarget::InterfaceNextHop(i, nh) if i.eq_ignore_ascii_case(&name) => {
                Some(KernelRoute {
                    prefix: r.prefix.trunc(),
                    via: Some(*nh),
                })
            }
            _ => None,
        };
        if let Some(route) = route {
            routes.push(route);
            if let Some(nh) = route.via {
                engine.routes.push(TunnelRoute {
                    prefix: prefix_of(&route.prefix),
                    next_hop: nh,
                });
            }
        }
    }

    Ok(TunnelPlan {
        ifindex: tunnel.number,
        role: if engine.nhs.is_empty() {
            TunnelRole::Hub
        } else {
            TunnelRole::Spoke
        },
        name,
        dataplane: dp,
        nhs_nbma,
        multicast,
        routes,
        engine,
        protection: tunnel.protection.as_ref().map(|p| p.profile.clone()),
        ipsec,
        ike_limits: config.crypto.limits,
        nhrp: nhrp.is_configured(),
        identity_claims: match &nhrp.identity_map {
            Some(m) => config
                .crypto
                .identity_maps
                .iter()
                .filter(|c| &c.map == m)
                .cloned()
                .collect(),
            None => Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOKE: &str = "\
hostname Spoke1
interface Tunnel0
 ip address 10.0.0.2 255.255.255.0
 ip mtu 1400
 ip tcp adjust-mss 1360
 ip nhrp authentication test
 ip nhrp map 10.0.0.1 172.17.0.1
 ip nhrp map multicast 172.17.0.1
 ip nhrp network-id 100000
 ip nhrp holdtime 300
 ip nhrp nhs 10.0.0.1
 ip nhrp shortcut
 tunnel source Ethernet0
 tunnel mode gre multipoint
 tunnel key 100000
!
interface Ethernet0
 ip address 172.16.1.1 255.255.255.0
!
interface Ethernet1
 ip address 192.168.1.1 255.255.255.0
!
ip route 192.168.0.0 255.255.0.0 10.0.0.1
ip route 0.0.0.0 0.0.0.0 172.16.1.254
";

    fn parse(text: &str) -> Config {
        let p = dmvpn_config::parse(text);
        assert!(!p.has_errors(), "{}", p.render("test.conf"));
        p.config
    }

    #[test]
    fn spoke_plan_carries_the_seed_settings() {
        let plans = plan(&parse(SPOKE)).expect("plan");
        assert_eq!(plans.len(), 1);
        let p = &plans[0];
        assert_eq!(p.name, "Tunnel0");
        assert_eq!(p.ifindex, 0);
        assert_eq!(p.role, TunnelRole::Spoke);
        assert_eq!(p.dataplane.mode, TunnelMode::Multipoint);
        assert_eq!(p.dataplane.key, Some(100000));
        assert_eq!(p.dataplane.tcp_adjust_mss, Some(1360));
        assert_eq!(
            p.dataplane.source,
            TunnelSource::Interface("Ethernet0".into())
        );
        assert_eq!(p.nhs_nbma, vec![Ipv4Addr::new(172, 17, 0, 1)]);
        assert_eq!(
            p.multicast.static_targets,
            vec![Ipv4Addr::new(172, 17, 0, 1)]
        );
        // Only the route into the tunnel is installed; the default route is not ours.
        assert_eq!(p.routes.len(), 1);
        assert_eq!(p.routes[0].via, Some(Ipv4Addr::new(10, 0, 0, 1)));
        let e = p.engine_config(Ipv4Addr::new(172, 16, 1, 1));
        assert_eq!(e.nbma_addr, Ipv4Addr::new(172, 16, 1, 1));
        assert_eq!(e.holdtime, Duration::from_secs(300));
        assert_eq!(e.network_id, 100000);
        assert_eq!(e.authentication.as_deref(), Some("test"));
        assert!(e.shortcut && !e.redirect);
        assert_eq!(e.nhs.len(), 1);
        assert_eq!(e.nhs[0].nbma, Some(Ipv4Addr::new(172, 17, 0, 1)));
        // Ethernet1's LAN is answered for; Ethernet0 (the tunnel source) is not.
        assert_eq!(
            e.local_networks,
            vec![Prefix::new(Ipv4Addr::new(192, 168, 1, 0), 24).expect("prefix")]
        );
        assert_eq!(e.routes.len(), 1);
    }

    #[test]
    fn nhs_addresses_are_in_priority_order() {
        let text = SPOKE.replace(
            " ip nhrp nhs 10.0.0.1\n",
            " ip nhrp nhs 10.0.0.1 priority 2\n ip nhrp nhs 10.0.0.254 nbma 172.17.0.5 priority 1\n ip nhrp nhs 10.0.0.253 nbma 172.17.0.6 priority 2\n",
        );
        let plans = plan(&parse(&text)).expect("plan");
        assert_eq!(
            plans[0].nhs_nbma,
            vec![
                Ipv4Addr::new(172, 17, 0, 5),
                Ipv4Addr::new(172, 17, 0, 1),
                Ipv4Addr::new(172, 17, 0, 6)
            ]
        );
    }

    /// The model without the validator's cross-checks (which would refuse these first).
    fn parse_unvalidated(text: &str) -> Config {
        dmvpn_config::parse_syntax(text).config
    }

    #[test]
    fn point_to_point_needs_a_destination_and_uses_it_for_the_nhs() {
        let text = "interface Tunnel0\n ip address 10.0.0.2 255.255.255.0\n ip nhrp nhs 10.0.0.1\n tunnel source 172.16.1.1\n";
        assert_eq!(
            plan(&parse_unvalidated(text)),
            Err(TranslateError::NoDestination("Tunnel0".into()))
        );
        let text = "interface Tunnel0\n ip address 10.0.0.2 255.255.255.0\n ip nhrp nhs 10.0.0.1\n tunnel source 172.16.1.1\n tunnel destination 172.17.0.1\n";
        let plans = plan(&parse_unvalidated(text)).expect("plan");
        assert_eq!(
            plans[0].dataplane.mode,
            TunnelMode::PointToPoint {
                destination: Ipv4Addr::new(172, 17, 0, 1)
            }
        );
        assert_eq!(plans[0].nhs_nbma, vec![Ipv4Addr::new(172, 17, 0, 1)]);
        assert!(!plans[0].dataplane.detect_hairpin);
    }

    #[test]
    fn hub_without_nhs_is_a_hub_with_dynamic_multicast() {
        let text = "interface Tunnel0\n ip address 10.0.0.1 255.255.255.0\n ip nhrp map multicast dynamic\n ip nhrp redirect\n tunnel source Ethernet0\n tunnel mode gre multipoint\n";
        let plans = plan(&parse(text)).expect("plan");
        assert_eq!(plans[0].role, TunnelRole::Hub);
        assert!(plans[0].multicast.dynamic);
        assert!(plans[0].engine.redirect);
        assert!(plans[0].dataplane.detect_hairpin);
    }

    const CRYPTO: &str = "\
crypto ikev2 keyring K
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key k3y
crypto ikev2 profile I
 match identity remote address 0.0.0.0
 authentication local pre-share
 authentication remote pre-share
 keyring local K
crypto ipsec transform-set T esp-gcm 256
 mode transport
crypto ipsec profile P
 set transform-set T
 set ikev2-profile I
crypto ipsec profile Q
 set transform-set T
 set ikev2-profile I
";

    /// Two multipoint tunnels on Ethernet0 (keys 1 and 2) protected as given.
    fn two_tunnels(p0: &str, p1: &str) -> String {
        let mut t = CRYPTO.to_string();
        for (i, p) in [p0, p1].iter().enumerate() {
            t.push_str(&format!(
                "interface Tunnel{i}\n ip address 10.{i}.0.1 255.255.255.0\n tunnel source Ethernet0\n tunnel mode gre multipoint\n tunnel key {}\n tunnel protection ipsec profile {p}\n!\n",
                i + 1
            ));
        }
        t.push_str("interface Ethernet0\n ip address 172.16.1.1 255.255.255.0\n");
        t
    }

    #[test]
    fn shared_protection_groups_the_tunnels_of_one_source() {
        let plans = plan(&parse(&two_tunnels("P shared", "P shared"))).expect("plan");
        let groups: Vec<_> = plans.iter().map(TunnelPlan::ipsec_group).collect();
        assert_eq!(groups.len(), 2);
        assert!(groups[0].is_some());
        assert_eq!(groups[0], groups[1], "one group for both tunnels");
    }

    #[test]
    fn protected_tunnels_on_one_source_need_shared_and_one_profile() {
        let e = plan(&parse(&two_tunnels("P", "P"))).expect_err("refused");
        assert!(
            e.to_string()
                .contains("add `shared` to the protection of both"),
            "{e}"
        );
        let e = plan(&parse(&two_tunnels("P shared", "P"))).expect_err("refused");
        assert!(e.to_string().contains("add `shared`"), "{e}");
        let e = plan(&parse(&two_tunnels("P shared", "Q shared"))).expect_err("refused");
        assert!(e.to_string().contains("different IPsec profiles"), "{e}");
    }
}

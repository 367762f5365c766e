//! Each router's IOS-style configuration, in the style of seed 003: NHRP authentication
//! `test`, network-id and tunnel key 100000, `ip mtu 1400`, the phase's NHRP commands, the
//! physical interfaces as the lab set them up, and static routes standing in for the routing
//! protocol of the seeds.

use std::fmt::Write as _;
use std::fs;
use std::net::Ipv4Addr;

use crate::LabError;
use crate::spec::{LabSpec, Node, Phase, Routing};
use crate::topology::Lab;

/// Seed 003's IPsec profile in IOS-XE's IKEv2 words, written before the tunnel when the
/// spec asks for protection, with today's algorithms instead of the seed's DES and MD5
/// (which the configuration refuses): an IKEv2 proposal of AES-256-GCM, PRF SHA-256 and
/// group 19 (with group 14 as a fallback), a wildcard pre-shared key (seed 003's
/// `cisco47`), and AES-256-GCM ESP in transport mode.
const PROTECTION_PROFILE: [&str; 26] = [
    "crypto ikev2 proposal p1",
    " encryption aes-gcm-256",
    " prf sha256",
    " group 19 14",
    "crypto ikev2 policy pol1",
    " proposal p1",
    "crypto ikev2 keyring dmvpn-keys",
    " peer ANY",
    "  address 0.0.0.0 0.0.0.0",
    "  pre-shared-key cisco47",
    "!",
    "crypto ikev2 profile ikev2prof",
    " match identity remote address 0.0.0.0",
    " authentication local pre-share",
    " authentication remote pre-share",
    " keyring local dmvpn-keys",
    " nat keepalive 20",
    "!",
    "crypto ipsec transform-set trans2 esp-gcm 256",
    " mode transport",
    "!",
    "crypto ipsec profile vpnprof",
    " set transform-set trans2",
    " set ikev2-profile ikev2prof",
    "!",
    "!",
];

/// The configuration text of router `index` (0 = hub) of a lab with these routers; empty
/// when there is no such router.
pub fn node_config(spec: &LabSpec, nodes: &[Node], index: usize) -> String {
    let mut c = String::new();
    let (Some(hub), Some(node)) = (nodes.first(), nodes.get(index)) else {
        return c;
    };
    let hub2 = spec.hub2_index().and_then(|i| nodes.get(i));
    let _ = writeln!(
        c,
        "! dmvpn lab, phase {}, {}",
        spec.phase.number(),
        node.name
    );
    let hostname = match (index, node.hub) {
        (0, _) => "Hub".to_string(),
        (_, true) => "Hub2".to_string(),
        _ => format!("Spoke{index}"),
    };
    let _ = writeln!(c, "hostname {hostname}");
    let _ = writeln!(c, "!");
    if spec.protection
        && index == 0
        && let Some(n) = spec.hub_max_ike_sa
    {
        let _ = writeln!(c, "crypto ikev2 limit max-sa {n}");
    }
    if spec.protection {
        let wrong_key = !node.hub && spec.wrong_key_spokes.contains(&index);
        for line in PROTECTION_PROFILE {
            if wrong_key && line.contains("pre-shared-key") {
                let _ = writeln!(c, "  pre-shared-key not-the-right-key");
                continue;
            }
            if let Some(t) = &spec.esp_transform
                && line.starts_with("crypto ipsec transform-set ")
            {
                let _ = writeln!(c, "crypto ipsec transform-set trans2 {t}");
                continue;
            }
            let _ = writeln!(c, "{line}");
            if line == " set ikev2-profile ikev2prof"
                && let Some(kb) = spec.sa_lifetime_kb
            {
                let _ = writeln!(c, " set security-association lifetime kilobytes {kb}");
            }
        }
    }
    let _ = writeln!(c, "interface Tunnel0");
    let _ = writeln!(c, " ip address {} 255.255.255.0", node.tunnel);
    let _ = writeln!(c, " ip mtu 1400");
    if let Some(mss) = spec.adjust_mss {
        let _ = writeln!(c, " ip tcp adjust-mss {mss}");
    }
    let _ = writeln!(c, " ip nhrp authentication test");
    if node.hub {
        if index != 0 {
            // Seed 003: the second hub is also a client of the first.
            let _ = writeln!(c, " ip nhrp map {} {}", hub.tunnel, hub.nbma);
            let _ = writeln!(c, " ip nhrp map multicast {}", hub.nbma);
        }
        let _ = writeln!(c, " ip nhrp map multicast dynamic");
        let _ = writeln!(c, " ip nhrp network-id 100000");
        let _ = writeln!(c, " ip nhrp holdtime {}", spec.holdtime.saturating_mul(2));
        if index != 0 {
            let _ = writeln!(c, " ip nhrp nhs {}", hub.tunnel);
        }
        if spec.phase == Phase::Three && spec.shortcuts {
            let _ = writeln!(c, " ip nhrp redirect");
        }
        let _ = writeln!(c, " tunnel source Ethernet0");
        let _ = writeln!(c, " tunnel mode gre multipoint");
    } else {
        let _ = writeln!(c, " ip nhrp map {} {}", hub.tunnel, hub.nbma);
        if spec.phase != Phase::One {
            let _ = writeln!(c, " ip nhrp map multicast {}", hub.nbma);
        }
        if let Some(h2) = hub2 {
            let _ = writeln!(c, " ip nhrp map {} {}", h2.tunnel, h2.nbma);
            let _ = writeln!(c, " ip nhrp map multicast {}", h2.nbma);
        }
        let _ = writeln!(c, " ip nhrp network-id 100000");
        let _ = writeln!(c, " ip nhrp holdtime {}", spec.holdtime);
        match hub2 {
            Some(h2) => {
                let _ = writeln!(c, " ip nhrp nhs {} priority 1", hub.tunnel);
                let _ = writeln!(c, " ip nhrp nhs {} priority 2", h2.tunnel);
            }
            None => {
                let _ = writeln!(c, " ip nhrp nhs {}", hub.tunnel);
            }
        }
        if let Some(t) = spec.registration_timeout {
            let _ = writeln!(c, " ip nhrp registration timeout {t}");
        }
        if spec.phase == Phase::Three && spec.shortcuts {
            let _ = writeln!(c, " ip nhrp shortcut");
        }
        let _ = writeln!(c, " tunnel source Ethernet0");
        if spec.phase == Phase::One {
            let _ = writeln!(c, " tunnel destination {}", hub.nbma);
        } else {
            let _ = writeln!(c, " tunnel mode gre multipoint");
        }
    }
    let _ = writeln!(c, " tunnel key 100000");
    if spec.protection {
        let _ = writeln!(c, " tunnel protection ipsec profile vpnprof");
    }
    let _ = writeln!(c, "!");
    if !spec.tunnel_only {
        // The physical interfaces are set up by the lab; they are listed as in the seeds (the
        // daemon does not configure them, it answers resolutions for Ethernet1's LAN).
        let _ = writeln!(c, "interface Ethernet0");
        let _ = writeln!(c, " ip address {} 255.255.255.0", node.local_nbma());
        let _ = writeln!(c, "!");
        let _ = writeln!(c, "interface Ethernet1");
        let _ = writeln!(c, " ip address {} 255.255.255.0", node.lan_gw);
        let _ = writeln!(c, "!");
        // Static routes stand in for the routing protocol of the seeds; with FRR, the
        // routing daemon adds the routes.
        for (prefix, mask, via) in node_routes(spec, nodes, index) {
            let _ = writeln!(c, "ip route {prefix} {mask} {via}");
        }
    }
    let _ = writeln!(c, "!");
    let _ = writeln!(c, "end");
    c
}

/// The routes through the tunnel that router `index` needs (prefix, mask, tunnel next hop),
/// standing in for the routing protocol of the seeds: a hub routes every other router's LAN
/// to that router; spokes have a summary via the (first) hub (phases 1 and 3) or every other
/// router's LAN via that router, as a routing protocol with next-hop preserved gives
/// (phase 2). None when FRR carries the routes ([`LabSpec::routing`]).
fn node_routes(
    spec: &LabSpec,
    nodes: &[Node],
    index: usize,
) -> Vec<(Ipv4Addr, Ipv4Addr, Ipv4Addr)> {
    let mask24 = Ipv4Addr::new(255, 255, 255, 0);
    let (Some(hub), Some(node)) = (nodes.first(), nodes.get(index)) else {
        return Vec::new();
    };
    if spec.routing != Routing::Static {
        return Vec::new();
    }
    let every_other = || {
        nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != index)
            .map(|(_, o)| (o.lan_net(), mask24, o.tunnel))
            .collect()
    };
    if node.hub {
        return every_other();
    }
    match spec.phase {
        Phase::One | Phase::Three => vec![(
            Ipv4Addr::new(192, 168, 0, 0),
            Ipv4Addr::new(255, 255, 0, 0),
            hub.tunnel,
        )],
        Phase::Two => every_other(),
    }
}

/// Prefix length of a contiguous netmask.
fn mask_len(mask: Ipv4Addr) -> u32 {
    u32::from(mask).count_ones()
}

/// `text` with `lines` inserted before its final `end`, which is written again.
fn append_before_end(text: &str, lines: &str) -> String {
    let body = text.trim_end().strip_suffix("end").unwrap_or(text);
    format!("{}\n{}\nend\n", body.trim_end(), lines.trim_end())
}

impl Lab {
    /// The configuration text of node `index` (0 = hub), in seed 003's style.
    pub fn config_text(&self, index: usize) -> String {
        node_config(&self.spec, &self.nodes, index)
    }

    pub(crate) fn write_configs(&self) -> Result<(), LabError> {
        for (i, node) in self.nodes.iter().enumerate() {
            fs::write(&node.config, self.config_text(i)).map_err(|source| LabError::Io {
                path: node.config.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// Adds, with `ip route` in each router's namespace, the routes its configuration would
    /// hold (see [`LabSpec::tunnel_only`]), as a routing daemon adds them. Call once the
    /// daemons run (the routes go through their `Tunnel0` devices).
    pub fn add_kernel_routes(&self) -> Result<(), LabError> {
        for (i, node) in self.nodes.iter().enumerate() {
            for (prefix, mask, via) in node_routes(&self.spec, &self.nodes, i) {
                let dst = format!("{prefix}/{}", mask_len(mask));
                let via = via.to_string();
                crate::exec::ns_run(
                    &node.ns,
                    "ip",
                    &["route", "replace", &dst, "via", &via, "dev", "Tunnel0"],
                )?;
            }
        }
        Ok(())
    }

    /// Appends configuration lines to node `index`'s configuration file (before `end`); send
    /// SIGHUP afterwards to apply them.
    pub fn append_config(&self, index: usize, lines: &str) -> Result<(), LabError> {
        let Some(node) = self.nodes.get(index) else {
            return Ok(());
        };
        let text = fs::read_to_string(&node.config).map_err(|source| LabError::Io {
            path: node.config.clone(),
            source,
        })?;
        fs::write(&node.config, append_before_end(&text, lines)).map_err(|source| LabError::Io {
            path: node.config.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn configs(phase: Phase, protection: bool) -> Vec<String> {
        let mut spec = LabSpec::new("t", 2, phase, PathBuf::from("dmvpn"));
        spec.protection = protection;
        let nodes = spec.nodes().unwrap();
        (0..nodes.len())
            .map(|i| node_config(&spec, &nodes, i))
            .collect()
    }

    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn phase3_hub_redirects_and_spokes_take_shortcuts_via_the_summary() {
        let c = configs(Phase::Three, false);
        assert!(has(&c[0], "hostname Hub"));
        assert!(has(&c[0], " ip nhrp redirect"));
        assert!(has(&c[0], " ip nhrp holdtime 600"));
        assert!(has(&c[0], "ip route 192.168.1.0 255.255.255.0 10.0.0.2"));
        assert!(has(&c[0], "ip route 192.168.2.0 255.255.255.0 10.0.0.3"));
        assert!(has(&c[1], "hostname Spoke1"));
        assert!(has(&c[1], " ip nhrp shortcut"));
        assert!(has(&c[1], " ip nhrp map 10.0.0.1 172.17.0.1"));
        assert!(has(&c[1], " ip nhrp map multicast 172.17.0.1"));
        assert!(has(&c[1], " tunnel mode gre multipoint"));
        assert!(has(&c[1], "ip route 192.168.0.0 255.255.0.0 10.0.0.1"));
        assert!(c.iter().all(|t| t.ends_with("!\nend\n")));
        assert!(c.iter().all(|t| !t.contains("crypto")));
    }

    #[test]
    fn phase1_spokes_are_point_to_point_and_phase2_routes_name_the_other_spoke() {
        let one = configs(Phase::One, false);
        assert!(has(&one[1], " tunnel destination 172.17.0.1"));
        assert!(!one[1].contains("multicast"));
        assert!(!one[1].contains("shortcut"));
        let two = configs(Phase::Two, false);
        assert!(has(&two[1], "ip route 192.168.2.0 255.255.255.0 10.0.0.3"));
        assert!(has(&two[1], "ip route 192.168.0.0 255.255.255.0 10.0.0.1"));
        assert!(!two[0].contains("redirect"));
    }

    #[test]
    fn protection_adds_the_seed_profile_and_the_tunnel_line() {
        let c = configs(Phase::Two, true);
        for text in &c {
            assert!(has(text, "crypto ipsec profile vpnprof"));
            assert!(has(text, " tunnel protection ipsec profile vpnprof"));
            assert!(has(text, "crypto ipsec transform-set trans2 esp-gcm 256"));
            assert!(has(text, " encryption aes-gcm-256"));
            assert!(has(text, " set ikev2-profile ikev2prof"));
            assert!(!text.contains("isakmp"), "{text}");
            assert!(!text.contains("des") && !text.contains("md5"), "{text}");
            let parsed = dmvpn_config::parse(text);
            assert!(!parsed.has_errors(), "{}", parsed.render("lab.cfg"));
            assert!(
                parsed
                    .diagnostics
                    .iter()
                    .all(|d| d.is_error() || !d.message.contains("IKEv1")),
                "{}",
                parsed.render("lab.cfg")
            );
        }
    }

    #[test]
    fn esp_transform_replaces_the_transform_set_words() {
        let mut spec = LabSpec::new("t", 2, Phase::Three, PathBuf::from("dmvpn"));
        spec.protection = true;
        spec.esp_transform = Some("esp-aes 256 esp-sha256-hmac".to_string());
        let nodes = spec.nodes().unwrap();
        let text = node_config(&spec, &nodes, 1);
        assert!(has(
            &text,
            "crypto ipsec transform-set trans2 esp-aes 256 esp-sha256-hmac"
        ));
        assert!(!text.contains("esp-gcm"), "{text}");
        let parsed = dmvpn_config::parse(&text);
        assert!(!parsed.has_errors(), "{}", parsed.render("lab.cfg"));
    }

    #[test]
    fn dual_hub_spokes_register_with_both_hubs_and_the_second_hub_with_the_first() {
        let mut spec = LabSpec::new("t", 2, Phase::Three, PathBuf::from("dmvpn"));
        spec.dual_hub = true;
        let nodes = spec.nodes().unwrap();
        let c: Vec<String> = (0..nodes.len())
            .map(|i| node_config(&spec, &nodes, i))
            .collect();
        let spoke = &c[1];
        for line in [
            " ip nhrp map 10.0.0.1 172.17.0.1",
            " ip nhrp map multicast 172.17.0.1",
            " ip nhrp map 10.0.0.254 172.17.0.5",
            " ip nhrp map multicast 172.17.0.5",
            " ip nhrp nhs 10.0.0.1 priority 1",
            " ip nhrp nhs 10.0.0.254 priority 2",
        ] {
            assert!(has(spoke, line), "{line}\n{spoke}");
        }
        let hub2 = &c[3];
        assert!(has(hub2, "hostname Hub2"));
        assert!(has(hub2, " ip address 10.0.0.254 255.255.255.0"));
        assert!(has(hub2, " ip nhrp map multicast dynamic"));
        assert!(has(hub2, " ip nhrp nhs 10.0.0.1"));
        assert!(has(hub2, " ip nhrp redirect"));
        assert!(has(hub2, "ip route 192.168.1.0 255.255.255.0 10.0.0.2"));
        assert!(has(
            &c[0],
            "ip route 192.168.254.0 255.255.255.0 10.0.0.254"
        ));
        assert!(!c[0].contains("nhs"));
    }

    #[test]
    fn without_shortcuts_phase3_neither_redirects_nor_takes_shortcuts() {
        let mut spec = LabSpec::new("t", 2, Phase::Three, PathBuf::from("dmvpn"));
        spec.shortcuts = false;
        let nodes = spec.nodes().unwrap();
        for i in 0..nodes.len() {
            let text = node_config(&spec, &nodes, i);
            assert!(
                !text.contains("redirect") && !text.contains("shortcut"),
                "{text}"
            );
        }
        assert!(has(
            &node_config(&spec, &nodes, 1),
            "ip route 192.168.0.0 255.255.0.0 10.0.0.1"
        ));
    }

    #[test]
    fn frr_routing_leaves_the_routes_out_of_the_dmvpn_configs() {
        for routing in [Routing::Bgp, Routing::Ospf] {
            let mut spec = LabSpec::new("t", 2, Phase::Two, PathBuf::from("dmvpn"));
            spec.routing = routing;
            let nodes = spec.nodes().unwrap();
            for i in 0..nodes.len() {
                let text = node_config(&spec, &nodes, i);
                assert!(!text.contains("ip route"), "{text}");
                assert!(text.contains("interface Ethernet1"), "{text}");
                assert!(node_routes(&spec, &nodes, i).is_empty());
            }
        }
    }

    #[test]
    fn a_missing_node_has_no_config_and_appended_lines_go_before_end() {
        let spec = LabSpec::new("t", 2, Phase::Two, PathBuf::from("dmvpn"));
        let nodes = spec.nodes().unwrap();
        assert_eq!(node_config(&spec, &nodes, 9), "");
        assert_eq!(node_config(&spec, &[], 0), "");
        assert_eq!(
            append_before_end("a\n!\nend\n", "b\nc\n"),
            "a\n!\nb\nc\nend\n"
        );
        assert_eq!(append_before_end("a", "b"), "a\nb\nend\n");
    }
}

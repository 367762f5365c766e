//! `tunnel protection ipsec profile NAME shared` across network namespaces: a hub and two
//! spokes, each with two multipoint tunnels (keys 100000 and 200000) on the same tunnel
//! source, both protected by one profile with `shared`. Both tunnels register and carry
//! pings, over ONE IKE SA and one Child SA pair per NBMA peer (`show crypto ikev2 sa`,
//! `show crypto ipsec sa`, naming both tunnels), and the internet segment carries no
//! cleartext GRE. Removing one tunnel from the hub (SIGHUP) keeps the SA the other uses.
//!
//! Needs root, `ip`, `ping` and `tcpdump`; skips otherwise (fails under
//! `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase, Signal};

/// The second tunnel's address of a node: its Tunnel0 address with the second octet + 1.
fn tunnel1(t0: Ipv4Addr) -> Ipv4Addr {
    let o = t0.octets();
    Ipv4Addr::new(o[0], o[1].wrapping_add(1), o[2], o[3])
}

/// The Tunnel1 block of node `index`.
fn tunnel1_block(lab: &Lab, index: usize) -> String {
    let nodes = lab.nodes();
    let (hub, node) = (&nodes[0], &nodes[index]);
    let mut c = format!(
        "interface Tunnel1\n ip address {} 255.255.255.0\n ip mtu 1400\n ip nhrp network-id 200000\n",
        tunnel1(node.tunnel)
    );
    if index == 0 {
        c.push_str(" ip nhrp map multicast dynamic\n ip nhrp holdtime 600\n");
    } else {
        c.push_str(&format!(
            " ip nhrp map {} {}\n ip nhrp map multicast {}\n ip nhrp holdtime 300\n ip nhrp nhs {}\n",
            tunnel1(hub.tunnel),
            hub.nbma,
            hub.nbma,
            tunnel1(hub.tunnel)
        ));
    }
    c.push_str(
        " tunnel source Ethernet0\n tunnel mode gre multipoint\n tunnel key 200000\n tunnel protection ipsec profile vpnprof shared\n!\n",
    );
    c
}

fn show_json<T: serde::de::DeserializeOwned + Default>(
    lab: &Lab,
    index: usize,
    what: &[&str],
) -> T {
    let node = &lab.nodes()[index];
    let mut args = vec!["--socket", node.socket.to_str().unwrap(), "show"];
    args.extend_from_slice(what);
    args.push("--json");
    let out = lab::run(common::exe().to_str().unwrap(), &args).unwrap_or_default();
    serde_json::from_str(&out).unwrap_or_default()
}

fn ike_sas(lab: &Lab, index: usize) -> Vec<dmvpn_mgmt::IkeSaEntry> {
    show_json::<dmvpn_mgmt::IkeSaReport>(lab, index, &["crypto", "ikev2", "sa"]).sas
}

/// Whether the hub's cache maps both spokes' addresses of tunnel `t` (0 or 1).
fn both_registered(lab: &Lab, t: u8) -> bool {
    let Ok(cache) = lab.show_nhrp(0) else {
        return false;
    };
    lab.nodes().iter().skip(1).all(|s| {
        let addr = if t == 0 { s.tunnel } else { tunnel1(s.tunnel) };
        cache
            .entries
            .iter()
            .any(|e| e.prefix.address == IpAddr::V4(addr) && e.nbma == Some(IpAddr::V4(s.nbma)))
    })
}

fn ping_ok(lab: &Lab, from: usize, dst: Ipv4Addr) -> bool {
    lab::ping_in(&lab.nodes()[from].ns, dst, 3, 0.2).is_ok_and(|p| p.received > 0)
}

#[test]
fn two_tunnels_on_one_source_share_one_ike_sa_per_peer() {
    if !common::can_run_with(&["tcpdump"]) {
        return;
    }
    let prefix = lab::unique_prefix("shr");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Two, common::exe());
    spec.protection = true;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    // Tunnel0 becomes shared, and every node gets a second protected tunnel on Ethernet0.
    for i in 0..3 {
        let node = lab.nodes()[i].clone();
        let conf = std::fs::read_to_string(&node.config).expect("config");
        let shared = conf.replace(
            " tunnel protection ipsec profile vpnprof\n",
            " tunnel protection ipsec profile vpnprof shared\n",
        );
        assert_ne!(conf, shared, "no protection line in:\n{conf}");
        std::fs::write(&node.config, shared).expect("write config");
        lab.append_config(i, &tunnel1_block(&lab, i))
            .expect("append Tunnel1");
    }
    let capture = lab.capture_gre("shared").expect("capture GRE");
    lab.start_all().expect("start the daemons");
    let hub = lab.nodes()[0].clone();

    for t in [0u8, 1] {
        lab::wait_for(
            Duration::from_secs(60),
            "both spokes registered on both tunnels",
            || both_registered(&lab, t).then_some(()),
        )
        .unwrap_or_else(|e| panic!("Tunnel{t}: {e}"));
    }
    for (i, s) in lab.nodes().iter().enumerate().skip(1) {
        for dst in [hub.tunnel, tunnel1(hub.tunnel)] {
            lab::wait_for(Duration::from_secs(30), "a ping over the tunnel", || {
                ping_ok(&lab, i, dst).then_some(())
            })
            .unwrap_or_else(|e| panic!("{} -> {dst}: {e}", s.name));
        }
    }

    // One IKE SA per spoke, for both tunnels.
    let sas = ike_sas(&lab, 0);
    for s in lab.nodes().iter().skip(1) {
        let mine: Vec<_> = sas
            .iter()
            .filter(|e| e.remote == IpAddr::V4(s.nbma))
            .collect();
        assert_eq!(mine.len(), 1, "IKE SAs with {}: {sas:?}", s.nbma);
        assert_eq!(mine[0].status, dmvpn_mgmt::IkeSaStatus::Ready);
        assert_eq!(mine[0].tunnel, "Tunnel0,Tunnel1", "{mine:?}");
    }
    let ipsec: dmvpn_mgmt::IpsecSaReport = show_json(&lab, 0, &["crypto", "ipsec", "sa"]);
    for s in lab.nodes().iter().skip(1) {
        let peers: Vec<_> = ipsec
            .peers
            .iter()
            .filter(|p| p.remote == IpAddr::V4(s.nbma))
            .collect();
        assert_eq!(peers.len(), 1, "{ipsec:?}");
        assert_eq!(
            peers[0].sas.iter().filter(|p| p.active).count(),
            1,
            "one active pair with {}: {:?}",
            s.nbma,
            peers[0]
        );
        assert!(peers[0].counters.pkts_decaps > 0);
    }
    let before: Vec<u64> = ike_sas(&lab, 0).iter().map(|s| s.spi_local).collect();

    // The hub drops Tunnel1: Tunnel0 keeps the SAs it shared.
    let conf = std::fs::read_to_string(&hub.config).expect("hub config");
    let start = conf.find("interface Tunnel1\n").expect("Tunnel1 block");
    let end = start + conf[start..].find("!\n").expect("block end") + 2;
    std::fs::write(&hub.config, format!("{}{}", &conf[..start], &conf[end..])).expect("write");
    lab.signal_daemon(0, Signal::SIGHUP);
    lab::wait_for(Duration::from_secs(30), "the hub's Tunnel1 to go", || {
        lab::ns_run(&hub.ns, "ip", &["link", "show", "Tunnel1"])
            .is_err()
            .then_some(())
    })
    .expect("Tunnel1 removed");
    for i in 1..3 {
        assert!(
            ping_ok(&lab, i, hub.tunnel),
            "{} lost Tunnel0 after the hub removed Tunnel1",
            lab.nodes()[i].name
        );
    }
    let after = ike_sas(&lab, 0);
    for spi in before {
        assert!(
            after.iter().any(|s| s.spi_local == spi),
            "an IKE SA was torn down with Tunnel1: {after:?}"
        );
    }
    assert!(after.iter().all(|s| s.tunnel == "Tunnel0"), "{after:?}");

    // The capture's filter is `ip proto 47`: any packet in it is cleartext GRE.
    let cleartext = capture.stop().expect("stop the capture");
    assert!(
        cleartext.is_empty(),
        "cleartext GRE on the internet segment: {:?}",
        &cleartext[..cleartext.len().min(5)]
    );
}

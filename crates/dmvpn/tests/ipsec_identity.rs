//! Identity-bound NHRP across network namespaces (issue 13, part 3): a hub with
//! `ip nhrp identity-map SITES`, where each spoke's IKE identity (its address, the IOS
//! default) may claim only its own tunnel address. Spoke 1, authenticated as itself, then
//! claims spoke 2's tunnel address (a hijack attempt, while spoke 2 is registered):
//! - the hub refuses it, administratively prohibited, counts it (`show ip nhrp traffic`) and
//!   logs `%DMVPN-4-NHRP_IDENTITY`;
//! - the hub still maps spoke 2's address to spoke 2's NBMA address;
//! - spoke 2's traffic is untouched.
//!
//! Then spoke 2 leaves (SIGTERM: its registration is purged) and the attacker tries again:
//! without identity binding nothing would stop it now; with it, still refused.
//!
//! Needs root, `ip` and `ping`; skips otherwise (fails under `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn refusals(lab: &Lab) -> u64 {
    let hub = &lab.nodes()[0];
    let out = lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            hub.socket.to_str().unwrap(),
            "show",
            "ip",
            "nhrp",
            "traffic",
            "--json",
        ],
    )
    .unwrap_or_default();
    serde_json::from_str::<dmvpn_mgmt::TrafficReport>(&out)
        .map(|r| r.interfaces.iter().map(|i| i.identity_refused).sum())
        .unwrap_or(0)
}

fn hub_nbma_of(lab: &Lab, tunnel: Ipv4Addr) -> Option<IpAddr> {
    lab.show_nhrp(0).ok().and_then(|c| {
        c.entries
            .iter()
            .find(|e| e.prefix.address == IpAddr::V4(tunnel))
            .and_then(|e| e.nbma)
    })
}

#[test]
fn a_spoke_cannot_claim_another_spokes_tunnel_address() {
    if !common::can_run() {
        return;
    }
    let prefix = lab::unique_prefix("idn");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, common::exe());
    spec.protection = true;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    let (hub, s1, s2) = (
        lab.nodes()[0].clone(),
        lab.nodes()[1].clone(),
        lab.nodes()[2].clone(),
    );
    // The hub binds each spoke's identity (its address) to its tunnel address.
    let conf = std::fs::read_to_string(&hub.config).expect("hub config");
    let mut map = String::new();
    for s in [&s1, &s2] {
        map.push_str(&format!(
            "crypto ikev2 identity-map SITES address {} tunnel-address {} 255.255.255.255\n",
            s.nbma, s.tunnel
        ));
    }
    let conf = conf.replacen(
        "interface Tunnel0\n",
        &format!("{map}interface Tunnel0\n ip nhrp identity-map SITES\n"),
        1,
    );
    std::fs::write(&hub.config, conf).expect("write the hub config");
    lab.start_all().expect("start the daemons");

    for s in [&s1, &s2] {
        lab::wait_for(Duration::from_secs(60), "a spoke registered", || {
            (hub_nbma_of(&lab, s.tunnel) == Some(IpAddr::V4(s.nbma))).then_some(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    assert_eq!(refusals(&lab), 0, "honest spokes refused");

    // Spoke 1 claims spoke 2's tunnel address.
    lab.stop_daemon(1);
    let conf = std::fs::read_to_string(&s1.config).expect("spoke 1 config");
    let hijack = conf.replace(
        &format!(" ip address {} 255.255.255.0\n", s1.tunnel),
        &format!(" ip address {} 255.255.255.0\n", s2.tunnel),
    );
    assert_ne!(conf, hijack, "no tunnel address line in:\n{conf}");
    std::fs::write(&s1.config, hijack).expect("write spoke 1 config");
    lab.start_daemon(1).expect("start the attacker");
    lab::wait_for(
        Duration::from_secs(60),
        "the hub to refuse the claim",
        || (refusals(&lab) > 0).then_some(()),
    )
    .expect("hijack refused and counted");
    assert_eq!(
        hub_nbma_of(&lab, s2.tunnel),
        Some(IpAddr::V4(s2.nbma)),
        "spoke 2's address was taken over"
    );
    let log = std::fs::read_to_string(&hub.log).unwrap_or_default();
    assert!(
        log.contains("%DMVPN-4-NHRP_IDENTITY") && log.contains(&s1.nbma.to_string()),
        "no identity refusal logged:\n{log}"
    );
    let p = lab.ping(2, hub.host, 3, 0.2).expect("ping");
    assert!(p.received > 0, "spoke 2's traffic disturbed: {p:?}");

    // Spoke 2 leaves (its registration purged); the attacker is still refused.
    lab.stop_daemon(2);
    lab::wait_for(
        Duration::from_secs(30),
        "spoke 2's registration to go",
        || (hub_nbma_of(&lab, s2.tunnel) != Some(IpAddr::V4(s2.nbma))).then_some(()),
    )
    .expect("spoke 2 purged");
    let before = refusals(&lab);
    lab::wait_for(Duration::from_secs(60), "another refusal", || {
        (refusals(&lab) > before).then_some(())
    })
    .expect("the attacker retries and is refused again");
    assert_ne!(
        hub_nbma_of(&lab, s2.tunnel),
        Some(IpAddr::V4(s1.nbma)),
        "the attacker took spoke 2's address once it was free"
    );
}

//! Interface churn on a spoke, PPPoE/LTE style (issue 16, part 1): the tunnel source
//! interface goes down and up, is deleted and created again, and changes its address,
//! three rounds of each, with IPsec on. Each time the uplink is back:
//! - the spoke registers again AT ONCE (the spokes' holdtime is 300 s, so the periodic
//!   refresh would come 100 s later: a registration within the test's deadline is the
//!   reaction to the interface, not the timer);
//! - the hub maps the spoke to its current NBMA address, over exactly one IKE SA with it
//!   (an SA with an old address is at most being deleted, without Child SAs);
//! - the other spoke, which learned the spoke's old address from a shortcut, is told to
//!   forget it (Purge Request) and reaches the spoke at its new one;
//! - traffic from the spoke's LAN reaches the hub's LAN and the other spoke's;
//! - the spoke's daemon holds as many file descriptors as before the churn.
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

const SPOKE: usize = 1;

fn hub_registrations_received(lab: &Lab) -> u64 {
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
        .map(|r| {
            r.interfaces
                .iter()
                .map(|i| i.received.registration_request)
                .sum()
        })
        .unwrap_or(0)
}

fn hub_maps(lab: &Lab, tunnel: Ipv4Addr, nbma: Ipv4Addr) -> bool {
    lab.show_nhrp(0).is_ok_and(|c| {
        c.entries
            .iter()
            .any(|e| e.prefix.address == IpAddr::V4(tunnel) && e.nbma == Some(IpAddr::V4(nbma)))
    })
}

/// The hub's IKE SAs with the spoke's addresses `current` and `old` (when another).
fn hub_sas_with(lab: &Lab, addr: Ipv4Addr) -> Vec<dmvpn_mgmt::IkeSaEntry> {
    let hub = &lab.nodes()[0];
    let out = lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            hub.socket.to_str().unwrap(),
            "show",
            "crypto",
            "ikev2",
            "sa",
            "--json",
        ],
    )
    .unwrap_or_default();
    serde_json::from_str::<dmvpn_mgmt::IkeSaReport>(&out)
        .map(|r| r.sas)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.remote == IpAddr::V4(addr))
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum Churn {
    Flap,
    Recreate,
    NewAddress,
}

fn churn(lab: &mut Lab, what: Churn) {
    match what {
        Churn::Flap => lab.flap_uplink(SPOKE).expect("flap"),
        Churn::Recreate => {
            lab.delete_uplink(SPOKE).expect("delete");
            // The spoke without an uplink for a moment: its daemon sees the address go.
            lab::wait_for(Duration::from_secs(10), "the uplink to be gone", || {
                lab::ns_run(&lab.nodes()[SPOKE].ns, "ip", &["link", "show", "Ethernet0"])
                    .is_err()
                    .then_some(())
            })
            .expect("uplink deleted");
            lab.restore_uplink(SPOKE).expect("restore");
        }
        Churn::NewAddress => {
            let new = lab.spare_nbma(SPOKE).expect("spare address");
            lab.set_nbma(SPOKE, new).expect("address change");
        }
    }
}

#[test]
fn a_churning_uplink_reregisters_and_rebuilds_sas_at_once() {
    if !common::can_run() {
        return;
    }
    let prefix = lab::unique_prefix("chn");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, common::exe());
    spec.protection = true;
    spec.holdtime = 300;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    let (hub, spoke2) = (lab.nodes()[0].clone(), lab.nodes()[2].clone());

    let tunnel = lab.nodes()[SPOKE].tunnel;
    let nbma = lab.nodes()[SPOKE].nbma;
    lab::wait_for(Duration::from_secs(60), "the spoke to register", || {
        hub_maps(&lab, tunnel, nbma).then_some(())
    })
    .expect("registered");
    lab::wait_for(
        Duration::from_secs(30),
        "LAN to LAN through the hub",
        || {
            lab.ping(SPOKE, hub.host, 2, 0.2)
                .is_ok_and(|p| p.received > 0)
                .then_some(())
        },
    )
    .expect("first ping");
    let fds_before = lab.daemon_fds(SPOKE).expect("daemon fds");

    for round in 0..3 {
        for what in [Churn::Flap, Churn::Recreate, Churn::NewAddress] {
            let old = lab.nodes()[SPOKE].nbma;
            let seen = hub_registrations_received(&lab);
            churn(&mut lab, what);
            let now = lab.nodes()[SPOKE].nbma;
            let step = format!("round {round}, {what:?}");
            lab::wait_for(Duration::from_secs(30), "a registration at once", || {
                (hub_registrations_received(&lab) > seen && hub_maps(&lab, tunnel, now))
                    .then_some(())
            })
            .unwrap_or_else(|e| panic!("{step}: the spoke did not re-register: {e}"));
            for (to, host) in [("the hub", hub.host), ("spoke2", spoke2.host)] {
                lab::wait_for(Duration::from_secs(30), "traffic to flow again", || {
                    lab.ping(SPOKE, host, 2, 0.2)
                        .is_ok_and(|p| p.received > 0)
                        .then_some(())
                })
                .unwrap_or_else(|e| {
                    panic!("{step}: no traffic to {to}'s LAN after the churn: {e}")
                });
            }
            lab::wait_for(Duration::from_secs(60), "one IKE SA with the spoke", || {
                let current = hub_sas_with(&lab, now);
                let stale = if old == now {
                    Vec::new()
                } else {
                    hub_sas_with(&lab, old)
                };
                // An SA with the old address is at most on its way out: being deleted
                // (its Delete goes unanswered to an address that is gone), with no Child
                // SA left.
                (current.len() == 1
                    && current[0].status == dmvpn_mgmt::IkeSaStatus::Ready
                    && stale
                        .iter()
                        .all(|s| s.status == dmvpn_mgmt::IkeSaStatus::Delete && s.child_sas == 0))
                .then_some(())
            })
            .unwrap_or_else(|e| {
                panic!(
                    "{step}: hub SAs with {now}: {:?}, with {old}: {:?}: {e}",
                    hub_sas_with(&lab, now),
                    hub_sas_with(&lab, old)
                )
            });
        }
    }
    lab::wait_for(
        Duration::from_secs(20),
        "no file descriptor left behind",
        || {
            lab.daemon_fds(SPOKE)
                .filter(|n| *n <= fds_before)
                .map(|_| ())
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "the spoke's daemon holds {:?} descriptors, {fds_before} before the churn: {e}",
            lab.daemon_fds(SPOKE)
        )
    });
}

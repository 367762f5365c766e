//! Loss on the underlay (issue 16, part 3): 30 % of the frames on the internet segment are
//! dropped at random (nftables `numgen random`, no netem needed) from before the daemons
//! start. A phase-3 DMVPN with IPsec still converges: both spokes register over their IKE
//! SAs, traffic flows LAN to LAN, and the spoke-to-spoke shortcut (a resolution through the
//! hub, then a spoke-to-spoke IKE SA) forms; after `clear crypto session` on a spoke, all
//! of it comes back, still under loss. Reordering and the rest of the loss space are
//! covered deterministically by the simulators (`crates/sim`, `crates/ike/tests/sim_*`).
//!
//! Needs root, `ip`, `ping` and `nft`; skips otherwise (fails under `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn registered(lab: &Lab, index: usize) -> bool {
    let node = &lab.nodes()[index];
    lab.show_nhrp(0).is_ok_and(|c| {
        c.entries.iter().any(|e| {
            e.prefix.address == IpAddr::V4(node.tunnel) && e.nbma == Some(IpAddr::V4(node.nbma))
        })
    })
}

#[test]
fn thirty_percent_loss_still_converges_with_ipsec() {
    if !common::can_run_with(&["nft"]) {
        return;
    }
    let prefix = lab::unique_prefix("los");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, common::exe());
    spec.protection = true;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.set_underlay_loss(30).expect("impair the underlay");
    lab.start_all().expect("start the daemons");

    for i in [1, 2] {
        lab::wait_for(
            Duration::from_secs(240),
            "a registration through the loss",
            || registered(&lab, i).then_some(()),
        )
        .unwrap_or_else(|e| panic!("spoke {i}: {e}"));
    }
    let spoke2_lan = lab.nodes()[2].host;
    lab::wait_for(Duration::from_secs(240), "LAN to LAN traffic", || {
        lab.ping(1, spoke2_lan, 3, 0.2)
            .is_ok_and(|p| p.received > 0)
            .then_some(())
    })
    .expect("traffic through the loss");
    lab::wait_for(
        Duration::from_secs(240),
        "the spoke-to-spoke shortcut",
        || {
            let _ = lab.ping(1, spoke2_lan, 3, 0.2);
            lab.show_shortcuts(1)
                .is_ok_and(|t| !t.shortcuts.is_empty())
                .then_some(())
        },
    )
    .expect("a shortcut through the loss");
    // Everything again, still under loss: spoke 1's SAs torn down and rebuilt.
    let spoke1 = lab.nodes()[1].clone();
    lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            spoke1.socket.to_str().unwrap(),
            "clear",
            "crypto",
            "session",
        ],
    )
    .expect("clear crypto session");
    lab::wait_for(
        Duration::from_secs(240),
        "traffic after the SAs were rebuilt",
        || {
            lab.ping(1, spoke2_lan, 3, 0.2)
                .is_ok_and(|p| p.received > 0)
                .then_some(())
        },
    )
    .expect("traffic after clear crypto session");
    lab::wait_for(Duration::from_secs(240), "spoke 1 registered again", || {
        registered(&lab, 1).then_some(())
    })
    .expect("registration after clear crypto session");
    eprintln!("underlay frames dropped: {}", lab.underlay_drops());
    assert!(
        lab.underlay_drops() > 0,
        "the impairment dropped nothing: the test proved nothing"
    );
}

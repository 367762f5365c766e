//! The protection gate seen from the network: with `tunnel protection`,
//! NHRP packets to a peer wait until its IPsec is up (here: a simulated IKE
//! negotiation of 2 s), and never leave while it cannot come up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::NhsState;
use dmvpn_sim::Protection;
use dmvpn_sim::trace::nhrp_type::*;
use std::time::Duration;

#[test]
fn nhrp_waits_for_protection() {
    // The IPsec behaviour must be chosen before the engines get their first
    // input (route installation counts), so build the lab by hand.
    let mut lab = dmvpn_sim::Lab::new(61);
    let hub = lab.add("hub", hub_cfg()).unwrap();
    let mut c1 = spoke_cfg(S1_T, S1_N, LAN1);
    c1.protection_required = true;
    let mut c2 = spoke_cfg(S2_T, S2_N, LAN2);
    c2.protection_required = true;
    let s1 = lab.add("spoke1", c1).unwrap();
    let s2 = lab.add("spoke2", c2).unwrap();
    lab.node_mut(s1)
        .unwrap()
        .set_protection(Protection::After(secs(2)));
    lab.node_mut(s2).unwrap().set_protection(Protection::Never);
    lab.run_for(secs(30)).unwrap();
    if std::env::var_os("DUMP").is_some() {
        dump(&lab);
    }

    // Spoke1: the registration left only once IPsec to the hub was up.
    let regs = sent(
        &lab,
        s1,
        REGISTRATION_REQUEST,
        Some(ip(HUB_N)),
        Duration::ZERO,
    );
    assert!(!regs.is_empty());
    assert!(
        regs[0].at >= secs(2),
        "first registration at {:?}",
        regs[0].at
    );
    assert_eq!(lab.nhs_state(s1, ip(HUB_T)), Some(NhsState::Up));
    assert!(lab.entry(hub, ip(S1_T)).is_some());

    // Spoke2: IPsec never comes up, so nothing goes to the hub; the
    // packets wait in the gate.
    assert!(sent(&lab, s2, REGISTRATION_REQUEST, None, Duration::ZERO).is_empty());
    assert!(lab.entry(hub, ip(S2_T)).is_none());
    let node = lab.node(s2).unwrap();
    let stats = node.engine().traffic(node.iface()).unwrap();
    assert!(stats.protection_queued > 0, "{stats:?}");
    assert_ne!(lab.nhs_state(s2, ip(HUB_T)), Some(NhsState::Up));
}

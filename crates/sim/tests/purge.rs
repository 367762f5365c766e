//! Purge scenarios: a spoke that stops announcing its LAN purges the
//! shortcut it handed out (phase 3), and a hub whose registered binding
//! expires purges it at the spokes that learned it (phase 2).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::Event;
use dmvpn_sim::trace::nhrp_type::*;
use dmvpn_sim::{NodeOutput, TraceKind};

#[test]
fn withdrawn_network_is_purged_at_the_requester() {
    let Seed003 {
        mut lab, s1, s2, ..
    } = seed003(41, Phase::Three, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert!(ping(&mut lab, s1, HOST1, HOST2).is_direct());
    assert_eq!(lab.shortcuts(s1).len(), 1);
    let t0 = lab.now();

    // Spoke2 stops answering for 192.168.2.0/24.
    let mut c2 = spoke_cfg(S2_T, S2_N, LAN2);
    c2.shortcut = true;
    c2.local_networks.clear();
    lab.reconfigure(s2, c2).unwrap();
    lab.run_for(secs(5)).unwrap();

    assert_eq!(
        sent(&lab, s2, PURGE_REQUEST, Some(ip(S1_N)), t0).len(),
        1,
        "purge to the learner"
    );
    assert_eq!(
        sent(&lab, s1, PURGE_REPLY, Some(ip(S2_N)), t0).len(),
        1,
        "purge answered"
    );
    assert!(lab.saw(
        s1,
        |e| matches!(e, Event::PurgeReceived { removed, .. } if *removed >= 1)
    ));
    assert!(lab.shortcuts(s1).is_empty(), "shortcut purged");
    assert!(lab.trace().entries().iter().any(|x| x.at >= t0 && x.node == Some(s1)
        && matches!(&x.kind, TraceKind::Output(NodeOutput::ShortcutRemove { prefix }) if *prefix == pfx(LAN2))));
    // No retransmissions once the reply arrived.
    lab.run_for(secs(60)).unwrap();
    assert_eq!(sent(&lab, s2, PURGE_REQUEST, None, t0).len(), 1);
}

#[test]
fn expired_registration_is_purged_at_learners() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(43, Phase::Two, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert_eq!(lab.entry(s1, ip(S2_T)).and_then(|e| e.nbma), Some(ip(S2_N)));
    // Spoke2 dies silently; its registration at the hub expires after the
    // holding time (300 s) and the hub purges the binding it handed to spoke1.
    lab.kill(s2);
    let t0 = lab.now();
    let gone = lab.run_until_cond(secs(400), |s| {
        s.node(hub)
            .unwrap()
            .engine()
            .cache_entries(None)
            .iter()
            .all(|e| e.prefix.addr() != ip(S2_T))
    });
    assert!(gone.unwrap(), "registration expired at the hub");
    lab.run_for(secs(5)).unwrap();
    assert_eq!(sent(&lab, hub, PURGE_REQUEST, Some(ip(S1_N)), t0).len(), 1);
    assert!(lab.saw(s1, |e| matches!(e, Event::PurgeReceived { .. })));
    assert!(lab.entry(s1, ip(S2_T)).is_none(), "spoke1 forgot spoke2");
    assert!(
        !lab.dataplane(s1)
            .unwrap()
            .mappings()
            .contains_key(&ip(S2_T))
    );
}

#[test]
fn orderly_shutdown_purges_the_registration_at_once() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(45, Phase::Two, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    let t0 = lab.now();
    lab.shutdown(s2);
    lab.run_for(secs(2)).unwrap();
    // Spoke2's Purge Request (no reply wanted) removes its binding at the
    // hub right away, and the hub purges it at spoke1, which learned it.
    assert_eq!(sent(&lab, s2, PURGE_REQUEST, Some(ip(HUB_N)), t0).len(), 1);
    assert!(
        lab.entry(hub, ip(S2_T)).is_none(),
        "hub forgot spoke2 at once"
    );
    assert!(
        sent(&lab, hub, PURGE_REPLY, None, t0).is_empty(),
        "N flag: no reply"
    );
    assert!(
        lab.entry(s1, ip(S2_T)).is_none(),
        "spoke1 forgot spoke2 at once"
    );
}

//! Smaller engine behaviours observed through the simulated network:
//! registration refresh interval (holdtime/3 or `registration timeout`),
//! NHS priority while all NHSs are up, dynamic multicast membership,
//! negative resolution (code 12) and `clear ip nhrp`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::{ClearRequest, EntryKind, Event};
use dmvpn_sim::lab::{hub_iface, spoke_iface};
use dmvpn_sim::trace::nhrp_type::*;
use dmvpn_sim::{Lab, NodeOutput, TraceKind};
use std::time::Duration;

fn request_gaps(lab: &Lab, node: usize) -> Vec<u64> {
    let t: Vec<Duration> = sent(
        lab,
        node,
        REGISTRATION_REQUEST,
        Some(ip(HUB_N)),
        Duration::ZERO,
    )
    .iter()
    .map(|e| e.at)
    .collect();
    t.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect()
}

#[test]
fn registration_refresh_interval() {
    let Seed003 {
        mut lab, s1, s2, ..
    } = seed003(51, Phase::Two, |name, c| {
        if name == "spoke2" {
            c.registration_timeout = Some(Duration::from_secs(30));
        }
    });
    lab.run_for(secs(1000)).unwrap();
    let g1 = request_gaps(&lab, s1);
    assert!(
        g1.len() >= 9 && g1.iter().all(|g| (90..=100).contains(g)),
        "holdtime/3 = 100 s, jittered to 90-100 %: {g1:?}"
    );
    let g2 = request_gaps(&lab, s2);
    assert!(
        g2.len() >= 30 && g2.iter().all(|g| (27..=30).contains(g)),
        "registration timeout 30 s, jittered to 90-100 %: {g2:?}"
    );
}

#[test]
fn preferred_nhs_gets_resolutions_and_multicast_membership_follows_registration() {
    let (h2_t, h2_n) = (ip("10.0.0.10"), ip("172.17.0.5"));
    let mut lab = Lab::new(53);
    let h1 = lab.add("hub1", hub_cfg()).unwrap();
    let h2 = lab
        .add("hub2", hub_iface(h2_t, h2_n, pfx("192.168.10.0/24")))
        .unwrap();
    let nhs = [(ip(HUB_T), ip(HUB_N)), (h2_t, h2_n)];
    let s1 = lab
        .add("spoke1", spoke_iface(ip(S1_T), ip(S1_N), pfx(LAN1), &nhs))
        .unwrap();
    let s2 = lab
        .add("spoke2", spoke_iface(ip(S2_T), ip(S2_N), pfx(LAN2), &nhs))
        .unwrap();
    lab.route(s1, pfx(LAN2), ip(S2_T));
    for h in [h1, h2] {
        lab.route(h, pfx(LAN2), ip(S2_T));
    }
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    // `ip nhrp map multicast dynamic`: each registered spoke joins both hubs' lists.
    for h in [h1, h2] {
        let mc = &lab.node(h).unwrap().engine().interfaces()[0].multicast;
        assert!(mc.contains(&ip(S1_N)) && mc.contains(&ip(S2_N)), "{mc:?}");
        assert!(lab.trace().entries().iter().any(|x| x.node == Some(h)
            && matches!(&x.kind, TraceKind::Output(NodeOutput::Note(n)) if n.starts_with("MulticastAdd") && n.contains(S1_N))));
    }
    // Both hubs up: resolution goes to the priority-0 NHS (hub1) only.
    let t0 = lab.now();
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert_eq!(
        sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB_N)), t0).len(),
        1
    );
    assert!(sent(&lab, s1, RESOLUTION_REQUEST, Some(h2_n), t0).is_empty());
}

#[test]
fn unknown_destination_gets_a_negative_answer() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(55, Phase::Two, |_, _| {});
    lab.route(s1, pfx("192.168.77.0/24"), ip("10.0.0.77"));
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let t0 = lab.now();
    let o = ping(&mut lab, s1, HOST1, "192.168.77.7");
    lab.run_for(secs(2)).unwrap();
    // The hub has no binding and no route: a Resolution Reply with code 12.
    let rep = sent(&lab, hub, RESOLUTION_REPLY, Some(ip(S1_N)), t0);
    assert_eq!(rep.len(), 1);
    assert!(lab.saw(s1, |e| matches!(
        e,
        Event::ResolutionFailed { code: Some(12), .. }
    )));
    let e = lab.entry(s1, ip("10.0.0.77")).expect("negative entry");
    assert_eq!(e.kind, EntryKind::Negative);
    assert!(
        !lab.dataplane(s1)
            .unwrap()
            .mappings()
            .contains_key(&ip("10.0.0.77"))
    );
    // The data packet was not delivered anywhere.
    assert!(!matches!(o, dmvpn_sim::DataOutcome::Delivered { .. }));
    // While the negative entry lives, traffic does not trigger new requests.
    let t1 = lab.now();
    for _ in 0..5 {
        let _ = ping(&mut lab, s1, HOST1, "192.168.77.7");
    }
    assert!(sent(&lab, s1, RESOLUTION_REQUEST, None, t1).is_empty());
}

#[test]
fn clear_dynamic_keeps_static_entries() {
    let Seed003 {
        mut lab, s1, s2, ..
    } = seed003(57, Phase::Two, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert!(lab.entry(s1, ip(S2_T)).is_some());
    let now = dmvpn_sim::engine_node::to_instant(lab.now());
    let report = lab
        .node_mut(s1)
        .unwrap()
        .engine_mut()
        .clear(now, ClearRequest::Dynamic { iface: None });
    lab.pump(s1);
    assert!(report.removed >= 1);
    assert!(lab.entry(s1, ip(S2_T)).is_none(), "dynamic entry cleared");
    assert!(
        !lab.dataplane(s1)
            .unwrap()
            .mappings()
            .contains_key(&ip(S2_T)),
        "mapping removed"
    );
    assert_eq!(
        lab.entry(s1, ip(HUB_T)).map(|e| e.kind),
        Some(EntryKind::Static),
        "static stays"
    );
    // Traffic resolves again.
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert!(ping(&mut lab, s1, HOST1, HOST2).is_direct());
}

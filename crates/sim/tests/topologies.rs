//! Multi-hub topologies on real engines: dual hub in a single cloud with
//! hub 1 killed and restarted (seed 003 "Dual Hub – Single DMVPN Layout"),
//! and a hierarchical hub (spoke → regional hub → central hub → other
//! region's hub → spoke).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::{NhsState, Prefix as EnginePrefix};
use dmvpn_sim::Lab;
use dmvpn_sim::lab::{hub_iface, spoke_iface};
use dmvpn_sim::trace::nhrp_type::*;

const HUB2_T: &str = "10.0.0.10";
const HUB2_N: &str = "172.17.0.5";

#[test]
fn dual_hub_single_cloud_survives_hub1_failure() {
    let mut lab = Lab::new(11);
    let hub1 = lab.add("hub1", hub_cfg()).unwrap();
    let hub2 = lab
        .add(
            "hub2",
            hub_iface(ip(HUB2_T), ip(HUB2_N), pfx("192.168.10.0/24")),
        )
        .unwrap();
    let nhs = [(ip(HUB_T), ip(HUB_N)), (ip(HUB2_T), ip(HUB2_N))];
    let s1 = lab
        .add("spoke1", spoke_iface(ip(S1_T), ip(S1_N), pfx(LAN1), &nhs))
        .unwrap();
    let s2 = lab
        .add("spoke2", spoke_iface(ip(S2_T), ip(S2_N), pfx(LAN2), &nhs))
        .unwrap();
    lab.route(s1, pfx(LAN2), ip(S2_T));
    lab.route(s2, pfx(LAN1), ip(S1_T));
    for h in [hub1, hub2] {
        lab.route(h, pfx(LAN1), ip(S1_T));
        lab.route(h, pfx(LAN2), ip(S2_T));
    }

    // Both spokes register with both hubs.
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    for h in [hub1, hub2] {
        assert!(lab.entry(h, ip(S1_T)).is_some() && lab.entry(h, ip(S2_T)).is_some());
    }

    // Hub 1 dies. After three unanswered registrations the spokes mark it
    // DOWN; hub 2 stays UP.
    lab.kill(hub1);
    let down = lab
        .run_until_cond(secs(400), |s| {
            [s1, s2].iter().all(|n| {
                s.node(*n)
                    .unwrap()
                    .engine()
                    .nhs_status(None)
                    .iter()
                    .any(|v| v.protocol == ip(HUB_T) && v.state == NhsState::Down)
            })
        })
        .unwrap();
    assert!(down, "hub1 DOWN on both spokes");
    assert_eq!(lab.nhs_state(s1, ip(HUB2_T)), Some(NhsState::Up));
    assert_eq!(lab.nhs_state(s2, ip(HUB2_T)), Some(NhsState::Up));
    // Registrations with hub 2 keep being refreshed.
    lab.run_for(secs(400)).unwrap();
    assert_eq!(lab.nhs_state(s1, ip(HUB2_T)), Some(NhsState::Up));
    assert!(lab.entry(hub2, ip(S1_T)).is_some() && lab.entry(hub2, ip(S2_T)).is_some());

    // Resolution still works, through hub 2.
    let t0 = lab.now();
    let first = ping(&mut lab, s1, HOST1, HOST2);
    assert!(first.is_relayed(), "first packet via hub 2: {first:?}");
    assert_eq!(
        sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB2_N)), t0).len(),
        1
    );
    assert!(sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB_N)), t0).is_empty());
    assert_eq!(lab.entry(s1, ip(S2_T)).and_then(|e| e.nbma), Some(ip(S2_N)));
    assert!(ping(&mut lab, s1, HOST1, HOST2).is_direct());

    // Hub 1 comes back (empty cache): the spokes' retries find it and it is
    // UP again, with both spokes registered (retry interval at most 64 s).
    lab.restart(hub1).unwrap();
    assert!(lab.entry(hub1, ip(S1_T)).is_none());
    assert!(
        wait_registered(&mut lab, &[s1, s2], secs(200)),
        "hub1 UP again"
    );
    assert!(lab.entry(hub1, ip(S1_T)).is_some() && lab.entry(hub1, ip(S2_T)).is_some());

    // Priority fallback reverts: with hub 1 UP again, new resolutions go to it.
    let now = dmvpn_sim::engine_node::to_instant(lab.now());
    let _ = lab
        .node_mut(s1)
        .unwrap()
        .engine_mut()
        .clear(now, dmvpn_nhrp::ClearRequest::Dynamic { iface: None });
    lab.pump(s1);
    let t1 = lab.now();
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    assert_eq!(
        sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB_N)), t1).len(),
        1
    );
    assert!(sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB2_N)), t1).is_empty());
}

#[test]
fn hierarchical_hubs_forward_resolution_across_regions() {
    // Central hub H0; regional hubs R1, R2 register with H0 and serve their
    // spokes; spoke A (region 1) and spoke B (region 2). Phase 3: routes
    // point up the hierarchy; redirects from the regional hubs.
    let (h0_t, h0_n) = (ip("10.0.0.1"), ip("172.17.0.1"));
    let (r1_t, r1_n) = (ip("10.0.0.11"), ip("172.18.1.1"));
    let (r2_t, r2_n) = (ip("10.0.0.12"), ip("172.18.2.1"));
    let (a_t, a_n) = (ip("10.0.0.21"), ip("172.16.1.1"));
    let (b_t, b_n) = (ip("10.0.0.22"), ip("172.16.2.1"));
    let mut lab = Lab::new(21);
    let h0 = lab
        .add("central", hub_iface(h0_t, h0_n, pfx(LAN0)))
        .unwrap();
    let regional = |lab: &mut Lab, name: &str, t, n, lan: &str| {
        let mut c = spoke_iface(t, n, pfx(lan), &[(h0_t, h0_n)]);
        c.multicast = vec![dmvpn_nhrp::MulticastMap::Dynamic];
        c.max_send = None;
        c.redirect = true;
        lab.add(name, c).unwrap()
    };
    let r1 = regional(&mut lab, "region1", r1_t, r1_n, "192.168.101.0/24");
    let r2 = regional(&mut lab, "region2", r2_t, r2_n, "192.168.102.0/24");
    let spoke = |lab: &mut Lab, name: &str, t, n, lan: &str, hub| {
        let mut c = spoke_iface(t, n, pfx(lan), &[hub]);
        c.shortcut = true;
        lab.add(name, c).unwrap()
    };
    let a = spoke(&mut lab, "spokeA", a_t, a_n, LAN1, (r1_t, r1_n));
    let b = spoke(&mut lab, "spokeB", b_t, b_n, LAN2, (r2_t, r2_n));
    // Routing: each router sends the other region's LAN up the tree.
    lab.route(a, pfx(LAN2), r1_t);
    lab.route(r1, pfx(LAN1), a_t);
    lab.route(r1, pfx(LAN2), h0_t);
    lab.route(h0, pfx(LAN1), r1_t);
    lab.route(h0, pfx(LAN2), r2_t);
    lab.route(r2, pfx(LAN2), b_t);
    lab.route(r2, pfx(LAN1), h0_t);
    lab.route(b, pfx(LAN1), r2_t);

    assert!(wait_registered(&mut lab, &[r1, r2, a, b], secs(30)));
    assert!(lab.entry(h0, r1_t).is_some() && lab.entry(h0, r2_t).is_some());
    assert!(lab.entry(r1, a_t).is_some() && lab.entry(r2, b_t).is_some());
    assert!(
        lab.entry(h0, a_t).is_none(),
        "spokes register only with their regional hub"
    );
    lab.run_for(secs(5)).unwrap();
    let t0 = lab.now();

    // First packet climbs the tree; region 1 redirects spoke A.
    let first = ping(&mut lab, a, HOST1, HOST2);
    assert!(
        matches!(&first, dmvpn_sim::DataOutcome::Delivered { path, .. } if *path == vec![a, r1, h0, r2, b]),
        "{first:?}"
    );
    assert_eq!(sent(&lab, r1, TRAFFIC_INDICATION, Some(a_n), t0).len(), 1);
    // The Resolution Request follows A → R1 → H0 → R2 → B ...
    let hops = [(a, r1_n), (r1, h0_n), (h0, r2_n), (r2, b_n)];
    let mut last = t0;
    for (from, to) in hops {
        let s = sent(&lab, from, RESOLUTION_REQUEST, Some(to), t0);
        assert_eq!(s.len(), 1, "request {} -> {to}", lab.name(from).unwrap());
        assert!(s[0].at >= last);
        last = s[0].at;
    }
    // ... and B answers A directly with its LAN prefix.
    let rep = sent(&lab, b, RESOLUTION_REPLY, Some(a_n), t0);
    assert_eq!(rep.len(), 1);
    let sc = lab.shortcuts(a);
    assert!(
        sc.iter().any(
            |s| s.prefix == EnginePrefix::new(ip("192.168.2.0"), 24).unwrap()
                && s.next_hop == b_t
                && s.nbma == Some(b_n)
        ),
        "{sc:?}"
    );
    let direct = ping(&mut lab, a, HOST1, HOST2);
    assert!(direct.is_direct(), "{direct:?}");
}

#[test]
fn routing_loop_between_hubs_is_detected() {
    // Hub A serves spoke1 and hub B; hub B serves hub C; C has a static map
    // for A. Their routes for 10.0.0.99 form the loop A → B → C → A.
    let (b_t, b_n) = (ip(HUB2_T), ip(HUB2_N));
    let (c_t, c_n) = (ip("10.0.0.20"), ip("172.17.0.9"));
    let mut lab = Lab::new(31);
    let a = lab.add("hubA", hub_cfg()).unwrap();
    let mut bc = spoke_iface(b_t, b_n, pfx("192.168.10.0/24"), &[(ip(HUB_T), ip(HUB_N))]);
    bc.max_send = None;
    let b = lab.add("hubB", bc).unwrap();
    let mut cc = spoke_iface(c_t, c_n, pfx("192.168.20.0/24"), &[(b_t, b_n)]);
    cc.max_send = None;
    cc.static_maps.push(dmvpn_nhrp::StaticMap {
        protocol: EnginePrefix::host(ip(HUB_T)),
        nbma: ip(HUB_N),
    });
    let c = lab.add("hubC", cc).unwrap();
    let s1 = lab.add("spoke1", spoke_cfg(S1_T, S1_N, LAN1)).unwrap();
    let ghost = ip("10.0.0.99");
    lab.route(a, dmvpn_sim::Prefix::host(ghost), b_t);
    lab.route(b, dmvpn_sim::Prefix::host(ghost), c_t);
    lab.route(c, dmvpn_sim::Prefix::host(ghost), ip(HUB_T));
    lab.route(s1, pfx("192.168.99.0/24"), ghost);
    assert!(wait_registered(&mut lab, &[b, c, s1], secs(30)));
    lab.run_for(secs(5)).unwrap();
    let t0 = lab.now();

    let _ = ping(&mut lab, s1, HOST1, "192.168.99.1");
    lab.run_for(secs(60)).unwrap();
    if std::env::var_os("DUMP").is_some() {
        dump(&lab);
    }
    // The request went A → B → C → A, where the Forward Transit record
    // names A: it is dropped, and an Error Indication code 3 (loop
    // detected) goes to the source of the request (RFC 2332 §5.2.7), spoke1.
    assert_eq!(
        sent(&lab, a, RESOLUTION_REQUEST, Some(b_n), t0).len(),
        sent(&lab, s1, RESOLUTION_REQUEST, None, t0).len()
    );
    assert!(
        !sent(&lab, c, RESOLUTION_REQUEST, Some(ip(HUB_N)), t0).is_empty(),
        "C forwards to A"
    );
    assert!(
        lab.saw(
            a,
            |e| matches!(e, dmvpn_nhrp::Event::ErrorSent { code: 3, to, .. } if *to == ip(S1_N))
        ),
        "loop detected at A"
    );
    assert!(lab.saw(s1, |e| matches!(
        e,
        dmvpn_nhrp::Event::ErrorReceived { code: 3, .. }
    )));
    assert!(
        sent(&lab, c, ERROR_INDICATION, None, t0).is_empty()
            && sent(&lab, s1, ERROR_INDICATION, None, t0).is_empty()
    );
    let originated = sent(&lab, s1, RESOLUTION_REQUEST, None, t0).len();
    let forwarded_by_a = sent(&lab, a, RESOLUTION_REQUEST, None, t0).len();
    assert!(
        originated >= 1 && forwarded_by_a == originated,
        "A forwards each request once: {forwarded_by_a} for {originated}"
    );
    assert!(
        lab.entry(s1, ghost).is_none_or(|e| e.nbma.is_none()),
        "no binding for the ghost"
    );
}

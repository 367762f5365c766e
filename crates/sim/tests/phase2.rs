//! Seed 003's phase-2 walk-through, steps 1–11, on real engines: Spoke1
//! (192.168.1.2) pings Spoke2's host (192.168.2.3); both spokes resolve each
//! other through the hub, then talk directly; used entries are refreshed in
//! their last minute, unused ones expire and release protection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::{EntryFlags, EntryKind, Event};
use dmvpn_sim::trace::nhrp_type::*;
use dmvpn_sim::{Forward, NodeOutput, TraceKind};

#[test]
fn seed003_phase2_walkthrough_steps_1_to_11() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(1, Phase::Two, |name, c| {
        // Steps 4/5: a new mapping triggers IPsec towards the peer.
        if name != "hub" {
            c.protection_required = true;
        }
    });

    // Initial conditions: both spokes registered; the hub's cache holds them
    // as dynamic, authoritative unique registered entries.
    assert!(
        wait_registered(&mut lab, &[s1, s2], secs(30)),
        "spokes register"
    );
    for (t, n) in [(S1_T, S1_N), (S2_T, S2_N)] {
        let e = lab.entry(hub, ip(t)).expect("hub has the spoke");
        assert_eq!(e.nbma, Some(ip(n)));
        assert_eq!(e.kind, EntryKind::Dynamic);
        for f in [
            EntryFlags::AUTHORITATIVE,
            EntryFlags::UNIQUE,
            EntryFlags::REGISTERED,
        ] {
            assert!(
                e.flags.contains(f),
                "hub entry {t} flags {:?}",
                e.flag_names
            );
        }
    }
    let hub_entry = lab.entry(s1, ip(HUB_T)).unwrap();
    assert_eq!(
        (hub_entry.kind, hub_entry.nbma),
        (EntryKind::Static, Some(ip(HUB_N)))
    );
    assert!(lab.entry(s1, ip(S2_T)).is_none(), "no entry for spoke2 yet");
    lab.run_for(secs(5)).unwrap();
    let t0 = lab.now();

    // Step 1: the route to 192.168.2.3 points out of the tunnel to 10.0.0.3.
    assert!(matches!(
        lab.dataplane(s1).unwrap().lookup(ip(HOST2)),
        Forward::Tunnel { next_hop, .. } if next_hop == ip(S2_T)
    ));
    // Steps 1-2: no entry for 10.0.0.3 -> Resolution Request to the NHS; the
    // first packet is not dropped but goes through the hub.
    let first = ping(&mut lab, s1, HOST1, HOST2);
    assert!(first.is_relayed(), "first packet via the hub: {first:?}");
    let req = sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB_N)), t0);
    assert_eq!(req.len(), 1, "one Resolution Request to the hub");
    // Step 3: the hub answers from its cache.
    let rep = sent(&lab, hub, RESOLUTION_REPLY, Some(ip(S1_N)), t0);
    assert_eq!(rep.len(), 1, "the hub replies to spoke1");
    assert!(rep[0].at > req[0].at);
    assert!(
        sent(&lab, hub, RESOLUTION_REQUEST, Some(ip(S2_N)), t0).is_empty(),
        "authoritative answer, not forwarded"
    );
    // Step 4: spoke1 maps 10.0.0.3 -> 172.16.2.75 ...
    let e = lab.entry(s1, ip(S2_T)).expect("spoke1 learned spoke2");
    assert_eq!(e.nbma, Some(ip(S2_N)));
    assert_eq!(e.kind, EntryKind::Dynamic);
    assert_eq!(
        lab.dataplane(s1).unwrap().mappings().get(&ip(S2_T)),
        Some(&ip(S2_N))
    );
    // ... Step 5: which triggers IPsec with 172.16.2.75.
    assert!(lab.trace().entries().iter().any(|x| x.node == Some(s1)
        && matches!(&x.kind, TraceKind::Output(NodeOutput::Note(n)) if n == &format!("ProtectionNeeded {S2_N}"))));
    // Step 6: further packets go directly to spoke2.
    let direct = ping(&mut lab, s1, HOST1, HOST2);
    assert!(direct.is_direct(), "{direct:?}");

    // Steps 7-8: the return packet: spoke2 has no entry for 10.0.0.2 and
    // sends its own Resolution Request to the hub.
    let t1 = lab.now();
    let back = ping(&mut lab, s2, HOST2, HOST1);
    assert!(back.is_relayed() || back.is_direct(), "{back:?}");
    assert_eq!(
        sent(&lab, s2, RESOLUTION_REQUEST, Some(ip(HUB_N)), t1).len(),
        1
    );
    // Step 9: the hub replies to spoke2.
    assert_eq!(
        sent(&lab, hub, RESOLUTION_REPLY, Some(ip(S2_N)), t1).len(),
        1
    );
    // Step 10: spoke2 maps 10.0.0.2 -> 172.16.1.24.
    let e = lab.entry(s2, ip(S1_T)).expect("spoke2 learned spoke1");
    assert_eq!(e.nbma, Some(ip(S1_N)));
    // Step 11: both directions direct.
    assert!(ping(&mut lab, s2, HOST2, HOST1).is_direct());
    assert!(ping(&mut lab, s1, HOST1, HOST2).is_direct());
    let hub_relays_before = lab.data_stats().relays;

    // Step 11, refresh: traffic keeps flowing; the entry is refreshed by a
    // new resolution in its last minute instead of expiring (holdtime 300).
    let expires = lab
        .entry(s1, ip(S2_T))
        .unwrap()
        .expires
        .expect("dynamic entry expires");
    let t2 = lab.now();
    for _ in 0..40 {
        let o = ping(&mut lab, s1, HOST1, HOST2);
        assert!(o.is_direct(), "stays direct while refreshed: {o:?}");
        lab.run_for(secs(9)).unwrap();
    }
    let refreshes = sent(&lab, s1, RESOLUTION_REQUEST, None, t2);
    assert!(!refreshes.is_empty(), "spoke1 refreshed its entry");
    let exp = dmvpn_sim::engine_node::from_instant(expires);
    assert!(
        refreshes[0].at >= exp.saturating_sub(secs(60)) && refreshes[0].at <= exp,
        "refresh in the last minute: at {:?}, expiry {:?}",
        refreshes[0].at,
        exp
    );
    let e = lab.entry(s1, ip(S2_T)).expect("entry survived");
    assert!(e.expires.unwrap() > expires, "expiry pushed back");
    assert_eq!(
        lab.data_stats().relays,
        hub_relays_before,
        "no more hub relays"
    );

    // Step 11, expiry: no traffic for a holdtime -> entries deleted, the
    // mapping removed and IPsec no longer needed.
    let t3 = lab.now();
    lab.run_for(secs(700)).unwrap();
    assert!(lab.entry(s1, ip(S2_T)).is_none(), "spoke1's entry expired");
    assert!(lab.entry(s2, ip(S1_T)).is_none(), "spoke2's entry expired");
    assert!(
        !lab.dataplane(s1)
            .unwrap()
            .mappings()
            .contains_key(&ip(S2_T))
    );
    assert!(lab.events(s1).iter().any(|(t, e)| *t >= t3
        && matches!(e, Event::CacheRemoved { prefix, .. } if prefix.addr() == ip(S2_T))));
    assert!(lab.trace().entries().iter().any(|x| x.at >= t3 && x.node == Some(s1)
        && matches!(&x.kind, TraceKind::Output(NodeOutput::Note(n)) if n.contains("ProtectionNotNeeded") && n.contains(S2_N))));
    // Registrations stayed up all along (refreshed every holdtime/3).
    assert!(lab.registered(s1) && lab.registered(s2));
    assert!(lab.entry(hub, ip(S1_T)).is_some());
}

/// Seed 003, "Conditions After a Dynamic Link Is Created": each spoke's
/// entry for the other is `Type: dynamic, Flags: router unique used`.
#[test]
fn resolved_entry_flags_match_seed003() {
    let Seed003 {
        mut lab, s1, s2, ..
    } = seed003(2, Phase::Two, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    let _ = ping(&mut lab, s2, HOST2, HOST1);
    let _ = ping(&mut lab, s1, HOST1, HOST2);
    for (node, peer) in [(s1, S2_T), (s2, S1_T)] {
        let e = lab.entry(node, ip(peer)).unwrap();
        let mut names = e.flag_names.clone();
        names.sort();
        assert_eq!(names, ["router", "unique", "used"], "entry for {peer}");
    }
}

//! Phase 3 (seed 002): spokes route everything via the hub; the hub, seeing
//! spoke-to-spoke traffic hairpin, sends a Traffic Indication (redirect);
//! the spoke resolves the destination through the hub, the owning spoke
//! answers directly with its LAN prefix, and a shortcut route overrides the
//! hub path. Unused shortcuts expire.
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
use dmvpn_sim::{Forward, NodeOutput, TraceKind};

#[test]
fn phase3_redirect_resolution_shortcut() {
    let Seed003 {
        mut lab,
        hub,
        s1,
        s2,
    } = seed003(3, Phase::Three, |_, _| {});
    assert!(wait_registered(&mut lab, &[s1, s2], secs(30)));
    lab.run_for(secs(5)).unwrap();
    let t0 = lab.now();

    // The first packet follows the routing table: via the hub, which
    // forwards it back into the tunnel (hairpin) and redirects spoke1.
    let first = ping(&mut lab, s1, HOST1, HOST2);
    assert!(first.is_relayed(), "{first:?}");
    assert!(
        lab.saw(hub, |e| matches!(e, Event::RedirectSent { src, dst, .. }
        if *src == ip(HOST1) && *dst == ip(HOST2)))
    );
    let ti = sent(&lab, hub, TRAFFIC_INDICATION, Some(ip(S1_N)), t0);
    assert_eq!(ti.len(), 1, "one Traffic Indication to spoke1");
    assert!(lab.saw(
        s1,
        |e| matches!(e, Event::RedirectReceived { dst, .. } if *dst == ip(HOST2))
    ));

    // Spoke1 resolves the destination via the hub; the hub forwards the
    // request to spoke2 (it has no binding for 192.168.2.3); spoke2 answers
    // spoke1 directly.
    let req = sent(&lab, s1, RESOLUTION_REQUEST, Some(ip(HUB_N)), t0);
    assert_eq!(req.len(), 1);
    assert!(req[0].at >= ti[0].at);
    let fwd = sent(&lab, hub, RESOLUTION_REQUEST, Some(ip(S2_N)), t0);
    assert_eq!(fwd.len(), 1, "hub forwards the request to the owner");
    let rep = sent(&lab, s2, RESOLUTION_REPLY, Some(ip(S1_N)), t0);
    assert_eq!(rep.len(), 1, "the reply goes direct from spoke2");
    assert!(sent(&lab, hub, RESOLUTION_REPLY, Some(ip(S1_N)), t0).is_empty());

    // Shortcut: 192.168.2.0/24 via 10.0.0.3, with its mapping, overriding the hub route.
    let sc = lab.shortcuts(s1);
    assert_eq!(sc.len(), 1, "{sc:?}");
    assert_eq!(
        (sc[0].prefix.addr(), sc[0].prefix.len()),
        (ip("192.168.2.0"), 24)
    );
    assert_eq!(sc[0].next_hop, ip(S2_T));
    let dp = lab.dataplane(s1).unwrap();
    assert_eq!(dp.shortcuts().get(&pfx(LAN2)), Some(&ip(S2_T)));
    assert!(
        matches!(dp.lookup(ip(HOST2)), Forward::Tunnel { next_hop, shortcut: true, .. } if next_hop == ip(S2_T))
    );
    assert!(lab.trace().entries().iter().any(|x| x.node == Some(s1)
        && matches!(&x.kind, TraceKind::Output(NodeOutput::MappingAdd { proto, nbma }) if *proto == ip(S2_T) && *nbma == ip(S2_N))));

    // From now on spoke1's packets go straight to spoke2.
    let direct = ping(&mut lab, s1, HOST1, HOST2);
    assert!(direct.is_direct(), "{direct:?}");

    // Return direction: spoke2 gets redirected too and ends up direct.
    let _ = ping(&mut lab, s2, HOST2, HOST1);
    lab.run_for(secs(2)).unwrap();
    assert!(ping(&mut lab, s2, HOST2, HOST1).is_direct());
    let sc2 = lab.shortcuts(s2);
    assert!(
        sc2.iter()
            .any(|s| s.prefix.addr() == ip("192.168.1.0") && s.next_hop == ip(S1_T)),
        "{sc2:?}"
    );

    // Redirects are rate-limited: the hub sent one per (source, destination).
    assert_eq!(
        sent(&lab, hub, TRAFFIC_INDICATION, Some(ip(S1_N)), t0).len(),
        1
    );

    // Refreshed while used: keep pinging past the holding time.
    for _ in 0..40 {
        assert!(ping(&mut lab, s1, HOST1, HOST2).is_direct());
        lab.run_for(secs(9)).unwrap();
    }
    assert_eq!(lab.shortcuts(s1).len(), 1, "shortcut kept while used");

    // Expires when unused: the shortcut route is withdrawn and traffic
    // falls back to the hub.
    let t1 = lab.now();
    lab.run_for(secs(700)).unwrap();
    assert!(lab.shortcuts(s1).is_empty(), "shortcut expired");
    assert!(lab.dataplane(s1).unwrap().shortcuts().is_empty());
    assert!(lab.trace().entries().iter().any(|x| x.at >= t1 && x.node == Some(s1)
        && matches!(&x.kind, TraceKind::Output(NodeOutput::ShortcutRemove { prefix }) if *prefix == pfx(LAN2))));
    assert!(matches!(
        lab.dataplane(s1).unwrap().lookup(ip(HOST2)),
        Forward::Tunnel { next_hop, shortcut: false, .. } if next_hop == ip(HUB_T)
    ));
    let again = ping(&mut lab, s1, HOST1, HOST2);
    assert!(again.is_relayed(), "back through the hub: {again:?}");
}

//! Identity-bound NHRP (`ip nhrp identity-map`): the hub accepts a registration only from
//! an NBMA peer whose claims (from its IKE identity) cover the registered address; others
//! are answered administratively prohibited (code 4), counted and reported.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::{Event, Prefix};

#[test]
fn registrations_need_a_claim_that_covers_the_address() {
    let mut net = Net::new();
    let mut hub = hub_cfg();
    hub.identity_bound = true;
    net.add(hub);
    net.add(spoke_cfg(2));
    net.add(spoke_cfg(3));
    // Spoke 2 may claim its own address; spoke 3 may claim a network that is not its own.
    let now = net.now;
    net.nodes[0].engine.set_peer_claims(
        now,
        ip(172, 16, 2, 1),
        Some(vec![Prefix::host(ip(10, 0, 0, 2))]),
    );
    net.nodes[0].engine.set_peer_claims(
        now,
        ip(172, 16, 3, 1),
        Some(vec![Prefix::new(ip(10, 9, 0, 0), 16).unwrap()]),
    );
    net.run_for(secs(2));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
    assert!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 3))).is_none(),
        "a claim outside the peer's identity map was accepted"
    );
    assert!(net.events(0).contains(&Event::IdentityRefused {
        iface: IF,
        proto: ip(10, 0, 0, 3),
        nbma: ip(172, 16, 3, 1),
        registration: true,
    }));
    assert!(
        net.events(2)
            .iter()
            .any(|e| matches!(e, Event::RegistrationRefused { code: 4, .. }))
    );
    assert!(net.nodes[0].engine.identity_refusals(IF) >= 1);

    // Without claims at all (no authenticated SA): refused too, fail closed.
    net.nodes[0]
        .engine
        .set_peer_claims(net.now, ip(172, 16, 2, 1), None);
    let before = net.nodes[0].engine.identity_refusals(IF);
    net.run_for(secs(120));
    assert!(net.nodes[0].engine.identity_refusals(IF) > before);
}

#[test]
fn without_identity_binding_nothing_changes() {
    let net = hub_and_spokes(3);
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 3))).is_some());
    assert_eq!(net.nodes[0].engine.identity_refusals(IF), 0);
}

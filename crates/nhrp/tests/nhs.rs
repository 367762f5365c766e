//! NHS (hub) behaviour: registration cache, expiry, code 14, multicast dynamic, NAT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::code;
use dmvpn_nhrp::{Action, EntryFlags, Event, PacketType, Prefix, RemoveReason};

#[test]
fn registration_expires_after_holding_time_when_not_refreshed() {
    let mut net = hub_and_spokes(2);
    net.nodes[1].down = true;
    net.run_until(at(299));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_some());
    net.run_until(at(301));
    assert!(net.entry(0, Prefix::host(ip(10, 0, 0, 2))).is_none());
    let p = Prefix::host(ip(10, 0, 0, 2));
    assert!(net.events(0).contains(&Event::CacheRemoved {
        iface: IF,
        prefix: p,
        reason: RemoveReason::Expired
    }));
    assert!(net.effects(0).contains(&Action::MappingRemove {
        iface: IF,
        proto: ip(10, 0, 0, 2),
        nbma: ip(172, 16, 2, 1)
    }));
    assert!(net.effects(0).contains(&Action::MulticastRemove {
        iface: IF,
        nbma: ip(172, 16, 2, 1)
    }));
}

#[test]
fn unique_address_from_another_nbma_gets_code_14_until_purged_or_expired() {
    let mut net = hub_and_spokes(2);
    // An impostor claims 10.0.0.2 from another NBMA.
    let mut c = spoke_cfg(2);
    c.nbma_addr = ip(172, 16, 50, 1);
    let k = net.add(c);
    net.run_for(secs(2));
    let replies = net.sent(0, PacketType::RegistrationReply);
    let to_impostor: Vec<_> = replies
        .iter()
        .filter(|p| p.to_nbma == ip(172, 16, 50, 1))
        .collect();
    assert_eq!(
        to_impostor[0].msg.as_ref().unwrap().cies[0].code,
        code::ALREADY_REGISTERED
    );
    assert!(
        net.events(0)
            .iter()
            .any(|e| matches!(e, Event::ClientRefused { code: 14, .. }))
    );
    assert_eq!(
        net.nodes[0]
            .engine
            .traffic(IF)
            .unwrap()
            .sent
            .registration_reply_codes
            .get(&14),
        Some(&1)
    );
    // Its purge (N flag) removes the old binding, and the retry succeeds.
    assert_eq!(net.sent(k, PacketType::PurgeRequest).len(), 1);
    assert_eq!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap().nbma,
        Some(ip(172, 16, 50, 1))
    );
}

#[test]
fn multicast_dynamic_membership_follows_registrations() {
    let net = hub_and_spokes(3);
    for n in [2u8, 3] {
        assert!(net.effects(0).contains(&Action::MulticastAdd {
            iface: IF,
            nbma: ip(172, 16, n, 1)
        }));
    }
    let mc = &net.nodes[0].engine.interfaces()[0].multicast;
    assert_eq!(mc, &vec![ip(172, 16, 2, 1), ip(172, 16, 3, 1)]);
    // Refreshes do not re-add.
    let mut net = net;
    net.run_until(at(250));
    let adds = net
        .effects(0)
        .iter()
        .filter(|a| matches!(a, Action::MulticastAdd { .. }))
        .count();
    assert_eq!(adds, 2);
}

#[test]
fn nat_is_detected_and_the_cisco_nat_extension_echoed_and_filled() {
    let mut net = Net::new();
    net.add(hub_cfg());
    let k = net.add(spoke_cfg(2));
    let public = ip(198, 51, 100, 7);
    net.nodes[k].public = public;
    net.run_for(secs(2));
    let e = net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap();
    assert_eq!(e.nbma, Some(public), "the hub uses the outer source");
    assert_eq!(e.claimed_nbma, Some(ip(172, 16, 2, 1)));
    assert!(e.flags.contains(EntryFlags::NAT));
    let reply = net.sent(0, PacketType::RegistrationReply)[0]
        .msg
        .clone()
        .unwrap();
    let nat = reply.ext.nat.expect("NAT extension");
    assert_eq!(nat.len(), 2, "echoed CIE + the client's real address");
    assert_eq!(nat[0].client_nbma, Some(HUB_NBMA));
    assert_eq!(nat[1].client_nbma, Some(public));
    assert_eq!(nat[1].client_proto, Some(ip(10, 0, 0, 2)));
    assert_eq!(
        reply.ext.responder.unwrap()[0].client_proto,
        Some(HUB_PROTO)
    );
    assert_eq!(net.nodes[k].engine.interfaces()[0].nat_nbma, Some(public));
    assert!(net.events(0).contains(&Event::ClientRegistered {
        iface: IF,
        proto: ip(10, 0, 0, 2),
        nbma: public,
        nat: true
    }));
}

#[test]
fn static_entries_are_not_overwritten_by_registrations() {
    let mut h = hub_cfg();
    h.static_maps.push(dmvpn_nhrp::StaticMap {
        protocol: Prefix::host(ip(10, 0, 0, 2)),
        nbma: ip(172, 16, 2, 1),
    });
    let mut net = Net::new();
    net.add(h);
    net.add(spoke_cfg(2));
    net.run_for(secs(2));
    let r = net.sent(0, PacketType::RegistrationReply)[0]
        .msg
        .clone()
        .unwrap();
    assert_eq!(
        r.cies[0].code, 0,
        "a registration agreeing with the static map is acknowledged"
    );
    assert_eq!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap().kind,
        dmvpn_nhrp::EntryKind::Static
    );
    // From another NBMA it is prohibited.
    let mut c = spoke_cfg(2);
    c.nbma_addr = ip(172, 16, 77, 1);
    let k = net.add(c);
    net.run_for(secs(2));
    let r = net
        .sent(0, PacketType::RegistrationReply)
        .iter()
        .find(|p| p.to_nbma == ip(172, 16, 77, 1))
        .unwrap()
        .msg
        .clone()
        .unwrap();
    assert_eq!(r.cies[0].code, code::PROHIBITED);
    assert!(net.events(k).contains(&Event::RegistrationRefused {
        iface: IF,
        nhs: HUB_PROTO,
        code: 4
    }));
    assert_eq!(
        net.entry(0, Prefix::host(ip(10, 0, 0, 2))).unwrap().nbma,
        Some(ip(172, 16, 2, 1))
    );
}

#[test]
fn a_registration_never_replaces_a_resolved_binding() {
    // Spoke 2 resolves spoke 3; then a stranger at another NBMA address sends spoke 2 a
    // copy of spoke 3's Registration Request.
    let mut net = hub_and_spokes(3);
    let _ = net.traffic(1, ip(10, 0, 0, 3));
    net.run_for(secs(3));
    let resolved = net.entry(1, Prefix::host(ip(10, 0, 0, 3))).unwrap();
    assert_eq!(resolved.nbma, Some(ip(172, 16, 3, 1)));
    let forged = net.sent(2, PacketType::RegistrationRequest)[0]
        .bytes
        .clone();
    let stranger = ip(203, 0, 113, 66);
    net.inject(1, stranger, &forged);
    let r = net
        .sent(1, PacketType::RegistrationReply)
        .iter()
        .find(|p| p.to_nbma == stranger)
        .expect("the forged registration is answered")
        .msg
        .clone()
        .unwrap();
    assert_eq!(r.cies[0].code, code::PROHIBITED);
    assert!(
        net.events(1)
            .iter()
            .any(|e| matches!(e, Event::ClientRefused { code: 4, .. }))
    );
    assert_eq!(
        net.entry(1, Prefix::host(ip(10, 0, 0, 3))).unwrap().nbma,
        Some(ip(172, 16, 3, 1)),
        "the resolved binding is untouched"
    );
}

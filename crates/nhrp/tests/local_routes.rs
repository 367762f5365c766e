//! The responder from the node's routing table: routes through non-tunnel interfaces
//! (`Engine::handle_local_route`) make a station answer Resolution Requests with the route's
//! prefix; routes through the tunnel never do; the longest match decides; a withdrawn route
//! stops being answered; a default route is not answered for.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
use common::*;
use dmvpn_nhrp::packet::{Cie, code, flags};
use dmvpn_nhrp::{Lookup, Message, PacketType, Prefix};
use std::net::Ipv4Addr;

/// Spoke 3 holds only its tunnel: no network written in its config.
fn tunnel_only_net() -> Net {
    let mut net = Net::new();
    net.add(hub_cfg());
    net.add(spoke_cfg(2));
    let mut s3 = spoke_cfg(3);
    s3.local_networks.clear();
    net.add(s3);
    net.run_for(secs(2));
    net
}

const S2: usize = 1;
const S3: usize = 2;

fn pfx(a: Ipv4Addr, len: u8) -> Prefix {
    Prefix::new(a, len).unwrap()
}

/// A Resolution Request for `dst`, as the hub forwards it to spoke 3; returns spoke 3's
/// answer (its first CIE).
fn ask(net: &mut Net, dst: Ipv4Addr) -> Cie {
    let before = net.sent(S3, PacketType::ResolutionReply).len();
    let mut m = Message::new(
        PacketType::ResolutionRequest,
        8,
        ip(172, 16, 2, 1),
        ip(10, 0, 0, 2),
        dst,
    );
    m.flags = flags::Q | flags::A | flags::S;
    m.request_id = 777;
    m.cies.push(Cie {
        prefix_len: 32,
        holding_time: 300,
        ..Default::default()
    });
    m.ext.forward_transit = Some(vec![]);
    m.ext.reverse_transit = Some(vec![]);
    m.ext.responder = Some(vec![]);
    net.inject(S3, HUB_NBMA, &dmvpn_nhrp::codec::encode(&m).unwrap());
    net.run_for(secs(1));
    let replies = net.sent(S3, PacketType::ResolutionReply);
    assert_eq!(replies.len(), before + 1, "spoke 3 answers itself");
    replies[before].msg.as_ref().unwrap().cies[0].clone()
}

fn local(net: &mut Net, k: usize, p: Prefix, present: bool) {
    let now = net.now;
    net.nodes[k].engine.handle_local_route(now, p, present);
}

#[test]
fn a_local_route_is_answered_with_its_prefix() {
    let mut net = tunnel_only_net();
    let before = ask(&mut net, ip(192, 168, 3, 9));
    assert_eq!(before.code, code::NO_BINDING, "nothing local yet: code 12");
    local(&mut net, S3, spoke_lan(3), true);
    let c = ask(&mut net, ip(192, 168, 3, 9));
    assert_eq!(c.code, code::SUCCESS);
    assert_eq!(c.prefix_len, 24, "the route's prefix");
    assert_eq!(c.client_nbma, Some(ip(172, 16, 3, 1)));
    assert_eq!(
        net.nodes[S3].engine.local_routes().collect::<Vec<_>>(),
        vec![spoke_lan(3)]
    );
}

#[test]
fn end_to_end_the_requester_gets_a_shortcut_for_the_lan() {
    let mut net = tunnel_only_net();
    local(&mut net, S3, spoke_lan(3), true);
    let now = net.now;
    net.nodes[0]
        .engine
        .handle_route(now, IF, spoke_lan(3), Some(ip(10, 0, 0, 3)));
    net.traffic(S2, ip(192, 168, 3, 9));
    net.run_for(secs(2));
    assert_eq!(
        net.traffic(S2, ip(192, 168, 3, 77)),
        Lookup::Direct(ip(172, 16, 3, 1)),
        "the whole /24 goes direct"
    );
    assert!(net.entry(S2, spoke_lan(3)).is_some());
}

#[test]
fn a_route_through_the_tunnel_is_never_local() {
    let mut net = tunnel_only_net();
    let now = net.now;
    net.nodes[S3]
        .engine
        .handle_route(now, IF, spoke_lan(3), Some(ip(10, 0, 0, 1)));
    let c = ask(&mut net, ip(192, 168, 3, 9));
    assert_eq!(c.code, code::NO_BINDING);
}

#[test]
fn a_more_specific_tunnel_route_beats_a_broad_local_route() {
    let mut net = tunnel_only_net();
    local(&mut net, S3, pfx(ip(192, 168, 0, 0), 16), true);
    let now = net.now;
    net.nodes[S3]
        .engine
        .handle_route(now, IF, spoke_lan(2), Some(ip(10, 0, 0, 2)));
    let c = ask(&mut net, ip(192, 168, 3, 9));
    assert_eq!(c.code, code::SUCCESS);
    assert_eq!(c.prefix_len, 16, "the broad local route");
    let c = ask(&mut net, ip(192, 168, 2, 9));
    assert_eq!(c.code, code::NO_BINDING, "the /24 via the tunnel wins");
    // And a more specific local route beats a broad tunnel route.
    let now = net.now;
    net.nodes[S3]
        .engine
        .handle_route(now, IF, pfx(ip(172, 20, 0, 0), 16), Some(ip(10, 0, 0, 1)));
    local(&mut net, S3, pfx(ip(172, 20, 5, 0), 24), true);
    let c = ask(&mut net, ip(172, 20, 5, 1));
    assert_eq!((c.code, c.prefix_len), (code::SUCCESS, 24));
}

#[test]
fn a_withdrawn_route_is_answered_with_code_12() {
    let mut net = tunnel_only_net();
    local(&mut net, S3, spoke_lan(3), true);
    assert_eq!(ask(&mut net, ip(192, 168, 3, 9)).code, code::SUCCESS);
    local(&mut net, S3, spoke_lan(3), false);
    assert_eq!(ask(&mut net, ip(192, 168, 3, 9)).code, code::NO_BINDING);
    assert_eq!(net.nodes[S3].engine.local_routes().count(), 0);
}

#[test]
fn a_default_route_is_not_answered_for() {
    let mut net = tunnel_only_net();
    local(&mut net, S3, pfx(ip(0, 0, 0, 0), 0), true);
    assert_eq!(ask(&mut net, ip(8, 8, 8, 8)).code, code::NO_BINDING);
    assert_eq!(net.nodes[S3].engine.local_routes().count(), 0);
}

#[test]
fn config_networks_still_work_alongside_local_routes() {
    let mut net = hub_and_spokes(3);
    let c = ask(&mut net, ip(192, 168, 3, 9));
    assert_eq!((c.code, c.prefix_len), (code::SUCCESS, 24));
    // Withdrawing a kernel route that duplicates a config network keeps answering.
    local(&mut net, S3, spoke_lan(3), true);
    local(&mut net, S3, spoke_lan(3), false);
    assert_eq!(ask(&mut net, ip(192, 168, 3, 9)).code, code::SUCCESS);
}

#[test]
fn connected_tunnel_routes_are_never_local() {
    let mut net = tunnel_only_net();
    // A broad local route covering the tunnel subnet and a `dev` route into the tunnel.
    local(&mut net, S3, pfx(ip(10, 0, 0, 0), 8), true);
    assert_eq!(
        ask(&mut net, ip(10, 0, 0, 2)).code,
        code::NO_BINDING,
        "the tunnel subnet is not local"
    );
    assert_eq!(
        (ask(&mut net, ip(10, 9, 0, 1)).code),
        code::SUCCESS,
        "the rest of the /8 is"
    );
    let now = net.now;
    net.nodes[S3]
        .engine
        .handle_tunnel_prefix(now, IF, pfx(ip(10, 9, 0, 0), 16), true);
    assert_eq!(ask(&mut net, ip(10, 9, 0, 1)).code, code::NO_BINDING);
    let now = net.now;
    net.nodes[S3]
        .engine
        .handle_tunnel_prefix(now, IF, pfx(ip(10, 9, 0, 0), 16), false);
    assert_eq!(ask(&mut net, ip(10, 9, 0, 1)).code, code::SUCCESS);
}

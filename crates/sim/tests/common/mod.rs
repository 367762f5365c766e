//! Shared scenario helpers: seed 003's addresses, topology builders and
//! trace queries.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_nhrp::InterfaceConfig;
use dmvpn_sim::lab::{hub_iface, spoke_iface};
use dmvpn_sim::{DataOutcome, Lab, NodeId, Payload, Prefix, TraceEntry, TraceKind};

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub fn pfx(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::new(ip(a), l.parse().unwrap()).unwrap()
}

pub const SECOND: Duration = Duration::from_secs(1);

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// Seed 003: hub 10.0.0.1 / 172.17.0.1, Spoke1 10.0.0.2 / 172.16.1.24,
// Spoke2 10.0.0.3 / 172.16.2.75, LANs 192.168.{0,1,2}.0/24.
pub const HUB_T: &str = "10.0.0.1";
pub const HUB_N: &str = "172.17.0.1";
pub const S1_T: &str = "10.0.0.2";
pub const S1_N: &str = "172.16.1.24";
pub const S2_T: &str = "10.0.0.3";
pub const S2_N: &str = "172.16.2.75";
pub const LAN0: &str = "192.168.0.0/24";
pub const LAN1: &str = "192.168.1.0/24";
pub const LAN2: &str = "192.168.2.0/24";
pub const HOST1: &str = "192.168.1.2";
pub const HOST2: &str = "192.168.2.3";

pub struct Seed003 {
    pub lab: Lab,
    pub hub: NodeId,
    pub s1: NodeId,
    pub s2: NodeId,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Spokes route to each other's LAN via the other spoke's tunnel address.
    Two,
    /// Spokes route everything via the hub; redirect + shortcut.
    Three,
}

pub fn hub_cfg() -> InterfaceConfig {
    hub_iface(ip(HUB_T), ip(HUB_N), pfx(LAN0))
}

pub fn spoke_cfg(t: &str, n: &str, lan: &str) -> InterfaceConfig {
    spoke_iface(ip(t), ip(n), pfx(lan), &[(ip(HUB_T), ip(HUB_N))])
}

/// Seed 003's single-hub DMVPN, with optional tweaks of the three
/// interface configurations before the nodes start.
pub fn seed003(seed: u64, phase: Phase, tweak: impl Fn(&str, &mut InterfaceConfig)) -> Seed003 {
    let mut lab = Lab::new(seed);
    let mut h = hub_cfg();
    let mut c1 = spoke_cfg(S1_T, S1_N, LAN1);
    let mut c2 = spoke_cfg(S2_T, S2_N, LAN2);
    if phase == Phase::Three {
        h.redirect = true;
        c1.shortcut = true;
        c2.shortcut = true;
    }
    tweak("hub", &mut h);
    tweak("spoke1", &mut c1);
    tweak("spoke2", &mut c2);
    let hub = lab.add("hub", h).unwrap();
    let s1 = lab.add("spoke1", c1).unwrap();
    let s2 = lab.add("spoke2", c2).unwrap();
    lab.route(hub, pfx(LAN1), ip(S1_T));
    lab.route(hub, pfx(LAN2), ip(S2_T));
    match phase {
        Phase::Two => {
            lab.route(s1, pfx(LAN0), ip(HUB_T));
            lab.route(s1, pfx(LAN2), ip(S2_T));
            lab.route(s2, pfx(LAN0), ip(HUB_T));
            lab.route(s2, pfx(LAN1), ip(S1_T));
        }
        Phase::Three => {
            for (s, other) in [(s1, LAN2), (s2, LAN1)] {
                lab.route(s, pfx(LAN0), ip(HUB_T));
                lab.route(s, pfx(other), ip(HUB_T));
            }
        }
    }
    Seed003 { lab, hub, s1, s2 }
}

/// Run until every spoke has all its NHSs UP.
pub fn wait_registered(lab: &mut Lab, spokes: &[NodeId], within: Duration) -> bool {
    let spokes = spokes.to_vec();
    lab.run_until_cond(within, |s| {
        spokes.iter().all(|n| {
            s.node(*n).is_some_and(|e| {
                let v = e.engine().nhs_status(None);
                !v.is_empty() && v.iter().all(|x| x.state == dmvpn_nhrp::NhsState::Up)
            })
        })
    })
    .unwrap()
}

/// NHRP packets of type `op` sent by `node` to `dst`, at or after `since`.
pub fn sent(
    lab: &Lab,
    node: NodeId,
    op: u8,
    dst: Option<Ipv4Addr>,
    since: Duration,
) -> Vec<TraceEntry> {
    lab.trace()
        .entries()
        .iter()
        .filter(|e| e.at >= since && e.node == Some(node))
        .filter(|e| match &e.kind {
            TraceKind::Sent {
                dst: d,
                payload: Payload::Nhrp { op: Some(o), .. },
                ..
            } => *o == op && dst.is_none_or(|x| x == *d),
            _ => false,
        })
        .cloned()
        .collect()
}

/// Send one ping and let it travel; returns its outcome.
pub fn ping(lab: &mut Lab, from: NodeId, src: &str, dst: &str) -> DataOutcome {
    let id = lab.send_data(from, ip(src), ip(dst));
    lab.run_for(SECOND).unwrap();
    lab.data_outcome(id).cloned().unwrap()
}

/// Dump the trace (for failing tests: `cargo test -- --nocapture`).
pub fn dump(lab: &Lab) {
    for e in lab.trace().entries() {
        eprintln!("{e}");
    }
}

//! Scenario helpers for the IKE network simulations (`tests/sim_*.rs`), built on the engine
//! test network of `engine_support` (seeded engines, virtual clock, lossy, reordering and
//! duplicating links, an optional NAT, an ESP data plane per node): hub-and-spoke builders,
//! the per-pair agreement check (one IKE SA, one Child SA pair, SPIs and keys crosswise,
//! GRE through real ESP both ways), log invariants (make-before-break, no protection gap)
//! and a fingerprint of a whole run for determinism checks.
//!
//! A test crate using it declares both modules: `mod engine_support; mod sim_support;`.

#![allow(dead_code)]

use crate::engine_support::{Net, PSK, Rec, esp_spec, gre_packet, psk_config};
use dmvpn_crypto::SeededRandom;
use dmvpn_esp::SaPair;
use dmvpn_forwarding::buf::PacketBuf;
use dmvpn_ike::{ChildSa, IkeConfig, IkeEvent, IkeSaView, SaState};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

/// The hub's node index.
pub const HUB: usize = 0;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// A hub (node 0) and `spokes` spokes (nodes 1..=spokes), all with the same PSK and
/// `tweak` applied to every configuration.
pub fn hub_and_spokes(seed: u64, spokes: usize, tweak: impl Fn(&mut IkeConfig)) -> Net {
    let cfgs = (0..=spokes)
        .map(|_| {
            let mut c = psk_config(PSK);
            tweak(&mut c);
            c
        })
        .collect();
    Net::new(seed, cfgs)
}

/// Loss, duplication and reordering on every link, per mille.
pub fn impair(net: &mut Net, loss: u32, dup: u32, reorder: u32) {
    net.loss = loss;
    net.dup = dup;
    net.reorder = reorder;
}

/// A perfect network again.
pub fn heal(net: &mut Net) {
    impair(net, 0, 0, 0);
    net.link_loss.clear();
}

/// Whether nothing is going on: no datagram in flight, every IKE SA established, and at
/// most one IKE SA and one Child SA per pair of nodes.
pub fn quiet(net: &Net) -> bool {
    if net.in_flight() > 0 {
        return false;
    }
    net.nodes.iter().all(|n| {
        let sas = n.engine.sas();
        let mut per_peer: BTreeMap<Ipv4Addr, (usize, usize)> = BTreeMap::new();
        for s in &sas {
            per_peer.entry(*s.remote.ip()).or_default().0 += 1;
        }
        for c in n.installed.values() {
            per_peer.entry(c.peer).or_default().1 += 1;
        }
        sas.iter().all(|s| s.state == SaState::Established)
            && per_peer.values().all(|(s, c)| *s <= 1 && *c <= 1)
    })
}

/// Heal the network and run until [`quiet`] (at most `max`), so that checks see the
/// state the SAs settle in rather than an exchange half done.
pub fn settle(net: &mut Net, max: Duration) {
    heal(net);
    let end = net.now + max;
    while !quiet(net) && net.now < end {
        net.run_for(ms(100));
    }
}

/// Node `i`'s installed Child SAs with node `j`.
pub fn children_with(net: &Net, i: usize, j: usize) -> Vec<&ChildSa> {
    let peer = net.public(j);
    net.nodes[i]
        .installed
        .values()
        .filter(|c| c.peer == peer)
        .collect()
}

/// Node `i`'s IKE SAs with node `j` (any state).
pub fn ike_with(net: &Net, i: usize, j: usize) -> Vec<IkeSaView> {
    let peer = net.public(j);
    net.nodes[i]
        .engine
        .sas()
        .into_iter()
        .filter(|s| *s.remote.ip() == peer)
        .collect()
}

fn buf(data: &[u8]) -> PacketBuf {
    let mut b = PacketBuf::with_capacity(2048);
    b.set(data).unwrap();
    b
}

/// Fresh [`SaPair`]s built from the two sides' `InstallChild` records pass a GRE packet
/// each way (encapsulate on one side, decapsulate on the other): the keys really match.
pub fn assert_sa_pairs_work(a: &ChildSa, b: &ChildSa, now: Duration) {
    let pa = SaPair::new(&esp_spec(a), now).unwrap();
    let pb = SaPair::new(&esp_spec(b), now).unwrap();
    let mut rng = SeededRandom::new(7);
    for (from, to, tag) in [(&pa, &pb, 1), (&pb, &pa, 2)] {
        let gre = gre_packet(tag, tag, now);
        let mut p = buf(&gre);
        from.outbound.encapsulate(&mut p, &mut rng).unwrap();
        assert_ne!(p.as_slice(), gre.as_slice(), "not encrypted");
        to.inbound.decapsulate(&mut p).unwrap();
        assert_eq!(p.as_slice(), gre.as_slice());
    }
}

/// The trace lines (see `Net::tracing`) of node `i` about `j` and of `j` about `i`, for
/// failure messages; empty unless tracing.
pub fn pair_trace(net: &Net, i: usize, j: usize) -> String {
    let about = |a: usize, b: usize, l: &str| {
        l.contains(&format!(" node {a}: ")) && l.contains(&format!("{}", net.public(b)))
    };
    net.trace
        .iter()
        .filter(|l| about(i, j, l) || about(j, i, l))
        .map(|l| format!("\n  {}", l.replace("SecretBytes(<redacted>)", "..")))
        .collect()
}

/// Nodes `i` and `j` agree on exactly one working IKE SA and one Child SA pair: both
/// protected, one established IKE SA each with the same SPIs and no other IKE SA, one
/// Child SA each with SPIs, algorithms and keys crosswise, fresh SA pairs from the records
/// pass GRE both ways, and so do the nodes' own data planes.
pub fn assert_pair(net: &mut Net, i: usize, j: usize) {
    assert!(net.protected(i, j), "{i} does not protect {j}");
    assert!(net.protected(j, i), "{j} does not protect {i}");
    let (si, sj) = (ike_with(net, i, j), ike_with(net, j, i));
    let t = pair_trace(net, i, j);
    assert_eq!(si.len(), 1, "IKE SAs of {i} with {j}: {si:?}{t}");
    assert_eq!(sj.len(), 1, "IKE SAs of {j} with {i}: {sj:?}{t}");
    assert_eq!(si[0].state, SaState::Established);
    assert_eq!(sj[0].state, SaState::Established);
    assert_eq!((si[0].spi_i, si[0].spi_r), (sj[0].spi_i, sj[0].spi_r));
    assert_ne!(si[0].initiator, sj[0].initiator);
    let (ci, cj) = (children_with(net, i, j), children_with(net, j, i));
    assert_eq!(
        ci.len(),
        1,
        "Child SAs of {i} with {j}: {:?}{t}",
        net.nodes[i].log
    );
    assert_eq!(
        cj.len(),
        1,
        "Child SAs of {j} with {i}: {:?}{t}",
        net.nodes[j].log
    );
    let (a, b) = (ci[0], cj[0]);
    assert_eq!(a.spi_in, b.spi_out, "{i}/{j}: SPIs not crosswise");
    assert_eq!(a.spi_out, b.spi_in, "{i}/{j}: SPIs not crosswise");
    assert!(a.enc_key_in.ct_eq(&b.enc_key_out));
    assert!(a.enc_key_out.ct_eq(&b.enc_key_in));
    assert!(a.integ_key_in.ct_eq(&b.integ_key_out));
    assert!(a.integ_key_out.ct_eq(&b.integ_key_in));
    assert!(!a.enc_key_in.ct_eq(&a.enc_key_out));
    assert_eq!(
        (a.encryption, a.integrity, a.mode, a.esn),
        (b.encryption, b.integrity, b.mode, b.esn)
    );
    assert_eq!(a.encap.is_some(), b.encap.is_some());
    assert_eq!(si[0].children, 1);
    assert_eq!(sj[0].children, 1);
    assert_sa_pairs_work(a, b, net.now);
    net.ping(i, j).unwrap();
    net.ping(j, i).unwrap();
}

/// Protection from `i` to its peers never went down, and every Child SA deleted had a
/// replacement for the same peer installed at that moment (make-before-break).
pub fn assert_no_gap(net: &Net, i: usize) {
    let n = &net.nodes[i];
    let mut live: BTreeMap<Ipv4Addr, usize> = BTreeMap::new();
    for (k, r) in n.log.iter().enumerate() {
        match r {
            Rec::Install(spi) => *live.entry(n.peer_of[spi]).or_default() += 1,
            Rec::Delete(spi) => {
                let c = live.entry(n.peer_of[spi]).or_default();
                *c -= 1;
                assert!(
                    *c > 0,
                    "node {i}: last SA {spi:#x} deleted at {k}: {:?}",
                    n.log
                );
            }
            Rec::Down(p) => panic!("node {i}: protection to {p} went down: {:?}", n.log),
            Rec::Up(_) => {}
        }
    }
}

/// How often node `i` logged an event matching `f`.
pub fn count(net: &Net, i: usize, f: impl Fn(&IkeEvent) -> bool) -> usize {
    net.nodes[i].events.iter().filter(|e| f(e)).count()
}

/// No data-plane install failed anywhere.
pub fn assert_data_planes_ok(net: &Net) {
    for (i, n) in net.nodes.iter().enumerate() {
        assert!(n.esp_errors.is_empty(), "node {i}: {:?}", n.esp_errors);
    }
}

/// Everything observable about a run: per node its Child SAs (SPIs and peers), IKE SA
/// SPIs, output log, counts of datagrams sent and events. Equal fingerprints = same run.
pub fn fingerprint(net: &Net) -> Vec<String> {
    let mut v = vec![format!("t={:?} delivered={}", net.now, net.delivered)];
    for (i, n) in net.nodes.iter().enumerate() {
        let children: Vec<(u32, u32, Ipv4Addr)> = n
            .installed
            .values()
            .map(|c| (c.spi_in, c.spi_out, c.peer))
            .collect();
        let sas: Vec<(u64, u64, SaState)> = n
            .engine
            .sas()
            .iter()
            .map(|s| (s.spi_i, s.spi_r, s.state))
            .collect();
        v.push(format!(
            "node {i}: children {children:x?} sas {sas:x?} log {:?} sent {} events {}",
            n.log,
            n.sent,
            n.events.len()
        ));
    }
    v
}

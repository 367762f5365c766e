//! A fake data plane for the core's unit tests: it records every call, keeps the tables the
//! core installs, and lets a test set counters and routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Mutex;

use dmvpn_dataplane::seam::{CounterSnapshot, DataPlane, DataPlaneError, SendOutcome};
use dmvpn_dataplane::{Ipv4Prefix, MirroredRoute, MulticastPolicy, TrafficCounters};

/// One call the core made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    SetMapping(Ipv4Addr, Ipv4Addr),
    RemoveMapping(Ipv4Addr),
    SetShortcut(Ipv4Prefix, Ipv4Addr),
    RemoveShortcut(Ipv4Prefix),
    SetNhs(Vec<Ipv4Addr>),
    SetNhsUp(Ipv4Addr, bool),
    SetMulticastPolicy,
    AddDynamicPeer(Ipv4Addr),
    RemoveDynamicPeer(Ipv4Addr),
    SetMss(Option<u16>),
    SetHairpin(bool),
    SetMtu(u16),
    SendNhrp(Ipv4Addr, Vec<u8>),
    ProtectionChanged(Ipv4Addr, bool),
    /// An IKE datagram from our `local_port` to `remote`.
    SendIke(u16, std::net::SocketAddrV4, Vec<u8>),
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    mappings: BTreeMap<Ipv4Addr, Ipv4Addr>,
    shortcuts: BTreeMap<Ipv4Prefix, Ipv4Addr>,
    dynamic_peers: BTreeSet<Ipv4Addr>,
    counters: CounterSnapshot,
    routes: Vec<MirroredRoute>,
    local_routes: Vec<Ipv4Prefix>,
    routes_version: u64,
    negotiations: Vec<Ipv4Addr>,
}

/// The fake.
pub struct FakeDataPlane {
    name: String,
    ifindex: u32,
    source: Option<Ipv4Addr>,
    state: Mutex<State>,
}

impl FakeDataPlane {
    pub fn new(name: &str, ifindex: u32, source: Ipv4Addr) -> FakeDataPlane {
        FakeDataPlane {
            name: name.to_string(),
            ifindex,
            source: Some(source),
            state: Mutex::new(State::default()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    /// Forgets the recorded calls (the tables stay).
    pub fn take_calls(&self) -> Vec<Call> {
        self.with(|s| std::mem::take(&mut s.calls))
    }

    /// The NHRP packets sent, as (peer, bytes).
    pub fn sent(&self) -> Vec<(Ipv4Addr, Vec<u8>)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::SendNhrp(to, b) => Some((to, b)),
                _ => None,
            })
            .collect()
    }

    pub fn mappings(&self) -> BTreeMap<Ipv4Addr, Ipv4Addr> {
        self.with(|s| s.mappings.clone())
    }

    pub fn dynamic_peers(&self) -> BTreeSet<Ipv4Addr> {
        self.with(|s| s.dynamic_peers.clone())
    }

    pub fn set_counters(&self, c: CounterSnapshot) {
        self.with(|s| s.counters = c);
    }

    pub fn set_routes(&self, r: Vec<MirroredRoute>) {
        self.with(|s| {
            s.routes = r;
            s.routes_version += 1;
        });
    }

    /// The routes through other interfaces change (as a netlink notification would say).
    pub fn set_local_routes(&self, r: Vec<Ipv4Prefix>) {
        self.with(|s| {
            s.local_routes = r;
            s.routes_version += 1;
        });
    }

    /// The transport held packets for `peer` and asks for protection.
    pub fn ask_protection(&self, peer: Ipv4Addr) {
        self.with(|s| s.negotiations.push(peer));
    }
}

impl DataPlane for FakeDataPlane {
    fn name(&self) -> &str {
        &self.name
    }
    fn ifindex(&self) -> u32 {
        self.ifindex
    }
    fn source_address(&self) -> Option<Ipv4Addr> {
        self.source
    }
    fn set_mapping(&self, overlay: Ipv4Addr, nbma: Ipv4Addr) {
        self.with(|s| {
            s.calls.push(Call::SetMapping(overlay, nbma));
            s.mappings.insert(overlay, nbma);
        });
    }
    fn remove_mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.with(|s| {
            s.calls.push(Call::RemoveMapping(overlay));
            s.mappings.remove(&overlay)
        })
    }
    fn mapping(&self, overlay: Ipv4Addr) -> Option<Ipv4Addr> {
        self.with(|s| s.mappings.get(&overlay).copied())
    }
    fn set_shortcut(&self, prefix: Ipv4Prefix, next_hop: Ipv4Addr) {
        self.with(|s| {
            s.calls.push(Call::SetShortcut(prefix, next_hop));
            s.shortcuts.insert(prefix, next_hop);
        });
    }
    fn remove_shortcut(&self, prefix: Ipv4Prefix) -> Option<Ipv4Addr> {
        self.with(|s| {
            s.calls.push(Call::RemoveShortcut(prefix));
            s.shortcuts.remove(&prefix)
        })
    }
    fn shortcuts(&self) -> Vec<(Ipv4Prefix, Ipv4Addr)> {
        self.with(|s| s.shortcuts.iter().map(|(p, n)| (*p, *n)).collect())
    }
    fn set_nhs(&self, nbma: Vec<Ipv4Addr>) {
        self.with(|s| s.calls.push(Call::SetNhs(nbma)));
    }
    fn set_nhs_up(&self, nbma: Ipv4Addr, up: bool) {
        self.with(|s| s.calls.push(Call::SetNhsUp(nbma, up)));
    }
    fn set_multicast_policy(&self, _policy: MulticastPolicy) {
        self.with(|s| s.calls.push(Call::SetMulticastPolicy));
    }
    fn add_dynamic_peer(&self, nbma: Ipv4Addr) {
        self.with(|s| {
            s.calls.push(Call::AddDynamicPeer(nbma));
            s.dynamic_peers.insert(nbma);
        });
    }
    fn remove_dynamic_peer(&self, nbma: Ipv4Addr) -> bool {
        self.with(|s| {
            s.calls.push(Call::RemoveDynamicPeer(nbma));
            s.dynamic_peers.remove(&nbma)
        })
    }
    fn set_tcp_adjust_mss(&self, mss: Option<u16>) {
        self.with(|s| s.calls.push(Call::SetMss(mss)));
    }
    fn set_detect_hairpin(&self, on: bool) {
        self.with(|s| s.calls.push(Call::SetHairpin(on)));
    }
    fn set_mtu(&self, mtu: u16) -> Result<(), DataPlaneError> {
        self.with(|s| s.calls.push(Call::SetMtu(mtu)));
        Ok(())
    }
    fn send_nhrp(&self, peer: Ipv4Addr, packet: &[u8]) -> SendOutcome {
        self.with(|s| s.calls.push(Call::SendNhrp(peer, packet.to_vec())));
        SendOutcome::Sent
    }
    fn counters(&self) -> CounterSnapshot {
        self.with(|s| s.counters.clone())
    }
    fn peer_counters(&self, nbma: Ipv4Addr) -> TrafficCounters {
        self.with(|s| {
            s.counters
                .peers
                .iter()
                .find(|(a, _)| *a == nbma)
                .map(|(_, c)| *c)
                .unwrap_or_default()
        })
    }
    fn routes(&self) -> Vec<MirroredRoute> {
        self.with(|s| s.routes.clone())
    }
    fn resync_routes(&self) {}
    fn local_routes(&self) -> Vec<Ipv4Prefix> {
        self.with(|s| s.local_routes.clone())
    }
    fn routes_version(&self) -> u64 {
        self.with(|s| s.routes_version)
    }
    fn protection_changed(&self, peer: Ipv4Addr, up: bool) -> usize {
        self.with(|s| s.calls.push(Call::ProtectionChanged(peer, up)));
        0
    }
    fn negotiations(&self) -> Vec<Ipv4Addr> {
        self.with(|s| std::mem::take(&mut s.negotiations))
    }
    fn send_ike(
        &self,
        local_port: u16,
        remote: std::net::SocketAddrV4,
        message: &[u8],
    ) -> SendOutcome {
        self.with(|s| {
            s.calls
                .push(Call::SendIke(local_port, remote, message.to_vec()))
        });
        SendOutcome::Sent
    }
}

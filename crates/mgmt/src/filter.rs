//! The filters of show and clear commands (`interface TunnelN`,
//! `peer {nbma|tunnel} IP`, `static`, an address), applied to snapshots.
//!
//! [`crate::dispatch`] applies the show filters. The `*_selects` predicates
//! tell a daemon which entries a clear command targets, so that every
//! command filters the same way.

use std::net::IpAddr;

use crate::proto::{
    ClearDmvpnSession, ClearDmvpnStatistics, ClearIpNhrp, PeerFilter, ShowDmvpn, ShowIpNhrp,
    interface_matches,
};
use crate::state::{
    DmvpnStatus, EntryType, NhrpCache, NhrpCacheEntry, NhsReport, ShortcutTable, TrafficReport,
};

/// Whether a peer with these addresses is selected by the optional filter.
pub fn peer_matches(
    filter: Option<&PeerFilter>,
    nbma: Option<IpAddr>,
    tunnel: Option<IpAddr>,
) -> bool {
    match filter {
        None => true,
        Some(PeerFilter::Nbma { address }) => nbma == Some(*address),
        Some(PeerFilter::Tunnel { address }) => tunnel == Some(*address),
    }
}

/// `show dmvpn` filters: interface, peer, static.
pub fn dmvpn(mut status: DmvpnStatus, q: &ShowDmvpn) -> DmvpnStatus {
    let iface = q.interface.as_deref();
    status
        .interfaces
        .retain(|i| interface_matches(iface, &i.name));
    for i in &mut status.interfaces {
        i.peers.retain(|p| {
            peer_matches(q.peer.as_ref(), Some(p.nbma), Some(p.tunnel))
                && (!q.static_only || p.attributes.is_static)
        });
    }
    status.pending_sessions.retain(|s| {
        interface_matches(iface, &s.interface) && peer_matches(q.peer.as_ref(), s.nbma, s.tunnel)
    });
    status
}

/// `show ip nhrp` filters: interface and address.
pub fn nhrp_cache(mut cache: NhrpCache, q: &ShowIpNhrp) -> NhrpCache {
    cache.entries.retain(|e| {
        interface_matches(q.interface.as_deref(), &e.interface)
            && q.address.is_none_or(|a| e.prefix.contains(a))
    });
    cache
}

/// `show ip nhrp nhs` interface filter.
pub fn nhs(mut report: NhsReport, interface: Option<&str>) -> NhsReport {
    report
        .servers
        .retain(|s| interface_matches(interface, &s.interface));
    report
}

/// `show ip nhrp traffic` interface filter.
pub fn traffic(mut report: TrafficReport, interface: Option<&str>) -> TrafficReport {
    report
        .interfaces
        .retain(|t| interface_matches(interface, &t.interface));
    report
}

/// `show ip nhrp shortcut` interface filter.
pub fn shortcuts(mut table: ShortcutTable, interface: Option<&str>) -> ShortcutTable {
    table
        .shortcuts
        .retain(|s| interface_matches(interface, &s.interface));
    table
}

/// Whether `clear ip nhrp …` removes this entry: dynamic, incomplete and
/// negative entries on the selected interface whose prefix contains the
/// selected address. Static entries are never cleared.
pub fn clear_ip_nhrp_selects(q: &ClearIpNhrp, entry: &NhrpCacheEntry) -> bool {
    entry.entry_type != EntryType::Static
        && interface_matches(q.interface.as_deref(), &entry.interface)
        && q.address.is_none_or(|a| entry.prefix.contains(a))
}

/// Whether `clear dmvpn session …` tears down a session with a peer: the
/// interface and peer filters match, and the peer is dynamic unless
/// `static` was given.
pub fn clear_session_selects(
    q: &ClearDmvpnSession,
    interface: &str,
    nbma: IpAddr,
    tunnel: IpAddr,
    is_static: bool,
) -> bool {
    interface_matches(q.interface.as_deref(), interface)
        && peer_matches(q.peer.as_ref(), Some(nbma), Some(tunnel))
        && (q.include_static || !is_static)
}

/// Whether `clear dmvpn statistics …` resets the counters of a peer.
pub fn clear_statistics_selects(
    q: &ClearDmvpnStatistics,
    interface: &str,
    nbma: IpAddr,
    tunnel: IpAddr,
) -> bool {
    interface_matches(q.interface.as_deref(), interface)
        && peer_matches(q.peer.as_ref(), Some(nbma), Some(tunnel))
}

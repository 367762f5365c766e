//! The NHRP cache of one interface: protocol prefix → NBMA bindings with the kinds and flags
//! IOS shows (`show ip nhrp`), longest-prefix lookup, and reference counts per NBMA peer (which
//! drive "protection needed / no longer needed").
//!
//! The cache is pure data; the engine's cache operations (`Engine::install`,
//! `Engine::remove_entry`) emit the mapping/shortcut/protection actions and arm expiry timers.

use crate::config::Prefix;
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The kind of a cache entry (`Type:` in `show ip nhrp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    /// From `ip nhrp map`; never expires; only `clear ... all` touches it (and reinstalls it).
    Static,
    /// Learned from a registration or a resolution.
    Dynamic,
    /// A resolution is in progress.
    Incomplete,
    /// A resolution was answered negatively (or failed); traffic keeps going via the NHS.
    Negative,
}

/// Entry flags (`Flags:` in `show ip nhrp`), a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EntryFlags(u16);

impl EntryFlags {
    /// Learned from the authoritative source (a registration, or an authoritative reply).
    pub const AUTHORITATIVE: EntryFlags = EntryFlags(1);
    /// Registered with the unique flag: re-registration from another NBMA is refused.
    pub const UNIQUE: EntryFlags = EntryFlags(2);
    /// Learned by this NHS from a client's registration.
    pub const REGISTERED: EntryFlags = EntryFlags(4);
    /// Used to switch traffic since its last refresh.
    pub const USED: EntryFlags = EntryFlags(8);
    /// Learned from a packet received or forwarded, not from a request of ours.
    pub const IMPLICIT: EntryFlags = EntryFlags(16);
    /// The peer is a router (its networks are behind it).
    pub const ROUTER: EntryFlags = EntryFlags(32);
    /// The peer is behind NAT (claimed NBMA ≠ outer source).
    pub const NAT: EntryFlags = EntryFlags(64);
    /// One of our own addresses or networks.
    pub const LOCAL: EntryFlags = EntryFlags(128);

    /// The empty set.
    pub const fn empty() -> Self {
        EntryFlags(0)
    }
    /// Whether all bits of `other` are set.
    pub fn contains(self, other: EntryFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Set the bits of `other`.
    pub fn insert(&mut self, other: EntryFlags) {
        self.0 |= other.0;
    }
    /// Clear the bits of `other`.
    pub fn remove(&mut self, other: EntryFlags) {
        self.0 &= !other.0;
    }
    /// IOS names of the set flags, in IOS order.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::AUTHORITATIVE, "authoritative"),
            (Self::UNIQUE, "unique"),
            (Self::REGISTERED, "registered"),
            (Self::USED, "used"),
            (Self::IMPLICIT, "implicit"),
            (Self::ROUTER, "router"),
            (Self::NAT, "nat"),
            (Self::LOCAL, "local"),
        ]
        .iter()
        .filter(|(f, _)| self.contains(*f))
        .map(|(_, n)| *n)
        .collect()
    }
}

impl std::ops::BitOr for EntryFlags {
    type Output = EntryFlags;
    fn bitor(self, o: EntryFlags) -> EntryFlags {
        EntryFlags(self.0 | o.0)
    }
}

/// One cache entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CacheEntry {
    pub(crate) prefix: Prefix,
    pub(crate) kind: EntryKind,
    pub(crate) flags: EntryFlags,
    /// NBMA address (post-NAT); `None` for incomplete and negative entries.
    pub(crate) nbma: Option<Ipv4Addr>,
    /// The NBMA address the client claimed (differs from `nbma` behind NAT).
    pub(crate) claimed_nbma: Option<Ipv4Addr>,
    /// Tunnel next hop: the station's protocol address.
    pub(crate) next_hop: Ipv4Addr,
    pub(crate) created: Instant,
    pub(crate) expires: Option<Instant>,
    pub(crate) holding_time: u16,
    pub(crate) mtu: u16,
    /// The destination whose resolution produced the entry (refreshes resolve it again).
    pub(crate) resolved_for: Ipv4Addr,
    /// A refresh resolution is in flight.
    pub(crate) refreshing: bool,
    /// Stations that learned this binding from us (NBMA, protocol): purged when it goes away.
    pub(crate) answered_to: Vec<(Ipv4Addr, Ipv4Addr)>,
}

impl CacheEntry {
    /// Whether the entry gives a usable NBMA binding (LOCAL entries only record what this
    /// station handed out for its own networks).
    pub(crate) fn is_complete(&self) -> bool {
        matches!(self.kind, EntryKind::Static | EntryKind::Dynamic)
            && self.nbma.is_some()
            && !self.flags.contains(EntryFlags::LOCAL)
    }

    /// Whether the entry is a shortcut route (a network, not the next hop's own address).
    pub(crate) fn is_shortcut(&self) -> bool {
        self.prefix != Prefix::host(self.next_hop)
    }
}

/// The cache of one interface.
#[derive(Debug)]
pub(crate) struct Cache {
    entries: BTreeMap<Prefix, CacheEntry>,
    /// Number of entries per prefix length, to skip empty lengths in lookups.
    per_len: [u32; 33],
    /// Complete entries per NBMA peer.
    peer_refs: BTreeMap<Ipv4Addr, u32>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            entries: BTreeMap::new(),
            per_len: [0; 33],
            peer_refs: BTreeMap::new(),
        }
    }
}

impl Cache {
    pub(crate) fn get(&self, p: &Prefix) -> Option<&CacheEntry> {
        self.entries.get(p)
    }

    pub(crate) fn get_mut(&mut self, p: &Prefix) -> Option<&mut CacheEntry> {
        self.entries.get_mut(p)
    }

    /// Longest-prefix match for `a`.
    pub(crate) fn lookup(&self, a: Ipv4Addr) -> Option<&CacheEntry> {
        self.lookup_prefix(a).and_then(|p| self.entries.get(&p))
    }

    /// The prefix of the longest match for `a`.
    pub(crate) fn lookup_prefix(&self, a: Ipv4Addr) -> Option<Prefix> {
        (0..=32u8)
            .rev()
            .filter(|l| self.per_len.get(usize::from(*l)).is_some_and(|c| *c > 0))
            .filter_map(|l| Prefix::new(a, l).ok())
            .find(|p| self.entries.contains_key(p))
    }

    /// Insert or replace; returns the previous entry.
    pub(crate) fn insert(&mut self, e: CacheEntry) -> Option<CacheEntry> {
        let p = e.prefix;
        if let Some(n) = e.is_complete().then_some(e.nbma).flatten() {
            *self.peer_refs.entry(n).or_insert(0) += 1;
        }
        let old = self.entries.insert(p, e);
        match &old {
            Some(o) => self.unref(o),
            None => {
                if let Some(c) = self.per_len.get_mut(usize::from(p.len())) {
                    *c += 1;
                }
            }
        }
        old
    }

    pub(crate) fn remove(&mut self, p: &Prefix) -> Option<CacheEntry> {
        let old = self.entries.remove(p)?;
        if let Some(c) = self.per_len.get_mut(usize::from(p.len())) {
            *c = c.saturating_sub(1);
        }
        self.unref(&old);
        Some(old)
    }

    fn unref(&mut self, o: &CacheEntry) {
        if let Some(n) = o.is_complete().then_some(o.nbma).flatten() {
            if let Some(c) = self.peer_refs.get_mut(&n) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    self.peer_refs.remove(&n);
                }
            }
        }
    }

    /// How many complete entries point at `nbma`.
    pub(crate) fn refs(&self, nbma: Ipv4Addr) -> u32 {
        self.peer_refs.get(&nbma).copied().unwrap_or(0)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &CacheEntry> {
        self.entries.values()
    }

    pub(crate) fn prefixes(&self) -> Vec<Prefix> {
        let mut v: Vec<Prefix> = self.entries.keys().copied().collect();
        v.sort();
        v
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl Cache {
    /// LOCAL records (answers this station gave for its own networks), sorted.
    pub(crate) fn iter_local(&self) -> impl Iterator<Item = &CacheEntry> {
        let mut v: Vec<&CacheEntry> = self
            .entries
            .values()
            .filter(|e| e.flags.contains(EntryFlags::LOCAL))
            .collect();
        v.sort_by_key(|e| e.prefix);
        v.into_iter()
    }

    /// Entries resolved for `target` (host and shortcut entries of one resolution).
    pub(crate) fn iter_mut_resolved_for(
        &mut self,
        target: Ipv4Addr,
    ) -> impl Iterator<Item = &mut CacheEntry> {
        self.entries
            .values_mut()
            .filter(move |e| e.resolved_for == target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(p: Prefix, nbma: Option<Ipv4Addr>, kind: EntryKind) -> CacheEntry {
        CacheEntry {
            prefix: p,
            kind,
            flags: EntryFlags::empty(),
            nbma,
            claimed_nbma: nbma,
            next_hop: p.addr(),
            created: Instant::ZERO,
            expires: None,
            holding_time: 0,
            mtu: 0,
            resolved_for: p.addr(),
            refreshing: false,
            answered_to: Vec::new(),
        }
    }

    #[test]
    fn longest_prefix_wins_and_refs_follow_complete_entries() {
        let mut c = Cache::default();
        let n = Ipv4Addr::new(172, 16, 2, 75);
        c.insert(entry(
            Prefix::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap(),
            Some(n),
            EntryKind::Dynamic,
        ));
        c.insert(entry(
            Prefix::new(Ipv4Addr::new(192, 168, 2, 0), 24).unwrap(),
            Some(n),
            EntryKind::Dynamic,
        ));
        c.insert(entry(
            Prefix::host(Ipv4Addr::new(10, 0, 0, 9)),
            None,
            EntryKind::Incomplete,
        ));
        assert_eq!(
            c.lookup(Ipv4Addr::new(192, 168, 2, 3))
                .map(|e| e.prefix.len()),
            Some(24)
        );
        assert_eq!(
            c.lookup(Ipv4Addr::new(192, 168, 9, 3))
                .map(|e| e.prefix.len()),
            Some(16)
        );
        assert!(c.lookup(Ipv4Addr::new(8, 8, 8, 8)).is_none());
        assert_eq!(c.refs(n), 2);
        c.remove(&Prefix::new(Ipv4Addr::new(192, 168, 2, 0), 24).unwrap());
        assert_eq!(c.refs(n), 1);
        assert_eq!(
            c.lookup(Ipv4Addr::new(192, 168, 2, 3))
                .map(|e| e.prefix.len()),
            Some(16)
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn flag_names_follow_ios_order() {
        let f = EntryFlags::REGISTERED
            | EntryFlags::AUTHORITATIVE
            | EntryFlags::USED
            | EntryFlags::UNIQUE;
        assert_eq!(
            f.names(),
            vec!["authoritative", "unique", "registered", "used"]
        );
    }
}

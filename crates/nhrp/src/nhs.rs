//! The Next Hop Server: the registration cache (RFC 2332 §5.2.3/§5.2.4, seed 002 flags).
//!
//! * Each CIE of a Registration Request becomes a dynamic entry flagged authoritative,
//!   registered, unique (when the U flag is set) and nat (claimed NBMA ≠ outer source), expiring
//!   after the CIE's holding time.
//! * A unique address registered again from another NBMA is refused with code 14 until the
//!   old binding expires or is purged.
//! * `ip nhrp map multicast dynamic`: registered clients join the multicast list.
//! * A registration for an address this station resolved to another NBMA address is
//!   refused, administratively prohibited (code 4): a registration never replaces a
//!   Resolution Reply's binding.
//! * The Cisco NAT extension is echoed, with a CIE for the client's real (outer) address
//!   appended when NAT is detected; the Responder Address extension names this NHS.

use crate::action::{Action, Event};
use crate::cache::{CacheEntry, EntryFlags, EntryKind};
use crate::config::{IfIndex, MulticastMap, Prefix};
use crate::engine::{DEFAULT_HOP_COUNT, Engine};
use crate::packet::{Cie, Message, PacketType, code, flags};
use std::net::Ipv4Addr;
use std::time::Duration;

/// RFC 2332 §5.2.4 / Cisco: whether a registration of `claimed`/`outer` for an address that
/// already has `existing` must be refused with code 14 ("unique address already registered").
pub(crate) fn unique_conflict(existing: &CacheEntry, outer: Ipv4Addr) -> bool {
    existing.kind == EntryKind::Dynamic
        && existing.flags.contains(EntryFlags::UNIQUE)
        && existing.flags.contains(EntryFlags::REGISTERED)
        && existing.nbma != Some(outer)
}

/// Whether `existing` is a complete binding learned from a Resolution Reply (not registered
/// here) to an NBMA address other than `outer`.
pub(crate) fn resolved_elsewhere(existing: &CacheEntry, outer: Ipv4Addr) -> bool {
    existing.kind == EntryKind::Dynamic
        && !existing.flags.contains(EntryFlags::REGISTERED)
        && existing.is_complete()
        && existing.nbma != Some(outer)
}

/// The protocol prefix a registration CIE binds: 0xFF (unique) and anything above 32 mean a
/// host; a CIE without a protocol address registers the packet's source.
pub(crate) fn registered_prefix(m: &Message, c: &Cie) -> Prefix {
    let proto = c.client_proto.unwrap_or(m.src_proto);
    Prefix::from_cie(proto, c.prefix_len)
}

impl Engine {
    pub(crate) fn on_registration_request(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let Some(claimed) = m.src_nbma else {
            return self.protocol_error(i, from, &m);
        };
        let now = self.now;
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let nat = claimed != from;
        let unique = m.flags & flags::REG_U != 0;
        let holdtime = ifc.cfg.holdtime_secs();
        let (own_nbma, own_proto, mtu) = (ifc.cfg.nbma_addr, ifc.cfg.protocol_addr, ifc.cfg.mtu);
        let dynamic_mc = ifc.cfg.multicast.contains(&MulticastMap::Dynamic);
        let request_cies = if m.cies.is_empty() {
            vec![Cie::default()]
        } else {
            m.cies.clone()
        };
        let mut reply_cies = Vec::new();
        let mut installs = Vec::new();
        let mut refused = Vec::new();
        for c in &request_cies {
            let prefix = registered_prefix(&m, c);
            let nbma = match c.client_nbma {
                Some(n) if !nat => n,
                _ => from,
            };
            let existing = ifc.cache.get(&prefix);
            let allowed = self.may_claim(i, from, &prefix);
            if !allowed {
                refused.push((prefix.addr(), nbma));
            }
            let result = match existing {
                // Identity-bound NHRP: the peer's IKE identity may not claim this address.
                _ if !allowed => code::PROHIBITED,
                _ if ifc.local_prefix(prefix.addr()).is_some() => code::PROHIBITED,
                Some(e) if e.kind == EntryKind::Static && e.nbma != Some(nbma) => code::PROHIBITED,
                Some(e) if unique_conflict(e, nbma) => code::ALREADY_REGISTERED,
                // A binding this station resolved (a Resolution Reply's answer) is never
                // replaced by a registration from another NBMA address: a stranger could
                // otherwise redirect the replies and traffic meant for that address.
                Some(e) if resolved_elsewhere(e, nbma) => code::PROHIBITED,
                _ => code::SUCCESS,
            };
            let mut rc = c.clone();
            rc.code = result;
            reply_cies.push(rc);
            if result != code::SUCCESS {
                self.actions.push_back(Action::Event(Event::ClientRefused {
                    iface: i,
                    proto: prefix.addr(),
                    nbma,
                    code: result,
                }));
                continue;
            }
            if existing.is_some_and(|e| e.kind == EntryKind::Static) {
                // Agrees with a static mapping: acknowledged, the static entry stays.
                continue;
            }
            let holding = if c.holding_time == 0 {
                holdtime
            } else {
                c.holding_time
            };
            let mut fl = EntryFlags::AUTHORITATIVE | EntryFlags::REGISTERED;
            if unique {
                fl.insert(EntryFlags::UNIQUE);
            }
            if nat {
                fl.insert(EntryFlags::NAT);
            }
            let (created, answered_to) = match existing {
                Some(e) if e.nbma == Some(nbma) => (e.created, e.answered_to.clone()),
                _ => (now, Vec::new()),
            };
            let was_member = existing
                .is_some_and(|e| e.flags.contains(EntryFlags::REGISTERED) && e.nbma == Some(nbma));
            installs.push((
                CacheEntry {
                    prefix,
                    kind: EntryKind::Dynamic,
                    flags: fl,
                    nbma: Some(nbma),
                    claimed_nbma: Some(c.client_nbma.unwrap_or(claimed)),
                    next_hop: prefix.addr(),
                    created,
                    expires: Some(now + Duration::from_secs(u64::from(holding))),
                    holding_time: holding,
                    mtu: c.mtu,
                    resolved_for: prefix.addr(),
                    refreshing: false,
                    answered_to,
                },
                was_member,
            ));
        }
        for (proto, nbma) in refused {
            self.identity_refusal(i, proto, nbma, true);
        }
        for (e, was_member) in installs {
            let (proto, nbma) = (e.prefix.addr(), e.nbma.unwrap_or(from));
            let old = self
                .ifaces
                .get(&i)
                .and_then(|f| f.cache.get(&e.prefix))
                .cloned();
            if let Some(o) = old.filter(|o| o.nbma != Some(nbma)) {
                // A non-unique re-registration from a new NBMA: stations that learned the old
                // binding from us must forget it.
                self.purge_learners(i, &o);
            }
            self.install(i, e);
            if dynamic_mc && !was_member {
                self.multicast_join(i, nbma);
            }
            self.event(Event::ClientRegistered {
                iface: i,
                proto,
                nbma,
                nat,
            });
        }
        // Reply: the request's header and CIEs (with codes), NAT extension echoed and filled,
        // Responder Address naming us.
        let mut r = Message::new(
            PacketType::RegistrationReply,
            DEFAULT_HOP_COUNT,
            claimed,
            m.src_proto,
            m.dst_proto,
        );
        r.flags = m.flags & (flags::REG_U | flags::NAT);
        r.request_id = m.request_id;
        r.cies = reply_cies;
        r.ext.responder = Some(vec![Cie {
            prefix_len: 32,
            mtu,
            holding_time: holdtime,
            client_nbma: Some(own_nbma),
            client_proto: Some(own_proto),
            ..Cie::default()
        }]);
        r.ext.forward_transit = m.ext.forward_transit.clone();
        r.ext.reverse_transit = m.ext.reverse_transit.clone();
        if m.ext.nat.is_some() || nat {
            let mut list = m.ext.nat.clone().unwrap_or_default();
            if nat {
                if list.is_empty() {
                    list.push(Cie {
                        prefix_len: 32,
                        client_nbma: Some(own_nbma),
                        client_proto: Some(own_proto),
                        ..Cie::default()
                    });
                }
                list.push(Cie {
                    prefix_len: 32,
                    mtu,
                    client_nbma: Some(from),
                    client_proto: Some(m.src_proto),
                    ..Cie::default()
                });
            }
            r.ext.nat = Some(list);
        }
        self.stamp_auth(i, &mut r);
        self.send_msg(i, from, &r);
    }

    pub(crate) fn multicast_join(&mut self, i: IfIndex, nbma: Ipv4Addr) {
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        if !ifc.cfg.multicast.contains(&MulticastMap::Dynamic) {
            return;
        }
        let c = ifc.multicast_dynamic.entry(nbma).or_insert(0);
        *c += 1;
        if *c == 1 {
            self.push(Action::MulticastAdd { iface: i, nbma });
        }
    }

    pub(crate) fn multicast_leave(&mut self, i: IfIndex, nbma: Ipv4Addr) {
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        let Some(c) = ifc.multicast_dynamic.get_mut(&nbma) else {
            return;
        };
        *c = c.saturating_sub(1);
        if *c == 0 {
            ifc.multicast_dynamic.remove(&nbma);
            self.push(Action::MulticastRemove { iface: i, nbma });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn reg(nbma: Ipv4Addr, flags: EntryFlags) -> CacheEntry {
        let p = Prefix::host(Ipv4Addr::new(10, 0, 0, 2));
        CacheEntry {
            prefix: p,
            kind: EntryKind::Dynamic,
            flags,
            nbma: Some(nbma),
            claimed_nbma: Some(nbma),
            next_hop: p.addr(),
            created: Instant::ZERO,
            expires: Some(Instant::from_secs(300)),
            holding_time: 300,
            mtu: 0,
            resolved_for: p.addr(),
            refreshing: false,
            answered_to: Vec::new(),
        }
    }

    /// RFC 2332 §5.2.4 (code 14): a unique registered address from another NBMA conflicts; the
    /// same NBMA, or a binding registered without the unique flag, does not.
    #[test]
    fn rfc2332_5_2_4_unique_conflict() {
        let a = Ipv4Addr::new(172, 16, 2, 1);
        let b = Ipv4Addr::new(172, 16, 9, 1);
        let unique = reg(a, EntryFlags::REGISTERED | EntryFlags::UNIQUE);
        assert!(unique_conflict(&unique, b));
        assert!(!unique_conflict(&unique, a));
        assert!(!unique_conflict(&reg(a, EntryFlags::REGISTERED), b));
    }

    /// RFC 2332 §5.2.3: a CIE without a protocol address registers the packet's source; 0xFF
    /// (Cisco unique) is a host.
    #[test]
    fn rfc2332_5_2_3_registered_prefix() {
        let a = Ipv4Addr::new(10, 0, 0, 2);
        let m = Message::new(PacketType::RegistrationRequest, 1, a, a, a);
        let c = Cie {
            prefix_len: 0xff,
            ..Cie::default()
        };
        assert_eq!(registered_prefix(&m, &c), Prefix::host(a));
        let c = Cie {
            prefix_len: 24,
            client_proto: Some(Ipv4Addr::new(10, 9, 9, 9)),
            ..Cie::default()
        };
        assert_eq!(
            registered_prefix(&m, &c),
            Prefix::new(Ipv4Addr::new(10, 9, 9, 0), 24).unwrap()
        );
    }
}

//! The send path: encoding, the `ip nhrp max-send` quota, sent counters, and the protection
//! gate (NHRP traffic to a peer on an interface with `protection_required` waits until
//! [`crate::Engine::handle_protection`] reports the peer's protection up). The budgets are
//! in the `budget` module: replies to established peers have their own, and unsolicited
//! input is rate-limited here before the engine acts on it.

use crate::action::{Action, Event};
use crate::cache::EntryFlags;
use crate::config::IfIndex;
use crate::engine::Iface;
use crate::engine::{Engine, GATE_QUEUE_LIMIT};
use crate::packet::{Message, PacketType};
use crate::time::Instant;
use std::net::Ipv4Addr;

impl Engine {
    /// Encode and send `msg` to `to` out of `i`, subject to max-send and the protection gate.
    /// Returns whether the packet left (or was queued behind the gate).
    pub(crate) fn send_msg(&mut self, i: IfIndex, to: Ipv4Addr, msg: &Message) -> bool {
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return false;
        };
        let Ok(bytes) = crate::codec::encode(msg) else {
            return false;
        };
        if let Some(m) = ifc.cfg.max_send {
            let established = is_reply_to_established(ifc, now, to, msg);
            if established && ifc.budgets.established.admit(now, m.packets, m.every) {
                ifc.stats.max_send_established_sent += 1;
            } else if ifc.budgets.shared.admit(now, m.packets, m.every) {
                ifc.stats.max_send_used = ifc.budgets.shared.used(now, m.packets, m.every);
            } else {
                ifc.stats.max_send_dropped += 1;
                if established {
                    ifc.stats.max_send_established_dropped += 1;
                }
                let packet = msg.ptype;
                self.event(Event::MaxSendExceeded { iface: i, packet });
                return false;
            }
        }
        ifc.stats.sent.count(msg);
        if ifc.cfg.protection_required && !self.protected.contains(&to) {
            let q = ifc.gate_queue.entry(to).or_default();
            if q.len() >= GATE_QUEUE_LIMIT {
                q.pop_front();
            }
            q.push_back(bytes);
            self.ensure_protection(i, to);
            return true;
        }
        self.push(Action::Send {
            iface: i,
            to_nbma: to,
            bytes,
        });
        true
    }

    /// Whether an unsolicited packet (Resolution Request, Traffic Indication) from `from` is
    /// within its budget: Traffic Indications are limited per interface, and both types from
    /// an NBMA address the interface does not know (no cache entry, not an NHS) share a
    /// tighter limit. Everything else is admitted.
    pub(crate) fn admit_unsolicited(
        &mut self,
        i: IfIndex,
        from: Ipv4Addr,
        ptype: PacketType,
    ) -> bool {
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return true;
        };
        let ti = ptype == PacketType::TrafficIndication;
        if !ti && ptype != PacketType::ResolutionRequest {
            return true;
        }
        if ti && !ifc.budgets.admit_traffic_indication(now) {
            return false;
        }
        let known = ifc.cache.refs(from) > 0 || ifc.is_nhs_nbma(from);
        known || ifc.budgets.admit_unknown(now)
    }

    /// Emit ProtectionNeeded for `nbma` once, on interfaces that require protection.
    pub(crate) fn ensure_protection(&mut self, i: IfIndex, nbma: Ipv4Addr) {
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        if ifc.cfg.protection_required && ifc.protection_requested.insert(nbma) {
            self.push(Action::ProtectionNeeded { iface: i, nbma });
        }
    }

    /// Emit ProtectionNotNeeded when nothing references `nbma` any more.
    pub(crate) fn release_protection(&mut self, i: IfIndex, nbma: Ipv4Addr) {
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        if ifc.cache.refs(nbma) > 0 || ifc.is_nhs_nbma(nbma) {
            return;
        }
        ifc.gate_queue.remove(&nbma);
        if ifc.protection_requested.remove(&nbma) {
            self.push(Action::ProtectionNotNeeded { iface: i, nbma });
            // Protection we declared unneeded is expected to go; the next need asks again.
            if !self
                .ifaces
                .values()
                .any(|f| f.protection_requested.contains(&nbma))
            {
                self.protected.remove(&nbma);
            }
        }
    }

    /// Release packets held for `nbma` on every interface.
    pub(crate) fn flush_gate(&mut self, nbma: Ipv4Addr) {
        let mut out = Vec::new();
        for (i, ifc) in self.ifaces.iter_mut() {
            if let Some(q) = ifc.gate_queue.remove(&nbma) {
                out.extend(q.into_iter().map(|bytes| Action::Send {
                    iface: *i,
                    to_nbma: nbma,
                    bytes,
                }));
            }
        }
        self.actions.extend(out);
    }
}

/// Whether `msg` to `to` is a Registration or Resolution Reply to an NBMA address holding a
/// registration at least [`crate::ESTABLISHED_MIN_AGE`] old for the packet's source protocol
/// address (the requester): those are charged to the established peers' budget.
fn is_reply_to_established(ifc: &Iface, now: Instant, to: Ipv4Addr, msg: &Message) -> bool {
    if !matches!(
        msg.ptype,
        PacketType::RegistrationReply | PacketType::ResolutionReply
    ) {
        return false;
    }
    ifc.cache.lookup(msg.src_proto).is_some_and(|e| {
        e.flags.contains(EntryFlags::REGISTERED)
            && e.nbma == Some(to)
            && now.saturating_duration_since(e.created) >= crate::budget::ESTABLISHED_MIN_AGE
    })
}

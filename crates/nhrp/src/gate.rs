//! The send path: encoding, the `ip nhrp max-send` quota, sent counters, and the protection
//! gate (NHRP traffic to a peer on an interface with `protection_required` waits until
//! [`crate::Engine::handle_protection`] reports the peer's protection up).

use crate::action::{Action, Event};
use crate::config::IfIndex;
use crate::engine::{Engine, GATE_QUEUE_LIMIT};
use crate::packet::Message;
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
            if now.saturating_duration_since(ifc.max_send_window_start) >= m.every
                || ifc.max_send_window_start > now
            {
                ifc.max_send_window_start = now;
                ifc.stats.max_send_used = 0;
            }
            if ifc.stats.max_send_used >= m.packets {
                ifc.stats.max_send_dropped += 1;
                let packet = msg.ptype;
                self.event(Event::MaxSendExceeded { iface: i, packet });
                return false;
            }
            ifc.stats.max_send_used += 1;
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

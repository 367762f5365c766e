//! INFORMATIONAL (RFC 7296 §1.4): Delete payloads for Child SAs and the IKE SA, empty
//! liveness checks (DPD, §2.4; on demand or periodic), error notices; NAT keepalives
//! (RFC 3948 §2.3); and what an unknown inbound SPI from the data plane starts.

use crate::engine::IkeEngine;
use crate::msg::{Message, Payload, exchange, notify};
use crate::output::{DownReason, IkeEvent, Output};
use crate::proposal::{PROTO_ESP, PROTO_IKE};
use crate::sa::{Pending, SaId};
use crate::timer::TimerKey;
use std::net::Ipv4Addr;

impl IkeEngine {
    pub(crate) fn send_delete_child(&mut self, id: SaId, spi: u32) -> bool {
        let p = vec![Payload::Delete {
            protocol: PROTO_ESP,
            spis: vec![spi.to_be_bytes().to_vec()],
        }];
        let what = Pending::Delete {
            ike: false,
            children: vec![spi],
        };
        self.send_request(id, exchange::INFORMATIONAL, p, what)
    }

    pub(crate) fn send_delete_ike(&mut self, id: SaId) -> bool {
        let p = vec![Payload::Delete {
            protocol: PROTO_IKE,
            spis: Vec::new(),
        }];
        let what = Pending::Delete {
            ike: true,
            children: Vec::new(),
        };
        self.send_request(id, exchange::INFORMATIONAL, p, what)
    }

    pub(crate) fn send_dpd(&mut self, id: SaId) -> bool {
        if !self.sas.get(&id).is_some_and(|s| s.is_established()) {
            return false;
        }
        self.send_request(id, exchange::INFORMATIONAL, Vec::new(), Pending::Dpd)
    }

    /// An INFORMATIONAL request.
    pub(crate) fn on_informational_request(&mut self, id: SaId, msg: &Message) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        let mut delete_ike = false;
        let mut ours = Vec::new();
        let pending: Vec<u32> = self
            .sas
            .get(&id)
            .and_then(|s| s.outstanding.as_ref())
            .map(|o| match &o.what {
                Pending::Delete { children, .. } => children.clone(),
                _ => Vec::new(),
            })
            .unwrap_or_default();
        for (proto, spis) in msg.deletes() {
            match proto {
                PROTO_IKE => delete_ike = true,
                PROTO_ESP => {
                    for s in spis {
                        let Ok(b) = <[u8; 4]>::try_from(s.as_slice()) else {
                            continue;
                        };
                        if let Some(spi_in) = self.child_by_out(id, u32::from_be_bytes(b)) {
                            // A Delete we sent ourselves crossed this one: it already names
                            // our side (§1.4.1).
                            if !pending.contains(&spi_in) {
                                ours.push(spi_in);
                            }
                            self.remove_child(spi_in);
                        }
                    }
                }
                _ => {}
            }
        }
        if delete_ike {
            self.send_response(id, msg, Vec::new());
            if let Some(old) = self.lost_collision(id) {
                // The peer deletes the SA its rekey made because ours won (§2.8.1), but
                // our response is late (reordered, or lost and retransmitted). The Child
                // SAs we moved onto it go back to the old SA, and move on to ours when
                // that response comes; deleting them took protection down (found by
                // the simulation tests).
                self.move_children(id, old);
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.superseded = true;
                }
            }
            self.remove_sa(id, DownReason::PeerDeleted);
            return;
        }
        let mut p = Vec::new();
        if !ours.is_empty() {
            p.push(Payload::Delete {
                protocol: PROTO_ESP,
                spis: ours.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
            });
        }
        self.send_response(id, msg, p);
        if msg.has_notify(notify::AUTHENTICATION_FAILED) {
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: true,
            });
            self.remove_sa(id, DownReason::AuthFailed);
        }
    }

    /// When `id` is the new IKE SA of the peer's rekey of an SA we are rekeying too (our
    /// request still out): that old SA.
    fn lost_collision(&self, id: SaId) -> Option<SaId> {
        let old = self.sas.get(&id)?.rekeyed_from?;
        let o = self.sas.get(&old)?;
        let ours_out = o
            .outstanding
            .as_ref()
            .is_some_and(|r| matches!(r.what, Pending::RekeyIke { .. }));
        (ours_out && o.peer_rekey.is_some_and(|p| p.new_sa == id)).then_some(old)
    }

    /// The answer to our INFORMATIONAL with Delete payloads.
    pub(crate) fn on_delete_response(&mut self, id: SaId, ike: bool, children: Vec<u32>) {
        if ike {
            self.remove_sa(id, DownReason::Local);
            return;
        }
        for s in children {
            self.remove_child(s);
        }
    }

    /// Periodic DPD: probe when nothing came from the peer for the interval.
    pub(crate) fn on_dpd_timer(&mut self, id: SaId) {
        let Some(d) = self.cfg.dpd else {
            return;
        };
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if !sa.is_established() || sa.superseded {
            return;
        }
        let idle = self.now.saturating_sub(sa.last_rx);
        if idle >= d.interval {
            self.request(id, crate::sa::Request::Dpd);
            self.timers
                .set(TimerKey::Dpd(id), self.now.saturating_add(d.interval));
        } else {
            let at = sa.last_rx.saturating_add(d.interval);
            self.timers.set(TimerKey::Dpd(id), at);
        }
    }

    /// On-demand DPD: the data plane saw traffic out without anything back.
    pub(crate) fn on_dpd_check(&mut self, peer: Ipv4Addr) {
        let Some(d) = self.cfg.dpd else {
            return;
        };
        let Some(id) = self.live_sa(peer) else {
            return;
        };
        let idle = self
            .sas
            .get(&id)
            .filter(|s| s.is_established())
            .map(|s| self.now.saturating_sub(s.last_rx));
        if idle.is_some_and(|i| i >= d.interval) {
            self.request(id, crate::sa::Request::Dpd);
        }
    }

    /// NAT keepalive: one 0xFF byte to the peer's 4500 (sent raw by the caller).
    pub(crate) fn on_keepalive(&mut self, id: SaId) {
        let Some(k) = self.cfg.nat_keepalive else {
            return;
        };
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if !sa.nat_local || !sa.is_established() {
            return;
        }
        let (local, remote) = (sa.local, sa.remote);
        self.push(Output::Send {
            local,
            remote,
            bytes: vec![0xFF],
        });
        self.timers
            .set(TimerKey::Keepalive(id), self.now.saturating_add(k));
    }

    /// ESP with an SPI we do not know came from `peer`: without an IKE SA to it, start
    /// one (INITIAL_CONTACT tells the peer to drop its stale SAs); with one, probe it.
    pub(crate) fn on_invalid_spi(&mut self, local: Ipv4Addr, peer: Ipv4Addr) {
        match self.live_sa(peer) {
            None => self.initiate(local, peer, true),
            Some(id) => {
                if self.sas.get(&id).is_some_and(|s| s.is_established()) {
                    self.request(id, crate::sa::Request::Dpd);
                }
            }
        }
    }
}

//! CREATE_CHILD_SA (RFC 7296 §1.3): rekeying a Child SA (REKEY_SA, make-before-break: the
//! new SA is installed before the old one's Delete), rekeying the IKE SA (new SPIs, keys
//! from the old SK_d §2.18, Child SAs moved to the new SA), additional Child SAs a peer asks
//! for, and simultaneous rekeys (§2.8.1: of the two new SAs the one with the lowest nonce is
//! deleted by the node that created it; the winner's initiator deletes the old SA).

use crate::child::NewChild;
use crate::crypto::{Dh, SaKeys, Schedule};
use crate::engine::IkeEngine;
use crate::exchange::init::nonce_ok;
use crate::msg::{Message, Payload, exchange, notify};
use crate::output::IkeEvent;
use crate::proposal::{self, PROTO_ESP, PROTO_IKE, PfsPolicy};
use crate::sa::{IkeSa, PeerRekey, Pending, Phase, Request, SaId};
use crate::timer::TimerKey;
use dmvpn_crypto::DhGroup;
use std::time::Duration;

fn err(ntype: u16, data: Vec<u8>) -> Vec<Payload> {
    vec![Payload::Notify {
        protocol: 0,
        spi: Vec::new(),
        ntype,
        data,
    }]
}

/// The "old SPI" of a CREATE_CHILD_SA that makes a new Child SA rather than a rekey.
pub(crate) const NEW_CHILD: u32 = 0;

impl IkeEngine {
    // ------------------------------------------------------------ Child SA rekey

    /// Send a CREATE_CHILD_SA rekeying Child SA `old_spi`, or creating a new Child SA when
    /// `old_spi` is 0 (no inbound SPI is below 256). Returns whether it left.
    pub(crate) fn send_rekey_child(&mut self, id: SaId, old_spi: u32) -> bool {
        let usable = old_spi == NEW_CHILD
            || self.children.get(&old_spi).is_some_and(|c| {
                c.sa == id && !c.superseded && c.peer_rekey.is_none() && !c.rekeying
            });
        if !usable
            || !self
                .sas
                .get(&id)
                .is_some_and(|s| s.is_established() && !s.superseded)
        {
            return false;
        }
        let new_spi = self.new_esp_spi();
        let nonce = self.new_nonce();
        let dh = match self.cfg.pfs {
            Some(g) => match Dh::new(g, self.rng.as_mut()) {
                Ok(d) => Some(d),
                Err(_) => return false,
            },
            None => None,
        };
        let mut p = Vec::new();
        if old_spi != NEW_CHILD {
            p.push(Payload::Notify {
                protocol: PROTO_ESP,
                spi: old_spi.to_be_bytes().to_vec(),
                ntype: notify::REKEY_SA,
                data: Vec::new(),
            });
        }
        p.push(Payload::Sa(proposal::esp_offer(
            &self.cfg.child_transforms,
            self.cfg.esn,
            self.cfg.pfs,
            new_spi,
        )));
        p.push(Payload::Nonce(nonce.clone()));
        if let Some(d) = &dh {
            p.push(Payload::Ke {
                group: d.group().number(),
                data: d.public(),
            });
        }
        p.extend(self.child_request_payloads(id));
        if let Some(c) = self.children.get_mut(&old_spi) {
            c.rekeying = true;
        }
        let what = Pending::RekeyChild {
            old_spi,
            new_spi,
            nonce,
            dh,
        };
        self.send_request(id, exchange::CREATE_CHILD_SA, p, what)
    }

    /// Our Child SA rekey was answered.
    pub(crate) fn on_rekey_child_response(
        &mut self,
        id: SaId,
        msg: &Message,
        old_spi: u32,
        new_spi: u32,
        ni: Vec<u8>,
        dh: Option<Dh>,
    ) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        if let Some(c) = self.children.get_mut(&old_spi) {
            c.rekeying = false;
        }
        if let Some(e) = msg.error_notify() {
            match e {
                notify::CHILD_SA_NOT_FOUND => {
                    // The peer no longer has it: neither should we.
                    if self
                        .children
                        .get(&old_spi)
                        .is_some_and(|c| c.peer_rekey.is_none())
                    {
                        self.remove_child(old_spi);
                    }
                }
                notify::TEMPORARY_FAILURE => self.retry_child_rekey(old_spi),
                _ => self.event(IkeEvent::PeerError { peer, notify: e }),
            }
            return;
        }
        let pfs = dh.as_ref().map(Dh::group);
        let checked = self.child_initiator_check(msg, pfs);
        let nr = msg.nonce().filter(|n| nonce_ok(n)).map(<[u8]>::to_vec);
        let (Some((suite, spi_out, mode)), Some(nr)) = (checked, nr) else {
            self.event(IkeEvent::NoProposalChosen {
                peer,
                by_peer: false,
            });
            return;
        };
        let g_ir = match dh {
            Some(d) => match msg.ke() {
                Some((g, data)) if g == d.group().number() => d.agree(data).ok(),
                _ => None,
            },
            None => None,
        };
        if pfs.is_some() && g_ir.is_none() {
            return;
        }
        let Some(keys) = self.child_keys_for(id, g_ir.as_ref(), &ni, &nr, &suite) else {
            return;
        };
        let Some(proof) = self.sas.get_mut(&id).and_then(|s| s.proof.take()) else {
            return;
        };
        let c = NewChild {
            sa: id,
            spi_in: new_spi,
            spi_out,
            suite,
            mode,
            keys,
            initiated: true,
            ni,
            nr,
            rekey: old_spi != NEW_CHILD,
        };
        self.install_child(c, &proof);
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.proof = Some(proof);
        }
        self.finish_child_rekey(id, old_spi, new_spi);
    }

    /// After our rekey of `old_spi` produced `new_spi`: delete the old SA, or resolve a
    /// collision with the peer's rekey of the same SA.
    fn finish_child_rekey(&mut self, id: SaId, old_spi: u32, new_spi: u32) {
        let theirs = self.children.get(&old_spi).and_then(|c| c.peer_rekey);
        let Some(old) = self.children.get_mut(&old_spi) else {
            // The old SA went while our request was out: in a collision whose response to
            // us came late (reordered, or lost and retransmitted), the peer's rekey won on
            // its side and it already deleted the old SA. The peer leaves the redundant SA
            // to us (its creator), so settle it here as below; without this both new SAs
            // stayed, each rekeyed on its own from then on (found by the simulation tests).
            let theirs = self
                .children
                .values()
                .find(|c| c.sa == id && c.replaces == Some(old_spi) && c.spi_in != new_spi)
                .map(|c| c.spi_in);
            let mine_loses = theirs
                .and_then(|t| self.children.get(&t))
                .zip(self.children.get(&new_spi))
                .is_some_and(|(o, m)| m.min_nonce() < o.min_nonce());
            if mine_loses {
                if let Some(m) = self.children.get_mut(&new_spi) {
                    m.superseded = true;
                }
                self.timers.cancel(TimerKey::ChildRekey(new_spi));
                self.request(id, Request::DeleteChild(new_spi));
            }
            return;
        };
        old.superseded = true;
        self.timers.cancel(TimerKey::ChildRekey(old_spi));
        let other = theirs.and_then(|t| self.children.get(&t));
        match (other, self.children.get(&new_spi)) {
            (Some(o), Some(m)) if m.min_nonce() < o.min_nonce() => {
                // Ours is redundant: we delete it; the peer deletes the old one.
                if let Some(m) = self.children.get_mut(&new_spi) {
                    m.superseded = true;
                }
                self.timers.cancel(TimerKey::ChildRekey(new_spi));
                self.request(id, Request::DeleteChild(new_spi));
            }
            _ => self.request(id, Request::DeleteChild(old_spi)),
        }
    }

    fn retry_child_rekey(&mut self, spi: u32) {
        if self
            .children
            .get(&spi)
            .is_some_and(|c| !c.superseded && c.peer_rekey.is_none())
        {
            let d = self.jitter(Duration::from_secs(10), 200, 1000);
            self.timers
                .set(TimerKey::ChildRekey(spi), self.now.saturating_add(d));
        }
    }

    // ------------------------------------------------------------ IKE SA rekey

    /// Send a CREATE_CHILD_SA rekeying IKE SA `id`. Returns whether it left.
    pub(crate) fn send_rekey_ike(&mut self, id: SaId) -> bool {
        let Some(sa) = self.sas.get(&id) else {
            return false;
        };
        if !sa.is_established() || sa.superseded || sa.peer_rekey.is_some() {
            return false;
        }
        let configured = |g: &DhGroup| self.cfg.proposals.iter().any(|p| p.dh_groups.contains(g));
        let group = sa
            .rekey_group
            .or(sa.suite.map(|s| s.dh))
            .filter(configured)
            .or_else(|| {
                self.cfg
                    .proposals
                    .first()
                    .and_then(|p| p.dh_groups.first().copied())
            });
        let Some(group) = group else {
            return false;
        };
        let Ok(dh) = Dh::new(group, self.rng.as_mut()) else {
            return false;
        };
        let new_spi = self.new_ike_spi();
        let nonce = self.new_nonce();
        let p = vec![
            Payload::Sa(proposal::ike_offer(
                &self.cfg.proposals,
                &new_spi.to_be_bytes(),
            )),
            Payload::Nonce(nonce.clone()),
            Payload::Ke {
                group: group.number(),
                data: dh.public(),
            },
        ];
        let what = Pending::RekeyIke { new_spi, nonce, dh };
        self.send_request(id, exchange::CREATE_CHILD_SA, p, what)
    }

    /// Our IKE SA rekey was answered.
    pub(crate) fn on_rekey_ike_response(
        &mut self,
        id: SaId,
        msg: &Message,
        new_spi: u64,
        ni: Vec<u8>,
        dh: Dh,
    ) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        if let Some(e) = msg.error_notify() {
            if e == notify::INVALID_KE_PAYLOAD {
                let g = msg
                    .find_notify(notify::INVALID_KE_PAYLOAD)
                    .and_then(|d| <[u8; 2]>::try_from(d).ok())
                    .map(u16::from_be_bytes)
                    .and_then(DhGroup::from_number);
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.rekey_group = g;
                }
            } else if e != notify::TEMPORARY_FAILURE {
                self.event(IkeEvent::PeerError { peer, notify: e });
            }
            let d = self.jitter(Duration::from_secs(10), 200, 1000);
            if self.sas.get(&id).is_some_and(|s| s.peer_rekey.is_none()) {
                self.timers
                    .set(TimerKey::IkeRekey(id), self.now.saturating_add(d));
            }
            return;
        }
        let chosen = msg.sa();
        let suite = chosen.and_then(|p| proposal::ike_accept(p, &self.cfg.proposals));
        let peer_spi = chosen
            .and_then(|p| p.first())
            .and_then(|p| <[u8; 8]>::try_from(p.spi.as_slice()).ok())
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0);
        let nr = msg.nonce().filter(|n| nonce_ok(n)).map(<[u8]>::to_vec);
        let (Some(suite), Some(peer_spi), Some(nr), Some((g, ke))) =
            (suite, peer_spi, nr, msg.ke())
        else {
            self.event(IkeEvent::NoProposalChosen {
                peer,
                by_peer: false,
            });
            return;
        };
        if g != dh.group().number() || suite.dh != dh.group() {
            return;
        }
        let Ok(g_ir) = dh.agree(ke) else {
            return;
        };
        let sched = Schedule {
            suite,
            initiator: true,
            ni: &ni,
            nr: &nr,
            g_ir: &g_ir,
            spi_i: new_spi,
            spi_r: peer_spi,
        };
        let Some(new) = self.rekeyed_sa(id, &sched) else {
            return;
        };
        self.event(IkeEvent::IkeRekeyed {
            peer,
            old_spi: self.sas.get(&id).map(IkeSa::our_spi).unwrap_or(0),
            new_spi,
        });
        let theirs = self
            .sas
            .get(&id)
            .and_then(|s| s.peer_rekey)
            .map(|p| p.new_sa);
        let mine_loses = theirs
            .and_then(|t| self.sas.get(&t))
            .zip(self.sas.get(&new))
            .is_some_and(|(o, m)| m.min_nonce() < o.min_nonce());
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.superseded = true;
        }
        if mine_loses {
            // The peer's new SA wins and already has the Child SAs; it deletes the old SA.
            if let Some(sa) = self.sas.get_mut(&new) {
                sa.superseded = true;
            }
            self.begin_delete(new);
        } else {
            if let Some(t) = theirs {
                self.move_children(t, new);
                if let Some(sa) = self.sas.get_mut(&t) {
                    sa.superseded = true;
                }
                // Its initiator deletes it — unless it forgot its rekey, because our
                // Delete of the old SA reached it before its response (§2.25.2): then
                // it lingered here for its whole lifetime, a second SA with the peer
                // (found by the simulation tests). Past the peer's retransmissions it
                // goes quietly.
                let at = self.now.saturating_add(self.give_up_after());
                self.timers.set(TimerKey::IkeExpire(t), at);
            }
            self.move_children(id, new);
            self.begin_delete(id);
        }
    }

    /// Build, register and establish the SA that rekeys `old` with schedule `s`.
    fn rekeyed_sa(&mut self, old: SaId, s: &Schedule<'_>) -> Option<SaId> {
        let id = SaId(self.next_seq());
        let o = self.sas.get(&old)?;
        let k = o.keys.as_ref()?;
        let keys = SaKeys::derive_rekey(k.prf, &k.sk_d, s).ok()?;
        let mut sa = IkeSa::new(id, *o.local.ip(), o.remote, s.initiator, self.now);
        sa.local = o.local;
        sa.spi_i = s.spi_i;
        sa.spi_r = s.spi_r;
        sa.ni = s.ni.to_vec();
        sa.nr = s.nr.to_vec();
        sa.suite = Some(s.suite);
        sa.keys = Some(keys);
        sa.nat_local = o.nat_local;
        sa.nat_remote = o.nat_remote;
        sa.fragmentation = o.fragmentation;
        sa.peer_id = o.peer_id;
        sa.proof = o.proof.as_ref().map(crate::auth::Authenticated::inherit);
        sa.rekeyed_from = Some(old);
        sa.phase = Phase::Established;
        sa.established = Some(self.now);
        sa.est_seq = self.seq + 1;
        self.seq += 1;
        self.insert_sa(sa);
        self.arm_sa_timers(id);
        for k in [
            TimerKey::IkeRekey(old),
            TimerKey::Dpd(old),
            TimerKey::Keepalive(old),
        ] {
            self.timers.cancel(k);
        }
        Some(id)
    }

    /// Move Child SAs and their waiting requests from SA `from` to SA `to`.
    pub(crate) fn move_children(&mut self, from: SaId, to: SaId) {
        for c in self.children.values_mut().filter(|c| c.sa == from) {
            c.sa = to;
        }
        let moved: Vec<Request> = self
            .sas
            .get_mut(&from)
            .map(|s| {
                let (keep, moved): (Vec<Request>, Vec<Request>) = s
                    .queue
                    .drain(..)
                    .partition(|r| matches!(r, Request::DeleteIke));
                s.queue.extend(keep);
                moved
            })
            .unwrap_or_default();
        for r in moved {
            if !matches!(r, Request::RekeyIke | Request::Dpd) {
                self.request(to, r);
            }
        }
    }

    // ------------------------------------------------------------ responder

    /// A CREATE_CHILD_SA request.
    pub(crate) fn on_create_child_request(&mut self, id: SaId, msg: &Message) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        if !sa.is_established() || sa.superseded || sa.peer_rekey.is_some() {
            return self.send_response(id, msg, err(notify::TEMPORARY_FAILURE, Vec::new()));
        }
        if let Some((_, spi)) = msg.find_notify_spi(notify::REKEY_SA) {
            let spi = <[u8; 4]>::try_from(spi).ok().map(u32::from_be_bytes);
            return self.on_rekey_child_request(id, msg, spi);
        }
        let ike = msg
            .sa()
            .is_some_and(|p| p.iter().any(|p| p.protocol == PROTO_IKE));
        if ike {
            return self.on_rekey_ike_request(id, msg);
        }
        // An additional Child SA.
        let n = self.children.values().filter(|c| c.sa == id).count();
        if n >= self.cfg.limits.max_children_per_sa {
            return self.send_response(id, msg, err(notify::NO_ADDITIONAL_SAS, Vec::new()));
        }
        self.answer_child(id, msg, None);
    }

    fn on_rekey_child_request(&mut self, id: SaId, msg: &Message, spi: Option<u32>) {
        let old = spi.and_then(|s| self.child_by_out(id, s));
        let Some(old) = old else {
            return self.send_response(id, msg, err(notify::CHILD_SA_NOT_FOUND, Vec::new()));
        };
        if self.children.get(&old).is_some_and(|c| c.superseded) {
            return self.send_response(id, msg, err(notify::TEMPORARY_FAILURE, Vec::new()));
        }
        self.answer_child(id, msg, Some(old));
    }

    /// Create the Child SA a CREATE_CHILD_SA asks for (replacing `old` when a rekey).
    fn answer_child(&mut self, id: SaId, msg: &Message, old: Option<u32>) {
        let Some(ni) = msg.nonce().filter(|n| nonce_ok(n)).map(<[u8]>::to_vec) else {
            return self.send_response(id, msg, err(notify::INVALID_SYNTAX, Vec::new()));
        };
        let pfs = PfsPolicy::Negotiate {
            ours: self.cfg.pfs,
            ke_group: msg.ke().map(|k| k.0),
        };
        let offer = match self.child_responder(id, msg, pfs) {
            Ok(o) => o,
            Err((n, d)) => return self.send_response(id, msg, err(n, d)),
        };
        let nr = self.new_nonce();
        let Some(keys) = self.child_keys_for(id, offer.g_ir.as_ref(), &ni, &nr, &offer.suite)
        else {
            return self.send_response(id, msg, err(notify::NO_PROPOSAL_CHOSEN, Vec::new()));
        };
        let Some(proof) = self.sas.get_mut(&id).and_then(|s| s.proof.take()) else {
            return;
        };
        let mut p = offer.payloads;
        p.insert(1, Payload::Nonce(nr.clone()));
        if let Some(ke) = offer.ke {
            p.insert(2, ke);
        }
        let spi_in = offer.spi_in;
        self.install_child(
            NewChild {
                sa: id,
                spi_in,
                spi_out: offer.spi_out,
                suite: offer.suite,
                mode: offer.mode,
                keys,
                initiated: false,
                ni,
                nr,
                rekey: old.is_some(),
            },
            &proof,
        );
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.proof = Some(proof);
        }
        if let Some(c) = self.children.get_mut(&spi_in) {
            c.replaces = old;
        }
        if let Some(o) = old.and_then(|o| self.children.get_mut(&o)) {
            // The initiator deletes the old SA (or §2.8.1 decides, if we rekey it too).
            o.peer_rekey = Some(spi_in);
            let spi = o.spi_in;
            self.timers.cancel(TimerKey::ChildRekey(spi));
        }
        self.send_response(id, msg, p);
    }

    fn on_rekey_ike_request(&mut self, id: SaId, msg: &Message) {
        let busy = self.sas.get(&id).is_some_and(|s| {
            s.outstanding
                .as_ref()
                .is_some_and(|o| !matches!(o.what, Pending::RekeyIke { .. } | Pending::Dpd))
        });
        if busy {
            return self.send_response(id, msg, err(notify::TEMPORARY_FAILURE, Vec::new()));
        }
        let (Some(offered), Some((ke_group, ke))) = (msg.sa(), msg.ke()) else {
            return self.send_response(id, msg, err(notify::INVALID_SYNTAX, Vec::new()));
        };
        let Some((mut chosen, suite)) =
            proposal::ike_select(offered, &self.cfg.proposals, Some(ke_group))
        else {
            return self.send_response(id, msg, err(notify::NO_PROPOSAL_CHOSEN, Vec::new()));
        };
        if ke_group != suite.dh.number() {
            let g = suite.dh.number().to_be_bytes().to_vec();
            return self.send_response(id, msg, err(notify::INVALID_KE_PAYLOAD, g));
        }
        let peer_spi = <[u8; 8]>::try_from(chosen.spi.as_slice())
            .ok()
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0);
        let ni = msg.nonce().filter(|n| nonce_ok(n)).map(<[u8]>::to_vec);
        let (Some(peer_spi), Some(ni)) = (peer_spi, ni) else {
            return self.send_response(id, msg, err(notify::INVALID_SYNTAX, Vec::new()));
        };
        let Ok(dh) = Dh::new(suite.dh, self.rng.as_mut()) else {
            return;
        };
        let public = dh.public();
        let Ok(g_ir) = dh.agree(ke) else {
            return self.send_response(id, msg, err(notify::INVALID_SYNTAX, Vec::new()));
        };
        let our_spi = self.new_ike_spi();
        let nr = self.new_nonce();
        let sched = Schedule {
            suite,
            initiator: false,
            ni: &ni,
            nr: &nr,
            g_ir: &g_ir,
            spi_i: peer_spi,
            spi_r: our_spi,
        };
        let Some(new) = self.rekeyed_sa(id, &sched) else {
            return;
        };
        chosen.spi = our_spi.to_be_bytes().to_vec();
        let p = vec![
            Payload::Sa(vec![chosen]),
            Payload::Nonce(nr),
            Payload::Ke {
                group: suite.dh.number(),
                data: public,
            },
        ];
        let (peer, old_spi) = self
            .sas
            .get(&id)
            .map(|s| (s.peer, s.our_spi()))
            .unwrap_or((std::net::Ipv4Addr::UNSPECIFIED, 0));
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.peer_rekey = Some(PeerRekey { new_sa: new });
            sa.superseded = true;
        }
        self.event(IkeEvent::IkeRekeyed {
            peer,
            old_spi,
            new_spi: our_spi,
        });
        self.send_response(id, msg, p);
        // The response first: requests that move along with the children leave on the new
        // SA at once, and the peer only knows that SA once it has the response (sent the
        // other way round, they were dropped and went again after a retransmission
        // timeout). If we are rekeying this SA too and already moved its children, they
        // stay where §2.8.1 puts them when our own exchange completes.
        self.move_children(id, new);
    }
}

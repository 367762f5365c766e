//! IKE_AUTH (RFC 7296 §1.2, §2.15): identities (ID_IPV4_ADDR of our NBMA address), AUTH
//! over the signed octets, the first Child SA, INITIAL_CONTACT (§2.4), and what follows
//! establishment: lifetime, DPD and keepalive timers, stale SAs of a restarted peer, and
//! duplicate SAs from simultaneous initiation.

use crate::auth::{Identity, SignedOctets};
use crate::child::NewChild;
use crate::engine::IkeEngine;
use crate::msg::{Message, Payload, exchange, notify};
use crate::output::{DownReason, IkeEvent};
use crate::proposal::{self, PfsPolicy};
use crate::sa::{Pending, Phase, SaId};
use crate::timer::TimerKey;

fn notify_payload(ntype: u16) -> Payload {
    Payload::Notify {
        protocol: 0,
        spi: Vec::new(),
        ntype,
        data: Vec::new(),
    }
}

impl IkeEngine {
    /// Initiator: send IKE_AUTH with the first Child SA.
    pub(crate) fn send_auth(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let Some(keys) = sa.keys.as_ref() else {
            return;
        };
        let peer = sa.peer;
        let ours = self.cfg.local_id.unwrap_or(Identity::Ipv4(*sa.local.ip()));
        let maced = keys.prf(&keys.sk_p_ours, &[&ours.rest_of_payload()]);
        let octets = SignedOctets {
            first_message: &sa.hs.init_request,
            other_nonce: &sa.nr,
            maced_id: &maced,
        };
        let signed = self.cfg.auth.sign(keys.prf, peer, None, &octets);
        let Ok((method, auth)) = signed else {
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: false,
            });
            self.remove_sa(id, DownReason::AuthFailed);
            return;
        };
        let alone = self.by_peer.get(&peer).is_none_or(|s| s.len() <= 1);
        let child_spi = self.new_esp_spi();
        let mut p = vec![
            Payload::IdI {
                id_type: ours.id_type(),
                data: ours.data(),
            },
            Payload::Auth { method, data: auth },
        ];
        if alone {
            p.push(notify_payload(notify::INITIAL_CONTACT));
        }
        p.push(Payload::Sa(proposal::esp_offer(
            &self.cfg.child_transforms,
            self.cfg.esn,
            None,
            child_spi,
        )));
        p.extend(self.child_request_payloads(id));
        self.send_request(id, exchange::IKE_AUTH, p, Pending::Auth { child_spi });
    }

    /// Responder: IKE_AUTH request.
    pub(crate) fn on_auth_request(&mut self, id: SaId, msg: &Message) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let Some(keys) = sa.keys.as_ref() else {
            return;
        };
        let peer = sa.peer;
        let prf = keys.prf;
        let peer_id = msg
            .id_i()
            .and_then(|(t, d)| Identity::from_payload(t, d).map(|i| (i, t, d)));
        let verified = match (peer_id, msg.auth()) {
            (Some((pid, t, d)), Some((method, data))) => {
                let mut rest = vec![t, 0, 0, 0];
                rest.extend_from_slice(d);
                let maced = keys.prf(&keys.sk_p_peer, &[&rest]);
                let octets = SignedOctets {
                    first_message: &sa.hs.init_request,
                    other_nonce: &sa.nr,
                    maced_id: &maced,
                };
                self.cfg
                    .auth
                    .verify(prf, peer, Some(&pid), method, data, &octets)
                    .ok()
                    .map(|proof| (proof, pid))
            }
            _ => None,
        };
        let Some((proof, pid)) = verified else {
            self.send_response(id, msg, vec![notify_payload(notify::AUTHENTICATION_FAILED)]);
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: false,
            });
            self.linger(id);
            return;
        };
        let ours = self.cfg.local_id.unwrap_or(Identity::Ipv4(*sa.local.ip()));
        let maced = keys.prf(&keys.sk_p_ours, &[&ours.rest_of_payload()]);
        let octets = SignedOctets {
            first_message: &sa.hs.init_response,
            other_nonce: &sa.ni,
            maced_id: &maced,
        };
        let Ok((method, auth)) = self.cfg.auth.sign(prf, peer, Some(&pid), &octets) else {
            self.send_response(id, msg, vec![notify_payload(notify::AUTHENTICATION_FAILED)]);
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: false,
            });
            self.linger(id);
            return;
        };
        let (ni, nr) = (sa.ni.clone(), sa.nr.clone());
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.peer_id = Some(pid);
            sa.initial_contact = msg.has_notify(notify::INITIAL_CONTACT);
        }
        self.establish(id);
        let mut p = vec![
            Payload::IdR {
                id_type: ours.id_type(),
                data: ours.data(),
            },
            Payload::Auth { method, data: auth },
        ];
        let child = match self.child_responder(id, msg, PfsPolicy::Ignore) {
            Ok(offer) => {
                let keys = self.child_keys_for(id, None, &ni, &nr, &offer.suite);
                p.extend(offer.payloads);
                keys.map(|k| NewChild {
                    sa: id,
                    spi_in: offer.spi_in,
                    spi_out: offer.spi_out,
                    suite: offer.suite,
                    mode: offer.mode,
                    keys: k,
                    initiated: false,
                    ni: ni.clone(),
                    nr: nr.clone(),
                    rekey: false,
                })
            }
            Err((ntype, data)) => {
                self.log_child_refusal(peer, ntype, false);
                p.push(Payload::Notify {
                    protocol: 0,
                    spi: Vec::new(),
                    ntype,
                    data,
                });
                None
            }
        };
        if let Some(c) = child {
            self.install_child(c, &proof);
        }
        self.send_response(id, msg, p);
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.proof = Some(proof);
        }
        let ic = self.sas.get(&id).is_some_and(|s| s.initial_contact);
        if ic {
            self.drop_stale(id);
        }
        self.check_duplicates(id);
    }

    /// Initiator: IKE_AUTH response.
    pub(crate) fn on_auth_response(&mut self, id: SaId, msg: &Message, child_spi: u32) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        if msg.has_notify(notify::AUTHENTICATION_FAILED) {
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: true,
            });
            self.remove_sa(id, DownReason::AuthFailed);
            return;
        }
        if msg.auth().is_none()
            && let Some(err) = msg.error_notify()
        {
            self.event(IkeEvent::PeerError { peer, notify: err });
            self.remove_sa(id, DownReason::Failed);
            return;
        }
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let Some(keys) = sa.keys.as_ref() else {
            return;
        };
        let verified = match (msg.id_r(), msg.auth()) {
            (Some((t, d)), Some((method, data))) => Identity::from_payload(t, d).and_then(|pid| {
                let mut rest = vec![t, 0, 0, 0];
                rest.extend_from_slice(d);
                let maced = keys.prf(&keys.sk_p_peer, &[&rest]);
                let octets = SignedOctets {
                    first_message: &sa.hs.init_response,
                    other_nonce: &sa.ni,
                    maced_id: &maced,
                };
                self.cfg
                    .auth
                    .verify(keys.prf, peer, Some(&pid), method, data, &octets)
                    .ok()
                    .map(|proof| (proof, pid))
            }),
            _ => None,
        };
        let Some((proof, pid)) = verified else {
            self.event(IkeEvent::AuthFailed {
                peer,
                by_peer: false,
            });
            let n = vec![notify_payload(notify::AUTHENTICATION_FAILED)];
            self.send_notice(id, exchange::INFORMATIONAL, n);
            self.remove_sa(id, DownReason::AuthFailed);
            return;
        };
        let (ni, nr) = (sa.ni.clone(), sa.nr.clone());
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.peer_id = Some(pid);
        }
        self.establish(id);
        let child = if let Some(err) = msg.error_notify() {
            self.log_child_refusal(peer, err, true);
            None
        } else if let Some((suite, spi_out, mode)) = self.child_initiator_check(msg, None) {
            self.child_keys_for(id, None, &ni, &nr, &suite)
                .map(|k| NewChild {
                    sa: id,
                    spi_in: child_spi,
                    spi_out,
                    suite,
                    mode,
                    keys: k,
                    initiated: true,
                    ni,
                    nr,
                    rekey: false,
                })
        } else {
            self.event(IkeEvent::NoProposalChosen {
                peer,
                by_peer: false,
            });
            None
        };
        match child {
            Some(c) => {
                self.install_child(c, &proof);
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.proof = Some(proof);
                }
                self.check_duplicates(id);
            }
            None => {
                // An IKE SA without its Child SA protects nothing: delete it (a wanted peer
                // is tried again later).
                if let Some(sa) = self.sas.get_mut(&id) {
                    sa.proof = Some(proof);
                }
                self.begin_delete(id);
            }
        }
    }

    fn log_child_refusal(&mut self, peer: std::net::Ipv4Addr, ntype: u16, by_peer: bool) {
        match ntype {
            notify::NO_PROPOSAL_CHOSEN => {
                self.event(IkeEvent::NoProposalChosen { peer, by_peer });
            }
            notify::TS_UNACCEPTABLE => self.event(IkeEvent::TsUnacceptable { peer }),
            n => self.event(IkeEvent::PeerError { peer, notify: n }),
        }
    }

    /// Mark SA `id` established and arm its timers.
    pub(crate) fn establish(&mut self, id: SaId) {
        let seq = self.next_seq();
        let now = self.now;
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        sa.phase = Phase::Established;
        sa.established = Some(now);
        sa.est_seq = seq;
        sa.last_rx = now;
        sa.hs = Default::default();
        let (peer, spi, initiator) = (sa.peer, sa.our_spi(), sa.initiator);
        self.timers.cancel(TimerKey::Negotiation(id));
        self.event(IkeEvent::SaUp {
            peer,
            spi,
            initiator,
        });
        self.arm_sa_timers(id);
    }

    /// Lifetime (rekey at 90–98 % with jitter, earlier for short lifetimes, see
    /// `soft_deadline`; hard at 100 %), DPD and keepalive timers.
    pub(crate) fn arm_sa_timers(&mut self, id: SaId) {
        let life = self.cfg.ike_lifetime;
        let soft = self.soft_deadline(life, 900, 980);
        let now = self.now;
        self.timers
            .set(TimerKey::IkeRekey(id), now.saturating_add(soft));
        self.timers
            .set(TimerKey::IkeExpire(id), now.saturating_add(life));
        if let Some(d) = self.cfg.dpd
            && d.mode == crate::config::DpdMode::Periodic
        {
            self.timers
                .set(TimerKey::Dpd(id), now.saturating_add(d.interval));
        }
        let behind = self.sas.get(&id).is_some_and(|s| s.nat_local);
        if let (Some(k), true) = (self.cfg.nat_keepalive, behind) {
            self.timers
                .set(TimerKey::Keepalive(id), now.saturating_add(k));
        }
    }

    /// INITIAL_CONTACT: the peer has no other SA with us, so those established before this
    /// one was created are stale; drop them silently (their Child SAs too). SAs that came
    /// up while this one was negotiated are a simultaneous initiation, left to
    /// [`IkeEngine::check_duplicates`].
    fn drop_stale(&mut self, id: SaId) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        let stale: Vec<SaId> = self
            .by_peer
            .get(&peer)
            .into_iter()
            .flatten()
            .copied()
            .filter(|o| *o != id)
            .filter(|o| {
                self.sas
                    .get(o)
                    .is_some_and(|s| s.established.is_some() && s.est_seq < id.0)
            })
            .collect();
        for o in stale {
            self.remove_sa(o, DownReason::PeerRestarted);
        }
    }

    /// Two established IKE SAs with one peer (both sides initiated at once): keep one. As
    /// for rekey collisions (§2.8.1), the SA whose smaller nonce is the lowest goes; both
    /// sides reach the same verdict. The node that initiated the survivor deletes the
    /// duplicate: it gets here for the survivor only once its IKE_AUTH was answered, so
    /// both sides already have the survivor's Child SA. (Had the duplicate's initiator
    /// deleted it as soon as it answered the survivor's IKE_AUTH, the Delete could reach
    /// the peer before that answer — or the answer be lost — and the peer's protection
    /// went down until its retransmission; found by the simulation tests.)
    pub(crate) fn check_duplicates(&mut self, id: SaId) {
        let Some(peer) = self.sas.get(&id).map(|s| s.peer) else {
            return;
        };
        let others: Vec<SaId> = self
            .by_peer
            .get(&peer)
            .into_iter()
            .flatten()
            .copied()
            .filter(|o| *o != id)
            .filter(|o| self.sas.get(o).is_some_and(|s| s.is_established()))
            .collect();
        for o in others {
            let (Some(a), Some(b)) = (self.sas.get(&id), self.sas.get(&o)) else {
                continue;
            };
            if !a.is_established() || !b.is_established() {
                continue;
            }
            let (winner, loser) = if a.min_nonce() < b.min_nonce() {
                (b, a)
            } else {
                (a, b)
            };
            if winner.initiator {
                let l = loser.id;
                self.begin_delete(l);
            }
        }
    }
}

//! IKE_SA_INIT (RFC 7296 §1.2): SA, KE, nonces, NAT detection (§2.23), fragmentation
//! support (RFC 7383), SIGNATURE_HASH_ALGORITHMS (RFC 7427, announced for later certificate
//! use); the responder's stateless answers (COOKIE §2.6, INVALID_KE_PAYLOAD §1.2,
//! NO_PROPOSAL_CHOSEN) and the initiator's restarts.

use crate::codec::{self, Header};
use crate::crypto::{Dh, SaKeys, Schedule, nat_hash};
use crate::engine::IkeEngine;
use crate::msg::{Message, Payload, exchange, notify};
use crate::output::{DownReason, DropReason, IKE_PORT, IkeEvent};
use crate::proposal;
use crate::sa::{IkeSa, Pending, Phase, SaId};
use crate::timer::TimerKey;
use dmvpn_crypto::DhGroup;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Hash algorithms announced in SIGNATURE_HASH_ALGORITHMS: SHA2-256, -384, -512.
const SIG_HASHES: [u8; 6] = [0, 2, 0, 3, 0, 4];
/// Restarts after INVALID_KE_PAYLOAD.
const MAX_KE_RETRIES: u8 = 2;
/// Restarts after COOKIE.
const MAX_COOKIE_RETRIES: u8 = 3;

/// Nonce lengths allowed (§3.9).
pub(crate) fn nonce_ok(n: &[u8]) -> bool {
    (16..=256).contains(&n.len())
}

/// (we are behind a NAT, the peer is) from a message's NAT_DETECTION notifies, hashed with
/// the message's SPIs. Without the notifies the peer does not do NAT traversal: no NAT.
fn nat_check(msg: &Message, spi_r: u64, local: SocketAddrV4, remote: SocketAddrV4) -> (bool, bool) {
    let Some(dst) = msg.find_notify(notify::NAT_DETECTION_DESTINATION_IP) else {
        return (false, false);
    };
    let src_hash = nat_hash(msg.spi_i, spi_r, remote);
    let mut srcs = msg.notifies(notify::NAT_DETECTION_SOURCE_IP).peekable();
    if srcs.peek().is_none() {
        return (false, false);
    }
    let peer_behind = !srcs.any(|h| h == src_hash.as_slice());
    let local_behind = dst != nat_hash(msg.spi_i, spi_r, local).as_slice();
    (local_behind, peer_behind)
}

fn nat_payloads(spi_i: u64, spi_r: u64, local: SocketAddrV4, remote: SocketAddrV4) -> [Payload; 2] {
    let n = |ntype, data: [u8; 20]| Payload::Notify {
        protocol: 0,
        spi: Vec::new(),
        ntype,
        data: data.to_vec(),
    };
    [
        n(
            notify::NAT_DETECTION_SOURCE_IP,
            nat_hash(spi_i, spi_r, local),
        ),
        n(
            notify::NAT_DETECTION_DESTINATION_IP,
            nat_hash(spi_i, spi_r, remote),
        ),
    ]
}

fn status(ntype: u16, data: Vec<u8>) -> Payload {
    Payload::Notify {
        protocol: 0,
        spi: Vec::new(),
        ntype,
        data,
    }
}

impl IkeEngine {
    /// Start an IKE SA to `peer` as initiator.
    pub(crate) fn initiate(&mut self, local: Ipv4Addr, peer: Ipv4Addr, _restart: bool) {
        if self.sas.len() >= self.cfg.limits.max_sas {
            self.event(IkeEvent::Refused { peer });
            self.maybe_reconnect(peer);
            return;
        }
        let Some(group) = self
            .cfg
            .proposals
            .first()
            .and_then(|p| p.dh_groups.first())
            .copied()
        else {
            return;
        };
        let Ok(dh) = Dh::new(group, self.rng.as_mut()) else {
            return;
        };
        let id = SaId(self.next_seq());
        let mut sa = IkeSa::new(id, local, SocketAddrV4::new(peer, IKE_PORT), true, self.now);
        sa.spi_i = self.new_ike_spi();
        sa.ni = self.new_nonce();
        sa.hs.dh = Some(dh);
        self.insert_sa(sa);
        let deadline = self
            .now
            .saturating_add(self.give_up_after().saturating_mul(2));
        self.timers.set(TimerKey::Negotiation(id), deadline);
        self.send_init(id);
    }

    /// Send (or send again, after COOKIE or INVALID_KE_PAYLOAD) our IKE_SA_INIT request.
    fn send_init(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let Some(dh) = sa.hs.dh.as_ref() else {
            return;
        };
        let mut msg = Message::new(sa.spi_i, 0, exchange::IKE_SA_INIT, true, false, 0);
        if let Some(c) = &sa.hs.cookie {
            msg.notify(notify::COOKIE, c.clone());
        }
        msg.push(Payload::Sa(proposal::ike_offer(&self.cfg.proposals, &[])));
        msg.push(Payload::Ke {
            group: dh.group().number(),
            data: dh.public(),
        });
        msg.push(Payload::Nonce(sa.ni.clone()));
        msg.payloads
            .extend(nat_payloads(sa.spi_i, 0, sa.local, sa.remote));
        msg.notify(notify::IKEV2_FRAGMENTATION_SUPPORTED, Vec::new());
        msg.notify(notify::SIGNATURE_HASH_ALGORITHMS, SIG_HASHES.to_vec());
        let Ok(bytes) = codec::encode_plain(&msg) else {
            return;
        };
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.hs.init_request = bytes.clone();
            sa.outstanding = None;
        }
        self.store_request(id, 0, vec![bytes], Pending::Init);
    }

    /// Answer an IKE_SA_INIT without keeping state (cookie, errors).
    fn stateless_reply(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        spi_i: u64,
        ntype: u16,
        data: Vec<u8>,
    ) {
        let mut m = Message::new(spi_i, 0, exchange::IKE_SA_INIT, false, true, 0);
        m.notify(ntype, data);
        if let Ok(b) = codec::encode_plain(&m) {
            self.send_datagrams(local, remote, vec![b]);
        }
    }

    fn drop_msg(&mut self, remote: SocketAddrV4, reason: DropReason) {
        self.event(IkeEvent::Dropped {
            peer: *remote.ip(),
            reason,
        });
    }

    /// Responder: an IKE_SA_INIT request.
    pub(crate) fn on_init_request(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        hdr: &Header,
        bytes: &[u8],
    ) {
        if hdr.spi_r != 0 || hdr.msg_id != 0 || !hdr.from_initiator {
            return self.drop_msg(remote, DropReason::Malformed);
        }
        if let Some(&id) = self.by_init.get(&(remote, hdr.spi_i)) {
            // A retransmission: answer as before.
            self.resend_response(id, 0);
            return;
        }
        let Ok(msg) = codec::decode_plain(bytes) else {
            return self.drop_msg(remote, DropReason::Malformed);
        };
        let peer = *remote.ip();
        if let Some(t) = msg.unsupported_critical() {
            let n = notify::UNSUPPORTED_CRITICAL_PAYLOAD;
            return self.stateless_reply(local, remote, msg.spi_i, n, vec![t]);
        }
        if self.sas.len() >= self.cfg.limits.max_sas {
            self.event(IkeEvent::Refused { peer });
            return;
        }
        let half_open = self.half_open();
        if half_open >= self.cfg.limits.max_half_open {
            return self.drop_msg(remote, DropReason::HalfOpen);
        }
        let Some(ni) = msg.nonce().filter(|n| nonce_ok(n)).map(<[u8]>::to_vec) else {
            return self.drop_msg(remote, DropReason::Malformed);
        };
        if half_open >= self.cfg.limits.cookie_threshold {
            let valid = msg
                .find_notify(notify::COOKIE)
                .is_some_and(|c| self.cookies.check(c, &ni, peer, msg.spi_i));
            if !valid {
                let c = self
                    .cookies
                    .make(self.now, self.rng.as_mut(), &ni, peer, msg.spi_i);
                self.stateless_reply(local, remote, msg.spi_i, notify::COOKIE, c);
                self.event(IkeEvent::CookieSent { peer });
                return;
            }
        }
        let (Some(offered), Some((ke_group, ke_data))) = (msg.sa(), msg.ke()) else {
            return self.drop_msg(remote, DropReason::Malformed);
        };
        let Some((chosen, suite)) =
            proposal::ike_select(offered, &self.cfg.proposals, Some(ke_group))
        else {
            let n = notify::NO_PROPOSAL_CHOSEN;
            self.stateless_reply(local, remote, msg.spi_i, n, Vec::new());
            self.event(IkeEvent::NoProposalChosen {
                peer,
                by_peer: false,
            });
            return;
        };
        if ke_group != suite.dh.number() {
            let n = notify::INVALID_KE_PAYLOAD;
            let g = suite.dh.number().to_be_bytes().to_vec();
            return self.stateless_reply(local, remote, msg.spi_i, n, g);
        }
        let Ok(dh) = Dh::new(suite.dh, self.rng.as_mut()) else {
            return;
        };
        let public = dh.public();
        let Ok(g_ir) = dh.agree(ke_data) else {
            let n = notify::INVALID_SYNTAX;
            return self.stateless_reply(local, remote, msg.spi_i, n, Vec::new());
        };
        let id = SaId(self.next_seq());
        let mut sa = IkeSa::new(id, *local.ip(), remote, false, self.now);
        sa.local = local;
        sa.spi_i = msg.spi_i;
        sa.spi_r = self.new_ike_spi();
        sa.ni = ni;
        sa.nr = self.new_nonce();
        sa.suite = Some(suite);
        let sched = Schedule {
            suite,
            initiator: false,
            ni: &sa.ni,
            nr: &sa.nr,
            g_ir: &g_ir,
            spi_i: sa.spi_i,
            spi_r: sa.spi_r,
        };
        let Ok(keys) = SaKeys::derive(&sched) else {
            return;
        };
        sa.keys = Some(keys);
        let (nat_local, nat_remote) = nat_check(&msg, 0, local, remote);
        sa.nat_local = nat_local;
        sa.nat_remote = nat_remote;
        sa.fragmentation = msg.has_notify(notify::IKEV2_FRAGMENTATION_SUPPORTED);
        let mut resp = Message::new(sa.spi_i, sa.spi_r, exchange::IKE_SA_INIT, false, true, 0);
        resp.push(Payload::Sa(vec![chosen]));
        resp.push(Payload::Ke {
            group: suite.dh.number(),
            data: public,
        });
        resp.push(Payload::Nonce(sa.nr.clone()));
        resp.payloads
            .extend(nat_payloads(sa.spi_i, sa.spi_r, local, remote));
        if sa.fragmentation {
            resp.push(status(notify::IKEV2_FRAGMENTATION_SUPPORTED, Vec::new()));
        }
        resp.push(status(
            notify::SIGNATURE_HASH_ALGORITHMS,
            SIG_HASHES.to_vec(),
        ));
        let Ok(out) = codec::encode_plain(&resp) else {
            return;
        };
        sa.hs.init_request = bytes.to_vec();
        sa.hs.init_response = out.clone();
        sa.last_response = Some((0, vec![out.clone()]));
        sa.peer_msg_id = 1;
        self.insert_sa(sa);
        self.by_init.insert((remote, msg.spi_i), id);
        let deadline = self.now.saturating_add(self.give_up_after());
        self.timers.set(TimerKey::Negotiation(id), deadline);
        if nat_local || nat_remote {
            self.event(IkeEvent::NatDetected {
                peer,
                local_behind: nat_local,
                peer_behind: nat_remote,
            });
        }
        self.send_datagrams(local, remote, vec![out]);
    }

    /// Initiator: the IKE_SA_INIT response.
    pub(crate) fn on_init_response(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        hdr: &Header,
        bytes: &[u8],
    ) {
        let Some(&id) = self.by_spi.get(&hdr.spi_i) else {
            return self.drop_msg(remote, DropReason::UnknownSpi);
        };
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let expected = sa.initiator
            && matches!(sa.phase, Phase::InitSent)
            && matches!(
                sa.outstanding.as_ref().map(|o| (&o.what, o.msg_id)),
                Some((Pending::Init, 0))
            )
            && hdr.msg_id == 0
            && !hdr.from_initiator
            && sa.remote.ip() == remote.ip();
        if !expected {
            return self.drop_msg(remote, DropReason::StrayResponse);
        }
        let Ok(msg) = codec::decode_plain(bytes) else {
            return self.drop_msg(remote, DropReason::Malformed);
        };
        let peer = sa.peer;
        if let Some(c) = msg.find_notify(notify::COOKIE) {
            let c = c.to_vec();
            if c.is_empty() || c.len() > 64 || sa.hs.cookie_retries >= MAX_COOKIE_RETRIES {
                return self.fail_init(id, DownReason::Failed);
            }
            if let Some(sa) = self.sas.get_mut(&id) {
                sa.hs.cookie = Some(c);
                sa.hs.cookie_retries += 1;
            }
            self.send_init(id);
            return;
        }
        if let Some(g) = msg.find_notify(notify::INVALID_KE_PAYLOAD) {
            return self.on_invalid_ke(id, g);
        }
        if let Some(err) = msg.error_notify() {
            if err == notify::NO_PROPOSAL_CHOSEN {
                self.event(IkeEvent::NoProposalChosen {
                    peer,
                    by_peer: true,
                });
            } else {
                self.event(IkeEvent::PeerError { peer, notify: err });
            }
            return self.fail_init(id, DownReason::Failed);
        }
        let suite = msg
            .sa()
            .and_then(|p| proposal::ike_accept(p, &self.cfg.proposals));
        let (Some(suite), Some((ke_group, ke_data)), Some(nr)) = (suite, msg.ke(), msg.nonce())
        else {
            self.event(IkeEvent::NoProposalChosen {
                peer,
                by_peer: false,
            });
            return self.fail_init(id, DownReason::Failed);
        };
        if hdr.spi_r == 0 || !nonce_ok(nr) || ke_group != suite.dh.number() {
            return self.fail_init(id, DownReason::Failed);
        }
        self.take_outstanding(id);
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let Some(dh) = sa.hs.dh.take() else {
            return;
        };
        if dh.group() != suite.dh {
            return self.fail_init(id, DownReason::Failed);
        }
        sa.spi_r = hdr.spi_r;
        sa.nr = nr.to_vec();
        sa.suite = Some(suite);
        sa.hs.init_response = bytes.to_vec();
        let Ok(g_ir) = dh.agree(ke_data) else {
            return self.fail_init(id, DownReason::Failed);
        };
        let sched = Schedule {
            suite,
            initiator: true,
            ni: &sa.ni,
            nr: &sa.nr,
            g_ir: &g_ir,
            spi_i: sa.spi_i,
            spi_r: sa.spi_r,
        };
        let Ok(keys) = SaKeys::derive(&sched) else {
            return self.fail_init(id, DownReason::Failed);
        };
        sa.keys = Some(keys);
        let (nat_local, nat_remote) = nat_check(&msg, hdr.spi_r, local, remote);
        sa.nat_local = nat_local;
        sa.nat_remote = nat_remote;
        sa.fragmentation = msg.has_notify(notify::IKEV2_FRAGMENTATION_SUPPORTED);
        sa.phase = Phase::AuthSent;
        if nat_local || nat_remote {
            sa.float();
            self.event(IkeEvent::NatDetected {
                peer,
                local_behind: nat_local,
                peer_behind: nat_remote,
            });
        }
        self.send_auth(id);
    }

    /// INVALID_KE_PAYLOAD: start over with the group the responder asked for, if we allow
    /// it.
    fn on_invalid_ke(&mut self, id: SaId, data: &[u8]) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let peer = sa.peer;
        let group = <[u8; 2]>::try_from(data).ok().map(u16::from_be_bytes);
        let allowed = group.and_then(DhGroup::from_number).filter(|g| {
            self.cfg.proposals.iter().any(|p| p.dh_groups.contains(g))
                && sa.hs.dh.as_ref().is_some_and(|d| d.group() != *g)
        });
        let Some(g) = allowed.filter(|_| sa.hs.ke_retries < MAX_KE_RETRIES) else {
            return self.fail_init(id, DownReason::Failed);
        };
        let Ok(dh) = Dh::new(g, self.rng.as_mut()) else {
            return self.fail_init(id, DownReason::Failed);
        };
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.hs.dh = Some(dh);
            sa.hs.ke_retries += 1;
        }
        self.event(IkeEvent::InvalidKe {
            peer,
            group: g.number(),
        });
        self.send_init(id);
    }

    fn fail_init(&mut self, id: SaId, reason: DownReason) {
        self.take_outstanding(id);
        self.remove_sa(id, reason);
    }
}

//! Sending: the request window (size 1, RFC 7296 §2.3) with queued requests, encoding and
//! encryption through `codec`, retransmission with backoff and give-up (§2.1), and cached
//! responses resent when a request is retransmitted.

use crate::codec;
use crate::engine::IkeEngine;
use crate::msg::{Message, Payload};
use crate::output::{DownReason, IkeEvent, Output};
use crate::sa::{Outstanding, Pending, Request, SaId};
use crate::timer::TimerKey;
use std::net::SocketAddrV4;
use std::time::Duration;

/// Requests waiting for the window, at most (older DPD probes and duplicates are skipped
/// before this bound matters).
const MAX_QUEUE: usize = 32;

impl IkeEngine {
    /// Queue a request on an SA and send it when the window is free. Duplicates are
    /// ignored.
    pub(crate) fn request(&mut self, id: SaId, r: Request) {
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        if sa.has_request(r) || sa.queue.len() >= MAX_QUEUE {
            return;
        }
        let busy_same = match (&sa.outstanding, r) {
            (Some(o), Request::Dpd) => matches!(o.what, Pending::Dpd),
            (Some(o), Request::RekeyIke) => matches!(o.what, Pending::RekeyIke { .. }),
            (Some(o), Request::RekeyChild(s)) => {
                matches!(o.what, Pending::RekeyChild { old_spi, .. } if old_spi == s)
            }
            _ => false,
        };
        if busy_same {
            return;
        }
        sa.queue.push_back(r);
        self.pump(id);
    }

    /// Start the next queued request if nothing is outstanding.
    pub(crate) fn pump(&mut self, id: SaId) {
        loop {
            let Some(sa) = self.sas.get_mut(&id) else {
                return;
            };
            if sa.outstanding.is_some() {
                return;
            }
            let Some(r) = sa.queue.pop_front() else {
                return;
            };
            let started = match r {
                Request::RekeyChild(spi) => self.send_rekey_child(id, spi),
                Request::RekeyIke => self.send_rekey_ike(id),
                Request::DeleteChild(spi) => self.send_delete_child(id, spi),
                Request::DeleteIke => self.send_delete_ike(id),
                Request::Dpd => self.send_dpd(id),
            };
            if started {
                return;
            }
        }
    }

    /// Encode (and, past IKE_SA_INIT, encrypt) a message of SA `id`.
    pub(crate) fn encode(&mut self, id: SaId, msg: &Message) -> Option<Vec<Vec<u8>>> {
        let sa = self.sas.get(&id)?;
        let frag = sa.fragmentation.then_some(self.cfg.fragment_mtu);
        let res = match &sa.keys {
            Some(k) if msg.exchange != crate::msg::exchange::IKE_SA_INIT => {
                codec::encode_encrypted(msg, &k.out, self.rng.as_mut(), frag)
            }
            _ => codec::encode_plain(msg).map(|b| vec![b]),
        };
        res.ok()
    }

    /// Send a request on SA `id` with the next message ID and keep it for retransmission.
    /// Returns whether it left.
    pub(crate) fn send_request(
        &mut self,
        id: SaId,
        exchange: u8,
        payloads: Vec<Payload>,
        what: Pending,
    ) -> bool {
        let Some(sa) = self.sas.get(&id) else {
            return false;
        };
        let mut msg = Message::new(
            sa.spi_i,
            sa.spi_r,
            exchange,
            sa.initiator,
            false,
            sa.next_msg_id,
        );
        msg.payloads = payloads;
        let Some(dgrams) = self.encode(id, &msg) else {
            return false;
        };
        self.store_request(id, msg.msg_id, dgrams, what);
        true
    }

    /// Remember and send request datagrams already encoded (IKE_SA_INIT keeps its bytes
    /// for AUTH).
    pub(crate) fn store_request(
        &mut self,
        id: SaId,
        msg_id: u32,
        dgrams: Vec<Vec<u8>>,
        what: Pending,
    ) {
        let wait = match (&what, self.cfg.dpd) {
            (Pending::Dpd, Some(d)) => d.retry,
            _ => self.cfg.retransmit.initial,
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let (local, remote) = (sa.local, sa.remote);
        sa.next_msg_id = msg_id.wrapping_add(1);
        sa.outstanding = Some(Outstanding {
            msg_id,
            datagrams: dgrams.clone(),
            retries: 0,
            wait,
            what,
        });
        self.timers
            .set(TimerKey::Retransmit(id), self.now.saturating_add(wait));
        self.send_datagrams(local, remote, dgrams);
    }

    /// Send a request that expects no further handling (its response is ignored): the
    /// AUTHENTICATION_FAILED notice of an initiator. It uses a message ID but is never
    /// retransmitted.
    pub(crate) fn send_notice(&mut self, id: SaId, exchange: u8, payloads: Vec<Payload>) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let mut msg = Message::new(
            sa.spi_i,
            sa.spi_r,
            exchange,
            sa.initiator,
            false,
            sa.next_msg_id,
        );
        msg.payloads = payloads;
        let (local, remote) = (sa.local, sa.remote);
        if let Some(d) = self.encode(id, &msg) {
            self.send_datagrams(local, remote, d);
        }
    }

    /// Answer request `req` on SA `id`; the answer is cached for retransmitted requests.
    pub(crate) fn send_response(&mut self, id: SaId, req: &Message, payloads: Vec<Payload>) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let mut msg = Message::new(
            sa.spi_i,
            sa.spi_r,
            req.exchange,
            sa.initiator,
            true,
            req.msg_id,
        );
        msg.payloads = payloads;
        let Some(dgrams) = self.encode(id, &msg) else {
            return;
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let (local, remote) = (sa.local, sa.remote);
        sa.peer_msg_id = req.msg_id.wrapping_add(1);
        sa.last_response = Some((req.msg_id, dgrams.clone()));
        self.send_datagrams(local, remote, dgrams);
    }

    pub(crate) fn send_datagrams(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        dgrams: Vec<Vec<u8>>,
    ) {
        for bytes in dgrams {
            self.push(Output::Send {
                local,
                remote,
                bytes,
            });
        }
    }

    /// The response to our outstanding request arrived: clear it and start the next one.
    /// Returns what the request was.
    pub(crate) fn take_outstanding(&mut self, id: SaId) -> Option<Pending> {
        let sa = self.sas.get_mut(&id)?;
        let o = sa.outstanding.take()?;
        self.timers.cancel(TimerKey::Retransmit(id));
        Some(o.what)
    }

    /// Retransmission timer.
    pub(crate) fn on_retransmit(&mut self, id: SaId) {
        let max = self.cfg.retransmit.max_retries;
        let backoff = self.cfg.retransmit.backoff;
        let dpd_retry = self.cfg.dpd.map(|d| d.retry);
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let peer = sa.peer;
        let (local, remote) = (sa.local, sa.remote);
        let Some(o) = sa.outstanding.as_mut() else {
            return;
        };
        if o.retries >= max {
            self.give_up(id);
            return;
        }
        o.retries += 1;
        o.wait = match (&o.what, dpd_retry) {
            (Pending::Dpd, Some(r)) => r,
            _ => o.wait.saturating_mul(backoff),
        };
        let (count, wait, dgrams) = (o.retries, o.wait, o.datagrams.clone());
        self.timers
            .set(TimerKey::Retransmit(id), self.now.saturating_add(wait));
        self.event(IkeEvent::Retransmit { peer, count });
        self.send_datagrams(local, remote, dgrams);
    }

    /// The outstanding request went unanswered: the SA goes. The request stays in place
    /// until then, so that `remove_sa` can hand what it was about to the Child SAs' new
    /// IKE SA (it was taken out first, and a Delete of a rekey collision's redundant
    /// Child SA was lost with it; found by the simulation tests).
    fn give_up(&mut self, id: SaId) {
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let peer = sa.peer;
        let (dpd, delete_ike) = match sa.outstanding.as_ref().map(|o| &o.what) {
            Some(Pending::Dpd) => (true, false),
            Some(Pending::Delete { ike: true, .. }) => (false, true),
            _ => (false, false),
        };
        match (dpd, delete_ike) {
            (true, _) => {
                self.event(IkeEvent::PeerDead { peer });
                self.remove_sa(id, DownReason::PeerDead);
            }
            (_, true) => self.remove_sa(id, DownReason::Local),
            _ => {
                self.event(IkeEvent::RetransmitGiveUp { peer });
                self.remove_sa(id, DownReason::Timeout);
            }
        }
    }

    /// Resend our cached response when the peer repeats its last request.
    pub(crate) fn resend_response(&mut self, id: SaId, msg_id: u32) -> bool {
        let Some(sa) = self.sas.get(&id) else {
            return false;
        };
        match &sa.last_response {
            Some((m, d)) if *m == msg_id => {
                let (local, remote, d) = (sa.local, sa.remote, d.clone());
                self.send_datagrams(local, remote, d);
                true
            }
            _ => false,
        }
    }

    /// Keep a failed SA just long enough to answer retransmissions of the request that
    /// failed it, then drop it.
    pub(crate) fn linger(&mut self, id: SaId) {
        let grace = self.give_up_after().min(Duration::from_secs(60));
        if let Some(sa) = self.sas.get_mut(&id) {
            sa.phase = crate::sa::Phase::Deleting;
            sa.queue.clear();
        }
        self.timers.cancel(TimerKey::Retransmit(id));
        self.timers
            .set(TimerKey::Negotiation(id), self.now.saturating_add(grace));
    }
}

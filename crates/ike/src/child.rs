//! Child SA bookkeeping: the table of installed ESP SA pairs, installing one (keys split by
//! direction, lifetimes with jitter, protection up for the peer's first), removing one
//! (protection down after the peer's last), and the lifetime triggers (soft → rekey,
//! hard → delete) from timers and from the data plane.

use crate::auth::Authenticated;
use crate::config::Mode;
use crate::crypto::ChildKeys;
use crate::engine::IkeEngine;
use crate::output::{ChildSa, IkeEvent, NATT_PORT, Output, UdpEncap};
use crate::proposal::EspSuite;
use crate::sa::{Request, SaId};
use crate::timer::TimerKey;
use std::net::Ipv4Addr;
use std::time::Duration;

/// One installed Child SA pair.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    /// The IKE SA it belongs to.
    pub(crate) sa: SaId,
    pub(crate) peer: Ipv4Addr,
    pub(crate) local: Ipv4Addr,
    pub(crate) spi_in: u32,
    pub(crate) spi_out: u32,
    pub(crate) suite: EspSuite,
    pub(crate) mode: Mode,
    pub(crate) encap: Option<UdpEncap>,
    pub(crate) created: Duration,
    pub(crate) hard_at: Duration,
    /// The nonces of the exchange that created it (§2.8.1 compares them).
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    /// A rekey we started is outstanding.
    pub(crate) rekeying: bool,
    /// Replaced by a rekey; a Delete is on its way.
    pub(crate) superseded: bool,
    /// The peer rekeyed it and we answered: the inbound SPI of the replacement.
    pub(crate) peer_rekey: Option<u32>,
    /// We created it answering the peer's rekey of this Child SA (inbound SPI); kept
    /// after that one is gone, for a collision settled while our own rekey of it was
    /// out (see `finish_child_rekey`).
    pub(crate) replaces: Option<u32>,
}

impl Child {
    pub(crate) fn min_nonce(&self) -> &[u8] {
        if self.ni <= self.nr {
            &self.ni
        } else {
            &self.nr
        }
    }
}

/// What an exchange negotiated for a new Child SA.
pub(crate) struct NewChild {
    pub(crate) sa: SaId,
    pub(crate) spi_in: u32,
    pub(crate) spi_out: u32,
    pub(crate) suite: EspSuite,
    pub(crate) mode: Mode,
    pub(crate) keys: ChildKeys,
    /// We were the initiator of the creating exchange.
    pub(crate) initiated: bool,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    /// It replaces a Child SA (rekey).
    pub(crate) rekey: bool,
}

impl IkeEngine {
    /// Install a Child SA. The token proves its IKE SA authenticated the peer.
    pub(crate) fn install_child(&mut self, c: NewChild, _proof: &Authenticated) {
        let Some(sa) = self.sas.get(&c.sa) else {
            return;
        };
        let (peer, local) = (sa.peer, *sa.local.ip());
        let encap = sa.nat().then(|| UdpEncap {
            local_port: NATT_PORT,
            remote_port: sa.remote.port(),
        });
        let hard = self.cfg.child_lifetime;
        let soft = self.soft_deadline(hard, 850, 950);
        let kb = self.cfg.child_lifetime_kb;
        let k = c.keys;
        let (enc_out, integ_out, enc_in, integ_in) = if c.initiated {
            (k.encr_i, k.integ_i, k.encr_r, k.integ_r)
        } else {
            (k.encr_r, k.integ_r, k.encr_i, k.integ_i)
        };
        let now = self.now;
        self.children.insert(
            c.spi_in,
            Child {
                sa: c.sa,
                peer,
                local,
                spi_in: c.spi_in,
                spi_out: c.spi_out,
                suite: c.suite,
                mode: c.mode,
                encap,
                created: now,
                hard_at: now.saturating_add(hard),
                ni: c.ni,
                nr: c.nr,
                rekeying: false,
                superseded: false,
                peer_rekey: None,
                replaces: None,
            },
        );
        self.timers
            .set(TimerKey::ChildRekey(c.spi_in), now.saturating_add(soft));
        self.timers
            .set(TimerKey::ChildExpire(c.spi_in), now.saturating_add(hard));
        self.push(Output::InstallChild(ChildSa {
            peer,
            local,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
            encryption: c.suite.enc,
            integrity: c.suite.integ,
            enc_key_in: enc_in,
            integ_key_in: integ_in,
            enc_key_out: enc_out,
            integ_key_out: integ_out,
            mode: c.mode,
            esn: c.suite.esn,
            soft_lifetime: soft,
            hard_lifetime: hard,
            soft_kilobytes: kb / 10 * 9,
            hard_kilobytes: kb,
            replay_window: self.cfg.replay_window,
            encap,
            defer_outbound: c.rekey && !c.initiated,
        }));
        self.event(IkeEvent::ChildUp {
            peer,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
            rekey: c.rekey,
        });
        if self.protected.insert(peer) {
            self.push(Output::ProtectionUp { peer });
        }
        if let Some(w) = self.wanted.get_mut(&peer) {
            w.backoff = self.cfg.reconnect;
        }
    }

    /// Remove a Child SA from the table and the data plane.
    pub(crate) fn remove_child(&mut self, spi_in: u32) {
        let Some(c) = self.children.remove(&spi_in) else {
            return;
        };
        self.timers.cancel(TimerKey::ChildRekey(spi_in));
        self.timers.cancel(TimerKey::ChildExpire(spi_in));
        self.push(Output::DeleteChild {
            peer: c.peer,
            spi_in,
            spi_out: c.spi_out,
        });
        self.event(IkeEvent::ChildDown {
            peer: c.peer,
            spi_in,
        });
        if !self.children.values().any(|x| x.peer == c.peer) && self.protected.remove(&c.peer) {
            self.push(Output::ProtectionDown { peer: c.peer });
        }
        // The Child SA it replaced, waiting for the peer's Delete, is ours to rekey again:
        // the peer's rekey did not stick (it lost a collision, or the peer never got our
        // answer and we deleted it on CHILD_SA_NOT_FOUND). Left alone it ran into its
        // hard lifetime with no rekey (found by the simulation tests under heavy loss).
        let orphans: Vec<u32> = self
            .children
            .values()
            .filter(|x| x.peer_rekey == Some(spi_in) && !x.superseded)
            .map(|x| x.spi_in)
            .collect();
        for o in orphans {
            if let Some(x) = self.children.get_mut(&o) {
                x.peer_rekey = None;
            }
            let d = self.jitter(Duration::from_secs(10), 200, 1000);
            self.timers
                .set(TimerKey::ChildRekey(o), self.now.saturating_add(d));
        }
    }

    /// Soft lifetime (timer or data plane): rekey, unless already under way.
    pub(crate) fn on_child_soft(&mut self, spi_in: u32) {
        let Some(c) = self.children.get(&spi_in) else {
            return;
        };
        if c.rekeying || c.superseded || c.peer_rekey.is_some() {
            return;
        }
        let sa = c.sa;
        if !self.sas.get(&sa).is_some_and(|s| s.is_established()) {
            return;
        }
        self.request(sa, Request::RekeyChild(spi_in));
    }

    /// Hard lifetime: the SA is gone. `ours` when our timer fired (else the data plane
    /// already removed it). The peer is told with a Delete.
    pub(crate) fn on_child_hard(&mut self, spi_in: u32, _ours: bool) {
        let Some(c) = self.children.get(&spi_in) else {
            return;
        };
        let sa = c.sa;
        self.remove_child(spi_in);
        if self.sas.get(&sa).is_some_and(|s| s.is_established()) {
            self.request(sa, Request::DeleteChild(spi_in));
        }
    }

    /// The Child SA with the peer of IKE SA `sa` whose outbound SPI is `spi_out` (the SPI
    /// a peer names in REKEY_SA and Delete payloads is its inbound one, our outbound).
    /// Any IKE SA with that peer will do: while an IKE rekey collision settles, the two
    /// sides may briefly hang a Child SA under different IKE SAs, and a Delete sent over
    /// the other one was answered without deleting anything, leaving our half installed
    /// (found by the simulation tests). The peer's inbound SPIs are its own and unique.
    pub(crate) fn child_by_out(&self, sa: SaId, spi_out: u32) -> Option<u32> {
        let peer = self.sas.get(&sa)?.peer;
        self.children
            .values()
            .find(|c| c.peer == peer && c.spi_out == spi_out)
            .map(|c| c.spi_in)
    }
}

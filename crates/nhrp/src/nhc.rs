//! The Next Hop Client: registration with every configured NHS (seed 000).
//!
//! * A Registration Request goes to each NHS at start, then every `registration timeout`
//!   (default holdtime/3) after a successful reply.
//! * Unanswered requests are retransmitted after 1, 2, 4, 8, 16, 32, 64 s and then every 64 s
//!   ([`crate::reqid::Schedule::REGISTRATION`]); after three unanswered requests the NHS is
//!   DOWN, and the first reply brings it UP.
//! * The unique flag is set unless `registration no-unique`.
//! * A reply with CIE code 14 (unique address already registered) makes the client purge its
//!   old binding at the NHS (Purge Request, N flag) and register again.
//! * An NBMA change re-registers at once ([`crate::Engine::handle_nbma_change`]).

use crate::action::Event;
use crate::config::{IfIndex, NhsConfig};
use crate::engine::{DIRECT_HOP_COUNT, Engine};
use crate::error::DropReason;
use crate::packet::{Cie, Message, PacketType, code, flags};
use crate::reqid::{PendingKind, Schedule};
use crate::show::NhsState;
use crate::timer::TimerKey;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Unanswered requests after which an NHS is declared DOWN (seed 000).
pub(crate) const NHS_DOWN_AFTER: u32 = 3;
/// Wait before re-registering after code 14 (the purge goes first).
pub(crate) const REREGISTER_AFTER_CONFLICT: Duration = Duration::from_secs(1);
/// Wait before re-registering after any other refusal.
pub(crate) const REREGISTER_AFTER_REFUSAL: Duration = Duration::from_secs(10);

/// One NHS as seen by this client.
#[derive(Clone, Debug)]
pub(crate) struct Nhs {
    pub(crate) cfg: NhsConfig,
    pub(crate) nbma: Option<Ipv4Addr>,
    pub(crate) state: NhsState,
    pub(crate) requests: u64,
    pub(crate) replies: u64,
    pub(crate) unanswered: u32,
    /// Requests that went unanswered since start (never reset; `unanswered` is the run).
    pub(crate) failed: u64,
    /// The registration request in flight.
    pub(crate) reqid: Option<u32>,
}

impl Nhs {
    pub(crate) fn new(cfg: NhsConfig, nbma: Option<Ipv4Addr>) -> Self {
        Nhs {
            cfg,
            nbma,
            state: NhsState::Expecting,
            requests: 0,
            replies: 0,
            unanswered: 0,
            failed: 0,
            reqid: None,
        }
    }
}

/// RFC 2332 §5.2.3 + Cisco: the prefix length of a registration CIE is 0xFF for a unique
/// binding, else the host length.
pub(crate) fn registration_prefix_len(unique: bool) -> u8 {
    if unique { 0xff } else { 32 }
}

impl crate::engine::Iface {
    /// The NHSs to keep registered with: all of them, or with `max-connections` the most
    /// preferred ones that are not DOWN (DOWN ones are retried on their own schedule).
    pub(crate) fn wanted_nhs(&self) -> Vec<Ipv4Addr> {
        let Some(max) = self.cfg.nhs_max_connections else {
            return self.nhs.iter().map(|n| n.cfg.protocol).collect();
        };
        let mut order: Vec<(u8, usize, &Nhs)> = self
            .nhs
            .iter()
            .enumerate()
            .map(|(k, n)| (n.cfg.priority, k, n))
            .collect();
        order.sort_by_key(|(p, k, _)| (*p, *k));
        let mut out: Vec<Ipv4Addr> = order
            .iter()
            .filter(|(_, _, n)| n.state != NhsState::Down && n.nbma.is_some())
            .take(max)
            .map(|(_, _, n)| n.cfg.protocol)
            .collect();
        out.extend(
            order
                .iter()
                .filter(|(_, _, n)| n.state == NhsState::Down)
                .map(|(_, _, n)| n.cfg.protocol),
        );
        out
    }
}

impl Engine {
    /// With `max-connections`, start registering with NHSs that became wanted and stop
    /// refreshing those that are no longer wanted.
    pub(crate) fn rebalance_nhs(&mut self, i: IfIndex) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        if ifc.cfg.nhs_max_connections.is_none() {
            return;
        }
        let wanted = ifc.wanted_nhs();
        let all: Vec<(Ipv4Addr, Option<u32>, bool)> = ifc
            .nhs
            .iter()
            .map(|n| {
                let key = TimerKey::Register {
                    iface: i,
                    nhs: n.cfg.protocol,
                };
                (
                    n.cfg.protocol,
                    n.reqid,
                    n.reqid.is_none() && self.timers.get(&key).is_none(),
                )
            })
            .collect();
        for (proto, reqid, idle) in all {
            if wanted.contains(&proto) {
                if idle {
                    self.register_now(i, proto);
                }
            } else if !idle {
                self.timers.cancel(TimerKey::Register {
                    iface: i,
                    nhs: proto,
                });
                if let Some(id) = reqid {
                    self.reqids.pending.remove(&id);
                    self.timers.cancel(TimerKey::Retransmit { reqid: id });
                }
                let nhs = self
                    .ifaces
                    .get_mut(&i)
                    .and_then(|f| f.nhs.iter_mut().find(|n| n.cfg.protocol == proto));
                if let Some(n) = nhs {
                    n.reqid = None;
                    n.unanswered = 0;
                    n.state = NhsState::Expecting;
                }
            }
        }
    }
}

impl Engine {
    pub(crate) fn on_register_timer(&mut self, i: IfIndex, nhs: Ipv4Addr) {
        self.register_now(i, nhs);
    }

    /// Send a fresh Registration Request (new Request ID) to one NHS.
    pub(crate) fn register_now(&mut self, i: IfIndex, nhs_proto: Ipv4Addr) {
        self.timers.cancel(TimerKey::Register {
            iface: i,
            nhs: nhs_proto,
        });
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let Some(k) = ifc.nhs.iter().position(|n| n.cfg.protocol == nhs_proto) else {
            return;
        };
        let Some(nhs) = ifc.nhs.get(k) else { return };
        let old = nhs.reqid;
        let Some(nbma) = nhs.nbma else { return };
        let cfg = &ifc.cfg;
        let unique = !cfg.registration_no_unique;
        let mut m = Message::new(
            PacketType::RegistrationRequest,
            DIRECT_HOP_COUNT,
            cfg.nbma_addr,
            cfg.protocol_addr,
            nhs_proto,
        );
        m.flags = flags::NAT | if unique { flags::REG_U } else { 0 };
        m.cies.push(Cie {
            code: code::SUCCESS,
            prefix_len: registration_prefix_len(unique),
            mtu: cfg.mtu,
            holding_time: cfg.holdtime_secs(),
            ..Cie::default()
        });
        m.ext.forward_transit = Some(Vec::new());
        m.ext.reverse_transit = Some(Vec::new());
        m.ext.responder = Some(Vec::new());
        m.ext.nat = Some(vec![Cie {
            prefix_len: 32,
            mtu: cfg.mtu,
            client_nbma: Some(nbma),
            client_proto: Some(nhs_proto),
            ..Cie::default()
        }]);
        self.stamp_auth(i, &mut m);
        if let Some(id) = old {
            self.reqids.pending.remove(&id);
            self.timers.cancel(TimerKey::Retransmit { reqid: id });
        }
        let id = self.start_request(
            i,
            nbma,
            m,
            PendingKind::Registration { nhs: nhs_proto },
            Schedule::REGISTRATION,
        );
        if let Some(n) = self.ifaces.get_mut(&i).and_then(|f| f.nhs.get_mut(k)) {
            n.reqid = Some(id);
            n.requests += 1;
        }
    }

    /// A registration retransmission timer fired: the previous request went unanswered.
    pub(crate) fn registration_unanswered(&mut self, i: IfIndex, nhs_proto: Ipv4Addr) {
        let Some(n) = self
            .ifaces
            .get_mut(&i)
            .and_then(|f| f.nhs.iter_mut().find(|n| n.cfg.protocol == nhs_proto))
        else {
            return;
        };
        n.unanswered = n.unanswered.saturating_add(1);
        n.failed = n.failed.saturating_add(1);
        n.requests += 1;
        if n.unanswered >= NHS_DOWN_AFTER && n.state != NhsState::Down {
            n.state = NhsState::Down;
            self.event(Event::NhsDown {
                iface: i,
                nhs: nhs_proto,
            });
            self.rebalance_nhs(i);
        }
    }

    pub(crate) fn on_registration_reply(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let nhs_proto = match self.reqids.pending.get(&m.request_id) {
            Some(p) if p.iface == i => match p.kind {
                PendingKind::Registration { nhs } => nhs,
                _ => return self.drop_packet(i, from, DropReason::UnexpectedReply),
            },
            _ => return self.drop_packet(i, from, DropReason::UnexpectedReply),
        };
        self.reqids.pending.remove(&m.request_id);
        self.timers.cancel(TimerKey::Retransmit {
            reqid: m.request_id,
        });
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        let interval = ifc.cfg.registration_interval();
        let own_nbma = ifc.cfg.nbma_addr;
        let Some(n) = ifc.nhs.iter_mut().find(|n| n.cfg.protocol == nhs_proto) else {
            return;
        };
        n.replies += 1;
        n.unanswered = 0;
        n.reqid = None;
        let was_up = n.state == NhsState::Up;
        n.state = NhsState::Up;
        let result = m.cies.first().map(|c| c.code).unwrap_or(code::SUCCESS);
        if !was_up {
            self.event(Event::NhsUp {
                iface: i,
                nhs: nhs_proto,
            });
            self.rebalance_nhs(i);
        }
        match result {
            code::SUCCESS => {
                // Cisco NAT extension: the second CIE carries our address as the NHS saw it.
                let public = m
                    .ext
                    .nat
                    .as_ref()
                    .and_then(|l| l.get(1))
                    .and_then(|c| c.client_nbma);
                if let Some(ifc) = self.ifaces.get_mut(&i) {
                    ifc.nat_nbma = public.filter(|p| *p != own_nbma);
                }
                self.event(Event::RegistrationAccepted {
                    iface: i,
                    nhs: nhs_proto,
                });
                let next = self.jittered(interval);
                self.timers.set(
                    TimerKey::Register {
                        iface: i,
                        nhs: nhs_proto,
                    },
                    now + next,
                );
            }
            code::ALREADY_REGISTERED => {
                self.event(Event::RegistrationRefused {
                    iface: i,
                    nhs: nhs_proto,
                    code: result,
                });
                self.purge_own_binding(i, nhs_proto);
                self.timers.set(
                    TimerKey::Register {
                        iface: i,
                        nhs: nhs_proto,
                    },
                    now + REREGISTER_AFTER_CONFLICT,
                );
            }
            other => {
                self.event(Event::RegistrationRefused {
                    iface: i,
                    nhs: nhs_proto,
                    code: other,
                });
                self.timers.set(
                    TimerKey::Register {
                        iface: i,
                        nhs: nhs_proto,
                    },
                    now + REREGISTER_AFTER_REFUSAL.min(interval),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_registrations_use_prefix_0xff() {
        assert_eq!(registration_prefix_len(true), 0xff);
        assert_eq!(registration_prefix_len(false), 32);
    }
}

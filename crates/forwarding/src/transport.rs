//! The pure half of the NBMA transport: which underlay a packet uses, the per-peer
//! protection decision, the bounded queue of packets waiting for protection, and the
//! demultiplexing of what arrives from the underlay.
//!
//! The socket half lives in the data plane (`dmvpn_dataplane::nbma`). Between them:
//!
//! ```text
//! send:    GRE packet → Protector::outbound → Transmit::Send(underlay) → socket
//!                                         → Transmit::Queued (no SA: held, negotiation
//!                                           requested; never sent in clear)
//!                                         → Transmit::Dropped(reason)
//! receive: (IP protocol, bytes) → Protector::inbound → Received::Gre (unprotected GRE)
//!                                                   → Received::Ike { port } (UDP 500, or
//!                                                     4500 with the non-ESP marker)
//!                                                   → Received::Dropped(reason)
//! ```
//!
//! Today the only [`Protection`] is [`PassThrough`] (plain GRE, no IPsec configured): every
//! packet is sent as GRE and ESP or IKE arriving is dropped. An IPsec layer implements
//! [`Protection`]: it transforms packets of peers with an SA into ESP, answers
//! [`ProtectionError::NoSa`] for configured peers without one (the packet is queued and a
//! negotiation requested), and refuses cleartext GRE from peers it protects.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use crate::buf::{NoRoom, PacketBuf};
use crate::seam::{DropReason, SendOutcome};

/// IP protocol number of GRE.
pub const IPPROTO_GRE: u8 = 47;
/// IP protocol number of ESP.
pub const IPPROTO_ESP: u8 = 50;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// UDP port of IKE.
pub const IKE_PORT: u16 = 500;
/// UDP port of IKE and ESP behind NAT (RFC 3948).
pub const NAT_T_PORT: u16 = 4500;
/// Length of a UDP header.
const UDP_HEADER_LEN: usize = 8;
/// The non-ESP marker that starts an IKE message on port 4500 (RFC 3948 §2.2).
const NON_ESP_MARKER: [u8; 4] = [0; 4];
/// A NAT keepalive: one byte 0xFF on UDP 4500 (RFC 3948 §2.3).
pub const NAT_KEEPALIVE: u8 = 0xFF;
/// Packets held per peer while protection comes up (as a router's small SA-pending queue).
pub const DEFAULT_QUEUE_PER_PEER: usize = 16;

/// The underlay protocols of a tunnel source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Underlay {
    /// Plain GRE, IP protocol 47.
    Gre,
    /// ESP, IP protocol 50 (GRE inside, transport mode).
    Esp,
    /// IKE on UDP port 500.
    Ike,
    /// UDP port 4500: IKE after the non-ESP marker, else ESP in UDP (NAT traversal).
    NatT,
}

impl Underlay {
    /// The IP protocol number on the wire.
    pub fn ip_protocol(self) -> u8 {
        match self {
            Underlay::Gre => IPPROTO_GRE,
            Underlay::Esp => IPPROTO_ESP,
            Underlay::Ike | Underlay::NatT => IPPROTO_UDP,
        }
    }

    /// The local UDP port, for the UDP underlays.
    pub fn udp_port(self) -> Option<u16> {
        match self {
            Underlay::Gre | Underlay::Esp => None,
            Underlay::Ike => Some(IKE_PORT),
            Underlay::NatT => Some(NAT_T_PORT),
        }
    }
}

/// Why a protection layer refused a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectionError {
    /// Protection is configured for the peer and there is no security association yet:
    /// the packet must wait (it is queued and a negotiation requested), never go in clear.
    #[error("no security association with {0}")]
    NoSa(Ipv4Addr),
    /// The packet failed authentication or replay checks, or arrived unprotected from a
    /// peer that must be protected.
    #[error("packet from {0} failed integrity or replay checks")]
    Integrity(Ipv4Addr),
    /// The packet arrived on an underlay this node does not use for the peer (e.g. ESP
    /// without IPsec configured).
    #[error("unexpected {1:?} packet from {0}")]
    Unexpected(Ipv4Addr, Underlay),
    /// The buffer had no room for the transform.
    #[error(transparent)]
    NoRoom(#[from] NoRoom),
}

/// A per-peer transform applied to GRE packets just before they leave for a peer and just
/// after they arrive from it (the seam where IPsec ESP plugs in).
pub trait Protection: Send + Sync + std::fmt::Debug {
    /// Transforms the GRE packet in `packet` (GRE header first) going to `peer` in place,
    /// and says on which underlay the result goes. On an error the packet must be left as it
    /// was (it may be queued and protected later).
    fn protect(&self, peer: Ipv4Addr, packet: &mut PacketBuf) -> Result<Underlay, ProtectionError>;
    /// Reverses [`Protection::protect`] on a packet that arrived from `peer` on `underlay`
    /// (for ESP in UDP, the UDP header is already removed), leaving the GRE packet (GRE
    /// header first) in `packet`.
    fn unprotect(
        &self,
        peer: Ipv4Addr,
        underlay: Underlay,
        packet: &mut PacketBuf,
    ) -> Result<(), ProtectionError>;

    /// The peer's UDP port for ESP in UDP ([`Underlay::NatT`]): 4500 unless a NAT in front
    /// of the peer changed it.
    fn udp_port(&self, _peer: Ipv4Addr) -> u16 {
        NAT_T_PORT
    }

    /// Whether this layer needs the ESP and UDP 500/4500 underlays (IPsec is configured).
    fn uses_ipsec(&self) -> bool {
        false
    }
}

/// No protection configured: GRE leaves as it is, and only GRE is accepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl Protection for PassThrough {
    fn protect(
        &self,
        _peer: Ipv4Addr,
        _packet: &mut PacketBuf,
    ) -> Result<Underlay, ProtectionError> {
        Ok(Underlay::Gre)
    }

    fn unprotect(
        &self,
        peer: Ipv4Addr,
        underlay: Underlay,
        _packet: &mut PacketBuf,
    ) -> Result<(), ProtectionError> {
        match underlay {
            Underlay::Gre => Ok(()),
            other => Err(ProtectionError::Unexpected(peer, other)),
        }
    }
}

/// What to do with a packet on its way out, in the style of boringtun's `TunnResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Put the (now transformed) packet on this underlay to the peer.
    Send(Underlay),
    /// Held until protection is up; see [`Protector::take_negotiations`].
    Queued,
    /// Not sent.
    Dropped(DropReason),
}

impl Transmit {
    /// The seam's outcome for a packet that was sent when the decision was `Send`.
    pub fn outcome(&self) -> SendOutcome {
        match self {
            Transmit::Send(_) => SendOutcome::Sent,
            Transmit::Queued => SendOutcome::Queued,
            Transmit::Dropped(r) => SendOutcome::Dropped(r.clone()),
        }
    }
}

/// What arrived from the underlay, after demultiplexing and unprotection. The payload is
/// left in the buffer passed to [`Protector::inbound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A GRE packet (GRE header first) from the peer.
    Gre {
        /// The peer's NBMA address.
        source: Ipv4Addr,
    },
    /// An IKE message (IKE header first) from the peer's UDP `port`.
    Ike {
        /// The peer's NBMA address.
        source: Ipv4Addr,
        /// The peer's UDP source port.
        port: u16,
        /// The local port it arrived on (500 or 4500).
        local_port: u16,
    },
    /// Not for this tunnel, or refused.
    Dropped(RecvDrop),
}

/// Why a received packet was not passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvDrop {
    /// An IP protocol or UDP port the transport does not handle.
    NotOurs,
    /// Too short for its UDP header.
    Truncated,
    /// The protection layer refused it.
    Protection(ProtectionError),
}

/// The queue of one peer waiting for protection.
#[derive(Debug, Default)]
struct Pending {
    packets: VecDeque<(u8, Vec<u8>)>,
}

/// The pure protection and demultiplexing state of one NBMA transport.
#[derive(Debug)]
pub struct Protector {
    protection: Arc<dyn Protection>,
    queue_per_peer: usize,
    pending: Mutex<HashMap<Ipv4Addr, Pending>>,
    negotiate: Mutex<BTreeSet<Ipv4Addr>>,
}

impl Protector {
    /// A protector over `protection` holding at most `queue_per_peer` packets per peer.
    pub fn new(protection: Arc<dyn Protection>, queue_per_peer: usize) -> Self {
        Self {
            protection,
            queue_per_peer,
            pending: Mutex::new(HashMap::new()),
            negotiate: Mutex::new(BTreeSet::new()),
        }
    }

    /// No protection: plain GRE ([`PassThrough`]).
    pub fn plain() -> Self {
        Self::new(Arc::new(PassThrough), DEFAULT_QUEUE_PER_PEER)
    }

    /// The protection layer.
    pub fn protection(&self) -> &Arc<dyn Protection> {
        &self.protection
    }

    /// Decides what becomes of the GRE packet in `packet` for `peer` (outer TOS `tos`):
    /// transformed in place and sent, queued while protection comes up (a copy is kept;
    /// the oldest is dropped when the peer's queue is full), or dropped.
    pub fn outbound(&self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> Transmit {
        match self.protection.protect(peer, packet) {
            Ok(underlay) => Transmit::Send(underlay),
            Err(ProtectionError::NoSa(_)) => {
                if self.queue_per_peer == 0 {
                    return Transmit::Dropped(DropReason::Unprotected);
                }
                let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                let q = pending.entry(peer).or_default();
                if q.packets.len() >= self.queue_per_peer {
                    q.packets.pop_front();
                }
                // `protect` leaves the packet as it was when it refuses it.
                q.packets.push_back((tos, packet.as_slice().to_vec()));
                self.negotiate
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(peer);
                Transmit::Queued
            }
            Err(ProtectionError::NoRoom(_)) => Transmit::Dropped(DropReason::TooBig),
            Err(_) => Transmit::Dropped(DropReason::Unprotected),
        }
    }

    /// The peers for which a negotiation was requested since the last call (each once).
    pub fn take_negotiations(&self) -> Vec<Ipv4Addr> {
        std::mem::take(&mut *self.negotiate.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }

    /// Protection with `peer` came up: the held packets (outer TOS, GRE packet), oldest
    /// first, to pass through [`Protector::outbound`] again.
    pub fn release(&self, peer: Ipv4Addr) -> Vec<(u8, Vec<u8>)> {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&peer)
            .map(|q| q.packets.into())
            .unwrap_or_default()
    }

    /// Protection with `peer` failed: its held packets are dropped; returns how many.
    pub fn discard(&self, peer: Ipv4Addr) -> usize {
        self.release(peer).len()
    }

    /// Packets held for `peer`.
    pub fn queued(&self, peer: Ipv4Addr) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&peer)
            .map_or(0, |q| q.packets.len())
    }

    /// Demultiplexes a packet from `source` that arrived with IP protocol `protocol` (its
    /// payload, after the outer IP header, is in `packet`): GRE and ESP pass the protection
    /// layer and come out as [`Received::Gre`]; UDP 500, and UDP 4500 with the non-ESP
    /// marker, are IKE; UDP 4500 without it is ESP in UDP.
    pub fn inbound(&self, source: Ipv4Addr, protocol: u8, packet: &mut PacketBuf) -> Received {
        let underlay = match protocol {
            IPPROTO_GRE => Underlay::Gre,
            IPPROTO_ESP => Underlay::Esp,
            IPPROTO_UDP => {
                let Some(udp) = packet.as_slice().get(..UDP_HEADER_LEN) else {
                    return Received::Dropped(RecvDrop::Truncated);
                };
                let port = u16::from_be_bytes([
                    udp.first().copied().unwrap_or(0),
                    udp.get(1).copied().unwrap_or(0),
                ]);
                let local_port = u16::from_be_bytes([
                    udp.get(2).copied().unwrap_or(0),
                    udp.get(3).copied().unwrap_or(0),
                ]);
                if packet.advance(UDP_HEADER_LEN).is_err() {
                    return Received::Dropped(RecvDrop::Truncated);
                }
                return self.inbound_udp(source, port, local_port, packet);
            }
            _ => return Received::Dropped(RecvDrop::NotOurs),
        };
        self.unprotect(source, underlay, packet)
    }

    /// Like [`Protector::inbound`] for a UDP datagram whose payload (after the UDP header)
    /// is in `packet`, from the peer's port `port` to our `local_port`: IKE on 500, IKE after
    /// the non-ESP marker on 4500, else ESP in UDP. A NAT keepalive (the single byte 0xFF)
    /// is dropped as not ours.
    pub fn inbound_udp(
        &self,
        source: Ipv4Addr,
        port: u16,
        local_port: u16,
        packet: &mut PacketBuf,
    ) -> Received {
        match local_port {
            IKE_PORT => Received::Ike {
                source,
                port,
                local_port,
            },
            NAT_T_PORT => {
                if packet.as_slice() == [NAT_KEEPALIVE] {
                    return Received::Dropped(RecvDrop::NotOurs);
                }
                if packet.as_slice().get(..NON_ESP_MARKER.len()) == Some(&NON_ESP_MARKER[..]) {
                    if packet.advance(NON_ESP_MARKER.len()).is_err() {
                        return Received::Dropped(RecvDrop::Truncated);
                    }
                    return Received::Ike {
                        source,
                        port,
                        local_port,
                    };
                }
                self.unprotect(source, Underlay::NatT, packet)
            }
            _ => Received::Dropped(RecvDrop::NotOurs),
        }
    }

    fn unprotect(&self, source: Ipv4Addr, underlay: Underlay, packet: &mut PacketBuf) -> Received {
        match self.protection.unprotect(source, underlay, packet) {
            Ok(()) => Received::Gre { source },
            Err(e) => Received::Dropped(RecvDrop::Protection(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// A stand-in IPsec layer: peers in `protected` need an SA; with one, packets get a
    /// 4-byte "ESP" header; cleartext GRE from a protected peer is refused.
    #[derive(Debug, Default)]
    struct FakeIpsec {
        protected: HashSet<Ipv4Addr>,
        up: Mutex<HashSet<Ipv4Addr>>,
    }

    impl Protection for FakeIpsec {
        fn protect(&self, peer: Ipv4Addr, p: &mut PacketBuf) -> Result<Underlay, ProtectionError> {
            if !self.protected.contains(&peer) {
                return Ok(Underlay::Gre);
            }
            if !self.up.lock().unwrap().contains(&peer) {
                return Err(ProtectionError::NoSa(peer));
            }
            p.prepend(4)?.copy_from_slice(b"ESP:");
            Ok(Underlay::Esp)
        }
        fn unprotect(
            &self,
            peer: Ipv4Addr,
            u: Underlay,
            p: &mut PacketBuf,
        ) -> Result<(), ProtectionError> {
            match (self.protected.contains(&peer), u) {
                (false, Underlay::Gre) => Ok(()),
                (true, Underlay::Esp | Underlay::NatT) if p.as_slice().starts_with(b"ESP:") => {
                    p.advance(4)?;
                    Ok(())
                }
                (true, _) => Err(ProtectionError::Integrity(peer)),
                (false, other) => Err(ProtectionError::Unexpected(peer, other)),
            }
        }
    }

    fn buf(data: &[u8]) -> PacketBuf {
        let mut b = PacketBuf::with_capacity(256);
        b.set(data).unwrap();
        b
    }

    #[test]
    fn without_protection_gre_is_sent_as_is() {
        let p = Protector::plain();
        let mut b = buf(b"gre");
        assert_eq!(
            p.outbound(ip("192.0.2.1"), 0, &mut b),
            Transmit::Send(Underlay::Gre)
        );
        assert_eq!(b.as_slice(), b"gre");
        assert!(p.take_negotiations().is_empty());
        let mut b = buf(b"esp");
        assert!(matches!(
            p.inbound(ip("192.0.2.1"), IPPROTO_ESP, &mut b),
            Received::Dropped(RecvDrop::Protection(ProtectionError::Unexpected(
                _,
                Underlay::Esp
            )))
        ));
        let mut b = buf(b"gre");
        assert_eq!(
            p.inbound(ip("192.0.2.1"), IPPROTO_GRE, &mut b),
            Received::Gre {
                source: ip("192.0.2.1")
            }
        );
        assert_eq!(
            p.inbound(ip("192.0.2.1"), 6, &mut b),
            Received::Dropped(RecvDrop::NotOurs)
        );
    }

    #[test]
    fn no_sa_queues_and_requests_negotiation_never_cleartext() {
        let peer = ip("192.0.2.12");
        let ipsec = Arc::new(FakeIpsec {
            protected: [peer].into(),
            ..FakeIpsec::default()
        });
        let p = Protector::new(ipsec.clone(), 2);
        for i in 0..3u8 {
            let mut b = buf(&[i]);
            assert_eq!(p.outbound(peer, i, &mut b), Transmit::Queued);
            assert_eq!(p.outbound(peer, i, &mut b).outcome(), SendOutcome::Queued);
        }
        assert_eq!(p.queued(peer), 2, "bounded: the oldest went");
        assert_eq!(p.take_negotiations(), vec![peer]);
        assert!(p.take_negotiations().is_empty());
        // An unprotected peer still goes in plain GRE.
        let mut b = buf(b"x");
        assert_eq!(
            p.outbound(ip("192.0.2.13"), 0, &mut b),
            Transmit::Send(Underlay::Gre)
        );

        // SA up: the held packets come back, and now leave as ESP.
        ipsec.up.lock().unwrap().insert(peer);
        let held = p.release(peer);
        assert_eq!(held, vec![(2, vec![2]), (2, vec![2])]);
        let mut b = buf(&held[0].1);
        assert_eq!(p.outbound(peer, 2, &mut b), Transmit::Send(Underlay::Esp));
        assert_eq!(b.as_slice(), b"ESP:\x02");
        assert_eq!(p.queued(peer), 0);
        assert_eq!(p.discard(peer), 0);
    }

    #[test]
    fn zero_queue_fails_closed() {
        let peer = ip("192.0.2.12");
        let p = Protector::new(
            Arc::new(FakeIpsec {
                protected: [peer].into(),
                ..FakeIpsec::default()
            }),
            0,
        );
        let mut b = buf(b"gre");
        assert_eq!(
            p.outbound(peer, 0, &mut b),
            Transmit::Dropped(DropReason::Unprotected)
        );
    }

    #[test]
    fn udp_is_demultiplexed_into_ike_and_esp_in_udp() {
        let peer = ip("192.0.2.12");
        let p = Protector::new(
            Arc::new(FakeIpsec {
                protected: [peer].into(),
                ..FakeIpsec::default()
            }),
            4,
        );
        let udp = |sport: u16, dport: u16, body: &[u8]| {
            let mut v = Vec::new();
            v.extend_from_slice(&sport.to_be_bytes());
            v.extend_from_slice(&dport.to_be_bytes());
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(body);
            buf(&v)
        };
        let mut b = udp(500, 500, b"ike");
        assert_eq!(
            p.inbound(peer, IPPROTO_UDP, &mut b),
            Received::Ike {
                source: peer,
                port: 500,
                local_port: 500
            }
        );
        assert_eq!(b.as_slice(), b"ike");
        let mut b = udp(4501, 4500, b"\0\0\0\0ike");
        assert_eq!(
            p.inbound(peer, IPPROTO_UDP, &mut b),
            Received::Ike {
                source: peer,
                port: 4501,
                local_port: 4500
            }
        );
        assert_eq!(b.as_slice(), b"ike");
        let mut b = udp(4501, 4500, b"ESP:gre");
        assert_eq!(
            p.inbound(peer, IPPROTO_UDP, &mut b),
            Received::Gre { source: peer }
        );
        assert_eq!(b.as_slice(), b"gre");
        let mut b = udp(53, 53, b"dns");
        assert_eq!(
            p.inbound(peer, IPPROTO_UDP, &mut b),
            Received::Dropped(RecvDrop::NotOurs)
        );
        let mut b = buf(&[0, 1, 2]);
        assert_eq!(
            p.inbound(peer, IPPROTO_UDP, &mut b),
            Received::Dropped(RecvDrop::Truncated)
        );
        // Cleartext GRE from a protected peer is refused.
        let mut b = buf(b"gre");
        assert!(matches!(
            p.inbound(peer, IPPROTO_GRE, &mut b),
            Received::Dropped(RecvDrop::Protection(ProtectionError::Integrity(_)))
        ));
        assert_eq!(Underlay::NatT.udp_port(), Some(4500));
        assert_eq!(Underlay::Esp.ip_protocol(), 50);
    }
}

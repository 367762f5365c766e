//! One IKE SA's state: addresses, SPIs, negotiated suite and keys, the message-ID windows
//! (window size 1 both ways, RFC 7296 §2.3), the outstanding request with its
//! retransmission state, requests waiting for the window, and the cached last response.

use crate::auth::{Authenticated, Identity};
use crate::crypto::{Dh, SaKeys};
use crate::output::{IKE_PORT, NATT_PORT, SaState};
use crate::proposal::IkeSuite;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// An engine-internal handle for an IKE SA (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SaId(pub(crate) u64);

/// Where the SA is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Initiator: IKE_SA_INIT sent, waiting for the response.
    InitSent,
    /// Responder: IKE_SA_INIT answered, waiting for IKE_AUTH (half-open).
    InitReplied,
    /// Initiator: IKE_AUTH sent.
    AuthSent,
    /// IKE_AUTH done.
    Established,
    /// Superseded by a rekey or being deleted: only the delete exchange continues.
    Deleting,
}

/// A request this SA sends, in the order they wait for the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// Rekey the Child SA with this inbound SPI (0: create a new Child SA instead).
    RekeyChild(u32),
    /// Rekey the IKE SA.
    RekeyIke,
    /// Delete Child SAs (inbound SPIs).
    DeleteChild(u32),
    /// Delete this IKE SA.
    DeleteIke,
    /// Liveness check.
    Dpd,
}

/// State kept for the outstanding request until its response arrives.
#[derive(Debug)]
pub(crate) enum Pending {
    /// IKE_SA_INIT.
    Init,
    /// IKE_AUTH carrying the first Child SA (our SPI).
    Auth {
        /// Our inbound SPI of the first Child SA.
        child_spi: u32,
    },
    /// CREATE_CHILD_SA rekeying a Child SA.
    RekeyChild {
        /// Inbound SPI of the SA being replaced.
        old_spi: u32,
        /// Our inbound SPI of the new one.
        new_spi: u32,
        /// Our nonce.
        nonce: Vec<u8>,
        /// PFS key exchange.
        dh: Option<Dh>,
    },
    /// CREATE_CHILD_SA rekeying the IKE SA.
    RekeyIke {
        /// Our SPI of the new IKE SA.
        new_spi: u64,
        /// Our nonce.
        nonce: Vec<u8>,
        /// The key exchange.
        dh: Dh,
    },
    /// INFORMATIONAL with Delete payloads.
    Delete {
        /// Deleting the IKE SA itself.
        ike: bool,
        /// Inbound SPIs of deleted Child SAs.
        children: Vec<u32>,
    },
    /// Empty INFORMATIONAL (DPD).
    Dpd,
}

/// The outstanding request.
#[derive(Debug)]
pub(crate) struct Outstanding {
    pub(crate) msg_id: u32,
    /// The datagrams (more than one when fragmented), resent as they are.
    pub(crate) datagrams: Vec<Vec<u8>>,
    /// Retransmissions done.
    pub(crate) retries: u32,
    /// The current wait before the next retransmission.
    pub(crate) wait: Duration,
    pub(crate) what: Pending,
}

/// Material only needed while IKE_SA_INIT and IKE_AUTH run.
#[derive(Debug, Default)]
pub(crate) struct Handshake {
    /// Our key exchange (initiator: until the response; responder: consumed at once).
    pub(crate) dh: Option<Dh>,
    /// The IKE_SA_INIT request as sent or received (AUTH signs it).
    pub(crate) init_request: Vec<u8>,
    /// The IKE_SA_INIT response as sent or received.
    pub(crate) init_response: Vec<u8>,
    /// The cookie to echo (initiator).
    pub(crate) cookie: Option<Vec<u8>>,
    /// INVALID_KE_PAYLOAD restarts so far.
    pub(crate) ke_retries: u8,
    /// COOKIE restarts so far.
    pub(crate) cookie_retries: u8,
}

/// A rekey of this IKE SA by the peer that we answered (for §2.8.1 collisions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerRekey {
    /// The new SA we created as responder.
    pub(crate) new_sa: SaId,
}

/// One IKE SA.
#[derive(Debug)]
pub(crate) struct IkeSa {
    pub(crate) id: SaId,
    /// The peer's NBMA address (the table key): the address its datagrams come from.
    pub(crate) peer: Ipv4Addr,
    pub(crate) local: SocketAddrV4,
    pub(crate) remote: SocketAddrV4,
    /// We are the initiator of this SA (the original one, or the rekey's).
    pub(crate) initiator: bool,
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    pub(crate) phase: Phase,
    pub(crate) suite: Option<IkeSuite>,
    pub(crate) keys: Option<SaKeys>,
    pub(crate) ni: Vec<u8>,
    pub(crate) nr: Vec<u8>,
    pub(crate) hs: Handshake,
    /// We are behind a NAT.
    pub(crate) nat_local: bool,
    /// The peer is behind a NAT.
    pub(crate) nat_remote: bool,
    /// Both sides announced RFC 7383 fragmentation.
    pub(crate) fragmentation: bool,
    /// Our next request's message ID.
    pub(crate) next_msg_id: u32,
    pub(crate) outstanding: Option<Outstanding>,
    pub(crate) queue: VecDeque<Request>,
    /// The message ID we expect in the peer's next request.
    pub(crate) peer_msg_id: u32,
    /// Our last response (ID and datagrams), resent when the request comes again.
    pub(crate) last_response: Option<(u32, Vec<Vec<u8>>)>,
    pub(crate) created: Duration,
    pub(crate) established: Option<Duration>,
    /// When the SA's INIT was received or sent (INITIAL_CONTACT ordering).
    pub(crate) last_rx: Duration,
    pub(crate) peer_id: Option<Identity>,
    /// The peer rekeyed this SA and we answered.
    pub(crate) peer_rekey: Option<PeerRekey>,
    /// This SA replaced another through a rekey (its children came with it).
    pub(crate) rekeyed_from: Option<SaId>,
    /// Fragments being reassembled.
    pub(crate) reassembly: Option<crate::codec::Reassembly>,
    /// The peer sent INITIAL_CONTACT.
    pub(crate) initial_contact: bool,
    /// The engine sequence number at establishment (orders SAs for INITIAL_CONTACT).
    pub(crate) est_seq: u64,
    /// Proof that IKE_AUTH authenticated the peer (inherited through IKE rekeys).
    pub(crate) proof: Option<Authenticated>,
    /// Replaced by a rekey (either side's): its Child SAs moved on, it only waits for its
    /// Delete.
    pub(crate) superseded: bool,
    /// The group the peer asked for (INVALID_KE_PAYLOAD) in our last IKE rekey attempt.
    pub(crate) rekey_group: Option<dmvpn_crypto::DhGroup>,
}

impl IkeSa {
    /// A fresh SA on port 500.
    pub(crate) fn new(
        id: SaId,
        local: Ipv4Addr,
        remote: SocketAddrV4,
        initiator: bool,
        now: Duration,
    ) -> Self {
        IkeSa {
            id,
            peer: *remote.ip(),
            local: SocketAddrV4::new(local, IKE_PORT),
            remote,
            initiator,
            spi_i: 0,
            spi_r: 0,
            phase: if initiator {
                Phase::InitSent
            } else {
                Phase::InitReplied
            },
            suite: None,
            keys: None,
            ni: Vec::new(),
            nr: Vec::new(),
            hs: Handshake::default(),
            nat_local: false,
            nat_remote: false,
            fragmentation: false,
            next_msg_id: 0,
            outstanding: None,
            queue: VecDeque::new(),
            peer_msg_id: 0,
            last_response: None,
            created: now,
            established: None,
            last_rx: now,
            peer_id: None,
            peer_rekey: None,
            rekeyed_from: None,
            reassembly: None,
            initial_contact: false,
            est_seq: 0,
            proof: None,
            superseded: false,
            rekey_group: None,
        }
    }

    /// Our SPI.
    pub(crate) fn our_spi(&self) -> u64 {
        if self.initiator {
            self.spi_i
        } else {
            self.spi_r
        }
    }

    /// The smaller nonce of the two (RFC 7296 §2.8.1 compares these).
    pub(crate) fn min_nonce(&self) -> &[u8] {
        if self.ni <= self.nr {
            &self.ni
        } else {
            &self.nr
        }
    }

    pub(crate) fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Established)
    }

    pub(crate) fn is_half_open(&self) -> bool {
        matches!(self.phase, Phase::InitReplied)
    }

    pub(crate) fn nat(&self) -> bool {
        self.nat_local || self.nat_remote
    }

    /// Move IKE to port 4500 (NAT detected, from IKE_AUTH on).
    pub(crate) fn float(&mut self) {
        self.local.set_port(NATT_PORT);
        if self.remote.port() == IKE_PORT {
            self.remote.set_port(NATT_PORT);
        }
    }

    pub(crate) fn state(&self) -> SaState {
        match self.phase {
            Phase::InitSent | Phase::InitReplied => SaState::Init,
            Phase::AuthSent => SaState::Auth,
            Phase::Established => SaState::Established,
            Phase::Deleting => SaState::Deleting,
        }
    }

    /// Whether `Request` is already waiting or outstanding.
    pub(crate) fn has_request(&self, r: Request) -> bool {
        self.queue.contains(&r)
    }
}

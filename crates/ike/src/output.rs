//! What the engine hands back: [`Output`]s drained with [`crate::IkeEngine::poll_output`]
//! (datagrams to send, Child SAs to install or delete, protection up/down for NHRP, events
//! for logs), the [`EspEvent`] input from the data plane, and the views `show` commands
//! print. No output ever carries an IKE key; [`ChildSa`] carries ESP keys as
//! [`SecretBytes`], whose `Debug` is redacted.

use crate::config::Mode;
use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// The IKE port.
pub const IKE_PORT: u16 = 500;
/// The NAT-traversal port (RFC 3948): IKE with a four-byte zero non-ESP marker, and ESP in
/// UDP.
pub const NATT_PORT: u16 = 4500;

/// Something the caller must do. Drain with [`crate::IkeEngine::poll_output`] after every
/// input, in order: an [`Output::InstallChild`] for a rekeyed SA always comes before the
/// [`Output::DeleteChild`] of the SA it replaces.
#[derive(Debug)]
pub enum Output {
    /// Send a UDP datagram from `local` to `remote`. When either port is 4500 (NAT
    /// traversal) the caller prepends the four-byte zero non-ESP marker (RFC 3948 §2.2) —
    /// except for a NAT keepalive: a one-byte datagram `[0xFF]` (RFC 3948 §2.3), which the
    /// caller sends as it is (an IKE message is never one byte long).
    Send {
        /// Our address and port (500 or 4500).
        local: SocketAddrV4,
        /// The peer's address and port.
        remote: SocketAddrV4,
        /// The IKE message (without marker) or the keepalive byte.
        bytes: Vec<u8>,
    },
    /// Install a Child SA pair (both directions) in the data plane.
    InstallChild(ChildSa),
    /// Remove a Child SA pair from the data plane.
    DeleteChild {
        /// The peer's NBMA address.
        peer: Ipv4Addr,
        /// Our inbound SPI.
        spi_in: u32,
        /// Our outbound SPI (the peer's inbound).
        spi_out: u32,
    },
    /// Protection to `peer` is up: at least one Child SA is installed
    /// (feed NHRP's `handle_protection(peer, true)`).
    ProtectionUp {
        /// The peer's NBMA address.
        peer: Ipv4Addr,
    },
    /// Protection to `peer` is gone: its last Child SA was deleted
    /// (feed NHRP's `handle_protection(peer, false)`).
    ProtectionDown {
        /// The peer's NBMA address.
        peer: Ipv4Addr,
    },
    /// Something worth logging.
    Event(IkeEvent),
}

/// ESP in UDP (RFC 3948), when a NAT was detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpEncap {
    /// Our port (4500).
    pub local_port: u16,
    /// The peer's port (4500, or what its NAT mapped it to).
    pub remote_port: u16,
}

/// A negotiated Child SA pair, ready for the data plane.
#[derive(Debug, Clone)]
pub struct ChildSa {
    /// The peer's NBMA address (outer destination).
    pub peer: Ipv4Addr,
    /// Our NBMA address (outer source).
    pub local: Ipv4Addr,
    /// The SPI we receive on (we chose it).
    pub spi_in: u32,
    /// The SPI we send with (the peer chose it).
    pub spi_out: u32,
    /// The cipher.
    pub encryption: Encryption,
    /// The integrity algorithm (`None` with AES-GCM).
    pub integrity: Option<Integrity>,
    /// Cipher key for inbound packets (for AES-GCM: key ‖ 4-byte salt).
    pub enc_key_in: SecretBytes,
    /// Integrity key for inbound packets (empty with AES-GCM).
    pub integ_key_in: SecretBytes,
    /// Cipher key for outbound packets.
    pub enc_key_out: SecretBytes,
    /// Integrity key for outbound packets.
    pub integ_key_out: SecretBytes,
    /// Transport or tunnel mode.
    pub mode: Mode,
    /// Extended sequence numbers.
    pub esn: bool,
    /// Soft lifetime (the engine rekeys then; a data-plane soft expiry may come earlier).
    pub soft_lifetime: Duration,
    /// Hard lifetime.
    pub hard_lifetime: Duration,
    /// Soft volume limit in kilobytes (report [`EspEvent::SoftExpired`] when reached).
    pub soft_kilobytes: u64,
    /// Hard volume limit in kilobytes (report [`EspEvent::HardExpired`]).
    pub hard_kilobytes: u64,
    /// Anti-replay window in packets.
    pub replay_window: u32,
    /// UDP encapsulation, when a NAT is on the path.
    pub encap: Option<UdpEncap>,
    /// We created it answering the peer's rekey: the peer installs it only when our
    /// response arrives, so outbound traffic should stay on the pair it replaces until
    /// the peer uses this one (or deletes the old one).
    pub defer_outbound: bool,
}

/// An input from the data plane about ESP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EspEvent {
    /// A Child SA reached its soft limit (volume, usually): rekey it.
    SoftExpired {
        /// Our inbound SPI of the SA.
        spi_in: u32,
    },
    /// A Child SA reached its hard limit and was removed by the data plane.
    HardExpired {
        /// Our inbound SPI of the SA.
        spi_in: u32,
    },
    /// An ESP packet from `peer` carried an SPI we do not know: the peer probably
    /// restarted (or lost its SAs). Without an IKE SA with the peer the engine starts
    /// one (with INITIAL_CONTACT, so the peer drops its stale SAs); with one, it checks it
    /// with a liveness probe.
    InvalidSpi {
        /// Outer source.
        peer: Ipv4Addr,
        /// Outer destination (our NBMA address), for a new negotiation.
        local: Ipv4Addr,
        /// The unknown SPI.
        spi: u32,
    },
    /// On-demand DPD: traffic went to `peer` without anything coming back for the DPD
    /// interval.
    DpdCheck {
        /// The peer's NBMA address.
        peer: Ipv4Addr,
    },
}

/// Why an IKE SA went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// We deleted it (release, clear, replaced by a rekey or a duplicate).
    Local,
    /// The peer deleted it.
    PeerDeleted,
    /// A request went unanswered after every retransmission.
    Timeout,
    /// DPD found the peer dead.
    PeerDead,
    /// Authentication failed.
    AuthFailed,
    /// The hard lifetime ran out before a rekey.
    Expired,
    /// The peer started over (INITIAL_CONTACT, or an SPI it no longer knows).
    PeerRestarted,
    /// Negotiation failed (no proposal, bad message, ...).
    Failed,
}

/// A notable occurrence, for `%CRYPTO-…` lines and debugging. Never carries secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IkeEvent {
    /// An IKE SA finished IKE_AUTH.
    SaUp {
        /// Peer.
        peer: Ipv4Addr,
        /// Our SPI.
        spi: u64,
        /// Whether we initiated.
        initiator: bool,
    },
    /// An IKE SA was deleted.
    SaDown {
        /// Peer.
        peer: Ipv4Addr,
        /// Our SPI.
        spi: u64,
        /// Why.
        reason: DownReason,
    },
    /// A Child SA was installed.
    ChildUp {
        /// Peer.
        peer: Ipv4Addr,
        /// Our inbound SPI.
        spi_in: u32,
        /// The peer's inbound SPI.
        spi_out: u32,
        /// Whether it replaces another (rekey).
        rekey: bool,
    },
    /// A Child SA was deleted.
    ChildDown {
        /// Peer.
        peer: Ipv4Addr,
        /// Our inbound SPI.
        spi_in: u32,
    },
    /// An IKE SA was rekeyed.
    IkeRekeyed {
        /// Peer.
        peer: Ipv4Addr,
        /// The old SA's SPI (ours).
        old_spi: u64,
        /// The new SA's SPI (ours).
        new_spi: u64,
    },
    /// The peer's AUTH payload did not verify, or the peer said ours did not.
    AuthFailed {
        /// Peer.
        peer: Ipv4Addr,
        /// Whether the peer reported it (AUTHENTICATION_FAILED received).
        by_peer: bool,
    },
    /// No acceptable proposal (IKE or ESP).
    NoProposalChosen {
        /// Peer.
        peer: Ipv4Addr,
        /// Whether the peer reported it.
        by_peer: bool,
    },
    /// Traffic selectors were unacceptable.
    TsUnacceptable {
        /// Peer.
        peer: Ipv4Addr,
    },
    /// The peer asked for another DH group; IKE_SA_INIT is sent again with it.
    InvalidKe {
        /// Peer.
        peer: Ipv4Addr,
        /// The group it asked for.
        group: u16,
    },
    /// A request was retransmitted.
    Retransmit {
        /// Peer.
        peer: Ipv4Addr,
        /// Which retransmission (1-based).
        count: u32,
    },
    /// A request went unanswered; the SA is deleted.
    RetransmitGiveUp {
        /// Peer.
        peer: Ipv4Addr,
    },
    /// DPD found the peer dead.
    PeerDead {
        /// Peer.
        peer: Ipv4Addr,
    },
    /// We answered an IKE_SA_INIT with a COOKIE (too many half-open SAs).
    CookieSent {
        /// Peer.
        peer: Ipv4Addr,
    },
    /// A NAT was detected on the path; IKE moves to port 4500.
    NatDetected {
        /// Peer.
        peer: Ipv4Addr,
        /// This node is behind the NAT.
        local_behind: bool,
        /// The peer is behind a NAT.
        peer_behind: bool,
    },
    /// A received datagram was dropped.
    Dropped {
        /// Outer source.
        peer: Ipv4Addr,
        /// Why.
        reason: DropReason,
    },
    /// A new IKE SA was refused (limits).
    Refused {
        /// Peer.
        peer: Ipv4Addr,
    },
    /// The peer signalled an error notify we did not otherwise handle.
    PeerError {
        /// Peer.
        peer: Ipv4Addr,
        /// Notify type.
        notify: u16,
    },
}

/// Why a received datagram was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// It did not parse.
    Malformed,
    /// No IKE SA has its SPI.
    UnknownSpi,
    /// The message ID is neither the expected one nor a retransmission.
    MessageId,
    /// Integrity check or decryption failed.
    Integrity,
    /// A message not expected in the SA's state.
    Unexpected,
    /// Too many half-open SAs.
    HalfOpen,
    /// A response to nothing we sent.
    StrayResponse,
    /// The major version is not 2.
    Version,
}

/// The state of an IKE SA as `show crypto ikev2 sa` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaState {
    /// IKE_SA_INIT in progress.
    Init,
    /// IKE_AUTH in progress.
    Auth,
    /// Established ("READY").
    Established,
    /// Being rekeyed (superseded) or deleted.
    Deleting,
}

/// One IKE SA for `show crypto ikev2 sa`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeSaView {
    /// Our address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
    /// Initiator SPI.
    pub spi_i: u64,
    /// Responder SPI.
    pub spi_r: u64,
    /// Whether we are the (original or rekey) initiator.
    pub initiator: bool,
    /// State.
    pub state: SaState,
    /// Negotiated cipher.
    pub encryption: Option<Encryption>,
    /// Negotiated integrity.
    pub integrity: Option<Integrity>,
    /// Negotiated PRF.
    pub prf: Option<Prf>,
    /// Negotiated group.
    pub dh_group: Option<DhGroup>,
    /// A NAT was detected (either side).
    pub nat: bool,
    /// Time since establishment (or creation while negotiating).
    pub age: Duration,
    /// Configured lifetime.
    pub lifetime: Duration,
    /// The peer's identity, once authenticated.
    pub peer_id: Option<String>,
    /// Number of Child SAs.
    pub children: usize,
}

/// One Child SA for `show crypto ipsec sa`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildSaView {
    /// Peer.
    pub peer: Ipv4Addr,
    /// Local address.
    pub local: Ipv4Addr,
    /// Inbound SPI.
    pub spi_in: u32,
    /// Outbound SPI.
    pub spi_out: u32,
    /// Cipher.
    pub encryption: Encryption,
    /// Integrity.
    pub integrity: Option<Integrity>,
    /// Mode.
    pub mode: Mode,
    /// ESN.
    pub esn: bool,
    /// UDP-encapsulated.
    pub encap: bool,
    /// Time since installation.
    pub age: Duration,
    /// Time left before the hard lifetime.
    pub remaining: Duration,
    /// The SPI of the IKE SA it belongs to (ours).
    pub ike_spi: u64,
}

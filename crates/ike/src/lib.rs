//! IKEv2 (RFC 7296) for the DMVPN router: the message codec ([`wire`]: zero-copy views and
//! owned representations of the header, the payload chain and every payload, for tools,
//! tests and fuzzing) and a sans-IO engine ([`IkeEngine`]) that negotiates IKE and Child SAs
//! for GRE between two NBMA addresses.
//!
//! Like the NHRP engine, nothing here touches a socket or reads a clock: the caller feeds
//! datagrams ([`IkeEngine::handle_datagram`]), NHRP's protection requests
//! ([`IkeEngine::protect`], [`IkeEngine::release`]), data-plane events
//! ([`IkeEngine::handle_esp_event`]) and the current time, and drains [`Output`]s —
//! datagrams to send, Child SAs to install or delete, protection up/down for NHRP, events
//! for logs — then arms a timer for [`IkeEngine::poll_timeout`]. Randomness comes from the
//! [`dmvpn_crypto::Random`] given at construction, so a seeded generator makes runs
//! reproducible.
//!
//! What is negotiated: PSK authentication ([`Authenticator`]) with ID_IPV4_ADDR identities,
//! one ESP Child SA per peer for host-to-host GRE (transport mode preferred), NAT traversal
//! (port 4500, UDP-encapsulated ESP, keepalives), COOKIE under half-open load,
//! INVALID_KE_PAYLOAD retries, retransmission with backoff, DPD, Child and IKE SA rekeys
//! (make-before-break, simultaneous rekeys per §2.8.1), Delete, INITIAL_CONTACT, and RFC
//! 7383 fragmentation when both sides announce it.

pub mod auth;
mod child;
mod codec;
pub mod config;
mod cookie;
mod crypto;
mod engine;
mod exchange;
mod msg;
pub mod output;
mod proposal;
mod receive;
mod sa;
mod send;
mod timer;
pub mod wire;

pub use auth::{AuthError, Authenticator, Identity, Keyring, KeyringEntry, PresharedKey};
pub use config::{
    ChildTransform, ConfigError, DpdConfig, DpdMode, IkeConfig, IkeProposal, Limits, Mode,
    RetransmitConfig,
};
pub use engine::IkeEngine;
pub use output::{
    ChildSa, ChildSaView, DownReason, DropReason, EspEvent, IKE_PORT, IkeEvent, IkeSaView,
    NATT_PORT, Output, SaState, UdpEncap,
};

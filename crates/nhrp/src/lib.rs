//! # dmvpn-nhrp: the sans-IO NHRP engine
//!
//! A pure state machine implementing NHRP (RFC 2332) as DMVPN uses it: the Next Hop Client
//! (registration), the Next Hop Server (registration cache), resolution (phase 2 and 3),
//! purge, Error Indications, Cisco redirect (Traffic Indication) and shortcuts. It opens no
//! socket, reads no clock and draws no random number: bytes, time and events go in; bytes,
//! actions and timer deadlines come out. One [`Engine`] serves one node with any number of
//! tunnel interfaces.
//!
//! ## Call contract
//!
//! * **Inputs** (`handle_*`, each with `now: Instant`, which must never go backwards):
//!   [`Engine::handle_packet`] (received NHRP bytes + outer source), [`Engine::handle_timeout`]
//!   (spurious calls are harmless), [`Engine::handle_traffic`] (the data plane needs an NBMA
//!   next hop), [`Engine::handle_hairpin`] (hub redirect trigger),
//!   [`Engine::handle_nbma_change`], [`Engine::handle_protection`] (the IPsec gate),
//!   [`Engine::handle_route`], [`Engine::update_config`], [`Engine::clear`],
//!   [`Engine::shutdown`] (purge our registrations before stopping).
//! * **Outputs**, pulled after every input: drain [`Engine::poll_action`] until `None`
//!   ([`Action::Send`], mapping and shortcut add/remove, protection needed/not needed,
//!   multicast membership, [`Event`]s), then arm one timer at [`Engine::poll_timeout`].
//!   A fresh engine's `poll_timeout` is the epoch: the first `handle_timeout(now)` installs
//!   static mappings and starts registrations.
//! * **Data plane**: [`Engine::resolve_nbma`] answers [`Lookup::Direct`] for a binding and
//!   [`Lookup::ViaNhs`] while a resolution is pending, so nothing is dropped.
//! * **Show**: [`Engine::cache_entries`], [`Engine::nhs_status`], [`Engine::shortcuts`],
//!   [`Engine::traffic`], [`Engine::interfaces`] return serde snapshots.
//!
//! ## Behaviour at a glance (constants in the role modules)
//!
//! | What | Value |
//! |---|---|
//! | Registration refresh | `registration timeout`, else holdtime/3 |
//! | Registration retransmission | 1, 2, 4, 8, 16, 32, 64 s, then every 64 s (same Request ID) |
//! | NHS DOWN | after 3 unanswered requests; UP on the next reply |
//! | Code 14 | Purge Request (N flag) for the old binding, re-register after 1 s |
//! | Resolution retries | 1, 2, 4, 8, 8 s (six sends), then a 30 s negative entry; at most 1024 in flight per interface |
//! | Negative reply (code 12) | sent with a 60 s holding time; cached for the received holding time clamped to 15..180 s; a redirect overrides a negative entry older than 15 s |
//! | Error Indication 3, 6 or 15 for a resolution | ends it at once (negative entry) |
//! | Cache refresh | an entry used in its last 60 s is resolved again |
//! | Redirect rate limit | one Traffic Indication per (source, destination) per 5 s |
//! | max-send | default 100 packets per 10 s per interface, all packet types |
//! | Hop counts | 1 for Registration Requests and Traffic Indications, 64 otherwise |
//! | Protection gate | up to 32 packets queued per peer until `handle_protection(up)` |
//!
//! Phase 3 needs the hub to know which spoke owns a destination: give it routes via the tunnel
//! ([`InterfaceConfig::routes`] or [`Engine::handle_route`]). A spoke answers for its own
//! tunnel address and [`InterfaceConfig::local_networks`], and keeps a `local` record of whom it
//! told, purged when the network is withdrawn. Redirect targets come from the cache or routes,
//! or directly from the data plane with [`Engine::handle_hairpin_from`].
//!
//! ## Determinism
//!
//! The same configuration, seed and input sequence give the same outputs: maps whose order
//! could leak into outputs are ordered, and the only "random" value (the first Request ID)
//! derives from the seed passed to [`Engine::new`].
//!
//! ## Scope
//!
//! IPv4 protocol and NBMA addresses. Packets with other address families are counted and
//! dropped ([`DropReason::Unsupported`]).
//!
//! ## Module map (one role per file)
//!
//! `config` (pure-data configuration), `engine` (state, inputs, outputs, getters), `cache`
//! (entries, kinds, flags, longest-prefix lookup), `nhc` (registration client), `nhs`
//! (registration server), `resolution`, `redirect`, `purge`, `errind` (Error Indications),
//! `auth` (Cisco cleartext authentication), `gate` (send path: max-send and protection),
//! `counters`, `timer` (named deadlines), `reqid` (Request IDs and retransmission), `codec`
//! (wire ↔ [`Message`]), `packet` (the message model), `show` (snapshots), `time`.

#![warn(missing_docs, unreachable_pub)]
// Nested `if let`s read as a sequence of guards in the role handlers.
#![allow(clippy::collapsible_if)]

mod action;
mod auth;
mod budget;
mod cache;
pub mod codec;
mod config;
mod counters;
mod engine;
mod errind;
mod error;
mod gate;
mod nhc;
mod nhs;
pub mod packet;
mod purge;
mod redirect;
mod reqid;
mod resolution;
mod show;
mod time;
mod timer;

pub use action::{Action, CieCode, ClearReport, ClearRequest, Event, Lookup, RemoveReason};
pub use budget::{
    ESTABLISHED_MIN_AGE, TRAFFIC_INDICATION_BURST, TRAFFIC_INDICATION_RATE, UNKNOWN_SOURCE_BURST,
    UNKNOWN_SOURCE_RATE,
};
pub use cache::{EntryFlags, EntryKind};
pub use config::{
    EngineConfig, IfIndex, InterfaceConfig, MaxSend, MulticastMap, NhsConfig, Prefix, StaticMap,
    TunnelRoute,
};
pub use counters::{PacketCounts, TrafficStats};
pub use engine::Engine;
pub use error::{DropReason, EngineError};
pub use packet::{Message, PacketType};
pub use redirect::REDIRECT_HOLDOFF;
pub use resolution::MAX_PENDING_RESOLUTIONS;
pub use show::{CacheEntryView, InterfaceView, NhsState, NhsView, ShortcutView};
pub use time::Instant;

//! `dmvpn-mgmt`: the control API between the `dmvpn` CLI and the daemon, and
//! the Cisco-style text renderers.
//!
//! Layers, from the wire up:
//! - [`proto`]: the control protocol. Newline-delimited JSON over a Unix
//!   stream socket, one [`Request`] line answered by one [`Response`] line,
//!   both carrying `"version": 1` ([`PROTOCOL_VERSION`]). Codec functions
//!   [`encode_request`], [`decode_request`], [`encode_response`],
//!   [`decode_response`].
//! - [`state`] and [`debug`]: the snapshot types the daemon fills from the
//!   NHRP engine and the data plane ([`DmvpnStatus`], [`NhrpCacheEntry`],
//!   [`NhsStatus`], [`NhrpTraffic`], [`Shortcut`], [`DebugConditions`]…).
//!   Plain data with serde; snake_case field names documented in
//!   `docs/cli.md`, JSON Schemas in `crates/mgmt/schemas/`.
//! - [`server`]: the daemon's side. Implement [`Handler`] (every method has
//!   an "unsupported" default) and feed request lines to [`serve_line`];
//!   [`dispatch`] applies the show filters of [`filter`] for you.
//! - [`client`]: a blocking [`Client`] with timeouts and a clear message when
//!   no daemon listens.
//! - [`render`] and [`time`]: the text layouts of `show dmvpn [detail]`,
//!   `show ip nhrp [brief]`, `show ip nhrp nhs [detail]`,
//!   `show ip nhrp traffic`, `show ip nhrp shortcut` and
//!   `show dmvpn debug-condition`, with IOS time formats (`00:57:27`,
//!   `1d02h`, `3w0d`, `never`).
//!
//! Nothing here panics on input: decoding errors are typed
//! ([`ProtocolError`], [`ClientError`]) and renderers accept any snapshot.

pub mod client;
pub mod crypto;
pub mod debug;
pub mod filter;
pub mod proto;
pub mod render;
pub mod schema;
pub mod server;
pub mod state;
pub mod time;

pub use client::{Client, ClientError, DEFAULT_TIMEOUT};
pub use crypto::{
    ClearCryptoSession, CryptoSession, CryptoSessionReport, IkeSaEntry, IkeSaReport, IkeSaStatus,
    IkeTunnelCounters, IpsecCounters, IpsecPeer, IpsecSaPair, IpsecSaReport, SessionDirection,
    SessionStatus, ShowCryptoIkev2Sa, ShowCryptoIpsecSa, ShowCryptoSession,
};
pub use debug::{
    CaptureStatus, DebugCommand, DebugCondition, DebugConditions, DebugLevels, DmvpnDebug,
    DmvpnDebugLevel, DmvpnDebugScope, NhrpDebug, NhrpDebugKind,
};
pub use proto::{
    ClearCounters, ClearDmvpnSession, ClearDmvpnStatistics, ClearIpNhrp, DebugRequest,
    InterfaceFilter, MAX_REQUEST_LINE, MAX_RESPONSE_LINE, PROTOCOL_VERSION, Payload, PeerFilter,
    ProtocolError, Request, RequestEnvelope, Response, ResponseEnvelope, ShowDmvpn, ShowIpNhrp,
    ShowNhs, decode_request, decode_response, encode_request, encode_response, normalize_interface,
};
pub use server::{Handler, HandlerError, dispatch, serve_line, serve_stream};
pub use state::{
    Ack, CacheFlags, DmvpnEntry, DmvpnInterface, DmvpnPeer, DmvpnStatus, EntryType, GreDrops,
    MaxSend, NhrpCache, NhrpCacheEntry, NhrpTraffic, NhrpTypeCounters, NhsReport, NhsState,
    NhsStatus, PacketCounters, PeerAttributes, PeerState, PendingSession, Prefix, RunningConfig,
    Shortcut, ShortcutTable, TrafficReport, TunnelRole,
};

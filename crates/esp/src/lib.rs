//! ESP in userspace (RFC 4303 with AES-GCM from RFC 4106 and AES-CBC with HMAC; ESP in UDP
//! from RFC 3948): the packet codec, security associations (sequence numbers, anti-replay
//! window, extended sequence numbers, lifetimes, counters), and the fail-closed
//! [`dmvpn_forwarding::transport::Protection`] of the mGRE transport.
//!
//! * [`wire`]: the zero-copy ESP packet view, payload layout and trailer.
//! * [`replay`]: the anti-replay window with ESN inference.
//! * [`lifetime`]: soft and hard limits in time, bytes and packets, and the idle timeout.
//! * [`sa`]: [`SaPair`] = [`OutboundSa`] + [`InboundSa`], encapsulation and decapsulation
//!   in place in a [`dmvpn_forwarding::PacketBuf`].
//! * [`protection`]: [`EspProtection`], the SA table behind the `Protection` trait.

pub mod counters;
mod inner;
pub mod lifetime;
pub mod protection;
pub mod replay;
pub mod sa;
pub mod wire;

pub use counters::SaCounters;
pub use lifetime::{Lifetime, LifetimeLimits, Limit, Usage};
pub use protection::{EspEvent, EspProtection, Expiry, InstallError, ProtectionStats, SaSnapshot};
pub use replay::{DEFAULT_WINDOW, MAX_WINDOW, MIN_WINDOW, ReplayError, ReplayWindow};
pub use sa::{EspError, InboundSa, Mode, Opened, OutboundSa, SaError, SaPair, SaSpec};

//! The protection seam between GRE encapsulation and the NBMA sockets, re-exported from
//! the pure forwarding crate where it lives (`dmvpn_forwarding::transport`).
//!
//! Every GRE packet on its way to a peer passes [`Protection::protect`] inside the NBMA
//! transport ([`crate::nbma::NbmaTransport`]), which turns its answer into a
//! [`crate::SendOutcome`]: sent, queued while protection comes up (never sent in clear),
//! or dropped. [`PassThrough`] (no protection configured) is the default: plain GRE.

pub use dmvpn_forwarding::buf::{HEADROOM, NoRoom, PacketBuf, TAILROOM};
pub use dmvpn_forwarding::transport::{
    PassThrough, Protection, ProtectionError, Protector, Received, RecvDrop, Transmit, Underlay,
};

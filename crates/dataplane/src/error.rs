//! The error type of the data plane's I/O edge.

use std::io;
use std::net::Ipv4Addr;

/// Errors from building or running a tunnel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TUN device could not be created or configured.
    #[error("TUN device {name}: {source}")]
    Tun {
        /// The device name.
        name: String,
        /// The OS error.
        source: io::Error,
    },
    /// The raw GRE socket could not be opened or bound.
    #[error("raw GRE socket on {local}: {source}")]
    Socket {
        /// The local address.
        local: Ipv4Addr,
        /// The OS error.
        source: io::Error,
    },
    /// Opening a netlink socket failed.
    #[error("netlink socket: {0}")]
    Netlink(io::Error),
    /// A netlink request failed.
    #[error("netlink request: {0}")]
    NetlinkRequest(String),
    /// The kernel closed a netlink subscription.
    #[error("netlink subscription closed")]
    NetlinkClosed,
    /// The configuration is unusable.
    #[error("invalid tunnel configuration: {0}")]
    Config(String),
    /// No tunnel source address is available (the source interface has no IPv4 address).
    #[error("tunnel source has no IPv4 address")]
    NoSource,
    /// The NBMA transport did not send a packet (encapsulation, protection or the
    /// socket refused it).
    #[error("send to {peer}: {reason}")]
    Encapsulation {
        /// The peer.
        peer: Ipv4Addr,
        /// Why.
        reason: String,
    },
    /// An I/O error on the TUN device while running.
    #[error("TUN device I/O: {0}")]
    TunIo(io::Error),
    /// An I/O error on the GRE socket while running.
    #[error("GRE socket I/O: {0}")]
    SocketIo(io::Error),
}

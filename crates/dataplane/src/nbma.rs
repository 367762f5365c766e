//! The NBMA transport: the component that owns the underlay sockets of a tunnel source.
//!
//! [`NbmaTransport`] sends every GRE packet through the pure [`Protector`] (per-peer
//! protection: plain GRE, transformed, or queued while protection comes up) and then on the
//! socket of the underlay it names, and answers with a [`SendOutcome`]. Today it owns one
//! socket, [`GreSocket`] (a raw IPv4 socket for IP protocol 47 bound to the tunnel source
//! address; the kernel builds the outer IP header on send, received packets arrive with
//! their IP header). ESP (IP 50) and UDP 500/4500 sockets join it when IPsec lands: the
//! [`Underlay`] enum names them, [`Protector::inbound`] already demultiplexes them, and a
//! packet for an underlay without a socket is dropped with a reason, never sent otherwise.

use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use std::sync::Arc;

use crate::packet::Ipv4Info;
use crate::protection::{PacketBuf, Protector, Transmit, Underlay};
use crate::{DropReason, SendOutcome};

/// Receive and send buffer size asked for on the raw socket.
const RECV_BUFFER: usize = 4 << 20;

pub use dmvpn_forwarding::transport::IPPROTO_GRE;

/// A raw GRE socket bound to one local (tunnel source) address.
#[derive(Debug)]
pub struct GreSocket {
    fd: AsyncFd<Socket>,
    local: Ipv4Addr,
}

/// A GRE packet received from the NBMA side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The outer source address (the peer's NBMA address).
    pub source: Ipv4Addr,
    /// The outer destination address.
    pub destination: Ipv4Addr,
    /// Offset of the GRE header in the receive buffer (after the outer IP header).
    pub gre_offset: usize,
    /// End of the packet in the receive buffer.
    pub end: usize,
}

impl GreSocket {
    /// Opens a raw GRE socket bound to `local` (which need not be configured yet). Needs
    /// CAP_NET_RAW. Must be called inside a tokio runtime.
    pub fn bind(local: Ipv4Addr) -> io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_GRE))),
        )?;
        socket.set_nonblocking(true)?;
        // A fixed `tunnel source` address may not be configured yet (interfaces come up in
        // any order): bind anyway; traffic flows once the address exists.
        socket.set_freebind_v4(true)?;
        // Bursts of GRE from many peers arrive faster than one task drains them: a larger
        // receive buffer trades memory for fewer drops (the kernel caps it at rmem_max).
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
        let _ = socket.set_send_buffer_size(RECV_BUFFER);
        socket.bind(&SockAddr::from(SocketAddrV4::new(local, 0)))?;
        // Let the kernel fragment outer packets when the NBMA path is smaller than expected
        // rather than refuse them: inner DF handling is done against the configured MTU.
        set_pmtudisc_dont(&socket)?;
        // SAFETY: `socket` is an owned, open socket2::Socket; the AsyncFd takes ownership of
        // it, so its descriptor stays open and unchanged for the AsyncFd's whole lifetime and
        // is never swapped out (we never hand out `get_mut`).
        let fd = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Self { fd, local })
    }

    /// The bound local address.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// Sends one GRE packet (GRE header first) to `peer`. Raw sends do not block on a
    /// healthy interface; a full socket buffer is reported as `WouldBlock` and the packet
    /// is dropped by the caller (as a router drops on a full queue).
    pub fn send_to(&self, packet: &[u8], peer: Ipv4Addr) -> io::Result<usize> {
        self.fd
            .get_ref()
            .send_to(packet, &SockAddr::from(SocketAddrV4::new(peer, 0)))
    }

    /// Sends like [`GreSocket::send_to`] with the outer header's TOS byte set to `tos`
    /// (an `IP_TOS` control message; the socket default is used when `tos` is 0).
    pub fn send_to_tos(&self, packet: &[u8], peer: Ipv4Addr, tos: u8) -> io::Result<usize> {
        use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrIn, sendmsg};
        use std::os::fd::AsRawFd;
        if tos == 0 {
            return self.send_to(packet, peer);
        }
        let iov = [io::IoSlice::new(packet)];
        let cmsg = [ControlMessage::Ipv4Tos(&tos)];
        let addr = SockaddrIn::from(SocketAddrV4::new(peer, 0));
        sendmsg(
            self.fd.get_ref().as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::empty(),
            Some(&addr),
        )
        .map_err(io::Error::from)
    }

    /// Receives one packet into `buf` (outer IP header included) and locates the GRE
    /// header. Packets that are not IPv4/GRE are skipped.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            let n = match guard.try_io(|inner| inner.get_ref().read(buf)) {
                Ok(result) => result?,
                Err(_would_block) => continue,
            };
            let Some(packet) = buf.get(..n) else {
                continue;
            };
            let Ok(ip) = Ipv4Info::parse(packet) else {
                continue;
            };
            if ip.protocol != IPPROTO_GRE {
                continue;
            }
            return Ok(Received {
                source: ip.src,
                destination: ip.dst,
                gre_offset: ip.header_len,
                end: ip.total_len,
            });
        }
    }
}

fn set_pmtudisc_dont(socket: &Socket) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value: libc::c_int = libc::IP_PMTUDISC_DONT;
    // SAFETY: `socket` is a valid open descriptor for the duration of the call; the option
    // value points to a live c_int and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            (&raw const value).cast(),
            libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The underlay sockets of one tunnel source and the protection in front of them.
#[derive(Debug)]
pub struct NbmaTransport {
    gre: GreSocket,
    protector: Arc<Protector>,
}

impl NbmaTransport {
    /// A transport sending through `protector` on the GRE socket `gre`.
    pub fn new(gre: GreSocket, protector: Arc<Protector>) -> Self {
        Self { gre, protector }
    }

    /// The tunnel source address the sockets are bound to.
    pub fn local(&self) -> Ipv4Addr {
        self.gre.local()
    }

    /// The GRE socket (for the receive task).
    pub fn gre(&self) -> &GreSocket {
        &self.gre
    }

    /// The protection state.
    pub fn protector(&self) -> &Arc<Protector> {
        &self.protector
    }

    /// Protects the GRE packet in `packet` for `peer` and sends it with outer TOS `tos`.
    pub fn send(&self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome {
        if peer == self.gre.local() {
            // A mapping to our own NBMA address would loop packets through the kernel.
            return SendOutcome::Dropped(DropReason::Io(
                "peer is this node's own NBMA address".into(),
            ));
        }
        match self.protector.outbound(peer, tos, packet) {
            Transmit::Send(Underlay::Gre) => {
                match self.gre.send_to_tos(packet.as_slice(), peer, tos) {
                    Ok(_) => SendOutcome::Sent,
                    Err(e) => SendOutcome::Dropped(DropReason::Io(e.to_string())),
                }
            }
            Transmit::Send(other) => SendOutcome::Dropped(DropReason::Io(format!(
                "no {other:?} socket on this transport"
            ))),
            other => other.outcome(),
        }
    }
}

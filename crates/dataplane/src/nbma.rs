//! The NBMA transport: the component that owns the underlay sockets of a tunnel source.
//!
//! [`NbmaTransport`] sends every GRE packet through the pure [`Protector`] (per-peer
//! protection: plain GRE, transformed into ESP, or queued while protection comes up) and then
//! on the socket of the underlay it names, and answers with a [`SendOutcome`]. Its sockets,
//! all bound to the tunnel source address:
//! - [`RawIpSocket`] for IP protocol 47 (GRE), always;
//! - with IPsec configured ([`crate::Protection::uses_ipsec`]): a raw socket for IP protocol
//!   50 (ESP), and UDP sockets on ports 500 (IKE) and 4500 (IKE after the non-ESP marker, and
//!   ESP in UDP behind NAT, RFC 3948).
//!
//! Raw sockets: the kernel builds the outer IP header on send; received packets arrive with
//! theirs. A packet for an underlay without a socket is dropped with a reason, never sent
//! otherwise.

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

pub use dmvpn_forwarding::transport::{IKE_PORT, IPPROTO_ESP, NAT_KEEPALIVE, NAT_T_PORT};

/// A raw IPv4 socket for one IP protocol (GRE or ESP) bound to one local (tunnel source)
/// address.
#[derive(Debug)]
pub struct RawIpSocket {
    fd: AsyncFd<Socket>,
    local: Ipv4Addr,
    protocol: u8,
}

/// A raw socket for GRE, IP protocol 47.
pub type GreSocket = RawIpSocket;

/// A packet received on a raw socket from the NBMA side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The outer source address (the peer's NBMA address).
    pub source: Ipv4Addr,
    /// The outer destination address.
    pub destination: Ipv4Addr,
    /// The IP protocol (47 GRE, 50 ESP).
    pub protocol: u8,
    /// Offset of the GRE header in the receive buffer (after the outer IP header).
    pub gre_offset: usize,
    /// End of the packet in the receive buffer.
    pub end: usize,
}

impl RawIpSocket {
    /// Opens a raw GRE socket bound to `local` (which need not be configured yet). Needs
    /// CAP_NET_RAW. Must be called inside a tokio runtime.
    pub fn bind(local: Ipv4Addr) -> io::Result<Self> {
        Self::bind_protocol(local, IPPROTO_GRE)
    }

    /// Opens a raw socket for IP protocol `protocol` bound to `local`.
    pub fn bind_protocol(local: Ipv4Addr, protocol: u8) -> io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(protocol))),
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
        Ok(Self {
            fd,
            local,
            protocol,
        })
    }

    /// The bound local address.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// The IP protocol of the socket.
    pub fn protocol(&self) -> u8 {
        self.protocol
    }

    /// Sends one packet (GRE or ESP header first) to `peer`. Raw sends do not block on a
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

    /// Receives one packet into `buf` (outer IP header included) and locates the payload
    /// (GRE or ESP header). Packets of other protocols are skipped.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            if let Some(r) = self.read_ready(&mut guard, buf)? {
                return Ok(r);
            }
        }
    }

    /// Reads one packet after readiness was reported: `None` when there was nothing after
    /// all (readiness is then cleared) or the packet was skipped.
    fn read_ready(
        &self,
        guard: &mut tokio::io::unix::AsyncFdReadyGuard<'_, Socket>,
        buf: &mut [u8],
    ) -> io::Result<Option<Received>> {
        let n = match guard.try_io(|inner| inner.get_ref().read(buf)) {
            Ok(result) => result?,
            Err(_would_block) => return Ok(None),
        };
        let Some(packet) = buf.get(..n) else {
            return Ok(None);
        };
        let Ok(ip) = Ipv4Info::parse(packet) else {
            return Ok(None);
        };
        if ip.protocol != self.protocol {
            return Ok(None);
        }
        Ok(Some(Received {
            source: ip.src,
            destination: ip.dst,
            protocol: ip.protocol,
            gre_offset: ip.header_len,
            end: ip.total_len,
        }))
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

/// A UDP socket of the IPsec underlay (500 or 4500) bound to the tunnel source.
#[derive(Debug)]
pub struct UdpUnderlay {
    socket: tokio::net::UdpSocket,
    port: u16,
}

impl UdpUnderlay {
    /// Binds UDP `local:port` (freebind: the address may not exist yet). Must be called
    /// inside a tokio runtime.
    pub fn bind(local: Ipv4Addr, port: u16) -> io::Result<Self> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_nonblocking(true)?;
        socket.set_freebind_v4(true)?;
        socket.set_reuse_address(true)?;
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
        let _ = socket.set_send_buffer_size(RECV_BUFFER);
        socket.bind(&SockAddr::from(SocketAddrV4::new(local, port)))?;
        set_pmtudisc_dont(&socket)?;
        let socket = tokio::net::UdpSocket::from_std(socket.into())?;
        Ok(Self { socket, port })
    }

    /// The local port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one datagram to `remote`.
    pub fn send_to(&self, payload: &[u8], remote: SocketAddrV4) -> io::Result<usize> {
        self.socket.try_send_to(payload, remote.into())
    }

    /// Sends `head` then `body` as one datagram to `remote` (the non-ESP marker before an
    /// IKE message) without copying them together.
    pub fn send_parts_to(
        &self,
        head: &[u8],
        body: &[u8],
        remote: SocketAddrV4,
    ) -> io::Result<usize> {
        use nix::sys::socket::{MsgFlags, SockaddrIn, sendmsg};
        use std::os::fd::AsRawFd;
        let iov = [io::IoSlice::new(head), io::IoSlice::new(body)];
        let addr = SockaddrIn::from(remote);
        sendmsg::<SockaddrIn>(
            self.socket.as_raw_fd(),
            &iov,
            &[],
            MsgFlags::empty(),
            Some(&addr),
        )
        .map_err(io::Error::from)
    }

    /// Receives one datagram into `buf`: its length and the sender.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddrV4)> {
        loop {
            self.socket.readable().await?;
            if let Some(r) = self.read_ready(buf)? {
                return Ok(r);
            }
        }
    }

    /// Reads one datagram after readiness was reported (`None`: nothing after all, or not
    /// IPv4).
    fn read_ready(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddrV4)>> {
        match self.socket.try_recv_from(buf) {
            Ok((n, std::net::SocketAddr::V4(from))) => Ok(Some((n, from))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What arrived on one of the transport's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// A GRE or ESP packet on a raw socket (outer IP header included in the buffer).
    Raw(Received),
    /// A UDP datagram (payload only, from offset 0) on local port `local_port`.
    Udp {
        /// The sender (the peer, or the NAT in front of it).
        remote: SocketAddrV4,
        /// Our port (500 or 4500).
        local_port: u16,
        /// The payload length.
        len: usize,
    },
}

/// The sockets of the IPsec underlay of one tunnel source: raw ESP, UDP 500 and UDP 4500.
#[derive(Debug)]
pub struct IpsecSockets {
    esp: RawIpSocket,
    ike: UdpUnderlay,
    nat_t: UdpUnderlay,
}

impl IpsecSockets {
    /// Opens the ESP, UDP 500 and UDP 4500 sockets of tunnel source `local`.
    pub fn open(local: Ipv4Addr) -> io::Result<Self> {
        Ok(IpsecSockets {
            esp: RawIpSocket::bind_protocol(local, IPPROTO_ESP)?,
            ike: UdpUnderlay::bind(local, IKE_PORT)?,
            nat_t: UdpUnderlay::bind(local, NAT_T_PORT)?,
        })
    }

    /// Receives the next packet from these sockets only (a shared group's reader).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Arrival> {
        recv_any(None, self, buf).await
    }
}

/// Whose IPsec sockets a transport sends on.
#[derive(Debug)]
enum IpsecUnderlay {
    /// The transport's own: it also reads them.
    Own(IpsecSockets),
    /// A `shared` protection group's: the group's reader reads them
    /// ([`crate::shared::SharedIpsec`]).
    Shared(Arc<crate::shared::SocketLease>),
}

impl IpsecUnderlay {
    fn sockets(&self) -> &IpsecSockets {
        match self {
            IpsecUnderlay::Own(s) => s,
            IpsecUnderlay::Shared(lease) => lease.sockets(),
        }
    }
}

/// Waits for a packet on `gre` (when given) or any of `ipsec`'s sockets, into `buf`. One
/// buffer for every socket: wait for readiness, then read from the socket that became
/// readable (readiness is cleared when it had nothing after all).
async fn recv_any(
    gre: Option<&RawIpSocket>,
    ipsec: &IpsecSockets,
    buf: &mut [u8],
) -> io::Result<Arrival> {
    loop {
        tokio::select! {
            g = async {
                match gre {
                    Some(s) => s.fd.readable().await.map(|g| (s, g)),
                    None => std::future::pending().await,
                }
            } => {
                let (gre, mut g) = g?;
                if let Some(r) = gre.read_ready(&mut g, buf)? {
                    return Ok(Arrival::Raw(r));
                }
            }
            g = ipsec.esp.fd.readable() => {
                let mut g = g?;
                if let Some(r) = ipsec.esp.read_ready(&mut g, buf)? {
                    return Ok(Arrival::Raw(r));
                }
            }
            r = ipsec.nat_t.socket.readable() => {
                r?;
                if let Some((len, remote)) = ipsec.nat_t.read_ready(buf)? {
                    return Ok(Arrival::Udp { remote, local_port: NAT_T_PORT, len });
                }
            }
            r = ipsec.ike.socket.readable() => {
                r?;
                if let Some((len, remote)) = ipsec.ike.read_ready(buf)? {
                    return Ok(Arrival::Udp { remote, local_port: IKE_PORT, len });
                }
            }
        }
    }
}

/// The underlay sockets of one tunnel source and the protection in front of them.
#[derive(Debug)]
pub struct NbmaTransport {
    gre: GreSocket,
    ipsec: Option<IpsecUnderlay>,
    protector: Arc<Protector>,
}

impl NbmaTransport {
    /// A transport sending through `protector` on the GRE socket `gre` only.
    pub fn new(gre: GreSocket, protector: Arc<Protector>) -> Self {
        Self {
            gre,
            ipsec: None,
            protector,
        }
    }

    /// Opens the transport of tunnel source `local`: the GRE socket, and the ESP and UDP
    /// 500/4500 sockets when the protection uses IPsec.
    pub fn open(local: Ipv4Addr, protector: Arc<Protector>) -> io::Result<Self> {
        let gre = RawIpSocket::bind(local)?;
        let ipsec = if protector.protection().uses_ipsec() {
            Some(IpsecUnderlay::Own(IpsecSockets::open(local)?))
        } else {
            None
        };
        Ok(Self {
            gre,
            ipsec,
            protector,
        })
    }

    /// Opens the transport of a member of a `shared` protection group on tunnel source
    /// `local`: its own GRE socket, and the group's protector and IPsec sockets (which the
    /// group reads; this transport only sends on them).
    pub fn open_shared(
        local: Ipv4Addr,
        group: &Arc<crate::shared::SharedIpsec>,
    ) -> io::Result<Self> {
        let gre = RawIpSocket::bind(local)?;
        let lease = group.lease(local)?;
        Ok(Self {
            gre,
            ipsec: Some(IpsecUnderlay::Shared(lease)),
            protector: group.protector().clone(),
        })
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

    /// Receives the next packet from any of the transport's own sockets into `buf` (a
    /// shared group's IPsec sockets are read by the group).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Arrival> {
        match &self.ipsec {
            Some(IpsecUnderlay::Own(ipsec)) => recv_any(Some(&self.gre), ipsec, buf).await,
            _ => self.gre.recv(buf).await.map(Arrival::Raw),
        }
    }

    /// Sends an IKE message from local port `local_port` to `remote` (with the non-ESP
    /// marker on 4500).
    pub fn send_ike(&self, local_port: u16, remote: SocketAddrV4, message: &[u8]) -> SendOutcome {
        let Some(ipsec) = self.ipsec.as_ref().map(IpsecUnderlay::sockets) else {
            return SendOutcome::Dropped(DropReason::Io(
                "no IKE socket (IPsec not configured)".into(),
            ));
        };
        let result = if local_port == NAT_T_PORT {
            ipsec.nat_t.send_parts_to(&[0; 4], message, remote)
        } else {
            ipsec.ike.send_to(message, remote)
        };
        match result {
            Ok(_) => SendOutcome::Sent,
            Err(e) => SendOutcome::Dropped(DropReason::Io(e.to_string())),
        }
    }

    /// Sends a NAT keepalive (0xFF) from UDP 4500 to `remote`.
    pub fn send_nat_keepalive(&self, remote: SocketAddrV4) -> SendOutcome {
        let Some(ipsec) = self.ipsec.as_ref().map(IpsecUnderlay::sockets) else {
            return SendOutcome::Dropped(DropReason::Io("no UDP 4500 socket".into()));
        };
        match ipsec.nat_t.send_to(&[NAT_KEEPALIVE], remote) {
            Ok(_) => SendOutcome::Sent,
            Err(e) => SendOutcome::Dropped(DropReason::Io(e.to_string())),
        }
    }

    /// Protects the GRE packet in `packet` for `peer` and sends it with outer TOS `tos`.
    pub fn send(&self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome {
        if peer == self.gre.local() {
            // A mapping to our own NBMA address would loop packets through the kernel.
            return SendOutcome::Dropped(DropReason::Io(
                "peer is this node's own NBMA address".into(),
            ));
        }
        let transmit = self.protector.outbound(peer, tos, packet);
        let result = match (&transmit, self.ipsec.as_ref().map(IpsecUnderlay::sockets)) {
            (Transmit::Send(Underlay::Gre), _) => {
                self.gre.send_to_tos(packet.as_slice(), peer, tos)
            }
            (Transmit::Send(Underlay::Esp), Some(ipsec)) => {
                ipsec.esp.send_to_tos(packet.as_slice(), peer, tos)
            }
            (Transmit::Send(Underlay::NatT), Some(ipsec)) => {
                let port = self.protector.protection().udp_port(peer);
                ipsec
                    .nat_t
                    .send_to(packet.as_slice(), SocketAddrV4::new(peer, port))
            }
            (Transmit::Send(other), _) => {
                return SendOutcome::Dropped(DropReason::Io(format!(
                    "no {other:?} socket on this transport"
                )));
            }
            (other, _) => return other.outcome(),
        };
        match result {
            Ok(_) => SendOutcome::Sent,
            Err(e) => SendOutcome::Dropped(DropReason::Io(e.to_string())),
        }
    }
}

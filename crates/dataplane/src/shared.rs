//! `tunnel protection ipsec profile NAME shared`: several tunnels on one tunnel source share
//! one IPsec underlay, as on IOS.
//!
//! Without `shared`, each protected tunnel owns its ESP and UDP 500/4500 sockets, and two
//! protected tunnels cannot use the same source (the sockets would collide). A
//! [`SharedIpsec`] group holds what its member tunnels share:
//! - one [`Protector`] in front of one SA database: one Child SA per NBMA peer, whichever
//!   tunnel's traffic it carries, and one queue of packets held while it comes up;
//! - one set of IPsec sockets per tunnel source address ([`SocketLease`]), opened by the
//!   first member on that address and closed when the last one lets go;
//! - one reader per set of sockets, which decrypts each packet once and hands the GRE
//!   packet inside to the member whose `tunnel key` it carries (members must differ in
//!   key, as every tunnel on one source must); IKE datagrams go to any member, since the
//!   daemon runs one IKE engine for the whole group.
//!
//! Each member keeps its own raw GRE socket (cleartext GRE, refused by the protection) and
//! sends through the shared sockets.

use std::collections::HashMap;
use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, Weak};

use tokio::task::JoinHandle;

use crate::nbma::IpsecSockets;
use crate::pipeline::MAX_PACKET;
use crate::protection::{PacketBuf, Received};
use crate::protection::{Protection, Protector};
use crate::tunnel::Shared;
use dmvpn_forwarding::transport::DEFAULT_QUEUE_PER_PEER;

/// The IPsec underlay shared by the tunnels of one `shared` protection group.
#[derive(Debug)]
pub struct SharedIpsec {
    protector: Arc<Protector>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Member tunnels by `tunnel key`.
    members: Vec<(Option<u32>, Weak<Shared>)>,
    /// Open socket sets by tunnel source address.
    leases: HashMap<Ipv4Addr, Weak<SocketLease>>,
}

/// One tunnel source's IPsec sockets, held by the members' transports; its reader stops
/// and the sockets close when the last holder drops it.
#[derive(Debug)]
pub struct SocketLease {
    sockets: Arc<IpsecSockets>,
    reader: JoinHandle<()>,
}

impl SocketLease {
    /// The sockets.
    pub fn sockets(&self) -> &IpsecSockets {
        &self.sockets
    }
}

impl Drop for SocketLease {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl SharedIpsec {
    /// A group whose packets are protected by `protection` (its SA database).
    pub fn new(protection: Arc<dyn Protection>) -> Arc<SharedIpsec> {
        Arc::new(SharedIpsec {
            protector: Arc::new(Protector::new(protection, DEFAULT_QUEUE_PER_PEER)),
            state: Mutex::new(State::default()),
        })
    }

    /// The group's protector.
    pub fn protector(&self) -> &Arc<Protector> {
        &self.protector
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The socket set of tunnel source `local`: the open one, or a new one with its reader
    /// (spawned on the current tokio runtime).
    pub(crate) fn lease(self: &Arc<Self>, local: Ipv4Addr) -> io::Result<Arc<SocketLease>> {
        let mut state = self.state();
        state.leases.retain(|_, l| l.strong_count() > 0);
        if let Some(lease) = state.leases.get(&local).and_then(Weak::upgrade) {
            return Ok(lease);
        }
        let sockets = Arc::new(IpsecSockets::open(local)?);
        let reader = tokio::spawn(reader(Arc::downgrade(self), sockets.clone()));
        let lease = Arc::new(SocketLease { sockets, reader });
        state.leases.insert(local, Arc::downgrade(&lease));
        Ok(lease)
    }

    /// A tunnel joins the group; packets with GRE key `key` are its.
    pub(crate) fn join(&self, key: Option<u32>, member: Weak<Shared>) {
        let mut state = self.state();
        state.members.retain(|(_, m)| m.strong_count() > 0);
        state.members.push((key, member));
    }

    /// The running member whose key is `key`.
    pub(crate) fn member(&self, key: Option<u32>) -> Option<Arc<Shared>> {
        self.state()
            .members
            .iter()
            .filter(|(k, _)| *k == key)
            .find_map(|(_, m)| m.upgrade())
    }

    /// Any running member (for IKE, which the group's one engine handles).
    pub(crate) fn any_member(&self) -> Option<Arc<Shared>> {
        self.state().members.iter().find_map(|(_, m)| m.upgrade())
    }

    /// How many member tunnels are running.
    pub fn members(&self) -> usize {
        self.state()
            .members
            .iter()
            .filter(|(_, m)| m.strong_count() > 0)
            .count()
    }
}

/// The reader of a `shared` group's IPsec sockets: each packet is unprotected once and
/// goes to the member tunnel whose key its GRE header carries (IKE to any member). Stops
/// when the group or the sockets' last holder is gone.
pub(crate) async fn reader(group: Weak<SharedIpsec>, sockets: Arc<crate::nbma::IpsecSockets>) {
    let mut buf = PacketBuf::with_capacity(MAX_PACKET);
    let mut errors = crate::tunnel::ErrorBudget::default();
    loop {
        let arrival = match sockets.recv(buf.payload_space()).await {
            Ok(a) => {
                errors.ok();
                a
            }
            Err(e) => {
                if let Err(e) = errors.failed(e) {
                    tracing::error!(error = %e, "shared IPsec reader stopped");
                    return;
                }
                continue;
            }
        };
        let Some(group) = group.upgrade() else {
            return;
        };
        let Some(received) = crate::tunnel::unprotect(group.protector(), &mut buf, arrival) else {
            continue;
        };
        let member = match &received {
            Received::Gre { .. } => match crate::gre::GreHeader::parse(buf.as_slice()) {
                Ok((header, _)) => group.member(header.key),
                Err(_) => group.any_member(),
            },
            _ => group.any_member(),
        };
        drop(group);
        let Some(shared) = member else {
            tracing::debug!("shared IPsec: no member tunnel for a packet; dropped");
            continue;
        };
        let tun = shared.tun();
        if let Some(packet) = crate::tunnel::deliver(&shared, &mut buf, received)
            && let Some(tun) = tun
            && let Err(e) = tun.send(packet).await
        {
            tracing::debug!(error = %e, "writing to TUN failed");
        }
    }
}

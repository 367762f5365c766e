//! Talking to a lab node's daemon over its control socket: one request at a time, and the
//! `show` answers that the walk-through and the tests read (registrations, mappings,
//! shortcuts, per-peer counters).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use dmvpn_mgmt::{
    Client, DmvpnStatus, InterfaceFilter, NhrpCache, PacketCounters, Payload, Request, Response,
    ShortcutTable, ShowDmvpn, ShowIpNhrp,
};

use crate::LabError;
use crate::topology::Lab;

/// Sends one request on a control socket and returns the payload of the answer.
pub fn control_request(socket: &Path, request: &Request) -> Result<Payload, LabError> {
    let err = |detail: String| LabError::Control {
        path: socket.to_path_buf(),
        detail,
    };
    let mut client = Client::connect_with_timeout(socket, Duration::from_secs(10))
        .map_err(|e| err(e.to_string()))?;
    match client.request(request).map_err(|e| err(e.to_string()))? {
        Response::Ok { payload } => Ok(payload),
        Response::Error { message } => Err(err(message)),
    }
}

fn unexpected(path: &Path, payload: &Payload) -> LabError {
    LabError::Control {
        path: path.to_path_buf(),
        detail: format!("unexpected answer {}", payload.kind()),
    }
}

impl Lab {
    /// Sends one control request to node `index`'s daemon and returns its payload (a
    /// daemon-side error becomes [`LabError::Control`]).
    pub fn request(&self, index: usize, request: &Request) -> Result<Payload, LabError> {
        control_request(&self.node(index)?.socket, request)
    }

    /// `show dmvpn` of node `index`.
    pub fn show_dmvpn(&self, index: usize) -> Result<DmvpnStatus, LabError> {
        let socket = &self.node(index)?.socket;
        match control_request(socket, &Request::ShowDmvpn(ShowDmvpn::default()))? {
            Payload::Dmvpn(d) => Ok(d),
            other => Err(unexpected(socket, &other)),
        }
    }

    /// `show ip nhrp` of node `index`.
    pub fn show_nhrp(&self, index: usize) -> Result<NhrpCache, LabError> {
        let socket = &self.node(index)?.socket;
        match control_request(socket, &Request::ShowIpNhrp(ShowIpNhrp::default()))? {
            Payload::NhrpCache(c) => Ok(c),
            other => Err(unexpected(socket, &other)),
        }
    }

    /// `show ip nhrp shortcut` of node `index`.
    pub fn show_shortcuts(&self, index: usize) -> Result<ShortcutTable, LabError> {
        let socket = &self.node(index)?.socket;
        match control_request(
            socket,
            &Request::ShowIpNhrpShortcut(InterfaceFilter::default()),
        )? {
            Payload::Shortcuts(c) => Ok(c),
            other => Err(unexpected(socket, &other)),
        }
    }

    /// Whether node `index` holds a complete NHRP entry (mapping or shortcut) whose NBMA
    /// address is `nbma`.
    pub fn has_entry_with_nbma(&self, index: usize, nbma: Ipv4Addr) -> bool {
        self.show_nhrp(index)
            .is_ok_and(|c| c.entries.iter().any(|e| e.nbma == Some(IpAddr::V4(nbma))))
    }

    /// Whether every hub's NHRP cache holds a registered entry for each of its clients with
    /// the client's current NBMA address: every spoke, and with two hubs the second hub on
    /// the first.
    pub fn all_registered(&self) -> bool {
        self.spec.hub_indexes().into_iter().all(|h| {
            let Some(hub) = self.nodes.get(h) else {
                return false;
            };
            let Ok(cache) = self.show_nhrp(h) else {
                return false;
            };
            self.nodes
                .iter()
                .filter(|n| !n.hub || (h == 0 && n.tunnel != hub.tunnel))
                .all(|s| {
                    cache.entries.iter().any(|e| {
                        e.prefix.address == IpAddr::V4(s.tunnel)
                            && e.nbma == Some(IpAddr::V4(s.nbma))
                    })
                })
        })
    }

    /// Tunnel counters of node `index` (`show dmvpn`): packets in and out of every peer and the
    /// whole tunnel.
    pub fn tunnel_counters(&self, index: usize) -> Option<PacketCounters> {
        self.show_dmvpn(index)
            .ok()?
            .interfaces
            .first()
            .map(|i| i.counters)
    }

    /// Packets node `index` sent to the peer with NBMA address `nbma` (`show dmvpn` counters).
    pub fn packets_out_to(&self, index: usize, nbma: Ipv4Addr) -> Option<u64> {
        let status = self.show_dmvpn(index).ok()?;
        let iface = status.interfaces.first()?;
        Some(
            iface
                .peers
                .iter()
                .find(|p| p.nbma == IpAddr::V4(nbma))
                .map_or(0, |p| p.counters.packets_out),
        )
    }
}

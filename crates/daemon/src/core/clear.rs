//! The clear commands and the counter baselines: `clear dmvpn statistics` and `clear
//! counters` record the data plane's counters as a baseline (shown counters are relative to
//! it; the data plane's own counters never go backwards), `clear dmvpn session` and `clear ip
//! nhrp` go through the engine's `clear`, whose actions the core then executes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use dmvpn_mgmt as mgmt;
use dmvpn_nhrp::{ClearRequest, EntryFlags, IfIndex};

use super::NodeCore;

impl NodeCore {
    /// The tunnels an optional interface filter selects.
    fn selected(&self, interface: Option<&String>) -> Result<Vec<IfIndex>, mgmt::HandlerError> {
        match interface {
            Some(name) => Ok(vec![self.ifindex_of(name).ok_or_else(|| {
                mgmt::HandlerError::NotFound(format!("no interface {name}"))
            })?]),
            None => Ok(self.tunnels.keys().copied().collect()),
        }
    }

    fn peer_matches(
        filter: Option<&mgmt::PeerFilter>,
        nbma: Option<Ipv4Addr>,
        tunnel: Ipv4Addr,
    ) -> bool {
        match filter {
            None => true,
            Some(mgmt::PeerFilter::Nbma { address }) => nbma.map(IpAddr::V4) == Some(*address),
            Some(mgmt::PeerFilter::Tunnel { address }) => IpAddr::V4(tunnel) == *address,
        }
    }

    fn reset_counters(&mut self, ifindex: IfIndex, peer: Option<&mgmt::PeerFilter>) -> u64 {
        let Some(t) = self.tunnels.get(&ifindex) else {
            return 0;
        };
        let snapshot = t.dp.counters();
        let mut n = 0;
        if peer.is_none() {
            self.counter_base.insert((ifindex, None), snapshot.tunnel);
            n += 1;
        }
        let tunnel_of: BTreeMap<Ipv4Addr, Ipv4Addr> = self
            .engine
            .cache_entries(Some(ifindex))
            .into_iter()
            .filter_map(|e| e.nbma.map(|a| (a, e.next_hop)))
            .collect();
        for (nbma, c) in snapshot.peers {
            let tunnel = tunnel_of
                .get(&nbma)
                .copied()
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            if Self::peer_matches(peer, Some(nbma), tunnel) {
                self.counter_base.insert((ifindex, Some(nbma)), c);
                n += 1;
            }
        }
        n
    }
}

/// The clear commands of the control API.
impl NodeCore {
    fn clear_sessions(
        &mut self,
        req: &mgmt::ClearDmvpnSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let now = self.now;
        let mut removed = 0usize;
        for ifindex in self.selected(req.interface.as_ref())? {
            if req.peer.is_none() {
                let r = if req.include_static {
                    ClearRequest::All {
                        iface: Some(ifindex),
                    }
                } else {
                    ClearRequest::Dynamic {
                        iface: Some(ifindex),
                    }
                };
                removed += self.engine.clear(now, r).removed;
                continue;
            }
            let victims: Vec<Ipv4Addr> = self
                .engine
                .cache_entries(Some(ifindex))
                .into_iter()
                .filter(|e| !e.flags.contains(EntryFlags::LOCAL))
                .filter(|e| Self::peer_matches(req.peer.as_ref(), e.nbma, e.next_hop))
                .map(|e| e.prefix.addr())
                .collect();
            for proto in victims {
                removed += self
                    .engine
                    .clear(
                        now,
                        ClearRequest::Entry {
                            iface: ifindex,
                            proto,
                        },
                    )
                    .removed;
            }
        }
        self.drain_actions();
        Ok(mgmt::Ack {
            message: format!("{removed} DMVPN session entries cleared"),
            affected: Some(removed as u64),
        })
    }
}

/// The clear commands as the control API's handler calls them.
impl NodeCore {
    pub(super) fn cmd_clear_dmvpn_session(
        &mut self,
        req: &mgmt::ClearDmvpnSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.clear_sessions(req)
    }

    pub(super) fn cmd_clear_dmvpn_statistics(
        &mut self,
        req: &mgmt::ClearDmvpnStatistics,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let mut n = 0;
        for ifindex in self.selected(req.interface.as_ref())? {
            n += self.reset_counters(ifindex, req.peer.as_ref());
        }
        Ok(mgmt::Ack {
            message: format!("DMVPN statistics cleared ({n} counter sets)"),
            affected: Some(n),
        })
    }

    pub(super) fn cmd_clear_counters(
        &mut self,
        req: &mgmt::ClearCounters,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let ifindex = self.ifindex_of(&req.interface).ok_or_else(|| {
            mgmt::HandlerError::NotFound(format!("no interface {}", req.interface))
        })?;
        let n = self.reset_counters(ifindex, None);
        Ok(mgmt::Ack {
            message: format!("counters of {} cleared", self.iface_name(ifindex)),
            affected: Some(n),
        })
    }

    pub(super) fn cmd_clear_ip_nhrp(
        &mut self,
        req: &mgmt::ClearIpNhrp,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let now = self.now;
        let iface = match &req.interface {
            Some(name) => Some(
                self.ifindex_of(name)
                    .ok_or_else(|| mgmt::HandlerError::NotFound(format!("no interface {name}")))?,
            ),
            None => None,
        };
        let report = match req.address {
            Some(IpAddr::V4(proto)) => {
                let mut removed = 0;
                for i in iface.map_or_else(|| self.tunnels.keys().copied().collect(), |i| vec![i]) {
                    removed += self
                        .engine
                        .clear(now, ClearRequest::Entry { iface: i, proto })
                        .removed;
                }
                removed
            }
            Some(IpAddr::V6(_)) => {
                return Err(mgmt::HandlerError::Failed(
                    "IPv6 NHRP is not supported".to_string(),
                ));
            }
            None => {
                self.engine
                    .clear(now, ClearRequest::Dynamic { iface })
                    .removed
            }
        };
        self.drain_actions();
        Ok(mgmt::Ack {
            message: format!("{report} NHRP entries cleared"),
            affected: Some(report as u64),
        })
    }
}

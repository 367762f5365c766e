//! Show answers and the debug switches of the control API, assembled from the engine's views,
//! the data plane's counters (relative to the `clear` baselines) and the running
//! configuration. The wording and layout are `dmvpn-mgmt`'s renderers'; this module only
//! fills in their types.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use dmvpn_dataplane::{TrafficCounters, TunnelMode};
use dmvpn_mgmt as mgmt;
use dmvpn_nhrp::{EntryFlags, EntryKind, IfIndex, Prefix as NhrpPrefix};

use super::actions::NhrpCapture;
use super::{NodeCore, dp_prefix};

impl NodeCore {
    pub(super) fn secs_since(&self, t: dmvpn_nhrp::Instant) -> u64 {
        self.now.saturating_duration_since(t).as_secs()
    }

    pub(super) fn secs_until(&self, t: dmvpn_nhrp::Instant) -> u64 {
        t.saturating_duration_since(self.now).as_secs()
    }

    pub(super) fn ifindex_of(&self, name: &str) -> Option<IfIndex> {
        let want = dmvpn_config::normalise_interface_name(name);
        self.tunnels
            .values()
            .find(|t| dmvpn_config::normalise_interface_name(&t.plan.name) == want)
            .map(|t| t.plan.ifindex)
    }

    fn nhs_snapshot(&self, ifindex: Option<IfIndex>) -> Vec<mgmt::NhsStatus> {
        self.engine
            .nhs_status(ifindex)
            .into_iter()
            .map(|n| mgmt::NhsStatus {
                interface: n.iface_name.clone(),
                address: IpAddr::V4(n.protocol),
                nbma: n.nbma.map(IpAddr::V4),
                state: match n.state {
                    dmvpn_nhrp::NhsState::Up => mgmt::NhsState::Up,
                    _ => mgmt::NhsState::Down,
                },
                priority: n.priority,
                cluster: 0,
                expecting_replies: n.state == dmvpn_nhrp::NhsState::Expecting,
                responding: n.state == dmvpn_nhrp::NhsState::Up,
                waiting: n.state == dmvpn_nhrp::NhsState::Down,
                requests_sent: n.requests,
                requests_failed: n.failed,
                unanswered: n.unanswered,
                replies_received: n.replies,
                last_reply_secs: None,
            })
            .collect()
    }
}

fn mgmt_prefix(p: &NhrpPrefix) -> mgmt::Prefix {
    mgmt::Prefix {
        address: IpAddr::V4(p.addr()),
        prefix_len: p.len(),
    }
}

fn traffic(c: &TrafficCounters, base: Option<&TrafficCounters>) -> mgmt::PacketCounters {
    let zero = TrafficCounters::default();
    let b = base.unwrap_or(&zero);
    mgmt::PacketCounters {
        packets_in: c.rx_packets.saturating_sub(b.rx_packets),
        packets_out: c.tx_packets.saturating_sub(b.tx_packets),
        bytes_in: c.rx_bytes.saturating_sub(b.rx_bytes),
        bytes_out: c.tx_bytes.saturating_sub(b.tx_bytes),
    }
}

/// `used` of `limit` in percent (0 without a limit).
fn percent(used: u32, limit: u32) -> u8 {
    let p = u64::from(used) * 100 / u64::from(limit.max(1));
    u8::try_from(p.min(100)).unwrap_or(100)
}

/// The data plane's GRE-level drops as `show ip nhrp traffic` reports them.
fn gre_drops(d: &dmvpn_dataplane::DropCounters) -> mgmt::GreDrops {
    mgmt::GreDrops {
        malformed: d.gre_malformed,
        truncated: d.gre_truncated,
        bad_version: d.gre_bad_version,
        bad_flags: d.gre_bad_flags,
        bad_checksum: d.gre_bad_checksum,
        inner_malformed: d.inner_malformed,
        key_mismatch: d.key_mismatch,
        unknown_protocol: d.unknown_protocol,
        wrong_source: d.wrong_source,
        protection: d.protection,
        transport: d.transport_not_ours.saturating_add(d.transport_truncated),
    }
}

fn type_counters(c: &dmvpn_nhrp::PacketCounts) -> mgmt::NhrpTypeCounters {
    use dmvpn_nhrp::PacketType as T;
    let known: u64 = T::ALL.iter().map(|t| c.of(*t)).sum();
    mgmt::NhrpTypeCounters {
        total: c.total,
        resolution_request: c.of(T::ResolutionRequest),
        resolution_reply: c.of(T::ResolutionReply),
        registration_request: c.of(T::RegistrationRequest),
        registration_reply: c.of(T::RegistrationReply),
        purge_request: c.of(T::PurgeRequest),
        purge_reply: c.of(T::PurgeReply),
        error_indication: c.of(T::ErrorIndication),
        traffic_indication: c.of(T::TrafficIndication),
        other: c.total.saturating_sub(known),
    }
}

/// The `State` of a peer of a protected tunnel as IOS shows it: `IKE` until its IKE SA is
/// up, `IPSEC` until a Child SA is installed, then `UP`. Unprotected tunnels: `UP`.
fn crypto_state(ipsec: Option<&super::ipsec::TunnelIpsec>, nbma: Ipv4Addr) -> mgmt::PeerState {
    let Some(ipsec) = ipsec else {
        return mgmt::PeerState::Up;
    };
    if ipsec.engine.is_protected(nbma) {
        return mgmt::PeerState::Up;
    }
    let ike_up = ipsec
        .engine
        .sas()
        .iter()
        .any(|s| *s.remote.ip() == nbma && s.state == dmvpn_ike::SaState::Established);
    if ike_up {
        mgmt::PeerState::Ipsec
    } else {
        mgmt::PeerState::Ike
    }
}

impl mgmt::Handler for NodeCore {
    fn dmvpn(&mut self) -> Result<mgmt::DmvpnStatus, mgmt::HandlerError> {
        let mut status = mgmt::DmvpnStatus::default();
        let sessions = self.session_report();
        for t in self.tunnels.values() {
            let ifindex = t.plan.ifindex;
            let counters = t.dp.counters();
            let mut peers: BTreeMap<Ipv4Addr, mgmt::DmvpnPeer> = BTreeMap::new();
            for e in self.engine.cache_entries(Some(ifindex)) {
                if e.flags.contains(EntryFlags::LOCAL) {
                    continue;
                }
                let nbma = e.nbma.unwrap_or(Ipv4Addr::UNSPECIFIED);
                let incomplete = e.kind == EntryKind::Incomplete || e.nbma.is_none();
                let state = if incomplete {
                    mgmt::PeerState::Nhrp
                } else {
                    crypto_state(self.ipsec_of(ifindex), nbma)
                };
                let attributes = mgmt::PeerAttributes {
                    is_static: e.kind == EntryKind::Static,
                    dynamic: e.kind == EntryKind::Dynamic,
                    incomplete,
                    nated: e.flags.contains(EntryFlags::NAT),
                    local: false,
                    no_socket: false,
                };
                let entry = mgmt::DmvpnEntry {
                    target: mgmt_prefix(&e.prefix),
                    state,
                    up_down_secs: Some(self.secs_since(e.created)),
                    attributes,
                };
                let peer_counters = counters
                    .peers
                    .iter()
                    .find(|(a, _)| *a == nbma)
                    .map(|(_, c)| traffic(c, self.counter_base.get(&(ifindex, Some(nbma)))))
                    .unwrap_or_default();
                let peer = peers.entry(nbma).or_insert_with(|| mgmt::DmvpnPeer {
                    nbma: IpAddr::V4(nbma),
                    tunnel: IpAddr::V4(e.next_hop),
                    state,
                    up_down_secs: Some(self.secs_since(e.created)),
                    attributes,
                    entries: Vec::new(),
                    counters: peer_counters,
                    crypto: NodeCore::peer_session(&sessions, &t.plan.name, nbma),
                });
                // The tunnel address of the peer is its host entry's address when it has one.
                if e.prefix.len() == 32 && e.prefix.addr() == e.next_hop {
                    peer.tunnel = IpAddr::V4(e.next_hop);
                }
                peer.entries.push(entry);
            }
            let destination = match t.plan.dataplane.mode {
                TunnelMode::PointToPoint { destination } => Some(IpAddr::V4(destination)),
                TunnelMode::Multipoint => None,
            };
            let source = t.dp.source_address();
            status.interfaces.push(mgmt::DmvpnInterface {
                name: t.plan.name.clone(),
                role: t.plan.role,
                admin_up: true,
                line_up: source.is_some(),
                tunnel_address: Some(IpAddr::V4(t.plan.dataplane.address)),
                source: source.map(IpAddr::V4),
                destination,
                protection: t.plan.protection.clone(),
                nhs: self.nhs_snapshot(Some(ifindex)),
                peers: peers.into_values().collect(),
                counters: traffic(&counters.tunnel, self.counter_base.get(&(ifindex, None))),
            });
        }
        Ok(status)
    }

    fn nhrp_cache(&mut self) -> Result<mgmt::NhrpCache, mgmt::HandlerError> {
        let entries = self
            .engine
            .cache_entries(None)
            .into_iter()
            .map(|e| {
                let flags = mgmt::CacheFlags {
                    router: e.flags.contains(EntryFlags::ROUTER),
                    implicit: e.flags.contains(EntryFlags::IMPLICIT),
                    authoritative: e.flags.contains(EntryFlags::AUTHORITATIVE),
                    unique: e.flags.contains(EntryFlags::UNIQUE),
                    registered: e.flags.contains(EntryFlags::REGISTERED),
                    used: e.flags.contains(EntryFlags::USED),
                    nat: e.flags.contains(EntryFlags::NAT),
                    local: e.flags.contains(EntryFlags::LOCAL),
                };
                mgmt::NhrpCacheEntry {
                    prefix: mgmt_prefix(&e.prefix),
                    via: Some(IpAddr::V4(e.next_hop)),
                    interface: e.iface_name.clone(),
                    created_secs: self.secs_since(e.created),
                    expire_secs: e.expires.map(|t| self.secs_until(t)),
                    entry_type: match e.kind {
                        EntryKind::Static => mgmt::EntryType::Static,
                        EntryKind::Dynamic => mgmt::EntryType::Dynamic,
                        EntryKind::Incomplete => mgmt::EntryType::Incomplete,
                        EntryKind::Negative => mgmt::EntryType::Negative,
                    },
                    flags,
                    nbma: e.nbma.map(IpAddr::V4),
                    claimed_nbma: e.claimed_nbma.map(IpAddr::V4),
                    preference: None,
                }
            })
            .collect();
        Ok(mgmt::NhrpCache { entries })
    }

    fn nhs(&mut self) -> Result<mgmt::NhsReport, mgmt::HandlerError> {
        Ok(mgmt::NhsReport {
            servers: self.nhs_snapshot(None),
        })
    }

    fn traffic(&mut self) -> Result<mgmt::TrafficReport, mgmt::HandlerError> {
        let mut report = mgmt::TrafficReport::default();
        for t in self.tunnels.values() {
            let Some(s) = self.engine.traffic(t.plan.ifindex) else {
                continue;
            };
            report.interfaces.push(mgmt::NhrpTraffic {
                interface: t.plan.name.clone(),
                max_send: mgmt::MaxSend {
                    packets: s.max_send_limit.unwrap_or(0),
                    interval_secs: u32::try_from(s.max_send_interval_secs).unwrap_or(u32::MAX),
                    usage_percent: u8::try_from(s.max_send_usage_percent.min(100)).unwrap_or(100),
                    dropped: s.max_send_dropped,
                    established_usage_percent: percent(
                        s.max_send_established_used,
                        s.max_send_limit.unwrap_or(0),
                    ),
                    established_sent: s.max_send_established_sent,
                },
                sent: type_counters(&s.sent),
                received: type_counters(&s.rcvd),
                drops: s
                    .drops
                    .iter()
                    .map(|(r, n)| (dmvpn_metrics::snake_case(&format!("{r:?}")), *n))
                    .collect(),
                gre: Some(gre_drops(&t.dp.counters().drops)),
                identity_refused: self.engine.identity_refusals(t.plan.ifindex),
            });
        }
        Ok(report)
    }

    fn shortcuts(&mut self) -> Result<mgmt::ShortcutTable, mgmt::HandlerError> {
        let mut table = mgmt::ShortcutTable::default();
        let entries = self.engine.cache_entries(None);
        for s in self.engine.shortcuts(None) {
            let created = entries
                .iter()
                .find(|e| e.iface == s.iface && e.prefix == s.prefix)
                .map_or(0, |e| self.secs_since(e.created));
            let installed = self.tunnels.get(&s.iface).is_some_and(|t| {
                dp_prefix(&s.prefix).is_some_and(|p| {
                    t.dp.shortcuts()
                        .iter()
                        .any(|(q, n)| *q == p && *n == s.next_hop)
                })
            });
            table.shortcuts.push(mgmt::Shortcut {
                interface: self.iface_name(s.iface),
                target: mgmt_prefix(&s.prefix),
                next_hop: IpAddr::V4(s.next_hop),
                nbma: s.nbma.map(IpAddr::V4),
                created_secs: created,
                expire_secs: s.expires.map(|t| self.secs_until(t)),
                installed,
            });
        }
        Ok(table)
    }

    fn running_config(&mut self) -> Result<mgmt::RunningConfig, mgmt::HandlerError> {
        Ok(mgmt::RunningConfig {
            text: self.config_text.clone(),
        })
    }

    fn debug_conditions(&mut self) -> Result<mgmt::DebugConditions, mgmt::HandlerError> {
        Ok(self.debug.clone())
    }

    fn debug(&mut self, req: &mgmt::DebugRequest) -> Result<mgmt::Ack, mgmt::HandlerError> {
        if let mgmt::DebugCommand::NhrpCapture { path } = &req.command {
            // Close any capture first (`no debug nhrp capture`, or a new file).
            self.capture = None;
            if req.enable {
                let Some(path) = path else {
                    return Err(mgmt::HandlerError::Failed(
                        "debug nhrp capture needs a file name".to_string(),
                    ));
                };
                let capture = NhrpCapture::open(Path::new(path))
                    .map_err(|e| mgmt::HandlerError::Failed(format!("cannot write {path}: {e}")))?;
                self.capture = Some(capture);
            }
        }
        self.debug.apply(&req.command, req.enable);
        let message = req.command.confirmation(req.enable);
        tracing::info!("{message}");
        Ok(mgmt::Ack {
            message,
            affected: None,
        })
    }

    fn undebug_all(&mut self) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.capture = None;
        self.debug.undebug_all();
        Ok(mgmt::Ack {
            message: "All possible debugging has been turned off".to_string(),
            affected: None,
        })
    }

    fn clear_dmvpn_session(
        &mut self,
        req: &mgmt::ClearDmvpnSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.cmd_clear_dmvpn_session(req)
    }

    fn ikev2_sas(&mut self) -> Result<mgmt::IkeSaReport, mgmt::HandlerError> {
        Ok(self.ikev2_report())
    }

    fn ipsec_sas(&mut self) -> Result<mgmt::IpsecSaReport, mgmt::HandlerError> {
        Ok(self.ipsec_report())
    }

    fn crypto_sessions(&mut self) -> Result<mgmt::CryptoSessionReport, mgmt::HandlerError> {
        Ok(self.session_report())
    }

    fn clear_crypto_session(
        &mut self,
        req: &mgmt::ClearCryptoSession,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        let peer = match req.remote {
            None => None,
            Some(IpAddr::V4(a)) => Some(a),
            Some(IpAddr::V6(a)) => {
                return Err(mgmt::HandlerError::Failed(format!(
                    "{a}: IPv6 peers are not supported yet"
                )));
            }
        };
        let n = self.ipsec_clear(peer);
        tracing::info!(
            "%CRYPTO-5-SESSION_CLEAR: crypto session{} cleared ({n} IKE SA(s))",
            peer.map_or(String::new(), |p| format!(" with {p}"))
        );
        Ok(mgmt::Ack {
            message: String::new(),
            affected: Some(n as u64),
        })
    }

    fn clear_dmvpn_statistics(
        &mut self,
        req: &mgmt::ClearDmvpnStatistics,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.cmd_clear_dmvpn_statistics(req)
    }

    fn clear_counters(
        &mut self,
        req: &mgmt::ClearCounters,
    ) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.cmd_clear_counters(req)
    }

    fn clear_ip_nhrp(&mut self, req: &mgmt::ClearIpNhrp) -> Result<mgmt::Ack, mgmt::HandlerError> {
        self.cmd_clear_ip_nhrp(req)
    }
}

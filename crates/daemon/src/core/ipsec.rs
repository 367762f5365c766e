//! IPsec in the node core: per protected tunnel, the sans-IO IKEv2 engine (`dmvpn-ike`) and
//! the tunnel's SA database ([`SaDatabase`]: the userspace ESP table, later the kernel's
//! XFRM), glued to NHRP.
//!
//! The flow, as issue 12 asks:
//! * NHRP's `ProtectionNeeded` (registration, resolution, shortcut, redirect) and packets
//!   the data plane held for a peer without an SA start IKE to the peer's NBMA address
//!   (`NodeCore::ipsec_protect`); `ProtectionNotNeeded` (the mapping expired) deletes its
//!   SAs (`NodeCore::ipsec_release`).
//! * IKE datagrams from the data plane's UDP 500/4500 sockets go to the engine; its outputs
//!   are executed here (`NodeCore::drain_ipsec`): datagrams out through the data plane,
//!   Child SAs into the SA database, protection up/down to NHRP (which holds its packets to
//!   the peer until then) and to the data plane (which releases or drops the packets it
//!   held), events to `%CRYPTO-…` lines.
//! * Every second the SA database reports soft and hard expiries, unknown SPIs (a peer that
//!   restarted) and integrity failures; the engine rekeys or renegotiates.
//!
//! Fail-closed lives in the data plane: the tunnel's protection requires an SA for every
//! peer, so nothing leaves as cleartext GRE whatever this module does or fails to do.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use dmvpn_config::crypto::ResolvedProtection;
use dmvpn_crypto::SystemRandom;
use dmvpn_esp::{EspProtection, LifetimeLimits, SaPair, SaSnapshot, SaSpec};
use dmvpn_ike::{ChildSa, EspEvent, IkeEngine, Output};
use dmvpn_nhrp::{IfIndex, Instant};

use super::NodeCore;
use super::ipsec_log::{count_event, esp_sa_line, log_ike_event};

/// How often the SA database is checked for expiries and events.
const ESP_POLL: Duration = Duration::from_secs(1);
/// The data plane's own hard time limit runs this long past the engine's, as a safety net
/// (the engine deletes the SA at its hard lifetime).
const HARD_TIME_MARGIN: Duration = Duration::from_secs(30);

/// What the core asks of a tunnel's SA database (the userspace ESP table, or XFRM).
pub trait SaDatabase: Send + Sync {
    /// Installs both directions of a negotiated Child SA.
    fn install(&self, child: &ChildSa, idle: Option<Duration>, now: Duration)
    -> Result<(), String>;
    /// Removes the pair whose inbound SPI is `spi_in`.
    fn remove(&self, spi_in: u32) -> bool;
    /// Expiries and data-plane events since the last call, for the IKE engine, and the
    /// integrity failures for the log.
    fn poll(&self, now: Duration, source: Option<Ipv4Addr>) -> SadPoll;
    /// Every pair, for `show crypto ipsec sa`.
    fn snapshot(&self, now: Duration) -> Vec<SaSnapshot>;
    /// Table counters.
    fn stats(&self) -> dmvpn_esp::ProtectionStats;
    /// Packets that arrived for `spi_in` before it was installed, opened now: (peer, GRE
    /// packet). Call right after [`SaDatabase::install`].
    fn take_early(&self, _spi_in: u32) -> Vec<(Ipv4Addr, Vec<u8>)> {
        Vec::new()
    }
}

/// What [`SaDatabase::poll`] found.
#[derive(Debug, Default)]
pub struct SadPoll {
    /// Inputs for the IKE engine.
    pub engine: Vec<EspEvent>,
    /// Lines for the log (replay and authentication failures).
    pub log: Vec<String>,
}

impl SaDatabase for EspProtection {
    fn install(&self, c: &ChildSa, idle: Option<Duration>, now: Duration) -> Result<(), String> {
        let kb = |k: u64| (k > 0).then(|| k.saturating_mul(1024));
        let spec = SaSpec {
            peer: c.peer,
            local: c.local,
            spi_in: c.spi_in,
            spi_out: c.spi_out,
            encryption: c.encryption,
            integrity: c.integrity,
            enc_key_in: c.enc_key_in.clone(),
            integ_key_in: c.integ_key_in.clone(),
            enc_key_out: c.enc_key_out.clone(),
            integ_key_out: c.integ_key_out.clone(),
            mode: match c.mode {
                dmvpn_ike::Mode::Transport => dmvpn_esp::Mode::Transport,
                dmvpn_ike::Mode::Tunnel => dmvpn_esp::Mode::Tunnel,
            },
            esn: c.esn,
            limits: LifetimeLimits {
                soft_time: None,
                hard_time: Some(c.hard_lifetime + HARD_TIME_MARGIN),
                soft_bytes: kb(c.soft_kilobytes),
                hard_bytes: kb(c.hard_kilobytes),
                soft_packets: None,
                hard_packets: None,
                idle,
            },
            replay_window: c
                .replay_window
                .clamp(dmvpn_esp::MIN_WINDOW, dmvpn_esp::MAX_WINDOW),
            nat_t: c.encap.map(|e| e.remote_port),
        };
        let pair = SaPair::new(&spec, now).map_err(|e| e.to_string())?;
        if c.defer_outbound {
            EspProtection::install_deferred(self, pair).map_err(|e| e.to_string())
        } else {
            EspProtection::install(self, pair).map_err(|e| e.to_string())
        }
    }

    fn remove(&self, spi_in: u32) -> bool {
        self.remove_spi(spi_in)
    }

    fn poll(&self, now: Duration, source: Option<Ipv4Addr>) -> SadPoll {
        let mut out = SadPoll::default();
        for x in self.poll_expired(now) {
            out.engine.push(match x.lifetime {
                dmvpn_esp::Lifetime::HardExpired(_) => EspEvent::HardExpired { spi_in: x.spi_in },
                _ => EspEvent::SoftExpired { spi_in: x.spi_in },
            });
        }
        for e in self.take_events() {
            match e {
                dmvpn_esp::EspEvent::InvalidSpi { peer, local, spi } => {
                    let local = if local.is_unspecified() {
                        source.unwrap_or(local)
                    } else {
                        local
                    };
                    out.log.push(format!(
                        "%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for destaddr={local}, prot=50, spi=0x{spi:X}({spi}), srcaddr={peer}"
                    ));
                    out.engine.push(EspEvent::InvalidSpi { peer, local, spi });
                }
                dmvpn_esp::EspEvent::ReplayFailure {
                    peer,
                    spi,
                    sequence,
                } => out.log.push(format!(
                    "%CRYPTO-4-PKT_REPLAY_ERR: decrypt: replay check failed connection id={spi:#x}, srcaddr={peer}, seq={sequence}"
                )),
                dmvpn_esp::EspEvent::AuthFailure { peer, spi } => out.log.push(format!(
                    "%CRYPTO-4-RECVD_PKT_MAC_ERR: decrypt: mac verify failed for connection id={spi:#x}, srcaddr={peer}"
                )),
                other => out.log.push(format!("%CRYPTO-6-ESP: {other:?}")),
            }
        }
        out
    }

    fn snapshot(&self, now: Duration) -> Vec<SaSnapshot> {
        EspProtection::snapshot(self, now)
    }

    fn stats(&self) -> dmvpn_esp::ProtectionStats {
        EspProtection::stats(self)
    }

    fn take_early(&self, spi_in: u32) -> Vec<(Ipv4Addr, Vec<u8>)> {
        EspProtection::take_early(self, spi_in)
    }
}

/// The userspace ESP table for a protected tunnel whose source is `local`: every peer
/// needs an SA (fail closed).
pub fn userspace_esp(local: Ipv4Addr) -> Arc<EspProtection> {
    let esp = EspProtection::new(local, Box::new(SystemRandom::new()));
    esp.set_protect_all(true);
    Arc::new(esp)
}

/// Counters of one tunnel's IKE engine, for show and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpsecCounters {
    /// IKE SAs that came up.
    pub ike_up: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// Child SA rekeys.
    pub child_rekeys: u64,
    /// Authentication failures (ours or the peer's verdict).
    pub auth_failures: u64,
    /// Negotiations that failed otherwise (no proposal, timeouts, TS).
    pub negotiation_failures: u64,
    /// Child SAs the SA database refused.
    pub install_failures: u64,
    /// New IKE SAs refused by call admission (`crypto ikev2 limit max-sa`).
    pub admission_refused: u64,
}

/// The IPsec state of a group of protected tunnels ([`crate::translate::TunnelPlan::ipsec_group`]):
/// one tunnel, or the tunnels sharing a source with `tunnel protection … shared`.
pub struct TunnelIpsec {
    /// The resolved profile (what `show crypto session` names).
    pub profile: ResolvedProtection,
    /// The member tunnels' names, joined (log lines and shows).
    pub name: String,
    /// The member tunnels.
    pub members: Vec<IfIndex>,
    /// Call admission limits in force.
    limits: dmvpn_config::model::IkeLimits,
    /// Peers protection was asked for, and by which member tunnels: an SA is released
    /// when no member needs it any more.
    wants: BTreeMap<Ipv4Addr, BTreeSet<IfIndex>>,
    /// The IKE engine.
    pub engine: IkeEngine,
    /// Where Child SAs go.
    pub sad: Arc<dyn SaDatabase>,
    /// Idle timeout of Child SAs (`set security-association idle-time`).
    idle: Option<Duration>,
    /// Next SA-database poll.
    next_poll: Duration,
    /// Counters.
    pub counters: IpsecCounters,
}

impl TunnelIpsec {
    /// The IPsec state of a tunnel protected by `profile`, installing into `sad`.
    pub fn new(
        profile: ResolvedProtection,
        limits: &dmvpn_config::model::IkeLimits,
        sad: Arc<dyn SaDatabase>,
        now: Duration,
    ) -> Result<TunnelIpsec, String> {
        let config = crate::ike_config::ike_config(&profile, limits)?;
        let engine =
            IkeEngine::new(config, Box::new(SystemRandom::new())).map_err(|e| e.to_string())?;
        let idle = profile
            .child
            .idle_time_secs
            .map(|s| Duration::from_secs(u64::from(s)));
        Ok(TunnelIpsec {
            name: profile.tunnel.clone(),
            members: Vec::new(),
            limits: *limits,
            wants: BTreeMap::new(),
            profile,
            engine,
            sad,
            idle,
            next_poll: now + ESP_POLL,
            counters: IpsecCounters::default(),
        })
    }

    /// A changed profile or call admission limits, in place: established SAs keep what they
    /// negotiated; new SAs and rekeys use the new settings.
    pub fn reconfigure(
        &mut self,
        profile: ResolvedProtection,
        limits: &dmvpn_config::model::IkeLimits,
        now: Duration,
    ) -> Result<(), String> {
        let config = crate::ike_config::ike_config(&profile, limits)?;
        self.engine
            .update_config(now, config)
            .map_err(|e| e.to_string())?;
        self.idle = profile
            .child
            .idle_time_secs
            .map(|s| Duration::from_secs(u64::from(s)));
        self.profile = profile;
        self.limits = *limits;
        Ok(())
    }

    /// When this tunnel's IPsec wants time next.
    pub fn deadline(&self) -> Duration {
        match self.engine.poll_timeout() {
            Some(t) => t.min(self.next_poll),
            None => self.next_poll,
        }
    }
}

/// The engine's clock: the core's milliseconds as a duration.
pub(crate) fn dur(now: Instant) -> Duration {
    Duration::from_millis(now.as_millis())
}

/// The core's clock from the engine's.
pub(crate) fn instant(d: Duration) -> Instant {
    Instant::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Whether two profiles negotiate the same (the tunnel they were resolved for aside).
fn same_profile(a: &ResolvedProtection, b: &ResolvedProtection) -> bool {
    a.ipsec_profile == b.ipsec_profile
        && a.shared == b.shared
        && a.ike == b.ike
        && a.child == b.child
}

/// Whether two handles name the same SA database.
fn same_sad(a: &Arc<dyn SaDatabase>, b: &Arc<dyn SaDatabase>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

impl NodeCore {
    /// Forms the IPsec groups of the running tunnels: a group whose members still use its
    /// SA database and profile keeps its IKE engine (and its SAs); a new or changed one gets
    /// a fresh engine; a group without members goes. Peers that only departed members
    /// needed are released.
    pub(crate) fn regroup_ipsec(&mut self) -> Result<(), String> {
        let now = dur(self.now);
        let mut groups: BTreeMap<String, Vec<IfIndex>> = BTreeMap::new();
        for (i, t) in &self.tunnels {
            if let Some(k) = t.plan.ipsec_group() {
                groups.entry(k).or_default().push(*i);
            }
        }
        let mut old = std::mem::take(&mut self.ipsec);
        for (key, members) in groups {
            let Some((profile, limits, sad)) = members.first().and_then(|i| {
                let t = self.tunnels.get(i)?;
                Some((t.plan.ipsec.clone()?, t.plan.ike_limits, t.sad.clone()?))
            }) else {
                continue;
            };
            // The running group over the same SA database keeps its engine and SAs, and
            // takes a changed profile or limits in place.
            let adopted = match old.get(&key) {
                Some(g) if same_sad(&g.sad, &sad) => old.remove(&key),
                _ => {
                    let k = old
                        .iter()
                        .find(|(_, g)| same_sad(&g.sad, &sad))
                        .map(|(k, _)| k.clone());
                    k.and_then(|k| old.remove(&k))
                }
            };
            let g = match adopted {
                Some(mut g) => {
                    if (!same_profile(&g.profile, &profile) || g.limits != limits)
                        && let Err(e) = g.reconfigure(profile, &limits, now)
                    {
                        // Validated before the reload was committed; should it still fail,
                        // the running settings stay.
                        tracing::error!("{}: IPsec settings not applied: {e}", g.name);
                    }
                    g
                }
                None => TunnelIpsec::new(profile, &limits, sad, now)?,
            };
            self.ipsec.insert(key.clone(), g);
            let names: Vec<String> = members
                .iter()
                .filter_map(|i| self.tunnels.get(i).map(|t| t.plan.name.clone()))
                .collect();
            let Some(g) = self.ipsec.get_mut(&key) else {
                continue;
            };
            g.name = names.join(",");
            let mut released = Vec::new();
            g.wants.retain(|peer, by| {
                by.retain(|i| members.contains(i));
                if by.is_empty() {
                    released.push(*peer);
                }
                !by.is_empty()
            });
            for peer in released {
                g.engine.release(now, peer);
            }
            g.members = members;
            self.drain_ipsec(&key);
        }
        Ok(())
    }

    /// The IPsec group of tunnel `iface`, when it is protected.
    fn group_of(&self, iface: IfIndex) -> Option<String> {
        self.tunnels.get(&iface)?.plan.ipsec_group()
    }

    /// The IPsec state of tunnel `iface`'s group.
    pub(crate) fn ipsec_of(&self, iface: IfIndex) -> Option<&TunnelIpsec> {
        self.ipsec.get(&self.group_of(iface)?)
    }

    /// NHRP (or the data plane) needs protection towards `peer` on tunnel `iface`.
    pub(crate) fn ipsec_protect(&mut self, iface: IfIndex, peer: Ipv4Addr) -> bool {
        let now = dur(self.now);
        let Some(t) = self.tunnels.get(&iface) else {
            return false;
        };
        let Some(key) = t.plan.ipsec_group() else {
            return false;
        };
        let Some(local) = t.dp.source_address() else {
            tracing::debug!(
                "{}: no tunnel source address yet: IKE to {peer} waits",
                t.plan.name
            );
            return true;
        };
        let Some(g) = self.ipsec.get_mut(&key) else {
            return false;
        };
        g.wants.entry(peer).or_default().insert(iface);
        g.engine.protect(now, local, peer);
        self.drain_ipsec(&key);
        true
    }

    /// Tunnel `iface`'s mapping to `peer` is gone: the SAs are deleted unless another
    /// tunnel of the group still needs them.
    pub(crate) fn ipsec_release(&mut self, iface: IfIndex, peer: Ipv4Addr) -> bool {
        let now = dur(self.now);
        let Some(key) = self.group_of(iface) else {
            return false;
        };
        let Some(g) = self.ipsec.get_mut(&key) else {
            return false;
        };
        if let Some(by) = g.wants.get_mut(&peer) {
            by.remove(&iface);
            if !by.is_empty() {
                tracing::debug!(
                    "{}: {peer} is still needed by another tunnel of the group: SAs kept",
                    g.name
                );
                return true;
            }
            g.wants.remove(&peer);
        }
        g.engine.release(now, peer);
        self.drain_ipsec(&key);
        true
    }

    /// Tunnel `iface`'s source address is now `new`: SAs negotiated from another address are
    /// useless (the peers check where ESP comes from), so the group's SAs are cleared and
    /// NHRP has them negotiated again from the new address (the peer drops its old ones
    /// when NHRP stops mapping us there, or on our Delete).
    pub(crate) fn ipsec_source_changed(&mut self, iface: IfIndex, new: Ipv4Addr) {
        let now = dur(self.now);
        let Some(key) = self.group_of(iface) else {
            return;
        };
        let Some(g) = self.ipsec.get_mut(&key) else {
            return;
        };
        let stale = g.engine.sas().iter().any(|s| *s.local.ip() != new);
        if !stale {
            return;
        }
        tracing::info!(
            "%CRYPTO-5-SOURCE_CHANGED: {}: tunnel source is now {new}: IPsec SAs from the old address cleared",
            g.name
        );
        g.engine.clear(now, None);
        self.drain_ipsec(&key);
    }

    /// An IKE datagram arrived on tunnel `iface`.
    pub(crate) fn ipsec_datagram(
        &mut self,
        iface: IfIndex,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        message: &[u8],
    ) {
        let now = dur(self.now);
        let Some(key) = self.group_of(iface).filter(|k| self.ipsec.contains_key(k)) else {
            tracing::debug!("IKE message from {remote} on an unprotected tunnel dropped");
            return;
        };
        if let Some(g) = self.ipsec.get_mut(&key) {
            g.engine.handle_datagram(now, local, remote, message);
        }
        self.drain_ipsec(&key);
    }

    /// `clear crypto session [remote ADDR]` / `clear crypto ikev2 sa`: SAs are deleted;
    /// NHRP builds them again for the mappings that still need them.
    pub(crate) fn ipsec_clear(&mut self, peer: Option<Ipv4Addr>) -> usize {
        let now = dur(self.now);
        let keys: Vec<String> = self.ipsec.keys().cloned().collect();
        let mut n = 0;
        for k in keys {
            if let Some(g) = self.ipsec.get_mut(&k) {
                n += g
                    .engine
                    .sas()
                    .iter()
                    .filter(|s| peer.is_none_or(|p| *s.remote.ip() == p))
                    .count();
                g.engine.clear(now, peer);
                self.drain_ipsec(&k);
            }
        }
        n
    }

    /// The earliest IPsec deadline of every group.
    pub(crate) fn ipsec_deadline(&self) -> Option<Instant> {
        self.ipsec.values().map(|i| instant(i.deadline())).min()
    }

    /// The data plane of group `key`'s first member (members share their IPsec sockets
    /// and protector: any of them sends for the group).
    fn group_dp(&self, key: &str) -> Option<Arc<dyn dmvpn_dataplane::DataPlane>> {
        let g = self.ipsec.get(key)?;
        g.members
            .iter()
            .find_map(|i| self.tunnels.get(i).map(|t| t.dp.clone()))
    }

    /// Timers of every group's IKE engine, and the SA-database poll.
    pub(crate) fn ipsec_timeout(&mut self) {
        let now = dur(self.now);
        let keys: Vec<String> = self.ipsec.keys().cloned().collect();
        for k in keys {
            let source = self.group_dp(&k).and_then(|dp| dp.source_address());
            let Some(g) = self.ipsec.get_mut(&k) else {
                continue;
            };
            if g.next_poll <= now {
                g.next_poll = now + ESP_POLL;
                let polled = g.sad.poll(now, source);
                for line in &polled.log {
                    tracing::warn!("{line} ({})", g.name);
                }
                for mut ev in polled.engine {
                    if let EspEvent::InvalidSpi { local, .. } = &mut ev
                        && local.is_unspecified()
                    {
                        match source {
                            Some(s) => *local = s,
                            None => continue,
                        }
                    }
                    g.engine.handle_esp_event(now, ev);
                }
            }
            if g.engine.poll_timeout().is_some_and(|t| t <= now) {
                g.engine.handle_timeout(now);
            }
            self.drain_ipsec(&k);
        }
    }

    /// Executes group `key`'s IKE outputs. NHRP's reactions to protection changes are
    /// queued in its engine and run by the caller's `drain_actions`.
    pub(crate) fn drain_ipsec(&mut self, key: &str) {
        let now = dur(self.now);
        let Some(dp) = self.group_dp(key) else {
            return;
        };
        loop {
            let Some(g) = self.ipsec.get_mut(key) else {
                return;
            };
            let name = g.name.clone();
            let Some(out) = g.engine.poll_output() else {
                return;
            };
            match out {
                Output::Send {
                    local,
                    remote,
                    bytes,
                } => {
                    let outcome = if bytes.as_slice() == [0xFF] {
                        dp.send_nat_keepalive(remote)
                    } else {
                        dp.send_ike(local.port(), remote, &bytes)
                    };
                    if !matches!(outcome, dmvpn_dataplane::seam::SendOutcome::Sent) {
                        tracing::debug!("{name}: IKE datagram to {remote} not sent: {outcome:?}");
                    }
                }
                Output::InstallChild(child) => {
                    if let Err(e) = g.sad.install(&child, g.idle, now) {
                        g.counters.install_failures += 1;
                        tracing::error!(
                            "%CRYPTO-3-SA_INSTALL: {name}: SA with {} (spi in 0x{:08X}) not installed: {e}",
                            child.peer,
                            child.spi_in
                        );
                        continue;
                    }
                    // A responder may already have sent on this SA (typically the NHRP
                    // reply that made us negotiate): those packets arrived before we had
                    // the keys. NHRP among them goes to the engine now; data was carried
                    // by the hub meanwhile and is not replayed.
                    let early = g.sad.take_early(child.spi_in);
                    self.write_key_log(&child);
                    for (peer, gre) in early {
                        self.early_nhrp(key, peer, &gre);
                    }
                }
                Output::DeleteChild { spi_in, .. } => {
                    g.sad.remove(spi_in);
                }
                Output::ProtectionUp { peer } => {
                    // The group's members share one protector: one release sends what any
                    // of them held.
                    let released = dp.protection_changed(peer, true);
                    tracing::debug!(
                        "{name}: protection with {peer} up ({released} held packet(s) sent)"
                    );
                    self.protected.insert(peer);
                    self.engine.handle_protection(self.now, peer, true);
                }
                Output::ProtectionDown { peer } => {
                    let dropped = dp.protection_changed(peer, false);
                    tracing::debug!(
                        "{name}: protection with {peer} down ({dropped} held packet(s) dropped)"
                    );
                    self.engine.handle_protection(self.now, peer, false);
                }
                Output::Event(e) => {
                    count_event(&mut g.counters, &e);
                    log_ike_event(&name, &e, self.debug.crypto_ikev2);
                    self.identity_event(key, &e);
                }
            }
        }
    }

    /// An NHRP packet (in `gre`, GRE header first) that arrived over an SA before it was
    /// installed: handed to the engine as if it had just arrived.
    fn early_nhrp(&mut self, group: &str, peer: Ipv4Addr, gre: &[u8]) {
        use dmvpn_wire::gre::{EtherType, Packet};
        let Ok(p) = Packet::new_checked(gre) else {
            return;
        };
        // The member tunnel whose key the packet carries.
        let Some(iface) = self.ipsec.get(group).and_then(|g| {
            g.members.iter().copied().find(|i| {
                self.tunnels
                    .get(i)
                    .is_some_and(|t| t.plan.dataplane.key == p.key())
            })
        }) else {
            return;
        };
        if p.protocol() != EtherType::Nhrp {
            return;
        }
        let nhrp = p.payload().to_vec();
        tracing::debug!("NHRP from {peer} that arrived before its SA, handled now");
        self.debug_packet(false, iface, peer, &nhrp);
        let now = self.now;
        self.engine.handle_packet(now, iface, peer, &nhrp);
    }

    /// Appends both directions of a new Child SA to the key log (Wireshark's `esp_sa`
    /// table), when one is open.
    fn write_key_log(&mut self, child: &ChildSa) {
        let Some(log) = self.key_log.as_mut() else {
            return;
        };
        let lines = [
            esp_sa_line(
                child.local,
                child.peer,
                child.spi_out,
                child,
                child.enc_key_out.as_slice(),
                child.integ_key_out.as_slice(),
            ),
            esp_sa_line(
                child.peer,
                child.local,
                child.spi_in,
                child,
                child.enc_key_in.as_slice(),
                child.integ_key_in.as_slice(),
            ),
        ];
        for l in lines {
            if let Err(e) = writeln!(log, "{l}") {
                tracing::warn!("IPsec key log not written: {e}");
            }
        }
        let _ = log.flush();
    }
}

//! Executing the engine's actions on the data plane, and the packet-level debug outputs.
//!
//! Every [`Action`] variant has its arm here (the match is exhaustive, so a new variant does
//! not compile until it is handled): NHRP packets go out through [`DataPlane::send_nhrp`],
//! mappings, shortcuts and multicast membership into the data plane's tables, protection
//! requests to the protection seam, engine events to the log. `debug nhrp packet` lines and
//! the `debug nhrp capture` file see every NHRP packet sent and received.
//!
//! Protection (IPsec) seam: a protected tunnel hands `ProtectionNeeded` / `NotNeeded` to its
//! IKE engine ([`super::ipsec`]); without protection the node has pass-through protection,
//! so `ProtectionNeeded` reports the peer protected at once.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use dmvpn_dataplane::seam::{DataPlane, SendOutcome};
use dmvpn_nhrp::{Action, IfIndex};

use super::{NodeCore, dp_prefix};
use crate::events::log_event_limited;

/// An open `debug nhrp capture` file.
pub struct NhrpCapture {
    /// Unbuffered: NHRP is rare, and the file stays readable while it grows.
    writer: dmvpn_capture::PcapWriter<std::fs::File>,
}

impl NhrpCapture {
    /// Creates (truncates) the capture file.
    pub fn open(path: &Path) -> std::io::Result<NhrpCapture> {
        let file = std::fs::File::create(path)?;
        let writer = dmvpn_capture::PcapWriter::new(file, dmvpn_capture::LinkType::Ethernet)?;
        Ok(NhrpCapture { writer })
    }

    /// Writes one NHRP packet as it travelled: in GRE (with the tunnel key) in IPv4.
    fn write(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        key: Option<u32>,
        packet: &[u8],
    ) -> std::io::Result<()> {
        let mut gre = dmvpn_wire::gre::Repr::new(dmvpn_wire::gre::EtherType::Nhrp);
        gre.key = key;
        let frame =
            dmvpn_capture::ethernet_gre_frame(IpAddr::V4(src), IpAddr::V4(dst), &gre, packet)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let timestamp = dmvpn_capture::Timestamp {
            secs: i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            nanos: since.subsec_nanos(),
        };
        self.writer.write_frame(timestamp, &frame)
    }
}

/// Whether an NHRP packet is a Purge Request (its fixed header's `ar$op.type`).
fn is_purge_request(packet: &[u8]) -> bool {
    use dmvpn_wire::nhrp::{Packet, PacketType};
    Packet::new_checked(packet).is_ok_and(|p| p.packet_type() == PacketType::PurgeRequest)
}

impl NodeCore {
    /// Executes the engine's pending actions on the data plane, in order (including those
    /// an action itself causes, such as pass-through protection coming up).
    pub fn drain_actions(&mut self) {
        loop {
            while let Some(action) = self.engine.poll_action() {
                self.execute(action);
            }
            // Protection that comes up while negotiating queues more NHRP work.
            if !self.negotiate() {
                return;
            }
        }
    }

    /// Peers for which a data plane's NBMA transport held packets and asked for protection:
    /// with pass-through protection there is nothing to negotiate, so protection is up at
    /// once and the held packets leave. (An IKE engine starts its negotiation here.)
    /// Returns whether any peer asked (the engine may have work again).
    fn negotiate(&mut self) -> bool {
        let mut asked = false;
        let mut wanted = Vec::new();
        for (i, t) in &self.tunnels {
            for peer in t.dp.negotiations() {
                asked = true;
                if t.plan.ipsec.is_some() {
                    wanted.push((*i, peer));
                    continue;
                }
                tracing::debug!(
                    "{}: protection towards {peer} requested by the data plane (pass-through)",
                    t.plan.name
                );
                t.dp.protection_changed(peer, true);
            }
        }
        for (i, peer) in wanted {
            tracing::debug!("protection towards {peer} requested by the data plane: IKE");
            self.ipsec_protect(i, peer);
        }
        asked
    }

    fn dataplane(&self, iface: IfIndex) -> Option<&dyn DataPlane> {
        self.tunnels.get(&iface).map(|t| t.dp.as_ref())
    }

    /// Executes one action. Actions for an interface the node does not run are ignored.
    pub(crate) fn execute(&mut self, action: Action) {
        match action {
            Action::Send {
                iface,
                to_nbma,
                bytes,
            } => self.send(iface, to_nbma, &bytes),
            Action::MappingAdd { iface, proto, nbma } => {
                if let Some(dp) = self.dataplane(iface) {
                    dp.set_mapping(proto, nbma);
                }
            }
            Action::MappingRemove { iface, proto, nbma } => {
                // Only the binding the engine installed: a newer one may have replaced it.
                if let Some(dp) = self.dataplane(iface)
                    && dp.mapping(proto) == Some(nbma)
                {
                    dp.remove_mapping(proto);
                }
            }
            Action::ShortcutAdd {
                iface,
                prefix,
                next_hop,
            } => {
                if let (Some(t), Some(p)) = (self.tunnels.get(&iface), dp_prefix(&prefix)) {
                    tracing::info!(
                        "%DMVPN-5-NHRP_SHORTCUT: {} shortcut {prefix} via {next_hop} installed",
                        t.plan.name
                    );
                    t.dp.set_shortcut(p, next_hop);
                }
            }
            Action::ShortcutRemove {
                iface,
                prefix,
                next_hop,
            } => {
                if let (Some(t), Some(p)) = (self.tunnels.get(&iface), dp_prefix(&prefix))
                    && t.dp
                        .shortcuts()
                        .iter()
                        .any(|(q, n)| *q == p && *n == next_hop)
                {
                    t.dp.remove_shortcut(p);
                    tracing::info!(
                        "%DMVPN-5-NHRP_SHORTCUT: {} shortcut {prefix} via {next_hop} removed",
                        t.plan.name
                    );
                }
            }
            Action::ProtectionNeeded { iface, nbma } => self.protection(iface, nbma, true),
            Action::ProtectionNotNeeded { iface, nbma } => self.protection(iface, nbma, false),
            Action::MulticastAdd { iface, nbma } => {
                if let Some(dp) = self.dataplane(iface) {
                    dp.add_dynamic_peer(nbma);
                }
            }
            Action::MulticastRemove { iface, nbma } => {
                if let Some(dp) = self.dataplane(iface) {
                    dp.remove_dynamic_peer(nbma);
                }
            }
            Action::Event(event) => {
                self.follow_nhs(&event);
                self.log_event(&event);
            }
        }
    }

    fn send(&mut self, iface: IfIndex, to: Ipv4Addr, bytes: &[u8]) {
        self.debug_packet(true, iface, to, bytes);
        let Some(t) = self.tunnels.get(&iface) else {
            return;
        };
        match t.dp.send_nhrp(to, bytes) {
            SendOutcome::Sent => {
                if self.shutting_down && is_purge_request(bytes) {
                    tracing::info!(
                        "%DMVPN-5-NHRP_PURGE: {} Purge Request sent to NHS {to}",
                        t.plan.name
                    );
                }
            }
            SendOutcome::Queued => {
                tracing::debug!(
                    "{}: NHRP to {to} queued until protection is up",
                    t.plan.name
                );
            }
            SendOutcome::Dropped(reason) => {
                tracing::debug!("{}: NHRP to {to} not sent: {reason}", t.plan.name);
            }
        }
    }

    /// NHS UP/DOWN events tell the data plane which NHS unresolved traffic may take.
    fn follow_nhs(&self, event: &dmvpn_nhrp::Event) {
        use dmvpn_nhrp::Event as E;
        let (iface, nhs, up) = if let E::NhsUp { iface, nhs } = event {
            (*iface, *nhs, true)
        } else if let E::NhsDown { iface, nhs } = event {
            (*iface, *nhs, false)
        } else {
            return;
        };
        let nbma = self
            .engine
            .nhs_status(Some(iface))
            .into_iter()
            .find(|n| n.protocol == nhs)
            .and_then(|n| n.nbma);
        if let (Some(dp), Some(nbma)) = (self.dataplane(iface), nbma) {
            dp.set_nhs_up(nbma, up);
        }
    }

    fn log_event(&mut self, event: &dmvpn_nhrp::Event) {
        use dmvpn_nhrp::Event as E;
        let iface = match event {
            E::NhsUp { iface, .. }
            | E::NhsDown { iface, .. }
            | E::RegistrationAccepted { iface, .. }
            | E::RegistrationRefused { iface, .. }
            | E::ClientRegistered { iface, .. }
            | E::ClientRefused { iface, .. }
            | E::IdentityRefused { iface, .. }
            | E::CacheAdded { iface, .. }
            | E::CacheRemoved { iface, .. }
            | E::RedirectSent { iface, .. }
            | E::RedirectReceived { iface, .. }
            | E::ResolutionDone { iface, .. }
            | E::ResolutionFailed { iface, .. }
            | E::PurgeReceived { iface, .. }
            | E::ErrorReceived { iface, .. }
            | E::ErrorSent { iface, .. }
            | E::Dropped { iface, .. }
            | E::MaxSendExceeded { iface, .. } => *iface,
        };
        let name = self.iface_name(iface);
        let nhrp = self.debug.effective_nhrp();
        let promote = (nhrp.events || nhrp.cache || nhrp.error)
            && self.debug.matches(Some(&name), None, None);
        let Some(similar) = self.flood_log.admit(event, &name, self.now) else {
            return;
        };
        log_event_limited(
            event,
            &name,
            promote,
            &mut self.event_limiter,
            self.now,
            similar,
        );
    }

    /// `debug nhrp packet`: one line per NHRP packet sent or received; `debug nhrp capture`:
    /// the packet into the capture file.
    pub(crate) fn debug_packet(
        &mut self,
        outbound: bool,
        ifindex: IfIndex,
        peer: Ipv4Addr,
        packet: &[u8],
    ) {
        if let Some(capture) = &mut self.capture {
            let (own, key) = self.tunnels.get(&ifindex).map_or((None, None), |t| {
                (t.dp.source_address(), t.plan.dataplane.key)
            });
            let own = own.unwrap_or(Ipv4Addr::UNSPECIFIED);
            let (src, dst) = if outbound { (own, peer) } else { (peer, own) };
            match capture.write(src, dst, key, packet) {
                Ok(()) => {
                    if let Some(status) = &mut self.debug.capture {
                        status.packets += 1;
                    }
                }
                Err(e) => {
                    tracing::error!("NHRP capture stopped: {e}");
                    self.capture = None;
                    self.debug.capture = None;
                }
            }
        }
        if self.debug.effective_nhrp().packet {
            let name = self.iface_name(ifindex);
            if self
                .debug
                .matches(Some(&name), Some(IpAddr::V4(peer)), None)
            {
                tracing::info!(
                    "{}",
                    crate::events::packet_line(outbound, &name, peer, packet)
                );
            }
        }
    }

    /// The protection seam: the engine needs (or no longer needs) protection towards `nbma`.
    /// With pass-through protection the peer counts as protected at once.
    fn protection(&mut self, iface: IfIndex, nbma: Ipv4Addr, needed: bool) {
        let name = self.iface_name(iface);
        let protected = self
            .tunnels
            .get(&iface)
            .is_some_and(|t| t.plan.ipsec.is_some());
        if protected {
            // IKE: NHRP hears `handle_protection` when the Child SA is installed.
            if needed {
                tracing::debug!("{name}: protection towards {nbma} requested: IKE");
                self.protected.insert(nbma);
                self.ipsec_protect(iface, nbma);
            } else {
                tracing::debug!("{name}: protection towards {nbma} no longer needed: SAs deleted");
                self.protected.remove(&nbma);
                self.ipsec_release(iface, nbma);
            }
            return;
        }
        if needed {
            tracing::debug!("{name}: protection towards {nbma} requested (pass-through)");
            self.protected.insert(nbma);
            if let Some(dp) = self.dataplane(iface) {
                dp.protection_changed(nbma, true);
            }
            self.engine.handle_protection(self.now, nbma, true);
        } else {
            tracing::debug!("{name}: protection towards {nbma} no longer needed");
            self.protected.remove(&nbma);
        }
    }

    /// The peers protection was asked for and not released (pass-through: all of them count
    /// as protected).
    pub fn protected_peers(&self) -> impl Iterator<Item = &Ipv4Addr> {
        self.protected.iter()
    }
}

//! Runtime debugging switches: the `debug nhrp …` / `debug dmvpn …` commands,
//! their conditions, the NHRP packet capture, and `show dmvpn debug-condition`.
//!
//! The daemon keeps one [`DebugConditions`] value, applies each
//! [`DebugCommand`] to it with [`DebugConditions::apply`], asks
//! [`DebugConditions::effective_nhrp`] and [`DebugConditions::matches`] before
//! logging, and reacts to a change of [`DebugConditions::capture`] by opening
//! or closing the pcapng writer.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which NHRP debugging a `debug nhrp [WHAT]` command switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NhrpDebugKind {
    /// `debug nhrp`: protocol events, packets and errors.
    All,
    /// `debug nhrp packet`: every NHRP packet sent and received.
    Packet,
    /// `debug nhrp events` (also `debug nhrp detail`): state changes.
    Events,
    /// `debug nhrp error`: errors only.
    Error,
    /// `debug nhrp extension`: extension contents.
    Extension,
    /// `debug nhrp cache`: cache additions and removals.
    Cache,
    /// `debug nhrp rate`: max-send quota decisions.
    Rate,
}

/// Level of a `debug dmvpn LEVEL SCOPE` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DmvpnDebugLevel {
    /// Error level.
    Error,
    /// Detail (event) level.
    Detail,
    /// Packet level.
    Packet,
    /// All three levels.
    All,
}

/// Scope of a `debug dmvpn LEVEL SCOPE` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DmvpnDebugScope {
    /// NHRP only.
    Nhrp,
    /// IKE and IPsec.
    Crypto,
    /// Tunnel protection and the GRE data plane.
    Tunnel,
    /// Protection sockets.
    Socket,
    /// All of the above.
    All,
}

/// A debug condition (`debug dmvpn condition …`, `debug nhrp condition …`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum DebugCondition {
    /// `peer nbma IP`.
    PeerNbma {
        /// NBMA address.
        address: IpAddr,
    },
    /// `peer tunnel IP`.
    PeerTunnel {
        /// Tunnel address.
        address: IpAddr,
    },
    /// `interface TunnelN`.
    Interface {
        /// Interface name.
        name: String,
    },
    /// `unmatched`: also debug events that carry no context to match.
    Unmatched,
    /// No argument: with `no`, removes every condition.
    All,
}

/// One debug command. Sent as [`crate::Request::Debug`] with `enable`
/// false for the `no debug …` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "debug", rename_all = "snake_case")]
pub enum DebugCommand {
    /// `debug nhrp [packet|events|error|extension|cache|rate]`.
    Nhrp {
        /// What to switch.
        kind: NhrpDebugKind,
    },
    /// `debug dmvpn {error|detail|packet|all} [nhrp|crypto|tunnel|socket|all]`.
    Dmvpn {
        /// Level.
        level: DmvpnDebugLevel,
        /// Scope.
        scope: DmvpnDebugScope,
    },
    /// `debug dmvpn condition …` / `debug nhrp condition …`.
    Condition {
        /// The condition.
        condition: DebugCondition,
    },
    /// `debug nhrp capture FILE.pcapng` (enable) / `no debug nhrp capture`.
    NhrpCapture {
        /// Absolute path of the pcapng file the daemon writes; `None` with
        /// the `no` form.
        path: Option<String>,
    },
    /// `debug crypto ikev2`: every IKEv2 event in the log.
    CryptoIkev2,
}

impl DebugCommand {
    /// The IOS-style confirmation line for this command, e.g. `NHRP packet
    /// debugging is on`.
    pub fn confirmation(&self, enable: bool) -> String {
        let onoff = if enable { "on" } else { "off" };
        match self {
            DebugCommand::Nhrp { kind } => {
                let what = match kind {
                    NhrpDebugKind::All => "NHRP protocol",
                    NhrpDebugKind::Packet => "NHRP packet",
                    NhrpDebugKind::Events => "NHRP events",
                    NhrpDebugKind::Error => "NHRP errors",
                    NhrpDebugKind::Extension => "NHRP extension processing",
                    NhrpDebugKind::Cache => "NHRP cache",
                    NhrpDebugKind::Rate => "NHRP rate limiting",
                };
                format!("{what} debugging is {onoff}")
            }
            DebugCommand::Dmvpn { level, scope } => {
                let level = match level {
                    DmvpnDebugLevel::Error => "error",
                    DmvpnDebugLevel::Detail => "detail",
                    DmvpnDebugLevel::Packet => "packet",
                    DmvpnDebugLevel::All => "all",
                };
                let scope = match scope {
                    DmvpnDebugScope::Nhrp => "nhrp",
                    DmvpnDebugScope::Crypto => "crypto",
                    DmvpnDebugScope::Tunnel => "tunnel",
                    DmvpnDebugScope::Socket => "socket",
                    DmvpnDebugScope::All => "all",
                };
                format!("DMVPN {level} level debugging is {onoff} for {scope}")
            }
            DebugCommand::Condition { condition } => {
                let what = match condition {
                    DebugCondition::PeerNbma { address } => format!("peer NBMA {address}"),
                    DebugCondition::PeerTunnel { address } => format!("peer tunnel {address}"),
                    DebugCondition::Interface { name } => format!("interface {name}"),
                    DebugCondition::Unmatched => "unmatched context".to_owned(),
                    DebugCondition::All => "all conditions".to_owned(),
                };
                if enable {
                    format!("DMVPN conditional debugging added for {what}")
                } else {
                    format!("DMVPN conditional debugging removed for {what}")
                }
            }
            DebugCommand::NhrpCapture { path } => match (enable, path) {
                (true, Some(p)) => format!("NHRP packet capture to {p} is on"),
                _ => "NHRP packet capture is off".to_owned(),
            },
            DebugCommand::CryptoIkev2 => format!("IKEv2 default debugging is {onoff}"),
        }
    }
}

/// NHRP debugging switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NhrpDebug {
    /// Packets sent and received.
    pub packet: bool,
    /// Protocol events.
    pub events: bool,
    /// Errors.
    pub error: bool,
    /// Extensions.
    pub extension: bool,
    /// Cache changes.
    pub cache: bool,
    /// Rate limiting.
    pub rate: bool,
}

impl NhrpDebug {
    /// Whether any switch is on.
    pub fn any(&self) -> bool {
        self.packet || self.events || self.error || self.extension || self.cache || self.rate
    }
}

/// The three `debug dmvpn` levels of one scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebugLevels {
    /// Error level.
    pub error: bool,
    /// Detail level.
    pub detail: bool,
    /// Packet level.
    pub packet: bool,
}

impl DebugLevels {
    fn set(&mut self, level: DmvpnDebugLevel, on: bool) {
        match level {
            DmvpnDebugLevel::Error => self.error = on,
            DmvpnDebugLevel::Detail => self.detail = on,
            DmvpnDebugLevel::Packet => self.packet = on,
            DmvpnDebugLevel::All => {
                self.error = on;
                self.detail = on;
                self.packet = on;
            }
        }
    }

    /// Whether any level is on.
    pub fn any(&self) -> bool {
        self.error || self.detail || self.packet
    }
}

/// `debug dmvpn` levels per scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DmvpnDebug {
    /// NHRP.
    pub nhrp: DebugLevels,
    /// IKE and IPsec.
    pub crypto: DebugLevels,
    /// Tunnel protection and data plane.
    pub tunnel: DebugLevels,
    /// Protection sockets.
    pub socket: DebugLevels,
}

/// A running NHRP packet capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaptureStatus {
    /// File being written (pcapng).
    pub path: String,
    /// Packets written so far.
    pub packets: u64,
}

/// Every debugging switch and condition (`show dmvpn debug-condition`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DebugConditions {
    /// `debug nhrp …` switches.
    pub nhrp: NhrpDebug,
    /// `debug dmvpn …` levels.
    pub dmvpn: DmvpnDebug,
    /// `condition peer nbma IP`.
    pub peer_nbma: Vec<IpAddr>,
    /// `condition peer tunnel IP`.
    pub peer_tunnel: Vec<IpAddr>,
    /// `condition interface TunnelN`.
    pub interfaces: Vec<String>,
    /// `condition unmatched`.
    pub unmatched: bool,
    /// The NHRP packet capture, when on.
    pub capture: Option<CaptureStatus>,
    /// `debug crypto ikev2`.
    #[serde(default)]
    pub crypto_ikev2: bool,
}

fn add_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl DebugConditions {
    /// Applies one command (`enable` false for the `no` form).
    pub fn apply(&mut self, command: &DebugCommand, enable: bool) {
        match command {
            DebugCommand::Nhrp { kind } => {
                let n = &mut self.nhrp;
                match kind {
                    NhrpDebugKind::All => {
                        n.packet = enable;
                        n.events = enable;
                        n.error = enable;
                    }
                    NhrpDebugKind::Packet => n.packet = enable,
                    NhrpDebugKind::Events => n.events = enable,
                    NhrpDebugKind::Error => n.error = enable,
                    NhrpDebugKind::Extension => n.extension = enable,
                    NhrpDebugKind::Cache => n.cache = enable,
                    NhrpDebugKind::Rate => n.rate = enable,
                }
            }
            DebugCommand::Dmvpn { level, scope } => {
                let d = &mut self.dmvpn;
                let scopes: Vec<&mut DebugLevels> = match scope {
                    DmvpnDebugScope::Nhrp => vec![&mut d.nhrp],
                    DmvpnDebugScope::Crypto => vec![&mut d.crypto],
                    DmvpnDebugScope::Tunnel => vec![&mut d.tunnel],
                    DmvpnDebugScope::Socket => vec![&mut d.socket],
                    DmvpnDebugScope::All => {
                        vec![&mut d.nhrp, &mut d.crypto, &mut d.tunnel, &mut d.socket]
                    }
                };
                for s in scopes {
                    s.set(*level, enable);
                }
            }
            DebugCommand::Condition { condition } => match (condition, enable) {
                (DebugCondition::PeerNbma { address }, true) => {
                    add_unique(&mut self.peer_nbma, *address)
                }
                (DebugCondition::PeerNbma { address }, false) => {
                    self.peer_nbma.retain(|a| a != address)
                }
                (DebugCondition::PeerTunnel { address }, true) => {
                    add_unique(&mut self.peer_tunnel, *address)
                }
                (DebugCondition::PeerTunnel { address }, false) => {
                    self.peer_tunnel.retain(|a| a != address)
                }
                (DebugCondition::Interface { name }, true) => {
                    add_unique(&mut self.interfaces, name.clone())
                }
                (DebugCondition::Interface { name }, false) => {
                    self.interfaces.retain(|n| !n.eq_ignore_ascii_case(name))
                }
                (DebugCondition::Unmatched, on) => self.unmatched = on,
                (DebugCondition::All, true) => {}
                (DebugCondition::All, false) => {
                    self.peer_nbma.clear();
                    self.peer_tunnel.clear();
                    self.interfaces.clear();
                    self.unmatched = false;
                }
            },
            DebugCommand::CryptoIkev2 => self.crypto_ikev2 = enable,
            DebugCommand::NhrpCapture { path } => {
                self.capture = match (enable, path) {
                    (true, Some(p)) => Some(CaptureStatus {
                        path: p.clone(),
                        packets: 0,
                    }),
                    _ => None,
                };
            }
        }
    }

    /// `undebug all`: every switch off, every condition and the capture
    /// removed.
    pub fn undebug_all(&mut self) {
        *self = DebugConditions::default();
    }

    /// Whether any condition restricts debugging.
    pub fn has_conditions(&self) -> bool {
        !self.peer_nbma.is_empty() || !self.peer_tunnel.is_empty() || !self.interfaces.is_empty()
    }

    /// The NHRP switches in effect: `debug nhrp …` merged with the NHRP scope
    /// of `debug dmvpn` (error → error; detail → events, cache, rate;
    /// packet → packet, extension).
    pub fn effective_nhrp(&self) -> NhrpDebug {
        let l = self.dmvpn.nhrp;
        let n = self.nhrp;
        NhrpDebug {
            packet: n.packet || l.packet,
            events: n.events || l.detail,
            error: n.error || l.error,
            extension: n.extension || l.packet,
            cache: n.cache || l.detail,
            rate: n.rate || l.detail,
        }
    }

    /// Whether a debug message with this context passes the conditions.
    /// Without conditions everything passes. A message with no context at
    /// all passes only with `unmatched`.
    pub fn matches(
        &self,
        interface: Option<&str>,
        nbma: Option<IpAddr>,
        tunnel: Option<IpAddr>,
    ) -> bool {
        if !self.has_conditions() {
            return true;
        }
        if interface.is_none() && nbma.is_none() && tunnel.is_none() {
            return self.unmatched;
        }
        let iface_ok = self.interfaces.is_empty()
            || interface.is_some_and(|i| self.interfaces.iter().any(|n| n.eq_ignore_ascii_case(i)));
        let peer_conditions = !self.peer_nbma.is_empty() || !self.peer_tunnel.is_empty();
        let peer_ok = !peer_conditions
            || nbma.is_some_and(|a| self.peer_nbma.contains(&a))
            || tunnel.is_some_and(|a| self.peer_tunnel.contains(&a));
        iface_ok && peer_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn switches_and_undebug_all() {
        let mut d = DebugConditions::default();
        d.apply(
            &DebugCommand::Nhrp {
                kind: NhrpDebugKind::Packet,
            },
            true,
        );
        assert!(d.nhrp.packet && !d.nhrp.events);
        d.apply(
            &DebugCommand::Dmvpn {
                level: DmvpnDebugLevel::Detail,
                scope: DmvpnDebugScope::All,
            },
            true,
        );
        assert!(d.dmvpn.crypto.detail && d.dmvpn.nhrp.detail && !d.dmvpn.nhrp.error);
        assert!(d.effective_nhrp().events && d.effective_nhrp().cache);
        d.apply(
            &DebugCommand::NhrpCapture {
                path: Some("/tmp/x.pcapng".into()),
            },
            true,
        );
        assert_eq!(
            d.capture.as_ref().map(|c| c.path.as_str()),
            Some("/tmp/x.pcapng")
        );
        d.apply(&DebugCommand::NhrpCapture { path: None }, false);
        assert!(d.capture.is_none());
        d.apply(
            &DebugCommand::Nhrp {
                kind: NhrpDebugKind::All,
            },
            true,
        );
        d.undebug_all();
        assert_eq!(d, DebugConditions::default());
    }

    #[test]
    fn conditions_filter_messages() {
        let mut d = DebugConditions::default();
        assert!(d.matches(None, None, None));
        let nbma = DebugCondition::PeerNbma {
            address: ip("192.0.2.1"),
        };
        d.apply(
            &DebugCommand::Condition {
                condition: nbma.clone(),
            },
            true,
        );
        d.apply(
            &DebugCommand::Condition {
                condition: nbma.clone(),
            },
            true,
        );
        assert_eq!(d.peer_nbma.len(), 1);
        assert!(d.matches(Some("Tunnel0"), Some(ip("192.0.2.1")), None));
        assert!(!d.matches(Some("Tunnel0"), Some(ip("192.0.2.2")), None));
        assert!(!d.matches(None, None, None));
        d.apply(
            &DebugCommand::Condition {
                condition: DebugCondition::Unmatched,
            },
            true,
        );
        assert!(d.matches(None, None, None));
        d.apply(
            &DebugCommand::Condition {
                condition: DebugCondition::Interface {
                    name: "Tunnel1".into(),
                },
            },
            true,
        );
        assert!(!d.matches(Some("Tunnel0"), Some(ip("192.0.2.1")), None));
        assert!(d.matches(Some("tunnel1"), Some(ip("192.0.2.1")), None));
        d.apply(
            &DebugCommand::Condition {
                condition: DebugCondition::All,
            },
            false,
        );
        assert!(!d.has_conditions() && !d.unmatched);
    }

    #[test]
    fn confirmations_read_like_ios() {
        assert_eq!(
            DebugCommand::Nhrp {
                kind: NhrpDebugKind::Error
            }
            .confirmation(true),
            "NHRP errors debugging is on"
        );
        assert_eq!(
            DebugCommand::Nhrp {
                kind: NhrpDebugKind::All
            }
            .confirmation(false),
            "NHRP protocol debugging is off"
        );
    }
}

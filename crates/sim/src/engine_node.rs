//! [`EngineNode`]: the real `dmvpn_nhrp::Engine` behind the simulator's
//! [`SimNode`] trait. Converts virtual time to the engine's millisecond
//! [`Instant`], engine [`Action`]s to [`NodeOutput`]s, keeps every [`Event`]
//! with its time for assertions, and plays the IPsec layer: protection
//! requested by the engine comes up at once, after a configurable delay
//! (the IKE negotiation), or never.

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_nhrp::{Action, Engine, EngineConfig, EngineError, Event, IfIndex, Instant};

use crate::node::{NodeOutput, Prefix, SimNode};

/// Virtual time to engine time (whole milliseconds).
pub fn to_instant(t: Duration) -> Instant {
    Instant::from_millis(u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
}

/// Engine time to virtual time.
pub fn from_instant(t: Instant) -> Duration {
    Duration::from_millis(t.as_millis())
}

/// One simulated router running one NHRP engine with one tunnel interface
/// facing the simulated NBMA network.
#[derive(Debug)]
pub struct EngineNode {
    engine: Engine,
    iface: IfIndex,
    now: Duration,
    events: Vec<(Duration, Event)>,
    protection: Protection,
    /// Peers whose protection comes up at the given time.
    protecting: Vec<(Duration, Ipv4Addr)>,
}

/// How the simulated IPsec layer answers `ProtectionNeeded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Protection is up as soon as it is requested.
    Immediate,
    /// Protection comes up this long after it is requested.
    After(Duration),
    /// Protection never comes up (IKE failing).
    Never,
}

impl EngineNode {
    /// An engine for `config`; the simulated NBMA network is attached to the
    /// first interface of the configuration.
    pub fn new(config: EngineConfig, seed: u64) -> Result<Self, EngineError> {
        let iface = config
            .interfaces
            .first()
            .map(|i| i.ifindex)
            .unwrap_or_default();
        Ok(EngineNode {
            engine: Engine::new(config, seed)?,
            iface,
            now: Duration::ZERO,
            events: Vec::new(),
            protection: Protection::Immediate,
            protecting: Vec::new(),
        })
    }

    /// How protection requested by the engine comes up (default: at once).
    pub fn set_protection(&mut self, p: Protection) {
        self.protection = p;
    }

    /// The engine, for its show getters.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, mutably (configuration changes, clear commands). Call
    /// [`crate::Sim::pump`] afterwards.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The interface attached to the simulated network.
    pub fn iface(&self) -> IfIndex {
        self.iface
    }

    /// Every event the engine emitted, with its virtual time.
    pub fn events(&self) -> &[(Duration, Event)] {
        &self.events
    }

    /// Feed a packet directly (bypassing the simulated links), e.g. from a
    /// hostile peer in a test. Call [`crate::Sim::pump`] afterwards.
    pub fn handle_packet_now(&mut self, now: Duration, from_nbma: Ipv4Addr, bytes: &[u8]) {
        SimNode::handle_packet(self, now, from_nbma, bytes);
    }

    /// The time of the last input.
    pub fn now(&self) -> Duration {
        self.now
    }

    fn enter(&mut self, now: Duration) -> Instant {
        if now > self.now {
            self.now = now;
        }
        to_instant(self.now)
    }
}

impl SimNode for EngineNode {
    fn handle_packet(&mut self, now: Duration, from_nbma: Ipv4Addr, bytes: &[u8]) {
        let t = self.enter(now);
        self.engine.handle_packet(t, self.iface, from_nbma, bytes);
    }

    fn handle_timeout(&mut self, now: Duration) {
        let t = self.enter(now);
        let (due, later): (Vec<_>, Vec<_>) =
            self.protecting.drain(..).partition(|(at, _)| *at <= now);
        self.protecting = later;
        for (_, nbma) in due {
            self.engine.handle_protection(t, nbma, true);
        }
        self.engine.handle_timeout(t);
    }

    fn poll_timeout(&mut self) -> Option<Duration> {
        let engine = self.engine.poll_timeout().map(from_instant);
        let ipsec = self.protecting.iter().map(|(at, _)| *at).min();
        match (engine, ipsec) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn poll_output(&mut self) -> Option<NodeOutput> {
        let action = self.engine.poll_action()?;
        Some(match action {
            Action::Send { to_nbma, bytes, .. } => NodeOutput::Send { to_nbma, bytes },
            Action::MappingAdd { proto, nbma, .. } => NodeOutput::MappingAdd { proto, nbma },
            Action::MappingRemove { proto, .. } => NodeOutput::MappingRemove { proto },
            Action::ShortcutAdd {
                prefix, next_hop, ..
            } => NodeOutput::ShortcutAdd { prefix, next_hop },
            Action::ShortcutRemove { prefix, .. } => NodeOutput::ShortcutRemove { prefix },
            Action::ProtectionNeeded { nbma, .. } => {
                match self.protection {
                    Protection::Immediate => {
                        let t = to_instant(self.now);
                        self.engine.handle_protection(t, nbma, true);
                    }
                    Protection::After(d) => {
                        if !self.protecting.iter().any(|(_, n)| *n == nbma) {
                            self.protecting.push((self.now + d, nbma));
                        }
                    }
                    Protection::Never => {}
                }
                NodeOutput::Note(format!("ProtectionNeeded {nbma}"))
            }
            Action::Event(e) => {
                let note = match &e {
                    Event::NhsUp { nhs, .. } => NodeOutput::NhsState {
                        nhs: *nhs,
                        up: true,
                    },
                    Event::NhsDown { nhs, .. } => NodeOutput::NhsState {
                        nhs: *nhs,
                        up: false,
                    },
                    Event::RegistrationAccepted { .. }
                    | Event::RegistrationRefused { .. }
                    | Event::ClientRegistered { .. }
                    | Event::ClientRefused { .. }
                    | Event::IdentityRefused { .. }
                    | Event::CacheAdded { .. }
                    | Event::CacheRemoved { .. }
                    | Event::RedirectSent { .. }
                    | Event::RedirectReceived { .. }
                    | Event::ResolutionDone { .. }
                    | Event::ResolutionFailed { .. }
                    | Event::PurgeReceived { .. }
                    | Event::ErrorReceived { .. }
                    | Event::ErrorSent { .. }
                    | Event::Dropped { .. }
                    | Event::MaxSendExceeded { .. } => NodeOutput::Note(format!("{e:?}")),
                };
                self.events.push((self.now, e));
                note
            }
            // Recorded in the trace; the simulated network has no IPsec and replicates no
            // multicast. Listed one by one: a new action fails to compile here.
            other @ (Action::ProtectionNotNeeded { .. }
            | Action::MulticastAdd { .. }
            | Action::MulticastRemove { .. }) => NodeOutput::Note(format!("{other:?}")),
        })
    }

    fn handle_traffic(&mut self, now: Duration, dst_proto: Ipv4Addr, _packet: &[u8]) {
        let t = self.enter(now);
        // The engine's own answer is not needed: the data plane forwards with its tables.
        let _ = self.engine.handle_traffic(t, self.iface, dst_proto);
    }

    fn handle_hairpin(
        &mut self,
        now: Duration,
        _from_nbma: Ipv4Addr,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        packet: &[u8],
    ) {
        let t = self.enter(now);
        self.engine.handle_hairpin(t, self.iface, src, dst, packet);
    }

    fn route_changed(&mut self, now: Duration, prefix: Prefix, next_hop: Option<Ipv4Addr>) {
        let t = self.enter(now);
        self.engine.handle_route(t, self.iface, prefix, next_hop);
    }

    fn local_nbma_changed(&mut self, now: Duration, nbma: Ipv4Addr) {
        let t = self.enter(now);
        self.engine.handle_nbma_change(t, self.iface, nbma);
    }
}

//! The per-packet pipeline of one multipoint-GRE tunnel, without I/O.
//!
//! [`Forwarder`] is what the userspace data plane runs for every packet, and what the
//! simulator runs for every simulated packet:
//!
//! ```text
//! from_overlay: IPv4 check → MSS clamp → hairpin check (flow cache) → decide
//!               (ForwardingTables) → ResolutionNeeded → DF/ICMP or fragmentation
//!               → GRE encapsulation → Sink::send (the NBMA transport)
//! from_nbma:    point-to-point source check → GRE decapsulation and key check →
//!               NHRP up as Event::Nhrp | IPv4 → MSS clamp → flow cache → TUN
//! ```
//!
//! Time is passed in as a [`Duration`] since an epoch the caller picks (the tunnel's start,
//! or virtual time); nothing here reads a clock. The caller provides a [`Sink`] that hands
//! GRE packets to the NBMA transport and queues events; bytes due for the TUN device are
//! returned. Every drop is counted in the forwarder's [`Counters`].

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::buf::PacketBuf;
use crate::counters::{Counters, Stat};
use crate::gre::{GreHeader, PROTO_IPV4, PROTO_NHRP};
use crate::packet::{
    IPV4_MIN_HEADER_LEN, Ipv4Info, clamp_tcp_mss, fragment_ipv4, icmp_frag_needed,
};
use crate::seam::{DropReason, Event, SendOutcome};
use crate::tables::{Decision, ForwardingTables};

/// Largest IPv4 packet.
pub const MAX_PACKET: usize = 65535;
/// Slots of the hairpin flow cache (a power of two).
const FLOW_SLOTS: usize = 4096;
/// log2 of [`FLOW_SLOTS`].
const FLOW_BITS: u32 = 12;
/// How long a decapsulated flow stays in the hairpin cache.
pub const FLOW_WINDOW: Duration = Duration::from_secs(10);
/// Entries of the event limiter above which stale ones are swept.
const LIMITER_SWEEP: usize = 4096;
/// Bytes of payload quoted after the IP header in a hairpin event.
const HAIRPIN_QUOTE: usize = 64;
/// The smallest inner MTU a tunnel accepts (RFC 791's minimum).
pub const MIN_INNER_MTU: usize = 68;

/// The largest inner packet a tunnel with `mtu`, `nbma_mtu` and `key` sends without
/// fragmentation: the smaller of `mtu` and the NBMA MTU minus the outer IPv4 and GRE headers.
pub fn max_inner(mtu: u16, nbma_mtu: u16, key: Option<u32>) -> usize {
    let gre = GreHeader {
        protocol: PROTO_IPV4,
        key,
    };
    let overhead = IPV4_MIN_HEADER_LEN + gre.len();
    usize::from(mtu).min(usize::from(nbma_mtu).saturating_sub(overhead))
}

/// The settings of a [`Forwarder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwarderConfig {
    /// `tunnel destination`: a point-to-point tunnel accepts GRE only from this address
    /// (the tables send everything there). `None`: multipoint.
    pub destination: Option<Ipv4Addr>,
    /// `tunnel key`.
    pub key: Option<u32>,
    /// Copy the inner TOS byte into the outer header.
    pub copy_tos: bool,
    /// `ip mtu` at start (changed later with [`Forwarder::set_mtu`]).
    pub mtu: u16,
    /// MTU of the NBMA path.
    pub nbma_mtu: u16,
    /// `ip tcp adjust-mss` at start.
    pub tcp_adjust_mss: Option<u16>,
    /// Report hairpins as [`Event::Hairpin`] at start.
    pub detect_hairpin: bool,
    /// Minimum interval between two events about the same next hop or flow.
    pub event_interval: Duration,
    /// Seed of the flow cache's slot hash (any value; a random one makes collisions hard
    /// to provoke from outside, a fixed one keeps a simulation deterministic).
    pub flow_seed: u64,
}

impl ForwarderConfig {
    /// Multipoint, no key, MTU 1400 over a 1500-byte NBMA path, TOS copied, no MSS
    /// clamping, no hairpin events, events at most once a second, flow seed 0.
    pub fn new() -> Self {
        Self {
            destination: None,
            key: None,
            copy_tos: true,
            mtu: 1400,
            nbma_mtu: 1500,
            tcp_adjust_mss: None,
            detect_hairpin: false,
            event_interval: Duration::from_secs(1),
            flow_seed: 0,
        }
    }
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the forwarder's outputs go: the NBMA transport and the event queue.
pub trait Sink {
    /// Hands a GRE packet (GRE header first) for `peer` to the NBMA transport, which may
    /// protect it in place (the buffer has head- and tailroom). `tos` is the outer TOS byte.
    fn send(&mut self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome;
    /// Queues an event for the node core; false when the queue is full (counted as lost).
    fn event(&mut self, event: Event) -> bool;
}

/// Rate limiter for repeated events, keyed by kind and two addresses.
#[derive(Debug)]
pub struct EventLimiter {
    last: HashMap<(u8, Ipv4Addr, Ipv4Addr), Duration>,
    interval: Duration,
}

impl EventLimiter {
    /// A limiter letting one event per key through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            last: HashMap::new(),
            interval,
        }
    }

    /// True when an event with `key` may be emitted at `now` (and records it).
    pub fn allow(&mut self, key: (u8, Ipv4Addr, Ipv4Addr), now: Duration) -> bool {
        if let Some(t) = self.last.get(&key)
            && now.saturating_sub(*t) < self.interval
        {
            return false;
        }
        if self.last.len() >= LIMITER_SWEEP {
            let interval = self.interval;
            self.last.retain(|_, t| now.saturating_sub(*t) < interval);
        }
        self.last.insert(key, now);
        true
    }
}

/// Remembers recently decapsulated flows (inner source, destination) and where they came
/// from, in a fixed-size direct-mapped table: a collision only forgets a flow.
#[derive(Debug)]
pub struct FlowCache {
    slots: Vec<Option<(Ipv4Addr, Ipv4Addr, Ipv4Addr, Duration)>>,
    seed: u64,
}

impl FlowCache {
    /// An empty cache whose slot hash is keyed with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            slots: vec![None; FLOW_SLOTS],
            seed,
        }
    }

    fn slot(&self, src: Ipv4Addr, dst: Ipv4Addr) -> usize {
        let x = ((u64::from(u32::from(src)) << 32) | u64::from(u32::from(dst))) ^ self.seed;
        // Fibonacci hashing: the top bits of the product index the table.
        let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FLOW_BITS);
        usize::try_from(h).unwrap_or(0) & (FLOW_SLOTS - 1)
    }

    /// Records that a packet `src → dst` arrived from NBMA address `nbma` at `now`.
    pub fn record(&mut self, src: Ipv4Addr, dst: Ipv4Addr, nbma: Ipv4Addr, now: Duration) {
        let i = self.slot(src, dst);
        if let Some(s) = self.slots.get_mut(i) {
            *s = Some((src, dst, nbma, now));
        }
    }

    /// The NBMA address a flow `src → dst` arrived from within the window before `now`.
    pub fn ingress(&self, src: Ipv4Addr, dst: Ipv4Addr, now: Duration) -> Option<Ipv4Addr> {
        match self.slots.get(self.slot(src, dst)).copied().flatten() {
            Some((s, d, nbma, t))
                if s == src && d == dst && now.saturating_sub(t) < FLOW_WINDOW =>
            {
                Some(nbma)
            }
            _ => None,
        }
    }
}

/// Reusable buffers of the overlay-to-NBMA path (one per task that calls
/// [`Forwarder::from_overlay`]); nothing is allocated per packet once they have grown.
#[derive(Debug)]
pub struct Scratch {
    send: PacketBuf,
    frags: Vec<u8>,
    frag_ranges: Vec<(usize, usize)>,
    fragment: Vec<u8>,
    icmp: Vec<u8>,
    targets: Vec<Ipv4Addr>,
}

impl Scratch {
    /// Buffers for packets up to [`MAX_PACKET`] bytes.
    pub fn new() -> Self {
        Self {
            send: PacketBuf::with_capacity(MAX_PACKET),
            frags: Vec::new(),
            frag_ranges: Vec::new(),
            fragment: Vec::new(),
            icmp: Vec::new(),
            targets: Vec::new(),
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// The pure forwarding of one tunnel: its tables, counters, flow cache and event limiter,
/// and the settings that may change at run time. Shared by reference between the tasks of
/// a data plane (every method takes `&self`).
#[derive(Debug)]
pub struct Forwarder {
    config: ForwarderConfig,
    tables: Arc<ForwardingTables>,
    counters: Counters,
    mss: AtomicU16,
    hairpin_events: AtomicBool,
    mtu: AtomicU16,
    limiter: Mutex<EventLimiter>,
    flows: Mutex<FlowCache>,
}

impl Forwarder {
    /// A forwarder over `tables` with `config`.
    pub fn new(config: ForwarderConfig, tables: Arc<ForwardingTables>) -> Self {
        Self {
            mss: AtomicU16::new(config.tcp_adjust_mss.unwrap_or(0)),
            hairpin_events: AtomicBool::new(config.detect_hairpin),
            mtu: AtomicU16::new(config.mtu),
            limiter: Mutex::new(EventLimiter::new(config.event_interval)),
            flows: Mutex::new(FlowCache::new(config.flow_seed)),
            config,
            tables,
            counters: Counters::default(),
        }
    }

    /// The configuration the forwarder was built with.
    pub fn config(&self) -> &ForwarderConfig {
        &self.config
    }

    /// The forwarding tables.
    pub fn tables(&self) -> &Arc<ForwardingTables> {
        &self.tables
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// `ip tcp adjust-mss` (`None`: off).
    pub fn set_tcp_adjust_mss(&self, mss: Option<u16>) {
        self.mss.store(mss.unwrap_or(0), Ordering::Relaxed);
    }

    /// The MSS clamp in force.
    pub fn tcp_adjust_mss(&self) -> Option<u16> {
        match self.mss.load(Ordering::Relaxed) {
            0 => None,
            m => Some(m),
        }
    }

    /// Turns [`Event::Hairpin`] reporting on or off.
    pub fn set_detect_hairpin(&self, on: bool) {
        self.hairpin_events.store(on, Ordering::Relaxed);
    }

    /// Changes the MTU used for fragmentation and DF decisions. Refused (false) when it
    /// would leave fewer than [`MIN_INNER_MTU`] bytes for inner packets.
    pub fn set_mtu(&self, mtu: u16) -> bool {
        if max_inner(mtu, self.config.nbma_mtu, self.config.key) < MIN_INNER_MTU {
            return false;
        }
        self.mtu.store(mtu, Ordering::Relaxed);
        true
    }

    /// The MTU in force.
    pub fn mtu(&self) -> u16 {
        self.mtu.load(Ordering::Relaxed)
    }

    /// The largest inner packet sent without fragmentation, at the MTU in force.
    pub fn max_inner(&self) -> usize {
        max_inner(self.mtu(), self.config.nbma_mtu, self.config.key)
    }

    fn emit(&self, sink: &mut impl Sink, event: Event) {
        if !sink.event(event) {
            self.counters.count(Stat::events_lost);
        }
    }

    fn allow_event(&self, key: (u8, Ipv4Addr, Ipv4Addr), now: Duration) -> bool {
        self.limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .allow(key, now)
    }

    /// Writes `inner` behind a GRE header of `protocol` into `buf`.
    fn encapsulate(&self, buf: &mut PacketBuf, inner: &[u8], protocol: u16) -> bool {
        let gre = GreHeader {
            protocol,
            key: self.config.key,
        };
        if buf.set(inner).is_err() {
            return false;
        }
        match buf.prepend(gre.len()) {
            Ok(head) => gre.emit(head).is_some(),
            Err(_) => false,
        }
    }

    /// Encapsulates one NHRP packet (NHRP fixed header first) in GRE protocol 0x2001 and
    /// hands it to the transport. NHRP is not counted in the traffic counters.
    pub fn send_nhrp(
        &self,
        buf: &mut PacketBuf,
        peer: Ipv4Addr,
        packet: &[u8],
        sink: &mut impl Sink,
    ) -> SendOutcome {
        if !self.encapsulate(buf, packet, PROTO_NHRP) {
            return SendOutcome::Dropped(DropReason::TooBig);
        }
        let outcome = sink.send(peer, 0, buf);
        if outcome == SendOutcome::Dropped(DropReason::Unprotected) {
            self.counters.count(Stat::protection);
        }
        outcome
    }

    fn send_data(&self, buf: &mut PacketBuf, inner: &[u8], peer: Ipv4Addr, sink: &mut impl Sink) {
        let tos = if self.config.copy_tos {
            inner.get(1).copied().unwrap_or(0)
        } else {
            0
        };
        if !self.encapsulate(buf, inner, PROTO_IPV4) {
            self.counters.count(Stat::send_errors);
            return;
        }
        match sink.send(peer, tos, buf) {
            SendOutcome::Sent => self.counters.tx(peer, inner.len()),
            SendOutcome::Queued => {}
            SendOutcome::Dropped(reason) => {
                if reason == DropReason::Unprotected {
                    self.counters.count(Stat::protection);
                }
                self.counters.count(Stat::send_errors);
            }
        }
    }

    /// Handles one packet from the overlay (read from the TUN device): clamps the MSS,
    /// notes a hairpin, decides, raises [`Event::ResolutionNeeded`] when the next hop has no
    /// mapping, then sends it (fragmented if needed) to every target through `sink`.
    /// Returns an ICMP "fragmentation needed" to write back into the TUN device when the
    /// packet is too big and carries DF.
    pub fn from_overlay<'s>(
        &self,
        scratch: &'s mut Scratch,
        packet: &mut [u8],
        now: Duration,
        sink: &mut impl Sink,
    ) -> Option<&'s [u8]> {
        let Ok(ip) = Ipv4Info::parse(packet) else {
            self.counters.count(Stat::tun_malformed);
            return None;
        };
        let packet = packet.get_mut(..ip.total_len)?;
        if let Some(mss) = self.tcp_adjust_mss()
            && clamp_tcp_mss(packet, mss).is_some()
        {
            self.counters.count(Stat::mss_clamped);
        }
        if self.config.destination.is_none() {
            let ingress = self
                .flows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .ingress(ip.src, ip.dst, now);
            if let Some(ingress_nbma) = ingress {
                self.counters.count(Stat::hairpins);
                if self.hairpin_events.load(Ordering::Relaxed)
                    && self.allow_event((1, ip.src, ip.dst), now)
                {
                    let quote = packet
                        .get(..(ip.header_len + HAIRPIN_QUOTE).min(packet.len()))
                        .unwrap_or_default();
                    self.emit(
                        sink,
                        Event::Hairpin {
                            source: ip.src,
                            destination: ip.dst,
                            ingress_nbma,
                            packet: quote.to_vec(),
                        },
                    );
                }
            }
        }
        let decision = self.tables.decide(ip.dst);
        let resolve_for = match decision {
            Decision::Unicast {
                next_hop,
                resolve: true,
                ..
            }
            | Decision::Unreachable { next_hop } => Some(next_hop),
            _ => None,
        };
        if let Some(next_hop) = resolve_for
            && self.allow_event((0, next_hop, Ipv4Addr::UNSPECIFIED), now)
        {
            self.emit(
                sink,
                Event::ResolutionNeeded {
                    next_hop,
                    destination: ip.dst,
                    source: ip.src,
                },
            );
        }
        let targets = &mut scratch.targets;
        match decision {
            Decision::Unreachable { .. } => {
                self.counters.count(Stat::no_route);
                return None;
            }
            Decision::Replicate => self.tables.multicast_targets(targets),
            Decision::Unicast { nbma, .. } => {
                targets.clear();
                targets.push(nbma);
            }
        }
        if targets.is_empty() {
            return None;
        }
        let max = self.max_inner();
        if packet.len() <= max {
            for &peer in targets.iter() {
                self.send_data(&mut scratch.send, packet, peer, sink);
            }
            return None;
        }
        if ip.dont_fragment {
            self.counters.count(Stat::too_big);
            let mtu = u16::try_from(max).unwrap_or(u16::MAX);
            return match icmp_frag_needed(packet, ip.dst, mtu, &mut scratch.icmp) {
                Ok(true) => Some(&scratch.icmp),
                _ => None,
            };
        }
        self.counters.count(Stat::fragmented);
        scratch.frags.clear();
        scratch.frag_ranges.clear();
        let (frags, ranges) = (&mut scratch.frags, &mut scratch.frag_ranges);
        let result = fragment_ipv4(packet, max, &mut scratch.fragment, |f| {
            let start = frags.len();
            frags.extend_from_slice(f);
            ranges.push((start, frags.len()));
        });
        if result.is_err() {
            self.counters.count(Stat::tun_malformed);
            return None;
        }
        for &peer in scratch.targets.iter() {
            for &(s, e) in &scratch.frag_ranges {
                if let Some(f) = scratch.frags.get(s..e) {
                    self.send_data(&mut scratch.send, f, peer, sink);
                }
            }
        }
        None
    }

    /// Handles one GRE packet (GRE header first, already unprotected by the transport)
    /// received from NBMA address `source`: NHRP goes up as [`Event::Nhrp`]; IPv4 is
    /// clamped, recorded in the flow cache, counted and returned for the TUN device.
    pub fn from_nbma<'a>(
        &self,
        source: Ipv4Addr,
        buf: &'a mut PacketBuf,
        now: Duration,
        sink: &mut impl Sink,
    ) -> Option<&'a [u8]> {
        if let Some(destination) = self.config.destination
            && source != destination
        {
            self.counters.count(Stat::wrong_source);
            return None;
        }
        let header = match GreHeader::parse(buf.as_slice()) {
            Ok((h, off)) if h.key == self.config.key => {
                buf.advance(off).ok()?;
                h
            }
            Ok(_) => {
                // Another tunnel's key (all raw GRE sockets see every GRE packet).
                self.counters.count(Stat::key_mismatch);
                return None;
            }
            Err(e) => {
                self.counters.count(Stat::gre_malformed);
                self.counters.count(crate::gre::drop_stat(&e));
                return None;
            }
        };
        match header.protocol {
            PROTO_IPV4 => {
                let Ok(ip) = Ipv4Info::parse(buf.as_slice()) else {
                    self.counters.count(Stat::gre_malformed);
                    self.counters.count(Stat::inner_malformed);
                    return None;
                };
                buf.truncate(ip.total_len);
                if let Some(mss) = self.tcp_adjust_mss()
                    && clamp_tcp_mss(buf.as_mut_slice(), mss).is_some()
                {
                    self.counters.count(Stat::mss_clamped);
                }
                if self.config.destination.is_none() {
                    self.flows
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .record(ip.src, ip.dst, source, now);
                }
                self.counters.rx(source, ip.total_len);
                Some(buf.as_slice())
            }
            PROTO_NHRP => {
                self.emit(
                    sink,
                    Event::Nhrp {
                        source,
                        packet: buf.as_slice().to_vec(),
                    },
                );
                None
            }
            _ => {
                self.counters.count(Stat::unknown_protocol);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;

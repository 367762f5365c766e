//! Packet and byte counters, per tunnel and per peer (NBMA address), in both directions,
//! plus drop counters by reason. Updated lock-free per tunnel; the per-peer map takes a
//! short mutex per packet.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of traffic counters in one scope (a tunnel or a peer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficCounters {
    /// Packets sent (GRE packets towards the NBMA side).
    pub tx_packets: u64,
    /// Bytes sent (inner packet bytes, without GRE and outer IP).
    pub tx_bytes: u64,
    /// Packets received (GRE packets from the NBMA side).
    pub rx_packets: u64,
    /// Bytes received (inner packet bytes).
    pub rx_bytes: u64,
}

/// A snapshot of a tunnel's drop and event counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Packets from the TUN device that are not valid IPv4.
    pub tun_malformed: u64,
    /// Packets with no mapping and no NHS to send them to.
    pub no_route: u64,
    /// Oversize DF packets answered with ICMP fragmentation-needed.
    pub too_big: u64,
    /// Packets fragmented before encapsulation (counted once per original packet).
    pub fragmented: u64,
    /// GRE packets that failed to parse (version, flags, checksum, truncation).
    pub gre_malformed: u64,
    /// GRE packets from an unexpected source (point-to-point tunnels).
    pub wrong_source: u64,
    /// GRE packets with an unhandled protocol type.
    pub unknown_protocol: u64,
    /// Packets the protection layer refused.
    pub protection: u64,
    /// Socket or device errors while sending.
    pub send_errors: u64,
    /// Events not delivered because the event queue was full.
    pub events_lost: u64,
    /// TCP SYNs whose MSS was clamped.
    pub mss_clamped: u64,
    /// Packets relayed through this node: received from the tunnel and routed back into it
    /// (counted in multipoint mode whether or not hairpin events are reported).
    pub hairpins: u64,
    /// GRE packets carrying another key (or none when one is configured): not for us.
    pub key_mismatch: u64,
    // The GRE-level drops by cause; each is also in `gre_malformed`.
    /// GRE packets too short for their header (or its optional fields).
    pub gre_truncated: u64,
    /// GRE packets with a version other than 0 (RFC 2784).
    pub gre_bad_version: u64,
    /// GRE packets with routing, strict source route or recursion bits set.
    pub gre_bad_flags: u64,
    /// GRE packets whose checksum does not match.
    pub gre_bad_checksum: u64,
    /// IPv4-in-GRE packets whose inner IPv4 header does not parse.
    pub inner_malformed: u64,
    /// Arrivals the transport does not handle (another IP protocol or UDP port).
    pub transport_not_ours: u64,
    /// UDP arrivals too short for their header.
    pub transport_truncated: u64,
}

#[derive(Debug, Default)]
struct AtomicTraffic {
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
}

impl AtomicTraffic {
    fn snapshot(&self) -> TrafficCounters {
        TrafficCounters {
            tx_packets: self.tx_packets.load(Ordering::Relaxed),
            tx_bytes: self.tx_bytes.load(Ordering::Relaxed),
            rx_packets: self.rx_packets.load(Ordering::Relaxed),
            rx_bytes: self.rx_bytes.load(Ordering::Relaxed),
        }
    }
}

macro_rules! drop_counters {
    ($($name:ident),*) => {
        #[derive(Debug, Default)]
        struct AtomicDrops { $($name: AtomicU64,)* }
        impl AtomicDrops {
            fn snapshot(&self) -> DropCounters {
                DropCounters { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
        /// Names a drop or event counter to increment.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum Stat { $($name,)* }
        impl AtomicDrops {
            fn get(&self, d: Stat) -> &AtomicU64 {
                match d { $(Stat::$name => &self.$name,)* }
            }
        }
    };
}

drop_counters!(
    tun_malformed,
    no_route,
    too_big,
    fragmented,
    gre_malformed,
    wrong_source,
    unknown_protocol,
    protection,
    send_errors,
    events_lost,
    mss_clamped,
    hairpins,
    key_mismatch,
    gre_truncated,
    gre_bad_version,
    gre_bad_flags,
    gre_bad_checksum,
    inner_malformed,
    transport_not_ours,
    transport_truncated
);

/// Peers counted at most per tunnel: a flood of packets from spoofed sources cannot grow the
/// per-peer table without bound (beyond it, new peers count in the tunnel totals only).
pub const MAX_PEERS: usize = 65_536;

fn peer_slot(
    peers: &mut HashMap<Ipv4Addr, TrafficCounters>,
    peer: Ipv4Addr,
) -> Option<&mut TrafficCounters> {
    if peers.len() >= MAX_PEERS && !peers.contains_key(&peer) {
        return None;
    }
    Some(peers.entry(peer).or_default())
}

/// All counters of one tunnel.
#[derive(Debug, Default)]
pub struct Counters {
    tunnel: AtomicTraffic,
    drops: AtomicDrops,
    peers: Mutex<HashMap<Ipv4Addr, TrafficCounters>>,
}

impl Counters {
    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<Ipv4Addr, TrafficCounters>> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one packet of `bytes` sent to `peer`.
    pub fn tx(&self, peer: Ipv4Addr, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.tunnel.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tunnel.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
        let mut peers = self.peers();
        if let Some(p) = peer_slot(&mut peers, peer) {
            p.tx_packets += 1;
            p.tx_bytes += bytes;
        }
    }

    /// Counts one packet of `bytes` received from `peer`.
    pub fn rx(&self, peer: Ipv4Addr, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.tunnel.rx_packets.fetch_add(1, Ordering::Relaxed);
        self.tunnel.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
        let mut peers = self.peers();
        if let Some(p) = peer_slot(&mut peers, peer) {
            p.rx_packets += 1;
            p.rx_bytes += bytes;
        }
    }

    /// Increments a drop or event counter.
    pub fn count(&self, which: Stat) {
        self.drops.get(which).fetch_add(1, Ordering::Relaxed);
    }

    /// The tunnel's traffic counters.
    pub fn tunnel(&self) -> TrafficCounters {
        self.tunnel.snapshot()
    }

    /// The tunnel's drop and event counters.
    pub fn drops(&self) -> DropCounters {
        self.drops.snapshot()
    }

    /// The counters of one peer (zero when never seen).
    pub fn peer(&self, nbma: Ipv4Addr) -> TrafficCounters {
        self.peers().get(&nbma).copied().unwrap_or_default()
    }

    /// The counters of every peer seen, sorted by NBMA address.
    pub fn peers_snapshot(&self) -> Vec<(Ipv4Addr, TrafficCounters)> {
        let mut v: Vec<_> = self.peers().iter().map(|(a, c)| (*a, *c)).collect();
        v.sort_by_key(|(a, _)| *a);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_peer_and_tunnel() {
        let c = Counters::default();
        let a = Ipv4Addr::new(192, 0, 2, 1);
        let b = Ipv4Addr::new(192, 0, 2, 2);
        c.tx(a, 100);
        c.tx(a, 50);
        c.rx(b, 10);
        c.count(Stat::no_route);
        assert_eq!(
            c.peer(a),
            TrafficCounters {
                tx_packets: 2,
                tx_bytes: 150,
                ..Default::default()
            }
        );
        assert_eq!(c.peer(b).rx_bytes, 10);
        assert_eq!(c.tunnel().tx_packets, 2);
        assert_eq!(c.tunnel().rx_packets, 1);
        assert_eq!(c.drops().no_route, 1);
        assert_eq!(c.peers_snapshot().len(), 2);
    }
}

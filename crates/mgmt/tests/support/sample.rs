//! Example snapshots modelled on the source documents' show outputs, for
//! tests (golden files, fake daemons) and benchmarks. Addresses, times
//! and counters are those printed in the seeds, so rendering these
//! reproduces the seeds' examples.
//!
//! Test-support data, never compiled into the library: test and example
//! crates include it with `#[path = ".../tests/support/sample.rs"] mod sample;`.

#![allow(dead_code)] // each including crate uses a different subset

use std::net::IpAddr;

use dmvpn_mgmt::{
    CacheFlags, DmvpnEntry, DmvpnInterface, DmvpnPeer, DmvpnStatus, EntryType, MaxSend, NhrpCache,
    NhrpCacheEntry, NhrpTraffic, NhrpTypeCounters, NhsReport, NhsState, NhsStatus, PacketCounters,
    PeerAttributes, PeerState, PendingSession, Prefix, RunningConfig, Shortcut, ShortcutTable,
    TrafficReport, TunnelRole,
};
use dmvpn_mgmt::{CaptureStatus, DebugConditions};

fn ip(s: &str) -> IpAddr {
    // Only called with the literals below, all valid addresses.
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn prefix(s: &str, len: u8) -> Prefix {
    Prefix {
        address: ip(s),
        prefix_len: len,
    }
}

const H: u64 = 3600;
const D: u64 = 24 * H;
const W: u64 = 7 * D;

fn hms(h: u64, m: u64, s: u64) -> u64 {
    h * H + m * 60 + s
}

fn attrs(is_static: bool, dynamic: bool) -> PeerAttributes {
    PeerAttributes {
        is_static,
        dynamic,
        ..PeerAttributes::default()
    }
}

fn nhs_entry(iface: &str, addr: &str, nbma: &str, up: bool) -> NhsStatus {
    NhsStatus {
        interface: iface.to_owned(),
        address: ip(addr),
        nbma: Some(ip(nbma)),
        state: if up { NhsState::Up } else { NhsState::Down },
        priority: 0,
        cluster: 0,
        expecting_replies: true,
        responding: up,
        waiting: false,
        requests_sent: if up { 106 } else { 3 },
        requests_failed: if up { 0 } else { 3 },
        unanswered: if up { 0 } else { 3 },
        replies_received: if up { 105 } else { 0 },
        last_reply_secs: up.then_some(9),
    }
}

/// The spoke of the Cisco guide's `show dmvpn` example: Tunnel1 with three
/// NBMA peers, Tunnel2 with one.
pub fn spoke_dmvpn() -> DmvpnStatus {
    let t1 = DmvpnInterface {
        name: "Tunnel1".into(),
        role: TunnelRole::Spoke,
        admin_up: true,
        line_up: true,
        tunnel_address: Some(ip("192.0.2.5")),
        source: Some(ip("192.0.2.229")),
        destination: None,
        protection: Some("gre_prof".into()),
        nhs: vec![
            nhs_entry("Tunnel1", "192.0.2.10", "192.0.2.225", true),
            NhsStatus {
                responding: false,
                ..nhs_entry("Tunnel1", "192.0.2.11", "192.0.2.102", false)
            },
        ],
        peers: vec![
            DmvpnPeer {
                nbma: ip("192.0.2.21"),
                tunnel: ip("192.0.2.116"),
                state: PeerState::Ike,
                up_down_secs: Some(3 * W),
                attributes: attrs(false, true),
                entries: vec![
                    DmvpnEntry {
                        target: prefix("192.0.2.118", 24),
                        state: PeerState::Up,
                        up_down_secs: Some(hms(0, 14, 59)),
                        attributes: attrs(false, true),
                    },
                    DmvpnEntry {
                        target: prefix("192.0.2.116", 32),
                        state: PeerState::Up,
                        up_down_secs: Some(hms(0, 14, 59)),
                        attributes: attrs(false, true),
                    },
                ],
                counters: PacketCounters {
                    packets_in: 1,
                    packets_out: 1,
                    bytes_in: 100,
                    bytes_out: 100,
                },
                crypto: None,
            },
            DmvpnPeer {
                nbma: ip("192.0.2.102"),
                tunnel: ip("192.0.2.11"),
                state: PeerState::Nhrp,
                up_down_secs: Some(hms(2, 40, 51)),
                attributes: attrs(true, false),
                entries: vec![DmvpnEntry {
                    target: prefix("192.0.2.11", 32),
                    state: PeerState::Nhrp,
                    up_down_secs: Some(hms(2, 40, 51)),
                    attributes: attrs(true, false),
                }],
                counters: PacketCounters {
                    packets_in: 199_056,
                    packets_out: 416_631,
                    bytes_in: 23_886_720,
                    bytes_out: 49_995_720,
                },
                crypto: None,
            },
            DmvpnPeer {
                nbma: ip("192.0.2.225"),
                tunnel: ip("192.0.2.10"),
                state: PeerState::Up,
                up_down_secs: Some(3 * W),
                attributes: attrs(true, false),
                entries: vec![DmvpnEntry {
                    target: prefix("192.0.2.10", 32),
                    state: PeerState::Up,
                    up_down_secs: Some(3 * W),
                    attributes: attrs(true, false),
                }],
                counters: PacketCounters {
                    packets_in: 430_261,
                    packets_out: 406_232,
                    bytes_in: 51_631_320,
                    bytes_out: 48_747_840,
                },
                crypto: None,
            },
        ],
        counters: PacketCounters {
            packets_in: 629_318,
            packets_out: 822_864,
            bytes_in: 75_518_140,
            bytes_out: 98_743_660,
        },
    };
    let t2 = DmvpnInterface {
        name: "Tunnel2".into(),
        role: TunnelRole::Spoke,
        admin_up: true,
        line_up: true,
        tunnel_address: Some(ip("192.0.2.172")),
        source: Some(ip("192.0.2.20")),
        destination: None,
        protection: Some("gre_prof".into()),
        nhs: vec![NhsStatus {
            responding: false,
            ..nhs_entry("Tunnel2", "192.0.2.171", "192.0.2.25", false)
        }],
        peers: vec![DmvpnPeer {
            nbma: ip("192.0.2.25"),
            tunnel: ip("192.0.2.171"),
            state: PeerState::Ike,
            up_down_secs: None,
            attributes: attrs(true, false),
            entries: vec![],
            counters: PacketCounters::default(),
            crypto: None,
        }],
        counters: PacketCounters::default(),
    };
    DmvpnStatus {
        interfaces: vec![t1, t2],
        pending_sessions: vec![],
    }
}

/// The hub of Cisco document 41940 with its two registered spokes, one of
/// them behind NAT, and a pending resolution.
pub fn hub_dmvpn() -> DmvpnStatus {
    let spoke = |nbma: &str, tunnel: &str, up: u64, nated: bool, pk: u64| DmvpnPeer {
        nbma: ip(nbma),
        tunnel: ip(tunnel),
        state: PeerState::Up,
        up_down_secs: Some(up),
        attributes: PeerAttributes {
            dynamic: true,
            nated,
            ..PeerAttributes::default()
        },
        entries: vec![DmvpnEntry {
            target: Prefix::host(ip(tunnel)),
            state: PeerState::Up,
            up_down_secs: Some(up),
            attributes: PeerAttributes {
                dynamic: true,
                nated,
                ..PeerAttributes::default()
            },
        }],
        counters: PacketCounters {
            packets_in: pk,
            packets_out: pk + 2,
            bytes_in: pk * 100,
            bytes_out: (pk + 2) * 100,
        },
        crypto: None,
    };
    DmvpnStatus {
        interfaces: vec![DmvpnInterface {
            name: "Tunnel0".into(),
            role: TunnelRole::Hub,
            admin_up: true,
            line_up: true,
            tunnel_address: Some(ip("10.0.0.1")),
            source: Some(ip("172.17.0.1")),
            destination: None,
            protection: None,
            nhs: vec![],
            peers: vec![
                spoke("172.16.1.24", "10.0.0.2", hms(0, 57, 27), false, 375),
                spoke("172.16.2.75", "10.0.0.3", hms(7, 11, 25), true, 426),
            ],
            counters: PacketCounters {
                packets_in: 801,
                packets_out: 805,
                bytes_in: 80_100,
                bytes_out: 80_500,
            },
        }],
        pending_sessions: vec![PendingSession {
            interface: "Tunnel0".into(),
            nbma: None,
            tunnel: Some(ip("10.0.0.7")),
            state: PeerState::Nhrp,
            age_secs: 3,
        }],
    }
}

#[allow(clippy::too_many_arguments)] // one positional helper keeps the tables readable
fn entry(
    prefix_: Prefix,
    via: Option<&str>,
    iface: &str,
    created: u64,
    expire: Option<u64>,
    entry_type: EntryType,
    flags: CacheFlags,
    nbma: Option<&str>,
) -> NhrpCacheEntry {
    NhrpCacheEntry {
        prefix: prefix_,
        via: via.map(ip),
        interface: iface.into(),
        created_secs: created,
        expire_secs: expire,
        entry_type,
        flags,
        nbma: nbma.map(ip),
        claimed_nbma: None,
        preference: None,
    }
}

fn registered() -> CacheFlags {
    CacheFlags {
        authoritative: true,
        unique: true,
        registered: true,
        ..CacheFlags::default()
    }
}

/// The hub's `show ip nhrp` in Cisco document 41940.
pub fn hub_nhrp_cache() -> NhrpCache {
    NhrpCache {
        entries: vec![
            entry(
                prefix("10.0.0.2", 32),
                Some("10.0.0.2"),
                "Tunnel0",
                hms(0, 57, 27),
                Some(hms(0, 4, 13)),
                EntryType::Dynamic,
                registered(),
                Some("172.16.1.24"),
            ),
            entry(
                prefix("10.0.0.3", 32),
                Some("10.0.0.3"),
                "Tunnel0",
                hms(7, 11, 25),
                Some(hms(0, 4, 33)),
                EntryType::Dynamic,
                registered(),
                Some("172.16.2.75"),
            ),
        ],
    }
}

/// Spoke 1's `show ip nhrp` after the spoke-to-spoke resolution (document
/// 41940), plus a NATed peer, a pending (incomplete) entry and a day-old
/// static entry.
pub fn spoke_nhrp_cache() -> NhrpCache {
    let mut nat = entry(
        prefix("10.0.0.4", 32),
        Some("10.0.0.4"),
        "Tunnel0",
        hms(0, 1, 10),
        Some(hms(0, 5, 50)),
        EntryType::Dynamic,
        CacheFlags {
            router: true,
            unique: true,
            nat: true,
            ..CacheFlags::default()
        },
        Some("203.0.113.9"),
    );
    nat.claimed_nbma = Some(ip("192.168.10.2"));
    nat.preference = Some(255);
    NhrpCache {
        entries: vec![
            entry(
                prefix("10.0.0.1", 32),
                Some("10.0.0.1"),
                "Tunnel0",
                hms(2, 34, 16),
                None,
                EntryType::Static,
                CacheFlags {
                    authoritative: true,
                    used: true,
                    ..CacheFlags::default()
                },
                Some("172.17.0.1"),
            ),
            entry(
                prefix("10.0.0.3", 32),
                Some("10.0.0.3"),
                "Tunnel0",
                5,
                Some(hms(0, 3, 35)),
                EntryType::Dynamic,
                CacheFlags {
                    router: true,
                    unique: true,
                    used: true,
                    ..CacheFlags::default()
                },
                Some("172.16.2.75"),
            ),
            nat,
            entry(
                prefix("10.0.0.9", 32),
                None,
                "Tunnel0",
                2,
                Some(hms(0, 2, 57)),
                EntryType::Incomplete,
                CacheFlags::default(),
                None,
            ),
            entry(
                prefix("10.0.1.1", 32),
                Some("10.0.1.1"),
                "Tunnel1",
                D + 2 * H,
                None,
                EntryType::Static,
                CacheFlags {
                    authoritative: true,
                    used: true,
                    ..CacheFlags::default()
                },
                Some("172.17.0.5"),
            ),
        ],
    }
}

/// The AOS guide's `show ip nhrp nhs` example (tunnel 4 UP, tunnel 5 DOWN).
pub fn nhs_report() -> NhsReport {
    let mut t5 = nhs_entry("Tunnel5", "5.5.5.5", "198.51.100.5", false);
    t5.priority = 1;
    t5.cluster = 2;
    NhsReport {
        servers: vec![nhs_entry("Tunnel4", "1.1.1.2", "198.51.100.2", true), t5],
    }
}

/// The Cisco guide's `show ip nhrp traffic interface tunnel7` example.
pub fn traffic_report() -> TrafficReport {
    TrafficReport {
        interfaces: vec![NhrpTraffic {
            identity_refused: 0,
            interface: "Tunnel7".into(),
            max_send: MaxSend::default(),
            sent: NhrpTypeCounters {
                resolution_request: 18,
                resolution_reply: 10,
                registration_request: 42,
                registration_reply: 0,
                purge_request: 3,
                purge_reply: 6,
                error_indication: 0,
                traffic_indication: 0,
                ..NhrpTypeCounters::default()
            }
            .with_total(),
            received: NhrpTypeCounters {
                resolution_request: 10,
                resolution_reply: 15,
                registration_request: 0,
                registration_reply: 36,
                purge_request: 6,
                purge_reply: 2,
                error_indication: 0,
                traffic_indication: 0,
                ..NhrpTypeCounters::default()
            }
            .with_total(),
            drops: Default::default(),
            gre: None,
        }],
    }
}

/// A phase 3 spoke's shortcut to the other spoke's LAN.
pub fn shortcut_table() -> ShortcutTable {
    ShortcutTable {
        shortcuts: vec![
            Shortcut {
                interface: "Tunnel0".into(),
                target: prefix("192.168.2.0", 24),
                next_hop: ip("10.0.0.3"),
                nbma: Some(ip("172.16.2.75")),
                created_secs: 5,
                expire_secs: Some(hms(0, 3, 35)),
                installed: true,
            },
            Shortcut {
                interface: "Tunnel0".into(),
                target: prefix("192.168.3.0", 24),
                next_hop: ip("10.0.0.4"),
                nbma: None,
                created_secs: 1,
                expire_secs: Some(hms(0, 7, 59)),
                installed: false,
            },
        ],
    }
}

/// Conditions of the Cisco guide's `show dmvpn debug-condition` example,
/// plus a peer condition, NHRP packet debugging and a capture.
pub fn debug_conditions() -> DebugConditions {
    let mut d = DebugConditions::default();
    d.interfaces.push("Tunnel101".into());
    d.peer_nbma.push(ip("192.0.2.1"));
    d.nhrp.packet = true;
    d.dmvpn.nhrp.error = true;
    d.capture = Some(CaptureStatus {
        path: "/var/tmp/nhrp.pcapng".into(),
        packets: 12,
    });
    d
}

/// A short spoke configuration in the style of document 41940.
pub fn running_config() -> RunningConfig {
    RunningConfig {
        text: "interface Tunnel0\n ip address 10.0.0.2 255.255.255.0\n ip nhrp network-id 99\n ip nhrp nhs 10.0.0.1 nbma 172.17.0.1\n tunnel source Ethernet0\n tunnel mode gre multipoint\n".into(),
    }
}

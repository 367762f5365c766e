//! Unit tests of the pipeline: what leaves for the NBMA side, what goes up as events and
//! what the counters say, for packets built with etherparse.

use super::*;
use crate::tables::{Ipv4Prefix, MirroredRoute, MulticastPolicy};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[derive(Default)]
struct Rec {
    sent: Vec<(Ipv4Addr, u8, Vec<u8>)>,
    events: Vec<Event>,
    outcome: Option<SendOutcome>,
    full: bool,
}

impl Sink for Rec {
    fn send(&mut self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome {
        self.sent.push((peer, tos, packet.as_slice().to_vec()));
        self.outcome.clone().unwrap_or(SendOutcome::Sent)
    }
    fn event(&mut self, event: Event) -> bool {
        if self.full {
            return false;
        }
        self.events.push(event);
        true
    }
}

fn udp(src: &str, dst: &str, payload: usize, df: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let builder =
        etherparse::PacketBuilder::ipv4(ip(src).octets(), ip(dst).octets(), 64).udp(1000, 2000);
    builder.write(&mut out, &vec![7u8; payload]).unwrap();
    out[1] = 0x28; // TOS
    if !df {
        out[6] &= !0x40;
    } else {
        out[6] |= 0x40;
    }
    let sum = crate::packet::internet_checksum(&{
        let mut h = out[..20].to_vec();
        h[10] = 0;
        h[11] = 0;
        h
    });
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out
}

/// A spoke 10.0.0.11/24 with the hub 10.0.0.1 at 192.0.2.1 as NHS and a route to
/// 192.168.2.0/24 via spoke 10.0.0.12.
fn spoke(config: ForwarderConfig) -> Forwarder {
    let t = ForwardingTables::new(ip("10.0.0.11"), 24, config.destination).unwrap();
    t.set_nhs(vec![ip("192.0.2.1")]);
    t.set_mapping(ip("10.0.0.1"), ip("192.0.2.1"));
    t.update_routes(|m| {
        m.upsert(
            0,
            MirroredRoute {
                prefix: Ipv4Prefix::new(ip("192.168.2.0"), 24).unwrap(),
                gateway: Some(ip("10.0.0.12")),
                metric: 0,
                protocol: 4,
            },
        );
    });
    Forwarder::new(config, Arc::new(t))
}

fn gre(protocol: u16, key: Option<u32>, inner: &[u8]) -> PacketBuf {
    let mut b = PacketBuf::with_capacity(MAX_PACKET);
    let h = GreHeader { protocol, key };
    b.set(inner).unwrap();
    h.emit(b.prepend(h.len()).unwrap()).unwrap();
    b
}

const T0: Duration = Duration::from_secs(100);

#[test]
fn unmapped_next_hop_goes_via_nhs_and_asks_for_resolution_once_per_interval() {
    let f = spoke(ForwarderConfig::new());
    let mut s = Scratch::new();
    let mut rec = Rec::default();
    let mut p = udp("192.168.1.5", "192.168.2.5", 100, false);
    assert!(f.from_overlay(&mut s, &mut p, T0, &mut rec).is_none());
    assert_eq!(rec.sent.len(), 1);
    let (peer, tos, bytes) = &rec.sent[0];
    assert_eq!((*peer, *tos), (ip("192.0.2.1"), 0x28));
    assert_eq!(&bytes[..4], &[0, 0, 0x08, 0x00], "GRE header, IPv4");
    assert_eq!(&bytes[4..], &p[..]);
    assert_eq!(
        rec.events,
        vec![Event::ResolutionNeeded {
            next_hop: ip("10.0.0.12"),
            destination: ip("192.168.2.5"),
            source: ip("192.168.1.5")
        }]
    );
    f.from_overlay(&mut s, &mut p, T0 + Duration::from_millis(500), &mut rec);
    assert_eq!(rec.events.len(), 1, "suppressed within the interval");
    f.from_overlay(&mut s, &mut p, T0 + Duration::from_millis(1500), &mut rec);
    assert_eq!(rec.events.len(), 2);
    assert_eq!(f.counters().peer(ip("192.0.2.1")).tx_packets, 3);

    f.tables().set_mapping(ip("10.0.0.12"), ip("192.0.2.12"));
    rec.sent.clear();
    f.from_overlay(&mut s, &mut p, T0 + Duration::from_secs(5), &mut rec);
    assert_eq!(rec.sent[0].0, ip("192.0.2.12"));
    assert_eq!(rec.events.len(), 2, "no resolution once mapped");
}

#[test]
fn no_nhs_and_no_mapping_is_counted_as_no_route() {
    let f = spoke(ForwarderConfig::new());
    f.tables().set_nhs(vec![]);
    let mut rec = Rec {
        full: true,
        ..Rec::default()
    };
    let mut p = udp("192.168.1.5", "192.168.2.5", 10, false);
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    assert!(rec.sent.is_empty());
    let d = f.counters().drops();
    assert_eq!((d.no_route, d.events_lost), (1, 1));
}

#[test]
fn oversize_df_packet_gets_icmp_and_others_are_fragmented() {
    let mut cfg = ForwarderConfig::new();
    cfg.key = Some(7);
    let f = spoke(cfg);
    f.tables().set_mapping(ip("10.0.0.12"), ip("192.0.2.12"));
    assert_eq!(f.max_inner(), 1400);
    let mut s = Scratch::new();
    let mut rec = Rec::default();
    let mut big = udp("192.168.1.5", "192.168.2.5", 1500, true);
    let icmp = f
        .from_overlay(&mut s, &mut big, T0, &mut rec)
        .unwrap()
        .to_vec();
    assert!(rec.sent.is_empty());
    let parsed = Ipv4Info::parse(&icmp).unwrap();
    assert_eq!((parsed.dst, parsed.protocol), (ip("192.168.1.5"), 1));
    assert_eq!(icmp[20..22], [3, 4], "ICMP fragmentation needed");
    assert_eq!(u16::from_be_bytes([icmp[26], icmp[27]]), 1400);

    let mut big = udp("192.168.1.5", "192.168.2.5", 1500, false);
    assert!(f.from_overlay(&mut s, &mut big, T0, &mut rec).is_none());
    assert_eq!(rec.sent.len(), 2);
    for (_, _, b) in &rec.sent {
        assert_eq!(
            &b[..8],
            &[0x20, 0, 0x08, 0x00, 0, 0, 0, 7],
            "GRE with key 7"
        );
        assert!(b.len() - 8 <= 1400);
    }
    let d = f.counters().drops();
    assert_eq!((d.too_big, d.fragmented), (1, 1));
    f.set_mtu(1000);
    assert_eq!(f.max_inner(), 1000);
    assert!(!f.set_mtu(40), "too small for 68-byte inner packets");
}

#[test]
fn decapsulated_ipv4_goes_to_the_tun_and_a_hairpin_is_reported() {
    let mut cfg = ForwarderConfig::new();
    cfg.detect_hairpin = true;
    let f = spoke(cfg);
    f.tables().set_mapping(ip("10.0.0.12"), ip("192.0.2.12"));
    let mut rec = Rec::default();
    let inner = udp("192.168.3.5", "192.168.2.5", 30, false);
    let mut b = gre(PROTO_IPV4, None, &inner);
    let up = f
        .from_nbma(ip("192.0.2.13"), &mut b, T0, &mut rec)
        .unwrap()
        .to_vec();
    assert_eq!(up, inner);
    assert_eq!(f.counters().peer(ip("192.0.2.13")).rx_packets, 1);

    // The same flow routed back into the tunnel: a hairpin, relayed to its next hop.
    let mut p = inner.clone();
    f.from_overlay(
        &mut Scratch::new(),
        &mut p,
        T0 + Duration::from_secs(1),
        &mut rec,
    );
    assert_eq!(rec.sent.len(), 1);
    assert!(matches!(
        &rec.events[..],
        [Event::Hairpin { source, destination, ingress_nbma, packet }]
            if *source == ip("192.168.3.5") && *destination == ip("192.168.2.5")
               && *ingress_nbma == ip("192.0.2.13") && packet.len() == inner.len()
    ));
    assert_eq!(f.counters().drops().hairpins, 1);

    // Reporting off: still counted as relayed, no event.
    f.set_detect_hairpin(false);
    f.from_overlay(
        &mut Scratch::new(),
        &mut p,
        T0 + Duration::from_secs(5),
        &mut rec,
    );
    assert_eq!(rec.events.len(), 1);
    assert_eq!(f.counters().drops().hairpins, 2);
    // After the window the flow is forgotten.
    f.from_overlay(
        &mut Scratch::new(),
        &mut p,
        T0 + FLOW_WINDOW + Duration::from_secs(2),
        &mut rec,
    );
    assert_eq!(f.counters().drops().hairpins, 2);
}

#[test]
fn nhrp_goes_up_and_foreign_or_broken_gre_is_counted() {
    let mut cfg = ForwarderConfig::new();
    cfg.key = Some(100);
    let f = spoke(cfg);
    let mut rec = Rec::default();
    let mut b = gre(PROTO_NHRP, Some(100), b"nhrp-bytes");
    assert!(f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec).is_none());
    assert_eq!(
        rec.events,
        vec![Event::Nhrp {
            source: ip("192.0.2.1"),
            packet: b"nhrp-bytes".to_vec()
        }]
    );
    let mut b = gre(PROTO_NHRP, Some(5), b"x");
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    let mut b = gre(PROTO_NHRP, None, b"x");
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    let mut b = gre(0x86dd, Some(100), b"x");
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    let mut b = PacketBuf::with_capacity(16);
    b.set(&[0xff, 0xff]).unwrap();
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    let mut b = gre(PROTO_IPV4, Some(100), &[0x45, 0, 0]);
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    let d = f.counters().drops();
    assert_eq!(
        (d.key_mismatch, d.unknown_protocol, d.gre_malformed),
        (2, 1, 2)
    );
    assert_eq!((d.gre_truncated, d.inner_malformed), (1, 1));
    assert_eq!(rec.events.len(), 1);
}

#[test]
fn point_to_point_accepts_only_its_destination() {
    let mut cfg = ForwarderConfig::new();
    cfg.destination = Some(ip("198.51.100.2"));
    let f = spoke(cfg);
    let mut rec = Rec::default();
    let inner = udp("192.168.3.5", "192.168.2.5", 30, false);
    let mut b = gre(PROTO_IPV4, None, &inner);
    assert!(
        f.from_nbma(ip("198.51.100.9"), &mut b, T0, &mut rec)
            .is_none()
    );
    assert_eq!(f.counters().drops().wrong_source, 1);
    let mut b = gre(PROTO_IPV4, None, &inner);
    assert!(
        f.from_nbma(ip("198.51.100.2"), &mut b, T0, &mut rec)
            .is_some()
    );
    let mut p = udp("192.168.1.5", "8.8.8.8", 10, false);
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    assert_eq!(rec.sent[0].0, ip("198.51.100.2"));
}

#[test]
fn multicast_is_replicated_to_every_target() {
    let f = spoke(ForwarderConfig::new());
    f.tables().set_multicast_policy(MulticastPolicy {
        static_targets: vec![ip("192.0.2.50")],
        dynamic: false,
        nhs: true,
    });
    let mut rec = Rec::default();
    let mut p = udp("10.0.0.11", "224.0.0.5", 10, false);
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    let peers: Vec<_> = rec.sent.iter().map(|s| s.0).collect();
    assert_eq!(peers, vec![ip("192.0.2.1"), ip("192.0.2.50")]);
}

#[test]
fn queued_is_not_counted_as_sent_and_unprotected_is_a_protection_drop() {
    let f = spoke(ForwarderConfig::new());
    let mut p = udp("192.168.1.5", "10.0.0.1", 10, false);
    let mut rec = Rec {
        outcome: Some(SendOutcome::Queued),
        ..Rec::default()
    };
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    assert_eq!(f.counters().tunnel().tx_packets, 0);
    assert_eq!(f.counters().drops().send_errors, 0);
    rec.outcome = Some(SendOutcome::Dropped(DropReason::Unprotected));
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    let mut buf = PacketBuf::with_capacity(64);
    assert_eq!(
        f.send_nhrp(&mut buf, ip("192.0.2.1"), b"nhrp", &mut rec),
        SendOutcome::Dropped(DropReason::Unprotected)
    );
    assert_eq!(
        &rec.sent[2].2[..],
        &[0, 0, 0x20, 0x01, b'n', b'h', b'r', b'p']
    );
    let d = f.counters().drops();
    assert_eq!((d.protection, d.send_errors), (2, 1));
    let mut tiny = PacketBuf::with_capacity(2);
    assert_eq!(
        f.send_nhrp(&mut tiny, ip("192.0.2.1"), &[0; 200], &mut rec),
        SendOutcome::Dropped(DropReason::TooBig)
    );
}

#[test]
fn mss_is_clamped_in_both_directions() {
    let mut cfg = ForwarderConfig::new();
    cfg.tcp_adjust_mss = Some(1360);
    let f = spoke(cfg);
    let mut syn = Vec::new();
    etherparse::PacketBuilder::ipv4(ip("192.168.1.5").octets(), ip("10.0.0.1").octets(), 64)
        .tcp(1000, 80, 1, 1000)
        .syn()
        .options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1460)])
        .unwrap()
        .write(&mut syn, &[])
        .unwrap();
    let mut rec = Rec::default();
    let mut p = syn.clone();
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    let mut b = gre(PROTO_IPV4, None, &syn);
    f.from_nbma(ip("192.0.2.1"), &mut b, T0, &mut rec);
    assert_eq!(f.counters().drops().mss_clamped, 2);
    f.set_tcp_adjust_mss(None);
    assert_eq!(f.tcp_adjust_mss(), None);
}

#[test]
fn limiter_and_flow_cache_forget_after_their_windows() {
    let mut l = EventLimiter::new(Duration::from_secs(1));
    let k = (0, ip("10.0.0.12"), Ipv4Addr::UNSPECIFIED);
    assert!(l.allow(k, T0));
    assert!(!l.allow(k, T0 + Duration::from_millis(500)));
    assert!(l.allow(k, T0 + Duration::from_millis(1500)));
    let mut c = FlowCache::new(42);
    let (s, d, n) = (ip("192.168.1.5"), ip("192.168.2.5"), ip("192.0.2.11"));
    assert_eq!(c.ingress(s, d, T0), None);
    c.record(s, d, n, T0);
    assert_eq!(c.ingress(s, d, T0), Some(n));
    assert_eq!(c.ingress(d, s, T0), None);
    assert_eq!(c.ingress(s, d, T0 + FLOW_WINDOW), None);
}

#[test]
fn malformed_overlay_packets_are_counted_not_sent() {
    let f = spoke(ForwarderConfig::new());
    let mut rec = Rec::default();
    for bytes in [
        &[][..],
        &[0x45][..],
        &[0x60, 0, 0, 0][..],
        &[
            0x45, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ][..],
    ] {
        let mut p = bytes.to_vec();
        f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut rec);
    }
    assert!(rec.sent.is_empty());
    assert_eq!(f.counters().drops().tun_malformed, 4);
}

/// The forwarder in front of a transport whose protection has no SA for the peer: the
/// packet is queued, negotiation is asked for, and nothing reaches the wire in clear.
#[test]
fn no_sa_means_queued_and_nothing_on_the_wire() {
    use crate::transport::{Protection, ProtectionError, Protector, Transmit, Underlay};

    #[derive(Debug)]
    struct NoSaYet;
    impl Protection for NoSaYet {
        fn protect(&self, peer: Ipv4Addr, _: &mut PacketBuf) -> Result<Underlay, ProtectionError> {
            Err(ProtectionError::NoSa(peer))
        }
        fn unprotect(
            &self,
            peer: Ipv4Addr,
            u: Underlay,
            _: &mut PacketBuf,
        ) -> Result<(), ProtectionError> {
            Err(ProtectionError::Unexpected(peer, u))
        }
    }

    struct Transport {
        protector: Protector,
        wire: Vec<Vec<u8>>,
    }
    impl Sink for Transport {
        fn send(&mut self, peer: Ipv4Addr, tos: u8, packet: &mut PacketBuf) -> SendOutcome {
            let t = self.protector.outbound(peer, tos, packet);
            if let Transmit::Send(_) = t {
                self.wire.push(packet.as_slice().to_vec());
            }
            t.outcome()
        }
        fn event(&mut self, _: Event) -> bool {
            true
        }
    }

    let f = spoke(ForwarderConfig::new());
    let mut t = Transport {
        protector: Protector::new(Arc::new(NoSaYet), 8),
        wire: Vec::new(),
    };
    let mut p = udp("192.168.1.5", "10.0.0.1", 10, false);
    f.from_overlay(&mut Scratch::new(), &mut p, T0, &mut t);
    let mut buf = PacketBuf::with_capacity(64);
    assert_eq!(
        f.send_nhrp(&mut buf, ip("192.0.2.1"), b"nhrp", &mut t),
        SendOutcome::Queued
    );
    assert!(t.wire.is_empty(), "nothing in clear");
    assert_eq!(t.protector.queued(ip("192.0.2.1")), 2);
    assert_eq!(t.protector.take_negotiations(), vec![ip("192.0.2.1")]);
    assert_eq!(f.counters().tunnel().tx_packets, 0);
}

//! Property tests of the per-packet transformations: no input panics, fragments always
//! reassemble to the original, MSS clamping keeps the TCP checksum valid, and the GRE
//! header round-trips.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;

use dmvpn_dataplane::gre::GreHeader;
use dmvpn_dataplane::packet::{
    Ipv4Info, clamp_tcp_mss, fragment_ipv4, icmp_frag_needed, internet_checksum,
};
use etherparse::{PacketBuilder, TcpHeader, TcpOptionElement};
use proptest::prelude::*;

fn udp(len: usize, df: bool, tos_seed: u8) -> Vec<u8> {
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(tos_seed | 1))
        .collect();
    let mut out = Vec::new();
    PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 1, 2], 64)
        .udp(5000, 6000)
        .write(&mut out, &payload)
        .unwrap();
    if df {
        out[6] |= 0x40;
        out[10] = 0;
        out[11] = 0;
        let ck = internet_checksum(&out[..20]);
        out[10..12].copy_from_slice(&ck.to_be_bytes());
    }
    out
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..200), mss in any::<u16>(), mtu in 0usize..2000) {
        let _ = Ipv4Info::parse(&bytes);
        let _ = clamp_tcp_mss(&mut bytes, mss);
        let _ = fragment_ipv4(&bytes, mtu, &mut Vec::new(), |_| {});
        let _ = icmp_frag_needed(&bytes, Ipv4Addr::LOCALHOST, 1400, &mut Vec::new());
        let _ = GreHeader::parse(&bytes);
    }

    #[test]
    fn ipv4_shaped_bytes_never_panic(mut tail in proptest::collection::vec(any::<u8>(), 0..120), ihl in 0u8..16, total in any::<u16>(), proto in prop_oneof![Just(6u8), Just(1u8), any::<u8>()], mss in any::<u16>(), mtu in 0usize..200) {
        let mut p = vec![0x40 | ihl, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        p.append(&mut tail);
        let _ = clamp_tcp_mss(&mut p, mss);
        let _ = fragment_ipv4(&p, mtu, &mut Vec::new(), |_| {});
        let _ = icmp_frag_needed(&p, Ipv4Addr::LOCALHOST, 576, &mut Vec::new());
    }

    #[test]
    fn fragments_reassemble(len in 0usize..5000, mtu in 68usize..1500) {
        let packet = udp(len, false, 7);
        let mut frags: Vec<Vec<u8>> = Vec::new();
        fragment_ipv4(&packet, mtu, &mut Vec::new(), |f| frags.push(f.to_vec())).unwrap();
        let mut data = Vec::new();
        let mut last_mf = true;
        let count = frags.len();
        for f in &frags {
            prop_assert!(f.len() <= mtu || (count == 1 && f.len() == packet.len() && packet.len() <= mtu));
            let ip = Ipv4Info::parse(f).unwrap();
            prop_assert_eq!(usize::from(ip.fragment_offset) * 8, data.len());
            prop_assert_eq!(internet_checksum(&f[..ip.header_len]), 0);
            data.extend_from_slice(&f[ip.header_len..]);
            last_mf = ip.more_fragments;
        }
        prop_assert!(count >= 1);
        prop_assert!(!last_mf);
        prop_assert_eq!(&data[..], &packet[20..]);
    }

    #[test]
    fn icmp_is_bounded_and_valid(len in 0usize..3000, mtu in any::<u16>()) {
        let packet = udp(len, true, 3);
        let mut out = Vec::new();
        prop_assert_eq!(icmp_frag_needed(&packet, Ipv4Addr::new(10, 0, 1, 2), mtu, &mut out), Ok(true));
        prop_assert!(out.len() <= 576);
        prop_assert_eq!(internet_checksum(&out[..20]), 0);
        prop_assert_eq!(internet_checksum(&out[20..]), 0);
        prop_assert_eq!(u16::from_be_bytes([out[26], out[27]]), mtu);
    }

    #[test]
    fn mss_clamp_keeps_checksum(mss in 0u16..u16::MAX, limit in 0u16..u16::MAX, nops in 0usize..4, payload in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut opts = vec![TcpOptionElement::Noop; nops];
        opts.push(TcpOptionElement::MaximumSegmentSize(mss));
        let mut tcp = TcpHeader::new(1234, 80, 1, 1000);
        tcp.syn = true;
        tcp.set_options(&opts).unwrap();
        let mut p = Vec::new();
        PacketBuilder::ipv4([192, 168, 1, 1], [192, 168, 2, 2], 64).tcp_header(tcp).write(&mut p, &payload).unwrap();
        let clamped = clamp_tcp_mss(&mut p, limit);
        prop_assert_eq!(clamped.is_some(), mss > limit);
        let s = etherparse::SlicedPacket::from_ip(&p).unwrap();
        let Some(etherparse::TransportSlice::Tcp(t)) = s.transport else { panic!() };
        let ip = etherparse::Ipv4HeaderSlice::from_slice(&p).unwrap().to_header();
        prop_assert_eq!(t.to_header().calc_checksum_ipv4(&ip, t.payload()).unwrap(), t.checksum());
        let got = t.options_iterator().find_map(|o| match o { Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m), _ => None });
        prop_assert_eq!(got, Some(mss.min(limit)));
    }

    #[test]
    fn gre_header_round_trips(protocol in any::<u16>(), key in proptest::option::of(any::<u32>())) {
        let h = GreHeader { protocol, key };
        let mut buf = [0u8; 8];
        prop_assert_eq!(h.emit(&mut buf), Some(h.len()));
        prop_assert_eq!(GreHeader::parse(&buf[..h.len()]).unwrap(), (h, h.len()));
    }
}

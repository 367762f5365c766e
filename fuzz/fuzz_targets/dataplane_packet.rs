//! Fuzz target: the data plane's packet surgery (`dmvpn_forwarding::packet`, shared by
//! the userspace data plane and the simulator).
//!
//! Input layout: two bytes of MTU / MSS parameter (big endian), then an
//! arbitrary "IPv4 packet". On those bytes, none of MSS clamping, IPv4
//! fragmentation or ICMP fragmentation-needed generation may panic, and:
//! * clamping only lowers the MSS and never changes the packet's length;
//! * every fragment fits the MTU, the fragments are valid IPv4 and their
//!   payloads add up to the original payload;
//! * a generated ICMP error is a valid IPv4 packet of at most 576 bytes.
#![no_main]

use dmvpn_forwarding::packet::{self, Ipv4Info};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;

fuzz_target!(|data: &[u8]| {
    let Some((param, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let param = u16::from_be_bytes(*param);

    // MSS clamping.
    let mut clamped = rest.to_vec();
    if let Some(old) = packet::clamp_tcp_mss(&mut clamped, param) {
        assert!(
            old > param,
            "clamped an MSS {old} that was not above {param}"
        );
    }
    assert_eq!(clamped.len(), rest.len());

    // Fragmentation (the MTU is at least a minimal header plus 8 bytes).
    let original = Ipv4Info::parse(rest).ok();
    let mtu = usize::from(param % 2048).max(28);
    let mut scratch = Vec::new();
    let mut payload_total = 0usize;
    let mut fragments = 0usize;
    let result = packet::fragment_ipv4(rest, mtu, &mut scratch, |frag| {
        fragments += 1;
        let info = Ipv4Info::parse(frag).expect("every fragment is valid IPv4");
        assert!(
            frag.len() <= mtu,
            "fragment of {} bytes over MTU {mtu}",
            frag.len()
        );
        assert_eq!(info.total_len, frag.len(), "fragment total length field");
        payload_total += info.total_len - info.header_len;
    });
    if let (Ok(count), Some(orig)) = (result, original) {
        assert_eq!(
            count, fragments,
            "returned count differs from emitted fragments"
        );
        assert_eq!(
            payload_total,
            orig.total_len - orig.header_len,
            "fragment payloads do not add up"
        );
    }

    // ICMP fragmentation needed.
    let mut out = Vec::new();
    match packet::icmp_frag_needed(rest, Ipv4Addr::new(10, 0, 0, 1), param, &mut out) {
        Ok(true) => {
            assert!(out.len() <= 576, "ICMP error longer than 576 bytes");
            let info = Ipv4Info::parse(&out).expect("generated ICMP error is valid IPv4");
            assert_eq!(info.total_len, out.len());
        }
        Ok(false) => assert!(out.is_empty(), "no ICMP error, yet output written"),
        Err(_) => {}
    }
});

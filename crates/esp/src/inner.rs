//! The inner IPv4 header of tunnel mode: GRE between the two NBMA addresses, wrapped in an
//! IPv4 header inside ESP (Next Header 4). Written on encapsulation; on decapsulation the
//! header must be exactly what the SA's traffic selectors allow (GRE from the peer to us,
//! unfragmented, a valid checksum and lengths) before it is removed.

use std::net::Ipv4Addr;

use dmvpn_forwarding::packet::internet_checksum;
use dmvpn_forwarding::transport::IPPROTO_GRE;

/// Length of the inner IPv4 header we write (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// TTL of the inner header.
const INNER_TTL: u8 = 64;

/// Writes an inner IPv4 header for a GRE payload of `payload_len` bytes from `src` to
/// `dst` into `buf` (exactly [`IPV4_HEADER_LEN`] bytes). Returns false when the lengths do
/// not fit.
pub(crate) fn write_header(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload_len: usize,
    id: u16,
) -> bool {
    let Some(total) = payload_len
        .checked_add(IPV4_HEADER_LEN)
        .and_then(|t| u16::try_from(t).ok())
    else {
        return false;
    };
    let Ok(h) = <&mut [u8; IPV4_HEADER_LEN]>::try_from(buf) else {
        return false;
    };
    let [t0, t1] = total.to_be_bytes();
    let [i0, i1] = id.to_be_bytes();
    let [s0, s1, s2, s3] = src.octets();
    let [d0, d1, d2, d3] = dst.octets();
    *h = [
        0x45,
        0,
        t0,
        t1,
        i0,
        i1,
        0,
        0,
        INNER_TTL,
        IPPROTO_GRE,
        0,
        0,
        s0,
        s1,
        s2,
        s3,
        d0,
        d1,
        d2,
        d3,
    ];
    let [c0, c1] = internet_checksum(h).to_be_bytes();
    h[10] = c0;
    h[11] = c1;
    true
}

/// Checks the inner IPv4 packet at the start of `packet` is GRE from `src` to `dst`:
/// version 4, a valid header length and checksum, not a fragment, a total length within
/// `packet`. Returns (header length, total length); what follows the total length is TFC
/// padding (RFC 4303 §2.7) to be cut off.
pub(crate) fn check_header(packet: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Option<(usize, usize)> {
    let fixed = packet.get(..IPV4_HEADER_LEN)?;
    let byte = |i: usize| fixed.get(i).copied().unwrap_or(0);
    let word = |i: usize| u16::from_be_bytes([byte(i), byte(i + 1)]);
    if byte(0) >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(byte(0) & 0x0f) * 4;
    let total = usize::from(word(2));
    if ihl < IPV4_HEADER_LEN || total < ihl || total > packet.len() {
        return None;
    }
    // More-fragments flag or a fragment offset: a fragment cannot be GRE we can use.
    if word(6) & 0x3fff != 0 || byte(9) != IPPROTO_GRE {
        return None;
    }
    if internet_checksum(packet.get(..ihl)?) != 0 {
        return None;
    }
    let addr = |i: usize| Ipv4Addr::new(byte(i), byte(i + 1), byte(i + 2), byte(i + 3));
    if addr(12) != src || addr(16) != dst {
        return None;
    }
    Some((ihl, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

    fn packet(payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; IPV4_HEADER_LEN];
        assert!(write_header(&mut p, A, B, payload.len(), 7));
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn written_header_checks() {
        let mut p = packet(b"gre!");
        assert_eq!(check_header(&p, A, B), Some((20, 24)));
        assert_eq!(internet_checksum(&p[..20]), 0);
        assert_eq!(check_header(&p, B, A), None, "addresses are checked");
        p.extend_from_slice(&[0; 3]);
        assert_eq!(
            check_header(&p, A, B),
            Some((20, 24)),
            "TFC padding is allowed"
        );
    }

    #[test]
    fn bad_headers_are_refused() {
        let good = packet(b"gre!");
        let mutate = |i: usize, v: u8| {
            let mut p = good.clone();
            p[i] = v;
            check_header(&p, A, B)
        };
        assert_eq!(mutate(0, 0x65), None, "version");
        assert_eq!(mutate(0, 0x44), None, "header length");
        assert_eq!(mutate(3, 100), None, "total length past the end");
        assert_eq!(mutate(6, 0x20), None, "more fragments");
        assert_eq!(mutate(9, 4), None, "not GRE");
        assert_eq!(mutate(8, 1), None, "checksum");
        assert_eq!(check_header(&good[..10], A, B), None);
        assert!(!write_header(&mut [0; 20], A, B, 70_000, 0));
        assert!(!write_header(&mut [0; 19], A, B, 1, 0));
    }
}

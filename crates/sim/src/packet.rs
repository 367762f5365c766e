//! Host packets of the data-plane model: small ICMP echo requests built with
//! `etherparse`, so that engines that look inside the forwarded datagram
//! (Traffic Indication carries its first bytes) see a real IPv4 packet.

use std::net::Ipv4Addr;

use etherparse::PacketBuilder;

/// An IPv4 ICMP echo request from `src` to `dst`; `id` becomes the echo
/// sequence number (truncated) and the 8-byte payload.
pub fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, id: u64) -> Vec<u8> {
    let payload = id.to_be_bytes();
    let builder = PacketBuilder::ipv4(src.octets(), dst.octets(), 64)
        .icmpv4_echo_request(0x444d, (id & 0xffff) as u16);
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    // Writing into a Vec cannot fail for lack of space; an error would only
    // mean an inconsistent builder, in which case the header-less payload
    // still identifies the packet.
    if builder.write(&mut out, &payload).is_err() {
        out = payload.to_vec();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_is_a_valid_ipv4_packet_with_the_right_addresses() {
        let src: Ipv4Addr = "192.168.1.2".parse().unwrap();
        let dst: Ipv4Addr = "192.168.2.3".parse().unwrap();
        let bytes = icmp_echo(src, dst, 7);
        let (ip, _) = etherparse::Ipv4Header::from_slice(&bytes).unwrap();
        assert_eq!(ip.source, src.octets());
        assert_eq!(ip.destination, dst.octets());
        assert_eq!(bytes.len(), 20 + 8 + 8);
    }
}

//! GRE headers seen in the tcpdump captures (extracted once with tshark's `gre_raw`) parse to
//! the expected fields and re-encode identically.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use dmvpn_wire::gre::{EtherType, Packet, Repr};

#[test]
fn captured_gre_headers() {
    // (capture, frame, header bytes as hex, key, protocol)
    let cases: &[(&str, u32, &str, Option<u32>, EtherType)] = &[
        (
            "various_gre.pcap",
            11,
            "2000000000000028",
            Some(40),
            EtherType::Unknown(0x0000),
        ),
        (
            "various_gre.pcap",
            25,
            "2000890900000028",
            Some(40),
            EtherType::Unknown(0x8909),
        ),
        (
            "various_gre.pcap",
            49,
            "2000200000000028",
            Some(40),
            EtherType::Unknown(0x2000),
        ),
        (
            "wccp_redirect_gre.pcap",
            1,
            "0000883e",
            None,
            EtherType::Unknown(0x883e),
        ),
        ("nhrp.pcapng", 1, "00002001", None, EtherType::Nhrp),
        (
            "nhrp-trace.pcap",
            1,
            "20002001000003e8",
            Some(1000),
            EtherType::Nhrp,
        ),
    ];
    let payload = [0x05, 0x59, 0x00, 0x48, 0xff];
    for (file, frame, hex_hdr, key, proto) in cases {
        let mut bytes = hex::decode(hex_hdr).unwrap();
        bytes.extend_from_slice(&payload);
        let (repr, p) = Repr::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{file} {frame}: {e}"));
        assert_eq!(repr.key, *key, "{file} {frame}");
        assert_eq!(repr.protocol, *proto, "{file} {frame}");
        assert_eq!((repr.checksum, repr.sequence), (None, None));
        assert_eq!(p, &payload);
        assert_eq!(repr.to_bytes(p), bytes, "{file} {frame} re-encodes");
        let view = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.header_len(), hex_hdr.len() / 2);
        assert_eq!(view.version(), 0);
    }
}

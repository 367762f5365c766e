//! Builders: every packet type can be constructed, emits correct `ar$pktsz`/`ar$extoff`/
//! `ar$chksum`, and parses back to the same value. Includes the FRR size golden vectors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixtures;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dmvpn_wire::gre::EtherType;
use dmvpn_wire::nhrp::*;
use dmvpn_wire::verify_internet_checksum;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

/// Emits into a buffer pre-filled with 0xa5 (any byte left unwritten shows), checks the
/// header fields and the checksum, and parses back.
fn emit_and_check(r: &Repr) -> Vec<u8> {
    let len = r.buffer_len();
    let mut buf = vec![0xa5; len + 3];
    assert_eq!(r.emit(&mut buf).unwrap(), len);
    assert_eq!(&buf[len..], &[0xa5; 3], "nothing written past buffer_len");
    buf.truncate(len);
    assert_eq!(buf, r.to_bytes().unwrap());
    assert_eq!(
        usize::from(u16::from_be_bytes([buf[10], buf[11]])),
        len,
        "ar$pktsz"
    );
    assert_eq!(
        usize::from(u16::from_be_bytes([buf[14], buf[15]])),
        r.extension_offset().unwrap_or(0),
        "ar$extoff"
    );
    assert!(verify_internet_checksum(&buf), "ar$chksum");
    assert_eq!(&Repr::parse(&buf).unwrap(), r, "parse(emit(x)) == x");
    buf
}

#[test]
fn golden_frr_registration_request_is_92_bytes_with_extoff_52() {
    let nhs_nbma = v4(198, 51, 100, 1);
    let nhs_proto = v4(10, 0, 0, 1);
    let r = Repr::registration_request(v4(203, 0, 113, 2), v4(10, 0, 0, 2), nhs_proto, 1, true)
        .with_mtu_and_holding_time(0, 7200)
        .with_request_extensions(
            Some(vec![
                Cie::client(nhs_nbma, nhs_proto).with_binding(32, 0, 0),
            ]),
            None,
        );
    let bytes = emit_and_check(&r);
    assert_eq!(bytes.len(), 92);
    assert_eq!(r.extension_offset(), Some(52));
    // Extension order FRR sends: 0x8004 0x8005 0x8003 0x0009(len 20) 0x8000.
    assert_eq!(
        hex::encode(&bytes[52..]),
        "80040000800500008003000000090014002000000000000004000400c63364010a00000180000000"
    );
    assert_eq!(bytes[9], 255, "hop count never 0");
    assert_eq!(&bytes[22..24], &[0x80, 0x02], "U|NAT");
    assert_eq!(bytes[41], 0xff, "unique CIE prefix (CIE starts at 40)");
}

#[test]
fn golden_frr_traffic_indication_sizes() {
    // FRR issue 16371: 84-byte ICMP payload + auth "test123" gives pktsz 143, extoff 124.
    let data = vec![0x45; 84];
    let r = Repr::traffic_indication(v4(198, 51, 100, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 3), &data)
        .with_extension(Extension::cisco_auth(b"test123"));
    let bytes = emit_and_check(&r);
    assert_eq!(bytes.len(), 143);
    assert_eq!(r.extension_offset(), Some(124));
    assert_eq!(&bytes[124..128], &[0x80, 0x07, 0x00, 0x0b]);
    assert_eq!(&bytes[128..143], b"\0\0\0\x01test123\x80\0\0\0");
}

#[test]
fn rebuilding_a_cisco_registration_gives_the_captured_bytes() {
    let captured = fixtures::frame("NHRP_registration.pcap", 1);
    let nhs_nbma = v4(169, 254, 100, 5);
    let nhs = v4(155, 1, 0, 5);
    let mut r = Repr::registration_request(v4(169, 254, 100, 1), v4(155, 1, 0, 1), nhs, 1, true)
        .with_mtu_and_holding_time(17912, 7200)
        .with_cies(vec![
            Cie::new(CieCode::Success).with_binding(32, 17912, 7200),
        ]);
    // Cisco's order: responder, forward, reverse, auth, NAT, End.
    r.extensions = vec![
        Extension::responder_address(vec![]),
        Extension::forward_transit(vec![]),
        Extension::reverse_transit(vec![]),
        Extension::cisco_auth(b"NHRPAUTH"),
        Extension::cisco_nat(vec![Cie::client(nhs_nbma, nhs).with_binding(32, 17912, 0)]),
        Extension::end(),
    ];
    assert_eq!(hex::encode(emit_and_check(&r)), hex::encode(captured));
}

#[test]
fn registration_reply_from_request() {
    let req = Repr::registration_request(
        v4(203, 0, 113, 2),
        v4(10, 0, 0, 2),
        v4(10, 0, 0, 1),
        77,
        false,
    )
    .with_request_extensions(
        Some(vec![]),
        Some(Authentication::CiscoCleartext {
            password: b"pw".to_vec(),
        }),
    );
    assert_eq!(req.flags, Flags::CISCO_NAT);
    assert_eq!(req.cies()[0].prefix_len, 32);
    let mut reply = Repr::registration_reply(&req, CieCode::UniqueAddressRegistered);
    reply
        .extension_mut(ExtensionType::ResponderAddress)
        .unwrap()
        .body = ExtensionBody::Cies(vec![
        Cie::client(v4(198, 51, 100, 1), v4(10, 0, 0, 1)).with_binding(32, 1400, 7200),
    ]);
    let bytes = emit_and_check(&reply);
    assert_eq!(bytes[17], 4);
    assert_eq!(reply.request_id(), Some(77));
    assert_eq!(reply.cies()[0].code.value(), 14);
    assert_eq!(reply.src_proto, req.src_proto);
}

#[test]
fn resolution_request_and_reply_ipv6_over_ipv6() {
    let req = Repr::resolution_request(v6(1), v6(0x11), v6(0x22), 9)
        .with_request_extensions(Some(vec![]), None);
    assert_eq!(req.afn, AddressFamily::Ipv6);
    assert_eq!(req.protocol_type, EtherType::Ipv6);
    assert_eq!(req.flags.0, 0xc802);
    assert_eq!(req.cies()[0].prefix_len, 128);
    let b = emit_and_check(&req);
    assert_eq!((b[18], b[20], b[21]), (16, 16, 16));
    let reply = Repr::resolution_reply(
        &req,
        vec![Cie::client(v6(2), v6(0x22)).with_binding(128, 1400, 7200)],
    );
    assert_eq!(
        reply.flags.names(PacketType::ResolutionReply),
        vec!["Q", "A", "D", "S", "NAT"]
    );
    let parsed = Repr::parse(&emit_and_check(&reply)).unwrap();
    assert_eq!(parsed.cies()[0].client_nbma.ip(), Some(v6(2)));
}

#[test]
fn ipv6_over_ipv4_nbma_mixed_families() {
    let r = Repr::resolution_request(v4(192, 0, 2, 1), v6(1), v6(2), 1);
    assert_eq!(
        (r.afn, r.protocol_type),
        (AddressFamily::Ipv4, EtherType::Ipv6)
    );
    let b = emit_and_check(&r);
    assert_eq!((b[18], b[20]), (4, 16));
}

#[test]
fn purge_request_and_reply() {
    let cie = Cie::client(v4(192, 0, 2, 7), v4(10, 0, 0, 7)).with_binding(32, 0, 0);
    let req = Repr::purge_request(
        v4(192, 0, 2, 1),
        v4(10, 0, 0, 1),
        v4(10, 0, 0, 7),
        3,
        vec![cie.clone()],
        true,
    );
    assert_eq!(req.flags.names(PacketType::PurgeRequest), vec!["N"]);
    emit_and_check(&req);
    let reply = Repr::purge_reply(&req);
    assert_eq!(reply.packet_type, PacketType::PurgeReply);
    assert_eq!(reply.cies(), &[cie]);
    emit_and_check(&reply);
}

#[test]
fn error_indication_embeds_the_offending_packet() {
    let offending = fixtures::frame("ios_nhrp.pcap", 1);
    let r = Repr::error_indication(
        v4(10, 0, 0, 1),
        v4(10, 0, 0, 1),
        v4(192, 168, 0, 2),
        ErrorCode::AuthenticationFailure,
        56,
        &offending,
    );
    let b = emit_and_check(&r);
    assert_eq!(&b[24..28], &[0, 11, 0, 56], "code 11, offset 56");
    assert_eq!(
        r.extension_offset(),
        None,
        "no extensions in an Error Indication"
    );
    assert_eq!(&b[40..], &offending[..]);
    let Body::ErrorIndication { packet, .. } = Repr::parse(&b).unwrap().body else {
        panic!()
    };
    // The embedded packet is itself decodable.
    assert_eq!(
        Repr::parse(&packet).unwrap().packet_type,
        PacketType::RegistrationRequest
    );
}

#[test]
fn rfc_numbering_of_codes() {
    assert_eq!(ErrorCode::UnrecognizedExtension.value(), 1);
    assert_eq!(ErrorCode::LoopDetected.value(), 3);
    assert_eq!(ErrorCode::ProtocolAddressUnreachable.value(), 6);
    assert_eq!(ErrorCode::AuthenticationFailure.value(), 11);
    assert_eq!(ErrorCode::HopCountExceeded.value(), 15);
    assert_eq!(ErrorCode::from(2), ErrorCode::Unknown(2));
    assert_eq!(CieCode::NoBinding.value(), 12);
    assert_eq!(CieCode::NonUniqueBinding.value(), 13);
    assert_eq!(CieCode::UniqueAddressRegistered.value(), 14);
    assert_eq!(CieCode::from(11), CieCode::Unknown(11));
}

#[test]
fn unknown_compulsory_extension_is_reported_with_its_offset() {
    let mut r = Repr::resolution_request(v4(192, 0, 2, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 2), 1)
        .with_request_extensions(None, None)
        .with_extension(Extension {
            compulsory: false,
            unused_bit: false,
            ty: ExtensionType::Unknown(0x123),
            body: ExtensionBody::Raw(vec![1]),
        });
    assert!(
        r.first_unknown_compulsory().is_none(),
        "non-compulsory unknown is fine"
    );
    r.push_extension(Extension {
        compulsory: true,
        unused_bit: false,
        ty: ExtensionType::Unknown(0x77),
        body: ExtensionBody::Raw(vec![1, 2]),
    });
    let bytes = emit_and_check(&r);
    let parsed = Repr::parse(&bytes).unwrap();
    let (offset, ext) = parsed.first_unknown_compulsory().unwrap();
    assert_eq!(ext.type_field(), 0x8077);
    assert_eq!(&bytes[offset..offset + 6], &[0x80, 0x77, 0, 2, 1, 2]);
}

#[test]
fn vendor_private_and_rfc_authentication() {
    let auth = Authentication::Rfc2332 {
        reserved: 0,
        spi: 0x0102,
        src_addr: vec![10, 0, 0, 1],
        data: vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5],
    };
    let r = Repr::resolution_request(v4(192, 0, 2, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 2), 1)
        .with_extension(Extension::vendor_private([0x00, 0x00, 0x0c], vec![9, 9]))
        .with_extension(Extension::authentication(auth.clone()));
    let p = Repr::parse(&emit_and_check(&r)).unwrap();
    assert_eq!(p.authentication(), Some(&auth));
    let text = p.to_string();
    assert!(text.contains("OUI 00:00:0c"), "{text}");
    assert!(
        text.contains("RFC 2332, spi 258, src addr 10.0.0.1"),
        "{text}"
    );
}

#[test]
fn cisco_password_is_cut_to_8_bytes() {
    let e = Extension::cisco_auth(b"0123456789");
    assert_eq!(
        e.body,
        ExtensionBody::Authentication(Authentication::CiscoCleartext {
            password: b"01234567".to_vec()
        })
    );
}

#[test]
fn emit_refuses_unrepresentable_values() {
    let mut r = Repr::resolution_request(v4(192, 0, 2, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 2), 1);
    r.src_nbma.bytes = vec![0; 64];
    assert_eq!(
        r.to_bytes(),
        Err(dmvpn_wire::Error::TooLong {
            field: "src_nbma",
            len: 64,
            max: 63
        })
    );
    let mut r = Repr::resolution_request(v4(192, 0, 2, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 2), 1);
    r.padding = vec![0; 70000];
    assert!(matches!(
        r.to_bytes(),
        Err(dmvpn_wire::Error::TooLong {
            field: "ar$pktsz",
            ..
        })
    ));
    let r = Repr::resolution_request(v4(192, 0, 2, 1), v4(10, 0, 0, 1), v4(10, 0, 0, 2), 1);
    let mut small = [0u8; 10];
    assert_eq!(
        r.emit(&mut small),
        Err(dmvpn_wire::Error::BufferTooSmall {
            need: r.buffer_len(),
            have: 10
        })
    );
}

#[test]
fn display_is_readable() {
    let r = Repr::parse(&fixtures::frame("NHRP_registration.pcap", 1)).unwrap();
    let text = r.to_string();
    for needle in [
        "NHRP Registration Request (3), version 1, hop count 255, length 108, extoff 52, checksum 0x197b",
        "flags 0x8002 [U NAT], request id 1",
        "src nbma 169.254.100.1, src proto 155.1.0.1, dst proto 155.1.0.5",
        "CIE 1: code Success (0), prefix 32, mtu 17912, holding time 7200s",
        "Authentication (7) [type 0x8007, compulsory], length 12: Cisco cleartext (type 1), password \"NHRPAUTH\"",
        "Cisco NAT Address (9) [type 0x0009], length 20",
        "client nbma 169.254.100.5",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn sub_structure_helpers_round_trip() {
    let cie = Cie::client(v4(192, 0, 2, 9), v4(10, 0, 0, 9)).with_binding(24, 1400, 600);
    let bytes = cie.to_bytes().unwrap();
    assert_eq!(bytes.len(), cie.wire_len());
    assert_eq!(
        hex::encode(&bytes),
        "0018000005780258040004 00c00002090a000009".replace(' ', "")
    );
    assert_eq!(Cie::parse(&bytes, 0).unwrap(), (cie.clone(), 20));
    let auth = Authentication::CiscoCleartext {
        password: b"abc".to_vec(),
    };
    assert_eq!(auth.to_bytes(), b"\0\0\0\x01abc");
    assert_eq!(Authentication::parse(&auth.to_bytes(), 0, 4).unwrap(), auth);
    let ext = Extension::cisco_nat(vec![cie]);
    let eb = ext.to_bytes().unwrap();
    assert_eq!(&eb[..4], &[0x00, 0x09, 0x00, 0x14]);
    assert_eq!(ext.body.to_bytes().unwrap(), eb[4..].to_vec());
}

//! Golden vectors from real captures: every NHRP packet decodes, verifies its checksum and
//! re-encodes byte-identically; selected frames are checked field by field against the values
//! tcpdump's expected output and Wireshark show for them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixtures;

use std::net::{IpAddr, Ipv4Addr};

use dmvpn_wire::Error;
use dmvpn_wire::gre::EtherType;
use dmvpn_wire::nhrp::*;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn every_capture_packet_round_trips_byte_identically() {
    assert_eq!(
        fixtures::ALL.len(),
        36,
        "4 + 2 + 1 + 4 + 25 NHRP frames in the captures"
    );
    for (file, frame, hex) in fixtures::ALL {
        let bytes = fixtures::bytes(hex);
        let repr = Repr::parse(&bytes).unwrap_or_else(|e| panic!("{file} frame {frame}: {e}"));
        let out = repr
            .to_bytes()
            .unwrap_or_else(|e| panic!("{file} frame {frame}: {e}"));
        assert_eq!(
            hex::encode(&out),
            *hex,
            "{file} frame {frame} re-encodes identically"
        );
        assert_eq!(repr.buffer_len(), bytes.len());
        let d = Repr::decode(&bytes).unwrap();
        assert!(d.checksum_valid);
        assert_eq!(usize::from(d.packet_size), bytes.len());
        assert_eq!(
            d.extension_offset as usize,
            repr.extension_offset().unwrap_or(0)
        );
        // The view agrees with the Repr.
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.packet_type(), repr.packet_type);
        assert_eq!(p.src_nbma(), &repr.src_nbma.bytes[..]);
        assert_eq!(p.dst_proto(), repr.dst_proto.as_bytes());
        // Display never fails and names the type.
        assert!(repr.to_string().contains(repr.packet_type.name()));
    }
}

#[test]
fn cisco_registration_request_fields() {
    // NHRP_registration.pcap frame 1; tcpdump: "reg request, id 1, hopcnt 255, src nbma
    // 169.254.100.1, 155.1.0.1 -> 155.1.0.5 (code 0, pl 32, mtu 17912, htime 7200, pref 0)".
    let r = Repr::parse(&fixtures::frame("NHRP_registration.pcap", 1)).unwrap();
    assert_eq!(r.afn, AddressFamily::Ipv4);
    assert_eq!(r.protocol_type, EtherType::Ipv4);
    assert_eq!(r.hop_count, 255);
    assert_eq!(r.packet_type, PacketType::RegistrationRequest);
    assert_eq!(r.flags, Flags::REGISTRATION_U | Flags::CISCO_NAT);
    assert_eq!(r.flags.names(r.packet_type), vec!["U", "NAT"]);
    assert_eq!(r.request_id(), Some(1));
    assert_eq!(r.src_nbma.ip(), Some(v4(169, 254, 100, 1)));
    assert_eq!(r.src_proto.ip(), Some(v4(155, 1, 0, 1)));
    assert_eq!(r.dst_proto.ip(), Some(v4(155, 1, 0, 5)));
    assert_eq!(r.extension_offset(), Some(52));
    let [cie] = r.cies() else { panic!("one CIE") };
    assert_eq!(
        (
            cie.code,
            cie.prefix_len,
            cie.mtu,
            cie.holding_time,
            cie.preference
        ),
        (CieCode::Success, 32, 17912, 7200, 0)
    );
    assert!(cie.client_nbma.is_empty() && cie.client_proto.is_empty());
    let types: Vec<u16> = r.extensions.iter().map(Extension::type_field).collect();
    assert_eq!(types, vec![0x8003, 0x8004, 0x8005, 0x8007, 0x0009, 0x8000]);
    assert_eq!(
        r.authentication(),
        Some(&Authentication::CiscoCleartext {
            password: b"NHRPAUTH".to_vec()
        })
    );
    let nat = r.extension(ExtensionType::CiscoNat).unwrap();
    assert!(!nat.is_compulsory());
    let [nat_cie] = nat.cies() else {
        panic!("one NAT CIE")
    };
    assert_eq!(nat_cie.client_nbma.ip(), Some(v4(169, 254, 100, 5)));
    assert_eq!(nat_cie.client_proto.ip(), Some(v4(155, 1, 0, 5)));
    assert_eq!(nat_cie.prefix_len, 32);
    assert!(r.first_unknown_compulsory().is_none());
}

#[test]
fn cisco_registration_reply_fields() {
    let r = Repr::parse(&fixtures::frame("NHRP_registration.pcap", 2)).unwrap();
    assert_eq!(r.packet_type, PacketType::RegistrationReply);
    assert_eq!(r.request_id(), Some(1));
    let resp = r.extension(ExtensionType::ResponderAddress).unwrap();
    let [c] = resp.cies() else {
        panic!("responder CIE")
    };
    assert_eq!(c.client_nbma.ip(), Some(v4(169, 254, 100, 5)));
    assert_eq!(c.client_proto.ip(), Some(v4(155, 1, 0, 5)));
    assert_eq!((c.prefix_len, c.mtu, c.holding_time), (32, 17912, 7200));
}

#[test]
fn responder_address_through_routed_path() {
    let r = Repr::parse(&fixtures::frame("NHRP-responder-address.pcap", 2)).unwrap();
    let [c] = r.extension(ExtensionType::ResponderAddress).unwrap().cies() else {
        panic!()
    };
    assert_eq!(c.client_nbma.ip(), Some(v4(6, 6, 6, 6)));
    assert_eq!(c.client_proto.ip(), Some(v4(155, 1, 146, 6)));
    assert_eq!(r.request_id(), Some(300));
    assert_eq!(r.flags, Flags::CISCO_NAT);
}

#[test]
fn ios_registration_with_short_password_and_no_nat() {
    let r = Repr::parse(&fixtures::frame("ios_nhrp.pcap", 1)).unwrap();
    assert_eq!(r.request_id(), Some(5));
    assert_eq!(r.src_nbma.ip(), Some(v4(10, 0, 12, 2)));
    let [c] = r.cies() else { panic!() };
    assert_eq!((c.prefix_len, c.mtu, c.holding_time), (255, 1514, 30));
    assert_eq!(
        r.authentication(),
        Some(&Authentication::CiscoCleartext {
            password: b"CISCO".to_vec()
        })
    );
    assert!(r.extension(ExtensionType::CiscoNat).is_none());
}

#[test]
fn traffic_indication_fields() {
    // nhrp-trace.pcap frame 1: hub 192.168.200.1 redirects spoke 10.255.255.3.
    let r = Repr::parse(&fixtures::frame("nhrp-trace.pcap", 1)).unwrap();
    assert_eq!(r.packet_type, PacketType::TrafficIndication);
    assert_eq!(r.src_nbma.ip(), Some(v4(192, 168, 200, 1)));
    assert_eq!(r.src_proto.ip(), Some(v4(10, 255, 255, 1)));
    assert_eq!(r.dst_proto.ip(), Some(v4(10, 255, 255, 3)));
    let Body::TrafficIndication {
        code,
        unused,
        packet,
    } = &r.body
    else {
        panic!("TI body")
    };
    assert_eq!((*code, *unused), (TrafficCode::Redirect, 0));
    assert_eq!(packet.len(), 28);
    assert_eq!(packet[0], 0x45, "embedded IPv4 header");
    assert_eq!(&packet[12..20], &[10, 255, 255, 3, 10, 255, 255, 2]);
    assert_eq!(r.extension_offset(), Some(68));
    let nat = r.extension(ExtensionType::CiscoNat).unwrap();
    assert_eq!(nat.body, ExtensionBody::Cies(Vec::new()));
    assert_eq!(
        r.authentication(),
        Some(&Authentication::CiscoCleartext {
            password: b"secret".to_vec()
        })
    );
}

#[test]
fn resolution_request_forward_and_reply_fields() {
    let req = Repr::parse(&fixtures::frame("nhrp-trace.pcap", 2)).unwrap();
    assert_eq!(req.packet_type, PacketType::ResolutionRequest);
    assert_eq!(req.flags.0, 0xc802);
    assert_eq!(req.flags.names(req.packet_type), vec!["Q", "A", "S", "NAT"]);
    assert_eq!(req.request_id(), Some(5));
    let [c] = req.cies() else { panic!() };
    assert_eq!((c.prefix_len, c.mtu, c.holding_time), (0, 1514, 7200));

    let fwd = Repr::parse(&fixtures::frame("nhrp-trace.pcap", 3)).unwrap();
    assert_eq!(fwd.hop_count, 254);
    let [t] = fwd
        .extension(ExtensionType::ForwardTransitNhs)
        .unwrap()
        .cies()
    else {
        panic!()
    };
    assert_eq!(t.client_nbma.ip(), Some(v4(192, 168, 200, 1)));
    assert_eq!(t.client_proto.ip(), Some(v4(10, 255, 255, 1)));

    let reply = Repr::parse(&fixtures::frame("nhrp-trace.pcap", 4)).unwrap();
    assert_eq!(reply.packet_type, PacketType::ResolutionReply);
    assert_eq!(
        reply.flags.names(reply.packet_type),
        vec!["Q", "A", "D", "U", "S", "NAT"]
    );
    let [c] = reply.cies() else { panic!() };
    assert_eq!(c.prefix_len, 32);
    assert_eq!(c.client_nbma.ip(), Some(v4(192, 168, 200, 2)));
    assert_eq!(c.client_proto.ip(), Some(v4(10, 255, 255, 2)));
    let resp = reply.extension(ExtensionType::ResponderAddress).unwrap();
    assert_eq!(resp.cies()[0].client_proto.ip(), Some(v4(10, 255, 255, 2)));
}

#[test]
fn otus_registrations_to_two_hubs() {
    let r = Repr::parse(&fixtures::frame("nhrp.pcapng", 5)).unwrap();
    assert_eq!(r.dst_proto.ip(), Some(v4(10, 64, 0, 1)));
    assert_eq!(
        r.authentication(),
        Some(&Authentication::CiscoCleartext {
            password: b"OTUS".to_vec()
        })
    );
    assert_eq!(r.cies()[0].mtu, 17916);
}

#[test]
fn fuzzed_pb_nhrp_1_gives_a_clean_typed_error() {
    let bytes = fixtures::bytes(fixtures::PB_NHRP_1);
    let want = Error::Truncated {
        field: "packet",
        offset: 0,
        need: 30547,
        have: 40,
    };
    assert_eq!(Repr::parse(&bytes), Err(want.clone()));
    assert_eq!(Repr::decode(&bytes), Err(want.clone()));
    assert_eq!(Packet::new_checked(&bytes[..]).unwrap_err(), want);
    assert!(want.to_string().contains("packet"));
}

#[test]
fn bad_checksum_refused_by_parse_reported_by_decode() {
    let mut bytes = fixtures::frame("ios_nhrp.pcap", 1);
    bytes[9] = 200; // hop count changed without fixing ar$chksum
    assert!(matches!(
        Repr::parse(&bytes),
        Err(Error::Checksum {
            field: "ar$chksum",
            received: 0xe8e4,
            ..
        })
    ));
    let d = Repr::decode(&bytes).unwrap();
    assert!(!d.checksum_valid);
    assert_eq!(d.checksum, 0xe8e4);
    assert_eq!(d.repr.hop_count, 200);
    // The view can repair it the way a forwarding NHS does.
    let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
    p.fill_checksum();
    assert!(p.verify_checksum());
    assert_eq!(Repr::parse(&bytes).unwrap().hop_count, 200);
}

#[test]
fn link_padding_after_pktsz_is_ignored() {
    let mut bytes = fixtures::frame("ios_nhrp.pcap", 1);
    let n = bytes.len();
    bytes.extend_from_slice(&[0; 6]);
    let d = Repr::decode(&bytes).unwrap();
    assert_eq!(d.excess, 6);
    assert_eq!(d.repr.to_bytes().unwrap().len(), n);
}

#[test]
fn packet_view_deconstruct_and_construct() {
    let mut bytes = fixtures::frame("nhrp-trace.pcap", 4);
    {
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.afn(), AddressFamily::Ipv4);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.protocol_snap(), &[0; 5]);
        assert_eq!(p.hop_count(), 255);
        assert_eq!(p.packet_size(), 134);
        assert_eq!(p.checksum(), 0x659b);
        assert_eq!(p.extension_offset(), 60);
        assert_eq!(p.version(), 1);
        assert_eq!(p.packet_type(), PacketType::ResolutionReply);
        assert_eq!(
            (p.shtl(), p.sstl(), p.src_proto_len(), p.dst_proto_len()),
            (4, 0, 4, 4)
        );
        assert_eq!(p.flags().0, 0xf802);
        assert_eq!(p.request_id(), 5);
        assert_eq!(p.src_nbma(), &[192, 168, 200, 3]);
        assert!(p.src_nbma_subaddr().is_empty());
        assert_eq!(p.src_proto(), &[10, 255, 255, 3]);
        assert_eq!(p.dst_proto(), &[10, 255, 255, 2]);
        assert_eq!(p.addresses_end(), 40);
    }
    // A forwarding NHS rewrites the hop count and fixes the checksum in place.
    let mut p = Packet::new_checked(&mut bytes[..]).unwrap();
    p.set_hop_count(254);
    p.set_request_id(6);
    p.set_flags(Flags(0x8002));
    p.fill_checksum();
    let r = Repr::parse(&bytes).unwrap();
    assert_eq!(
        (r.hop_count, r.request_id(), r.flags.0),
        (254, Some(6), 0x8002)
    );
}

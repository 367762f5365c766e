//! Malformed input: every length and validity check gives a typed error naming the field and
//! the byte offset. Mutations start from ios_nhrp.pcap frame 1, whose layout is:
//! fixed header 0..20, mandatory 20..28, addresses 28..40, CIE 40..52, extensions 52..81
//! (responder 52, forward 56, reverse 60, auth 64..77, End 77), ar$pktsz 81.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod fixtures;

use dmvpn_wire::Error;
use dmvpn_wire::nhrp::*;

fn base() -> Vec<u8> {
    fixtures::frame("ios_nhrp.pcap", 1)
}

fn with(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = base();
    f(&mut b);
    b
}

fn set16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

fn err(bytes: &[u8]) -> Error {
    let e = Repr::decode(bytes).expect_err("must be refused");
    // The engine entry point refuses it with the same error (structure is checked first).
    assert_eq!(Repr::parse(bytes).unwrap_err(), e);
    e
}

fn truncated(field: &'static str, offset: usize, need: usize, have: usize) -> Error {
    Error::Truncated {
        field,
        offset,
        need,
        have,
    }
}

#[test]
fn layout_of_the_base_packet() {
    let r = Repr::parse(&base()).unwrap();
    assert_eq!(r.buffer_len(), 81);
    assert_eq!(r.extension_offset(), Some(52));
    let offsets: Vec<usize> = r
        .extensions_with_offsets()
        .iter()
        .map(|(o, _)| *o)
        .collect();
    assert_eq!(offsets, vec![52, 56, 60, 64, 77]);
}

#[test]
fn fixed_header_truncated() {
    assert_eq!(err(&base()[..19]), truncated("fixed_header", 0, 20, 19));
    assert_eq!(err(&[]), truncated("fixed_header", 0, 20, 0));
}

#[test]
fn packet_size_checks() {
    assert!(matches!(
        err(&with(|b| set16(b, 10, 27))),
        Error::Invalid {
            field: "ar$pktsz",
            offset: 10,
            ..
        }
    ));
    assert_eq!(
        err(&with(|b| set16(b, 10, 82))),
        truncated("packet", 0, 82, 81)
    );
}

#[test]
fn version_must_be_1() {
    assert_eq!(
        err(&with(|b| b[16] = 2)),
        Error::Unsupported {
            field: "ar$op.version",
            offset: 16,
            value: 2
        }
    );
}

#[test]
fn nbma_type_length_reserved_bit() {
    assert!(matches!(
        err(&with(|b| b[18] = 0x84)),
        Error::Invalid {
            field: "ar$shtl",
            offset: 18,
            ..
        }
    ));
    assert!(matches!(
        err(&with(|b| b[19] = 0x80)),
        Error::Invalid {
            field: "ar$sstl",
            offset: 19,
            ..
        }
    ));
}

#[test]
fn addresses_truncated() {
    assert_eq!(
        err(&with(|b| b[18] = 0x3f)),
        truncated("src_nbma", 28, 63, 53)
    );
    assert_eq!(
        err(&with(|b| b[19] = 60)),
        truncated("src_nbma_subaddr", 32, 60, 49)
    );
    assert_eq!(
        err(&with(|b| b[20] = 200)),
        truncated("src_proto", 32, 200, 49)
    );
    assert_eq!(
        err(&with(|b| b[21] = 200)),
        truncated("dst_proto", 36, 200, 45)
    );
}

#[test]
fn extension_offset_checks() {
    assert!(
        matches!(err(&with(|b| set16(b, 14, 30))), Error::Invalid { field: "ar$extoff", offset: 14, reason } if reason.contains("inside"))
    );
    assert!(
        matches!(err(&with(|b| set16(b, 14, 90))), Error::Invalid { field: "ar$extoff", offset: 14, reason } if reason.contains("beyond"))
    );
}

#[test]
fn cie_addresses_truncated_and_reserved_bit() {
    assert_eq!(
        err(&with(|b| b[48] = 4)),
        truncated("cie.client_nbma", 52, 4, 0)
    );
    assert_eq!(
        err(&with(|b| b[49] = 1)),
        truncated("cie.client_nbma_subaddr", 52, 1, 0)
    );
    assert_eq!(
        err(&with(|b| b[50] = 16)),
        truncated("cie.client_proto", 52, 16, 0)
    );
    assert!(matches!(
        err(&with(|b| b[48] = 0x80)),
        Error::Invalid {
            field: "cie.client_nbma_tl",
            offset: 48,
            ..
        }
    ));
}

#[test]
fn short_tail_of_cie_area_is_kept_as_padding() {
    // ar$extoff moved 4 bytes later: those bytes (the empty Responder Address) are fewer than
    // a CIE header, so they are padding, and the packet still round-trips.
    let b = with(|b| set16(b, 14, 56));
    let d = Repr::decode(&b).unwrap();
    assert_eq!(d.repr.padding, vec![0x80, 0x03, 0, 0]);
    let mut fixed = b.clone();
    let mut p = Packet::new_checked(&mut fixed[..]).unwrap();
    p.fill_checksum();
    assert_eq!(Repr::parse(&fixed).unwrap().to_bytes().unwrap(), fixed);
}

#[test]
fn extension_checks() {
    assert_eq!(
        err(&with(|b| set16(b, 54, 0x30))),
        truncated("extension.value", 56, 48, 25)
    );
    // Responder Address of length 4 holds a partial CIE.
    assert_eq!(err(&with(|b| set16(b, 54, 4))), truncated("cie", 56, 12, 4));
    // Packet cut 2 bytes into the extension area.
    assert_eq!(
        err(&with(|b| set16(b, 10, 54))),
        truncated("extension.length", 54, 2, 0)
    );
}

#[test]
fn standalone_cie_list_parser() {
    // A CIE announcing a 4-byte NBMA address with only 1 byte left, placed at offset 45.
    let cie = [0, 32, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 10];
    assert_eq!(
        parse_cies(&cie, 45),
        Err(truncated("cie.client_nbma", 57, 4, 1))
    );
    assert_eq!(
        parse_cies(&cie[..5], 100),
        Err(truncated("cie", 100, 12, 5))
    );
    assert_eq!(parse_cies(&[], 0), Ok(vec![]));
}

#[test]
fn standalone_extension_parser() {
    assert_eq!(
        parse_extensions(&[0, 8, 0, 2, 0, 0], 100, 4),
        Err(truncated("vendor_private.oui", 104, 3, 2))
    );
    assert_eq!(
        parse_extensions(&[0x80, 7, 0, 2, 0, 0], 0, 4),
        Err(truncated("auth.spi", 6, 2, 0))
    );
    assert_eq!(
        parse_extensions(&[0x80, 7, 0, 6, 0, 0, 0, 2, 10, 0], 0, 4),
        Err(truncated("auth.src_addr", 8, 4, 2))
    );
    assert_eq!(
        parse_extensions(&[0x80], 7, 4),
        Err(truncated("extension.type", 7, 2, 1))
    );
    // Type 9 of length 8 is RFC 2735 Device Capabilities.
    let list = parse_extensions(
        &[0, 9, 0, 8, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0, 0, 0, 0xaa],
        0,
        4,
    )
    .unwrap();
    assert_eq!(
        list.extensions[0].body,
        ExtensionBody::DeviceCapabilities {
            source: 1,
            destination: 2
        }
    );
    assert_eq!(list.extensions[1].ty, ExtensionType::End);
    assert_eq!(list.trailing, vec![0xaa]);
}

#[test]
fn packet_view_checks() {
    assert_eq!(
        Packet::new_checked(&base()[..10]).unwrap_err(),
        truncated("fixed_header", 0, 20, 10)
    );
    assert_eq!(
        Packet::new_checked(&base()[..25]).unwrap_err(),
        truncated("mandatory_header", 20, 8, 5)
    );
    assert_eq!(
        Packet::new_checked(&with(|b| b[21] = 200)[..]).unwrap_err(),
        truncated("addresses", 28, 208, 53)
    );
    // Getters never panic even on an unchecked short buffer.
    let p = Packet::new_unchecked(&[1u8, 2, 3][..]);
    assert_eq!(
        (p.packet_size(), p.request_id(), p.src_nbma().len()),
        (0, 0, 0)
    );
    assert!(!p.verify_checksum());
}

#[test]
fn raw_view_display_of_a_refused_packet() {
    let bytes = fixtures::bytes(fixtures::PB_NHRP_1);
    let text = Packet::new_unchecked(&bytes[..]).to_string();
    assert!(
        text.starts_with("NHRP (raw) afn 0x5dc9, pro.type 0x007b, hopcnt 103, pktsz 30547"),
        "{text}"
    );
    assert!(text.contains("type 1"), "{text}");
    let short = Packet::new_unchecked(&bytes[..5]).to_string();
    assert!(short.ends_with("[truncated: 5 bytes]"), "{short}");
}

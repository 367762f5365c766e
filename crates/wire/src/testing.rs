//! Proptest strategies for every `Repr` in this crate (enabled in tests and by the `proptest`
//! feature, so other crates' tests can generate packets too).
//!
//! Every generated value satisfies `parse(emit(x)) == x`: the strategies only produce values
//! that parsing can produce (e.g. CIE padding shorter than a CIE header, End only last, auth
//! payloads that cannot be mistaken for the other format).

use proptest::collection::vec;
use proptest::prelude::*;

use crate::gre;
use crate::nhrp::*;

/// Any GRE header.
pub fn gre_repr() -> impl Strategy<Value = gre::Repr> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(c, key, sequence, proto, r0)| gre::Repr {
            checksum: c.map(|reserved1| gre::ChecksumField { reserved1 }),
            key,
            sequence,
            protocol: gre::EtherType::from(proto),
            reserved0: r0 & gre::flags::RESERVED0,
        })
}

/// Any NBMA address of up to `max` bytes (`max` ≤ 63).
pub fn nbma_address(max: usize) -> impl Strategy<Value = NbmaAddress> {
    (any::<bool>(), vec(any::<u8>(), 0..=max)).prop_map(|(e164, bytes)| NbmaAddress { e164, bytes })
}

/// An IPv4 or IPv6 (or empty) NBMA address: what real packets carry.
pub fn ip_nbma_address() -> impl Strategy<Value = NbmaAddress> {
    prop_oneof![Just(0usize), Just(4), Just(16)]
        .prop_flat_map(|n| vec(any::<u8>(), n).prop_map(|bytes| NbmaAddress { e164: false, bytes }))
}

/// A protocol address of 0, 4 or 16 bytes.
pub fn protocol_address() -> impl Strategy<Value = ProtocolAddress> {
    prop_oneof![Just(0usize), Just(4), Just(16)]
        .prop_flat_map(|n| vec(any::<u8>(), n).prop_map(ProtocolAddress))
}

/// Any CIE (addresses of realistic and odd lengths).
pub fn cie() -> impl Strategy<Value = Cie> {
    (
        (
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
        ),
        prop_oneof![ip_nbma_address(), nbma_address(20)],
        nbma_address(6),
        prop_oneof![
            protocol_address(),
            vec(any::<u8>(), 0..20).prop_map(ProtocolAddress)
        ],
        any::<u8>(),
    )
        .prop_map(
            |(
                (code, prefix_len, unused, mtu, holding_time),
                client_nbma,
                client_nbma_subaddr,
                client_proto,
                preference,
            )| Cie {
                code: CieCode::from(code),
                prefix_len,
                unused,
                mtu,
                holding_time,
                client_nbma,
                client_nbma_subaddr,
                client_proto,
                preference,
            },
        )
}

/// Authentication payload for a packet whose source protocol address is `spl` bytes long.
pub fn authentication(spl: usize) -> impl Strategy<Value = Authentication> {
    prop_oneof![
        vec(any::<u8>(), 0..=CISCO_PASSWORD_MAX)
            .prop_map(|password| Authentication::CiscoCleartext { password }),
        (
            any::<u16>(),
            any::<u16>(),
            vec(any::<u8>(), spl),
            vec(any::<u8>(), 0..24)
        )
            .prop_filter("would parse as Cisco cleartext", |(reserved, spi, _, _)| {
                !(*reserved == 0 && *spi == 1)
            })
            .prop_map(|(reserved, spi, src_addr, data)| Authentication::Rfc2332 {
                reserved,
                spi,
                src_addr,
                data
            }),
    ]
}

/// Any extension other than End, for a packet whose source protocol address is `spl` bytes.
pub fn extension(spl: usize) -> impl Strategy<Value = Extension> {
    let body = prop_oneof![
        (
            prop_oneof![Just(3u16), Just(4), Just(5), Just(9)],
            vec(cie(), 0..3)
        )
            .prop_map(|(t, c)| (ExtensionType::from(t), ExtensionBody::Cies(c))),
        authentication(spl).prop_map(|a| (
            ExtensionType::Authentication,
            ExtensionBody::Authentication(a)
        )),
        (any::<[u8; 3]>(), vec(any::<u8>(), 0..16)).prop_map(|(oui, data)| (
            ExtensionType::VendorPrivate,
            ExtensionBody::VendorPrivate { oui, data }
        )),
        (any::<u32>(), any::<u32>()).prop_map(|(source, destination)| (
            ExtensionType::CiscoNat,
            ExtensionBody::DeviceCapabilities {
                source,
                destination
            }
        )),
        (1u16..0x4000, vec(any::<u8>(), 0..16))
            .prop_filter("known type", |(t, _)| !ExtensionType::from(*t).is_known())
            .prop_map(|(t, b)| (ExtensionType::Unknown(t), ExtensionBody::Raw(b))),
    ];
    (any::<bool>(), any::<bool>(), body).prop_map(|(compulsory, unused_bit, (ty, body))| {
        Extension {
            compulsory,
            unused_bit,
            ty,
            body,
        }
    })
}

fn body_for(ty: PacketType) -> BoxedStrategy<(Body, Vec<u8>)> {
    match ty {
        PacketType::ErrorIndication => (any::<u16>(), any::<u16>(), vec(any::<u8>(), 0..64))
            .prop_map(|(c, offset, packet)| {
                (
                    Body::ErrorIndication {
                        code: ErrorCode::from(c),
                        offset,
                        packet,
                    },
                    Vec::new(),
                )
            })
            .boxed(),
        PacketType::TrafficIndication => (any::<u16>(), any::<u16>(), vec(any::<u8>(), 0..64))
            .prop_map(|(c, unused, packet)| {
                (
                    Body::TrafficIndication {
                        code: TrafficCode::from(c),
                        unused,
                        packet,
                    },
                    Vec::new(),
                )
            })
            .boxed(),
        t if t.has_cies() => (
            any::<u32>(),
            vec(cie(), 0..4),
            vec(any::<u8>(), 0..CIE_HEADER_LEN),
        )
            .prop_map(|(request_id, cies, padding)| (Body::Cies { request_id, cies }, padding))
            .boxed(),
        _ => (any::<u32>(), vec(any::<u8>(), 0..32))
            .prop_map(|(word, payload)| (Body::Unknown { word, payload }, Vec::new()))
            .boxed(),
    }
}

/// Any NHRP packet that this crate can emit and parse back to the same value.
pub fn nhrp_repr() -> impl Strategy<Value = Repr> {
    let header = (
        any::<u16>(),
        any::<u16>(),
        any::<[u8; 5]>(),
        any::<u8>(),
        prop_oneof![(1u8..=8).boxed(), (9u8..=255).boxed(), Just(0u8).boxed()],
        prop_oneof![ip_nbma_address(), nbma_address(NBMA_ADDRESS_MAX)],
        nbma_address(8),
        protocol_address(),
        protocol_address(),
        any::<u16>(),
    );
    header.prop_flat_map(
        |(afn, pro, snap, hop, ty, src_nbma, sub, src_proto, dst_proto, flags)| {
            let ty = PacketType::from(ty);
            let spl = src_proto.0.len();
            (
                body_for(ty),
                vec(extension(spl), 0..5),
                any::<bool>(),
                vec(any::<u8>(), 0..4),
                vec(any::<u8>(), 0..8),
                any::<bool>(),
            )
                .prop_map(
                    move |(
                        (body, padding),
                        mut extensions,
                        end,
                        end_body,
                        trailing,
                        empty_area,
                    )| {
                        let mut trailing = trailing;
                        if end {
                            extensions.push(Extension {
                                compulsory: true,
                                unused_bit: false,
                                ty: ExtensionType::End,
                                body: ExtensionBody::Raw(end_body),
                            });
                        } else {
                            trailing.clear();
                        }
                        let empty_extension_area = empty_area && extensions.is_empty();
                        Repr {
                            afn: AddressFamily::from(afn),
                            protocol_type: crate::gre::EtherType::from(pro),
                            protocol_snap: snap,
                            hop_count: hop,
                            version: VERSION,
                            packet_type: ty,
                            src_nbma: src_nbma.clone(),
                            src_nbma_subaddr: sub.clone(),
                            src_proto: src_proto.clone(),
                            dst_proto: dst_proto.clone(),
                            flags: Flags(flags),
                            body,
                            padding,
                            extensions,
                            trailing,
                            empty_extension_area,
                        }
                    },
                )
        },
    )
}

#[cfg(test)]
#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;

    use super::fixtures;

    /// `bytes[..pktsz]` with `ar$chksum` replaced by what emit writes: the bytes a lossless
    /// re-encoding of `bytes` must produce.
    fn expected_reencoding(bytes: &[u8], pktsz: usize) -> Vec<u8> {
        let mut want = bytes[..pktsz].to_vec();
        want[12..14].copy_from_slice(&[0, 0]);
        let c = crate::internet_checksum(&want);
        want[12..14].copy_from_slice(&c.to_be_bytes());
        want
    }

    fn check_lossless(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(d) = Repr::decode(bytes) {
            let out = d.repr.to_bytes();
            prop_assert!(out.is_ok(), "a parsed packet must be emittable: {:?}", out);
            prop_assert_eq!(
                out.unwrap_or_default(),
                expected_reencoding(bytes, usize::from(d.packet_size))
            );
            let _ = d.repr.to_string();
        }
        Ok(())
    }

    proptest! {
        // 2000 cases by default; PROPTEST_CASES overrides (e.g. for a long soak).
        #![proptest_config(ProptestConfig {
            cases: if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default().cases } else { 2000 },
            ..ProptestConfig::default()
        })]

        #[test]
        fn nhrp_parse_emit_round_trip(repr in nhrp_repr()) {
            let bytes = repr.to_bytes().expect("generated packets fit");
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            let parsed = Repr::parse(&bytes);
            prop_assert_eq!(parsed.as_ref(), Ok(&repr));
            let _ = repr.to_string();
        }

        #[test]
        fn gre_parse_emit_round_trip(repr in gre_repr(), payload in vec(any::<u8>(), 0..64)) {
            let bytes = repr.to_bytes(&payload);
            let (parsed, p) = gre::Repr::parse_bytes(&bytes).expect("generated GRE parses");
            prop_assert_eq!(parsed, repr);
            prop_assert_eq!(p, &payload[..]);
            let _ = repr.to_string();
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_what_parses_re_encodes(bytes in vec(any::<u8>(), 0..200)) {
            check_lossless(&bytes)?;
            let _ = Repr::parse(&bytes);
            let _ = parse_cies(&bytes, 0);
            let _ = parse_extensions(&bytes, 0, 4);
            let _ = gre::Repr::parse_bytes(&bytes);
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = (p.src_nbma(), p.dst_proto(), p.verify_checksum(), p.check_len());
        }

        #[test]
        fn mutated_capture_packets_never_panic_and_re_encode(
            which in 0..fixtures::ALL.len(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = fixtures::bytes(fixtures::ALL[which].2);
            for (at, v) in edits {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            check_lossless(&bytes)?;
            let short = &bytes[..cut.index(bytes.len() + 1)];
            check_lossless(short)?;
        }

        #[test]
        fn generated_packets_survive_mutation(repr in nhrp_repr(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
            let mut bytes = repr.to_bytes().expect("generated packets fit");
            let i = at.index(bytes.len());
            bytes[i] = v;
            check_lossless(&bytes)?;
        }
    }
}

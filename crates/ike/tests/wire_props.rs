//! Property tests of the public IKEv2 wire module: every `Repr` round trips (emit → parse
//! gives the same value, and emitting that again gives the same bytes), and no input —
//! arbitrary bytes, or a valid message with bytes changed — makes a parser or a view panic;
//! a mutated message that still parses re-emits byte for byte. Fixed seeds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod wire_support;

use dmvpn_ike::wire::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::net::{Ipv4Addr, Ipv6Addr};

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn attribute() -> impl Strategy<Value = AttributeRepr> {
    prop_oneof![
        (0u16..0x8000, any::<u16>()).prop_map(|(attribute_type, value)| AttributeRepr::Tv {
            attribute_type,
            value
        }),
        (0u16..0x8000, bytes(8)).prop_map(|(attribute_type, value)| AttributeRepr::Tlv {
            attribute_type,
            value
        }),
    ]
}

fn transform() -> impl Strategy<Value = TransformRepr> {
    (
        any::<u8>(),
        any::<u16>(),
        vec(attribute(), 0..3),
        any::<[u8; 2]>(),
    )
        .prop_map(|(t, id, attributes, reserved)| TransformRepr {
            transform_type: TransformType::from(t),
            id,
            attributes,
            reserved,
        })
}

fn proposal() -> impl Strategy<Value = ProposalRepr> {
    (
        any::<u8>(),
        any::<u8>(),
        bytes(8),
        vec(transform(), 0..5),
        any::<u8>(),
    )
        .prop_map(|(number, p, spi, transforms, reserved)| ProposalRepr {
            number,
            protocol: ProtocolId::from(p),
            spi,
            transforms,
            reserved,
        })
}

fn sa() -> impl Strategy<Value = SaRepr> {
    vec(proposal(), 1..4).prop_map(|proposals| SaRepr { proposals })
}

fn ke() -> impl Strategy<Value = KeRepr> {
    (any::<u16>(), bytes(64), any::<u16>()).prop_map(|(group, data, reserved)| KeRepr {
        group,
        data,
        reserved,
    })
}

fn id() -> impl Strategy<Value = IdentificationRepr> {
    (any::<u8>(), bytes(32), any::<[u8; 3]>()).prop_map(|(t, data, reserved)| IdentificationRepr {
        id_type: IdType::from(t),
        data,
        reserved,
    })
}

fn auth() -> impl Strategy<Value = AuthenticationRepr> {
    (any::<u8>(), bytes(48), any::<[u8; 3]>()).prop_map(|(m, data, reserved)| AuthenticationRepr {
        method: AuthMethod::from(m),
        data,
        reserved,
    })
}

fn nonce() -> impl Strategy<Value = NonceRepr> {
    vec(any::<u8>(), MIN_NONCE_LEN..=MAX_NONCE_LEN).prop_map(|nonce| NonceRepr { nonce })
}

fn notify() -> impl Strategy<Value = NotifyRepr> {
    (any::<u8>(), any::<u16>(), bytes(8), bytes(32)).prop_map(|(p, t, spi, data)| NotifyRepr {
        protocol: ProtocolId::from(p),
        notify_type: NotifyType::from(t),
        spi,
        data,
    })
}

fn delete() -> impl Strategy<Value = DeleteRepr> {
    (any::<u8>(), 0u8..=8).prop_flat_map(|(p, size)| {
        let protocol = ProtocolId::from(p);
        if size == 0 {
            any::<u16>()
                .prop_map(move |n| DeleteRepr {
                    protocol,
                    spi_size: 0,
                    empty_count: n,
                    spis: vec![],
                })
                .boxed()
        } else {
            vec(vec(any::<u8>(), usize::from(size)), 0..4)
                .prop_map(move |spis| DeleteRepr {
                    protocol,
                    spi_size: size,
                    empty_count: 0,
                    spis,
                })
                .boxed()
        }
    })
}

fn selector() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(protocol, start_port, end_port, s, e)| TrafficSelector::Ipv4 {
                    protocol,
                    start_port,
                    end_port,
                    start: Ipv4Addr::from(s),
                    end: Ipv4Addr::from(e),
                }
            ),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            any::<u128>(),
            any::<u128>()
        )
            .prop_map(
                |(protocol, start_port, end_port, s, e)| TrafficSelector::Ipv6 {
                    protocol,
                    start_port,
                    end_port,
                    start: Ipv6Addr::from(s),
                    end: Ipv6Addr::from(e),
                }
            ),
        (
            any::<u8>().prop_filter("unknown TS types", |t| !matches!(t, 7 | 8)),
            any::<u8>(),
            bytes(12)
        )
            .prop_map(|(ts_type, protocol, data)| TrafficSelector::Other {
                ts_type,
                protocol,
                data
            }),
    ]
}

fn ts() -> impl Strategy<Value = TrafficSelectorsRepr> {
    (vec(selector(), 0..4), any::<[u8; 3]>()).prop_map(|(selectors, reserved)| {
        TrafficSelectorsRepr {
            selectors,
            reserved,
        }
    })
}

fn vendor_id() -> impl Strategy<Value = VendorIdRepr> {
    bytes(32).prop_map(|id| VendorIdRepr { id })
}

fn opaque() -> impl Strategy<Value = PayloadBody> {
    let types = prop_oneof![
        Just(PayloadType::Cert),
        Just(PayloadType::CertReq),
        Just(PayloadType::Configuration),
        Just(PayloadType::Eap),
        (1u8..=255)
            .prop_map(PayloadType::from)
            .prop_filter("unassigned", |t| matches!(t, PayloadType::Unknown(_))),
    ];
    (types, bytes(24)).prop_map(|(payload_type, body)| PayloadBody::Opaque { payload_type, body })
}

fn encrypted() -> impl Strategy<Value = PayloadBody> {
    prop_oneof![
        (any::<u8>(), bytes(64)).prop_map(|(t, content)| PayloadBody::Encrypted(EncryptedRepr {
            first_inner: PayloadType::from(t),
            content
        })),
        (any::<u8>(), 1u16..=u16::MAX, bytes(64))
            .prop_flat_map(|(t, total, content)| (Just(t), 1..=total, Just(total), Just(content)))
            .prop_map(|(t, number, total, content)| {
                PayloadBody::EncryptedFragment(EncryptedFragmentRepr {
                    first_inner: PayloadType::from(t),
                    number,
                    total,
                    content,
                })
            }),
    ]
}

/// Any payload body that may appear before the end of a chain.
fn plain_body() -> impl Strategy<Value = PayloadBody> {
    prop_oneof![
        sa().prop_map(PayloadBody::Sa),
        ke().prop_map(PayloadBody::Ke),
        id().prop_map(PayloadBody::IdI),
        id().prop_map(PayloadBody::IdR),
        auth().prop_map(PayloadBody::Auth),
        nonce().prop_map(PayloadBody::Nonce),
        notify().prop_map(PayloadBody::Notify),
        delete().prop_map(PayloadBody::Delete),
        vendor_id().prop_map(PayloadBody::VendorId),
        ts().prop_map(PayloadBody::TsI),
        ts().prop_map(PayloadBody::TsR),
        opaque(),
    ]
}

fn payload(body: impl Strategy<Value = PayloadBody>) -> impl Strategy<Value = PayloadRepr> {
    (any::<bool>(), 0u8..0x80, body).prop_map(|(critical, reserved, body)| PayloadRepr {
        critical,
        reserved,
        body,
    })
}

fn header() -> impl Strategy<Value = HeaderRepr> {
    (
        any::<u64>(),
        any::<u64>(),
        0u8..16,
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(
            |(spi_i, spi_r, minor_version, x, flags, message_id)| HeaderRepr {
                spi_i,
                spi_r,
                next_payload: PayloadType::NoNext,
                minor_version,
                exchange_type: ExchangeType::from(x),
                flags: Flags(flags),
                message_id,
            },
        )
}

fn message() -> impl Strategy<Value = MessageRepr> {
    (
        header(),
        vec(payload(plain_body()), 0..6),
        proptest::option::of(payload(encrypted())),
    )
        .prop_map(|(h, mut payloads, sk)| {
            payloads.extend(sk);
            MessageRepr::new(h, payloads)
        })
}

/// Emits one payload alone, walks it back, and checks value and bytes.
fn payload_round_trip(p: &PayloadRepr) -> std::result::Result<(), TestCaseError> {
    let mut buf = vec![0; p.buffer_len()];
    let n = p
        .emit(&mut buf, PayloadType::NoNext)
        .expect("generated payloads emit");
    prop_assert_eq!(n, buf.len());
    let raws: Vec<_> = Payloads::new(p.payload_type(), &buf, 0).collect();
    prop_assert_eq!(raws.len(), 1);
    let raw = raws[0].expect("one payload");
    let back = PayloadRepr::parse(&raw).expect("emitted payloads parse");
    prop_assert_eq!(&back, p);
    let mut again = vec![0; back.buffer_len()];
    back.emit(&mut again, PayloadType::NoNext).unwrap();
    prop_assert_eq!(again, buf);
    Ok(())
}

proptest! {
    #![proptest_config(config(512, 0x1d2e_0001))]

    #[test]
    fn sa_round_trips(p in payload(sa().prop_map(PayloadBody::Sa))) {
        payload_round_trip(&p)?;
        // And straight through the SA view.
        let PayloadBody::Sa(sa) = &p.body else { unreachable!() };
        let mut buf = vec![0; sa.buffer_len()];
        p.emit(&mut buf, PayloadType::NoNext).unwrap();
        let view = Sa::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(&SaRepr::parse(&view).unwrap(), sa);
        prop_assert_eq!(view.proposals().count(), sa.proposals.len());
    }

    #[test]
    fn ke_round_trips(p in payload(ke().prop_map(PayloadBody::Ke))) {
        payload_round_trip(&p)?;
    }

    #[test]
    fn id_and_auth_round_trip(
        i in payload(id().prop_map(PayloadBody::IdI)),
        r in payload(id().prop_map(PayloadBody::IdR)),
        a in payload(auth().prop_map(PayloadBody::Auth)),
    ) {
        payload_round_trip(&i)?;
        payload_round_trip(&r)?;
        payload_round_trip(&a)?;
    }

    #[test]
    fn nonce_notify_delete_vendor_round_trip(
        n in payload(nonce().prop_map(PayloadBody::Nonce)),
        no in payload(notify().prop_map(PayloadBody::Notify)),
        d in payload(delete().prop_map(PayloadBody::Delete)),
        v in payload(vendor_id().prop_map(PayloadBody::VendorId)),
    ) {
        payload_round_trip(&n)?;
        payload_round_trip(&no)?;
        payload_round_trip(&d)?;
        payload_round_trip(&v)?;
    }

    #[test]
    fn ts_round_trips(
        i in payload(ts().prop_map(PayloadBody::TsI)),
        r in payload(ts().prop_map(PayloadBody::TsR)),
    ) {
        payload_round_trip(&i)?;
        payload_round_trip(&r)?;
    }

    #[test]
    fn sk_skf_and_opaque_round_trip(e in payload(encrypted()), o in payload(opaque())) {
        payload_round_trip(&e)?;
        payload_round_trip(&o)?;
    }

    #[test]
    fn header_round_trips(h in header(), body_len in 0usize..2000) {
        let mut buf = vec![0; HEADER_LEN + body_len];
        prop_assert_eq!(h.emit(&mut buf, body_len), Ok(HEADER_LEN));
        let view = Header::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(view.length() as usize, buf.len());
        let back = HeaderRepr::parse(&view).unwrap();
        prop_assert_eq!(back, h);
        let mut again = vec![0; buf.len()];
        back.emit(&mut again, body_len).unwrap();
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn messages_round_trip(m in message()) {
        let bytes = m.to_bytes().expect("generated messages emit");
        prop_assert_eq!(bytes.len(), m.buffer_len());
        let back = MessageRepr::parse(&bytes).expect("emitted messages parse");
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.to_bytes().unwrap(), bytes.clone());
        // The views agree with the Repr.
        let view = Header::new_checked(&bytes[..]).unwrap();
        let raws: Vec<_> = view.payloads().map(|r| r.unwrap()).collect();
        prop_assert_eq!(raws.len(), m.payloads.len());
        wire_support::walk_all(&bytes);
    }
}

proptest! {
    #![proptest_config(config(4096, 0x1d2e_0002))]

    #[test]
    fn arbitrary_bytes_never_panic(b in bytes(600)) {
        let _ = MessageRepr::parse(&b);
        wire_support::walk_all(&b);
        wire_support::walk_payload_views(&b);
        // Again with a plausible header: IKEv2 and a Length that matches.
        if b.len() >= HEADER_LEN {
            let mut fixed = b.clone();
            fixed[17] = 0x20;
            let len = (fixed.len() as u32).to_be_bytes();
            fixed[24..28].copy_from_slice(&len);
            if let Ok(m) = MessageRepr::parse(&fixed) {
                prop_assert_eq!(m.to_bytes().unwrap(), fixed.clone());
            }
            wire_support::walk_all(&fixed);
        }
    }

    #[test]
    fn mutated_messages_never_panic(
        m in message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut b = m.to_bytes().unwrap();
        for (at, v) in edits {
            let i = at.index(b.len());
            b[i] = v;
        }
        if let Ok(back) = MessageRepr::parse(&b) {
            prop_assert_eq!(back.to_bytes().unwrap(), b.clone());
        }
        wire_support::walk_all(&b);
    }
}

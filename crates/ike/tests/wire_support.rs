//! Shared by the wire tests and the `ike_wire` fuzz target: read every field of every view
//! the bytes allow, walk every list, and parse every `Repr`, so that a panic anywhere in
//! the wire module's read side shows up. Nothing here asserts on the values; the callers
//! do. (As a test target of its own it checks that a few odd inputs walk cleanly.)

#![allow(dead_code)]

use dmvpn_ike::wire::*;

/// Walks a whole message: header view, header Repr, the payload chain, each payload's
/// views and Repr, and the message Repr. Returns the number of payloads walked.
pub fn walk_all(bytes: &[u8]) -> usize {
    let _ = MessageRepr::parse(bytes);
    let h = Header::new_unchecked(bytes);
    let _ = (h.version(), h.major_version(), h.exchange_type(), h.flags());
    let _ = HeaderRepr::parse(&h);
    let Ok(h) = Header::new_checked(bytes) else {
        return 0;
    };
    let _ = (
        h.spi_i(),
        h.spi_r(),
        h.next_payload(),
        h.minor_version(),
        h.message_id(),
        h.length(),
        h.message().len(),
        h.payload_bytes().len(),
    );
    let mut n = 0;
    for raw in h.payloads() {
        let Ok(raw) = raw else { break };
        n += 1;
        let _ = PayloadRepr::parse(&raw);
        walk_payload_views(raw.bytes);
    }
    n
}

/// Tries every payload view on `bytes` (a payload, generic header first) and reads what
/// each one that accepts it offers.
pub fn walk_payload_views(bytes: &[u8]) {
    let g = GenericPayload::new_unchecked(bytes);
    let _ = (
        g.next_payload(),
        g.critical(),
        g.reserved(),
        g.payload_length(),
    );
    let _ = g.body().len();
    if GenericPayload::new_checked(bytes).is_err() {
        return;
    }
    if let Ok(v) = Sa::new_checked(bytes) {
        let _ = SaRepr::parse(&v);
        for p in v.proposals() {
            let Ok((_, p)) = p else { break };
            let _ = (p.last_substruc(), p.reserved(), p.number(), p.protocol());
            let _ = (p.spi().len(), p.num_transforms(), p.transform_bytes().len());
            let _ = ProposalRepr::parse(&p);
            for t in p.transforms() {
                let Ok((_, t)) = t else { break };
                let _ = (t.transform_type(), t.id(), t.reserved(), t.reserved2());
                let _ = (t.key_length(), t.last_substruc());
                let _ = TransformRepr::parse(&t);
                for a in t.attributes() {
                    if a.is_err() {
                        break;
                    }
                }
            }
        }
    }
    if let Ok(v) = Ke::new_checked(bytes) {
        let _ = (v.group(), v.reserved(), v.data().len(), KeRepr::parse(&v));
    }
    if let Ok(v) = Identification::new_checked(bytes) {
        let _ = (v.id_type(), v.reserved(), v.data().len());
        let _ = IdentificationRepr::parse(&v).map(|r| r.as_ipv4());
    }
    if let Ok(v) = Authentication::new_checked(bytes) {
        let _ = (v.method(), v.reserved(), v.data().len());
        let _ = AuthenticationRepr::parse(&v);
    }
    if let Ok(v) = Nonce::new_checked(bytes) {
        let _ = (v.nonce().len(), NonceRepr::parse(&v));
    }
    if let Ok(v) = Notify::new_checked(bytes) {
        let _ = (
            v.protocol(),
            v.spi_size(),
            v.notify_type(),
            v.spi(),
            v.data(),
        );
        let _ = NotifyRepr::parse(&v).map(|r| r.invalid_ke_group());
    }
    if let Ok(v) = Delete::new_checked(bytes) {
        let _ = (v.protocol(), v.spi_size(), v.num_spis(), v.spis().count());
        let _ = DeleteRepr::parse(&v);
    }
    if let Ok(v) = VendorId::new_checked(bytes) {
        let _ = (v.vendor_id().len(), VendorIdRepr::parse(&v));
    }
    if let Ok(v) = TrafficSelectors::new_checked(bytes) {
        let _ = (v.count(), v.reserved(), TrafficSelectorsRepr::parse(&v));
        for s in v.selectors() {
            let Ok((_, s)) = s else { break };
            let _ = (s.ts_type(), s.ip_protocol(), s.start_port(), s.end_port());
            let _ = (s.ipv4_range(), s.ipv6_range(), s.data().len());
            let _ = TrafficSelector::parse(&s);
        }
    }
    if let Ok(v) = Encrypted::new_checked(bytes) {
        let _ = (
            v.first_inner_payload(),
            v.content().len(),
            EncryptedRepr::parse(&v),
        );
    }
    if let Ok(v) = EncryptedFragment::new_checked(bytes) {
        let _ = (v.fragment_number(), v.total_fragments(), v.content().len());
        let _ = EncryptedFragmentRepr::parse(&v);
    }
}

#[test]
fn odd_inputs_walk_cleanly() {
    assert_eq!(walk_all(&[]), 0);
    assert_eq!(walk_all(&[0; 27]), 0);
    // A header whose Length is 28 with Next Payload SA: the chain is truncated at once.
    let mut h = [0u8; 28];
    h[16] = 33;
    h[17] = 0x20;
    h[27] = 28;
    assert_eq!(walk_all(&h), 0);
    walk_payload_views(&[0, 0, 0, 4]);
    walk_payload_views(&[0, 0, 0xff, 0xff]);
}

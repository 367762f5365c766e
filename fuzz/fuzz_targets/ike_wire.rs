//! Fuzz target: the public IKEv2 wire module (`dmvpn_ike::wire`).
//!
//! The input is parsed as a whole message, and every payload the chain walk reaches is
//! tried with every payload view (all accessors read, every list walked) and parsed into
//! its `Repr` (the walker is the one the wire tests use, `crates/ike/tests/wire_support.rs`).
//! The same is done a second time with the header patched to IKEv2 and a Length equal to
//! the input, so the fuzzer gets past the version and length checks, and a third time
//! reading the input as a bare payload chain whose first type is the first byte. Nothing
//! may panic, and whatever parses must re-emit byte for byte and parse to the same value.
#![no_main]

use dmvpn_ike::wire::{HEADER_LEN, MessageRepr, PayloadRepr, PayloadType, Payloads};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/ike/tests/wire_support.rs"]
mod wire_support;

fn message_round_trip(bytes: &[u8]) {
    wire_support::walk_all(bytes);
    let Ok(m) = MessageRepr::parse(bytes) else {
        return;
    };
    let emitted = m.to_bytes().expect("a parsed message re-emits");
    assert_eq!(emitted, bytes, "IKE message re-emission differs");
    assert_eq!(m.buffer_len(), bytes.len());
    let again = MessageRepr::parse(&emitted).expect("an emitted message parses");
    assert_eq!(again, m);
}

fuzz_target!(|data: &[u8]| {
    message_round_trip(data);

    if data.len() >= HEADER_LEN {
        let mut fixed = data.to_vec();
        fixed[17] = 0x20 | (fixed[17] & 0x0f);
        let len = u32::try_from(fixed.len()).unwrap_or(u32::MAX).to_be_bytes();
        fixed[24..28].copy_from_slice(&len);
        message_round_trip(&fixed);
    }

    // A bare chain: each payload that parses re-emits exactly with its own Next Payload.
    let Some((&first, chain)) = data.split_first() else {
        return;
    };
    for raw in Payloads::new(PayloadType::from(first), chain, 1) {
        let Ok(raw) = raw else { break };
        wire_support::walk_payload_views(raw.bytes);
        let Ok(p) = PayloadRepr::parse(&raw) else {
            continue;
        };
        assert_eq!(p.payload_type(), raw.payload_type);
        let mut out = vec![0; p.buffer_len()];
        let following = if p.is_encrypted() {
            PayloadType::NoNext
        } else {
            raw.next_payload
        };
        p.emit(&mut out, following)
            .expect("a parsed payload re-emits");
        assert_eq!(out, raw.bytes, "payload re-emission differs");
    }
});

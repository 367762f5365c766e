//! Fuzz target: whole NHRP packets (`dmvpn_wire::nhrp::Repr`).
//!
//! The input is decoded as received (bad checksum allowed) and, so that the
//! fuzzer gets past the checksum, a second time with `ar$chksum` fixed up.
//! A packet that parses must re-emit byte for byte (`serialize(parse(b)) ==
//! b[..ar$pktsz]`) and its `Display` must not panic.
#![no_main]

use dmvpn_wire::nhrp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = nhrp::Repr::decode(data) {
        let _ = decoded.repr.to_string();
    }

    // Same bytes with a correct checksum over ar$pktsz.
    let mut fixed = data.to_vec();
    let size = match fixed.get(10..12) {
        Some(s) => usize::from(u16::from_be_bytes([s[0], s[1]])),
        None => return,
    };
    if size < 14 || size > fixed.len() {
        return;
    }
    fixed[12] = 0;
    fixed[13] = 0;
    let sum = dmvpn_wire::internet_checksum(&fixed[..size]);
    fixed[12..14].copy_from_slice(&sum.to_be_bytes());

    let Ok(repr) = nhrp::Repr::parse(&fixed) else { return };
    let _ = repr.to_string();
    let emitted = repr.to_bytes().expect("a parsed packet re-emits");
    assert_eq!(emitted, fixed[..size], "NHRP re-emission differs");
    let again = nhrp::Repr::parse(&emitted).expect("emitted NHRP parses");
    assert_eq!(again, repr);
});

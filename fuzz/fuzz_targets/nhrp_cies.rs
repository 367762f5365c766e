//! Fuzz target: CIE lists (`dmvpn_wire::nhrp::parse_cies`).
//!
//! Parsing must not panic; a list that parses accounts for every input byte
//! and re-emits to exactly the input.
#![no_main]

use dmvpn_wire::nhrp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cies) = nhrp::parse_cies(data, 28) else { return };
    let total: usize = cies.iter().map(nhrp::Cie::wire_len).sum();
    assert_eq!(total, data.len(), "CIE list lengths do not add up");
    let mut emitted = Vec::with_capacity(data.len());
    for cie in &cies {
        let _ = cie.to_string();
        emitted.extend(cie.to_bytes().expect("a parsed CIE re-emits"));
    }
    assert_eq!(emitted, data, "CIE list re-emission differs");
});

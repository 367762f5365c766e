//! Fuzz target: the GRE header codec (`dmvpn_wire::gre`).
//!
//! Any input: the view's getters and `Repr::parse_with` must not panic. A
//! header that parses must re-emit to the same bytes (the checksum is
//! recomputed, so it is compared only when it verified, and 0x0000/0xffff
//! count as equal) and re-parse to the same `Repr`.
#![no_main]

use dmvpn_wire::gre;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packet = gre::Packet::new_unchecked(data);
    let _ = (packet.key(), packet.sequence(), packet.checksum(), packet.payload());
    let _ = packet.verify_checksum();

    let lenient = gre::ParseOptions { verify_checksum: false };
    let Ok(checked) = gre::Packet::new_checked(data) else { return };
    let Ok(repr) = gre::Repr::parse_with(&checked, lenient) else { return };
    let _ = repr.to_string();
    let payload = checked.payload();
    let emitted = repr.to_bytes(payload);
    assert_eq!(emitted.len(), data.len());
    // The checksum is recomputed, so compare it only when the input's
    // verified, and then modulo the one's-complement zero (0x0000 and 0xffff
    // both verify).
    let mut expected = data.to_vec();
    if repr.checksum.is_some() {
        assert!(gre::Packet::new_unchecked(&emitted[..]).verify_checksum());
        if let (Some(e), Some(x)) = (emitted.get(4..6), expected.get_mut(4..6)) {
            let zero = |c: &[u8]| c == [0, 0] || c == [0xff, 0xff];
            if !checked.verify_checksum() || (zero(e) && zero(x)) {
                x.copy_from_slice(e);
            }
        }
    }
    assert_eq!(emitted, expected, "GRE re-emission differs");
    let (again, again_payload) = gre::Repr::parse_bytes(&emitted).expect("emitted GRE parses");
    assert_eq!(again, repr);
    assert_eq!(again_payload, payload);
});

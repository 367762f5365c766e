//! Fuzz target: the extension list (`dmvpn_wire::nhrp::parse_extensions`).
//!
//! The first input byte is the packet's source protocol address length (the
//! RFC 2332 authentication format depends on it); the rest is the extension
//! area. Parsing must not panic; a list that parses accounts for every byte
//! and re-emits (extensions, then the bytes after End) to exactly the input.
#![no_main]

use dmvpn_wire::nhrp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&src_proto_len, area)) = data.split_first() else { return };
    let Ok(list) = nhrp::parse_extensions(area, 40, src_proto_len) else { return };
    let total: usize =
        list.extensions.iter().map(nhrp::Extension::wire_len).sum::<usize>() + list.trailing.len();
    assert_eq!(total, area.len(), "extension lengths do not add up");
    let mut emitted = Vec::with_capacity(area.len());
    for ext in &list.extensions {
        let _ = ext.to_string();
        emitted.extend(ext.to_bytes().expect("a parsed extension re-emits"));
    }
    emitted.extend_from_slice(&list.trailing);
    assert_eq!(emitted, area, "extension list re-emission differs");
});

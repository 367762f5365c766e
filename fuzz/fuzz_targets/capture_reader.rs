//! Fuzz target: the capture reader and demultiplexer (`dmvpn_capture`).
//!
//! Any bytes as a pcap/pcapng file: reading every frame, finding the NHRP in
//! it and decoding that must not panic, loop forever or grow without bound.
#![no_main]

use dmvpn_capture::NhrpFrames;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frames) = NhrpFrames::from_bytes(data) else { return };
    // A capture yields at most one item per record, and records (pcap
    // record headers, pcapng blocks) take at least 12 bytes.
    let bound = data.len() / 12 + 2;
    let mut items = 0usize;
    for item in frames {
        items += 1;
        assert!(items <= bound, "more items than the input can hold");
        let Ok(frame) = item else { continue };
        if let Ok(decoded) = dmvpn_wire::nhrp::Repr::decode(&frame.nhrp) {
            let _ = decoded.repr.to_string();
        }
    }
});

//! Measures parse and emit speed on a real Cisco Registration Request (108 bytes):
//! `cargo run --release -p dmvpn-wire --example codec_throughput`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::time::Instant;

use dmvpn_wire::nhrp::Repr;

const REG: &str = "000108000000000000ff006c197b0034010304000404800200000001a9fe64019b0100019b0100050020000045f81c20000000008003000080040000800500008007000c000000014e48525041555448000900140020000045f8000004000400a9fe64059b01000580000000";

fn main() {
    let bytes: Vec<u8> = (0..REG.len() / 2)
        .filter_map(|i| u8::from_str_radix(&REG[2 * i..2 * i + 2], 16).ok())
        .collect();
    let n = 1_000_000u32;
    let t = Instant::now();
    for _ in 0..n {
        black_box(Repr::parse(black_box(&bytes)).ok());
    }
    let parse = t.elapsed() / n;
    let repr = Repr::parse(&bytes).expect("golden parses");
    let t = Instant::now();
    for _ in 0..n {
        black_box(black_box(&repr).to_bytes().ok());
    }
    let emit = t.elapsed() / n;
    println!(
        "parse {parse:?}/packet, emit {emit:?}/packet ({} bytes)",
        bytes.len()
    );
}

//! Decodes NHRP packets given as hex on stdin (one per line) and prints them with `Display`:
//! `echo 0001... | cargo run -p dmvpn-wire --example nhrp_decode`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::BufRead;

use dmvpn_wire::nhrp::Repr;

fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let hex: String = line.chars().filter(char::is_ascii_hexdigit).collect();
        let bytes: Option<Vec<u8>> = (0..hex.len() / 2)
            .map(|i| {
                hex.get(2 * i..2 * i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect();
        match bytes.map(|b| Repr::decode(&b)) {
            Some(Ok(d)) => {
                println!("{}", d.repr);
                if !d.checksum_valid {
                    println!("  (bad checksum {:#06x})", d.checksum);
                }
            }
            Some(Err(e)) => println!("error: {e}"),
            None => println!("error: not hex"),
        }
    }
}

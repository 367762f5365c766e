//! The hostile input corpus: its generator ([`generate`]), its replay ([`replay`]) and the
//! allocation meter ([`alloc`]) of `tests/hostile_corpus.rs`.

pub mod alloc;
pub mod generate;
pub mod replay;

/// The input kinds, one directory each under `tests/hostile/`.
pub const KINDS: [&str; 6] = ["gre", "nhrp", "ike", "esp", "pcap", "config"];

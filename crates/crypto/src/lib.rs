//! IPsec cryptography for the DMVPN router: which algorithms exist and which are refused
//! ([`algorithm`]), and the primitives IKEv2 (RFC 7296) and ESP (RFC 4303, 4106) build on.
//!
//! Every primitive comes from aws-lc-rs; this crate only composes them (prf+, the IKE key
//! schedule, CBC+HMAC encrypt-then-MAC) and keeps key material zeroized.

pub mod algorithm;

pub use algorithm::{DhGroup, Encryption, Integrity, Prf, Refused};
pub mod random;

pub use random::{Random, SeededRandom, SystemRandom};

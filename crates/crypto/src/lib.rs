//! IPsec cryptography for the DMVPN router: which algorithms exist and which are refused
//! ([`algorithm`]), and the primitives IKEv2 (RFC 7296) and ESP (RFC 4303, 4106) build on:
//! the per-SA [`Cipher`] (AES-GCM, AES-CBC + HMAC), the IKE key schedule ([`prf`]),
//! Diffie-Hellman ([`KeyExchange`]), zeroizing key storage ([`SecretBytes`]), the NAT
//! detection hash, and the error type.
//!
//! Every primitive comes from aws-lc-rs; this crate only composes them (prf+, the IKE key
//! schedule, CBC+HMAC encrypt-then-MAC) and keeps key material zeroized. The only `unsafe`
//! code is the aws-lc-sys wrapper for MODP arithmetic (module `modp`).

#![deny(unsafe_code)]

pub mod algorithm;
pub mod cipher;
pub mod dh;
pub mod error;
pub mod hash;
pub mod keys;
mod modp;
pub mod prf;
pub mod random;

pub use algorithm::{DhGroup, Encryption, Integrity, Prf, Refused};
pub use cipher::{Cipher, EspAad};
pub use dh::KeyExchange;
pub use error::CryptoError;
pub use hash::{nat_detection_hash, sha1};
pub use keys::SecretBytes;
pub use random::{Random, SeededRandom, SystemRandom};

//! IKEv2 (RFC 7296) for the DMVPN router: the message codec ([`wire`]) and, built on it, a
//! sans-IO engine that negotiates IKE and Child SAs for GRE between two NBMA addresses.
//!
//! Like the NHRP engine, nothing here touches a socket or reads a clock: the caller feeds
//! datagrams, the current time, randomness and events, and gets back datagrams to send, SAs
//! to install or delete, and the next timer deadline.

pub mod wire;

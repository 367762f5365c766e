//! Fuzz target: ESP decapsulation (`dmvpn_esp`).
//!
//! The first byte picks an SA (AES-GCM or AES-CBC + HMAC, transport or tunnel mode,
//! with or without ESN) and what to do with the rest, over a fresh SA pair each run:
//!
//! * `0`: the bytes as an ESP packet into `InboundSa::decapsulate`;
//! * `1`: the bytes through `Protection::unprotect` of a fail-closed `EspProtection`
//!   (as raw ESP, ESP in UDP, or cleartext GRE);
//! * `2`: the bytes as the *plaintext* (payload, padding, pad length, next header) of a
//!   packet sealed with the peer's genuine keys, so that trailer, padding, next header
//!   and tunnel-mode inner header checks are reached past authentication;
//! * `3`: the bytes as a GRE packet protected by one end and unprotected by the other,
//!   which must give them back.
//!
//! Nothing may panic; whatever decapsulation accepts is never longer than its input.
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{Cipher, Encryption, Integrity, SeededRandom};
use dmvpn_esp::{EspProtection, LifetimeLimits, Mode, SaPair, SaSpec};
use dmvpn_forwarding::PacketBuf;
use dmvpn_forwarding::transport::{Protection, Underlay};
use libfuzzer_sys::fuzz_target;

const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

fn key(len: usize, tag: u8) -> SecretBytes {
    SecretBytes::new((0..len).map(|i| (i as u8) ^ tag).collect())
}

/// B's view of the SA pair selected by `sel` (peer A); A's view swaps the keys.
fn spec(sel: u8, mirrored: bool) -> SaSpec {
    let (encryption, integrity) = if sel & 1 == 0 {
        (Encryption::AesGcm16 { key_bits: 128 }, None)
    } else {
        (
            Encryption::AesCbc { key_bits: 128 },
            Some(Integrity::HmacSha256_128),
        )
    };
    let ilen = integrity.map_or(0, |i| i.key_len());
    let (ki, ko) = if mirrored { (3, 1) } else { (1, 3) };
    let (spi_in, spi_out) = if mirrored {
        (0x2000, 0x1000)
    } else {
        (0x1000, 0x2000)
    };
    SaSpec {
        peer: if mirrored { B } else { A },
        local: if mirrored { A } else { B },
        spi_in,
        spi_out,
        encryption,
        integrity,
        enc_key_in: key(encryption.keymat_len(), ki),
        integ_key_in: key(ilen, ki + 1),
        enc_key_out: key(encryption.keymat_len(), ko),
        integ_key_out: key(ilen, ko + 1),
        mode: if sel & 2 == 0 {
            Mode::Transport
        } else {
            Mode::Tunnel
        },
        esn: sel & 4 != 0,
        limits: LifetimeLimits::default(),
        replay_window: 64,
        nat_t: None,
    }
}

fn buf(data: &[u8]) -> PacketBuf {
    let mut b = PacketBuf::with_capacity(data.len().max(1));
    let _ = b.set(data);
    b
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let ours = spec(sel, false);
    let Ok(pair) = SaPair::new(&ours, Duration::ZERO) else {
        return;
    };
    match (sel >> 3) & 3 {
        0 => {
            let mut p = buf(rest);
            if pair.inbound.decapsulate(&mut p).is_ok() {
                assert!(p.len() <= rest.len());
            }
        }
        1 => {
            let prot = EspProtection::new(B, Box::new(SeededRandom::new(1)));
            prot.set_protect_all(sel & 0x40 != 0);
            let _ = prot.install(pair);
            let underlay = match sel >> 6 {
                0 | 1 => Underlay::Esp,
                2 => Underlay::NatT,
                _ => Underlay::Gre,
            };
            let mut p = buf(rest);
            if prot.unprotect(A, underlay, &mut p).is_ok() {
                assert!(p.len() <= rest.len());
            }
            let _ = prot.take_events();
            let _ = prot.snapshot(Duration::from_secs(1));
            let _ = prot.poll_expired(Duration::from_secs(1));
        }
        2 => {
            // Seal `rest` (cut to the cipher's block) as the peer would.
            let peer = spec(sel, true);
            let Ok(c) = Cipher::new(
                peer.encryption,
                peer.integrity,
                peer.enc_key_out.as_slice(),
                peer.integ_key_out.as_slice(),
            ) else {
                return;
            };
            let Some((seq_bytes, plain)) = rest.split_first_chunk::<4>() else {
                return;
            };
            let seq = u64::from(u32::from_be_bytes(*seq_bytes));
            let aligned = plain.len() - plain.len() % c.block_len();
            let Some(plain) = plain.get(..aligned) else {
                return;
            };
            let mut packet = Vec::with_capacity(aligned + 64);
            packet.extend_from_slice(&peer.spi_out.to_be_bytes());
            packet.extend_from_slice(seq_bytes);
            packet.extend(std::iter::repeat_n(0x11, c.iv_len()));
            packet.extend_from_slice(plain);
            packet.extend(std::iter::repeat_n(0, c.icv_len()));
            let aad = c.esp_aad(peer.spi_out, seq, peer.esn);
            let Some(region) = packet.get_mut(8..) else {
                return;
            };
            if c.seal_region(aad.aad(), aad.tail(), region).is_err() {
                return;
            }
            let mut p = buf(&packet);
            if pair.inbound.decapsulate(&mut p).is_ok() {
                assert!(p.len() <= plain.len());
            }
        }
        _ => {
            let Ok(peer) = SaPair::new(&spec(sel, true), Duration::ZERO) else {
                return;
            };
            let (a, b) = (
                EspProtection::new(A, Box::new(SeededRandom::new(2))),
                EspProtection::new(B, Box::new(SeededRandom::new(3))),
            );
            let _ = a.install(peer);
            let _ = b.install(pair);
            let mut p = buf(rest);
            let Ok(underlay) = a.protect(B, &mut p) else {
                return;
            };
            assert_ne!(underlay, Underlay::Gre, "protected peer sent in clear");
            b.unprotect(A, underlay, &mut p)
                .expect("genuine packet decapsulates");
            assert_eq!(p.as_slice(), rest);
        }
    }
});

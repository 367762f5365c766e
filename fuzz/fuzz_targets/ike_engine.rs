//! Fuzz target: the sans-IO IKEv2 engine (`dmvpn_ike::IkeEngine`) on hostile input.
//!
//! Two engines with a PSK, an initiator that wants protection to a responder, exchange
//! datagrams through a queue; the input is a sequence of records
//! `[ctl][len_hi][len_lo][len bytes]` that decide what happens next. `ctl` bits 0-1: 0 feeds
//! the bytes to the responder as a datagram from the initiator's address, 1 feeds them to
//! the initiator as if from the responder, 2 delivers the next queued real datagram after
//! XOR-ing it with the bytes taken as (offset, mask) pairs (so the fuzzer mutates genuine
//! IKE_AUTH, CREATE_CHILD_SA and INFORMATIONAL messages), 3 sends a data-plane event
//! chosen by the first byte. Bits 2-3 pick the UDP ports (500, 4500, or odd ones), bits 4-7
//! advance the clock by that many seconds (timers fire). After every input all outputs are
//! drained and the show views are taken. Nothing may panic.
#![no_main]

use dmvpn_crypto::SeededRandom;
use dmvpn_ike::{
    Authenticator, EspEvent, IkeConfig, IkeEngine, Keyring, KeyringEntry, Output,
};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

const I_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const R_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PORTS: [u16; 4] = [500, 4500, 500, 1701];

fn engine(seed: u64) -> IkeEngine {
    let mut k = Keyring::default();
    k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"fuzz").expect("valid key"));
    let mut c = IkeConfig::new(Authenticator::Psk(k));
    c.limits.cookie_threshold = 2;
    c.limits.max_half_open = 8;
    c.limits.max_sas = 16;
    IkeEngine::new(c, Box::new(SeededRandom::new(seed))).expect("valid configuration")
}

struct Datagram {
    to_responder: bool,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    bytes: Vec<u8>,
}

fn drain(e: &mut IkeEngine, to_responder: bool, q: &mut VecDeque<Datagram>) {
    while let Some(o) = e.poll_output() {
        if let Output::Send {
            local,
            remote,
            bytes,
        } = o
        {
            if q.len() < 64 {
                q.push_back(Datagram {
                    to_responder,
                    local: remote,
                    remote: local,
                    bytes,
                });
            }
        }
    }
    let _ = e.sas();
    let _ = e.children();
    let _ = e.poll_timeout();
}

fuzz_target!(|data: &[u8]| {
    let mut ini = engine(1);
    let mut res = engine(2);
    let mut now = Duration::ZERO;
    let mut q = VecDeque::new();
    ini.protect(now, I_ADDR, R_ADDR);
    drain(&mut ini, true, &mut q);
    let mut rest = data;
    while let [ctl, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        now += Duration::from_secs(u64::from(ctl >> 4));
        let port = PORTS[usize::from((ctl >> 2) & 3)];
        match ctl & 3 {
            0 => res.handle_datagram(
                now,
                SocketAddrV4::new(R_ADDR, port),
                SocketAddrV4::new(I_ADDR, port),
                bytes,
            ),
            1 => ini.handle_datagram(
                now,
                SocketAddrV4::new(I_ADDR, port),
                SocketAddrV4::new(R_ADDR, port),
                bytes,
            ),
            2 => {
                if let Some(mut d) = q.pop_front() {
                    for pair in bytes.chunks_exact(2) {
                        let at = usize::from(pair[0]);
                        if let Some(b) = d.bytes.get_mut(at) {
                            *b ^= pair[1];
                        }
                    }
                    let e = if d.to_responder { &mut res } else { &mut ini };
                    e.handle_datagram(now, d.local, d.remote, &d.bytes);
                }
            }
            _ => {
                let (e, peer, local) = match bytes.first().copied().unwrap_or(0) & 1 {
                    0 => (&mut ini, R_ADDR, I_ADDR),
                    _ => (&mut res, I_ADDR, R_ADDR),
                };
                // An installed SA's SPI (so rekeys and expiries happen), or any.
                let children = e.children();
                let pick = usize::from(bytes.get(1).copied().unwrap_or(0));
                let spi = match children.get(pick) {
                    Some(c) => c.spi_in,
                    None => bytes
                        .get(1..5)
                        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                        .unwrap_or(0),
                };
                let ev = match bytes.first().copied().unwrap_or(0) >> 1 & 3 {
                    0 => EspEvent::SoftExpired { spi_in: spi },
                    1 => EspEvent::HardExpired { spi_in: spi },
                    2 => EspEvent::InvalidSpi { peer, local, spi },
                    _ => EspEvent::DpdCheck { peer },
                };
                e.handle_esp_event(now, ev);
                if bytes.get(5) == Some(&0xC1) {
                    e.clear(now, None);
                }
            }
        }
        ini.handle_timeout(now);
        res.handle_timeout(now);
        drain(&mut ini, true, &mut q);
        drain(&mut res, false, &mut q);
    }
});

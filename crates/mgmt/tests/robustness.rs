//! No input makes the codec or the server panic: every truncation and a few
//! thousand deterministic byte mutations of valid lines are decoded and
//! served.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/sample.rs"]
mod sample;

use dmvpn_mgmt::{
    Handler, HandlerError, NhrpCache, Payload, Request, Response, ShowDmvpn, decode_request,
    decode_response, encode_request, encode_response, render, serve_line,
};

struct Cache;
impl Handler for Cache {
    fn nhrp_cache(&mut self) -> Result<NhrpCache, HandlerError> {
        Ok(sample::spoke_nhrp_cache())
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn lines() -> Vec<String> {
    vec![
        encode_request(&Request::ShowDmvpn(ShowDmvpn::default())),
        r#"{"version":1,"command":"debug","debug":"condition","condition":{"match":"peer_nbma","address":"192.0.2.1"},"enable":true}"#.to_owned(),
        encode_response(&Response::ok(Payload::Dmvpn(sample::spoke_dmvpn()))),
        encode_response(&Response::ok(Payload::NhrpCache(sample::spoke_nhrp_cache()))),
    ]
}

fn exercise(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = decode_request(&text);
    if let Ok(Response::Ok { payload }) = decode_response(&text) {
        // Whatever decodes also renders.
        let _ = render::render(
            &Request::ShowDmvpn(ShowDmvpn {
                detail: true,
                ..Default::default()
            }),
            &payload,
        );
        let _ = render::render(&Request::ShowIpNhrp(Default::default()), &payload);
    }
    let reply = serve_line(&mut Cache, &text);
    assert!(
        decode_response(&reply).is_ok(),
        "server reply must decode: {reply}"
    );
}

#[test]
fn truncations_never_panic() {
    for line in lines() {
        let b = line.as_bytes();
        for n in 0..=b.len() {
            exercise(&b[..n]);
        }
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let interesting = b"{}[]\":,0123456789-.e nulltruefalse\\\x00\xff";
    for line in lines() {
        for _ in 0..1500 {
            let mut b = line.clone().into_bytes();
            for _ in 0..(1 + rng.next() % 4) {
                if b.is_empty() {
                    break;
                }
                let i = (rng.next() % b.len() as u64) as usize;
                let c = interesting[(rng.next() % interesting.len() as u64) as usize];
                match rng.next() % 3 {
                    0 => b[i] = c,
                    1 => b.insert(i, c),
                    _ => {
                        b.remove(i);
                    }
                }
            }
            exercise(&b);
        }
    }
}

#[test]
fn extreme_values_render() {
    let mut d = sample::hub_dmvpn();
    d.interfaces[0].peers[0].up_down_secs = Some(u64::MAX);
    d.interfaces[0].peers[0].entries[0].target.prefix_len = 200;
    let mut c = sample::spoke_nhrp_cache();
    c.entries[0].created_secs = u64::MAX;
    c.entries[0].prefix.prefix_len = 255;
    let p = Payload::Dmvpn(d);
    let line = encode_response(&Response::ok(p.clone()));
    assert_eq!(decode_response(&line).unwrap(), Response::ok(p.clone()));
    let text = render::render(
        &Request::ShowDmvpn(ShowDmvpn {
            detail: true,
            ..Default::default()
        }),
        &p,
    );
    assert!(text.contains("/200"));
    assert!(render::nhrp(&c).contains("/255"));
    assert!(!c.entries[0].prefix.contains("10.0.0.2".parse().unwrap()));
}

#[test]
fn a_hub_with_100k_spokes_renders_and_fits_a_line() {
    // No timing is asserted; the elapsed time is printed for the record
    // (`cargo test -p dmvpn-mgmt --release --test robustness -- --nocapture`).
    let template = sample::hub_nhrp_cache().entries[0].clone();
    let n: u32 = 100_000;
    let entries = (0..n)
        .map(|i| {
            let mut e = template.clone();
            let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            e.prefix.address = a.into();
            e.via = Some(a.into());
            e
        })
        .collect();
    let cache = dmvpn_mgmt::NhrpCache { entries };
    let t = std::time::Instant::now();
    let text = render::nhrp(&cache);
    let rendered = t.elapsed();
    assert_eq!(text.lines().count(), 3 * n as usize);
    let t = std::time::Instant::now();
    let line = encode_response(&Response::ok(Payload::NhrpCache(cache)));
    let encoded = t.elapsed();
    assert!(
        line.len() < dmvpn_mgmt::MAX_RESPONSE_LINE,
        "{} bytes",
        line.len()
    );
    let t = std::time::Instant::now();
    let back = decode_response(&line).unwrap();
    let decoded = t.elapsed();
    assert!(
        matches!(back, Response::Ok { payload: Payload::NhrpCache(c) } if c.entries.len() == n as usize)
    );
    eprintln!(
        "100000 cache entries: render {rendered:?} ({} bytes), encode {encoded:?} ({} bytes), decode {decoded:?}",
        text.len(),
        line.len()
    );
}

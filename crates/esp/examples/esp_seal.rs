//! ESP crypto cost on one core (`scripts/bench-esp-throughput.sh` runs it after the lab
//! measurement): a transport-mode SA pair per transform, 1400-byte GRE packets encapsulated
//! by one side's [`dmvpn_esp::OutboundSa`] and decapsulated by the other's
//! [`dmvpn_esp::InboundSa`] in a loop on one thread, as the data plane does per packet
//! (buffer in place, sequence numbers, anti-replay window, counters; AES-CBC IVs from the
//! system generator, as the daemon's). No sockets, TUN devices or copies between threads:
//! what is left is the cost of ESP itself, to compare with the lab's throughput.
//!
//! Prints, per transform, packets per second and Gbit/s of GRE payload for encapsulation
//! alone, decapsulation alone (each timed with [`Instant`] around the call) and both in a
//! row (one core doing a sender's and a receiver's work for every packet). On a busy
//! machine the calls' times are scaled by the share of the loop the thread spent on the CPU
//! (`/proc/thread-self/schedstat`), so the figures are per CPU-second.
//!
//! `esp_seal [--seconds S] [--size BYTES]`

use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dmvpn_crypto::{Encryption, Integrity, SecretBytes, SystemRandom};
use dmvpn_esp::{LifetimeLimits, Mode, SaPair, SaSpec};
use dmvpn_forwarding::PacketBuf;

/// The transforms measured: the lab's default, IOS's common ones.
const TRANSFORMS: [(&str, Encryption, Option<Integrity>); 4] = [
    ("esp-gcm 256", Encryption::AesGcm16 { key_bits: 256 }, None),
    ("esp-gcm 128", Encryption::AesGcm16 { key_bits: 128 }, None),
    (
        "esp-aes 256 esp-sha256-hmac",
        Encryption::AesCbc { key_bits: 256 },
        Some(Integrity::HmacSha256_128),
    ),
    (
        "esp-aes esp-sha-hmac",
        Encryption::AesCbc { key_bits: 128 },
        Some(Integrity::HmacSha1_96),
    ),
];

struct Args {
    seconds: f64,
    size: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 2.0,
        size: 1400,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seconds" => {
                args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?;
                if !(0.1..=600.0).contains(&args.seconds) {
                    return Err("--seconds: 0.1 to 600".to_string());
                }
            }
            "--size" => {
                args.size = value()?.parse().map_err(|e| format!("--size: {e}"))?;
                if !(4..=9000).contains(&args.size) {
                    return Err("--size: 4 to 9000 bytes".to_string());
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// A key of `len` bytes derived from `tag` (the values do not matter here).
fn key(len: usize, tag: u8) -> SecretBytes {
    SecretBytes::new((0..len).map(|i| (i as u8).wrapping_mul(31) ^ tag).collect())
}

/// The two ends of one SA pair with `enc` and `integ`, in transport mode.
fn pair(enc: Encryption, integ: Option<Integrity>) -> Result<(SaPair, SaPair), String> {
    let a = Ipv4Addr::new(172, 16, 1, 1);
    let b = Ipv4Addr::new(172, 16, 2, 1);
    let ilen = integ.map_or(0, |i| i.key_len());
    let spec = |local, peer, spi_in, spi_out, tag_in: u8, tag_out: u8| SaSpec {
        peer,
        local,
        spi_in,
        spi_out,
        encryption: enc,
        integrity: integ,
        enc_key_in: key(enc.keymat_len(), tag_in),
        integ_key_in: key(ilen, tag_in.wrapping_add(1)),
        enc_key_out: key(enc.keymat_len(), tag_out),
        integ_key_out: key(ilen, tag_out.wrapping_add(1)),
        mode: Mode::Transport,
        esn: false,
        limits: LifetimeLimits::default(),
        replay_window: 64,
        nat_t: None,
    };
    let sa = |s: SaSpec| SaPair::new(&s, Duration::ZERO).map_err(|e| format!("SA: {e}"));
    Ok((
        sa(spec(a, b, 0x1000_0001, 0x2000_0002, 10, 20))?,
        sa(spec(b, a, 0x2000_0002, 0x1000_0001, 20, 10))?,
    ))
}

/// What one transform measured.
struct Rates {
    packets: u64,
    encap: Duration,
    decap: Duration,
}

/// This thread's CPU time from `/proc/thread-self/schedstat` (nanoseconds on the CPU,
/// brought up to date by a yield), or `None` where the kernel does not keep it.
fn thread_cpu() -> Option<Duration> {
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse::<u64>().ok()?;
    (ns > 0).then(|| Duration::from_nanos(ns))
}

fn measure(
    enc: Encryption,
    integ: Option<Integrity>,
    size: usize,
    seconds: f64,
) -> Result<Rates, String> {
    let (a, b) = pair(enc, integ)?;
    let mut rng = SystemRandom::new();
    // A GRE header (protocol IPv4) and a payload.
    let mut gre = vec![0x00, 0x00, 0x08, 0x00];
    gre.extend((0..size.saturating_sub(4)).map(|i| i as u8));
    let mut p = PacketBuf::with_capacity(size.saturating_add(64));
    let mut r = Rates {
        packets: 0,
        encap: Duration::ZERO,
        decap: Duration::ZERO,
    };
    let budget = Duration::from_secs_f64(seconds);
    let cpu_start = thread_cpu();
    let started = Instant::now();
    while started.elapsed() < budget {
        for _ in 0..256 {
            p.set(&gre).map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            a.outbound
                .encapsulate(&mut p, &mut rng)
                .map_err(|e| format!("encapsulate: {e}"))?;
            let t1 = Instant::now();
            b.inbound
                .decapsulate(&mut p)
                .map_err(|e| format!("decapsulate: {e}"))?;
            let t2 = Instant::now();
            r.encap += t1 - t0;
            r.decap += t2 - t1;
            r.packets += 1;
        }
        if p.as_slice() != gre.as_slice() {
            return Err("the decapsulated packet differs from the one sent".to_string());
        }
    }
    // On a busy machine the thread is sometimes scheduled out inside a call; scale the
    // calls' wall time by the share of the loop this thread spent on the CPU.
    let wall = started.elapsed().as_secs_f64();
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu())
        && wall > 0.0
    {
        let on_cpu = (b.saturating_sub(a).as_secs_f64() / wall).min(1.0);
        r.encap = r.encap.mul_f64(on_cpu);
        r.decap = r.decap.mul_f64(on_cpu);
    }
    Ok(r)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("esp_seal: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "ESP on one core, transport mode, {}-byte GRE packets, {} s per transform",
        args.size, args.seconds
    );
    println!(
        "{:<28} {:>13} {:>13} {:>13} {:>13}",
        "transform", "encap Gbit/s", "decap Gbit/s", "both Gbit/s", "both kpkt/s"
    );
    let bits = (args.size as f64) * 8.0;
    let mut failed = false;
    for (name, enc, integ) in TRANSFORMS {
        match measure(enc, integ, args.size, args.seconds) {
            Ok(r) => {
                let n = r.packets as f64;
                let gbps = |d: Duration| {
                    let s = d.as_secs_f64();
                    if s > 0.0 { n * bits / s / 1e9 } else { 0.0 }
                };
                let both = r.encap + r.decap;
                let kpps = if both.as_secs_f64() > 0.0 {
                    n / both.as_secs_f64() / 1e3
                } else {
                    0.0
                };
                println!(
                    "{name:<28} {:>13.2} {:>13.2} {:>13.2} {:>13.0}",
                    gbps(r.encap),
                    gbps(r.decap),
                    gbps(both),
                    kpps
                );
            }
            Err(e) => {
                failed = true;
                println!("{name:<28} failed: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

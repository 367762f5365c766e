//! IKE SAs per CPU-second on a hub (`scripts/bench-ike-rate.sh` runs it): one responder
//! [`IkeEngine`] with a wildcard pre-shared-key keyring, as a DMVPN hub has, and many
//! initiator engines (one per spoke address) in one process, exchanging datagrams in memory
//! (no sockets, no clock: virtual time).
//!
//! For each suite (DH group × IKE cipher) every initiator in turn asks for protection and
//! the datagrams are moved until its IKE_SA_INIT and IKE_AUTH (with the first Child SA) are
//! done, one SA after the other (so the responder never has enough half-open SAs to ask for
//! cookies). Only the responder's calls are timed (`handle_datagram` and draining its
//! outputs, with [`Instant`] around each): the engine is single-threaded and CPU-bound, so
//! that wall time is its CPU time. The initiators' work is not counted.
//!
//! Each suite runs `--rounds` times (fresh engines each time); the round with the median
//! responder CPU time is printed.
//!
//! `ike_rate [--sas N] [--rounds R] [--groups 19,31,14] [--ciphers gcm,cbc]`

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf, SystemRandom};
use dmvpn_ike::{
    Authenticator, ChildTransform, IkeConfig, IkeEngine, IkeProposal, Keyring, KeyringEntry,
    Output, SaState,
};

/// The hub's NBMA address.
const HUB: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
/// The pre-shared key every node uses.
const PSK: &[u8] = b"cisco47";
/// IKE's port.
const IKE_PORT: u16 = 500;

/// The IKE SA (and Child SA) cipher suite of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    /// AES-GCM-256 for IKE and ESP, PRF HMAC-SHA-256.
    Gcm,
    /// AES-CBC-256 with HMAC-SHA-256-128 for IKE and ESP, PRF HMAC-SHA-256.
    Cbc,
}

impl Cipher {
    fn name(self) -> &'static str {
        match self {
            Cipher::Gcm => "AES-GCM-256",
            Cipher::Cbc => "AES-CBC-256+SHA-256",
        }
    }
}

struct Args {
    sas: usize,
    groups: Vec<DhGroup>,
    ciphers: Vec<Cipher>,
    rounds: usize,
}

fn parse_group(s: &str) -> Result<DhGroup, String> {
    match s {
        "14" => Ok(DhGroup::Modp2048),
        "15" => Ok(DhGroup::Modp3072),
        "19" => Ok(DhGroup::Ecp256),
        "20" => Ok(DhGroup::Ecp384),
        "21" => Ok(DhGroup::Ecp521),
        "31" => Ok(DhGroup::Curve25519),
        other => Err(format!("unknown DH group {other} (14, 15, 19, 20, 21, 31)")),
    }
}

fn group_name(g: DhGroup) -> &'static str {
    match g {
        DhGroup::Modp2048 => "14 (MODP-2048)",
        DhGroup::Modp3072 => "15 (MODP-3072)",
        DhGroup::Modp4096 => "16 (MODP-4096)",
        DhGroup::Ecp256 => "19 (ECP-256)",
        DhGroup::Ecp384 => "20 (ECP-384)",
        DhGroup::Ecp521 => "21 (ECP-521)",
        DhGroup::Curve25519 => "31 (X25519)",
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sas: 2000,
        groups: vec![DhGroup::Ecp256, DhGroup::Curve25519, DhGroup::Modp2048],
        ciphers: vec![Cipher::Gcm, Cipher::Cbc],
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--sas" => {
                args.sas = value()?.parse().map_err(|e| format!("--sas: {e}"))?;
                if !(1..=60_000).contains(&args.sas) {
                    return Err("--sas: 1 to 60000".to_string());
                }
            }
            "--rounds" => {
                args.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?;
                if !(1..=100).contains(&args.rounds) {
                    return Err("--rounds: 1 to 100".to_string());
                }
            }
            "--groups" => {
                args.groups = value()?
                    .split(',')
                    .map(parse_group)
                    .collect::<Result<_, _>>()?
            }
            "--ciphers" => {
                args.ciphers = value()?
                    .split(',')
                    .map(|c| match c {
                        "gcm" => Ok(Cipher::Gcm),
                        "cbc" => Ok(Cipher::Cbc),
                        other => Err(format!("unknown cipher {other} (gcm, cbc)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// A node's configuration: the PSK for every peer, one proposal with `group` and `cipher`,
/// the matching ESP transform, and room for `sas` IKE SAs.
fn config(group: DhGroup, cipher: Cipher, sas: usize) -> Result<IkeConfig, String> {
    let mut keyring = Keyring::default();
    keyring.push(
        KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, PSK).map_err(|e| format!("keyring: {e}"))?,
    );
    let mut c = IkeConfig::new(Authenticator::Psk(keyring));
    let (proposal, child) = match cipher {
        Cipher::Gcm => (
            IkeProposal {
                encryption: vec![Encryption::AesGcm16 { key_bits: 256 }],
                integrity: vec![],
                prf: vec![Prf::HmacSha256],
                dh_groups: vec![group],
            },
            ChildTransform {
                encryption: Encryption::AesGcm16 { key_bits: 256 },
                integrity: None,
            },
        ),
        Cipher::Cbc => (
            IkeProposal {
                encryption: vec![Encryption::AesCbc { key_bits: 256 }],
                integrity: vec![Integrity::HmacSha256_128],
                prf: vec![Prf::HmacSha256],
                dh_groups: vec![group],
            },
            ChildTransform {
                encryption: Encryption::AesCbc { key_bits: 256 },
                integrity: Some(Integrity::HmacSha256_128),
            },
        ),
    };
    c.proposals = vec![proposal];
    c.child_transforms = vec![child];
    c.limits.max_sas = sas.saturating_add(16);
    c.limits.max_half_open = sas.saturating_add(16);
    Ok(c)
}

/// Spoke `i`'s NBMA address (10.x.y.z, distinct for every `i` below 2^24).
fn spoke_addr(i: usize) -> Ipv4Addr {
    let n = u32::try_from(i).unwrap_or(0).wrapping_add(1);
    Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff))
}

/// One datagram in flight.
struct Datagram {
    from: SocketAddrV4,
    to: SocketAddrV4,
    bytes: Vec<u8>,
}

/// What one suite measured.
struct Measured {
    established: usize,
    children: usize,
    /// CPU time of the responder's phases (this thread's, from the kernel).
    responder_cpu: Duration,
    /// Wall time inside the responder's calls ([`Instant`] around each).
    responder_wall: Duration,
    wall: Duration,
}

/// Drains `engine`'s outputs: datagrams go to `out`; returns the Child SAs it installed.
fn drain(engine: &mut IkeEngine, out: &mut Vec<Datagram>) -> usize {
    let mut installed = 0;
    while let Some(o) = engine.poll_output() {
        match o {
            Output::Send {
                local,
                remote,
                bytes,
            } => out.push(Datagram {
                from: local,
                to: remote,
                bytes,
            }),
            Output::InstallChild(_) => installed += 1,
            _ => {}
        }
    }
    installed
}

/// This thread's CPU time: `/proc/thread-self/schedstat` (nanoseconds on the CPU, read
/// right after a yield), or
/// utime + stime of `/proc/self/stat` (clock ticks, assumed 100 a second) without it.
fn thread_cpu() -> Duration {
    // The kernel brings a running thread's count up to date when it is scheduled out.
    std::thread::yield_now();
    let sched = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok());
    if let Some(ns) = sched.filter(|&ns| ns > 0) {
        return Duration::from_nanos(ns);
    }
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| {
            // Fields after the command name, which ends with the last ')'.
            let rest = t.get(t.rfind(')')?.saturating_add(2)..)?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime = f.get(11)?.parse::<u64>().ok()?;
            let stime = f.get(12)?.parse::<u64>().ok()?;
            Some(utime.saturating_add(stime))
        })
        .unwrap_or(0);
    Duration::from_millis(ticks.saturating_mul(10))
}

/// Every initiator asks for protection at once; then, in turns, the responder handles
/// everything sent to it (timed: this is its phase) and the initiators handle its answers,
/// until nothing is in flight: IKE_SA_INIT, then IKE_AUTH, for all SAs.
fn run_suite(group: DhGroup, cipher: Cipher, sas: usize) -> Result<Measured, String> {
    let mut cfg = config(group, cipher, sas)?;
    let mut responder = {
        let mut r = cfg.clone();
        // Every spoke comes at once: no cookies, room for all of them half-open.
        r.limits.cookie_threshold = sas.saturating_add(16);
        IkeEngine::new(r, Box::new(SystemRandom::new())).map_err(|e| format!("responder: {e}"))?
    };
    cfg.limits.max_sas = 4;
    let mut initiators = BTreeMap::new();
    for i in 0..sas {
        let engine = IkeEngine::new(cfg.clone(), Box::new(SystemRandom::new()))
            .map_err(|e| format!("initiator {i}: {e}"))?;
        initiators.insert(spoke_addr(i), engine);
    }
    let hub = SocketAddrV4::new(HUB, IKE_PORT);
    let mut m = Measured {
        established: 0,
        children: 0,
        responder_cpu: Duration::ZERO,
        responder_wall: Duration::ZERO,
        wall: Duration::ZERO,
    };
    let started = Instant::now();
    let now = Duration::from_secs(1);
    let mut to_hub = Vec::new();
    for (&addr, engine) in &mut initiators {
        engine.protect(now, addr, HUB);
        drain(engine, &mut to_hub);
    }
    let mut to_spokes = Vec::new();
    for _turn in 0..8 {
        if to_hub.is_empty() {
            break;
        }
        let cpu = thread_cpu();
        for d in to_hub.drain(..) {
            if *d.to.ip() != HUB {
                continue;
            }
            let t = Instant::now();
            responder.handle_datagram(now, hub, d.from, &d.bytes);
            m.children += drain(&mut responder, &mut to_spokes);
            m.responder_wall += t.elapsed();
        }
        m.responder_cpu += thread_cpu().saturating_sub(cpu);
        for d in to_spokes.drain(..) {
            if let Some(engine) = initiators.get_mut(d.to.ip()) {
                engine.handle_datagram(now, d.to, d.from, &d.bytes);
                drain(engine, &mut to_hub);
            }
        }
    }
    m.wall = started.elapsed();
    if let Some((addr, _)) = initiators.iter().find(|(_, e)| !e.is_protected(HUB)) {
        return Err(format!(
            "{addr}: no protection to the hub after the exchanges"
        ));
    }
    m.established = responder
        .sas()
        .iter()
        .filter(|s| s.state == SaState::Established)
        .count();
    Ok(m)
}

/// Runs `f` `rounds` times and returns the run with the median responder CPU time.
fn median_of(
    rounds: usize,
    mut f: impl FnMut() -> Result<Measured, String>,
) -> Result<Measured, String> {
    let mut runs = (0..rounds).map(|_| f()).collect::<Result<Vec<_>, _>>()?;
    runs.sort_by_key(|m| m.responder_cpu);
    let mid = runs.len() / 2;
    runs.into_iter()
        .nth(mid)
        .ok_or_else(|| "no rounds".to_string())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ike_rate: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{} IKE SAs per suite (IKE_SA_INIT + IKE_AUTH with the first Child SA, PSK), responder CPU only, median of {} rounds",
        args.sas, args.rounds
    );
    println!(
        "{:<15} {:<20} {:>10} {:>14} {:>14} {:>12} {:>8}",
        "DH group",
        "cipher (IKE + ESP)",
        "SAs/CPU-s",
        "CPU us/SA",
        "wall us/SA",
        "established",
        "total s"
    );
    let mut failed = false;
    for &group in &args.groups {
        for &cipher in &args.ciphers {
            match median_of(args.rounds, || run_suite(group, cipher, args.sas)) {
                Ok(m) => {
                    let cpu = m.responder_cpu.as_secs_f64();
                    let rate = if cpu > 0.0 {
                        m.established as f64 / cpu
                    } else {
                        0.0
                    };
                    let per_sa = |d: Duration| {
                        if m.established > 0 {
                            d.as_secs_f64() * 1e6 / m.established as f64
                        } else {
                            0.0
                        }
                    };
                    if m.established != args.sas || m.children != args.sas {
                        failed = true;
                    }
                    println!(
                        "{:<15} {:<20} {:>10.0} {:>14.1} {:>14.1} {:>12} {:>8.2}",
                        group_name(group),
                        cipher.name(),
                        rate,
                        per_sa(m.responder_cpu),
                        per_sa(m.responder_wall),
                        format!("{}/{}", m.established, args.sas),
                        m.wall.as_secs_f64()
                    );
                }
                Err(e) => {
                    failed = true;
                    println!(
                        "{:<15} {:<20} failed: {e}",
                        group_name(group),
                        cipher.name()
                    );
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

//! The hub benchmark behind `dmvpn bench hub`: one real hub engine serves N
//! simulated spokes that register, resolve each other and refresh, and the
//! hub engine's CPU time and heap growth are measured.
//!
//! Method. The spokes' packets are produced by real spoke engines before any
//! measurement (each spoke engine is created, asked for its Registration
//! Request and for a Resolution Request for the next spoke's tunnel address,
//! then dropped). The hub then runs on the calling thread through four
//! measured phases, each timed with the thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`), so only the hub engine (input handling and
//! draining its actions, as a daemon would) is counted:
//! 1. registration of every spoke (t = 1 s);
//! 2. one Resolution Request per spoke for another spoke (t = 2 s), answered
//!    by the hub from its registration cache;
//! 3. refresh: every spoke registers again at holdtime/3;
//! 4. expiry: the hub's timers remove every entry after the holding time.
//!
//! Heap growth is glibc's allocated bytes (`mallinfo2`: `uordblks + hblkhd`)
//! after phase 1 minus before the hub was built, divided by the number of
//! cache entries: everything the hub keeps per registered spoke (entry,
//! timer, indexes).

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_nhrp::{Action, Engine, EngineConfig, EngineError, Event, Instant};
use serde::Serialize;
use thiserror::Error;

use crate::lab::{SEED_HOLDTIME, TUNNEL_IFINDEX, hub_iface, spoke_iface};
use crate::node::Prefix;
use crate::trace::{nhrp_type, packet_type};

/// Largest supported number of spokes (the 10.0.0.0/8 tunnel subnet).
pub const MAX_SPOKES: usize = 1 << 23;

/// Benchmark failures.
#[derive(Debug, Error)]
#[allow(missing_docs)] // fields are described by their variant's doc
pub enum BenchError {
    /// The spoke count is out of range.
    #[error("--spokes must be between 1 and {MAX_SPOKES}, got {0}")]
    Spokes(usize),
    /// An engine rejected its configuration.
    #[error("engine configuration rejected: {0}")]
    Engine(#[from] EngineError),
    /// A spoke engine did not produce the expected request.
    #[error("spoke {spoke} did not send a {what}")]
    NoRequest { spoke: usize, what: &'static str },
    /// The thread CPU clock is unavailable.
    #[error("cannot read the thread CPU clock: {0}")]
    Clock(String),
}

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct HubBenchOptions {
    /// Number of simulated spokes.
    pub spokes: usize,
    /// Seed for the engines' Request IDs.
    pub seed: u64,
}

/// The figures. Field names are part of the `dmvpn bench hub --json` output.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HubBenchReport {
    /// Number of spokes.
    pub spokes: usize,
    /// Registration Requests processed by the hub (initial + refresh).
    pub registrations: u64,
    /// Registrations the hub accepted.
    pub registrations_accepted: u64,
    /// Resolution Requests processed by the hub.
    pub resolutions: u64,
    /// Resolution Replies the hub sent.
    pub resolution_replies: u64,
    /// Cache entries of the hub after the registration phase.
    pub cache_entries: usize,
    /// Hub CPU seconds over all phases.
    pub cpu_seconds: f64,
    /// Hub CPU seconds spent on initial registrations.
    pub registration_cpu_seconds: f64,
    /// Hub CPU seconds spent on resolutions.
    pub resolution_cpu_seconds: f64,
    /// Hub CPU seconds spent on refresh registrations.
    pub refresh_cpu_seconds: f64,
    /// Hub CPU seconds spent expiring every entry.
    pub expiry_cpu_seconds: f64,
    /// Entries removed by expiry.
    pub expired: u64,
    /// Registrations (initial and refresh) per hub CPU second.
    pub registrations_per_cpu_second: f64,
    /// Resolutions per hub CPU second.
    pub resolutions_per_cpu_second: f64,
    /// Hub heap growth per cache entry, in bytes (`null` without glibc).
    pub bytes_per_cache_entry: Option<f64>,
}

/// The hub's addresses.
const HUB_TUNNEL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);

fn spoke_tunnel(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 2)).wrapping_add(i as u32))
}

fn spoke_nbma(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(100, 64, 0, 1)).wrapping_add(i as u32))
}

fn spoke_lan(i: usize) -> Prefix {
    // 172.(16..31).x.0/24 for up to 2^20 spokes, then wraps (harmless).
    let base = u32::from(Ipv4Addr::new(172, 16, 0, 0));
    lan24(Ipv4Addr::from(
        base.wrapping_add(((i as u32) & 0xF_FFFF) << 8),
    ))
}

/// The /24 of `addr` (a valid length, so the fallback never applies).
fn lan24(addr: Ipv4Addr) -> Prefix {
    Prefix::new(addr, 24).unwrap_or(Prefix::host(addr))
}

fn thread_cpu() -> Result<Duration, BenchError> {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .map_err(|e| BenchError::Clock(e.to_string()))
}

/// Bytes currently allocated by malloc, if the platform tells.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_in_use() -> Option<u64> {
    // SAFETY: mallinfo2 takes no arguments, only reads the allocator's
    // statistics under its own locks and returns a plain struct by value.
    let m = unsafe { libc::mallinfo2() };
    Some((m.uordblks as u64).saturating_add(m.hblkhd as u64))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_in_use() -> Option<u64> {
    None
}

/// The spoke packets the hub will be fed.
struct SpokePackets {
    nbma: Ipv4Addr,
    registration: Vec<u8>,
    resolution: Vec<u8>,
}

fn first_send(engine: &mut Engine, op: u8) -> Option<Vec<u8>> {
    let mut found = None;
    while let Some(a) = engine.poll_action() {
        if let Action::Send { bytes, .. } = a
            && found.is_none()
            && packet_type(&bytes) == Some(op)
        {
            found = Some(bytes);
        }
    }
    found
}

fn prepare(i: usize, n: usize, seed: u64) -> Result<SpokePackets, BenchError> {
    let nbma = spoke_nbma(i);
    let cfg = spoke_iface(
        spoke_tunnel(i),
        nbma,
        spoke_lan(i),
        &[(HUB_TUNNEL, HUB_NBMA)],
    );
    let mut spoke = Engine::new(
        EngineConfig {
            interfaces: vec![cfg],
        },
        seed ^ (i as u64),
    )?;
    spoke.handle_timeout(Instant::from_millis(1));
    let registration =
        first_send(&mut spoke, nhrp_type::REGISTRATION_REQUEST).ok_or(BenchError::NoRequest {
            spoke: i,
            what: "Registration Request",
        })?;
    let target = spoke_tunnel((i + 1) % n.max(1));
    let _ = spoke.handle_traffic(Instant::from_millis(2), TUNNEL_IFINDEX, target);
    let resolution =
        first_send(&mut spoke, nhrp_type::RESOLUTION_REQUEST).ok_or(BenchError::NoRequest {
            spoke: i,
            what: "Resolution Request",
        })?;
    Ok(SpokePackets {
        nbma,
        registration,
        resolution,
    })
}

#[derive(Default)]
struct Tally {
    sends: u64,
    replies_of_type: u64,
    accepted: u64,
    expired: u64,
}

fn drain(hub: &mut Engine, op: u8, t: &mut Tally) {
    while let Some(a) = hub.poll_action() {
        match a {
            Action::Send { bytes, .. } => {
                t.sends += 1;
                if packet_type(&bytes) == Some(op) {
                    t.replies_of_type += 1;
                }
            }
            Action::Event(Event::ClientRegistered { .. }) => t.accepted += 1,
            Action::Event(Event::CacheRemoved { .. }) => t.expired += 1,
            // Not tallied; listed so that a new action is a compile error here too.
            Action::MappingAdd { .. }
            | Action::MappingRemove { .. }
            | Action::ShortcutAdd { .. }
            | Action::ShortcutRemove { .. }
            | Action::ProtectionNeeded { .. }
            | Action::ProtectionNotNeeded { .. }
            | Action::MulticastAdd { .. }
            | Action::MulticastRemove { .. }
            | Action::Event(_) => {}
        }
    }
}

fn per_second(count: u64, cpu: Duration) -> f64 {
    let s = cpu.as_secs_f64();
    if s > 0.0 { count as f64 / s } else { 0.0 }
}

/// Run the benchmark.
pub fn run_hub_bench(opts: HubBenchOptions) -> Result<HubBenchReport, BenchError> {
    let n = opts.spokes;
    if n == 0 || n > MAX_SPOKES {
        return Err(BenchError::Spokes(n));
    }
    let packets = (0..n)
        .map(|i| prepare(i, n, opts.seed))
        .collect::<Result<Vec<_>, _>>()?;

    let heap_before = heap_in_use();
    let mut hub_cfg = hub_iface(HUB_TUNNEL, HUB_NBMA, lan24(Ipv4Addr::new(192, 168, 0, 0)));
    hub_cfg.prefix_len = 8;
    let mut hub = Engine::new(
        EngineConfig {
            interfaces: vec![hub_cfg],
        },
        opts.seed,
    )?;
    let iface = TUNNEL_IFINDEX;
    let mut tally = Tally::default();

    // Phase 1: registrations.
    let t_reg = Instant::from_secs(1);
    let c0 = thread_cpu()?;
    hub.handle_timeout(t_reg);
    drain(&mut hub, nhrp_type::REGISTRATION_REPLY, &mut tally);
    for p in &packets {
        hub.handle_packet(t_reg, iface, p.nbma, &p.registration);
        drain(&mut hub, nhrp_type::REGISTRATION_REPLY, &mut tally);
    }
    let c1 = thread_cpu()?;
    let heap_after = heap_in_use();
    let cache_entries = hub.interfaces().first().map(|v| v.entries).unwrap_or(0);

    // Phase 2: resolutions.
    let mut res = Tally::default();
    let t_res = Instant::from_secs(2);
    let c2 = thread_cpu()?;
    hub.handle_timeout(t_res);
    drain(&mut hub, nhrp_type::RESOLUTION_REPLY, &mut res);
    for p in &packets {
        hub.handle_packet(t_res, iface, p.nbma, &p.resolution);
        drain(&mut hub, nhrp_type::RESOLUTION_REPLY, &mut res);
    }
    let c3 = thread_cpu()?;

    // Phase 3: refresh at holdtime/3.
    let mut refresh = Tally::default();
    let t_ref = Instant::from_secs(1) + SEED_HOLDTIME / 3;
    let c4 = thread_cpu()?;
    hub.handle_timeout(t_ref);
    drain(&mut hub, nhrp_type::REGISTRATION_REPLY, &mut refresh);
    for p in &packets {
        hub.handle_packet(t_ref, iface, p.nbma, &p.registration);
        drain(&mut hub, nhrp_type::REGISTRATION_REPLY, &mut refresh);
    }
    let c5 = thread_cpu()?;

    // Phase 4: expiry of everything.
    let mut expiry = Tally::default();
    let t_exp = t_ref + SEED_HOLDTIME * 2;
    let c6 = thread_cpu()?;
    hub.handle_timeout(t_exp);
    drain(&mut hub, 0, &mut expiry);
    let c7 = thread_cpu()?;

    let reg_cpu = c1.saturating_sub(c0);
    let res_cpu = c3.saturating_sub(c2);
    let ref_cpu = c5.saturating_sub(c4);
    let exp_cpu = c7.saturating_sub(c6);
    let registrations = 2 * n as u64;
    let resolutions = n as u64;
    let bytes_per_cache_entry = match (heap_before, heap_after) {
        (Some(b), Some(a)) if cache_entries > 0 => {
            Some(a.saturating_sub(b) as f64 / cache_entries as f64)
        }
        _ => None,
    };
    Ok(HubBenchReport {
        spokes: n,
        registrations,
        registrations_accepted: tally.accepted + refresh.accepted,
        resolutions,
        resolution_replies: res.replies_of_type,
        cache_entries,
        cpu_seconds: (reg_cpu + res_cpu + ref_cpu + exp_cpu).as_secs_f64(),
        registration_cpu_seconds: reg_cpu.as_secs_f64(),
        resolution_cpu_seconds: res_cpu.as_secs_f64(),
        refresh_cpu_seconds: ref_cpu.as_secs_f64(),
        expiry_cpu_seconds: exp_cpu.as_secs_f64(),
        expired: expiry.expired,
        registrations_per_cpu_second: per_second(registrations, reg_cpu + ref_cpu),
        resolutions_per_cpu_second: per_second(resolutions, res_cpu),
        bytes_per_cache_entry,
    })
}

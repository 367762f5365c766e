//! The ESP throughput benchmark (`scripts/bench-esp-throughput.sh` runs it): TCP through
//! the userspace data plane between the hosts behind two spokes, over the direct
//! spoke-to-spoke path, in plain GRE and in ESP with each transform.
//!
//! A two-spoke phase-3 lab is built per mode (`gre`: no protection; `gcm`: the lab's
//! profile, `esp-gcm 256`; `cbc`: the same profile with `esp-aes 256 esp-sha256-hmac`),
//! the host behind spoke 1 pings the host behind spoke 2 until both spokes hold a
//! shortcut to each other and a ping no longer crosses the hub, then `iperf3` runs a TCP
//! test from the host behind spoke 1 to an `iperf3 -s` behind spoke 2, `--runs` times. All
//! the labs are up at once and the runs take turns (GRE, GCM, CBC, GRE, ...), so that the
//! machine's load weighs alike on every mode.
//!
//! Reported: the transform spoke 1's SA with spoke 2 negotiated (`show crypto ipsec sa`),
//! the receiver's Mbit/s per run, the median, and the sender's retransmissions.
//!
//! `esp_throughput --exe PATH [--modes gre,gcm,cbc] [--runs N] [--seconds S]`; needs root
//! and iperf3.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dmvpn_lab::{Lab, LabError, LabSpec, Phase, ns_run, unique_prefix, wait_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Gre,
    Gcm,
    Cbc,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Gre => "GRE (no IPsec)",
            Mode::Gcm => "ESP esp-gcm 256",
            Mode::Cbc => "ESP esp-aes 256 esp-sha256-hmac",
        }
    }
}

struct Args {
    exe: std::path::PathBuf,
    modes: Vec<Mode>,
    runs: u32,
    seconds: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut exe = None;
    let mut modes = vec![Mode::Gre, Mode::Gcm, Mode::Cbc];
    let mut runs = 3;
    let mut seconds = 10;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--exe" => exe = Some(std::path::PathBuf::from(value()?)),
            "--modes" => {
                modes = value()?
                    .split(',')
                    .map(|m| match m {
                        "gre" => Ok(Mode::Gre),
                        "gcm" => Ok(Mode::Gcm),
                        "cbc" => Ok(Mode::Cbc),
                        other => Err(format!("unknown mode {other} (gre, gcm, cbc)")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if runs == 0 || seconds == 0 {
        return Err("--runs and --seconds must be at least 1".to_string());
    }
    Ok(Args {
        exe: exe.ok_or("--exe PATH (the dmvpn binary) is required")?,
        modes,
        runs,
        seconds,
    })
}

/// One iperf3 test: the receiver's rate and the sender's retransmissions.
#[derive(Debug, Clone, Copy)]
struct Test {
    mbits: f64,
    retransmits: u64,
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("esp_throughput: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    println!(
        "iperf3 TCP, {} s, host behind spoke1 -> host behind spoke2 over the direct path (phase 3 shortcut), {} runs per mode",
        args.seconds, args.runs
    );
    println!(
        "{:<32} {:<28} {:<20} {:>8} {:>12}",
        "mode", "negotiated (spoke1 SA)", "Mbit/s per run", "median", "retransmits"
    );
    let mut failed = false;
    // Every mode's lab first, then the runs interleaved (GRE, GCM, CBC, GRE, ...), so that
    // a change in the machine's load does not land on one mode only.
    let mut ready = Vec::new();
    for &mode in &args.modes {
        match set_up(&args, mode) {
            Ok(r) => ready.push(r),
            Err(e) => {
                failed = true;
                println!("{:<32} failed: {e}", mode.name());
            }
        }
    }
    for _ in 0..args.runs {
        for r in ready.iter_mut().filter(|r| r.error.is_none()) {
            match r.test(args.seconds) {
                Ok(t) => r.tests.push(t),
                Err(e) => r.error = Some(e.to_string()),
            }
        }
    }
    for r in &ready {
        if let Some(e) = &r.error {
            failed = true;
            println!("{:<32} failed: {e}", r.mode.name());
            continue;
        }
        let mut rates: Vec<f64> = r.tests.iter().map(|t| t.mbits).collect();
        let per_run = rates
            .iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ");
        rates.sort_by(f64::total_cmp);
        let median = median(&rates);
        let retransmits: u64 = r.tests.iter().map(|t| t.retransmits).sum();
        println!(
            "{:<32} {:<28} {per_run:<20} {median:>8.0} {retransmits:>12}",
            r.mode.name(),
            r.transform
        );
    }
    drop(ready);
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// The median of sorted values (0 when empty).
fn median(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted.get(mid).copied().unwrap_or(0.0)
    } else {
        let a = sorted.get(mid.saturating_sub(1)).copied().unwrap_or(0.0);
        let b = sorted.get(mid).copied().unwrap_or(0.0);
        (a + b) / 2.0
    }
}

/// A lab up and warmed, and what its runs measured.
struct Ready {
    mode: Mode,
    lab: Lab,
    transform: String,
    tests: Vec<Test>,
    error: Option<String>,
}

impl Ready {
    /// One iperf3 test from the host behind spoke 1 to the host behind spoke 2, after a
    /// short ping that keeps the shortcut in use.
    fn test(&self, seconds: u32) -> Result<Test, LabError> {
        let (s1, s2) = (self.lab.node(1)?, self.lab.node(2)?);
        let _ = self.lab.ping(1, s2.host, 3, 0.05);
        iperf(&s1.host_ns, &s2.host_ns, s2.host, seconds)
    }
}

/// Builds and starts `mode`'s lab and warms up the direct path.
fn set_up(args: &Args, mode: Mode) -> Result<Ready, LabError> {
    let prefix = unique_prefix("bth");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, args.exe.clone());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.protection = mode != Mode::Gre;
    if mode == Mode::Cbc {
        spec.esp_transform = Some("esp-aes 256 esp-sha256-hmac".to_string());
    }
    // The daemons' logging stays out of the data path.
    spec.log_filter = "warn".to_string();
    let mut lab = Lab::build(spec)?;
    lab.start_all()?;
    wait_for(Duration::from_secs(60), "every registration", || {
        lab.all_registered().then_some(())
    })?;
    let nodes = lab.nodes().to_vec();
    let (Some(s1), Some(s2)) = (nodes.get(1), nodes.get(2)) else {
        return Err(LabError::Spec("the benchmark needs 2 spokes".to_string()));
    };
    // Warm up until both spokes hold a shortcut to each other and a ping stays off the hub.
    wait_for(
        Duration::from_secs(60),
        "the direct spoke-to-spoke path",
        || {
            let _ = lab.ping(1, s2.host, 5, 0.1);
            if !(lab.has_entry_with_nbma(1, s2.nbma) && lab.has_entry_with_nbma(2, s1.nbma)) {
                return None;
            }
            let before = (
                lab.packets_out_to(0, s1.nbma)?,
                lab.packets_out_to(0, s2.nbma)?,
            );
            let ping = lab.ping(1, s2.host, 10, 0.02).ok()?;
            let after = (
                lab.packets_out_to(0, s1.nbma)?,
                lab.packets_out_to(0, s2.nbma)?,
            );
            // NHRP's own packets may still cross the hub: allow a few, not the 20 echoes.
            let relayed = after.0.saturating_sub(before.0) + after.1.saturating_sub(before.1);
            (ping.lossless() && relayed < 5).then_some(())
        },
    )?;
    // What the spokes negotiated: the transform of spoke 1's SA with spoke 2.
    let transform = if mode == Mode::Gre {
        "-".to_string()
    } else {
        let socket = s1.socket.to_string_lossy().into_owned();
        let exe = args.exe.to_string_lossy().into_owned();
        let text = dmvpn_lab::run(
            &exe,
            &["--socket", &socket, "show", "crypto", "ipsec", "sa"],
        )?;
        negotiated_transform(&text, s2.nbma).unwrap_or_else(|| "?".to_string())
    };
    Ok(Ready {
        mode,
        lab,
        transform,
        tests: Vec::new(),
        error: None,
    })
}

/// The `transform:` of the first SA listed after `current_peer PEER` in `show crypto
/// ipsec sa`.
fn negotiated_transform(text: &str, peer: std::net::Ipv4Addr) -> Option<String> {
    let after = text.split(&format!("current_peer {peer} ")).nth(1)?;
    let line = after
        .lines()
        .find(|l| l.trim_start().starts_with("transform:"))?;
    let words = line.trim_start().strip_prefix("transform:")?;
    Some(words.trim().trim_end_matches(',').trim().to_string())
}

/// Kills and reaps a child when dropped (the iperf3 server).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One iperf3 TCP test from `client_ns` to a one-off server in `server_ns` at `server`.
fn iperf(
    client_ns: &str,
    server_ns: &str,
    server: std::net::Ipv4Addr,
    seconds: u32,
) -> Result<Test, LabError> {
    let spawn_err = |source| LabError::Spawn {
        program: "iperf3".to_string(),
        source,
    };
    let _server = Reaped(
        Command::new("ip")
            .args(["netns", "exec", server_ns, "iperf3", "-s", "-1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(spawn_err)?,
    );
    wait_for(Duration::from_secs(10), "iperf3 -s to listen", || {
        ns_run(server_ns, "ss", &["-ltn"])
            .ok()
            .filter(|out| out.contains(":5201"))
            .map(|_| ())
    })?;
    let out = Command::new("ip")
        .args(["netns", "exec", client_ns, "iperf3", "-J", "-c"])
        .arg(server.to_string())
        .args(["-t", &seconds.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(spawn_err)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let failed = |detail: &str| LabError::Command {
        command: format!("iperf3 -c {server}"),
        status: out.status,
        stderr: detail.to_string(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| failed(&format!("no JSON report: {e}")))?;
    if let Some(err) = json.get("error").and_then(|e| e.as_str()) {
        return Err(failed(err));
    }
    let end = json.get("end").ok_or_else(|| failed("no end section"))?;
    let bps = end
        .get("sum_received")
        .and_then(|s| s.get("bits_per_second"))
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| failed("no sum_received.bits_per_second"))?;
    let retransmits = end
        .get("sum_sent")
        .and_then(|s| s.get("retransmits"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Ok(Test {
        mbits: bps / 1e6,
        retransmits,
    })
}

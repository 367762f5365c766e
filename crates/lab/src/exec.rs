//! Running things for the lab: helper programs (`ip`, `sysctl`) on the host or inside a
//! namespace, polling for a condition with a deadline, stopping processes by pid, and
//! removing every trace of a lab by its prefix.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use crate::LabError;

/// Whether the process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn cmd_string(program: &str, args: &[&str]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

/// Runs a command to completion; fails with its stderr when it exits non-zero.
pub fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: program.to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(LabError::Command {
            command: cmd_string(program, args),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command inside a namespace (`ip netns exec NS ...`).
pub fn ns_run(ns: &str, program: &str, args: &[&str]) -> Result<String, LabError> {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Runs `ip -n NS ARGS...` (iproute2 acting on a namespace).
pub(crate) fn ip_ns(ns: &str, args: &[&str]) -> Result<String, LabError> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// Sets one sysctl (`key=value`) inside a namespace.
pub(crate) fn sysctl(ns: &str, key_value: &str) -> Result<(), LabError> {
    ns_run(ns, "sysctl", &["-qw", key_value]).map(|_| ())
}

/// The namespaces that currently exist.
pub fn list_namespaces() -> Result<Vec<String>, LabError> {
    let out = run("ip", &["netns", "list"])?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Removes a lab by prefix: stops the daemons recorded in its state directory (dmvpn and
/// FRR), deletes every
/// namespace named `PREFIX-…` and removes the state directory. Returns how many namespaces
/// were removed. Safe to call when nothing is there.
pub fn teardown_prefix(prefix: &str, state_dir: &Path) -> Result<usize, LabError> {
    if let Ok(entries) = fs::read_dir(state_dir) {
        let mut pids = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pid")
                && let Ok(text) = fs::read_to_string(&p)
                && let Ok(pid) = text.trim().parse::<i32>()
            {
                pids.push(Pid::from_raw(pid));
            }
        }
        // The FRR daemons of a lab that runs a routing protocol (not our children).
        for p in crate::frr::frr_pid_files(state_dir) {
            if let Ok(text) = fs::read_to_string(&p)
                && let Ok(pid) = text.trim().parse::<i32>()
            {
                pids.push(Pid::from_raw(pid));
            }
        }
        stop_pids(&pids);
    }
    let mut removed = 0;
    let want = format!("{prefix}-");
    for ns in list_namespaces()? {
        if ns.starts_with(&want) {
            let _ = run("ip", &["netns", "del", &ns]);
            removed += 1;
        }
    }
    let _ = fs::remove_dir_all(state_dir);
    Ok(removed)
}

fn process_alive(pid: Pid) -> bool {
    kill(pid, None).is_ok()
}

/// Sends SIGTERM to every pid, waits up to 5 s for them to exit (reaping our own children),
/// then kills what is left with SIGKILL.
pub(crate) fn stop_pids(pids: &[Pid]) {
    for &pid in pids {
        let _ = kill(pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && pids.iter().any(|&p| process_alive(p)) {
        // Reap our own children so they do not linger as zombies ("alive" for kill(0)).
        for &pid in pids {
            let _ = waitpid(pid, Some(WaitPidFlag::WNOHANG));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids {
        if process_alive(pid) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// A lab prefix unique to this process and call: `TAG` (at most 3 characters), the process
/// id and a counter, at most 10 characters in all.
pub fn unique_prefix(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 36;
    let tag: String = tag.chars().take(3).collect();
    format!(
        "{tag}{}{}",
        std::process::id() % 100_000,
        char::from_digit(n, 36).unwrap_or('z')
    )
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after `timeout` with `what`.
pub fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, LabError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(LabError::Timeout(format!(
                "timed out after {}s waiting for {what}",
                timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_prefixes_are_short_and_distinct() {
        let a = unique_prefix("abcdef");
        let b = unique_prefix("abcdef");
        assert_ne!(a, b);
        for p in [&a, &b] {
            assert!(p.starts_with("abc"), "{p}");
            assert!(p.len() <= 10, "{p}");
        }
    }

    #[test]
    fn wait_for_returns_the_first_value_and_times_out_with_what() {
        let mut calls = 0;
        let got = wait_for(Duration::from_secs(5), "a value", || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got.unwrap(), 3);
        let err = wait_for(Duration::ZERO, "nothing", || None::<()>).unwrap_err();
        assert_eq!(err.to_string(), "timed out after 0s waiting for nothing");
    }

    #[test]
    fn a_failing_command_reports_its_command_line() {
        let err = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("`sh -c echo oops >&2; exit 3` failed"),
            "{text}"
        );
        assert!(text.ends_with(": oops"), "{text}");
        assert!(matches!(
            run("/nonexistent/dmvpn-lab-helper", &[]),
            Err(LabError::Spawn { .. })
        ));
    }
}

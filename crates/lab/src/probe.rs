//! Observing a lab from outside the daemons: `ping` from a LAN host (iputils, summary parsed
//! into [`PingResult`]) and `tcpdump` captures on the internet segment ([`Capture`]), read
//! back as tcpdump's one-line decodes.

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::LabError;
use crate::exec::{run, wait_for};
use crate::topology::Lab;

/// Result of a ping run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PingResult {
    /// Echo requests sent.
    pub transmitted: u32,
    /// Echo replies received.
    pub received: u32,
}

impl PingResult {
    /// Whether every echo request was answered.
    pub fn lossless(&self) -> bool {
        self.transmitted > 0 && self.transmitted == self.received
    }
}

/// Pings from a namespace with iputils `ping`.
pub fn ping_in(ns: &str, dst: Ipv4Addr, count: u32, interval: f32) -> Result<PingResult, LabError> {
    let count_s = count.to_string();
    let interval_s = format!("{interval}");
    let dst_s = dst.to_string();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "ping",
            "-n",
            "-q",
            "-c",
            &count_s,
            "-i",
            &interval_s,
            "-W",
            "2",
            &dst_s,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: "ping".to_string(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_ping_summary(&text).ok_or_else(|| LabError::Command {
        command: format!("ping {dst_s} in {ns}"),
        status: out.status,
        stderr: format!(
            "{}{}",
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    })
}

/// Reads `N packets transmitted, M received` from ping's summary.
pub fn parse_ping_summary(text: &str) -> Option<PingResult> {
    let line = text.lines().find(|l| l.contains("packets transmitted"))?;
    let mut parts = line.split(',');
    let tx = parts.next()?.split_whitespace().next()?.parse().ok()?;
    let rx = parts.next()?.split_whitespace().next()?.parse().ok()?;
    Some(PingResult {
        transmitted: tx,
        received: rx,
    })
}

/// Counts decoded capture lines showing a packet from `src` to `dst` (`IP SRC > DST:`).
pub fn count_between(lines: &[String], src: Ipv4Addr, dst: Ipv4Addr) -> usize {
    let needle = format!("IP {src} > {dst}:");
    lines.iter().filter(|l| l.contains(&needle)).count()
}

impl Lab {
    /// Pings `dst` from the LAN host behind node `from` (`count` echoes, `interval` seconds
    /// apart, each waiting up to 2 s for its reply).
    pub fn ping(
        &self,
        from: usize,
        dst: Ipv4Addr,
        count: u32,
        interval: f32,
    ) -> Result<PingResult, LabError> {
        ping_in(&self.node(from)?.host_ns, dst, count, interval)
    }

    /// Starts a capture of GRE packets on the internet segment (the bridge `br0`).
    pub fn capture_gre(&self, name: &str) -> Result<Capture, LabError> {
        let file = self.state_dir().join(format!("{name}.pcap"));
        Capture::start(&self.inet_ns(), "br0", &file, "ip proto 47")
    }
}

/// A packet capture with tcpdump in a namespace, written to a pcap file.
#[derive(Debug)]
pub struct Capture {
    child: Option<Child>,
    file: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -i IFACE -w FILE FILTER` in `ns` and waits until it listens.
    pub fn start(ns: &str, iface: &str, file: &Path, filter: &str) -> Result<Capture, LabError> {
        let file_s = file.to_string_lossy().into_owned();
        let mut args = vec![
            "netns",
            "exec",
            ns,
            "tcpdump",
            "--immediate-mode",
            "-i",
            iface,
            "-n",
            "-U",
            "-w",
            &file_s,
        ];
        args.extend(filter.split_whitespace());
        let mut child = Command::new("ip")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: "tcpdump".to_string(),
                source,
            })?;
        let mut stderr = child.stderr.take().ok_or_else(|| LabError::Control {
            path: file.to_path_buf(),
            detail: "tcpdump stderr missing".to_string(),
        })?;
        // tcpdump says "listening on IFACE" once the socket is bound; read until then.
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match stderr.read(&mut byte) {
                Ok(1) => {
                    seen.extend_from_slice(&byte);
                    if String::from_utf8_lossy(&seen).contains("listening on") {
                        break;
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(LabError::Control {
                        path: file.to_path_buf(),
                        detail: format!("tcpdump failed: {}", String::from_utf8_lossy(&seen)),
                    });
                }
            }
        }
        // Keep draining stderr so tcpdump never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Ok(Capture {
            child: Some(child),
            file: file.to_path_buf(),
        })
    }

    /// tcpdump's one-line decodes of the packets captured so far (the capture goes on).
    pub fn lines(&self) -> Result<Vec<String>, LabError> {
        let file = self.file.to_string_lossy().into_owned();
        // A file cut in the middle of a packet makes tcpdump complain at the end; what it
        // printed before is still good.
        let out = Command::new("tcpdump")
            .args(["-r", &file, "-n", "-nn"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| LabError::Spawn {
                program: "tcpdump".to_string(),
                source,
            })?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// Polls the capture until `check` accepts its lines (or `timeout` passes), then stops it
    /// and returns every line.
    pub fn stop_when(
        self,
        timeout: Duration,
        mut check: impl FnMut(&[String]) -> bool,
    ) -> Result<Vec<String>, LabError> {
        let _ = wait_for(timeout, "the capture to show the expected packets", || {
            self.lines().ok().filter(|l| check(l)).map(|_| ())
        });
        self.stop()
    }

    /// Stops the capture and returns tcpdump's one-line decodes of every captured packet.
    pub fn stop(mut self) -> Result<Vec<String>, LabError> {
        self.halt();
        let file = self.file.to_string_lossy().into_owned();
        let out = run("tcpdump", &["-r", &file, "-n", "-nn"])?;
        Ok(out.lines().map(str::to_string).collect())
    }

    fn halt(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_summary_parses() {
        let text = "PING 192.168.2.10 (192.168.2.10) 56(84) bytes of data.\n\n--- 192.168.2.10 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 4005ms\n";
        let got = parse_ping_summary(text);
        assert_eq!(
            got,
            Some(PingResult {
                transmitted: 5,
                received: 4
            })
        );
        assert!(!got.unwrap().lossless());
        assert_eq!(parse_ping_summary("garbage"), None);
        assert_eq!(
            parse_ping_summary("x packets transmitted, 1 received"),
            None
        );
        assert_eq!(parse_ping_summary("3 packets transmitted"), None);
    }

    #[test]
    fn lossless_needs_replies_to_every_request() {
        let r = |transmitted, received| PingResult {
            transmitted,
            received,
        };
        assert!(r(3, 3).lossless());
        assert!(!r(0, 0).lossless());
        assert!(!r(3, 2).lossless());
    }

    #[test]
    fn capture_lines_are_counted_by_direction() {
        let lines: Vec<String> = [
            "12:00:00.000001 IP 172.16.1.1 > 172.17.0.1: GREv0, key=0x186a0, length 88",
            "12:00:00.000002 IP 172.17.0.1 > 172.16.2.1: GREv0, key=0x186a0, length 88",
            "12:00:00.000003 IP 172.16.1.1 > 172.17.0.1: GREv0, key=0x186a0, length 88",
        ]
        .map(str::to_string)
        .to_vec();
        let s1 = Ipv4Addr::new(172, 16, 1, 1);
        let hub = Ipv4Addr::new(172, 17, 0, 1);
        assert_eq!(count_between(&lines, s1, hub), 2);
        assert_eq!(count_between(&lines, hub, s1), 0);
    }
}

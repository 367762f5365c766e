//! The lab topology: a hub and N spokes in Linux network namespaces, each with a LAN host
//! behind it, joined by an "internet" namespace that routes between their NBMA subnets on one
//! bridge (`br0`, the segment tests capture on).
//!
//! This module owns everything that touches namespaces: building them (veth pairs, addresses,
//! routes, forwarding), writing each node's IOS-style configuration in the style of seed 003,
//! starting and stopping `dmvpn daemon` inside each node namespace, running commands in a
//! namespace (ping, tcpdump) and tearing everything down again. `dmvpn lab` and the
//! namespace integration tests both drive it, so the CLI demo and CI exercise the same code.
//!
//! Addressing (seed 003): hub NBMA `172.17.0.1/24`, spoke *n* NBMA `172.16.n.1/24` (the
//! internet namespace is the `.254` gateway of each), tunnel `10.0.0.1` (hub) and `10.0.0.n+1`
//! (spoke *n*) in `10.0.0.0/24`, LANs `192.168.n.0/24` with the router at `.1` and a host at
//! `.10` (`n = 0` is the hub). Physical interfaces are called `Ethernet0` (NBMA side) and
//! `Ethernet1` (LAN side) so that the configs read like the seeds.
//!
//! Every resource is named with a caller-chosen prefix; [`Lab`] removes all of it on drop, and
//! [`teardown_prefix`] removes a lab that was kept by an earlier process.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Errors while building, driving or removing a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab needs root (network namespaces, TUN devices, raw sockets).
    #[error(
        "`dmvpn lab` needs root: it creates network namespaces, TUN devices and raw sockets; run it with sudo"
    )]
    NotRoot,
    /// A helper program could not be started.
    #[error("cannot run `{program}`: {source}; is it installed?")]
    Spawn {
        /// The program name.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A helper command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A lab with this prefix already exists.
    #[error("a lab named `{0}` is already up; remove it with `dmvpn lab --down` first")]
    AlreadyUp(String),
    /// File-system error in the lab's state directory.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A daemon did not come up or answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The control socket gave an answer that could not be read.
    #[error("control socket {path}: {detail}")]
    Control {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

/// Which DMVPN phase the lab is configured for (seed 002's phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    /// Spokes use point-to-point GRE to the hub; all traffic goes through the hub.
    One,
    /// mGRE spokes resolve each other's NBMA addresses on demand (routes name the other spoke).
    Two,
    /// The hub redirects, spokes install shortcuts (routes are summarised via the hub).
    Three,
}

impl Phase {
    /// Phase from its number (1, 2 or 3).
    pub fn from_number(n: u8) -> Option<Phase> {
        match n {
            1 => Some(Phase::One),
            2 => Some(Phase::Two),
            3 => Some(Phase::Three),
            _ => None,
        }
    }

    /// The phase's number.
    pub fn number(self) -> u8 {
        match self {
            Phase::One => 1,
            Phase::Two => 2,
            Phase::Three => 3,
        }
    }
}

/// What lab to build.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Prefix of every namespace name (keep it short: at most 12 characters).
    pub prefix: String,
    /// Number of spokes (at least 2).
    pub spokes: usize,
    /// DMVPN phase.
    pub phase: Phase,
    /// `ip nhrp holdtime` of the spokes (the hub uses twice this).
    pub holdtime: u32,
    /// `ip nhrp registration timeout` of the spokes, when set (faster re-registration).
    pub registration_timeout: Option<u32>,
    /// `ip tcp adjust-mss` on every tunnel, when set.
    pub adjust_mss: Option<u16>,
    /// Directory for configs, control sockets, logs and pid files.
    pub state_dir: PathBuf,
    /// The `dmvpn` binary to run as `dmvpn daemon` inside each node namespace.
    pub exe: PathBuf,
    /// `RUST_LOG` for the daemons.
    pub log_filter: String,
    /// `--metrics ADDR` for the hub's daemon (an address inside the hub's namespace).
    pub hub_metrics: Option<std::net::SocketAddr>,
    /// Stop the daemons (SIGTERM) when the thread that started them ends, whatever the way
    /// out (panic, abort, Ctrl-C); off for labs that are kept up.
    pub bind_daemons: bool,
    /// Add seed 003's IPsec profile and `tunnel protection ipsec profile vpnprof` (exercises
    /// the protection gate; this build has no IPsec, so traffic is not encrypted).
    pub protection: bool,
}

impl LabSpec {
    /// A spec with the seed's defaults and the given prefix, spoke count and phase; the state
    /// directory is `/run/dmvpn-lab/PREFIX`.
    pub fn new(prefix: &str, spokes: usize, phase: Phase, exe: PathBuf) -> LabSpec {
        LabSpec {
            prefix: prefix.to_string(),
            spokes,
            phase,
            holdtime: 300,
            registration_timeout: None,
            adjust_mss: Some(1360),
            state_dir: default_state_dir(prefix),
            exe,
            log_filter: "info".to_string(),
            hub_metrics: None,
            bind_daemons: true,
            protection: false,
        }
    }
}

/// The default state directory of a lab with this prefix.
pub fn default_state_dir(prefix: &str) -> PathBuf {
    Path::new("/run/dmvpn-lab").join(prefix)
}

/// One router of the lab (the hub is index 0, spoke *n* is index *n*).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Node {
    /// `hub`, `spoke1`, `spoke2`, ...
    pub name: String,
    /// The router's namespace.
    pub ns: String,
    /// The LAN host's namespace.
    pub host_ns: String,
    /// NBMA address on `Ethernet0`.
    pub nbma: Ipv4Addr,
    /// Tunnel address on `Tunnel0`.
    pub tunnel: Ipv4Addr,
    /// The router's LAN address on `Ethernet1`.
    pub lan_gw: Ipv4Addr,
    /// The LAN host's address.
    pub host: Ipv4Addr,
    /// The node's configuration file.
    pub config: PathBuf,
    /// The node daemon's control socket.
    pub socket: PathBuf,
    /// The node daemon's log file.
    pub log: PathBuf,
}

impl Node {
    fn index_values(index: usize) -> (Ipv4Addr, Ipv4Addr, Ipv4Addr, Ipv4Addr) {
        let n = index as u8;
        let nbma = if index == 0 {
            Ipv4Addr::new(172, 17, 0, 1)
        } else {
            Ipv4Addr::new(172, 16, n, 1)
        };
        (
            nbma,
            Ipv4Addr::new(10, 0, 0, n + 1),
            Ipv4Addr::new(192, 168, n, 1),
            Ipv4Addr::new(192, 168, n, 10),
        )
    }

    /// The NBMA gateway (in the internet namespace) of this node's subnet.
    pub fn nbma_gateway(&self) -> Ipv4Addr {
        let o = self.nbma.octets();
        Ipv4Addr::new(o[0], o[1], o[2], 254)
    }
}

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

/// A built lab. Dropping it stops the daemons and removes every namespace, unless
/// [`Lab::keep`] was called.
#[derive(Debug)]
pub struct Lab {
    spec: LabSpec,
    nodes: Vec<Node>,
    daemons: Vec<Option<Child>>,
    keep: bool,
}

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

fn ip_ns(ns: &str, args: &[&str]) -> Result<String, LabError> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    run("ip", &all)
}

fn sysctl(ns: &str, key_value: &str) -> Result<(), LabError> {
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

/// Removes a lab by prefix: stops the daemons recorded in its state directory, deletes every
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

fn stop_pids(pids: &[Pid]) {
    for &pid in pids {
        let _ = kill(pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && pids.iter().any(|&p| process_alive(p)) {
        // Reap our own children so they do not linger as zombies ("alive" for kill(0)).
        for &pid in pids {
            let _ = nix::sys::wait::waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids {
        if process_alive(pid) {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
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

impl Lab {
    /// Builds the namespaces, links, addresses and configuration files (daemons not started).
    /// On failure everything already built is removed.
    pub fn build(spec: LabSpec) -> Result<Lab, LabError> {
        if !is_root() {
            return Err(LabError::NotRoot);
        }
        let inet = format!("{}-inet", spec.prefix);
        if list_namespaces()?.contains(&inet) {
            return Err(LabError::AlreadyUp(spec.prefix.clone()));
        }
        fs::create_dir_all(&spec.state_dir).map_err(|source| LabError::Io {
            path: spec.state_dir.clone(),
            source,
        })?;
        let nodes: Vec<Node> = (0..=spec.spokes)
            .map(|i| {
                let name = if i == 0 {
                    "hub".to_string()
                } else {
                    format!("spoke{i}")
                };
                let ns_short = if i == 0 {
                    "hub".to_string()
                } else {
                    format!("s{i}")
                };
                let (nbma, tunnel, lan_gw, host) = Node::index_values(i);
                Node {
                    ns: format!("{}-{ns_short}", spec.prefix),
                    host_ns: format!("{}-h{i}", spec.prefix),
                    nbma,
                    tunnel,
                    lan_gw,
                    host,
                    config: spec.state_dir.join(format!("{name}.conf")),
                    socket: spec.state_dir.join(format!("{name}.sock")),
                    log: spec.state_dir.join(format!("{name}.log")),
                    name,
                }
            })
            .collect();
        let lab = Lab {
            daemons: nodes.iter().map(|_| None).collect(),
            spec,
            nodes,
            keep: false,
        };
        lab.build_namespaces()?;
        lab.write_configs()?;
        Ok(lab)
    }

    fn build_namespaces(&self) -> Result<(), LabError> {
        let inet = self.inet_ns();
        run("ip", &["netns", "add", &inet])?;
        ip_ns(&inet, &["link", "set", "lo", "up"])?;
        ip_ns(&inet, &["link", "add", "br0", "type", "bridge"])?;
        ip_ns(&inet, &["link", "set", "br0", "up"])?;
        sysctl(&inet, "net.ipv4.ip_forward=1")?;
        sysctl(&inet, "net.ipv4.conf.all.send_redirects=0")?;
        sysctl(&inet, "net.ipv4.conf.default.send_redirects=0")?;
        sysctl(&inet, "net.ipv4.conf.br0.send_redirects=0")?;
        for (i, node) in self.nodes.iter().enumerate() {
            let gw = format!("{}/24", node.nbma_gateway());
            ip_ns(&inet, &["addr", "add", &gw, "dev", "br0"])?;
            run("ip", &["netns", "add", &node.ns])?;
            run("ip", &["netns", "add", &node.host_ns])?;
            ip_ns(&node.ns, &["link", "set", "lo", "up"])?;
            ip_ns(&node.host_ns, &["link", "set", "lo", "up"])?;
            let port = format!("p{i}");
            ip_ns(
                &node.ns,
                &[
                    "link",
                    "add",
                    "Ethernet0",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    &inet,
                ],
            )?;
            ip_ns(&inet, &["link", "set", &port, "master", "br0", "up"])?;
            let nbma = format!("{}/24", node.nbma);
            ip_ns(&node.ns, &["addr", "add", &nbma, "dev", "Ethernet0"])?;
            ip_ns(&node.ns, &["link", "set", "Ethernet0", "up"])?;
            let gw = node.nbma_gateway().to_string();
            ip_ns(&node.ns, &["route", "add", "default", "via", &gw])?;
            ip_ns(
                &node.ns,
                &[
                    "link",
                    "add",
                    "Ethernet1",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    &node.host_ns,
                ],
            )?;
            let lan = format!("{}/24", node.lan_gw);
            ip_ns(&node.ns, &["addr", "add", &lan, "dev", "Ethernet1"])?;
            ip_ns(&node.ns, &["link", "set", "Ethernet1", "up"])?;
            let host = format!("{}/24", node.host);
            ip_ns(&node.host_ns, &["addr", "add", &host, "dev", "eth0"])?;
            ip_ns(&node.host_ns, &["link", "set", "eth0", "up"])?;
            let lan_gw = node.lan_gw.to_string();
            ip_ns(&node.host_ns, &["route", "add", "default", "via", &lan_gw])?;
            sysctl(&node.ns, "net.ipv4.ip_forward=1")?;
            sysctl(&node.ns, "net.ipv4.conf.all.rp_filter=0")?;
            sysctl(&node.ns, "net.ipv4.conf.default.rp_filter=0")?;
        }
        Ok(())
    }

    /// The configuration text of node `index` (0 = hub), in seed 003's style.
    pub fn config_text(&self, index: usize) -> String {
        let spec = &self.spec;
        let hub = &self.nodes[0];
        let mut c = String::new();
        let Some(node) = self.nodes.get(index) else {
            return c;
        };
        let _ = writeln!(
            c,
            "! dmvpn lab, phase {}, {}",
            spec.phase.number(),
            node.name
        );
        let _ = writeln!(
            c,
            "hostname {}",
            if index == 0 {
                "Hub".to_string()
            } else {
                format!("Spoke{index}")
            }
        );
        let _ = writeln!(c, "!");
        if spec.protection {
            for line in [
                "crypto isakmp policy 1",
                " authentication pre-share",
                "crypto isakmp key cisco47 address 0.0.0.0",
                "!",
                "crypto ipsec transform-set trans2 esp-des esp-md5-hmac",
                " mode transport",
                "!",
                "crypto ipsec profile vpnprof",
                " set transform-set trans2",
                "!",
            ] {
                let _ = writeln!(c, "{line}");
            }
        }
        let _ = writeln!(c, "interface Tunnel0");
        let _ = writeln!(c, " ip address {} 255.255.255.0", node.tunnel);
        let _ = writeln!(c, " ip mtu 1400");
        if let Some(mss) = spec.adjust_mss {
            let _ = writeln!(c, " ip tcp adjust-mss {mss}");
        }
        let _ = writeln!(c, " ip nhrp authentication test");
        if index == 0 {
            let _ = writeln!(c, " ip nhrp map multicast dynamic");
            let _ = writeln!(c, " ip nhrp network-id 100000");
            let _ = writeln!(c, " ip nhrp holdtime {}", spec.holdtime.saturating_mul(2));
            if spec.phase == Phase::Three {
                let _ = writeln!(c, " ip nhrp redirect");
            }
            let _ = writeln!(c, " tunnel source Ethernet0");
            let _ = writeln!(c, " tunnel mode gre multipoint");
        } else {
            let _ = writeln!(c, " ip nhrp map {} {}", hub.tunnel, hub.nbma);
            if spec.phase != Phase::One {
                let _ = writeln!(c, " ip nhrp map multicast {}", hub.nbma);
            }
            let _ = writeln!(c, " ip nhrp network-id 100000");
            let _ = writeln!(c, " ip nhrp holdtime {}", spec.holdtime);
            let _ = writeln!(c, " ip nhrp nhs {}", hub.tunnel);
            if let Some(t) = spec.registration_timeout {
                let _ = writeln!(c, " ip nhrp registration timeout {t}");
            }
            if spec.phase == Phase::Three {
                let _ = writeln!(c, " ip nhrp shortcut");
            }
            let _ = writeln!(c, " tunnel source Ethernet0");
            if spec.phase == Phase::One {
                let _ = writeln!(c, " tunnel destination {}", hub.nbma);
            } else {
                let _ = writeln!(c, " tunnel mode gre multipoint");
            }
        }
        let _ = writeln!(c, " tunnel key 100000");
        if spec.protection {
            let _ = writeln!(c, " tunnel protection ipsec profile vpnprof");
        }
        let _ = writeln!(c, "!");
        // The physical interfaces are set up by the lab; they are listed as in the seeds (the
        // daemon does not configure them, it answers resolutions for Ethernet1's LAN).
        let _ = writeln!(c, "interface Ethernet0");
        let _ = writeln!(c, " ip address {} 255.255.255.0", node.nbma);
        let _ = writeln!(c, "!");
        let _ = writeln!(c, "interface Ethernet1");
        let _ = writeln!(c, " ip address {} 255.255.255.0", node.lan_gw);
        let _ = writeln!(c, "!");
        // Static routes stand in for the routing protocol of the seeds.
        if index == 0 {
            for s in &self.nodes[1..] {
                let _ = writeln!(
                    c,
                    "ip route {} 255.255.255.0 {}",
                    lan_net(s.lan_gw),
                    s.tunnel
                );
            }
        } else {
            match spec.phase {
                Phase::One | Phase::Three => {
                    // Summary via the hub.
                    let _ = writeln!(c, "ip route 192.168.0.0 255.255.0.0 {}", hub.tunnel);
                }
                Phase::Two => {
                    // As a routing protocol with next-hop preserved would give.
                    for (j, other) in self.nodes.iter().enumerate() {
                        if j != index {
                            let _ = writeln!(
                                c,
                                "ip route {} 255.255.255.0 {}",
                                lan_net(other.lan_gw),
                                other.tunnel
                            );
                        }
                    }
                }
            }
        }
        let _ = writeln!(c, "!");
        let _ = writeln!(c, "end");
        c
    }

    fn write_configs(&self) -> Result<(), LabError> {
        for (i, node) in self.nodes.iter().enumerate() {
            fs::write(&node.config, self.config_text(i)).map_err(|source| LabError::Io {
                path: node.config.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// The lab's spec.
    pub fn spec(&self) -> &LabSpec {
        &self.spec
    }

    /// All routers: the hub first, then the spokes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The internet namespace (holds the bridge `br0`).
    pub fn inet_ns(&self) -> String {
        format!("{}-inet", self.spec.prefix)
    }

    fn pid_file(&self, index: usize) -> PathBuf {
        self.spec
            .state_dir
            .join(format!("{}.pid", self.nodes[index].name))
    }

    /// Starts `dmvpn daemon` in node `index`'s namespace and waits until its control socket
    /// answers.
    pub fn start_daemon(&mut self, index: usize) -> Result<(), LabError> {
        let Some(node) = self.nodes.get(index).cloned() else {
            return Ok(());
        };
        let _ = fs::remove_file(&node.socket);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|source| LabError::Io {
                path: node.log.clone(),
                source,
            })?;
        let log2 = log.try_clone().map_err(|source| LabError::Io {
            path: node.log.clone(),
            source,
        })?;
        let exe = self.spec.exe.to_string_lossy().into_owned();
        let mut command = Command::new("ip");
        if self.spec.bind_daemons {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure runs in the forked child before exec and only makes the
            // prctl(2) system call, which is async-signal-safe; the death signal survives the
            // exec of `ip` and of the daemon.
            unsafe {
                command.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)
                });
            }
        }
        let child = command
            .args(["netns", "exec", &node.ns, &exe, "--socket"])
            .arg(&node.socket)
            .arg("daemon")
            .arg("--config")
            .arg(&node.config)
            .args(match (index, self.spec.hub_metrics) {
                (0, Some(addr)) => vec!["--metrics".to_string(), addr.to_string()],
                _ => Vec::new(),
            })
            .env("RUST_LOG", &self.spec.log_filter)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|source| LabError::Spawn {
                program: exe.clone(),
                source,
            })?;
        let pid_path = self.pid_file(index);
        if let Err(source) = fs::write(&pid_path, child.id().to_string()) {
            // Without its pid file nobody could stop it later: stop it now.
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            return Err(LabError::Io {
                path: pid_path,
                source,
            });
        }
        if let Some(slot) = self.daemons.get_mut(index) {
            *slot = Some(child);
        }
        let socket = node.socket.clone();
        let result = wait_for(
            Duration::from_secs(20),
            &format!("the daemon of {} to open {}", node.name, socket.display()),
            || {
                if let Some(Some(child)) = self.daemons.get_mut(index)
                    && let Ok(Some(status)) = child.try_wait()
                {
                    return Some(Err(status));
                }
                UnixStream::connect(&socket).ok().map(|_| Ok(()))
            },
        )?;
        if let Err(status) = result {
            let log = fs::read_to_string(&node.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(LabError::Timeout(format!(
                "the daemon of {} exited ({status}) before opening its control socket; its log:\n{}",
                node.name,
                tail.join("\n")
            )));
        }
        Ok(())
    }

    /// Starts every daemon, the hub first.
    pub fn start_all(&mut self) -> Result<(), LabError> {
        for i in 0..self.nodes.len() {
            self.start_daemon(i)?;
        }
        Ok(())
    }

    /// Kills node `index`'s daemon with SIGKILL (no Purge, no cleanup: a crash).
    pub fn kill_daemon(&mut self, index: usize) {
        if let Some(Some(mut child)) = self.daemons.get_mut(index).map(Option::take) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops node `index`'s daemon with SIGTERM and waits for it to exit.
    pub fn stop_daemon(&mut self, index: usize) -> Option<ExitStatus> {
        let mut child = self.daemons.get_mut(index).and_then(Option::take)?;
        let pid = Pid::from_raw(i32::try_from(child.id()).ok()?);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// Sends a signal to node `index`'s daemon (e.g. SIGHUP to reload).
    pub fn signal_daemon(&self, index: usize, signal: Signal) {
        if let Some(Some(child)) = self.daemons.get(index)
            && let Ok(pid) = i32::try_from(child.id())
        {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }

    /// Sends one control request to node `index`'s daemon and returns its payload (a
    /// daemon-side error becomes [`LabError::Control`]).
    pub fn request(
        &self,
        index: usize,
        request: &dmvpn_mgmt::Request,
    ) -> Result<dmvpn_mgmt::Payload, LabError> {
        let node = self.nodes.get(index).ok_or_else(|| LabError::Control {
            path: PathBuf::new(),
            detail: format!("no node {index}"),
        })?;
        control_request(&node.socket, request)
    }

    /// `show dmvpn` of node `index`.
    pub fn show_dmvpn(&self, index: usize) -> Result<dmvpn_mgmt::DmvpnStatus, LabError> {
        match self.request(
            index,
            &dmvpn_mgmt::Request::ShowDmvpn(dmvpn_mgmt::ShowDmvpn::default()),
        )? {
            dmvpn_mgmt::Payload::Dmvpn(d) => Ok(d),
            other => Err(unexpected(&self.nodes[index].socket, &other)),
        }
    }

    /// `show ip nhrp` of node `index`.
    pub fn show_nhrp(&self, index: usize) -> Result<dmvpn_mgmt::NhrpCache, LabError> {
        match self.request(
            index,
            &dmvpn_mgmt::Request::ShowIpNhrp(dmvpn_mgmt::ShowIpNhrp::default()),
        )? {
            dmvpn_mgmt::Payload::NhrpCache(c) => Ok(c),
            other => Err(unexpected(&self.nodes[index].socket, &other)),
        }
    }

    /// `show ip nhrp shortcut` of node `index`.
    pub fn show_shortcuts(&self, index: usize) -> Result<dmvpn_mgmt::ShortcutTable, LabError> {
        match self.request(
            index,
            &dmvpn_mgmt::Request::ShowIpNhrpShortcut(dmvpn_mgmt::InterfaceFilter::default()),
        )? {
            dmvpn_mgmt::Payload::Shortcuts(c) => Ok(c),
            other => Err(unexpected(&self.nodes[index].socket, &other)),
        }
    }

    /// Whether node `index` holds a complete NHRP entry (mapping or shortcut) whose NBMA
    /// address is `nbma`.
    pub fn has_entry_with_nbma(&self, index: usize, nbma: Ipv4Addr) -> bool {
        self.show_nhrp(index).is_ok_and(|c| {
            c.entries
                .iter()
                .any(|e| e.nbma == Some(std::net::IpAddr::V4(nbma)))
        })
    }

    /// Whether the hub's NHRP cache holds a registered entry for every spoke's tunnel address
    /// with its current NBMA address.
    pub fn all_registered(&self) -> bool {
        let Ok(cache) = self.show_nhrp(0) else {
            return false;
        };
        self.nodes[1..].iter().all(|s| {
            cache.entries.iter().any(|e| {
                e.prefix.address == std::net::IpAddr::V4(s.tunnel)
                    && e.nbma == Some(std::net::IpAddr::V4(s.nbma))
            })
        })
    }

    /// Tunnel counters of node `index` (`show dmvpn`): packets in and out of every peer and the
    /// whole tunnel.
    pub fn tunnel_counters(&self, index: usize) -> Option<dmvpn_mgmt::PacketCounters> {
        self.show_dmvpn(index)
            .ok()?
            .interfaces
            .first()
            .map(|i| i.counters)
    }

    /// Packets node `index` sent to the peer with NBMA address `nbma` (`show dmvpn` counters).
    pub fn packets_out_to(&self, index: usize, nbma: Ipv4Addr) -> Option<u64> {
        let status = self.show_dmvpn(index).ok()?;
        let iface = status.interfaces.first()?;
        Some(
            iface
                .peers
                .iter()
                .find(|p| p.nbma == std::net::IpAddr::V4(nbma))
                .map_or(0, |p| p.counters.packets_out),
        )
    }

    /// Pings `dst` from the LAN host behind node `from` (`count` echoes, `interval` seconds
    /// apart, each waiting up to 2 s for its reply).
    pub fn ping(
        &self,
        from: usize,
        dst: Ipv4Addr,
        count: u32,
        interval: f32,
    ) -> Result<PingResult, LabError> {
        let node = self.nodes.get(from).ok_or_else(|| LabError::Control {
            path: PathBuf::new(),
            detail: format!("no node {from}"),
        })?;
        ping_in(&node.host_ns, dst, count, interval)
    }

    /// The lab's state directory (configs, sockets, logs, pid files).
    pub fn state_dir(&self) -> &Path {
        &self.spec.state_dir
    }

    /// Starts a capture of GRE packets on the internet segment (the bridge `br0`).
    pub fn capture_gre(&self, name: &str) -> Result<Capture, LabError> {
        let file = self.spec.state_dir.join(format!("{name}.pcap"));
        Capture::start(&self.inet_ns(), "br0", &file, "ip proto 47")
    }

    /// Changes node `index`'s NBMA address (on `Ethernet0`) to `new`, in the same subnet, as
    /// a DHCP renewal would; the default route is restored.
    pub fn set_nbma(&mut self, index: usize, new: Ipv4Addr) -> Result<(), LabError> {
        let Some(node) = self.nodes.get_mut(index) else {
            return Ok(());
        };
        let ns = node.ns.clone();
        let gw = node.nbma_gateway().to_string();
        ip_ns(&ns, &["addr", "flush", "dev", "Ethernet0"])?;
        let addr = format!("{new}/24");
        ip_ns(&ns, &["addr", "add", &addr, "dev", "Ethernet0"])?;
        ip_ns(&ns, &["route", "replace", "default", "via", &gw])?;
        node.nbma = new;
        Ok(())
    }

    /// Appends configuration lines to node `index`'s configuration file (before `end`); send
    /// SIGHUP afterwards to apply them.
    pub fn append_config(&self, index: usize, lines: &str) -> Result<(), LabError> {
        let Some(node) = self.nodes.get(index) else {
            return Ok(());
        };
        let text = fs::read_to_string(&node.config).map_err(|source| LabError::Io {
            path: node.config.clone(),
            source,
        })?;
        let body = text.trim_end().strip_suffix("end").unwrap_or(&text);
        let new = format!("{}\n{}\nend\n", body.trim_end(), lines.trim_end());
        fs::write(&node.config, new).map_err(|source| LabError::Io {
            path: node.config.clone(),
            source,
        })
    }

    /// Whether node `index`'s daemon process is still running.
    pub fn daemon_running(&mut self, index: usize) -> bool {
        match self.daemons.get_mut(index) {
            Some(Some(child)) => matches!(child.try_wait(), Ok(None)),
            _ => false,
        }
    }

    /// Leaves the lab up when this value is dropped.
    pub fn keep(mut self) {
        self.keep = true;
        for d in &mut self.daemons {
            // Forget the child handles: the daemons keep running, their pid files remain.
            let _ = d.take();
        }
    }

    /// Stops the daemons and removes every namespace and the state directory.
    pub fn teardown(&mut self) {
        let pids: Vec<Pid> = self
            .daemons
            .iter_mut()
            .filter_map(Option::take)
            .filter_map(|c| i32::try_from(c.id()).ok())
            .map(Pid::from_raw)
            .collect();
        stop_pids(&pids);
        let _ = teardown_prefix(&self.spec.prefix, &self.spec.state_dir);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.keep {
            self.teardown();
        }
    }
}

fn lan_net(gw: Ipv4Addr) -> Ipv4Addr {
    let o = gw.octets();
    Ipv4Addr::new(o[0], o[1], o[2], 0)
}

fn unexpected(path: &Path, payload: &dmvpn_mgmt::Payload) -> LabError {
    LabError::Control {
        path: path.to_path_buf(),
        detail: format!("unexpected answer {}", payload.kind()),
    }
}

/// Sends one request on a control socket and returns the payload of the answer.
pub fn control_request(
    socket: &Path,
    request: &dmvpn_mgmt::Request,
) -> Result<dmvpn_mgmt::Payload, LabError> {
    let err = |detail: String| LabError::Control {
        path: socket.to_path_buf(),
        detail,
    };
    let mut client = dmvpn_mgmt::Client::connect_with_timeout(socket, Duration::from_secs(10))
        .map_err(|e| err(e.to_string()))?;
    match client.request(request).map_err(|e| err(e.to_string()))? {
        dmvpn_mgmt::Response::Ok { payload } => Ok(payload),
        dmvpn_mgmt::Response::Error { message } => Err(err(message)),
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
                    seen.push(byte[0]);
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

/// Counts decoded capture lines showing a packet from `src` to `dst` (`IP SRC > DST:`).
pub fn count_between(lines: &[String], src: Ipv4Addr, dst: Ipv4Addr) -> usize {
    let needle = format!("IP {src} > {dst}:");
    lines.iter().filter(|l| l.contains(&needle)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_summary_parses() {
        let text = "PING 192.168.2.10 (192.168.2.10) 56(84) bytes of data.\n\n--- 192.168.2.10 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 4005ms\n";
        assert_eq!(
            parse_ping_summary(text),
            Some(PingResult {
                transmitted: 5,
                received: 4
            })
        );
        assert_eq!(parse_ping_summary("garbage"), None);
    }

    #[test]
    fn phase_numbers_round_trip() {
        for n in 1..=3 {
            assert_eq!(Phase::from_number(n).map(Phase::number), Some(n));
        }
        assert_eq!(Phase::from_number(4), None);
    }
}

//! [`Lab`]: a built lab. It creates the namespaces (veth pairs, the internet bridge,
//! addresses, routes, forwarding), writes the configs, starts and stops `dmvpn daemon` in
//! each router's namespace, and removes everything again on drop unless it is kept.

use std::fs;
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::LabError;
use crate::exec::{ip_ns, is_root, list_namespaces, run, stop_pids, sysctl, teardown_prefix};
use crate::spec::{LabSpec, Node};

/// A built lab. Dropping it stops the daemons and removes every namespace, unless
/// [`Lab::keep`] was called.
#[derive(Debug)]
pub struct Lab {
    pub(crate) spec: LabSpec,
    pub(crate) nodes: Vec<Node>,
    daemons: Vec<Option<Child>>,
    keep: bool,
}

impl Lab {
    /// Builds the namespaces, links, addresses and configuration files (daemons not started).
    /// On failure everything already built is removed.
    pub fn build(spec: LabSpec) -> Result<Lab, LabError> {
        if !is_root() {
            return Err(LabError::NotRoot);
        }
        let nodes = spec.nodes()?;
        let inet = format!("{}-inet", spec.prefix);
        if list_namespaces()?.contains(&inet) {
            return Err(LabError::AlreadyUp(spec.prefix.clone()));
        }
        fs::create_dir_all(&spec.state_dir).map_err(|source| LabError::Io {
            path: spec.state_dir.clone(),
            source,
        })?;
        // From here on, dropping `lab` on an error removes what was built.
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
        let mut gateways = std::collections::HashSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            // The second hub shares the first hub's NBMA subnet and gateway.
            if gateways.insert(node.nbma_gateway()) {
                let gw = format!("{}/24", node.nbma_gateway());
                ip_ns(&inet, &["addr", "add", &gw, "dev", "br0"])?;
            }
            build_node(&inet, i, node)?;
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

    /// Router `index` (0 = hub), or a [`LabError::Control`] naming the missing index.
    pub fn node(&self, index: usize) -> Result<&Node, LabError> {
        self.nodes.get(index).ok_or_else(|| LabError::Control {
            path: PathBuf::new(),
            detail: format!("no node {index}"),
        })
    }

    /// The internet namespace (holds the bridge `br0`).
    pub fn inet_ns(&self) -> String {
        format!("{}-inet", self.spec.prefix)
    }

    /// The lab's state directory (configs, sockets, logs, pid files).
    pub fn state_dir(&self) -> &Path {
        &self.spec.state_dir
    }

    fn pid_file(&self, node: &Node) -> PathBuf {
        self.spec.state_dir.join(format!("{}.pid", node.name))
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
            .args(if self.spec.ipsec_keylog {
                vec![
                    "--ipsec-keylog".to_string(),
                    node.keys.to_string_lossy().into_owned(),
                ]
            } else {
                Vec::new()
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
        let pid_path = self.pid_file(&node);
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
        let result = crate::exec::wait_for(
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

    /// Whether node `index`'s daemon process is still running.
    pub fn daemon_running(&mut self, index: usize) -> bool {
        match self.daemons.get_mut(index) {
            Some(Some(child)) => matches!(child.try_wait(), Ok(None)),
            _ => false,
        }
    }

    /// The process id of node `index`'s daemon, while the lab runs it.
    pub fn daemon_pid(&self, index: usize) -> Option<u32> {
        self.daemons.get(index)?.as_ref().map(Child::id)
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

/// Loads an nftables ruleset into namespace `ns` (`nft -f FILE`, the file in the state
/// directory's parent temp dir).
pub(crate) fn nft_ns(ns: &str, rules: &str) -> Result<(), LabError> {
    let path = std::env::temp_dir().join(format!("{ns}.nft"));
    fs::write(&path, rules).map_err(|source| LabError::Io {
        path: path.clone(),
        source,
    })?;
    let file = path.to_string_lossy().into_owned();
    let result = crate::exec::ns_run(ns, "nft", &["-f", &file]).map(|_| ());
    let _ = fs::remove_file(&path);
    result
}

/// Builds router `i`'s namespace and its LAN host's, and plugs the router into the internet
/// namespace's bridge.
fn build_node(inet: &str, i: usize, node: &Node) -> Result<(), LabError> {
    run("ip", &["netns", "add", &node.ns])?;
    run("ip", &["netns", "add", &node.host_ns])?;
    ip_ns(&node.ns, &["link", "set", "lo", "up"])?;
    ip_ns(&node.host_ns, &["link", "set", "lo", "up"])?;
    let port = format!("p{i}");
    match (node.private_nbma, node.nat_ns()) {
        (Some(private), Some(nat)) => {
            // router Ethernet0 (10.200.n.1) -- inside (10.200.n.254) [NAT ns] outside
            // (the public NBMA) -- the internet bridge; nftables masquerades what leaves
            // `outside`.
            run("ip", &["netns", "add", &nat])?;
            ip_ns(&nat, &["link", "set", "lo", "up"])?;
            ip_ns(
                &nat,
                &[
                    "link", "add", "outside", "type", "veth", "peer", "name", &port, "netns", inet,
                ],
            )?;
            ip_ns(inet, &["link", "set", &port, "master", "br0", "up"])?;
            let public = format!("{}/24", node.nbma);
            ip_ns(&nat, &["addr", "add", &public, "dev", "outside"])?;
            ip_ns(&nat, &["link", "set", "outside", "up"])?;
            let gw = node.nbma_gateway().to_string();
            ip_ns(&nat, &["route", "add", "default", "via", &gw])?;
            ip_ns(
                &nat,
                &[
                    "link",
                    "add",
                    "inside",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "Ethernet0",
                    "netns",
                    &node.ns,
                ],
            )?;
            let [a, b, c, _] = private.octets();
            let inside = Ipv4Addr::new(a, b, c, 254);
            ip_ns(
                &nat,
                &["addr", "add", &format!("{inside}/24"), "dev", "inside"],
            )?;
            ip_ns(&nat, &["link", "set", "inside", "up"])?;
            sysctl(&nat, "net.ipv4.ip_forward=1")?;
            let rules = "table ip nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname \"outside\" masquerade\n }\n}\n";
            nft_ns(&nat, rules)?;
            ip_ns(
                &node.ns,
                &["addr", "add", &format!("{private}/24"), "dev", "Ethernet0"],
            )?;
            ip_ns(&node.ns, &["link", "set", "Ethernet0", "up"])?;
            ip_ns(
                &node.ns,
                &["route", "add", "default", "via", &inside.to_string()],
            )?;
        }
        _ => {
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
                    inet,
                ],
            )?;
            ip_ns(inet, &["link", "set", &port, "master", "br0", "up"])?;
            let nbma = format!("{}/24", node.nbma);
            ip_ns(&node.ns, &["addr", "add", &nbma, "dev", "Ethernet0"])?;
            ip_ns(&node.ns, &["link", "set", "Ethernet0", "up"])?;
            let gw = node.nbma_gateway().to_string();
            ip_ns(&node.ns, &["route", "add", "default", "via", &gw])?;
        }
    }
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
    Ok(())
}

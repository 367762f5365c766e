//! Real routing daemons over the tunnels: FRR's zebra plus bgpd or ospfd in each router's
//! namespace (see [`Routing`]). Our tunnels are TUN devices named `Tunnel0`, so FRR sees them
//! as ordinary interfaces; zebra puts the routes in the namespace's kernel table, where the
//! data plane's route mirror picks them up.
//!
//! Each router's daemons get their own directory, `STATE/frr/NAME/`, owned by the `frr` user
//! (the daemons drop to it): configuration files, the zebra API socket (`zserv.api`), the vty
//! sockets that `vtysh --vty_socket DIR` talks to, pid files and logs. The system FRR service
//! is not used. [`crate::teardown_prefix`] stops the daemons through their pid files.
//!
//! The configurations (AS 65000, timers kept short so that a lab converges in seconds):
//! * **BGP**: each hub is a route reflector with dynamic neighbours (`bgp listen range
//!   10.0.0.0/24 peer-group SPOKES`) and advertises its LAN; each spoke peers with the hub(s)
//!   and advertises its LAN. Phases 1 and 2: the reflected routes keep the advertising
//!   spoke's tunnel address as next hop. Phase 3: the hubs send only the summary
//!   `192.168.0.0/16` (`aggregate-address … summary-only`, next hop the hub), and NHRP
//!   shortcuts override it. With two hubs the spokes prefer the first (local preference 50
//!   on the second's routes), and the hubs peer with each other (the LANs behind the summary
//!   unsuppressed between them). Timers 3/9 s.
//! * **OSPF**: area 0 over the tunnel and the LANs (passive), hello 1 s, dead 4 s,
//!   `ip ospf mtu-ignore`; network type broadcast (the hub is the DR: priority 10, the second
//!   hub 5, spokes 0) or point-to-multipoint. Hellos are multicast, replicated by the hub's
//!   `ip nhrp map multicast dynamic` and the spokes' `ip nhrp map multicast` / NHS.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::LabError;
use crate::exec::{ns_run, wait_for};
use crate::spec::{LabSpec, Node, OspfNetwork, Phase, Routing};
use crate::topology::Lab;

/// Where Debian installs the FRR daemons.
pub const FRR_DAEMONS: &str = "/usr/lib/frr";

/// The BGP autonomous system of every router (iBGP over the tunnel).
pub const BGP_AS: u32 = 65000;

/// The summary the hubs send in phase 3 (every LAN of the lab).
pub const SUMMARY: &str = "192.168.0.0/16";

/// The routing daemon (besides zebra) that carries `routing`, if any.
pub fn routing_daemon(routing: Routing) -> Option<&'static str> {
    match routing {
        Routing::Static => None,
        Routing::Bgp => Some("bgpd"),
        Routing::Ospf => Some("ospfd"),
    }
}

/// Whether FRR's daemons are installed where Debian puts them.
pub fn frr_installed() -> bool {
    ["zebra", "bgpd", "ospfd"]
        .iter()
        .all(|d| Path::new(FRR_DAEMONS).join(d).exists())
}

/// The configuration of node `index`'s routing daemon (`bgpd.conf` or `ospfd.conf`); `None`
/// with static routing or when there is no such node.
pub fn routing_config(spec: &LabSpec, nodes: &[Node], index: usize) -> Option<String> {
    let node = nodes.get(index)?;
    match spec.routing {
        Routing::Static => None,
        Routing::Bgp => Some(bgp_config(spec, nodes, node)),
        Routing::Ospf => Some(ospf_config(spec, node, index)),
    }
}

fn bgp_config(spec: &LabSpec, nodes: &[Node], node: &Node) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "! dmvpn lab, {}: BGP", node.name);
    let _ = writeln!(c, "hostname {}", node.name);
    let _ = writeln!(c, "!");
    let hubs: Vec<&Node> = spec
        .hub_indexes()
        .into_iter()
        .filter_map(|i| nodes.get(i))
        .collect();
    if !node.hub && hubs.len() > 1 {
        // The first hub is the primary: the second hub's routes lose on local preference.
        let _ = writeln!(c, "route-map SECONDARY-HUB permit 10");
        let _ = writeln!(c, " set local-preference 50");
        let _ = writeln!(c, "exit");
        let _ = writeln!(c, "!");
    }
    // Spokes peer with every hub, and the hubs with each other.
    let upstream: Vec<&Node> = hubs
        .iter()
        .copied()
        .filter(|h| h.tunnel != node.tunnel)
        .collect();
    let summary = node.hub && spec.phase == Phase::Three;
    if summary && !upstream.is_empty() {
        // The other hub gets the LANs behind the summary too.
        let _ = writeln!(c, "route-map ALL permit 10");
        let _ = writeln!(c, "exit");
        let _ = writeln!(c, "!");
    }
    let _ = writeln!(c, "router bgp {BGP_AS}");
    let _ = writeln!(c, " bgp router-id {}", node.tunnel);
    let _ = writeln!(c, " bgp log-neighbor-changes");
    let _ = writeln!(c, " no bgp default ipv4-unicast");
    let _ = writeln!(c, " timers bgp 3 9");
    if node.hub {
        let _ = writeln!(c, " neighbor SPOKES peer-group");
        let _ = writeln!(c, " neighbor SPOKES remote-as {BGP_AS}");
        let _ = writeln!(c, " bgp listen range 10.0.0.0/24 peer-group SPOKES");
    }
    for h in &upstream {
        let _ = writeln!(c, " neighbor {} remote-as {BGP_AS}", h.tunnel);
        let _ = writeln!(c, " neighbor {} timers connect 1", h.tunnel);
    }
    let _ = writeln!(c, " !");
    let _ = writeln!(c, " address-family ipv4 unicast");
    let _ = writeln!(c, "  network {}/24", node.lan_net());
    if node.hub {
        let _ = writeln!(c, "  neighbor SPOKES activate");
        let _ = writeln!(c, "  neighbor SPOKES route-reflector-client");
        if summary {
            let _ = writeln!(c, "  aggregate-address {SUMMARY} summary-only");
        }
    }
    for h in &upstream {
        let _ = writeln!(c, "  neighbor {} activate", h.tunnel);
        if summary {
            let _ = writeln!(c, "  neighbor {} unsuppress-map ALL", h.tunnel);
        }
        if !node.hub && hubs.first().is_some_and(|first| first.tunnel != h.tunnel) {
            let _ = writeln!(c, "  neighbor {} route-map SECONDARY-HUB in", h.tunnel);
        }
    }
    let _ = writeln!(c, " exit-address-family");
    let _ = writeln!(c, "exit");
    c
}

fn ospf_config(spec: &LabSpec, node: &Node, index: usize) -> String {
    let mut c = String::new();
    let _ = writeln!(c, "! dmvpn lab, {}: OSPF", node.name);
    let _ = writeln!(c, "hostname {}", node.name);
    let _ = writeln!(c, "!");
    let _ = writeln!(c, "interface Tunnel0");
    match spec.ospf_network {
        OspfNetwork::Broadcast => {
            let priority = match (index, node.hub) {
                (0, _) => 10,
                (_, true) => 5,
                _ => 0,
            };
            let _ = writeln!(c, " ip ospf network broadcast");
            let _ = writeln!(c, " ip ospf priority {priority}");
        }
        OspfNetwork::PointToMultipoint => {
            let _ = writeln!(c, " ip ospf network point-to-multipoint");
        }
    }
    let _ = writeln!(c, " ip ospf hello-interval 1");
    let _ = writeln!(c, " ip ospf dead-interval 4");
    let _ = writeln!(c, " ip ospf retransmit-interval 2");
    let _ = writeln!(c, " ip ospf mtu-ignore");
    let _ = writeln!(c, "exit");
    let _ = writeln!(c, "!");
    let _ = writeln!(c, "router ospf");
    let _ = writeln!(c, " ospf router-id {}", node.tunnel);
    let _ = writeln!(c, " passive-interface Ethernet1");
    let _ = writeln!(c, " network 10.0.0.0/24 area 0");
    let _ = writeln!(c, " network {}/24 area 0", node.lan_net());
    let _ = writeln!(c, "exit");
    c
}

/// One BGP session as `show bgp summary json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BgpPeer {
    /// The neighbour's address.
    pub peer: String,
    /// `Established`, `Active`, `Connect`, ...
    pub state: String,
    /// Prefixes received from it.
    pub prefixes_received: u64,
}

/// One OSPF neighbour as `show ip ospf neighbor json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OspfNeighbor {
    /// The neighbour's router id.
    pub router_id: String,
    /// `Full/DR`, `Full/DROther`, `2-Way/DROther`, ...
    pub state: String,
}

impl OspfNeighbor {
    /// The adjacency is Full.
    pub fn full(&self) -> bool {
        self.state.starts_with("Full")
    }
}

/// The sessions in `show bgp summary json` (IPv4 unicast).
pub fn parse_bgp_summary(v: &serde_json::Value) -> Vec<BgpPeer> {
    let Some(peers) = v
        .get("ipv4Unicast")
        .and_then(|a| a.get("peers"))
        .and_then(|p| p.as_object())
    else {
        return Vec::new();
    };
    peers
        .iter()
        .map(|(addr, p)| BgpPeer {
            peer: addr.clone(),
            state: p
                .get("state")
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_string(),
            prefixes_received: p.get("pfxRcd").and_then(|n| n.as_u64()).unwrap_or(0),
        })
        .collect()
}

/// The neighbours in `show ip ospf neighbor json`.
pub fn parse_ospf_neighbors(v: &serde_json::Value) -> Vec<OspfNeighbor> {
    let Some(neighbors) = v.get("neighbors").and_then(|n| n.as_object()) else {
        return Vec::new();
    };
    neighbors
        .iter()
        .flat_map(|(id, list)| {
            list.as_array()
                .into_iter()
                .flatten()
                .map(move |n| OspfNeighbor {
                    router_id: id.clone(),
                    state: n
                        .get("nbrState")
                        .and_then(|s| s.as_str())
                        .unwrap_or("")
                        .to_string(),
                })
        })
        .collect()
}

/// The pids recorded in the FRR pid files under a lab's state directory
/// (`STATE/frr/NAME/*.pid`), with their files.
pub(crate) fn frr_pid_files(state_dir: &Path) -> Vec<PathBuf> {
    let Ok(dirs) = fs::read_dir(state_dir.join("frr")) else {
        return Vec::new();
    };
    dirs.flatten()
        .filter_map(|d| fs::read_dir(d.path()).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pid"))
        .collect()
}

fn read_pid(path: &Path) -> Option<Pid> {
    let text = fs::read_to_string(path).ok()?;
    text.trim().parse::<i32>().ok().map(Pid::from_raw)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LabError + '_ {
    move |source| LabError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Lab {
    /// Node `index`'s FRR directory (configs, sockets, pid files, logs).
    pub fn frr_dir(&self, index: usize) -> Result<PathBuf, LabError> {
        let node = self.node(index)?;
        Ok(self.state_dir().join("frr").join(&node.name))
    }

    /// The configuration of node `index`'s routing daemon, if the lab runs one.
    pub fn routing_config_text(&self, index: usize) -> Option<String> {
        routing_config(&self.spec, &self.nodes, index)
    }

    /// Starts zebra and the routing daemon of the spec on every node (nothing with static
    /// routing). Call once the dmvpn daemons run: FRR needs the `Tunnel0` devices.
    pub fn start_routing(&self) -> Result<(), LabError> {
        for i in 0..self.nodes.len() {
            self.start_routing_on(i)?;
        }
        Ok(())
    }

    /// Starts zebra and the routing daemon on node `index`, each with its own pid file, vty
    /// socket and log in [`Lab::frr_dir`], and waits until both answer on their vty sockets.
    pub fn start_routing_on(&self, index: usize) -> Result<(), LabError> {
        let Some(daemon) = routing_daemon(self.spec.routing) else {
            return Ok(());
        };
        if !frr_installed() {
            return Err(LabError::Spawn {
                program: format!("{FRR_DAEMONS}/{daemon}"),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let node = self.node(index)?.clone();
        let dir = self.frr_dir(index)?;
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        // The frr user must reach its directory whatever the umask was.
        for d in [self.state_dir(), &self.state_dir().join("frr")] {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = fs::set_permissions(d, fs::Permissions::from_mode(0o755));
        }
        let zebra_conf = dir.join("zebra.conf");
        fs::write(&zebra_conf, format!("hostname {}\n", node.name)).map_err(io_err(&zebra_conf))?;
        let conf = dir.join(format!("{daemon}.conf"));
        let text = self.routing_config_text(index).unwrap_or_default();
        fs::write(&conf, text).map_err(io_err(&conf))?;
        // The daemons drop to the frr user: it owns the directory and reads the configs.
        if let Ok(Some(user)) = nix::unistd::User::from_name("frr") {
            for p in [&dir, &zebra_conf, &conf] {
                let _ =
                    std::os::unix::fs::chown(p, Some(user.uid.as_raw()), Some(user.gid.as_raw()));
            }
        }
        let zserv = dir.join("zserv.api");
        for name in ["zebra", daemon] {
            let _ = fs::remove_file(dir.join(format!("{name}.vty")));
            let program = format!("{FRR_DAEMONS}/{name}");
            let d = dir.to_string_lossy().into_owned();
            let args: Vec<String> = vec![
                "-d".into(),
                "-z".into(),
                zserv.to_string_lossy().into_owned(),
                "-i".into(),
                format!("{d}/{name}.pid"),
                "--vty_socket".into(),
                d.clone(),
                "-f".into(),
                format!("{d}/{name}.conf"),
                "-P".into(),
                "0".into(),
                "--log".into(),
                format!("file:{d}/{name}.log"),
            ];
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ns_run(&node.ns, &program, &args)?;
            let vty = dir.join(format!("{name}.vty"));
            wait_for(
                Duration::from_secs(20),
                &format!("{name} of {} to open {}", node.name, vty.display()),
                || (vty.exists() && (name != "zebra" || zserv.exists())).then_some(()),
            )?;
        }
        Ok(())
    }

    /// Sends `signal` to node `index`'s FRR daemons (through their pid files) and, for a
    /// signal that ends them, waits up to 5 s for them to exit.
    pub fn signal_routing(&self, index: usize, signal: Signal) {
        let Ok(dir) = self.frr_dir(index) else {
            return;
        };
        let pids: Vec<Pid> = fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "pid"))
            .filter_map(|p| read_pid(&p))
            .collect();
        for &pid in &pids {
            let _ = kill(pid, signal);
        }
        if matches!(signal, Signal::SIGTERM | Signal::SIGKILL) {
            let _ = wait_for(Duration::from_secs(5), "FRR to exit", || {
                pids.iter().all(|&p| kill(p, None).is_err()).then_some(())
            });
        }
    }

    /// Kills node `index` as a power cut would: its NBMA link goes down first, so that
    /// nothing leaves it any more (no Purge, no BGP notification, no TCP reset from the
    /// kernel closing the dead daemons' sockets), then its dmvpn daemon and its FRR daemons
    /// get SIGKILL.
    pub fn kill_node(&mut self, index: usize) {
        if let Ok(node) = self.node(index) {
            let _ = crate::exec::ip_ns(&node.ns, &["link", "set", "Ethernet0", "down"]);
        }
        self.kill_daemon(index);
        self.signal_routing(index, Signal::SIGKILL);
    }

    /// Runs `vtysh -c COMMAND` against node `index`'s FRR daemons.
    pub fn vtysh(&self, index: usize, command: &str) -> Result<String, LabError> {
        let node = self.node(index)?;
        let dir = self.frr_dir(index)?.to_string_lossy().into_owned();
        ns_run(&node.ns, "vtysh", &["--vty_socket", &dir, "-c", command])
    }

    /// Runs a vtysh `show … json` command on node `index` and parses its answer.
    pub fn vtysh_json(&self, index: usize, command: &str) -> Result<serde_json::Value, LabError> {
        let text = self.vtysh(index, command)?;
        serde_json::from_str(&text).map_err(|e| LabError::Control {
            path: self.frr_dir(index).unwrap_or_default(),
            detail: format!("`{command}` did not answer JSON ({e}): {text}"),
        })
    }

    /// Node `index`'s BGP sessions (`show bgp summary json`); empty when there are none.
    pub fn bgp_peers(&self, index: usize) -> Vec<BgpPeer> {
        self.vtysh_json(index, "show bgp summary json")
            .map(|v| parse_bgp_summary(&v))
            .unwrap_or_default()
    }

    /// Node `index`'s OSPF neighbours (`show ip ospf neighbor json`).
    pub fn ospf_neighbors(&self, index: usize) -> Vec<OspfNeighbor> {
        self.vtysh_json(index, "show ip ospf neighbor json")
            .map(|v| parse_ospf_neighbors(&v))
            .unwrap_or_default()
    }

    /// Whether node `index` routes `dst` into the tunnel (`ip route get`).
    pub fn routes_via_tunnel(&self, index: usize, dst: std::net::Ipv4Addr) -> bool {
        let Ok(node) = self.node(index) else {
            return false;
        };
        ns_run(&node.ns, "ip", &["route", "get", &dst.to_string()])
            .is_ok_and(|out| out.contains("dev Tunnel0"))
    }

    /// Whether the routing protocol is up: with BGP every spoke's session with every hub is
    /// Established; with OSPF every spoke's adjacency with every hub is Full; and every node
    /// routes every other node's LAN host into the tunnel. Always true with static routing.
    pub fn routing_converged(&self) -> bool {
        if self.spec.routing == Routing::Static {
            return true;
        }
        let hubs: Vec<&Node> = self.nodes.iter().filter(|n| n.hub).collect();
        // Every spoke with every hub, and the hubs with each other.
        let sessions_up = self.nodes.iter().enumerate().all(|(i, n)| {
            let hubs: Vec<&Node> = hubs
                .iter()
                .copied()
                .filter(|h| h.tunnel != n.tunnel)
                .collect();
            match self.spec.routing {
                Routing::Bgp => {
                    let peers = self.bgp_peers(i);
                    hubs.iter().all(|h| {
                        let want = h.tunnel.to_string();
                        peers
                            .iter()
                            .any(|p| p.peer == want && p.state == "Established")
                    })
                }
                Routing::Ospf => {
                    let neighbors = self.ospf_neighbors(i);
                    hubs.iter().all(|h| {
                        let want = h.tunnel.to_string();
                        neighbors.iter().any(|o| o.router_id == want && o.full())
                    })
                }
                Routing::Static => true,
            }
        });
        sessions_up
            && self.nodes.iter().enumerate().all(|(i, _)| {
                self.nodes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .all(|(_, other)| self.routes_via_tunnel(i, other.host))
            })
    }

    /// Waits until [`Lab::routing_converged`], or fails after `timeout` naming what is
    /// missing.
    pub fn wait_routing(&self, timeout: Duration) -> Result<(), LabError> {
        wait_for(timeout, "the routing protocol to converge", || {
            self.routing_converged().then_some(())
        })
        .map_err(|e| LabError::Timeout(format!("{e}; {}", self.routing_summary())))
    }

    /// The routing protocol's state in one line per node: BGP sessions or OSPF neighbours.
    pub fn routing_summary(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let state = match self.spec.routing {
                Routing::Static => continue,
                Routing::Bgp => self
                    .bgp_peers(i)
                    .iter()
                    .map(|p| format!("{} {} ({} prefixes)", p.peer, p.state, p.prefixes_received))
                    .collect::<Vec<_>>()
                    .join(", "),
                Routing::Ospf => self
                    .ospf_neighbors(i)
                    .iter()
                    .map(|o| format!("{} {}", o.router_id, o.state))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let _ = write!(
                out,
                "{}{}: {}",
                if out.is_empty() { "" } else { "; " },
                n.name,
                if state.is_empty() { "none" } else { &state }
            );
        }
        out
    }

    /// The kernel routes of node `index` (`ip route show`, optionally only protocol
    /// `proto`: `bgp`, `ospf`, `157`, ...), one per line, without the `nhid N` that routes
    /// installed through nexthop objects (zebra's) carry, so that they read
    /// `PREFIX via GATEWAY dev DEVICE ...` like any other.
    pub fn kernel_routes(&self, index: usize, proto: Option<&str>) -> String {
        let Ok(node) = self.node(index) else {
            return String::new();
        };
        let mut args = vec!["route", "show"];
        if let Some(p) = proto {
            args.extend(["proto", p]);
        }
        without_nhid(&ns_run(&node.ns, "ip", &args).unwrap_or_default())
    }
}

/// `ip route` output without the `nhid N` words.
fn without_nhid(routes: &str) -> String {
    routes
        .lines()
        .map(|line| {
            let mut words = Vec::new();
            let mut skip = false;
            for w in line.split_whitespace() {
                if skip {
                    skip = false;
                } else if w == "nhid" {
                    skip = true;
                } else {
                    words.push(w);
                }
            }
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `vtysh` to check it is installed (used by preflights).
pub fn vtysh_installed() -> bool {
    Command::new("vtysh")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(routing: Routing, phase: Phase, dual: bool) -> (LabSpec, Vec<Node>) {
        let mut spec = LabSpec::new("t", 2, phase, PathBuf::from("dmvpn"));
        spec.routing = routing;
        spec.dual_hub = dual;
        let nodes = spec.nodes().unwrap();
        (spec, nodes)
    }

    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn bgp_hub_reflects_to_dynamic_neighbours_and_phase3_sends_only_the_summary() {
        let (s, nodes) = spec(Routing::Bgp, Phase::Two, false);
        let hub = routing_config(&s, &nodes, 0).unwrap();
        assert!(has(&hub, "router bgp 65000"));
        assert!(has(&hub, " bgp listen range 10.0.0.0/24 peer-group SPOKES"));
        assert!(has(&hub, "  neighbor SPOKES route-reflector-client"));
        assert!(has(&hub, "  network 192.168.0.0/24"));
        assert!(has(&hub, " timers bgp 3 9"));
        assert!(!hub.contains("aggregate-address"));
        let spoke = routing_config(&s, &nodes, 2).unwrap();
        assert!(has(&spoke, " neighbor 10.0.0.1 remote-as 65000"));
        assert!(has(&spoke, "  network 192.168.2.0/24"));
        assert!(!spoke.contains("route-map"));
        let (s3, nodes3) = spec(Routing::Bgp, Phase::Three, false);
        let hub3 = routing_config(&s3, &nodes3, 0).unwrap();
        assert!(has(
            &hub3,
            "  aggregate-address 192.168.0.0/16 summary-only"
        ));
    }

    #[test]
    fn dual_hub_spokes_peer_with_both_and_prefer_the_first() {
        let (s, nodes) = spec(Routing::Bgp, Phase::Three, true);
        let spoke = routing_config(&s, &nodes, 1).unwrap();
        assert!(has(&spoke, " neighbor 10.0.0.1 remote-as 65000"));
        assert!(has(&spoke, " neighbor 10.0.0.254 remote-as 65000"));
        assert!(has(
            &spoke,
            "  neighbor 10.0.0.254 route-map SECONDARY-HUB in"
        ));
        assert!(!spoke.contains("neighbor 10.0.0.1 route-map"));
        let hub2 = routing_config(&s, &nodes, 3).unwrap();
        assert!(has(&hub2, " bgp router-id 10.0.0.254"));
        assert!(has(&hub2, " neighbor 10.0.0.1 remote-as 65000"));
        assert!(has(&hub2, "  neighbor 10.0.0.1 unsuppress-map ALL"));
        assert!(!hub2.contains("SECONDARY-HUB"));
        let hub1 = routing_config(&s, &nodes, 0).unwrap();
        assert!(has(&hub1, " neighbor 10.0.0.254 remote-as 65000"));
        assert!(has(&hub1, "  neighbor 10.0.0.254 unsuppress-map ALL"));
        // Route maps come before `router bgp`, whose block holds no `exit` of its own.
        for text in [&hub1, &hub2, &spoke] {
            let router = text.find("router bgp").unwrap();
            assert!(!text[..router].contains("neighbor"), "{text}");
            assert!(!text[router..].contains("route-map ALL permit"), "{text}");
            assert_eq!(text[router..].matches("\nexit\n").count(), 1, "{text}");
        }
        assert!(has(
            &hub2,
            " bgp listen range 10.0.0.0/24 peer-group SPOKES"
        ));
        assert!(has(&hub2, "  network 192.168.254.0/24"));
    }

    #[test]
    fn ospf_broadcast_makes_the_hub_dr_and_p2mp_has_no_priorities() {
        let (mut s, nodes) = spec(Routing::Ospf, Phase::Two, true);
        let hub = routing_config(&s, &nodes, 0).unwrap();
        assert!(has(&hub, " ip ospf network broadcast"));
        assert!(has(&hub, " ip ospf priority 10"));
        assert!(has(&hub, " ip ospf mtu-ignore"));
        assert!(has(&hub, " ip ospf hello-interval 1"));
        assert!(has(&hub, " ip ospf dead-interval 4"));
        assert!(has(&hub, " network 192.168.0.0/24 area 0"));
        assert!(has(
            &routing_config(&s, &nodes, 3).unwrap(),
            " ip ospf priority 5"
        ));
        assert!(has(
            &routing_config(&s, &nodes, 1).unwrap(),
            " ip ospf priority 0"
        ));
        s.ospf_network = OspfNetwork::PointToMultipoint;
        let spoke = routing_config(&s, &nodes, 1).unwrap();
        assert!(has(&spoke, " ip ospf network point-to-multipoint"));
        assert!(!spoke.contains("priority"));
        assert!(has(&spoke, " network 192.168.1.0/24 area 0"));
        assert!(has(&spoke, " passive-interface Ethernet1"));
    }

    #[test]
    fn static_routing_runs_no_daemon() {
        let (s, nodes) = spec(Routing::Static, Phase::Three, false);
        assert_eq!(routing_config(&s, &nodes, 0), None);
        assert_eq!(routing_daemon(Routing::Static), None);
        assert_eq!(routing_daemon(Routing::Bgp), Some("bgpd"));
        let (s, nodes) = spec(Routing::Bgp, Phase::Three, false);
        assert_eq!(routing_config(&s, &nodes, 7), None);
    }

    #[test]
    fn nexthop_ids_are_left_out_of_route_lines() {
        assert_eq!(
            without_nhid(
                "192.168.2.0/24 nhid 16 via 10.0.0.3 dev Tunnel0 proto bgp metric 20 \ndefault via 1.2.3.4 dev eth0"
            ),
            "192.168.2.0/24 via 10.0.0.3 dev Tunnel0 proto bgp metric 20\ndefault via 1.2.3.4 dev eth0"
        );
    }

    #[test]
    fn frr_json_answers_are_read() {
        let bgp = serde_json::json!({"ipv4Unicast": {"routerId": "10.0.0.1", "peers": {
            "10.0.0.2": {"state": "Established", "pfxRcd": 1, "dynamicPeer": true},
            "10.0.0.3": {"state": "Active"}}}});
        let peers = parse_bgp_summary(&bgp);
        assert_eq!(peers.len(), 2);
        assert_eq!(
            peers[0],
            BgpPeer {
                peer: "10.0.0.2".into(),
                state: "Established".into(),
                prefixes_received: 1
            }
        );
        assert_eq!(peers[1].prefixes_received, 0);
        assert!(parse_bgp_summary(&serde_json::json!({})).is_empty());
        let ospf = serde_json::json!({"neighbors": {"10.0.0.1": [
            {"nbrState": "Full/DR", "ifaceName": "Tunnel0:10.0.0.2"}]}});
        let n = parse_ospf_neighbors(&ospf);
        assert_eq!(n.len(), 1);
        assert!(n[0].full());
        assert_eq!(n[0].router_id, "10.0.0.1");
        assert!(
            !OspfNeighbor {
                router_id: String::new(),
                state: "2-Way/DROther".into()
            }
            .full()
        );
        assert!(parse_ospf_neighbors(&serde_json::json!([])).is_empty());
    }
}

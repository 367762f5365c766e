//! Seed 003's spoke-to-spoke walk-through, as `dmvpn lab` runs it: build the lab, start the
//! daemons, wait for the registrations, start the routing protocol when the lab runs one
//! (FRR's BGP or OSPF over the tunnel) and show its sessions and routes, ping from the host
//! behind spoke 1 to the host behind
//! spoke 2 (via the hub), watch the resolution or redirect give the spokes a direct mapping,
//! ping again, and show `show dmvpn` of every node. It narrates each step in words through a
//! caller-given function and fills a [`Report`], the `--json` output of `dmvpn lab`, whose
//! field names are a contract (see `docs/lab.md`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dmvpn_mgmt::{InterfaceFilter, NhrpTypeCounters, Payload, Request};
use serde::Serialize;

use crate::LabError;
use crate::exec::wait_for;
use crate::probe::PingResult;
use crate::spec::{LabSpec, Phase, Routing};
use crate::topology::Lab;

/// What the walk-through found: the `--json` report of `dmvpn lab`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every spoke registered, every ping got replies, and (phases 2, 3) spoke 1 holds a
    /// direct entry for spoke 2.
    pub ok: bool,
    /// The phase built.
    pub phase: u8,
    /// The number of spokes built.
    pub spokes: usize,
    /// What carries the routes: `static`, `bgp` or `ospf`.
    pub routing: String,
    /// The routing protocol's sessions (BGP) or adjacencies (OSPF) once it converged, per
    /// node; empty with static routes.
    pub routing_neighbors: Vec<RoutingNeighbor>,
    /// What went wrong, if anything (set by the caller, which knows how to word the error).
    pub error: Option<String>,
    /// The two ping runs.
    pub pings: Vec<PingReport>,
    /// Whether each spoke registered with the hub.
    pub registrations: Vec<Registration>,
    /// Whether the spokes hold direct entries for each other.
    pub shortcut: ShortcutReport,
    /// Packets the hub had sent to spoke 2's NBMA address before the first ping.
    pub hub_relayed_before: Option<u64>,
    /// Packets the hub had sent to spoke 2's NBMA address after the second ping.
    pub hub_relayed_after: Option<u64>,
    /// One sentence per ping saying which way it went.
    pub path: Vec<String>,
    /// Each node's control socket.
    pub sockets: Vec<SocketReport>,
    /// The lab was left up.
    pub kept: bool,
    /// The tunnels were protected by IPsec (IKEv2 and ESP; `dmvpn lab --no-ipsec` clears it).
    pub ipsec: bool,
    /// What tcpdump saw on the internet segment during the walk-through (`None` without
    /// tcpdump).
    pub wire: Option<WireReport>,
}

/// Packets between the routers on the internet segment, by kind.
#[derive(Debug, Clone, Serialize, Default)]
pub struct WireReport {
    /// Cleartext GRE (IP protocol 47): none when the tunnels are protected.
    pub gre: usize,
    /// ESP (IP protocol 50).
    pub esp: usize,
    /// IKE on UDP 500.
    pub ike: usize,
    /// UDP 4500: IKE and ESP through a NAT.
    pub nat_t: usize,
}

impl WireReport {
    fn count(lines: &[String]) -> WireReport {
        let mut w = WireReport::default();
        for l in lines {
            if l.contains(": GREv0") || l.contains("GREv0,") {
                w.gre += 1;
            } else if l.contains(": ESP(") {
                w.esp += 1;
            } else if l.contains(".4500 ") || l.contains(".4500:") {
                w.nat_t += 1;
            } else if l.contains(".500 ") || l.contains(".500:") {
                w.ike += 1;
            }
        }
        w
    }
}

/// One ping run of the walk-through.
#[derive(Debug, Clone, Serialize)]
pub struct PingReport {
    /// `first` or `second`.
    pub stage: String,
    /// The pinging host.
    pub from: Ipv4Addr,
    /// The pinged host.
    pub to: Ipv4Addr,
    /// Echo requests sent.
    pub transmitted: u32,
    /// Echo replies received.
    pub received: u32,
    /// At least one reply came back.
    pub ok: bool,
}

/// One BGP session or OSPF adjacency of one node.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingNeighbor {
    /// `hub`, `spoke1`, ...
    pub node: String,
    /// The neighbour (BGP peer address, OSPF router id).
    pub neighbor: String,
    /// `Established`, `Full/DR`, ...
    pub state: String,
}

/// Whether one spoke registered with the hub.
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    /// `spoke1`, `spoke2`, ...
    pub spoke: String,
    /// The hub's cache holds the spoke's tunnel address.
    pub registered: bool,
}

/// Whether the spokes hold direct mappings for each other.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ShortcutReport {
    /// Spoke 1 holds a direct mapping or shortcut to spoke 2.
    pub spoke1_to_spoke2: bool,
    /// Spoke 2 holds a direct mapping or shortcut to spoke 1.
    pub spoke2_to_spoke1: bool,
}

/// Where one node's control socket is.
#[derive(Debug, Clone, Serialize)]
pub struct SocketReport {
    /// `hub`, `spoke1`, ...
    pub node: String,
    /// The node's namespace.
    pub namespace: String,
    /// The control socket.
    pub socket: PathBuf,
}

impl Report {
    /// The report before anything happened (not ok, nothing found).
    pub fn new(phase: u8, spokes: usize) -> Report {
        Report {
            ok: false,
            phase,
            spokes,
            routing: Routing::Static.name().to_string(),
            routing_neighbors: Vec::new(),
            error: None,
            pings: Vec::new(),
            registrations: Vec::new(),
            shortcut: ShortcutReport::default(),
            hub_relayed_before: None,
            hub_relayed_after: None,
            path: Vec::new(),
            sockets: Vec::new(),
            kept: false,
            ipsec: false,
            wire: None,
        }
    }

    fn push_ping(&mut self, stage: &str, from: Ipv4Addr, to: Ipv4Addr, r: PingResult) {
        self.pings.push(PingReport {
            stage: stage.to_string(),
            from,
            to,
            transmitted: r.transmitted,
            received: r.received,
            ok: r.received > 0,
        });
    }
}

/// Builds the lab of `spec`, walks through seed 003's scenario narrating each step with
/// `say`, and removes the lab again, or keeps it up when `keep` is set (after setting `kept`,
/// which an interrupt handler reads to decide whether to remove the lab). Returns the report
/// and the error that ended the walk-through early, if any; the report is `ok` only when
/// the walk-through ran to its end with every check passing.
pub fn walk_through(
    spec: LabSpec,
    keep: bool,
    kept: &AtomicBool,
    say: &dyn Fn(&str),
) -> (Report, Result<(), LabError>) {
    let phase = spec.phase;
    let mut report = Report::new(phase.number(), spec.spokes);
    report.routing = spec.routing.name().to_string();
    say(&format!(
        "== Building a phase {} lab: {} and {} spokes, each with a LAN host, {} (namespaces `{}-*`)",
        phase.number(),
        if spec.dual_hub { "two hubs" } else { "a hub" },
        spec.spokes,
        match spec.routing {
            Routing::Static => "static routes",
            Routing::Bgp => "FRR BGP over the tunnel",
            Routing::Ospf => "FRR OSPF over the tunnel",
        },
        spec.prefix
    ));
    let name = spec.prefix.clone();
    let mut lab = match Lab::build(spec) {
        Ok(lab) => lab,
        Err(e) => return (report, Err(e)),
    };
    let result = drive(say, &mut lab, &mut report);
    report.ok = result.is_ok() && report.pings.iter().all(|p| p.ok);
    if phase != Phase::One {
        report.ok &= report.shortcut.spoke1_to_spoke2;
    }
    report.sockets = lab
        .nodes()
        .iter()
        .map(|n| SocketReport {
            node: n.name.clone(),
            namespace: n.ns.clone(),
            socket: n.socket.clone(),
        })
        .collect();
    if keep {
        kept.store(true, Ordering::SeqCst);
        report.kept = true;
        say("== Lab kept up. Control sockets:");
        for s in &report.sockets {
            say(&format!(
                "  {:<8} dmvpn --socket {} show dmvpn     (namespace {})",
                s.node,
                s.socket.display(),
                s.namespace
            ));
        }
        say(&format!("  remove it with: dmvpn lab --down --name {name}"));
        lab.keep();
    } else {
        say("== Removing the lab");
        drop(lab);
    }
    (report, result)
}

fn drive(say: &dyn Fn(&str), lab: &mut Lab, report: &mut Report) -> Result<(), LabError> {
    let phase = lab.spec().phase;
    for n in lab.nodes() {
        say(&format!(
            "  {:<7} NBMA {:<12} tunnel {:<10} LAN host {}",
            n.name, n.nbma, n.tunnel, n.host
        ));
    }
    report.ipsec = lab.spec().protection;
    // Everything between the routers on the internet segment, from the first packet on.
    let capture = crate::exec::run("sh", &["-c", "command -v tcpdump"])
        .ok()
        .and_then(|_| {
            let file = lab.state_dir().join("internet.pcap");
            crate::probe::Capture::start(
                &lab.inet_ns(),
                "br0",
                &file,
                "ip proto 47 or ip proto 50 or udp port 500 or udp port 4500",
            )
            .ok()
        });
    if lab.spec().protection {
        say(
            "== Starting `dmvpn daemon` on every node; every tunnel is protected (IKEv2, ESP AES-256-GCM, transport mode)",
        );
    } else {
        say("== Starting `dmvpn daemon` on every node (--no-ipsec: GRE and NHRP in the clear)");
    }
    lab.start_all()?;
    say("== The spokes register with the hub (NHRP Registration Request/Reply)");
    let _ = wait_for(Duration::from_secs(30), "the spokes to register", || {
        lab.all_registered().then_some(())
    });
    let hub_cache = lab.show_nhrp(0).map(|c| c.entries).unwrap_or_default();
    let nodes = lab.nodes().to_vec();
    for s in nodes.iter().filter(|n| !n.hub) {
        let ok = hub_cache
            .iter()
            .any(|e| e.prefix.address == IpAddr::V4(s.tunnel));
        say(&format!(
            "  {}: {} ({} -> NBMA {})",
            s.name,
            if ok { "registered" } else { "NOT registered" },
            s.tunnel,
            s.nbma
        ));
        report.registrations.push(Registration {
            spoke: s.name.clone(),
            registered: ok,
        });
    }
    if report.registrations.iter().any(|r| !r.registered) {
        return Err(LabError::Timeout(
            "not every spoke registered with the hub within 30 s".to_string(),
        ));
    }
    start_routing(say, lab, report)?;
    let (Some(s1), Some(s2)) = (nodes.get(1), nodes.get(2)) else {
        return Err(LabError::Spec(
            "the walk-through needs at least 2 spokes".to_string(),
        ));
    };
    let before = lab.packets_out_to(0, s2.nbma);
    report.hub_relayed_before = before;
    say(&format!(
        "== The host behind spoke1 ({}) pings the host behind spoke2 ({})",
        s1.host, s2.host
    ));
    let first = lab.ping(1, s2.host, 5, 0.2)?;
    report.push_ping("first", s1.host, s2.host, first);
    let mid = lab.packets_out_to(0, s2.nbma);
    say(&format!(
        "  {} of {} echo replies; the hub relayed {} packets to spoke2",
        first.received,
        first.transmitted,
        delta(before, mid)
    ));
    report.path.push(format!(
        "first ping: via the hub ({} packets relayed)",
        delta(before, mid)
    ));
    if phase != Phase::One {
        say(match phase {
            Phase::Two => {
                "== spoke1 resolves spoke2's NBMA address on demand (NHRP Resolution Request via the hub); packets go via the hub meanwhile"
            }
            _ => {
                "== The hub sees the packets hairpin and sends Traffic Indications (redirect); the spokes resolve each other and install shortcuts"
            }
        });
        let got = wait_for(
            Duration::from_secs(20),
            "the spoke-to-spoke mapping",
            || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
        );
        report.shortcut.spoke1_to_spoke2 = got.is_ok();
        report.shortcut.spoke2_to_spoke1 =
            wait_for(Duration::from_secs(5), "the reverse mapping", || {
                lab.has_entry_with_nbma(2, s1.nbma).then_some(())
            })
            .is_ok();
        say(&format!(
            "  spoke1 -> spoke2 direct: {}; spoke2 -> spoke1 direct: {}",
            yes(report.shortcut.spoke1_to_spoke2),
            yes(report.shortcut.spoke2_to_spoke1)
        ));
        for (i, n) in nodes.iter().enumerate() {
            if let Some(t) = nhrp_traffic(lab, i) {
                say(&format!("  {}: {t}", n.name));
            }
        }
        if phase == Phase::Three
            && let Ok(table) = lab.show_shortcuts(1)
        {
            for s in &table.shortcuts {
                say(&format!(
                    "  spoke1 shortcut: {} via {} ({})",
                    s.target,
                    s.next_hop,
                    s.nbma
                        .map_or("no NBMA".to_string(), |a| format!("NBMA {a}"))
                ));
            }
        }
    }
    let mid = lab.packets_out_to(0, s2.nbma);
    say("== The host behind spoke1 pings again");
    let second = lab.ping(1, s2.host, 10, 0.2)?;
    report.push_ping("second", s1.host, s2.host, second);
    let after = lab.packets_out_to(0, s2.nbma);
    report.hub_relayed_after = after;
    let path = second_path(phase, delta(mid, after), second.received);
    say(&format!(
        "  {} of {} echo replies; {path}",
        second.received, second.transmitted
    ));
    report.path.push(path);
    if let Some(capture) = capture
        && let Ok(lines) = capture.stop()
    {
        let w = WireReport::count(&lines);
        say("== On the internet segment (tcpdump on the bridge between the routers)");
        say(&format!(
            "  {} ESP, {} IKE (UDP 500), {} UDP 4500, {} cleartext GRE packets",
            w.esp, w.ike, w.nat_t, w.gre
        ));
        if lab.spec().protection && w.gre == 0 {
            say("  every NHRP and data packet between the routers travelled inside ESP");
        }
        report.wire = Some(w);
    }
    say("== show dmvpn on every node");
    for (i, n) in nodes.iter().enumerate() {
        say(&format!("--- {} ---", n.name));
        match lab.show_dmvpn(i) {
            Ok(status) => say(&dmvpn_mgmt::render::dmvpn(&status)),
            Err(e) => say(&format!("(no answer: {e})")),
        }
    }
    Ok(())
}

/// Starts FRR on every node when the lab runs a routing protocol, waits for it to converge
/// and narrates its sessions or adjacencies and a spoke's learned routes.
fn start_routing(say: &dyn Fn(&str), lab: &Lab, report: &mut Report) -> Result<(), LabError> {
    let routing = lab.spec().routing;
    if routing == Routing::Static {
        return Ok(());
    }
    say(&match routing {
        Routing::Bgp => format!(
            "== Starting FRR (zebra, bgpd) on every node: the hub is a route reflector for the spokes (bgp listen range 10.0.0.0/24){}",
            if lab.spec().phase == Phase::Three {
                "; it sends them only the summary 192.168.0.0/16"
            } else {
                "; the spokes' routes keep their next hop"
            }
        ),
        _ => format!(
            "== Starting FRR (zebra, ospfd) on every node: OSPF {} over Tunnel0, hellos replicated by NHRP multicast",
            match lab.spec().ospf_network {
                crate::spec::OspfNetwork::Broadcast => "broadcast (the hub is the DR)",
                crate::spec::OspfNetwork::PointToMultipoint => "point-to-multipoint",
            }
        ),
    });
    lab.start_routing()?;
    let converged = lab.wait_routing(Duration::from_secs(60));
    for (i, n) in lab.nodes().iter().enumerate() {
        let neighbors: Vec<(String, String)> = match routing {
            Routing::Bgp => lab
                .bgp_peers(i)
                .into_iter()
                .map(|p| (p.peer, p.state))
                .collect(),
            _ => lab
                .ospf_neighbors(i)
                .into_iter()
                .map(|o| (o.router_id, o.state))
                .collect(),
        };
        say(&format!(
            "  {}: {}",
            n.name,
            if neighbors.is_empty() {
                "no neighbour".to_string()
            } else {
                neighbors
                    .iter()
                    .map(|(a, st)| format!("{a} {st}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        report
            .routing_neighbors
            .extend(
                neighbors
                    .into_iter()
                    .map(|(neighbor, state)| RoutingNeighbor {
                        node: n.name.clone(),
                        neighbor,
                        state,
                    }),
            );
    }
    let proto = routing.name();
    for line in lab.kernel_routes(1, Some(proto)).lines() {
        say(&format!("  spoke1 route: {line}"));
    }
    converged
}

/// The sentence for the second ping: direct when the hub relayed fewer packets than came
/// back.
fn second_path(phase: Phase, relayed: u64, received: u32) -> String {
    if phase == Phase::One {
        format!(
            "second ping: via the hub ({relayed} packets relayed; phase 1 has no spoke-to-spoke tunnels)"
        )
    } else if relayed < u64::from(received) {
        format!("second ping: direct spoke1 -> spoke2 (the hub relayed {relayed} packets)")
    } else {
        format!("second ping: still via the hub ({relayed} packets relayed)")
    }
}

/// The NHRP packets a node sent and received, in words (from `show ip nhrp traffic`).
fn nhrp_traffic(lab: &Lab, index: usize) -> Option<String> {
    let payload = lab
        .request(
            index,
            &Request::ShowIpNhrpTraffic(InterfaceFilter::default()),
        )
        .ok()?;
    let Payload::Traffic(report) = payload else {
        return None;
    };
    let t = report.interfaces.first()?;
    Some(format!(
        "sent {}; received {}",
        traffic_words(&t.sent),
        traffic_words(&t.received)
    ))
}

/// NHRP packet counts in words, `nothing` when all are zero.
fn traffic_words(c: &NhrpTypeCounters) -> String {
    let parts: Vec<String> = [
        (c.registration_request, "Registration Request"),
        (c.registration_reply, "Registration Reply"),
        (c.resolution_request, "Resolution Request"),
        (c.resolution_reply, "Resolution Reply"),
        (c.traffic_indication, "Traffic Indication"),
        (c.purge_request, "Purge Request"),
        (c.error_indication, "Error Indication"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, w)| format!("{n} {w}"))
    .collect();
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(", ")
    }
}

fn delta(a: Option<u64>, b: Option<u64>) -> u64 {
    match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_report_keeps_its_field_names() {
        let mut report = Report::new(3, 2);
        report.push_ping(
            "first",
            Ipv4Addr::new(192, 168, 1, 10),
            Ipv4Addr::new(192, 168, 2, 10),
            PingResult {
                transmitted: 5,
                received: 4,
            },
        );
        report.registrations.push(Registration {
            spoke: "spoke1".to_string(),
            registered: true,
        });
        report.sockets.push(SocketReport {
            node: "hub".to_string(),
            namespace: "x-hub".to_string(),
            socket: PathBuf::from("/run/dmvpn-lab/x/hub.sock"),
        });
        let value = serde_json::to_value(&report).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "ok",
            "phase",
            "spokes",
            "routing",
            "routing_neighbors",
            "error",
            "pings",
            "registrations",
            "shortcut",
            "hub_relayed_before",
            "hub_relayed_after",
            "path",
            "sockets",
            "kept",
            "ipsec",
            "wire",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(value["phase"], 3);
        assert_eq!(value["routing"], "static");
        assert_eq!(value["routing_neighbors"], serde_json::json!([]));
        assert_eq!(value["error"], serde_json::Value::Null);
        assert_eq!(
            value["pings"][0],
            serde_json::json!({"stage": "first", "from": "192.168.1.10", "to": "192.168.2.10",
                "transmitted": 5, "received": 4, "ok": true})
        );
        assert_eq!(
            value["shortcut"],
            serde_json::json!({"spoke1_to_spoke2": false, "spoke2_to_spoke1": false})
        );
        assert_eq!(
            value["registrations"][0],
            serde_json::json!({"spoke": "spoke1", "registered": true})
        );
        assert_eq!(
            value["sockets"][0],
            serde_json::json!({"node": "hub", "namespace": "x-hub",
                "socket": "/run/dmvpn-lab/x/hub.sock"})
        );
    }

    #[test]
    fn the_second_ping_is_direct_only_when_the_hub_relayed_less_than_came_back() {
        assert_eq!(
            second_path(Phase::Three, 0, 10),
            "second ping: direct spoke1 -> spoke2 (the hub relayed 0 packets)"
        );
        assert_eq!(
            second_path(Phase::Two, 10, 10),
            "second ping: still via the hub (10 packets relayed)"
        );
        assert!(second_path(Phase::One, 0, 10).contains("phase 1 has no spoke-to-spoke"));
        assert_eq!(delta(Some(3), Some(10)), 7);
        assert_eq!(delta(Some(10), Some(3)), 0);
        assert_eq!(delta(None, Some(3)), 0);
    }

    #[test]
    fn traffic_counts_are_worded() {
        let mut c = NhrpTypeCounters::default();
        assert_eq!(traffic_words(&c), "nothing");
        c.registration_request = 2;
        c.traffic_indication = 1;
        assert_eq!(
            traffic_words(&c),
            "2 Registration Request, 1 Traffic Indication"
        );
    }
}

//! Helpers for the FRR routing tests: the preflight (root, iproute2, ping, tcpdump, FRR) and a
//! started lab whose routing protocol has converged.

use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase, Routing};

/// Root, `ip`, `ping`, `tcpdump`, `vtysh` and FRR's daemons.
pub fn can_run_frr() -> bool {
    super::can_run_with(&[
        "ip",
        "ping",
        "tcpdump",
        "vtysh",
        "/usr/lib/frr/zebra",
        "/usr/lib/frr/bgpd",
        "/usr/lib/frr/ospfd",
    ])
}

/// A lab spec with tunnel-only dmvpn configs (FRR owns the routes), its own prefix and a
/// state directory under the temporary directory.
pub fn spec(tag: &str, spokes: usize, phase: Phase, routing: Routing) -> LabSpec {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, spokes, phase, super::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    spec.tunnel_only = true;
    spec.routing = routing;
    spec
}

/// Builds the lab, starts dmvpn everywhere, waits for the registrations, starts FRR and
/// waits until the routing protocol converged (sessions or adjacencies up, every LAN routed
/// into the tunnel). The lab removes itself (namespaces, dmvpn and FRR) when dropped.
pub fn converged_lab(spec: LabSpec) -> Lab {
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab.start_routing().expect("start FRR");
    if let Err(e) = lab.wait_routing(Duration::from_secs(90)) {
        for i in 0..lab.nodes().len() {
            eprintln!(
                "--- {} routes:\n{}",
                lab.nodes()[i].name,
                lab.kernel_routes(i, None)
            );
            if let Ok(dir) = lab.frr_dir(i) {
                for log in ["zebra.log", "bgpd.log", "ospfd.log"] {
                    let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(15).collect();
                    for line in tail.iter().rev() {
                        eprintln!("{} {log}: {line}", lab.nodes()[i].name);
                    }
                }
            }
        }
        panic!("{e}");
    }
    lab
}

/// Pings from the host behind node `from` to `dst` until a reply comes back (the first
/// packets may be lost while a path forms), or fails after `timeout`.
pub fn ping_until_reply(lab: &Lab, from: usize, dst: std::net::Ipv4Addr, timeout: Duration) {
    lab::wait_for(
        timeout,
        &format!("a reply from {dst} to the host behind node {from}"),
        || {
            lab.ping(from, dst, 3, 0.1)
                .ok()
                .filter(|r| r.received > 0)
                .map(|_| ())
        },
    )
    .expect("LAN-to-LAN ping");
}

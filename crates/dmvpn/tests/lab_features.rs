//! Data-plane features across namespaces: multicast from the hub reaches every registered
//! spoke (`ip nhrp map multicast dynamic`), and `ip tcp adjust-mss` clamps the MSS of TCP
//! SYNs in both directions. Observed on the wire: a capture of the GRE packets on the
//! internet segment, decoded by tcpdump.
//!
//! Needs root and `ip`, `ping`, `tcpdump`, `python3` (a TCP listener); skips otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};

fn started_lab(tag: &str, phase: Phase) -> Lab {
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 3, phase, common::exe());
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(60), "every spoke to register", || {
        lab.all_registered().then_some(())
    })
    .expect("registrations");
    lab
}

#[test]
fn multicast_from_the_hub_reaches_every_registered_spoke() {
    if !common::can_run_with(&["ip", "ping", "tcpdump"]) {
        return;
    }
    let lab = started_lab("mc", Phase::Two);
    let nodes = lab.nodes().to_vec();
    let rx_before: Vec<u64> = (1..nodes.len())
        .map(|i| lab.tunnel_counters(i).map_or(0, |c| c.packets_in))
        .collect();
    let capture = lab.capture_gre("multicast").expect("capture");
    // Three echo requests to a link-local group out of the hub's tunnel (replies are not
    // expected: hosts ignore multicast echoes).
    let _ = lab::ns_run(
        &nodes[0].ns,
        "ping",
        &[
            "-n",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "1",
            "-I",
            "Tunnel0",
            "224.0.0.9",
        ],
    );
    // Each spoke's tunnel receives the three packets.
    for (k, spoke) in nodes.iter().enumerate().skip(1) {
        lab::wait_for(
            Duration::from_secs(20),
            &format!("{} to receive the multicast packets", spoke.name),
            || {
                let now = lab.tunnel_counters(k).map_or(0, |c| c.packets_in);
                (now >= rx_before[k - 1] + 3).then_some(())
            },
        )
        .expect("multicast received");
    }
    // And from a spoke (`ip nhrp map multicast HUB`): to the hub only.
    let hub_rx = lab.tunnel_counters(0).map_or(0, |c| c.packets_in);
    let _ = lab::ns_run(
        &nodes[1].ns,
        "ping",
        &[
            "-n",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "1",
            "-I",
            "Tunnel0",
            "224.0.0.10",
        ],
    );
    lab::wait_for(
        Duration::from_secs(20),
        "the hub to receive the spoke's multicast packets",
        || {
            let now = lab.tunnel_counters(0).map_or(0, |c| c.packets_in);
            (now >= hub_rx + 3).then_some(())
        },
    )
    .expect("multicast from a spoke");
    let lines = capture.stop().expect("read the capture");
    let from_spoke = lines
        .iter()
        .filter(|l| l.contains("> 224.0.0.10"))
        .collect::<Vec<_>>();
    assert!(
        from_spoke.len() >= 3
            && from_spoke
                .iter()
                .all(|l| l.contains(&format!("IP {} > {}:", nodes[1].nbma, nodes[0].nbma))),
        "a spoke's multicast must go to the hub only: {from_spoke:?}"
    );
    for spoke in &nodes[1..] {
        let copies = lines
            .iter()
            .filter(|l| {
                l.contains(&format!("IP {} > {}:", nodes[0].nbma, spoke.nbma))
                    && l.contains("> 224.0.0.9")
            })
            .count();
        assert!(
            copies >= 3,
            "{}: {copies} multicast copies on the wire, expected 3; capture:\n{}",
            spoke.name,
            lines.join("\n")
        );
    }
}

#[test]
fn tcp_mss_is_clamped_in_both_directions() {
    if !common::can_run_with(&["ip", "ping", "tcpdump", "python3"]) {
        return;
    }
    let lab = started_lab("ms", Phase::One);
    let nodes = lab.nodes().to_vec();
    let (h1, h2) = (&nodes[1], &nodes[2]);
    // A listener behind spoke 2 that accepts one connection.
    let mut listener = Command::new("ip")
        .args([
            "netns",
            "exec",
            &h2.host_ns,
            "python3",
            "-c",
            "import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',8080))\ns.listen(1)\nprint('ready',flush=True)\nc,_=s.accept()\nc.close()",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the listener");
    {
        use std::io::BufRead;
        let out = listener.stdout.take().expect("listener stdout");
        let mut line = String::new();
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("listener ready");
        assert_eq!(line.trim(), "ready");
    }
    let capture = lab.capture_gre("mss").expect("capture");
    // The hosts' MTU is 1500, so their SYNs carry MSS 1460; the tunnels clamp to 1360.
    let connect = lab::ns_run(
        &h1.host_ns,
        "python3",
        &[
            "-c",
            &format!(
                "import socket\ns=socket.create_connection(('{}',8080),timeout=10)\ns.close()",
                h2.host
            ),
        ],
    );
    let _ = listener.wait();
    connect.expect("the TCP connection through the tunnel");
    let lines = capture
        .stop_when(Duration::from_secs(10), |l| {
            l.iter()
                .any(|x| x.contains("Flags [S.]") && x.contains("mss"))
        })
        .expect("read the capture");
    let syn = lines
        .iter()
        .filter(|l| l.contains(&format!("{}.", h1.host)) && l.contains("Flags [S]"))
        .collect::<Vec<_>>();
    let syn_ack = lines
        .iter()
        .filter(|l| l.contains(&format!("{}.8080", h2.host)) && l.contains("Flags [S.]"))
        .collect::<Vec<_>>();
    assert!(
        !syn.is_empty(),
        "no SYN in the capture:\n{}",
        lines.join("\n")
    );
    assert!(
        !syn_ack.is_empty(),
        "no SYN-ACK in the capture:\n{}",
        lines.join("\n")
    );
    for l in syn.iter().chain(syn_ack.iter()) {
        assert!(l.contains("mss 1360"), "MSS not clamped: {l}");
    }
}

/// Routes into the tunnel that another routing daemon installs (here `proto bird`, as BIRD or
/// FRR would) are mirrored and used: a spoke with no configured route to spoke 2's LAN learns
/// one from the kernel, forwards over it and resolves its next hop.
#[test]
fn kernel_routes_from_a_routing_daemon_are_followed() {
    if !common::can_run_with(&["ip", "ping"]) {
        return;
    }
    let lab = started_lab("rt", Phase::Two);
    let nodes = lab.nodes().to_vec();
    let (s1, s2) = (&nodes[1], &nodes[2]);
    let lan = "192.168.2.0/24";
    // Replace the configured static route with one "from BIRD".
    lab::ns_run(&s1.ns, "ip", &["route", "del", lan]).expect("remove the static route");
    let unreachable = lab.ping(1, s2.host, 1, 0.2).expect("ping");
    assert_eq!(unreachable.received, 0, "no route, no reply");
    let via = s2.tunnel.to_string();
    lab::ns_run(
        &s1.ns,
        "ip",
        &[
            "route", "add", lan, "via", &via, "dev", "Tunnel0", "proto", "bird",
        ],
    )
    .expect("add a BIRD route");
    let p = lab.ping(1, s2.host, 10, 0.2).expect("ping");
    assert!(p.received >= 9, "over the BIRD route: {p:?}");
    lab::wait_for(Duration::from_secs(20), "spoke1 to resolve spoke2", || {
        lab.has_entry_with_nbma(1, s2.nbma).then_some(())
    })
    .expect("resolution over the mirrored route");
}

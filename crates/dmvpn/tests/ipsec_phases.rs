//! DMVPN phases 1, 2 and 3 protected by IKEv2 and ESP, across network namespaces: a hub and
//! four spokes run `dmvpn daemon`; spoke 3 sits behind an nftables masquerade NAT (ESP in
//! UDP 4500), spoke 4 has the wrong pre-shared key. A capture of the internet segment runs
//! for the whole test and must hold no cleartext GRE at all: not during setup, a
//! volume-forced rekey, the failing peer, or an SA cleared in the middle of traffic. tshark
//! then decrypts it with the keys the daemons exported and finds NHRP inside ESP.
//!
//! Needs root, `ip`, `ping`, `tcpdump`, `nft` and `tshark`; skips otherwise (fails under
//! `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use dmvpn_lab::{self as lab, Capture, Lab, LabSpec, Phase};

/// Whether the hub holds a registration of `node` with its (public) NBMA address.
fn registered(lab: &Lab, node: &lab::Node) -> bool {
    lab.show_nhrp(0).is_ok_and(|c| {
        c.entries.iter().any(|e| {
            e.prefix.address == IpAddr::V4(node.tunnel) && e.nbma == Some(IpAddr::V4(node.nbma))
        })
    })
}

/// `dmvpn show WORDS` against a node's control socket.
fn show(node: &lab::Node, words: &[&str]) -> String {
    let mut args = vec!["--socket", node.socket.to_str().unwrap(), "show"];
    args.extend_from_slice(words);
    lab::run(common::exe().to_str().unwrap(), &args).unwrap_or_else(|e| format!("{e}"))
}

fn log_of(node: &lab::Node) -> String {
    std::fs::read_to_string(&node.log).unwrap_or_default()
}

/// tcpdump's decodes of the whole capture file.
fn decode(file: &Path, filter: &str) -> Vec<String> {
    let mut args = vec![
        "-r".to_string(),
        file.to_string_lossy().into_owned(),
        "-n".into(),
    ];
    args.extend(filter.split_whitespace().map(str::to_string));
    let out = std::process::Command::new("tcpdump")
        .args(&args)
        .stderr(std::process::Stdio::null())
        .output()
        .expect("tcpdump -r");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The NHRP packets tshark finds in the capture once given every key log line.
fn tshark_nhrp(file: &Path, keys: &[String]) -> (usize, String) {
    let mut args = vec![
        "-r".to_string(),
        file.to_string_lossy().into_owned(),
        "-n".into(),
        "-o".into(),
        "esp.enable_encryption_decode:TRUE".into(),
    ];
    for k in keys {
        args.push("-o".into());
        args.push(format!("uat:esp_sa:{k}"));
    }
    args.extend(["-Y".into(), "nhrp".into()]);
    let out = std::process::Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        text.lines().filter(|l| l.contains("NHRP")).count(),
        format!("{text}\n{err}"),
    )
}

fn protected_walkthrough(phase: Phase, tag: &str) {
    if !common::can_run_with(&["ip", "ping", "tcpdump", "nft", "tshark"]) {
        return;
    }
    let prefix = lab::unique_prefix(tag);
    let mut spec = LabSpec::new(&prefix, 4, phase, common::exe());
    spec.protection = true;
    spec.nat_spokes = vec![3];
    spec.wrong_key_spokes = vec![4];
    spec.ipsec_keylog = true;
    spec.sa_lifetime_kb = (phase == Phase::Three).then_some(2560);
    spec.log_filter = "info,dmvpn_daemon=debug".to_string();
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    let nodes = lab.nodes().to_vec();
    let (hub, s1, s2, s3, s4) = (&nodes[0], &nodes[1], &nodes[2], &nodes[3], &nodes[4]);
    // Everything on the internet segment, from before the first daemon starts.
    let pcap = lab.state_dir().join("inet.pcap");
    let capture = Capture::start(&lab.inet_ns(), "br0", &pcap, "").expect("capture on br0");
    lab.start_all().expect("start the daemons");
    lab::wait_for(Duration::from_secs(90), "spokes 1-3 to register", || {
        [s1, s2, s3]
            .iter()
            .all(|s| registered(&lab, s))
            .then_some(())
    })
    .expect("registrations over IPsec");
    // The NATed spoke registered with its public address, through ESP in UDP.
    assert!(log_of(s3).contains("NAT detected"), "{}", log_of(s3));

    // Spoke to spoke (and to the NATed spoke): no echo lost while the path and its SA form.
    for (from, to) in [(1, s2), (1, s3), (3, s2)] {
        let first = lab.ping(from, to.host, 20, 0.05).expect("ping");
        assert!(
            first.lossless(),
            "phase {}: spoke{from} -> {}: echoes lost while the path formed: {first:?}",
            phase.number(),
            to.name
        );
    }
    if phase != Phase::One {
        lab::wait_for(
            Duration::from_secs(30),
            "spoke1's direct entry for spoke2",
            || lab.has_entry_with_nbma(1, s2.nbma).then_some(()),
        )
        .expect("direct mapping");
        assert!(
            log_of(s1).contains(&format!("IPsec SA with {} established", s2.nbma)),
            "spoke1 has no SA with spoke2:\n{}",
            log_of(s1)
        );
    }
    let second = lab.ping(1, s2.host, 20, 0.05).expect("ping");
    assert!(second.lossless(), "steady state lost echoes: {second:?}");

    // The wrong key: IKE fails, spoke 4 never registers, and nothing of it leaves in clear.
    lab::wait_for(Duration::from_secs(60), "spoke4's IKE to fail", || {
        (log_of(s4).contains("AUTH_FAILED") || log_of(hub).contains("AUTH_FAILED")).then_some(())
    })
    .expect("authentication failure logged");
    assert!(!registered(&lab, s4), "spoke4 registered with a wrong key");
    let failed = lab.ping(4, s1.host, 3, 0.2).expect("ping");
    assert_eq!(
        failed.received, 0,
        "spoke4's LAN reached spoke1's: {failed:?}"
    );
    // What an operator sees: spoke4's hub is stuck in IKE; spoke1's sessions are up.
    let s4_view = show(s4, &["dmvpn"]);
    assert!(s4_view.contains(" IKE "), "spoke4's show dmvpn:\n{s4_view}");
    let sessions = show(s1, &["crypto", "session"]);
    assert!(
        sessions.contains(&format!("Peer: {} port", hub.nbma))
            && sessions.contains("Session status: UP-ACTIVE"),
        "spoke1's show crypto session:\n{sessions}"
    );
    let hub_sas = show(
        hub,
        &["crypto", "ipsec", "sa", "peer", &s3.nbma.to_string()],
    );
    assert!(
        hub_sas.contains("Transport-UDP-Encaps"),
        "the hub's SA with the NATed spoke is not UDP-encapsulated:\n{hub_sas}"
    );
    let ike = show(hub, &["crypto", "ikev2", "sa", "detail"]);
    assert!(ike.contains("NAT-T is detected"), "{ike}");

    if phase == Phase::Three {
        // A volume-forced rekey (lifetime 2560 KB, soft at 90 %) in the middle of traffic.
        let flood = lab::ns_run(
            &s1.host_ns,
            "ping",
            &["-f", "-q", "-c", "1850", "-s", "1300", &s2.host.to_string()],
        );
        assert!(flood.is_ok(), "flood ping: {flood:?}");
        lab::wait_for(Duration::from_secs(60), "a Child SA rekey", || {
            [s1, s2]
                .iter()
                .any(|s| log_of(s).contains("rekeyed (spi in"))
                .then_some(())
        })
        .expect("rekey logged");
        let after = lab.ping(1, s2.host, 20, 0.05).expect("ping");
        assert!(after.lossless(), "echoes lost after the rekey: {after:?}");
    }

    // An SA cleared in the middle of traffic: IKE negotiates again, the path comes back,
    // and nothing leaves in clear meanwhile.
    let cleared = lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            s1.socket.to_str().unwrap(),
            "clear",
            "crypto",
            "session",
        ],
    );
    assert!(cleared.is_ok(), "clear crypto session: {cleared:?}");
    lab::wait_for(Duration::from_secs(60), "traffic to flow again", || {
        lab.ping(1, s2.host, 3, 0.2)
            .ok()
            .filter(|p| p.received > 0)
            .map(|_| ())
    })
    .expect("the path after clear crypto session");
    let third = lab.ping(1, s2.host, 10, 0.05).expect("ping");
    assert!(third.lossless(), "echoes lost once SAs are back: {third:?}");

    // `debug nhrp capture` still writes NHRP in the clear, as it was before encryption:
    // spoke1 forgets its dynamic entries and resolves spoke2 again.
    if phase != Phase::One {
        let nhrp_pcap = lab.state_dir().join("spoke1-nhrp.pcapng");
        let exe = common::exe();
        let (exe, sock1) = (exe.to_str().unwrap(), s1.socket.to_str().unwrap());
        let pcap_s = nhrp_pcap.to_str().unwrap();
        let dbg = lab::run(
            exe,
            &["--socket", sock1, "debug", "nhrp", "capture", pcap_s],
        );
        assert!(dbg.is_ok(), "debug nhrp capture: {dbg:?}");
        let cleared = lab::run(exe, &["--socket", sock1, "clear", "ip", "nhrp"]);
        assert!(cleared.is_ok(), "clear ip nhrp: {cleared:?}");
        let again = lab.ping(1, s2.host, 20, 0.05).expect("ping");
        assert!(
            again.lossless(),
            "echoes lost while re-resolving: {again:?}"
        );
        let decoded = lab::wait_for(Duration::from_secs(20), "NHRP in the capture", || {
            lab::run(exe, &["decode", pcap_s])
                .ok()
                .filter(|d| d.contains("Resolution"))
        })
        .expect("cleartext NHRP in the debug capture");
        assert!(decoded.contains("Resolution"), "{decoded}");
        let _ = lab::run(exe, &["--socket", sock1, "no", "debug", "nhrp", "capture"]);
    }

    let lines = capture.stop().expect("stop the capture");
    let gre = decode(&pcap, "ip proto 47");
    assert!(
        gre.is_empty(),
        "phase {}: {} cleartext GRE packets on the internet segment, e.g. {:?}",
        phase.number(),
        gre.len(),
        gre.first()
    );
    let esp = lines.iter().filter(|l| l.contains("ESP(spi=")).count();
    assert!(esp > 0, "no ESP on the wire");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("{}.4500", s3.nbma))),
        "no UDP 4500 from the NATed spoke"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains(&Ipv4Addr::new(10, 200, 3, 1).to_string())),
        "the NATed spoke's private address leaked onto the internet segment"
    );

    // tshark decrypts our ESP with the exported keys and finds NHRP inside.
    let keys: Vec<String> = nodes
        .iter()
        .flat_map(|n| {
            std::fs::read_to_string(&n.keys)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!keys.is_empty(), "no key log written");
    let (nhrp, out) = tshark_nhrp(&pcap, &keys);
    assert!(nhrp > 0, "tshark found no NHRP inside ESP:\n{out}");
}

#[test]
fn phase1_encrypted_with_a_nated_spoke_and_a_wrong_key() {
    protected_walkthrough(Phase::One, "ip1");
}

#[test]
fn phase2_encrypted_with_a_nated_spoke_and_a_wrong_key() {
    protected_walkthrough(Phase::Two, "ip2");
}

#[test]
fn phase3_encrypted_rekey_and_clear_in_the_middle_of_traffic() {
    protected_walkthrough(Phase::Three, "ip3");
}

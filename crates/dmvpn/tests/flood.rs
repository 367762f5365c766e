//! A Registration Request flood against the hub (issue 16, part 4), tried as a new user
//! would: a hub and two real spokes (refreshing every 5 s), then 20,000 Registration Requests
//! in about half a second from spoofed NBMA addresses, sent with a raw socket from the
//! internet namespace, carrying the right GRE key and the right cleartext NHRP password.
//! Most are for protocol addresses outside the tunnel's network, 240 for addresses inside.
//!
//! - Neither spoke ever sees its NHS go DOWN (`show ip nhrp nhs --json` polled throughout
//!   and for 20 s after): the replies to their refreshes come out of the established peers'
//!   own budget, not the max-send quota the flood exhausts.
//! - The hub's log grows by far fewer than 40,000 lines: the flood-prone lines are
//!   rate-limited and say how many similar lines they stand for.
//! - The hub counted the flood (`show ip nhrp traffic`), so the test proved something, and
//!   its cache stays bounded (it is printed; the cache limit proper is another change's).
//!
//! Needs root, `ip` and `python3` (only the standard library, for the raw socket); skips
//! otherwise (fails under `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase};
use dmvpn_nhrp::packet::{Cie, flags};
use dmvpn_nhrp::{Message, PacketType};

/// Flood packets.
const FLOOD: u32 = 20_000;
/// The lab's `tunnel key` and `ip nhrp authentication` (crates/lab/src/config.rs).
const GRE_KEY: u32 = 100_000;
const NHRP_PASSWORD: &[u8] = b"test";

/// The sender: reads `len(2) packet` records and sends them through a raw IP socket
/// (IP_HDRINCL: the kernel fills in the header checksum), 400 every 10 ms.
const SENDER: &str = r#"
import socket, struct, sys, time
data = open(sys.argv[1], "rb").read()
dst = sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
i = 0
n = 0
start = time.monotonic()
while i < len(data):
    (l,) = struct.unpack_from("!H", data, i)
    i += 2
    try:
        s.sendto(data[i:i + l], (dst, 0))
        n += 1
    except OSError:
        pass
    i += l
    if n % 400 == 0:
        target = start + (n / 400) * 0.01
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
print(n, round(time.monotonic() - start, 3))
"#;

/// Flood packet `k`: a keyed GRE packet carrying an authenticated Registration Request from
/// spoofed NBMA 198.18.x.y, inside an IPv4 header addressed to the hub.
fn flood_packet(k: u32, hub_nbma: Ipv4Addr, hub_tunnel: Ipv4Addr) -> Vec<u8> {
    let [_, _, a, b] = k.to_be_bytes();
    let nbma = Ipv4Addr::new(198, 18, a, b);
    let proto = if k.is_multiple_of(80) {
        Ipv4Addr::new(10, 0, 0, 10 + (k / 80 % 240) as u8)
    } else {
        Ipv4Addr::new(10, 9, a, b)
    };
    let mut m = Message::new(
        PacketType::RegistrationRequest,
        255,
        nbma,
        proto,
        hub_tunnel,
    );
    m.request_id = k;
    m.flags = flags::REG_U;
    m.cies.push(Cie {
        prefix_len: 0xff,
        holding_time: 600,
        mtu: 1400,
        ..Cie::default()
    });
    let mut auth = vec![0, 0, 0, 1];
    auth.extend_from_slice(NHRP_PASSWORD);
    m.ext.auth = Some(auth);
    let nhrp = dmvpn_nhrp::codec::encode(&m).unwrap();
    let mut gre = vec![0x20, 0, 0x20, 0x01];
    gre.extend_from_slice(&GRE_KEY.to_be_bytes());
    gre.extend_from_slice(&nhrp);
    let total = u16::try_from(20 + gre.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0, 0, 64, 47, 0, 0]);
    ip.extend_from_slice(&nbma.octets());
    ip.extend_from_slice(&hub_nbma.octets());
    ip.extend_from_slice(&gre);
    ip
}

fn cli(lab: &Lab, index: usize, args: &[&str]) -> String {
    let node = &lab.nodes()[index];
    let mut all = vec!["--socket", node.socket.to_str().unwrap()];
    all.extend_from_slice(args);
    lab::run(common::exe().to_str().unwrap(), &all).unwrap_or_default()
}

/// Whether every NHS of spoke `index` is UP; `None` when the daemon did not answer.
fn nhs_up(lab: &Lab, index: usize) -> Option<bool> {
    let out = cli(lab, index, &["show", "ip", "nhrp", "nhs", "--json"]);
    let r: dmvpn_mgmt::NhsReport = serde_json::from_str(&out).ok()?;
    Some(
        !r.servers.is_empty()
            && r.servers
                .iter()
                .all(|s| s.state == dmvpn_mgmt::NhsState::Up),
    )
}

fn hub_traffic(lab: &Lab) -> dmvpn_mgmt::NhrpTraffic {
    let out = cli(lab, 0, &["show", "ip", "nhrp", "traffic", "--json"]);
    let r: dmvpn_mgmt::TrafficReport = serde_json::from_str(&out).expect("traffic JSON");
    r.interfaces.into_iter().next().expect("Tunnel0")
}

fn log_lines(lab: &Lab, index: usize) -> usize {
    std::fs::read_to_string(&lab.nodes()[index].log)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn registration_flood_does_not_take_the_hub_from_its_spokes() {
    if !common::can_run_with(&["ip", "python3"]) {
        return;
    }
    let prefix = lab::unique_prefix("fld");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, common::exe());
    spec.registration_timeout = Some(5);
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    for i in [1, 2] {
        lab::wait_for(Duration::from_secs(60), "the spokes' NHS up", || {
            (nhs_up(&lab, i) == Some(true)).then_some(())
        })
        .unwrap_or_else(|e| panic!("spoke {i}: {e}"));
    }

    let hub = lab.nodes()[0].clone();
    let mut records = Vec::new();
    for k in 0..FLOOD {
        let p = flood_packet(k, hub.nbma, hub.tunnel);
        records.extend_from_slice(&u16::try_from(p.len()).unwrap().to_be_bytes());
        records.extend_from_slice(&p);
    }
    let file = lab.state_dir().join("flood.bin");
    std::fs::write(&file, &records).expect("write the flood");
    let script = lab.state_dir().join("flood.py");
    std::fs::write(&script, SENDER).expect("write the sender");

    let lines_before = log_lines(&lab, 0);
    let before = hub_traffic(&lab);
    let mut sender = Command::new("ip")
        .args(["netns", "exec", &lab.inet_ns(), "python3"])
        .arg(&script)
        .arg(&file)
        .arg(hub.nbma.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the sender");

    // Poll both spokes while the flood runs and for 20 s after it ended.
    let mut polls = 0;
    let mut flood_end: Option<Instant> = None;
    while flood_end.is_none_or(|t| t.elapsed() < Duration::from_secs(20)) {
        if flood_end.is_none() && sender.try_wait().expect("sender status").is_some() {
            flood_end = Some(Instant::now());
        }
        for i in [1, 2] {
            // A daemon too busy to answer is no verdict; a DOWN NHS is.
            assert_ne!(
                nhs_up(&lab, i),
                Some(false),
                "spoke {i} saw its NHS go down during the flood:\n{}",
                cli(&lab, i, &["show", "ip", "nhrp", "nhs", "detail"])
            );
        }
        polls += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = sender.wait_with_output().expect("sender output");
    let sent = String::from_utf8_lossy(&out.stdout);
    eprintln!("sender: {} (packets, seconds)", sent.trim());
    assert!(out.status.success(), "the sender failed");

    let after = hub_traffic(&lab);
    let flood_seen = after.received.registration_request - before.received.registration_request;
    let lines = log_lines(&lab, 0).saturating_sub(lines_before);
    let cache = lab.show_nhrp(0).map(|c| c.entries.len()).unwrap_or(0);
    eprintln!(
        "hub: {flood_seen} registrations received, {} max-send drops, {} replies to established \
         peers from their budget, {lines} log lines, {cache} cache entries; {polls} NHS polls",
        after.max_send.dropped - before.max_send.dropped,
        after.max_send.established_sent,
    );
    assert!(
        flood_seen > u64::from(FLOOD) / 4,
        "the hub saw only {flood_seen} of the flood: the test proved nothing"
    );
    assert!(
        lines < 2_000,
        "the hub wrote {lines} log lines for a flood of {FLOOD}"
    );
    assert!(cache < 25_000, "{cache} cache entries");
    // The spokes are still registered and refreshed after the flood.
    for i in [1, 2] {
        assert_eq!(nhs_up(&lab, i), Some(true), "spoke {i} after the flood");
    }
}

//! The renderers checked against the show outputs printed in the source
//! documents (`../shared/seeds`). The seeds' text lost some whitespace when it
//! was extracted, so lines are compared with runs of spaces collapsed.
//! Skips with a message when the seeds are absent (fails with
//! `DMVPN_REQUIRE_SHARED=1`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/sample.rs"]
mod sample;

use std::path::PathBuf;

use dmvpn_mgmt::render;

fn seed(prefix: &str) -> Option<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    let found = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
    });
    match found.and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => Some(text),
        None => {
            if std::env::var_os("DMVPN_REQUIRE_SHARED").is_some() {
                panic!("seed {prefix}* not found under {}", dir.display());
            }
            eprintln!("SKIP: seed {prefix}* not found under {}", dir.display());
            None
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every line of `rendered` (collapsed) must be a line of `seed` (collapsed).
fn assert_lines_in_seed(what: &str, rendered: &str, seed: &str, skip: impl Fn(&str) -> bool) {
    let seed_lines: Vec<String> = seed.lines().map(collapse).collect();
    for line in rendered
        .lines()
        .filter(|l| !l.trim().is_empty() && !skip(l))
    {
        let c = collapse(line);
        assert!(
            seed_lines.contains(&c),
            "{what}: line {line:?} is not in the seed"
        );
    }
}

#[test]
fn show_ip_nhrp_matches_document_41940() {
    let Some(seed) = seed("003_") else { return };
    // The hub's cache, exactly as printed (indentation included).
    let text = render::nhrp(&sample::hub_nhrp_cache());
    let expected = "10.0.0.2/32 via 10.0.0.2, Tunnel0 created 00:57:27, expire 00:04:13\n  Type: dynamic, Flags: authoritative unique registered\n  NBMA address: 172.16.1.24\n";
    assert!(text.starts_with(expected), "{text}");
    assert!(seed.contains(expected.trim_end()), "seed changed?");
    assert_lines_in_seed("show ip nhrp (hub)", &text, &seed, |_| false);
    // The spoke's static and router entries (skip the extra NAT, incomplete
    // and day-old entries that the seed has no example of).
    let mut spoke = sample::spoke_nhrp_cache();
    spoke.entries.truncate(2);
    assert_lines_in_seed("show ip nhrp (spoke)", &render::nhrp(&spoke), &seed, |_| {
        false
    });
}

#[test]
fn show_dmvpn_matches_cisco_guide() {
    let Some(seed) = seed("001_") else { return };
    let text = render::dmvpn(&sample::spoke_dmvpn());
    // The rule line is IOS's full underline; the seed kept only "-----".
    assert_lines_in_seed("show dmvpn", &text, &seed, |l| l.starts_with("-----"));
    // The detail example was taken 15 minutes later and lists the local
    // entry as a fourth peer: adjust the sample the same way.
    let mut st = sample::spoke_dmvpn();
    let t1 = &mut st.interfaces[0];
    t1.peers[1].up_down_secs = Some(2 * 3600 + 55 * 60 + 47);
    t1.peers[1].entries[0].up_down_secs = t1.peers[1].up_down_secs;
    let local = dmvpn_mgmt::PeerAttributes {
        dynamic: true,
        local: true,
        no_socket: true,
        ..Default::default()
    };
    t1.peers.insert(
        1,
        dmvpn_mgmt::DmvpnPeer {
            nbma: "192.0.2.229".parse().unwrap(),
            tunnel: "192.0.2.5".parse().unwrap(),
            state: dmvpn_mgmt::PeerState::Up,
            up_down_secs: Some(15 * 60),
            attributes: local,
            entries: vec![dmvpn_mgmt::DmvpnEntry {
                target: dmvpn_mgmt::Prefix::host("192.0.2.5".parse().unwrap()),
                state: dmvpn_mgmt::PeerState::Up,
                up_down_secs: Some(15 * 60),
                attributes: local,
            }],
            counters: Default::default(),
            crypto: None,
        },
    );
    let detail = render::dmvpn_detail(&st);
    assert!(detail.contains("Type: Spoke, NBMA Peers: 4\n"), "{detail}");
    assert!(detail.contains(" DLX "), "{detail}");
    // GRE FLOW lines replace the seed's crypto lines; the seed's Tunnel2
    // row carries no target network.
    assert_lines_in_seed("show dmvpn detail", &detail, &seed, |l| {
        l.starts_with("-----")
            || l.contains("GRE FLOW")
            || l.contains("#pkts")
            || l.contains("192.0.2.171/32")
    });
}

#[test]
fn show_ip_nhrp_traffic_matches_cisco_guide() {
    let Some(seed) = seed("001_") else { return };
    let text = render::traffic(&sample::traffic_report());
    assert_lines_in_seed("show ip nhrp traffic", &text, &seed, |_| false);
}

#[test]
fn show_dmvpn_debug_condition_matches_cisco_guide() {
    let Some(seed) = seed("001_") else { return };
    let mut d = dmvpn_mgmt::DebugConditions::default();
    d.interfaces.push("Tunnel101".into());
    let text = render::debug_condition(&d);
    // Our additions: tunnel-address conditions and the switches that are on.
    let ours = ["Tunnel addresses under debug are:", "Debugging on:", "none"];
    assert_lines_in_seed("show dmvpn debug-condition", &text, &seed, |l| {
        ours.contains(&l.trim())
    });
}

#[test]
fn show_ip_nhrp_nhs_extends_the_aos_table() {
    let Some(seed) = seed("000_") else { return };
    let text = render::nhs(&sample::nhs_report());
    // The AOS columns come first, in the AOS order.
    let seed_header = collapse(
        seed.lines()
            .find(|l| l.starts_with("INTERFACE"))
            .unwrap_or(""),
    );
    assert_eq!(seed_header, "INTERFACE NHS STATUS");
    let header = collapse(text.lines().next().unwrap_or(""));
    assert!(
        header.starts_with("INTERFACE NHS STATUS PRIORITY"),
        "{header}"
    );
    let row = collapse(text.lines().nth(1).unwrap_or(""));
    assert!(row.starts_with("Tunnel4 1.1.1.2 UP"), "{row}");
    let row = collapse(text.lines().nth(2).unwrap_or(""));
    assert!(row.starts_with("Tunnel5 5.5.5.5 DOWN"), "{row}");
}

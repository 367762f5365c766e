//! Rendering: the exposition of a sample snapshot against a golden file, and
//! its counters parsed back and compared with the `show` snapshots they came
//! from (`show ip nhrp traffic`, `show dmvpn`, `show ip nhrp nhs`).
//!
//! Regenerate the golden file with `UPDATE_GOLDEN=1 cargo test -p dmvpn-metrics`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::sample;
use common::{parse, sample_snapshot, value};
use dmvpn_metrics::{MetricKind, MetricsSnapshot, families, render};
use dmvpn_mgmt::{PeerState, TrafficReport};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/sample.txt");

#[test]
fn sample_matches_golden_file() {
    let text = render(&sample_snapshot());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).expect("write golden file");
    }
    let golden = std::fs::read_to_string(GOLDEN).expect("golden file exists");
    assert_eq!(text, golden, "rendering changed; UPDATE_GOLDEN=1 to accept");
}

#[test]
fn rendering_is_deterministic_and_ends_with_eof() {
    let s = sample_snapshot();
    let a = render(&s);
    assert_eq!(a, render(&s));
    assert!(a.ends_with("# EOF\n"), "{a}");
}

/// Every packet type's `type` label (the canonical list) with its counter, then `other`.
fn traffic_type_counts(c: &dmvpn_mgmt::NhrpTypeCounters) -> Vec<(&'static str, u64)> {
    let mut v: Vec<_> = c.by_type().map(|(t, n)| (t.label(), n)).collect();
    v.push(("other", c.other));
    assert_eq!(v.len(), 9, "eight packet types and other");
    v
}

/// Every NHRP counter of `report` appears in `text` with the same value.
fn assert_traffic_matches(text: &str, report: &TrafficReport) {
    let lines = parse(text);
    for t in &report.interfaces {
        for (dir, c) in [("sent", &t.sent), ("received", &t.received)] {
            for (ty, want) in traffic_type_counts(c) {
                let got = value(
                    &lines,
                    "dmvpn_nhrp_packets_total",
                    &[
                        ("interface", &t.interface),
                        ("direction", dir),
                        ("type", ty),
                    ],
                );
                assert_eq!(got, Some(want as f64), "{} {dir} {ty}", t.interface);
            }
            let total = value(
                &lines,
                "dmvpn_nhrp_packets_all_total",
                &[("interface", &t.interface), ("direction", dir)],
            );
            assert_eq!(total, Some(c.total as f64), "{} {dir} total", t.interface);
        }
        let iface = [("interface", t.interface.as_str())];
        assert_eq!(
            value(&lines, "dmvpn_nhrp_max_send_limit_packets", &iface),
            Some(f64::from(t.max_send.packets))
        );
        assert_eq!(
            value(&lines, "dmvpn_nhrp_max_send_interval_seconds", &iface),
            Some(f64::from(t.max_send.interval_secs))
        );
        assert_eq!(
            value(&lines, "dmvpn_nhrp_max_send_usage_percent", &iface),
            Some(f64::from(t.max_send.usage_percent))
        );
        assert_eq!(
            value(&lines, "dmvpn_nhrp_max_send_drops_total", &iface),
            Some(t.max_send.dropped as f64)
        );
    }
}

#[test]
fn nhrp_counters_equal_show_ip_nhrp_traffic() {
    let s = sample_snapshot();
    let text = render(&s);
    assert_traffic_matches(&text, &sample::traffic_report());
    // The seed's figures, spelled out once: Sent Total 79, Rcvd Total 69.
    let lines = parse(&text);
    let t7 = |dir, ty| {
        value(
            &lines,
            "dmvpn_nhrp_packets_total",
            &[("interface", "Tunnel7"), ("direction", dir), ("type", ty)],
        )
    };
    assert_eq!(t7("sent", "registration_request"), Some(42.0));
    assert_eq!(t7("received", "registration_reply"), Some(36.0));
    assert_eq!(t7("sent", "resolution_request"), Some(18.0));
    assert_eq!(t7("received", "resolution_reply"), Some(15.0));
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_packets_all_total",
            &[("interface", "Tunnel7"), ("direction", "sent")]
        ),
        Some(79.0)
    );
}

#[test]
fn traffic_with_large_and_changed_counters_still_matches() {
    let mut report = sample::traffic_report();
    let mut t = report.interfaces[0].clone();
    t.interface = "Tunnel0".into();
    t.sent.traffic_indication = 5;
    t.sent.error_indication = u64::MAX - 1;
    t.received.other = 3;
    t.sent = t.sent.with_total();
    t.received = t.received.with_total();
    t.max_send.dropped = 17;
    t.max_send.usage_percent = 42;
    report.interfaces.push(t);
    let s = MetricsSnapshot::from_mgmt(&Default::default(), &report, &Default::default());
    // u64::MAX - 1 is not exactly representable as f64 and rounds the same
    // way on both sides, so the comparison still holds.
    assert_traffic_matches(&render(&s), &report);
}

#[test]
fn peers_by_state_and_data_counters_equal_show_dmvpn() {
    let s = sample_snapshot();
    let lines = parse(&render(&s));
    for i in &s.dmvpn.interfaces {
        for (state, st) in [
            ("up", PeerState::Up),
            ("down", PeerState::Down),
            ("nhrp", PeerState::Nhrp),
            ("ike", PeerState::Ike),
            ("ipsec", PeerState::Ipsec),
            ("intf", PeerState::Intf),
        ] {
            let want = i.peers.iter().filter(|p| p.state == st).count();
            assert_eq!(
                value(
                    &lines,
                    "dmvpn_peers",
                    &[("interface", &i.name), ("state", state)]
                ),
                Some(want as f64),
                "{} {state}",
                i.name
            );
        }
        for (dir, pk, by) in [
            ("tx", i.counters.packets_out, i.counters.bytes_out),
            ("rx", i.counters.packets_in, i.counters.bytes_in),
        ] {
            let l = [("interface", i.name.as_str()), ("direction", dir)];
            assert_eq!(
                value(&lines, "dmvpn_tunnel_packets_total", &l),
                Some(pk as f64)
            );
            assert_eq!(
                value(&lines, "dmvpn_tunnel_bytes_total", &l),
                Some(by as f64)
            );
        }
        for p in &i.peers {
            let nbma = p.nbma.to_string();
            for (dir, pk, by) in [
                ("tx", p.counters.packets_out, p.counters.bytes_out),
                ("rx", p.counters.packets_in, p.counters.bytes_in),
            ] {
                let l = [
                    ("interface", i.name.as_str()),
                    ("peer_nbma", nbma.as_str()),
                    ("direction", dir),
                ];
                assert_eq!(
                    value(&lines, "dmvpn_peer_packets_total", &l),
                    Some(pk as f64)
                );
                assert_eq!(value(&lines, "dmvpn_peer_bytes_total", &l), Some(by as f64));
            }
        }
    }
    // Tunnel1 of the seed: one UP, one NHRP, one IKE peer.
    let t1 = |st| {
        value(
            &lines,
            "dmvpn_peers",
            &[("interface", "Tunnel1"), ("state", st)],
        )
    };
    assert_eq!(
        (t1("up"), t1("nhrp"), t1("ike")),
        (Some(1.0), Some(1.0), Some(1.0))
    );
}

#[test]
fn nhs_errors_and_drops() {
    let lines = parse(&render(&sample_snapshot()));
    let nhs = |name, nhs| value(&lines, name, &[("nhs", nhs)]);
    assert_eq!(nhs("dmvpn_nhs_up", "1.1.1.2"), Some(1.0));
    assert_eq!(nhs("dmvpn_nhs_up", "5.5.5.5"), Some(0.0));
    assert_eq!(
        nhs("dmvpn_nhs_registration_requests_total", "1.1.1.2"),
        Some(106.0)
    );
    assert_eq!(
        nhs("dmvpn_nhs_registration_replies_total", "1.1.1.2"),
        Some(105.0)
    );
    assert_eq!(
        nhs("dmvpn_nhs_registration_failures_total", "5.5.5.5"),
        Some(3.0)
    );
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_error_indications_total",
            &[
                ("direction", "received"),
                ("code", "11"),
                ("error", "authentication_failure")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_redirect_rate_limited_total",
            &[("interface", "Tunnel7")]
        ),
        Some(4.0)
    );
    assert_eq!(
        value(
            &lines,
            "dmvpn_nhrp_receive_drops_total",
            &[("reason", "authentication_failure")]
        ),
        Some(2.0)
    );
}

#[test]
fn every_family_is_typed_and_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/metrics.md"
    ))
    .expect("docs/metrics.md exists");
    let text = render(&sample_snapshot());
    for f in families(&sample_snapshot()) {
        let kind = match f.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        };
        assert!(
            text.contains(&format!("# TYPE {} {kind}\n", f.name)),
            "{} not typed {kind}",
            f.name
        );
        assert!(
            doc.contains(&format!("`{}`", f.exposed_name())),
            "{} missing from docs/metrics.md",
            f.exposed_name()
        );
    }
}

#[test]
fn empty_snapshot_renders_descriptors_only() {
    let text = render(&MetricsSnapshot::default());
    assert!(parse(&text).is_empty(), "{text}");
    assert!(text.ends_with("# EOF\n"));
}

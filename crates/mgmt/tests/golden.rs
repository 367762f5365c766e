//! Snapshot tests: every renderer on the sample snapshots, compared with the
//! golden files in `tests/golden/`. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p dmvpn-mgmt --test golden` and review the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "support/sample.rs"]
mod sample;

use std::path::PathBuf;

use dmvpn_mgmt::{
    InterfaceFilter, Payload, PeerFilter, Request, ShowDmvpn, ShowIpNhrp, ShowNhs, render,
};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check(name: &str, actual: &str) {
    let path = golden_dir().join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "{name} differs from {}; run with UPDATE_GOLDEN=1 to accept",
        path.display()
    );
}

fn cases() -> Vec<(&'static str, Request, Payload)> {
    let show_dmvpn = |detail| {
        Request::ShowDmvpn(ShowDmvpn {
            detail,
            ..ShowDmvpn::default()
        })
    };
    vec![
        (
            "show_dmvpn_spoke",
            show_dmvpn(false),
            Payload::Dmvpn(sample::spoke_dmvpn()),
        ),
        (
            "show_dmvpn_hub",
            show_dmvpn(false),
            Payload::Dmvpn(sample::hub_dmvpn()),
        ),
        (
            "show_dmvpn_detail_spoke",
            show_dmvpn(true),
            Payload::Dmvpn(sample::spoke_dmvpn()),
        ),
        (
            "show_dmvpn_detail_hub",
            show_dmvpn(true),
            Payload::Dmvpn(sample::hub_dmvpn()),
        ),
        (
            "show_ip_nhrp_hub",
            Request::ShowIpNhrp(ShowIpNhrp::default()),
            Payload::NhrpCache(sample::hub_nhrp_cache()),
        ),
        (
            "show_ip_nhrp_spoke",
            Request::ShowIpNhrp(ShowIpNhrp::default()),
            Payload::NhrpCache(sample::spoke_nhrp_cache()),
        ),
        (
            "show_ip_nhrp_brief_spoke",
            Request::ShowIpNhrp(ShowIpNhrp {
                brief: true,
                ..ShowIpNhrp::default()
            }),
            Payload::NhrpCache(sample::spoke_nhrp_cache()),
        ),
        (
            "show_ip_nhrp_nhs",
            Request::ShowIpNhrpNhs(ShowNhs::default()),
            Payload::Nhs(sample::nhs_report()),
        ),
        (
            "show_ip_nhrp_nhs_detail",
            Request::ShowIpNhrpNhs(ShowNhs {
                detail: true,
                interface: None,
            }),
            Payload::Nhs(sample::nhs_report()),
        ),
        (
            "show_ip_nhrp_traffic",
            Request::ShowIpNhrpTraffic(InterfaceFilter::default()),
            Payload::Traffic(sample::traffic_report()),
        ),
        (
            "show_ip_nhrp_shortcut",
            Request::ShowIpNhrpShortcut(InterfaceFilter::default()),
            Payload::Shortcuts(sample::shortcut_table()),
        ),
        (
            "show_dmvpn_debug_condition",
            Request::ShowDmvpnDebugCondition,
            Payload::DebugConditions(sample::debug_conditions()),
        ),
        (
            "show_dmvpn_debug_condition_empty",
            Request::ShowDmvpnDebugCondition,
            Payload::DebugConditions(Default::default()),
        ),
        (
            "show_running_config",
            Request::ShowRunningConfig,
            Payload::RunningConfig(sample::running_config()),
        ),
    ]
}

#[test]
fn renderers_match_golden_files() {
    for (name, req, payload) in cases() {
        check(name, &render::render(&req, &payload));
    }
}

#[test]
fn rendered_lines_have_no_trailing_space_and_end_with_newline() {
    for (name, req, payload) in cases() {
        let text = render::render(&req, &payload);
        assert!(text.ends_with('\n'), "{name}");
        for line in text.lines() {
            assert_eq!(line, line.trim_end(), "{name}: trailing space in {line:?}");
        }
    }
}

#[test]
fn show_dmvpn_counts_and_letters() {
    let text = render::dmvpn(&sample::spoke_dmvpn());
    assert!(
        text.contains("Tunnel1, Type: Spoke, NBMA Peers: 3,\n"),
        "{text}"
    );
    assert!(
        text.contains("Tunnel2, Type: Spoke, NBMA Peers: 1,\n"),
        "{text}"
    );
    // The first peer has two NHRP entries and is dynamic; 3w0d up.
    let row = text.lines().find(|l| l.contains("192.0.2.21 ")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols, ["2", "192.0.2.21", "192.0.2.116", "IKE", "3w0d", "D"]);
    let never = text.lines().find(|l| l.contains("192.0.2.25 ")).unwrap();
    assert!(never.ends_with("IKE    never S"), "{never:?}");
    let hub = render::dmvpn(&sample::hub_dmvpn());
    assert!(hub.contains("Tunnel0, Type: Hub, NBMA Peers: 2,"), "{hub}");
    assert!(hub.lines().any(|l| l.ends_with("UP 07:11:25 DN")), "{hub}");
}

#[test]
fn filters_apply_before_rendering() {
    struct H;
    impl dmvpn_mgmt::Handler for H {
        fn dmvpn(&mut self) -> Result<dmvpn_mgmt::DmvpnStatus, dmvpn_mgmt::HandlerError> {
            Ok(sample::spoke_dmvpn())
        }
        fn nhrp_cache(&mut self) -> Result<dmvpn_mgmt::NhrpCache, dmvpn_mgmt::HandlerError> {
            Ok(sample::spoke_nhrp_cache())
        }
    }
    let req = Request::ShowDmvpn(ShowDmvpn {
        peer: Some(PeerFilter::Nbma {
            address: "192.0.2.225".parse().unwrap(),
        }),
        ..ShowDmvpn::default()
    });
    let dmvpn_mgmt::Response::Ok {
        payload: Payload::Dmvpn(s),
    } = dmvpn_mgmt::dispatch(&mut H, &req)
    else {
        panic!("expected dmvpn payload")
    };
    let peers: Vec<_> = s
        .interfaces
        .iter()
        .flat_map(|i| i.peers.iter().map(|p| p.tunnel.to_string()))
        .collect();
    assert_eq!(peers, ["192.0.2.10"]);

    let req = Request::ShowDmvpn(ShowDmvpn {
        interface: Some("tu2".into()),
        static_only: true,
        ..ShowDmvpn::default()
    });
    let dmvpn_mgmt::Response::Ok {
        payload: Payload::Dmvpn(s),
    } = dmvpn_mgmt::dispatch(&mut H, &req)
    else {
        panic!("expected dmvpn payload")
    };
    assert_eq!(s.interfaces.len(), 1);
    assert_eq!(s.interfaces[0].name, "Tunnel2");

    let req = Request::ShowIpNhrp(ShowIpNhrp {
        address: Some("10.0.0.3".parse().unwrap()),
        ..ShowIpNhrp::default()
    });
    let dmvpn_mgmt::Response::Ok {
        payload: Payload::NhrpCache(c),
    } = dmvpn_mgmt::dispatch(&mut H, &req)
    else {
        panic!("expected cache payload")
    };
    assert_eq!(c.entries.len(), 1);
    assert_eq!(c.entries[0].nbma, Some("172.16.2.75".parse().unwrap()));
    let req = Request::ShowIpNhrp(ShowIpNhrp {
        interface: Some("Tunnel1".into()),
        ..ShowIpNhrp::default()
    });
    let dmvpn_mgmt::Response::Ok {
        payload: Payload::NhrpCache(c),
    } = dmvpn_mgmt::dispatch(&mut H, &req)
    else {
        panic!("expected cache payload")
    };
    assert_eq!(c.entries.len(), 1);
}

#[test]
fn times_normalise_without_breaking_columns() {
    let text = render::dmvpn(&sample::spoke_dmvpn());
    let n = render::normalize_times(&text);
    assert!(!n.contains("3w0d") && !n.contains("02:40:51"), "{n}");
    assert!(n.contains("IKE hh:mm:ss D"), "{n}");
    assert!(n.contains("never S"), "{n}");
    // Every row keeps its length, so columns stay aligned.
    for (a, b) in text.lines().zip(n.lines()) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    }
    let c = render::normalize_times(&render::nhrp(&sample::hub_nhrp_cache()));
    assert!(
        c.starts_with("10.0.0.2/32 via 10.0.0.2, Tunnel0 created hh:mm:ss, expire hh:mm:ss\n"),
        "{c}"
    );
    let d = render::normalize_times(&render::nhs_detail(&sample::nhs_report()));
    assert!(d.contains("(hh:mm:ss ago)"), "{d}");
    // Addresses and counters are left alone.
    assert_eq!(
        render::normalize_times("10.0.0.1 106 1d 3w x:y:z"),
        "10.0.0.1 106 1d 3w x:y:z"
    );
}

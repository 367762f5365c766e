//! JSON Schema checks: the committed schemas under `schemas/` are the ones
//! generated from the types (regenerate with `UPDATE_GOLDEN=1`), every sample
//! payload and every request validates against them, and a payload missing a
//! documented field does not.

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
    Ack, ClearCounters, ClearDmvpnSession, ClearDmvpnStatistics, ClearIpNhrp, DebugCommand,
    DebugCondition, DebugRequest, DmvpnDebugLevel, DmvpnDebugScope, InterfaceFilter, NhrpDebugKind,
    Payload, PeerFilter, Request, Response, ShowDmvpn, ShowIpNhrp, ShowNhs, encode_request,
    encode_response, schema,
};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn committed(name: &str) -> serde_json::Value {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        // Tests run in parallel with the one rewriting the files.
        if let Some((_, v)) = schema::all().into_iter().find(|(n, _)| *n == name) {
            return v;
        }
    }
    let path = schema_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    serde_json::from_str(&text).expect("schema file is JSON")
}

fn validate(schema_name: &str, instance: &serde_json::Value) -> Vec<String> {
    let schema = committed(schema_name);
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn committed_schemas_are_current() {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(schema_dir()).unwrap();
    }
    for (name, generated) in schema::all() {
        let path = schema_dir().join(name);
        let pretty = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &pretty).unwrap();
            continue;
        }
        assert_eq!(
            committed(name),
            generated,
            "{} is stale; run UPDATE_GOLDEN=1 cargo test -p dmvpn-mgmt --test schema",
            path.display()
        );
    }
}

fn payloads() -> Vec<Payload> {
    vec![
        Payload::Dmvpn(sample::spoke_dmvpn()),
        Payload::Dmvpn(sample::hub_dmvpn()),
        Payload::NhrpCache(sample::hub_nhrp_cache()),
        Payload::NhrpCache(sample::spoke_nhrp_cache()),
        Payload::Nhs(sample::nhs_report()),
        Payload::Traffic(sample::traffic_report()),
        Payload::Shortcuts(sample::shortcut_table()),
        Payload::RunningConfig(sample::running_config()),
        Payload::DebugConditions(sample::debug_conditions()),
        Payload::Ack(Ack {
            message: "NHRP packet debugging is on".into(),
            affected: None,
        }),
    ]
}

#[test]
fn payload_data_validates_against_its_schema() {
    for p in payloads() {
        let file = schema::file_for_kind(p.kind()).expect("every kind has a schema");
        let errors = validate(file, &p.data_json());
        assert!(errors.is_empty(), "{}: {errors:?}", p.kind());
        // The pretty form `--json` prints is the same document.
        let pretty: serde_json::Value = serde_json::from_str(&p.data_json_pretty()).unwrap();
        assert_eq!(pretty, p.data_json(), "{}", p.kind());
    }
}

#[test]
fn responses_validate_against_the_envelope_schema() {
    let mut all = payloads().into_iter().map(Response::ok).collect::<Vec<_>>();
    all.push(Response::error("no such interface: Tunnel9"));
    for r in all {
        let v: serde_json::Value = serde_json::from_str(&encode_response(&r)).unwrap();
        let errors = validate("response.schema.json", &v);
        assert!(errors.is_empty(), "{v}: {errors:?}");
    }
}

pub fn all_requests() -> Vec<Request> {
    let ip = |s: &str| s.parse().unwrap();
    vec![
        Request::ShowDmvpn(ShowDmvpn {
            detail: true,
            peer: Some(PeerFilter::Nbma {
                address: ip("192.0.2.1"),
            }),
            interface: Some("Tunnel0".into()),
            static_only: true,
        }),
        Request::ShowDmvpnDebugCondition,
        Request::ShowIpNhrp(ShowIpNhrp {
            brief: true,
            address: Some(ip("10.0.0.2")),
            interface: None,
        }),
        Request::ShowIpNhrpNhs(ShowNhs {
            detail: true,
            interface: None,
        }),
        Request::ShowIpNhrpTraffic(InterfaceFilter {
            interface: Some("Tunnel0".into()),
        }),
        Request::ShowIpNhrpShortcut(InterfaceFilter::default()),
        Request::ShowRunningConfig,
        Request::ClearIpNhrp(ClearIpNhrp {
            address: Some(ip("10.0.0.3")),
            interface: None,
        }),
        Request::ClearDmvpnSession(ClearDmvpnSession {
            peer: Some(PeerFilter::Tunnel {
                address: ip("10.0.0.3"),
            }),
            interface: None,
            include_static: true,
        }),
        Request::ClearDmvpnStatistics(ClearDmvpnStatistics::default()),
        Request::ClearCounters(ClearCounters {
            interface: "Tunnel1".into(),
        }),
        Request::Debug(DebugRequest {
            command: DebugCommand::Nhrp {
                kind: NhrpDebugKind::Packet,
            },
            enable: true,
        }),
        Request::Debug(DebugRequest {
            command: DebugCommand::Dmvpn {
                level: DmvpnDebugLevel::All,
                scope: DmvpnDebugScope::Nhrp,
            },
            enable: false,
        }),
        Request::Debug(DebugRequest {
            command: DebugCommand::Condition {
                condition: DebugCondition::Interface {
                    name: "Tunnel0".into(),
                },
            },
            enable: true,
        }),
        Request::Debug(DebugRequest {
            command: DebugCommand::NhrpCapture {
                path: Some("/tmp/n.pcapng".into()),
            },
            enable: true,
        }),
        Request::UndebugAll,
    ]
}

#[test]
fn requests_validate_and_round_trip() {
    for r in all_requests() {
        let line = encode_request(&r);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let errors = validate("request.schema.json", &v);
        assert!(errors.is_empty(), "{line}: {errors:?}");
        assert_eq!(dmvpn_mgmt::decode_request(&line).unwrap(), r);
    }
}

#[test]
fn missing_documented_fields_are_rejected() {
    let mut v = Payload::NhrpCache(sample::hub_nhrp_cache()).data_json();
    v["entries"][0].as_object_mut().unwrap().remove("interface");
    assert!(!validate("nhrp_cache.schema.json", &v).is_empty());
    let mut v = Payload::Dmvpn(sample::hub_dmvpn()).data_json();
    v["interfaces"][0]["peers"][0]["state"] = serde_json::json!("sideways");
    assert!(!validate("dmvpn_status.schema.json", &v).is_empty());
    let v = serde_json::json!({"version": 1, "command": "format_disk"});
    assert!(!validate("request.schema.json", &v).is_empty());
}

#[test]
fn documented_field_names_are_present() {
    // The names docs/cli.md documents for `show ip nhrp --json`.
    let v = Payload::NhrpCache(sample::spoke_nhrp_cache()).data_json();
    let e = &v["entries"][2];
    for key in [
        "prefix",
        "via",
        "interface",
        "created_secs",
        "expire_secs",
        "type",
        "flags",
        "nbma",
        "claimed_nbma",
        "preference",
    ] {
        assert!(e.get(key).is_some(), "entry lacks {key}: {e}");
    }
    assert_eq!(
        e["prefix"],
        serde_json::json!({"address": "10.0.0.4", "prefix_len": 32})
    );
    assert_eq!(e["type"], "dynamic");
    assert_eq!(e["flags"]["nat"], true);
    // `show dmvpn --json`.
    let v = Payload::Dmvpn(sample::hub_dmvpn()).data_json();
    let p = &v["interfaces"][0]["peers"][1];
    for key in [
        "nbma",
        "tunnel",
        "state",
        "up_down_secs",
        "attributes",
        "entries",
        "counters",
    ] {
        assert!(p.get(key).is_some(), "peer lacks {key}: {p}");
    }
    assert_eq!(p["attributes"]["static"], false);
    assert_eq!(p["attributes"]["nated"], true);
    assert_eq!(v["interfaces"][0]["role"], "hub");
}

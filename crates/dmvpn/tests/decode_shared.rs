//! `dmvpn decode` on the real captures in `../shared/captures/tcpdump`:
//! byte-exact round trips, field-by-field agreement with tshark, agreement
//! with tcpdump's expected output, the clean error for the malformed
//! `pb_nhrp_1`, and the text output. Skips visibly when `../shared` (or
//! tshark) is absent; fails instead under `DMVPN_REQUIRE_SHARED=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "decode_support.rs"]
mod support;

use std::collections::BTreeMap;

use dmvpn_capture::NhrpFrames;
use dmvpn_wire::nhrp;
use serde_json::Value;
use support::*;

#[test]
fn every_nhrp_packet_reencodes_byte_identically() {
    let Some(dir) = captures_dir() else { return };
    let mut checked = 0;
    for (name, count) in NHRP_CAPTURES {
        let frames: Vec<_> = NhrpFrames::open(dir.join(name))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(frames.len(), *count, "{name}");
        for frame in frames {
            let what = format!("{name} frame {}", frame.frame);
            if *name == "pb_nhrp_1.pcap" {
                let err = nhrp::Repr::parse(&frame.nhrp).expect_err(&what);
                // A typed error that names the field and the byte offset.
                assert!(
                    matches!(
                        err,
                        dmvpn_wire::Error::Truncated {
                            field: "packet",
                            offset: 0,
                            need: 30547,
                            have: 40
                        }
                    ),
                    "{what}: {err:?}"
                );
                continue;
            }
            let repr = nhrp::Repr::parse(&frame.nhrp).unwrap_or_else(|e| panic!("{what}: {e}"));
            let size = usize::from(u16::from_be_bytes([frame.nhrp[10], frame.nhrp[11]]));
            assert_eq!(repr.to_bytes().unwrap(), frame.nhrp[..size], "{what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 36);
}

#[test]
fn malformed_pb_nhrp_1_gives_a_clean_typed_error() {
    let Some(dir) = captures_dir() else { return };
    let (code, records) = decode_json(&dir.join("pb_nhrp_1.pcap"));
    assert_eq!(
        code, 1,
        "a packet that fails to decode is a negative result"
    );
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["frame"], 1);
    assert_eq!(r["src"], "62.41.66.144");
    assert_eq!(r["dst"], "191.215.63.14");
    assert_eq!(r["encapsulation"], "ip");
    assert_eq!(r["error"]["kind"], "truncated");
    assert_eq!(r["error"]["field"], "packet");
    assert_eq!(r["error"]["offset"], 0);
    assert!(r["error"]["message"].as_str().unwrap().contains("30547"));
    assert_eq!(r["bytes"].as_str().unwrap().len(), 80);

    let (code, text, stderr) = decode_text(&dir.join("pb_nhrp_1.pcap"));
    assert_eq!(code, 1);
    assert!(text.contains("frame 1 at "), "{text}");
    assert!(text.contains("error: truncated packet at byte 0"), "{text}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn json_fields_equal_tshark_field_by_field() {
    let Some(dir) = captures_dir() else { return };
    if !tshark_available() {
        return;
    }
    let mut total = Diff::new("all");
    let mut packets = 0;
    for (name, count) in NHRP_CAPTURES {
        if *name == "pb_nhrp_1.pcap" {
            continue;
        }
        let path = dir.join(name);
        let (code, ours) = decode_json(&path);
        assert_eq!(code, 0, "{name}");
        assert_eq!(ours.len(), *count, "{name}");
        let tshark: BTreeMap<u64, Value> = tshark_json(&path)
            .into_iter()
            .map(|p| (tshark_frame_number(&p), p))
            .collect();
        for record in &ours {
            let frame = record["frame"].as_u64().unwrap();
            let packet = &tshark[&frame];
            let nhrp = match &layers(packet)["nhrp"] {
                Value::Array(a) => a[0].clone(),
                other => other.clone(),
            };
            let mut diff = Diff::new(format!("{name} frame {frame}"));
            compare_with_tshark(record, &nhrp, &mut diff);
            // Outer headers too.
            let ip = &layers(packet)["ip"];
            assert_eq!(record["src"], ip["ip.src"], "{name} frame {frame}");
            assert_eq!(record["dst"], ip["ip.dst"], "{name} frame {frame}");
            let key = layers(packet)["gre"]["gre.key"].clone();
            assert_eq!(
                record["gre_key"].as_u64(),
                num(&key),
                "{name} frame {frame}"
            );
            let epoch = layers(packet)["frame"]["frame.time_epoch"]
                .as_str()
                .unwrap()
                .to_string();
            assert_eq!(
                record["time"].as_str().unwrap(),
                epoch,
                "{name} frame {frame}"
            );
            total.mismatches.extend(diff.mismatches);
            total.compared += diff.compared;
            packets += 1;
        }
    }
    assert!(
        total.mismatches.is_empty(),
        "dmvpn decode and tshark disagree:\n{}",
        total.mismatches.join("\n")
    );
    assert_eq!(packets, 36);
    // Sanity: the comparison really looked at the fields.
    assert!(
        total.compared > 36 * 25,
        "only {} comparisons",
        total.compared
    );
    eprintln!(
        "compared {} fields of {packets} packets with tshark",
        total.compared
    );
}

/// One frame of tcpdump's expected `-v` output.
#[derive(Debug, Default)]
struct TcpdumpFrame {
    frame: u64,
    time: String,
    src: String,
    dst: String,
    key: Option<u64>,
    nhrp: String,
}

fn parse_tcpdump(text: &str) -> Vec<TcpdumpFrame> {
    let mut frames: Vec<TcpdumpFrame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let mut words = trimmed.splitn(3, ' ');
        let first = words.next().unwrap_or("");
        // "    1  2015-01-25 08:21:45.190210 IP (tos ..."
        if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) && line.starts_with(' ') {
            let rest = trimmed[first.len()..].trim_start();
            let time: String = rest.split(' ').take(2).collect::<Vec<_>>().join(" ");
            frames.push(TcpdumpFrame {
                frame: first.parse().unwrap(),
                time,
                ..TcpdumpFrame::default()
            });
            continue;
        }
        let Some(current) = frames.last_mut() else {
            continue;
        };
        if current.src.is_empty()
            && let Some((hosts, _)) = trimmed.split_once(": ")
            && let Some((src, dst)) = hosts.split_once(" > ")
        {
            current.src = src.to_string();
            current.dst = dst.to_string();
            if let Some(k) = trimmed.split("key=0x").nth(1) {
                let hex: String = k.chars().take_while(char::is_ascii_hexdigit).collect();
                current.key = u64::from_str_radix(&hex, 16).ok();
            }
        }
        if let Some((_, nhrp)) = trimmed.split_once("NHRP: ") {
            current.nhrp = nhrp.to_string();
        }
    }
    frames
}

fn op_code(op: &str) -> Option<u64> {
    Some(match op {
        "res request" => 1,
        "res reply" => 2,
        "reg request" => 3,
        "reg reply" => 4,
        "purge request" => 5,
        "purge reply" => 6,
        "error indication" => 7,
        "traffic indication" => 8,
        _ => return None,
    })
}

/// Compares our record with one tcpdump line; returns mismatches.
fn compare_with_tcpdump(ours: &Value, td: &TcpdumpFrame) -> Vec<String> {
    let bad = std::cell::RefCell::new(Vec::new());
    let check = |what: &str, ours: &Value, theirs: Value| {
        if *ours != theirs {
            bad.borrow_mut().push(format!(
                "frame {}: {what}: ours {ours}, tcpdump {theirs}",
                td.frame
            ));
        }
    };
    check("src", &ours["src"], Value::from(td.src.clone()));
    check("dst", &ours["dst"], Value::from(td.dst.clone()));
    check(
        "gre_key",
        &ours["gre_key"],
        td.key.map_or(Value::Null, Value::from),
    );
    check(
        "time",
        &Value::from(tcpdump_time(ours["time"].as_str().unwrap_or("0.000000000"))),
        Value::from(td.time.clone()),
    );

    let (main, cie) = match td.nhrp.rsplit_once(" (code ") {
        Some((m, c)) => (m, Some(c.trim_end_matches(')'))),
        None => (td.nhrp.as_str(), None),
    };
    let parts: Vec<&str> = main.split(", ").collect();
    check(
        "type_code",
        &ours["type_code"],
        op_code(parts[0]).map_or(Value::Null, Value::from),
    );
    for part in &parts[1..] {
        if let Some(id) = part.strip_prefix("id ") {
            check(
                "request_id",
                &ours["request_id"],
                Value::from(id.parse::<u64>().unwrap()),
            );
        } else if let Some(h) = part.strip_prefix("hopcnt ") {
            check(
                "hop_count",
                &ours["hop_count"],
                Value::from(h.parse::<u64>().unwrap()),
            );
        } else if let Some(n) = part.strip_prefix("src nbma ") {
            check("src_nbma", &ours["src_nbma"], Value::from(n));
        } else if let Some(code) = part.strip_prefix("code <") {
            let name = if code.starts_with("NHRP traffic redirect") {
                "redirect"
            } else {
                code
            };
            check(
                "traffic_code_name",
                &ours["traffic_code_name"],
                Value::from(name),
            );
        } else if let Some((s, d)) = part.split_once(" -> ") {
            check("src_proto", &ours["src_proto"], Value::from(s));
            check("dst_proto", &ours["dst_proto"], Value::from(d));
        } else {
            bad.borrow_mut().push(format!(
                "frame {}: unexpected tcpdump part {part:?}",
                td.frame
            ));
        }
    }
    if let Some(cie) = cie {
        let ours_cie = &ours["cies"][0];
        // The leading "code " went with the split above.
        let cie = format!("code {cie}");
        for part in cie.split(", ") {
            let (k, v) = part.split_once(' ').unwrap_or((part, ""));
            let (field, value) = match k {
                "code" => ("code", Value::from(v.parse::<u64>().unwrap())),
                "pl" => ("prefix_length", Value::from(v.parse::<u64>().unwrap())),
                "mtu" => ("mtu", Value::from(v.parse::<u64>().unwrap())),
                "htime" => ("holding_time", Value::from(v.parse::<u64>().unwrap())),
                "pref" => ("preference", Value::from(v.parse::<u64>().unwrap())),
                "nbma" => ("client_nbma", Value::from(v)),
                "proto" => ("client_proto", Value::from(v)),
                _ => {
                    bad.borrow_mut()
                        .push(format!("frame {}: unexpected CIE part {part:?}", td.frame));
                    continue;
                }
            };
            check(&format!("cie.{field}"), &ours_cie[field], value);
        }
    }
    bad.into_inner()
}

#[test]
fn json_agrees_with_tcpdump_expected_output() {
    let Some(dir) = captures_dir() else { return };
    let pairs = [
        ("NHRP-responder-address.out", "NHRP-responder-address.pcap"),
        ("NHRP_registration.out", "NHRP_registration.pcap"),
        ("ios_nhrp.out", "ios_nhrp.pcap"),
        ("nhrp-trace.out", "nhrp-trace.pcap"),
        ("nhrp.out", "nhrp.pcapng"),
        ("pb_nhrp_1.out", "pb_nhrp_1.pcap"),
    ];
    let mut compared = 0;
    let mut bad = Vec::new();
    for (out, capture) in pairs {
        let text = std::fs::read_to_string(dir.join("expected_out").join(out)).unwrap();
        let expected = parse_tcpdump(&text);
        let (_, ours) = decode_json(&dir.join(capture));
        assert_eq!(expected.len(), ours.len(), "{out}");
        for (td, record) in expected.iter().zip(&ours) {
            assert_eq!(record["frame"], td.frame, "{out}");
            if td.nhrp.ends_with("(invalid)") {
                // tcpdump gives up on it too; we give a typed error.
                assert!(record["error"].is_object(), "{out} frame {}", td.frame);
                compared += 1;
                continue;
            }
            bad.extend(
                compare_with_tcpdump(record, td)
                    .into_iter()
                    .map(|m| format!("{out}: {m}")),
            );
            compared += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "disagreements with tcpdump:\n{}",
        bad.join("\n")
    );
    assert_eq!(compared, 37);
}

#[test]
fn text_output_shows_every_packet() {
    let Some(dir) = captures_dir() else { return };
    let (code, text, stderr) = decode_text(&dir.join("nhrp-trace.pcap"));
    assert_eq!(code, 0, "{stderr}");
    for frame in 1..=4 {
        assert!(text.contains(&format!("frame {frame} at ")), "{text}");
    }
    assert!(text.contains("NHRP Traffic Indication (8)"), "{text}");
    assert!(text.contains("key=0x3e8"), "{text}");
    assert!(text.contains("password \"secret\""), "{text}");
    assert!(
        text.contains("client nbma 192.168.200.2, client proto 10.255.255.2"),
        "{text}"
    );
    assert!(
        text.ends_with("4 NHRP packets decoded, 0 errors\n"),
        "{text}"
    );

    // Standard input, fed through a pipe.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dmvpn"))
        .args(["decode", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(dir.join("nhrp.pcapng")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        for chunk in bytes.chunks(100) {
            stdin.write_all(chunk).unwrap();
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 25);

    // A capture with no NHRP at all decodes to nothing, successfully.
    let (code, records) = decode_json(&dir.join("various_gre.pcap"));
    assert_eq!(code, 0);
    assert!(records.is_empty());
}

#[test]
fn json_names_the_cisco_specifics() {
    let Some(dir) = captures_dir() else { return };
    let (_, records) = decode_json(&dir.join("NHRP-responder-address.pcap"));
    let reply = &records[1];
    assert_eq!(reply["type"], "registration_reply");
    assert_eq!(reply["type_code"], 4);
    assert_eq!(reply["gre_key"], 2);
    let exts = reply["extensions"].as_array().unwrap();
    let by_type = |t: &str| exts.iter().find(|e| e["type"] == t).unwrap();
    let auth = &by_type("authentication")["auth"];
    assert_eq!(auth["type"], "cisco_cleartext");
    assert_eq!(auth["data"], "NHRPAUTH");
    assert_eq!(auth["data_hex"], "4e48525041555448");
    let nat = by_type("cisco_nat_address");
    assert_eq!(nat["type_code"], 9);
    assert_eq!(nat["compulsory"], false);
    assert!(!nat["cies"].as_array().unwrap().is_empty());
    let responder = by_type("responder_address");
    assert_eq!(responder["compulsory"], true);
    assert_eq!(responder["cies"][0]["client_nbma"], "6.6.6.6");
    assert_eq!(exts.last().unwrap()["type"], "end");
}

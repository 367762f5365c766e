//! Packets built with the `dmvpn-wire` builders, one of every NHRP type with
//! authentication, Cisco NAT and transit extensions, over IPv4 and IPv6,
//! written to a pcap with `dmvpn-capture`'s writer: tshark must dissect them
//! with no expert warnings, `dmvpn decode --json` must agree with tshark field
//! by field, and the decode must give back what was built. Also the FRR
//! golden size (92-byte Registration Request, extension offset 52).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "decode_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use dmvpn_capture::{LinkType, PcapWriter, Timestamp, ethernet_gre_frame};
use dmvpn_wire::gre;
use dmvpn_wire::nhrp::{Authentication, Cie, CieCode, ErrorCode, Extension, Repr};
use serde_json::Value;
use support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A scratch file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        let name = format!(
            "dmvpn-decode-{tag}-{}-{:?}.pcap",
            std::process::id(),
            std::thread::current().id()
        );
        TempFile(std::env::temp_dir().join(name.replace(['(', ')'], "")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One packet of every type, IPv4 (NBMA and protocol), with extensions.
fn ipv4_packets() -> Vec<Repr> {
    let (spoke, spoke_t) = (ip("198.51.100.2"), ip("10.0.0.2"));
    let (hub, hub_t) = (ip("198.51.100.1"), ip("10.0.0.1"));
    let (other, other_t) = (ip("203.0.113.3"), ip("10.0.0.3"));
    let auth = || {
        Some(Authentication::CiscoCleartext {
            password: b"cisco123".to_vec(),
        })
    };
    let hub_cie = Cie::client(hub, hub_t).with_binding(32, 1400, 7200);

    let res_req = Repr::resolution_request(spoke, spoke_t, other_t, 7)
        .with_mtu_and_holding_time(1400, 600)
        .with_request_extensions(Some(Vec::new()), auth());
    // As forwarded by the hub: hop count down by one, hub in Forward Transit.
    let mut forwarded = res_req.clone().with_hop_count(254);
    if let Some(ext) = forwarded.extension_mut(dmvpn_wire::nhrp::ExtensionType::ForwardTransitNhs) {
        ext.body = dmvpn_wire::nhrp::ExtensionBody::Cies(vec![hub_cie.clone()]);
    }
    let res_reply = Repr::resolution_reply(
        &res_req,
        vec![Cie::client(other, other_t).with_binding(24, 1400, 600)],
    );
    let reg_req = Repr::registration_request(spoke, spoke_t, hub_t, 1, true)
        .with_mtu_and_holding_time(1400, 7200)
        .with_request_extensions(Some(vec![Cie::client(ip("192.0.2.99"), spoke_t)]), auth());
    let reg_reply = Repr::registration_reply(&reg_req, CieCode::Success);
    let purge_req = Repr::purge_request(
        hub,
        hub_t,
        spoke_t,
        9,
        vec![Cie::client(other, other_t).with_binding(32, 0, 0)],
        false,
    )
    .with_request_extensions(None, auth());
    let purge_reply = Repr::purge_reply(&purge_req);
    let offending = reg_req.to_bytes().unwrap();
    let error = Repr::error_indication(
        hub,
        hub_t,
        spoke_t,
        ErrorCode::AuthenticationFailure,
        0,
        &offending,
    );
    // An ICMP echo from 10.0.0.2 to 10.0.0.3 (IPv4 header checksum correct).
    let data: Vec<u8> = vec![
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0x66, 0xd8, 10, 0, 0, 2, 10, 0, 0, 3, 8, 0, 0xf7, 0xff,
        0, 0, 0, 0,
    ];
    let traffic = Repr::traffic_indication(hub, hub_t, spoke_t, &data)
        .with_extension(Extension::cisco_auth(b"cisco123"));
    vec![
        res_req,
        forwarded,
        res_reply,
        reg_req,
        reg_reply,
        purge_req,
        purge_reply,
        error,
        traffic,
    ]
}

/// IPv6 NBMA and protocol addresses.
fn ipv6_packets() -> Vec<Repr> {
    let (spoke, spoke_t) = (ip("2001:db8::2"), ip("fd00::2"));
    let hub_t = ip("fd00::1");
    let req = Repr::registration_request(spoke, spoke_t, hub_t, 42, false)
        .with_request_extensions(Some(Vec::new()), None);
    let reply = Repr::registration_reply(&req, CieCode::Success);
    let res = Repr::resolution_request(spoke, spoke_t, ip("fd00::3"), 43)
        .with_request_extensions(None, None);
    vec![req, reply, res]
}

/// Writes the packets to a pcap (GRE key 100 over IPv4, or no key over IPv6).
fn write_capture(file: &TempFile, packets: &[Repr], v6: bool) {
    let mut writer = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
    let mut header = gre::Repr::new(gre::EtherType::Nhrp);
    if !v6 {
        header.key = Some(100);
    }
    let (src, dst) = if v6 {
        (ip("2001:db8::2"), ip("2001:db8::1"))
    } else {
        (ip("198.51.100.2"), ip("198.51.100.1"))
    };
    for (i, packet) in packets.iter().enumerate() {
        let bytes = packet.to_bytes().unwrap();
        let frame = ethernet_gre_frame(src, dst, &header, &bytes).unwrap();
        let ts = Timestamp {
            secs: 1_700_000_000 + i as i64,
            nanos: 0,
        };
        writer.write_frame(ts, &frame).unwrap();
    }
    std::fs::write(&file.0, writer.into_inner().unwrap()).unwrap();
}

fn check_against_tshark(file: &TempFile, built: &[Repr]) {
    let (code, ours) = decode_json(&file.0);
    assert_eq!(code, 0, "{ours:?}");
    assert_eq!(ours.len(), built.len());
    // Our decode gives back what was built.
    for (record, repr) in ours.iter().zip(built) {
        assert_eq!(record["type_code"], repr.packet_type.value());
        assert_eq!(record["checksum_ok"], true);
        assert_eq!(record["hop_count"], repr.hop_count);
        assert_eq!(record["packet_size"], repr.buffer_len());
        assert_eq!(
            record["extensions"].as_array().unwrap().len(),
            repr.extensions.len()
        );
        assert_eq!(record["cies"].as_array().unwrap().len(), repr.cies().len());
        assert_eq!(
            record["request_id"].as_u64(),
            repr.request_id().map(u64::from)
        );
        assert_eq!(record["src_proto"], repr.src_proto.to_string());
        assert_eq!(record["dst_proto"], repr.dst_proto.to_string());
    }
    if !tshark_available() {
        return;
    }
    let tshark: BTreeMap<u64, Value> = tshark_json(&file.0)
        .into_iter()
        .map(|p| (tshark_frame_number(&p), p))
        .collect();
    assert_eq!(tshark.len(), built.len());
    let mut problems = Vec::new();
    for record in &ours {
        let frame = record["frame"].as_u64().unwrap();
        let packet = &tshark[&frame];
        let layers = layers(packet);
        for expert in has_expert_info(layers) {
            problems.push(format!(
                "frame {frame} ({}): tshark expert info {expert}",
                record["type"]
            ));
        }
        let nhrp = match &layers["nhrp"] {
            Value::Array(a) => a[0].clone(),
            other => other.clone(),
        };
        let mut diff = Diff::new(format!("frame {frame} ({})", record["type"]));
        compare_with_tshark(record, &nhrp, &mut diff);
        problems.extend(diff.mismatches);
    }
    assert!(
        problems.is_empty(),
        "built packets vs tshark:\n{}",
        problems.join("\n")
    );
}

#[test]
fn built_ipv4_packets_of_every_type_pass_tshark_and_decode_back() {
    let packets = ipv4_packets();
    let types: Vec<u8> = packets.iter().map(|p| p.packet_type.value()).collect();
    for t in 1..=8 {
        assert!(types.contains(&t), "type {t} missing");
    }
    let file = TempFile::new("v4");
    write_capture(&file, &packets, false);
    check_against_tshark(&file, &packets);

    // Spot checks of the JSON contract on built packets.
    let (_, ours) = decode_json(&file.0);
    assert!(ours.iter().all(|r| r["gre_key"] == 100));
    let reg = &ours[3];
    assert_eq!(reg["type"], "registration_request");
    assert_eq!(reg["flag_names"], serde_json::json!(["U", "NAT"]));
    let auth = reg["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "authentication")
        .unwrap();
    assert_eq!(auth["auth"]["data"], "cisco123");
    let nat = reg["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "cisco_nat_address")
        .unwrap();
    assert_eq!(nat["cies"][0]["client_nbma"], "192.0.2.99");
    let forwarded = &ours[1];
    let fwd = forwarded["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "forward_transit_nhs_record")
        .unwrap();
    assert_eq!(fwd["cies"][0]["client_nbma"], "198.51.100.1");
    let error = &ours[7];
    assert_eq!(error["type"], "error_indication");
    assert_eq!(error["error_code"], 11);
    assert_eq!(error["error_code_name"], "authentication_failure");
    let traffic = &ours[8];
    assert_eq!(traffic["traffic_code_name"], "redirect");
    assert_eq!(traffic["embedded_packet"].as_str().unwrap().len(), 56);
}

#[test]
fn built_ipv6_packets_pass_tshark_and_decode_back() {
    let packets = ipv6_packets();
    let file = TempFile::new("v6");
    write_capture(&file, &packets, true);
    check_against_tshark(&file, &packets);
    let (_, ours) = decode_json(&file.0);
    assert_eq!(ours[0]["afn"], 2);
    assert_eq!(ours[0]["protocol_type"], 0x86dd);
    assert_eq!(ours[0]["src_nbma"], "2001:db8::2");
    assert_eq!(ours[0]["src"], "2001:db8::2");
    assert_eq!(ours[0]["gre_key"], Value::Null);
}

#[test]
fn frr_registration_request_golden_size() {
    // FRR's layout: IPv4, no auth, one empty CIE, empty Responder/Forward/
    // Reverse extensions, a NAT extension with one CIE, End.
    let repr =
        Repr::registration_request(ip("198.51.100.2"), ip("10.0.0.2"), ip("10.0.0.1"), 1, true)
            .with_request_extensions(
                Some(vec![Cie::client(ip("198.51.100.1"), ip("10.0.0.1"))]),
                None,
            );
    let bytes = repr.to_bytes().unwrap();
    let file = TempFile::new("golden");
    write_capture(&file, std::slice::from_ref(&repr), false);
    let (_, ours) = decode_json(&file.0);
    assert_eq!(bytes.len(), 92);
    assert_eq!(ours[0]["packet_size"], 92);
    assert_eq!(ours[0]["extension_offset"], 52);
    let types: Vec<&str> = ours[0]["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"cisco_nat_address") && types.last() == Some(&"end"),
        "{types:?}"
    );
}

#[test]
fn unreadable_inputs_fail_with_status_2() {
    let (code, _, stderr) = decode_text(std::path::Path::new("/nonexistent/capture.pcap"));
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot decode"), "{stderr}");
    let file = TempFile::new("garbage");
    std::fs::write(&file.0, b"this is certainly not a capture file").unwrap();
    let (code, _, stderr) = decode_text(&file.0);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a pcap or pcapng"), "{stderr}");
}

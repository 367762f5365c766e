//! Helpers shared by the `decode_*` integration tests (included with
//! `#[path]`; compiled on its own it holds no tests): locating `../shared`,
//! running `dmvpn decode --json`, running tshark, and comparing our JSON with
//! tshark's NHRP dissection field by field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// True when the environment demands the shared material and tools.
pub fn required() -> bool {
    std::env::var("DMVPN_REQUIRE_SHARED").as_deref() == Ok("1")
}

/// `../shared/captures/tcpdump` next to the repository, or `None` after a
/// visible SKIP message (a panic under `DMVPN_REQUIRE_SHARED=1`).
pub fn captures_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/tcpdump");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !required(),
        "{} is missing and DMVPN_REQUIRE_SHARED=1",
        dir.display()
    );
    eprintln!(
        "SKIP: {} not found; shared-capture checks skipped",
        dir.display()
    );
    None
}

/// True when tshark runs; otherwise prints SKIP (panics when required).
pub fn tshark_available() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !required(),
            "tshark is not installed and DMVPN_REQUIRE_SHARED=1"
        );
        eprintln!("SKIP: tshark not installed; tshark comparisons skipped");
    }
    ok
}

/// The NHRP captures of ../shared/captures/tcpdump and their packet counts.
pub const NHRP_CAPTURES: &[(&str, usize)] = &[
    ("NHRP-responder-address.pcap", 2),
    ("NHRP_registration.pcap", 4),
    ("ios_nhrp.pcap", 1),
    ("nhrp-trace.pcap", 4),
    ("nhrp.pcapng", 25),
    ("pb_nhrp_1.pcap", 1),
];

/// Runs `dmvpn decode --json FILE`: exit code and one JSON value per line.
pub fn decode_json(file: &Path) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_dmvpn"))
        .arg("decode")
        .arg("--json")
        .arg(file)
        .output()
        .expect("run dmvpn");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    let records = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    (out.status.code().unwrap_or(-1), records)
}

/// Runs `dmvpn decode FILE` (text): exit code, stdout, stderr.
pub fn decode_text(file: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dmvpn"))
        .arg("decode")
        .arg(file)
        .output()
        .expect("run dmvpn");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// tshark's JSON for every frame of `file`, with duplicate keys merged into
/// arrays and the Cisco authentication layout (no source address).
pub fn tshark_json(file: &Path) -> Vec<Value> {
    let out = Command::new("tshark")
        .args(["-n", "-T", "json", "--no-duplicate-keys"])
        .args(["-o", "nhrp.auth_ext_has_addr:FALSE"])
        .arg("-r")
        .arg(file)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("tshark JSON")
}

/// The layers object of one tshark packet.
pub fn layers(packet: &Value) -> &Value {
    &packet["_source"]["layers"]
}

/// Frame number of one tshark packet.
pub fn tshark_frame_number(packet: &Value) -> u64 {
    layers(packet)["frame"]["frame.number"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("frame.number")
}

/// Every value of `key` anywhere under `v` (depth first), arrays flattened.
pub fn find_all<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    match child {
                        Value::Array(items) => out.extend(items.iter()),
                        other => out.push(other),
                    }
                } else {
                    find_all(child, key, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| find_all(i, key, out)),
        _ => {}
    }
}

/// True when tshark attached any expert info or malformed marker under `v`.
pub fn has_expert_info(v: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for key in ["_ws.expert", "_ws.malformed"] {
        let mut hits = Vec::new();
        find_all(v, key, &mut hits);
        found.extend(hits.into_iter().map(|h| h.to_string()));
    }
    found
}

/// A tshark field value as a number ("255", "0x0800").
pub fn num(v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// The members of a tshark object or array-of-objects value.
fn objects(v: &Value) -> Vec<&serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => vec![m],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// Collects mismatches between our field and tshark's.
pub struct Diff {
    context: String,
    pub mismatches: Vec<String>,
    pub compared: usize,
}

impl Diff {
    pub fn new(context: impl Into<String>) -> Diff {
        Diff {
            context: context.into(),
            mismatches: Vec::new(),
            compared: 0,
        }
    }

    fn miss(&mut self, what: String) {
        self.mismatches.push(format!("{}: {what}", self.context));
    }

    /// Numeric field: tshark `key` in `ts` against our `ours`.
    fn number(&mut self, ts: &serde_json::Map<String, Value>, key: &str, ours: &Value, name: &str) {
        let Some(t) = ts.get(key) else {
            self.miss(format!("tshark has no {key} (ours {name} = {ours})"));
            return;
        };
        self.compared += 1;
        if num(t) != ours.as_u64() {
            self.miss(format!("{name}: ours {ours}, tshark {key} = {t}"));
        }
    }

    /// Optional numeric field: compared only when tshark shows it.
    fn number_if(
        &mut self,
        ts: &serde_json::Map<String, Value>,
        key: &str,
        ours: &Value,
        name: &str,
    ) {
        if ts.contains_key(key) {
            self.number(ts, key, ours, name);
        }
    }

    /// Address field: tshark's text form, or (when tshark shows only bytes,
    /// as Wireshark 4.0 does for IPv6 NHRP addresses) its hex form, against ours.
    fn address(
        &mut self,
        ts: &serde_json::Map<String, Value>,
        key: &str,
        ours: &Value,
        name: &str,
    ) {
        let text = ts.get(key).and_then(Value::as_str).map(str::to_string);
        // Wireshark spells one of these "addr_byets".
        let bytes = [format!("{key}_bytes"), format!("{key}_byets")]
            .iter()
            .find_map(|k| ts.get(k).and_then(Value::as_str))
            .map(|s| s.replace(':', ""));
        let ours_text = ours.as_str().map(str::to_string);
        let (theirs, ours_form) = match (text, bytes) {
            (Some(t), _) => (Some(t), ours_text),
            (None, Some(b)) => (Some(b), ours_text.map(|o| address_hex(&o))),
            (None, None) => (None, ours_text),
        };
        if theirs.is_none() && ours_form.is_none() {
            return;
        }
        self.compared += 1;
        if theirs != ours_form {
            self.miss(format!(
                "{name}: ours {ours_form:?}, tshark {key} = {theirs:?}"
            ));
        }
    }
}

/// Our address text as hex bytes (IP addresses converted, hex kept).
fn address_hex(ours: &str) -> String {
    let octets = match ours.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.octets().to_vec(),
        Ok(std::net::IpAddr::V6(a)) => a.octets().to_vec(),
        Err(_) => return ours.to_string(),
    };
    octets.iter().map(|b| format!("{b:02x}")).collect()
}

fn cie_fields(diff: &mut Diff, ts: &serde_json::Map<String, Value>, ours: &Value) {
    diff.number(ts, "nhrp.code", &ours["code"], "cie.code");
    diff.number(
        ts,
        "nhrp.prefix",
        &ours["prefix_length"],
        "cie.prefix_length",
    );
    diff.number(ts, "nhrp.unused", &ours["unused"], "cie.unused");
    diff.number(ts, "nhrp.mtu", &ours["mtu"], "cie.mtu");
    diff.number(ts, "nhrp.htime", &ours["holding_time"], "cie.holding_time");
    diff.number(
        ts,
        "nhrp.cli.addr_tl",
        &ours["client_nbma_tl"],
        "cie.client_nbma_tl",
    );
    diff.number(
        ts,
        "nhrp.cli.saddr_tl",
        &ours["client_nbma_subaddress_tl"],
        "cie.client_nbma_subaddress_tl",
    );
    diff.number(
        ts,
        "nhrp.prot.len",
        &ours["client_proto_len"],
        "cie.client_proto_len",
    );
    diff.number(ts, "nhrp.pref", &ours["preference"], "cie.preference");
    diff.address(
        ts,
        "nhrp.client.nbma.addr",
        &ours["client_nbma"],
        "cie.client_nbma",
    );
    diff.address(
        ts,
        "nhrp.client.prot.addr",
        &ours["client_proto"],
        "cie.client_proto",
    );
}

fn cie_list(diff: &mut Diff, ts: Option<&Value>, ours: &Value, what: &str) {
    let ts_cies = ts.map(objects).unwrap_or_default();
    let our_cies = ours.as_array().cloned().unwrap_or_default();
    diff.compared += 1;
    if ts_cies.len() != our_cies.len() {
        diff.miss(format!(
            "{what}: ours {} CIEs, tshark {}",
            our_cies.len(),
            ts_cies.len()
        ));
        return;
    }
    for (t, o) in ts_cies.iter().zip(&our_cies) {
        cie_fields(diff, t, o);
    }
}

/// Compares one `dmvpn decode --json` record with tshark's `nhrp` layer.
pub fn compare_with_tshark(ours: &Value, nhrp: &Value, diff: &mut Diff) {
    let fixed = nhrp["NHRP Fixed Header"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    diff.number(&fixed, "nhrp.hdr.afn", &ours["afn"], "afn");
    diff.number(
        &fixed,
        "nhrp.hdr.pro.type",
        &ours["protocol_type"],
        "protocol_type",
    );
    diff.number(&fixed, "nhrp.hdr.hopcnt", &ours["hop_count"], "hop_count");
    diff.number(
        &fixed,
        "nhrp.hdr.pktsz",
        &ours["packet_size"],
        "packet_size",
    );
    diff.number(&fixed, "nhrp.hdr.chksum", &ours["checksum"], "checksum");
    diff.number(
        &fixed,
        "nhrp.hdr.extoff",
        &ours["extension_offset"],
        "extension_offset",
    );
    diff.number(&fixed, "nhrp.hdr.version", &ours["version"], "version");
    diff.number(&fixed, "nhrp.hdr.op.type", &ours["type_code"], "type_code");
    diff.number(&fixed, "nhrp.hdr.shtl", &ours["shtl"], "shtl");
    diff.number(&fixed, "nhrp.hdr.sstl", &ours["sstl"], "sstl");
    // Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
    let status = fixed.get("nhrp.hdr.chksum.status").and_then(num);
    diff.compared += 1;
    if status
        != Some(if ours["checksum_ok"] == Value::Bool(true) {
            1
        } else {
            0
        })
    {
        diff.miss(format!(
            "checksum_ok: ours {}, tshark status {status:?}",
            ours["checksum_ok"]
        ));
    }
    let snap = fixed
        .get("nhrp.protocol_type")
        .and_then(Value::as_str)
        .map(|s| s.replace(':', ""));
    diff.compared += 1;
    if snap.as_deref() != ours["snap"].as_str() {
        diff.miss(format!("snap: ours {}, tshark {snap:?}", ours["snap"]));
    }

    let mandatory = nhrp["NHRP Mandatory Part"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    diff.number(
        &mandatory,
        "nhrp.src.prot.len",
        &ours["src_proto_len"],
        "src_proto_len",
    );
    diff.number(
        &mandatory,
        "nhrp.dst.prot.len",
        &ours["dst_proto_len"],
        "dst_proto_len",
    );
    let type_code = ours["type_code"].as_u64().unwrap_or(0);
    if (1..=6).contains(&type_code) {
        diff.number(&mandatory, "nhrp.flags", &ours["flags"], "flags");
        diff.number(&mandatory, "nhrp.reqid", &ours["request_id"], "request_id");
        let mut names: Vec<String> = mandatory
            .get("nhrp.flags_tree")
            .and_then(Value::as_object)
            .map(|tree| {
                tree.iter()
                    .filter(|(_, v)| v.as_str() == Some("1"))
                    .filter_map(|(k, _)| k.strip_prefix("nhrp.flag."))
                    .map(str::to_ascii_uppercase)
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let mut ours_names: Vec<String> = ours["flag_names"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ours_names.sort();
        diff.compared += 1;
        if names != ours_names {
            diff.miss(format!("flag_names: ours {ours_names:?}, tshark {names:?}"));
        }
        cie_list(
            diff,
            mandatory.get("Client Information Entry"),
            &ours["cies"],
            "cies",
        );
    }
    if type_code == 7 {
        diff.number(
            &mandatory,
            "nhrp.err.code",
            &ours["error_code"],
            "error_code",
        );
        diff.number(
            &mandatory,
            "nhrp.err.offset",
            &ours["error_offset"],
            "error_offset",
        );
    }
    if type_code == 8 {
        diff.number_if(
            &mandatory,
            "nhrp.traffic_code",
            &ours["traffic_code"],
            "traffic_code",
        );
    }
    diff.address(
        &mandatory,
        "nhrp.src.nbma.addr",
        &ours["src_nbma"],
        "src_nbma",
    );
    diff.address(
        &mandatory,
        "nhrp.src.prot.addr",
        &ours["src_proto"],
        "src_proto",
    );
    diff.address(
        &mandatory,
        "nhrp.dst.prot.addr",
        &ours["dst_proto"],
        "dst_proto",
    );

    // Extensions, grouped by type (tshark keys them by name; order within a
    // type is kept).
    let mut ts_exts: BTreeMap<u64, Vec<&serde_json::Map<String, Value>>> = BTreeMap::new();
    if let Some(map) = nhrp.as_object() {
        for value in map.values() {
            for obj in objects(value) {
                if let Some(ty) = obj.get("nhrp.ext.type").and_then(num) {
                    ts_exts.entry(ty & 0x3fff).or_default().push(obj);
                }
            }
        }
    }
    let mut our_exts: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for ext in ours["extensions"].as_array().into_iter().flatten() {
        our_exts
            .entry(ext["type_code"].as_u64().unwrap_or(u64::MAX))
            .or_default()
            .push(ext);
    }
    diff.compared += 1;
    let ts_types: Vec<(u64, usize)> = ts_exts.iter().map(|(k, v)| (*k, v.len())).collect();
    let our_types: Vec<(u64, usize)> = our_exts.iter().map(|(k, v)| (*k, v.len())).collect();
    if ts_types != our_types {
        diff.miss(format!(
            "extension types (type, count): ours {our_types:?}, tshark {ts_types:?}"
        ));
        return;
    }
    for (ty, ts_list) in &ts_exts {
        for (t, o) in ts_list.iter().zip(&our_exts[ty]) {
            let t_value = Value::Object((*t).clone());
            let compulsory = Value::from(u64::from(o["compulsory"] == Value::Bool(true)));
            diff.number(t, "nhrp.ext.c", &compulsory, "extension.compulsory");
            diff.number(t, "nhrp.ext.len", &o["length"], "extension.length");
            if o.get("cies").is_some() {
                cie_list(
                    diff,
                    t.get("Client Information Entry"),
                    &o["cies"],
                    "extension.cies",
                );
            }
            if let Some(auth) = o.get("auth") {
                let mut spi = Vec::new();
                find_all(&t_value, "nhrp.auth_ext.spi", &mut spi);
                let mut data = Vec::new();
                find_all(&t_value, "nhrp.auth_ext.data", &mut data);
                let mut reserved = Vec::new();
                find_all(&t_value, "nhrp.auth_ext.reserved", &mut reserved);
                diff.compared += 3;
                if spi.first().and_then(|v| num(v)) != auth["spi"].as_u64() {
                    diff.miss(format!("auth.spi: ours {}, tshark {spi:?}", auth["spi"]));
                }
                if reserved.first().and_then(|v| num(v)) != auth["reserved"].as_u64() {
                    diff.miss(format!(
                        "auth.reserved: ours {}, tshark {reserved:?}",
                        auth["reserved"]
                    ));
                }
                let ts_data = data
                    .first()
                    .and_then(|v| v.as_str())
                    .map(|s| s.replace(':', ""))
                    .unwrap_or_default();
                if Some(ts_data.as_str()) != auth["data_hex"].as_str() {
                    diff.miss(format!(
                        "auth.data_hex: ours {}, tshark {ts_data:?}",
                        auth["data_hex"]
                    ));
                }
            }
            if let Some(vendor) = o.get("vendor") {
                let mut id = Vec::new();
                find_all(&t_value, "nhrp.vendor_ext.id", &mut id);
                diff.compared += 1;
                if id.first().and_then(|v| num(v))
                    != vendor["oui"]
                        .as_str()
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                {
                    diff.miss(format!("vendor.oui: ours {}, tshark {id:?}", vendor["oui"]));
                }
            }
        }
    }
}

/// Converts days since 1970-01-01 to (year, month, day) (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Our `time` ("secs.nanos") as tcpdump prints it in UTC with microseconds.
pub fn tcpdump_time(time: &str) -> String {
    let (secs, frac) = time.split_once('.').expect("secs.nanos");
    let secs: i64 = secs.parse().expect("seconds");
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        &frac[..6]
    )
}

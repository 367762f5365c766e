//! JSON Schemas of the control protocol and of every snapshot, generated
//! from the Rust definitions (schemars, draft 2020-12).
//!
//! The committed copies under `crates/mgmt/schemas/` are checked against
//! these by the crate's tests (regenerate them with `UPDATE_GOLDEN=1 cargo
//! test -p dmvpn-mgmt`). Consumers of `--json` output validate against the
//! file named after the payload (e.g. `dmvpn_status.schema.json` for
//! `show dmvpn --json`).

use schemars::schema_for;

use crate::crypto::{CryptoSessionReport, IkeSaReport, IpsecSaReport};
use crate::proto::{RequestEnvelope, ResponseEnvelope};
use crate::state::{
    Ack, DebugConditions, DmvpnStatus, NhrpCache, NhsReport, RunningConfig, ShortcutTable,
    TrafficReport,
};

/// Every schema as `(file name, schema)`.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    fn v(s: schemars::Schema) -> serde_json::Value {
        s.to_value()
    }
    vec![
        ("request.schema.json", v(schema_for!(RequestEnvelope))),
        ("response.schema.json", v(schema_for!(ResponseEnvelope))),
        ("dmvpn_status.schema.json", v(schema_for!(DmvpnStatus))),
        ("nhrp_cache.schema.json", v(schema_for!(NhrpCache))),
        ("nhs_report.schema.json", v(schema_for!(NhsReport))),
        ("traffic_report.schema.json", v(schema_for!(TrafficReport))),
        ("shortcut_table.schema.json", v(schema_for!(ShortcutTable))),
        ("running_config.schema.json", v(schema_for!(RunningConfig))),
        (
            "debug_conditions.schema.json",
            v(schema_for!(DebugConditions)),
        ),
        ("ack.schema.json", v(schema_for!(Ack))),
        ("ike_sa_report.schema.json", v(schema_for!(IkeSaReport))),
        ("ipsec_sa_report.schema.json", v(schema_for!(IpsecSaReport))),
        (
            "crypto_session_report.schema.json",
            v(schema_for!(CryptoSessionReport)),
        ),
    ]
}

/// The schema file that describes a payload kind's `data` (what `--json`
/// prints), e.g. `nhrp_cache` → `nhrp_cache.schema.json`.
pub fn file_for_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "dmvpn" => "dmvpn_status.schema.json",
        "nhrp_cache" => "nhrp_cache.schema.json",
        "nhs" => "nhs_report.schema.json",
        "traffic" => "traffic_report.schema.json",
        "shortcuts" => "shortcut_table.schema.json",
        "running_config" => "running_config.schema.json",
        "debug_conditions" => "debug_conditions.schema.json",
        "ack" => "ack.schema.json",
        "ike_sas" => "ike_sa_report.schema.json",
        "ipsec_sas" => "ipsec_sa_report.schema.json",
        "crypto_sessions" => "crypto_session_report.schema.json",
        _ => return None,
    })
}

//! Test helpers: a small OpenMetrics/Prometheus text parser and the sample
//! snapshot built from the mgmt crate's test-support samples.

#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeMap;

use dmvpn_metrics::{Direction, Extras, MetricsSnapshot};
#[path = "../../../mgmt/tests/support/sample.rs"]
pub mod sample;

/// One exposition sample: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses every sample line of an exposition; panics (test failure) on a
/// line that is not `name{k="v",...} value` or a `#` comment.
pub fn parse(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for raw in text.lines() {
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (series, value) = raw.rsplit_once(' ').expect("sample line has a value");
        let value: f64 = value.parse().expect("numeric value");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = BTreeMap::new();
                let mut s = body;
                while !s.is_empty() {
                    let (k, r) = s.split_once("=\"").expect("label k=\"v\"");
                    let mut v = String::new();
                    let mut chars = r.char_indices();
                    let mut end = None;
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, e)) = chars.next() {
                                    v.push(if e == 'n' { '\n' } else { e });
                                }
                            }
                            '"' => {
                                end = Some(i);
                                break;
                            }
                            c => v.push(c),
                        }
                    }
                    let end = end.expect("closing quote");
                    labels.insert(k.to_owned(), v);
                    s = &r[end + 1..];
                    s = s.strip_prefix(',').unwrap_or(s);
                }
                (name.to_owned(), labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name {name}"
        );
        out.push(Line {
            name,
            labels,
            value,
        });
    }
    out
}

/// The value of the one sample named `name` whose labels include `want`.
pub fn value(lines: &[Line], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let mut hits = lines.iter().filter(|l| {
        l.name == name
            && want
                .iter()
                .all(|(k, v)| l.labels.get(*k).map(String::as_str) == Some(*v))
    });
    let first = hits.next()?;
    assert!(
        hits.next().is_none(),
        "{name} {want:?} matches several samples"
    );
    Some(first.value)
}

/// The Cisco guide's spoke (`show dmvpn`), its `show ip nhrp traffic` and the
/// AOS `show ip nhrp nhs` example, plus a few engine-only counters.
pub fn sample_snapshot() -> MetricsSnapshot {
    let mut extras = Extras::default();
    extras.add_error_code("Tunnel7", Direction::Received, 11, 2);
    extras.add_error_code("Tunnel7", Direction::Sent, 6, 1);
    extras.add_redirect_rate_limited("Tunnel7", 4);
    extras.add_receive_drop("Tunnel7", "authentication_failure", 2);
    MetricsSnapshot::from_mgmt(
        &sample::spoke_dmvpn(),
        &sample::traffic_report(),
        &sample::nhs_report(),
    )
    .with_extras(extras)
}

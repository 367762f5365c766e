//! Helpers shared by the namespace tests of the `dmvpn` binary: the binary's path and the
//! preflight that decides whether a test can run here (root, `ip`, `ping`). A test that cannot
//! run prints `SKIP: …` and passes, unless `DMVPN_REQUIRE_ROOT=1` (set by scripts/test-all.sh),
//! which turns the skip into a failure so CI never passes by skipping.
#![allow(dead_code)]

use std::path::PathBuf;

use dmvpn_lab as lab;

pub mod routing;

/// The `dmvpn` binary under test.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dmvpn"))
}

fn skip(why: &str) -> bool {
    if std::env::var("DMVPN_REQUIRE_ROOT").as_deref() == Ok("1") {
        panic!("cannot run a required namespace test: {why}");
    }
    eprintln!("SKIP: {why}");
    false
}

/// Root plus the given tools on PATH.
pub fn can_run_with(tools: &[&str]) -> bool {
    if !lab::is_root() {
        return skip("needs root (network namespaces)");
    }
    for tool in tools {
        if lab::run("sh", &["-c", &format!("command -v {tool}")]).is_err() {
            return skip(&format!("`{tool}` is not installed"));
        }
    }
    true
}

/// Root plus `ip` and `ping`.
pub fn can_run() -> bool {
    can_run_with(&["ip", "ping"])
}

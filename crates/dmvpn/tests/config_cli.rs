//! End-to-end tests of `dmvpn config check` and `dmvpn config import`: exit
//! codes, `FILE:LINE:COLUMN` messages on stderr and converted text on stdout,
//! against the fixtures and golden files of the `dmvpn-config` crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(rel: &str) -> PathBuf {
    root().join("crates/config/tests/fixtures").join(rel)
}

fn dmvpn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmvpn"))
        .args(args)
        .output()
        .expect("run dmvpn")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn check_accepts_the_shipped_samples() {
    let hub = root().join("etc/dmvpn/hub.conf");
    let spoke = root().join("etc/dmvpn/spoke.conf");
    let out = dmvpn(&["config", "check", s(&hub), s(&spoke)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hub.conf: ok") && stdout.contains("spoke.conf: ok"),
        "{stdout}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn check_reports_every_error_with_file_line_column() {
    let bad = fixture("errors/typos.conf");
    let good = root().join("etc/dmvpn/hub.conf");
    let out = dmvpn(&["config", "check", s(&good), s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = s(&bad);
    assert!(
        stderr.contains(&format!("{name}:5:10: error: unexpected `holdtiem`")),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `holdtime`?"), "{stderr}");
    assert!(stderr.contains(&format!("{name}:2:1: error:")), "{stderr}");
    assert!(stderr.contains(&format!("{name}: 9 errors")), "{stderr}");
}

/// A temporary copy of a fixture with its seed-era `esp-des esp-md5-hmac` replaced.
fn strong_copy(rel: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture(rel)).expect("fixture");
    let dir = std::env::temp_dir().join(format!("dmvpn-config-cli-strong-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let name = Path::new(rel).file_name().expect("file name");
    let f = dir.join(name);
    std::fs::write(
        &f,
        text.replace("esp-des esp-md5-hmac", "esp-aes 256 esp-sha256-hmac"),
    )
    .expect("write");
    f
}

#[test]
fn check_prints_warnings_but_succeeds() {
    let f = strong_copy("ios/s001-hub.conf");
    let out = dmvpn(&["config", "check", s(&f)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(":40:1: warning: `router eigrp 1` ignored"),
        "{stderr}"
    );
    assert!(stderr.contains("configure your routing daemon"));
    // IKEv1 is accepted with a warning, never silently.
    assert!(
        stderr.contains(":3:1: warning: `crypto isakmp policy 1`: IKEv1 is not supported yet"),
        "{stderr}"
    );
}

#[test]
fn check_refuses_the_seeds_des_and_md5_at_the_token() {
    let f = fixture("ios/s001-hub.conf");
    let out = dmvpn(&["config", "check", s(&f)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = s(&f);
    assert!(
        stderr.contains(&format!(
            "{name}:7:35: error: transform `esp-des`: DES is refused (56-bit key, broken); use AES-GCM (`esp-gcm 256`"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{name}:7:43: error: transform `esp-md5-hmac`: MD5 is refused (broken hash, deprecated by RFC 8221 and RFC 8247); use SHA-2 (`esp-sha256-hmac`"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{name}: 2 errors")), "{stderr}");
}

#[test]
fn check_of_a_missing_file_is_a_usage_error() {
    let out = dmvpn(&["config", "check", "/nonexistent/dmvpn.conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn import_vyos_and_aos_match_golden_outputs() {
    for (dialect, input, code) in [
        ("vyos", "vyos/ikev2-hub.vyos", 0),
        ("aos", "aos/s000-phase2-mgre.aos", 0),
        ("aos", "aos/s000-phase1-cryptomap.aos", 0),
        ("aos", "aos/weak-next-to-strong.aos", 0),
        // Seed 004 offers only `pfs dh-group2`: refused, exit 1, the text still printed.
        ("vyos", "vyos/s004-hub.vyos", 1),
        ("vyos", "vyos/s004-spoke1.vyos", 1),
    ] {
        let f = fixture(input);
        let out = dmvpn(&["config", "import", "--from", dialect, s(&f)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{input}: {stderr}");
        if code == 1 {
            assert!(
                stderr.contains(":1: error: `set pfs group2`: DH group 2 is refused"),
                "{input}: {stderr}"
            );
        }
        let golden = std::fs::read_to_string(f.with_extension("golden")).expect("golden");
        assert_eq!(String::from_utf8_lossy(&out.stdout), golden, "{input}");
    }
}

#[test]
fn import_from_stdin_and_ios_normalisation_is_stable() {
    let text = std::fs::read_to_string(strong_copy("ios/s003-dmvpn-hub.conf")).expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dmvpn"))
        .args(["config", "import", "--from", "ios", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let normalised = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(normalised.contains("interface Tunnel0\n"));
    assert!(normalised.contains(" tunnel mode gre multipoint\n"));

    // Normalising the normalised text changes nothing.
    let dir = std::env::temp_dir().join(format!("dmvpn-config-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let f = dir.join("normalised.conf");
    std::fs::write(&f, &normalised).expect("write");
    let again = dmvpn(&["config", "import", "--from", "ios", s(&f)]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(String::from_utf8_lossy(&again.stdout), normalised);
}

#[test]
fn import_rejects_an_unknown_dialect() {
    let out = dmvpn(&["config", "import", "--from", "junos", "x"]);
    assert_eq!(out.status.code(), Some(2));
}

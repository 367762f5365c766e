//! Golden tests over the configuration fixtures: every DMVPN example of the
//! seed documents (rewritten in `fixtures/`), error snapshots, the AOS and
//! VyOS conversions, and the sample configurations shipped in `etc/`.
//!
//! Each `NAME.conf` / `NAME.aos` / `NAME.vyos` has a `NAME.expected` file with
//! the exact diagnostics (`FILE:LINE:COLUMN: error|warning: …`), and each
//! import has a `NAME.golden` file with the converted configuration.
//! Regenerate them with `UPDATE_GOLDEN=1 cargo test -p dmvpn-config`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use dmvpn_config::import::{Dialect, import};
use dmvpn_config::{Config, parse};

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

fn files(sub: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir(sub))
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {sub}");
    v
}

/// Compare `actual` to the golden file, or rewrite it with UPDATE_GOLDEN=1.
fn golden(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).expect("write golden");
        return Ok(());
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{} differs (run with UPDATE_GOLDEN=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ))
    }
}

fn name(p: &Path) -> String {
    p.file_name()
        .expect("file name")
        .to_string_lossy()
        .into_owned()
}

fn round_trip(cfg: &Config, what: &str) -> Result<(), String> {
    let text = cfg.to_ios_text();
    let again = parse(&text);
    if again.config != *cfg {
        return Err(format!(
            "{what}: normalised text does not parse back to the same model:\n{text}"
        ));
    }
    let again2 = again.config.to_ios_text();
    if again2 != text {
        return Err(format!("{what}: writer is not idempotent"));
    }
    Ok(())
}

fn check_dialect_dir(sub: &str, ext: &str) {
    let mut failures = Vec::new();
    for f in files(sub, ext) {
        let text = std::fs::read_to_string(&f).expect("read fixture");
        let p = parse(&text);
        let out = p.render(&name(&f));
        if let Err(e) = golden(&f.with_extension("expected"), &out) {
            failures.push(e);
        }
        if let Err(e) = round_trip(&p.config, &name(&f)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn seed_ios_examples_parse_with_expected_diagnostics() {
    check_dialect_dir("ios", "conf");
}

#[test]
fn error_messages_match_snapshots() {
    check_dialect_dir("errors", "conf");
    // Every error fixture really has an error.
    for f in files("errors", "conf") {
        let text = std::fs::read_to_string(&f).expect("read");
        assert!(parse(&text).has_errors(), "{} has no error", f.display());
    }
}

/// Seed imports that keep a refused algorithm because nothing stronger is offered next to
/// it, and the refusal they must report.
fn refused_in_seed(file: &str) -> Option<&'static str> {
    // Seed 004's ESP groups: `pfs dh-group2` is the only PFS group.
    file.starts_with("s004-")
        .then_some("`set pfs group2`: DH group 2 is refused (1024-bit MODP, broken); use group 19 (ECP-256) or group 14 (MODP-2048) instead")
}

fn check_import(sub: &str, ext: &str, dialect: Dialect) {
    let mut failures = Vec::new();
    for f in files(sub, ext) {
        let text = std::fs::read_to_string(&f).expect("read fixture");
        let imp = import(dialect, &text);
        let diags: String = imp
            .diagnostics
            .iter()
            .map(|d| d.render(&name(&f)) + "\n")
            .collect();
        if let Err(e) = golden(&f.with_extension("expected"), &diags) {
            failures.push(e);
        }
        if let Err(e) = golden(&f.with_extension("golden"), &imp.text()) {
            failures.push(e);
        }
        let refused = refused_in_seed(&name(&f));
        let errors: Vec<_> = imp.diagnostics.iter().filter(|d| d.is_error()).collect();
        let bad_refusal =
            |want: &str| errors.is_empty() || !errors.iter().all(|d| d.message.contains(want));
        match refused {
            // Seed files that offer only a refused algorithm: exactly those errors.
            Some(want) if bad_refusal(want) => {
                failures.push(format!(
                    "{}: expected only `{want}` errors:\n{diags}",
                    f.display()
                ));
            }
            None if imp.has_errors() => {
                failures.push(format!("{}: conversion has errors:\n{diags}", f.display()));
            }
            _ => {}
        }
        // The converted text is a valid configuration of our dialect.
        let again = parse(&imp.text());
        if again.has_errors() && refused.is_none() {
            failures.push(format!(
                "{}: converted text does not validate:\n{}",
                f.display(),
                again.render("converted")
            ));
        }
        if let Err(e) = round_trip(&imp.config, &name(&f)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn aos_conversions_match_golden() {
    check_import("aos", "aos", Dialect::Aos);
}

#[test]
fn vyos_conversions_match_golden() {
    check_import("vyos", "vyos", Dialect::Vyos);
}

/// The seed examples keep `esp-des esp-md5-hmac` as the seeds wrote them: each is refused
/// at the offending token, with a message that names the algorithm and a replacement.
#[test]
fn seed_transform_sets_with_des_and_md5_are_refused_at_the_token() {
    let text = std::fs::read_to_string(dir("ios").join("s001-hub.conf")).expect("read");
    assert!(text.contains("crypto ipsec transform-set trans2 esp-des esp-md5-hmac\n"));
    let p = parse(&text);
    assert!(p.has_errors());
    let errors: Vec<String> = p
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render("s001-hub.conf"))
        .collect();
    assert_eq!(
        errors,
        vec![
            "s001-hub.conf:7:35: error: transform `esp-des`: DES is refused (56-bit key, broken); use AES-GCM (`esp-gcm 256`, or `encryption aes-gcm-256` in an IKEv2 proposal) instead",
            "s001-hub.conf:7:43: error: transform `esp-md5-hmac`: MD5 is refused (broken hash, deprecated by RFC 8221 and RFC 8247); use SHA-2 (`esp-sha256-hmac`, or `integrity sha256` in an IKEv2 proposal) instead",
        ]
    );
    let d = p.diagnostics.iter().find(|d| d.is_error()).expect("error");
    assert_eq!((d.span.line, d.span.column, d.span.len), (7, 35, 7));
    // Every seed fixture with a transform set using DES reports it, and nothing but the
    // refused algorithms (and the seeds' own mistakes) is an error.
    for f in files("ios", "conf") {
        let text = std::fs::read_to_string(&f).expect("read");
        if !text.contains(" esp-des") {
            continue;
        }
        let p = parse(&text);
        assert!(
            p.diagnostics
                .iter()
                .any(|d| d.is_error()
                    && d.message.starts_with("transform `esp-des`: DES is refused")),
            "{}",
            p.render(&name(&f))
        );
    }
    // The strong variant parses cleanly (IKEv1 warnings aside).
    let strong = text.replace("esp-des esp-md5-hmac", "esp-aes 256 esp-sha256-hmac");
    let p = parse(&strong);
    assert!(!p.has_errors(), "{}", p.render("strong"));
}

#[test]
fn aos_files_read_directly_point_at_the_importer() {
    let text = std::fs::read_to_string(dir("aos").join("s000-phase2-mgre.aos")).expect("read");
    let p = parse(&text);
    assert!(p.has_errors());
    assert!(
        p.render("x").contains("import --from aos"),
        "{}",
        p.render("x")
    );
}

#[test]
fn vyos_files_read_directly_point_at_the_importer() {
    let text = std::fs::read_to_string(dir("vyos").join("s004-hub.vyos")).expect("read");
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let p = parse(&text);
    let errors: Vec<_> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(
        errors.len(),
        1,
        "one error, not one per line: {}",
        p.render("x")
    );
    assert!(errors[0].message.contains("import --from vyos"));
}

#[test]
fn shipped_sample_configs_validate() {
    let etc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/dmvpn");
    for f in ["hub.conf", "spoke.conf"] {
        let text = std::fs::read_to_string(etc.join(f)).expect("sample config");
        let p = parse(&text);
        assert!(!p.has_errors(), "{f}:\n{}", p.render(f));
        assert!(
            p.diagnostics.is_empty(),
            "{f} has warnings:\n{}",
            p.render(f)
        );
        round_trip(&p.config, f).expect("round trip");
        assert!(p.config.tunnels().count() == 1);
    }
}

/// The VyOS fixtures keep the seed's commands: every `set` line of seed 004
/// is in one of them (skipped when the seeds are not checked out).
#[test]
fn vyos_fixtures_cover_seed_004() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/seeds/004_6efe96d353c062f2.txt");
    let Ok(text) = std::fs::read_to_string(&seed) else {
        if std::env::var_os("DMVPN_REQUIRE_SHARED").is_some() {
            panic!("seed 004 not found at {}", seed.display());
        }
        eprintln!("SKIP: shared seeds not found");
        return;
    };
    let fixtures: String = files("vyos", "vyos")
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read"))
        .collect();
    for line in text.lines().filter(|l| l.starts_with("set ")) {
        assert!(
            fixtures.contains(line),
            "seed line missing from fixtures: {line}"
        );
    }
}

/// The IOS and AOS fixtures extracted from the seeds keep the seeds'
/// commands: every command line of `sNNN-*` fixtures occurs in seed NNN
/// (comments are ours). Skipped when the seeds are not checked out.
#[test]
fn seed_fixtures_keep_the_seed_commands() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seeds");
    let Ok(entries) = std::fs::read_dir(&seeds) else {
        if std::env::var_os("DMVPN_REQUIRE_SHARED").is_some() {
            panic!("seeds not found at {}", seeds.display());
        }
        eprintln!("SKIP: shared seeds not found");
        return;
    };
    let mut seed_text = std::collections::HashMap::new();
    for e in entries {
        let p = e.expect("entry").path();
        let n = name(&p);
        if let Some(num) = n.get(..3).filter(|s| s.chars().all(|c| c.is_ascii_digit())) {
            let text = std::fs::read_to_string(&p).expect("seed");
            let norm: String = text
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
                .collect();
            seed_text.insert(num.to_string(), norm);
        }
    }
    let mut missing = Vec::new();
    for (sub, ext) in [("ios", "conf"), ("aos", "aos")] {
        for f in files(sub, ext) {
            let n = name(&f);
            let Some(num) = n.strip_prefix('s').and_then(|s| s.get(..3)) else {
                continue;
            };
            let seed = seed_text
                .get(num)
                .unwrap_or_else(|| panic!("no seed {num}"));
            let text = std::fs::read_to_string(&f).expect("read");
            for line in text.lines() {
                let l = line.split_whitespace().collect::<Vec<_>>().join(" ");
                if l.is_empty() || l.starts_with('!') {
                    continue;
                }
                if !seed.contains(&l) {
                    missing.push(format!("{n}: `{l}`"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fixture lines not found in their seed:\n{}",
        missing.join("\n")
    );
}

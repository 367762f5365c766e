//! The hostile input corpus (issue 16, part 6): malformed GRE, NHRP, IKE, ESP, capture and
//! configuration inputs, kept in `tests/hostile/<kind>/` as regression inputs, and replayed
//! through the code that meets them in a running router:
//!
//! | kind | replayed through | what each must give |
//! |---|---|---|
//! | `gre` | the data plane's receive pipeline (`Forwarder::from_nbma`) | nothing delivered, a drop counter |
//! | `nhrp` | a hub's NHRP engine (authentication `test`) | a drop counter or an Error Indication; `ei-*`: an Error Indication (RFC 2332 §5.2.7, §5.3, §5.3.4) |
//! | `ike` | an IKEv2 responder engine | no SA, and a `Dropped` event (typed reason) or a notify answer |
//! | `esp` | an ESP inbound SA | a typed `EspError` and an SA error counter |
//! | `pcap` | the capture reader | a typed error, or frames bounded by the input size |
//! | `config` | the configuration parser | at least one error diagnostic |
//!
//! and nothing may panic, nor allocate more than [`ALLOC_BOUND`] bytes at once while one input
//! is handled (a counting allocator measures it).
//!
//! The corpus is generated deterministically from a few valid inputs (truncations at every
//! length, bad lengths, versions and types, extension and payload loops, huge counts): run
//! `UPDATE_CORPUS=1 cargo test -p dmvpn --test hostile_corpus` to rewrite it after changing
//! the generator; without it, the test checks that the committed files are what the
//! generator makes. Inputs added by hand (e.g. from a fuzz campaign) go in the same
//! directories under a name starting with `found-`; they are replayed, not regenerated.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod hostile;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hostile::alloc::{ALLOC_BOUND, measure};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

/// Every committed input as (kind/name, bytes).
fn committed() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for kind in hostile::KINDS {
        let dir = corpus_dir().join(kind);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            out.insert(
                format!("{kind}/{name}"),
                std::fs::read(e.path()).expect("read input"),
            );
        }
    }
    out
}

#[test]
fn committed_corpus_is_what_the_generator_makes() {
    let generated = hostile::generate::all();
    assert!(
        generated.len() >= 200,
        "only {} inputs generated",
        generated.len()
    );
    if std::env::var("UPDATE_CORPUS").as_deref() == Ok("1") {
        for (path, bytes) in &generated {
            let p = corpus_dir().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        // Remove generated files the generator no longer makes (never `found-*`).
        for path in committed().keys() {
            let name = path.rsplit('/').next().unwrap_or("");
            if !generated.contains_key(path) && !name.starts_with("found-") {
                std::fs::remove_file(corpus_dir().join(path)).unwrap();
            }
        }
    }
    let on_disk = committed();
    for (path, bytes) in &generated {
        assert_eq!(
            on_disk.get(path),
            Some(bytes),
            "{path} is missing or differs; run with UPDATE_CORPUS=1 and commit tests/hostile"
        );
    }
}

#[test]
fn every_hostile_input_is_refused_cleanly() {
    // The committed inputs, and the generated ones (the same unless the generator changed).
    let mut inputs = committed();
    inputs.extend(hostile::generate::all());
    assert!(
        inputs.len() >= 200,
        "only {} committed inputs",
        inputs.len()
    );
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut most = (0, String::new());
    for (path, bytes) in &inputs {
        let (kind, name) = path.split_once('/').unwrap();
        let (verdict, peak) = measure(|| hostile::replay::replay(kind, name, bytes));
        if let Err(why) = verdict {
            failures.push(format!("{path}: {why}"));
        }
        if peak > ALLOC_BOUND {
            failures.push(format!(
                "{path}: {peak} bytes allocated at once (bound {ALLOC_BOUND})"
            ));
        }
        if peak > most.0 {
            most = (peak, path.clone());
        }
        *per_kind.entry(kind).or_default() += 1;
    }
    eprintln!(
        "replayed: {per_kind:?}; most allocated at once: {} bytes ({})",
        most.0, most.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for kind in hostile::KINDS {
        assert!(
            per_kind.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} inputs"
        );
    }
}

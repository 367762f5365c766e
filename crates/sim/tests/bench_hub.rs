//! The hub benchmark library at a small size: every registration and
//! resolution is answered, every entry expires, and the figures are there.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use dmvpn_sim::bench::{BenchError, HubBenchOptions, MAX_SPOKES, run_hub_bench};

#[test]
fn hub_bench_counts_add_up() {
    let r = run_hub_bench(HubBenchOptions {
        spokes: 300,
        seed: 9,
    })
    .unwrap();
    assert_eq!(r.spokes, 300);
    assert_eq!((r.registrations, r.registrations_accepted), (600, 600));
    assert_eq!((r.resolutions, r.resolution_replies), (300, 300));
    assert_eq!(r.cache_entries, 300);
    assert_eq!(r.expired, 300);
    assert!(r.registrations_per_cpu_second >= 0.0 && r.resolutions_per_cpu_second >= 0.0);
    let json = serde_json::to_value(&r).unwrap();
    for f in [
        "registrations_per_cpu_second",
        "resolutions_per_cpu_second",
        "bytes_per_cache_entry",
    ] {
        assert!(json.get(f).is_some(), "{f}");
    }
}

#[test]
fn hub_bench_rejects_out_of_range_spoke_counts() {
    for n in [0, MAX_SPOKES + 1] {
        assert!(matches!(
            run_hub_bench(HubBenchOptions { spokes: n, seed: 1 }),
            Err(BenchError::Spokes(_))
        ));
    }
}

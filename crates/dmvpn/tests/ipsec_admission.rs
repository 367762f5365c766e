//! Call admission across network namespaces: a hub with `crypto ikev2 limit max-sa 3` and
//! eight IPsec spokes. Exactly three IKE SAs come up; the other spokes' IKE_SA_INIT is
//! refused and counted (`show crypto ikev2 sa detail`, `%CRYPTO-4-IKE_DENY_SA_REQ`), and
//! they never register. Raising the limit in the configuration and reloading it (SIGHUP)
//! lets them in, without touching the SAs already up.
//!
//! Needs root, `ip` and `ping`; skips otherwise (fails under `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase, Signal};

const LIMIT: usize = 3;
const SPOKES: usize = LIMIT + 5;

fn ike_sas(lab: &Lab) -> Vec<dmvpn_mgmt::IkeSaEntry> {
    let hub = &lab.nodes()[0];
    let out = lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            hub.socket.to_str().unwrap(),
            "show",
            "crypto",
            "ikev2",
            "sa",
            "--json",
        ],
    )
    .unwrap_or_default();
    serde_json::from_str::<dmvpn_mgmt::IkeSaReport>(&out)
        .map(|r| r.sas)
        .unwrap_or_default()
}

fn registered(lab: &Lab) -> usize {
    let Ok(cache) = lab.show_nhrp(0) else {
        return 0;
    };
    lab.nodes()
        .iter()
        .skip(1)
        .filter(|s| {
            cache.entries.iter().any(|e| {
                e.prefix.address == IpAddr::V4(s.tunnel) && e.nbma == Some(IpAddr::V4(s.nbma))
            })
        })
        .count()
}

#[test]
fn the_hub_admits_exactly_max_sa_spokes_until_the_limit_is_raised() {
    if !common::can_run() {
        return;
    }
    let prefix = lab::unique_prefix("cac");
    let mut spec = LabSpec::new(&prefix, SPOKES, Phase::Three, common::exe());
    spec.protection = true;
    spec.hub_max_ike_sa = Some(LIMIT as u32);
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    let hub = lab.nodes()[0].clone();

    lab::wait_for(
        Duration::from_secs(60),
        "the limit's worth of spokes",
        || (registered(&lab) == LIMIT).then_some(()),
    )
    .expect("three registrations");
    lab::wait_for(Duration::from_secs(30), "refusals to be counted", || {
        std::fs::read_to_string(&hub.log)
            .unwrap_or_default()
            .contains("IKE_DENY_SA_REQ")
            .then_some(())
    })
    .expect("call admission refusals logged");
    let ready = |sas: &[dmvpn_mgmt::IkeSaEntry]| {
        sas.iter()
            .filter(|s| s.status == dmvpn_mgmt::IkeSaStatus::Ready)
            .count()
    };
    let sas = ike_sas(&lab);
    assert_eq!(
        sas.len(),
        LIMIT,
        "the hub holds more IKE SAs than its limit: {sas:?}"
    );
    assert_eq!(ready(&sas), LIMIT);
    let first: Vec<u64> = sas.iter().map(|s| s.spi_local).collect();
    let detail = lab::run(
        common::exe().to_str().unwrap(),
        &[
            "--socket",
            hub.socket.to_str().unwrap(),
            "show",
            "crypto",
            "ikev2",
            "sa",
            "detail",
        ],
    )
    .unwrap_or_default();
    assert!(
        !detail.contains(" 0 refused by call admission"),
        "refusals not counted:\n{detail}"
    );
    assert_eq!(registered(&lab), LIMIT);

    // Raise the limit and reload: the refused spokes get in; the first SAs stay.
    let conf = std::fs::read_to_string(&hub.config).expect("hub config");
    let raised = conf.replace(
        &format!("crypto ikev2 limit max-sa {LIMIT}"),
        "crypto ikev2 limit max-sa 50",
    );
    assert_ne!(conf, raised, "the hub config has no max-sa line:\n{conf}");
    std::fs::write(&hub.config, raised).expect("write the hub config");
    lab.signal_daemon(0, Signal::SIGHUP);
    lab::wait_for(Duration::from_secs(90), "every spoke to register", || {
        (registered(&lab) == SPOKES).then_some(())
    })
    .expect("all spokes after raising the limit");
    let sas = ike_sas(&lab);
    assert_eq!(ready(&sas), SPOKES, "{sas:?}");
    for spi in first {
        assert!(
            sas.iter().any(|s| s.spi_local == spi),
            "an SA admitted before the reload was torn down"
        );
    }
    let ping = lab.ping(SPOKES, lab.nodes()[1].host, 5, 0.1).expect("ping");
    assert!(
        ping.received > 0,
        "the last spoke cannot reach spoke1: {ping:?}"
    );
}

//! Hitless reload (issue 16, part 7): a phase-3 DMVPN with IPsec, a spoke-to-spoke shortcut
//! up, and then, one SIGHUP at a time:
//! 1. the hub gets a new static spoke mapping;
//! 2. the hub gets a new tunnel;
//! 3. a spoke's holdtime changes;
//! 4. the hub's crypto lifetimes change (Child SA and IKE SA);
//! 5. a broken configuration is loaded (refused: nothing changes, not even the running
//!    configuration).
//!
//! After each, no established IKE SA or Child SA is replaced (same SPIs), no registration
//! is re-created (cache entries keep their age), the shortcut stays, and pings pass.
//!
//! Needs root, `ip` and `ping`; skips otherwise (fails under `DMVPN_REQUIRE_ROOT=1`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use dmvpn_lab::{self as lab, Lab, LabSpec, Phase, Signal};

fn json<T: serde::de::DeserializeOwned + Default>(lab: &Lab, index: usize, what: &[&str]) -> T {
    let node = &lab.nodes()[index];
    let mut args = vec!["--socket", node.socket.to_str().unwrap(), "show"];
    args.extend_from_slice(what);
    args.push("--json");
    let out = lab::run(common::exe().to_str().unwrap(), &args).unwrap_or_default();
    serde_json::from_str(&out).unwrap_or_default()
}

/// What must survive a reload: IKE SAs and Child SAs (by SPI) of the hub and spoke 1, the
/// hub's registrations (address, age) and spoke 1's shortcuts.
#[derive(Debug, Default)]
struct Snapshot {
    ike: BTreeSet<(usize, u64)>,
    child: BTreeSet<(usize, u32)>,
    registrations: Vec<(IpAddr, u64)>,
    shortcuts: BTreeSet<String>,
}

fn snapshot(lab: &Lab) -> Snapshot {
    let mut s = Snapshot::default();
    for n in [0, 1] {
        let ike: dmvpn_mgmt::IkeSaReport = json(lab, n, &["crypto", "ikev2", "sa"]);
        s.ike.extend(
            ike.sas
                .iter()
                .filter(|e| e.status == dmvpn_mgmt::IkeSaStatus::Ready)
                .map(|e| (n, e.spi_local)),
        );
        let ipsec: dmvpn_mgmt::IpsecSaReport = json(lab, n, &["crypto", "ipsec", "sa"]);
        s.child.extend(
            ipsec
                .peers
                .iter()
                .flat_map(|p| p.sas.iter().filter(|x| x.active).map(|x| (n, x.spi_in))),
        );
    }
    if let Ok(c) = lab.show_nhrp(0) {
        s.registrations = c
            .entries
            .iter()
            .map(|e| (e.prefix.address, e.created_secs))
            .collect();
    }
    if let Ok(t) = lab.show_shortcuts(1) {
        s.shortcuts = t
            .shortcuts
            .iter()
            .map(|e| format!("{:?}", e.target))
            .collect();
    }
    s
}

fn reloads(lab: &Lab, index: usize, what: &str) -> usize {
    std::fs::read_to_string(&lab.nodes()[index].log)
        .unwrap_or_default()
        .matches(what)
        .count()
}

/// Rewrites node `index`'s configuration with `edit`, sends SIGHUP and waits for the
/// daemon's verdict: `ok` (reloaded) or not (refused).
fn reload(lab: &Lab, index: usize, ok: bool, edit: impl FnOnce(String) -> String) {
    let node = &lab.nodes()[index];
    let text = std::fs::read_to_string(&node.config).expect("config");
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit changed nothing");
    std::fs::write(&node.config, edited).expect("write config");
    let verdict = if ok {
        "configuration reloaded"
    } else {
        "reload failed"
    };
    let before = reloads(lab, index, verdict);
    lab.signal_daemon(index, Signal::SIGHUP);
    lab::wait_for(Duration::from_secs(30), verdict, || {
        (reloads(lab, index, verdict) > before).then_some(())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", node.name));
}

fn assert_kept(lab: &Lab, step: &str, before: &Snapshot) {
    let after = snapshot(lab);
    for sa in &before.ike {
        assert!(
            after.ike.contains(sa),
            "{step}: IKE SA {sa:?} replaced: {after:?}"
        );
    }
    for sa in &before.child {
        assert!(
            after.child.contains(sa),
            "{step}: Child SA {sa:?} replaced: {after:?}"
        );
    }
    for (addr, age) in &before.registrations {
        let now = after
            .registrations
            .iter()
            .find(|(a, _)| a == addr)
            .unwrap_or_else(|| panic!("{step}: registration of {addr} lost: {after:?}"));
        assert!(now.1 >= *age, "{step}: registration of {addr} re-created");
    }
    for s in &before.shortcuts {
        assert!(after.shortcuts.contains(s), "{step}: shortcut {s} lost");
    }
    for (from, to) in [(1, 0), (1, 2), (2, 1)] {
        let p = lab.ping(from, lab.nodes()[to].host, 3, 0.2).expect("ping");
        assert!(p.received > 0, "{step}: LAN {from} -> LAN {to}: {p:?}");
    }
}

#[test]
fn reloads_drop_no_sa_registration_or_shortcut() {
    if !common::can_run() {
        return;
    }
    let prefix = lab::unique_prefix("hit");
    let mut spec = LabSpec::new(&prefix, 2, Phase::Three, common::exe());
    spec.protection = true;
    spec.state_dir = std::env::temp_dir().join(format!("dmvpn-{prefix}"));
    let mut lab = Lab::build(spec).expect("build the lab");
    lab.start_all().expect("start the daemons");
    let holdtime = lab.spec().holdtime;
    // The shortcut spoke 1 -> spoke 2 (and its SA) forms with traffic.
    let spoke2_lan = lab.nodes()[2].host;
    lab::wait_for(Duration::from_secs(60), "a shortcut to spoke 2", || {
        let _ = lab.ping(1, spoke2_lan, 2, 0.2);
        let s = snapshot(&lab);
        (!s.shortcuts.is_empty() && s.ike.len() >= 3).then_some(())
    })
    .expect("shortcut and SAs up");
    let before = snapshot(&lab);

    reload(&lab, 0, true, |t| {
        t.replacen(
            " ip nhrp network-id 100000\n",
            " ip nhrp network-id 100000\n ip nhrp map 10.0.0.99 172.16.99.1\n",
            1,
        )
    });
    assert_kept(&lab, "a spoke added on the hub", &before);

    lab.append_config(
        0,
        "interface Tunnel5\n ip address 10.55.0.1 255.255.255.0\n tunnel source Ethernet0\n tunnel mode gre multipoint\n tunnel key 5\n!",
    )
    .expect("append Tunnel5");
    reload(&lab, 0, true, |t| {
        t.replace("tunnel key 5\n", "tunnel key 55\n")
    });
    lab::wait_for(Duration::from_secs(20), "Tunnel5 on the hub", || {
        lab::ns_run(&lab.nodes()[0].ns, "ip", &["link", "show", "Tunnel5"])
            .ok()
            .map(|_| ())
    })
    .expect("Tunnel5 created");
    assert_kept(&lab, "a tunnel added on the hub", &before);

    reload(&lab, 1, true, |t| {
        t.replace(
            &format!(" ip nhrp holdtime {holdtime}\n"),
            &format!(" ip nhrp holdtime {}\n", holdtime + 100),
        )
    });
    assert_kept(&lab, "a spoke's holdtime changed", &before);

    reload(&lab, 0, true, |t| {
        t.replace(
            " set ikev2-profile ikev2prof\n",
            " set ikev2-profile ikev2prof\n set security-association lifetime seconds 2400\n",
        )
        .replace(" nat keepalive 20\n", " nat keepalive 20\n lifetime 7200\n")
    });
    assert_kept(&lab, "the hub's crypto lifetimes changed", &before);
    let running = format!(
        "{:?}",
        lab.request(0, &dmvpn_mgmt::Request::ShowRunningConfig)
            .expect("show running-config")
    );
    assert!(running.contains("lifetime seconds 2400"), "{running}");

    reload(&lab, 0, false, |t| {
        t.replace(" tunnel key 100000\n", " tunnel key not-a-number\n")
    });
    assert_kept(&lab, "a broken configuration refused", &before);
    let still = format!(
        "{:?}",
        lab.request(0, &dmvpn_mgmt::Request::ShowRunningConfig)
            .expect("show running-config")
    );
    assert_eq!(
        still, running,
        "a refused reload changed the running configuration"
    );
}

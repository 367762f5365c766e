//! Reload as a computed diff: classification, commit, and failures that change nothing.

use super::*;

fn spoke_with(extra_tunnel: bool, mtu: u16) -> String {
    let mut text = SPOKE.replace(" ip mtu 1400", &format!(" ip mtu {mtu}"));
    if extra_tunnel {
        text.push_str(
            "interface Tunnel1\n ip address 10.1.0.2 255.255.255.0\n ip nhrp network-id 2\n tunnel source 172.16.1.1\n tunnel mode gre multipoint\n tunnel key 2\n!\n",
        );
    }
    text
}

#[test]
fn reload_diff_classifies_each_tunnel() {
    let running = start_plans(&parse(SPOKE)).expect("plans");
    let same = start_plans(&parse(SPOKE)).expect("plans");
    assert_eq!(
        crate::core::reload::diff(&running, &same),
        vec![TunnelChange::Keep(0)]
    );

    let new = start_plans(&parse(&spoke_with(true, 1300))).expect("plans");
    let changes = crate::core::reload::diff(&running, &new);
    assert!(matches!(&changes[0], TunnelChange::Update { to, .. } if to.dataplane.mtu == 1300));
    assert!(matches!(&changes[1], TunnelChange::Start(p) if p.name == "Tunnel1"));

    let rekeyed =
        start_plans(&parse(&SPOKE.replace("tunnel key 100000", "tunnel key 5"))).expect("plans");
    assert!(matches!(
        &crate::core::reload::diff(&running, &rekeyed)[0],
        TunnelChange::Restart { .. }
    ));
    // A new address restarts the device; its old routes go with it.
    let plan = ReloadPlan::compute(running.clone(), String::new(), &parse(HUB)).expect("plan");
    assert!(matches!(&plan.changes[0], TunnelChange::Restart { .. }));
    assert!(plan.routes_removed.is_empty());
    assert!(plan.routes_added.is_empty());
    assert_eq!(plan.to_stop(), vec![0]);
    assert_eq!(plan.restarted(), vec![0]);
    // An in-place change without the route: the route is removed.
    let no_route = SPOKE.replace("ip route 192.168.0.0 255.255.0.0 10.0.0.1\n", "");
    let plan = ReloadPlan::compute(running, String::new(), &parse(&no_route)).expect("plan");
    assert!(matches!(&plan.changes[0], TunnelChange::Update { .. }));
    assert_eq!(plan.routes_removed.len(), 1);
    assert!(plan.to_start().is_empty() && plan.to_stop().is_empty());
}

#[test]
fn a_reload_commits_started_tunnels_and_updates_running_ones_in_place() {
    let mut n = registered_spoke();
    let text = spoke_with(true, 1300);
    let plan = n
        .core
        .plan_reload(text.clone(), &parse(&text))
        .expect("plan");
    let to_start: Vec<_> = plan.to_start().into_iter().cloned().collect();
    assert_eq!(to_start.len(), 1);
    let new_fake = Arc::new(FakeDataPlane::new("Tunnel1", 201, SPOKE_NBMA));
    let new_dp: Arc<dyn DataPlane> = new_fake.clone();
    let started: Vec<(IfIndex, crate::core::TunnelIo)> = vec![(to_start[0].ifindex, new_dp.into())];
    n.fake(0).take_calls();
    let summary = n
        .core
        .commit_reload(Instant::from_secs(5), plan, started)
        .expect("commit");
    assert_eq!((summary.kept, summary.started, summary.stopped), (1, 1, 0));
    assert_eq!(n.core.tunnels().count(), 2);
    // Tunnel0 kept its data plane, its new MTU applied in place; the registration stays.
    assert!(n.fake(0).calls().contains(&Call::SetMtu(1300)));
    assert_eq!(n.fake(0).mappings().get(&HUB_TUNNEL), Some(&HUB_NBMA));
    assert!(new_fake.calls().contains(&Call::SetNhs(Vec::new())));
    assert_eq!(n.core.running_config().expect("config").text, text);
    let names: Vec<String> = n
        .core
        .dmvpn()
        .expect("dmvpn")
        .interfaces
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, vec!["Tunnel0".to_string(), "Tunnel1".to_string()]);
}

fn running_state(
    n: &mut Node,
) -> (
    Vec<crate::translate::TunnelPlan>,
    String,
    dmvpn_nhrp::EngineConfig,
    String,
) {
    let plans = n.core.running_plans();
    let text = n.core.running_config().expect("config").text;
    let engine = n.core.engine().config();
    let cache = format!("{:?}", n.core.nhrp_cache().expect("cache"));
    (plans, text, engine, cache)
}

#[test]
fn a_reload_that_fails_leaves_the_running_state_as_it_was() {
    let mut n = registered_spoke();
    let before = running_state(&mut n);
    let calls_before = n.fake(0).calls().len();

    // A configuration that cannot run: nothing changes, nothing is planned.
    let broken = SPOKE.replace(" tunnel source 172.16.1.1\n", "");
    let err = n.core.plan_reload(broken.clone(), &parse(&broken));
    assert!(matches!(err, Err(CoreError::Config(_))), "{err:?}");

    // A tunnel that could not start: the shell commits without it and the core refuses.
    let text = spoke_with(true, 1300);
    let plan = n
        .core
        .plan_reload(text.clone(), &parse(&text))
        .expect("plan");
    let err = n
        .core
        .commit_reload(Instant::from_secs(1), plan.clone(), Vec::new());
    assert!(matches!(err, Err(CoreError::StalePlan(_))), "{err:?}");

    // A plan computed against another running state is refused too.
    let mut stale = plan;
    stale.running.clear();
    let extra: Arc<dyn DataPlane> = Arc::new(FakeDataPlane::new("Tunnel1", 201, SPOKE_NBMA));
    assert!(
        n.core
            .commit_reload(Instant::from_secs(1), stale, vec![(1, extra.into())])
            .is_err()
    );

    assert_eq!(running_state(&mut n), before);
    assert_eq!(n.core.tunnels().count(), 1);
    // The running tunnel's data plane was not touched.
    assert_eq!(n.fake(0).calls().len(), calls_before);
}

#[test]
fn a_replaced_data_plane_gets_the_engines_state() {
    let mut n = registered_spoke();
    let fresh = Arc::new(FakeDataPlane::new("Tunnel0", 300, SPOKE_NBMA));
    let dp: Arc<dyn DataPlane> = fresh.clone();
    n.core.replace_dataplane(0, dp.into());
    assert_eq!(fresh.mappings().get(&HUB_TUNNEL), Some(&HUB_NBMA));
    assert!(fresh.calls().contains(&Call::SetNhs(vec![HUB_NBMA])));
}

#[test]
fn a_reload_restarts_and_stops_tunnels_and_the_new_device_gets_the_engines_state() {
    let two = spoke_with(true, 1400);
    let mut n = node(&two, SPOKE_NBMA);
    assert_eq!(n.core.tunnels().count(), 2);
    n.fake(0).set_counters(CounterSnapshot {
        tunnel: counters(10, 20),
        ..CounterSnapshot::default()
    });
    n.core
        .clear_dmvpn_statistics(&mgmt::ClearDmvpnStatistics::default())
        .expect("clear");
    let rekeyed = SPOKE.replace("tunnel key 100000", "tunnel key 7");
    let plan = n
        .core
        .plan_reload(rekeyed.clone(), &parse(&rekeyed))
        .expect("plan");
    assert_eq!(plan.restarted(), vec![0]);
    assert_eq!(plan.to_stop(), vec![0, 1]);
    // The restarted device's routes are installed again (the old device took them along).
    assert_eq!(plan.routes_added.len(), 1);
    let fresh = Arc::new(FakeDataPlane::new("Tunnel0", 400, SPOKE_NBMA));
    let summary = n
        .core
        .commit_reload(
            Instant::from_secs(2),
            plan,
            vec![(0, {
                let dp: Arc<dyn DataPlane> = fresh.clone();
                dp.into()
            })],
        )
        .expect("commit");
    assert_eq!((summary.kept, summary.started, summary.stopped), (0, 1, 1));
    assert_eq!(n.core.tunnels().count(), 1);
    assert_eq!(fresh.mappings().get(&HUB_TUNNEL), Some(&HUB_NBMA));
    assert!(
        n.core
            .tunnels()
            .all(|t| t.plan.dataplane.key == Some(7) && t.dp.ifindex() == 400)
    );
    // The new device counts from zero: the old baseline is gone.
    fresh.set_counters(CounterSnapshot {
        tunnel: counters(2, 3),
        ..CounterSnapshot::default()
    });
    let shown = n.core.dmvpn().expect("dmvpn").interfaces[0].counters;
    assert_eq!((shown.packets_in, shown.packets_out), (2, 3));
    // The engine's next registration leaves over the new device.
    let due = n.core.poll_timeout().expect("a registration timer");
    n.core
        .handle_timeout(due.saturating_add(std::time::Duration::from_secs(1)));
    assert!(!sent_of_type(&fresh, PacketType::RegistrationRequest).is_empty());
}

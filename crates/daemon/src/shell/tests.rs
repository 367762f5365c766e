//! The shell's reload I/O against a fake tunnel starter: what starts, what stops, and that a
//! failed reload leaves the running tunnels as they were. No root needed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use dmvpn_dataplane::seam::DataPlane;
use dmvpn_nhrp::{IfIndex, Instant};

use super::{TunnelStarter, apply_reload};
use crate::DaemonError;
use crate::core::NodeCore;
use crate::core::reload::start_plans;
use crate::translate::{KernelRoute, TunnelPlan};

const SPOKE: &str = "\
hostname Spoke1
interface Tunnel0
 ip address 10.0.0.2 255.255.255.0
 ip nhrp map 10.0.0.1 172.17.0.1
 ip nhrp network-id 100000
 ip nhrp nhs 10.0.0.1
 tunnel source 172.16.1.1
 tunnel mode gre multipoint
 tunnel key 100000
!
ip route 192.168.0.0 255.255.0.0 10.0.0.1
";

const TUNNEL1: &str = "\
interface Tunnel1
 ip address 10.1.0.2 255.255.255.0
 ip nhrp network-id 2
 tunnel source 172.16.1.1
 tunnel mode gre multipoint
!
";

/// A running fake device: its name and which start it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Device {
    name: String,
    key: Option<u32>,
    serial: u32,
}

#[derive(Default)]
struct FakeStarter {
    fail: Option<String>,
    serial: u32,
    log: Vec<String>,
}

impl TunnelStarter for FakeStarter {
    type Running = Device;

    async fn start(
        &mut self,
        plan: &TunnelPlan,
    ) -> Result<(Device, crate::core::TunnelIo), DaemonError> {
        if self.fail.as_deref() == Some(plan.name.as_str()) {
            self.log.push(format!("start {} failed", plan.name));
            return Err(DaemonError::Dataplane(format!(
                "{}: no such device",
                plan.name
            )));
        }
        self.serial += 1;
        self.log.push(format!("start {}", plan.name));
        let dp = Arc::new(crate::core::fake::FakeDataPlane::new(
            &plan.name,
            1000 + self.serial,
            Ipv4Addr::new(172, 16, 1, 1),
        ));
        let device = Device {
            name: plan.name.clone(),
            key: plan.dataplane.key,
            serial: self.serial,
        };
        let dp: Arc<dyn DataPlane> = dp;
        Ok((device, dp.into()))
    }

    async fn stop(&mut self, running: Device) {
        self.log.push(format!("stop {}", running.name));
    }

    async fn route(&mut self, dev: &str, route: &KernelRoute, add: bool) {
        self.log.push(format!(
            "route {} {} {dev}",
            if add { "add" } else { "del" },
            route.prefix
        ));
    }
}

fn parse(text: &str) -> dmvpn_config::Config {
    let p = dmvpn_config::parse(text);
    assert!(!p.has_errors(), "{}", p.render("test.conf"));
    p.config
}

struct Setup {
    rt: tokio::runtime::Runtime,
    core: NodeCore,
    running: BTreeMap<IfIndex, Device>,
    starter: FakeStarter,
    epoch: tokio::time::Instant,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = parse(SPOKE);
    let mut starter = FakeStarter::default();
    let mut running = BTreeMap::new();
    let mut tunnels = Vec::new();
    for p in start_plans(&config).expect("plans") {
        let (device, dp) = rt.block_on(starter.start(&p)).expect("start");
        running.insert(p.ifindex, device);
        tunnels.push((p, dp));
    }
    starter.log.clear();
    let core = NodeCore::new(SPOKE.to_string(), &config, tunnels, 1, Instant::ZERO).expect("core");
    let epoch = rt.block_on(async { tokio::time::Instant::now() });
    Setup {
        rt,
        core,
        running,
        starter,
        epoch,
    }
}

impl Setup {
    fn reload(&mut self, text: &str) -> Result<crate::core::reload::ReloadSummary, DaemonError> {
        let config = parse(text);
        self.rt.block_on(apply_reload(
            &mut self.core,
            &mut self.running,
            &mut self.starter,
            self.epoch,
            text.to_string(),
            &config,
        ))
    }
}

#[test]
fn a_reload_starts_new_tunnels_and_keeps_unchanged_ones() {
    let mut s = setup();
    let before = s.running.get(&0).cloned();
    let text = format!("{SPOKE}{TUNNEL1}");
    let summary = s.reload(&text).expect("reload");
    assert_eq!((summary.kept, summary.started, summary.stopped), (1, 1, 0));
    assert_eq!(s.starter.log, vec!["start Tunnel1".to_string()]);
    assert_eq!(
        s.running.get(&0).cloned(),
        before,
        "Tunnel0 was not touched"
    );
    assert!(s.running.contains_key(&1));
    assert_eq!(s.core.tunnels().count(), 2);
}

#[test]
fn a_tunnel_that_cannot_start_leaves_everything_as_it_was() {
    let mut s = setup();
    let running_before = s.running.clone();
    let plans_before = s.core.running_plans();
    s.starter.fail = Some("Tunnel1".to_string());
    let text = format!("{SPOKE}{TUNNEL1}");
    assert!(s.reload(&text).is_err());
    assert_eq!(s.running, running_before);
    assert_eq!(s.core.running_plans(), plans_before);
    assert_eq!(s.starter.log, vec!["start Tunnel1 failed".to_string()]);
}

#[test]
fn a_failed_reload_with_a_restart_brings_the_old_device_back() {
    let mut s = setup();
    let plans_before = s.core.running_plans();
    s.starter.fail = Some("Tunnel1".to_string());
    // Tunnel0 needs a new device (new key); Tunnel1 cannot start.
    let text = format!(
        "{}{TUNNEL1}",
        SPOKE.replace("tunnel key 100000", "tunnel key 7")
    );
    assert!(s.reload(&text).is_err());
    assert_eq!(
        s.starter.log,
        vec![
            "stop Tunnel0".to_string(),
            "start Tunnel0".to_string(),
            "start Tunnel1 failed".to_string(),
            "stop Tunnel0".to_string(),
            "start Tunnel0".to_string(),
            "route add 192.168.0.0/16 Tunnel0".to_string(),
        ]
    );
    // The running plan (key 100000) runs again, on a device of the old plan.
    assert_eq!(s.core.running_plans(), plans_before);
    let device = s.running.get(&0).expect("Tunnel0 runs");
    assert_eq!(device.key, Some(100000));
    assert_eq!(s.running.len(), 1);
    // The core uses the restored device's data plane.
    assert!(
        s.core
            .tunnels()
            .all(|t| t.dp.ifindex() == 1000 + device.serial)
    );
}

#[test]
fn a_configuration_error_touches_no_tunnel() {
    let mut s = setup();
    let broken = SPOKE.replace(" tunnel source 172.16.1.1\n", "");
    assert!(matches!(s.reload(&broken), Err(DaemonError::Config(_))));
    assert!(s.starter.log.is_empty());
    assert_eq!(s.running.len(), 1);
}

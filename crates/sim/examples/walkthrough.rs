//! Seed 003's spoke1 → spoke2 walk-through on real engines, printed as a
//! trace: `cargo run -p dmvpn-sim --example walkthrough [-- phase3]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;
use std::time::Duration;

use dmvpn_sim::Lab;
use dmvpn_sim::lab::{hub_iface, spoke_iface};
use dmvpn_sim::{Prefix, SimError};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let phase3 = std::env::args().any(|a| a == "phase3");
    let ip = |s: &str| -> Ipv4Addr { s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED) };
    let lan = |a: &str| Prefix::new(ip(a), 24).unwrap();
    let (hub_t, hub_n) = (ip("10.0.0.1"), ip("172.17.0.1"));
    let mut lab = Lab::new(1);
    let mut h = hub_iface(hub_t, hub_n, lan("192.168.0.0"));
    h.redirect = phase3;
    let hub = lab.add("hub", h)?;
    let mut spokes = Vec::new();
    for (name, t, n, l) in [
        ("spoke1", "10.0.0.2", "172.16.1.24", "192.168.1.0"),
        ("spoke2", "10.0.0.3", "172.16.2.75", "192.168.2.0"),
    ] {
        let mut c = spoke_iface(ip(t), ip(n), lan(l), &[(hub_t, hub_n)]);
        c.shortcut = phase3;
        let s = lab.add(name, c)?;
        lab.route(hub, lan(l), ip(t));
        spokes.push((s, ip(t), lan(l)));
    }
    for (s, _, _) in &spokes {
        for (_, other_t, other_lan) in &spokes {
            if lan_of(&spokes, *s) != *other_lan {
                lab.route(*s, *other_lan, if phase3 { hub_t } else { *other_t });
            }
        }
    }
    lab.run_for(Duration::from_secs(5))
        .map_err(|e: SimError| e.to_string())?;
    println!("== registrations\n{}", lab.render_trace(Duration::ZERO));
    let t0 = lab.now();
    let (s1, s2) = (spokes[0].0, spokes[1].0);
    for _ in 0..2 {
        lab.send_data(s1, ip("192.168.1.2"), ip("192.168.2.3"));
        lab.run_for(Duration::from_secs(1))?;
        lab.send_data(s2, ip("192.168.2.3"), ip("192.168.1.2"));
        lab.run_for(Duration::from_secs(1))?;
    }
    println!(
        "== ping 192.168.1.2 <-> 192.168.2.3 (twice)\n{}",
        lab.render_trace(t0)
    );
    for (s, _, _) in &spokes {
        println!("== show ip nhrp on {}", lab.name(*s).unwrap_or("?"));
        for e in lab.cache(*s) {
            println!(
                "{} via {} nbma {:?} {:?} {:?}",
                e.prefix, e.next_hop, e.nbma, e.kind, e.flag_names
            );
        }
    }
    println!("== trace hash {}", lab.trace().hash());
    Ok(())
}

fn lan_of(spokes: &[(usize, Ipv4Addr, Prefix)], s: usize) -> Prefix {
    spokes
        .iter()
        .find(|x| x.0 == s)
        .map(|x| x.2)
        .unwrap_or(Prefix::DEFAULT)
}

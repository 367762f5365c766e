//! IPsec metric families, from `show crypto ikev2 sa` and `show crypto ipsec sa`: IKE SAs
//! by state, rekeys and failures per protected tunnel; ESP pairs, packets, bytes and
//! errors per peer; the packets the ESP tables refused. Names are documented in
//! `docs/metrics.md`.

use dmvpn_mgmt::{IkeSaReport, IkeSaStatus, IpsecSaReport};

use crate::render::{MetricFamily, MetricKind, l};

fn status_label(s: IkeSaStatus) -> &'static str {
    match s {
        IkeSaStatus::Ready => "ready",
        IkeSaStatus::InNeg => "negotiating",
        IkeSaStatus::Delete => "deleting",
    }
}

/// The crypto families, in a fixed order.
pub fn families(ike: &IkeSaReport, esp: &IpsecSaReport) -> Vec<MetricFamily> {
    use MetricKind::{Counter, Gauge};
    let mut sas = MetricFamily::new(
        "dmvpn_ike_sas",
        Gauge,
        "IKEv2 SAs of a protected tunnel by state (show crypto ikev2 sa).",
    );
    let mut up = MetricFamily::new(
        "dmvpn_ike_sas_established",
        Counter,
        "IKEv2 SAs that completed IKE_AUTH.",
    );
    let mut rekeys = MetricFamily::new(
        "dmvpn_ike_rekeys",
        Counter,
        "Rekeys of IKE SAs (kind=ike) and Child SAs (kind=child).",
    );
    let mut failures = MetricFamily::new(
        "dmvpn_ike_failures",
        Counter,
        "Failed or refused IKE negotiations by reason (auth, negotiation, install, admission).",
    );
    for t in &ike.tunnels {
        for st in [IkeSaStatus::Ready, IkeSaStatus::InNeg, IkeSaStatus::Delete] {
            let n = ike
                .sas
                .iter()
                .filter(|s| s.tunnel == t.tunnel && s.status == st)
                .count();
            sas.push(
                vec![l("interface", &t.tunnel), l("state", status_label(st))],
                n as u64,
            );
        }
        up.push(vec![l("interface", &t.tunnel)], t.sas_up);
        rekeys.push(
            vec![l("interface", &t.tunnel), l("kind", "ike")],
            t.ike_rekeys,
        );
        rekeys.push(
            vec![l("interface", &t.tunnel), l("kind", "child")],
            t.child_rekeys,
        );
        for (reason, n) in [
            ("auth", t.auth_failures),
            ("negotiation", t.negotiation_failures),
            ("install", t.install_failures),
            ("admission", t.admission_refused),
        ] {
            failures.push(vec![l("interface", &t.tunnel), l("reason", reason)], n);
        }
    }
    let mut pairs = MetricFamily::new(
        "dmvpn_ipsec_sas",
        Gauge,
        "ESP SA pairs with one peer (an old pair lingers briefly after a rekey).",
    );
    let mut packets = MetricFamily::new(
        "dmvpn_ipsec_packets",
        Counter,
        "ESP packets with one peer (tx encapsulated, rx decapsulated and verified).",
    );
    let mut bytes = MetricFamily::new(
        "dmvpn_ipsec_bytes",
        Counter,
        "Payload bytes protected (tx) and accepted (rx) with one peer.",
    );
    let mut errors = MetricFamily::new(
        "dmvpn_ipsec_errors",
        Counter,
        "ESP packets refused with one peer by kind (replay, auth, send, recv).",
    );
    for p in &esp.peers {
        let peer = vec![l("interface", &p.tunnel), l("peer", p.remote)];
        pairs.push(peer.clone(), p.sas.len() as u64);
        let c = &p.counters;
        for (dir, pk, by) in [
            ("tx", c.pkts_encaps, c.bytes_encaps),
            ("rx", c.pkts_decaps, c.bytes_decaps),
        ] {
            let mut labels = peer.clone();
            labels.push(l("direction", dir));
            packets.push(labels.clone(), pk);
            bytes.push(labels, by);
        }
        for (kind, n) in [
            ("replay", c.replay_failures),
            ("auth", c.auth_failures),
            ("send", c.send_errors),
            ("recv", c.recv_errors),
        ] {
            let mut labels = peer.clone();
            labels.push(l("kind", kind));
            errors.push(labels, n);
        }
    }
    let mut refused = MetricFamily::new(
        "dmvpn_ipsec_refused",
        Counter,
        "Packets the ESP tables refused: invalid_spi (unknown SPI received), no_sa (to a protected peer without an SA: held, never sent in clear), cleartext (GRE from a protected peer).",
    );
    for (kind, n) in [
        ("invalid_spi", esp.invalid_spi),
        ("no_sa", esp.no_sa),
        ("cleartext", esp.cleartext_refused),
    ] {
        refused.push(vec![l("kind", kind)], n);
    }
    vec![
        sas, up, rekeys, failures, pairs, packets, bytes, errors, refused,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmvpn_mgmt::{IkeTunnelCounters, IpsecCounters, IpsecPeer};

    #[test]
    fn crypto_families_carry_tunnel_and_peer_labels() {
        let ike = IkeSaReport {
            sas: Vec::new(),
            tunnels: vec![IkeTunnelCounters {
                tunnel: "Tunnel0".into(),
                profile: "vpnprof".into(),
                sas_up: 3,
                child_rekeys: 2,
                auth_failures: 1,
                ..IkeTunnelCounters::default()
            }],
        };
        let esp = IpsecSaReport {
            peers: vec![IpsecPeer {
                tunnel: "Tunnel0".into(),
                local: "192.0.2.1"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                remote: "192.0.2.2"
                    .parse()
                    .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                remote_port: 500,
                current_outbound_spi: None,
                pfs_group: None,
                counters: IpsecCounters {
                    pkts_encaps: 7,
                    replay_failures: 1,
                    ..IpsecCounters::default()
                },
                sas: Vec::new(),
            }],
            invalid_spi: 4,
            ..IpsecSaReport::default()
        };
        let f = families(&ike, &esp);
        let find = |name: &str| f.iter().find(|x| x.name == name).cloned();
        let rekeys = find("dmvpn_ike_rekeys").unwrap_or_else(|| panic!("no rekeys"));
        assert!(
            rekeys
                .samples
                .iter()
                .any(|s| s.value == 2 && s.labels.contains(&("kind", "child".to_string())))
        );
        let pk = find("dmvpn_ipsec_packets").unwrap_or_else(|| panic!("no packets"));
        assert!(pk.samples.iter().any(|s| s.value == 7
            && s.labels.contains(&("peer", "192.0.2.2".to_string()))
            && s.labels.contains(&("direction", "tx".to_string()))));
        let refused = find("dmvpn_ipsec_refused").unwrap_or_else(|| panic!("no refused"));
        assert!(refused.samples.iter().any(|s| s.value == 4));
    }
}

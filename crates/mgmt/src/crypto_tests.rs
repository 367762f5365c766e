//! Layout and JSON tests of the crypto snapshots.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn session() -> CryptoSession {
    CryptoSession {
        tunnel: "Tunnel0".into(),
        profile: "ikev2prof".into(),
        status: SessionStatus::UpActive,
        local: ip("172.16.1.1"),
        peer: ip("172.17.0.1"),
        peer_port: 4500,
        local_port: 4500,
        ike_id: Some(1031),
        ike_active: true,
        ike_remaining_secs: Some(85500),
        remote_id: Some("172.17.0.1".into()),
        nat_t: true,
        uptime_secs: Some(900),
        active_sas: 2,
        inbound: SessionDirection {
            packets: 1,
            dropped: 0,
            remaining_kb: Some(4_494_994),
            remaining_secs: Some(2700),
        },
        outbound: SessionDirection {
            packets: 1,
            dropped: 0,
            remaining_kb: Some(4_494_994),
            remaining_secs: Some(2700),
        },
    }
}

#[test]
fn dmvpn_detail_lines_follow_seed_001() {
    let text = dmvpn_detail_lines(&session());
    let expected = "\
IKE SA: local 172.16.1.1/4500 remote 172.17.0.1/4500 Active
      Capabilities:N connid:1031 lifetime:23:45:00
Crypto Session Status: UP-ACTIVE
fvrf: (none)
IPSEC FLOW: permit 47 host 172.16.1.1 host 172.17.0.1
      Active SAs: 2, origin: crypto map
      Inbound: #pkts dec'ed 1 drop 0 life (KB/Sec) 4494994/2700
      Outbound: #pkts enc'ed 1 drop 0 life (KB/Sec) 4494994/2700
      Socket State: Open
";
    assert_eq!(text, expected);
}

#[test]
fn session_layout_names_the_peer_and_the_flow() {
    let r = CryptoSessionReport {
        sessions: vec![session()],
    };
    let brief = crypto_session(&r, false);
    assert!(brief.starts_with("Crypto session current status\n\nInterface: Tunnel0\n"));
    assert!(brief.contains("Session status: UP-ACTIVE\nPeer: 172.17.0.1 port 4500\n"));
    assert!(brief.contains("  IKEv2 SA: local 172.16.1.1/4500 remote 172.17.0.1/4500 Active\n"));
    assert!(!brief.contains("#pkts"));
    let detail = crypto_session(&r, true);
    assert!(detail.contains("Uptime: 00:15:00\n"));
    assert!(
        detail.contains("        Inbound:  #pkts dec'ed 1 drop 0 life (KB/Sec) 4494994/2700\n")
    );
    assert!(detail.lines().all(|l| l == l.trim_end()));
}

#[test]
fn ipsec_sa_layout_has_ios_counter_lines_and_spis() {
    let r = IpsecSaReport {
        peers: vec![IpsecPeer {
            tunnel: "Tunnel0".into(),
            local: ip("172.16.1.1"),
            remote: ip("172.17.0.1"),
            remote_port: 4500,
            current_outbound_spi: Some(0xD1EA_3C9B),
            pfs_group: None,
            counters: IpsecCounters {
                pkts_encaps: 5,
                pkts_encrypt: 5,
                pkts_digest: 5,
                pkts_decaps: 4,
                pkts_decrypt: 4,
                pkts_verify: 4,
                replay_failures: 1,
                ..IpsecCounters::default()
            },
            sas: vec![IpsecSaPair {
                spi_in: 0x1234_5678,
                spi_out: 0xD1EA_3C9B,
                transform: "esp-gcm 256".into(),
                mode: "Transport".into(),
                active: true,
                remaining_kb: Some(4_607_999),
                remaining_secs: Some(3541),
                replay_window: 64,
                esn: false,
                udp_encap_port: Some(4500),
            }],
        }],
        ..IpsecSaReport::default()
    };
    let t = ipsec_sa(&r);
    for line in [
        "interface: Tunnel0",
        "   current_peer 172.17.0.1 port 4500",
        "    #pkts encaps: 5, #pkts encrypt: 5, #pkts digest: 5",
        "    #pkts decaps: 4, #pkts decrypt: 4, #pkts verify: 4",
        "    #pkts replay failed (rcv): 1, #pkts verify failed: 0",
        "     current outbound spi: 0xD1EA3C9B(3521789083)",
        "      spi: 0x12345678(305419896)",
        "        transform: esp-gcm 256 ,",
        "        in use settings ={Transport-UDP-Encaps, }",
        "        sa timing: remaining key lifetime (k/sec): (4607999/3541)",
        "        replay window size: 64",
        "        Status: ACTIVE(ACTIVE)",
    ] {
        assert!(t.lines().any(|l| l == line), "missing `{line}` in:\n{t}");
    }
    assert_eq!(ipsec_sa(&IpsecSaReport::default()), "No IPsec SAs.\n");
}

#[test]
fn ikev2_sa_layout_and_detail() {
    let r = IkeSaReport {
        sas: vec![IkeSaEntry {
            tunnel: "Tunnel0".into(),
            id: 1,
            local: ip("172.16.1.1"),
            local_port: 500,
            remote: ip("172.17.0.1"),
            remote_port: 500,
            status: IkeSaStatus::Ready,
            encryption: Some("AES-GCM".into()),
            key_size: Some(256),
            prf: Some("SHA256".into()),
            integrity: None,
            dh_group: Some(19),
            auth_sign: "PSK".into(),
            auth_verify: "PSK".into(),
            lifetime_secs: 86400,
            active_secs: 12,
            spi_local: 0x0A53_247C_ED3C_1758,
            spi_remote: 0x31,
            initiator: true,
            nat_t: false,
            remote_id: Some("172.17.0.1".into()),
            child_sas: 1,
        }],
        tunnels: Vec::new(),
    };
    let brief = ikev2_sa(&r, false);
    assert!(brief.contains(
        "1         172.16.1.1/500        172.17.0.1/500        none/none            READY\n"
    ));
    assert!(brief.contains(
        "      Encr: AES-GCM, keysize: 256, PRF: SHA256, Hash: None, DH Grp:19, Auth sign: PSK, Auth verify: PSK\n"
    ));
    assert!(brief.contains("      Life/Active Time: 86400/12 sec\n"));
    let detail = ikev2_sa(&r, true);
    assert!(detail.contains("      Local spi: 0A53247CED3C1758"));
    assert!(detail.contains("      Initiator of SA : Yes\n"));
}

#[test]
fn json_field_names_are_snake_case_contracts() {
    let v = serde_json::to_value(CryptoSessionReport {
        sessions: vec![session()],
    })
    .unwrap_or_default();
    let s = &v["sessions"][0];
    assert_eq!(s["status"], "up_active");
    assert_eq!(s["peer_port"], 4500);
    assert_eq!(s["inbound"]["remaining_kb"], 4_494_994);
    assert_eq!(s["ike_id"], 1031);
}

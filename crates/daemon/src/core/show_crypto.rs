//! The crypto show answers: `show crypto ikev2 sa`, `show crypto ipsec sa`,
//! `show crypto session` and the crypto lines of `show dmvpn detail`, built from each
//! protected tunnel's IKE engine (SAs, counters) and ESP table (pairs, packet counters).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use dmvpn_crypto::{Encryption, Integrity};
use dmvpn_esp::SaSnapshot;
use dmvpn_ike::{IkeSaView, SaState};
use dmvpn_mgmt as mgmt;

use super::ipsec::{TunnelIpsec, dur};
use super::{CoreTunnel, NodeCore};

/// IOS's transform-set words for an ESP transform.
fn transform_words(enc: Encryption, integ: Option<Integrity>) -> String {
    let cipher = match enc {
        Encryption::AesGcm16 { key_bits } => format!("esp-gcm {key_bits}"),
        Encryption::AesCbc { key_bits: 128 } => "esp-aes".to_string(),
        Encryption::AesCbc { key_bits } => format!("esp-{key_bits}-aes"),
    };
    match integ {
        Some(i) => format!("{cipher} {}", i.esp_name()),
        None => cipher,
    }
}

fn status(v: &IkeSaView) -> mgmt::IkeSaStatus {
    match v.state {
        SaState::Established => mgmt::IkeSaStatus::Ready,
        SaState::Init | SaState::Auth => mgmt::IkeSaStatus::InNeg,
        SaState::Deleting => mgmt::IkeSaStatus::Delete,
    }
}

/// A stable number for an IKE SA within a snapshot (IOS's `Tunnel-id` / `connid`).
fn sa_id(v: &IkeSaView) -> u32 {
    let spi = if v.initiator { v.spi_i } else { v.spi_r };
    // The low bits of our SPI: unique enough for a listing, stable across shows.
    (spi & 0x7fff_ffff) as u32 % 100_000 + 1
}

fn tunnel_counters(i: &TunnelIpsec) -> mgmt::IkeTunnelCounters {
    let c = i.counters;
    mgmt::IkeTunnelCounters {
        tunnel: i.name.clone(),
        profile: i.profile.ipsec_profile.clone(),
        sas_up: c.ike_up,
        ike_rekeys: c.ike_rekeys,
        child_rekeys: c.child_rekeys,
        auth_failures: c.auth_failures,
        negotiation_failures: c.negotiation_failures,
        install_failures: c.install_failures,
        admission_refused: c.admission_refused,
    }
}

fn ike_entry(tunnel: &str, v: &IkeSaView) -> mgmt::IkeSaEntry {
    mgmt::IkeSaEntry {
        tunnel: tunnel.to_string(),
        id: sa_id(v),
        local: IpAddr::V4(*v.local.ip()),
        local_port: v.local.port(),
        remote: IpAddr::V4(*v.remote.ip()),
        remote_port: v.remote.port(),
        status: status(v),
        encryption: v
            .encryption
            .map(|e| if e.is_aead() { "AES-GCM" } else { "AES-CBC" }.to_string()),
        key_size: v.encryption.map(Encryption::key_bits),
        prf: v.prf.map(|p| p.ikev2_name().to_uppercase()),
        integrity: v.integrity.map(|i| i.ikev2_name().to_uppercase()),
        dh_group: v.dh_group.map(|g| g.number()),
        auth_sign: "PSK".to_string(),
        auth_verify: "PSK".to_string(),
        lifetime_secs: v.lifetime.as_secs(),
        active_secs: v.age.as_secs(),
        spi_local: if v.initiator { v.spi_i } else { v.spi_r },
        spi_remote: if v.initiator { v.spi_r } else { v.spi_i },
        initiator: v.initiator,
        nat_t: v.nat,
        remote_id: v.peer_id.clone(),
        child_sas: v.children,
    }
}

/// Seconds left of a pair: the IKE engine's view of the Child SA (the data plane's own
/// hard limit is a safety net a little later).
fn remaining_secs(s: &SaSnapshot, children: &[dmvpn_ike::ChildSaView]) -> Option<u64> {
    children
        .iter()
        .find(|c| c.spi_in == s.spi_in)
        .map(|c| c.remaining)
        .or(s.remaining_time)
        .map(|t| t.as_secs())
}

/// One pair.
fn pair(s: &SaSnapshot, children: &[dmvpn_ike::ChildSaView]) -> mgmt::IpsecSaPair {
    mgmt::IpsecSaPair {
        spi_in: s.spi_in,
        spi_out: s.spi_out,
        transform: transform_words(s.encryption, s.integrity),
        mode: match s.mode {
            dmvpn_esp::Mode::Transport => "Transport",
            dmvpn_esp::Mode::Tunnel => "Tunnel",
        }
        .to_string(),
        active: s.active,
        remaining_kb: s.remaining_bytes.map(|b| b / 1024),
        remaining_secs: remaining_secs(s, children),
        replay_window: s.replay_window,
        esn: s.esn,
        udp_encap_port: s.nat_t,
    }
}

fn add_counters(c: &mut mgmt::IpsecCounters, s: &SaSnapshot) {
    let k = &s.counters;
    c.pkts_encaps += k.pkts_encaps;
    c.pkts_encrypt += k.pkts_encrypt;
    c.pkts_digest += k.pkts_digest;
    c.pkts_decaps += k.pkts_decaps;
    c.pkts_decrypt += k.pkts_decrypt;
    c.pkts_verify += k.pkts_verify;
    c.bytes_encaps += k.bytes_encaps;
    c.bytes_decaps += k.bytes_decaps;
    c.send_errors += k.send_errors;
    c.recv_errors += k.recv_errors;
    c.replay_failures += k.replay_failures;
    c.auth_failures += k.auth_failures;
}

impl NodeCore {
    /// Every IPsec group with its first member tunnel (a `shared` group's members share
    /// its source, sockets and SAs; the group's name lists them all).
    fn protected_tunnels(&self) -> impl Iterator<Item = (&CoreTunnel, &TunnelIpsec)> {
        self.ipsec.values().filter_map(|i| {
            i.members
                .iter()
                .find_map(|m| self.tunnels.get(m))
                .map(|t| (t, i))
        })
    }

    /// `show crypto ikev2 sa`.
    pub(crate) fn ikev2_report(&self) -> mgmt::IkeSaReport {
        let mut r = mgmt::IkeSaReport::default();
        for (_, i) in self.protected_tunnels() {
            let mut sas = i.engine.sas();
            sas.sort_by_key(|v| (*v.remote.ip(), v.age));
            r.sas.extend(sas.iter().map(|v| ike_entry(&i.name, v)));
            r.tunnels.push(tunnel_counters(i));
        }
        r
    }

    /// `show crypto ipsec sa`.
    pub(crate) fn ipsec_report(&self) -> mgmt::IpsecSaReport {
        let now = dur(self.now);
        let mut r = mgmt::IpsecSaReport::default();
        for (_, i) in self.protected_tunnels() {
            let stats = i.sad.stats();
            r.invalid_spi += stats.invalid_spi;
            r.no_sa += stats.no_sa;
            r.cleartext_refused += stats.cleartext_refused;
            let snaps = i.sad.snapshot(now);
            let ike = i.engine.sas();
            let children = i.engine.children();
            let peers: BTreeSet<Ipv4Addr> = snaps.iter().map(|s| s.peer).collect();
            for peer in peers {
                let mine: Vec<&SaSnapshot> = snaps.iter().filter(|s| s.peer == peer).collect();
                let mut counters = mgmt::IpsecCounters::default();
                for s in &mine {
                    add_counters(&mut counters, s);
                }
                let local = mine.first().map_or(Ipv4Addr::UNSPECIFIED, |s| s.local);
                r.peers.push(mgmt::IpsecPeer {
                    tunnel: i.name.clone(),
                    local: IpAddr::V4(local),
                    remote: IpAddr::V4(peer),
                    remote_port: ike
                        .iter()
                        .find(|v| *v.remote.ip() == peer)
                        .map_or(dmvpn_ike::IKE_PORT, |v| v.remote.port()),
                    current_outbound_spi: mine.iter().find(|s| s.active).map(|s| s.spi_out),
                    pfs_group: i.profile.child.pfs.map(|g| g.number()),
                    counters,
                    sas: mine.iter().map(|s| pair(s, &children)).collect(),
                });
            }
        }
        r
    }

    /// `show crypto session`: one session per peer with an IKE SA or an ESP pair.
    pub(crate) fn session_report(&self) -> mgmt::CryptoSessionReport {
        let now = dur(self.now);
        let mut r = mgmt::CryptoSessionReport::default();
        for (t, i) in self.protected_tunnels() {
            let snaps = i.sad.snapshot(now);
            let ike = i.engine.sas();
            let children = i.engine.children();
            let local_addr = t.dp.source_address().unwrap_or(Ipv4Addr::UNSPECIFIED);
            let peers: BTreeSet<Ipv4Addr> = snaps
                .iter()
                .map(|s| s.peer)
                .chain(ike.iter().map(|v| *v.remote.ip()))
                .collect();
            for peer in peers {
                let pairs: Vec<&SaSnapshot> = snaps.iter().filter(|s| s.peer == peer).collect();
                // The established SA if any, else the newest negotiating one.
                let sa = ike
                    .iter()
                    .filter(|v| *v.remote.ip() == peer)
                    .min_by_key(|v| (v.state != SaState::Established, v.age));
                let established = sa.is_some_and(|v| v.state == SaState::Established);
                let status = match (sa, pairs.is_empty()) {
                    (Some(_), false) if established => mgmt::SessionStatus::UpActive,
                    (None, false) | (Some(_), false) => mgmt::SessionStatus::UpNoIke,
                    (Some(_), true) if established => mgmt::SessionStatus::UpIdle,
                    (Some(_), true) => mgmt::SessionStatus::DownNegotiating,
                    (None, true) => mgmt::SessionStatus::Down,
                };
                let active = pairs.iter().find(|s| s.active).copied();
                let direction = |inbound: bool| {
                    let packets = pairs
                        .iter()
                        .map(|s| {
                            if inbound {
                                s.counters.pkts_decaps
                            } else {
                                s.counters.pkts_encaps
                            }
                        })
                        .sum();
                    let dropped = pairs
                        .iter()
                        .map(|s| {
                            if inbound {
                                s.counters.recv_errors
                            } else {
                                s.counters.send_errors
                            }
                        })
                        .sum();
                    mgmt::SessionDirection {
                        packets,
                        dropped,
                        remaining_kb: active.and_then(|s| s.remaining_bytes).map(|b| b / 1024),
                        remaining_secs: active.and_then(|s| remaining_secs(s, &children)),
                    }
                };
                r.sessions.push(mgmt::CryptoSession {
                    tunnel: i.name.clone(),
                    profile: i.profile.ike.profile.clone(),
                    status,
                    local: IpAddr::V4(sa.map_or(local_addr, |v| *v.local.ip())),
                    peer: IpAddr::V4(peer),
                    peer_port: sa.map_or(dmvpn_ike::IKE_PORT, |v| v.remote.port()),
                    local_port: sa.map_or(dmvpn_ike::IKE_PORT, |v| v.local.port()),
                    ike_id: sa.map(sa_id),
                    ike_active: established,
                    ike_remaining_secs: sa.map(|v| v.lifetime.saturating_sub(v.age).as_secs()),
                    remote_id: sa.and_then(|v| v.peer_id.clone()),
                    nat_t: sa.is_some_and(|v| v.nat),
                    uptime_secs: sa.filter(|_| established).map(|v| v.age.as_secs()),
                    active_sas: pairs.len() * 2,
                    inbound: direction(true),
                    outbound: direction(false),
                });
            }
        }
        r
    }

    /// The crypto session of `peer` on tunnel `name` (alone, or one of a `shared` group's
    /// comma-separated names), for `show dmvpn detail`.
    pub(crate) fn peer_session(
        sessions: &mgmt::CryptoSessionReport,
        name: &str,
        peer: Ipv4Addr,
    ) -> Option<mgmt::CryptoSession> {
        sessions
            .sessions
            .iter()
            .find(|s| s.tunnel.split(',').any(|n| n == name) && s.peer == IpAddr::V4(peer))
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_words_are_ios_keywords() {
        assert_eq!(
            transform_words(Encryption::AesGcm16 { key_bits: 256 }, None),
            "esp-gcm 256"
        );
        assert_eq!(
            transform_words(
                Encryption::AesCbc { key_bits: 256 },
                Some(Integrity::HmacSha256_128)
            ),
            "esp-256-aes esp-sha256-hmac"
        );
        assert_eq!(
            transform_words(
                Encryption::AesCbc { key_bits: 128 },
                Some(Integrity::HmacSha1_96)
            ),
            "esp-aes esp-sha-hmac"
        );
    }
}

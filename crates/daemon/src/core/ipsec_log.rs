//! IPsec in the node core, what an operator reads: the `%CRYPTO-…`/`%IKEV2-…` log lines of
//! IKE events, the counters they feed, and the Wireshark `esp_sa` key log lines.

use dmvpn_ike::{ChildSa, DownReason, IkeEvent};
use std::net::Ipv4Addr;

use super::ipsec::IpsecCounters;

/// A Wireshark `esp_sa` table line for one direction of a Child SA (the key log).
pub(super) fn esp_sa_line(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    spi: u32,
    c: &ChildSa,
    enc: &[u8],
    integ: &[u8],
) -> String {
    let hex = |b: &[u8]| -> String {
        if b.is_empty() {
            String::new()
        } else {
            format!(
                "0x{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )
        }
    };
    let enc_alg = if c.encryption.is_aead() {
        "AES-GCM with 16 octet ICV [RFC4106]"
    } else {
        "AES-CBC [RFC3602]"
    };
    let auth_alg = match c.integrity {
        None => "NULL",
        Some(dmvpn_crypto::Integrity::HmacSha1_96) => "HMAC-SHA-1-96 [RFC2404]",
        Some(dmvpn_crypto::Integrity::HmacSha256_128) => "HMAC-SHA-256-128 [RFC4868]",
        Some(dmvpn_crypto::Integrity::HmacSha384_192) => "HMAC-SHA-384-192 [RFC4868]",
        Some(dmvpn_crypto::Integrity::HmacSha512_256) => "HMAC-SHA-512-256 [RFC4868]",
    };
    format!(
        "\"IPv4\",\"{src}\",\"{dst}\",\"0x{spi:08x}\",\"{enc_alg}\",\"{}\",\"{auth_alg}\",\"{}\"",
        hex(enc),
        hex(integ)
    )
}

fn down_reason(r: DownReason) -> &'static str {
    match r {
        DownReason::Local => "deleted locally",
        DownReason::PeerDeleted => "deleted by the peer",
        DownReason::Timeout => "peer not answering",
        DownReason::PeerDead => "dead peer detected",
        DownReason::AuthFailed => "authentication failed",
        DownReason::Expired => "lifetime expired",
        DownReason::PeerRestarted => "peer restarted",
        DownReason::Failed => "negotiation failed",
    }
}

pub(super) fn count_event(c: &mut IpsecCounters, e: &IkeEvent) {
    match e {
        IkeEvent::SaUp { .. } => c.ike_up += 1,
        IkeEvent::IkeRekeyed { .. } => c.ike_rekeys += 1,
        IkeEvent::ChildUp { rekey: true, .. } => c.child_rekeys += 1,
        IkeEvent::AuthFailed { .. } => c.auth_failures += 1,
        IkeEvent::NoProposalChosen { .. }
        | IkeEvent::TsUnacceptable { .. }
        | IkeEvent::RetransmitGiveUp { .. } => c.negotiation_failures += 1,
        IkeEvent::Refused { .. } => c.admission_refused += 1,
        _ => {}
    }
}

/// `%CRYPTO-…` lines for the events an operator must see; the rest under
/// `debug crypto ikev2`.
pub(super) fn log_ike_event(name: &str, e: &IkeEvent, debug: bool) {
    match e {
        IkeEvent::SaUp {
            peer,
            spi,
            initiator,
        } => tracing::info!(
            "%IKEV2-5-SA_UP: {name}: IKEv2 SA with {peer} is UP (spi {spi:016X}, {})",
            if *initiator { "initiator" } else { "responder" }
        ),
        IkeEvent::SaDown { peer, spi, reason } => tracing::info!(
            "%IKEV2-5-SA_DOWN: {name}: IKEv2 SA with {peer} is DOWN (spi {spi:016X}): {}",
            down_reason(*reason)
        ),
        IkeEvent::ChildUp {
            peer,
            spi_in,
            spi_out,
            rekey,
        } => tracing::info!(
            "%CRYPTO-5-IPSEC_SETUP: {name}: IPsec SA with {peer} {} (spi in 0x{spi_in:08X}, out 0x{spi_out:08X})",
            if *rekey { "rekeyed" } else { "established" }
        ),
        IkeEvent::ChildDown { peer, spi_in } => tracing::info!(
            "%CRYPTO-5-IPSEC_DELETE: {name}: IPsec SA with {peer} deleted (spi in 0x{spi_in:08X})"
        ),
        IkeEvent::AuthFailed { peer, by_peer } => tracing::warn!(
            "%IKEV2-3-AUTH_FAILED: {name}: authentication with {peer} failed ({}): check the pre-shared keys of both ends",
            if *by_peer {
                "the peer refused ours"
            } else {
                "the peer's did not verify"
            }
        ),
        IkeEvent::NoProposalChosen { peer, by_peer } => tracing::warn!(
            "%IKEV2-3-NEG_ABORT: {name}: no proposal chosen with {peer} ({}): the two ends share no algorithm",
            if *by_peer { "peer said" } else { "we said" }
        ),
        IkeEvent::RetransmitGiveUp { peer } => {
            tracing::warn!("%IKEV2-3-NEG_ABORT: {name}: {peer} does not answer IKE")
        }
        IkeEvent::Refused { peer } => tracing::warn!(
            "%CRYPTO-4-IKE_DENY_SA_REQ: {name}: IKE SA request from {peer} denied: call admission limit reached (crypto ikev2 limit max-sa)"
        ),
        IkeEvent::PeerDead { peer } => {
            tracing::warn!("%IKEV2-5-DPD: {name}: peer {peer} is dead (DPD)")
        }
        IkeEvent::NatDetected {
            peer,
            local_behind,
            peer_behind,
        } => tracing::info!(
            "%IKEV2-6-NAT: {name}: NAT detected with {peer} ({}{}); IKE and ESP move to UDP 4500",
            if *local_behind {
                "we are behind it"
            } else {
                ""
            },
            if *peer_behind {
                " the peer is behind it"
            } else {
                ""
            }
        ),
        IkeEvent::IkeRekeyed {
            peer,
            old_spi,
            new_spi,
        } => tracing::info!(
            "%IKEV2-5-SA_REKEY: {name}: IKEv2 SA with {peer} rekeyed ({old_spi:016X} -> {new_spi:016X})"
        ),
        other if debug => tracing::info!("IKEv2-DEBUG: {name}: {other:?}"),
        other => tracing::debug!("IKEv2: {name}: {other:?}"),
    }
}

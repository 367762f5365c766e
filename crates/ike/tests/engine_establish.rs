//! Two engines back to back: IKE_SA_INIT + IKE_AUTH with a PSK for each proposal kind and
//! group, keys crosswise, authentication failures, INVALID_KE_PAYLOAD, cookies, proposal
//! and mode mismatches.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod engine_support;

use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};
use dmvpn_ike::{ChildTransform, IkeEvent, IkeProposal, Mode};
use engine_support::{Net, Rec, addr, psk_config};
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn gcm(group: DhGroup) -> IkeProposal {
    IkeProposal {
        encryption: vec![Encryption::AesGcm16 { key_bits: 256 }],
        integrity: vec![],
        prf: vec![Prf::HmacSha256],
        dh_groups: vec![group],
    }
}

fn cbc(group: DhGroup, integ: Integrity, prf: Prf) -> IkeProposal {
    IkeProposal {
        encryption: vec![Encryption::AesCbc { key_bits: 128 }],
        integrity: vec![integ],
        prf: vec![prf],
        dh_groups: vec![group],
    }
}

fn establish(net: &mut Net) {
    net.protect(0, 1);
    net.run_for(secs(5));
    assert!(net.protected(0, 1), "initiator not protected");
    assert!(net.protected(1, 0), "responder not protected");
    net.assert_keys_match(0, 1);
    net.assert_keys_match(1, 0);
    assert_eq!(net.established(0), 1);
    assert_eq!(net.established(1), 1);
}

#[test]
fn default_config_establishes_in_transport_mode() {
    let mut net = Net::pair(1, |_| {});
    establish(&mut net);
    let c = net.nodes[0].installed.values().next().unwrap();
    assert_eq!(c.mode, Mode::Transport);
    assert_eq!(c.peer, addr(1));
    assert_eq!(c.local, addr(0));
    assert_eq!(c.encap, None);
    assert_eq!(c.encryption, Encryption::AesGcm16 { key_bits: 256 });
    assert_eq!(c.replay_window, 64);
    assert_eq!(c.hard_lifetime, secs(3600));
    assert!(c.soft_lifetime < c.hard_lifetime);
    assert_eq!(
        net.nodes[0].log,
        vec![Rec::Install(c.spi_in), Rec::Up(addr(1))]
    );
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::SaUp {
            initiator: true,
            ..
        }
    )));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::SaUp {
            initiator: false,
            ..
        }
    )));
    // Four datagrams: INIT and AUTH, each way.
    assert_eq!(net.nodes[0].sent + net.nodes[1].sent, 4);
    // Protecting again only repeats ProtectionUp.
    net.protect(0, 1);
    assert_eq!(net.nodes[0].log.last(), Some(&Rec::Up(addr(1))));
    assert_eq!(net.nodes[0].sent, 2);
}

#[test]
fn every_ike_suite_and_group() {
    let suites = [
        gcm(DhGroup::Ecp256),
        gcm(DhGroup::Ecp384),
        gcm(DhGroup::Ecp521),
        gcm(DhGroup::Curve25519),
        gcm(DhGroup::Modp2048),
        cbc(
            DhGroup::Modp3072,
            Integrity::HmacSha256_128,
            Prf::HmacSha256,
        ),
        cbc(DhGroup::Ecp256, Integrity::HmacSha256_128, Prf::HmacSha256),
        cbc(
            DhGroup::Curve25519,
            Integrity::HmacSha384_192,
            Prf::HmacSha384,
        ),
        cbc(DhGroup::Ecp384, Integrity::HmacSha512_256, Prf::HmacSha512),
        cbc(DhGroup::Ecp256, Integrity::HmacSha1_96, Prf::HmacSha1),
    ];
    for (n, p) in suites.into_iter().enumerate() {
        let mut net = Net::pair(10 + n as u64, |c| c.proposals = vec![p.clone()]);
        establish(&mut net);
        let sa = &net.nodes[1].engine.sas()[0];
        assert_eq!(sa.dh_group, Some(p.dh_groups[0]));
        assert_eq!(sa.encryption, Some(p.encryption[0]));
    }
}

#[test]
fn every_esp_transform() {
    let transforms = [
        ChildTransform {
            encryption: Encryption::AesGcm16 { key_bits: 128 },
            integrity: None,
        },
        ChildTransform {
            encryption: Encryption::AesCbc { key_bits: 256 },
            integrity: Some(Integrity::HmacSha512_256),
        },
        ChildTransform {
            encryption: Encryption::AesCbc { key_bits: 128 },
            integrity: Some(Integrity::HmacSha1_96),
        },
    ];
    for (n, t) in transforms.into_iter().enumerate() {
        let mut net = Net::pair(30 + n as u64, |c| {
            c.child_transforms = vec![t];
            c.esn = n == 1;
        });
        establish(&mut net);
        let c = net.nodes[0].installed.values().next().unwrap();
        assert_eq!(c.encryption, t.encryption);
        assert_eq!(c.integrity, t.integrity);
        assert_eq!(c.esn, n == 1);
        assert_eq!(c.enc_key_in.len(), t.encryption.keymat_len());
    }
}

#[test]
fn responder_picks_the_first_initiator_proposal_it_accepts() {
    let mut a = psk_config(b"k");
    let mut b = psk_config(b"k");
    a.proposals = vec![
        gcm(DhGroup::Ecp384),
        cbc(DhGroup::Ecp256, Integrity::HmacSha256_128, Prf::HmacSha256),
    ];
    b.proposals = vec![
        cbc(DhGroup::Ecp256, Integrity::HmacSha256_128, Prf::HmacSha256),
        gcm(DhGroup::Ecp384),
    ];
    let mut net = Net::new(40, vec![a, b]);
    establish(&mut net);
    assert_eq!(
        net.nodes[0].engine.sas()[0].encryption,
        Some(Encryption::AesGcm16 { key_bits: 256 })
    );
}

#[test]
fn wrong_psk_fails_on_both_sides_without_child() {
    let mut net = Net::new(50, vec![psk_config(b"right"), psk_config(b"wrong")]);
    net.protect(0, 1);
    net.run_for(secs(5));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::AuthFailed { by_peer: false, .. }
    )));
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::AuthFailed { by_peer: true, .. }
    )));
    for n in &net.nodes {
        assert!(n.installed.is_empty());
        assert!(!n.log.iter().any(|r| matches!(r, Rec::Install(_))));
    }
    assert!(!net.protected(0, 1));
    // The initiator retries later (still wanted) and keeps failing; nothing comes up and
    // the responder's failed SAs go away.
    net.run_for(secs(200));
    assert!(
        net.nodes[0]
            .events
            .iter()
            .filter(|e| matches!(e, IkeEvent::AuthFailed { .. }))
            .count()
            > 2
    );
    assert_eq!(net.established(1), 0);
    assert!(net.nodes[1].engine.sas().len() <= 2);
    assert!(net.nodes[1].installed.is_empty());
}

#[test]
fn initiator_detects_a_bad_responder_auth() {
    // Asymmetric keys: the responder checks the initiator with "a" and signs with "x"; the
    // initiator expects "b" from the responder.
    use dmvpn_ike::{Authenticator, Keyring, KeyringEntry};
    let ring = |local: &[u8], remote: &[u8]| {
        let mut k = Keyring::default();
        k.push(
            KeyringEntry::asymmetric(std::net::Ipv4Addr::UNSPECIFIED, 0, local, remote).unwrap(),
        );
        let mut c = psk_config(b"unused");
        c.auth = Authenticator::Psk(k);
        c
    };
    let mut net = Net::new(51, vec![ring(b"a", b"b"), ring(b"x", b"a")]);
    net.protect(0, 1);
    net.run_for(secs(5));
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::AuthFailed { by_peer: false, .. }
    )));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::AuthFailed { by_peer: true, .. }
    )));
    assert!(net.nodes[0].installed.is_empty());
    assert!(net.nodes[1].installed.is_empty());
    assert!(!net.protected(1, 0));
}

#[test]
fn invalid_ke_payload_restarts_with_the_requested_group() {
    let mut a = psk_config(PSK_A);
    let mut b = psk_config(PSK_A);
    a.proposals = vec![IkeProposal {
        dh_groups: vec![DhGroup::Ecp256, DhGroup::Curve25519],
        ..gcm(DhGroup::Ecp256)
    }];
    b.proposals = vec![gcm(DhGroup::Curve25519)];
    let mut net = Net::new(60, vec![a, b]);
    establish(&mut net);
    assert!(net.has_event(0, |e| matches!(e, IkeEvent::InvalidKe { group: 31, .. })));
    assert_eq!(
        net.nodes[0].engine.sas()[0].dh_group,
        Some(DhGroup::Curve25519)
    );
}

const PSK_A: &[u8] = b"shared";

#[test]
fn no_common_proposal() {
    let mut a = psk_config(PSK_A);
    let mut b = psk_config(PSK_A);
    a.proposals = vec![gcm(DhGroup::Ecp256)];
    b.proposals = vec![cbc(
        DhGroup::Ecp256,
        Integrity::HmacSha256_128,
        Prf::HmacSha256,
    )];
    let mut net = Net::new(61, vec![a, b]);
    net.protect(0, 1);
    net.run_for(secs(3));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::NoProposalChosen { by_peer: false, .. }
    )));
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::NoProposalChosen { by_peer: true, .. }
    )));
    assert!(net.nodes[1].engine.sas().is_empty());
}

#[test]
fn esp_mismatch_keeps_no_sa() {
    let mut a = psk_config(PSK_A);
    let mut b = psk_config(PSK_A);
    a.child_transforms = vec![ChildTransform {
        encryption: Encryption::AesGcm16 { key_bits: 128 },
        integrity: None,
    }];
    b.child_transforms = vec![ChildTransform {
        encryption: Encryption::AesGcm16 { key_bits: 256 },
        integrity: None,
    }];
    let mut net = Net::new(62, vec![a, b]);
    net.protect(0, 1);
    net.run_for(secs(3));
    assert!(net.has_event(0, |e| matches!(
        e,
        IkeEvent::NoProposalChosen { by_peer: true, .. }
    )));
    assert!(!net.protected(0, 1));
    assert_eq!(net.established(0), 0);
    assert_eq!(net.established(1), 0);
}

#[test]
fn tunnel_mode_fallback_and_transport_require() {
    // The responder wants tunnel mode: the initiator accepts it unless it requires transport.
    let mut a = psk_config(PSK_A);
    let mut b = psk_config(PSK_A);
    b.mode = Mode::Tunnel;
    let mut net = Net::new(63, vec![a.clone(), b.clone()]);
    establish(&mut net);
    assert_eq!(
        net.nodes[0].installed.values().next().unwrap().mode,
        Mode::Tunnel
    );

    a.transport_require = true;
    let mut net = Net::new(64, vec![a.clone(), b]);
    net.protect(0, 1);
    net.run_for(secs(3));
    assert!(!net.protected(0, 1));

    // A responder that requires transport refuses an initiator that wants tunnel mode.
    let mut c = psk_config(PSK_A);
    c.mode = Mode::Tunnel;
    let mut net = Net::new(65, vec![c, a]);
    net.protect(0, 1);
    net.run_for(secs(3));
    assert!(net.has_event(1, |e| matches!(
        e,
        IkeEvent::NoProposalChosen { by_peer: false, .. }
    )));
    assert!(!net.protected(0, 1));
}

#[test]
fn cookie_when_half_open_sas_exceed_the_threshold() {
    let mut net = Net::pair(70, |c| c.limits.cookie_threshold = 0);
    establish(&mut net);
    assert!(net.has_event(1, |e| matches!(e, IkeEvent::CookieSent { .. })));
    // INIT, INIT with cookie, AUTH from the initiator.
    assert_eq!(net.nodes[0].sent, 3);
}

#[test]
fn pfs_and_esn_negotiate() {
    let mut net = Net::pair(71, |c| {
        c.pfs = Some(DhGroup::Ecp256);
        c.esn = true;
    });
    establish(&mut net);
    assert!(net.nodes[0].installed.values().all(|c| c.esn));
}

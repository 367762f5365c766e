//! Two node cores, a hub and a spoke, joined by their fake data planes: IKE datagrams and
//! NHRP packets are carried across by the test, time is the test's. NHRP and IKE together,
//! deterministic and without sockets: the spoke's Registration Request waits for its Child
//! SA, both ends install matching SAs, and `clear crypto session` tears them down and NHRP
//! gets them built again.

use std::net::SocketAddrV4;

use super::*;

const CRYPTO: &str = "\
crypto ikev2 keyring K
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key k3y
crypto ikev2 profile I
 match identity remote address 0.0.0.0
 authentication local pre-share
 authentication remote pre-share
 keyring local K
crypto ipsec transform-set T esp-gcm 256
 mode transport
crypto ipsec profile P
 set transform-set T
 set ikev2-profile I
";

/// `text` with a PSK IKEv2 profile protecting its Tunnel0.
pub(super) fn protected(text: &str) -> String {
    format!(
        "{CRYPTO}{}",
        text.replace(
            " tunnel key 100000\n",
            " tunnel key 100000\n tunnel protection ipsec profile P\n"
        )
    )
}

/// Carries everything each side sent to the other, until nothing moves; returns how many
/// datagrams and packets crossed.
fn exchange(hub: &mut Node, spoke: &mut Node, now: Instant) -> usize {
    let mut moved = 0;
    for _ in 0..50 {
        let mut any = false;
        for (from, to, from_nbma, to_nbma) in [
            (0usize, 1usize, HUB_NBMA, SPOKE_NBMA),
            (1, 0, SPOKE_NBMA, HUB_NBMA),
        ] {
            let calls = if from == 0 {
                hub.fake(0).take_calls()
            } else {
                spoke.fake(0).take_calls()
            };
            let target = if to == 0 { &mut *hub } else { &mut *spoke };
            for c in calls {
                let event = match c {
                    Call::SendIke(port, remote, message) if *remote.ip() == to_nbma => Event::Ike {
                        local: SocketAddrV4::new(to_nbma, remote.port()),
                        remote: SocketAddrV4::new(from_nbma, port),
                        message,
                    },
                    Call::SendNhrp(peer, packet) if peer == to_nbma => Event::Nhrp {
                        source: from_nbma,
                        packet,
                    },
                    _ => continue,
                };
                any = true;
                moved += 1;
                target.core.handle_event(now, 0, event);
            }
        }
        if !any {
            break;
        }
    }
    moved
}

fn child_sas(n: &Node) -> Vec<(u32, u32)> {
    n.core
        .ipsec_groups()
        .flat_map(|i| i.sad.snapshot(std::time::Duration::ZERO))
        .map(|s| (s.spi_in, s.spi_out))
        .collect()
}

#[test]
fn registration_waits_for_the_child_sa_and_both_ends_agree() {
    let mut hub = node(&protected(HUB), HUB_NBMA);
    let mut spoke = node(&protected(SPOKE), SPOKE_NBMA);
    // At start the spoke wants to register: IKE goes out, NHRP does not.
    let first = spoke.fake(0).calls();
    assert!(
        first
            .iter()
            .any(|c| matches!(c, Call::SendIke(500, r, _) if *r.ip() == HUB_NBMA)),
        "no IKE_SA_INIT towards the hub: {first:?}"
    );
    assert!(
        sent_of_type(spoke.fake(0), PacketType::RegistrationRequest).is_empty(),
        "a Registration Request left before its SA"
    );
    let now = Instant::from_millis(10);
    assert!(exchange(&mut hub, &mut spoke, now) > 0);
    // The hub registered the spoke, over SAs both ends hold, mirrored.
    assert!(
        hub.core
            .engine()
            .cache_entries(None)
            .iter()
            .any(|e| e.prefix.addr() == SPOKE_TUNNEL && e.nbma == Some(SPOKE_NBMA)),
        "the hub has no registration of the spoke"
    );
    let (h, s) = (child_sas(&hub), child_sas(&spoke));
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(
        s,
        vec![(h[0].1, h[0].0)],
        "the two ends' SPIs do not mirror"
    );
    let show = hub.core.on_control(
        now,
        &mgmt::encode_request(&mgmt::Request::ShowCryptoSession(mgmt::ShowCryptoSession {
            detail: false,
        })),
    );
    assert!(show.contains("up_active"), "{show}");

    // clear crypto session on the hub: the SAs go; the spoke's NHRP wants its NHS, so IKE
    // is negotiated again and both ends hold one new pair.
    let later = Instant::from_secs(2);
    let cleared = hub.core.on_control(
        later,
        &mgmt::encode_request(&mgmt::Request::ClearCryptoSession(
            mgmt::ClearCryptoSession { remote: None },
        )),
    );
    assert!(cleared.contains("\"affected\":1"), "{cleared}");
    exchange(&mut hub, &mut spoke, later);
    // The spoke's engine retries after its reconnect delay; run its timers.
    for step in 1..=40u64 {
        let t = Instant::from_secs(2 + step);
        spoke.core.handle_timeout(t);
        hub.core.handle_timeout(t);
        exchange(&mut hub, &mut spoke, t);
        if child_sas(&hub).len() == 1 && child_sas(&spoke).len() == 1 {
            break;
        }
    }
    let (h2, s2) = (child_sas(&hub), child_sas(&spoke));
    assert_eq!(h2.len(), 1, "{h2:?}");
    assert_ne!(h2, h, "the old pair survived the clear");
    assert_eq!(s2, vec![(h2[0].1, h2[0].0)]);
}

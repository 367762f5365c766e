//! Seed 000's registration retry schedule, observed on the wire: an NHC
//! whose NHS never answers retransmits after 1, 2, 4, 8, 16, 32 and 64 s,
//! then every 64 s; the NHS is DOWN after three unanswered requests and UP
//! again on the first reply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use dmvpn_nhrp::{Event, NhsState};
use dmvpn_sim::trace::nhrp_type::*;
use std::time::Duration;

#[test]
fn registration_retry_schedule_and_nhs_down_up() {
    let Seed003 {
        mut lab, hub, s1, ..
    } = seed003(13, Phase::Two, |_, _| {});
    lab.kill(hub);
    lab.run_for(secs(600)).unwrap();
    let times: Vec<Duration> = sent(
        &lab,
        s1,
        REGISTRATION_REQUEST,
        Some(ip(HUB_N)),
        Duration::ZERO,
    )
    .iter()
    .map(|e| e.at)
    .collect();
    assert!(times.len() >= 10, "{times:?}");
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(
        &gaps[..9],
        &[1, 2, 4, 8, 16, 32, 64, 64, 64],
        "retry gaps {gaps:?}"
    );
    // DOWN after three unanswered requests, i.e. once the third one timed out.
    let down_at = lab
        .events(s1)
        .iter()
        .find(|(_, e)| matches!(e, Event::NhsDown { nhs, .. } if *nhs == ip(HUB_T)))
        .map(|(t, _)| *t)
        .expect("NHS DOWN event");
    assert!(
        down_at >= times[2] && down_at <= times[3],
        "DOWN at {down_at:?}, requests at {times:?}"
    );
    assert_eq!(lab.nhs_state(s1, ip(HUB_T)), Some(NhsState::Down));

    // The hub comes back: the next retry is answered and the NHS is UP.
    lab.restart(hub).unwrap();
    assert!(
        wait_registered(&mut lab, &[s1], secs(65)),
        "UP on the first reply"
    );
    assert!(lab.saw(
        s1,
        |e| matches!(e, Event::NhsUp { nhs, .. } if *nhs == ip(HUB_T))
    ));
}

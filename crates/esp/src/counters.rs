//! Per-SA counters, kept in atomics on the data path and read as a [`SaCounters`]
//! snapshot in the words of Cisco's `show crypto ipsec sa` (`#pkts encaps`, `#pkts
//! decaps`, `#send errors`, `#recv errors`, replay and authentication failures).

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one SA pair, as `show crypto ipsec sa` prints them. ESP here encrypts
/// and computes the digest in one operation, so `encaps`, `encrypt` and `digest` are equal,
/// as are `decaps`, `decrypt` and `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaCounters {
    /// `#pkts encaps`: packets protected.
    pub pkts_encaps: u64,
    /// `#pkts encrypt`.
    pub pkts_encrypt: u64,
    /// `#pkts digest`.
    pub pkts_digest: u64,
    /// Payload bytes protected.
    pub bytes_encaps: u64,
    /// `#send errors`: packets that could not be protected (no room, sequence numbers
    /// exhausted, hard volume limit).
    pub send_errors: u64,
    /// `#pkts replay rollover (send)`: packets refused because the sequence number would
    /// cycle.
    pub sequence_exhausted: u64,
    /// `#pkts decaps`: packets authenticated, decrypted and accepted.
    pub pkts_decaps: u64,
    /// `#pkts decrypt`.
    pub pkts_decrypt: u64,
    /// `#pkts verify`.
    pub pkts_verify: u64,
    /// Payload bytes accepted.
    pub bytes_decaps: u64,
    /// `#recv errors`: every refused inbound packet of this SA.
    pub recv_errors: u64,
    /// `#pkts replay failed (rcv)`.
    pub replay_failures: u64,
    /// `#pkts verify failed`: ICV (authentication) failures.
    pub auth_failures: u64,
    /// Decrypted packets with invalid padding.
    pub padding_errors: u64,
    /// `#pkts invalid len (rcv)`: too short or not block-aligned.
    pub invalid_length: u64,
    /// `#pkts invalid prot (recv)`: a Next Header other than the mode's (47 or 4).
    pub invalid_protocol: u64,
    /// `#pkts invalid identity (recv)`: tunnel mode, an inner header that is not GRE
    /// between the SA's addresses.
    pub invalid_identity: u64,
    /// Dummy packets (Next Header 59) dropped silently; not errors.
    pub dummy_packets: u64,
}

/// The atomic counters behind [`SaCounters`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) encaps: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) sequence_exhausted: AtomicU64,
    pub(crate) decaps: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) replay: AtomicU64,
    pub(crate) auth: AtomicU64,
    pub(crate) padding: AtomicU64,
    pub(crate) length: AtomicU64,
    pub(crate) protocol: AtomicU64,
    pub(crate) identity: AtomicU64,
    pub(crate) dummy: AtomicU64,
}

/// Adds one to `c`.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to `c`.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Reads `c`.
pub(crate) fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Counters {
    /// A snapshot of the outbound half's counters merged with the inbound half's.
    pub(crate) fn snapshot(out: &Counters, inb: &Counters) -> SaCounters {
        let encaps = get(&out.encaps);
        let decaps = get(&inb.decaps);
        let replay = get(&inb.replay);
        let auth = get(&inb.auth);
        let padding = get(&inb.padding);
        let length = get(&inb.length);
        let protocol = get(&inb.protocol);
        let identity = get(&inb.identity);
        SaCounters {
            pkts_encaps: encaps,
            pkts_encrypt: encaps,
            pkts_digest: encaps,
            bytes_encaps: get(&out.bytes_out),
            send_errors: get(&out.send_errors),
            sequence_exhausted: get(&out.sequence_exhausted),
            pkts_decaps: decaps,
            pkts_decrypt: decaps,
            pkts_verify: decaps,
            bytes_decaps: get(&inb.bytes_in),
            recv_errors: replay
                .saturating_add(auth)
                .saturating_add(padding)
                .saturating_add(length)
                .saturating_add(protocol)
                .saturating_add(identity),
            replay_failures: replay,
            auth_failures: auth,
            padding_errors: padding,
            invalid_length: length,
            invalid_protocol: protocol,
            invalid_identity: identity,
            dummy_packets: get(&inb.dummy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_receive_errors() {
        let (o, i) = (Counters::default(), Counters::default());
        bump(&o.encaps);
        add(&o.bytes_out, 100);
        bump(&i.replay);
        bump(&i.auth);
        bump(&i.dummy);
        let s = Counters::snapshot(&o, &i);
        assert_eq!((s.pkts_encaps, s.pkts_digest, s.bytes_encaps), (1, 1, 100));
        assert_eq!((s.recv_errors, s.dummy_packets), (2, 1));
    }
}

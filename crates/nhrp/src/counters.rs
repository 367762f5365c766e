//! Traffic counters per interface: sent and received per packet type, reply codes per type,
//! Error Indication codes, drop reasons and max-send quota use — what `show ip nhrp traffic`
//! prints.

use crate::error::DropReason;
use crate::packet::{Message, PacketType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-direction counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketCounts {
    /// All packets.
    pub total: u64,
    /// Resolution Requests.
    pub resolution_request: u64,
    /// Resolution Replies.
    pub resolution_reply: u64,
    /// Registration Requests.
    pub registration_request: u64,
    /// Registration Replies.
    pub registration_reply: u64,
    /// Purge Requests.
    pub purge_request: u64,
    /// Purge Replies.
    pub purge_reply: u64,
    /// Error Indications.
    pub error_indication: u64,
    /// Traffic Indications.
    pub traffic_indication: u64,
    /// Resolution Reply CIE codes (0 acknowledged, 4 prohibited, 5 insufficient resources,
    /// 12 no binding, 13 not unique).
    pub resolution_reply_codes: BTreeMap<u8, u64>,
    /// Registration Reply CIE codes (0, 4, 5, 14 already registered).
    pub registration_reply_codes: BTreeMap<u8, u64>,
    /// Error Indication codes (RFC 2332 §5.2.7).
    pub error_codes: BTreeMap<u16, u64>,
    /// Packets of a type RFC 2332 does not define (received only; included in `total`).
    #[serde(default)]
    pub other: u64,
}

impl PacketCounts {
    /// The count for one type.
    pub fn of(&self, t: PacketType) -> u64 {
        match t {
            PacketType::ResolutionRequest => self.resolution_request,
            PacketType::ResolutionReply => self.resolution_reply,
            PacketType::RegistrationRequest => self.registration_request,
            PacketType::RegistrationReply => self.registration_reply,
            PacketType::PurgeRequest => self.purge_request,
            PacketType::PurgeReply => self.purge_reply,
            PacketType::ErrorIndication => self.error_indication,
            PacketType::TrafficIndication => self.traffic_indication,
        }
    }

    /// Counts a packet of an unknown type.
    pub(crate) fn count_other(&mut self) {
        self.total += 1;
        self.other += 1;
    }

    pub(crate) fn count(&mut self, m: &Message) {
        self.total += 1;
        let slot = match m.ptype {
            PacketType::ResolutionRequest => &mut self.resolution_request,
            PacketType::ResolutionReply => &mut self.resolution_reply,
            PacketType::RegistrationRequest => &mut self.registration_request,
            PacketType::RegistrationReply => &mut self.registration_reply,
            PacketType::PurgeRequest => &mut self.purge_request,
            PacketType::PurgeReply => &mut self.purge_reply,
            PacketType::ErrorIndication => &mut self.error_indication,
            PacketType::TrafficIndication => &mut self.traffic_indication,
        };
        *slot += 1;
        match m.ptype {
            PacketType::ResolutionReply => {
                for c in &m.cies {
                    *self.resolution_reply_codes.entry(c.code).or_insert(0) += 1;
                }
            }
            PacketType::RegistrationReply => {
                for c in &m.cies {
                    *self.registration_reply_codes.entry(c.code).or_insert(0) += 1;
                }
            }
            PacketType::ErrorIndication => {
                *self.error_codes.entry(m.error_code()).or_insert(0) += 1;
            }
            PacketType::ResolutionRequest
            | PacketType::RegistrationRequest
            | PacketType::PurgeRequest
            | PacketType::PurgeReply
            | PacketType::TrafficIndication => {}
        }
    }
}

/// `show ip nhrp traffic` for one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficStats {
    /// Sent packets.
    pub sent: PacketCounts,
    /// Received packets (after parsing and authentication).
    pub rcvd: PacketCounts,
    /// Max-send limit in packets, if enabled.
    pub max_send_limit: Option<u32>,
    /// Max-send interval in seconds.
    pub max_send_interval_secs: u64,
    /// Packets sent in the current max-send window.
    pub max_send_used: u32,
    /// Usage of the quota in percent (IOS `Usage:`).
    pub max_send_usage_percent: u32,
    /// Packets held back because the quota was used up.
    pub max_send_dropped: u64,
    /// Received packets dropped, per reason.
    pub drops: BTreeMap<DropReason, u64>,
    /// Packets waiting for protection to come up.
    pub protection_queued: u64,
    /// Resolutions not started because [`crate::MAX_PENDING_RESOLUTIONS`] were in flight.
    pub resolutions_suppressed: u64,
    // Flood budgets (see the `budget` module).
    /// Packets in the established peers' bucket (replies to registered spokes), which has
    /// the size of the max-send quota.
    #[serde(default)]
    pub max_send_established_used: u32,
    /// Replies to established peers sent from their own budget.
    #[serde(default)]
    pub max_send_established_sent: u64,
    /// Replies to established peers held back because their budget was used up too.
    #[serde(default)]
    pub max_send_established_dropped: u64,
}

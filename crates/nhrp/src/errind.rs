//! Error Indications (RFC 2332 §5.2.7): sent for authentication failures (11), loops (3),
//! hop count exceeded (15) and unrecognized compulsory extensions (1) — never in answer to an
//! Error Indication — carrying the offending packet and no extensions; received ones are
//! counted, reported, and end the request they refer to when it is a resolution or purge.

use crate::action::Event;
use crate::config::IfIndex;
use crate::engine::{DEFAULT_HOP_COUNT, Engine};
use crate::error::{DropReason, may_send_error_for};
use crate::packet::{Message, PacketType, error_code};
use crate::reqid::PendingKind;
use crate::timer::TimerKey;
use std::net::Ipv4Addr;

/// Bytes of the offending packet echoed in an Error Indication.
pub(crate) const ERROR_PAYLOAD_MAX: usize = 1024;
/// Offset of the Request ID inside an NHRP packet.
const REQUEST_ID_OFFSET: usize = 24;

impl Engine {
    /// Send an Error Indication about `offending` (received as `raw` from outer source `to`) to
    /// the packet's originator: `to` itself unless the packet was forwarded by an NHS.
    pub(crate) fn send_error(
        &mut self,
        i: IfIndex,
        to: Ipv4Addr,
        code: u16,
        offset: u16,
        offending: &Message,
        raw: &[u8],
    ) {
        if !may_send_error_for(offending.ptype) {
            return;
        }
        // RFC 2332 §5.2.7: to the station that originated the packet in error.
        let to = self.requester_nbma(i, offending, to);
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        let mut m = Message::new(
            PacketType::ErrorIndication,
            DEFAULT_HOP_COUNT,
            ifc.cfg.nbma_addr,
            ifc.cfg.protocol_addr,
            offending.src_proto,
        );
        m.request_id = (u32::from(code) << 16) | u32::from(offset);
        m.payload = raw.get(..ERROR_PAYLOAD_MAX).unwrap_or(raw).to_vec();
        if self.send_msg(i, to, &m) {
            self.event(Event::ErrorSent { iface: i, to, code });
        }
    }

    /// Drop a packet that parsed but breaks its type's rules, and tell the sender (code 7).
    pub(crate) fn protocol_error(&mut self, i: IfIndex, from: Ipv4Addr, m: &Message) {
        self.drop_packet(i, from, DropReason::ProtocolError);
        let raw = crate::codec::encode(m).unwrap_or_default();
        self.send_error(i, from, error_code::PROTOCOL_ERROR, 0, m, &raw);
    }

    pub(crate) fn on_error_indication(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let code = m.error_code();
        self.event(Event::ErrorReceived {
            iface: i,
            from,
            code,
        });
        let id = m
            .payload
            .get(REQUEST_ID_OFFSET..REQUEST_ID_OFFSET + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes);
        let Some(id) = id else { return };
        let Some(p) = self.reqids.pending.get(&id).filter(|p| p.iface == i) else {
            return;
        };
        match p.kind.clone() {
            // Unreachable, and loops or hop-count exhaustion (which retries would only repeat):
            // give up at once.
            PendingKind::Resolution { target }
                if matches!(
                    code,
                    error_code::PROTOCOL_ADDRESS_UNREACHABLE
                        | error_code::LOOP_DETECTED
                        | error_code::HOP_COUNT_EXCEEDED
                ) =>
            {
                self.reqids.pending.remove(&id);
                self.timers.cancel(TimerKey::Retransmit { reqid: id });
                self.resolution_failed(i, target, Some(code as u8));
            }
            PendingKind::Purge => {
                self.reqids.pending.remove(&id);
                self.timers.cancel(TimerKey::Retransmit { reqid: id });
            }
            // Registrations and other resolutions keep retrying: the cause (e.g. an
            // authentication mismatch) may be fixed on the other side.
            _ => {}
        }
    }
}

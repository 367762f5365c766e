//! Phase 3 redirect (Cisco Traffic Indication, draft-detienne-dmvpn-01).
//!
//! * Hub (`ip nhrp redirect`): a packet from the tunnel forwarded back into it makes the hub
//!   send a Traffic Indication to the source's station — hop count 1 (Cisco rejects 0),
//!   traffic code 0, destination protocol address = the packet's source, payload = the start
//!   of the packet — at most once per [`REDIRECT_HOLDOFF`] per (source, destination) pair.
//! * Spoke (`ip nhrp shortcut`): a Traffic Indication starts the resolution of the embedded
//!   packet's destination; the answer installs a shortcut route.

use crate::action::{Event, RemoveReason};
use crate::cache::EntryKind;
use crate::config::IfIndex;
use crate::engine::{DIRECT_HOP_COUNT, Engine};
use crate::error::DropReason;
use crate::packet::{Message, PacketType};
use crate::resolution::NEGATIVE_HOLD_MIN;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Minimum time between two redirects for one (source, destination) pair.
pub const REDIRECT_HOLDOFF: Duration = Duration::from_secs(5);
/// Bytes of the offending packet carried in a Traffic Indication.
pub(crate) const REDIRECT_PAYLOAD_MAX: usize = 128;
/// Pairs remembered before stale ones are swept.
const LIMITER_SWEEP_AT: usize = 4096;

/// The (source, destination) of an embedded IPv4 packet, if it is one.
pub(crate) fn inner_ipv4(packet: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let s: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
    let d: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
    Some((Ipv4Addr::from(s), Ipv4Addr::from(d)))
}

impl Engine {
    pub(crate) fn on_hairpin(
        &mut self,
        i: IfIndex,
        from: Option<Ipv4Addr>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        packet: &[u8],
    ) {
        let now = self.now;
        let Some(ifc) = self.ifaces.get_mut(&i) else {
            return;
        };
        if !ifc.cfg.redirect {
            return;
        }
        if ifc
            .redirects
            .get(&(src, dst))
            .is_some_and(|t| now.saturating_duration_since(*t) < REDIRECT_HOLDOFF)
        {
            return;
        }
        if ifc.redirects.len() >= LIMITER_SWEEP_AT {
            ifc.redirects
                .retain(|_, t| now.saturating_duration_since(*t) < REDIRECT_HOLDOFF);
        }
        // The station the source sits behind: a binding for it, or the route's next hop.
        let to = from.or_else(|| {
            ifc.cache
                .lookup(src)
                .filter(|e| e.is_complete())
                .and_then(|e| e.nbma)
                .or_else(|| {
                    ifc.route(src)
                        .and_then(|h| ifc.cache.lookup(h))
                        .filter(|e| e.is_complete())
                        .and_then(|e| e.nbma)
                })
        });
        let Some(to) = to else { return };
        ifc.redirects.insert((src, dst), now);
        let mut m = Message::new(
            PacketType::TrafficIndication,
            DIRECT_HOP_COUNT,
            ifc.cfg.nbma_addr,
            ifc.cfg.protocol_addr,
            src,
        );
        m.payload = packet
            .get(..REDIRECT_PAYLOAD_MAX)
            .unwrap_or(packet)
            .to_vec();
        self.stamp_auth(i, &mut m);
        if self.send_msg(i, to, &m) {
            self.event(Event::RedirectSent { iface: i, src, dst });
        }
    }

    pub(crate) fn on_traffic_indication(&mut self, i: IfIndex, from: Ipv4Addr, m: Message) {
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        if !ifc.cfg.shortcut {
            return self.drop_packet(i, from, DropReason::NotEnabled);
        }
        let Some((_, dst)) = inner_ipv4(&m.payload) else {
            return self.protocol_error(i, from, &m);
        };
        self.event(Event::RedirectReceived { iface: i, dst });
        let Some(ifc) = self.ifaces.get(&i) else {
            return;
        };
        if ifc.local_prefix(dst).is_some() {
            return;
        }
        // A negative answer older than the minimum negative hold gives way to a new redirect:
        // the hub sees the traffic hairpin, so the destination may be reachable again.
        let now = self.now;
        match ifc.cache.lookup(dst) {
            None => {}
            Some(e)
                if e.kind == EntryKind::Negative
                    && now.saturating_duration_since(e.created) >= NEGATIVE_HOLD_MIN =>
            {
                let p = e.prefix;
                self.remove_entry(i, p, RemoveReason::Replaced);
            }
            Some(_) => return,
        }
        self.start_resolution(i, dst, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_packet_addresses() {
        let mut p = vec![
            0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 192, 168, 1, 2, 192, 168, 2, 3,
        ];
        assert_eq!(
            inner_ipv4(&p),
            Some((Ipv4Addr::new(192, 168, 1, 2), Ipv4Addr::new(192, 168, 2, 3)))
        );
        p[0] = 0x60;
        assert_eq!(inner_ipv4(&p), None);
        assert_eq!(inner_ipv4(&p[..10]), None);
        assert_eq!(inner_ipv4(&[]), None);
    }
}

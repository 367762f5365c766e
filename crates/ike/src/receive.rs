//! The receive path: demultiplexing a datagram to its IKE SA by SPI (RFC 7296 §2.6), the
//! message-ID window (§2.3: the next request is processed, the previous one gets the cached
//! response again, anything else is dropped), decryption and reassembly, NAT port
//! floating (§2.23), and dispatch to the exchange handlers. One place checks "expected X,
//! got Y".

use crate::codec::{self, DecodeError};
use crate::engine::IkeEngine;
use crate::msg::{Message, exchange, notify};
use crate::output::{DropReason, IkeEvent};
use crate::sa::{Pending, Phase, SaId};
use std::net::SocketAddrV4;

impl IkeEngine {
    pub(crate) fn receive(&mut self, local: SocketAddrV4, remote: SocketAddrV4, bytes: &[u8]) {
        if bytes == [0xFF] {
            return; // a NAT keepalive
        }
        let hdr = match codec::peek(bytes) {
            Ok(h) => h,
            Err(DecodeError::Version) => {
                return self.dropped(remote, DropReason::Version);
            }
            Err(_) => return self.dropped(remote, DropReason::Malformed),
        };
        if hdr.exchange == exchange::IKE_SA_INIT {
            if hdr.response {
                self.on_init_response(local, remote, &hdr, bytes);
            } else {
                self.on_init_request(local, remote, &hdr, bytes);
            }
            return;
        }
        let (ours, theirs) = if hdr.from_initiator {
            (hdr.spi_r, hdr.spi_i)
        } else {
            (hdr.spi_i, hdr.spi_r)
        };
        let Some(&id) = self.by_spi.get(&ours) else {
            return self.dropped(remote, DropReason::UnknownSpi);
        };
        let Some(sa) = self.sas.get_mut(&id) else {
            return;
        };
        let their_spi = if sa.initiator { sa.spi_r } else { sa.spi_i };
        if their_spi != theirs || hdr.from_initiator == sa.initiator || remote.ip() != &sa.peer {
            return self.dropped(remote, DropReason::UnknownSpi);
        }
        // Window checks before the (costly) decryption.
        if hdr.response {
            let expected = sa.outstanding.as_ref().map(|o| o.msg_id);
            if expected != Some(hdr.msg_id) {
                return self.dropped(remote, DropReason::StrayResponse);
            }
        } else {
            let next = sa.peer_msg_id;
            let previous = next.wrapping_sub(1);
            let resend = sa
                .last_response
                .as_ref()
                .is_some_and(|(m, _)| *m == hdr.msg_id);
            if hdr.msg_id != next && !(hdr.msg_id == previous && resend) {
                return self.dropped(remote, DropReason::MessageId);
            }
        }
        let Some(keys) = sa.keys.as_ref() else {
            return self.dropped(remote, DropReason::Unexpected);
        };
        let decoded = codec::decode_encrypted(bytes, &keys.inn, &mut sa.reassembly);
        let msg = match decoded {
            Ok(Some(m)) => m,
            Ok(None) => return, // a fragment; more to come
            Err(DecodeError::Integrity) => return self.dropped(remote, DropReason::Integrity),
            Err(_) => return self.dropped(remote, DropReason::Malformed),
        };
        // Authenticated: note the peer is alive, follow its NAT mapping and our port.
        sa.last_rx = self.now;
        if sa.nat() && sa.remote != remote {
            sa.remote = remote;
        }
        if local.ip() == sa.local.ip() {
            sa.local = local;
        }
        if msg.response {
            self.on_response(id, msg);
        } else if msg.msg_id != sa.peer_msg_id {
            self.resend_response(id, msg.msg_id);
        } else {
            self.on_request(id, msg);
        }
    }

    fn dropped(&mut self, remote: SocketAddrV4, reason: DropReason) {
        self.event(IkeEvent::Dropped {
            peer: *remote.ip(),
            reason,
        });
    }

    /// A new request from the peer (the expected message ID).
    fn on_request(&mut self, id: SaId, msg: Message) {
        if let Some(t) = msg.unsupported_critical() {
            let p = vec![crate::msg::Payload::Notify {
                protocol: 0,
                spi: Vec::new(),
                ntype: notify::UNSUPPORTED_CRITICAL_PAYLOAD,
                data: vec![t],
            }];
            return self.send_response(id, &msg, p);
        }
        let Some(sa) = self.sas.get(&id) else {
            return;
        };
        let half_open = matches!(sa.phase, Phase::InitReplied);
        match msg.exchange {
            exchange::IKE_AUTH if half_open && msg.msg_id == 1 => self.on_auth_request(id, &msg),
            _ if half_open => {
                let peer = sa.peer;
                self.event(IkeEvent::Dropped {
                    peer,
                    reason: DropReason::Unexpected,
                });
            }
            exchange::CREATE_CHILD_SA => self.on_create_child_request(id, &msg),
            exchange::INFORMATIONAL => self.on_informational_request(id, &msg),
            _ => {
                let peer = sa.peer;
                self.event(IkeEvent::Dropped {
                    peer,
                    reason: DropReason::Unexpected,
                });
            }
        }
    }

    /// The response to our outstanding request.
    fn on_response(&mut self, id: SaId, msg: Message) {
        let Some(what) = self.take_outstanding(id) else {
            return;
        };
        match what {
            Pending::Auth { child_spi } if msg.exchange == exchange::IKE_AUTH => {
                self.on_auth_response(id, &msg, child_spi);
            }
            Pending::RekeyChild {
                old_spi,
                new_spi,
                nonce,
                dh,
            } if msg.exchange == exchange::CREATE_CHILD_SA => {
                self.on_rekey_child_response(id, &msg, old_spi, new_spi, nonce, dh);
            }
            Pending::RekeyIke { new_spi, nonce, dh }
                if msg.exchange == exchange::CREATE_CHILD_SA =>
            {
                self.on_rekey_ike_response(id, &msg, new_spi, nonce, dh);
            }
            Pending::Delete { ike, children } if msg.exchange == exchange::INFORMATIONAL => {
                self.on_delete_response(id, ike, children);
            }
            Pending::Dpd if msg.exchange == exchange::INFORMATIONAL => {}
            _ => {
                if let Some(peer) = self.sas.get(&id).map(|s| s.peer) {
                    self.event(IkeEvent::Dropped {
                        peer,
                        reason: DropReason::Unexpected,
                    });
                }
            }
        }
        self.pump(id);
    }
}

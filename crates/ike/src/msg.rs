//! The engine's view of an IKE message: header fields and a list of decoded payloads. The
//! exchange logic reads and builds these; `codec` turns them into bytes and back (through
//! [`crate::wire`]), including the SK payload's encryption.

use crate::proposal::Proposal;
use std::net::Ipv4Addr;

/// Exchange types (RFC 7296 §3.1).
pub(crate) mod exchange {
    /// IKE_SA_INIT.
    pub(crate) const IKE_SA_INIT: u8 = 34;
    /// IKE_AUTH.
    pub(crate) const IKE_AUTH: u8 = 35;
    /// CREATE_CHILD_SA.
    pub(crate) const CREATE_CHILD_SA: u8 = 36;
    /// INFORMATIONAL.
    pub(crate) const INFORMATIONAL: u8 = 37;
}

/// Notify message types the engine sends or acts on (RFC 7296 §3.10.1, RFC 7383).
pub(crate) mod notify {
    pub(crate) const UNSUPPORTED_CRITICAL_PAYLOAD: u16 = 1;
    pub(crate) const INVALID_SYNTAX: u16 = 7;
    pub(crate) const NO_PROPOSAL_CHOSEN: u16 = 14;
    pub(crate) const INVALID_KE_PAYLOAD: u16 = 17;
    pub(crate) const NO_ADDITIONAL_SAS: u16 = 35;
    pub(crate) const AUTHENTICATION_FAILED: u16 = 24;
    pub(crate) const TS_UNACCEPTABLE: u16 = 38;
    pub(crate) const TEMPORARY_FAILURE: u16 = 43;
    pub(crate) const CHILD_SA_NOT_FOUND: u16 = 44;
    pub(crate) const INITIAL_CONTACT: u16 = 16384;
    pub(crate) const NAT_DETECTION_SOURCE_IP: u16 = 16388;
    pub(crate) const NAT_DETECTION_DESTINATION_IP: u16 = 16389;
    pub(crate) const COOKIE: u16 = 16390;
    pub(crate) const USE_TRANSPORT_MODE: u16 = 16391;
    pub(crate) const REKEY_SA: u16 = 16393;
    pub(crate) const IKEV2_FRAGMENTATION_SUPPORTED: u16 = 16430;
    pub(crate) const SIGNATURE_HASH_ALGORITHMS: u16 = 16431;

    /// Error types are below 16384 (§3.10.1).
    pub(crate) fn is_error(t: u16) -> bool {
        t < 16384
    }
}

/// A traffic selector (TS_IPV4_ADDR_RANGE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ts {
    pub(crate) protocol: u8,
    pub(crate) start_port: u16,
    pub(crate) end_port: u16,
    pub(crate) start: Ipv4Addr,
    pub(crate) end: Ipv4Addr,
}

/// IP protocol number of GRE.
pub(crate) const PROTO_GRE: u8 = 47;

impl Ts {
    /// Host-to-host GRE: the selector DMVPN protects.
    pub(crate) fn gre_host(a: Ipv4Addr) -> Ts {
        Ts {
            protocol: PROTO_GRE,
            start_port: 0,
            end_port: u16::MAX,
            start: a,
            end: a,
        }
    }

    /// Whether this selector covers all of `other` (address range, protocol, ports).
    pub(crate) fn contains(&self, other: &Ts) -> bool {
        (self.protocol == 0 || self.protocol == other.protocol)
            && self.start <= other.start
            && other.end <= self.end
            && self.start_port <= other.start_port
            && other.end_port <= self.end_port
    }
}

/// A decoded payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    Sa(Vec<Proposal>),
    Ke {
        group: u16,
        data: Vec<u8>,
    },
    Nonce(Vec<u8>),
    Notify {
        protocol: u8,
        spi: Vec<u8>,
        ntype: u16,
        data: Vec<u8>,
    },
    IdI {
        id_type: u8,
        data: Vec<u8>,
    },
    IdR {
        id_type: u8,
        data: Vec<u8>,
    },
    Auth {
        method: u8,
        data: Vec<u8>,
    },
    TsI(Vec<Ts>),
    TsR(Vec<Ts>),
    Delete {
        protocol: u8,
        spis: Vec<Vec<u8>>,
    },
    VendorId(Vec<u8>),
    /// Any other payload (CERT, CERTREQ, CP, EAP, unknown types): kept only so a critical
    /// unknown one can be refused.
    Other {
        ptype: u8,
        critical: bool,
    },
}

/// Payload type numbers (RFC 7296 §3.2) of the payloads the engine may need to name.
pub(crate) mod ptype {
    pub(crate) const SA: u8 = 33;
    pub(crate) const KE: u8 = 34;
    pub(crate) const IDI: u8 = 35;
    pub(crate) const IDR: u8 = 36;
    pub(crate) const AUTH: u8 = 39;
    pub(crate) const NONCE: u8 = 40;
    pub(crate) const NOTIFY: u8 = 41;
    pub(crate) const DELETE: u8 = 42;
    pub(crate) const VENDOR_ID: u8 = 43;
    pub(crate) const TSI: u8 = 44;
    pub(crate) const TSR: u8 = 45;
}

/// A decoded (and, for encrypted exchanges, decrypted) message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    pub(crate) exchange: u8,
    /// The I flag: sent by the original initiator of the IKE SA.
    pub(crate) from_initiator: bool,
    /// The R flag.
    pub(crate) response: bool,
    pub(crate) msg_id: u32,
    pub(crate) payloads: Vec<Payload>,
}

impl Message {
    pub(crate) fn new(
        spi_i: u64,
        spi_r: u64,
        exchange: u8,
        from_initiator: bool,
        response: bool,
        msg_id: u32,
    ) -> Self {
        Message {
            spi_i,
            spi_r,
            exchange,
            from_initiator,
            response,
            msg_id,
            payloads: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, p: Payload) -> &mut Self {
        self.payloads.push(p);
        self
    }

    pub(crate) fn notify(&mut self, ntype: u16, data: Vec<u8>) -> &mut Self {
        self.push(Payload::Notify {
            protocol: 0,
            spi: Vec::new(),
            ntype,
            data,
        })
    }

    /// The first notify of type `t`: its data.
    pub(crate) fn find_notify(&self, t: u16) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify { ntype, data, .. } if *ntype == t => Some(data.as_slice()),
            _ => None,
        })
    }

    /// Notify `t` with its SPI.
    pub(crate) fn find_notify_spi(&self, t: u16) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify {
                ntype,
                protocol,
                spi,
                ..
            } if *ntype == t => Some((*protocol, spi.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn has_notify(&self, t: u16) -> bool {
        self.find_notify(t).is_some()
    }

    /// Every notify of type `t`.
    pub(crate) fn notifies(&self, t: u16) -> impl Iterator<Item = &[u8]> {
        self.payloads.iter().filter_map(move |p| match p {
            Payload::Notify { ntype, data, .. } if *ntype == t => Some(data.as_slice()),
            _ => None,
        })
    }

    /// The first error notify type, if any.
    pub(crate) fn error_notify(&self) -> Option<u16> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Notify { ntype, .. } if notify::is_error(*ntype) => Some(*ntype),
            _ => None,
        })
    }

    pub(crate) fn sa(&self) -> Option<&[Proposal]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Sa(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub(crate) fn ke(&self) -> Option<(u16, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn nonce(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    pub(crate) fn id_i(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdI { id_type, data } => Some((*id_type, data.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn id_r(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdR { id_type, data } => Some((*id_type, data.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn auth(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.as_slice())),
            _ => None,
        })
    }

    pub(crate) fn ts_i(&self) -> Option<&[Ts]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsI(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub(crate) fn ts_r(&self) -> Option<&[Ts]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsR(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub(crate) fn deletes(&self) -> impl Iterator<Item = (u8, &[Vec<u8>])> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Delete { protocol, spis } => Some((*protocol, spis.as_slice())),
            _ => None,
        })
    }

    /// The first critical payload we do not understand.
    pub(crate) fn unsupported_critical(&self) -> Option<u8> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Other { ptype, critical } if *critical => Some(*ptype),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_containment() {
        let a = Ipv4Addr::new(192, 0, 2, 1);
        let any = Ts {
            protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
            start: Ipv4Addr::UNSPECIFIED,
            end: Ipv4Addr::BROADCAST,
        };
        assert!(any.contains(&Ts::gre_host(a)));
        assert!(Ts::gre_host(a).contains(&Ts::gre_host(a)));
        assert!(!Ts::gre_host(a).contains(&any));
        let mut udp = Ts::gre_host(a);
        udp.protocol = 17;
        assert!(!udp.contains(&Ts::gre_host(a)));
    }

    #[test]
    fn notify_lookup() {
        let mut m = Message::new(1, 0, exchange::IKE_SA_INIT, true, false, 0);
        m.notify(notify::COOKIE, vec![1, 2]);
        m.notify(notify::NO_PROPOSAL_CHOSEN, vec![]);
        assert_eq!(m.find_notify(notify::COOKIE), Some(&[1u8, 2][..]));
        assert_eq!(m.error_notify(), Some(notify::NO_PROPOSAL_CHOSEN));
        assert!(!m.has_notify(notify::REKEY_SA));
    }
}

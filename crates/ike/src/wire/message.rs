//! Whole messages: [`PayloadRepr`] (one payload of any kind, generic header included) and
//! [`MessageRepr`] (header and payload chain).
//!
//! Parsing is strict and lossless: the datagram must be exactly the header's Length, the
//! chain must end where the message ends, every known payload must parse, and reserved
//! fields are kept, so `emit(parse(bytes)) == bytes` for every message that parses.
//! Payloads without a typed form here (CERT, CERTREQ, CP, EAP, unassigned types) are kept
//! as [`PayloadBody::Opaque`].

use super::{
    Authentication, AuthenticationRepr, Delete, DeleteRepr, Encrypted, EncryptedFragment,
    EncryptedFragmentRepr, EncryptedRepr, GENERIC_HEADER_LEN, HEADER_LEN, Header, HeaderRepr,
    Identification, IdentificationRepr, Ke, KeRepr, Nonce, NonceRepr, Notify, NotifyRepr,
    NotifyType, PayloadType, RawPayload, Result, Sa, SaRepr, TrafficSelectors,
    TrafficSelectorsRepr, VendorId, VendorIdRepr, WireError, Writer, len16,
};

/// The body of one payload, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PayloadBody {
    /// SA.
    Sa(SaRepr),
    /// KE.
    Ke(KeRepr),
    /// IDi.
    IdI(IdentificationRepr),
    /// IDr.
    IdR(IdentificationRepr),
    /// AUTH.
    Auth(AuthenticationRepr),
    /// Nonce.
    Nonce(NonceRepr),
    /// N.
    Notify(NotifyRepr),
    /// D.
    Delete(DeleteRepr),
    /// V.
    VendorId(VendorIdRepr),
    /// TSi.
    TsI(TrafficSelectorsRepr),
    /// TSr.
    TsR(TrafficSelectorsRepr),
    /// SK (must be the last payload).
    Encrypted(EncryptedRepr),
    /// SKF (must be the last payload).
    EncryptedFragment(EncryptedFragmentRepr),
    /// Any other payload type, body kept as bytes. Emitting one whose type has a variant
    /// above, or type 0, is refused.
    Opaque {
        /// The payload's type.
        payload_type: PayloadType,
        /// Its body.
        body: Vec<u8>,
    },
}

/// One payload: the generic header's flags and a typed body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadRepr {
    /// The critical bit.
    pub critical: bool,
    /// The generic header's reserved bits, as received (zero when building).
    pub reserved: u8,
    /// The body.
    pub body: PayloadBody,
}

impl From<PayloadBody> for PayloadRepr {
    fn from(body: PayloadBody) -> Self {
        PayloadRepr {
            critical: false,
            reserved: 0,
            body,
        }
    }
}

/// Whether `t` has its own [`PayloadBody`] variant.
fn typed(t: PayloadType) -> bool {
    !matches!(
        t,
        PayloadType::NoNext
            | PayloadType::Cert
            | PayloadType::CertReq
            | PayloadType::Configuration
            | PayloadType::Eap
            | PayloadType::Unknown(_)
    )
}

impl PayloadRepr {
    /// The payload's type.
    pub fn payload_type(&self) -> PayloadType {
        match &self.body {
            PayloadBody::Sa(_) => PayloadType::Sa,
            PayloadBody::Ke(_) => PayloadType::Ke,
            PayloadBody::IdI(_) => PayloadType::IdI,
            PayloadBody::IdR(_) => PayloadType::IdR,
            PayloadBody::Auth(_) => PayloadType::Auth,
            PayloadBody::Nonce(_) => PayloadType::Nonce,
            PayloadBody::Notify(_) => PayloadType::Notify,
            PayloadBody::Delete(_) => PayloadType::Delete,
            PayloadBody::VendorId(_) => PayloadType::VendorId,
            PayloadBody::TsI(_) => PayloadType::TsI,
            PayloadBody::TsR(_) => PayloadType::TsR,
            PayloadBody::Encrypted(_) => PayloadType::Encrypted,
            PayloadBody::EncryptedFragment(_) => PayloadType::EncryptedFragment,
            PayloadBody::Opaque { payload_type, .. } => *payload_type,
        }
    }

    /// Whether this is SK or SKF (which end a chain).
    pub fn is_encrypted(&self) -> bool {
        matches!(
            self.body,
            PayloadBody::Encrypted(_) | PayloadBody::EncryptedFragment(_)
        )
    }

    /// Parses one payload found by [`super::Payloads`] (errors are offset like `raw`).
    pub fn parse(raw: &RawPayload<'_>) -> Result<PayloadRepr> {
        let b = raw.bytes;
        let body = match raw.payload_type {
            PayloadType::Sa => {
                Sa::new_checked(b).and_then(|v| SaRepr::parse(&v).map(PayloadBody::Sa))
            }
            PayloadType::Ke => {
                Ke::new_checked(b).and_then(|v| KeRepr::parse(&v).map(PayloadBody::Ke))
            }
            PayloadType::IdI => Identification::new_checked(b)
                .and_then(|v| IdentificationRepr::parse(&v).map(PayloadBody::IdI)),
            PayloadType::IdR => Identification::new_checked(b)
                .and_then(|v| IdentificationRepr::parse(&v).map(PayloadBody::IdR)),
            PayloadType::Auth => Authentication::new_checked(b)
                .and_then(|v| AuthenticationRepr::parse(&v).map(PayloadBody::Auth)),
            PayloadType::Nonce => {
                Nonce::new_checked(b).and_then(|v| NonceRepr::parse(&v).map(PayloadBody::Nonce))
            }
            PayloadType::Notify => {
                Notify::new_checked(b).and_then(|v| NotifyRepr::parse(&v).map(PayloadBody::Notify))
            }
            PayloadType::Delete => {
                Delete::new_checked(b).and_then(|v| DeleteRepr::parse(&v).map(PayloadBody::Delete))
            }
            PayloadType::VendorId => VendorId::new_checked(b)
                .and_then(|v| VendorIdRepr::parse(&v).map(PayloadBody::VendorId)),
            PayloadType::TsI => TrafficSelectors::new_checked(b)
                .and_then(|v| TrafficSelectorsRepr::parse(&v).map(PayloadBody::TsI)),
            PayloadType::TsR => TrafficSelectors::new_checked(b)
                .and_then(|v| TrafficSelectorsRepr::parse(&v).map(PayloadBody::TsR)),
            PayloadType::Encrypted => Encrypted::new_checked(b)
                .and_then(|v| EncryptedRepr::parse(&v).map(PayloadBody::Encrypted)),
            PayloadType::EncryptedFragment => EncryptedFragment::new_checked(b)
                .and_then(|v| EncryptedFragmentRepr::parse(&v).map(PayloadBody::EncryptedFragment)),
            other => Ok(PayloadBody::Opaque {
                payload_type: other,
                body: raw.body().to_vec(),
            }),
        }
        .map_err(|e| e.shifted(raw.offset))?;
        Ok(PayloadRepr {
            critical: raw.critical,
            reserved: raw.reserved,
            body,
        })
    }

    /// Length of the body.
    pub fn body_len(&self) -> usize {
        match &self.body {
            PayloadBody::Sa(r) => r.body_len(),
            PayloadBody::Ke(r) => r.body_len(),
            PayloadBody::IdI(r) | PayloadBody::IdR(r) => r.body_len(),
            PayloadBody::Auth(r) => r.body_len(),
            PayloadBody::Nonce(r) => r.body_len(),
            PayloadBody::Notify(r) => r.body_len(),
            PayloadBody::Delete(r) => r.body_len(),
            PayloadBody::VendorId(r) => r.body_len(),
            PayloadBody::TsI(r) | PayloadBody::TsR(r) => r.body_len(),
            PayloadBody::Encrypted(r) => r.body_len(),
            PayloadBody::EncryptedFragment(r) => r.body_len(),
            PayloadBody::Opaque { body, .. } => body.len(),
        }
    }

    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }

    /// The Next Payload field this payload carries when `following` comes after it (SK and
    /// SKF carry their first inner payload's type instead).
    pub fn next_field(&self, following: PayloadType) -> PayloadType {
        match &self.body {
            PayloadBody::Encrypted(r) => r.first_inner,
            PayloadBody::EncryptedFragment(r) => r.first_inner,
            _ => following,
        }
    }

    /// Writes the payload, generic header included, with `following` as the type of the
    /// next payload; returns its length.
    pub fn emit(&self, buf: &mut [u8], following: PayloadType) -> Result<usize> {
        if let PayloadBody::Opaque { payload_type, .. } = &self.body
            && typed(*payload_type)
        {
            return Err(WireError::Invalid {
                field: "payload.type",
                offset: 0,
                reason: "an opaque payload cannot have a type with its own variant",
            });
        }
        if self.payload_type() == PayloadType::NoNext {
            return Err(WireError::Invalid {
                field: "payload.type",
                offset: 0,
                reason: "type 0 ends a chain",
            });
        }
        let total = self.buffer_len();
        let len = len16("payload.length", total)?;
        let mut w = Writer::new(buf);
        w.u8(self.next_field(following).value())?;
        w.u8((self.reserved & 0x7f) | if self.critical { 0x80 } else { 0 })?;
        w.u16(len)?;
        let body = w.reserve(total - GENERIC_HEADER_LEN)?;
        match &self.body {
            PayloadBody::Sa(r) => r.emit_body(body),
            PayloadBody::Ke(r) => r.emit_body(body),
            PayloadBody::IdI(r) | PayloadBody::IdR(r) => r.emit_body(body),
            PayloadBody::Auth(r) => r.emit_body(body),
            PayloadBody::Nonce(r) => r.emit_body(body),
            PayloadBody::Notify(r) => r.emit_body(body),
            PayloadBody::Delete(r) => r.emit_body(body),
            PayloadBody::VendorId(r) => r.emit_body(body),
            PayloadBody::TsI(r) | PayloadBody::TsR(r) => r.emit_body(body),
            PayloadBody::Encrypted(r) => r.emit_body(body),
            PayloadBody::EncryptedFragment(r) => r.emit_body(body),
            PayloadBody::Opaque { body: b, .. } => Writer::new(body).bytes(b).map(|()| b.len()),
        }?;
        Ok(total)
    }
}

/// A whole IKEv2 message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRepr {
    /// The header (its `next_payload` is the first payload's type after [`Self::parse`]
    /// and [`Self::new`]; [`Self::emit`] always writes the first payload's type).
    pub header: HeaderRepr,
    /// The payloads, in order; an SK or SKF payload only last.
    pub payloads: Vec<PayloadRepr>,
}

impl MessageRepr {
    /// A message whose header names its first payload.
    pub fn new(mut header: HeaderRepr, payloads: Vec<PayloadRepr>) -> Self {
        header.next_payload = payloads
            .first()
            .map_or(PayloadType::NoNext, PayloadRepr::payload_type);
        MessageRepr { header, payloads }
    }

    /// Parses a datagram holding exactly one IKEv2 message.
    pub fn parse(bytes: &[u8]) -> Result<MessageRepr> {
        let view = Header::new_unchecked(bytes);
        let header = HeaderRepr::parse(&view)?;
        let len = usize::try_from(view.length()).unwrap_or(usize::MAX);
        if len != bytes.len() {
            return Err(WireError::BadLength {
                field: "ike.length",
                offset: 0,
                len,
                reason: "differs from the datagram's length",
            });
        }
        let mut payloads = Vec::new();
        for raw in view.payloads() {
            payloads.push(PayloadRepr::parse(&raw?)?);
        }
        Ok(MessageRepr { header, payloads })
    }

    /// Length of the message.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self
                .payloads
                .iter()
                .map(PayloadRepr::buffer_len)
                .sum::<usize>()
    }

    /// Writes the message into `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let total = self.buffer_len();
        let Some(out) = buf.get_mut(..total) else {
            return Err(WireError::BufferTooSmall {
                need: total,
                have: buf.len(),
            });
        };
        let header = HeaderRepr {
            next_payload: self
                .payloads
                .first()
                .map_or(PayloadType::NoNext, PayloadRepr::payload_type),
            ..self.header
        };
        let mut w = Writer::new(out);
        let hdr = w.reserve(HEADER_LEN)?;
        header.emit(hdr, total - HEADER_LEN)?;
        for (i, p) in self.payloads.iter().enumerate() {
            let following = self.payloads.get(i + 1);
            if p.is_encrypted() && following.is_some() {
                return Err(WireError::EncryptedNotLast {
                    offset: w.written(),
                });
            }
            let next = following.map_or(PayloadType::NoNext, PayloadRepr::payload_type);
            let len = p.buffer_len();
            let at = w.written();
            p.emit(w.reserve(len)?, next).map_err(|e| e.shifted(at))?;
        }
        Ok(w.written())
    }

    /// The message as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut v = vec![0; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }

    /// The first Notify of type `t`.
    pub fn notify(&self, t: NotifyType) -> Option<&NotifyRepr> {
        self.payloads.iter().find_map(|p| match &p.body {
            PayloadBody::Notify(n) if n.notify_type == t => Some(n),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ExchangeType, Flags, ProtocolId, TransformRepr, TransformType};
    use super::super::{ProposalRepr, transform_id};
    use super::*;

    fn init() -> MessageRepr {
        let header = HeaderRepr {
            spi_i: 7,
            spi_r: 0,
            next_payload: PayloadType::NoNext,
            minor_version: 0,
            exchange_type: ExchangeType::IkeSaInit,
            flags: Flags::new(true, false),
            message_id: 0,
        };
        let sa = SaRepr {
            proposals: vec![ProposalRepr {
                number: 1,
                protocol: ProtocolId::Ike,
                spi: vec![],
                transforms: vec![TransformRepr::new(
                    TransformType::Dh,
                    transform_id::dh::ECP256,
                    None,
                )],
                reserved: 0,
            }],
        };
        MessageRepr::new(
            header,
            vec![
                PayloadBody::Sa(sa).into(),
                PayloadBody::Ke(KeRepr {
                    group: 19,
                    data: vec![1; 64],
                    reserved: 0,
                })
                .into(),
                PayloadBody::Nonce(NonceRepr { nonce: vec![2; 32] }).into(),
                PayloadBody::Notify(NotifyRepr::new(
                    NotifyType::NatDetectionSourceIp,
                    vec![3; 20],
                ))
                .into(),
                PayloadRepr {
                    critical: true,
                    reserved: 0,
                    body: PayloadBody::Opaque {
                        payload_type: PayloadType::CertReq,
                        body: vec![4, 5],
                    },
                },
            ],
        )
    }

    #[test]
    fn round_trip() {
        let m = init();
        let bytes = m.to_bytes().unwrap();
        assert_eq!(bytes.len(), m.buffer_len());
        assert_eq!(bytes[16], 33);
        let back = MessageRepr::parse(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes().unwrap(), bytes);
        assert!(back.notify(NotifyType::NatDetectionSourceIp).is_some());
        assert!(back.notify(NotifyType::Cookie).is_none());
    }

    #[test]
    fn errors_are_offset_in_the_message() {
        let m = init();
        let mut bytes = m.to_bytes().unwrap();
        // The nonce payload: header 28, SA 4+8+8=20, KE 4+4+64=72 -> nonce at 120.
        assert_eq!(bytes[120 + 3], 36);
        bytes[120 + 3] = 4 + 15;
        // Shorten the message consistently: drop one nonce byte.
        bytes.remove(120 + 4);
        let len = (bytes.len() as u32).to_be_bytes();
        bytes[24..28].copy_from_slice(&len);
        assert_eq!(
            MessageRepr::parse(&bytes),
            Err(WireError::NonceLength {
                offset: 120,
                len: 15
            })
        );
        let mut extra = m.to_bytes().unwrap();
        extra.push(0);
        assert!(matches!(
            MessageRepr::parse(&extra),
            Err(WireError::BadLength {
                field: "ike.length",
                ..
            })
        ));
    }

    #[test]
    fn emit_refusals() {
        let mut m = init();
        m.payloads.insert(
            0,
            PayloadBody::Encrypted(EncryptedRepr {
                first_inner: PayloadType::IdI,
                content: vec![0; 8],
            })
            .into(),
        );
        assert!(matches!(
            m.to_bytes(),
            Err(WireError::EncryptedNotLast { offset: 28 })
        ));
        let mut m = init();
        m.payloads.push(
            PayloadBody::Opaque {
                payload_type: PayloadType::Nonce,
                body: vec![],
            }
            .into(),
        );
        assert!(matches!(m.to_bytes(), Err(WireError::Invalid { .. })));
        assert!(matches!(
            init().emit(&mut [0u8; 10]),
            Err(WireError::BufferTooSmall { .. })
        ));
    }
}

//! Owned forms of the SA payload (RFC 7296 §3.3): [`SaRepr`] with its proposals,
//! transforms and attributes. Parsing walks the views of [`super::sa`]; emitting writes
//! Last Substruc, lengths and counts from the lists, so they always agree.

use super::sa::{AF, ATTRIBUTE_KEY_LENGTH, Attribute, MORE_PROPOSALS, MORE_TRANSFORMS};
use super::{
    GENERIC_HEADER_LEN, Proposal, ProtocolId, Result, Sa, Transform, TransformType, WireError,
    Writer, len8, len16,
};

/// An owned transform attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AttributeRepr {
    /// AF=1: a 2-byte value.
    Tv {
        /// Attribute Type (at most 0x7fff).
        attribute_type: u16,
        /// Attribute Value.
        value: u16,
    },
    /// AF=0: a variable value.
    Tlv {
        /// Attribute Type (at most 0x7fff).
        attribute_type: u16,
        /// Attribute Value (at most 65535 bytes).
        value: Vec<u8>,
    },
}

impl AttributeRepr {
    /// The Key Length attribute (TV), in bits.
    pub const fn key_length(bits: u16) -> AttributeRepr {
        AttributeRepr::Tv {
            attribute_type: ATTRIBUTE_KEY_LENGTH,
            value: bits,
        }
    }

    /// Wire length.
    pub fn buffer_len(&self) -> usize {
        match self {
            AttributeRepr::Tv { .. } => 4,
            AttributeRepr::Tlv { value, .. } => 4 + value.len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let t = match self {
            AttributeRepr::Tv { attribute_type, .. }
            | AttributeRepr::Tlv { attribute_type, .. } => *attribute_type,
        };
        if t & AF != 0 {
            return Err(WireError::TooLong {
                field: "attribute.type",
                len: usize::from(t),
                max: usize::from(!AF),
            });
        }
        match self {
            AttributeRepr::Tv { value, .. } => {
                w.u16(t | AF)?;
                w.u16(*value)
            }
            AttributeRepr::Tlv { value, .. } => {
                w.u16(t)?;
                w.u16(len16("attribute.length", value.len())?)?;
                w.bytes(value)
            }
        }
    }
}

impl From<Attribute<'_>> for AttributeRepr {
    fn from(a: Attribute<'_>) -> Self {
        match a {
            Attribute::Tv {
                attribute_type,
                value,
            } => AttributeRepr::Tv {
                attribute_type,
                value,
            },
            Attribute::Tlv {
                attribute_type,
                value,
            } => AttributeRepr::Tlv {
                attribute_type,
                value: value.to_vec(),
            },
        }
    }
}

/// An owned transform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransformRepr {
    /// Transform Type.
    pub transform_type: TransformType,
    /// Transform ID.
    pub id: u16,
    /// Attributes, in order.
    pub attributes: Vec<AttributeRepr>,
    /// The two reserved octets, as received (zero when building).
    pub reserved: [u8; 2],
}

impl TransformRepr {
    /// A transform with an optional Key Length attribute.
    pub fn new(transform_type: TransformType, id: u16, key_length: Option<u16>) -> Self {
        TransformRepr {
            transform_type,
            id,
            attributes: key_length
                .map(AttributeRepr::key_length)
                .into_iter()
                .collect(),
            reserved: [0; 2],
        }
    }

    /// Parses a transform (its attributes included).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(t: &Transform<&T>) -> Result<Self> {
        t.check_len()?;
        let attributes = t
            .attributes()
            .map(|a| a.map(|(_, a)| AttributeRepr::from(a)))
            .collect::<Result<Vec<_>>>()?;
        Ok(TransformRepr {
            transform_type: t.transform_type(),
            id: t.id(),
            attributes,
            reserved: [t.reserved(), t.reserved2()],
        })
    }

    /// The Key Length attribute, if any.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a {
            AttributeRepr::Tv {
                attribute_type: ATTRIBUTE_KEY_LENGTH,
                value,
            } => Some(*value),
            _ => None,
        })
    }

    /// Wire length.
    pub fn buffer_len(&self) -> usize {
        8 + self
            .attributes
            .iter()
            .map(AttributeRepr::buffer_len)
            .sum::<usize>()
    }

    fn emit(&self, w: &mut Writer<'_>, last: bool) -> Result<()> {
        w.u8(if last { 0 } else { MORE_TRANSFORMS })?;
        w.u8(self.reserved[0])?;
        w.u16(len16("transform.length", self.buffer_len())?)?;
        w.u8(self.transform_type.value())?;
        w.u8(self.reserved[1])?;
        w.u16(self.id)?;
        self.attributes.iter().try_for_each(|a| a.emit(w))
    }
}

/// An owned proposal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProposalRepr {
    /// Proposal Num.
    pub number: u8,
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// SPI (empty for a first IKE SA proposal, 8 bytes for an IKE rekey, 4 for ESP).
    pub spi: Vec<u8>,
    /// Transforms, in order.
    pub transforms: Vec<TransformRepr>,
    /// The reserved octet, as received (zero when building).
    pub reserved: u8,
}

impl ProposalRepr {
    /// Parses a proposal (transforms and attributes included).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(p: &Proposal<&T>) -> Result<Self> {
        p.check_len()?;
        let mut transforms = Vec::new();
        for t in p.transforms() {
            let (off, t) = t?;
            transforms.push(TransformRepr::parse(&t).map_err(|e| e.shifted(off))?);
        }
        Ok(ProposalRepr {
            number: p.number(),
            protocol: p.protocol(),
            spi: p.spi().to_vec(),
            transforms,
            reserved: p.reserved(),
        })
    }

    /// Wire length.
    pub fn buffer_len(&self) -> usize {
        8 + self.spi.len()
            + self
                .transforms
                .iter()
                .map(TransformRepr::buffer_len)
                .sum::<usize>()
    }

    fn emit(&self, w: &mut Writer<'_>, last: bool) -> Result<()> {
        w.u8(if last { 0 } else { MORE_PROPOSALS })?;
        w.u8(self.reserved)?;
        w.u16(len16("proposal.length", self.buffer_len())?)?;
        w.u8(self.number)?;
        w.u8(self.protocol.value())?;
        w.u8(len8("proposal.spi_size", self.spi.len())?)?;
        let n = self.transforms.len();
        w.u8(len8("proposal.num_transforms", n)?)?;
        w.bytes(&self.spi)?;
        for (i, t) in self.transforms.iter().enumerate() {
            t.emit(w, i + 1 == n)?;
        }
        Ok(())
    }
}

/// An owned SA payload body: one or more proposals.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SaRepr {
    /// Proposals, in order (at least one).
    pub proposals: Vec<ProposalRepr>,
}

impl SaRepr {
    /// Parses every proposal, transform and attribute.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(sa: &Sa<&T>) -> Result<Self> {
        sa.check_len()?;
        let mut proposals = Vec::new();
        for p in sa.proposals() {
            let (off, p) = p?;
            proposals.push(ProposalRepr::parse(&p).map_err(|e| e.shifted(off))?);
        }
        Ok(SaRepr { proposals })
    }

    /// Length of the body.
    pub fn body_len(&self) -> usize {
        self.proposals.iter().map(ProposalRepr::buffer_len).sum()
    }

    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }

    /// Writes the body into `buf`; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        if self.proposals.is_empty() {
            return Err(WireError::Invalid {
                field: "sa.proposals",
                offset: 0,
                reason: "an SA payload holds at least one proposal",
            });
        }
        let mut w = Writer::new(buf);
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            p.emit(&mut w, i + 1 == n)?;
        }
        Ok(w.written())
    }
}

#[cfg(test)]
mod tests {
    use super::super::transform_id::{dh, encr};
    use super::*;

    fn payload(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend(((body.len() + 4) as u16).to_be_bytes());
        v.extend(body);
        v
    }

    fn sample() -> SaRepr {
        SaRepr {
            proposals: vec![
                ProposalRepr {
                    number: 1,
                    protocol: ProtocolId::Ike,
                    spi: vec![],
                    transforms: vec![
                        TransformRepr::new(TransformType::Encr, encr::AES_CBC, Some(128)),
                        TransformRepr::new(TransformType::Dh, dh::ECP256, None),
                    ],
                    reserved: 0,
                },
                ProposalRepr {
                    number: 2,
                    protocol: ProtocolId::Esp,
                    spi: vec![1, 2, 3, 4],
                    transforms: vec![],
                    reserved: 0,
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_views() {
        let sa = sample();
        let mut body = vec![0u8; sa.body_len()];
        assert_eq!(sa.emit_body(&mut body), Ok(body.len()));
        let bytes = payload(&body);
        let view = Sa::new_checked(&bytes[..]).unwrap();
        assert_eq!(SaRepr::parse(&view), Ok(sa));
        let (off, p) = view.proposals().next().unwrap().unwrap();
        assert_eq!(off, 4);
        assert_eq!(p.num_transforms(), 2);
        let (_, t) = p.transforms().next().unwrap().unwrap();
        assert_eq!(t.key_length(), Some(128));
        assert_eq!(t.id(), encr::AES_CBC);
        assert_eq!(view.proposals().count(), 2);
    }

    #[test]
    fn malformed_structures() {
        let sa = sample();
        let mut body = vec![0u8; sa.body_len()];
        sa.emit_body(&mut body).unwrap();
        let parse = |b: &[u8]| SaRepr::parse(&Sa::new_checked(&payload(b)[..]).unwrap());
        // Empty SA.
        assert!(matches!(
            parse(&[]),
            Err(WireError::Truncated { offset: 4, .. })
        ));
        // Last proposal says "more".
        let mut b = body.clone();
        let second = 8 + 12 + 8;
        b[second] = 2;
        assert!(matches!(parse(&b), Err(WireError::Truncated { .. })));
        // Bad last substruc value.
        let mut b = body.clone();
        b[0] = 1;
        assert!(matches!(
            parse(&b),
            Err(WireError::Invalid {
                field: "proposal.last_substruc",
                offset: 4,
                ..
            })
        ));
        // First proposal says last while another follows.
        let mut b = body.clone();
        b[0] = 0;
        assert!(matches!(parse(&b), Err(WireError::TrailingBytes { .. })));
        // Num Transforms one too many: the second transform claims to be last.
        let mut b = body.clone();
        b[7] = 3;
        assert!(matches!(
            parse(&b),
            Err(WireError::Invalid {
                field: "transform.last_substruc",
                offset: 24,
                ..
            })
        ));
        // Num Transforms one too few: bytes left over.
        let mut b = body.clone();
        b[7] = 1;
        assert!(matches!(parse(&b), Err(WireError::Invalid { .. })));
        // A TLV attribute running past its transform.
        let mut b = body.clone();
        b[16] = 0x00; // clear AF on the key length attribute: length 128 > 0 left
        assert!(matches!(
            parse(&b),
            Err(WireError::Truncated {
                field: "attribute.value",
                offset: 24,
                ..
            })
        ));
        // Proposal length shorter than its SPI.
        let mut b = body;
        b[second + 3] = 9;
        assert!(matches!(parse(&b), Err(WireError::BadLength { .. })));
    }

    #[test]
    fn emit_refuses_unrepresentable() {
        let mut buf = [0u8; 64];
        assert!(SaRepr { proposals: vec![] }.emit_body(&mut buf).is_err());
        let mut sa = sample();
        sa.proposals[0].transforms[0].attributes = vec![AttributeRepr::Tv {
            attribute_type: 0x8001,
            value: 0,
        }];
        assert!(matches!(
            sa.emit_body(&mut buf),
            Err(WireError::TooLong { .. })
        ));
        assert!(matches!(
            sample().emit_body(&mut buf[..10]),
            Err(WireError::BufferTooSmall { .. })
        ));
    }
}

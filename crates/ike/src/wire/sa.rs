//! The Security Association payload (RFC 7296 §3.3): proposals, their transforms, and
//! the transforms' attributes.
//!
//! ```text
//! Proposal:
//! | Last Substruc |   RESERVED    |         Proposal Length       |
//! | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
//! ~                        SPI (variable)                         ~
//! ~                        <Transforms>                           ~
//! Transform:
//! | Last Substruc |   RESERVED    |        Transform Length       |
//! |Transform Type |   RESERVED    |          Transform ID         |
//! ~                      Transform Attributes                     ~
//! Attribute (AF=1: TV, a 2-byte value; AF=0: TLV):
//! |A|       Attribute Type        |    AF=0  Attribute Length     |
//! |                               |    AF=1  Attribute Value      |
//! ```
//!
//! Checked: Last Substruc is 2 (proposal) or 3 (transform) before another structure and 0
//! on the last one; Num Transforms matches the transforms found; every length covers its
//! fixed part and fits its container; nothing is left over. The walks are iterators
//! bounded by the bytes (every structure takes at least 4).

use super::{
    GENERIC_HEADER_LEN, ProtocolId, Result, TransformType, WireError, Writer, be16, byte, len8,
    len16, payload_view, range,
};

/// Attribute Type of the Key Length attribute (TV, in bits).
pub const ATTRIBUTE_KEY_LENGTH: u16 = 14;
/// Last Substruc of a proposal followed by another.
const MORE_PROPOSALS: u8 = 2;
/// Last Substruc of a transform followed by another.
const MORE_TRANSFORMS: u8 = 3;
/// The attribute format bit (TV).
const AF: u16 = 0x8000;

payload_view! {
    /// A view of an SA payload.
    Sa
}

impl<T: AsRef<[u8]>> Sa<T> {
    /// Checks the generic header (the proposals are checked while walking them).
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()
    }

    /// Walks the proposals (offsets from the start of the payload).
    pub fn proposals(&self) -> Proposals<'_> {
        Proposals {
            bytes: self.body(),
            pos: 0,
            base: GENERIC_HEADER_LEN,
            done: false,
        }
    }
}

/// A view of one proposal substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Proposal<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Proposal { buffer }
    }

    /// Wraps a buffer that starts with a proposal and checks its lengths.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Proposal::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks `8 + SPI Size <= Proposal Length <= buffer length`.
    pub fn check_len(&self) -> Result<()> {
        let have = self.b().len();
        super::need("proposal.header", 0, 8, have)?;
        let len = usize::from(self.length());
        if len < 8 + usize::from(self.spi_size()) {
            return Err(WireError::BadLength {
                field: "proposal.length",
                offset: 0,
                len,
                reason: "shorter than the proposal header and SPI",
            });
        }
        if len > have {
            return Err(WireError::BadLength {
                field: "proposal.length",
                offset: 0,
                len,
                reason: "longer than the SA payload",
            });
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Last Substruc (2: more proposals follow, 0: last).
    pub fn last_substruc(&self) -> u8 {
        byte(self.b(), 0)
    }
    /// The reserved octet.
    pub fn reserved(&self) -> u8 {
        byte(self.b(), 1)
    }
    /// Proposal Length.
    pub fn length(&self) -> u16 {
        be16(self.b(), 2)
    }
    /// Proposal Num.
    pub fn number(&self) -> u8 {
        byte(self.b(), 4)
    }
    /// Protocol ID.
    pub fn protocol(&self) -> ProtocolId {
        ProtocolId::from(byte(self.b(), 5))
    }
    /// SPI Size.
    pub fn spi_size(&self) -> u8 {
        byte(self.b(), 6)
    }
    /// Num Transforms.
    pub fn num_transforms(&self) -> u8 {
        byte(self.b(), 7)
    }
    /// The SPI.
    pub fn spi(&self) -> &[u8] {
        range(self.b(), 8, 8 + usize::from(self.spi_size()))
    }
    /// The transforms' bytes.
    pub fn transform_bytes(&self) -> &[u8] {
        let end = usize::from(self.length()).min(self.b().len());
        range(self.b(), 8 + usize::from(self.spi_size()), end)
    }
    /// Walks the transforms (offsets from the start of the proposal).
    pub fn transforms(&self) -> Transforms<'_> {
        Transforms {
            bytes: self.transform_bytes(),
            pos: 0,
            base: 8 + usize::from(self.spi_size()),
            index: 0,
            count: self.num_transforms(),
            done: false,
        }
    }
}

/// Walks the proposals of an SA payload.
#[derive(Debug, Clone)]
pub struct Proposals<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    done: bool,
}

impl<'a> Iterator for Proposals<'a> {
    type Item = Result<(usize, Proposal<&'a [u8]>)>;

    /// The next proposal with its offset.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        let rest = range(self.bytes, self.pos, self.bytes.len());
        let p = match Proposal::new_checked(rest) {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                return Some(Err(e.shifted(offset)));
            }
        };
        let len = usize::from(p.length());
        self.pos = self.pos.saturating_add(len);
        let left = self.bytes.len().saturating_sub(self.pos);
        let verdict = match p.last_substruc() {
            0 if left == 0 => Ok(()),
            0 => Err(WireError::TrailingBytes {
                field: "sa.proposals",
                offset: offset.saturating_add(len),
                count: left,
            }),
            MORE_PROPOSALS if left > 0 => Ok(()),
            MORE_PROPOSALS => Err(WireError::Truncated {
                field: "sa.proposal",
                offset: offset.saturating_add(len),
                need: 8,
                have: 0,
            }),
            _ => Err(WireError::Invalid {
                field: "proposal.last_substruc",
                offset,
                reason: "must be 0 or 2",
            }),
        };
        if verdict.is_err() || p.last_substruc() == 0 {
            self.done = true;
        }
        Some(verdict.map(|()| (offset, Proposal::new_unchecked(range(rest, 0, len)))))
    }
}

impl core::iter::FusedIterator for Proposals<'_> {}

/// A view of one transform substructure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Transform<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Transform { buffer }
    }

    /// Wraps a buffer that starts with a transform and checks its length.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let t = Transform::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }

    /// Checks `8 <= Transform Length <= buffer length`.
    pub fn check_len(&self) -> Result<()> {
        let have = self.b().len();
        super::need("transform.header", 0, 8, have)?;
        let len = usize::from(self.length());
        if len < 8 {
            return Err(WireError::BadLength {
                field: "transform.length",
                offset: 0,
                len,
                reason: "shorter than the transform header",
            });
        }
        if len > have {
            return Err(WireError::BadLength {
                field: "transform.length",
                offset: 0,
                len,
                reason: "longer than the proposal",
            });
        }
        Ok(())
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Last Substruc (3: more transforms follow, 0: last).
    pub fn last_substruc(&self) -> u8 {
        byte(self.b(), 0)
    }
    /// The first reserved octet.
    pub fn reserved(&self) -> u8 {
        byte(self.b(), 1)
    }
    /// Transform Length.
    pub fn length(&self) -> u16 {
        be16(self.b(), 2)
    }
    /// Transform Type.
    pub fn transform_type(&self) -> TransformType {
        TransformType::from(byte(self.b(), 4))
    }
    /// The second reserved octet.
    pub fn reserved2(&self) -> u8 {
        byte(self.b(), 5)
    }
    /// Transform ID (see [`super::transform_id`]).
    pub fn id(&self) -> u16 {
        be16(self.b(), 6)
    }
    /// The attributes' bytes.
    pub fn attribute_bytes(&self) -> &[u8] {
        let end = usize::from(self.length()).min(self.b().len());
        range(self.b(), 8, end)
    }
    /// Walks the attributes (offsets from the start of the transform).
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            bytes: self.attribute_bytes(),
            pos: 0,
            base: 8,
            done: false,
        }
    }
    /// The Key Length attribute, when present in TV form.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes().find_map(|a| match a {
            Ok((
                _,
                Attribute::Tv {
                    attribute_type: ATTRIBUTE_KEY_LENGTH,
                    value,
                },
            )) => Some(value),
            _ => None,
        })
    }
}

/// Walks the transforms of a proposal, as many as its Num Transforms says.
#[derive(Debug, Clone)]
pub struct Transforms<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    index: u8,
    count: u8,
    done: bool,
}

impl<'a> Iterator for Transforms<'a> {
    type Item = Result<(usize, Transform<&'a [u8]>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        let rest = range(self.bytes, self.pos, self.bytes.len());
        if self.index == self.count {
            self.done = true;
            if rest.is_empty() {
                return None;
            }
            return Some(Err(WireError::TrailingBytes {
                field: "proposal.transforms",
                offset,
                count: rest.len(),
            }));
        }
        let t = match Transform::new_checked(rest) {
            Ok(t) => t,
            Err(e) => {
                self.done = true;
                return Some(Err(e.shifted(offset)));
            }
        };
        self.index = self.index.saturating_add(1);
        let want = if self.index == self.count {
            0
        } else {
            MORE_TRANSFORMS
        };
        if t.last_substruc() != want {
            self.done = true;
            return Some(Err(WireError::Invalid {
                field: "transform.last_substruc",
                offset,
                reason: "must be 3 before another transform and 0 on the last (Num Transforms)",
            }));
        }
        let len = usize::from(t.length());
        self.pos = self.pos.saturating_add(len);
        Some(Ok((offset, Transform::new_unchecked(range(rest, 0, len)))))
    }
}

impl core::iter::FusedIterator for Transforms<'_> {}

/// One transform attribute, borrowed from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// AF=1: a 2-byte value (Key Length is one).
    Tv {
        /// Attribute Type (15 bits).
        attribute_type: u16,
        /// Attribute Value.
        value: u16,
    },
    /// AF=0: a length and a value.
    Tlv {
        /// Attribute Type (15 bits).
        attribute_type: u16,
        /// Attribute Value.
        value: &'a [u8],
    },
}

/// Walks the attributes of a transform.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    done: bool,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(usize, Attribute<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = range(self.bytes, self.pos, self.bytes.len());
        if self.done || rest.is_empty() {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        if let Err(e) = super::need("attribute.header", offset, 4, rest.len()) {
            self.done = true;
            return Some(Err(e));
        }
        let word = be16(rest, 0);
        let attribute_type = word & !AF;
        if word & AF != 0 {
            self.pos = self.pos.saturating_add(4);
            return Some(Ok((
                offset,
                Attribute::Tv {
                    attribute_type,
                    value: be16(rest, 2),
                },
            )));
        }
        let len = usize::from(be16(rest, 2));
        if let Err(e) = super::need("attribute.value", offset + 4, len, rest.len() - 4) {
            self.done = true;
            return Some(Err(e));
        }
        self.pos = self.pos.saturating_add(4 + len);
        Some(Ok((
            offset,
            Attribute::Tlv {
                attribute_type,
                value: range(rest, 4, 4 + len),
            },
        )))
    }
}

impl core::iter::FusedIterator for Attributes<'_> {}

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

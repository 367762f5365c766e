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
//! bounded by the bytes (every structure takes at least 4). The owned forms are in
//! [`super::sa_repr`].

use super::{
    GENERIC_HEADER_LEN, ProtocolId, Result, TransformType, WireError, be16, byte, payload_view,
    range,
};

/// Attribute Type of the Key Length attribute (TV, in bits).
pub const ATTRIBUTE_KEY_LENGTH: u16 = 14;
/// Last Substruc of a proposal followed by another.
pub(super) const MORE_PROPOSALS: u8 = 2;
/// Last Substruc of a transform followed by another.
pub(super) const MORE_TRANSFORMS: u8 = 3;
/// The attribute format bit (TV).
pub(super) const AF: u16 = 0x8000;

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

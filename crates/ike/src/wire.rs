//! The IKEv2 message codec (RFC 7296 §3, RFC 7383 §2.5): typed zero-copy views over
//! received bytes and owned representations that emit them.
//!
//! The layers, in the style of the GRE and NHRP codecs of `dmvpn-wire`:
//!
//! * [`Header`] is a view of the fixed 28-byte IKE header; [`HeaderRepr`] is its validated,
//!   owned form (major version 2 only: IKEv1/ISAKMP is refused with
//!   [`WireError::UnsupportedVersion`]).
//! * [`Payloads`] walks the payload chain: a loop, not recursion, that checks every generic
//!   payload header against the bytes left and stops after an Encrypted (SK) or Encrypted
//!   Fragment (SKF) payload, which must be last. It allocates nothing.
//! * One view per payload kind ([`Sa`] with [`Proposal`], [`Transform`] and [`Attributes`];
//!   [`Ke`], [`Identification`], [`Authentication`], [`Nonce`], [`Notify`], [`Delete`],
//!   [`VendorId`], [`TrafficSelectors`], [`Encrypted`], [`EncryptedFragment`]). A view wraps
//!   one whole payload, generic header included; after `new_checked` no accessor panics.
//! * One owned `*Repr` per payload kind with `parse` (from its view), `body_len`,
//!   `buffer_len` and `emit_body`; [`PayloadRepr`] adds the generic header and
//!   [`MessageRepr`] a whole message. Reserved fields are kept, so a message that parses
//!   re-emits byte for byte.
//! * The IANA numbers: [`ExchangeType`], [`PayloadType`], [`ProtocolId`], [`NotifyType`],
//!   [`TransformType`], [`IdType`], [`AuthMethod`], [`TsType`] and the transform IDs in
//!   [`transform_id`].
//!
//! The Encrypted payload's IV, ciphertext and ICV stay opaque here: decrypting needs the
//! IKE SA's keys, which is the engine's business.
//!
//! Every malformation is a [`WireError`] naming the field and the byte offset. Offsets are
//! counted from the start of the buffer the parser was given: the message for
//! [`MessageRepr::parse`] and [`Payloads`] created by [`Header::payloads`], the payload for
//! the payload views.

mod bodies;
mod consts;
mod header;
mod message;
mod payload;
mod sa;
mod sa_repr;
mod sk;
mod ts;

pub use bodies::{
    Authentication, AuthenticationRepr, Delete, DeleteRepr, Identification, IdentificationRepr, Ke,
    KeRepr, MAX_NONCE_LEN, MIN_NONCE_LEN, Nonce, NonceRepr, Notify, NotifyRepr, VendorId,
    VendorIdRepr,
};
pub use consts::{
    AuthMethod, ExchangeType, IdType, NotifyType, PayloadType, ProtocolId, TransformType, TsType,
    transform_id,
};
pub use header::{Flags, HEADER_LEN, Header, HeaderRepr};
pub use message::{MessageRepr, PayloadBody, PayloadRepr};
pub use payload::{GENERIC_HEADER_LEN, GenericPayload, Payloads, RawPayload};
pub use sa::{
    ATTRIBUTE_KEY_LENGTH, Attribute, Attributes, Proposal, Proposals, Sa, Transform, Transforms,
};
pub use sa_repr::{AttributeRepr, ProposalRepr, SaRepr, TransformRepr};
pub use sk::{Encrypted, EncryptedFragment, EncryptedFragmentRepr, EncryptedRepr};
pub use ts::{Selector, Selectors, TrafficSelector, TrafficSelectors, TrafficSelectorsRepr};

/// What is wrong with the bytes (parsing) or with a `Repr` (emitting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A field does not fit in the bytes that remain.
    #[error("truncated {field} at byte {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes that were there.
        have: usize,
    },
    /// A length field is smaller than its structure's fixed part or larger than what
    /// contains it.
    #[error("bad {field} at byte {offset}: length {len}, {reason}")]
    BadLength {
        /// The length field.
        field: &'static str,
        /// Where the structure starts.
        offset: usize,
        /// The length found.
        len: usize,
        /// What it contradicts.
        reason: &'static str,
    },
    /// A field holds a value the structure forbids.
    #[error("invalid {field} at byte {offset}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Where it is.
        offset: usize,
        /// Why the value is refused.
        reason: &'static str,
    },
    /// The major version is not 2 (IKEv1/ISAKMP is 1).
    #[error("unsupported IKE version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// Bytes are left after the last structure of a list or chain.
    #[error("{count} trailing bytes after {field} at byte {offset}")]
    TrailingBytes {
        /// The list or chain.
        field: &'static str,
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A Nonce outside 16..=256 bytes (RFC 7296 §3.9).
    #[error("nonce of {len} bytes at byte {offset}: must be 16..=256")]
    NonceLength {
        /// Where the payload starts.
        offset: usize,
        /// The nonce's length.
        len: usize,
    },
    /// An SKF fragment number outside `1..=total` (RFC 7383 §2.5).
    #[error("fragment {number} of {total} at byte {offset}: must be 1 <= number <= total")]
    FragmentNumber {
        /// Where the payload starts.
        offset: usize,
        /// Fragment Number.
        number: u16,
        /// Total Fragments.
        total: u16,
    },
    /// An Encrypted or Encrypted Fragment payload that is not the last one (§3.14).
    #[error("encrypted payload at byte {offset} is not the last payload")]
    EncryptedNotLast {
        /// Where the payload starts.
        offset: usize,
    },
    /// A `Repr` holds a value its wire field cannot carry.
    #[error("cannot emit {field}: {len} exceeds the wire maximum {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The value or length.
        len: usize,
        /// The largest the field carries.
        max: usize,
    },
    /// The output buffer is too small.
    #[error("buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
}

/// The result of every parser and emitter here.
pub type Result<T> = core::result::Result<T, WireError>;

impl WireError {
    /// The same error with its offset moved by `base` (used when a payload's error is
    /// reported relative to the whole message).
    pub fn shifted(self, base: usize) -> WireError {
        use WireError::*;
        let add = |o: usize| o.saturating_add(base);
        match self {
            Truncated {
                field,
                offset,
                need,
                have,
            } => Truncated {
                field,
                offset: add(offset),
                need,
                have,
            },
            BadLength {
                field,
                offset,
                len,
                reason,
            } => BadLength {
                field,
                offset: add(offset),
                len,
                reason,
            },
            Invalid {
                field,
                offset,
                reason,
            } => Invalid {
                field,
                offset: add(offset),
                reason,
            },
            TrailingBytes {
                field,
                offset,
                count,
            } => TrailingBytes {
                field,
                offset: add(offset),
                count,
            },
            NonceLength { offset, len } => NonceLength {
                offset: add(offset),
                len,
            },
            FragmentNumber {
                offset,
                number,
                total,
            } => FragmentNumber {
                offset: add(offset),
                number,
                total,
            },
            EncryptedNotLast { offset } => EncryptedNotLast {
                offset: add(offset),
            },
            other @ (UnsupportedVersion { .. } | TooLong { .. } | BufferTooSmall { .. }) => other,
        }
    }
}

// ------------------------------------------------------------------ byte helpers

/// Big-endian u16 at `at`, 0 when out of bounds (views check lengths first).
fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at.saturating_add(2))
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
        .map_or(0, u16::from_be_bytes)
}

/// Big-endian u32 at `at`, 0 when out of bounds.
fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4))
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Big-endian u64 at `at`, 0 when out of bounds.
fn be64(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, u64::from_be_bytes)
}

/// The byte at `at`, 0 when out of bounds.
fn byte(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// `b[from..to]`, empty when out of bounds.
fn range(b: &[u8], from: usize, to: usize) -> &[u8] {
    b.get(from..to).unwrap_or(&[])
}

/// `Truncated` unless `have >= need`.
fn need(field: &'static str, offset: usize, need: usize, have: usize) -> Result<()> {
    if have < need {
        return Err(WireError::Truncated {
            field,
            offset,
            need,
            have,
        });
    }
    Ok(())
}

/// A length as a u16 wire field.
fn len16(field: &'static str, len: usize) -> Result<u16> {
    u16::try_from(len).map_err(|_| WireError::TooLong {
        field,
        len,
        max: usize::from(u16::MAX),
    })
}

/// A length or count as a u8 wire field.
fn len8(field: &'static str, len: usize) -> Result<u8> {
    u8::try_from(len).map_err(|_| WireError::TooLong {
        field,
        len,
        max: usize::from(u8::MAX),
    })
}

/// A bounds-checked writer over an output buffer.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    fn bytes(&mut self, b: &[u8]) -> Result<()> {
        let have = self.buf.len();
        let end = self.pos.saturating_add(b.len());
        let out = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(WireError::BufferTooSmall { need: end, have })?;
        out.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    fn u64(&mut self, v: u64) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// The mutable bytes from `pos` to `pos + n`, advancing past them.
    fn reserve(&mut self, n: usize) -> Result<&mut [u8]> {
        let have = self.buf.len();
        let end = self.pos.saturating_add(n);
        let start = self.pos;
        self.pos = end;
        self.buf
            .get_mut(start..end)
            .ok_or(WireError::BufferTooSmall { need: end, have })
    }

    fn written(&self) -> usize {
        self.pos
    }
}

/// Declares a read-only view over one payload (generic header included): the struct,
/// `new_unchecked`, `new_checked` (which calls the type's own `check_len`), `into_inner`
/// and the generic header accessors.
macro_rules! payload_view {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps a buffer without checking it.
            pub const fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            /// Wraps a buffer that starts with the payload and checks every length.
            pub fn new_checked(buffer: T) -> $crate::wire::Result<Self> {
                let v = Self::new_unchecked(buffer);
                v.check_len()?;
                Ok(v)
            }

            /// Gives the buffer back.
            pub fn into_inner(self) -> T {
                self.buffer
            }

            /// The generic payload header's view over the same bytes.
            pub fn generic(&self) -> $crate::wire::GenericPayload<&[u8]> {
                $crate::wire::GenericPayload::new_unchecked(self.buffer.as_ref())
            }

            /// The Next Payload field.
            pub fn next_payload(&self) -> $crate::wire::PayloadType {
                self.generic().next_payload()
            }

            /// The critical bit.
            pub fn critical(&self) -> bool {
                self.generic().critical()
            }

            /// The Payload Length field.
            pub fn payload_length(&self) -> u16 {
                self.generic().payload_length()
            }

            /// The body: the bytes after the generic header, up to the payload length.
            pub fn body(&self) -> &[u8] {
                let b = self.buffer.as_ref();
                let end = usize::from($crate::wire::be16(b, 2)).min(b.len());
                $crate::wire::range(b, $crate::wire::GENERIC_HEADER_LEN, end)
            }
        }
    };
}

use payload_view;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_moves_offsets_only() {
        let e = WireError::Truncated {
            field: "x",
            offset: 3,
            need: 4,
            have: 1,
        };
        assert_eq!(
            e.shifted(28),
            WireError::Truncated {
                field: "x",
                offset: 31,
                need: 4,
                have: 1
            }
        );
        let v = WireError::UnsupportedVersion { major: 1, minor: 0 };
        assert_eq!(v.shifted(5), v);
    }

    #[test]
    fn writer_refuses_overflow() {
        let mut b = [0u8; 3];
        let mut w = Writer::new(&mut b);
        assert!(w.u16(0x0102).is_ok());
        assert_eq!(
            w.u16(3),
            Err(WireError::BufferTooSmall { need: 4, have: 3 })
        );
        assert_eq!(byte(&b, 1), 2);
        assert_eq!(be32(&b, 0), 0);
    }
}

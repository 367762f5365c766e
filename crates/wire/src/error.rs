//! The crate's single error type: every failure names the field and the byte offset.

use thiserror::Error;

/// What went wrong while parsing or emitting a GRE or NHRP packet.
///
/// Offsets are counted from the start of the buffer handed to the parser (the GRE header for
/// [`crate::gre`], the NHRP fixed header for [`crate::nhrp`]; the standalone
/// [`crate::nhrp::parse_cies`] and [`crate::nhrp::parse_extensions`] add the base offset their
/// caller passes in).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A field does not fit in the bytes that remain.
    #[error("truncated {field} at byte {offset}: need {need} bytes, have {have}")]
    Truncated {
        /// Name of the field being read (e.g. `cie.client_nbma`).
        field: &'static str,
        /// Byte offset where the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes that were available.
        have: usize,
    },
    /// A field holds a value that makes the packet unparseable.
    #[error("invalid {field} at byte {offset}: {reason}")]
    Invalid {
        /// Name of the field.
        field: &'static str,
        /// Byte offset of the field.
        offset: usize,
        /// Why the value is refused.
        reason: &'static str,
    },
    /// A field holds a value this codec does not implement (e.g. GRE version 1, NHRP version 2).
    #[error("unsupported {field} = {value} at byte {offset}")]
    Unsupported {
        /// Name of the field.
        field: &'static str,
        /// Byte offset of the field.
        offset: usize,
        /// The value found.
        value: u32,
    },
    /// The checksum does not match the bytes.
    #[error("bad {field}: received {received:#06x}, computed {computed:#06x}")]
    Checksum {
        /// `gre.checksum` or `ar$chksum`.
        field: &'static str,
        /// The value on the wire.
        received: u16,
        /// The value the bytes call for.
        computed: u16,
    },
    /// A `Repr` holds a value too large for its wire field, so it cannot be emitted.
    #[error("cannot emit {field}: length {len} exceeds the wire maximum {max}")]
    TooLong {
        /// Name of the field.
        field: &'static str,
        /// The length the `Repr` asks for.
        len: usize,
        /// The largest length the field can carry.
        max: usize,
    },
    /// The output buffer is smaller than `buffer_len()`.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
}

/// Result alias for this crate.
pub type Result<T> = core::result::Result<T, Error>;

//! Block framing checks, run on the buffered bytes before `pcap-parser` sees a block.
//!
//! `pcap-parser` 0.17.0 (the newest release) trusts parts of the framing it
//! parses. Its generic pcapng block parser computes `block_total_length - 12`
//! after checking the length only against a per-type minimum, and the minimum
//! of the Process Information Block is 4: a block of that type whose length is
//! below 12 underflows, which panics ("attempt to subtract with overflow") in
//! any build with overflow checks (debug, sanitizer and fuzz builds) and wraps
//! to a 4 GiB length otherwise. Record and block lengths are also trusted for
//! buffering: a huge one makes the reader grow its buffer until a limit.
//!
//! [`Framer`] checks the framing of the next pcapng block or classic pcap
//! record in the reader's buffer, and [`crate::CaptureReader`] calls it before
//! every call into the parser, so the parser only ever sees blocks whose
//! framing is sound:
//!
//! * pcapng: the total length is at least 12, a multiple of 4 and at most
//!   [`MAX_BLOCK_SIZE`]; the trailing copy of the length equals the leading
//!   one; the byte order of each section comes from its Section Header
//!   Block's byte-order magic, which must be `0x1A2B3C4D` in either order.
//! * classic pcap: a record (header plus captured bytes) fits in
//!   [`MAX_BLOCK_SIZE`].
//!
//! The checks are pure functions of the bytes: no I/O, no allocation.

use crate::reader::MAX_BLOCK_SIZE;

/// Block type of a pcapng Section Header Block (the same in both byte orders).
pub const SECTION_HEADER_TYPE: u32 = 0x0A0D_0D0A;
/// The byte-order magic of a Section Header Block, as written by the writer.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// The smallest pcapng block: type, leading length and trailing length.
pub const MIN_BLOCK_LEN: u32 = 12;
/// Size of a classic pcap file header.
pub const PCAP_FILE_HEADER_LEN: usize = 24;

/// Byte order of a classic pcap file or of a pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl ByteOrder {
    /// The `u32` at byte offset `at` of `data`, or `None` when `data` is too short.
    fn u32_at(self, data: &[u8], at: usize) -> Option<u32> {
        let end = at.checked_add(4)?;
        let bytes: [u8; 4] = data.get(at..end)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        })
    }
}

/// What the framing check found at the start of the buffered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A whole block (or record) of `len` bytes, with sound framing, starts the buffer.
    Complete {
        /// The block's length in bytes, headers and trailer included.
        len: usize,
    },
    /// The framing read so far is sound, but the block is not wholly buffered
    /// yet; `len` is its length once the header has been read.
    Partial {
        /// The block's length in bytes, when known.
        len: Option<usize>,
    },
}

/// Why the framing of a block or record is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A pcapng block total length below 12 (the length of an empty block).
    #[error("block total length {len} is below the 12-byte minimum")]
    TooShort {
        /// The block total length as read.
        len: u32,
    },
    /// A pcapng block total length that is not a multiple of 4.
    #[error("block total length {len} is not a multiple of 4")]
    Unaligned {
        /// The block total length as read.
        len: u32,
    },
    /// The trailing copy of a pcapng block's total length differs from the leading one.
    #[error("trailing block total length {trailer} differs from the leading {len}")]
    LengthMismatch {
        /// The leading block total length.
        len: u32,
        /// The trailing block total length.
        trailer: u32,
    },
    /// A Section Header Block's byte-order magic is neither order of `0x1A2B3C4D`.
    #[error("section header byte-order magic {magic:#010x} is not 0x1a2b3c4d in either byte order")]
    ByteOrderMagic {
        /// The magic as read, little-endian.
        magic: u32,
    },
    /// A block or record larger than [`MAX_BLOCK_SIZE`].
    #[error("block of {len} bytes is larger than the {limit}-byte limit")]
    TooLarge {
        /// The block's length in bytes, headers included.
        len: u64,
        /// The limit in bytes.
        limit: usize,
    },
}

/// The container being read and what framing its next unit needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framer {
    /// Classic pcap: a 24-byte file header, then records.
    Pcap {
        /// Byte order of the record headers.
        order: ByteOrder,
        /// Size of a record header (16; 24 in the "modified" format).
        record_header: usize,
    },
    /// pcapng: sections of blocks.
    PcapNg {
        /// Byte order of the current section (taken from each Section Header Block).
        order: ByteOrder,
    },
}

impl Framer {
    /// Detects the container from the first bytes of a file: the classic pcap
    /// magics `pcap-parser` reads, or a pcapng Section Header Block type.
    pub fn detect(prefix: &[u8]) -> Option<Framer> {
        let magic = ByteOrder::Little.u32_at(prefix, 0)?;
        let pcap = |order, record_header| Framer::Pcap {
            order,
            record_header,
        };
        match magic {
            SECTION_HEADER_TYPE => Some(Framer::PcapNg {
                order: ByteOrder::Little,
            }),
            0xA1B2_C3D4 | 0xA1B2_3C4D => Some(pcap(ByteOrder::Little, 16)),
            0xA1B2_CD34 => Some(pcap(ByteOrder::Little, 24)),
            0xD4C3_B2A1 | 0x4D3C_B2A1 => Some(pcap(ByteOrder::Big, 16)),
            _ => None,
        }
    }

    /// Checks the framing of the block or record that starts `data` (the
    /// unread bytes of the reader's buffer). `at_file_start` is true when
    /// `data` starts at byte 0 of the file (a classic pcap file header, or the
    /// first Section Header Block).
    ///
    /// A Section Header Block sets the byte order used for the blocks after it.
    pub fn check(&mut self, data: &[u8], at_file_start: bool) -> Result<Framing, FramingError> {
        match self {
            Framer::Pcap {
                order,
                record_header,
            } => {
                if at_file_start {
                    return Ok(framing(data, PCAP_FILE_HEADER_LEN));
                }
                check_pcap_record(data, *order, *record_header)
            }
            Framer::PcapNg { order } => check_pcapng_block(data, order),
        }
    }
}

/// `Complete` when `len` bytes are buffered, else `Partial`.
fn framing(data: &[u8], len: usize) -> Framing {
    if data.len() >= len {
        Framing::Complete { len }
    } else {
        Framing::Partial { len: Some(len) }
    }
}

/// A classic pcap record: header, then as many bytes as its captured length.
fn check_pcap_record(
    data: &[u8],
    order: ByteOrder,
    record_header: usize,
) -> Result<Framing, FramingError> {
    let Some(caplen) = order.u32_at(data, 8) else {
        return Ok(Framing::Partial { len: None });
    };
    let len = u64::from(caplen) + record_header as u64;
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_BLOCK_SIZE)
        .ok_or(FramingError::TooLarge {
            len,
            limit: MAX_BLOCK_SIZE,
        })?;
    Ok(framing(data, len))
}

/// A pcapng block: type, total length, body, total length again.
fn check_pcapng_block(data: &[u8], order: &mut ByteOrder) -> Result<Framing, FramingError> {
    // The type of a Section Header Block reads the same in both orders.
    let Some(block_type) = ByteOrder::Little.u32_at(data, 0) else {
        return Ok(Framing::Partial { len: None });
    };
    if block_type == SECTION_HEADER_TYPE {
        let Some(magic) = ByteOrder::Little.u32_at(data, 8) else {
            return Ok(Framing::Partial { len: None });
        };
        *order = if magic == BYTE_ORDER_MAGIC {
            ByteOrder::Little
        } else if magic == BYTE_ORDER_MAGIC.swap_bytes() {
            ByteOrder::Big
        } else {
            return Err(FramingError::ByteOrderMagic { magic });
        };
    }
    let Some(len) = order.u32_at(data, 4) else {
        return Ok(Framing::Partial { len: None });
    };
    if len < MIN_BLOCK_LEN {
        return Err(FramingError::TooShort { len });
    }
    if len % 4 != 0 {
        return Err(FramingError::Unaligned { len });
    }
    let size = usize::try_from(len)
        .ok()
        .filter(|&size| size <= MAX_BLOCK_SIZE)
        .ok_or(FramingError::TooLarge {
            len: u64::from(len),
            limit: MAX_BLOCK_SIZE,
        })?;
    // `size >= 12`, so the trailer starts after the header.
    match order.u32_at(data, size - 4) {
        None => Ok(Framing::Partial { len: Some(size) }),
        Some(trailer) if trailer != len => Err(FramingError::LengthMismatch { len, trailer }),
        Some(_) => Ok(Framing::Complete { len: size }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_le(ty: u32, len: u32, body: &[u8], trailer: u32) -> Vec<u8> {
        let mut out = ty.to_le_bytes().to_vec();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&trailer.to_le_bytes());
        out
    }

    fn ng() -> Framer {
        Framer::PcapNg {
            order: ByteOrder::Little,
        }
    }

    #[test]
    fn every_length_below_twelve_is_too_short() {
        for len in 0..MIN_BLOCK_LEN {
            let bytes = block_le(0x8000_0001, len, &[0; 8], len);
            assert_eq!(
                ng().check(&bytes, false),
                Err(FramingError::TooShort { len })
            );
        }
    }

    #[test]
    fn unaligned_mismatched_and_huge_lengths_are_rejected() {
        let bytes = block_le(6, 13, &[0; 1], 13);
        assert_eq!(
            ng().check(&bytes, false),
            Err(FramingError::Unaligned { len: 13 })
        );
        let bytes = block_le(6, 16, &[0; 4], 20);
        assert_eq!(
            ng().check(&bytes, false),
            Err(FramingError::LengthMismatch {
                len: 16,
                trailer: 20
            })
        );
        let bytes = block_le(6, 0xFFFF_FFFC, &[], 0);
        assert!(matches!(
            ng().check(&bytes, false),
            Err(FramingError::TooLarge { .. })
        ));
    }

    #[test]
    fn sound_blocks_are_complete_or_partial() {
        let bytes = block_le(6, 16, &[0; 4], 16);
        assert_eq!(ng().check(&bytes, false), Ok(Framing::Complete { len: 16 }));
        assert_eq!(
            ng().check(&bytes[..15], false),
            Ok(Framing::Partial { len: Some(16) })
        );
        assert_eq!(
            ng().check(&bytes[..7], false),
            Ok(Framing::Partial { len: None })
        );
    }

    #[test]
    fn section_header_sets_the_byte_order() {
        let mut framer = ng();
        let mut shb = SECTION_HEADER_TYPE.to_be_bytes().to_vec();
        shb.extend_from_slice(&28u32.to_be_bytes());
        shb.extend_from_slice(&BYTE_ORDER_MAGIC.to_be_bytes());
        shb.extend_from_slice(&[0; 12]);
        shb.extend_from_slice(&28u32.to_be_bytes());
        assert_eq!(framer.check(&shb, true), Ok(Framing::Complete { len: 28 }));
        assert_eq!(
            framer,
            Framer::PcapNg {
                order: ByteOrder::Big
            }
        );
        let mut epb = 6u32.to_be_bytes().to_vec();
        epb.extend_from_slice(&12u32.to_be_bytes());
        epb.extend_from_slice(&12u32.to_be_bytes());
        assert_eq!(framer.check(&epb, false), Ok(Framing::Complete { len: 12 }));

        shb[8..12].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        assert_eq!(
            framer.check(&shb, false),
            Err(FramingError::ByteOrderMagic { magic: 0x1234_5678 })
        );
    }

    #[test]
    fn pcap_records_are_bounded() {
        let mut framer = Framer::detect(&0xA1B2_C3D4u32.to_le_bytes()).unwrap();
        assert_eq!(
            framer.check(&[0; 24], true),
            Ok(Framing::Complete { len: 24 })
        );
        let mut record = vec![0u8; 8];
        record.extend_from_slice(&3u32.to_le_bytes());
        record.extend_from_slice(&3u32.to_le_bytes());
        record.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            framer.check(&record, false),
            Ok(Framing::Complete { len: 19 })
        );
        record[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            framer.check(&record, false),
            Err(FramingError::TooLarge { .. })
        ));
        assert_eq!(
            Framer::detect(&0xA1B2_CD34u32.to_le_bytes()),
            Some(Framer::Pcap {
                order: ByteOrder::Little,
                record_header: 24
            })
        );
        assert_eq!(Framer::detect(b"GET "), None);
        assert_eq!(Framer::detect(b"ab"), None);
    }
}

//! Typed errors of capture reading and demultiplexing.

use crate::framing::FramingError;
use crate::reader::LinkType;

/// Why a capture, or one frame of it, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path as given.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The input holds no bytes at all.
    #[error("the capture is empty")]
    Empty,
    /// The input starts with neither a pcap nor a pcapng header.
    #[error("not a pcap or pcapng capture (unrecognised file header)")]
    NotACapture,
    /// Reading the underlying source failed.
    #[error("read error at byte offset {offset}")]
    Read {
        /// Byte offset in the file of the block being read.
        offset: usize,
    },
    /// The file ends in the middle of a block.
    #[error("capture truncated: the block at byte offset {offset} is incomplete")]
    Truncated {
        /// Byte offset in the file of the incomplete block.
        offset: usize,
    },
    /// A block is structurally invalid (its contents contradict its length,
    /// an unknown magic, ...).
    #[error("malformed capture block at byte offset {offset}")]
    Malformed {
        /// Byte offset in the file of the bad block.
        offset: usize,
    },
    /// A block's or record's framing (its length fields, or a section's
    /// byte-order magic) is invalid; found before the block is parsed.
    #[error("bad capture block framing at byte offset {offset}: {error}")]
    Framing {
        /// Byte offset in the file of the bad block.
        offset: usize,
        /// Which framing rule the block breaks.
        #[source]
        error: FramingError,
    },
    /// A block is larger than the reader is willing to buffer.
    #[error("block at byte offset {offset} is larger than the {limit}-byte limit")]
    BlockTooLarge {
        /// Byte offset in the file of the block.
        offset: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A pcapng packet refers to an interface that was never described.
    #[error("frame {frame} (byte offset {offset}) refers to undefined interface {interface}")]
    UnknownInterface {
        /// The frame number.
        frame: u64,
        /// Byte offset in the file of the packet block.
        offset: usize,
        /// The interface id in the packet block.
        interface: u32,
    },
}

impl CaptureError {
    /// True when the rest of the capture cannot be read after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, CaptureError::UnknownInterface { .. })
    }

    /// Byte offset in the file of the block the error concerns, when it concerns one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            CaptureError::Read { offset }
            | CaptureError::Truncated { offset }
            | CaptureError::Malformed { offset }
            | CaptureError::Framing { offset, .. }
            | CaptureError::BlockTooLarge { offset, .. }
            | CaptureError::UnknownInterface { offset, .. } => Some(*offset),
            CaptureError::Open { .. } | CaptureError::Empty | CaptureError::NotACapture => None,
        }
    }
}

/// Why a frame that carries NHRP could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemuxError {
    /// The frame's link type is not one this crate understands.
    #[error("frame {frame}: unsupported link type {link_type}")]
    UnsupportedLinkType {
        /// The frame number.
        frame: u64,
        /// The link type of the frame.
        link_type: LinkType,
    },
    /// A GRE header announcing NHRP (protocol type 0x2001) is malformed.
    #[error("frame {frame}: bad GRE header at byte offset {offset} of the frame: {error}")]
    Gre {
        /// The frame number.
        frame: u64,
        /// Byte offset of the GRE header within the frame.
        offset: usize,
        /// What the GRE codec reported (its offsets count from the GRE header).
        #[source]
        error: dmvpn_wire::Error,
    },
}

//! `dmvpn-capture`: reading pcap/pcapng captures and finding the NHRP packets in them.
//!
//! Three layers, each usable on its own:
//!
//! * [`CaptureReader`] walks a pcap or pcapng file and yields numbered
//!   [`Frame`]s (frame numbers start at 1, as in Wireshark) with their
//!   timestamp and link type.
//! * [`nhrp_in_frame`] unwraps one frame (Ethernet/VLAN, Linux SLL/SLL2,
//!   loopback, raw IP; IPv4 or IPv6; GRE with or without key, or IP
//!   protocol 54) down to the NHRP bytes, giving an [`NhrpFrame`].
//! * [`NhrpFrames`] combines both: every NHRP packet of a capture, in order.
//! * [`PcapWriter`] and [`ethernet_gre_frame`] go the other way: they write
//!   GRE/NHRP frames into a classic pcap file (for tests and tools).
//!
//! Nothing in this crate panics on malformed input, whatever the build
//! profile: the framing of every block is checked ([`framing`]) before the
//! `pcap-parser` crate parses it, and problems are reported
//! as [`CaptureError`] (file level) or [`DemuxError`] (one frame), both
//! wrapped in [`Error`] by the combined iterator.
//!
//! ```no_run
//! for item in dmvpn_capture::NhrpFrames::open("dmvpn.pcapng")? {
//!     match item {
//!         Ok(packet) => println!("frame {}: {} NHRP bytes", packet.frame, packet.nhrp.len()),
//!         Err(err) => eprintln!("{err}"),
//!     }
//! }
//! # Ok::<(), dmvpn_capture::CaptureError>(())
//! ```

pub mod demux;
pub mod error;
pub mod framing;
pub mod reader;
pub mod writer;

use std::collections::HashSet;
use std::path::Path;

pub use demux::{Encapsulation, NhrpFrame, nhrp_in_frame};
pub use error::{CaptureError, DemuxError};
pub use framing::FramingError;
pub use reader::{CaptureReader, Format, Frame, LinkType, Timestamp};
pub use writer::{BuildError, PcapWriter, ethernet_gre_frame};

/// Any error of [`NhrpFrames`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The capture file itself could not be read further.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// One frame could not be taken apart.
    #[error(transparent)]
    Demux(#[from] DemuxError),
}

impl Error {
    /// The frame number the error concerns, when it concerns one frame.
    pub fn frame(&self) -> Option<u64> {
        match self {
            Error::Capture(CaptureError::UnknownInterface { frame, .. }) => Some(*frame),
            Error::Capture(_) => None,
            Error::Demux(DemuxError::UnsupportedLinkType { frame, .. })
            | Error::Demux(DemuxError::Gre { frame, .. }) => Some(*frame),
        }
    }
}

/// Iterator over every NHRP packet of a capture.
///
/// Frames without NHRP are skipped. An unsupported link type is reported
/// once per link type (for the first frame that has it), not for every frame.
#[derive(Debug)]
pub struct NhrpFrames<'a> {
    reader: CaptureReader<'a>,
    reported_link_types: HashSet<LinkType>,
}

impl NhrpFrames<'static> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<NhrpFrames<'static>, CaptureError> {
        Ok(NhrpFrames::new(CaptureReader::open(path)?))
    }
}

impl<'a> NhrpFrames<'a> {
    /// Wraps a frame reader.
    pub fn new(reader: CaptureReader<'a>) -> NhrpFrames<'a> {
        NhrpFrames {
            reader,
            reported_link_types: HashSet::new(),
        }
    }

    /// Reads a capture held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<NhrpFrames<'a>, CaptureError> {
        Ok(NhrpFrames::new(CaptureReader::from_bytes(bytes)?))
    }

    /// Number of frames read so far (with or without NHRP).
    pub fn frames_read(&self) -> u64 {
        self.reader.frames_read()
    }
}

impl Iterator for NhrpFrames<'_> {
    type Item = Result<NhrpFrame, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let frame = match self.reader.next()? {
                Ok(frame) => frame,
                Err(err) => return Some(Err(err.into())),
            };
            match nhrp_in_frame(&frame) {
                Ok(Some(packet)) => return Some(Ok(packet)),
                Ok(None) => {}
                Err(DemuxError::UnsupportedLinkType { frame, link_type }) => {
                    if self.reported_link_types.insert(link_type) {
                        return Some(Err(
                            DemuxError::UnsupportedLinkType { frame, link_type }.into()
                        ));
                    }
                }
                Err(err) => return Some(Err(err.into())),
            }
        }
    }
}

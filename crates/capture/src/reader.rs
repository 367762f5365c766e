//! Capture file reading: pcap and pcapng files turned into numbered [`Frame`]s.
//!
//! This module owns the file layer only: it walks the blocks of a pcap or
//! pcapng file (via the `pcap-parser` crate), keeps the per-interface link
//! type and timestamp resolution of pcapng sections, and numbers packet
//! records from 1 the way Wireshark numbers frames. It does not look inside
//! the frames; see [`crate::demux`] for that.
//!
//! Reading never panics on malformed input: the framing of every block is
//! checked by [`crate::framing`] before the parser sees it, and every problem
//! is a [`CaptureError`]. Errors that make the rest of the file unreadable end the
//! iteration; errors confined to one record (an unknown interface id, for
//! example) are reported and iteration continues.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError};

use crate::error::CaptureError;
use crate::framing::{Framer, Framing, FramingError};

/// Bytes read before detecting the format (more than any file header).
const FORMAT_PROBE_LEN: usize = 512;
/// Initial size of the read buffer.
const INITIAL_BUFFER: usize = 64 * 1024;
/// The read buffer grows (doubling) up to this size to hold one block; a
/// larger block is reported as [`CaptureError::BlockTooLarge`].
pub const MAX_BLOCK_SIZE: usize = 64 * 1024 * 1024;

/// Link-layer header type of a capture (the pcap `LINKTYPE_` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback (`LINKTYPE_NULL`, 0): 4-byte address family, host byte order.
    Null,
    /// Ethernet II, possibly with VLAN tags (`LINKTYPE_ETHERNET`, 1).
    Ethernet,
    /// Raw IPv4 or IPv6 (`LINKTYPE_RAW`, 101; also 12 and 14 as written by
    /// some platforms' `DLT_RAW`).
    Raw,
    /// OpenBSD loopback (`LINKTYPE_LOOP`, 108): 4-byte address family, network byte order.
    Loop,
    /// Linux cooked capture v1 (`LINKTYPE_LINUX_SLL`, 113).
    LinuxSll,
    /// Raw IPv4 (`LINKTYPE_IPV4`, 228).
    Ipv4,
    /// Raw IPv6 (`LINKTYPE_IPV6`, 229).
    Ipv6,
    /// Linux cooked capture v2 (`LINKTYPE_LINUX_SLL2`, 276).
    LinuxSll2,
    /// Any other link type; frames of this type are not demultiplexed.
    Unknown(u32),
}

impl LinkType {
    /// Maps a pcap/pcapng link type number.
    pub fn from_raw(raw: u32) -> LinkType {
        match raw {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Unknown(other),
        }
    }

    /// The link type number as written in capture files (`Raw` gives 101).
    pub fn to_raw(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Unknown(raw) => raw,
        }
    }

    /// Whether [`crate::demux`] understands frames of this link type.
    pub fn is_supported(self) -> bool {
        !matches!(self, LinkType::Unknown(_))
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Null => f.write_str("null"),
            LinkType::Ethernet => f.write_str("ethernet"),
            LinkType::Raw => f.write_str("raw"),
            LinkType::Loop => f.write_str("loop"),
            LinkType::LinuxSll => f.write_str("linux-sll"),
            LinkType::Ipv4 => f.write_str("ipv4"),
            LinkType::Ipv6 => f.write_str("ipv6"),
            LinkType::LinuxSll2 => f.write_str("linux-sll2"),
            LinkType::Unknown(raw) => write!(f, "linktype-{raw}"),
        }
    }
}

/// A capture timestamp: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z (negative before it).
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and a fraction expressed in `units_per_sec`.
    fn from_fraction(secs: i64, fraction: u64, units_per_sec: u64) -> Timestamp {
        let nanos = if units_per_sec == 0 {
            0
        } else {
            (u128::from(fraction) * 1_000_000_000 / u128::from(units_per_sec)) as u64
        };
        // `fraction < units_per_sec` always holds for our callers, but clamp anyway.
        let nanos = u32::try_from(nanos.min(999_999_999)).unwrap_or(999_999_999);
        Timestamp { secs, nanos }
    }
}

impl fmt::Display for Timestamp {
    /// Seconds since the epoch with nine decimals, like tshark's `frame.time_epoch`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

/// Container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One packet record of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Frame number, counting packet records from 1 as Wireshark does.
    pub number: u64,
    /// When the frame was captured.
    pub timestamp: Timestamp,
    /// Link-layer header type of `data`.
    pub link_type: LinkType,
    /// Length of the frame on the wire (may exceed `data.len()` when the
    /// capture was taken with a snap length).
    pub orig_len: u32,
    /// The captured bytes, starting with the link-layer header.
    pub data: Vec<u8>,
}

impl Frame {
    /// True when fewer bytes were captured than the frame had on the wire.
    pub fn is_truncated(&self) -> bool {
        u64::from(self.orig_len) > self.data.len() as u64
    }
}

/// Per-interface state of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// State needed to turn blocks into frames.
#[derive(Debug, Default)]
struct State {
    format: Option<Format>,
    /// Link type of a classic pcap file.
    legacy_link: Option<LinkType>,
    /// Whether a classic pcap file has nanosecond timestamps.
    legacy_nanos: bool,
    interfaces: Vec<Interface>,
    /// Number of packet records seen so far.
    frames: u64,
}

/// Streaming reader of a pcap or pcapng capture; iterate it for frames.
///
/// ```no_run
/// let reader = dmvpn_capture::CaptureReader::open("trace.pcapng")?;
/// for frame in reader {
///     let frame = frame?;
///     println!("{} {} bytes", frame.number, frame.data.len());
/// }
/// # Ok::<(), dmvpn_capture::CaptureError>(())
/// ```
pub struct CaptureReader<'a> {
    inner: Box<dyn PcapReaderIterator + Send + 'a>,
    framer: Framer,
    state: State,
    capacity: usize,
    done: bool,
}

impl fmt::Debug for CaptureReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.state.format)
            .field("frames", &self.state.frames)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl CaptureReader<'static> {
    /// Opens a capture file.
    pub fn open(path: impl AsRef<Path>) -> Result<CaptureReader<'static>, CaptureError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.display().to_string(),
            source,
        })?;
        CaptureReader::new(BufReader::new(file))
    }
}

impl<'a> CaptureReader<'a> {
    /// Reads a capture from any byte source; the format (pcap or pcapng,
    /// either byte order) is detected from the first bytes.
    pub fn new<R: Read + Send + 'a>(source: R) -> Result<CaptureReader<'a>, CaptureError> {
        CaptureReader::with_capacity(INITIAL_BUFFER, source)
    }

    /// Reads a capture held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<CaptureReader<'a>, CaptureError> {
        // No need for a buffer larger than the input (it grows if a block needs it).
        CaptureReader::with_capacity(bytes.len().clamp(4096, INITIAL_BUFFER), bytes)
    }

    fn with_capacity<R: Read + Send + 'a>(
        capacity: usize,
        mut source: R,
    ) -> Result<CaptureReader<'a>, CaptureError> {
        // The format is detected from a single read, so make sure that read
        // sees the whole file header even when the source gives short reads
        // (pipes).
        let mut prefix = Vec::with_capacity(FORMAT_PROBE_LEN);
        source
            .by_ref()
            .take(FORMAT_PROBE_LEN as u64)
            .read_to_end(&mut prefix)
            .map_err(|_| CaptureError::Read { offset: 0 })?;
        let framer = Framer::detect(&prefix);
        let source = io::Cursor::new(prefix).chain(source);
        let inner = pcap_parser::create_reader(capacity, source).map_err(|e| match e {
            PcapError::Eof => CaptureError::Empty,
            PcapError::ReadError => CaptureError::Read { offset: 0 },
            PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                CaptureError::Truncated { offset: 0 }
            }
            _ => CaptureError::NotACapture,
        })?;
        // The parser accepted the file header, so the magic is one we know.
        let framer = framer.ok_or(CaptureError::NotACapture)?;
        Ok(CaptureReader {
            inner,
            framer,
            state: State::default(),
            capacity,
            done: false,
        })
    }

    /// The container format, known once the first block has been read.
    pub fn format(&self) -> Option<Format> {
        self.state.format
    }

    /// Number of packet records read so far.
    pub fn frames_read(&self) -> u64 {
        self.state.frames
    }

    /// Reads the next block; `Ok(None)` at the end of the file.
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        // Bound the number of refill attempts that make no progress.
        let mut stalls = 0u32;
        loop {
            let offset = self.inner.consumed();
            // The parser trusts the framing; check it first.
            let framing = self
                .framer
                .check(self.inner.data(), offset == 0)
                .map_err(|error| framing_error(error, offset))?;
            let complete = match framing {
                Framing::Complete { len } => Some(len),
                Framing::Partial { .. } => None,
            };
            match self.inner.next() {
                Ok((len, _)) if complete.is_some_and(|expected| expected != len) => {
                    return Err(CaptureError::Malformed { offset });
                }
                Ok((len, block)) => {
                    let result = handle_block(&mut self.state, block, offset);
                    self.inner.consume(len);
                    match result {
                        Ok(Some(frame)) => return Ok(Some(frame)),
                        Ok(None) => {}
                        Err(err) => return Err(err),
                    }
                }
                Err(PcapError::Eof) => return Ok(None),
                // The whole block is buffered, yet the parser wants more:
                // the block's contents overrun its length.
                Err(
                    PcapError::Incomplete(_) | PcapError::BufferTooSmall | PcapError::UnexpectedEof,
                ) if complete.is_some() => {
                    return Err(CaptureError::Malformed { offset });
                }
                Err(PcapError::Incomplete(_)) => {
                    let before = self.inner.data().len();
                    self.inner
                        .refill()
                        .map_err(|_| CaptureError::Read { offset })?;
                    // Once the source is exhausted the parser answers Eof or
                    // UnexpectedEof, so only a full buffer can stall here.
                    if self.inner.data().len() == before && !self.inner.reader_exhausted() {
                        stalls += 1;
                        if stalls > 2 {
                            self.grow(offset)?;
                            stalls = 0;
                        }
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    self.grow(offset)?;
                    self.inner
                        .refill()
                        .map_err(|_| CaptureError::Read { offset })?;
                }
                Err(PcapError::UnexpectedEof) => {
                    return Err(CaptureError::Truncated { offset });
                }
                Err(PcapError::ReadError) => return Err(CaptureError::Read { offset }),
                Err(_) => return Err(CaptureError::Malformed { offset }),
            }
        }
    }

    /// Doubles the buffer, or fails when the file is exhausted or the limit is reached.
    fn grow(&mut self, offset: usize) -> Result<(), CaptureError> {
        if self.inner.reader_exhausted() {
            return Err(CaptureError::Truncated { offset });
        }
        let new = self.capacity.saturating_mul(2);
        if new > MAX_BLOCK_SIZE || !self.inner.grow(new) {
            return Err(CaptureError::BlockTooLarge {
                offset,
                limit: MAX_BLOCK_SIZE,
            });
        }
        self.capacity = new;
        Ok(())
    }
}

impl Iterator for CaptureReader<'_> {
    type Item = Result<Frame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_frame() {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(err) => {
                if err.is_fatal() {
                    self.done = true;
                }
                Some(Err(err))
            }
        }
    }
}

/// The reader's error for a framing problem at `offset`.
fn framing_error(error: FramingError, offset: usize) -> CaptureError {
    match error {
        FramingError::TooLarge { limit, .. } => CaptureError::BlockTooLarge { offset, limit },
        error => CaptureError::Framing { offset, error },
    }
}

/// Turns one block into a frame (packet blocks) or updates the state.
fn handle_block(
    state: &mut State,
    block: PcapBlockOwned<'_>,
    offset: usize,
) -> Result<Option<Frame>, CaptureError> {
    match block {
        PcapBlockOwned::LegacyHeader(header) => {
            state.format = Some(Format::Pcap);
            state.legacy_nanos = header.is_nanosecond_precision();
            state.legacy_link = Some(LinkType::from_raw(header.network.0 as u32));
            Ok(None)
        }
        PcapBlockOwned::Legacy(record) => {
            state.frames += 1;
            let units = if state.legacy_nanos {
                1_000_000_000
            } else {
                1_000_000
            };
            let fraction = u64::from(record.ts_usec);
            // Some writers put out-of-range fractions; carry them into seconds.
            let secs = i64::from(record.ts_sec) + (fraction / units) as i64;
            Ok(Some(Frame {
                number: state.frames,
                timestamp: Timestamp::from_fraction(secs, fraction % units, units),
                link_type: state.legacy_link.unwrap_or(LinkType::Unknown(u32::MAX)),
                orig_len: record.origlen,
                data: record.data.to_vec(),
            }))
        }
        PcapBlockOwned::NG(block) => handle_ng_block(state, block, offset),
    }
}

fn handle_ng_block(
    state: &mut State,
    block: Block<'_>,
    offset: usize,
) -> Result<Option<Frame>, CaptureError> {
    match block {
        Block::SectionHeader(_) => {
            state.format = Some(Format::PcapNg);
            state.interfaces.clear();
            Ok(None)
        }
        Block::InterfaceDescription(idb) => {
            state.interfaces.push(Interface {
                link_type: LinkType::from_raw(idb.linktype.0 as u32),
                units_per_sec: ts_units(idb.if_tsresol),
                offset_secs: idb.if_tsoffset,
            });
            Ok(None)
        }
        Block::EnhancedPacket(epb) => {
            state.frames += 1;
            let number = state.frames;
            let iface = usize::try_from(epb.if_id)
                .ok()
                .and_then(|i| state.interfaces.get(i))
                .copied()
                .ok_or(CaptureError::UnknownInterface {
                    frame: number,
                    offset,
                    interface: epb.if_id,
                })?;
            let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
            let units = iface.units_per_sec.max(1);
            let secs = i64::try_from(ticks / units)
                .unwrap_or(i64::MAX)
                .saturating_add(iface.offset_secs);
            Ok(Some(Frame {
                number,
                timestamp: Timestamp::from_fraction(secs, ticks % units, units),
                link_type: iface.link_type,
                orig_len: epb.origlen,
                data: epb.packet_data().to_vec(),
            }))
        }
        Block::SimplePacket(spb) => {
            state.frames += 1;
            let number = state.frames;
            let iface =
                state
                    .interfaces
                    .first()
                    .copied()
                    .ok_or(CaptureError::UnknownInterface {
                        frame: number,
                        offset,
                        interface: 0,
                    })?;
            Ok(Some(Frame {
                number,
                timestamp: Timestamp::default(),
                link_type: iface.link_type,
                orig_len: spb.origlen,
                data: spb.packet_data().to_vec(),
            }))
        }
        _ => Ok(None),
    }
}

/// Timestamp units per second for a pcapng `if_tsresol` value (default 10^6).
fn ts_units(tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        10u64.checked_pow(exp).unwrap_or(1_000_000)
    } else {
        1u64.checked_shl(exp).unwrap_or(1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic little-endian pcap with the given link type and records.
    pub(crate) fn pcap(link: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&link.to_le_bytes());
        for (sec, usec, data) in records {
            out.extend_from_slice(&sec.to_le_bytes());
            out.extend_from_slice(&usec.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn reads_classic_pcap_frames_numbered_from_one() {
        let bytes = pcap(101, &[(10, 5, &[0x45, 0]), (11, 999_999, &[1, 2, 3])]);
        let mut reader = CaptureReader::from_bytes(&bytes).unwrap();
        let a = reader.next().unwrap().unwrap();
        assert_eq!(a.number, 1);
        assert_eq!(a.link_type, LinkType::Raw);
        assert_eq!(a.timestamp.to_string(), "10.000005000");
        let b = reader.next().unwrap().unwrap();
        assert_eq!(b.number, 2);
        assert_eq!(b.data, vec![1, 2, 3]);
        assert!(reader.next().is_none());
        assert_eq!(reader.format(), Some(Format::Pcap));
    }

    #[test]
    fn truncated_file_is_a_typed_error() {
        let bytes = pcap(1, &[(1, 2, &[0u8; 40])]);
        let cut = &bytes[..bytes.len() - 10];
        let results: Vec<_> = CaptureReader::from_bytes(cut).unwrap().collect();
        assert!(matches!(
            results.last(),
            Some(Err(CaptureError::Truncated { .. }))
        ));
    }

    #[test]
    fn garbage_is_not_a_capture() {
        assert!(matches!(
            CaptureReader::from_bytes(b"hello, this is not a capture file at all"),
            Err(CaptureError::NotACapture)
        ));
        assert!(matches!(
            CaptureReader::from_bytes(b""),
            Err(CaptureError::Empty)
        ));
    }

    #[test]
    fn records_larger_than_the_buffer_grow_it() {
        let big = vec![0xabu8; 200_000];
        let bytes = pcap(1, &[(1, 0, &[1]), (2, 0, &big), (3, 0, &[2])]);
        let frames: Vec<_> = CaptureReader::from_bytes(&bytes)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].data.len(), 200_000);
        assert_eq!(frames[2].data, vec![2]);
        // Same through a reader that hands out a few bytes at a time.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let frames: Vec<_> = CaptureReader::new(Trickle(&bytes))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[1].data.len(), 200_000);
    }

    #[test]
    fn huge_record_length_does_not_allocate_forever() {
        let mut bytes = pcap(1, &[]);
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let results: Vec<_> = CaptureReader::from_bytes(&bytes).unwrap().collect();
        assert_eq!(results.len(), 1);
        assert!(results[0].is_err());
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut out = ty.to_le_bytes().to_vec();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&len.to_le_bytes());
        out
    }

    fn idb(link: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = link.to_le_bytes().to_vec();
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend_from_slice(&[9, 0, 1, 0, r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(1, &body)
    }

    fn epb(if_id: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
        let mut body = if_id.to_le_bytes().to_vec();
        body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ticks as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        body.resize(body.len().div_ceil(4) * 4, 0);
        block(6, &body)
    }

    #[test]
    fn pcapng_interfaces_link_types_and_resolutions() {
        let mut shb_body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb_body.extend_from_slice(&[1, 0, 0, 0]);
        shb_body.extend_from_slice(&(-1i64).to_le_bytes());
        let mut file = block(0x0a0d_0d0a, &shb_body);
        file.extend(idb(101, None));
        file.extend(idb(276, Some(9)));
        file.extend(epb(1, 1_700_000_000_123_456_789, &[1, 2, 3]));
        file.extend(epb(0, 1_700_000_000_000_001, &[4]));
        file.extend(epb(7, 0, &[5]));
        file.extend(epb(0, 0, &[6]));
        let items: Vec<_> = CaptureReader::from_bytes(&file).unwrap().collect();
        assert_eq!(items.len(), 4);
        let a = items[0].as_ref().unwrap();
        assert_eq!(a.number, 1);
        assert_eq!(a.link_type, LinkType::LinuxSll2);
        assert_eq!(a.timestamp.to_string(), "1700000000.123456789");
        assert_eq!(a.data, vec![1, 2, 3]);
        let b = items[1].as_ref().unwrap();
        assert_eq!(b.link_type, LinkType::Raw);
        assert_eq!(b.timestamp.to_string(), "1700000000.000001000");
        // An undefined interface is an error for that frame only.
        assert!(matches!(
            items[2],
            Err(CaptureError::UnknownInterface {
                frame: 3,
                interface: 7,
                ..
            })
        ));
        assert_eq!(items[3].as_ref().unwrap().number, 4);
    }

    #[test]
    fn tsresol_units() {
        assert_eq!(ts_units(6), 1_000_000);
        assert_eq!(ts_units(9), 1_000_000_000);
        assert_eq!(ts_units(0x80 | 10), 1024);
        assert_eq!(ts_units(0x7f), 1_000_000);
    }
}

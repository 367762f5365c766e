//! Inputs that once broke the capture reader, and the block framing rules
//! that fixed it: every file of the committed regression corpus
//! (`fuzz/regressions/capture_reader/`) and the shared regression input read
//! to a clean typed error, and a pcapng block of any length, of any type, in
//! either byte order, never panics.
//!
//! The expected errors are the ones only the framing check produces
//! ([`CaptureError::Framing`]), so these tests prove the check ran in whatever
//! profile they are built in: a release build without it would wrap the
//! parser's length arithmetic and report a truncated capture instead.
//! `scripts/fuzz-smoke.sh` also runs them in the debug profile (overflow
//! checks on in every crate, `pcap-parser` included).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use dmvpn_capture::{CaptureError, CaptureReader, Error, FramingError, NhrpFrames};

/// The shared input, found by the fuzz target: a Section Header Block whose
/// trailing length is wrong (which `pcap-parser` does not check), then a
/// Process Information Block of total length 11 at byte 196 (which made
/// `pcap-parser` subtract 12 from 11).
const SHARED_NAME: &str = "capture_reader-pcapng-short-block.bin";
const SHARED_ERROR: &str = "bad capture block framing at byte offset 0: \
     trailing block total length 5976576 differs from the leading 196";

/// The first error every committed regression input must give. Inputs not
/// listed (new finds of `scripts/fuzz-campaign.sh`) must read without panic.
const EXPECTED: [(&str, &str); 10] = [
    (SHARED_NAME, SHARED_ERROR),
    // The shared input with its section header's trailer repaired, so the
    // short block itself is reached.
    (
        "pcapng-short-block-sound-shb.bin",
        "bad capture block framing at byte offset 196: \
         block total length 11 is below the 12-byte minimum",
    ),
    (
        "pcapng-le-pib-len-4.bin",
        "bad capture block framing at byte offset 48: \
         block total length 4 is below the 12-byte minimum",
    ),
    (
        "pcapng-le-pib-len-8.bin",
        "bad capture block framing at byte offset 48: \
         block total length 8 is below the 12-byte minimum",
    ),
    (
        "pcapng-le-pib-len-11.bin",
        "bad capture block framing at byte offset 48: \
         block total length 11 is below the 12-byte minimum",
    ),
    (
        "pcapng-be-pib-len-4.bin",
        "bad capture block framing at byte offset 48: \
         block total length 4 is below the 12-byte minimum",
    ),
    (
        "pcapng-be-pib-len-8.bin",
        "bad capture block framing at byte offset 48: \
         block total length 8 is below the 12-byte minimum",
    ),
    (
        "pcapng-be-pib-len-11.bin",
        "bad capture block framing at byte offset 48: \
         block total length 11 is below the 12-byte minimum",
    ),
    (
        "pcapng-epb-overrun.bin",
        "malformed capture block at byte offset 48",
    ),
    (
        "pcap-huge-record.bin",
        "block at byte offset 24 is larger than the 67108864-byte limit",
    ),
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything the fuzz target does with an input: every NHRP packet of the
/// capture, with at most one item per 12 input bytes. Panics go to the caller.
fn read_all(bytes: &[u8]) -> Result<Vec<Result<dmvpn_capture::NhrpFrame, Error>>, CaptureError> {
    let frames = NhrpFrames::from_bytes(bytes)?;
    let bound = bytes.len() / 12 + 2;
    let items: Vec<_> = frames.take(bound + 1).collect();
    assert!(items.len() <= bound, "more items than the input can hold");
    Ok(items)
}

/// The first error reading `bytes` gives, at the file level or for a frame.
fn first_error(bytes: &[u8]) -> Option<CaptureError> {
    match read_all(bytes) {
        Err(err) => Some(err),
        Ok(items) => items.into_iter().find_map(|item| match item {
            Err(Error::Capture(err)) => Some(err),
            _ => None,
        }),
    }
}

#[test]
fn every_committed_regression_input_reads_to_its_typed_error() {
    let dir = repo_root().join("fuzz/regressions/capture_reader");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let Ok(err) = catch_unwind(AssertUnwindSafe(|| first_error(&bytes))) else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        if let Some((_, expected)) = EXPECTED.iter().find(|(file, _)| *file == name) {
            let got = err.map(|e| e.to_string());
            if got.as_deref() != Some(*expected) {
                failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
            }
        }
    }
    for (file, _) in EXPECTED {
        if !dir.join(file).is_file() {
            failures.push(format!("{file}: missing from {}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_shared_short_block_input_is_a_framing_error() {
    let path = repo_root().join("../shared/regressions").join(SHARED_NAME);
    if !path.is_file() {
        if std::env::var("DMVPN_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!("{} is missing and DMVPN_REQUIRE_SHARED=1", path.display());
        }
        eprintln!(
            "SKIP: {} not found; shared regression not read",
            path.display()
        );
        return;
    }
    let bytes = std::fs::read(&path).unwrap();
    let err = first_error(&bytes).unwrap();
    assert!(
        matches!(
            err,
            CaptureError::Framing {
                offset: 0,
                error: FramingError::LengthMismatch { len: 196, .. },
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), SHARED_ERROR);
    // The same through the file path, and through a source that gives
    // short reads; both end the iteration there.
    let items: Vec<_> = CaptureReader::open(&path).unwrap().collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().to_string(), SHARED_ERROR);
    let trickle = Trickle(&bytes);
    let items: Vec<_> = CaptureReader::new(trickle).unwrap().collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().to_string(), SHARED_ERROR);
}

/// A source that hands out at most 5 bytes per read.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(5);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Block types `pcap-parser` parses with their own code, plus an unknown one.
const BLOCK_TYPES: [u32; 13] = [
    0x0A0D_0D0A, // section header
    0x0000_0001, // interface description
    0x0000_0002, // obsolete packet
    0x0000_0003, // simple packet
    0x0000_0004, // name resolution
    0x0000_0005, // interface statistics
    0x0000_0006, // enhanced packet
    0x0000_0009, // systemd journal export
    0x0000_000A, // decryption secrets
    0x0000_0BAD, // custom
    0x4000_0BAD, // custom, not to be copied
    0x8000_0001, // process information
    0x1234_5678, // unknown
];

fn u32_bytes(value: u32, big: bool) -> [u8; 4] {
    if big {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    }
}

fn u16_bytes(value: u16, big: bool) -> [u8; 2] {
    if big {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    }
}

/// A block with a sound framing around `body`.
fn block(ty: u32, body: &[u8], big: bool) -> Vec<u8> {
    let len = u32::try_from(12 + body.len()).unwrap();
    let mut out = u32_bytes(ty, big).to_vec();
    out.extend_from_slice(&u32_bytes(len, big));
    out.extend_from_slice(body);
    out.extend_from_slice(&u32_bytes(len, big));
    out
}

/// Section header and one Ethernet interface, in the given byte order.
fn preamble(big: bool) -> Vec<u8> {
    let mut shb = u32_bytes(0x1A2B_3C4D, big).to_vec();
    shb.extend_from_slice(&u16_bytes(1, big));
    shb.extend_from_slice(&u16_bytes(0, big));
    shb.extend_from_slice(&[0xff; 8]);
    let mut idb = u16_bytes(1, big).to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&u32_bytes(65535, big));
    let mut out = block(0x0A0D_0D0A, &shb, big);
    out.extend(block(1, &idb, big));
    out
}

/// A block whose total length field says `len`, with `body_len` body bytes
/// that look like packet headers (small counts, interface 0), then `trailer`.
fn raw_block(ty: u32, len: u32, body_len: usize, trailer: u32, big: bool) -> Vec<u8> {
    let mut out = u32_bytes(ty, big).to_vec();
    out.extend_from_slice(&u32_bytes(len, big));
    if ty == 0x0A0D_0D0A {
        out.extend_from_slice(&u32_bytes(0x1A2B_3C4D, big));
    }
    while out.len() < 8 + body_len {
        out.extend_from_slice(&u32_bytes(4, big));
    }
    out.truncate(8 + body_len);
    out.extend_from_slice(&u32_bytes(trailer, big));
    out
}

#[test]
fn any_block_length_of_any_block_type_gives_a_typed_error_or_frames() {
    let mut panicked = Vec::new();
    for big in [false, true] {
        for ty in BLOCK_TYPES {
            for len in 0..=72u32 {
                // The body the length asks for, one with 4 bytes fewer, and
                // one with 4 bytes more; a matching and a wrong trailer.
                let wanted = usize::try_from(len.saturating_sub(12)).unwrap();
                for body_len in [wanted.saturating_sub(4), wanted, wanted + 4] {
                    for trailer in [len, len ^ 0x40] {
                        let mut file = preamble(big);
                        file.extend(raw_block(ty, len, body_len, trailer, big));
                        if catch_unwind(AssertUnwindSafe(|| read_all(&file))).is_err() {
                            panicked.push((big, ty, len, body_len, trailer));
                        }
                    }
                }
            }
        }
    }
    assert!(panicked.is_empty(), "panicked on {panicked:?}");
}

#[test]
fn pcapng_lengths_below_twelve_or_unaligned_are_framing_errors() {
    for big in [false, true] {
        let at = preamble(big).len();
        for ty in BLOCK_TYPES {
            for len in (0..12).chain([13, 14, 15, 30]) {
                let mut file = preamble(big);
                file.extend(raw_block(ty, len, 24, len, big));
                let err = first_error(&file).unwrap();
                let expected = if len < 12 {
                    FramingError::TooShort { len }
                } else {
                    FramingError::Unaligned { len }
                };
                match err {
                    CaptureError::Framing { offset, error } => {
                        assert_eq!((offset, error), (at, expected), "type {ty:#x}");
                    }
                    other => panic!("type {ty:#x} length {len} big {big}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn a_complete_block_whose_contents_overrun_it_is_malformed() {
    // An enhanced packet block of 32 bytes claiming 200 captured bytes: the
    // parser wants more bytes, but the framing says the block is whole.
    let mut body = 0u32.to_le_bytes().to_vec(); // interface 0
    body.extend_from_slice(&[0; 8]); // timestamp
    body.extend_from_slice(&200u32.to_le_bytes()); // captured length
    body.extend_from_slice(&200u32.to_le_bytes()); // original length
    let mut file = preamble(false);
    let at = file.len();
    file.extend(block(6, &body, false));
    let err = first_error(&file).unwrap();
    assert!(
        matches!(err, CaptureError::Malformed { offset } if offset == at),
        "{err:?}"
    );
}

#[test]
fn a_pcap_record_above_the_block_limit_is_refused_before_buffering() {
    let mut file = Vec::new();
    file.extend_from_slice(&0xA1B2_C3D4u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&4u16.to_le_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&1u32.to_le_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    // A source that never ends: without the check, the reader would buffer
    // up to the limit before giving up.
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let source = Counting {
        inner: std::io::Cursor::new(file).chain(std::io::repeat(0)),
        read: read.clone(),
    };
    let err = CaptureReader::new(source)
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert!(
        matches!(
            err,
            CaptureError::BlockTooLarge {
                offset: 24,
                limit: dmvpn_capture::reader::MAX_BLOCK_SIZE
            }
        ),
        "{err:?}"
    );
    let read = read.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        read <= 1 << 20,
        "read {read} bytes before refusing the record"
    );
}

/// A source that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

//! The IKE header (RFC 7296 §3.1): a view over the first 28 bytes of a message and its
//! owned form.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |                       IKE SA Initiator's SPI                  |
//! |                                                               |
//! |                       IKE SA Responder's SPI                  |
//! |                                                               |
//! |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//! |                          Message ID                           |
//! |                            Length                             |
//! ```
//!
//! Flags: bit 3 (0x08) I, bit 4 (0x10) V, bit 5 (0x20) R; the others are reserved, ignored
//! on receipt and kept by [`Flags`] for a lossless round trip.

use super::{
    ExchangeType, PayloadType, Payloads, Result, WireError, Writer, be32, be64, byte, range,
};
use core::fmt;

/// Length of the IKE header.
pub const HEADER_LEN: usize = 28;

mod field {
    pub const SPI_I: usize = 0;
    pub const SPI_R: usize = 8;
    pub const NEXT: usize = 16;
    pub const VERSION: usize = 17;
    pub const EXCHANGE: usize = 18;
    pub const FLAGS: usize = 19;
    pub const MESSAGE_ID: usize = 20;
    pub const LENGTH: usize = 24;
}

/// The flags octet. The named bits have accessors; reserved bits are kept as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// I: sent by the original initiator of the IKE SA.
    pub const INITIATOR: u8 = 0x08;
    /// V: the sender can speak a higher major version.
    pub const VERSION: u8 = 0x10;
    /// R: this message is a response.
    pub const RESPONSE: u8 = 0x20;

    /// Flags with I and R as given, V and the reserved bits clear.
    pub const fn new(initiator: bool, response: bool) -> Flags {
        let mut v = 0;
        if initiator {
            v |= Flags::INITIATOR;
        }
        if response {
            v |= Flags::RESPONSE;
        }
        Flags(v)
    }

    /// The I bit.
    pub const fn initiator(self) -> bool {
        self.0 & Flags::INITIATOR != 0
    }

    /// The V bit.
    pub const fn higher_version(self) -> bool {
        self.0 & Flags::VERSION != 0
    }

    /// The R bit.
    pub const fn response(self) -> bool {
        self.0 & Flags::RESPONSE != 0
    }

    /// The reserved bits (everything but I, V and R).
    pub const fn reserved(self) -> u8 {
        self.0 & !(Flags::INITIATOR | Flags::VERSION | Flags::RESPONSE)
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |on: bool, c: char| if on { c } else { '.' };
        write!(
            f,
            "{}{}{}",
            bit(self.initiator(), 'I'),
            bit(self.higher_version(), 'V'),
            bit(self.response(), 'R')
        )
    }
}

/// A view of an IKE message starting with its header.
///
/// After [`Header::new_checked`] the header is complete and the Length field is at least
/// [`HEADER_LEN`] and at most the buffer's length, so [`Header::message`] and
/// [`Header::payload_bytes`] are the message's own bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Wraps a buffer and checks the header and the Length field against it.
    pub fn new_checked(buffer: T) -> Result<Header<T>> {
        let h = Header::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Checks that the header fits and that `HEADER_LEN <= Length <= buffer length`.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        super::need("ike.header", 0, HEADER_LEN, have)?;
        let len = usize::try_from(self.length()).unwrap_or(usize::MAX);
        if len < HEADER_LEN {
            return Err(WireError::BadLength {
                field: "ike.length",
                offset: 0,
                len,
                reason: "shorter than the IKE header",
            });
        }
        if len > have {
            return Err(WireError::BadLength {
                field: "ike.length",
                offset: 0,
                len,
                reason: "longer than the datagram",
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// IKE SA Initiator's SPI.
    pub fn spi_i(&self) -> u64 {
        be64(self.b(), field::SPI_I)
    }

    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub fn spi_r(&self) -> u64 {
        be64(self.b(), field::SPI_R)
    }

    /// The type of the first payload.
    pub fn next_payload(&self) -> PayloadType {
        PayloadType::from(byte(self.b(), field::NEXT))
    }

    /// The version octet (major in the high nibble).
    pub fn version(&self) -> u8 {
        byte(self.b(), field::VERSION)
    }

    /// Major version (2 for IKEv2, 1 for IKEv1/ISAKMP).
    pub fn major_version(&self) -> u8 {
        self.version() >> 4
    }

    /// Minor version.
    pub fn minor_version(&self) -> u8 {
        self.version() & 0x0f
    }

    /// Exchange Type.
    pub fn exchange_type(&self) -> ExchangeType {
        ExchangeType::from(byte(self.b(), field::EXCHANGE))
    }

    /// The flags octet.
    pub fn flags(&self) -> Flags {
        Flags(byte(self.b(), field::FLAGS))
    }

    /// Message ID.
    pub fn message_id(&self) -> u32 {
        be32(self.b(), field::MESSAGE_ID)
    }

    /// Length of the whole message, header included.
    pub fn length(&self) -> u32 {
        be32(self.b(), field::LENGTH)
    }

    /// The message: the buffer up to the Length field.
    pub fn message(&self) -> &[u8] {
        let len = usize::try_from(self.length()).unwrap_or(usize::MAX);
        let b = self.b();
        b.get(..len).unwrap_or(b)
    }

    /// The payload chain: the bytes after the header, up to the Length field.
    pub fn payload_bytes(&self) -> &[u8] {
        let m = self.message();
        range(m, HEADER_LEN, m.len())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Header<&'a T> {
    /// Walks the payload chain (offsets counted from the start of the message).
    pub fn payloads(&self) -> Payloads<'a> {
        let b: &'a [u8] = self.buffer.as_ref();
        let len = usize::try_from(self.length()).unwrap_or(usize::MAX);
        let m = b.get(..len).unwrap_or(b);
        Payloads::new(
            self.next_payload(),
            range(m, HEADER_LEN, m.len()),
            HEADER_LEN,
        )
    }
}

/// The validated header of an IKEv2 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRepr {
    /// IKE SA Initiator's SPI.
    pub spi_i: u64,
    /// IKE SA Responder's SPI.
    pub spi_r: u64,
    /// The first payload's type. [`super::MessageRepr::emit`] writes the type of its first
    /// payload instead.
    pub next_payload: PayloadType,
    /// Minor version (major is always 2).
    pub minor_version: u8,
    /// Exchange Type.
    pub exchange_type: ExchangeType,
    /// Flags, reserved bits included.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
}

impl HeaderRepr {
    /// Parses the header: lengths (see [`Header::check_len`]) and major version 2.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(header: &Header<&T>) -> Result<HeaderRepr> {
        // The version first, so an IKEv1 message is refused as such.
        super::need("ike.header", 0, HEADER_LEN, header.b().len())?;
        if header.major_version() != 2 {
            return Err(WireError::UnsupportedVersion {
                major: header.major_version(),
                minor: header.minor_version(),
            });
        }
        header.check_len()?;
        Ok(HeaderRepr {
            spi_i: header.spi_i(),
            spi_r: header.spi_r(),
            next_payload: header.next_payload(),
            minor_version: header.minor_version(),
            exchange_type: header.exchange_type(),
            flags: header.flags(),
            message_id: header.message_id(),
        })
    }

    /// Length of the header.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with Length = `HEADER_LEN + body_len` into `buf`; returns 28.
    pub fn emit(&self, buf: &mut [u8], body_len: usize) -> Result<usize> {
        let total = HEADER_LEN.saturating_add(body_len);
        let length = u32::try_from(total).map_err(|_| WireError::TooLong {
            field: "ike.length",
            len: total,
            max: u32::MAX as usize,
        })?;
        if self.minor_version > 0x0f {
            return Err(WireError::TooLong {
                field: "ike.minor_version",
                len: usize::from(self.minor_version),
                max: 0x0f,
            });
        }
        let mut w = Writer::new(buf);
        w.u64(self.spi_i)?;
        w.u64(self.spi_r)?;
        w.u8(self.next_payload.value())?;
        w.u8(0x20 | self.minor_version)?;
        w.u8(self.exchange_type.value())?;
        w.u8(self.flags.0)?;
        w.u32(self.message_id)?;
        w.u32(length)?;
        Ok(w.written())
    }
}

impl fmt::Display for HeaderRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IKEv2 {} [{}] msgid {:08x} spi {:016x}->{:016x}",
            self.exchange_type, self.flags, self.message_id, self.spi_i, self.spi_r
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HeaderRepr {
        HeaderRepr {
            spi_i: 0x0102_0304_0506_0708,
            spi_r: 0,
            next_payload: PayloadType::Sa,
            minor_version: 0,
            exchange_type: ExchangeType::IkeSaInit,
            flags: Flags::new(true, false),
            message_id: 0,
        }
    }

    #[test]
    fn emit_parse() {
        let mut b = [0u8; 30];
        assert_eq!(sample().emit(&mut b, 2), Ok(28));
        assert_eq!(&b[16..20], &[33, 0x20, 34, 0x08]);
        assert_eq!(&b[24..28], &[0, 0, 0, 30]);
        let h = Header::new_checked(&b[..]).unwrap();
        assert_eq!(HeaderRepr::parse(&h), Ok(sample()));
        assert_eq!(h.payload_bytes(), &[0, 0]);
        assert_eq!(h.flags().to_string(), "I..");
        assert!(sample().to_string().starts_with("IKEv2 IKE_SA_INIT [I..]"));
    }

    #[test]
    fn lengths_and_versions_refused() {
        let mut b = [0u8; 28];
        sample().emit(&mut b, 0).unwrap();
        assert!(matches!(
            Header::new_checked(&b[..27]),
            Err(WireError::Truncated {
                need: 28,
                have: 27,
                ..
            })
        ));
        let mut long = b;
        long[27] = 29;
        assert!(matches!(
            Header::new_checked(&long[..]),
            Err(WireError::BadLength { len: 29, .. })
        ));
        long[27] = 27;
        assert!(matches!(
            Header::new_checked(&long[..]),
            Err(WireError::BadLength { len: 27, .. })
        ));
        let mut v1 = b;
        v1[17] = 0x10;
        let h = Header::new_unchecked(&v1[..]);
        assert_eq!(
            HeaderRepr::parse(&h),
            Err(WireError::UnsupportedVersion { major: 1, minor: 0 })
        );
        let big = HeaderRepr {
            minor_version: 16,
            ..sample()
        };
        assert!(matches!(
            big.emit(&mut b, 0),
            Err(WireError::TooLong { .. })
        ));
    }
}

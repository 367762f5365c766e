//! The ESP packet format (RFC 4303 §2): a typed zero-copy view over the bytes of one packet
//! ([`EspPacket`]), the split of its payload into `IV ‖ data ‖ ICV` for an SA's cipher
//! ([`Layout`]), and the trailer at the end of the decrypted data (padding 1, 2, 3…, Pad
//! Length, Next Header), parsed with the padding checked ([`Trailer::parse`]) and written in
//! place ([`Trailer::emit`]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Security Parameters Index (SPI)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Sequence Number                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         IV (8 bytes for AES-GCM, 16 for AES-CBC)              |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~   Payload Data ‖ Padding ‖ Pad Length ‖ Next Header (encrypted) ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Integrity Check Value (ICV)                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use thiserror::Error;

/// Length of the ESP header (SPI and sequence number).
pub const HEADER_LEN: usize = 8;
/// Length of the fixed trailer fields (Pad Length and Next Header).
pub const TRAILER_LEN: usize = 2;
/// Next Header of an IPv4 packet (tunnel mode).
pub const NEXT_HEADER_IPV4: u8 = 4;
/// Next Header of GRE (transport mode over the NBMA addresses).
pub const NEXT_HEADER_GRE: u8 = 47;
/// Next Header "no next header": a dummy packet for traffic flow confidentiality
/// (RFC 4303 §2.6), to be dropped silently.
pub const NEXT_HEADER_DUMMY: u8 = 59;

/// Why bytes are not a well-formed ESP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    /// Shorter than the header, IV, one block of data and ICV.
    #[error("ESP packet truncated")]
    Truncated,
    /// The encrypted data is not a multiple of the cipher's block (4 for AES-GCM, 16 for
    /// AES-CBC).
    #[error("ESP data is not aligned to the cipher block")]
    Misaligned,
    /// The Pad Length points before the start of the data, or the padding bytes are not
    /// 1, 2, 3, … (RFC 4303 §2.4).
    #[error("ESP padding is invalid")]
    Padding,
}

/// A read (and, over `&mut [u8]`, write) view of an ESP packet, header first.
#[derive(Debug, Clone, Copy)]
pub struct EspPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps `buffer` without checking its length; accessors then return zero for missing
    /// bytes. Prefer [`EspPacket::new_checked`].
    pub fn new_unchecked(buffer: T) -> Self {
        EspPacket { buffer }
    }

    /// Wraps `buffer` when it holds at least the header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        if buffer.as_ref().len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        Ok(EspPacket { buffer })
    }

    fn word(&self, at: usize) -> u32 {
        let b = self.buffer.as_ref();
        match b.get(at..at + 4) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// The Security Parameters Index.
    pub fn spi(&self) -> u32 {
        self.word(0)
    }

    /// The (low 32 bits of the) sequence number.
    pub fn sequence(&self) -> u32 {
        self.word(4)
    }

    /// Everything after the header: `IV ‖ encrypted data ‖ ICV`.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or_default()
    }

    /// The bytes.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EspPacket<T> {
    fn set_word(&mut self, at: usize, v: u32) {
        if let Some(w) = self.buffer.as_mut().get_mut(at..at + 4) {
            w.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.set_word(0, spi);
    }

    /// Sets the sequence number field (the low 32 bits).
    pub fn set_sequence(&mut self, seq: u32) {
        self.set_word(4, seq);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or_default()
    }
}

/// The owned header of an ESP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspRepr {
    /// SPI.
    pub spi: u32,
    /// Low 32 bits of the sequence number.
    pub sequence: u32,
}

impl EspRepr {
    /// Reads the header of `packet`.
    pub fn parse<T: AsRef<[u8]>>(packet: &EspPacket<T>) -> EspRepr {
        EspRepr {
            spi: packet.spi(),
            sequence: packet.sequence(),
        }
    }

    /// Writes the header into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        if buf.len() < HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let mut p = EspPacket::new_unchecked(buf);
        p.set_spi(self.spi);
        p.set_sequence(self.sequence);
        Ok(())
    }
}

/// The sizes one SA's cipher gives the payload: IV, ICV, and the block the encrypted data
/// is aligned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// IV length (8 for AES-GCM, 16 for AES-CBC).
    pub iv_len: usize,
    /// ICV length.
    pub icv_len: usize,
    /// Alignment of the encrypted data (4 for AES-GCM, 16 for AES-CBC).
    pub block_len: usize,
}

impl Layout {
    /// The layout of `cipher`'s packets.
    pub fn of(cipher: &dmvpn_crypto::Cipher) -> Layout {
        Layout {
            iv_len: cipher.iv_len(),
            icv_len: cipher.icv_len(),
            block_len: cipher.block_len(),
        }
    }

    /// Length of the encrypted data in an ESP packet of `packet_len` bytes (header
    /// included), checking that it holds at least one block and is block-aligned.
    pub fn data_len(&self, packet_len: usize) -> Result<usize, WireError> {
        let data = packet_len
            .checked_sub(HEADER_LEN + self.iv_len + self.icv_len)
            .ok_or(WireError::Truncated)?;
        if data < TRAILER_LEN.max(self.block_len) {
            return Err(WireError::Truncated);
        }
        if self.block_len == 0 || !data.is_multiple_of(self.block_len) {
            return Err(WireError::Misaligned);
        }
        Ok(data)
    }

    /// Padding a payload of `payload_len` bytes needs so that payload, padding and the
    /// two trailer bytes fill whole blocks (RFC 4303 §2.4).
    pub fn padding(&self, payload_len: usize) -> usize {
        let block = self.block_len.max(1);
        let rem = (payload_len + TRAILER_LEN) % block;
        if rem == 0 { 0 } else { block - rem }
    }

    /// Bytes ESP adds in front of a payload: header and IV.
    pub fn head_len(&self) -> usize {
        HEADER_LEN + self.iv_len
    }

    /// Bytes ESP adds behind a payload of `payload_len` bytes: padding, trailer, ICV.
    pub fn tail_len(&self, payload_len: usize) -> usize {
        self.padding(payload_len) + TRAILER_LEN + self.icv_len
    }
}

/// The trailer of the decrypted data: how much padding precedes it and what the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Number of padding bytes.
    pub pad_len: u8,
    /// The protocol of the payload (4 IPv4, 47 GRE, 59 dummy).
    pub next_header: u8,
}

impl Trailer {
    /// Reads the trailer at the end of the decrypted `data` and checks the padding bytes
    /// are 1, 2, 3, … (RFC 4303 §2.4, the default padding every peer uses). Returns the
    /// trailer and the length of the payload before the padding.
    pub fn parse(data: &[u8]) -> Result<(Trailer, usize), WireError> {
        let fields_at = data
            .len()
            .checked_sub(TRAILER_LEN)
            .ok_or(WireError::Truncated)?;
        let (&pad_len, &next_header) = match data.get(fields_at..) {
            Some([p, n]) => (p, n),
            _ => return Err(WireError::Truncated),
        };
        let payload_len = fields_at
            .checked_sub(usize::from(pad_len))
            .ok_or(WireError::Padding)?;
        let padding = data.get(payload_len..fields_at).ok_or(WireError::Padding)?;
        // Accumulate rather than return early: the check takes the same time whichever
        // byte is wrong.
        let bad = padding
            .iter()
            .zip(1u8..)
            .fold(0u8, |acc, (&b, want)| acc | (b ^ want));
        if bad != 0 {
            return Err(WireError::Padding);
        }
        Ok((
            Trailer {
                pad_len,
                next_header,
            },
            payload_len,
        ))
    }

    /// Writes the padding (1, 2, 3, …) and the two trailer fields into `buf`, which must
    /// be exactly `pad_len + 2` bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), WireError> {
        if buf.len() != usize::from(self.pad_len) + TRAILER_LEN {
            return Err(WireError::Truncated);
        }
        let (padding, fields) = buf
            .split_at_mut_checked(usize::from(self.pad_len))
            .ok_or(WireError::Truncated)?;
        for (b, v) in padding.iter_mut().zip(1u8..) {
            *b = v;
        }
        fields.copy_from_slice(&[self.pad_len, self.next_header]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GCM: Layout = Layout {
        iv_len: 8,
        icv_len: 16,
        block_len: 4,
    };
    const CBC: Layout = Layout {
        iv_len: 16,
        icv_len: 12,
        block_len: 16,
    };

    #[test]
    fn header_accessors_and_emit() {
        let mut b = [0u8; 12];
        EspRepr {
            spi: 0x0102_0304,
            sequence: 0xa0b0_c0d0,
        }
        .emit(&mut b)
        .unwrap();
        assert_eq!(b[..8], [1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0]);
        let p = EspPacket::new_checked(&b[..]).unwrap();
        assert_eq!(
            EspRepr::parse(&p),
            EspRepr {
                spi: 0x0102_0304,
                sequence: 0xa0b0_c0d0
            }
        );
        assert_eq!(p.payload().len(), 4);
        assert_eq!(
            EspPacket::new_checked(&b[..7]).unwrap_err(),
            WireError::Truncated
        );
        let short = EspPacket::new_unchecked(&b[..3]);
        assert_eq!(
            (short.spi(), short.sequence(), short.payload()),
            (0, 0, &[][..])
        );
        assert!(
            EspRepr {
                spi: 1,
                sequence: 1
            }
            .emit(&mut [0; 7])
            .is_err()
        );
    }

    #[test]
    fn data_len_checks_size_and_alignment() {
        assert_eq!(GCM.data_len(8 + 8 + 4 + 16), Ok(4));
        assert_eq!(GCM.data_len(8 + 8 + 16), Err(WireError::Truncated));
        assert_eq!(GCM.data_len(8 + 8 + 6 + 16), Err(WireError::Misaligned));
        assert_eq!(CBC.data_len(8 + 16 + 32 + 12), Ok(32));
        assert_eq!(CBC.data_len(8 + 16 + 8 + 12), Err(WireError::Truncated));
        assert_eq!(CBC.data_len(8 + 16 + 24 + 12), Err(WireError::Misaligned));
        assert_eq!(CBC.data_len(3), Err(WireError::Truncated));
    }

    #[test]
    fn trailer_rejects_bad_padding() {
        assert_eq!(
            Trailer::parse(&[9, 9, 1, 2, 2, 47]),
            Ok((
                Trailer {
                    pad_len: 2,
                    next_header: 47
                },
                2
            ))
        );
        assert_eq!(Trailer::parse(&[9, 1, 3, 2, 47]), Err(WireError::Padding));
        assert_eq!(Trailer::parse(&[1, 5, 47]), Err(WireError::Padding));
        assert_eq!(Trailer::parse(&[47]), Err(WireError::Truncated));
        assert_eq!(
            Trailer::parse(&[0, 59]).unwrap().0.next_header,
            NEXT_HEADER_DUMMY
        );
    }

    proptest! {
        #[test]
        fn trailer_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..100),
                              cbc in any::<bool>(), nh in any::<u8>()) {
            let layout = if cbc { CBC } else { GCM };
            let pad = layout.padding(payload.len());
            prop_assert!(pad < layout.block_len);
            let mut data = payload.clone();
            data.resize(payload.len() + pad + TRAILER_LEN, 0);
            let t = Trailer { pad_len: pad as u8, next_header: nh };
            t.emit(&mut data[payload.len()..]).unwrap();
            prop_assert_eq!(data.len() % layout.block_len, 0);
            let (back, len) = Trailer::parse(&data).unwrap();
            prop_assert_eq!(back, t);
            prop_assert_eq!(&data[..len], &payload[..]);
            prop_assert_eq!(layout.tail_len(payload.len()), pad + 2 + layout.icv_len);
        }

        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Trailer::parse(&data);
            let p = EspPacket::new_unchecked(&data[..]);
            let _ = (p.spi(), p.sequence(), p.payload());
            let _ = GCM.data_len(data.len());
        }
    }
}

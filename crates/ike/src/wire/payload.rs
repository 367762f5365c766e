//! The generic payload header (RFC 7296 §3.2) and the walk over a payload chain.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! | Next Payload  |C|  RESERVED   |         Payload Length        |
//! ```
//!
//! [`Payloads`] is an iterator, not a recursion: each step reads one generic header,
//! checks `4 <= Payload Length <= bytes left`, and moves on by that length, so a chain of
//! `n` bytes takes at most `n / 4` steps and nothing is allocated. The chain ends at Next
//! Payload 0 with no bytes left, or after an SK or SKF payload, whose Next Payload names
//! the first payload inside the ciphertext and which must therefore be last.

use super::{PayloadType, Result, WireError, be16, byte, range};

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// The critical bit.
const CRITICAL: u8 = 0x80;

/// A view of one payload through its generic header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericPayload<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GenericPayload<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> GenericPayload<T> {
        GenericPayload { buffer }
    }

    /// Wraps a buffer and checks `4 <= Payload Length <= buffer length`.
    pub fn new_checked(buffer: T) -> Result<GenericPayload<T>> {
        let p = GenericPayload::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks the generic header and the Payload Length against the buffer.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        super::need("payload.header", 0, GENERIC_HEADER_LEN, have)?;
        let len = usize::from(self.payload_length());
        if len < GENERIC_HEADER_LEN {
            return Err(WireError::BadLength {
                field: "payload.length",
                offset: 0,
                len,
                reason: "shorter than the generic payload header",
            });
        }
        if len > have {
            return Err(WireError::BadLength {
                field: "payload.length",
                offset: 0,
                len,
                reason: "longer than the bytes left in the message",
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Next Payload.
    pub fn next_payload(&self) -> PayloadType {
        PayloadType::from(byte(self.buffer.as_ref(), 0))
    }

    /// The critical bit.
    pub fn critical(&self) -> bool {
        byte(self.buffer.as_ref(), 1) & CRITICAL != 0
    }

    /// The seven reserved bits after the critical bit.
    pub fn reserved(&self) -> u8 {
        byte(self.buffer.as_ref(), 1) & !CRITICAL
    }

    /// Payload Length, generic header included.
    pub fn payload_length(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }

    /// The body, up to the payload length.
    pub fn body(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.payload_length()).min(b.len());
        range(b, GENERIC_HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> GenericPayload<T> {
    fn set(&mut self, at: usize, v: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(at) {
            *b = v;
        }
    }

    /// Sets Next Payload (writes nothing into a buffer too short for the field, like
    /// every setter here).
    pub fn set_next_payload(&mut self, t: PayloadType) {
        self.set(0, t.value());
    }

    /// Sets the critical bit and the reserved bits.
    pub fn set_flags(&mut self, critical: bool, reserved: u8) {
        let v = (reserved & !CRITICAL) | if critical { CRITICAL } else { 0 };
        self.set(1, v);
    }

    /// Sets Payload Length.
    pub fn set_payload_length(&mut self, len: u16) {
        let [hi, lo] = len.to_be_bytes();
        self.set(2, hi);
        self.set(3, lo);
    }

    /// The mutable body (after the generic header, to the end of the buffer).
    pub fn body_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(GENERIC_HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

/// One payload found by [`Payloads`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPayload<'a> {
    /// Where the payload starts (from the start of the message, or of the chain for a
    /// walk made with a base of 0).
    pub offset: usize,
    /// Its type (the Next Payload of what came before).
    pub payload_type: PayloadType,
    /// Its own Next Payload field (for SK and SKF: the first inner payload's type).
    pub next_payload: PayloadType,
    /// The critical bit.
    pub critical: bool,
    /// The reserved bits of the generic header.
    pub reserved: u8,
    /// The whole payload, generic header included: hand it to the payload's view.
    pub bytes: &'a [u8],
}

impl<'a> RawPayload<'a> {
    /// The body, after the generic header.
    pub fn body(&self) -> &'a [u8] {
        range(self.bytes, GENERIC_HEADER_LEN, self.bytes.len())
    }
}

/// Walks a payload chain; yields each payload or the first error, then stops.
#[derive(Debug, Clone)]
pub struct Payloads<'a> {
    bytes: &'a [u8],
    pos: usize,
    next: PayloadType,
    base: usize,
    done: bool,
}

impl<'a> Payloads<'a> {
    /// A walk over `bytes` whose first payload is of type `first`; `base` is added to every
    /// offset (28 when `bytes` follow an IKE header).
    pub fn new(first: PayloadType, bytes: &'a [u8], base: usize) -> Payloads<'a> {
        Payloads {
            bytes,
            pos: 0,
            next: first,
            base,
            done: false,
        }
    }

    fn fail(&mut self, e: WireError) -> Option<Result<RawPayload<'a>>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Payloads<'a> {
    type Item = Result<RawPayload<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.base.saturating_add(self.pos);
        let rest = range(self.bytes, self.pos, self.bytes.len());
        if self.next == PayloadType::NoNext {
            self.done = true;
            if rest.is_empty() {
                return None;
            }
            return Some(Err(WireError::TrailingBytes {
                field: "payload chain",
                offset,
                count: rest.len(),
            }));
        }
        let g = match GenericPayload::new_checked(rest) {
            Ok(g) => g,
            Err(e) => return self.fail(e.shifted(offset)),
        };
        let len = usize::from(g.payload_length());
        let payload_type = self.next;
        let raw = RawPayload {
            offset,
            payload_type,
            next_payload: g.next_payload(),
            critical: g.critical(),
            reserved: g.reserved(),
            bytes: range(rest, 0, len),
        };
        self.pos = self.pos.saturating_add(len);
        if matches!(
            payload_type,
            PayloadType::Encrypted | PayloadType::EncryptedFragment
        ) {
            // The SK payload's Next Payload names the inner chain; nothing may follow it.
            self.done = true;
            if self.pos < self.bytes.len() {
                return Some(Err(WireError::EncryptedNotLast { offset }));
            }
        } else {
            self.next = raw.next_payload;
        }
        Some(Ok(raw))
    }
}

impl core::iter::FusedIterator for Payloads<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_and_stops() {
        // Nonce(16 bytes) -> Notify(4-byte body) -> end.
        let mut chain = vec![41, 0, 0, 20];
        chain.extend([7; 16]);
        chain.extend([0, 0x80, 0, 8, 0, 0, 0x40, 0x06]);
        let items: Vec<_> = Payloads::new(PayloadType::Nonce, &chain, 28).collect();
        assert_eq!(items.len(), 2);
        let a = items[0].unwrap();
        assert_eq!(a.payload_type, PayloadType::Nonce);
        assert_eq!(a.offset, 28);
        assert_eq!(a.body(), &[7; 16]);
        let b = items[1].unwrap();
        assert_eq!(b.payload_type, PayloadType::Notify);
        assert!(b.critical);
        assert_eq!(b.offset, 48);

        // Trailing bytes after the last payload.
        let mut extra = chain.clone();
        extra.push(0);
        let last = Payloads::new(PayloadType::Nonce, &extra, 0).last().unwrap();
        assert!(matches!(
            last,
            Err(WireError::TrailingBytes {
                count: 1,
                offset: 28,
                ..
            })
        ));

        // A length of 2 and a length past the end.
        let short = [0u8, 0, 0, 2];
        let e = Payloads::new(PayloadType::Nonce, &short, 28)
            .next()
            .unwrap();
        assert!(matches!(
            e,
            Err(WireError::BadLength {
                len: 2,
                offset: 28,
                ..
            })
        ));
        let long = [0u8, 0, 0, 9, 1];
        let e = Payloads::new(PayloadType::Nonce, &long, 0).next().unwrap();
        assert!(matches!(e, Err(WireError::BadLength { len: 9, .. })));

        // Next payload announced, nothing there.
        let e = Payloads::new(PayloadType::Sa, &[], 28).next().unwrap();
        assert!(matches!(e, Err(WireError::Truncated { offset: 28, .. })));
    }

    #[test]
    fn encrypted_ends_the_chain() {
        // SK whose next payload is IDi (35), then junk payload: refused.
        let sk = [35u8, 0, 0, 6, 1, 2, 0, 0, 0, 4];
        let mut it = Payloads::new(PayloadType::Encrypted, &sk, 0);
        assert!(matches!(
            it.next(),
            Some(Err(WireError::EncryptedNotLast { offset: 0 }))
        ));
        assert!(it.next().is_none());
        let items: Vec<_> = Payloads::new(PayloadType::Encrypted, &sk[..6], 0).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].unwrap().next_payload, PayloadType::IdI);
    }

    #[test]
    fn setters() {
        let mut b = [0u8; 6];
        let mut g = GenericPayload::new_unchecked(&mut b[..]);
        g.set_next_payload(PayloadType::Ke);
        g.set_flags(true, 0x7f);
        g.set_payload_length(6);
        g.body_mut().copy_from_slice(&[9, 9]);
        let g = GenericPayload::new_checked(&b[..]).unwrap();
        assert_eq!(g.next_payload(), PayloadType::Ke);
        assert!(g.critical());
        assert_eq!(g.reserved(), 0x7f);
        assert_eq!(g.body(), &[9, 9]);
    }
}

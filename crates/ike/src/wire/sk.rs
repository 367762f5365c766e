//! The Encrypted and Authenticated payload, SK (RFC 7296 §3.14), and its fragment form,
//! SKF (RFC 7383 §2.5).
//!
//! ```text
//! SK:  | Next Payload  |C|  RESERVED   |         Payload Length        |
//!      | Initialization Vector | Encrypted IKE Payloads | Padding | Pad Length | ICV |
//! SKF: | Next Payload  |C|  RESERVED   |         Payload Length        |
//!      |        Fragment Number        |        Total Fragments        |
//!      | Initialization Vector | Encrypted content ... | ICV |
//! ```
//!
//! The Next Payload of the generic header names the first payload inside the ciphertext
//! (for SKF: in fragment 1; RFC 7383 sets it to 0 in the others). IV, ciphertext and ICV
//! stay opaque: their sizes depend on the negotiated algorithms.

use super::{
    GENERIC_HEADER_LEN, PayloadType, Result, WireError, Writer, be16, payload_view, range,
};

payload_view! {
    /// A view of an Encrypted (SK) payload.
    Encrypted
}

impl<T: AsRef<[u8]>> Encrypted<T> {
    /// Checks the generic header.
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()
    }
    /// The type of the first payload inside the ciphertext.
    pub fn first_inner_payload(&self) -> PayloadType {
        self.next_payload()
    }
    /// IV, ciphertext (with padding and pad length) and ICV.
    pub fn content(&self) -> &[u8] {
        self.body()
    }
}

/// An owned SK payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncryptedRepr {
    /// The first inner payload's type (written as the SK payload's Next Payload).
    pub first_inner: PayloadType,
    /// IV, ciphertext and ICV.
    pub content: Vec<u8>,
}

impl EncryptedRepr {
    /// Parses an SK payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Encrypted<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(EncryptedRepr {
            first_inner: v.first_inner_payload(),
            content: v.content().to_vec(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        self.content.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.bytes(&self.content)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of an Encrypted Fragment (SKF) payload.
    EncryptedFragment
}

impl<T: AsRef<[u8]>> EncryptedFragment<T> {
    /// Checks the lengths and `1 <= Fragment Number <= Total Fragments`.
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()?;
        super::need("skf.header", GENERIC_HEADER_LEN, 4, self.body().len())?;
        let (number, total) = (self.fragment_number(), self.total_fragments());
        if number == 0 || number > total {
            return Err(WireError::FragmentNumber {
                offset: 0,
                number,
                total,
            });
        }
        Ok(())
    }
    /// The type of the first inner payload (fragment 1 only; 0 in the others).
    pub fn first_inner_payload(&self) -> PayloadType {
        self.next_payload()
    }
    /// Fragment Number (from 1).
    pub fn fragment_number(&self) -> u16 {
        be16(self.body(), 0)
    }
    /// Total Fragments.
    pub fn total_fragments(&self) -> u16 {
        be16(self.body(), 2)
    }
    /// IV, ciphertext and ICV.
    pub fn content(&self) -> &[u8] {
        let b = self.body();
        range(b, 4, b.len())
    }
}

/// An owned SKF payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncryptedFragmentRepr {
    /// The first inner payload's type (fragment 1), 0 otherwise.
    pub first_inner: PayloadType,
    /// Fragment Number (1..=total).
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// IV, ciphertext and ICV.
    pub content: Vec<u8>,
}

impl EncryptedFragmentRepr {
    /// Parses an SKF payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &EncryptedFragment<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(EncryptedFragmentRepr {
            first_inner: v.first_inner_payload(),
            number: v.fragment_number(),
            total: v.total_fragments(),
            content: v.content().to_vec(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.content.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length. Refuses a number outside `1..=total`.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        if self.number == 0 || self.number > self.total {
            return Err(WireError::FragmentNumber {
                offset: 0,
                number: self.number,
                total: self.total,
            });
        }
        let mut w = Writer::new(buf);
        w.u16(self.number)?;
        w.u16(self.total)?;
        w.bytes(&self.content)?;
        Ok(w.written())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_bounds() {
        let mk = |n: u16, t: u16| {
            let mut v = vec![35, 0, 0, 12];
            v.extend(n.to_be_bytes());
            v.extend(t.to_be_bytes());
            v.extend([1, 2, 3, 4]);
            v
        };
        let ok = mk(2, 3);
        let v = EncryptedFragment::new_checked(&ok[..]).unwrap();
        assert_eq!(v.first_inner_payload(), PayloadType::IdI);
        assert_eq!(v.content(), &[1, 2, 3, 4]);
        let r = EncryptedFragmentRepr::parse(&v).unwrap();
        assert_eq!((r.number, r.total), (2, 3));
        for (n, t) in [(0, 3), (4, 3), (0, 0)] {
            assert_eq!(
                EncryptedFragment::new_checked(&mk(n, t)[..]),
                Err(WireError::FragmentNumber {
                    offset: 0,
                    number: n,
                    total: t
                })
            );
        }
        let bad = EncryptedFragmentRepr { number: 5, ..r };
        assert!(bad.emit_body(&mut [0u8; 16]).is_err());
        let short = [0u8, 0, 0, 6, 0, 1];
        assert!(matches!(
            EncryptedFragment::new_checked(&short[..]),
            Err(WireError::Truncated {
                field: "skf.header",
                ..
            })
        ));
    }

    #[test]
    fn sk_is_opaque() {
        let b = [33u8, 0, 0, 7, 9, 8, 7];
        let v = Encrypted::new_checked(&b[..]).unwrap();
        assert_eq!(v.first_inner_payload(), PayloadType::Sa);
        let r = EncryptedRepr::parse(&v).unwrap();
        assert_eq!(r.content, vec![9, 8, 7]);
        let mut out = [0u8; 3];
        assert_eq!(r.emit_body(&mut out), Ok(3));
    }
}

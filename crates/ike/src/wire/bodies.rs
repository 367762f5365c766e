//! The simple payloads (RFC 7296 §3.4-§3.12): Key Exchange, Identification,
//! Authentication, Nonce, Notify, Delete and Vendor ID. Each has a view over the whole
//! payload and an owned `Repr` of its body.
//!
//! ```text
//! KE:     | Diffie-Hellman Group Num | RESERVED (2) | Key Exchange Data ...
//! ID:     | ID Type | RESERVED (3) | Identification Data ...
//! AUTH:   | Auth Method | RESERVED (3) | Authentication Data ...
//! Nonce:  | Nonce Data (16..=256 bytes) |
//! N:      | Protocol ID | SPI Size | Notify Message Type (2) | SPI | Notification Data ...
//! D:      | Protocol ID | SPI Size | Num of SPIs (2) | SPI * Num of SPIs |
//! V:      | Vendor ID ... |
//! ```

use super::{
    AuthMethod, GENERIC_HEADER_LEN, IdType, NotifyType, ProtocolId, Result, WireError, Writer,
    be16, byte, len8, len16, payload_view, range,
};
use std::net::Ipv4Addr;

/// Shortest nonce (RFC 7296 §3.9: at least 128 bits).
pub const MIN_NONCE_LEN: usize = 16;
/// Longest nonce (2048 bits).
pub const MAX_NONCE_LEN: usize = 256;

/// Checks the generic header and that the body has at least `min` bytes.
fn check_body(g: super::GenericPayload<&[u8]>, field: &'static str, min: usize) -> Result<()> {
    g.check_len()?;
    let have = g.body().len();
    super::need(field, GENERIC_HEADER_LEN, min, have)
}

payload_view! {
    /// A view of a Key Exchange payload.
    Ke
}

impl<T: AsRef<[u8]>> Ke<T> {
    /// Checks the lengths (a body of at least 4 bytes).
    pub fn check_len(&self) -> Result<()> {
        check_body(self.generic(), "ke.header", 4)
    }
    /// Diffie-Hellman Group Num.
    pub fn group(&self) -> u16 {
        be16(self.body(), 0)
    }
    /// The reserved field.
    pub fn reserved(&self) -> u16 {
        be16(self.body(), 2)
    }
    /// Key Exchange Data.
    pub fn data(&self) -> &[u8] {
        let b = self.body();
        range(b, 4, b.len())
    }
}

/// An owned KE body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeRepr {
    /// Diffie-Hellman Group Num (see [`super::transform_id::dh`]).
    pub group: u16,
    /// Key Exchange Data.
    pub data: Vec<u8>,
    /// The reserved field, as received (zero when building).
    pub reserved: u16,
}

impl KeRepr {
    /// Parses a KE payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Ke<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(KeRepr {
            group: v.group(),
            data: v.data().to_vec(),
            reserved: v.reserved(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.data.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.group)?;
        w.u16(self.reserved)?;
        w.bytes(&self.data)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of an Identification payload (IDi or IDr).
    Identification
}

impl<T: AsRef<[u8]>> Identification<T> {
    /// Checks the lengths (a body of at least 4 bytes).
    pub fn check_len(&self) -> Result<()> {
        check_body(self.generic(), "id.header", 4)
    }
    /// ID Type.
    pub fn id_type(&self) -> IdType {
        IdType::from(byte(self.body(), 0))
    }
    /// The three reserved octets.
    pub fn reserved(&self) -> [u8; 3] {
        let b = self.body();
        [byte(b, 1), byte(b, 2), byte(b, 3)]
    }
    /// Identification Data.
    pub fn data(&self) -> &[u8] {
        let b = self.body();
        range(b, 4, b.len())
    }
}

/// An owned Identification body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentificationRepr {
    /// ID Type.
    pub id_type: IdType,
    /// Identification Data.
    pub data: Vec<u8>,
    /// The reserved octets, as received (zero when building).
    pub reserved: [u8; 3],
}

impl IdentificationRepr {
    /// An ID_IPV4_ADDR identity.
    pub fn ipv4(a: Ipv4Addr) -> Self {
        IdentificationRepr {
            id_type: IdType::Ipv4Addr,
            data: a.octets().to_vec(),
            reserved: [0; 3],
        }
    }
    /// The address of an ID_IPV4_ADDR identity of the right length.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.data.as_slice().try_into().ok()?;
        (self.id_type == IdType::Ipv4Addr).then(|| Ipv4Addr::from(b))
    }
    /// Parses an IDi or IDr payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Identification<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(IdentificationRepr {
            id_type: v.id_type(),
            data: v.data().to_vec(),
            reserved: v.reserved(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.data.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.id_type.value())?;
        w.bytes(&self.reserved)?;
        w.bytes(&self.data)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of an Authentication payload.
    Authentication
}

impl<T: AsRef<[u8]>> Authentication<T> {
    /// Checks the lengths (a body of at least 4 bytes).
    pub fn check_len(&self) -> Result<()> {
        check_body(self.generic(), "auth.header", 4)
    }
    /// Auth Method.
    pub fn method(&self) -> AuthMethod {
        AuthMethod::from(byte(self.body(), 0))
    }
    /// The three reserved octets.
    pub fn reserved(&self) -> [u8; 3] {
        let b = self.body();
        [byte(b, 1), byte(b, 2), byte(b, 3)]
    }
    /// Authentication Data.
    pub fn data(&self) -> &[u8] {
        let b = self.body();
        range(b, 4, b.len())
    }
}

/// An owned Authentication body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthenticationRepr {
    /// Auth Method.
    pub method: AuthMethod,
    /// Authentication Data.
    pub data: Vec<u8>,
    /// The reserved octets, as received (zero when building).
    pub reserved: [u8; 3],
}

impl AuthenticationRepr {
    /// Parses an AUTH payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Authentication<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(AuthenticationRepr {
            method: v.method(),
            data: v.data().to_vec(),
            reserved: v.reserved(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.data.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.method.value())?;
        w.bytes(&self.reserved)?;
        w.bytes(&self.data)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of a Nonce payload.
    Nonce
}

impl<T: AsRef<[u8]>> Nonce<T> {
    /// Checks the lengths and that the nonce has 16..=256 bytes.
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()?;
        let len = self.body().len();
        if !(MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&len) {
            return Err(WireError::NonceLength { offset: 0, len });
        }
        Ok(())
    }
    /// Nonce Data.
    pub fn nonce(&self) -> &[u8] {
        self.body()
    }
}

/// An owned Nonce body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NonceRepr {
    /// Nonce Data (16..=256 bytes).
    pub nonce: Vec<u8>,
}

impl NonceRepr {
    /// Parses a Nonce payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Nonce<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(NonceRepr {
            nonce: v.nonce().to_vec(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        self.nonce.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length. Refuses a nonce outside 16..=256 bytes.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.nonce.len();
        if !(MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&len) {
            return Err(WireError::NonceLength { offset: 0, len });
        }
        let mut w = Writer::new(buf);
        w.bytes(&self.nonce)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of a Notify payload.
    Notify
}

impl<T: AsRef<[u8]>> Notify<T> {
    /// Checks the lengths (a 4-byte header and the SPI).
    pub fn check_len(&self) -> Result<()> {
        check_body(self.generic(), "notify.header", 4)?;
        let have = self.body().len() - 4;
        super::need("notify.spi", 8, usize::from(self.spi_size()), have)
    }
    /// Protocol ID (0 when the notify is about the IKE SA or no SA).
    pub fn protocol(&self) -> ProtocolId {
        ProtocolId::from(byte(self.body(), 0))
    }
    /// SPI Size.
    pub fn spi_size(&self) -> u8 {
        byte(self.body(), 1)
    }
    /// Notify Message Type.
    pub fn notify_type(&self) -> NotifyType {
        NotifyType::from(be16(self.body(), 2))
    }
    /// The SPI.
    pub fn spi(&self) -> &[u8] {
        range(self.body(), 4, 4 + usize::from(self.spi_size()))
    }
    /// Notification Data.
    pub fn data(&self) -> &[u8] {
        let b = self.body();
        range(b, 4 + usize::from(self.spi_size()), b.len())
    }
}

/// An owned Notify body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotifyRepr {
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// Notify Message Type.
    pub notify_type: NotifyType,
    /// SPI (often empty).
    pub spi: Vec<u8>,
    /// Notification Data.
    pub data: Vec<u8>,
}

impl NotifyRepr {
    /// A notify without protocol or SPI.
    pub fn new(notify_type: NotifyType, data: Vec<u8>) -> Self {
        NotifyRepr {
            protocol: ProtocolId::None,
            notify_type,
            spi: Vec::new(),
            data,
        }
    }
    /// For INVALID_KE_PAYLOAD: the group the responder wants.
    pub fn invalid_ke_group(&self) -> Option<u16> {
        let b: [u8; 2] = self.data.as_slice().try_into().ok()?;
        (self.notify_type == NotifyType::InvalidKePayload).then(|| u16::from_be_bytes(b))
    }
    /// Parses a Notify payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Notify<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(NotifyRepr {
            protocol: v.protocol(),
            notify_type: v.notify_type(),
            spi: v.spi().to_vec(),
            data: v.data().to_vec(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.spi.len() + self.data.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(self.protocol.value())?;
        w.u8(len8("notify.spi_size", self.spi.len())?)?;
        w.u16(self.notify_type.value())?;
        w.bytes(&self.spi)?;
        w.bytes(&self.data)?;
        Ok(w.written())
    }
}

payload_view! {
    /// A view of a Delete payload.
    Delete
}

impl<T: AsRef<[u8]>> Delete<T> {
    /// Checks the lengths: exactly `Num of SPIs * SPI Size` bytes after the 4-byte header.
    pub fn check_len(&self) -> Result<()> {
        check_body(self.generic(), "delete.header", 4)?;
        let have = self.body().len() - 4;
        let want = usize::from(self.num_spis()) * usize::from(self.spi_size());
        super::need("delete.spis", 8, want, have)?;
        if have > want {
            return Err(WireError::TrailingBytes {
                field: "delete.spis",
                offset: 8 + want,
                count: have - want,
            });
        }
        Ok(())
    }
    /// Protocol ID (IKE, AH or ESP).
    pub fn protocol(&self) -> ProtocolId {
        ProtocolId::from(byte(self.body(), 0))
    }
    /// SPI Size.
    pub fn spi_size(&self) -> u8 {
        byte(self.body(), 1)
    }
    /// Num of SPIs.
    pub fn num_spis(&self) -> u16 {
        be16(self.body(), 2)
    }
    /// The SPIs (none when the SPI size is 0).
    pub fn spis(&self) -> impl Iterator<Item = &[u8]> {
        let size = usize::from(self.spi_size());
        let b = self.body();
        let all = range(b, 4, b.len());
        let n = if size == 0 {
            0
        } else {
            usize::from(self.num_spis())
        };
        all.chunks_exact(size.max(1)).take(n)
    }
}

/// An owned Delete body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeleteRepr {
    /// Protocol ID.
    pub protocol: ProtocolId,
    /// SPI Size (0 for the IKE SA; every SPI must have this length).
    pub spi_size: u8,
    /// Num of SPIs, when the SPI size is 0 (then `spis` is empty); ignored otherwise.
    pub empty_count: u16,
    /// The SPIs.
    pub spis: Vec<Vec<u8>>,
}

impl DeleteRepr {
    /// Deletes the IKE SA the message travels in.
    pub fn ike() -> Self {
        DeleteRepr {
            protocol: ProtocolId::Ike,
            spi_size: 0,
            empty_count: 0,
            spis: Vec::new(),
        }
    }
    /// Deletes ESP SAs by their 4-byte inbound SPIs.
    pub fn esp(spis: &[u32]) -> Self {
        DeleteRepr {
            protocol: ProtocolId::Esp,
            spi_size: 4,
            empty_count: 0,
            spis: spis.iter().map(|s| s.to_be_bytes().to_vec()).collect(),
        }
    }
    /// Parses a Delete payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &Delete<&T>) -> Result<Self> {
        v.check_len()?;
        let spi_size = v.spi_size();
        Ok(DeleteRepr {
            protocol: v.protocol(),
            spi_size,
            empty_count: if spi_size == 0 { v.num_spis() } else { 0 },
            spis: v.spis().map(<[u8]>::to_vec).collect(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        4 + self.spis.iter().map(Vec::len).sum::<usize>()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length. Refuses SPIs whose length is not `spi_size`.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        if self
            .spis
            .iter()
            .any(|s| s.len() != usize::from(self.spi_size))
        {
            return Err(WireError::Invalid {
                field: "delete.spis",
                offset: 0,
                reason: "every SPI must be SPI Size bytes long",
            });
        }
        let count = if self.spi_size == 0 {
            self.empty_count
        } else {
            len16("delete.num_spis", self.spis.len())?
        };
        let mut w = Writer::new(buf);
        w.u8(self.protocol.value())?;
        w.u8(self.spi_size)?;
        w.u16(count)?;
        for s in &self.spis {
            w.bytes(s)?;
        }
        Ok(w.written())
    }
}

payload_view! {
    /// A view of a Vendor ID payload.
    VendorId
}

impl<T: AsRef<[u8]>> VendorId<T> {
    /// Checks the generic header.
    pub fn check_len(&self) -> Result<()> {
        self.generic().check_len()
    }
    /// The Vendor ID.
    pub fn vendor_id(&self) -> &[u8] {
        self.body()
    }
}

/// An owned Vendor ID body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VendorIdRepr {
    /// The Vendor ID.
    pub id: Vec<u8>,
}

impl VendorIdRepr {
    /// Parses a Vendor ID payload.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(v: &VendorId<&T>) -> Result<Self> {
        v.check_len()?;
        Ok(VendorIdRepr {
            id: v.vendor_id().to_vec(),
        })
    }
    /// Length of the body.
    pub fn body_len(&self) -> usize {
        self.id.len()
    }
    /// Length of the payload, generic header included.
    pub fn buffer_len(&self) -> usize {
        GENERIC_HEADER_LEN + self.body_len()
    }
    /// Writes the body; returns its length.
    pub fn emit_body(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.bytes(&self.id)?;
        Ok(w.written())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0];
        v.extend(((body.len() + 4) as u16).to_be_bytes());
        v.extend(body);
        v
    }

    #[test]
    fn notify_and_delete() {
        let n = NotifyRepr::new(NotifyType::InvalidKePayload, vec![0, 19]);
        let mut b = vec![0; n.body_len()];
        n.emit_body(&mut b).unwrap();
        let p = payload(&b);
        let v = Notify::new_checked(&p[..]).unwrap();
        assert_eq!(v.notify_type(), NotifyType::InvalidKePayload);
        let back = NotifyRepr::parse(&v).unwrap();
        assert_eq!(back.invalid_ke_group(), Some(19));
        // SPI size past the end.
        let bad = payload(&[3, 4, 0, 1, 9]);
        assert!(matches!(
            Notify::new_checked(&bad[..]),
            Err(WireError::Truncated {
                field: "notify.spi",
                offset: 8,
                need: 4,
                have: 1
            })
        ));

        let d = DeleteRepr::esp(&[1, 2]);
        let mut b = vec![0; d.body_len()];
        d.emit_body(&mut b).unwrap();
        let p = payload(&b);
        let v = Delete::new_checked(&p[..]).unwrap();
        assert_eq!(v.spis().count(), 2);
        assert_eq!(DeleteRepr::parse(&v).unwrap(), d);
        let mut extra = b.clone();
        extra.push(0);
        assert!(matches!(
            Delete::new_checked(&payload(&extra)[..]),
            Err(WireError::TrailingBytes { count: 1, .. })
        ));
        let ike = payload(&[1, 0, 0, 7]);
        let r = DeleteRepr::parse(&Delete::new_checked(&ike[..]).unwrap()).unwrap();
        assert_eq!(r.empty_count, 7);
        let mut out = [0u8; 4];
        r.emit_body(&mut out).unwrap();
        assert_eq!(out, [1, 0, 0, 7]);
        let wrong = DeleteRepr {
            spis: vec![vec![1]],
            ..DeleteRepr::esp(&[])
        };
        assert!(wrong.emit_body(&mut [0u8; 16]).is_err());
    }

    #[test]
    fn nonce_bounds() {
        for (len, ok) in [(15, false), (16, true), (256, true), (257, false)] {
            let p = payload(&vec![1; len]);
            assert_eq!(Nonce::new_checked(&p[..]).is_ok(), ok, "{len}");
            let r = NonceRepr {
                nonce: vec![1; len],
            };
            assert_eq!(r.emit_body(&mut vec![0; len]).is_ok(), ok);
        }
    }

    #[test]
    fn id_ke_auth() {
        let id = IdentificationRepr::ipv4(Ipv4Addr::new(192, 0, 2, 1));
        let mut b = vec![0; id.body_len()];
        id.emit_body(&mut b).unwrap();
        let p = payload(&b);
        let back = IdentificationRepr::parse(&Identification::new_checked(&p[..]).unwrap());
        assert_eq!(back.unwrap().as_ipv4(), Some(Ipv4Addr::new(192, 0, 2, 1)));
        let short = payload(&[1, 0, 0]);
        assert!(Identification::new_checked(&short[..]).is_err());
        assert!(Ke::new_checked(&short[..]).is_err());
        assert!(Authentication::new_checked(&short[..]).is_err());
        let ke = payload(&[0, 19, 0, 1, 7, 7]);
        let v = Ke::new_checked(&ke[..]).unwrap();
        assert_eq!((v.group(), v.reserved(), v.data()), (19, 1, &[7u8, 7][..]));
        let a = payload(&[2, 0, 0, 0, 5]);
        let v = Authentication::new_checked(&a[..]).unwrap();
        assert_eq!(v.method(), AuthMethod::SharedKeyMic);
        assert_eq!(AuthenticationRepr::parse(&v).unwrap().data, vec![5]);
    }
}

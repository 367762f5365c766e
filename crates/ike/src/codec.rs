//! Bytes ⇄ the engine's [`Message`]: the IKE header (RFC 7296 §3.1), the payload chain
//! (§3.2) and the payload bodies the engine uses, the Encrypted payload (§3.14, RFC 5282
//! for AES-GCM) and RFC 7383 fragments (SKF) with a bounded reassembly.
//!
//! This is the engine's private adapter: every read is bounds-checked through a cursor,
//! counts and sizes are bounded, and nothing here panics on any input. (The crate's public
//! [`crate::wire`] module is the general-purpose codec; this adapter covers exactly the
//! payloads the engine acts on and keeps unknown ones as `Payload::Other`.)

use crate::msg::{Message, Payload, Ts, ptype};
use crate::proposal::{Proposal, Transform};

mod sk;

pub(crate) use sk::{Reassembly, decode_encrypted, encode_encrypted};
use std::net::Ipv4Addr;

/// IKE header length.
pub(crate) const HEADER_LEN: usize = 28;
/// Largest message accepted or built (a UDP datagram).
const MAX_MESSAGE: usize = 65_535;
/// Payloads per message, proposals per SA, transforms per proposal, selectors per TS.
const MAX_ITEMS: usize = 64;
/// Header flags.
const FLAG_I: u8 = 0x08;
const FLAG_R: u8 = 0x20;
/// Key Length attribute (TV).
const ATTR_KEY_LENGTH: u16 = 14;

/// Why a datagram could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Lengths or fields do not add up.
    #[error("malformed IKE message")]
    Malformed,
    /// Major version is not 2.
    #[error("unsupported IKE major version")]
    Version,
    /// The ICV did not verify (or padding was wrong).
    #[error("integrity check failed")]
    Integrity,
}

/// The fixed header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    pub(crate) next: u8,
    pub(crate) exchange: u8,
    pub(crate) from_initiator: bool,
    pub(crate) response: bool,
    pub(crate) msg_id: u32,
}

/// A bounds-checked reader.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cursor { b }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (h, t) = self.b.split_at_checked(n).ok_or(DecodeError::Malformed)?;
        self.b = t;
        Ok(h)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b: [u8; 2] = self
            .take(2)?
            .try_into()
            .map_err(|_| DecodeError::Malformed)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError::Malformed)?;
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b: [u8; 8] = self
            .take(8)?
            .try_into()
            .map_err(|_| DecodeError::Malformed)?;
        Ok(u64::from_be_bytes(b))
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.b)
    }

    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// Parse and check the header of a datagram (length field = datagram length).
pub(crate) fn peek(bytes: &[u8]) -> Result<Header, DecodeError> {
    let mut c = Cursor::new(bytes);
    let spi_i = c.u64()?;
    let spi_r = c.u64()?;
    let next = c.u8()?;
    let version = c.u8()?;
    let exchange = c.u8()?;
    let flags = c.u8()?;
    let msg_id = c.u32()?;
    let len = c.u32()?;
    if version >> 4 != 2 {
        return Err(DecodeError::Version);
    }
    if usize::try_from(len).ok() != Some(bytes.len()) || bytes.len() > MAX_MESSAGE {
        return Err(DecodeError::Malformed);
    }
    Ok(Header {
        spi_i,
        spi_r,
        next,
        exchange,
        from_initiator: flags & FLAG_I != 0,
        response: flags & FLAG_R != 0,
        msg_id,
    })
}

fn message(h: &Header, payloads: Vec<Payload>) -> Message {
    Message {
        spi_i: h.spi_i,
        spi_r: h.spi_r,
        exchange: h.exchange,
        from_initiator: h.from_initiator,
        response: h.response,
        msg_id: h.msg_id,
        payloads,
    }
}

/// Decode an unencrypted message (IKE_SA_INIT).
pub(crate) fn decode_plain(bytes: &[u8]) -> Result<Message, DecodeError> {
    let h = peek(bytes)?;
    let body = bytes.get(HEADER_LEN..).ok_or(DecodeError::Malformed)?;
    let payloads = parse_chain(h.next, body)?;
    Ok(message(&h, payloads))
}

/// Walk a payload chain starting with type `first`.
fn parse_chain(first: u8, mut b: &[u8]) -> Result<Vec<Payload>, DecodeError> {
    let mut next = first;
    let mut out = Vec::new();
    while next != 0 {
        if out.len() >= MAX_ITEMS {
            return Err(DecodeError::Malformed);
        }
        let mut c = Cursor::new(b);
        let following = c.u8()?;
        let critical = c.u8()? & 0x80 != 0;
        let len = usize::from(c.u16()?);
        let body = c.take(len.checked_sub(4).ok_or(DecodeError::Malformed)?)?;
        b = c.rest();
        out.push(parse_payload(next, critical, body)?);
        next = following;
    }
    if !b.is_empty() {
        return Err(DecodeError::Malformed);
    }
    Ok(out)
}

fn parse_payload(t: u8, critical: bool, body: &[u8]) -> Result<Payload, DecodeError> {
    let mut c = Cursor::new(body);
    let p = match t {
        ptype::SA => Payload::Sa(parse_sa(body)?),
        ptype::KE => {
            let group = c.u16()?;
            c.take(2)?;
            Payload::Ke {
                group,
                data: c.rest().to_vec(),
            }
        }
        ptype::IDI | ptype::IDR => {
            let id_type = c.u8()?;
            c.take(3)?;
            let data = c.rest().to_vec();
            if t == ptype::IDI {
                Payload::IdI { id_type, data }
            } else {
                Payload::IdR { id_type, data }
            }
        }
        ptype::AUTH => {
            let method = c.u8()?;
            c.take(3)?;
            Payload::Auth {
                method,
                data: c.rest().to_vec(),
            }
        }
        ptype::NONCE => Payload::Nonce(body.to_vec()),
        ptype::NOTIFY => {
            let protocol = c.u8()?;
            let spi_len = usize::from(c.u8()?);
            let ntype = c.u16()?;
            let spi = c.take(spi_len)?.to_vec();
            Payload::Notify {
                protocol,
                spi,
                ntype,
                data: c.rest().to_vec(),
            }
        }
        ptype::DELETE => {
            let protocol = c.u8()?;
            let spi_len = usize::from(c.u8()?);
            let n = usize::from(c.u16()?);
            if n > MAX_ITEMS || (n > 0 && spi_len == 0) {
                return Err(DecodeError::Malformed);
            }
            let mut spis = Vec::with_capacity(n);
            for _ in 0..n {
                spis.push(c.take(spi_len)?.to_vec());
            }
            Payload::Delete { protocol, spis }
        }
        ptype::VENDOR_ID => Payload::VendorId(body.to_vec()),
        ptype::TSI | ptype::TSR => {
            let v = parse_ts(body)?;
            if t == ptype::TSI {
                Payload::TsI(v)
            } else {
                Payload::TsR(v)
            }
        }
        _ => Payload::Other { ptype: t, critical },
    };
    Ok(p)
}

fn parse_sa(body: &[u8]) -> Result<Vec<Proposal>, DecodeError> {
    let mut c = Cursor::new(body);
    let mut out = Vec::new();
    loop {
        if out.len() >= MAX_ITEMS {
            return Err(DecodeError::Malformed);
        }
        let more = c.u8()?;
        c.u8()?;
        let len = usize::from(c.u16()?);
        let mut p = Cursor::new(c.take(len.checked_sub(4).ok_or(DecodeError::Malformed)?)?);
        let num = p.u8()?;
        let protocol = p.u8()?;
        let spi_len = usize::from(p.u8()?);
        let n = p.u8()?;
        let spi = p.take(spi_len)?.to_vec();
        let mut transforms = Vec::new();
        let mut usable = true;
        for _ in 0..n {
            let _more = p.u8()?;
            p.u8()?;
            let tlen = usize::from(p.u16()?);
            let mut t = Cursor::new(p.take(tlen.checked_sub(4).ok_or(DecodeError::Malformed)?)?);
            let ttype = t.u8()?;
            t.u8()?;
            let id = t.u16()?;
            let mut key_len = None;
            let mut known = true;
            while !t.is_empty() {
                let at = t.u16()?;
                if at & 0x8000 != 0 {
                    let v = t.u16()?;
                    if at & 0x7fff == ATTR_KEY_LENGTH {
                        key_len = Some(v);
                    } else {
                        known = false;
                    }
                } else {
                    let l = usize::from(t.u16()?);
                    t.take(l)?;
                    known = false;
                }
            }
            // A transform with an attribute we do not understand cannot be chosen (§3.3.6).
            if known {
                transforms.push(Transform { ttype, id, key_len });
            } else if !matches!(ttype, 1..=5) {
                usable = false;
            }
        }
        if !p.is_empty() {
            return Err(DecodeError::Malformed);
        }
        if usable {
            out.push(Proposal {
                num,
                protocol,
                spi,
                transforms,
            });
        }
        match more {
            0 => break,
            2 => continue,
            _ => return Err(DecodeError::Malformed),
        }
    }
    if !c.is_empty() {
        return Err(DecodeError::Malformed);
    }
    Ok(out)
}

fn parse_ts(body: &[u8]) -> Result<Vec<Ts>, DecodeError> {
    let mut c = Cursor::new(body);
    let n = usize::from(c.u8()?);
    c.take(3)?;
    if n > MAX_ITEMS {
        return Err(DecodeError::Malformed);
    }
    let mut out = Vec::new();
    for _ in 0..n {
        let ty = c.u8()?;
        let protocol = c.u8()?;
        let len = usize::from(c.u16()?);
        let mut t = Cursor::new(c.take(len.checked_sub(4).ok_or(DecodeError::Malformed)?)?);
        if ty != 7 {
            continue; // IPv6 and other selector types: not for us
        }
        let start_port = t.u16()?;
        let end_port = t.u16()?;
        let s: [u8; 4] = t.take(4)?.try_into().map_err(|_| DecodeError::Malformed)?;
        let e: [u8; 4] = t.take(4)?.try_into().map_err(|_| DecodeError::Malformed)?;
        out.push(Ts {
            protocol,
            start_port,
            end_port,
            start: Ipv4Addr::from(s),
            end: Ipv4Addr::from(e),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- emitting

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn len16(n: usize) -> Result<u16, DecodeError> {
    u16::try_from(n).map_err(|_| DecodeError::Malformed)
}

fn payload_type(p: &Payload) -> u8 {
    match p {
        Payload::Sa(_) => ptype::SA,
        Payload::Ke { .. } => ptype::KE,
        Payload::Nonce(_) => ptype::NONCE,
        Payload::Notify { .. } => ptype::NOTIFY,
        Payload::IdI { .. } => ptype::IDI,
        Payload::IdR { .. } => ptype::IDR,
        Payload::Auth { .. } => ptype::AUTH,
        Payload::TsI(_) => ptype::TSI,
        Payload::TsR(_) => ptype::TSR,
        Payload::Delete { .. } => ptype::DELETE,
        Payload::VendorId(_) => ptype::VENDOR_ID,
        Payload::Other { ptype, .. } => *ptype,
    }
}

fn body(p: &Payload) -> Result<Vec<u8>, DecodeError> {
    let mut v = Vec::new();
    match p {
        Payload::Sa(props) => {
            let n = props.len();
            for (i, pr) in props.iter().enumerate() {
                let mut t = Vec::new();
                let tn = pr.transforms.len();
                for (j, tr) in pr.transforms.iter().enumerate() {
                    let attr = tr.key_len.map(|k| {
                        let mut a = Vec::new();
                        put_u16(&mut a, 0x8000 | ATTR_KEY_LENGTH);
                        put_u16(&mut a, k);
                        a
                    });
                    let tlen = 8 + attr.as_ref().map_or(0, Vec::len);
                    t.push(if j + 1 == tn { 0 } else { 3 });
                    t.push(0);
                    put_u16(&mut t, len16(tlen)?);
                    t.push(tr.ttype);
                    t.push(0);
                    put_u16(&mut t, tr.id);
                    t.extend(attr.unwrap_or_default());
                }
                let plen = 8 + pr.spi.len() + t.len();
                v.push(if i + 1 == n { 0 } else { 2 });
                v.push(0);
                put_u16(&mut v, len16(plen)?);
                v.push(pr.num);
                v.push(pr.protocol);
                v.push(u8::try_from(pr.spi.len()).map_err(|_| DecodeError::Malformed)?);
                v.push(u8::try_from(tn).map_err(|_| DecodeError::Malformed)?);
                v.extend_from_slice(&pr.spi);
                v.extend(t);
            }
        }
        Payload::Ke { group, data } => {
            put_u16(&mut v, *group);
            put_u16(&mut v, 0);
            v.extend_from_slice(data);
        }
        Payload::Nonce(n) | Payload::VendorId(n) => v.extend_from_slice(n),
        Payload::Notify {
            protocol,
            spi,
            ntype,
            data,
        } => {
            v.push(*protocol);
            v.push(u8::try_from(spi.len()).map_err(|_| DecodeError::Malformed)?);
            put_u16(&mut v, *ntype);
            v.extend_from_slice(spi);
            v.extend_from_slice(data);
        }
        Payload::IdI { id_type, data } | Payload::IdR { id_type, data } => {
            v.extend_from_slice(&[*id_type, 0, 0, 0]);
            v.extend_from_slice(data);
        }
        Payload::Auth { method, data } => {
            v.extend_from_slice(&[*method, 0, 0, 0]);
            v.extend_from_slice(data);
        }
        Payload::TsI(list) | Payload::TsR(list) => {
            v.push(u8::try_from(list.len()).map_err(|_| DecodeError::Malformed)?);
            v.extend_from_slice(&[0, 0, 0]);
            for t in list {
                v.extend_from_slice(&[7, t.protocol, 0, 16]);
                put_u16(&mut v, t.start_port);
                put_u16(&mut v, t.end_port);
                v.extend_from_slice(&t.start.octets());
                v.extend_from_slice(&t.end.octets());
            }
        }
        Payload::Delete { protocol, spis } => {
            let spi_len = spis.first().map_or(0, Vec::len);
            v.push(*protocol);
            v.push(u8::try_from(spi_len).map_err(|_| DecodeError::Malformed)?);
            put_u16(&mut v, len16(spis.len())?);
            for s in spis {
                v.extend_from_slice(s);
            }
        }
        Payload::Other { .. } => {}
    }
    Ok(v)
}

/// A payload chain; returns the first payload's type and the bytes.
fn emit_chain(payloads: &[Payload]) -> Result<(u8, Vec<u8>), DecodeError> {
    let mut out = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads.get(i + 1).map_or(0, payload_type);
        let b = body(p)?;
        out.push(next);
        out.push(0);
        put_u16(&mut out, len16(b.len() + 4)?);
        out.extend(b);
    }
    Ok((payloads.first().map_or(0, payload_type), out))
}

fn emit_header(m: &Message, next: u8, total: usize) -> Result<Vec<u8>, DecodeError> {
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&m.spi_i.to_be_bytes());
    v.extend_from_slice(&m.spi_r.to_be_bytes());
    v.push(next);
    v.push(0x20);
    v.push(m.exchange);
    let mut flags = 0;
    if m.from_initiator {
        flags |= FLAG_I;
    }
    if m.response {
        flags |= FLAG_R;
    }
    v.push(flags);
    v.extend_from_slice(&m.msg_id.to_be_bytes());
    let len = u32::try_from(total).map_err(|_| DecodeError::Malformed)?;
    v.extend_from_slice(&len.to_be_bytes());
    Ok(v)
}

/// Encode an unencrypted message.
pub(crate) fn encode_plain(m: &Message) -> Result<Vec<u8>, DecodeError> {
    let (first, chain) = emit_chain(&m.payloads)?;
    let total = HEADER_LEN + chain.len();
    if total > MAX_MESSAGE {
        return Err(DecodeError::Malformed);
    }
    let mut v = emit_header(m, first, total)?;
    v.extend(chain);
    Ok(v)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::msg::{exchange, notify};
    use dmvpn_crypto::{Encryption, Integrity, Random, SeededRandom};

    pub(crate) fn sample() -> Message {
        let mut m = Message::new(0x1122, 0x3344, exchange::IKE_AUTH, true, false, 1);
        m.push(Payload::IdI {
            id_type: 1,
            data: vec![192, 0, 2, 1],
        });
        m.push(Payload::Auth {
            method: 2,
            data: vec![7; 32],
        });
        m.push(Payload::Sa(crate::proposal::esp_offer(
            &[crate::config::ChildTransform {
                encryption: Encryption::AesCbc { key_bits: 128 },
                integrity: Some(Integrity::HmacSha256_128),
            }],
            true,
            None,
            0xdead_beef,
        )));
        m.push(Payload::TsI(vec![Ts::gre_host(Ipv4Addr::new(
            192, 0, 2, 1,
        ))]));
        m.push(Payload::TsR(vec![Ts::gre_host(Ipv4Addr::new(
            192, 0, 2, 2,
        ))]));
        m.notify(notify::USE_TRANSPORT_MODE, vec![]);
        m.push(Payload::Delete {
            protocol: 3,
            spis: vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]],
        });
        m
    }

    #[test]
    fn plain_round_trip() {
        let m = sample();
        let b = encode_plain(&m).unwrap();
        assert_eq!(decode_plain(&b).unwrap(), m);
        assert_eq!(peek(&b).unwrap().msg_id, 1);
        let mut bad = b.clone();
        bad[17] = 0x10;
        assert_eq!(peek(&bad), Err(DecodeError::Version));
        assert_eq!(peek(&b[..b.len() - 1]), Err(DecodeError::Malformed));
    }

    #[test]
    fn garbage_never_panics() {
        let c = &sk::tests::ciphers()[0];
        let mut rng = SeededRandom::new(3);
        for len in 0..200 {
            let mut b = vec![0u8; len];
            rng.fill(&mut b);
            if b.len() >= HEADER_LEN {
                b[17] = 0x20;
                let l = (b.len() as u32).to_be_bytes();
                b[24..28].copy_from_slice(&l);
            }
            let _ = decode_plain(&b);
            let _ = decode_encrypted(&b, c, &mut None);
        }
    }
}

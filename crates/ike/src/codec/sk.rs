//! The Encrypted payload (RFC 7296 §3.14; AES-GCM per RFC 5282: the AAD is the IKE header
//! and the SK header) and RFC 7383 fragments (SKF, each authenticated on its own) with a
//! reassembly bounded in fragment count and bytes.

use super::{
    Cursor, DecodeError, HEADER_LEN, MAX_MESSAGE, emit_chain, emit_header, len16, message,
    parse_chain, peek, put_u16,
};
use crate::msg::Message;
use dmvpn_crypto::{Cipher, Random};
use std::collections::BTreeMap;

/// Fragments per message (RFC 7383 reassembly bound).
const MAX_FRAGMENTS: u16 = 64;
/// The SK payload type.
const SK: u8 = 46;
/// The SKF payload type.
const SKF: u8 = 53;
/// IP + UDP + non-ESP marker, subtracted from the fragmentation MTU.
const OUTER_OVERHEAD: usize = 20 + 8 + 4;

/// Encrypt `plain` (an inner chain, or one fragment of it) into a message: header, SK or
/// SKF header (`frag` = (number, total)), IV, ciphertext with padding, ICV.
fn seal_one(
    m: &Message,
    first: u8,
    plain: &[u8],
    frag: Option<(u16, u16)>,
    cipher: &Cipher,
    rng: &mut dyn Random,
) -> Result<Vec<u8>, DecodeError> {
    let block = cipher.block_len().max(1);
    let pad = (block - (plain.len() + 1) % block) % block;
    let enc_len = plain.len() + pad + 1;
    let sk_hdr_len = if frag.is_some() { 8 } else { 4 };
    let sk_len = sk_hdr_len + cipher.iv_len() + enc_len + cipher.icv_len();
    let total = HEADER_LEN + sk_len;
    if total > MAX_MESSAGE {
        return Err(DecodeError::Malformed);
    }
    let (outer_type, inner_first) = match frag {
        Some((1, _)) => (SKF, first),
        Some(_) => (SKF, 0),
        None => (SK, first),
    };
    let mut v = emit_header(m, outer_type, total)?;
    v.push(inner_first);
    v.push(0);
    put_u16(&mut v, len16(sk_len)?);
    if let Some((n, t)) = frag {
        put_u16(&mut v, n);
        put_u16(&mut v, t);
    }
    let aad_len = v.len();
    let mut iv = vec![0u8; cipher.iv_len()];
    rng.fill(&mut iv);
    v.extend_from_slice(&iv);
    v.extend_from_slice(plain);
    v.extend(std::iter::repeat_n(0u8, pad));
    v.push(u8::try_from(pad).map_err(|_| DecodeError::Malformed)?);
    v.extend(std::iter::repeat_n(0u8, cipher.icv_len()));
    let (aad, region) = v
        .split_at_mut_checked(aad_len)
        .ok_or(DecodeError::Malformed)?;
    cipher
        .seal_region(aad, &[], region)
        .map_err(|_| DecodeError::Malformed)?;
    Ok(v)
}

/// Encode and encrypt a message; with `frag_mtu`, split into RFC 7383 fragments when the
/// datagram would exceed it.
pub(crate) fn encode_encrypted(
    m: &Message,
    cipher: &Cipher,
    rng: &mut dyn Random,
    frag_mtu: Option<usize>,
) -> Result<Vec<Vec<u8>>, DecodeError> {
    let (first, chain) = emit_chain(&m.payloads)?;
    let overhead = HEADER_LEN + 8 + cipher.iv_len() + cipher.icv_len() + cipher.block_len() + 1;
    match frag_mtu {
        Some(mtu) if OUTER_OVERHEAD + overhead + chain.len() > mtu => {
            let room = mtu
                .checked_sub(OUTER_OVERHEAD + overhead)
                .filter(|r| *r > 0)
                .ok_or(DecodeError::Malformed)?;
            let pieces: Vec<&[u8]> = chain.chunks(room).collect();
            let total = u16::try_from(pieces.len()).map_err(|_| DecodeError::Malformed)?;
            if total > MAX_FRAGMENTS {
                return Err(DecodeError::Malformed);
            }
            let mut out = Vec::new();
            for (i, p) in pieces.iter().enumerate() {
                let n = u16::try_from(i + 1).map_err(|_| DecodeError::Malformed)?;
                out.push(seal_one(m, first, p, Some((n, total)), cipher, rng)?);
            }
            Ok(out)
        }
        _ => Ok(vec![seal_one(m, first, &chain, None, cipher, rng)?]),
    }
}

/// Fragments of one message being collected (RFC 7383 §2.6): bounded in count and bytes.
#[derive(Debug)]
pub(crate) struct Reassembly {
    msg_id: u32,
    response: bool,
    total: u16,
    first: u8,
    parts: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// Open the SK/SKF payload of a message; `Ok(None)` when a fragment was stored and the
/// message is not complete yet.
pub(crate) fn decode_encrypted(
    bytes: &[u8],
    cipher: &Cipher,
    reassembly: &mut Option<Reassembly>,
) -> Result<Option<Message>, DecodeError> {
    let h = peek(bytes)?;
    if h.next != SK && h.next != SKF {
        return Err(DecodeError::Malformed);
    }
    let mut c = Cursor::new(bytes.get(HEADER_LEN..).ok_or(DecodeError::Malformed)?);
    let inner_first = c.u8()?;
    c.u8()?;
    let len = usize::from(c.u16()?);
    let frag = if h.next == SKF {
        Some((c.u16()?, c.u16()?))
    } else {
        None
    };
    let hdr_len = if frag.is_some() { 8 } else { 4 };
    if HEADER_LEN + len != bytes.len() || len < hdr_len {
        return Err(DecodeError::Malformed);
    }
    let aad_len = HEADER_LEN + hdr_len;
    let (aad, region) = bytes
        .split_at_checked(aad_len)
        .ok_or(DecodeError::Malformed)?;
    let mut region = region.to_vec();
    if region.len() < cipher.iv_len() + cipher.icv_len() + 1 {
        return Err(DecodeError::Malformed);
    }
    let plain = cipher
        .open_region(aad, &[], &mut region)
        .map_err(|_| DecodeError::Integrity)?;
    let (&pad, rest) = plain.split_last().ok_or(DecodeError::Integrity)?;
    let keep = rest
        .len()
        .checked_sub(usize::from(pad))
        .ok_or(DecodeError::Integrity)?;
    let inner = rest.get(..keep).ok_or(DecodeError::Integrity)?;
    let Some((num, total)) = frag else {
        return Ok(Some(message(&h, parse_chain(inner_first, inner)?)));
    };
    if num == 0 || num > total || total > MAX_FRAGMENTS || (num == 1) != (inner_first != 0) {
        return Err(DecodeError::Malformed);
    }
    let fresh = match reassembly {
        Some(r) => r.msg_id != h.msg_id || r.response != h.response || r.total != total,
        None => true,
    };
    if fresh {
        *reassembly = Some(Reassembly {
            msg_id: h.msg_id,
            response: h.response,
            total,
            first: 0,
            parts: BTreeMap::new(),
            bytes: 0,
        });
    }
    let Some(r) = reassembly.as_mut() else {
        return Ok(None);
    };
    if num == 1 {
        r.first = inner_first;
    }
    if !r.parts.contains_key(&num) {
        r.bytes += inner.len();
        if r.bytes > MAX_MESSAGE {
            *reassembly = None;
            return Err(DecodeError::Malformed);
        }
        r.parts.insert(num, inner.to_vec());
    }
    if r.parts.len() < usize::from(r.total) {
        return Ok(None);
    }
    let whole: Vec<u8> = r.parts.values().flatten().copied().collect();
    let first = r.first;
    *reassembly = None;
    Ok(Some(message(&h, parse_chain(first, &whole)?)))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::codec::tests::sample;
    use crate::msg::Payload;
    use dmvpn_crypto::{Encryption, Integrity, SeededRandom};

    pub(in crate::codec) fn ciphers() -> Vec<Cipher> {
        vec![
            Cipher::new(Encryption::AesGcm16 { key_bits: 256 }, None, &[9; 36], &[]).unwrap(),
            Cipher::new(
                Encryption::AesCbc { key_bits: 128 },
                Some(Integrity::HmacSha256_128),
                &[1; 16],
                &[2; 32],
            )
            .unwrap(),
        ]
    }

    #[test]
    fn encrypted_round_trip_and_tamper() {
        let mut rng = SeededRandom::new(1);
        for c in ciphers() {
            let m = sample();
            let d = encode_encrypted(&m, &c, &mut rng, None).unwrap();
            assert_eq!(d.len(), 1);
            let got = decode_encrypted(&d[0], &c, &mut None).unwrap().unwrap();
            assert_eq!(got, m);
            let mut t = d[0].clone();
            let last = t.len() - 1;
            t[last] ^= 1;
            assert_eq!(
                decode_encrypted(&t, &c, &mut None),
                Err(DecodeError::Integrity)
            );
        }
    }

    #[test]
    fn fragments_reassemble_in_any_order() {
        let mut rng = SeededRandom::new(2);
        let mut m = sample();
        m.push(Payload::VendorId(vec![0x5a; 3000]));
        for c in ciphers() {
            let mut d = encode_encrypted(&m, &c, &mut rng, Some(576)).unwrap();
            assert!(d.len() > 5);
            assert!(d.iter().all(|x| x.len() + OUTER_OVERHEAD <= 576));
            d.reverse();
            let mut r = None;
            let mut out = None;
            for (i, f) in d.iter().enumerate() {
                let got = decode_encrypted(f, &c, &mut r).unwrap();
                if i + 1 < d.len() {
                    assert!(got.is_none());
                } else {
                    out = got;
                }
            }
            assert_eq!(out.unwrap(), m);
        }
    }
}

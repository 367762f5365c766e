//! The Internet checksum (RFC 1071), used by both GRE (RFC 2784) and NHRP (`ar$chksum`).

/// Ones-complement sum of `data` as big-endian 16-bit words (odd tail padded with zero),
/// folded to 16 bits but not inverted.
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        if let &[hi, lo] = pair {
            acc += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum to place in a zeroed checksum field so that the whole buffer sums to 0xffff.
pub fn compute(data: &[u8]) -> u16 {
    !sum(data)
}

/// True when `data`, checksum field included, verifies.
pub fn verify(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example: 0001 f203 f4f5 f6f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(compute(&data), !0xddf2);
    }

    #[test]
    fn odd_length_and_verify() {
        let mut data = vec![0x12, 0x34, 0x00, 0x00, 0x56];
        let c = compute(&data);
        data[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(verify(&data));
        data[4] ^= 1;
        assert!(!verify(&data));
    }
}

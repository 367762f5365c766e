//! Plain hashes IKE needs outside the key schedule: the NAT detection hash (RFC 7296 §2.23)
//! and SHA-1 over parts (vendor IDs and the like).

use std::net::Ipv4Addr;

use aws_lc_rs::digest;

/// SHA-1 over the concatenation of `parts`.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 20];
    for (o, b) in out.iter_mut().zip(ctx.finish().as_ref()) {
        *o = *b;
    }
    out
}

/// The NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP notification data:
/// SHA-1(SPIi | SPIr | IP address | port), all in network byte order (RFC 7296 §2.23).
pub fn nat_detection_hash(spi_i: u64, spi_r: u64, addr: Ipv4Addr, port: u16) -> [u8; 20] {
    sha1(&[
        &spi_i.to_be_bytes(),
        &spi_r.to_be_bytes(),
        &addr.octets(),
        &port.to_be_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_answer() {
        // FIPS 180-2 appendix A.1: SHA-1("abc"), given here in two parts.
        assert_eq!(
            hex::encode(sha1(&[b"a", b"bc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn nat_detection_hash_layout() {
        // Expected value computed independently with Python's hashlib over
        // 0102030405060708 1112131415161718 c0000201 01f4.
        let h = nat_detection_hash(
            0x0102_0304_0506_0708,
            0x1112_1314_1516_1718,
            Ipv4Addr::new(192, 0, 2, 1),
            500,
        );
        assert_eq!(hex::encode(h), NAT_HASH_EXPECTED);
        assert_ne!(
            h,
            nat_detection_hash(
                0x0102_0304_0506_0708,
                0x1112_1314_1516_1718,
                Ipv4Addr::new(192, 0, 2, 1),
                4500
            )
        );
    }

    const NAT_HASH_EXPECTED: &str = "d798d986143f878f70765e0e869c80bbc375f701";
}

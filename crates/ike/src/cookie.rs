//! Stateless cookies (RFC 7296 §2.6): when too many SAs are half-open, an IKE_SA_INIT
//! without a valid COOKIE is answered with one and no state is kept. Cookie =
//! VersionIDofSecret (1 byte) ‖ HMAC-SHA-256(secret, Ni ‖ IPi ‖ SPIi). The secret changes
//! every [`ROTATE`]; cookies made with the previous secret stay valid for one more period.

use crate::crypto::cookie_mac;
use dmvpn_crypto::Random;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;
use zeroize::Zeroizing;

/// How often the cookie secret changes.
pub(crate) const ROTATE: Duration = Duration::from_secs(300);

/// The current and previous secrets.
pub(crate) struct CookieJar {
    version: u8,
    current: Zeroizing<[u8; 32]>,
    previous: Option<Zeroizing<[u8; 32]>>,
    rotated_at: Duration,
}

impl fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CookieJar(version {}, <redacted>)", self.version)
    }
}

fn secret(rng: &mut dyn Random) -> Zeroizing<[u8; 32]> {
    let mut s = Zeroizing::new([0u8; 32]);
    rng.fill(s.as_mut_slice());
    s
}

impl CookieJar {
    pub(crate) fn new(rng: &mut dyn Random) -> Self {
        CookieJar {
            version: 0,
            current: secret(rng),
            previous: None,
            rotated_at: Duration::ZERO,
        }
    }

    fn rotate(&mut self, now: Duration, rng: &mut dyn Random) {
        if now.saturating_sub(self.rotated_at) < ROTATE {
            return;
        }
        let old = std::mem::replace(&mut self.current, secret(rng));
        self.previous = Some(old);
        self.version = self.version.wrapping_add(1);
        self.rotated_at = now;
    }

    /// The cookie for an initiator.
    pub(crate) fn make(
        &mut self,
        now: Duration,
        rng: &mut dyn Random,
        ni: &[u8],
        ip: Ipv4Addr,
        spi_i: u64,
    ) -> Vec<u8> {
        self.rotate(now, rng);
        let mut c = vec![self.version];
        c.extend(cookie_mac(self.current.as_slice(), ni, &ip.octets(), spi_i));
        c
    }

    /// Whether `cookie` is one we made (current or previous secret).
    pub(crate) fn check(&self, cookie: &[u8], ni: &[u8], ip: Ipv4Addr, spi_i: u64) -> bool {
        let Some((&v, mac)) = cookie.split_first() else {
            return false;
        };
        let key = if v == self.version {
            Some(&self.current)
        } else if v == self.version.wrapping_sub(1) {
            self.previous.as_ref()
        } else {
            None
        };
        let Some(key) = key else {
            return false;
        };
        let want = cookie_mac(key.as_slice(), ni, &ip.octets(), spi_i);
        aws_lc_rs::constant_time::verify_slices_are_equal(&want, mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmvpn_crypto::SeededRandom;

    #[test]
    fn cookies_verify_and_rotate() {
        let mut rng = SeededRandom::new(7);
        let mut j = CookieJar::new(&mut rng);
        let ip = Ipv4Addr::new(192, 0, 2, 1);
        let c = j.make(Duration::ZERO, &mut rng, b"nonce", ip, 42);
        assert!(j.check(&c, b"nonce", ip, 42));
        assert!(!j.check(&c, b"nonce", ip, 43));
        assert!(!j.check(&c, b"other", ip, 42));
        assert!(!j.check(&[], b"nonce", ip, 42));
        // One rotation: still valid; two: not.
        let c2 = j.make(ROTATE, &mut rng, b"n2", ip, 1);
        assert!(j.check(&c, b"nonce", ip, 42));
        assert!(j.check(&c2, b"n2", ip, 1));
        j.make(ROTATE * 2, &mut rng, b"n3", ip, 1);
        assert!(!j.check(&c, b"nonce", ip, 42));
    }
}

//! Where randomness comes from. Protocol engines never read a random source themselves:
//! they are handed a [`Random`], the system's CSPRNG (aws-lc-rs) in the daemon and a seeded
//! deterministic generator in the simulator and in tests, so that runs are reproducible.

use aws_lc_rs::rand::SecureRandom;

/// A source of random bytes (SPIs, nonces, Diffie-Hellman private keys, IVs).
pub trait Random: Send {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);

    /// A random `u32`.
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    /// A random `u64`.
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }
}

/// The operating system's CSPRNG through aws-lc-rs: what the daemon uses.
#[derive(Debug, Default)]
pub struct SystemRandom(aws_lc_rs::rand::SystemRandom);

impl SystemRandom {
    /// The system generator.
    pub fn new() -> Self {
        SystemRandom(aws_lc_rs::rand::SystemRandom::new())
    }
}

impl Random for SystemRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        // aws-lc's generator only fails when the OS cannot provide entropy at all; there is
        // nothing safe to continue with then, and zero bytes would be predictable.
        if self.0.fill(buf).is_err() {
            std::process::abort();
        }
    }
}

/// A deterministic generator for simulations and tests: the same seed gives the same bytes.
/// It is an HMAC-SHA256 counter-mode DRBG (NIST SP 800-108 style over aws-lc-rs HMAC), NOT
/// for production keys: the seed is the whole secret.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    key: aws_lc_rs::hmac::Key,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededRandom {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &seed.to_be_bytes()),
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }
}

impl Random for SeededRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf.iter_mut() {
            if self.used >= self.block.len() {
                let tag = aws_lc_rs::hmac::sign(&self.key, &self.counter.to_be_bytes());
                self.block.copy_from_slice(tag.as_ref());
                self.counter = self.counter.wrapping_add(1);
                self.used = 0;
            }
            *b = self.block.get(self.used).copied().unwrap_or(0);
            self.used += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_seed_dependent() {
        let (mut a, mut b, mut c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (mut x, mut y, mut z) = ([0u8; 77], [0u8; 77], [0u8; 77]);
        a.fill(&mut x);
        b.fill(&mut y);
        c.fill(&mut z);
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(a.next_u64(), 0);
    }

    #[test]
    fn system_fills() {
        let mut r = SystemRandom::new();
        let mut x = [0u8; 32];
        r.fill(&mut x);
        assert_ne!(x, [0u8; 32]);
    }
}

//! The anti-replay window of an inbound SA (RFC 4303 §3.4.3), with extended sequence
//! numbers (RFC 4303 Appendix A2).
//!
//! The receiver keeps the highest sequence number it has authenticated (`top`) and a
//! bitmap of the `size` numbers ending there. A packet is checked *before* its ICV is
//! verified ([`ReplayWindow::check`], cheap rejection of old and duplicate packets) and the
//! window moves only *after* it authenticated ([`ReplayWindow::update`], which checks again,
//! so that two copies racing through decryption cannot both pass).
//!
//! With ESN only the low 32 bits travel; [`ReplayWindow::infer`] reconstructs the high 32
//! bits from the window position (Appendix A2.2) and the ICV then proves the guess, since
//! the high bits are authenticated.

use thiserror::Error;

/// The smallest window RFC 4303 §3.4.3 allows.
pub const MIN_WINDOW: u32 = 32;
/// The largest window supported.
pub const MAX_WINDOW: u32 = 1024;
/// The default window (Cisco IOS, RFC 4303's recommendation).
pub const DEFAULT_WINDOW: u32 = 64;

const WORDS: usize = (MAX_WINDOW as usize).div_ceil(64);

/// Why a sequence number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// Left of the window (or zero, which is never sent).
    #[error("sequence number {0} is left of the replay window")]
    TooOld(u64),
    /// Already received.
    #[error("sequence number {0} was already received")]
    Duplicate(u64),
}

/// A window size outside [`MIN_WINDOW`]`..=`[`MAX_WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("replay window {0} outside {MIN_WINDOW}..={MAX_WINDOW}")]
pub struct WindowSizeError(pub u32);

/// The anti-replay state of one inbound SA.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplayWindow {
    size: u32,
    esn: bool,
    /// Highest authenticated sequence number (0: none yet).
    top: u64,
    /// Bit `i` set: `top - i` was received.
    bits: [u64; WORDS],
}

impl std::fmt::Debug for ReplayWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayWindow")
            .field("size", &self.size)
            .field("esn", &self.esn)
            .field("top", &self.top)
            .finish_non_exhaustive()
    }
}

impl ReplayWindow {
    /// A fresh window of `size` packets; `esn` when the SA uses 64-bit sequence numbers.
    pub fn new(size: u32, esn: bool) -> Result<ReplayWindow, WindowSizeError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return Err(WindowSizeError(size));
        }
        Ok(ReplayWindow {
            size,
            esn,
            top: 0,
            bits: [0; WORDS],
        })
    }

    /// A window as if `top` had just been received (tests of ESN packets deep into an
    /// SA's life).
    #[cfg(test)]
    pub(crate) fn starting_at(mut self, top: u64) -> ReplayWindow {
        self.top = top;
        self.bits = [0; WORDS];
        self.set_bit(0);
        self
    }

    /// The window size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Whether sequence numbers are 64-bit.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The highest sequence number authenticated so far (0 before the first packet).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// The full sequence number of a packet carrying `low` (RFC 4303 Appendix A2.2): `low`
    /// itself without ESN; with ESN, the high 32 bits that put it in or right of the
    /// window. Fails when it would lie before sequence number 1 or past 2^64 - 1.
    pub fn infer(&self, low: u32) -> Result<u64, ReplayError> {
        if !self.esn {
            return Ok(u64::from(low));
        }
        let th = (self.top >> 32) as u32;
        let tl = self.top as u32;
        let w1 = self.size - 1;
        let high = if tl >= w1 {
            // The window lies within one 2^32 subspace: below it means the next subspace.
            if low >= tl - w1 {
                Some(th)
            } else {
                th.checked_add(1)
            }
        } else if low >= tl.wrapping_sub(w1) {
            // The window spans two subspaces and `low` is in the lower one.
            th.checked_sub(1)
        } else {
            Some(th)
        };
        let high = high.ok_or(ReplayError::TooOld(u64::from(low)))?;
        Ok((u64::from(high) << 32) | u64::from(low))
    }

    /// Whether `seq` may be new: right of the window, or inside it and not yet received.
    /// Call before verifying the ICV; [`Self::update`] after.
    pub fn check(&self, seq: u64) -> Result<(), ReplayError> {
        if seq == 0 || (!self.esn && seq > u64::from(u32::MAX)) {
            return Err(ReplayError::TooOld(seq));
        }
        if seq > self.top {
            return Ok(());
        }
        let back = self.top - seq;
        if back >= u64::from(self.size) {
            return Err(ReplayError::TooOld(seq));
        }
        if self.bit(back) {
            return Err(ReplayError::Duplicate(seq));
        }
        Ok(())
    }

    /// Records the authenticated `seq`, moving the window when it is the new highest.
    /// Checks again: a duplicate that passed [`Self::check`] concurrently is refused here.
    pub fn update(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.check(seq)?;
        if seq > self.top {
            self.shift(seq - self.top);
            self.top = seq;
            self.set_bit(0);
        } else {
            self.set_bit(self.top - seq);
        }
        Ok(())
    }

    fn bit(&self, back: u64) -> bool {
        let (w, b) = ((back / 64) as usize, back % 64);
        self.bits.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    fn set_bit(&mut self, back: u64) {
        let (w, b) = ((back / 64) as usize, back % 64);
        if let Some(word) = self.bits.get_mut(w) {
            *word |= 1 << b;
        }
    }

    /// Moves every bit `n` places further back (towards older numbers).
    fn shift(&mut self, n: u64) {
        if n >= u64::from(self.size) {
            self.bits = [0; WORDS];
            return;
        }
        let (ws, bs) = ((n / 64) as usize, (n % 64) as u32);
        let old = self.bits;
        let word = |i: Option<usize>| i.and_then(|i| old.get(i)).copied().unwrap_or(0);
        for (i, out) in self.bits.iter_mut().enumerate() {
            let src = i.checked_sub(ws);
            let lower = src.and_then(|s| s.checked_sub(1));
            *out = if bs == 0 {
                word(src)
            } else {
                (word(src) << bs) | (word(lower) >> (64 - bs))
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn accept(w: &mut ReplayWindow, low: u32) -> Result<u64, ReplayError> {
        let seq = w.infer(low)?;
        w.check(seq)?;
        w.update(seq)?;
        Ok(seq)
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(ReplayWindow::new(31, false), Err(WindowSizeError(31)));
        assert_eq!(ReplayWindow::new(1025, true), Err(WindowSizeError(1025)));
        assert_eq!(ReplayWindow::new(DEFAULT_WINDOW, false).unwrap().size(), 64);
        assert!(ReplayWindow::new(MAX_WINDOW, true).unwrap().esn());
    }

    #[test]
    fn basic_window() {
        let mut w = ReplayWindow::new(32, false).unwrap();
        assert_eq!(accept(&mut w, 0), Err(ReplayError::TooOld(0)));
        assert_eq!(accept(&mut w, 5), Ok(5));
        assert_eq!(accept(&mut w, 5), Err(ReplayError::Duplicate(5)));
        assert_eq!(accept(&mut w, 1), Ok(1));
        assert_eq!(accept(&mut w, 100), Ok(100));
        assert_eq!(accept(&mut w, 68), Err(ReplayError::TooOld(68)));
        assert_eq!(accept(&mut w, 69), Ok(69));
        assert_eq!(w.top(), 100);
        // A racing duplicate that passed `check` is caught by `update`.
        assert!(w.check(70).is_ok());
        w.update(70).unwrap();
        assert_eq!(w.update(70), Err(ReplayError::Duplicate(70)));
        assert!(format!("{w:?}").contains("top: 100"));
    }

    #[test]
    fn without_esn_the_counter_ends() {
        let mut w = ReplayWindow::new(64, false).unwrap();
        assert_eq!(accept(&mut w, u32::MAX), Ok(u64::from(u32::MAX)));
        assert_eq!(
            w.check(1 << 32),
            Err(ReplayError::TooOld(1 << 32)),
            "no 33-bit numbers without ESN"
        );
        assert_eq!(accept(&mut w, 3), Err(ReplayError::TooOld(3)));
    }

    #[test]
    fn esn_inference_cases() {
        // Fresh SA: the window spans "subspace -1", which does not exist.
        let w = ReplayWindow::new(64, true).unwrap();
        assert_eq!(w.infer(1), Ok(1));
        assert!(w.infer(u32::MAX).is_err());
        // Case A: window inside one subspace; below it is the next subspace.
        let w = w.starting_at((7 << 32) | 1000);
        assert_eq!(w.infer(990), Ok((7 << 32) | 990));
        assert_eq!(w.infer(2000), Ok((7 << 32) | 2000));
        assert_eq!(w.infer(900), Ok((8 << 32) | 900));
        // Case B: window spans the wrap.
        let w = w.starting_at((8 << 32) | 10);
        assert_eq!(
            w.infer(u32::MAX - 5),
            Ok((7 << 32) | u64::from(u32::MAX - 5))
        );
        assert_eq!(w.infer(5), Ok((8 << 32) | 5));
        assert_eq!(w.infer(50_000), Ok((8 << 32) | 50_000));
        // The very last subspace has no successor.
        let w = w.starting_at(u64::MAX - 10);
        assert!(w.infer(0).is_err());
    }

    #[test]
    fn shifts_across_words() {
        let mut w = ReplayWindow::new(1024, false).unwrap();
        for s in [1u32, 2, 64, 65, 130] {
            accept(&mut w, s).unwrap();
        }
        accept(&mut w, 1000).unwrap();
        for s in [1u32, 2, 64, 65, 130, 1000] {
            assert_eq!(accept(&mut w, s), Err(ReplayError::Duplicate(u64::from(s))));
        }
        assert_eq!(accept(&mut w, 3), Ok(3));
        accept(&mut w, 1025).unwrap();
        assert_eq!(accept(&mut w, 1), Err(ReplayError::TooOld(1)));
        assert_eq!(accept(&mut w, 2), Err(ReplayError::Duplicate(2)));
    }

    proptest! {
        #[test]
        fn never_accepts_a_duplicate(
            size in MIN_WINDOW..=MAX_WINDOW,
            esn in any::<bool>(),
            seqs in proptest::collection::vec(1u32..3000, 1..400),
        ) {
            let mut w = ReplayWindow::new(size, esn).unwrap();
            let mut seen = HashSet::new();
            for low in seqs {
                if let Ok(seq) = accept(&mut w, low) {
                    prop_assert!(seen.insert(seq), "accepted {} twice", seq);
                    prop_assert!(seq <= w.top());
                }
            }
        }

        #[test]
        fn accepts_everything_inside_the_window_once(
            size in MIN_WINDOW..=MAX_WINDOW,
            start in 0u64..(1u64 << 40),
            seed in any::<u64>(),
            esn in any::<bool>(),
        ) {
            let start = if esn { start } else { start % (1 << 31) };
            let mut w = ReplayWindow::new(size, esn).unwrap();
            let top = start + u64::from(size);
            w = w.starting_at(top);
            // Every number in the window except the top, in a scrambled order.
            let mut order: Vec<u64> = (top - u64::from(size) + 1..top).collect();
            let n = order.len();
            let mut x = seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            for &s in &order {
                prop_assert_eq!(accept(&mut w, s as u32), Ok(s));
            }
            for &s in &order {
                prop_assert_eq!(accept(&mut w, s as u32), Err(ReplayError::Duplicate(s)));
            }
            prop_assert_eq!(w.top(), top);
        }

        #[test]
        fn esn_monotonic_across_the_wrap(
            size in MIN_WINDOW..=MAX_WINDOW,
            before in 1u64..5000,
            gaps in proptest::collection::vec(1u64..=64, 1..300),
            high in 0u64..1000,
        ) {
            let start = ((high + 1) << 32) - before;
            let mut w = ReplayWindow::new(size, true).unwrap().starting_at(start);
            let mut seq = start;
            for g in gaps {
                seq += g;
                prop_assert_eq!(accept(&mut w, seq as u32), Ok(seq));
                // A packet just behind, already received or not, never maps elsewhere.
                prop_assert_eq!(w.infer((seq - 1) as u32), Ok(seq - 1));
            }
        }
    }
}

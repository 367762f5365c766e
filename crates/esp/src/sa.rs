//! Security associations: one negotiated Child SA as an [`SaPair`] of an [`OutboundSa`]
//! (sequence numbers that never cycle, encapsulation) and an [`InboundSa`] (anti-replay
//! window, decapsulation), each with its cipher, lifetime limits and counters.
//!
//! Both work in place in a [`PacketBuf`] and allocate nothing per packet:
//!
//! * **Transport mode**: `GRE packet` ⇄ `ESP header ‖ IV ‖ E(GRE ‖ padding ‖ pad len ‖ 47) ‖
//!   ICV`.
//! * **Tunnel mode**: `GRE packet` ⇄ `ESP header ‖ IV ‖ E(IPv4(local → peer, proto 47) ‖
//!   GRE ‖ padding ‖ pad len ‖ 4) ‖ ICV`; the inner header is checked on the way in.
//!
//! The outbound IV is the 64-bit sequence number for AES-GCM (unique per key, RFC 4106
//! §3.1) and random bytes for AES-CBC (RFC 3602 §2.1). Inbound packets are checked against
//! the replay window before decryption and recorded in it only once authenticated.

use std::net::Ipv4Addr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{Cipher, CryptoError, Encryption, Integrity, Random};
use dmvpn_forwarding::buf::{NoRoom, PacketBuf};
use dmvpn_forwarding::transport::Underlay;
use thiserror::Error;

use crate::counters::{Counters, SaCounters, add, bump, get};
use crate::inner::{IPV4_HEADER_LEN, check_header, write_header};
use crate::lifetime::{Lifetime, LifetimeLimits, Limit};
use crate::replay::{ReplayError, ReplayWindow, WindowSizeError};
use crate::wire::{
    EspPacket, EspRepr, HEADER_LEN, Layout, NEXT_HEADER_DUMMY, NEXT_HEADER_GRE, NEXT_HEADER_IPV4,
    TRAILER_LEN, Trailer, WireError,
};

/// The ESP mode of an SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// GRE directly in ESP (Next Header 47): what DMVPN negotiates.
    Transport,
    /// GRE in an inner IPv4 header between the NBMA addresses (Next Header 4).
    Tunnel,
}

/// Everything needed to build an SA pair: the fields of the IKE engine's
/// `Output::InstallChild` (`dmvpn_ike::ChildSa`), with the volume limits in bytes.
#[derive(Debug, Clone)]
pub struct SaSpec {
    /// The peer's NBMA address (outer destination).
    pub peer: Ipv4Addr,
    /// Our NBMA address (outer source).
    pub local: Ipv4Addr,
    /// The SPI we receive on.
    pub spi_in: u32,
    /// The SPI we send with.
    pub spi_out: u32,
    /// The cipher.
    pub encryption: Encryption,
    /// The integrity algorithm (`None` with AES-GCM).
    pub integrity: Option<Integrity>,
    /// Inbound cipher key (AES-GCM: key ‖ 4-byte salt).
    pub enc_key_in: SecretBytes,
    /// Inbound integrity key (empty with AES-GCM).
    pub integ_key_in: SecretBytes,
    /// Outbound cipher key.
    pub enc_key_out: SecretBytes,
    /// Outbound integrity key.
    pub integ_key_out: SecretBytes,
    /// Transport or tunnel mode.
    pub mode: Mode,
    /// Extended (64-bit) sequence numbers.
    pub esn: bool,
    /// Lifetime limits, applied to each direction.
    pub limits: LifetimeLimits,
    /// Anti-replay window in packets (32..=1024).
    pub replay_window: u32,
    /// ESP in UDP (RFC 3948): the peer's UDP port (4500, or what its NAT mapped it to);
    /// `None` for plain ESP (IP protocol 50).
    pub nat_t: Option<u16>,
}

/// Why an SA could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SaError {
    /// Keys or algorithms do not fit together.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The replay window size is out of range.
    #[error(transparent)]
    Window(#[from] WindowSizeError),
    /// SPIs 0..=255 are reserved (RFC 4303 §2.1).
    #[error("reserved SPI {0}")]
    ReservedSpi(u32),
}

/// Why a packet could not be encapsulated or decapsulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EspError {
    /// Too short, or not block-aligned.
    #[error(transparent)]
    Malformed(WireError),
    /// The packet's SPI is not this SA's.
    #[error("SPI {0:#010x} is not this SA's")]
    WrongSpi(u32),
    /// Replayed or too old.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The ICV did not verify.
    #[error("ESP authentication failed")]
    Authentication,
    /// The decrypted padding is not 1, 2, 3, ….
    #[error("ESP padding invalid")]
    Padding,
    /// A dummy packet (Next Header 59): dropped silently, counted.
    #[error("dummy ESP packet")]
    Dummy,
    /// A Next Header other than the mode's.
    #[error("unexpected next header {0}")]
    NextHeader(u8),
    /// Tunnel mode: the inner header is not GRE from the peer to us.
    #[error("inner header does not match the SA")]
    InnerHeader,
    /// The sequence number would cycle: the SA must be rekeyed.
    #[error("sequence numbers exhausted")]
    SequenceExhausted,
    /// A hard byte or packet limit was reached.
    #[error("SA hard volume limit reached")]
    HardLimit,
    /// No head- or tailroom for ESP.
    #[error(transparent)]
    NoRoom(#[from] NoRoom),
    /// The cipher failed (never expected with the sizes this module passes).
    #[error(transparent)]
    Crypto(CryptoError),
}

/// Fraction of the sequence space after which the outbound SA asks for a rekey: 7/8.
fn soft_sequence(esn: bool) -> u64 {
    let max = max_sequence(esn);
    max - max / 8
}

/// The last sequence number an SA may send: 2^32 - 1 without ESN; with ESN one short of
/// 2^64 - 1, so that the counter can stand past it.
fn max_sequence(esn: bool) -> u64 {
    if esn {
        u64::MAX - 1
    } else {
        u64::from(u32::MAX)
    }
}

fn check_spi(spi: u32) -> Result<(), SaError> {
    if spi < 256 {
        return Err(SaError::ReservedSpi(spi));
    }
    Ok(())
}

/// A negotiated SA pair: both directions of one Child SA.
#[derive(Debug)]
pub struct SaPair {
    /// The sending half.
    pub outbound: OutboundSa,
    /// The receiving half.
    pub inbound: InboundSa,
    /// When it was built (the caller's clock), the start of its lifetime.
    pub installed_at: Duration,
}

impl SaPair {
    /// Builds both halves from `spec` at `now`. The keys in `spec` are copied into the
    /// expanded ciphers; drop `spec` (its keys zeroize) when done.
    pub fn new(spec: &SaSpec, now: Duration) -> Result<SaPair, SaError> {
        check_spi(spec.spi_in)?;
        check_spi(spec.spi_out)?;
        let out = Cipher::new(
            spec.encryption,
            spec.integrity,
            spec.enc_key_out.as_slice(),
            spec.integ_key_out.as_slice(),
        )?;
        let inb = Cipher::new(
            spec.encryption,
            spec.integrity,
            spec.enc_key_in.as_slice(),
            spec.integ_key_in.as_slice(),
        )?;
        let window = ReplayWindow::new(spec.replay_window, spec.esn)?;
        Ok(SaPair {
            outbound: OutboundSa {
                spi: spec.spi_out,
                peer: spec.peer,
                local: spec.local,
                mode: spec.mode,
                esn: spec.esn,
                nat_t: spec.nat_t,
                layout: Layout::of(&out),
                cipher: out,
                next_seq: AtomicU64::new(1),
                limits: spec.limits,
                counters: Counters::default(),
            },
            inbound: InboundSa {
                spi: spec.spi_in,
                peer: spec.peer,
                local: spec.local,
                mode: spec.mode,
                esn: spec.esn,
                layout: Layout::of(&inb),
                cipher: inb,
                replay: Mutex::new(window),
                limits: spec.limits,
                counters: Counters::default(),
            },
            installed_at: now,
        })
    }

    /// The pair's counters.
    pub fn counters(&self) -> SaCounters {
        Counters::snapshot(&self.outbound.counters, &self.inbound.counters)
    }
}

/// The sending half of an SA.
#[derive(Debug)]
pub struct OutboundSa {
    spi: u32,
    peer: Ipv4Addr,
    local: Ipv4Addr,
    mode: Mode,
    esn: bool,
    nat_t: Option<u16>,
    cipher: Cipher,
    layout: Layout,
    /// The next sequence number to send; past [`max_sequence`] when exhausted.
    next_seq: AtomicU64,
    limits: LifetimeLimits,
    pub(crate) counters: Counters,
}

impl OutboundSa {
    /// The SPI (the peer's inbound SPI).
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The peer's NBMA address.
    pub fn peer(&self) -> Ipv4Addr {
        self.peer
    }

    /// Our NBMA address.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether sequence numbers are 64-bit.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The cipher's encryption transform.
    pub fn encryption(&self) -> Encryption {
        self.cipher.encryption()
    }

    /// The cipher's integrity transform (`None` with AES-GCM).
    pub fn integrity(&self) -> Option<Integrity> {
        self.cipher.integrity()
    }

    /// The lifetime limits.
    pub fn limits(&self) -> &LifetimeLimits {
        &self.limits
    }

    /// The underlay packets go out on: ESP, or ESP in UDP 4500.
    pub fn underlay(&self) -> Underlay {
        if self.nat_t.is_some() {
            Underlay::NatT
        } else {
            Underlay::Esp
        }
    }

    /// The peer's UDP port for ESP in UDP.
    pub fn nat_t_port(&self) -> Option<u16> {
        self.nat_t
    }

    /// Whether the cipher needs random IVs (AES-CBC).
    pub fn needs_random_iv(&self) -> bool {
        !self.cipher.encryption().is_aead()
    }

    /// The last sequence number used (0 before the first packet).
    pub fn last_sequence(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed).saturating_sub(1)
    }

    /// Where the sequence numbers stand: soft-expired past 7/8 of the space, hard-expired
    /// when none is left.
    pub fn sequence_lifetime(&self) -> Lifetime {
        let next = self.next_seq.load(Ordering::Relaxed);
        if next > max_sequence(self.esn) {
            Lifetime::HardExpired(Limit::Sequence)
        } else if next > soft_sequence(self.esn) {
            Lifetime::SoftExpired(Limit::Sequence)
        } else {
            Lifetime::Ok
        }
    }

    /// Bytes ESP adds to a packet of `len` bytes (header, IV, inner header, padding,
    /// trailer, ICV).
    pub fn overhead(&self, len: usize) -> usize {
        let inner = self.inner_len();
        self.layout.head_len() + inner + self.layout.tail_len(len + inner)
    }

    fn inner_len(&self) -> usize {
        match self.mode {
            Mode::Transport => 0,
            Mode::Tunnel => IPV4_HEADER_LEN,
        }
    }

    /// Protects the GRE packet in `packet` in place; `rng` gives AES-CBC's IVs. Returns
    /// the sequence number used. On an error other than [`EspError::Crypto`] the packet
    /// is left as it was.
    pub fn encapsulate(
        &self,
        packet: &mut PacketBuf,
        rng: &mut dyn Random,
    ) -> Result<u64, EspError> {
        self.encapsulate_with(packet, |iv| rng.fill(iv))
    }

    /// [`Self::encapsulate`] with AES-CBC's IV written by `fill_iv` (not called for
    /// AES-GCM).
    pub(crate) fn encapsulate_with(
        &self,
        packet: &mut PacketBuf,
        fill_iv: impl FnOnce(&mut [u8]),
    ) -> Result<u64, EspError> {
        let result = self.seal(packet, fill_iv);
        match result {
            Ok(_) => {}
            Err(EspError::SequenceExhausted) => {
                bump(&self.counters.sequence_exhausted);
                bump(&self.counters.send_errors);
            }
            Err(_) => bump(&self.counters.send_errors),
        }
        result
    }

    fn seal(
        &self,
        packet: &mut PacketBuf,
        fill_iv: impl FnOnce(&mut [u8]),
    ) -> Result<u64, EspError> {
        let gre_len = packet.len();
        let payload_len = gre_len + self.inner_len();
        let c = &self.counters;
        if !self
            .limits
            .volume_allows(get(&c.bytes_out), get(&c.encaps), gre_len as u64)
        {
            return Err(EspError::HardLimit);
        }
        let pad = self.layout.padding(payload_len);
        let tail = pad + TRAILER_LEN + self.layout.icv_len;
        let head = self.layout.head_len() + self.inner_len();
        // Room first, so that a refusal leaves the packet untouched.
        packet.append(tail)?;
        if let Err(e) = packet.prepend(head) {
            packet.truncate(gre_len);
            return Err(e.into());
        }
        let seq = match self.next_sequence() {
            Some(s) => s,
            None => {
                packet.advance(head)?;
                packet.truncate(gre_len);
                return Err(EspError::SequenceExhausted);
            }
        };
        let buf = packet.as_mut_slice();
        let (esp_head, rest) = buf
            .split_at_mut_checked(self.layout.head_len())
            .ok_or(EspError::Malformed(WireError::Truncated))?;
        // Inner header (tunnel mode), then the trailer after the payload.
        if self.mode == Mode::Tunnel {
            let ok = rest
                .get_mut(..IPV4_HEADER_LEN)
                .is_some_and(|h| write_header(h, self.local, self.peer, gre_len, seq as u16));
            if !ok {
                return Err(EspError::Malformed(WireError::Truncated));
            }
        }
        let next_header = match self.mode {
            Mode::Transport => NEXT_HEADER_GRE,
            Mode::Tunnel => NEXT_HEADER_IPV4,
        };
        let trailer = rest
            .get_mut(payload_len..payload_len + pad + TRAILER_LEN)
            .ok_or(EspError::Malformed(WireError::Truncated))?;
        Trailer {
            pad_len: pad as u8,
            next_header,
        }
        .emit(trailer)
        .map_err(EspError::Malformed)?;
        EspRepr {
            spi: self.spi,
            sequence: seq as u32,
        }
        .emit(esp_head)
        .map_err(EspError::Malformed)?;
        let iv = esp_head
            .get_mut(HEADER_LEN..)
            .ok_or(EspError::Malformed(WireError::Truncated))?;
        if self.cipher.encryption().is_aead() {
            iv.copy_from_slice(&seq.to_be_bytes());
        } else {
            fill_iv(iv);
        }
        let aad = self.cipher.esp_aad(self.spi, seq, self.esn);
        let region = packet
            .as_mut_slice()
            .get_mut(HEADER_LEN..)
            .ok_or(EspError::Malformed(WireError::Truncated))?;
        self.cipher
            .seal_region(aad.aad(), aad.tail(), region)
            .map_err(EspError::Crypto)?;
        bump(&c.encaps);
        add(&c.bytes_out, gre_len as u64);
        Ok(seq)
    }

    /// Takes the next sequence number, or `None` when the space is used up.
    fn next_sequence(&self) -> Option<u64> {
        let max = max_sequence(self.esn);
        self.next_seq
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                if n <= max { Some(n + 1) } else { None }
            })
            .ok()
    }

    /// Test hook: continue from sequence number `next`.
    #[cfg(test)]
    pub(crate) fn set_next_sequence(&self, next: u64) {
        self.next_seq.store(next, Ordering::Relaxed);
    }
}

/// What [`InboundSa::open`] found inside an authenticated packet; the payload is left in
/// the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The full (64-bit with ESN) sequence number.
    pub sequence: u64,
    /// The Next Header field.
    pub next_header: u8,
}

/// The receiving half of an SA.
#[derive(Debug)]
pub struct InboundSa {
    spi: u32,
    peer: Ipv4Addr,
    local: Ipv4Addr,
    mode: Mode,
    esn: bool,
    cipher: Cipher,
    layout: Layout,
    replay: Mutex<ReplayWindow>,
    limits: LifetimeLimits,
    pub(crate) counters: Counters,
}

impl InboundSa {
    /// The SPI (ours).
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The peer's NBMA address.
    pub fn peer(&self) -> Ipv4Addr {
        self.peer
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The anti-replay window size.
    pub fn replay_window(&self) -> u32 {
        self.window().size()
    }

    /// The highest sequence number received.
    pub fn replay_top(&self) -> u64 {
        self.window().top()
    }

    fn window(&self) -> std::sync::MutexGuard<'_, ReplayWindow> {
        self.replay.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Test hook: the replay window as if `top` had been received.
    #[cfg(test)]
    pub(crate) fn set_replay_top(&self, top: u64) {
        let mut w = self.window();
        *w = w.clone().starting_at(top);
    }

    /// Reverses [`OutboundSa::encapsulate`]: authenticates and decrypts the ESP packet in
    /// `packet` (ESP header first) and leaves the GRE packet. Dummy packets give
    /// [`EspError::Dummy`]; every refusal is counted.
    pub fn decapsulate(&self, packet: &mut PacketBuf) -> Result<(), EspError> {
        let opened = self.open(packet)?;
        let c = &self.counters;
        let result = match (self.mode, opened.next_header) {
            (_, NEXT_HEADER_DUMMY) => Err(EspError::Dummy),
            (Mode::Transport, NEXT_HEADER_GRE) => Ok(()),
            (Mode::Tunnel, NEXT_HEADER_IPV4) => {
                match check_header(packet.as_slice(), self.peer, self.local) {
                    Some((ihl, total)) => {
                        packet.truncate(total);
                        packet.advance(ihl).map_err(EspError::NoRoom)
                    }
                    None => Err(EspError::InnerHeader),
                }
            }
            (_, other) => Err(EspError::NextHeader(other)),
        };
        match result {
            Ok(()) => {
                bump(&c.decaps);
                add(&c.bytes_in, packet.len() as u64);
            }
            Err(EspError::Dummy) => bump(&c.dummy),
            Err(EspError::InnerHeader) => bump(&c.identity),
            Err(_) => bump(&c.protocol),
        }
        result
    }

    /// The ESP layer of [`Self::decapsulate`]: replay check, authentication and
    /// decryption, replay window update, trailer. Leaves the payload (whatever Next
    /// Header says it is) in `packet`. Failures are counted; success is not (the caller
    /// counts what it accepts).
    pub fn open(&self, packet: &mut PacketBuf) -> Result<Opened, EspError> {
        let c = &self.counters;
        let result = self.open_inner(packet);
        match &result {
            Ok(_) => {}
            Err(EspError::Replay(_)) => bump(&c.replay),
            Err(EspError::Authentication) => bump(&c.auth),
            Err(EspError::Padding) => bump(&c.padding),
            Err(EspError::Malformed(_) | EspError::Crypto(_) | EspError::NoRoom(_)) => {
                bump(&c.length)
            }
            Err(_) => {}
        }
        result
    }

    fn open_inner(&self, packet: &mut PacketBuf) -> Result<Opened, EspError> {
        let c = &self.counters;
        if !self
            .limits
            .volume_allows(get(&c.bytes_in), get(&c.decaps), 0)
        {
            return Err(EspError::HardLimit);
        }
        let data_len = self
            .layout
            .data_len(packet.len())
            .map_err(EspError::Malformed)?;
        let esp = EspPacket::new_checked(packet.as_slice()).map_err(EspError::Malformed)?;
        let header = EspRepr::parse(&esp);
        if header.spi != self.spi {
            return Err(EspError::WrongSpi(header.spi));
        }
        let seq = {
            let w = self.window();
            let seq = w.infer(header.sequence)?;
            w.check(seq)?;
            seq
        };
        let aad = self.cipher.esp_aad(self.spi, seq, self.esn);
        let region = packet
            .as_mut_slice()
            .get_mut(HEADER_LEN..)
            .ok_or(EspError::Malformed(WireError::Truncated))?;
        let data = match self.cipher.open_region(aad.aad(), aad.tail(), region) {
            Ok(d) => d,
            Err(CryptoError::Authentication) => return Err(EspError::Authentication),
            Err(e) => return Err(EspError::Crypto(e)),
        };
        let (trailer, payload_len) = Trailer::parse(data).map_err(|e| match e {
            WireError::Padding => EspError::Padding,
            other => EspError::Malformed(other),
        })?;
        // Authenticated: only now may the window move.
        self.window().update(seq)?;
        debug_assert!(payload_len + usize::from(trailer.pad_len) + TRAILER_LEN == data_len);
        packet.advance(self.layout.head_len())?;
        packet.truncate(payload_len);
        Ok(Opened {
            sequence: seq,
            next_header: trailer.next_header,
        })
    }
}

#[cfg(test)]
#[path = "sa_tests.rs"]
pub(crate) mod tests;

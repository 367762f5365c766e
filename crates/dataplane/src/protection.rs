//! The per-peer protection seam between GRE encapsulation and the NBMA socket.
//!
//! Every GRE packet on its way to a peer passes [`Protection::protect`], and every packet
//! received from a peer passes [`Protection::unprotect`] before GRE decapsulation. The
//! pass-through implementation leaves packets as they are; IPsec ESP (transport mode,
//! per-peer SAs) plugs in here by rewriting the buffer in place, using the head- and
//! tailroom of [`PacketBuf`].

use std::net::Ipv4Addr;

/// A packet buffer with headroom in front and spare room behind, so that headers can be
/// prepended and trailers appended without moving the payload.
#[derive(Debug, Clone)]
pub struct PacketBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// Headroom reserved in front of every packet: GRE (8) plus room for ESP (8 + 16 IV) and more.
pub const HEADROOM: usize = 64;
/// Room reserved behind every packet for trailers (ESP padding, next header, ICV).
pub const TAILROOM: usize = 64;

/// The buffer cannot grow in the direction asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("packet buffer has no room for {0} more bytes")]
pub struct NoRoom(pub usize);

impl PacketBuf {
    /// A buffer able to hold `capacity` payload bytes plus head- and tailroom.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: vec![0; HEADROOM + capacity + TAILROOM],
            start: HEADROOM,
            end: HEADROOM,
        }
    }

    /// Empties the buffer and restores the headroom.
    pub fn reset(&mut self) {
        self.start = HEADROOM;
        self.end = HEADROOM;
    }

    /// The space after the headroom, for reading a payload into; follow with
    /// [`PacketBuf::set_len`].
    pub fn payload_space(&mut self) -> &mut [u8] {
        let cap = self.buf.len().saturating_sub(TAILROOM);
        self.start = HEADROOM;
        self.end = HEADROOM;
        self.buf.get_mut(HEADROOM..cap).unwrap_or_default()
    }

    /// Sets the packet to the first `len` bytes after the current start.
    pub fn set_len(&mut self, len: usize) -> Result<(), NoRoom> {
        let end = self.start.saturating_add(len);
        if end > self.buf.len() {
            return Err(NoRoom(end - self.buf.len()));
        }
        self.end = end;
        Ok(())
    }

    /// Replaces the contents with `data`.
    pub fn set(&mut self, data: &[u8]) -> Result<(), NoRoom> {
        self.reset();
        self.append(data.len())?.copy_from_slice(data);
        Ok(())
    }

    /// Grows the packet by `n` bytes at the front and returns them.
    pub fn prepend(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let start = self.start.checked_sub(n).ok_or(NoRoom(n))?;
        self.start = start;
        self.buf.get_mut(start..start + n).ok_or(NoRoom(n))
    }

    /// Grows the packet by `n` bytes at the back and returns them.
    pub fn append(&mut self, n: usize) -> Result<&mut [u8], NoRoom> {
        let end = self.end.checked_add(n).ok_or(NoRoom(n))?;
        if end > self.buf.len() {
            return Err(NoRoom(n));
        }
        let old = self.end;
        self.end = end;
        self.buf.get_mut(old..end).ok_or(NoRoom(n))
    }

    /// Drops `n` bytes from the front (e.g. a header that has been read).
    pub fn advance(&mut self, n: usize) -> Result<(), NoRoom> {
        if n > self.end - self.start {
            return Err(NoRoom(n));
        }
        self.start += n;
        Ok(())
    }

    /// Drops bytes from the back so that `len` remain.
    pub fn truncate(&mut self, len: usize) {
        self.end = self.end.min(self.start.saturating_add(len));
    }

    /// The packet.
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// The packet, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.start..self.end).unwrap_or_default()
    }

    /// Length of the packet.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True when the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Why a protection layer refused a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtectionError {
    /// No security association with the peer yet (the packet is dropped; the protection
    /// layer may have triggered negotiation).
    #[error("no security association with {0}")]
    NoSa(Ipv4Addr),
    /// The packet failed authentication or replay checks.
    #[error("packet from {0} failed integrity or replay checks")]
    Integrity(Ipv4Addr),
    /// The buffer had no room for the transform.
    #[error(transparent)]
    NoRoom(#[from] NoRoom),
}

/// A per-peer transform applied to encapsulated GRE packets just before they are sent to a
/// peer and just after they are received from it.
pub trait Protection: Send + Sync + std::fmt::Debug {
    /// Transforms the GRE packet in `packet` (GRE header first) going to `peer`.
    fn protect(&self, peer: Ipv4Addr, packet: &mut PacketBuf) -> Result<(), ProtectionError>;
    /// Reverses [`Protection::protect`] on a packet received from `peer`, leaving the GRE
    /// packet (GRE header first) in `packet`.
    fn unprotect(&self, peer: Ipv4Addr, packet: &mut PacketBuf) -> Result<(), ProtectionError>;
}

/// No protection: packets pass unchanged (plain GRE).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl Protection for PassThrough {
    fn protect(&self, _peer: Ipv4Addr, _packet: &mut PacketBuf) -> Result<(), ProtectionError> {
        Ok(())
    }

    fn unprotect(&self, _peer: Ipv4Addr, _packet: &mut PacketBuf) -> Result<(), ProtectionError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_and_tailroom_work() {
        let mut b = PacketBuf::with_capacity(100);
        b.set(b"payload").unwrap();
        b.prepend(4).unwrap().copy_from_slice(b"GRE:");
        b.append(2).unwrap().copy_from_slice(b"!!");
        assert_eq!(b.as_slice(), b"GRE:payload!!");
        b.advance(4).unwrap();
        b.truncate(7);
        assert_eq!(b.as_slice(), b"payload");
        assert!(b.prepend(HEADROOM + 1).is_err());
        assert!(b.append(1000).is_err());
        assert!(b.advance(8).is_err());
        let space = b.payload_space();
        space[..3].copy_from_slice(b"abc");
        b.set_len(3).unwrap();
        assert_eq!(b.as_slice(), b"abc");
    }

    #[test]
    fn pass_through_leaves_packets_alone() {
        let mut b = PacketBuf::with_capacity(16);
        b.set(b"gre").unwrap();
        let peer = Ipv4Addr::new(192, 0, 2, 1);
        PassThrough.protect(peer, &mut b).unwrap();
        PassThrough.unprotect(peer, &mut b).unwrap();
        assert_eq!(b.as_slice(), b"gre");
    }
}

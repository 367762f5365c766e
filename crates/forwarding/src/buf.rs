//! A packet buffer with headroom in front and tailroom behind, so that the data path can
//! prepend GRE (and later ESP) headers and append trailers without moving the payload.

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
}

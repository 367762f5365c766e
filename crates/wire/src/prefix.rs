//! [`Ipv4Prefix`]: the workspace's one IPv4 prefix type (host bits cleared, length at most 32),
//! used for cache entries, shortcuts, routes and forwarding tables.
//!
//! `ipnet::Ipv4Net` (the configuration model's type) is an address *with* a length and keeps
//! host bits (`ip address 10.0.0.1 255.255.255.0`); a route prefix must not, or two spellings
//! of one network would be two keys. With the `ipnet` feature the two convert into each other
//! (`From<Ipv4Net>` clears the host bits).

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use thiserror::Error;

/// An IPv4 prefix `addr/len` whose address has its host bits cleared and whose length is at
/// most 32. Ordered by address, then length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "PrefixFields"))]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

/// A prefix length above 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("IPv4 prefix length {0} is above 32")]
pub struct PrefixLengthError(pub u8);

/// Why a text prefix did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrefixParseError {
    /// No `/`, a bad address or a bad length number.
    #[error("not an IPv4 prefix (A.B.C.D/LEN): {0:?}")]
    Syntax(String),
    /// The length is above 32.
    #[error(transparent)]
    Length(#[from] PrefixLengthError),
}

/// The netmask of a prefix length as a host-order word (`len` above 32 counts as 32).
pub const fn netmask(len: u8) -> u32 {
    if len == 0 {
        0
    } else if len >= 32 {
        u32::MAX
    } else {
        u32::MAX << (32 - len as u32)
    }
}

impl Ipv4Prefix {
    /// The default route `0.0.0.0/0`.
    pub const DEFAULT: Ipv4Prefix = Ipv4Prefix {
        addr: Ipv4Addr::UNSPECIFIED,
        len: 0,
    };

    /// The prefix `addr/len`, host bits of `addr` cleared; an error when `len` is above 32.
    pub const fn new(addr: Ipv4Addr, len: u8) -> Result<Self, PrefixLengthError> {
        if len > 32 {
            return Err(PrefixLengthError(len));
        }
        Ok(Ipv4Prefix {
            addr: Ipv4Addr::from_bits(addr.to_bits() & netmask(len)),
            len,
        })
    }

    /// The host route `addr/32`.
    pub const fn host(addr: Ipv4Addr) -> Self {
        Ipv4Prefix { addr, len: 32 }
    }

    /// The prefix a CIE describes: client protocol address `addr` with the CIE's
    /// `prefix_len`. RFC 2332 §5.2.0.1: 0 or a length above the address length means the
    /// full address (Cisco and FRR send 0xFF), so those give the host route `addr/32`.
    pub const fn from_cie(addr: Ipv4Addr, prefix_len: u8) -> Self {
        if prefix_len == 0 || prefix_len > 32 {
            return Ipv4Prefix::host(addr);
        }
        Ipv4Prefix {
            addr: Ipv4Addr::from_bits(addr.to_bits() & netmask(prefix_len)),
            len: prefix_len,
        }
    }

    /// The network address.
    pub const fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length (0..=32).
    pub const fn len(&self) -> u8 {
        self.len
    }

    /// True for the default route `0.0.0.0/0` (it covers everything; "empty" mask).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True for a host route (`/32`).
    pub const fn is_host(&self) -> bool {
        self.len == 32
    }

    /// The netmask, e.g. 255.255.255.0 for a /24.
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(netmask(self.len))
    }

    /// True when `ip` lies inside the prefix.
    pub const fn contains(&self, ip: Ipv4Addr) -> bool {
        ip.to_bits() & netmask(self.len) == self.addr.to_bits()
    }

    /// True when every address of `other` lies inside this prefix.
    pub const fn covers(&self, other: &Ipv4Prefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// The directed broadcast address of the prefix.
    pub const fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.addr.to_bits() | !netmask(self.len))
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Ipv4Prefix {
    type Err = PrefixParseError;

    /// `A.B.C.D/LEN` (host bits are cleared) or a bare address (a host route).
    fn from_str(s: &str) -> Result<Self, PrefixParseError> {
        let syntax = || PrefixParseError::Syntax(s.to_owned());
        match s.split_once('/') {
            None => s.parse().map(Ipv4Prefix::host).map_err(|_| syntax()),
            Some((a, l)) => {
                let addr: Ipv4Addr = a.parse().map_err(|_| syntax())?;
                let len: u8 = l.parse().map_err(|_| syntax())?;
                Ok(Ipv4Prefix::new(addr, len)?)
            }
        }
    }
}

impl From<Ipv4Addr> for Ipv4Prefix {
    /// The host route.
    fn from(addr: Ipv4Addr) -> Self {
        Ipv4Prefix::host(addr)
    }
}

/// The serde shape (`{"addr": "10.0.0.0", "len": 24}`), validated on the way in.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct PrefixFields {
    addr: Ipv4Addr,
    len: u8,
}

#[cfg(feature = "serde")]
impl TryFrom<PrefixFields> for Ipv4Prefix {
    type Error = PrefixLengthError;
    fn try_from(f: PrefixFields) -> Result<Self, PrefixLengthError> {
        Ipv4Prefix::new(f.addr, f.len)
    }
}

#[cfg(feature = "ipnet")]
impl From<ipnet::Ipv4Net> for Ipv4Prefix {
    /// The network of `net` (host bits cleared).
    fn from(net: ipnet::Ipv4Net) -> Self {
        Ipv4Prefix {
            addr: Ipv4Addr::from_bits(net.network().to_bits() & netmask(net.prefix_len())),
            len: net.prefix_len().min(32),
        }
    }
}

#[cfg(feature = "ipnet")]
impl From<Ipv4Prefix> for ipnet::Ipv4Net {
    fn from(p: Ipv4Prefix) -> Self {
        ipnet::Ipv4Net::new_assert(p.addr, p.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn host_bits_are_cleared_and_lengths_validated() {
        let p = Ipv4Prefix::new(ip("192.168.2.77"), 24).unwrap();
        assert_eq!(p.addr(), ip("192.168.2.0"));
        assert_eq!(p.to_string(), "192.168.2.0/24");
        assert_eq!(p, "192.168.2.1/24".parse().unwrap());
        assert!(p.contains(ip("192.168.2.200")));
        assert!(!p.contains(ip("192.168.3.1")));
        assert_eq!(p.broadcast(), ip("192.168.2.255"));
        assert_eq!(p.netmask(), ip("255.255.255.0"));
        assert_eq!(
            Ipv4Prefix::new(ip("1.2.3.4"), 33),
            Err(PrefixLengthError(33))
        );
        assert!(
            Ipv4Prefix::new(ip("1.2.3.4"), 0)
                .unwrap()
                .contains(ip("9.9.9.9"))
        );
        assert_eq!(
            Ipv4Prefix::new(ip("1.2.3.4"), 0).unwrap(),
            Ipv4Prefix::DEFAULT
        );
        assert!("10.0.0.0/40".parse::<Ipv4Prefix>().is_err());
        assert!("10.0.0/8".parse::<Ipv4Prefix>().is_err());
        assert_eq!(
            "10.0.0.1".parse::<Ipv4Prefix>().unwrap(),
            Ipv4Prefix::host(ip("10.0.0.1"))
        );
    }

    #[test]
    fn cie_lengths_above_32_mean_host() {
        assert_eq!(
            Ipv4Prefix::from_cie(ip("10.0.0.9"), 0xff),
            Ipv4Prefix::host(ip("10.0.0.9"))
        );
        assert_eq!(
            Ipv4Prefix::from_cie(ip("10.0.0.9"), 0),
            Ipv4Prefix::host(ip("10.0.0.9"))
        );
        assert_eq!(
            Ipv4Prefix::from_cie(ip("10.1.2.3"), 16).to_string(),
            "10.1.0.0/16"
        );
    }

    #[cfg(feature = "ipnet")]
    #[test]
    fn ipnet_networks_convert_with_host_bits_cleared() {
        let net: ipnet::Ipv4Net = "10.1.2.3/16".parse().unwrap();
        let p = Ipv4Prefix::from(net);
        assert_eq!(p.to_string(), "10.1.0.0/16");
        assert_eq!(ipnet::Ipv4Net::from(p).to_string(), "10.1.0.0/16");
        let d: ipnet::Ipv4Net = "0.0.0.0/0".parse().unwrap();
        assert_eq!(Ipv4Prefix::from(d), Ipv4Prefix::DEFAULT);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_keeps_the_invariant() {
        let p: Ipv4Prefix = "192.168.2.0/24".parse().unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"addr":"192.168.2.0","len":24}"#);
        assert_eq!(serde_json::from_str::<Ipv4Prefix>(&json).unwrap(), p);
        let host_bits: Ipv4Prefix =
            serde_json::from_str(r#"{"addr":"192.168.2.9","len":24}"#).unwrap();
        assert_eq!(host_bits, p);
        assert!(serde_json::from_str::<Ipv4Prefix>(r#"{"addr":"1.2.3.4","len":33}"#).is_err());
    }

    #[test]
    fn covers_is_containment_of_prefixes() {
        let p16: Ipv4Prefix = "10.1.0.0/16".parse().unwrap();
        let p24: Ipv4Prefix = "10.1.2.0/24".parse().unwrap();
        assert!(p16.covers(&p24));
        assert!(!p24.covers(&p16));
        assert!(Ipv4Prefix::DEFAULT.covers(&p16));
    }
}

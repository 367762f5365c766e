//! The algorithm registry: every IKEv2/ESP transform we implement, with its IANA number
//! (RFC 7296 §3.3.2, IANA "IKEv2 Transform Attribute Types"), its IOS-XE configuration
//! name, and the broken algorithms we refuse with a named replacement (RFC 8221, RFC 8247,
//! IOS-XE's compliance shield).
//!
//! This is the single source of truth for algorithm names: the config crate, the IKE engine
//! and the ESP data path all read it.

use std::fmt;

/// IKEv2 transform type numbers (RFC 7296 §3.3.2).
pub mod transform_type {
    /// Encryption algorithm (ENCR).
    pub const ENCR: u8 = 1;
    /// Pseudo-random function (PRF).
    pub const PRF: u8 = 2;
    /// Integrity algorithm (INTEG).
    pub const INTEG: u8 = 3;
    /// Diffie-Hellman group (D-H, "Key Exchange Method" since RFC 9370).
    pub const DH: u8 = 4;
    /// Extended sequence numbers (ESN).
    pub const ESN: u8 = 5;
}

/// An encryption transform, for IKE (SK payload) and ESP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encryption {
    /// AES in CBC mode (ENCR_AES_CBC, 12), key of 128, 192 or 256 bits; needs an integrity
    /// transform.
    AesCbc {
        /// Key length in bits: 128, 192 or 256.
        key_bits: u16,
    },
    /// AES-GCM with a 16-byte ICV (ENCR_AES_GCM_16, 20), key of 128 or 256 bits; combined
    /// mode, no integrity transform.
    AesGcm16 {
        /// Key length in bits: 128 or 256 (192 is accepted on the wire).
        key_bits: u16,
    },
}

impl Encryption {
    /// IANA transform ID of ENCR_AES_CBC.
    pub const ID_AES_CBC: u16 = 12;
    /// IANA transform ID of ENCR_AES_GCM_16.
    pub const ID_AES_GCM_16: u16 = 20;

    /// The IANA transform ID (type 1).
    pub fn transform_id(self) -> u16 {
        match self {
            Encryption::AesCbc { .. } => Self::ID_AES_CBC,
            Encryption::AesGcm16 { .. } => Self::ID_AES_GCM_16,
        }
    }

    /// The key length in bits (the Key Length attribute, RFC 7296 §3.3.5).
    pub fn key_bits(self) -> u16 {
        match self {
            Encryption::AesCbc { key_bits } | Encryption::AesGcm16 { key_bits } => key_bits,
        }
    }

    /// Whether this is a combined-mode (AEAD) cipher that needs no integrity transform.
    pub fn is_aead(self) -> bool {
        matches!(self, Encryption::AesGcm16 { .. })
    }

    /// Keying material this transform takes from the key schedule, in bytes: the key, plus
    /// the 4-byte salt for GCM (RFC 4106 §8.1, RFC 5282 §7.1).
    pub fn keymat_len(self) -> usize {
        let key = usize::from(self.key_bits()) / 8;
        if self.is_aead() { key + 4 } else { key }
    }

    /// From an IANA transform ID and key length, when we implement it.
    pub fn from_id(id: u16, key_bits: Option<u16>) -> Option<Encryption> {
        match (id, key_bits?) {
            (Self::ID_AES_CBC, k @ (128 | 192 | 256)) => Some(Encryption::AesCbc { key_bits: k }),
            (Self::ID_AES_GCM_16, k @ (128 | 192 | 256)) => {
                Some(Encryption::AesGcm16 { key_bits: k })
            }
            _ => None,
        }
    }

    /// The IOS-XE `crypto ikev2 proposal` keyword (`aes-cbc-256`, `aes-gcm-128`).
    pub fn ikev2_name(self) -> String {
        match self {
            Encryption::AesCbc { key_bits } => format!("aes-cbc-{key_bits}"),
            Encryption::AesGcm16 { key_bits } => format!("aes-gcm-{key_bits}"),
        }
    }
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Encryption::AesCbc { key_bits } => write!(f, "AES-CBC-{key_bits}"),
            Encryption::AesGcm16 { key_bits } => write!(f, "AES-GCM-{key_bits}"),
        }
    }
}

/// An integrity transform (HMAC, truncated as RFC 4868 and RFC 2404 say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Integrity {
    /// AUTH_HMAC_SHA1_96 (2): accepted for older peers only.
    HmacSha1_96,
    /// AUTH_HMAC_SHA2_256_128 (12).
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (13).
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (14).
    HmacSha512_256,
}

impl Integrity {
    /// All implemented integrity transforms, strongest first.
    pub const ALL: [Integrity; 4] = [
        Integrity::HmacSha512_256,
        Integrity::HmacSha384_192,
        Integrity::HmacSha256_128,
        Integrity::HmacSha1_96,
    ];

    /// The IANA transform ID (type 3).
    pub fn transform_id(self) -> u16 {
        match self {
            Integrity::HmacSha1_96 => 2,
            Integrity::HmacSha256_128 => 12,
            Integrity::HmacSha384_192 => 13,
            Integrity::HmacSha512_256 => 14,
        }
    }

    /// From an IANA transform ID, when we implement it.
    pub fn from_id(id: u16) -> Option<Integrity> {
        Self::ALL.into_iter().find(|i| i.transform_id() == id)
    }

    /// HMAC key length in bytes (the hash output length, RFC 4868 §2.1.1).
    pub fn key_len(self) -> usize {
        match self {
            Integrity::HmacSha1_96 => 20,
            Integrity::HmacSha256_128 => 32,
            Integrity::HmacSha384_192 => 48,
            Integrity::HmacSha512_256 => 64,
        }
    }

    /// Length of the truncated ICV in bytes.
    pub fn icv_len(self) -> usize {
        match self {
            Integrity::HmacSha1_96 => 12,
            Integrity::HmacSha256_128 => 16,
            Integrity::HmacSha384_192 => 24,
            Integrity::HmacSha512_256 => 32,
        }
    }

    /// The IOS-XE `crypto ikev2 proposal` keyword (`sha256`).
    pub fn ikev2_name(self) -> &'static str {
        match self {
            Integrity::HmacSha1_96 => "sha1",
            Integrity::HmacSha256_128 => "sha256",
            Integrity::HmacSha384_192 => "sha384",
            Integrity::HmacSha512_256 => "sha512",
        }
    }

    /// The IOS transform-set keyword (`esp-sha256-hmac`).
    pub fn esp_name(self) -> &'static str {
        match self {
            Integrity::HmacSha1_96 => "esp-sha-hmac",
            Integrity::HmacSha256_128 => "esp-sha256-hmac",
            Integrity::HmacSha384_192 => "esp-sha384-hmac",
            Integrity::HmacSha512_256 => "esp-sha512-hmac",
        }
    }
}

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Integrity::HmacSha1_96 => "HMAC-SHA1-96",
            Integrity::HmacSha256_128 => "HMAC-SHA256-128",
            Integrity::HmacSha384_192 => "HMAC-SHA384-192",
            Integrity::HmacSha512_256 => "HMAC-SHA512-256",
        })
    }
}

/// A pseudo-random function for the IKE key schedule (RFC 7296 §2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prf {
    /// PRF_HMAC_SHA1 (2): accepted for older peers only.
    HmacSha1,
    /// PRF_HMAC_SHA2_256 (5).
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (6).
    HmacSha384,
    /// PRF_HMAC_SHA2_512 (7).
    HmacSha512,
}

impl Prf {
    /// All implemented PRFs, strongest first.
    pub const ALL: [Prf; 4] = [
        Prf::HmacSha512,
        Prf::HmacSha384,
        Prf::HmacSha256,
        Prf::HmacSha1,
    ];

    /// The IANA transform ID (type 2).
    pub fn transform_id(self) -> u16 {
        match self {
            Prf::HmacSha1 => 2,
            Prf::HmacSha256 => 5,
            Prf::HmacSha384 => 6,
            Prf::HmacSha512 => 7,
        }
    }

    /// From an IANA transform ID, when we implement it.
    pub fn from_id(id: u16) -> Option<Prf> {
        Self::ALL.into_iter().find(|p| p.transform_id() == id)
    }

    /// Output (and preferred key) length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Prf::HmacSha1 => 20,
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
            Prf::HmacSha512 => 64,
        }
    }

    /// The IOS-XE `prf` keyword (`sha256`).
    pub fn ikev2_name(self) -> &'static str {
        match self {
            Prf::HmacSha1 => "sha1",
            Prf::HmacSha256 => "sha256",
            Prf::HmacSha384 => "sha384",
            Prf::HmacSha512 => "sha512",
        }
    }

    /// The PRF IOS-XE pairs with an integrity algorithm when no `prf` line is written.
    pub fn for_integrity(i: Integrity) -> Prf {
        match i {
            Integrity::HmacSha1_96 => Prf::HmacSha1,
            Integrity::HmacSha256_128 => Prf::HmacSha256,
            Integrity::HmacSha384_192 => Prf::HmacSha384,
            Integrity::HmacSha512_256 => Prf::HmacSha512,
        }
    }
}

impl fmt::Display for Prf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Prf::HmacSha1 => "PRF-HMAC-SHA1",
            Prf::HmacSha256 => "PRF-HMAC-SHA256",
            Prf::HmacSha384 => "PRF-HMAC-SHA384",
            Prf::HmacSha512 => "PRF-HMAC-SHA512",
        })
    }
}

/// A Diffie-Hellman group (IANA "Transform Type 4" numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DhGroup {
    /// 2048-bit MODP (14, RFC 3526).
    Modp2048,
    /// 3072-bit MODP (15, RFC 3526).
    Modp3072,
    /// 4096-bit MODP (16, RFC 3526).
    Modp4096,
    /// 256-bit random ECP, P-256 (19, RFC 5903).
    Ecp256,
    /// 384-bit random ECP, P-384 (20, RFC 5903).
    Ecp384,
    /// 521-bit random ECP, P-521 (21, RFC 5903).
    Ecp521,
    /// Curve25519 (31, RFC 8031).
    Curve25519,
}

impl DhGroup {
    /// All implemented groups, in IOS-XE's default preference (19, 20, 21, then the
    /// others).
    pub const ALL: [DhGroup; 7] = [
        DhGroup::Ecp256,
        DhGroup::Ecp384,
        DhGroup::Ecp521,
        DhGroup::Curve25519,
        DhGroup::Modp2048,
        DhGroup::Modp3072,
        DhGroup::Modp4096,
    ];

    /// The IANA group number.
    pub fn number(self) -> u16 {
        match self {
            DhGroup::Modp2048 => 14,
            DhGroup::Modp3072 => 15,
            DhGroup::Modp4096 => 16,
            DhGroup::Ecp256 => 19,
            DhGroup::Ecp384 => 20,
            DhGroup::Ecp521 => 21,
            DhGroup::Curve25519 => 31,
        }
    }

    /// From an IANA group number, when we implement it.
    pub fn from_number(n: u16) -> Option<DhGroup> {
        Self::ALL.into_iter().find(|g| g.number() == n)
    }

    /// Length of the public value in a KE payload, in bytes (RFC 7296 §3.4, RFC 5903 §7:
    /// x‖y for ECP, RFC 8031 §2 for Curve25519).
    pub fn public_len(self) -> usize {
        match self {
            DhGroup::Modp2048 => 256,
            DhGroup::Modp3072 => 384,
            DhGroup::Modp4096 => 512,
            DhGroup::Ecp256 => 64,
            DhGroup::Ecp384 => 96,
            DhGroup::Ecp521 => 132,
            DhGroup::Curve25519 => 32,
        }
    }
}

impl fmt::Display for DhGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DH_GROUP_{}", self.number())
    }
}

/// A broken algorithm we refuse, and what to use instead (RFC 8221 §5, RFC 8247 §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The algorithm as the user wrote it or a peer offered it (`DES`, `MD5`, `DH group 2`).
    pub name: &'static str,
    /// Why it is refused.
    pub reason: &'static str,
    /// A replacement to suggest, in the same configuration context.
    pub replacement: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is refused ({}); use {} instead",
            self.name, self.reason, self.replacement
        )
    }
}

const DES: Refused = Refused {
    name: "DES",
    reason: "56-bit key, broken",
    replacement: "AES-GCM (`esp-gcm 256`, or `encryption aes-gcm-256` in an IKEv2 proposal)",
};
const TRIPLE_DES: Refused = Refused {
    name: "3DES",
    reason: "64-bit block, deprecated by RFC 8221 and RFC 8247",
    replacement: "AES-GCM (`esp-gcm 256`, or `encryption aes-gcm-256` in an IKEv2 proposal)",
};
const MD5: Refused = Refused {
    name: "MD5",
    reason: "broken hash, deprecated by RFC 8221 and RFC 8247",
    replacement: "SHA-2 (`esp-sha256-hmac`, or `integrity sha256` in an IKEv2 proposal)",
};
const DH1: Refused = Refused {
    name: "DH group 1",
    reason: "768-bit MODP, broken",
    replacement: "group 19 (ECP-256) or group 14 (MODP-2048)",
};
const DH2: Refused = Refused {
    name: "DH group 2",
    reason: "1024-bit MODP, broken",
    replacement: "group 19 (ECP-256) or group 14 (MODP-2048)",
};
const DH5: Refused = Refused {
    name: "DH group 5",
    reason: "1536-bit MODP, too weak (RFC 8247)",
    replacement: "group 19 (ECP-256) or group 14 (MODP-2048)",
};

/// Whether a configuration keyword names a refused algorithm: IOS transform-set words
/// (`esp-des`, `esp-3des`, `esp-md5-hmac`, `ah-md5-hmac`), IKEv2/ISAKMP words (`des`, `3des`,
/// `md5`), and DH groups as `group1`/`1`.
pub fn refused_keyword(word: &str) -> Option<Refused> {
    match word.to_ascii_lowercase().as_str() {
        "esp-des" | "des" | "des-cbc" => Some(DES),
        "esp-3des" | "3des" | "3des-cbc" | "triple-des" => Some(TRIPLE_DES),
        "esp-md5-hmac" | "ah-md5-hmac" | "md5" | "hmac-md5" => Some(MD5),
        "group1" | "1" | "modp768" => Some(DH1),
        "group2" | "2" | "modp1024" => Some(DH2),
        "group5" | "5" | "modp1536" => Some(DH5),
        _ => None,
    }
}

/// Whether a DH group number is refused.
pub fn refused_dh_group(n: u16) -> Option<Refused> {
    match n {
        1 => Some(DH1),
        2 => Some(DH2),
        5 => Some(DH5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for i in Integrity::ALL {
            assert_eq!(Integrity::from_id(i.transform_id()), Some(i));
        }
        for p in Prf::ALL {
            assert_eq!(Prf::from_id(p.transform_id()), Some(p));
        }
        for g in DhGroup::ALL {
            assert_eq!(DhGroup::from_number(g.number()), Some(g));
        }
        assert_eq!(
            Encryption::from_id(20, Some(256)),
            Some(Encryption::AesGcm16 { key_bits: 256 })
        );
        assert_eq!(Encryption::from_id(20, None), None);
        assert_eq!(Encryption::AesGcm16 { key_bits: 256 }.keymat_len(), 36);
    }

    #[test]
    fn broken_algorithms_name_a_replacement() {
        let r = refused_keyword("esp-des").unwrap();
        assert!(r.to_string().contains("DES is refused"));
        assert!(r.to_string().contains("AES-GCM"));
        assert!(
            refused_keyword("esp-md5-hmac")
                .unwrap()
                .to_string()
                .contains("SHA-2")
        );
        assert!(refused_dh_group(5).is_some());
        assert!(refused_dh_group(14).is_none());
        assert!(refused_keyword("esp-aes").is_none());
    }
}

//! IOS keywords for the algorithms of the `dmvpn-crypto` registry: parsing them (with the
//! compliance shield's errors for refused algorithms), writing them back, and the serde
//! string forms of the registry types used by the model.
//!
//! Names follow IOS-XE: `aes-cbc-256`/`sha256`/`19` in `crypto ikev2 proposal`,
//! `esp-aes 256`/`esp-sha256-hmac` in transform sets, `aes 256`/`sha` in
//! `crypto isakmp policy`, `group14` after `set pfs`.

use dmvpn_crypto::algorithm::{refused_dh_group, refused_keyword};
use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};

use crate::args::PResult;
use crate::diag::{Diagnostic, did_you_mean};
use crate::lexer::Token;

/// `crypto ikev2 proposal` encryption keywords we implement.
pub(crate) const IKEV2_ENCRYPTION: &[&str] = &[
    "aes-cbc-128",
    "aes-cbc-192",
    "aes-cbc-256",
    "aes-gcm-128",
    "aes-gcm-256",
];
/// `integrity` and `prf` keywords.
pub(crate) const IKEV2_HASHES: &[&str] = &["sha1", "sha256", "sha384", "sha512"];
/// DH groups we implement, as IOS numbers them.
pub(crate) const DH_GROUPS: &[&str] = &["14", "15", "16", "19", "20", "21", "31"];
/// `set pfs` keywords.
pub(crate) const PFS_GROUPS: &[&str] = &[
    "group14", "group15", "group16", "group19", "group20", "group21", "group31",
];

/// The error for a refused algorithm, at its token: `transform `esp-des`: DES is refused
/// (…); use AES-GCM (…) instead`.
/// Only cipher and hash names count here (`des`, `esp-md5-hmac`); DH groups have their own
/// checks, so that a stray `2` is not read as "DH group 2".
pub(crate) fn refused_error(t: &Token, what: &str) -> Option<Diagnostic> {
    let r = refused_keyword(&t.text).filter(|r| !r.name.starts_with("DH"))?;
    Some(Diagnostic::error(
        t.span,
        format!("{what} `{}`: {r}", t.text),
    ))
}

fn unknown(t: &Token, what: &str, expected: &[&str]) -> Diagnostic {
    let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
    Diagnostic::error(
        t.span,
        format!(
            "unknown {what} `{}`: expected one of {}{}",
            t.text,
            list.join(", "),
            did_you_mean(&t.text, expected.iter().copied())
        ),
    )
}

/// `aes-cbc-256`, `aes-gcm-128` … (IKEv2 proposal).
pub(crate) fn ikev2_encryption(t: &Token) -> PResult<Encryption> {
    if let Some(d) = refused_error(t, "IKEv2 encryption") {
        return Err(d);
    }
    let lower = t.text.to_ascii_lowercase();
    Encryption::from_alg_name(&lower)
        .ok_or_else(|| unknown(t, "IKEv2 encryption", IKEV2_ENCRYPTION))
}

/// `sha1` … `sha512` (IKEv2 integrity).
pub(crate) fn ikev2_integrity(t: &Token) -> PResult<Integrity> {
    if let Some(d) = refused_error(t, "IKEv2 integrity") {
        return Err(d);
    }
    Integrity::from_alg_name(&t.text.to_ascii_lowercase())
        .ok_or_else(|| unknown(t, "IKEv2 integrity", IKEV2_HASHES))
}

/// `sha1` … `sha512` (IKEv2 PRF).
pub(crate) fn ikev2_prf(t: &Token) -> PResult<Prf> {
    if let Some(d) = refused_error(t, "IKEv2 PRF") {
        return Err(d);
    }
    Prf::from_alg_name(&t.text.to_ascii_lowercase())
        .ok_or_else(|| unknown(t, "IKEv2 PRF", IKEV2_HASHES))
}

/// A DH group number (`group 19` in a proposal or an ISAKMP policy).
pub(crate) fn dh_group(t: &Token) -> PResult<DhGroup> {
    let Ok(n) = t.text.parse::<u16>() else {
        return Err(Diagnostic::error(
            t.span,
            format!(
                "`{}` is not a Diffie-Hellman group: expected one of {}",
                t.text,
                DH_GROUPS.join(", ")
            ),
        ));
    };
    if let Some(r) = refused_dh_group(n) {
        return Err(Diagnostic::error(t.span, format!("`group {n}`: {r}")));
    }
    DhGroup::from_number(n).ok_or_else(|| {
        Diagnostic::error(
            t.span,
            format!(
                "Diffie-Hellman group {n} is not supported: expected one of {}",
                DH_GROUPS.join(", ")
            ),
        )
    })
}

/// `group14` … (after `set pfs`).
pub(crate) fn pfs_group(t: &Token) -> PResult<DhGroup> {
    let lower = t.text.to_ascii_lowercase();
    if let Some(r) = refused_keyword(&lower).filter(|_| lower.starts_with("group")) {
        return Err(Diagnostic::error(t.span, format!("`set pfs {lower}`: {r}")));
    }
    lower
        .strip_prefix("group")
        .and_then(|n| n.parse::<u16>().ok())
        .and_then(DhGroup::from_number)
        .ok_or_else(|| unknown(t, "PFS group", PFS_GROUPS))
}

/// `sha`, `sha256` … (ISAKMP `hash`).
pub(crate) fn isakmp_hash(t: &Token) -> PResult<Integrity> {
    if let Some(d) = refused_error(t, "ISAKMP hash") {
        return Err(d);
    }
    match t.text.to_ascii_lowercase().as_str() {
        "sha" => Ok(Integrity::HmacSha1_96),
        other => Integrity::from_alg_name(other)
            .ok_or_else(|| unknown(t, "ISAKMP hash", &["sha", "sha256", "sha384", "sha512"])),
    }
}

/// The ISAKMP `hash` keyword of an integrity algorithm.
pub(crate) fn isakmp_hash_name(i: Integrity) -> &'static str {
    match i {
        Integrity::HmacSha1_96 => "sha",
        other => other.ikev2_name(),
    }
}

/// `aes` / `aes 256` (ISAKMP `encryption`): AES-CBC, 128 bits unless written.
pub(crate) fn isakmp_encryption_words(e: Encryption) -> String {
    match e.key_bits() {
        128 => "aes".to_string(),
        bits => format!("aes {bits}"),
    }
}

/// A transform set's cipher as IOS writes it: `esp-aes` (128 bits), `esp-aes 256`,
/// `esp-gcm 128`, `esp-gcm 256`.
pub(crate) fn esp_encryption_words(e: Encryption) -> String {
    match e {
        Encryption::AesCbc { key_bits: 128 } => "esp-aes".to_string(),
        Encryption::AesCbc { key_bits } => format!("esp-aes {key_bits}"),
        Encryption::AesGcm16 { key_bits } => format!("esp-gcm {key_bits}"),
    }
}

/// A registry type's configuration name, both ways; also its serde form.
pub(crate) trait AlgName: Sized + Copy {
    /// The serde representation.
    type Repr: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display;
    fn to_repr(self) -> Self::Repr;
    fn from_repr(r: &Self::Repr) -> Option<Self>;
    fn from_alg_name(s: &str) -> Option<Self>;
}

impl AlgName for Encryption {
    type Repr = String;
    fn to_repr(self) -> String {
        self.ikev2_name()
    }
    fn from_repr(r: &String) -> Option<Self> {
        Self::from_alg_name(r)
    }
    fn from_alg_name(s: &str) -> Option<Self> {
        Some(match s {
            "aes-cbc-128" => Encryption::AesCbc { key_bits: 128 },
            "aes-cbc-192" => Encryption::AesCbc { key_bits: 192 },
            "aes-cbc-256" => Encryption::AesCbc { key_bits: 256 },
            "aes-gcm-128" => Encryption::AesGcm16 { key_bits: 128 },
            "aes-gcm-256" => Encryption::AesGcm16 { key_bits: 256 },
            _ => return None,
        })
    }
}

impl AlgName for Integrity {
    type Repr = String;
    fn to_repr(self) -> String {
        self.ikev2_name().to_string()
    }
    fn from_repr(r: &String) -> Option<Self> {
        Self::from_alg_name(r)
    }
    fn from_alg_name(s: &str) -> Option<Self> {
        Integrity::ALL.into_iter().find(|i| i.ikev2_name() == s)
    }
}

impl AlgName for Prf {
    type Repr = String;
    fn to_repr(self) -> String {
        self.ikev2_name().to_string()
    }
    fn from_repr(r: &String) -> Option<Self> {
        Self::from_alg_name(r)
    }
    fn from_alg_name(s: &str) -> Option<Self> {
        Prf::ALL.into_iter().find(|p| p.ikev2_name() == s)
    }
}

impl AlgName for DhGroup {
    type Repr = u16;
    fn to_repr(self) -> u16 {
        self.number()
    }
    fn from_repr(r: &u16) -> Option<Self> {
        DhGroup::from_number(*r)
    }
    fn from_alg_name(s: &str) -> Option<Self> {
        s.parse().ok().and_then(DhGroup::from_number)
    }
}

fn bad<E: serde::de::Error, T: AlgName>(r: &T::Repr) -> E {
    E::custom(format!("unknown or refused algorithm `{r}`"))
}

/// `#[serde(with = "crate::algs::one")]` for a registry value.
pub(crate) mod one {
    use super::AlgName;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: AlgName>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.to_repr().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: AlgName>(d: D) -> Result<T, D::Error> {
        let r = T::Repr::deserialize(d)?;
        T::from_repr(&r).ok_or_else(|| super::bad::<D::Error, T>(&r))
    }
}

/// `#[serde(with = "crate::algs::opt")]` for an optional registry value.
pub(crate) mod opt {
    use super::AlgName;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: AlgName>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        v.map(AlgName::to_repr).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: AlgName>(d: D) -> Result<Option<T>, D::Error> {
        match Option::<T::Repr>::deserialize(d)? {
            None => Ok(None),
            Some(r) => T::from_repr(&r)
                .map(Some)
                .ok_or_else(|| super::bad::<D::Error, T>(&r)),
        }
    }
}

/// `#[serde(with = "crate::algs::list")]` for a list of registry values.
pub(crate) mod list {
    use super::AlgName;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: AlgName>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        let r: Vec<T::Repr> = v.iter().map(|x| x.to_repr()).collect();
        r.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: AlgName>(d: D) -> Result<Vec<T>, D::Error> {
        Vec::<T::Repr>::deserialize(d)?
            .iter()
            .map(|r| T::from_repr(r).ok_or_else(|| super::bad::<D::Error, T>(r)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;

    fn tok(s: &str) -> Token {
        Token {
            text: s.to_string(),
            span: Span::new(1, 5, u32::try_from(s.len()).unwrap()),
        }
    }

    #[test]
    fn names_round_trip_and_refused_names_say_why() {
        for e in IKEV2_ENCRYPTION {
            assert_eq!(ikev2_encryption(&tok(e)).unwrap().ikev2_name(), *e);
        }
        for g in DH_GROUPS {
            assert_eq!(dh_group(&tok(g)).unwrap().number().to_string(), *g);
        }
        for g in PFS_GROUPS {
            assert!(pfs_group(&tok(g)).is_ok(), "{g}");
        }
        let d = ikev2_encryption(&tok("3des")).unwrap_err();
        assert!(d.message.contains("3DES is refused"), "{}", d.message);
        assert!(d.message.contains("aes-gcm-256"), "{}", d.message);
        assert_eq!(d.span, Span::new(1, 5, 4));
        let d = dh_group(&tok("5")).unwrap_err();
        assert!(d.message.contains("DH group 5 is refused"), "{}", d.message);
        let d = pfs_group(&tok("group2")).unwrap_err();
        assert!(d.message.contains("DH group 2 is refused"), "{}", d.message);
        let d = dh_group(&tok("24")).unwrap_err();
        assert!(d.message.contains("not supported"), "{}", d.message);
        assert!(
            isakmp_hash(&tok("md5"))
                .unwrap_err()
                .message
                .contains("MD5")
        );
        assert_eq!(isakmp_hash(&tok("sha")).unwrap(), Integrity::HmacSha1_96);
        assert_eq!(
            esp_encryption_words(Encryption::AesCbc { key_bits: 128 }),
            "esp-aes"
        );
    }
}

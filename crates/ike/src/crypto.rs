//! The engine's use of `dmvpn-crypto`: key exchange, the IKE key schedule split into the
//! two directions' SK ciphers (RFC 7296 §2.14), rekeyed schedules (§2.18), Child SA keying
//! material (§2.17), NAT detection hashes (§2.23) and the cookie MAC (§2.6). Every key is a
//! [`SecretBytes`]; nothing here is printed.

use crate::proposal::{EspSuite, IkeSuite};
use dmvpn_crypto::Random;
use dmvpn_crypto::cipher::Cipher;
use dmvpn_crypto::dh::KeyExchange;
use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::prf::IkeKeys;
use dmvpn_crypto::{DhGroup, Prf};
use std::fmt;
use std::net::SocketAddrV4;

/// A cryptographic operation failed (a bad peer public value, a key-size mismatch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CryptoFail;

/// One side of a Diffie-Hellman exchange.
pub(crate) struct Dh {
    kex: KeyExchange,
    group: DhGroup,
}

impl fmt::Debug for Dh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dh({})", self.group)
    }
}

impl Dh {
    pub(crate) fn new(group: DhGroup, rng: &mut dyn Random) -> Result<Dh, CryptoFail> {
        let kex = KeyExchange::new(group, rng).map_err(|_| CryptoFail)?;
        Ok(Dh { kex, group })
    }

    pub(crate) fn group(&self) -> DhGroup {
        self.group
    }

    pub(crate) fn public(&self) -> Vec<u8> {
        self.kex.public_value().to_vec()
    }

    pub(crate) fn agree(self, peer: &[u8]) -> Result<SecretBytes, CryptoFail> {
        if peer.len() != self.group.public_len() {
            return Err(CryptoFail);
        }
        self.kex.agree(peer).map_err(|_| CryptoFail)
    }
}

/// An IKE SA's keys, oriented: `out` protects what we send, `inn` checks what we receive.
pub(crate) struct SaKeys {
    pub(crate) prf: Prf,
    pub(crate) sk_d: SecretBytes,
    /// SK_p of our side (signs our ID for AUTH).
    pub(crate) sk_p_ours: SecretBytes,
    /// SK_p of the peer's side.
    pub(crate) sk_p_peer: SecretBytes,
    pub(crate) out: Cipher,
    pub(crate) inn: Cipher,
}

impl fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaKeys(<redacted>, {})", self.prf)
    }
}

/// The parts of a key schedule computation.
pub(crate) struct Schedule<'a> {
    pub(crate) suite: IkeSuite,
    pub(crate) initiator: bool,
    pub(crate) ni: &'a [u8],
    pub(crate) nr: &'a [u8],
    pub(crate) g_ir: &'a SecretBytes,
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
}

impl SaKeys {
    /// The initial key schedule (§2.14).
    pub(crate) fn derive(s: &Schedule<'_>) -> Result<SaKeys, CryptoFail> {
        let k = IkeKeys::derive(
            s.suite.prf,
            s.suite.enc,
            s.suite.integ,
            s.ni,
            s.nr,
            s.g_ir.as_slice(),
            s.spi_i,
            s.spi_r,
        )
        .map_err(|_| CryptoFail)?;
        Self::orient(k, s)
    }

    /// The schedule of an IKE SA made by rekeying one whose PRF and SK_d are given (§2.18).
    pub(crate) fn derive_rekey(
        old_prf: Prf,
        old_sk_d: &SecretBytes,
        s: &Schedule<'_>,
    ) -> Result<SaKeys, CryptoFail> {
        let k = IkeKeys::derive_rekey(
            old_prf,
            old_sk_d.as_slice(),
            s.suite.prf,
            s.suite.enc,
            s.suite.integ,
            s.ni,
            s.nr,
            s.g_ir.as_slice(),
            s.spi_i,
            s.spi_r,
        )
        .map_err(|_| CryptoFail)?;
        Self::orient(k, s)
    }

    fn orient(k: IkeKeys, s: &Schedule<'_>) -> Result<SaKeys, CryptoFail> {
        let cipher = |e: &SecretBytes, a: &SecretBytes| {
            Cipher::new(s.suite.enc, s.suite.integ, e.as_slice(), a.as_slice())
                .map_err(|_| CryptoFail)
        };
        let c_i = cipher(&k.sk_ei, &k.sk_ai)?;
        let c_r = cipher(&k.sk_er, &k.sk_ar)?;
        let (out, inn) = if s.initiator { (c_i, c_r) } else { (c_r, c_i) };
        let (sk_p_ours, sk_p_peer) = if s.initiator {
            (k.sk_pi, k.sk_pr)
        } else {
            (k.sk_pr, k.sk_pi)
        };
        Ok(SaKeys {
            prf: s.suite.prf,
            sk_d: k.sk_d,
            sk_p_ours,
            sk_p_peer,
            out,
            inn,
        })
    }

    /// prf(key, data) with this SA's PRF.
    pub(crate) fn prf(&self, key: &SecretBytes, data: &[&[u8]]) -> Vec<u8> {
        dmvpn_crypto::prf::prf(self.prf, key.as_slice(), data)
            .as_slice()
            .to_vec()
    }
}

pub(crate) use dmvpn_crypto::prf::ChildKeys;

/// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), split initiator-to-responder first (§2.17).
pub(crate) fn child_keys(
    prf: Prf,
    sk_d: &SecretBytes,
    g_ir: Option<&SecretBytes>,
    ni: &[u8],
    nr: &[u8],
    suite: &EspSuite,
) -> Result<ChildKeys, CryptoFail> {
    ChildKeys::derive(
        prf,
        sk_d.as_slice(),
        g_ir.map(SecretBytes::as_slice),
        ni,
        nr,
        suite.enc,
        suite.integ,
    )
    .map_err(|_| CryptoFail)
}

/// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port) (§2.23).
pub(crate) fn nat_hash(spi_i: u64, spi_r: u64, a: SocketAddrV4) -> [u8; 20] {
    dmvpn_crypto::nat_detection_hash(spi_i, spi_r, *a.ip(), a.port())
}

/// The cookie MAC: HMAC-SHA-256(secret, Ni | IPi | SPIi) (§2.6).
pub(crate) fn cookie_mac(secret: &[u8], ni: &[u8], ip: &[u8], spi_i: u64) -> Vec<u8> {
    dmvpn_crypto::prf::prf(Prf::HmacSha256, secret, &[ni, ip, &spi_i.to_be_bytes()])
        .as_slice()
        .to_vec()
}

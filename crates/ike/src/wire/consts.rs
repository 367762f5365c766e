//! IANA numbers of IKEv2 (RFC 7296 §3, the IKEv2 parameters registry, RFC 7383 for
//! fragmentation): exchange, payload, protocol, notify, transform, identification,
//! authentication and traffic selector types, and the transform IDs.
//!
//! Every enum keeps values it has no name for in `Unknown(raw)`, so parse → emit never
//! loses a number.

use core::fmt;

/// Declares a number enum with an `Unknown(raw)` variant, conversions both ways, the wire
/// value, the list of named values and a `Display` with the registry's name.
macro_rules! ike_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vm:meta])* $variant:ident = $value:expr => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vm])* $variant, )+
            /// A value without a name here, kept as received.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                value.value()
            }
        }

        impl $name {
            /// Every named value.
            pub const KNOWN: &'static [$name] = &[$( $name::$variant ),+];

            /// The wire value.
            pub const fn value(self) -> $ty {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }

            /// The registry's name, `None` for an unknown value.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )+
                    $name::Unknown(_) => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.value()),
                }
            }
        }
    };
}

ike_enum! {
    /// Exchange Type (RFC 7296 §3.1).
    pub enum ExchangeType(u8) {
        /// IKE_SA_INIT.
        IkeSaInit = 34 => "IKE_SA_INIT",
        /// IKE_AUTH.
        IkeAuth = 35 => "IKE_AUTH",
        /// CREATE_CHILD_SA.
        CreateChildSa = 36 => "CREATE_CHILD_SA",
        /// INFORMATIONAL.
        Informational = 37 => "INFORMATIONAL",
        /// IKE_SESSION_RESUME (RFC 5723).
        IkeSessionResume = 38 => "IKE_SESSION_RESUME",
        /// IKE_INTERMEDIATE (RFC 9242).
        IkeIntermediate = 43 => "IKE_INTERMEDIATE",
    }
}

ike_enum! {
    /// Payload Type, the value of a Next Payload field (RFC 7296 §3.2, RFC 7383).
    pub enum PayloadType(u8) {
        /// No Next Payload (0): the end of a chain.
        NoNext = 0 => "none",
        /// Security Association (SA).
        Sa = 33 => "SA",
        /// Key Exchange (KE).
        Ke = 34 => "KE",
        /// Identification - Initiator (IDi).
        IdI = 35 => "IDi",
        /// Identification - Responder (IDr).
        IdR = 36 => "IDr",
        /// Certificate (CERT).
        Cert = 37 => "CERT",
        /// Certificate Request (CERTREQ).
        CertReq = 38 => "CERTREQ",
        /// Authentication (AUTH).
        Auth = 39 => "AUTH",
        /// Nonce (Ni, Nr).
        Nonce = 40 => "Nonce",
        /// Notify (N).
        Notify = 41 => "N",
        /// Delete (D).
        Delete = 42 => "D",
        /// Vendor ID (V).
        VendorId = 43 => "V",
        /// Traffic Selector - Initiator (TSi).
        TsI = 44 => "TSi",
        /// Traffic Selector - Responder (TSr).
        TsR = 45 => "TSr",
        /// Encrypted and Authenticated (SK).
        Encrypted = 46 => "SK",
        /// Configuration (CP).
        Configuration = 47 => "CP",
        /// Extensible Authentication (EAP).
        Eap = 48 => "EAP",
        /// Encrypted and Authenticated Fragment (SKF, RFC 7383).
        EncryptedFragment = 53 => "SKF",
    }
}

ike_enum! {
    /// Protocol ID of proposals, notifies and deletes (RFC 7296 §3.3.1).
    pub enum ProtocolId(u8) {
        /// No protocol (notifies about the IKE SA itself).
        None = 0 => "none",
        /// IKE.
        Ike = 1 => "IKE",
        /// AH.
        Ah = 2 => "AH",
        /// ESP.
        Esp = 3 => "ESP",
    }
}

ike_enum! {
    /// Transform Type (RFC 7296 §3.3.2).
    pub enum TransformType(u8) {
        /// Encryption Algorithm (ENCR).
        Encr = 1 => "ENCR",
        /// Pseudorandom Function (PRF).
        Prf = 2 => "PRF",
        /// Integrity Algorithm (INTEG).
        Integ = 3 => "INTEG",
        /// Diffie-Hellman Group (D-H), "Key Exchange Method" since RFC 9370.
        Dh = 4 => "D-H",
        /// Extended Sequence Numbers (ESN).
        Esn = 5 => "ESN",
    }
}

ike_enum! {
    /// Notify Message Type (RFC 7296 §3.10.1; RFC 7383 for fragmentation). Types below
    /// 16384 are errors, the rest status.
    pub enum NotifyType(u16) {
        /// UNSUPPORTED_CRITICAL_PAYLOAD.
        UnsupportedCriticalPayload = 1 => "UNSUPPORTED_CRITICAL_PAYLOAD",
        /// INVALID_IKE_SPI.
        InvalidIkeSpi = 4 => "INVALID_IKE_SPI",
        /// INVALID_MAJOR_VERSION.
        InvalidMajorVersion = 5 => "INVALID_MAJOR_VERSION",
        /// INVALID_SYNTAX.
        InvalidSyntax = 7 => "INVALID_SYNTAX",
        /// INVALID_MESSAGE_ID.
        InvalidMessageId = 9 => "INVALID_MESSAGE_ID",
        /// INVALID_SPI.
        InvalidSpi = 11 => "INVALID_SPI",
        /// NO_PROPOSAL_CHOSEN.
        NoProposalChosen = 14 => "NO_PROPOSAL_CHOSEN",
        /// INVALID_KE_PAYLOAD (data: the accepted D-H group, 2 bytes).
        InvalidKePayload = 17 => "INVALID_KE_PAYLOAD",
        /// AUTHENTICATION_FAILED.
        AuthenticationFailed = 24 => "AUTHENTICATION_FAILED",
        /// SINGLE_PAIR_REQUIRED.
        SinglePairRequired = 34 => "SINGLE_PAIR_REQUIRED",
        /// NO_ADDITIONAL_SAS.
        NoAdditionalSas = 35 => "NO_ADDITIONAL_SAS",
        /// INTERNAL_ADDRESS_FAILURE.
        InternalAddressFailure = 36 => "INTERNAL_ADDRESS_FAILURE",
        /// FAILED_CP_REQUIRED.
        FailedCpRequired = 37 => "FAILED_CP_REQUIRED",
        /// TS_UNACCEPTABLE.
        TsUnacceptable = 38 => "TS_UNACCEPTABLE",
        /// INVALID_SELECTORS.
        InvalidSelectors = 39 => "INVALID_SELECTORS",
        /// TEMPORARY_FAILURE.
        TemporaryFailure = 43 => "TEMPORARY_FAILURE",
        /// CHILD_SA_NOT_FOUND.
        ChildSaNotFound = 44 => "CHILD_SA_NOT_FOUND",
        /// INITIAL_CONTACT.
        InitialContact = 16384 => "INITIAL_CONTACT",
        /// SET_WINDOW_SIZE.
        SetWindowSize = 16385 => "SET_WINDOW_SIZE",
        /// ADDITIONAL_TS_POSSIBLE.
        AdditionalTsPossible = 16386 => "ADDITIONAL_TS_POSSIBLE",
        /// IPCOMP_SUPPORTED.
        IpcompSupported = 16387 => "IPCOMP_SUPPORTED",
        /// NAT_DETECTION_SOURCE_IP.
        NatDetectionSourceIp = 16388 => "NAT_DETECTION_SOURCE_IP",
        /// NAT_DETECTION_DESTINATION_IP.
        NatDetectionDestinationIp = 16389 => "NAT_DETECTION_DESTINATION_IP",
        /// COOKIE.
        Cookie = 16390 => "COOKIE",
        /// USE_TRANSPORT_MODE.
        UseTransportMode = 16391 => "USE_TRANSPORT_MODE",
        /// HTTP_CERT_LOOKUP_SUPPORTED.
        HttpCertLookupSupported = 16392 => "HTTP_CERT_LOOKUP_SUPPORTED",
        /// REKEY_SA.
        RekeySa = 16393 => "REKEY_SA",
        /// ESP_TFC_PADDING_NOT_SUPPORTED.
        EspTfcPaddingNotSupported = 16394 => "ESP_TFC_PADDING_NOT_SUPPORTED",
        /// NON_FIRST_FRAGMENTS_ALSO.
        NonFirstFragmentsAlso = 16395 => "NON_FIRST_FRAGMENTS_ALSO",
        /// MOBIKE_SUPPORTED (RFC 4555).
        MobikeSupported = 16396 => "MOBIKE_SUPPORTED",
        /// IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383).
        Ikev2FragmentationSupported = 16430 => "IKEV2_FRAGMENTATION_SUPPORTED",
        /// SIGNATURE_HASH_ALGORITHMS (RFC 7427).
        SignatureHashAlgorithms = 16431 => "SIGNATURE_HASH_ALGORITHMS",
    }
}

impl NotifyType {
    /// Error types are below 16384 (§3.10.1).
    pub fn is_error(self) -> bool {
        self.value() < 16384
    }
}

ike_enum! {
    /// ID Type of an Identification payload (RFC 7296 §3.5).
    pub enum IdType(u8) {
        /// ID_IPV4_ADDR.
        Ipv4Addr = 1 => "ID_IPV4_ADDR",
        /// ID_FQDN.
        Fqdn = 2 => "ID_FQDN",
        /// ID_RFC822_ADDR.
        Rfc822Addr = 3 => "ID_RFC822_ADDR",
        /// ID_IPV6_ADDR.
        Ipv6Addr = 5 => "ID_IPV6_ADDR",
        /// ID_DER_ASN1_DN.
        DerAsn1Dn = 9 => "ID_DER_ASN1_DN",
        /// ID_DER_ASN1_GN.
        DerAsn1Gn = 10 => "ID_DER_ASN1_GN",
        /// ID_KEY_ID.
        KeyId = 11 => "ID_KEY_ID",
    }
}

ike_enum! {
    /// Auth Method of an Authentication payload (RFC 7296 §3.8, RFC 4754, RFC 7427).
    pub enum AuthMethod(u8) {
        /// RSA Digital Signature.
        RsaSig = 1 => "RSA Digital Signature",
        /// Shared Key Message Integrity Code.
        SharedKeyMic = 2 => "Shared Key Message Integrity Code",
        /// DSS Digital Signature.
        DssSig = 3 => "DSS Digital Signature",
        /// ECDSA with SHA-256 on P-256.
        EcdsaP256 = 9 => "ECDSA with SHA-256 on the P-256 curve",
        /// ECDSA with SHA-384 on P-384.
        EcdsaP384 = 10 => "ECDSA with SHA-384 on the P-384 curve",
        /// ECDSA with SHA-512 on P-521.
        EcdsaP521 = 11 => "ECDSA with SHA-512 on the P-521 curve",
        /// Digital Signature (RFC 7427).
        DigitalSignature = 14 => "Digital Signature",
    }
}

ike_enum! {
    /// TS Type of a traffic selector (RFC 7296 §3.13.1).
    pub enum TsType(u8) {
        /// TS_IPV4_ADDR_RANGE.
        Ipv4AddrRange = 7 => "TS_IPV4_ADDR_RANGE",
        /// TS_IPV6_ADDR_RANGE.
        Ipv6AddrRange = 8 => "TS_IPV6_ADDR_RANGE",
    }
}

/// Transform IDs per transform type (RFC 7296 §3.3.2 and the IKEv2 parameters registry).
pub mod transform_id {
    /// Transform Type 1, Encryption Algorithm.
    pub mod encr {
        /// ENCR_DES.
        pub const DES: u16 = 2;
        /// ENCR_3DES.
        pub const TRIPLE_DES: u16 = 3;
        /// ENCR_NULL.
        pub const NULL: u16 = 11;
        /// ENCR_AES_CBC (key length attribute required).
        pub const AES_CBC: u16 = 12;
        /// ENCR_AES_CTR.
        pub const AES_CTR: u16 = 13;
        /// ENCR_AES_CCM_8.
        pub const AES_CCM_8: u16 = 14;
        /// ENCR_AES_CCM_12.
        pub const AES_CCM_12: u16 = 15;
        /// ENCR_AES_CCM_16.
        pub const AES_CCM_16: u16 = 16;
        /// ENCR_AES_GCM_8.
        pub const AES_GCM_8: u16 = 18;
        /// ENCR_AES_GCM_12.
        pub const AES_GCM_12: u16 = 19;
        /// ENCR_AES_GCM_16.
        pub const AES_GCM_16: u16 = 20;
        /// ENCR_NULL_AUTH_AES_GMAC.
        pub const NULL_AUTH_AES_GMAC: u16 = 21;
        /// ENCR_CHACHA20_POLY1305.
        pub const CHACHA20_POLY1305: u16 = 28;
    }

    /// Transform Type 2, Pseudorandom Function.
    pub mod prf {
        /// PRF_HMAC_MD5.
        pub const HMAC_MD5: u16 = 1;
        /// PRF_HMAC_SHA1.
        pub const HMAC_SHA1: u16 = 2;
        /// PRF_AES128_XCBC.
        pub const AES128_XCBC: u16 = 4;
        /// PRF_HMAC_SHA2_256.
        pub const HMAC_SHA2_256: u16 = 5;
        /// PRF_HMAC_SHA2_384.
        pub const HMAC_SHA2_384: u16 = 6;
        /// PRF_HMAC_SHA2_512.
        pub const HMAC_SHA2_512: u16 = 7;
    }

    /// Transform Type 3, Integrity Algorithm.
    pub mod integ {
        /// NONE.
        pub const NONE: u16 = 0;
        /// AUTH_HMAC_MD5_96.
        pub const HMAC_MD5_96: u16 = 1;
        /// AUTH_HMAC_SHA1_96.
        pub const HMAC_SHA1_96: u16 = 2;
        /// AUTH_AES_XCBC_96.
        pub const AES_XCBC_96: u16 = 5;
        /// AUTH_HMAC_SHA2_256_128.
        pub const HMAC_SHA2_256_128: u16 = 12;
        /// AUTH_HMAC_SHA2_384_192.
        pub const HMAC_SHA2_384_192: u16 = 13;
        /// AUTH_HMAC_SHA2_512_256.
        pub const HMAC_SHA2_512_256: u16 = 14;
    }

    /// Transform Type 4, Diffie-Hellman group.
    pub mod dh {
        /// NONE.
        pub const NONE: u16 = 0;
        /// 768-bit MODP.
        pub const MODP768: u16 = 1;
        /// 1024-bit MODP.
        pub const MODP1024: u16 = 2;
        /// 1536-bit MODP.
        pub const MODP1536: u16 = 5;
        /// 2048-bit MODP.
        pub const MODP2048: u16 = 14;
        /// 3072-bit MODP.
        pub const MODP3072: u16 = 15;
        /// 4096-bit MODP.
        pub const MODP4096: u16 = 16;
        /// 6144-bit MODP.
        pub const MODP6144: u16 = 17;
        /// 8192-bit MODP.
        pub const MODP8192: u16 = 18;
        /// 256-bit random ECP.
        pub const ECP256: u16 = 19;
        /// 384-bit random ECP.
        pub const ECP384: u16 = 20;
        /// 521-bit random ECP.
        pub const ECP521: u16 = 21;
        /// Curve25519.
        pub const CURVE25519: u16 = 31;
        /// Curve448.
        pub const CURVE448: u16 = 32;
    }

    /// Transform Type 5, Extended Sequence Numbers.
    pub mod esn {
        /// No Extended Sequence Numbers.
        pub const NO: u16 = 0;
        /// Extended Sequence Numbers.
        pub const YES: u16 = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_name() {
        for t in PayloadType::KNOWN {
            assert_eq!(PayloadType::from(t.value()), *t);
        }
        assert_eq!(PayloadType::from(99), PayloadType::Unknown(99));
        assert_eq!(u8::from(PayloadType::Unknown(99)), 99);
        assert_eq!(PayloadType::EncryptedFragment.value(), 53);
        assert_eq!(NotifyType::from(16388), NotifyType::NatDetectionSourceIp);
        assert_eq!(NotifyType::Cookie.to_string(), "COOKIE");
        assert_eq!(NotifyType::Unknown(40000).to_string(), "NotifyType(40000)");
        assert!(NotifyType::NoProposalChosen.is_error());
        assert!(!NotifyType::InitialContact.is_error());
        assert_eq!(ExchangeType::from(35), ExchangeType::IkeAuth);
        assert_eq!(ProtocolId::Esp.value(), 3);
    }
}

//! SA payload negotiation (RFC 7296 §2.7, §3.3): building our offers from the configuration,
//! choosing from a peer's offer, and checking a peer's choice against what we offered.
//!
//! The responder walks the initiator's proposals in the initiator's order and takes the
//! first one it can accept; inside it, for each transform type, the first transform (again
//! in the initiator's order) that one of our configured proposals allows, all from the same
//! configured proposal. A KE payload's group is preferred when the proposal allows it, so no
//! INVALID_KE_PAYLOAD round trip is needed. Unknown transforms are skipped; a proposal with
//! an unknown transform type, or missing a mandatory one, is not acceptable.
//!
//! These are the engine's own proposal types; `msg` converts them to and from the codec.

use crate::config::{ChildTransform, IkeProposal};
use dmvpn_crypto::algorithm::transform_type as tt;
use dmvpn_crypto::{DhGroup, Encryption, Integrity, Prf};

/// Protocol ID of an IKE proposal.
pub(crate) const PROTO_IKE: u8 = 1;
/// Protocol ID of an ESP proposal.
pub(crate) const PROTO_ESP: u8 = 3;

/// One transform: type, ID, and the Key Length attribute when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transform {
    pub(crate) ttype: u8,
    pub(crate) id: u16,
    pub(crate) key_len: Option<u16>,
}

impl Transform {
    fn plain(ttype: u8, id: u16) -> Self {
        Transform {
            ttype,
            id,
            key_len: None,
        }
    }

    fn enc(e: Encryption) -> Self {
        Transform {
            ttype: tt::ENCR,
            id: e.transform_id(),
            key_len: Some(e.key_bits()),
        }
    }
}

/// One proposal of an SA payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proposal {
    pub(crate) num: u8,
    pub(crate) protocol: u8,
    pub(crate) spi: Vec<u8>,
    /// Unknown attributes make a transform unusable; the codec reports them by leaving the
    /// transform out or flagging it, so here every transform is understood.
    pub(crate) transforms: Vec<Transform>,
}

/// A negotiated IKE SA suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IkeSuite {
    pub(crate) enc: Encryption,
    pub(crate) integ: Option<Integrity>,
    pub(crate) prf: Prf,
    pub(crate) dh: DhGroup,
}

/// A negotiated ESP suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EspSuite {
    pub(crate) enc: Encryption,
    pub(crate) integ: Option<Integrity>,
    pub(crate) esn: bool,
    pub(crate) dh: Option<DhGroup>,
}

/// ESN transform IDs.
const ESN_NO: u16 = 0;
const ESN_YES: u16 = 1;

/// Our IKE offer: one proposal per configured proposal, numbered from 1.
pub(crate) fn ike_offer(cfg: &[IkeProposal], spi: &[u8]) -> Vec<Proposal> {
    cfg.iter()
        .enumerate()
        .map(|(i, p)| {
            let mut t: Vec<Transform> = p.encryption.iter().map(|e| Transform::enc(*e)).collect();
            t.extend(
                p.prf
                    .iter()
                    .map(|x| Transform::plain(tt::PRF, x.transform_id())),
            );
            if p.encryption.iter().any(|e| !e.is_aead()) {
                t.extend(
                    p.integrity
                        .iter()
                        .map(|x| Transform::plain(tt::INTEG, x.transform_id())),
                );
            }
            t.extend(
                p.dh_groups
                    .iter()
                    .map(|g| Transform::plain(tt::DH, g.number())),
            );
            Proposal {
                num: u8::try_from(i + 1).unwrap_or(u8::MAX),
                protocol: PROTO_IKE,
                spi: spi.to_vec(),
                transforms: t,
            }
        })
        .collect()
}

/// The transforms of type `ty` in an offered proposal.
fn of_type(p: &Proposal, ty: u8) -> impl Iterator<Item = &Transform> {
    p.transforms.iter().filter(move |t| t.ttype == ty)
}

fn known_types(p: &Proposal, allowed: &[u8]) -> bool {
    p.transforms.iter().all(|t| allowed.contains(&t.ttype))
}

/// Integrity is acceptable as absent for AEAD: no INTEG transform, or only NONE (0).
fn aead_integ_ok(p: &Proposal) -> bool {
    of_type(p, tt::INTEG).all(|t| t.id == 0)
}

fn pick_integ(p: &Proposal, allowed: &[Integrity]) -> Option<Integrity> {
    of_type(p, tt::INTEG)
        .filter_map(|t| Integrity::from_id(t.id))
        .find(|i| allowed.contains(i))
}

/// Responder: choose from the initiator's IKE offer. `ke_group` is the group of the KE
/// payload, preferred when allowed. Returns the chosen proposal as the response carries it
/// and the suite.
pub(crate) fn ike_select(
    offered: &[Proposal],
    cfg: &[IkeProposal],
    ke_group: Option<u16>,
) -> Option<(Proposal, IkeSuite)> {
    for p in offered.iter().filter(|p| p.protocol == PROTO_IKE) {
        if !known_types(p, &[tt::ENCR, tt::PRF, tt::INTEG, tt::DH]) {
            continue;
        }
        for c in cfg {
            if let Some(s) = ike_match(p, c, ke_group) {
                return Some((ike_chosen(p, &s), s));
            }
        }
    }
    None
}

fn ike_match(p: &Proposal, c: &IkeProposal, ke_group: Option<u16>) -> Option<IkeSuite> {
    let enc = of_type(p, tt::ENCR)
        .filter_map(|t| Encryption::from_id(t.id, t.key_len))
        .find(|e| c.encryption.contains(e))?;
    let integ = if enc.is_aead() {
        if !aead_integ_ok(p) {
            return None;
        }
        None
    } else {
        Some(pick_integ(p, &c.integrity)?)
    };
    let prf = of_type(p, tt::PRF)
        .filter_map(|t| Prf::from_id(t.id))
        .find(|x| c.prf.contains(x))?;
    let groups: Vec<DhGroup> = of_type(p, tt::DH)
        .filter_map(|t| DhGroup::from_number(t.id))
        .filter(|g| c.dh_groups.contains(g))
        .collect();
    let dh = ke_group
        .and_then(|k| groups.iter().copied().find(|g| g.number() == k))
        .or_else(|| groups.first().copied())?;
    Some(IkeSuite {
        enc,
        integ,
        prf,
        dh,
    })
}

fn ike_chosen(p: &Proposal, s: &IkeSuite) -> Proposal {
    let mut t = vec![
        Transform::enc(s.enc),
        Transform::plain(tt::PRF, s.prf.transform_id()),
    ];
    if let Some(i) = s.integ {
        t.push(Transform::plain(tt::INTEG, i.transform_id()));
    }
    t.push(Transform::plain(tt::DH, s.dh.number()));
    Proposal {
        num: p.num,
        protocol: PROTO_IKE,
        spi: p.spi.clone(),
        transforms: t,
    }
}

/// Initiator: the responder's choice must be one proposal with one transform of each type,
/// all from what we offered.
pub(crate) fn ike_accept(chosen: &[Proposal], cfg: &[IkeProposal]) -> Option<IkeSuite> {
    let [p] = chosen else { return None };
    if p.protocol != PROTO_IKE {
        return None;
    }
    let c = cfg.get(usize::from(p.num).checked_sub(1)?)?;
    let single = |ty| of_type(p, ty).count() <= 1;
    if ![tt::ENCR, tt::PRF, tt::INTEG, tt::DH]
        .into_iter()
        .all(single)
    {
        return None;
    }
    let s = ike_match(p, c, None)?;
    Some(s)
}

/// Our ESP offer: one proposal per configured transform pair (AEAD and classic ciphers
/// cannot share a proposal), numbered from 1, each with `dh` (PFS, CREATE_CHILD_SA only)
/// and the ESN choices.
pub(crate) fn esp_offer(
    cfg: &[ChildTransform],
    esn: bool,
    dh: Option<DhGroup>,
    spi: u32,
) -> Vec<Proposal> {
    cfg.iter()
        .enumerate()
        .map(|(i, c)| {
            let mut t = vec![Transform::enc(c.encryption)];
            if let Some(x) = c.integrity {
                t.push(Transform::plain(tt::INTEG, x.transform_id()));
            }
            if let Some(g) = dh {
                t.push(Transform::plain(tt::DH, g.number()));
            }
            if esn {
                t.push(Transform::plain(tt::ESN, ESN_YES));
            }
            t.push(Transform::plain(tt::ESN, ESN_NO));
            Proposal {
                num: u8::try_from(i + 1).unwrap_or(u8::MAX),
                protocol: PROTO_ESP,
                spi: spi.to_be_bytes().to_vec(),
                transforms: t,
            }
        })
        .collect()
}

/// How the responder treats DH transforms in an ESP offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PfsPolicy {
    /// IKE_AUTH: no key exchange; DH transforms are ignored and left out of the answer.
    Ignore,
    /// CREATE_CHILD_SA: with `Some(g)` configured, a DH group is required (g preferred, or
    /// `ke_group`); with `None`, NONE is preferred but a peer's group is accepted.
    Negotiate {
        /// Our configured PFS group.
        ours: Option<DhGroup>,
        /// The KE payload's group, if a KE came.
        ke_group: Option<u16>,
    },
}

/// Responder: choose from an ESP offer. Returns the chosen proposal (with the peer's SPI,
/// to be replaced by ours), the suite and the peer's SPI.
pub(crate) fn esp_select(
    offered: &[Proposal],
    cfg: &[ChildTransform],
    esn_pref: bool,
    pfs: PfsPolicy,
) -> Option<(Proposal, EspSuite, u32)> {
    for p in offered.iter().filter(|p| p.protocol == PROTO_ESP) {
        let Ok(spi_bytes) = <[u8; 4]>::try_from(p.spi.as_slice()) else {
            continue;
        };
        if !known_types(p, &[tt::ENCR, tt::INTEG, tt::DH, tt::ESN]) {
            continue;
        }
        for c in cfg {
            if let Some(s) = esp_match(p, c, esn_pref, pfs) {
                return Some((esp_chosen(p, &s), s, u32::from_be_bytes(spi_bytes)));
            }
        }
    }
    None
}

fn esp_match(p: &Proposal, c: &ChildTransform, esn_pref: bool, pfs: PfsPolicy) -> Option<EspSuite> {
    let enc = of_type(p, tt::ENCR)
        .filter_map(|t| Encryption::from_id(t.id, t.key_len))
        .find(|e| *e == c.encryption)?;
    let integ = match c.integrity {
        None => {
            if !aead_integ_ok(p) {
                return None;
            }
            None
        }
        Some(i) => Some(pick_integ(p, &[i])?),
    };
    let esns: Vec<u16> = of_type(p, tt::ESN).map(|t| t.id).collect();
    let esn = if esns.is_empty() {
        false
    } else if esn_pref && esns.contains(&ESN_YES) {
        true
    } else if esns.contains(&ESN_NO) {
        false
    } else if esns.contains(&ESN_YES) {
        true
    } else {
        return None;
    };
    let dh = match pfs {
        PfsPolicy::Ignore => None,
        PfsPolicy::Negotiate { ours, ke_group } => {
            let groups: Vec<u16> = of_type(p, tt::DH).map(|t| t.id).collect();
            let none_ok = groups.is_empty() || groups.contains(&0);
            match ours {
                Some(g) => {
                    let pick = ke_group
                        .filter(|k| groups.contains(k))
                        .and_then(DhGroup::from_number)
                        .or_else(|| groups.contains(&g.number()).then_some(g))?;
                    Some(pick)
                }
                None if none_ok => None,
                None => {
                    let usable: Vec<DhGroup> = groups
                        .iter()
                        .filter_map(|n| DhGroup::from_number(*n))
                        .collect();
                    let pick = ke_group
                        .and_then(|k| usable.iter().copied().find(|g| g.number() == k))
                        .or_else(|| usable.first().copied())?;
                    Some(pick)
                }
            }
        }
    };
    Some(EspSuite {
        enc,
        integ,
        esn,
        dh,
    })
}

fn esp_chosen(p: &Proposal, s: &EspSuite) -> Proposal {
    let mut t = vec![Transform::enc(s.enc)];
    if let Some(i) = s.integ {
        t.push(Transform::plain(tt::INTEG, i.transform_id()));
    }
    if let Some(g) = s.dh {
        t.push(Transform::plain(tt::DH, g.number()));
    }
    t.push(Transform::plain(
        tt::ESN,
        if s.esn { ESN_YES } else { ESN_NO },
    ));
    Proposal {
        num: p.num,
        protocol: PROTO_ESP,
        spi: p.spi.clone(),
        transforms: t,
    }
}

/// Initiator: the responder's ESP choice must be one of our proposals, with single
/// transforms. Returns the suite and the responder's SPI.
pub(crate) fn esp_accept(
    chosen: &[Proposal],
    cfg: &[ChildTransform],
    esn: bool,
    dh: Option<DhGroup>,
) -> Option<(EspSuite, u32)> {
    let [p] = chosen else { return None };
    if p.protocol != PROTO_ESP {
        return None;
    }
    let spi = u32::from_be_bytes(<[u8; 4]>::try_from(p.spi.as_slice()).ok()?);
    let c = cfg.get(usize::from(p.num).checked_sub(1)?)?;
    let single = |ty| of_type(p, ty).count() <= 1;
    if ![tt::ENCR, tt::INTEG, tt::DH, tt::ESN]
        .into_iter()
        .all(single)
    {
        return None;
    }
    let pfs = match dh {
        None => PfsPolicy::Ignore,
        Some(g) => PfsPolicy::Negotiate {
            ours: Some(g),
            ke_group: Some(g.number()),
        },
    };
    let s = esp_match(p, c, esn, pfs)?;
    if !esn && s.esn {
        return None;
    }
    Some((s, spi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbc() -> IkeProposal {
        IkeProposal {
            encryption: vec![Encryption::AesCbc { key_bits: 256 }],
            integrity: vec![Integrity::HmacSha256_128],
            prf: vec![Prf::HmacSha256],
            dh_groups: vec![DhGroup::Ecp256, DhGroup::Modp2048],
        }
    }

    fn gcm() -> IkeProposal {
        IkeProposal {
            encryption: vec![Encryption::AesGcm16 { key_bits: 128 }],
            integrity: vec![],
            prf: vec![Prf::HmacSha384],
            dh_groups: vec![DhGroup::Curve25519],
        }
    }

    #[test]
    fn ike_offer_select_accept() {
        let offer = ike_offer(&[gcm(), cbc()], &[]);
        assert_eq!(offer.len(), 2);
        assert!(!offer[0].transforms.iter().any(|t| t.ttype == tt::INTEG));
        // A responder with only CBC picks proposal 2, preferring the KE's group.
        let (chosen, s) = ike_select(&offer, &[cbc()], Some(14)).unwrap();
        assert_eq!(chosen.num, 2);
        assert_eq!(s.dh, DhGroup::Modp2048);
        assert_eq!(s.integ, Some(Integrity::HmacSha256_128));
        assert_eq!(ike_accept(&[chosen], &[gcm(), cbc()]), Some(s));
        // Without a KE hint, the initiator's first group.
        let (_, s) = ike_select(&offer, &[cbc()], None).unwrap();
        assert_eq!(s.dh, DhGroup::Ecp256);
        // Nothing in common.
        let mut other = cbc();
        other.prf = vec![Prf::HmacSha512];
        assert!(ike_select(&offer, &[other], None).is_none());
    }

    #[test]
    fn ike_accept_refuses_what_we_did_not_offer() {
        let offer = ike_offer(&[cbc()], &[]);
        let (mut chosen, _) = ike_select(&offer, &[cbc()], None).unwrap();
        chosen.transforms.push(Transform::plain(tt::DH, 19));
        assert!(ike_accept(&[chosen.clone()], &[cbc()]).is_none());
        chosen.transforms.pop();
        chosen.num = 5;
        assert!(ike_accept(&[chosen], &[cbc()]).is_none());
    }

    #[test]
    fn esp_select_and_pfs() {
        let cfg = [
            ChildTransform {
                encryption: Encryption::AesGcm16 { key_bits: 256 },
                integrity: None,
            },
            ChildTransform {
                encryption: Encryption::AesCbc { key_bits: 128 },
                integrity: Some(Integrity::HmacSha1_96),
            },
        ];
        let offer = esp_offer(&cfg[1..], false, None, 0x1234_5678);
        let (chosen, s, spi) = esp_select(&offer, &cfg, false, PfsPolicy::Ignore).unwrap();
        assert_eq!(spi, 0x1234_5678);
        assert_eq!(s.enc, Encryption::AesCbc { key_bits: 128 });
        assert!(!s.esn);
        assert_eq!(esp_accept(&[chosen], &cfg[1..], false, None).unwrap().0, s);
        // PFS required by the responder but not offered.
        let need = PfsPolicy::Negotiate {
            ours: Some(DhGroup::Ecp256),
            ke_group: None,
        };
        assert!(esp_select(&offer, &cfg, false, need).is_none());
        let offer = esp_offer(&cfg, true, Some(DhGroup::Ecp256), 1);
        let (chosen, s, _) = esp_select(&offer, &cfg, true, need).unwrap();
        assert_eq!(s.dh, Some(DhGroup::Ecp256));
        assert!(s.esn);
        assert_eq!(
            esp_accept(&[chosen], &cfg, true, Some(DhGroup::Ecp256))
                .unwrap()
                .0,
            s
        );
        // A responder without PFS accepts the peer's group.
        let lax = PfsPolicy::Negotiate {
            ours: None,
            ke_group: Some(19),
        };
        assert_eq!(
            esp_select(&offer, &cfg, false, lax).unwrap().1.dh,
            Some(DhGroup::Ecp256)
        );
    }
}

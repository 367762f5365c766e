//! Negotiating a Child SA's parameters, shared by IKE_AUTH and CREATE_CHILD_SA: the
//! responder's choice (ESP proposal, transport or tunnel mode per RFC 7296 §1.3.1, traffic
//! selectors for host-to-host GRE with narrowing §2.9, PFS) and the initiator's check of
//! the answer, plus the payloads our requests carry.

use crate::config::Mode;
use crate::crypto::{ChildKeys, Dh, child_keys};
use crate::engine::IkeEngine;
use crate::msg::{Message, Payload, Ts, notify};
use crate::proposal::{self, EspSuite, PfsPolicy};
use crate::sa::SaId;
use dmvpn_crypto::keys::SecretBytes;

/// The responder's Child SA answer.
pub(crate) struct ChildOffer {
    /// SA (with our SPI), TSi, TSr and USE_TRANSPORT_MODE when agreed.
    pub(crate) payloads: Vec<Payload>,
    /// Our KE payload with PFS.
    pub(crate) ke: Option<Payload>,
    pub(crate) suite: EspSuite,
    pub(crate) mode: Mode,
    pub(crate) spi_in: u32,
    pub(crate) spi_out: u32,
    /// The PFS shared secret.
    pub(crate) g_ir: Option<SecretBytes>,
}

/// Why the responder refused: the error notify and its data.
pub(crate) type Refusal = (u16, Vec<u8>);

fn gre_ok(t: &Ts) -> bool {
    t.protocol == 0 || t.protocol == crate::msg::PROTO_GRE
}

impl IkeEngine {
    /// Our TSi/TSr and mode notify for a request on SA `id`.
    pub(crate) fn child_request_payloads(&self, id: SaId) -> Vec<Payload> {
        let Some(sa) = self.sas.get(&id) else {
            return Vec::new();
        };
        let mut v = vec![
            Payload::TsI(vec![Ts::gre_host(*sa.local.ip())]),
            Payload::TsR(vec![Ts::gre_host(sa.peer)]),
        ];
        if self.cfg.mode == Mode::Transport {
            v.push(Payload::Notify {
                protocol: 0,
                spi: Vec::new(),
                ntype: notify::USE_TRANSPORT_MODE,
                data: Vec::new(),
            });
        }
        v
    }

    /// Responder: choose the Child SA a request (IKE_AUTH or CREATE_CHILD_SA) asks for.
    pub(crate) fn child_responder(
        &mut self,
        id: SaId,
        msg: &Message,
        pfs: PfsPolicy,
    ) -> Result<ChildOffer, Refusal> {
        let no_proposal = (notify::NO_PROPOSAL_CHOSEN, Vec::new());
        let ts_bad = (notify::TS_UNACCEPTABLE, Vec::new());
        let sa = self.sas.get(&id).ok_or(no_proposal.clone())?;
        let offered = msg.sa().ok_or(no_proposal.clone())?;
        let (mut chosen, suite, spi_out) =
            proposal::esp_select(offered, &self.cfg.child_transforms, self.cfg.esn, pfs)
                .ok_or(no_proposal.clone())?;
        let wants_transport = msg.has_notify(notify::USE_TRANSPORT_MODE);
        let mode = if wants_transport && self.cfg.mode == Mode::Transport {
            Mode::Transport
        } else if self.cfg.mode == Mode::Transport && self.cfg.transport_require {
            return Err(no_proposal);
        } else {
            Mode::Tunnel
        };
        // Traffic selectors: the initiator's side must cover its address (behind a NAT, its
        // own private address: any single GRE host), ours must cover ours.
        let (tsi, tsr) = (
            msg.ts_i().ok_or(ts_bad.clone())?,
            msg.ts_r().ok_or(ts_bad.clone())?,
        );
        let want_i = Ts::gre_host(sa.peer);
        let want_r = Ts::gre_host(*sa.local.ip());
        let pick = |list: &[Ts], want: Ts, natted: bool| -> Option<Ts> {
            if list.iter().any(|t| t.contains(&want)) {
                return Some(want);
            }
            if natted {
                return list
                    .iter()
                    .find(|t| gre_ok(t) && t.start == t.end)
                    .map(|t| Ts::gre_host(t.start));
            }
            None
        };
        let ts_i = pick(tsi, want_i, sa.nat_remote).ok_or(ts_bad.clone())?;
        let ts_r = pick(tsr, want_r, sa.nat_local).ok_or(ts_bad)?;
        let (ke, g_ir) = match suite.dh {
            None => (None, None),
            Some(g) => {
                let invalid_ke = (
                    notify::INVALID_KE_PAYLOAD,
                    g.number().to_be_bytes().to_vec(),
                );
                let (kg, kd) = msg.ke().ok_or(invalid_ke.clone())?;
                if kg != g.number() {
                    return Err(invalid_ke);
                }
                let dh = Dh::new(g, self.rng.as_mut()).map_err(|_| no_proposal.clone())?;
                let public = dh.public();
                let s = dh
                    .agree(kd)
                    .map_err(|_| (notify::INVALID_SYNTAX, Vec::new()))?;
                (
                    Some(Payload::Ke {
                        group: g.number(),
                        data: public,
                    }),
                    Some(s),
                )
            }
        };
        let spi_in = self.new_esp_spi();
        chosen.spi = spi_in.to_be_bytes().to_vec();
        let mut payloads = vec![
            Payload::Sa(vec![chosen]),
            Payload::TsI(vec![ts_i]),
            Payload::TsR(vec![ts_r]),
        ];
        if mode == Mode::Transport {
            payloads.push(Payload::Notify {
                protocol: 0,
                spi: Vec::new(),
                ntype: notify::USE_TRANSPORT_MODE,
                data: Vec::new(),
            });
        }
        Ok(ChildOffer {
            payloads,
            ke,
            suite,
            mode,
            spi_in,
            spi_out,
            g_ir,
        })
    }

    /// Initiator: check the responder's Child SA answer. Returns the suite, the peer's SPI
    /// and the mode, or the reason to log.
    pub(crate) fn child_initiator_check(
        &self,
        msg: &Message,
        pfs: Option<dmvpn_crypto::DhGroup>,
    ) -> Option<(EspSuite, u32, Mode)> {
        let (suite, spi_out) =
            proposal::esp_accept(msg.sa()?, &self.cfg.child_transforms, self.cfg.esn, pfs)?;
        let mode = if self.cfg.mode == Mode::Transport && msg.has_notify(notify::USE_TRANSPORT_MODE)
        {
            Mode::Transport
        } else {
            Mode::Tunnel
        };
        if self.cfg.mode == Mode::Transport && self.cfg.transport_require && mode == Mode::Tunnel {
            return None;
        }
        if msg.ts_i().is_none_or(|t| t.is_empty()) || msg.ts_r().is_none_or(|t| t.is_empty()) {
            return None;
        }
        Some((suite, spi_out, mode))
    }

    /// Child SA keys from SA `id`'s SK_d.
    pub(crate) fn child_keys_for(
        &self,
        id: SaId,
        g_ir: Option<&SecretBytes>,
        ni: &[u8],
        nr: &[u8],
        suite: &EspSuite,
    ) -> Option<ChildKeys> {
        let k = self.sas.get(&id)?.keys.as_ref()?;
        child_keys(k.prf, &k.sk_d, g_ir, ni, nr, suite).ok()
    }
}

//! Cisco cleartext NHRP authentication (`ip nhrp authentication STRING`): the extension
//! payload is `u32 1` followed by the password (at most 8 bytes). It is checked on every
//! received packet and regenerated hop by hop, never copied (nhrp-interop.md §1.5.3).

use crate::config::{IfIndex, InterfaceConfig};
use crate::engine::Engine;
use crate::error::DropReason;
use crate::packet::{Message, PacketType};

/// The authentication payload this interface sends, if configured.
pub(crate) fn token(cfg: &InterfaceConfig) -> Option<Vec<u8>> {
    cfg.authentication.as_ref().map(|p| {
        let mut v = vec![0, 0, 0, 1];
        v.extend(p.as_bytes().iter().take(8));
        v
    })
}

/// RFC 2332 §5.3.4 with Cisco's format: when authentication is configured, a packet must carry
/// exactly our payload; without configuration, any (or no) authentication is accepted.
///
/// RFC 2332 §5.2.7 forbids extensions in an Error Indication, so one without an
/// authentication extension is accepted (it can only end our own pending request); one that
/// does carry authentication must carry ours.
pub(crate) fn authentic(cfg: &InterfaceConfig, m: &Message) -> bool {
    match token(cfg) {
        None => true,
        Some(_) if m.ptype == PacketType::ErrorIndication && m.ext.auth.is_none() => true,
        Some(t) => m.ext.auth.as_deref() == Some(t.as_slice()),
    }
}

impl Engine {
    pub(crate) fn check_auth(&self, i: IfIndex, m: &Message) -> Result<(), DropReason> {
        match self.ifaces.get(&i) {
            Some(ifc) if authentic(&ifc.cfg, m) => Ok(()),
            Some(_) => Err(DropReason::AuthenticationFailure),
            None => Err(DropReason::UnknownInterface),
        }
    }

    /// Set our authentication on an outgoing message (replacing whatever it carried).
    pub(crate) fn stamp_auth(&self, i: IfIndex, m: &mut Message) {
        m.ext.auth = self.ifaces.get(&i).and_then(|f| token(&f.cfg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn cisco_cleartext_token_and_check() {
        let mut cfg = InterfaceConfig::new(
            1,
            "Tunnel0",
            Ipv4Addr::new(10, 0, 0, 1),
            24,
            Ipv4Addr::new(1, 1, 1, 1),
        );
        let a = Ipv4Addr::new(1, 1, 1, 1);
        let mut m = Message::new(PacketType::ResolutionRequest, 1, a, a, a);
        assert!(authentic(&cfg, &m));
        cfg.authentication = Some("test123".into());
        assert_eq!(token(&cfg).as_deref(), Some(&b"\0\0\0\x01test123"[..]));
        assert!(!authentic(&cfg, &m));
        m.ext.auth = Some(b"\0\0\0\x01wrong".to_vec());
        assert!(!authentic(&cfg, &m));
        m.ext.auth = token(&cfg);
        assert!(authentic(&cfg, &m));
        let mut e = Message::new(PacketType::ErrorIndication, 1, a, a, a);
        assert!(authentic(&cfg, &e), "Error Indications carry no extensions");
        e.ext.auth = Some(b"\0\0\0\x01wrong".to_vec());
        assert!(!authentic(&cfg, &e));
    }
}

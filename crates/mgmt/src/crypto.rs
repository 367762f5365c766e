//! IPsec snapshots and their Cisco layouts: `show crypto ikev2 sa [detail]`,
//! `show crypto ipsec sa [peer ADDR]` and `show crypto session [detail]`, plus the request
//! types of those commands and of `clear crypto session [remote ADDR]`.
//!
//! The daemon fills the snapshots from each protected tunnel's IKE engine and ESP table.
//! Field names are snake_case and, like every other snapshot's, a contract: later versions
//! add fields, never rename them (docs/cli.md). Layouts follow IOS-XE's output; what dmvpn
//! does not have (VRFs, compression, AH, crypto map tags) is printed as IOS prints it when
//! unused, so that scripts written for IOS find their lines.

use std::fmt::Write as _;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::render::Out;
use crate::time::ios_duration;

/// `show crypto ikev2 sa [detail]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowCryptoIkev2Sa {
    /// Detail form.
    #[serde(default)]
    pub detail: bool,
}

/// `show crypto ipsec sa [peer ADDR]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowCryptoIpsecSa {
    /// Only this peer (NBMA address).
    #[serde(default)]
    pub peer: Option<IpAddr>,
}

/// `show crypto session [detail]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShowCryptoSession {
    /// Detail form (uptime, identities, packet counters).
    #[serde(default)]
    pub detail: bool,
}

/// `clear crypto session [remote ADDR]` / `clear crypto ikev2 sa [remote ADDR]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClearCryptoSession {
    /// Only this peer (NBMA address).
    #[serde(default)]
    pub remote: Option<IpAddr>,
}

/// The state of an IKE SA, as IOS prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IkeSaStatus {
    /// Established (`READY`).
    Ready,
    /// Negotiating (`IN-NEG`).
    InNeg,
    /// Being deleted or replaced (`DELETE`).
    Delete,
}

impl IkeSaStatus {
    /// IOS spelling.
    pub fn as_ios(self) -> &'static str {
        match self {
            IkeSaStatus::Ready => "READY",
            IkeSaStatus::InNeg => "IN-NEG",
            IkeSaStatus::Delete => "DELETE",
        }
    }
}

/// One IKE SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IkeSaEntry {
    /// The tunnel interface (`Tunnel0`).
    pub tunnel: String,
    /// A per-node number for the SA (IOS's `Tunnel-id` column / `connid`).
    pub id: u32,
    /// Our address.
    pub local: IpAddr,
    /// Our UDP port (500, or 4500 after a NAT was detected).
    pub local_port: u16,
    /// The peer's address.
    pub remote: IpAddr,
    /// The peer's UDP port (4500, or what its NAT made of it).
    pub remote_port: u16,
    /// State.
    pub status: IkeSaStatus,
    /// Cipher family (`AES-GCM`, `AES-CBC`), `None` while negotiating.
    pub encryption: Option<String>,
    /// Key size in bits.
    pub key_size: Option<u16>,
    /// PRF (`SHA256`, …).
    pub prf: Option<String>,
    /// Integrity (`SHA256`, …; `None` with AES-GCM).
    pub integrity: Option<String>,
    /// DH group number.
    pub dh_group: Option<u16>,
    /// How we authenticate (`PSK`).
    pub auth_sign: String,
    /// How the peer authenticates (`PSK`).
    pub auth_verify: String,
    /// Configured lifetime in seconds.
    pub lifetime_secs: u64,
    /// Seconds since it was established (or created, while negotiating).
    pub active_secs: u64,
    /// Our SPI.
    pub spi_local: u64,
    /// The peer's SPI (0 until it answered).
    pub spi_remote: u64,
    /// Whether we initiated it.
    pub initiator: bool,
    /// A NAT is on the path (IKE and ESP on UDP 4500).
    pub nat_t: bool,
    /// The peer's authenticated identity.
    pub remote_id: Option<String>,
    /// Child SAs under it.
    pub child_sas: usize,
}

/// IKE counters of one protected tunnel (for metrics and `detail`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IkeTunnelCounters {
    /// The tunnel interface.
    pub tunnel: String,
    /// The IPsec profile protecting it.
    pub profile: String,
    /// IKE SAs that came up.
    pub sas_up: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// Child SA rekeys.
    pub child_rekeys: u64,
    /// Authentication failures (either side's verdict).
    pub auth_failures: u64,
    /// Other failed negotiations (no proposal, unanswered, traffic selectors).
    pub negotiation_failures: u64,
    /// Child SAs the data plane refused.
    pub install_failures: u64,
    /// New IKE SAs refused by call admission (`crypto ikev2 limit max-sa`).
    #[serde(default)]
    pub admission_refused: u64,
}

/// Answer to `show crypto ikev2 sa`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IkeSaReport {
    /// Every IKE SA.
    pub sas: Vec<IkeSaEntry>,
    /// Per protected tunnel counters.
    pub tunnels: Vec<IkeTunnelCounters>,
}

/// One Child SA pair (both directions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpsecSaPair {
    /// Inbound SPI (ours).
    pub spi_in: u32,
    /// Outbound SPI (the peer's).
    pub spi_out: u32,
    /// IOS transform words (`esp-gcm 256`, `esp-256-aes esp-sha256-hmac`).
    pub transform: String,
    /// `Transport` or `Tunnel`.
    pub mode: String,
    /// Whether outbound traffic uses this pair (else it is an older pair finishing a rekey).
    pub active: bool,
    /// Kilobytes left before the hard volume limit.
    pub remaining_kb: Option<u64>,
    /// Seconds left before the hard lifetime.
    pub remaining_secs: Option<u64>,
    /// Anti-replay window in packets.
    pub replay_window: u32,
    /// Extended sequence numbers.
    pub esn: bool,
    /// The peer's UDP port when ESP is UDP-encapsulated (NAT).
    pub udp_encap_port: Option<u16>,
}

/// ESP packet counters of one peer (over all its pairs), with IOS's names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpsecCounters {
    /// `#pkts encaps`.
    pub pkts_encaps: u64,
    /// `#pkts encrypt`.
    pub pkts_encrypt: u64,
    /// `#pkts digest`.
    pub pkts_digest: u64,
    /// `#pkts decaps`.
    pub pkts_decaps: u64,
    /// `#pkts decrypt`.
    pub pkts_decrypt: u64,
    /// `#pkts verify`.
    pub pkts_verify: u64,
    /// Payload bytes protected.
    pub bytes_encaps: u64,
    /// Payload bytes accepted.
    pub bytes_decaps: u64,
    /// `#send errors`.
    pub send_errors: u64,
    /// `#recv errors`.
    pub recv_errors: u64,
    /// `#pkts replay failed (rcv)`.
    pub replay_failures: u64,
    /// `#pkts verify failed`: authentication (ICV) failures.
    pub auth_failures: u64,
}

/// The SAs with one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpsecPeer {
    /// The tunnel interface.
    pub tunnel: String,
    /// Our NBMA address.
    pub local: IpAddr,
    /// The peer's NBMA address.
    pub remote: IpAddr,
    /// The peer's IKE port (`current_peer … port N`).
    pub remote_port: u16,
    /// The outbound SPI in use, if any.
    pub current_outbound_spi: Option<u32>,
    /// PFS group for rekeys (`None`: no PFS).
    pub pfs_group: Option<u16>,
    /// Counters.
    pub counters: IpsecCounters,
    /// The pairs, oldest first.
    pub sas: Vec<IpsecSaPair>,
}

/// Answer to `show crypto ipsec sa`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IpsecSaReport {
    /// Per peer.
    pub peers: Vec<IpsecPeer>,
    /// ESP with an SPI nobody knows (`#pkts invalid sa (rcv)`), over all tunnels.
    pub invalid_spi: u64,
    /// Packets to a protected peer without an SA (held or dropped, never sent in clear).
    pub no_sa: u64,
    /// Cleartext GRE refused from protected peers.
    pub cleartext_refused: u64,
}

/// The status of one crypto session, as IOS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// IKE SA and Child SAs up (`UP-ACTIVE`).
    UpActive,
    /// Child SAs up without an IKE SA (`UP-NO-IKE`).
    UpNoIke,
    /// IKE up, no Child SA yet (`UP-IDLE`).
    UpIdle,
    /// Negotiating (`DOWN-NEGOTIATING`).
    DownNegotiating,
    /// Nothing (`DOWN`).
    Down,
}

impl SessionStatus {
    /// IOS spelling.
    pub fn as_ios(self) -> &'static str {
        match self {
            SessionStatus::UpActive => "UP-ACTIVE",
            SessionStatus::UpNoIke => "UP-NO-IKE",
            SessionStatus::UpIdle => "UP-IDLE",
            SessionStatus::DownNegotiating => "DOWN-NEGOTIATING",
            SessionStatus::Down => "DOWN",
        }
    }
}

/// One direction's line of `show crypto session detail`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionDirection {
    /// Packets encrypted (outbound) or decrypted (inbound).
    pub packets: u64,
    /// Packets dropped.
    pub dropped: u64,
    /// Kilobytes left on the active pair.
    pub remaining_kb: Option<u64>,
    /// Seconds left on the active pair.
    pub remaining_secs: Option<u64>,
}

/// One peer's crypto session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CryptoSession {
    /// The tunnel interface.
    pub tunnel: String,
    /// The IKEv2 profile.
    pub profile: String,
    /// Status.
    pub status: SessionStatus,
    /// Our NBMA address.
    pub local: IpAddr,
    /// The peer's NBMA address.
    pub peer: IpAddr,
    /// The peer's IKE port.
    pub peer_port: u16,
    /// Our IKE port.
    pub local_port: u16,
    /// The IKE SA's number (`connid`), when there is one.
    pub ike_id: Option<u32>,
    /// Whether the IKE SA is established.
    pub ike_active: bool,
    /// Seconds left of the IKE SA's lifetime.
    pub ike_remaining_secs: Option<u64>,
    /// The peer's identity.
    pub remote_id: Option<String>,
    /// NAT on the path.
    pub nat_t: bool,
    /// Seconds since the session came up.
    pub uptime_secs: Option<u64>,
    /// ESP SAs (two per pair).
    pub active_sas: usize,
    /// Inbound counters.
    pub inbound: SessionDirection,
    /// Outbound counters.
    pub outbound: SessionDirection,
}

/// Answer to `show crypto session`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CryptoSessionReport {
    /// Per peer, per tunnel.
    pub sessions: Vec<CryptoSession>,
}

fn hex_spi(spi: u32) -> String {
    format!("0x{spi:08X}({spi})")
}

fn hms(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// `show crypto ikev2 sa [detail]`.
pub fn ikev2_sa(r: &IkeSaReport, detail: bool) -> String {
    let mut o = Out::default();
    o.line(" IPv4 Crypto IKEv2  SA");
    o.blank();
    for sa in &r.sas {
        o.line(format!(
            "{:<9} {:<21} {:<21} {:<20} {}",
            "Tunnel-id", "Local", "Remote", "fvrf/ivrf", "Status"
        ));
        o.line(format!(
            "{:<9} {:<21} {:<21} {:<20} {}",
            sa.id,
            format!("{}/{}", sa.local, sa.local_port),
            format!("{}/{}", sa.remote, sa.remote_port),
            "none/none",
            sa.status.as_ios()
        ));
        o.line(format!(
            "      Encr: {}, keysize: {}, PRF: {}, Hash: {}, DH Grp:{}, Auth sign: {}, Auth verify: {}",
            sa.encryption.as_deref().unwrap_or("Unknown"),
            sa.key_size.map_or("0".to_string(), |k| k.to_string()),
            sa.prf.as_deref().unwrap_or("Unknown"),
            sa.integrity.as_deref().unwrap_or("None"),
            sa.dh_group.map_or("0".to_string(), |g| g.to_string()),
            sa.auth_sign,
            sa.auth_verify
        ));
        o.line(format!(
            "      Life/Active Time: {}/{} sec",
            sa.lifetime_secs, sa.active_secs
        ));
        if detail {
            o.line(format!("      CE id: {}, Session-id: {}", sa.id, sa.id));
            o.line(format!(
                "      Status Description: {}",
                match sa.status {
                    IkeSaStatus::Ready => "Negotiation done",
                    IkeSaStatus::InNeg => "Negotiation in progress",
                    IkeSaStatus::Delete => "Deleting",
                }
            ));
            let (ours, theirs) = (sa.spi_local, sa.spi_remote);
            o.line(format!(
                "      Local spi: {ours:016X}       Remote spi: {theirs:016X}"
            ));
            o.line(format!("      Local id: {}", sa.local));
            o.line(format!(
                "      Remote id: {}",
                sa.remote_id.as_deref().unwrap_or("(none)")
            ));
            o.line(format!("      Child sa count: {}", sa.child_sas));
            o.line(format!(
                "      NAT-T is {}",
                if sa.nat_t { "detected" } else { "not detected" }
            ));
            o.line(format!(
                "      Initiator of SA : {}",
                if sa.initiator { "Yes" } else { "No" }
            ));
        }
        o.blank();
    }
    if detail {
        for t in &r.tunnels {
            o.line(format!(
                "{} (profile {}): {} SAs up, {} IKE rekeys, {} Child rekeys, {} authentication failures, {} failed negotiations, {} refused by call admission",
                t.tunnel,
                t.profile,
                t.sas_up,
                t.ike_rekeys,
                t.child_rekeys,
                t.auth_failures,
                t.negotiation_failures,
                t.admission_refused
            ));
        }
    }
    o.0
}

fn sa_block(o: &mut Out, pairs: &[IpsecSaPair], inbound: bool) {
    for p in pairs {
        let spi = if inbound { p.spi_in } else { p.spi_out };
        o.line(format!("      spi: {}", hex_spi(spi)));
        o.line(format!("        transform: {} ,", p.transform));
        let encap = if p.udp_encap_port.is_some() {
            format!("{}-UDP-Encaps, ", p.mode)
        } else {
            format!("{}, ", p.mode)
        };
        o.line(format!("        in use settings ={{{encap}}}"));
        o.line(format!(
            "        sa timing: remaining key lifetime (k/sec): ({}/{})",
            p.remaining_kb.map_or("-".to_string(), |k| k.to_string()),
            p.remaining_secs.map_or("-".to_string(), |s| s.to_string())
        ));
        if inbound {
            o.line("        replay detection support: Y");
            o.line(format!("        replay window size: {}", p.replay_window));
        }
        o.line(format!(
            "        Status: {}",
            if p.active {
                "ACTIVE(ACTIVE)"
            } else {
                "ACTIVE(REKEYED)"
            }
        ));
        o.blank();
    }
}

/// `show crypto ipsec sa [peer ADDR]`.
pub fn ipsec_sa(r: &IpsecSaReport) -> String {
    let mut o = Out::default();
    let mut last_tunnel: Option<&str> = None;
    for p in &r.peers {
        if last_tunnel != Some(p.tunnel.as_str()) {
            o.blank();
            o.line(format!("interface: {}", p.tunnel));
            o.line(format!(
                "    Crypto map tag: {}-head-0, local addr {}",
                p.tunnel, p.local
            ));
            last_tunnel = Some(p.tunnel.as_str());
        }
        let c = &p.counters;
        o.blank();
        o.line("   protected vrf: (none)");
        o.line(format!(
            "   local  ident (addr/mask/prot/port): ({}/255.255.255.255/47/0)",
            p.local
        ));
        o.line(format!(
            "   remote ident (addr/mask/prot/port): ({}/255.255.255.255/47/0)",
            p.remote
        ));
        o.line(format!(
            "   current_peer {} port {}",
            p.remote, p.remote_port
        ));
        o.line("     PERMIT, flags={origin_is_acl,}");
        o.line(format!(
            "    #pkts encaps: {}, #pkts encrypt: {}, #pkts digest: {}",
            c.pkts_encaps, c.pkts_encrypt, c.pkts_digest
        ));
        o.line(format!(
            "    #pkts decaps: {}, #pkts decrypt: {}, #pkts verify: {}",
            c.pkts_decaps, c.pkts_decrypt, c.pkts_verify
        ));
        o.line("    #pkts compressed: 0, #pkts decompressed: 0");
        o.line("    #pkts not compressed: 0, #pkts compr. failed: 0");
        o.line("    #pkts not decompressed: 0, #pkts decompress failed: 0");
        o.line(format!(
            "    #send errors {}, #recv errors {}",
            c.send_errors, c.recv_errors
        ));
        o.line(format!(
            "    #pkts replay failed (rcv): {}, #pkts verify failed: {}",
            c.replay_failures, c.auth_failures
        ));
        o.blank();
        o.line(format!(
            "     local crypto endpt.: {}, remote crypto endpt.: {}",
            p.local, p.remote
        ));
        o.line(format!(
            "     current outbound spi: {}",
            p.current_outbound_spi.map_or("0x0(0)".to_string(), hex_spi)
        ));
        o.line(format!(
            "     PFS (Y/N): {}, DH group: {}",
            if p.pfs_group.is_some() { "Y" } else { "N" },
            p.pfs_group
                .map_or("none".to_string(), |g| format!("group{g}"))
        ));
        o.blank();
        o.line("     inbound esp sas:");
        sa_block(&mut o, &p.sas, true);
        o.line("     inbound ah sas:");
        o.blank();
        o.line("     inbound pcp sas:");
        o.blank();
        o.line("     outbound esp sas:");
        sa_block(&mut o, &p.sas, false);
        o.line("     outbound ah sas:");
        o.blank();
        o.line("     outbound pcp sas:");
    }
    if r.peers.is_empty() {
        o.line("No IPsec SAs.");
    }
    o.0
}

/// `show crypto session [detail]`.
pub fn crypto_session(r: &CryptoSessionReport, detail: bool) -> String {
    let mut o = Out::default();
    o.line("Crypto session current status");
    o.blank();
    for s in &r.sessions {
        o.line(format!("Interface: {}", s.tunnel));
        o.line(format!("Profile: {}", s.profile));
        if detail && let Some(up) = s.uptime_secs {
            o.line(format!("Uptime: {}", ios_duration(up)));
        }
        o.line(format!("Session status: {}", s.status.as_ios()));
        if detail {
            o.line(format!(
                "Peer: {} port {} fvrf: (none) ivrf: (none)",
                s.peer, s.peer_port
            ));
            o.line(format!(
                "      Phase1_id: {}",
                s.remote_id.as_deref().unwrap_or("(none)")
            ));
            o.line("      Desc: (none)");
        } else {
            o.line(format!("Peer: {} port {}", s.peer, s.peer_port));
        }
        if let Some(id) = s.ike_id {
            o.line(format!("  Session ID: {id}"));
            o.line(format!(
                "  IKEv2 SA: local {}/{} remote {}/{} {}",
                s.local,
                s.local_port,
                s.peer,
                s.peer_port,
                if s.ike_active { "Active" } else { "Inactive" }
            ));
            if detail {
                o.line(format!(
                    "          Capabilities:{} connid:{id} lifetime:{}",
                    if s.nat_t { "N" } else { "(none)" },
                    s.ike_remaining_secs.map_or("-".to_string(), hms)
                ));
            }
        }
        o.line(format!(
            "  IPSEC FLOW: permit 47 host {} host {}",
            s.local, s.peer
        ));
        o.line(format!(
            "        Active SAs: {}, origin: crypto map",
            s.active_sas
        ));
        if detail {
            let life = |d: &SessionDirection| {
                format!(
                    "{}/{}",
                    d.remaining_kb.map_or("-".to_string(), |k| k.to_string()),
                    d.remaining_secs.map_or("-".to_string(), |k| k.to_string())
                )
            };
            o.line(format!(
                "        Inbound:  #pkts dec'ed {} drop {} life (KB/Sec) {}",
                s.inbound.packets,
                s.inbound.dropped,
                life(&s.inbound)
            ));
            o.line(format!(
                "        Outbound: #pkts enc'ed {} drop {} life (KB/Sec) {}",
                s.outbound.packets,
                s.outbound.dropped,
                life(&s.outbound)
            ));
        }
        o.blank();
    }
    o.0
}

/// The crypto lines `show dmvpn detail` prints under a protected peer (seed 001), from
/// that peer's session.
pub fn dmvpn_detail_lines(s: &CryptoSession) -> String {
    let mut t = String::new();
    if let Some(id) = s.ike_id {
        let _ = writeln!(
            t,
            "IKE SA: local {}/{} remote {}/{} {}",
            s.local,
            s.local_port,
            s.peer,
            s.peer_port,
            if s.ike_active { "Active" } else { "Inactive" }
        );
        let _ = writeln!(
            t,
            "      Capabilities:{} connid:{id} lifetime:{}",
            if s.nat_t { "N" } else { "(none)" },
            s.ike_remaining_secs.map_or("-".to_string(), hms)
        );
    }
    let _ = writeln!(t, "Crypto Session Status: {}", s.status.as_ios());
    let _ = writeln!(t, "fvrf: (none)");
    let _ = writeln!(t, "IPSEC FLOW: permit 47 host {} host {}", s.local, s.peer);
    let _ = writeln!(t, "      Active SAs: {}, origin: crypto map", s.active_sas);
    let life = |d: &SessionDirection| {
        format!(
            "{}/{}",
            d.remaining_kb.map_or("-".to_string(), |k| k.to_string()),
            d.remaining_secs.map_or("-".to_string(), |k| k.to_string())
        )
    };
    let _ = writeln!(
        t,
        "      Inbound: #pkts dec'ed {} drop {} life (KB/Sec) {}",
        s.inbound.packets,
        s.inbound.dropped,
        life(&s.inbound)
    );
    let _ = writeln!(
        t,
        "      Outbound: #pkts enc'ed {} drop {} life (KB/Sec) {}",
        s.outbound.packets,
        s.outbound.dropped,
        life(&s.outbound)
    );
    let _ = writeln!(
        t,
        "      Socket State: {}",
        if s.active_sas > 0 { "Open" } else { "Closed" }
    );
    t
}

#[cfg(test)]
#[path = "crypto_tests.rs"]
mod tests;

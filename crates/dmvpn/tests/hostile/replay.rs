//! Replays one hostile input through the engine that meets it in a router and checks the
//! answer: a typed error and a counter (or an Error Indication for NHRP where RFC 2332 asks
//! for one). Each input gets fresh engines, so inputs do not depend on each other.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{Encryption, SeededRandom};
use dmvpn_esp::{EspProtection, LifetimeLimits, Mode, SaPair, SaSpec};
use dmvpn_forwarding::SendOutcome;
use dmvpn_forwarding::transport::{Protection, Underlay};
use dmvpn_forwarding::{Forwarder, ForwarderConfig, ForwardingTables, PacketBuf, Sink};
use dmvpn_ike::{Authenticator, IkeConfig, IkeEngine, IkeEvent, Keyring, KeyringEntry, Output};
use dmvpn_nhrp::{Action, Engine, EngineConfig, Event, Instant, InterfaceConfig};

use super::generate::{GRE_KEY, PASSWORD};

/// Replays `bytes` (a `kind` input called `name`); `Err` says what was wrong.
pub fn replay(kind: &str, name: &str, bytes: &[u8]) -> Result<(), String> {
    match kind {
        "nhrp" => nhrp(name, bytes),
        "gre" => gre(bytes),
        "ike" => ike(bytes),
        "esp" => esp(bytes),
        "pcap" => pcap(bytes),
        "config" => config(bytes),
        other => Err(format!("unknown kind {other}")),
    }
}

const HUB_NBMA: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
const SPOKE_NBMA: Ipv4Addr = Ipv4Addr::new(172, 16, 2, 1);

fn nhrp(name: &str, bytes: &[u8]) -> Result<(), String> {
    let mut c = InterfaceConfig::new(1, "Tunnel0", Ipv4Addr::new(10, 0, 0, 1), 24, HUB_NBMA);
    c.authentication = Some(String::from_utf8_lossy(PASSWORD).into_owned());
    let mut e = Engine::new(
        EngineConfig {
            interfaces: vec![c],
        },
        1,
    )
    .map_err(|e| e.to_string())?;
    let t0 = Instant::from_secs(1);
    e.handle_timeout(t0);
    while e.poll_action().is_some() {}
    e.handle_packet(t0, 1, SPOKE_NBMA, bytes);
    let mut error_sent = false;
    let mut registered = false;
    while let Some(a) = e.poll_action() {
        match a {
            Action::Event(Event::ErrorSent { .. }) => error_sent = true,
            Action::Event(Event::ClientRegistered { .. }) => registered = true,
            _ => {}
        }
    }
    let t = e.traffic(1).ok_or("no traffic counters")?;
    let drops: u64 = t.drops.values().sum();
    if registered {
        return Err("a malformed registration was accepted".into());
    }
    if name.starts_with("ei-") && !error_sent {
        return Err(format!("no Error Indication (drops {:?})", t.drops));
    }
    if drops == 0 && !error_sent {
        return Err("neither a drop counter nor an Error Indication".into());
    }
    if name.starts_with("type-") && t.rcvd.other != 1 {
        return Err(format!(
            "an unknown type not counted as other: {:?}",
            t.rcvd
        ));
    }
    Ok(())
}

#[derive(Default)]
struct Rec {
    nhrp: usize,
}

impl Sink for Rec {
    fn send(&mut self, _: Ipv4Addr, _: u8, _: &mut PacketBuf) -> SendOutcome {
        SendOutcome::Sent
    }
    fn event(&mut self, event: dmvpn_forwarding::Event) -> bool {
        if matches!(event, dmvpn_forwarding::Event::Nhrp { .. }) {
            self.nhrp += 1;
        }
        true
    }
}

fn gre(bytes: &[u8]) -> Result<(), String> {
    let tables =
        ForwardingTables::new(Ipv4Addr::new(10, 0, 0, 1), 24, None).map_err(|e| e.to_string())?;
    let mut cfg = ForwarderConfig::new();
    cfg.key = Some(GRE_KEY);
    let f = Forwarder::new(cfg, Arc::new(tables));
    let mut buf = PacketBuf::with_capacity(bytes.len().max(1));
    buf.set(bytes).map_err(|e| format!("{e:?}"))?;
    let mut rec = Rec::default();
    if f.from_nbma(SPOKE_NBMA, &mut buf, Duration::ZERO, &mut rec)
        .is_some()
    {
        return Err("delivered to the TUN device".into());
    }
    if rec.nhrp > 0 {
        return Err("handed to NHRP".into());
    }
    let d = f.counters().drops();
    let counted = d.gre_malformed + d.key_mismatch + d.unknown_protocol + d.wrong_source;
    if counted == 0 {
        return Err(format!("no drop counted: {d:?}"));
    }
    let causes = d.gre_truncated
        + d.gre_bad_version
        + d.gre_bad_flags
        + d.gre_bad_checksum
        + d.inner_malformed;
    if d.gre_malformed != causes {
        return Err(format!("malformed not broken down by cause: {d:?}"));
    }
    Ok(())
}

fn ike(bytes: &[u8]) -> Result<(), String> {
    let mut k = Keyring::default();
    k.push(KeyringEntry::new(Ipv4Addr::UNSPECIFIED, 0, b"test").map_err(|e| e.to_string())?);
    let c = IkeConfig::new(Authenticator::Psk(k));
    let mut e = IkeEngine::new(c, Box::new(SeededRandom::new(7))).map_err(|e| format!("{e:?}"))?;
    let local = SocketAddrV4::new(HUB_NBMA, 500);
    let remote = SocketAddrV4::new(SPOKE_NBMA, 500);
    e.handle_datagram(Duration::from_secs(1), local, remote, bytes);
    let (mut dropped, mut answered) = (0, 0);
    while let Some(o) = e.poll_output() {
        match o {
            Output::Event(IkeEvent::Dropped { .. }) => dropped += 1,
            Output::Send { .. } => answered += 1,
            Output::InstallChild(_) => return Err("a Child SA was installed".into()),
            _ => {}
        }
    }
    if e.sas()
        .iter()
        .any(|s| s.state == dmvpn_ike::SaState::Established)
    {
        return Err("an IKE SA was established".into());
    }
    if dropped + answered == 0 {
        return Err("neither dropped (with a reason) nor answered".into());
    }
    Ok(())
}

fn key(len: usize, tag: u8) -> SecretBytes {
    SecretBytes::new((0..len).map(|i| (i as u8) ^ tag).collect())
}

/// The replaying SA pair (AES-GCM-128, transport, inbound SPI 0x1000), or the peer's
/// mirror of it (`mirrored`), which seals the generated packets.
pub fn esp_spec(mirrored: bool) -> SaSpec {
    let encryption = Encryption::AesGcm16 { key_bits: 128 };
    let (ki, ko) = if mirrored { (3, 1) } else { (1, 3) };
    let (spi_in, spi_out) = if mirrored {
        (0x2000, 0x1000)
    } else {
        (0x1000, 0x2000)
    };
    SaSpec {
        peer: if mirrored { HUB_NBMA } else { SPOKE_NBMA },
        local: if mirrored { SPOKE_NBMA } else { HUB_NBMA },
        spi_in,
        spi_out,
        encryption,
        integrity: None,
        enc_key_in: key(encryption.keymat_len(), ki),
        integ_key_in: key(0, ki + 1),
        enc_key_out: key(encryption.keymat_len(), ko),
        integ_key_out: key(0, ko + 1),
        mode: Mode::Transport,
        esn: false,
        limits: LifetimeLimits::default(),
        replay_window: 64,
        nat_t: None,
    }
}

/// Through the SA table a router uses (`EspProtection`): the SPI lookup, then the SA.
fn esp(bytes: &[u8]) -> Result<(), String> {
    let pair = SaPair::new(&esp_spec(false), Duration::ZERO).map_err(|e| format!("{e:?}"))?;
    let prot = EspProtection::new(HUB_NBMA, Box::new(SeededRandom::new(1)));
    prot.install(pair).map_err(|e| format!("{e:?}"))?;
    let mut buf = PacketBuf::with_capacity(bytes.len().max(1));
    buf.set(bytes).map_err(|e| format!("{e:?}"))?;
    match prot.unprotect(SPOKE_NBMA, Underlay::Esp, &mut buf) {
        Ok(_) => Err("decapsulated".into()),
        Err(err) => {
            let t = prot.stats();
            let sa: u64 = prot
                .snapshot(Duration::ZERO)
                .iter()
                .map(|s| {
                    let c = &s.counters;
                    c.recv_errors + c.auth_failures + c.replay_failures
                })
                .sum();
            if t.invalid_spi + t.malformed + t.no_sa + sa == 0 {
                return Err(format!("{err}: no error counter: {t:?}"));
            }
            Ok(())
        }
    }
}

fn pcap(bytes: &[u8]) -> Result<(), String> {
    let frames = match dmvpn_capture::NhrpFrames::from_bytes(bytes) {
        Ok(f) => f,
        Err(_typed) => return Ok(()),
    };
    let bound = bytes.len() / 12 + 2;
    let mut errors = 0;
    for (n, item) in frames.enumerate() {
        if n > bound {
            return Err("more frames than the input can hold".into());
        }
        if item.is_err() {
            errors += 1;
        }
    }
    if errors == 0 {
        return Err("read without an error".into());
    }
    Ok(())
}

fn config(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let parsed = dmvpn_config::parse(&text);
    if !parsed.has_errors() {
        return Err("parsed without an error".into());
    }
    Ok(())
}

//! Real ESP traffic from tcpdump's test suite (files and provenance in
//! `tests/data/README.md`), read with dmvpn-capture's pcap reader and compared with
//! tcpdump's own decode of the same captures (`tests/data/*.out`).
//!
//! * `08-sunrise-sunset-aes.pcap` (AES-256-CBC, tunnel mode): every packet is decrypted
//!   with the key from tcpdump's `esp-secrets.txt` and the inner packet compared with
//!   tcpdump's decode (`esp5.out`: inner addresses, ICMP echo request id, sequence and
//!   length). The secrets carry no integrity key (tcpdump skips the 12-byte "hmac96" ICV
//!   unchecked) and our SA has no integrity-free path, so the decryption is done with
//!   aws-lc-rs AES-CBC directly and our [`Trailer`] parser; then the captured packets, with
//!   their ICV replaced by an HMAC-SHA1-96 under a key of this test, are opened by our
//!   [`InboundSa`](dmvpn_esp::InboundSa): real third-party ciphertext through our SA.
//! * `02-sunrise-sunset-esp.pcap` and `espudp1.pcap` (ESP in UDP 4500) use 3DES, which this
//!   project refuses by design (RFC 8221): their headers are checked against tcpdump's
//!   decode and the packets are counted as skipped, not decrypted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::Ipv4Addr;
use std::time::Duration;

use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::{cipher as raw, hmac};
use dmvpn_capture::{CaptureReader, LinkType};
use dmvpn_crypto::algorithm::refused_keyword;
use dmvpn_crypto::keys::SecretBytes;
use dmvpn_crypto::{Encryption, Integrity};
use dmvpn_esp::wire::{EspPacket, Trailer};
use dmvpn_esp::{EspError, LifetimeLimits, Mode, Opened, SaPair, SaSpec};
use dmvpn_forwarding::buf::PacketBuf;

const AES_PCAP: &[u8] = include_bytes!("data/08-sunrise-sunset-aes.pcap");
const AES_OUT: &str = include_str!("data/esp5.out");
const TDES_PCAP: &[u8] = include_bytes!("data/02-sunrise-sunset-esp.pcap");
const TDES_OUT: &str = include_str!("data/esp1.out");
const TDES_PLAIN_OUT: &str = include_str!("data/esp0.out");
const UDP_PCAP: &[u8] = include_bytes!("data/espudp1.pcap");
const UDP_OUT: &str = include_str!("data/espudp1.out");
const SECRETS: &str = include_str!("data/esp-secrets.txt");

/// IP protocol numbers.
const ESP: u8 = 50;
const UDP: u8 = 17;
const ICMP: u8 = 1;
/// IANA port for IKE and ESP in UDP (RFC 3948).
const NAT_T_PORT: u16 = 4500;

/// One line of tcpdump's output for an ESP packet.
#[derive(Debug, PartialEq)]
struct Decode {
    frame: u64,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    spi: u32,
    seq: u32,
    esp_len: usize,
    /// The decrypted ICMP echo request, when tcpdump could decrypt it.
    inner: Option<Echo>,
}

/// `IP a > b: ICMP echo request, id I, seq S, length L` as tcpdump prints it (id and seq
/// as 16-bit numbers read in network byte order).
#[derive(Debug, PartialEq)]
struct Echo {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    id: u16,
    seq: u16,
    len: usize,
}

/// An address as tcpdump prints it, with or without a `.port` suffix.
fn addr(s: &str) -> Ipv4Addr {
    let parts: Vec<&str> = s.trim_end_matches(':').split('.').collect();
    parts[..4].join(".").parse().unwrap()
}

fn after<'a>(s: &'a str, marker: &str) -> &'a str {
    let at = s
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {s}"));
    &s[at + marker.len()..]
}

fn parse_decodes(out: &str) -> Vec<Decode> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let frame = line.split_whitespace().next().unwrap().parse().unwrap();
            let ip = after(line, " IP ");
            let words: Vec<&str> = ip.split_whitespace().collect();
            let esp = after(line, "ESP(spi=0x");
            let (spi, rest) = esp.split_once(",seq=0x").unwrap();
            let (seq, rest) = rest.split_once("), length ").unwrap();
            let esp_len: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let inner = rest.split_once(": IP ").map(|(_, inner)| {
                let w: Vec<&str> = inner.split_whitespace().collect();
                // a > b: ICMP echo request, id I, seq S, length L
                assert_eq!(&w[3..7], ["ICMP", "echo", "request,", "id"], "{line}");
                assert_eq!((w[8], w[10]), ("seq", "length"), "{line}");
                Echo {
                    src: addr(w[0]),
                    dst: addr(w[2]),
                    id: w[7].trim_end_matches(',').parse().unwrap(),
                    seq: w[9].trim_end_matches(',').parse().unwrap(),
                    len: w[11].parse().unwrap(),
                }
            });
            Decode {
                frame,
                src: addr(words[0]),
                dst: addr(words[2]),
                spi: u32::from_str_radix(spi, 16).unwrap(),
                seq: u32::from_str_radix(seq, 16).unwrap(),
                esp_len: esp_len.parse().unwrap(),
                inner,
            }
        })
        .collect()
}

/// One ESP packet of a capture: frame number, outer addresses, UDP ports for ESP in UDP,
/// and the ESP bytes (header first).
#[derive(Debug)]
struct Captured {
    frame: u64,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    udp_ports: Option<(u16, u16)>,
    esp: Vec<u8>,
}

/// Every ESP (or ESP-in-UDP-4500) packet of an Ethernet capture.
fn esp_packets(pcap: &[u8]) -> Vec<Captured> {
    let mut out = Vec::new();
    for frame in CaptureReader::from_bytes(pcap).unwrap() {
        let frame = frame.unwrap();
        assert_eq!(frame.link_type, LinkType::Ethernet);
        assert!(!frame.is_truncated());
        let d = &frame.data;
        assert_eq!(&d[12..14], &[0x08, 0x00], "IPv4");
        let ip = &d[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let ip = &ip[..total];
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let (udp_ports, esp) = match ip[9] {
            ESP => (None, ip[ihl..].to_vec()),
            UDP => {
                let udp = &ip[ihl..];
                let ports = (
                    u16::from_be_bytes([udp[0], udp[1]]),
                    u16::from_be_bytes([udp[2], udp[3]]),
                );
                assert_eq!(ports.1, NAT_T_PORT);
                let payload = &udp[8..usize::from(u16::from_be_bytes([udp[4], udp[5]]))];
                // A zero non-ESP marker would mean IKE (RFC 3948 §2.2).
                assert_ne!(&payload[..4], &[0, 0, 0, 0]);
                (Some(ports), payload.to_vec())
            }
            other => panic!("frame {}: protocol {other}", frame.number),
        };
        out.push(Captured {
            frame: frame.number,
            src,
            dst,
            udp_ports,
            esp,
        });
    }
    out
}

/// A line of tcpdump's `esp-secrets.txt`: `0xSPI@destination algorithm:0xkey`.
#[derive(Debug)]
struct Secret {
    spi: u32,
    dst: Ipv4Addr,
    algorithm: String,
    key: Vec<u8>,
}

fn secrets() -> Vec<Secret> {
    SECRETS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (sa, rest) = l.split_once(char::is_whitespace).unwrap();
            let (spi, dst) = sa.split_once('@').unwrap();
            let (algorithm, key) = rest.trim().split_once(":0x").unwrap();
            Secret {
                spi: u32::from_str_radix(spi.trim_start_matches("0x"), 16).unwrap(),
                dst: dst.parse().unwrap(),
                algorithm: algorithm.to_string(),
                key: hex::decode(key).unwrap(),
            }
        })
        .collect()
}

fn secret_for(spi: u32, dst: Ipv4Addr) -> Secret {
    secrets()
        .into_iter()
        .find(|s| s.spi == spi && s.dst == dst)
        .unwrap_or_else(|| panic!("no secret for {spi:#x}@{dst}"))
}

/// What our SA can do with a tcpdump algorithm name: the cipher and the ICV length, or the
/// reason it is refused.
fn supported(algorithm: &str) -> Result<(Encryption, usize), String> {
    let (cipher, icv) = algorithm.split_once("-hmac").unwrap_or((algorithm, ""));
    let icv_len = match icv {
        "96" => 12,
        other => panic!("ICV {other}"),
    };
    match cipher {
        "aes128-cbc" => Ok((Encryption::AesCbc { key_bits: 128 }, icv_len)),
        "aes192-cbc" => Ok((Encryption::AesCbc { key_bits: 192 }, icv_len)),
        "aes256-cbc" => Ok((Encryption::AesCbc { key_bits: 256 }, icv_len)),
        other => Err(refused_keyword(other)
            .map(|r| r.to_string())
            .unwrap_or_else(|| format!("unknown cipher {other}"))),
    }
}

/// Decrypts `esp` (header, 16-byte IV, ciphertext, `icv_len`-byte ICV) with AES-CBC,
/// ignoring the ICV; returns the plaintext (payload ‖ padding ‖ trailer).
fn aes_cbc_decrypt(key: &[u8], esp: &[u8], icv_len: usize) -> Vec<u8> {
    let alg = match key.len() {
        16 => &raw::AES_128,
        24 => &raw::AES_192,
        _ => &raw::AES_256,
    };
    let iv: [u8; 16] = esp[8..24].try_into().unwrap();
    let mut data = esp[24..esp.len() - icv_len].to_vec();
    let key = raw::DecryptingKey::cbc(raw::UnboundCipherKey::new(alg, key).unwrap()).unwrap();
    let len = key
        .decrypt(
            &mut data,
            raw::DecryptionContext::Iv128(FixedLength::from(iv)),
        )
        .unwrap()
        .len();
    data.truncate(len);
    data
}

/// The inner IPv4 packet as an [`Echo`], checking it is an ICMP echo request with a valid
/// IPv4 header checksum.
fn echo_of(inner: &[u8]) -> Echo {
    assert_eq!(inner[0], 0x45);
    assert_eq!(inner[9], ICMP);
    let total = usize::from(u16::from_be_bytes([inner[2], inner[3]]));
    assert_eq!(total, inner.len(), "inner length");
    let sum = inner[..20]
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    assert_eq!(folded as u16, 0xffff, "inner IPv4 checksum");
    let icmp = &inner[20..];
    assert_eq!((icmp[0], icmp[1]), (8, 0), "echo request");
    Echo {
        src: Ipv4Addr::new(inner[12], inner[13], inner[14], inner[15]),
        dst: Ipv4Addr::new(inner[16], inner[17], inner[18], inner[19]),
        id: u16::from_be_bytes([icmp[4], icmp[5]]),
        seq: u16::from_be_bytes([icmp[6], icmp[7]]),
        len: icmp.len(),
    }
}

/// Compares a captured packet's outer headers with tcpdump's line.
fn check_headers(c: &Captured, d: &Decode) {
    let esp = EspPacket::new_checked(&c.esp[..]).unwrap();
    assert_eq!(
        (
            c.frame,
            c.src,
            c.dst,
            esp.spi(),
            esp.sequence(),
            c.esp.len()
        ),
        (d.frame, d.src, d.dst, d.spi, d.seq, d.esp_len),
        "frame {}",
        c.frame
    );
}

#[test]
fn aes_cbc_capture_decrypts_to_tcpdumps_decode() {
    let packets = esp_packets(AES_PCAP);
    let decodes = parse_decodes(AES_OUT);
    assert_eq!((packets.len(), decodes.len()), (8, 8));
    let mut decrypted = 0;
    for (c, d) in packets.iter().zip(&decodes) {
        check_headers(c, d);
        assert_eq!(c.udp_ports, None);
        let secret = secret_for(d.spi, d.dst);
        let (enc, icv_len) = supported(&secret.algorithm).unwrap();
        assert_eq!(enc, Encryption::AesCbc { key_bits: 256 });
        assert_eq!(secret.key.len(), enc.keymat_len());
        let plain = aes_cbc_decrypt(&secret.key, &c.esp, icv_len);
        let (trailer, len) = Trailer::parse(&plain).unwrap();
        assert_eq!(trailer.next_header, 4, "tunnel mode: IPv4 inside");
        assert_eq!(
            Some(echo_of(&plain[..len])),
            d.inner,
            "frame {}: inner packet",
            c.frame
        );
        decrypted += 1;
    }
    assert_eq!(decrypted, 8);
    // tcpdump's decode in numbers: 192.0.2.1 > 192.0.1.1, id 28416, seq 1280 + 256 n.
    let first = decodes[0].inner.as_ref().unwrap();
    assert_eq!(
        (first.src, first.dst, first.id, first.seq, first.len),
        (
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 1, 1),
            28416,
            1280,
            64
        )
    );
}

/// The integrity key this test substitutes (the capture's is not published).
fn test_integrity_key() -> Vec<u8> {
    (1u8..=20).collect()
}

/// The captured packet with its ICV recomputed as HMAC-SHA1-96 under the test key.
fn resigned(esp: &[u8]) -> Vec<u8> {
    let body = &esp[..esp.len() - 12];
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &test_integrity_key()),
        body,
    );
    [body, &tag.as_ref()[..12]].concat()
}

#[test]
fn aes_cbc_capture_ciphertext_opens_with_our_inbound_sa() {
    let packets = esp_packets(AES_PCAP);
    let first = &packets[0];
    let spi = EspPacket::new_checked(&first.esp[..]).unwrap().spi();
    let secret = secret_for(spi, first.dst);
    let spec = SaSpec {
        peer: first.src,
        local: first.dst,
        spi_in: spi,
        spi_out: spi,
        encryption: Encryption::AesCbc { key_bits: 256 },
        integrity: Some(Integrity::HmacSha1_96),
        enc_key_in: SecretBytes::from_slice(&secret.key),
        integ_key_in: SecretBytes::new(test_integrity_key()),
        enc_key_out: SecretBytes::from_slice(&secret.key),
        integ_key_out: SecretBytes::new(test_integrity_key()),
        mode: Mode::Tunnel,
        esn: false,
        limits: LifetimeLimits::default(),
        replay_window: 64,
        nat_t: None,
    };
    let sa = SaPair::new(&spec, Duration::ZERO).unwrap();
    let tunnel = SaPair::new(&spec, Duration::ZERO).unwrap();
    for (n, c) in packets.iter().enumerate() {
        // The original ICV is not ours: refused, and the window does not move.
        let mut original = PacketBuf::with_capacity(2048);
        original.set(&c.esp).unwrap();
        assert_eq!(
            sa.inbound.open(&mut original),
            Err(EspError::Authentication)
        );

        let mut b = PacketBuf::with_capacity(2048);
        b.set(&resigned(&c.esp)).unwrap();
        assert_eq!(
            sa.inbound.open(&mut b),
            Ok(Opened {
                sequence: n as u64 + 1,
                next_header: 4
            }),
            "frame {}",
            c.frame
        );
        let direct = aes_cbc_decrypt(&secret.key, &c.esp, 12);
        let (_, len) = Trailer::parse(&direct).unwrap();
        assert_eq!(b.as_slice(), &direct[..len], "frame {}", c.frame);

        // Full decapsulation wants GRE between the NBMA addresses inside the tunnel; an
        // ICMP packet between other hosts is refused after authentication.
        let mut d = PacketBuf::with_capacity(2048);
        d.set(&resigned(&c.esp)).unwrap();
        assert_eq!(
            tunnel.inbound.decapsulate(&mut d),
            Err(EspError::InnerHeader)
        );
    }
    assert_eq!(sa.inbound.replay_top(), 8);
    let c = sa.counters();
    assert_eq!((c.auth_failures, c.recv_errors), (8, 8));
    assert_eq!(tunnel.counters().invalid_identity, 8);
}

/// The 3DES captures: headers as tcpdump decodes them; the packets are skipped because
/// the algorithm is refused.
#[test]
fn triple_des_captures_are_skipped_by_design() {
    let mut skipped = 0;
    for (pcap, out, udp) in [
        (TDES_PCAP, TDES_OUT, false),
        (TDES_PCAP, TDES_PLAIN_OUT, false),
        (UDP_PCAP, UDP_OUT, true),
    ] {
        let packets = esp_packets(pcap);
        let decodes = parse_decodes(out);
        assert_eq!((packets.len(), decodes.len()), (8, 8));
        for (c, d) in packets.iter().zip(&decodes) {
            check_headers(c, d);
            assert_eq!(c.udp_ports, udp.then_some((NAT_T_PORT, NAT_T_PORT)));
            let secret = secret_for(d.spi, d.dst);
            let refusal = supported(&secret.algorithm).unwrap_err();
            assert!(refusal.starts_with("3DES is refused"), "{refusal}");
            skipped += 1;
        }
    }
    assert_eq!(skipped, 24);
    // What tcpdump itself decrypted from the first capture (with the key `esp1` uses):
    // the same ICMP echo requests the AES capture carries.
    let tdes = parse_decodes(TDES_OUT);
    let aes = parse_decodes(AES_OUT);
    for (t, a) in tdes.iter().zip(&aes) {
        assert_eq!(t.inner, a.inner);
    }
}

//! The deterministic generator of the hostile corpus: a few valid inputs, and every mutation
//! of them that must be refused. Names say what was done (`trunc-017`: the first 17 bytes);
//! an NHRP name starting with `ei-` must be answered with an Error Indication.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use dmvpn_nhrp::packet::{Cie, RawExtension, flags};
use dmvpn_nhrp::{Message, PacketType};

/// The GRE key and NHRP password of the replaying hub (as the lab's).
pub const GRE_KEY: u32 = 100_000;
/// `ip nhrp authentication` of the replaying hub.
pub const PASSWORD: &[u8] = b"test";

/// Every generated input, keyed `kind/name`.
pub fn all() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut add = |kind: &str, list: Vec<(String, Vec<u8>)>| {
        for (name, bytes) in list {
            out.insert(format!("{kind}/{name}"), bytes);
        }
    };
    add("nhrp", nhrp());
    add("gre", gre());
    add("ike", ike());
    add("esp", esp());
    add("pcap", pcap());
    add("config", config());
    out
}

fn auth(password: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1];
    v.extend_from_slice(password);
    v
}

/// A spoke's authenticated Registration Request to the hub.
pub fn registration() -> Message {
    let mut m = Message::new(
        PacketType::RegistrationRequest,
        255,
        Ipv4Addr::new(172, 16, 2, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        Ipv4Addr::new(10, 0, 0, 1),
    );
    m.request_id = 7;
    m.flags = flags::REG_U;
    m.cies.push(Cie {
        prefix_len: 0xff,
        holding_time: 600,
        mtu: 1400,
        ..Cie::default()
    });
    m.ext.auth = Some(auth(PASSWORD));
    m
}

fn encode(m: &Message) -> Vec<u8> {
    dmvpn_nhrp::codec::encode(m).expect("a valid message encodes")
}

/// Recomputes `ar$chksum` (bytes 12-13) over the whole packet.
fn fix_nhrp_sum(mut p: Vec<u8>) -> Vec<u8> {
    if p.len() >= 14 {
        p[12] = 0;
        p[13] = 0;
        let s = dmvpn_forwarding::packet::internet_checksum(&p);
        p[12..14].copy_from_slice(&s.to_be_bytes());
    }
    p
}

fn set(mut p: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
    if p.len() < at + bytes.len() {
        p.resize(at + bytes.len(), 0);
    }
    p[at..at + bytes.len()].copy_from_slice(bytes);
    p
}

fn nhrp() -> Vec<(String, Vec<u8>)> {
    let base = encode(&registration());
    let mut v = Vec::new();
    for n in 0..base.len() {
        v.push((format!("trunc-{n:03}"), base[..n].to_vec()));
    }
    for t in [0u8, 9, 10, 42, 200, 255] {
        v.push((
            format!("type-{t}"),
            fix_nhrp_sum(set(base.clone(), 17, &[t])),
        ));
    }
    let len = u16::try_from(base.len()).unwrap();
    let fixed: [(&str, usize, Vec<u8>); 14] = [
        ("version-2", 16, vec![2]),
        ("version-0", 16, vec![0]),
        ("pktsz-bigger", 10, (len + 100).to_be_bytes().to_vec()),
        ("pktsz-smaller", 10, (len - 9).to_be_bytes().to_vec()),
        ("pktsz-zero", 10, vec![0, 0]),
        ("extoff-past-end", 14, vec![0xff, 0xff]),
        ("extoff-in-header", 14, vec![0, 10]),
        ("afn-unknown", 0, vec![0xff, 0xfe]),
        ("protocol-ipv6", 2, vec![0x86, 0xdd]),
        ("src-nbma-len-63", 18, vec![0x3f]),
        ("src-proto-len-255", 20, vec![0xff]),
        ("dst-proto-len-255", 21, vec![0xff]),
        ("src-proto-len-16", 20, vec![16]),
        ("cie-client-nbma-len-255", 48, vec![0xff]),
    ];
    for (name, at, bytes) in fixed {
        v.push((
            name.to_string(),
            fix_nhrp_sum(set(base.clone(), at, &bytes)),
        ));
    }
    let mut bad = base.clone();
    bad[12] ^= 0x55;
    v.push(("checksum-wrong".into(), bad));
    // An extension claiming 0xFFFF bytes.
    let mut m = registration();
    m.ext.other.push(RawExtension {
        ext_type: 0x1234,
        compulsory: false,
        data: vec![1, 2, 3, 4],
    });
    let mut p = encode(&m);
    if let Some(at) = find(&p, &[0x12, 0x34, 0x00, 0x04]) {
        p[at + 2] = 0xff;
        p[at + 3] = 0xff;
    }
    v.push(("ext-length-huge".into(), fix_nhrp_sum(p)));
    // The RFC 2332 cases that call for an Error Indication.
    let mut m = registration();
    m.ext.other.push(RawExtension {
        ext_type: 0x1234,
        compulsory: true,
        data: vec![],
    });
    v.push(("ei-unknown-compulsory-extension".into(), encode(&m)));
    let mut m = registration();
    m.ext.other = (0..2000)
        .map(|k| RawExtension {
            ext_type: 0x2000 + (k % 7),
            compulsory: true,
            data: vec![],
        })
        .collect();
    v.push(("ei-2000-compulsory-extensions".into(), encode(&m)));
    let mut m = registration();
    m.ext.auth = Some(auth(b"wrong"));
    v.push(("ei-auth-wrong".into(), encode(&m)));
    let mut m = registration();
    m.ext.auth = None;
    v.push(("ei-auth-missing".into(), encode(&m)));
    let mut m = registration();
    m.ext.auth = Some(vec![0, 0, 0, 1]);
    v.push(("ei-auth-empty".into(), encode(&m)));
    let mut m = registration();
    m.ptype = PacketType::ErrorIndication;
    m.cies.clear();
    m.ext.auth = Some(auth(b"wrong"));
    v.push(("error-indication-auth-wrong".into(), encode(&m)));
    v
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn gre_header(flags: u16, proto: u16, key: Option<u32>) -> Vec<u8> {
    let mut h = flags.to_be_bytes().to_vec();
    h.extend_from_slice(&proto.to_be_bytes());
    if let Some(k) = key {
        h.extend_from_slice(&k.to_be_bytes());
    }
    h
}

fn gre() -> Vec<(String, Vec<u8>)> {
    let nhrp = encode(&registration());
    let mut base = gre_header(0x2000, 0x2001, Some(GRE_KEY));
    base.extend_from_slice(&nhrp);
    let mut v = Vec::new();
    for n in 0..8 {
        v.push((format!("trunc-{n:02}"), base[..n].to_vec()));
    }
    for ver in 1..8u16 {
        let mut p = gre_header(0x2000 | ver, 0x2001, Some(GRE_KEY));
        p.extend_from_slice(&nhrp);
        v.push((format!("version-{ver}"), p));
    }
    let flag_cases: [(&str, u16); 5] = [
        ("routing", 0x6000),
        ("strict-source-route", 0x2800),
        ("recursion", 0x2400),
        ("key-missing", 0x0000),
        ("sequence-truncated", 0x3000),
    ];
    for (name, fl) in flag_cases {
        let key = (fl & 0x2000 != 0).then_some(GRE_KEY);
        let mut p = gre_header(fl, 0x2001, key);
        if name != "sequence-truncated" {
            p.extend_from_slice(&nhrp);
        }
        v.push((name.to_string(), p));
    }
    let mut p = gre_header(0x2000, 0x2001, Some(GRE_KEY + 1));
    p.extend_from_slice(&nhrp);
    v.push(("key-other-tunnel".into(), p));
    // Checksum present and wrong.
    let mut p = gre_header(0xa000, 0x2001, None);
    p.extend_from_slice(&[0x12, 0x34, 0, 0]);
    p.extend_from_slice(&GRE_KEY.to_be_bytes());
    p.extend_from_slice(&nhrp);
    v.push(("checksum-wrong".into(), p));
    for (name, proto) in [
        ("protocol-ipv6", 0x86ddu16),
        ("protocol-arp", 0x0806),
        ("protocol-zero", 0),
    ] {
        let mut p = gre_header(0x2000, proto, Some(GRE_KEY));
        p.extend_from_slice(&[0x60; 40]);
        v.push((name.to_string(), p));
    }
    let inner_cases: [(&str, Vec<u8>); 5] = [
        ("inner-empty", vec![]),
        ("inner-truncated", vec![0x45, 0, 0, 40, 0, 0]),
        ("inner-version-6", {
            let mut h = vec![0x65, 0, 0, 20];
            h.resize(20, 0);
            h
        }),
        ("inner-ihl-15-short", {
            let mut h = vec![0x4f, 0, 0, 20];
            h.resize(20, 0);
            h
        }),
        ("inner-total-length-huge", {
            let mut h = vec![0x45, 0, 0xff, 0xff];
            h.resize(20, 0);
            h
        }),
    ];
    for (name, inner) in inner_cases {
        let mut p = gre_header(0x2000, 0x0800, Some(GRE_KEY));
        p.extend_from_slice(&inner);
        v.push((name.to_string(), p));
    }
    v
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An IKE_SA_INIT request from the committed fuzz seeds (a capture of a real exchange).
pub fn ike_sa_init() -> Vec<u8> {
    std::fs::read(repo().join("fuzz/seeds/ike_wire/ikev2pi2-01")).expect("IKE seed")
}

fn ike() -> Vec<(String, Vec<u8>)> {
    let base = ike_sa_init();
    let mut v = Vec::new();
    let mut cuts: Vec<usize> = (0..=32).collect();
    cuts.extend((48..base.len()).step_by(16));
    cuts.push(base.len() - 1);
    for n in cuts {
        v.push((format!("trunc-{n:04}"), base[..n].to_vec()));
    }
    let len = u32::try_from(base.len()).unwrap();
    let fixed: [(&str, usize, Vec<u8>); 12] = [
        ("version-1", 17, vec![0x10]),
        ("version-3", 17, vec![0x30]),
        ("length-bigger", 24, (len + 100).to_be_bytes().to_vec()),
        ("length-smaller", 24, (len - 1).to_be_bytes().to_vec()),
        ("length-zero", 24, vec![0, 0, 0, 0]),
        ("exchange-99", 18, vec![99]),
        ("flags-response", 19, vec![0x20]),
        ("message-id-7", 20, vec![0, 0, 0, 7]),
        ("first-payload-length-0", 30, vec![0, 0]),
        ("first-payload-length-huge", 30, vec![0xff, 0xff]),
        ("first-payload-unknown-critical", 16, vec![200]),
        ("spi-i-zero", 0, vec![0; 8]),
    ];
    for (name, at, bytes) in fixed {
        let mut p = set(base.clone(), at, &bytes);
        if name == "first-payload-unknown-critical" {
            p[29] |= 0x80;
        }
        v.push((name.to_string(), p));
    }
    // 15,000 empty Notify payloads chained (a huge count, each one too short).
    let mut p = base[..28].to_vec();
    p[16] = 41;
    for k in 0..15_000u32 {
        let next = if k + 1 == 15_000 { 0 } else { 41 };
        p.extend_from_slice(&[next, 0, 0, 4]);
    }
    let l = u32::try_from(p.len()).unwrap();
    p[24..28].copy_from_slice(&l.to_be_bytes());
    v.push(("notify-chain-15000".into(), p));
    v
}

/// A genuine ESP packet (AES-GCM-128, transport) for the replay SA's inbound SPI 0x1000,
/// sealed with the peer's keys; see [`crate::hostile::replay::esp_spec`].
fn esp_packet(seq: u32) -> Vec<u8> {
    let peer = crate::hostile::replay::esp_spec(true);
    let c = dmvpn_crypto::Cipher::new(
        peer.encryption,
        peer.integrity,
        peer.enc_key_out.as_slice(),
        peer.integ_key_out.as_slice(),
    )
    .expect("cipher");
    // Plaintext: a GRE header with NHRP's type and 4 bytes, then pad length 2 + next header 47
    // (GRE), block-aligned for the cipher.
    let mut plain = vec![0x00, 0x00, 0x20, 0x01, 1, 2, 3, 4, 1, 2, 2, 47];
    while plain.len() % c.block_len() != 0 {
        plain.insert(plain.len() - 2, 0);
    }
    let mut packet = Vec::new();
    packet.extend_from_slice(&peer.spi_out.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend(std::iter::repeat_n(0x11, c.iv_len()));
    packet.extend_from_slice(&plain);
    packet.extend(std::iter::repeat_n(0, c.icv_len()));
    let aad = c.esp_aad(peer.spi_out, u64::from(seq), peer.esn);
    c.seal_region(aad.aad(), aad.tail(), &mut packet[8..])
        .expect("seal");
    packet
}

fn esp() -> Vec<(String, Vec<u8>)> {
    let base = esp_packet(1);
    let mut v = Vec::new();
    for n in 0..base.len() {
        v.push((format!("trunc-{n:03}"), base[..n].to_vec()));
    }
    let mut p = base.clone();
    p[3] ^= 1;
    v.push(("spi-unknown".into(), p));
    let mut p = base.clone();
    let last = p.len() - 1;
    p[last] ^= 1;
    v.push(("icv-flipped".into(), p));
    let mut p = base.clone();
    p[16] ^= 0x80;
    v.push(("ciphertext-flipped".into(), p));
    let mut p = base.clone();
    p[6] ^= 1;
    v.push(("sequence-changed".into(), p));
    let mut p = esp_packet(0);
    p[0] = 0;
    v.push(("spi-zero".into(), p));
    let mut p = base.clone();
    p.extend_from_slice(&[0; 3]);
    v.push(("trailing-bytes".into(), p));
    v
}

fn pcap() -> Vec<(String, Vec<u8>)> {
    let base = std::fs::read(repo().join("fuzz/seeds/capture_reader/227d0e310dd8dc8a"))
        .expect("capture seed");
    let mut v = Vec::new();
    // Cut inside the global header, then inside the first record's header and data.
    for n in (0..24).chain([25, 30, 35, 39, 41, 50, 70, 100]) {
        if n < base.len() {
            v.push((format!("trunc-{n:03}"), base[..n].to_vec()));
        }
    }
    let fixed: [(&str, usize, Vec<u8>); 4] = [
        ("magic-unknown", 0, vec![0xde, 0xad, 0xbe, 0xef]),
        ("linktype-unknown", 20, vec![0x39, 0x30, 0, 0]),
        ("record-caplen-huge", 24 + 8, vec![0xff, 0xff, 0xff, 0x7f]),
        ("record-caplen-past-end", 24 + 8, vec![0x00, 0x10, 0, 0]),
    ];
    for (name, at, bytes) in fixed {
        v.push((name.to_string(), set(base.clone(), at, &bytes)));
    }
    v.push((
        "pcapng-short-block".into(),
        vec![0x0a, 0x0d, 0x0d, 0x0a, 8, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a],
    ));
    v
}

/// A minimal valid spoke configuration; every mutation adds one broken line to it.
const CONFIG_BASE: &str = "hostname spoke1
interface Tunnel0
 ip address 10.0.0.2 255.255.255.0
 ip nhrp network-id 100000
 ip nhrp nhs 10.0.0.1 nbma 172.17.0.1 multicast
 tunnel source 172.16.1.1
 tunnel mode gre multipoint
 tunnel key 100000
";

fn config() -> Vec<(String, Vec<u8>)> {
    let lines = [
        ("holdtime-huge", " ip nhrp holdtime 99999999999"),
        ("holdtime-zero", " ip nhrp holdtime 0"),
        ("max-send-zero", " ip nhrp max-send 0 every 0"),
        ("tunnel-key-overflow", " tunnel key 4294967296"),
        ("auth-too-long", " ip nhrp authentication 123456789"),
        ("address-octet-300", " ip address 10.0.0.300 255.255.255.0"),
        ("address-mask-holes", " ip address 10.0.0.2 255.0.255.0"),
        ("nhs-without-address", " ip nhrp nhs"),
        ("map-without-nbma", " ip nhrp map 10.0.0.1"),
        ("network-id-text", " ip nhrp network-id abc"),
        ("network-id-zero", " ip nhrp network-id 0"),
        ("mtu-tiny", " ip mtu 10"),
        ("tunnel-mode-unknown", " tunnel mode vxlan"),
        ("nhs-priority-huge", " ip nhrp nhs 10.0.0.1 priority 300"),
        (
            "registration-timeout-zero",
            " ip nhrp registration timeout 0",
        ),
        ("redirect-argument", " ip nhrp redirect timeout abc"),
    ];
    let mut v = Vec::new();
    for (name, line) in lines {
        v.push((
            name.to_string(),
            format!("{CONFIG_BASE}{line}\n").into_bytes(),
        ));
    }
    let top = [
        ("tunnel-number-huge", "interface Tunnel99999999999\n"),
        (
            "cookie-challenge-huge",
            "crypto ikev2 cookie-challenge 99999999999\n",
        ),
        (
            "half-open-zero",
            "crypto ikev2 limit max-in-negotiation-sa 0\n",
        ),
        (
            "profile-missing",
            "interface Tunnel1\n tunnel protection ipsec profile nosuch\n",
        ),
        ("rate-limit-zero", "logging dmvpn rate-limit 0\n"),
    ];
    for (name, text) in top {
        v.push((
            name.to_string(),
            format!("{CONFIG_BASE}{text}").into_bytes(),
        ));
    }
    let mut long = CONFIG_BASE.to_string();
    long.push_str(" ip nhrp holdtime ");
    long.push_str(&"9".repeat(100_000));
    long.push('\n');
    v.push(("line-100k-digits".into(), long.into_bytes()));
    let mut many = CONFIG_BASE.to_string();
    for k in 0..5000 {
        many.push_str(&format!(
            " ip nhrp map 10.9.{}.{} 300.1.1.1\n",
            k / 250,
            k % 250
        ));
    }
    v.push(("5000-bad-maps".into(), many.into_bytes()));
    let mut bin = CONFIG_BASE.as_bytes().to_vec();
    bin.extend_from_slice(b" ip nhrp holdtime \xff\xfe\x00300\n");
    v.push(("not-utf8".into(), bin));
    v
}

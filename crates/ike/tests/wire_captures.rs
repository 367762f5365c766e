//! Real captures through the public wire module (tcpdump's test captures, in
//! `tests/data/`): Ethernet or BSD loopback, IPv4 and UDP are stripped here with bounds
//! checks, and the non-ESP marker on port 4500. Every IKEv2 message parses and re-emits
//! byte for byte, and its fields match tcpdump's own decode (`ikev2fourv.out`, and the
//! values tcpdump prints for the smaller captures, quoted below). IKEv1 (ISAKMP) messages
//! are refused by the version check, nothing else.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod wire_support;

use dmvpn_capture::{CaptureReader, LinkType};
use dmvpn_ike::wire::*;
use std::net::Ipv4Addr;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One UDP datagram of a capture.
#[derive(Debug)]
struct Udp {
    frame: u64,
    #[allow(dead_code)]
    src: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: Vec<u8>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The IPv4 packet inside a link-layer frame.
fn ipv4_of(link: LinkType, frame: &[u8]) -> Option<&[u8]> {
    match link {
        LinkType::Ethernet => {
            let mut at = 12;
            let mut ethertype = be16(frame, at)?;
            while ethertype == 0x8100 || ethertype == 0x88a8 {
                at += 4;
                ethertype = be16(frame, at)?;
            }
            (ethertype == 0x0800).then(|| frame.get(at + 2..))?
        }
        LinkType::Null | LinkType::Loop => {
            let af: [u8; 4] = frame.get(..4)?.try_into().ok()?;
            let inet = u32::from_le_bytes(af) == 2 || u32::from_be_bytes(af) == 2;
            inet.then(|| frame.get(4..))?
        }
        LinkType::Raw | LinkType::Ipv4 => Some(frame),
        _ => None,
    }
}

/// The UDP datagram inside an IPv4 packet (unfragmented only).
fn udp_of(frame: u64, ip: &[u8]) -> Option<Udp> {
    let first = *ip.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 {
        return None;
    }
    let total = usize::from(be16(ip, 2)?).min(ip.len());
    let fragment = be16(ip, 6)? & 0x3fff;
    if *ip.get(9)? != 17 || fragment != 0 || total < ihl + 8 {
        return None;
    }
    let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
    let udp = ip.get(ihl..total)?;
    let len = usize::from(be16(udp, 4)?);
    let payload = udp.get(8..len.max(8).min(udp.len()))?;
    Some(Udp {
        frame,
        src: Ipv4Addr::from(src),
        sport: be16(udp, 0)?,
        dport: be16(udp, 2)?,
        payload: payload.to_vec(),
    })
}

/// What a datagram on the IKE ports holds.
#[derive(Debug)]
enum Carried {
    Ike(Vec<u8>),
    Esp,
    Keepalive,
    Other,
}

fn classify(u: &Udp) -> Carried {
    let p = &u.payload;
    if u.sport == 4500 || u.dport == 4500 {
        return match p.as_slice() {
            [0xff] => Carried::Keepalive,
            [0, 0, 0, 0, rest @ ..] => Carried::Ike(rest.to_vec()),
            _ => Carried::Esp,
        };
    }
    if u.sport == 500 || u.dport == 500 {
        return Carried::Ike(p.clone());
    }
    Carried::Other
}

/// Every frame of a capture: the UDP datagrams, and how many frames were not IPv4/UDP.
fn udp_frames(name: &str) -> (Vec<Udp>, usize) {
    let bytes = data(name);
    let mut out = Vec::new();
    let mut other = 0;
    for f in CaptureReader::from_bytes(&bytes).unwrap() {
        let f = f.unwrap();
        match ipv4_of(f.link_type, &f.data).and_then(|ip| udp_of(f.number, ip)) {
            Some(u) => out.push(u),
            None => other += 1,
        }
    }
    (out, other)
}

fn ike_messages(name: &str) -> Vec<(u64, Vec<u8>)> {
    let (udp, _) = udp_frames(name);
    udp.iter()
        .filter_map(|u| match classify(u) {
            Carried::Ike(b) => Some((u.frame, b)),
            _ => None,
        })
        .collect()
}

/// Parses, checks the byte-exact re-emission, and walks every view.
fn parse_exact(frame: u64, b: &[u8]) -> MessageRepr {
    let m = MessageRepr::parse(b).unwrap_or_else(|e| panic!("frame {frame}: {e}"));
    assert_eq!(
        m.to_bytes().unwrap(),
        b,
        "frame {frame} re-emits byte for byte"
    );
    let raws = Header::new_checked(b).unwrap().payloads().count();
    assert_eq!(wire_support::walk_all(b), raws);
    m
}

// ------------------------------------------------------------ tcpdump's decode as oracle

/// A payload as tcpdump -v prints it.
#[derive(Debug, Default)]
struct Printed {
    name: String,
    critical: bool,
    /// The rest of the payload's line.
    text: String,
    /// Proposal lines, each with its transform lines.
    proposals: Vec<(String, Vec<String>)>,
}

/// A frame as tcpdump -v prints it.
#[derive(Debug, Default)]
struct PrintedFrame {
    number: u64,
    head: String,
    payloads: Vec<Printed>,
}

fn read_tcpdump(text: &str) -> Vec<PrintedFrame> {
    let mut frames: Vec<PrintedFrame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let first = trimmed.split_whitespace().next().unwrap_or("");
        if indent < 8 && trimmed.contains(" IP (") {
            frames.push(PrintedFrame {
                number: first.parse().unwrap(),
                ..PrintedFrame::default()
            });
        } else if trimmed.contains(" isakmp ") {
            frames.last_mut().unwrap().head = trimmed.to_string();
        } else if let Some(rest) = trimmed.strip_prefix('(') {
            let f = frames.last_mut().unwrap();
            let (name, text) = rest
                .split_once(": ")
                .unwrap_or((rest.trim_end_matches(')'), ""));
            match name {
                "p" => f
                    .payloads
                    .last_mut()
                    .unwrap()
                    .proposals
                    .push((text.to_string(), Vec::new())),
                "t" => {
                    let sa = f.payloads.last_mut().unwrap();
                    sa.proposals.last_mut().unwrap().1.push(text.to_string());
                }
                _ => f.payloads.push(Printed {
                    name: name.trim_end_matches("[C]").to_string(),
                    critical: name.ends_with("[C]"),
                    text: text.to_string(),
                    proposals: Vec::new(),
                }),
            }
        }
    }
    frames
}

/// The word after `key` (up to a space, parenthesis or colon).
fn word<'a>(s: &'a str, key: &str) -> &'a str {
    let at = s.find(key).unwrap_or_else(|| panic!("{key} in {s}")) + key.len();
    let rest = &s[at..];
    let end = rest.find([' ', '(', ')', ':']).unwrap_or(rest.len());
    &rest[..end]
}

fn num(s: &str, key: &str) -> usize {
    word(s, key).parse().unwrap()
}

/// Whether bytes match tcpdump's hex. tcpdump elides long data as "first bytes...last
/// bytes"; only the first part is compared then, because its last part is not always the
/// field's own (in ikev2fourv.out frame 3 it is the end of the Nonce that follows the
/// COOKIE: tcpdump's print window runs past the notify).
fn hex_matches(bytes: &[u8], printed: &str) -> bool {
    let h = hex::encode(bytes);
    match printed.split_once("...") {
        Some((a, _)) => h.starts_with(a),
        None => h == printed,
    }
}

/// tcpdump's names for the transform IDs in these captures.
fn transform_id(ttype: &str, name: &str) -> (TransformType, u16) {
    let t = match ttype {
        "encr" => TransformType::Encr,
        "prf" => TransformType::Prf,
        "integ" => TransformType::Integ,
        "dh" => TransformType::Dh,
        other => panic!("transform type {other}"),
    };
    let id = match (ttype, name) {
        ("encr", "aes") => transform_id::encr::AES_CBC,
        ("encr", "3des") => transform_id::encr::TRIPLE_DES,
        ("prf", "hmac-md5") => transform_id::prf::HMAC_MD5,
        ("prf", "hmac-sha") => transform_id::prf::HMAC_SHA1,
        ("prf", "aes128_xcbc") => transform_id::prf::AES128_XCBC,
        ("integ", "hmac-md5") => transform_id::integ::HMAC_MD5_96,
        ("integ", "hmac-sha") => transform_id::integ::HMAC_SHA1_96,
        ("integ", "aes-xcbc") => transform_id::integ::AES_XCBC_96,
        ("dh", "modp1024") => transform_id::dh::MODP1024,
        ("dh", "modp1536") => transform_id::dh::MODP1536,
        ("dh", "modp2048") => transform_id::dh::MODP2048,
        other => panic!("transform {other:?}"),
    };
    (t, id)
}

fn check_sa(frame: u64, sa: &SaRepr, p: &Printed) {
    assert_eq!(p.proposals.len(), sa.proposals.len(), "frame {frame}");
    assert_eq!(num(&p.text, "len="), sa.body_len(), "frame {frame} sa len");
    for (got, (ptext, transforms)) in sa.proposals.iter().zip(&p.proposals) {
        assert_eq!(num(ptext, "#"), usize::from(got.number));
        assert_eq!(word(ptext, "protoid="), "isakmp");
        assert_eq!(got.protocol, ProtocolId::Ike);
        assert_eq!(num(ptext, "transform="), got.transforms.len());
        assert_eq!(num(ptext, "len="), got.buffer_len());
        for (t, ttext) in got.transforms.iter().zip(transforms) {
            let (tt, id) = transform_id(word(ttext, "type="), word(ttext, "id="));
            assert_eq!((t.transform_type, t.id), (tt, id), "frame {frame}: {ttext}");
            let keylen = ttext
                .contains("type=keylen")
                .then(|| u16::from_str_radix(word(ttext, "keylen value="), 16).unwrap());
            assert_eq!(t.key_length(), keylen, "frame {frame}: {ttext}");
        }
    }
}

fn check_payload(frame: u64, got: &PayloadRepr, p: &Printed) {
    assert_eq!(got.critical, p.critical, "frame {frame} {}", p.name);
    let last_hex = |s: &str| {
        s.trim_end_matches(')')
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    match (&got.body, p.name.as_str()) {
        (PayloadBody::Sa(sa), "sa") => check_sa(frame, sa, p),
        (PayloadBody::Ke(ke), "v2ke") => {
            assert_eq!(num(&p.text, "len="), ke.data.len());
            let group = match word(&p.text, "group=") {
                "modp1024" => transform_id::dh::MODP1024,
                "modp1536" => transform_id::dh::MODP1536,
                g => panic!("group {g}"),
            };
            assert_eq!(ke.group, group);
            if p.text.split(' ').count() > 2 {
                assert!(
                    hex_matches(&ke.data, &last_hex(&p.text)),
                    "frame {frame} KE"
                );
            }
        }
        (PayloadBody::Nonce(n), "nonce") => {
            assert_eq!(num(&p.text, "len="), n.nonce.len());
            let printed = word(&p.text, "nonce=(");
            assert!(hex_matches(&n.nonce, printed), "frame {frame} nonce");
        }
        (PayloadBody::Notify(n), "n") => {
            assert_eq!(word(&p.text, "prot_id=#"), "0");
            assert_eq!(n.protocol, ProtocolId::None);
            assert_eq!(num(&p.text, "type="), usize::from(n.notify_type.value()));
            if p.text.contains("data=(") {
                assert!(
                    hex_matches(&n.data, word(&p.text, "data=(")),
                    "frame {frame}"
                );
            }
        }
        (PayloadBody::Encrypted(sk), "v2e") => {
            assert_eq!(num(&p.text, "len="), sk.content.len());
            assert!(
                hex_matches(&sk.content, &last_hex(&p.text)),
                "frame {frame}"
            );
        }
        (PayloadBody::VendorId(v), "v2vid") => {
            assert!(hex_matches(&v.id, &last_hex(&p.text)), "frame {frame} VID");
        }
        (b, name) => panic!("frame {frame}: tcpdump says {name}, parsed {b:?}"),
    }
}

fn exchange_of(name: &str) -> ExchangeType {
    match name {
        "ikev2_init" => ExchangeType::IkeSaInit,
        "ikev2_auth" => ExchangeType::IkeAuth,
        "child_sa" => ExchangeType::CreateChildSa,
        "inf2" => ExchangeType::Informational,
        other => panic!("exchange {other}"),
    }
}

/// Header and payloads against one frame of tcpdump -v output.
fn check_frame(frame: u64, m: &MessageRepr, p: &PrintedFrame) {
    assert_eq!(p.number, frame);
    let h = &m.header;
    assert!(p.head.contains("isakmp 2.0 "), "{}", p.head);
    let msgid = u32::from_str_radix(word(&p.head, "msgid "), 16).unwrap();
    assert_eq!(h.message_id, msgid, "frame {frame}");
    if p.head.contains("cookie ") {
        let cookies = word(&p.head, "cookie ");
        let (i, r) = cookies.trim_end_matches(':').split_once("->").unwrap();
        assert_eq!(format!("{:016x}", h.spi_i), i, "frame {frame}");
        assert_eq!(
            format!("{:016x}", h.spi_r),
            r.trim_end_matches(':'),
            "frame {frame}"
        );
    }
    let tail = p.head.rsplit(' ').next().unwrap();
    let (name, flags) = tail.trim_end_matches("]:").split_once('[').unwrap();
    assert_eq!(h.exchange_type, exchange_of(name), "frame {frame}");
    let letters: String = [
        (h.flags.initiator(), 'I'),
        (h.flags.higher_version(), 'V'),
        (h.flags.response(), 'R'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect();
    assert_eq!(letters, flags, "frame {frame}");
    assert_eq!(
        m.payloads.len(),
        p.payloads.len(),
        "frame {frame} payload count"
    );
    for (got, printed) in m.payloads.iter().zip(&p.payloads) {
        check_payload(frame, got, printed);
    }
}

#[test]
fn ikev2four_matches_tcpdump() {
    let msgs = ike_messages("ikev2four.pcap");
    let printed = read_tcpdump(std::str::from_utf8(&data("ikev2fourv.out")).unwrap());
    assert_eq!(msgs.len(), 21);
    assert_eq!(printed.len(), 21);
    // The first payload inside each SK (tshark's decode of frames 5..=21).
    let inner = [
        35, 36, 33, 33, 41, 41, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 42,
    ];
    let mut sk = 0;
    for ((frame, b), p) in msgs.iter().zip(&printed) {
        let m = parse_exact(*frame, b);
        check_frame(*frame, &m, p);
        if let Some(PayloadBody::Encrypted(e)) = m.payloads.last().map(|p| &p.body) {
            assert_eq!(e.first_inner.value(), inner[sk], "frame {frame}");
            sk += 1;
        }
    }
    assert_eq!(sk, inner.len());
    // The COOKIE round: the responder's cookie comes back first in the retried request.
    let m2 = MessageRepr::parse(&msgs[1].1).unwrap();
    let m3 = MessageRepr::parse(&msgs[2].1).unwrap();
    let cookie = &m2.notify(NotifyType::Cookie).unwrap().data;
    assert!(matches!(&m3.payloads[0].body,
        PayloadBody::Notify(n) if n.notify_type == NotifyType::Cookie && n.data == *cookie));
}

#[test]
fn ikev2pi2_matches_tcpdump() {
    // tcpdump -vvv: frame 1 "isakmp 2.0 msgid 00000000 cookie 0001020304050607->
    // 0000000000000000: parent_sa ikev2_init[I]: (sa[C]: len=240 (p: #1 protoid=isakmp
    // transform=4 len=40 ...) x6) (v2ke: len=192 group=modp1536 ffbc6a92...)
    // (nonce[C]: len=16 nonce=(b5ce8419095c6e2b6b62d3055305b3c4)) (v2vid: len=12
    // vid=OErlA\nQukSR 4f45726c415c6e51756b5352)"; frame 2 "isakmp 2.0 msgid 00000000 cookie
    // 0001020304050607->c02e7a3031a03188: parent_sa ikev2_auth[I]: (v2e[C]: len=252
    // 000102030405060708090a0b0c0d0e0f4bcf2da2...)". tshark: the SK's first inner payload is
    // IDi (35).
    let msgs = ike_messages("ikev2pI2.pcap");
    assert_eq!(msgs.len(), 2);
    let init = parse_exact(msgs[0].0, &msgs[0].1);
    assert_eq!(init.header.spi_i, 0x0001_0203_0405_0607);
    assert_eq!(init.header.spi_r, 0);
    assert_eq!(init.header.exchange_type, ExchangeType::IkeSaInit);
    assert_eq!(init.header.flags, Flags(Flags::INITIATOR));
    let types: Vec<_> = init
        .payloads
        .iter()
        .map(PayloadRepr::payload_type)
        .collect();
    use PayloadType as P;
    assert_eq!(types, [P::Sa, P::Ke, P::Nonce, P::VendorId]);
    let crit: Vec<_> = init.payloads.iter().map(|p| p.critical).collect();
    assert_eq!(crit, [true, false, true, false]);
    let PayloadBody::Sa(sa) = &init.payloads[0].body else {
        panic!()
    };
    assert_eq!(sa.body_len(), 240);
    use transform_id::{dh, encr, integ, prf};
    let want = [
        (encr::AES_CBC, prf::HMAC_SHA1, dh::MODP1536),
        (encr::AES_CBC, prf::HMAC_MD5, dh::MODP1536),
        (encr::TRIPLE_DES, prf::HMAC_SHA1, dh::MODP1536),
        (encr::TRIPLE_DES, prf::HMAC_MD5, dh::MODP1536),
        (encr::TRIPLE_DES, prf::HMAC_SHA1, dh::MODP1024),
        (encr::TRIPLE_DES, prf::HMAC_MD5, dh::MODP1024),
    ];
    for (i, (p, (e, f, g))) in sa.proposals.iter().zip(want).enumerate() {
        assert_eq!(usize::from(p.number), i + 1);
        assert_eq!(p.buffer_len(), 40);
        let ids: Vec<_> = p
            .transforms
            .iter()
            .map(|t| (t.transform_type, t.id))
            .collect();
        assert_eq!(
            ids,
            [
                (TransformType::Encr, e),
                (TransformType::Integ, integ::HMAC_SHA1_96),
                (TransformType::Prf, f),
                (TransformType::Dh, g),
            ]
        );
        // No key length attribute: tcpdump prints "id=aes" alone.
        assert!(p.transforms.iter().all(|t| t.attributes.is_empty()));
    }
    let PayloadBody::Ke(ke) = &init.payloads[1].body else {
        panic!()
    };
    assert_eq!((ke.group, ke.data.len()), (dh::MODP1536, 192));
    assert!(hex::encode(&ke.data).starts_with("ffbc6a92a6b9559b"));
    assert!(hex::encode(&ke.data).ends_with("f4f758f49927"));
    let PayloadBody::Nonce(n) = &init.payloads[2].body else {
        panic!()
    };
    assert_eq!(hex::encode(&n.nonce), "b5ce8419095c6e2b6b62d3055305b3c4");
    let PayloadBody::VendorId(v) = &init.payloads[3].body else {
        panic!()
    };
    assert_eq!(hex::encode(&v.id), "4f45726c415c6e51756b5352");

    let auth = parse_exact(msgs[1].0, &msgs[1].1);
    assert_eq!(auth.header.exchange_type, ExchangeType::IkeAuth);
    assert_eq!(auth.header.message_id, 0);
    assert_eq!(auth.header.spi_r, 0xc02e_7a30_31a0_3188);
    let PayloadBody::Encrypted(sk) = &auth.payloads[0].body else {
        panic!()
    };
    assert!(auth.payloads[0].critical);
    assert_eq!(sk.first_inner, PayloadType::IdI);
    assert_eq!(sk.content.len(), 252);
    assert!(hex::encode(&sk.content).starts_with("000102030405060708090a0b0c0d0e0f4bcf2da2"));
}

#[test]
fn ikev2_id_normal_refuses_the_trailing_bytes() {
    // tcpdump -vvv: "127.0.0.1.12345 > 127.0.0.2.500: isakmp 2.0 msgid 00000001 cookie
    // 0000000000000000->0000000000000000: child_sa ikev2_auth[I]: (v2IDi: len=5 01000000de
    // ipv4:de)". The message's Length (76) covers 39 bytes of 0xdeadbeef after the IDi
    // payload, whose Next Payload is 0: the walk yields IDi, then refuses the rest.
    let msgs = ike_messages("ikev2-id-normal.pcap");
    assert_eq!(msgs.len(), 1);
    let b = &msgs[0].1;
    let h = Header::new_checked(&b[..]).unwrap();
    let hr = HeaderRepr::parse(&h).unwrap();
    assert_eq!((hr.spi_i, hr.spi_r, hr.message_id), (0, 0, 1));
    assert_eq!(hr.exchange_type, ExchangeType::IkeAuth);
    assert_eq!(hr.flags, Flags(Flags::INITIATOR));
    assert_eq!(h.length(), 76);
    let items: Vec<_> = h.payloads().collect();
    assert_eq!(items.len(), 2);
    let raw = items[0].unwrap();
    assert_eq!(raw.payload_type, PayloadType::IdI);
    let id = IdentificationRepr::parse(&Identification::new_checked(raw.bytes).unwrap()).unwrap();
    assert_eq!(id.id_type, IdType::Ipv4Addr);
    assert_eq!(id.data, [0xde]);
    assert_eq!(id.as_ipv4(), None, "one byte is no IPv4 address");
    let trailing = WireError::TrailingBytes {
        field: "payload chain",
        offset: 37,
        count: 39,
    };
    assert_eq!(items[1], Err(trailing));
    assert_eq!(MessageRepr::parse(b), Err(trailing));
    wire_support::walk_all(b);
}

/// IKEv1 datagrams: the header view reads them, the parsers refuse them by version.
fn refuse_ikev1(frame: u64, b: &[u8]) -> (u8, u32) {
    let v1 = WireError::UnsupportedVersion { major: 1, minor: 0 };
    let h = Header::new_checked(b).unwrap_or_else(|e| panic!("frame {frame}: {e}"));
    assert_eq!(h.length() as usize, b.len());
    assert_eq!(HeaderRepr::parse(&h), Err(v1), "frame {frame}");
    assert_eq!(MessageRepr::parse(b), Err(v1), "frame {frame}");
    wire_support::walk_all(b);
    (h.exchange_type().value(), h.message_id())
}

#[test]
fn ikev1_captures_are_refused_by_version() {
    // MANIFEST: isakmp4500.pcap has 35 frames: 8 ARP, IKEv1 exchange types 2 (x6), 32 (x8)
    // and 5 (x1), 8 ESP in UDP 4500 and 4 NAT keepalives.
    let (udp, not_udp) = udp_frames("isakmp4500.pcap");
    assert_eq!(not_udp, 8);
    let (mut esp, mut keepalives, mut marker) = (0, 0, 0);
    let mut exchanges = std::collections::BTreeMap::new();
    for u in &udp {
        match classify(u) {
            Carried::Ike(b) => {
                marker += usize::from(u.dport == 4500);
                let (x, _) = refuse_ikev1(u.frame, &b);
                *exchanges.entry(x).or_insert(0) += 1;
            }
            Carried::Esp => esp += 1,
            Carried::Keepalive => keepalives += 1,
            Carried::Other => panic!("frame {}: not IKE", u.frame),
        }
    }
    assert_eq!((esp, keepalives, marker), (8, 4, 11));
    assert_eq!(
        exchanges.into_iter().collect::<Vec<_>>(),
        [(2, 6), (5, 1), (32, 8)]
    );

    // ISAKMP_sa_setup.pcap, decoded by tcpdump in isakmp5-v.out: six "phase 1 ... ident"
    // messages (exchange 2, msgid 0), then three "oakley-quick" (exchange 32, msgid 0f2b7862).
    let printed = read_tcpdump(std::str::from_utf8(&data("isakmp5-v.out")).unwrap());
    let msgs = ike_messages("ISAKMP_sa_setup.pcap");
    assert_eq!(msgs.len(), 9);
    assert_eq!(printed.len(), 9);
    for ((frame, b), p) in msgs.iter().zip(&printed) {
        assert!(p.head.contains("isakmp 1.0 "));
        let (x, msgid) = refuse_ikev1(*frame, b);
        assert_eq!(
            msgid,
            u32::from_str_radix(word(&p.head, "msgid "), 16).unwrap()
        );
        let want = if p.head.contains("oakley-quick") {
            32
        } else {
            2
        };
        assert_eq!(x, want, "frame {frame}");
    }
}

//! IPsec configuration in IOS-XE's words: every IKEv2 and IPsec command into the typed
//! model, the compliance shield's refusals (at the token, naming a replacement), IKEv1
//! accepted with a warning, and [`crypto::resolve`] with IOS-XE's smart defaults and its
//! errors for incomplete profiles.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;

use dmvpn_config::crypto::{self, DhGroup, Encryption, Integrity, Prf};
use dmvpn_config::*;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ok(text: &str) -> Parsed {
    let p = parse(text);
    assert!(!p.has_errors(), "{}", p.render("test.conf"));
    p
}

fn errors(p: &Parsed) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render("t"))
        .collect()
}

fn warnings(p: &Parsed) -> Vec<String> {
    p.diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| d.render("t"))
        .collect()
}

const TUNNEL: &str = "\
interface eth0
 ip address 192.0.2.1 255.255.255.0
interface Tunnel0
 ip address 10.0.0.1 255.255.255.0
 tunnel source eth0
 tunnel mode gre multipoint
 tunnel protection ipsec profile P shared
";

/// Every IKEv2/IPsec command of the issue, written once.
const FULL: &str = "\
crypto ipsec security-association replay window-size 256
crypto ipsec security-association lifetime seconds 7200
crypto ipsec security-association lifetime kilobytes 100000
crypto ikev2 proposal GCM
 encryption aes-gcm-256 aes-gcm-128
 prf sha384 sha256
 group 19 20 31
crypto ikev2 proposal CBC
 encryption aes-cbc-256 aes-cbc-192
 integrity sha512 sha256
 group 14 15 16 21
crypto ikev2 policy POL
 proposal GCM
 proposal CBC
 match address local 192.0.2.1
 match fvrf any
crypto ikev2 keyring KR
 peer HUB
  address 198.51.100.1
  identity address 198.51.100.1
  pre-shared-key local 0 LOCAL-KEY
  pre-shared-key remote REMOTE-KEY
 peer ANY
  address 0.0.0.0 0.0.0.0
  identity fqdn any.example.net
  pre-shared-key WILDCARD
crypto ikev2 profile V2
 match identity remote address 0.0.0.0
 match identity remote fqdn domain example.net
 match fvrf any
 identity local fqdn spoke.example.net
 authentication remote pre-share
 authentication remote rsa-sig
 authentication local pre-share
 keyring local KR
 lifetime 3600
 dpd 30 5 on-demand
 nat keepalive 20
crypto ipsec transform-set TS-GCM esp-gcm 256
 mode transport require
crypto ipsec transform-set TS-CBC esp-aes 256 esp-sha256-hmac
 mode transport
crypto ipsec transform-set TS-OLD esp-aes esp-sha-hmac
crypto ipsec profile P
 set transform-set TS-GCM TS-CBC TS-OLD
 set ikev2-profile V2
 set pfs group20
 set security-association lifetime seconds 1800
 set security-association idle-time 600
 set security-association replay window-size 1024
";

#[test]
fn every_command_reaches_the_typed_model() {
    let p = ok(&format!("{FULL}{TUNNEL}"));
    let c = &p.config.crypto;
    assert_eq!(
        c.sa,
        GlobalSa {
            replay_window: Some(256),
            lifetime_seconds: Some(7200),
            lifetime_kilobytes: Some(100_000),
            idle_time: None,
        }
    );
    let gcm = &c.ikev2_proposals[0];
    assert_eq!(
        gcm.encryption,
        vec![
            Encryption::AesGcm16 { key_bits: 256 },
            Encryption::AesGcm16 { key_bits: 128 }
        ]
    );
    assert_eq!(gcm.prf, vec![Prf::HmacSha384, Prf::HmacSha256]);
    assert_eq!(
        gcm.group,
        vec![DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Curve25519]
    );
    let cbc = &c.ikev2_proposals[1];
    assert_eq!(
        cbc.integrity,
        vec![Integrity::HmacSha512_256, Integrity::HmacSha256_128]
    );
    assert_eq!(
        cbc.group,
        vec![
            DhGroup::Modp2048,
            DhGroup::Modp3072,
            DhGroup::Modp4096,
            DhGroup::Ecp521
        ]
    );
    let pol = &c.ikev2_policies[0];
    assert_eq!(pol.proposals, vec!["GCM", "CBC"]);
    assert_eq!(pol.match_address_local, vec![ip("192.0.2.1")]);
    assert!(pol.match_fvrf_any);
    let hub = &c.ikev2_keyrings[0].peers[0];
    assert_eq!(hub.address, Some((ip("198.51.100.1"), None)));
    assert_eq!(hub.identity, Some(Identity::Address(ip("198.51.100.1"))));
    assert_eq!(hub.pre_shared_key_local, Some(Secret::new("LOCAL-KEY")));
    assert_eq!(hub.pre_shared_key_remote, Some(Secret::new("REMOTE-KEY")));
    assert_eq!(hub.pre_shared_key, None);
    let any = &c.ikev2_keyrings[0].peers[1];
    assert_eq!(any.address, Some((ip("0.0.0.0"), Some(ip("0.0.0.0")))));
    let v2 = &c.ikev2_profiles[0];
    assert_eq!(
        v2.match_identity_remote,
        vec![
            IdentityMatch::Address {
                address: ip("0.0.0.0"),
                mask: None
            },
            IdentityMatch::Fqdn {
                domain: true,
                name: "example.net".into()
            }
        ]
    );
    assert!(v2.match_fvrf_any);
    assert_eq!(
        v2.identity_local,
        Some(Identity::Fqdn("spoke.example.net".into()))
    );
    assert_eq!(
        v2.authentication_remote,
        vec![AuthMethod::PreShare { key: None }, AuthMethod::RsaSig]
    );
    assert_eq!(
        v2.authentication_local,
        Some(AuthMethod::PreShare { key: None })
    );
    assert_eq!(v2.keyring.as_deref(), Some("KR"));
    assert_eq!(v2.lifetime, Some(3600));
    assert_eq!(
        v2.dpd,
        Some(Dpd {
            interval: 30,
            retry: 5,
            periodic: false
        })
    );
    assert_eq!(v2.nat_keepalive, Some(20));
    let ts = &c.transform_sets;
    assert_eq!(
        ts[0].encryption,
        Some(Encryption::AesGcm16 { key_bits: 256 })
    );
    assert_eq!(ts[0].integrity, None);
    assert_eq!(ts[0].mode, Some(IpsecMode::TransportRequire));
    assert_eq!(ts[1].encryption, Some(Encryption::AesCbc { key_bits: 256 }));
    assert_eq!(ts[1].integrity, Some(Integrity::HmacSha256_128));
    // `esp-aes` without a size is AES-128, as IOS.
    assert_eq!(ts[2].encryption, Some(Encryption::AesCbc { key_bits: 128 }));
    assert_eq!(ts[2].integrity, Some(Integrity::HmacSha1_96));
    assert_eq!(ts[2].mode, None);
    let prof = &c.ipsec_profiles[0];
    assert_eq!(prof.transform_sets, vec!["TS-GCM", "TS-CBC", "TS-OLD"]);
    assert_eq!(prof.pfs, Some(Pfs::Group(DhGroup::Ecp384)));
    assert_eq!(prof.lifetime_seconds, Some(1800));
    assert_eq!(prof.idle_time, Some(600));
    assert_eq!(prof.replay, Some(Replay::Window(1024)));
    assert_eq!(prof.ikev2_profile.as_deref(), Some("V2"));
}

#[test]
fn the_full_configuration_resolves_and_round_trips() {
    let p = parse(&format!("{FULL}{TUNNEL}"));
    // `authentication remote rsa-sig` next to pre-share is accepted in the model but
    // certificates come later: resolution uses the pre-shared key.
    assert!(!p.has_errors(), "{}", p.render("t"));
    let r = crypto::resolve(&p.config, "tunnel 0")
        .expect("resolves")
        .expect("protected");
    assert_eq!(r.tunnel, "Tunnel0");
    assert_eq!(r.ipsec_profile, "P");
    assert!(r.shared);
    let ike = &r.ike;
    assert_eq!(ike.profile, "V2");
    assert_eq!(ike.proposals.len(), 2);
    assert_eq!(ike.proposals[0].name, "GCM");
    assert!(
        ike.proposals[0].integrity.is_empty(),
        "no integrity with GCM"
    );
    assert_eq!(ike.proposals[0].prf, vec![Prf::HmacSha384, Prf::HmacSha256]);
    // AES-CBC without `prf`: the PRFs of the integrity algorithms.
    assert_eq!(ike.proposals[1].prf, vec![Prf::HmacSha512, Prf::HmacSha256]);
    // Longest prefix first.
    assert_eq!(ike.keyring.len(), 2);
    assert_eq!(ike.keyring[0].peer, "HUB");
    assert_eq!(ike.keyring[0].prefix, "198.51.100.1/32".parse().unwrap());
    assert_eq!(ike.keyring[0].local_psk.expose(), "LOCAL-KEY");
    assert_eq!(ike.keyring[0].remote_psk.expose(), "REMOTE-KEY");
    assert_eq!(ike.keyring[1].prefix, "0.0.0.0/0".parse().unwrap());
    assert_eq!(ike.keyring[1].local_psk.expose(), "WILDCARD");
    assert_eq!(ike.keyring[1].remote_psk.expose(), "WILDCARD");
    assert_eq!(
        ike.local_identity,
        Some(Identity::Fqdn("spoke.example.net".into()))
    );
    assert_eq!(ike.lifetime_secs, 3600);
    assert_eq!(ike.nat_keepalive_secs, Some(20));
    assert!(ike.dpd.is_some());
    let ch = &r.child;
    assert_eq!(ch.transform_sets, vec!["TS-GCM", "TS-CBC", "TS-OLD"]);
    assert_eq!(ch.transforms[0].integrity, None);
    assert_eq!(ch.transforms[1].mode, IpsecMode::Transport);
    // No `mode` line: transport.
    assert_eq!(ch.transforms[2].mode, IpsecMode::Transport);
    assert_eq!(ch.mode, IpsecMode::TransportRequire);
    assert_eq!(ch.pfs, Some(DhGroup::Ecp384));
    // The profile's lines win over the global ones, the global ones over the defaults.
    assert_eq!(ch.lifetime_seconds, 1800);
    assert_eq!(ch.lifetime_kilobytes, 100_000);
    assert_eq!(ch.idle_time_secs, Some(600));
    assert_eq!(ch.replay_window, Some(1024));
    // Secrets stay out of Debug.
    let dbg = format!("{r:?}");
    assert!(
        !dbg.contains("LOCAL-KEY") && !dbg.contains("WILDCARD"),
        "{dbg}"
    );

    // The writer prints every command back, and the parser reads the same model.
    let text = p.config.to_ios_text();
    for line in [
        "crypto ipsec security-association replay window-size 256\n",
        " encryption aes-gcm-256 aes-gcm-128\n prf sha384 sha256\n group 19 20 31\n",
        " match address local 192.0.2.1\n match fvrf any\n",
        "  pre-shared-key local LOCAL-KEY\n  pre-shared-key remote REMOTE-KEY\n",
        " match identity remote fqdn domain example.net\n",
        " authentication remote pre-share\n authentication remote rsa-sig\n",
        " nat keepalive 20\n",
        "crypto ipsec transform-set TS-GCM esp-gcm 256\n mode transport require\n",
        "crypto ipsec transform-set TS-OLD esp-aes esp-sha-hmac\n",
        " set security-association idle-time 600\n set security-association replay window-size 1024\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert_eq!(parse(&text).config, p.config);
}

#[test]
fn smart_defaults_fill_what_is_not_written() {
    let text = format!(
        "\
crypto ikev2 keyring KR
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key KEY
crypto ikev2 profile V2
 match identity remote address 0.0.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
crypto ipsec profile P
 set ikev2-profile V2
{TUNNEL}"
    );
    let p = ok(&text);
    assert!(p.diagnostics.is_empty(), "{}", p.render("t"));
    let r = crypto::resolve(&p.config, "Tunnel0").unwrap().unwrap();
    assert_eq!(r.ike.proposals, vec![crypto::default_ike_proposal()]);
    let d = &r.ike.proposals[0];
    assert_eq!(d.encryption, vec![Encryption::AesCbc { key_bits: 256 }]);
    assert_eq!(
        d.integrity,
        vec![Integrity::HmacSha512_256, Integrity::HmacSha384_192]
    );
    assert_eq!(d.prf, vec![Prf::HmacSha512, Prf::HmacSha384]);
    // IOS-XE's 19, 14, 21, 5 without the refused group 5.
    assert_eq!(
        d.dh_groups,
        vec![DhGroup::Ecp256, DhGroup::Modp2048, DhGroup::Ecp521]
    );
    assert_eq!(r.ike.lifetime_secs, 86_400);
    assert_eq!(r.ike.dpd, None);
    assert_eq!(r.ike.nat_keepalive_secs, None);
    assert_eq!(r.ike.local_identity, None);
    assert_eq!(r.child.transform_sets, vec!["default"]);
    assert_eq!(r.child.transforms, vec![crypto::default_transform()]);
    assert_eq!(
        r.child.transforms[0].encryption,
        Encryption::AesCbc { key_bits: 128 }
    );
    assert_eq!(
        r.child.transforms[0].integrity,
        Some(Integrity::HmacSha1_96)
    );
    assert_eq!(r.child.mode, IpsecMode::Transport);
    assert_eq!(r.child.pfs, None);
    assert_eq!(r.child.lifetime_seconds, 3600);
    assert_eq!(r.child.lifetime_kilobytes, 4_608_000);
    assert_eq!(r.child.idle_time_secs, None);
    assert_eq!(r.child.replay_window, Some(64));
    assert!(r.shared);
    // Inline keys need no keyring; `set pfs` alone takes the IKE proposal's first group.
    let inline = text
        .replace(
            " authentication remote pre-share\n authentication local pre-share\n keyring local KR\n",
            " authentication remote pre-share key THEIRS\n authentication local pre-share key MINE\n",
        )
        .replace(" set ikev2-profile V2\n", " set ikev2-profile V2\n set pfs\n")
        .replace(
            " set transform-set",
            " set security-association replay disable\n set transform-set",
        );
    let p = parse(&inline);
    assert!(!p.has_errors(), "{}", p.render("t"));
    assert!(
        warnings(&p)
            .iter()
            .any(|w| w.contains("`set pfs` without a group")),
        "{:?}",
        warnings(&p)
    );
    let r = crypto::resolve(&p.config, "Tunnel0").unwrap().unwrap();
    assert_eq!(r.ike.keyring.len(), 1);
    assert_eq!(r.ike.keyring[0].local_psk.expose(), "MINE");
    assert_eq!(r.ike.keyring[0].remote_psk.expose(), "THEIRS");
    assert_eq!(r.child.pfs, Some(DhGroup::Ecp256));
    // An unprotected tunnel resolves to nothing.
    let plain =
        ok("interface Tunnel1\n ip address 10.1.0.1 255.255.255.0\n tunnel mode gre multipoint\n");
    assert_eq!(crypto::resolve(&plain.config, "Tunnel1"), Ok(None));
}

#[test]
fn replay_disable_is_accepted_with_a_warning() {
    let p = parse("crypto ipsec profile P\n set security-association replay disable\n");
    assert!(!p.has_errors());
    assert_eq!(
        warnings(&p),
        vec![
            "t:2:2: warning: IPsec profile `P`: anti-replay is disabled: replayed ESP packets will be accepted"
        ]
    );
    assert_eq!(
        p.config.crypto.ipsec_profiles[0].replay,
        Some(Replay::Disabled)
    );
    let bad = parse("crypto ipsec security-association replay window-size 100\n");
    assert_eq!(
        errors(&bad),
        vec![
            "t:1:54: error: unexpected `100` after `crypto ipsec security-association replay window-size`: expected one of `64`, `128`, `256`, `512`, `1024`"
        ]
    );
}

/// (configuration, line, column, the algorithm's words in the message).
const REFUSED: &[(&str, u32, u32, &str)] = &[
    (
        "crypto ipsec transform-set T esp-des esp-sha-hmac\n",
        1,
        30,
        "transform `esp-des`: DES is refused (56-bit key, broken); use AES-GCM",
    ),
    (
        "crypto ipsec transform-set T esp-3des esp-sha-hmac\n",
        1,
        30,
        "transform `esp-3des`: 3DES is refused",
    ),
    (
        "crypto ipsec transform-set T esp-aes esp-md5-hmac\n",
        1,
        38,
        "transform `esp-md5-hmac`: MD5 is refused (broken hash, deprecated by RFC 8221 and RFC 8247); use SHA-2 (`esp-sha256-hmac`",
    ),
    (
        "crypto ipsec transform-set T ah-md5-hmac esp-aes\n",
        1,
        30,
        "transform `ah-md5-hmac`: MD5 is refused",
    ),
    (
        "crypto ikev2 proposal X\n encryption aes-cbc-256 3des\n",
        2,
        25,
        "IKEv2 encryption `3des`: 3DES is refused",
    ),
    (
        "crypto ikev2 proposal X\n encryption des\n",
        2,
        13,
        "IKEv2 encryption `des`: DES is refused",
    ),
    (
        "crypto ikev2 proposal X\n integrity sha256 md5\n",
        2,
        19,
        "IKEv2 integrity `md5`: MD5 is refused",
    ),
    (
        "crypto ikev2 proposal X\n prf md5\n",
        2,
        6,
        "IKEv2 PRF `md5`: MD5 is refused",
    ),
    (
        "crypto ikev2 proposal X\n group 19 1\n",
        2,
        11,
        "`group 1`: DH group 1 is refused (768-bit MODP, broken); use group 19 (ECP-256) or group 14 (MODP-2048) instead",
    ),
    (
        "crypto ikev2 proposal X\n group 2\n",
        2,
        8,
        "`group 2`: DH group 2 is refused",
    ),
    (
        "crypto ikev2 proposal X\n group 5 14\n",
        2,
        8,
        "`group 5`: DH group 5 is refused (1536-bit MODP, too weak (RFC 8247))",
    ),
    (
        "crypto isakmp policy 1\n encryption des\n",
        2,
        13,
        "ISAKMP encryption `des`: DES is refused",
    ),
    (
        "crypto isakmp policy 1\n encryption 3des\n",
        2,
        13,
        "ISAKMP encryption `3des`: 3DES is refused",
    ),
    (
        "crypto isakmp policy 1\n hash md5\n",
        2,
        7,
        "ISAKMP hash `md5`: MD5 is refused",
    ),
    (
        "crypto isakmp policy 1\n group 1\n",
        2,
        8,
        "`group 1`: DH group 1 is refused",
    ),
    (
        "crypto isakmp policy 1\n group 2\n",
        2,
        8,
        "`group 2`: DH group 2 is refused",
    ),
    (
        "crypto isakmp policy 1\n group 5\n",
        2,
        8,
        "`group 5`: DH group 5 is refused",
    ),
    (
        "crypto ipsec profile P\n set pfs group2\n",
        2,
        10,
        "`set pfs group2`: DH group 2 is refused",
    ),
];

#[test]
fn the_compliance_shield_refuses_broken_algorithms_at_the_token() {
    for (text, line, column, words) in REFUSED {
        let p = parse(text);
        let errs: Vec<&Diagnostic> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert_eq!(errs.len(), 1, "{text}: {}", p.render("t"));
        let d = errs[0];
        assert_eq!(
            (d.span.line, d.span.column),
            (*line, *column),
            "{text}: {d}"
        );
        assert!(d.message.contains(words), "{text}: {}", d.message);
        assert!(d.message.ends_with(" instead"), "{text}: {}", d.message);
    }
    // Every refused token of a line is reported.
    let p = parse("crypto ikev2 proposal X\n encryption des 3des\n integrity md5\n");
    assert_eq!(errors(&p).len(), 3, "{}", p.render("t"));
}

#[test]
fn unusable_transform_sets_and_proposals_are_errors() {
    for (text, want) in [
        (
            "crypto ipsec transform-set T esp-aes 256\n",
            "t:1:30: error: `esp-aes` needs an integrity transform: add `esp-sha256-hmac` (or use `esp-gcm 256`, which authenticates by itself)",
        ),
        (
            "crypto ipsec transform-set T esp-gcm 256 esp-sha-hmac\n",
            "t:1:42: error: `esp-sha-hmac` cannot be combined with AES-GCM, which authenticates by itself: remove it",
        ),
        (
            "crypto ipsec transform-set T esp-sha256-hmac\n",
            "t:1:30: error: transform set `T` has no cipher: add `esp-aes 256` before `esp-sha256-hmac`, or use `esp-gcm 256` alone",
        ),
        (
            "crypto ipsec transform-set T esp-null esp-sha-hmac\n",
            "t:1:30: error: transform `esp-null` is not supported: dmvpn protects with ESP, `esp-gcm 128|256` or `esp-aes 128|192|256` with `esp-sha256-hmac` (or sha384, sha512, sha)",
        ),
        (
            "crypto ipsec transform-set T esp-aes esp-gcm\n",
            "t:1:38: error: a transform set has one cipher: `esp-aes` and `esp-gcm` given; list several transform sets in the profile instead",
        ),
        (
            "crypto ikev2 proposal X\n encryption aes-cbc-256 aes-gcm-256\n",
            "t:2:25: error: IKEv2 proposal `X`: AES-GCM and AES-CBC cannot be in one proposal (RFC 7296 §3.3): put the AES-GCM ciphers in a proposal of their own",
        ),
        (
            "crypto ikev2 proposal X\n group 24\n",
            "t:2:8: error: Diffie-Hellman group 24 is not supported: expected one of 14, 15, 16, 19, 20, 21, 31",
        ),
        (
            "crypto ikev2 keyring K\n peer A\n  pre-shared-key 6 0123ABCD\n",
            "t:3:18: error: encrypted keys (type 6) cannot be read without the router's master key: write the key in clear text (`0 KEY` or just `KEY`)",
        ),
    ] {
        let p = parse(text);
        assert_eq!(errors(&p), vec![want], "{text}");
    }
}

#[test]
fn ikev1_is_accepted_with_a_warning_and_its_tunnels_are_flagged() {
    let text = format!(
        "\
crypto isakmp policy 10
 encryption aes 256
 hash sha256
 authentication pre-share
 group 14
crypto isakmp key SECRET address 0.0.0.0 0.0.0.0
crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac
crypto ipsec profile P
 set transform-set T
{TUNNEL}"
    );
    let p = parse(&text);
    assert!(!p.has_errors(), "{}", p.render("t"));
    let w = warnings(&p);
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(
        w[0],
        "t:1:1: warning: `crypto isakmp policy 10`: IKEv1 is not supported yet (it comes in a later release); accepted, but a tunnel whose IPsec profile has no `set ikev2-profile` will not start"
    );
    // The key stays out of the message.
    assert!(
        w[1].starts_with("t:6:1: warning: `crypto isakmp key`: IKEv1"),
        "{}",
        w[1]
    );
    assert!(!w[1].contains("SECRET"));
    let cfg = &p.config;
    let pol = &cfg.crypto.isakmp_policies[0];
    assert_eq!(pol.encryption, Some(Encryption::AesCbc { key_bits: 256 }));
    assert_eq!(pol.hash, Some(Integrity::HmacSha256_128));
    assert_eq!(pol.group, Some(DhGroup::Modp2048));
    let (iface, t) = cfg.tunnels().next().unwrap();
    assert!(cfg.needs_ikev1(t));
    let refusal = cfg.ikev1_refusal(&iface.name, t).unwrap();
    assert!(refusal.contains(IKEV1_NOT_SUPPORTED), "{refusal}");
    // `config check` says the same words at the tunnel's protection line.
    assert_eq!(w[2], format!("t:16:34: warning: {refusal}"));
    // The daemon's resolution refuses the tunnel with that message.
    let e = crypto::resolve(cfg, "Tunnel0").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].message, refusal);
    // With `set ikev2-profile`, the tunnel no longer needs IKEv1.
    let v2 = ok(&format!(
        "{FULL}{TUNNEL}crypto isakmp key SECRET address 0.0.0.0\n"
    ));
    let t = v2.config.tunnels().next().unwrap().1;
    assert!(!v2.config.needs_ikev1(t));
}

#[test]
fn incomplete_profiles_are_errors_with_positions() {
    let base = "\
crypto ikev2 keyring KR
 peer ANY
  address 0.0.0.0 0.0.0.0
  pre-shared-key KEY
crypto ikev2 profile V2
 match identity remote address 0.0.0.0
 authentication remote pre-share
 authentication local pre-share
 keyring local KR
crypto ipsec transform-set TS esp-gcm 256
crypto ipsec profile P
 set transform-set TS
 set ikev2-profile V2
";
    let with_tunnel = |t: &str| format!("{t}{TUNNEL}");
    ok(&with_tunnel(base));
    for (edit, want) in [
        (
            (" keyring local KR\n", ""),
            "t:8:2: error: IKEv2 profile `V2`: `pre-share` authentication needs a keyring: add `keyring local NAME` (or write the key inline, `authentication local pre-share key KEY`)",
        ),
        (
            (" set transform-set TS\n", " set transform-set TS-NOPE\n"),
            "t:12:20: error: IPsec profile `P`: transform-set `TS-NOPE` does not exist: expected a `crypto ipsec transform-set TS-NOPE …` line; did you mean `TS`?",
        ),
        (
            (" set ikev2-profile V2\n", " set ikev2-profile V3\n"),
            "t:13:20: error: IPsec profile `P`: IKEv2 profile `V3` does not exist: expected a `crypto ikev2 profile V3` block",
        ),
        (
            ("  pre-shared-key KEY\n", "  pre-shared-key local KEY\n"),
            "t:2:7: error: keyring `KR`, peer `ANY`: no remote pre-shared key: add `pre-shared-key KEY` (or `pre-shared-key remote KEY`)",
        ),
        (
            (" authentication local pre-share\n", ""),
            "t:5:22: error: IKEv2 profile `V2` is incomplete: no `authentication local` (add `authentication local pre-share`)",
        ),
        (
            (" match identity remote address 0.0.0.0\n", ""),
            "t:5:22: error: IKEv2 profile `V2` is incomplete: no `match identity remote` (add `match identity remote address 0.0.0.0` to accept any peer)",
        ),
        (
            (
                " authentication local pre-share\n",
                " authentication local rsa-sig\n",
            ),
            "t:8:2: error: IKEv2 profile `V2`: `authentication local rsa-sig` needs certificates, which come in a later release: use `pre-share`",
        ),
    ] {
        let text = with_tunnel(&base.replace(edit.0, edit.1));
        let p = parse(&text);
        assert_eq!(errors(&p), vec![want], "edit {edit:?}:\n{}", p.render("t"));
        // The daemon's entry point reports the same problem (without a position).
        let e = crypto::resolve(&p.config, "Tunnel0").unwrap_err();
        assert!(
            e.iter().any(|d| want.ends_with(&d.message)),
            "{edit:?}: {e:?}"
        );
    }
    // A keyring whose peers have no key at all.
    let text = with_tunnel(&base.replace("  pre-shared-key KEY\n", ""));
    let p = parse(&text);
    assert_eq!(
        errors(&p),
        vec![
            "t:2:7: error: keyring `KR`, peer `ANY`: no local pre-shared key: add `pre-shared-key KEY` (or `pre-shared-key local KEY`)"
        ]
    );
    // An incomplete proposal, once a policy uses it.
    let text = with_tunnel(&format!(
        "{base}crypto ikev2 proposal PR\n encryption aes-gcm-256\n group 19\ncrypto ikev2 policy POL\n proposal PR\n"
    ));
    assert_eq!(
        errors(&parse(&text)),
        vec![
            "t:14:23: error: IKEv2 proposal `PR` is incomplete: it needs `prf` (AES-GCM has no integrity algorithm to derive it from; e.g. `prf sha256`)"
        ]
    );
    // A policy that does not apply to the tunnel's address.
    let text = with_tunnel(&format!(
        "{base}crypto ikev2 proposal PR\n encryption aes-gcm-256\n prf sha256\n group 19\ncrypto ikev2 policy POL\n proposal PR\n match address local 203.0.113.1\n"
    ));
    let p = parse(&text);
    assert_eq!(errors(&p).len(), 1, "{}", p.render("t"));
    assert!(
        errors(&p)[0].contains("no `crypto ikev2 policy` applies to the local address 192.0.2.1"),
        "{:?}",
        errors(&p)
    );
    // A refused transform set is reported once, at its token, not again where it is used.
    let text = with_tunnel(&base.replace("esp-gcm 256", "esp-3des esp-sha-hmac"));
    assert_eq!(
        errors(&parse(&text)),
        vec![
            "t:10:31: error: transform `esp-3des`: 3DES is refused (64-bit block, deprecated by RFC 8221 and RFC 8247); use AES-GCM (`esp-gcm 256`, or `encryption aes-gcm-256` in an IKEv2 proposal) instead"
        ]
    );
}

#[test]
fn unused_proposals_and_identity_only_peers_are_warned_about() {
    let p = parse(
        "crypto ikev2 proposal PR\n encryption aes-gcm-256 \n prf sha256\n group 19\ncrypto ikev2 keyring K\n peer X\n  identity fqdn x.example.net\n  pre-shared-key KEY\n",
    );
    assert!(!p.has_errors());
    assert_eq!(
        warnings(&p),
        vec![
            "t:1:23: warning: IKEv2 proposal `PR` is not used: without a `crypto ikev2 policy`, the default proposal is used; add `proposal PR` to a `crypto ikev2 policy`",
            "t:6:7: warning: keyring `K`, peer `X` has no `address`: it is not used (dmvpn finds a peer's keys by its address)",
        ]
    );
}

#[test]
fn serde_uses_the_ios_names_and_reads_them_back() {
    let p = ok(&format!("{FULL}{TUNNEL}"));
    let json = serde_json::to_value(&p.config).unwrap();
    assert_eq!(
        json["crypto"]["transform_sets"][0]["encryption"],
        "aes-gcm-256"
    );
    assert_eq!(json["crypto"]["ipsec_profiles"][0]["pfs"]["Group"], 20);
    let back: Config = serde_json::from_value(json).unwrap();
    assert_eq!(back, p.config);
    // A refused name does not deserialise.
    let mut json = serde_json::to_value(&p.config).unwrap();
    json["crypto"]["ikev2_proposals"][0]["encryption"][0] = "3des".into();
    assert!(serde_json::from_value::<Config>(json).is_err());
}

#[test]
fn call_admission_limits_reach_the_model_and_round_trip() {
    let p = ok("\
crypto call admission limit ike sa 40
crypto ikev2 limit max-sa 50
crypto ikev2 limit max-in-negotiation-sa 10
crypto ikev2 cookie-challenge 5
");
    let l = p.config.crypto.limits;
    assert_eq!(l.call_admission_ike_sa, Some(40));
    assert_eq!(l.max_sa, Some(50));
    assert_eq!(l.max_in_negotiation_sa, Some(10));
    assert_eq!(l.cookie_challenge, Some(5));
    assert_eq!(l.max_sas(), Some(40));
    let again = ok(&p.config.to_ios_text());
    assert_eq!(again.config.crypto.limits, l);
    let bad = parse("crypto ikev2 limit max-sa 0\n");
    assert!(bad.has_errors());
}

#[test]
fn identity_maps_reach_the_model_round_trip_and_are_checked() {
    let text = format!(
        "{FULL}crypto ikev2 identity-map SITES address 172.16.1.1 tunnel-address 10.0.0.11 255.255.255.255\ncrypto ikev2 identity-map SITES fqdn domain branches.example tunnel-address 10.0.1.0 255.255.255.0\n{}",
        TUNNEL.replace(
            " tunnel source eth0\n",
            " ip nhrp identity-map SITES\n tunnel source eth0\n"
        )
    );
    let p = ok(&text);
    let maps = &p.config.crypto.identity_maps;
    assert_eq!(maps.len(), 2);
    assert_eq!(maps[0].map, "SITES");
    assert_eq!(
        maps[0].identity,
        IdentityMatch::Address {
            address: ip("172.16.1.1"),
            mask: None
        }
    );
    assert_eq!(maps[1].mask, ip("255.255.255.0"));
    let again = ok(&p.config.to_ios_text());
    assert_eq!(&again.config.crypto.identity_maps, maps);
    // A map that does not exist is an error at its name.
    let missing = parse(&text.replace("ip nhrp identity-map SITES", "ip nhrp identity-map SITE"));
    let errs = errors(&missing);
    assert!(
        errs.iter()
            .any(|e| e.contains("identity map `SITE` does not exist")
                && e.contains("did you mean `SITES`")),
        "{errs:?}"
    );
}

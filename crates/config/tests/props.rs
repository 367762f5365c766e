//! Property tests: the parser and the importers never panic, on arbitrary
//! text and on mutated real configurations; the normalised writer round-trips
//! (writer → parser gives the same model) for generated models and for
//! whatever the parser made of a mutated file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::Ipv4Addr;
use std::path::Path;

use dmvpn_config::crypto::{DhGroup, Encryption, Integrity, Prf};
use dmvpn_config::import::{Dialect, import};
use dmvpn_config::*;
use proptest::prelude::*;
use proptest::sample::select;

fn fixture_texts() -> Vec<String> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for sub in ["ios", "errors", "aos", "vyos"] {
        let mut files: Vec<_> = std::fs::read_dir(base.join(sub))
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == "conf" || e == "aos" || e == "vyos")
            })
            .collect();
        files.sort();
        for f in files {
            out.push(std::fs::read_to_string(f).expect("read"));
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    DeleteToken(usize, usize),
    ReplaceToken(usize, usize, String),
    InsertChar(usize, char),
    Indent(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just("0".to_string()),
        Just("4294967296".to_string()),
        Just("999999999999999999999999".to_string()),
        Just("-1".to_string()),
        Just("10.0.0.1".to_string()),
        Just("255.255.255.0".to_string()),
        Just("no".to_string()),
        Just("interface".to_string()),
        Just("exit".to_string()),
        Just("end".to_string()),
        Just("peer".to_string()),
        Just("dynamic".to_string()),
        Just("multicast".to_string()),
        Just("Tunnel".to_string()),
        Just("crypto".to_string()),
        "[a-z0-9./-]{0,12}",
        "\\PC{0,6}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::DeleteToken(a, b)),
        (any::<usize>(), any::<usize>(), token)
            .prop_map(|(a, b, t)| Mutation::ReplaceToken(a, b, t)),
        (any::<usize>(), any::<char>()).prop_map(|(a, c)| Mutation::InsertChar(a, c)),
        (any::<usize>(), 0usize..4).prop_map(|(a, n)| Mutation::Indent(a, n)),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for m in muts {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
            Mutation::DeleteToken(i, j) | Mutation::ReplaceToken(i, j, _) => {
                let mut toks: Vec<String> = lines[i % n]
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                if toks.is_empty() {
                    continue;
                }
                let k = j % toks.len();
                match m {
                    Mutation::ReplaceToken(_, _, t) => toks[k] = t.clone(),
                    _ => {
                        toks.remove(k);
                    }
                }
                lines[i % n] = format!(" {}", toks.join(" "));
            }
            Mutation::InsertChar(i, c) => {
                let l = &mut lines[i % n];
                let pos = l
                    .char_indices()
                    .map(|(p, _)| p)
                    .nth(i % (l.chars().count() + 1))
                    .unwrap_or(l.len());
                l.insert(pos, *c);
            }
            Mutation::Indent(i, k) => {
                let l = lines[i % n].trim_start().to_string();
                lines[i % n] = format!("{}{l}", " ".repeat(*k));
            }
        }
    }
    lines.join("\n")
}

fn assert_round_trip(cfg: &Config) -> Result<(), TestCaseError> {
    let text = cfg.to_ios_text();
    let again = parse(&text);
    prop_assert_eq!(&again.config, cfg, "normalised text:\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let p = parse(&text);
        let _ = p.render("fuzz.conf");
        let _ = import(Dialect::Aos, &text);
        let _ = import(Dialect::Vyos, &text);
    }

    #[test]
    fn never_panics_on_config_like_lines(lines in prop::collection::vec(
        prop::collection::vec(select(vec![
            "interface", "Tunnel0", "tunnel", "ip", "nhrp", "map", "multicast", "dynamic", "nhs",
            "nbma", "holdtime", "0", "65536", "10.0.0.1", "255.255.255.0", "192.0.2.1", "no",
            "crypto", "isakmp", "ipsec", "ikev2", "profile", "keyring", "peer", "set", "transform-set",
            "esp-aes", "256", "mode", "gre", "multipoint", "source", "eth0", "exit", "end", "router",
            "!", "registration", "timeout", "key", "protection", "shared", "route", "address", "dhcp",
        ]), 0..8), 0..40)) {
        let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
        let p = parse(&text);
        assert_round_trip(&p.config)?;
    }

    #[test]
    fn mutated_real_configs_never_panic_and_round_trip(
        idx in any::<usize>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let texts = fixture_texts();
        let text = apply(&texts[idx % texts.len()], &muts);
        let p = parse(&text);
        let _ = p.render("mutated.conf");
        assert_round_trip(&p.config)?;
        let a = import(Dialect::Aos, &text);
        assert_round_trip(&a.config)?;
        let v = import(Dialect::Vyos, &text);
        assert_round_trip(&v.config)?;
    }

    #[test]
    fn generated_models_round_trip(cfg in config()) {
        assert_round_trip(&cfg)?;
    }
}

// ---------- generators of well-formed models ----------

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,8}"
}

fn host_net() -> impl Strategy<Value = Ipv4Net> {
    (ip(), 0u8..=32).prop_filter_map("host address", |(a, l)| {
        let n = Ipv4Net::new(a, l).ok()?;
        (l >= 31 || (a != n.network() && a != n.broadcast())).then_some(n)
    })
}

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9]{1,6}", 1..4).prop_map(|w| w.join(" "))
}

fn dedup<T: PartialEq>(v: Vec<T>, same: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for x in v {
        if !out.iter().any(|y| same(y, &x)) {
            out.push(x);
        }
    }
    out
}

fn nhrp() -> impl Strategy<Value = Nhrp> {
    let nhs = (
        prop_oneof![3 => ip().prop_map(NhsAddress::Address), 1 => Just(NhsAddress::Dynamic)],
        prop::option::of(ip()),
        any::<bool>(),
        prop::option::of(any::<u8>()),
        prop::option::of(0u8..=10),
    )
        .prop_map(|(protocol, nbma, multicast, priority, cluster)| NhsEntry {
            protocol,
            nbma: if protocol == NhsAddress::Dynamic {
                Some(nbma.unwrap_or(Ipv4Addr::new(192, 0, 2, 1)))
            } else {
                nbma
            },
            multicast,
            priority,
            cluster,
        });
    (
        prop::option::of(1u32..),
        prop::option::of("[A-Za-z0-9!]{1,8}"),
        prop::option::of(1u16..),
        prop::option::of(1u16..),
        any::<bool>(),
        prop::collection::vec(
            (ip(), ip()).prop_map(|(protocol, nbma)| NhrpMap { protocol, nbma }),
            0..3,
        ),
        prop::collection::vec(
            prop_oneof![
                ip().prop_map(MulticastMap::Nbma),
                Just(MulticastMap::Dynamic)
            ],
            0..3,
        ),
        prop::collection::vec(nhs, 0..3),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::of((1u16.., 10u16..).prop_map(|(packets, every_secs)| MaxSend {
            packets,
            every_secs,
        })),
    )
        .prop_map(
            |(
                network_id,
                authentication,
                holdtime,
                registration_timeout,
                no_unique,
                maps,
                multicast,
                nhs,
                flags,
                max_send,
            )| {
                Nhrp {
                    network_id,
                    authentication,
                    holdtime,
                    registration_timeout,
                    registration_no_unique: no_unique,
                    maps: dedup(maps, |a, b| a == b),
                    multicast: dedup(multicast, |a, b| a == b),
                    nhs: dedup(nhs, |a, b| a.protocol == b.protocol),
                    record: flags.0,
                    redirect: flags.1,
                    shortcut: flags.2,
                    max_send,
                    identity_map: None,
                }
            },
        )
}

fn tunnel(number: u32) -> impl Strategy<Value = Tunnel> {
    (
        any::<bool>(),
        prop::option::of(prop_oneof![
            ip().prop_map(TunnelSource::Address),
            "eth[0-9]".prop_map(TunnelSource::Interface)
        ]),
        prop::option::of(ip()),
        prop::option::of(any::<u32>()),
        prop::option::of(
            (name(), any::<bool>())
                .prop_map(|(profile, shared)| TunnelProtection { profile, shared }),
        ),
        nhrp(),
    )
        .prop_map(
            move |(mp, source, destination, key, protection, nhrp)| Tunnel {
                number,
                mode: if mp {
                    TunnelMode::GreMultipoint
                } else {
                    TunnelMode::GreIp
                },
                source,
                destination,
                key,
                protection,
                nhrp,
            },
        )
}

fn interface() -> impl Strategy<Value = Interface> {
    let tunnel_part = prop_oneof![
        (0u32..100).prop_flat_map(|n| tunnel(n).prop_map(move |t| (format!("Tunnel{n}"), Some(t)))),
        "eth[0-9]{1,2}".prop_map(|n| (n, None)),
    ];
    (
        tunnel_part,
        prop::option::of(words()),
        prop::option::of(prop_oneof![
            host_net().prop_map(InterfaceAddress::Static),
            prop::option::of(name()).prop_map(|hostname| InterfaceAddress::Dhcp { hostname }),
        ]),
        prop::collection::vec(host_net(), 0..2),
        (prop::option::of(68u16..), prop::option::of(500u16..=1460)),
        (
            prop::option::of(1u32..=10_000_000),
            prop::option::of(1u32..=16_777_215),
        ),
        any::<bool>(),
        prop::option::of(name()),
        prop::collection::vec(
            select(vec![
                "ip ospf priority 0",
                "no ip split-horizon eigrp 1",
                "no ip redirects",
            ]),
            0..2,
        ),
    )
        .prop_map(
            |(
                (name, tunnel),
                description,
                address,
                secondary,
                (mtu, mss),
                (bandwidth, delay),
                shutdown,
                vrf,
                ignored,
            )| {
                Interface {
                    name,
                    description,
                    address,
                    secondary_addresses: dedup(secondary, |a, b| a == b),
                    mtu,
                    tcp_adjust_mss: mss,
                    bandwidth,
                    delay,
                    shutdown,
                    vrf,
                    tunnel,
                    ignored: ignored.into_iter().map(str::to_string).collect(),
                }
            },
        )
}

fn mask() -> impl Strategy<Value = Ipv4Addr> {
    (0u8..=32).prop_map(|l| {
        Ipv4Net::new(Ipv4Addr::UNSPECIFIED, l)
            .map(|n| n.netmask())
            .unwrap_or(Ipv4Addr::BROADCAST)
    })
}

fn secret() -> impl Strategy<Value = Secret> {
    "[A-Za-z0-9]{1,10}".prop_map(Secret::new)
}

fn dh() -> impl Strategy<Value = DhGroup> {
    select(DhGroup::ALL.to_vec())
}

fn integrity() -> impl Strategy<Value = Integrity> {
    select(Integrity::ALL.to_vec())
}

fn identity() -> impl Strategy<Value = Identity> {
    prop_oneof![
        ip().prop_map(Identity::Address),
        name().prop_map(Identity::Fqdn),
        name().prop_map(|n| Identity::Email(format!("{n}@example.net"))),
    ]
}

fn auth() -> impl Strategy<Value = AuthMethod> {
    prop_oneof![
        prop::option::of(secret()).prop_map(|key| AuthMethod::PreShare { key }),
        Just(AuthMethod::RsaSig),
        Just(AuthMethod::EcdsaSig),
    ]
}

fn transform_set() -> impl Strategy<Value = TransformSet> {
    let pair = prop_oneof![
        select(vec![128u16, 256]).prop_map(|key_bits| (Encryption::AesGcm16 { key_bits }, None)),
        (select(vec![128u16, 192, 256]), integrity())
            .prop_map(|(key_bits, i)| (Encryption::AesCbc { key_bits }, Some(i))),
    ];
    (
        name(),
        pair,
        prop::option::of(select(vec![
            IpsecMode::Tunnel,
            IpsecMode::Transport,
            IpsecMode::TransportRequire,
        ])),
    )
        .prop_map(|(name, (e, i), mode)| TransformSet {
            name,
            encryption: Some(e),
            integrity: i,
            mode,
        })
}

fn ipsec_profile() -> impl Strategy<Value = IpsecProfile> {
    (
        name(),
        prop::collection::vec(name(), 0..3),
        prop::option::of(prop_oneof![Just(Pfs::Default), dh().prop_map(Pfs::Group)]),
        (
            prop::option::of(120u32..=2_592_000),
            prop::option::of(2560u32..),
            prop::option::of(60u32..=86_400),
        ),
        prop::option::of(prop_oneof![
            Just(Replay::Disabled),
            select(REPLAY_WINDOW_SIZES.to_vec()).prop_map(Replay::Window)
        ]),
        prop::option::of(name()),
    )
        .prop_map(
            |(name, sets, pfs, (lifetime_seconds, lifetime_kilobytes, idle_time), replay, v2)| {
                IpsecProfile {
                    name,
                    transform_sets: dedup(sets, |a, b| a == b),
                    pfs,
                    lifetime_seconds,
                    lifetime_kilobytes,
                    idle_time,
                    replay,
                    ikev2_profile: v2,
                }
            },
        )
}

fn keyring() -> impl Strategy<Value = Ikev2Keyring> {
    let peer = (
        name(),
        prop::option::of((ip(), prop::option::of(mask()))),
        prop::option::of(identity()),
        (
            prop::option::of(secret()),
            prop::option::of(secret()),
            prop::option::of(secret()),
        ),
    )
        .prop_map(
            |(name, address, identity, (both, local, remote))| Ikev2Peer {
                name,
                address,
                identity,
                pre_shared_key: both,
                pre_shared_key_local: local,
                pre_shared_key_remote: remote,
            },
        );
    (name(), prop::collection::vec(peer, 0..3)).prop_map(|(name, peers)| Ikev2Keyring {
        name,
        peers: dedup(peers, |a, b| a.name == b.name),
    })
}

fn identity_match() -> impl Strategy<Value = IdentityMatch> {
    prop_oneof![
        (ip(), prop::option::of(mask()))
            .prop_map(|(address, mask)| IdentityMatch::Address { address, mask }),
        (any::<bool>(), name()).prop_map(|(domain, name)| IdentityMatch::Fqdn { domain, name }),
        (any::<bool>(), name()).prop_map(|(domain, name)| IdentityMatch::Email { domain, name }),
    ]
}

fn identity_claim() -> impl Strategy<Value = IdentityClaim> {
    (name(), identity_match(), ip(), mask()).prop_map(|(map, identity, address, mask)| {
        IdentityClaim {
            map,
            identity,
            address,
            mask,
        }
    })
}

fn ikev2_profile() -> impl Strategy<Value = Ikev2Profile> {
    let m = identity_match();
    (
        name(),
        prop::collection::vec(m, 0..3),
        any::<bool>(),
        prop::option::of(identity()),
        prop::option::of(auth()),
        prop::collection::vec(auth(), 0..3),
        prop::option::of(name()),
        (
            prop::option::of(120u32..=86400),
            prop::option::of((10u16..=3600, 2u16..=60, any::<bool>()).prop_map(
                |(interval, retry, periodic)| Dpd {
                    interval,
                    retry,
                    periodic,
                },
            )),
            prop::option::of(5u16..=3600),
        ),
    )
        .prop_map(
            |(name, m, fvrf, identity_local, local, remote, keyring, (lifetime, dpd, nat))| {
                Ikev2Profile {
                    name,
                    match_identity_remote: dedup(m, |a, b| a == b),
                    match_fvrf_any: fvrf,
                    identity_local,
                    authentication_local: local,
                    authentication_remote: dedup(remote, |a, b| {
                        std::mem::discriminant(a) == std::mem::discriminant(b)
                    }),
                    keyring,
                    lifetime,
                    dpd,
                    nat_keepalive: nat,
                }
            },
        )
}

fn proposal() -> impl Strategy<Value = Ikev2Proposal> {
    let enc = prop_oneof![
        prop::collection::vec(select(vec![128u16, 256]), 0..3).prop_map(|v| v
            .into_iter()
            .map(|key_bits| Encryption::AesGcm16 { key_bits })
            .collect::<Vec<_>>()),
        prop::collection::vec(select(vec![128u16, 192, 256]), 0..3).prop_map(|v| v
            .into_iter()
            .map(|key_bits| Encryption::AesCbc { key_bits })
            .collect::<Vec<_>>()),
    ];
    (
        name(),
        enc,
        prop::collection::vec(integrity(), 0..3),
        prop::collection::vec(select(Prf::ALL.to_vec()), 0..3),
        prop::collection::vec(dh(), 0..3),
    )
        .prop_map(|(name, encryption, integrity, prf, group)| Ikev2Proposal {
            name,
            encryption: dedup(encryption, |a, b| a == b),
            integrity: dedup(integrity, |a, b| a == b),
            prf: dedup(prf, |a, b| a == b),
            group: dedup(group, |a, b| a == b),
        })
}

fn crypto() -> impl Strategy<Value = Crypto> {
    let policy = (
        1u16..=10000,
        prop::option::of(
            select(vec![128u16, 192, 256]).prop_map(|key_bits| Encryption::AesCbc { key_bits }),
        ),
        prop::option::of(integrity()),
        prop::option::of(select(vec!["pre-share", "rsa-sig"]).prop_map(str::to_string)),
        prop::option::of(dh()),
        prop::option::of(60u32..=86400),
    )
        .prop_map(
            |(priority, encryption, hash, authentication, group, lifetime)| IsakmpPolicy {
                priority,
                encryption,
                hash,
                authentication,
                group,
                lifetime,
            },
        );
    let key = (secret(), ip(), prop::option::of(mask()))
        .prop_map(|(key, address, mask)| IsakmpKey { key, address, mask });
    let sa = (
        prop::option::of(select(REPLAY_WINDOW_SIZES.to_vec())),
        prop::option::of(120u32..=86_400),
        prop::option::of(2560u32..),
        prop::option::of(60u32..=86_400),
    )
        .prop_map(
            |(replay_window, lifetime_seconds, lifetime_kilobytes, idle_time)| GlobalSa {
                replay_window,
                lifetime_seconds,
                lifetime_kilobytes,
                idle_time,
            },
        );
    let policy2 = (
        name(),
        prop::collection::vec(name(), 0..3),
        prop::collection::vec(ip(), 0..2),
        any::<bool>(),
    )
        .prop_map(|(name, proposals, local, fvrf)| Ikev2Policy {
            name,
            proposals: dedup(proposals, |a, b| a == b),
            match_address_local: dedup(local, |a, b| a == b),
            match_fvrf_any: fvrf,
        });
    (
        prop::collection::vec(policy, 0..3),
        prop::collection::vec(key, 0..3),
        prop::collection::vec(transform_set(), 0..3),
        prop::collection::vec(ipsec_profile(), 0..3),
        prop::collection::vec(keyring(), 0..2),
        prop::collection::vec(ikev2_profile(), 0..2),
        prop::collection::vec(proposal(), 0..2),
        prop::collection::vec(policy2, 0..2),
        sa,
        prop::collection::vec(identity_claim(), 0..3),
        (
            prop::option::of(1u32..=100_000),
            prop::option::of(1u32..=100_000),
            prop::option::of(1u32..=100_000),
            prop::option::of(1u32..=100_000),
        ),
    )
        .prop_map(|(p, k, t, pr, kr, v2, prop, pol, sa, ids, lim)| Crypto {
            isakmp_policies: dedup(p, |a, b| a.priority == b.priority),
            isakmp_keys: dedup(k, |a, b| a.address == b.address && a.mask == b.mask),
            transform_sets: dedup(t, |a, b| a.name == b.name),
            ipsec_profiles: dedup(pr, |a, b| a.name == b.name),
            ikev2_keyrings: dedup(kr, |a, b| a.name == b.name),
            ikev2_profiles: dedup(v2, |a, b| a.name == b.name),
            ikev2_proposals: dedup(prop, |a, b| a.name == b.name),
            ikev2_policies: dedup(pol, |a, b| a.name == b.name),
            sa,
            limits: IkeLimits {
                max_sa: lim.0,
                max_in_negotiation_sa: lim.1,
                call_admission_ike_sa: lim.2,
                cookie_challenge: lim.3,
            },
            identity_maps: dedup(ids, |a, b| a == b),
        })
}

fn config() -> impl Strategy<Value = Config> {
    let route = (
        (ip(), 0u8..=32)
            .prop_map(|(a, l)| Ipv4Net::new(a, l).map(|n| n.trunc()).unwrap_or_default()),
        prop_oneof![
            ip().prop_map(RouteTarget::NextHop),
            "(eth[0-9]|Tunnel[0-9])".prop_map(RouteTarget::Interface),
            ("eth[0-9]", ip()).prop_map(|(i, a)| RouteTarget::InterfaceNextHop(i, a)),
        ],
        prop::option::of(1u8..=255),
    )
        .prop_map(|(prefix, target, distance)| StaticRoute {
            prefix,
            target,
            distance,
        });
    let ignored = select(vec![
        IgnoredBlock {
            command: "router eigrp 1".into(),
            lines: vec![
                "network 10.0.0.0 0.0.0.255".into(),
                "no auto-summary".into(),
            ],
        },
        IgnoredBlock {
            command: "router ospf 1".into(),
            lines: vec![],
        },
        IgnoredBlock {
            command: "no ip domain lookup".into(),
            lines: vec![],
        },
    ]);
    (
        prop::option::of("[A-Za-z][A-Za-z0-9-]{0,10}"),
        prop::option::of("[0-9]{1,2}\\.[0-9]"),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        prop::collection::vec(interface(), 0..4),
        crypto(),
        prop::collection::vec(route, 0..3),
        prop::collection::vec(ignored, 0..2),
    )
        .prop_map(
            |(hostname, version, ip_cef, ip_crypto, interfaces, crypto, routes, ignored)| Config {
                hostname,
                version,
                ip_cef,
                ip_crypto,
                interfaces: dedup(interfaces, |a, b| a.name.eq_ignore_ascii_case(&b.name)),
                crypto,
                static_routes: dedup(routes, |a, b| a.prefix == b.prefix && a.target == b.target),
                ignored,
                logging_dmvpn_rate_limit: None,
            },
        )
}

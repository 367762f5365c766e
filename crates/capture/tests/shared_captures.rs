//! Reads the real captures in `../shared/captures/tcpdump` and checks what
//! the reader and demultiplexer find: frame numbers, outer addresses, GRE
//! keys and NHRP lengths, against what tshark shows for the same files.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use dmvpn_capture::{CaptureReader, Encapsulation, Error, NhrpFrames};

/// `../shared/captures/tcpdump` relative to the repository root, or `None`
/// (after printing a SKIP line) when it is absent and not required.
fn captures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/tcpdump");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("DMVPN_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("{} is missing and DMVPN_REQUIRE_SHARED=1", dir.display());
    }
    eprintln!(
        "SKIP: {} not found; shared captures not checked",
        dir.display()
    );
    None
}

fn nhrp_of(dir: &Path, name: &str) -> Vec<Result<dmvpn_capture::NhrpFrame, Error>> {
    NhrpFrames::open(dir.join(name)).unwrap().collect()
}

#[test]
fn every_capture_reads_to_the_end_without_errors() {
    let Some(dir) = captures_dir() else { return };
    let expected_frames = [
        ("02-sunrise-sunset-esp.pcap", 8),
        ("08-sunrise-sunset-esp2.pcap", 8),
        ("ISAKMP_sa_setup.pcap", 9),
        ("NHRP-responder-address.pcap", 2),
        ("NHRP_registration.pcap", 4),
        ("espudp1.pcap", 8),
        ("ikev2-id-normal.pcap", 1),
        ("ikev2four.pcap", 21),
        ("ikev2pI2.pcap", 2),
        ("ios_nhrp.pcap", 1),
        ("isakmp4500.pcap", 35),
        ("nhrp-trace.pcap", 4),
        ("nhrp.pcapng", 25),
        ("pb_nhrp_1.pcap", 1),
        ("various_gre.pcap", 100),
        ("wccp_redirect_gre.pcap", 1),
    ];
    for (name, frames) in expected_frames {
        let reader = CaptureReader::open(dir.join(name)).unwrap();
        let read: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), frames, "{name}");
        for (i, frame) in read.iter().enumerate() {
            assert_eq!(frame.number, i as u64 + 1, "{name}");
        }
    }
}

#[test]
fn nhrp_packets_are_found_with_their_outer_headers() {
    let Some(dir) = captures_dir() else { return };
    let counts = [
        ("NHRP-responder-address.pcap", 2),
        ("NHRP_registration.pcap", 4),
        ("ios_nhrp.pcap", 1),
        ("nhrp-trace.pcap", 4),
        ("nhrp.pcapng", 25),
        ("pb_nhrp_1.pcap", 1),
        ("various_gre.pcap", 0),
        ("wccp_redirect_gre.pcap", 0),
        ("isakmp4500.pcap", 0),
    ];
    for (name, count) in counts {
        let found = nhrp_of(&dir, name);
        assert_eq!(found.len(), count, "{name}");
        assert!(found.iter().all(Result::is_ok), "{name}: {found:?}");
    }

    let trace: Vec<_> = nhrp_of(&dir, "nhrp-trace.pcap")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let first = &trace[0];
    assert_eq!(first.frame, 1);
    assert_eq!(first.src, Some("192.168.200.1".parse::<IpAddr>().unwrap()));
    assert_eq!(first.dst, Some("192.168.200.3".parse::<IpAddr>().unwrap()));
    assert_eq!(first.gre_key(), Some(1000));
    assert_eq!(first.timestamp.to_string(), "1194419497.354029000");
    // tshark: NHRP packet length 98, 86, 106, 134.
    let lens: Vec<usize> = trace.iter().map(|p| p.nhrp.len()).collect();
    assert_eq!(lens, [98, 86, 106, 134]);
    assert!(trace.iter().all(|p| !p.truncated));

    let ios = nhrp_of(&dir, "ios_nhrp.pcap").remove(0).unwrap();
    assert!(matches!(ios.encapsulation, Encapsulation::Gre(_)));
    assert_eq!(ios.gre_key(), None);

    let ng: Vec<_> = nhrp_of(&dir, "nhrp.pcapng")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ng[18].frame, 19);
    assert_eq!(ng[18].src, Some("100.1.0.15".parse::<IpAddr>().unwrap()));

    // The fuzzed packet is NHRP straight over IP (24-byte IPv4 header with
    // a bogus option, total length 64); its NHRP header is garbage.
    let pb = nhrp_of(&dir, "pb_nhrp_1.pcap").remove(0).unwrap();
    assert_eq!(pb.encapsulation, Encapsulation::Ip);
    assert_eq!(pb.src, Some("62.41.66.144".parse::<IpAddr>().unwrap()));
    assert_eq!(pb.nhrp.len(), 64 - 24);
    assert_eq!(&pb.nhrp[..4], &[0x5d, 0xc9, 0x00, 0x7b]);
}

//! `dmvpn decode FILE [--json]`: prints every NHRP packet of a pcap or pcapng capture.
//!
//! The capture is read and demultiplexed by `dmvpn-capture` (Ethernet, Linux
//! cooked SLL/SLL2, loopback, raw IP; GRE with or without key; IP protocol
//! 54) and each NHRP packet is decoded by `dmvpn-wire` in decoder mode (a bad
//! checksum is reported, not refused).
//!
//! Text output gives one block per packet. `--json` gives one JSON object per
//! line per packet; the field names are a contract that users script against
//! and are documented in `docs/decode.md`. Every packet object carries every
//! key (`null` when a field does not apply), so scripts need no existence
//! checks. A packet that fails to parse gives an object with an `error`
//! member naming the field and byte offset; a capture that cannot be read
//! further gives an object with `"frame": null` and an `error`.
//!
//! Exit status: 0 when every NHRP packet decoded, 1 when at least one packet
//! (or the rest of the capture) could not be decoded, 2 when the file cannot
//! be opened or is not a capture.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use dmvpn_capture::{DemuxError, Encapsulation, NhrpFrame, NhrpFrames};
use dmvpn_wire::gre;
use dmvpn_wire::nhrp::{
    self, AddressFamily, Authentication, Body, Cie, CieCode, Extension, ExtensionBody,
    ExtensionType, NbmaAddress, TrafficCode,
};
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Capture file to read (pcap or pcapng); `-` reads standard input.
    pub file: PathBuf,
    /// Print one JSON object per NHRP packet, one per line (see docs/decode.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let frames = if args.file.as_os_str() == "-" {
        dmvpn_capture::CaptureReader::new(io::stdin()).map(NhrpFrames::new)
    } else {
        NhrpFrames::open(&args.file)
    }
    .with_context(|| format!("cannot decode {}", args.file.display()))?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match write_all(frames, args.json, &mut out).and_then(|failed| {
        out.flush()?;
        Ok(failed)
    }) {
        Ok(0) => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::from(1)),
        // `dmvpn decode x | head` closing the pipe is not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(err) => Err(err).context("cannot write the decoded output"),
    }
}

/// Writes every record; returns how many were errors.
fn write_all(frames: NhrpFrames<'_>, json: bool, out: &mut impl Write) -> io::Result<usize> {
    let mut failed = 0;
    let mut packets = 0;
    for item in frames {
        let record = match item {
            Ok(frame) => packet_record(&frame),
            Err(err) => error_record(&err),
        };
        if record.error.is_some() {
            failed += 1;
        } else {
            packets += 1;
        }
        if json {
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")?;
        } else {
            out.write_all(record.text.as_bytes())?;
        }
    }
    if !json {
        writeln!(out, "{packets} NHRP packets decoded, {failed} errors")?;
    }
    Ok(failed)
}

/// One output record: a decoded packet or an error.
#[derive(Serialize)]
struct Record {
    /// Frame number in the capture (1-based), `null` for file-level errors.
    frame: Option<u64>,
    /// Capture time, seconds since the epoch with nine decimals.
    time: Option<String>,
    /// Outer source address.
    src: Option<String>,
    /// Outer destination address.
    dst: Option<String>,
    /// "gre", "ip" (protocol 54) or "link" (cooked capture on a tunnel device).
    encapsulation: Option<&'static str>,
    /// GRE key, when the GRE header carries one.
    gre_key: Option<u32>,
    /// GRE checksum status, when the GRE header carries a checksum.
    gre_checksum_ok: Option<bool>,
    /// True when the capture holds fewer bytes than the outer headers announce.
    truncated: Option<bool>,
    #[serde(flatten)]
    nhrp: Option<NhrpJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson>,
    /// NHRP bytes (hex) of a packet that failed to parse.
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<String>,
    #[serde(skip)]
    text: String,
}

#[derive(Serialize)]
struct ErrorJson {
    /// "truncated", "invalid", "unsupported", "checksum", "capture", "gre", "link_type", ...
    kind: &'static str,
    /// The field at fault (`ar$pktsz`, `cie.client_nbma`, ...), when known.
    field: Option<&'static str>,
    /// Byte offset of the field from the start of the NHRP packet (or GRE
    /// header / file, see `kind`), when known.
    offset: Option<usize>,
    /// Human-readable message.
    message: String,
}

#[derive(Serialize)]
struct NhrpJson {
    #[serde(rename = "type")]
    type_name: &'static str,
    type_code: u8,
    afn: u16,
    afn_name: &'static str,
    protocol_type: u16,
    snap: String,
    hop_count: u8,
    packet_size: u16,
    checksum: u16,
    checksum_ok: bool,
    extension_offset: u16,
    version: u8,
    shtl: u8,
    sstl: u8,
    src_proto_len: usize,
    dst_proto_len: usize,
    flags: u16,
    flag_names: Vec<&'static str>,
    request_id: Option<u32>,
    error_code: Option<u16>,
    error_code_name: Option<&'static str>,
    error_offset: Option<u16>,
    traffic_code: Option<u16>,
    traffic_code_name: Option<&'static str>,
    mandatory_word: Option<u32>,
    embedded_packet: Option<String>,
    src_nbma: Option<String>,
    src_nbma_subaddress: Option<String>,
    src_proto: Option<String>,
    dst_proto: Option<String>,
    cies: Vec<CieJson>,
    padding: String,
    extensions: Vec<ExtensionJson>,
    trailing: String,
    excess_bytes: usize,
}

#[derive(Serialize)]
struct CieJson {
    code: u8,
    code_name: &'static str,
    prefix_length: u8,
    unused: u16,
    mtu: u16,
    holding_time: u16,
    client_nbma_tl: u8,
    client_nbma_subaddress_tl: u8,
    client_proto_len: usize,
    preference: u8,
    client_nbma: Option<String>,
    client_nbma_subaddress: Option<String>,
    client_proto: Option<String>,
}

#[derive(Serialize)]
struct ExtensionJson {
    #[serde(rename = "type")]
    type_name: &'static str,
    type_code: u16,
    compulsory: bool,
    length: usize,
    offset: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    cies: Option<Vec<CieJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<AuthJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<VendorJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_capabilities: Option<DeviceCapabilitiesJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
}

#[derive(Serialize)]
struct AuthJson {
    #[serde(rename = "type")]
    format: &'static str,
    reserved: u16,
    spi: u16,
    src_addr: Option<String>,
    data: String,
    data_hex: String,
}

#[derive(Serialize)]
struct VendorJson {
    oui: String,
    data: String,
}

#[derive(Serialize)]
struct DeviceCapabilitiesJson {
    source: u32,
    destination: u32,
}

fn packet_record(frame: &NhrpFrame) -> Record {
    let mut record = Record {
        frame: Some(frame.frame),
        time: Some(frame.timestamp.to_string()),
        src: frame.src.map(|a| a.to_string()),
        dst: frame.dst.map(|a| a.to_string()),
        encapsulation: Some(match frame.encapsulation {
            Encapsulation::Gre(_) => "gre",
            Encapsulation::Ip => "ip",
            Encapsulation::Link => "link",
        }),
        gre_key: frame.gre_key(),
        gre_checksum_ok: frame.gre_checksum_ok,
        truncated: Some(frame.truncated),
        nhrp: None,
        error: None,
        bytes: None,
        text: String::new(),
    };
    let mut text = frame_header_text(frame);
    match nhrp::Repr::decode(&frame.nhrp) {
        Ok(decoded) => {
            let _ = writeln!(
                text,
                "  received length {}, checksum {:#06x} ({}), extoff {}",
                decoded.packet_size,
                decoded.checksum,
                if decoded.checksum_valid { "ok" } else { "BAD" },
                decoded.extension_offset
            );
            for line in decoded.repr.to_string().lines() {
                let _ = writeln!(text, "  {line}");
            }
            record.nhrp = Some(nhrp_json(&decoded));
        }
        Err(err) => {
            let _ = writeln!(text, "  error: {err}");
            if frame.truncated {
                let _ = writeln!(text, "  (the capture holds only part of this packet)");
            }
            record.error = Some(wire_error_json(&err));
            record.bytes = Some(hex(&frame.nhrp));
        }
    }
    text.push('\n');
    record.text = text;
    record
}

fn frame_header_text(frame: &NhrpFrame) -> String {
    let addr = |a: Option<std::net::IpAddr>| a.map_or_else(|| "?".to_string(), |a| a.to_string());
    let carrier = match &frame.encapsulation {
        Encapsulation::Gre(repr) => gre_text(repr, frame.gre_checksum_ok),
        Encapsulation::Ip => "IP protocol 54".to_string(),
        Encapsulation::Link => "link layer (protocol 0x2001)".to_string(),
    };
    format!(
        "frame {} at {}: {} -> {}, {}{}\n",
        frame.frame,
        frame.timestamp,
        addr(frame.src),
        addr(frame.dst),
        carrier,
        if frame.truncated { ", TRUNCATED" } else { "" }
    )
}

fn gre_text(repr: &gre::Repr, checksum_ok: Option<bool>) -> String {
    let mut s = repr.to_string();
    match checksum_ok {
        Some(true) => s.push_str(", gre checksum ok"),
        Some(false) => s.push_str(", gre checksum BAD"),
        None => {}
    }
    s
}

fn error_record(err: &dmvpn_capture::Error) -> Record {
    let (kind, offset) = match err {
        dmvpn_capture::Error::Capture(e) => ("capture", e.offset()),
        dmvpn_capture::Error::Demux(DemuxError::Gre { offset, .. }) => ("gre", Some(*offset)),
        dmvpn_capture::Error::Demux(DemuxError::UnsupportedLinkType { .. }) => ("link_type", None),
    };
    let field = match err {
        dmvpn_capture::Error::Demux(DemuxError::Gre { error, .. }) => wire_error_field(error),
        _ => None,
    };
    let frame = err.frame();
    Record {
        frame,
        time: None,
        src: None,
        dst: None,
        encapsulation: None,
        gre_key: None,
        gre_checksum_ok: None,
        truncated: None,
        nhrp: None,
        error: Some(ErrorJson {
            kind,
            field,
            offset,
            message: err.to_string(),
        }),
        bytes: None,
        text: format!("error: {err}\n\n"),
    }
}

fn wire_error_field(err: &dmvpn_wire::Error) -> Option<&'static str> {
    use dmvpn_wire::Error as E;
    match err {
        E::Truncated { field, .. }
        | E::Invalid { field, .. }
        | E::Unsupported { field, .. }
        | E::Checksum { field, .. }
        | E::TooLong { field, .. } => Some(field),
        _ => None,
    }
}

fn wire_error_json(err: &dmvpn_wire::Error) -> ErrorJson {
    use dmvpn_wire::Error as E;
    let (kind, offset) = match err {
        E::Truncated { offset, .. } => ("truncated", Some(*offset)),
        E::Invalid { offset, .. } => ("invalid", Some(*offset)),
        E::Unsupported { offset, .. } => ("unsupported", Some(*offset)),
        E::Checksum { .. } => ("checksum", None),
        E::TooLong { .. } => ("too_long", None),
        E::BufferTooSmall { .. } => ("buffer_too_small", None),
        _ => ("other", None),
    };
    ErrorJson {
        kind,
        field: wire_error_field(err),
        offset,
        message: err.to_string(),
    }
}

fn nhrp_json(decoded: &nhrp::Decoded) -> NhrpJson {
    let repr = &decoded.repr;
    let ty = repr.packet_type;
    let (mut request_id, mut error_code, mut error_code_name, mut error_offset) =
        (None, None, None, None);
    let (mut traffic_code, mut traffic_code_name, mut mandatory_word, mut embedded_packet) =
        (None, None, None, None);
    match &repr.body {
        Body::Cies { request_id: id, .. } => request_id = Some(*id),
        Body::ErrorIndication {
            code,
            offset,
            packet,
        } => {
            error_code = Some(code.value());
            error_code_name = Some(code.label());
            error_offset = Some(*offset);
            embedded_packet = Some(hex(packet));
        }
        Body::TrafficIndication {
            code,
            unused,
            packet,
        } => {
            traffic_code = Some(code.value());
            traffic_code_name = Some(traffic_code_str(*code));
            mandatory_word = Some((u32::from(code.value()) << 16) | u32::from(*unused));
            embedded_packet = Some(hex(packet));
        }
        Body::Unknown { word, payload } => {
            mandatory_word = Some(*word);
            embedded_packet = Some(hex(payload));
        }
    }
    NhrpJson {
        type_name: ty.label(),
        type_code: ty.value(),
        afn: repr.afn.value(),
        afn_name: afn_str(repr.afn),
        protocol_type: repr.protocol_type.value(),
        snap: hex(&repr.protocol_snap),
        hop_count: repr.hop_count,
        packet_size: decoded.packet_size,
        checksum: decoded.checksum,
        checksum_ok: decoded.checksum_valid,
        extension_offset: decoded.extension_offset,
        version: repr.version,
        shtl: repr.src_nbma.type_length(),
        sstl: repr.src_nbma_subaddr.type_length(),
        src_proto_len: repr.src_proto.0.len(),
        dst_proto_len: repr.dst_proto.0.len(),
        flags: repr.flags.0,
        flag_names: repr.flags.names(ty),
        request_id,
        error_code,
        error_code_name,
        error_offset,
        traffic_code,
        traffic_code_name,
        mandatory_word,
        embedded_packet,
        src_nbma: nbma_str(&repr.src_nbma),
        src_nbma_subaddress: nbma_str(&repr.src_nbma_subaddr),
        src_proto: addr_str(&repr.src_proto.0),
        dst_proto: addr_str(&repr.dst_proto.0),
        cies: repr.cies().iter().map(cie_json).collect(),
        padding: hex(&repr.padding),
        extensions: repr
            .extensions_with_offsets()
            .into_iter()
            .map(|(offset, ext)| extension_json(offset, ext))
            .collect(),
        trailing: hex(&repr.trailing),
        excess_bytes: decoded.excess,
    }
}

fn cie_json(cie: &Cie) -> CieJson {
    CieJson {
        code: cie.code.value(),
        code_name: cie_code_str(cie.code),
        prefix_length: cie.prefix_len,
        unused: cie.unused,
        mtu: cie.mtu,
        holding_time: cie.holding_time,
        client_nbma_tl: cie.client_nbma.type_length(),
        client_nbma_subaddress_tl: cie.client_nbma_subaddr.type_length(),
        client_proto_len: cie.client_proto.0.len(),
        preference: cie.preference,
        client_nbma: nbma_str(&cie.client_nbma),
        client_nbma_subaddress: nbma_str(&cie.client_nbma_subaddr),
        client_proto: addr_str(&cie.client_proto.0),
    }
}

fn extension_json(offset: usize, ext: &Extension) -> ExtensionJson {
    let mut json = ExtensionJson {
        type_name: extension_type_str(ext.ty),
        type_code: ext.ty.value(),
        compulsory: ext.compulsory,
        length: ext.body.wire_len(),
        offset,
        cies: None,
        auth: None,
        vendor: None,
        device_capabilities: None,
        raw: None,
    };
    match &ext.body {
        ExtensionBody::Raw(bytes) => json.raw = Some(hex(bytes)),
        ExtensionBody::Cies(cies) => json.cies = Some(cies.iter().map(cie_json).collect()),
        ExtensionBody::Authentication(auth) => json.auth = Some(auth_json(auth)),
        ExtensionBody::VendorPrivate { oui, data } => {
            json.vendor = Some(VendorJson {
                oui: hex(oui),
                data: hex(data),
            });
        }
        ExtensionBody::DeviceCapabilities {
            source,
            destination,
        } => {
            json.device_capabilities = Some(DeviceCapabilitiesJson {
                source: *source,
                destination: *destination,
            });
        }
    }
    json
}

fn auth_json(auth: &Authentication) -> AuthJson {
    match auth {
        // On the wire: u32 1, then the password. Read as the RFC 2332 layout
        // (as tshark does) that is reserved 0 and SPI 1.
        Authentication::CiscoCleartext { password } => AuthJson {
            format: "cisco_cleartext",
            reserved: 0,
            spi: 1,
            src_addr: None,
            data: text(password),
            data_hex: hex(password),
        },
        Authentication::Rfc2332 {
            reserved,
            spi,
            src_addr,
            data,
        } => AuthJson {
            format: "rfc2332",
            reserved: *reserved,
            spi: *spi,
            src_addr: addr_str(src_addr),
            data: text(data),
            data_hex: hex(data),
        },
    }
}

/// Lower-case hex without separators.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Printable ASCII kept, every other byte written as `\xNN`.
fn text(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// An address: dotted IPv4 or IPv6 text for 4- and 16-byte values, hex
/// otherwise, `None` when empty.
fn addr_str(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        0 => None,
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|a| std::net::Ipv4Addr::from(a).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|a| std::net::Ipv6Addr::from(a).to_string()),
        _ => Some(hex(bytes)),
    }
}

fn nbma_str(addr: &NbmaAddress) -> Option<String> {
    addr_str(&addr.bytes)
}

fn afn_str(afn: AddressFamily) -> &'static str {
    match afn {
        AddressFamily::Ipv4 => "ipv4",
        AddressFamily::Ipv6 => "ipv6",
        AddressFamily::Nsap => "nsap",
        AddressFamily::Ieee802 => "ieee802",
        AddressFamily::E164 => "e164",
        AddressFamily::Unknown(_) => "unknown",
    }
}

fn cie_code_str(code: CieCode) -> &'static str {
    match code {
        CieCode::Success => "success",
        CieCode::AdministrativelyProhibited => "administratively_prohibited",
        CieCode::InsufficientResources => "insufficient_resources",
        CieCode::NoBinding => "no_binding_exists",
        CieCode::NonUniqueBinding => "binding_non_unique",
        CieCode::UniqueAddressRegistered => "unique_address_registered",
        CieCode::Unknown(_) => "unknown",
    }
}

fn traffic_code_str(code: TrafficCode) -> &'static str {
    match code {
        TrafficCode::Redirect => "redirect",
        TrafficCode::Unknown(_) => "unknown",
    }
}

fn extension_type_str(ty: ExtensionType) -> &'static str {
    match ty {
        ExtensionType::End => "end",
        ExtensionType::ResponderAddress => "responder_address",
        ExtensionType::ForwardTransitNhs => "forward_transit_nhs_record",
        ExtensionType::ReverseTransitNhs => "reverse_transit_nhs_record",
        ExtensionType::Authentication => "authentication",
        ExtensionType::VendorPrivate => "vendor_private",
        ExtensionType::CiscoNat => "cisco_nat_address",
        ExtensionType::Unknown(_) => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_text_and_addresses() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
        assert_eq!(text(b"ab\x00\\"), "ab\\x00\\x5c");
        assert_eq!(addr_str(&[10, 0, 0, 1]).as_deref(), Some("10.0.0.1"));
        assert_eq!(addr_str(&[1]).as_deref(), Some("01"));
        assert_eq!(addr_str(&[]), None);
    }
}

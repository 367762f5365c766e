//! Human-readable, multi-line rendering of NHRP values (used by `dmvpn decode`).

use core::fmt;

use super::types::*;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Renders an address: dotted/colon IP for 4/16 bytes, hex otherwise, `-` when empty.
pub(crate) fn addr(bytes: &[u8]) -> String {
    match bytes.len() {
        0 => "-".to_string(),
        4 | 16 => ProtocolAddress(bytes.to_vec())
            .ip()
            .map_or_else(|| hex(bytes), |ip| ip.to_string()),
        _ => format!("0x{}", hex(bytes)),
    }
}

fn printable(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(bytes))
    } else {
        format!("0x{}", hex(bytes))
    }
}

impl fmt::Display for NbmaAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", addr(&self.bytes))?;
        if self.e164 {
            write!(f, " (E.164)")?;
        }
        Ok(())
    }
}

impl fmt::Display for ProtocolAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", addr(&self.0))
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.value())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.value())
    }
}

impl fmt::Display for CieCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.value())
    }
}

impl fmt::Display for ExtensionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.value())
    }
}

impl fmt::Display for Cie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "code {}, prefix {}, mtu {}, holding time {}s, preference {}, client nbma {}",
            self.code,
            self.prefix_len,
            self.mtu,
            self.holding_time,
            self.preference,
            self.client_nbma
        )?;
        if !self.client_nbma_subaddr.is_empty() {
            write!(f, ", client nbma subaddr {}", self.client_nbma_subaddr)?;
        }
        write!(f, ", client proto {}", self.client_proto)?;
        if self.unused != 0 {
            write!(f, ", unused {:#06x}", self.unused)?;
        }
        Ok(())
    }
}

impl fmt::Display for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authentication::CiscoCleartext { password } => write!(
                f,
                "Cisco cleartext (type 1), password {}",
                printable(password)
            ),
            Authentication::Rfc2332 {
                reserved,
                spi,
                src_addr,
                data,
            } => {
                write!(
                    f,
                    "RFC 2332, spi {spi}, src addr {}, data 0x{}",
                    addr(src_addr),
                    hex(data)
                )?;
                if *reserved != 0 {
                    write!(f, ", reserved {reserved:#06x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [type {:#06x}{}], length {}",
            self.ty,
            self.type_field(),
            if self.compulsory { ", compulsory" } else { "" },
            self.body.wire_len()
        )?;
        match &self.body {
            ExtensionBody::Raw(b) if b.is_empty() => Ok(()),
            ExtensionBody::Raw(b) => write!(f, ": 0x{}", hex(b)),
            ExtensionBody::Cies(c) if c.is_empty() => Ok(()),
            ExtensionBody::Cies(cies) => {
                for (i, c) in cies.iter().enumerate() {
                    write!(f, "\n      CIE {}: {c}", i + 1)?;
                }
                Ok(())
            }
            ExtensionBody::Authentication(a) => write!(f, ": {a}"),
            ExtensionBody::VendorPrivate { oui, data } => write!(
                f,
                ": OUI {:02x}:{:02x}:{:02x}, data 0x{}",
                oui[0],
                oui[1],
                oui[2],
                hex(data)
            ),
            ExtensionBody::DeviceCapabilities {
                source,
                destination,
            } => {
                write!(
                    f,
                    ": device capabilities source {source:#010x}, destination {destination:#010x}"
                )
            }
        }
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = self.buffer_len();
        let extoff = self.extension_offset().unwrap_or(0);
        write!(
            f,
            "NHRP {}, version {}, hop count {}, length {size}, extoff {extoff}",
            self.packet_type, self.version, self.hop_count
        )?;
        if let Ok(bytes) = self.to_bytes()
            && let Some(c) = bytes.get(12..14)
        {
            write!(f, ", checksum 0x{}", hex(c))?;
        }
        write!(
            f,
            "\n  afn {:?} ({}), protocol {} ({:#06x})",
            self.afn,
            self.afn.value(),
            self.protocol_type,
            self.protocol_type.value()
        )?;
        if self.protocol_snap != [0; 5] {
            write!(f, ", snap 0x{}", hex(&self.protocol_snap))?;
        }
        let names = self.flags.names(self.packet_type);
        write!(f, "\n  flags {:#06x} [{}]", self.flags.0, names.join(" "))?;
        match &self.body {
            Body::Cies { request_id, .. } => write!(f, ", request id {request_id}")?,
            Body::ErrorIndication { code, offset, .. } => {
                write!(f, ", error {code}, offset {offset}")?
            }
            Body::TrafficIndication { code, unused, .. } => {
                match code {
                    TrafficCode::Redirect => write!(f, ", traffic code redirect (0)")?,
                    TrafficCode::Unknown(c) => write!(f, ", traffic code {c}")?,
                }
                if *unused != 0 {
                    write!(f, ", unused {unused:#06x}")?;
                }
            }
            Body::Unknown { word, .. } => write!(f, ", mandatory word {word:#010x}")?,
        }
        write!(f, "\n  src nbma {}", self.src_nbma)?;
        if !self.src_nbma_subaddr.is_empty() || self.src_nbma_subaddr.e164 {
            write!(f, ", src nbma subaddr {}", self.src_nbma_subaddr)?;
        }
        write!(
            f,
            ", src proto {}, dst proto {}",
            self.src_proto, self.dst_proto
        )?;
        match &self.body {
            Body::Cies { cies, .. } => {
                for (i, c) in cies.iter().enumerate() {
                    write!(f, "\n  CIE {}: {c}", i + 1)?;
                }
            }
            Body::ErrorIndication { packet, .. } => write!(
                f,
                "\n  packet in error ({} bytes): 0x{}",
                packet.len(),
                hex(packet)
            )?,
            Body::TrafficIndication { packet, .. } => write!(
                f,
                "\n  packet causing indication ({} bytes): 0x{}",
                packet.len(),
                hex(packet)
            )?,
            Body::Unknown { payload, .. } => write!(
                f,
                "\n  payload ({} bytes): 0x{}",
                payload.len(),
                hex(payload)
            )?,
        }
        if !self.padding.is_empty() {
            write!(f, "\n  padding 0x{}", hex(&self.padding))?;
        }
        if !self.extensions.is_empty() {
            write!(f, "\n  extensions:")?;
            for e in &self.extensions {
                write!(f, "\n    {e}")?;
            }
        }
        if !self.trailing.is_empty() {
            write!(f, "\n  data after End: 0x{}", hex(&self.trailing))?;
        }
        Ok(())
    }
}

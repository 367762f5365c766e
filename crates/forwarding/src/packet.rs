//! Per-packet transformations on raw IPv4 packets, pure functions over byte buffers:
//! header inspection ([`Ipv4Info`]), TCP MSS clamping with an incremental checksum fix
//! (`ip tcp adjust-mss`), IPv4 fragmentation, and ICMP "fragmentation needed" generation
//! for oversize packets that carry the DF bit.
//!
//! Nothing here panics on any input: every offset is checked against the buffer first.

use std::net::Ipv4Addr;

use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{Icmpv4Type, PacketBuilder};

/// Length of an IPv4 header without options.
pub const IPV4_MIN_HEADER_LEN: usize = 20;
/// Length of a TCP header without options.
const TCP_MIN_HEADER_LEN: usize = 20;
/// IP protocol number of TCP.
const PROTO_TCP: u8 = 6;
/// IP protocol number of ICMP.
const PROTO_ICMP: u8 = 1;
/// At most this many bytes of an ICMP error (RFC 1812 §4.3.2.3: no more than 576 in all).
const ICMP_ERROR_MAX_LEN: usize = 576;

/// Why a buffer is not a usable IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// The buffer is shorter than the structure being read.
    #[error("packet too short: {len} bytes, need at least {need} at offset {offset}")]
    TooShort {
        /// Bytes available.
        len: usize,
        /// Bytes needed.
        need: usize,
        /// Offset of the structure that did not fit.
        offset: usize,
    },
    /// The version nibble (byte 0) is not 4.
    #[error("not IPv4: version field (byte 0) is {0}")]
    NotIpv4(u8),
    /// The IHL field (byte 0) is below 5 words.
    #[error("bad IPv4 header length (IHL, byte 0): {0} words")]
    BadHeaderLength(u8),
    /// The total-length field (bytes 2-3) is below the header length or beyond the buffer.
    #[error("bad IPv4 total length (bytes 2-3): {total}, header {header}, buffer {available}")]
    BadTotalLength {
        /// The total-length field.
        total: usize,
        /// The header length.
        header: usize,
        /// Bytes in the buffer.
        available: usize,
    },
    /// The MTU leaves no room for a fragment's data (the header alone fills it).
    #[error("MTU {mtu} too small to fragment a packet with a {header}-byte header")]
    MtuTooSmall {
        /// The MTU asked for.
        mtu: usize,
        /// The header length of the packet.
        header: usize,
    },
}

/// The fields of an IPv4 header the data plane needs, read from a checked buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Header length in bytes (IHL × 4).
    pub header_len: usize,
    /// Total length in bytes (header and payload), at most the buffer length.
    pub total_len: usize,
    /// The protocol field.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// The DF (don't fragment) flag.
    pub dont_fragment: bool,
    /// The MF (more fragments) flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units.
    pub fragment_offset: u16,
    /// Time to live.
    pub ttl: u8,
}

impl Ipv4Info {
    /// Reads and checks an IPv4 header at the start of `packet`.
    pub fn parse(packet: &[u8]) -> Result<Self, PacketError> {
        let len = packet.len();
        let short = |need| PacketError::TooShort {
            len,
            need,
            offset: 0,
        };
        let head: &[u8; IPV4_MIN_HEADER_LEN] = packet
            .get(..IPV4_MIN_HEADER_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(short(IPV4_MIN_HEADER_LEN))?;
        let version = head[0] >> 4;
        if version != 4 {
            return Err(PacketError::NotIpv4(version));
        }
        let ihl = head[0] & 0x0f;
        if ihl < 5 {
            return Err(PacketError::BadHeaderLength(ihl));
        }
        let header_len = usize::from(ihl) * 4;
        if len < header_len {
            return Err(short(header_len));
        }
        let total_len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if total_len < header_len || total_len > len {
            return Err(PacketError::BadTotalLength {
                total: total_len,
                header: header_len,
                available: len,
            });
        }
        let flags_frag = u16::from_be_bytes([head[6], head[7]]);
        Ok(Self {
            header_len,
            total_len,
            protocol: head[9],
            src: Ipv4Addr::new(head[12], head[13], head[14], head[15]),
            dst: Ipv4Addr::new(head[16], head[17], head[18], head[19]),
            dont_fragment: flags_frag & 0x4000 != 0,
            more_fragments: flags_frag & 0x2000 != 0,
            fragment_offset: flags_frag & 0x1fff,
            ttl: head[8],
        })
    }

    /// True when this is a fragment other than the first (its payload has no transport header).
    pub fn is_later_fragment(&self) -> bool {
        self.fragment_offset != 0
    }
}

/// The big-endian 16-bit word at `at`, if the buffer holds it.
fn be16(b: &[u8], at: usize) -> Option<u16> {
    match b.get(at..at.checked_add(2)?)? {
        [x, y] => Some(u16::from_be_bytes([*x, *y])),
        _ => None,
    }
}

/// Writes `bytes` at `at`; `None` (and nothing written) when they do not fit.
fn put(b: &mut [u8], at: usize, bytes: &[u8]) -> Option<()> {
    b.get_mut(at..at.checked_add(bytes.len())?)?
        .copy_from_slice(bytes);
    Some(())
}

/// One's-complement sum of `data` as 16-bit big-endian words, folded, not inverted.
fn ones_complement_sum(data: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        if let [a, b] = c {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop above leaves at most 16 bits.
    u16::try_from(sum).unwrap_or(0xffff)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !ones_complement_sum(data, 0)
}

/// Incremental checksum update (RFC 1624 eqn. 3) for one 16-bit word changing from `old`
/// to `new`.
pub fn checksum_adjust(checksum: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// Rewrites the IPv4 header checksum of `packet` (bytes 10-11) over `header_len` bytes.
fn set_ipv4_checksum(packet: &mut [u8], header_len: usize) {
    let Some(header) = packet.get_mut(..header_len) else {
        return;
    };
    if header.len() < IPV4_MIN_HEADER_LEN {
        return;
    }
    put(header, 10, &[0, 0]);
    let sum = internet_checksum(header);
    put(header, 10, &sum.to_be_bytes());
}

/// Clamps the MSS option of a TCP SYN (or SYN-ACK) in `packet` to at most `max_mss`,
/// fixing the TCP checksum incrementally.
///
/// Returns `Some(old_mss)` when the option was lowered, `None` when the packet is not a
/// TCP SYN, carries no MSS option, already has an MSS at or below `max_mss`, or is
/// malformed (malformed packets are left untouched).
pub fn clamp_tcp_mss(packet: &mut [u8], max_mss: u16) -> Option<u16> {
    let ip = Ipv4Info::parse(packet).ok()?;
    if ip.protocol != PROTO_TCP || ip.is_later_fragment() {
        return None;
    }
    let tcp_start = ip.header_len;
    let segment = packet.get_mut(tcp_start..ip.total_len)?;
    if segment.len() < TCP_MIN_HEADER_LEN {
        return None;
    }
    let syn = segment.get(13)? & 0x02 != 0;
    if !syn {
        return None;
    }
    let data_offset = usize::from(segment.get(12)? >> 4) * 4;
    if data_offset < TCP_MIN_HEADER_LEN || data_offset > segment.len() {
        return None;
    }
    let mut i = TCP_MIN_HEADER_LEN;
    while i < data_offset {
        match *segment.get(i)? {
            0 => return None,
            1 => i += 1,
            kind => {
                let len = usize::from(*segment.get(i + 1)?);
                if len < 2 || i + len > data_offset {
                    return None;
                }
                if kind == 2 && len == 4 {
                    let value_at = i + 2;
                    let old = be16(segment, value_at)?;
                    if old <= max_mss {
                        return None;
                    }
                    put(segment, value_at, &max_mss.to_be_bytes())?;
                    // A 16-bit value at an odd offset straddles two checksum words; its
                    // contribution to the one's-complement sum is then byte-swapped.
                    let (old_word, new_word) = if value_at.is_multiple_of(2) {
                        (old, max_mss)
                    } else {
                        (old.swap_bytes(), max_mss.swap_bytes())
                    };
                    let checksum = be16(segment, 16)?;
                    let fixed = checksum_adjust(checksum, old_word, new_word);
                    put(segment, 16, &fixed.to_be_bytes())?;
                    return Some(old);
                }
                i += len;
            }
        }
    }
    None
}

/// Splits the IPv4 packet in `packet` into fragments of at most `mtu` bytes each and hands
/// every fragment to `emit` in order, using `scratch` as the buffer (no allocation once it
/// has grown to `mtu`).
///
/// A packet that already fits is handed over unchanged. The DF bit is not consulted: the
/// caller decides between fragmentation and [`icmp_frag_needed`]. Options are copied into
/// the first fragment whole and into later fragments only when their "copied" flag is set
/// (RFC 791). A packet that is itself a fragment is split further with correct offsets and
/// MF flags.
pub fn fragment_ipv4<F>(
    packet: &[u8],
    mtu: usize,
    scratch: &mut Vec<u8>,
    mut emit: F,
) -> Result<usize, PacketError>
where
    F: FnMut(&[u8]),
{
    let ip = Ipv4Info::parse(packet)?;
    let packet = packet.get(..ip.total_len).unwrap_or(packet);
    if ip.total_len <= mtu {
        emit(packet);
        return Ok(1);
    }
    let first_header = packet.get(..ip.header_len).unwrap_or_default();
    let payload = packet.get(ip.header_len..).unwrap_or_default();
    // Options of later fragments: only those with the copied flag.
    let mut later_header: [u8; 60] = [0; 60];
    let later_len = {
        let base = first_header.get(..IPV4_MIN_HEADER_LEN).unwrap_or_default();
        put(&mut later_header, 0, base);
        let mut out = IPV4_MIN_HEADER_LEN;
        let options = first_header.get(IPV4_MIN_HEADER_LEN..).unwrap_or_default();
        let mut i = 0;
        while let Some(&kind) = options.get(i) {
            if kind == 0 {
                break;
            }
            if kind == 1 {
                i += 1;
                continue;
            }
            let Some(&len) = options.get(i + 1) else {
                break;
            };
            let len = usize::from(len);
            if len < 2 || i + len > options.len() {
                break;
            }
            if kind & 0x80 != 0
                && let (Some(dst), Some(src)) = (
                    later_header.get_mut(out..out + len),
                    options.get(i..i + len),
                )
            {
                dst.copy_from_slice(src);
                out += len;
            }
            i += len;
        }
        // Pad to a multiple of 4 with End-of-Options (zero) bytes.
        out.div_ceil(4) * 4
    };
    let max_header = ip.header_len.max(later_len);
    if mtu <= max_header || (mtu - max_header) < 8 {
        return Err(PacketError::MtuTooSmall {
            mtu,
            header: max_header,
        });
    }
    let mut offset = 0usize;
    let mut count = 0;
    while offset < payload.len() {
        let header: &[u8] = if offset == 0 {
            first_header
        } else {
            later_header.get(..later_len).unwrap_or_default()
        };
        let room = ((mtu - header.len()) / 8) * 8;
        let end = (offset + room).min(payload.len());
        let last = end == payload.len();
        let data = payload.get(offset..end).unwrap_or_default();
        scratch.clear();
        scratch.extend_from_slice(header);
        scratch.extend_from_slice(data);
        let hl = header.len();
        // IHL, total length, flags and offset, checksum.
        put(scratch, 0, &[0x40 | u8::try_from(hl / 4).unwrap_or(5)]);
        let total = u16::try_from(scratch.len()).unwrap_or(u16::MAX);
        put(scratch, 2, &total.to_be_bytes());
        let frag_offset = ip.fragment_offset + u16::try_from(offset / 8).unwrap_or(0);
        let mut flags_frag = frag_offset & 0x1fff;
        if ip.dont_fragment {
            flags_frag |= 0x4000;
        }
        if !last || ip.more_fragments {
            flags_frag |= 0x2000;
        }
        put(scratch, 6, &flags_frag.to_be_bytes());
        set_ipv4_checksum(scratch, hl);
        emit(scratch);
        count += 1;
        offset = end;
    }
    Ok(count)
}

/// Builds into `out` an ICMP destination-unreachable / fragmentation-needed (type 3 code 4)
/// message from `source` back to the sender of `original`, announcing `mtu` as the
/// next-hop MTU (RFC 1191). The message quotes as much of the original as fits in 576 bytes.
///
/// Returns `Ok(false)` (and leaves `out` empty) when no ICMP error may be sent about
/// `original` (RFC 1122 §3.2.2): it is a later fragment, it is addressed to a multicast or
/// broadcast address, its source is not a unicast address, or it is itself an ICMP error.
pub fn icmp_frag_needed(
    original: &[u8],
    source: Ipv4Addr,
    mtu: u16,
    out: &mut Vec<u8>,
) -> Result<bool, PacketError> {
    out.clear();
    let ip = Ipv4Info::parse(original)?;
    if ip.is_later_fragment()
        || ip.dst.is_multicast()
        || ip.dst.is_broadcast()
        || ip.src.is_unspecified()
        || ip.src.is_multicast()
        || ip.src.is_broadcast()
    {
        return Ok(false);
    }
    if ip.protocol == PROTO_ICMP {
        let icmp_type = original.get(ip.header_len).copied();
        // Only echo request/reply, timestamp, info and address-mask queries may trigger errors.
        if !matches!(icmp_type, Some(0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)) {
            return Ok(false);
        }
    }
    let quote_len = ip
        .total_len
        .min(ICMP_ERROR_MAX_LEN - IPV4_MIN_HEADER_LEN - 8);
    let quote = original.get(..quote_len).unwrap_or_default();
    let builder = PacketBuilder::ipv4(source.octets(), ip.src.octets(), 64).icmpv4(
        Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
            next_hop_mtu: mtu,
        }),
    );
    out.reserve(builder.size(quote.len()));
    // Writing into a Vec cannot fail for I/O reasons; the only error is a length overflow,
    // which the 576-byte cap rules out.
    if builder.write(out, quote).is_err() {
        out.clear();
        return Ok(false);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{Ipv4HeaderSlice, TcpHeader, TcpOptionElement};

    fn tcp_syn(options: &[TcpOptionElement], payload: &[u8]) -> Vec<u8> {
        let mut tcp = TcpHeader::new(40000, 80, 1000, 64240);
        tcp.syn = true;
        tcp.set_options(options).unwrap();
        let builder = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp_header(tcp);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    fn tcp_checksum_ok(packet: &[u8]) -> bool {
        let sliced = etherparse::SlicedPacket::from_ip(packet).unwrap();
        let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
            panic!("not tcp")
        };
        let ip = Ipv4HeaderSlice::from_slice(packet).unwrap().to_header();
        tcp.to_header()
            .calc_checksum_ipv4(&ip, tcp.payload())
            .unwrap()
            == tcp.checksum()
    }

    fn mss_of(packet: &[u8]) -> Option<u16> {
        let sliced = etherparse::SlicedPacket::from_ip(packet).unwrap();
        let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
            return None;
        };
        tcp.options_iterator().find_map(|o| match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        })
    }

    #[test]
    fn parse_rejects_garbage_without_panicking() {
        assert!(matches!(
            Ipv4Info::parse(&[]),
            Err(PacketError::TooShort { .. })
        ));
        assert_eq!(Ipv4Info::parse(&[0x60; 40]), Err(PacketError::NotIpv4(6)));
        let mut p = [0u8; 20];
        p[0] = 0x44;
        assert_eq!(Ipv4Info::parse(&p), Err(PacketError::BadHeaderLength(4)));
        p[0] = 0x45;
        p[3] = 21;
        assert!(matches!(
            Ipv4Info::parse(&p),
            Err(PacketError::BadTotalLength { .. })
        ));
        // Every prefix of a valid packet is handled without panicking.
        let syn = tcp_syn(&[TcpOptionElement::MaximumSegmentSize(1460)], b"");
        for n in 0..syn.len() {
            let mut cut = syn[..n].to_vec();
            let _ = Ipv4Info::parse(&cut);
            assert_eq!(clamp_tcp_mss(&mut cut, 1000), None);
            let _ = icmp_frag_needed(&cut, Ipv4Addr::LOCALHOST, 1400, &mut Vec::new());
            let _ = fragment_ipv4(&cut, 28, &mut Vec::new(), |_| {});
        }
    }

    #[test]
    fn mss_is_clamped_and_checksum_stays_valid() {
        let mut syn = tcp_syn(&[TcpOptionElement::MaximumSegmentSize(1460)], b"");
        assert!(tcp_checksum_ok(&syn));
        assert_eq!(clamp_tcp_mss(&mut syn, 1360), Some(1460));
        assert_eq!(mss_of(&syn), Some(1360));
        assert!(tcp_checksum_ok(&syn));
    }

    #[test]
    fn mss_at_odd_offset_keeps_checksum_valid() {
        let mut syn = tcp_syn(
            &[
                TcpOptionElement::Noop,
                TcpOptionElement::MaximumSegmentSize(1460),
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
                TcpOptionElement::Noop,
            ],
            b"",
        );
        assert_eq!(clamp_tcp_mss(&mut syn, 1200), Some(1460));
        assert_eq!(mss_of(&syn), Some(1200));
        assert!(tcp_checksum_ok(&syn));
    }

    #[test]
    fn mss_below_limit_and_non_syn_are_untouched() {
        let mut syn = tcp_syn(&[TcpOptionElement::MaximumSegmentSize(1000)], b"");
        let before = syn.clone();
        assert_eq!(clamp_tcp_mss(&mut syn, 1360), None);
        assert_eq!(syn, before);

        let mut tcp = TcpHeader::new(1, 2, 3, 4);
        tcp.ack = true;
        tcp.set_options(&[TcpOptionElement::MaximumSegmentSize(1460)])
            .unwrap();
        let mut pkt = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 9)
            .tcp_header(tcp)
            .write(&mut pkt, b"x")
            .unwrap();
        let before = pkt.clone();
        assert_eq!(clamp_tcp_mss(&mut pkt, 100), None);
        assert_eq!(pkt, before);
    }

    fn udp_packet(len: usize, df: bool) -> Vec<u8> {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 1, 2], 64)
            .udp(5000, 6000)
            .write(&mut out, &payload)
            .unwrap();
        if df {
            out[6] |= 0x40;
            set_ipv4_checksum(&mut out, 20);
        }
        out
    }

    #[test]
    fn fragments_reassemble_to_the_original() {
        let packet = udp_packet(3000, false);
        let mut frags: Vec<Vec<u8>> = Vec::new();
        let n = fragment_ipv4(&packet, 1400, &mut Vec::new(), |f| frags.push(f.to_vec())).unwrap();
        assert_eq!(n, 3);
        assert_eq!(frags.len(), 3);
        let mut data = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            assert!(f.len() <= 1400);
            let h = Ipv4HeaderSlice::from_slice(f).unwrap();
            assert_eq!(usize::from(h.total_len()), f.len());
            assert_eq!(h.more_fragments(), i < 2);
            assert_eq!(usize::from(h.fragments_offset().value()) * 8, data.len());
            // Header checksum is valid.
            assert_eq!(internet_checksum(&f[..20]), 0);
            data.extend_from_slice(&f[20..]);
        }
        assert_eq!(data, packet[20..]);
        // Reassemble with etherparse's defragmenter to be sure the pieces are standard.
        let mut pool = etherparse::defrag::IpDefragPool::<(), ()>::new();
        let mut done = None;
        for f in &frags {
            let s = etherparse::SlicedPacket::from_ip(f).unwrap();
            let ip = match s.net.unwrap() {
                etherparse::NetSlice::Ipv4(ip) => ip,
                _ => panic!(),
            };
            if let Some(r) = pool
                .process_sliced_packet(&etherparse::SlicedPacket::from_ip(f).unwrap(), (), ())
                .unwrap()
            {
                done = Some(r);
            }
            let _ = ip;
        }
        let done = done.expect("reassembled");
        assert_eq!(done.payload, packet[20..]);
    }

    #[test]
    fn small_packet_is_passed_whole_and_tiny_mtu_is_an_error() {
        let packet = udp_packet(100, false);
        let mut got = Vec::new();
        assert_eq!(
            fragment_ipv4(&packet, 1400, &mut Vec::new(), |f| got.push(f.to_vec())),
            Ok(1)
        );
        assert_eq!(got, vec![packet.clone()]);
        assert!(matches!(
            fragment_ipv4(&packet, 24, &mut Vec::new(), |_| {}),
            Err(PacketError::MtuTooSmall { .. })
        ));
    }

    #[test]
    fn icmp_frag_needed_quotes_the_original() {
        let packet = udp_packet(1500, true);
        let mut out = Vec::new();
        assert_eq!(
            icmp_frag_needed(&packet, Ipv4Addr::new(10, 0, 1, 2), 1376, &mut out),
            Ok(true)
        );
        let s = etherparse::SlicedPacket::from_ip(&out).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = &s.net else {
            panic!()
        };
        assert_eq!(ip.header().source_addr(), Ipv4Addr::new(10, 0, 1, 2));
        assert_eq!(ip.header().destination_addr(), Ipv4Addr::new(10, 0, 0, 1));
        let Some(etherparse::TransportSlice::Icmpv4(icmp)) = s.transport else {
            panic!()
        };
        assert_eq!(
            icmp.icmp_type(),
            Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 1376
            })
        );
        assert!(out.len() <= 576);
        // The quoted bytes start with the original header.
        assert_eq!(&icmp.payload()[..28], &packet[..28]);
        // ICMP checksum valid.
        assert_eq!(internet_checksum(&out[20..]), 0);
    }

    #[test]
    fn no_icmp_error_about_icmp_errors_or_multicast() {
        let mut err = Vec::new();
        icmp_frag_needed(&udp_packet(1500, true), Ipv4Addr::LOCALHOST, 1000, &mut err).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            icmp_frag_needed(&err, Ipv4Addr::LOCALHOST, 1000, &mut out),
            Ok(false)
        );
        let mut mc = udp_packet(100, true);
        mc[16..20].copy_from_slice(&[224, 0, 0, 5]);
        assert_eq!(
            icmp_frag_needed(&mc, Ipv4Addr::LOCALHOST, 1000, &mut out),
            Ok(false)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn checksum_adjust_matches_recompute() {
        let mut data = [
            0x45u8, 0, 0, 40, 1, 2, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        set_ipv4_checksum(&mut data, 20);
        let old_ck = u16::from_be_bytes([data[10], data[11]]);
        let old = u16::from_be_bytes([data[8], data[9]]);
        data[8] = 63;
        let new = u16::from_be_bytes([data[8], data[9]]);
        let adj = checksum_adjust(old_ck, old, new);
        set_ipv4_checksum(&mut data, 20);
        assert_eq!(adj, u16::from_be_bytes([data[10], data[11]]));
    }
}

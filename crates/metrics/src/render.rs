//! The metric families of a [`MetricsSnapshot`] and their OpenMetrics text.
//!
//! [`families`] turns a snapshot into an ordered list of [`MetricFamily`]
//! (name, help, type, labelled samples); [`render`] encodes that list with the
//! `prometheus-client` crate's OpenMetrics text encoder, which appends
//! `_total` to counter names and ends the exposition with `# EOF`. The order
//! of families and samples follows the snapshot (configuration order), so the
//! output is deterministic. Every name is documented in `docs/metrics.md`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use dmvpn_mgmt::{NhrpTypeCounters, NhsState, PacketCounters, PeerState};

use crate::snapshot::{Direction, MetricsSnapshot};

/// The HTTP `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether a family is a counter or a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Monotonic (until `clear dmvpn statistics` / `clear counters`); the
    /// exposed name gets a `_total` suffix.
    Counter,
    /// A value that goes up and down.
    Gauge,
}

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Label names and values, in exposition order.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: u64,
}

/// One metric family: a name, its help text, its type and its samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricFamily {
    /// Name without the `_total` suffix counters get on the wire.
    pub name: &'static str,
    /// One-line help text (`# HELP`).
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// The samples, in snapshot order.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    pub(crate) fn new(name: &'static str, kind: MetricKind, help: &'static str) -> Self {
        MetricFamily {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, labels: Vec<(&'static str, String)>, value: u64) {
        self.samples.push(Sample { labels, value });
    }

    /// The name as exposed (`_total` appended for counters).
    pub fn exposed_name(&self) -> String {
        match self.kind {
            MetricKind::Counter => format!("{}_total", self.name),
            MetricKind::Gauge => self.name.to_owned(),
        }
    }
}

const PEER_STATES: [PeerState; 6] = [
    PeerState::Up,
    PeerState::Down,
    PeerState::Nhrp,
    PeerState::Ike,
    PeerState::Ipsec,
    PeerState::Intf,
];

fn state_label(s: PeerState) -> &'static str {
    match s {
        PeerState::Up => "up",
        PeerState::Down => "down",
        PeerState::Nhrp => "nhrp",
        PeerState::Ike => "ike",
        PeerState::Ipsec => "ipsec",
        PeerState::Intf => "intf",
    }
}

/// The NHRP packet types as `type` label values (the canonical
/// [`dmvpn_wire::nhrp::KnownPacketType::label`]s, in wire order), with their
/// counters, then `other`.
fn by_type(c: &NhrpTypeCounters) -> impl Iterator<Item = (&'static str, u64)> + '_ {
    c.by_type()
        .map(|(t, n)| (t.label(), n))
        .chain(std::iter::once(("other", c.other)))
}

/// RFC 2332 §5.2.7 name of an Error Indication code, as a label value
/// ([`dmvpn_wire::nhrp::ErrorCode::label`]; `unknown` for a code without a name).
pub fn error_code_name(code: u16) -> &'static str {
    dmvpn_wire::nhrp::ErrorCode::from(code).label()
}

pub(crate) fn l(name: &'static str, value: impl ToString) -> (&'static str, String) {
    (name, value.to_string())
}

fn data_plane(
    packets: &mut MetricFamily,
    bytes: &mut MetricFamily,
    labels: &[(&'static str, String)],
    c: &PacketCounters,
) {
    for (dir, p, b) in [
        ("tx", c.packets_out, c.bytes_out),
        ("rx", c.packets_in, c.bytes_in),
    ] {
        let mut with_dir = labels.to_vec();
        with_dir.push(l("direction", dir));
        packets.push(with_dir.clone(), p);
        bytes.push(with_dir, b);
    }
}

/// The metric families of `s`, in exposition order.
pub fn families(s: &MetricsSnapshot) -> Vec<MetricFamily> {
    use MetricKind::{Counter, Gauge};

    let mut up = MetricFamily::new(
        "dmvpn_interface_up",
        Gauge,
        "Tunnel interface line protocol state (1 up, 0 down).",
    );
    let mut peers = MetricFamily::new(
        "dmvpn_peers",
        Gauge,
        "NBMA peers of a tunnel interface by session state (show dmvpn).",
    );
    let mut tun_pk = MetricFamily::new(
        "dmvpn_tunnel_packets",
        Counter,
        "Data packets through a tunnel interface (tx encapsulated, rx decapsulated).",
    );
    let mut tun_by = MetricFamily::new(
        "dmvpn_tunnel_bytes",
        Counter,
        "Data bytes through a tunnel interface.",
    );
    let mut peer_pk = MetricFamily::new(
        "dmvpn_peer_packets",
        Counter,
        "Data packets exchanged with one NBMA peer.",
    );
    let mut peer_by = MetricFamily::new(
        "dmvpn_peer_bytes",
        Counter,
        "Data bytes exchanged with one NBMA peer.",
    );
    for i in &s.dmvpn.interfaces {
        let iface = || l("interface", &i.name);
        up.push(vec![iface()], u64::from(i.line_up && i.admin_up));
        for st in PEER_STATES {
            let n = i.peers.iter().filter(|p| p.state == st).count();
            peers.push(
                vec![iface(), l("state", state_label(st))],
                u64::try_from(n).unwrap_or(u64::MAX),
            );
        }
        data_plane(&mut tun_pk, &mut tun_by, &[iface()], &i.counters);
        for p in &i.peers {
            let labels = [iface(), l("peer_nbma", p.nbma), l("peer_tunnel", p.tunnel)];
            data_plane(&mut peer_pk, &mut peer_by, &labels, &p.counters);
        }
    }

    let mut nhrp = MetricFamily::new(
        "dmvpn_nhrp_packets",
        Counter,
        "NHRP packets by type, sent and received (show ip nhrp traffic).",
    );
    let mut nhrp_all = MetricFamily::new(
        "dmvpn_nhrp_packets_all",
        Counter,
        "All NHRP packets, sent and received (the Total of show ip nhrp traffic).",
    );
    let mut ms_limit = MetricFamily::new(
        "dmvpn_nhrp_max_send_limit_packets",
        Gauge,
        "ip nhrp max-send: packets allowed per interval.",
    );
    let mut ms_interval = MetricFamily::new(
        "dmvpn_nhrp_max_send_interval_seconds",
        Gauge,
        "ip nhrp max-send: length of the interval.",
    );
    let mut ms_usage = MetricFamily::new(
        "dmvpn_nhrp_max_send_usage_percent",
        Gauge,
        "Share of the max-send quota used in the current interval.",
    );
    let mut ms_drops = MetricFamily::new(
        "dmvpn_nhrp_max_send_drops",
        Counter,
        "NHRP packets not sent because the max-send quota was used up.",
    );
    for t in &s.traffic.interfaces {
        let iface = || l("interface", &t.interface);
        for (dir, c) in [
            (Direction::Sent, &t.sent),
            (Direction::Received, &t.received),
        ] {
            for (ty, v) in by_type(c) {
                nhrp.push(
                    vec![iface(), l("direction", dir.as_label()), l("type", ty)],
                    v,
                );
            }
            nhrp_all.push(vec![iface(), l("direction", dir.as_label())], c.total);
        }
        ms_limit.push(vec![iface()], u64::from(t.max_send.packets));
        ms_interval.push(vec![iface()], u64::from(t.max_send.interval_secs));
        ms_usage.push(vec![iface()], u64::from(t.max_send.usage_percent));
        ms_drops.push(vec![iface()], t.max_send.dropped);
    }

    let mut errors = MetricFamily::new(
        "dmvpn_nhrp_error_indications",
        Counter,
        "NHRP Error Indications by RFC 2332 error code, sent and received.",
    );
    for ((iface, dir, code), v) in &s.extras.error_codes {
        errors.push(
            vec![
                l("interface", iface),
                l("direction", dir.as_label()),
                l("code", code),
                l("error", error_code_name(*code)),
            ],
            *v,
        );
    }
    let mut redirect_rl = MetricFamily::new(
        "dmvpn_nhrp_redirect_rate_limited",
        Counter,
        "Traffic Indications (redirects) held back by the per-flow redirect rate limit.",
    );
    for (iface, v) in &s.extras.redirect_rate_limited {
        redirect_rl.push(vec![l("interface", iface)], *v);
    }
    let mut rx_drops = MetricFamily::new(
        "dmvpn_nhrp_receive_drops",
        Counter,
        "Received NHRP packets dropped, by reason.",
    );
    for ((iface, reason), v) in &s.extras.receive_drops {
        rx_drops.push(vec![l("interface", iface), l("reason", reason)], *v);
    }
    // Without extras (a scrape over the control socket), the drops `show ip nhrp traffic`
    // carries.
    for t in &s.traffic.interfaces {
        if s.extras
            .receive_drops
            .keys()
            .any(|(i, _)| *i == t.interface)
        {
            continue;
        }
        for (reason, v) in &t.drops {
            rx_drops.push(vec![l("interface", &t.interface), l("reason", reason)], *v);
        }
    }
    let (gre_drops, ms_established) = accounting_families(s);

    let mut nhs_up = MetricFamily::new(
        "dmvpn_nhs_up",
        Gauge,
        "Next Hop Server state as seen by this client (1 UP, 0 DOWN).",
    );
    let mut nhs_req = MetricFamily::new(
        "dmvpn_nhs_registration_requests",
        Counter,
        "Registration Requests sent to a Next Hop Server.",
    );
    let mut nhs_fail = MetricFamily::new(
        "dmvpn_nhs_registration_failures",
        Counter,
        "Registration Requests to a Next Hop Server that failed (error or timeout).",
    );
    let mut nhs_rep = MetricFamily::new(
        "dmvpn_nhs_registration_replies",
        Counter,
        "Registration Replies received from a Next Hop Server.",
    );
    let mut nhs_unanswered = MetricFamily::new(
        "dmvpn_nhs_unanswered_requests",
        Gauge,
        "Registration Requests to a Next Hop Server unanswered in a row now (DOWN at 3).",
    );
    for n in &s.nhs.servers {
        let labels = vec![
            l("interface", &n.interface),
            l("nhs", n.address),
            l(
                "nhs_nbma",
                n.nbma.map(|a| a.to_string()).unwrap_or_default(),
            ),
        ];
        nhs_up.push(labels.clone(), u64::from(n.state == NhsState::Up));
        nhs_req.push(labels.clone(), n.requests_sent);
        nhs_fail.push(labels.clone(), n.requests_failed);
        nhs_unanswered.push(labels.clone(), u64::from(n.unanswered));
        nhs_rep.push(labels, n.replies_received);
    }

    let mut all = vec![
        up,
        peers,
        tun_pk,
        tun_by,
        peer_pk,
        peer_by,
        nhrp,
        nhrp_all,
        errors,
        ms_limit,
        ms_interval,
        ms_usage,
        ms_drops,
        redirect_rl,
        rx_drops,
        ms_established,
        gre_drops,
        nhs_up,
        nhs_req,
        nhs_fail,
        nhs_unanswered,
        nhs_rep,
    ];
    if let Some((ike, esp)) = &s.crypto {
        all.extend(crate::crypto::families(ike, esp));
    }
    all
}

/// The GRE-level drops by reason and the established peers' replies (the counters added for
/// flood accounting), from `show ip nhrp traffic`.
fn accounting_families(s: &MetricsSnapshot) -> (MetricFamily, MetricFamily) {
    let mut gre = MetricFamily::new(
        "dmvpn_gre_drops",
        MetricKind::Counter,
        "GRE packets the data plane dropped, by reason (header, key, protocol, IPsec).",
    );
    let mut established = MetricFamily::new(
        "dmvpn_nhrp_max_send_established",
        MetricKind::Counter,
        "Replies to established (registered) peers sent from their own max-send budget.",
    );
    for t in &s.traffic.interfaces {
        let iface = || l("interface", &t.interface);
        established.push(vec![iface()], t.max_send.established_sent);
        let Some(g) = t.gre else {
            continue;
        };
        for (reason, v) in [
            ("truncated", g.truncated),
            ("bad_version", g.bad_version),
            ("bad_flags", g.bad_flags),
            ("bad_checksum", g.bad_checksum),
            ("inner_malformed", g.inner_malformed),
            ("key_mismatch", g.key_mismatch),
            ("unknown_protocol", g.unknown_protocol),
            ("wrong_source", g.wrong_source),
            ("protection", g.protection),
            ("transport", g.transport),
        ] {
            gre.push(vec![iface(), l("reason", reason)], v);
        }
    }
    (gre, established)
}

/// Encodes precomputed families through `prometheus-client`, in order.
#[derive(Debug)]
struct Families(Vec<MetricFamily>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0 {
            let ty = match f.kind {
                MetricKind::Counter => MetricType::Counter,
                MetricKind::Gauge => MetricType::Gauge,
            };
            let mut family = encoder.encode_descriptor(f.name, f.help, None, ty)?;
            for s in &f.samples {
                let labels: Vec<(&str, &str)> =
                    s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let m = family.encode_family(&labels)?;
                match f.kind {
                    MetricKind::Counter => ConstCounter::new(s.value).encode(m)?,
                    MetricKind::Gauge => {
                        ConstGauge::new(i64::try_from(s.value).unwrap_or(i64::MAX)).encode(m)?
                    }
                }
            }
        }
        Ok(())
    }
}

/// The OpenMetrics text exposition of `s` (serve it with [`CONTENT_TYPE`]).
pub fn render(s: &MetricsSnapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families(s))));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would only come
    // from an invalid label, and then the partial text is still served.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

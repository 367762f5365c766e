//! Builders: constructors for every NHRP packet type and a `with_*` chain to adjust them.
//!
//! Defaults (documented so the engine can rely on them): version 1, hop count
//! [`super::CISCO_HOP_COUNT`] (255, as Cisco IOS sends; never 0), `ar$afn` from the NBMA
//! address family, `ar$pro.type` from the source protocol address family, no extensions unless
//! a `with_*extension*` call adds them. `ar$pktsz`, `ar$extoff` and `ar$chksum` are computed by
//! [`Repr::emit`].

use core::net::IpAddr;

use crate::gre::EtherType;

use super::CISCO_HOP_COUNT;
use super::types::*;

fn host_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn afn_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Ipv4,
        IpAddr::V6(_) => AddressFamily::Ipv6,
    }
}

fn ethertype_of(ip: IpAddr) -> EtherType {
    match ip {
        IpAddr::V4(_) => EtherType::Ipv4,
        IpAddr::V6(_) => EtherType::Ipv6,
    }
}

impl Repr {
    /// A packet of `packet_type` with the given addresses, the type's empty body, no flags and
    /// no extensions.
    pub fn new(
        packet_type: PacketType,
        src_nbma: IpAddr,
        src_proto: IpAddr,
        dst_proto: IpAddr,
    ) -> Repr {
        Repr {
            afn: afn_of(src_nbma),
            protocol_type: ethertype_of(src_proto),
            protocol_snap: [0; 5],
            hop_count: CISCO_HOP_COUNT,
            version: super::VERSION,
            packet_type,
            src_nbma: NbmaAddress::from_ip(src_nbma),
            src_nbma_subaddr: NbmaAddress::empty(),
            src_proto: ProtocolAddress::from_ip(src_proto),
            dst_proto: ProtocolAddress::from_ip(dst_proto),
            flags: Flags::NONE,
            body: Body::empty_for(packet_type),
            padding: Vec::new(),
            extensions: Vec::new(),
            trailing: Vec::new(),
            empty_extension_area: false,
        }
    }

    /// Resolution Request for `target` from the station (`src_nbma`, `src_proto`).
    ///
    /// Flags Q|A|S|NAT (0xC802, what Cisco and FRR send); one CIE with no addresses, code 0,
    /// host prefix length. The source fields of the header identify the requester.
    pub fn resolution_request(
        src_nbma: IpAddr,
        src_proto: IpAddr,
        target: IpAddr,
        request_id: u32,
    ) -> Repr {
        Repr::new(PacketType::ResolutionRequest, src_nbma, src_proto, target)
            .with_flags(Flags::Q | Flags::A | Flags::S | Flags::CISCO_NAT)
            .with_request_id(request_id)
            .with_cie(Cie::new(CieCode::Success).with_binding(host_prefix(src_proto), 0, 0))
    }

    /// Resolution Reply to `request`: the request's addresses, request id and extensions are
    /// kept (RFC 2332 §5.2.2); flags keep Q, U, S and NAT from the request and set A and D; the
    /// CIE list becomes `cies`.
    pub fn resolution_reply(request: &Repr, cies: Vec<Cie>) -> Repr {
        let kept = request.flags & (Flags::Q | Flags::RESOLUTION_U | Flags::S | Flags::CISCO_NAT);
        request.reply(
            PacketType::ResolutionReply,
            kept | Flags::A | Flags::D,
            cies,
        )
    }

    /// Registration Request from (`src_nbma`, `src_proto`) to the NHS `nhs_proto`.
    ///
    /// Flags NAT, plus U when `unique`; one CIE with no addresses, code 0, prefix 0xFF when
    /// unique (RFC 2332 §5.2.3) else the host length.
    pub fn registration_request(
        src_nbma: IpAddr,
        src_proto: IpAddr,
        nhs_proto: IpAddr,
        request_id: u32,
        unique: bool,
    ) -> Repr {
        let mut flags = Flags::CISCO_NAT;
        flags.set(Flags::REGISTRATION_U, unique);
        let prefix = if unique { 0xff } else { host_prefix(src_proto) };
        Repr::new(
            PacketType::RegistrationRequest,
            src_nbma,
            src_proto,
            nhs_proto,
        )
        .with_flags(flags)
        .with_request_id(request_id)
        .with_cie(Cie::new(CieCode::Success).with_binding(prefix, 0, 0))
    }

    /// Registration Reply to `request`: addresses, request id, flags (U, NAT) and extensions
    /// are kept; each request CIE is echoed with `code`.
    pub fn registration_reply(request: &Repr, code: CieCode) -> Repr {
        let cies = request
            .cies()
            .iter()
            .cloned()
            .map(|c| c.with_code(code))
            .collect();
        request.reply(PacketType::RegistrationReply, request.flags, cies)
    }

    /// Purge Request from (`src_nbma`, `src_proto`) to `dst_proto`, purging the bindings in
    /// `cies`. Set `no_reply` for the N flag.
    pub fn purge_request(
        src_nbma: IpAddr,
        src_proto: IpAddr,
        dst_proto: IpAddr,
        request_id: u32,
        cies: Vec<Cie>,
        no_reply: bool,
    ) -> Repr {
        let mut flags = Flags::NONE;
        flags.set(Flags::N, no_reply);
        Repr::new(PacketType::PurgeRequest, src_nbma, src_proto, dst_proto)
            .with_flags(flags)
            .with_request_id(request_id)
            .with_cies(cies)
    }

    /// Purge Reply to `request`: everything kept, type changed (RFC 2332 §5.2.6).
    pub fn purge_reply(request: &Repr) -> Repr {
        request.reply(
            PacketType::PurgeReply,
            request.flags,
            request.cies().to_vec(),
        )
    }

    /// Error Indication from (`src_nbma`, `src_proto`) to `dst_proto` about `offending` (the
    /// bytes of the packet in error, whole or cut), with `code` and the byte `offset` of the
    /// problem in it. No flags, no extensions (RFC 2332 §5.2.7 forbids them).
    pub fn error_indication(
        src_nbma: IpAddr,
        src_proto: IpAddr,
        dst_proto: IpAddr,
        code: ErrorCode,
        offset: u16,
        offending: &[u8],
    ) -> Repr {
        let mut r = Repr::new(PacketType::ErrorIndication, src_nbma, src_proto, dst_proto);
        r.body = Body::ErrorIndication {
            code,
            offset,
            packet: offending.to_vec(),
        };
        r
    }

    /// Traffic Indication (Cisco redirect) from the hub (`src_nbma`, `src_proto`) to the
    /// spoke `dst_proto` (the source of the redirected packet), carrying `data_packet` (the IP
    /// header and as much of the packet as wanted). Traffic code 0 (redirect).
    pub fn traffic_indication(
        src_nbma: IpAddr,
        src_proto: IpAddr,
        dst_proto: IpAddr,
        data_packet: &[u8],
    ) -> Repr {
        let mut r = Repr::new(
            PacketType::TrafficIndication,
            src_nbma,
            src_proto,
            dst_proto,
        );
        r.body = Body::TrafficIndication {
            code: TrafficCode::Redirect,
            unused: 0,
            packet: data_packet.to_vec(),
        };
        r
    }

    fn reply(&self, ty: PacketType, flags: Flags, cies: Vec<Cie>) -> Repr {
        let mut r = self.clone();
        r.packet_type = ty;
        r.flags = flags;
        r.hop_count = CISCO_HOP_COUNT;
        r.body = Body::Cies {
            request_id: self.request_id().unwrap_or(0),
            cies,
        };
        r.padding.clear();
        r.trailing.clear();
        r
    }

    /// Sets the hop count.
    pub fn with_hop_count(mut self, hop_count: u8) -> Repr {
        self.hop_count = hop_count;
        self
    }

    /// Sets the flags.
    pub fn with_flags(mut self, flags: Flags) -> Repr {
        self.flags = flags;
        self
    }

    /// Sets the request id (types 1-6; ignored otherwise).
    pub fn with_request_id(mut self, id: u32) -> Repr {
        if let Body::Cies { request_id, .. } = &mut self.body {
            *request_id = id;
        }
        self
    }

    /// Appends a CIE (types 1-6; ignored otherwise).
    pub fn with_cie(mut self, cie: Cie) -> Repr {
        if let Some(c) = self.cies_mut() {
            c.push(cie);
        }
        self
    }

    /// Replaces the CIE list (types 1-6; ignored otherwise).
    pub fn with_cies(mut self, cies: Vec<Cie>) -> Repr {
        if let Some(c) = self.cies_mut() {
            *c = cies;
        }
        self
    }

    /// Sets MTU and holding time on every CIE of the body.
    pub fn with_mtu_and_holding_time(mut self, mtu: u16, holding_time: u16) -> Repr {
        if let Some(cies) = self.cies_mut() {
            for c in cies {
                c.mtu = mtu;
                c.holding_time = holding_time;
            }
        }
        self
    }

    /// Adds an extension before End (appending End if the list has none).
    pub fn with_extension(mut self, ext: Extension) -> Repr {
        self.push_extension(ext);
        self
    }

    /// Adds an extension before End (appending End if the list has none).
    pub fn push_extension(&mut self, ext: Extension) {
        match self
            .extensions
            .iter()
            .position(|e| e.ty == ExtensionType::End)
        {
            Some(end) => self.extensions.insert(end, ext),
            None => {
                self.extensions.push(ext);
                self.extensions.push(Extension::end());
            }
        }
    }

    /// Replaces the extensions with the layout Cisco IOS and FRR send in requests: empty
    /// Forward Transit, Reverse Transit and Responder Address records, the Cisco NAT extension
    /// with `nat` (omitted when `None`), authentication when given, End.
    pub fn with_request_extensions(
        mut self,
        nat: Option<Vec<Cie>>,
        auth: Option<Authentication>,
    ) -> Repr {
        self.extensions = vec![
            Extension::forward_transit(Vec::new()),
            Extension::reverse_transit(Vec::new()),
            Extension::responder_address(Vec::new()),
        ];
        if let Some(nat) = nat {
            self.extensions.push(Extension::cisco_nat(nat));
        }
        if let Some(auth) = auth {
            self.extensions.push(Extension::authentication(auth));
        }
        self.extensions.push(Extension::end());
        self
    }
}

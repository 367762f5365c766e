//! Netlink at the edge: the route mirror (dump plus `RTNLGRP_IPV4_ROUTE` subscription of the
//! kernel routes that point into the tunnel device, and of the [`LocalRoutes`] that leave
//! through other interfaces) and the tunnel-source watcher (`RTNLGRP_IPV4_IFADDR`/
//! `RTNLGRP_LINK` events on the source interface).
//!
//! Both subscribe before they dump, so no change between dump and subscription is lost;
//! queued events are replayed after the dump (replay is idempotent). The route mirror also
//! listens to `RTNLGRP_LINK` and dumps again on every link change, because the kernel removes
//! the routes of a link that goes down or away without a notification.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::AsyncSocket;
use rtnetlink::{MulticastGroup, RouteMessageBuilder};
use tokio::sync::watch;

use crate::Error;
use crate::tables::{ForwardingTables, Ipv4Prefix, MirroredRoute, RouteKey, RouteMirror};

/// Receive buffer asked for on the route-notification socket.
const NETLINK_RX_BUFFER: usize = 4 << 20;

/// The main routing table.
pub const RT_TABLE_MAIN: u32 = 254;

/// Route protocol number of the shortcut routes the data plane puts in the kernel table
/// (`ip route show proto 157`). Not assigned in iproute2's `rt_protos` nor used by FRR (whose
/// daemons use 186 to 196) or BIRD (12). The route mirror ignores routes of this protocol:
/// they are our own.
pub const RTPROT_DMVPN_SHORTCUT: u8 = 157;

/// A change to the shortcut routes in the kernel table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShortcutRoute {
    /// Install `prefix via next_hop dev TUNNEL proto 157`.
    Add(Ipv4Prefix, Ipv4Addr),
    /// Remove our route for `prefix`.
    Remove(Ipv4Prefix),
}

fn shortcut_message(
    ifindex: u32,
    table: u32,
    prefix: Ipv4Prefix,
    via: Option<Ipv4Addr>,
) -> RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(prefix.addr(), prefix.len())
        .output_interface(ifindex)
        .table_id(table)
        .protocol(netlink_packet_route::route::RouteProtocol::from(
            RTPROT_DMVPN_SHORTCUT,
        ));
    if let Some(gw) = via {
        b = b.gateway(gw);
    }
    b.build()
}

/// Keeps the kernel's shortcut routes on device `ifindex` (table `table`) in step with the
/// data plane's shortcuts: first removes what an earlier (crashed) daemon left behind on
/// this device, then applies each change as it comes. A route of another protocol for the
/// same prefix (a routing daemon's) is left alone: the shortcut is then not added, and
/// removing ours never touches it. The kernel removes the routes itself when the tunnel
/// device goes away (daemon exit).
pub(crate) async fn run_shortcut_routes(
    ifindex: u32,
    table: u32,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<ShortcutRoute>,
) -> Result<(), Error> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(Error::Netlink)?;
    let _conn = AbortOnDrop(tokio::spawn(conn));
    let mut dump = handle
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute();
    let mut stale = Vec::new();
    while let Some(msg) = dump
        .try_next()
        .await
        .map_err(|e| Error::NetlinkRequest(e.to_string()))?
    {
        let ours = u8::from(msg.header.protocol) == RTPROT_DMVPN_SHORTCUT
            && msg
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == ifindex));
        if ours {
            stale.push(msg);
        }
    }
    for msg in stale {
        if let Err(e) = handle.route().del(msg).execute().await {
            tracing::debug!(error = %e, "stale shortcut route not removed");
        }
    }
    while let Some(change) = changes.recv().await {
        match change {
            ShortcutRoute::Add(prefix, via) => {
                let msg = shortcut_message(ifindex, table, prefix, Some(via));
                // Replace our own route for the prefix; a route of another protocol with the
                // same identity makes this fail, and stays.
                let _ = handle
                    .route()
                    .del(shortcut_message(ifindex, table, prefix, None))
                    .execute()
                    .await;
                if let Err(e) = handle.route().add(msg).execute().await {
                    tracing::debug!(%prefix, error = %e, "shortcut route not installed in the kernel");
                }
            }
            ShortcutRoute::Remove(prefix) => {
                if let Err(e) = handle
                    .route()
                    .del(shortcut_message(ifindex, table, prefix, None))
                    .execute()
                    .await
                {
                    tracing::debug!(%prefix, error = %e, "shortcut route not removed from the kernel");
                }
            }
        }
    }
    Ok(())
}

/// What a route message means for the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChange {
    /// The route points into the tunnel: add or replace it.
    Upsert(RouteKey, MirroredRoute),
    /// The route identity no longer points into the tunnel (deleted or moved elsewhere).
    Remove(RouteKey),
}

fn inet(addr: &RouteAddress) -> Option<Ipv4Addr> {
    match addr {
        RouteAddress::Inet(a) => Some(*a),
        _ => None,
    }
}

/// The fields of an IPv4 route message that both interpretations read, for a message of
/// table `table` that is not one of our own shortcut routes (`None` otherwise, or when the
/// destination or prefix length is unusable).
struct RouteFields<'a> {
    key: RouteKey,
    oif: Option<u32>,
    gateway: Option<Ipv4Addr>,
    multipath: Option<&'a Vec<netlink_packet_route::route::RouteNextHop>>,
}

fn route_fields(msg: &RouteMessage, table: u32) -> Option<RouteFields<'_>> {
    if msg.header.address_family != AddressFamily::Inet {
        return None;
    }
    let mut msg_table = u32::from(msg.header.table);
    let mut dst = Ipv4Addr::UNSPECIFIED;
    let mut metric = 0;
    let mut oif = None;
    let mut gateway = None;
    let mut multipath = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => msg_table = *t,
            RouteAttribute::Destination(a) => dst = inet(a)?,
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Gateway(a) => gateway = inet(a),
            RouteAttribute::MultiPath(hops) => multipath = Some(hops),
            _ => {}
        }
    }
    if msg_table != table || u8::from(msg.header.protocol) == RTPROT_DMVPN_SHORTCUT {
        return None;
    }
    let prefix = Ipv4Prefix::new(dst, msg.header.destination_prefix_length).ok()?;
    Some(RouteFields {
        key: RouteKey {
            prefix,
            tos: msg.header.tos,
            metric,
        },
        oif,
        gateway,
        multipath,
    })
}

/// Interprets a route message for the mirror of device `ifindex` in table `table`.
/// Returns `None` for messages that are not IPv4 unicast routes in that table.
pub fn route_change(
    msg: &RouteMessage,
    deleted: bool,
    ifindex: u32,
    table: u32,
) -> Option<RouteChange> {
    let RouteFields {
        key,
        oif,
        mut gateway,
        multipath,
    } = route_fields(msg, table)?;
    let prefix = key.prefix;
    if deleted || msg.header.kind != RouteType::Unicast {
        return Some(RouteChange::Remove(key));
    }
    let mut into_tunnel = oif == Some(ifindex);
    if !into_tunnel
        && let Some(hops) = multipath
        && let Some(hop) = hops.iter().find(|h| h.interface_index == ifindex)
    {
        into_tunnel = true;
        gateway = hop.attributes.iter().find_map(|a| match a {
            RouteAttribute::Gateway(g) => inet(g),
            _ => None,
        });
    }
    if !into_tunnel {
        if oif.is_none()
            && multipath.is_none()
            && msg
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::NhId(_)))
        {
            // A nexthop-object route (FRR) without the legacy attributes: the kernel
            // only adds them with net.ipv4.nexthop_compat_mode=1 (its default).
            tracing::warn!(
                prefix = %prefix,
                "route uses a nexthop object without RTA_OIF; set \
                 net.ipv4.nexthop_compat_mode=1 so it can be mirrored"
            );
        }
        return Some(RouteChange::Remove(key));
    }
    Some(RouteChange::Upsert(
        key,
        MirroredRoute {
            prefix,
            gateway,
            metric: key.metric,
            protocol: u8::from(msg.header.protocol),
        },
    ))
}

/// What a route message means for the [`LocalRoutes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalChange {
    /// The route leaves through a non-tunnel interface: the station owns its prefix.
    Upsert(RouteKey),
    /// The route identity is gone, or no longer local.
    Remove(RouteKey),
}

/// Interprets a route message for the local routes of a tunnel on device `ifindex`: the
/// IPv4 unicast routes of table `table` that leave through another interface. Returns
/// `None` for messages about other tables or families.
///
/// Not local (so never answered for in Resolution Replies): routes into the tunnel (any
/// next hop of a multipath route through it), default routes (`/0`: the uplink's default
/// route is not a network this station owns), routes through `excluded` (the tunnel source
/// interface: its routes lead to the NBMA network, the internet uplink, not to a site
/// behind this station), and nexthop-object routes without an output interface (nothing
/// says where they leave).
pub fn local_route_change(
    msg: &RouteMessage,
    deleted: bool,
    ifindex: u32,
    excluded: Option<u32>,
    table: u32,
) -> Option<LocalChange> {
    let RouteFields {
        key,
        oif,
        multipath,
        ..
    } = route_fields(msg, table)?;
    let prefix = key.prefix;
    let mut oifs: Vec<u32> = oif.into_iter().collect();
    if let Some(hops) = multipath {
        oifs.extend(hops.iter().map(|h| h.interface_index));
    }
    let local = !deleted
        && msg.header.kind == RouteType::Unicast
        && !prefix.is_empty()
        && !oifs.is_empty()
        && oifs.iter().all(|i| *i != ifindex && Some(*i) != excluded);
    Some(if local {
        LocalChange::Upsert(key)
    } else {
        LocalChange::Remove(key)
    })
}

/// The routes of the tunnel's table that leave through other interfaces (see
/// [`local_route_change`]), and a version that changes whenever they or the tunnel's
/// mirrored routes change, so that a consumer can tell cheaply whether to look again.
#[derive(Debug, Default)]
pub struct LocalRoutes {
    routes: Mutex<BTreeSet<RouteKey>>,
    version: AtomicU64,
}

impl LocalRoutes {
    /// The distinct prefixes of the local routes, sorted.
    pub fn prefixes(&self) -> Vec<Ipv4Prefix> {
        let set: BTreeSet<Ipv4Prefix> = self
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|k| k.prefix)
            .collect();
        set.into_iter().collect()
    }

    /// Changes whenever the local routes or the tunnel's mirrored routes change.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// Applies one change; true when the set changed.
    pub fn apply(&self, change: LocalChange) -> bool {
        let changed = {
            let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            match change {
                LocalChange::Upsert(k) => routes.insert(k),
                LocalChange::Remove(k) => routes.remove(&k),
            }
        };
        if changed {
            self.bump();
        }
        changed
    }

    fn replace(&self, fresh: BTreeSet<RouteKey>) {
        let changed = {
            let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
            let changed = *routes != fresh;
            *routes = fresh;
            changed
        };
        if changed {
            self.bump();
        }
    }
}

/// Where the route mirror of one tunnel keeps what it follows.
#[derive(Debug, Clone)]
pub(crate) struct MirrorTargets {
    /// The tunnel's forwarding tables (routes into the tunnel).
    pub(crate) tables: Arc<ForwardingTables>,
    /// The routes through other interfaces.
    pub(crate) local: Arc<LocalRoutes>,
    /// The tunnel source interface (kernel name), whose routes are never local.
    pub(crate) source_interface: Option<String>,
}

impl MirrorTargets {
    fn excluded(&self) -> Option<u32> {
        self.source_interface.as_deref().and_then(ifindex_of)
    }
}

fn apply(tables: &ForwardingTables, change: RouteChange) {
    tables.update_routes(|m| match change {
        RouteChange::Upsert(key, route) => m.upsert(key.tos, route),
        RouteChange::Remove(key) => {
            m.remove(&key);
        }
    });
}

/// Runs the route mirror for device `ifindex` until an error occurs. `ready` is signalled
/// once the initial dump has been applied. The mirror is rebuilt from a full dump every
/// `resync_every` and whenever `resync_now` is notified.
pub(crate) async fn run_route_mirror(
    ifindex: u32,
    table: u32,
    targets: MirrorTargets,
    ready: tokio::sync::oneshot::Sender<()>,
    resync_every: std::time::Duration,
    resync_now: Arc<tokio::sync::Notify>,
) -> Result<(), Error> {
    let (mut conn, handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Ipv4Route, MulticastGroup::Link])
            .map_err(Error::Netlink)?;
    // A routing daemon loading a large table sends bursts of notifications; a bigger
    // buffer makes overruns (handled below by a resync) rarer.
    if let Err(e) = conn
        .socket_mut()
        .socket_mut()
        .set_rx_buf_sz(NETLINK_RX_BUFFER)
    {
        tracing::debug!(error = %e, "netlink receive buffer not enlarged");
    }
    let conn = AbortOnDrop(tokio::spawn(conn));
    resync(&handle, ifindex, table, &targets).await?;
    let _ = ready.send(());
    let mut tick = tokio::time::interval(resync_every.max(std::time::Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the dump above covered it
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some((msg, _)) = msg else { break };
                let (route, deleted) = match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => (r, false),
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(r)) => (r, true),
                    NetlinkPayload::InnerMessage(
                        RouteNetlinkMessage::NewLink(_) | RouteNetlinkMessage::DelLink(_),
                    ) => {
                        // The kernel flushes the routes of a link that goes down or away
                        // without announcing them: rebuild from a dump.
                        resync(&handle, ifindex, table, &targets).await?;
                        continue;
                    }
                    NetlinkPayload::Overrun(_) => {
                        // Notifications were lost: rebuild from a dump.
                        tracing::warn!("route notifications overran; resynchronising");
                        resync(&handle, ifindex, table, &targets).await?;
                        continue;
                    }
                    _ => continue,
                };
                if let Some(change) = route_change(&route, deleted, ifindex, table) {
                    tracing::debug!(?change, "route mirror update");
                    let before = targets.tables.routes();
                    apply(&targets.tables, change);
                    if targets.tables.routes() != before {
                        targets.local.bump();
                    }
                }
                let excluded = targets.excluded();
                if let Some(change) = local_route_change(&route, deleted, ifindex, excluded, table)
                    && targets.local.apply(change)
                {
                    tracing::debug!(?change, "local route update");
                }
            }
            _ = tick.tick() => resync(&handle, ifindex, table, &targets).await?,
            () = resync_now.notified() => resync(&handle, ifindex, table, &targets).await?,
        }
    }
    drop(conn);
    Err(Error::NetlinkClosed)
}

/// Replaces the mirror with a fresh dump. Catches removals the kernel does not announce
/// (routes flushed with a deleted nexthop object, or with a link going down).
async fn resync(
    handle: &rtnetlink::Handle,
    ifindex: u32,
    table: u32,
    targets: &MirrorTargets,
) -> Result<(), Error> {
    let excluded = targets.excluded();
    let mut dump = handle
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute();
    let mut fresh = RouteMirror::default();
    let mut local = BTreeSet::new();
    while let Some(msg) = dump
        .try_next()
        .await
        .map_err(|e| Error::NetlinkRequest(e.to_string()))?
    {
        if let Some(RouteChange::Upsert(key, route)) = route_change(&msg, false, ifindex, table) {
            fresh.upsert(key.tos, route);
        }
        if let Some(LocalChange::Upsert(key)) =
            local_route_change(&msg, false, ifindex, excluded, table)
        {
            local.insert(key);
        }
    }
    let before = targets.tables.routes();
    targets.tables.update_routes(|m| *m = fresh);
    if targets.tables.routes() != before {
        targets.local.bump();
    }
    targets.local.replace(local);
    Ok(())
}

/// The primary IPv4 address of an interface in an address dump: the first non-secondary
/// IPv4 address (its `IFA_LOCAL`, else `IFA_ADDRESS`).
pub fn primary_ipv4(messages: &[AddressMessage], ifindex: u32) -> Option<Ipv4Addr> {
    messages
        .iter()
        .filter(|m| {
            m.header.family == AddressFamily::Inet
                && m.header.index == ifindex
                && !m.header.flags.contains(AddressHeaderFlags::Secondary)
        })
        .find_map(|m| {
            let local = m.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(IpAddr::V4(v)) => Some(*v),
                _ => None,
            });
            local.or_else(|| {
                m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(IpAddr::V4(v)) => Some(*v),
                    _ => None,
                })
            })
        })
}

/// The index of interface `name`, if it exists.
pub fn ifindex_of(name: &str) -> Option<u32> {
    nix::net::if_::if_nametoindex(name).ok()
}

/// Resolves the current primary IPv4 address of interface `name` (None when the interface
/// is missing, down, or has no IPv4 address). A link that is administratively down or has
/// no carrier counts as no address, as IOS takes a tunnel down with its source: the
/// tunnel's transport closes, and opens again (and NHRP registers at once) when the link
/// comes back, whatever its address.
pub async fn interface_ipv4(
    handle: &rtnetlink::Handle,
    name: &str,
) -> Result<Option<Ipv4Addr>, Error> {
    let Some(index) = ifindex_of(name) else {
        return Ok(None);
    };
    if !link_is_up(handle, index).await? {
        return Ok(None);
    }
    let msgs: Vec<AddressMessage> = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| Error::NetlinkRequest(e.to_string()))?;
    Ok(primary_ipv4(&msgs, index))
}

/// Whether link `index` is up and running (IFF_UP and IFF_RUNNING: administratively up,
/// with carrier). A link that has gone is not up.
async fn link_is_up(handle: &rtnetlink::Handle, index: u32) -> Result<bool, Error> {
    use netlink_packet_route::link::LinkFlags;
    let mut links = handle.link().get().match_index(index).execute();
    match links.try_next().await {
        Ok(Some(link)) => Ok(link.header.flags.contains(LinkFlags::Up)
            && link.header.flags.contains(LinkFlags::Running)),
        Ok(None) => Ok(false),
        // The link went between the name lookup and the request.
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(false),
        Err(e) => Err(Error::NetlinkRequest(e.to_string())),
    }
}

/// Resolves interface `name`'s primary IPv4 address once, with a short-lived connection.
pub async fn resolve_interface_ipv4(name: &str) -> Result<Option<Ipv4Addr>, Error> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(Error::Netlink)?;
    let _conn = AbortOnDrop(tokio::spawn(conn));
    interface_ipv4(&handle, name).await
}

/// Watches interface `name` and publishes its primary IPv4 address on `tx` whenever it
/// changes. Runs until an error occurs or every receiver is gone.
pub(crate) async fn watch_source(
    name: String,
    tx: Arc<watch::Sender<Option<Ipv4Addr>>>,
) -> Result<(), Error> {
    let (conn, handle, mut messages) =
        rtnetlink::new_multicast_connection(&[MulticastGroup::Ipv4Ifaddr, MulticastGroup::Link])
            .map_err(Error::Netlink)?;
    let _conn = AbortOnDrop(tokio::spawn(conn));
    // Re-resolve now: the address may have changed between the caller's resolution and
    // this subscription.
    let publish = |addr: Option<Ipv4Addr>| {
        tx.send_if_modified(|cur| {
            if *cur == addr {
                false
            } else {
                *cur = addr;
                true
            }
        });
    };
    publish(interface_ipv4(&handle, &name).await?);
    while let Some((msg, _)) = messages.next().await {
        let relevant = matches!(
            msg.payload,
            NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewAddress(_)
                    | RouteNetlinkMessage::DelAddress(_)
                    | RouteNetlinkMessage::NewLink(_)
                    | RouteNetlinkMessage::DelLink(_)
            )
        );
        if !relevant {
            continue;
        }
        publish(interface_ipv4(&handle, &name).await?);
        if tx.is_closed() {
            return Ok(());
        }
    }
    Err(Error::NetlinkClosed)
}

/// Aborts a spawned task when dropped.
#[derive(Debug)]
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::route::RouteProtocol;

    fn msg(dst: &str, len: u8, attrs: Vec<RouteAttribute>) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = len;
        m.header.table = 254;
        m.header.kind = RouteType::Unicast;
        m.header.protocol = RouteProtocol::Static;
        m.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                dst.parse().unwrap(),
            )));
        m.attributes.extend(attrs);
        m
    }

    #[test]
    fn route_into_tunnel_is_mirrored_with_gateway() {
        let m = msg(
            "192.168.2.0",
            24,
            vec![
                RouteAttribute::Oif(7),
                RouteAttribute::Gateway(RouteAddress::Inet("10.0.0.12".parse().unwrap())),
                RouteAttribute::Priority(20),
            ],
        );
        let Some(RouteChange::Upsert(key, route)) = route_change(&m, false, 7, 254) else {
            panic!("not mirrored")
        };
        assert_eq!(key.metric, 20);
        assert_eq!(route.prefix.to_string(), "192.168.2.0/24");
        assert_eq!(route.gateway, Some("10.0.0.12".parse().unwrap()));
        assert_eq!(route.protocol, 4);
    }

    #[test]
    fn route_elsewhere_or_deleted_is_removed_and_other_tables_ignored() {
        let m = msg("192.168.2.0", 24, vec![RouteAttribute::Oif(3)]);
        assert!(matches!(
            route_change(&m, false, 7, 254),
            Some(RouteChange::Remove(_))
        ));
        let m = msg("192.168.2.0", 24, vec![RouteAttribute::Oif(7)]);
        assert!(matches!(
            route_change(&m, true, 7, 254),
            Some(RouteChange::Remove(_))
        ));
        let mut m = msg("192.168.2.0", 24, vec![RouteAttribute::Oif(7)]);
        m.header.table = 255;
        assert_eq!(route_change(&m, false, 7, 254), None);
    }

    #[test]
    fn multipath_hop_into_tunnel_is_mirrored() {
        use netlink_packet_route::route::RouteNextHop;
        let hop = |ifindex, gw: &str| {
            let mut h = RouteNextHop::default();
            h.interface_index = ifindex;
            h.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet(
                gw.parse().unwrap(),
            ))];
            h
        };
        let m = msg(
            "0.0.0.0",
            0,
            vec![RouteAttribute::MultiPath(vec![
                hop(3, "192.0.2.254"),
                hop(7, "10.0.0.1"),
            ])],
        );
        let Some(RouteChange::Upsert(_, route)) = route_change(&m, false, 7, 254) else {
            panic!()
        };
        assert_eq!(route.gateway, Some("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn routes_through_other_interfaces_are_local_except_default_source_and_tunnel() {
        let lan = msg("192.168.3.0", 24, vec![RouteAttribute::Oif(3)]);
        assert!(matches!(
            local_route_change(&lan, false, 7, Some(2), 254),
            Some(LocalChange::Upsert(k)) if k.prefix.to_string() == "192.168.3.0/24"
        ));
        assert!(matches!(
            local_route_change(&lan, true, 7, Some(2), 254),
            Some(LocalChange::Remove(_))
        ));
        let tunnel = msg("192.168.4.0", 24, vec![RouteAttribute::Oif(7)]);
        assert!(matches!(
            local_route_change(&tunnel, false, 7, Some(2), 254),
            Some(LocalChange::Remove(_))
        ));
        let default = msg("0.0.0.0", 0, vec![RouteAttribute::Oif(3)]);
        assert!(matches!(
            local_route_change(&default, false, 7, Some(2), 254),
            Some(LocalChange::Remove(_))
        ));
        let uplink = msg("198.51.100.0", 24, vec![RouteAttribute::Oif(2)]);
        assert!(matches!(
            local_route_change(&uplink, false, 7, Some(2), 254),
            Some(LocalChange::Remove(_))
        ));
        let mut other_table = lan.clone();
        other_table.header.table = 100;
        assert_eq!(
            local_route_change(&other_table, false, 7, Some(2), 254),
            None
        );
    }

    #[test]
    fn local_routes_set_versions_its_changes() {
        let set = LocalRoutes::default();
        let lan = msg("192.168.3.0", 24, vec![RouteAttribute::Oif(3)]);
        let v0 = set.version();
        let Some(up) = local_route_change(&lan, false, 7, None, 254) else {
            panic!()
        };
        assert!(set.apply(up));
        assert!(!set.apply(up), "idempotent");
        assert_ne!(set.version(), v0);
        assert_eq!(set.prefixes()[0].to_string(), "192.168.3.0/24");
        let Some(down) = local_route_change(&lan, true, 7, None, 254) else {
            panic!()
        };
        assert!(set.apply(down));
        assert!(set.prefixes().is_empty());
    }

    #[test]
    fn our_shortcut_routes_are_not_mirrored() {
        let mut m = msg("192.168.2.0", 24, vec![RouteAttribute::Oif(7)]);
        m.header.protocol = RouteProtocol::from(RTPROT_DMVPN_SHORTCUT);
        assert_eq!(route_change(&m, false, 7, 254), None);
        assert_eq!(local_route_change(&m, false, 9, None, 254), None);
    }

    #[test]
    fn primary_address_skips_secondary() {
        let mk = |addr: &str, secondary: bool| {
            let mut m = AddressMessage::default();
            m.header.family = AddressFamily::Inet;
            m.header.index = 2;
            if secondary {
                m.header.flags = AddressHeaderFlags::Secondary;
            }
            m.attributes
                .push(AddressAttribute::Local(IpAddr::V4(addr.parse().unwrap())));
            m
        };
        assert_eq!(
            primary_ipv4(&[mk("192.0.2.9", true), mk("192.0.2.1", false)], 2),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(primary_ipv4(&[mk("192.0.2.1", false)], 3), None);
    }
}

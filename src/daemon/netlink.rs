//! Kernel networking through rtnetlink: links, addresses, VMACs, events.
//!
//! [`Netlink`] owns one rtnetlink connection spawned on the current tokio
//! runtime. Requests are built with netlink-packet-route directly so that
//! every attribute keepalived sets (IPv6 `nodad`, preferred lifetime 0,
//! labels, macvlan private mode) is under our control.
//!
//! Idempotence is part of the contract: adding an address that is already
//! there and deleting one that is gone both succeed, so the daemon can
//! replay its desired state at any time ([`Netlink::reconcile`]).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use futures::StreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoIpVlan, InfoKind, InfoMacVlan,
    IpVlanFlags, IpVlanMode, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use rtnetlink::sys::AsyncSocket;
use rtnetlink::{Handle, MulticastGroup};
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// Errors from netlink requests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The netlink socket could not be opened or bound.
    #[error("cannot open netlink socket: {0}")]
    Socket(#[source] io::Error),
    /// The kernel refused a request; `errno` is positive (e.g. EPERM).
    #[error("{op}: {}", io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// What we were doing ("add address", "create vmac", ...).
        op: &'static str,
        /// The positive errno the kernel answered with.
        errno: i32,
    },
    /// The connection task is gone (runtime shut down).
    #[error("{0}: netlink connection closed")]
    Closed(&'static str),
    /// An interface of that name exists but is not the VMAC we asked for.
    #[error("interface {0} exists and is not a matching macvlan")]
    LinkExists(String),
    /// A link we just created could not be found again.
    #[error("interface {0} vanished after creation")]
    LinkMissing(String),
}

impl Error {
    /// The kernel errno, if the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// A network interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address (zero when the link has none, e.g. tunnels).
    pub mac: [u8; 6],
    /// Usable: `IFF_UP` and `IFF_RUNNING`. This is keepalived's
    /// `IF_FLAGS_UP`; `IFF_RUNNING` is the kernel's operational state (up
    /// or unknown, i.e. carrier present), so a veth whose peer is down, or
    /// a NIC with no cable, counts as down even though it is admin up.
    pub up: bool,
    /// Administratively up (`IFF_UP` alone, `ip link set X up`).
    pub admin_up: bool,
    /// MTU in bytes.
    pub mtu: u32,
    /// Raw `IFF_*` flags.
    pub flags: u32,
    /// The lower device (`IFLA_LINK`), e.g. a macvlan's parent.
    pub parent: Option<u32>,
    /// `IFLA_INFO_KIND` ("veth", "macvlan", ...), absent for plain NICs.
    pub kind: Option<String>,
    /// Whether this is a macvlan in private mode (keepalived's VMAC).
    pub macvlan_private: bool,
}

/// An address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// Interface index.
    pub ifindex: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label (`eth0:1`).
    pub label: Option<String>,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_F_*` flags (full 32 bits when the kernel sent `IFA_FLAGS`).
    pub flags: u32,
    /// Scope (0 global, 200 site, 253 link, 254 host, 255 nowhere).
    pub scope: u8,
    /// Preferred lifetime in seconds (`u32::MAX` = forever), if reported.
    pub preferred_lft: Option<u32>,
    /// The netlink port whose request caused the change (0: the kernel or
    /// a dump), so that a process can tell its own changes ([`Addr::is_ours`]).
    pub sender: u32,
}

impl Addr {
    /// Whether one of this process's own netlink sockets made the change
    /// (keepalived skips those in its reflector: they are not news).
    pub fn is_ours(&self) -> bool {
        self.sender != 0 && own_ports().lock().is_ok_and(|p| p.contains(&self.sender))
    }

    /// `IFA_F_SECONDARY`: not the primary address of its subnet.
    pub fn is_secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }

    /// `IFA_F_DEPRECATED`: preferred lifetime expired (or set to 0).
    pub fn is_deprecated(&self) -> bool {
        self.flags & IFA_F_DEPRECATED != 0
    }
}

/// `IFA_F_SECONDARY`.
pub const IFA_F_SECONDARY: u32 = 0x01;
/// `IFA_F_NODAD`.
pub const IFA_F_NODAD: u32 = 0x02;
/// `IFA_F_DEPRECATED`.
pub const IFA_F_DEPRECATED: u32 = 0x20;
/// `IFA_F_TENTATIVE`.
pub const IFA_F_TENTATIVE: u32 = 0x40;

/// Scope values as in `ip addr ... scope NAME`.
pub mod scope {
    /// `scope global` (the default).
    pub const GLOBAL: u8 = 0;
    /// `scope site`.
    pub const SITE: u8 = 200;
    /// `scope link`.
    pub const LINK: u8 = 253;
    /// `scope host`.
    pub const HOST: u8 = 254;
    /// `scope nowhere`.
    pub const NOWHERE: u8 = 255;
}

/// An address we want on (or off) an interface: one VIP spec resolved to
/// an interface index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddrSpec {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 broadcast (`brd`), already resolved from `+`/`-`.
    pub broadcast: Option<Ipv4Addr>,
    /// Scope (see [`scope`]).
    pub scope: u8,
    /// IPv4 label (`label eth0:1`); ignored for IPv6.
    pub label: Option<String>,
    /// IPv6 preferred lifetime in seconds (`None`: forever). keepalived's
    /// default for /128 VIPs is 0, so that they are never source addresses.
    pub preferred_lft: Option<u32>,
    /// IPv6: skip duplicate address detection (`IFA_F_NODAD`).
    pub nodad: bool,
    /// IPv6: the other `IFA_F_*` flags written on the address (`home`,
    /// `mngtmpaddr`, `noprefixroute`, `autojoin`).
    pub v6_flags: u32,
}

impl AddrSpec {
    /// A plain global address with no options.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        AddrSpec {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            scope: scope::GLOBAL,
            label: None,
            preferred_lft: None,
            nodad: false,
            v6_flags: 0,
        }
    }

    /// Whether a kernel address is this one (interface, address, prefix).
    pub fn matches(&self, a: &Addr) -> bool {
        a.ifindex == self.ifindex && a.addr == self.addr && a.prefix_len == self.prefix_len
    }
}

/// `brd +`: the all-ones broadcast of `addr/prefix_len` (none for /31,
/// /32, as the kernel and `ip` do).
pub fn broadcast_plus(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    (prefix_len < 31).then(|| Ipv4Addr::from(u32::from(addr) | (u32::MAX >> prefix_len)))
}

/// A change reported by [`Netlink::watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link became usable ([`Link::up`]), or appeared up.
    LinkUp(Link),
    /// A link stopped being usable, or appeared down.
    LinkDown(Link),
    /// A link was deleted.
    LinkDeleted(Link),
    /// An address was added (or its flags changed).
    AddressAdded(Addr),
    /// An address was removed.
    AddressRemoved(Addr),
    /// The kernel dropped events (ENOBUFS on the monitor socket). Link
    /// states have been re-read and any transitions reported just before
    /// this event; address events may be lost, so reconcile addresses.
    Overrun,
}

// ---------------------------------------------------------------------------
// The handle
// ---------------------------------------------------------------------------

/// An rtnetlink connection. Cheap to clone; all clones share the socket.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: Handle,
}

const ENOENT: i32 = libc::ENOENT;
const ENODEV: i32 = libc::ENODEV;
const EEXIST: i32 = libc::EEXIST;
const EADDRNOTAVAIL: i32 = libc::EADDRNOTAVAIL;
/// RFC 3549 "infinity" lifetime.
const INFINITY_LIFE_TIME: u32 = u32::MAX;

impl Netlink {
    /// Open a connection and spawn its task on the current tokio runtime.
    /// The socket belongs to the network namespace of the calling thread.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new() -> Result<Self, Error> {
        Self::with_rcvbuf(None)
    }

    /// [`Netlink::new`] with the command socket's receive buffer set
    /// (keepalived's `*_netlink_cmd_rcv_bufs`).
    pub fn with_rcvbuf(rcvbuf: Option<RcvBuf>) -> Result<Self, Error> {
        let (mut conn, handle, _) = rtnetlink::new_connection().map_err(Error::Socket)?;
        if let Some(b) = rcvbuf {
            b.set(conn.socket_mut().socket_ref().as_raw_fd());
        }
        // Bound now (the kernel would at the first request) so that the
        // changes it makes can be recognised in the watch.
        if let Ok(a) = conn.socket_mut().socket_mut().bind_auto() {
            if let Ok(mut p) = own_ports().lock() {
                p.push(a.port_number());
            }
        }
        tokio::spawn(conn);
        Ok(Netlink { handle })
    }

    /// The underlying rtnetlink handle, for requests not wrapped here.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    pub(crate) async fn request(
        &self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let mut replies = handle.request(req).map_err(|_| Error::Closed(op))?;
        let mut out = Vec::new();
        while let Some(reply) = replies.next().await {
            match reply.payload {
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Error(e) => {
                    if let Some(code) = e.code {
                        return Err(Error::Kernel {
                            op,
                            errno: -code.get(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    // -- links -------------------------------------------------------------

    /// All links.
    pub async fn links(&self) -> Result<Vec<Link>, Error> {
        let msg = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let replies = self
            .request("dump links", msg, NLM_F_REQUEST | NLM_F_DUMP)
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(parse_link(l)),
                _ => None,
            })
            .collect())
    }

    /// The link called `name`, if any.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<Link>, Error> {
        let mut lm = LinkMessage::default();
        lm.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link("get link", lm).await
    }

    /// The link with index `index`, if any.
    pub async fn link_by_index(&self, index: u32) -> Result<Option<Link>, Error> {
        let mut lm = LinkMessage::default();
        lm.header.index = index;
        self.get_link("get link", lm).await
    }

    async fn get_link(&self, op: &'static str, lm: LinkMessage) -> Result<Option<Link>, Error> {
        let msg = RouteNetlinkMessage::GetLink(lm);
        match self.request(op, msg, NLM_F_REQUEST).await {
            Ok(replies) => Ok(replies.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(parse_link(l)),
                _ => None,
            })),
            Err(e) if e.errno() == Some(ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Set a link administratively up or down.
    pub async fn set_link_up(&self, index: u32, up: bool) -> Result<(), Error> {
        let mut lm = LinkMessage::default();
        lm.header.index = index;
        lm.header.change_mask = LinkFlags::Up;
        if up {
            lm.header.flags = LinkFlags::Up;
        }
        let msg = RouteNetlinkMessage::SetLink(lm);
        self.request("set link", msg, NLM_F_REQUEST | NLM_F_ACK)
            .await
            .map(drop)
    }

    /// Delete a link. Returns `false` if it did not exist.
    pub async fn delete_link(&self, index: u32) -> Result<bool, Error> {
        let mut lm = LinkMessage::default();
        lm.header.index = index;
        let msg = RouteNetlinkMessage::DelLink(lm);
        match self
            .request("delete link", msg, NLM_F_REQUEST | NLM_F_ACK)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Create (or reuse) the VMAC `name`: a private-mode macvlan on
    /// `parent` with hardware address `mac`, brought up. An existing link
    /// of that name is reused if it is a private macvlan on `parent` with
    /// that MAC ("Found matching interface"); anything else of that name
    /// is [`Error::LinkExists`]. Returns the VMAC's index.
    pub async fn create_vmac(&self, parent: u32, name: &str, mac: [u8; 6]) -> Result<u32, Error> {
        if let Some(l) = self.link_by_name(name).await? {
            if l.kind.as_deref() == Some("macvlan")
                && l.macvlan_private
                && l.parent == Some(parent)
                && l.mac == mac
            {
                if !l.admin_up {
                    self.set_link_up(l.index, true).await?;
                }
                return Ok(l.index);
            }
            return Err(Error::LinkExists(name.to_string()));
        }
        // Created down: the address generation mode must be set first.
        let mut lm = LinkMessage::default();
        lm.attributes = vec![
            LinkAttribute::IfName(name.to_string()),
            LinkAttribute::Link(parent),
            LinkAttribute::Address(mac.to_vec()),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    MacVlanMode::Private,
                )])),
            ]),
        ];
        let msg = RouteNetlinkMessage::NewLink(lm);
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.request("create vmac", msg, flags).await?;
        let l = self
            .link_by_name(name)
            .await?
            .ok_or_else(|| Error::LinkMissing(name.to_string()))?;
        // No IPv6 link-local of its own (keepalived: addrgenmode none):
        // every router's VMAC has the same MAC, so the EUI-64 address
        // would clash on the LAN.
        let mut lm = LinkMessage::default();
        lm.header.index = l.index;
        lm.attributes = vec![LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(
            vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)],
        )])];
        let msg = RouteNetlinkMessage::SetLink(lm);
        self.request("set vmac addrgenmode", msg, NLM_F_REQUEST | NLM_F_ACK)
            .await?;
        if !l.admin_up {
            self.set_link_up(l.index, true).await?;
        }
        Ok(l.index)
    }

    /// Create (or reuse) `use_ipvlan`'s interface `name`: an L2 ipvlan on
    /// `parent` with keepalived's `bridge`/`private`/`vepa` flags, up.
    /// Returns its index.
    pub async fn create_ipvlan(&self, parent: u32, name: &str, flags: u16) -> Result<u32, Error> {
        if let Some(l) = self.link_by_name(name).await? {
            if l.kind.as_deref() == Some("ipvlan") && l.parent == Some(parent) {
                if !l.admin_up {
                    self.set_link_up(l.index, true).await?;
                }
                return Ok(l.index);
            }
            return Err(Error::LinkExists(name.to_string()));
        }
        let mut lm = LinkMessage::default();
        lm.header.flags = LinkFlags::Up;
        lm.header.change_mask = LinkFlags::Up;
        lm.attributes = vec![
            LinkAttribute::Link(parent),
            LinkAttribute::IfName(name.to_string()),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::IpVlan),
                LinkInfo::Data(InfoData::IpVlan(vec![
                    InfoIpVlan::Mode(IpVlanMode::L2),
                    InfoIpVlan::Flags(IpVlanFlags::from_bits_retain(flags)),
                ])),
            ]),
        ];
        let msg = RouteNetlinkMessage::NewLink(lm);
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.request("create ipvlan", msg, flags).await?;
        let l = self
            .link_by_name(name)
            .await?
            .ok_or_else(|| Error::LinkMissing(name.to_string()))?;
        Ok(l.index)
    }

    // -- addresses ---------------------------------------------------------

    /// All addresses, or those of one interface.
    pub async fn addresses(&self, ifindex: Option<u32>) -> Result<Vec<Addr>, Error> {
        let msg = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        let replies = self
            .request("dump addresses", msg, NLM_F_REQUEST | NLM_F_DUMP)
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => parse_addr(a),
                _ => None,
            })
            .filter(|a| ifindex.is_none_or(|i| a.ifindex == i))
            .collect())
    }

    /// The interface's primary IPv4 address: the first one that is not
    /// secondary (keepalived's default source address).
    pub async fn primary_v4(&self, ifindex: u32) -> Result<Option<Ipv4Addr>, Error> {
        Ok(self
            .addresses(Some(ifindex))
            .await?
            .into_iter()
            .find_map(|a| match a.addr {
                IpAddr::V4(v4) if !a.is_secondary() => Some(v4),
                _ => None,
            }))
    }

    /// The interface's first IPv6 link-local address (fe80::/10).
    pub async fn link_local_v6(&self, ifindex: u32) -> Result<Option<Ipv6Addr>, Error> {
        Ok(self
            .addresses(Some(ifindex))
            .await?
            .into_iter()
            .find_map(|a| match a.addr {
                IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => Some(v6),
                _ => None,
            }))
    }

    /// Add an address. Returns `false` if it was already there (EEXIST).
    pub async fn add_address(&self, spec: &AddrSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::NewAddress(address_message(spec, true));
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self.request("add address", msg, flags).await {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Delete an address. Returns `false` if it was not there
    /// (EADDRNOTAVAIL, ENOENT, or ENODEV: the interface is gone too).
    pub async fn del_address(&self, spec: &AddrSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::DelAddress(address_message(spec, false));
        match self
            .request("delete address", msg, NLM_F_REQUEST | NLM_F_ACK)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.errno(), Some(EADDRNOTAVAIL | ENOENT | ENODEV)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Make the kernel agree with us. `owned` is every address we are
    /// responsible for (all VIPs of all instances); `wanted` is the subset
    /// that should be present now. Owned addresses present but not wanted
    /// are deleted, wanted addresses missing are added; addresses we do
    /// not own are never touched. Returns `(added, removed)`.
    ///
    /// Matching is on (interface, address, prefix length).
    pub async fn reconcile(
        &self,
        wanted: &[AddrSpec],
        owned: &[AddrSpec],
    ) -> Result<(Vec<AddrSpec>, Vec<AddrSpec>), Error> {
        let kernel = self.addresses(None).await?;
        let present = |s: &AddrSpec| kernel.iter().any(|a| s.matches(a));
        let is_wanted = |s: &AddrSpec| {
            wanted
                .iter()
                .any(|w| w.ifindex == s.ifindex && w.addr == s.addr && w.prefix_len == s.prefix_len)
        };

        let mut removed = Vec::new();
        for s in owned.iter().filter(|s| present(s) && !is_wanted(s)) {
            if self.del_address(s).await? {
                removed.push(s.clone());
            }
        }
        let mut added = Vec::new();
        for s in wanted.iter().filter(|s| !present(s)) {
            if self.add_address(s).await? {
                added.push(s.clone());
            }
        }
        Ok((added, removed))
    }

    // -- events ------------------------------------------------------------

    /// Subscribe to link and IPv4/IPv6 address changes, with the kernel's
    /// default socket receive buffer. See [`Netlink::watch_with_rcvbuf`].
    pub async fn watch(&self) -> Result<mpsc::UnboundedReceiver<NetEvent>, Error> {
        self.watch_with_rcvbuf(None).await
    }

    /// Subscribe to link and IPv4/IPv6 address changes. Opens a second
    /// socket bound to RTMGRP_LINK, RTMGRP_IPV4_IFADDR and
    /// RTMGRP_IPV6_IFADDR, with receive buffer `rcvbuf` if given
    /// (keepalived's `*_netlink_monitor_rcv_bufs`). Link states are seeded
    /// from a dump taken after subscribing, so `LinkUp`/`LinkDown` report
    /// transitions of [`Link::up`] only. On ENOBUFS the link states are
    /// re-read and [`NetEvent::Overrun`] is sent. The watcher stops when
    /// the receiver is dropped (at the next event); the receiver ends if
    /// the socket fails.
    pub async fn watch_with_rcvbuf(
        &self,
        rcvbuf: Option<RcvBuf>,
    ) -> Result<mpsc::UnboundedReceiver<NetEvent>, Error> {
        let groups = [
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ];
        let (mut conn, _handle, mut messages) =
            rtnetlink::new_multicast_connection(&groups).map_err(Error::Socket)?;
        if let Some(b) = rcvbuf {
            b.set(conn.socket_mut().socket_ref().as_raw_fd());
        }
        let conn_task = tokio::spawn(conn);
        let mut state = HashMap::new();
        let (tx, rx) = mpsc::unbounded_channel();
        let nl = self.clone();
        // Seeding reports nothing: the caller dumps links itself.
        nl.resync_links(&mut state, |_| Ok(())).await?;
        tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                let sender = msg.header.port_number;
                let m = match msg.payload {
                    NetlinkPayload::InnerMessage(m) => m,
                    NetlinkPayload::Overrun(_) => {
                        let send = |e| tx.send(e).map_err(drop);
                        if nl.resync_links(&mut state, send).await.is_err()
                            || tx.send(NetEvent::Overrun).is_err()
                        {
                            break;
                        }
                        continue;
                    }
                    _ => continue,
                };
                let event = match m {
                    RouteNetlinkMessage::NewLink(l) => {
                        match link_transition(&mut state, parse_link(l)) {
                            Some(e) => e,
                            None => continue,
                        }
                    }
                    RouteNetlinkMessage::DelLink(l) => {
                        let link = parse_link(l);
                        state.remove(&link.index);
                        NetEvent::LinkDeleted(link)
                    }
                    RouteNetlinkMessage::NewAddress(a) => match parse_addr(a) {
                        Some(a) => NetEvent::AddressAdded(Addr { sender, ..a }),
                        None => continue,
                    },
                    RouteNetlinkMessage::DelAddress(a) => match parse_addr(a) {
                        Some(a) => NetEvent::AddressRemoved(Addr { sender, ..a }),
                        None => continue,
                    },
                    _ => continue,
                };
                if tx.send(event).is_err() {
                    break;
                }
            }
            conn_task.abort();
        });
        Ok(rx)
    }

    /// Re-read all links, reporting changes of `up` against `state` and
    /// links that disappeared.
    async fn resync_links<F>(
        &self,
        state: &mut HashMap<u32, (bool, Link)>,
        mut report: F,
    ) -> Result<(), Error>
    where
        F: FnMut(NetEvent) -> Result<(), ()>,
    {
        let links = self.links().await?;
        let gone: Vec<u32> = state
            .keys()
            .filter(|i| !links.iter().any(|l| l.index == **i))
            .copied()
            .collect();
        for index in gone {
            if let Some((_, link)) = state.remove(&index) {
                report(NetEvent::LinkDeleted(link)).map_err(|()| Error::Closed("watch"))?;
            }
        }
        for link in links {
            if let Some(e) = link_transition(state, link) {
                report(e).map_err(|()| Error::Closed("watch"))?;
            }
        }
        Ok(())
    }
}

/// The ports of this process's command sockets ([`Netlink::new`]).
fn own_ports() -> &'static std::sync::Mutex<Vec<u32>> {
    static PORTS: std::sync::OnceLock<std::sync::Mutex<Vec<u32>>> = std::sync::OnceLock::new();
    PORTS.get_or_init(Default::default)
}

/// Record `link` in `state`; the event to report if its `up` changed.
fn link_transition(state: &mut HashMap<u32, (bool, Link)>, link: Link) -> Option<NetEvent> {
    let up = link.up;
    let was = state.insert(link.index, (up, link.clone())).map(|(u, _)| u);
    match (was, up) {
        (Some(w), _) if w == up => None,
        (_, true) => Some(NetEvent::LinkUp(link)),
        (_, false) => Some(NetEvent::LinkDown(link)),
    }
}

/// A netlink socket's receive buffer as keepalived sets it
/// (`netlink_set_rx_buf_size`, from `*_netlink_*_rcv_bufs[_force]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcvBuf {
    /// Bytes; keepalived's 64 KiB when not configured.
    pub size: u32,
    /// SO_RCVBUFFORCE (past `rmem_max`, needs CAP_NET_ADMIN), with no
    /// fallback to SO_RCVBUF, as keepalived.
    pub force: bool,
}

impl RcvBuf {
    /// keepalived's `IF_DEFAULT_BUFSIZE`.
    pub const DEFAULT_SIZE: u32 = 65536;

    /// The setting of `key` (e.g. `vrrp_netlink_monitor_rcv_bufs`) and its
    /// `_force`; the last of each wins, and a size of 0 is the default.
    pub fn of(g: &crate::config::global::GlobalDefs, key: &str) -> RcvBuf {
        RcvBuf {
            size: g.netlink_buf(key).unwrap_or(Self::DEFAULT_SIZE),
            force: g.netlink_buf(&format!("{key}_force")).is_some(),
        }
    }

    /// Sets it on `fd`, logging keepalived's line on failure.
    pub fn set(self, fd: std::os::fd::RawFd) {
        let (opt, name) = if self.force {
            (libc::SO_RCVBUFFORCE, "cant set SO_RCVBUFFORCE")
        } else {
            (libc::SO_RCVBUF, "Cannot set SO_RCVBUF")
        };
        let val = libc::c_int::try_from(self.size).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt reads an int from `&val`, which lives across
        // the call.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&val as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            crate::daemon::log::log_line(&format!(
                "{name} IP option. errno={} ({e})",
                e.raw_os_error().unwrap_or(0)
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// Message conversion
// ---------------------------------------------------------------------------

fn parse_link(msg: LinkMessage) -> Link {
    let flags = msg.header.flags;
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        mac: [0; 6],
        up: flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
        admin_up: flags.contains(LinkFlags::Up),
        mtu: 0,
        flags: flags.bits(),
        parent: None,
        kind: None,
        macvlan_private: false,
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n,
            LinkAttribute::Address(a) if a.len() == 6 => link.mac.copy_from_slice(&a),
            LinkAttribute::Mtu(m) => link.mtu = m,
            LinkAttribute::Link(p) => link.parent = Some(p),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => link.kind = Some(k.to_string()),
                        LinkInfo::Data(InfoData::MacVlan(data)) => {
                            link.macvlan_private = data
                                .iter()
                                .any(|d| matches!(d, InfoMacVlan::Mode(MacVlanMode::Private)))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    link
}

fn parse_addr(msg: AddressMessage) -> Option<Addr> {
    let mut local = None;
    let mut address = None;
    let mut a = Addr {
        ifindex: msg.header.index,
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix_len: msg.header.prefix_len,
        label: None,
        broadcast: None,
        flags: u32::from(msg.header.flags.bits()),
        scope: u8::from(msg.header.scope),
        preferred_lft: None,
        sender: 0,
    };
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            AddressAttribute::Label(l) => a.label = Some(l),
            AddressAttribute::Broadcast(b) => a.broadcast = Some(b),
            AddressAttribute::Flags(f) => a.flags = f.bits(),
            AddressAttribute::CacheInfo(c) => a.preferred_lft = Some(c.ifa_preferred),
            _ => {}
        }
    }
    a.addr = local.or(address)?;
    Some(a)
}

fn address_message(spec: &AddrSpec, add: bool) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = match spec.addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.prefix_len = spec.prefix_len;
    m.header.index = spec.ifindex;
    m.header.scope = AddressScope::from(spec.scope);
    m.attributes.push(AddressAttribute::Local(spec.addr));
    m.attributes.push(AddressAttribute::Address(spec.addr));
    if !add {
        // Delete matches on address and prefix; a label or flags that
        // drifted must not make the delete miss.
        return m;
    }
    if let (IpAddr::V4(_), Some(brd)) = (spec.addr, spec.broadcast) {
        m.attributes.push(AddressAttribute::Broadcast(brd));
    }
    if let (IpAddr::V4(_), Some(label)) = (spec.addr, &spec.label) {
        m.attributes.push(AddressAttribute::Label(label.clone()));
    }
    if spec.addr.is_ipv6() {
        let mut f = AddressFlags::from_bits_truncate(spec.v6_flags);
        if spec.nodad {
            m.header.flags = AddressHeaderFlags::Nodad;
            f |= AddressFlags::Nodad;
        }
        if !f.is_empty() {
            m.attributes.push(AddressAttribute::Flags(f));
        }
    }
    if let Some(lft) = spec.preferred_lft.filter(|_| spec.addr.is_ipv6()) {
        let mut ci = CacheInfo::default();
        ci.ifa_preferred = lft;
        ci.ifa_valid = INFINITY_LIFE_TIME;
        m.attributes.push(AddressAttribute::CacheInfo(ci));
    }
    m
}

// ---------------------------------------------------------------------------
// sysctl
// ---------------------------------------------------------------------------

/// Writes `/proc/sys/net/ipv4/conf/IF/KEY` values, remembering the value
/// each file had before our first write so [`Sysctls::restore`] can put
/// them back (keepalived restores them at exit). Paths resolve in the
/// network namespace of the calling thread.
#[derive(Debug, Default)]
pub struct Sysctls {
    saved: Vec<(PathBuf, String)>,
}

impl Sysctls {
    /// An empty set of remembered values.
    pub fn new() -> Self {
        Self::default()
    }

    fn path(ifname: &str, key: &str) -> PathBuf {
        PathBuf::from("/proc/sys/net/ipv4/conf")
            .join(ifname)
            .join(key)
    }

    /// Read `net.ipv4.conf.IF.KEY` (trimmed).
    pub fn get(ifname: &str, key: &str) -> io::Result<String> {
        Ok(fs::read_to_string(Self::path(ifname, key))?
            .trim()
            .to_string())
    }

    /// Write `net.ipv4.conf.IF.KEY = value`, remembering the old value.
    pub fn set(&mut self, ifname: &str, key: &str, value: &str) -> io::Result<()> {
        let path = Self::path(ifname, key);
        let old = fs::read_to_string(&path)?.trim().to_string();
        if !self.saved.iter().any(|(p, _)| *p == path) {
            self.saved.push((path.clone(), old.clone()));
        }
        if old != value {
            fs::write(&path, value)?;
        }
        Ok(())
    }

    /// keepalived's VMAC settings: on the VMAC `arp_ignore=1`,
    /// `accept_local=1`, `rp_filter=0`; on its parent `arp_ignore=1`,
    /// `arp_filter=1`.
    pub fn setup_vmac(&mut self, vmac: &str, parent: &str, ipv6: bool) -> io::Result<()> {
        // An IPv4 VMAC gets no IPv6 (no link-local, no MLD reports from the
        // VRRP MAC) unless it carries IPv6 E-VIPs, as keepalived 2.2.7's.
        // It goes with the VMAC: nothing to restore.
        let v6 = PathBuf::from("/proc/sys/net/ipv6/conf")
            .join(vmac)
            .join("disable_ipv6");
        match fs::write(v6, if ipv6 { "0" } else { "1" }) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        self.set(vmac, "arp_ignore", "1")?;
        self.set(vmac, "accept_local", "1")?;
        self.set(vmac, "rp_filter", "0")?;
        self.set(parent, "arp_ignore", "1")?;
        self.set(parent, "arp_filter", "1")
    }

    /// Put back every value we changed, newest first. Files that vanished
    /// with their interface are skipped. Returns the first other error.
    pub fn restore(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        while let Some((path, old)) = self.saved.pop() {
            if let Err(e) = fs::write(&path, &old) {
                if e.kind() != io::ErrorKind::NotFound && result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}

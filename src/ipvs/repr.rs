//! Typed IPVS objects ([`Service`], [`Dest`], [`SyncDaemon`], ...) and
//! their conversion to and from the attribute lists of [`super::wire`].
//! Attribute order and presence follow keepalived 2.2.7 (reference §5), so
//! what we send is what the kernel already sees from keepalived.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{parse_u32, parse_u64, NlasIterator};

use super::wire::{Attr, DaemonAttr, DestAttr, FlagsMask, InetAddr, SvcAttr, AF_INET, AF_INET6};

/// A malformed or incomplete object in a kernel reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReprError(pub &'static str);

// ===== small enums =====

/// The service's transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
    /// Another IP protocol number.
    Other(u16),
}

impl From<u16> for Protocol {
    fn from(n: u16) -> Self {
        match n {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            n => Protocol::Other(n),
        }
    }
}

impl From<Protocol> for u16 {
    fn from(p: Protocol) -> u16 {
        match p {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(n) => n,
        }
    }
}

impl Protocol {
    /// Lower-case name as keepalived prints it (`tcp`, `udp`, `sctp`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
            Protocol::Other(_) => "?",
        }
    }
}

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
}

impl Family {
    /// The family of an address.
    pub fn of(ip: &IpAddr) -> Family {
        if ip.is_ipv6() {
            Family::Inet6
        } else {
            Family::Inet
        }
    }

    fn af(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }

    fn from_af(af: u16) -> Result<Family, ReprError> {
        match af {
            AF_INET => Ok(Family::Inet),
            AF_INET6 => Ok(Family::Inet6),
            _ => Err(ReprError("unknown address family")),
        }
    }
}

fn inet_addr(ip: &IpAddr) -> InetAddr {
    let mut a = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => a[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => a = v6.octets(),
    }
    a
}

fn ip_from(fam: Family, a: &InetAddr) -> IpAddr {
    match fam {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(*a)),
    }
}

// ===== services =====

/// `IP_VS_SVC_F_*` service flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT`: persistence_timeout is set.
    pub const PERSISTENT: u32 = 0x0001;
    /// `IP_VS_SVC_F_HASHED`: kernel-internal, reported in dumps.
    pub const HASHED: u32 = 0x0002;
    /// `IP_VS_SVC_F_ONEPACKET` (`ops`).
    pub const ONEPACKET: u32 = 0x0004;
    /// `IP_VS_SVC_F_SCHED1` (`flag-1`, `sh-fallback`, `mh-fallback`).
    pub const SCHED1: u32 = 0x0008;
    /// `IP_VS_SVC_F_SCHED2` (`flag-2`, `sh-port`, `mh-port`).
    pub const SCHED2: u32 = 0x0010;
    /// `IP_VS_SVC_F_SCHED3` (`flag-3`).
    pub const SCHED3: u32 = 0x0020;

    /// Whether every bit of `bits` is set.
    pub fn contains(self, bits: u32) -> bool {
        self.0 & bits == bits
    }
}

/// Persistence granularity: an IPv4 netmask or an IPv6 prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// IPv4 netmask (255.255.255.255 = per client address).
    V4(Ipv4Addr),
    /// IPv6 prefix length (128 = per client address).
    V6(u8),
}

impl Netmask {
    /// One client address: what keepalived sends without `persistence_granularity`.
    pub fn host(fam: Family) -> Netmask {
        match fam {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6(128),
        }
    }

    /// The raw `__be32` the kernel stores: mask octets for IPv4, the
    /// prefix length as a host-order u32 for IPv6.
    fn raw(self) -> [u8; 4] {
        match self {
            Netmask::V4(m) => m.octets(),
            Netmask::V6(p) => u32::from(p).to_ne_bytes(),
        }
    }

    fn from_raw(fam: Family, raw: [u8; 4]) -> Netmask {
        match fam {
            Family::Inet => Netmask::V4(Ipv4Addr::from(raw)),
            Family::Inet6 => Netmask::V6(u32::from_ne_bytes(raw).min(255) as u8),
        }
    }
}

/// What identifies a service in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// `protocol address:port`.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address (its family is the service's).
        addr: IpAddr,
        /// Virtual port.
        port: u16,
    },
    /// `fwmark N` in one address family.
    Fwmark {
        /// Address family.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl std::fmt::Display for ServiceKey {
    /// keepalived's `FMT_VS` shapes: `[10.0.0.1]:tcp:80`, `FWM 5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "[{addr}]:{}:{port}", protocol.name()),
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Inet => write!(f, "FWM {mark}"),
                Family::Inet6 => write!(f, "FWM {mark} (inet6)"),
            },
        }
    }
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler (`rr`, `wlc`, ...).
    pub scheduler: String,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// Flags (without the kernel-internal HASHED bit when built by us).
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (0 = not persistent).
    pub timeout: u32,
    /// Persistence granularity.
    pub netmask: Netmask,
}

impl Service {
    /// A service with keepalived's defaults for the rest: `wlc`, not persistent.
    pub fn new(key: ServiceKey) -> Service {
        Service {
            key,
            scheduler: "wlc".into(),
            pe_name: None,
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: Netmask::host(key.family()),
        }
    }

    /// The attributes keepalived sends for every service command, in its
    /// order: AF, FWMARK or PROTOCOL+ADDR+PORT, SCHED_NAME, (PE_NAME),
    /// FLAGS (mask all ones), TIMEOUT, NETMASK.
    pub fn to_attrs(&self) -> Vec<SvcAttr> {
        let mut v = vec![SvcAttr::Af(self.key.family().af())];
        match self.key {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                v.push(SvcAttr::Protocol(protocol.into()));
                v.push(SvcAttr::Addr(inet_addr(&addr)));
                v.push(SvcAttr::Port(port));
            }
            ServiceKey::Fwmark { mark, .. } => v.push(SvcAttr::Fwmark(mark)),
        }
        v.push(SvcAttr::SchedName(self.scheduler.clone()));
        if let Some(pe) = &self.pe_name {
            v.push(SvcAttr::PeName(pe.clone()));
        }
        v.push(SvcAttr::Flags(FlagsMask {
            flags: self.flags.0,
            mask: u32::MAX,
        }));
        v.push(SvcAttr::Timeout(self.timeout));
        v.push(SvcAttr::Netmask(self.netmask.raw()));
        v
    }

    /// Only what identifies the service (GET_DEST dumps need no more).
    pub fn key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
        let mut v = Service::new(*key).to_attrs();
        v.retain(|a| {
            matches!(
                a,
                SvcAttr::Af(_)
                    | SvcAttr::Protocol(_)
                    | SvcAttr::Addr(_)
                    | SvcAttr::Port(_)
                    | SvcAttr::Fwmark(_)
            )
        });
        v
    }

    /// Parses the nest of a GET_SERVICE dump entry.
    pub fn from_attrs(attrs: &[SvcAttr]) -> Result<(Service, Option<Stats>), ReprError> {
        let mut af = None;
        let (mut proto, mut addr, mut port, mut mark) = (None, None, None, None);
        let mut sched = None;
        let (mut pe, mut flags, mut timeout, mut mask) = (None, 0u32, 0u32, None);
        let (mut stats, mut stats64) = (None, None);
        for a in attrs {
            match a {
                SvcAttr::Af(v) => af = Some(*v),
                SvcAttr::Protocol(v) => proto = Some(*v),
                SvcAttr::Addr(v) => addr = Some(*v),
                SvcAttr::Port(v) => port = Some(*v),
                SvcAttr::Fwmark(v) => mark = Some(*v),
                SvcAttr::SchedName(v) => sched = Some(v.clone()),
                SvcAttr::PeName(v) => pe = Some(v.clone()),
                SvcAttr::Flags(f) => flags = f.flags & f.mask,
                SvcAttr::Timeout(v) => timeout = *v,
                SvcAttr::Netmask(v) => mask = Some(*v),
                SvcAttr::Stats(v) => stats = Some(v),
                SvcAttr::Stats64(v) => stats64 = Some(v),
                SvcAttr::Other(_) => {}
            }
        }
        let family = Family::from_af(af.ok_or(ReprError("service without family"))?)?;
        let key = match (mark, proto, addr, port) {
            (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
            (_, Some(p), Some(a), Some(port)) => ServiceKey::Addr {
                protocol: p.into(),
                addr: ip_from(family, &a),
                port,
            },
            _ => return Err(ReprError("service without fwmark or address")),
        };
        let svc = Service {
            key,
            scheduler: sched.unwrap_or_default(),
            pe_name: pe,
            flags: ServiceFlags(flags),
            timeout,
            netmask: mask
                .map(|m| Netmask::from_raw(family, m))
                .unwrap_or(Netmask::host(family)),
        };
        let st = match (stats64, stats) {
            (Some(b), _) | (None, Some(b)) => Some(Stats::parse(b)),
            _ => None,
        };
        Ok((svc, st))
    }
}

// ===== destinations =====

/// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelType {
    /// IP-in-IP (0).
    Ipip,
    /// GUE (1), needs a port.
    Gue,
    /// GRE (2).
    Gre,
    /// Unknown.
    Other(u8),
}

impl From<u8> for TunnelType {
    fn from(n: u8) -> Self {
        match n {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            n => TunnelType::Other(n),
        }
    }
}

impl From<TunnelType> for u8 {
    fn from(t: TunnelType) -> u8 {
        match t {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(n) => n,
        }
    }
}

/// Tunnel parameters of a `TUN` destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// Encapsulation.
    pub ty: TunnelType,
    /// GUE destination port (0 otherwise).
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*`: CSUM 1, REMCSUM 2.
    pub flags: u16,
}

impl Tunnel {
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM`.
    pub const CSUM: u16 = 1;
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM`.
    pub const REMCSUM: u16 = 2;

    /// Plain IP-in-IP.
    pub const IPIP: Tunnel = Tunnel {
        ty: TunnelType::Ipip,
        port: 0,
        flags: 0,
    };
}

/// Forwarding method (`IP_VS_CONN_F_*` & `IP_VS_CONN_F_FWD_MASK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (0).
    Masq,
    /// Local node (1).
    Local,
    /// Tunnelling (2).
    Tunnel(Tunnel),
    /// Direct routing (3).
    Route,
    /// Any other value.
    Other(u32),
}

impl Forward {
    fn code(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel(_) => 2,
            Forward::Route => 3,
            Forward::Other(n) => n,
        }
    }

    /// The name `ipvsadm -L` prints.
    pub fn name(self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel(_) => "Tunnel",
            Forward::Route => "Route",
            Forward::Other(_) => "?",
        }
    }
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Address (may differ in family from the service only for tunnels).
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight (0 = quiesced).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold.
    pub l_threshold: u32,
}

impl Dest {
    /// keepalived's order: ADDR_FAMILY, ADDR, PORT, FWD_METHOD, WEIGHT,
    /// (TUN_TYPE, TUN_PORT if gue, TUN_FLAGS unless ipip), U_THRESH, L_THRESH.
    pub fn to_attrs(&self) -> Vec<DestAttr> {
        let mut v = vec![
            DestAttr::AddrFamily(Family::of(&self.addr).af()),
            DestAttr::Addr(inet_addr(&self.addr)),
            DestAttr::Port(self.port),
            DestAttr::FwdMethod(self.forward.code()),
            DestAttr::Weight(self.weight),
        ];
        if let Forward::Tunnel(t) = self.forward {
            v.push(DestAttr::TunType(t.ty.into()));
            if t.ty == TunnelType::Gue {
                v.push(DestAttr::TunPort(t.port));
            }
            if t.ty != TunnelType::Ipip {
                v.push(DestAttr::TunFlags(t.flags));
            }
        }
        v.push(DestAttr::UThresh(self.u_threshold));
        v.push(DestAttr::LThresh(self.l_threshold));
        v
    }

    /// Parses the nest of a GET_DEST dump entry; `svc_family` is used when
    /// an old kernel sends no ADDR_FAMILY.
    pub fn from_attrs(attrs: &[DestAttr], svc_family: Family) -> Result<DestStatus, ReprError> {
        let (mut addr, mut port, mut fwd, mut af) = (None, None, None, None);
        let (mut weight, mut uth, mut lth) = (0, 0, 0);
        let (mut tty, mut tport, mut tflags) = (0u8, 0u16, 0u16);
        let (mut act, mut inact, mut pers) = (0, 0, 0);
        let (mut stats, mut stats64) = (None, None);
        for a in attrs {
            match a {
                DestAttr::Addr(v) => addr = Some(*v),
                DestAttr::Port(v) => port = Some(*v),
                DestAttr::FwdMethod(v) => fwd = Some(*v),
                DestAttr::Weight(v) => weight = *v,
                DestAttr::UThresh(v) => uth = *v,
                DestAttr::LThresh(v) => lth = *v,
                DestAttr::ActiveConns(v) => act = *v,
                DestAttr::InactConns(v) => inact = *v,
                DestAttr::PersistConns(v) => pers = *v,
                DestAttr::Stats(v) => stats = Some(v),
                DestAttr::AddrFamily(v) => af = Some(*v),
                DestAttr::Stats64(v) => stats64 = Some(v),
                DestAttr::TunType(v) => tty = *v,
                DestAttr::TunPort(v) => tport = *v,
                DestAttr::TunFlags(v) => tflags = *v,
                DestAttr::Other(_) => {}
            }
        }
        let family = match af {
            Some(af) => Family::from_af(af)?,
            None => svc_family,
        };
        let addr = addr.ok_or(ReprError("destination without address"))?;
        let forward = match fwd.ok_or(ReprError("destination without forwarding method"))? {
            0 => Forward::Masq,
            1 => Forward::Local,
            2 => Forward::Tunnel(Tunnel {
                ty: tty.into(),
                port: tport,
                flags: tflags,
            }),
            3 => Forward::Route,
            n => Forward::Other(n),
        };
        Ok(DestStatus {
            dest: Dest {
                addr: ip_from(family, &addr),
                port: port.ok_or(ReprError("destination without port"))?,
                forward,
                weight,
                u_threshold: uth,
                l_threshold: lth,
            },
            active_conns: act,
            inactive_conns: inact,
            persistent_conns: pers,
            stats: match (stats64, stats) {
                (Some(b), _) | (None, Some(b)) => Some(Stats::parse(b)),
                _ => None,
            },
        })
    }
}

impl Dest {
    /// keepalived's `FMT_RS` within a service: `[10.0.1.1]:tcp:8080`
    /// (`none` as the protocol of fwmark services).
    pub fn display_in(&self, key: &ServiceKey) -> String {
        let proto = match key {
            ServiceKey::Addr { protocol, .. } => protocol.name(),
            ServiceKey::Fwmark { .. } => "none",
        };
        format!("[{}]:{proto}:{}", self.addr, self.port)
    }
}

/// A destination as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestStatus {
    /// The destination.
    pub dest: Dest,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters.
    pub stats: Option<Stats>,
}

/// A service as a dump reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// The service (flags include the kernel's HASHED bit).
    pub service: Service,
    /// Counters.
    pub stats: Option<Stats>,
}

/// Counters of a service or destination (`IPVS_STATS_ATTR_*`), from the
/// 64-bit nest when the kernel sends it, else the 32/64-bit legacy one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connection rate.
    pub cps: u64,
    /// Incoming packet rate.
    pub inpps: u64,
    /// Outgoing packet rate.
    pub outpps: u64,
    /// Incoming byte rate.
    pub inbps: u64,
    /// Outgoing byte rate.
    pub outbps: u64,
}

impl Stats {
    /// Lenient: counters of unexpected size are skipped, not fatal.
    pub fn parse(buf: &[u8]) -> Stats {
        let mut s = Stats::default();
        for nla in NlasIterator::new(buf).flatten() {
            let v = nla.value();
            let n = match v.len() {
                4 => parse_u32(v).map(u64::from),
                _ => parse_u64(v),
            };
            let Ok(n) = n else { continue };
            match nla.kind() {
                1 => s.conns = n,
                2 => s.inpkts = n,
                3 => s.outpkts = n,
                4 => s.inbytes = n,
                5 => s.outbytes = n,
                6 => s.cps = n,
                7 => s.inpps = n,
                8 => s.outpps = n,
                9 => s.inbps = n,
                10 => s.outbps = n,
                _ => {}
            }
        }
        s
    }
}

// ===== sync daemon, timeouts, info =====

/// `IP_VS_STATE_*` of a sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends updates (1).
    Master,
    /// Receives updates (2).
    Backup,
}

impl SyncState {
    fn code(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// `lvs_sync_daemon`: a connection-sync daemon to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub ifname: String,
    /// Sync id.
    pub sync_id: u32,
    /// UDP payload size.
    pub maxlen: Option<u16>,
    /// Multicast group.
    pub group: Option<IpAddr>,
    /// Multicast port.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// NEW_DAEMON's nest: STATE, MCAST_IFN, SYNC_ID, then the options set.
    pub fn to_attrs(&self) -> Vec<DaemonAttr> {
        let mut v = vec![
            DaemonAttr::State(self.state.code()),
            DaemonAttr::McastIfn(self.ifname.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        if let Some(m) = self.maxlen {
            v.push(DaemonAttr::SyncMaxlen(m));
        }
        if let Some(p) = self.port {
            v.push(DaemonAttr::McastPort(p));
        }
        if let Some(t) = self.ttl {
            v.push(DaemonAttr::McastTtl(t));
        }
        match self.group {
            Some(IpAddr::V4(g)) => v.push(DaemonAttr::McastGroup(g.octets())),
            Some(IpAddr::V6(g)) => v.push(DaemonAttr::McastGroup6(g.octets())),
            None => {}
        }
        v
    }

    /// DEL_DAEMON's nest: STATE and SYNC_ID only.
    pub fn stop_attrs(state: SyncState, sync_id: u32) -> Vec<DaemonAttr> {
        vec![DaemonAttr::State(state.code()), DaemonAttr::SyncId(sync_id)]
    }
}

/// Connection timeouts in seconds (`lvs_timeouts`); 0 leaves one unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

impl Timeouts {
    /// SET_CONFIG attributes (all three, as the kernel reads zeros as "keep").
    pub fn to_attrs(&self) -> Vec<Attr> {
        vec![
            Attr::TimeoutTcp(self.tcp),
            Attr::TimeoutTcpFin(self.tcp_fin),
            Attr::TimeoutUdp(self.udp),
        ]
    }

    /// Each value of `self`, or `other`'s where `self` has none (zero).
    pub fn or(self, other: Timeouts) -> Timeouts {
        let pick = |a: u32, b: u32| if a == 0 { b } else { a };
        Timeouts {
            tcp: pick(self.tcp, other.tcp),
            tcp_fin: pick(self.tcp_fin, other.tcp_fin),
            udp: pick(self.udp, other.udp),
        }
    }

    /// From a GET_CONFIG reply.
    pub fn from_attrs(attrs: &[Attr]) -> Timeouts {
        let mut t = Timeouts::default();
        for a in attrs {
            match a {
                Attr::TimeoutTcp(v) => t.tcp = *v,
                Attr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                Attr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        t
    }
}

/// The GET_INFO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `IP_VS_VERSION_CODE` (1.2.1 = 0x010201).
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl Info {
    /// Both attributes are required: keepalived refuses IPVS without them.
    pub fn from_attrs(attrs: &[Attr]) -> Result<Info, ReprError> {
        let mut version = None;
        let mut size = None;
        for a in attrs {
            match a {
                Attr::Version(v) => version = Some(*v),
                Attr::ConnTabSize(v) => size = Some(*v),
                _ => {}
            }
        }
        Ok(Info {
            version: version.ok_or(ReprError("GET_INFO reply without version"))?,
            conn_tab_size: size.ok_or(ReprError("GET_INFO reply without table size"))?,
        })
    }

    /// `1.2.1`.
    pub fn version_string(&self) -> String {
        let v = self.version;
        format!("{}.{}.{}", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff)
    }
}

//! The IPVS generic-netlink family on the wire: commands and attributes as
//! numbered in the kernel's `include/uapi/linux/ip_vs.h`, as netlink
//! attributes ([`Nla`]) that emit and parse without a socket.
//!
//! ```text
//! nlmsghdr | genlmsghdr {cmd, version 1} | IPVS_CMD_ATTR_SERVICE { AF, PROTOCOL,
//!          |                              |   ADDR, PORT | FWMARK, SCHED_NAME, ... }
//!          |                              | IPVS_CMD_ATTR_DEST { ADDR, PORT, ... }
//! ```
//!
//! Byte order follows the kernel, not a rule: ports (service, dest and
//! tunnel) are big-endian, the persistence netmask is a raw `__be32`
//! (an IPv4 mask, or an IPv6 prefix length in host order), the sync
//! daemon's multicast port is host order; everything else is host order.
//! Unknown attributes survive parsing as `Other`.

use netlink_packet_core::{
    parse_string, parse_u16, parse_u16_be, parse_u32, parse_u8, DecodeError, DefaultNla, Emitable,
    Nla, NlaBuffer, NlasIterator, Parseable, ParseableParametrized, NLA_F_NESTED,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

/// `IPVS_GENL_NAME`.
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const FAMILY_VERSION: u8 = 1;

/// `AF_INET` / `AF_INET6` as the kernel numbers them.
pub const AF_INET: u16 = libc::AF_INET as u16;
/// See [`AF_INET`].
pub const AF_INET6: u16 = libc::AF_INET6 as u16;

macro_rules! numbered {
    ($(#[$m:meta])* $name:ident : $t:ty { $($(#[$vm:meta])* $v:ident = $n:literal => $s:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $v,)*
            /// A value this crate does not know.
            Other($t),
        }
        impl From<$t> for $name {
            fn from(n: $t) -> Self {
                match n {
                    $($n => $name::$v,)*
                    n => $name::Other(n),
                }
            }
        }
        impl From<$name> for $t {
            fn from(v: $name) -> $t {
                match v {
                    $($name::$v => $n,)*
                    $name::Other(n) => n,
                }
            }
        }
        impl $name {
            /// The uapi name without its prefix (as keepalived logs it).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$v => $s,)*
                    $name::Other(_) => "UNKNOWN",
                }
            }
        }
    };
}

numbered! {
    /// `IPVS_CMD_*`.
    Cmd: u8 {
        /// Add a service.
        NewService = 1 => "NEW_SERVICE",
        /// Modify a service.
        SetService = 2 => "SET_SERVICE",
        /// Delete a service.
        DelService = 3 => "DEL_SERVICE",
        /// Get (dump) services.
        GetService = 4 => "GET_SERVICE",
        /// Add a destination.
        NewDest = 5 => "NEW_DEST",
        /// Modify a destination.
        SetDest = 6 => "SET_DEST",
        /// Delete a destination.
        DelDest = 7 => "DEL_DEST",
        /// Get (dump) destinations of a service.
        GetDest = 8 => "GET_DEST",
        /// Start a sync daemon.
        NewDaemon = 9 => "NEW_DAEMON",
        /// Stop a sync daemon.
        DelDaemon = 10 => "DEL_DAEMON",
        /// Get (dump) sync daemons.
        GetDaemon = 11 => "GET_DAEMON",
        /// Set connection timeouts.
        SetConfig = 12 => "SET_CONFIG",
        /// Get connection timeouts.
        GetConfig = 13 => "GET_CONFIG",
        /// Only used in GET_INFO replies.
        SetInfo = 14 => "SET_INFO",
        /// Version and connection table size.
        GetInfo = 15 => "GET_INFO",
        /// Zero counters.
        Zero = 16 => "ZERO",
        /// Remove every service.
        Flush = 17 => "FLUSH",
    }
}

// Top-level attribute numbers (IPVS_CMD_ATTR_* and, in GET_INFO replies,
// IPVS_INFO_ATTR_*).
const CMD_ATTR_SERVICE: u16 = 1;
const CMD_ATTR_DEST: u16 = 2;
const CMD_ATTR_DAEMON: u16 = 3;
const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const CMD_ATTR_TIMEOUT_UDP: u16 = 6;
const INFO_ATTR_VERSION: u16 = 1;
const INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

// IPVS_SVC_ATTR_*.
const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_PE_NAME: u16 = 11;
const SVC_STATS64: u16 = 12;

// IPVS_DEST_ATTR_*.
const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;
const DEST_TUN_TYPE: u16 = 13;
const DEST_TUN_PORT: u16 = 14;
const DEST_TUN_FLAGS: u16 = 15;

// IPVS_DAEMON_ATTR_*.
const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;

/// `union nf_inet_addr`: 16 bytes, an IPv4 address in the first four.
pub type InetAddr = [u8; 16];

fn parse_inet_addr(buf: &[u8]) -> Result<InetAddr, DecodeError> {
    if buf.len() != 4 && buf.len() != 16 {
        return Err(DecodeError::invalid_ip_address(buf.len()));
    }
    let mut a = [0u8; 16];
    a[..buf.len()].copy_from_slice(buf);
    Ok(a)
}

fn parse_array<const N: usize>(buf: &[u8]) -> Result<[u8; N], DecodeError> {
    buf.try_into()
        .map_err(|_| DecodeError::invalid_number(N, buf.len()))
}

/// Strings are `NLA_NUL_STRING` in the kernel's policy: the NUL is required.
fn string_len(s: &str) -> usize {
    s.len() + 1
}

fn emit_string(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

fn nested_len<T: Nla>(v: &[T]) -> usize {
    Emitable::buffer_len(&v)
}

fn parse_nested<T, F>(buf: &[u8], mut f: F) -> Result<Vec<T>, DecodeError>
where
    F: FnMut(&NlaBuffer<&[u8]>) -> Result<T, DecodeError>,
{
    let mut out = Vec::new();
    for nla in NlasIterator::new(buf) {
        out.push(f(&nla?)?);
    }
    Ok(out)
}

// ===== service attributes =====

/// `struct ip_vs_flags`: the bits to set and which bits to touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagsMask {
    /// `IP_VS_SVC_F_*` values.
    pub flags: u32,
    /// Bits the kernel takes from `flags` (keepalived: all).
    pub mask: u32,
}

/// An attribute nested in `IPVS_CMD_ATTR_SERVICE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcAttr {
    /// Address family (`AF_INET`, `AF_INET6`).
    Af(u16),
    /// IP protocol number.
    Protocol(u16),
    /// Virtual address.
    Addr(InetAddr),
    /// Virtual port (host value; big-endian on the wire).
    Port(u16),
    /// Firewall mark (fwmark services have no protocol/address/port).
    Fwmark(u32),
    /// Scheduler name.
    SchedName(String),
    /// Service flags.
    Flags(FlagsMask),
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// Persistence netmask as the raw `__be32` bytes.
    Netmask([u8; 4]),
    /// 32-bit statistics (nested, kept raw).
    Stats(Vec<u8>),
    /// Persistence engine name.
    PeName(String),
    /// 64-bit statistics (nested, kept raw).
    Stats64(Vec<u8>),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        use SvcAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Addr(_) => 16,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            SchedName(s) | PeName(s) => string_len(s),
            Flags(_) => 8,
            Stats(v) | Stats64(v) => v.len(),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use SvcAttr::*;
        match self {
            Af(_) => SVC_AF,
            Protocol(_) => SVC_PROTOCOL,
            Addr(_) => SVC_ADDR,
            Port(_) => SVC_PORT,
            Fwmark(_) => SVC_FWMARK,
            SchedName(_) => SVC_SCHED_NAME,
            Flags(_) => SVC_FLAGS,
            Timeout(_) => SVC_TIMEOUT,
            Netmask(_) => SVC_NETMASK,
            Stats(_) => SVC_STATS | NLA_F_NESTED,
            PeName(_) => SVC_PE_NAME,
            Stats64(_) => SVC_STATS64 | NLA_F_NESTED,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use SvcAttr::*;
        match self {
            Af(v) | Protocol(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            Port(v) => buf[..2].copy_from_slice(&v.to_be_bytes()),
            Addr(a) => buf[..16].copy_from_slice(a),
            Fwmark(v) | Timeout(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Netmask(m) => buf[..4].copy_from_slice(m),
            SchedName(s) | PeName(s) => emit_string(buf, s),
            Flags(f) => {
                buf[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buf[4..8].copy_from_slice(&f.mask.to_ne_bytes());
            }
            Stats(v) | Stats64(v) => buf[..v.len()].copy_from_slice(v),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            SVC_AF => SvcAttr::Af(parse_u16(v)?),
            SVC_PROTOCOL => SvcAttr::Protocol(parse_u16(v)?),
            SVC_ADDR => SvcAttr::Addr(parse_inet_addr(v)?),
            SVC_PORT => SvcAttr::Port(parse_u16_be(v)?),
            SVC_FWMARK => SvcAttr::Fwmark(parse_u32(v)?),
            SVC_SCHED_NAME => SvcAttr::SchedName(parse_string(v)?),
            SVC_FLAGS => {
                let b: [u8; 8] = parse_array(v)?;
                SvcAttr::Flags(FlagsMask {
                    flags: parse_u32(&b[..4])?,
                    mask: parse_u32(&b[4..])?,
                })
            }
            SVC_TIMEOUT => SvcAttr::Timeout(parse_u32(v)?),
            SVC_NETMASK => SvcAttr::Netmask(parse_array(v)?),
            SVC_STATS => SvcAttr::Stats(v.to_vec()),
            SVC_PE_NAME => SvcAttr::PeName(parse_string(v)?),
            SVC_STATS64 => SvcAttr::Stats64(v.to_vec()),
            _ => SvcAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ===== destination attributes =====

/// An attribute nested in `IPVS_CMD_ATTR_DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAttr {
    /// Real server address.
    Addr(InetAddr),
    /// Real server port (host value; big-endian on the wire).
    Port(u16),
    /// `IP_VS_CONN_F_*` forwarding method.
    FwdMethod(u32),
    /// Weight.
    Weight(u32),
    /// Upper connection threshold.
    UThresh(u32),
    /// Lower connection threshold.
    LThresh(u32),
    /// Active connections (dumps only).
    ActiveConns(u32),
    /// Inactive connections (dumps only).
    InactConns(u32),
    /// Persistent connections (dumps only).
    PersistConns(u32),
    /// 32-bit statistics (nested, kept raw).
    Stats(Vec<u8>),
    /// Address family of `Addr` (kernel >= 3.18: lets a v4 service tunnel to v6).
    AddrFamily(u16),
    /// 64-bit statistics (nested, kept raw).
    Stats64(Vec<u8>),
    /// `IP_VS_CONN_F_TUNNEL_TYPE_*`.
    TunType(u8),
    /// GUE port (host value; big-endian on the wire).
    TunPort(u16),
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*`.
    TunFlags(u16),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UThresh(_) | LThresh(_) | ActiveConns(_) | InactConns(_)
            | PersistConns(_) => 4,
            Stats(v) | Stats64(v) => v.len(),
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => DEST_ADDR,
            Port(_) => DEST_PORT,
            FwdMethod(_) => DEST_FWD_METHOD,
            Weight(_) => DEST_WEIGHT,
            UThresh(_) => DEST_U_THRESH,
            LThresh(_) => DEST_L_THRESH,
            ActiveConns(_) => DEST_ACTIVE_CONNS,
            InactConns(_) => DEST_INACT_CONNS,
            PersistConns(_) => DEST_PERSIST_CONNS,
            Stats(_) => DEST_STATS | NLA_F_NESTED,
            AddrFamily(_) => DEST_ADDR_FAMILY,
            Stats64(_) => DEST_STATS64 | NLA_F_NESTED,
            TunType(_) => DEST_TUN_TYPE,
            TunPort(_) => DEST_TUN_PORT,
            TunFlags(_) => DEST_TUN_FLAGS,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buf[..16].copy_from_slice(a),
            Port(v) | TunPort(v) => buf[..2].copy_from_slice(&v.to_be_bytes()),
            AddrFamily(v) | TunFlags(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            TunType(v) => buf[0] = *v,
            FwdMethod(v) | Weight(v) | UThresh(v) | LThresh(v) | ActiveConns(v) | InactConns(v)
            | PersistConns(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Stats(v) | Stats64(v) => buf[..v.len()].copy_from_slice(v),
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            DEST_ADDR => DestAttr::Addr(parse_inet_addr(v)?),
            DEST_PORT => DestAttr::Port(parse_u16_be(v)?),
            DEST_FWD_METHOD => DestAttr::FwdMethod(parse_u32(v)?),
            DEST_WEIGHT => DestAttr::Weight(parse_u32(v)?),
            DEST_U_THRESH => DestAttr::UThresh(parse_u32(v)?),
            DEST_L_THRESH => DestAttr::LThresh(parse_u32(v)?),
            DEST_ACTIVE_CONNS => DestAttr::ActiveConns(parse_u32(v)?),
            DEST_INACT_CONNS => DestAttr::InactConns(parse_u32(v)?),
            DEST_PERSIST_CONNS => DestAttr::PersistConns(parse_u32(v)?),
            DEST_STATS => DestAttr::Stats(v.to_vec()),
            DEST_ADDR_FAMILY => DestAttr::AddrFamily(parse_u16(v)?),
            DEST_STATS64 => DestAttr::Stats64(v.to_vec()),
            DEST_TUN_TYPE => DestAttr::TunType(parse_u8(v)?),
            DEST_TUN_PORT => DestAttr::TunPort(parse_u16_be(v)?),
            DEST_TUN_FLAGS => DestAttr::TunFlags(parse_u16(v)?),
            _ => DestAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ===== sync daemon attributes =====

/// An attribute nested in `IPVS_CMD_ATTR_DAEMON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `IP_VS_STATE_MASTER` (1) or `IP_VS_STATE_BACKUP` (2).
    State(u32),
    /// Multicast interface name.
    McastIfn(String),
    /// Sync id.
    SyncId(u32),
    /// UDP payload size.
    SyncMaxlen(u16),
    /// IPv4 multicast group (network order bytes).
    McastGroup([u8; 4]),
    /// IPv6 multicast group.
    McastGroup6([u8; 16]),
    /// Multicast port, host order (the kernel reads it with `nla_get_u16`).
    McastPort(u16),
    /// Multicast TTL.
    McastTtl(u8),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => string_len(s),
            SyncMaxlen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => DAEMON_STATE,
            McastIfn(_) => DAEMON_MCAST_IFN,
            SyncId(_) => DAEMON_SYNC_ID,
            SyncMaxlen(_) => DAEMON_SYNC_MAXLEN,
            McastGroup(_) => DAEMON_MCAST_GROUP,
            McastGroup6(_) => DAEMON_MCAST_GROUP6,
            McastPort(_) => DAEMON_MCAST_PORT,
            McastTtl(_) => DAEMON_MCAST_TTL,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(v) | SyncId(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            McastIfn(s) => emit_string(buf, s),
            SyncMaxlen(v) | McastPort(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            McastGroup(a) => buf[..4].copy_from_slice(a),
            McastGroup6(a) => buf[..16].copy_from_slice(a),
            McastTtl(v) => buf[0] = *v,
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            DAEMON_STATE => DaemonAttr::State(parse_u32(v)?),
            DAEMON_MCAST_IFN => DaemonAttr::McastIfn(parse_string(v)?),
            DAEMON_SYNC_ID => DaemonAttr::SyncId(parse_u32(v)?),
            DAEMON_SYNC_MAXLEN => DaemonAttr::SyncMaxlen(parse_u16(v)?),
            DAEMON_MCAST_GROUP => DaemonAttr::McastGroup(parse_array(v)?),
            DAEMON_MCAST_GROUP6 => DaemonAttr::McastGroup6(parse_array(v)?),
            DAEMON_MCAST_PORT => DaemonAttr::McastPort(parse_u16(v)?),
            DAEMON_MCAST_TTL => DaemonAttr::McastTtl(parse_u8(v)?),
            _ => DaemonAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

// ===== top level =====

/// A top-level attribute of an IPVS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Vec<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`.
    Daemon(Vec<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP` (seconds).
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN` (seconds).
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP` (seconds).
    TimeoutUdp(u32),
    /// `IPVS_INFO_ATTR_VERSION` (GET_INFO replies: same number as SERVICE).
    Version(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE` (GET_INFO replies: same number as DEST).
    ConnTabSize(u32),
    /// Anything else.
    Other(DefaultNla),
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        use Attr::*;
        match self {
            Service(v) => nested_len(v),
            Dest(v) => nested_len(v),
            Daemon(v) => nested_len(v),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) | Version(_) | ConnTabSize(_) => 4,
            Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use Attr::*;
        match self {
            Service(_) => CMD_ATTR_SERVICE | NLA_F_NESTED,
            Dest(_) => CMD_ATTR_DEST | NLA_F_NESTED,
            Daemon(_) => CMD_ATTR_DAEMON | NLA_F_NESTED,
            TimeoutTcp(_) => CMD_ATTR_TIMEOUT_TCP,
            TimeoutTcpFin(_) => CMD_ATTR_TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => CMD_ATTR_TIMEOUT_UDP,
            Version(_) => INFO_ATTR_VERSION,
            ConnTabSize(_) => INFO_ATTR_CONN_TAB_SIZE,
            Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use Attr::*;
        match self {
            Service(v) => v.as_slice().emit(buf),
            Dest(v) => v.as_slice().emit(buf),
            Daemon(v) => v.as_slice().emit(buf),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) | Version(v) | ConnTabSize(v) => {
                buf[..4].copy_from_slice(&v.to_ne_bytes())
            }
            Other(n) => n.emit_value(buf),
        }
    }
}

impl<T: AsRef<[u8]> + ?Sized> ParseableParametrized<NlaBuffer<&T>, Cmd> for Attr {
    /// GET_INFO replies (command SET_INFO) reuse numbers 1 and 2 for the
    /// info attributes, so the command decides.
    fn parse_with_param(buf: &NlaBuffer<&T>, cmd: Cmd) -> Result<Self, DecodeError> {
        let v = buf.value();
        let info = matches!(cmd, Cmd::SetInfo | Cmd::GetInfo);
        Ok(match buf.kind() {
            INFO_ATTR_VERSION if info => Attr::Version(parse_u32(v)?),
            INFO_ATTR_CONN_TAB_SIZE if info => Attr::ConnTabSize(parse_u32(v)?),
            CMD_ATTR_SERVICE => Attr::Service(parse_nested(v, |n| SvcAttr::parse(n))?),
            CMD_ATTR_DEST => Attr::Dest(parse_nested(v, |n| DestAttr::parse(n))?),
            CMD_ATTR_DAEMON => Attr::Daemon(parse_nested(v, |n| DaemonAttr::parse(n))?),
            CMD_ATTR_TIMEOUT_TCP => Attr::TimeoutTcp(parse_u32(v)?),
            CMD_ATTR_TIMEOUT_TCP_FIN => Attr::TimeoutTcpFin(parse_u32(v)?),
            CMD_ATTR_TIMEOUT_UDP => Attr::TimeoutUdp(parse_u32(v)?),
            _ => Attr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One IPVS generic-netlink message (the part after `genlmsghdr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The command.
    pub cmd: Cmd,
    /// Its attributes, in emission order.
    pub attrs: Vec<Attr>,
}

impl GenlFamily for Message {
    fn family_name() -> &'static str {
        FAMILY_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        FAMILY_VERSION
    }
}

impl Emitable for Message {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buf: &mut [u8]) {
        self.attrs.as_slice().emit(buf)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for Message {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = Cmd::from(header.cmd);
        let mut attrs = Vec::new();
        for nla in NlasIterator::new(buf) {
            attrs.push(Attr::parse_with_param(&nla?, cmd)?);
        }
        Ok(Message { cmd, attrs })
    }
}

impl Message {
    /// The bytes after `genlmsghdr`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.buffer_len()];
        self.emit(&mut b);
        b
    }
}

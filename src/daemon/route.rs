//! `virtual_routes` / `virtual_rules` (and the static ones) over netlink.
//!
//! A [`RouteSpec`] / [`RuleSpec`] is one configured line resolved to
//! numbers (interface indexes, table ids); [`route_message`] and
//! [`rule_message`] turn them into the kernel's messages, pure and
//! unit-tested; [`Netlink`] sends them with the same idempotence as
//! addresses: adding what is there and deleting what is gone succeed.
//! Routes carry protocol `keepalived` (18), as keepalived's do.

use std::net::IpAddr;

use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST};

use super::netlink::{Error, Netlink};
use crate::config::addr::{Prefix, Route, Rule};

/// `RTPROT_KEEPALIVED`.
pub const PROTO_KEEPALIVED: u8 = 18;

/// One route, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// IPv6?
    pub v6: bool,
    /// Destination (`None`: default route).
    pub dst: Option<(IpAddr, u8)>,
    /// Preferred source (`src`).
    pub src: Option<IpAddr>,
    /// Gateway (`via`).
    pub via: Option<IpAddr>,
    /// Output interface.
    pub oif: Option<u32>,
    /// Table id (254 = main).
    pub table: u32,
    /// `metric`.
    pub metric: Option<u32>,
    /// `scope` (`None`: the kernel's choice from the type and gateway).
    pub scope: Option<u8>,
    /// `RTN_*` type (1 = unicast, 6 = blackhole ...).
    pub kind: u8,
    /// `onlink`.
    pub onlink: bool,
    /// `nexthop via X dev Y` entries (multipath).
    pub nexthops: Vec<(Option<IpAddr>, Option<u32>)>,
}

/// One rule, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    /// IPv6?
    pub v6: bool,
    /// `from`.
    pub from: Option<(IpAddr, u8)>,
    /// `to`.
    pub to: Option<(IpAddr, u8)>,
    /// `preference`.
    pub preference: Option<u32>,
    /// Lookup table (action "to table" when set).
    pub table: Option<u32>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `tos`.
    pub tos: u8,
    /// `type blackhole|unreachable|prohibit` (else "to table").
    pub action: u8,
    /// `RTPROT_*`: keepalived's (18) for a tracked rule, which is how it
    /// recognises its own rules; a `no_track` rule carries its
    /// `protocol`, if any.
    pub protocol: Option<u8>,
}

impl RouteSpec {
    /// `10.56.0.0/24 via 10.55.0.254` for messages.
    pub fn display(&self) -> String {
        let mut s = match self.dst {
            Some((a, l)) => format!("{a}/{l}"),
            None => "default".into(),
        };
        if let Some(v) = self.via {
            s += &format!(" via {v}");
        }
        if self.table != 254 {
            s += &format!(" table {}", self.table);
        }
        s
    }
}

impl RuleSpec {
    /// `from 10.55.0.0/24 table 100` for messages.
    pub fn display(&self) -> String {
        let mut s = String::new();
        if let Some((a, l)) = self.from {
            s += &format!("from {a}/{l} ");
        }
        if let Some((a, l)) = self.to {
            s += &format!("to {a}/{l} ");
        }
        if let Some(t) = self.table {
            s += &format!("table {t}");
        }
        s.trim_end().to_string()
    }
}

/// Why a configured route or rule cannot be programmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// An interface name that does not exist.
    #[error("unknown interface {0}")]
    UnknownInterface(String),
    /// A table name that is neither a number nor main/local/default.
    #[error("unknown routing table {0}")]
    UnknownTable(String),
    /// A route type we do not know.
    #[error("unknown route type {0}")]
    UnknownType(String),
    /// A value that should be a number.
    #[error("invalid {0} {1}")]
    Invalid(&'static str, String),
}

/// A table name or number: `main` 254, `local` 255, `default` 253, or
/// a name from `/etc/iproute2/rt_tables`.
pub fn table_id(name: &str) -> Result<u32, SpecError> {
    match name {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        n => n.parse().or_else(|_| {
            std::fs::read_to_string("/etc/iproute2/rt_tables")
                .ok()
                .and_then(|t| {
                    t.lines().find_map(|l| {
                        let mut w = l.split_whitespace();
                        let id = w.next()?.parse().ok()?;
                        (w.next()? == n).then_some(id)
                    })
                })
                .ok_or_else(|| SpecError::UnknownTable(n.into()))
        }),
    }
}

fn route_type(name: &str) -> Result<u8, SpecError> {
    Ok(match name {
        "unicast" => 1,
        "local" => 2,
        "broadcast" => 3,
        "anycast" => 4,
        "multicast" => 5,
        "blackhole" => 6,
        "unreachable" => 7,
        "prohibit" => 8,
        "throw" => 9,
        "nat" => 10,
        n => return Err(SpecError::UnknownType(n.into())),
    })
}

fn scope_id(name: &str) -> Result<u8, SpecError> {
    Ok(match name {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        n => n
            .parse()
            .map_err(|_| SpecError::Invalid("scope", n.into()))?,
    })
}

fn prefix(p: &Option<Prefix>) -> Option<(IpAddr, u8)> {
    p.map(|p| (p.addr, p.len))
}

/// Resolves a configured route. `dev` is the instance's interface, used
/// when the route names none and has no gateway.
pub fn route_spec(
    r: &Route,
    ifindex: impl Fn(&str) -> Option<u32>,
) -> Result<RouteSpec, SpecError> {
    let idx = |n: &str| ifindex(n).ok_or_else(|| SpecError::UnknownInterface(n.into()));
    let v6 = r
        .dst
        .map(|p| p.addr.is_ipv6())
        .or(r.via.map(|a| a.is_ipv6()))
        .or(r.src.map(|a| a.is_ipv6()))
        .unwrap_or(false);
    let attr = |k: &str| {
        r.attrs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.as_deref())
    };
    let mut nexthops = Vec::new();
    for (via, dev) in &r.nexthops {
        nexthops.push((*via, dev.as_deref().map(idx).transpose()?));
    }
    Ok(RouteSpec {
        v6,
        dst: prefix(&r.dst),
        src: r.src,
        via: r.via,
        oif: r.dev.as_deref().map(idx).transpose()?,
        table: r.table.as_deref().map(table_id).transpose()?.unwrap_or(254),
        metric: r.metric,
        scope: attr("scope").map(scope_id).transpose()?,
        kind: r.kind.as_deref().map(route_type).transpose()?.unwrap_or(1),
        onlink: r.attrs.iter().any(|(n, _)| n == "onlink"),
        nexthops,
    })
}

/// Resolves a configured rule.
pub fn rule_spec(r: &Rule) -> Result<RuleSpec, SpecError> {
    let attr = |k: &str| {
        r.attrs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.as_deref())
    };
    let num = |what: &'static str, v: &str| -> Result<u32, SpecError> {
        let r = match v.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16),
            None => v.parse(),
        };
        r.map_err(|_| SpecError::Invalid(what, v.into()))
    };
    let fwmark = attr("fwmark")
        .map(|v| -> Result<_, SpecError> {
            match v.split_once('/') {
                Some((m, k)) => Ok((num("fwmark", m)?, Some(num("fwmark mask", k)?))),
                None => Ok((num("fwmark", v)?, None)),
            }
        })
        .transpose()?;
    let action = match attr("type") {
        Some("blackhole") => 6,
        Some("unreachable") => 7,
        Some("prohibit") => 8,
        Some("nop") => 3,
        _ => 1,
    };
    Ok(RuleSpec {
        v6: r.from.or(r.to).is_some_and(|p| p.is_v6()) || r.attrs.iter().any(|(n, _)| n == "inet6"),
        from: prefix(&r.from),
        to: prefix(&r.to),
        preference: r.preference,
        table: r.table.as_deref().map(table_id).transpose()?,
        fwmark,
        iif: attr("iif").or(attr("dev")).map(str::to_string),
        oif: attr("oif").map(str::to_string),
        tos: attr("tos")
            .map(|v| num("tos", v))
            .transpose()?
            .map_or(0, |t| t as u8),
        action,
        protocol: if r.no_track {
            attr("protocol").map(rt_protocol).transpose()?
        } else {
            Some(PROTO_KEEPALIVED)
        },
    })
}

/// A routing protocol by name (iproute2's `rt_protos`) or number.
fn rt_protocol(v: &str) -> Result<u8, SpecError> {
    const NAMES: &[(&str, u8)] = &[
        ("redirect", 1),
        ("kernel", 2),
        ("boot", 3),
        ("static", 4),
        ("gated", 8),
        ("ra", 9),
        ("mrt", 10),
        ("zebra", 11),
        ("bird", 12),
        ("dnrouted", 13),
        ("xorp", 14),
        ("ntk", 15),
        ("dhcp", 16),
        ("keepalived", PROTO_KEEPALIVED),
        ("babel", 42),
        ("bgp", 186),
        ("isis", 187),
        ("ospf", 188),
        ("rip", 189),
        ("eigrp", 192),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == v)
        .map(|&(_, p)| p)
        .or_else(|| v.parse().ok())
        .ok_or_else(|| SpecError::Invalid("protocol", v.into()))
}

fn family(v6: bool) -> AddressFamily {
    if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

/// The kernel message for a route (add and delete use the same one).
pub fn route_message(s: &RouteSpec) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family(s.v6);
    m.header.protocol = RouteProtocol::from(PROTO_KEEPALIVED);
    m.header.kind = RouteType::from(s.kind);
    m.header.table = u8::try_from(s.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    // keepalived 2.2.7: host scope for a local route, global otherwise,
    // also for a direct route on a device (`ip route` would say link;
    // the live differential shows keepalived's `... dev eth2 proto
    // keepalived` without it).
    m.header.scope = RouteScope::from(s.scope.unwrap_or(match s.kind {
        2 => 254,
        _ => 0,
    }));
    if s.onlink {
        m.header.flags |= RouteFlags::Onlink;
    }
    let a = &mut m.attributes;
    a.push(RouteAttribute::Table(s.table));
    if let Some((d, len)) = s.dst {
        m.header.destination_prefix_length = len;
        a.push(RouteAttribute::Destination(RouteAddress::from(d)));
    }
    if let Some(src) = s.src {
        a.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    if let Some(via) = s.via {
        a.push(RouteAttribute::Gateway(RouteAddress::from(via)));
    }
    if let Some(oif) = s.oif {
        a.push(RouteAttribute::Oif(oif));
    }
    if let Some(metric) = s.metric {
        a.push(RouteAttribute::Priority(metric));
    }
    if !s.nexthops.is_empty() {
        let hops = s
            .nexthops
            .iter()
            .map(|(via, dev)| {
                let mut h = RouteNextHop::default();
                h.interface_index = dev.unwrap_or(0);
                if let Some(v) = via {
                    h.attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(*v)));
                }
                h
            })
            .collect();
        a.push(RouteAttribute::MultiPath(hops));
    }
    m
}

/// The kernel message for a rule.
pub fn rule_message(s: &RuleSpec) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = family(s.v6);
    m.header.tos = s.tos;
    m.header.action = RuleAction::from(s.action);
    let a = &mut m.attributes;
    if let Some((d, len)) = s.to {
        m.header.dst_len = len;
        a.push(RuleAttribute::Destination(d));
    }
    if let Some((f, len)) = s.from {
        m.header.src_len = len;
        a.push(RuleAttribute::Source(f));
    }
    if let Some(p) = s.preference {
        a.push(RuleAttribute::Priority(p));
    }
    if let Some(p) = s.protocol {
        a.push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    if let Some(t) = s.table {
        m.header.table = u8::try_from(t).unwrap_or(0);
        a.push(RuleAttribute::Table(t));
    }
    if let Some((mark, mask)) = s.fwmark {
        a.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            a.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(i) = &s.iif {
        a.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &s.oif {
        a.push(RuleAttribute::Oifname(o.clone()));
    }
    m
}

const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Routes are added without NLM_F_EXCL, as keepalived's `netlink_route`
/// does (`ip route prepend`): a virtual route equal to the kernel's prefix
/// route of a VIP goes in beside it; an identical route is still EEXIST.
const PREPEND: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;

impl Netlink {
    /// Adds a route; `false` if it was already there.
    pub async fn add_route(&self, s: &RouteSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::NewRoute(route_message(s));
        absent_ok(self.request("add route", msg, PREPEND).await, libc::EEXIST)
    }

    /// Deletes a route; `false` if it was not there.
    pub async fn del_route(&self, s: &RouteSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::DelRoute(route_message(s));
        let r = self.request("delete route", msg, NLM_F_REQUEST | NLM_F_ACK);
        absent_ok(r.await, libc::ESRCH)
    }

    /// Adds a rule; `false` if it was already there.
    pub async fn add_rule(&self, s: &RuleSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::NewRule(rule_message(s));
        absent_ok(self.request("add rule", msg, CREATE).await, libc::EEXIST)
    }

    /// Deletes a rule; `false` if it was not there.
    pub async fn del_rule(&self, s: &RuleSpec) -> Result<bool, Error> {
        let msg = RouteNetlinkMessage::DelRule(rule_message(s));
        let r = self.request("delete rule", msg, NLM_F_REQUEST | NLM_F_ACK);
        absent_ok(r.await, libc::ENOENT)
    }
}

/// Maps the "already done" errno (and ENOENT/ESRCH on deletes) to `false`.
fn absent_ok<T>(r: Result<T, Error>, done: i32) -> Result<bool, Error> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.errno() == Some(done) => Ok(false),
        Err(e) if done != libc::EEXIST && matches!(e.errno(), Some(libc::ENOENT | libc::ESRCH)) => {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn route_via_gateway_is_global_scope_protocol_keepalived() {
        let s = RouteSpec {
            v6: false,
            dst: Some((v4("10.56.0.0"), 24)),
            src: None,
            via: Some(v4("10.55.0.254")),
            oif: Some(3),
            table: 254,
            metric: Some(10),
            scope: None,
            kind: 1,
            onlink: false,
            nexthops: vec![],
        };
        let m = route_message(&s);
        assert_eq!(m.header.protocol, RouteProtocol::from(18));
        assert_eq!(m.header.scope, RouteScope::Universe);
        assert_eq!(m.header.destination_prefix_length, 24);
        assert_eq!(m.header.table, 254);
        assert!(m
            .attributes
            .contains(&RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(
                10, 55, 0, 254
            )))));
        assert!(m.attributes.contains(&RouteAttribute::Priority(10)));
        assert!(m.attributes.contains(&RouteAttribute::Oif(3)));
    }

    #[test]
    fn direct_route_on_a_device_is_global_scope_as_keepalived_s() {
        let mut s = route_spec(
            &Route {
                dst: Prefix::parse("10.57.0.0/16"),
                dev: Some("eth0".into()),
                ..Route::default()
            },
            |_| Some(7),
        )
        .unwrap();
        assert_eq!(route_message(&s).header.scope, RouteScope::Universe);
        s.kind = route_type("blackhole").unwrap();
        s.oif = None;
        assert_eq!(route_message(&s).header.kind, RouteType::BlackHole);
        assert_eq!(route_message(&s).header.scope, RouteScope::Universe);
    }

    #[test]
    fn large_table_ids_go_in_the_attribute() {
        let r = Route {
            dst: Prefix::parse("10.57.0.0/16"),
            table: Some("1000".into()),
            ..Route::default()
        };
        let m = route_message(&route_spec(&r, |_| None).unwrap());
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert_eq!(table_id("main"), Ok(254));
        assert!(table_id("no-such-table-name").is_err());
    }

    #[test]
    fn rule_from_table_preference_fwmark() {
        let r = Rule {
            from: Prefix::parse("10.55.0.0/24"),
            to: None,
            preference: Some(100),
            table: Some("100".into()),
            no_track: false,
            attrs: vec![("fwmark".into(), Some("0x10/0xff".into()))],
        };
        let s = rule_spec(&r).unwrap();
        let m = rule_message(&s);
        assert_eq!(m.header.src_len, 24);
        assert_eq!(m.header.table, 100);
        assert_eq!(m.header.action, RuleAction::ToTable);
        assert!(m.attributes.contains(&RuleAttribute::Priority(100)));
        assert!(m.attributes.contains(&RuleAttribute::FwMark(0x10)));
        assert!(m.attributes.contains(&RuleAttribute::FwMask(0xff)));
        // keepalived 2.2.7: `1000: from 10.99.37.100 lookup 100 proto keepalived`.
        assert!(m
            .attributes
            .contains(&RuleAttribute::Protocol(RouteProtocol::from(18))));
    }

    #[test]
    fn a_no_track_rule_carries_its_own_protocol_or_none() {
        let mut r = Rule {
            from: Prefix::parse("10.55.0.0/24"),
            preference: Some(100),
            table: Some("100".into()),
            no_track: true,
            ..Rule::default()
        };
        assert_eq!(rule_spec(&r).unwrap().protocol, None);
        r.attrs.push(("protocol".into(), Some("static".into())));
        assert_eq!(rule_spec(&r).unwrap().protocol, Some(4));
        r.attrs[0].1 = Some("99".into());
        assert_eq!(rule_spec(&r).unwrap().protocol, Some(99));
    }
}

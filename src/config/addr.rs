//! Address, route and rule specifications (`virtual_ipaddress`,
//! `virtual_routes`, `virtual_rules` and their `static_*` forms), parsed
//! with keepalived 2.2.7's messages.

use std::net::IpAddr;

use super::parser::{Ctx, Stmt};

/// An address with a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (0..=32 or 0..=128).
    pub len: u8,
}

impl Prefix {
    /// Parses `ADDR[/LEN]`; a missing length is the full host length.
    pub fn parse(s: &str) -> Option<Prefix> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => {
                let v: u8 = l.parse().ok()?;
                if v > max {
                    return None;
                }
                v
            }
        };
        Some(Prefix { addr, len })
    }

    /// Whether IPv6.
    pub fn is_v6(&self) -> bool {
        self.addr.is_ipv6()
    }
}

/// Address scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// `global`.
    #[default]
    Global,
    /// `site`.
    Site,
    /// `link`.
    Link,
    /// `host`.
    Host,
    /// `nowhere`.
    Nowhere,
    /// A numeric scope.
    Other(u8),
}

fn parse_scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        _ => Scope::Other(s.parse().ok()?),
    })
}

/// One VIP / static address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    /// The address as written (for messages).
    pub text: String,
    /// Address and prefix.
    pub prefix: Prefix,
    /// `dev`.
    pub dev: Option<String>,
    /// `brd`: an address, or `+`/`-`.
    pub broadcast: Option<String>,
    /// `scope`.
    pub scope: Scope,
    /// `label`.
    pub label: Option<String>,
    /// `peer`.
    pub peer: Option<Prefix>,
    /// `no_track`.
    pub no_track: bool,
    /// `use_vmac` (put on the VMAC).
    pub use_vmac: bool,
    /// `preferred_lft` (seconds; `forever` = u32::MAX).
    pub preferred_lft: Option<u32>,
    /// IPv6 flags: home, -nodad, mngtmpaddr, noprefixroute, autojoin.
    pub flags: Vec<String>,
    /// `track_group` (static addresses).
    pub track_group: Option<String>,
}

/// Where an address/route/rule spec comes from (decides defaults/messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecOrigin {
    /// In a vrrp_instance.
    Instance,
    /// In a `static_*` block.
    Static,
}

/// Records that an interface named in the configuration is missing.
/// Parses every line of a `{ }` block of specs (addresses, routes or
/// rules), keeping the valid ones; each bad line is reported by `parse`.
pub fn spec_block<T>(
    ctx: &mut Ctx,
    s: &Stmt,
    origin: SpecOrigin,
    parse: fn(&mut Ctx, &Stmt, SpecOrigin) -> Option<T>,
) -> Vec<T> {
    let lines = ctx.value_block(s);
    lines.iter().filter_map(|l| parse(ctx, l, origin)).collect()
}

fn missing_if(ctx: &mut Ctx) {
    ctx.cfg.vrrp.missing_interface = true;
}

/// Parses one VIP line. Returns `None` when keepalived skips it.
pub fn parse_vip(ctx: &mut Ctx, s: &Stmt, origin: SpecOrigin) -> Option<Vip> {
    let first = s.get(0).unwrap_or("");
    let mut parsed = Prefix::parse(first);
    if parsed.is_none() {
        if let Some((a, l)) = first.split_once('/') {
            if let (Ok(addr), Ok(len)) = (a.parse::<IpAddr>(), l.parse::<u32>()) {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                ctx.err_at(
                    s,
                    0,
                    format!("number '{len}' outside range [0, {max}]"),
                    "prefix length out of range",
                );
                ctx.err_at(
                    s,
                    0,
                    format!("Invalid address prefix len {len} for address {first} - using {max}"),
                    "prefix length out of range",
                );
                parsed = Some(Prefix {
                    addr,
                    len: max as u8,
                });
            }
        }
    }
    let Some(prefix) = parsed else {
        ctx.err_at(
            s,
            0,
            format!("VRRP parsed invalid IP {first}. skipping IP..."),
            "expected ADDRESS[/PREFIX]",
        );
        return None;
    };
    let mut vip = Vip {
        text: first.to_string(),
        prefix,
        dev: None,
        broadcast: None,
        scope: Scope::Global,
        label: None,
        peer: None,
        no_track: false,
        use_vmac: false,
        preferred_lft: None,
        flags: Vec::new(),
        track_group: None,
    };
    let mut i = 1;
    while i < s.len() {
        let w = s.get(i).unwrap_or("");
        let next = s.get(i + 1);
        match w {
            "dev" | "brd" | "broadcast" | "scope" | "label" | "peer" | "preferred_lft"
            | "track_group"
                if w != "track_group" || origin == SpecOrigin::Static =>
            {
                let Some(v) = next else {
                    if w == "dev" {
                        ctx.err_at(
                            s,
                            i,
                            format!("No dev parameter specified for {first}"),
                            "expected dev IFNAME",
                        );
                    } else {
                        ctx.err_at(
                            s,
                            i,
                            format!("No {w} parameter specified for {first}"),
                            "a value is expected",
                        );
                    }
                    break;
                };
                match w {
                    "dev" => {
                        if !super::vrrp::interface_ok(ctx, v) {
                            ctx.err_at(
                                s,
                                i + 1,
                                format!(
                                    "WARNING - interface {v} for ip address {first} doesn't exist"
                                ),
                                "no such interface in this namespace",
                            );
                            missing_if(ctx);
                            return None;
                        }
                        vip.dev = Some(v.to_string());
                    }
                    "brd" | "broadcast" => {
                        if prefix.is_v6() {
                            ctx.err_at(s, i, format!("VRRP is trying to assign a broadcast {v} to the IPv6 address {first} - skipping"), "IPv6 has no broadcast");
                        } else if v != "+" && v != "-" && v.parse::<std::net::Ipv4Addr>().is_err() {
                            ctx.err_at(s, i + 1, format!("VRRP is trying to assign invalid broadcast {v}. skipping VIP..."), "expected an IPv4 address, + or -");
                            return None;
                        } else {
                            vip.broadcast = Some(v.to_string());
                        }
                    }
                    "scope" => {
                        if prefix.is_v6() {
                            ctx.err_at(s, i, format!("Cannot specify scope for IPv6 addresses ({first}) - ignoring scope"), "IPv6 addresses take their scope from the address");
                        } else {
                            match parse_scope(v) {
                                Some(sc) => vip.scope = sc,
                                None => ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("Invalid scope '{v}' specified for {first} - ignoring"),
                                    "expected global|site|link|host|nowhere",
                                ),
                            }
                        }
                    }
                    "label" => {
                        if prefix.is_v6() {
                            ctx.err_at(s, i, format!("Cannot specify label for IPv6 addresses ({first}) - ignoring label"), "labels are IPv4 only");
                        } else {
                            vip.label = Some(v.to_string());
                        }
                    }
                    "peer" if first.contains('/') => {
                        ctx.err_at(
                            s,
                            i,
                            "Cannot specify address prefix when specifying peer address - ignoring",
                            "put the prefix on the peer address",
                        );
                    }
                    "peer" => match Prefix::parse(v) {
                        Some(p) => vip.peer = Some(p),
                        None => ctx.err_at(
                            s,
                            i + 1,
                            format!("Invalid peer address {v} for {first} - ignoring"),
                            "expected an address",
                        ),
                    },
                    "preferred_lft" => {
                        if v == "forever" {
                            vip.preferred_lft = Some(u32::MAX);
                        } else {
                            match v.parse::<u32>() {
                                Ok(n) => vip.preferred_lft = Some(n),
                                Err(_) => ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("Invalid preferred_lft '{v}' - ignoring"),
                                    "expected seconds or forever",
                                ),
                            }
                        }
                    }
                    _ => {
                        if origin == SpecOrigin::Static {
                            if !ctx.cfg.vrrp.track_groups.iter().any(|g| g.name == v) {
                                ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("track_group {v} not found"),
                                    "define the track_group before using it",
                                );
                            }
                            vip.track_group = Some(v.to_string());
                        } else {
                            ctx.err_at(
                                s,
                                i,
                                format!(
                                    "Unknown configuration entry '{w}' for ip address - ignoring"
                                ),
                                "track_group is only valid for static addresses",
                            );
                        }
                    }
                }
                i += 2;
                continue;
            }
            "no_track" => vip.no_track = true,
            "use_vmac" => vip.use_vmac = true,
            "home" | "-nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" => {
                vip.flags.push(w.to_string());
            }
            _ => {
                ctx.err_at(
                    s,
                    i,
                    format!("Unknown configuration entry '{w}' for ip address - ignoring"),
                    "expected dev, brd, scope, label, peer, no_track, preferred_lft ...",
                );
            }
        }
        i += 1;
    }
    Some(vip)
}

/// One route (`virtual_routes` / `static_routes` line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// Destination.
    pub dst: Option<Prefix>,
    /// `src`.
    pub src: Option<IpAddr>,
    /// `via`/`gw`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `table`.
    pub table: Option<String>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    /// Route type (`blackhole`, `unreachable` ...).
    pub kind: Option<String>,
    /// `no_track`.
    pub no_track: bool,
    /// Every other attribute, as written (name, value).
    pub attrs: Vec<(String, Option<String>)>,
    /// Nexthops: (via, dev).
    pub nexthops: Vec<(Option<IpAddr>, Option<String>)>,
    /// Whether `protocol` was given other than keepalived.
    pub foreign_proto: bool,
}

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "throw",
    "unreachable",
    "prohibit",
    "blackhole",
    "nat",
    "anycast",
];

/// Route keywords taking one value.
const ROUTE_VALUE_KW: &[&str] = &[
    "tos",
    "dsfield",
    "protocol",
    "scope",
    "mtu",
    "advmss",
    "hoplimit",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "fastopen_no_cookie",
    "ttl-propagate",
    "expires",
    "encap",
    "track_group",
    "weight",
];

fn is_route_flag(w: &str) -> bool {
    matches!(w, "onlink" | "lock" | "append" | "no_track" | "ecn")
}

/// Parses one route line.
pub fn parse_route(ctx: &mut Ctx, s: &Stmt, origin: SpecOrigin) -> Option<Route> {
    let mut r = Route::default();
    let mut i = 0;
    let mut in_nexthop = false;
    // `default` takes the family of the gateway or source (`default via
    // inet6 GW` is ::/0); `default4`/`default6` are explicit.
    let mut plain_default = false;
    while i < s.len() {
        let w = s.get(i).unwrap_or("").to_string();
        let next = s.get(i + 1).map(str::to_string);
        match w.as_str() {
            "src" | "via" | "gw" | "or" | "dev" | "oif" | "table" | "metric" | "priority"
            | "preference" | "to" | "from" => {
                let Some(mut v) = next else {
                    ctx.err_at(
                        s,
                        i,
                        format!("route keyword {w} is missing a value"),
                        "a value is expected",
                    );
                    return None;
                };
                if matches!(w.as_str(), "via" | "gw" | "or")
                    && matches!(v.as_str(), "inet" | "inet6")
                {
                    i += 1;
                    v = s.get(i + 1).unwrap_or("").to_string();
                }
                match w.as_str() {
                    "src" | "from" => match v.split('/').next().unwrap_or("").parse() {
                        Ok(a) => r.src = Some(a),
                        Err(_) => {
                            ctx.err_at(
                                s,
                                i + 1,
                                format!("Invalid route source address {v}"),
                                "expected an address",
                            );
                            return None;
                        }
                    },
                    "via" | "gw" | "or" => {
                        if w == "gw" {
                            ctx.err_at(
                                s,
                                i,
                                "\"gw\" for routes is deprecated. Please use \"via\"",
                                "use via",
                            );
                        } else if w == "or" {
                            ctx.err_at(
                                s,
                                i,
                                "\"or\" for routes is deprecated. Please use \"nexthop\"",
                                "use nexthop",
                            );
                        }
                        let a = v.strip_prefix("inet6 ").unwrap_or(&v);
                        match a.parse() {
                            Ok(a) => {
                                if in_nexthop {
                                    if let Some(nh) = r.nexthops.last_mut() {
                                        nh.0 = Some(a);
                                    }
                                } else {
                                    r.via = Some(a);
                                }
                            }
                            Err(_) => {
                                ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("Invalid gateway address {v}"),
                                    "expected an address",
                                );
                                return None;
                            }
                        }
                    }
                    "dev" | "oif" => {
                        if !super::vrrp::interface_ok(ctx, &v) {
                            let what = "VROUTE nexthop";
                            ctx.err_at(
                                s,
                                i + 1,
                                format!("WARNING - interface {v} for {what} doesn't exist"),
                                "no such interface in this namespace",
                            );
                            missing_if(ctx);
                        }
                        if in_nexthop {
                            if let Some(nh) = r.nexthops.last_mut() {
                                nh.1 = Some(v.clone());
                            }
                        } else {
                            r.dev = Some(v.clone());
                        }
                    }
                    "table" => r.table = Some(v.clone()),
                    "to" => match Prefix::parse(&v) {
                        Some(p) => r.dst = Some(p),
                        None => {
                            ctx.err_at(
                                s,
                                i + 1,
                                format!("Invalid route destination {v}"),
                                "expected ADDRESS[/PREFIX]",
                            );
                            return None;
                        }
                    },
                    _ => match v.parse() {
                        Ok(n) => r.metric = Some(n),
                        Err(_) => {
                            ctx.err_at(s, i + 1, format!("Invalid metric {v}"), "expected a number")
                        }
                    },
                }
                i += 2;
                continue;
            }
            "nexthop" => {
                in_nexthop = true;
                r.nexthops.push((None, None));
            }
            "no_track" => r.no_track = true,
            w2 if is_route_flag(w2) => r.attrs.push((w.clone(), None)),
            w2 if ROUTE_VALUE_KW.contains(&w2) => {
                if next.is_none() {
                    ctx.err_at(
                        s,
                        i,
                        format!("route keyword {w} is missing a value"),
                        "a value is expected",
                    );
                    return None;
                }
                if w == "protocol" && !matches!(next.as_deref(), Some("keepalived" | "18")) {
                    r.foreign_proto = true;
                }
                if w == "track_group" && origin == SpecOrigin::Instance {
                    ctx.err_at(
                        s,
                        i,
                        format!("unknown route keyword {w}"),
                        "track_group is for static routes",
                    );
                }
                if next.as_deref() == Some("lock") && s.get(i + 2).is_some() {
                    // `mtu lock 1000`: the metric is locked
                    r.attrs
                        .push((w.clone(), s.get(i + 2).map(|v| format!("lock {v}"))));
                    i += 3;
                    continue;
                }
                r.attrs.push((w.clone(), next.clone()));
                i += 2;
                continue;
            }
            w2 if ROUTE_TYPES.contains(&w2) && r.dst.is_none() => r.kind = Some(w.clone()),
            _ => {
                if r.dst.is_none() {
                    if w == "default" || w == "default4" {
                        plain_default = w == "default";
                        r.dst = Some(Prefix {
                            addr: IpAddr::from([0, 0, 0, 0]),
                            len: 0,
                        });
                    } else if w == "default6" {
                        r.dst = Some(Prefix {
                            addr: IpAddr::from([0u16; 8]),
                            len: 0,
                        });
                    } else if let Some(p) = Prefix::parse(&w) {
                        r.dst = Some(p);
                    } else {
                        ctx.err_at(
                            s,
                            i,
                            format!("unknown route keyword {w}"),
                            "expected a route attribute",
                        );
                        ctx.err_at(
                            s,
                            i,
                            format!("VRRP parsed invalid IP {w}. skipping IP..."),
                            "expected a destination prefix",
                        );
                        return None;
                    }
                } else {
                    ctx.err_at(
                        s,
                        i,
                        format!("unknown route keyword {w}"),
                        "expected a route attribute",
                    );
                    ctx.err_at(
                        s,
                        i,
                        format!("VRRP parsed invalid IP {w}. skipping IP..."),
                        "expected a destination prefix",
                    );
                    return None;
                }
            }
        }
        i += 1;
    }
    if r.dst.is_none() {
        ctx.err(s, "No destination specified for route - ignoring");
        return None;
    }
    let v6 = r.via.or(r.src).or(r.nexthops.iter().find_map(|n| n.0));
    if plain_default && v6.is_some_and(|a| a.is_ipv6()) {
        r.dst = Some(Prefix {
            addr: IpAddr::from([0u16; 8]),
            len: 0,
        });
    }
    if !r.no_track && r.foreign_proto {
        ctx.err(
            s,
            "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
        );
    }
    let has_dev = r.dev.is_some();
    if !r.no_track && !has_dev {
        let d = r
            .dst
            .map(|p| format!("{}/{}", p.addr, p.len))
            .unwrap_or_default();
        ctx.err(
            s,
            format!("Warning - cannot track route {d} with no interface specified, not tracking"),
        );
        r.no_track = true;
    }
    Some(r)
}

/// One rule (`virtual_rules` / `static_rules` line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// `from`.
    pub from: Option<Prefix>,
    /// `to`.
    pub to: Option<Prefix>,
    /// `preference`/`priority`/`order`.
    pub preference: Option<u32>,
    /// `table`/`lookup`.
    pub table: Option<String>,
    /// `no_track`.
    pub no_track: bool,
    /// Other selectors/actions as written.
    pub attrs: Vec<(String, Option<String>)>,
}

const RULE_VALUE_KW: &[&str] = &[
    "iif",
    "oif",
    "tos",
    "dsfield",
    "fwmark",
    "realms",
    "goto",
    "uidrange",
    "ip_proto",
    "ipproto",
    "sport",
    "dport",
    "suppress_prefixlength",
    "suppress_ifgroup",
    "nat",
    "map-to",
    "protocol",
    "track_group",
    "type",
    "dev",
];

/// Parses one rule line.
pub fn parse_rule(ctx: &mut Ctx, s: &Stmt, _origin: SpecOrigin) -> Option<Rule> {
    let mut r = Rule::default();
    let mut i = 0;
    while i < s.len() {
        let w = s.get(i).unwrap_or("").to_string();
        let next = s.get(i + 1).map(str::to_string);
        match w.as_str() {
            "from" | "to" | "preference" | "priority" | "order" | "table" | "lookup" => {
                let Some(v) = next else {
                    ctx.err_at(
                        s,
                        i,
                        format!("rule keyword {w} is missing a value"),
                        "a value is expected",
                    );
                    return None;
                };
                match w.as_str() {
                    "from" | "to" => {
                        let p = if v == "all" || v == "default" {
                            Some(None)
                        } else {
                            Prefix::parse(&v).map(Some)
                        };
                        match p {
                            Some(p) => {
                                if w == "from" {
                                    r.from = p;
                                } else {
                                    r.to = p;
                                }
                            }
                            None => {
                                ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("VRRP parsed invalid IP {v}. skipping IP..."),
                                    "expected ADDRESS[/PREFIX]",
                                );
                                ctx.err_at(
                                    s,
                                    i + 1,
                                    format!("Invalid rule {w} address {v}"),
                                    "expected ADDRESS[/PREFIX] or all",
                                );
                                return None;
                            }
                        }
                    }
                    "table" | "lookup" => r.table = Some(v),
                    _ => match v.parse() {
                        Ok(n) => r.preference = Some(n),
                        Err(_) => ctx.err_at(
                            s,
                            i + 1,
                            format!("Invalid rule preference {v}"),
                            "expected a number",
                        ),
                    },
                }
                i += 2;
                continue;
            }
            "no_track" => r.no_track = true,
            "not" | "l3mdev" => r.attrs.push((w.clone(), None)),
            "inet" | "inet6" => {
                let v6 = r.from.or(r.to).map(|p| p.is_v6());
                if v6 == Some(w == "inet") {
                    let fam = if w == "inet" { "IPv6" } else { "IPv4" };
                    ctx.err_at(
                        s,
                        i,
                        format!("{w} specified for {fam} rule"),
                        "the family must match the rule's addresses",
                    );
                }
            }
            w2 if RULE_VALUE_KW.contains(&w2) => {
                if next.is_none() {
                    ctx.err_at(
                        s,
                        i,
                        format!("rule keyword {w} is missing a value"),
                        "a value is expected",
                    );
                    return None;
                }
                if matches!(w2, "iif" | "oif" | "dev") {
                    let v = next.clone().unwrap_or_default();
                    if !super::vrrp::interface_ok(ctx, &v) {
                        ctx.err_at(
                            s,
                            i + 1,
                            format!("WARNING - interface {v} for rule doesn't exist"),
                            "no such interface in this namespace",
                        );
                        missing_if(ctx);
                    }
                }
                r.attrs.push((w.clone(), next));
                i += 2;
                continue;
            }
            "blackhole" | "unreachable" | "prohibit" => r.attrs.push((w.clone(), None)),
            _ => {
                ctx.err_at(
                    s,
                    i,
                    format!("Unknown rule option {w}"),
                    "expected a rule selector or action",
                );
                return None;
            }
        }
        i += 1;
    }
    if r.preference.is_none() {
        let v6 = r.from.or(r.to).is_some_and(|p| p.is_v6());
        let p = ctx.cfg.vrrp.next_rule_preference(v6);
        ctx.err(s, format!("Rule has no preference specified - setting to {p}. This is probably not what you want."));
        r.preference = Some(p);
    }

    Some(r)
}

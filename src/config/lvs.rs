//! LVS configuration: `virtual_server`, `virtual_server_group`,
//! `real_server`, `sorry_server`, the root `SSL` block, and keepalived
//! 2.2.7's post-parse LVS checks. Checker blocks are in [`super::check`].

use std::net::IpAddr;

use super::check::{Checker, CHECKERS};
use super::diag::Level;
use super::parser::{block, kw, Ctx, Keyword, Res, Stmt};
use super::script::{self, Script, ScriptKind};

/// A duration in microseconds (keepalived's timer resolution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

impl Micros {
    /// As a `Duration`.
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }
}

/// Everything the checker child runs from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LvsConfig {
    /// `virtual_server` blocks in file order.
    pub virtual_servers: Vec<VirtualServer>,
    /// `virtual_server_group` blocks.
    pub groups: Vec<VsGroup>,
    /// Root `SSL` block.
    pub ssl: Option<SslConfig>,
}

impl LvsConfig {
    /// Every script configured for the checker (for script security).
    pub fn scripts(&self) -> Vec<&Script> {
        let mut v = Vec::new();
        for vs in &self.virtual_servers {
            v.extend(vs.quorum_up.iter());
            v.extend(vs.quorum_down.iter());
            for rs in &vs.real_servers {
                v.extend(rs.notify_up.as_deref());
                v.extend(rs.notify_down.as_deref());
                for c in &rs.checkers {
                    if let super::check::CheckerKind::Misc { path: Some(p), .. } = &c.kind {
                        if c.valid {
                            v.push(p);
                        }
                    }
                }
            }
        }
        v
    }
}

/// Root `SSL { }` block (client side of SSL_GET).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslConfig {
    /// `password`.
    pub password: Option<String>,
    /// `ca`.
    pub ca: Option<String>,
    /// `certificate`.
    pub certificate: Option<String>,
    /// `key`.
    pub key: Option<String>,
}

/// One entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsgEntry {
    /// `IP[-END] [PORT]` (END is the last byte / last 16-bit group).
    Range {
        /// First address.
        start: IpAddr,
        /// Last address (== start when not a range).
        end: IpAddr,
        /// Port (0 if none).
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// Family if given (true = IPv6).
        v6: Option<bool>,
    },
}

/// `virtual_server_group NAME { ... }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VsGroup {
    /// Name.
    pub name: String,
    /// Entries.
    pub entries: Vec<VsgEntry>,
}

impl VsGroup {
    fn has_ranges(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { .. }))
    }
    fn has_fwmarks(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
    }
}

/// How a virtual server is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsAddr {
    /// `IP [PORT]`.
    Addr(IpAddr, u16),
    /// `fwmark N`.
    Fwmark(u32),
    /// `group NAME [PORT]`.
    Group(String, u16),
}

impl Default for VsAddr {
    fn default() -> Self {
        VsAddr::Fwmark(0)
    }
}

/// `protocol` (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    fn name(p: Option<Protocol>) -> &'static str {
        match p {
            None => "none",
            Some(Protocol::Tcp) => "tcp",
            Some(Protocol::Udp) => "udp",
            Some(Protocol::Sctp) => "sctp",
        }
    }
}

/// IPVS schedulers keepalived 2.2.7 accepts (case-sensitive).
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq",
];

/// Tunnel type of `TUN` forwarding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TunType {
    /// ipip (default).
    #[default]
    Ipip,
    /// gue (needs a port).
    Gue,
    /// gre.
    Gre,
}

/// Tunnel checksum option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TunCsum {
    /// nocsum (default).
    #[default]
    NoCsum,
    /// csum.
    Csum,
    /// remcsum.
    RemCsum,
}

/// `lb_kind` / `lvs_method` (case-sensitive: NAT, DR, TUN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwdMethod {
    /// NAT (masquerading).
    Nat,
    /// Direct routing.
    Dr,
    /// Tunnelling.
    Tun {
        /// Encapsulation.
        ty: TunType,
        /// gue port.
        port: u16,
        /// Checksum option.
        csum: TunCsum,
    },
}

/// A real or sorry server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address.
    pub ip: IpAddr,
    /// Port (0 = unset).
    pub port: u16,
    /// `weight` (None = VS default).
    pub weight: Option<u32>,
    /// `lvs_method`.
    pub method: Option<FwdMethod>,
    /// `uthreshold`.
    pub uthreshold: u32,
    /// `lthreshold`.
    pub lthreshold: u32,
    /// `inhibit_on_failure`.
    pub inhibit: Option<bool>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `notify_up` (boxed, as `notify_down`: most real servers have none,
    /// and inline they were half of a real server's size).
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// `retry`.
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Micros>,
    /// `warmup`.
    pub warmup: Option<Micros>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Micros>,
    /// `delay_loop`.
    pub delay_loop: Option<Micros>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
}

impl RealServer {
    fn new(ip: IpAddr, port: u16) -> RealServer {
        RealServer {
            ip,
            port,
            weight: None,
            method: None,
            uthreshold: 0,
            lthreshold: 0,
            inhibit: None,
            alpha: None,
            notify_up: None,
            notify_down: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
        }
    }

    /// `[ip]:proto:port` as keepalived prints a real server.
    pub fn fmt(&self, vs: &VirtualServer) -> String {
        format!(
            "[{}]:{}:{}",
            self.ip,
            Protocol::name(vs.protocol),
            self.port
        )
    }
}

/// One `virtual_server`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VirtualServer {
    /// Address, fwmark or group.
    pub addr: VsAddr,
    /// `ip_family` (true = inet6), or derived from servers.
    pub v6: Option<bool>,
    /// `delay_loop` (60 s).
    pub delay_loop: Option<Micros>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Micros>,
    /// `retry`.
    pub retry: Option<u32>,
    /// `warmup`.
    pub warmup: Option<Micros>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Micros>,
    /// `lb_algo` / `lvs_sched`.
    pub scheduler: Option<String>,
    /// Scheduler flags: ops, flag-1..3, sh-port, sh-fallback, mh-port, mh-fallback, hashed.
    pub flags: Vec<String>,
    /// `lb_kind` / `lvs_method`.
    pub method: Option<FwdMethod>,
    /// `persistence_timeout` seconds.
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`.
    pub persistence_granularity: Option<String>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `protocol`.
    pub protocol: Option<Protocol>,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// `inhibit_on_failure`.
    pub inhibit: bool,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum_up`.
    pub quorum_up: Option<Script>,
    /// `quorum_down`.
    pub quorum_down: Option<Script>,
    /// `quorum` (1).
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `weight`: default real server weight (1).
    pub weight: u32,
    /// `sorry_server`.
    pub sorry_server: Option<RealServer>,
    /// Real servers.
    pub real_servers: Vec<RealServer>,
    /// Whether post-parse validation dropped it.
    pub dropped: bool,
}

impl VirtualServer {
    /// keepalived's `FMT_VS`.
    pub fn fmt(&self) -> String {
        match &self.addr {
            VsAddr::Group(g, p) => format!("[{g}]:{p}"),
            VsAddr::Fwmark(m) => format!("FWM {m}"),
            VsAddr::Addr(ip, port) => format!("[{ip}]:{}:{port}", Protocol::name(self.protocol)),
        }
    }
}

/// Parses an IPv4/IPv6 address as `inet_stosockaddr` would (IPv6 may carry `%scope`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.split('%').next().unwrap_or(s);
    s.parse().ok()
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok()
}

fn vs_cur(ctx: &mut Ctx) -> Option<&mut VirtualServer> {
    ctx.cfg.lvs.virtual_servers.last_mut()
}

fn rs_cur(ctx: &mut Ctx) -> Option<&mut RealServer> {
    ctx.cfg
        .lvs
        .virtual_servers
        .last_mut()?
        .real_servers
        .last_mut()
}

// ===== SSL =====

fn ssl(ctx: &mut Ctx, s: &Stmt) -> Res {
    if ctx.cfg.lvs.ssl.is_some() {
        ctx.err(s, "SSL context already specified - replacing");
    }
    ctx.cfg.lvs.ssl = Some(SslConfig::default());
    Ok(())
}

fn ssl_file(
    ctx: &mut Ctx,
    s: &Stmt,
    what: &str,
    f: fn(&mut SslConfig) -> &mut Option<String>,
) -> Res {
    let Some(v) = s.get(1) else {
        ctx.err(s, format!("SSL {what} missing"));
        return Ok(());
    };
    let v = v.to_string();
    let dup = ctx.cfg.lvs.ssl.as_mut().is_some_and(|c| f(c).is_some());
    if dup {
        ctx.err(s, format!("SSL {what} already specified - replacing"));
    }
    if let Some(c) = ctx.cfg.lvs.ssl.as_mut() {
        *f(c) = Some(v);
    }
    Ok(())
}

fn ssl_password(ctx: &mut Ctx, s: &Stmt) -> Res {
    ssl_file(ctx, s, "password", |c| &mut c.password)
}
fn ssl_ca(ctx: &mut Ctx, s: &Stmt) -> Res {
    ssl_file(ctx, s, "cafile", |c| &mut c.ca)
}
fn ssl_cert(ctx: &mut Ctx, s: &Stmt) -> Res {
    ssl_file(ctx, s, "certfile", |c| &mut c.certificate)
}
fn ssl_key(ctx: &mut Ctx, s: &Stmt) -> Res {
    ssl_file(ctx, s, "keyfile", |c| &mut c.key)
}

static SSL: &[Keyword] = &[
    kw("password", ssl_password),
    kw("ca", ssl_ca),
    kw("certificate", ssl_cert),
    kw("key", ssl_key),
];

// ===== virtual_server_group =====

fn parse_range(s: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some((a, b)) = s.split_once('-') {
        let start = parse_ip(a)?;
        let end = match start {
            IpAddr::V4(v4) => {
                if let Ok(IpAddr::V4(e)) = b.parse::<IpAddr>() {
                    IpAddr::V4(e)
                } else {
                    let last: u8 = b.parse().ok()?;
                    let o = v4.octets();
                    IpAddr::V4([o[0], o[1], o[2], last].into())
                }
            }
            IpAddr::V6(v6) => {
                if let Ok(IpAddr::V6(e)) = b.parse::<IpAddr>() {
                    IpAddr::V6(e)
                } else {
                    let last = u16::from_str_radix(b, 16).ok()?;
                    let mut seg = v6.segments();
                    seg[7] = last;
                    IpAddr::V6(seg.into())
                }
            }
        };
        if end < start || start.is_ipv4() != end.is_ipv4() {
            return None;
        }
        return Some((start, end));
    }
    if let Some((a, len)) = s.split_once('/') {
        let ip = parse_ip(a)?;
        let len: u32 = len.parse().ok()?;
        return match ip {
            IpAddr::V4(v4) if len <= 32 => {
                let host = if len == 32 { 0 } else { u32::MAX >> len };
                let base = u32::from(v4) & !host;
                Some((IpAddr::V4(base.into()), IpAddr::V4((base | host).into())))
            }
            IpAddr::V6(v6) if len <= 128 => {
                let host = if len == 128 { 0 } else { u128::MAX >> len };
                let base = u128::from(v6) & !host;
                Some((IpAddr::V6(base.into()), IpAddr::V6((base | host).into())))
            }
            _ => None,
        };
    }
    let ip = parse_ip(s)?;
    Some((ip, ip))
}

fn vsg(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    // alloc_value_block sees the words after the name.
    let mut hdr = s.clone();
    hdr.words.remove(1);
    let lines = ctx.value_block(&hdr);
    let mut g = VsGroup {
        name: name.clone(),
        entries: Vec::new(),
    };
    for l in &lines {
        let w0 = l.key();
        if w0 == "fwmark" {
            let Some(v) = l.get(1) else {
                ctx.err(
                    l,
                    format!(
                        "({name}): fwmark '' must be in [0, {}] - ignoring",
                        u32::MAX
                    ),
                );
                continue;
            };
            let Ok(mark) = v.parse::<u32>() else {
                ctx.err_at(
                    l,
                    1,
                    format!(
                        "({name}): fwmark '{v}' must be in [0, {}] - ignoring",
                        u32::MAX
                    ),
                    "a number",
                );
                continue;
            };
            let v6 = match l.get(2) {
                None => None,
                Some("inet") => Some(false),
                Some("inet6") => Some(true),
                Some(f) => {
                    ctx.err_at(
                        l,
                        2,
                        format!("({name}): fwmark '{mark}' family {f} unknown - ignoring"),
                        "inet or inet6",
                    );
                    continue;
                }
            };
            g.entries.push(VsgEntry::Fwmark { mark, v6 });
            continue;
        }
        let port = match l.get(1) {
            None => Some(0),
            Some(p) => parse_port(p),
        };
        match (parse_range(w0), port) {
            (Some((start, end)), Some(port)) => {
                g.entries.push(VsgEntry::Range { start, end, port })
            }
            _ => {
                let (sep, p) = match l.get(1) {
                    Some(p) => (" port ", p),
                    None => ("", ""),
                };
                ctx.err_at(
                    l,
                    0,
                    format!("Invalid virtual server group IP address {w0} {sep}{p} - skipping"),
                    "an address, range or fwmark",
                );
            }
        }
    }
    if g.entries.is_empty() {
        ctx.err(
            s,
            format!("virtual server group {name} has no entries - removing"),
        );
        return Ok(());
    }
    let v4 = g.entries.iter().any(|e| {
        matches!(
            e,
            VsgEntry::Range {
                start: IpAddr::V4(_),
                ..
            }
        )
    });
    let v6 = g.entries.iter().any(|e| {
        matches!(
            e,
            VsgEntry::Range {
                start: IpAddr::V6(_),
                ..
            }
        )
    });
    let fw_nofam = g
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Fwmark { v6: None, .. }));
    if v4 && v6 && fw_nofam {
        ctx.err(s, format!("virtual server group {name} cannot have IPv4, IPv6 and fwmark without family - removing"));
        return Ok(());
    }
    ctx.cfg.lvs.groups.push(g);
    Ok(())
}

// ===== virtual_server =====

fn vs(ctx: &mut Ctx, s: &Stmt) -> Res {
    let w1 = ctx.arg(s, 1)?.to_string();
    let addr = match w1.as_str() {
        "group" => {
            let g = ctx.arg(s, 2)?.to_string();
            let p = s.get(3).and_then(|p| p.parse::<u16>().ok()).unwrap_or(0);
            Some(VsAddr::Group(g, p))
        }
        "fwmark" => {
            let v = ctx.arg(s, 2)?.to_string();
            match v.parse::<u32>() {
                Ok(m) => Some(VsAddr::Fwmark(m)),
                Err(_) => {
                    ctx.err_at(
                        s,
                        2,
                        format!(
                            "virtual server fwmark '{v}' must be in [0, {}] - ignoring",
                            u32::MAX
                        ),
                        "a number",
                    );
                    None
                }
            }
        }
        _ => {
            let port = match s.get(2) {
                None => Some(0),
                Some(p) => parse_port(p),
            };
            match (parse_ip(&w1), port) {
                (Some(ip), Some(port)) => Some(VsAddr::Addr(ip, port)),
                _ => {
                    let msg = match s.get(2) {
                        Some(p) => {
                            format!("Invalid virtual server IP address/port {w1}/{p} - skipping")
                        }
                        None => format!("Invalid virtual server IP address {w1} - skipping"),
                    };
                    ctx.err_at(s, 1, msg, "expected IP [PORT], fwmark N or group NAME");
                    None
                }
            }
        }
    };
    match addr {
        Some(addr) => {
            let v6 = match &addr {
                VsAddr::Addr(ip, _) => Some(ip.is_ipv6()),
                _ => None,
            };
            ctx.cfg.lvs.virtual_servers.push(VirtualServer {
                addr,
                v6,
                quorum: 1,
                weight: 1,
                ..Default::default()
            });
        }
        None => ctx.skip_block(true),
    }
    Ok(())
}

fn vs_end(ctx: &mut Ctx) -> Res {
    let Some(vs) = vs_cur(ctx) else { return Ok(()) };
    if vs.v6.is_none() && !matches!(vs.addr, VsAddr::Group(..)) {
        let fam = vs
            .sorry_server
            .as_ref()
            .map(|s| s.ip.is_ipv6())
            .or_else(|| vs.real_servers.first().map(|r| r.ip.is_ipv6()));
        let mixed = vs.real_servers.iter().any(|r| Some(r.ip.is_ipv6()) != fam);
        vs.v6 = Some(if mixed { false } else { fam.unwrap_or(false) });
    }
    Ok(())
}

fn ip_family(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    let v6 = match v {
        "inet" => false,
        "inet6" => true,
        _ => {
            ctx.err_at(s, 1, format!("unknown address family {v}"), "inet or inet6");
            return Ok(());
        }
    };
    let conflict = vs_cur(ctx).is_some_and(|vs| vs.v6.is_some_and(|f| f != v6));
    if conflict {
        ctx.err_at(
            s,
            1,
            format!("Virtual server specified family {v} conflicts with server family"),
            "the servers' family",
        );
        return Ok(());
    }
    if let Some(vs) = vs_cur(ctx) {
        vs.v6 = Some(v6);
    }
    Ok(())
}

fn vs_timer(
    ctx: &mut Ctx,
    s: &Stmt,
    min: u64,
    max: u64,
    msg: &str,
) -> Result<Option<Micros>, super::parser::Fatal> {
    match ctx.read_timer(s, 1, min, max)? {
        Some(t) => Ok(Some(Micros(t))),
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, msg.replace("{}", v));
            Ok(None)
        }
    }
}

macro_rules! timer_kw {
    ($name:ident, $get:ident, $field:ident, $min:expr, $max:expr, $msg:expr) => {
        fn $name(ctx: &mut Ctx, s: &Stmt) -> Res {
            if let Some(t) = vs_timer(ctx, s, $min, $max, $msg)? {
                if let Some(x) = $get(ctx) {
                    x.$field = Some(t);
                }
            }
            Ok(())
        }
    };
}

const CO_MAX: u64 = u32::MAX as u64;
timer_kw!(
    vs_co_timeout,
    vs_cur,
    connect_timeout,
    1,
    CO_MAX,
    "virtual server connect_timeout {} invalid - ignoring"
);
timer_kw!(
    vs_delay,
    vs_cur,
    delay_loop,
    1,
    0,
    "virtual server delay loop '{}' invalid - ignoring"
);
timer_kw!(
    vs_dbr,
    vs_cur,
    delay_before_retry,
    0,
    0,
    "virtual server delay before retry '{}' invalid - ignoring"
);
timer_kw!(
    vs_warmup,
    vs_cur,
    warmup,
    0,
    0,
    "virtual server warmup '{}' invalid - ignoring"
);
timer_kw!(
    rs_co_timeout,
    rs_cur,
    connect_timeout,
    1,
    CO_MAX,
    "real server connect_timeout {} invalid - ignoring"
);
timer_kw!(
    rs_delay,
    rs_cur,
    delay_loop,
    1,
    0,
    "real server delay_loop '{}' invalid - ignoring"
);
timer_kw!(
    rs_dbr,
    rs_cur,
    delay_before_retry,
    0,
    0,
    "real server delay_before_retry '{}' invalid - ignoring"
);
timer_kw!(
    rs_warmup,
    rs_cur,
    warmup,
    0,
    0,
    "real server warmup '{}' invalid - ignoring"
);

fn read_retry(ctx: &mut Ctx, s: &Stmt) -> Result<Option<u32>, super::parser::Fatal> {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(Some(n)),
        _ => {
            ctx.err_at(s, 1, format!("retry value invalid - {v}"), "a number >= 1");
            Ok(None)
        }
    }
}

fn vs_retry(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(n) = read_retry(ctx, s)? {
        if let Some(vs) = vs_cur(ctx) {
            vs.retry = Some(n);
        }
    }
    Ok(())
}

fn rs_retry(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(n) = read_retry(ctx, s)? {
        if let Some(rs) = rs_cur(ctx) {
            rs.retry = Some(n);
        }
    }
    Ok(())
}

fn vs_inhibit(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(vs) = vs_cur(ctx) {
        vs.inhibit = true;
    }
    Ok(())
}

fn lb_algo(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    if !SCHEDULERS.contains(&v) {
        ctx.err_at(
            s,
            1,
            format!("Invalid lvs_scheduler '{v}' - ignoring"),
            SCHEDULERS.join(" "),
        );
        return Ok(());
    }
    let v = v.to_string();
    if let Some(vs) = vs_cur(ctx) {
        vs.scheduler = Some(v);
    }
    Ok(())
}

fn lb_flags(ctx: &mut Ctx, s: &Stmt) -> Res {
    let f = s.key().to_string();
    let sched = vs_cur(ctx)
        .and_then(|v| v.scheduler.clone())
        .unwrap_or_default();
    let ok = match f.as_str() {
        "ops" | "flag-1" | "flag-2" | "flag-3" => true,
        "hashed" => false,
        "sh-port" | "sh-fallback" => sched == "sh" || sched == "mh",
        "mh-port" | "mh-fallback" => sched == "sh" || sched == "mh",
        _ => false,
    };
    let applies = match f.as_str() {
        "sh-port" | "sh-fallback" => sched == "sh",
        "mh-port" | "mh-fallback" => sched == "mh",
        _ => ok,
    };
    if !ok {
        ctx.err_at(
            s,
            0,
            format!("{f} only applies to sh scheduler - ignoring"),
            "set 'lb_algo sh' first",
        );
        return Ok(());
    }
    if applies {
        if let Some(vs) = vs_cur(ctx) {
            vs.flags.push(f);
        }
    }
    Ok(())
}

fn svr_forwarding(
    ctx: &mut Ctx,
    s: &Stmt,
    stype: &str,
    prev: Option<FwdMethod>,
) -> Result<Option<FwdMethod>, super::parser::Fatal> {
    let v = ctx.arg(s, 1)?;
    let base = match v {
        "NAT" => FwdMethod::Nat,
        "DR" => FwdMethod::Dr,
        "TUN" => FwdMethod::Tun {
            ty: TunType::Ipip,
            port: 0,
            csum: TunCsum::NoCsum,
        },
        _ => {
            ctx.err_at(
                s,
                1,
                format!("PARSER : unknown [{v}] routing method for {stype} server."),
                "NAT, DR or TUN (upper case)",
            );
            return Ok(prev);
        }
    };
    let (mut ty, mut port, mut csum) = (TunType::Ipip, 0u16, TunCsum::NoCsum);
    let mut i = 2;
    while i < s.len() {
        let w = s.get(i).unwrap_or("");
        match w {
            "type" => {
                let Some(t) = s.get(i + 1) else {
                    ctx.err(s, format!("Missing tunnel type for {stype} server."));
                    return Ok(Some(base));
                };
                ty = match t {
                    "ipip" => TunType::Ipip,
                    "gue" => TunType::Gue,
                    "gre" => TunType::Gre,
                    _ => {
                        ctx.err_at(
                            s,
                            i + 1,
                            format!("Unknown tunnel type {t} for {stype} server."),
                            "ipip, gue or gre",
                        );
                        return Ok(Some(base));
                    }
                };
                i += 1;
            }
            "port" => {
                let Some(p) = s.get(i + 1) else {
                    ctx.err(s, format!("Missing port for {stype} server gue tunnel."));
                    return Ok(Some(base));
                };
                match p.parse::<u16>() {
                    Ok(n) if n >= 1 => port = n,
                    _ => {
                        ctx.err_at(
                            s,
                            i + 1,
                            format!("Invalid gue tunnel port {p} for {stype} server."),
                            "a port in [1, 65535]",
                        );
                        return Ok(Some(base));
                    }
                }
                i += 1;
            }
            "nocsum" => csum = TunCsum::NoCsum,
            "csum" => csum = TunCsum::Csum,
            "remcsum" => csum = TunCsum::RemCsum,
            _ => {
                ctx.err_at(
                    s,
                    i,
                    format!("Invalid tunnel option {w} for {stype} server."),
                    "type, port, nocsum, csum or remcsum",
                );
                return Ok(Some(base));
            }
        }
        i += 1;
    }
    if (ty == TunType::Gue) != (port != 0) {
        ctx.err(s, "gue tunnels require port, otherwise cannot have port.");
        return Ok(Some(base));
    }
    if ty == TunType::Ipip && csum != TunCsum::NoCsum {
        ctx.err(s, "ipip tunnels do not support checksum option.");
        return Ok(Some(base));
    }
    if ty == TunType::Gre && csum == TunCsum::RemCsum {
        ctx.err(s, "gre tunnels do not support remote checksum option.");
        return Ok(Some(base));
    }
    Ok(Some(match base {
        FwdMethod::Tun { .. } => FwdMethod::Tun { ty, port, csum },
        m => m,
    }))
}

fn vs_forwarding(ctx: &mut Ctx, s: &Stmt) -> Res {
    let prev = vs_cur(ctx).and_then(|v| v.method);
    let m = svr_forwarding(ctx, s, "virtual", prev)?;
    if let Some(vs) = vs_cur(ctx) {
        vs.method = m;
    }
    Ok(())
}

fn rs_forwarding(ctx: &mut Ctx, s: &Stmt) -> Res {
    let prev = rs_cur(ctx).and_then(|r| r.method);
    let m = svr_forwarding(ctx, s, "real", prev)?;
    if let Some(rs) = rs_cur(ctx) {
        rs.method = m;
    }
    Ok(())
}

fn ss_forwarding(ctx: &mut Ctx, s: &Stmt) -> Res {
    let has = vs_cur(ctx).is_some_and(|v| v.sorry_server.is_some());
    if !has {
        ctx.err(s, "sorry_server forwarding used without sorry_server");
        return Ok(());
    }
    let prev = vs_cur(ctx).and_then(|v| v.sorry_server.as_ref().and_then(|r| r.method));
    let m = svr_forwarding(ctx, s, "sorry", prev)?;
    if let Some(ss) = vs_cur(ctx).and_then(|v| v.sorry_server.as_mut()) {
        ss.method = m;
    }
    Ok(())
}

/// keepalived's `LVS_MAX_TIMEOUT` (86400 * 31 seconds).
const LVS_MAX_TIMEOUT: u64 = 86400 * 31;

fn pto(ctx: &mut Ctx, s: &Stmt) -> Res {
    let t = match s.get(1) {
        None => Some(360),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=LVS_MAX_TIMEOUT).contains(&n) => Some(n as u32),
            _ => {
                ctx.err_at(
                    s,
                    1,
                    "persistence_timeout invalid",
                    format!("seconds in [1, {LVS_MAX_TIMEOUT}]"),
                );
                None
            }
        },
    };
    if let (Some(t), Some(vs)) = (t, vs_cur(ctx)) {
        vs.persistence_timeout = Some(t);
    }
    Ok(())
}

fn pengine(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if v.len() > 15 {
        ctx.err_at(
            s,
            1,
            format!("persistence_name too long, truncating - {v}"),
            "at most 15 characters",
        );
    }
    if let Some(vs) = vs_cur(ctx) {
        vs.persistence_engine = Some(v.chars().take(15).collect());
    }
    Ok(())
}

fn pgr(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let fam6 = vs_cur(ctx).and_then(|vs| vs.v6).unwrap_or(!v.contains('.'));
    let ok = if fam6 {
        matches!(v.parse::<u32>(), Ok(n) if (1..=128).contains(&n))
    } else {
        v.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if !ok {
        let fam = if fam6 { "IPv6" } else { "IPv4" };
        ctx.err_at(
            s,
            1,
            format!("Invalid {fam} persistence_granularity specified - {v}"),
            "a netmask (IPv4) or prefix length (IPv6)",
        );
        return Ok(());
    }
    if let Some(vs) = vs_cur(ctx) {
        vs.persistence_granularity = Some(v);
        if vs.v6.is_none() {
            vs.v6 = Some(fam6);
        }
        if vs.persistence_timeout.is_none() {
            vs.persistence_timeout = Some(360);
        }
    }
    Ok(())
}

fn proto(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    let p = match v.to_ascii_uppercase().as_str() {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Unknown protocol {v} - ignoring"),
                "TCP, UDP or SCTP",
            );
            return Ok(());
        }
    };
    if let Some(vs) = vs_cur(ctx) {
        vs.protocol = Some(p);
    }
    Ok(())
}

fn ha_suspend(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(vs) = vs_cur(ctx) {
        vs.ha_suspend = true;
    }
    Ok(())
}

fn bool_arg(ctx: &mut Ctx, s: &Stmt, msg: &str) -> Option<bool> {
    ctx.read_bool_with(s, 1, |v| format!("{msg} {v}"))
}

fn vs_smtp_alert(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_arg(ctx, s, "Invalid virtual_server smtp_alert parameter") {
        if let Some(vs) = vs_cur(ctx) {
            vs.smtp_alert = Some(b);
        }
    }
    Ok(())
}

fn vs_virtualhost(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(v) = s.get(1) else {
        ctx.err(s, "virtual server virtualhost missing");
        return Ok(());
    };
    let v = v.to_string();
    if let Some(vs) = vs_cur(ctx) {
        vs.virtualhost = Some(v);
    }
    Ok(())
}

fn vs_snmp_name(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() != 2 {
        ctx.err(s, "virtual server snmp_name missing or extra parameters");
        return Ok(());
    }
    let v = s.get(1).unwrap_or("").to_string();
    if let Some(vs) = vs_cur(ctx) {
        vs.snmp_name = Some(v);
    }
    Ok(())
}

fn vs_alpha(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(vs) = vs_cur(ctx) {
        vs.alpha = true;
    }
    Ok(())
}

fn omega(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(vs) = vs_cur(ctx) {
        vs.omega = true;
    }
    Ok(())
}

fn vs_name(vs: &VirtualServer) -> String {
    match &vs.addr {
        VsAddr::Group(g, _) => g.clone(),
        _ => "(null)".into(),
    }
}

fn quorum_script(ctx: &mut Ctx, s: &Stmt, up: bool) -> Res {
    let (name, dup, owner) = match vs_cur(ctx) {
        Some(vs) => (
            vs_name(vs),
            if up {
                vs.quorum_up.is_some()
            } else {
                vs.quorum_down.is_some()
            },
            vs.fmt(),
        ),
        None => return Ok(()),
    };
    if dup {
        let which = if up { "quorum_up" } else { "quorum_down" };
        let arg = s.get(1).unwrap_or("");
        ctx.err(
            s,
            format!("({name}) {which} script already specified - ignoring {arg}"),
        );
        return Ok(());
    }
    let sc = script::parse(ctx, s, 1, ScriptKind::CheckerNotify, &owner)?;
    if let Some(vs) = vs_cur(ctx) {
        if up {
            vs.quorum_up = Some(sc);
        } else {
            vs.quorum_down = Some(sc);
        }
    }
    Ok(())
}

fn quorum_up(ctx: &mut Ctx, s: &Stmt) -> Res {
    quorum_script(ctx, s, true)
}

fn quorum_down(ctx: &mut Ctx, s: &Stmt) -> Res {
    quorum_script(ctx, s, false)
}

fn quorum(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    let q = match v.parse::<u32>() {
        Ok(n) if n >= 1 => n,
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Quorum {v} must be in [1, {}]. Setting to 1.", u32::MAX),
                "a number >= 1",
            );
            1
        }
    };
    if let Some(vs) = vs_cur(ctx) {
        vs.quorum = q;
    }
    Ok(())
}

fn hysteresis(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(n) => {
            if let Some(vs) = vs_cur(ctx) {
                vs.hysteresis = n;
            }
        }
        Err(_) => ctx.err_at(
            s,
            1,
            format!("Hysteresis {v} must be in [0, {}] - ignoring", u32::MAX),
            "a number >= 0",
        ),
    }
    Ok(())
}

/// keepalived's `IPVS_WEIGHT_LIMIT`.
const IPVS_WEIGHT_LIMIT: u32 = 65535;

fn vs_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(n) if (1..=IPVS_WEIGHT_LIMIT).contains(&n) => {
            if let Some(vs) = vs_cur(ctx) {
                vs.weight = n;
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("Virtual server weight {v} is outside range 1-{IPVS_WEIGHT_LIMIT}"),
            "a weight in [1, 65535]",
        ),
    }
    Ok(())
}

// ===== sorry / real servers =====

fn ssvr(ctx: &mut Ctx, s: &Stmt) -> Res {
    let a = ctx.arg(s, 1)?.to_string();
    let port = match s.get(2) {
        None => Some(0),
        Some(p) => parse_port(p),
    };
    match (parse_ip(&a), port) {
        (Some(ip), Some(port)) => {
            if let Some(vs) = vs_cur(ctx) {
                vs.sorry_server = Some(RealServer::new(ip, port));
            }
        }
        _ => {
            let shown = match s.get(2) {
                Some(p) => format!("{a} {p}"),
                None => a.clone(),
            };
            ctx.err_at(
                s,
                1,
                format!("Invalid sorry server IP address {shown} - skipping"),
                "IP [PORT]",
            );
        }
    }
    Ok(())
}

fn ssvri(ctx: &mut Ctx, s: &Stmt) -> Res {
    match vs_cur(ctx).and_then(|v| v.sorry_server.as_mut()) {
        Some(ss) => ss.inhibit = Some(true),
        None => ctx.err(
            s,
            "Ignoring sorry_server inhibit used before or without sorry_server",
        ),
    }
    Ok(())
}

fn rs(ctx: &mut Ctx, s: &Stmt) -> Res {
    let a = ctx.arg(s, 1)?.to_string();
    let port = match s.get(2) {
        None => Some(0),
        Some(p) => parse_port(p),
    };
    match (parse_ip(&a), port) {
        (Some(ip), Some(port)) if vs_cur(ctx).is_some() => {
            if let Some(vs) = vs_cur(ctx) {
                // alloc_rs starts from the virtual server's forwarding method.
                let mut r = RealServer::new(ip, port);
                r.method = vs.method;
                vs.real_servers.push(r);
            }
        }
        _ => {
            let p = s.get(2).unwrap_or("(null)");
            ctx.err_at(
                s,
                1,
                format!("Invalid real server ip address/port {a}/{p} - skipping"),
                "IP [PORT]",
            );
            ctx.skip_block(true);
        }
    }
    Ok(())
}

fn rs_end(ctx: &mut Ctx) -> Res {
    let Some(vs) = vs_cur(ctx) else { return Ok(()) };
    let Some(rs) = vs.real_servers.last() else {
        return Ok(());
    };
    if matches!(rs.method, Some(FwdMethod::Tun { .. })) {
        return Ok(());
    }
    let fam = rs.ip.is_ipv6();
    match vs.v6 {
        None => vs.v6 = Some(fam),
        Some(f) if f != fam => {
            let ip = rs.ip;
            vs.real_servers.pop();
            ctx.err_global(
                Level::Error,
                format!("Address family of virtual server and real server {ip} don't match - skipping real server."),
            );
        }
        _ => {}
    }
    Ok(())
}

fn rs_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(n) if n <= IPVS_WEIGHT_LIMIT => {
            if let Some(rs) = rs_cur(ctx) {
                rs.weight = Some(n);
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("Real server weight {v} is outside range 0-{IPVS_WEIGHT_LIMIT}"),
            "a weight in [0, 65535]",
        ),
    }
    Ok(())
}

fn threshold(ctx: &mut Ctx, s: &Stmt, upper: bool) -> Res {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(n) => {
            if let Some(rs) = rs_cur(ctx) {
                if upper {
                    rs.uthreshold = n;
                } else {
                    rs.lthreshold = n;
                }
            }
        }
        Err(_) => {
            let w = if upper { "uthreshold" } else { "lthreshold" };
            ctx.err_at(
                s,
                1,
                format!("Invalid real_server {w} '{v}' - ignoring"),
                "a non-negative number",
            );
        }
    }
    Ok(())
}

fn uthreshold(ctx: &mut Ctx, s: &Stmt) -> Res {
    threshold(ctx, s, true)
}

fn lthreshold(ctx: &mut Ctx, s: &Stmt) -> Res {
    threshold(ctx, s, false)
}

fn rs_inhibit(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_arg(ctx, s, "Invalid inhibit_on_failure parameter") {
        if let Some(rs) = rs_cur(ctx) {
            rs.inhibit = Some(b);
        }
    }
    Ok(())
}

fn rs_alpha(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_arg(ctx, s, "Invalid alpha parameter") {
        if let Some(rs) = rs_cur(ctx) {
            rs.alpha = Some(b);
        }
    }
    Ok(())
}

fn rs_smtp_alert(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_arg(ctx, s, "Invalid real_server smtp_alert parameter") {
        if let Some(rs) = rs_cur(ctx) {
            rs.smtp_alert = Some(b);
        }
    }
    Ok(())
}

fn rs_virtualhost(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(v) = s.get(1) else {
        ctx.err(s, "real server virtualhost missing");
        return Ok(());
    };
    let v = v.to_string();
    if let Some(rs) = rs_cur(ctx) {
        rs.virtualhost = Some(v);
    }
    Ok(())
}

fn rs_snmp_name(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() != 2 {
        ctx.err(s, "real server snmp_name missing or extra parameters");
        return Ok(());
    }
    let v = s.get(1).unwrap_or("").to_string();
    if let Some(rs) = rs_cur(ctx) {
        rs.snmp_name = Some(v);
    }
    Ok(())
}

fn notify(ctx: &mut Ctx, s: &Stmt, up: bool) -> Res {
    let Some(vs) = ctx.cfg.lvs.virtual_servers.last() else {
        return Ok(());
    };
    let name = vs_name(vs);
    let Some(rs) = vs.real_servers.last() else {
        return Ok(());
    };
    let owner = rs.fmt(vs);
    let dup = if up {
        rs.notify_up.is_some()
    } else {
        rs.notify_down.is_some()
    };
    if dup {
        let which = if up { "notify_up" } else { "notify_down" };
        let arg = s.get(1).unwrap_or("");
        ctx.err(
            s,
            format!("({name}) {which} script already specified - ignoring {arg}"),
        );
        return Ok(());
    }
    let sc = script::parse(ctx, s, 1, ScriptKind::CheckerNotify, &owner)?;
    if let Some(rs) = rs_cur(ctx) {
        if up {
            rs.notify_up = Some(Box::new(sc));
        } else {
            rs.notify_down = Some(Box::new(sc));
        }
    }
    Ok(())
}

fn notify_up(ctx: &mut Ctx, s: &Stmt) -> Res {
    notify(ctx, s, true)
}

fn notify_down(ctx: &mut Ctx, s: &Stmt) -> Res {
    notify(ctx, s, false)
}

static RS_OWN: [Keyword; 18] = [
    kw("weight", rs_weight),
    kw("lvs_method", rs_forwarding),
    kw("uthreshold", uthreshold),
    kw("lthreshold", lthreshold),
    kw("inhibit_on_failure", rs_inhibit),
    kw("notify_up", notify_up),
    kw("notify_down", notify_down),
    kw("alpha", rs_alpha),
    kw("retry", rs_retry),
    kw("delay_before_retry", rs_dbr),
    kw("warmup", rs_warmup),
    kw("connect_timeout", rs_co_timeout),
    kw("delay_loop", rs_delay),
    kw("smtp_alert", rs_smtp_alert),
    kw("virtualhost", rs_virtualhost),
    kw("snmp_name", rs_snmp_name),
    kw("", super::parser::ignore),
    kw("", super::parser::ignore),
];

const fn rs_table() -> [Keyword; 26] {
    let mut out = [kw("", super::parser::ignore); 26];
    let mut i = 0;
    while i < 16 {
        out[i] = RS_OWN[i];
        i += 1;
    }
    let mut j = 0;
    while j < 10 {
        out[16 + j] = CHECKERS[j];
        j += 1;
    }
    out
}

static REAL_SERVER: [Keyword; 26] = rs_table();

static VIRTUAL_SERVER: &[Keyword] = &[
    kw("ip_family", ip_family),
    kw("retry", vs_retry),
    kw("delay_before_retry", vs_dbr),
    kw("warmup", vs_warmup),
    kw("connect_timeout", vs_co_timeout),
    kw("delay_loop", vs_delay),
    kw("inhibit_on_failure", vs_inhibit),
    kw("lb_algo", lb_algo),
    kw("lvs_sched", lb_algo),
    kw("hashed", lb_flags),
    kw("ops", lb_flags),
    kw("flag-1", lb_flags),
    kw("flag-2", lb_flags),
    kw("flag-3", lb_flags),
    kw("sh-port", lb_flags),
    kw("sh-fallback", lb_flags),
    kw("mh-port", lb_flags),
    kw("mh-fallback", lb_flags),
    kw("lb_kind", vs_forwarding),
    kw("lvs_method", vs_forwarding),
    kw("persistence_engine", pengine),
    kw("persistence_timeout", pto),
    kw("persistence_granularity", pgr),
    kw("protocol", proto),
    kw("ha_suspend", ha_suspend),
    kw("smtp_alert", vs_smtp_alert),
    kw("virtualhost", vs_virtualhost),
    kw("snmp_name", vs_snmp_name),
    kw("alpha", vs_alpha),
    kw("omega", omega),
    kw("quorum_up", quorum_up),
    kw("quorum_down", quorum_down),
    kw("quorum", quorum),
    kw("hysteresis", hysteresis),
    kw("weight", vs_weight),
    kw("sorry_server", ssvr),
    kw("sorry_server_inhibit", ssvri),
    kw("sorry_server_lvs_method", ss_forwarding),
    block("real_server", Some(rs), &REAL_SERVER, Some(rs_end)),
];

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[
    block("SSL", Some(ssl), SSL, None),
    kw("virtual_server_group", vsg),
    block("virtual_server", Some(vs), VIRTUAL_SERVER, Some(vs_end)),
];

// ===== post-parse validation (validate_check_config) =====

fn same_server(a: &RealServer, b: &RealServer) -> bool {
    a.ip == b.ip && a.port == b.port
}

/// keepalived 2.2.7's `validate_check_config`.
pub fn validate(ctx: &mut Ctx) {
    let mut msgs: Vec<String> = Vec::new();
    let groups = ctx.cfg.lvs.groups.clone();
    for vs in ctx.cfg.lvs.virtual_servers.iter_mut() {
        // Checkers whose close handler rejected them are gone.
        for rs in vs.real_servers.iter_mut() {
            rs.checkers.retain(|c| c.valid);
        }
        if vs.real_servers.is_empty() {
            msgs.push(format!(
                "Virtual server {} has no real servers - ignoring",
                vs.fmt()
            ));
            vs.dropped = true;
            continue;
        }
        let grp = match &vs.addr {
            VsAddr::Group(g, _) => Some(
                groups
                    .iter()
                    .find(|x| &x.name == g)
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => None,
        };
        let is_fwmark = matches!(vs.addr, VsAddr::Fwmark(_));
        let g_ranges = grp.as_ref().is_some_and(|g| g.has_ranges());
        let g_fwmarks = grp.as_ref().is_some_and(|g| g.has_fwmarks());
        if vs.ha_suspend && (is_fwmark || g_fwmarks) {
            msgs.push(format!(
                "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
                vs.fmt()
            ));
            vs.ha_suspend = false;
        }
        if g_ranges || (grp.is_none() && !is_fwmark) {
            if vs.protocol.is_none() {
                msgs.push(format!(
                    "Virtual server {}: no protocol set - defaulting to UDP",
                    vs.fmt()
                ));
                vs.protocol = Some(Protocol::Udp);
            }
            if vs.flags.iter().any(|f| f == "ops") && vs.protocol != Some(Protocol::Udp) {
                msgs.push(format!(
                    "Virtual server {}: one packet scheduling requires UDP - resetting",
                    vs.fmt()
                ));
                vs.flags.retain(|f| f != "ops");
            }
            if vs.persistence_timeout.is_none()
                && grp.is_none()
                && matches!(vs.addr, VsAddr::Addr(_, 0))
            {
                msgs.push(format!(
                    "Virtual server {}: zero port only valid for persistent services - setting",
                    vs.fmt()
                ));
                vs.persistence_timeout = Some(360);
            }
        }
        if vs.persistence_timeout.is_none() {
            if let Some(g) = &grp {
                if g.entries
                    .iter()
                    .any(|e| matches!(e, VsgEntry::Range { port: 0, .. }))
                {
                    msgs.push(format!(
                        "Virtual server {}: zero port only valid for persistent services - setting",
                        vs.fmt()
                    ));
                    vs.persistence_timeout = Some(360);
                }
            }
        }
        if vs.protocol.is_some()
            && ((grp.is_some() && !g_ranges && g_fwmarks) || (grp.is_none() && is_fwmark))
        {
            msgs.push(format!("Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored", vs.fmt()));
            vs.protocol = None;
        }
        if vs.scheduler.is_none() {
            msgs.push(format!(
                "Virtual server {}: no scheduler set, setting default 'wlc'",
                vs.fmt()
            ));
            vs.scheduler = Some("wlc".into());
        }
        // Real servers: duplicates, defaults, weight sum, sorry server match.
        let mut weight_sum: u64 = 0;
        let mut kept: Vec<RealServer> = Vec::new();
        let rss = std::mem::take(&mut vs.real_servers);
        for mut rs in rss {
            if kept.iter().any(|k| same_server(k, &rs)) {
                msgs.push(format!(
                    "VS {}: real server {} is duplicated - removing second rs",
                    vs.fmt(),
                    rs.fmt(vs)
                ));
                continue;
            }
            if rs.method.is_none() {
                if vs.method.is_none() {
                    msgs.push(format!(
                        "Virtual server {}: no forwarding method set, setting default NAT",
                        vs.fmt()
                    ));
                    vs.method = Some(FwdMethod::Nat);
                }
                rs.method = vs.method;
            }
            if rs.inhibit.is_none() {
                rs.inhibit = Some(vs.inhibit);
            }
            if rs.alpha.is_none() {
                rs.alpha = Some(vs.alpha);
            }
            let w = *rs.weight.get_or_insert(vs.weight);
            weight_sum += w as u64;
            let (vsf, rsf) = (vs.fmt(), rs.fmt(vs));
            if let Some(ss) = vs.sorry_server.as_mut() {
                if same_server(ss, &rs)
                    && ss.inhibit.unwrap_or(false) != rs.inhibit.unwrap_or(false)
                {
                    let set = rs.inhibit.unwrap_or(false);
                    msgs.push(format!(
                        "Virtual server {vsf}: real server {rsf} matches sorry server, but inhibit setting differs, {}ing on sorry server",
                        if set { "sett" } else { "clear" }
                    ));
                    ss.inhibit = Some(set);
                }
            }
            kept.push(rs);
        }
        vs.real_servers = kept;
        if vs.sorry_server.as_ref().is_some_and(|s| s.method.is_none()) {
            if vs.method.is_none() {
                msgs.push(format!(
                    "Virtual server {}: no forwarding method set, setting default NAT",
                    vs.fmt()
                ));
                vs.method = Some(FwdMethod::Nat);
            }
            let m = vs.method;
            if let Some(ss) = vs.sorry_server.as_mut() {
                ss.method = m;
            }
        }
        if vs.quorum as u64 > weight_sum {
            msgs.push(format!(
                "Warning - quorum {} for {} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}",
                vs.quorum,
                vs.fmt()
            ));
            vs.quorum = weight_sum as u32;
        }
        if vs.hysteresis >= vs.quorum {
            let h = vs.quorum.wrapping_sub(1);
            msgs.push(format!(
                "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {}",
                vs.fmt(),
                vs.hysteresis,
                vs.quorum,
                h
            ));
            vs.hysteresis = h;
        }
        // Ports of real / sorry servers.
        let nat = |m: Option<FwdMethod>| matches!(m, Some(FwdMethod::Nat));
        if let Some(g) = &grp {
            if g.has_fwmarks() {
                for rs in &vs.real_servers {
                    if !nat(rs.method) && rs.port != 0 {
                        msgs.push(format!(
                            "WARNING - fwmark virtual server {}, real server {} has port specified - port will be ignored",
                            vs.fmt(),
                            rs.fmt(vs)
                        ));
                    }
                }
                if vs
                    .sorry_server
                    .as_ref()
                    .is_some_and(|s| !nat(s.method) && s.port != 0)
                {
                    msgs.push(format!("WARNING - fwmark virtual server {}, sorry server has port specified - port will be ignored", vs.fmt()));
                }
            }
            for e in &g.entries {
                let VsgEntry::Range { start, end, port } = e else {
                    continue;
                };
                let ge = if start == end {
                    format!("{start},{port}")
                } else {
                    format!("{start}-{end},{port}")
                };
                for rs in &vs.real_servers {
                    if !nat(rs.method) && rs.port != 0 && rs.port != *port {
                        msgs.push(format!(
                            "virtual server {}:[{ge}] and real server {} ports don't match",
                            vs.fmt(),
                            rs.fmt(vs)
                        ));
                    }
                }
                if vs
                    .sorry_server
                    .as_ref()
                    .is_some_and(|s| !nat(s.method) && s.port != 0 && s.port != *port)
                {
                    msgs.push(format!("WARNING - virtual server {}, sorry server has port specified - port will be ignored", vs.fmt()));
                }
            }
        } else {
            let vport = match vs.addr {
                VsAddr::Addr(_, p) => p,
                _ => 0,
            };
            let vsf = vs.fmt();
            let proto = vs.protocol;
            for rs in vs.real_servers.iter_mut() {
                let rsf = format!("[{}]:{}:{}", rs.ip, Protocol::name(proto), rs.port);
                if nat(rs.method) {
                    if !is_fwmark && rs.port == 0 {
                        rs.port = vport;
                    }
                    continue;
                }
                if is_fwmark {
                    if rs.port != 0 {
                        msgs.push(format!("WARNING - fwmark virtual server {vsf}, real server {rsf} has port specified - clearing"));
                        rs.port = 0;
                    }
                } else if rs.port == 0 {
                    rs.port = vport;
                } else if rs.port != vport {
                    msgs.push(format!("WARNING - virtual server {vsf} and real server {rsf} ports don't match - resetting"));
                    rs.port = vport;
                }
            }
            if let Some(ss) = vs.sorry_server.as_mut() {
                if !nat(ss.method) {
                    if is_fwmark {
                        if ss.port != 0 {
                            msgs.push(format!("WARNING - virtual server {vsf}, sorry server has port specified - clearing"));
                            ss.port = 0;
                        }
                    } else if ss.port == 0 {
                        ss.port = vport;
                    } else if ss.port != vport {
                        msgs.push(format!("WARNING - virtual server {vsf} and sorry server ports don't match - resetting"));
                        ss.port = vport;
                    }
                }
            }
        }
    }
    ctx.cfg.lvs.virtual_servers.retain(|v| !v.dropped);
    for m in msgs {
        ctx.err_global(Level::Error, m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    fn load(text: &str) -> (crate::config::Config, Vec<String>) {
        let l = load_str("t.conf", text, ReaderOptions::default());
        let m = l.report.diags.iter().map(|d| d.message.clone()).collect();
        (l.config, m)
    }

    const FULL: &str = "protocol TCP\nlb_algo rr\nlb_kind NAT\n";

    #[test]
    fn vs_without_real_servers_is_dropped() {
        let (c, m) = load(&format!("virtual_server 10.0.0.1 80 {{\n{FULL}}}\n"));
        assert_eq!(
            m,
            vec!["Virtual server [10.0.0.1]:tcp:80 has no real servers - ignoring"]
        );
        assert!(c.lvs.virtual_servers.is_empty());
    }

    #[test]
    fn defaults_protocol_scheduler_method() {
        let (c, m) = load("virtual_server 10.0.0.1 80 {\nreal_server 10.0.1.1 80 {\n}\n}\n");
        assert_eq!(
            m,
            vec![
                "Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP",
                "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
                "Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT",
            ]
        );
        let vs = &c.lvs.virtual_servers[0];
        assert_eq!(vs.protocol, Some(Protocol::Udp));
        assert_eq!(vs.real_servers[0].method, Some(FwdMethod::Nat));
    }

    #[test]
    fn complete_vs_is_clean() {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n{FULL}delay_loop 6\npersistence_timeout\nreal_server 10.0.1.1 80 {{\nweight 3\nTCP_CHECK {{\nconnect_timeout 3\nconnect_port 80\n}}\n}}\n}}\n"
        );
        let (c, m) = load(&text);
        assert!(m.is_empty(), "{m:?}");
        let vs = &c.lvs.virtual_servers[0];
        assert_eq!(vs.delay_loop, Some(Micros(6_000_000)));
        assert_eq!(vs.persistence_timeout, Some(360));
        assert_eq!(vs.real_servers[0].weight, Some(3));
        assert_eq!(vs.real_servers[0].checkers[0].conn.connect_port, Some(80));
    }

    #[test]
    fn quorum_exceeds_total_weight() {
        let (c, m) = load(&format!(
            "virtual_server 10.0.0.1 80 {{\n{FULL}quorum 2\nreal_server 10.0.1.1 80 {{\n}}\n}}\n"
        ));
        assert_eq!(
            m,
            vec!["Warning - quorum 2 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 1, reducing quorum to 1"]
        );
        assert_eq!(c.lvs.virtual_servers[0].quorum, 1);
    }

    #[test]
    fn dr_ports_dont_match_resetting() {
        let (c, m) =
            load("virtual_server 10.0.0.1 80 {\nprotocol TCP\nlb_algo rr\nlb_kind DR\nreal_server 10.0.1.1 8080 {\n}\n}\n");
        assert_eq!(
            m,
            vec!["WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.1.1]:tcp:8080 ports don't match - resetting"]
        );
        assert_eq!(c.lvs.virtual_servers[0].real_servers[0].port, 80);
    }

    #[test]
    fn fwmark_protocol_ignored() {
        let (_, m) = load(&format!(
            "virtual_server fwmark 7 {{\n{FULL}real_server 10.0.1.1 {{\n}}\n}}\n"
        ));
        assert_eq!(m, vec!["Warning: Virtual server FWM 7: protocol specified for fwmark - protocol will be ignored"]);
    }

    #[test]
    fn lb_kind_is_case_sensitive_protocol_is_not() {
        let (_, m) = load(
            "virtual_server 10.0.0.1 80 {\nprotocol tcp\nlb_algo RR\nlb_kind dr\nreal_server 10.0.1.1 80 {\n}\n}\n",
        );
        assert!(m.contains(&"PARSER : unknown [dr] routing method for virtual server.".to_string()));
        assert!(m.contains(&"Invalid lvs_scheduler 'RR' - ignoring".to_string()));
        assert!(!m.iter().any(|x| x.contains("protocol")));
    }

    #[test]
    fn invalid_vs_address_skips_block() {
        let (c, m) =
            load("virtual_server 1.2.3 443 {\nprotocol TCP\nreal_server 10.0.1.1 80 {\n}\n}\n");
        assert_eq!(
            m,
            vec!["Invalid virtual server IP address/port 1.2.3/443 - skipping"]
        );
        assert!(c.lvs.virtual_servers.is_empty());
    }

    #[test]
    fn checker_close_checks() {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n{FULL}real_server 10.0.1.1 80 {{\nHTTP_GET {{\n}}\nMISC_CHECK {{\n}}\nFILE_CHECK {{\n}}\n}}\n}}\n"
        );
        let (c, m) = load(&text);
        assert_eq!(
            m,
            vec![
                "HTTP/SSL_GET checker has no urls specified - ignoring",
                "No script path has been specified for MISC_CHECKER - skipping",
                "FILE_CHECK has no track_file specified - ignoring",
            ]
        );
        assert!(c.lvs.virtual_servers[0].real_servers[0].checkers.is_empty());
    }

    #[test]
    fn http_get_urls_and_nb_get_retry() {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n{FULL}real_server 10.0.1.1 80 {{\nHTTP_GET {{\nurl {{\npath /\ndigest 9b3a0c85a887a256d6939da88aabd8cd\nstatus_code 200 300-302\n}}\nnb_get_retry 3\n}}\n}}\n}}\n"
        );
        let (c, m) = load(&text);
        assert_eq!(m, vec!["nb_get_retry is deprecated - please use 'retry'"]);
        let ch = &c.lvs.virtual_servers[0].real_servers[0].checkers[0];
        assert_eq!(ch.common.retry, Some(3));
        let super::super::check::CheckerKind::Http(h) = &ch.kind else {
            panic!()
        };
        assert_eq!(h.urls[0].status_codes, vec![(200, 200), (300, 302)]);
    }

    #[test]
    fn tcp_check_rejects_nb_get_retry() {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n{FULL}real_server 10.0.1.1 80 {{\nTCP_CHECK {{\nnb_get_retry 3\n}}\n}}\n}}\n"
        );
        let (_, m) = load(&text);
        assert_eq!(m, vec!["Unknown keyword 'nb_get_retry'"]);
    }

    #[test]
    fn scripts_are_reachable() {
        let text = format!(
            "global_defs {{\nenable_script_security\nscript_user root\n}}\nvirtual_server 10.0.0.1 80 {{\n{FULL}quorum_up \"/bin/true up\"\nreal_server 10.0.1.1 80 {{\nnotify_down /bin/false\nMISC_CHECK {{\nmisc_path \"/bin/check a\"\n}}\n}}\n}}\n"
        );
        let (c, m) = load(&text);
        assert!(m.is_empty(), "{m:?}");
        let s: Vec<&str> = c.lvs.scripts().iter().map(|s| s.cmd.as_str()).collect();
        assert_eq!(s, vec!["/bin/true up", "/bin/false", "/bin/check a"]);
    }

    #[test]
    fn vsg_entries_and_port_mismatch() {
        let text = "virtual_server_group G {\n10.0.0.1 80\n10.0.0.5-9 80\nfwmark 3\n}\nvirtual_server group G {\nprotocol TCP\nlb_algo rr\nlb_kind DR\nreal_server 10.0.1.1 81 {\n}\n}\n";
        let (c, m) = load(text);
        assert_eq!(c.lvs.groups[0].entries.len(), 3);
        assert!(m.contains(
            &"virtual server [G]:0:[10.0.0.1,80] and real server [10.0.1.1]:tcp:81 ports don't match".to_string()
        ));
        assert!(m.contains(
            &"WARNING - fwmark virtual server [G]:0, real server [10.0.1.1]:tcp:81 has port specified - port will be ignored"
                .to_string()
        ));
    }

    #[test]
    fn ssl_block() {
        let (c, m) = load(
            "SSL {\npassword secret\nca /etc/ca.pem\ncertificate /etc/c.pem\nkey /etc/k.pem\n}\n",
        );
        assert!(m.is_empty(), "{m:?}");
        assert_eq!(c.lvs.ssl.unwrap().key.as_deref(), Some("/etc/k.pem"));
    }

    #[test]
    fn bfd_instance_without_neighbor() {
        let (c, m) =
            load("bfd_instance b1 {\nmin_rx 20\n}\nbfd_instance b2 {\nneighbor_ip 10.1.1.1\n}\n");
        assert_eq!(m, vec!["Configuration error: BFD instance b1 has no neighbor address set, disabling instance"]);
        assert_eq!(c.bfd.len(), 1);
        assert_eq!(c.bfd[0].name, "b2");
    }
}

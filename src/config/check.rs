//! Health checker blocks inside `real_server`: `TCP_CHECK`, `HTTP_GET`,
//! `SSL_GET` (with `url` blocks), `SMTP_CHECK` (with its deprecated `host`
//! blocks), `MISC_CHECK`, `DNS_CHECK`, `UDP_CHECK`, `PING_CHECK`,
//! `FILE_CHECK` and `BFD_CHECK`, with keepalived 2.2.7's keywords and
//! messages.

use std::net::IpAddr;

use super::lvs::{parse_ip, Micros};
use super::parser::{block, kw, Ctx, Keyword, Res, Stmt};
use super::script::{self, Script, ScriptKind};

/// Connection options shared by the network checkers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnOpts {
    /// `connect_ip` (default: the real server's address).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port` (default: the real server's port).
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bindto: Option<IpAddr>,
    /// `bind_port`.
    pub bind_port: Option<u16>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `connect_timeout` (default from the real/virtual server, 5 s).
    pub connect_timeout: Option<Micros>,
    /// `fwmark` (SO_MARK).
    pub fwmark: Option<u32>,
}

/// Options every checker has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckerCommon {
    /// `retry` (`nb_get_retry` for HTTP/SSL).
    pub retry: Option<u32>,
    /// `delay_before_retry`.
    pub delay_before_retry: Option<Micros>,
    /// `warmup`.
    pub warmup: Option<Micros>,
    /// `delay_loop`.
    pub delay_loop: Option<Micros>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `log_all_failures`.
    pub log_all_failures: Option<bool>,
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpProtocol {
    /// `1.0` (default).
    #[default]
    Http10,
    /// `1.0C`: 1.0 with `Connection: close`.
    Http10C,
    /// `1.1`.
    Http11,
}

/// One `url { }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Url {
    /// `path` (required).
    pub path: Option<String>,
    /// `digest`: lower-case hex MD5.
    pub digest: Option<String>,
    /// `status_code` ranges (default 200-299).
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `regex`: the PCRE2 pattern's bytes (escapes decoded as keepalived
    /// does, so it need not be UTF-8).
    pub regex: Option<Vec<u8>>,
    /// `regex_no_match`.
    pub regex_no_match: bool,
    /// `regex_options`: the option names keepalived knows, as given.
    pub regex_options: Vec<String>,
    /// `regex_min_offset` (0: from the start).
    pub regex_min_offset: u64,
    /// `regex_max_offset`: the last offset a match may start at.
    pub regex_max_offset: Option<u64>,
    /// `regex_stack START MAX` (PCRE2's JIT stack; no effect here).
    pub regex_stack: Option<(u64, u64)>,
}

/// HTTP_GET / SSL_GET settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpCheck {
    /// Whether this is `SSL_GET`.
    pub ssl: bool,
    /// `url` blocks.
    pub urls: Vec<Url>,
    /// `http_protocol`.
    pub protocol: HttpProtocol,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `fast_recovery`.
    pub fast_recovery: bool,
    /// `enable_sni` (SSL_GET).
    pub enable_sni: bool,
}

/// DNS_CHECK query type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DnsType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (default).
    #[default]
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
    /// RRSIG.
    Rrsig,
    /// DNSKEY.
    Dnskey,
}

/// The checker-specific part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckerKind {
    /// `TCP_CHECK`.
    Tcp,
    /// `HTTP_GET` / `SSL_GET`.
    Http(HttpCheck),
    /// `SMTP_CHECK`.
    Smtp {
        /// `helo_name`.
        helo_name: Option<String>,
        /// Deprecated `host { }` blocks: each becomes another checker.
        hosts: Vec<ConnOpts>,
    },
    /// `MISC_CHECK`.
    Misc {
        /// `misc_path`.
        path: Option<Script>,
        /// `misc_timeout`.
        timeout: Option<Micros>,
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// `DNS_CHECK`.
    Dns {
        /// `type`.
        qtype: DnsType,
        /// `name` (default `.`).
        name: Option<String>,
    },
    /// `UDP_CHECK`.
    Udp {
        /// `payload` bytes.
        payload: Option<Vec<u8>>,
        /// `require_reply [HEX]`.
        require_reply: Option<Vec<u8>>,
        /// `min_reply_length`.
        min_reply_length: u32,
        /// `max_reply_length`.
        max_reply_length: Option<u32>,
    },
    /// `PING_CHECK`.
    Ping,
    /// `FILE_CHECK`.
    File {
        /// `track_file`.
        track_file: Option<String>,
        /// `weight N [reverse]`.
        weight: Option<(i32, bool)>,
    },
    /// `BFD_CHECK`.
    Bfd {
        /// `name`.
        name: Option<String>,
    },
}

/// One checker of a real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    /// What it checks.
    pub kind: CheckerKind,
    /// Common options.
    pub common: CheckerCommon,
    /// Connection options (network checkers).
    pub conn: ConnOpts,
    /// Whether the close handler kept it.
    pub valid: bool,
}

impl Checker {
    fn new(kind: CheckerKind) -> Checker {
        Checker {
            kind,
            common: CheckerCommon::default(),
            conn: ConnOpts::default(),
            valid: true,
        }
    }
}

// ===== access to the checker being parsed =====

fn cur(ctx: &mut Ctx) -> Option<&mut Checker> {
    ctx.cfg
        .lvs
        .virtual_servers
        .last_mut()?
        .real_servers
        .last_mut()?
        .checkers
        .last_mut()
}

fn push(ctx: &mut Ctx, kind: CheckerKind) {
    if let Some(rs) = ctx
        .cfg
        .lvs
        .virtual_servers
        .last_mut()
        .and_then(|v| v.real_servers.last_mut())
    {
        // Most real servers have one checker: no room for four.
        rs.checkers.reserve_exact(1);
        rs.checkers.push(Checker::new(kind));
    }
}

fn owner(ctx: &Ctx) -> String {
    ctx.cfg
        .lvs
        .virtual_servers
        .last()
        .and_then(|v| v.real_servers.last().map(|r| r.fmt(v)))
        .unwrap_or_default()
}

fn conn(ctx: &mut Ctx) -> Option<&mut ConnOpts> {
    let c = cur(ctx)?;
    if let CheckerKind::Smtp { hosts, .. } = &mut c.kind {
        if HOST_OPEN.with(|h| h.get()) {
            return hosts.last_mut();
        }
    }
    Some(&mut c.conn)
}

thread_local! {
    static HOST_OPEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

// ===== common keywords =====

fn co_ip(ctx: &mut Ctx, s: &Stmt) -> Res {
    co_addr(ctx, s, false)
}

fn co_srcip(ctx: &mut Ctx, s: &Stmt) -> Res {
    co_addr(ctx, s, true)
}

/// `connect_ip` / `bindto`: an address whose family must match the other one's.
fn co_addr(ctx: &mut Ctx, s: &Stmt, bind: bool) -> Res {
    let (what, other) = if bind {
        ("bindto", "connect_ip")
    } else {
        ("connect_ip", "bindto")
    };
    let v = ctx.arg(s, 1)?;
    let Some(ip) = parse_ip(v) else {
        ctx.err_at(
            s,
            1,
            format!("Invalid {what} address {v} - ignoring"),
            "expected an IP address",
        );
        return Ok(());
    };
    let peer = conn(ctx).and_then(|c| if bind { c.connect_ip } else { c.bindto });
    if peer.is_some_and(|p| p.is_ipv4() != ip.is_ipv4()) {
        ctx.err_at(
            s,
            1,
            format!("{what} address {v} does not match address family of {other} - skipping"),
            format!("same address family as {other}"),
        );
    } else if let Some(c) = conn(ctx) {
        if bind {
            c.bindto = Some(ip);
        } else {
            c.connect_ip = Some(ip);
        }
    }
    Ok(())
}

fn read_port(ctx: &mut Ctx, s: &Stmt, what: &str) -> Result<Option<u16>, super::parser::Fatal> {
    let v = ctx.arg(s, 1)?;
    match v.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(Some(p as u16)),
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Invalid checker {what} '{v}'"),
                "expected a port in [1, 65535]",
            );
            Ok(None)
        }
    }
}

fn co_port(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(p) = read_port(ctx, s, "connect_port")? {
        if let Some(c) = conn(ctx) {
            c.connect_port = Some(p);
        }
    }
    Ok(())
}

fn co_srcport(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(p) = read_port(ctx, s, "bind_port")? {
        if let Some(c) = conn(ctx) {
            c.bind_port = Some(p);
        }
    }
    Ok(())
}

fn co_srcif(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if v.len() > 15 {
        ctx.err_at(
            s,
            1,
            format!("Interface name {v} is too long - ignoring"),
            "at most 15 characters",
        );
    } else if let Some(c) = conn(ctx) {
        c.bind_if = Some(v);
    }
    Ok(())
}

fn co_timeout(ctx: &mut Ctx, s: &Stmt) -> Res {
    match ctx.read_timer(s, 1, 1, u32::MAX as u64)? {
        Some(t) => {
            if let Some(c) = conn(ctx) {
                c.connect_timeout = Some(Micros(t));
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, format!("connect_timeout {v} invalid - ignoring"));
        }
    }
    Ok(())
}

fn co_fwmark(ctx: &mut Ctx, s: &Stmt) -> Res {
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        Some(v) => {
            if let Some(c) = conn(ctx) {
                c.fwmark = Some(v as u32);
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, format!("Invalid fwmark connection value '{v}'"));
        }
    }
    Ok(())
}

fn retry(ctx: &mut Ctx, s: &Stmt) -> Res {
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        Some(v) => {
            if let Some(c) = cur(ctx) {
                c.common.retry = Some(v as u32);
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, format!("Invalid retry connection value '{v}'"));
        }
    }
    Ok(())
}

fn nb_get_retry(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.err_at(
        s,
        0,
        "nb_get_retry is deprecated - please use 'retry'",
        "use 'retry'",
    );
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        Some(v) => {
            if let Some(c) = cur(ctx) {
                c.common.retry = Some(v as u32);
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, format!("Invalid nb_get_retry value '{v}'"));
        }
    }
    Ok(())
}

fn timer_field(
    ctx: &mut Ctx,
    s: &Stmt,
    min: u64,
    msg: &str,
    set: fn(&mut CheckerCommon, Micros),
) -> Res {
    match ctx.read_timer(s, 1, min, 0)? {
        Some(t) => {
            if let Some(c) = cur(ctx) {
                set(&mut c.common, Micros(t));
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, msg.replace("{}", v));
        }
    }
    Ok(())
}

fn delay_before_retry(ctx: &mut Ctx, s: &Stmt) -> Res {
    timer_field(
        ctx,
        s,
        0,
        "Invalid delay_before_retry connection value '{}'",
        |c, t| c.delay_before_retry = Some(t),
    )
}

fn warmup(ctx: &mut Ctx, s: &Stmt) -> Res {
    timer_field(ctx, s, 0, "Invalid warmup connection value '{}'", |c, t| {
        c.warmup = Some(t)
    })
}

fn delay_loop(ctx: &mut Ctx, s: &Stmt) -> Res {
    timer_field(
        ctx,
        s,
        1,
        "delay_loop '{}' is invalid - ignoring",
        |c, t| c.delay_loop = Some(t),
    )
}

fn bool_param(ctx: &mut Ctx, s: &Stmt, name: &str) -> Option<bool> {
    ctx.read_bool_with(s, 1, |v| format!("Invalid {name} parameter {v}"))
}

fn alpha(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_param(ctx, s, "alpha") {
        if let Some(c) = cur(ctx) {
            c.common.alpha = Some(b);
        }
    }
    Ok(())
}

fn log_all_failures(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_param(ctx, s, "log_all_failures") {
        if let Some(c) = cur(ctx) {
            c.common.log_all_failures = Some(b);
        }
    }
    Ok(())
}

macro_rules! conn_kw {
    () => {
        [
            kw("connect_ip", co_ip),
            kw("connect_port", co_port),
            kw("bindto", co_srcip),
            kw("bind_port", co_srcport),
            kw("bind_if", co_srcif),
            kw("connect_timeout", co_timeout),
            kw("fwmark", co_fwmark),
        ]
    };
}

macro_rules! common_kw {
    () => {
        [
            kw("retry", retry),
            kw("delay_before_retry", delay_before_retry),
            kw("warmup", warmup),
            kw("delay_loop", delay_loop),
            kw("alpha", alpha),
            kw("log_all_failures", log_all_failures),
        ]
    };
}

const fn cat<const A: usize, const B: usize, const N: usize>(
    a: [Keyword; A],
    b: [Keyword; B],
) -> [Keyword; N] {
    let mut out = [kw("", super::parser::ignore); N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out
}

static CONN_COMMON: [Keyword; 13] = cat(conn_kw!(), common_kw!());
static COMMON: [Keyword; 6] = common_kw!();

// ===== TCP / PING =====

fn tcp_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(ctx, CheckerKind::Tcp);
    Ok(())
}

fn ping_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(ctx, CheckerKind::Ping);
    Ok(())
}

// ===== HTTP_GET / SSL_GET =====

fn http(ctx: &mut Ctx) -> Option<&mut HttpCheck> {
    match &mut cur(ctx)?.kind {
        CheckerKind::Http(h) => Some(h),
        _ => None,
    }
}

fn url_cur(ctx: &mut Ctx) -> Option<&mut Url> {
    http(ctx)?.urls.last_mut()
}

fn http_get(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(ctx, CheckerKind::Http(HttpCheck::default()));
    Ok(())
}

fn ssl_get(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::Http(HttpCheck {
            ssl: true,
            ..Default::default()
        }),
    );
    Ok(())
}

fn http_end(ctx: &mut Ctx) -> Res {
    let empty = http(ctx).is_some_and(|h| h.urls.is_empty());
    if empty {
        ctx.err_global(
            super::Level::Error,
            "HTTP/SSL_GET checker has no urls specified - ignoring",
        );
        if let Some(c) = cur(ctx) {
            c.valid = false;
        }
    }
    Ok(())
}

fn url(ctx: &mut Ctx, _: &Stmt) -> Res {
    REGEX_AT.with(|r| *r.borrow_mut() = None);
    if let Some(h) = http(ctx) {
        h.urls.push(Url::default());
    }
    Ok(())
}

fn url_end(ctx: &mut Ctx) -> Res {
    let no_path = url_cur(ctx).is_some_and(|u| u.path.is_none());
    if no_path {
        ctx.err_global(
            super::Level::Error,
            "HTTP/SSL_GET checker url has no path - ignoring",
        );
        if let Some(h) = http(ctx) {
            h.urls.pop();
        }
        return Ok(());
    }
    let at = REGEX_AT.with(|r| r.borrow_mut().take());
    let Some(u) = url_cur(ctx) else {
        return Ok(());
    };
    let mut warn = Vec::new();
    if let Some(p) = &u.regex {
        if let Err(e) = crate::check::body_regex::compile(p, &u.regex_options) {
            warn.push((
                format!(
                    "regex '{}' cannot be used: {e} - this url will always fail",
                    String::from_utf8_lossy(p)
                ),
                Some(
                    "url regexes run with the Rust regex crate, which has no \
                     look-around, back-references, atomic groups or possessive quantifiers"
                        .to_string(),
                ),
            ));
        }
    } else if !u.regex_options.is_empty()
        || u.regex_no_match
        || u.regex_min_offset != 0
        || u.regex_max_offset.is_some()
        || u.regex_stack.is_some()
    {
        warn.push(("regex parameters specified without regex".to_string(), None));
        u.regex_options.clear();
        u.regex_no_match = false;
        u.regex_min_offset = 0;
        u.regex_max_offset = None;
        u.regex_stack = None;
    }
    if let Some(max) = u.regex_max_offset {
        if u.regex_min_offset > max {
            warn.push((
                format!(
                    "regex min offset {} > regex_max_offset {max} - ignoring",
                    u.regex_min_offset
                ),
                None,
            ));
            u.regex_min_offset = 0;
            u.regex_max_offset = None;
        }
    }
    for (msg, help) in warn {
        match &at {
            Some(s) => ctx.warn(s, msg, help),
            None => ctx.err_global(super::Level::Warning, msg),
        }
    }
    Ok(())
}

thread_local! {
    /// The `regex` line of the url being read, for warnings at its end.
    static REGEX_AT: std::cell::RefCell<Option<Stmt>> = const { std::cell::RefCell::new(None) };
}

fn url_path(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(u) = url_cur(ctx) {
        u.path = Some(v);
    }
    Ok(())
}

fn url_digest(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if v.len() != 32 {
        ctx.err_at(
            s,
            1,
            format!(
                "digest '{v}' character length should be 32 rather than {}",
                v.len()
            ),
            "an MD5 digest is 32 hex digits",
        );
        return Ok(());
    }
    if !v.chars().all(|c| c.is_ascii_hexdigit()) {
        ctx.err_at(
            s,
            1,
            format!("digest '{v}' is not a valid hex string"),
            "an MD5 digest is 32 hex digits",
        );
        return Ok(());
    }
    if let Some(u) = url_cur(ctx) {
        u.digest = Some(v.to_ascii_lowercase());
    }
    Ok(())
}

fn url_status_code(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.arg(s, 1)?;
    let mut codes = Vec::new();
    for (i, w) in s.rest(1).enumerate() {
        let (a, b) = match w.split_once('-') {
            Some((a, b)) => (a, b),
            None => (w, w),
        };
        match (a.parse::<u16>(), b.parse::<u16>()) {
            (Ok(a), Ok(b)) if (100..=599).contains(&a) && (100..=599).contains(&b) && a <= b => {
                codes.push((a, b))
            }
            _ => {
                ctx.err_at(
                    s,
                    i + 1,
                    format!("Invalid HTTP_GET status code {w} - ignoring"),
                    "a code or range in 100-599",
                );
            }
        }
    }
    if let Some(u) = url_cur(ctx) {
        u.status_codes.extend(codes);
    }
    Ok(())
}

fn url_virtualhost(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(u) = url_cur(ctx) {
        u.virtualhost = Some(v);
    }
    Ok(())
}

// keepalived only logs (log_message) what goes wrong with the regex
// keywords: warnings here, so that `-t` exits as keepalived does.

fn url_regex(ctx: &mut Ctx, s: &Stmt) -> Res {
    // keepalived splits the raw line again, honouring single quotes and
    // backslash escapes everywhere (`regex a\.b` is the pattern `a.b`).
    let words = match super::lexer::split_quoted_escaped(&s.text) {
        Ok(w) => w,
        Err(e) => {
            if e.starts_with("String") {
                ctx.err(s, e);
            } else {
                ctx.warn(s, e, None);
            }
            return Ok(());
        }
    };
    if words.len() != 2 {
        ctx.warn(
            s,
            "regex missing or too many fields",
            Some("quote a pattern that contains spaces".into()),
        );
        return Ok(());
    }
    let v = words.into_iter().nth(1).unwrap_or_default();
    if let Some(u) = url_cur(ctx) {
        u.regex = Some(v);
    }
    REGEX_AT.with(|r| *r.borrow_mut() = Some(s.clone()));
    Ok(())
}

fn url_regex_no_match(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(u) = url_cur(ctx) {
        u.regex_no_match = true;
    }
    Ok(())
}

fn url_regex_options(ctx: &mut Ctx, s: &Stmt) -> Res {
    let mut opts = Vec::new();
    for (i, w) in s.rest(1).enumerate() {
        if crate::check::body_regex::OPTIONS.contains(&w) {
            opts.push(w.to_string());
        } else {
            // keepalived ignores unknown options without a word.
            let help = super::diag::suggest(w, crate::check::body_regex::OPTIONS.iter().copied())
                .map(|c| format!("did you mean `{c}`?"));
            ctx.report(
                super::Level::Warning,
                Some(s),
                Some(i + 1),
                format!("unknown regex option '{w}' - ignoring"),
                help,
            );
        }
    }
    if let Some(u) = url_cur(ctx) {
        u.regex_options.extend(opts);
    }
    Ok(())
}

/// keepalived's `strtoul` reading of an offset: `None` (and a log) when
/// it is not a number, which keepalived then takes as 0.
fn url_regex_offset(ctx: &mut Ctx, s: &Stmt, which: &str) -> Option<u64> {
    if s.len() != 2 {
        ctx.warn(
            s,
            format!("Missing or too may options for regex_{which}_offset"),
            None,
        );
        return None;
    }
    let v = s.get(1).unwrap_or("");
    match c_strtoul(v) {
        Some(n) => Some(n),
        None => {
            ctx.report(
                super::Level::Warning,
                Some(s),
                Some(1),
                format!("Invalid regex_{which}_offset {v} specified"),
                Some("expected a non-negative number".into()),
            );
            None
        }
    }
}

/// C's `strtoul(s, &end, 10)` with `*end` required to be the end: leading
/// white space and a sign are allowed, a negative value wraps.
fn c_strtoul(s: &str) -> Option<u64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return s.is_empty().then_some(0);
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(if neg { v.wrapping_neg() } else { v })
}

fn url_regex_min(ctx: &mut Ctx, s: &Stmt) -> Res {
    let n = url_regex_offset(ctx, s, "min").unwrap_or(0);
    if let Some(u) = url_cur(ctx) {
        u.regex_min_offset = n;
    }
    Ok(())
}

fn url_regex_max(ctx: &mut Ctx, s: &Stmt) -> Res {
    // keepalived keeps max + 1 (0: no maximum): a bad value is a maximum
    // of 0, and ULONG_MAX none at all.
    let n = url_regex_offset(ctx, s, "max").unwrap_or(0);
    if let Some(u) = url_cur(ctx) {
        u.regex_max_offset = (n != u64::MAX).then_some(n);
    }
    Ok(())
}

fn url_regex_stack(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() != 3 {
        ctx.warn(s, "regex_stack requires start and max values", None);
        return Ok(());
    }
    let Some(a) = c_strtoul(s.get(1).unwrap_or("")) else {
        ctx.warn(s, "regex_stack invalid start value", None);
        return Ok(());
    };
    let Some(b) = c_strtoul(s.get(2).unwrap_or("")) else {
        ctx.warn(s, "regex_stack invalid max value", None);
        return Ok(());
    };
    if a > b {
        ctx.warn(s, "regex stack start cannot exceed max value", None);
        return Ok(());
    }
    if let Some(u) = url_cur(ctx) {
        u.regex_stack = Some((a, b));
    }
    Ok(())
}

fn http_protocol(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(v) = s.get(1) else {
        ctx.err(s, "Missing http_protocol version");
        return Ok(());
    };
    let p = match v {
        "1.0" => HttpProtocol::Http10,
        "1.0C" | "1.0c" => HttpProtocol::Http10C,
        "1.1" => HttpProtocol::Http11,
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Invalid http_protocol version {v}"),
                "expected 1.0, 1.0C or 1.1",
            );
            return Ok(());
        }
    };
    if let Some(h) = http(ctx) {
        h.protocol = p;
    }
    Ok(())
}

fn http_virtualhost(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(h) = http(ctx) {
        h.virtualhost = Some(v);
    }
    Ok(())
}

fn fast_recovery(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_param(ctx, s, "fast_recovery") {
        if let Some(h) = http(ctx) {
            h.fast_recovery = b;
        }
    }
    Ok(())
}

fn enable_sni(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(b) = bool_param(ctx, s, "enable_sni") {
        if let Some(h) = http(ctx) {
            h.enable_sni = b;
        }
    }
    Ok(())
}

static URL: &[Keyword] = &[
    kw("path", url_path),
    kw("digest", url_digest),
    kw("status_code", url_status_code),
    kw("virtualhost", url_virtualhost),
    kw("regex", url_regex),
    kw("regex_no_match", url_regex_no_match),
    kw("regex_options", url_regex_options),
    kw("regex_min_offset", url_regex_min),
    kw("regex_max_offset", url_regex_max),
    kw("regex_stack", url_regex_stack),
];

static HTTP_OWN: [Keyword; 5] = [
    block("url", Some(url), URL, Some(url_end)),
    kw("nb_get_retry", nb_get_retry),
    kw("http_protocol", http_protocol),
    kw("virtualhost", http_virtualhost),
    kw("fast_recovery", fast_recovery),
];
static HTTP: [Keyword; 18] = cat(HTTP_OWN, CONN_COMMON);
static SSL_OWN: [Keyword; 19] = cat(HTTP, [kw("enable_sni", enable_sni)]);

// ===== SMTP_CHECK =====

fn smtp_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::Smtp {
            helo_name: None,
            hosts: Vec::new(),
        },
    );
    Ok(())
}

fn helo_name(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(v) = s.get(1) else {
        ctx.err(s, "SMTP_CHECK helo name missing");
        return Ok(());
    };
    let v = v.to_string();
    if let Some(Checker {
        kind: CheckerKind::Smtp { helo_name, .. },
        ..
    }) = cur(ctx)
    {
        *helo_name = Some(v);
    }
    Ok(())
}

fn smtp_host(ctx: &mut Ctx, s: &Stmt) -> Res {
    let _ = s;
    crate::config::note(
        "The SMTP_CHECK host block is deprecated. Please define additional checkers.",
    );
    if let Some(Checker {
        kind: CheckerKind::Smtp { hosts, .. },
        ..
    }) = cur(ctx)
    {
        hosts.push(ConnOpts::default());
    }
    HOST_OPEN.with(|h| h.set(true));
    Ok(())
}

fn smtp_host_end(_: &mut Ctx) -> Res {
    HOST_OPEN.with(|h| h.set(false));
    Ok(())
}

static CONN: [Keyword; 7] = conn_kw!();
static SMTP_OWN: [Keyword; 2] = [
    kw("helo_name", helo_name),
    block("host", Some(smtp_host), &CONN, Some(smtp_host_end)),
];
static SMTP: [Keyword; 15] = cat(SMTP_OWN, CONN_COMMON);

// ===== MISC_CHECK =====

fn misc_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::Misc {
            path: None,
            timeout: None,
            dynamic: false,
        },
    );
    Ok(())
}

fn misc_path(ctx: &mut Ctx, s: &Stmt) -> Res {
    let o = owner(ctx);
    let sc = script::parse(ctx, s, 1, ScriptKind::MiscCheck, &o)?;
    if let Some(Checker {
        kind: CheckerKind::Misc { path, .. },
        ..
    }) = cur(ctx)
    {
        *path = Some(sc);
    }
    Ok(())
}

fn misc_timeout(ctx: &mut Ctx, s: &Stmt) -> Res {
    match ctx.read_timer(s, 1, 1, u32::MAX as u64 * 1_000_000)? {
        Some(t) => {
            if let Some(Checker {
                kind: CheckerKind::Misc { timeout, .. },
                ..
            }) = cur(ctx)
            {
                *timeout = Some(Micros(t));
            }
        }
        None => {
            let v = s.get(1).unwrap_or("");
            ctx.err(s, format!("Invalid misc_timeout value '{v}'"));
        }
    }
    Ok(())
}

fn misc_dynamic(ctx: &mut Ctx, _: &Stmt) -> Res {
    if let Some(Checker {
        kind: CheckerKind::Misc { dynamic, .. },
        ..
    }) = cur(ctx)
    {
        *dynamic = true;
    }
    Ok(())
}

fn misc_user(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        let o = owner(ctx);
        ctx.err(s, format!("No user specified for misc checker script {o}"));
        return Ok(());
    }
    let user = s.get(1).map(str::to_string);
    let group = s.get(2).map(str::to_string);
    if let Some(Checker {
        kind: CheckerKind::Misc { path: Some(p), .. },
        ..
    }) = cur(ctx)
    {
        p.user = user;
        p.group = group;
    }
    Ok(())
}

fn misc_end(ctx: &mut Ctx) -> Res {
    let missing = matches!(
        cur(ctx),
        Some(Checker {
            kind: CheckerKind::Misc { path: None, .. },
            ..
        })
    );
    if missing {
        ctx.err_global(
            super::Level::Error,
            "No script path has been specified for MISC_CHECKER - skipping",
        );
        if let Some(c) = cur(ctx) {
            c.valid = false;
        }
    }
    Ok(())
}

static MISC_OWN: [Keyword; 4] = [
    kw("misc_path", misc_path),
    kw("misc_timeout", misc_timeout),
    kw("misc_dynamic", misc_dynamic),
    kw("user", misc_user),
];
static MISC: [Keyword; 10] = cat(MISC_OWN, COMMON);

// ===== DNS_CHECK =====

fn dns_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::Dns {
            qtype: DnsType::Soa,
            name: None,
        },
    );
    Ok(())
}

fn dns_type(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    let t = match v.to_ascii_uppercase().as_str() {
        "A" => DnsType::A,
        "NS" => DnsType::Ns,
        "CNAME" => DnsType::Cname,
        "SOA" => DnsType::Soa,
        "MX" => DnsType::Mx,
        "TXT" => DnsType::Txt,
        "AAAA" => DnsType::Aaaa,
        "RRSIG" => DnsType::Rrsig,
        "DNSKEY" => DnsType::Dnskey,
        _ => {
            let o = owner(ctx);
            ctx.err_at(
                s,
                1,
                format!("DNS_CHECK ({o}) invalid type {v}"),
                "A, NS, CNAME, SOA, MX, TXT or AAAA",
            );
            return Ok(());
        }
    };
    if let Some(Checker {
        kind: CheckerKind::Dns { qtype, .. },
        ..
    }) = cur(ctx)
    {
        *qtype = t;
    }
    Ok(())
}

fn dns_name(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(Checker {
        kind: CheckerKind::Dns { name, .. },
        ..
    }) = cur(ctx)
    {
        *name = Some(v);
    }
    Ok(())
}

static DNS_OWN: [Keyword; 2] = [kw("type", dns_type), kw("name", dns_name)];
static DNS: [Keyword; 15] = cat(DNS_OWN, CONN_COMMON);

// ===== UDP_CHECK =====

fn udp_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::Udp {
            payload: None,
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: None,
        },
    );
    Ok(())
}

/// Hex string to bytes (an odd length is padded like keepalived's reader).
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn udp_payload(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    match hex_bytes(v) {
        Some(b) => {
            if let Some(Checker {
                kind: CheckerKind::Udp { payload, .. },
                ..
            }) = cur(ctx)
            {
                *payload = Some(b);
            }
        }
        None => ctx.err_at(
            s,
            1,
            format!("Invalid hex string {v}"),
            "expected hex digits",
        ),
    }
    Ok(())
}

fn udp_require_reply(ctx: &mut Ctx, s: &Stmt) -> Res {
    let b = match s.get(1) {
        None => Vec::new(),
        Some(v) => match hex_bytes(v) {
            Some(b) => b,
            None => {
                ctx.err_at(
                    s,
                    1,
                    format!("Invalid hex string {v}"),
                    "expected hex digits",
                );
                return Ok(());
            }
        },
    };
    if let Some(Checker {
        kind: CheckerKind::Udp { require_reply, .. },
        ..
    }) = cur(ctx)
    {
        *require_reply = Some(b);
    }
    Ok(())
}

fn udp_min_len(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 0, 65535)? {
        if let Some(Checker {
            kind: CheckerKind::Udp {
                min_reply_length, ..
            },
            ..
        }) = cur(ctx)
        {
            *min_reply_length = v as u32;
        }
    }
    Ok(())
}

fn udp_max_len(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 0, 65535)? {
        if let Some(Checker {
            kind: CheckerKind::Udp {
                max_reply_length, ..
            },
            ..
        }) = cur(ctx)
        {
            *max_reply_length = Some(v as u32);
        }
    }
    Ok(())
}

static UDP_OWN: [Keyword; 4] = [
    kw("payload", udp_payload),
    kw("require_reply", udp_require_reply),
    kw("min_reply_length", udp_min_len),
    kw("max_reply_length", udp_max_len),
];
static UDP: [Keyword; 17] = cat(UDP_OWN, CONN_COMMON);

// ===== FILE_CHECK =====

fn file_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(
        ctx,
        CheckerKind::File {
            track_file: None,
            weight: None,
        },
    );
    Ok(())
}

fn file_track(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(Checker {
        kind: CheckerKind::File { track_file, .. },
        ..
    }) = cur(ctx)
    {
        *track_file = Some(v);
    }
    Ok(())
}

fn file_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(w) = ctx.read_int(s, 1, -254, 254)? else {
        return Ok(());
    };
    let reverse = match s.get(2) {
        None => false,
        Some("reverse") => true,
        Some(o) => {
            ctx.err_at(
                s,
                2,
                format!("unknown track file weight option {o} - ignoring"),
                "expected 'reverse'",
            );
            false
        }
    };
    if let Some(Checker {
        kind: CheckerKind::File { weight, .. },
        ..
    }) = cur(ctx)
    {
        *weight = Some((w as i32, reverse));
    }
    Ok(())
}

fn file_end(ctx: &mut Ctx) -> Res {
    let missing = matches!(
        cur(ctx),
        Some(Checker {
            kind: CheckerKind::File {
                track_file: None,
                ..
            },
            ..
        })
    );
    if missing {
        ctx.err_global(
            super::Level::Error,
            "FILE_CHECK has no track_file specified - ignoring",
        );
        if let Some(c) = cur(ctx) {
            c.valid = false;
        }
    }
    Ok(())
}

static FILE: &[Keyword] = &[
    kw("track_file", file_track),
    kw("file", file_track),
    kw("weight", file_weight),
];

// ===== BFD_CHECK =====

fn bfd_check(ctx: &mut Ctx, _: &Stmt) -> Res {
    push(ctx, CheckerKind::Bfd { name: None });
    Ok(())
}

fn bfd_name(ctx: &mut Ctx, s: &Stmt) -> Res {
    let o = owner(ctx);
    if s.len() != 2 {
        ctx.err(
            s,
            format!("({o}) BFD_CHECK - No or too many names specified - skipping checker"),
        );
        return Ok(());
    }
    let v = s.get(1).unwrap_or("").to_string();
    if v.len() > 31 {
        ctx.err_at(
            s,
            1,
            format!("({o}) BFD_CHECK - BFD name {v} too long"),
            "at most 31 characters",
        );
        return Ok(());
    }
    if let Some(Checker {
        kind: CheckerKind::Bfd { name },
        ..
    }) = cur(ctx)
    {
        *name = Some(v);
    }
    Ok(())
}

fn bfd_end(ctx: &mut Ctx) -> Res {
    let missing = matches!(
        cur(ctx),
        Some(Checker {
            kind: CheckerKind::Bfd { name: None },
            ..
        })
    );
    if missing {
        let o = owner(ctx);
        ctx.err_global(
            super::Level::Error,
            format!("({o}) No name has been specified for BFD_CHECKER - skipping"),
        );
        if let Some(c) = cur(ctx) {
            c.valid = false;
        }
    }
    Ok(())
}

static BFD: &[Keyword] = &[kw("name", bfd_name), kw("alpha", alpha)];

/// The checker blocks valid inside `real_server`.
pub static CHECKERS: [Keyword; 10] = [
    block("TCP_CHECK", Some(tcp_check), &CONN_COMMON, None),
    block("HTTP_GET", Some(http_get), &HTTP, Some(http_end)),
    block("SSL_GET", Some(ssl_get), &SSL_OWN, Some(http_end)),
    block("SMTP_CHECK", Some(smtp_check), &SMTP, None),
    block("MISC_CHECK", Some(misc_check), &MISC, Some(misc_end)),
    block("DNS_CHECK", Some(dns_check), &DNS, None),
    block("UDP_CHECK", Some(udp_check), &UDP, None),
    block("PING_CHECK", Some(ping_check), &CONN_COMMON, None),
    block("FILE_CHECK", Some(file_check), FILE, Some(file_end)),
    block("BFD_CHECK", Some(bfd_check), BFD, Some(bfd_end)),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Level;
    use crate::config::{load_str, ReaderOptions};

    /// The first url of the first checker, every message, and `-t`'s exit code.
    fn url(body: &str) -> (Url, Vec<String>, i32) {
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\nprotocol TCP\nlb_algo rr\nlb_kind NAT\n\
             real_server 10.0.1.1 80 {{\nHTTP_GET {{\nurl {{\npath /\n{body}\n}}\n}}\n}}\n}}\n"
        );
        let l = load_str("t.conf", &text, ReaderOptions::default());
        let m = l.report.diags.iter().map(|d| d.message.clone()).collect();
        let code = l.report.exit_code();
        let vs = &l.config.lvs.virtual_servers[0];
        let CheckerKind::Http(h) = &vs.real_servers[0].checkers[0].kind else {
            panic!("not HTTP_GET");
        };
        (h.urls[0].clone(), m, code)
    }

    #[test]
    fn regex_keywords_as_keepalived() {
        let (u, m, code) = url(
            "regex \"IBM.*up\"\nregex_no_match\nregex_options caseless multiline\n\
             regex_min_offset 200\nregex_max_offset 10000\nregex_stack 32768 500000",
        );
        assert_eq!((m.len(), code), (0, 0), "{m:?}");
        assert_eq!(u.regex.as_deref(), Some(&b"IBM.*up"[..]));
        assert!(u.regex_no_match);
        assert_eq!(u.regex_options, ["caseless", "multiline"]);
        assert_eq!((u.regex_min_offset, u.regex_max_offset), (200, Some(10000)));
        assert_eq!(u.regex_stack, Some((32768, 500000)));
        // Backslash escapes apply outside quotes too; single quotes group.
        assert_eq!(url(r"regex a\.b\\d").0.regex.unwrap(), br"a.b\d");
        assert_eq!(url("regex 'a b'").0.regex.unwrap(), b"a b");
    }

    #[test]
    fn regex_problems_are_warnings_as_keepalived_only_logs_them() {
        for (body, msg) in [
            ("regex a b", "regex missing or too many fields"),
            ("regex_no_match", "regex parameters specified without regex"),
            (
                "regex_max_offset 5",
                "regex parameters specified without regex",
            ),
            (
                "regex x\nregex_min_offset 9\nregex_max_offset 8",
                "regex min offset 9 > regex_max_offset 8 - ignoring",
            ),
            (
                "regex x\nregex_min_offset x1",
                "Invalid regex_min_offset x1 specified",
            ),
            (
                "regex x\nregex_stack 1",
                "regex_stack requires start and max values",
            ),
            (
                "regex x\nregex_stack 2 1",
                "regex stack start cannot exceed max value",
            ),
            (
                "regex x\nregex_options nosuch",
                "unknown regex option 'nosuch' - ignoring",
            ),
        ] {
            let (_, m, code) = url(body);
            assert_eq!(m, [msg], "{body}");
            assert_eq!(code, 0, "{body}");
        }
        let (u, _, _) = url("regex x\nregex_min_offset 9\nregex_max_offset 8");
        assert_eq!((u.regex_min_offset, u.regex_max_offset), (0, None));
        // A bad maximum is keepalived's 0 (its stored value is max + 1).
        assert_eq!(
            url("regex x\nregex_max_offset -").0.regex_max_offset,
            Some(0)
        );
        assert_eq!(url("regex x\nregex_max_offset -1").0.regex_max_offset, None);
    }

    #[test]
    fn unusable_pattern_is_a_warning_at_the_regex_line() {
        let text = "virtual_server 10.0.0.1 80 {\nprotocol TCP\nlb_algo rr\nlb_kind NAT\n\
                    real_server 10.0.1.1 80 {\nHTTP_GET {\nurl {\npath /\n\
                    regex \"a(?=b)\"\n}\n}\n}\n}\n";
        let l = load_str("t.conf", text, ReaderOptions::default());
        assert_eq!(l.report.exit_code(), 0);
        let d = &l.report.diags[0];
        assert_eq!(d.level, Level::Warning);
        assert_eq!(d.loc.as_ref().map(|l| l.line), Some(9));
        assert!(d.message.contains("look-ahead"), "{}", d.message);
        assert!(d
            .headline()
            .starts_with("(t.conf: Line 9) regex 'a(?=b)' cannot be used"));
    }
}

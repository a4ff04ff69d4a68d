//! `keepalived_check.data`: what the checker process writes on SIGUSR1,
//! line for line as keepalived 2.2.7 writes it for the same configuration
//! and state (captured in the IPVS VM: `tests/ipvs_vm.rs` compares the two
//! end to end). Sections: global definitions, SSL, the LVS topology
//! (virtual server groups, virtual servers and their real servers), the
//! health checkers, the track files.
//!
//! Pure: the configuration as read, the checkers built from it and the
//! running state ([`Snapshot`]) go in, text comes out. What keepalived
//! prints of its internals that we do not have is left out rather than
//! invented:
//!
//! * `Last errno = N` of a checker's connection (keepalived keeps the
//!   errno of the last failed connect; our probes do not);
//! * BFD_CHECK checkers and `Tracked BFDs` (no BFD process here);
//!
//! and some values are ours, not keepalived's internals:
//!
//! * `Retries iterations` is our state machine's retry count, which
//!   follows keepalived's while a checker is up; keepalived 2.2.7 also
//!   retries a checker that is down (alternating `delay_before_retry` and
//!   `delay_loop`), so there its count flips between 0 and `retry`, ours
//!   stays 0; SMTP_CHECK and HTTP_GET count their own way in keepalived
//!   (per host and per URL);
//! * an SMTP_CHECK's `host` blocks show as one checker each, as in
//!   keepalived, sharing the one state of our single checker;
//! * `Enabled = no` only shows `ha_suspend` as far as we track it;
//! * `reloaded` of a group entry and `Reloaded` of a FILE_CHECK follow the
//!   virtual / real server that was carried over by the last reload.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use super::global::{global_section, yes_no, GlobalInfo, Process};
use super::quote_command;
use crate::check::pool::{real_weight, CheckerId};
use crate::check::probe::Target;
use crate::check::proto::DEFAULT_HELO;
use crate::check::sched::Progress;
use crate::check::spec::{CheckSpec, ProbeSpec, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_LOOP};
use crate::check::status::{CheckerStatus, RsStatus, Snapshot, VsStatus};
use crate::config::check::{Checker, CheckerKind, DnsType, HttpCheck, HttpProtocol, Url};
use crate::config::lvs::{
    FwdMethod, Micros, Protocol, RealServer, TunCsum, TunType, VirtualServer, VsAddr, VsGroup,
    VsgEntry,
};
use crate::config::script::Script;
use crate::config::Config;
use crate::ipvs::repr::ServiceFlags;
use crate::notify::exec::RunAs;

/// keepalived's `IP_VS_VERSION_CODE`, a constant of its build.
const LVS_VERSION: &str = "1.2.1";

/// Everything the checker dump shows.
#[derive(Debug, Clone, Copy)]
pub struct CheckFacts<'a> {
    /// The global definitions.
    pub global: &'a GlobalInfo,
    /// The running configuration (validated, as the checker read it).
    pub config: &'a Config,
    /// Its checkers ([`crate::check::spec::build`]).
    pub specs: &'a [CheckSpec],
    /// The running state.
    pub state: &'a Snapshot,
    /// The current value of each tracked file, by `track_file` name.
    pub track_values: &'a BTreeMap<String, i64>,
}

/// The whole dump as text.
pub fn text(f: &CheckFacts) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(&mut out, f);
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes the dump to `out`, a section at a time.
pub fn write(out: &mut dyn Write, f: &CheckFacts) -> io::Result<()> {
    out.write_all(global_section(f.global, Process::Checker).as_bytes())?;
    let lvs = &f.config.lvs;
    let ssl_get = f
        .specs
        .iter()
        .any(|s| matches!(&s.probe, ProbeSpec::Http(h) if h.ssl));
    if lvs.ssl.is_some() || ssl_get {
        writeln!(out, "------< SSL definitions >------")?;
        let ssl = lvs.ssl.clone().unwrap_or_default();
        let lines = [
            ("Password", &ssl.password),
            ("CA-file", &ssl.ca),
            ("Certificate file", &ssl.certificate),
            ("Key file", &ssl.key),
        ];
        if lines.iter().all(|(_, v)| v.is_none()) {
            writeln!(out, " Using autogen SSL context")?;
        }
        for (what, v) in lines {
            if let Some(v) = v {
                writeln!(out, " {what} : {v}")?;
            }
        }
    }
    if !lvs.virtual_servers.is_empty() {
        writeln!(out, "------< LVS Topology >------")?;
        writeln!(out, " System is compiled with LVS v{LVS_VERSION}")?;
        for g in &lvs.groups {
            group(out, f, g)?;
        }
        for (i, vs) in lvs.virtual_servers.iter().enumerate() {
            virtual_server(out, f, i, vs)?;
        }
    }
    checkers(out, f)?;
    track_files(out, f)
}

/// `ON` / `OFF`, as the LVS lines say it.
fn on_off(b: bool) -> &'static str {
    if b {
        "ON"
    } else {
        "OFF"
    }
}

/// C's `%f` of a duration in seconds.
fn secs_f(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

fn dur(m: Option<Micros>) -> Option<Duration> {
    m.map(Micros::duration)
}

/// `inet_sockaddrtopair`: `[addr]:port`.
fn pair(a: SocketAddr) -> String {
    format!("[{}]:{}", a.ip(), a.port())
}

fn script_line(out: &mut dyn Write, what: &str, sc: &Script, default: RunAs) -> io::Result<()> {
    let r = RunAs::resolve(sc.user.as_deref(), sc.group.as_deref(), default).unwrap_or(default);
    writeln!(
        out,
        "{what} = {}, uid:gid {}:{}",
        quote_command(&sc.argv),
        r.uid,
        r.gid
    )
}

/// keepalived's `dump_forwarding_method`. For GUE and GRE tunnels 2.2.7
/// drops the prefix ("default ", or the sorry server's indent).
fn forwarding(out: &mut dyn Write, prefix: &str, m: Option<FwdMethod>) -> io::Result<()> {
    let what = "forwarding method = ";
    let csum = |c: TunCsum| match c {
        TunCsum::NoCsum => ", no checksum",
        TunCsum::Csum => ", checksum",
        TunCsum::RemCsum => ", remote checksum",
    };
    match m {
        Some(FwdMethod::Nat) => writeln!(out, "   {prefix}{what}NAT"),
        Some(FwdMethod::Dr) => writeln!(out, "   {prefix}{what}DR"),
        Some(FwdMethod::Tun { ty, port, csum: c }) => match ty {
            TunType::Ipip => writeln!(out, "   {prefix}{what}TUN, type = IPIP"),
            TunType::Gue => {
                writeln!(out, "   {what}TUN, type = GUE, port = {port}{}", csum(c))
            }
            TunType::Gre => writeln!(out, "   {what}TUN, type = GRE{}", csum(c)),
        },
        // IP_VS_CONN_F_FWD_MASK: none set on the virtual server.
        None => writeln!(out, "   {what} 0x7"),
    }
}

/// The protocol bucket of a group entry's `Alive:` counts.
#[derive(Clone, Copy)]
enum Bucket {
    Tcp,
    Udp,
    Sctp,
    Fwm4,
    Fwm6,
}

/// How many servers of the virtual servers using group `name` are in
/// IPVS, per bucket: keepalived counts each destination added through a
/// group entry (`update_vsge_alive_count`).
fn group_alive(f: &CheckFacts, name: &str) -> [u64; 5] {
    let mut n = [0u64; 5];
    for (i, vs) in f.config.lvs.virtual_servers.iter().enumerate() {
        if !matches!(&vs.addr, VsAddr::Group(g, _) if g == name) {
            continue;
        }
        let Some(st) = f.state.virtual_servers.get(i) else {
            continue;
        };
        let set = st
            .real_servers
            .iter()
            .chain(st.sorry.iter())
            .filter(|r| r.set)
            .count() as u64;
        let proto = match vs.protocol {
            Some(Protocol::Tcp) => Bucket::Tcp,
            Some(Protocol::Udp) => Bucket::Udp,
            // keepalived's last branch: SCTP, and no protocol at all.
            Some(Protocol::Sctp) | None => Bucket::Sctp,
        };
        let fwm = if vs.v6 == Some(false) {
            Bucket::Fwm4
        } else {
            Bucket::Fwm6
        };
        n[proto as usize] += set;
        n[fwm as usize] += set;
    }
    n
}

/// keepalived's `have_ipv4` / `have_ipv6` of a group: an address of
/// that family, or a fwmark given it.
fn group_has(g: &VsGroup, v6: bool) -> bool {
    g.entries.iter().any(|e| match e {
        VsgEntry::Range { start, .. } => start.is_ipv6() == v6,
        VsgEntry::Fwmark { v6: fam, .. } => *fam == Some(v6),
    })
}

fn group(out: &mut dyn Write, f: &CheckFacts, g: &VsGroup) -> io::Result<()> {
    writeln!(out, " ------< Virtual server group >------")?;
    writeln!(
        out,
        " Virtual Server Group = {}, IPv4 = {}, IPv6 = {}",
        g.name,
        yes_no(group_has(g, false)),
        yes_no(group_has(g, true))
    )?;
    let alive = group_alive(f, &g.name);
    let reloaded = f
        .config
        .lvs
        .virtual_servers
        .iter()
        .zip(&f.state.virtual_servers)
        .any(|(vs, st)| st.reloaded && matches!(&vs.addr, VsAddr::Group(n, _) if n == &g.name));
    let reloaded = if reloaded { "True" } else { "False" };
    for e in &g.entries {
        if let VsgEntry::Range { start, end, port } = e {
            if start == end {
                writeln!(out, "   VIP = {start}, VPORT = {port}")?;
            } else {
                writeln!(out, "   VIP Range = {start}-{end}, VPORT = {port}")?;
            }
            writeln!(
                out,
                "     Alive: {} tcp, {} udp, {} sctp",
                alive[Bucket::Tcp as usize],
                alive[Bucket::Udp as usize],
                alive[Bucket::Sctp as usize]
            )?;
            writeln!(out, "     reloaded = {reloaded}")?;
        }
    }
    for e in &g.entries {
        if let VsgEntry::Fwmark { mark, v6 } = e {
            let fam = match v6 {
                Some(false) => " IPv4",
                Some(true) => " IPv6",
                None => "",
            };
            writeln!(out, "   FWMARK = {mark}{fam}")?;
            writeln!(
                out,
                "     Alive: {} IPv4, {} IPv6",
                alive[Bucket::Fwm4 as usize],
                alive[Bucket::Fwm6 as usize]
            )?;
            writeln!(out, "     reloaded = {reloaded}")?;
        }
    }
    Ok(())
}

fn virtual_server(
    out: &mut dyn Write,
    f: &CheckFacts,
    i: usize,
    vs: &VirtualServer,
) -> io::Result<()> {
    let default_user = f.global.script_user;
    let st = f.state.virtual_servers.get(i).cloned().unwrap_or_default();
    writeln!(out, " ------< Virtual server >------")?;
    match &vs.addr {
        VsAddr::Group(..) => writeln!(out, " VS GROUP = {}", vs.fmt())?,
        VsAddr::Fwmark(m) => writeln!(out, " VS FWMARK = {m}")?,
        VsAddr::Addr(ip, port) => writeln!(out, " VS VIP = {ip}, VPORT = {port}")?,
    }
    if let Some(h) = &vs.virtualhost {
        writeln!(out, "   VirtualHost = {h}")?;
    }
    let family = match vs.v6 {
        Some(false) => "inet",
        Some(true) => "inet6",
        None => {
            let both = match &vs.addr {
                VsAddr::Group(name, _) => f
                    .config
                    .lvs
                    .groups
                    .iter()
                    .find(|g| &g.name == name)
                    .is_some_and(|g| group_has(g, false) && group_has(g, true)),
                _ => false,
            };
            if both {
                "IPv4 & IPv6"
            } else {
                "unknown"
            }
        }
    };
    writeln!(out, "   Address family = {family}")?;
    let timeout = dur(vs.connect_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    writeln!(out, "   connection timeout = {}", secs_f(timeout))?;
    let delay = dur(vs.delay_loop).unwrap_or(DEFAULT_DELAY_LOOP);
    writeln!(out, "   delay_loop = {}", secs_f(delay))?;
    let sched = vs.scheduler.as_deref().unwrap_or("wlc");
    writeln!(out, "   lvs_sched = {sched}")?;
    writeln!(out, "   Hashed = disabled")?;
    let flags = crate::ipvs::mapping::sched_flags(vs);
    let en = |bit: u32| {
        if flags & bit != 0 {
            "enabled"
        } else {
            "disabled"
        }
    };
    match sched {
        "sh" | "mh" => {
            writeln!(out, "   {sched}-port = {}", en(ServiceFlags::SCHED2))?;
            writeln!(out, "   {sched}-fallback = {}", en(ServiceFlags::SCHED1))?;
        }
        _ => {
            writeln!(out, "   flag-1 = {}", en(ServiceFlags::SCHED1))?;
            writeln!(out, "   flag-2 = {}", en(ServiceFlags::SCHED2))?;
            writeln!(out, "   flag-3 = {}", en(ServiceFlags::SCHED3))?;
        }
    }
    let ops = flags & ServiceFlags::ONEPACKET != 0;
    let inactive = if ops && vs.protocol != Some(Protocol::Udp) {
        " (inactive due to not UDP)"
    } else {
        ""
    };
    writeln!(
        out,
        "   One packet scheduling = {}{inactive}",
        en(ServiceFlags::ONEPACKET)
    )?;
    if let Some(t) = vs.persistence_timeout.filter(|&t| t != 0) {
        writeln!(out, "   persistence timeout = {t}")?;
    }
    if let Some(g) = &vs.persistence_granularity {
        let g = match (vs.v6, g.parse::<IpAddr>()) {
            (Some(true), _) | (_, Err(_)) => g.clone(),
            (_, Ok(a)) => a.to_string(),
        };
        writeln!(out, "   persistence granularity = {g}")?;
    }
    let proto = match vs.protocol {
        Some(Protocol::Tcp) => "TCP",
        Some(Protocol::Udp) => "UDP",
        Some(Protocol::Sctp) => "SCTP",
        None => "none",
    };
    writeln!(out, "   protocol = {proto}")?;
    writeln!(out, "   alpha is {}", on_off(vs.alpha))?;
    writeln!(out, "   omega is {}", on_off(vs.omega))?;
    if let Some(r) = vs.retry {
        writeln!(out, "   Retry count = {r}")?;
    }
    if let Some(d) = dur(vs.delay_before_retry) {
        writeln!(out, "   Retry delay = {}", secs_f(d))?;
    }
    if let Some(d) = dur(vs.warmup) {
        writeln!(out, "   Warmup = {}", secs_f(d))?;
    }
    writeln!(out, "   Inhibit on failure is {}", on_off(vs.inhibit))?;
    writeln!(
        out,
        "   quorum = {}, hysteresis = {}",
        vs.quorum, vs.hysteresis
    )?;
    if let Some(sc) = &vs.quorum_up {
        script_line(out, "   Quorum up notify script", sc, default_user)?;
    }
    if let Some(sc) = &vs.quorum_down {
        script_line(out, "   Quorum down notify script", sc, default_user)?;
    }
    if vs.ha_suspend {
        writeln!(out, "   Using HA suspend")?;
    }
    let (rs_alert, vs_alert) = crate::notify::alert::checker_defaults(&f.config.global);
    writeln!(
        out,
        "   Using smtp notification = {}",
        yes_no(vs.smtp_alert.unwrap_or(vs_alert))
    )?;
    forwarding(out, "default ", vs.method)?;
    if let Some(ss) = &vs.sorry_server {
        let dup = vs
            .real_servers
            .iter()
            .any(|r| (r.ip, r.port) == (ss.ip, ss.port));
        writeln!(
            out,
            "   sorry server {}= {}",
            if dup { "(duplicates rs) " } else { "" },
            ss.fmt(vs)
        )?;
        forwarding(out, "  ", ss.method.or(vs.method))?;
        writeln!(
            out,
            "     Inhibit on failure is {}",
            on_off(ss.inhibit.unwrap_or(false))
        )?;
    }
    // A virtual server is in IPVS while the checker runs.
    writeln!(out, "   alive = 1")?;
    writeln!(out, "   quorum_state_up = {}", u8::from(st.quorum_up))?;
    writeln!(out, "   reloaded = {}", u8::from(st.reloaded))?;
    for (ri, rs) in vs.real_servers.iter().enumerate() {
        let rst = rs_status(&st, ri, rs, vs);
        real_server(out, f, vs, rs, &rst, rs_alert)?;
    }
    Ok(())
}

/// A real server's state, or the configured start when the snapshot has
/// none (a real server not running).
fn rs_status(st: &VsStatus, ri: usize, rs: &RealServer, vs: &VirtualServer) -> RsStatus {
    st.real_servers.get(ri).copied().unwrap_or_else(|| {
        let w = i64::from(rs.weight.unwrap_or(vs.weight));
        RsStatus {
            iweight: w,
            effective: w,
            ..RsStatus::default()
        }
    })
}

fn real_server(
    out: &mut dyn Write,
    f: &CheckFacts,
    vs: &VirtualServer,
    rs: &RealServer,
    st: &RsStatus,
    default_alert: bool,
) -> io::Result<()> {
    writeln!(out, "   ------< Real server >------")?;
    writeln!(
        out,
        "   RIP = {}, RPORT = {}, WEIGHT = {} EFF WEIGHT = {}",
        rs.ip,
        rs.port,
        real_weight(st.effective),
        st.effective
    )?;
    forwarding(out, "", rs.method.or(vs.method))?;
    writeln!(out, "   Alpha is {}", on_off(rs.alpha.unwrap_or(vs.alpha)))?;
    let timeout = dur(rs.connect_timeout.or(vs.connect_timeout)).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    writeln!(out, "   connection timeout = {}", secs_f(timeout))?;
    writeln!(
        out,
        "   connection limit range = {} -> {}",
        rs.lthreshold, rs.uthreshold
    )?;
    let delay = dur(rs.delay_loop.or(vs.delay_loop)).unwrap_or(DEFAULT_DELAY_LOOP);
    writeln!(out, "   Delay loop = {}", secs_f(delay))?;
    if let Some(r) = rs.retry.or(vs.retry) {
        writeln!(out, "   Retry count = {r}")?;
    }
    if let Some(d) = dur(rs.delay_before_retry.or(vs.delay_before_retry)) {
        writeln!(out, "   Retry delay = {}", secs_f(d))?;
    }
    if let Some(d) = dur(rs.warmup.or(vs.warmup)) {
        writeln!(out, "   Warmup = {}", secs_f(d))?;
    }
    writeln!(
        out,
        "   Inhibit on failure is {}",
        on_off(rs.inhibit.unwrap_or(vs.inhibit))
    )?;
    let user = f.global.script_user;
    if let Some(sc) = &rs.notify_up {
        script_line(out, "     RS up notify script", sc, user)?;
    }
    if let Some(sc) = &rs.notify_down {
        script_line(out, "     RS down notify script", sc, user)?;
    }
    if let Some(h) = &rs.virtualhost {
        writeln!(out, "    VirtualHost = '{h}'")?;
    }
    writeln!(
        out,
        "   Using smtp notification = {}",
        yes_no(rs.smtp_alert.unwrap_or(default_alert))
    )?;
    writeln!(out, "   initial weight = {}", st.iweight)?;
    writeln!(out, "   effective weight = {}", st.effective)?;
    writeln!(out, "   previous effective_weight = {}", st.peffective)?;
    writeln!(out, "   alive = {}", u8::from(st.alive))?;
    writeln!(out, "   num failed checkers = {}", st.num_failed)?;
    writeln!(out, "   RS set = {}", u8::from(st.set))?;
    writeln!(out, "   reloaded = {}", u8::from(st.reloaded))?;
    let files: Vec<_> = rs
        .checkers
        .iter()
        .filter_map(|c| file_check(f, c))
        .collect();
    if !files.is_empty() {
        writeln!(out, "   Tracked Files")?;
        for (name, _, w, rev) in files {
            writeln!(out, "     {name}, weight {w}{}", reverse(rev))?;
        }
    }
    Ok(())
}

fn reverse(r: bool) -> &'static str {
    if r {
        " reverse"
    } else {
        ""
    }
}

/// A FILE_CHECK's track file: name, path, weight and `reverse` (the
/// checker's own, else the track file's).
fn file_check<'a>(f: &'a CheckFacts, c: &'a Checker) -> Option<(&'a str, &'a str, i64, bool)> {
    let CheckerKind::File { track_file, weight } = &c.kind else {
        return None;
    };
    let name = track_file.as_deref()?;
    let tf = f.config.vrrp.track_files.iter().find(|t| t.name == name)?;
    let (w, rev) = match weight {
        Some((w, r)) => (i64::from(*w), *r),
        None => (i64::from(tf.weight.value), tf.weight.reverse),
    };
    Some((name, tf.file.as_deref().unwrap_or(""), w, rev))
}

/// The configuration behind a checker.
fn parts<'a>(
    f: &'a CheckFacts,
    id: CheckerId,
) -> Option<(&'a VirtualServer, &'a RealServer, &'a Checker)> {
    let vs = f.config.lvs.virtual_servers.get(id.vs)?;
    let rs = vs.real_servers.get(id.rs)?;
    Some((vs, rs, rs.checkers.get(id.checker)?))
}

fn checkers(out: &mut dyn Write, f: &CheckFacts) -> io::Result<()> {
    if f.specs.is_empty() {
        return Ok(());
    }
    // keepalived queues the FILE_CHECKs once the configuration is read:
    // after all the others. BFD_CHECKs need the BFD process.
    let is_file = |s: &&CheckSpec| matches!(s.probe, ProbeSpec::File { .. });
    let shown: Vec<&CheckSpec> = f
        .specs
        .iter()
        .filter(|s| !is_file(s) && !matches!(s.probe, ProbeSpec::Bfd { .. }))
        .chain(f.specs.iter().filter(is_file))
        .collect();
    if shown.is_empty() {
        return Ok(());
    }
    writeln!(out, "------< Health checkers >------")?;
    for s in shown {
        if let Some((vs, rs, c)) = parts(f, s.id) {
            checker(out, f, s, vs, rs, c)?;
        }
    }
    Ok(())
}

/// keepalived's `default_delay_before_retry` of each checker type.
fn default_retry_delay(kind: &CheckerKind) -> Duration {
    match kind {
        CheckerKind::Http(_) => Duration::from_secs(3),
        CheckerKind::Dns { .. } => Duration::ZERO,
        _ => Duration::from_secs(1),
    }
}

fn checker(
    out: &mut dyn Write,
    f: &CheckFacts,
    s: &CheckSpec,
    vs: &VirtualServer,
    rs: &RealServer,
    c: &Checker,
) -> io::Result<()> {
    let alpha = c.common.alpha.or(rs.alpha).unwrap_or(vs.alpha);
    let timing = s.sm.timing();
    let st = f
        .state
        .checkers
        .get(&s.id)
        .copied()
        .unwrap_or(CheckerStatus {
            enabled: true,
            up: !alpha,
            progress: s.sm.progress(),
            weight: 0,
            last_run: None,
        });
    // An SMTP_CHECK with `host` blocks is one checker per host in
    // keepalived, preceded by its own when it has connection settings.
    let targets: Vec<Target> = match (&s.probe, &c.kind) {
        (ProbeSpec::Smtp { hosts, .. }, CheckerKind::Smtp { hosts: conf, .. })
            if !hosts.is_empty() =>
        {
            let own = c.conn != Default::default();
            let mut t = Vec::new();
            if own {
                t.push(s.target.clone());
            }
            for (h, co) in hosts.iter().zip(conf) {
                // keepalived leaves a host's unset timeout at 0.
                let mut h = h.clone();
                h.timeout = dur(co.connect_timeout).unwrap_or_default();
                t.push(h);
            }
            t
        }
        _ => vec![s.target.clone()],
    };
    for target in targets {
        writeln!(out, " {} -> {}", vs.fmt(), rs.fmt(vs))?;
        writeln!(out, "   Enabled = {}", yes_no(st.enabled))?;
        writeln!(out, "   Up = {}", yes_no(st.up))?;
        let p: Progress = st.progress;
        writeln!(out, "   Has run = {}", yes_no(p.has_run))?;
        writeln!(out, "   Current weight = {}", st.weight)?;
        let file = matches!(c.kind, CheckerKind::File { .. });
        if !file {
            writeln!(out, "   Alpha = {}", yes_no(alpha))?;
            writeln!(out, "   Delay loop = {} us", timing.delay_loop.as_micros())?;
            writeln!(out, "   Warmup = {} us", timing.warmup.as_micros())?;
            writeln!(out, "   Retries = {}", timing.retry)?;
            if timing.retry > 0 {
                writeln!(
                    out,
                    "   Delay before retry = {} us",
                    timing.delay_before_retry.as_micros()
                )?;
                writeln!(out, "   Retries iterations = {}", p.retry_it)?;
            }
            writeln!(
                out,
                "   Default delay before retry = {} us",
                default_retry_delay(&c.kind).as_micros()
            )?;
        }
        writeln!(
            out,
            "   Log all failures = {}",
            yes_no(c.common.log_all_failures.unwrap_or(false))
        )?;
        if !file && !matches!(c.kind, CheckerKind::Misc { .. }) {
            connection(out, &target)?;
        }
        kind(out, f, s, c, &st)?;
    }
    Ok(())
}

fn connection(out: &mut dyn Write, t: &Target) -> io::Result<()> {
    writeln!(out, "   Connection")?;
    writeln!(out, "     Dest = {}", pair(t.addr))?;
    if let Some(l) = &t.local {
        if let Some(b) = l.bind {
            writeln!(out, "     Bind to = {}", pair(b))?;
        }
        if let Some(i) = &l.bind_if {
            writeln!(out, "     Bind i/f = {i}")?;
        }
        if let Some(m) = l.fwmark.filter(|&m| m != 0) {
            writeln!(out, "     Mark = {m}")?;
        }
    }
    writeln!(out, "     Timeout = {}", secs_f(t.timeout))
}

fn kind(
    out: &mut dyn Write,
    f: &CheckFacts,
    s: &CheckSpec,
    c: &Checker,
    st: &CheckerStatus,
) -> io::Result<()> {
    match &c.kind {
        CheckerKind::Tcp => writeln!(out, "   Keepalive method = TCP_CHECK"),
        CheckerKind::Http(h) => http(out, f, h, st.progress.failed_url),
        CheckerKind::Smtp { helo_name, .. } => {
            writeln!(out, "   Keepalive method = SMTP_CHECK")?;
            writeln!(
                out,
                "   helo = {}",
                helo_name.as_deref().unwrap_or(DEFAULT_HELO)
            )
        }
        CheckerKind::Misc {
            path,
            timeout,
            dynamic,
        } => {
            writeln!(out, "   Keepalive method = MISC_CHECK")?;
            let argv = path.as_ref().map(|p| p.argv.clone()).unwrap_or_default();
            writeln!(out, "   script = {}", quote_command(&argv))?;
            writeln!(
                out,
                "   timeout = {}",
                dur(*timeout).unwrap_or_default().as_secs()
            )?;
            writeln!(out, "   dynamic = {}", if *dynamic { "YES" } else { "NO" })?;
            let who = match &s.probe {
                ProbeSpec::Misc { cmd, .. } => cmd.run_as,
                _ => f.global.script_user,
            };
            writeln!(out, "   uid:gid = {}:{}", who.uid, who.gid)?;
            let (at, status) = st
                .last_run
                .map_or((SystemTime::UNIX_EPOCH, 0), |r| (r.at, r.status));
            writeln!(out, "   Last ran = {}", last_ran(at))?;
            writeln!(out, "   Last status = {status}")
        }
        CheckerKind::Dns { qtype, name } => {
            writeln!(out, "   Keepalive method = DNS_CHECK")?;
            writeln!(out, "   Type = {}", dns_type(*qtype))?;
            writeln!(out, "   Name = {}", name.as_deref().unwrap_or(""))
        }
        CheckerKind::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => {
            writeln!(out, "   Keepalive method = UDP_CHECK")?;
            match payload {
                Some(p) => writeln!(out, "   Payload len = {}", p.len())?,
                None => writeln!(out, "   Payload specified = no")?,
            }
            writeln!(
                out,
                "   Require reply = {}",
                yes_no(require_reply.is_some())
            )?;
            if let Some(data) = require_reply {
                writeln!(out, "     Min reply length = {min_reply_length}")?;
                writeln!(
                    out,
                    "     Max reply length = {}",
                    max_reply_length.unwrap_or(255)
                )?;
                writeln!(out, "     Reply data len = {}", data.len())?;
                if !data.is_empty() {
                    writeln!(out, "     Reply data mask = no")?;
                }
            }
            Ok(())
        }
        CheckerKind::Ping => writeln!(out, "   Keepalive method = PING_CHECK"),
        CheckerKind::File { track_file, .. } => {
            writeln!(out, "   Keepalive method = FILE_CHECK")?;
            let name = track_file.as_deref().unwrap_or("");
            writeln!(out, "     Tracked file = {name}")?;
            let reloaded = f
                .state
                .virtual_servers
                .get(s.id.vs)
                .and_then(|v| v.real_servers.get(s.id.rs))
                .is_some_and(|r| r.reloaded);
            writeln!(
                out,
                "     Reloaded = {}",
                if reloaded { "Yes" } else { "No" }
            )
        }
        CheckerKind::Bfd { .. } => Ok(()),
    }
}

/// `SECS.USECS (Www Mmm dd hh:mm:ss yyyy.USECS)` in local time, as
/// keepalived prints a MISC_CHECK's last run.
fn last_ran(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let us = d.subsec_micros();
    format!(
        "{}.{us:06} ({}.{us:06})",
        d.as_secs(),
        crate::sys::strftime_local(t, c"%a %b %e %T %Y")
    )
}

fn dns_type(t: DnsType) -> &'static str {
    match t {
        DnsType::A => "A",
        DnsType::Ns => "NS",
        DnsType::Cname => "CNAME",
        DnsType::Soa => "SOA",
        DnsType::Mx => "MX",
        DnsType::Txt => "TXT",
        DnsType::Aaaa => "AAAA",
        DnsType::Rrsig => "RRSIG",
        DnsType::Dnskey => "DNSKEY",
    }
}

fn http(out: &mut dyn Write, f: &CheckFacts, h: &HttpCheck, failed: Option<u16>) -> io::Result<()> {
    let proto = match h.protocol {
        HttpProtocol::Http10 => "1.0",
        HttpProtocol::Http10C => "1.0C",
        HttpProtocol::Http11 => "1.1",
    };
    writeln!(
        out,
        "   Keepalive method = {}_GET, http protocol {proto}",
        if h.ssl { "SSL" } else { "HTTP" }
    )?;
    if let Some(v) = &h.virtualhost {
        writeln!(out, "   Virtualhost = {v}")?;
    }
    let set = |b: bool| if b { "set" } else { "unset" };
    writeln!(out, "   Enable SNI {}", set(h.enable_sni))?;
    writeln!(out, "   Fast recovery {}", set(h.fast_recovery))?;
    for u in &h.urls {
        url(out, f, u)?;
    }
    if let Some(u) = failed.and_then(|i| h.urls.get(usize::from(i))) {
        writeln!(out, "   Failed URL = {}", u.path.as_deref().unwrap_or(""))?;
    }
    Ok(())
}

/// The accepted status codes as keepalived lists them: runs of its
/// 100-599 bitmap (200-299 unless configured).
fn status_runs(codes: &[(u16, u16)]) -> Vec<String> {
    let mut bits = [false; 500];
    if codes.is_empty() {
        bits[100..200].fill(true);
    }
    for &(a, b) in codes {
        for c in a.max(100)..=b.min(599) {
            bits[usize::from(c - 100)] = true;
        }
    }
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        if !bits[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < bits.len() && bits[i] {
            i += 1;
        }
        let (a, b) = (start + 100, i - 1 + 100);
        runs.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    runs
}

fn url(out: &mut dyn Write, f: &CheckFacts, u: &Url) -> io::Result<()> {
    writeln!(out, "   Checked url = {}", u.path.as_deref().unwrap_or(""))?;
    if let Some(d) = &u.digest {
        writeln!(out, "     digest = {}", d.to_ascii_lowercase())?;
    }
    writeln!(out, "     HTTP Status Code(s)")?;
    for r in status_runs(&u.status_codes) {
        writeln!(out, "       {r}")?;
    }
    if let Some(v) = &u.virtualhost {
        writeln!(out, "     Virtual host = {v}")?;
    }
    let Some(re) = &u.regex else {
        return Ok(());
    };
    writeln!(out, "     Regex = \"{}\"", String::from_utf8_lossy(re))?;
    if u.regex_no_match {
        writeln!(out, "     Regex no match")?;
    }
    match (u.regex_min_offset, u.regex_max_offset) {
        (min, Some(max)) => writeln!(out, "     Regex min offset = {min}, max_offset = {max}")?,
        (0, None) => {}
        (min, None) => writeln!(out, "     Regex min offset = {min}")?,
    }
    let options = if u.regex_options.is_empty() {
        String::new()
    } else {
        crate::check::body_regex::OPTIONS
            .iter()
            .map(|o| format!(" {o}"))
            .collect()
    };
    writeln!(out, "     Regex options:{options}")?;
    // keepalived shares one compiled regex between the URLs with the same
    // pattern and options.
    let refs = f
        .config
        .lvs
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers)
        .filter_map(|c| match &c.kind {
            CheckerKind::Http(h) => Some(&h.urls),
            _ => None,
        })
        .flatten()
        .filter(|o| o.regex == u.regex && o.regex_options == u.regex_options)
        .count();
    writeln!(out, "     Regex ref count = {refs}")
}

fn track_files(out: &mut dyn Write, f: &CheckFacts) -> io::Result<()> {
    // The track files FILE_CHECKs use, in configuration order, with the
    // checkers tracking each.
    let mut used: Vec<(&str, Vec<String>)> = Vec::new();
    for tf in &f.config.vrrp.track_files {
        let mut tracking = Vec::new();
        for s in f.specs {
            let Some((vs, rs, c)) = parts(f, s.id) else {
                continue;
            };
            if let Some((name, _, w, rev)) = file_check(f, c) {
                if name == tf.name {
                    tracking.push(format!(
                        "     {} -> {}, weight {w}{}",
                        vs.fmt(),
                        rs.fmt(vs),
                        reverse(rev)
                    ));
                }
            }
        }
        if !tracking.is_empty() {
            used.push((&tf.name, tracking));
        }
    }
    if used.is_empty() {
        return Ok(());
    }
    writeln!(out, "------< Checker track files >------")?;
    for (name, tracking) in used {
        let Some(tf) = f.config.vrrp.track_files.iter().find(|t| t.name == name) else {
            continue;
        };
        writeln!(out, " Track file = {name}")?;
        writeln!(out, "   File = {}", tf.file.as_deref().unwrap_or(""))?;
        let v = f.track_values.get(name).copied().unwrap_or(0);
        writeln!(out, "   Status = {v}")?;
        writeln!(
            out,
            "   Weight = {}{}",
            tf.weight.value,
            reverse(tf.weight.reverse)
        )?;
        writeln!(out, "   Tracking instances :")?;
        for l in tracking {
            writeln!(out, "{l}")?;
        }
    }
    Ok(())
}

/// A digest of what the dump shows of a configuration: the dump re-reads
/// the configuration (the checker keeps none of it, to stay small with
/// thousands of real servers) and writes only if it is the one running.
pub fn fingerprint(c: &Config) -> u64 {
    crate::check::driver::debug_digest(&(&c.global, &c.lvs, &c.vrrp.track_files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::spec::{self, SpecOptions};
    use crate::check::status::MiscRun;
    use crate::config::{load_str, ReaderOptions};

    const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// The dump of `conf` with `state`, as the captures had it: run as
    /// root, no resolvable host name.
    fn dump(conf: &str, state: &Snapshot, tracks: &[(&str, i64)]) -> String {
        let cfg = load_str("t.conf", conf, ReaderOptions::default()).config;
        let specs = spec::build(&cfg, SpecOptions { script_user: ROOT }).0;
        let mut g = GlobalInfo::from_config(&cfg.global);
        g.script_user = ROOT;
        g.local_name = None;
        g.user_name = Some("root".into());
        let values = tracks.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        text(&CheckFacts {
            global: &g,
            config: &cfg,
            specs: &specs,
            state,
            track_values: &values,
        })
    }

    /// A real server: alive and in IPVS, or down with `failed` checkers
    /// and out; configured and effective weight.
    fn rs(alive: bool, failed: u32, iweight: i64, effective: i64) -> RsStatus {
        RsStatus {
            alive,
            set: alive,
            num_failed: failed,
            iweight,
            effective,
            ..RsStatus::default()
        }
    }

    fn vs(quorum_up: bool, real_servers: Vec<RsStatus>) -> VsStatus {
        VsStatus {
            quorum_up,
            real_servers,
            ..VsStatus::default()
        }
    }

    /// A checker that has run: up or not, retries counted, weight.
    fn chk(up: bool, retry_it: u32, weight: i64) -> CheckerStatus {
        CheckerStatus {
            enabled: true,
            up,
            progress: Progress {
                has_run: true,
                retry_it,
                failed_url: None,
            },
            weight,
            last_run: None,
        }
    }

    fn id(vs: usize, rs: usize, checker: usize) -> CheckerId {
        CheckerId { vs, rs, checker }
    }

    /// Line by line, without the MISC_CHECK's local-time `Last ran`
    /// (the captures ran in UTC), which must start with `last_ran`.
    fn assert_same(got: &str, want: &str, last_ran: &str) {
        let keep = |l: &&str| !l.starts_with("   Last ran = ");
        let g: Vec<&str> = got.lines().filter(keep).collect();
        let w: Vec<&str> = want.lines().filter(keep).collect();
        assert!(w.len() > 100 && w.contains(&"------< Health checkers >------"));
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            assert_eq!(a, b, "line {} differs; ours:\n{got}", i + 1);
        }
        assert_eq!(g.len(), w.len(), "ours:\n{got}");
        if let Some(l) = got.lines().find(|l| l.starts_with("   Last ran = ")) {
            assert!(l.starts_with(last_ran), "{l}");
        }
    }

    /// keepalived 2.2.7's `keepalived_check.data` for `full.conf` (a
    /// virtual server group, a fwmark and an IPv6 virtual server, quorum,
    /// a sorry server, TCP, HTTP, MISC, SMTP, DNS, UDP, PING, SSL and FILE
    /// checkers), captured in the IPVS VM, with the state it had then.
    #[test]
    fn matches_keepalived_with_every_checker_kind() {
        let conf = include_str!("../../../tests/data/check_dump/full.conf");
        let want = include_str!("../../../tests/data/check_dump/full.keepalived.data");
        let mut state = Snapshot {
            virtual_servers: vec![
                vs(
                    true,
                    vec![
                        rs(true, 0, 3, 3),
                        rs(true, 0, 2, 2),
                        rs(true, 0, 1, 3),
                        rs(false, 1, 4, 4),
                    ],
                ),
                vs(false, vec![rs(false, 2, 1, 1)]),
                vs(false, vec![rs(false, 1, 7, 4)]),
                vs(false, vec![rs(false, 1, 1, 1)]),
            ],
            checkers: BTreeMap::new(),
        };
        state.virtual_servers[0].sorry = Some(rs(false, 0, 1, 1));
        let mut misc = chk(true, 0, 2);
        misc.last_run = Some(MiscRun {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_814_507_359_646),
            status: 5,
        });
        let mut ssl = chk(false, 2, 0);
        ssl.progress.failed_url = Some(0);
        for (i, c) in [
            (id(0, 0, 0), chk(true, 0, 0)),
            (id(0, 1, 0), chk(true, 0, 0)),
            (id(0, 2, 0), misc),
            (id(0, 3, 0), chk(false, 0, 0)),
            (id(1, 0, 0), chk(false, 1, 0)),
            (id(1, 0, 1), chk(false, 0, 0)),
            (id(2, 0, 0), chk(false, 0, 0)),
            (id(2, 0, 1), chk(true, 0, 0)),
            (id(2, 0, 2), chk(true, 0, -3)),
            (id(3, 0, 0), ssl),
        ] {
            state.checkers.insert(i, c);
        }
        let got = dump(conf, &state, &[("tf1", 1)]);
        assert_same(&got, want, "   Last ran = 1795814507.359646 (");
    }

    fn not_run(retry_it: u32) -> CheckerStatus {
        let mut c = chk(true, retry_it, 0);
        c.progress.has_run = false;
        c
    }

    fn state(vss: Vec<VsStatus>, checkers: Vec<(CheckerId, CheckerStatus)>) -> Snapshot {
        Snapshot {
            virtual_servers: vss,
            checkers: checkers.into_iter().collect(),
        }
    }

    /// HTTP_GET details (status code runs, url virtualhost, regex with its
    /// options and offsets, 1.0C), SSL_GET with SNI and a bind address, an
    /// SMTP_CHECK of two `host`s, DNS_CHECK's defaults, UDP_CHECKs, FILE_CHECKs
    /// with the track files' weights, a DR sorry server with inhibit, GRE
    /// and fwmark IPv6 virtual servers: keepalived 2.2.7's dump of
    /// `checks2.conf`.
    #[test]
    fn matches_keepalived_with_checker_details() {
        let conf = include_str!("../../../tests/data/check_dump/checks2.conf");
        let want = include_str!("../../../tests/data/check_dump/checks2.keepalived.data");
        let mut misc = chk(true, 0, 0);
        misc.last_run = Some(MiscRun {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_815_499_642_225),
            status: 0,
        });
        let mut ssl = chk(false, 3, 0);
        ssl.progress.failed_url = Some(0);
        let mut vs0 = vs(
            true,
            vec![
                rs(false, 1, 1, 1),
                rs(false, 3, 2, 2),
                rs(true, 0, 1, 7),
                rs(true, 0, 1, 1),
            ],
        );
        vs0.sorry = Some(rs(false, 0, 1, 1));
        let st = state(
            vec![
                vs0,
                vs(true, vec![rs(true, 0, 1, 1)]),
                vs(true, vec![rs(true, 0, 1, 1)]),
            ],
            vec![
                (id(0, 0, 0), chk(true, 0, 0)),
                (id(0, 0, 1), ssl),
                (id(0, 1, 0), not_run(2)),
                (id(0, 1, 1), chk(false, 0, 0)),
                (id(0, 1, 2), chk(false, 0, 0)),
                (id(0, 1, 3), chk(false, 0, 0)),
                (id(0, 2, 0), misc),
                (id(0, 2, 1), chk(true, 0, 0)),
                (id(0, 2, 2), chk(true, 0, 6)),
                (id(1, 0, 0), not_run(1)),
                (id(1, 0, 1), not_run(1)),
                (id(2, 0, 0), chk(true, 0, 0)),
            ],
        );
        let got = dump(conf, &st, &[("tf0", 0), ("tfr", 3)]);
        assert_same(&got, want, "   Last ran = 1795815499.642225 (");
    }

    /// An IPv6 group with a range, an address and a fwmark (their
    /// `Alive:` counts), an SMTP_CHECK with its own target and a `host`,
    /// a regex without options, suspended checkers (`ha_suspend`), a TUN
    /// sorry server: keepalived 2.2.7's dump of `checks3.conf`.
    #[test]
    fn matches_keepalived_with_groups_and_suspended_checkers() {
        let conf = include_str!("../../../tests/data/check_dump/checks3.conf");
        let want = include_str!("../../../tests/data/check_dump/checks3.keepalived.data");
        let off = |mut c: CheckerStatus| {
            c.enabled = false;
            c
        };
        let st = state(
            vec![
                vs(true, vec![rs(true, 0, 3, 3)]),
                vs(true, vec![rs(true, 0, 1, 1), rs(true, 0, 1, 1)]),
            ],
            vec![
                (id(0, 0, 0), not_run(1)),
                (id(1, 0, 0), off(not_run(1))),
                (id(1, 1, 0), off(not_run(1))),
            ],
        );
        let got = dump(conf, &st, &[]);
        // keepalived counts an SMTP_CHECK's own target and each host apart
        // (0 and 1 here, neither has run); ours is one checker, at `retry`
        // until it runs.
        let own = "   Retries iterations = 0\n   Default delay before retry = 1000000 us\n   Log all failures = no\n   Connection\n     Dest = [127.0.1.1]:8026";
        assert!(want.contains(own));
        let want = want.replacen(own, &own.replace("= 0", "= 1"), 1);
        assert_same(&got, &want, "");
    }

    /// alpha, omega, inhibit, ha_suspend, thresholds, a bound and marked
    /// TCP_CHECK, a MISC_CHECK that never ran, a fwmark group of unknown
    /// family (its `Alive:` counts go to IPv6), mh flags and a GUE tunnel:
    /// keepalived 2.2.7's dump of `options.conf`.
    #[test]
    fn matches_keepalived_with_options() {
        let conf = include_str!("../../../tests/data/check_dump/options.conf");
        let want = include_str!("../../../tests/data/check_dump/options.keepalived.data");
        let off = |mut c: CheckerStatus| {
            c.enabled = false;
            c
        };
        let mut inhibited = rs(false, 1, 5, 5);
        inhibited.set = true;
        let mut misc = off(not_run(4));
        misc.up = false;
        let st = state(
            vec![
                vs(false, vec![inhibited]),
                vs(true, vec![rs(true, 0, 1, 1)]),
            ],
            vec![
                (id(0, 0, 0), off(not_run(4))),
                (id(0, 0, 1), misc),
                (id(1, 0, 0), not_run(1)),
            ],
        );
        let got = dump(conf, &st, &[]);
        assert_same(&got, want, "   Last ran = 0.000000 (");
    }
}

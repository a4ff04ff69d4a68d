//! Running a scenario in the scale lab (`scale.rs`): convergence, the
//! steady window, the crash of the master and B's takeover, and the report
//! with its pass criteria. Shared by `tests/scale.rs` and
//! `benches/vrrp_scale.rs`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::capture::{Capture, Frame};
use crate::scale::{
    conf, loadavg, vip_counts, Daemon, Impl, Monitor, Routers, LINKS, MARGIN, MASTER_DOWN, PRIO_A,
    PRIO_B, TOO_SOON,
};

/// How a scenario is run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Instances per link (VRIDs 1..=per_link on each).
    pub per_link: u8,
    /// The steady window.
    pub window: Duration,
    /// Counts unchanged this long (after Master_Down + 1 s) = converged.
    pub stable: Duration,
    /// Give up waiting for stable counts after this long.
    pub converge_max: Duration,
    /// Start B only once A holds every VIP (else both at once).
    pub stagger: bool,
}

/// One router's figures.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub imp: Option<Impl>,
    /// VIPs held after convergence, per link.
    pub vips: [usize; LINKS],
    /// VIPs held at the end of the steady window, per link.
    pub vips_end: [usize; LINKS],
    /// VIP address events (add or delete) in the steady window.
    pub events: usize,
    /// utime + stime over the steady window.
    pub cpu: Duration,
    /// RSS and PSS at the end of the window (KiB), summed over processes.
    pub rss_kib: u64,
    pub pss_kib: u64,
    /// Its processes during the window.
    pub procs: usize,
    /// `Entering MASTER STATE` lines logged before the crash, per link.
    pub masters: [usize; LINKS],
    /// Log lines before the crash, and a few notable ones.
    pub log_lines: usize,
    pub notable: Vec<String>,
}

/// B's takeover after A's crash.
#[derive(Debug, Clone, Default)]
pub struct Takeover {
    /// VIPs B held just before the crash.
    pub before: usize,
    /// VIPs B holds at the end.
    pub after: usize,
    /// VIPs added on B after the kill, and when the first and the last
    /// appeared (from the kill).
    pub added: usize,
    pub first: Option<Duration>,
    pub last: Option<Duration>,
    /// On B's wire: when the last VIP got its first gratuitous ARP, and
    /// how many VIPs B announced.
    pub garp_last: Option<Duration>,
    pub garped: usize,
    /// A's adverts on the wire more than 20 ms after the kill, and those
    /// with priority 0 (a resignation: the crash was not one).
    pub a_adverts: usize,
    pub a_prio0: usize,
    /// A's processes killed, and those that survived.
    pub killed: usize,
    pub survivors: usize,
}

/// A scenario's outcome.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub name: String,
    /// Instances in all.
    pub n: usize,
    pub a: Side,
    pub b: Side,
    /// From the start of both daemons until the counts reached their
    /// final values; `None` if these were not A = n, B = 0.
    pub converge: Option<Duration>,
    /// When A first held every VIP and B none (the counts may have
    /// changed after that).
    pub first_ok: Option<Duration>,
    /// The steady window as measured.
    pub window: Duration,
    pub takeover: Takeover,
    /// The scratch directory, when kept because something failed.
    pub kept: Option<PathBuf>,
    /// B was started once A held every VIP.
    pub stagger: bool,
    /// The host's 1-minute load average at the start and end of the run
    /// (the routers share the host's CPUs with everything else).
    pub load: [f64; 2],
}

fn total(c: &[usize; LINKS]) -> usize {
    c.iter().sum()
}

fn per_link(c: &[usize; LINKS]) -> String {
    let v: Vec<String> = c
        .iter()
        .enumerate()
        .map(|(l, n)| format!("eth{l} {n}"))
        .collect();
    v.join(", ")
}

impl Report {
    /// The pass criteria that failed, one line each.
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        let (a, b, n) = (&self.a, &self.b, self.n);
        if total(&a.vips) != n || total(&b.vips) != 0 {
            f.push(format!(
                "after convergence the master A holds {} of {n} VIPs ({}) and the backup B holds {} ({}); \
                 B logged Entering MASTER STATE for {}",
                total(&a.vips),
                per_link(&a.vips),
                total(&b.vips),
                per_link(&b.vips),
                per_link(&b.masters)
            ));
        }
        if a.events + b.events != 0 {
            f.push(format!(
                "{} VIP events on A and {} on B in the steady window of {:.1} s",
                a.events,
                b.events,
                self.window.as_secs_f64()
            ));
        }
        if total(&a.vips_end) != n || total(&b.vips_end) != 0 {
            f.push(format!(
                "at the end of the steady window A holds {} and B {} VIPs",
                total(&a.vips_end),
                total(&b.vips_end)
            ));
        }
        let t = &self.takeover;
        if t.survivors != 0 || t.killed < 2 {
            f.push(format!(
                "crash: {} processes of A killed, {} survived",
                t.killed, t.survivors
            ));
        }
        if t.a_adverts != 0 {
            f.push(format!(
                "crash: A sent {} adverts after the kill ({} with priority 0)",
                t.a_adverts, t.a_prio0
            ));
        }
        if t.after != n {
            f.push(format!("after the crash B holds {} of {n} VIPs", t.after));
        }
        match t.last {
            Some(d) if d > MASTER_DOWN + MARGIN => f.push(format!(
                "after the crash B's last VIP appeared {:.1} ms after the kill, more than \
                 Master_Down {:.1} ms + {} ms",
                ms(d),
                ms(MASTER_DOWN),
                MARGIN.as_millis()
            )),
            None if t.before < n => f.push("after the crash B added no VIP".into()),
            _ => {}
        }
        if let Some(d) = t.first.filter(|&d| d < TOO_SOON) {
            f.push(format!(
                "after the crash B's first VIP appeared {:.1} ms after the kill, sooner \
                 than a silent master allows (A resigned, or B was no steady backup)",
                ms(d)
            ));
        }
        f
    }

    /// Several lines describing the run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let (a, b) = (&self.a, &self.b);
        let name = |x: &Side| x.imp.map_or("?", Impl::name);
        let _ = writeln!(
            s,
            "[{}] A {} (priority {PRIO_A}) vs B {} (priority {PRIO_B}), {} instances, {}; \
             host load {:.1} -> {:.1}",
            self.name,
            name(a),
            name(b),
            self.n,
            if self.stagger {
                "B started once A held every VIP"
            } else {
                "both started at once"
            },
            self.load[0],
            self.load[1]
        );
        let _ = writeln!(
            s,
            "  convergence: {} (A all, B none first at {}); A holds {} ({}), B holds {} ({})",
            self.converge.map_or("NOT REACHED".into(), |d| format!(
                "{:.2} s",
                d.as_secs_f64()
            )),
            self.first_ok
                .map_or("-".into(), |d| format!("{:.2} s", d.as_secs_f64())),
            total(&a.vips),
            per_link(&a.vips),
            total(&b.vips),
            per_link(&b.vips)
        );
        let _ = writeln!(
            s,
            "  Entering MASTER STATE before the crash: A {} ({}), B {} ({})",
            total(&a.masters),
            per_link(&a.masters),
            total(&b.masters),
            per_link(&b.masters)
        );
        let _ = writeln!(
            s,
            "  steady window {:.1} s: VIP events A {} B {}; at its end A holds {}, B {}",
            self.window.as_secs_f64(),
            a.events,
            b.events,
            total(&a.vips_end),
            total(&b.vips_end)
        );
        for (r, x) in [("A", a), ("B", b)] {
            let _ = writeln!(
                s,
                "  {r} {:10} {} processes: CPU {:.2} s ({:.1} %), RSS {:.1} MiB, PSS {:.1} MiB, {} log lines",
                name(x),
                x.procs,
                x.cpu.as_secs_f64(),
                100.0 * x.cpu.as_secs_f64() / self.window.as_secs_f64().max(1e-9),
                x.rss_kib as f64 / 1024.0,
                x.pss_kib as f64 / 1024.0,
                x.log_lines
            );
        }
        let t = &self.takeover;
        let opt = |d: Option<Duration>| d.map_or("-".into(), |d| format!("{:.1} ms", ms(d)));
        let _ = writeln!(
            s,
            "  crash of A ({} processes killed, {} survived; A adverts after {}, priority 0 {}): \
             B held {} before, {} after, {} added: first {}, last {} (bound {:.1} ms); \
             last first-GARP on the wire {} ({} VIPs announced)",
            t.killed,
            t.survivors,
            t.a_adverts,
            t.a_prio0,
            t.before,
            t.after,
            t.added,
            opt(t.first),
            opt(t.last),
            ms(MASTER_DOWN + MARGIN),
            opt(t.garp_last),
            t.garped
        );
        for (r, x) in [("A", a), ("B", b)] {
            for l in &x.notable {
                let _ = writeln!(s, "  {r} log: {l}");
            }
        }
        if let Some(k) = &self.kept {
            let _ = writeln!(s, "  logs kept in {}", k.display());
        }
        s
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// VIP counts per link on (A, B).
type Counts = ([usize; LINKS], [usize; LINKS]);

/// What [`converge`] saw: the final counts, when they were reached, and
/// when A first held every VIP with B none (all from `t0`).
struct Converged {
    counts: Counts,
    reached: Duration,
    first_ok: Option<Duration>,
}

/// Samples both routers every 100 ms until some VIP is held and the
/// counts have been stable for `p.stable` (not before Master_Down + 1 s),
/// or for at most `p.converge_max`.
fn converge(r: &Routers, p: &Params, n: usize, t0: Instant) -> Converged {
    let earliest = t0 + MASTER_DOWN + Duration::from_secs(1);
    let deadline = t0 + p.converge_max;
    let mut last: Counts = ([0; LINKS], [0; LINKS]);
    let mut changed = t0;
    let mut first_ok = None;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let cur = (vip_counts(&r.a), vip_counts(&r.b));
        let now = Instant::now();
        if first_ok.is_none() && total(&cur.0) == n && total(&cur.1) == 0 {
            first_ok = Some(now - t0);
        }
        if cur != last {
            last = cur;
            changed = now;
        }
        // Nobody holding a VIP is no final state: a daemon may still be
        // starting its instances (keepalived takes seconds with 1000).
        let some = total(&cur.0) + total(&cur.1) > 0;
        if (some && now >= earliest && now - changed >= p.stable) || now >= deadline {
            return Converged {
                counts: last,
                reached: changed - t0,
                first_ok,
            };
        }
    }
}

/// `Entering MASTER STATE` lines per link, the line count and a few
/// notable lines (errors, warnings), deduplicated with digits masked.
fn log_stats(log: &str) -> ([usize; LINKS], usize, Vec<String>) {
    let mut masters = [0; LINKS];
    let mut seen = HashSet::new();
    let mut notable = Vec::new();
    for line in log.lines() {
        if line.contains("Entering MASTER STATE") {
            if let Some(l) = line
                .split("(L")
                .nth(1)
                .and_then(|r| r.split('_').next())
                .and_then(|d| d.parse::<usize>().ok())
                .filter(|&l| l < LINKS)
            {
                masters[l] += 1;
            }
        }
        let low = line.to_ascii_lowercase();
        if [
            "error", "warn", "fail", "cannot", "unable", "overrun", "expired",
        ]
        .iter()
        .any(|k| low.contains(k))
        {
            let key: String = line
                .chars()
                .map(|c| if c.is_ascii_digit() { '#' } else { c })
                .collect();
            if seen.insert(key) && notable.len() < 6 {
                notable.push(line.chars().take(200).collect());
            }
        }
    }
    (masters, log.lines().count(), notable)
}

/// The steady window: CPU over it, memory and counts at its end.
fn steady(r: &Routers, d: [&Daemon; 2], mons: [&Monitor; 2], window: Duration) -> [Side; 2] {
    let cpu0 = [d[0].cpu(), d[1].cpu()];
    let t0 = Instant::now();
    std::thread::sleep(window);
    let t1 = Instant::now();
    let cpu1 = [d[0].cpu(), d[1].cpu()];
    let mut out = [Side::default(), Side::default()];
    for (i, ns) in [&r.a, &r.b].into_iter().enumerate() {
        let s = &mut out[i];
        s.imp = Some(d[i].imp);
        s.cpu = cpu1[i].saturating_sub(cpu0[i]);
        (s.rss_kib, s.pss_kib) = d[i].mem();
        s.procs = d[i].pids().len();
        s.events = mons[i].between(t0, t1).len();
        s.vips_end = vip_counts(ns);
        (s.masters, s.log_lines, s.notable) = log_stats(&d[i].log());
    }
    out
}

/// Crashes A, waits for B to hold all `n` VIPs, and measures.
fn crash_and_takeover(r: &Routers, a: &mut Daemon, mon_b: &Monitor, n: usize) -> Takeover {
    let caps: Vec<Capture> = (0..LINKS)
        .map(|l| Capture::start(&r.b.name, &format!("eth{l}")))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = total(&vip_counts(&r.b));
    let Some(crash) = a.crash() else {
        return Takeover::default();
    };
    let end = crash.at + MASTER_DOWN + Duration::from_secs(3);
    while Instant::now() < end && total(&vip_counts(&r.b)) < n {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = total(&vip_counts(&r.b));
    let frames: Vec<Frame> = caps.into_iter().flat_map(Capture::stop).collect();

    let mut first_add: HashMap<Ipv4Addr, Instant> = HashMap::new();
    for e in mon_b.events() {
        if e.added && e.t >= crash.at {
            first_add.entry(e.vip).or_insert(e.t);
        }
    }
    let adds: Vec<Duration> = first_add.values().map(|&t| t - crash.at).collect();
    let a_ips: Vec<Ipv4Addr> = (0..LINKS)
        .map(|l| Ipv4Addr::new(10, 98, l as u8, 1))
        .collect();
    let mut first_garp: HashMap<Ipv4Addr, Duration> = HashMap::new();
    let (mut a_adverts, mut a_prio0) = (0, 0);
    for f in frames.iter().filter(|f| f.t >= crash.wall) {
        if let Some((_, ip)) = f.garp() {
            let d = f.t - crash.wall;
            first_garp
                .entry(ip)
                .and_modify(|x| *x = d.min(*x))
                .or_insert(d);
        }
        match f.advert() {
            Some((src, _, prio))
                if a_ips.contains(&src) && f.t >= crash.wall + Duration::from_millis(20) =>
            {
                a_adverts += 1;
                a_prio0 += usize::from(prio == 0);
            }
            _ => {}
        }
    }
    Takeover {
        before,
        after,
        added: adds.len(),
        first: adds.iter().min().copied(),
        last: adds.iter().max().copied(),
        garp_last: first_garp.values().max().copied(),
        garped: first_garp.len(),
        a_adverts,
        a_prio0,
        killed: crash.pids.len(),
        survivors: crash.survivors.len(),
    }
}

/// Runs one scenario: A runs `a_imp`, B runs `b_imp`.
pub fn run_scenario(name: &str, a_imp: Impl, b_imp: Impl, p: &Params, tag: &str) -> Report {
    let load0 = loadavg();
    let mut r = Routers::new(tag);
    let n = LINKS * usize::from(p.per_link);
    let mon_a = Monitor::start(&r.a);
    let mon_b = Monitor::start(&r.b);
    let t0 = Instant::now();
    let mut a = Daemon::start(a_imp, &r.a, &r.dir, "a", &conf(PRIO_A, p.per_link));
    if p.stagger {
        let end = t0 + p.converge_max;
        while Instant::now() < end && total(&vip_counts(&r.a)) < n {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let b = Daemon::start(b_imp, &r.b, &r.dir, "b", &conf(PRIO_B, p.per_link));
    let c = converge(&r, p, n, t0);
    let (ca, cb) = c.counts;
    let converged = total(&ca) == n && total(&cb) == 0;
    let [mut sa, mut sb] = steady(&r, [&a, &b], [&mon_a, &mon_b], p.window);
    (sa.vips, sb.vips) = (ca, cb);
    let takeover = crash_and_takeover(&r, &mut a, &mon_b, n);
    drop(b);
    drop(a);
    let mut rep = Report {
        name: name.into(),
        n,
        a: sa,
        b: sb,
        converge: converged.then_some(c.reached),
        first_ok: c.first_ok,
        window: p.window,
        takeover,
        kept: None,
        stagger: p.stagger,
        load: [load0, loadavg()],
    };
    if !rep.failures().is_empty() {
        r.keep = true;
        rep.kept = Some(r.dir.clone());
    }
    rep
}

//! VRRP scale benchmark, ours and keepalived 2.2.7 side by side in one run.
//!
//! Two routers A (priority 150) and B (priority 100) in network
//! namespaces, four links between them, 1000 VRRP instances (250 per link,
//! VRIDs 1..250 reused on every link, one /32 VIP each, advert_int 1); the
//! lab is `tests/common/scale.rs` and `scale_run.rs`, the one
//! `tests/scale.rs` runs with 400 instances. Scenarios (A/B): keepalived/keepalived (the baseline),
//! ours/ours, ours/keepalived, keepalived/ours. For each:
//! - convergence: from the start of both daemons until the VIP counts are
//!   final (and stable for 3 s); the master must hold all, the backup none;
//! - a steady window (60 s): VIP add/delete events on both routers (`ip
//!   monitor address`), CPU (utime+stime of all of a daemon's processes,
//!   `/proc/PID/stat`) and RSS/PSS (`/proc/PID/smaps_rollup`) at its end;
//! - a crash of A (SIGKILL to every process, the parent frozen first): when
//!   B's last VIP appears in its address table and when the last VIP gets
//!   its first gratuitous ARP on B's wire (kernel capture timestamps), from
//!   the kill, against Master_Down_Interval 3.609 s (+ 200 ms allowed).
//!
//! Then ours against keepalived per role (master = A, backup = B), over the
//! scenarios whose convergence was right, with the ratios ours/keepalived.
//!
//! usage (as root): `cargo bench --bench vrrp_scale`
//! env: PER_LINK (250), WINDOW seconds (60), SCENARIOS (kk,oo,ok,ko: o =
//! ours, k = keepalived, A first), KEEPALIVED (/usr/sbin/keepalived),
//! START (`simultaneous`, the default: both daemons at once; `staggered`:
//! B once A holds every VIP), SCALE_KEEP (keep every scratch directory
//! with the logs).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/scale.rs"]
mod scale;
#[path = "../tests/common/scale_run.rs"]
mod scale_run;

use std::time::Duration;

use scale::{Impl, MARGIN, MASTER_DOWN};
use scale_run::{ms, run_scenario, Params, Report, Side};

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn parse_scenario(s: &str) -> Option<(Impl, Impl)> {
    let imp = |c| match c {
        'o' => Some(Impl::Ours),
        'k' => Some(Impl::Keepalived),
        _ => None,
    };
    let mut c = s.chars();
    let r = (imp(c.next()?)?, imp(c.next()?)?);
    c.next().is_none().then_some(r)
}

fn opt_ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1} ms", ms(d)))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn print_outcomes(reps: &[Report]) {
    println!();
    println!(
        "| scenario (A/B) | convergence | VIPs on A / B | VIP events in window | crash: first / last VIP on B | last − Master_Down | last first-GARP on the wire | result |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for r in reps {
        let t = &r.takeover;
        let total = |s: &Side| s.vips.iter().sum::<usize>();
        let err = t.last.map_or("-".into(), |d| {
            format!("{:+.1} ms", ms(d) - ms(MASTER_DOWN))
        });
        println!(
            "| {} | {} | {} / {} | {} | {} / {} | {err} | {} | {} |",
            r.name,
            r.converge.map_or("not reached".into(), |d| format!(
                "{:.2} s",
                d.as_secs_f64()
            )),
            total(&r.a),
            total(&r.b),
            r.a.events + r.b.events,
            opt_ms(t.first),
            opt_ms(t.last),
            opt_ms(t.garp_last),
            if r.failures().is_empty() {
                "pass"
            } else {
                "FAIL"
            },
        );
    }
}

fn print_resources(reps: &[Report]) {
    println!();
    println!("| scenario (A/B) | router | implementation | processes | CPU in window | CPU % | RSS | PSS |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in reps {
        for (role, s) in [("A (master)", &r.a), ("B (backup)", &r.b)] {
            println!(
                "| {} | {role} | {} | {} | {:.2} s | {:.2} % | {:.1} MiB | {:.1} MiB |",
                r.name,
                s.imp.map_or("?", Impl::name),
                s.procs,
                s.cpu.as_secs_f64(),
                100.0 * s.cpu.as_secs_f64() / r.window.as_secs_f64(),
                mib(s.rss_kib),
                mib(s.pss_kib)
            );
        }
    }
}

/// One role's figure for one implementation over the scenarios whose
/// convergence was right: the mean, and each scenario's value.
struct Figure {
    mean: f64,
    each: String,
}

fn figure(reps: &[Report], master: bool, imp: Impl, f: &dyn Fn(&Side) -> f64) -> Option<Figure> {
    let v: Vec<(&str, f64)> = reps
        .iter()
        .filter(|r| r.converge.is_some())
        .map(|r| (r.name.as_str(), if master { &r.a } else { &r.b }))
        .filter(|(_, s)| s.imp == Some(imp))
        .map(|(n, s)| (n, f(s)))
        .collect();
    if v.is_empty() {
        return None;
    }
    let each: Vec<String> = v.iter().map(|(n, x)| format!("{n} {x:.2}")).collect();
    Some(Figure {
        mean: v.iter().map(|(_, x)| x).sum::<f64>() / v.len() as f64,
        each: each.join(", "),
    })
}

/// A measure's name, unit and value for one router.
type Measure<'a> = (&'a str, &'a str, &'a dyn Fn(&Side) -> f64);

fn print_comparison(reps: &[Report], window: Duration) {
    println!();
    println!(
        "ours vs keepalived per role, steady window of {:.0} s (means over the scenarios that \
         converged right; each scenario's value in brackets):",
        window.as_secs_f64()
    );
    println!("| role | measure | keepalived 2.2.7 | keepalived-rs | ours/keepalived |");
    println!("|---|---|---|---|---|");
    let measures: [Measure; 3] = [
        ("CPU (utime+stime)", "s", &|s| s.cpu.as_secs_f64()),
        ("RSS at the end", "MiB", &|s| mib(s.rss_kib)),
        ("PSS at the end", "MiB", &|s| mib(s.pss_kib)),
    ];
    for (master, role) in [(true, "master (A)"), (false, "backup (B)")] {
        for (what, unit, f) in measures {
            match (
                figure(reps, master, Impl::Keepalived, f),
                figure(reps, master, Impl::Ours, f),
            ) {
                (Some(k), Some(o)) => println!(
                    "| {role} | {what} | {:.2} {unit} ({}) | {:.2} {unit} ({}) | {:.2} |",
                    k.mean,
                    k.each,
                    o.mean,
                    o.each,
                    o.mean / k.mean
                ),
                _ => println!("| {role} | {what} | no converged scenario for both | | |"),
            }
        }
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("vrrp_scale benchmark: needs root (network namespaces)");
        return;
    }
    let per_link: u8 = env_or("PER_LINK", 250u8).max(1);
    let window = Duration::from_secs(env_or("WINDOW", 60u64));
    let list: String = env_or("SCENARIOS", "kk,oo,ok,ko".to_string());
    let scenarios: Vec<(Impl, Impl)> = list.split(',').filter_map(parse_scenario).collect();
    let needs_k = scenarios
        .iter()
        .any(|&(a, b)| a == Impl::Keepalived || b == Impl::Keepalived);
    if needs_k && !std::path::Path::new(&common::lab::keepalived_bin()).exists() {
        eprintln!(
            "vrrp_scale benchmark: {} missing (set KEEPALIVED or SCENARIOS=oo)",
            common::lab::keepalived_bin()
        );
        return;
    }
    let p = Params {
        per_link,
        window,
        stable: Duration::from_secs(3),
        converge_max: Duration::from_secs(30),
        stagger: std::env::var("START").is_ok_and(|v| v == "staggered"),
    };
    println!(
        "vrrp_scale: {} instances ({per_link} per link on 4 links), advert_int 1, steady window {} s, \
         {} start, crash bound Master_Down {:.1} ms + {} ms",
        4 * usize::from(per_link),
        window.as_secs(),
        if p.stagger { "staggered" } else { "simultaneous" },
        ms(MASTER_DOWN),
        MARGIN.as_millis()
    );
    let mut reps = Vec::new();
    for (i, &(a, b)) in scenarios.iter().enumerate() {
        let name = format!("{}/{}", a.name(), b.name());
        let rep = run_scenario(&name, a, b, &p, &format!("vs{i}"));
        print!("{}", rep.summary());
        for f in rep.failures() {
            println!("  FAIL: {f}");
        }
        reps.push(rep);
    }
    print_outcomes(&reps);
    print_resources(&reps);
    print_comparison(&reps, window);
}

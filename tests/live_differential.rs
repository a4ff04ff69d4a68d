//! Live differential: keepalived 2.2.7 and ours run the same configuration
//! in identical network namespaces, and the kernel state they leave is
//! compared, while running and after they stop.
//!
//! For each configuration (a Debian sample or a top-level file of the
//! conformance corpus) that has a `vrrp_instance`, does not switch network
//! namespace (`net_namespace`/`instance`), and that keepalived 2.2.7
//! accepts (`keepalived -t` exits 0 in the namespace the run uses; for
//! the Debian samples also 5 and 6, errors keepalived runs with anyway):
//!
//! 1. a fresh namespace is built holding the interfaces the configuration
//!    names (veth, up, 198.18.N.1/24, IPv6 link-local without DAD), see
//!    `live_differential/run.rs`;
//! 2. keepalived runs there alone (`-n -l -D -G -P`, private pid files,
//!    `TMPDIR` in a scratch directory, tmpfs on /tmp and /run) until its
//!    instances have settled past Master_Down (4 advert intervals, plus
//!    script rise/fall time and `vrrp_startup_delay`, plus 1.5 s; capped by
//!    `LIVE_DIFF_MAX_SETTLE`, default 12 s);
//! 3. a snapshot is taken (`ip -o addr`, `ip -d -o link`, the ARP/rp_filter
//!    sysctls, routes and rules of every table and family, `nft list
//!    ruleset`, the last `(NAME) Entering X STATE` of each instance in its
//!    log, whether it still runs), it is stopped with SIGTERM and the
//!    snapshot is taken again (with its exit status);
//! 4. the same with ours in another fresh namespace; the snapshots must be
//!    equal (normalised for what is random: see
//!    `live_differential/snapshot.rs`).
//!
//! Differences not listed in `tests/live-differential-known.txt` fail the
//! test. By default only the sample named in
//! `tests/live-differential-sample.txt` runs (a few minutes); the whole
//! corpus with `LIVE_DIFF_ALL=1`. Other knobs: `LIVE_DIFF_FILTER`
//! (substrings of the config names to run, comma-separated), `LIVE_DIFF_THREADS` (configs
//! run at once, default 6), `LIVE_DIFF_REPORT_ONLY=1` (never fail),
//! `KEEPALIVED`, `KEEPALIVED_SAMPLES`, `KEEPALIVED_CORPUS` as in
//! `tests/differential.rs`. Logs, snapshots and `report.txt` are kept in
//! `target/tmp/live_differential/` (`live_differential_all/` for the whole
//! corpus).
//!
//! Without root, keepalived, `nft` or the corpus the test is skipped,
//! except when `CI` is set: then that is a failure.

#[path = "live_differential/known.rs"]
mod known;
#[path = "live_differential/run.rs"]
mod run;
#[path = "live_differential/scan.rs"]
mod scan;
#[path = "live_differential/snapshot.rs"]
mod snapshot;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;
use common::lab::files_in;

use known::Known;
use run::{Files, NetBox};
use snapshot::Snapshot;

/// Where the programs and configurations are.
struct Setup {
    keepalived: PathBuf,
    samples: PathBuf,
    ours: PathBuf,
    configs: Vec<PathBuf>,
    out: PathBuf,
    max_settle: Duration,
    sample: bool,
}

/// What happened to one configuration.
enum Outcome {
    /// Not run, and why.
    Skipped(String),
    /// Run: the differing sections `(section, only keepalived, only ours)`.
    Ran(Vec<(String, Vec<String>, Vec<String>)>),
    /// The harness itself failed (namespace, spawn).
    Error(String),
}

struct Row {
    label: String,
    outcome: Outcome,
    took: Duration,
    scan: scan::Scan,
}

fn skip_or_fail(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "live differential cannot run under CI: {why}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED live differential: {why}");
    common::record_skip("live differential", why);
}

fn env_path(var: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or(default)
}

fn env_flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn label(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Checks the prerequisites and lists the configurations to run; `None`
/// when the test is skipped.
fn setup() -> Option<Setup> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let keepalived = env_path("KEEPALIVED", PathBuf::from("/usr/sbin/keepalived"));
    let samples = env_path(
        "KEEPALIVED_SAMPLES",
        PathBuf::from("/usr/share/doc/keepalived/samples"),
    );
    let corpus = env_path(
        "KEEPALIVED_CORPUS",
        manifest.join("../shared/conformance/keepalived-devel-tools/configs"),
    );
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip_or_fail("not running as root (network namespaces are needed)");
        return None;
    }
    if !keepalived.is_file() {
        skip_or_fail(&format!(
            "{} not found (apt-get install keepalived)",
            keepalived.display()
        ));
        return None;
    }
    for (tool, pkg) in [("ip", "iproute2"), ("nft", "nftables")] {
        if Command::new(tool).arg("-V").output().is_err() {
            skip_or_fail(&format!("`{tool}` not found (apt-get install {pkg})"));
            return None;
        }
    }
    if !corpus.is_dir() {
        skip_or_fail(&format!(
            "corpus {} not found (set KEEPALIVED_CORPUS)",
            corpus.display()
        ));
        return None;
    }
    let mut all = files_in(&samples, |n| n.starts_with("keepalived.conf."));
    if all.is_empty() {
        skip_or_fail(&format!("no samples in {}", samples.display()));
        return None;
    }
    all.extend(files_in(&corpus, |_| true));
    let sample = !env_flag("LIVE_DIFF_ALL");
    let mut configs = if sample {
        let list = known::sample(&manifest.join("tests/live-differential-sample.txt"));
        let picked: Vec<PathBuf> = all
            .iter()
            .filter(|p| list.contains(&label(p)))
            .cloned()
            .collect();
        let missing: Vec<&String> = list
            .iter()
            .filter(|n| !picked.iter().any(|p| label(p) == **n))
            .collect();
        assert!(missing.is_empty(), "sample configs not found: {missing:?}");
        picked
    } else {
        all
    };
    if let Some(f) = std::env::var("LIVE_DIFF_FILTER")
        .ok()
        .filter(|f| !f.is_empty())
    {
        configs.retain(|p| f.split(',').any(|x| label(p).contains(x)));
    }
    let max_settle = std::env::var("LIVE_DIFF_MAX_SETTLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(12), Duration::from_secs_f64);
    let dir = if sample {
        "live_differential"
    } else {
        "live_differential_all"
    };
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&out).expect("create output directory");
    Some(Setup {
        keepalived,
        samples,
        ours: PathBuf::from(env!("CARGO_BIN_EXE_keepalived")),
        configs,
        out,
        max_settle,
        sample,
    })
}

/// Waits until the daemon's log has not grown for `still` (at most `max`):
/// a configuration with a hundred VMACs is still adding VIPs when its
/// Master_Down has passed, and the snapshot must not race it.
fn quiet(d: &run::Daemon, still: Duration, max: Duration) {
    let end = std::time::Instant::now() + max;
    let mut len = d.log().len();
    while std::time::Instant::now() < end {
        std::thread::sleep(still);
        let now = d.log().len();
        if now == len {
            return;
        }
        len = now;
    }
}

/// Runs one daemon on `config` in a fresh namespace: the snapshot while it
/// runs (`run.*`) and after it stopped (`stop.*`). With `gate`, the run
/// happens only if `-t` of that binary exits with one of those codes there
/// (else `Err`).
fn side(
    bin: &Path,
    config: &Path,
    sc: &scan::Scan,
    files: &Files,
    gate: Option<&[i32]>,
) -> Result<Snapshot, Outcome> {
    let nb = NetBox::new(&files.tag, sc).map_err(Outcome::Error)?;
    if let Some(codes) = gate {
        let code = run::config_test(&nb, bin, config, &files.path("t.log"));
        if !code.is_some_and(|c| codes.contains(&c)) {
            let what = code.map_or("hang".to_string(), |c| format!("exit {c}"));
            return Err(Outcome::Skipped(format!("keepalived -t: {what}")));
        }
    }
    let mut d = run::start(&nb, bin, config, files).map_err(Outcome::Error)?;
    std::thread::sleep(sc.settle.saturating_sub(d.started.elapsed()));
    quiet(&d, Duration::from_millis(500), Duration::from_secs(3));
    let mut snap = Snapshot::new();
    for (k, v) in snapshot::take(&nb) {
        snap.insert(format!("run.{k}"), v);
    }
    let running = if d.running() { "running" } else { "exited" };
    snap.insert("run.process".into(), vec![running.into()]);
    snap.insert("run.state".into(), snapshot::states(&d.log()));
    let stopped = d.stop();
    for (k, v) in snapshot::take(&nb) {
        snap.insert(format!("stop.{k}"), v);
    }
    snap.insert("stop.process".into(), vec![stopped]);
    drop(d);
    drop(nb);
    let mut text = String::new();
    for (k, v) in &snap {
        let _ = writeln!(text, "[{k}]");
        for l in v {
            let _ = writeln!(text, "{l}");
        }
    }
    let _ = std::fs::write(files.path("snapshot.txt"), text);
    Ok(snap)
}

/// The `keepalived -t` exit codes that let a configuration run: 0 for the
/// corpus; for the Debian samples also 5 (errors keepalived works around,
/// such as a deprecated keyword) and 6 (script security: the scripts are
/// disabled), since keepalived runs them all the same and they are the
/// configurations users start from.
fn accepted(s: &Setup, config: &Path) -> &'static [i32] {
    if config.parent() == Some(s.samples.as_path()) {
        &[0, 5, 6]
    } else {
        &[0]
    }
}

fn run_config(s: &Setup, config: &Path, sc: &scan::Scan) -> Outcome {
    if !sc.vrrp {
        return Outcome::Skipped("no vrrp_instance".into());
    }
    if sc.leaves_namespace {
        return Outcome::Skipped("net_namespace/instance".into());
    }
    let dir = s.out.join(label(config));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create config directory");
    let kf = Files {
        dir: dir.clone(),
        tag: "keepalived".into(),
    };
    let k = match side(&s.keepalived, config, sc, &kf, Some(accepted(s, config))) {
        Ok(k) => k,
        Err(o) => return o,
    };
    let of = Files {
        dir,
        tag: "ours".into(),
    };
    match side(&s.ours, config, sc, &of, None) {
        Ok(o) => Outcome::Ran(snapshot::diff(&k, &o)),
        Err(o) => o,
    }
}

/// Runs every configuration on a pool of threads.
fn run_all(s: &Setup) -> Vec<Row> {
    let threads: usize = std::env::var("LIVE_DIFF_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
        .clamp(1, 32);
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(config) = s.configs.get(i) else {
                    break;
                };
                let start = Instant::now();
                let scan = scan::scan(config, s.max_settle);
                let outcome = run_config(s, config, &scan);
                let row = Row {
                    label: label(config),
                    outcome,
                    took: start.elapsed(),
                    scan,
                };
                if let Outcome::Ran(d) = &row.outcome {
                    let _ = writeln!(
                        std::io::stderr(),
                        "live differential: {} {} in {:.1?}",
                        row.label,
                        if d.is_empty() { "equal" } else { "DIFFERENT" },
                        row.took
                    );
                }
                rows.lock().unwrap().push(row);
            });
        }
    });
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    rows
}

/// The report, and the failures (unlisted differences, harness errors,
/// sample configurations that could not run).
fn report(s: &Setup, rows: &[Row], known: &Known, took: Duration) -> (String, Vec<String>) {
    let mut r = String::new();
    let mut failures = Vec::new();
    let ran: Vec<&Row> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Ran(_)))
        .collect();
    let equal = ran
        .iter()
        .filter(|r| matches!(&r.outcome, Outcome::Ran(d) if d.is_empty()))
        .count();
    let _ = writeln!(
        r,
        "live differential: {} configs considered, {} run, in {:.1?}",
        rows.len(),
        ran.len(),
        took
    );
    let _ = writeln!(r, "agreement: {equal} equal of {} run", ran.len());
    let mut unlisted = 0;
    for row in rows {
        match &row.outcome {
            Outcome::Skipped(why) => {
                if s.sample {
                    failures.push(format!("sample config {} not run: {why}", row.label));
                }
            }
            Outcome::Error(e) => failures.push(format!("{}: harness error: {e}", row.label)),
            Outcome::Ran(diffs) => {
                for (section, only_k, only_o) in diffs {
                    let verdict = match known.reason(&row.label, section) {
                        Some(reason) => format!("known: {reason}"),
                        None => {
                            unlisted += 1;
                            "UNLISTED".to_string()
                        }
                    };
                    let _ = writeln!(r, "{} {section}: {verdict}", row.label);
                    for l in only_k {
                        let _ = writeln!(r, "    - keepalived: {l}");
                    }
                    for l in only_o {
                        let _ = writeln!(r, "    + ours:       {l}");
                    }
                    if only_k.is_empty() && only_o.is_empty() {
                        let _ = writeln!(r, "    (same lines, different order)");
                    }
                }
            }
        }
    }
    for (name, section) in known.stale(rows.iter().filter_map(|row| match &row.outcome {
        Outcome::Ran(d) => Some((row.label.as_str(), d.iter().map(|x| x.0.as_str()).collect())),
        _ => None,
    })) {
        let _ = writeln!(
            r,
            "note: {name} {section} is listed as known but now agrees"
        );
    }
    let skipped: Vec<String> = rows
        .iter()
        .filter_map(|row| match &row.outcome {
            Outcome::Skipped(why) => Some(format!("{} ({why})", row.label)),
            _ => None,
        })
        .collect();
    let _ = writeln!(r, "skipped: {}", skipped.len());
    let covered: std::collections::BTreeSet<&str> = ran
        .iter()
        .flat_map(|row| row.scan.features.iter().copied())
        .collect();
    let covered: Vec<&str> = covered.into_iter().collect();
    let _ = writeln!(r, "VRRP features run: {}", covered.join(" "));
    if unlisted > 0 {
        failures.push(format!("{unlisted} unlisted differences"));
    }
    let _ = writeln!(r, "logs and snapshots: {}", s.out.display());
    (r, failures)
}

#[test]
fn live_differential() {
    let Some(s) = setup() else { return };
    let known = Known::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live-differential-known.txt"),
    );
    let started = Instant::now();
    let rows = run_all(&s);
    let (text, failures) = report(&s, &rows, &known, started.elapsed());
    let _ = std::io::stderr().write_all(text.as_bytes());
    let _ = std::fs::write(s.out.join("report.txt"), &text);
    let skipped: String = rows
        .iter()
        .filter_map(|row| match &row.outcome {
            Outcome::Skipped(why) => Some(format!("{} {why}\n", row.label)),
            _ => None,
        })
        .collect();
    let _ = std::fs::write(s.out.join("skipped.txt"), skipped);
    let features: String = rows
        .iter()
        .filter(|row| matches!(row.outcome, Outcome::Ran(_)))
        .map(|row| {
            let f: Vec<&str> = row.scan.features.iter().copied().collect();
            format!(
                "{} {:.1} {}\n",
                row.label,
                row.scan.settle.as_secs_f64(),
                f.join(",")
            )
        })
        .collect();
    let _ = std::fs::write(s.out.join("features.txt"), features);
    if env_flag("LIVE_DIFF_REPORT_ONLY") {
        return;
    }
    assert!(
        failures.is_empty(),
        "live differential failed: {}",
        failures.join("; ")
    );
}

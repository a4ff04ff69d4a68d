//! Differential test: `keepalived -t` (the real keepalived 2.2.7) against ours.
//!
//! Every Debian sample config (`/usr/share/doc/keepalived/samples/keepalived.conf.*`)
//! and every top-level file of the conformance corpus
//! (`../shared/conformance/keepalived-devel-tools/configs/`, relative to the
//! crate root; override with `KEEPALIVED_CORPUS`) is checked by both programs
//! in the same freshly created network namespace holding veth devices
//! eth0..eth3 (both ends inside, all up) and `lo`. The exit codes must agree.
//!
//! Outcomes: an exit code (`0`, `5`, ...), `hang` (killed after the timeout:
//! 5 s for keepalived, 10 s for ours) or `signal N`.
//!
//! Accepted differences live in `tests/differential-known.txt`, one per line:
//! `<config basename> <keepalived outcome> <our outcome> <reason>`. `*` as our
//! outcome accepts any exit code (not a hang or a signal): used where
//! keepalived itself is broken and what we answer is settled elsewhere.
//!
//! The test fails on any unlisted difference, when agreement is below 99 %,
//! or when ours takes more than 1 s of CPU time on any config (CPU, not wall
//! time: the check must not depend on how busy the machine is). `DIFFERENTIAL_REPORT_ONLY=1`
//! prints everything but never fails. Without root, keepalived or the corpus
//! the test is skipped, except when `CI` is set: then that is a failure.
//!
//! Other knobs: `KEEPALIVED` (path of the reference binary, default
//! `/usr/sbin/keepalived`), `KEEPALIVED_SAMPLES` (samples directory),
//! `DIFFERENTIAL_THREADS` (default 3), `DIFFERENTIAL_FILTER` (substring a
//! config's basename must contain; the 99 % check is skipped when set).
//! Both programs' messages are kept under `target/tmp/differential/`, with
//! `report.txt` and `outcomes.txt` (`<config> <keepalived> <ours> <our CPU ms>`).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod common;
use common::lab::files_in;

const KEEPALIVED_TIMEOUT: Duration = Duration::from_secs(5);
const OURS_TIMEOUT: Duration = Duration::from_secs(10);
const OURS_MAX: Duration = Duration::from_secs(1);
const MIN_AGREEMENT: f64 = 99.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Exit(i32),
    Signal(i32),
    Hang,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exit(c) => write!(f, "{c}"),
            Outcome::Signal(s) => write!(f, "signal {s}"),
            Outcome::Hang => write!(f, "hang"),
        }
    }
}

/// One side of a line of the known-differences file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pattern {
    Is(Outcome),
    /// `*`: any exit code.
    AnyExit,
}

impl Pattern {
    fn matches(&self, o: Outcome) -> bool {
        match self {
            Pattern::Is(p) => *p == o,
            Pattern::AnyExit => matches!(o, Outcome::Exit(_)),
        }
    }
}

/// Reads one outcome from the front of `words` (`5`, `hang`, `signal 6`, `*`).
fn parse_outcome(
    words: &mut std::iter::Peekable<std::str::SplitWhitespace<'_>>,
) -> Option<Pattern> {
    let w = words.next()?;
    match w {
        "*" => Some(Pattern::AnyExit),
        "hang" | "timeout" => Some(Pattern::Is(Outcome::Hang)),
        "signal" => Some(Pattern::Is(Outcome::Signal(words.next()?.parse().ok()?))),
        _ => {
            if let Some(n) = w.strip_prefix("signal").map(|s| s.trim_start_matches(':')) {
                return Some(Pattern::Is(Outcome::Signal(n.parse().ok()?)));
            }
            Some(Pattern::Is(Outcome::Exit(w.parse().ok()?)))
        }
    }
}

struct Known {
    keepalived: Pattern,
    ours: Pattern,
    reason: String,
}

fn load_known(path: &Path) -> HashMap<String, Known> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut known = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace().peekable();
        let name = words.next().unwrap().to_string();
        let (Some(keepalived), Some(ours)) = (parse_outcome(&mut words), parse_outcome(&mut words))
        else {
            panic!("{}:{}: cannot parse `{line}`", path.display(), n + 1);
        };
        let reason = words.collect::<Vec<_>>().join(" ");
        assert!(
            !reason.is_empty(),
            "{}:{}: a reason is required",
            path.display(),
            n + 1
        );
        known.insert(
            name,
            Known {
                keepalived,
                ours,
                reason,
            },
        );
    }
    known
}

/// A network namespace deleted when dropped (also while unwinding).
struct Netns {
    name: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("kadiff{}x{:x}", std::process::id(), nanos);
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        for i in 0..4 {
            let (eth, peer) = (format!("eth{i}"), format!("peer{i}"));
            ip(&[
                "-n", &ns.name, "link", "add", &eth, "type", "veth", "peer", "name", &peer,
            ])?;
            ip(&["-n", &ns.name, "link", "set", &eth, "up"])?;
            ip(&["-n", &ns.name, "link", "set", &peer, "up"])?;
        }
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("warning: {e}");
        }
    }
}

/// Runs `bin -t -f config` inside the namespace; kills it by pid on timeout.
/// The time returned is the child's CPU time (user + system, from `wait4`):
/// unlike wall time it does not grow when the machine is busy (keepalived's
/// hangs spin a core for their whole timeout while ours run beside them).
fn run(ns: &str, bin: &Path, config: &Path, log: &Path, timeout: Duration) -> (Outcome, Duration) {
    let log_file = File::create(log).expect("create log file");
    let start = Instant::now();
    // `ip netns exec` execs the program itself: the pid we hold is its pid.
    // Reaped below with `wait4` (for its rusage), not through `Child`.
    #[allow(clippy::zombie_processes)]
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(bin)
        .arg("-t")
        .arg("-f")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("dup log file"))
        .stderr(log_file)
        .spawn()
        .expect("spawn ip netns exec");
    let pid = child.id() as libc::pid_t;
    let mut killed = false;
    loop {
        let mut status = 0;
        // SAFETY: plain FFI call with valid out-pointers; `pid` is our child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            let cpu = |t: libc::timeval| {
                Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
            };
            let used = cpu(usage.ru_utime) + cpu(usage.ru_stime);
            let outcome = if killed {
                Outcome::Hang
            } else if libc::WIFEXITED(status) {
                Outcome::Exit(libc::WEXITSTATUS(status))
            } else {
                Outcome::Signal(libc::WTERMSIG(status))
            };
            return (outcome, used);
        }
        if !killed && start.elapsed() >= timeout {
            // SAFETY: `pid` is our own child, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn skip_or_fail(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("differential test cannot run under CI: {why}");
    }
    // Straight to stderr: libtest captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPED differential test: {why}");
    common::record_skip("differential", why);
}

struct Row {
    label: String,
    keepalived: Outcome,
    ours: Outcome,
    ours_time: Duration,
}

#[test]
fn differential_config_test() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_keepalived"));
    let keepalived = std::env::var_os("KEEPALIVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/keepalived"));
    let samples = std::env::var_os("KEEPALIVED_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/doc/keepalived/samples"));
    let corpus = std::env::var_os("KEEPALIVED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../shared/conformance/keepalived-devel-tools/configs"));
    let report_only =
        std::env::var("DIFFERENTIAL_REPORT_ONLY").is_ok_and(|v| !v.is_empty() && v != "0");
    let filter = std::env::var("DIFFERENTIAL_FILTER")
        .ok()
        .filter(|f| !f.is_empty());

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("not running as root (network namespaces are needed)");
    }
    if !keepalived.is_file() {
        return skip_or_fail(&format!(
            "{} not found (apt-get install keepalived)",
            keepalived.display()
        ));
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return skip_or_fail("`ip` not found (apt-get install iproute2)");
    }
    if !corpus.is_dir() {
        return skip_or_fail(&format!(
            "corpus {} not found (set KEEPALIVED_CORPUS)",
            corpus.display()
        ));
    }
    let mut configs = files_in(&samples, |n| n.starts_with("keepalived.conf."));
    if configs.is_empty() {
        return skip_or_fail(&format!("no samples in {}", samples.display()));
    }
    configs.extend(files_in(&corpus, |_| true));
    if let Some(f) = &filter {
        configs.retain(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains(f.as_str())
        });
    }

    let known = load_known(&manifest.join("tests/differential-known.txt"));
    let logs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential");
    std::fs::create_dir_all(&logs).expect("create log directory");

    let ns = Netns::create().expect("create network namespace");
    let threads: usize = std::env::var("DIFFERENTIAL_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .clamp(1, 16);
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::with_capacity(configs.len()));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(config) = configs.get(i) else { break };
                let label = config.file_name().unwrap().to_string_lossy().into_owned();
                let (k, _) = run(
                    &ns.name,
                    &keepalived,
                    config,
                    &logs.join(format!("{label}.keepalived.txt")),
                    KEEPALIVED_TIMEOUT,
                );
                let (o, t) = run(
                    &ns.name,
                    &ours,
                    config,
                    &logs.join(format!("{label}.ours.txt")),
                    OURS_TIMEOUT,
                );
                rows.lock().unwrap().push(Row {
                    label,
                    keepalived: k,
                    ours: o,
                    ours_time: t,
                });
            });
        }
    });
    drop(ns);
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by(|a, b| a.label.cmp(&b.label));

    let total = rows.len();
    let agree = rows.iter().filter(|r| r.keepalived == r.ours).count();
    let mut accepted = Vec::new();
    let mut unlisted = Vec::new();
    for r in rows.iter().filter(|r| r.keepalived != r.ours) {
        match known.get(&r.label) {
            Some(k) if k.keepalived.matches(r.keepalived) && k.ours.matches(r.ours) => accepted
                .push(format!(
                    "{} keepalived={} ours={} ({})",
                    r.label, r.keepalived, r.ours, k.reason
                )),
            _ => unlisted.push(format!("{} {} {}", r.label, r.keepalived, r.ours)),
        }
    }
    let stale: Vec<&String> = known
        .keys()
        .filter(|name| {
            rows.iter()
                .any(|r| &r.label == *name && r.keepalived == r.ours)
        })
        .collect();
    let pct = if total == 0 {
        100.0
    } else {
        100.0 * agree as f64 / total as f64
    };
    let slowest = rows.iter().max_by_key(|r| r.ours_time);
    let too_slow: Vec<String> = rows
        .iter()
        .filter(|r| r.ours_time > OURS_MAX)
        .map(|r| format!("{} {:?}", r.label, r.ours_time))
        .collect();

    let mut report = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        report,
        "differential: {} configs in {:.1?} with {threads} threads",
        total,
        started.elapsed()
    );
    let _ = writeln!(report, "agreement: {agree}/{total} ({pct:.2} %)");
    if let Some(s) = slowest {
        let _ = writeln!(
            report,
            "slowest of ours (CPU time): {} {:?}",
            s.label, s.ours_time
        );
    }
    let _ = writeln!(report, "accepted differences ({}):", accepted.len());
    for a in &accepted {
        let _ = writeln!(report, "  {a}");
    }
    let _ = writeln!(
        report,
        "unlisted differences ({}) as `<config> <keepalived> <ours>`:",
        unlisted.len()
    );
    for u in &unlisted {
        let _ = writeln!(report, "  {u}");
    }
    for s in &stale {
        let _ = writeln!(
            report,
            "note: {s} is listed as a known difference but now agrees"
        );
    }
    let _ = writeln!(report, "messages of both programs: {}", logs.display());
    let _ = std::io::stderr().write_all(report.as_bytes());
    let _ = std::fs::write(logs.join("report.txt"), &report);
    let table: String = rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {}\n",
                r.label,
                r.keepalived,
                r.ours,
                r.ours_time.as_millis()
            )
        })
        .collect();
    let _ = std::fs::write(logs.join("outcomes.txt"), table);

    if report_only {
        let _ = writeln!(
            std::io::stderr(),
            "DIFFERENTIAL_REPORT_ONLY is set: not failing"
        );
        return;
    }
    let mut failures = Vec::new();
    if !unlisted.is_empty() {
        failures.push(format!("{} unlisted differences", unlisted.len()));
    }
    if filter.is_none() && pct < MIN_AGREEMENT {
        failures.push(format!("agreement {pct:.2} % < {MIN_AGREEMENT} %"));
    }
    if !too_slow.is_empty() {
        failures.push(format!(
            "ours took more than {OURS_MAX:?} on: {}",
            too_slow.join(", ")
        ));
    }
    assert!(
        failures.is_empty(),
        "differential test failed: {}\n{report}",
        failures.join("; ")
    );
}

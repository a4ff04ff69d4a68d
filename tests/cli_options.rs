//! Command-line options beside keepalived 2.2.7: `-g` (log file names and
//! lines), `-a` (the netlink reflector's address lines), `-M` (the kernel's
//! `core_pattern` during the run, restored after), `-m` (RLIMIT_CORE of the
//! parent and its children), `-x` (said to have no effect). Each daemon runs
//! in a network namespace of its own (`-s`); files go under the target's
//! temporary directory, and `core_pattern` is put back even on failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::lab::{wait_for, with_keepalived, Impl, Ns};

const CONF: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface ka0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.99.0.100/32\n  }\n}\n";

/// A namespace with `ka0` (10.99.0.1/24) and `ka1`, up.
fn lab(tag: &str) -> Ns {
    let ns = Ns::new(tag);
    ns.ip(&["link", "add", "ka0", "type", "veth", "peer", "name", "ka1"]);
    ns.ip(&["link", "set", "ka0", "up"]);
    ns.ip(&["link", "set", "ka1", "up"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "ka0"]);
    ns
}

/// A scratch directory under the target's temporary directory.
fn scratch(ns: &Ns) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A daemon (`-n -l -s NS`), its console in `DIR/console.log`, killed on drop.
struct Run {
    child: Option<Child>,
    console: PathBuf,
}

impl Run {
    fn start(which: Impl, ns: &Ns, dir: &Path, args: &[&str]) -> Run {
        let conf = dir.join("k.conf");
        std::fs::write(&conf, CONF).unwrap();
        let console = dir.join("console.log");
        let child = Command::new(which.binary())
            .args(["-n", "-l", "-s", &ns.name, "-f"])
            .arg(&conf)
            .args(args)
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&console).unwrap())
            .spawn()
            .expect("spawn");
        Run {
            child: Some(child),
            console,
        }
    }

    /// The console lines without their time stamps.
    fn lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.console).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once(": ").map(|(_, m)| m.to_string()))
            .collect()
    }

    fn has(&self, line: &str) -> bool {
        self.lines().iter().any(|l| l == line)
    }

    fn wait_line(&self, line: &str) {
        let seen = wait_for(Duration::from_secs(10), || self.has(line));
        assert!(seen.is_some(), "no '{line}':\n{:#?}", self.lines());
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then the exit code.
    fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let done = wait_for(Duration::from_secs(10), || {
            c.try_wait().ok().flatten().is_some()
        });
        if done.is_none() {
            let _ = c.kill();
        }
        c.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The files of `dir` whose names start with `keepalived`, sorted.
fn log_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keepalived"))
        .collect();
    v.sort();
    v
}

/// Whether a `-g` line has keepalived's stamp: `Mon Dec 07 13:04:07.719091764 2026: `.
fn file_stamp_ok(line: &str) -> bool {
    let b = line.as_bytes();
    line.len() > 36
        && b[3] == b' '
        && b[7] == b' '
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b[19] == b'.'
        && b[20..29].iter().all(u8::is_ascii_digit)
        && b[29] == b' '
        && &line[34..36] == ": "
}

/// The messages of a `-g` file, stamps checked and removed.
fn file_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            assert!(file_stamp_ok(l), "{}: bad stamp: {l}", path.display());
            l[36..].to_string()
        })
        .collect()
}

/// The lines of a start, a MASTER transition and a stop, by process.
const PARENT_LINES: [&str; 3] = [
    "Starting Keepalived v2.2.7 (01/16,2022)",
    "Startup complete",
    "Stopped Keepalived v2.2.7 (01/16,2022)",
];
const VRRP_LINES: [&str; 3] = [
    "(VI_1) Entering BACKUP STATE (init)",
    "(VI_1) Entering MASTER STATE",
    "Stopped",
];

/// keepalived 2.2.7 as Debian builds it has no `--enable-log-file`: it
/// refuses `-g` (exit 1). Its console shows the lines an
/// `--enable-log-file` build writes to its files; ours writes them to
/// keepalived's file names: the parent's `keepalived.log`, renamed
/// `keepalived_NS.log` once the namespace is known, the VRRP child's
/// `keepalived_vrrp_NS.log`.
#[test]
fn log_file_has_keepalived_names_and_the_start_and_stop_lines() {
    if !with_keepalived("cli_options") {
        return;
    }
    let refused = Command::new(Impl::Keepalived.binary())
        .args(["-g", "-t", "-f", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("-g requires configure option --enable-log-file"));

    let ns = lab("g");
    let dir = scratch(&ns);
    let mut k = Run::start(Impl::Keepalived, &ns, &dir, &["-P"]);
    k.wait_line("(VI_1) Entering MASTER STATE");
    k.stop();
    let console = k.lines();
    for l in PARENT_LINES.iter().chain(&VRRP_LINES) {
        assert!(console.iter().any(|c| c == l), "keepalived: no '{l}'");
    }
    std::fs::remove_file(dir.join("console.log")).unwrap();

    let mut o = Run::start(Impl::Ours, &ns, &dir, &["-P", "-g", "-x"]);
    o.wait_line("(VI_1) Entering MASTER STATE");
    assert_eq!(o.stop(), Some(0));
    let ns_file = format!("keepalived_{}.log", ns.name);
    let vrrp_file = format!("keepalived_vrrp_{}.log", ns.name);
    let mut want = vec![
        "keepalived.log".to_string(),
        ns_file.clone(),
        vrrp_file.clone(),
    ];
    want.sort();
    assert_eq!(log_files(&dir), want);
    let mut parent = file_lines(&dir.join("keepalived.log"));
    parent.extend(file_lines(&dir.join(&ns_file)));
    let vrrp = file_lines(&dir.join(&vrrp_file));
    let _ = std::fs::remove_dir_all(&dir);
    for l in PARENT_LINES {
        assert!(parent.iter().any(|p| p == l), "ours, parent: no '{l}'");
    }
    for l in VRRP_LINES {
        assert!(vrrp.iter().any(|v| v == l), "ours, vrrp: no '{l}'");
    }
    assert!(parent.contains(
        &"SNMP (-x) is not supported by this keepalived yet - no SNMP agent is started".into()
    ));
}

/// The reflector lines of one run with `-a`: the addresses present at
/// start (link-locals left out: their MACs are random) and an IPv4 and an
/// IPv6 address added to and deleted from `ka1`, sorted (the VRRP and
/// checker children log concurrently).
fn reflector_lines(which: Impl) -> Vec<String> {
    let ns = lab("a");
    let dir = scratch(&ns);
    let mut d = Run::start(which, &ns, &dir, &["-a", "--all", "-B"]);
    d.wait_line("Netlink reflector reports IP 10.99.0.1 added to ka0");
    d.wait_line("Netlink reflector reports IP 10.99.0.1 added");
    let steps: [&[&str]; 4] = [
        &["addr", "add", "10.77.0.9/24", "dev", "ka1"],
        &["addr", "del", "10.77.0.9/24", "dev", "ka1"],
        &["-6", "addr", "add", "fd00::9/64", "dev", "ka1", "nodad"],
        &["-6", "addr", "del", "fd00::9/64", "dev", "ka1"],
    ];
    for s in steps {
        ns.ip(s);
        std::thread::sleep(Duration::from_millis(300));
    }
    d.wait_line("Netlink reflector reports IP fd00::9 removed from ka1");
    d.wait_line("Netlink reflector reports IP fd00::9 removed");
    // A clean stop: the pid directory under /run/keepalived goes too.
    d.stop();
    drop(d);
    let console = Run {
        child: None,
        console: dir.join("console.log"),
    };
    let mut v: Vec<String> = console
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("Netlink reflector reports IP "))
        .filter(|l| !l.contains("fe80:") && !l.contains("10.99.0.100"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    v.sort();
    v
}

/// `-a`: the VRRP child logs `... IP A added to IF` / `removed from IF`,
/// the checker child `... IP A added` / `removed`, for the addresses
/// present at start and every change made by someone else.
#[test]
fn address_monitoring_logs_the_lines_of_keepalived() {
    if !with_keepalived("cli_options") {
        return;
    }
    let k = reflector_lines(Impl::Keepalived);
    let o = reflector_lines(Impl::Ours);
    assert_eq!(k, o, "keepalived (left) and ours (right) differ");
    assert!(o.contains(&"Netlink reflector reports IP 10.77.0.9 added to ka1".into()));
    assert!(o.contains(&"Netlink reflector reports IP fd00::9 removed".into()));
}

/// Puts `core_pattern` back when dropped, whatever happened.
struct PatternGuard(String);

impl Drop for PatternGuard {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/kernel/core_pattern", &self.0);
    }
}

fn core_pattern() -> String {
    std::fs::read_to_string("/proc/sys/kernel/core_pattern")
        .unwrap()
        .trim_end()
        .to_string()
}

/// `core_pattern` while one implementation runs with `-M PATN`, and after.
fn pattern_during_and_after(which: Impl, patn: &str) -> (String, String) {
    let ns = lab("M");
    let dir = scratch(&ns);
    let mut d = Run::start(which, &ns, &dir, &["-P", &format!("-M{patn}")]);
    d.wait_line("(VI_1) Entering BACKUP STATE (init)");
    let during = core_pattern();
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
    (during, core_pattern())
}

/// `-M PATN`: `core_pattern` is PATN while the daemon runs and the
/// original after. keepalived 2.2.7 means the same but writes PATN at the
/// offset its read of the original left, which the kernel ignores under
/// `kernel.sysctl_writes_strict = 1` (the default): measured, its pattern
/// does not change there. Both put the original back.
#[test]
fn core_dump_pattern_is_set_while_running_and_restored() {
    if !with_keepalived("cli_options") {
        return;
    }
    let orig = core_pattern();
    let _guard = PatternGuard(orig.clone());
    let patn = format!("{}/core.%p", env!("CARGO_TARGET_TMPDIR"));
    let strict = std::fs::read_to_string("/proc/sys/kernel/sysctl_writes_strict")
        .is_ok_and(|s| s.trim() == "1");
    let (k_during, k_after) = pattern_during_and_after(Impl::Keepalived, &patn);
    let (o_during, o_after) = pattern_during_and_after(Impl::Ours, &patn);
    assert_eq!(k_after, orig);
    assert_eq!(o_after, orig);
    assert_eq!(o_during, patn);
    assert_eq!(k_during, if strict { orig.clone() } else { patn.clone() });
}

/// `Max core file size` of a process: `soft hard`.
fn core_limit(pid: u32) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .map(|l| {
            l.split_whitespace()
                .skip(4)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The limits of a daemon started with `-m` (and RLIMIT_CORE 0): the
/// parent's, then its children's.
fn core_limits(which: Impl) -> Vec<String> {
    let ns = lab("m");
    let dir = scratch(&ns);
    let mut d = Run::start(which, &ns, &dir, &["-P", "-m"]);
    d.wait_line("(VI_1) Entering BACKUP STATE (init)");
    let pid = d.pid();
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut v = vec![format!("parent {}", core_limit(pid))];
    for c in children.split_whitespace() {
        v.push(format!("child {}", core_limit(c.parse().unwrap())));
    }
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
    v
}

/// `-m`: RLIMIT_CORE is unlimited in the parent and in the VRRP child.
#[test]
fn core_dump_makes_rlimit_core_unlimited_in_parent_and_children() {
    if !with_keepalived("cli_options") {
        return;
    }
    let k = core_limits(Impl::Keepalived);
    let o = core_limits(Impl::Ours);
    assert_eq!(k, o, "keepalived (left) and ours (right) differ");
    assert_eq!(
        o,
        vec!["parent unlimited unlimited", "child unlimited unlimited"]
    );
}

//! A two-router lab for daemon tests: namespaces A and B, `eth0` in each,
//! joined by a veth pair (10.99.0.1/24 and 10.99.0.2/24), removed on drop.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether the test may run; outside CI a non-root run skips with a message.
pub fn privileged(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} tests need root (CI is set, refusing to skip)"
    );
    eprintln!("skipping {what} test: not root");
    super::record_skip(what, "not root");
    false
}

/// keepalived 2.2.7, the oracle (override with `KEEPALIVED`).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The keepalived binary to compare with.
pub fn keepalived_bin() -> String {
    std::env::var("KEEPALIVED").unwrap_or_else(|_| KEEPALIVED.into())
}

/// Whether a test may run: `ok`, or a message and a skip outside CI; in CI
/// (`CI` set) a missing prerequisite fails the test.
pub fn requires(test: &str, ok: bool, what: &str) -> bool {
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test} tests need {what} (CI is set, refusing to skip)"
        );
        eprintln!("skipping {test} test: {what} missing");
    }
    ok
}

/// Root and keepalived 2.2.7 ([`keepalived_bin`]).
pub fn with_keepalived(test: &str) -> bool {
    let bin = keepalived_bin();
    privileged(test) && requires(test, std::path::Path::new(&bin).exists(), &bin)
}

/// Which implementation a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impl {
    /// keepalived 2.2.7.
    Keepalived,
    /// keepalived-rs.
    Ours,
}

impl Impl {
    pub fn name(self) -> &'static str {
        match self {
            Impl::Keepalived => "keepalived",
            Impl::Ours => "ours",
        }
    }

    pub fn binary(self) -> String {
        match self {
            Impl::Keepalived => keepalived_bin(),
            Impl::Ours => env!("CARGO_BIN_EXE_keepalived").to_string(),
        }
    }
}

/// The pid in a pid file.
pub fn read_pid(p: &std::path::Path) -> Option<i32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The files of `dir` (following symlinks, as `[ -f ]`) whose names
/// `keep` accepts, sorted.
pub fn files_in(dir: &std::path::Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn run(args: &[&str]) -> String {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A network namespace, deleted on drop.
pub struct Ns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Ns {
    pub fn new(tag: &str) -> Ns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "karslab-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        run(&["ip", "netns", "add", &name]);
        let ns = Ns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn ip(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", &self.name];
        v.extend_from_slice(args);
        run(&v)
    }

    /// Turns duplicate address detection off, so link-locals are usable at once.
    pub fn no_dad(&self) {
        run(&[
            "ip",
            "netns",
            "exec",
            &self.name,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ]);
    }

    pub fn has_addr(&self, a: &str) -> bool {
        self.ip(&["-o", "addr", "show", "dev", "eth0"])
            .contains(&format!(" {a}/"))
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Two router namespaces `a` and `b`, `eth0` in each, joined by a veth
/// pair; `dir` is a scratch directory for configs, logs and pid files.
pub struct Pair {
    pub a: Ns,
    pub b: Ns,
    pub dir: PathBuf,
}

impl Pair {
    pub fn new(tag: &str) -> Pair {
        let a = Ns::new(&format!("{tag}a"));
        let b = Ns::new(&format!("{tag}b"));
        // No duplicate address detection: link-local addresses (the IPv6
        // advert source) are usable at once.
        a.no_dad();
        b.no_dad();
        a.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "peer0", "netns", &b.name,
        ]);
        b.ip(&["link", "set", "peer0", "name", "eth0"]);
        a.ip(&["addr", "add", "10.99.0.1/24", "dev", "eth0"]);
        b.ip(&["addr", "add", "10.99.0.2/24", "dev", "eth0"]);
        a.ip(&["link", "set", "eth0", "up"]);
        b.ip(&["link", "set", "eth0", "up"]);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&a.name);
        std::fs::create_dir_all(&dir).unwrap();
        // Both sides have a usable IPv6 link-local address.
        for ns in [&a, &b] {
            let ok = wait_for(Duration::from_secs(5), || {
                let s = ns.ip(&["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"]);
                s.contains("fe80::") && !s.contains("tentative")
            });
            assert!(ok.is_some(), "no link-local address in {}", ns.name);
        }
        Pair { a, b, dir }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` every 10 ms until true or `t` elapsed; returns the time taken.
pub fn wait_for(t: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < t {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

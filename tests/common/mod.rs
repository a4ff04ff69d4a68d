//! Network namespaces for tests: created with `ip netns add`, deleted on
//! drop (even on panic), and a way to run code inside one.
#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether the test may create namespaces; outside CI a non-root run skips.
pub fn can_run(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: must run as root in CI"
        );
        eprintln!("SKIP {test}: needs root to create network namespaces");
        record_skip(test, "not root");
    }
    root
}

/// This `cargo test` run's skip markers: one directory per run (cargo is
/// every test binary's parent), read by `tests/zz_skipped.rs`.
fn skip_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("skipped")
        .join(std::os::unix::process::parent_id().to_string())
}

/// Records that a test of this binary returned early for `why`, so that
/// the run ends with one line saying what did not really run.
pub fn record_skip(test: &str, why: &str) {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy());
    let stem = stem.unwrap_or_default();
    // `failover-0123abcd` -> `failover`
    let bin = stem.rsplit_once('-').map_or(&*stem, |(b, _)| b);
    let dir = skip_dir();
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = format!("{bin}.{}.{n}", std::process::id());
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), format!("{why}\t{test}"));
}

/// The line `record_skip`'s markers make, e.g. `SKIPPED 96 tests (not
/// root): failover 20, interop 12, ...`; `None` when nothing was skipped.
/// The markers are removed.
pub fn skip_summary() -> Option<String> {
    let dir = skip_dir();
    let mut by: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for e in std::fs::read_dir(&dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let bin = name.split('.').next().unwrap_or_default().to_string();
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let why = text.split('\t').next().unwrap_or_default().to_string();
        *by.entry((why, bin)).or_default() += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let total: usize = by.values().sum();
    let list: Vec<String> = by
        .iter()
        .map(|((why, bin), n)| format!("{bin} {n} ({why})"))
        .collect();
    (total > 0).then(|| {
        format!(
            "SKIPPED {total} tests that returned early and reported ok: {}; as root they test the daemon in network namespaces",
            list.join(", ")
        )
    })
}

/// Runs a command, panicking with its output on failure.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace owned by the test.
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Netns {
    /// Creates a uniquely named namespace with `lo` up.
    pub fn new(tag: &str) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "kars-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        sh(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        Netns { name }
    }

    /// `ip -n NS ...`.
    pub fn ip(&self, args: &str) -> String {
        sh(&format!("ip -n {} {args}", self.name))
    }

    /// Runs `f` on a thread that has entered this namespace.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        run_in(&self.name, f)
    }
}

/// Runs `f` on a new thread that has entered namespace `name`.
pub fn run_in<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a namespace fd we own affects only this thread.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
pub mod capture;
pub mod daemon;
pub mod lab;

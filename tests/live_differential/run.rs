//! One daemon run in a fresh network namespace: the namespace ("box")
//! holds the configuration's interfaces (veth, up, an IPv4 address each,
//! IPv6 link-local usable at once since DAD is off, plus the instances'
//! `unicast_src_ip`/`mcast_src_ip` addresses); their peers live in
//! a second namespace (the "sink") so the daemon sees only its own side.
//!
//! The daemon runs through `ip netns exec BOX sh -c 'mount tmpfs on /tmp
//! and /run; exec DAEMON ...'`: `ip netns exec` gives it a mount namespace
//! of its own (slave of the host's), so nothing it or a script it runs
//! writes under /tmp or /run reaches the host. `ip`, `sh` and the daemon
//! exec in place: the pid we spawn is the daemon's parent.
//!
//! Everything is undone on drop, also while unwinding: every process
//! inside the namespace is killed by pid (`ip netns pids`), then both
//! namespaces are deleted.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long `-t` may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the daemon may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a command and returns its stdout (stderr and status ignored).
pub fn output(cmd: &mut Command) -> String {
    cmd.stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// A namespace holding the configuration's interfaces, and its sink.
pub struct NetBox {
    /// The daemon's namespace.
    pub name: String,
    sink: String,
    /// Interfaces created (the configuration's names).
    pub interfaces: Vec<String>,
}

impl NetBox {
    /// Creates the namespaces and the interfaces. Names `ip` refuses are
    /// left out (the `-t` run then decides whether the config is usable).
    pub fn new(tag: &str, sc: &super::scan::Scan) -> Result<NetBox, String> {
        let interfaces = &sc.interfaces;
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("kalive-{tag}-{}-{n}", std::process::id());
        let sink = format!("kasink-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        let mut b = NetBox {
            name,
            sink: String::new(),
            interfaces: Vec::new(),
        };
        ip(&["netns", "add", &sink])?;
        b.sink = sink;
        // No duplicate address detection: link-locals usable at once.
        let sysctl = Command::new("ip")
            .args(["netns", "exec", &b.name, "sysctl", "-qw"])
            .args([
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ])
            .status()
            .map_err(|e| format!("sysctl: {e}"))?;
        if !sysctl.success() {
            return Err("sysctl accept_dad failed".into());
        }
        ip(&["-n", &b.name, "link", "set", "lo", "up"])?;
        for (i, ifname) in interfaces.iter().enumerate() {
            let peer = format!("p{i}");
            let made = ip(&[
                "-n", &b.name, "link", "add", ifname, "type", "veth", "peer", "name", &peer,
                "netns", &b.sink,
            ]);
            if made.is_err() {
                continue;
            }
            let addr = format!("198.18.{i}.1/24");
            ip(&["-n", &b.name, "addr", "add", &addr, "dev", ifname])?;
            ip(&["-n", &b.sink, "link", "set", &peer, "up"])?;
            ip(&["-n", &b.name, "link", "set", ifname, "up"])?;
            b.interfaces.push(ifname.clone());
        }
        for (ifname, addr) in &sc.sources {
            let len = if addr.contains(':') { "64" } else { "24" };
            // Refused when already there (or the name was refused).
            let _ = ip(&[
                "-n",
                &b.name,
                "addr",
                "add",
                &format!("{addr}/{len}"),
                "dev",
                ifname,
            ]);
        }
        b.wait_link_locals();
        Ok(b)
    }

    /// Waits (up to 2 s) until every interface has its IPv6 link-local.
    fn wait_link_locals(&self) {
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            let out = output(Command::new("ip").args([
                "-n", &self.name, "-6", "-o", "addr", "show", "scope", "link",
            ]));
            let have = self
                .interfaces
                .iter()
                .filter(|i| {
                    out.lines().any(|l| {
                        l.split_whitespace().nth(1) == Some(i.as_str()) && !l.contains("tentative")
                    })
                })
                .count();
            if have == self.interfaces.len() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills every process inside the namespace, by pid.
    fn kill_all(&self) {
        for _ in 0..50 {
            let pids: Vec<i32> = output(Command::new("ip").args(["netns", "pids", &self.name]))
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if pids.is_empty() {
                return;
            }
            for p in pids {
                // SAFETY: kill(2) on a process inside our own namespace.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NetBox {
    fn drop(&mut self) {
        self.kill_all();
        for ns in [&self.name, &self.sink] {
            if !ns.is_empty() {
                if let Err(e) = ip(&["netns", "del", ns]) {
                    eprintln!("warning: {e}");
                }
            }
        }
    }
}

/// The files of one daemon run, in a scratch directory.
pub struct Files {
    pub dir: PathBuf,
    pub tag: String,
}

impl Files {
    pub fn path(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}.{what}", self.tag))
    }
}

/// Runs `bin -t -f config` in the namespace; `Some(code)` when it exited.
pub fn config_test(nb: &NetBox, bin: &Path, config: &Path, log: &Path) -> Option<i32> {
    let f = File::create(log).ok()?;
    let mut child = Command::new("ip")
        .args(["netns", "exec", &nb.name])
        .arg(bin)
        .arg("-t")
        .arg("-f")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(f.try_clone().ok()?)
        .stderr(f)
        .spawn()
        .ok()?;
    let end = Instant::now() + TEST_TIMEOUT;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A running daemon; killed (with everything in its namespace) on drop
/// of the [`NetBox`]; the `Child` is reaped here.
pub struct Daemon {
    child: Option<Child>,
    pub log: PathBuf,
    pub started: Instant,
}

/// The options both daemons get: foreground, console log with details, no
/// syslog, VRRP only (this kernel has no IPVS: keepalived's checker would
/// stop the daemon), private pid files.
pub fn start(nb: &NetBox, bin: &Path, config: &Path, files: &Files) -> Result<Daemon, String> {
    let log = files.path("log");
    let f = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let tmp = files.path("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let script = "mount -t tmpfs livediff /tmp && mount -t tmpfs livediff /run && exec \"$@\"";
    let child = Command::new("ip")
        .args(["netns", "exec", &nb.name, "sh", "-c", script, "sh"])
        .arg(bin)
        .args(["-n", "-l", "-D", "-G", "-P", "-f"])
        .arg(config)
        .arg("-p")
        .arg(files.path("pid"))
        .arg("-r")
        .arg(files.path("vrrp.pid"))
        .arg("-c")
        .arg(files.path("checkers.pid"))
        .arg("-b")
        .arg(files.path("bfd.pid"))
        .env("TMPDIR", &tmp)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(f.try_clone().map_err(|e| e.to_string())?)
        .stderr(f)
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    Ok(Daemon {
        child: Some(child),
        log,
        started: Instant::now(),
    })
}

impl Daemon {
    /// Whether the daemon's parent still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// SIGTERM to the parent, then waits for it: `exit N`, `signal N`,
    /// `not running` (it had already stopped) or `hang`.
    pub fn stop(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return "not running".into();
        };
        if let Ok(Some(st)) = child.try_wait() {
            return format!("not running ({})", describe(st));
        }
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < end {
            if let Ok(Some(st)) = child.try_wait() {
                return describe(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        "hang".into()
    }
}

fn describe(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "?".into(),
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

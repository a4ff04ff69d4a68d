//! The VRRP scale lab shared by `tests/scale.rs` and `benches/vrrp_scale.rs`.
//!
//! Two routers A and B (network namespaces) joined by four veth pairs
//! `eth0`..`eth3` (link L: 10.98.L.1/24 on A, 10.98.L.2/24 on B, no DAD),
//! `per_link` VRRP instances on every link with the VRIDs 1..=per_link
//! reused on each link, one /32 VIP per instance (10.99.L.VRID), advert_int
//! 1, A priority 150, B priority 100. A scenario starts one daemon on each
//! router (ours or keepalived 2.2.7, both `-n -l -P` with private pid files
//! and `TMPDIR` in the scratch directory), waits for convergence, watches a
//! steady window (VIP events from `ip monitor address`, CPU and memory of
//! both daemons), crashes A (SIGKILL to all of its processes, the parent
//! frozen first) and measures how long B takes to hold every VIP, both in
//! its address table (`ip monitor` event times) and on its wire (the first
//! gratuitous ARP per VIP, kernel capture timestamps).
//!
//! Processes are killed by pid (our own children and their verified
//! children) and namespaces deleted by Drop guards, also on panic.
//! `scale_run.rs` runs a scenario and reports.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use crate::common::lab::Impl;
use crate::common::lab::{wait_for, Ns};

/// Links between the routers.
pub const LINKS: usize = 4;
/// Priorities of A (the master) and B.
pub const PRIO_A: u8 = 150;
pub const PRIO_B: u8 = 100;
/// B's Master_Down_Interval: 3 × 1 s + (256 − 100)/256 s.
pub const MASTER_DOWN: Duration = Duration::from_micros(3_609_375);
/// What a takeover after a crash may take beyond Master_Down_Interval.
pub const MARGIN: Duration = Duration::from_millis(200);
/// A takeover sooner than this after the kill was no crash: the master
/// resigned (priority 0) instead of falling silent.
pub const TOO_SOON: Duration = Duration::from_millis(2500);

/// The VIP of the instance with `vrid` on link `link`.
pub fn vip(link: usize, vrid: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, link as u8, vrid)
}

/// A router's configuration: `per_link` instances on each link.
pub fn conf(prio: u8, per_link: u8) -> String {
    let mut s = String::with_capacity(LINKS * usize::from(per_link) * 160);
    for l in 0..LINKS {
        for v in 1..=per_link {
            let _ = write!(
                s,
                "vrrp_instance L{l}_{v} {{\n  interface eth{l}\n  state BACKUP\n  \
                 virtual_router_id {v}\n  priority {prio}\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    {}/32\n  }}\n}}\n",
                vip(l, v)
            );
        }
    }
    s
}

/// The two routers and their four links; the scratch directory is removed
/// on drop unless `keep` is set (or `SCALE_KEEP` is in the environment).
pub struct Routers {
    pub a: Ns,
    pub b: Ns,
    pub dir: PathBuf,
    pub keep: bool,
}

impl Routers {
    pub fn new(tag: &str) -> Routers {
        let a = Ns::new(&format!("{tag}a"));
        let b = Ns::new(&format!("{tag}b"));
        a.no_dad();
        b.no_dad();
        for l in 0..LINKS {
            let (eth, peer) = (format!("eth{l}"), format!("peer{l}"));
            a.ip(&[
                "link", "add", &eth, "type", "veth", "peer", "name", &peer, "netns", &b.name,
            ]);
            b.ip(&["link", "set", &peer, "name", &eth]);
            a.ip(&["addr", "add", &format!("10.98.{l}.1/24"), "dev", &eth]);
            b.ip(&["addr", "add", &format!("10.98.{l}.2/24"), "dev", &eth]);
            a.ip(&["link", "set", &eth, "up"]);
            b.ip(&["link", "set", &eth, "up"]);
        }
        // The kernel reports carrier (IFF_RUNNING) up to a second after
        // the links are set up; a daemon started before would see them down.
        for ns in [&a, &b] {
            let up = wait_for(Duration::from_secs(5), || {
                let s = ns.ip(&["-o", "link", "show", "up"]);
                (0..LINKS).all(|l| {
                    s.lines()
                        .any(|x| x.contains(&format!(" eth{l}@")) && x.contains("state UP"))
                })
            });
            assert!(up.is_some(), "links of {} not up", ns.name);
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&a.name);
        std::fs::create_dir_all(&dir).unwrap();
        Routers {
            a,
            b,
            dir,
            keep: std::env::var_os("SCALE_KEEP").is_some(),
        }
    }
}

impl Drop for Routers {
    fn drop(&mut self) {
        if self.keep || std::thread::panicking() {
            eprintln!("scale lab: logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// (link, VIP) of an `ip -o -4 addr` / `ip -o -4 monitor address` line
/// holding one of the lab's VIPs.
fn parse_vip_line(line: &str) -> Option<(usize, Ipv4Addr)> {
    let mut w = line.split_whitespace();
    let _index = w.next()?;
    let ifname = w.next()?;
    if w.next()? != "inet" {
        return None;
    }
    let addr: Ipv4Addr = w.next()?.split('/').next()?.parse().ok()?;
    let o = addr.octets();
    let link: usize = ifname.strip_prefix("eth")?.parse().ok()?;
    (o[0] == 10 && o[1] == 99 && link < LINKS).then_some((link, addr))
}

/// The lab's VIPs a router holds.
pub fn vips(ns: &Ns) -> Vec<(usize, Ipv4Addr)> {
    ns.ip(&["-o", "-4", "addr", "show"])
        .lines()
        .filter_map(parse_vip_line)
        .collect()
}

/// How many of the lab's VIPs a router holds, per link.
pub fn vip_counts(ns: &Ns) -> [usize; LINKS] {
    let mut c = [0; LINKS];
    for (l, _) in vips(ns) {
        c[l] += 1;
    }
    c
}

/// One address event on a VIP.
#[derive(Debug, Clone, Copy)]
pub struct VipEvent {
    /// When the monitor printed it.
    pub t: Instant,
    pub added: bool,
    pub link: usize,
    pub vip: Ipv4Addr,
}

/// `ip -n NS -o -4 monitor address`, every VIP line time-stamped as it
/// arrives (`ip` flushes after each event).
pub struct Monitor {
    child: Option<Child>,
    events: Arc<Mutex<Vec<VipEvent>>>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    pub fn start(ns: &Ns) -> Monitor {
        let mut child = Command::new("ip")
            .args(["-n", &ns.name, "-o", "-4", "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ip monitor");
        let out = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let ev = events.clone();
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let t = Instant::now();
                let (added, rest) = match line.strip_prefix("Deleted ") {
                    Some(r) => (false, r),
                    None => (true, line.as_str()),
                };
                if let Some((link, vip)) = parse_vip_line(rest) {
                    ev.lock().unwrap().push(VipEvent {
                        t,
                        added,
                        link,
                        vip,
                    });
                }
            }
        });
        // Let it subscribe before anything happens.
        std::thread::sleep(Duration::from_millis(100));
        Monitor {
            child: Some(child),
            events,
            thread: Some(thread),
        }
    }

    pub fn events(&self) -> Vec<VipEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Events in `[t0, t1]`.
    pub fn between(&self, t0: Instant, t1: Instant) -> Vec<VipEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.t >= t0 && e.t <= t1)
            .collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends a signal to a pid we verified.
fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2); callers pass our own child or a verified child of it.
    unsafe { libc::kill(pid, sig) };
}

/// The fields after `comm` in `/proc/PID/stat` (field 3 first).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

fn ppid(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Live processes whose parent is `parent` (a scan of `/proc/*/stat`).
fn children_of(parent: i32) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| ppid(p) == Some(parent) && alive(p))
        .collect()
}

/// What a crash did.
#[derive(Debug, Clone)]
pub struct Crash {
    /// Just before the first SIGKILL.
    pub at: Instant,
    /// The same moment on the wall clock (capture timestamps' clock).
    pub wall: Duration,
    /// Every pid killed (the parent first).
    pub pids: Vec<i32>,
    /// Those still running 1 s later.
    pub survivors: Vec<i32>,
}

/// One daemon (ours or keepalived) on one router.
pub struct Daemon {
    pub imp: Impl,
    child: Option<Child>,
    pub log: PathBuf,
    pid_files: Vec<PathBuf>,
}

impl Daemon {
    /// `ip netns exec NS BIN -n -l -P -f CONF -p/-r/-c PIDFILES`, with
    /// `TMPDIR` in the scratch directory and its output in `TAG.log`.
    pub fn start(imp: Impl, ns: &Ns, dir: &Path, tag: &str, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let tmp = dir.join(format!("{tag}-tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let pid_files: Vec<PathBuf> = ["", "-vrrp", "-chk"]
            .iter()
            .map(|s| dir.join(format!("{tag}{s}.pid")))
            .collect();
        let bin = imp.binary();
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, &bin, "-n", "-l", "-P", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(&pid_files[0])
            .arg("-r")
            .arg(&pid_files[1])
            .arg("-c")
            .arg(&pid_files[2])
            .env("TMPDIR", &tmp)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("start daemon");
        Daemon {
            imp,
            child: Some(child),
            log,
            pid_files,
        }
    }

    /// The parent's pid: `ip netns exec` execs the daemon in place.
    fn parent(&self) -> Option<i32> {
        self.child.as_ref().map(|c| c.id() as i32)
    }

    /// The parent's live children: those its pid files name (checked to
    /// be its children) and any other process whose parent it is.
    fn children(&self) -> Vec<i32> {
        let Some(parent) = self.parent() else {
            return Vec::new();
        };
        let mut v: Vec<i32> = self.pid_files[1..]
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok()?.trim().parse().ok())
            .filter(|&p| p != parent && ppid(p) == Some(parent) && alive(p))
            .collect();
        for p in children_of(parent) {
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    /// Every live process of the daemon, the parent first.
    pub fn pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.parent().filter(|&p| alive(p)).into_iter().collect();
        v.extend(self.children());
        v
    }

    /// A real crash: the parent is frozen (so it neither restarts nor
    /// cleans up, and its death does not make the VRRP child resign
    /// through PR_SET_PDEATHSIG), then every process gets SIGKILL.
    pub fn crash(&mut self) -> Option<Crash> {
        let parent = self.parent()?;
        kill(parent, libc::SIGSTOP);
        let mut pids = vec![parent];
        pids.extend(self.children());
        let at = Instant::now();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        for &p in pids.iter().rev() {
            kill(p, libc::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
        let end = Instant::now() + Duration::from_secs(1);
        while Instant::now() < end && pids.iter().any(|&p| alive(p)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let survivors = pids.iter().copied().filter(|&p| alive(p)).collect();
        Some(Crash {
            at,
            wall,
            pids,
            survivors,
        })
    }

    /// utime + stime of all its processes.
    pub fn cpu(&self) -> Duration {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        let ticks: u64 = self
            .pids()
            .iter()
            .filter_map(|&p| {
                let f = stat_fields(p)?;
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .sum();
        Duration::from_secs_f64(ticks as f64 / hz as f64)
    }

    /// (RSS, PSS) in KiB summed over its processes (`smaps_rollup`).
    pub fn mem(&self) -> (u64, u64) {
        let (mut rss, mut pss) = (0, 0);
        for p in self.pids() {
            let s = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
            for l in s.lines() {
                let kb = |rest: &str| -> u64 {
                    rest.split_whitespace()
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0)
                };
                if let Some(r) = l.strip_prefix("Rss:") {
                    rss += kb(r);
                } else if let Some(r) = l.strip_prefix("Pss:") {
                    pss += kb(r);
                }
            }
        }
        (rss, pss)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

/// The 1-minute load average.
pub fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

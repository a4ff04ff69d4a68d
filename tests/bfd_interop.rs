//! BFD against the real keepalived 2.2.7: our daemon in one network
//! namespace, `/usr/sbin/keepalived` in the neighbouring one, joined by a
//! veth pair (10.99.0.1 ours, 10.99.0.2 keepalived). Both run a
//! `bfd_instance` for the other and a VRRP instance with `track_bfd`
//! (weight 0: FAULT while the session is down).
//!
//! Shown: the session comes Up on both sides; killing either daemon takes
//! the other side's session Down within the Detection Time (3 × 100 ms)
//! and its VRRP instance to FAULT; a restart brings both back.
//!
//! Needs root and keepalived built with BFD; skipped with a message
//! otherwise, unless `CI` is set. Every namespace and process is removed
//! by Drop guards (processes by pid), also on panic.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/proclab.rs"]
mod proclab;
use common::lab::{self, wait_for, Pair};
use proclab::{parent_of, read_pid};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

fn privileged() -> bool {
    if !lab::privileged("bfd interop") {
        return false;
    }
    // Children of a daemon we kill are re-parented to this process and
    // reaped by `Daemon::kill_all`.
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let ok = Command::new(KEEPALIVED)
        .arg("-v")
        .output()
        .map(|o| {
            let s = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            s.lines().any(|l| {
                l.starts_with("Config options:") && l.split_whitespace().any(|w| w == "BFD")
            })
        })
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "bfd interop tests need {KEEPALIVED} built with BFD (CI is set)"
        );
        eprintln!("skipping bfd interop test: {KEEPALIVED} missing or built without BFD");
        return false;
    }
    true
}

/// One daemon (ours or keepalived) with its pid files; every process of
/// it is SIGKILLed by pid on drop.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    pids: [PathBuf; 3],
    parent_pid: PathBuf,
}

impl Daemon {
    fn start(ns: &lab::Ns, dir: &Path, tag: &str, real: bool, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let pids = [
            dir.join(format!("{tag}-vrrp.pid")),
            dir.join(format!("{tag}-bfd.pid")),
            dir.join(format!("{tag}-chk.pid")),
        ];
        let bin = if real {
            KEEPALIVED
        } else {
            env!("CARGO_BIN_EXE_keepalived")
        };
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new("ip")
            .env("TMPDIR", dir)
            .args(["netns", "exec", &ns.name, bin, "-n", "-l", "-D", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(&pids[0])
            .arg("-b")
            .arg(&pids[1])
            .arg("-c")
            .arg(&pids[2])
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("start daemon");
        Daemon {
            child: Some(child),
            log,
            pids,
            parent_pid: dir.join(format!("{tag}.pid")),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The pid of a child process (from its pid file), if it is still a
    /// child of the daemon we started.
    fn child_pid(&self, which: usize) -> Option<i32> {
        let parent = self.child.as_ref()?.id() as i32;
        let p = read_pid(&self.pids[which])?;
        (p != parent && parent_of(p) == Some(parent)).then_some(p)
    }

    /// SIGKILL every process: a crash, no goodbye packet.
    fn kill_all(&mut self) {
        let mut grandchildren = Vec::new();
        for i in 0..3 {
            if let Some(p) = self.child_pid(i) {
                // SAFETY: kill(2) on a verified child of our child.
                unsafe { libc::kill(p, libc::SIGKILL) };
                grandchildren.push(p);
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Orphans come to us (we are a subreaper): reap them, or they
        // stay zombies whose pids look alive.
        for p in grandchildren {
            let mut st = 0;
            // SAFETY: waitpid on a pid that is now our child (or ECHILD
            // if its parent reaped it first).
            unsafe { libc::waitpid(p, &mut st, 0) };
        }
        // Killed processes leave their pid files: a restart must not
        // take them for a running daemon.
        for p in self.pids.iter().chain([&self.parent_pid]) {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill_all();
    }
}

fn conf(me: &str, peer: &str, prio: u8) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n}}\n\
         bfd_instance bfd1 {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx 100\n  min_tx 100\n  multiplier 3\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 61\n  priority {prio}\n  advert_int 1\n\
         \x20 virtual_ipaddress {{\n    10.99.0.100/24\n  }}\n  track_bfd {{\n    bfd1\n  }}\n}}\n"
    )
}

/// Waits for `needle` to appear in the log (counting only what follows
/// byte `from`); returns the time taken.
fn wait_log(d: &Daemon, from: usize, needle: &str, t: Duration) -> Option<Duration> {
    wait_for(t, || {
        d.log().get(from..).is_some_and(|l| l.contains(needle))
    })
}

/// The "Expired after N ms" values logged after byte `from`.
fn expired_ms(log: &str, from: usize) -> Vec<u64> {
    log.get(from..)
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            let rest = l.split("(bfd1) Expired after ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .collect()
}

#[test]
fn bfd_with_keepalived_up_down_and_track_bfd() {
    if !privileged() {
        return;
    }
    let p = Pair::new("bfd");
    let ours_conf = conf("10.99.0.1", "10.99.0.2", 150);
    let real_conf = conf("10.99.0.2", "10.99.0.1", 100);
    let mut ours = Daemon::start(&p.a, &p.dir, "ours", false, &ours_conf);
    let mut real = Daemon::start(&p.b, &p.dir, "real", true, &real_conf);
    let logs =
        |o: &Daemon, r: &Daemon| format!("--- ours:\n{}\n--- keepalived:\n{}", o.log(), r.log());

    // Our BFD child: its own pid file, a child of our parent.
    assert!(
        wait_for(Duration::from_secs(5), || ours.child_pid(1).is_some()).is_some(),
        "no BFD child pid file\n{}",
        logs(&ours, &real)
    );
    assert!(ours.log().contains("Starting BFD child process, pid="));

    // Both sessions come Up (a three-way handshake across implementations).
    for (d, who) in [(&ours, "ours"), (&real, "keepalived")] {
        assert!(
            wait_log(d, 0, "(bfd1) Entering Up state", Duration::from_secs(10)).is_some(),
            "{who}: session never Up\n{}",
            logs(&ours, &real)
        );
    }
    // Timers negotiated to 100 ms: Detection Time 3 × 100 ms both sides.
    for d in [&ours, &real] {
        assert!(
            wait_log(d, 0, "Detection time is 300000 us", Duration::from_secs(3)).is_some(),
            "{}",
            logs(&ours, &real)
        );
    }
    // Our VRRP instance started in FAULT (the session starts down), as
    // keepalived's does, left it on the BFD event, and the higher priority
    // (ours) becomes MASTER.
    for d in [&ours, &real] {
        assert!(
            d.log().contains("(VI_1) entering FAULT state"),
            "{}",
            logs(&ours, &real)
        );
    }
    assert!(ours
        .log()
        .contains("VRRP_Instance(VI_1) Tracked BFD instance bfd1 is UP"));
    assert!(
        wait_for(Duration::from_secs(10), || p.a.has_addr("10.99.0.100")
            && !p.b.has_addr("10.99.0.100"))
        .is_some(),
        "ours never MASTER\n{}",
        logs(&ours, &real)
    );

    // keepalived dies: our session goes Down within the Detection Time,
    // and VI_1 goes to FAULT (VIP removed).
    let mark = ours.log().len();
    let killed = Instant::now();
    real.kill_all();
    let t = wait_log(
        &ours,
        mark,
        "(bfd1) Entering Down state (Local diagnostic - Control Detection Time Expired",
        Duration::from_secs(3),
    );
    assert!(t.is_some(), "ours never went Down\n{}", logs(&ours, &real));
    let t = killed.elapsed();
    eprintln!("ours: session Down {t:?} after keepalived was killed");
    let exp = expired_ms(&ours.log(), mark);
    assert!(
        exp.iter().all(|&ms| (250..=330).contains(&ms)) && !exp.is_empty(),
        "expiry not within the 300 ms Detection Time: {exp:?}\n{}",
        logs(&ours, &real)
    );
    assert!(t < Duration::from_millis(800), "Down took {t:?}");
    assert!(
        wait_log(
            &ours,
            mark,
            "(VI_1) Entering FAULT STATE",
            Duration::from_secs(2)
        )
        .is_some(),
        "VI_1 not FAULT\n{}",
        logs(&ours, &real)
    );
    assert!(ours
        .log()
        .contains("VRRP_Instance(VI_1) Tracked BFD instance bfd1 is DOWN"));
    assert!(
        wait_for(Duration::from_secs(2), || !p.a.has_addr("10.99.0.100")).is_some(),
        "VIP kept in FAULT"
    );

    // keepalived back: Up again, VI_1 leaves FAULT and preempts back.
    let mark = ours.log().len();
    let _ = std::fs::remove_file(p.dir.join("real.log"));
    real = Daemon::start(&p.b, &p.dir, "real", true, &real_conf);
    assert!(
        wait_log(
            &ours,
            mark,
            "(bfd1) Entering Up state",
            Duration::from_secs(10)
        )
        .is_some(),
        "ours: session not Up again\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &ours,
            mark,
            "(VI_1) Entering BACKUP STATE",
            Duration::from_secs(3)
        )
        .is_some(),
        "VI_1 did not leave FAULT\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_for(Duration::from_secs(10), || p.a.has_addr("10.99.0.100")
            && !p.b.has_addr("10.99.0.100"))
        .is_some(),
        "ours not MASTER again\n{}",
        logs(&ours, &real)
    );

    // The other direction: we die, keepalived's session goes Down within
    // its Detection Time and its VI_1 (track_bfd) goes FAULT.
    assert!(wait_log(&real, 0, "(bfd1) Entering Up state", Duration::from_secs(5)).is_some());
    let mark = real.log().len();
    let killed = Instant::now();
    ours.kill_all();
    let t = wait_log(
        &real,
        mark,
        "(bfd1) Entering Down state",
        Duration::from_secs(3),
    );
    assert!(
        t.is_some(),
        "keepalived never went Down\n{}",
        logs(&ours, &real)
    );
    eprintln!(
        "keepalived: session Down {:?} after ours was killed",
        killed.elapsed()
    );
    let exp = expired_ms(&real.log(), mark);
    assert!(
        exp.iter().all(|&ms| (250..=330).contains(&ms)) && !exp.is_empty(),
        "keepalived's expiry {exp:?}\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &real,
            mark,
            "VRRP_Instance(VI_1) Tracked BFD instance bfd1 is DOWN",
            Duration::from_secs(2)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &real,
            mark,
            "(VI_1) Entering FAULT STATE",
            Duration::from_secs(2)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );

    // We come back: keepalived's session Up again from our packets.
    let mark = real.log().len();
    ours = Daemon::start(&p.a, &p.dir, "ours", false, &ours_conf);
    assert!(
        wait_log(
            &real,
            mark,
            "(bfd1) Entering Up state",
            Duration::from_secs(10)
        )
        .is_some(),
        "keepalived: not Up again with us\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &real,
            mark,
            "VRRP_Instance(VI_1) Tracked BFD instance bfd1 is UP",
            Duration::from_secs(2)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );
    drop(ours);
    drop(real);
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid we started (or verified as its child).
    unsafe { libc::kill(pid, sig) };
}

#[test]
fn reload_dump_and_respawn_of_our_bfd_child() {
    if !privileged() {
        return;
    }
    let p = Pair::new("bfr");
    let ours = Daemon::start(
        &p.a,
        &p.dir,
        "ours",
        false,
        &conf("10.99.0.1", "10.99.0.2", 150),
    );
    let real = Daemon::start(
        &p.b,
        &p.dir,
        "real",
        true,
        &conf("10.99.0.2", "10.99.0.1", 100),
    );
    let logs =
        |o: &Daemon, r: &Daemon| format!("--- ours:\n{}\n--- keepalived:\n{}", o.log(), r.log());
    for d in [&ours, &real] {
        assert!(
            wait_log(d, 0, "(bfd1) Entering Up state", Duration::from_secs(10)).is_some(),
            "{}",
            logs(&ours, &real)
        );
    }
    let parent = ours.child.as_ref().unwrap().id() as i32;

    // SIGHUP with a slower min_tx: the session goes on (neither side
    // sees it go down), and a Poll Sequence gives keepalived the new
    // interval: its Detection Time becomes 3 × 200 ms.
    let (mo, mr) = (ours.log().len(), real.log().len());
    let slower = conf("10.99.0.1", "10.99.0.2", 150).replace("min_tx 100", "min_tx 200");
    std::fs::write(p.dir.join("ours.conf"), slower).unwrap();
    signal(parent, libc::SIGHUP);
    assert!(
        wait_log(&ours, mo, "Reload complete", Duration::from_secs(5)).is_some(),
        "{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &real,
            mr,
            "Detection time is 600000 us (was 300000 us)",
            Duration::from_secs(3)
        )
        .is_some(),
        "keepalived did not get the new interval\n{}",
        logs(&ours, &real)
    );
    std::thread::sleep(Duration::from_secs(1));
    for (d, m) in [(&ours, mo), (&real, mr)] {
        assert!(
            !d.log()[m..].contains("Entering Down state"),
            "reload flapped the session\n{}",
            logs(&ours, &real)
        );
    }

    // SIGUSR1: keepalived_bfd.data in $TMPDIR, keepalived's layout.
    signal(parent, libc::SIGUSR1);
    let data = p.dir.join("keepalived_bfd.data");
    assert!(
        wait_for(Duration::from_secs(3), || std::fs::read_to_string(&data)
            .is_ok_and(|d| d.contains("local state = Up")))
        .is_some()
    );
    let d = std::fs::read_to_string(&data).unwrap();
    for l in [
        "------< Global definitions >------",
        "------< BFD Topology >------",
        " BFD Instance = bfd1",
        "   Neighbor IP = 10.99.0.2",
        "   Source IP = 10.99.0.1",
        "   Required min RX interval = 100000 us",
        "   Detection multiplier = 3",
        "   TTL = 255",
        "   send event to VRRP process = Yes",
        "   remote state = Up",
        "   local detection time = 300000 us",
        "   Desired min TX interval = 200000 us",
        "   local tx intv = 200000 us",
    ] {
        assert!(d.lines().any(|x| x == l), "{l:?} missing from\n{d}");
    }

    // SIGKILL of our BFD child: the parent respawns it (new pid file), and
    // the new child's session comes Up with keepalived again.
    let old = ours.child_pid(1).expect("bfd child");
    let mo = ours.log().len();
    signal(old, libc::SIGKILL);
    assert!(
        wait_log(
            &ours,
            mo,
            &format!("BFD child process({old}) died: Respawning"),
            Duration::from_secs(5)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );
    assert!(
        wait_for(Duration::from_secs(5), || ours
            .child_pid(1)
            .is_some_and(|n| n != old))
        .is_some(),
        "no new BFD child\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &ours,
            mo,
            "(bfd1) Entering Up state",
            Duration::from_secs(10)
        )
        .is_some(),
        "respawned BFD child never Up\n{}",
        logs(&ours, &real)
    );
    assert!(
        wait_log(
            &ours,
            mo,
            "VRRP_Instance(VI_1) Tracked BFD instance bfd1 is UP",
            Duration::from_secs(3)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );
    drop(ours);
    drop(real);
}

#[test]
fn ipv6_session_with_keepalived() {
    // IPv6 (hop limit 64 by default, GTSM against it): Up both ways, and
    // Down within the Detection Time when keepalived dies.
    if !privileged() {
        return;
    }
    let p = Pair::new("bf6");
    p.a.ip(&["addr", "add", "fd00:99::1/64", "dev", "eth0", "nodad"]);
    p.b.ip(&["addr", "add", "fd00:99::2/64", "dev", "eth0", "nodad"]);
    let conf = |me: &str, peer: &str| {
        format!("bfd_instance bfd6 {{\n  neighbor_ip {peer}\n  source_ip {me}\n  min_rx 50\n  min_tx 50\n  multiplier 4\n}}\n")
    };
    let ours = Daemon::start(
        &p.a,
        &p.dir,
        "ours",
        false,
        &conf("fd00:99::1", "fd00:99::2"),
    );
    let mut real = Daemon::start(
        &p.b,
        &p.dir,
        "real",
        true,
        &conf("fd00:99::2", "fd00:99::1"),
    );
    let logs =
        |o: &Daemon, r: &Daemon| format!("--- ours:\n{}\n--- keepalived:\n{}", o.log(), r.log());
    for d in [&ours, &real] {
        assert!(
            wait_log(d, 0, "(bfd6) Entering Up state", Duration::from_secs(10)).is_some(),
            "{}",
            logs(&ours, &real)
        );
        assert!(
            wait_log(d, 0, "Detection time is 200000 us", Duration::from_secs(3)).is_some(),
            "{}",
            logs(&ours, &real)
        );
    }
    let mark = ours.log().len();
    real.kill_all();
    assert!(
        wait_log(
            &ours,
            mark,
            "(bfd6) Entering Down state (Local diagnostic - Control Detection Time Expired",
            Duration::from_secs(3)
        )
        .is_some(),
        "{}",
        logs(&ours, &real)
    );
    let l = ours.log();
    let ms: Vec<u64> = l[mark..]
        .lines()
        .filter_map(|x| {
            x.split("(bfd6) Expired after ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        !ms.is_empty() && ms.iter().all(|&m| (150..=230).contains(&m)),
        "{ms:?}"
    );
}

#[test]
fn no_bfd_option_starts_no_bfd_child() {
    if !privileged() {
        return;
    }
    let p = Pair::new("nob");
    let dir = &p.dir;
    let cf = dir.join("nob.conf");
    std::fs::write(
        &cf,
        "bfd_instance bfd1 {\n  neighbor_ip 10.99.0.2\n}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 62\n  priority 100\n  virtual_ipaddress {\n    10.99.0.101/24\n  }\n}\n",
    )
    .unwrap();
    let log = dir.join("nob.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut c = Command::new("ip")
        .args([
            "netns",
            "exec",
            &p.a.name,
            env!("CARGO_BIN_EXE_keepalived"),
            "-n",
            "-l",
            "-B",
            "-f",
        ])
        .arg(&cf)
        .arg("-p")
        .arg(dir.join("nob.pid"))
        .arg("-r")
        .arg(dir.join("nob-vrrp.pid"))
        .arg("-b")
        .arg(dir.join("nob-bfd.pid"))
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let ok = wait_for(Duration::from_secs(5), || {
        read().contains("Startup complete")
    });
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let _ = wait_for(Duration::from_secs(5), || {
        c.try_wait().ok().flatten().is_some()
    });
    let _ = c.kill();
    let _ = c.wait();
    let l = read();
    assert!(ok.is_some(), "{l}");
    assert!(l.contains("Starting VRRP child process"), "{l}");
    assert!(!l.contains("Starting BFD child process"), "{l}");
    assert!(!dir.join("nob-bfd.pid").exists());
}

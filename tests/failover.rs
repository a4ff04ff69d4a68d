//! End-to-end failover: two of our daemons in their own network
//! namespaces, joined by a veth pair, elect a master, hand the VIP over on
//! a graceful stop, preempt back, and survive a crash of the master.
//!
//! Needs root; skipped with a message otherwise, unless `CI` is set.
//! Every namespace and process is removed by Drop guards, also on panic.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::lab::{privileged as lab_privileged, wait_for, Ns, Pair};

fn privileged() -> bool {
    lab_privileged("failover")
}

const VIP: &str = "10.99.0.100";

struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    /// The VRRP child's pid file.
    vrrp_pid: PathBuf,
}

impl Daemon {
    fn start(ns: &Ns, dir: &std::path::Path, tag: &str, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let vrrp_pid = dir.join(format!("{tag}-vrrp.pid"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_keepalived")])
            .args(["-n", "-l", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(&vrrp_pid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start keepalived");
        Daemon {
            child: Some(child),
            log,
            vrrp_pid,
        }
    }

    /// A crash of the whole daemon. Killing only the parent is not one:
    /// its VRRP child gets SIGTERM (PR_SET_PDEATHSIG, as keepalived's) and
    /// stops gracefully. So the parent is frozen first (it can neither
    /// restart the child nor clean up), then both are killed.
    fn crash(&self) {
        self.signal(libc::SIGSTOP);
        let child = std::fs::read_to_string(&self.vrrp_pid)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Some(p) = child {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
            let ppid = format!("PPid:\t{}\n", self.pid());
            if status.contains(&ppid) {
                // SAFETY: kill(2) on a verified child of our child.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        self.signal(libc::SIGKILL);
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child (`ip netns exec`
        // execs the daemon in place, so it is the daemon's pid).
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for the process to exit, up to `t`.
    fn wait(&mut self, t: Duration) -> bool {
        let end = Instant::now() + t;
        while Instant::now() < end {
            if let Some(c) = self.child.as_mut() {
                if c.try_wait().ok().flatten().is_some() {
                    self.child = None;
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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

fn conf(prio: u8, extra: &str) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n{extra}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

#[test]
fn failover_graceful_preempt_and_crash() {
    if !privileged() {
        return;
    }
    let p = Pair::new("f");
    // A stale VIP (left by a crash) is removed when B starts.
    p.b.ip(&["addr", "add", &format!("{VIP}/24"), "dev", "eth0"]);
    let mut a = Daemon::start(&p.a, &p.dir, "a", &conf(150, ""));
    let b = Daemon::start(&p.b, &p.dir, "b", &conf(100, ""));

    // A becomes MASTER: Master_Down_Interval 3 s + skew 0.41 s.
    let t = wait_for(Duration::from_secs(6), || p.a.has_addr(VIP));
    assert!(
        t.is_some(),
        "A never took the VIP\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    eprintln!("A took the VIP after {:?}", t.unwrap());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(p.a.has_addr(VIP) && !p.b.has_addr(VIP), "B:\n{}", b.log());
    assert!(p.dir.join("a.pid").exists() && p.dir.join("a-vrrp.pid").exists());

    // Graceful stop: priority 0 ⇒ B takes over after its skew (0.61 s).
    let stopped = Instant::now();
    a.signal(libc::SIGTERM);
    let t = wait_for(Duration::from_secs(3), || p.b.has_addr(VIP));
    assert!(t.is_some(), "B never took the VIP\nB:\n{}", b.log());
    let t = t.unwrap();
    eprintln!("graceful failover: B holds the VIP after {t:?}");
    assert!(t < Duration::from_millis(1500), "failover took {t:?}");
    assert!(a.wait(Duration::from_secs(2)), "A did not exit");
    eprintln!("A exited {:?} after SIGTERM", stopped.elapsed());
    assert!(!p.a.has_addr(VIP), "A kept the VIP\n{}", a.log());
    assert!(!p.dir.join("a.pid").exists(), "A left its pid file");
    assert!(
        a.log().contains("(VI_1) Entering MASTER STATE"),
        "{}",
        a.log()
    );

    // Restart A: it preempts B on B's next advert.
    let mut a = Daemon::start(&p.a, &p.dir, "a", &conf(150, ""));
    let t = wait_for(Duration::from_secs(4), || {
        p.a.has_addr(VIP) && !p.b.has_addr(VIP)
    });
    assert!(
        t.is_some(),
        "A did not preempt\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    eprintln!("A preempted after {:?}", t.unwrap());

    // Crash of the master: B waits Master_Down_Interval (3 + 0.61 s).
    let killed = Instant::now();
    a.crash();
    assert!(a.wait(Duration::from_secs(2)));
    let t = wait_for(Duration::from_secs(6), || p.b.has_addr(VIP));
    assert!(t.is_some(), "B never took over\n{}", b.log());
    let t = killed.elapsed();
    eprintln!("crash failover: B holds the VIP after {t:?}");
    assert!(
        t > Duration::from_millis(2500) && t < Duration::from_millis(4600),
        "{t:?}"
    );
    drop(b);
}

#[test]
fn notify_script_gets_keepalived_args() {
    if !privileged() {
        return;
    }
    let p = Pair::new("n");
    let out = p.dir.join("notify.out");
    let script = p.dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let extra = format!("  notify {}\n", script.display());
    let mut a = Daemon::start(&p.a, &p.dir, "a", &conf(150, &extra));
    let t = wait_for(Duration::from_secs(6), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("INSTANCE VI_1 MASTER 150"))
    });
    assert!(
        t.is_some(),
        "no MASTER notify: {:?}\n{}",
        std::fs::read_to_string(&out),
        a.log()
    );
    a.signal(libc::SIGTERM);
    assert!(a.wait(Duration::from_secs(2)));
    let t = wait_for(Duration::from_secs(2), || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("INSTANCE VI_1 STOP 150"))
    });
    let s = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(t.is_some(), "no STOP notify: {s}");
    assert!(s.starts_with("INSTANCE VI_1 BACKUP 150\n"), "{s}");
}

#[test]
fn track_script_failure_faults_the_master() {
    if !privileged() {
        return;
    }
    let p = Pair::new("t");
    let flag = p.dir.join("down");
    let chk = format!(
        "vrrp_script chk {{\n  script \"/usr/bin/test ! -e {}\"\n  interval 1\n}}\n",
        flag.display()
    );
    let extra = "  track_script {\n    chk\n  }\n";
    // With enable_script_security, scripts need an existing script user.
    let ca = conf(150, extra)
        .replacen("vrrp_instance", &format!("{chk}vrrp_instance"), 1)
        .replacen(
            "enable_script_security\n",
            "enable_script_security\n  script_user root\n",
            1,
        );
    let a = Daemon::start(&p.a, &p.dir, "a", &ca);
    let b = Daemon::start(&p.b, &p.dir, "b", &conf(100, ""));
    let t = wait_for(Duration::from_secs(6), || p.a.has_addr(VIP));
    assert!(t.is_some(), "A never took the VIP\nA:\n{}", a.log());

    // The script fails: A goes to FAULT, releases the VIP, B takes over.
    std::fs::write(&flag, "").unwrap();
    let t = wait_for(Duration::from_secs(4), || {
        p.b.has_addr(VIP) && !p.a.has_addr(VIP)
    });
    assert!(
        t.is_some(),
        "no takeover on script failure\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    eprintln!("script failure: B holds the VIP after {:?}", t.unwrap());
    assert!(
        a.log().contains("(VI_1) Entering FAULT STATE"),
        "{}",
        a.log()
    );

    // It recovers: A comes back as BACKUP and preempts B.
    std::fs::remove_file(&flag).unwrap();
    let t = wait_for(Duration::from_secs(7), || {
        p.a.has_addr(VIP) && !p.b.has_addr(VIP)
    });
    assert!(t.is_some(), "A did not come back\nA:\n{}", a.log());
    eprintln!("script recovery: A holds the VIP after {:?}", t.unwrap());
}

#[test]
fn ipv6_vrrpv3_graceful_failover() {
    if !privileged() {
        return;
    }
    let p = Pair::new("6");
    let conf6 = |prio: u8| {
        format!(
            "global_defs {{\n  enable_script_security\n}}\n\
             vrrp_instance VI_6 {{\n  interface eth0\n  virtual_router_id 61\n  \
             priority {prio}\n  advert_int 0.5\n  virtual_ipaddress {{\n    fd99::100/64\n  }}\n}}\n"
        )
    };
    let mut a = Daemon::start(&p.a, &p.dir, "a", &conf6(150));
    let b = Daemon::start(&p.b, &p.dir, "b", &conf6(100));
    // v3: Master_Down_Interval 3 × 0.5 s + skew 0.2 s.
    let t = wait_for(Duration::from_secs(4), || p.a.has_addr("fd99::100"));
    assert!(
        t.is_some(),
        "A never took the VIP\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    std::thread::sleep(Duration::from_millis(1000));
    assert!(!p.b.has_addr("fd99::100"), "B:\n{}", b.log());
    a.signal(libc::SIGTERM);
    let t = wait_for(Duration::from_secs(2), || p.b.has_addr("fd99::100"));
    assert!(t.is_some(), "B never took the VIP\nB:\n{}", b.log());
    eprintln!("IPv6 graceful failover: {:?}", t.unwrap());
    assert!(a.wait(Duration::from_secs(2)));
    assert!(!p.a.has_addr("fd99::100"));
}

#[test]
fn unicast_graceful_failover() {
    if !privileged() {
        return;
    }
    let p = Pair::new("u");
    let uc = |me: &str, peer: &str| {
        format!("  unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n")
    };
    let mut a = Daemon::start(&p.a, &p.dir, "a", &conf(150, &uc("10.99.0.1", "10.99.0.2")));
    let b = Daemon::start(&p.b, &p.dir, "b", &conf(100, &uc("10.99.0.2", "10.99.0.1")));
    let t = wait_for(Duration::from_secs(6), || p.a.has_addr(VIP));
    assert!(
        t.is_some(),
        "A never took the VIP\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!p.b.has_addr(VIP), "B:\n{}", b.log());
    a.signal(libc::SIGTERM);
    let t = wait_for(Duration::from_secs(3), || p.b.has_addr(VIP));
    assert!(t.is_some(), "B never took the VIP\nB:\n{}", b.log());
    eprintln!("unicast graceful failover: {:?}", t.unwrap());
    assert!(t.unwrap() < Duration::from_millis(1500));
    assert!(a.wait(Duration::from_secs(2)));
}

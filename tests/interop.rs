//! Interoperability with the real keepalived 2.2.7: our daemon in one
//! network namespace, `/usr/sbin/keepalived` in the neighbouring one, joined
//! by a veth pair. Each scenario runs in both roles (ours master / keepalived
//! backup, and the reverse): the higher priority becomes MASTER, a graceful
//! stop (SIGTERM) of the master hands the VIP over quickly, a restart
//! preempts back, and there are never two masters after convergence.
//!
//! Needs root and keepalived; skipped with a message otherwise, unless `CI`
//! is set. Every namespace and process is removed by Drop guards, also on
//! panic.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/proclab.rs"]
mod proclab;
use common::lab::{self, wait_for, Ns, Pair};
use proclab::{parent_of, read_pid};

fn privileged() -> bool {
    lab::with_keepalived("interop")
}

/// One daemon (ours or the real keepalived), killed (SIGKILL) by pid on
/// drop if still running, together with keepalived's VRRP child.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
    /// keepalived's VRRP child pid file.
    vrrp_pid: PathBuf,
}

impl Daemon {
    fn start(ns: &Ns, dir: &Path, tag: &str, real: bool, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let vrrp_pid = dir.join(format!("{tag}-vrrp.pid"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name]);
        if real {
            cmd.args([&lab::keepalived_bin(), "-n", "-l", "-P", "-f"]);
        } else {
            cmd.args([env!("CARGO_BIN_EXE_keepalived"), "-n", "-l", "-f"]);
        }
        cmd.arg(&cf)
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(&vrrp_pid);
        if real {
            cmd.arg("-c").arg(dir.join(format!("{tag}-chk.pid")));
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = cmd
            // Dumps go to the scratch directory, never to the host's /tmp.
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("start daemon");
        Daemon {
            child: Some(child),
            log,
            vrrp_pid,
        }
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
            } else {
                return true;
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
            let parent = c.id() as i32;
            // keepalived's VRRP child, only if it is still the child of the
            // process we started.
            if let Some(p) = read_pid(&self.vrrp_pid) {
                if p != parent && parent_of(p) == Some(parent) {
                    // SAFETY: kill(2) on a verified child of our child.
                    unsafe { libc::kill(p, libc::SIGKILL) };
                }
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `f` every 10 ms until true or `t` elapsed; returns the time taken.

#[derive(Clone, Copy)]
enum Kind {
    /// VRRPv2, IPv4, PASS authentication.
    V2Auth,
    /// VRRPv2, IPv4, IPsec AH authentication (HMAC-MD5-96).
    V2Ah,
    /// VRRPv3, IPv4.
    V3,
    /// VRRPv3, IPv6.
    V3Ipv6,
    /// VRRPv3, IPv6, `use_vmac`: adverts leave the VMAC from the base's
    /// link-local address.
    V3Ipv6Vmac,
    /// VRRPv2, IPv4, unicast.
    Unicast,
}

impl Kind {
    fn vip(self) -> &'static str {
        match self {
            Kind::V3Ipv6 | Kind::V3Ipv6Vmac => "fd00:99::100",
            _ => "10.99.0.100",
        }
    }

    /// `me`/`peer`: the IPv4 addresses of this side and the other.
    fn conf(self, prio: u8, me: &str, peer: &str) -> String {
        let mut s = String::from("global_defs {\n  enable_script_security\n}\n");
        s += "vrrp_instance VI_1 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n";
        s += &format!("  priority {prio}\n  advert_int 1\n");
        match self {
            Kind::V2Auth => {
                s += "  version 2\n  authentication {\n    auth_type PASS\n    auth_pass secret12\n  }\n"
            }
            Kind::V2Ah => {
                s += "  version 2\n  authentication {\n    auth_type AH\n    auth_pass secret12\n  }\n"
            }
            Kind::V3 | Kind::V3Ipv6 => s += "  version 3\n",
            Kind::V3Ipv6Vmac => s += "  version 3\n  use_vmac\n",
            Kind::Unicast => {
                s += &format!("  version 2\n  unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n")
            }
        }
        match self {
            Kind::V3Ipv6 | Kind::V3Ipv6Vmac => {
                s += "  virtual_ipaddress {\n    fe80::100/64\n    fd00:99::100/64\n  }\n"
            }
            _ => s += "  virtual_ipaddress {\n    10.99.0.100/24\n  }\n",
        }
        s += "}\n";
        s
    }
}

/// Whether `vip` is on any interface of `ns` (a VMAC's included).
fn has_vip(ns: &Ns, vip: &str) -> bool {
    ns.ip(&["-o", "addr"]).contains(&format!(" {vip}/"))
}

/// Samples both sides every 100 ms for `t`: the VIP is on `master` only.
fn one_master(master: &Ns, backup: &Ns, vip: &str, t: Duration, logs: &dyn Fn() -> String) {
    let end = Instant::now() + t;
    while Instant::now() < end {
        let m = has_vip(master, vip);
        let b = has_vip(backup, vip);
        assert!(
            m && !b,
            "after convergence: VIP on master {m}, on backup {b}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn scenario(kind: Kind, ours_master: bool, tag: &str) {
    if !privileged() {
        return;
    }
    let p = Pair::new(tag);
    let vip = kind.vip();
    let (ours_prio, real_prio) = if ours_master { (150, 100) } else { (100, 150) };
    let ours_conf = kind.conf(ours_prio, "10.99.0.1", "10.99.0.2");
    let real_conf = kind.conf(real_prio, "10.99.0.2", "10.99.0.1");
    let start_ours = || Daemon::start(&p.a, &p.dir, "ours", false, &ours_conf);
    let start_real = || Daemon::start(&p.b, &p.dir, "real", true, &real_conf);
    let mut ours = Some(start_ours());
    let mut real = Some(start_real());
    let (mns, bns) = if ours_master {
        (&p.a, &p.b)
    } else {
        (&p.b, &p.a)
    };
    let logs_of = |o: &Option<Daemon>, r: &Option<Daemon>| {
        format!(
            "--- ours:\n{}\n--- keepalived:\n{}",
            o.as_ref().map(Daemon::log).unwrap_or_default(),
            r.as_ref().map(Daemon::log).unwrap_or_default()
        )
    };
    let who = if ours_master { "ours" } else { "keepalived" };
    let other = if ours_master { "keepalived" } else { "ours" };

    // The higher priority becomes MASTER: Master_Down_Interval 3 s + skew.
    let t = wait_for(Duration::from_secs(10), || {
        has_vip(mns, vip) && !has_vip(bns, vip)
    });
    assert!(
        t.is_some(),
        "{who} never became the only MASTER\n{}",
        logs_of(&ours, &real)
    );
    eprintln!("[{tag}] {who} MASTER after {:?}", t.unwrap());
    one_master(mns, bns, vip, Duration::from_secs(3), &|| {
        logs_of(&ours, &real)
    });

    // Graceful stop of the master: priority 0 ⇒ the backup takes over
    // after its skew time.
    let master = if ours_master { &mut ours } else { &mut real };
    master.as_ref().unwrap().signal(libc::SIGTERM);
    let t = wait_for(Duration::from_secs(3), || has_vip(bns, vip));
    assert!(
        t.is_some(),
        "{other} never took the VIP\n{}",
        logs_of(&ours, &real)
    );
    let t = t.unwrap();
    eprintln!("[{tag}] graceful stop of {who}: {other} holds the VIP after {t:?}");
    assert!(t < Duration::from_millis(1500), "takeover took {t:?}");
    let master = if ours_master { &mut ours } else { &mut real };
    assert!(
        master.as_mut().unwrap().wait(Duration::from_secs(5)),
        "{who} did not exit on SIGTERM\n{}",
        logs_of(&ours, &real)
    );
    assert!(!has_vip(mns, vip), "{who} kept the VIP after exit");
    // Keep the old log; the restarted daemon appends to it.
    if ours_master {
        drop(ours.take());
        ours = Some(start_ours());
    } else {
        drop(real.take());
        real = Some(start_real());
    }

    // Restart: the higher priority preempts back.
    let t = wait_for(Duration::from_secs(10), || {
        has_vip(mns, vip) && !has_vip(bns, vip)
    });
    assert!(
        t.is_some(),
        "{who} did not preempt back\n{}",
        logs_of(&ours, &real)
    );
    eprintln!("[{tag}] restarted {who} preempted after {:?}", t.unwrap());
    one_master(mns, bns, vip, Duration::from_secs(3), &|| {
        logs_of(&ours, &real)
    });
    // Both sides parsed each other's adverts: the lower priority yielded
    // to a received advert, the restarted master discarded the other's.
    let (mlog, blog) = if ours_master {
        (ours.as_ref().unwrap().log(), real.as_ref().unwrap().log())
    } else {
        (real.as_ref().unwrap().log(), ours.as_ref().unwrap().log())
    };
    assert!(
        blog.contains("with higher priority 150, ours 100"),
        "{other} never yielded to an advert\n{}",
        logs_of(&ours, &real)
    );
    assert!(
        mlog.contains("(VI_1) received lower priority (100) advert from"),
        "{who} never saw {other}'s advert\n{}",
        logs_of(&ours, &real)
    );
    drop(ours);
    drop(real);
}

#[test]
fn v2_auth_ours_master() {
    scenario(Kind::V2Auth, true, "2o");
}

#[test]
fn v2_auth_keepalived_master() {
    scenario(Kind::V2Auth, false, "2k");
}

#[test]
fn v3_ipv4_ours_master() {
    scenario(Kind::V3, true, "3o");
}

#[test]
fn v3_ipv4_keepalived_master() {
    scenario(Kind::V3, false, "3k");
}

#[test]
fn v3_ipv6_ours_master() {
    scenario(Kind::V3Ipv6, true, "6o");
}

#[test]
fn v3_ipv6_keepalived_master() {
    scenario(Kind::V3Ipv6, false, "6k");
}

#[test]
fn unicast_ours_master() {
    scenario(Kind::Unicast, true, "uo");
}

#[test]
fn unicast_keepalived_master() {
    scenario(Kind::Unicast, false, "uk");
}

#[test]
fn v2_ah_ours_master() {
    scenario(Kind::V2Ah, true, "ao");
}

#[test]
fn v2_ah_keepalived_master() {
    scenario(Kind::V2Ah, false, "ak");
}

#[test]
fn v3_ipv6_vmac_ours_master() {
    scenario(Kind::V3Ipv6Vmac, true, "v6vo");
}

#[test]
fn v3_ipv6_vmac_keepalived_master() {
    scenario(Kind::V3Ipv6Vmac, false, "v6vk");
}

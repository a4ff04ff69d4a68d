//! Our daemon in a test namespace: `-n -l`, its log and pid files in the
//! test's scratch directory, killed on drop (also on panic).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::lab::Ns;

/// Our daemon, started with [`Daemon::start`].
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
    /// The VRRP child's pid file.
    pub vrrp_pid: PathBuf,
}

impl Daemon {
    pub fn start(ns: &Ns, dir: &std::path::Path, tag: &str, conf: &str) -> Daemon {
        Self::start_bin(env!("CARGO_BIN_EXE_keepalived"), ns, dir, tag, conf)
    }

    /// keepalived 2.2.7 itself, started the same way.
    pub fn start_keepalived(ns: &Ns, dir: &std::path::Path, tag: &str, conf: &str) -> Daemon {
        Self::start_bin(&crate::common::lab::keepalived_bin(), ns, dir, tag, conf)
    }

    fn start_bin(bin: &str, ns: &Ns, dir: &std::path::Path, tag: &str, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let vrrp_pid = dir.join(format!("{tag}-vrrp.pid"));
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, bin])
            .args(["-n", "-l", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(&vrrp_pid)
            .arg("-c")
            .arg(dir.join(format!("{tag}-check.pid")))
            .arg("-b")
            .arg(dir.join(format!("{tag}-bfd.pid")))
            .env("TMPDIR", dir)
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
    pub fn crash(&mut self) {
        self.signal(libc::SIGSTOP);
        let child = crate::common::lab::read_pid(&self.vrrp_pid);
        if let Some(p) = child {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
            let ppid = format!("PPid:\t{}\n", self.pid());
            if status.contains(&ppid) {
                // SAFETY: kill(2) on a verified child of our child.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
        }
        self.signal(libc::SIGKILL);
        assert!(self.wait(Duration::from_secs(2)));
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of our own child (`ip netns exec`
        // execs the daemon in place, so it is the daemon's pid).
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Waits for the process to exit, up to `t`.
    pub fn wait(&mut self, t: Duration) -> bool {
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

    pub fn log(&self) -> String {
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

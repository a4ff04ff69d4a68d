//! One router namespace for process-model tests: `eth0` (10.66.0.1/24)
//! and its veth peer `peer0`, both inside the namespace, and a daemon
//! started there with its pid files and log in a scratch directory.
//! Everything is removed on drop: the daemon's processes are killed by
//! the pids in their pid files, after checking that each pid is really
//! ours (its command line names this lab's configuration file).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::lab::{wait_for, Ns};

/// The VIP the tests use.
pub const VIP: &str = "10.66.0.100";

/// A namespace with `eth0` and a scratch directory.
pub struct Lab {
    /// The namespace (deleted on drop).
    pub ns: Ns,
    /// Configs, logs and pid files.
    pub dir: PathBuf,
}

impl Lab {
    /// A new namespace `tag` with eth0 10.66.0.1/24 up.
    pub fn new(tag: &str) -> Lab {
        let ns = Ns::new(tag);
        ns.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
        ]);
        ns.ip(&["addr", "add", "10.66.0.1/24", "dev", "eth0"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        ns.ip(&["link", "set", "peer0", "up"]);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&ns.name);
        std::fs::create_dir_all(&dir).unwrap();
        Lab { ns, dir }
    }

    /// Whether `eth0` holds `addr`.
    pub fn has_vip(&self) -> bool {
        self.ns.has_addr(VIP)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A VRRP-only configuration: one instance on eth0 holding [`VIP`].
/// Priority 255 (address owner) becomes MASTER at once.
pub fn vrrp_conf(priority: u8) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 66\n  \
         priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

/// A checker-only configuration (one virtual server).
pub fn checker_conf() -> String {
    "virtual_server 10.66.0.200 80 {\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  \
     protocol TCP\n  real_server 10.66.0.10 80 {\n    weight 1\n    TCP_CHECK {\n      \
     connect_timeout 3\n    }\n  }\n}\n"
        .to_string()
}

pub use crate::common::lab::read_pid;

/// The parent pid of a process.
pub fn parent_of(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` runs and its command line contains `needle`.
pub fn cmdline_has(pid: i32, needle: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(needle))
        .unwrap_or(false)
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Whether a process has a handler for `sig` (`SigCgt` in its status).
pub fn catches(pid: i32, sig: i32) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig - 1)) != 0)
}

/// Sends a signal.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2); callers pass pids of processes they verified.
    unsafe { libc::kill(pid, sig) };
}

/// Our daemon, started in a lab.
pub struct Daemon {
    /// `ip netns exec ... keepalived` (execs in place, so its pid is the
    /// daemon's with `-n`; it exits at once without `-n`).
    pub child: Option<Child>,
    /// The configuration file (unique to this daemon).
    pub conf: PathBuf,
    /// stdout and stderr.
    pub log: PathBuf,
    /// Parent, VRRP and checker pid files.
    pub pid: PathBuf,
    pub vrrp_pid: PathBuf,
    pub chk_pid: PathBuf,
}

impl Daemon {
    /// Starts `keepalived -l -f CONF -p -r -c ARGS...` in the lab, with
    /// extra environment variables.
    pub fn start(lab: &Lab, tag: &str, conf: &str, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut all = vec!["-l"];
        all.extend_from_slice(args);
        Daemon::start_with(lab, tag, conf, &all, env, &[])
    }

    /// Starts `PREFIX... ip netns exec NS keepalived -f CONF -p -r -c
    /// ARGS...` (no `-l` added). The prefix must exec in place.
    pub fn start_with(
        lab: &Lab,
        tag: &str,
        conf: &str,
        args: &[&str],
        env: &[(&str, &str)],
        prefix: &[&str],
    ) -> Daemon {
        let cf = lab.dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let log = lab.dir.join(format!("{tag}.log"));
        let pid = lab.dir.join(format!("{tag}.pid"));
        let vrrp_pid = lab.dir.join(format!("{tag}-vrrp.pid"));
        let chk_pid = lab.dir.join(format!("{tag}-chk.pid"));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg("ip");
                c
            }
            None => Command::new("ip"),
        };
        cmd.args([
            "netns",
            "exec",
            &lab.ns.name,
            env!("CARGO_BIN_EXE_keepalived"),
        ])
        .arg("-f")
        .arg(&cf)
        .arg("-p")
        .arg(&pid)
        .arg("-r")
        .arg(&vrrp_pid)
        .arg("-c")
        .arg(&chk_pid)
        .args(args)
        .env_remove("NOTIFY_SOCKET")
        // Dumps go to the lab, never to the host's /tmp.
        .env("TMPDIR", &lab.dir)
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start keepalived");
        Daemon {
            child: Some(child),
            conf: cf,
            log,
            pid,
            vrrp_pid,
            chk_pid,
        }
    }

    /// The pid in a pid file, if that process is one of ours.
    fn verified(&self, file: &Path) -> Option<i32> {
        let p = read_pid(file)?;
        cmdline_has(p, &self.conf.to_string_lossy()).then_some(p)
    }

    /// The parent's pid (from its pid file).
    pub fn parent_pid(&self) -> Option<i32> {
        self.verified(&self.pid)
    }

    /// The VRRP child's pid (from its pid file).
    pub fn vrrp_pid(&self) -> Option<i32> {
        self.verified(&self.vrrp_pid)
    }

    /// The checker child's pid (from its pid file).
    pub fn checker_pid(&self) -> Option<i32> {
        self.verified(&self.chk_pid)
    }

    /// Sends a signal to the parent.
    pub fn signal(&self, sig: i32) {
        let pid = self.parent_pid().expect("parent pid file");
        kill(pid, sig);
    }

    /// Waits for the process we spawned to exit, up to `t`.
    pub fn wait_exit(&mut self, t: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + t;
        while Instant::now() < end {
            let c = self.child.as_mut()?;
            if let Ok(Some(st)) = c.try_wait() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` `n` times.
    pub fn wait_log(&self, t: Duration, needle: &str, n: usize) -> bool {
        wait_for(t, || self.log().matches(needle).count() >= n).is_some()
    }

    /// Waits until the daemon has started every child (`Startup complete`).
    pub fn wait_started(&self) {
        assert!(
            self.wait_log(Duration::from_secs(5), "Startup complete", 1),
            "no start-up\n{}",
            self.log()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Freeze the parent first so that it restarts nothing.
        let parent = self.parent_pid();
        if let Some(p) = parent {
            kill(p, libc::SIGSTOP);
        }
        for f in [&self.vrrp_pid, &self.chk_pid] {
            if let Some(p) = self.verified(f) {
                kill(p, libc::SIGKILL);
            }
        }
        if let Some(p) = parent {
            kill(p, libc::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

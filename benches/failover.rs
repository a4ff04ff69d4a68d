//! Failover benchmark, ours and keepalived 2.2.7 side by side in one run.
//!
//! For each implementation, two routers of that implementation in network
//! namespaces (A priority 150, B priority 100), and for each of VRRPv2 at
//! advert_int 1 and VRRPv3 at advert_int 0.1:
//! - clean stop: SIGTERM to A; measured on B's wire from A's priority-0
//!   advert to B's first gratuitous ARP, against the formula Skew_Time;
//!   and how long A's process takes to exit after SIGTERM;
//! - crash: SIGKILL to A's processes; from A's last advert to B's first
//!   gratuitous ARP, against Master_Down_Interval.
//!
//! Times come from the kernel's capture timestamps (AF_PACKET), as tcpdump
//! would give them. Prints medians over the runs and the ratios of our
//! error (measured − formula) and exit time to keepalived's.
//!
//! usage (as root): `cargo bench --bench failover [-- RUNS]` (default 3).
//! env: KEEPALIVED (default /usr/sbin/keepalived).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{capture, lab};

use capture::Capture;
use lab::{wait_for, Ns, Pair};

const VIP: &str = "10.99.0.100";

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Ours,
    Keepalived,
}

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Ours => "ours",
            Impl::Keepalived => "keepalived",
        }
    }
}

struct Daemon {
    child: Option<Child>,
    dir: PathBuf,
    tag: String,
}

impl Daemon {
    fn start(imp: Impl, ns: &Ns, dir: &Path, tag: &str, conf: &str) -> Daemon {
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name]);
        match imp {
            Impl::Ours => cmd.arg(env!("CARGO_BIN_EXE_keepalived")),
            Impl::Keepalived => cmd
                .arg(std::env::var("KEEPALIVED").unwrap_or("/usr/sbin/keepalived".into()))
                .arg("-P"),
        };
        cmd.args(["-n", "-l", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(dir.join(format!("{tag}-vrrp.pid")))
            .arg("-c")
            .arg(dir.join(format!("{tag}-chk.pid")));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start daemon");
        Daemon {
            child: Some(child),
            dir: dir.to_path_buf(),
            tag: tag.into(),
        }
    }

    fn kill(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// SIGKILL to the VRRP process and the daemon: a crash. The parent is
    /// frozen first, so that it neither restarts nor cleans up after its
    /// child (nor, by dying, makes the child stop gracefully).
    fn crash(&mut self) {
        self.kill(libc::SIGSTOP);
        let f = self.dir.join(format!("{}-vrrp.pid", self.tag));
        if let Some(p) = std::fs::read_to_string(f)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) on the pid the daemon wrote for its VRRP process.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        self.kill(libc::SIGKILL);
        self.wait();
    }

    /// Waits for the daemon to exit; returns how long that took.
    fn wait(&mut self) -> Duration {
        let start = Instant::now();
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
        start.elapsed()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.crash();
        }
    }
}

fn conf(prio: u8, v3: bool) -> String {
    let (ver, int) = if v3 {
        ("  version 3\n", "0.1")
    } else {
        ("", "1")
    };
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int {int}\n{ver}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

/// One measurement: (clean stop error, exit time, crash error) in µs
/// (error = measured − formula).
fn run_once(imp: Impl, v3: bool, tag: &str) -> Option<(f64, f64, f64)> {
    let p = Pair::new(tag);
    let a_ip: std::net::Ipv4Addr = "10.99.0.1".parse().unwrap();
    let vip: std::net::Ipv4Addr = VIP.parse().unwrap();
    let int = if v3 { 0.1 } else { 1.0 };
    let skew = int * 156.0 / 256.0;
    let master_down = 3.0 * int + skew;
    let settle = Duration::from_secs_f64(int * 3.0 + 0.3);

    let mut a = Daemon::start(imp, &p.a, &p.dir, "a", &conf(150, v3));
    let _b = Daemon::start(imp, &p.b, &p.dir, "b", &conf(100, v3));
    wait_for(Duration::from_secs(8), || {
        p.a.has_addr(VIP) && !p.b.has_addr(VIP)
    })?;
    std::thread::sleep(settle);
    let cap = Capture::start(&p.b.name, "eth0");
    a.kill(libc::SIGTERM);
    let exit = a.wait();
    wait_for(Duration::from_secs(3), || p.b.has_addr(VIP))?;
    std::thread::sleep(Duration::from_millis(100));
    let d = capture::resign_to_garp(&cap.stop(), a_ip, 51, vip)?;
    let stop_err = d.as_secs_f64() - skew;

    let mut a = Daemon::start(imp, &p.a, &p.dir, "a", &conf(150, v3));
    wait_for(Duration::from_secs(8), || {
        p.a.has_addr(VIP) && !p.b.has_addr(VIP)
    })?;
    let cap = Capture::start(&p.b.name, "eth0");
    std::thread::sleep(settle);
    a.crash();
    wait_for(Duration::from_secs(6), || p.b.has_addr(VIP))?;
    std::thread::sleep(Duration::from_millis(100));
    let d = capture::last_advert_to_garp(&cap.stop(), a_ip, 51, 150, vip)?;
    let crash_err = d.as_secs_f64() - master_down;
    Some((stop_err * 1e6, exit.as_secs_f64() * 1e6, crash_err * 1e6))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("failover benchmark: needs root (network namespaces)");
        return;
    }
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    println!("failover benchmark: {runs} runs per case, medians; error = measured - formula");
    for v3 in [false, true] {
        let label = if v3 {
            "VRRPv3 advert_int 0.1"
        } else {
            "VRRPv2 advert_int 1"
        };
        let mut res = Vec::new();
        for imp in [Impl::Keepalived, Impl::Ours] {
            let (mut s, mut e, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for r in 0..runs {
                let tag = format!("bf{}{}{r}", imp.name().len(), u8::from(v3));
                match run_once(imp, v3, &tag) {
                    Some((se, ex, ce)) => {
                        s.push(se);
                        e.push(ex);
                        c.push(ce);
                    }
                    None => eprintln!("{label} {}: run {r} failed", imp.name()),
                }
            }
            let m = (median(s), median(e), median(c));
            println!(
                "{label:22} {:10}  clean stop {:+8.0} µs   exit after SIGTERM {:9.0} µs   crash {:+8.0} µs",
                imp.name(),
                m.0,
                m.1,
                m.2
            );
            res.push(m);
        }
        let (k, o) = (res[0], res[1]);
        println!(
            "{label:22} ratio ours/keepalived: clean-stop error {:.2}, exit time {:.3}, crash error {:.2}",
            o.0 / k.0,
            o.1 / k.1,
            o.2 / k.2
        );
    }
}

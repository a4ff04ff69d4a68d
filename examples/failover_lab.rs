//! A VRRP failover lab in network namespaces (run as root):
//!
//! ```text
//! cargo build --release --bin keepalived --example failover_lab
//! target/release/examples/failover_lab      # as root (or with sudo)
//! ```
//!
//! Builds a client namespace holding a bridge and two router namespaces
//! plugged into it, starts two keepalived-rs daemons (priority 150 and
//! 100) from an embedded configuration, shows who owns the VIP, stops the
//! master gracefully, lets it preempt, then crashes it (every process of
//! router A killed at once), and prints the failover times measured on the
//! wire (a capture on the bridge) beside the RFC 3768 formula; it fails
//! when a figure is far from its formula. Everything is removed at the
//! end, also on Ctrl-C or panic. It runs the `keepalived` built beside it
//! and never builds anything itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const VIP: &str = "10.99.0.100";
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn conf(prio: u8) -> String {
    format!(
        "global_defs {{\n  enable_script_security\n}}\n\
         vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 51\n  \
         priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

fn sh(args: &[&str]) -> Result<String, String> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// A namespace, deleted on drop.
struct Ns(String);

impl Ns {
    fn new(name: &str) -> Result<Ns, String> {
        sh(&["ip", "netns", "add", name])?;
        let ns = Ns(name.to_string());
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    fn ip(&self, args: &[&str]) -> Result<String, String> {
        let mut v = vec!["ip", "-n", &self.0];
        v.extend_from_slice(args);
        sh(&v)
    }

    fn has_vip(&self) -> bool {
        self.ip(&["-o", "-4", "addr", "show", "dev", "eth0"])
            .is_ok_and(|s| s.contains(&format!("{VIP}/")))
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A daemon, killed by pid on drop.
struct Daemon(Option<Child>);

impl Daemon {
    fn start(bin: &Path, ns: &Ns, dir: &Path, tag: &str) -> Result<Daemon, String> {
        let log =
            std::fs::File::create(dir.join(format!("{tag}.log"))).map_err(|e| e.to_string())?;
        let c = Command::new("ip")
            .args(["netns", "exec", &ns.0])
            .arg(bin)
            .args(["-n", "-l", "-f"])
            .arg(dir.join(format!("{tag}.conf")))
            .arg("-p")
            .arg(dir.join(format!("{tag}.pid")))
            .arg("-r")
            .arg(dir.join(format!("{tag}-vrrp.pid")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        Ok(Daemon(Some(c)))
    }

    /// A crash of the whole router: the parent frozen (so that it
    /// neither respawns the VRRP child nor tells it to stop), the VRRP
    /// child and the parent killed. Killing the parent alone is no crash:
    /// its child gets SIGTERM (`PR_SET_PDEATHSIG`) and steps down cleanly.
    fn crash(&mut self, vrrp_pid_file: &Path) {
        if let Some(c) = &mut self.0 {
            let parent = c.id() as i32;
            let vrrp: Option<i32> = std::fs::read_to_string(vrrp_pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            // SAFETY: kill(2) on our own child and its VRRP child, by pid.
            unsafe {
                libc::kill(parent, libc::SIGSTOP);
                if let Some(v) = vrrp {
                    libc::kill(v, libc::SIGKILL);
                }
                libc::kill(parent, libc::SIGKILL);
            }
            let _ = c.wait();
        }
        self.0 = None;
    }

    fn signal(&mut self, sig: i32) {
        if let Some(c) = &mut self.0 {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, sig) };
            let _ = c.wait();
        }
        self.0 = None;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Temp directory removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` until true, `t` elapsed, or Ctrl-C.
fn wait_for(t: Duration, mut f: impl FnMut() -> bool) -> Result<Option<Duration>, String> {
    let start = Instant::now();
    while start.elapsed() < t {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        if f() {
            return Ok(Some(start.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(None)
}

fn owner(a: &Ns, b: &Ns) -> &'static str {
    match (a.has_vip(), b.has_vip()) {
        (true, false) => "router A",
        (false, true) => "router B",
        (true, true) => "both (split brain!)",
        (false, false) => "nobody",
    }
}

fn mac_of(ns: &Ns) -> String {
    ns.ip(&["-o", "link", "show", "eth0"])
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .skip_while(|w| *w != "link/ether")
                .nth(1)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn daemon_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/failover_lab → target/<profile>/keepalived
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("keepalived"))
        .ok_or("no target directory")?;
    if !bin.exists() {
        return Err(format!(
            "{} is missing: cargo build --release --bin keepalived --example failover_lab",
            bin.display()
        ));
    }
    Ok(bin)
}

/// A capture of the VRRP adverts on the client's bridge (`tcpdump`),
/// stopped and read at the end: (time, source, priority).
struct Capture {
    child: Option<Child>,
    out: PathBuf,
}

impl Capture {
    fn start(ns: &Ns, dir: &Path) -> Result<Capture, String> {
        let out = dir.join("adverts.txt");
        let f = std::fs::File::create(&out).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.0, "tcpdump", "-i", "br0", "-n", "-tt", "-l", "-p",
            ])
            .arg("vrrp")
            .stdout(f)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("tcpdump: {e} (install tcpdump)"))?;
        // tcpdump needs a moment to attach.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Capture {
            child: Some(child),
            out,
        })
    }

    /// The adverts seen so far: wall-clock time (s), source, priority.
    fn adverts(&self) -> Vec<(f64, String, u8)> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let t = w.first()?.parse().ok()?;
                let src = w.get(2)?.to_string();
                let prio = w.iter().position(|x| *x == "prio")?;
                let p = w.get(prio + 1)?.trim_end_matches(',').parse().ok()?;
                Some((t, src, p))
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Prints a measured figure beside its formula; an error when they are
/// more than `tolerance_ms` apart.
fn check(
    label: &str,
    measured_ms: f64,
    formula_ms: f64,
    formula: &str,
    tolerance_ms: f64,
) -> Result<(), String> {
    let diff = measured_ms - formula_ms;
    println!(
        "  {label}: {measured_ms:.1} ms (formula {formula} = {formula_ms:.1} ms, {diff:+.1} ms)"
    );
    if diff.abs() > tolerance_ms {
        return Err(format!(
            "{label}: {measured_ms:.1} ms is more than {tolerance_ms} ms from {formula_ms:.1} ms"
        ));
    }
    Ok(())
}

fn lab() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("run as root (network namespaces)".into());
    }
    let bin = daemon_binary()?;
    let tag = std::process::id();
    let dir = Dir(std::env::temp_dir().join(format!("failover-lab-{tag}")));
    std::fs::create_dir_all(&dir.0).map_err(|e| e.to_string())?;
    std::fs::write(dir.0.join("a.conf"), conf(150)).map_err(|e| e.to_string())?;
    std::fs::write(dir.0.join("b.conf"), conf(100)).map_err(|e| e.to_string())?;

    println!("building namespaces: client (bridge 10.99.0.10), router A (10.99.0.1), router B (10.99.0.2)");
    let c = Ns::new(&format!("lab-client-{tag}"))?;
    let a = Ns::new(&format!("lab-a-{tag}"))?;
    let b = Ns::new(&format!("lab-b-{tag}"))?;
    c.ip(&["link", "add", "br0", "type", "bridge"])?;
    c.ip(&["addr", "add", "10.99.0.10/24", "dev", "br0"])?;
    c.ip(&["link", "set", "br0", "up"])?;
    for (ns, port, addr) in [(&a, "pa", "10.99.0.1/24"), (&b, "pb", "10.99.0.2/24")] {
        c.ip(&[
            "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", &ns.0,
        ])?;
        c.ip(&["link", "set", port, "master", "br0"])?;
        c.ip(&["link", "set", port, "up"])?;
        ns.ip(&["addr", "add", addr, "dev", "eth0"])?;
        ns.ip(&["link", "set", "eth0", "up"])?;
    }

    let cap = Capture::start(&c, &dir.0)?;
    println!("starting keepalived-rs: A priority 150, B priority 100 (VI_1, VRID 51, VIP {VIP})");
    let mut da = Daemon::start(&bin, &a, &dir.0, "a")?;
    let _db = Daemon::start(&bin, &b, &dir.0, "b")?;
    let t =
        wait_for(Duration::from_secs(8), || a.has_vip())?.ok_or("router A never became MASTER")?;
    println!(
        "  A is MASTER after {:.2} s (both start as BACKUP: A's Master_Down_Interval 3.41 s); VIP owner: {}",
        t.as_secs_f64(),
        owner(&a, &b)
    );
    let mac_a = mac_of(&a);
    let mac_b = mac_of(&b);
    // The client's view: send one UDP datagram to the VIP (resolving it
    // over ARP, or using the entry the gratuitous ARPs refreshed) and see
    // whose MAC it resolved to.
    let ping = |what: &str| {
        let _ = sh(&[
            "ip",
            "netns",
            "exec",
            &c.0,
            "bash",
            "-c",
            &format!("echo probe > /dev/udp/{VIP}/9"),
        ]);
        std::thread::sleep(Duration::from_millis(200));
        let neigh = c.ip(&["neigh", "show", VIP]).unwrap_or_default();
        let who = if !mac_a.is_empty() && neigh.contains(&mac_a) {
            "router A"
        } else if !mac_b.is_empty() && neigh.contains(&mac_b) {
            "router B"
        } else {
            "unresolved"
        };
        println!("  client ({what}): {VIP} is at {who} [{}]", neigh.trim());
    };
    ping("A master");

    // RFC 3768 §6.1 (keepalived's timers): B's Skew_Time is
    // (256 - 100) / 256 s, its Master_Down_Interval 3 × Advertisement
    // interval + Skew_Time; A's (priority 150) 3 s + 106/256 s.
    let (skew_b, down_b, down_a) = (609.375, 3609.375, 3414.0625);
    let (a_ip, b_ip) = ("10.99.0.1", "10.99.0.2");
    let first_after = |t: f64, src: &str, prio: Option<u8>| {
        cap.adverts()
            .into_iter()
            .find(|(at, s, p)| *at >= t && s == src && prio.is_none_or(|x| x == *p))
            .map(|a| a.0)
    };

    println!("graceful stop of A (SIGTERM): A sends priority 0, B takes over after its Skew_Time");
    let t_stop = now_secs();
    da.signal(libc::SIGTERM);
    wait_for(Duration::from_secs(5), || b.has_vip())?.ok_or("B never took over")?;
    std::thread::sleep(Duration::from_millis(300));
    let p0 = first_after(t_stop, a_ip, Some(0)).ok_or("no priority-0 advert from A")?;
    let t_b = first_after(p0, b_ip, None).ok_or("no advert from B")?;
    check(
        "A's priority 0 -> B's first advert",
        (t_b - p0) * 1e3,
        skew_b,
        "Skew_Time (256-100)/256 s",
        150.0,
    )?;
    println!("  VIP owner: {}", owner(&a, &b));
    ping("B master");

    println!("restarting A: it preempts B after its own Master_Down_Interval");
    let t_start = now_secs();
    let mut da = Daemon::start(&bin, &a, &dir.0, "a")?;
    wait_for(Duration::from_secs(6), || a.has_vip() && !b.has_vip())?.ok_or("A did not preempt")?;
    std::thread::sleep(Duration::from_millis(300));
    let t_a = first_after(t_start, a_ip, Some(150)).ok_or("no advert from A")?;
    check(
        "A's start -> A's first advert",
        (t_a - t_start) * 1e3,
        down_a,
        "Master_Down_Interval 3 s + (256-150)/256 s",
        150.0,
    )?;

    println!("crash of A (every process of router A killed at once): B takes over after its Master_Down_Interval");
    // Crash just after an advert of A, so that the wait is measured whole.
    let seen = cap.adverts().len();
    wait_for(Duration::from_secs(3), || cap.adverts().len() > seen)?;
    let t_kill = now_secs();
    da.crash(&dir.0.join("a-vrrp.pid"));
    wait_for(Duration::from_secs(8), || b.has_vip())?.ok_or("B never took over")?;
    std::thread::sleep(Duration::from_millis(300));
    let adverts = cap.adverts();
    let last_a = (adverts.iter())
        .filter(|(t, s, _)| *t < t_kill && s == a_ip)
        .map(|a| a.0)
        .next_back()
        .ok_or("no advert from A before the crash")?;
    let after: Vec<_> = (adverts.iter())
        .filter(|(t, s, _)| *t >= t_kill && s == a_ip)
        .collect();
    if !after.is_empty() {
        return Err(format!(
            "A sent {} adverts after the crash: {after:?}",
            after.len()
        ));
    }
    println!("  A sent nothing after the kill (no priority-0 advert: a crash, not a stop)");
    let t_b = first_after(t_kill, b_ip, None).ok_or("no advert from B")?;
    check(
        "A's last advert -> B's first advert",
        (t_b - last_a) * 1e3,
        down_b,
        "Master_Down_Interval 3 s + (256-100)/256 s",
        150.0,
    )?;
    println!(
        "  VIP owner: router B{}",
        if a.has_vip() {
            " (the killed A left its stale copy, removed when A restarts)"
        } else {
            ""
        }
    );
    ping("B master after crash");
    println!("cleaning up");
    Ok(())
}

fn main() -> std::process::ExitCode {
    // SAFETY: installing an async-signal-safe handler (one atomic store).
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    match lab() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("failover_lab: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

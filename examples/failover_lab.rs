//! A VRRP failover lab in network namespaces (run as root):
//!
//! ```text
//! cargo run --release --example failover_lab
//! ```
//!
//! Builds a client namespace holding a bridge and two router namespaces
//! plugged into it, starts two keepalived-rs daemons (priority 150 and
//! 100) from an embedded configuration, shows who owns the VIP, stops the
//! master gracefully, then crashes it, and prints the measured failover
//! times and the VIP's new owner. Everything is removed at the end, also
//! on Ctrl-C or panic.

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
    let release = exe.to_string_lossy().contains("/release/");
    let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    cmd.args(["build", "--bin", "keepalived"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        cmd.arg("--release");
    }
    let ok = cmd.status().map(|s| s.success()).unwrap_or(false);
    if !ok && !bin.exists() {
        return Err("unable to build the keepalived binary".into());
    }
    Ok(bin)
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

    println!("starting keepalived-rs: A priority 150, B priority 100 (VI_1, VRID 51, VIP {VIP})");
    let mut da = Daemon::start(&bin, &a, &dir.0, "a")?;
    let _db = Daemon::start(&bin, &b, &dir.0, "b")?;
    let t =
        wait_for(Duration::from_secs(8), || a.has_vip())?.ok_or("router A never became MASTER")?;
    println!(
        "  A is MASTER after {:.2} s; VIP owner: {}",
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

    println!("graceful stop of A (SIGTERM)");
    let t0 = Instant::now();
    da.signal(libc::SIGTERM);
    let t = wait_for(Duration::from_secs(5), || b.has_vip())?.ok_or("B never took over")?;
    let total = t0.elapsed().max(t);
    println!(
        "  failover time: {:.0} ms; VIP owner: {}",
        total.as_secs_f64() * 1000.0,
        owner(&a, &b)
    );
    ping("B master");

    println!("restarting A: it preempts B");
    let mut da = Daemon::start(&bin, &a, &dir.0, "a")?;
    let t = wait_for(Duration::from_secs(6), || a.has_vip() && !b.has_vip())?
        .ok_or("A did not preempt")?;
    println!("  A is MASTER again after {:.2} s", t.as_secs_f64());

    println!("crash of A (SIGKILL)");
    let t0 = Instant::now();
    da.signal(libc::SIGKILL);
    wait_for(Duration::from_secs(8), || b.has_vip())?.ok_or("B never took over")?;
    println!(
        "  failover time: {:.0} ms (Master_Down_Interval 3 s + skew 0.61 s); VIP owner: router B{}",
        t0.elapsed().as_secs_f64() * 1000.0,
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

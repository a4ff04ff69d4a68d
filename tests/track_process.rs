//! `vrrp_track_process` beside keepalived 2.2.7: an instance tracking a
//! process with weight 0 is FAULT while the process is absent, BACKUP
//! then MASTER once it runs, FAULT again when it is killed — with the
//! same lines in both logs.
//!
//! The kernel's process connector exists only in the initial network
//! namespace, so the daemons run there, each on one end of a veth pair
//! whose other end is in a test namespace (adverts go unicast to it and
//! nowhere else). In a test namespace the listen request is refused, and
//! both implementations say so and stay FAULT: the second test.
//!
//! Needs root and keepalived 2.2.7; skipped with a message otherwise,
//! unless `CI` is set.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::daemon::Daemon;
use common::lab::{run, wait_for, with_keepalived, Impl, Ns};

/// A `sleep` under a name of our own (a symlink: comm is the name it was
/// run by), so that only our probe matches.
struct Probe {
    link: PathBuf,
    name: String,
}

impl Probe {
    /// `tag`: one letter per test (tests run side by side).
    fn new(dir: &Path, tag: &str) -> Probe {
        // comm holds 15 characters.
        let name = format!("katp{tag}_{}", std::process::id() % 10_000_000);
        let link = dir.join(&name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/bin/sleep", &link).unwrap();
        Probe { link, name }
    }

    fn start(&self) -> Running {
        let c = Command::new(&self.link)
            .arg0("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start probe");
        Running(c)
    }
}

/// A running probe, killed on drop (also when a test fails).
struct Running(Child);

impl Running {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An instance on `ifname`, unicast to `peer`, tracking `tp` with `weight`.
fn instance(name: &str, vrid: u8, ifname: &str, peer: &str, vip: &str, weight: i32) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface {ifname}\n  state BACKUP\n  virtual_router_id {vrid}\n  \
         priority 100\n  advert_int 1\n  unicast_peer {{\n    {peer}\n  }}\n  \
         virtual_ipaddress {{\n    {vip}/32\n  }}\n  track_process {{\n    tp weight {weight}\n  }}\n}}\n"
    )
}

/// The test's configuration: `VI_1` tracking the probe with weight 0.
fn config(probe: &str, ifname: &str, peer: &str, vip: &str) -> String {
    format!(
        "vrrp_track_process tp {{\n  process {probe}\n}}\n{}",
        instance("VI_1", 51, ifname, peer, vip, 0)
    )
}

/// The lines both implementations must agree on, without time stamps.
fn lines(log: &str) -> Vec<String> {
    log.lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, r)| r))
        .filter(|l| {
            let vi = l.starts_with("(VI_1) ") || l.starts_with("(VI_2) ");
            (vi && (l.contains("STATE") || l.contains("FAULT state") || l.contains("priority")))
                || l.starts_with("Quorum ")
                || l.starts_with("Failed to set/clear process event listen")
        })
        .map(str::to_string)
        .collect()
}

/// One end of a veth pair in the initial namespace (the other is `eth0`
/// of `ns`), deleted on drop.
struct RootLink {
    name: String,
    ns: Ns,
}

impl RootLink {
    fn new(tag: &str, subnet: u8) -> RootLink {
        let ns = Ns::new(tag);
        let name = format!("ktp{}{tag}", std::process::id() % 100_000);
        run(&[
            "ip", "link", "add", &name, "type", "veth", "peer", "name", "eth0", "netns", &ns.name,
        ]);
        let link = RootLink { name, ns };
        let me = format!("10.96.{subnet}.1/24");
        run(&["ip", "addr", "add", &me, "dev", &link.name]);
        run(&["ip", "link", "set", &link.name, "up"]);
        let peer = format!("10.96.{subnet}.2/24");
        link.ns.ip(&["addr", "add", &peer, "dev", "eth0"]);
        link.ns.ip(&["link", "set", "eth0", "up"]);
        link
    }

    fn has_addr(&self, a: &str) -> bool {
        run(&["ip", "-o", "addr", "show", "dev", &self.name]).contains(&format!(" {a}/"))
    }
}

impl Drop for RootLink {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.name])
            .status();
    }
}

/// Starts `which` in the initial network namespace, as [`Daemon`] does
/// in a test namespace (`-D`: keepalived's detail lines too).
fn start_here(which: Impl, dir: &Path, tag: &str, conf: &str) -> Daemon {
    let cf = dir.join(format!("{tag}.conf"));
    std::fs::write(&cf, conf).unwrap();
    let log = dir.join(format!("{tag}.log"));
    let vrrp_pid = dir.join(format!("{tag}-vrrp.pid"));
    let file = |s: &str| dir.join(format!("{tag}-{s}.pid"));
    let child = Command::new(which.binary())
        .args(["-n", "-l", "-D", "-f"])
        .arg(&cf)
        .arg("-p")
        .arg(file("main"))
        .arg("-r")
        .arg(&vrrp_pid)
        .arg("-c")
        .arg(file("check"))
        .arg("-b")
        .arg(file("bfd"))
        .env("TMPDIR", tmp(dir, tag))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start daemon");
    Daemon {
        child: Some(child),
        log,
        vrrp_pid,
    }
}

/// Where daemon `tag` writes its dumps.
fn tmp(dir: &Path, tag: &str) -> PathBuf {
    let t = dir.join(format!("{tag}-tmp"));
    std::fs::create_dir_all(&t).unwrap();
    t
}

/// The track-process parts of a `keepalived.data`: each instance's
/// `Tracked processes` list and the `VRRP Track processes` section.
fn data_sections(data: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut take = false;
    let mut list = false;
    for l in data.lines() {
        if l.starts_with("------<") {
            take = l == "------< VRRP Track processes >------";
        }
        if l == "   Tracked processes :" {
            list = true;
        } else if list && !l.starts_with("     ") {
            list = false;
        }
        if take || list {
            out.push(l.to_string());
        }
    }
    out
}

/// `keepalived.data` of daemon `tag` after SIGUSR1.
fn data_dump(d: &Daemon, dir: &Path, tag: &str) -> String {
    let f = tmp(dir, tag).join("keepalived.data");
    let _ = std::fs::remove_file(&f);
    d.signal(libc::SIGUSR1);
    let read = || std::fs::read_to_string(&f).unwrap_or_default();
    wait_for(Duration::from_secs(3), || {
        read().contains("VRRP Track processes")
    });
    read()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("track-process-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until every log has `line`.
fn all_log(ds: &[&Daemon], line: &str, t: Duration) -> bool {
    wait_for(t, || ds.iter().all(|d| d.log().contains(line))).is_some()
}

#[test]
fn a_tracked_process_moves_the_instance_as_keepalived_s() {
    if !with_keepalived("track_process") {
        return;
    }
    let dir = scratch("root");
    let probe = Probe::new(&dir, "r");
    let (lk, lo) = (RootLink::new("k", 1), RootLink::new("o", 2));
    let vip = |n: u8| format!("10.96.{n}.100");
    // VI_2: a weighted tracker changes the priority only.
    let conf = |l: &RootLink, n: u8| {
        let peer = format!("10.96.{n}.2");
        let weighted = instance("VI_2", 52, &l.name, &peer, &format!("10.96.{n}.101"), 10);
        config(&probe.name, &l.name, &peer, &vip(n)) + &weighted
    };
    let theirs = start_here(Impl::Keepalived, &dir, "k", &conf(&lk, 1));
    let ours = start_here(Impl::Ours, &dir, "o", &conf(&lo, 2));
    let both = [&theirs, &ours];
    let dump = || format!("keepalived:\n{}\nours:\n{}", theirs.log(), ours.log());
    let held = "(VI_1) entering FAULT state (tracked process tp quorum not achieved)";
    assert!(all_log(&both, held, Duration::from_secs(5)), "{}", dump());
    // FAULT while absent: no VIP after several advert intervals (VI_2
    // is MASTER by then).
    std::thread::sleep(Duration::from_millis(5000));
    assert!(!lk.has_addr(&vip(1)) && !lo.has_addr(&vip(2)), "{}", dump());

    let mut p = probe.start();
    let master = |l: &RootLink, v: &str| wait_for(Duration::from_secs(8), || l.has_addr(v));
    let (mk, mo) = (master(&lk, &vip(1)), master(&lo, &vip(2)));
    assert!(mk.is_some() && mo.is_some(), "no MASTER: {}", dump());
    // The data dumps agree (process counted, quorum held).
    let (dk, dd) = (data_dump(&theirs, &dir, "k"), data_dump(&ours, &dir, "o"));
    let sections = data_sections(&dk);
    assert!(
        sections.contains(&"   Have quorum = true".to_string()),
        "{dk}"
    );
    assert!(
        sections.contains(&"     VI_2, weight 10".to_string()),
        "{dk}"
    );
    assert_eq!(
        data_sections(&dd),
        sections,
        "keepalived:\n{dk}\nours:\n{dd}"
    );

    p.kill();
    let gone = |l: &RootLink, v: &str| wait_for(Duration::from_secs(3), || !l.has_addr(v));
    assert!(
        gone(&lk, &vip(1)).is_some() && gone(&lo, &vip(2)).is_some(),
        "{}",
        dump()
    );
    assert!(all_log(
        &both,
        "(VI_1) Entering FAULT STATE",
        Duration::from_secs(2)
    ));

    // The kernel acks a listen request to every listener: each daemon
    // sees its own ack and those of daemons started after it.
    let ack = "proc_events has confirmed it is configured";
    assert!(theirs.log().contains(ack) && ours.log().contains(ack));
    for mut d in [theirs, ours] {
        d.signal(libc::SIGTERM);
        d.wait(Duration::from_secs(3));
    }
    let (t, o) = (
        lines(&std::fs::read_to_string(dir.join("k.log")).unwrap()),
        lines(&std::fs::read_to_string(dir.join("o.log")).unwrap()),
    );
    let want = [
        held,
        "(VI_1) entering FAULT state",
        "(VI_2) Entering BACKUP STATE (init)",
        "(VI_2) Entering MASTER STATE",
        "Quorum gained for tracked process tp",
        "(VI_1) Entering BACKUP STATE",
        "(VI_2) Changing effective priority from 100 to 110",
        "(VI_1) Entering MASTER STATE",
        "Quorum lost for tracked process tp",
        "(VI_1) Entering FAULT STATE",
        "(VI_1) sent 0 priority",
        "(VI_2) Changing effective priority from 110 to 100",
        "(VI_2) sent 0 priority",
    ];
    assert_eq!(t, want, "keepalived's lines changed");
    assert_eq!(o, t);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn in_a_network_namespace_the_listen_is_refused_as_by_keepalived() {
    if !with_keepalived("track_process") {
        return;
    }
    let dir = scratch("ns");
    let probe = Probe::new(&dir, "n");
    let mut p = None;
    let mut logs = Vec::new();
    for which in [Impl::Keepalived, Impl::Ours] {
        let ns = Ns::new("tpn");
        ns.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "p0"]);
        ns.ip(&["addr", "add", "10.96.3.1/24", "dev", "eth0"]);
        ns.ip(&["link", "set", "p0", "up"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        let conf = config(&probe.name, "eth0", "10.96.3.2", "10.96.3.100");
        let tag = which.name();
        let mut d = match which {
            Impl::Keepalived => Daemon::start_keepalived(&ns, &dir, tag, &conf),
            Impl::Ours => Daemon::start(&ns, &dir, tag, &conf),
        };
        let held = "(VI_1) entering FAULT state (tracked process tp quorum not achieved)";
        assert!(all_log(&[&d], held, Duration::from_secs(5)), "{}", d.log());
        // The process runs, but nobody hears of it.
        p.get_or_insert_with(|| probe.start());
        std::thread::sleep(Duration::from_millis(4000));
        assert!(!ns.has_addr("10.96.3.100"), "{}", d.log());
        d.signal(libc::SIGTERM);
        d.wait(Duration::from_secs(3));
        logs.push(lines(&d.log()));
    }
    drop(p);
    let want = [
        "Failed to set/clear process event listen - errno 111 - Connection refused",
        "(VI_1) entering FAULT state (tracked process tp quorum not achieved)",
        "(VI_1) entering FAULT state",
    ];
    assert_eq!(logs[0], want, "keepalived's lines changed");
    assert_eq!(logs[1], logs[0]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quorum_of_two_and_terminate_delay_as_keepalived_s() {
    if !with_keepalived("track_process") {
        return;
    }
    let dir = scratch("quorum");
    let probe = Probe::new(&dir, "q");
    let (lk, lo) = (RootLink::new("qk", 4), RootLink::new("qo", 5));
    let vip = |n: u8| format!("10.96.{n}.100");
    let conf = |l: &RootLink, n: u8| {
        format!(
            "vrrp_track_process tp {{\n  process {}\n  quorum 2\n  terminate_delay 2\n}}\n{}",
            probe.name,
            instance("VI_1", 51, &l.name, &format!("10.96.{n}.2"), &vip(n), 0)
        )
    };
    let theirs = start_here(Impl::Keepalived, &dir, "k", &conf(&lk, 4));
    let ours = start_here(Impl::Ours, &dir, "o", &conf(&lo, 5));
    let both = [&theirs, &ours];
    let dump = || format!("keepalived:\n{}\nours:\n{}", theirs.log(), ours.log());
    let held = "(VI_1) entering FAULT state (tracked process tp quorum not achieved)";
    assert!(all_log(&both, held, Duration::from_secs(5)), "{}", dump());

    // One process is not a quorum of two.
    let mut p1 = probe.start();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!theirs.log().contains("Quorum gained") && !ours.log().contains("Quorum gained"));
    let mut p2 = probe.start();
    let master = |l: &RootLink, v: &str| wait_for(Duration::from_secs(8), || l.has_addr(v));
    let (mk, mo) = (master(&lk, &vip(4)), master(&lo, &vip(5)));
    assert!(mk.is_some() && mo.is_some(), "no MASTER: {}", dump());

    // One of them dies: quorum is lost terminate_delay later.
    p1.kill();
    let killed = std::time::Instant::now();
    let mut gone = [None, None];
    wait_for(Duration::from_secs(5), || {
        for (g, (l, v)) in gone.iter_mut().zip([(&lk, vip(4)), (&lo, vip(5))]) {
            if g.is_none() && !l.has_addr(&v) {
                *g = Some(killed.elapsed());
            }
        }
        gone.iter().all(Option::is_some)
    });
    for t in gone {
        let ok =
            t.is_some_and(|t| t > Duration::from_millis(1800) && t < Duration::from_millis(3000));
        assert!(ok, "FAULT {gone:?} after the kill: {}", dump());
    }
    p2.kill();
    for mut d in [theirs, ours] {
        d.signal(libc::SIGTERM);
        d.wait(Duration::from_secs(3));
    }
    let (t, o) = (
        lines(&std::fs::read_to_string(dir.join("k.log")).unwrap()),
        lines(&std::fs::read_to_string(dir.join("o.log")).unwrap()),
    );
    let want = [
        held,
        "(VI_1) entering FAULT state",
        "Quorum gained for tracked process tp",
        "(VI_1) Entering BACKUP STATE",
        "(VI_1) Entering MASTER STATE",
        "Quorum lost for tracked process tp",
        "(VI_1) Entering FAULT STATE",
        "(VI_1) sent 0 priority",
    ];
    assert_eq!(t, want, "keepalived's lines changed");
    assert_eq!(o, t);
    let _ = std::fs::remove_dir_all(&dir);
}

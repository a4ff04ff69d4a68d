//! The process model, as keepalived 2.2.7's: a parent that starts a VRRP
//! child (and a checker child), pid files, signals, respawn and its
//! back-off, permanent errors, daemonising, systemd notifications.
//!
//! Every daemon runs in a network namespace the test creates (a veth pair
//! with 10.66.0.1/24 inside it); every namespace and process is removed
//! by Drop guards, processes by the pids in their pid files after checking
//! that they are ours. Needs root; skipped with a message otherwise,
//! unless `CI` is set.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/proclab.rs"]
mod proclab;

use common::lab::{privileged, wait_for};
use proclab::{
    alive, checker_conf, cmdline_has, kill, parent_of, read_pid, vrrp_conf, Daemon, Lab,
};

const SEC: Duration = Duration::from_secs(1);

fn root() -> bool {
    privileged("process-model")
}

#[test]
fn pid_files_signals_and_orderly_stop() {
    if !root() {
        return;
    }
    let lab = Lab::new("ps");
    let mut d = Daemon::start(&lab, "d", &vrrp_conf(255), &["-n"], &[]);
    d.wait_started();
    let log = d.log();
    for l in [
        "Starting Keepalived v2.2.7 (01/16,2022)",
        "Command line: '",
        "Starting VRRP child process, pid=",
    ] {
        assert!(log.contains(l), "missing {l:?}\n{log}");
    }

    // Pid files: `PID\n`; the parent is the process we started (`ip netns
    // exec` execs in place), the VRRP child is its child; no checker.
    let parent = d.child.as_ref().unwrap().id() as i32;
    assert_eq!(
        std::fs::read_to_string(&d.pid).unwrap(),
        format!("{parent}\n")
    );
    let vrrp = d.vrrp_pid().expect("VRRP pid file");
    assert_eq!(parent_of(vrrp), Some(parent));
    assert!(log.contains(&format!("Starting VRRP child process, pid={vrrp}")));
    assert!(!d.chk_pid.exists(), "no checker without virtual servers");
    assert!(
        wait_for(5 * SEC, || lab.has_vip()).is_some(),
        "never MASTER\n{}",
        d.log()
    );

    // SIGHUP is forwarded; the reload completes; the child is not
    // restarted.
    d.signal(libc::SIGHUP);
    assert!(
        d.wait_log(2 * SEC, "Reload complete", 1),
        "no reload\n{}",
        d.log()
    );
    assert!(d.log().contains("Reloading ..."));
    assert_eq!(d.vrrp_pid(), Some(vrrp));

    // The dump signals are forwarded and kill nobody (the real-time ones
    // would, with their default action).
    for sig in [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGRTMIN() + 2,
        libc::SIGRTMAX() - 1,
    ] {
        d.signal(sig);
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            alive(vrrp) && alive(parent),
            "signal {sig} killed a process\n{}",
            d.log()
        );
    }
    assert_eq!(d.vrrp_pid(), Some(vrrp));
    assert!(!d.log().contains("died"), "a child died\n{}", d.log());

    // SIGTERM: children stopped, VIPs released, pid files removed, quick.
    let t = Instant::now();
    d.signal(libc::SIGTERM);
    let st = d.wait_exit(3 * SEC).expect("parent did not exit");
    eprintln!("stopped in {:?}", t.elapsed());
    assert_eq!(st.code(), Some(0));
    assert!(t.elapsed() < 2 * SEC, "{:?}", t.elapsed());
    assert!(!alive(vrrp));
    assert!(!lab.has_vip(), "VIP left\n{}", d.log());
    assert!(!d.pid.exists() && !d.vrrp_pid.exists(), "pid files left");
    let log = d.log();
    assert!(log.contains("Stopping"), "{log}");
    assert!(
        log.trim_end()
            .ends_with("Stopped Keepalived v2.2.7 (01/16,2022)"),
        "{log}"
    );
}

#[test]
fn sigint_stops_and_checker_child_runs_for_virtual_servers() {
    if !root() {
        return;
    }
    let lab = Lab::new("pc");
    let mut d = Daemon::start(&lab, "c", &checker_conf(), &["-n"], &[]);
    d.wait_started();
    let chk = d.checker_pid().expect("checker pid file");
    let parent = d.parent_pid().unwrap();
    assert_eq!(parent_of(chk), Some(parent));
    assert!(d
        .log()
        .contains(&format!("Starting Healthcheck child process, pid={chk}")));
    assert!(!d.vrrp_pid.exists(), "no VRRP child without vrrp_instance");
    d.signal(libc::SIGINT);
    let st = d.wait_exit(3 * SEC).expect("no exit on SIGINT");
    assert_eq!(st.code(), Some(0));
    assert!(!alive(chk) && !d.chk_pid.exists() && !d.pid.exists());

    // --all starts both children whatever the configuration; -P only VRRP.
    let mut d = Daemon::start(&lab, "a", &vrrp_conf(100), &["-n", "--all"], &[]);
    d.wait_started();
    assert!(d.vrrp_pid().is_some() && d.checker_pid().is_some());
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(3 * SEC).and_then(|s| s.code()), Some(0));
    let mut d = Daemon::start(&lab, "p", &vrrp_conf(100), &["-n", "--all", "-P"], &[]);
    d.wait_started();
    assert!(d.vrrp_pid().is_some() && !d.chk_pid.exists());
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(3 * SEC).and_then(|s| s.code()), Some(0));
}

#[test]
fn second_instance_is_refused_and_zombie_pid_file_removed() {
    if !root() {
        return;
    }
    let lab = Lab::new("p2");
    // A pid file naming a dead process is removed and the daemon starts.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(lab.dir.join("d.pid"), format!("{dead_pid}\n")).unwrap();
    let d = Daemon::start(&lab, "d", &vrrp_conf(100), &["-n"], &[]);
    d.wait_started();
    assert!(
        d.log()
            .contains(&format!("Remove a zombie pid file {}", d.pid.display())),
        "{}",
        d.log()
    );
    let parent = d.parent_pid().expect("parent pid file");
    let vrrp = d.vrrp_pid().expect("vrrp pid file");

    // A second daemon with the same pid files refuses to run (exit 0, as
    // keepalived) and leaves the first alone.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.ns.name,
            env!("CARGO_BIN_EXE_keepalived"),
        ])
        .args(["-n", "-l", "-f"])
        .arg(&d.conf)
        .arg("-p")
        .arg(&d.pid)
        .arg("-r")
        .arg(&d.vrrp_pid)
        .arg("-c")
        .arg(&d.chk_pid)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("daemon is already running"), "{err}");
    assert!(!err.contains("Starting VRRP child"), "{err}");
    assert_eq!(d.parent_pid(), Some(parent));
    assert_eq!(d.vrrp_pid(), Some(vrrp));
    assert!(alive(parent) && alive(vrrp));
}

#[test]
fn vrrp_child_respawned_after_sigkill_without_its_vips() {
    if !root() {
        return;
    }
    let lab = Lab::new("pr");
    let d = Daemon::start(&lab, "d", &vrrp_conf(100), &["-n"], &[]);
    d.wait_started();
    let parent = d.parent_pid().unwrap();
    assert!(
        wait_for(6 * SEC, || lab.has_vip()).is_some(),
        "never MASTER\n{}",
        d.log()
    );
    let old = d.vrrp_pid().unwrap();

    // SIGKILL: no chance to release anything. The parent removes the VIP
    // and starts a new child at once (first restart: no delay).
    let t = Instant::now();
    kill(old, libc::SIGKILL);
    let back = wait_for(SEC, || {
        !lab.has_vip()
            && d.vrrp_pid()
                .is_some_and(|p| p != old && parent_of(p) == Some(parent))
            && d.log()
                .matches("(VI_1) Entering BACKUP STATE (init)")
                .count()
                >= 2
    });
    assert!(
        back.is_some(),
        "VRRP child not back within 1 s (VIP present: {})\n{}",
        lab.has_vip(),
        d.log()
    );
    eprintln!("VRRP service back after {:?}", t.elapsed());
    let log = d.log();
    for l in [
        format!("pid {old} exited due to signal 9 (Killed)"),
        format!("VRRP child process({old}) died: Respawning"),
        "Restart of VRRP process delayed 0 seconds to limit respawn rate".into(),
        format!(
            "Removed VIPs left by VRRP child process({old}): {}/24 dev eth0",
            proclab::VIP
        ),
    ] {
        assert!(log.contains(&l), "missing {l:?}\n{log}");
    }
    // The new child takes the VIP back as the only router.
    assert!(wait_for(6 * SEC, || lab.has_vip()).is_some(), "{}", d.log());

    // A second quick death is restarted after 1 s (back-off).
    let second = d.vrrp_pid().unwrap();
    let t = Instant::now();
    kill(second, libc::SIGKILL);
    let next = wait_for(3 * SEC, || d.vrrp_pid().is_some_and(|p| p != second));
    assert!(next.is_some(), "not restarted\n{}", d.log());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "restarted after {:?}",
        t.elapsed()
    );
    assert!(d
        .log()
        .contains("Restart of VRRP process delayed 1 seconds to limit respawn rate"));
    assert!(!lab.has_vip(), "the dead child's VIP is still there");
}

#[test]
fn dont_respawn_stops_when_a_child_dies() {
    if !root() {
        return;
    }
    let lab = Lab::new("pR");
    let mut d = Daemon::start(&lab, "d", &vrrp_conf(255), &["-n", "-R"], &[]);
    d.wait_started();
    assert!(wait_for(5 * SEC, || lab.has_vip()).is_some(), "{}", d.log());
    let vrrp = d.vrrp_pid().unwrap();
    kill(vrrp, libc::SIGKILL);
    let st = d.wait_exit(3 * SEC).expect("daemon kept running");
    assert_eq!(st.code(), Some(0));
    let log = d.log();
    assert!(
        log.contains(&format!("VRRP child process({vrrp}) died: Exiting")),
        "{log}"
    );
    assert!(!lab.has_vip(), "VIP left after the child's death");
    assert!(!d.pid.exists() && !d.vrrp_pid.exists());
}

#[test]
fn permanent_child_error_stops_the_daemon() {
    if !root() {
        return;
    }
    let lab = Lab::new("pf");
    // The VRRP child cannot run an instance on a missing interface: it
    // exits with a permanent error (keepalived: CONFIG) and so does the
    // daemon, with the child's code.
    let conf = vrrp_conf(100).replace("interface eth0", "interface nosuch0");
    let mut d = Daemon::start(&lab, "d", &conf, &["-n"], &[]);
    let st = d.wait_exit(5 * SEC).expect("daemon kept running");
    let log = d.log();
    let code = st.code();
    let what = match code {
        Some(1) => "FATAL",
        Some(2) => "CONFIG",
        _ => panic!("exit {st:?}\n{log}"),
    };
    assert!(
        log.contains(&format!("exited with permanent error {what}. Terminating")),
        "{log}"
    );
    assert!(!log.contains("Respawning"), "{log}");
    assert!(!d.pid.exists() && !d.vrrp_pid.exists());
}

#[test]
fn daemonises_without_dont_fork() {
    if !root() {
        return;
    }
    let lab = Lab::new("pd");
    let mut d = Daemon::start(&lab, "d", &vrrp_conf(255), &[], &[]);
    let launcher = d.child.as_ref().unwrap().id() as i32;
    let st = d.wait_exit(3 * SEC).expect("the launcher did not return");
    assert_eq!(st.code(), Some(0));
    let got = wait_for(5 * SEC, || {
        d.parent_pid().is_some() && d.vrrp_pid().is_some()
    });
    assert!(got.is_some(), "no daemon\n{}", d.log());
    let daemon = d.parent_pid().unwrap();
    assert_ne!(daemon, launcher);
    assert_eq!(parent_of(d.vrrp_pid().unwrap()), Some(daemon));
    // Detached: not our session, working directory /, stdio /dev/null.
    let stat = std::fs::read_to_string(format!("/proc/{daemon}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let sid: i32 = fields[3].parse().unwrap();
    // SAFETY: getsid(0) has no preconditions.
    assert_ne!(sid, unsafe { libc::getsid(0) });
    assert_eq!(
        std::fs::read_link(format!("/proc/{daemon}/cwd")).unwrap(),
        std::path::Path::new("/")
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{daemon}/fd/2")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    assert!(wait_for(5 * SEC, || lab.has_vip()).is_some());
    assert!(cmdline_has(daemon, "keepalived"));

    kill(daemon, libc::SIGTERM);
    assert!(
        wait_for(3 * SEC, || !alive(daemon)).is_some(),
        "daemon did not stop"
    );
    assert!(!d.pid.exists() && !d.vrrp_pid.exists());
    assert!(!lab.has_vip());
}

/// Receives one notification, up to `t`.
fn recv(sock: &UnixDatagram, t: Duration) -> Option<String> {
    sock.set_read_timeout(Some(t)).unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn systemd_notifications() {
    if !root() {
        return;
    }
    let lab = Lab::new("pn");
    let path = lab.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let env = [("NOTIFY_SOCKET", path.to_str().unwrap())];
    let mut d = Daemon::start(&lab, "d", &vrrp_conf(100), &["-n"], &env);
    let parent = d.child.as_ref().unwrap().id();

    let m = recv(&sock, 5 * SEC).expect("no READY=1");
    assert_eq!(m, format!("READY=1\nMAINPID={parent}"));
    assert!(d.log().contains("Startup complete"));
    // Children never talk to systemd.
    let vrrp = d.vrrp_pid().unwrap();
    let env = std::fs::read(format!("/proc/{vrrp}/environ")).unwrap();
    assert!(!String::from_utf8_lossy(&env).contains("NOTIFY_SOCKET="));

    d.signal(libc::SIGHUP);
    assert_eq!(recv(&sock, 2 * SEC).as_deref(), Some("RELOADING=1"));
    let m = recv(&sock, 3 * SEC).expect("no READY=1 after the reload");
    assert_eq!(m, format!("READY=1\nMAINPID={parent}"));

    d.signal(libc::SIGTERM);
    assert_eq!(recv(&sock, 2 * SEC).as_deref(), Some("STOPPING=1"));
    assert_eq!(d.wait_exit(3 * SEC).and_then(|s| s.code()), Some(0));
    assert!(read_pid(&d.pid).is_none());
}

#[test]
fn syslog_idents_and_facility() {
    if !root() {
        return;
    }
    let lab = Lab::new("pl");
    // A private mount namespace where /dev is a directory of ours: `log`
    // is the test's socket, `null` the real /dev/null.
    let dev = lab.dir.join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::write(dev.join("null"), "").unwrap();
    let sock = UnixDatagram::bind(dev.join("log")).unwrap();
    let script = format!(
        "mount --bind /dev/null {0}/null && mount --bind {0} /dev && exec \"$0\" \"$@\"",
        dev.display()
    );
    let prefix = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ];
    // -S local3, no -l: syslog only.
    let mut d = Daemon::start_with(
        &lab,
        "d",
        &vrrp_conf(100),
        &["-n", "-S", "local3"],
        &[],
        &prefix,
    );
    let mut got = Vec::new();
    let want_start = "Keepalived[";
    while let Some(m) = recv(&sock, 5 * SEC) {
        let done = m.contains("Startup complete");
        got.push(m);
        if done {
            break;
        }
    }
    let parent = d.parent_pid().expect("parent pid file");
    // The VRRP child handles SIGTERM once its driver runs (before, the
    // default action would end it without its last log line).
    let vrrp = d.vrrp_pid().expect("VRRP pid file");
    assert!(wait_for(5 * SEC, || proclab::catches(vrrp, libc::SIGTERM)).is_some());
    // <PRI> = facility local3 (19) * 8 + LOG_INFO (6).
    let first = got.first().cloned().unwrap_or_default();
    assert!(
        first.starts_with("<158>")
            && first.contains(&format!(
                "{want_start}{parent}]: Starting Keepalived v2.2.7"
            )),
        "{got:#?}"
    );
    d.signal(libc::SIGTERM);
    let mut rest = Vec::new();
    while let Some(m) = recv(&sock, 3 * SEC) {
        let done = m.contains("Stopped Keepalived");
        rest.push(m);
        if done {
            break;
        }
    }
    assert_eq!(d.wait_exit(3 * SEC).and_then(|s| s.code()), Some(0));
    assert!(
        rest.iter().any(|m| m.starts_with("<158>")
            && m.contains("Keepalived_vrrp[")
            // keepalived's children: "Stopped" (the CPU time only with -D).
            && m.trim_end().ends_with(": Stopped")),
        "{rest:#?}"
    );
    // Without -l the parent writes nothing on the console.
    assert!(!d.log().contains("Starting Keepalived"), "{}", d.log());
}

#[test]
fn stops_on_sigterm_as_pid_1_of_a_container() {
    if !root() {
        return;
    }
    // As PID 1 of a container the kernel drops a signal that the process
    // neither handles nor blocks: the parent must still stop on SIGTERM
    // (docker stop, Kubernetes).
    let lab = Lab::new("p1");
    let conf = lab.dir.join("c.conf");
    std::fs::write(&conf, vrrp_conf(100)).unwrap();
    let log = lab.dir.join("c.log");
    let f = std::fs::File::create(&log).unwrap();
    let mut unshare = Command::new("ip")
        .args(["netns", "exec", &lab.ns.name])
        .args([
            "unshare",
            "--pid",
            "--fork",
            "--mount-proc",
            "--kill-child=SIGKILL",
        ])
        .arg(env!("CARGO_BIN_EXE_keepalived"))
        .args(["-n", "-l", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(lab.dir.join("c.pid"))
        .arg("-r")
        .arg(lab.dir.join("c-vrrp.pid"))
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let up = wait_for(5 * SEC, || read_log().contains("Startup complete"));
    // The daemon is the child of unshare; its pid file says 1.
    let children = format!("/proc/{0}/task/{0}/children", unshare.id());
    let daemon: Option<i32> = std::fs::read_to_string(&children)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()));
    let checked = up.is_some()
        && daemon.is_some()
        && read_pid(&lab.dir.join("c.pid")) == Some(1)
        && daemon.is_some_and(|d| cmdline_has(d, &conf.to_string_lossy()));
    if checked {
        kill(daemon.unwrap(), libc::SIGTERM);
    }
    let exited = wait_for(3 * SEC, || unshare.try_wait().ok().flatten().is_some());
    if exited.is_none() {
        // --kill-child takes the daemon (and its pid namespace) along.
        let _ = unshare.kill();
    }
    let _ = unshare.wait();
    let text = read_log();
    assert!(checked, "no daemon as PID 1\n{text}");
    assert!(exited.is_some(), "SIGTERM ignored as PID 1\n{text}");
    assert!(text.contains("Stopped Keepalived v2.2.7"), "{text}");
}

#[test]
fn respawns_when_started_with_sigchld_ignored() {
    if !root() {
        return;
    }
    // An inherited "ignore" of SIGCHLD would let the kernel reap the
    // children behind the parent's back (dash does not pass it on: bash).
    let lab = Lab::new("pi");
    let prefix = ["bash", "-c", "trap '' CHLD; exec \"$0\" \"$@\""];
    let d = Daemon::start_with(&lab, "d", &vrrp_conf(100), &["-n", "-l"], &[], &prefix);
    d.wait_started();
    let old = d.vrrp_pid().expect("VRRP pid file");
    kill(old, libc::SIGKILL);
    let back = wait_for(2 * SEC, || d.vrrp_pid().is_some_and(|p| p != old));
    assert!(back.is_some(), "not respawned\n{}", d.log());
    assert!(d
        .log()
        .contains(&format!("VRRP child process({old}) died: Respawning")));
}

/// Fields of /proc/PID/stat after the command: (nice, rt_priority, policy).
fn sched_of(pid: i32) -> (i64, u32, u32) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split(' ').collect();
    // Fields 19, 40 and 41 of proc(5), counted from the state (field 3).
    (
        f[16].parse().unwrap(),
        f[37].parse().unwrap(),
        f[38].parse().unwrap(),
    )
}

fn proc_line(pid: i32, file: &str, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap();
    let l = s.lines().find(|l| l.starts_with(key)).unwrap_or_default();
    l[key.len()..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn process_settings_of_global_defs_are_applied_to_each_child() {
    if !root() {
        return;
    }
    // Measured with keepalived 2.2.7 on the same configuration (VRRP
    // part; its checker dies without IPVS): parent comm kaparent, VRRP
    // child keepalived_vrrp, SCHED_RR 10, nice 0, CPUs 0, RLIMIT_RTTIME
    // 5000/10000 µs, pages locked; pid files 0644, the data dump 0600.
    let lab = Lab::new("pset");
    let conf = format!(
        "global_defs {{\n  process_name kaparent\n  process_names\n  vrrp_rt_priority 10\n  \
         vrrp_no_swap\n  vrrp_cpu_affinity 0\n  checker_priority 5\n  checker_process_name kachk\n}}\n{}{}",
        vrrp_conf(255),
        checker_conf()
    );
    let mut d = Daemon::start(&lab, "s", &conf, &["-n"], &[]);
    d.wait_started();
    let comm = |p: i32| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap();
    let (parent, vrrp, chk) = (
        d.parent_pid().unwrap(),
        d.vrrp_pid().unwrap(),
        d.checker_pid().unwrap(),
    );
    assert_eq!(comm(parent), "kaparent\n");
    assert_eq!(comm(vrrp), "keepalived_vrrp\n");
    assert_eq!(comm(chk), "kachk\n");
    // SCHED_RR is 2; the nice value is not applied with a real-time one.
    assert_eq!(sched_of(vrrp), (0, 10, 2));
    assert_eq!(sched_of(chk), (5, 0, 0));
    assert_eq!(sched_of(parent), (0, 0, 0));
    assert_eq!(proc_line(vrrp, "status", "Cpus_allowed_list:"), "0");
    assert_eq!(
        proc_line(vrrp, "limits", "Max realtime timeout"),
        "5000 10000 us"
    );
    assert_ne!(proc_line(vrrp, "status", "VmLck:"), "0 kB");
    assert_eq!(proc_line(chk, "status", "VmLck:"), "0 kB");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&d.pid), 0o644);
    assert_eq!(mode(&d.vrrp_pid), 0o644);
    // keepalived's default umask, 0177.
    d.signal(libc::SIGUSR1);
    let data = lab.dir.join("keepalived.data");
    assert!(
        wait_for(2 * SEC, || data.exists()).is_some(),
        "no data dump"
    );
    assert_eq!(mode(&data), 0o600);
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(3 * SEC).and_then(|s| s.code()), Some(0));
}

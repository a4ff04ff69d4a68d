//! IPVS against a real kernel: for each configuration below, the IPVS
//! state `examples/ipvs_apply` programs must be what keepalived 2.2.7
//! programs from the same file, compared as `ipvsadm -Sn` (sorted) and the
//! `ipvsadm -Ln` listings (tunnel info, thresholds, persistence).
//!
//! Everything runs in one QEMU boot of a stock Debian kernel
//! (`tests/ipvs_vm/vm.sh`, guest side `tests/ipvs_vm/guest.sh`): per
//! scenario, all real servers alive, one real server down (ours: `--down`;
//! keepalived: a TCP_CHECK to a closed port on loopback), and stop
//! (everything removed). The guest has no network device.
//!
//! A second boot (`tests/ipvs_vm/e2e.sh`) runs the whole daemon, ours and
//! then keepalived 2.2.7, on the same configurations with busybox httpd
//! listeners as the real servers' health-check targets, and compares IPVS
//! (`-Sn`, and `-Ln` with tunnel info, thresholds, persistent connections
//! and timeouts) after start, a real server down, its recovery, a reload
//! (SIGHUP: real servers added and removed, weights changed) and stop, and
//! the bytes written to `lvs_notify_fifo` and `notify_fifo`, and the
//! checker's `keepalived_check.data` (SIGUSR1 to the parent after start, a
//! real server down and the reload; see [`normalize_check_data`]).
//!
//! Skipped with a message when the VM cannot be built here (no apt/dpkg,
//! no Debian packages, no keepalived binary); failing instead when `CI` is
//! set. `KEEPALIVED` overrides the path of the keepalived binary;
//! `IPVS_VM_KEEP=1` keeps the guest's outputs; `IPVS_VM_E2E=a,b` runs only
//! the end-to-end scenarios of those names.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One configuration. The real server to fail carries a `# CHECK` comment
/// in its block, which becomes a failing TCP_CHECK for keepalived.
struct Scenario {
    name: &'static str,
    conf: &'static str,
    /// `--down` argument of ipvs_apply.
    down: Option<&'static str>,
    /// `--sync-state` of ipvs_apply and the equivalent `ipvsadm
    /// --start-daemon` arguments (keepalived's VRRP side starts the
    /// daemon, so ipvsadm is the reference there).
    sync: Option<(&'static str, &'static str)>,
    /// Add a service of someone else's (192.0.2.1:1) before each run.
    foreign: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "timeouts_sync_daemon",
        conf: "global_defs {
  lvs_flush
  lvs_timeouts tcp 1000 tcpfin 60 udp 100
  lvs_sync_daemon lo VI_1 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    10.0.0.100
  }
}
virtual_server 10.0.0.8 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.1 80 {
  }
}
",
        down: None,
        sync: Some((
            "master",
            "master --mcast-interface lo --syncid 51 --sync-maxlen 1400 --mcast-port 8848 --mcast-ttl 2 --mcast-group 224.0.0.81",
        )),
        foreign: true,
    },
    Scenario {
        name: "nat_wrr_thresholds",
        conf: "virtual_server 10.0.0.1 80 {
  delay_loop 1
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  real_server 10.0.1.1 8080 {
    weight 3
    # CHECK
  }
  real_server 10.0.1.2 8080 {
    weight 1
    uthreshold 100
    lthreshold 10
  }
}
",
        down: Some("10.0.1.1:8080"),
        sync: None,
        foreign: true,
    },
    Scenario {
        name: "dr_sh_flags_persistence",
        conf: "virtual_server 10.0.0.2 443 {
  delay_loop 1
  protocol TCP
  lb_algo sh
  sh-port
  sh-fallback
  lb_kind DR
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 {
    weight 2
  }
  real_server 10.0.1.2 8443 {
    # CHECK
  }
}
",
        down: Some("10.0.1.2:443"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "tun_types_ops",
        conf: "virtual_server 10.0.0.3 53 {
  delay_loop 1
  protocol UDP
  lb_algo rr
  ops
  lb_kind TUN
  real_server 10.0.1.1 53 {
  }
  real_server 10.0.1.2 53 {
    lvs_method TUN type gue port 6080 csum
  }
  real_server 10.0.1.3 53 {
    lvs_method TUN type gre csum
    # CHECK
  }
}
",
        down: Some("10.0.1.3:53"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "fwmark_mh",
        conf: "virtual_server fwmark 5 {
  delay_loop 1
  lb_algo mh
  mh-port
  mh-fallback
  lb_kind DR
  real_server 10.0.1.1 {
    weight 2
  }
  real_server 10.0.1.2 {
    # CHECK
  }
}
virtual_server fwmark 6 {
  delay_loop 1
  lb_algo wlc
  lb_kind NAT
  real_server 10.0.1.3 8080 {
  }
}
",
        down: Some("10.0.1.2:0"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "ipv6_persistence_inhibit",
        conf: "virtual_server 2001:db8::1 80 {
  delay_loop 1
  protocol TCP
  lb_algo lc
  lb_kind NAT
  persistence_timeout 600
  persistence_granularity 64
  real_server 2001:db8::10 8080 {
  }
  real_server 2001:db8::11 8080 {
    inhibit_on_failure
    weight 5
    # CHECK
  }
}
virtual_server fwmark 8 {
  delay_loop 1
  ip_family inet6
  lb_algo rr
  lb_kind DR
  real_server 2001:db8::12 {
  }
}
",
        down: Some("[2001:db8::11]:8080"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "group_ranges_fwmark",
        conf: "global_defs {
  lvs_flush_on_stop
}
virtual_server_group G {
  10.0.0.10-12 80
  10.0.0.20 8080
  fwmark 7 inet
}
virtual_server group G {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.1 80 {
  }
  real_server 10.0.1.2 80 {
    # CHECK
  }
}
",
        down: Some("10.0.1.2:80"),
        sync: None,
        foreign: true,
    },
    Scenario {
        name: "inhibit_on_failure_vs",
        conf: "virtual_server 10.0.0.4 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  inhibit_on_failure
  real_server 10.0.1.1 80 {
    weight 4
    # CHECK
  }
  real_server 10.0.1.2 80 {
  }
}
",
        down: Some("10.0.1.1:80"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "sorry_server_quorum",
        conf: "virtual_server 10.0.0.5 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 2
  sorry_server 10.0.9.9 8080
  real_server 10.0.1.1 80 {
    # CHECK
  }
  real_server 10.0.1.2 80 {
    inhibit_on_failure
  }
}
",
        down: Some("10.0.1.1:80"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "sorry_server_inhibit",
        conf: "virtual_server 10.0.0.6 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind DR
  sorry_server 10.0.9.9 80
  sorry_server_inhibit
  real_server 10.0.1.1 80 {
    # CHECK
  }
}
",
        down: Some("10.0.1.1:80"),
        sync: None,
        foreign: false,
    },
    Scenario {
        name: "schedulers_protocols_pe",
        conf: "virtual_server 10.0.0.7 5060 {
  protocol UDP
  lb_algo rr
  lb_kind NAT
  persistence_timeout 60
  persistence_engine sip
  real_server 10.0.1.1 5060 {
  }
}
virtual_server 10.0.0.7 9000 {
  protocol SCTP
  lb_algo dh
  lb_kind NAT
  real_server 10.0.1.1 9000 {
  }
}
virtual_server 10.0.0.7 1000 {
  lb_algo lblc
  lb_kind NAT
  real_server 10.0.1.1 1000 {
  }
}
virtual_server 10.0.0.7 1001 {
  protocol TCP
  lb_algo lblcr
  lb_kind DR
  real_server 10.0.1.1 1001 {
  }
}
virtual_server 10.0.0.7 1002 {
  protocol TCP
  lb_algo sed
  flag-1
  lb_kind NAT
  real_server 10.0.1.1 1002 {
  }
}
virtual_server 10.0.0.7 1003 {
  protocol TCP
  lb_algo nq
  lb_kind NAT
  real_server 10.0.1.1 1003 {
  }
}
virtual_server 10.0.0.7 1004 {
  protocol TCP
  lb_algo fo
  lb_kind NAT
  real_server 10.0.1.1 1004 {
    weight 0
  }
  real_server 10.0.1.2 1004 {
  }
}
virtual_server 10.0.0.7 1005 {
  protocol TCP
  lb_algo ovf
  lb_kind NAT
  real_server 10.0.1.1 1005 {
  }
}
",
        down: None,
        sync: None,
        foreign: false,
    },
];

fn tcp_check(down: &str) -> String {
    let lo = if down.starts_with('[') {
        "::1"
    } else {
        "127.0.0.1"
    };
    format!(
        "TCP_CHECK {{\n      connect_ip {lo}\n      connect_port 9\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}"
    )
}

/// Skips (prints why) outside CI; fails under CI.
/// The VM runs take about 8 minutes on 2 cores: outside the README's test
/// command (and CI's 30-minute budget), run with `IPVS_VM=1`.
fn vm_wanted() -> bool {
    let on = std::env::var_os("IPVS_VM").is_some();
    if !on {
        eprintln!("skipping ipvs_vm: set IPVS_VM=1 to boot the QEMU VM (about 8 minutes)");
    }
    on
}

fn unavailable(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("ipvs_vm: {why} (CI is set, refusing to skip)");
    }
    eprintln!("skipping ipvs_vm: {why}");
}

/// Shows a vm.sh run's output; false (after [`unavailable`]) when the VM
/// cannot be built here (exit 77), a panic when the run failed.
fn vm_succeeded(res: &std::process::Output, t0: std::time::Instant, work: &Path) -> bool {
    let stderr = String::from_utf8_lossy(&res.stderr);
    eprintln!(
        "{}{stderr}VM run took {:.1} s",
        String::from_utf8_lossy(&res.stdout),
        t0.elapsed().as_secs_f64()
    );
    if res.status.code() == Some(77) {
        let _ = std::fs::remove_dir_all(work);
        let why = stderr
            .lines()
            .find_map(|l| l.strip_prefix("ipvs-vm: SKIP: "))
            .unwrap_or("the VM cannot be built here");
        unavailable(why);
        return false;
    }
    assert!(res.status.success(), "vm.sh failed: {}", res.status);
    true
}

/// Boots the VM with `files` (host path, guest path) and runs `cmd`;
/// what the guest writes under /out lands in `out`. False when the VM
/// cannot be built here (see [`vm_succeeded`]). One VM at a time: the
/// guests' steps are timed, and two emulated guests on two cores starve.
fn boot(
    secs: u32,
    modules: &str,
    files: &[(&Path, &str)],
    cmd: &str,
    out: &Path,
    work: &Path,
) -> bool {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_vm");
    let mut c = Command::new(root.join("vm.sh"));
    c.env("IPVS_VM_MODULES", modules)
        .arg("-t")
        .arg(secs.to_string())
        .arg("-o")
        .arg(out);
    for (host, guest) in files {
        c.arg("-f").arg(format!("{}:{guest}", host.display()));
    }
    let t0 = std::time::Instant::now();
    let res = c.arg(cmd).output().expect("running tests/ipvs_vm/vm.sh");
    vm_succeeded(&res, t0, work)
}

/// The ipvs_apply example next to this test binary, built if missing.
fn ipvs_apply() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target dir")?
        .to_path_buf();
    let bin = profile_dir.join("examples/ipvs_apply");
    if bin.exists() {
        return Ok(bin);
    }
    let target_dir = profile_dir.parent().ok_or("no target dir")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--example", "ipvs_apply", "--target-dir"])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let st = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if !st.success() || !bin.exists() {
        return Err(format!("building examples/ipvs_apply failed ({st})"));
    }
    Ok(bin)
}

/// Sorts the services of an `ipvsadm -L` listing and the destinations of
/// each (the kernel lists them in hash/insertion order).
fn sort_listing(section: &str) -> String {
    let mut head = Vec::new();
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in section.lines() {
        let l = line.trim_end();
        if l.starts_with("  -> ") && !l.starts_with("  -> RemoteAddress") {
            if let Some(b) = blocks.last_mut() {
                b.push(l);
                continue;
            }
        }
        if l.starts_with("IP Virtual Server") || l.starts_with("Prot") || l.starts_with("  -> ") {
            head.push(l);
        } else if !l.is_empty() {
            blocks.push(vec![l]);
        }
    }
    for b in &mut blocks {
        b[1..].sort();
    }
    blocks.sort();
    let mut out = head.join("\n");
    for b in blocks {
        out.push('\n');
        out.push_str(&b.join("\n"));
    }
    out
}

/// A snapshot with every listing section sorted.
fn normalize(snapshot: &str) -> String {
    let mut out = String::new();
    let mut section = String::new();
    let mut first = true;
    let flush = |out: &mut String, section: &str, first: bool| {
        if first {
            out.push_str(section.trim_end());
        } else {
            out.push_str(&sort_listing(section));
        }
        out.push('\n');
    };
    for line in snapshot.lines() {
        if line.starts_with("--- ") {
            flush(&mut out, &section, first);
            first = false;
            out.push_str(line);
            out.push('\n');
            section.clear();
        } else {
            section.push_str(line);
            section.push('\n');
        }
    }
    flush(&mut out, &section, first);
    out
}

/// `keepalived_check.data` with what differs from run to run taken out:
/// the wall-clock time a MISC_CHECK last ran (the end-to-end
/// configurations have none, but a dump of one would), and the `Retries
/// iterations` of a checker that is down: keepalived 2.2.7 retries those
/// too (`tcp_epilog` alternates `delay_before_retry` and `delay_loop`), so
/// its count flips between 0 and `retry` with the moment of the dump (0
/// in one capture, 1 in the next for the same configuration); ours probes
/// a down checker every `delay_loop` and shows 0. Nor that of a checker
/// that has never run: keepalived starts it at `retry` (one failure at
/// start-up is enough) but shows 0 after a reload, where ours keeps
/// `retry` (a checker suspended by `ha_suspend` across a reload). Everything
/// else must be the same bytes.
fn normalize_check_data(text: &str) -> String {
    let (mut down, mut never_run) = (false, false);
    text.lines()
        .map(|l| {
            if l.starts_with("   Up = ") {
                down = l == "   Up = no";
            }
            if l.starts_with("   Has run = ") {
                never_run = l == "   Has run = no";
            }
            if l.starts_with("   Last ran = ") {
                "   Last ran = <time>"
            } else if (down || never_run) && l.starts_with("   Retries iterations = ") {
                "   Retries iterations = <while down>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|_| format!("<{name} missing>"))
}

fn diff_text(a: &str, b: &str) -> String {
    let mut s = String::new();
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            let _ = writeln!(
                s,
                "  line {}: ours {x:?}\n          keepalived {y:?}",
                i + 1
            );
        }
    }
    if a.lines().count() != b.lines().count() {
        let _ = writeln!(s, "  ours:\n{a}\n  keepalived:\n{b}");
    }
    s
}

#[test]
fn ipvs_apply_matches_keepalived_in_a_vm() {
    if !vm_wanted() {
        return;
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return unavailable("needs x86_64 Linux");
    }
    let keepalived = std::env::var("KEEPALIVED").unwrap_or_else(|_| "/usr/sbin/keepalived".into());
    if !Path::new(&keepalived).exists() {
        return unavailable(&format!("no keepalived binary at {keepalived}"));
    }
    let apply = match ipvs_apply() {
        Ok(p) => p,
        Err(e) => panic!("ipvs_vm: {e}"),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_vm");
    let work = std::env::temp_dir().join(format!("ipvs-vm-test-{}", std::process::id()));
    let scen = work.join("scen");
    let out = work.join("out");
    for s in SCENARIOS {
        let d = scen.join(s.name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("ours.conf"), s.conf).unwrap();
        if s.foreign {
            std::fs::write(d.join("foreign"), "").unwrap();
        }
        if let Some((state, reference)) = s.sync {
            std::fs::write(d.join("sync"), state).unwrap();
            std::fs::write(d.join("sync-ref"), reference).unwrap();
        }
        if let Some(down) = s.down {
            assert!(
                s.conf.contains("# CHECK"),
                "{}: no '# CHECK' marker",
                s.name
            );
            std::fs::write(d.join("down"), down).unwrap();
            std::fs::write(
                d.join("ka-down.conf"),
                s.conf.replace("# CHECK", &tcp_check(down)),
            )
            .unwrap();
        }
    }
    let files = [
        (apply.as_path(), "/opt/bin/ipvs_apply"),
        (Path::new(&keepalived), "/usr/sbin/keepalived"),
        (&root.join("guest.sh"), "/opt/bin/guest.sh"),
        (&scen, "/opt/scen"),
    ];
    if !boot(300, "", &files, "sh /opt/bin/guest.sh", &out, &work) {
        return;
    }

    let mut failures = String::new();
    for s in SCENARIOS {
        let d = out.join(s.name);
        let log = read(&d, "ours.log");
        if log
            .lines()
            .any(|l| l.starts_with("@@ rc ") && l != "@@ rc 0")
        {
            let _ = writeln!(failures, "{}: ipvs_apply failed:\n{log}", s.name);
        }
        let mut pairs = vec![
            ("ours-up.txt", "ka-up.txt", "ka-up.log"),
            ("ours-stop.txt", "ka-up-stop.txt", "ka-up.log"),
        ];
        if s.down.is_some() {
            pairs.push(("ours-down.txt", "ka-down.txt", "ka-down.log"));
            pairs.push(("ours-stop.txt", "ka-down-stop.txt", "ka-down.log"));
        }
        for (ours, ka, ka_log) in pairs {
            // keepalived restores the timeouts it found; a stateless
            // ipvs_apply --stop cannot, so stops compare without them.
            let strip = |t: String| {
                if ours.contains("stop") {
                    t.split("--- timeout").next().unwrap_or("").to_string()
                } else {
                    t
                }
            };
            let (a, b) = (
                strip(normalize(&read(&d, ours))),
                strip(normalize(&read(&d, ka))),
            );
            if a != b {
                let _ = writeln!(
                    failures,
                    "{}: {ours} differs from keepalived's {ka}:\n{}  keepalived log tail:\n{}",
                    s.name,
                    diff_text(&a, &b),
                    read(&d, ka_log)
                        .lines()
                        .rev()
                        .take(12)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
        }
        if s.conf.contains("lvs_timeouts") && !log.contains("(was 900 120 300)") {
            let _ = writeln!(
                failures,
                "{}: GET_CONFIG did not report the defaults:\n{log}",
                s.name
            );
        }
        if s.sync.is_some() {
            let ours = read(&d, "ours-daemon.txt");
            let reference = read(&d, "ref-daemon.txt");
            if ours != reference || !ours.contains("sync daemon") {
                let _ = writeln!(
                    failures,
                    "{}: sync daemon: ipvs_apply gave\n{ours}ipvsadm gave\n{reference}",
                    s.name
                );
            }
            let stopped = read(&d, "ours-daemon-stop.txt");
            if stopped.contains("sync daemon") {
                let _ = writeln!(failures, "{}: sync daemon left running:\n{stopped}", s.name);
            }
        }
        // Guards against two empty tables agreeing.
        let up = read(&d, "ours-up.txt");
        if !up.lines().any(|l| l.starts_with("-A ")) {
            let _ = writeln!(failures, "{}: ipvs_apply programmed nothing:\n{up}", s.name);
        }
        if s.down.is_some() && read(&d, "ours-down.txt") == up {
            let _ = writeln!(failures, "{}: --down changed nothing", s.name);
        }
        let stop = normalize(&read(&d, "ours-stop.txt"));
        if stop
            .lines()
            .any(|l| l.starts_with("-A ") && !l.contains("192.0.2.1:1"))
        {
            let _ = writeln!(failures, "{}: services left after --stop:\n{stop}", s.name);
        }
    }
    if failures.is_empty() {
        if std::env::var_os("IPVS_VM_KEEP").is_some() {
            eprintln!("outputs kept in {}", out.display());
        } else {
            let _ = std::fs::remove_dir_all(&work);
        }
    } else {
        panic!(
            "IPVS state differs from keepalived 2.2.7 (outputs kept in {}):\n{failures}",
            out.display()
        );
    }
}

#[test]
fn normalize_check_data_hides_only_run_times() {
    let a = "   Up = yes\n   Last ran = 1795814507.359646 (Fri Nov 27 21:21:47 2026.359646)\n   Last status = 5\n";
    let b = a.replace(
        "1795814507.359646 (Fri Nov 27 21:21:47 2026.359646)",
        "0.000000 (Thu Jan  1 00:00:00 1970.000000)",
    );
    assert_eq!(normalize_check_data(a), normalize_check_data(&b));
    assert_ne!(
        normalize_check_data(a),
        normalize_check_data(&b.replace("= 5", "= 0"))
    );
    let up = "   Up = yes\n   Retries iterations = 0\n";
    let down = "   Up = no\n   Retries iterations = 0\n";
    assert_eq!(
        normalize_check_data(down),
        normalize_check_data(&down.replace("= 0", "= 1"))
    );
    assert_ne!(
        normalize_check_data(up),
        normalize_check_data(&up.replace("= 0", "= 1"))
    );
}

#[test]
fn normalize_sorts_services_and_destinations() {
    let a = "-A -t 1\n--- list\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward\nTCP  b rr\n  -> y\n  -> x\nTCP  a rr\n  -> z\n";
    let b = "-A -t 1\n--- list\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward\nTCP  a rr\n  -> z\nTCP  b rr\n  -> x\n  -> y\n";
    assert_eq!(normalize(a), normalize(b));
    assert_ne!(normalize(a), normalize(&b.replace("-> z", "-> w")));
}

/// One end-to-end scenario: `CHECK(port)` in the configurations becomes a
/// TCP_CHECK of the listener on 127.0.1.1:port, `CHECK6(port)` one of the
/// listener on [::1]:port.
struct E2e {
    name: &'static str,
    /// At start.
    a: &'static str,
    /// After the reload.
    b: &'static str,
    /// Listener ports (those of both configurations; a real server whose
    /// port is not here is down all along).
    ports: &'static [u16],
    /// Listener ports on [::1] (`CHECK6(port)`).
    ports6: &'static [u16],
    /// The listener stopped and started again.
    victim: u16,
    /// Someone else's service (192.0.2.1:1) is in IPVS before the start.
    foreign: bool,
}

const E2E_GLOBAL: &str =
    "global_defs {\n  lvs_notify_fifo /run/lvs.fifo\n  notify_fifo /run/all.fifo\n}\n";

/// The `alpha_ha_suspend` configuration, with the victim's weight.
macro_rules! alpha_ha_suspend {
    ($weight:literal) => {
        concat!(
            "virtual_server 10.0.0.20 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  alpha
  real_server 10.0.2.2 8080 {
    CHECK(8029)
  }
}
virtual_server 10.0.0.21 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  ha_suspend
  real_server 10.0.2.3 8080 {
    CHECK(8022)
  }
  real_server 10.0.2.4 8080 {
    CHECK(8029)
  }
}
virtual_server 10.0.0.22 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.2.5 8080 {
    weight ",
            $weight,
            "
    CHECK(8023)
  }
}
"
        )
    };
}

const E2E: &[E2e] = &[
    E2e {
        name: "nat_wrr",
        a: "virtual_server 10.0.0.1 80 {
  delay_loop 1
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  real_server 10.0.1.1 8080 {
    weight 3
    CHECK(8001)
  }
  real_server 10.0.1.2 8080 {
    weight 1
    CHECK(8002)
  }
  real_server 10.0.1.3 8080 {
    weight 2
    CHECK(8003)
  }
}
",
        b: "virtual_server 10.0.0.1 80 {
  delay_loop 1
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  real_server 10.0.1.1 8080 {
    weight 5
    CHECK(8001)
  }
  real_server 10.0.1.2 8080 {
    weight 1
    CHECK(8002)
  }
  real_server 10.0.1.4 8080 {
    weight 1
    CHECK(8004)
  }
}
",
        ports: &[8001, 8002, 8003, 8004],
        ports6: &[],
        victim: 8002,
        foreign: false,
    },
    E2e {
        name: "dr_sh",
        a: "virtual_server 10.0.0.2 443 {
  delay_loop 1
  protocol TCP
  lb_algo sh
  sh-port
  lb_kind DR
  persistence_timeout 300
  real_server 10.0.1.1 443 {
    weight 2
    CHECK(8011)
  }
  real_server 10.0.1.2 443 {
    CHECK(8012)
  }
  real_server 10.0.1.3 443 {
    CHECK(8019)
  }
}
",
        b: "virtual_server 10.0.0.2 443 {
  delay_loop 1
  protocol TCP
  lb_algo sh
  sh-port
  lb_kind DR
  persistence_timeout 300
  real_server 10.0.1.1 443 {
    weight 4
    CHECK(8011)
  }
  real_server 10.0.1.3 443 {
    CHECK(8019)
  }
  real_server 10.0.1.5 443 {
    CHECK(8015)
  }
}
",
        ports: &[8011, 8012, 8015],
        ports6: &[],
        victim: 8011,
        foreign: false,
    },
    E2e {
        name: "inhibit_on_failure",
        a: "virtual_server 10.0.0.4 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  inhibit_on_failure
  real_server 10.0.1.1 80 {
    weight 4
    CHECK(8021)
  }
  real_server 10.0.1.2 80 {
    CHECK(8022)
  }
  real_server 10.0.1.3 80 {
    weight 2
    CHECK(8029)
  }
}
",
        b: "virtual_server 10.0.0.4 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  inhibit_on_failure
  real_server 10.0.1.1 80 {
    weight 6
    CHECK(8021)
  }
  real_server 10.0.1.3 80 {
    weight 5
    CHECK(8029)
  }
  real_server 10.0.1.4 80 {
    weight 3
    CHECK(8024)
  }
}
",
        ports: &[8021, 8022, 8024],
        ports6: &[],
        victim: 8021,
        foreign: false,
    },
    E2e {
        name: "sorry_server_quorum",
        a: "virtual_server 10.0.0.5 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 2
  sorry_server 10.0.9.9 8080
  real_server 10.0.1.1 80 {
    CHECK(8031)
  }
  real_server 10.0.1.2 80 {
    CHECK(8032)
  }
}
",
        b: "virtual_server 10.0.0.5 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 2
  sorry_server 10.0.9.9 8080
  real_server 10.0.1.1 80 {
    weight 2
    CHECK(8031)
  }
  real_server 10.0.1.3 80 {
    weight 2
    CHECK(8033)
  }
}
",
        ports: &[8031, 8032, 8033],
        ports6: &[],
        victim: 8031,
        foreign: false,
    },
    E2e {
        name: "fwmark",
        a: "virtual_server fwmark 5 {
  delay_loop 1
  lb_algo wlc
  lb_kind DR
  real_server 10.0.1.1 80 {
    weight 2
    CHECK(8041)
  }
  real_server 10.0.1.2 80 {
    CHECK(8042)
  }
}
virtual_server 10.0.0.6 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.3 80 {
    CHECK(8043)
  }
}
",
        b: "virtual_server fwmark 5 {
  delay_loop 1
  lb_algo wlc
  lb_kind DR
  real_server 10.0.1.1 80 {
    weight 3
    CHECK(8041)
  }
  real_server 10.0.1.2 80 {
    CHECK(8042)
  }
  real_server 10.0.1.4 80 {
    CHECK(8044)
  }
}
virtual_server fwmark 6 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.5 80 {
    CHECK(8045)
  }
}
",
        ports: &[8041, 8042, 8043, 8044, 8045],
        ports6: &[],
        victim: 8042,
        foreign: false,
    },
    E2e {
        name: "tun_types",
        a: "virtual_server 10.0.0.7 80 {
  delay_loop 1
  protocol TCP
  lb_algo wrr
  lb_kind TUN
  real_server 10.0.1.1 80 {
    weight 2
    CHECK(8051)
  }
  real_server 10.0.1.2 80 {
    lvs_method TUN type gue port 6080 csum
    CHECK(8052)
  }
  real_server 10.0.1.3 80 {
    lvs_method TUN type gre
    CHECK(8053)
  }
}
",
        b: "virtual_server 10.0.0.7 80 {
  delay_loop 1
  protocol TCP
  lb_algo wrr
  lb_kind TUN
  real_server 10.0.1.1 80 {
    weight 4
    CHECK(8051)
  }
  real_server 10.0.1.2 80 {
    lvs_method TUN type gue port 6081 nocsum
    CHECK(8052)
  }
  real_server 10.0.1.4 80 {
    lvs_method TUN type gre csum
    CHECK(8054)
  }
}
",
        ports: &[8051, 8052, 8053, 8054],
        ports6: &[],
        victim: 8052,
        foreign: false,
    },
    E2e {
        name: "ipv6",
        a: "virtual_server 2001:db8::1 80 {
  delay_loop 1
  protocol TCP
  lb_algo wlc
  lb_kind NAT
  persistence_timeout 120
  persistence_granularity 64
  real_server 2001:db8::10 8080 {
    weight 2
    CHECK6(8061)
  }
  real_server 2001:db8::11 8080 {
    CHECK6(8062)
  }
  real_server 2001:db8::12 8080 {
    CHECK6(8069)
  }
}
",
        b: "virtual_server 2001:db8::1 80 {
  delay_loop 1
  protocol TCP
  lb_algo wlc
  lb_kind NAT
  persistence_timeout 120
  persistence_granularity 64
  real_server 2001:db8::10 8080 {
    weight 5
    CHECK6(8061)
  }
  real_server 2001:db8::12 8080 {
    CHECK6(8069)
  }
  real_server 2001:db8::13 8080 {
    weight 3
    CHECK6(8063)
  }
}
",
        ports: &[],
        ports6: &[8061, 8062, 8063],
        victim: 8062,
        foreign: false,
    },
    E2e {
        name: "group_range_fwmark",
        a: "virtual_server_group G {
  10.1.1.1-3 80
  fwmark 9
}
virtual_server group G {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind DR
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 80 {
    CHECK(8071)
  }
  real_server 10.0.1.2 80 {
    weight 2
    CHECK(8072)
  }
}
",
        // The group itself stays: keepalived 2.2.7 loses count of the
        // destinations of a group entry added at reload, and leaves its
        // services behind at stop (ours removes them).
        b: "virtual_server_group G {
  10.1.1.1-3 80
  fwmark 9
}
virtual_server group G {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind DR
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  real_server 10.0.1.2 80 {
    weight 3
    CHECK(8072)
  }
  real_server 10.0.1.3 80 {
    CHECK(8073)
  }
}
",
        ports: &[8071, 8072, 8073],
        ports6: &[],
        victim: 8072,
        foreign: false,
    },
    E2e {
        name: "timeouts_flush_on_stop",
        a: "global_defs {
  lvs_timeouts tcp 1000 tcpfin 60 udp 100
  lvs_flush_on_stop
}
virtual_server 10.0.0.9 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.9.1 80 {
    CHECK(8091)
  }
  real_server 10.0.9.2 80 {
    CHECK(8092)
  }
}
",
        b: "global_defs {
  lvs_timeouts tcp 2000 udp 200
  lvs_flush_on_stop
}
virtual_server 10.0.0.9 80 {
  delay_loop 1
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.9.1 80 {
    CHECK(8091)
  }
}
",
        ports: &[8091, 8092],
        ports6: &[],
        victim: 8092,
        foreign: true,
    },
    // An alpha real server failing its first check (its initial DOWN
    // notification in the FIFO) and ha_suspend with an address that is
    // not local (the checkers never probe: both servers stay).
    E2e {
        name: "alpha_ha_suspend",
        a: alpha_ha_suspend!(1),
        b: alpha_ha_suspend!(2),
        ports: &[8022, 8023],
        ports6: &[],
        victim: 8023,
        foreign: false,
    },
];

/// `CHECK(port)` → a TCP_CHECK of 127.0.1.1:port that notices a stopped
/// listener within about two seconds; `CHECK6(port)` the same of
/// [::1]:port.
fn e2e_conf(text: &str) -> String {
    let mut out = String::from(E2E_GLOBAL);
    let mut rest = text;
    while let Some(i) = rest.find("CHECK") {
        out.push_str(&rest[..i]);
        let (ip, after) = match rest[i + 5..].strip_prefix("6(") {
            Some(after) => ("::1", after),
            None => (
                "127.0.1.1",
                rest[i + 5..].strip_prefix('(').expect("CHECK(port)"),
            ),
        };
        let j = after.find(')').expect("CHECK(port)");
        let port = &after[..j];
        let _ = write!(
            out,
            "TCP_CHECK {{\n      connect_ip {ip}\n      connect_port {port}\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}"
        );
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    out
}

/// A stripped copy of our keepalived binary (a debug build is ~100 MB,
/// too much for the guest's initramfs).
fn our_daemon(work: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_BIN_EXE_keepalived"));
    let dst = work.join("keepalived-rs");
    let stripped = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(src)
        .arg(&dst)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(src, &dst).expect("copying the keepalived binary");
    }
    dst
}

#[test]
fn daemon_matches_keepalived_end_to_end_in_a_vm() {
    if !vm_wanted() {
        return;
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return unavailable("needs x86_64 Linux");
    }
    let keepalived = std::env::var("KEEPALIVED").unwrap_or_else(|_| "/usr/sbin/keepalived".into());
    if !Path::new(&keepalived).exists() {
        return unavailable(&format!("no keepalived binary at {keepalived}"));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_vm");
    let work = std::env::temp_dir().join(format!("ipvs-vm-e2e-{}", std::process::id()));
    let scen = work.join("e2e");
    let out = work.join("out");
    let only = std::env::var("IPVS_VM_E2E").unwrap_or_default();
    let scenarios: Vec<&E2e> = E2E
        .iter()
        .filter(|s| only.is_empty() || only.split(',').any(|n| n == s.name))
        .collect();
    for s in &scenarios {
        let d = scen.join(s.name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.conf"), e2e_conf(s.a)).unwrap();
        std::fs::write(d.join("b.conf"), e2e_conf(s.b)).unwrap();
        let ports: Vec<String> = s.ports.iter().map(u16::to_string).collect();
        std::fs::write(d.join("ports"), ports.join("\n") + "\n").unwrap();
        let ports6: Vec<String> = s.ports6.iter().map(u16::to_string).collect();
        std::fs::write(d.join("ports6"), ports6.join("\n") + "\n").unwrap();
        std::fs::write(d.join("victim"), s.victim.to_string()).unwrap();
        if s.foreign {
            std::fs::write(d.join("foreign"), "").unwrap();
        }
    }
    let ours = our_daemon(&work);
    let files = [
        (ours.as_path(), "/opt/bin/keepalived-rs"),
        (Path::new(&keepalived), "/usr/sbin/keepalived"),
        (&root.join("e2e.sh"), "/opt/bin/e2e.sh"),
        (&scen, "/opt/e2e"),
    ];
    if !boot(900, "", &files, "sh /opt/bin/e2e.sh", &out, &work) {
        return;
    }

    let tail = |d: &Path, name: &str| {
        let t = read(d, name);
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n")
    };
    let mut failures = String::new();
    for s in &scenarios {
        let d = out.join("e2e").join(s.name);
        for step in ["start", "down", "up", "reload", "stop"] {
            let (a, b) = (
                normalize(&read(&d, &format!("ours-{step}.txt"))),
                normalize(&read(&d, &format!("ka-{step}.txt"))),
            );
            if a != b {
                let _ = writeln!(
                    failures,
                    "{}: after {step}, ours differs from keepalived's:\n{}  our log tail:\n{}\n  keepalived log tail:\n{}",
                    s.name,
                    diff_text(&a, &b),
                    tail(&d, "ours.log"),
                    tail(&d, "ka.log"),
                );
            }
        }
        // Guards against two empty tables (or unchanged steps) agreeing.
        let ka = |step: &str| read(&d, &format!("ka-{step}.txt"));
        if !ka("start").lines().any(|l| l.starts_with("-a ")) {
            let _ = writeln!(failures, "{}: keepalived programmed nothing", s.name);
        }
        for (x, y) in [("start", "down"), ("down", "up"), ("up", "reload")] {
            if ka(x) == ka(y) {
                let _ = writeln!(
                    failures,
                    "{}: keepalived's IPVS did not change from {x} to {y}",
                    s.name
                );
            }
        }
        for step in ["start", "down", "reload"] {
            let (a, b) = (
                normalize_check_data(&read(&d, &format!("ours-{step}.data"))),
                normalize_check_data(&read(&d, &format!("ka-{step}.data"))),
            );
            if a != b || !b.contains("------< Health checkers >------") {
                let _ = writeln!(
                    failures,
                    "{}: keepalived_check.data after {step} differs:\n{}",
                    s.name,
                    diff_text(&a, &b)
                );
            }
        }
        for (ext, what) in [("fifo", "lvs_notify_fifo"), ("all", "notify_fifo")] {
            let (fo, fk) = (
                std::fs::read(d.join(format!("ours.{ext}"))).unwrap_or_default(),
                std::fs::read(d.join(format!("ka.{ext}"))).unwrap_or_default(),
            );
            if fo != fk || fk.is_empty() {
                let _ = writeln!(
                    failures,
                    "{}: {what} lines differ:\n  ours {:?}\n  keepalived {:?}",
                    s.name,
                    String::from_utf8_lossy(&fo),
                    String::from_utf8_lossy(&fk)
                );
            }
        }
    }
    if failures.is_empty() {
        if std::env::var_os("IPVS_VM_KEEP").is_some() {
            eprintln!("outputs kept in {}", out.display());
        } else {
            let _ = std::fs::remove_dir_all(&work);
        }
    } else {
        panic!(
            "the daemon's IPVS differs from keepalived 2.2.7 (outputs kept in {}):\n{failures}",
            out.display()
        );
    }
}

/// `lvs_sync_daemon v0 VI_1` at start; the reload changes every option.
/// advert_int 3: MASTER comes ~9.6 s after start, well after the snapshot
/// of the BACKUP step even on a loaded machine.
const SYNCD_A: &str = "global_defs {
  lvs_sync_daemon v0 VI_1
}
vrrp_instance VI_1 {
  interface v0
  virtual_router_id 51
  priority 100
  advert_int 3
  virtual_ipaddress {
    10.9.0.100/24
  }
}
";

#[test]
fn sync_daemon_follows_vrrp_as_keepalived_in_a_vm() {
    if !vm_wanted() {
        return;
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return unavailable("needs x86_64 Linux");
    }
    let keepalived = std::env::var("KEEPALIVED").unwrap_or_else(|_| "/usr/sbin/keepalived".into());
    if !Path::new(&keepalived).exists() {
        return unavailable(&format!("no keepalived binary at {keepalived}"));
    }
    // iproute2's ip: busybox's cannot name a veth peer.
    let Ok(ip) =
        std::fs::canonicalize("/usr/sbin/ip").or_else(|_| std::fs::canonicalize("/sbin/ip"))
    else {
        return unavailable("no iproute2 ip binary");
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_vm");
    let work = std::env::temp_dir().join(format!("ipvs-vm-syncd-{}", std::process::id()));
    let conf = work.join("syncd");
    let out = work.join("out");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("a.conf"), SYNCD_A).unwrap();
    std::fs::write(
        conf.join("b.conf"),
        SYNCD_A.replace(
            "lvs_sync_daemon v0 VI_1",
            "lvs_sync_daemon v0 VI_1 id 3 maxlen 1000 port 9000 ttl 3 group 239.1.1.1",
        ),
    )
    .unwrap();
    let ours = our_daemon(&work);
    let files = [
        (ours.as_path(), "/opt/bin/keepalived-rs"),
        (Path::new(&keepalived), "/usr/sbin/keepalived"),
        (ip.as_path(), "/opt/bin/ip"),
        (&root.join("syncd.sh"), "/opt/bin/syncd.sh"),
        (&conf, "/opt/syncd"),
    ];
    if !boot(300, "veth", &files, "sh /opt/bin/syncd.sh", &out, &work) {
        return;
    }
    let d = out.join("syncd");
    let mut failures = String::new();
    // keepalived's daemons at each step, as measured (guards against two
    // runs that both did nothing).
    let expect = [
        ("start", "backup sync daemon (mcast=v0, syncid=51,"),
        ("master", "master sync daemon (mcast=v0, syncid=51,"),
        ("fault", "backup sync daemon (mcast=v0, syncid=51,"),
        ("back", "master sync daemon (mcast=v0, syncid=51,"),
        ("reload", "master sync daemon (mcast=v0, syncid=3, maxlen=1000, group=239.1.1.1, port=9000, ttl=3)"),
        ("stop", ""),
    ];
    for (step, want) in expect {
        let (o, k) = (
            read(&d, &format!("ours-{step}.txt")),
            read(&d, &format!("ka-{step}.txt")),
        );
        if o != k {
            let _ = writeln!(failures, "after {step}: ours\n{o}keepalived\n{k}");
        }
        if k.lines().count() != usize::from(!want.is_empty()) || !k.starts_with(want) {
            let _ = writeln!(failures, "after {step}: keepalived has\n{k}expected {want}");
        }
    }
    // What a crashed run left is replaced (keepalived 2.2.7 keeps it).
    let stale = read(&d, "ours-stale-start.txt");
    if stale != read(&d, "ka-start.txt") {
        let _ = writeln!(failures, "started over stale daemons, ours has\n{stale}");
    }
    if failures.is_empty() && std::env::var_os("IPVS_VM_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&work);
    } else if !failures.is_empty() {
        panic!(
            "lvs_sync_daemon differs from keepalived 2.2.7 (logs in {}):\n{failures}",
            d.display()
        );
    }
}

//! Start-up as operators meet it: an IPv6 link-local still tentative, an
//! interface created after start (`dynamic_interfaces`), an address added
//! late, and vrrp_scripts that have not reported yet, the last beside
//! keepalived 2.2.7 on the same configuration.
//!
//! Needs root; skipped with a message otherwise, unless `CI` is set.

use std::time::Duration;

mod common;
use common::daemon::Daemon;
use common::lab::{privileged, wait_for, with_keepalived, Ns};

/// A namespace with `eth0` (and its peer `p0`) still down, DAD on.
fn router(tag: &str) -> (Ns, std::path::PathBuf) {
    let ns = Ns::new(tag);
    ns.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "p0"]);
    ns.ip(&["addr", "add", "10.97.0.1/24", "dev", "eth0"]);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    (ns, dir)
}

fn instance(name: &str, ifname: &str, vrid: u8, extra: &str, vip: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n  interface {ifname}\n  virtual_router_id {vrid}\n  \
         priority 150\n  advert_int 1\n{extra}  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
}

#[test]
fn ipv6_instances_start_while_the_link_local_is_tentative() {
    if !privileged("startup") {
        return;
    }
    let (ns, dir) = router("tent");
    let conf = [
        instance("VI_6", "eth0", 6, "  version 3\n", "fd00:97::6/128"),
        instance(
            "VI_M",
            "eth0",
            7,
            "  version 3\n  use_vmac\n",
            "fd00:97::7/128",
        ),
        instance("VI_4", "eth0", 4, "", "10.97.0.4/32"),
    ]
    .concat();
    // Up 100 ms before the daemon starts, as at boot: DAD is running.
    ns.ip(&["link", "set", "p0", "up"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    std::thread::sleep(Duration::from_millis(100));
    let ll = ns.ip(&["-6", "addr", "show", "dev", "eth0", "scope", "link"]);
    assert!(ll.contains("tentative"), "DAD already done: {ll}");
    let d = Daemon::start(&ns, &dir, "tent", &conf);
    let all = || {
        let a = ns.ip(&["-o", "addr"]);
        a.contains("fd00:97::6/128") && a.contains("fd00:97::7/128") && a.contains("10.97.0.4/32")
    };
    let t = wait_for(Duration::from_secs(8), all);
    let log = d.log();
    assert!(t.is_some(), "not every instance became MASTER:\n{log}");
    assert!(!log.contains("unable to open"), "{log}");
    // The VMAC carries its VIP.
    assert!(ns
        .ip(&["-o", "addr", "show", "dev", "vrrp.7"])
        .contains("fd00:97::7/128"));
}

#[test]
fn an_interface_created_after_start_is_used_and_the_others_run_on() {
    if !privileged("startup") {
        return;
    }
    let (ns, dir) = router("late");
    ns.ip(&["link", "set", "p0", "up"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    let conf = format!(
        "global_defs {{\n  dynamic_interfaces\n}}\n{}{}{}",
        instance("VI_1", "eth0", 1, "", "10.97.0.100/32"),
        instance("VI_L", "eth5", 1, "", "10.97.5.100/32"),
        instance("VI_A", "eth6", 2, "", "10.97.6.100/32"),
    );
    // eth6 exists but has no IPv4 address yet.
    ns.ip(&["link", "add", "eth6", "type", "veth", "peer", "name", "p6"]);
    ns.ip(&["link", "set", "p6", "up"]);
    ns.ip(&["link", "set", "eth6", "up"]);
    let d = Daemon::start(&ns, &dir, "late", &conf);
    let t = wait_for(Duration::from_secs(6), || ns.has_addr("10.97.0.100"));
    assert!(t.is_some(), "VI_1 did not start:\n{}", d.log());
    let log = d.log();
    for line in [
        "Configuration specifies interface eth5 which doesn't currently exist - will use if created",
        "(VI_L): entering FAULT state (interface eth5 down)",
        "(VI_L) entering FAULT state (no IPv4 address for interface)",
        "(VI_A) entering FAULT state (no IPv4 address for interface)",
    ] {
        assert!(log.contains(line), "missing {line:?}:\n{log}");
    }
    // 5 s after start: eth5 appears, eth6 gets its address.
    std::thread::sleep(Duration::from_secs(2));
    ns.ip(&["link", "add", "eth5", "type", "veth", "peer", "name", "p5"]);
    ns.ip(&["addr", "add", "10.97.5.1/24", "dev", "eth5"]);
    ns.ip(&["link", "set", "p5", "up"]);
    ns.ip(&["link", "set", "eth5", "up"]);
    ns.ip(&["addr", "add", "10.97.6.1/24", "dev", "eth6"]);
    let dev_has = |dev: &str, a: &str| ns.ip(&["-o", "addr", "show", "dev", dev]).contains(a);
    let t = wait_for(Duration::from_secs(6), || {
        dev_has("eth5", "10.97.5.100/32") && dev_has("eth6", "10.97.6.100/32")
    });
    let log = d.log();
    assert!(t.is_some(), "late instances did not start:\n{log}");
    assert!(log.contains("(VI_L) Entering BACKUP STATE\n"), "{log}");
    assert!(log.contains("(VI_A) Entering BACKUP STATE\n"), "{log}");
    // VI_1 went on: one MASTER transition, its VIP never left.
    assert_eq!(
        log.matches("(VI_1) Entering MASTER STATE").count(),
        1,
        "{log}"
    );
    assert!(ns.has_addr("10.97.0.100"));
}

/// The instance lines of a log (state changes and priority), without
/// time stamps.
fn instance_lines(log: &str, names: &[&str]) -> Vec<String> {
    log.lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, r)| r))
        .filter(|l| names.iter().any(|n| l.starts_with(&format!("({n})"))))
        .filter(|l| l.contains("STATE") || l.contains("effective priority"))
        .map(str::to_string)
        .collect()
}

#[test]
fn scripts_that_have_not_reported_hold_back_as_keepalived_s() {
    if !with_keepalived("startup") {
        return;
    }
    let conf = format!(
        "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
         vrrp_script chk_hang {{\n  script \"/bin/sleep 600\"\n  interval 1\n  timeout 2\n}}\n\
         vrrp_script chk_fail {{\n  script \"/bin/false\"\n  interval 1\n}}\n{}{}{}",
        instance(
            "VI_H0",
            "eth0",
            12,
            "  track_script {\n    chk_hang weight 0\n  }\n",
            "10.97.0.12/32"
        ),
        instance(
            "VI_H60",
            "eth0",
            13,
            "  track_script {\n    chk_hang weight -60\n  }\n",
            "10.97.0.13/32"
        ),
        instance(
            "VI_F",
            "eth0",
            11,
            "  track_script {\n    chk_fail weight 0\n  }\n",
            "10.97.0.11/32"
        ),
    );
    let run = |tag: &str, keepalived: bool| -> String {
        let (ns, dir) = router(tag);
        ns.ip(&["link", "set", "p0", "up"]);
        ns.ip(&["link", "set", "eth0", "up"]);
        let mut d = if keepalived {
            Daemon::start_keepalived(&ns, &dir, tag, &conf)
        } else {
            Daemon::start(&ns, &dir, tag, &conf)
        };
        std::thread::sleep(Duration::from_millis(6500));
        d.signal(libc::SIGTERM);
        d.wait(Duration::from_secs(3));
        d.log()
    };
    let theirs = run("sk", true);
    let ours = run("so", false);
    let names = ["VI_H0", "VI_H60", "VI_F"];
    let (t, o) = (
        instance_lines(&theirs, &names),
        instance_lines(&ours, &names),
    );
    assert_eq!(o, t, "keepalived:\n{theirs}\nours:\n{ours}");
    // What keepalived does, spelled out: the weighted one starts, becomes
    // MASTER and drops its priority at the timeout; the weight-0 ones stay
    // silent (held in FAULT).
    assert!(t.contains(&"(VI_H60) Changing effective priority from 150 to 90".to_string()));
    assert!(t.contains(&"(VI_H60) Entering MASTER STATE".to_string()));
    assert!(!t
        .iter()
        .any(|l| l.starts_with("(VI_H0)") || l.starts_with("(VI_F)")));
}

//! The dump files, read the way mehdy/keepalived-exporter reads them: a
//! signal to the parent, a 10 ms sleep, then `keepalived.data`,
//! `keepalived.stats` and `keepalived.json` parsed with the exporter's
//! line rules (mirrored below, not copied); and the checker's
//! `keepalived_check.data` (its exact text is pinned by the unit tests of
//! `daemon::dump::check` and compared with keepalived's in
//! `tests/ipvs_vm.rs`).
//!
//! The daemon runs with `TMPDIR` set to the lab's scratch directory
//! (keepalived writes its dumps there when `TMPDIR` is an absolute
//! directory), so that other tests and daemons signalled at the same time
//! cannot overwrite the files under /tmp. Needs root; skipped otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;
#[path = "common/proclab.rs"]
mod proclab;

use common::lab::{privileged, wait_for};
use proclab::{Daemon, Lab};

/// Two instances on eth0: VI_1 owns its address (MASTER at once) and
/// tracks a good script, unweighted (keepalived drops an owner's weighted
/// trackers); VI_2 is BACKUP for 3.6 s and tracks a failing
/// one.
const CONF: &str = "global_defs {\n  script_user root\n}\n\
vrrp_script chk_ok {\n  script \"/bin/true\"\n  interval 1\n  weight -20\n}\n\
vrrp_script chk_bad {\n  script \"/bin/false\"\n  interval 1\n}\n\
vrrp_instance VI_1 {\n  interface eth0\n  state MASTER\n  virtual_router_id 66\n  \
priority 255\n  advert_int 1\n  virtual_ipaddress {\n    10.66.0.100/24\n  }\n  \
track_script {\n    chk_ok weight 0\n  }\n}\n\
vrrp_instance VI_2 {\n  interface eth0\n  state BACKUP\n  virtual_router_id 67\n  \
priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.66.0.101\n  }\n  \
track_script {\n    chk_bad weight -10\n  }\n}\n";

/// What the exporter keeps of an instance in `keepalived.data`.
#[derive(Debug, Default, Clone, PartialEq)]
struct Data {
    state: String,
    wantstate: String,
    intf: String,
    garp_delay: i64,
    vrid: i64,
    vips: Vec<String>,
}

/// The exporter's `keepalived.data` instance rules: ` VRRP Instance = N`
/// opens an instance; three-space lines are `Key = value` or `Key: value`
/// (split on the separator, second field kept); five-space lines are list
/// items of the last key, kept when it is a `Virtual IP (N)` list; any
/// other line closes the instance, except ` VRRP Version` / ` VRRP Script`.
fn parse_data(text: &str) -> Result<BTreeMap<String, Data>, String> {
    let mut out: BTreeMap<String, Data> = BTreeMap::new();
    let mut inst = String::new();
    let mut key = String::new();
    for l in text.lines() {
        if l.starts_with(" VRRP Instance") && l.contains('=') {
            inst = field(l.trim(), '=', 1);
            out.insert(inst.clone(), Data::default());
        } else if l.starts_with("   ") && !inst.is_empty() {
            let val = if l.starts_with("     ") {
                l.trim().to_string()
            } else {
                let sep = if l.contains('=') {
                    '='
                } else if l.contains(':') {
                    ':'
                } else {
                    continue;
                };
                key = field(l.trim(), sep, 0);
                if key == "Virtual IP" {
                    continue;
                }
                field(l.trim(), sep, 1)
            };
            let d = out.get_mut(&inst).ok_or("no instance")?;
            if (key.starts_with("Virtual IP (") || key == "Virtual IP") && !val.is_empty() {
                d.vips.push(val.clone());
            }
            let int = |v: &str| v.parse::<i64>().map_err(|e| format!("{key} = {v:?}: {e}"));
            match key.as_str() {
                "State" => d.state = val.clone(),
                "Wantstate" => d.wantstate = val.clone(),
                "Interface" | "Listening device" => d.intf = val.clone(),
                "Gratuitous ARP delay" => d.garp_delay = int(&val)?,
                "Virtual Router ID" => d.vrid = int(&val)?,
                _ => {}
            }
        } else if l.starts_with(" VRRP Version") || l.starts_with(" VRRP Script") {
            continue;
        } else {
            inst.clear();
        }
    }
    Ok(out)
}

/// The `n`th field of `s` split on every `sep`, trimmed (Go's
/// `strings.Split` then `TrimSpace`).
fn field(s: &str, sep: char, n: usize) -> String {
    s.split(sep).nth(n).unwrap_or("").trim().to_string()
}

/// The exporter's VIP rule: space-separated, address first, device third.
fn parse_vip(v: &str) -> Option<(String, String)> {
    let f: Vec<&str> = v.split(' ').collect();
    (f.len() >= 3).then(|| (f[0].to_string(), f[2].to_string()))
}

/// The exporter's `vrrp_script` rules: ` VRRP Script = N` opens a script;
/// three-space `Key = value` lines give `Status` and `State`; a line not
/// indented by four spaces closes it.
fn parse_scripts(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String, String)> = None;
    for l in text.lines() {
        if l.starts_with(" VRRP Script") && l.contains('=') {
            out.extend(cur.take());
            cur = Some((field(l.trim(), '=', 1), String::new(), String::new()));
        } else if l.starts_with("   ") && cur.is_some() {
            if !l.contains('=') {
                continue;
            }
            let (k, v) = (field(l.trim(), '=', 0), field(l.trim(), '=', 1));
            if let Some(c) = cur.as_mut() {
                match k.as_str() {
                    "Status" => c.1 = v,
                    "State" => c.2 = v,
                    _ => {}
                }
            }
        } else if !l.starts_with("    ") {
            out.extend(cur.take());
        }
    }
    out.extend(cur);
    out
}

/// The exporter's `keepalived.stats` rules: `VRRP Instance: N` opens an
/// instance; two-space lines ending in `:` open a section; four-space
/// lines are `Key: number` in that section; other two-space lines are
/// `Key: number` outside any section. Every number must parse.
fn parse_stats(text: &str) -> Result<BTreeMap<String, BTreeMap<String, i64>>, String> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let (mut inst, mut section) = (String::new(), String::new());
    for l in text.lines() {
        let num = |k: &str| {
            let v = field(l.trim(), ':', 1);
            v.parse::<i64>().map_err(|e| format!("{k}: {v:?}: {e}"))
        };
        if l.starts_with("VRRP Instance") && l.contains(':') {
            inst = field(l.trim(), ':', 1);
            out.insert(inst.clone(), BTreeMap::new());
        } else if l.starts_with("  ") && l.ends_with(':') {
            section = field(l.trim(), ':', 0);
        } else if l.starts_with("    ") && !section.is_empty() {
            let k = format!("{section}/{}", field(l.trim(), ':', 0));
            let v = num(&k)?;
            out.get_mut(&inst).ok_or("no instance")?.insert(k, v);
        } else if l.starts_with("  ") && !l.starts_with("    ") {
            section.clear();
            let k = field(l.trim(), ':', 0);
            let v = num(&k)?;
            out.get_mut(&inst).ok_or("no instance")?.insert(k, v);
        }
    }
    Ok(out)
}

/// Sends `sig` to the parent, sleeps 10 ms as the exporter does, then
/// reads `file`; retries for up to 1 s if it is missing or `ready` says it
/// is not the new one. Returns the text and how long it took.
fn dump(d: &Daemon, sig: i32, file: &Path, ready: impl Fn(&str) -> bool) -> (String, Duration) {
    let _ = std::fs::remove_file(file);
    let start = Instant::now();
    d.signal(sig);
    std::thread::sleep(Duration::from_millis(10));
    loop {
        if let Ok(t) = std::fs::read_to_string(file) {
            if ready(&t) {
                return (t, start.elapsed());
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{} not written within 1 s\n{}",
            file.display(),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn dumps_parse_as_the_exporter_reads_them() {
    if !privileged("dumps") {
        return;
    }
    let lab = Lab::new("dump");
    let tmp = lab.dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp_s = tmp.to_string_lossy().into_owned();
    let d = Daemon::start(&lab, "d", CONF, &["-n"], &[("TMPDIR", &tmp_s)]);
    d.wait_started();
    assert!(
        wait_for(Duration::from_secs(5), || lab.has_vip()).is_some(),
        "VI_1 never MASTER\n{}",
        d.log()
    );

    // keepalived.data (SIGUSR1): VI_1 MASTER, VI_2 still BACKUP; both
    // scripts listed once their first results are in.
    let data_file = tmp.join("keepalived.data");
    let (text, took_data) = dump(&d, libc::SIGUSR1, &data_file, |t| {
        t.contains("------< VRRP Scripts >------")
    });
    assert_eq!(mode(&data_file), 0o600);
    let data = parse_data(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(data.len(), 2, "{text}");
    let vi1 = &data["VI_1"];
    assert_eq!(
        (vi1.state.as_str(), vi1.wantstate.as_str(), vi1.vrid),
        ("MASTER", "MASTER", 66),
        "{text}"
    );
    assert_eq!((vi1.intf.as_str(), vi1.garp_delay), ("eth0", 5));
    assert_eq!(vi1.vips, ["10.66.0.100/24 dev eth0 scope global set"]);
    assert_eq!(
        parse_vip(&vi1.vips[0]),
        Some(("10.66.0.100/24".into(), "eth0".into()))
    );
    let vi2 = &data["VI_2"];
    assert_eq!(
        (vi2.state.as_str(), vi2.wantstate.as_str(), vi2.vrid),
        ("BACKUP", "BACKUP", 67),
        "{text}"
    );
    assert_eq!(vi2.vips, ["10.66.0.101 dev eth0 scope global"]);
    assert!(text.starts_with("------< Global definitions >------\n"));
    assert!(text.contains("   Tracked scripts :\n     chk_ok weight 0\n"));

    // Scripts: chk_ok GOOD once its first run is in (the dump may come
    // before it), chk_bad BAD once it has failed (interval 1 s).
    let scripts = parse_scripts(&text);
    let names: Vec<&str> = scripts.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(names, ["chk_ok", "chk_bad"], "{text}");
    let settled = wait_for(Duration::from_secs(4), || {
        let (t, _) = dump(&d, libc::SIGUSR1, &data_file, |t| {
            t.contains("VRRP Scripts")
        });
        let s = parse_scripts(&t);
        s.iter()
            .any(|s| s.0 == "chk_ok" && s.1 == "GOOD" && s.2 == "idle")
            && s.iter()
                .any(|s| s.0 == "chk_bad" && s.1 == "BAD" && s.2 == "idle")
    });
    assert!(
        settled.is_some(),
        "chk_ok never GOOD or chk_bad never BAD\n{}",
        d.log()
    );

    // keepalived.stats (SIGUSR2): both instances, every counter a number.
    let stats_file = tmp.join("keepalived.stats");
    let (text, took_stats) = dump(&d, libc::SIGUSR2, &stats_file, |t| t.contains("VI_2"));
    let stats = parse_stats(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(stats.keys().collect::<Vec<_>>(), ["VI_1", "VI_2"]);
    assert_eq!(stats["VI_1"].len(), 14, "{text}");
    assert_eq!(stats["VI_1"]["Became master"], 1);
    assert!(stats["VI_1"]["Advertisements/Sent"] >= 1, "{text}");

    // keepalived.json (SIGRTMIN+2): json_version 1, an array of
    // {"data", "stats"} with the exporter's field names.
    let json_file = tmp.join("keepalived.json");
    let (text, took_json) = dump(&d, libc::SIGRTMIN() + 2, &json_file, |_| true);
    assert_eq!(mode(&json_file), 0o600);
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let arr = v.as_array().expect("top-level array");
    assert_eq!(arr.len(), 2);
    let d1 = &arr[0]["data"];
    assert_eq!(d1["iname"], "VI_1");
    assert_eq!(d1["state"], 2);
    assert_eq!(d1["wantstate"], 2);
    assert_eq!(d1["ifp_ifname"], "eth0");
    assert_eq!(d1["vrid"], 66);
    assert_eq!(d1["garp_delay"], 5);
    assert_eq!(d1["vips"][0], "10.66.0.100/24 dev eth0 scope global set");
    assert!(
        text.contains(r#""10.66.0.100\/24 dev"#),
        "keepalived escapes '/'"
    );
    assert_eq!(arr[1]["data"]["iname"], "VI_2");
    assert_eq!(arr[1]["data"]["state"], 1);
    assert_eq!(arr[0]["stats"]["become_master"], 1);
    for k in [
        "advert_rcvd",
        "advert_sent",
        "release_master",
        "packet_len_err",
        "advert_interval_err",
        "ip_ttl_err",
        "invalid_type_rcvd",
        "addr_list_err",
        "invalid_authtype",
        "authtype_mismatch",
        "auth_failure",
        "pri_zero_rcvd",
        "pri_zero_sent",
    ] {
        assert!(arr[1]["stats"][k].is_u64(), "stats.{k} in {text}");
    }

    // STATS_CLEAR (SIGRTMAX-1) writes the stats, then zeroes them.
    let (text, _) = dump(&d, libc::SIGRTMAX() - 1, &stats_file, |t| {
        t.contains("VI_2")
    });
    assert_eq!(parse_stats(&text).unwrap()["VI_1"]["Became master"], 1);
    let (text, _) = dump(&d, libc::SIGUSR2, &stats_file, |t| t.contains("VI_2"));
    assert_eq!(parse_stats(&text).unwrap()["VI_1"]["Became master"], 0);

    // The parent writes its global definitions on SIGUSR1 too.
    let parent = tmp.join("keepalived_parent.data");
    assert!(std::fs::read_to_string(&parent)
        .unwrap()
        .starts_with("------< Global definitions >------\n Network namespace = (default)\n"));

    eprintln!(
        "dump latency (signal to parsed file, 10 ms sleep included): \
         data {took_data:?}, stats {took_stats:?}, json {took_json:?}"
    );
    assert!(d.log().contains("Printing VRRP data for process("));
}

/// A checker-only configuration: a TCP_CHECK that fails (nothing listens
/// on 10.66.0.1:1), a MISC_CHECK that succeeds and a FILE_CHECK.
fn checker_conf(dir: &Path, extra_rs: &str) -> String {
    format!(
        "global_defs {{\n  router_id dumps\n  script_user root\n}}\n\
track_file tf {{\n  file {}\n  weight 2\n}}\n\
virtual_server 10.66.0.200 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
  real_server 10.66.0.10 80 {{\n    TCP_CHECK {{\n      connect_ip 10.66.0.1\n      connect_port 1\n      connect_timeout 1\n      retry 0\n    }}\n  }}\n\
  real_server 10.66.0.11 80 {{\n    weight 3\n    MISC_CHECK {{\n      misc_path /bin/true\n    }}\n    FILE_CHECK {{\n      track_file tf\n    }}\n  }}\n\
{extra_rs}}}\n",
        dir.join("tf").display()
    )
}

/// The checker writes `keepalived_check.data` (in `$TMPDIR`) when the
/// parent gets SIGUSR1, logs keepalived's line, and goes on running; after
/// a reload the dump shows what was carried over; a configuration edited
/// but not reloaded is not described as the running one.
#[test]
fn checker_writes_its_data_on_sigusr1() {
    if !privileged("dumps") {
        return;
    }
    let lab = Lab::new("ckdump");
    let tmp = lab.dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(lab.dir.join("tf"), "2\n").unwrap();
    let tmp_s = tmp.to_string_lossy().into_owned();
    let conf = checker_conf(&lab.dir, "");
    let d = Daemon::start(&lab, "c", &conf, &["-n", "-C"], &[("TMPDIR", &tmp_s)]);
    d.wait_started();
    assert!(
        d.wait_log(Duration::from_secs(8), "TCP_CHECK on service", 1),
        "the TCP_CHECK never failed\n{}",
        d.log()
    );
    let checker = d.checker_pid().expect("checker pid");
    let file = tmp.join("keepalived_check.data");
    let (text, took) = dump(&d, libc::SIGUSR1, &file, |t| t.contains("Track file = tf"));
    assert_eq!(mode(&file), 0o600);
    assert!(d.log().contains(&format!(
        "Printing checker data for process({checker}) on signal"
    )));
    assert!(text.starts_with("------< Global definitions >------\n"));
    for want in [
        " Router ID = dumps\n",
        "------< LVS Topology >------\n System is compiled with LVS v1.2.1\n ------< Virtual server >------\n VS VIP = 10.66.0.200, VPORT = 80\n",
        "   RIP = 10.66.0.10, RPORT = 80, WEIGHT = 1 EFF WEIGHT = 1\n",
        // 3 + the file's 2 × 2.
        "   RIP = 10.66.0.11, RPORT = 80, WEIGHT = 7 EFF WEIGHT = 7\n",
        "   Tracked Files\n     tf, weight 2\n",
        "------< Health checkers >------\n [10.66.0.200]:tcp:80 -> [10.66.0.10]:tcp:80\n   Enabled = yes\n   Up = no\n   Has run = yes\n",
        "     Dest = [10.66.0.1]:1\n     Timeout = 1.000000\n   Keepalive method = TCP_CHECK\n",
        "   Keepalive method = MISC_CHECK\n   script = '/bin/true'\n   timeout = 0\n   dynamic = NO\n   uid:gid = 0:0\n",
        "   Current weight = 4\n   Log all failures = no\n   Keepalive method = FILE_CHECK\n     Tracked file = tf\n     Reloaded = No\n",
        " Track file = tf\n",
        "   Status = 2\n   Weight = 2\n   Tracking instances :\n     [10.66.0.200]:tcp:80 -> [10.66.0.11]:tcp:80, weight 2\n",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
    assert!(text.contains("   Last status = 0\n"), "{text}");
    assert!(proclab::alive(checker), "the checker died\n{}", d.log());

    // A reload adding a real server: the others are carried over.
    std::fs::write(
        &d.conf,
        checker_conf(&lab.dir, "  real_server 10.66.0.12 80 {\n  }\n"),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    assert!(
        d.wait_log(Duration::from_secs(5), "Reload complete", 1),
        "{}",
        d.log()
    );
    let (text, _) = dump(&d, libc::SIGUSR1, &file, |t| t.contains("10.66.0.12"));
    assert!(text.contains("   RIP = 10.66.0.12, RPORT = 80, WEIGHT = 1 EFF WEIGHT = 1\n"));
    assert!(
        text.contains("   quorum_state_up = 1\n   reloaded = 1\n"),
        "{text}"
    );
    assert!(
        text.contains("   previous effective_weight = 7\n   alive = 1\n"),
        "{text}"
    );

    // Edited, not reloaded: no dump of a configuration that is not running.
    std::fs::write(&d.conf, checker_conf(&lab.dir, "")).unwrap();
    let _ = std::fs::remove_file(&file);
    d.signal(libc::SIGUSR1);
    assert!(
        d.wait_log(
            Duration::from_secs(3),
            "the configuration changed since it was loaded",
            1
        ),
        "{}",
        d.log()
    );
    assert!(!file.exists());
    eprintln!("checker dump latency (signal to file): {took:?}");
}

//! A flood of invalid VRRP packets at two routers (issue #12): A (priority
//! 150, master) and B (100, backup) each run three instances (VRRPv2 PASS,
//! VRRPv3 IPv4, VRRPv3 IPv6) on `eth0`, joined by a bridge in a third
//! namespace whose own port floods both with ≥ 10 000 invalid packets a
//! second for 10 s: garbage, runts, truncated adverts, the wrong version, a
//! bad checksum, an unknown VRID, TTL 64, a wrong password and TTL-1 adverts
//! of priority 254.
//!
//! Asserted for ours: no state transition on either router; every packet
//! the kernel delivered counted exactly once in the counter its kind
//! feeds; the log rate-limited to a few lines a second per instance and
//! reason (plus the lines reporting what was suppressed). keepalived 2.2.7
//! runs the same flood (a separate run, keepalived on both routers): its
//! counters, log rate and CPU time (utime + stime of all the daemon's
//! processes) are printed beside ours, not asserted.
//!
//! Needs root and /usr/sbin/keepalived; skipped with a message otherwise,
//! unless `CI` is set.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod common;
#[path = "common/rxlab.rs"]
mod rxlab;

use common::lab::{run, Ns};
use rxlab::{Advert, Daemon, Impl, Port, Tx};

/// Packets a second and seconds of flood.
const RATE: u64 = 12_000;
const SECS: u64 = 10;
/// Log lines a second allowed per instance and reason, and the lines
/// that report what was suppressed (at most one a second each).
const LOG_PER_SEC: u64 = 5;

fn conf(prio: u8) -> String {
    let mut s = String::new();
    for (name, vrid, body) in [
        (
            "VI_1",
            1,
            "  version 2\n  authentication {\n    auth_type PASS\n    auth_pass secret12\n  }\n  \
             virtual_ipaddress {\n    10.97.0.101/24\n  }\n",
        ),
        (
            "VI_2",
            2,
            "  version 3\n  virtual_ipaddress {\n    10.97.0.102/24\n  }\n",
        ),
        (
            "VI_3",
            3,
            "  version 3\n  virtual_ipaddress {\n    fe80::103/64\n    fd00:97::103/64\n  }\n",
        ),
    ] {
        s += &format!(
            "vrrp_instance {name} {{\n  interface eth0\n  state BACKUP\n  virtual_router_id {vrid}\n  \
             priority {prio}\n  advert_int 1\n{body}}}\n"
        );
    }
    s
}

const INSTANCES: [&str; 3] = ["VI_1", "VI_2", "VI_3"];

/// Router namespaces `a` and `b` (eth0 10.97.0.1 and .2), and `f` whose
/// bridge `br0` (10.97.0.3) joins them and sends the flood.
struct Lab {
    tx: Tx,
    f_port: Port,
    dir: PathBuf,
    a: Ns,
    b: Ns,
    _f: Ns,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let a = Ns::new(&format!("{tag}a"));
        let b = Ns::new(&format!("{tag}b"));
        let f = Ns::new(&format!("{tag}f"));
        for ns in [&a, &b, &f] {
            ns.no_dad();
        }
        f.ip(&[
            "link",
            "add",
            "br0",
            "address",
            "02:00:00:00:0f:03",
            "type",
            "bridge",
        ]);
        run(&[
            "ip",
            "netns",
            "exec",
            &f.name,
            "sh",
            "-c",
            "echo 0 > /sys/class/net/br0/bridge/multicast_snooping",
        ]);
        for (n, (ns, port)) in [(&a, "pa"), (&b, "pb")].into_iter().enumerate() {
            f.ip(&[
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "address",
                &format!("02:00:00:00:0f:0{}", n + 1),
                "netns",
                &ns.name,
            ]);
            f.ip(&["link", "set", port, "master", "br0", "up"]);
            ns.ip(&[
                "addr",
                "add",
                &format!("10.97.0.{}/24", n + 1),
                "dev",
                "eth0",
            ]);
            ns.ip(&["link", "set", "eth0", "up"]);
        }
        f.ip(&["addr", "add", "10.97.0.3/24", "dev", "br0"]);
        f.ip(&["link", "set", "br0", "up"]);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&a.name);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Port::of(&a, "eth0");
        let _ = Port::of(&b, "eth0");
        Lab {
            tx: Tx::open(&f, "br0"),
            f_port: Port::of(&f, "br0"),
            dir,
            a,
            b,
            _f: f,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The kinds of the flood, each aimed at one instance (or none), and the
/// counter of `keepalived.stats` it feeds there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Random bytes, VRID 77.
    Garbage,
    /// 1 to 7 random bytes.
    Runt,
    /// VI_1: address count 1, no address.
    Trunc1,
    /// VI_3: the same over IPv6.
    Trunc3,
    /// VI_1: a VRRPv3 advert.
    Version1,
    /// VI_2: checksum wrong.
    Csum2,
    /// VRID 99.
    Vrid99,
    /// VI_2: TTL 64.
    Ttl64v2,
    /// VI_1: wrong password.
    Passwd1,
    /// VI_1, VI_2, VI_3: priority 254, TTL 1.
    Ttl1v1,
    Ttl1v2,
    Ttl1v3,
}

use Kind::*;

const KINDS: [Kind; 12] = [
    Garbage, Runt, Trunc1, Trunc3, Version1, Csum2, Vrid99, Ttl64v2, Passwd1, Ttl1v1, Ttl1v2,
    Ttl1v3,
];

impl Kind {
    /// (instance, counter) this kind increments by one per packet.
    fn counter(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Trunc1 => ("VI_1", "Packet Errors/Length"),
            Trunc3 => ("VI_3", "Packet Errors/Length"),
            Passwd1 => ("VI_1", "Authentication Errors/Failure"),
            Ttl1v1 => ("VI_1", "Packet Errors/TTL"),
            Ttl64v2 | Ttl1v2 => ("VI_2", "Packet Errors/TTL"),
            Ttl1v3 => ("VI_3", "Packet Errors/TTL"),
            _ => return None,
        })
    }
}

/// A small deterministic generator for the garbage.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The frames of one cycle of the flood (one of each kind).
fn cycle(f: &Port, rng: &mut XorShift) -> Vec<(Kind, Vec<u8>)> {
    let src4: IpAddr = f.v4.into();
    let src6: IpAddr = f.ll.into();
    let g4: Ipv4Addr = "224.0.0.18".parse().unwrap();
    let g6: Ipv6Addr = "ff02::12".parse().unwrap();
    let mac4 = (rxlab::mcast_mac(g4.into()), f.mac);
    let mac6 = (rxlab::mcast_mac(g6.into()), f.mac);
    let v4 = |ttl: u8, msg: &[u8]| rxlab::frame_v4(mac4, f.v4, g4, ttl, 112, msg);
    let v6 = |hops: u8, msg: &[u8]| rxlab::frame_v6(mac6, f.ll, g6, hops, msg);
    let vip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let a1 = || Advert::new(2, 1, 200, vec![vip("10.97.0.101")]).pass("secret12");
    let a2 = || Advert::new(3, 2, 200, vec![vip("10.97.0.102")]);
    let a3 = || Advert::new(3, 3, 200, vec![vip("fe80::103"), vip("fd00:97::103")]);
    let (d4, d6) = (IpAddr::V4(g4), IpAddr::V6(g6));
    KINDS
        .iter()
        .map(|&k| {
            let frame = match k {
                Garbage => {
                    let n = 8 + (rng.next() % 40) as usize;
                    let mut b = rng.bytes(n);
                    b[1] = 77;
                    v4(255, &b)
                }
                Runt => {
                    let n = 1 + (rng.next() % 7) as usize;
                    v4(255, &rng.bytes(n))
                }
                Trunc1 => {
                    let mut a = a1();
                    a.count = Some(1);
                    a.addrs.clear();
                    v4(255, &a.bytes(src4, d4))
                }
                Trunc3 => {
                    let mut a = a3();
                    a.count = Some(2);
                    a.addrs.truncate(1);
                    v6(255, &a.bytes(src6, d6))
                }
                Version1 => v4(255, &Advert::new(3, 1, 200, a1().addrs).bytes(src4, d4)),
                Csum2 => v4(
                    255,
                    &Advert {
                        csum_xor: 0x5a5a,
                        ..a2()
                    }
                    .bytes(src4, d4),
                ),
                Vrid99 => v4(255, &Advert { vrid: 99, ..a1() }.bytes(src4, d4)),
                Ttl64v2 => v4(64, &a2().bytes(src4, d4)),
                Passwd1 => v4(255, &a1().pass("wrongpw1").bytes(src4, d4)),
                Ttl1v1 => v4(1, &Advert { prio: 254, ..a1() }.bytes(src4, d4)),
                Ttl1v2 => v4(1, &Advert { prio: 254, ..a2() }.bytes(src4, d4)),
                Ttl1v3 => v6(1, &Advert { prio: 254, ..a3() }.bytes(src6, d6)),
            };
            (k, frame)
        })
        .collect()
}

/// Sends the flood at `RATE` for `SECS`; returns what was sent, per kind,
/// and how long it took.
fn flood(tx: &Tx, f: &Port) -> (BTreeMap<Kind, u64>, Duration) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let cycles: Vec<Vec<(Kind, Vec<u8>)>> = (0..64).map(|_| cycle(f, &mut rng)).collect();
    let mut sent: BTreeMap<Kind, u64> = BTreeMap::new();
    let start = Instant::now();
    let total = RATE * SECS;
    // One cycle (12 frames) each 1 ms.
    let per_tick = KINDS.len() as u64;
    let tick = Duration::from_nanos(1_000_000_000 * per_tick / RATE);
    let mut n = 0u64;
    while n < total {
        let c = &cycles[(n / per_tick) as usize % cycles.len()];
        for (k, frame) in c {
            if tx.send(frame) {
                *sent.entry(*k).or_insert(0) += 1;
            }
        }
        n += per_tick;
        let due = tick * (n / per_tick) as u32;
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    (sent, start.elapsed())
}

/// A router's view before or after the flood.
#[derive(Debug, Clone, Default)]
struct Snap {
    stats: BTreeMap<String, i64>,
    log_len: usize,
    cpu: u64,
    raw_drops: u64,
    rx_packets: u64,
    rx_dropped: u64,
}

fn iface_stat(ns: &Ns, what: &str) -> u64 {
    run(&[
        "ip",
        "netns",
        "exec",
        &ns.name,
        "cat",
        &format!("/sys/class/net/eth0/statistics/{what}"),
    ])
    .trim()
    .parse()
    .unwrap_or(0)
}

fn snap(d: &Daemon, ns: &Ns) -> Snap {
    let t = d.dump(libc::SIGUSR2, "keepalived.stats", |t| {
        t.contains("Instance: VI_3\n")
    });
    let stats = rxlab::parse_stats(&t)
        .into_iter()
        .flat_map(|(i, kv)| kv.into_iter().map(move |(k, v)| (format!("{i}:{k}"), v)))
        .collect();
    Snap {
        stats,
        log_len: d.log_text().len(),
        cpu: d.cpu_ticks(),
        raw_drops: rxlab::raw_drops(ns),
        rx_packets: iface_stat(ns, "rx_packets"),
        rx_dropped: iface_stat(ns, "rx_dropped"),
    }
}

/// What one router showed over the flood.
#[derive(Debug, Default)]
struct Router {
    /// Counter deltas (`instance:counter`), non-zero ones.
    delta: BTreeMap<String, i64>,
    /// Log lines by `instance/reason` during the flood.
    logs: BTreeMap<String, usize>,
    log_lines: usize,
    transitions: usize,
    cpu_secs: f64,
    raw_drops: u64,
    rx_packets: u64,
    rx_dropped: u64,
}

fn router(d: &Daemon, before: &Snap, after: &Snap) -> Router {
    let mut delta = BTreeMap::new();
    for (k, v) in &after.stats {
        let x = v - before.stats.get(k).copied().unwrap_or(0);
        if x != 0 {
            delta.insert(k.clone(), x);
        }
    }
    let log = d.log_text();
    let window = &log[before.log_len.min(log.len())..after.log_len.min(log.len())];
    let logs = rxlab::reasons(window);
    let transitions = logs
        .iter()
        .filter(|(k, _)| k.contains("/to_"))
        .map(|(_, v)| v)
        .sum::<usize>()
        + ["Became master", "Released master"]
            .iter()
            .map(|c| {
                delta
                    .iter()
                    .filter(|(k, _)| k.ends_with(c))
                    .map(|(_, v)| *v as usize)
                    .sum::<usize>()
            })
            .sum::<usize>();
    Router {
        delta,
        logs,
        log_lines: window.lines().count(),
        transitions,
        cpu_secs: (after.cpu - before.cpu) as f64 / rxlab::clk_tck() as f64,
        raw_drops: after.raw_drops - before.raw_drops,
        rx_packets: after.rx_packets - before.rx_packets,
        rx_dropped: after.rx_dropped - before.rx_dropped,
    }
}

/// One run: both routers on `which`, the flood, and what each showed.
struct Outcome {
    sent: BTreeMap<Kind, u64>,
    took: Duration,
    a: Router,
    b: Router,
}

fn scenario(which: Impl) -> Outcome {
    let lab = Lab::new(&format!("fl{}", &which.name()[..1]));
    let da = Daemon::start(which, &lab.a, &lab.dir, "a", &conf(150));
    let db = Daemon::start(which, &lab.b, &lab.dir, "b", &conf(100));
    let ok = da.wait_log(Duration::from_secs(6), "Entering MASTER STATE", 3)
        && db.wait_log(Duration::from_secs(2), "Entering BACKUP STATE", 3);
    assert!(
        ok,
        "{}: A not master or B not backup\nA:\n{}\nB:\n{}",
        which.name(),
        da.log_text(),
        db.log_text()
    );
    std::thread::sleep(Duration::from_millis(500));
    let (a0, b0) = (snap(&da, &lab.a), snap(&db, &lab.b));
    let (sent, took) = flood(&lab.tx, &lab.f_port);
    std::thread::sleep(Duration::from_millis(300));
    let (a1, b1) = (snap(&da, &lab.a), snap(&db, &lab.b));
    for (ns, tag) in [(&lab.a, "A"), (&lab.b, "B")] {
        for l in rxlab::raw_drop_lines(ns) {
            println!("{}: {tag}: {l}", which.name());
        }
    }
    let out = Outcome {
        sent,
        took,
        a: router(&da, &a0, &a1),
        b: router(&db, &b0, &b1),
    };
    for (d, tag) in [(&da, "a"), (&db, "b")] {
        let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("rx_flood-{}-{tag}.log", which.name()));
        let _ = std::fs::write(keep, d.log_text());
    }
    out
}

/// The counter deltas the flood must cause (per `instance:counter`).
fn expected(sent: &BTreeMap<Kind, u64>) -> BTreeMap<String, i64> {
    let mut e = BTreeMap::new();
    for (k, n) in sent {
        if let Some((i, c)) = k.counter() {
            *e.entry(format!("{i}:{c}")).or_insert(0) += *n as i64;
        }
    }
    e
}

/// Prints both runs side by side.
fn report(k: &Outcome, o: &Outcome) {
    for (name, r) in [("keepalived", k), ("ours", o)] {
        let total: u64 = r.sent.values().sum();
        println!(
            "{name}: sent {total} frames in {:.2?} ({:.0}/s), {:?}",
            r.took,
            total as f64 / r.took.as_secs_f64(),
            r.sent
        );
    }
    let secs = |r: &Outcome| r.took.as_secs_f64();
    println!(
        "\n{:<40} {:>14} {:>14} {:>14} {:>14}",
        "", "keepalived A", "ours A", "keepalived B", "ours B"
    );
    let row = |label: &str, f: &dyn Fn(&Router, &Outcome) -> String| {
        println!(
            "{label:<40} {:>14} {:>14} {:>14} {:>14}",
            f(&k.a, k),
            f(&o.a, o),
            f(&k.b, k),
            f(&o.b, o)
        );
    };
    row("CPU utime+stime (s)", &|r, _| format!("{:.2}", r.cpu_secs));
    row("CPU (% of one core)", &|r, x| {
        format!("{:.0}%", 100.0 * r.cpu_secs / secs(x))
    });
    row("eth0 rx packets", &|r, _| r.rx_packets.to_string());
    row("eth0 rx dropped", &|r, _| r.rx_dropped.to_string());
    row("raw socket drops", &|r, _| r.raw_drops.to_string());
    let read = |r: &Router| r.rx_packets.saturating_sub(r.raw_drops);
    row("packets read by the daemon (≈)", &|r, _| {
        read(r).to_string()
    });
    row("CPU per packet read (µs)", &|r, _| {
        format!("{:.1}", r.cpu_secs * 1e6 / read(r).max(1) as f64)
    });
    row("transitions", &|r, _| r.transitions.to_string());
    row("log lines", &|r, _| r.log_lines.to_string());
    row("log lines / s", &|r, x| {
        format!("{:.0}", r.log_lines as f64 / secs(x))
    });
    let mut keys: Vec<String> = [&k.a, &o.a, &k.b, &o.b]
        .iter()
        .flat_map(|r| r.delta.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    let (ek, eo) = (expected(&k.sent), expected(&o.sent));
    for key in keys {
        let g = |r: &Router| r.delta.get(&key).copied().unwrap_or(0).to_string();
        let e = match (ek.get(&key), eo.get(&key)) {
            (Some(a), Some(b)) => format!(" (sent {a} / {b})"),
            _ => String::new(),
        };
        println!(
            "{:<40} {:>14} {:>14} {:>14} {:>14}{e}",
            format!("Δ {key}"),
            g(&k.a),
            g(&o.a),
            g(&k.b),
            g(&o.b)
        );
    }
    let mut keys: Vec<String> = [&k.a, &o.a, &k.b, &o.b]
        .iter()
        .flat_map(|r| r.logs.keys().cloned())
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let g = |r: &Router| r.logs.get(&key).copied().unwrap_or(0).to_string();
        println!(
            "{:<40} {:>14} {:>14} {:>14} {:>14}",
            format!("log {key}"),
            g(&k.a),
            g(&o.a),
            g(&k.b),
            g(&o.b)
        );
    }
}

/// What ours got wrong.
fn check(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    let secs = o.took.as_secs_f64().ceil() as u64;
    let total: u64 = o.sent.values().sum();
    if total < 10_000 * SECS || o.took > Duration::from_secs(SECS + 1) {
        bad.push(format!("flood too slow: {total} frames in {:?}", o.took));
    }
    let want = expected(&o.sent);
    for (tag, r) in [("A", &o.a), ("B", &o.b)] {
        if r.transitions != 0 {
            bad.push(format!(
                "{tag}: {} transitions during the flood",
                r.transitions
            ));
        }
        let lossless = r.raw_drops == 0 && r.rx_dropped == 0 && r.rx_packets >= total;
        for inst in INSTANCES {
            for c in [
                "Packet Errors/Length",
                "Packet Errors/TTL",
                "Packet Errors/Invalid Type",
                "Packet Errors/Address List",
                "Authentication Errors/Failure",
                "Authentication Errors/Type Mismatch",
                "Authentication Errors/Invalid Type",
            ] {
                let key = format!("{inst}:{c}");
                let (got, exp) = (
                    r.delta.get(&key).copied().unwrap_or(0),
                    want.get(&key).copied().unwrap_or(0),
                );
                let ok = if lossless {
                    got == exp
                } else {
                    got <= exp && got >= exp - r.raw_drops as i64 - r.rx_dropped as i64
                };
                if !ok {
                    bad.push(format!(
                        "{tag} {key}: counted {got}, {exp} sent (lossless: {lossless})"
                    ));
                }
            }
        }
        let limit = (LOG_PER_SEC + 1) * secs + 5;
        for (key, n) in &r.logs {
            if *n as u64 > limit {
                bad.push(format!(
                    "{tag}: {n} log lines for {key} in {secs} s (limit {limit}: \
                     {LOG_PER_SEC}/s + one summary a second)"
                ));
            }
        }
    }
    bad
}

#[test]
fn flood_of_invalid_packets() {
    if !common::lab::with_keepalived("rx_flood") {
        return;
    }
    let k = scenario(Impl::Keepalived);
    let o = scenario(Impl::Ours);
    report(&k, &o);
    let bad = check(&o);
    assert!(bad.is_empty(), "ours under the flood:\n{}", bad.join("\n"));
}

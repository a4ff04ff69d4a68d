//! Receive-path labs shared by `tests/rx_counters.rs` and
//! `tests/rx_flood.rs`: keepalived 2.2.7 or ours started in a namespace
//! with a private `TMPDIR` and pid files, its dumps read and parsed, its
//! log classified by drop reason, and VRRP frames built byte by byte and
//! injected with an `AF_PACKET` socket (so TTL, protocol, lengths and
//! checksums are whatever the test says).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::lab::{run, wait_for, Ns};

use crate::common::lab::read_pid;
pub use crate::common::lab::Impl;

/// A daemon run as `keepalived -n -l -D -P -f CONF -p -r -c` in a
/// namespace, `TMPDIR` private; its processes are killed by the pids of
/// its pid files (checked against their command lines) on drop.
pub struct Daemon {
    pub which: Impl,
    child: Option<Child>,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub tmp: PathBuf,
    pid: PathBuf,
    vrrp_pid: PathBuf,
}

impl Daemon {
    pub fn start(which: Impl, ns: &Ns, dir: &Path, tag: &str, conf: &str) -> Daemon {
        let tag = format!("{tag}-{}", which.name());
        let cf = dir.join(format!("{tag}.conf"));
        std::fs::write(&cf, conf).unwrap();
        let tmp = dir.join(format!("{tag}-tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        let log = dir.join(format!("{tag}.log"));
        let pid = dir.join(format!("{tag}.pid"));
        let vrrp_pid = dir.join(format!("{tag}-vrrp.pid"));
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, &which.binary()])
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(&cf)
            .arg("-p")
            .arg(&pid)
            .arg("-r")
            .arg(&vrrp_pid)
            .arg("-c")
            .arg(dir.join(format!("{tag}-chk.pid")))
            .env("TMPDIR", &tmp)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("start daemon");
        Daemon {
            which,
            child: Some(child),
            conf: cf,
            log,
            tmp,
            pid,
            vrrp_pid,
        }
    }

    fn verified(&self, file: &Path) -> Option<i32> {
        let p = read_pid(file)?;
        let cmd = std::fs::read(format!("/proc/{p}/cmdline")).ok()?;
        String::from_utf8_lossy(&cmd)
            .contains(&*self.conf.to_string_lossy())
            .then_some(p)
    }

    /// The parent and the VRRP child, once both have written their pid files.
    pub fn pids(&self) -> Vec<i32> {
        [&self.pid, &self.vrrp_pid]
            .iter()
            .filter_map(|f| self.verified(f))
            .collect()
    }

    pub fn signal(&self, sig: i32) {
        let p = self.verified(&self.pid).expect("parent pid file");
        // SAFETY: kill(2) on our daemon's verified pid.
        unsafe { libc::kill(p, sig) };
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` at least `n` times.
    pub fn wait_log(&self, t: Duration, needle: &str, n: usize) -> bool {
        wait_for(t, || self.log_text().matches(needle).count() >= n).is_some()
    }

    /// Sends `sig` and returns the file `name` of `TMPDIR` once it is
    /// complete (`ready`).
    pub fn dump(&self, sig: i32, name: &str, ready: impl Fn(&str) -> bool) -> String {
        let file = self.tmp.join(name);
        let _ = std::fs::remove_file(&file);
        self.signal(sig);
        let start = Instant::now();
        loop {
            if let Ok(t) = std::fs::read_to_string(&file) {
                if ready(&t) {
                    return t;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "{} wrote no {name}\n{}",
                self.which.name(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every counter of the three dumps, keyed `file:instance:counter`
    /// (the data dump holds no counters in 2.2.7: its per-instance state
    /// lines are taken instead). `last` is the last instance's name.
    pub fn counters(&self, last: &str) -> BTreeMap<String, String> {
        let done = |t: &str| t.contains(&format!("Instance: {last}\n"));
        let mut out = BTreeMap::new();
        let stats = self.dump(libc::SIGUSR2, "keepalived.stats", done);
        for (i, kv) in parse_stats(&stats) {
            for (k, v) in kv {
                out.insert(format!("stats:{i}:{k}"), v.to_string());
            }
        }
        let q = format!("\"iname\":\"{last}\"");
        let json = self.dump(libc::SIGRTMIN() + 2, "keepalived.json", |t| t.contains(&q));
        let v: serde_json::Value = serde_json::from_str(&json).expect("keepalived.json");
        for o in v.as_array().expect("json array") {
            let i = o["data"]["iname"].as_str().unwrap_or("?");
            for (k, v) in o["stats"].as_object().expect("stats") {
                out.insert(format!("json:{i}:{k}"), v.to_string());
            }
        }
        let q = format!(" VRRP Instance = {last}\n");
        self.dump(libc::SIGUSR1, "keepalived.data", |t| t.contains(&q));
        // keepalived writes the file in place: let it finish.
        std::thread::sleep(Duration::from_millis(100));
        let data = std::fs::read_to_string(self.tmp.join("keepalived.data")).unwrap_or_default();
        for (i, kv) in parse_data(&data) {
            for (k, v) in kv {
                out.insert(format!("data:{i}:{k}"), v);
            }
        }
        out
    }

    /// utime + stime of the daemon's processes, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        self.pids().into_iter().map(cpu_ticks).sum()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let parent = self.verified(&self.pid);
        if let Some(p) = parent {
            // SAFETY: kill(2) on our daemon's verified pid.
            unsafe { libc::kill(p, libc::SIGSTOP) };
        }
        if let Some(p) = self.verified(&self.vrrp_pid) {
            // SAFETY: as above.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        if let Some(p) = parent {
            // SAFETY: as above.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// utime + stime of `pid` from `/proc/PID/stat`, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = s.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let n = |i: usize| {
        f.get(i - 3)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
    };
    n(14) + n(15)
}

/// Clock ticks per second.
pub fn clk_tck() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as u64 }
}

/// `keepalived.stats` as keepalived-exporter reads it: `VRRP Instance: N`,
/// two-space section lines ending in `:`, four-space `Key: n` in a section.
pub fn parse_stats(text: &str) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let (mut inst, mut section) = (String::new(), String::new());
    for l in text.lines() {
        let (k, v) = l.trim().split_once(':').unwrap_or((l.trim(), ""));
        if let Some(name) = l.strip_prefix("VRRP Instance: ") {
            inst = name.trim().to_string();
            out.entry(inst.clone()).or_default();
        } else if l.starts_with("  ") && l.ends_with(':') {
            section = k.to_string();
        } else if l.starts_with("    ") {
            let n = v.trim().parse().unwrap_or(-1);
            out.entry(inst.clone())
                .or_default()
                .insert(format!("{section}/{k}"), n);
        } else if l.starts_with("  ") {
            section.clear();
            let n = v.trim().parse().unwrap_or(-1);
            out.entry(inst.clone())
                .or_default()
                .insert(k.to_string(), n);
        }
    }
    out
}

/// The state lines of each instance in `keepalived.data`.
pub fn parse_data(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    const KEYS: [&str; 5] = [
        "State",
        "Wantstate",
        "Master router",
        "Master priority",
        "Effective priority",
    ];
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut inst = String::new();
    for l in text.lines() {
        if let Some(n) = l.strip_prefix(" VRRP Instance = ") {
            inst = n.trim().to_string();
            out.entry(inst.clone()).or_default();
        } else if l.starts_with("------<") {
            inst.clear();
        } else if !inst.is_empty() && l.starts_with("   ") && !l.starts_with("    ") {
            if let Some((k, v)) = l.trim().split_once(" = ") {
                if KEYS.contains(&k) {
                    out.entry(inst.clone())
                        .or_default()
                        .insert(k.to_string(), v.to_string());
                }
            }
        }
    }
    out
}

/// The drop reason (or event) a log line reports, by the words of
/// keepalived 2.2.7's lines and of ours.
pub fn reason(line: &str) -> Option<&'static str> {
    const TABLE: &[(&[&str], &str)] = &[
        // Ours, beyond keepalived: the count of rate-limited lines.
        (&["similar log lines suppressed"], "suppressed"),
        (&["AH header but auth type"], "ah_mismatch"),
        (&["VRRP packet too short -", "with AH too short"], "runt"),
        (&["too short, length", "too long, length"], "length"),
        (&["invalid TTL/HL", "not in range"], "ttl"),
        (&["wrong version", "wrong VRRP version"], "version"),
        (&["Invalid auth type"], "invalid_authtype"),
        (&["auth, expecting"], "authtype_mismatch"),
        (&["invalid passwd"], "passwd"),
        (&["Syncing seq_num"], "ah_seq_sync"),
        (&["IPSEC"], "ah_auth"),
        (&["advertisement interval mismatch"], "interval"),
        (&["Invalid packet type"], "type"),
        (
            &["unexpected ip number count", "VIPs but received"],
            "addr_count",
        ),
        (&["ip_tot_len mismatch"], "tot_len"),
        (&["checksum"], "checksum"),
        (&["icast packet but received", "icast packet on"], "cast"),
        (&["not present in MASTER advert"], "addr_missing"),
        (&["not a unicast peer"], "not_peer"),
        (&["received lower priority"], "backup_lower"),
        (&["with lower priority"], "master_lower"),
        (&["with higher priority"], "master_higher"),
        (&["Unknown VRID"], "unknown_vrid"),
        (&["Entering MASTER STATE"], "to_master"),
        (&["Entering BACKUP STATE"], "to_backup"),
        (
            &["Entering FAULT STATE", "entering FAULT state"],
            "to_fault",
        ),
        (&["priority 0"], "prio0"),
    ];
    TABLE
        .iter()
        .find(|(words, _)| words.iter().any(|w| line.contains(w)))
        .map(|(_, r)| *r)
}

/// The instance a log line names: the first `(NAME)` after the timestamp.
pub fn instance_of(line: &str) -> String {
    let body = line.split_once(": ").map_or(line, |(_, b)| b);
    match (body.find('('), body.find(')')) {
        (Some(a), Some(b)) if a < b && !body[a + 1..b].contains(' ') => body[a + 1..b].to_string(),
        _ => "-".to_string(),
    }
}

/// Log lines counted by `instance/reason`.
pub fn reasons(log: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for l in log.lines() {
        if let Some(r) = reason(l) {
            *out.entry(format!("{}/{r}", instance_of(l))).or_insert(0) += 1;
        }
    }
    out
}

/// One's complement sum of `data`, folded, not inverted.
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    for c in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

/// The Internet checksum of `data` after `pseudo`.
pub fn checksum(pseudo: &[u8], data: &[u8]) -> u16 {
    let mut s = sum16(data, sum16(pseudo, 0));
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A VRRP message, any field as the test wants it.
#[derive(Debug, Clone)]
pub struct Advert {
    pub version: u8,
    pub typ: u8,
    pub vrid: u8,
    pub prio: u8,
    /// The address count field; `None`: the number of `addrs`.
    pub count: Option<u8>,
    /// v2 only.
    pub auth_type: u8,
    /// v2: seconds; v3: centiseconds.
    pub interval: u16,
    pub addrs: Vec<IpAddr>,
    /// v2 over IPv4 only: the 8 authentication bytes.
    pub pass: [u8; 8],
    /// Zero bytes appended (covered by the checksum).
    pub extra: usize,
    /// XORed into the correct checksum.
    pub csum_xor: u16,
}

impl Advert {
    /// A valid advert of `version` for `vrid` at `prio`, interval 1 s.
    pub fn new(version: u8, vrid: u8, prio: u8, addrs: Vec<IpAddr>) -> Advert {
        Advert {
            version,
            typ: 1,
            vrid,
            prio,
            count: None,
            auth_type: 0,
            interval: if version == 2 { 1 } else { 100 },
            addrs,
            pass: [0; 8],
            extra: 0,
            csum_xor: 0,
        }
    }

    /// With PASS authentication.
    pub fn pass(mut self, p: &str) -> Advert {
        self.auth_type = 1;
        self.pass = [0; 8];
        self.pass[..p.len()].copy_from_slice(p.as_bytes());
        self
    }

    /// The message with its checksum: v2 over the message, v3 and every
    /// IPv6 message with the pseudo-header of `src` and `dst`.
    pub fn bytes(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let mut b = vec![
            (self.version << 4) | (self.typ & 0x0f),
            self.vrid,
            self.prio,
            self.count.unwrap_or(self.addrs.len() as u8),
        ];
        if self.version == 3 {
            b.extend_from_slice(&(self.interval & 0x0fff).to_be_bytes());
        } else {
            b.push(self.auth_type);
            b.push(self.interval as u8);
        }
        b.extend_from_slice(&[0, 0]);
        for a in &self.addrs {
            match a {
                IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
            }
        }
        if self.version == 2 && src.is_ipv4() {
            b.extend_from_slice(&self.pass);
        }
        b.resize(b.len() + self.extra, 0);
        let c = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) if self.version == 3 => {
                let mut p = Vec::from(s.octets());
                p.extend_from_slice(&d.octets());
                p.extend_from_slice(&[0, 112]);
                p.extend_from_slice(&(b.len() as u16).to_be_bytes());
                checksum(&p, &b)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => checksum(&pseudo6(s, d, b.len(), 112), &b),
            _ => checksum(&[], &b),
        };
        b[6..8].copy_from_slice(&(c ^ self.csum_xor).to_be_bytes());
        b
    }
}

fn pseudo6(s: Ipv6Addr, d: Ipv6Addr, len: usize, nh: u8) -> Vec<u8> {
    let mut p = Vec::from(s.octets());
    p.extend_from_slice(&d.octets());
    p.extend_from_slice(&(len as u32).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, nh]);
    p
}

/// The Ethernet address a multicast IP address maps to.
pub fn mcast_mac(a: IpAddr) -> [u8; 6] {
    match a {
        IpAddr::V4(a) => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(a) => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

/// An Ethernet frame carrying an IPv4 packet (20-byte header, TOS 0xc0).
pub fn frame_v4(
    mac: ([u8; 6], [u8; 6]),
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut ip = ipv4_header(src, dst, ttl, proto, payload.len());
    ip.extend_from_slice(payload);
    ether(mac, 0x0800, &ip)
}

/// A 20-byte IPv4 header with its checksum.
pub fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, proto: u8, len: usize) -> Vec<u8> {
    static ID: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let id = ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed) | 1;
    let mut h = vec![0x45, 0xc0];
    h.extend_from_slice(&((20 + len) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&[0, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let c = checksum(&[], &h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// An Ethernet frame carrying an IPv6 packet (traffic class 0xc0).
pub fn frame_v6(
    mac: ([u8; 6], [u8; 6]),
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hops: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x6c, 0, 0, 0];
    ip.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[112, hops]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    ip.extend_from_slice(payload);
    ether(mac, 0x86dd, &ip)
}

/// `mac` is (destination, source).
pub fn ether(mac: ([u8; 6], [u8; 6]), ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&mac.1);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An interface's MAC address, IPv4 address and IPv6 link-local address.
#[derive(Debug, Clone, Copy)]
pub struct Port {
    pub mac: [u8; 6],
    pub v4: Ipv4Addr,
    pub ll: Ipv6Addr,
}

impl Port {
    /// Reads them with `ip` (the link-local must be there, not tentative).
    pub fn of(ns: &Ns, ifname: &str) -> Port {
        let l = ns.ip(&["-o", "link", "show", "dev", ifname]);
        let mac = l
            .split("link/ether ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .expect("link/ether");
        let mut m = [0u8; 6];
        for (i, x) in mac.split(':').enumerate() {
            m[i] = u8::from_str_radix(x, 16).unwrap();
        }
        let a = ns.ip(&["-o", "-4", "addr", "show", "dev", ifname]);
        let v4 = word_after(&a, "inet ").unwrap_or(Ipv4Addr::UNSPECIFIED);
        let ok = wait_for(Duration::from_secs(5), || {
            let s = ns.ip(&["-o", "-6", "addr", "show", "dev", ifname, "scope", "link"]);
            s.contains("fe80::") && !s.contains("tentative")
        });
        assert!(ok.is_some(), "no link-local on {ifname}");
        let a = ns.ip(&["-o", "-6", "addr", "show", "dev", ifname, "scope", "link"]);
        Port {
            mac: m,
            v4,
            ll: word_after(&a, "inet6 ").expect("inet6"),
        }
    }
}

fn word_after<T: std::str::FromStr>(s: &str, key: &str) -> Option<T> {
    s.split(key).nth(1)?.split(['/', ' ']).next()?.parse().ok()
}

/// An `AF_PACKET` socket that sends whole frames on one interface of a
/// namespace.
pub struct Tx {
    fd: OwnedFd,
    ifindex: i32,
}

impl Tx {
    pub fn open(ns: &Ns, ifname: &str) -> Tx {
        let ifname = std::ffi::CString::new(ifname).unwrap();
        let (fd, ifindex) = crate::common::run_in(&ns.name, move || {
            // SAFETY: plain socket(2); the descriptor is owned below.
            let fd =
                unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
            assert!(fd >= 0, "AF_PACKET: {}", std::io::Error::last_os_error());
            // SAFETY: a NUL-terminated name.
            let ifindex = unsafe { libc::if_nametoindex(ifname.as_ptr()) } as i32;
            assert!(ifindex > 0, "no interface {ifname:?}");
            let sz: libc::c_int = 4 << 20;
            // SAFETY: setsockopt with an int of the size given.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_SNDBUF,
                    (&sz as *const libc::c_int).cast(),
                    4,
                )
            };
            (fd, ifindex)
        });
        // SAFETY: a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Tx { fd, ifindex }
    }

    /// Sends one frame; false if the kernel refused it.
    pub fn send(&self, frame: &[u8]) -> bool {
        // SAFETY: zeroed sockaddr_ll, then filled.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = self.ifindex;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        sll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        // SAFETY: frame and sll outlive the call.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        r == frame.len() as isize
    }
}

/// Packets dropped by the raw sockets of a namespace (the `drops` column
/// of `/proc/net/raw` and `/proc/net/raw6`).
pub fn raw_drops(ns: &Ns) -> u64 {
    let mut n = 0;
    for f in ["/proc/net/raw", "/proc/net/raw6"] {
        let t = run(&["ip", "netns", "exec", &ns.name, "cat", f]);
        for l in t.lines().skip(1) {
            n += l
                .split_whitespace()
                .last()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    n
}

/// The raw sockets of a namespace that dropped packets: `file local
/// remote drops` (addresses in `/proc/net/raw*`'s hex; the local port is
/// the IP protocol).
pub fn raw_drop_lines(ns: &Ns) -> Vec<String> {
    let mut out = Vec::new();
    for f in ["/proc/net/raw", "/proc/net/raw6"] {
        let t = run(&["ip", "netns", "exec", &ns.name, "cat", f]);
        for l in t.lines().skip(1) {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.last().and_then(|x| x.parse::<u64>().ok()).unwrap_or(0) > 0 {
                out.push(format!(
                    "{f} local {} remote {} drops {}",
                    w[1],
                    w[2],
                    w[w.len() - 1]
                ));
            }
        }
    }
    out
}

/// A veth pair `a` (in `na`) – `b` (in `nb`), both up.
pub fn veth(na: &Ns, a: &str, nb: &Ns, b: &str) {
    na.ip(&[
        "link", "add", a, "type", "veth", "peer", "name", b, "netns", &nb.name,
    ]);
    na.ip(&["link", "set", a, "up"]);
    nb.ip(&["link", "set", b, "up"]);
}

//! A snapshot of a namespace's kernel state, normalised so that two runs
//! of the same configuration compare equal unless a daemon did something
//! different. Only what is random is normalised: the link-local addresses
//! and MACs of the veths the harness created, ifindexes (and `@ifN` peer
//! indexes), lifetimes, nftables counters and handles.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::process::Command;

use super::run::{output, NetBox};

/// Section name → normalised lines.
pub type Snapshot = BTreeMap<String, Vec<String>>;

/// The IPv4 sysctls compared, for every interface and `all`/`default`
/// (and IPv6's `disable_ipv6`).
const SYSCTLS: &[&str] = &["arp_ignore", "arp_filter", "accept_local", "rp_filter"];

/// Takes a snapshot of `nb` (without the daemon's instance states).
pub fn take(nb: &NetBox) -> Snapshot {
    let ipn = |args: &[&str]| {
        let mut c = Command::new("ip");
        c.args(["-n", &nb.name]).args(args);
        output(&mut c)
    };
    let links_raw = ipn(&["-d", "-o", "link"]);
    let random = RandomIds::new(&links_raw, &nb.interfaces);
    let mut s = Snapshot::new();
    s.insert(
        "link".into(),
        sorted(links_raw.lines().map(|l| link(l, &random))),
    );
    let addr = ipn(&["-o", "addr"]);
    s.insert(
        "addr".into(),
        sorted(addr.lines().map(|l| random.line(l, true))),
    );
    for (name, args) in [
        ("route", &["-4", "route", "show", "table", "all"][..]),
        ("route6", &["-6", "route", "show", "table", "all"][..]),
        ("rule", &["rule"][..]),
        ("rule6", &["-6", "rule"][..]),
    ] {
        let out = ipn(args);
        s.insert(
            name.into(),
            sorted(out.lines().map(|l| random.line(l, false))),
        );
    }
    let mut script = String::from("cd /proc/sys/net/ipv4/conf && grep -H .");
    for k in SYSCTLS {
        script.push_str(&format!(" */{k}"));
    }
    let sysctl = output(Command::new("ip").args(["netns", "exec", &nb.name, "sh", "-c", &script]));
    s.insert("sysctl".into(), sorted(sysctl.lines().map(str::to_string)));
    let six = "cd /proc/sys/net/ipv6/conf && grep -H . */disable_ipv6";
    let six = output(Command::new("ip").args(["netns", "exec", &nb.name, "sh", "-c", six]));
    s.insert("sysctl6".into(), sorted(six.lines().map(str::to_string)));
    let nft =
        output(Command::new("ip").args(["netns", "exec", &nb.name, "nft", "list", "ruleset"]));
    s.insert(
        "nft".into(),
        nft.lines()
            .map(nft_line)
            .filter(|l| !l.is_empty())
            .collect(),
    );
    s
}

fn sorted(lines: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = lines.filter(|l| !l.trim().is_empty()).collect();
    set.into_iter().collect()
}

/// The random identifiers of the harness's own veths: MACs and the
/// link-local addresses the kernel derives from them (EUI-64).
struct RandomIds {
    /// MAC → `<mac IF>`.
    macs: BTreeMap<String, String>,
    /// Link-local → `fe80::<IF>`.
    lls: BTreeMap<Ipv6Addr, String>,
}

impl RandomIds {
    fn new(links: &str, created: &[String]) -> RandomIds {
        let mut r = RandomIds {
            macs: BTreeMap::new(),
            lls: BTreeMap::new(),
        };
        for l in links.lines() {
            let name = link_name(l);
            if !created.contains(&name) {
                continue;
            }
            let w: Vec<&str> = l.split_whitespace().collect();
            let Some(mac) = w
                .windows(2)
                .find(|p| p[0] == "link/ether")
                .map(|p| p[1].to_string())
            else {
                continue;
            };
            if let Some(ll) = eui64_link_local(&mac) {
                r.lls.insert(ll, format!("fe80::<{name}>"));
            }
            r.macs.insert(mac, format!("<mac {name}>"));
        }
        r
    }

    /// Normalises one line of `ip` output: ifindex prefix (`-o` output),
    /// random MACs and link-locals, lifetimes.
    fn line(&self, l: &str, indexed: bool) -> String {
        let l = l.replace('\\', " ");
        let mut words: Vec<&str> = l.split_whitespace().collect();
        if indexed && words.first().is_some_and(|w| w.ends_with(':')) {
            words.remove(0);
        }
        let mut out: Vec<String> = Vec::with_capacity(words.len());
        for w in words {
            out.push(self.word(w));
        }
        out.join(" ")
    }

    fn word(&self, w: &str) -> String {
        if let Some(m) = self.macs.get(w) {
            return m.clone();
        }
        let (addr, len) = w.split_once('/').unwrap_or((w, ""));
        if let Ok(a) = addr.parse::<Ipv6Addr>() {
            if let Some(n) = self.lls.get(&a) {
                return if len.is_empty() {
                    n.clone()
                } else {
                    format!("{n}/{len}")
                };
            }
        }
        if w.len() > 3 && w.ends_with("sec") && w[..w.len() - 3].bytes().all(|b| b.is_ascii_digit())
        {
            return "Nsec".into();
        }
        w.to_string()
    }
}

/// The name in a line of `ip -o link` (`2: eth0@if3: <...`).
fn link_name(l: &str) -> String {
    let n = l.split_whitespace().nth(1).unwrap_or("");
    let n = n.trim_end_matches(':');
    n.split('@').next().unwrap_or(n).to_string()
}

/// A link without its ifindex, its veth peer's index, the peer's
/// namespace and the queue/offload figures (fixed by the kernel, not by
/// the daemon).
fn link(l: &str, random: &RandomIds) -> String {
    let mut words: Vec<String> = random
        .line(l, true)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if let Some(first) = words.first_mut() {
        if let Some((name, parent)) = first.split_once('@') {
            if parent.starts_with("if")
                && parent[2..]
                    .trim_end_matches(':')
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                *first = format!("{name}:");
            }
        }
    }
    let mut out = Vec::with_capacity(words.len());
    let mut skip = 0;
    for w in &words {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if matches!(
            w.as_str(),
            "link-netns"
                | "link-netnsid"
                | "numtxqueues"
                | "numrxqueues"
                | "gso_max_size"
                | "gso_max_segs"
                | "tso_max_size"
                | "tso_max_segs"
                | "gro_max_size"
                | "gso_ipv4_max_size"
                | "gro_ipv4_max_size"
                | "parentbus"
                | "parentdev"
                | "usedbcqueuelen"
        ) {
            skip = 1;
            continue;
        }
        out.push(w.as_str());
    }
    out.join(" ")
}

/// The EUI-64 link-local address of a MAC.
fn eui64_link_local(mac: &str) -> Option<Ipv6Addr> {
    let b: Vec<u8> = mac
        .split(':')
        .map(|x| u8::from_str_radix(x, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    if b.len() != 6 {
        return None;
    }
    let seg = |hi: u8, lo: u8| (u16::from(hi) << 8) | u16::from(lo);
    Some(Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        seg(b[0] ^ 0x02, b[1]),
        seg(b[2], 0xff),
        seg(0xfe, b[3]),
        seg(b[4], b[5]),
    ))
}

/// An `nft list ruleset` line without counters and handles.
fn nft_line(l: &str) -> String {
    let words: Vec<&str> = l.split_whitespace().collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "packets" | "bytes" | "handle" if i + 1 < words.len() => {
                out.push(words[i]);
                out.push("N");
                i += 2;
            }
            w => {
                out.push(w);
                i += 1;
            }
        }
    }
    out.join(" ")
}

/// The last state each instance entered according to a log: `(NAME)
/// Entering X STATE`, and keepalived's start-up form `(NAME) entering
/// FAULT state (why)` (also `(NAME): entering ...`).
pub fn states(log: &str) -> Vec<String> {
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for l in log.lines() {
        let Some(pos) = l
            .find(") Entering ")
            .or_else(|| l.find(") entering "))
            .or_else(|| l.find("): entering "))
        else {
            continue;
        };
        let Some(open) = l[..pos].rfind('(') else {
            continue;
        };
        let name = &l[open + 1..pos];
        let rest = &l[pos..];
        let rest = &rest[rest.find("ntering ").unwrap() + "ntering ".len()..];
        let Some(end) = rest.find(" STATE").or_else(|| rest.find(" state")) else {
            continue;
        };
        // VRRP states only (a BFD session also "enters" Up/Down/AdminDown).
        let state = &rest[..end];
        if matches!(state, "MASTER" | "BACKUP" | "FAULT") {
            last.insert(name.to_string(), state.to_string());
        }
    }
    last.into_iter().map(|(n, s)| format!("{n} {s}")).collect()
}

/// The sections of `a` and `b` that differ: name → (only in a, only in b).
pub fn diff(a: &Snapshot, b: &Snapshot) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let empty = Vec::new();
    for n in names {
        let (x, y) = (a.get(n).unwrap_or(&empty), b.get(n).unwrap_or(&empty));
        if x == y {
            continue;
        }
        let only_a: Vec<String> = x.iter().filter(|l| !y.contains(l)).cloned().collect();
        let only_b: Vec<String> = y.iter().filter(|l| !x.contains(l)).cloned().collect();
        out.push((n.clone(), only_a, only_b));
    }
    out
}

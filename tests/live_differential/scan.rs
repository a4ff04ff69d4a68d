//! What the live differential needs to know about a configuration before
//! running it: the interfaces it names (to create them), whether it has
//! VRRP instances, whether it switches network namespace, how long its
//! instances take to settle, and which VRRP features it uses (to choose
//! the default sample).
//!
//! The configuration is read with the crate's own preprocessor
//! (`keepalived_rs::config::reader`: includes, `@id` lines, `$NAME`
//! definitions, `~SEQ`), so `interface $IF` and friends are seen expanded;
//! the statements are then walked with a stack of block names.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use keepalived_rs::config::reader::{Reader, ReaderOptions};

/// At most this many interfaces are created for one configuration.
const MAX_INTERFACES: usize = 48;

/// The facts read from one configuration.
#[derive(Debug, Default, Clone)]
pub struct Scan {
    /// Interfaces to create (veth, in the order first named).
    pub interfaces: Vec<String>,
    /// Source addresses the instances name (`unicast_src_ip`,
    /// `mcast_src_ip`) with the interface to put them on (the instance's,
    /// else the first one): a host running such a configuration has them.
    pub sources: Vec<(String, String)>,
    /// At least one `vrrp_instance`.
    pub vrrp: bool,
    /// `net_namespace` or `instance` is set: the daemons would leave the
    /// test's namespace (or use shared paths), so the config is not run.
    pub leaves_namespace: bool,
    /// Time from start until every instance has settled.
    pub settle: Duration,
    /// VRRP features used (for the sample's coverage check).
    pub features: BTreeSet<&'static str>,
}

/// Statement keywords whose first argument names an interface.
const IF_ARG: &[&str] = &[
    "interface",
    "lvs_sync_daemon_interface",
    "lvs_sync_daemon",
    "vrf",
];

/// Blocks whose lines each start with an interface name.
const IF_BLOCKS: &[&str] = &[
    "track_interface",
    "linkbeat_interfaces",
    "interfaces",
    "interface_up_down_delays",
];

/// Words inside address, route and rule lines followed by an interface.
const IF_WORDS: &[&str] = &["dev", "oif", "iif", "oifname", "iifname"];

/// Keywords (anywhere) that mark a feature, with the feature's name.
const FEATURES: &[(&str, &str)] = &[
    ("unicast_peer", "unicast"),
    ("use_vmac", "vmac"),
    ("use_ipvlan", "ipvlan"),
    ("vmac_xmit_base", "vmac_xmit_base"),
    ("vrrp_sync_group", "sync_group"),
    ("vrrp_script", "vrrp_script"),
    ("track_script", "track_script"),
    ("track_interface", "track_interface"),
    ("track_file", "track_file"),
    ("vrrp_track_file", "track_file"),
    ("track_process", "track_process"),
    ("vrrp_track_process", "track_process"),
    ("track_bfd", "track_bfd"),
    ("bfd_instance", "bfd"),
    ("virtual_routes", "virtual_routes"),
    ("virtual_rules", "virtual_rules"),
    ("static_ipaddress", "static_ipaddress"),
    ("static_routes", "static_routes"),
    ("static_rules", "static_rules"),
    ("virtual_ipaddress_excluded", "vip_excluded"),
    ("nopreempt", "nopreempt"),
    ("preempt_delay", "preempt_delay"),
    ("vrrp_strict", "strict"),
    ("strict_mode", "strict"),
    ("no_accept", "no_accept"),
    ("accept", "accept"),
    ("notify", "notify"),
    ("notify_master", "notify"),
    ("notify_backup", "notify"),
    ("notify_fault", "notify"),
    ("notify_stop", "notify"),
    ("vrrp_notify_fifo", "notify_fifo"),
    ("notify_fifo", "notify_fifo"),
    ("garp_group", "garp_group"),
    ("mcast_src_ip", "mcast_src_ip"),
    ("unicast_src_ip", "unicast"),
    ("dont_track_primary", "dont_track_primary"),
    ("lvs_sync_daemon", "lvs_sync_daemon"),
    ("lvs_sync_daemon_interface", "lvs_sync_daemon"),
    ("smtp_alert", "smtp_alert"),
    ("dynamic_interfaces", "dynamic_interfaces"),
    ("vrrp_ipsets", "ipsets"),
    ("nftables", "nftables"),
    ("iptables", "iptables"),
    ("track_group", "track_group"),
    ("kernel_rx_buf_size", "kernel_rx_buf_size"),
];

/// Reads `path` with the crate's preprocessor and collects the facts.
pub fn scan(path: &Path, max_settle: Duration) -> Scan {
    let mut reader = Reader::open(path, ReaderOptions::default());
    let mut s = Scan::default();
    let mut stack: Vec<String> = Vec::new();
    let mut last = String::new();
    let mut vmacs: BTreeSet<String> = BTreeSet::new();
    let mut advert = 1.0f64;
    let mut delay = 0.0f64;
    let mut script = Script::default();
    let mut script_time = 0.0f64;
    let mut v3 = false;
    // The current instance's interface and source addresses.
    let mut inst_if: Option<String> = None;
    let mut inst_src: Vec<String> = Vec::new();
    while let Some(line) = reader.next_line() {
        let words: Vec<String> = line
            .text
            .split_whitespace()
            .map(|w| w.trim_matches('"').to_string())
            .collect();
        let Some(first) = words.first().map(String::as_str) else {
            continue;
        };
        match first {
            "{" => {
                stack.push(std::mem::take(&mut last));
                continue;
            }
            "}" => {
                match stack.pop().as_deref() {
                    Some("vrrp_script") => {
                        script_time = script_time.max(script.time());
                        script = Script::default();
                    }
                    Some("vrrp_instance") => {
                        for a in inst_src.drain(..) {
                            s.sources.push((inst_if.clone().unwrap_or_default(), a));
                        }
                        inst_if = None;
                    }
                    _ => {}
                }
                continue;
            }
            _ => {}
        }
        let block = stack.last().map(String::as_str).unwrap_or("");
        let arg = words.get(1).map(String::as_str);
        let num = arg.and_then(|a| a.parse::<f64>().ok());
        if stack.is_empty() && first == "vrrp_instance" {
            s.vrrp = true;
        }
        if (stack.is_empty() || block == "global_defs")
            && matches!(first, "net_namespace" | "instance" | "net_namespace_ipvs")
        {
            s.leaves_namespace = true;
        }
        if IF_BLOCKS.contains(&block) {
            s.add(first);
        }
        if IF_ARG.contains(&first) {
            if let Some(a) = arg {
                s.add(a);
            }
        }
        for pair in words.windows(2) {
            if IF_WORDS.contains(&pair[0].as_str()) {
                s.add(&pair[1]);
            }
        }
        for (kw, feature) in FEATURES {
            if first == *kw {
                s.features.insert(feature);
            }
        }
        match (block, first) {
            (_, "use_vmac") => {
                vmacs.insert(arg.unwrap_or("").to_string());
            }
            ("vrrp_instance", "interface") => inst_if = arg.map(str::to_string),
            ("vrrp_instance", "unicast_src_ip" | "mcast_src_ip") => {
                inst_src.extend(arg.map(str::to_string));
            }
            ("vrrp_instance", "advert_int") => advert = advert.max(num.unwrap_or(1.0)),
            ("vrrp_instance", "version") | ("global_defs", "vrrp_version") => {
                v3 |= arg == Some("3");
            }
            ("vrrp_instance", "authentication") => {}
            ("authentication", "auth_type") => {
                s.features
                    .insert(if arg == Some("AH") { "ah" } else { "pass" });
            }
            ("global_defs", "vrrp_startup_delay") => delay = num.unwrap_or(0.0),
            ("vrrp_script", "interval") => script.interval = num.unwrap_or(1.0),
            ("vrrp_script", "rise") => script.rise = num.unwrap_or(1.0),
            ("vrrp_script", "fall") => script.fall = num.unwrap_or(1.0),
            ("virtual_ipaddress", a) if a.contains(':') => {
                s.features.insert("ipv6");
            }
            _ => {}
        }
        last = first.to_string();
    }
    if v3 {
        s.features.insert("v3");
    }
    s.interfaces.retain(|i| !vmacs.contains(i));
    s.place_sources();
    // Master_Down_Interval is below 4 advert intervals; a failing script
    // needs `fall` (or `rise`) runs; one second more for start-up.
    let secs = 4.0 * advert + delay + script_time + 1.5;
    s.settle = Duration::from_secs_f64(secs).min(max_settle);
    s
}

/// A `vrrp_script`'s timing.
struct Script {
    interval: f64,
    rise: f64,
    fall: f64,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            interval: 1.0,
            rise: 1.0,
            fall: 1.0,
        }
    }
}

impl Script {
    fn time(&self) -> f64 {
        self.interval * (self.rise.max(self.fall) + 1.0)
    }
}

impl Scan {
    /// Puts each source address on its instance's interface, or on the
    /// first one when that interface is not created.
    fn place_sources(&mut self) {
        let first = self.interfaces.first().cloned().unwrap_or_default();
        for (i, _) in &mut self.sources {
            if !self.interfaces.contains(i) {
                i.clone_from(&first);
            }
        }
        self.sources
            .retain(|(i, a)| !i.is_empty() && a.parse::<std::net::IpAddr>().is_ok());
        self.sources.sort();
        self.sources.dedup();
    }

    /// Adds an interface name if it is one we can and should create.
    fn add(&mut self, name: &str) {
        if valid_ifname(name)
            && !self.interfaces.iter().any(|i| i == name)
            && self.interfaces.len() < MAX_INTERFACES
        {
            self.interfaces.push(name.to_string());
        }
    }
}

/// Whether `name` is a valid Linux interface name we may create
/// (not `lo`, not a VMAC keepalived would create itself).
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && !matches!(name, "." | ".." | "lo" | "all" | "default" | "{" | "}")
        && !name.starts_with("vrrp.")
        && !name.starts_with("vrrp6.")
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b':' | b'$' | b'"' | b'\''))
}

//! The `------< Global definitions >------` section every dump starts
//! with, line for line as keepalived 2.2.7 prints it from `global_defs`
//! (VM and host captures): the parent and the checker print the same
//! lines, the VRRP process adds its default interface and resolves the
//! lower priority GARP settings, and each process shows the notify FIFO
//! scripts it opened with the FIFO's path appended (as it runs them).
//!
//! Left out (documented where they would be): `VRRP/Checker/BFD CPU
//! Affinity` (keepalived 2.2.7 prints a mask we cannot reproduce: `0`
//! gives a lone space), the `ipvs nftables ...` lines (we keep the table
//! name only), `nft version` (keepalived asks the nft binary), and the
//! reload-scheduling lines of later keepalived versions.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::global::{Fifo, GlobalDefs, ProcessSched};
use crate::notify::exec::RunAs;
use crate::vrrp::instance::GarpConfig;

use super::quote_command;

/// keepalived's `PARAMETER_UNSET`, printed for unset lower priority GARP
/// settings outside the VRRP process.
const UNSET: u64 = u32::MAX as u64;

/// The libnftnl version keepalived 2.2.7 (Debian's build) prints: a
/// compile-time constant of that build, not a property of this host.
const LIBNFTNL_VERSION: &str = "1.2.3";

/// Which process writes the dump: the global section differs a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// `keepalived_parent.data`.
    Parent,
    /// `keepalived.data`.
    Vrrp,
    /// `keepalived_check.data`.
    Checker,
}

/// Global settings as the dumps show them: the configured `global_defs`
/// and the few facts keepalived resolves from the system.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalInfo {
    /// `global_defs` as configured.
    pub defs: GlobalDefs,
    /// keepalived's local name (canonical host name); `None` when it does
    /// not resolve (or was not needed): `[unknown]`.
    pub local_name: Option<String>,
    /// Our login name (default `notification_email_from` user).
    pub user_name: Option<String>,
    /// Who scripts run as by default.
    pub script_user: RunAs,
}

impl GlobalInfo {
    /// From the parsed `global_defs`, resolving the local name only when
    /// keepalived does (no `router_id`, or an SMTP server without HELO
    /// name or sender).
    pub fn from_config(g: &GlobalDefs) -> GlobalInfo {
        GlobalInfo {
            defs: g.clone(),
            local_name: needs_local_name(g).then(crate::sys::local_name).flatten(),
            user_name: crate::sys::user_name(),
            script_user: RunAs::from_global(g),
        }
    }

    /// Resolves the local name in the background when `g` needs it, as
    /// keepalived does at start: a dump that an exporter reads 10 ms after
    /// the signal must not wait for the resolver.
    pub fn prepare(g: &GlobalDefs) {
        if needs_local_name(g) {
            let _ = std::thread::Builder::new()
                .name("local-name".into())
                .spawn(crate::sys::local_name);
        }
    }

    /// `router_id`, else the local name, else `[unknown]`.
    pub fn router_id(&self) -> String {
        self.defs
            .router_id
            .clone()
            .or_else(|| self.local_name.clone())
            .unwrap_or_else(|| "[unknown]".into())
    }

    /// The GARP settings with keepalived's defaults; the lower priority
    /// ones default to the master ones (what the VRRP process shows).
    pub fn garp(&self) -> GarpConfig {
        let g = &self.defs;
        let d = GarpConfig::default();
        let delay = g.garp.master_delay.unwrap_or(d.master_delay);
        let repeat = g.garp.master_repeat.unwrap_or(d.master_repeat);
        GarpConfig {
            master_delay: delay,
            master_repeat: repeat,
            master_refresh: g.garp.master_refresh.unwrap_or(d.master_refresh),
            master_refresh_repeat: g
                .garp
                .master_refresh_repeat
                .unwrap_or(d.master_refresh_repeat),
            lower_prio_delay: g.garp.lower_prio_delay.unwrap_or(delay),
            lower_prio_repeat: g.garp.lower_prio_repeat.unwrap_or(repeat),
            interval: g.garp_interval.unwrap_or_default(),
        }
    }
}

/// keepalived needs its local name without a `router_id`, or with an
/// SMTP server but no HELO name or sender.
fn needs_local_name(g: &GlobalDefs) -> bool {
    g.router_id.is_none()
        || (g.smtp_server.is_some()
            && (g.smtp_helo_name.is_none() || g.notification_email_from.is_none()))
}

pub(super) fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub(super) fn yes(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn on_off(v: Option<bool>) -> &'static str {
    match v {
        None => "unset",
        Some(true) => "on",
        Some(false) => "off",
    }
}

/// A FIFO's `uid:gid`: its configured owner, else ours.
fn fifo_owner(f: &Fifo) -> RunAs {
    let (user, group) = f
        .path
        .as_ref()
        .map_or((None, None), |p| (p.1.as_deref(), p.2.as_deref()));
    RunAs::resolve(user, group, RunAs::current()).unwrap_or_else(|_| RunAs::current())
}

/// `NAME notify fifo = PATH, uid:gid U:G` and its script line; the script
/// shows the FIFO path as its last argument in the processes that run it.
fn fifo_lines(s: &mut String, what: &str, f: &Fifo, opened: bool, default: RunAs) {
    let Some((path, _, _)) = &f.path else {
        return;
    };
    let o = fifo_owner(f);
    let _ = writeln!(
        s,
        " {what} notify fifo = {path}, uid:gid {}:{}",
        o.uid, o.gid
    );
    if let Some(sc) = &f.script {
        let mut argv = sc.argv.clone();
        if opened {
            argv.push(path.clone());
        }
        let r = RunAs::resolve(sc.user.as_deref(), sc.group.as_deref(), default).unwrap_or(default);
        let _ = writeln!(
            s,
            " {what} notify fifo script = {}, uid:gid {}:{}",
            quote_command(&argv),
            r.uid,
            r.gid
        );
    }
}

fn sched_lines(s: &mut String, what: &str, p: &ProcessSched) {
    let _ = writeln!(s, " {what} process priority = {}", p.nice.unwrap_or(0));
    let _ = writeln!(s, " {what} don't swap = {}", yes(p.no_swap));
    let _ = writeln!(
        s,
        " {what} realtime priority = {}",
        p.rt_priority.unwrap_or(0)
    );
    let _ = writeln!(
        s,
        " {what} realtime limit = {}",
        p.rlimit_rttime.unwrap_or(10_000)
    );
}

/// `inet_sockaddrtos` of a configured SMTP server: an address as the
/// kernel prints it, a name as given.
fn smtp_host(h: &str) -> String {
    h.parse::<IpAddr>()
        .map_or_else(|_| h.to_string(), |a| a.to_string())
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// The `------< Global definitions >------` section as `process` prints it.
pub fn global_section(info: &GlobalInfo, process: Process) -> String {
    let g = &info.defs;
    let mut s = String::from("------< Global definitions >------\n");
    let ns = g.net_namespace.as_deref().unwrap_or("(default)");
    let _ = writeln!(s, " Network namespace = {ns}");
    let ipvs_ns = g
        .net_namespace_ipvs
        .as_deref()
        .unwrap_or("(main namespace)");
    let _ = writeln!(s, " Network namespace ipvs = {ipvs_ns}");
    if let Some(i) = &g.instance {
        let _ = writeln!(s, " Instance name = {i}");
    }
    if let Some(n) = &g.process_name {
        let _ = writeln!(s, " Parent process name = {n}");
    }
    for (what, sched, default) in [
        ("VRRP", &g.vrrp_sched, "keepalived_vrrp"),
        ("LVS", &g.checker_sched, "keepalived_lvs"),
        ("BFD", &g.bfd_sched, "keepalived_bfd"),
    ] {
        let name = sched
            .process_name
            .clone()
            .or_else(|| g.process_names.then(|| default.to_string()));
        if let Some(n) = name {
            let _ = writeln!(s, " {what} process name = {n}");
        }
    }
    let _ = writeln!(s, " Router ID = {}", info.router_id());
    // keepalived derives the HELO name and sender from the local name
    // only when it resolved.
    let local = info.local_name.as_deref();
    if let Some((host, port)) = &g.smtp_server {
        let _ = writeln!(s, " Smtp server = {}", smtp_host(host));
        let _ = writeln!(s, " Smtp server port = {port}");
    }
    let smtp = g.smtp_server.is_some();
    let helo = g
        .smtp_helo_name
        .clone()
        .or_else(|| local.filter(|_| smtp).map(str::to_string));
    if let Some(h) = helo {
        let _ = writeln!(s, " Smtp HELO name = {h}");
    }
    let timeout = g
        .smtp_connect_timeout
        .or(smtp.then_some(Duration::from_secs(30)));
    if let Some(t) = timeout {
        let _ = writeln!(s, " Smtp server connection timeout = {}", secs(t));
    }
    let from = g.notification_email_from.clone().or_else(|| {
        let (l, u) = (local.filter(|_| smtp)?, info.user_name.as_deref()?);
        Some(format!("{u}@{l}"))
    });
    if let Some(f) = from {
        let _ = writeln!(s, " Email notification from = {f}");
        s.push_str(" Email notification to:\n");
        for e in &g.notification_email {
            let _ = writeln!(s, "   {e}");
        }
    }
    let _ = writeln!(s, " Default smtp_alert = {}", on_off(g.smtp_alert));
    let _ = writeln!(
        s,
        " Default smtp_alert_vrrp = {}",
        on_off(g.smtp_alert_vrrp)
    );
    let _ = writeln!(
        s,
        " Default smtp_alert_checker = {}",
        on_off(g.smtp_alert_checker)
    );
    let _ = writeln!(
        s,
        " Checkers log all failures = {}",
        yes(g.checker_log_all_failures)
    );
    match &g.reload_check_config {
        Some(log) => {
            let _ = writeln!(
                s,
                " Test config before reload, log to {}",
                log.as_deref().unwrap_or("")
            );
        }
        None => s.push_str(" No test config before reload\n"),
    }
    if let Some(d) = &g.tmp_config_directory {
        let _ = writeln!(s, " config save directory = {d}");
    }
    if g.data_use_instance == Some(true) {
        s.push_str(" Use instance name in data dumps\n");
    }
    if process == Process::Parent {
        // Only the parent runs them.
        let t = |d: Option<Duration>| d.map_or(10, |d| d.as_secs());
        if let Some(sc) = &g.startup_script {
            let r = script_user(info, sc);
            let _ = writeln!(
                s,
                " Startup script = {}, uid:gid {}:{}, timeout {}",
                quote_command(&sc.argv),
                r.uid,
                r.gid,
                t(g.startup_script_timeout)
            );
        }
        if let Some(sc) = &g.shutdown_script {
            let r = script_user(info, sc);
            let _ = writeln!(
                s,
                " Shutdown script = {}, uid:gid {}:{} timeout {}",
                quote_command(&sc.argv),
                r.uid,
                r.gid,
                t(g.shutdown_script_timeout)
            );
        }
    }
    let _ = writeln!(
        s,
        " Dynamic interfaces = {}",
        yes(g.dynamic_interfaces.is_some())
    );
    if let Some(allow) = g.dynamic_interfaces {
        let _ = writeln!(s, " Allow interface changes = {}", yes(allow));
    }
    if g.no_email_faults {
        s.push_str(" Send emails for fault transitions = off\n");
    }
    let t = &g.lvs_timeouts;
    if let Some(v) = t.tcp {
        let _ = writeln!(s, " LVS TCP timeout = {}", secs(v));
    }
    if let Some(v) = t.tcpfin {
        let _ = writeln!(s, " LVS TCP FIN timeout = {}", secs(v));
    }
    if let Some(v) = t.udp {
        // keepalived 2.2.7 labels the UDP timeout "TCP" too.
        let _ = writeln!(s, " LVS TCP timeout = {}", secs(v));
    }
    if process == Process::Vrrp {
        // Only the VRRP process resolves the default interface.
        let d = g.default_interface.as_deref().unwrap_or("eth0");
        let _ = writeln!(s, " Default interface = {d}");
    }
    let _ = writeln!(s, " Disable local IGMP = {}", yes_no(g.disable_local_igmp));
    if let Some(sd) = &g.lvs_sync_daemon {
        // The VRRP process has the instance itself; the others only its
        // name, and no VRID to default the sync id to (keepalived's
        // PARAMETER_UNSET).
        let vrrp = process == Process::Vrrp;
        if let Some(i) = &sd.instance {
            let what = if vrrp { "instance" } else { "name" };
            let _ = writeln!(s, " LVS syncd vrrp {what} = {i}");
        }
        let _ = writeln!(s, " LVS syncd interface = {}", sd.interface);
        let id = sd.syncid.map_or(UNSET, u64::from);
        let _ = writeln!(s, " LVS syncd syncid = {id}");
        if let Some(m) = sd.maxlen {
            let _ = writeln!(s, " LVS syncd maxlen = {m}");
        }
        if let Some(gr) = sd.group {
            let _ = writeln!(s, " LVS mcast group {gr}");
        }
        if let Some(p) = sd.port {
            let _ = writeln!(s, " LVS syncd mcast port = {p}");
        }
        if let Some(ttl) = sd.ttl {
            let _ = writeln!(s, " LVS syncd mcast ttl = {ttl}");
        }
    }
    let _ = writeln!(s, " LVS flush = {}", yes(g.lvs_flush));
    let flush_on_stop = match g.lvs_flush_on_stop {
        None => "disabled",
        Some(true) => "full",
        Some(false) => "VS",
    };
    let _ = writeln!(s, " LVS flush on stop = {flush_on_stop}");
    let default = info.script_user;
    fifo_lines(
        &mut s,
        "Global",
        &g.notify_fifo,
        process != Process::Parent,
        default,
    );
    fifo_lines(
        &mut s,
        "VRRP",
        &g.vrrp_notify_fifo,
        process == Process::Vrrp,
        default,
    );
    fifo_lines(
        &mut s,
        "LVS",
        &g.lvs_notify_fifo,
        process == Process::Checker,
        default,
    );
    let _ = writeln!(
        s,
        " FIFO write vrrp states on reload = {}",
        yes(g.fifo_write_vrrp_states_on_reload)
    );
    let _ = writeln!(
        s,
        " VRRP notify priority changes = {}",
        yes(g.vrrp_notify_priority_changes.unwrap_or(false))
    );
    let m4 = g.mcast_group4.unwrap_or(IpAddr::from([224, 0, 0, 18]));
    let m6 = g
        .mcast_group6
        .unwrap_or(IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]));
    let _ = writeln!(s, " VRRP IPv4 mcast group = {m4}");
    let _ = writeln!(s, " VRRP IPv6 mcast group = {m6}");
    let gp = info.garp();
    let _ = writeln!(s, " Gratuitous ARP delay = {}", gp.master_delay.as_secs());
    let _ = writeln!(s, " Gratuitous ARP repeat = {}", gp.master_repeat);
    let _ = writeln!(
        s,
        " Gratuitous ARP refresh timer = {}",
        gp.master_refresh.as_secs()
    );
    let _ = writeln!(
        s,
        " Gratuitous ARP refresh repeat = {}",
        gp.master_refresh_repeat
    );
    // Outside the VRRP process unset ones stay keepalived's "unset".
    let resolved = process == Process::Vrrp;
    let lpd = match g.garp.lower_prio_delay {
        Some(d) => d.as_secs(),
        None if resolved => gp.lower_prio_delay.as_secs(),
        None => UNSET,
    };
    let lpr = match g.garp.lower_prio_repeat {
        Some(r) => u64::from(r),
        None if resolved => u64::from(gp.lower_prio_repeat),
        None => UNSET,
    };
    let _ = writeln!(s, " Gratuitous ARP lower priority delay = {lpd}");
    let _ = writeln!(s, " Gratuitous ARP lower priority repeat = {lpr}");
    let _ = writeln!(
        s,
        " Num adverts before down = {}",
        g.down_timer_adverts.map_or(3, u32::from)
    );
    let (all, every) = g.garp.extra_if.unwrap_or((false, Duration::ZERO));
    let _ = writeln!(
        s,
        " Gratuitous ARP for each secondary {} = {}s",
        if all { "i/f" } else { "VMAC" },
        every.as_secs()
    );
    let _ = writeln!(
        s,
        " Send advert after receive lower priority advert = {}",
        yes(!g.lower_prio_no_advert.unwrap_or(false))
    );
    let _ = writeln!(
        s,
        " Send advert after receive higher priority advert = {}",
        yes(g.higher_prio_send_advert.unwrap_or(false))
    );
    let _ = writeln!(
        s,
        " Gratuitous ARP interval = {:.6}",
        gp.interval.as_secs_f64()
    );
    let _ = writeln!(
        s,
        " Gratuitous NA interval = {:.6}",
        g.gna_interval.unwrap_or_default().as_secs_f64()
    );
    let _ = writeln!(
        s,
        " VRRP default protocol version = {}",
        g.vrrp_version.unwrap_or(2)
    );
    if let Some(t) = &g.nftables {
        let _ = writeln!(s, " nftables table name = {t}");
        let _ = writeln!(
            s,
            " nftables base chain priority = {}",
            g.nftables_priority.unwrap_or(-1)
        );
        let _ = writeln!(
            s,
            " nftables {}force use ifindex for link local IPv6",
            if g.nftables_ifindex { "" } else { "don't " }
        );
    }
    let _ = writeln!(
        s,
        " nftables with{} counters",
        if g.nftables_counters { "" } else { "out" }
    );
    let _ = writeln!(s, " libnftnl version {LIBNFTNL_VERSION}");
    let _ = writeln!(s, " VRRP check unicast_src = {}", yes(g.check_unicast_src));
    let _ = writeln!(
        s,
        " VRRP skip check advert addresses = {}",
        yes(g.skip_check_adv_addr)
    );
    let _ = writeln!(s, " VRRP strict mode = {}", yes(g.vrrp_strict));
    match g.max_auto_priority {
        Some(-1) => s.push_str(" Max auto priority = Disabled\n"),
        p => {
            let _ = writeln!(s, " Max auto priority = {}", p.unwrap_or(0));
        }
    }
    let _ = writeln!(
        s,
        " Min auto priority delay = {} usecs",
        g.min_auto_priority_delay.unwrap_or(1_000_000)
    );
    sched_lines(&mut s, "VRRP", &g.vrrp_sched);
    sched_lines(&mut s, "Checker", &g.checker_sched);
    sched_lines(&mut s, "BFD", &g.bfd_sched);
    let snmp = |names: &[&str]| {
        if g.snmp.iter().any(|k| names.contains(&k.as_str())) {
            "enabled"
        } else {
            "disabled"
        }
    };
    let _ = writeln!(
        s,
        " SNMP vrrp {}",
        snmp(&["enable_snmp_vrrp", "enable_snmp_keepalived"])
    );
    let _ = writeln!(s, " SNMP checker {}", snmp(&["enable_snmp_checker"]));
    let _ = writeln!(
        s,
        " SNMP RFCv2 {}",
        snmp(&["enable_snmp_rfc", "enable_snmp_rfcv2"])
    );
    let _ = writeln!(
        s,
        " SNMP RFCv3 {}",
        snmp(&["enable_snmp_rfc", "enable_snmp_rfcv3"])
    );
    let _ = writeln!(s, " SNMP traps {}", snmp(&["enable_traps"]));
    let _ = writeln!(
        s,
        " SNMP socket = {}",
        g.snmp_socket
            .as_deref()
            .unwrap_or("default (unix:/var/agentx/master)")
    );
    let _ = writeln!(s, " DBus {}", if g.dbus { "enabled" } else { "disabled" });
    let _ = writeln!(
        s,
        " DBus service name = {}",
        g.dbus_service_name.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        s,
        " Script security {}",
        if g.script_security {
            "enabled"
        } else {
            "disabled"
        }
    );
    let _ = writeln!(s, " Default script uid:gid {}:{}", default.uid, default.gid);
    let buf = |name: &str| {
        g.netlink_bufs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, v)| *v)
    };
    for name in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        let _ = writeln!(s, " {name} = {}", buf(name));
        let _ = writeln!(s, " {name}_force = {}", buf(&format!("{name}_force")));
    }
    let _ = writeln!(s, " rs_init_notifies = {}", u8::from(g.rs_init_notifies));
    let _ = writeln!(s, " no_checker_emails = {}", u8::from(g.no_checker_emails));
    if let Some(p) = &g.rx_bufs_policy {
        if p.split_whitespace().any(|w| w == "MTU") {
            s.push_str(" rx_bufs_policy = MTU\n");
        } else if p.split_whitespace().any(|w| w == "ADVERT") {
            s.push_str(" rx_bufs_policy = ADVERT\n");
        } else if let Some(n) = p.split_whitespace().find_map(|w| w.parse::<u64>().ok()) {
            let _ = writeln!(s, " rx_bufs_size = {n}");
        }
    }
    let _ = writeln!(
        s,
        " rx_bufs_multiples = {}",
        g.rx_bufs_multiplier.unwrap_or(3)
    );
    let _ = writeln!(s, " umask = 0{:o}", g.umask.unwrap_or(0o177));
    if let Some(d) = g.vrrp_startup_delay {
        let _ = writeln!(
            s,
            " vrrp_startup_delay = {}",
            super::g_format(d.as_secs_f64())
        );
    }
    if g.log_unknown_vrids {
        s.push_str(" log_unknown_vrids\n");
    }
    if let Some(p) = &g.vmac_prefix {
        let _ = writeln!(s, " VMAC prefix = {p}");
    }
    if let Some(p) = &g.vmac_addr_prefix {
        let _ = writeln!(s, " VMAC address prefix = {p}");
    }
    s
}

fn script_user(info: &GlobalInfo, sc: &crate::config::script::Script) -> RunAs {
    let d = info.script_user;
    RunAs::resolve(sc.user.as_deref(), sc.group.as_deref(), d).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    fn info(text: &str) -> GlobalInfo {
        let l = load_str("t.conf", text, ReaderOptions::default());
        let mut g = GlobalInfo::from_config(&l.config.global);
        // What the VM captures had: root, no resolvable host name.
        g.script_user = RunAs { uid: 0, gid: 0 };
        g.local_name = None;
        g.user_name = Some("root".into());
        g
    }

    /// keepalived 2.2.7's checker and parent wrote exactly this for a
    /// configuration with no `global_defs` (IPVS VM capture).
    #[test]
    fn defaults_match_keepalived() {
        let want = "------< Global definitions >------
 Network namespace = (default)
 Network namespace ipvs = (main namespace)
 Router ID = [unknown]
 Default smtp_alert = unset
 Default smtp_alert_vrrp = unset
 Default smtp_alert_checker = unset
 Checkers log all failures = false
 No test config before reload
 Dynamic interfaces = false
 Disable local IGMP = no
 LVS flush = false
 LVS flush on stop = disabled
 FIFO write vrrp states on reload = false
 VRRP notify priority changes = false
 VRRP IPv4 mcast group = 224.0.0.18
 VRRP IPv6 mcast group = ff02::12
 Gratuitous ARP delay = 5
 Gratuitous ARP repeat = 5
 Gratuitous ARP refresh timer = 0
 Gratuitous ARP refresh repeat = 1
 Gratuitous ARP lower priority delay = 4294967295
 Gratuitous ARP lower priority repeat = 4294967295
 Num adverts before down = 3
 Gratuitous ARP for each secondary VMAC = 0s
 Send advert after receive lower priority advert = true
 Send advert after receive higher priority advert = false
 Gratuitous ARP interval = 0.000000
 Gratuitous NA interval = 0.000000
 VRRP default protocol version = 2
 nftables without counters
 libnftnl version 1.2.3
 VRRP check unicast_src = false
 VRRP skip check advert addresses = false
 VRRP strict mode = false
 Max auto priority = 0
 Min auto priority delay = 1000000 usecs
 VRRP process priority = 0
 VRRP don't swap = false
 VRRP realtime priority = 0
 VRRP realtime limit = 10000
 Checker process priority = 0
 Checker don't swap = false
 Checker realtime priority = 0
 Checker realtime limit = 10000
 BFD process priority = 0
 BFD don't swap = false
 BFD realtime priority = 0
 BFD realtime limit = 10000
 SNMP vrrp disabled
 SNMP checker disabled
 SNMP RFCv2 disabled
 SNMP RFCv3 disabled
 SNMP traps disabled
 SNMP socket = default (unix:/var/agentx/master)
 DBus disabled
 DBus service name = 
 Script security disabled
 Default script uid:gid 0:0
 vrrp_netlink_cmd_rcv_bufs = 0
 vrrp_netlink_cmd_rcv_bufs_force = 0
 vrrp_netlink_monitor_rcv_bufs = 0
 vrrp_netlink_monitor_rcv_bufs_force = 0
 process_monitor_rcv_bufs = 0
 process_monitor_rcv_bufs_force = 0
 lvs_netlink_cmd_rcv_bufs = 0
 lvs_netlink_cmd_rcv_bufs_force = 0
 lvs_netlink_monitor_rcv_bufs = 0
 lvs_netlink_monitor_rcv_bufs_force = 0
 rs_init_notifies = 0
 no_checker_emails = 0
 rx_bufs_multiples = 3
 umask = 0177
";
        let g = info("");
        assert_eq!(global_section(&g, Process::Checker), want);
        assert_eq!(global_section(&g, Process::Parent), want);
        // The VRRP process adds its interface and resolves the lower
        // priority GARP settings (host capture).
        let v = global_section(&g, Process::Vrrp);
        assert!(v.contains(" LVS flush on stop = disabled\n") || v.contains("Default interface"));
        assert!(v.contains(
            " Dynamic interfaces = false\n Default interface = eth0\n Disable local IGMP = no\n"
        ));
        assert!(v.contains(" Gratuitous ARP lower priority delay = 5\n"));
    }

    /// Most settings changed: keepalived 2.2.7's checker lines (VM
    /// capture of the same `global_defs`).
    #[test]
    fn settings_match_keepalived() {
        let g = info(
            "global_defs {
  router_id g2
  notification_email {
    a@x.example
    b@y.example
  }
  notification_email_from ka@x.example
  smtp_server 127.0.0.1
  smtp_helo_name helo.example
  smtp_connect_timeout 10
  smtp_alert
  smtp_alert_vrrp false
  smtp_alert_checker true
  dynamic_interfaces
  no_email_faults
  lvs_timeouts tcp 100 udp 50
  lvs_flush_on_stop VS
  notify_fifo /run/n.fifo
  notify_fifo_script \"/bin/echo n\"
  lvs_notify_fifo /run/l.fifo
  lvs_notify_fifo_script /bin/true
  vrrp_notify_fifo /run/v.fifo
  vrrp_garp_extra_if all 30
  vrrp_garp_lower_prio_delay 2
  nftables keepalived
  nftables_counters
  max_auto_priority -1
  min_auto_priority_delay 2000
  checker_priority 3
  checker_no_swap
  snmp_socket tcp:localhost:705
  lvs_netlink_cmd_rcv_bufs 2048
  lvs_netlink_cmd_rcv_bufs_force
  vrrp_rx_bufs_policy 1024
  umask 0022
  vrrp_startup_delay 5.5
  log_unknown_vrids
  vmac_prefix kv
  tmp_config_directory /run
  process_names
  vrrp_process_name kvrrp
}
",
        );
        let text = global_section(&g, Process::Checker);
        for want in [
            " VRRP process name = kvrrp\n LVS process name = keepalived_lvs\n BFD process name = keepalived_bfd\n Router ID = g2\n",
            " Smtp server = 127.0.0.1\n Smtp server port = 25\n Smtp HELO name = helo.example\n Smtp server connection timeout = 10\n Email notification from = ka@x.example\n Email notification to:\n   a@x.example\n   b@y.example\n Default smtp_alert = on\n Default smtp_alert_vrrp = off\n Default smtp_alert_checker = on\n",
            " No test config before reload\n config save directory = /run\n Dynamic interfaces = true\n Allow interface changes = false\n Send emails for fault transitions = off\n LVS TCP timeout = 100\n LVS TCP timeout = 50\n Disable local IGMP = no\n",
            " LVS flush on stop = VS\n Global notify fifo = /run/n.fifo, uid:gid 0:0\n Global notify fifo script = '/bin/echo' 'n' '/run/n.fifo', uid:gid 0:0\n VRRP notify fifo = /run/v.fifo, uid:gid 0:0\n LVS notify fifo = /run/l.fifo, uid:gid 0:0\n LVS notify fifo script = '/bin/true' '/run/l.fifo', uid:gid 0:0\n",
            " Gratuitous ARP lower priority delay = 2\n Gratuitous ARP lower priority repeat = 4294967295\n",
            " Gratuitous ARP for each secondary i/f = 30s\n",
            " nftables table name = keepalived\n nftables base chain priority = -1\n nftables don't force use ifindex for link local IPv6\n nftables with counters\n libnftnl version 1.2.3\n",
            " Max auto priority = Disabled\n Min auto priority delay = 2000 usecs\n",
            " Checker process priority = 3\n Checker don't swap = true\n",
            " SNMP socket = tcp:localhost:705\n",
            " lvs_netlink_cmd_rcv_bufs = 2048\n lvs_netlink_cmd_rcv_bufs_force = 1\n",
            " rx_bufs_size = 1024\n rx_bufs_multiples = 3\n umask = 022\n vrrp_startup_delay = 5.5\n log_unknown_vrids\n VMAC prefix = kv\n",
        ] {
            assert!(text.contains(want), "{want:?} missing from\n{text}");
        }
        // The parent shows the FIFO scripts as configured.
        let p = global_section(&g, Process::Parent);
        assert!(p.contains(" Global notify fifo script = '/bin/echo' 'n', uid:gid 0:0\n"));
        assert!(p.contains(" LVS notify fifo script = '/bin/true', uid:gid 0:0\n"));
    }
}

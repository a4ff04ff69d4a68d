//! `global_defs` and the root keywords that configure the whole daemon.

use std::net::IpAddr;
use std::time::Duration;

use super::diag::Loc;
use super::parser::{block, ignore, kw, Ctx, Keyword, Res, Stmt};
use super::script::{self, Script, ScriptKind};

/// A process' scheduling settings (`vrrp_priority`, `vrrp_no_swap` ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSched {
    /// `*_priority` (nice, -20..19).
    pub nice: Option<i8>,
    /// `*_no_swap`.
    pub no_swap: bool,
    /// `*_rt_priority` (1..99).
    pub rt_priority: Option<u8>,
    /// `*_rlimit_rttime` (µs).
    pub rlimit_rttime: Option<u64>,
    /// `*_cpu_affinity`.
    pub cpu_affinity: Vec<u32>,
    /// `*_process_name`.
    pub process_name: Option<String>,
}

/// A notify FIFO and its script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fifo {
    /// Path, with optional user/group.
    pub path: Option<(String, Option<String>, Option<String>)>,
    /// `*_fifo_script`.
    pub script: Option<Script>,
}

/// `lvs_sync_daemon`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSyncDaemon {
    /// Interface.
    pub interface: String,
    /// VRRP instance it follows.
    pub instance: Option<String>,
    /// `id N` (default the VRID).
    pub syncid: Option<u8>,
    /// `maxlen N`.
    pub maxlen: Option<u16>,
    /// `port N`.
    pub port: Option<u16>,
    /// `ttl N`.
    pub ttl: Option<u8>,
    /// `group IP`.
    pub group: Option<IpAddr>,
    /// Where it was set, for the checks made once the instances are known.
    pub loc: Loc,
}

/// `lvs_timeouts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LvsTimeouts {
    /// `tcp`.
    pub tcp: Option<Duration>,
    /// `tcpfin`.
    pub tcpfin: Option<Duration>,
    /// `udp`.
    pub udp: Option<Duration>,
}

/// `global_defs` (and the root keywords that belong to it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlobalDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
    /// `notification_email`.
    pub notification_email: Vec<String>,
    /// `notification_email_from`.
    pub notification_email_from: Option<String>,
    /// `smtp_server` (host, port).
    pub smtp_server: Option<(String, u16)>,
    /// `smtp_helo_name`.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout`.
    pub smtp_connect_timeout: Option<Duration>,
    /// `smtp_alert`, `smtp_alert_vrrp`, `smtp_alert_checker`.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker`.
    pub smtp_alert_checker: Option<bool>,
    /// `checker_log_all_failures`.
    pub checker_log_all_failures: bool,
    /// `no_email_faults`.
    pub no_email_faults: bool,
    /// `no_checker_emails`.
    pub no_checker_emails: bool,
    /// `default_interface`.
    pub default_interface: Option<String>,
    /// `net_namespace`.
    pub net_namespace: Option<String>,
    /// `net_namespace_ipvs`.
    pub net_namespace_ipvs: Option<String>,
    /// `namespace_with_ipsets`.
    pub namespace_with_ipsets: bool,
    /// `instance`.
    pub instance: Option<String>,
    /// `use_pid_dir`.
    pub use_pid_dir: bool,
    /// `linkbeat_use_polling`.
    pub linkbeat_use_polling: bool,
    /// `child_wait_time`.
    pub child_wait_time: Option<Duration>,
    /// `enable_script_security`.
    pub script_security: bool,
    /// `script_user USER [GROUP]`.
    pub script_user: Option<(String, Option<String>)>,
    /// The `script_user` could not be resolved.
    pub script_user_failed: bool,
    /// `vrrp_strict`.
    pub vrrp_strict: bool,
    /// `vrrp_version`.
    pub vrrp_version: Option<u8>,
    /// `vrrp_mcast_group4`.
    pub mcast_group4: Option<IpAddr>,
    /// `vrrp_mcast_group6`.
    pub mcast_group6: Option<IpAddr>,
    /// Global GARP settings.
    pub garp: super::vrrp::Garp,
    /// `vrrp_garp_interval`.
    pub garp_interval: Option<Duration>,
    /// `vrrp_gna_interval`.
    pub gna_interval: Option<Duration>,
    /// `vrrp_min_garp`.
    pub min_garp: bool,
    /// `vrrp_lower_prio_no_advert`.
    pub lower_prio_no_advert: Option<bool>,
    /// `vrrp_higher_prio_send_advert`.
    pub higher_prio_send_advert: Option<bool>,
    /// `vrrp_down_timer_adverts`.
    pub down_timer_adverts: Option<u8>,
    /// `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `vrrp_iptables` chains.
    pub iptables: Option<Vec<String>>,
    /// `nftables [TABLE]`.
    pub nftables: Option<String>,
    /// `nftables_priority`.
    pub nftables_priority: Option<i32>,
    /// `nftables_ifindex`.
    pub nftables_ifindex: bool,
    /// `nftables_counters`.
    pub nftables_counters: bool,
    /// `nftables_ipvs`.
    pub nftables_ipvs: Option<String>,
    /// `max_auto_priority`.
    pub max_auto_priority: Option<i32>,
    /// `min_auto_priority_delay` (µs).
    pub min_auto_priority_delay: Option<u64>,
    /// VRRP process settings.
    pub vrrp_sched: ProcessSched,
    /// Checker process settings.
    pub checker_sched: ProcessSched,
    /// BFD process settings.
    pub bfd_sched: ProcessSched,
    /// `notify_fifo`.
    pub notify_fifo: Fifo,
    /// `vrrp_notify_fifo`.
    pub vrrp_notify_fifo: Fifo,
    /// `lvs_notify_fifo`.
    pub lvs_notify_fifo: Fifo,
    /// `vrrp_notify_priority_changes`.
    pub vrrp_notify_priority_changes: Option<bool>,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `lvs_timeouts`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_sync_daemon`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `lvs_flush`.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]`.
    pub lvs_flush_on_stop: Option<bool>,
    /// `dynamic_interfaces [allow_if_changes]`.
    pub dynamic_interfaces: Option<bool>,
    /// `disable_local_igmp`.
    pub disable_local_igmp: bool,
    /// `vrrp_startup_delay`.
    pub vrrp_startup_delay: Option<Duration>,
    /// `log_unknown_vrids`.
    pub log_unknown_vrids: bool,
    /// `vmac_prefix`.
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix`.
    pub vmac_addr_prefix: Option<String>,
    /// `umask`.
    pub umask: Option<u32>,
    /// `random_seed`.
    pub random_seed: Option<u32>,
    /// `startup_script`.
    pub startup_script: Option<Script>,
    /// `startup_script_timeout`.
    pub startup_script_timeout: Option<Duration>,
    /// `shutdown_script`.
    pub shutdown_script: Option<Script>,
    /// `shutdown_script_timeout`.
    pub shutdown_script_timeout: Option<Duration>,
    /// `process_names`.
    pub process_names: bool,
    /// `process_name`.
    pub process_name: Option<String>,
    /// SNMP: `snmp_socket`.
    pub snmp_socket: Option<String>,
    /// SNMP: enabled MIBs/traps (keyword names).
    pub snmp: Vec<String>,
    /// `enable_dbus`.
    pub dbus: bool,
    /// `dbus_service_name`.
    pub dbus_service_name: Option<String>,
    /// Netlink buffer sizes (keyword, size).
    pub netlink_bufs: Vec<(String, u32)>,
    /// `vrrp_rx_bufs_policy`.
    pub rx_bufs_policy: Option<String>,
    /// `vrrp_rx_bufs_multiplier`.
    pub rx_bufs_multiplier: Option<u32>,
    /// `rs_init_notifies`.
    pub rs_init_notifies: bool,
    /// `tmp_config_directory`.
    pub tmp_config_directory: Option<String>,
    /// `data_use_instance`.
    pub data_use_instance: Option<bool>,
    /// `reload_check_config [LOG_FILE]`: a reload's configuration is
    /// checked first; its messages go to LOG_FILE when given.
    pub reload_check_config: Option<Option<String>>,
}

impl GlobalDefs {
    /// The last value given to a `*_rcv_bufs` keyword (a `_force` one: 1
    /// or 0), `None` when absent or 0 (keepalived does not store a 0).
    pub fn netlink_buf(&self, key: &str) -> Option<u32> {
        (self.netlink_bufs.iter().rev())
            .find(|(n, _)| n == key)
            .map(|&(_, v)| v)
            .filter(|&v| v != 0)
    }
}

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[
    block("global_defs", None, GLOBAL_DEFS, None),
    kw("net_namespace", net_namespace),
    kw("net_namespace_ipvs", net_namespace_ipvs),
    kw("namespace_with_ipsets", |c, _| {
        c.cfg.global.namespace_with_ipsets = true;
        Ok(())
    }),
    kw("instance", instance),
    kw("use_pid_dir", |c, _| {
        c.cfg.global.use_pid_dir = true;
        Ok(())
    }),
    kw("linkbeat_use_polling", |c, _| {
        c.cfg.global.linkbeat_use_polling = true;
        Ok(())
    }),
    kw("child_wait_time", child_wait_time),
];

macro_rules! gflag {
    ($f:ident) => {
        |c: &mut Ctx, _s: &Stmt| -> Res {
            c.cfg.global.$f = true;
            Ok(())
        }
    };
}

macro_rules! gbool {
    ($f:ident) => {
        |c: &mut Ctx, s: &Stmt| -> Res {
            if let Some(b) = c.read_bool_opt(s, 1) {
                c.cfg.global.$f = Some(b);
            }
            Ok(())
        }
    };
}

macro_rules! gstr {
    ($f:ident) => {
        |c: &mut Ctx, s: &Stmt| -> Res {
            if bare(c, s) {
                return Ok(());
            }
            let v = c.arg(s, 1)?.to_string();
            c.cfg.global.$f = Some(v);
            Ok(())
        }
    };
}

/// keepalived's message for a global keyword given without its value.
static MISSING_VALUE: &[(&str, &str)] = &[
    ("dbus_service_name", "dbus_service_name missing - ignoring"),
    (
        "default_interface",
        "default_interface requires interface name",
    ),
    ("lvs_sync_daemon", "lvs_sync_daemon requires interface"),
    ("lvs_timeouts", "lvs_timeouts requires at least one option"),
    (
        "min_auto_priority_delay",
        "min_auto_priority_delay requires delay time",
    ),
    ("notify_fifo", "No notify_fifo name specified"),
    ("vrrp_notify_fifo", "No vrrp_notify_fifo name specified"),
    ("lvs_notify_fifo", "No lvs_notify_fifo name specified"),
    ("notify_fifo_script", "No notify_fifo_script specified"),
    (
        "vrrp_notify_fifo_script",
        "No vrrp_notify_fifo_script specified",
    ),
    (
        "lvs_notify_fifo_script",
        "No lvs_notify_fifo_script specified",
    ),
    ("script_user", "No script username specified"),
    ("snmp_socket", "SNMP error : snmp socket name missing"),
    (
        "startup_script_timeout",
        "startup_script_timeout requires value",
    ),
    (
        "shutdown_script_timeout",
        "shutdown_script_timeout requires value",
    ),
    (
        "tmp_config_directory",
        "tmp_config_directory missing directory name",
    ),
    ("vrrp_cpu_affinity", "No vrrp cpu_id set specified"),
    ("checker_cpu_affinity", "No checker cpu_id set specified"),
    ("bfd_cpu_affinity", "No bfd cpu_id set specified"),
    (
        "vrrp_garp_extra_if",
        "vrrp_garp_extra_if specified without time - ignoring",
    ),
    (
        "vrrp_vmac_garp_intvl",
        "vrrp_garp_extra_if specified without time - ignoring",
    ),
    (
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs size missing",
    ),
    (
        "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs size missing",
    ),
    (
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs size missing",
    ),
    (
        "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs size missing",
    ),
    (
        "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs size missing",
    ),
    ("vrrp_priority", "No vrrp process priority specified"),
    ("checker_priority", "No checker process priority specified"),
    ("bfd_priority", "No bfd process priority specified"),
    (
        "vrrp_rt_priority",
        "No vrrp process real-time priority specified",
    ),
    (
        "checker_rt_priority",
        "No checker process real-time priority specified",
    ),
    (
        "bfd_rt_priority",
        "No bfd process real-time priority specified",
    ),
    ("vrrp_rx_bufs_multiplier", "Invalid vrrp_rx_bufs_multiplier"),
    ("vrrp_rx_bufs_policy", "vrrp_rx_bufs_policy missing"),
    ("net_namespace", "net_namespace name missing - ignoring"),
    ("instance", "instance name missing - ignoring"),
];

/// Reports keepalived's "missing value" message; true if the value is missing.
fn bare(ctx: &mut Ctx, s: &Stmt) -> bool {
    if s.len() > 1 {
        return false;
    }
    if let Some((_, m)) = MISSING_VALUE.iter().find(|(k, _)| *k == s.key()) {
        ctx.err(s, *m);
        return true;
    }
    false
}

/// Keywords inside `global_defs`.
pub static GLOBAL_DEFS: &[Keyword] = &[
    kw("router_id", router_id),
    kw("notification_email", notification_email),
    kw("notification_email_from", |c, s| {
        match s.get(1) {
            Some(v) => c.cfg.global.notification_email_from = Some(v.to_string()),
            None => c.err(s, "emailfrom missing - ignoring"),
        }
        Ok(())
    }),
    kw("smtp_server", smtp_server),
    kw("smtp_helo_name", |c, s| {
        c.cfg.global.smtp_helo_name = s.get(1).map(str::to_string);
        Ok(())
    }),
    kw("smtp_connect_timeout", smtp_connect_timeout),
    kw("smtp_alert", |c, s| {
        match s.get(1).map(super::parser::check_true_false) {
            None => c.cfg.global.smtp_alert = Some(true),
            Some(Some(b)) => c.cfg.global.smtp_alert = Some(b),
            Some(None) => {
                let v = s.get(1).unwrap_or("").to_string();
                c.err_at(
                    s,
                    1,
                    format!("Invalid value '{v}' for global smtp_alert specified"),
                    "expected on|off|true|false|yes|no",
                );
            }
        }
        Ok(())
    }),
    kw("smtp_alert_vrrp", gbool!(smtp_alert_vrrp)),
    kw("smtp_alert_checker", gbool!(smtp_alert_checker)),
    kw("checker_log_all_failures", |c, s| {
        c.cfg.global.checker_log_all_failures = c.read_bool_opt(s, 1).unwrap_or(false);
        Ok(())
    }),
    kw("no_email_faults", gflag!(no_email_faults)),
    kw("no_checker_emails", gflag!(no_checker_emails)),
    kw("default_interface", default_interface),
    kw("enable_snmp_vrrp", snmp_flag),
    kw("enable_snmp_keepalived", snmp_flag),
    kw("enable_snmp_checker", snmp_flag),
    kw("enable_snmp_rfc", snmp_flag),
    kw("enable_snmp_rfcv2", snmp_flag),
    kw("enable_snmp_rfcv3", snmp_flag),
    kw("enable_traps", snmp_flag),
    kw("snmp_socket", snmp_socket),
    kw("enable_dbus", gflag!(dbus)),
    kw("dbus_service_name", gstr!(dbus_service_name)),
    kw("vrrp_mcast_group4", |c, s| mcast_group(c, s, false)),
    kw("vrrp_mcast_group6", |c, s| mcast_group(c, s, true)),
    kw("vrrp_garp_master_delay", |c, s| {
        garp_timer(c, s, |g, d| g.master_delay = Some(d))
    }),
    kw("vrrp_garp_master_repeat", |c, s| {
        garp_count(c, s, |g, n| g.master_repeat = Some(n))
    }),
    kw("vrrp_garp_lower_prio_delay", |c, s| {
        garp_timer(c, s, |g, d| g.lower_prio_delay = Some(d))
    }),
    kw("vrrp_garp_lower_prio_repeat", |c, s| {
        garp_count(c, s, |g, n| g.lower_prio_repeat = Some(n))
    }),
    kw("vrrp_garp_master_refresh", garp_refresh),
    kw("vrrp_garp_master_refresh_repeat", |c, s| {
        garp_count(c, s, |g, n| g.master_refresh_repeat = Some(n))
    }),
    kw("vrrp_garp_interval", |c, s| garp_interval(c, s, true)),
    kw("vrrp_gna_interval", |c, s| garp_interval(c, s, false)),
    kw("vrrp_min_garp", |c, s| {
        c.cfg.global.min_garp = c.read_bool_opt(s, 1).unwrap_or(false);
        Ok(())
    }),
    kw("vrrp_lower_prio_no_advert", |c, s| {
        match s.get(1).map(super::parser::check_true_false) {
            None => c.cfg.global.lower_prio_no_advert = Some(true),
            Some(Some(b)) => c.cfg.global.lower_prio_no_advert = Some(b),
            Some(None) => c.err_at(
                s,
                1,
                "Invalid value for vrrp_lower_prio_no_advert specified",
                "expected on|off|true|false|yes|no",
            ),
        }
        Ok(())
    }),
    kw(
        "vrrp_higher_prio_send_advert",
        gbool!(higher_prio_send_advert),
    ),
    kw("vrrp_version", vrrp_version),
    kw("vrrp_iptables", vrrp_iptables),
    kw("nftables", nftables),
    kw("nftables_priority", |c, s| {
        if let Some(v) = c.read_int(s, 1, i32::MIN as i64, i32::MAX as i64)? {
            c.cfg.global.nftables_priority = Some(v as i32);
        }
        Ok(())
    }),
    kw("nftables_ifindex", gflag!(nftables_ifindex)),
    kw("nftables_counters", gflag!(nftables_counters)),
    kw("nftables_ipvs", |c, s| {
        c.cfg.global.nftables_ipvs = Some(s.get(1).unwrap_or("keepalived_ipvs").to_string());
        Ok(())
    }),
    kw("nftables_ipvs_priority", |c, s| {
        c.read_int(s, 1, i32::MIN as i64, i32::MAX as i64)?;
        Ok(())
    }),
    kw("nftables_ipvs_start_fwmark", |c, s| {
        c.read_unsigned(s, 1, 1, u32::MAX as u64)?;
        Ok(())
    }),
    kw("vrrp_check_unicast_src", gflag!(check_unicast_src)),
    kw("vrrp_skip_check_adv_addr", |c, s| {
        c.cfg.global.skip_check_adv_addr = c.read_bool_opt(s, 1).unwrap_or(false);
        Ok(())
    }),
    kw("vrrp_strict", gflag!(vrrp_strict)),
    kw("vrrp_priority", |c, s| sched_nice(c, s, 0)),
    kw("checker_priority", |c, s| sched_nice(c, s, 1)),
    kw("bfd_priority", |c, s| sched_nice(c, s, 2)),
    kw("vrrp_no_swap", |c, _| sched(c, 0, |p| p.no_swap = true)),
    kw("checker_no_swap", |c, _| sched(c, 1, |p| p.no_swap = true)),
    kw("bfd_no_swap", |c, _| sched(c, 2, |p| p.no_swap = true)),
    kw("vrrp_rt_priority", |c, s| sched_rt(c, s, 0)),
    kw("checker_rt_priority", |c, s| sched_rt(c, s, 1)),
    kw("bfd_rt_priority", |c, s| sched_rt(c, s, 2)),
    kw("vrrp_rlimit_rttime", |c, s| sched_rlimit(c, s, 0)),
    kw("vrrp_rlimit_rtime", |c, s| sched_rlimit(c, s, 0)),
    kw("checker_rlimit_rttime", |c, s| sched_rlimit(c, s, 1)),
    kw("checker_rlimit_rtime", |c, s| sched_rlimit(c, s, 1)),
    kw("bfd_rlimit_rttime", |c, s| sched_rlimit(c, s, 2)),
    kw("bfd_rlimit_rtime", |c, s| sched_rlimit(c, s, 2)),
    kw("vrrp_cpu_affinity", |c, s| sched_cpu(c, s, 0)),
    kw("checker_cpu_affinity", |c, s| sched_cpu(c, s, 1)),
    kw("bfd_cpu_affinity", |c, s| sched_cpu(c, s, 2)),
    kw("notify_fifo", |c, s| fifo(c, s, 0)),
    kw("notify_fifo_script", |c, s| fifo_script(c, s, 0)),
    kw("vrrp_notify_fifo", |c, s| fifo(c, s, 1)),
    kw("vrrp_notify_fifo_script", |c, s| fifo_script(c, s, 1)),
    kw("lvs_notify_fifo", |c, s| fifo(c, s, 2)),
    kw("lvs_notify_fifo_script", |c, s| fifo_script(c, s, 2)),
    kw(
        "vrrp_notify_priority_changes",
        gbool!(vrrp_notify_priority_changes),
    ),
    kw(
        "fifo_write_vrrp_states_on_reload",
        gflag!(fifo_write_vrrp_states_on_reload),
    ),
    kw("lvs_timeouts", lvs_timeouts),
    kw("lvs_sync_daemon", lvs_sync_daemon),
    kw("lvs_flush", gflag!(lvs_flush)),
    kw("lvs_flush_on_stop", lvs_flush_on_stop),
    kw("lvs_flush_onstop", lvs_flush_on_stop),
    kw("dynamic_interfaces", |c, s| {
        match s.get(1) {
            None => c.cfg.global.dynamic_interfaces = Some(false),
            Some("allow_if_changes") => c.cfg.global.dynamic_interfaces = Some(true),
            Some(o) => {
                let o = o.to_string();
                c.err_at(
                    s,
                    1,
                    format!("Unknown dynamic_interfaces option '{o}'"),
                    "expected allow_if_changes",
                );
                c.cfg.global.dynamic_interfaces = Some(false);
            }
        }
        Ok(())
    }),
    kw("enable_script_security", gflag!(script_security)),
    kw("script_user", script_user),
    kw("vrrp_netlink_cmd_rcv_bufs", netlink_bufs),
    kw("vrrp_netlink_cmd_rcv_bufs_force", netlink_bufs_force),
    kw("vrrp_netlink_monitor_rcv_bufs", netlink_bufs),
    kw("vrrp_netlink_monitor_rcv_bufs_force", netlink_bufs_force),
    kw("lvs_netlink_cmd_rcv_bufs", netlink_bufs),
    kw("lvs_netlink_cmd_rcv_bufs_force", netlink_bufs_force),
    kw("lvs_netlink_monitor_rcv_bufs", netlink_bufs),
    kw("lvs_netlink_monitor_rcv_bufs_force", netlink_bufs_force),
    kw("process_monitor_rcv_bufs", netlink_bufs),
    kw("process_monitor_rcv_bufs_force", netlink_bufs_force),
    kw("rs_init_notifies", gflag!(rs_init_notifies)),
    kw("vrrp_rx_bufs_policy", |c, s| {
        if bare(c, s) {
            return Ok(());
        }
        let mut ok = true;
        for (i, w) in s.rest(1).enumerate() {
            if !matches!(w, "MTU" | "ADVERT")
                && c.read_unsigned(s, i + 1, 0, u32::MAX as u64)?.is_none()
            {
                ok = false;
            }
        }
        let v: Vec<String> = s.rest(1).map(str::to_string).collect();
        if ok {
            c.cfg.global.rx_bufs_policy = Some(v.join(" "));
        } else {
            c.err(s, format!("Invalid vrrp_rx_bufs_policy {}", v.join(" ")));
        }
        Ok(())
    }),
    kw("vrrp_rx_bufs_multiplier", |c, s| {
        if bare(c, s) {
            return Ok(());
        }
        if let Some(v) = c.read_unsigned(s, 1, 1, u32::MAX as u64)? {
            c.cfg.global.rx_bufs_multiplier = Some(v as u32);
        }
        Ok(())
    }),
    kw("umask", umask),
    kw("vrrp_startup_delay", |c, s| {
        if let Some(v) = c.read_timer(s, 1, 0, 0)? {
            c.cfg.global.vrrp_startup_delay = Some(Duration::from_micros(v));
        }
        Ok(())
    }),
    kw("log_unknown_vrids", gflag!(log_unknown_vrids)),
    kw("vmac_prefix", gstr!(vmac_prefix)),
    kw("vmac_addr_prefix", gstr!(vmac_addr_prefix)),
    kw("random_seed", |c, s| {
        if let Some(v) = c.read_unsigned(s, 1, 0, u32::MAX as u64)? {
            c.cfg.global.random_seed = Some(v as u32);
        } else {
            let w = s.get(1).unwrap_or("").to_string();
            c.err_at(
                s,
                1,
                format!("random_seed {w} invalid"),
                "expected an unsigned number",
            );
        }
        Ok(())
    }),
    kw("reload_check_config", |c: &mut Ctx, s: &Stmt| -> Res {
        let file = match s.len() {
            1 => None,
            _ => Some(c.arg(s, 1)?.to_string()),
        };
        c.cfg.global.reload_check_config = Some(file);
        Ok(())
    }),
    kw("reload_time_file", ignore),
    kw("reload_repeat", ignore),
    kw("reload_file", ignore),
    kw("include_check", ignore),
    kw("config_save_dir", ignore),
    kw("tmp_config_directory", gstr!(tmp_config_directory)),
    kw("data_use_instance", gbool!(data_use_instance)),
    kw("startup_script", |c, s| startup_script(c, s, true)),
    kw("startup_script_timeout", |c, s| script_timeout(c, s, true)),
    kw("shutdown_script", |c, s| startup_script(c, s, false)),
    kw("shutdown_script_timeout", |c, s| {
        script_timeout(c, s, false)
    }),
    kw("process_names", gflag!(process_names)),
    kw("process_name", |c, s| {
        c.cfg.global.process_name = Some(s.get(1).unwrap_or("keepalived").to_string());
        Ok(())
    }),
    kw("vrrp_process_name", |c, s| sched_name(c, s, 0)),
    kw("checker_process_name", |c, s| sched_name(c, s, 1)),
    kw("lvs_process_name", |c, s| sched_name(c, s, 1)),
    kw("bfd_process_name", |c, s| sched_name(c, s, 2)),
    kw("vrrp_garp_extra_if", garp_extra_if),
    kw("vrrp_vmac_garp_intvl", garp_extra_if),
    kw("vrrp_down_timer_adverts", |c, s| {
        if let Some(v) = c.read_unsigned(s, 1, 1, 100)? {
            c.cfg.global.down_timer_adverts = Some(v as u8);
        } else {
            let w = s.get(1).unwrap_or("").to_string();
            c.err_at(
                s,
                1,
                format!("Invalid vrrp_down_timer_adverts [1:100] '{w}'"),
                "expected 1..100",
            );
        }
        Ok(())
    }),
    kw("max_auto_priority", |c, s| {
        let v = if s.len() < 2 {
            Some(99)
        } else {
            c.read_int(s, 1, -1, 99)?
        };
        if let Some(v) = v {
            c.cfg.global.max_auto_priority = Some(v as i32);
        } else {
            let w = s.get(1).unwrap_or("").to_string();
            c.err_at(
                s,
                1,
                format!("max_auto_priority '{w}' must be in [0, 99] (or -1 to disable) - ignoring"),
                "expected -1..99",
            );
        }
        Ok(())
    }),
    kw("min_auto_priority_delay", |c, s| {
        if bare(c, s) {
            return Ok(());
        }
        if let Some(v) = c.read_unsigned(s, 1, 1, 1_000_000_000)? {
            c.cfg.global.min_auto_priority_delay = Some(v);
        }
        Ok(())
    }),
    kw("disable_local_igmp", gflag!(disable_local_igmp)),
];

fn net_namespace(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let v = ctx.arg(s, 1)?.to_string();
    if ctx.cfg.global.net_namespace.is_some() {
        ctx.err(
            s,
            format!("Duplicate net_namespace definition {v} - ignoring"),
        );
    } else {
        ctx.cfg.global.net_namespace = Some(v);
    }
    Ok(())
}

fn net_namespace_ipvs(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.cfg.global.net_namespace_ipvs = Some(s.get(1).unwrap_or("").to_string());
    Ok(())
}

fn instance(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let v = ctx.arg(s, 1)?.to_string();
    if ctx.cfg.global.instance.is_some() {
        ctx.err(s, format!("Duplicate instance definition {v} - ignoring"));
    } else {
        ctx.cfg.global.instance = Some(v);
    }
    Ok(())
}

fn child_wait_time(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        ctx.cfg.global.child_wait_time = Some(Duration::from_secs(v));
    }
    Ok(())
}

fn router_id(ctx: &mut Ctx, s: &Stmt) -> Res {
    match s.get(1) {
        Some(v) => ctx.cfg.global.router_id = Some(v.to_string()),
        None => ctx.err(s, "routerid name missing - ignoring"),
    }
    Ok(())
}

fn notification_email(ctx: &mut Ctx, s: &Stmt) -> Res {
    let w = ctx.value_words(s);
    if w.is_empty() {
        ctx.err(s, "Warning - empty notification_email block");
    }
    ctx.cfg.global.notification_email.extend(w);
    Ok(())
}

fn smtp_server(ctx: &mut Ctx, s: &Stmt) -> Res {
    let host = ctx.arg(s, 1)?.to_string();
    let port_s = s.get(2).unwrap_or("25").to_string();
    let port: Option<u16> = if s.len() > 2 {
        ctx.read_unsigned(s, 2, 1, 65535)?.map(|p| p as u16)
    } else {
        Some(25)
    };
    // the pre-pass does not resolve names (the real pass does)
    let ok = port.is_some() && {
        if ctx.quiet_unknown || host.parse::<IpAddr>().is_ok() {
            true
        } else {
            use std::net::ToSocketAddrs;
            (host.as_str(), port.unwrap_or(25))
                .to_socket_addrs()
                .map(|mut a| a.next().is_some())
                .unwrap_or(false)
        }
    };
    if !ok {
        ctx.err_at(
            s,
            1,
            format!("Invalid smtp server {host} {port_s}"),
            "expected an address or resolvable host name, and a port",
        );
        return Ok(());
    }
    ctx.cfg.global.smtp_server = Some((host, port.unwrap_or(25)));
    Ok(())
}

fn smtp_connect_timeout(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match ctx.read_unsigned(s, 1, 0, 4294)? {
        Some(0) => {
            ctx.err_at(
                s,
                1,
                "smtp_conect_timeout must be greater than 0, setting to 1",
                "expected at least 1 second",
            );
            ctx.cfg.global.smtp_connect_timeout = Some(Duration::from_secs(1));
        }
        Some(n) => ctx.cfg.global.smtp_connect_timeout = Some(Duration::from_secs(n)),
        None => ctx.err_at(
            s,
            1,
            format!("smtp_connect_timeout '{v}' must be in [0, 4294] - ignoring"),
            "expected seconds",
        ),
    }
    Ok(())
}

fn default_interface(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let v = ctx.arg(s, 1)?.to_string();
    ctx.cfg.global.default_interface = Some(v);
    Ok(())
}

/// No SNMP agent exists yet: the keyword is kept (the data dump shows it as
/// keepalived's does); its use is logged at start as unsupported
/// (`keyword_status`), not under `-t`, whose output stays keepalived's.
fn snmp_flag(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.cfg.global.snmp.push(s.key().to_string());
    Ok(())
}

fn snmp_socket(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let v = ctx.arg(s, 1)?.to_string();
    ctx.cfg.global.snmp_socket = Some(v);
    Ok(())
}

fn mcast_group(ctx: &mut Ctx, s: &Stmt, v6: bool) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match v.parse::<IpAddr>() {
        Ok(a) if a.is_multicast() && a.is_ipv6() == v6 => {
            if v6 {
                ctx.cfg.global.mcast_group6 = Some(a);
            } else {
                ctx.cfg.global.mcast_group4 = Some(a);
            }
        }
        _ => ctx.err_at(
            s,
            1,
            format!("{} [{v}] is not multicast. Skipping", s.key()),
            "expected a multicast address",
        ),
    }
    Ok(())
}

fn garp_timer(ctx: &mut Ctx, s: &Stmt, f: impl FnOnce(&mut super::vrrp::Garp, Duration)) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64 / 1_000_000)? {
        Some(n) => f(&mut ctx.cfg.global.garp, Duration::from_secs(n)),
        None => ctx.err_at(
            s,
            1,
            format!("{} '{v}' invalid - ignoring", s.key()),
            "expected whole seconds",
        ),
    }
    Ok(())
}

fn garp_count(ctx: &mut Ctx, s: &Stmt, f: impl FnOnce(&mut super::vrrp::Garp, u32)) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        Some(n) => f(&mut ctx.cfg.global.garp, n as u32),
        None => ctx.err_at(
            s,
            1,
            format!("{} '{v}' invalid - ignoring", s.key()),
            "expected a count",
        ),
    }
    Ok(())
}

fn garp_refresh(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        Some(n) => ctx.cfg.global.garp.master_refresh = Some(Duration::from_secs(n)),
        None => ctx.err_at(
            s,
            1,
            format!("Invalid vrrp_garp_master_refresh '{v}' - ignoring"),
            "expected whole seconds",
        ),
    }
    Ok(())
}

fn garp_interval(ctx: &mut Ctx, s: &Stmt, garp: bool) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match super::parser::parse_c_double(&v).filter(|d| d.is_finite() && *d > 0.0) {
        Some(d) => {
            let d = Some(Duration::from_micros((d * 1e6) as u64));
            if garp {
                ctx.cfg.global.garp_interval = d;
            } else {
                ctx.cfg.global.gna_interval = d;
            }
        }
        None => ctx.err_at(
            s,
            1,
            format!("{} '{v}' is invalid", s.key()),
            "expected a positive number of seconds",
        ),
    }
    Ok(())
}

fn garp_extra_if(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let (all, i) = if s.get(1) == Some("all") {
        (true, 2)
    } else {
        (false, 1)
    };
    if let Some(v) = ctx.read_timer(s, i, 0, 86_400_000_000)? {
        ctx.cfg.global.garp.extra_if = Some((all, Duration::from_micros(v)));
    }
    Ok(())
}

fn vrrp_version(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?;
    match v {
        "2" | "3" => ctx.cfg.global.vrrp_version = v.parse().ok(),
        _ => {
            ctx.read_unsigned(s, 1, 2, 3)?;
            ctx.err_at(
                s,
                1,
                "VRRP Error: Version must be either 2 or 3",
                "expected 2 or 3",
            );
        }
    }
    Ok(())
}

fn vrrp_iptables(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.err(s, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option");
    ctx.cfg.global.iptables = Some(s.rest(1).map(str::to_string).collect());
    if ctx.cfg.global.nftables.is_none() {
        ctx.cfg.global.nftables = Some("keepalived".into());
    }
    Ok(())
}

fn nftables(ctx: &mut Ctx, s: &Stmt) -> Res {
    if ctx.cfg.global.nftables.is_some() {
        ctx.err(s, "nftables already specified - ignoring");
        return Ok(());
    }
    ctx.cfg.global.nftables = Some(s.get(1).unwrap_or("keepalived").to_string());
    Ok(())
}

fn sched(ctx: &mut Ctx, which: u8, f: impl FnOnce(&mut ProcessSched)) -> Res {
    let g = &mut ctx.cfg.global;
    f(match which {
        0 => &mut g.vrrp_sched,
        1 => &mut g.checker_sched,
        _ => &mut g.bfd_sched,
    });
    Ok(())
}

fn sched_nice(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    match ctx.read_int(s, 1, -20, 19)? {
        Some(v) => sched(ctx, which, |p| p.nice = Some(v as i8))?,
        None => {
            let p = ["vrrp", "checker", "bfd"][which as usize];
            ctx.err_at(
                s,
                1,
                format!("Invalid {p} process priority specified"),
                "expected -20..19",
            );
        }
    }
    Ok(())
}

fn sched_rt(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let p = ["vrrp", "checker", "bfd"][which as usize];
    let Some(v) = ctx.read_int(s, 1, i32::MIN as i64, i32::MAX as i64)? else {
        return Ok(());
    };
    let v = if v < 1 {
        ctx.err_at(
            s,
            1,
            format!("{p} process real-time priority {v} less than minimum 1 - setting to minimum"),
            "expected 1..99",
        );
        1
    } else if v > 99 {
        ctx.err_at(
            s,
            1,
            format!(
                "{p} process real-time priority {v} greater than maximum 99 - setting to maximum"
            ),
            "expected 1..99",
        );
        99
    } else {
        v
    };
    sched(ctx, which, |x| x.rt_priority = Some(v as u8))
}

fn sched_rlimit(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 1, u32::MAX as u64)? {
        sched(ctx, which, |p| p.rlimit_rttime = Some(v))?;
    }
    Ok(())
}

fn sched_cpu(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let p = ["vrrp", "checker", "bfd"][which as usize];
    let mut cpus = Vec::new();
    for i in 1..s.len() {
        match ctx.read_unsigned(s, i, 0, 4095)? {
            Some(n) => cpus.push(n as u32),
            None => {
                ctx.err_at(
                    s,
                    i,
                    format!("Invalid cpu_id:{} specified for {p} process", cpus.len()),
                    "expected CPU numbers",
                );
                return Ok(());
            }
        }
    }
    sched(ctx, which, |x| x.cpu_affinity = cpus)
}

fn sched_name(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    let n = Some(ctx.arg(s, 1)?.to_string());
    sched(ctx, which, |p| p.process_name = n)
}

fn fifo_mut(ctx: &mut Ctx, which: u8) -> &mut Fifo {
    let g = &mut ctx.cfg.global;
    match which {
        0 => &mut g.notify_fifo,
        1 => &mut g.vrrp_notify_fifo,
        _ => &mut g.lvs_notify_fifo,
    }
}

fn fifo(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let p = ctx.arg(s, 1)?.to_string();
    let u = s.get(2).map(str::to_string);
    let g = s.get(3).map(str::to_string);
    fifo_mut(ctx, which).path = Some((p, u, g));
    Ok(())
}

fn fifo_script(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let sc = script::parse(ctx, s, 1, ScriptKind::Notify, s.key())?;
    fifo_mut(ctx, which).script = Some(sc);
    Ok(())
}

fn lvs_timeouts(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let mut i = 1;
    while i < s.len() {
        let k = s.get(i).unwrap_or("").to_string();
        if !matches!(k.as_str(), "tcp" | "tcpfin" | "udp") {
            ctx.err_at(
                s,
                i,
                format!("Unknown option {k} specified for lvs_timeouts"),
                "expected tcp, tcpfin or udp",
            );
            i += 1;
            continue;
        }
        let Some(v) = s.get(i + 1) else {
            ctx.err_at(
                s,
                i,
                format!("No value specified for lvs_timeout {k} - ignoring"),
                "expected seconds",
            );
            break;
        };
        let parsed = ctx
            .read_unsigned(s, i + 1, 0, 2_678_400)?
            .map(Duration::from_secs);
        match parsed {
            Some(d) => {
                let t = &mut ctx.cfg.global.lvs_timeouts;
                match k.as_str() {
                    "tcp" => t.tcp = Some(d),
                    "tcpfin" => t.tcpfin = Some(d),
                    _ => t.udp = Some(d),
                }
            }
            None => {
                let v = v.to_string();
                ctx.err_at(
                    s,
                    i + 1,
                    format!("Invalid lvs_timeout {k} ({v}) - ignoring"),
                    "expected seconds",
                );
            }
        }
        i += 2;
    }
    Ok(())
}

fn lvs_sync_daemon(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let ifn = ctx.arg(s, 1)?.to_string();
    if let Some(d) = &ctx.cfg.global.lvs_sync_daemon {
        let m = format!(
            "lvs_sync_daemon has already been specified as {} {} - ignoring",
            d.interface,
            d.instance.clone().unwrap_or_default()
        );
        ctx.err(s, m);
        return Ok(());
    }
    let (inst, mut i) = match s.get(2) {
        Some(w) if !matches!(w, "id" | "maxlen" | "port" | "ttl" | "group") => {
            (Some(w.to_string()), 3)
        }
        _ => (None, 2),
    };
    let mut d = LvsSyncDaemon {
        interface: ifn,
        instance: inst,
        syncid: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
        loc: s.loc.clone(),
    };
    while i < s.len() {
        let k = s.get(i).unwrap_or("").to_string();
        match k.as_str() {
            "id" => d.syncid = ctx.read_unsigned(s, i + 1, 0, 255)?.map(|v| v as u8),
            "maxlen" => {
                d.maxlen = ctx
                    .read_unsigned(s, i + 1, 1, 65535 - 20 - 8)?
                    .map(|v| v as u16);
                if d.maxlen.is_none() {
                    let w = s.get(i + 1).unwrap_or("").to_string();
                    ctx.err_at(
                        s,
                        i + 1,
                        format!("Invalid lvs_sync_daemon maxlen ({w}) - ignoring"),
                        "expected 1..65507",
                    );
                }
            }
            "port" => d.port = ctx.read_unsigned(s, i + 1, 1, 65535)?.map(|v| v as u16),
            "ttl" => d.ttl = ctx.read_unsigned(s, i + 1, 1, 255)?.map(|v| v as u8),
            "group" => {
                let v = ctx.arg(s, i + 1)?.to_string();
                match v.parse::<IpAddr>() {
                    Ok(a) if a.is_multicast() => d.group = Some(a),
                    _ => ctx.err_at(
                        s,
                        i + 1,
                        format!("Invalid lvs_sync_daemon group {v} - ignoring"),
                        "expected a multicast address",
                    ),
                }
            }
            _ => {
                ctx.err_at(
                    s,
                    i,
                    format!("Unknown option {k} specified for lvs_sync_daemon"),
                    "expected id, maxlen, port, ttl or group",
                );
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    ctx.cfg.global.lvs_sync_daemon = Some(d);
    Ok(())
}

fn lvs_flush_on_stop(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.cfg.global.lvs_flush_on_stop = Some(s.get(1) != Some("VS"));
    Ok(())
}

fn script_user(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let u = ctx.arg(s, 1)?.to_string();
    let g = s.get(2).map(|g| g.trim_start_matches(':').to_string());
    let ok = script::lookup_user(&u).is_some()
        && g.as_deref()
            .is_none_or(|g| script::lookup_group(g).is_some());
    if !ok {
        ctx.err(s, "Error setting global script uid/gid");
        ctx.cfg.global.script_user_failed = true;
        return Ok(());
    }
    ctx.cfg.global.script_user = Some((u, g));
    Ok(())
}

fn netlink_bufs(ctx: &mut Ctx, s: &Stmt) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    if let Some(v) = ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        ctx.cfg
            .global
            .netlink_bufs
            .push((s.key().to_string(), v as u32));
    }
    Ok(())
}

/// `*_rcv_bufs_force [BOOL]`: kept as 1 or 0 beside the sizes (the
/// dumps show them).
fn netlink_bufs_force(ctx: &mut Ctx, s: &Stmt) -> Res {
    let on = !matches!(s.get(1), Some("false" | "no" | "off" | "0"));
    ctx.cfg
        .global
        .netlink_bufs
        .push((s.key().to_string(), u32::from(on)));
    Ok(())
}

fn umask(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.arg(s, 1)?;
    let text: String = s.rest(1).collect::<Vec<_>>().join("");
    let mut mask = 0u32;
    if text.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        let t = text.as_str();
        let v = if let Some(h) = t.strip_prefix("0x") {
            u32::from_str_radix(h, 16).ok()
        } else if t.len() > 1 && t.starts_with('0') {
            u32::from_str_radix(&t[1..], 8).ok()
        } else {
            t.parse().ok()
        };
        match v.filter(|v| *v <= 0o777) {
            Some(v) => mask = v,
            None => {
                ctx.err(s, format!("invalid umask value {text}"));
                return Ok(());
            }
        }
    } else {
        // bits separated by '|', spaces allowed around them
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let (tok, next) = match rest.find('|') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let bits = match tok {
                "IRUSR" => 0o400,
                "IWUSR" => 0o200,
                "IXUSR" => 0o100,
                "IRGRP" => 0o040,
                "IWGRP" => 0o020,
                "IXGRP" => 0o010,
                "IROTH" => 0o004,
                "IWOTH" => 0o002,
                "IXOTH" => 0o001,
                "" => 0,
                _ => {
                    ctx.err(s, format!("Unknown umask bit {rest}"));
                    return Ok(());
                }
            };
            mask |= bits;
            rest = next;
        }
    }
    ctx.cfg.global.umask = Some(mask);
    Ok(())
}

fn startup_script(ctx: &mut Ctx, s: &Stmt, startup: bool) -> Res {
    if s.len() < 2 {
        ctx.err(
            s,
            if startup {
                "startup script missing"
            } else {
                "shutdown script missing"
            },
        );
        return Ok(());
    }
    let sc = script::parse(ctx, s, 1, ScriptKind::Notify, s.key())?;
    if startup {
        ctx.cfg.global.startup_script = Some(sc);
    } else {
        ctx.cfg.global.shutdown_script = Some(sc);
    }
    Ok(())
}

fn script_timeout(ctx: &mut Ctx, s: &Stmt, startup: bool) -> Res {
    if bare(ctx, s) {
        return Ok(());
    }
    let v = ctx.arg(s, 1)?.to_string();
    match ctx.read_unsigned(s, 1, 1, 1000)? {
        Some(n) => {
            let d = Some(Duration::from_secs(n));
            if startup {
                ctx.cfg.global.startup_script_timeout = d;
            } else {
                ctx.cfg.global.shutdown_script_timeout = d;
            }
        }
        None => ctx.err_at(
            s,
            1,
            format!("{} '{v}' must be in [1, 1000] - ignoring", s.key()),
            "expected seconds in [1, 1000]",
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{load_str, ReaderOptions};
    use std::time::Duration;

    fn load(text: &str) -> crate::config::Loaded {
        load_str("/g.conf", text, ReaderOptions::default())
    }

    fn msgs(l: &crate::config::Loaded) -> Vec<String> {
        l.report.diags.iter().map(|d| d.message.clone()).collect()
    }

    #[test]
    fn common_global_defs_parse_clean() {
        let l = load(
            "global_defs {\n router_id LVS_1\n notification_email {\n a@b.c\n d@e.f\n }\n notification_email_from k@b.c\n smtp_server 127.0.0.1 25\n smtp_connect_timeout 30\n enable_script_security\n script_user root\n vrrp_skip_check_adv_addr\n vrrp_strict\n vrrp_garp_interval 0.001\n vrrp_gna_interval 0\n vrrp_garp_master_delay 10\n vrrp_version 3\n lvs_timeouts tcp 900 udp 30\n lvs_sync_daemon eth0 VI_1 id 5 port 8848\n}\n",
        );
        let g = &l.config.global;
        assert_eq!(
            msgs(&l),
            vec!["vrrp_gna_interval '0' is invalid".to_string()]
        );
        assert_eq!(g.router_id.as_deref(), Some("LVS_1"));
        assert_eq!(g.notification_email.len(), 2);
        assert_eq!(g.smtp_server, Some(("127.0.0.1".into(), 25)));
        assert!(g.script_security && g.vrrp_strict);
        assert_eq!(g.garp.master_delay, Some(Duration::from_secs(10)));
        assert_eq!(g.lvs_timeouts.tcp, Some(Duration::from_secs(900)));
        let d = g.lvs_sync_daemon.as_ref().unwrap();
        assert_eq!(
            (d.instance.as_deref(), d.syncid, d.port),
            (Some("VI_1"), Some(5), Some(8848))
        );
    }

    #[test]
    fn vrrp_iptables_not_supported() {
        let l = load("global_defs {\n vrrp_iptables\n}\n");
        assert!(msgs(&l)[0].starts_with("iptables not supported, using nftables instead."));
    }

    #[test]
    fn empty_notification_email_block() {
        let l = load("global_defs {\n notification_email {\n }\n}\n");
        assert_eq!(
            msgs(&l),
            vec!["Warning - empty notification_email block".to_string()]
        );
    }

    #[test]
    fn unknown_script_user() {
        let l = load("global_defs {\n script_user no_such_user_xyz\n}\n");
        assert_eq!(
            msgs(&l),
            vec!["Error setting global script uid/gid".to_string()]
        );
        assert!(l.config.global.script_user_failed);
    }

    #[test]
    fn umask_forms() {
        let l = load("global_defs {\n umask IWGRP | IXGRP|IWOTH\n}\n");
        assert_eq!(l.config.global.umask, Some(0o032));
        let l = load("global_defs {\n umask 0027\n}\n");
        assert_eq!(l.config.global.umask, Some(0o027));
        let l = load("global_defs {\n umask IRWXG|IRWXO\n}\n");
        assert_eq!(msgs(&l), vec!["Unknown umask bit IRWXG|IRWXO".to_string()]);
    }

    #[test]
    fn root_level_namespace_keywords() {
        let l = load("instance inst1\nuse_pid_dir\nchild_wait_time 10\n");
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
        assert_eq!(l.config.global.instance.as_deref(), Some("inst1"));
        assert_eq!(
            l.config.global.child_wait_time,
            Some(Duration::from_secs(10))
        );
    }
}

//! VRRP configuration: `vrrp_instance`, `vrrp_script`, `vrrp_sync_group`,
//! trackers (`track_file`, `vrrp_track_process`, `track_group`), static
//! addresses/routes/rules, `garp_group`, `linkbeat_interfaces` and
//! `interface_up_down_delays`, plus keepalived 2.2.7's post-parse checks.

use std::net::IpAddr;
use std::time::Duration;

use super::addr::{self, Route, Rule, SpecOrigin, Vip};
use super::diag::{Level, Loc};
use super::parser::{block, ignore, kw, Ctx, Keyword, Res, Stmt};
use super::script::{self, Script, ScriptKind};

// VRIDs and priorities are the VRRP core's types: one definition of each unit.
pub use crate::vrrp::types::{Priority, Vrid};

/// A tracker weight, with `reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weight {
    /// -254..=254 depending on the tracker.
    pub value: i16,
    /// `reverse`.
    pub reverse: bool,
}

/// Initial state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// `BACKUP` (default).
    #[default]
    Backup,
    /// `MASTER`.
    Master,
}

/// Authentication type (VRRPv2 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Simple password.
    Pass,
    /// IPSEC AH.
    Ah,
}

/// `authentication { }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// `auth_type`.
    pub kind: Option<AuthType>,
    /// `auth_pass`, at most 8 bytes.
    pub pass: Vec<u8>,
}

/// A reference to a tracker from an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRef {
    /// Tracker (or interface) name.
    pub name: String,
    /// Weight override.
    pub weight: Option<Weight>,
    /// Where it was written.
    pub loc: Loc,
}

/// A unicast peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnicastPeer {
    /// Address.
    pub addr: IpAddr,
    /// `min_ttl`.
    pub min_ttl: Option<u8>,
    /// `max_ttl`.
    pub max_ttl: Option<u8>,
}

/// `use_vmac` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vmac {
    /// Interface name (default `vrrp.VRID`).
    pub name: Option<String>,
    /// MAC address given.
    pub mac: Option<String>,
}

/// The notify scripts of an instance or sync group. Boxed: most are
/// absent, and an instance is kept twice (configuration and plan).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notifies {
    /// `notify_master`.
    pub master: Option<Box<Script>>,
    /// `notify_backup`.
    pub backup: Option<Box<Script>>,
    /// `notify_fault`.
    pub fault: Option<Box<Script>>,
    /// `notify_stop`.
    pub stop: Option<Box<Script>>,
    /// `notify_deleted`.
    pub deleted: Option<Box<Script>>,
    /// `notify`.
    pub generic: Option<Box<Script>>,
    /// `notify_master_rx_lower_pri`.
    pub master_rx_lower_pri: Option<Box<Script>>,
}

impl Notifies {
    /// All configured scripts.
    pub fn all(&self) -> impl Iterator<Item = &Script> {
        [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.deleted,
            &self.generic,
            &self.master_rx_lower_pri,
        ]
        .into_iter()
        .flatten()
        .map(|s| &**s)
    }
}

/// Trackers referenced by an instance or sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tracking {
    /// `track_interface`.
    pub interfaces: Vec<TrackRef>,
    /// `track_script`.
    pub scripts: Vec<TrackRef>,
    /// `track_file`.
    pub files: Vec<TrackRef>,
    /// `track_process`.
    pub processes: Vec<TrackRef>,
    /// `track_bfd`.
    pub bfds: Vec<TrackRef>,
}

/// GARP timing settings (instance or global).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Garp {
    /// `garp_master_delay`.
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`.
    pub master_repeat: Option<u32>,
    /// `garp_master_refresh`.
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`.
    pub master_refresh_repeat: Option<u32>,
    /// `garp_lower_prio_delay`.
    pub lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat`.
    pub lower_prio_repeat: Option<u32>,
    /// `garp_extra_if [all] SECS`: (all, interval).
    pub extra_if: Option<(bool, Duration)>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// Where it starts.
    pub loc: Option<Loc>,
    /// `interface`.
    pub interface: Option<String>,
    /// `state`.
    pub state: State,
    /// Whether `state` was given.
    pub state_set: bool,
    /// `virtual_router_id`.
    pub vrid: Option<Vrid>,
    /// `priority` (None = default, or 255 if state MASTER).
    pub priority: Option<Priority>,
    /// `advert_int` in microseconds.
    pub advert_int_us: Option<u64>,
    /// `version`.
    pub version: Option<u8>,
    /// `virtual_ipaddress`.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`.
    pub evips: Vec<Vip>,
    /// `virtual_routes`.
    pub routes: Vec<Route>,
    /// `virtual_rules`.
    pub rules: Vec<Rule>,
    /// `authentication`.
    pub auth: Option<Auth>,
    /// Trackers.
    pub track: Tracking,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Option<Duration>,
    /// `unicast_src_ip`.
    pub unicast_src: Option<IpAddr>,
    /// `unicast_peer`.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `unicast_ttl`.
    pub unicast_ttl: Option<u8>,
    /// `mcast_src_ip`.
    pub mcast_src: Option<IpAddr>,
    /// `mcast_dst_ip`.
    pub mcast_dst: Option<IpAddr>,
    /// Notify scripts.
    pub notify: Notifies,
    /// `notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// GARP timers.
    pub garp: Garp,
    /// `use_vmac`.
    pub vmac: Option<Vmac>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: bool,
    /// `use_vmac_addr`: addresses on another interface or of the other
    /// family each go on a VMAC of their own interface.
    pub vmac_addr: bool,
    /// `use_ipvlan`.
    pub ipvlan: Option<Vec<String>>,
    /// `vrf`.
    pub vrf: Option<String>,
    /// `accept` (Some(true)) / `no_accept` (Some(false)).
    pub accept: Option<bool>,
    /// `strict_mode`.
    pub strict_mode: Option<bool>,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: Option<bool>,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `track_src_ip`.
    pub track_src_ip: bool,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: Option<bool>,
    /// `down_timer_adverts`.
    pub down_timer_adverts: Option<u8>,
    /// `unicast_fault_no_peer`.
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `old_unicast_checksum [never]`.
    pub old_unicast_checksum: Option<bool>,
    /// `kernel_rx_buf_size`.
    pub kernel_rx_buf_size: Option<u64>,
    /// `native_ipv6`.
    pub native_ipv6: bool,
    /// Whether a unicast-only keyword was given.
    pub unicast_keyword: bool,
}

/// Accept mode as keepalived resolves it (`vrrp_complete_instance`): unset
/// means on for the address owner and otherwise off under strict mode;
/// strict VRRPv2 never accepts unless it owns the addresses (RFC 3768).
pub fn effective_accept(i: &VrrpInstance, g: &super::global::GlobalDefs) -> bool {
    let owner = i.effective_priority() == Priority::OWNER;
    let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
    let accept = i.accept.unwrap_or(owner || !strict);
    let v2 = !i.is_v6() && i.version.or(g.vrrp_version).unwrap_or(2) == 2;
    accept && (owner || !(strict && v2))
}

/// Whether a MASTER of `i` drops traffic to its VIPs (the firewall's
/// `vips` sets): no accept mode and not the address owner.
pub fn drops_vip_traffic(i: &VrrpInstance, g: &super::global::GlobalDefs) -> bool {
    i.effective_priority() != Priority::OWNER && !effective_accept(i, g)
}

impl VrrpInstance {
    /// Effective configured priority.
    pub fn effective_priority(&self) -> Priority {
        self.priority.unwrap_or(if self.state == State::Master {
            Priority::OWNER
        } else {
            Priority::DEFAULT
        })
    }

    /// Whether the instance is IPv6 (from its first VIP).
    pub fn is_v6(&self) -> bool {
        self.native_ipv6 || self.vips.first().is_some_and(|v| v.prefix.is_v6())
    }
}

/// One `vrrp_script`.
#[derive(Debug, Clone, PartialEq)]
pub struct VrrpScript {
    /// Name.
    pub name: String,
    /// Where it starts.
    pub loc: Loc,
    /// `script`.
    pub script: Option<Script>,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout` (default = interval).
    pub timeout: Option<Duration>,
    /// `weight`.
    pub weight: Weight,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// `user USER [GROUP]`.
    pub user: Option<(String, Option<String>)>,
    /// `init_fail`.
    pub init_fail: bool,
    /// Disabled by validation (not found, insecure, no user).
    pub disabled: bool,
}

/// `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// Where it starts.
    pub loc: Option<Loc>,
    /// `group { }` members with their lines.
    pub members: Vec<(String, Loc)>,
    /// Notify scripts.
    pub notify: Notifies,
    /// Trackers.
    pub track: Tracking,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `sync_group_tracking_weight` / `global_tracking`.
    pub tracking_weight: bool,
    /// `notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
}

/// `track_file` / `vrrp_track_file`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackFile {
    /// Name.
    pub name: String,
    /// Where it starts.
    pub loc: Option<Loc>,
    /// `file`.
    pub file: Option<String>,
    /// `weight` (default 1).
    pub weight: Weight,
    /// `init_file [VALUE] [overwrite]`.
    pub init: Option<(i64, bool)>,
}

/// Parameter matching of `vrrp_track_process` (keepalived's
/// `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamMatch {
    /// No parameters given and no `param_match`: the name alone matches.
    #[default]
    None,
    /// `param_match` without a value, or parameters given: exactly these.
    Exact,
    /// `initial`.
    Initial,
    /// `partial`.
    Partial,
}

/// `vrrp_track_process`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackProcess {
    /// Name.
    pub name: String,
    /// Where it starts.
    pub loc: Option<Loc>,
    /// `process NAME [args]`.
    pub process: Vec<String>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `weight`.
    pub weight: Weight,
    /// `quorum`.
    pub quorum: u32,
    /// `quorum_max`.
    pub quorum_max: Option<u32>,
    /// `delay`, the last one given (it also set both delays below).
    pub delay: Option<Duration>,
    /// `fork_delay` (or `delay`, whichever came last).
    pub fork_delay: Option<Duration>,
    /// `terminate_delay` (or `delay`, whichever came last).
    pub terminate_delay: Option<Duration>,
    /// `full_command`, also implied by parameters and `param_match`.
    pub full_command: bool,
}

/// `garp_group`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GarpGroup {
    /// `garp_interval`.
    pub garp_interval: Option<Duration>,
    /// `gna_interval`.
    pub gna_interval: Option<Duration>,
    /// Interfaces.
    pub interfaces: Vec<String>,
}

/// `track_group`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackGroup {
    /// Name.
    pub name: String,
    /// Instance names.
    pub instances: Vec<String>,
}

/// Global settings read before the full parse (see `config::prescan`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarlyGlobals {
    /// `dynamic_interfaces` is set.
    pub dynamic_interfaces: bool,
    /// `enable_script_security` is set.
    pub script_security: bool,
    /// `script_user`.
    pub script_user: Option<(String, Option<String>)>,
    /// `script_user` names an unknown user or group.
    pub script_user_failed: bool,
    /// `net_namespace` is set.
    pub net_namespace: bool,
}

/// Everything the VRRP child runs from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VrrpConfig {
    /// `vrrp_instance` blocks in file order.
    pub instances: Vec<VrrpInstance>,
    /// Names of `instances`, for the duplicate check.
    pub instance_names: std::collections::HashSet<String>,
    /// `vrrp_script` blocks.
    pub scripts: Vec<VrrpScript>,
    /// `vrrp_sync_group` blocks.
    pub sync_groups: Vec<SyncGroup>,
    /// `track_file` blocks.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks.
    pub track_processes: Vec<TrackProcess>,
    /// `static_ipaddress`.
    pub static_addresses: Vec<Vip>,
    /// `static_routes`.
    pub static_routes: Vec<Route>,
    /// `static_rules`.
    pub static_rules: Vec<Rule>,
    /// `garp_group` blocks.
    pub garp_groups: Vec<GarpGroup>,
    /// `track_group` blocks.
    pub track_groups: Vec<TrackGroup>,
    /// `linkbeat_interfaces`: (name, method).
    pub linkbeat_interfaces: Vec<(String, Option<String>)>,
    /// `interface_up_down_delays`: (name, down, up).
    pub up_down_delays: Vec<(String, Duration, Duration)>,
    /// Some interface named in the configuration does not exist.
    pub missing_interface: bool,
    /// Globals known before the full parse.
    pub early: EarlyGlobals,
    /// `garp_group` blocks read (keepalived numbers them from 0 in messages).
    pub garp_groups_seen: usize,
    /// Rules given without a preference so far (IPv4, IPv6).
    pub auto_rule_preferences: (u32, u32),
}

impl VrrpConfig {
    /// keepalived numbers rules without a preference downwards from 16384,
    /// separately for each address family.
    pub fn next_rule_preference(&mut self, v6: bool) -> u32 {
        let n = if v6 {
            &mut self.auto_rule_preferences.1
        } else {
            &mut self.auto_rule_preferences.0
        };
        let p = 16384 - (*n).min(16384);
        *n += 1;
        p
    }
}

// ===================== keyword tables =====================

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[
    block("vrrp_instance", Some(instance), INSTANCE, None),
    block("vrrp_script", Some(vscript), SCRIPT, Some(vscript_end)),
    block("vrrp_sync_group", Some(sync_group), SYNC_GROUP, None),
    block(
        "track_file",
        Some(track_file),
        TRACK_FILE,
        Some(track_file_end),
    ),
    block(
        "vrrp_track_file",
        Some(track_file),
        TRACK_FILE,
        Some(track_file_end),
    ),
    block(
        "vrrp_track_process",
        Some(track_process),
        TRACK_PROCESS,
        Some(track_process_end),
    ),
    kw("static_ipaddress", static_ipaddress),
    kw("static_routes", static_routes),
    kw("static_rules", static_rules),
    block(
        "garp_group",
        Some(garp_group),
        GARP_GROUP,
        Some(garp_group_end),
    ),
    block("track_group", Some(track_group), TRACK_GROUP, None),
    kw("linkbeat_interfaces", linkbeat_interfaces),
    kw("interface_up_down_delays", up_down_delays),
];

/// Keywords inside `vrrp_instance`.
pub static INSTANCE: &[Keyword] = &[
    kw("state", state),
    kw("interface", interface),
    kw("dont_track_primary", |c, _| {
        flag(c, |i| i.dont_track_primary = true)
    }),
    kw("track_interface", |c, s| {
        track_list(c, s, TrackKind::Interface, false)
    }),
    kw("track_script", |c, s| {
        track_list(c, s, TrackKind::Script, false)
    }),
    kw("track_file", |c, s| {
        track_list(c, s, TrackKind::File, false)
    }),
    kw("track_process", |c, s| {
        track_list(c, s, TrackKind::Process, false)
    }),
    kw("track_bfd", |c, s| track_list(c, s, TrackKind::Bfd, false)),
    kw("mcast_src_ip", mcast_src_ip),
    kw("unicast_src_ip", unicast_src_ip),
    kw("unicast_peer", unicast_peer),
    kw("unicast_ttl", unicast_ttl),
    kw("unicast_fault_no_peer", |c, _| {
        flag(c, |i| i.unicast_fault_no_peer = true)
    }),
    kw("check_unicast_src", |c, _| {
        flag(c, |i| {
            i.check_unicast_src = true;
            i.unicast_keyword = true;
        })
    }),
    kw("old_unicast_checksum", old_unicast_checksum),
    kw("mcast_dst_ip", mcast_dst_ip),
    kw("virtual_router_id", vrid),
    kw("priority", priority),
    kw("advert_int", advert_int),
    kw("virtual_ipaddress", |c, s| vips(c, s, false)),
    kw("virtual_ipaddress_excluded", |c, s| vips(c, s, true)),
    kw("virtual_routes", vroutes),
    kw("virtual_rules", vrules),
    kw("promote_secondaries", |c, _| {
        flag(c, |i| i.promote_secondaries = true)
    }),
    kw("linkbeat_use_polling", |c, s| {
        let n = cur_name(c);
        c.err(s, format!("({n}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"));
        Ok(())
    }),
    kw("accept", |c, _| flag(c, |i| i.accept = Some(true))),
    kw("no_accept", |c, _| flag(c, |i| i.accept = Some(false))),
    kw("skip_check_adv_addr", |c, s| {
        bool_opt(c, s, |i, b| i.skip_check_adv_addr = Some(b))
    }),
    kw("strict_mode", |c, s| {
        bool_opt(c, s, |i, b| i.strict_mode = Some(b))
    }),
    // keepalived: backwards compatibility, undoes an earlier `nopreempt`
    kw("preempt", |c, _| flag(c, |i| i.nopreempt = false)),
    kw("nopreempt", |c, _| flag(c, |i| i.nopreempt = true)),
    kw("preempt_delay", preempt_delay),
    kw("debug", ignore),
    kw("notify_backup", |c, s| notify(c, s, NotifyKind::Backup)),
    kw("notify_master", |c, s| notify(c, s, NotifyKind::Master)),
    kw("notify_fault", |c, s| notify(c, s, NotifyKind::Fault)),
    kw("notify_stop", |c, s| notify(c, s, NotifyKind::Stop)),
    kw("notify_deleted", |c, s| notify(c, s, NotifyKind::Deleted)),
    kw("notify", |c, s| notify(c, s, NotifyKind::Generic)),
    kw("notify_master_rx_lower_pri", |c, s| {
        notify(c, s, NotifyKind::MasterRxLowerPri)
    }),
    kw("notify_priority_changes", |c, s| {
        bool_opt(c, s, |i, b| i.notify_priority_changes = Some(b))
    }),
    kw("smtp_alert", |c, s| {
        match s.get(1).map(super::parser::check_true_false) {
            None => cur(c).smtp_alert = Some(true),
            Some(Some(b)) => cur(c).smtp_alert = Some(b),
            Some(None) => {
                let v = s.get(1).unwrap_or("").to_string();
                c.err_at(
                    s,
                    1,
                    format!("Invalid vrrp_instance smtp_alert parameter {v}"),
                    "expected on|off|true|false|yes|no",
                );
            }
        }
        Ok(())
    }),
    kw("lvs_sync_daemon_interface", lvs_sync_daemon_interface),
    kw("garp_master_delay", |c, s| {
        garp_delay(c, s, |g, d| g.master_delay = Some(d))
    }),
    kw("garp_master_repeat", |c, s| {
        garp_repeat(c, s, |g, n| g.master_repeat = Some(n))
    }),
    kw("garp_lower_prio_delay", |c, s| {
        garp_delay(c, s, |g, d| g.lower_prio_delay = Some(d))
    }),
    kw("garp_lower_prio_repeat", |c, s| {
        garp_repeat(c, s, |g, n| g.lower_prio_repeat = Some(n))
    }),
    kw("garp_master_refresh", |c, s| {
        garp_delay(c, s, |g, d| g.master_refresh = Some(d))
    }),
    kw("garp_master_refresh_repeat", |c, s| {
        garp_repeat(c, s, |g, n| g.master_refresh_repeat = Some(n))
    }),
    kw("garp_extra_if", garp_extra_if),
    kw("vmac_garp_intvl", garp_extra_if),
    kw("down_timer_adverts", down_timer_adverts),
    kw("lower_prio_no_advert", |c, s| {
        bool_opt(c, s, |i, b| i.lower_prio_no_advert = Some(b))
    }),
    kw("higher_prio_send_advert", |c, s| {
        bool_opt(c, s, |i, b| i.higher_prio_send_advert = Some(b))
    }),
    kw("kernel_rx_buf_size", kernel_rx_buf_size),
    kw("version", version),
    kw("native_ipv6", native_ipv6),
    kw("use_vmac", use_vmac),
    kw("vmac_xmit_base", |c, _| {
        flag(c, |i| i.vmac_xmit_base = true)
    }),
    kw("use_vmac_addr", |c, _| flag(c, |i| i.vmac_addr = true)),
    kw("use_ipvlan", use_ipvlan),
    kw("vrf", vrf),
    block("authentication", Some(auth_start), AUTH, None),
    kw("track_src_ip", |c, _| flag(c, |i| i.track_src_ip = true)),
];

/// Keywords inside `authentication`.
pub static AUTH: &[Keyword] = &[kw("auth_type", auth_type), kw("auth_pass", auth_pass)];

/// Keywords inside `vrrp_script`.
pub static SCRIPT: &[Keyword] = &[
    kw("script", script_script),
    kw("interval", script_interval),
    kw("timeout", script_timeout),
    kw("weight", script_weight),
    kw("rise", |c, s| script_count(c, s, true)),
    kw("fall", |c, s| script_count(c, s, false)),
    kw("user", script_user),
    kw("init_fail", |c, _| {
        if let Some(v) = c.cfg.vrrp.scripts.last_mut() {
            v.init_fail = true;
        }
        Ok(())
    }),
];

/// Keywords inside `vrrp_sync_group`.
pub static SYNC_GROUP: &[Keyword] = &[
    kw("group", sg_group),
    kw("notify_backup", |c, s| sg_notify(c, s, NotifyKind::Backup)),
    kw("notify_master", |c, s| sg_notify(c, s, NotifyKind::Master)),
    kw("notify_fault", |c, s| sg_notify(c, s, NotifyKind::Fault)),
    kw("notify_stop", |c, s| sg_notify(c, s, NotifyKind::Stop)),
    kw("notify", |c, s| sg_notify(c, s, NotifyKind::Generic)),
    kw("smtp_alert", |c, s| {
        let b = c.read_bool_opt(s, 1);
        if let (Some(b), Some(g)) = (b, c.cfg.vrrp.sync_groups.last_mut()) {
            g.smtp_alert = Some(b);
        }
        Ok(())
    }),
    kw("global_tracking", sg_tracking_weight),
    kw("sync_group_tracking_weight", sg_tracking_weight),
    kw("track_interface", |c, s| {
        track_list(c, s, TrackKind::Interface, true)
    }),
    kw("track_script", |c, s| {
        track_list(c, s, TrackKind::Script, true)
    }),
    kw("track_file", |c, s| track_list(c, s, TrackKind::File, true)),
    kw("track_process", |c, s| {
        track_list(c, s, TrackKind::Process, true)
    }),
    kw("track_bfd", |c, s| track_list(c, s, TrackKind::Bfd, true)),
    kw("notify_priority_changes", |c, s| {
        let b = c.read_bool_opt(s, 1);
        if let (Some(b), Some(g)) = (b, c.cfg.vrrp.sync_groups.last_mut()) {
            g.notify_priority_changes = Some(b);
        }
        Ok(())
    }),
];

/// Keywords inside `track_file`.
pub static TRACK_FILE: &[Keyword] = &[
    kw("file", tf_file),
    kw("weight", tf_weight),
    kw("init_file", tf_init),
];

/// Keywords inside `vrrp_track_process`.
pub static TRACK_PROCESS: &[Keyword] = &[
    kw("process", tp_process),
    kw("param_match", tp_param_match),
    kw("weight", tp_weight),
    kw("quorum", |c, s| tp_quorum(c, s, false)),
    kw("quorum_max", |c, s| tp_quorum(c, s, true)),
    kw("delay", |c, s| tp_delay(c, s, 0)),
    kw("fork_delay", |c, s| tp_delay(c, s, 1)),
    kw("terminate_delay", |c, s| tp_delay(c, s, 2)),
    kw("full_command", |c, _| {
        if let Some(p) = c.cfg.vrrp.track_processes.last_mut() {
            p.full_command = true;
        }
        Ok(())
    }),
];

/// Keywords inside `garp_group`.
pub static GARP_GROUP: &[Keyword] = &[
    kw("garp_interval", |c, s| gg_interval(c, s, true)),
    kw("gna_interval", |c, s| gg_interval(c, s, false)),
    kw("interface", gg_interface),
    kw("interfaces", gg_interfaces),
];

/// Keywords inside `track_group`.
pub static TRACK_GROUP: &[Keyword] = &[kw("group", tg_group)];

// ===================== helpers =====================

fn cur(ctx: &mut Ctx) -> &mut VrrpInstance {
    if ctx.cfg.vrrp.instances.is_empty() {
        ctx.cfg.vrrp.instances.push(VrrpInstance::default());
    }
    ctx.cfg.vrrp.instances.last_mut().expect("instance")
}

fn cur_name(ctx: &mut Ctx) -> String {
    cur(ctx).name.clone()
}

fn flag(ctx: &mut Ctx, f: impl FnOnce(&mut VrrpInstance)) -> Res {
    f(cur(ctx));
    Ok(())
}

fn bool_opt(ctx: &mut Ctx, s: &Stmt, f: impl FnOnce(&mut VrrpInstance, bool)) -> Res {
    if let Some(b) = ctx.read_bool_opt(s, 1) {
        f(cur(ctx), b);
    }
    Ok(())
}

fn us(d: u64) -> Duration {
    Duration::from_micros(d)
}

/// Reads `weight N [reverse|noreverse]` style values starting at `i`.
fn read_weight(
    ctx: &mut Ctx,
    s: &Stmt,
    i: usize,
    max: i64,
) -> Result<Option<Weight>, super::parser::Fatal> {
    let Some(v) = ctx.read_int(s, i, -max, max)? else {
        return Ok(None);
    };
    let mut w = Weight {
        value: v as i16,
        reverse: false,
    };
    match s.get(i + 1) {
        Some("reverse") => w.reverse = true,
        Some("noreverse") | None => {}
        Some(x) => {
            ctx.err_at(
                s,
                i + 1,
                format!("{} has unknown weight option '{}' - ignoring", s.key(), x),
                "expected reverse or noreverse",
            );
        }
    }
    Ok(Some(w))
}

/// Whether an interface exists, or need not (`dynamic_interfaces`).
pub fn interface_ok(ctx: &Ctx, name: &str) -> bool {
    ctx.cfg.dynamic_interfaces() || crate::sys::interface_exists(name)
}

// ===================== vrrp_instance =====================

fn instance(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        ctx.err(s, "vrrp_instance must have a name");
        ctx.skip_block(true);
        return Ok(());
    }
    let name = ctx.arg(s, 1)?.to_string();
    if !ctx.cfg.vrrp.instance_names.insert(name.clone()) {
        ctx.err(s, format!("vrrp instance {name} already defined"));
        ctx.skip_block(true);
        return Ok(());
    }
    if s.len() > 2 && s.get(2) != Some("{") {
        ctx.err_at(
            s,
            2,
            format!(
                "Block {} has extra parameters {} ...",
                s.key(),
                s.get(2).unwrap_or("")
            ),
            "a block takes one name",
        );
    }
    ctx.cfg.vrrp.instances.push(VrrpInstance {
        name,
        loc: Some(s.loc.clone()),
        ..Default::default()
    });
    Ok(())
}

fn state(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    let i = cur(ctx);
    match v.as_str() {
        "MASTER" => {
            i.state = State::Master;
            i.state_set = true;
        }
        "BACKUP" => {
            i.state = State::Backup;
            i.state_set = true;
        }
        _ => ctx.err_at(
            s,
            1,
            format!("({name}) unknown state '{v}', defaulting to BACKUP"),
            "expected MASTER or BACKUP",
        ),
    }
    Ok(())
}

fn interface(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    if v == "lo" || crate::sys::is_loopback(&v) {
        ctx.err_at(
            s,
            1,
            format!("({name}) cannot use a loopback interface ({v}) for vrrp - ignoring"),
            "VRRP needs a real interface",
        );
        return Ok(());
    }
    if !interface_ok(ctx, &v) {
        ctx.err_at(
            s,
            1,
            format!("WARNING - interface {v} for vrrp_instance {name} doesn't exist"),
            "no such interface in this namespace",
        );
        ctx.cfg.vrrp.missing_interface = true;
        return Ok(());
    }
    cur(ctx).interface = Some(v);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    Interface,
    Script,
    File,
    Process,
    Bfd,
}

fn track_list(ctx: &mut Ctx, s: &Stmt, kind: TrackKind, group: bool) -> Res {
    let lines = ctx.value_block(s);
    let max = match kind {
        TrackKind::Process | TrackKind::File => 254,
        _ => 253,
    };
    let owner = if group {
        ctx.cfg
            .vrrp
            .sync_groups
            .last()
            .map(|g| g.name.clone())
            .unwrap_or_default()
    } else {
        cur_name(ctx)
    };
    let mut refs = Vec::new();
    for l in lines {
        let name = l.key().to_string();
        let mut weight = None;
        let kwname = s.key().to_string();
        if l.len() > 1 {
            if l.get(1) == Some("weight") {
                if l.len() < 3 {
                    ctx.err_at(&l, 1, format!("({owner}) weight without value specified for {kwname} {name} - ignoring"), "expected weight N");
                } else if let Some(v) = ctx
                    .read_int(&l, 2, -254, 254)?
                    .or_else(|| l.get(2).and_then(|w| w.parse().ok()))
                {
                    if v.abs() > max {
                        ctx.err_at(
                            &l,
                            2,
                            format!("({owner}) weight {v} for {name} must be between [-{max}..{max}] inclusive. Ignoring..."),
                            format!("expected -{max}..{max}"),
                        );
                    } else {
                        let reverse = match l.get(3) {
                            Some("reverse") => true,
                            Some("noreverse") | None => false,
                            Some(x) => {
                                let x = x.to_string();
                                ctx.err_at(
                                    &l,
                                    3,
                                    format!(
                                        "({owner}) unknown {kwname} {name} option {x} - ignoring"
                                    ),
                                    "expected reverse or noreverse",
                                );
                                false
                            }
                        };
                        weight = Some(Weight {
                            value: v as i16,
                            reverse,
                        });
                    }
                }
            } else if matches!(l.get(1), Some("reverse" | "noreverse")) {
                weight = None;
            } else {
                let x = l.get(1).unwrap_or("").to_string();
                ctx.err_at(
                    &l,
                    1,
                    format!("({owner}) unknown {kwname} {name} option {x} - ignoring"),
                    "expected weight N [reverse]",
                );
            }
        }
        let known = match kind {
            TrackKind::Script => ctx.cfg.vrrp.scripts.iter().any(|x| x.name == name),
            TrackKind::File => ctx.cfg.vrrp.track_files.iter().any(|x| x.name == name),
            TrackKind::Process => ctx.cfg.vrrp.track_processes.iter().any(|x| x.name == name),
            TrackKind::Bfd => ctx.cfg.bfd.iter().any(|x| x.name == name),
            TrackKind::Interface => true,
        };
        if !known {
            let what = match kind {
                TrackKind::Script => "track script",
                TrackKind::File => "track file",
                TrackKind::Bfd => "track bfd",
                _ => "track process",
            };
            ctx.err_at(
                &l,
                0,
                format!("({owner}) {what} {name} not found, ignoring..."),
                "it must be defined before it is used",
            );
            continue;
        }
        if kind == TrackKind::Interface && !interface_ok(ctx, &name) {
            ctx.err_at(
                &l,
                0,
                format!("({owner}) tracked interface {name} doesn't exist"),
                "no such interface in this namespace",
            );
            ctx.cfg.vrrp.missing_interface = true;
            continue;
        }
        refs.push(TrackRef {
            name,
            weight,
            loc: l.loc.clone(),
        });
    }
    let t = if group {
        match ctx.cfg.vrrp.sync_groups.last_mut() {
            Some(g) => &mut g.track,
            None => return Ok(()),
        }
    } else {
        &mut cur(ctx).track
    };
    let list = match kind {
        TrackKind::Interface => &mut t.interfaces,
        TrackKind::Script => &mut t.scripts,
        TrackKind::File => &mut t.files,
        TrackKind::Process => &mut t.processes,
        TrackKind::Bfd => &mut t.bfds,
    };
    list.extend(refs);
    Ok(())
}

/// keepalived checks VMAC + unicast as soon as a unicast keyword is read.
fn check_vmac_unicast(ctx: &mut Ctx, s: &Stmt) {
    let i = cur(ctx);
    if (i.vmac.is_some() || i.ipvlan.is_some()) && i.interface.is_none() {
        i.vmac = None;
        i.ipvlan = None;
        let n = cur_name(ctx);
        ctx.err(
            s,
            format!(
                "({n}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"
            ),
        );
    }
}

/// The instance's address family so far (from its first VIP): Some(true) = IPv6.
fn family(i: &VrrpInstance) -> Option<bool> {
    (i.native_ipv6 || !i.vips.is_empty()).then(|| i.is_v6())
}

fn parse_addr(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn mcast_src_ip(ctx: &mut Ctx, s: &Stmt) -> Res {
    src_ip(ctx, s, false)
}

fn unicast_src_ip(ctx: &mut Ctx, s: &Stmt) -> Res {
    src_ip(ctx, s, true)
}

fn src_ip(ctx: &mut Ctx, s: &Stmt, unicast: bool) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    match parse_addr(v.split('/').next().unwrap_or("")) {
        Some(a) if family(cur(ctx)).is_some_and(|f| f != a.is_ipv6()) => {
            ctx.err_at(s, 1, format!("Configuration error: VRRP instance[{name}] and src address[{v}] MUST be of the same family !!! Skipping..."), "the address family must match the VIPs");
        }
        Some(a) => {
            if unicast {
                check_vmac_unicast(ctx, s);
            }
            let i = cur(ctx);
            if unicast {
                i.unicast_src = Some(a);
                i.unicast_keyword = true;
            } else {
                i.mcast_src = Some(a);
            }
        }
        None => ctx.err_at(s, 1, format!("Configuration error: VRRP instance[{name}] malformed src address[{v}]. Skipping..."), "expected an IP address"),
    }
    Ok(())
}

fn unicast_peer(ctx: &mut Ctx, s: &Stmt) -> Res {
    let lines = ctx.value_block(s);
    let name = cur_name(ctx);
    cur(ctx).unicast_keyword = true;
    check_vmac_unicast(ctx, s);
    for l in lines {
        let a = l.key().to_string();
        let Some(addr) = parse_addr(&a) else {
            ctx.err_at(&l, 0, format!("Configuration error: VRRP instance[{name}] malformed unicast peer address[{a}]. Skipping..."), "expected an IP address");
            continue;
        };
        if family(cur(ctx)).is_some_and(|f| f != addr.is_ipv6()) {
            ctx.err_at(&l, 0, format!("Configuration error: VRRP instance[{name}] and unicast peer address[{a}] MUST be of the same family !!! Skipping..."), "the address family must match the VIPs");
            continue;
        }
        let mut p = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        };
        let mut j = 1;
        while j < l.len() {
            match l.get(j) {
                Some("min_ttl") => {
                    p.min_ttl = ctx.read_unsigned(&l, j + 1, 0, 255)?.map(|v| v as u8)
                }
                Some("max_ttl") => {
                    p.max_ttl = ctx.read_unsigned(&l, j + 1, 0, 255)?.map(|v| v as u8)
                }
                Some(x) => {
                    ctx.err_at(
                        &l,
                        j,
                        format!("Unknown unicast_peer option {x}"),
                        "expected min_ttl or max_ttl",
                    );
                    break;
                }
                None => break,
            }
            j += 2;
        }
        cur(ctx).unicast_peers.push(p);
    }
    Ok(())
}

fn unicast_ttl(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 1, 255)? {
        cur(ctx).unicast_ttl = Some(v as u8);
    }
    Ok(())
}

fn old_unicast_checksum(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = match s.get(1) {
        None => Some(true),
        Some("never") => Some(false),
        Some(x) => {
            let x = x.to_string();
            ctx.err_at(
                s,
                1,
                format!("Unknown old_unicast_checksum mode {x} - ignoring"),
                "expected never",
            );
            None
        }
    };
    if v.is_some() {
        let i = cur(ctx);
        i.old_unicast_checksum = v;
        i.unicast_keyword = true;
    }
    Ok(())
}

fn mcast_dst_ip(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    match parse_addr(&v).filter(|a| a.is_multicast()) {
        Some(a) => cur(ctx).mcast_dst = Some(a),
        None => {
            let name = cur_name(ctx);
            ctx.err_at(
                s,
                1,
                format!("({name}) mcast_dst_ip {v} not multicast. Skipping..."),
                "expected a multicast address",
            );
        }
    }
    Ok(())
}

fn vrid(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = cur_name(ctx);
    match ctx.read_unsigned(s, 1, 1, 255)? {
        Some(v) => cur(ctx).vrid = Vrid::new(v as u8),
        None => {
            let v = s.get(1).unwrap_or("").to_string();
            ctx.err_at(
                s,
                1,
                format!("({name}): VRID '{v}' not valid - must be between 1 & 255"),
                "expected 1..255",
            );
        }
    }
    Ok(())
}

fn priority(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = cur_name(ctx);
    match ctx.read_unsigned(s, 1, 1, 255)? {
        Some(v) => cur(ctx).priority = Some(Priority(v as u8)),
        None => {
            ctx.err_at(
                s,
                1,
                format!("({name}) Priority not valid! must be between 1 & 255. Using default 100"),
                "expected 1..255",
            );
            // Set, so that `state MASTER` does not make it the owner.
            cur(ctx).priority = Some(Priority::DEFAULT);
        }
    }
    Ok(())
}

fn advert_int(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    match super::parser::parse_c_double(&v).filter(|d| d.is_finite() && (0.01..=255.0).contains(d))
    {
        Some(d) => cur(ctx).advert_int_us = Some((d * 1_000_000.0).round() as u64),
        None if super::parser::parse_c_double(&v).is_none() => {
            ctx.err_at(
                s,
                1,
                format!("invalid number '{v}'"),
                "expected seconds in [0.01, 255]",
            );
        }
        None => {
            ctx.err_at(
                s,
                1,
                format!("number '{v}' outside range [0.010000, 255.000000]"),
                "expected seconds in [0.01, 255]",
            );
            ctx.err_at(
                s,
                1,
                format!("({name}) Advert interval ({v}) not valid! Must be > 0 - ignoring"),
                "expected seconds in [0.01, 255]",
            );
        }
    }
    Ok(())
}

fn vips(ctx: &mut Ctx, s: &Stmt, excluded: bool) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Instance, addr::parse_vip);
    let i = cur(ctx);
    if excluded {
        i.evips.extend(v);
    } else {
        i.vips.extend(v);
    }
    Ok(())
}

fn vroutes(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Instance, addr::parse_route);
    cur(ctx).routes.extend(v);
    Ok(())
}

fn vrules(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Instance, addr::parse_rule);
    cur(ctx).rules.extend(v);
    Ok(())
}

fn preempt_delay(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    match super::parser::parse_c_double(&v).filter(|d| d.is_finite() && (0.0..=1000.0).contains(d))
    {
        Some(d) => cur(ctx).preempt_delay = Some(Duration::from_micros((d * 1_000_000.0) as u64)),
        None if super::parser::parse_c_double(&v).is_none() => {
            ctx.err_at(
                s,
                1,
                format!("invalid number '{v}'"),
                "expected seconds in [0, 1000]",
            );
        }
        None => {
            ctx.err_at(
                s,
                1,
                format!("number '{v}' outside range [0.000000, 1000.000000]"),
                "expected seconds in [0, 1000]",
            );
            ctx.err_at(
                s,
                1,
                format!("({name}) Preempt_delay not valid! must be between 0-1000"),
                "expected seconds in [0, 1000]",
            );
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum NotifyKind {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    Generic,
    MasterRxLowerPri,
}

fn set_notify(n: &mut Notifies, k: NotifyKind, sc: Script) {
    let slot = match k {
        NotifyKind::Master => &mut n.master,
        NotifyKind::Backup => &mut n.backup,
        NotifyKind::Fault => &mut n.fault,
        NotifyKind::Stop => &mut n.stop,
        NotifyKind::Deleted => &mut n.deleted,
        NotifyKind::Generic => &mut n.generic,
        NotifyKind::MasterRxLowerPri => &mut n.master_rx_lower_pri,
    };
    *slot = Some(Box::new(sc));
}

fn notify(ctx: &mut Ctx, s: &Stmt, k: NotifyKind) -> Res {
    let name = cur_name(ctx);
    if matches!(k, NotifyKind::Deleted) && s.len() < 2 {
        return Ok(());
    }
    let sc = script::parse(ctx, s, 1, ScriptKind::Notify, &name)?;
    set_notify(&mut cur(ctx).notify, k, sc);
    Ok(())
}

fn lvs_sync_daemon_interface(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.arg(s, 1)?;
    let name = cur_name(ctx);
    ctx.err(
        s,
        format!("({name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated."),
    );
    ctx.err(s, "        Please use global lvs_sync_daemon");
    Ok(())
}

fn garp_delay(ctx: &mut Ctx, s: &Stmt, f: impl FnOnce(&mut Garp, Duration)) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let name = cur_name(ctx);
    match ctx.read_unsigned(s, 1, 0, u32::MAX as u64 / 1_000_000)? {
        Some(n) => f(&mut cur(ctx).garp, Duration::from_secs(n)),
        None if s.key() == "garp_master_refresh" => ctx.err_at(
            s,
            1,
            format!("({name}): Invalid garp_master_refresh '{v}' - ignoring"),
            "expected whole seconds",
        ),
        None => ctx.err_at(
            s,
            1,
            format!("({name}): {} '{v}' invalid - ignoring", s.key()),
            "expected whole seconds",
        ),
    }
    Ok(())
}

fn garp_repeat(ctx: &mut Ctx, s: &Stmt, f: impl FnOnce(&mut Garp, u32)) -> Res {
    if let Some(mut v) = ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        if v == 0 && matches!(s.key(), "garp_master_repeat" | "garp_master_refresh_repeat") {
            let name = cur_name(ctx);
            ctx.err_at(
                s,
                1,
                format!("({name}): {} must be greater than 0, setting to 1", s.key()),
                "expected at least 1",
            );
            v = 1;
        }
        f(&mut cur(ctx).garp, v as u32);
    }
    Ok(())
}

fn garp_extra_if(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        let n = cur_name(ctx);
        ctx.err(
            s,
            format!("({n}): garp_extra_if specified without time - ignoring"),
        );
        return Ok(());
    }
    let (all, i) = if s.get(1) == Some("all") {
        (true, 2)
    } else {
        (false, 1)
    };
    if s.get(i).is_none() {
        cur(ctx).garp.extra_if = Some((all, Duration::ZERO));
        return Ok(());
    }
    if let Some(v) = ctx.read_timer(s, i, 0, 86_400_000_000)? {
        cur(ctx).garp.extra_if = Some((all, us(v)));
    }
    Ok(())
}

fn down_timer_adverts(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 1, 100)? {
        cur(ctx).down_timer_adverts = Some(v as u8);
    }
    Ok(())
}

fn kernel_rx_buf_size(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        let n = cur_name(ctx);
        ctx.err(s, format!("({n}) invalid kernel_rx_buf_size specified"));
        return Ok(());
    }
    if let Some(v) = ctx.read_unsigned(s, 1, 0, u32::MAX as u64)? {
        cur(ctx).kernel_rx_buf_size = Some(v);
    }
    Ok(())
}

fn version(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = cur_name(ctx);
    match ctx.read_unsigned(s, 1, 2, 3)? {
        Some(2) if family(cur(ctx)) == Some(true) => {
            let cv = cur(ctx).version.unwrap_or(0);
            ctx.err_at(s, 1, format!("({name}) vrrp_version 2 conflicts with configured or deduced version {cv}; ignoring."), "IPv6 instances use VRRPv3");
        }
        Some(v) => cur(ctx).version = Some(v as u8),
        None => ctx.err_at(
            s,
            1,
            format!("({name}): Version must be either 2 or 3"),
            "expected 2 or 3",
        ),
    }
    Ok(())
}

fn native_ipv6(ctx: &mut Ctx, s: &Stmt) -> Res {
    let i = cur(ctx);
    if i.vips
        .iter()
        .chain(i.evips.iter())
        .any(|v| !v.prefix.is_v6())
    {
        let n = cur_name(ctx);
        ctx.err(
            s,
            format!("({n}) Cannot specify native_ipv6 with IPv4 addresses"),
        );
        return Ok(());
    }
    cur(ctx).native_ipv6 = true;
    Ok(())
}

fn use_vmac(ctx: &mut Ctx, s: &Stmt) -> Res {
    let mut v = Vmac::default();
    let mut i = 1;
    while let Some(w) = s.get(i) {
        if w.contains(':') && w.len() >= 14 && w.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
        {
            if w.to_ascii_lowercase().starts_with("00:00:5e:00:0") && w.len() == 17 {
                let w = w.to_string();
                ctx.err_at(
                    s,
                    i,
                    format!("VMAC MAC address not allowed to be RFC5798 address ({w}) - ignoring"),
                    "use a locally administered MAC",
                );
            } else {
                v.mac = Some(w.to_string());
            }
        } else if w == "netlink_notify_msg" {
        } else if w == "group" {
            i += 1;
        } else if w == "name" {
            i += 1;
            v.name = s.get(i).map(str::to_string);
        } else {
            v.name = Some(w.to_string());
        }
        i += 1;
    }
    let name = cur_name(ctx);
    if let Some(n) = v.name.clone() {
        let clash = ctx
            .cfg
            .vrrp
            .instances
            .iter()
            .rev()
            .skip(1)
            .find(|o| o.vmac.as_ref().and_then(|x| x.name.as_deref()) == Some(n.as_str()));
        if let Some(o) = clash {
            let on = o.name.clone();
            ctx.err(
                s,
                format!("({name}) VRRP instance {on} is already using {n} - ignoring name"),
            );
            v.name = None;
        }
    }
    cur(ctx).vmac = Some(v);
    Ok(())
}

fn use_ipvlan(ctx: &mut Ctx, s: &Stmt) -> Res {
    let args: Vec<String> = s.rest(1).map(str::to_string).collect();
    cur(ctx).ipvlan = Some(args);
    Ok(())
}

fn vrf(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if cur(ctx).interface.is_some() {
        let name = cur_name(ctx);
        ctx.err(
            s,
            format!("({name}) Cannot specify VRF interface and interface - ignoring"),
        );
        return Ok(());
    }
    if !interface_ok(ctx, &v) {
        let name = cur_name(ctx);
        ctx.err_at(
            s,
            1,
            format!("({name}) WARNING - VRF interface {v} doesn't exist"),
            "no such interface in this namespace",
        );
        ctx.cfg.vrrp.missing_interface = true;
    }
    cur(ctx).vrf = Some(v);
    Ok(())
}

fn auth_start(ctx: &mut Ctx, _s: &Stmt) -> Res {
    let i = cur(ctx);
    if i.auth.is_none() {
        i.auth = Some(Auth::default());
    }
    Ok(())
}

fn auth_type(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    let k = match v.as_str() {
        "PASS" => Some(AuthType::Pass),
        "AH" => Some(AuthType::Ah),
        _ => {
            let name = cur_name(ctx);
            ctx.err_at(
                s,
                1,
                format!("({name}) unknown authentication type '{v}'"),
                "expected PASS or AH",
            );
            None
        }
    };
    if let Some(a) = cur(ctx).auth.as_mut() {
        a.kind = k;
    }
    Ok(())
}

fn auth_pass(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.as_bytes().to_vec();
    let mut p = v;
    if p.len() > 8 {
        ctx.err_at(
            s,
            1,
            "Truncating auth_pass to 8 characters",
            "only the first 8 characters are used",
        );
        p.truncate(8);
    }
    if let Some(a) = cur(ctx).auth.as_mut() {
        a.pass = p;
    }
    Ok(())
}

// ===================== vrrp_script =====================

fn vscript(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    ctx.cfg.vrrp.scripts.push(VrrpScript {
        name,
        loc: s.loc.clone(),
        script: None,
        interval: Duration::from_secs(1),
        timeout: None,
        weight: Weight::default(),
        rise: 1,
        fall: 1,
        user: None,
        init_fail: false,
        disabled: false,
    });
    Ok(())
}

fn cur_script(ctx: &mut Ctx) -> Option<&mut VrrpScript> {
    ctx.cfg.vrrp.scripts.last_mut()
}

fn script_script(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        return Ok(());
    }
    let owner = cur_script(ctx).map(|v| v.name.clone()).unwrap_or_default();
    let mut sc = script::parse(ctx, s, 1, ScriptKind::VrrpTrack, &owner)?;
    // vrrp_script takes its user from the `user` keyword only
    sc.user = None;
    sc.group = None;
    if let Some(v) = cur_script(ctx) {
        if let Some((u, g)) = v.user.clone() {
            sc.user = Some(u);
            sc.group = g;
        }
        v.script = Some(sc);
    }
    Ok(())
}

fn script_interval(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_timer(s, 1, 1, 0)? {
        if let Some(sc) = cur_script(ctx) {
            sc.interval = us(v);
        }
    }
    Ok(())
}

fn script_timeout(ctx: &mut Ctx, s: &Stmt) -> Res {
    if let Some(v) = ctx.read_timer(s, 1, 1, 0)? {
        if let Some(sc) = cur_script(ctx) {
            sc.timeout = Some(us(v));
        }
    }
    Ok(())
}

fn script_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    let Some(v) = ctx.read_int(s, 1, -253, 253)? else {
        let name = cur_script(ctx).map(|v| v.name.clone()).unwrap_or_default();
        let w = s.get(1).unwrap_or("").to_string();
        ctx.err_at(
            s,
            1,
            format!("vrrp_script {name} weight {w} must be in [-253, 253]"),
            "expected -253..253",
        );
        return Ok(());
    };
    let reverse = s.get(2) == Some("reverse");
    if let Some(sc) = cur_script(ctx) {
        sc.weight = Weight {
            value: v as i16,
            reverse,
        };
    }
    Ok(())
}

fn script_count(ctx: &mut Ctx, s: &Stmt, rise: bool) -> Res {
    if let Some(v) = ctx.read_unsigned(s, 1, 1, u32::MAX as u64)? {
        if let Some(sc) = cur_script(ctx) {
            if rise {
                sc.rise = v as u32;
            } else {
                sc.fall = v as u32;
            }
        }
    }
    Ok(())
}

fn script_user(ctx: &mut Ctx, s: &Stmt) -> Res {
    let u = ctx.arg(s, 1)?.to_string();
    let g = s.get(2).map(|g| g.trim_start_matches(':').to_string());
    if script::lookup_user(&u).is_none() {
        let n = cur_script(ctx)
            .and_then(|v| v.script.as_ref().map(|x| x.cmd.clone()))
            .unwrap_or_default();
        ctx.err(s, format!("Unable to set uid/gid for script '{n}'"));
        return Ok(());
    }
    if let Some(sc) = cur_script(ctx) {
        sc.user = Some((u.clone(), g.clone()));
        if let Some(x) = sc.script.as_mut() {
            x.user = Some(u);
            x.group = g;
        }
    }
    Ok(())
}

fn vscript_end(ctx: &mut Ctx) -> Res {
    let Some(v) = ctx.cfg.vrrp.scripts.last() else {
        return Ok(());
    };
    if v.script.is_none() {
        let name = v.name.clone();
        let loc = v.loc.clone();
        ctx.err_loc(
            loc,
            format!("No script set for vrrp_script {name} - removing"),
        );
        ctx.cfg.vrrp.scripts.pop();
        return Ok(());
    }
    let has_user = v.script.as_ref().is_some_and(|s| s.user.is_some());
    let name = v.name.clone();
    let loc = v.loc.clone();
    if !has_user && !script::default_user_available(ctx) {
        ctx.err_loc(
            loc,
            format!("Unable to set default user for vrrp script {name} - removing"),
        );
        ctx.cfg.vrrp.scripts.pop();
    }
    Ok(())
}

// ===================== vrrp_sync_group =====================

fn sync_group(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        ctx.err(s, "vrrp_sync_group must have a name - skipping");
        ctx.skip_block(true);
        return Ok(());
    }
    let name = ctx.arg(s, 1)?.to_string();
    if ctx.cfg.vrrp.sync_groups.iter().any(|g| g.name == name) {
        ctx.err(s, format!("vrrp sync group {name} already defined"));
        ctx.skip_block(true);
        return Ok(());
    }
    ctx.cfg.vrrp.sync_groups.push(SyncGroup {
        name,
        loc: Some(s.loc.clone()),
        ..Default::default()
    });
    Ok(())
}

fn sg_group(ctx: &mut Ctx, s: &Stmt) -> Res {
    let lines = ctx.value_block(s);
    let mut m = Vec::new();
    for l in lines {
        for w in l.rest(0) {
            m.push((w.to_string(), l.loc.clone()));
        }
    }
    if let Some(g) = ctx.cfg.vrrp.sync_groups.last_mut() {
        g.members.extend(m);
    }
    Ok(())
}

fn sg_notify(ctx: &mut Ctx, s: &Stmt, k: NotifyKind) -> Res {
    let name = ctx
        .cfg
        .vrrp
        .sync_groups
        .last()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let sc = script::parse(ctx, s, 1, ScriptKind::Notify, &name)?;
    if let Some(g) = ctx.cfg.vrrp.sync_groups.last_mut() {
        set_notify(&mut g.notify, k, sc);
    }
    Ok(())
}

fn sg_tracking_weight(ctx: &mut Ctx, _s: &Stmt) -> Res {
    if let Some(g) = ctx.cfg.vrrp.sync_groups.last_mut() {
        g.tracking_weight = true;
    }
    Ok(())
}

// ===================== track_file =====================

fn track_file(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    ctx.cfg.vrrp.track_files.push(TrackFile {
        name,
        loc: Some(s.loc.clone()),
        weight: Weight {
            value: 1,
            reverse: false,
        },
        ..Default::default()
    });
    Ok(())
}

fn tf_file(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        ctx.err(s, "track file file name missing");
        return Ok(());
    }
    let f = ctx.arg(s, 1)?.to_string();
    if let Some(t) = ctx.cfg.vrrp.track_files.last_mut() {
        if t.file.is_some() {
            let n = t.name.clone();
            ctx.err(
                s,
                format!("File already set for track file {n} - ignoring {f}"),
            );
        } else {
            t.file = Some(f);
        }
    }
    Ok(())
}

fn tf_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        let n = ctx
            .cfg
            .vrrp
            .track_files
            .last()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        ctx.err(
            s,
            format!("No weight specified for track file {n} - ignoring"),
        );
        return Ok(());
    }
    let w = ctx.arg(s, 1)?.to_string();
    match ctx.read_int(s, 1, -254, 254)? {
        Some(v) => {
            let reverse = s.get(2) == Some("reverse");
            if let Some(t) = ctx.cfg.vrrp.track_files.last_mut() {
                t.weight = Weight {
                    value: v as i16,
                    reverse,
                };
            }
        }
        None => {
            let n = ctx
                .cfg
                .vrrp
                .track_files
                .last()
                .map(|t| t.name.clone())
                .unwrap_or_default();
            ctx.err_at(s, 1, format!("Weight ({w}) for track_file {n} must be between [-254..254] inclusive. Ignoring..."), "expected -254..254");
        }
    }
    Ok(())
}

fn tf_init(ctx: &mut Ctx, s: &Stmt) -> Res {
    let mut val = 0;
    let mut overwrite = false;
    let mut i = 1;
    while let Some(w) = s.get(i) {
        if w == "overwrite" {
            overwrite = true;
        } else if let Some(v) = ctx.read_int(s, i, -254, 254)? {
            val = v;
        }
        i += 1;
    }
    if let Some(t) = ctx.cfg.vrrp.track_files.last_mut() {
        t.init = Some((val, overwrite));
    }
    Ok(())
}

fn track_file_end(ctx: &mut Ctx) -> Res {
    if let Some(t) = ctx.cfg.vrrp.track_files.last() {
        if t.file.is_none() {
            let (n, loc) = (t.name.clone(), t.loc.clone());
            ctx.err_loc_opt(loc, format!("No file set for track_file {n} - ignoring"));
            ctx.cfg.vrrp.track_files.pop();
        }
    }
    Ok(())
}

fn track_process_end(ctx: &mut Ctx) -> Res {
    if let Some(t) = ctx.cfg.vrrp.track_processes.last() {
        if t.process.is_empty() {
            let (n, loc) = (t.name.clone(), t.loc.clone());
            ctx.err_loc_opt(
                loc,
                format!("track process '{n}' process name not specified"),
            );
            ctx.cfg.vrrp.track_processes.pop();
        }
    }
    Ok(())
}

// ===================== vrrp_track_process =====================

fn track_process(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    ctx.cfg.vrrp.track_processes.push(TrackProcess {
        name,
        loc: Some(s.loc.clone()),
        quorum: 1,
        ..Default::default()
    });
    Ok(())
}

fn tp_process(ctx: &mut Ctx, s: &Stmt) -> Res {
    ctx.arg(s, 1)?;
    let v: Vec<String> = s.rest(1).map(str::to_string).collect();
    let Some(p) = ctx.cfg.vrrp.track_processes.last_mut() else {
        return Ok(());
    };
    if !p.process.is_empty() {
        let n = p.name.clone();
        ctx.err_at(
            s,
            1,
            format!(
                "Process already set for track process {n} - ignoring {}",
                v[0]
            ),
            "one process per vrrp_track_process",
        );
        return Ok(());
    }
    // keepalived: parameters imply an exact match (unless param_match
    // came first) on the full command line.
    if v.len() > 1 {
        if p.param_match == ParamMatch::None {
            p.param_match = ParamMatch::Exact;
        }
        p.full_command = true;
    }
    p.process = v;
    Ok(())
}

fn tp_param_match(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = s.get(1).unwrap_or("").to_string();
    let m = match v.as_str() {
        "" => ParamMatch::Exact,
        "initial" => ParamMatch::Initial,
        "partial" => ParamMatch::Partial,
        _ => {
            ctx.err_at(
                s,
                1,
                format!("Invalid param_match type {v} - ignoring"),
                "expected initial or partial",
            );
            return Ok(());
        }
    };
    if let Some(p) = ctx.cfg.vrrp.track_processes.last_mut() {
        p.param_match = m;
        p.full_command = true;
    }
    Ok(())
}

fn tp_weight(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        let n = ctx
            .cfg
            .vrrp
            .track_processes
            .last()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        ctx.err(
            s,
            format!("No weight specified for track process {n} - ignoring"),
        );
        return Ok(());
    }
    if let Some(w) = read_weight(ctx, s, 1, 254)? {
        if let Some(p) = ctx.cfg.vrrp.track_processes.last_mut() {
            p.weight = w;
        }
    }
    Ok(())
}

fn tp_quorum(ctx: &mut Ctx, s: &Stmt, max: bool) -> Res {
    let lo = if max { 0 } else { 1 };
    let w = ctx.arg(s, 1)?.to_string();
    let got = ctx.read_unsigned(s, 1, lo, 65535)?;
    if got.is_none() {
        let n = ctx
            .cfg
            .vrrp
            .track_processes
            .last()
            .map(|t| t.name.clone())
            .unwrap_or_default();
        let what = if max { "Quorum max" } else { "Quorum" };
        ctx.err_at(s, 1, format!("{what} ({w}) for vrrp_track_process {n} must be between [{lo}..65535] inclusive. Ignoring..."), "out of range");
    }
    if let Some(v) = got {
        let v = v as u32;
        // keepalived allows `quorum_max 0` (the process must not run)
        // while quorum is not above 1; it then makes quorum 0.
        let bad = ctx.cfg.vrrp.track_processes.last().is_some_and(|p| {
            if max {
                (v != 0 || p.quorum > 1) && v < p.quorum
            } else {
                p.quorum_max.is_some_and(|m| m < v)
            }
        });
        if bad {
            let m = if max {
                "quorum_max is less than quorum - ignoring"
            } else {
                "Quorum is greater than quorum_max - ignoring"
            };
            ctx.err_at(s, 1, m, "quorum must not exceed quorum_max");
            return Ok(());
        }
        if let Some(p) = ctx.cfg.vrrp.track_processes.last_mut() {
            if max {
                p.quorum_max = Some(v);
                if v == 0 {
                    p.quorum = 0;
                } else if p.quorum == 0 {
                    p.quorum = 1;
                }
            } else {
                p.quorum = v;
            }
        }
    }
    Ok(())
}

fn tp_delay(ctx: &mut Ctx, s: &Stmt, which: u8) -> Res {
    if let Some(v) = ctx.read_timer(s, 1, 0, 3_600_000_000)? {
        if let Some(p) = ctx.cfg.vrrp.track_processes.last_mut() {
            // `delay` sets both, so the last keyword given wins.
            let d = Some(us(v));
            match which {
                0 => {
                    p.delay = d;
                    p.fork_delay = d;
                    p.terminate_delay = d;
                }
                1 => p.fork_delay = d,
                _ => p.terminate_delay = d,
            }
        }
    }
    Ok(())
}

// ===================== static addresses, routes, rules =====================

fn static_ipaddress(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Static, addr::parse_vip);
    ctx.cfg.vrrp.static_addresses.extend(v);
    Ok(())
}

fn static_routes(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Static, addr::parse_route);
    ctx.cfg.vrrp.static_routes.extend(v);
    Ok(())
}

fn static_rules(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = addr::spec_block(ctx, s, SpecOrigin::Static, addr::parse_rule);
    ctx.cfg.vrrp.static_rules.extend(v);
    Ok(())
}

// ===================== garp_group / track_group / linkbeat / delays =====================

fn garp_group(ctx: &mut Ctx, _s: &Stmt) -> Res {
    ctx.cfg.vrrp.garp_groups_seen += 1;
    ctx.cfg.vrrp.garp_groups.push(GarpGroup::default());
    Ok(())
}

fn gg_interval(ctx: &mut Ctx, s: &Stmt, garp: bool) -> Res {
    if let Some(w) = s.get(1) {
        if w.split_once('.').is_some_and(|(_, d)| d.len() > 6) {
            let w = w.to_string();
            ctx.err_at(
                s,
                1,
                format!("number '{w}' has too many decimal places"),
                "at most 6 decimal places",
            );
        }
    }
    if let Some(v) = ctx.read_timer(s, 1, 0, 0)? {
        if let Some(g) = ctx.cfg.vrrp.garp_groups.last_mut() {
            if garp {
                g.garp_interval = Some(us(v));
            } else {
                g.gna_interval = Some(us(v));
            }
        }
    }
    Ok(())
}

fn gg_add_if(ctx: &mut Ctx, s: &Stmt, i: usize, name: &str) {
    if !interface_ok(ctx, name) {
        ctx.err_at(
            s,
            i,
            format!("WARNING - interface {name} specified for garp_group doesn't exist"),
            "no such interface in this namespace",
        );
        ctx.cfg.vrrp.missing_interface = true;
        return;
    }
    if let Some(g) = ctx.cfg.vrrp.garp_groups.last_mut() {
        g.interfaces.push(name.to_string());
    }
}

fn gg_interface(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    gg_add_if(ctx, s, 1, &v);
    Ok(())
}

fn gg_interfaces(ctx: &mut Ctx, s: &Stmt) -> Res {
    for l in ctx.value_block(s) {
        for (i, w) in l.rest(0).enumerate() {
            let w = w.to_string();
            gg_add_if(ctx, &l, i, &w);
        }
    }
    Ok(())
}

fn garp_group_end(ctx: &mut Ctx) -> Res {
    if let Some(g) = ctx.cfg.vrrp.garp_groups.last() {
        if g.garp_interval.is_none() && g.gna_interval.is_none() {
            let n = ctx.cfg.vrrp.garp_groups_seen - 1;
            ctx.err_global(
                Level::Error,
                format!("garp group {n} does not have any delay set - removing"),
            );
            ctx.cfg.vrrp.garp_groups.pop();
        }
    }
    Ok(())
}

fn track_group(ctx: &mut Ctx, s: &Stmt) -> Res {
    if s.len() < 2 {
        ctx.err(s, "track_group must have a name - skipping");
        ctx.skip_block(true);
        return Ok(());
    }
    let name = ctx.arg(s, 1)?.to_string();
    ctx.cfg.vrrp.track_groups.push(TrackGroup {
        name,
        instances: Vec::new(),
    });
    Ok(())
}

fn tg_group(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v: Vec<String> = ctx.value_words(s);
    if let Some(g) = ctx.cfg.vrrp.track_groups.last_mut() {
        g.instances.extend(v);
    }
    Ok(())
}

fn linkbeat_interfaces(ctx: &mut Ctx, s: &Stmt) -> Res {
    for l in ctx.value_block(s) {
        let n = l.key().to_string();
        if !crate::sys::interface_exists(&n) {
            ctx.err_at(
                &l,
                0,
                format!("unknown interface {n} specified for linkbeat interface"),
                "no such interface in this namespace",
            );
            continue;
        }
        let m = l.get(1).map(str::to_string);
        if let Some(m) = &m {
            if !matches!(m.as_str(), "MII" | "ETHTOOL" | "IOCTL") {
                ctx.err_at(
                    &l,
                    1,
                    format!("unknown linkbeat type {m} for interface {n}"),
                    "expected MII, ETHTOOL or IOCTL",
                );
            }
        }
        ctx.cfg.vrrp.linkbeat_interfaces.push((n, m));
    }
    Ok(())
}

fn up_down_delays(ctx: &mut Ctx, s: &Stmt) -> Res {
    for l in ctx.value_block(s) {
        let n = l.key().to_string();
        if !crate::sys::interface_exists(&n) {
            ctx.err_at(
                &l,
                0,
                format!("unknown interface {n} specified for up/down delay"),
                "no such interface in this namespace",
            );
            continue;
        }
        let mut delay = |i: usize| -> Result<Option<Duration>, super::parser::Fatal> {
            if l.get(i).is_none() {
                return Ok(Some(Duration::ZERO));
            }
            Ok(ctx
                .read_double(&l, i, 0.0, 255.0)?
                .map(|d| Duration::from_micros((d * 1e6) as u64)))
        };
        let Some(down) = delay(1)? else { continue };
        let up = if l.len() > 2 {
            delay(2)?.unwrap_or(down)
        } else {
            down
        };
        ctx.cfg.vrrp.up_down_delays.push((n, down, up));
    }
    Ok(())
}

// ===================== post-parse validation =====================

/// keepalived's vrrp_complete_instance on a VIP's `use_vmac`: kept only
/// where it adds a VMAC the instance's own flags would not, with an error
/// for the two combinations that contradict them.
fn vmac_addr_checks(ctx: &mut Ctx, idx: usize, loc: Option<Loc>) {
    let i = &mut ctx.cfg.vrrp.instances[idx];
    let (name, v6, vmac, vmac_addr) = (i.name.clone(), i.is_v6(), i.vmac.is_some(), i.vmac_addr);
    let interface = i.interface.clone();
    let mut errors = Vec::new();
    for v in i.vips.iter_mut().chain(i.evips.iter_mut()) {
        if !std::mem::take(&mut v.use_vmac) {
            continue;
        }
        let own_if = v.dev.is_none() || v.dev == interface;
        let same_family = v.prefix.is_v6() == v6;
        let a = match (v.prefix.addr, v.prefix.len) {
            (IpAddr::V4(a), 32) => a.to_string(),
            (IpAddr::V6(a), 128) => a.to_string(),
            (a, l) => format!("{a}/{l}"),
        };
        if own_if && vmac && same_family {
            errors.push(format!(
                "({name}) use_vmac specified for VIP/eVIP {a} and vrrp instance"
            ));
        } else if (!own_if || !same_family) && vmac_addr {
            errors.push(format!(
                "({name}) use_vmac_addr specified and use_vmac specified for VIP/eVIP {a}"
            ));
        } else {
            v.use_vmac = true;
        }
    }
    for m in errors {
        ctx.err_loc_opt(loc.clone(), m);
    }
}

fn loc_of(i: &VrrpInstance) -> Option<Loc> {
    i.loc.clone()
}

/// keepalived 2.2.7's VRRP checks after parsing (`vrrp_complete_init`).
/// Returns false when keepalived would stop there (a configured interface
/// is missing), in which case no further checks (script security) run.
pub fn validate(ctx: &mut Ctx) -> bool {
    let global_strict = ctx.cfg.global.vrrp_strict;
    let global_version = ctx.cfg.global.vrrp_version.unwrap_or(2);
    if ctx.cfg.vrrp.instances.is_empty() {
        // no VRRP child: nothing more is checked
        return false;
    }
    if ctx.cfg.vrrp.missing_interface {
        // keepalived stops completing the VRRP configuration here
        ctx.err_global(
            Level::Error,
            "Non-existent interface specified in configuration",
        );
        return false;
    }

    let inst_names: Vec<String> = ctx
        .cfg
        .vrrp
        .instances
        .iter()
        .map(|i| i.name.clone())
        .collect();

    // lvs_sync_daemon follows an instance; without one it is not managed
    // (keepalived 2.2.7 ignores it silently, or crashes its VRRP child on
    // an unknown name).
    if let Some(d) = ctx.cfg.global.lvs_sync_daemon.clone() {
        let missing = match &d.instance {
            None => Some("names no vrrp_instance".to_string()),
            Some(n) if !inst_names.contains(n) => Some(format!("vrrp_instance {n} not found")),
            Some(_) => None,
        };
        if let Some(why) = missing {
            ctx.warn_loc(
                d.loc,
                format!("lvs_sync_daemon {} {why} - ignoring", d.interface),
            );
            ctx.cfg.global.lvs_sync_daemon = None;
        }
    }

    // sync groups: members must exist
    let mut in_group: Vec<(String, usize)> = Vec::new();
    let groups = ctx.cfg.vrrp.sync_groups.clone();
    for (gi, g) in groups.iter().enumerate() {
        let mut kept = Vec::new();
        for (m, loc) in &g.members {
            if !inst_names.contains(m) {
                ctx.err_loc(
                    loc.clone(),
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    ),
                );
                continue;
            }
            if in_group.iter().any(|(n, _)| n == m) {
                ctx.err_loc(
                    loc.clone(),
                    format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        g.name
                    ),
                );
                continue;
            }
            in_group.push((m.clone(), gi));
            kept.push((m.clone(), loc.clone()));
        }
        ctx.cfg.vrrp.sync_groups[gi].members = kept.clone();
        if kept.is_empty() {
            ctx.err_global(Level::Error, format!("Sync group {}, no matching virtual router found in group declaration - removing", g.name));
        } else if kept.len() == 1 {
            ctx.err_global(Level::Error, format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", g.name));
        }
    }

    let n = ctx.cfg.vrrp.instances.len();
    for idx in 0..n {
        let i = ctx.cfg.vrrp.instances[idx].clone();
        let name = i.name.clone();
        let loc = loc_of(&i);
        let e = |ctx: &mut Ctx, msg: String| ctx.err_loc_opt(loc.clone(), msg);
        let strict = i.strict_mode.unwrap_or(global_strict);
        let prio = i.effective_priority();
        let master = i.state == State::Master || prio == Priority::OWNER;

        if i.vrid.is_none() {
            e(ctx, format!("({name}) the virtual router id must be set"));
        }
        if i.interface.is_none() {
            e(ctx, format!("({name}) Unknown interface!"));
        }
        let v6 = i.is_v6();
        let version = if v6 {
            3
        } else {
            i.version.unwrap_or(global_version)
        };

        if i.vips.is_empty() {
            if strict {
                e(
                    ctx,
                    format!("({name}) No VIP specified; at least one is required"),
                );
            } else {
                e(
                    ctx,
                    format!("({name}) No VIP specified; at least one is sensible"),
                );
            }
        }
        // family of VIPs (the first one's, or IPv6 with native_ipv6): the
        // others are dropped, as keepalived's alloc_vrrp_vip does
        if let Some(first) = i.vips.first() {
            for v in i.vips.iter().filter(|v| v.prefix.is_v6() != v6) {
                e(
                    ctx,
                    format!(
                        "({name}): address family must match VRRP instance [{}] - ignoring",
                        v.text
                    ),
                );
            }
            ctx.cfg.vrrp.instances[idx]
                .vips
                .retain(|v| v.prefix.is_v6() == v6);
            if v6 && strict && !is_link_local(&first.prefix.addr) {
                e(
                    ctx,
                    format!("({name}) the first IPv6 VIP address must be link local"),
                );
            }
        }

        if i.unicast_peers.is_empty() && i.unicast_fault_no_peer {
            e(
                ctx,
                format!("({name}) Cannot use unicast without any peers - going to fault state"),
            );
        } else if i.unicast_peers.is_empty() && i.unicast_keyword {
            e(ctx, format!("({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."));
        }
        if i.unicast_peers.is_empty() && i.unicast_ttl.is_some() {
            e(
                ctx,
                format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
            );
        }

        if let Some(auth) = &i.auth {
            if version == 3 {
                e(
                    ctx,
                    format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
                );
            } else if strict {
                e(
                    ctx,
                    format!("({name}) Strict mode does not support authentication. Ignoring."),
                );
            } else if auth.kind == Some(AuthType::Ah) && master {
                e(ctx, format!("({name}) Initial state master is incompatible with AH authentication - clearing"));
            }
        }

        if strict {
            if i.state == State::Master && prio != Priority::OWNER {
                e(
                    ctx,
                    "State MASTER must match being address owner".to_string(),
                );
            }
            if i.preempt_delay.is_some() {
                e(
                    ctx,
                    format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
                );
            }
        }

        let mut nopreempt = i.nopreempt;
        if nopreempt && prio == Priority::OWNER {
            e(
                ctx,
                format!(
                    "({name}) nopreempt is incompatible with priority 255. resetting nopreempt"
                ),
            );
            nopreempt = false;
        } else if nopreempt && master {
            e(ctx, format!("({name}) Warning - nopreempt will not work with initial state MASTER - clearing"));
            nopreempt = false;
        }
        if i.preempt_delay.is_some_and(|d| !d.is_zero()) && !strict {
            if nopreempt {
                e(
                    ctx,
                    format!(
                        "({name}) preempt_delay is incompatible with nopreempt mode - resetting"
                    ),
                );
            } else if master {
                e(ctx, format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"));
            }
        }
        if i.vmac_xmit_base && i.vmac.is_none() && !strict {
            e(
                ctx,
                format!("({name}) vmac_xmit_base is only valid with a vmac"),
            );
        }
        if strict {
            if i.accept == Some(true) && version == 2 {
                e(ctx, format!("({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"));
            }
            if i.higher_prio_send_advert == Some(true) {
                e(ctx, format!("({name}) strict mode requires higher_prio_send_advert to be clear. resetting"));
            }
            if i.vmac_xmit_base {
                e(
                    ctx,
                    format!("({name}) xmit_base is incompatible with strict mode - resetting"),
                );
            }
        }

        // advert interval
        if let Some(a) = i.advert_int_us {
            if version == 2 {
                if a % 1_000_000 != 0 {
                    e(ctx, format!("({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding", a as f64 / 1e6));
                }
            } else if a % 10_000 != 0 {
                e(ctx, format!("({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding", a as f64 / 1e6));
            } else if a > 40_950_000 {
                e(ctx, format!("({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s", a as f64 / 1e6));
            }
        }

        if let Some(args) = &i.ipvlan {
            if !v6
                && !args.iter().any(|a| {
                    a.split('/')
                        .next()
                        .is_some_and(|x| x.parse::<IpAddr>().is_ok())
                })
            {
                e(ctx, format!("({name}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state"));
            }
        }
        // vmac / unicast
        if i.vmac.is_some() || i.ipvlan.is_some() {
            if i.unicast_keyword || !i.unicast_peers.is_empty() {
                if i.interface.is_none() {
                    e(ctx, format!("({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"));
                } else if i.vmac.is_some() && !i.vmac_xmit_base {
                    e(
                        ctx,
                        format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
                    );
                }
            }
            if i.promote_secondaries && i.vmac.is_some() {
                e(
                    ctx,
                    format!(
                        "({name}) promote_secondaries is automatically set for vmacs - ignoring"
                    ),
                );
            }
        }

        vmac_addr_checks(ctx, idx, loc.clone());

        // own interface in track_interface: not tracked (keepalived frees it)
        if let Some(ifn) = &i.interface {
            for t in i.track.interfaces.iter().filter(|t| &t.name == ifn) {
                ctx.err_loc(
                    t.loc.clone(),
                    format!("({name}) Ignoring track_interface {ifn} since own interface"),
                );
            }
            ctx.cfg.vrrp.instances[idx]
                .track
                .interfaces
                .retain(|t| &t.name != ifn);
        }
        let group =
            (ctx.cfg.vrrp.sync_groups.iter()).find(|g| g.members.iter().any(|(m, _)| *m == name));
        let sync = group.is_some_and(|g| !g.tracking_weight);
        if sync || prio == Priority::OWNER {
            super::sync_tracking::strip_instance_weights(ctx, idx, sync);
        }
    }

    // VRID clashes: every pair sharing (VRID, family, interface), in
    // keepalived's order, found through an index instead of all pairs.
    let mut by_key: std::collections::HashMap<(u8, bool, &str), Vec<usize>> =
        std::collections::HashMap::new();
    let insts = &ctx.cfg.vrrp.instances;
    for (a, ia) in insts.iter().enumerate() {
        if let (Some(v), Some(ifname), true) = (
            ia.vrid,
            ia.interface.as_deref(),
            ia.unicast_peers.is_empty(),
        ) {
            by_key
                .entry((v.get(), ia.is_v6(), ifname))
                .or_default()
                .push(a);
        }
    }
    let mut clashes: Vec<(usize, usize)> = by_key
        .values()
        .flat_map(|ids| {
            ids.iter()
                .enumerate()
                .flat_map(move |(k, &a)| ids[k + 1..].iter().map(move |&b| (a, b)))
        })
        .collect();
    clashes.sort_unstable();
    let msgs: Vec<String> = clashes
        .into_iter()
        .map(|(a, b)| {
            let (ia, ib) = (&insts[a], &insts[b]);
            let fam = if ia.is_v6() { "IPv6" } else { "IPv4" };
            format!(
                "{} and {} both use VRID {} with {fam} on interface {}",
                ia.name,
                ib.name,
                ia.vrid.map(|v| v.get()).unwrap_or(0),
                ia.interface.as_deref().unwrap_or_default()
            )
        })
        .collect();
    // keepalived stops completing at a clash (check_vrid_conflicts).
    if msgs.is_empty() {
        super::sync_tracking::complete_groups(ctx);
    }
    for m in msgs {
        ctx.err_global(Level::Error, m);
    }
    true
}

fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(v) => (v.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(v) => v.is_link_local(),
    }
}

/// Every script configured on the VRRP side.
pub fn scripts(cfg: &VrrpConfig) -> Vec<&Script> {
    let mut v: Vec<&Script> = Vec::new();
    for s in &cfg.scripts {
        if let Some(sc) = &s.script {
            v.push(sc);
        }
    }
    for i in &cfg.instances {
        v.extend(i.notify.all());
    }
    for g in &cfg.sync_groups {
        v.extend(g.notify.all());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Level, ReaderOptions};

    const DYN: &str = "global_defs {\n dynamic_interfaces\n}\n";

    fn load(text: &str) -> crate::config::Loaded {
        load_str("/t.conf", text, ReaderOptions::default())
    }

    fn msgs(l: &crate::config::Loaded) -> Vec<String> {
        l.report.diags.iter().map(|d| d.message.clone()).collect()
    }

    fn has(l: &crate::config::Loaded, m: &str) -> bool {
        msgs(l).iter().any(|x| x.contains(m))
    }

    fn inst(body: &str) -> String {
        format!("{DYN}vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{\n 10.0.0.1/24\n }}\n{body}}}\n")
    }

    #[test]
    fn minimal_instance_parses_clean() {
        let l = load(&inst(" state BACKUP\n priority 150\n advert_int 1\n"));
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
        let i = &l.config.vrrp.instances[0];
        assert_eq!(i.vrid, Vrid::new(51));
        assert_eq!(i.priority, Some(Priority(150)));
        assert_eq!(i.advert_int_us, Some(1_000_000));
        assert_eq!(i.vips[0].prefix.len, 24);
        assert_eq!(l.report.exit_code(), 0);
    }

    #[test]
    fn missing_interface_is_reported_and_stops_checks() {
        let l = load("vrrp_instance VI_1 {\n interface nosuchif9\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n nopreempt\n state MASTER\n}\n");
        assert!(has(
            &l,
            "WARNING - interface nosuchif9 for vrrp_instance VI_1 doesn't exist"
        ));
        assert!(has(&l, "Non-existent interface specified in configuration"));
        assert!(!has(&l, "nopreempt"));
        assert_eq!(l.report.exit_code(), 5);
    }

    #[test]
    fn priority_out_of_range() {
        let l = load(&inst(" priority 0\n"));
        assert!(has(
            &l,
            "(VI_1) Priority not valid! must be between 1 & 255. Using default 100"
        ));
    }

    #[test]
    fn vrid_must_be_set() {
        let l = load(&format!(
            "{DYN}vrrp_instance VI_1 {{\n interface eth0\n virtual_ipaddress {{ 10.0.0.1 }}\n}}\n"
        ));
        assert!(has(&l, "(VI_1) the virtual router id must be set"));
    }

    #[test]
    fn no_vip_warning() {
        let l = load(&format!(
            "{DYN}vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n}}\n"
        ));
        assert!(has(&l, "(VI_1) No VIP specified; at least one is sensible"));
    }

    #[test]
    fn truncating_auth_pass() {
        let l = load(&inst(
            " authentication {\n auth_type PASS\n auth_pass 123456789\n }\n",
        ));
        assert!(has(&l, "Truncating auth_pass to 8 characters"));
        let a = l.config.vrrp.instances[0].auth.clone().unwrap();
        assert_eq!(a.kind, Some(AuthType::Pass));
        assert_eq!(a.pass, b"12345678");
    }

    #[test]
    fn v3_with_authentication_ignored() {
        let l = load(&inst(
            " version 3\n authentication {\n auth_type PASS\n auth_pass x\n }\n",
        ));
        assert!(has(
            &l,
            "(VI_1) VRRP version 3 does not support authentication. Ignoring."
        ));
    }

    #[test]
    fn ah_with_state_master() {
        let l = load(&inst(
            " state MASTER\n priority 100\n authentication {\n auth_type AH\n auth_pass x\n }\n",
        ));
        assert!(has(
            &l,
            "(VI_1) Initial state master is incompatible with AH authentication - clearing"
        ));
    }

    #[test]
    fn nopreempt_with_master_is_owner() {
        // state MASTER without a priority makes the instance the address owner
        let l = load(&inst(" state MASTER\n nopreempt\n"));
        assert!(has(
            &l,
            "(VI_1) nopreempt is incompatible with priority 255. resetting nopreempt"
        ));
        let l = load(&inst(" state MASTER\n priority 100\n nopreempt\n"));
        assert!(has(
            &l,
            "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"
        ));
    }

    #[test]
    fn preempt_delay_with_master() {
        let l = load(&inst(" state MASTER\n priority 100\n preempt_delay 5\n"));
        assert!(has(
            &l,
            "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"
        ));
        assert_eq!(
            l.config.vrrp.instances[0].preempt_delay,
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn vrid_clash() {
        let l = load(&format!(
            "{}vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {{ 10.0.0.2 }}\n}}\n",
            inst("")
        ));
        assert!(has(
            &l,
            "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0"
        ));
    }

    #[test]
    fn track_script_must_be_defined_first() {
        let l = load(&inst(" track_script {\n chk\n }\n"));
        assert!(has(&l, "(VI_1) track script chk not found, ignoring..."));
        let l = load(&format!(
            "vrrp_script chk {{\n script \"</dev/tcp/127.0.0.1/80\"\n weight -20\n}}\n{}",
            inst(" track_script {\n chk weight 10 reverse\n }\n")
        ));
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
        let t = &l.config.vrrp.instances[0].track.scripts[0];
        assert_eq!(
            t.weight,
            Some(Weight {
                value: 10,
                reverse: true
            })
        );
        assert_eq!(l.config.vrrp.scripts[0].weight.value, -20);
    }

    #[test]
    fn vrrp_script_without_script_removed() {
        let l = load(&format!(
            "vrrp_script chk {{\n interval 2\n}}\n{}",
            inst("")
        ));
        assert!(has(&l, "No script set for vrrp_script chk - removing"));
        assert!(l.config.vrrp.scripts.is_empty());
    }

    /// An unknown instance makes keepalived 2.2.7's VRRP child crash; a
    /// warning (no exit code under `-t`, as keepalived) and no daemon here.
    #[test]
    fn lvs_sync_daemon_needs_a_known_instance() {
        for (line, why) in [
            ("lvs_sync_daemon eth0 VI_9", "vrrp_instance VI_9 not found"),
            ("lvs_sync_daemon eth0", "names no vrrp_instance"),
        ] {
            let l = load(&format!("global_defs {{\n {line}\n}}\n{}", inst("")));
            assert!(has(&l, &format!("lvs_sync_daemon eth0 {why} - ignoring")));
            assert!(l.config.global.lvs_sync_daemon.is_none());
            assert_eq!(l.report.exit_code(), 0, "{:?}", msgs(&l));
        }
        let l = load(&format!(
            "global_defs {{\n lvs_sync_daemon eth0 VI_1\n}}\n{}",
            inst("")
        ));
        assert!(l.config.global.lvs_sync_daemon.is_some(), "{:?}", msgs(&l));
    }

    #[test]
    fn sync_group_member_checks() {
        let l = load(&format!(
            "vrrp_sync_group G {{\n group {{\n VI_1\n VI_X\n }}\n}}\n{}",
            inst("")
        ));
        assert!(has(
            &l,
            "Virtual router VI_X specified in sync group G doesn't exist - ignoring"
        ));
        assert!(has(
            &l,
            "Sync group G has only 1 virtual router(s) - this probably isn't what you want"
        ));
    }

    #[test]
    fn unicast_keyword_without_peers() {
        let l = load(&inst(" unicast_src_ip 10.0.0.5\n"));
        assert!(has(
            &l,
            "(VI_1) A unicast keyword has been specified without any unicast peers."
        ));
        let l = load(&inst(
            " unicast_src_ip 10.0.0.5\n unicast_peer {\n 10.0.0.6\n 10.0.0.7 min_ttl 2\n }\n",
        ));
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
        assert_eq!(l.config.vrrp.instances[0].unicast_peers.len(), 2);
    }

    #[test]
    fn a_vip_s_use_vmac_contradicting_the_instance_s_is_keepalived_s_error() {
        // keepalived 2.2.7 -t prints the same two lines.
        let l = load(&format!(
            "{DYN}vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n use_vmac\n \
             virtual_ipaddress {{\n 10.0.0.2/24 use_vmac dev eth0\n 10.0.0.3 use_vmac dev eth2\n }}\n}}\n\
             vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 2\n use_vmac_addr\n \
             virtual_ipaddress {{\n 10.0.1.1 use_vmac\n 10.0.1.2 use_vmac dev eth2\n }}\n}}\n"
        ));
        assert!(has(
            &l,
            "(VI_1) use_vmac specified for VIP/eVIP 10.0.0.2/24 and vrrp instance"
        ));
        assert!(has(
            &l,
            "(VI_2) use_vmac_addr specified and use_vmac specified for VIP/eVIP 10.0.1.2"
        ));
        let kept = |i: usize| -> Vec<bool> {
            l.config.vrrp.instances[i]
                .vips
                .iter()
                .map(|v| v.use_vmac)
                .collect()
        };
        assert_eq!((kept(0), kept(1)), (vec![false, true], vec![true, false]));
    }

    #[test]
    fn unicast_with_vmac_requires_xmit_base() {
        let l = load(&inst(" use_vmac\n unicast_peer {\n 10.0.0.6\n }\n"));
        assert!(has(
            &l,
            "(VI_1) unicast with use_vmac requires vmac_xmit_base - setting"
        ));
    }

    #[test]
    fn malformed_unicast_addresses() {
        let l = load(&inst(
            " unicast_src_ip 10.0.0.x\n unicast_peer {\n 1.2.3.$X\n }\n",
        ));
        assert!(has(
            &l,
            "Configuration error: VRRP instance[VI_1] malformed src address[10.0.0.x]. Skipping..."
        ));
        assert!(has(&l, "Configuration error: VRRP instance[VI_1] malformed unicast peer address[1.2.3.$X]. Skipping..."));
    }

    #[test]
    fn advert_int_rounding_messages() {
        let l = load(&inst(" advert_int 0.5\n"));
        assert!(has(
            &l,
            "(VI_1) VRRPv2 advertisement interval 0.500000s must be an integer. rounding"
        ));
        let l = load(&inst(" version 3\n advert_int 1.234\n"));
        assert!(has(
            &l,
            "(VI_1) VRRPv3 advertisement interval 1.234000s must be in units of 10ms - rounding"
        ));
    }

    #[test]
    fn invalid_vip_skipped() {
        let l = load(&inst(
            " virtual_ipaddress {\n 10.0.0.x/24\n 10.0.0.3 bogus\n }\n",
        ));
        assert!(has(
            &l,
            "VRRP parsed invalid IP 10.0.0.x/24. skipping IP..."
        ));
        assert!(has(
            &l,
            "Unknown configuration entry 'bogus' for ip address - ignoring"
        ));
    }

    #[test]
    fn unknown_state() {
        let l = load(&inst(" state EQUAL\n"));
        assert!(has(
            &l,
            "(VI_1) unknown state 'EQUAL', defaulting to BACKUP"
        ));
    }

    #[test]
    fn routes_and_rules() {
        let l = load(&inst(" virtual_routes {\n 10.8.0.0/16 via 10.0.0.254 dev eth0\n 10.9.0.0/16 via 10.0.0.254\n }\n virtual_rules {\n from 10.0.0.1 table 10\n }\n"));
        assert!(has(
            &l,
            "Warning - cannot track route 10.9.0.0/16 with no interface specified, not tracking"
        ));
        assert!(has(&l, "Rule has no preference specified - setting to 16384. This is probably not what you want."));
        let i = &l.config.vrrp.instances[0];
        assert_eq!(i.routes.len(), 2);
        assert_eq!(i.routes[0].dev.as_deref(), Some("eth0"));
        assert_eq!(i.rules[0].table.as_deref(), Some("10"));
    }

    #[test]
    fn default_route_takes_the_gateway_family() {
        let l = load(&inst(" virtual_routes {\n default via inet6 2001:db8::1 dev eth0\n default via 10.0.0.1 dev eth0\n default4 dev eth0\n }\n"));
        let dst: Vec<String> = l.config.vrrp.instances[0]
            .routes
            .iter()
            .map(|r| {
                r.dst
                    .map(|p| format!("{}/{}", p.addr, p.len))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(dst, ["::/0", "0.0.0.0/0", "0.0.0.0/0"]);
    }

    #[test]
    fn own_interface_in_track_interface() {
        let l = load(&inst(" track_interface {\n eth0\n }\n"));
        assert!(has(
            &l,
            "(VI_1) Ignoring track_interface eth0 since own interface"
        ));
    }

    #[test]
    fn track_file_and_process_blocks() {
        let l = load(&format!(
            "track_file tf {{\n file /tmp/x\n weight -2 reverse\n init_file 3 overwrite\n}}\nvrrp_track_process p {{\n process sshd -D\n quorum 2\n quorum_max 3\n param_match partial\n}}\n{}",
            inst(" track_file {\n tf\n }\n track_process {\n p weight 5\n }\n")
        ));
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
        let tf = &l.config.vrrp.track_files[0];
        assert_eq!(
            tf.weight,
            Weight {
                value: -2,
                reverse: true
            }
        );
        assert_eq!(tf.init, Some((3, true)));
        let p = &l.config.vrrp.track_processes[0];
        assert_eq!(p.process, vec!["sshd", "-D"]);
        assert_eq!(
            (p.quorum, p.quorum_max, p.param_match),
            (2, Some(3), ParamMatch::Partial)
        );
        let l = load("track_file tf {\n weight 2\n}\n");
        assert!(has(&l, "No file set for track_file tf - ignoring"));
    }

    #[test]
    fn no_instances_no_vrrp_checks() {
        let l = load("vrrp_script chk {\n script /bin/true\n}\n");
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
    }

    #[test]
    fn security_violation_for_root_scripts() {
        let l = load(&format!(
            "vrrp_script chk {{\n script /bin/sh\n}}\n{}",
            inst(" track_script {\n chk\n }\n")
        ));
        let d = l
            .report
            .diags
            .iter()
            .find(|d| d.message.starts_with("SECURITY VIOLATION"))
            .expect("violation");
        assert_eq!(d.level, Level::Security);
        assert_eq!(l.report.exit_code(), 6);
    }

    #[test]
    fn missing_track_script_file_disabled() {
        let l = load(&format!(
            "global_defs {{\n dynamic_interfaces\n}}\nvrrp_script chk {{\n script /nonexistent/chk.sh\n}}\n{}",
            inst(" track_script {\n chk\n }\n").trim_start_matches(DYN)
        ));
        assert!(has(
            &l,
            "Disabling track script chk since not found/accessible"
        ));
        assert!(l.config.vrrp.scripts[0].disabled);
        assert_eq!(l.report.exit_code(), 5);
    }

    #[test]
    fn tcp_check_script_is_not_a_script() {
        let l = load(&format!(
            "vrrp_script chk {{\n script \"</dev/tcp/127.0.0.1/80\"\n}}\n{}",
            inst(" track_script {\n chk\n }\n")
        ));
        assert_eq!(l.report.exit_code(), 0, "{:?}", msgs(&l));
    }

    #[test]
    fn net_namespace_makes_config_test_pass() {
        let l = load("net_namespace foo\nglobal_defs {\n bogus_keyword\n}\n");
        assert!(has(&l, "Unknown keyword 'bogus_keyword'"));
        assert_eq!(l.report.exit_code(), 0);
    }

    #[test]
    fn rule_preferences_numbered_per_family() {
        let l = load(&inst(" virtual_rules {\n from 10.0.0.1 table 10\n from 10.0.0.2 table 10\n from fd00::1 table 10\n }\n"));
        let m = msgs(&l);
        assert!(m[0].contains("setting to 16384"), "{m:?}");
        assert!(m[1].contains("setting to 16383"), "{m:?}");
        assert!(m[2].contains("setting to 16384"), "{m:?}");
        let prefs: Vec<_> = l.config.vrrp.instances[0]
            .rules
            .iter()
            .map(|r| r.preference)
            .collect();
        assert_eq!(prefs, vec![Some(16384), Some(16383), Some(16384)]);
    }

    #[test]
    fn dynamic_interfaces_applies_wherever_written() {
        let l = load("vrrp_instance VI_1 {\n interface nosuchif9\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\nglobal_defs {\n dynamic_interfaces\n}\n");
        assert!(l.report.diags.is_empty(), "{:?}", msgs(&l));
    }

    #[test]
    fn fifo_scripts_are_security_checked() {
        let l = load(&format!("global_defs {{\n dynamic_interfaces\n vrrp_notify_fifo /tmp/f\n vrrp_notify_fifo_script /bin/sh\n}}\n{}", inst("").trim_start_matches(DYN)));
        assert_eq!(l.report.exit_code(), 6, "{:?}", msgs(&l));
    }

    #[test]
    fn unknown_route_keyword_skips_route() {
        let l = load(&inst(
            " virtual_routes {\n 10.8.0.0/16 dev eth0 restore\n }\n",
        ));
        assert!(has(&l, "unknown route keyword restore"));
        assert!(has(&l, "VRRP parsed invalid IP restore. skipping IP..."));
        assert!(l.config.vrrp.instances[0].routes.is_empty());
    }

    #[test]
    fn strict_mode_checks() {
        let l = load(&format!(
            "global_defs {{\n dynamic_interfaces\n vrrp_strict\n}}\n{}",
            inst(" state MASTER\n priority 100\n").trim_start_matches(DYN)
        ));
        assert!(has(&l, "State MASTER must match being address owner"));
    }
}

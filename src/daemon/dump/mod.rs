//! The dump files keepalived writes on signals, in its exact formats
//! (reference §4.12), so that exporters and scripts keep parsing them.
//!
//! Every line written here has the byte format keepalived 2.2.7 gives it
//! for the same configuration; lines for state we do not keep (socket
//! fds, "Flags", sockpool, script results) are left out rather than
//! invented. The formatting is pure: the driver gathers the facts only it
//! knows into [`InstanceInfo`] / [`ScriptInfo`] / [`GlobalInfo`].
//!
//! [`global`] is the section every dump starts with, [`check`] the
//! checker process's `keepalived_check.data`.

pub mod check;
pub mod global;
pub mod track_process;

pub use global::{global_section, GlobalInfo, Process};

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::daemon::netlink::{scope, AddrSpec};
use crate::vrrp::instance::{AuthConfig, Instance, State};
use crate::vrrp::packet::Version;
use crate::vrrp::router::Router;
use global::yes;

/// Where SIGUSR2 writes the VRRP statistics.
pub const STATS_FILE: &str = "/tmp/keepalived.stats";
/// Where SIGUSR1 makes the VRRP process write its state.
pub const DATA_FILE: &str = "/tmp/keepalived.data";
/// Where SIGUSR1 makes the parent write the global definitions.
pub const PARENT_DATA_FILE: &str = "/tmp/keepalived_parent.data";
/// Where `--signum=JSON` (SIGRTMIN+2) writes the JSON dump.
pub const JSON_FILE: &str = "/tmp/keepalived.json";
/// Where SIGUSR1 makes the checker process write its state.
pub const CHECK_DATA_FILE: &str = "/tmp/keepalived_check.data";

/// A dump path: keepalived uses `$TMPDIR` when it is an absolute path to a
/// directory, else `/tmp`.
pub fn path(default: &str) -> PathBuf {
    let name = Path::new(default).file_name().unwrap_or_default();
    match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() && d.is_dir() => d.join(name),
        _ => PathBuf::from(default),
    }
}

/// `keepalived.stats`: one block per instance, counters as keepalived
/// names them.
pub fn stats(router: &Router) -> String {
    let mut s = String::new();
    for i in router.instances() {
        let st = &i.stats;
        let _ = write!(
            s,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.config().name,
            st.advert_rcvd,
            st.advert_sent,
            st.become_master,
            st.release_master,
            st.packet_len_err,
            st.ip_ttl_err,
            st.invalid_type_rcvd,
            st.advert_interval_err,
            st.addr_list_err,
            st.invalid_authtype,
            st.authtype_mismatch,
            st.auth_failure,
            st.pri_zero_rcvd,
            st.pri_zero_sent,
        );
    }
    s
}

/// Writes a dump file with mode 0600, as keepalived does (they may hold
/// passwords): to a temporary file renamed into place, so that a reader
/// never sees a half-written dump.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    write_with(path, |f| f.write_all(text.as_bytes()))
}

/// [`write`] with the content streamed by `fill` into a buffered writer,
/// for dumps too large to build in memory first.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            fill(&mut w)?;
            w.flush()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Wall-clock times of each instance's last state change: the core runs
/// on a monotonic clock and does not keep them.
#[derive(Debug, Default)]
pub struct Transitions {
    /// By instance name: ids change at a reload, names do not.
    seen: std::collections::HashMap<String, (State, SystemTime)>,
}

impl Transitions {
    /// Notes the instances whose state changed since the last call (the
    /// first sight of an instance stamps it, as keepalived stamps them at
    /// start).
    pub fn observe(&mut self, router: &Router) {
        self.observe_some(router, 0..router.instances().len());
    }

    /// [`Transitions::observe`] for the instances `ids` only (those an
    /// event notified about), so that an event costs nothing per instance.
    pub fn observe_some(&mut self, router: &Router, ids: impl IntoIterator<Item = usize>) {
        let now = SystemTime::now();
        for id in ids {
            let i = router.instance(id);
            match self.seen.get_mut(&i.config().name) {
                Some(s) if s.0 == i.state() => {}
                Some(s) => *s = (i.state(), now),
                None => {
                    self.seen.insert(i.config().name.clone(), (i.state(), now));
                }
            }
        }
    }

    /// When instance `name` last changed state.
    pub fn last(&self, name: &str) -> SystemTime {
        self.seen.get(name).map_or(SystemTime::UNIX_EPOCH, |s| s.1)
    }
}

/// What only the driver knows about a running instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceInfo {
    /// The interface the instance runs on (its VMAC, if any).
    pub interface: String,
    /// With a VMAC: the base interface and whether adverts go out on it
    /// (`vmac_xmit_base`).
    pub vmac_base: Option<(String, bool)>,
    /// The source address came from `unicast_src_ip`/`mcast_src_ip`.
    pub src_from_config: bool,
    /// The multicast group, when not unicast.
    pub mcast_group: Option<IpAddr>,
    /// `virtual_ipaddress`, formatted by [`format_addr`] (without " set").
    pub vips: Vec<String>,
    /// `virtual_ipaddress_excluded`, formatted likewise.
    pub evips: Vec<String>,
    /// `track_interface`s other than the own one: (name, weight).
    pub track_ifs: Vec<(String, i32)>,
    /// `track_script`s: (name, weight, the script's command text).
    pub track_scripts: Vec<(String, i32, String)>,
    /// `track_process`es: (name, weight, reverse).
    pub track_processes: Vec<(String, i32, bool)>,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `accept` (resolved: on unless `vrrp_strict` without `accept`).
    pub accept: bool,
    /// `promote_secondaries`.
    pub promote_secondaries: bool,
    /// `vrrp_strict`.
    pub strict: bool,
    /// When it last changed state.
    pub last_transition: SystemTime,
}

/// A `vrrp_script` as the dumps show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptInfo {
    /// Name.
    pub name: String,
    /// The command, keepalived-quoted (see [`quote_command`]).
    pub command: String,
    /// `interval`.
    pub interval: Duration,
    /// `timeout` (0 when unset).
    pub timeout: Duration,
    /// `weight`.
    pub weight: i32,
    /// `rise`.
    pub rise: u32,
    /// `fall`.
    pub fall: u32,
    /// Current status: GOOD (true) or BAD.
    pub good: bool,
    /// Tracking instances: (name, weight).
    pub tracking: Vec<(String, i32)>,
}

/// keepalived's `cmd_str`: every argument in single quotes.
pub fn quote_command(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived's address text: `ADDR[/LEN] [brd B] dev IF scope S [label L]`.
pub fn format_addr(a: &AddrSpec, ifname: &str) -> String {
    let full = if a.addr.is_ipv4() { 32 } else { 128 };
    let mut s = a.addr.to_string();
    if a.prefix_len != full {
        let _ = write!(s, "/{}", a.prefix_len);
    }
    if let Some(b) = a.broadcast.filter(|_| a.addr.is_ipv4()) {
        let _ = write!(s, " brd {b}");
    }
    let sc = match a.scope {
        scope::GLOBAL => "global".to_string(),
        scope::SITE => "site".into(),
        scope::LINK => "link".into(),
        scope::HOST => "host".into(),
        255 => "nowhere".into(),
        n => n.to_string(),
    };
    let _ = write!(s, " dev {ifname} scope {sc}");
    if let Some(l) = a.label.as_ref().filter(|_| a.addr.is_ipv4()) {
        let _ = write!(s, " label {l}");
    }
    s
}

/// `Www Mmm dd hh:mm:ss.uuuuuu yyyy` after the seconds, as keepalived
/// prints its timers.
fn timeval(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let us = d.subsec_micros();
    format!(
        "{}.{us:06} ({}.{us:06} {})",
        d.as_secs(),
        crate::sys::strftime_local(t, c"%a %b %e %T"),
        crate::sys::strftime_local(t, c"%Y"),
    )
}

fn enabled(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

/// keepalived's name for a state in dumps.
fn state_name(s: State) -> &'static str {
    s.name()
}

/// keepalived's number for a state in the JSON dump.
fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

/// The state an instance wants: MASTER while a sync group holds it back.
fn wantstate(i: &Instance) -> State {
    if i.want_master && i.state() != State::Master {
        State::Master
    } else {
        i.state()
    }
}

fn vip_lines(list: &[String], set: bool) -> Vec<String> {
    list.iter()
        .map(|v| if set { format!("{v} set") } else { v.clone() })
        .collect()
}

fn instance_section(s: &mut String, i: &Instance, info: &InstanceInfo, group: Option<&str>) {
    let c = i.config();
    let v3 = c.version != Version::V2;
    let _ = writeln!(s, " VRRP Instance = {}", c.name);
    let _ = writeln!(s, "   VRRP Version = {}", if v3 { 3 } else { 2 });
    if let Some(g) = group {
        let _ = writeln!(s, "   Sync group = {g}");
    }
    if c.family == crate::vrrp::types::Family::V6 {
        s.push_str("   Using Native IPv6\n");
    }
    let _ = writeln!(s, "   State = {}", state_name(i.state()));
    if let (State::Backup, Some(m)) = (i.state(), i.master_addr()) {
        let _ = writeln!(s, "   Master router = {m}");
    }
    let _ = writeln!(s, "   Wantstate = {}", state_name(wantstate(i)));
    let _ = writeln!(s, "   Last transition = {}", timeval(info.last_transition));
    let _ = writeln!(
        s,
        "   Master down timer = {} usecs",
        i.master_down_interval().as_micros()
    );
    match &info.vmac_base {
        Some((base, xmit_base)) => {
            let _ = writeln!(
                s,
                "   Interface = {}, vmac on {base}{}",
                info.interface,
                if *xmit_base { ", xmit base i/f" } else { "" }
            );
        }
        None => {
            let _ = writeln!(s, "   Interface = {}", info.interface);
        }
    }
    if info.dont_track_primary {
        s.push_str("   VRRP interface tracking disabled\n");
    }
    if c.skip_check_adv_addr {
        s.push_str("   Skip checking advert IP addresses\n");
    }
    if info.strict {
        s.push_str("   Enforcing strict VRRP compliance\n");
    }
    let _ = writeln!(
        s,
        "   Using src_ip = {}{}",
        c.primary,
        if info.src_from_config {
            " (from configuration)"
        } else {
            ""
        }
    );
    if let Some(g) = info.mcast_group {
        let _ = writeln!(s, "   Multicast address {g}");
    }
    let gp = &c.garp;
    let _ = writeln!(s, "   Gratuitous ARP delay = {}", gp.master_delay.as_secs());
    let _ = writeln!(s, "   Gratuitous ARP repeat = {}", gp.master_repeat);
    let _ = writeln!(
        s,
        "   Gratuitous ARP refresh = {}",
        gp.master_refresh.as_secs()
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP refresh repeat = {}",
        gp.master_refresh_repeat
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP lower priority delay = {}",
        gp.lower_prio_delay.as_secs()
    );
    let _ = writeln!(
        s,
        "   Gratuitous ARP lower priority repeat = {}",
        gp.lower_prio_repeat
    );
    let _ = writeln!(s, "   Down timer adverts = {}", c.down_timer_adverts);
    let _ = writeln!(
        s,
        "   Send advert after receive lower priority advert = {}",
        yes(!c.lower_prio_no_advert)
    );
    let _ = writeln!(
        s,
        "   Send advert after receive higher priority advert = {}",
        yes(c.higher_prio_send_advert)
    );
    let _ = writeln!(s, "   Virtual Router ID = {}", c.vrid.get());
    let _ = writeln!(s, "   Priority = {}", c.priority.0);
    let _ = writeln!(s, "   Effective priority = {}", i.effective_priority().0);
    let _ = writeln!(s, "   Total priority = {}", i.total_priority());
    let cs = u64::from(c.adver_int.0);
    if v3 {
        let _ = writeln!(s, "   Advert interval = {} milli-sec", cs * 10);
    } else {
        let _ = writeln!(s, "   Advert interval = {} sec", cs / 100);
    }
    let _ = writeln!(s, "   Accept = {}", enabled(info.accept));
    let _ = writeln!(s, "   Preempt = {}", enabled(!c.nopreempt));
    if !c.preempt_delay.is_zero() {
        let _ = writeln!(
            s,
            "   Preempt delay = {} secs",
            g_format(c.preempt_delay.as_secs_f64())
        );
    }
    let _ = writeln!(
        s,
        "   Promote_secondaries = {}",
        enabled(info.promote_secondaries)
    );
    match c.auth {
        AuthConfig::Pass(p) => {
            s.push_str("   Authentication type = SIMPLE_PASSWORD\n");
            let n = p.iter().position(|&b| b == 0).unwrap_or(p.len());
            let _ = writeln!(s, "   Password = {}", String::from_utf8_lossy(&p[..n]));
        }
        AuthConfig::Ah(_) => s.push_str("   Authentication type = IPSEC_AH\n"),
        AuthConfig::None if !v3 => s.push_str("   Authentication type = none\n"),
        AuthConfig::None => {}
    }
    let set = i.state() == State::Master;
    if !info.vips.is_empty() {
        let _ = writeln!(s, "   Virtual IP ({}):", info.vips.len());
        for v in vip_lines(&info.vips, set) {
            let _ = writeln!(s, "     {v}");
        }
    }
    if !info.evips.is_empty() {
        s.push_str("   Virtual IP Excluded :\n");
        for v in vip_lines(&info.evips, set) {
            let _ = writeln!(s, "     {v}");
        }
    }
    if !info.track_ifs.is_empty() {
        s.push_str("   Tracked interfaces :\n");
        for (n, w) in &info.track_ifs {
            let _ = writeln!(s, "     {n} weight {w}");
        }
    }
    if !info.track_scripts.is_empty() {
        s.push_str("   Tracked scripts :\n");
        for (n, w, _) in &info.track_scripts {
            let _ = writeln!(s, "     {n} weight {w}");
        }
    }
    if !info.track_processes.is_empty() {
        s.push_str("   Tracked processes :\n");
        for (n, w, r) in &info.track_processes {
            let rev = if *r { " reverse" } else { "" };
            let _ = writeln!(s, "     {n}, weight {w}{rev}");
        }
    }
}

/// C's `%g` for the small positive values dumps show (preempt delay).
pub(crate) fn g_format(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn script_section(s: &mut String, sc: &ScriptInfo) {
    let _ = writeln!(s, " VRRP Script = {}", sc.name);
    let _ = writeln!(s, "   Command = {}", sc.command);
    let _ = writeln!(s, "   Interval = {} sec", sc.interval.as_secs());
    let _ = writeln!(s, "   Timeout = {} sec", sc.timeout.as_secs());
    let _ = writeln!(s, "   Weight = {}", sc.weight);
    let _ = writeln!(s, "   Rise = {}", sc.rise);
    let _ = writeln!(s, "   Fall = {}", sc.fall);
    let _ = writeln!(s, "   Status = {}", if sc.good { "GOOD" } else { "BAD" });
    s.push_str("   Tracking instances :\n");
    for (n, w) in &sc.tracking {
        let _ = writeln!(s, "     {n}, weight {w}");
    }
    // Scripts run in their own tasks; between runs (nearly always, and
    // whenever the loop can answer a signal) they are idle.
    s.push_str("   State = idle\n");
}

/// `keepalived.data` of the VRRP process: global definitions, instances,
/// scripts. `infos` is indexed like `router.instances()`.
pub fn data(
    global: &GlobalInfo,
    router: &Router,
    infos: &[InstanceInfo],
    scripts: &[ScriptInfo],
) -> String {
    let mut s = global_section(global, Process::Vrrp);
    s.push_str("------< VRRP Topology >------\n");
    for (id, (i, info)) in router.instances().iter().zip(infos).enumerate() {
        instance_section(&mut s, i, info, router.group_of(id));
    }
    if !scripts.is_empty() {
        s.push_str("------< VRRP Scripts >------\n");
        for sc in scripts {
            script_section(&mut s, sc);
        }
    }
    s
}

/// A number as keepalived's JSON writer prints it: integers without a
/// fraction.
fn num(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// `keepalived.json` (json_version 1): one `{"data", "stats"}` object per
/// instance, keys in keepalived's order.
pub fn json(router: &Router, infos: &[InstanceInfo]) -> String {
    let mut out = Vec::new();
    for (i, info) in router.instances().iter().zip(infos) {
        let c = i.config();
        let t = info
            .last_transition
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let set = i.state() == State::Master;
        let adver = f64::from(c.adver_int.0) / 100.0;
        let mut data = serde_json::Map::new();
        let mut put = |k: &str, v: Value| {
            data.insert(k.to_string(), v);
        };
        put("iname", json!(c.name));
        put(
            "dont_track_primary",
            json!(u8::from(info.dont_track_primary)),
        );
        put(
            "skip_check_adv_addr",
            json!(u8::from(c.skip_check_adv_addr)),
        );
        put("strict_mode", json!(u8::from(info.strict)));
        put(
            "vmac_ifname",
            json!(if info.vmac_base.is_some() {
                info.interface.as_str()
            } else {
                ""
            }),
        );
        put("ifp_ifname", json!(info.interface));
        put("master_priority", json!(0));
        put(
            "last_transition",
            json!(t.as_secs() as f64 + f64::from(t.subsec_micros()) / 1e6),
        );
        put("garp_delay", json!(c.garp.master_delay.as_secs()));
        put("garp_refresh", json!(c.garp.master_refresh.as_secs()));
        put("garp_rep", json!(c.garp.master_repeat));
        put("garp_refresh_rep", json!(c.garp.master_refresh_repeat));
        put(
            "garp_lower_prio_delay",
            json!(c.garp.lower_prio_delay.as_secs()),
        );
        put("garp_lower_prio_rep", json!(c.garp.lower_prio_repeat));
        put(
            "lower_prio_no_advert",
            json!(u8::from(c.lower_prio_no_advert)),
        );
        put(
            "higher_prio_send_advert",
            json!(u8::from(c.higher_prio_send_advert)),
        );
        put("vrid", json!(c.vrid.get()));
        put("base_priority", json!(c.priority.0));
        put("effective_priority", json!(i.effective_priority().0));
        put("vipset", json!(set));
        put("promote_secondaries", json!(info.promote_secondaries));
        put("adver_int", num(adver));
        put("master_adver_int", num(adver));
        put("accept", json!(u8::from(info.accept)));
        put("nopreempt", json!(c.nopreempt));
        put("preempt_delay", json!(c.preempt_delay.as_secs()));
        put("state", json!(state_number(i.state())));
        put("wantstate", json!(state_number(wantstate(i))));
        put(
            "version",
            json!(if c.version == Version::V2 { 2 } else { 3 }),
        );
        put("smtp_alert", json!(false));
        put("notify_deleted", json!(false));
        if !info.vips.is_empty() {
            put("vips", json!(vip_lines(&info.vips, set)));
        }
        if !info.evips.is_empty() {
            put("evips", json!(vip_lines(&info.evips, set)));
        }
        if !info.track_ifs.is_empty() {
            let names: Vec<&str> = info.track_ifs.iter().map(|t| t.0.as_str()).collect();
            put("track_ifp", json!(names));
        }
        if !info.track_scripts.is_empty() {
            let cmds: Vec<&str> = info.track_scripts.iter().map(|t| t.2.as_str()).collect();
            put("track_script", json!(cmds));
        }
        match c.auth {
            AuthConfig::None => put("auth_type", json!(0)),
            AuthConfig::Pass(p) => {
                put("auth_type", json!(1));
                let n = p.iter().position(|&b| b == 0).unwrap_or(p.len());
                put("auth_data", json!(String::from_utf8_lossy(&p[..n])));
            }
            AuthConfig::Ah(_) => put("auth_type", json!(2)),
        }
        let st = &i.stats;
        out.push(json!({
            "data": Value::Object(data),
            "stats": {
                "advert_rcvd": st.advert_rcvd,
                "advert_sent": st.advert_sent,
                "become_master": st.become_master,
                "release_master": st.release_master,
                "packet_len_err": st.packet_len_err,
                "advert_interval_err": st.advert_interval_err,
                "ip_ttl_err": st.ip_ttl_err,
                "invalid_type_rcvd": st.invalid_type_rcvd,
                "addr_list_err": st.addr_list_err,
                "invalid_authtype": st.invalid_authtype,
                "authtype_mismatch": st.authtype_mismatch,
                "auth_failure": st.auth_failure,
                "pri_zero_rcvd": st.pri_zero_rcvd,
                "pri_zero_sent": st.pri_zero_sent,
            }
        }));
    }
    // keepalived's writer escapes '/', which only ever occurs in strings.
    Value::Array(out).to_string().replace('/', "\\/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::instance::InstanceConfig;

    #[test]
    fn stats_have_keepalived_s_exact_shape() {
        let mut r = Router::new();
        let ip = "10.0.0.1".parse().unwrap();
        r.add_instance(InstanceConfig::new("VI_1", 51, 100, ip, vec![]), vec![]);
        let want = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 0\n  \
                    Became master: 0\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    \
                    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    \
                    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    \
                    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    \
                    Sent: 0\n";
        assert_eq!(stats(&r), want);
    }

    fn info() -> InstanceInfo {
        InstanceInfo {
            interface: "kdv1".into(),
            vmac_base: None,
            src_from_config: false,
            mcast_group: Some("224.0.0.18".parse().unwrap()),
            vips: vec![
                "10.99.7.100/24 dev kdv1 scope global".into(),
                "10.99.7.101 dev kdv1 scope global".into(),
            ],
            evips: vec![],
            track_ifs: vec![],
            track_scripts: vec![("chk".into(), -20, "'/tmp/kdo/chk.sh'".into())],
            track_processes: vec![],
            dont_track_primary: false,
            accept: true,
            promote_secondaries: false,
            strict: false,
            last_transition: SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_787_592_975_017),
        }
    }

    fn router() -> Router {
        let mut r = Router::new();
        let mut c = InstanceConfig::new("VI_1", 51, 150, "10.99.7.1".parse().unwrap(), vec![]);
        c.auth = AuthConfig::pass("secret12");
        r.add_instance(c, vec![]);
        r
    }

    /// Lines keepalived 2.2.7 wrote for the same instance (INIT here, so
    /// no " set"), in order, with the transient ones left out.
    #[test]
    fn instance_lines_match_keepalived() {
        let mut s = String::new();
        instance_section(&mut s, &router().instances()[0], &info(), None);
        let want = [
            " VRRP Instance = VI_1",
            "   VRRP Version = 2",
            "   State = INIT",
            "   Wantstate = INIT",
            "   Master down timer = 3414062 usecs",
            "   Interface = kdv1",
            "   Using src_ip = 10.99.7.1",
            "   Multicast address 224.0.0.18",
            "   Gratuitous ARP delay = 5",
            "   Gratuitous ARP repeat = 5",
            "   Gratuitous ARP refresh = 0",
            "   Gratuitous ARP refresh repeat = 1",
            "   Gratuitous ARP lower priority delay = 5",
            "   Gratuitous ARP lower priority repeat = 5",
            "   Down timer adverts = 3",
            "   Send advert after receive lower priority advert = true",
            "   Send advert after receive higher priority advert = false",
            "   Virtual Router ID = 51",
            "   Priority = 150",
            "   Effective priority = 150",
            "   Total priority = 150",
            "   Advert interval = 1 sec",
            "   Accept = enabled",
            "   Preempt = enabled",
            "   Promote_secondaries = disabled",
            "   Authentication type = SIMPLE_PASSWORD",
            "   Password = secret12",
            "   Virtual IP (2):",
            "     10.99.7.100/24 dev kdv1 scope global",
            "     10.99.7.101 dev kdv1 scope global",
            "   Tracked scripts :",
            "     chk weight -20",
        ];
        let got: Vec<&str> = s
            .lines()
            .filter(|l| !l.starts_with("   Last transition = "))
            .collect();
        assert_eq!(got, want);
        let lt = s.lines().find(|l| l.contains("Last transition")).unwrap();
        assert!(
            lt.starts_with("   Last transition = 1795787592.975017 ("),
            "{lt}"
        );
        assert!(lt.ends_with(".975017 2026)"), "{lt}");
    }

    #[test]
    fn addresses_are_formatted_like_keepalived() {
        let mut a = AddrSpec::new(2, "10.99.7.150".parse().unwrap(), 24);
        a.broadcast = Some("10.99.7.255".parse().unwrap());
        a.scope = scope::LINK;
        a.label = Some("kdv2:1".into());
        assert_eq!(
            format_addr(&a, "kdv2"),
            "10.99.7.150/24 brd 10.99.7.255 dev kdv2 scope link label kdv2:1"
        );
        let b = AddrSpec::new(2, "10.99.9.1".parse().unwrap(), 32);
        assert_eq!(format_addr(&b, "kdv2"), "10.99.9.1 dev kdv2 scope global");
        let argv = ["/tmp/kdo/chk.sh", "arg1", "two words"].map(String::from);
        assert_eq!(quote_command(&argv), "'/tmp/kdo/chk.sh' 'arg1' 'two words'");
        assert_eq!(g_format(2.5), "2.5");
        assert_eq!(g_format(3.0), "3");
    }

    #[test]
    fn scripts_and_global_lines_match_keepalived() {
        let sc = ScriptInfo {
            name: "chk".into(),
            command: "'/tmp/kdo/chk.sh'".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::ZERO,
            weight: -20,
            rise: 2,
            fall: 2,
            good: false,
            tracking: vec![("VI_1".into(), -20)],
        };
        let mut s = String::new();
        script_section(&mut s, &sc);
        assert_eq!(
            s,
            " VRRP Script = chk\n   Command = '/tmp/kdo/chk.sh'\n   Interval = 1 sec\n   \
             Timeout = 0 sec\n   Weight = -20\n   Rise = 2\n   Fall = 2\n   Status = BAD\n   \
             Tracking instances :\n     VI_1, weight -20\n   State = idle\n"
        );
        let mut g = GlobalInfo::from_config(&Default::default());
        g.defs.router_id = Some("node1".into());
        g.defs.script_security = true;
        let text = global_section(&g, Process::Vrrp);
        for l in [
            " Router ID = node1",
            " Default interface = eth0",
            " VRRP IPv4 mcast group = 224.0.0.18",
            " VRRP IPv6 mcast group = ff02::12",
            " Gratuitous ARP lower priority delay = 5",
            " Gratuitous ARP interval = 0.000000",
            " Script security enabled",
            " umask = 0177",
        ] {
            assert!(text.lines().any(|x| x == l), "{l:?} missing from\n{text}");
        }
        // The parent leaves the lower priority GARP settings unset.
        let parent = global_section(&g, Process::Parent);
        assert!(parent.contains(" Gratuitous ARP lower priority delay = 4294967295\n"));
        assert!(!parent.contains("Default interface"));
    }

    #[test]
    fn json_has_keepalived_s_keys_order_and_escapes() {
        let r = router();
        let text = json(&r, &[info()]);
        assert!(
            text.starts_with(
                r#"[{"data":{"iname":"VI_1","dont_track_primary":0,"skip_check_adv_addr":0,"strict_mode":0,"vmac_ifname":"","ifp_ifname":"kdv1","master_priority":0,"last_transition":1795787592.975017,"garp_delay":5,"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""vips":["10.99.7.100\/24 dev kdv1 scope global","#));
        assert!(text.contains(r#""track_script":["'\/tmp\/kdo\/chk.sh'"],"auth_type":1,"auth_data":"secret12"},"stats":{"advert_rcvd":0,"#));
        assert!(text.contains(r#""adver_int":1,"master_adver_int":1,"accept":1,"#));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["data"]["state"], 0);
    }

    #[test]
    fn transitions_are_stamped_on_change() {
        let mut r = router();
        let mut t = Transitions::default();
        t.observe(&r);
        let first = t.last("VI_1");
        assert!(first > SystemTime::UNIX_EPOCH);
        std::thread::sleep(Duration::from_millis(2));
        t.observe(&r);
        assert_eq!(t.last("VI_1"), first, "no change, same stamp");
        let mut out = Vec::new();
        r.start(crate::vrrp::time::Instant(0), &mut out);
        t.observe(&r);
        assert!(t.last("VI_1") > first);
    }

    #[test]
    fn dump_files_are_private_and_replaced() {
        let dir = std::env::temp_dir().join(format!("kars-dump-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("keepalived.data");
        write(&p, "one").unwrap();
        write(&p, "two").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (std::fs::read_to_string(&p).unwrap().as_str(), m),
            ("two", 0o600)
        );
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

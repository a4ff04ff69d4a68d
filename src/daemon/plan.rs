//! From the configuration model to the sans-IO core: one [`InstancePlan`]
//! per `vrrp_instance`, holding the core's [`InstanceConfig`] and what the
//! driver needs around it (interface, netlink address specs, multicast
//! group, trackers, notify scripts). Pure: interface facts (the primary
//! address, interface indexes) are resolved by the caller and passed in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::config::addr::{Scope, Vip};
use crate::config::global::GlobalDefs;
use crate::config::vrrp::{AuthType, Notifies, VrrpInstance};
use crate::daemon::netlink::{broadcast_plus, AddrSpec};
use crate::daemon::route::{route_spec, rule_spec, RouteSpec, RuleSpec, SpecError};
pub use crate::daemon::track_plan::{TrackUse, Tracks};
use crate::daemon::vmac::{vip_dev, VipDev, Vmacs};
use crate::vrrp::instance::{AuthConfig, GarpConfig, InstanceConfig};
use crate::vrrp::packet::{Version, AUTH_LEN};
use crate::vrrp::types::{Centiseconds, Family, IfIndex, Vrid};

/// keepalived's IPv4 multicast group.
pub const MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// keepalived's IPv6 multicast group.
pub const MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// One instance as the driver runs it.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    /// What the core gets.
    pub config: InstanceConfig,
    /// The instance's interface.
    pub interface: String,
    /// Where adverts go: the multicast group (empty `unicast_peers`).
    pub mcast_group: IpAddr,
    /// Unicast TTL (multicast always uses 255).
    pub ttl: u8,
    /// `virtual_ipaddress` for netlink.
    pub vips: Vec<AddrSpec>,
    /// `virtual_ipaddress_excluded` for netlink.
    pub evips: Vec<AddrSpec>,
    /// `virtual_routes`.
    pub routes: Vec<RouteSpec>,
    /// `virtual_rules`.
    pub rules: Vec<RuleSpec>,
    /// The VIPs and E-VIPs without `no_track`: deleting one from outside
    /// makes a MASTER step down.
    pub tracked: Vec<AddrSpec>,
    /// Notify scripts.
    pub notify: Notifies,
    /// Trackers, the instance's and its sync group's.
    pub tracks: Tracks,
    /// `dont_track_primary`.
    pub dont_track_primary: bool,
    /// `unicast_fault_no_peer` without peers: FAULT until a reload
    /// (keepalived's configuration fault).
    pub no_peer_fault: bool,
}

/// Why an instance could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// No `interface`.
    #[error("({0}) no interface specified")]
    NoInterface(String),
    /// No `virtual_router_id`.
    #[error("({0}) no virtual_router_id specified")]
    NoVrid(String),
    /// An interface could not be resolved.
    #[error("({0}) unknown interface {1}")]
    UnknownInterface(String, String),
    /// A route or rule could not be resolved.
    #[error("({0}) {1}")]
    Spec(String, SpecError),
}

/// The instance's VRRP version: its own, else `vrrp_version`, else 2;
/// IPv6 is always 3.
pub fn version(inst: &VrrpInstance, global: &GlobalDefs) -> Version {
    if inst.is_v6() {
        return Version::V3;
    }
    match inst.version.or(global.vrrp_version) {
        Some(3) => Version::V3,
        _ => Version::V2,
    }
}

/// `advert_int` in centiseconds: whole seconds (at least 1) for v2,
/// 1..=4095 cs for v3.
pub fn advert_int(us: Option<u64>, v: Version) -> Centiseconds {
    let us = us.unwrap_or(1_000_000);
    if v == Version::V2 {
        let s = (us / 1_000_000).clamp(1, 255);
        Centiseconds(s as u16 * 100)
    } else {
        Centiseconds((us / 10_000).clamp(1, 0x0fff) as u16)
    }
}

fn garp(inst: &VrrpInstance, global: &GlobalDefs) -> GarpConfig {
    let mut d = GarpConfig::default();
    let (i, g) = (&inst.garp, &global.garp);
    // vrrp_min_garp: one GARP/NA burst, not repeated 5 s later.
    if global.min_garp {
        d.master_repeat = 1;
        d.master_refresh_repeat = 0;
        d.master_delay = Duration::ZERO;
    }
    GarpConfig {
        master_delay: i.master_delay.or(g.master_delay).unwrap_or(d.master_delay),
        master_repeat: i
            .master_repeat
            .or(g.master_repeat)
            .unwrap_or(d.master_repeat),
        master_refresh: i
            .master_refresh
            .or(g.master_refresh)
            .unwrap_or(d.master_refresh),
        master_refresh_repeat: i
            .master_refresh_repeat
            .or(g.master_refresh_repeat)
            .unwrap_or(d.master_refresh_repeat),
        lower_prio_delay: i
            .lower_prio_delay
            .or(g.lower_prio_delay)
            .unwrap_or(d.lower_prio_delay),
        lower_prio_repeat: i
            .lower_prio_repeat
            .or(g.lower_prio_repeat)
            .unwrap_or(d.lower_prio_repeat),
        // vrrp_garp_interval for IPv4, vrrp_gna_interval for IPv6.
        interval: if inst.is_v6() {
            global.gna_interval
        } else {
            global.garp_interval
        }
        .unwrap_or(d.interval),
    }
}

fn auth(inst: &VrrpInstance, v: Version) -> AuthConfig {
    let Some(a) = inst.auth.as_ref().filter(|_| v == Version::V2) else {
        return AuthConfig::None;
    };
    let mut key = [0u8; AUTH_LEN];
    let n = a.pass.len().min(AUTH_LEN);
    key[..n].copy_from_slice(&a.pass[..n]);
    match a.kind {
        Some(AuthType::Pass) => AuthConfig::Pass(key),
        Some(AuthType::Ah) => AuthConfig::Ah(key),
        None => AuthConfig::None,
    }
}

fn scope_value(s: Scope) -> u8 {
    match s {
        Scope::Global => 0,
        Scope::Site => 200,
        Scope::Link => 253,
        Scope::Host => 254,
        Scope::Nowhere => 255,
        Scope::Other(n) => n,
    }
}

/// The `IFA_F_*` bit of an IPv6 address option (`-nodad` is `nodad`).
fn v6_flag(word: &str) -> u32 {
    match word {
        "home" => 0x10,
        "mngtmpaddr" => 0x100,
        "noprefixroute" => 0x200,
        "autojoin" => 0x400,
        _ => 0,
    }
}

/// The netlink spec of one VIP on `ifindex`.
pub fn addr_spec(v: &Vip, ifindex: u32) -> AddrSpec {
    let mut s = AddrSpec::new(ifindex, v.prefix.addr, v.prefix.len);
    s.scope = scope_value(v.scope);
    match v.prefix.addr {
        IpAddr::V4(a) => {
            s.label = v.label.clone();
            s.broadcast = match v.broadcast.as_deref() {
                Some("+") => broadcast_plus(a, v.prefix.len),
                Some("-") => {
                    let mask = u32::MAX
                        .checked_shl(32 - u32::from(v.prefix.len))
                        .unwrap_or(0);
                    Some(Ipv4Addr::from(u32::from(a) & mask))
                }
                Some(b) => b.parse().ok(),
                None => None,
            };
        }
        IpAddr::V6(_) => {
            s.nodad = !v.flags.iter().any(|f| f == "-nodad");
            s.v6_flags = v.flags.iter().map(|f| v6_flag(f)).fold(0, |a, b| a | b);
            // keepalived's default: 0 for a /128, forever otherwise.
            s.preferred_lft = match v.preferred_lft {
                Some(u32::MAX) => None,
                Some(l) => Some(l),
                None => (v.prefix.len == 128).then_some(0),
            };
        }
    }
    s
}

/// Plans one instance. `primary` is the advert source (the caller picks
/// `unicast_src`, `mcast_src`, or the interface's primary / link-local
/// address); `vmacs` are the VMACs made for it; `ifindex` resolves
/// interface names.
pub fn plan_instance(
    inst: &VrrpInstance,
    global: &GlobalDefs,
    tracks: Tracks,
    primary: IpAddr,
    vmacs: &Vmacs,
    ifindex: impl Fn(&str) -> Option<u32>,
) -> Result<InstancePlan, PlanError> {
    let name = inst.name.clone();
    let interface = inst
        .interface
        .clone()
        .or_else(|| global.default_interface.clone())
        .ok_or_else(|| PlanError::NoInterface(name.clone()))?;
    let vrid = inst
        .vrid
        .and_then(|v| Vrid::new(v.get()))
        .ok_or_else(|| PlanError::NoVrid(name.clone()))?;
    let version = version(inst, global);
    let family = if inst.is_v6() { Family::V6 } else { Family::V4 };
    let spec = |v: &Vip| -> Result<AddrSpec, PlanError> {
        let dev = vip_dev(inst, &interface, vmacs.instance.is_some(), v);
        let idx = match dev {
            VipDev::Link(d) => ifindex(d),
            _ => vmacs.index(&dev),
        };
        let idx = idx.ok_or_else(|| PlanError::UnknownInterface(name.clone(), dev.to_string()))?;
        Ok(addr_spec(v, idx))
    };
    let vips = inst.vips.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
    let evips = inst.evips.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
    let spec_err = |e| PlanError::Spec(name.clone(), e);
    let routes = inst
        .routes
        .iter()
        .map(|r| route_spec(r, &ifindex))
        .collect::<Result<Vec<_>, _>>()
        .map_err(spec_err)?;
    let rules = inst
        .rules
        .iter()
        .map(rule_spec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(spec_err)?;
    let tracked = inst
        .vips
        .iter()
        .chain(&inst.evips)
        .filter(|v| !v.no_track)
        .map(spec)
        .collect::<Result<Vec<_>, _>>()?;
    let config = InstanceConfig {
        name: name.clone(),
        interface: interface.clone(),
        // The receiving socket's interface, which the driver knows.
        ifindex: IfIndex::default(),
        vrid,
        version,
        family,
        priority: inst.effective_priority(),
        adver_int: advert_int(inst.advert_int_us, version),
        initial_master: inst.state == crate::config::vrrp::State::Master,
        nopreempt: inst.nopreempt,
        preempt_delay: inst.preempt_delay.unwrap_or(Duration::ZERO),
        primary,
        vips: inst.vips.iter().map(|v| v.prefix.addr).collect(),
        evips: inst.evips.iter().map(|v| v.prefix.addr).collect(),
        auth: auth(inst, version),
        unicast_peers: inst.unicast_peers.iter().map(|p| p.addr).collect(),
        peer_ttl: inst
            .unicast_peers
            .iter()
            .filter(|p| p.min_ttl.is_some() || p.max_ttl.is_some())
            .map(|p| (p.addr, p.min_ttl.unwrap_or(0), p.max_ttl.unwrap_or(255)))
            .collect(),
        skip_check_adv_addr: inst
            .skip_check_adv_addr
            .unwrap_or(global.skip_check_adv_addr),
        lower_prio_no_advert: inst
            .lower_prio_no_advert
            .or(global.lower_prio_no_advert)
            .unwrap_or(false),
        higher_prio_send_advert: inst
            .higher_prio_send_advert
            .or(global.higher_prio_send_advert)
            .unwrap_or(false),
        down_timer_adverts: u32::from(
            inst.down_timer_adverts
                .or(global.down_timer_adverts)
                .unwrap_or(3),
        ),
        check_unicast_src: inst.check_unicast_src || global.check_unicast_src,
        v3_checksum_as_v2: inst.old_unicast_checksum.unwrap_or(false),
        garp: garp(inst, global),
        drops_vip_traffic: crate::config::vrrp::drops_vip_traffic(inst, global),
        // A sync group's setting comes between (applied by the driver).
        notify_priority_changes: (inst.notify_priority_changes)
            .or(global.vrrp_notify_priority_changes)
            .unwrap_or(false),
    };
    let mcast_group = match (family, inst.mcast_dst) {
        (_, Some(d)) => d,
        (Family::V4, None) => global.mcast_group4.unwrap_or(IpAddr::V4(MCAST_GROUP4)),
        (Family::V6, None) => global.mcast_group6.unwrap_or(IpAddr::V6(MCAST_GROUP6)),
    };
    Ok(InstancePlan {
        config,
        interface,
        mcast_group,
        ttl: inst.unicast_ttl.unwrap_or(255),
        vips,
        evips,
        tracked,
        routes,
        rules,
        notify: inst.notify.clone(),
        tracks,
        dont_track_primary: inst.dont_track_primary,
        no_peer_fault: inst.unicast_fault_no_peer && inst.unicast_peers.is_empty(),
    })
}

/// `static_ipaddress`, `static_routes` and `static_rules`: set at start,
/// whatever the VRRP state, and removed at stop.
#[derive(Debug, Clone, Default)]
pub struct StaticPlan {
    /// Addresses.
    pub addrs: Vec<AddrSpec>,
    /// Routes.
    pub routes: Vec<RouteSpec>,
    /// Rules.
    pub rules: Vec<RuleSpec>,
}

/// Plans the static addresses, routes and rules; an address without
/// `dev` goes on `default_interface`.
pub fn plan_static(
    vrrp: &crate::config::vrrp::VrrpConfig,
    global: &GlobalDefs,
    ifindex: impl Fn(&str) -> Option<u32>,
) -> Result<StaticPlan, PlanError> {
    let who = || "static".to_string();
    let mut addrs = Vec::new();
    for v in &vrrp.static_addresses {
        let dev = v
            .dev
            .as_deref()
            .or(global.default_interface.as_deref())
            .ok_or_else(|| PlanError::NoInterface(who()))?;
        let idx = ifindex(dev).ok_or_else(|| PlanError::UnknownInterface(who(), dev.into()))?;
        addrs.push(addr_spec(v, idx));
    }
    let spec_err = |e| PlanError::Spec(who(), e);
    Ok(StaticPlan {
        addrs,
        routes: vrrp
            .static_routes
            .iter()
            .map(|r| route_spec(r, &ifindex))
            .collect::<Result<_, _>>()
            .map_err(spec_err)?,
        rules: vrrp
            .static_rules
            .iter()
            .map(rule_spec)
            .collect::<Result<_, _>>()
            .map_err(spec_err)?,
    })
}

/// `use_ipvlan [NAME] [ADDR[/LEN]] [bridge|private|vepa]`: the interface
/// keepalived creates for the instance (default name `PREFIX.VRID`), its
/// address (also the advert source) and its `IFLA_IPVLAN_FLAGS`.
#[derive(Debug, Clone, PartialEq)]
pub struct IpvlanPlan {
    /// Interface name.
    pub name: String,
    /// Address added to it, with its prefix length.
    pub addr: Option<(IpAddr, u8)>,
    /// 0 bridge, 1 private, 2 vepa (the kernel's IPVLAN_F_*).
    pub flags: u16,
}

/// The ipvlan of an instance, if it has `use_ipvlan`.
pub fn ipvlan_of(inst: &VrrpInstance, global: &GlobalDefs) -> Option<IpvlanPlan> {
    let args = inst.ipvlan.as_ref()?;
    let prefix = global.vmac_prefix.as_deref().unwrap_or("vrrp");
    let mut p = IpvlanPlan {
        name: format!("{prefix}.{}", inst.vrid?.get()),
        addr: None,
        flags: 0,
    };
    let mut named = false;
    for a in args {
        let (ip, len) = a.split_once('/').unwrap_or((a, ""));
        match (a.as_str(), ip.parse::<IpAddr>()) {
            ("bridge", _) => p.flags = 0,
            ("private", _) => p.flags = 1,
            ("vepa", _) => p.flags = 2,
            (_, Ok(ip)) => {
                let max = if ip.is_ipv6() { 128 } else { 32 };
                p.addr.get_or_insert((ip, len.parse().unwrap_or(max)));
            }
            _ if !named => {
                p.name = a.clone();
                named = true;
            }
            _ => {}
        }
    }
    Some(p)
}

/// The advert source of an instance: `unicast_src` / `mcast_src` when
/// configured (and of the right family).
pub fn configured_source(inst: &VrrpInstance) -> Option<IpAddr> {
    let v6 = inst.is_v6();
    [inst.unicast_src, inst.mcast_src]
        .into_iter()
        .flatten()
        .find(|a| a.is_ipv6() == v6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, ReaderOptions};
    use crate::vrrp::types::Priority;

    fn load(text: &str) -> crate::config::Config {
        config::load_str("t.conf", text, ReaderOptions::default()).config
    }

    fn plan_of(text: &str) -> InstancePlan {
        let c = load(text);
        // The parser refuses loopback and unknown interfaces: set one here.
        let mut i = c.vrrp.instances[0].clone();
        i.interface = Some("eth9".into());
        plan_instance(
            &i,
            &c.global,
            crate::daemon::track_plan::plan_tracks(&i, None, &c).0,
            "10.0.0.1".parse().unwrap(),
            &Vmacs::default(),
            |n| (n == "eth9").then_some(7),
        )
        .unwrap()
    }

    #[test]
    fn use_ipvlan_arguments_are_keepalived_s() {
        let c = load(
            "global_defs {\n vmac_prefix kv\n}\nvrrp_instance A {\n interface lo\n virtual_router_id 7\n use_ipvlan vrrp10 169.254.1.212/30 private\n}\nvrrp_instance B {\n interface lo\n virtual_router_id 8\n use_ipvlan 10.0.0.5\n}\n",
        );
        let p = |i: usize| ipvlan_of(&c.vrrp.instances[i], &c.global).unwrap();
        let a = IpvlanPlan {
            name: "vrrp10".into(),
            addr: Some(("169.254.1.212".parse().unwrap(), 30)),
            flags: 1,
        };
        assert_eq!(p(0), a);
        assert_eq!(
            (p(1).name, p(1).addr.unwrap().1, p(1).flags),
            ("kv.8".into(), 32, 0)
        );
    }

    #[test]
    fn use_vmac_takes_the_vips_of_the_instance_interface_and_family() {
        // keepalived 2.2.7 (corpus dbus.conf): `141.1.2.3/32 dev wlan0` on
        // an instance of wlan0 with use_vmac is on vrrp.1; an IPv6 address
        // in an IPv4 instance stays on the interface.
        let c = load(
            "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n use_vmac\n virtual_ipaddress {\n  10.0.0.9/32\n  10.0.0.10/32\n }\n virtual_ipaddress_excluded {\n  fd00::1/128\n }\n}\n",
        );
        // The parser refuses loopback and unknown interfaces: set them here.
        let mut i = c.vrrp.instances[0].clone();
        i.interface = Some("eth9".into());
        i.vips[0].dev = Some("eth9".into());
        let ifindex = |n: &str| (n == "eth9").then_some(7);
        let vmacs = Vmacs {
            instance: Some(20),
            addrs: Vec::new(),
        };
        let p = plan_instance(
            &i,
            &c.global,
            crate::daemon::track_plan::plan_tracks(&i, None, &c).0,
            "10.0.0.1".parse().unwrap(),
            &vmacs,
            ifindex,
        )
        .unwrap();
        let idx: Vec<u32> = p.vips.iter().chain(&p.evips).map(|v| v.ifindex).collect();
        assert_eq!(idx, [20, 20, 7]);
    }

    #[test]
    fn min_garp_native_ipv6_and_unicast_fault_no_peer() {
        // keepalived 2.2.7: vrrp_min_garp makes one burst (repeat 1, no
        // refresh repeat, no delayed second burst); native_ipv6 makes the
        // instance IPv6 (VRRPv3) and drops IPv4 VIPs; unicast_fault_no_peer
        // without peers is a configuration fault.
        let p = plan_of(
            "global_defs {\n vrrp_min_garp\n}\nvrrp_instance VI_1 {\n interface lo\n virtual_router_id 5\n \
             native_ipv6\n unicast_fault_no_peer\n virtual_ipaddress {\n  fe80::5\n  10.0.0.5\n }\n}\n",
        );
        let g = &p.config.garp;
        assert_eq!((g.master_repeat, g.master_refresh_repeat), (1, 0));
        assert_eq!(g.master_delay, Duration::ZERO);
        assert_eq!(p.config.family, Family::V6);
        assert_eq!(p.config.version, Version::V3);
        assert_eq!(p.config.vips, vec!["fe80::5".parse::<IpAddr>().unwrap()]);
        assert!(p.no_peer_fault);
    }

    #[test]
    fn basic_v2_instance() {
        let p = plan_of(
            "global_defs {\n  vrrp_garp_master_repeat 2\n}\nvrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 51\n  priority 150\n  advert_int 2.5\n  authentication {\n    auth_type PASS\n    auth_pass 0123456789\n  }\n  virtual_ipaddress {\n    10.99.0.100/24 brd + label lo:1\n    10.99.1.1/32 scope link\n  }\n  garp_master_delay 3\n}\n",
        );
        let c = &p.config;
        assert_eq!(c.version, Version::V2);
        assert_eq!(c.priority, Priority(150));
        assert_eq!(c.adver_int, Centiseconds(200));
        assert_eq!(c.auth, AuthConfig::pass("01234567"));
        assert_eq!(c.garp.master_repeat, 2);
        assert_eq!(c.garp.master_delay, Duration::from_secs(3));
        assert_eq!(c.vips.len(), 2);
        assert_eq!(p.vips[0].broadcast, Some(Ipv4Addr::new(10, 99, 0, 255)));
        assert_eq!(p.vips[0].label.as_deref(), Some("lo:1"));
        assert_eq!(p.vips[1].scope, 253);
        assert_eq!(p.mcast_group, IpAddr::V4(MCAST_GROUP4));
        assert_eq!(p.interface, "eth9");
        assert_eq!(p.vips[1].ifindex, 7);
    }

    #[test]
    fn v3_and_ipv6() {
        let p = plan_of(
            "vrrp_instance VI_6 {\n  interface lo\n  virtual_router_id 52\n  advert_int 0.5\n  virtual_ipaddress {\n    fd00::100/128\n    fd00::200/64 noprefixroute home\n    fd00::300/64 preferred_lft 20\n    fd00::400 preferred_lft forever\n  }\n}\n",
        );
        assert_eq!(p.config.version, Version::V3);
        assert_eq!(p.config.family, Family::V6);
        assert_eq!(p.config.adver_int, Centiseconds(50));
        assert_eq!(p.config.priority, Priority(100));
        assert_eq!(p.vips[0].preferred_lft, Some(0));
        assert_eq!(p.vips[1].preferred_lft, None);
        assert_eq!(p.vips[2].preferred_lft, Some(20));
        assert_eq!(p.vips[3].preferred_lft, None);
        assert!(p.vips[0].nodad);
        assert_eq!((p.vips[0].v6_flags, p.vips[1].v6_flags), (0, 0x210));
        assert_eq!(p.mcast_group, IpAddr::V6(MCAST_GROUP6));
    }

    #[test]
    fn global_version_and_state_master() {
        let p = plan_of(
            "global_defs {\n  vrrp_version 3\n}\nvrrp_instance VI_1 {\n  state MASTER\n  interface lo\n  virtual_router_id 1\n  virtual_ipaddress {\n    10.1.1.1\n  }\n}\n",
        );
        assert_eq!(p.config.version, Version::V3);
        assert_eq!(p.config.priority, Priority(255));
        assert!(p.config.initial_master);
        assert_eq!(p.config.adver_int, Centiseconds(100));
    }

    #[test]
    fn unicast_ah_and_trackers() {
        let p = plan_of(
            "vrrp_script chk {\n  script \"/bin/true\"\n  weight -20\n}\nvrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n  priority 90\n  nopreempt\n  unicast_src_ip 10.0.0.1\n  unicast_peer {\n    10.0.0.2\n  }\n  authentication {\n    auth_type AH\n    auth_pass secret\n  }\n  track_script {\n    chk\n  }\n  virtual_ipaddress {\n    10.1.1.1/24\n  }\n  virtual_ipaddress_excluded {\n    10.2.2.2/24\n  }\n}\n",
        );
        let c = &p.config;
        assert!(c.nopreempt);
        assert_eq!(c.unicast_peers, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
        let mut key = [0u8; AUTH_LEN];
        key[..6].copy_from_slice(b"secret");
        assert_eq!(c.auth, AuthConfig::Ah(key));
        assert_eq!(c.evips, vec!["10.2.2.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(p.evips.len(), 1);
        // The script's own weight applies when the instance gives none.
        assert_eq!(
            p.tracks.scripts,
            vec![TrackUse {
                name: "chk".into(),
                weight: -20,
                reverse: false
            }]
        );
    }

    #[test]
    fn advert_int_rounding() {
        assert_eq!(advert_int(Some(500_000), Version::V2), Centiseconds(100));
        assert_eq!(advert_int(Some(3_000_000), Version::V2), Centiseconds(300));
        assert_eq!(advert_int(Some(20_000), Version::V3), Centiseconds(2));
        assert_eq!(advert_int(None, Version::V3), Centiseconds(100));
    }
}

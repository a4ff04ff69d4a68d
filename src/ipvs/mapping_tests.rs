//! The config → IPVS rules, one test per rule, on configurations parsed by
//! the crate's own reader (so validation defaults apply as in the daemon).

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::config::{load_str, ReaderOptions};
use crate::ipvs::reconcile::{applied, diff, teardown, Op};

fn lvs(text: &str) -> LvsConfig {
    load_str("t.conf", text, ReaderOptions::default())
        .config
        .lvs
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn weights(d: &Desired, svc: usize) -> Vec<(String, u32)> {
    d.services[svc]
        .dests
        .iter()
        .map(|d| (format!("{}:{}", d.addr, d.port), d.weight))
        .collect()
}

fn id(vs: usize, addr: &str, port: u16) -> RsId {
    RsId {
        vs,
        addr: ip(addr),
        port,
    }
}

const NAT: &str = "virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo wrr
  lb_kind NAT
  real_server 10.0.1.1 8080 { weight 3 }
  real_server 10.0.1.2 8080 { weight 1 }
}
";

#[test]
fn address_virtual_server_is_one_service() {
    let d = desired(&lvs(NAT), &Health::all_alive());
    assert_eq!(d.services.len(), 1);
    let s = &d.services[0].service;
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("10.0.0.1"),
            port: 80
        }
    );
    assert_eq!(s.scheduler, "wrr");
    assert_eq!(s.flags, ServiceFlags(0));
    assert_eq!(s.timeout, 0);
    assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::BROADCAST));
}

#[test]
fn alive_real_servers_get_their_weight_and_nat_port() {
    let d = desired(&lvs(NAT), &Health::all_alive());
    assert_eq!(
        weights(&d, 0),
        vec![("10.0.1.1:8080".into(), 3), ("10.0.1.2:8080".into(), 1)]
    );
    assert_eq!(d.services[0].dests[0].forward, Forward::Masq);
}

#[test]
fn failed_real_server_is_removed() {
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.1", 8080), false);
    let d = desired(&lvs(NAT), &h);
    assert_eq!(weights(&d, 0), vec![("10.0.1.2:8080".into(), 1)]);
}

#[test]
fn inhibit_on_failure_keeps_failed_server_at_weight_0() {
    let cfg = lvs(&NAT.replace("weight 3 }", "weight 3\n inhibit_on_failure }"));
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.1", 8080), false);
    let d = desired(&cfg, &h);
    assert_eq!(
        weights(&d, 0),
        vec![("10.0.1.1:8080".into(), 0), ("10.0.1.2:8080".into(), 1)]
    );
}

#[test]
fn virtual_server_inhibit_on_failure_is_the_real_servers_default() {
    let cfg = lvs(&NAT.replace("lb_kind NAT", "lb_kind NAT\n inhibit_on_failure"));
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.2", 8080), false);
    assert_eq!(
        weights(&desired(&cfg, &h), 0),
        vec![("10.0.1.1:8080".into(), 3), ("10.0.1.2:8080".into(), 0)]
    );
}

#[test]
fn dynamic_weight_overrides_configured_weight() {
    let mut h = Health::all_alive();
    h.set_weight(id(0, "10.0.1.2", 8080), 7);
    assert_eq!(weights(&desired(&lvs(NAT), &h), 0)[1].1, 7);
}

#[test]
fn dr_and_tun_real_servers_take_the_virtual_port() {
    let cfg = lvs("virtual_server 10.0.0.1 443 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.1.1 { }
  real_server 10.0.1.2 443 { lvs_method TUN type gue port 6080 csum }
}
");
    let d = desired(&cfg, &Health::all_alive());
    let ds = &d.services[0].dests;
    assert_eq!((ds[0].port, ds[0].forward), (443, Forward::Route));
    assert_eq!(
        ds[1].forward,
        Forward::Tunnel(Tunnel {
            ty: TunnelType::Gue,
            port: 6080,
            flags: Tunnel::CSUM
        })
    );
}

#[test]
fn fwmark_virtual_server_is_a_fwmark_service_in_its_family() {
    let cfg = lvs("virtual_server fwmark 7 {
  lb_algo sh
  lb_kind DR
  real_server 2001:db8::2 { weight 2 }
}
");
    let d = desired(&cfg, &Health::all_alive());
    let s = &d.services[0].service;
    assert_eq!(
        s.key,
        ServiceKey::Fwmark {
            family: Family::Inet6,
            mark: 7
        }
    );
    assert_eq!(s.netmask, Netmask::V6(128));
    assert_eq!(
        d.services[0].dests[0].port, 0,
        "fwmark DR servers have no port"
    );
}

#[test]
fn persistence_sets_flag_timeout_granularity_and_engine() {
    let cfg = lvs("virtual_server 10.0.0.1 5060 {
  protocol UDP
  lb_algo rr
  lb_kind NAT
  persistence_timeout 120
  persistence_granularity 255.255.255.0
  persistence_engine sip
  real_server 10.0.1.1 5060 { }
}
");
    let s = &desired(&cfg, &Health::all_alive()).services[0].service;
    assert!(s.flags.contains(ServiceFlags::PERSISTENT));
    assert_eq!(s.timeout, 120);
    assert_eq!(s.netmask, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
    assert_eq!(s.pe_name.as_deref(), Some("sip"));
}

#[test]
fn ipv6_persistence_granularity_is_a_prefix_length() {
    let cfg = lvs("virtual_server 2001:db8::1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  persistence_timeout
  persistence_granularity 64
  real_server 2001:db8::10 80 { }
}
");
    let s = &desired(&cfg, &Health::all_alive()).services[0].service;
    assert_eq!((s.timeout, s.netmask), (360, Netmask::V6(64)));
}

#[test]
fn scheduler_flags_map_to_ipvs_bits() {
    let cfg = lvs("virtual_server 10.0.0.1 53 {
  protocol UDP
  lb_algo sh
  sh-port
  sh-fallback
  ops
  flag-3
  lb_kind NAT
  real_server 10.0.1.1 53 { }
}
");
    let s = &desired(&cfg, &Health::all_alive()).services[0].service;
    assert_eq!(
        s.flags.0,
        ServiceFlags::SCHED1
            | ServiceFlags::SCHED2
            | ServiceFlags::ONEPACKET
            | ServiceFlags::SCHED3
    );
}

#[test]
fn group_ranges_expand_to_one_service_per_address_then_fwmarks() {
    let cfg = lvs("virtual_server_group G {
  fwmark 9 inet
  10.0.0.1-3 80
  2001:db8::a-b 8080
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.1 80 { }
}
");
    let d = desired(&cfg, &Health::all_alive());
    let keys: Vec<String> = d
        .services
        .iter()
        .map(|s| s.service.key.to_string())
        .collect();
    assert_eq!(
        keys,
        vec![
            "[10.0.0.1]:tcp:80",
            "[10.0.0.2]:tcp:80",
            "[10.0.0.3]:tcp:80",
            "[2001:db8::a]:tcp:8080",
            "[2001:db8::b]:tcp:8080",
            "FWM 9",
        ]
    );
    assert_eq!(d.services[4].service.netmask, Netmask::V6(128));
    assert!(d.services.iter().all(|s| s.dests.len() == 1));
}

#[test]
fn group_fwmark_family_defaults_to_the_servers_family() {
    let cfg = lvs("virtual_server_group G {
  fwmark 1
  fwmark 2 inet
}
virtual_server group G {
  lb_algo rr
  lb_kind DR
  real_server 2001:db8::2 { }
}
");
    let d = desired(&cfg, &Health::all_alive());
    let fams: Vec<Family> = d.services.iter().map(|s| s.service.key.family()).collect();
    assert_eq!(fams, vec![Family::Inet6, Family::Inet]);
}

#[test]
fn group_services_ignore_granularity_and_route_to_the_entry_port() {
    // keepalived 2.2.7 (vm-checked): every service of a group is sent with
    // the host netmask, a DR/TUN destination takes the range entry's port
    // and port 0 under a fwmark entry; NAT keeps the real server's port.
    let cfg = lvs("virtual_server_group G {
  10.1.1.1-2 80
  fwmark 9
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind DR
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 8080 { }
  real_server 10.0.1.2 80 { lvs_method NAT }
}
");
    let d = desired(&cfg, &Health::all_alive());
    assert_eq!(d.services.len(), 3);
    for s in &d.services {
        assert_eq!(s.service.netmask, Netmask::V4(Ipv4Addr::BROADCAST));
        assert_eq!(s.service.timeout, 60);
        assert!(s.service.flags.contains(ServiceFlags::PERSISTENT));
    }
    let ports = |i: usize| -> Vec<String> { weights(&d, i).into_iter().map(|(a, _)| a).collect() };
    assert_eq!(ports(0), ["10.0.1.1:80", "10.0.1.2:80"]);
    assert_eq!(ports(1), ["10.0.1.1:80", "10.0.1.2:80"]);
    assert_eq!(ports(2), ["10.0.1.1:0", "10.0.1.2:80"]);
    // A plain virtual server keeps its granularity.
    let plain = lvs("virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind DR
  persistence_granularity 255.255.255.0
  real_server 10.0.1.1 80 { }
}
");
    let d = desired(&plain, &Health::all_alive());
    assert_eq!(
        d.services[0].service.netmask,
        Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
    );
}

const SORRY: &str = "virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 2
  sorry_server 10.0.9.9 80
  real_server 10.0.1.1 80 { }
  real_server 10.0.1.2 80 { inhibit_on_failure }
}
";

#[test]
fn sorry_server_is_absent_while_quorum_holds() {
    let d = desired(&lvs(SORRY), &Health::all_alive());
    assert_eq!(d.quorum_up, vec![true]);
    assert_eq!(
        weights(&d, 0),
        vec![("10.0.1.1:80".into(), 1), ("10.0.1.2:80".into(), 1)]
    );
}

#[test]
fn sorry_server_replaces_alive_servers_when_quorum_is_lost() {
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.1", 80), false);
    let d = desired(&lvs(SORRY), &h);
    assert_eq!(d.quorum_up, vec![false]);
    // The alive but inhibited server drops to 0 instead of leaving.
    assert_eq!(
        weights(&d, 0),
        vec![("10.0.1.2:80".into(), 0), ("10.0.9.9:80".into(), 1)]
    );
}

#[test]
fn sorry_server_inhibit_keeps_it_at_weight_0_while_unused() {
    let cfg = lvs(&SORRY.replace(
        "sorry_server 10.0.9.9 80",
        "sorry_server 10.0.9.9 80\n sorry_server_inhibit",
    ));
    let d = desired(&cfg, &Health::all_alive());
    assert_eq!(weights(&d, 0)[2], ("10.0.9.9:80".into(), 0));
}

#[test]
fn without_sorry_server_quorum_loss_changes_nothing() {
    let cfg = lvs(&SORRY.replace("sorry_server 10.0.9.9 80\n", ""));
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.1", 80), false);
    let d = desired(&cfg, &h);
    assert_eq!(d.quorum_up, vec![false]);
    assert_eq!(weights(&d, 0), vec![("10.0.1.2:80".into(), 1)]);
}

#[test]
fn quorum_hysteresis_depends_on_the_previous_state() {
    let cfg = lvs("virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 3
  hysteresis 1
  sorry_server 10.0.9.9 80
  real_server 10.0.1.1 80 { weight 2 }
  real_server 10.0.1.2 80 { weight 1 }
  real_server 10.0.1.3 80 { weight 1 }
}
");
    // Live weight 2: still up coming from up (lost below 3-1=2) ...
    let mut h = Health::all_alive();
    h.set_alive(id(0, "10.0.1.3", 80), false);
    h.set_alive(id(0, "10.0.1.2", 80), false);
    assert_eq!(desired(&cfg, &h).quorum_up, vec![true]);
    // ... but not gained coming from down (gained at 3+1=4).
    h.set_quorum_up(0, false);
    h.set_alive(id(0, "10.0.1.2", 80), true);
    assert_eq!(desired(&cfg, &h).quorum_up, vec![false]);
}

#[test]
fn a_service_named_twice_gets_both_pools() {
    let cfg = lvs("virtual_server_group G {
  10.0.0.1 80
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.1 80 { }
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.1.2 80 { }
}
");
    let d = desired(&cfg, &Health::all_alive());
    assert_eq!(d.services.len(), 1);
    assert_eq!(d.services[0].dests.len(), 2);
}

/// A change of one virtual server recomputes only its services, but
/// whole: with every destination of the virtual servers sharing them
/// (here 0 and 2 through G, and 3 through 2's second service).
#[test]
fn services_of_takes_whoever_shares_a_service() {
    let rs = |ip: &str| format!("  real_server {ip} 80 {{ }}\n");
    let vs = |addr: &str, ip: &str| {
        format!(
            "virtual_server {addr} {{\n  protocol TCP\n  lb_kind NAT\n{}}}\n",
            rs(ip)
        )
    };
    let cfg = lvs(&format!(
        "virtual_server_group G {{\n  10.0.0.1 80\n}}\n\
         virtual_server_group H {{\n  10.0.0.1 80\n  10.0.0.3 80\n}}\n{}{}{}{}",
        vs("group G", "10.0.1.1"),
        vs("10.0.0.2 80", "10.0.1.2"),
        vs("group H", "10.0.1.3"),
        vs("10.0.0.3 80", "10.0.1.4"),
    ));
    let layout = Layout::new(&cfg);
    let dests = |i: usize| vec![layout.dest(i, Some(0), 1).unwrap()];
    let got = |touched: &[usize]| -> Vec<(String, usize)> {
        layout
            .services_of(&touched.iter().copied().collect(), dests)
            .iter()
            .map(|s| (s.service.key.to_string(), s.dests.len()))
            .collect()
    };
    assert_eq!(got(&[1]), [("[10.0.0.2]:tcp:80".to_string(), 1)]);
    let cluster = [
        ("[10.0.0.1]:tcp:80".to_string(), 2),
        ("[10.0.0.3]:tcp:80".to_string(), 2),
    ];
    assert_eq!(got(&[0]), cluster);
    assert_eq!(got(&[3]), cluster);
    // The whole computation agrees.
    let all = layout.desired(|i| (dests(i), true)).services;
    assert_eq!(all.len(), 3);
}

// ===== reconcile =====

#[test]
fn diff_from_empty_adds_services_then_their_dests() {
    let d = desired(&lvs(NAT), &Health::all_alive());
    let ops = diff(&[], &d.services);
    assert!(matches!(ops[0], Op::AddService(_)));
    assert!(matches!(ops[1], Op::AddDest(_, _)));
    assert_eq!(ops.len(), 3);
    assert_eq!(
        ops[1].to_string(),
        "NEW_DEST [10.0.0.1]:tcp:80 -> [10.0.1.1]:tcp:8080 Masq weight 3"
    );
}

#[test]
fn diff_changes_only_what_differs_and_drops_unknown_dests() {
    let want = desired(&lvs(NAT), &Health::all_alive());
    let mut have_svc = want.services[0].service.clone();
    have_svc.flags.0 |= ServiceFlags::HASHED; // as dumps report it
    let mut have_dests = want.services[0].dests.clone();
    have_dests[1].weight = 9;
    let mut stray = have_dests[0];
    stray.addr = ip("10.0.1.99");
    have_dests.push(stray);
    let foreign = Service::new(ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 99,
    });
    let ops = diff(&[(have_svc, have_dests), (foreign, vec![])], &want.services);
    let s: Vec<String> = ops.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        s,
        vec![
            "DEL_DEST [10.0.0.1]:tcp:80 -> [10.0.1.99]:tcp:8080",
            "SET_DEST [10.0.0.1]:tcp:80 -> [10.0.1.2]:tcp:8080 Masq weight 1",
        ]
    );
}

#[test]
fn diff_edits_a_service_whose_scheduler_changed() {
    let want = desired(&lvs(NAT), &Health::all_alive());
    let mut have = want.services[0].service.clone();
    have.scheduler = "rr".into();
    let ops = diff(&[(have, want.services[0].dests.clone())], &want.services);
    assert_eq!(ops.len(), 1);
    assert!(matches!(ops[0], Op::SetService(_)));
}

/// After a successful pass the kernel is known without a dump: the
/// desired services as wanted, a foreign one untouched.
#[test]
fn applied_is_what_a_successful_diff_leaves() {
    let want = desired(&lvs(NAT), &Health::all_alive());
    let mut stale = want.services[0].dests.clone();
    stale[1].weight = 9;
    let foreign = Service::new(ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 99,
    });
    let current = vec![
        (want.services[0].service.clone(), stale),
        (foreign.clone(), vec![]),
    ];
    assert_eq!(diff(&current, &want.services).len(), 1);
    let after = applied(current, &want.services);
    assert!(diff(&after, &want.services).is_empty());
    assert!(after.iter().any(|(s, _)| *s == foreign));
    assert_eq!(after.len(), 2);
}

#[test]
fn teardown_removes_each_dest_then_the_service() {
    let d = desired(&lvs(NAT), &Health::all_alive());
    let ops = teardown(&d);
    assert!(matches!(ops[0], Op::DelDest(..)));
    assert!(matches!(ops[1], Op::DelDest(..)));
    assert!(matches!(ops[2], Op::DelService(_)));
}

// ===== global_defs =====

#[test]
fn lvs_timeouts_map_to_set_config_with_zero_for_unset() {
    let c = load_str(
        "t.conf",
        "global_defs {\n lvs_timeouts tcp 900 udp 30\n}\n",
        ReaderOptions::default(),
    )
    .config;
    assert_eq!(
        timeouts(&c.global.lvs_timeouts),
        Some(Timeouts {
            tcp: 900,
            tcp_fin: 0,
            udp: 30
        })
    );
    assert_eq!(timeouts(&Default::default()), None);
}

#[test]
fn sync_daemon_id_defaults_to_the_instances_vrid() {
    let text = "global_defs {\n lvs_sync_daemon eth0 VI_1 port 8848\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n 10.0.0.100\n }\n}\n";
    let c = load_str("t.conf", text, ReaderOptions::default()).config;
    let d = sync_daemon(&c, SyncState::Backup).unwrap();
    assert_eq!(
        (d.ifname.as_str(), d.sync_id, d.port),
        ("eth0", 51, Some(8848))
    );
    let c = load_str(
        "t.conf",
        &text.replace("VI_1 port", "VI_1 id 7 port"),
        ReaderOptions::default(),
    )
    .config;
    assert_eq!(sync_daemon(&c, SyncState::Master).unwrap().sync_id, 7);
}

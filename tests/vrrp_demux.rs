//! Demultiplexing received adverts on a virtual clock. A VRID names a
//! virtual router on one LAN: keepalived 2.2.7 refuses two instances with
//! the same VRID and family on one interface (`VI_1 and VI_2 both use VRID
//! 51 with IPv4 on interface eth0`) and accepts them on two interfaces,
//! where they are two routers; it looks a received advert up by its
//! socket (one per interface, family and multicast group or unicast
//! source), then by VRID, and by the sender only where several unicast
//! instances share those (`vrrp_dispatcher_read`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use keepalived_rs::vrrp::action::{Action, DropReason};
use keepalived_rs::vrrp::instance::{InstanceConfig, Received, State};
use keepalived_rs::vrrp::log_limit::LogLimit;
use keepalived_rs::vrrp::packet::Version;
use keepalived_rs::vrrp::router::Router;
use keepalived_rs::vrrp::sim::Lan;
use keepalived_rs::vrrp::time::Instant;
use keepalived_rs::vrrp::{Family, IfIndex, Priority};

fn v4(c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 99, c, d))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last))
}

/// One instance per interface, all with VRID 1 and their own VIP.
fn instances(family: Family, version: Version, ifindexes: &[u32]) -> Vec<InstanceConfig> {
    ifindexes
        .iter()
        .enumerate()
        .map(|(n, &ifx)| {
            let (primary, vip) = match family {
                Family::V4 => (v4(0, 1), v4(100 + n as u8, 1)),
                Family::V6 => (
                    v6(1),
                    IpAddr::V6(Ipv6Addr::new(0xfd00, n as u16, 0, 0, 0, 0, 0, 1)),
                ),
            };
            let mut c = InstanceConfig::new(&format!("VI_{n}"), 1, 100, primary, vec![vip]);
            c.version = version;
            c.interface = format!("eth{n}");
            c.ifindex = IfIndex(ifx);
            c
        })
        .collect()
}

/// Routers A (150) and B (100) with the same instances, run for 10 s.
fn two_routers(family: Family, version: Version, ifindexes: &[u32]) -> Lan {
    let mut lan = Lan::new(7);
    for (name, last, prio) in [("A", 1u8, 150u8), ("B", 2, 100)] {
        let mut cs = instances(family, version, ifindexes);
        for c in &mut cs {
            c.priority = Priority(prio);
        }
        let addr = match family {
            Family::V4 => v4(0, last),
            Family::V6 => v6(u16::from(last)),
        };
        let n = lan.add_node(name, addr, cs);
        lan.start(n);
    }
    lan.run_for(Duration::from_secs(10));
    lan
}

fn assert_two_routers_per_vrid(lan: &Lan, count: usize) {
    for idx in 0..count {
        assert_eq!(
            lan.masters(idx),
            vec![0],
            "instance {idx}: A alone is MASTER"
        );
        let b = lan.nodes[1].router.instance(idx);
        assert_eq!(b.state(), State::Backup);
        // Each instance hears its own LAN's master only: 10 s minus A's
        // Master_Down (3 × 1 s + (256 − 150)/256 s) of adverts, no more.
        assert!((6..=7).contains(&b.stats.advert_rcvd), "{:?}", b.stats);
        assert_eq!(b.stats.addr_list_err, 0, "instance {idx}");
    }
    let mismatch = lan.nodes[1].actions.iter().any(|(_, a)| {
        matches!(a, Action::Log(l) if l.contains("not present in MASTER advert")
            || l.contains("unexpected ip number"))
    });
    assert!(!mismatch, "B took another LAN's advert");
}

#[test]
fn a_vrid_reused_on_another_interface_is_another_router() {
    for (family, version) in [
        (Family::V4, Version::V2),
        (Family::V4, Version::V3),
        (Family::V6, Version::V3),
    ] {
        let lan = two_routers(family, version, &[2, 3, 4, 5]);
        assert_two_routers_per_vrid(&lan, 4);
    }
}

#[test]
fn vmac_instances_receive_on_their_vmac() {
    // use_vmac: the adverts are received on the macvlan (ifindex 10 and
    // 11, both VRID 1, on different base interfaces); VI_2 without VMAC
    // on a third interface reuses VRID 1 too.
    let lan = two_routers(Family::V4, Version::V2, &[10, 11, 3]);
    assert_two_routers_per_vrid(&lan, 3);
}

fn started(cs: Vec<InstanceConfig>) -> Router {
    let mut r = Router::new();
    for c in cs {
        r.add_instance(c, Vec::new());
    }
    r.start(Instant::ZERO, &mut Vec::new());
    r
}

fn advert(c: &InstanceConfig, prio: u8, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let i = keepalived_rs::vrrp::instance::Instance::new(c.clone());
    i.advert_repr(Priority(prio))
        .to_bytes(&i.checksum_ctx(src, dst))
}

fn rx(ifindex: u32, src: IpAddr, dst: IpAddr, ttl: u8, msg: &[u8]) -> Received<'_> {
    Received {
        ifindex: IfIndex(ifindex),
        src,
        dst,
        ttl,
        ah: false,
        ah_valid: false,
        msg,
    }
}

fn unicast(name: &str, ifindex: u32, peer: IpAddr, vip: IpAddr) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, 1, 100, v4(0, 1), vec![vip]);
    c.ifindex = IfIndex(ifindex);
    c.unicast_peers = vec![peer];
    c
}

#[test]
fn unicast_instances_sharing_a_vrid_are_told_apart() {
    let me = v4(0, 1);
    // On two interfaces: the interface decides.
    let cs = vec![
        unicast("VI_A", 2, v4(0, 2), v4(100, 1)),
        unicast("VI_B", 3, v4(0, 3), v4(101, 1)),
    ];
    let mut r = started(cs.clone());
    let msg = advert(&cs[1], 200, v4(0, 3), me);
    let got = r.handle_advert(
        Instant(1000),
        Family::V4,
        &rx(3, v4(0, 3), me, 255, &msg),
        &mut Vec::new(),
    );
    assert_eq!(got, Ok(1));
    assert_eq!(r.instance(0).stats.advert_rcvd, 0);
    // On one interface (keepalived's duplicate unicast VRID): the peer decides.
    let cs = vec![
        unicast("VI_A", 2, v4(0, 2), v4(100, 1)),
        unicast("VI_B", 2, v4(0, 3), v4(101, 1)),
    ];
    let mut r = started(cs.clone());
    let msg = advert(&cs[1], 200, v4(0, 3), me);
    let got = r.handle_advert(
        Instant(1000),
        Family::V4,
        &rx(2, v4(0, 3), me, 255, &msg),
        &mut Vec::new(),
    );
    assert_eq!(got, Ok(1));
    // From neither peer: nobody's ("Unknown VRID"), counted nowhere.
    let got = r.handle_advert(
        Instant(2000),
        Family::V4,
        &rx(2, v4(0, 9), me, 255, &msg),
        &mut Vec::new(),
    );
    assert_eq!(got, Err(DropReason::WrongVrid));
    assert!(r
        .instances()
        .iter()
        .all(|i| i.stats == Default::default()
            || i.config().name == "VI_B" && i.stats.advert_rcvd == 1));
}

#[test]
fn an_advert_of_an_unknown_vrid_is_ignored_and_logged_only_on_request() {
    let cs = instances(Family::V4, Version::V2, &[2]);
    let mut r = started(cs.clone());
    // VRID 1 arrives on interface 3, where no instance has it.
    let msg = advert(
        &cs[0],
        200,
        v4(0, 2),
        IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
    );
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let mut out = Vec::new();
    let got = r.handle_advert(
        Instant(1000),
        Family::V4,
        &rx(3, v4(0, 2), dst, 255, &msg),
        &mut out,
    );
    assert_eq!(got, Err(DropReason::WrongVrid));
    assert!(out.is_empty());
    assert_eq!(r.instance(0).stats, Default::default());
    // keepalived's log_unknown_vrids line names the receiving interface.
    r.set_log_unknown_vrids(true);
    let mut out = Vec::new();
    let msg2 = {
        let mut c = cs[0].clone();
        c.vrid = keepalived_rs::vrrp::Vrid::new(9).unwrap();
        advert(&c, 200, v4(0, 2), dst)
    };
    let _ = r.handle_advert(
        Instant(2000),
        Family::V4,
        &rx(2, v4(0, 2), dst, 255, &msg2),
        &mut out,
    );
    assert_eq!(
        out,
        vec![Action::Log(
            "Unknown VRID(9) received on interface(eth0). ignoring...".into()
        )]
    );
}

#[test]
fn a_flood_of_invalid_adverts_is_counted_once_each_and_logged_a_few_times() {
    let cs = instances(Family::V4, Version::V2, &[2]);
    let mut r = started(cs.clone());
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let msg = advert(&cs[0], 200, v4(0, 2), dst);
    let mut logs = Vec::new();
    // 10 000 adverts with TTL 1 over 2 s (one every 200 µs).
    for k in 0..10_000u64 {
        let mut out = Vec::new();
        let got = r.handle_advert(
            Instant(k * 200),
            Family::V4,
            &rx(2, v4(0, 2), dst, 1, &msg),
            &mut out,
        );
        assert_eq!(got, Err(DropReason::Ttl(1)));
        logs.extend(out.into_iter().map(|a| (k * 200, a)));
    }
    assert_eq!(r.instance(0).stats.ip_ttl_err, 10_000, "each counted once");
    let line = Action::Log("(VI_0) invalid TTL/HL. Received 1 and expect 255".into());
    let first: Vec<_> = logs.iter().filter(|(t, _)| *t < 1_000_000).collect();
    assert_eq!(first.len(), LogLimit::BURST as usize);
    assert!(first.iter().all(|(_, a)| *a == line));
    // The second window opens with the count of the first's suppressed lines.
    let second: Vec<_> = logs
        .iter()
        .filter(|(t, _)| *t >= 1_000_000)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        second[0],
        &Action::Log("(VI_0) 4995 similar log lines suppressed (invalid TTL/HL)".into())
    );
    assert_eq!(second.len(), 1 + LogLimit::BURST as usize);
}

#[test]
fn an_instance_in_init_or_fault_drops_adverts_uncounted() {
    // keepalived 2.2.7's dispatcher skips instances in INIT or FAULT
    // before any check: no counter, no log line.
    let cs = instances(Family::V4, Version::V2, &[2]);
    let mut r = Router::new();
    r.add_instance(cs[0].clone(), Vec::new());
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let msg = advert(&cs[0], 200, v4(0, 2), dst);
    let mut out = Vec::new();
    let got = r.handle_advert(
        Instant(0),
        Family::V4,
        &rx(2, v4(0, 2), dst, 1, &msg),
        &mut out,
    );
    assert_eq!(got, Err(DropReason::Inactive));
    assert!(out.is_empty());
    assert_eq!(r.instance(0).stats, Default::default());
}

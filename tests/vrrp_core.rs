//! The VRRP core on a virtual clock: one test per rule, each quoting the
//! RFC or keepalived behaviour it proves, with exact times.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_rs::vrrp::action::{Action, DropReason, NotifyEvent, NotifyState, Target};
use keepalived_rs::vrrp::instance::{AuthConfig, InstanceConfig, Received, State};
use keepalived_rs::vrrp::packet::{ChecksumCtx, Version};
use keepalived_rs::vrrp::router::{Router, TrackRef, TrackerValue};
use keepalived_rs::vrrp::sim::{Lan, Rng};
use keepalived_rs::vrrp::time::Instant;
use keepalived_rs::vrrp::{Centiseconds, Family, IfIndex, Priority};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 99, 0, last))
}

fn vip() -> Vec<IpAddr> {
    vec![ip(100)]
}

fn cfg(prio: u8) -> InstanceConfig {
    InstanceConfig::new("VI_1", 51, prio, ip(1), vip())
}

fn t(us: u64) -> Instant {
    Instant(us)
}

/// A LAN with one node per priority, addresses 10.99.0.1, .2, ...
fn lan(prios: &[u8], f: impl Fn(&mut InstanceConfig)) -> Lan {
    let mut l = Lan::new(1);
    for (i, p) in prios.iter().enumerate() {
        let mut c = cfg(*p);
        f(&mut c);
        l.add_node(&format!("n{i}"), ip(i as u8 + 1), vec![c]);
    }
    l
}

#[test]
fn v2_master_down_interval_is_3_advert_int_plus_skew() {
    // RFC 3768 §6.1: Skew_Time = ((256 - Priority) / 256); Master_Down_Interval = (3 * Advertisement_Interval) + Skew_time.
    let i = keepalived_rs::vrrp::instance::Instance::new(cfg(100));
    assert_eq!(i.skew(), Duration::from_micros(609_375));
    assert_eq!(i.master_down_interval(), Duration::from_micros(3_609_375));
    // keepalived's dump for priority 150: "Master down timer = 3414062 usecs".
    let i = keepalived_rs::vrrp::instance::Instance::new(cfg(150));
    assert_eq!(i.master_down_interval(), Duration::from_micros(3_414_062));
}

#[test]
fn v3_skew_scales_with_the_advert_interval() {
    // RFC 5798 §6.1: Skew_Time = (((256 - priority) * Master_Adver_Interval) / 256).
    let mut c = cfg(100);
    c.version = Version::V3;
    c.adver_int = Centiseconds(10);
    let i = keepalived_rs::vrrp::instance::Instance::new(c.clone());
    assert_eq!(i.skew(), Duration::from_micros(60_937));
    assert_eq!(i.master_down_interval(), Duration::from_micros(360_937));
    c.down_timer_adverts = 5;
    let i = keepalived_rs::vrrp::instance::Instance::new(c);
    assert_eq!(i.master_down_interval(), Duration::from_micros(560_937));
}

#[test]
fn startup_waits_a_full_master_down_even_with_state_master() {
    // keepalived 2.2.7: every instance enters BACKUP (init) and waits Master_Down; `state MASTER` does not shorten it.
    let mut l = lan(&[150], |c| c.initial_master = true);
    l.start(0);
    l.run_until(t(3_414_061));
    assert_eq!(l.masters(0), Vec::<usize>::new());
    l.run_until(t(3_414_062));
    assert_eq!(l.masters(0), vec![0]);
    assert_eq!(l.became_master_at(0, "VI_1"), Some(t(3_414_062)));
}

#[test]
fn owner_with_state_master_becomes_master_at_once() {
    // keepalived: base priority 255 + state MASTER goes MASTER immediately.
    let mut l = lan(&[255], |c| c.initial_master = true);
    l.start(0);
    assert_eq!(l.masters(0), vec![0]);
    assert_eq!(l.became_master_at(0, "VI_1"), Some(t(0)));
}

#[test]
fn vrrp_startup_delay_counts_master_down_from_the_end_of_the_delay() {
    // keepalived 2.2.7 vrrp_init_instance_sands: while now < vrrp_delayed_start_time a BACKUP's timer is delayed_start + ms_down_timer.
    let mut l = lan(&[150], |_| {});
    l.with_router(0, |r, now, _| r.delay_start(now + Duration::from_secs(10)));
    l.start(0);
    l.run_until(t(13_414_061));
    assert_eq!(l.masters(0), Vec::<usize>::new());
    l.run_until(t(13_414_062));
    assert_eq!(l.became_master_at(0, "VI_1"), Some(t(13_414_062)));
}

#[test]
fn vrrp_startup_delay_holds_an_owner_until_one_microsecond_after_it() {
    // keepalived: an owner starts as BACKUP with ms_down_timer = 1 µs, counted from the end of the delay.
    let mut l = lan(&[255], |c| c.initial_master = true);
    l.with_router(0, |r, now, _| r.delay_start(now + Duration::from_secs(5)));
    l.start(0);
    assert_eq!(l.masters(0), Vec::<usize>::new());
    l.run_for(Duration::from_secs(6));
    assert_eq!(l.became_master_at(0, "VI_1"), Some(t(5_000_001)));
}

#[test]
fn vrrp_startup_delay_ends_once_past() {
    // After the delay, adverts re-arm Master_Down from now: a master crash at 20 s is noticed one Master_Down later.
    let mut l = lan(&[200, 100], |_| {});
    l.with_router(1, |r, now, _| r.delay_start(now + Duration::from_secs(10)));
    l.start(0);
    l.start(1);
    l.run_until(t(20_000_000));
    assert_eq!(l.masters(0), vec![0]);
    l.crash(0);
    l.run_for(Duration::from_secs(10));
    let took = l.became_master_at(1, "VI_1").expect("backup takes over");
    assert!(
        took.0 > 20_000_000 && took.0 <= 20_000_000 + 3_609_375,
        "{took:?}"
    );
}

#[test]
fn the_advert_schedule_does_not_drift_when_the_driver_wakes_late() {
    // RFC 5798 §6.4.3: Adver_Timer is reset to Advertisement_Interval: counted from when it fired, not from
    // when the driver got round to it (the issue measured 0.102 s intervals at advert_int 0.1).
    let mut c = cfg(255);
    c.initial_master = true;
    c.version = Version::V3;
    c.adver_int = Centiseconds(10);
    let mut r = Router::new();
    r.add_instance(c, vec![]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    assert_eq!(r.poll_timeout(), Some(t(100_000)));
    for k in 1..=50u64 {
        let due = r.poll_timeout().unwrap();
        assert_eq!(due, t(k * 100_000));
        r.handle_timeout(t(due.0 + 2_000), &mut out);
    }
    // A whole interval missed: the next one counts from the late wake-up.
    r.handle_timeout(t(5_250_000), &mut out);
    assert_eq!(r.poll_timeout(), Some(t(5_350_000)));
}

#[test]
fn election_by_priority() {
    // RFC 3768 §6.4.2: a Backup with lower priority keeps resetting its timer on higher-priority adverts.
    let mut l = lan(&[150, 100], |_| {});
    l.start(0);
    l.start(1);
    l.run_for(Duration::from_secs(10));
    assert_eq!(l.masters(0), vec![0]);
    assert_eq!(l.became_master_at(0, "VI_1"), Some(t(3_414_062)));
    assert_eq!(l.became_master_at(1, "VI_1"), None);
}

#[test]
fn priority_zero_advert_lets_backup_take_over_after_skew() {
    // RFC 3768 §6.4.2: If the Priority is zero then Set the Master_Down_Timer to Skew_Time.
    let mut l = lan(&[150, 100], |_| {});
    l.start(0);
    l.start(1);
    l.run_until(t(10_000_000));
    l.stop(0);
    l.run_until(t(20_000_000));
    assert_eq!(l.masters(0), vec![1]);
    assert_eq!(l.became_master_at(1, "VI_1"), Some(t(10_000_000 + 609_375)));
}

#[test]
fn crash_backup_takes_over_one_master_down_after_last_advert() {
    // RFC 3768 §6.4.2: If the Master_Down_Timer fires: Transition to the {Master} state.
    let mut l = lan(&[150, 100], |_| {});
    l.start(0);
    l.start(1);
    l.run_until(t(10_000_000));
    // Master adverts at 3.414062 + k s; the last one before the crash at 9.414062 s.
    l.crash(0);
    l.run_until(t(20_000_000));
    assert_eq!(
        l.became_master_at(1, "VI_1"),
        Some(t(9_414_062 + 3_609_375))
    );
}

#[test]
fn higher_priority_preempts_a_running_master() {
    // RFC 3768 §6.4.2: if Preempt_Mode is True and the Priority in the ADVERTISEMENT is less than the local Priority, the advert is discarded.
    let mut l = lan(&[100, 150], |_| {});
    l.start(0);
    l.run_until(t(5_000_000));
    assert_eq!(l.masters(0), vec![0]);
    l.start(1);
    l.run_until(t(20_000_000));
    assert_eq!(l.masters(0), vec![1]);
    // It discards the lower adverts and times out one Master_Down after start.
    assert_eq!(
        l.became_master_at(1, "VI_1"),
        Some(t(5_000_000 + 3_414_062))
    );
    let lines: Vec<_> = l.nodes[0]
        .actions
        .iter()
        .filter_map(|(_, a)| {
            if let Action::Log(s) = a {
                Some(s.clone())
            } else {
                None
            }
        })
        .collect();
    assert!(
        lines.contains(
            &"(VI_1) Master received advert from 10.99.0.2 with higher priority 150, ours 100"
                .to_string()
        ),
        "{lines:#?}"
    );
}

#[test]
fn nopreempt_keeps_a_lower_priority_master() {
    // RFC 3768 §6.4.2: Preempt_Mode False: accept any advert and reset the timer.
    let mut l = lan(&[100, 150], |c| c.nopreempt = true);
    l.start(0);
    l.run_until(t(5_000_000));
    l.start(1);
    l.run_until(t(30_000_000));
    assert_eq!(l.masters(0), vec![0]);
}

#[test]
fn preempt_delay_postpones_takeover() {
    // keepalived: the first lower-priority advert starts preempt_delay; afterwards adverts are discarded and the node takes over one Master_Down later.
    let mut l = lan(&[100, 150], |c| c.preempt_delay = Duration::from_secs(4));
    l.start(0);
    l.run_until(t(5_000_000));
    l.start(1);
    l.run_until(t(30_000_000));
    assert_eq!(l.masters(0), vec![1]);
    // Node 0's adverts arrive at 5.609375 + k s. The first starts the 4 s
    // delay (until 9.609375 s); the one at 8.609375 s is the last accepted,
    // so the takeover comes one Master_Down (3.414062 s) later.
    assert_eq!(
        l.became_master_at(1, "VI_1"),
        Some(t(8_609_375 + 3_414_062))
    );
}

#[test]
fn equal_priority_higher_primary_address_wins() {
    // RFC 3768 §6.4.3: ...or the Priority in the ADVERTISEMENT is equal to the local Priority and the primary IP Address of the sender is greater than the local primary IP Address.
    let mut l = lan(&[100, 100], |_| {});
    l.start(0);
    l.start(1);
    l.run_until(t(20_000_000));
    assert_eq!(l.masters(0), vec![1]);
}

fn advert_bytes(c: &InstanceConfig, prio: u8, src: IpAddr) -> Vec<u8> {
    let i = keepalived_rs::vrrp::instance::Instance::new(c.clone());
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    i.advert_repr(Priority(prio))
        .to_bytes(&i.checksum_ctx(src, dst))
}

fn deliver(r: &mut Router, now: u64, msg: &[u8], ttl: u8) -> Result<usize, DropReason> {
    let rx = Received {
        ifindex: IfIndex(1),
        src: ip(2),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        ttl,
        ah: false,
        ah_valid: false,
        msg,
    };
    r.handle_advert(t(now), Family::V4, &rx, &mut Vec::new())
}

#[test]
fn receive_checks_drop_and_count_like_keepalived() {
    let mut mine = cfg(100);
    mine.auth = AuthConfig::pass("secret");
    let mut r = Router::new();
    r.add_instance(mine.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    // RFC 3768 §7.1: MUST verify that the IP TTL is 255.
    assert_eq!(
        deliver(&mut r, 1, &advert_bytes(&mine, 150, ip(2)), 254),
        Err(DropReason::Ttl(254))
    );
    // Wrong password: "received an invalid passwd!", auth_failure.
    let mut other = mine.clone();
    other.auth = AuthConfig::pass("wrong");
    assert_eq!(
        deliver(&mut r, 2, &advert_bytes(&other, 150, ip(2)), 255),
        Err(DropReason::AuthFailure)
    );
    // Auth type differs: authtype_mismatch.
    other.auth = AuthConfig::None;
    assert_eq!(
        deliver(&mut r, 3, &advert_bytes(&other, 150, ip(2)), 255),
        Err(DropReason::AuthTypeMismatch)
    );
    // RFC 3768 §7.1: MUST verify that the Adver Interval in the packet is the same as the locally configured.
    let mut other = mine.clone();
    other.adver_int = Centiseconds(200);
    assert!(matches!(
        deliver(&mut r, 4, &advert_bytes(&other, 150, ip(2)), 255),
        Err(DropReason::IntervalMismatch { .. })
    ));
    // RFC 9568 §7.1: a VIP list that differs "SHOULD" be logged; keepalived
    // 2.2.x drops the advert (two masters after a one-sided reload), we
    // count it in addr_list_err and accept it, as keepalived 2.3.3+ does.
    let mut other = mine.clone();
    other.vips.push(ip(101));
    assert_eq!(
        deliver(&mut r, 5, &advert_bytes(&other, 150, ip(2)), 255),
        Ok(0)
    );
    // Corrupt checksum.
    let mut b = advert_bytes(&mine, 150, ip(2));
    b[7] ^= 1;
    assert_eq!(deliver(&mut r, 6, &b, 255), Err(DropReason::Checksum));
    // Truncated.
    assert!(matches!(
        deliver(&mut r, 7, &advert_bytes(&mine, 150, ip(2))[..10], 255),
        Err(DropReason::TooShort { .. })
    ));
    // A valid one.
    assert_eq!(
        deliver(&mut r, 8, &advert_bytes(&mine, 150, ip(2)), 255),
        Ok(0)
    );
    let s = &r.instance(0).stats;
    assert_eq!(
        (
            s.ip_ttl_err,
            s.auth_failure,
            s.authtype_mismatch,
            s.advert_interval_err,
            s.addr_list_err,
            s.checksum_err,
            s.packet_len_err,
            s.advert_rcvd
        ),
        (1, 1, 1, 1, 1, 1, 1, 2)
    );
}

#[test]
fn skip_check_adv_addr_accepts_a_known_master_with_other_vips() {
    let mut mine = cfg(100);
    mine.skip_check_adv_addr = true;
    let mut r = Router::new();
    r.add_instance(mine.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    assert_eq!(
        deliver(&mut r, 1, &advert_bytes(&mine, 150, ip(2)), 255),
        Ok(0)
    );
    let mut other = mine.clone();
    other.vips.push(ip(101));
    assert_eq!(
        deliver(&mut r, 2, &advert_bytes(&other, 150, ip(2)), 255),
        Ok(0)
    );
    // Not even counted: the check is skipped.
    assert_eq!(r.instance(0).stats.addr_list_err, 0);
}

#[test]
fn v3_backup_adopts_the_masters_interval() {
    // RFC 5798 §6.4.2: Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT.
    let mut mine = cfg(100);
    mine.version = Version::V3;
    let mut r = Router::new();
    r.add_instance(mine.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    let mut other = mine.clone();
    other.adver_int = Centiseconds(50);
    let i = keepalived_rs::vrrp::instance::Instance::new(other.clone());
    let src = ip(2);
    let dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
    let b = i
        .advert_repr(Priority(150))
        .to_bytes(&ChecksumCtx::Pseudo { src, dst });
    assert_eq!(deliver(&mut r, 1_000_000, &b, 255), Ok(0));
    // 3 × 0.5 s + (156 × 0.5 s)/256.
    assert_eq!(
        r.instance(0).master_down_interval(),
        Duration::from_micros(1_500_000 + 304_687)
    );
    assert_eq!(r.poll_timeout(), Some(t(1_000_000 + 1_804_687)));
}

#[test]
fn trackers_adjust_effective_priority_clamped_owner_untouched() {
    // keepalived §4.3: effective = base + Σ adjustments, clamped to [1, 254]; 255 never changes.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Up(true));
    let a = r.add_instance(
        cfg(200),
        vec![TrackRef {
            tracker: s,
            weight: 100,
            reverse: false,
        }],
    );
    let b = r.add_instance(
        InstanceConfig::new("VI_2", 52, 255, ip(1), vip()),
        vec![TrackRef {
            tracker: s,
            weight: -60,
            reverse: false,
        }],
    );
    let c = r.add_instance(
        InstanceConfig::new("VI_3", 53, 50, ip(1), vip()),
        vec![TrackRef {
            tracker: s,
            weight: -60,
            reverse: false,
        }],
    );
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    assert_eq!(r.instance(a).effective_priority(), Priority(254));
    r.set_tracker(t(1), s, TrackerValue::Up(false), &mut out);
    assert_eq!(r.instance(a).effective_priority(), Priority(200));
    assert_eq!(r.instance(b).effective_priority(), Priority(255));
    assert_eq!(r.instance(c).effective_priority(), Priority(1));
    assert!(out.contains(&Action::Log(
        "(VI_1) Changing effective priority from 254 to 200".into()
    )));
}

#[test]
fn notify_priority_changes_notifies_each_change_of_effective_priority() {
    // keepalived 2.2.7 vrrp_set_effective_priority ->
    // send_instance_priority_notifies: `INSTANCE "VI_1" BACKUP_PRIORITY 200`
    // on the FIFO (MASTER_PRIORITY as MASTER), nothing without the option.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Up(true));
    let track = || {
        vec![TrackRef {
            tracker: s,
            weight: -50,
            reverse: false,
        }]
    };
    let mut c = cfg(250);
    c.notify_priority_changes = true;
    r.add_instance(c, track());
    r.add_instance(InstanceConfig::new("VI_2", 52, 250, ip(1), vip()), track());
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    out.clear();
    r.set_tracker(t(1), s, TrackerValue::Up(false), &mut out);
    let ev: Vec<&NotifyEvent> = (out.iter())
        .filter_map(|a| match a {
            Action::Notify(e) => Some(e),
            _ => None,
        })
        .collect();
    let want = NotifyEvent {
        target: Target::Instance("VI_1".into()),
        state: NotifyState::BackupPriority,
        priority: Priority(200),
    };
    assert_eq!(ev, vec![&want]);
    assert_eq!(want.fifo_line(), "INSTANCE \"VI_1\" BACKUP_PRIORITY 200\n");
}

#[test]
fn weight_zero_tracker_failure_means_fault_and_release() {
    // keepalived §4.3: weight 0 ⇒ KO puts the instance in FAULT; from MASTER it sends priority 0 and removes the VIPs.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Up(true));
    r.add_instance(
        cfg(255).tap(|c| c.initial_master = true),
        vec![TrackRef {
            tracker: s,
            weight: 0,
            reverse: false,
        }],
    );
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    assert_eq!(r.instance(0).state(), State::Master);
    out.clear();
    r.set_tracker(t(5), s, TrackerValue::Up(false), &mut out);
    assert_eq!(r.instance(0).state(), State::Fault);
    assert!(out.contains(&Action::SendAdvert {
        instance: "VI_1".into(),
        priority: Priority(0)
    }));
    assert!(out.contains(&Action::RemoveVips {
        instance: "VI_1".into()
    }));
    out.clear();
    r.set_tracker(t(6), s, TrackerValue::Up(true), &mut out);
    assert_eq!(r.instance(0).state(), State::Backup);
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}
impl Tap for InstanceConfig {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

#[test]
fn failing_script_with_negative_weight_moves_the_master() {
    // keepalived §4.3: a master whose priority dropped stays MASTER until a preempting backup times out on it.
    let mut l = lan(&[150, 100], |_| {});
    let s = {
        let n = &mut l.nodes[0];
        let mut r = Router::new();
        let s = r.add_tracker(TrackerValue::Up(true));
        r.add_instance(
            n.router.instance(0).config().clone(),
            vec![TrackRef {
                tracker: s,
                weight: -60,
                reverse: false,
            }],
        );
        n.router = r;
        s
    };
    l.start(0);
    l.start(1);
    l.run_until(t(10_000_000));
    assert_eq!(l.masters(0), vec![0]);
    l.with_router(0, |r, now, out| {
        r.set_tracker(now, s, TrackerValue::Up(false), out)
    });
    l.run_until(t(20_000_000));
    assert_eq!(l.masters(0), vec![1]);
}

#[test]
fn becoming_master_sends_advert_then_vips_then_garps_then_notifies() {
    // keepalived §4.1/§4.7: advert first, then VIPs, then 5 GARPs per address, then notify; 5 more after garp_master_delay.
    let mut c = cfg(255);
    c.initial_master = true;
    c.evips = vec![ip(200)];
    let mut r = Router::new();
    r.add_instance(c, vec![]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    let kinds: Vec<&str> = out
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { .. } => Some("advert"),
            Action::AddVips { .. } => Some("vips"),
            Action::SendGarp { .. } => Some("garp"),
            Action::Notify(_) => Some("notify"),
            Action::Log(_) | Action::Detail(_) | Action::RemoveVips { .. } => None,
        })
        .collect();
    let mut expect = vec!["advert", "vips"];
    expect.extend(std::iter::repeat_n("garp", 10));
    expect.push("notify");
    assert_eq!(kinds, expect);
    out.clear();
    r.handle_timeout(t(5_000_000), &mut out);
    assert_eq!(
        out.iter()
            .filter(|a| matches!(a, Action::SendGarp { .. }))
            .count(),
        10
    );
}

#[test]
fn sync_group_members_move_together() {
    // keepalived §4.5: the group is MASTER only when every member wants MASTER; one member FAULT ⇒ all FAULT.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Up(true));
    let a = r.add_instance(
        cfg(100),
        vec![TrackRef {
            tracker: s,
            weight: 0,
            reverse: false,
        }],
    );
    let mut c2 = InstanceConfig::new("VI_2", 52, 100, ip(1), vec![ip(102)]);
    c2.adver_int = Centiseconds(300);
    let b = r.add_instance(c2, vec![]);
    r.add_group("SG1", vec![a, b]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    // keepalived 2.2.7 notifies the group's BACKUP first at start.
    assert_eq!(
        out.iter().find(|a| matches!(a, Action::Notify(_))),
        Some(&Action::Notify(NotifyEvent {
            target: Target::Group("SG1".into()),
            state: NotifyState::Backup,
            priority: Priority(0)
        }))
    );
    // VI_1 times out at 3.609375 s but waits for VI_2 (9.609375 s).
    let mut now = t(0);
    while let Some(next) = r.poll_timeout() {
        if next > t(20_000_000) {
            break;
        }
        now = next;
        r.handle_timeout(now, &mut out);
        if r.instance(a).state() == State::Master {
            break;
        }
    }
    assert_eq!(
        (r.instance(a).state(), r.instance(b).state()),
        (State::Master, State::Master)
    );
    assert_eq!(now, t(9_609_375));
    assert!(out.contains(&Action::Log(
        "VRRP_Group(SG1) Syncing instances to MASTER state".into()
    )));
    out.clear();
    r.set_tracker(now, s, TrackerValue::Up(false), &mut out);
    assert_eq!(
        (r.instance(a).state(), r.instance(b).state()),
        (State::Fault, State::Fault)
    );
    assert!(out.contains(&Action::Notify(NotifyEvent {
        target: Target::Group("SG1".into()),
        state: NotifyState::Fault,
        priority: Priority(0)
    })));
}

/// The "Entering MASTER STATE" lines in order, by instance name.
fn master_order(out: &[Action]) -> Vec<String> {
    out.iter()
        .filter_map(|a| match a {
            Action::Log(l) => l.strip_suffix(") Entering MASTER STATE"),
            _ => None,
        })
        .map(|n| n.trim_start_matches('(').to_string())
        .collect()
}

#[test]
fn sync_groups_complete_at_their_last_member_s_timer_which_goes_first() {
    // keepalived 2.2.7 (measured, -D): a group goes MASTER when its last member's timer ends, and that member
    // enters MASTER first ("(VI_2) Entering MASTER STATE", "VRRP_Group(G1) Syncing instances to MASTER state",
    // "(VI_1) Entering MASTER STATE"); with its sample keepalived.conf.vrrp.sync, G2 = {VI_3, VI_4} completes
    // before G1, whose last member comes later in the configuration. `state MASTER` changes nothing here.
    let mut r = Router::new();
    let mut ids = Vec::new();
    for n in 1..=4u8 {
        let mut c = InstanceConfig::new(&format!("VI_{n}"), 50 + n, 100, ip(1), vec![ip(100 + n)]);
        c.initial_master = n == 1;
        ids.push(r.add_instance(c, vec![]));
    }
    r.add_group("G1", vec![ids[0], ids[3]]);
    r.add_group("G2", vec![ids[1], ids[2]]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    assert_eq!(r.poll_timeout(), Some(t(3_609_375)));
    out.clear();
    r.handle_timeout(t(3_609_375), &mut out);
    assert_eq!(master_order(&out), ["VI_3", "VI_2", "VI_4", "VI_1"]);
    let lines: Vec<&str> = out
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) if l.contains("MASTER") => Some(l.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines[..3],
        [
            "(VI_3) Entering MASTER STATE",
            "VRRP_Group(G2) Syncing instances to MASTER state",
            "(VI_2) Entering MASTER STATE"
        ]
    );
}

#[test]
fn notify_arguments_and_fifo_lines_are_keepalived_s() {
    let e = NotifyEvent {
        target: Target::Instance("VI_1".into()),
        state: NotifyState::Master,
        priority: Priority(150),
    };
    assert_eq!(e.notify_args(), ["INSTANCE", "VI_1", "MASTER", "150"]);
    assert_eq!(e.fifo_line(), "INSTANCE \"VI_1\" MASTER 150\n");
    assert_eq!(
        e.mail("node1").unwrap(),
        (
            "[node1] VRRP Instance VI_1 - Entering MASTER state".into(),
            "=> VRRP Instance is now owning VRRP VIPs <=".into()
        )
    );
    let g = NotifyEvent {
        target: Target::Group("SG1".into()),
        state: NotifyState::Fault,
        priority: Priority(0),
    };
    assert_eq!(g.notify_args(), ["GROUP", "SG1", "FAULT", "0"]);
    assert_eq!(g.fifo_line(), "GROUP \"SG1\" FAULT 0\n");
}

#[test]
fn property_one_master_after_any_history_once_the_lan_is_whole() {
    // RFC 3768 §6.4: after convergence exactly one Master per VRID, the highest (priority, address).
    for seed in 0..200u64 {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(3) as usize;
        let prios: Vec<u8> = (0..n).map(|_| 1 + rng.below(254) as u8).collect();
        let nopreempt = false;
        let mut l = lan(&prios, |_| {});
        l.latency = Duration::from_micros(rng.below(2_000));
        for i in 0..n {
            l.start(i);
        }
        for _ in 0..(5 + rng.below(20)) {
            let node = rng.below(n as u64) as usize;
            match rng.below(5) {
                0 if l.nodes[node].up => l.stop(node),
                1 if l.nodes[node].up => l.crash(node),
                2 if !l.nodes[node].up => l.start(node),
                3 => l.set_partition(node, rng.below(3) as u32),
                _ => l.heal(),
            }
            l.run_for(Duration::from_micros(rng.below(8_000_000)));
        }
        l.heal();
        l.loss_ppm = 0;
        for i in 0..n {
            if !l.nodes[i].up {
                l.start(i);
            }
        }
        // Start-up needs one Master_Down (≤ 3.996 s); then one more for the loser to notice and yield.
        l.run_for(Duration::from_secs(9));
        let masters = l.masters(0);
        assert_eq!(
            masters.len(),
            1,
            "seed {seed}: masters {masters:?} prios {prios:?}"
        );
        let best = (0..n).max_by_key(|&i| (prios[i], i)).unwrap();
        if !nopreempt {
            assert_eq!(masters[0], best, "seed {seed}: prios {prios:?}");
        }
        // And stays so.
        l.run_for(Duration::from_secs(5));
        assert_eq!(l.masters(0), vec![best], "seed {seed}");
    }
}

/// A router with one started owner-master instance, and its actions.
fn master_router(f: impl FnOnce(&mut InstanceConfig)) -> (Router, InstanceConfig) {
    let mut c = cfg(200);
    f(&mut c);
    let mut r = Router::new();
    r.add_instance(c.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    r.handle_timeout(t(10_000_000), &mut Vec::new());
    assert_eq!(r.instance(0).state(), State::Master);
    (r, c)
}

fn deliver_out(r: &mut Router, now: u64, msg: &[u8]) -> Vec<Action> {
    let rx = Received {
        ifindex: IfIndex(1),
        src: ip(2),
        dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        ttl: 255,
        ah: false,
        ah_valid: false,
        msg,
    };
    let mut out = Vec::new();
    r.handle_advert(t(now), Family::V4, &rx, &mut out).unwrap();
    out
}

#[test]
fn master_receiving_lower_priority_forces_a_new_election() {
    // keepalived §4.2: "Received advert from IP with lower priority N, ours M, forcing new election": an advert at once and garp_lower_prio_repeat GARPs.
    let (mut r, c) = master_router(|_| {});
    let out = deliver_out(&mut r, 11_000_000, &advert_bytes(&c, 100, ip(2)));
    assert!(out.contains(&Action::Log("(VI_1) Received advert from 10.99.0.2 with lower priority 100, ours 200, forcing new election".into())));
    assert!(out.contains(&Action::SendAdvert {
        instance: "VI_1".into(),
        priority: Priority(200)
    }));
    assert_eq!(
        out.iter()
            .filter(|a| matches!(a, Action::SendGarp { .. }))
            .count(),
        5
    );
    assert!(out.contains(&Action::Notify(NotifyEvent {
        target: Target::Instance("VI_1".into()),
        state: NotifyState::MasterRxLowerPri,
        priority: Priority(200)
    })));
    assert_eq!(r.instance(0).state(), State::Master);
}

#[test]
fn lower_prio_no_advert_suppresses_the_election_advert() {
    // keepalived §4.2: ... send an advert at once (unless lower_prio_no_advert).
    let (mut r, c) = master_router(|c| c.lower_prio_no_advert = true);
    let out = deliver_out(&mut r, 11_000_000, &advert_bytes(&c, 100, ip(2)));
    assert!(!out.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
}

#[test]
fn higher_prio_send_advert_sends_one_before_yielding() {
    // keepalived §4.2: `higher_prio_send_advert`: send one advert before yielding.
    let (mut r, c) = master_router(|c| c.higher_prio_send_advert = true);
    let out = deliver_out(&mut r, 11_000_000, &advert_bytes(&c, 250, ip(2)));
    let pos_adv = out
        .iter()
        .position(|a| matches!(a, Action::SendAdvert { .. }))
        .expect("advert");
    let pos_rm = out
        .iter()
        .position(|a| matches!(a, Action::RemoveVips { .. }))
        .expect("vips removed");
    assert!(pos_adv < pos_rm);
    assert_eq!(r.instance(0).state(), State::Backup);
}

#[test]
fn master_receiving_priority_zero_sends_an_advert_at_once() {
    // RFC 3768 §6.4.3: If the Priority in the ADVERTISEMENT is Zero, then Send an ADVERTISEMENT.
    let (mut r, c) = master_router(|_| {});
    let out = deliver_out(&mut r, 11_000_000, &advert_bytes(&c, 0, ip(2)));
    assert!(out.contains(&Action::SendAdvert {
        instance: "VI_1".into(),
        priority: Priority(200)
    }));
    assert_eq!(r.instance(0).stats.pri_zero_rcvd, 1);
}

#[test]
fn two_owners_report_a_configuration_error() {
    // keepalived §4.2: "CONFIGURATION ERROR: local instance and IP are both configured as address owner, please resolve"; the lower address backs off.
    let (mut r, _) = master_router(|c| c.priority = Priority(255));
    let other = cfg(255);
    let out = deliver_out(&mut r, 11_000_000, &advert_bytes(&other, 255, ip(2)));
    assert!(out.contains(&Action::Log("(VI_1) CONFIGURATION ERROR: local instance and IP are both configured as address owner, please resolve".into())));
    // 10.99.0.2 > 10.99.0.1: we yield.
    assert_eq!(r.instance(0).state(), State::Backup);
}

#[test]
fn v3_zero_interval_advert_is_discarded() {
    // RFC 9568 (erratum 8301): an advert with Max Adver Int 0 is discarded.
    let mut mine = cfg(100);
    mine.version = Version::V3;
    let mut r = Router::new();
    r.add_instance(mine.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    let mut other = mine.clone();
    other.adver_int = Centiseconds(0);
    let i = keepalived_rs::vrrp::instance::Instance::new(other);
    let (src, dst) = (ip(2), IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)));
    let b = i
        .advert_repr(Priority(150))
        .to_bytes(&ChecksumCtx::Pseudo { src, dst });
    assert!(matches!(
        deliver(&mut r, 1, &b, 255),
        Err(DropReason::IntervalMismatch { .. })
    ));
}

#[test]
fn garp_refresh_repeats_while_master() {
    // keepalived §4.7: then every garp_master_refresh s, garp_master_refresh_repeat GARPs.
    let mut c = cfg(255);
    c.initial_master = true;
    c.garp.master_delay = Duration::ZERO;
    c.garp.master_refresh = Duration::from_secs(60);
    c.garp.master_refresh_repeat = 2;
    let mut r = Router::new();
    r.add_instance(c, vec![]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    out.clear();
    r.handle_timeout(t(60_000_000), &mut out);
    assert_eq!(
        out.iter()
            .filter(|a| matches!(a, Action::SendGarp { .. }))
            .count(),
        2
    );
}

#[test]
fn unicast_instance_drops_multicast_adverts() {
    // keepalived §4.6: "Expected unicast packet but received multicast packet from IP" (addr_list_err).
    let mut mine = cfg(100);
    mine.unicast_peers = vec![ip(2)];
    let mut r = Router::new();
    r.add_instance(mine.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    assert_eq!(
        deliver(&mut r, 1, &advert_bytes(&mine, 150, ip(2)), 255),
        Err(DropReason::UnicastMismatch)
    );
    assert_eq!(r.instance(0).stats.addr_list_err, 1);
}

#[test]
fn the_core_imports_no_io_crates() {
    // The core is sans-IO: no runtime, sockets, netlink or system calls.
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vrrp")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for bad in [
                "tokio",
                "socket2",
                "rtnetlink",
                "nix::",
                "std::net::UdpSocket",
                "SystemTime",
            ] {
                assert!(!text.contains(bad), "{} mentions {bad}", p.display());
            }
        }
    }
}

#[test]
fn garp_interval_spaces_the_packets() {
    // keepalived §4.7: GARPs spaced by garp_interval (0 ⇒ back-to-back).
    let mut c = cfg(255);
    c.initial_master = true;
    c.vips = vec![ip(100), ip(101)];
    c.garp.master_delay = Duration::ZERO;
    c.garp.master_repeat = 2;
    c.garp.interval = Duration::from_millis(10);
    let mut r = Router::new();
    r.add_instance(c, vec![]);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    let count = |o: &Vec<Action>| {
        o.iter()
            .filter(|a| matches!(a, Action::SendGarp { .. }))
            .count()
    };
    let mut times = vec![0; count(&out)];
    while let Some(next) = r.poll_timeout() {
        if next > t(100_000) {
            break;
        }
        let mut o = Vec::new();
        r.handle_timeout(next, &mut o);
        for _ in 0..count(&o) {
            times.push(next.0);
        }
    }
    assert_eq!(times, vec![0, 10_000, 20_000, 30_000]);
}

#[test]
fn vip_deleted_from_outside_makes_the_master_resign_and_retake_later() {
    // keepalived §4.3: "VIP/route/rule deleted externally: unless no_track,
    // the instance leaves MASTER (address re-added at next master
    // transition)". Measured on 2.2.7: Entering BACKUP STATE, sent 0
    // priority, removing VIPs., then MASTER again one Master_Down later
    // when no other router answers.
    let (mut r, _) = master_router(|c| c.priority = Priority(100));
    let mut out = Vec::new();
    r.address_lost(t(20_000_000), 0, &mut out);
    assert_eq!(r.instance(0).state(), State::Backup);
    let kinds: Vec<&Action> = out
        .iter()
        .filter(|a| !matches!(a, Action::Log(_) | Action::Detail(_)))
        .collect();
    assert_eq!(
        kinds,
        vec![
            &Action::SendAdvert {
                instance: "VI_1".into(),
                priority: Priority::RESIGN
            },
            &Action::RemoveVips {
                instance: "VI_1".into()
            },
            &Action::Notify(NotifyEvent {
                target: Target::Instance("VI_1".into()),
                state: NotifyState::Backup,
                priority: Priority(100)
            }),
        ]
    );
    // Master_Down_Interval = 3 × 1 s + (256 − 100)/256 s = 3.609375 s.
    assert_eq!(r.poll_timeout(), Some(t(20_000_000 + 3_609_375)));
    let mut out = Vec::new();
    r.handle_timeout(t(20_000_000 + 3_609_375), &mut out);
    assert_eq!(r.instance(0).state(), State::Master);
    assert!(out.contains(&Action::AddVips {
        instance: "VI_1".into()
    }));
    // Not a MASTER: nothing happens.
    let mut r2 = Router::new();
    r2.add_instance(cfg(100), vec![]);
    r2.start(t(0), &mut Vec::new());
    let mut out = Vec::new();
    r2.address_lost(t(1), 0, &mut out);
    assert!(out.is_empty());
}

#[test]
fn unicast_peer_ttl_outside_min_max_is_dropped_and_counted() {
    // keepalived 2.2.7 vrrp.c: with check_unicast_src, a peer's TTL/HL
    // outside [min_ttl, max_ttl] is "(VI_1) TTL/HL 64 not in range 250 - 255"
    // and counts as ip_ttl_err.
    let mut c = cfg(100);
    c.unicast_peers = vec![ip(2)];
    c.check_unicast_src = true;
    c.peer_ttl = vec![(ip(2), 250, 255)];
    let mut r = Router::new();
    r.add_instance(c.clone(), vec![]);
    r.start(t(0), &mut Vec::new());
    let i = keepalived_rs::vrrp::instance::Instance::new(c.clone());
    let msg = i
        .advert_repr(Priority(150))
        .to_bytes(&i.checksum_ctx(ip(2), ip(1)));
    let rx = |ttl| Received {
        ifindex: IfIndex(1),
        src: ip(2),
        dst: ip(1),
        ttl,
        ah: false,
        ah_valid: false,
        msg: &msg,
    };
    let e = r
        .handle_advert(t(1_000), Family::V4, &rx(64), &mut Vec::new())
        .unwrap_err();
    assert_eq!(
        e,
        DropReason::TtlRange {
            ttl: 64,
            min: 250,
            max: 255
        }
    );
    assert_eq!(
        e.log_line(&c, &rx(64)),
        Some("TTL/HL 64 not in range 250 - 255".into())
    );
    assert_eq!(r.instance(0).stats.ip_ttl_err, 1);
    assert!(r
        .handle_advert(t(2_000), Family::V4, &rx(251), &mut Vec::new())
        .is_ok());
}

#[test]
fn reload_keeps_a_master_s_state_and_advert_schedule() {
    // keepalived §1.7 (restore_vrrp_state): instances present before and after a reload keep their state; a MASTER stays MASTER with no transition, no notify and no FIFO line.
    let (mut old, c) = master_router(|_| {});
    let next_advert = old.poll_timeout().unwrap();
    let mut new = Router::new();
    new.add_instance(c.clone(), vec![]);
    let mut out = Vec::new();
    old.delete_instances(|n| n == "VI_1", &mut out);
    new.take_over(old, t(10_000_500), &mut out);
    assert_eq!(out, Vec::new());
    assert_eq!(new.instance(0).state(), State::Master);
    assert_eq!(new.instance(0).stats.become_master, 1);
    // RFC 3768 §6.4.3: adverts every Advertisement_Interval go on unchanged.
    assert_eq!(new.poll_timeout(), Some(next_advert));
    new.handle_timeout(next_advert, &mut out);
    assert_eq!(
        out,
        vec![Action::SendAdvert {
            instance: "VI_1".into(),
            priority: Priority(200)
        }]
    );
}

#[test]
fn reload_with_a_new_priority_keeps_the_state_and_logs_the_change() {
    // keepalived §1.7: state is kept across a reload; only the effective priority changes.
    let (mut old, mut c) = master_router(|_| {});
    c.priority = Priority(180);
    let mut new = Router::new();
    new.add_instance(c, vec![]);
    let mut out = Vec::new();
    old.delete_instances(|n| n == "VI_1", &mut out);
    new.take_over(old, t(10_000_500), &mut out);
    assert_eq!(
        out,
        vec![Action::Log(
            "(VI_1) Changing effective priority from 200 to 180".into()
        )]
    );
    assert_eq!(new.instance(0).state(), State::Master);
}

#[test]
fn reload_deletes_removed_instances_and_starts_new_ones() {
    // keepalived §1.7: an instance deleted by a reload notifies DELETED (FAULT without notify_deleted); a master among them resigns with priority 0 so that its backup takes over after Skew_Time (RFC 3768 §6.4.3), new instances start in BACKUP as at start-up.
    let (mut old, _) = master_router(|_| {});
    let mut new = Router::new();
    new.add_instance(
        InstanceConfig::new("VI_2", 52, 100, ip(1), vec![ip(102)]),
        vec![],
    );
    let mut out = Vec::new();
    old.delete_instances(|n| n == "VI_2", &mut out);
    assert_eq!(
        out,
        vec![
            Action::SendAdvert {
                instance: "VI_1".into(),
                priority: Priority(0)
            },
            Action::Detail("(VI_1) sent 0 priority".into()),
            Action::Detail("(VI_1) removing VIPs.".into()),
            Action::RemoveVips {
                instance: "VI_1".into()
            },
            Action::Notify(NotifyEvent {
                target: Target::Instance("VI_1".into()),
                state: NotifyState::Deleted,
                priority: Priority(200)
            }),
        ]
    );
    out.clear();
    new.take_over(old, t(10_000_500), &mut out);
    assert_eq!(new.instances().len(), 1);
    assert_eq!(new.instance(0).state(), State::Backup);
    assert!(out.contains(&Action::Log("(VI_2) Entering BACKUP STATE (init)".into())));
    // Master_Down_Interval from the reload: 3 s + 156/256 s.
    assert_eq!(new.poll_timeout(), Some(t(10_000_500 + 3_609_375)));
}

#[test]
fn reload_keeps_a_sync_group_master_together() {
    // keepalived §4.5 with §1.7: group members keep their states over a reload; the group does not re-sync.
    let mut old = Router::new();
    let a = old.add_instance(cfg(200), vec![]);
    let b = old.add_instance(
        InstanceConfig::new("VI_2", 52, 200, ip(1), vec![ip(102)]),
        vec![],
    );
    old.add_group("SG1", vec![a, b]);
    let mut out = Vec::new();
    old.start(t(0), &mut out);
    old.handle_timeout(t(10_000_000), &mut out);
    assert_eq!(old.instance(b).state(), State::Master);
    let mut new = Router::new();
    let a = new.add_instance(cfg(200), vec![]);
    let b = new.add_instance(
        InstanceConfig::new("VI_2", 52, 200, ip(1), vec![ip(102)]),
        vec![],
    );
    new.add_group("SG1", vec![a, b]);
    out.clear();
    old.delete_instances(|_| true, &mut out);
    new.take_over(old, t(10_000_500), &mut out);
    assert_eq!(out, Vec::new());
    assert_eq!(
        (new.instance(a).state(), new.instance(b).state()),
        (State::Master, State::Master)
    );
}

#[test]
fn reload_that_adds_a_vip_on_one_node_keeps_one_master() {
    // keepalived §4.6: 2.2.7 drops adverts whose VIP list differs, so a one-sided reload that adds a VIP gives two masters; RFC 9568 §7.1 only asks to log it. The backup must stay BACKUP.
    let mut backup = Router::new();
    backup.add_instance(cfg(100), vec![]);
    backup.start(t(0), &mut Vec::new());
    let mut master_cfg = cfg(200);
    master_cfg.vips.push(ip(101));
    let msg = advert_bytes(&master_cfg, 200, ip(2));
    let mut out = Vec::new();
    for k in 0..10u64 {
        out.extend(deliver_out(&mut backup, k * 1_000_000, &msg));
        backup.handle_timeout(t(k * 1_000_000 + 1), &mut out);
    }
    assert_eq!(backup.instance(0).state(), State::Backup);
    assert_eq!(backup.instance(0).stats.addr_list_err, 10);
    // Logged once, clearly.
    let logs: Vec<_> = out
        .iter()
        .filter(|a| matches!(a, Action::Log(m) if m.contains("ip number count")))
        .collect();
    assert_eq!(
        logs,
        vec![&Action::Log(
            "(VI_1) received an unexpected ip number count 2, expected 1! - accepted (RFC 9568)"
                .into()
        )]
    );
}

#[test]
fn a_script_that_has_not_reported_keeps_the_instance_in_init() {
    // keepalived 2.2.7 (measured with a weight-0 vrrp_script): no `FAULT (init)`; `VRRP_Script(chk) succeeded`, then `(VI_1) Entering BACKUP STATE` (no "(init)"), and Master_Down counts from there.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Pending);
    r.add_instance(
        cfg(100),
        vec![TrackRef {
            tracker: s,
            weight: 0,
            reverse: false,
        }],
    );
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    assert_eq!(out, Vec::new());
    assert_eq!(r.instance(0).state(), State::Init);
    assert_eq!(r.poll_timeout(), None);
    r.set_tracker(t(5_000), s, TrackerValue::Up(true), &mut out);
    assert_eq!(r.instance(0).state(), State::Backup);
    assert_eq!(
        out,
        vec![
            Action::Log("(VI_1) Entering BACKUP STATE".into()),
            Action::Notify(NotifyEvent {
                target: Target::Instance("VI_1".into()),
                state: NotifyState::Backup,
                priority: Priority(100)
            }),
        ]
    );
    assert_eq!(r.poll_timeout(), Some(t(5_000 + 3_609_375)));
    // A first result that fails: FAULT, notified but not logged (keepalived
    // 2.2.7 holds the instance in FAULT silently; measured with `/bin/false`
    // at weight 0: `VRRP_Script(chk_fail) failed (exited with status 1)`
    // and no state line).
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Pending);
    let refs = vec![TrackRef {
        tracker: s,
        weight: 0,
        reverse: false,
    }];
    r.add_instance(cfg(100), refs);
    r.start(t(0), &mut Vec::new());
    let mut out = Vec::new();
    r.set_tracker(t(5_000), s, TrackerValue::Up(false), &mut out);
    assert_eq!(r.instance(0).state(), State::Fault);
    assert_eq!(
        out,
        vec![Action::Notify(NotifyEvent {
            target: Target::Instance("VI_1".into()),
            state: NotifyState::Fault,
            priority: Priority(100)
        })]
    );
}

#[test]
fn a_weighted_script_that_has_not_reported_holds_nothing_back() {
    // keepalived 2.2.7 (`initialise_track_script_state`: only weight-0
    // scripts hold an instance back), measured with a hanging script,
    // `timeout 2`, `weight -60`: `(VI_H60) Entering BACKUP STATE (init)` at
    // once, `Changing effective priority from 150 to 90` at the timeout.
    let mut r = Router::new();
    let s = r.add_tracker(TrackerValue::Pending);
    let refs = vec![TrackRef {
        tracker: s,
        weight: -60,
        reverse: false,
    }];
    r.add_instance(cfg(150), refs);
    let mut out = Vec::new();
    r.start(t(0), &mut out);
    // The first line (after keepalived's -D "removing VIPs." of start-up).
    let first_log = out.iter().find(|a| matches!(a, Action::Log(_)));
    assert_eq!(
        first_log,
        Some(&Action::Log("(VI_1) Entering BACKUP STATE (init)".into()))
    );
    assert_eq!(r.poll_timeout(), Some(t(3_414_062)));
    let mut out = Vec::new();
    r.set_tracker(t(2_000_000), s, TrackerValue::Up(false), &mut out);
    assert_eq!(
        out,
        vec![Action::Log(
            "(VI_1) Changing effective priority from 150 to 90".into()
        )]
    );
    assert_eq!(r.instance(0).state(), State::Backup);
}

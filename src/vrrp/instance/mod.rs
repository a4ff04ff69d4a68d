//! One VRRP instance as keepalived 2.2.7 runs it: states, timers, the
//! election rules of RFC 3768/5798 with keepalived's variations, receive
//! validation and gratuitous ARP scheduling. Pure: every input carries
//! `now`, every output is an [`Action`].

use std::net::IpAddr;
use std::time::Duration;

mod checks;

use super::action::{Action, DropReason, NotifyEvent, NotifyState, Target};
use super::log_limit::LogLimit;
use super::packet::{pass_bytes, Auth, AuthType, ChecksumCtx, Repr, Version, AUTH_LEN};
use super::router::Tracking;
use super::time::{us, Instant};
use super::types::{Centiseconds, Family, IfIndex, Priority, Vrid};

/// Authentication configured for a VRRPv2 instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthConfig {
    /// None.
    None,
    /// `auth_type PASS` with the (truncated) password.
    Pass([u8; AUTH_LEN]),
    /// `auth_type AH` with the key.
    Ah([u8; AUTH_LEN]),
}

impl AuthConfig {
    /// `auth_type PASS` / `auth_pass`.
    pub fn pass(p: &str) -> AuthConfig {
        AuthConfig::Pass(pass_bytes(p))
    }

    /// The auth type a VRRPv2 advert carries for it.
    pub fn auth_type(&self) -> AuthType {
        match self {
            AuthConfig::None => AuthType::None,
            AuthConfig::Pass(_) => AuthType::Pass,
            AuthConfig::Ah(_) => AuthType::Ah,
        }
    }
}

/// Gratuitous ARP / unsolicited NA settings (global defaults, instance overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// `garp_master_delay`: second burst after becoming master (0 = none).
    pub master_delay: Duration,
    /// `garp_master_repeat`: packets per address per burst.
    pub master_repeat: u32,
    /// `garp_master_refresh`: periodic refresh while master (0 = never).
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`.
    pub lower_prio_repeat: u32,
    /// `garp_interval` / `gna_interval`: spacing between packets (0 = back to back).
    pub interval: Duration,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            interval: Duration::ZERO,
        }
    }
}

/// What an instance needs to know, independent of how it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// `vrrp_instance NAME`.
    pub name: String,
    /// Interface name, for log lines.
    pub interface: String,
    /// Where its adverts arrive: the receiving socket's interface (the
    /// VMAC unless `vmac_xmit_base`). Received adverts are matched on it
    /// first, then on VRID and family.
    pub ifindex: IfIndex,
    /// `virtual_router_id`.
    pub vrid: Vrid,
    /// 2 or 3.
    pub version: Version,
    /// Address family.
    pub family: Family,
    /// `priority` (base).
    pub priority: Priority,
    /// `advert_int`.
    pub adver_int: Centiseconds,
    /// `state MASTER` (only shortens start-up for an owner, priority 255).
    pub initial_master: bool,
    /// `nopreempt`.
    pub nopreempt: bool,
    /// `preempt_delay`.
    pub preempt_delay: Duration,
    /// Our primary (source) address: used for the equal-priority tie-break.
    pub primary: IpAddr,
    /// `virtual_ipaddress`: carried in adverts.
    pub vips: Vec<IpAddr>,
    /// `virtual_ipaddress_excluded`: not in adverts, still ARPed.
    pub evips: Vec<IpAddr>,
    /// Authentication (v2).
    pub auth: AuthConfig,
    /// `unicast_peer`s; empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// Per-peer `min_ttl`/`max_ttl` (default 0 and 255), checked with
    /// `check_unicast_src` as keepalived does.
    pub peer_ttl: Vec<(IpAddr, u8, u8)>,
    /// `skip_check_adv_addr`.
    pub skip_check_adv_addr: bool,
    /// `lower_prio_no_advert`.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`.
    pub higher_prio_send_advert: bool,
    /// `down_timer_adverts` (3).
    pub down_timer_adverts: u32,
    /// `check_unicast_src`.
    pub check_unicast_src: bool,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
    /// GARP schedule.
    pub garp: GarpConfig,
    /// No accept mode and not the owner: as MASTER the firewall drops
    /// traffic to its VIPs (only keepalived's `-D` lines come from here).
    pub drops_vip_traffic: bool,
    /// `notify_priority_changes`: each change of the effective priority
    /// is notified (to the FIFOs).
    pub notify_priority_changes: bool,
}

impl InstanceConfig {
    /// Whether its adverts come inside IPsec AH (VRRPv2 `auth_type AH`).
    pub fn wants_ah(&self) -> bool {
        self.version == Version::V2 && matches!(self.auth, AuthConfig::Ah(_))
    }

    /// A v2 IPv4 instance with keepalived's defaults, for tests and tools.
    pub fn new(
        name: &str,
        vrid: u8,
        priority: u8,
        primary: IpAddr,
        vips: Vec<IpAddr>,
    ) -> InstanceConfig {
        let family = if primary.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        InstanceConfig {
            name: name.into(),
            interface: "eth0".into(),
            ifindex: IfIndex(1),
            vrid: Vrid::new(vrid).expect("vrid 1..255"),
            version: if family == Family::V6 {
                Version::V3
            } else {
                Version::V2
            },
            family,
            priority: Priority(priority),
            adver_int: Centiseconds(100),
            initial_master: false,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            primary,
            vips,
            evips: Vec::new(),
            auth: AuthConfig::None,
            unicast_peers: Vec::new(),
            peer_ttl: Vec::new(),
            skip_check_adv_addr: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            down_timer_adverts: 3,
            check_unicast_src: false,
            v3_checksum_as_v2: false,
            garp: GarpConfig::default(),
            drops_vip_traffic: false,
            notify_priority_changes: false,
        }
    }
}

/// Instance state (keepalived's numbering in dumps: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started.
    Init,
    /// Listening; takes over when Master_Down expires.
    Backup,
    /// Owns the VIPs and advertises.
    Master,
    /// A tracked interface or weight-0 tracker is down.
    Fault,
    /// Stopped.
    Stop,
}

impl State {
    /// keepalived's upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

/// Counters named like keepalived's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Valid adverts received.
    pub advert_rcvd: u64,
    /// Adverts sent.
    pub advert_sent: u64,
    /// Transitions to MASTER.
    pub become_master: u64,
    /// Transitions out of MASTER.
    pub release_master: u64,
    /// Length errors.
    pub packet_len_err: u64,
    /// v2 interval mismatches.
    pub advert_interval_err: u64,
    /// TTL / hop limit errors.
    pub ip_ttl_err: u64,
    /// Not an ADVERTISEMENT.
    pub invalid_type_rcvd: u64,
    /// VIP list or unicast/multicast mismatch.
    pub addr_list_err: u64,
    /// Unknown auth type.
    pub invalid_authtype: u64,
    /// Auth type differs.
    pub authtype_mismatch: u64,
    /// Wrong password / ICV.
    pub auth_failure: u64,
    /// Priority-0 adverts received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent.
    pub pri_zero_sent: u64,
    /// Ours: bad checksums (keepalived only logs these).
    pub checksum_err: u64,
    /// Ours: wrong version (keepalived only logs these).
    pub version_err: u64,
}

/// A received advert as the driver hands it over.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The interface it arrived on.
    pub ifindex: IfIndex,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Whether it came inside an AH header.
    pub ah: bool,
    /// Whether keepalived's AH ICV check passed (computed by the driver,
    /// which holds the raw IP bytes; ignored when `ah` is false).
    pub ah_valid: bool,
    /// The VRRP message bytes (after IP and AH headers).
    pub msg: &'a [u8],
}

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct Instance {
    cfg: InstanceConfig,
    state: State,
    /// Sum of tracker adjustments.
    track_delta: i32,
    /// Trackers with weight 0 that are down (FAULT while > 0).
    faults: u32,
    /// Trackers that have not reported yet.
    pending: u32,
    /// Started, but waiting in INIT for `pending` to reach 0.
    waiting: bool,
    effective: Priority,
    /// Master_Adver_Interval (v3 learns it from the master).
    master_adver_int: Centiseconds,
    master_down_at: Option<Instant>,
    adver_at: Option<Instant>,
    /// End of the preempt delay, once started (kept afterwards so that it
    /// starts only once per BACKUP period).
    preempt_until: Option<Instant>,
    garp_at: Option<(Instant, u32)>,
    /// Packets waiting for their `garp_interval` slot, and when the next goes.
    garp_queue: std::collections::VecDeque<IpAddr>,
    garp_next: Option<Instant>,
    refresh_at: Option<Instant>,
    last_master: Option<IpAddr>,
    /// The last VIP-list mismatch logged, and from whom (logged once).
    addr_warned: Option<(IpAddr, DropReason)>,
    /// Log budgets of dropped adverts, per [`DropReason::kind`].
    drop_logs: Vec<(&'static str, LogLimit)>,
    /// Wants MASTER but is held back by its sync group.
    pub(crate) want_master: bool,
    pub(crate) in_group: bool,
    /// Starts after waiting in FAULT ([`super::router::Router::late_start`]).
    pub(crate) late: bool,
    /// `vrrp_startup_delay`: no Master_Down timer ends before this plus
    /// its interval (keepalived's `vrrp_delayed_start_time`).
    pub(crate) start_delay: Option<Instant>,
    /// Statistics.
    pub stats: Stats,
}

impl Instance {
    /// A new instance in INIT.
    pub fn new(cfg: InstanceConfig) -> Instance {
        let effective = cfg.priority;
        let master_adver_int = cfg.adver_int;
        Instance {
            cfg,
            state: State::Init,
            track_delta: 0,
            faults: 0,
            pending: 0,
            waiting: false,
            effective,
            master_adver_int,
            master_down_at: None,
            adver_at: None,
            preempt_until: None,
            garp_at: None,
            garp_queue: std::collections::VecDeque::new(),
            garp_next: None,
            refresh_at: None,
            last_master: None,
            addr_warned: None,
            drop_logs: Vec::new(),
            want_master: false,
            in_group: false,
            start_delay: None,
            late: false,
            stats: Stats::default(),
        }
    }

    /// Configuration.
    pub fn config(&self) -> &InstanceConfig {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority (base plus trackers, clamped 1..254; owner kept).
    pub fn effective_priority(&self) -> Priority {
        self.effective
    }

    /// Base priority plus tracker adjustments, before clamping
    /// (keepalived's "Total priority").
    pub fn total_priority(&self) -> i32 {
        i32::from(self.cfg.priority.0) + self.track_delta
    }

    /// The address of the master we last accepted an advert from.
    pub fn master_addr(&self) -> Option<IpAddr> {
        self.last_master
    }

    /// Skew_Time: v2 `(256 − prio)/256 s`, v3 `(256 − prio) × Master_Adver_Interval / 256`.
    pub fn skew(&self) -> Duration {
        let p = 256 - u64::from(self.effective.0);
        match self.cfg.version {
            Version::V2 => us(p * 1_000_000 / 256),
            _ => us(p * self.master_adver_int.as_micros() / 256),
        }
    }

    /// Where a BACKUP's down timer counts from: `now`, or the end of
    /// `vrrp_startup_delay` while it runs (keepalived's
    /// `vrrp_init_instance_sands`).
    fn down_from(&self, now: Instant) -> Instant {
        match self.start_delay {
            Some(t) if now < t => t,
            _ => now,
        }
    }

    /// When a BACKUP armed at `now` declares the master down.
    fn master_down_from(&self, now: Instant) -> Instant {
        self.down_from(now) + self.master_down_interval()
    }

    /// Master_Down_Interval: `down_timer_adverts × Master_Adver_Interval + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        us(u64::from(self.cfg.down_timer_adverts) * self.master_adver_int.as_micros()) + self.skew()
    }

    /// The earliest deadline the driver must wake us at.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.master_down_at,
            self.adver_at,
            self.garp_at.map(|g| g.0),
            self.garp_next,
            self.refresh_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn log(&self, out: &mut Vec<Action>, msg: String) {
        out.push(Action::Log(format!("({}) {}", self.cfg.name, msg)));
    }

    /// A line keepalived logs only with `-D` (measured on 2.2.7).
    fn detail(&self, out: &mut Vec<Action>, msg: &str) {
        out.push(Action::Detail(format!("({}) {}", self.cfg.name, msg)));
    }

    fn notify(&self, out: &mut Vec<Action>, state: NotifyState) {
        out.push(Action::Notify(NotifyEvent {
            target: Target::Instance(self.cfg.name.clone()),
            state,
            priority: self.effective,
        }));
    }

    fn advert(&mut self, out: &mut Vec<Action>, priority: Priority) {
        self.stats.advert_sent += 1;
        if priority == Priority::RESIGN {
            self.stats.pri_zero_sent += 1;
        }
        out.push(Action::SendAdvert {
            instance: self.cfg.name.clone(),
            priority,
        });
    }

    /// The advert we send, as a message (the driver adds IP and AH headers).
    pub fn advert_repr(&self, priority: Priority) -> Repr {
        Repr {
            version: self.cfg.version,
            msg_type: 1,
            vrid: self.cfg.vrid,
            priority,
            adver_int: self.cfg.adver_int,
            addrs: self.cfg.vips.clone(),
            auth: match (self.cfg.version, self.cfg.auth) {
                (Version::V2, AuthConfig::Pass(p)) => Auth::Pass(p),
                (Version::V2, AuthConfig::Ah(_)) => Auth::Ah,
                _ => Auth::None,
            },
        }
    }

    /// The checksum context for a message between `src` and `dst`.
    pub fn checksum_ctx(&self, src: IpAddr, dst: IpAddr) -> ChecksumCtx {
        match (self.cfg.version, self.cfg.family) {
            (Version::V3, Family::V6) => ChecksumCtx::Pseudo { src, dst },
            (Version::V3, Family::V4) if !self.cfg.v3_checksum_as_v2 => {
                ChecksumCtx::Pseudo { src, dst }
            }
            _ => ChecksumCtx::Plain,
        }
    }

    // ===== inputs =====

    /// Starts the instance (keepalived: `BACKUP (init)`, or `FAULT (init)`,
    /// or at once MASTER for an owner configured `state MASTER`). While a
    /// tracked script has not reported yet it waits in INIT, and enters
    /// BACKUP or FAULT (without `(init)`) at its first result, as keepalived
    /// 2.2.7 does (measured: no FAULT notify before a good first result).
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.pending > 0 {
            self.waiting = true;
            return;
        }
        let suffix = if self.late { "" } else { " (init)" };
        self.enter(now, suffix, out);
    }

    /// The first state after INIT.
    fn enter(&mut self, now: Instant, suffix: &str, out: &mut Vec<Action>) {
        let owner_master = self.cfg.priority.is_owner() && self.cfg.initial_master;
        if !suffix.is_empty() && !owner_master {
            // keepalived's vrrp_init_state restores the interface first
            // (-D lines only; nothing is held yet).
            self.detail(out, "removing VIPs.");
            if self.cfg.drops_vip_traffic {
                self.detail(out, "removing firewall drop rule");
            }
        }
        if self.faults > 0 {
            self.state = State::Fault;
            // keepalived 2.2.7 at start-up (observed with track_bfd,
            // track_file and a down interface): "(VI_1) entering FAULT
            // state". An instance held back by a weight-0 script is
            // already FAULT there (silently): a failing first result
            // notifies FAULT without a line.
            if !suffix.is_empty() {
                self.log(out, "entering FAULT state".to_string());
            }
            self.notify(out, NotifyState::Fault);
            return;
        }
        if owner_master {
            if self.down_from(now) == now {
                self.become_master(now, out);
                return;
            }
            // keepalived: an owner is a BACKUP whose down timer is 1 µs,
            // counted from the end of `vrrp_startup_delay`.
            self.state = State::Backup;
            self.master_down_at = Some(self.down_from(now) + Duration::from_micros(1));
            self.notify(out, NotifyState::Backup);
            return;
        }
        self.state = State::Backup;
        self.log(out, format!("Entering BACKUP STATE{suffix}"));
        self.master_down_at = Some(self.master_down_from(now));
        self.notify(out, NotifyState::Backup);
    }

    /// Stops: a master sends one priority-0 advert and releases its VIPs.
    pub fn stop(&mut self, _now: Instant, release_vips: bool, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.advert(out, Priority::RESIGN);
            self.detail(out, "sent 0 priority");
            if release_vips {
                self.release(out);
            }
        }
        self.state = State::Stop;
        self.clear_timers();
        self.notify(out, NotifyState::Stop);
    }

    /// Reload: this freshly configured instance takes over `old`'s state,
    /// timers, tracking and statistics, so that a MASTER stays MASTER with
    /// no transition, no notify and no new advert schedule (keepalived's
    /// `restore_vrrp_state`). Call [`Router::take_over`], which retracks.
    ///
    /// [`Router::take_over`]: super::router::Router::take_over
    pub(crate) fn take_over(&mut self, mut old: Instance) {
        // A v3 backup keeps the interval it learnt from the master unless
        // our own changed; a master uses its own.
        if old.cfg.adver_int != self.cfg.adver_int || old.state == State::Master {
            old.master_adver_int = self.cfg.adver_int;
        }
        old.in_group = self.in_group;
        old.want_master &= self.in_group;
        old.start_delay = self.start_delay;
        std::mem::swap(&mut old.cfg, &mut self.cfg);
        *self = old;
    }

    /// Reload: the instance is gone from the configuration. A MASTER
    /// resigns (priority-0 advert, addresses released) so that a backup
    /// takes over at once; then DELETED is notified (the driver shows it
    /// as FAULT unless `notify_deleted`, as keepalived).
    pub fn delete(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.advert(out, Priority::RESIGN);
            self.detail(out, "sent 0 priority");
            self.stats.release_master += 1;
            self.release(out);
        }
        self.state = State::Stop;
        self.clear_timers();
        self.notify(out, NotifyState::Deleted);
    }

    /// A MASTER whose addresses changed at a reload announces them again
    /// (one burst of `garp_master_repeat`, keepalived's
    /// `vrrp_send_link_update` after `restore_vrrp_state`).
    pub fn announce(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.garp_burst(now, out, self.cfg.garp.master_repeat);
        }
    }

    fn clear_timers(&mut self) {
        self.master_down_at = None;
        self.adver_at = None;
        self.preempt_until = None;
        self.garp_at = None;
        self.refresh_at = None;
        self.garp_queue.clear();
        self.garp_next = None;
    }

    fn release(&mut self, out: &mut Vec<Action>) {
        self.detail(out, "removing VIPs.");
        out.push(Action::RemoveVips {
            instance: self.cfg.name.clone(),
        });
        if self.cfg.drops_vip_traffic {
            self.detail(out, "removing firewall drop rule");
        }
    }

    pub(crate) fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.want_master = false;
        self.state = State::Master;
        self.stats.become_master += 1;
        self.master_down_at = None;
        self.preempt_until = None;
        self.log(out, "Entering MASTER STATE".into());
        // Advert first, then addresses, then gratuitous ARPs, then notify.
        let p = self.effective;
        self.advert(out, p);
        self.adver_at = Some(now + us(self.cfg.adver_int.as_micros()));
        if self.cfg.drops_vip_traffic {
            self.detail(out, "setting firewall drop rule");
        }
        self.detail(out, "setting VIPs.");
        out.push(Action::AddVips {
            instance: self.cfg.name.clone(),
        });
        self.garp_burst(now, out, self.cfg.garp.master_repeat);
        if !self.cfg.garp.master_delay.is_zero() {
            self.garp_at = Some((
                now + self.cfg.garp.master_delay,
                self.cfg.garp.master_repeat,
            ));
        }
        if !self.cfg.garp.master_refresh.is_zero() {
            self.refresh_at = Some(now + self.cfg.garp.master_refresh);
        }
        self.notify(out, NotifyState::Master);
    }

    fn garp_burst(&mut self, now: Instant, out: &mut Vec<Action>, repeat: u32) {
        if repeat == 0 {
            return;
        }
        let what = match self.cfg.family {
            Family::V4 => "gratuitous ARPs",
            Family::V6 => "Unsolicited Neighbour Adverts",
        };
        for a in self.cfg.vips.iter().chain(&self.cfg.evips) {
            let msg = format!("Sending/queueing {what} on {} for {a}", self.cfg.interface);
            self.detail(out, &msg);
        }
        // Round-robin over the addresses, `repeat` times each; spaced by
        // garp_interval when it is set.
        for _ in 0..repeat {
            for i in 0..self.cfg.vips.len() + self.cfg.evips.len() {
                let a = if i < self.cfg.vips.len() {
                    self.cfg.vips[i]
                } else {
                    self.cfg.evips[i - self.cfg.vips.len()]
                };
                self.garp_queue.push_back(a);
            }
        }
        if self.garp_next.is_none() {
            self.garp_next = Some(now);
        }
        self.drain_garps(now, out);
    }

    fn drain_garps(&mut self, now: Instant, out: &mut Vec<Action>) {
        while self.garp_next.is_some_and(|t| t <= now) {
            let Some(addr) = self.garp_queue.pop_front() else {
                self.garp_next = None;
                break;
            };
            out.push(Action::SendGarp {
                instance: self.cfg.name.clone(),
                addr,
            });
            if self.garp_queue.is_empty() {
                self.garp_next = None;
            } else if !self.cfg.garp.interval.is_zero() {
                self.garp_next = Some(now + self.cfg.garp.interval);
            }
        }
    }

    pub(crate) fn become_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        let was_master = self.state == State::Master;
        self.state = State::Backup;
        self.want_master = false;
        self.preempt_until = None;
        self.garp_queue.clear();
        self.garp_next = None;
        self.adver_at = None;
        self.garp_at = None;
        self.refresh_at = None;
        self.log(out, "Entering BACKUP STATE".into());
        if was_master {
            self.stats.release_master += 1;
            self.release(out);
        }
        self.master_down_at = Some(self.master_down_from(now));
        self.notify(out, NotifyState::Backup);
    }

    /// A tracked VIP, route or rule was deleted from outside: a MASTER
    /// steps down to BACKUP, resigning with a priority-0 advert, and takes
    /// the addresses again at its next MASTER transition (keepalived 2.2.7,
    /// measured: `Entering BACKUP STATE`, `sent 0 priority`, `removing VIPs.`).
    pub fn address_lost(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Master {
            return;
        }
        self.log(out, "Entering BACKUP STATE".into());
        self.advert(out, Priority::RESIGN);
        self.detail(out, "sent 0 priority");
        self.stats.release_master += 1;
        self.release(out);
        self.clear_timers();
        self.state = State::Backup;
        self.want_master = false;
        self.master_down_at = Some(self.master_down_from(now));
        self.notify(out, NotifyState::Backup);
    }

    /// keepalived's `vrrp_state_leave_master`/`leave_fault` for FAULT: the
    /// line first, then a MASTER resigns (`sent 0 priority` with `-D`)
    /// and removes its VIPs.
    pub(crate) fn become_fault(&mut self, out: &mut Vec<Action>) {
        self.log(out, "Entering FAULT STATE".into());
        if self.state == State::Master {
            self.advert(out, Priority::RESIGN);
            self.detail(out, "sent 0 priority");
            self.stats.release_master += 1;
            self.release(out);
        }
        self.state = State::Fault;
        self.want_master = false;
        self.clear_timers();
        self.notify(out, NotifyState::Fault);
    }

    /// Timers that have expired at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Master {
            self.drain_garps(now, out);
        }
        if let Some(t) = self.master_down_at {
            if t <= now && self.state == State::Backup {
                self.master_down_at = None;
                self.detail(out, "Receive advertisement timeout");
                if self.in_group {
                    // The sync group decides; keep listening meanwhile.
                    self.want_master = true;
                    self.master_down_at = Some(self.master_down_from(now));
                } else {
                    self.become_master(now, out);
                }
            }
        }
        if let Some(t) = self.adver_at {
            if t <= now && self.state == State::Master {
                let p = self.effective;
                self.advert(out, p);
                // A fixed schedule: a late wake-up does not delay the next
                // advert (unless a whole interval was missed).
                let int = us(self.cfg.adver_int.as_micros());
                self.adver_at = Some(if t + int > now { t + int } else { now + int });
            }
        }
        if let Some((t, n)) = self.garp_at {
            if t <= now && self.state == State::Master {
                self.garp_at = None;
                self.garp_burst(now, out, n);
            }
        }
        if let Some(t) = self.refresh_at {
            if t <= now && self.state == State::Master {
                self.garp_burst(now, out, self.cfg.garp.master_refresh_repeat);
                self.refresh_at = Some(now + self.cfg.garp.master_refresh);
            }
        }
    }

    /// The trackers' contribution changed (see [`Tracking`]).
    pub fn set_tracking(&mut self, now: Instant, t: Tracking, out: &mut Vec<Action>) {
        let Tracking {
            delta,
            faults,
            pending,
        } = t;
        self.pending = pending;
        self.track_delta = delta;
        let before = self.effective;
        self.effective = if self.cfg.priority.is_owner() {
            self.cfg.priority
        } else {
            Priority((i32::from(self.cfg.priority.0) + delta).clamp(1, 254) as u8)
        };
        if before != self.effective {
            self.log(
                out,
                format!(
                    "Changing effective priority from {} to {}",
                    before, self.effective
                ),
            );
            if self.cfg.notify_priority_changes {
                let s = match self.state {
                    State::Master => NotifyState::MasterPriority,
                    _ => NotifyState::BackupPriority,
                };
                self.notify(out, s);
            }
        }
        let was = self.faults;
        self.faults = faults;
        if self.waiting && pending == 0 {
            self.waiting = false;
            self.enter(now, "", out);
            return;
        }
        if was == 0 && faults > 0 && !matches!(self.state, State::Fault | State::Stop | State::Init)
        {
            self.become_fault(out);
        } else if was > 0 && faults == 0 && self.state == State::Fault {
            self.become_backup(now, out);
        }
    }

    /// Validates a received advert in keepalived's order; on success
    /// applies the election rules.
    pub fn handle_advert(
        &mut self,
        now: Instant,
        rx: &Received,
        out: &mut Vec<Action>,
    ) -> Result<(), DropReason> {
        if matches!(self.state, State::Init | State::Fault | State::Stop) {
            return Err(DropReason::Inactive);
        }
        let r = self.check(rx);
        match r {
            Ok(repr) => {
                self.stats.advert_rcvd += 1;
                self.check_addrs(rx, &repr, out);
                self.elect(now, rx.src, &repr, out);
                Ok(())
            }
            Err(reason) => {
                self.count(reason);
                self.log_drop(now, reason, rx, out);
                Err(reason)
            }
        }
    }

    fn elect(&mut self, now: Instant, src: IpAddr, adv: &Repr, out: &mut Vec<Action>) {
        if adv.priority == Priority::RESIGN {
            self.stats.pri_zero_rcvd += 1;
        }
        match self.state {
            State::Backup => {
                if adv.priority == Priority::RESIGN {
                    // RFC 5798 §6.4.2: Set the Master_Down_Timer to Skew_Time.
                    self.detail(out, "Backup received priority 0 advertisement");
                    self.master_down_at = Some(self.down_from(now) + self.skew());
                    return;
                }
                let preempt_running = self.preempt_until.is_some_and(|t| t > now);
                if !self.cfg.preempt_delay.is_zero()
                    && adv.priority < self.effective
                    && self.preempt_until.is_none()
                    && !self.cfg.nopreempt
                {
                    // The first lower-priority advert starts preempt_delay.
                    self.preempt_until = Some(now + self.cfg.preempt_delay);
                    self.log(
                        out,
                        format!(
                            "start preempt delay ({:.6})",
                            self.cfg.preempt_delay.as_secs_f64()
                        ),
                    );
                    self.accept(now, src, adv);
                    return;
                }
                if self.cfg.nopreempt || adv.priority >= self.effective || preempt_running {
                    self.accept(now, src, adv);
                } else {
                    self.log(
                        out,
                        format!(
                            "received lower priority ({}) advert from {} - discarding",
                            adv.priority, src
                        ),
                    );
                }
            }
            State::Master => {
                if adv.priority == Priority::RESIGN {
                    let p = self.effective;
                    self.advert(out, p);
                    self.adver_at = Some(now + us(self.cfg.adver_int.as_micros()));
                    return;
                }
                if adv.priority.is_owner() && self.effective.is_owner() {
                    self.log(
                        out,
                        "CONFIGURATION ERROR: local instance and IP are both configured as address owner, please resolve"
                            .into(),
                    );
                }
                let higher = adv.priority > self.effective
                    || (adv.priority == self.effective && ip_gt(src, self.cfg.primary));
                if higher {
                    if adv.priority > self.effective {
                        self.log(
                            out,
                            format!(
                                "Master received advert from {} with higher priority {}, ours {}",
                                src, adv.priority, self.effective
                            ),
                        );
                    } else {
                        self.log(out, format!("Master received advert from {} with same priority {} but higher IP address than ours", src, adv.priority));
                    }
                    if self.cfg.higher_prio_send_advert {
                        let p = self.effective;
                        self.advert(out, p);
                    }
                    self.accept_interval(adv);
                    self.last_master = Some(src);
                    self.become_backup(now, out);
                } else {
                    self.log(out, format!("Received advert from {} with lower priority {}, ours {}, forcing new election", src, adv.priority, self.effective));
                    if !self.cfg.lower_prio_no_advert {
                        let p = self.effective;
                        self.advert(out, p);
                        self.adver_at = Some(now + us(self.cfg.adver_int.as_micros()));
                    }
                    self.garp_burst(now, out, self.cfg.garp.lower_prio_repeat);
                    if !self.cfg.garp.lower_prio_delay.is_zero() {
                        self.garp_at = Some((
                            now + self.cfg.garp.lower_prio_delay,
                            self.cfg.garp.lower_prio_repeat,
                        ));
                    }
                    self.notify(out, NotifyState::MasterRxLowerPri);
                }
            }
            State::Fault | State::Init | State::Stop => {}
        }
    }

    fn accept_interval(&mut self, adv: &Repr) {
        if self.cfg.version == Version::V3 && adv.adver_int.0 != 0 {
            // RFC 5798 §6.4.2: Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT.
            self.master_adver_int = adv.adver_int;
        }
    }

    fn accept(&mut self, now: Instant, src: IpAddr, adv: &Repr) {
        self.accept_interval(adv);
        self.want_master = false;
        self.last_master = Some(src);
        self.master_down_at = Some(self.master_down_from(now));
    }
}

/// Equal priorities are broken on the higher primary address.
fn ip_gt(a: IpAddr, b: IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a) > u32::from(b),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(a) > u128::from(b),
        _ => false,
    }
}

impl Instance {
    /// Held back by its sync group: listen again until `until`.
    pub(crate) fn hold(&mut self, until: Instant) {
        self.master_down_at = Some(until);
    }
}

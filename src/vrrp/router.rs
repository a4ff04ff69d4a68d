//! All instances of one VRRP process: packet demultiplexing by receiving
//! interface, VRID and family (and the unicast peer where several unicast
//! instances share them), trackers shared between instances, and sync
//! groups that move their members together (keepalived's
//! `vrrp_sync_group`).

use std::collections::HashMap;

use super::action::{Action, DropReason, NotifyEvent, NotifyState, Target};
use super::instance::{Instance, InstanceConfig, Received, State};
use super::log_limit::LogLimit;
use super::packet::{Packet, HEADER_LEN};
use super::time::{us, Instant};
use super::timers::TimerQueue;
use super::types::{Family, IfIndex, Priority};

/// Index of an instance in the router.
pub type InstanceId = usize;
/// Index of a tracker in the router.
pub type TrackerId = usize;

/// The current reading of a tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerValue {
    /// A script or interface: OK/up or KO/down.
    Up(bool),
    /// A `track_file` value.
    File(i64),
    /// A `track_bfd` session: up or down. Weights work as keepalived
    /// 2.2.7 applies them to BFD (unlike scripts, `reverse` negates the
    /// adjustment instead of inverting the state): a positive weight
    /// counts while up, a negative one while down, `reverse` flips the
    /// sign; weight 0 means FAULT while down (while up with `reverse`).
    Bfd(bool),
    /// A `vrrp_track_process` quorum: held or not. keepalived 2.2.7
    /// weighs it as BFD (a positive weight counts while held, a negative
    /// one while lost, `reverse` negates; weight 0: FAULT while lost, or
    /// while held with `reverse`).
    Process(bool),
    /// A `vrrp_script` that has not reported yet: neither good nor bad;
    /// an instance tracking one with weight 0 waits in INIT (keepalived
    /// 2.2.7 enters BACKUP only after the first result, with no FAULT
    /// line before it); with another weight it starts as usual.
    Pending,
}

/// What an instance's trackers add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tracking {
    /// Sum of weight adjustments.
    pub delta: i32,
    /// Failed weight-0 trackers (FAULT while > 0).
    pub faults: u32,
    /// Trackers that have not reported yet.
    pub pending: u32,
}

/// How one instance uses one tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackRef {
    /// The tracker.
    pub tracker: TrackerId,
    /// Weight (0: failure means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// A sync group.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    /// Name.
    pub name: String,
    /// Members.
    pub members: Vec<InstanceId>,
    state: State,
    forced_fault: Vec<InstanceId>,
}

/// The VRRP process's state machines.
#[derive(Debug, Default)]
pub struct Router {
    instances: Vec<Instance>,
    tracks: Vec<Vec<TrackRef>>,
    trackers: Vec<TrackerValue>,
    groups: Vec<SyncGroup>,
    /// A VRID names a virtual router on one LAN: the same VRID on two
    /// interfaces is two routers (keepalived's sockpool, then VRID).
    by_vrid: HashMap<RxKey, Vec<InstanceId>>,
    log_unknown_vrids: bool,
    unknown_log: LogLimit,
    /// End of `vrrp_startup_delay` (set at start, kept by reloads).
    start_delay: Option<Instant>,
    /// Each instance's next deadline.
    timers: TimerQueue,
    /// The sync group of each instance.
    member_group: Vec<Option<usize>>,
}

/// Where a received advert is looked up: interface, VRID, IPv6.
type RxKey = (IfIndex, u8, bool);

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds an instance with its trackers.
    pub fn add_instance(&mut self, cfg: InstanceConfig, tracks: Vec<TrackRef>) -> InstanceId {
        let id = self.instances.len();
        self.by_vrid
            .entry((cfg.ifindex, cfg.vrid.get(), cfg.family == Family::V6))
            .or_default()
            .push(id);
        self.instances.push(Instance::new(cfg));
        self.tracks.push(tracks);
        id
    }

    /// `vrrp_startup_delay`: no instance leaves BACKUP before `until`
    /// plus its down timer (set once, at the daemon's first start).
    pub fn delay_start(&mut self, until: Instant) {
        self.start_delay = Some(until);
        for i in &mut self.instances {
            i.start_delay = self.start_delay;
        }
    }

    /// `log_unknown_vrids`: log adverts no instance of their interface
    /// takes (keepalived's `Unknown VRID(N) received on interface(IF)`).
    pub fn set_log_unknown_vrids(&mut self, on: bool) {
        self.log_unknown_vrids = on;
    }

    /// The instance a received advert belongs to: the one of its
    /// interface, VRID and family; where several unicast instances share
    /// those (keepalived's duplicate unicast VRID), the one whose current
    /// master or unicast peer sent it. keepalived opens AH and plain VRRP
    /// sockets apart, so an advert of the other kind (`ah`) has none.
    pub fn lookup(&self, rx: &Received, family: Family) -> Option<InstanceId> {
        if rx.msg.len() < HEADER_LEN {
            return None;
        }
        let vrid = Packet::new_unchecked(rx.msg).vrid();
        let ids = self
            .by_vrid
            .get(&(rx.ifindex, vrid, family == Family::V6))?;
        let src = rx.src;
        let id = match ids.as_slice() {
            [id] => *id,
            ids => ids
                .iter()
                .copied()
                .find(|&id| self.instances[id].master_addr() == Some(src))
                .or_else(|| {
                    ids.iter()
                        .copied()
                        .find(|&id| self.instances[id].config().unicast_peers.contains(&src))
                })?,
        };
        (self.instances[id].config().wants_ah() == rx.ah).then_some(id)
    }

    /// The instance starts out of a FAULT it waited in (its interface or
    /// address came late): no `(init)` in its first state's log line.
    pub fn late_start(&mut self, id: InstanceId) {
        self.instances[id].late = true;
    }

    /// Adds a tracker with its initial value.
    pub fn add_tracker(&mut self, initial: TrackerValue) -> TrackerId {
        self.trackers.push(initial);
        self.trackers.len() - 1
    }

    /// A tracker's current value.
    pub fn tracker_value(&self, tracker: TrackerId) -> TrackerValue {
        self.trackers[tracker]
    }

    /// Corrects a tracker's initial value before [`Router::start`] or
    /// [`Router::take_over`], which apply it (no effect until then).
    pub fn reset_tracker(&mut self, tracker: TrackerId, value: TrackerValue) {
        self.trackers[tracker] = value;
    }

    /// Adds a sync group.
    pub fn add_group(&mut self, name: &str, members: Vec<InstanceId>) {
        self.member_group.resize(self.instances.len(), None);
        for &m in &members {
            self.instances[m].in_group = true;
            self.member_group[m] = Some(self.groups.len());
        }
        self.groups.push(SyncGroup {
            name: name.into(),
            members,
            state: State::Init,
            forced_fault: Vec::new(),
        });
    }

    /// An instance.
    pub fn instance(&self, id: InstanceId) -> &Instance {
        &self.instances[id]
    }

    /// All instances.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// A tracker's current reading (the dumps show script status).
    pub fn tracker(&self, id: TrackerId) -> Option<TrackerValue> {
        self.trackers.get(id).copied()
    }

    /// The sync group an instance belongs to, if any.
    pub fn group_of(&self, id: InstanceId) -> Option<&str> {
        self.group(id).map(|g| self.groups[g].name.as_str())
    }

    /// Zeroes every instance's counters (`--signum=STATS_CLEAR`).
    pub fn clear_stats(&mut self) {
        for i in &mut self.instances {
            i.stats = Default::default();
        }
    }

    /// Starts every instance.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        // keepalived notifies the groups' BACKUP first (scripts, FIFO,
        // mail), then the instances'.
        for g in &mut self.groups {
            g.state = State::Backup;
            Self::group_notify(g, NotifyState::Backup, out);
        }
        for id in 0..self.instances.len() {
            self.retrack(now, id, out);
            self.instances[id].start(now, out);
        }
        self.sync(now, out);
        self.rearm_all();
    }

    /// Stops every instance.
    pub fn stop(&mut self, now: Instant, release_vips: bool, out: &mut Vec<Action>) {
        for i in &mut self.instances {
            i.stop(now, release_vips, out);
        }
        for g in &mut self.groups {
            out.push(Action::Notify(NotifyEvent {
                target: Target::Group(g.name.clone()),
                state: NotifyState::Stop,
                priority: Priority(0),
            }));
            g.state = State::Stop;
        }
        self.rearm_all();
    }

    /// Reload, on the old router: the instances `keep` does not name are
    /// deleted ([`Instance::delete`]); the others are left for
    /// [`Router::take_over`].
    pub fn delete_instances(&mut self, keep: impl Fn(&str) -> bool, out: &mut Vec<Action>) {
        for i in &mut self.instances {
            if !keep(&i.config().name) && i.state() != State::Stop {
                i.delete(out);
            }
        }
        self.rearm_all();
    }

    /// Reload, on the router built from the new configuration: instances
    /// of `old` with the same name keep their state, timers and statistics
    /// (no transition unless a tracker now says otherwise); new instances
    /// start as at start-up; sync groups keep their state by name.
    pub fn take_over(&mut self, old: Router, now: Instant, out: &mut Vec<Action>) {
        if let Some(until) = self.start_delay.or(old.start_delay) {
            self.delay_start(until);
        }
        let old_names: Vec<String> = old
            .instances
            .iter()
            .map(|i| i.config().name.clone())
            .collect();
        let mut olds: HashMap<String, Instance> = old
            .instances
            .into_iter()
            .filter(|i| i.state() != State::Stop)
            .map(|i| (i.config().name.clone(), i))
            .collect();
        for id in 0..self.instances.len() {
            match olds.remove(&self.instances[id].config().name) {
                Some(o) => {
                    self.instances[id].take_over(o);
                    self.retrack(now, id, out);
                }
                None => {
                    self.retrack(now, id, out);
                    self.instances[id].start(now, out);
                }
            }
        }
        for g in &mut self.groups {
            let Some(og) = old.groups.iter().find(|og| og.name == g.name) else {
                g.state = State::Backup;
                continue;
            };
            g.state = og.state;
            // Forced members, by name.
            g.forced_fault = og
                .forced_fault
                .iter()
                .filter_map(|&m| {
                    let name = &old_names[m];
                    g.members
                        .iter()
                        .copied()
                        .find(|&n| self.instances[n].config().name == *name)
                })
                .collect();
        }
        self.sync(now, out);
        self.rearm_all();
    }

    /// A MASTER announces its addresses again (after a reload added some).
    pub fn announce(&mut self, now: Instant, id: InstanceId, out: &mut Vec<Action>) {
        self.instances[id].announce(now, out);
        self.rearm(id);
    }

    /// The earliest deadline of all instances.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// The earliest deadline found by asking every instance: what
    /// [`Router::poll_timeout`] must equal (checked by the simulator).
    pub fn scan_timeout(&self) -> Option<Instant> {
        self.instances
            .iter()
            .filter_map(Instance::poll_timeout)
            .min()
    }

    /// Runs expired timers: only the instances due, in configuration
    /// order.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        let mut groups = Vec::new();
        for id in self.timers.take_due(now) {
            let i = &mut self.instances[id];
            i.handle_timeout(now, out);
            let wants = i.want_master;
            self.rearm(id);
            if let Some(gi) = self.group(id) {
                if wants {
                    // keepalived's timers end one by one (each set a few
                    // µs after the previous at start): a group completes
                    // at its last member's timer, before later ones run.
                    self.sync_group(gi, Some(id), now, out);
                }
                groups.push(gi);
            }
        }
        groups.sort_unstable();
        groups.dedup();
        for gi in groups {
            self.sync_group(gi, None, now, out);
        }
    }

    /// A received advert, demultiplexed by [`Router::lookup`]: an advert
    /// is handed to one instance at most, and only to one of the LAN it
    /// arrived from.
    pub fn handle_advert(
        &mut self,
        now: Instant,
        family: Family,
        rx: &Received,
        out: &mut Vec<Action>,
    ) -> Result<InstanceId, DropReason> {
        if rx.msg.len() < HEADER_LEN {
            return Err(DropReason::TooShort {
                len: rx.msg.len(),
                expected: HEADER_LEN,
            });
        }
        let Some(id) = self.lookup(rx, family) else {
            if self.log_unknown_vrids {
                let vrid = Packet::new_unchecked(rx.msg).vrid();
                self.log_unknown_vrid(now, rx.ifindex, vrid, out);
            }
            return Err(DropReason::WrongVrid);
        };
        let r = self.instances[id].handle_advert(now, rx, out).map(|()| id);
        self.rearm(id);
        if let Some(gi) = self.group(id) {
            self.sync_group(gi, None, now, out);
        }
        r
    }

    fn log_unknown_vrid(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        vrid: u8,
        out: &mut Vec<Action>,
    ) {
        // The socket exists for some instance of this interface.
        let ifname = self
            .instances
            .iter()
            .find(|i| i.config().ifindex == ifindex)
            .map(|i| i.config().interface.as_str());
        let line = || {
            ifname.map(|n| format!("Unknown VRID({vrid}) received on interface({n}). ignoring..."))
        };
        out.extend(
            self.unknown_log
                .lines(now, "unknown VRID", line)
                .into_iter()
                .map(Action::Log),
        );
    }

    /// The instances that track `tracker`.
    pub fn instances_tracking(&self, tracker: TrackerId) -> Vec<InstanceId> {
        (0..self.instances.len())
            .filter(|&id| self.tracks[id].iter().any(|t| t.tracker == tracker))
            .collect()
    }

    /// A tracker's new value.
    pub fn set_tracker(
        &mut self,
        now: Instant,
        tracker: TrackerId,
        value: TrackerValue,
        out: &mut Vec<Action>,
    ) {
        if self.trackers[tracker] == value {
            return;
        }
        self.trackers[tracker] = value;
        for id in 0..self.instances.len() {
            if self.tracks[id].iter().any(|t| t.tracker == tracker) {
                self.retrack(now, id, out);
            }
        }
        self.sync(now, out);
        self.rearm_all();
    }

    /// One of the instance's tracked addresses was deleted from outside.
    pub fn address_lost(&mut self, now: Instant, id: InstanceId, out: &mut Vec<Action>) {
        self.instances[id].address_lost(now, out);
        self.sync(now, out);
        self.rearm_all();
    }

    /// The sync group of an instance.
    fn group(&self, id: InstanceId) -> Option<usize> {
        self.member_group.get(id).copied().flatten()
    }

    /// Re-reads an instance's next deadline after it changed.
    fn rearm(&mut self, id: InstanceId) {
        self.timers.set(id, self.instances[id].poll_timeout());
    }

    /// Re-reads every deadline (start, reload, trackers: rare events).
    fn rearm_all(&mut self) {
        for id in 0..self.instances.len() {
            self.rearm(id);
        }
    }

    fn retrack(&mut self, now: Instant, id: InstanceId, out: &mut Vec<Action>) {
        let t = track_sum(&self.tracks[id], &self.trackers);
        self.instances[id].set_tracking(now, t, out);
    }

    fn group_notify(g: &SyncGroup, state: NotifyState, out: &mut Vec<Action>) {
        out.push(Action::Notify(NotifyEvent {
            target: Target::Group(g.name.clone()),
            state,
            priority: Priority(0),
        }));
    }

    /// Moves sync-group members together (reference §4.5).
    fn sync(&mut self, now: Instant, out: &mut Vec<Action>) {
        for gi in 0..self.groups.len() {
            self.sync_group(gi, None, now, out);
        }
    }

    /// One group; `first`, the member whose timer just ended, goes MASTER
    /// before the others (keepalived: the instance that times out
    /// transitions, then syncs its group in member order).
    fn sync_group(
        &mut self,
        gi: usize,
        first: Option<InstanceId>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.sync_members(gi, first, now, out);
        for k in 0..self.groups[gi].members.len() {
            self.rearm(self.groups[gi].members[k]);
        }
    }

    fn sync_members(
        &mut self,
        gi: usize,
        first: Option<InstanceId>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let mut members = self.groups[gi].members.clone();
        if let Some(f) = first {
            members.retain(|&m| m != f);
            members.insert(0, f);
        }
        let gstate = self.groups[gi].state;
        if gstate == State::Stop {
            return;
        }
        let own_fault = members.iter().any(|&m| {
            self.instances[m].state() == State::Fault && !self.groups[gi].forced_fault.contains(&m)
        });
        if own_fault {
            if gstate != State::Fault {
                out.push(Action::Log(format!(
                    "VRRP_Group({}) Syncing instances to FAULT state",
                    self.groups[gi].name
                )));
                for &m in &members {
                    if self.instances[m].state() != State::Fault {
                        self.instances[m].become_fault(out);
                        self.groups[gi].forced_fault.push(m);
                    }
                }
                self.groups[gi].state = State::Fault;
                Self::group_notify(&self.groups[gi], NotifyState::Fault, out);
            }
            return;
        }
        if gstate == State::Fault {
            for m in std::mem::take(&mut self.groups[gi].forced_fault) {
                self.instances[m].become_backup(now, out);
            }
            self.groups[gi].state = State::Backup;
            Self::group_notify(&self.groups[gi], NotifyState::Backup, out);
            return;
        }
        let all_want = members
            .iter()
            .all(|&m| self.instances[m].want_master || self.instances[m].state() == State::Master);
        let any_want = members.iter().any(|&m| self.instances[m].want_master);
        if all_want && any_want {
            // The member whose timer ended enters MASTER before the line.
            let (lead, rest) = members.split_at(usize::from(first.is_some()));
            for (k, part) in [lead, rest].into_iter().enumerate() {
                if k == 1 {
                    out.push(Action::Log(format!(
                        "VRRP_Group({}) Syncing instances to MASTER state",
                        self.groups[gi].name
                    )));
                }
                for &m in part {
                    if self.instances[m].state() != State::Master {
                        self.instances[m].become_master(now, out);
                    }
                }
            }
            self.groups[gi].state = State::Master;
            Self::group_notify(&self.groups[gi], NotifyState::Master, out);
            return;
        }
        if any_want {
            // Held back: check again one interval + 1/256 s later.
            for &m in &members {
                let i = &mut self.instances[m];
                if i.want_master {
                    let d = us(i.config().adver_int.as_micros() + 1_000_000 / 256);
                    i.hold(now + d);
                }
            }
        }
        let any_backup = members
            .iter()
            .any(|&m| self.instances[m].state() == State::Backup);
        if gstate == State::Master && any_backup {
            out.push(Action::Log(format!(
                "VRRP_Group({}) Syncing instances to BACKUP state",
                self.groups[gi].name
            )));
            for &m in &members {
                if self.instances[m].state() == State::Master {
                    self.instances[m].become_backup(now, out);
                }
            }
            self.groups[gi].state = State::Backup;
            Self::group_notify(&self.groups[gi], NotifyState::Backup, out);
        }
    }
}

/// Sum of tracker adjustments and count of weight-0 failures (§4.3).
pub fn track_sum(refs: &[TrackRef], values: &[TrackerValue]) -> Tracking {
    let mut delta = 0i32;
    let mut faults = 0u32;
    let mut pending = 0u32;
    for r in refs {
        match values[r.tracker] {
            // keepalived 2.2.7 (`initialise_track_script_state`): a
            // script that has not reported yet holds back the instances
            // that track it with weight 0 only; a weighted one changes
            // nothing until its first result.
            TrackerValue::Pending if r.weight == 0 => pending += 1,
            TrackerValue::Pending => {}
            TrackerValue::Up(up) => {
                // `reverse` inverts the state, also for weight 0.
                let ok = up != r.reverse;
                if r.weight == 0 {
                    if !ok {
                        faults += 1;
                    }
                } else if (r.weight > 0) == ok {
                    // Positive weights add while OK, negative ones subtract while KO.
                    delta += r.weight;
                }
            }
            TrackerValue::Bfd(up) | TrackerValue::Process(up) => {
                let sign = if r.reverse { -1 } else { 1 };
                if r.weight == 0 {
                    if up == r.reverse {
                        faults += 1;
                    }
                } else if (r.weight > 0) == up {
                    delta += r.weight * sign;
                }
            }
            TrackerValue::File(v) => {
                if r.weight == 0 {
                    if v != 0 {
                        faults += 1;
                    }
                } else {
                    let w = if r.reverse { -r.weight } else { r.weight };
                    let d = (v.saturating_mul(i64::from(w))).clamp(-1_000_000, 1_000_000) as i32;
                    if d < -253 {
                        faults += 1;
                    } else {
                        delta += d;
                    }
                }
            }
        }
    }
    Tracking {
        delta,
        faults,
        pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(up: bool, weight: i32, reverse: bool) -> (i32, u32) {
        let t = track_sum(
            &[TrackRef {
                tracker: 0,
                weight,
                reverse,
            }],
            &[TrackerValue::Up(up)],
        );
        (t.delta, t.faults)
    }

    #[test]
    fn weights_add_while_ok_subtract_while_ko_and_zero_faults() {
        // keepalived §4.3: weight > 0 adds w while OK; weight < 0 subtracts |w| while KO;
        // reverse inverts; weight 0 ⇒ KO puts the instance in FAULT.
        assert_eq!(sum(true, -20, false), (0, 0));
        assert_eq!(sum(true, 10, false), (10, 0));
        assert_eq!(sum(true, -20, true), (-20, 0));
        assert_eq!(sum(true, 0, true), (0, 1));
        assert_eq!(sum(false, -20, false), (-20, 0));
        assert_eq!(sum(false, 0, false), (0, 1));
        assert_eq!(sum(false, 10, true), (10, 0));
    }

    fn bfd(up: bool, weight: i32, reverse: bool) -> (i32, u32) {
        let t = track_sum(
            &[TrackRef {
                tracker: 0,
                weight,
                reverse,
            }],
            &[TrackerValue::Bfd(up)],
        );
        (t.delta, t.faults)
    }

    #[test]
    fn process_quorum_weighs_as_keepalived_s_track_process() {
        // keepalived 2.2.7 `initialise_process_tracking_priorities` and
        // `process_update_track_process_status`: weight 0 faults while
        // quorum is lost (held, with reverse); a weight counts w * (±1)
        // while held (w > 0) or lost (w < 0).
        let p = |up: bool, weight: i32, reverse: bool| {
            let r = TrackRef {
                tracker: 0,
                weight,
                reverse,
            };
            let t = track_sum(&[r], &[TrackerValue::Process(up)]);
            (t.delta, t.faults)
        };
        assert_eq!(p(false, 0, false), (0, 1));
        assert_eq!(p(true, 0, false), (0, 0));
        assert_eq!(p(true, 0, true), (0, 1));
        assert_eq!(p(true, 10, false), (10, 0));
        assert_eq!(p(false, 10, false), (0, 0));
        assert_eq!(p(false, -10, false), (-10, 0));
        assert_eq!(p(true, 10, true), (-10, 0));
        assert_eq!(p(false, -10, true), (10, 0));
    }

    #[test]
    fn bfd_weights_as_keepalived_applies_them() {
        // keepalived.conf(5): "positive weights are added to the vrrp
        // instance priority when the bfd instance is up, negative weights
        // reduce the priority when it is down. However, if reverse is
        // specified, the priority is decreased when up and increased when
        // down. 'weight 0 reverse' will cause the vrrp instance to be down
        // when the bfd instance is up, and vice versa."
        assert_eq!(bfd(true, 10, false), (10, 0));
        assert_eq!(bfd(false, 10, false), (0, 0));
        assert_eq!(bfd(true, -10, false), (0, 0));
        assert_eq!(bfd(false, -10, false), (-10, 0));
        assert_eq!(bfd(true, 10, true), (-10, 0));
        assert_eq!(bfd(false, 10, true), (0, 0));
        assert_eq!(bfd(false, -10, true), (10, 0));
        assert_eq!(bfd(true, -10, true), (0, 0));
        assert_eq!(bfd(false, 0, false), (0, 1));
        assert_eq!(bfd(true, 0, false), (0, 0));
        assert_eq!(bfd(true, 0, true), (0, 1));
        assert_eq!(bfd(false, 0, true), (0, 0));
    }
}

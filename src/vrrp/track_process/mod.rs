//! `vrrp_track_process` as keepalived 2.2.7 runs it, sans-IO: the driver
//! feeds a /proc scan and the process connector's fork, exec, comm and
//! exit events with an explicit `now`; the tracker counts the matching
//! processes of each spec and reports quorum changes, after the
//! `fork_delay`/`terminate_delay` timers where keepalived applies them.
//!
//! keepalived's quirks are kept on purpose, since instances follow them:
//! an exec never waits for `fork_delay` (only a fork of a tracked process
//! does), a process re-exec'ing a matching command counts twice, and the
//! rescan after lost events reports quorum without recording it.

mod matching;
pub mod proc_event;

use std::collections::BTreeMap;
use std::time::Duration;

pub use matching::{comm_file, stat_comm, Match, ProcessSpec, Reads};

use super::time::Instant;

/// What the tracker asks of the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessAction {
    /// A line for the log.
    Log(String),
    /// A line for the log with `-D` only.
    Detail(String),
    /// Spec `index` gained (`up`) or lost quorum: instances follow.
    Quorum {
        /// The spec, by configuration order.
        index: usize,
        /// Quorum held.
        up: bool,
    },
    /// Events were lost: scan /proc again ([`ProcessTracker::rescan`]).
    Rescan,
}

/// A process as read from /proc (only what [`Reads`] asks for).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    /// Its comm.
    pub comm: Option<Vec<u8>>,
    /// Its command line, read up to the length [`Reads`] gives.
    pub cmdline: Vec<u8>,
}

/// Which delay timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fork,
    Terminate,
}

/// One running timer; keepalived remembers only the latest of each kind,
/// so an older one still fires.
#[derive(Debug, Clone, Copy)]
struct Timer {
    at: Instant,
    kind: Kind,
    id: u64,
}

/// The counting state of one spec.
#[derive(Debug, Clone, Default)]
pub struct SpecState {
    /// Matching processes now (`num_cur_proc`).
    pub count: u32,
    /// Whether quorum is held (`have_quorum`).
    pub have_quorum: bool,
    fork_ref: Option<u64>,
    terminate_ref: Option<u64>,
    timers: Vec<Timer>,
}

impl SpecState {
    /// Whether the `fork_delay` timer runs (for the dump).
    pub fn fork_timer_running(&self) -> bool {
        self.fork_ref.is_some()
    }

    /// Whether the `terminate_delay` timer runs (for the dump).
    pub fn terminate_timer_running(&self) -> bool {
        self.terminate_ref.is_some()
    }
}

/// After lost events keepalived waits a second before scanning again.
const RESCAN_DELAY: Duration = Duration::from_secs(1);
/// How long the kernel has to answer the listen request.
const ACK_WAIT: Duration = Duration::from_millis(100);

/// The process tracker of one configuration.
#[derive(Debug, Clone, Default)]
pub struct ProcessTracker {
    specs: Vec<ProcessSpec>,
    state: Vec<SpecState>,
    /// Counted processes: pid → the specs it counts for (a spec may be
    /// there twice, as in keepalived).
    pids: BTreeMap<i32, Vec<usize>>,
    rescan_at: Option<Instant>,
    /// A rescan is due (quiets the missed-messages lines).
    pub need_rescan: bool,
    ack_at: Option<Instant>,
    acked: bool,
    next_timer: u64,
}

impl ProcessTracker {
    /// A tracker for `specs`, counting nothing yet.
    pub fn new(specs: Vec<ProcessSpec>) -> ProcessTracker {
        let state = vec![SpecState::default(); specs.len()];
        ProcessTracker {
            specs,
            state,
            ..Default::default()
        }
    }

    /// The specs, in configuration order.
    pub fn specs(&self) -> &[ProcessSpec] {
        &self.specs
    }

    /// The state of spec `index`.
    pub fn state(&self, index: usize) -> &SpecState {
        &self.state[index]
    }

    /// What the driver must read for each process.
    pub fn reads(&self) -> Reads {
        Reads::of(&self.specs)
    }

    /// keepalived's `read_procs`: counts the running processes (pid and
    /// what was read), without reporting.
    pub fn scan(&mut self, procs: impl IntoIterator<Item = (i32, ProcInfo)>) {
        for (pid, info) in procs {
            for i in 0..self.specs.len() {
                let m = self.specs[i].matches(info.comm.as_deref(), &info.cmdline);
                if matches!(m, Match::Name(true) | Match::Params(true)) {
                    self.add(pid, i);
                }
            }
        }
    }

    /// Quorum after the start-up scan (keepalived's
    /// `initialise_process_tracking_priorities`), recorded.
    pub fn initial_quorum(&mut self) -> Vec<bool> {
        (0..self.specs.len())
            .map(|i| {
                let q = self.in_range(i);
                self.state[i].have_quorum = q;
                q
            })
            .collect()
    }

    /// The listen request went out: the kernel should answer quickly.
    pub fn listening(&mut self, now: Instant) {
        if !self.acked {
            self.ack_at = Some(now + ACK_WAIT);
        }
    }

    /// The kernel confirmed the listen request.
    pub fn ack(&mut self, out: &mut Vec<ProcessAction>) {
        self.acked = true;
        self.ack_at = None;
        out.push(ProcessAction::Detail(
            "proc_events has confirmed it is configured".into(),
        ));
    }

    /// The connector dropped messages (ENOBUFS): rescan a second later.
    pub fn lost_events(&mut self, now: Instant) {
        self.rescan_at = Some(now + RESCAN_DELAY);
        self.need_rescan = true;
    }

    fn in_range(&self, i: usize) -> bool {
        let (s, c) = (&self.specs[i], self.state[i].count);
        c >= s.quorum && c <= s.quorum_max
    }

    fn add(&mut self, pid: i32, i: usize) {
        self.pids.entry(pid).or_default().push(i);
        self.state[i].count = self.state[i].count.wrapping_add(1);
    }

    fn timer(&mut self, now: Instant, i: usize, kind: Kind, delay: u64) {
        self.next_timer += 1;
        let id = self.next_timer;
        let st = &mut self.state[i];
        st.timers.push(Timer {
            at: now + Duration::from_micros(delay),
            kind,
            id,
        });
        match kind {
            Kind::Fork => st.fork_ref = Some(id),
            Kind::Terminate => st.terminate_ref = Some(id),
        }
    }

    /// Cancels the timer keepalived remembers; whether there was one.
    fn cancel(&mut self, i: usize, kind: Kind) -> bool {
        let st = &mut self.state[i];
        let r = match kind {
            Kind::Fork => st.fork_ref.take(),
            Kind::Terminate => st.terminate_ref.take(),
        };
        match r {
            Some(id) => {
                st.timers.retain(|t| t.id != id);
                true
            }
            None => false,
        }
    }

    /// keepalived's `process_update_track_process_status`.
    fn report(&self, i: usize, up: bool, out: &mut Vec<ProcessAction>) {
        out.push(ProcessAction::Log(format!(
            "Quorum {} for tracked process {}",
            if up { "gained" } else { "lost" },
            self.specs[i].name
        )));
        out.push(ProcessAction::Quorum { index: i, up });
    }

    /// keepalived's `update_process_status`: reports a change only.
    fn update(&mut self, i: usize, up: bool, out: &mut Vec<ProcessAction>) {
        if self.state[i].have_quorum != up {
            self.state[i].have_quorum = up;
            self.report(i, up, out);
        }
    }

    /// After a count went up: at quorum, or just above quorum_max.
    fn went_up(&self, i: usize) -> bool {
        let (s, c) = (&self.specs[i], self.state[i].count);
        c == s.quorum || c == s.quorum_max.wrapping_add(1)
    }

    /// Takes one count of spec `i` off (`old` the count before): whether
    /// it crossed a quorum boundary.
    fn went_down(&self, i: usize, old: u32) -> bool {
        let s = &self.specs[i];
        old == s.quorum || self.state[i].count == s.quorum_max
    }

    fn decrement(&mut self, i: usize) -> u32 {
        let old = self.state[i].count;
        self.state[i].count = old.wrapping_sub(1);
        old
    }

    /// keepalived's `remove_process_from_track`: spec `i` no longer counts
    /// `pid` (once).
    fn remove(&mut self, pid: i32, i: usize, out: &mut Vec<ProcessAction>) {
        let Some(refs) = self.pids.get_mut(&pid) else {
            return;
        };
        let Some(at) = refs.iter().position(|&r| r == i) else {
            return;
        };
        refs.remove(at);
        let old = self.decrement(i);
        if self.went_down(i, old) {
            self.cancel(i, Kind::Fork);
            let up = self.state[i].count == self.specs[i].quorum_max;
            self.update(i, up, out);
        }
    }

    /// PROC_EVENT_FORK of a process (not a thread): a child of a counted
    /// process counts for the same specs, after `fork_delay`.
    pub fn fork(&mut self, now: Instant, parent: i32, child: i32, out: &mut Vec<ProcessAction>) {
        let Some(refs) = self.pids.get(&parent).cloned() else {
            return;
        };
        self.pids.entry(child).or_default();
        for i in refs {
            self.add(child, i);
            if !self.went_up(i) {
                continue;
            }
            if !self.cancel(i, Kind::Terminate) && self.specs[i].fork_delay != 0 {
                self.timer(now, i, Kind::Fork, self.specs[i].fork_delay);
                continue;
            }
            let up = self.state[i].count == self.specs[i].quorum;
            self.update(i, up, out);
        }
    }

    /// PROC_EVENT_EXIT of a process: it no longer counts; losing quorum
    /// waits `terminate_delay`.
    pub fn exit(&mut self, now: Instant, pid: i32, out: &mut Vec<ProcessAction>) {
        let Some(refs) = self.pids.remove(&pid) else {
            return;
        };
        for i in refs {
            let old = self.decrement(i);
            if !self.went_down(i, old) {
                continue;
            }
            if !self.cancel(i, Kind::Fork) && self.specs[i].terminate_delay != 0 {
                self.timer(now, i, Kind::Terminate, self.specs[i].terminate_delay);
                continue;
            }
            let up = self.state[i].count == self.specs[i].quorum_max;
            self.update(i, up, out);
        }
    }

    /// PROC_EVENT_EXEC of a process, with what /proc says now (keepalived's
    /// `check_process` without a comm): it may start or stop counting.
    pub fn exec(&mut self, pid: i32, info: &ProcInfo, out: &mut Vec<ProcessAction>) {
        self.check(pid, info.comm.as_deref(), &info.cmdline, false, out);
    }

    /// PROC_EVENT_COMM: the process renamed itself (keepalived's
    /// `check_process_comm_change`).
    pub fn comm(&mut self, pid: i32, comm: &[u8], out: &mut Vec<ProcessAction>) {
        let refs = self.pids.get(&pid).cloned().unwrap_or_default();
        for i in refs {
            if self.specs[i].full_command {
                continue;
            }
            if comm == self.specs[i].path.as_slice() {
                return;
            }
            self.remove(pid, i, out);
        }
        self.check(pid, Some(comm), &[], true, out);
    }

    /// keepalived's `check_process`.
    fn check(
        &mut self,
        pid: i32,
        comm: Option<&[u8]>,
        cmdline: &[u8],
        have_comm: bool,
        out: &mut Vec<ProcessAction>,
    ) {
        let had = self.pids.contains_key(&pid);
        for i in 0..self.specs.len() {
            if self.specs[i].full_command && have_comm {
                continue;
            }
            match self.specs[i].matches(comm, cmdline) {
                Match::Params(false) => {
                    if had {
                        self.remove(pid, i, out);
                    }
                }
                Match::Name(true) | Match::Params(true) => {
                    self.add(pid, i);
                    if self.went_up(i) {
                        self.cancel(i, Kind::Terminate);
                        let up = self.state[i].count == self.specs[i].quorum;
                        self.update(i, up, out);
                    }
                }
                Match::Name(false) => {
                    if had && !have_comm {
                        self.remove(pid, i, out);
                    }
                }
            }
        }
        if self.pids.get(&pid).is_some_and(Vec::is_empty) {
            self.pids.remove(&pid);
        }
    }

    /// The next timer: a delay, the rescan, the ack check.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self
            .state
            .iter()
            .flat_map(|s| s.timers.iter().map(|t| t.at));
        timers.chain(self.rescan_at).chain(self.ack_at).min()
    }

    /// Timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<ProcessAction>) {
        if self.ack_at.is_some_and(|t| t <= now) {
            self.ack_at = None;
            out.push(ProcessAction::Log(
                "WARNING - the kernel does not support proc events - track_process will not work"
                    .into(),
            ));
        }
        if self.rescan_at.is_some_and(|t| t <= now) {
            self.rescan_at = None;
            out.push(ProcessAction::Rescan);
        }
        for i in 0..self.specs.len() {
            let mut due: Vec<Timer> = self.state[i]
                .timers
                .iter()
                .filter(|t| t.at <= now)
                .copied()
                .collect();
            due.sort_by_key(|t| (t.at, t.id));
            for t in due {
                self.state[i].timers.retain(|x| x.id != t.id);
                let up = self.in_range(i);
                self.update(i, up, out);
                // keepalived forgets its timer whichever one fired.
                match t.kind {
                    Kind::Fork => self.state[i].fork_ref = None,
                    Kind::Terminate => self.state[i].terminate_ref = None,
                }
            }
        }
    }
}

mod rescan;

#[cfg(test)]
mod tests;

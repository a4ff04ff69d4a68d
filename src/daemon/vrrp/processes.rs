//! `vrrp_track_process` in the VRRP driver: the connector opened once and
//! kept over reloads, a tracker per configuration fed its messages and
//! /proc reads, and quorum changes turned into tracker values.

use super::*;
use crate::daemon::track_process::{self as io, Monitor, MonitorMsg};
use crate::vrrp::track_process::proc_event::{ProcEvent, SeqCheck};
use crate::vrrp::track_process::{ProcessAction, ProcessSpec, ProcessTracker};

/// The connector, its reader task and keepalived's sequence check.
pub(super) struct ProcMonitor {
    mon: Monitor,
    task: tokio::task::JoinHandle<()>,
    seq: SeqCheck,
    /// `process_monitor_rcv_bufs_force`.
    force: bool,
}

impl ProcMonitor {
    /// keepalived's `end_process_monitor`: no more events, please.
    pub(super) fn stop(self) {
        if let Err(e) = self.mon.listen(false) {
            log_line(&e.to_string());
        }
    }
}

impl Drop for ProcMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `process_monitor_rcv_bufs` and its force flag, when configured.
fn rcv_bufs(config: &Config) -> (Option<u32>, bool) {
    let g = &config.global;
    (
        g.netlink_buf("process_monitor_rcv_bufs"),
        g.netlink_buf("process_monitor_rcv_bufs_force").is_some(),
    )
}

impl Driver {
    /// The tracker of `config`'s `vrrp_track_process`es, counting what
    /// runs now. As keepalived: the first configuration with processes
    /// opens the connector and asks for events (a refused request leaves
    /// the processes uncounted); a reload opens it without asking and
    /// scans again whatever happened before.
    pub(super) fn process_tracker(&mut self, config: &Config) -> ProcessTracker {
        let specs = config.vrrp.track_processes.iter();
        let mut tr = ProcessTracker::new(specs.map(ProcessSpec::from_config).collect());
        let first = !self.res.built_once;
        self.res.built_once = true;
        if tr.specs().is_empty() {
            return tr;
        }
        let (bufs, force) = rcv_bufs(config);
        if self.res.procs.is_none() {
            match Monitor::open(bufs.map(|b| (b, force))) {
                Ok(mon) => {
                    let task = mon.spawn(self.chans.procs.clone());
                    self.res.procs = Some(ProcMonitor {
                        mon,
                        task,
                        seq: SeqCheck::new(io::num_cpus()),
                        force,
                    });
                }
                Err(e @ io::MonitorError::NotSupported) => {
                    crate::daemon::log::log_detail(&e.to_string())
                }
                Err(e) => log_line(&e.to_string()),
            }
        }
        if first {
            let listened = match &self.res.procs {
                Some(p) => p.mon.listen(true),
                None => Err(io::MonitorError::Listen(std::io::Error::from_raw_os_error(
                    libc::EBADF,
                ))),
            };
            if let Err(e) = listened {
                log_line(&e.to_string());
                // keepalived closes the socket and counts nothing.
                self.res.procs = None;
                return tr;
            }
            tr.listening(self.now());
        }
        tr.scan(io::scan(tr.reads()));
        tr
    }

    /// A message of the connector task.
    pub(super) async fn process_msg(&mut self, m: MonitorMsg) {
        let now = self.now();
        let mut acts = Vec::new();
        let tr = &mut self.cur.procs;
        match m {
            MonitorMsg::Log(l) => log_line(&l),
            MonitorMsg::Lost => tr.lost_events(now),
            MonitorMsg::Event(msg) => {
                if let Some(p) = &mut self.res.procs {
                    let quiet = tr.need_rescan && !self.detail;
                    if let Some(l) = p.seq.see(msg.cpu, msg.seq, quiet) {
                        log_line(&l);
                    }
                }
                // Threads are not processes: keepalived skips them.
                match msg.event {
                    ProcEvent::Ack => tr.ack(&mut acts),
                    ProcEvent::Fork {
                        parent_tgid,
                        child_pid,
                        child_tgid,
                        ..
                    } if child_pid == child_tgid => {
                        tr.fork(now, parent_tgid, child_tgid, &mut acts)
                    }
                    ProcEvent::Exec { pid, tgid } if pid == tgid => {
                        if let Some(info) = io::read_process(tgid, tr.reads()) {
                            tr.exec(tgid, &info, &mut acts);
                        }
                    }
                    ProcEvent::Comm { pid, tgid, comm } if pid == tgid => {
                        tr.comm(tgid, &comm, &mut acts)
                    }
                    ProcEvent::Exit { pid, tgid } if pid == tgid => tr.exit(now, tgid, &mut acts),
                    _ => {}
                }
            }
        }
        self.process_actions(now, acts).await;
    }

    /// The messages already there at start-up (the kernel's ack of the
    /// listen request at least), handled before start-up completes, as
    /// keepalived's first loop does.
    pub(super) async fn early_process_msgs(&mut self, rx: &mut mpsc::Receiver<MonitorMsg>) {
        let mut msgs: Vec<MonitorMsg> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        if let Some(p) = &self.res.procs {
            msgs.extend(p.mon.drain());
        }
        for m in msgs {
            self.process_msg(m).await;
        }
    }

    /// Carries out the tracker's actions; quorum changes move instances.
    async fn process_actions(&mut self, now: Instant, acts: Vec<ProcessAction>) {
        let mut out = Vec::new();
        let mut work: std::collections::VecDeque<ProcessAction> = acts.into();
        while let Some(a) = work.pop_front() {
            match a {
                ProcessAction::Log(l) => log_line(&l),
                ProcessAction::Detail(l) if self.detail => log_line(&l),
                ProcessAction::Detail(_) => {}
                ProcessAction::Quorum { index, up } => {
                    if let Some(&t) = self.cur.process_trackers.get(index) {
                        let v = TrackerValue::Process(up);
                        self.cur.router.set_tracker(now, t, v, &mut out);
                    }
                }
                ProcessAction::Rescan => {
                    let mut more = Vec::new();
                    self.rescan(now, &mut more);
                    work.extend(more);
                }
            }
        }
        self.execute(out).await;
    }

    /// Lost events: a bigger buffer, fresh sequence numbers, a new scan.
    fn rescan(&mut self, now: Instant, out: &mut Vec<ProcessAction>) {
        if let Some(p) = &mut self.res.procs {
            for l in p.mon.double_rcvbuf(p.force) {
                log_line(&l);
            }
            p.seq.reset();
        }
        let procs = io::scan(self.cur.procs.reads());
        self.cur.procs.rescan(now, procs, out);
    }

    /// The next deadline of the core and of the process tracker.
    pub(super) fn deadline(&self) -> Option<Instant> {
        let r = self.cur.router.poll_timeout();
        let p = self.cur.procs.poll_timeout();
        r.into_iter().chain(p).min()
    }

    /// The core's and the process tracker's timers.
    pub(super) async fn timeout(&mut self) {
        let mut out = Vec::new();
        let now = self.now();
        self.cur.router.handle_timeout(now, &mut out);
        self.execute(out).await;
        let mut acts = Vec::new();
        self.cur.procs.handle_timeout(now, &mut acts);
        self.process_actions(now, acts).await;
    }

    /// The trackers of an instance's `track_process`es, with keepalived's
    /// start-up line for each weight-0 one that holds it in FAULT.
    pub(super) fn process_refs(&self, p: &InstancePlan, b: &Built) -> Vec<TrackRef> {
        let mut refs = Vec::new();
        for t in &p.tracks.processes {
            let specs = b.cur.procs.specs();
            let Some(i) = specs.iter().position(|s| s.name == t.name) else {
                continue;
            };
            let tracker = b.cur.process_trackers[i];
            if t.weight == 0
                && b.cur.router.tracker_value(tracker) == TrackerValue::Process(t.reverse)
            {
                log_line(&format!(
                    "({}) entering FAULT state (tracked process {} quorum not achieved)",
                    p.config.name, t.name
                ));
            }
            refs.push(TrackRef {
                tracker,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        refs
    }
}

//! The scan again after the connector lost events (keepalived's
//! `reinitialise_track_processes`, without its socket buffer resizing,
//! which the driver does).

use super::{Kind, ProcInfo, ProcessAction, ProcessTracker};
use crate::vrrp::time::Instant;

impl ProcessTracker {
    /// Counts again from a fresh /proc scan and reports the specs whose
    /// count crossed a quorum boundary. As in keepalived, the report is
    /// made without recording the new quorum state, a gain also starts a
    /// fork timer (of `terminate_delay`) when `fork_delay` is set, and a
    /// loss waits `terminate_delay`; count changes are `-D` lines.
    pub fn rescan(
        &mut self,
        now: Instant,
        procs: impl IntoIterator<Item = (i32, ProcInfo)>,
        out: &mut Vec<ProcessAction>,
    ) {
        self.need_rescan = false;
        self.pids.clear();
        let saved: Vec<u32> = self.state.iter().map(|s| s.count).collect();
        for i in 0..self.specs.len() {
            self.state[i].count = 0;
            self.cancel(i, Kind::Fork);
            self.cancel(i, Kind::Terminate);
        }
        self.scan(procs);
        for (i, &was) in saved.iter().enumerate() {
            let (s, now_count) = (&self.specs[i], self.state[i].count);
            if was == now_count {
                continue;
            }
            let changed = format!(
                "Process {}, number of current processes changed from {was} to {now_count}",
                s.name
            );
            let same_side = (was < s.quorum) == (now_count < s.quorum)
                && (was > s.quorum_max) == (now_count > s.quorum_max);
            if same_side {
                out.push(ProcessAction::Detail(changed));
                continue;
            }
            if now_count >= s.quorum && now_count <= s.quorum_max {
                out.push(ProcessAction::Detail(format!("{changed}, quorum up")));
                if s.fork_delay != 0 {
                    let d = s.terminate_delay;
                    self.timer(now, i, Kind::Fork, d);
                }
                self.report(i, true, out);
            } else {
                out.push(ProcessAction::Detail(format!("{changed}, quorum down")));
                if s.terminate_delay != 0 {
                    let d = s.terminate_delay;
                    self.timer(now, i, Kind::Terminate, d);
                } else {
                    self.report(i, false, out);
                }
            }
        }
    }
}

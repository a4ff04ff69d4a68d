//! The tracker on a virtual clock.

use super::*;
use crate::config::vrrp::{ParamMatch, TrackProcess};

fn spec(quorum: u32, quorum_max: Option<u32>, fork: u64, term: u64) -> ProcessSpec {
    let mut s = ProcessSpec::from_config(&TrackProcess {
        name: "tp".into(),
        process: vec!["katp_probe".into()],
        quorum,
        quorum_max,
        ..Default::default()
    });
    s.fork_delay = fork;
    s.terminate_delay = term;
    s
}

fn probe() -> ProcInfo {
    ProcInfo {
        comm: Some(b"katp_probe".to_vec()),
        cmdline: Vec::new(),
    }
}

fn other() -> ProcInfo {
    ProcInfo {
        comm: Some(b"bash".to_vec()),
        cmdline: Vec::new(),
    }
}

fn t(ms: u64) -> Instant {
    Instant(ms * 1000)
}

/// The quorum reports in `out`.
fn quorum(out: &[ProcessAction]) -> Vec<bool> {
    out.iter()
        .filter_map(|a| match a {
            ProcessAction::Quorum { up, .. } => Some(*up),
            _ => None,
        })
        .collect()
}

/// Runs the timers up to `now`.
fn run_to(tr: &mut ProcessTracker, now: Instant) -> Vec<ProcessAction> {
    let mut out = Vec::new();
    while let Some(d) = tr.poll_timeout().filter(|&d| d <= now) {
        tr.handle_timeout(d, &mut out);
    }
    out
}

#[test]
fn absent_started_killed_restarted() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.scan([(1, other())]);
    assert_eq!(tr.initial_quorum(), vec![false]);
    let mut out = Vec::new();
    // A shell forks (untracked parent: nothing), the child execs the probe.
    tr.fork(t(1), 1, 100, &mut out);
    assert!(out.is_empty());
    tr.exec(100, &probe(), &mut out);
    assert_eq!(
        out,
        vec![
            ProcessAction::Log("Quorum gained for tracked process tp".into()),
            ProcessAction::Quorum { index: 0, up: true }
        ]
    );
    assert_eq!(tr.state(0).count, 1);
    out.clear();
    tr.exit(t(2), 100, &mut out);
    assert_eq!(
        out,
        vec![
            ProcessAction::Log("Quorum lost for tracked process tp".into()),
            ProcessAction::Quorum {
                index: 0,
                up: false
            }
        ]
    );
    out.clear();
    tr.exec(101, &probe(), &mut out);
    assert_eq!(quorum(&out), vec![true]);
    // An exit of an untracked process, or a thread, changes nothing.
    out.clear();
    tr.exit(t(3), 5, &mut out);
    assert!(out.is_empty());
}

#[test]
fn present_at_start_and_exec_into_something_else() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.scan([(7, probe()), (8, other())]);
    assert_eq!(tr.initial_quorum(), vec![true]);
    let mut out = Vec::new();
    tr.exec(7, &other(), &mut out);
    assert_eq!(quorum(&out), vec![false]);
    assert_eq!(tr.state(0).count, 0);
}

#[test]
fn quorum_and_quorum_max_with_several_processes() {
    let mut tr = ProcessTracker::new(vec![spec(2, Some(3), 0, 0)]);
    tr.scan([(1, probe())]);
    assert_eq!(tr.initial_quorum(), vec![false]);
    let mut out = Vec::new();
    tr.exec(2, &probe(), &mut out);
    assert_eq!(quorum(&out), vec![true]);
    out.clear();
    tr.exec(3, &probe(), &mut out);
    assert!(out.is_empty(), "3 is within [2:3]");
    tr.exec(4, &probe(), &mut out);
    assert_eq!(quorum(&out), vec![false], "4 is above quorum_max");
    out.clear();
    tr.exit(t(1), 4, &mut out);
    assert_eq!(quorum(&out), vec![true]);
    out.clear();
    tr.exit(t(2), 3, &mut out);
    assert!(out.is_empty());
    tr.exit(t(3), 2, &mut out);
    assert_eq!(quorum(&out), vec![false]);
}

#[test]
fn quorum_max_zero_means_must_not_run() {
    let mut tr = ProcessTracker::new(vec![spec(0, Some(0), 0, 0)]);
    tr.scan([]);
    assert_eq!(tr.initial_quorum(), vec![true]);
    let mut out = Vec::new();
    tr.exec(9, &probe(), &mut out);
    assert_eq!(quorum(&out), vec![false]);
    out.clear();
    tr.exit(t(1), 9, &mut out);
    assert_eq!(quorum(&out), vec![true]);
}

#[test]
fn terminate_delay_delays_the_loss_exactly() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 2_000_000)]);
    tr.scan([(5, probe())]);
    tr.initial_quorum();
    let mut out = Vec::new();
    tr.exit(t(1000), 5, &mut out);
    assert!(out.is_empty());
    assert!(tr.state(0).terminate_timer_running());
    assert_eq!(tr.poll_timeout(), Some(t(3000)));
    assert!(run_to(&mut tr, Instant(2_999_999)).is_empty());
    assert_eq!(quorum(&run_to(&mut tr, t(3000))), vec![false]);
    assert!(!tr.state(0).terminate_timer_running());
}

#[test]
fn a_restart_within_terminate_delay_is_not_seen() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 2_000_000)]);
    tr.scan([(5, probe())]);
    tr.initial_quorum();
    let mut out = Vec::new();
    tr.exit(t(1000), 5, &mut out);
    tr.exec(6, &probe(), &mut out);
    assert!(out.is_empty());
    assert_eq!(tr.poll_timeout(), None);
    assert!(run_to(&mut tr, t(10_000)).is_empty());
}

#[test]
fn fork_delay_delays_a_forked_gain_exactly_but_not_an_exec() {
    let mut tr = ProcessTracker::new(vec![spec(2, None, 1_500_000, 0)]);
    tr.scan([(5, probe())]);
    assert_eq!(tr.initial_quorum(), vec![false]);
    let mut out = Vec::new();
    // The tracked process forks: its child counts, quorum after 1.5 s.
    tr.fork(t(100), 5, 6, &mut out);
    assert!(out.is_empty());
    assert_eq!(tr.state(0).count, 2);
    assert!(tr.state(0).fork_timer_running());
    assert!(run_to(&mut tr, Instant(1_599_999)).is_empty());
    assert_eq!(quorum(&run_to(&mut tr, t(1600))), vec![true]);
    // The child exits, then a new one execs: no fork delay for an exec.
    tr.exit(t(2000), 6, &mut out);
    assert_eq!(quorum(&out), vec![false]);
    out.clear();
    tr.exec(7, &probe(), &mut out);
    assert_eq!(quorum(&out), vec![true]);
}

#[test]
fn an_exit_within_fork_delay_cancels_the_gain() {
    let mut tr = ProcessTracker::new(vec![spec(2, None, 1_000_000, 0)]);
    tr.scan([(5, probe())]);
    tr.initial_quorum();
    let mut out = Vec::new();
    tr.fork(t(0), 5, 6, &mut out);
    tr.exit(t(500), 6, &mut out);
    // keepalived: the fork timer is cancelled, the status (already down)
    // is updated at once: no report.
    assert!(out.is_empty());
    assert_eq!(tr.poll_timeout(), None);
}

#[test]
fn comm_changes_move_processes_in_and_out() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.scan([(5, other())]);
    tr.initial_quorum();
    let mut out = Vec::new();
    tr.comm(5, b"katp_probe", &mut out);
    assert_eq!(quorum(&out), vec![true]);
    out.clear();
    tr.comm(5, b"katp_probe", &mut out);
    assert!(out.is_empty());
    tr.comm(5, b"renamed", &mut out);
    assert_eq!(quorum(&out), vec![false]);
}

#[test]
fn full_command_with_params() {
    let mut s = ProcessSpec::from_config(&TrackProcess {
        name: "full".into(),
        process: vec!["/bin/sleep".into(), "1000".into()],
        param_match: ParamMatch::Exact,
        full_command: true,
        quorum: 1,
        ..Default::default()
    });
    s.quorum_max = u32::MAX;
    let mut tr = ProcessTracker::new(vec![s]);
    let reads = tr.reads();
    assert!(reads.cmdline && !reads.comm);
    assert_eq!(reads.max_name_len, 16);
    let info = |c: &[u8]| ProcInfo {
        comm: None,
        cmdline: c[..c.len().min(reads.event_cmdline_len())].to_vec(),
    };
    tr.scan([(1, info(b"/bin/sleep\x001000\x00"))]);
    assert_eq!(tr.initial_quorum(), vec![true]);
    let mut out = Vec::new();
    tr.exec(2, &info(b"/bin/sleep\x0010000\x00"), &mut out);
    assert!(out.is_empty());
    assert_eq!(tr.state(0).count, 1);
}

#[test]
fn lost_events_rescan_a_second_later() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.scan([(5, probe())]);
    tr.initial_quorum();
    tr.lost_events(t(100));
    assert!(tr.need_rescan);
    assert!(run_to(&mut tr, t(1099)).is_empty());
    assert_eq!(run_to(&mut tr, t(1100)), vec![ProcessAction::Rescan]);
    let mut out = Vec::new();
    tr.rescan(t(1100), [(9, other())], &mut out);
    assert_eq!(
        out,
        vec![
            ProcessAction::Detail(
                "Process tp, number of current processes changed from 1 to 0, quorum down".into()
            ),
            ProcessAction::Log("Quorum lost for tracked process tp".into()),
            ProcessAction::Quorum {
                index: 0,
                up: false
            },
        ]
    );
    assert!(!tr.need_rescan);
}

#[test]
fn no_ack_warns_after_100ms() {
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.listening(t(0));
    assert!(run_to(&mut tr, t(99)).is_empty());
    assert_eq!(
        run_to(&mut tr, t(100)),
        vec![ProcessAction::Log(
            "WARNING - the kernel does not support proc events - track_process will not work"
                .into()
        )]
    );
    let mut tr = ProcessTracker::new(vec![spec(1, None, 0, 0)]);
    tr.listening(t(0));
    let mut out = Vec::new();
    tr.ack(&mut out);
    assert!(run_to(&mut tr, t(1000)).is_empty());
}

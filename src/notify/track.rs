//! `vrrp_script` tracking (reference §3.3, §4.3): a pure state machine
//! ([`ScriptTracker`]) reproducing keepalived 2.2.7's rise/fall counting
//! (`vrrp_script_child_thread` in `vrrp_scheduler.c`) and an async
//! [`TrackRunner`] that runs the script every `interval`.
//!
//! keepalived keeps one counter `result` in `0..=rise+fall-1`; the script
//! is OK when `result >= rise`. Verified against the installed keepalived
//! 2.2.7 (rise 3, fall 2, in a network namespace):
//!
//! * Before the first result the script is *init*: without `init_fail`
//!   it is neither OK nor KO (instances tracking it with weight 0 are
//!   held in FAULT silently, weight != 0 adjusts nothing yet); with
//!   `init_fail` it counts as KO (dumps say `INIT/FAILED`).
//! * In both cases the **first** result decides at once in either
//!   direction, whatever `rise`/`fall` are: a first success logs
//!   `VRRP_Script(chk) succeeded` (even with `init_fail` and rise 3), a
//!   first failure logs `VRRP_Script(chk) failed (exited with status 1)`
//!   (even with `init_fail`).
//! * Afterwards OK→KO needs `fall` consecutive failures and KO→OK `rise`
//!   consecutive successes; a failure while rising restarts the count.
//! * Logs: `Script \`chk\` now returning N` whenever the exit status
//!   (of a script that exited) differs from the previous one (initially 0,
//!   so a first success is not logged); `VRRP_Script(chk) succeeded`,
//!   `VRRP_Script(chk) failed (exited with status 1)`,
//!   `VRRP_Script(chk) failed (due to signal 9)` and
//!   `VRRP_Script(chk) timed_out` when the state flips.
//! * A timeout is a failure (SIGTERM, then SIGKILL 2 s later). A script
//!   still running at the next interval is not started again:
//!   `Track script chk is already running, expect idle - skipping run`
//!   (`... is being timed out, expect idle ...` between SIGTERM and its
//!   death). Observed with 2.2.7 (interval 1, timeout 2, script sleeping
//!   5 s): two skips, then `VRRP_Script(chk) timed_out` at 2 s.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::exec::{run_with_timeout_grace, ScriptCommand, ScriptOutcome, TERM_GRACE};

/// A `vrrp_script` block's tracking parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackConfig {
    /// Script name (`vrrp_script NAME`).
    pub name: String,
    /// `interval` (default 1 s).
    pub interval: Duration,
    /// `timeout`; `None` = the interval.
    pub timeout: Option<Duration>,
    /// `rise` (default 1).
    pub rise: u32,
    /// `fall` (default 1).
    pub fall: u32,
    /// `weight` (default 0 = FAULT while KO).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `init_fail`.
    pub init_fail: bool,
}

impl TrackConfig {
    /// keepalived's defaults for script `name`.
    pub fn new(name: &str) -> TrackConfig {
        TrackConfig {
            name: name.to_string(),
            interval: Duration::from_secs(1),
            timeout: None,
            rise: 1,
            fall: 1,
            weight: 0,
            reverse: false,
            init_fail: false,
        }
    }

    /// The effective timeout (the interval when unset or 0).
    pub fn effective_timeout(&self) -> Duration {
        match self.timeout {
            Some(t) if !t.is_zero() => t,
            _ => self.interval,
        }
    }
}

/// What the script currently counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackStatus {
    /// Not yet run (no `init_fail`): instances tracking it wait in INIT.
    Init,
    /// OK (`result >= rise`).
    Good,
    /// KO.
    Bad,
}

/// A state flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The new state: `true` = OK.
    pub ok: bool,
}

/// The result of feeding one outcome: log lines (in order) and the flip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    /// keepalived's log lines for this result.
    pub logs: Vec<String>,
    /// Set when the OK/KO state changed.
    pub transition: Option<Transition>,
}

/// The rise/fall state machine of one `vrrp_script` (no IO).
#[derive(Debug, Clone)]
pub struct ScriptTracker {
    cfg: TrackConfig,
    result: u32,
    init: bool,
    last_status: i32,
}

impl ScriptTracker {
    /// Initial state per `init_fail` (see the module docs).
    pub fn new(cfg: TrackConfig) -> ScriptTracker {
        let rise = cfg.rise.max(1);
        let fall = cfg.fall.max(1);
        let cfg = TrackConfig { rise, fall, ..cfg };
        ScriptTracker {
            // "one success is enough": the first result always decides.
            result: rise - 1,
            init: true,
            last_status: 0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrackConfig {
        &self.cfg
    }

    /// Current status.
    pub fn status(&self) -> TrackStatus {
        if self.init {
            if self.cfg.init_fail {
                TrackStatus::Bad
            } else {
                TrackStatus::Init
            }
        } else if self.result >= self.cfg.rise {
            TrackStatus::Good
        } else {
            TrackStatus::Bad
        }
    }

    /// keepalived's raw counter (for dumps).
    pub fn result_counter(&self) -> u32 {
        self.result
    }

    /// Feeds one run's outcome.
    pub fn on_result(&mut self, outcome: ScriptOutcome) -> Step {
        let name = &self.cfg.name;
        let (rise, fall) = (self.cfg.rise, self.cfg.fall);
        let mut step = Step::default();
        let (success, exit_type, reason) = match outcome {
            ScriptOutcome::Exited(status) => {
                if status != self.last_status {
                    step.logs
                        .push(format!("Script `{name}` now returning {status}"));
                }
                self.last_status = status;
                if status == 0 {
                    (true, "succeeded", None)
                } else {
                    (
                        false,
                        "failed",
                        Some(format!("exited with status {status}")),
                    )
                }
            }
            ScriptOutcome::Signaled(sig) => (false, "failed", Some(format!("due to signal {sig}"))),
            ScriptOutcome::TimedOut => (false, "timed_out", None),
        };
        if success {
            if self.result < rise - 1 {
                self.result += 1;
            } else if self.result != rise + fall - 1 {
                if self.result < rise {
                    step.logs.push(format!("VRRP_Script({name}) {exit_type}"));
                    step.transition = Some(Transition { ok: true });
                }
                self.result = rise + fall - 1;
            }
        } else if self.result > rise {
            self.result -= 1;
        } else {
            if self.result == rise || self.init {
                step.logs.push(match reason {
                    Some(r) => format!("VRRP_Script({name}) {exit_type} ({r})"),
                    None => format!("VRRP_Script({name}) {exit_type}"),
                });
                step.transition = Some(Transition { ok: false });
            }
            self.result = 0;
        }
        self.init = false;
        step
    }
}

/// What a [`TrackRunner`] reports after each run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEvent {
    /// Script name.
    pub name: String,
    /// The run's outcome (`Err` text when the script could not start,
    /// counted as a failure with status 127 as `/bin/sh` would).
    pub outcome: Result<ScriptOutcome, String>,
    /// Log lines and state flip.
    pub step: Step,
    /// Status after this run.
    pub status: TrackStatus,
}

/// Runs one `vrrp_script` every `interval` with [`run_with_timeout_grace`],
/// never overlapping, and sends a [`TrackEvent`] per run (plus skip
/// notices as events with no outcome change) over `tx`.
#[derive(Debug)]
pub struct TrackRunner {
    handle: JoinHandle<()>,
}

impl TrackRunner {
    /// Starts the runner in its own task (inside a tokio runtime). The
    /// first run starts immediately. `skipped` receives keepalived's
    /// `Track script chk is already running, expect idle - skipping run`
    /// (`is being timed out` once past its timeout).
    pub fn start(
        cmd: ScriptCommand,
        tracker: ScriptTracker,
        tx: mpsc::Sender<TrackEvent>,
        skipped: Option<mpsc::Sender<String>>,
    ) -> TrackRunner {
        Self::start_with_grace(cmd, tracker, tx, skipped, TERM_GRACE)
    }

    /// [`Self::start`] with an explicit SIGTERM→SIGKILL grace.
    pub fn start_with_grace(
        cmd: ScriptCommand,
        mut tracker: ScriptTracker,
        tx: mpsc::Sender<TrackEvent>,
        skipped: Option<mpsc::Sender<String>>,
        grace: Duration,
    ) -> TrackRunner {
        let handle = tokio::spawn(async move {
            let interval = tracker.config().interval.max(Duration::from_millis(1));
            let timeout = tracker.config().effective_timeout();
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut running: Option<JoinHandle<_>> = None;
            let mut started = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if running.is_some() {
                            if let Some(s) = &skipped {
                                let what = if started.elapsed() >= timeout {
                                    "being timed out"
                                } else {
                                    "already running"
                                };
                                let _ = s.try_send(format!(
                                    "Track script {} is {what}, expect idle - skipping run",
                                    tracker.config().name
                                ));
                            }
                            continue;
                        }
                        started = tokio::time::Instant::now();
                        let cmd = cmd.clone();
                        running = Some(tokio::spawn(async move {
                            run_with_timeout_grace(&cmd, timeout, grace).await
                        }));
                    }
                    r = async { running.as_mut().unwrap().await }, if running.is_some() => {
                        running = None;
                        let outcome = match r {
                            Ok(Ok(o)) => Ok(o),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        let step = tracker.on_result(match &outcome {
                            Ok(o) => *o,
                            Err(_) => ScriptOutcome::Exited(127),
                        });
                        let ev = TrackEvent {
                            name: tracker.config().name.clone(),
                            outcome,
                            step,
                            status: tracker.status(),
                        };
                        if tx.send(ev).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        TrackRunner { handle }
    }

    /// Stops the runner (a running script is left to its timeout/kill).
    pub fn stop(&self) {
        self.handle.abort();
    }
}

impl Drop for TrackRunner {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScriptOutcome::*;

    fn tr(rise: u32, fall: u32, init_fail: bool) -> ScriptTracker {
        ScriptTracker::new(TrackConfig {
            rise,
            fall,
            init_fail,
            ..TrackConfig::new("chk")
        })
    }

    #[test]
    fn first_result_decides_without_init_fail() {
        let mut t = tr(3, 3, false);
        assert_eq!(t.status(), TrackStatus::Init);
        let s = t.on_result(Exited(0));
        assert_eq!(s.logs, ["VRRP_Script(chk) succeeded"]);
        assert_eq!(s.transition, Some(Transition { ok: true }));
        assert_eq!(t.status(), TrackStatus::Good);

        let mut t = tr(3, 3, false);
        let s = t.on_result(Exited(1));
        assert_eq!(
            s.logs,
            [
                "Script `chk` now returning 1",
                "VRRP_Script(chk) failed (exited with status 1)"
            ]
        );
        assert_eq!(s.transition, Some(Transition { ok: false }));
        assert_eq!(t.status(), TrackStatus::Bad);
    }

    #[test]
    fn fall_then_rise() {
        let mut t = tr(2, 3, false);
        assert!(t.on_result(Exited(0)).transition.is_some());
        let s = t.on_result(Exited(2));
        assert_eq!(s.logs, ["Script `chk` now returning 2"]);
        assert_eq!(s.transition, None);
        assert_eq!(t.on_result(Exited(2)), Step::default());
        let s = t.on_result(Exited(2));
        assert_eq!(s.logs, ["VRRP_Script(chk) failed (exited with status 2)"]);
        assert_eq!(t.status(), TrackStatus::Bad);
        // further failures: silent
        assert_eq!(t.on_result(Exited(2)), Step::default());
        // rise 2: first success only logs the status change
        let s = t.on_result(Exited(0));
        assert_eq!(s.logs, ["Script `chk` now returning 0"]);
        assert_eq!(s.transition, None);
        // a failure while rising restarts the count, silently
        let s = t.on_result(TimedOut);
        assert_eq!(s, Step::default());
        assert!(t.on_result(Exited(0)).transition.is_none());
        let s = t.on_result(Exited(0));
        assert_eq!(s.logs, ["VRRP_Script(chk) succeeded"]);
        assert_eq!(t.status(), TrackStatus::Good);
    }

    #[test]
    fn init_fail_first_result_still_decides() {
        // keepalived 2.2.7, observed: init_fail only changes the state
        // before the first result.
        let mut t = tr(3, 2, true);
        assert_eq!(t.status(), TrackStatus::Bad);
        let s = t.on_result(Exited(0));
        assert_eq!(s.logs, ["VRRP_Script(chk) succeeded"]);
        assert_eq!(s.transition, Some(Transition { ok: true }));

        let mut t = tr(3, 2, true);
        let s = t.on_result(Exited(1));
        assert_eq!(
            s.logs,
            [
                "Script `chk` now returning 1",
                "VRRP_Script(chk) failed (exited with status 1)"
            ]
        );
        assert_eq!(s.transition, Some(Transition { ok: false }));
        // then rise 3 successes are needed
        assert_eq!(
            t.on_result(Exited(0)).logs,
            ["Script `chk` now returning 0"]
        );
        assert_eq!(t.on_result(Exited(0)), Step::default());
        let s = t.on_result(Exited(0));
        assert_eq!(s.logs, ["VRRP_Script(chk) succeeded"]);
        assert_eq!(t.status(), TrackStatus::Good);
    }

    #[test]
    fn timeout_and_signal_logs() {
        let mut t = tr(1, 1, false);
        t.on_result(Exited(0));
        assert_eq!(t.on_result(TimedOut).logs, ["VRRP_Script(chk) timed_out"]);
        t.on_result(Exited(0));
        assert_eq!(
            t.on_result(Signaled(9)).logs,
            ["VRRP_Script(chk) failed (due to signal 9)"]
        );
    }
}

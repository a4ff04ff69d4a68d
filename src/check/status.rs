//! What the running checker process can tell about its servers and
//! checkers at one moment: the state `keepalived_check.data` shows
//! (alive, in IPVS, weights, quorum, each checker's progress), gathered by
//! the driver from the pool and the checker tasks
//! ([`super::driver::Handle::snapshot`]). Indices are those of the
//! running configuration.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::pool::CheckerId;
use super::sched::Progress;

/// The state of every virtual server and checker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// By virtual server index.
    pub virtual_servers: Vec<VsStatus>,
    /// By checker; a checker that is not running has none.
    pub checkers: BTreeMap<CheckerId, CheckerStatus>,
}

/// A virtual server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VsStatus {
    /// keepalived's `quorum_state_up`.
    pub quorum_up: bool,
    /// It was there before the last reload.
    pub reloaded: bool,
    /// By real server index.
    pub real_servers: Vec<RsStatus>,
    /// The sorry server.
    pub sorry: Option<RsStatus>,
}

/// A real (or sorry) server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RsStatus {
    /// All its checkers are up.
    pub alive: bool,
    /// It is in IPVS (keepalived's `set`).
    pub set: bool,
    /// Checkers down.
    pub num_failed: u32,
    /// The configured weight (`iweight`).
    pub iweight: i64,
    /// The weight with the checkers' changes (`effective_weight`).
    pub effective: i64,
    /// The effective weight before the last reload (0 if none).
    pub peffective: i64,
    /// It was there before the last reload.
    pub reloaded: bool,
}

/// One checker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckerStatus {
    /// Not suspended (`ha_suspend`).
    pub enabled: bool,
    /// It counts as up.
    pub up: bool,
    /// Its probes so far.
    pub progress: Progress,
    /// What it adds to its real server's weight (keepalived's
    /// `cur_weight`: MISC_CHECK `misc_dynamic`, FILE_CHECK).
    pub weight: i64,
    /// MISC_CHECK: its last run.
    pub last_run: Option<MiscRun>,
}

/// When a MISC_CHECK script last ran and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiscRun {
    /// When it started.
    pub at: SystemTime,
    /// Its exit status (the signal number if it was killed; -1 if it
    /// could not be run or timed out).
    pub status: i32,
}

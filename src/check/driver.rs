//! The async driver: one lightweight tokio task per checker (thousands fit
//! on a current-thread runtime) moves time and probe results into the
//! sans-IO [`CheckerSm`]; one aggregation loop feeds their events into the
//! [`Pool`] and hands the resulting [`Action`]s to the caller. Like quinn's
//! driver, the tasks only sleep until `poll_timeout` and run probes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::http;
use super::pool::{Action, CheckerId, Pool, PoolOptions};
use super::probe;
use super::proto;
use super::sched::{Event, Failure, Outcome, Progress};
use super::spec::{CheckSpec, ProbeSpec};
use super::status::{CheckerStatus, MiscRun, Snapshot};
use crate::config::lvs::LvsConfig;
use crate::notify::exec::{run_with_timeout, ScriptOutcome};

/// How often FILE_CHECK files are read (keepalived watches them with
/// inotify; a short poll gives the same result without a watcher).
pub const FILE_POLL: Duration = Duration::from_millis(500);

/// Runs one probe.
pub async fn run_probe(spec: &ProbeSpec, t: &probe::Target, url: usize, seq: u16) -> Outcome {
    match spec {
        // Every probe's future is boxed, for the time it runs: kept inline,
        // the largest (HTTP over TLS, ~9 KB) would size every checker task,
        // idle ones included (10 000 TCP_CHECKs took 170 MB), and even
        // TCP's (~250 bytes with its timer) is a third of an idle task.
        ProbeSpec::Tcp => Box::pin(probe::tcp_check(t)).await,
        ProbeSpec::Http(h) => Box::pin(http::check_url(t, h, url)).await,
        ProbeSpec::Smtp { helo, hosts } => {
            if hosts.is_empty() {
                return Box::pin(proto::smtp_check(t, helo)).await;
            }
            for h in hosts {
                let o = Box::pin(proto::smtp_check(h, helo)).await;
                if !matches!(o, Outcome::Success { .. }) {
                    return o;
                }
            }
            Outcome::OK
        }
        ProbeSpec::Misc { cmd, timeout } => match Box::pin(run_with_timeout(cmd, *timeout)).await {
            Ok(ScriptOutcome::Exited(c)) => match c {
                0 => Outcome::Success {
                    status: Some(0),
                    what: "",
                },
                2..=255 => Outcome::Success {
                    status: Some(c as u8),
                    what: "",
                },
                // Without misc_dynamic, the state machine treats 2-255 as
                // failures: it only honours `status` when dynamic.
                c => Outcome::Failure(Failure::Exit(c)),
            },
            Ok(ScriptOutcome::Signaled(s)) => Outcome::Failure(Failure::Signal(s)),
            Ok(ScriptOutcome::TimedOut) => Outcome::Failure(Failure::TimedOut),
            Err(e) => Outcome::Failure(Failure::Local(e.to_string())),
        },
        ProbeSpec::Dns { name, qtype } => Box::pin(proto::dns_check(t, name, *qtype)).await,
        ProbeSpec::Udp(u) => Box::pin(proto::udp_check(t, u)).await,
        ProbeSpec::Ping => Box::pin(proto::ping_check(t, seq)).await,
        ProbeSpec::File { .. } | ProbeSpec::Bfd { .. } => Outcome::OK,
    }
}

/// Reads the integer a tracked file holds (keepalived: unreadable or
/// non-numeric content counts as 0).
pub fn read_track_file(path: &str) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|w| w.parse().ok()))
        .unwrap_or(0)
}

/// FILE_CHECK: a file value `v` with multiplier `w` (`reverse` negates):
/// `w == 0` means up iff `v == 0`; otherwise the checker is up unless
/// `v × w` reaches `-IPVS_WEIGHT_MAX`, and `v × w` is added to the real
/// server's weight.
pub fn file_state(v: i64, w: i64, reverse: bool) -> (bool, i64) {
    if w == 0 {
        return (v == 0, 0);
    }
    let p = v
        .saturating_mul(w)
        .saturating_mul(if reverse { -1 } else { 1 });
    (p > -super::pool::IPVS_WEIGHT_MAX, p)
}

/// Settings of a driver run.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// For the aggregation.
    pub pool: PoolOptions,
}

/// A handle to a running driver.
#[derive(Debug, Clone)]
pub struct Handle {
    stop: watch::Sender<bool>,
    cmd: mpsc::UnboundedSender<Cmd>,
    bfd: mpsc::UnboundedSender<(String, bool)>,
}

/// What the caller asks of a running driver, in order: a snapshot asked
/// for after a reload shows the new configuration.
#[derive(Debug)]
enum Cmd {
    Reload(Reload),
    /// `ha_suspend`: the virtual servers whose checkers pause.
    Suspend(BTreeSet<usize>),
    Snapshot(oneshot::Sender<Snapshot>),
}

/// A new configuration for a running driver.
#[derive(Debug)]
struct Reload {
    lvs: LvsConfig,
    specs: Vec<CheckSpec>,
    suspended: BTreeSet<usize>,
}

impl Handle {
    /// `ha_suspend`: the checkers of the virtual servers in `suspended`
    /// (indices of the running configuration) pause while their address is
    /// not configured locally, the others run; each change is logged as
    /// keepalived's `Suspending/Activating healthchecker for service …`.
    pub fn set_suspended(&self, suspended: BTreeSet<usize>) {
        let _ = self.cmd.send(Cmd::Suspend(suspended));
    }

    /// Stops the checkers; the driver then shuts the pool down and returns.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Reload: the driver takes the new configuration's LVS blocks and
    /// checkers. A checker whose real server is still configured (same
    /// virtual server and real server `[ip]:proto:port`) with the same
    /// settings goes on running with its state; the others stop, the new
    /// ones start; the pool carries its state over ([`Pool::reload`]).
    /// The driver sends the reload's actions, then [`Action::Reloaded`].
    /// `suspended` is as in [`Self::set_suspended`], for the new indices.
    pub fn reload(&self, lvs: LvsConfig, specs: Vec<CheckSpec>, suspended: BTreeSet<usize>) {
        let _ = self.cmd.send(Cmd::Reload(Reload {
            lvs,
            specs,
            suspended,
        }));
    }

    /// The BFD process reported session `name` up or down: every
    /// `BFD_CHECK` of it whose state differs follows (keepalived's
    /// `bfd_check_handle_event`).
    pub fn bfd_event(&self, name: &str, up: bool) {
        let _ = self.bfd.send((name.to_string(), up));
    }

    /// Asks for the state of every server and checker (for the dump),
    /// sent to `reply` once the commands sent before are done.
    pub fn snapshot(&self, reply: oneshot::Sender<Snapshot>) {
        let _ = self.cmd.send(Cmd::Snapshot(reply));
    }
}

/// What a checker task reports: events, and its progress whenever it
/// changed (failures, the first probe; every MISC_CHECK run).
struct Msg {
    token: u64,
    events: Vec<Event>,
    progress: Progress,
    run: Option<MiscRun>,
}

/// How a MISC_CHECK run ended, for the dump.
fn misc_status(o: &Outcome) -> i32 {
    match o {
        Outcome::Success { status, .. } => status.map_or(0, i32::from),
        Outcome::Failure(Failure::Exit(c) | Failure::Signal(c)) => *c,
        Outcome::Failure(_) => -1,
    }
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish() | 1
}

/// A fraction in `[0, 1)` from a shared xorshift state (warmup spread).
fn frac(state: &AtomicU64) -> f64 {
    let mut x = state.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A 64-bit digest of a value's `Debug` text, streamed (no string is
/// built): what identifies a checker's settings across a reload, and the
/// configuration a dump describes.
pub fn debug_digest(v: &impl std::fmt::Debug) -> u64 {
    use std::fmt::Write;
    use std::hash::Hasher;
    struct Digest(std::collections::hash_map::DefaultHasher);
    impl Write for Digest {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut d = Digest(Default::default());
    let _ = write!(d, "{v:?}");
    d.0.finish()
}

/// A digest of a checker's settings as built, before it ran. With its
/// virtual and real server ([`Pool::server_key`]) it is what identifies a
/// checker across a reload; each task keeps these 8 bytes rather than the
/// settings (hundreds of bytes). A real server's old and new settings
/// colliding in 64 bits is not a practical concern.
fn settings_digest(s: &CheckSpec) -> u64 {
    debug_digest(&(&s.probe, &s.target, &s.sm))
}

/// What a reload matches checkers by: virtual server, real server and
/// settings digest.
type Key<'a> = (&'a str, &'a str, u64);

fn key(pool: &Pool, id: CheckerId, digest: u64) -> Key<'_> {
    let (v, r) = pool.server_key(id.vs, id.rs).unwrap_or(("", ""));
    (v, r, digest)
}

/// One checker's task. Not an `async fn`: its arguments would stay in the
/// future beside the parts taken out of `spec` (rust-lang/rust#62958),
/// some 400 bytes more in each of thousands of tasks.
fn checker_task(
    token: u64,
    spec: CheckSpec,
    tx: mpsc::UnboundedSender<Msg>,
    suspended: Arc<AtomicBool>,
    start_frac: f64,
) -> impl std::future::Future<Output = ()> {
    let CheckSpec {
        probe,
        target,
        mut sm,
        ..
    } = spec;
    async move {
        if let ProbeSpec::File {
            path,
            weight,
            reverse,
        } = &probe
        {
            // Boxed: inline, it would size the TCP checkers' tasks too.
            return Box::pin(file_task(token, path, *weight, *reverse, tx)).await;
        }
        if matches!(probe, ProbeSpec::Bfd { .. }) {
            // Driven by the BFD process's events (the aggregation loop).
            return;
        }
        sm.start(Instant::now().into_std(), start_frac);
        let mut seq: u16 = 0;
        loop {
            let Some(at) = sm.poll_timeout() else { return };
            tokio::time::sleep_until(Instant::from_std(at)).await;
            sm.set_enabled(!suspended.load(Ordering::Relaxed));
            let Some(p) = sm.handle_timeout(Instant::now().into_std()) else {
                continue;
            };
            seq = seq.wrapping_add(1);
            let outcome = run_probe(&probe, &target, p.url, seq).await;
            // Nothing below lives across an await: the task stays small.
            let now = Instant::now().into_std();
            let run = match (&probe, sm.running_since()) {
                (ProbeSpec::Misc { .. }, Some(started)) => Some(MiscRun {
                    at: std::time::SystemTime::now() - now.saturating_duration_since(started),
                    status: misc_status(&outcome),
                }),
                _ => None,
            };
            let before = sm.progress();
            let events = sm.handle_outcome(now, outcome);
            let progress = sm.progress();
            if (!events.is_empty() || progress != before || run.is_some())
                && tx
                    .send(Msg {
                        token,
                        events,
                        progress,
                        run,
                    })
                    .is_err()
            {
                return;
            }
        }
    }
}

async fn file_task(
    token: u64,
    path: &str,
    weight: i64,
    reverse: bool,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut last: Option<(bool, i64)> = None;
    loop {
        let now = file_state(read_track_file(path), weight, reverse);
        if last != Some(now) {
            let mut events = vec![Event::State {
                up: now.0,
                smtp: format!(
                    "=> FILE CHECK {} on service <=",
                    if now.0 { "succeed" } else { "failed" }
                ),
            }];
            if weight != 0 {
                events.push(Event::Weight(now.1));
            }
            let progress = Progress {
                has_run: true,
                ..Progress::default()
            };
            let msg = Msg {
                token,
                events,
                progress,
                run: None,
            };
            if tx.send(msg).is_err() {
                return;
            }
            last = Some(now);
        }
        tokio::time::sleep(FILE_POLL).await;
    }
}

/// A running checker task, as the aggregation loop knows it.
struct Task {
    id: CheckerId,
    /// [`settings_digest`].
    digest: u64,
    /// MISC_CHECK (its weights are absolute, FILE_CHECK's are offsets).
    misc: bool,
    /// Runs probes (all but FILE_CHECK and BFD_CHECK, which keepalived
    /// neither activates nor suspends).
    probes: bool,
    /// BFD_CHECK: the `bfd_instance` name and the real server's label.
    bfd: Option<Box<(String, String)>>,
    /// What it last reported of its probes.
    progress: Progress,
    abort: tokio::task::AbortHandle,
}

/// The checker tasks and what they feed into the pool. The tasks are
/// detached, each known by its abort handle (a `JoinSet` took 56 bytes
/// more per task); dropping this stops them all.
struct Tasks {
    info: HashMap<u64, Task>,
    /// The weight offsets of checkers (MISC dynamic, FILE_CHECK) by real
    /// server `(vs, rs)` and task, summed onto the configured weight as
    /// keepalived's man page describes; ordered so that one real server's
    /// are a range.
    offsets: BTreeMap<(usize, usize, u64), i64>,
    next: u64,
    tx: mpsc::UnboundedSender<Msg>,
    rng: AtomicU64,
    /// `ha_suspend`: one flag per virtual server, shared by its tasks.
    flags: HashMap<usize, Arc<AtomicBool>>,
    /// The last run of each MISC_CHECK task (few: kept apart).
    misc_runs: HashMap<u64, MiscRun>,
}

impl Tasks {
    fn spawn(&mut self, s: CheckSpec) {
        let token = self.next;
        self.next += 1;
        let digest = settings_digest(&s);
        let misc = matches!(s.probe, ProbeSpec::Misc { .. });
        let probes = !matches!(s.probe, ProbeSpec::File { .. } | ProbeSpec::Bfd { .. });
        let bfd = match &s.probe {
            ProbeSpec::Bfd { name, rs } => Some(Box::new((name.clone(), rs.clone()))),
            _ => None,
        };
        let progress = s.sm.progress();
        let id = s.id;
        let flag = self.flags.entry(id.vs).or_default().clone();
        let abort = tokio::spawn(checker_task(
            token,
            s,
            self.tx.clone(),
            flag,
            frac(&self.rng),
        ))
        .abort_handle();
        self.info.insert(
            token,
            Task {
                id,
                digest,
                misc,
                probes,
                bfd,
                progress,
                abort,
            },
        );
    }

    /// keepalived's `VERB healthchecker for service RS for VS VS` line for
    /// each probing task (in the order they were started) that `pick`
    /// selects, given whether its virtual server is suspended.
    fn log_probing(
        &self,
        pool: &Pool,
        pick: impl Fn(CheckerId) -> bool,
        verb: impl Fn(bool) -> &'static str,
    ) -> Vec<Action> {
        let mut t: Vec<(&u64, &Task)> = self
            .info
            .iter()
            .filter(|(_, t)| t.probes && pick(t.id))
            .collect();
        t.sort_unstable_by_key(|(k, _)| **k);
        t.into_iter()
            .filter_map(|(_, t)| {
                let off = self.flags.get(&t.id.vs);
                let verb = verb(off.is_some_and(|f| f.load(Ordering::Relaxed)));
                let (vs, rs) = pool.server_key(t.id.vs, t.id.rs)?;
                Some(Action::Log(format!(
                    "{verb} healthchecker for service {rs} for VS {vs}"
                )))
            })
            .collect()
    }

    /// keepalived's `register_checkers_thread` log, at start and after a
    /// reload: `Activating` (or `Deactivating`, suspended) for every
    /// probing checker.
    fn activation_log(&self, pool: &Pool) -> Vec<Action> {
        self.log_probing(
            pool,
            |_| true,
            |off| if off { "Deactivating" } else { "Activating" },
        )
    }

    /// Sets the `ha_suspend` flags: the virtual servers in `suspended`
    /// pause, the others run. Returns keepalived's `update_checker_activity`
    /// log line for each probing checker whose state changed.
    fn suspend(&mut self, pool: &Pool, suspended: &BTreeSet<usize>) -> Vec<Action> {
        let mut changed = BTreeSet::new();
        for (vs, f) in &self.flags {
            let off = suspended.contains(vs);
            if f.swap(off, Ordering::Relaxed) != off {
                changed.insert(*vs);
            }
        }
        self.log_probing(
            pool,
            |id| changed.contains(&id.vs),
            |off| if off { "Suspending" } else { "Activating" },
        )
    }

    /// The weight of real server `(vs, rs)`: configured plus offsets.
    fn weight(&self, pool: &Pool, vs: usize, rs: usize) -> i64 {
        pool.base_weight(vs, rs)
            + self
                .offsets
                .range((vs, rs, 0)..=(vs, rs, u64::MAX))
                .map(|(_, o)| o)
                .sum::<i64>()
    }

    /// Applies a reload: keeps the tasks of unchanged checkers (renumbered),
    /// stops the others, starts the new ones; returns the pool's actions.
    fn reload(&mut self, pool: &mut Pool, r: Reload) -> Vec<Action> {
        let fresh = Pool::new(&r.lvs, PoolOptions::default());
        // The running tasks by key, oldest first in each list.
        let mut by_key: HashMap<Key, std::collections::VecDeque<u64>> = HashMap::new();
        let mut tokens: Vec<u64> = self.info.keys().copied().collect();
        tokens.sort_unstable();
        for t in tokens {
            let task = &self.info[&t];
            by_key
                .entry(key(pool, task.id, task.digest))
                .or_default()
                .push_back(t);
        }
        let mut carried = BTreeMap::new();
        let mut kept = Vec::new();
        let mut new_specs = Vec::new();
        for s in r.specs {
            match by_key
                .get_mut(&key(&fresh, s.id, settings_digest(&s)))
                .and_then(|v| v.pop_front())
            {
                Some(t) => {
                    carried.insert(s.id, self.info[&t].id);
                    kept.push((t, s.id));
                }
                None => new_specs.push(s),
            }
        }
        let stopped: Vec<u64> = by_key.into_values().flatten().collect();
        for t in stopped {
            if let Some(task) = self.info.remove(&t) {
                task.abort.abort();
            }
            self.misc_runs.remove(&t);
        }
        // The tasks that go on keep their virtual server's flag, at its
        // new index.
        let old_flags = std::mem::take(&mut self.flags);
        for (t, id) in kept {
            if let Some(task) = self.info.get_mut(&t) {
                if let Some(f) = old_flags.get(&task.id.vs) {
                    self.flags.entry(id.vs).or_insert_with(|| f.clone());
                }
                task.id = id;
            }
        }
        let mut acts = pool.reload(&r.lvs, &carried);
        // Weight offsets of the checkers that went on, at their new places.
        self.offsets = std::mem::take(&mut self.offsets)
            .into_iter()
            .filter_map(|((_, _, t), o)| {
                let id = self.info.get(&t)?.id;
                Some(((id.vs, id.rs, t), o))
            })
            .collect();
        let mut places: Vec<(usize, usize)> =
            self.offsets.keys().map(|&(vs, rs, _)| (vs, rs)).collect();
        places.dedup();
        for (vs, rs) in places {
            let w = self.weight(pool, vs, rs);
            acts.extend(pool.set_weight(vs, rs, w));
        }
        for s in new_specs {
            self.spawn(s);
        }
        // Set before the new tasks first run (they have not yet: this
        // runs on the runtime's only thread); logged below as a whole.
        self.suspend(pool, &r.suspended);
        acts.extend(self.activation_log(pool));
        acts
    }
}

impl Tasks {
    /// The state of every server and checker.
    fn snapshot(&self, pool: &Pool) -> Snapshot {
        let checkers = self
            .info
            .iter()
            .map(|(token, t)| {
                let suspended = self
                    .flags
                    .get(&t.id.vs)
                    .is_some_and(|f| f.load(Ordering::Relaxed));
                let status = CheckerStatus {
                    enabled: !suspended,
                    up: pool.checker_up(t.id).unwrap_or(true),
                    progress: t.progress,
                    weight: self
                        .offsets
                        .get(&(t.id.vs, t.id.rs, *token))
                        .copied()
                        .unwrap_or(0),
                    last_run: self.misc_runs.get(token).copied(),
                };
                (t.id, status)
            })
            .collect();
        Snapshot {
            virtual_servers: pool.status(),
            checkers,
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in self.info.values() {
            t.abort.abort();
        }
    }
}

/// Starts every checker in `specs` (spawned at once: call inside a tokio
/// runtime, current-thread is enough); the future aggregates into `pool`,
/// sending each [`Action`] to `out`, until [`Handle::stop`]; then the
/// pool's shutdown actions are sent and the future completes. The
/// checkers of the virtual servers in `suspended` start paused
/// ([`Handle::set_suspended`]).
pub fn start(
    specs: Vec<CheckSpec>,
    mut pool: Pool,
    suspended: &BTreeSet<usize>,
    out: mpsc::UnboundedSender<Action>,
) -> (Handle, impl std::future::Future<Output = Pool>) {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
    let (bfd_tx, mut bfd_rx) = mpsc::unbounded_channel::<(String, bool)>();
    let handle = Handle {
        stop: stop_tx,
        cmd: cmd_tx,
        bfd: bfd_tx,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = Tasks {
        info: HashMap::new(),
        offsets: BTreeMap::new(),
        next: 0,
        tx,
        rng: AtomicU64::new(seed()),
        flags: HashMap::new(),
        misc_runs: HashMap::new(),
    };
    // Spawned now, so that the specs are spent when this returns; what
    // the tasks report waits in the channel until the future has started
    // the pool. They first run after this returns: the flags are set.
    for s in specs {
        tasks.spawn(s);
    }
    tasks.suspend(&pool, suspended);
    let fut = async move {
        for a in pool.start().into_iter().chain(tasks.activation_log(&pool)) {
            let _ = out.send(a);
        }
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                Some(cmd) = cmd_rx.recv() => match cmd {
                    Cmd::Snapshot(reply) => {
                        let _ = reply.send(tasks.snapshot(&pool));
                    }
                    Cmd::Suspend(set) => {
                        for a in tasks.suspend(&pool, &set) {
                            let _ = out.send(a);
                        }
                    }
                    Cmd::Reload(r) => {
                        for a in tasks.reload(&mut pool, r) {
                            // The IPVS view is sent whole below.
                            if !matches!(a, Action::AddDest { .. } | Action::EditDest { .. } | Action::DelDest { .. }) {
                                let _ = out.send(a);
                            }
                        }
                        let _ = out.send(Action::Reloaded(pool.destinations().clone()));
                    }
                },
                Some((name, up)) = bfd_rx.recv() => {
                    let hits: Vec<(CheckerId, String)> = tasks
                        .info
                        .values()
                        .filter_map(|t| {
                            let b = t.bfd.as_ref()?;
                            (b.0 == name).then(|| (t.id, b.1.clone()))
                        })
                        .collect();
                    for (id, rs) in hits {
                        if pool.checker_up(id) == Some(up) {
                            continue;
                        }
                        let word = if up { "UP" } else { "DOWN" };
                        let _ = out.send(Action::Log(format!(
                            "BFD check of [{name}] RS({rs}) is {word}"
                        )));
                        let smtp = format!(
                            "=> BFD CHECK {name} {} on service <=",
                            if up { "succeeded" } else { "failed" }
                        );
                        for a in pool.checker_state(id, up, &smtp) {
                            let _ = out.send(a);
                        }
                    }
                }
                Some(Msg { token, events, progress, run }) = rx.recv() => {
                    let Some(task) = tasks.info.get_mut(&token) else {
                        continue;
                    };
                    task.progress = progress;
                    let (id, misc) = (task.id, task.misc);
                    if let Some(r) = run {
                        tasks.misc_runs.insert(token, r);
                    }
                    for e in events {
                        let acts = match e {
                            Event::Log(l) => vec![Action::Log(l)],
                            Event::State { up, smtp } => pool.checker_state(id, up, &smtp),
                            Event::Weight(w) => {
                                let base = pool.base_weight(id.vs, id.rs);
                                // MISC gives an absolute weight, FILE an offset.
                                let off = if misc { w - base } else { w };
                                tasks.offsets.insert((id.vs, id.rs, token), off);
                                let total = tasks.weight(&pool, id.vs, id.rs);
                                pool.set_weight(id.vs, id.rs, total)
                            }
                        };
                        for a in acts {
                            let _ = out.send(a);
                        }
                    }
                }
            }
        }
        drop(tasks);
        for a in pool.stop() {
            let _ = out.send(a);
        }
        pool
    };
    (handle, fut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, Config, ReaderOptions};

    /// The configuration `text` and the checkers built from it.
    fn load(text: &str) -> (Config, Vec<CheckSpec>) {
        use crate::check::spec::{self, SpecOptions};
        use crate::notify::exec::RunAs;
        let cfg = load_str("t.conf", text, ReaderOptions::default()).config;
        let specs = spec::build(
            &cfg,
            SpecOptions {
                script_user: RunAs::current(),
            },
        )
        .0;
        (cfg, specs)
    }

    #[test]
    fn file_states() {
        assert_eq!(file_state(0, 0, false), (true, 0));
        assert_eq!(file_state(3, 0, false), (false, 0));
        assert_eq!(file_state(3, 2, false), (true, 6));
        assert_eq!(file_state(3, 2, true), (true, -6));
        assert!(!file_state(70000, 1, true).0);
    }

    /// A reload keeps the task (and state) of an unchanged checker, found
    /// at its new place, and restarts a changed one, whose new weight
    /// offset then counts.
    #[tokio::test]
    async fn reload_keeps_unchanged_checkers_and_restarts_changed_ones() {
        use crate::check::pool::Server;
        let dir = std::env::temp_dir().join(format!("ka-driver-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, v: &str| {
            let p = dir.join(name);
            std::fs::write(&p, v).unwrap();
            p.display().to_string()
        };
        // `down`: weight 0, a non-zero value is down; `b` and `c`: offsets
        // 1×2 and 2×2.
        let (d, b, c) = (file("d", "1\n"), file("b", "1\n"), file("c", "2\n"));
        let tracks = format!(
            "track_file down {{\n file {d}\n weight 0\n}}\ntrack_file b {{\n file {b}\n weight 2\n}}\n\
             track_file c {{\n file {c}\n weight 2\n}}\n"
        );
        let rs = |ip: &str, track: &str| {
            format!(" real_server {ip} 80 {{\n FILE_CHECK {{\n track_file {track}\n }}\n }}\n")
        };
        let load_servers = |servers: &[String]| {
            let text = format!(
                "{tracks}virtual_server 10.0.0.1 80 {{\n protocol TCP\n{}}}\n",
                servers.concat()
            );
            load(&text)
        };
        let (cfg, specs) = load_servers(&[rs("10.0.1.1", "down"), rs("10.0.1.2", "b")]);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (handle, fut) = start(
            specs,
            Pool::new(&cfg.lvs, PoolOptions::default()),
            &BTreeSet::new(),
            tx,
        );
        let driver = tokio::spawn(fut);
        // Until 10.0.1.1 is down and 10.0.1.2 has its offset: 1 + 1×2.
        let (mut down, mut weighted) = (false, false);
        while !(down && weighted) {
            match rx.recv().await {
                Some(Action::DelDest { server, .. }) => down |= server == Server::Real(0),
                Some(Action::EditDest { server, weight, .. }) => {
                    weighted |= (server, weight) == (Server::Real(1), 3)
                }
                _ => {}
            }
        }
        // The unchanged checker moves to index 1; the other one changed.
        let (cfg, specs) = load_servers(&[rs("10.0.1.2", "c"), rs("10.0.1.1", "down")]);
        handle.reload(cfg.lvs, specs, BTreeSet::new());
        let dests = loop {
            if let Some(Action::Reloaded(d)) = rx.recv().await {
                break d;
            }
        };
        // A restarted checker would start up: its server would be back.
        assert_eq!(dests.get(&(0, Server::Real(1))), None, "still down");
        // The real server keeps its weight until its new checker reports
        // its offset: then 1 + 2×2.
        assert_eq!(dests.get(&(0, Server::Real(0))), Some(&3));
        loop {
            if let Some(Action::EditDest { server, weight, .. }) = rx.recv().await {
                assert_eq!((server, weight), (Server::Real(0), 5));
                break;
            }
        }
        handle.stop();
        driver.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn bfd_check_follows_the_bfd_process_events() {
        use crate::check::pool::Server;
        // keepalived's check_bfd.c: "BFD check of [NAME] RS(RS) is UP|DOWN",
        // then update_svr_checker_state; an event matching the checker's
        // state changes nothing.
        let text = "bfd_instance b1 {\n neighbor_ip 10.0.1.1\n}\n\
                    virtual_server 10.0.0.1 80 {\n protocol TCP\n real_server 10.0.1.1 80 {\n BFD_CHECK {\n name b1\n }\n }\n}\n";
        let (cfg, specs) = load(text);
        assert_eq!(specs.len(), 1);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (handle, fut) = start(
            specs,
            Pool::new(&cfg.lvs, PoolOptions::default()),
            &BTreeSet::new(),
            tx,
        );
        let driver = tokio::spawn(fut);
        handle.bfd_event("other", false);
        handle.bfd_event("b1", true);
        handle.bfd_event("b1", false);
        let mut logs = Vec::new();
        loop {
            match rx.recv().await {
                Some(Action::Log(l)) => logs.push(l),
                Some(Action::DelDest { server, .. }) => {
                    assert_eq!(server, Server::Real(0));
                    break;
                }
                Some(_) => {}
                None => panic!("driver ended"),
            }
        }
        assert!(
            logs.contains(&"BFD check of [b1] RS([10.0.1.1]:tcp:80) is DOWN".to_string()),
            "{logs:?}"
        );
        assert!(!logs.iter().any(|l| l.contains("is UP")), "{logs:?}");
        handle.bfd_event("b1", true);
        loop {
            match rx.recv().await {
                Some(Action::Log(l)) if l.starts_with("BFD check") => {
                    assert_eq!(l, "BFD check of [b1] RS([10.0.1.1]:tcp:80) is UP");
                }
                Some(Action::AddDest { server, .. }) => {
                    assert_eq!(server, Server::Real(0));
                    break;
                }
                Some(_) => {}
                None => panic!("driver ended"),
            }
        }
        handle.stop();
        driver.await.unwrap();
    }

    /// A snapshot shows each checker's progress and weight as the tasks
    /// reported them: a MISC_CHECK's run and exit status, a FILE_CHECK's
    /// weight, the real servers' weights.
    #[tokio::test]
    async fn snapshots_show_what_the_checkers_did() {
        let dir = std::env::temp_dir().join(format!("ka-driver-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tf = dir.join("tf");
        std::fs::write(&tf, "3\n").unwrap();
        let text = format!(
            "track_file tf {{\n file {}\n weight 2\n}}\n\
             virtual_server 10.0.0.1 80 {{\n protocol TCP\n delay_loop 1\n warmup 0\n\
             real_server 10.0.1.1 80 {{\n MISC_CHECK {{\n misc_path \"/bin/sh -c 'exit 4'\"\n misc_dynamic\n }}\n }}\n\
             real_server 10.0.1.2 80 {{\n FILE_CHECK {{\n track_file tf\n }}\n }}\n}}\n",
            tf.display()
        );
        let (cfg, specs) = load(&text);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (handle, fut) = start(
            specs,
            Pool::new(&cfg.lvs, PoolOptions::default()),
            &BTreeSet::new(),
            tx,
        );
        let driver = tokio::spawn(fut);
        // Until the MISC_CHECK set its weight (4 - 2) and the file its 3 × 2.
        let mut weights = (false, false);
        while weights != (true, true) {
            if let Some(Action::EditDest { server, weight, .. }) = rx.recv().await {
                match (server, weight) {
                    (crate::check::pool::Server::Real(0), 2) => weights.0 = true,
                    (crate::check::pool::Server::Real(1), 7) => weights.1 = true,
                    _ => {}
                }
            }
        }
        let (reply, snap) = oneshot::channel();
        handle.snapshot(reply);
        let snap = snap.await.unwrap();
        let id = |rs| CheckerId {
            vs: 0,
            rs,
            checker: 0,
        };
        let misc = snap.checkers[&id(0)];
        assert!(misc.up && misc.progress.has_run, "{misc:?}");
        assert_eq!(misc.weight, 1, "2 - the configured 1");
        let run = misc.last_run.expect("a run");
        assert_eq!(run.status, 4);
        assert!(run.at <= std::time::SystemTime::now());
        let file = snap.checkers[&id(1)];
        assert_eq!(
            (file.weight, file.progress.has_run, file.enabled),
            (6, true, true)
        );
        let rs = &snap.virtual_servers[0].real_servers;
        assert_eq!((rs[0].effective, rs[1].effective), (2, 7));
        assert!(rs.iter().all(|r| r.alive && r.set));
        handle.stop();
        driver.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every checker is a task whose future is allocated whole, idle or
    /// not: it must not carry a probe's state inline (10 000 TCP_CHECKs
    /// took 170 MB when HTTP-over-TLS's ~9 KB was), only its settings, its
    /// state machine and its timer. Tokio adds ~100 bytes and rounds to
    /// 128: at 496 bytes a task takes 640.
    #[test]
    fn checker_tasks_stay_small() {
        use crate::check::spec::{self, SpecOptions};
        use crate::config::{load_str, ReaderOptions};
        use crate::notify::exec::RunAs;
        let l = load_str(
            "t.conf",
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n",
            ReaderOptions::default(),
        );
        let mut specs = spec::build(
            &l.config,
            SpecOptions {
                script_user: RunAs::current(),
            },
        )
        .0;
        assert_eq!(specs.len(), 1);
        let (tx, _rx) = mpsc::unbounded_channel();
        let f = checker_task(0, specs.remove(0), tx, Arc::default(), 0.0);
        let size = std::mem::size_of_val(&f);
        assert!(size <= 512, "a checker task's future takes {size} bytes");
    }
}

//! The async driver: one lightweight tokio task per checker (thousands fit
//! on a current-thread runtime) moves time and probe results into the
//! sans-IO [`CheckerSm`]; one aggregation loop feeds their events into the
//! [`Pool`] and hands the resulting [`Action`]s to the caller. Like quinn's
//! driver, the tasks only sleep until `poll_timeout` and run probes.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::http;
use super::pool::{Action, CheckerId, Pool, PoolOptions};
use super::probe;
use super::proto;
use super::sched::{Event, Failure, Outcome};
use super::spec::{CheckSpec, ProbeSpec};
use crate::config::lvs::LvsConfig;
use crate::notify::exec::{run_with_timeout, ScriptOutcome};

/// How often FILE_CHECK files are read (keepalived watches them with
/// inotify; a short poll gives the same result without a watcher).
pub const FILE_POLL: Duration = Duration::from_millis(500);

/// Runs one probe.
pub async fn run_probe(spec: &ProbeSpec, t: &probe::Target, url: usize, seq: u16) -> Outcome {
    match spec {
        ProbeSpec::Tcp => probe::tcp_check(t).await,
        // The other probes' futures are boxed: kept inline, the largest
        // (HTTP over TLS, ~9 KB) would size every checker task, idle ones
        // included (10 000 TCP_CHECKs took 170 MB).
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
        ProbeSpec::File { .. } | ProbeSpec::Bfd => Outcome::OK,
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
    suspended: Arc<HashMap<usize, Arc<AtomicBool>>>,
    stop: watch::Sender<bool>,
    reload: mpsc::UnboundedSender<Reload>,
}

/// A new configuration for a running driver.
#[derive(Debug)]
struct Reload {
    lvs: LvsConfig,
    specs: Vec<CheckSpec>,
}

impl Handle {
    /// `ha_suspend`: pause (or resume) every checker of virtual server
    /// `vs` while its address is not configured locally.
    pub fn set_suspended(&self, vs: usize, suspended: bool) {
        if let Some(f) = self.suspended.get(&vs) {
            f.store(suspended, Ordering::Relaxed);
        }
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
    pub fn reload(&self, lvs: LvsConfig, specs: Vec<CheckSpec>) {
        let _ = self.reload.send(Reload { lvs, specs });
    }
}

struct Msg {
    token: u64,
    events: Vec<Event>,
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

/// What identifies a checker across a reload: its virtual server, its
/// real server and its settings (as built, before it ran).
fn fingerprint(pool: &Pool, s: &CheckSpec) -> (String, String, String) {
    let (v, r) = pool.server_key(s.id.vs, s.id.rs).unwrap_or(("", ""));
    (
        v.to_string(),
        r.to_string(),
        format!("{:?}|{:?}|{:?}", s.probe, s.target, s.sm),
    )
}

async fn checker_task(
    token: u64,
    spec: CheckSpec,
    tx: mpsc::UnboundedSender<Msg>,
    suspended: Arc<AtomicBool>,
    start_frac: f64,
) {
    let CheckSpec {
        probe,
        target,
        mut sm,
        ..
    } = spec;
    if let ProbeSpec::File {
        path,
        weight,
        reverse,
    } = &probe
    {
        return file_task(token, path, *weight, *reverse, tx).await;
    }
    if matches!(probe, ProbeSpec::Bfd) {
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
        let events = sm.handle_outcome(Instant::now().into_std(), outcome);
        if !events.is_empty() && tx.send(Msg { token, events }).is_err() {
            return;
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
            if tx.send(Msg { token, events }).is_err() {
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
    key: (String, String, String),
    /// MISC_CHECK (its weights are absolute, FILE_CHECK's are offsets).
    misc: bool,
    /// Its weight offset (MISC dynamic, FILE_CHECK), summed onto the
    /// configured weight as keepalived's man page describes.
    offset: Option<i64>,
    abort: tokio::task::AbortHandle,
}

/// The checker tasks and what they feed into the pool.
struct Tasks {
    set: JoinSet<()>,
    info: HashMap<u64, Task>,
    next: u64,
    tx: mpsc::UnboundedSender<Msg>,
    rng: AtomicU64,
    flags: Arc<HashMap<usize, Arc<AtomicBool>>>,
}

impl Tasks {
    fn spawn(&mut self, pool: &Pool, s: CheckSpec) {
        let token = self.next;
        self.next += 1;
        let key = fingerprint(pool, &s);
        let misc = matches!(s.probe, ProbeSpec::Misc { .. });
        let id = s.id;
        let flag = self
            .flags
            .get(&s.id.vs)
            .cloned()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        let abort = self.set.spawn(checker_task(
            token,
            s,
            self.tx.clone(),
            flag,
            frac(&self.rng),
        ));
        self.info.insert(
            token,
            Task {
                id,
                key,
                misc,
                offset: None,
                abort,
            },
        );
    }

    /// The weight of real server `(vs, rs)`: configured plus offsets.
    fn weight(&self, pool: &Pool, vs: usize, rs: usize) -> i64 {
        pool.base_weight(vs, rs)
            + self
                .info
                .values()
                .filter(|t| (t.id.vs, t.id.rs) == (vs, rs))
                .filter_map(|t| t.offset)
                .sum::<i64>()
    }

    /// Applies a reload: keeps the tasks of unchanged checkers (renumbered),
    /// stops the others, starts the new ones; returns the pool's actions.
    fn reload(&mut self, pool: &mut Pool, r: Reload) -> Vec<Action> {
        let fresh = Pool::new(&r.lvs, PoolOptions::default());
        let mut by_key: BTreeMap<(String, String, String), Vec<u64>> = BTreeMap::new();
        let mut tokens: Vec<u64> = self.info.keys().copied().collect();
        tokens.sort_unstable();
        for t in tokens {
            by_key.entry(self.info[&t].key.clone()).or_default().push(t);
        }
        let mut carried = BTreeMap::new();
        let mut kept = Vec::new();
        let mut new_specs = Vec::new();
        for s in r.specs {
            let key = fingerprint(&fresh, &s);
            match by_key
                .get_mut(&key)
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
            {
                Some(t) => {
                    carried.insert(s.id, self.info[&t].id);
                    kept.push((t, s.id));
                }
                None => new_specs.push(s),
            }
        }
        for ts in by_key.values() {
            for t in ts {
                if let Some(task) = self.info.remove(t) {
                    task.abort.abort();
                }
            }
        }
        for (t, id) in kept {
            if let Some(task) = self.info.get_mut(&t) {
                task.id = id;
            }
        }
        let mut acts = pool.reload(&r.lvs, &carried);
        // Weight offsets of the checkers that went on.
        let mut places: Vec<(usize, usize)> = self
            .info
            .values()
            .filter(|t| t.offset.is_some())
            .map(|t| (t.id.vs, t.id.rs))
            .collect();
        places.sort_unstable();
        places.dedup();
        for (vs, rs) in places {
            let w = self.weight(pool, vs, rs);
            acts.extend(pool.set_weight(vs, rs, w));
        }
        let mut flags: HashMap<usize, Arc<AtomicBool>> = HashMap::new();
        for s in &new_specs {
            flags
                .entry(s.id.vs)
                .or_insert_with(|| Arc::new(AtomicBool::new(false)));
        }
        // ha_suspend flags of new virtual servers start cleared.
        let mut all = (*self.flags).clone();
        for (k, v) in flags {
            all.entry(k).or_insert(v);
        }
        self.flags = Arc::new(all);
        for s in new_specs {
            self.spawn(pool, s);
        }
        acts
    }
}

/// Starts every checker in `specs` and aggregates into `pool`, sending
/// each [`Action`] to `out`, until [`Handle::stop`]; then the pool's
/// shutdown actions are sent and the future completes. Call inside a
/// tokio runtime (current-thread is enough).
pub fn start(
    specs: Vec<CheckSpec>,
    mut pool: Pool,
    out: mpsc::UnboundedSender<Action>,
) -> (Handle, impl std::future::Future<Output = Pool>) {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (reload_tx, mut reload_rx) = mpsc::unbounded_channel::<Reload>();
    let mut flags: HashMap<usize, Arc<AtomicBool>> = HashMap::new();
    for s in &specs {
        flags
            .entry(s.id.vs)
            .or_insert_with(|| Arc::new(AtomicBool::new(false)));
    }
    let flags = Arc::new(flags);
    let handle = Handle {
        suspended: flags.clone(),
        stop: stop_tx,
        reload: reload_tx,
    };
    let fut = async move {
        for a in pool.start() {
            let _ = out.send(a);
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut tasks = Tasks {
            set: JoinSet::new(),
            info: HashMap::new(),
            next: 0,
            tx,
            rng: AtomicU64::new(seed()),
            flags,
        };
        for s in specs {
            tasks.spawn(&pool, s);
        }
        loop {
            tokio::select! {
                _ = stop_rx.changed() => break,
                Some(r) = reload_rx.recv() => {
                    for a in tasks.reload(&mut pool, r) {
                        // The IPVS view is sent whole below.
                        if !matches!(a, Action::AddDest { .. } | Action::EditDest { .. } | Action::DelDest { .. }) {
                            let _ = out.send(a);
                        }
                    }
                    let _ = out.send(Action::Reloaded(pool.destinations().clone()));
                }
                // Finished tasks (FILE/BFD never end; others only on error).
                Some(_) = tasks.set.join_next(), if !tasks.set.is_empty() => {}
                Some(Msg { token, events }) = rx.recv() => {
                    let Some(task) = tasks.info.get(&token) else {
                        continue;
                    };
                    let (id, misc) = (task.id, task.misc);
                    for e in events {
                        let acts = match e {
                            Event::Log(l) => vec![Action::Log(l)],
                            Event::State { up, smtp } => pool.checker_state(id, up, &smtp),
                            Event::Weight(w) => {
                                let base = pool.base_weight(id.vs, id.rs);
                                // MISC gives an absolute weight, FILE an offset.
                                let off = if misc { w - base } else { w };
                                if let Some(t) = tasks.info.get_mut(&token) {
                                    t.offset = Some(off);
                                }
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
        tasks.set.shutdown().await;
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

    #[test]
    fn file_states() {
        assert_eq!(file_state(0, 0, false), (true, 0));
        assert_eq!(file_state(3, 0, false), (false, 0));
        assert_eq!(file_state(3, 2, false), (true, 6));
        assert_eq!(file_state(3, 2, true), (true, -6));
        assert!(!file_state(70000, 1, true).0);
    }

    /// Every checker is a task whose future is allocated whole, idle or
    /// not: it must not carry the largest probe's state inline (10 000
    /// TCP_CHECKs took 170 MB when HTTP-over-TLS's ~9 KB was).
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
        assert!(size < 2048, "a checker task's future takes {size} bytes");
    }
}

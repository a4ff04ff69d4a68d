//! Real-server and virtual-server aggregation, sans-IO: which real servers
//! are alive (all their checkers up), their weights, quorum with
//! hysteresis, the sorry server, and the notifications keepalived 2.2 sends
//! (notify_up/down and quorum_up/down scripts, `lvs_notify_fifo` lines,
//! SMTP alerts, log lines).
//!
//! The output is a list of [`Action`]s for the checker process to carry
//! out, plus [`Pool::destinations`], the IPVS destinations that should
//! exist with their weights (what an IPVS reconciler needs). Nothing here
//! talks to IPVS, runs a script or writes a FIFO.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::status::{RsStatus, VsStatus};
use crate::config::lvs::{LvsConfig, RealServer, VirtualServer};
use crate::config::script::Script;

/// keepalived's `IPVS_WEIGHT_MAX`: weights are clamped to `0..=65535`.
pub const IPVS_WEIGHT_MAX: i64 = 65535;

/// Which server of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Server {
    /// `real_servers[i]`.
    Real(usize),
    /// The `sorry_server`.
    Sorry,
}

/// A checker's place: virtual server index, real server index, checker
/// index (all into the configuration's vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckerId {
    /// Index into `LvsConfig::virtual_servers`.
    pub vs: usize,
    /// Index into that VS's `real_servers`.
    pub rs: usize,
    /// Index into that RS's `checkers` (FILE_CHECKs included).
    pub checker: usize,
}

/// Something the checker process must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Log at LOG_INFO.
    Log(String),
    /// IPVS NEW_DEST.
    AddDest {
        /// Virtual server index.
        vs: usize,
        /// Which server.
        server: Server,
        /// IPVS weight.
        weight: u32,
    },
    /// IPVS SET_DEST (weight change, or inhibit: weight 0 instead of removal).
    EditDest {
        /// Virtual server index.
        vs: usize,
        /// Which server.
        server: Server,
        /// IPVS weight.
        weight: u32,
    },
    /// IPVS DEL_DEST.
    DelDest {
        /// Virtual server index.
        vs: usize,
        /// Which server.
        server: Server,
    },
    /// Run a notify script (fire and forget); at shutdown (`omega`) the
    /// caller waits about 1 s for it.
    Script(Script),
    /// A line for `lvs_notify_fifo` / `notify_fifo`, with its `\n`
    /// (`VS [vip]:tcp:80 UP`, `RS [rip]:tcp:80 [vip]:tcp:80 DOWN`). The
    /// reference says 2.2.7 also writes the terminating NUL after the
    /// newline for these LVS lines; the keepalived 2.2.7 run in the IPVS
    /// VM test writes none, and neither do we.
    Fifo(String),
    /// A reload is done (sent by the driver after the reload's other
    /// actions): from now on indices are those of the new configuration,
    /// and these are all the IPVS destinations wanted.
    Reloaded(BTreeMap<(usize, Server), u32>),
    /// An SMTP alert.
    Smtp {
        /// Subject.
        subject: String,
        /// Body line.
        body: String,
    },
}

/// Global settings the aggregation needs.
#[derive(Debug, Clone, Default)]
pub struct PoolOptions {
    /// `router_id`, for SMTP subjects.
    pub router_id: String,
    /// Default of a real server's `smtp_alert` (keepalived: on, unless a
    /// global `smtp_alert`/`smtp_alert_checker` says otherwise).
    pub rs_smtp_alert: bool,
    /// Default of a virtual server's `smtp_alert` (off).
    pub vs_smtp_alert: bool,
    /// `no_checker_emails`: mail only when a real server is added/removed.
    pub no_checker_emails: bool,
    /// `rs_init_notifies`: notify for real servers up at start-up.
    pub rs_init_notifies: bool,
}

#[derive(Debug, Clone)]
struct ChkState {
    up: bool,
    reported: bool,
    alpha: bool,
}

#[derive(Debug, Clone)]
struct RsState {
    fmt: String,
    alive: bool,
    set: bool,
    inhibit: bool,
    iweight: i64,
    effective: i64,
    /// The effective weight before the last reload (the dump's).
    peffective: i64,
    /// Carried over by the last reload (the dump's).
    reloaded: bool,
    num_failed: u32,
    checkers: Vec<ChkState>,
    smtp_alert: bool,
    notify_up: Option<Box<Script>>,
    notify_down: Option<Box<Script>>,
}

#[derive(Debug, Clone)]
struct VsState {
    fmt: String,
    quorum: i64,
    hysteresis: i64,
    quorum_up: bool,
    omega: bool,
    smtp_alert: bool,
    quorum_up_script: Option<Script>,
    quorum_down_script: Option<Script>,
    rs: Vec<RsState>,
    sorry: Option<RsState>,
    /// Carried over by the last reload (the dump's).
    reloaded: bool,
}

impl VsState {
    /// What a reload matches it by; none without real servers (dropped).
    fn key(&self) -> Option<&str> {
        (!self.rs.is_empty()).then_some(self.fmt.as_str())
    }
}

/// The aggregation state of all virtual servers.
#[derive(Debug, Clone)]
pub struct Pool {
    opts: PoolOptions,
    vs: Vec<VsState>,
    dests: BTreeMap<(usize, Server), u32>,
    out: Vec<Action>,
}

/// For each of `new` (`None`: none wanted), the first of `old` with the
/// same key not matched yet, in order: looked up, not searched (a reload
/// of thousands of virtual or real servers was quadratic).
fn match_by_key<'a>(
    old: impl Iterator<Item = Option<&'a str>>,
    new: impl Iterator<Item = Option<&'a str>>,
) -> Vec<Option<usize>> {
    let mut free: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for (i, k) in old.enumerate() {
        if let Some(k) = k {
            free.entry(k).or_default().push_back(i);
        }
    }
    new.map(|k| free.get_mut(k?)?.pop_front()).collect()
}

/// IPVS weight of an effective weight (keepalived's `real_weight`).
pub fn real_weight(w: i64) -> u32 {
    w.clamp(0, IPVS_WEIGHT_MAX) as u32
}

fn rs_state(rs: &RealServer, vs: &VirtualServer, opts: &PoolOptions, sorry: bool) -> RsState {
    let w = rs.weight.unwrap_or(vs.weight) as i64;
    let alpha = rs.alpha.unwrap_or(vs.alpha);
    RsState {
        fmt: rs.fmt(vs),
        alive: false,
        set: false,
        inhibit: rs.inhibit.unwrap_or(vs.inhibit),
        iweight: w,
        effective: w,
        peffective: 0,
        reloaded: false,
        num_failed: 0,
        checkers: if sorry {
            Vec::new()
        } else {
            rs.checkers
                .iter()
                .map(|c| {
                    let a = c.common.alpha.unwrap_or(alpha);
                    ChkState {
                        up: !a,
                        reported: false,
                        alpha: a,
                    }
                })
                .collect()
        },
        smtp_alert: rs.smtp_alert.unwrap_or(opts.rs_smtp_alert),
        notify_up: rs.notify_up.clone(),
        notify_down: rs.notify_down.clone(),
    }
}

impl Pool {
    /// The state of every non-dropped virtual server of `cfg`, nothing
    /// started yet. Indices are those of `cfg.virtual_servers`; dropped
    /// ones are kept as empty placeholders so indices stay stable.
    pub fn new(cfg: &LvsConfig, opts: PoolOptions) -> Pool {
        let vs = cfg
            .virtual_servers
            .iter()
            .map(|v| VsState {
                fmt: v.fmt(),
                quorum: v.quorum as i64,
                hysteresis: v.hysteresis as i64,
                quorum_up: false,
                omega: v.omega,
                smtp_alert: v.smtp_alert.unwrap_or(opts.vs_smtp_alert),
                quorum_up_script: v.quorum_up.clone(),
                quorum_down_script: v.quorum_down.clone(),
                rs: if v.dropped {
                    Vec::new()
                } else {
                    v.real_servers
                        .iter()
                        .map(|r| rs_state(r, v, &opts, false))
                        .collect()
                },
                sorry: v
                    .sorry_server
                    .as_ref()
                    .filter(|_| !v.dropped)
                    .map(|s| rs_state(s, v, &opts, true)),
                reloaded: false,
            })
            .collect();
        Pool {
            opts,
            vs,
            dests: BTreeMap::new(),
            out: Vec::new(),
        }
    }

    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    fn log(&mut self, s: String) {
        self.out.push(Action::Log(s));
    }

    /// The IPVS destinations that should exist now, with their weights.
    pub fn destinations(&self) -> &BTreeMap<(usize, Server), u32> {
        &self.dests
    }

    /// Alive real servers of virtual server `vs` with their IPVS weight
    /// (the sorry server is not included).
    pub fn alive(&self, vs: usize) -> Vec<(usize, u32)> {
        self.vs.get(vs).map_or_else(Vec::new, |v| {
            v.rs.iter()
                .enumerate()
                .filter(|(_, r)| r.alive)
                .map(|(i, r)| (i, real_weight(r.effective)))
                .collect()
        })
    }

    /// The state of every virtual and real server, for the dump.
    pub fn status(&self) -> Vec<VsStatus> {
        let rs = |r: &RsState| RsStatus {
            alive: r.alive,
            set: r.set,
            num_failed: r.num_failed,
            iweight: r.iweight,
            effective: r.effective,
            peffective: r.peffective,
            reloaded: r.reloaded,
        };
        self.vs
            .iter()
            .map(|v| VsStatus {
                quorum_up: v.quorum_up,
                reloaded: v.reloaded,
                real_servers: v.rs.iter().map(rs).collect(),
                sorry: v.sorry.as_ref().map(rs),
            })
            .collect()
    }

    /// Whether checker `id` counts as up (`None`: no such checker).
    pub fn checker_up(&self, id: CheckerId) -> Option<bool> {
        let c = self
            .vs
            .get(id.vs)?
            .rs
            .get(id.rs)?
            .checkers
            .get(id.checker)?;
        Some(c.up)
    }

    /// Whether virtual server `vs` has quorum.
    pub fn quorum_up(&self, vs: usize) -> bool {
        self.vs.get(vs).is_some_and(|v| v.quorum_up)
    }

    fn rs_mut(&mut self, vs: usize, s: Server) -> &mut RsState {
        let v = &mut self.vs[vs];
        match s {
            Server::Real(i) => &mut v.rs[i],
            Server::Sorry => v.sorry.as_mut().expect("sorry server"),
        }
    }

    /// keepalived's `ipvs_cmd(LVS_CMD_ADD_DEST)`: weight 0 while checkers
    /// are failing (an inhibited server); SET_DEST if already in IPVS.
    fn ipvs_add(&mut self, vs: usize, s: Server) {
        let r = self.rs_mut(vs, s);
        let was_set = r.set;
        // An alive server gets its full weight even while the checker
        // that brought it up is still counted as failed: keepalived 2.2.7
        // re-adding the pool when quorum is regained (the VM test).
        let w = if r.num_failed > 0 && !r.alive {
            0
        } else {
            real_weight(r.effective)
        };
        r.set = true;
        self.dests.insert((vs, s), w);
        self.out.push(if was_set {
            Action::EditDest {
                vs,
                server: s,
                weight: w,
            }
        } else {
            Action::AddDest {
                vs,
                server: s,
                weight: w,
            }
        });
    }

    /// keepalived's `ipvs_cmd(LVS_CMD_DEL_DEST)`: an inhibited server is
    /// kept with weight 0.
    fn ipvs_del(&mut self, vs: usize, s: Server, force: bool) {
        let r = self.rs_mut(vs, s);
        if !r.set {
            return;
        }
        if r.inhibit && !force {
            self.dests.insert((vs, s), 0);
            self.out.push(Action::EditDest {
                vs,
                server: s,
                weight: 0,
            });
        } else {
            r.set = false;
            self.dests.remove(&(vs, s));
            self.out.push(Action::DelDest { vs, server: s });
        }
    }

    fn weigh_live(&self, vs: usize) -> i64 {
        self.vs[vs]
            .rs
            .iter()
            .filter(|r| r.alive)
            .map(|r| real_weight(r.effective) as i64)
            .sum()
    }

    /// Start-up (`init_services`): adds every real server without failing
    /// (alpha) checkers, inhibited ones with weight 0, then decides quorum
    /// and the sorry server.
    pub fn start(&mut self) -> Vec<Action> {
        for vs in 0..self.vs.len() {
            let fresh = vec![None; self.vs[vs].rs.len()];
            self.start_vs(vs, &fresh);
        }
        self.take()
    }

    /// keepalived's `init_service_vs` for one virtual server; `reloaded`
    /// holds the previous configured weight of the real servers a reload
    /// kept: they are not re-added ("Do not re-add failed RS instantly on
    /// reload"), only given their new weight.
    fn start_vs(&mut self, vs: usize, reloaded: &[Option<i64>]) {
        if self.vs[vs].rs.is_empty() {
            return;
        }
        for i in 0..self.vs[vs].rs.len() {
            if let Some(pweight) = reloaded.get(i).copied().flatten() {
                let r = &self.vs[vs].rs[i];
                if r.iweight != pweight {
                    let w = r.iweight + (r.effective - pweight);
                    let acts = self.set_weight(vs, i, w);
                    self.out.extend(acts);
                }
                // Its checkers changed: new ones count as at start-up.
                let r = &self.vs[vs].rs[i];
                if r.alive && r.num_failed > 0 {
                    let n = r.num_failed;
                    self.vs[vs].rs[i].num_failed = 0;
                    self.perform_svr_state(vs, i, false);
                    self.vs[vs].rs[i].num_failed = n;
                }
                let r = &self.vs[vs].rs[i];
                if r.alive || r.num_failed > 0 {
                    continue;
                }
            }
            let r = &mut self.vs[vs].rs[i];
            r.num_failed = r.checkers.iter().filter(|c| !c.up).count() as u32;
            let add = (r.num_failed == 0 && !r.alive) || (r.inhibit && !r.set);
            if add {
                self.ipvs_add(vs, Server::Real(i));
                let r = &mut self.vs[vs].rs[i];
                if r.num_failed == 0 {
                    r.alive = true;
                    if self.opts.rs_init_notifies {
                        self.rs_notifies(vs, i, false);
                    }
                }
            }
        }
        self.update_quorum(vs, true);
        let sorry_inhibit = self.vs[vs]
            .sorry
            .as_ref()
            .is_some_and(|s| s.inhibit && !s.set);
        if sorry_inhibit {
            let s = self.rs_mut(vs, Server::Sorry);
            s.num_failed = 1;
            self.ipvs_add(vs, Server::Sorry);
            self.rs_mut(vs, Server::Sorry).num_failed = 0;
        }
    }

    /// The keys a reload matches checkers by: the virtual server's and the
    /// real server's `[ip]:proto:port` (`FWM n`, `[GROUP]:port`).
    pub fn server_key(&self, vs: usize, rs: usize) -> Option<(&str, &str)> {
        let v = self.vs.get(vs)?;
        Some((v.fmt.as_str(), v.rs.get(rs)?.fmt.as_str()))
    }

    /// Reload (keepalived's `clear_diff_services` then `init_services`):
    /// the pool takes `cfg`. A virtual server present before and after
    /// (same `[ip]:proto:port`) keeps its quorum state; its real servers
    /// present before and after (same address and port) keep being alive
    /// or not, in IPVS or not, with no notification; their checkers listed
    /// in `carried` (new id → old id) keep their state, the others start
    /// afresh. A changed weight is applied (`Changing weight ...`). Real
    /// servers and virtual servers that disappeared are removed
    /// (`Removing service ...`, down notifications); new ones start as at
    /// start-up. The IPVS view is [`Self::destinations`] afterwards: the
    /// dest actions in the result use the new indices.
    pub fn reload(
        &mut self,
        cfg: &LvsConfig,
        carried: &BTreeMap<CheckerId, CheckerId>,
    ) -> Vec<Action> {
        let mut old = std::mem::replace(self, Pool::new(cfg, self.opts.clone()));
        let mut out = std::mem::take(&mut old.out);
        // Match virtual servers, then their real servers, by their keys.
        let vs_map = match_by_key(
            old.vs.iter().map(VsState::key),
            self.vs.iter().map(VsState::key),
        );
        let mut old_vs_used = vec![false; old.vs.len()];
        let mut old_rs_used: Vec<Vec<bool>> =
            old.vs.iter().map(|v| vec![false; v.rs.len()]).collect();
        let mut rs_map: Vec<Vec<Option<usize>>> = Vec::with_capacity(self.vs.len());
        for (nv, m) in vs_map.iter().enumerate() {
            let row = match *m {
                Some(ov) => {
                    old_vs_used[ov] = true;
                    let row = match_by_key(
                        old.vs[ov].rs.iter().map(|r| Some(r.fmt.as_str())),
                        self.vs[nv].rs.iter().map(|r| Some(r.fmt.as_str())),
                    );
                    for &j in row.iter().flatten() {
                        old_rs_used[ov][j] = true;
                    }
                    row
                }
                None => vec![None; self.vs[nv].rs.len()],
            };
            rs_map.push(row);
        }
        // What disappeared goes first, as in keepalived.
        let old_quorum: Vec<bool> = old.vs.iter().map(|v| v.quorum_up).collect();
        for (ov, used) in old_rs_used.iter().enumerate() {
            let vs_gone = !old_vs_used[ov];
            if vs_gone && !old.vs[ov].rs.is_empty() {
                let f = old.vs[ov].fmt.clone();
                old.log(format!("Removing Virtual Server {f}"));
            }
            for (j, &u) in used.iter().enumerate() {
                if !u {
                    if !vs_gone {
                        let f = old.vs[ov].rs[j].fmt.clone();
                        old.log(format!("service {f} no longer exist"));
                    }
                    old.retire(ov, j);
                }
            }
        }
        out.extend(old.take());
        // Carry the state of what stayed, then start what is new.
        for nv in 0..self.vs.len() {
            let Some(ov) = vs_map[nv] else {
                let fresh = vec![None; self.vs[nv].rs.len()];
                self.start_vs(nv, &fresh);
                continue;
            };
            self.vs[nv].quorum_up = old_quorum[ov];
            self.vs[nv].reloaded = true;
            let mut reloaded = vec![None; self.vs[nv].rs.len()];
            for (i, m) in rs_map[nv].iter().enumerate() {
                let Some(j) = *m else { continue };
                let o = &old.vs[ov].rs[j];
                reloaded[i] = Some(o.iweight);
                let n = &mut self.vs[nv].rs[i];
                n.alive = o.alive;
                n.set = o.set;
                n.effective = o.effective;
                n.peffective = o.effective;
                n.reloaded = true;
                for (c, st) in n.checkers.iter_mut().enumerate() {
                    let id = CheckerId {
                        vs: nv,
                        rs: i,
                        checker: c,
                    };
                    if let Some(oc) = carried
                        .get(&id)
                        .filter(|oc| oc.vs == ov && oc.rs == j)
                        .and_then(|oc| o.checkers.get(oc.checker))
                    {
                        *st = oc.clone();
                    }
                }
                n.num_failed = n.checkers.iter().filter(|c| !c.up).count() as u32;
                if let Some(&w) = old.dests.get(&(ov, Server::Real(j))) {
                    self.dests.insert((nv, Server::Real(i)), w);
                }
            }
            let same_sorry = match (&old.vs[ov].sorry, &self.vs[nv].sorry) {
                (Some(o), Some(n)) => o.fmt == n.fmt,
                _ => false,
            };
            if same_sorry {
                let o = old.vs[ov].sorry.as_ref().expect("sorry server");
                let (alive, set) = (o.alive, o.set);
                let n = self.rs_mut(nv, Server::Sorry);
                n.alive = alive;
                n.set = set;
                if let Some(&w) = old.dests.get(&(ov, Server::Sorry)) {
                    self.dests.insert((nv, Server::Sorry), w);
                }
            }
            self.start_vs(nv, &reloaded);
        }
        out.extend(self.take());
        out
    }

    /// keepalived's `clear_service_rs` at reload: a real server that is
    /// no longer configured leaves IPVS, with its down notifications.
    fn retire(&mut self, vs: usize, i: usize) {
        if self.vs[vs].rs[i].set {
            let line = self.rs_leaves("Removing", vs, i);
            self.out.push(Action::Log(line));
            self.ipvs_del(vs, Server::Real(i), true);
        }
        if !self.vs[vs].rs[i].alive {
            return;
        }
        self.vs[vs].rs[i].alive = false;
        self.rs_notifies(vs, i, false);
        self.rs_down_mail(vs, i, "=> Removing <=");
        // keepalived notifies a quorum lost by the removal (script, FIFO
        // line, mail) without logging it or calling the sorry server; the
        // virtual server that stays keeps its quorum state (VM test).
        let sum = self.weigh_live(vs);
        let v = &self.vs[vs];
        let threshold = v.quorum - v.hysteresis;
        if v.quorum_up && (sum == 0 || sum < threshold) {
            self.vs[vs].quorum_up = false;
            self.vs_notifies(vs, false, threshold, sum, false);
        }
    }

    /// keepalived's line for a real server leaving IPVS: `VERB
    /// [(inhibited) ]service RS from VS VS`.
    fn rs_leaves(&self, verb: &str, vs: usize, i: usize) -> String {
        let v = &self.vs[vs];
        let r = &v.rs[i];
        let inhibited = if r.inhibit && !r.alive {
            "(inhibited) "
        } else {
            ""
        };
        format!("{verb} {inhibited}service {} from VS {}", r.fmt, v.fmt)
    }

    /// The DOWN mail of a real server that leaves (removed by a reload,
    /// or shut down at stop), when its alerts are on.
    fn rs_down_mail(&mut self, vs: usize, i: usize, body: &str) {
        let v = &self.vs[vs];
        let r = &v.rs[i];
        if r.smtp_alert {
            let subject = format!(
                "[{}] Realserver {} of virtual server {} - DOWN",
                self.opts.router_id, r.fmt, v.fmt
            );
            self.out.push(Action::Smtp {
                subject,
                body: body.into(),
            });
        }
    }

    fn fifo_rs(&mut self, vs: usize, i: usize) {
        let v = &self.vs[vs];
        let r = &v.rs[i];
        let line = format!(
            "RS {} {} {}\n",
            r.fmt,
            v.fmt,
            if r.alive { "UP" } else { "DOWN" }
        );
        self.out.push(Action::Fifo(line));
    }

    /// keepalived's `do_rs_notifies`: notify_up/down script and FIFO line.
    fn rs_notifies(&mut self, vs: usize, i: usize, _stopping: bool) {
        let r = &self.vs[vs].rs[i];
        let script = if r.alive {
            r.notify_up.clone()
        } else {
            r.notify_down.clone()
        };
        if let Some(s) = script {
            self.out.push(Action::Script(*s));
        }
        self.fifo_rs(vs, i);
    }

    /// keepalived's `do_vs_notifies`.
    fn vs_notifies(&mut self, vs: usize, init: bool, threshold: i64, sum: i64, stopping: bool) {
        let v = &self.vs[vs];
        if stopping && !v.omega {
            return;
        }
        let script = if v.quorum_up {
            v.quorum_up_script.clone()
        } else {
            v.quorum_down_script.clone()
        };
        if let Some(s) = script {
            self.out.push(Action::Script(s));
        }
        let state = if v.quorum_up { "UP" } else { "DOWN" };
        self.out
            .push(Action::Fifo(format!("VS {} {state}\n", v.fmt)));
        if v.smtp_alert {
            let body = if stopping {
                "=> Shutting down <=".to_string()
            } else {
                let what = match (v.quorum_up, init) {
                    (true, true) => "Starting with quorum up",
                    (true, false) => "Gained quorum",
                    (false, true) => "Starting with quorum down",
                    (false, false) => "Lost quorum",
                };
                format!(
                    "=> {what} {}+{}={threshold} <= {sum} <=",
                    v.quorum, v.hysteresis
                )
            };
            let subject = format!(
                "[{}] Virtualserver {} - {state}",
                self.opts.router_id, v.fmt
            );
            self.out.push(Action::Smtp { subject, body });
        }
    }

    /// keepalived's `perform_quorum_state`: (re-)add or remove every alive
    /// real server.
    fn perform_quorum_state(&mut self, vs: usize, add: bool) {
        let f = self.vs[vs].fmt.clone();
        self.log(format!(
            "{} the pool for VS {f}",
            if add {
                "Adding alive servers to"
            } else {
                "Removing alive servers from"
            }
        ));
        for i in 0..self.vs[vs].rs.len() {
            if !self.vs[vs].rs[i].alive {
                continue;
            }
            if add {
                self.ipvs_add(vs, Server::Real(i));
            } else {
                self.ipvs_del(vs, Server::Real(i), false);
            }
        }
    }

    /// keepalived's `update_quorum_state`.
    fn update_quorum(&mut self, vs: usize, init: bool) {
        let sum = self.weigh_live(vs);
        let v = &self.vs[vs];
        let threshold = v.quorum + if v.quorum_up { -1 } else { 1 } * v.hysteresis;
        let sorry_alive = v.sorry.as_ref().map(|s| s.alive);
        if !v.quorum_up && sum >= threshold {
            let (q, h, f) = (v.quorum, v.hysteresis, v.fmt.clone());
            self.vs[vs].quorum_up = true;
            self.log(format!(
                "Gained quorum {q}+{h}={threshold} <= {sum} for VS {f}"
            ));
            if sorry_alive == Some(true) {
                let s = self.rs_mut(vs, Server::Sorry);
                let (inh, sf) = (s.inhibit, s.fmt.clone());
                self.log(format!(
                    "{} sorry server {sf} from VS {f}",
                    if inh { "Disabling" } else { "Removing" }
                ));
                self.ipvs_del(vs, Server::Sorry, false);
                self.rs_mut(vs, Server::Sorry).alive = false;
                self.perform_quorum_state(vs, true);
            }
            self.vs_notifies(vs, init, threshold, sum, false);
        } else if (v.quorum_up && (sum == 0 || sum < threshold))
            || (init && !v.quorum_up && sorry_alive == Some(false))
        {
            let (q, h, f) = (v.quorum, v.hysteresis, v.fmt.clone());
            self.vs[vs].quorum_up = false;
            self.log(format!(
                "{} {q}-{h}={threshold} > {sum} for VS {f}",
                if init {
                    "Starting with quorum down"
                } else {
                    "Lost quorum"
                }
            ));
            if sorry_alive == Some(false) {
                let s = self.rs_mut(vs, Server::Sorry);
                let (inh, sf) = (s.inhibit, s.fmt.clone());
                self.log(format!(
                    "{} sorry server {sf} to VS {f}",
                    if inh { "Enabling" } else { "Adding" }
                ));
                self.perform_quorum_state(vs, false);
                self.ipvs_add(vs, Server::Sorry);
                self.rs_mut(vs, Server::Sorry).alive = true;
            }
            self.vs_notifies(vs, init, threshold, sum, false);
        }
    }

    /// keepalived's `perform_svr_state`: the real server goes up or down.
    fn perform_svr_state(&mut self, vs: usize, i: usize, alive: bool) {
        let v = &self.vs[vs];
        let r = &v.rs[i];
        if r.alive == alive {
            return;
        }
        let verb = match (alive, r.inhibit) {
            (true, true) => "Enabling",
            (true, false) => "Adding",
            (false, true) => "Disabling",
            (false, false) => "Removing",
        };
        let prep = if r.inhibit {
            "of"
        } else if alive {
            "to"
        } else {
            "from"
        };
        self.out.push(Action::Log(format!(
            "{verb} service {} {prep} VS {}",
            r.fmt, v.fmt
        )));
        let sorry_alive = v.sorry.as_ref().is_some_and(|s| s.alive);
        if v.quorum_up || v.sorry.is_none() || !sorry_alive {
            if alive {
                // Adding: the checker count is updated after this call in
                // keepalived, so the new weight is the full one.
                let r = &mut self.vs[vs].rs[i];
                let saved = r.num_failed;
                r.num_failed = 0;
                self.ipvs_add(vs, Server::Real(i));
                self.vs[vs].rs[i].num_failed = saved;
            } else {
                self.ipvs_del(vs, Server::Real(i), false);
            }
        }
        self.vs[vs].rs[i].alive = alive;
        self.rs_notifies(vs, i, false);
        self.update_quorum(vs, false);
    }

    /// A checker reports its state (keepalived's
    /// `update_svr_checker_state`); `smtp` is the checker's alert body.
    pub fn checker_state(&mut self, id: CheckerId, up: bool, smtp: &str) -> Vec<Action> {
        let CheckerId { vs, rs, checker } = id;
        let Some(c) = self
            .vs
            .get(vs)
            .and_then(|v| v.rs.get(rs))
            .and_then(|r| r.checkers.get(checker))
            .cloned()
        else {
            return Vec::new();
        };
        let rs_was_alive = self.vs[vs].rs[rs].alive;
        if c.up == up {
            if !c.reported {
                if c.alpha || !up {
                    self.rs_notifies(vs, rs, false);
                }
                self.vs[vs].rs[rs].checkers[checker].reported = true;
            }
            return self.take();
        }
        self.vs[vs].rs[rs].checkers[checker].reported = true;
        let r = &self.vs[vs].rs[rs];
        if up {
            if r.num_failed <= 1 {
                self.perform_svr_state(vs, rs, true);
            }
        } else if r.num_failed == 0 {
            self.perform_svr_state(vs, rs, false);
        }
        let vfmt = self.vs[vs].fmt.clone();
        let r = &mut self.vs[vs].rs[rs];
        r.checkers[checker].up = up;
        if up {
            r.num_failed = r.num_failed.saturating_sub(1);
        } else {
            r.num_failed += 1;
        }
        if r.smtp_alert && (rs_was_alive != r.alive || !self.opts.no_checker_emails) {
            let subject = format!(
                "[{}] Realserver {} of virtual server {} - {}",
                self.opts.router_id,
                r.fmt,
                vfmt,
                if up { "UP" } else { "DOWN" }
            );
            self.out.push(Action::Smtp {
                subject,
                body: smtp.to_string(),
            });
        }
        self.take()
    }

    /// A checker sets the real server's weight (MISC `misc_dynamic`:
    /// keepalived's `update_svr_wgt`).
    pub fn set_weight(&mut self, vs: usize, rs: usize, weight: i64) -> Vec<Action> {
        let Some(r) = self.vs.get(vs).and_then(|v| v.rs.get(rs)) else {
            return Vec::new();
        };
        let (old, new) = (real_weight(r.effective), real_weight(weight));
        self.vs[vs].rs[rs].effective = weight;
        if old != new {
            let v = &self.vs[vs];
            let r = &v.rs[rs];
            self.out.push(Action::Log(format!(
                "Changing weight from {old} to {new} for {}active service {} of VS {}",
                if r.alive { "" } else { "in" },
                r.fmt,
                v.fmt
            )));
            let sorry_alive = v.sorry.as_ref().is_some_and(|s| s.alive);
            if r.set && r.alive && (v.quorum_up || v.sorry.is_none() || !sorry_alive) {
                self.dests.insert((vs, Server::Real(rs)), new);
                self.out.push(Action::EditDest {
                    vs,
                    server: Server::Real(rs),
                    weight: new,
                });
            }
            self.update_quorum(vs, false);
        }
        self.take()
    }

    /// The configured weight of a real server (for weight offsets).
    pub fn base_weight(&self, vs: usize, rs: usize) -> i64 {
        self.vs
            .get(vs)
            .and_then(|v| v.rs.get(rs))
            .map_or(0, |r| r.iweight)
    }

    /// Shutdown (`clear_services` without flush): every server removed
    /// ("Shutting down service ..."), down notifiers only with `omega`.
    pub fn stop(&mut self) -> Vec<Action> {
        for vs in 0..self.vs.len() {
            if self.vs[vs].sorry.as_ref().is_some_and(|s| s.set) {
                self.ipvs_del(vs, Server::Sorry, true);
                self.rs_mut(vs, Server::Sorry).alive = false;
            }
            for i in 0..self.vs[vs].rs.len() {
                let line = self.rs_leaves("Shutting down", vs, i);
                self.out.push(Action::Log(line));
                if !self.vs[vs].rs[i].set {
                    continue;
                }
                self.ipvs_del(vs, Server::Real(i), true);
                if !self.vs[vs].rs[i].alive {
                    continue;
                }
                self.vs[vs].rs[i].alive = false;
                if !self.vs[vs].omega {
                    continue;
                }
                self.rs_notifies(vs, i, true);
                self.rs_down_mail(vs, i, "=> Shutting down <=");
            }
            if !self.vs[vs].rs.is_empty() {
                let v = &self.vs[vs];
                let threshold = v.quorum - v.hysteresis;
                let sum = self.weigh_live(vs);
                self.vs[vs].quorum_up = false;
                self.vs_notifies(vs, false, threshold, sum, true);
            }
        }
        self.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    fn cfg(text: &str) -> LvsConfig {
        let l = load_str("test.conf", text, ReaderOptions::default());
        l.config.lvs
    }

    fn logs(a: &[Action]) -> Vec<&str> {
        a.iter()
            .filter_map(|x| match x {
                Action::Log(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    const TWO_RS: &str = "virtual_server 10.0.0.1 80 {
  delay_loop 6
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  hysteresis 0
  sorry_server 10.0.0.9 80
  real_server 10.0.0.2 80 {
    weight 1
    notify_up /bin/up
    notify_down /bin/down
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 10.0.0.3 80 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
";

    fn id(rs: usize) -> CheckerId {
        CheckerId {
            vs: 0,
            rs,
            checker: 0,
        }
    }

    #[test]
    fn start_adds_non_alpha_servers_and_gains_quorum() {
        let mut p = Pool::new(&cfg(TWO_RS), PoolOptions::default());
        let a = p.start();
        assert_eq!(
            a[0],
            Action::AddDest {
                vs: 0,
                server: Server::Real(0),
                weight: 1
            }
        );
        assert_eq!(
            logs(&a),
            ["Gained quorum 2+0=2 <= 2 for VS [10.0.0.1]:tcp:80"]
        );
        assert!(a.contains(&Action::Fifo("VS [10.0.0.1]:tcp:80 UP\n".into())));
        assert_eq!(p.alive(0), [(0, 1), (1, 1)]);
    }

    #[test]
    fn checker_down_removes_server_and_quorum_loss_brings_sorry_server() {
        let opts = PoolOptions {
            rs_smtp_alert: true,
            ..PoolOptions::default()
        };
        let mut p = Pool::new(&cfg(TWO_RS), opts);
        p.start();
        let a = p.checker_state(id(0), false, "=> TCP CHECK failed on service <=");
        assert_eq!(
            logs(&a),
            [
                "Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Lost quorum 2-0=2 > 1 for VS [10.0.0.1]:tcp:80",
                "Adding sorry server [10.0.0.9]:tcp:80 to VS [10.0.0.1]:tcp:80",
                "Removing alive servers from the pool for VS [10.0.0.1]:tcp:80",
            ]
        );
        assert!(a.contains(&Action::DelDest {
            vs: 0,
            server: Server::Real(0)
        }));
        assert!(a.contains(&Action::Fifo(
            "RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n".into()
        )));
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::Script(s) if s.argv == ["/bin/down"])));
        assert!(a.iter().any(|x| matches!(x, Action::Smtp { subject, .. }
            if subject == "[] Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN")));
        let d: Vec<_> = p.destinations().keys().copied().collect();
        assert_eq!(d, [(0, Server::Sorry)]);
        // Back up: quorum regained, sorry server out, real servers back.
        let a = p.checker_state(id(0), true, "");
        assert_eq!(
            logs(&a),
            [
                "Adding service [10.0.0.2]:tcp:80 to VS [10.0.0.1]:tcp:80",
                "Gained quorum 2+0=2 <= 2 for VS [10.0.0.1]:tcp:80",
                "Removing sorry server [10.0.0.9]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Adding alive servers to the pool for VS [10.0.0.1]:tcp:80",
            ]
        );
        let d: Vec<_> = p.destinations().keys().copied().collect();
        assert_eq!(d, [(0, Server::Real(0)), (0, Server::Real(1))]);
    }

    #[test]
    fn inhibit_on_failure_sets_weight_zero() {
        let text = TWO_RS.replace("quorum 2", "quorum 1\n  inhibit_on_failure");
        let mut p = Pool::new(&cfg(&text), PoolOptions::default());
        p.start();
        let a = p.checker_state(id(1), false, "");
        assert_eq!(
            logs(&a),
            ["Disabling service [10.0.0.3]:tcp:80 of VS [10.0.0.1]:tcp:80"]
        );
        assert!(a.contains(&Action::EditDest {
            vs: 0,
            server: Server::Real(1),
            weight: 0
        }));
        assert_eq!(p.destinations()[&(0, Server::Real(1))], 0);
        let a = p.checker_state(id(1), true, "");
        assert_eq!(
            logs(&a),
            ["Enabling service [10.0.0.3]:tcp:80 of VS [10.0.0.1]:tcp:80"]
        );
        assert_eq!(p.destinations()[&(0, Server::Real(1))], 1);
    }

    #[test]
    fn alpha_servers_wait_for_their_checkers() {
        let text = TWO_RS.replace("quorum 2", "quorum 1\n  alpha");
        let mut p = Pool::new(&cfg(&text), PoolOptions::default());
        let a = p.start();
        assert_eq!(
            logs(&a),
            [
                "Starting with quorum down 1-0=1 > 0 for VS [10.0.0.1]:tcp:80",
                "Adding sorry server [10.0.0.9]:tcp:80 to VS [10.0.0.1]:tcp:80",
                "Removing alive servers from the pool for VS [10.0.0.1]:tcp:80",
            ]
        );
        assert!(p.alive(0).is_empty());
        let a = p.checker_state(id(1), true, "");
        assert_eq!(
            logs(&a),
            [
                "Adding service [10.0.0.3]:tcp:80 to VS [10.0.0.1]:tcp:80",
                "Gained quorum 1+0=1 <= 1 for VS [10.0.0.1]:tcp:80",
                "Removing sorry server [10.0.0.9]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Adding alive servers to the pool for VS [10.0.0.1]:tcp:80",
            ]
        );
        assert_eq!(p.alive(0), [(1, 1)]);
    }

    #[test]
    fn hysteresis_delays_gain_and_loss() {
        let text = "virtual_server 10.0.0.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 2
  hysteresis 1
  real_server 10.0.0.2 80 { weight 1
    TCP_CHECK { } }
  real_server 10.0.0.3 80 { weight 1
    TCP_CHECK { } }
  real_server 10.0.0.4 80 { weight 1
    TCP_CHECK { } }
}
";
        let mut p = Pool::new(&cfg(text), PoolOptions::default());
        let a = p.start();
        assert_eq!(
            logs(&a),
            ["Gained quorum 2+1=3 <= 3 for VS [10.0.0.1]:tcp:80"]
        );
        let a = p.checker_state(id(0), false, "");
        assert_eq!(logs(&a).len(), 1, "2 >= 2-1: still up");
        let a = p.checker_state(id(1), false, "");
        assert_eq!(logs(&a).len(), 1, "1 >= 1: still up");
        let a = p.checker_state(id(2), false, "");
        assert_eq!(
            logs(&a)[1],
            "Lost quorum 2-1=1 > 0 for VS [10.0.0.1]:tcp:80"
        );
        p.checker_state(id(0), true, "");
        let a = p.checker_state(id(1), true, "");
        assert_eq!(logs(&a).len(), 1, "2 < 2+1: still down");
        let a = p.checker_state(id(2), true, "");
        assert_eq!(
            logs(&a)[1],
            "Gained quorum 2+1=3 <= 3 for VS [10.0.0.1]:tcp:80"
        );
    }

    #[test]
    fn dynamic_weight_changes_ipvs_weight() {
        let mut p = Pool::new(&cfg(TWO_RS), PoolOptions::default());
        p.start();
        let a = p.set_weight(0, 1, 5);
        assert_eq!(
            logs(&a),
            ["Changing weight from 1 to 5 for active service [10.0.0.3]:tcp:80 of VS [10.0.0.1]:tcp:80"]
        );
        assert!(a.contains(&Action::EditDest {
            vs: 0,
            server: Server::Real(1),
            weight: 5
        }));
        assert!(p.set_weight(0, 1, 5).is_empty());
    }

    #[test]
    fn stop_shuts_down_and_omega_notifies() {
        let text = TWO_RS.replace("quorum 2", "quorum 1\n  omega");
        let mut p = Pool::new(&cfg(&text), PoolOptions::default());
        p.start();
        let a = p.stop();
        assert_eq!(
            logs(&a),
            [
                "Shutting down service [10.0.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Shutting down service [10.0.0.3]:tcp:80 from VS [10.0.0.1]:tcp:80",
            ]
        );
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::Script(s) if s.argv == ["/bin/down"])));
        assert!(a.contains(&Action::Fifo("VS [10.0.0.1]:tcp:80 DOWN\n".into())));
        assert!(p.destinations().is_empty());
    }

    /// Every checker of `new` whose real server is in `old` too (same
    /// keys), carried: what the driver does for unchanged checkers.
    fn carry_all(old: &Pool, new: &LvsConfig) -> BTreeMap<CheckerId, CheckerId> {
        let fresh = Pool::new(new, PoolOptions::default());
        let mut m = BTreeMap::new();
        for (nv, v) in fresh.vs.iter().enumerate() {
            for (nr, r) in v.rs.iter().enumerate() {
                for c in 0..r.checkers.len() {
                    let found = old.vs.iter().enumerate().find_map(|(ov, o)| {
                        (o.fmt == v.fmt)
                            .then(|| o.rs.iter().position(|x| x.fmt == r.fmt).map(|j| (ov, j)))
                            .flatten()
                    });
                    if let Some((ov, j)) = found {
                        let new_id = CheckerId {
                            vs: nv,
                            rs: nr,
                            checker: c,
                        };
                        m.insert(
                            new_id,
                            CheckerId {
                                vs: ov,
                                rs: j,
                                checker: c,
                            },
                        );
                    }
                }
            }
        }
        m
    }

    fn notifications(a: &[Action]) -> Vec<&Action> {
        a.iter()
            .filter(|x| {
                !matches!(
                    x,
                    Action::AddDest { .. } | Action::EditDest { .. } | Action::DelDest { .. }
                )
            })
            .collect()
    }

    #[test]
    fn reload_of_the_same_config_keeps_state_silently() {
        let lvs = cfg(TWO_RS);
        let mut p = Pool::new(&lvs, PoolOptions::default());
        p.start();
        // rs 0 down: quorum lost, the sorry server in.
        p.checker_state(id(0), false, "");
        let before = p.destinations().clone();
        let carried = carry_all(&p, &lvs);
        let a = p.reload(&lvs, &carried);
        assert!(notifications(&a).is_empty(), "{a:?}");
        assert_eq!(p.destinations(), &before);
        assert!(!p.quorum_up(0));
        // The failed server was not re-added; its recovery works as before.
        assert_eq!(p.alive(0), [(1, 1)]);
        let a = p.checker_state(id(0), true, "");
        assert!(logs(&a).contains(&"Gained quorum 2+0=2 <= 2 for VS [10.0.0.1]:tcp:80"));
        assert_eq!(p.alive(0), [(0, 1), (1, 1)]);
        // A checker that stays down reports nothing new either.
        let a = p.checker_state(id(1), true, "");
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn reload_adds_removes_and_reweighs_real_servers() {
        let old_text = TWO_RS.replace("quorum 2", "quorum 1");
        let lvs = cfg(&old_text);
        let mut p = Pool::new(&lvs, PoolOptions::default());
        p.start();
        // 10.0.0.2 goes, 10.0.0.3 gets weight 3, 10.0.0.4 comes.
        let new_text = "virtual_server 10.0.0.1 80 {
  delay_loop 6
  lb_algo rr
  lb_kind NAT
  protocol TCP
  quorum 1
  hysteresis 0
  sorry_server 10.0.0.9 80
  real_server 10.0.0.4 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 10.0.0.3 80 {
    weight 3
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
";
        let new = cfg(new_text);
        let carried = carry_all(&p, &new);
        assert_eq!(carried.len(), 1, "only 10.0.0.3's checker goes on");
        let a = p.reload(&new, &carried);
        assert_eq!(
            logs(&a),
            [
                "service [10.0.0.2]:tcp:80 no longer exist",
                "Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Changing weight from 1 to 3 for active service [10.0.0.3]:tcp:80 of VS [10.0.0.1]:tcp:80",
            ]
        );
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::Script(s) if s.argv == ["/bin/down"])));
        assert!(a.contains(&Action::Fifo(
            "RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 DOWN\n".into()
        )));
        let d: Vec<_> = p.destinations().iter().map(|(k, w)| (*k, *w)).collect();
        assert_eq!(d, [((0, Server::Real(0)), 1), ((0, Server::Real(1)), 3)]);
        assert!(p.quorum_up(0));
        // The dump's view: what the reload carried over, with its weight
        // before; the new server as at start.
        let st = p.status();
        assert!(st[0].reloaded);
        let (new_rs, kept) = (st[0].real_servers[0], st[0].real_servers[1]);
        assert_eq!(
            (kept.reloaded, kept.peffective, kept.iweight, kept.effective),
            (true, 1, 3, 3)
        );
        assert_eq!((new_rs.reloaded, new_rs.peffective), (false, 0));
        assert_eq!(p.checker_up(id(0)), Some(true));
        // The new server's checker is a new one: it reports as at start.
        let a = p.checker_state(id(0), false, "");
        assert_eq!(
            logs(&a),
            ["Removing service [10.0.0.4]:tcp:80 from VS [10.0.0.1]:tcp:80"]
        );
    }

    #[test]
    fn reload_removes_virtual_servers_and_starts_new_ones() {
        let lvs = cfg(TWO_RS);
        let mut p = Pool::new(&lvs, PoolOptions::default());
        p.start();
        let new = cfg(&TWO_RS.replace("10.0.0.1 80", "10.0.0.1 81"));
        let carried = carry_all(&p, &new);
        assert!(carried.is_empty());
        let a = p.reload(&new, &carried);
        assert_eq!(
            logs(&a),
            [
                "Removing Virtual Server [10.0.0.1]:tcp:80",
                "Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Removing service [10.0.0.3]:tcp:80 from VS [10.0.0.1]:tcp:80",
                "Gained quorum 2+0=2 <= 2 for VS [10.0.0.1]:tcp:81",
            ]
        );
        // The quorum the removals lost is notified (no log), once.
        let vs_lines: Vec<_> = a
            .iter()
            .filter(|x| matches!(x, Action::Fifo(l) if l.starts_with("VS ")))
            .collect();
        assert_eq!(
            vs_lines,
            [
                &Action::Fifo("VS [10.0.0.1]:tcp:80 DOWN\n".into()),
                &Action::Fifo("VS [10.0.0.1]:tcp:81 UP\n".into())
            ]
        );
        assert_eq!(p.alive(0), [(0, 1), (1, 1)]);
    }

    #[test]
    fn regained_quorum_readds_the_recovered_server_with_its_weight() {
        let mut p = Pool::new(&cfg(TWO_RS), PoolOptions::default());
        p.start();
        p.checker_state(id(0), false, "");
        p.checker_state(id(0), true, "");
        let d: Vec<_> = p.destinations().iter().map(|(k, w)| (*k, *w)).collect();
        assert_eq!(d, [((0, Server::Real(0)), 1), ((0, Server::Real(1)), 1)]);
    }
}

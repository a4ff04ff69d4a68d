//! The checker process: runs the health checkers ([`crate::check`]) and
//! keeps IPVS ([`crate::ipvs`]) equal to what their aggregation wants.
//!
//! IPVS is reconciled, not patched: after every batch of pool actions the
//! wanted services and destinations are computed from the pool's view and
//! compared with what the kernel holds. That is known from a dump taken
//! when IPVS is first reached, after an operation failed and after a
//! reload, and kept up to date by our own operations in between (a dump
//! per batch cost more than the batch at start-up with 10 000 real
//! servers); so a restart, a missing module or a change made by hand is
//! repaired once an operation fails or a reload comes. When the kernel has
//! no IPVS the checkers keep running and notifying (keepalived 2.2.7 stops
//! the whole daemon), and IPVS is retried every few seconds.
//!
//! SIGUSR1 writes `keepalived_check.data` ([`crate::daemon::dump::check`])
//! off the event loop: the driver hands over a snapshot of the state, and
//! a thread reads the configuration again (the process keeps none of it,
//! to stay small with thousands of real servers), checks that it is the
//! one running, and streams the file.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::check::driver;
use crate::check::pool::{Action, Pool, PoolOptions, Server};
use crate::check::spec::{self, SpecOptions};
use crate::check::status::Snapshot;
use crate::config::global::GlobalDefs;
use crate::config::Config;
use crate::ipvs::client::Client;
use crate::ipvs::mapping::{self, Desired, Layout};
use crate::ipvs::reconcile;
use crate::ipvs::repr::{Dest, Service, Timeouts};
use crate::notify::alert;
use crate::notify::exec::{Notifier, RunAs, ScriptCommand};
use crate::notify::fifo::NotifyFifo;
use crate::notify::mail::Mailer;

use super::dump;
use super::ha_suspend::HaSuspend;
use super::log::{log_detail, log_line};
use super::netlink::{NetEvent, Netlink, RcvBuf};

/// Reads the configuration again (`None`: unusable), for reloads and
/// dumps; shared with the dump thread.
pub type Loader = Arc<dyn Fn() -> Option<Config> + Send + Sync>;

/// How often IPVS is retried while the kernel has none (or refuses).
const IPVS_RETRY: Duration = Duration::from_secs(5);

/// Keeps a client when IPVS is there, and says why once when it is not.
struct Ipvs {
    client: Option<Client>,
    /// What the kernel holds: the last dump with our operations since
    /// applied; `None` when the next pass must dump first.
    kernel: Option<Vec<(Service, Vec<Dest>)>>,
    reported: bool,
    /// `lvs_flush`: IPVS is emptied once, when first reached.
    flush_at_start: bool,
    /// `lvs_timeouts` of the running configuration (zeros: not set).
    timeouts: Option<Timeouts>,
    /// The kernel's timeouts before we first set ours: a value the
    /// configuration leaves out (or a reload drops) returns to it, and all
    /// are put back at stop, as keepalived 2.2.7 does.
    original: Option<Timeouts>,
}

impl Ipvs {
    fn connect(&mut self) -> Option<&mut Client> {
        if self.client.is_none() {
            match Client::open_loading_module() {
                Ok(mut c) => {
                    if self.reported {
                        log_line("IPVS: now available");
                    }
                    if std::mem::take(&mut self.flush_at_start) {
                        if let Err(e) = c.flush() {
                            log_line(&format!("IPVS: flush: {e}"));
                        }
                    }
                    self.client = Some(c);
                    self.reported = false;
                    self.apply_timeouts();
                }
                Err(e) => {
                    if !self.reported {
                        log_line(&format!(
                            "{e} - health checking goes on; IPVS retried every {}s",
                            IPVS_RETRY.as_secs()
                        ));
                        self.reported = true;
                    }
                }
            }
        }
        self.client.as_mut()
    }

    /// Sets `lvs_timeouts` (at start and reload; later when IPVS appears).
    fn set_timeouts(&mut self, t: Option<Timeouts>) {
        self.timeouts = t;
        if self.client.is_some() {
            self.apply_timeouts();
        }
    }

    fn apply_timeouts(&mut self) {
        let Some(c) = self.client.as_mut() else {
            return;
        };
        if self.original.is_none() {
            if self.timeouts.is_none() {
                return;
            }
            match c.timeouts() {
                Ok(t) => self.original = Some(t),
                Err(e) => return log_line(&format!("IPVS: lvs_timeouts: {e}")),
            }
        }
        let Some(orig) = self.original else {
            return;
        };
        let want = self.timeouts.map_or(orig, |t| t.or(orig));
        if let Err(e) = c.set_timeouts(&want) {
            log_line(&format!("IPVS: lvs_timeouts: {e}"));
        }
    }

    /// Makes the kernel hold what the pool wants (`dests`) for the virtual
    /// servers in `touched` (a batch's), at a cost that does not grow with
    /// the others, or for all of them: when `touched` is `None`, and when
    /// the kernel's content must be dumped first (at first contact, after
    /// a failure: that pass repairs everything). False if IPVS is
    /// unavailable: a batch then leaves it to the retry timer, as each try
    /// may run modprobe.
    fn sync(&mut self, layout: &Layout, dests: &Dests, touched: Option<&BTreeSet<usize>>) -> bool {
        if self.client.is_none() {
            if touched.is_some() {
                return false;
            }
            if !layout.has_services() {
                // Nothing to program (yet): no need for IPVS.
                return true;
            }
        }
        let known = self.kernel.take();
        let Some(c) = self.connect() else {
            return false;
        };
        let want = match (touched, &known) {
            (Some(t), Some(_)) => layout.services_of(t, |i| wanted_dests(layout, dests, i)),
            _ => desired(layout, dests).services,
        };
        let current = match known.map_or_else(|| reconcile::current(c), Ok) {
            Ok(cur) => cur,
            Err(e) => {
                log_line(&format!("IPVS: {e}"));
                self.client = None;
                return false;
            }
        };
        let errors = reconcile::execute(c, &reconcile::diff(&current, &want));
        for (_, e) in &errors {
            log_line(&e.to_string());
        }
        if errors.is_empty() {
            self.kernel = Some(reconcile::applied(current, &want));
        }
        true
    }

    /// keepalived's stop: every destination, then every service we own;
    /// `lvs_flush_on_stop` flushes IPVS instead, `lvs_flush_on_stop VS`
    /// deletes our services whole.
    fn teardown(&mut self, want: &Desired, flush_on_stop: Option<bool>) {
        self.kernel = None;
        let Some(c) = self.connect() else {
            return;
        };
        let ops = match flush_on_stop {
            Some(true) => {
                if let Err(e) = c.flush() {
                    log_line(&format!("IPVS: flush: {e}"));
                }
                return;
            }
            Some(false) => reconcile::teardown_services(want),
            None => reconcile::teardown(want),
        };
        for (_, e) in reconcile::execute(c, &ops) {
            log_line(&e.to_string());
        }
    }
}

/// Runs the checkers of `config` until SIGTERM/SIGINT; returns the exit
/// code. `release` removes our IPVS services at stop (`-X` keeps them).
/// On SIGHUP `reload` reads the configuration again (`None`: unusable,
/// the old one stays); unchanged real servers keep their state.
pub fn run(config: Config, release: bool, reload: Loader) -> u8 {
    let Some(rt) = super::runtime() else {
        return 1;
    };
    rt.block_on(run_async(config, release, reload))
}

/// Writes `keepalived_check.data` for `state`, taken while the
/// configuration with `fingerprint` ran, in a thread of its own (the file
/// of 10 000 real servers is some 15 MB); one dump at a time.
fn spawn_check_dump(load: Loader, fingerprint: u64, state: Snapshot) {
    let spawned = std::thread::Builder::new()
        .name("check-dump".into())
        .spawn(move || {
            static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
            write_check_dump(&load, fingerprint, &state);
            super::release_free_memory();
        });
    if let Err(e) = spawned {
        log_line(&format!("Unable to write the checker data: {e}"));
    }
}

fn write_check_dump(load: &Loader, fingerprint: u64, state: &Snapshot) {
    let path = dump::path(dump::CHECK_DATA_FILE);
    let Some(config) = load() else {
        return log_line(&format!(
            "Not writing {}: the configuration cannot be read",
            path.display()
        ));
    };
    if dump::check::fingerprint(&config) != fingerprint {
        return log_line(&format!(
            "Not writing {}: the configuration changed since it was loaded (reload to apply it)",
            path.display()
        ));
    }
    let specs = spec::build(
        &config,
        SpecOptions {
            script_user: RunAs::from_global(&config.global),
        },
    )
    .0;
    let track_values = config
        .vrrp
        .track_files
        .iter()
        .filter_map(|t| Some((t.name.clone(), driver::read_track_file(t.file.as_deref()?))))
        .collect();
    let global = dump::GlobalInfo::from_config(&config.global);
    let facts = dump::check::CheckFacts {
        global: &global,
        config: &config,
        specs: &specs,
        state,
        track_values: &track_values,
    };
    if let Err(e) = dump::write_with(&path, |w| dump::check::write(w, &facts)) {
        log_line(&format!("Unable to write {}: {e}", path.display()));
    }
}

/// The checkers of a configuration, with their warnings logged.
fn build_specs(config: &Config, run_as: RunAs) -> Vec<spec::CheckSpec> {
    let (specs, warnings) = spec::build(
        config,
        SpecOptions {
            script_user: run_as,
        },
    );
    for w in warnings {
        log_line(&w);
    }
    specs
}

/// The `lvs_notify_fifo` and `notify_fifo` of a configuration, opened.
fn open_fifos(g: &GlobalDefs, run_as: RunAs, notifier: &Notifier) -> Vec<NotifyFifo> {
    let mut fifos = Vec::new();
    for f in [&g.notify_fifo, &g.lvs_notify_fifo] {
        if let Some((path, _, _)) = &f.path {
            let script = f
                .script
                .as_ref()
                .and_then(|s| ScriptCommand::from_script(s, run_as).ok());
            match NotifyFifo::open(path, script.as_ref(), notifier) {
                Ok(fifo) => fifos.push(fifo),
                Err(e) => log_line(&e.to_string()),
            }
        }
    }
    fifos
}

async fn run_async(config: Config, release: bool, reload: Loader) -> u8 {
    use tokio::signal::unix::{signal, SignalKind};
    let g = &config.global;
    let run_as = RunAs::from_global(g);
    let specs = build_specs(&config, run_as);
    log_line("Initializing ipvs");
    let router_id = g.router_id.clone().unwrap_or_else(crate::sys::nodename);
    let (rs_smtp_alert, vs_smtp_alert) = alert::checker_defaults(g);
    let pool = Pool::new(
        &config.lvs,
        PoolOptions {
            router_id,
            rs_smtp_alert,
            vs_smtp_alert,
            no_checker_emails: g.no_checker_emails,
            rs_init_notifies: g.rs_init_notifies,
        },
    );
    let mut mailer = Mailer::new(alert::smtp_config(g), super::log::log_mail);
    let mut ipvs = Ipvs {
        client: None,
        kernel: None,
        reported: false,
        flush_at_start: g.lvs_flush,
        timeouts: mapping::timeouts(&g.lvs_timeouts),
        original: None,
    };
    let notifier = Notifier::new();
    let mut fifos = open_fifos(&config.global, run_as, &notifier);
    // Of the configuration only this is needed from now on; the rest goes
    // before the checker tasks take their memory.
    let mut layout = Layout::new(&config.lvs);
    let mut flush_on_stop = config.global.lvs_flush_on_stop;
    let mut suspension = Suspension::new(HaSuspend::new(&config.lvs), &config.global).await;
    // What a dump checks the configuration it reads against.
    let mut fingerprint = dump::check::fingerprint(&config);
    drop(config);
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let (handle, fut) = driver::start(specs, pool, &suspension.told, tx);
    super::release_free_memory();
    let mut driver = std::pin::pin!(fut);
    let (Ok(mut term), Ok(mut int), Ok(mut hup), Ok(mut usr1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
    ) else {
        log_line("Unable to install signal handlers");
        return 1;
    };
    let mut bfd_events = crate::daemon::bfd::event_reader();
    crate::daemon::process::child_ready();
    // What a reload is switching to, until Action::Reloaded.
    let mut pending: Option<(Layout, GlobalDefs)> = None;
    // The destinations the pool wants, kept from its actions.
    let mut dests = Dests::new();
    let mut dirty = true;
    let mut retry = tokio::time::interval(IPVS_RETRY);
    loop {
        tokio::select! {
            _ = term.recv() => handle.stop(),
            _ = int.recv() => handle.stop(),
            _ = usr1.recv() => {
                log_line(&format!(
                    "Printing checker data for process({}) on signal",
                    std::process::id()
                ));
                // The driver answers once it is done with what was asked
                // before (a reload): the snapshot is of `fingerprint`'s.
                let (tx, rx) = oneshot::channel();
                handle.snapshot(tx);
                let (load, fp) = (reload.clone(), fingerprint);
                tokio::spawn(async move {
                    if let Ok(state) = rx.await {
                        spawn_check_dump(load, fp, state);
                    }
                });
            }
            _ = hup.recv() => match reload() {
                Some(new) => {
                    fingerprint = dump::check::fingerprint(&new);
                    let specs = build_specs(&new, run_as);
                    log_line("Reinitializing ipvs");
                    let suspended = suspension.reconfigure(&new.lvs).await;
                    pending = Some((Layout::new(&new.lvs), new.global));
                    handle.reload(new.lvs, specs, suspended);
                }
                None => crate::daemon::process::child_ready(),
            },
            e = suspension.next_event() => {
                if let Some(set) = suspension.on_event(e).await {
                    handle.set_suspended(set);
                }
            }
            evs = crate::daemon::bfd::next_events(&mut bfd_events) => {
                for ev in evs {
                    if crate::daemon::log::detail() {
                        crate::daemon::bfd::log_received(&ev);
                    }
                    handle.bfd_event(&ev.name, ev.up);
                }
            }
            _ = retry.tick(), if dirty => {
                dirty = !ipvs.sync(&layout, &dests, None);
            }
            Some(a) = rx.recv() => {
                let mut batch = vec![a];
                while let Ok(a) = rx.try_recv() {
                    batch.push(a);
                }
                let mut touched = BTreeSet::new();
                let mut reloaded = false;
                for a in batch {
                    if let Action::Reloaded(new_dests) = a {
                        if let Some((new_layout, global)) = pending.take() {
                            // Services no longer configured leave IPVS.
                            let old = desired(&layout, &dests);
                            layout = new_layout;
                            dests = new_dests;
                            let gone = gone_services(old, &desired(&layout, &dests));
                            if ipvs.client.is_some() && !gone.services.is_empty() {
                                ipvs.teardown(&gone, None);
                            }
                            // A reload also repairs what was changed by hand.
                            ipvs.kernel = None;
                            drop(std::mem::take(&mut fifos));
                            fifos = open_fifos(&global, run_as, &notifier);
                            mailer.reconfigure(alert::smtp_config(&global));
                            flush_on_stop = global.lvs_flush_on_stop;
                            ipvs.set_timeouts(mapping::timeouts(&global.lvs_timeouts));
                            reloaded = true;
                        }
                        continue;
                    }
                    touched.extend(apply(a, &mut dests, &notifier, run_as, &mut fifos, &mut mailer));
                }
                if reloaded {
                    dirty = !ipvs.sync(&layout, &dests, None);
                    super::release_free_memory();
                    crate::daemon::process::child_ready();
                } else if !touched.is_empty() {
                    dirty = !ipvs.sync(&layout, &dests, Some(&touched));
                }
            }
            _ = &mut driver => break,
        }
    }
    while let Ok(a) = rx.try_recv() {
        apply(a, &mut dests, &notifier, run_as, &mut fifos, &mut mailer);
    }
    if release {
        ipvs.teardown(&desired(&layout, &dests), flush_on_stop);
    }
    ipvs.set_timeouts(None);
    drop(fifos);
    notifier.shutdown(Duration::from_secs(1)).await;
    mailer.shutdown(alert::STOP_GRACE).await;
    0
}

/// `ha_suspend` with its netlink watch of the local addresses, opened
/// only when a virtual server uses it (as keepalived's
/// `using_ha_suspend`).
struct Suspension {
    ha: HaSuspend,
    /// `lvs_netlink_cmd_rcv_bufs` and `lvs_netlink_monitor_rcv_bufs`.
    bufs: (RcvBuf, RcvBuf),
    watch: Option<(Netlink, mpsc::UnboundedReceiver<NetEvent>)>,
    /// What the driver was last told.
    told: BTreeSet<usize>,
}

impl Suspension {
    async fn new(ha: HaSuspend, g: &crate::config::global::GlobalDefs) -> Self {
        let mut s = Suspension {
            ha,
            bufs: (
                RcvBuf::of(g, "lvs_netlink_cmd_rcv_bufs"),
                RcvBuf::of(g, "lvs_netlink_monitor_rcv_bufs"),
            ),
            watch: None,
            told: BTreeSet::new(),
        };
        s.ensure_watch().await;
        s.told = s.suspended();
        s
    }

    /// Opens the watch, then reads the addresses, when some virtual server
    /// needs them and the watch is not open yet.
    async fn ensure_watch(&mut self) {
        let monitor = super::addr_monitor::enabled();
        if (self.ha.is_empty() && !monitor) || self.watch.is_some() {
            return;
        }
        let opened = match Netlink::with_rcvbuf(Some(self.bufs.0)) {
            Ok(nl) => nl
                .watch_with_rcvbuf(Some(self.bufs.1))
                .await
                .map(|rx| (nl, rx)),
            Err(e) => Err(e),
        };
        match opened {
            Ok(w) => {
                // keepalived's kernel_netlink_init, which ha_suspend (or
                // `-a`) opens; it names its sockets only with -D.
                log_detail("Registering Kernel netlink reflector");
                log_detail("Registering Kernel netlink command channel");
                self.watch = Some(w);
                self.resync(monitor).await;
            }
            Err(e) => log_line(&format!(
                "ha_suspend: cannot watch the local addresses ({e}) - checkers not suspended"
            )),
        }
    }

    /// Reads the local addresses again; `log`: each is logged as added
    /// (`-a` at start, as keepalived's first lookup).
    async fn resync(&mut self, log: bool) {
        let Some((nl, _)) = &self.watch else { return };
        match nl.addresses(None).await {
            Ok(a) => {
                if log {
                    for a in &a {
                        log_line(&super::addr_monitor::checker_line(a, true));
                    }
                }
                self.ha.reset(a.into_iter().map(|a| (a.ifindex, a.addr)))
            }
            Err(e) => log_line(&format!(
                "ha_suspend: cannot read the local addresses ({e})"
            )),
        }
    }

    /// The virtual servers to suspend; none when addresses cannot be
    /// watched (checking on is safer than never checking).
    fn suspended(&self) -> BTreeSet<usize> {
        if self.watch.is_some() {
            self.ha.suspended()
        } else {
            BTreeSet::new()
        }
    }

    async fn next_event(&mut self) -> Option<NetEvent> {
        match &mut self.watch {
            Some((_, rx)) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Takes in one netlink event; the new set to suspend if it changed.
    async fn on_event(&mut self, e: Option<NetEvent>) -> Option<BTreeSet<usize>> {
        let added = matches!(e, Some(NetEvent::AddressAdded(_)));
        match e {
            Some(NetEvent::AddressAdded(a)) | Some(NetEvent::AddressRemoved(a)) => {
                let line = super::addr_monitor::checker_line(&a, added);
                if super::addr_monitor::enabled() {
                    if !a.is_ours() {
                        log_line(&line);
                    }
                } else if self.ha.is_watched(a.addr) {
                    log_detail(&line);
                }
                self.ha.update(a.ifindex, a.addr, added);
            }
            Some(NetEvent::Overrun) => self.resync(false).await,
            Some(_) => return None,
            None => {
                log_line("ha_suspend: the address watch stopped - checkers not suspended");
                self.watch = None;
            }
        }
        self.changed()
    }

    /// The set to suspend, if it differs from what the driver was told.
    fn changed(&mut self) -> Option<BTreeSet<usize>> {
        let now = self.suspended();
        (now != self.told).then(|| {
            self.told = now.clone();
            now
        })
    }

    /// A reload's virtual servers, the addresses known so far kept.
    async fn reconfigure(&mut self, lvs: &crate::config::lvs::LvsConfig) -> BTreeSet<usize> {
        self.ha.reconfigure(lvs);
        self.ensure_watch().await;
        self.told = self.suspended();
        self.told.clone()
    }
}

type Dests = std::collections::BTreeMap<(usize, Server), u32>;

/// The wanted IPVS state: the configuration's services with the
/// destinations and weights the pool asked for.
fn desired(layout: &Layout, dests: &Dests) -> Desired {
    // The quorum decisions are the pool's, already in `dests`.
    layout.desired(|i| (wanted_dests(layout, dests, i), true))
}

/// The destinations the pool wants in virtual server `i`.
fn wanted_dests(layout: &Layout, dests: &Dests, i: usize) -> Vec<Dest> {
    dests
        .range((i, Server::Real(0))..=(i, Server::Sorry))
        .filter_map(|(&(_, server), &w)| {
            let rs = match server {
                Server::Real(r) => Some(r),
                Server::Sorry => None,
            };
            layout.dest(i, rs, w)
        })
        .collect()
}

/// The services of `old` that `new` does not have.
fn gone_services(mut old: Desired, new: &Desired) -> Desired {
    let kept: std::collections::HashSet<_> = new.services.iter().map(|n| n.service.key).collect();
    old.services.retain(|s| !kept.contains(&s.service.key));
    old
}

/// Carries out one pool action; the virtual server whose IPVS view
/// changed, if any.
fn apply(
    a: Action,
    dests: &mut Dests,
    notifier: &Notifier,
    run_as: RunAs,
    fifos: &mut [NotifyFifo],
    mailer: &mut Mailer,
) -> Option<usize> {
    match a {
        Action::Log(m) => log_line(&m),
        Action::AddDest { vs, server, weight } | Action::EditDest { vs, server, weight } => {
            dests.insert((vs, server), weight);
            return Some(vs);
        }
        Action::DelDest { vs, server } => {
            dests.remove(&(vs, server));
            return Some(vs);
        }
        Action::Script(s) => {
            let r = ScriptCommand::from_script(&s, run_as).and_then(|c| notifier.spawn_notify(&c));
            if let Err(e) = r {
                log_line(&format!("{}: {e}", s.cmd));
            }
        }
        Action::Fifo(line) => {
            // No NUL after the newline: keepalived 2.2.7 writes none on
            // lvs_notify_fifo (VM test), unlike reference §4.10 says.
            for f in fifos.iter_mut() {
                if let Err(e) = f.write_line(line.as_bytes()) {
                    log_line(&format!("Write to notify FIFO {}: {e}", f.path().display()));
                }
            }
        }
        Action::Reloaded(new) => *dests = new,
        Action::Smtp { subject, body } => mailer.send(subject, body),
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    /// The pool's view of one virtual server becomes its service's
    /// destinations, in configuration order with the sorry server last;
    /// the other virtual servers' entries stay out of it.
    #[test]
    fn desired_takes_each_virtual_server_s_own_destinations() {
        let cfg = load_str(
            "t.conf",
            "virtual_server 10.0.0.1 80 {\n protocol TCP\n sorry_server 10.0.9.9 80\n \
             real_server 10.0.1.1 80 {\n }\n real_server 10.0.1.2 80 {\n }\n}\n\
             virtual_server 10.0.0.2 80 {\n protocol TCP\n real_server 10.0.2.1 80 {\n }\n}\n",
            ReaderOptions::default(),
        )
        .config;
        let layout = Layout::new(&cfg.lvs);
        let dests: Dests = [
            ((0, Server::Sorry), 1),
            ((0, Server::Real(1)), 5),
            ((0, Server::Real(0)), 0),
            ((1, Server::Real(0)), 2),
        ]
        .into_iter()
        .collect();
        let d = desired(&layout, &dests);
        let got: Vec<Vec<String>> = d
            .services
            .iter()
            .map(|s| {
                s.dests
                    .iter()
                    .map(|d| format!("{} {}", d.addr, d.weight))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec!["10.0.1.1 0", "10.0.1.2 5", "10.0.9.9 1"],
                vec!["10.0.2.1 2"]
            ]
        );
    }
}

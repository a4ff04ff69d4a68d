//! The VRRP driver: runs the sans-IO [`Router`] on a tokio current-thread
//! runtime with real sockets, netlink and scripts.
//!
//! One raw socket pair per (interface, family) receives and sends adverts;
//! a receive task per socket forwards packets into one channel. The main
//! loop waits on the core's next deadline, received adverts, netlink link
//! events, `vrrp_script` results and SIGTERM/SIGINT, and executes the
//! core's actions. Scripts always run in their own processes and tasks, so
//! nothing they do can delay an advert.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config::global::Fifo;
use crate::config::vrrp::{VrrpInstance, VrrpScript};
use crate::config::Config;
use crate::daemon::dump;
pub use crate::daemon::log::log_line;
use crate::daemon::netlink::{AddrSpec, Link, NetEvent, Netlink, RcvBuf};
use crate::daemon::plan::{self, InstancePlan};
use crate::daemon::route::{RouteSpec, RuleSpec};
use crate::daemon::socket::{PacketSocket, RxAdvert, VrrpSocket};
use crate::daemon::syncd::LvsSync;
use crate::daemon::track_file;
use crate::notify::alert::{self, VrrpAlerts};
use crate::notify::event::dispatch;
use crate::notify::exec::{Notifier, RunAs, ScriptCommand};
use crate::notify::fifo::NotifyFifo;
use crate::notify::mail::Mailer;
use crate::notify::track::{ScriptTracker, TrackConfig, TrackEvent, TrackRunner, TrackStatus};
use crate::vrrp::action::DropReason;
use crate::vrrp::action::{Action, NotifyState, Target};
use crate::vrrp::garp::{arp_frame, na_frame};
use crate::vrrp::instance::{AuthConfig, Received, State};
use crate::vrrp::ip::{ah_icv, ah_packet, AhRepr, Ipv4Repr, IPPROTO_AH};
use crate::vrrp::log_limit::LogLimit;
use crate::vrrp::router::{InstanceId, Router, TrackRef, TrackerId, TrackerValue};
use crate::vrrp::time::Instant;
use crate::vrrp::types::{Family, IfIndex};

mod build;
mod dumps;
mod firewall;
mod processes;
mod receive;

use dumps::DumpKind;
mod waiting;

/// How the driver was asked to run.
#[derive(Debug, Clone, Default)]
pub struct DriverOptions {
    /// `-V`: leave VIPs in place at stop.
    pub dont_release_vips: bool,
    /// `-D`: also log keepalived's detail lines.
    pub detail: bool,
}

/// One running instance: its plan and the interface facts.
struct Inst {
    plan: InstancePlan,
    /// The instance's interface (tracked for FAULT).
    link: Link,
    /// Where its VIPs live and its gratuitous ARPs go: the VMAC if any.
    vip_link: Link,
    sock: Arc<VrrpSocket>,
    notify: Notify,
    /// AH sequence number and IP id of the last advert sent. The sequence
    /// starts from the wall clock, not 0: keepalived drops AH adverts whose
    /// sequence is not above the last it saw ("already processed"), which
    /// would silence a restarted router (keepalived's own restart included).
    ah_seq: u32,
    ip_id: u16,
}

/// Notify scripts, resolved: only those configured (most instances have
/// none, and there is one of these per instance).
#[derive(Default)]
struct Notify {
    /// By the state they are for; `None` for the generic `notify`.
    scripts: Vec<(Option<NotifyState>, ScriptCommand)>,
}

impl Notify {
    fn new(n: &crate::config::vrrp::Notifies, run_as: RunAs) -> Notify {
        let all = [
            (Some(NotifyState::Master), &n.master),
            (Some(NotifyState::Backup), &n.backup),
            (Some(NotifyState::Fault), &n.fault),
            (Some(NotifyState::Stop), &n.stop),
            (None, &n.generic),
            (Some(NotifyState::MasterRxLowerPri), &n.master_rx_lower_pri),
            (Some(NotifyState::Deleted), &n.deleted),
        ];
        let scripts = (all.into_iter())
            .filter_map(|(k, s)| Some((k, s.as_deref()?)))
            .filter_map(|(k, s)| match ScriptCommand::from_script(s, run_as) {
                Ok(c) => Some((k, c)),
                Err(e) => {
                    log_line(&format!("{}: {e}", s.cmd));
                    None
                }
            })
            .collect();
        Notify { scripts }
    }

    /// The script for `s` (`None`: the generic one).
    fn script(&self, s: Option<NotifyState>) -> Option<&ScriptCommand> {
        self.scripts.iter().find(|(k, _)| *k == s).map(|(_, c)| c)
    }
}

/// A socket's key: interface index, IPv6, IPsec AH.
type SockKey = (u32, bool, bool);

/// What outlives one configuration: a reload reuses what the new
/// configuration still needs (so a socket, a VMAC or a running
/// `vrrp_script` is not recreated) and releases the rest.
#[derive(Default)]
struct Resources {
    sockets: HashMap<SockKey, Arc<VrrpSocket>>,
    /// One receive task per socket.
    rx_tasks: HashMap<SockKey, tokio::task::JoinHandle<()>>,
    /// VMACs we created: name → ifindex.
    vmacs: HashMap<String, u32>,
    sysctls: crate::daemon::netlink::Sysctls,
    /// Running `vrrp_script`s by name, with the definition they run.
    scripts: HashMap<String, (VrrpScript, TrackRunner)>,
    file_watch: Option<tokio::task::AbortHandle>,
    /// The FIFOs and the definitions they were opened from.
    fifos: Vec<NotifyFifo>,
    fifo_defs: Vec<Fifo>,
    statics: plan::StaticPlan,
    /// The process connector, once a configuration tracks processes.
    procs: Option<processes::ProcMonitor>,
    /// A configuration was built (the next build is a reload's).
    built_once: bool,
}

/// What one configuration makes, built before the running one is
/// touched so that a reload can compare the two.
struct Built {
    cur: Instances,
    watched_files: Vec<(String, PathBuf)>,
    statics: plan::StaticPlan,
    /// Resources this configuration uses.
    used_sockets: Vec<SockKey>,
    /// The receive buffer each socket gets (keepalived's sum over its
    /// instances; 0: the kernel's default).
    rx_bufs: HashMap<SockKey, u64>,
    used_vmacs: Vec<String>,
    /// The VMACs made or found so far, for address VMACs to reuse.
    vmac_links: Vec<Link>,
    /// Interface names by index, for log lines.
    ifnames: HashMap<u32, String>,
    /// Instances waiting for their interface or its address, and the
    /// interface: netlink events for it rebuild the configuration.
    waiting: Vec<(String, String)>,
}

/// Channels the tasks feed the main loop through.
struct Channels {
    rx: mpsc::Sender<RxAdvert>,
    track: mpsc::Sender<TrackEvent>,
    file: mpsc::Sender<track_file::FileEvent>,
    procs: mpsc::Sender<crate::daemon::track_process::MonitorMsg>,
}

/// The instances of one configuration and their trackers, as the core
/// runs them.
#[derive(Default)]
struct Instances {
    router: Router,
    insts: Vec<Inst>,
    by_name: HashMap<String, InstanceId>,
    groups: HashMap<String, Notify>,
    /// Interface trackers: ifindex → tracker.
    if_trackers: HashMap<u32, TrackerId>,
    script_trackers: HashMap<String, TrackerId>,
    file_trackers: HashMap<String, TrackerId>,
    /// `track_bfd` trackers by `bfd_instance` name.
    bfd_trackers: HashMap<String, TrackerId>,
    /// `vrrp_track_process` counting, and a tracker per spec.
    procs: crate::vrrp::track_process::ProcessTracker,
    process_trackers: Vec<TrackerId>,
}

struct Driver {
    nl: Netlink,
    /// The running configuration's instances.
    cur: Instances,
    packet: Option<PacketSocket>,
    notifier: Notifier,
    res: Resources,
    chans: Channels,
    /// SMTP alerts: who mails, and the sender.
    alerts: (VrrpAlerts, Mailer),
    origin: tokio::time::Instant,
    /// `-D`.
    detail: bool,
    /// When each instance last changed state, for the dumps.
    transitions: dump::Transitions,
    /// `lvs_sync_daemon`, following its instance.
    lvs_sync: LvsSync,
    /// Budget of the "too short" lines, which name no instance.
    short_log: LogLimit,
    /// Instances waiting for their interface or address ([`Built::waiting`]).
    waiting: Vec<(String, String)>,
    /// The nftables firewall, when the configuration needs one.
    fw: Option<firewall::Fw>,
}

impl Driver {
    fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_micros() as u64)
    }

    fn owned(&self) -> Vec<AddrSpec> {
        self.cur
            .insts
            .iter()
            .flat_map(|i| i.plan.vips.iter().chain(&i.plan.evips).cloned())
            .collect()
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        // Every state change notifies: only those instances are stamped.
        let mut changed = Vec::new();
        for a in actions {
            match a {
                Action::Log(m) => log_line(&m),
                Action::Detail(m) if self.detail => log_line(&m),
                Action::Detail(_) => {}
                Action::SendAdvert { instance, priority } => {
                    let Some(&id) = self.cur.by_name.get(&instance) else {
                        continue;
                    };
                    let inst = self.cur.router.instance(id);
                    let cfg = inst.config();
                    let dsts: Vec<IpAddr> = if cfg.unicast_peers.is_empty() {
                        vec![self.cur.insts[id].plan.mcast_group]
                    } else {
                        cfg.unicast_peers.clone()
                    };
                    let repr = inst.advert_repr(priority);
                    for dst in dsts {
                        let mut bytes = repr.to_bytes(&inst.checksum_ctx(cfg.primary, dst));
                        if let (AuthConfig::Ah(key), IpAddr::V4(s), IpAddr::V4(d)) =
                            (&cfg.auth, cfg.primary, dst)
                        {
                            // keepalived counts both from 1; the IP id must
                            // be ours (non-zero), as the ICV covers it.
                            let i = &mut self.cur.insts[id];
                            i.ah_seq = i.ah_seq.wrapping_add(1);
                            i.ip_id = i.ip_id.wrapping_add(1).max(1);
                            let ttl = if d.is_multicast() { 255 } else { i.plan.ttl };
                            bytes = ah_packet(s, d, ttl, i.ip_id, i.ah_seq, key, &bytes);
                        }
                        if let Err(e) = self.cur.insts[id].sock.send(&bytes, dst).await {
                            log_line(&format!("({instance}) send advert to {dst}: {e}"));
                        }
                    }
                }
                Action::AddVips { instance } => {
                    if let Some(&id) = self.cur.by_name.get(&instance) {
                        self.set_vips(id, true).await;
                    }
                }
                Action::RemoveVips { instance } => {
                    if let Some(&id) = self.cur.by_name.get(&instance) {
                        self.set_vips(id, false).await;
                    }
                }
                Action::SendGarp { instance, addr } => {
                    let Some(&id) = self.cur.by_name.get(&instance) else {
                        continue;
                    };
                    let Some(pkt) = &self.packet else { continue };
                    let link = &self.cur.insts[id].vip_link;
                    let (r, what) = match addr {
                        IpAddr::V4(a) => (
                            pkt.send(link.index, &arp_frame(link.mac, a)),
                            "gratuitous ARP",
                        ),
                        IpAddr::V6(a) => (
                            pkt.send(link.index, &na_frame(link.mac, a)),
                            "unsolicited Neighbour Advert",
                        ),
                    };
                    match r {
                        Ok(()) if self.detail => {
                            log_line(&format!("Sending {what} on {} for {addr}", link.name))
                        }
                        Ok(()) => {}
                        Err(e) => log_line(&format!("({instance}) {what} for {addr}: {e}")),
                    }
                }
                Action::Notify(mut ev) => {
                    if let (Target::Instance(n), false) = (&ev.target, ev.state.is_priority()) {
                        changed.extend(self.cur.by_name.get(n));
                    }
                    let scripts = match &ev.target {
                        _ if ev.state.is_priority() => None,
                        Target::Instance(n) => self
                            .cur
                            .by_name
                            .get(n)
                            .map(|&id| &self.cur.insts[id].notify),
                        Target::Group(n) => self.cur.groups.get(n),
                    };
                    // keepalived reports an instance a reload deleted as
                    // FAULT unless it has `notify_deleted`.
                    if ev.state == NotifyState::Deleted
                        && scripts.is_none_or(|s| s.script(Some(NotifyState::Deleted)).is_none())
                    {
                        ev.state = NotifyState::Fault;
                    }
                    let (specific, generic) = match scripts {
                        Some(s) => (s.script(Some(ev.state)), s.script(None)),
                        None => (None, None),
                    };
                    let mut fifos: Vec<&mut NotifyFifo> = self.res.fifos.iter_mut().collect();
                    for e in dispatch(&self.notifier, &ev, specific, generic, &mut fifos) {
                        log_line(&e.to_string());
                    }
                    if let Some((subject, body)) = self.alerts.0.mail(&ev) {
                        self.alerts.1.send(subject, body);
                    }
                }
            }
        }
        self.transitions.observe_some(&self.cur.router, changed);
        let cur = &self.cur;
        self.lvs_sync.follow(|name| {
            let &id = cur.by_name.get(name)?;
            Some(cur.router.instance(id).state() == State::Master)
        });
    }

    /// Adds (MASTER) or removes an instance's VIPs, E-VIPs, virtual routes
    /// and virtual rules: addresses first on the way up, last on the way
    /// down, so that routes always have their source and gateway.
    async fn set_vips(&mut self, id: InstanceId, add: bool) {
        if add {
            self.fw_instance(id, true);
        }
        let p = &self.cur.insts[id].plan;
        let (nl, name) = (&self.nl, &p.config.name);
        let detail = |what: &str, n: usize| {
            if n > 0 && self.detail {
                log_line(&format!("({name}) {what}"));
            }
        };
        if add {
            set_addrs(nl, name, p.vips.iter().chain(&p.evips), true).await;
            detail("setting Virtual Routes", p.routes.len());
            set_routes(nl, name, &p.routes, true).await;
            detail("setting Virtual Rules", p.rules.len());
            set_rules(nl, name, &p.rules, true).await;
        } else {
            detail("removing Virtual Rules", p.rules.len());
            set_rules(nl, name, &p.rules, false).await;
            detail("removing Virtual Routes", p.routes.len());
            set_routes(nl, name, &p.routes, false).await;
            set_addrs(nl, name, p.vips.iter().chain(&p.evips), false).await;
            self.fw_instance(id, false);
        }
    }

    /// An address went away: a MASTER that holds it as a tracked VIP steps
    /// down. Our own removals arrive after the instance left MASTER, so
    /// they are ignored here.
    /// A BFD session went up or down (keepalived's `vrrp_handle_bfd_event`).
    async fn bfd_event(&mut self, ev: &crate::bfd::event::Event) {
        if self.detail {
            crate::daemon::bfd::log_received(ev);
        }
        let Some(&t) = self.cur.bfd_trackers.get(&ev.name) else {
            return;
        };
        let v = TrackerValue::Bfd(ev.up);
        if self.cur.router.tracker_value(t) == v {
            return;
        }
        for id in self.cur.router.instances_tracking(t) {
            log_line(&format!(
                "VRRP_Instance({}) Tracked BFD instance {} is {}",
                self.cur.router.instance(id).config().name,
                ev.name,
                if ev.up { "UP" } else { "DOWN" }
            ));
        }
        let mut out = Vec::new();
        let now = self.now();
        self.cur.router.set_tracker(now, t, v, &mut out);
        self.execute(out).await;
    }

    async fn address_removed(&mut self, a: &crate::daemon::netlink::Addr) {
        let now = self.now();
        let mut out = Vec::new();
        for id in 0..self.cur.insts.len() {
            let lost = self.cur.router.instance(id).state() == State::Master
                && self.cur.insts[id].plan.tracked.iter().any(|s| s.matches(a));
            // With `-a` the reflector has logged it already.
            if lost && !crate::daemon::addr_monitor::enabled() {
                let name = self.ifname(a.ifindex);
                log_line(&crate::daemon::addr_monitor::vrrp_line(a, &name, false));
            }
            if lost {
                self.cur.router.address_lost(now, id, &mut out);
            }
        }
        self.execute(out).await;
    }

    fn ifname(&self, ifindex: u32) -> String {
        self.cur
            .insts
            .iter()
            .find(|i| i.link.index == ifindex)
            .map_or_else(|| ifindex.to_string(), |i| i.link.name.clone())
    }
}

/// Adds or removes addresses; failures are logged under `who`.
async fn set_addrs<'a>(
    nl: &Netlink,
    who: &str,
    addrs: impl Iterator<Item = &'a AddrSpec>,
    add: bool,
) {
    for a in addrs {
        let r = if add {
            nl.add_address(a).await
        } else {
            nl.del_address(a).await
        };
        if let Err(e) = r {
            log_line(&format!("({who}) {}/{}: {e}", a.addr, a.prefix_len));
        }
    }
}

/// Adds or removes routes; failures are logged under `who`.
async fn set_routes(nl: &Netlink, who: &str, routes: &[RouteSpec], add: bool) {
    for r in routes {
        let res = if add {
            nl.add_route(r).await
        } else {
            nl.del_route(r).await
        };
        if let Err(e) = res {
            log_line(&format!("({who}) route {}: {e}", r.display()));
        }
    }
}

/// Adds or removes rules; failures are logged under `who`.
async fn set_rules(nl: &Netlink, who: &str, rules: &[RuleSpec], add: bool) {
    for r in rules {
        let res = if add {
            nl.add_rule(r).await
        } else {
            nl.del_rule(r).await
        };
        if let Err(e) = res {
            log_line(&format!("({who}) rule {}: {e}", r.display()));
        }
    }
}

/// Runs the VRRP instances of `config` until SIGTERM/SIGINT; on SIGHUP
/// `reload` reads the configuration again (`None`: it has errors, and the
/// running one is kept). Returns the process exit code.
pub fn run(config: Config, opts: &DriverOptions, reload: &dyn Fn() -> Option<Config>) -> u8 {
    let Some(rt) = super::runtime() else {
        return 1;
    };
    rt.block_on(run_async(config, opts, reload))
}

/// The `script_user` scripts run as.
fn run_as(config: &Config) -> RunAs {
    RunAs::from_global(&config.global)
}

impl Driver {
    /// Makes `b` the running configuration: instances a reload removed
    /// resign and go, kept ones carry their state over with no
    /// transition (a MASTER drops the VIPs, routes and rules no longer
    /// configured and adds new ones), new ones start; then what the old
    /// configuration alone used is released.
    async fn switch(&mut self, mut b: Built) {
        self.waiting = std::mem::take(&mut b.waiting);
        let now = self.now();
        let mut out = Vec::new();
        self.cur
            .router
            .delete_instances(|n| b.cur.by_name.contains_key(n), &mut out);
        self.execute(out).await;
        // Kept masters: what their new configuration no longer has goes.
        let mut changed = Vec::new();
        for (name, &new_id) in &b.cur.by_name {
            let Some(&old_id) = self.cur.by_name.get(name) else {
                continue;
            };
            if self.cur.router.instance(old_id).state() != State::Master {
                continue;
            }
            let (o, n) = (&self.cur.insts[old_id].plan, &b.cur.insts[new_id].plan);
            let addrs = |p: &InstancePlan| -> Vec<AddrSpec> {
                p.vips.iter().chain(&p.evips).cloned().collect()
            };
            let (old_addrs, new_addrs) = (addrs(o), addrs(n));
            if old_addrs == new_addrs && o.routes == n.routes && o.rules == n.rules {
                continue;
            }
            set_rules(&self.nl, name, &gone(&o.rules, &n.rules), false).await;
            set_routes(&self.nl, name, &gone(&o.routes, &n.routes), false).await;
            for a in gone(&old_addrs, &new_addrs) {
                log_line(&format!(
                    "({name}) ip address {}/{} dev {}, no longer exist",
                    a.addr,
                    a.prefix_len,
                    b.ifnames.get(&a.ifindex).map_or("?", |s| s.as_str())
                ));
                if let Err(e) = self.nl.del_address(&a).await {
                    log_line(&format!("({name}) {}/{}: {e}", a.addr, a.prefix_len));
                }
            }
            let added = new_addrs.iter().any(|a| !old_addrs.contains(a));
            changed.push((new_id, added));
        }
        // Statics: the old ones not configured any more go, new ones come.
        let old = std::mem::take(&mut self.res.statics);
        let st = &b.statics;
        set_rules(&self.nl, "static", &gone(&old.rules, &st.rules), false).await;
        set_routes(&self.nl, "static", &gone(&old.routes, &st.routes), false).await;
        set_addrs(
            &self.nl,
            "static",
            gone(&old.addrs, &st.addrs).iter(),
            false,
        )
        .await;
        set_addrs(&self.nl, "static", b.statics.addrs.iter(), true).await;
        set_routes(&self.nl, "static", &b.statics.routes, true).await;
        set_rules(&self.nl, "static", &b.statics.rules, true).await;
        self.res.statics = std::mem::take(&mut b.statics);

        // The new configuration runs.
        let old = std::mem::replace(&mut self.cur, b.cur);
        let mut out = Vec::new();
        self.cur.router.take_over(old.router, now, &mut out);
        self.transitions.observe(&self.cur.router);
        self.execute(out).await;
        let mut out = Vec::new();
        for (id, added) in changed {
            if self.cur.router.instance(id).state() == State::Master {
                if self.detail {
                    log_line(&format!(
                        "({}) setting VIPs.",
                        self.cur.insts[id].plan.config.name
                    ));
                }
                self.set_vips(id, true).await;
                if added {
                    self.cur.router.announce(now, id, &mut out);
                }
            }
        }
        self.execute(out).await;
        self.fw_reconcile();

        // Release what only the old configuration used.
        let used = &b.used_sockets;
        self.res.sockets.retain(|k, _| used.contains(k));
        self.res.rx_tasks.retain(|k, t| {
            let keep = used.contains(k);
            if !keep {
                t.abort();
            }
            keep
        });
        for (k, s) in &self.res.sockets {
            if !self.res.rx_tasks.contains_key(k) {
                let (s, tx) = (s.clone(), self.chans.rx.clone());
                self.res
                    .rx_tasks
                    .insert(*k, tokio::spawn(receive::receive(s, tx)));
            }
        }
        let gone: Vec<(String, u32)> = self
            .res
            .vmacs
            .iter()
            .filter(|(n, _)| !b.used_vmacs.contains(n))
            .map(|(n, &i)| (n.clone(), i))
            .collect();
        for (name, idx) in gone {
            self.res.vmacs.remove(&name);
            if let Some(fw) = &mut self.fw {
                fw.vmac_down(idx);
            }
            if let Err(e) = self.nl.delete_link(idx).await {
                log_line(&format!("Netlink: deleting VMAC {name}: {e}"));
            }
        }
        let scripts = &self.cur.script_trackers;
        self.res.scripts.retain(|name, (_, runner)| {
            let keep = scripts.contains_key(name);
            if !keep {
                runner.stop();
            }
            keep
        });
        if let Some(w) = self.res.file_watch.take() {
            w.abort();
        }
        if !b.watched_files.is_empty() {
            match track_file::watch(b.watched_files, self.chans.file.clone()) {
                Ok(w) => self.res.file_watch = Some(w),
                Err(e) => log_line(&format!("Unable to watch track files: {e}")),
            }
        }
    }

    /// The notify FIFOs of `config`; kept open over a reload when their
    /// definitions did not change (keepalived reopens them, which ends a
    /// reader that stops at EOF).
    fn open_fifos(&mut self, config: &Config) {
        let g = &config.global;
        let defs = vec![g.notify_fifo.clone(), g.vrrp_notify_fifo.clone()];
        if defs == self.res.fifo_defs {
            return;
        }
        self.res.fifos.clear();
        let run_as = run_as(config);
        for f in &defs {
            if let Some((path, _, _)) = &f.path {
                let script = f
                    .script
                    .as_ref()
                    .and_then(|s| ScriptCommand::from_script(s, run_as).ok());
                match NotifyFifo::open(path, script.as_ref(), &self.notifier) {
                    Ok(fifo) => self.res.fifos.push(fifo),
                    Err(e) => log_line(&e.to_string()),
                }
            }
        }
        self.res.fifo_defs = defs;
    }

    /// SIGHUP: the new configuration replaces the running one.
    async fn reload(&mut self, config: &Config) {
        log_line("Reloading");
        self.open_fifos(config);
        self.lvs_sync.configure(config);
        self.alerts.0.update(config);
        self.alerts
            .1
            .reconfigure(alert::smtp_config(&config.global));
        let b = self.build(config).await;
        if b.cur.insts.is_empty() && b.waiting.is_empty() && !config.vrrp.instances.is_empty() {
            log_line("No VRRP instance of the new configuration could be started - keeping the running ones");
            return;
        }
        self.switch(b).await;
    }

    /// Stop: priority-0 adverts, VIPs released (unless `-V`), STOP
    /// notifies, statics and VMACs removed, sysctls restored.
    async fn stop(&mut self, release_vips: bool) {
        self.lvs_sync.stop();
        if let Some(p) = self.res.procs.take() {
            p.stop();
        }
        for (_, r) in self.res.scripts.values() {
            r.stop();
        }
        let mut out = Vec::new();
        let now = self.now();
        self.cur.router.stop(now, release_vips, &mut out);
        self.execute(out).await;
        if release_vips {
            let owned = self.owned();
            if let Err(e) = self.nl.reconcile(&[], &owned).await {
                log_line(&format!("Netlink: removing VIPs: {e}"));
            }
            let st = std::mem::take(&mut self.res.statics);
            set_rules(&self.nl, "static", &st.rules, false).await;
            set_routes(&self.nl, "static", &st.routes, false).await;
            set_addrs(&self.nl, "static", st.addrs.iter(), false).await;
        }
        for (_, t) in self.res.rx_tasks.drain() {
            t.abort();
        }
        self.remove_vmacs().await;
        if let Some(fw) = &mut self.fw {
            fw.stop();
        }
    }

    /// Deletes the VMACs we created and puts the sysctls back.
    async fn remove_vmacs(&mut self) {
        for (name, idx) in self.res.vmacs.drain() {
            if let Some(fw) = &mut self.fw {
                fw.vmac_down(idx);
            }
            if let Err(e) = self.nl.delete_link(idx).await {
                log_line(&format!("Netlink: deleting VMAC {name}: {e}"));
            }
        }
        if let Err(e) = self.res.sysctls.restore() {
            log_line(&format!("Restoring sysctls: {e}"));
        }
    }
}

/// A `vrrp_script`'s status as a tracker value.
fn script_value(s: TrackStatus) -> TrackerValue {
    match s {
        TrackStatus::Good => TrackerValue::Up(true),
        TrackStatus::Bad => TrackerValue::Up(false),
        TrackStatus::Init => TrackerValue::Pending,
    }
}

/// What `old` has and `new` has not: what a reload removes.
fn gone<T: PartialEq + Clone>(old: &[T], new: &[T]) -> Vec<T> {
    old.iter().filter(|x| !new.contains(x)).cloned().collect()
}

async fn run_async(kept: Config, opts: &DriverOptions, reload: &dyn Fn() -> Option<Config>) -> u8 {
    let config = &kept;
    dump::GlobalInfo::prepare(&config.global);
    let g = &config.global;
    let nl = match Netlink::with_rcvbuf(Some(RcvBuf::of(g, "vrrp_netlink_cmd_rcv_bufs"))) {
        Ok(n) => n,
        Err(e) => {
            log_line(&format!("Netlink: {e}"));
            return 1;
        }
    };
    // Subscribe first, so that no link change after the snapshot is missed.
    let monitor_buf = RcvBuf::of(g, "vrrp_netlink_monitor_rcv_bufs");
    let mut net = match nl.watch_with_rcvbuf(Some(monitor_buf)).await {
        Ok(w) => Some(w),
        Err(e) => {
            log_line(&format!("Netlink: unable to watch links: {e}"));
            None
        }
    };
    // `-a`: the addresses present are logged before the instances start.
    let mut monitor = crate::daemon::addr_monitor::VrrpMonitor::start(&nl).await;
    let (rx_tx, mut rx_rx) = mpsc::channel::<RxAdvert>(256);
    let (track_tx, mut track_rx) = mpsc::channel::<TrackEvent>(64);
    let (file_tx, mut file_rx) = mpsc::channel::<track_file::FileEvent>(64);
    let (procs_tx, mut procs_rx) = mpsc::channel(1024);
    let packet = match PacketSocket::open() {
        Ok(p) => Some(p),
        Err(e) => {
            log_line(&format!("Unable to open the gratuitous ARP socket: {e}"));
            None
        }
    };
    let mut drv = Driver {
        nl,
        cur: Instances::default(),
        packet,
        notifier: Notifier::new(),
        res: Resources::default(),
        chans: Channels {
            rx: rx_tx,
            track: track_tx,
            file: file_tx,
            procs: procs_tx,
        },
        alerts: (
            VrrpAlerts::new(config),
            Mailer::new(
                alert::smtp_config(&config.global),
                crate::daemon::log::log_mail,
            ),
        ),
        origin: tokio::time::Instant::now(),
        detail: opts.detail,
        transitions: dump::Transitions::default(),
        lvs_sync: LvsSync::default(),
        short_log: LogLimit::default(),
        waiting: Vec::new(),
        fw: firewall::Fw::open(config),
    };
    drv.lvs_sync.configure(config);
    drv.open_fifos(config);
    let mut b = drv.build(config).await;
    if let Some(d) = config.global.vrrp_startup_delay {
        log_line(&format!(
            "Delaying startup for {} seconds",
            crate::daemon::dump::g_format(d.as_secs_f64())
        ));
        b.cur.router.delay_start(drv.now() + d);
    }
    if b.cur.insts.is_empty() && b.waiting.is_empty() {
        log_line("No VRRP instance could be started");
        drv.remove_vmacs().await;
        if let Some(fw) = &mut drv.fw {
            fw.stop();
        }
        return 1;
    }
    // No stale VIP, route or rule survives a restart.
    let owned: Vec<AddrSpec> = b
        .cur
        .insts
        .iter()
        .flat_map(|i| i.plan.vips.iter().chain(&i.plan.evips).cloned())
        .collect();
    if let Err(e) = drv.nl.reconcile(&[], &owned).await {
        log_line(&format!("Netlink: removing stale VIPs: {e}"));
    }
    for i in &b.cur.insts {
        let p = &i.plan;
        set_rules(&drv.nl, &p.config.name, &p.rules, false).await;
        set_routes(&drv.nl, &p.config.name, &p.routes, false).await;
    }
    let (mut term, mut int, mut hup, mut usr1, mut usr2, mut json, mut clear) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::from_raw(libc::SIGRTMIN() + 2)),
        signal(SignalKind::from_raw(libc::SIGRTMAX() - 1)),
    ) {
        (Ok(t), Ok(i), Ok(h), Ok(u1), Ok(u2), Ok(j), Ok(c)) => (t, i, h, u1, u2, j, c),
        _ => {
            log_line("Unable to install signal handlers");
            return 1;
        }
    };
    drv.switch(b).await;
    drv.early_process_msgs(&mut procs_rx).await;
    let mut bfd_events = crate::daemon::bfd::event_reader();
    // The configuration is kept once, for dumps and reloads.
    let mut current = kept;
    // Sockets open, instances started: the parent may report READY.
    crate::daemon::process::child_ready();

    // One timer for the loop, moved only when the deadline moves: a new
    // `sleep_until` per event registers a timer per received advert.
    let sleep = tokio::time::sleep_until(drv.origin);
    tokio::pin!(sleep);
    loop {
        let deadline = drv
            .deadline()
            .map(|t| drv.origin + Duration::from_micros(t.0));
        if let Some(d) = deadline.filter(|&d| d != sleep.deadline()) {
            sleep.as_mut().reset(d);
        }
        tokio::select! {
            biased;
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                match reload() {
                    Some(c) => {
                        drv.reload(&c).await;
                        current = c;
                    }
                    None => log_line(
                        "The new configuration has errors - keeping the running one",
                    ),
                }
                crate::daemon::process::child_ready();
            }
            _ = usr1.recv() => drv.dump(&current, DumpKind::Data),
            _ = usr2.recv() => drv.dump(&current, DumpKind::Stats),
            _ = json.recv() => drv.dump(&current, DumpKind::Json),
            _ = clear.recv() => drv.dump(&current, DumpKind::StatsClear),
            _ = &mut sleep, if deadline.is_some() => drv.timeout().await,
            Some(a) = rx_rx.recv() => {
                drv.received(a).await;
                // What else is queued, before the deadline is recomputed.
                while let Ok(a) = rx_rx.try_recv() {
                    drv.received(a).await;
                }
            }
            Some(m) = procs_rx.recv() => drv.process_msg(m).await,
            Some(ev) = async {
                match net.as_mut() {
                    Some(n) => n.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                if let Some(m) = &mut monitor {
                    m.on_event(&drv.nl, &ev).await;
                }
                let (link, up) = match ev {
                    NetEvent::LinkUp(l) => (l, true),
                    NetEvent::LinkDown(l) | NetEvent::LinkDeleted(l) => (l, false),
                    NetEvent::AddressRemoved(a) => {
                        drv.address_removed(&a).await;
                        continue;
                    }
                    NetEvent::AddressAdded(a) => {
                        drv.address_added(&a, &current).await;
                        continue;
                    }
                    _ => continue,
                };
                if up && drv.awaits(&link.name) {
                    drv.rebuild(&current).await;
                }
                if let Some(&t) = drv.cur.if_trackers.get(&link.index) {
                    log_line(&format!(
                        "Netlink reports {} {}",
                        link.name,
                        if up { "up" } else { "down" }
                    ));
                    let mut out = Vec::new();
                    let now = drv.now();
                    drv.cur.router.set_tracker(now, t, TrackerValue::Up(up), &mut out);
                    drv.execute(out).await;
                }
            }
            evs = crate::daemon::bfd::next_events(&mut bfd_events) => {
                for ev in evs {
                    drv.bfd_event(&ev).await;
                }
            }
            Some(ev) = file_rx.recv() => {
                if let Some(&t) = drv.cur.file_trackers.get(&ev.name) {
                    let mut out = Vec::new();
                    let now = drv.now();
                    drv.cur.router.set_tracker(now, t, TrackerValue::File(ev.value), &mut out);
                    drv.execute(out).await;
                }
            }
            Some(ev) = track_rx.recv() => {
                for l in &ev.step.logs {
                    log_line(l);
                }
                if let Some(&t) = drv.cur.script_trackers.get(&ev.name) {
                    let mut out = Vec::new();
                    let now = drv.now();
                    let v = script_value(ev.status);
                    drv.cur.router.set_tracker(now, t, v, &mut out);
                    drv.execute(out).await;
                }
            }
        }
    }
    drv.stop(!opts.dont_release_vips).await;
    drv.alerts.1.shutdown(alert::STOP_GRACE).await;
    0
}

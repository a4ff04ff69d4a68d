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

use crate::config::Config;
use crate::daemon::dump;
pub use crate::daemon::log::log_line;
use crate::daemon::netlink::{AddrSpec, Link, NetEvent, Netlink};
use crate::daemon::plan::{self, InstancePlan};
use crate::daemon::route::{RouteSpec, RuleSpec};
use crate::daemon::socket::{PacketSocket, RxAdvert, VrrpSocket};
use crate::daemon::track_file;
use crate::notify::event::dispatch;
use crate::notify::exec::{Notifier, RunAs, ScriptCommand};
use crate::notify::fifo::NotifyFifo;
use crate::notify::track::{ScriptTracker, TrackConfig, TrackEvent, TrackRunner, TrackStatus};
use crate::vrrp::action::{Action, NotifyState, Target};
use crate::vrrp::garp::{arp_frame, na_frame};
use crate::vrrp::instance::{AuthConfig, Received, State};
use crate::vrrp::ip::{ah_icv, ah_packet, AhRepr, Ipv4Repr, IPPROTO_AH};
use crate::vrrp::router::{InstanceId, Router, TrackRef, TrackerId, TrackerValue};
use crate::vrrp::time::Instant;
use crate::vrrp::types::Family;

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

/// Notify scripts, resolved.
#[derive(Default)]
struct Notify {
    master: Option<ScriptCommand>,
    backup: Option<ScriptCommand>,
    fault: Option<ScriptCommand>,
    stop: Option<ScriptCommand>,
    generic: Option<ScriptCommand>,
    rx_lower: Option<ScriptCommand>,
}

impl Notify {
    fn new(n: &crate::config::vrrp::Notifies, run_as: RunAs) -> Notify {
        let r = |s: &Option<crate::config::script::Script>| {
            s.as_ref()
                .and_then(|s| match ScriptCommand::from_script(s, run_as) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        log_line(&format!("{}: {e}", s.cmd));
                        None
                    }
                })
        };
        Notify {
            master: r(&n.master),
            backup: r(&n.backup),
            fault: r(&n.fault),
            stop: r(&n.stop),
            generic: r(&n.generic),
            rx_lower: r(&n.master_rx_lower_pri),
        }
    }

    fn specific(&self, s: NotifyState) -> Option<&ScriptCommand> {
        match s {
            NotifyState::Master => self.master.as_ref(),
            NotifyState::Backup => self.backup.as_ref(),
            NotifyState::Fault => self.fault.as_ref(),
            NotifyState::Stop => self.stop.as_ref(),
            NotifyState::MasterRxLowerPri => self.rx_lower.as_ref(),
            NotifyState::Deleted => None,
        }
    }
}

struct Driver {
    nl: Netlink,
    router: Router,
    insts: Vec<Inst>,
    by_name: HashMap<String, InstanceId>,
    groups: HashMap<String, Notify>,
    /// Interface trackers: ifindex → tracker.
    if_trackers: HashMap<u32, TrackerId>,
    script_trackers: HashMap<String, TrackerId>,
    packet: Option<PacketSocket>,
    notifier: Notifier,
    fifos: Vec<NotifyFifo>,
    origin: tokio::time::Instant,
    /// `-D`.
    detail: bool,
    /// When each instance last changed state, for the dumps.
    transitions: dump::Transitions,
}

impl Driver {
    fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_micros() as u64)
    }

    fn owned(&self) -> Vec<AddrSpec> {
        self.insts
            .iter()
            .flat_map(|i| i.plan.vips.iter().chain(&i.plan.evips).cloned())
            .collect()
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Log(m) => log_line(&m),
                Action::Detail(m) if self.detail => log_line(&m),
                Action::Detail(_) => {}
                Action::SendAdvert { instance, priority } => {
                    let Some(&id) = self.by_name.get(&instance) else {
                        continue;
                    };
                    let inst = self.router.instance(id);
                    let cfg = inst.config();
                    let dsts: Vec<IpAddr> = if cfg.unicast_peers.is_empty() {
                        vec![self.insts[id].plan.mcast_group]
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
                            let i = &mut self.insts[id];
                            i.ah_seq = i.ah_seq.wrapping_add(1);
                            i.ip_id = i.ip_id.wrapping_add(1).max(1);
                            let ttl = if d.is_multicast() { 255 } else { i.plan.ttl };
                            bytes = ah_packet(s, d, ttl, i.ip_id, i.ah_seq, key, &bytes);
                        }
                        if let Err(e) = self.insts[id].sock.send(&bytes, dst).await {
                            log_line(&format!("({instance}) send advert to {dst}: {e}"));
                        }
                    }
                }
                Action::AddVips { instance } => {
                    if let Some(&id) = self.by_name.get(&instance) {
                        self.set_vips(id, true).await;
                    }
                }
                Action::RemoveVips { instance } => {
                    if let Some(&id) = self.by_name.get(&instance) {
                        self.set_vips(id, false).await;
                    }
                }
                Action::SendGarp { instance, addr } => {
                    let Some(&id) = self.by_name.get(&instance) else {
                        continue;
                    };
                    let Some(pkt) = &self.packet else { continue };
                    let link = &self.insts[id].vip_link;
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
                Action::Notify(ev) => {
                    let scripts = match &ev.target {
                        Target::Instance(n) => {
                            self.by_name.get(n).map(|&id| &self.insts[id].notify)
                        }
                        Target::Group(n) => self.groups.get(n),
                    };
                    let (specific, generic) = match scripts {
                        Some(s) => (s.specific(ev.state), s.generic.as_ref()),
                        None => (None, None),
                    };
                    let mut fifos: Vec<&mut NotifyFifo> = self.fifos.iter_mut().collect();
                    for e in dispatch(&self.notifier, &ev, specific, generic, &mut fifos) {
                        log_line(&e.to_string());
                    }
                }
            }
        }
        self.transitions.observe(&self.router);
    }

    /// Adds (MASTER) or removes an instance's VIPs, E-VIPs, virtual routes
    /// and virtual rules: addresses first on the way up, last on the way
    /// down, so that routes always have their source and gateway.
    async fn set_vips(&mut self, id: InstanceId, add: bool) {
        let p = &self.insts[id].plan;
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
        }
    }

    /// An address went away: a MASTER that holds it as a tracked VIP steps
    /// down. Our own removals arrive after the instance left MASTER, so
    /// they are ignored here.
    async fn address_removed(&mut self, a: &crate::daemon::netlink::Addr) {
        let now = self.now();
        let mut out = Vec::new();
        for id in 0..self.insts.len() {
            let lost = self.router.instance(id).state() == State::Master
                && self.insts[id].plan.tracked.iter().any(|s| s.matches(a));
            if lost {
                let name = self.ifname(a.ifindex);
                log_line(&format!(
                    "Netlink reflector reports IP {} removed from {name}",
                    a.addr
                ));
                self.router.address_lost(now, id, &mut out);
            }
        }
        self.execute(out).await;
    }

    fn ifname(&self, ifindex: u32) -> String {
        self.insts
            .iter()
            .find(|i| i.link.index == ifindex)
            .map_or_else(|| ifindex.to_string(), |i| i.link.name.clone())
    }

    async fn received(&mut self, rx: RxAdvert) {
        let family = if rx.src.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        let (mut ah, mut ah_valid) = (false, false);
        let (msg, ttl, src, dst) = match family {
            Family::V4 => match Ipv4Repr::parse(&rx.bytes) {
                Ok((h, ihl)) if h.protocol == IPPROTO_AH => {
                    let Ok(a) = AhRepr::parse(&rx.bytes[ihl..]) else {
                        return;
                    };
                    let msg = &rx.bytes[ihl + AhRepr::LEN..];
                    // The key is the one of the instance the VRID names.
                    let vrid = msg.get(1).copied().unwrap_or(0);
                    let key = self.router.instances().iter().find_map(|i| {
                        match (i.config().vrid.get() == vrid, &i.config().auth) {
                            (true, AuthConfig::Ah(k)) => Some(*k),
                            _ => None,
                        }
                    });
                    ah = true;
                    ah_valid = key.is_some_and(|k| {
                        ah_icv(&rx.bytes, ihl, &k, !h.dst.is_multicast()) == a.icv
                    });
                    (msg, h.ttl, h.src.into(), h.dst.into())
                }
                Ok((h, ihl)) => (&rx.bytes[ihl..], h.ttl, h.src.into(), h.dst.into()),
                Err(_) => return,
            },
            Family::V6 => (&rx.bytes[..], rx.ttl, rx.src, rx.dst),
        };
        let r = Received {
            src,
            dst,
            ttl,
            ah,
            ah_valid,
            msg,
        };
        let now = self.now();
        let mut out = Vec::new();
        if let Err(reason) = self.router.handle_advert(now, family, &r, &mut out) {
            let vrid = msg.get(1).copied().unwrap_or(0);
            if let Some(inst) = self
                .router
                .instances()
                .iter()
                .find(|i| i.config().vrid.get() == vrid && i.config().family == family)
            {
                if let Some(line) = reason.log_line(inst.config(), &r) {
                    out.push(Action::Log(format!("({}) {line}", inst.config().name)));
                }
            }
        }
        self.execute(out).await;
    }
}

/// What a dump signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpKind {
    /// SIGUSR1: `keepalived.data`.
    Data,
    /// SIGUSR2: `keepalived.stats`.
    Stats,
    /// SIGRTMAX-1: `keepalived.stats`, then the counters zeroed.
    StatsClear,
    /// SIGRTMIN+2: `keepalived.json`.
    Json,
}

impl Driver {
    /// Writes the dump a signal asks for (reference §4.12). Synchronous
    /// and quick: exporters read the file 10 ms after the signal.
    fn dump(&mut self, config: &Config, kind: DumpKind) {
        let (file, text) = match kind {
            DumpKind::Data => {
                log_line(&format!(
                    "Printing VRRP data for process({}) on signal",
                    std::process::id()
                ));
                let (infos, scripts) = self.dump_infos(config);
                let g = dump::GlobalInfo::from_config(&config.global);
                (
                    dump::DATA_FILE,
                    dump::data(&g, &self.router, &infos, &scripts),
                )
            }
            DumpKind::Stats | DumpKind::StatsClear => {
                log_line(&format!(
                    "Printing VRRP stats for process({}) on signal",
                    std::process::id()
                ));
                (dump::STATS_FILE, dump::stats(&self.router))
            }
            DumpKind::Json => {
                log_line(&format!(
                    "Printing VRRP as json for process({}) on signal",
                    std::process::id()
                ));
                let (infos, _) = self.dump_infos(config);
                (dump::JSON_FILE, dump::json(&self.router, &infos))
            }
        };
        let path = dump::path(file);
        if let Err(e) = dump::write(&path, &text) {
            log_line(&format!("Unable to write {}: {e}", path.display()));
        }
        if kind == DumpKind::StatsClear {
            self.router.clear_stats();
        }
    }

    /// The facts about instances and scripts that only the driver knows.
    fn dump_infos(&self, config: &Config) -> (Vec<dump::InstanceInfo>, Vec<dump::ScriptInfo>) {
        let g = &config.global;
        let name_of = |index: u32| {
            self.insts
                .iter()
                .flat_map(|i| [&i.link, &i.vip_link])
                .find(|l| l.index == index)
                .map(|l| l.name.clone())
                .or_else(|| crate::sys::ifname_of(index))
                .unwrap_or_else(|| index.to_string())
        };
        let command = |name: &str| {
            config
                .vrrp
                .scripts
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.script.as_ref())
                .map_or_else(String::new, |s| dump::quote_command(&s.argv))
        };
        let infos = self
            .insts
            .iter()
            .enumerate()
            .map(|(id, i)| {
                let p = &i.plan;
                let vi = config
                    .vrrp
                    .instances
                    .iter()
                    .find(|v| v.name == p.config.name);
                let vmac = i.vip_link.index != i.link.index;
                dump::InstanceInfo {
                    interface: i.vip_link.name.clone(),
                    vmac_base: vmac
                        .then(|| (i.link.name.clone(), vi.is_some_and(|v| v.vmac_xmit_base))),
                    src_from_config: vi.and_then(plan::configured_source).is_some(),
                    mcast_group: p.config.unicast_peers.is_empty().then_some(p.mcast_group),
                    vips: p
                        .vips
                        .iter()
                        .map(|a| dump::format_addr(a, &name_of(a.ifindex)))
                        .collect(),
                    evips: p
                        .evips
                        .iter()
                        .map(|a| dump::format_addr(a, &name_of(a.ifindex)))
                        .collect(),
                    track_ifs: p
                        .track_interfaces
                        .iter()
                        .filter(|t| t.name != i.link.name)
                        .map(|t| (t.name.clone(), t.weight))
                        .collect(),
                    track_scripts: p
                        .track_scripts
                        .iter()
                        .filter(|t| self.script_trackers.contains_key(&t.name))
                        .map(|t| (t.name.clone(), t.weight, command(&t.name)))
                        .collect(),
                    dont_track_primary: p.dont_track_primary,
                    accept: vi.and_then(|v| v.accept).unwrap_or(!g.vrrp_strict),
                    promote_secondaries: vi.is_some_and(|v| v.promote_secondaries),
                    strict: g.vrrp_strict,
                    last_transition: self.transitions.last(id),
                }
            })
            .collect();
        let scripts = config
            .vrrp
            .scripts
            .iter()
            .filter_map(|sc| {
                let &tracker = self.script_trackers.get(&sc.name)?;
                Some(dump::ScriptInfo {
                    name: sc.name.clone(),
                    command: command(&sc.name),
                    interval: sc.interval,
                    timeout: sc.timeout.unwrap_or_default(),
                    weight: i32::from(sc.weight.value),
                    rise: sc.rise.max(1),
                    fall: sc.fall.max(1),
                    good: self.router.tracker(tracker) == Some(TrackerValue::Up(true)),
                    tracking: self
                        .insts
                        .iter()
                        .flat_map(|i| {
                            i.plan
                                .track_scripts
                                .iter()
                                .filter(|t| t.name == sc.name)
                                .map(|t| (i.plan.config.name.clone(), t.weight))
                        })
                        .collect(),
                })
            })
            .collect();
        (infos, scripts)
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

/// Runs the VRRP instances of `config` until SIGTERM/SIGINT. Returns the
/// process exit code.
pub fn run(config: &Config, opts: &DriverOptions) -> u8 {
    let Some(rt) = super::runtime() else {
        return 1;
    };
    rt.block_on(run_async(config, opts))
}

async fn run_async(config: &Config, opts: &DriverOptions) -> u8 {
    let nl = match Netlink::new() {
        Ok(n) => n,
        Err(e) => {
            log_line(&format!("Netlink: {e}"));
            return 1;
        }
    };
    // Subscribe first, so that no link change after the snapshot is missed.
    let mut net = match nl.watch().await {
        Ok(w) => Some(w),
        Err(e) => {
            log_line(&format!("Netlink: unable to watch links: {e}"));
            None
        }
    };
    let links = match nl.links().await {
        Ok(l) => l,
        Err(e) => {
            log_line(&format!("Netlink: unable to list interfaces: {e}"));
            return 1;
        }
    };
    let by_ifname: HashMap<String, Link> = links.into_iter().map(|l| (l.name.clone(), l)).collect();
    let g = &config.global;
    let run_as = match &g.script_user {
        Some((u, grp)) => RunAs::resolve(Some(u), grp.as_deref(), RunAs::current())
            .unwrap_or_else(|_| RunAs::current()),
        None => RunAs::keepalived_default(),
    };
    let notifier = Notifier::new();
    let mut fifos = Vec::new();
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo] {
        if let Some((path, _, _)) = &f.path {
            let script = f
                .script
                .as_ref()
                .and_then(|s| ScriptCommand::from_script(s, run_as).ok());
            match NotifyFifo::open(path, script.as_ref(), &notifier) {
                Ok(fifo) => fifos.push(fifo),
                Err(e) => log_line(&e.to_string()),
            }
        }
    }

    let mut router = Router::new();
    let mut insts: Vec<Inst> = Vec::new();
    let mut by_name = HashMap::new();
    let mut sockets: HashMap<(u32, bool, bool), Arc<VrrpSocket>> = HashMap::new();
    let mut if_trackers: HashMap<u32, TrackerId> = HashMap::new();
    let mut script_trackers: HashMap<String, TrackerId> = HashMap::new();
    let (track_tx, mut track_rx) = mpsc::channel::<TrackEvent>(64);
    let mut runners = Vec::new();
    let mut file_trackers: HashMap<String, TrackerId> = HashMap::new();
    let mut watched_files: Vec<(String, PathBuf)> = Vec::new();
    // VMACs we created and the sysctls we changed, undone at exit.
    let mut vmacs: Vec<u32> = Vec::new();
    let mut sysctls = crate::daemon::netlink::Sysctls::new();

    for vi in &config.vrrp.instances {
        let Some(ifname) = vi.interface.clone().or_else(|| g.default_interface.clone()) else {
            log_line(&format!("({}) no interface - ignoring instance", vi.name));
            continue;
        };
        let Some(link) = by_ifname.get(&ifname).cloned() else {
            log_line(&format!(
                "({}) interface {ifname} not found - ignoring instance",
                vi.name
            ));
            continue;
        };
        // use_vmac: the private macvlan carries the VIPs (and the adverts
        // unless vmac_xmit_base; IPv6 adverts always use the base, whose
        // link-local address is unique on the LAN).
        let mut vip_link = link.clone();
        let vmac = plan::vmac_of(vi, g);
        if let Some((name, mac)) = &vmac {
            let made = match nl.create_vmac(link.index, name, *mac).await {
                Ok(idx) => nl.link_by_index(idx).await.ok().flatten(),
                Err(e) => {
                    log_line(&format!("({}) unable to create VMAC {name}: {e}", vi.name));
                    None
                }
            };
            let Some(v) = made else {
                continue;
            };
            log_line(&format!(
                "({}) Success creating VMAC interface {name}",
                vi.name
            ));
            if !vi.is_v6() {
                if let Err(e) = sysctls.setup_vmac(name, &ifname) {
                    log_line(&format!("({}) VMAC sysctls: {e}", vi.name));
                }
            }
            vmacs.push(v.index);
            vip_link = v;
        }
        let (sock_ifname, sock_index) = if vmac.is_some() && !vi.vmac_xmit_base && !vi.is_v6() {
            (vip_link.name.clone(), vip_link.index)
        } else {
            (ifname.clone(), link.index)
        };
        // An interface that just came up may not have its (link-local)
        // address yet: wait a little for it.
        let mut primary = None;
        for _ in 0..50 {
            primary = match plan::configured_source(vi) {
                Some(a) => Some(a),
                None if vi.is_v6() => nl
                    .link_local_v6(link.index)
                    .await
                    .ok()
                    .flatten()
                    .map(IpAddr::V6),
                None => nl
                    .primary_v4(link.index)
                    .await
                    .ok()
                    .flatten()
                    .map(IpAddr::V4),
            };
            if primary.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let Some(primary) = primary else {
            log_line(&format!(
                "({}) no usable address on {ifname} - ignoring instance",
                vi.name
            ));
            continue;
        };
        let vmac_name = vmac.as_ref().map(|(n, _)| n.as_str());
        let p = match plan::plan_instance(
            vi,
            g,
            &config.vrrp.scripts,
            &config.vrrp.track_files,
            primary,
            vmac_name,
            |n| {
                if Some(n) == vmac_name {
                    Some(vip_link.index)
                } else {
                    by_ifname.get(n).map(|l| l.index)
                }
            },
        ) {
            Ok(p) => p,
            Err(e) => {
                log_line(&e.to_string());
                continue;
            }
        };
        let v6 = p.config.family == Family::V6;
        let is_ah = matches!(p.config.auth, AuthConfig::Ah(_));
        let sock = match sockets.get(&(sock_index, v6, is_ah)) {
            Some(s) => s.clone(),
            None => {
                let unicast = !p.config.unicast_peers.is_empty();
                let r = match (primary, p.mcast_group) {
                    (IpAddr::V4(src), IpAddr::V4(grp)) if is_ah => VrrpSocket::open_v4_ah(
                        &sock_ifname,
                        sock_index,
                        src,
                        (!unicast).then_some(grp),
                    ),
                    (IpAddr::V4(src), IpAddr::V4(grp)) => VrrpSocket::open_v4(
                        &sock_ifname,
                        sock_index,
                        src,
                        (!unicast).then_some(grp),
                        u32::from(p.ttl),
                    ),
                    (IpAddr::V6(src), IpAddr::V6(grp)) => {
                        VrrpSocket::open_v6(&ifname, link.index, src, (!unicast).then_some(grp))
                    }
                    _ => Err(std::io::Error::other("address family mismatch")),
                };
                match r {
                    Ok(s) => {
                        let s = Arc::new(s);
                        sockets.insert((sock_index, v6, is_ah), s.clone());
                        s
                    }
                    Err(e) => {
                        log_line(&format!(
                            "({}) unable to open VRRP socket on {sock_ifname}: {e} - ignoring instance",
                            vi.name
                        ));
                        continue;
                    }
                }
            }
        };
        // Trackers: the own interface (weight 0) unless dont_track_primary,
        // then track_interface and track_script.
        let mut tracks = Vec::new();
        let mut if_tracker = |l: &Link, router: &mut Router| {
            *if_trackers
                .entry(l.index)
                .or_insert_with(|| router.add_tracker(TrackerValue::Up(l.up)))
        };
        if !p.dont_track_primary {
            tracks.push(TrackRef {
                tracker: if_tracker(&link, &mut router),
                weight: 0,
                reverse: false,
            });
        }
        for t in &p.track_interfaces {
            match by_ifname.get(&t.name) {
                Some(l) => tracks.push(TrackRef {
                    tracker: if_tracker(l, &mut router),
                    weight: t.weight,
                    reverse: t.reverse,
                }),
                None => log_line(&format!(
                    "({}) tracked interface {} not found",
                    vi.name, t.name
                )),
            }
        }
        for t in &p.track_scripts {
            let Some(sc) = config.vrrp.scripts.iter().find(|s| s.name == t.name) else {
                continue;
            };
            let Some(script) = sc.script.as_ref().filter(|_| !sc.disabled) else {
                continue;
            };
            let id = match script_trackers.get(&t.name) {
                Some(&id) => id,
                None => {
                    let cmd = match ScriptCommand::from_script(script, run_as) {
                        Ok(c) => c,
                        Err(e) => {
                            log_line(&format!("VRRP_Script({}) {e}", sc.name));
                            continue;
                        }
                    };
                    let tc = TrackConfig {
                        name: sc.name.clone(),
                        interval: sc.interval,
                        timeout: sc.timeout,
                        rise: sc.rise.max(1),
                        fall: sc.fall.max(1),
                        weight: i32::from(sc.weight.value),
                        reverse: sc.weight.reverse,
                        init_fail: sc.init_fail,
                    };
                    let tracker = ScriptTracker::new(tc);
                    let init = tracker.status() == TrackStatus::Good;
                    let id = router.add_tracker(TrackerValue::Up(init));
                    runners.push(TrackRunner::start(cmd, tracker, track_tx.clone(), None));
                    script_trackers.insert(t.name.clone(), id);
                    id
                }
            };
            tracks.push(TrackRef {
                tracker: id,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        for t in &p.track_files {
            let Some(tf) = config.vrrp.track_files.iter().find(|f| f.name == t.name) else {
                continue;
            };
            let Some(path) = tf.file.as_deref().map(PathBuf::from) else {
                continue;
            };
            let id = match file_trackers.get(&t.name) {
                Some(&id) => id,
                None => {
                    if let Some((v, overwrite)) = tf.init {
                        if let Err(e) = track_file::init_file(&path, v, overwrite) {
                            log_line(&format!("track_file {}: {}: {e}", tf.name, path.display()));
                        }
                    }
                    let id = router.add_tracker(TrackerValue::File(track_file::read_value(&path)));
                    file_trackers.insert(t.name.clone(), id);
                    watched_files.push((t.name.clone(), path));
                    id
                }
            };
            tracks.push(TrackRef {
                tracker: id,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        let id = router.add_instance(p.config.clone(), tracks);
        by_name.insert(p.config.name.clone(), id);
        insts.push(Inst {
            notify: Notify::new(&p.notify, run_as),
            plan: p,
            link,
            vip_link,
            sock,
            ah_seq: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as u32),
            ip_id: 0,
        });
    }
    if insts.is_empty() {
        log_line("No VRRP instance could be started");
        remove_vmacs(&nl, vmacs, &mut sysctls).await;
        return 1;
    }
    let mut groups = HashMap::new();
    for sg in &config.vrrp.sync_groups {
        let members: Vec<InstanceId> = sg
            .members
            .iter()
            .filter_map(|(n, _)| by_name.get(n).copied())
            .collect();
        if members.len() > 1 {
            router.add_group(&sg.name, members);
            groups.insert(sg.name.clone(), Notify::new(&sg.notify, run_as));
        }
    }

    let (file_tx, mut file_rx) = mpsc::channel::<track_file::FileEvent>(64);
    if !watched_files.is_empty() {
        if let Err(e) = track_file::watch(watched_files, file_tx) {
            log_line(&format!("Unable to watch track files: {e}"));
        }
    }

    let packet = match PacketSocket::open() {
        Ok(p) => Some(p),
        Err(e) => {
            log_line(&format!("Unable to open the gratuitous ARP socket: {e}"));
            None
        }
    };
    let mut drv = Driver {
        nl: nl.clone(),
        router,
        insts,
        by_name,
        groups,
        if_trackers,
        script_trackers,
        packet,
        notifier,
        fifos,
        origin: tokio::time::Instant::now(),
        detail: opts.detail,
        transitions: dump::Transitions::default(),
    };

    // No stale VIP survives a restart.
    let owned = drv.owned();
    if let Err(e) = drv.nl.reconcile(&[], &owned).await {
        log_line(&format!("Netlink: removing stale VIPs: {e}"));
    }
    for i in &drv.insts {
        let p = &i.plan;
        set_rules(&drv.nl, &p.config.name, &p.rules, false).await;
        set_routes(&drv.nl, &p.config.name, &p.routes, false).await;
    }
    let statics = match plan::plan_static(&config.vrrp, g, |n| by_ifname.get(n).map(|l| l.index)) {
        Ok(s) => s,
        Err(e) => {
            log_line(&e.to_string());
            plan::StaticPlan::default()
        }
    };
    set_addrs(&drv.nl, "static", statics.addrs.iter(), true).await;
    set_routes(&drv.nl, "static", &statics.routes, true).await;
    set_rules(&drv.nl, "static", &statics.rules, true).await;

    let (rx_tx, mut rx_rx) = mpsc::channel::<RxAdvert>(256);
    let mut rx_tasks = Vec::new();
    for s in sockets.values() {
        let s = s.clone();
        let tx = rx_tx.clone();
        rx_tasks.push(tokio::spawn(async move {
            loop {
                match s.recv().await {
                    Ok(a) => {
                        if tx.send(a).await.is_err() {
                            break;
                        }
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
        }));
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

    // Links may have changed while instances were set up (waiting for an
    // address): start from their current state.
    let mut out = Vec::new();
    if let Ok(links) = drv.nl.links().await {
        let now = drv.now();
        for l in links {
            if let Some(&t) = drv.if_trackers.get(&l.index) {
                drv.router
                    .set_tracker(now, t, TrackerValue::Up(l.up), &mut out);
            }
        }
    }
    let now = drv.now();
    drv.router.start(now, &mut out);
    drv.execute(out).await;
    // Sockets open, instances started: the parent may report READY.
    crate::daemon::process::child_ready();

    loop {
        let deadline = drv
            .router
            .poll_timeout()
            .map(|t| drv.origin + Duration::from_micros(t.0));
        tokio::select! {
            biased;
            _ = term.recv() => break,
            _ = int.recv() => break,
            // Not implemented yet, but they must not kill the daemon.
            _ = hup.recv() => log_line("Reload (SIGHUP) is not supported yet - ignoring"),
            _ = usr1.recv() => drv.dump(config, DumpKind::Data),
            _ = usr2.recv() => drv.dump(config, DumpKind::Stats),
            _ = json.recv() => drv.dump(config, DumpKind::Json),
            _ = clear.recv() => drv.dump(config, DumpKind::StatsClear),
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                let mut out = Vec::new();
                let now = drv.now();
                drv.router.handle_timeout(now, &mut out);
                drv.execute(out).await;
            }
            Some(a) = rx_rx.recv() => drv.received(a).await,
            Some(ev) = async {
                match net.as_mut() {
                    Some(n) => n.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                let (link, up) = match ev {
                    NetEvent::LinkUp(l) => (l, true),
                    NetEvent::LinkDown(l) | NetEvent::LinkDeleted(l) => (l, false),
                    NetEvent::AddressRemoved(a) => {
                        drv.address_removed(&a).await;
                        continue;
                    }
                    _ => continue,
                };
                if let Some(&t) = drv.if_trackers.get(&link.index) {
                    log_line(&format!(
                        "Netlink reports {} {}",
                        link.name,
                        if up { "up" } else { "down" }
                    ));
                    let mut out = Vec::new();
                    let now = drv.now();
                    drv.router.set_tracker(now, t, TrackerValue::Up(up), &mut out);
                    drv.execute(out).await;
                }
            }
            Some(ev) = file_rx.recv() => {
                if let Some(&t) = file_trackers.get(&ev.name) {
                    let mut out = Vec::new();
                    let now = drv.now();
                    drv.router.set_tracker(now, t, TrackerValue::File(ev.value), &mut out);
                    drv.execute(out).await;
                }
            }
            Some(ev) = track_rx.recv() => {
                for l in &ev.step.logs {
                    log_line(l);
                }
                if let Some(&t) = drv.script_trackers.get(&ev.name) {
                    let mut out = Vec::new();
                    let now = drv.now();
                    let v = TrackerValue::Up(ev.status == TrackStatus::Good);
                    drv.router.set_tracker(now, t, v, &mut out);
                    drv.execute(out).await;
                }
            }
        }
    }

    // Orderly stop: priority-0 adverts, VIPs released, STOP notifies.
    for r in &runners {
        r.stop();
    }
    let mut out = Vec::new();
    let now = drv.now();
    drv.router.stop(now, !opts.dont_release_vips, &mut out);
    drv.execute(out).await;
    if !opts.dont_release_vips {
        let owned = drv.owned();
        if let Err(e) = drv.nl.reconcile(&[], &owned).await {
            log_line(&format!("Netlink: removing VIPs: {e}"));
        }
        set_rules(&drv.nl, "static", &statics.rules, false).await;
        set_routes(&drv.nl, "static", &statics.routes, false).await;
        set_addrs(&drv.nl, "static", statics.addrs.iter(), false).await;
    }
    for t in rx_tasks {
        t.abort();
    }
    remove_vmacs(&drv.nl, vmacs, &mut sysctls).await;
    0
}

/// Deletes the VMACs we created and puts the sysctls back.
async fn remove_vmacs(
    nl: &Netlink,
    vmacs: Vec<u32>,
    sysctls: &mut crate::daemon::netlink::Sysctls,
) {
    for v in vmacs {
        if let Err(e) = nl.delete_link(v).await {
            log_line(&format!("Netlink: deleting VMAC {v}: {e}"));
        }
    }
    if let Err(e) = sysctls.restore() {
        log_line(&format!("Restoring sysctls: {e}"));
    }
}

//! From keepalived.conf's `virtual_server`s to the IPVS services and
//! destinations keepalived 2.2.7 keeps in the kernel, for a given health
//! state. Pure: the checker decides who is alive, this decides what the
//! kernel should hold, [`super::reconcile`] makes it so.
//!
//! The rules (keepalived's `ipwrapper.c`/`ipvswrapper.c` behaviour,
//! reference §4.13/§5):
//! * `IP PORT` is one service, `fwmark N` one fwmark service, `group NAME`
//!   one service per address of each range entry plus one per fwmark entry;
//! * an alive real server is a destination with its weight; a failed one
//!   is removed, or kept with weight 0 under `inhibit_on_failure`;
//! * quorum is the summed weight of alive servers: gained at
//!   `quorum + hysteresis`, lost below `quorum - hysteresis` (or at 0);
//!   without quorum and with a `sorry_server`, the alive servers leave the
//!   pool (inhibited ones drop to weight 0) and the sorry server enters
//!   with weight 1; with `sorry_server_inhibit` it otherwise stays at 0.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use crate::config::global::LvsTimeouts;
use crate::config::lvs::{
    FwdMethod, LvsConfig, Protocol as CfgProtocol, RealServer, TunCsum, TunType, VirtualServer,
    VsAddr, VsgEntry,
};
use crate::config::model::Config;

use super::repr::{
    Dest, Family, Forward, Netmask, Protocol, Service, ServiceFlags, ServiceKey, SyncDaemon,
    SyncState, Timeouts, Tunnel, TunnelType,
};

/// A real server of one virtual server: its index in
/// `LvsConfig::virtual_servers`, address and port (after config validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RsId {
    /// Index of the virtual server.
    pub vs: usize,
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// What the checkers know: who is alive (default: everyone), weights they
/// changed (MISC_CHECK dynamic weights), and each virtual server's quorum
/// state so far (for hysteresis).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    alive: HashMap<RsId, bool>,
    weight: HashMap<RsId, u32>,
    quorum_up: HashMap<usize, bool>,
}

impl Health {
    /// Every real server alive, no history.
    pub fn all_alive() -> Health {
        Health::default()
    }

    /// Marks a real server alive or failed.
    pub fn set_alive(&mut self, id: RsId, alive: bool) {
        self.alive.insert(id, alive);
    }

    /// Whether a real server is alive (unknown ones are).
    pub fn is_alive(&self, id: &RsId) -> bool {
        self.alive.get(id).copied().unwrap_or(true)
    }

    /// Overrides a real server's configured weight.
    pub fn set_weight(&mut self, id: RsId, weight: u32) {
        self.weight.insert(id, weight);
    }

    /// Records a virtual server's quorum state, as [`Desired::quorum_up`]
    /// returned it, so the next computation applies hysteresis from there.
    pub fn set_quorum_up(&mut self, vs: usize, up: bool) {
        self.quorum_up.insert(vs, up);
    }
}

/// A service and the destinations it should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualService {
    /// The service.
    pub service: Service,
    /// Its destinations, in configuration order (sorry server last).
    pub dests: Vec<Dest>,
}

/// Everything keepalived would keep in IPVS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Services in configuration order (a service named by two virtual
    /// servers appears once, with both's destinations).
    pub services: Vec<VirtualService>,
    /// Quorum state of each virtual server (index as in the config).
    pub quorum_up: Vec<bool>,
}

/// Computes the IPVS state for `cfg` under `health`.
///
/// Without a recorded quorum state a virtual server is taken to have
/// started with every real server alive (keepalived's start-up without
/// `alpha`) and then moved to the current health.
pub fn desired(cfg: &LvsConfig, health: &Health) -> Desired {
    Layout::new(cfg).desired(|i| pool(i, &cfg.virtual_servers[i], health))
}

/// What IPVS makes of a configuration's virtual servers, worked out once:
/// each one's services and the destination each of its servers becomes,
/// weight aside. The checker process keeps this rather than the
/// configuration (a few dozen bytes per real server instead of the whole
/// `real_server` block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    vs: Vec<VsLayout>,
    /// Per virtual server, the lowest index of those it shares a service
    /// with, directly or through others: they are computed together.
    cluster: Vec<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VsLayout {
    /// Dropped by the validation: no services, no destinations.
    dropped: bool,
    /// A `group`: destinations follow each service's port.
    group: bool,
    services: Vec<Service>,
    /// The real servers' destinations, in configuration order.
    real: Vec<Dest>,
    sorry: Option<Dest>,
}

impl Layout {
    /// The layout of `cfg`'s virtual servers (indices as in the config).
    pub fn new(cfg: &LvsConfig) -> Layout {
        let vs = cfg
            .virtual_servers
            .iter()
            .map(|vs| {
                if vs.dropped {
                    return VsLayout {
                        dropped: true,
                        ..VsLayout::default()
                    };
                }
                VsLayout {
                    dropped: false,
                    group: matches!(vs.addr, VsAddr::Group(..)),
                    services: services(cfg, vs),
                    real: vs.real_servers.iter().map(|rs| dest(vs, rs, 0)).collect(),
                    sorry: vs.sorry_server.as_ref().map(|rs| dest(vs, rs, 0)),
                }
            })
            .collect::<Vec<_>>();
        // Union-find over the service keys.
        let mut cluster: Vec<usize> = (0..vs.len()).collect();
        fn root(c: &mut [usize], mut i: usize) -> usize {
            while c[i] != i {
                c[i] = c[c[i]];
                i = c[i];
            }
            i
        }
        let mut owner: HashMap<ServiceKey, usize> = HashMap::new();
        for (i, v) in vs.iter().enumerate() {
            for s in &v.services {
                let j = *owner.entry(s.key).or_insert(i);
                let (a, b) = (root(&mut cluster, i), root(&mut cluster, j));
                cluster[a.max(b)] = a.min(b);
            }
        }
        for i in 0..cluster.len() {
            cluster[i] = root(&mut cluster, i);
        }
        Layout { vs, cluster }
    }

    /// Whether any virtual server has a service (all may be dropped).
    pub fn has_services(&self) -> bool {
        self.vs.iter().any(|v| !v.services.is_empty())
    }

    /// The destination of real server `rs` (`None`: the sorry server) of
    /// virtual server `vs`, with `weight`.
    pub fn dest(&self, vs: usize, rs: Option<usize>, weight: u32) -> Option<Dest> {
        let v = self.vs.get(vs)?;
        let d = match rs {
            Some(i) => v.real.get(i),
            None => v.sorry.as_ref(),
        }?;
        Some(Dest { weight, ..*d })
    }

    /// The services with destinations (and quorum state) from `dests`,
    /// called per virtual server that is not dropped.
    pub fn desired(&self, mut dests: impl FnMut(usize) -> (Vec<Dest>, bool)) -> Desired {
        let mut quorum_up = vec![true; self.vs.len()];
        let services = self.services(
            |_| true,
            |i| {
                let (d, up) = dests(i);
                quorum_up[i] = up;
                d
            },
        );
        Desired {
            services,
            quorum_up,
        }
    }

    /// The services of the virtual servers in `touched` and of those they
    /// share a service with (so that each service has all its
    /// destinations), with destinations from `dests`: what a change of
    /// these virtual servers affects, at a cost that does not grow with
    /// the others.
    pub fn services_of(
        &self,
        touched: &BTreeSet<usize>,
        dests: impl FnMut(usize) -> Vec<Dest>,
    ) -> Vec<VirtualService> {
        let clusters: BTreeSet<usize> = touched
            .iter()
            .filter_map(|&i| self.cluster.get(i).copied())
            .collect();
        self.services(|i| clusters.contains(&self.cluster[i]), dests)
    }

    /// The services of the virtual servers `include` keeps, in order.
    fn services(
        &self,
        include: impl Fn(usize) -> bool,
        mut dests: impl FnMut(usize) -> Vec<Dest>,
    ) -> Vec<VirtualService> {
        let mut out: Vec<VirtualService> = Vec::new();
        let mut index: HashMap<ServiceKey, usize> = HashMap::new();
        for (i, vs) in self.vs.iter().enumerate() {
            if vs.dropped || !include(i) {
                continue;
            }
            let dests = dests(i);
            for service in &vs.services {
                let dests: Vec<Dest> = if vs.group {
                    dests.iter().map(|d| group_dest(&service.key, *d)).collect()
                } else {
                    dests.clone()
                };
                match index.get(&service.key) {
                    Some(&at) => {
                        let into = &mut out[at].dests;
                        for d in &dests {
                            into.retain(|x| (x.addr, x.port) != (d.addr, d.port));
                            into.push(*d);
                        }
                    }
                    None => {
                        index.insert(service.key, out.len());
                        out.push(VirtualService {
                            service: service.clone(),
                            dests,
                        });
                    }
                }
            }
        }
        out
    }
}

// ===== services =====

fn protocol(p: Option<CfgProtocol>) -> Protocol {
    match p {
        Some(CfgProtocol::Tcp) => Protocol::Tcp,
        Some(CfgProtocol::Sctp) => Protocol::Sctp,
        // keepalived's default after "no protocol set - defaulting to UDP".
        Some(CfgProtocol::Udp) | None => Protocol::Udp,
    }
}

/// The IPVS scheduler flags of a virtual server's `ops`, `flag-N`,
/// `sh-*` and `mh-*` keywords.
pub fn sched_flags(vs: &VirtualServer) -> u32 {
    vs.flags.iter().fold(0, |f, name| {
        f | match name.as_str() {
            "ops" => ServiceFlags::ONEPACKET,
            "flag-1" | "sh-fallback" | "mh-fallback" => ServiceFlags::SCHED1,
            "flag-2" | "sh-port" | "mh-port" => ServiceFlags::SCHED2,
            "flag-3" => ServiceFlags::SCHED3,
            _ => 0,
        }
    })
}

/// `persistence_granularity`: an IPv4 mask or an IPv6 prefix length.
fn granularity(s: &str, fam: Family) -> Option<Netmask> {
    match fam {
        Family::Inet => s.parse::<Ipv4Addr>().ok().map(Netmask::V4),
        Family::Inet6 => s.parse::<u8>().ok().filter(|p| *p <= 128).map(Netmask::V6),
    }
}

/// The service for one key, with the virtual server's scheduler,
/// persistence and flags.
pub fn service(vs: &VirtualServer, key: ServiceKey) -> Service {
    let fam = key.family();
    let mut s = Service::new(key);
    s.scheduler = vs.scheduler.clone().unwrap_or_else(|| "wlc".into());
    s.pe_name = vs.persistence_engine.clone();
    s.flags = ServiceFlags(sched_flags(vs));
    if let Some(t) = vs.persistence_timeout {
        s.flags.0 |= ServiceFlags::PERSISTENT;
        s.timeout = t;
        if let Some(n) = vs
            .persistence_granularity
            .as_deref()
            .and_then(|g| granularity(g, fam))
        {
            s.netmask = n;
        }
    }
    s
}

/// A destination as keepalived sends it to one service of a virtual
/// server group (ipvs_group_cmd): unless it is masqueraded, its port is
/// the entry's port, or 0 for a fwmark entry.
fn group_dest(key: &ServiceKey, mut d: Dest) -> Dest {
    if d.forward != Forward::Masq {
        d.port = match key {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        };
    }
    d
}

/// Expands `start..=end` (a group range) into addresses.
fn range(start: IpAddr, end: IpAddr) -> Vec<IpAddr> {
    match (start, end) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a)..=u32::from(b))
            .map(|n| IpAddr::V4(n.into()))
            .collect(),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a)..=u128::from(b))
            .map(|n| IpAddr::V6(n.into()))
            .collect(),
        _ => vec![start],
    }
}

/// The services one virtual server stands for.
pub fn services(cfg: &LvsConfig, vs: &VirtualServer) -> Vec<Service> {
    let vs_fam = if vs.v6.unwrap_or(false) {
        Family::Inet6
    } else {
        Family::Inet
    };
    match &vs.addr {
        VsAddr::Addr(addr, port) => vec![service(
            vs,
            ServiceKey::Addr {
                protocol: protocol(vs.protocol),
                addr: *addr,
                port: *port,
            },
        )],
        VsAddr::Fwmark(mark) => vec![service(
            vs,
            ServiceKey::Fwmark {
                family: vs_fam,
                mark: *mark,
            },
        )],
        VsAddr::Group(name, _) => {
            let Some(g) = cfg.groups.iter().find(|g| &g.name == name) else {
                return Vec::new();
            };
            // keepalived walks the address ranges first, then the fwmarks;
            // each entry's service is sent with the host netmask
            // (ipvs_group_range_cmd and the fwmark loop of ipvs_group_cmd
            // reset it), so persistence_granularity has no effect there.
            let group_service = |key: ServiceKey| {
                let mut s = service(vs, key);
                s.netmask = Netmask::host(key.family());
                s
            };
            let mut out = Vec::new();
            for e in &g.entries {
                if let VsgEntry::Range { start, end, port } = e {
                    for addr in range(*start, *end) {
                        out.push(group_service(ServiceKey::Addr {
                            protocol: protocol(vs.protocol),
                            addr,
                            port: *port,
                        }));
                    }
                }
            }
            for e in &g.entries {
                if let VsgEntry::Fwmark { mark, v6 } = e {
                    let family = match v6.or(vs.v6) {
                        Some(true) => Family::Inet6,
                        _ => Family::Inet,
                    };
                    out.push(group_service(ServiceKey::Fwmark {
                        family,
                        mark: *mark,
                    }));
                }
            }
            out
        }
    }
}

// ===== destinations =====

/// The IPVS forwarding of a configured `lb_kind` / `lvs_method`.
pub fn forward(m: Option<FwdMethod>) -> Forward {
    match m {
        None | Some(FwdMethod::Nat) => Forward::Masq,
        Some(FwdMethod::Dr) => Forward::Route,
        Some(FwdMethod::Tun { ty, port, csum }) => Forward::Tunnel(Tunnel {
            ty: match ty {
                TunType::Ipip => TunnelType::Ipip,
                TunType::Gue => TunnelType::Gue,
                TunType::Gre => TunnelType::Gre,
            },
            port,
            flags: match csum {
                TunCsum::NoCsum => 0,
                TunCsum::Csum => Tunnel::CSUM,
                TunCsum::RemCsum => Tunnel::REMCSUM,
            },
        }),
    }
}

/// The IPVS destination of a real (or sorry) server of `vs`.
pub fn dest(vs: &VirtualServer, rs: &RealServer, weight: u32) -> Dest {
    Dest {
        addr: rs.ip,
        port: rs.port,
        forward: forward(rs.method.or(vs.method)),
        weight,
        u_threshold: rs.uthreshold,
        l_threshold: rs.lthreshold,
    }
}

/// Quorum after a change: gained at `quorum + hysteresis`, lost below
/// `quorum - hysteresis` or when nothing is alive.
fn quorum_next(was_up: bool, live: u64, vs: &VirtualServer) -> bool {
    let (q, h) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
    if was_up {
        !(live == 0 || live < q.saturating_sub(h))
    } else {
        live >= q + h
    }
}

/// The destinations of virtual server `i` and its quorum state.
fn pool(i: usize, vs: &VirtualServer, health: &Health) -> (Vec<Dest>, bool) {
    let id = |rs: &RealServer| RsId {
        vs: i,
        addr: rs.ip,
        port: rs.port,
    };
    let weight = |rs: &RealServer| {
        health
            .weight
            .get(&id(rs))
            .copied()
            .unwrap_or(rs.weight.unwrap_or(vs.weight))
    };
    let all: u64 = vs.real_servers.iter().map(|rs| u64::from(weight(rs))).sum();
    let live: u64 = vs
        .real_servers
        .iter()
        .filter(|rs| health.is_alive(&id(rs)))
        .map(|rs| u64::from(weight(rs)))
        .sum();
    let q = u64::from(vs.quorum) + u64::from(vs.hysteresis);
    let was_up = health.quorum_up.get(&i).copied().unwrap_or(all >= q);
    let up = quorum_next(was_up, live, vs);
    let sorry_in_use = !up && vs.sorry_server.is_some();

    let mut dests = Vec::new();
    for rs in &vs.real_servers {
        let inhibit = rs.inhibit.unwrap_or(vs.inhibit);
        let alive = health.is_alive(&id(rs));
        let w = if alive && !sorry_in_use {
            Some(weight(rs))
        } else if inhibit {
            Some(0)
        } else {
            None
        };
        if let Some(w) = w {
            dests.push(dest(vs, rs, w));
        }
    }
    if let Some(ss) = &vs.sorry_server {
        let w = if sorry_in_use {
            Some(ss.weight.unwrap_or(1))
        } else if ss.inhibit == Some(true) {
            Some(0)
        } else {
            None
        };
        let dup = dests
            .iter()
            .position(|d| (d.addr, d.port) == (ss.ip, ss.port));
        match (w, dup) {
            // A sorry server that is also a real server is that real server
            // while the quorum holds.
            (Some(_), Some(_)) if !sorry_in_use => {}
            (Some(w), Some(at)) => dests[at] = dest(vs, ss, w),
            (Some(w), None) => dests.push(dest(vs, ss, w)),
            (None, _) => {}
        }
    }
    (dests, up)
}

// ===== global_defs =====

/// `lvs_timeouts` as SET_CONFIG values; `None` when none is configured
/// (keepalived then leaves the kernel's timeouts alone).
pub fn timeouts(t: &LvsTimeouts) -> Option<Timeouts> {
    if t.tcp.is_none() && t.tcpfin.is_none() && t.udp.is_none() {
        return None;
    }
    let secs = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_secs() as u32);
    Some(Timeouts {
        tcp: secs(t.tcp),
        tcp_fin: secs(t.tcpfin),
        udp: secs(t.udp),
    })
}

/// `lvs_sync_daemon` in a given state. The sync id defaults to the VRID of
/// the VRRP instance it follows (0 without one).
pub fn sync_daemon(cfg: &Config, state: SyncState) -> Option<SyncDaemon> {
    let d = cfg.global.lvs_sync_daemon.as_ref()?;
    let vrid = d.instance.as_ref().and_then(|name| {
        cfg.vrrp
            .instances
            .iter()
            .find(|i| &i.name == name)
            .and_then(|i| i.vrid)
            .map(|v| v.get())
    });
    Some(SyncDaemon {
        state,
        ifname: d.interface.clone(),
        sync_id: u32::from(d.syncid.or(vrid).unwrap_or(0)),
        maxlen: d.maxlen,
        group: d.group,
        port: d.port,
        ttl: d.ttl,
    })
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;

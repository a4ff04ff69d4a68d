//! Bringing the kernel to a [`Desired`] state: a pure diff from what a
//! dump shows to the operations that close the gap, and their execution.
//!
//! Services that are not desired are left alone (they may belong to
//! someone else, as keepalived leaves them); inside a desired service every
//! destination is ours, so unknown ones are removed.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::client::{Client, Transport};
use super::error::Error;
use super::mapping::{Desired, VirtualService};
use super::repr::{Dest, Forward, Service, ServiceFlags, ServiceKey};
use super::request::Request;

/// One change to IPVS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// NEW_SERVICE.
    AddService(Service),
    /// SET_SERVICE (scheduler, flags or persistence changed).
    SetService(Service),
    /// DEL_SERVICE.
    DelService(Service),
    /// NEW_DEST.
    AddDest(Service, Dest),
    /// SET_DEST (weight, forwarding or thresholds changed).
    SetDest(Service, Dest),
    /// DEL_DEST.
    DelDest(Service, Dest),
}

impl Op {
    /// The request that performs it.
    pub fn request(&self) -> Request {
        match self.clone() {
            Op::AddService(s) => Request::NewService(s),
            Op::SetService(s) => Request::SetService(s),
            Op::DelService(s) => Request::DelService(s),
            Op::AddDest(s, d) => Request::NewDest(s, d),
            Op::SetDest(s, d) => Request::SetDest(s, d),
            Op::DelDest(s, d) => Request::DelDest(s, d),
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.request();
        let name = r.cmd().name();
        match self {
            Op::AddService(s) | Op::SetService(s) => {
                write!(f, "{name} {} {}", s.key, s.scheduler)?;
                if s.flags.contains(ServiceFlags::PERSISTENT) {
                    write!(f, " persistent {}", s.timeout)?;
                }
                Ok(())
            }
            Op::DelService(s) => write!(f, "{name} {}", s.key),
            Op::AddDest(s, d) | Op::SetDest(s, d) => write!(
                f,
                "{name} {} -> {} {} weight {}",
                s.key,
                d.display_in(&s.key),
                d.forward.name(),
                d.weight
            ),
            Op::DelDest(s, d) => write!(f, "{name} {} -> {}", s.key, d.display_in(&s.key)),
        }
    }
}

/// Same service settings, ignoring the kernel's HASHED bit.
fn same_service(a: &Service, b: &Service) -> bool {
    let f = |s: &Service| s.flags.0 & !ServiceFlags::HASHED;
    a.scheduler == b.scheduler
        && a.pe_name == b.pe_name
        && f(a) == f(b)
        && a.timeout == b.timeout
        && a.netmask == b.netmask
}

/// Same destination settings; tunnel details only matter for tunnels.
fn same_dest(a: &Dest, b: &Dest) -> bool {
    let fwd = match (a.forward, b.forward) {
        (Forward::Tunnel(x), Forward::Tunnel(y)) => x == y,
        (x, y) => x == y,
    };
    fwd && a.weight == b.weight && a.u_threshold == b.u_threshold && a.l_threshold == b.l_threshold
}

/// The operations giving the `wanted` services (all of a [`Desired`], or
/// some) their settings and destinations, from `current` (a dump).
/// Services and destinations are looked up by key: linear in their number.
pub fn diff(current: &[(Service, Vec<Dest>)], wanted: &[VirtualService]) -> Vec<Op> {
    let mut have: HashMap<ServiceKey, &(Service, Vec<Dest>)> = HashMap::new();
    for c in current {
        have.entry(c.0.key).or_insert(c);
    }
    let mut ops = Vec::new();
    for want in wanted {
        let s = &want.service;
        let Some((have, have_dests)) = have.get(&s.key) else {
            ops.push(Op::AddService(s.clone()));
            ops.extend(want.dests.iter().map(|d| Op::AddDest(s.clone(), *d)));
            continue;
        };
        if !same_service(have, s) {
            ops.push(Op::SetService(s.clone()));
        }
        let wanted: HashSet<(IpAddr, u16)> = want.dests.iter().map(|w| (w.addr, w.port)).collect();
        let mut had: HashMap<(IpAddr, u16), &Dest> = HashMap::new();
        for d in have_dests {
            had.entry((d.addr, d.port)).or_insert(d);
            if !wanted.contains(&(d.addr, d.port)) {
                ops.push(Op::DelDest(s.clone(), *d));
            }
        }
        for d in &want.dests {
            match had.get(&(d.addr, d.port)) {
                None => ops.push(Op::AddDest(s.clone(), *d)),
                Some(h) if !same_dest(h, d) => ops.push(Op::SetDest(s.clone(), *d)),
                Some(_) => {}
            }
        }
    }
    ops
}

/// What the kernel holds once every operation of `diff(&current,
/// wanted)` succeeded: the wanted services as wanted, the others as they
/// were.
pub fn applied(
    mut current: Vec<(Service, Vec<Dest>)>,
    wanted: &[VirtualService],
) -> Vec<(Service, Vec<Dest>)> {
    let keys: HashSet<ServiceKey> = wanted.iter().map(|w| w.service.key).collect();
    current.retain(|(s, _)| !keys.contains(&s.key));
    current.extend(wanted.iter().map(|w| (w.service.clone(), w.dests.clone())));
    current
}

/// keepalived's shutdown without `lvs_flush_on_stop`: each destination
/// removed, then each service.
pub fn teardown(desired: &Desired) -> Vec<Op> {
    let mut ops = Vec::new();
    for want in &desired.services {
        for d in &want.dests {
            ops.push(Op::DelDest(want.service.clone(), *d));
        }
        ops.push(Op::DelService(want.service.clone()));
    }
    ops
}

/// `lvs_flush_on_stop VS`: each service deleted whole.
pub fn teardown_services(desired: &Desired) -> Vec<Op> {
    desired
        .services
        .iter()
        .map(|w| Op::DelService(w.service.clone()))
        .collect()
}

/// Dumps every service with its destinations.
pub fn current<T: Transport>(c: &mut Client<T>) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
    let mut out = Vec::new();
    for s in c.services()? {
        let dests = c.dests(&s.service.key)?;
        out.push((s.service, dests.into_iter().map(|d| d.dest).collect()));
    }
    Ok(out)
}

/// Runs `ops` in order with keepalived's error policy; a failing operation
/// is reported and the rest still run (as keepalived logs and goes on).
pub fn execute<T: Transport>(c: &mut Client<T>, ops: &[Op]) -> Vec<(Op, Error)> {
    let mut errors = Vec::new();
    for op in ops {
        if let Err(e) = c.apply(&op.request()) {
            errors.push((op.clone(), e));
        }
    }
    errors
}

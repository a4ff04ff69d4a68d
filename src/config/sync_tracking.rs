//! Tracking in sync groups, as keepalived 2.2.7 completes it: a member
//! (unless its group has `sync_group_tracking_weight`) and an address
//! owner run no weighted tracker of their own (`vrrp_complete_instance`),
//! and a group with an address owner among its members runs its own
//! trackers unweighted (`sync_group_tracking_init`). The configuration is
//! changed here, once, so that the daemon, the dumps and `-t` all see what
//! keepalived runs.

use super::parser::Ctx;
use super::vrrp::{Priority, TrackRef, Tracking, Weight};

/// The kinds of tracker, in keepalived's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Interface,
    Script,
    File,
    Process,
    Bfd,
}

/// The weight a reference runs with: its own, else its definition's
/// (a script's 0, a file's 1, a process's or a BFD's as defined).
fn weight(ctx: &Ctx, kind: Kind, r: &TrackRef) -> i32 {
    if let Some(w) = r.weight {
        return i32::from(w.value);
    }
    let v = &ctx.cfg.vrrp;
    match kind {
        Kind::Interface => 0,
        Kind::Script => {
            (v.scripts.iter().find(|s| s.name == r.name)).map_or(0, |s| i32::from(s.weight.value))
        }
        Kind::File => (v.track_files.iter().find(|f| f.name == r.name))
            .map_or(1, |f| i32::from(f.weight.value)),
        Kind::Process => (v.track_processes.iter().find(|p| p.name == r.name))
            .map_or(0, |p| i32::from(p.weight.value)),
        Kind::Bfd => (ctx.cfg.bfd.iter().find(|b| b.name == r.name)).map_or(0, |b| b.weight),
    }
}

/// The list of `kind` in `t`.
fn refs(t: &mut Tracking, kind: Kind) -> &mut Vec<TrackRef> {
    match kind {
        Kind::Interface => &mut t.interfaces,
        Kind::Script => &mut t.scripts,
        Kind::File => &mut t.files,
        Kind::Process => &mut t.processes,
        Kind::Bfd => &mut t.bfds,
    }
}

/// Unweighted, keeping `reverse` (keepalived keeps the multiplier).
fn unweighted(r: &mut TrackRef) {
    let reverse = r.weight.is_some_and(|w| w.reverse);
    r.weight = Some(Weight { value: 0, reverse });
}

/// keepalived's `vrrp_complete_instance` for instance `idx`, a member of a
/// sync group without `sync_group_tracking_weight` (`sync`) or an address
/// owner: a weighted interface becomes unweighted (a member) or is not
/// tracked (an owner); weighted scripts and BFDs are not tracked; a file
/// at the default weight 1 becomes unweighted, other weighted files are
/// not tracked. Processes are left as they are.
pub(super) fn strip_instance_weights(ctx: &mut Ctx, idx: usize, sync: bool) {
    let why = |owner_text: &'static str| if sync { "SYNC group" } else { owner_text };
    let name = ctx.cfg.vrrp.instances[idx].name.clone();
    for kind in [Kind::Interface, Kind::Script, Kind::File, Kind::Bfd] {
        let list = refs(&mut ctx.cfg.vrrp.instances[idx].track, kind).clone();
        let mut kept = Vec::with_capacity(list.len());
        for mut r in list {
            let w = weight(ctx, kind, &r);
            let n = &r.name;
            let msg = match (kind, w) {
                (_, 0) => None,
                (Kind::Interface, _) if sync => Some(format!(
                    "({name}) ignoring {n} tracked interface weight due to SYNC group"
                )),
                (Kind::Interface, _) => Some(format!(
                    "({name}) ignoring {n} tracked interface due to address owner"
                )),
                (Kind::Script, _) => Some(format!(
                    "({name}) ignoring tracked script {n} with weights due to {}",
                    why("address_owner")
                )),
                (Kind::File, 1) => Some(format!(
                    "({name}) ignoring weight from tracked file {n} due to {}. specify weight 0",
                    why("address_owner")
                )),
                (Kind::File, _) => Some(format!(
                    "({name}) ignoring tracked file {n} with weight {w} due to {}",
                    why("address_owner")
                )),
                (Kind::Bfd, _) => Some(format!(
                    "({name}) ignoring tracked bfd {n} with weight {w} due to {}",
                    why("address_owner")
                )),
                (Kind::Process, _) => None,
            };
            let Some(msg) = msg else {
                kept.push(r);
                continue;
            };
            ctx.err_loc(r.loc.clone(), msg);
            match kind {
                Kind::Interface if sync => unweighted(&mut r),
                Kind::File if w == 1 => unweighted(&mut r),
                _ => continue,
            }
            kept.push(r);
        }
        *refs(&mut ctx.cfg.vrrp.instances[idx].track, kind) = kept;
    }
}

/// keepalived's `sync_group_tracking_init`: a group with an address owner
/// among its members runs its trackers unweighted; an interface tracked by
/// the group and by a member itself is reported.
pub(super) fn complete_groups(ctx: &mut Ctx) {
    for gi in 0..ctx.cfg.vrrp.sync_groups.len() {
        let g = &ctx.cfg.vrrp.sync_groups[gi];
        if g.members.is_empty() {
            continue;
        }
        let gname = g.name.clone();
        let members: Vec<usize> = (g.members.iter())
            .filter_map(|(m, _)| ctx.cfg.vrrp.instances.iter().position(|i| i.name == *m))
            .collect();
        let has_owner = (members.iter())
            .any(|&i| ctx.cfg.vrrp.instances[i].effective_priority() == Priority::OWNER);
        for kind in [
            Kind::Script,
            Kind::File,
            Kind::Process,
            Kind::Bfd,
            Kind::Interface,
        ] {
            let list = refs(&mut ctx.cfg.vrrp.sync_groups[gi].track, kind).clone();
            for (k, r) in list.iter().enumerate() {
                if has_owner && weight(ctx, kind, r) != 0 {
                    let (what, action) = match kind {
                        Kind::Script => ("script", "clearing weight"),
                        Kind::Interface => ("interface", "clearing weight"),
                        Kind::File => ("file", "setting weight 0"),
                        Kind::Process => ("process", "setting weight 0"),
                        Kind::Bfd => ("bfd", "setting weight 0"),
                    };
                    ctx.err_loc(
                        r.loc.clone(),
                        format!(
                            "({gname}) Cannot have weighted track {what} '{}' with member having priority 255 - {action}",
                            r.name
                        ),
                    );
                    unweighted(&mut refs(&mut ctx.cfg.vrrp.sync_groups[gi].track, kind)[k]);
                }
                if kind == Kind::Interface {
                    for &m in &members {
                        let i = &ctx.cfg.vrrp.instances[m];
                        let own = i.interface.as_deref() == Some(r.name.as_str())
                            && !i.dont_track_primary;
                        if own || i.track.interfaces.iter().any(|x| x.name == r.name) {
                            let msg = format!("({}) track_interface {} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config", i.name, r.name);
                            ctx.err_loc(r.loc.clone(), msg);
                        }
                    }
                }
            }
        }
    }
}

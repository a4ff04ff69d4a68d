//! Which trackers an instance runs and with which weight: its own, then
//! its sync group's, as keepalived 2.2.7 adds them (`alloc_track_*`,
//! `sync_group_tracking_init`, `add_vrrp_to_track_*`). The weights that
//! keepalived strips from sync-group members and address owners are
//! already stripped in the configuration (`config::sync_tracking`).

use crate::config::vrrp::{TrackRef, Tracking, VrrpInstance};
use crate::config::Config;

/// One tracked object of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackUse {
    /// Interface or `vrrp_script` name.
    pub name: String,
    /// Weight (0: down means FAULT).
    pub weight: i32,
    /// `reverse`.
    pub reverse: bool,
}

/// An instance's trackers, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracks {
    /// `track_interface`s.
    pub interfaces: Vec<TrackUse>,
    /// `track_script`s.
    pub scripts: Vec<TrackUse>,
    /// `track_file`s.
    pub files: Vec<TrackUse>,
    /// `track_process`es.
    pub processes: Vec<TrackUse>,
    /// `track_bfd`s.
    pub bfds: Vec<TrackUse>,
}

/// `r` with its own `weight [reverse]`, else its definition's (`def`).
fn use_of(r: &TrackRef, def: (i32, bool)) -> TrackUse {
    let (weight, reverse) = r.weight.map_or(def, |w| (i32::from(w.value), w.reverse));
    TrackUse {
        name: r.name.clone(),
        weight,
        reverse,
    }
}

/// The uses of `refs`; `def` gives a definition's weight, `None` for an
/// unknown name, which is left out.
fn uses(refs: &[TrackRef], def: impl Fn(&str) -> Option<(i32, bool)>) -> Vec<TrackUse> {
    (refs.iter())
        .filter_map(|r| def(&r.name).map(|d| use_of(r, d)))
        .collect()
}

/// `group`'s trackers added to an instance's `own`. Tracked both ways,
/// keepalived keeps the instance's entry with the group's weight (and
/// `reverse`, except for processes) unless the instance's is unweighted,
/// and logs it (`add_vrrp_to_track_script` & co; `what` is the keyword,
/// `None` for interfaces, reported with the configuration instead).
fn add_group(
    own: &mut Vec<TrackUse>,
    group: Vec<TrackUse>,
    what: Option<&str>,
    inst: &str,
    logs: &mut Vec<String>,
) {
    for g in group {
        let Some(t) = own.iter_mut().find(|t| t.name == g.name) else {
            own.push(g);
            continue;
        };
        if let Some(what) = what {
            logs.push(format!(
                "({inst}) {what} {} is configured on VRRP instance and sync group. Remove vrrp instance config",
                g.name
            ));
        }
        if t.weight != 0 {
            t.weight = g.weight;
            if what != Some("track_process") {
                t.reverse = g.reverse;
            }
        }
    }
}

/// The trackers `inst` runs, its own then those of its sync group
/// (`group`), with the lines keepalived logs about trackers set on both.
pub fn plan_tracks(
    inst: &VrrpInstance,
    group: Option<&Tracking>,
    config: &Config,
) -> (Tracks, Vec<String>) {
    let v = &config.vrrp;
    let script = |n: &str| {
        let s = v.scripts.iter().find(|s| s.name == n);
        Some(s.map_or((0, false), |s| {
            (i32::from(s.weight.value), s.weight.reverse)
        }))
    };
    let file = |n: &str| {
        let f = v.track_files.iter().find(|f| f.name == n);
        Some(f.map_or((1, false), |f| {
            (i32::from(f.weight.value), f.weight.reverse)
        }))
    };
    let process = |n: &str| {
        let p = v.track_processes.iter().find(|p| p.name == n);
        p.map(|p| (i32::from(p.weight.value), p.weight.reverse))
    };
    let bfd = |n: &str| {
        let b = config.bfd.iter().find(|b| b.name == n);
        b.map(|b| (b.weight, b.reverse))
    };
    let interface = |_: &str| Some((0, false));
    let t = &inst.track;
    let mut out = Tracks {
        interfaces: uses(&t.interfaces, interface),
        scripts: uses(&t.scripts, script),
        files: uses(&t.files, file),
        processes: uses(&t.processes, process),
        bfds: uses(&t.bfds, bfd),
    };
    let mut logs = Vec::new();
    let Some(g) = group else {
        return (out, logs);
    };
    let name = &inst.name;
    add_group(
        &mut out.scripts,
        uses(&g.scripts, script),
        Some("track_script"),
        name,
        &mut logs,
    );
    add_group(
        &mut out.files,
        uses(&g.files, file),
        Some("track_file"),
        name,
        &mut logs,
    );
    let procs = uses(&g.processes, process);
    add_group(
        &mut out.processes,
        procs,
        Some("track_process"),
        name,
        &mut logs,
    );
    add_group(
        &mut out.bfds,
        uses(&g.bfds, bfd),
        Some("track_bfd"),
        name,
        &mut logs,
    );
    // The instance's own interface is tracked unweighted already, unless
    // `dont_track_primary`.
    let own_if = |n: &str| !inst.dont_track_primary && inst.interface.as_deref() == Some(n);
    let ifs = uses(&g.interfaces, interface)
        .into_iter()
        .filter(|u| !own_if(&u.name))
        .collect();
    add_group(&mut out.interfaces, ifs, None, name, &mut logs);
    (out, logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, ReaderOptions};

    fn load(text: &str) -> (Config, Vec<String>) {
        let l = config::load_str("t.conf", text, ReaderOptions::default());
        let msgs = l.report.diags.iter().map(|d| d.message.clone()).collect();
        (l.config, msgs)
    }

    fn got(t: &[TrackUse]) -> Vec<(&str, i32, bool)> {
        t.iter()
            .map(|t| (t.name.as_str(), t.weight, t.reverse))
            .collect()
    }

    fn plan(c: &Config, i: usize) -> (Tracks, Vec<String>) {
        let inst = &c.vrrp.instances[i];
        let g =
            (c.vrrp.sync_groups.iter()).find(|g| g.members.iter().any(|(m, _)| *m == inst.name));
        plan_tracks(inst, g.map(|g| &g.track), c)
    }

    #[test]
    fn track_bfd_takes_the_bfd_instance_weight_unless_given() {
        let (c, _) = load(
            "bfd_instance b1 {\n neighbor_ip 10.0.0.2\n weight -20 reverse\n}\nbfd_instance b2 {\n neighbor_ip 10.0.0.3\n}\nvrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n track_bfd {\n  b1\n  b2 weight 5\n }\n}\nvrrp_sync_group G {\n global_tracking\n group {\n  VI_1\n }\n track_bfd {\n  b2\n }\n}\n",
        );
        let (t, logs) = plan(&c, 0);
        // b2 on both: the group's weight (0) over the instance's 5.
        assert_eq!(got(&t.bfds), vec![("b1", -20, true), ("b2", 0, false)]);
        assert_eq!(logs, vec!["(VI_1) track_bfd b2 is configured on VRRP instance and sync group. Remove vrrp instance config"]);
    }

    #[test]
    fn track_process_weights_from_instance_group_and_definition() {
        // keepalived 2.2.7 `alloc_track_process` (the definition's weight
        // unless given) and `add_vrrp_to_track_process` (tracked by the
        // instance and its group: the group's weight, unless 0 was given).
        let (c, _) = load(
            "vrrp_track_process p1 {\n process a\n weight -20 reverse\n}\n\
             vrrp_track_process p2 {\n process b\n}\n\
             vrrp_track_process p3 {\n process c\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 1\n \
             track_process {\n  p1\n  p2 weight 0\n }\n}\n\
             vrrp_sync_group G {\n group {\n  VI_1\n }\n track_process {\n  p2 weight 5\n  p3\n }\n}\n",
        );
        let (t, logs) = plan(&c, 0);
        assert_eq!(
            got(&t.processes),
            vec![("p1", -20, true), ("p2", 0, false), ("p3", 0, false)]
        );
        assert_eq!(
            logs,
            vec!["(VI_1) track_process p2 is configured on VRRP instance and sync group. Remove vrrp instance config"]
        );
    }

    /// keepalived 2.2.7 `vrrp_complete_instance` and
    /// `sync_group_tracking_init`: a member's weighted script is dropped,
    /// its weighted interface and default-weight file become unweighted;
    /// the group's trackers reach every member with the group's weight.
    #[test]
    fn sync_group_trackers_reach_every_member_and_members_lose_their_weights() {
        let (c, msgs) = load(
            "vrrp_script s1 {\n script /bin/true\n weight 10\n}\n\
             vrrp_script s2 {\n script /bin/true\n}\n\
             vrrp_track_file f1 {\n file /tmp/x\n}\n\
             vrrp_instance A {\n interface lo\n virtual_router_id 1\n \
             track_script {\n  s1\n }\n track_file {\n  f1\n }\n}\n\
             vrrp_instance B {\n interface lo\n virtual_router_id 2\n}\n\
             vrrp_sync_group G {\n group {\n  A\n  B\n }\n \
             track_script {\n  s2 weight -5 reverse\n }\n track_file {\n  f1 weight 7\n }\n}\n",
        );
        assert!(
            msgs.contains(
                &"(A) ignoring tracked script s1 with weights due to SYNC group".to_string()
            ),
            "{msgs:?}"
        );
        assert!(
            msgs.contains(
                &"(A) ignoring weight from tracked file f1 due to SYNC group. specify weight 0"
                    .to_string()
            ),
            "{msgs:?}"
        );
        let (a, logs) = plan(&c, 0);
        assert_eq!(got(&a.scripts), vec![("s2", -5, true)]);
        // f1 unweighted on A: it stays unweighted (keepalived's merge).
        assert_eq!(got(&a.files), vec![("f1", 0, false)]);
        assert_eq!(logs, vec!["(A) track_file f1 is configured on VRRP instance and sync group. Remove vrrp instance config"]);
        let (b, logs) = plan(&c, 1);
        assert_eq!(got(&b.scripts), vec![("s2", -5, true)]);
        assert_eq!(got(&b.files), vec![("f1", 7, false)]);
        assert!(logs.is_empty());
    }

    #[test]
    fn a_group_with_an_address_owner_runs_its_trackers_unweighted() {
        let (c, msgs) = load(
            "vrrp_script s1 {\n script /bin/true\n weight 10\n}\n\
             vrrp_instance A {\n interface lo\n virtual_router_id 1\n priority 255\n}\n\
             vrrp_instance B {\n interface lo\n virtual_router_id 2\n}\n\
             vrrp_sync_group G {\n group {\n  A\n  B\n }\n track_script {\n  s1\n }\n}\n",
        );
        assert!(msgs.contains(&"(G) Cannot have weighted track script 's1' with member having priority 255 - clearing weight".to_string()), "{msgs:?}");
        assert_eq!(got(&plan(&c, 1).0.scripts), vec![("s1", 0, false)]);
    }
}

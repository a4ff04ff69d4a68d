//! The dump signals of the VRRP child: keepalived.data, .stats and .json.

use super::*;

/// What a dump signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DumpKind {
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
    pub(super) fn dump(&mut self, config: &Config, kind: DumpKind) {
        let (file, text) = match kind {
            DumpKind::Data => {
                log_line(&format!(
                    "Printing VRRP data for process({}) on signal",
                    std::process::id()
                ));
                let (infos, scripts) = self.dump_infos(config);
                let g = dump::GlobalInfo::from_config(&config.global);
                let mut text = dump::data(&g, &self.cur.router, &infos, &scripts);
                text.push_str(&self.process_dump());
                (dump::DATA_FILE, text)
            }
            DumpKind::Stats | DumpKind::StatsClear => {
                log_line(&format!(
                    "Printing VRRP stats for process({}) on signal",
                    std::process::id()
                ));
                (dump::STATS_FILE, dump::stats(&self.cur.router))
            }
            DumpKind::Json => {
                log_line(&format!(
                    "Printing VRRP as json for process({}) on signal",
                    std::process::id()
                ));
                let (infos, _) = self.dump_infos(config);
                (dump::JSON_FILE, dump::json(&self.cur.router, &infos))
            }
        };
        let path = dump::path(file);
        if let Err(e) = dump::write(&path, &text) {
            log_line(&format!("Unable to write {}: {e}", path.display()));
        }
        if kind == DumpKind::StatsClear {
            self.cur.router.clear_stats();
        }
    }

    /// The `vrrp_track_process` section, with the instances tracking each.
    fn process_dump(&self) -> String {
        let procs = &self.cur.procs;
        let tracking: Vec<Vec<dump::track_process::TrackedBy>> = (procs.specs().iter())
            .map(|sp| {
                (self.cur.insts.iter())
                    .flat_map(|i| {
                        let name = &i.plan.config.name;
                        (i.plan.tracks.processes.iter())
                            .filter(|t| t.name == sp.name)
                            .map(|t| (name.clone(), t.weight, t.reverse))
                    })
                    .collect()
            })
            .collect();
        dump::track_process::section(procs, &tracking)
    }

    /// The facts about instances and scripts that only the driver knows.
    fn dump_infos(&self, config: &Config) -> (Vec<dump::InstanceInfo>, Vec<dump::ScriptInfo>) {
        let g = &config.global;
        let name_of = |index: u32| {
            self.cur
                .insts
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
            .cur
            .insts
            .iter()
            .map(|i| {
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
                        .tracks
                        .interfaces
                        .iter()
                        .filter(|t| t.name != i.link.name)
                        .map(|t| (t.name.clone(), t.weight))
                        .collect(),
                    track_scripts: p
                        .tracks
                        .scripts
                        .iter()
                        .filter(|t| self.cur.script_trackers.contains_key(&t.name))
                        .map(|t| (t.name.clone(), t.weight, command(&t.name)))
                        .collect(),
                    track_processes: (p.tracks.processes.iter())
                        .map(|t| (t.name.clone(), t.weight, t.reverse))
                        .collect(),
                    dont_track_primary: p.dont_track_primary,
                    accept: vi.is_some_and(|v| crate::config::vrrp::effective_accept(v, g)),
                    promote_secondaries: vi.is_some_and(|v| v.promote_secondaries),
                    strict: g.vrrp_strict,
                    last_transition: self.transitions.last(&p.config.name),
                }
            })
            .collect();
        let scripts = config
            .vrrp
            .scripts
            .iter()
            .filter_map(|sc| {
                let &tracker = self.cur.script_trackers.get(&sc.name)?;
                Some(dump::ScriptInfo {
                    name: sc.name.clone(),
                    command: command(&sc.name),
                    interval: sc.interval,
                    timeout: sc.timeout.unwrap_or_default(),
                    weight: i32::from(sc.weight.value),
                    rise: sc.rise.max(1),
                    fall: sc.fall.max(1),
                    good: self.cur.router.tracker(tracker) == Some(TrackerValue::Up(true)),
                    tracking: self
                        .cur
                        .insts
                        .iter()
                        .flat_map(|i| {
                            i.plan
                                .tracks
                                .scripts
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

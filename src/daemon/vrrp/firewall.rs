//! The VRRP driver's side of the nftables firewall ([`crate::firewall`]):
//! which elements each MASTER holds, which VMACs are registered, and the
//! batches sent when that changes. Failures are logged, never fatal: the
//! state machine goes on without the firewall, as keepalived's does.

use std::collections::HashMap;

use super::{Driver, InstanceId};
use crate::config::Config;
use crate::daemon::log::log_line;
use crate::firewall::nft::{Batch, NfProto};
use crate::firewall::socket::NftSocket;
use crate::firewall::{Element, Firewall, FirewallConfig};
use crate::vrrp::instance::State;

/// The firewall, its socket and what it holds for whom.
pub(super) struct Fw {
    fw: Firewall,
    sock: NftSocket,
    /// Elements added for each instance, by name (names survive reloads).
    held: HashMap<String, Vec<Element>>,
    /// VMACs registered: ifindex → (base ifindex, families).
    vmacs: HashMap<u32, (u32, Vec<NfProto>)>,
}

impl Fw {
    /// The firewall `config` needs, if any; logs keepalived's line when it
    /// is chosen for the operator.
    pub(super) fn open(config: &Config) -> Option<Fw> {
        let (cfg, auto) = FirewallConfig::of(config);
        let cfg = cfg?;
        if auto {
            log_line("use_vmac or no_accept/strict specified, but no firewall configured - using nftables");
        }
        match NftSocket::open() {
            Ok(sock) => Some(Fw {
                fw: Firewall::new(cfg, 0),
                sock,
                held: HashMap::new(),
                vmacs: HashMap::new(),
            }),
            Err(e) => {
                log_line(&format!(
                    "nftables: unable to open the netfilter socket: {e}"
                ));
                None
            }
        }
    }

    /// The configuration, to see whether a reload changed it.
    pub(super) fn config(&self) -> &FirewallConfig {
        self.fw.config()
    }

    fn apply(&mut self, what: &str, b: Batch) {
        for l in self.fw.log.drain(..) {
            log_line(&l);
        }
        if let Err(e) = self.sock.apply(&b) {
            log_line(&format!("nftables: {what}: {e}"));
        }
    }

    /// `name` now holds `want`: what it held and does not want goes, what
    /// it wants and did not hold comes.
    fn hold(&mut self, name: &str, want: Vec<Element>) {
        let had = self.held.remove(name).unwrap_or_default();
        let gone: Vec<Element> = had.iter().filter(|e| !want.contains(e)).cloned().collect();
        let new: Vec<Element> = want.iter().filter(|e| !had.contains(e)).cloned().collect();
        if !gone.is_empty() {
            let b = self.fw.remove(&gone);
            self.apply("removing drop rules", b);
        }
        if !new.is_empty() {
            let b = self.fw.add(&new, &mut self.sock);
            self.apply("setting drop rules", b);
        }
        if !want.is_empty() {
            self.held.insert(name.to_string(), want);
        }
    }

    /// A VMAC (`vmac` on `base`) is up: register it once.
    pub(super) fn vmac_up(&mut self, vmac: u32, base: u32, families: Vec<NfProto>) {
        if self.vmacs.get(&vmac).is_some_and(|v| v.0 == base) {
            return;
        }
        let b = self.fw.add_vmac(vmac, base, &families, &mut self.sock);
        self.apply("adding VMAC", b);
        self.vmacs.insert(vmac, (base, families));
    }

    /// A VMAC is about to be deleted.
    pub(super) fn vmac_down(&mut self, vmac: u32) {
        if let Some((base, fams)) = self.vmacs.remove(&vmac) {
            let b = self.fw.remove_vmac(vmac, base, &fams);
            self.apply("removing VMAC", b);
        }
    }

    /// Stop: the tables go.
    pub(super) fn stop(&mut self) {
        self.held.clear();
        self.vmacs.clear();
        let b = self.fw.cleanup();
        self.apply("deleting tables", b);
    }
}

impl Driver {
    /// The elements instance `id` drops traffic for while MASTER: none with
    /// accept mode or as the address owner.
    fn fw_elements(&self, id: InstanceId) -> Vec<Element> {
        let Some(fw) = &self.fw else {
            return Vec::new();
        };
        let i = &self.cur.insts[id];
        if !i.plan.config.drops_vip_traffic {
            return Vec::new();
        }
        let p = &i.plan;
        p.vips
            .iter()
            .chain(&p.evips)
            .map(|a| {
                let on_vip_link = a.ifindex == i.vip_link.index;
                let by_name = !fw.config().force_ifindex
                    && p.dont_track_primary
                    && (on_vip_link || !p.tracked.contains(a));
                let ifname = if on_vip_link {
                    i.vip_link.name.clone()
                } else {
                    self.ifname(a.ifindex)
                };
                Element::of(a.addr, a.ifindex, &ifname, by_name)
            })
            .collect()
    }

    /// Instance `id` takes (`add`) or releases its VIPs: keepalived's
    /// `vrrp_handle_accept_mode`, before the addresses on the way up and
    /// after them on the way down (the core logs its `-D` lines).
    pub(super) fn fw_instance(&mut self, id: InstanceId, add: bool) {
        if self.fw.is_none() || !self.cur.insts[id].plan.config.drops_vip_traffic {
            return;
        }
        let name = self.cur.insts[id].plan.config.name.clone();
        let want = if add {
            self.fw_elements(id)
        } else {
            Vec::new()
        };
        if let Some(fw) = &mut self.fw {
            fw.hold(&name, want);
        }
    }

    /// After a reload: every MASTER holds what its new configuration
    /// drops, and instances gone or no longer dropping hold nothing.
    pub(super) fn fw_reconcile(&mut self) {
        let Some(fw) = &self.fw else { return };
        let mut names: Vec<String> = fw.held.keys().cloned().collect();
        let mut wants = Vec::new();
        for id in 0..self.cur.insts.len() {
            let master = self.cur.router.instance(id).state() == State::Master;
            let name = self.cur.insts[id].plan.config.name.clone();
            names.retain(|n| *n != name);
            if master || fw.held.contains_key(&name) {
                let want = if master {
                    self.fw_elements(id)
                } else {
                    Vec::new()
                };
                wants.push((name, want));
            }
        }
        let fw = self.fw.as_mut().expect("checked above");
        for n in names {
            fw.hold(&n, Vec::new());
        }
        for (n, want) in wants {
            fw.hold(&n, want);
        }
    }
}

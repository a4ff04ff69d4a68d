//! Instances whose interface (`dynamic_interfaces`) or source address is
//! missing: they wait in FAULT with keepalived's lines, and a netlink
//! event for that interface rebuilds the configuration, as a reload does.

use super::*;

impl Driver {
    /// Instance `vi` waits for interface `ifname` (`missing`) or its
    /// address: keepalived's FAULT lines, the first time only.
    pub(super) fn wait_for(&self, b: &mut Built, vi: &VrrpInstance, ifname: &str, missing: bool) {
        let name = &vi.name;
        if !self.waiting.iter().any(|(i, _)| i == name) {
            if missing {
                log_line(&format!("Configuration specifies interface {ifname} which doesn't currently exist - will use if created"));
                log_line(&format!(
                    "({name}): entering FAULT state (interface {ifname} down)"
                ));
            }
            let family = if vi.is_v6() { 6 } else { 4 };
            log_line(&format!(
                "({name}) entering FAULT state (no IPv{family} address for interface)"
            ));
            log_line(&format!("({name}) entering FAULT state"));
        }
        b.waiting.push((name.clone(), ifname.into()));
    }

    /// Whether a netlink event about `ifname` may let a waiting instance start.
    pub(super) fn awaits(&self, ifname: &str) -> bool {
        self.waiting.iter().any(|(_, i)| i == ifname)
    }

    /// Builds the running configuration again, after an interface or an
    /// address some instance waited for appeared: the running instances
    /// are kept as by a reload, with no transition.
    pub(super) async fn rebuild(&mut self, config: &Config) {
        let b = self.build(config).await;
        self.switch(b).await;
    }

    /// An address some waiting instance may need: build again.
    pub(super) async fn address_added(
        &mut self,
        a: &crate::daemon::netlink::Addr,
        config: &Config,
    ) {
        // Our own VIPs are no source address (keepalived takes the first
        // address that is not a VIP): a master adding hundreds of them
        // must not rebuild the configuration once each.
        let ours = || {
            self.cur
                .insts
                .iter()
                .flat_map(|i| i.plan.vips.iter().chain(&i.plan.evips))
                .any(|v| v.addr == a.addr)
        };
        if self.waiting.is_empty() || ours() {
            return;
        }
        let Ok(Some(link)) = self.nl.link_by_index(a.ifindex).await else {
            return;
        };
        if self.awaits(&link.name) {
            if self.detail {
                log_line(&format!(
                    "Assigned address {} for interface {}",
                    a.addr, link.name
                ));
            }
            self.rebuild(config).await;
        }
    }
}

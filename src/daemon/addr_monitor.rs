//! `-a` (`--address-monitoring`): every address addition and deletion the
//! kernel reports is logged, as keepalived's netlink reflector does. The
//! VRRP child names the interface (`Netlink reflector reports IP 10.0.0.1
//! added to eth0`), the checker child does not (`... IP 10.0.0.1 added`).
//! Both log the addresses present at start, read from a dump, and neither
//! logs the changes it made itself (keepalived skips messages its own
//! command socket caused).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use super::log::log_line;
use super::netlink::{Addr, NetEvent, Netlink};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns address monitoring on for this process (`-a`), once at start.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether `-a` was given.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The VRRP child's line for an address change on interface `ifname`.
pub fn vrrp_line(a: &Addr, ifname: &str, added: bool) -> String {
    let how = if added { "added to" } else { "removed from" };
    format!("Netlink reflector reports IP {} {how} {ifname}", a.addr)
}

/// The checker child's line for an address change.
pub fn checker_line(a: &Addr, added: bool) -> String {
    let how = if added { "added" } else { "removed" };
    format!("Netlink reflector reports IP {} {how}", a.addr)
}

/// The VRRP child's reflector: knows the interface names by index, as
/// keepalived's interface list, to name them in its lines.
#[derive(Debug, Default)]
pub struct VrrpMonitor {
    names: HashMap<u32, String>,
}

impl VrrpMonitor {
    /// With `-a`: reads the links and logs the addresses present, as
    /// keepalived's start-up lookup does. `None` without `-a`.
    pub async fn start(nl: &Netlink) -> Option<VrrpMonitor> {
        if !enabled() {
            return None;
        }
        let mut m = VrrpMonitor::default();
        if let Ok(links) = nl.links().await {
            m.names = links.into_iter().map(|l| (l.index, l.name)).collect();
        }
        match nl.addresses(None).await {
            Ok(addrs) => {
                for a in &addrs {
                    if let Some(name) = m.names.get(&a.ifindex) {
                        log_line(&vrrp_line(a, name, true));
                    }
                }
            }
            Err(e) => log_line(&format!("Netlink: cannot read the addresses ({e})")),
        }
        Some(m)
    }

    /// Logs an address change (not one of ours) and keeps the interface
    /// names current.
    pub async fn on_event(&mut self, nl: &Netlink, ev: &NetEvent) {
        let (a, added) = match ev {
            NetEvent::LinkUp(l) | NetEvent::LinkDown(l) => {
                self.names.insert(l.index, l.name.clone());
                return;
            }
            NetEvent::AddressAdded(a) => (a, true),
            NetEvent::AddressRemoved(a) => (a, false),
            NetEvent::LinkDeleted(_) | NetEvent::Overrun => return,
        };
        if a.is_ours() {
            return;
        }
        if !self.names.contains_key(&a.ifindex) {
            // A link that appeared since: keepalived knows every interface.
            if let Ok(Some(l)) = nl.link_by_index(a.ifindex).await {
                self.names.insert(l.index, l.name);
            }
        }
        if let Some(name) = self.names.get(&a.ifindex) {
            log_line(&vrrp_line(a, name, added));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn addr(s: &str) -> Addr {
        Addr {
            ifindex: 2,
            addr: s.parse::<IpAddr>().unwrap(),
            prefix_len: 24,
            label: None,
            broadcast: None,
            flags: 0,
            scope: 0,
            preferred_lft: None,
            sender: 0,
        }
    }

    /// Captured from keepalived 2.2.7 with `-a`.
    #[test]
    fn lines_match_keepalived() {
        let a = addr("10.77.0.9");
        assert_eq!(
            vrrp_line(&a, "ka1", true),
            "Netlink reflector reports IP 10.77.0.9 added to ka1"
        );
        assert_eq!(
            vrrp_line(&addr("fd00::9"), "ka1", false),
            "Netlink reflector reports IP fd00::9 removed from ka1"
        );
        assert_eq!(
            checker_line(&a, true),
            "Netlink reflector reports IP 10.77.0.9 added"
        );
        assert_eq!(
            checker_line(&addr("fd00::9"), false),
            "Netlink reflector reports IP fd00::9 removed"
        );
        assert!(!a.is_ours());
    }
}

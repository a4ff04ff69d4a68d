//! `ha_suspend`: the checkers of a virtual server run only while its
//! address is configured on this host (keepalived's
//! `update_checker_activity`). Pure bookkeeping: the checker child feeds
//! the addresses netlink reports and hands the changes to the driver.
//!
//! keepalived counts address additions and removals per virtual server;
//! we keep the set of `(interface, address)` present instead, so that a
//! repeated RTM_NEWADDR (an IPv6 address leaving the tentative state, a
//! flags change) cannot leave a count too high and the checkers running
//! after the address is gone. The same address on two interfaces keeps
//! the checkers running until both are removed, as keepalived's count.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;

use crate::config::lvs::{LvsConfig, VsAddr, VsgEntry};

/// The addresses one `ha_suspend` virtual server answers on.
#[derive(Debug, Clone)]
enum Wanted {
    Addr(IpAddr),
    /// A group's address ranges (`start..=end`).
    Ranges(Vec<(IpAddr, IpAddr)>),
}

impl Wanted {
    fn matches(&self, a: IpAddr) -> bool {
        match self {
            Wanted::Addr(w) => *w == a,
            Wanted::Ranges(r) => r.iter().any(|&(s, e)| in_range(s, e, a)),
        }
    }
}

fn in_range(start: IpAddr, end: IpAddr, a: IpAddr) -> bool {
    match (start, end, a) {
        (IpAddr::V4(s), IpAddr::V4(e), IpAddr::V4(a)) => (s..=e).contains(&a),
        (IpAddr::V6(s), IpAddr::V6(e), IpAddr::V6(a)) => (s..=e).contains(&a),
        _ => false,
    }
}

/// Which `ha_suspend` virtual servers have no local address.
#[derive(Debug, Clone, Default)]
pub struct HaSuspend {
    /// `(virtual server index, its addresses)`, for those with ha_suspend.
    watched: Vec<(usize, Wanted)>,
    /// The local addresses, by interface index.
    present: HashSet<(u32, IpAddr)>,
}

impl HaSuspend {
    /// The `ha_suspend` virtual servers of `lvs` (fwmark ones were
    /// refused at validation: they have no address), no address seen yet.
    pub fn new(lvs: &LvsConfig) -> Self {
        let watched = lvs
            .virtual_servers
            .iter()
            .enumerate()
            .filter(|(_, vs)| vs.ha_suspend && !vs.dropped)
            .filter_map(|(i, vs)| {
                let w = match &vs.addr {
                    VsAddr::Addr(a, _) => Wanted::Addr(*a),
                    VsAddr::Group(name, _) => Wanted::Ranges(
                        lvs.groups
                            .iter()
                            .filter(|g| &g.name == name)
                            .flat_map(|g| &g.entries)
                            .filter_map(|e| match e {
                                VsgEntry::Range { start, end, .. } => Some((*start, *end)),
                                VsgEntry::Fwmark { .. } => None,
                            })
                            .collect(),
                    ),
                    VsAddr::Fwmark(_) => return None,
                };
                Some((i, w))
            })
            .collect();
        HaSuspend {
            watched,
            present: HashSet::new(),
        }
    }

    /// A reload: `lvs`'s virtual servers, the addresses known kept.
    pub fn reconfigure(&mut self, lvs: &LvsConfig) {
        self.watched = HaSuspend::new(lvs).watched;
    }

    /// Whether no virtual server uses `ha_suspend` (keepalived then does
    /// not watch addresses at all).
    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// Whether `a` is one of the watched virtual servers' addresses
    /// (keepalived logs `Netlink reflector reports IP …` only for those).
    pub fn is_watched(&self, a: IpAddr) -> bool {
        self.watched.iter().any(|(_, w)| w.matches(a))
    }

    /// Replaces what is known with a full dump of the local addresses.
    pub fn reset(&mut self, addrs: impl IntoIterator<Item = (u32, IpAddr)>) {
        self.present = addrs.into_iter().collect();
    }

    /// An address was added to (`true`) or removed from interface `ifindex`.
    pub fn update(&mut self, ifindex: u32, a: IpAddr, added: bool) {
        if added {
            self.present.insert((ifindex, a));
        } else {
            self.present.remove(&(ifindex, a));
        }
    }

    /// The watched virtual servers none of whose addresses is local: their
    /// checkers are suspended.
    pub fn suspended(&self) -> BTreeSet<usize> {
        self.watched
            .iter()
            .filter(|(_, w)| !self.present.iter().any(|&(_, a)| w.matches(a)))
            .map(|&(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    fn lvs(parts: &[&str]) -> LvsConfig {
        let text = parts.concat();
        let l = load_str("t.conf", &text, ReaderOptions::default());
        assert!(
            l.config.lvs.virtual_servers.iter().all(|v| !v.dropped),
            "{text}"
        );
        l.config.lvs
    }

    /// A virtual server with a real server (one without is dropped).
    fn vs(addr: &str, ha_suspend: bool) -> String {
        let ha = if ha_suspend { " ha_suspend\n" } else { "" };
        let rs = if addr.contains(':') {
            "2001:db8::9"
        } else {
            "10.9.9.9"
        };
        format!("virtual_server {addr} {{\n protocol TCP\n{ha} real_server {rs} 80 {{\n }}\n}}\n")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// keepalived: "If VS IP address is not set, suspend healthchecker's
    /// activity" (keepalived.conf(5)); only virtual servers with
    /// `ha_suspend` are concerned, and a group's ranges count.
    #[test]
    fn virtual_servers_without_a_local_address_are_suspended() {
        let mut h = HaSuspend::new(&lvs(&[
            "virtual_server_group G {\n 10.0.1.10-20 80\n}\n",
            &vs("10.0.0.1 80", true),
            &vs("10.0.0.2 80", false),
            &vs("group G", true),
            &vs("2001:db8::1 80", true),
        ]));
        assert_eq!(h.suspended(), BTreeSet::from([0, 2, 3]));
        assert!(h.is_watched(ip("10.0.1.15")) && !h.is_watched(ip("10.0.0.2")));
        h.reset([(1, ip("10.0.0.1")), (1, ip("10.0.1.21"))]);
        assert_eq!(h.suspended(), BTreeSet::from([2, 3]));
        h.update(2, ip("10.0.1.20"), true);
        h.update(2, ip("2001:db8::1"), true);
        assert_eq!(h.suspended(), BTreeSet::new());
        h.update(1, ip("10.0.0.1"), false);
        assert_eq!(h.suspended(), BTreeSet::from([0]));
    }

    /// The same address on two interfaces: the checkers stop only when
    /// both are gone; a repeated addition counts once.
    #[test]
    fn an_address_on_two_interfaces_counts_until_both_are_gone() {
        let mut h = HaSuspend::new(&lvs(&[&vs("fe80::1 80", true)]));
        h.update(1, ip("fe80::1"), true);
        h.update(1, ip("fe80::1"), true);
        h.update(2, ip("fe80::1"), true);
        h.update(1, ip("fe80::1"), false);
        assert!(h.suspended().is_empty());
        h.update(2, ip("fe80::1"), false);
        assert_eq!(h.suspended(), BTreeSet::from([0]));
    }
}

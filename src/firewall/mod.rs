//! The nftables firewall keepalived installs for `no_accept` (and
//! `vrrp_strict`, which implies it) and `use_vmac`: a MASTER without accept
//! mode must not answer for its VIPs (RFC 5798 §6.4.3), and a VMAC's
//! IGMP/MLD reports must leave from its base interface.
//!
//! Like keepalived 2.2.7 (`vrrp_nftables.c`), everything is created lazily:
//! the first VIP that needs dropping creates its family's table, chains,
//! set and rules; a leftover table of the same name from an earlier run is
//! deleted first; stop deletes the tables. This module plans the netlink
//! batches ([`nft::Batch`]); [`socket`] sends them.

pub mod nft;
pub mod socket;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use nft::{datatype, reg, Base, Batch, Expr, Meta, NfProto, SetDef, Verdict};

use crate::config::Config;

/// keepalived's default table.
pub const DEFAULT_TABLE: &str = "keepalived";

/// The global firewall options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallConfig {
    /// `nftables NAME`.
    pub table: String,
    /// `nftables_priority` (the base chains' priority, default -1).
    pub priority: i32,
    /// `nftables_counters`: a counter in every rule.
    pub counters: bool,
    /// `nftables_ifindex`: link-local VIPs always by interface index.
    pub force_ifindex: bool,
}

impl FirewallConfig {
    /// The firewall `config` needs, and whether it was chosen for the
    /// operator (keepalived then logs that it uses nftables): some instance
    /// has `use_vmac`, or lacks accept mode without being the address owner.
    pub fn of(config: &Config) -> (Option<FirewallConfig>, bool) {
        let g = &config.global;
        let needed = config
            .vrrp
            .instances
            .iter()
            .any(|i| i.vmac.is_some() || crate::config::vrrp::drops_vip_traffic(i, g));
        let auto = needed && g.nftables.is_none();
        let table = match &g.nftables {
            Some(t) => t.clone(),
            None if needed => DEFAULT_TABLE.to_string(),
            None => return (None, false),
        };
        let fw = FirewallConfig {
            table,
            priority: g.nftables_priority.unwrap_or(-1),
            counters: g.nftables_counters,
            force_ifindex: g.nftables_ifindex,
        };
        (Some(fw), auto)
    }
}

/// An address a MASTER without accept mode drops traffic for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Element {
    /// An IPv4 VIP (`ip keepalived vips`).
    V4([u8; 4]),
    /// A global IPv6 VIP (`ip6 keepalived vips`).
    V6([u8; 16]),
    /// A link-local IPv6 VIP and its interface index (`vips_link_local`).
    LinkLocal([u8; 16], u32),
    /// A link-local IPv6 VIP and its interface name
    /// (`vips_link_local_name`: `dont_track_primary` without
    /// `nftables_ifindex`, the VIP on the instance's interface).
    LinkLocalName([u8; 16], String),
}

impl Element {
    /// The element for `addr` on interface (`ifindex`, `ifname`); `by_name`
    /// chooses the name set for a link-local address.
    pub fn of(addr: IpAddr, ifindex: u32, ifname: &str, by_name: bool) -> Element {
        match addr {
            IpAddr::V4(a) => Element::V4(a.octets()),
            IpAddr::V6(a) if !is_link_local(&a) => Element::V6(a.octets()),
            IpAddr::V6(a) if by_name => Element::LinkLocalName(a.octets(), ifname.to_string()),
            IpAddr::V6(a) => Element::LinkLocal(a.octets(), ifindex),
        }
    }

    fn set(&self) -> (NfProto, &'static str) {
        match self {
            Element::V4(_) => (NfProto::Ipv4, "vips"),
            Element::V6(_) => (NfProto::Ipv6, "vips"),
            Element::LinkLocal(..) => (NfProto::Ipv6, "vips_link_local"),
            Element::LinkLocalName(..) => (NfProto::Ipv6, "vips_link_local_name"),
        }
    }

    fn key(&self) -> Vec<u8> {
        match self {
            Element::V4(a) => a.to_vec(),
            Element::V6(a) => a.to_vec(),
            Element::LinkLocal(a, i) => [&a[..], &i.to_ne_bytes()].concat(),
            Element::LinkLocalName(a, n) => {
                let mut k = a.to_vec();
                let mut name = [0u8; 16];
                let b = n.as_bytes();
                name[..b.len().min(15)].copy_from_slice(&b[..b.len().min(15)]);
                k.extend_from_slice(&name);
                k
            }
        }
    }
}

fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Answers whether a table exists (a GETTABLE round trip).
pub trait Probe {
    /// Whether `table` exists in `family`.
    fn has_table(&mut self, family: NfProto, table: &str) -> bool;
}

/// What has been created so far (keepalived's `*_setup` flags).
#[derive(Debug, Default, Clone, Copy)]
struct Setup {
    table4: bool,
    vips4: bool,
    table6: bool,
    vips6: bool,
    ll_index: bool,
    ll_name: bool,
    igmp4: bool,
    igmp6: bool,
}

/// The firewall's state and batch planner.
#[derive(Debug)]
pub struct Firewall {
    cfg: FirewallConfig,
    setup: Setup,
    /// Instances holding each element: added at 0→1, deleted at 1→0.
    refs: HashMap<Element, u32>,
    /// Transaction-unique set ids, as keepalived numbers them.
    set_id: u32,
    seq: u32,
    /// Lines to log (leftover tables deleted).
    pub log: Vec<String>,
}

impl Firewall {
    /// A firewall with nothing created; `seq` starts the netlink sequence
    /// numbers (keepalived uses the time).
    pub fn new(cfg: FirewallConfig, seq: u32) -> Firewall {
        Firewall {
            cfg,
            setup: Setup::default(),
            refs: HashMap::new(),
            set_id: 0,
            seq,
            log: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FirewallConfig {
        &self.cfg
    }

    fn batch(&self) -> Batch {
        Batch::new(self.seq)
    }

    fn done(&mut self, b: Batch) -> Batch {
        self.seq = b.next_seq();
        b
    }

    /// An instance became MASTER without accept mode: drop traffic for its
    /// VIPs and E-VIPs.
    pub fn add(&mut self, elems: &[Element], probe: &mut dyn Probe) -> Batch {
        let mut b = self.batch();
        let mut new: Vec<&Element> = Vec::new();
        for e in elems {
            let n = self.refs.entry(e.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                self.ensure_set(&mut b, e, probe);
                new.push(e);
            }
        }
        self.elems(&mut b, true, &new);
        self.done(b)
    }

    /// It left MASTER (or stopped): stop dropping them.
    pub fn remove(&mut self, elems: &[Element]) -> Batch {
        let mut b = self.batch();
        let mut gone: Vec<&Element> = Vec::new();
        for e in elems {
            if let Some(n) = self.refs.get_mut(e) {
                *n -= 1;
                if *n == 0 {
                    self.refs.remove(e);
                    gone.push(e);
                }
            }
        }
        self.elems(&mut b, false, &gone);
        self.done(b)
    }

    /// Element messages, one per set in keepalived's order.
    fn elems(&self, b: &mut Batch, add: bool, elems: &[&Element]) {
        for set in [
            (NfProto::Ipv4, "vips"),
            (NfProto::Ipv6, "vips"),
            (NfProto::Ipv6, "vips_link_local"),
            (NfProto::Ipv6, "vips_link_local_name"),
        ] {
            let keys: Vec<(Vec<u8>, Option<Vec<u8>>)> = elems
                .iter()
                .filter(|e| e.set() == set)
                .map(|e| (e.key(), None))
                .collect();
            if !keys.is_empty() {
                b.set_elems(add, set.0, &self.cfg.table, set.1, &keys, add);
            }
        }
    }

    /// A VMAC came up: its IGMP (IPv4) or MLD reports (IPv6) are sent again
    /// from `base` and dropped on the VMAC, and IPv6 router solicitations
    /// dropped. `families`: the instance's, then the other one if it has
    /// E-VIPs of it.
    pub fn add_vmac(
        &mut self,
        vmac: u32,
        base: u32,
        families: &[NfProto],
        probe: &mut dyn Probe,
    ) -> Batch {
        let mut b = self.batch();
        for &f in families {
            self.ensure_igmp(&mut b, f, probe);
            self.vmac_elems(&mut b, true, f, vmac, base);
        }
        self.done(b)
    }

    /// The VMAC went away.
    pub fn remove_vmac(&mut self, vmac: u32, base: u32, families: &[NfProto]) -> Batch {
        let mut b = self.batch();
        for &f in families {
            if self.igmp(f) {
                self.vmac_elems(&mut b, false, f, vmac, base);
            }
        }
        self.done(b)
    }

    fn vmac_elems(&self, b: &mut Batch, add: bool, f: NfProto, vmac: u32, base: u32) {
        let t = &self.cfg.table;
        let key = vmac.to_ne_bytes().to_vec();
        let map = [(key.clone(), Some(base.to_ne_bytes().to_vec()))];
        b.set_elems(add, f, t, "vmac_map", &map, false);
        if f == NfProto::Ipv6 {
            b.set_elems(add, f, t, "vmac_set", &[(key, None)], false);
        }
    }

    fn igmp(&self, f: NfProto) -> bool {
        match f {
            NfProto::Ipv4 => self.setup.igmp4,
            NfProto::Ipv6 => self.setup.igmp6,
        }
    }

    /// Stop: delete the tables created.
    pub fn cleanup(&mut self) -> Batch {
        let mut b = self.batch();
        if self.setup.table4 {
            b.del_table(NfProto::Ipv4, &self.cfg.table);
        }
        if self.setup.table6 {
            b.del_table(NfProto::Ipv6, &self.cfg.table);
        }
        self.setup = Setup::default();
        self.refs.clear();
        self.done(b)
    }

    fn next_set_id(&mut self) -> u32 {
        self.set_id += 1;
        self.set_id
    }

    fn set(&mut self, b: &mut Batch, f: NfProto, def: SetDef) {
        let def = SetDef {
            id: self.next_set_id(),
            ..def
        };
        b.new_set(f, &self.cfg.table, &def);
    }

    fn counter(&self, mut exprs: Vec<Expr>) -> Vec<Expr> {
        if !self.cfg.counters {
            exprs.retain(|e| *e != Expr::Counter);
        }
        exprs
    }

    fn rule(&self, b: &mut Batch, f: NfProto, chain: &str, exprs: Vec<Expr>) {
        b.new_rule(f, &self.cfg.table, chain, &self.counter(exprs));
    }

    /// The first table of either family: a leftover of an earlier run is
    /// deleted (both families) before anything is created.
    fn leftovers(&mut self, b: &mut Batch, probe: &mut dyn Probe) {
        if self.setup.table4 || self.setup.table6 {
            return;
        }
        for (f, word) in [(NfProto::Ipv4, ""), (NfProto::Ipv6, "6")] {
            if probe.has_table(f, &self.cfg.table) {
                self.log
                    .push(format!("Deleting old ip{word} {} table", self.cfg.table));
                b.del_table(f, &self.cfg.table);
            }
        }
    }

    /// The family's table and its `out` chain.
    fn ensure_table(&mut self, b: &mut Batch, f: NfProto, probe: &mut dyn Probe) {
        let done = match f {
            NfProto::Ipv4 => self.setup.table4,
            NfProto::Ipv6 => self.setup.table6,
        };
        if done {
            return;
        }
        self.leftovers(b, probe);
        b.new_table(f, &self.cfg.table);
        b.new_chain(
            f,
            &self.cfg.table,
            "out",
            Some((HOOK_OUT, self.cfg.priority)),
        );
        match f {
            NfProto::Ipv4 => self.setup.table4 = true,
            NfProto::Ipv6 => self.setup.table6 = true,
        }
    }

    /// What element `e` needs before it can be added.
    fn ensure_set(&mut self, b: &mut Batch, e: &Element, probe: &mut dyn Probe) {
        match e {
            Element::V4(_) if !self.setup.vips4 => self.setup_vips4(b, probe),
            Element::V4(_) => {}
            _ => {
                if !self.setup.vips6 {
                    self.setup_vips6(b, probe);
                }
                match e {
                    Element::LinkLocal(..) if !self.setup.ll_index => {
                        self.setup_link_local(b, false);
                        self.setup.ll_index = true;
                    }
                    Element::LinkLocalName(..) if !self.setup.ll_name => {
                        self.setup_link_local(b, true);
                        self.setup.ll_name = true;
                    }
                    _ => {}
                }
            }
        }
    }

    fn setup_vips4(&mut self, b: &mut Batch, probe: &mut dyn Probe) {
        let f = NfProto::Ipv4;
        self.ensure_table(b, f, probe);
        b.new_chain(f, &self.cfg.table, "in", Some((HOOK_IN, self.cfg.priority)));
        self.set(b, f, plain_set("vips", datatype::IPADDR, 4, BIG_ENDIAN));
        self.rule(b, f, "in", addr_drop(f, false));
        self.rule(b, f, "out", addr_drop(f, true));
        self.setup.vips4 = true;
    }

    fn setup_vips6(&mut self, b: &mut Batch, probe: &mut dyn Probe) {
        let f = NfProto::Ipv6;
        self.ensure_table(b, f, probe);
        let t = self.cfg.table.clone();
        b.new_chain(f, &t, "in", Some((HOOK_IN, self.cfg.priority)));
        b.new_chain(f, &t, "in_link_local", None);
        b.new_chain(f, &t, "out_link_local", None);
        self.set(b, f, plain_set("vips", datatype::IP6ADDR, 16, BIG_ENDIAN));
        let nd = SetDef {
            flags: nft::SET_CONSTANT,
            ..plain_set("neighbor-discovery", datatype::ICMPV6_TYPE, 1, HOST)
        };
        self.set(b, f, nd);
        b.set_elems(
            true,
            f,
            &t,
            "neighbor-discovery",
            &[(vec![135], None), (vec![136], None)],
            false,
        );
        self.rule(b, f, "in", nd_accept());
        self.rule(b, f, "in", link_local_goto(false));
        self.rule(b, f, "out", nd_accept());
        self.rule(b, f, "out", link_local_goto(true));
        self.rule(b, f, "in", addr_drop(f, false));
        self.rule(b, f, "out", addr_drop(f, true));
        self.setup.vips6 = true;
    }

    fn setup_link_local(&mut self, b: &mut Batch, by_name: bool) {
        let f = NfProto::Ipv6;
        let (name, ty, len) = if by_name {
            ("vips_link_local_name", datatype::IFNAME, 32)
        } else {
            ("vips_link_local", datatype::IFINDEX, 20)
        };
        let key = (datatype::IP6ADDR << datatype::BITS) | ty;
        self.set(b, f, plain_set(name, key, len, HOST));
        for (chain, out) in [("in_link_local", false), ("out_link_local", true)] {
            let meta = match (out, by_name) {
                (false, false) => Meta::Iif,
                (true, false) => Meta::Oif,
                (false, true) => Meta::IifName,
                (true, true) => Meta::OifName,
            };
            let exprs = vec![
                payload(Base::Network, if out { 8 } else { 24 }, 16),
                Expr::Meta(meta, reg::R2),
                lookup(name, reg::R1, None, 0),
                Expr::Counter,
                Expr::Verdict(Verdict::Drop),
            ];
            self.rule(b, f, chain, exprs);
        }
    }

    fn ensure_igmp(&mut self, b: &mut Batch, f: NfProto, probe: &mut dyn Probe) {
        if self.igmp(f) {
            return;
        }
        self.ensure_table(b, f, probe);
        let map = SetDef {
            flags: nft::SET_MAP,
            map: Some((datatype::IFINDEX, 4)),
            ..plain_set("vmac_map", datatype::IFINDEX, 4, HOST)
        };
        self.set(b, f, map);
        if f == NfProto::Ipv6 {
            self.set(b, f, plain_set("vmac_set", datatype::IFINDEX, 4, HOST));
        }
        let macvlan = {
            let mut k = [0u8; 16];
            k[..7].copy_from_slice(b"macvlan");
            k.to_vec()
        };
        let mut exprs = match f {
            NfProto::Ipv4 => vec![
                payload(Base::Network, 9, 1),
                Expr::CmpEq(reg::R1, vec![2]), // IGMP
                payload(Base::Network, 16, 4),
            ],
            NfProto::Ipv6 => {
                let mut e = icmpv6_type(143); // MLDv2 report
                e.push(payload(Base::Network, 24, 16));
                e
            }
        };
        let oif = [
            Expr::Meta(Meta::OifKind, reg::R2),
            Expr::CmpEq(reg::R2, macvlan),
            Expr::Meta(Meta::Oif, reg::R2),
        ];
        exprs.extend(oif.iter().cloned());
        exprs.extend([
            lookup("vmac_map", reg::R2, Some(reg::R2), 1),
            Expr::Dup(reg::R1, reg::R2),
            Expr::Counter,
            Expr::Verdict(Verdict::Drop),
        ]);
        self.rule(b, f, "out", exprs);
        if f == NfProto::Ipv6 {
            let mut e = icmpv6_type(133); // router solicitation
            e.extend(oif.iter().cloned());
            e.extend([
                lookup("vmac_set", reg::R2, None, 1),
                Expr::Counter,
                Expr::Verdict(Verdict::Drop),
            ]);
            self.rule(b, f, "out", e);
        }
        match f {
            NfProto::Ipv4 => self.setup.igmp4 = true,
            NfProto::Ipv6 => self.setup.igmp6 = true,
        }
    }
}

/// NF_INET_LOCAL_IN and NF_INET_LOCAL_OUT.
const HOOK_IN: u32 = 1;
const HOOK_OUT: u32 = 3;
/// nftables' byte orders of set keys.
const HOST: u32 = 1;
const BIG_ENDIAN: u32 = 2;

fn plain_set(name: &'static str, key_type: u32, key_len: u32, key_byteorder: u32) -> SetDef {
    SetDef {
        name,
        flags: 0,
        key_type,
        key_len,
        map: None,
        id: 0,
        key_byteorder,
    }
}

fn payload(base: Base, offset: u32, len: u32) -> Expr {
    Expr::Payload {
        base,
        offset,
        len,
        dreg: reg::R1,
    }
}

fn lookup(set: &str, sreg: u32, dreg: Option<u32>, set_id: u32) -> Expr {
    Expr::Lookup {
        set: set.to_string(),
        sreg,
        dreg,
        set_id,
    }
}

/// `ip[6] saddr|daddr @vips drop`.
fn addr_drop(f: NfProto, saddr: bool) -> Vec<Expr> {
    let (off, len) = match (f, saddr) {
        (NfProto::Ipv4, true) => (12, 4),
        (NfProto::Ipv4, false) => (16, 4),
        (NfProto::Ipv6, true) => (8, 16),
        (NfProto::Ipv6, false) => (24, 16),
    };
    vec![
        payload(Base::Network, off, len),
        lookup("vips", reg::R1, None, 0),
        Expr::Counter,
        Expr::Verdict(Verdict::Drop),
    ]
}

/// `meta l4proto icmpv6 icmpv6 type T` (the match of the VMAC rules).
fn icmpv6_type(t: u8) -> Vec<Expr> {
    vec![
        Expr::Meta(Meta::L4Proto, reg::R1),
        Expr::CmpEq(reg::R1, vec![58]),
        payload(Base::Transport, 0, 1),
        Expr::CmpEq(reg::R1, vec![t]),
    ]
}

/// `icmpv6 type @neighbor-discovery accept`.
fn nd_accept() -> Vec<Expr> {
    vec![
        payload(Base::Network, 6, 1),
        Expr::CmpEq(reg::R1, vec![58]),
        payload(Base::Transport, 0, 1),
        lookup("neighbor-discovery", reg::R1, None, 0),
        Expr::Counter,
        Expr::Verdict(Verdict::Accept),
    ]
}

/// `ip6 saddr|daddr fe80::/10 goto out|in_link_local`.
fn link_local_goto(out: bool) -> Vec<Expr> {
    let mut mask = vec![0u8; 16];
    mask[..2].copy_from_slice(&[0xff, 0xc0]);
    let mut ll = vec![0u8; 16];
    ll[..2].copy_from_slice(&[0xfe, 0x80]);
    let chain = if out {
        "out_link_local"
    } else {
        "in_link_local"
    };
    vec![
        payload(Base::Network, if out { 8 } else { 24 }, 16),
        Expr::Mask(reg::R1, mask),
        Expr::CmpEq(reg::R1, ll),
        Expr::Counter,
        Expr::Verdict(Verdict::Goto(chain.to_string())),
    ]
}

#[cfg(test)]
mod tests;

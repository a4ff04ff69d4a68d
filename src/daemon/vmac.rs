//! VMACs (`use_vmac`, `use_vmac_addr`, a VIP's `use_vmac`): which
//! addresses go on which VMAC, and the names and MACs keepalived gives
//! them. Pure; the VRRP driver creates the links.

use crate::config::addr::Vip;
use crate::config::global::GlobalDefs;
use crate::config::vrrp::VrrpInstance;

/// Linux's `IFNAMSIZ`, the terminating NUL included.
const IFNAMSIZ: usize = 16;

/// The names keepalived's `create_vmac_name` tries in turn for a VMAC of
/// `vrid`: `PREFIX.VRID`, then for IPv6 `PREFIX6.VRID`, then
/// `PREFIX1.VRID`, `PREFIX2.VRID`, ... (6 skipped for IPv6), the prefix
/// shortened so that the name fits `IFNAMSIZ`.
pub fn vmac_names(prefix: &str, vrid: u8, v6: bool) -> impl Iterator<Item = String> + '_ {
    let nums = v6
        .then_some(6)
        .into_iter()
        .chain((1..100).filter(move |&n| !(v6 && n == 6)));
    std::iter::once(None).chain(nums.map(Some)).map(move |n| {
        let tail = match n {
            Some(n) => format!("{n}.{vrid}"),
            None => format!(".{vrid}"),
        };
        let keep = prefix
            .len()
            .min(IFNAMSIZ - 1 - tail.len().min(IFNAMSIZ - 1));
        // Prefixes are ASCII interface names; cut on a char boundary anyway.
        let cut = (0..=keep).rev().find(|&k| prefix.is_char_boundary(k));
        format!("{}{tail}", &prefix[..cut.unwrap_or(0)])
    })
}

/// The MAC of an instance's VMACs of family `v6`: the one `use_vmac`
/// gives (a 5-octet one gets the VRID appended), else 00:00:5e:00:01:VRID
/// (IPv4) or 00:00:5e:00:02:VRID (IPv6).
pub fn vmac_mac(inst: &VrrpInstance, vrid: u8, v6: bool) -> [u8; 6] {
    let default = [0, 0, 0x5e, 0, if v6 { 2 } else { 1 }, vrid];
    let given = inst.vmac.as_ref().and_then(|v| v.mac.as_deref());
    given
        .and_then(|m| {
            let b: Vec<u8> = m
                .split(':')
                .map(|x| u8::from_str_radix(x, 16).ok())
                .collect::<Option<_>>()?;
            match b.len() {
                6 => b.try_into().ok(),
                5 => Some([b[0], b[1], b[2], b[3], b[4], vrid]),
                _ => None,
            }
        })
        .unwrap_or(default)
}

/// The VMAC of an instance: the names to try in turn (`use_vmac NAME`,
/// else [`vmac_names`] of `vmac_prefix`, default `vrrp`) and its MAC.
pub fn vmac_of(inst: &VrrpInstance, global: &GlobalDefs) -> Option<(Vec<String>, [u8; 6])> {
    let v = inst.vmac.as_ref()?;
    let vrid = inst.vrid?.get();
    let prefix = global.vmac_prefix.as_deref().unwrap_or("vrrp");
    let names = match &v.name {
        Some(n) => vec![n.clone()],
        None => vmac_names(prefix, vrid, inst.is_v6()).take(12).collect(),
    };
    Some((names, vmac_mac(inst, vrid, inst.is_v6())))
}

/// The prefix of address VMACs: `vmac_addr_prefix`, else `vmac_prefix`,
/// else `vrrp`.
pub fn addr_prefix(global: &GlobalDefs) -> &str {
    (global.vmac_addr_prefix.as_deref())
        .or(global.vmac_prefix.as_deref())
        .unwrap_or("vrrp")
}

/// Where a VIP or E-VIP goes, as keepalived's vrrp_complete_instance puts
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VipDev<'a> {
    /// On this interface.
    Link(&'a str),
    /// On the instance's own VMAC (or ipvlan).
    InstanceVmac,
    /// On a VMAC of its own over `base`, one per interface and family.
    AddrVmac {
        /// The interface the VMAC is made on.
        base: &'a str,
        /// The address family (IPv6: 00:00:5e:00:02:VRID).
        v6: bool,
    },
}

impl std::fmt::Display for VipDev<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VipDev::Link(d) => f.write_str(d),
            VipDev::InstanceVmac => f.write_str("the instance's VMAC"),
            VipDev::AddrVmac { base, v6 } => {
                write!(f, "the IPv{} VMAC on {base}", if *v6 { 6 } else { 4 })
            }
        }
    }
}

/// The device of `v` in `inst` on `interface`. `own_vmac`: the instance
/// has a VMAC or ipvlan. With it, an address of the instance's family on
/// the instance's interface goes on it; with `use_vmac_addr`, addresses
/// on another interface or of the other family get an address VMAC, as
/// does a VIP marked `use_vmac` (kept by the configuration's checks only
/// where the instance's flags do not already decide).
pub fn vip_dev<'a>(
    inst: &VrrpInstance,
    interface: &'a str,
    own_vmac: bool,
    v: &'a Vip,
) -> VipDev<'a> {
    let v6 = v.prefix.is_v6();
    let same_family = v6 == inst.is_v6();
    match v.dev.as_deref().filter(|d| *d != interface) {
        None if own_vmac && same_family => VipDev::InstanceVmac,
        None if v.use_vmac || (inst.vmac_addr && !same_family) => VipDev::AddrVmac {
            base: interface,
            v6,
        },
        None => VipDev::Link(interface),
        Some(d) if v.use_vmac || inst.vmac_addr => VipDev::AddrVmac { base: d, v6 },
        Some(d) => VipDev::Link(d),
    }
}

/// The VMACs made for an instance, by interface index.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Vmacs {
    /// The instance's own VMAC or ipvlan.
    pub instance: Option<u32>,
    /// Address VMACs: base interface, IPv6, index.
    pub addrs: Vec<(String, bool, u32)>,
}

impl Vmacs {
    /// The index of the VMAC `dev` names, if it is one that was made.
    pub fn index(&self, dev: &VipDev) -> Option<u32> {
        match dev {
            VipDev::Link(_) => None,
            VipDev::InstanceVmac => self.instance,
            VipDev::AddrVmac { base, v6 } => (self.addrs.iter())
                .find(|(b, f, _)| b == base && f == v6)
                .map(|a| a.2),
        }
    }
}

/// The address VMACs an instance needs, as (base interface, IPv6), in
/// keepalived's creation order (VIPs, then E-VIPs), each once.
pub fn addr_vmacs<'a>(
    inst: &'a VrrpInstance,
    interface: &'a str,
    own_vmac: bool,
) -> Vec<(&'a str, bool)> {
    let mut out = Vec::new();
    for v in inst.vips.iter().chain(&inst.evips) {
        if let VipDev::AddrVmac { base, v6 } = vip_dev(inst, interface, own_vmac, v) {
            if !out.contains(&(base, v6)) {
                out.push((base, v6));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> crate::config::Config {
        crate::config::load_str("t.conf", text, Default::default()).config
    }

    #[test]
    fn vmac_names_on_a_clash_are_keepalived_s() {
        // keepalived 2.2.7 (live differential, corpus configurations with
        // the same VRID on two interfaces or families): `vrrp.1`, then
        // `vrrp6.1` for IPv6 and `vrrp1.1`, `vrrp2.1` ...; a given name
        // is the only one.
        let c = load(
            "vrrp_instance V4 {\n interface lo\n virtual_router_id 1\n use_vmac\n}\n\
             vrrp_instance V6 {\n interface lo\n virtual_router_id 1\n use_vmac\n \
             virtual_ipaddress {\n  fe80::1\n }\n}\n\
             vrrp_instance N {\n interface lo\n virtual_router_id 2\n use_vmac mine\n}\n",
        );
        let names = |i: usize| vmac_of(&c.vrrp.instances[i], &c.global).unwrap();
        let (v4, mac) = names(0);
        assert_eq!(&v4[..3], ["vrrp.1", "vrrp1.1", "vrrp2.1"]);
        assert_eq!(mac, [0, 0, 0x5e, 0, 1, 1]);
        let (v6, mac) = names(1);
        assert_eq!(&v6[..3], ["vrrp.1", "vrrp6.1", "vrrp1.1"]);
        assert_eq!(mac, [0, 0, 0x5e, 0, 2, 1]);
        assert_eq!(names(2).0, ["mine"]);
    }

    #[test]
    fn names_are_keepalived_s_create_vmac_name() {
        let n = |p, v6| vmac_names(p, 253, v6).take(8).collect::<Vec<_>>();
        assert_eq!(
            n("vmac_addr", false)[..3],
            ["vmac_addr.253", "vmac_addr1.253", "vmac_addr2.253"]
        );
        // IPv6: 6 second, then 1, 2, ... skipping 6.
        assert_eq!(
            n("vrrp", true),
            [
                "vrrp.253",
                "vrrp6.253",
                "vrrp1.253",
                "vrrp2.253",
                "vrrp3.253",
                "vrrp4.253",
                "vrrp5.253",
                "vrrp7.253"
            ]
        );
        // 15 characters at most: the prefix is cut.
        assert_eq!(
            n("a_very_long_prefix", false)[..2],
            ["a_very_long.253", "a_very_lon1.253"]
        );
    }

    #[test]
    fn addresses_go_where_keepalived_puts_them() {
        // keepalived 2.2.7, corpus use_vmac.conf live: VI_2 has use_vmac
        // and use_vmac_addr, VI_4 use_vmac_addr only, VI_3 neither.
        let c = load(
            "global_defs {\n dynamic_interfaces\n}\n\
             vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 252\n use_vmac\n use_vmac_addr\n \
             virtual_ipaddress {\n  10.2.3.100\n  10.2.3.107 dev eth2\n }\n \
             virtual_ipaddress_excluded {\n  fd00::100\n  fd00::107 dev eth2\n }\n}\n\
             vrrp_instance VI_4 {\n interface eth0\n virtual_router_id 250\n use_vmac_addr\n \
             virtual_ipaddress {\n  10.2.7.100\n  10.2.7.102 use_vmac\n  10.2.7.104 use_vmac dev eth2\n }\n}\n\
             vrrp_instance VI_3 {\n interface eth0\n virtual_router_id 251\n \
             virtual_ipaddress {\n  10.2.5.100\n  10.2.5.102 use_vmac\n  10.2.5.104 use_vmac dev eth2\n  10.2.5.107 dev eth2\n }\n}\n",
        );
        let i = &c.vrrp.instances;
        let devs = |k: usize, own: bool| {
            (i[k].vips.iter().chain(&i[k].evips))
                .map(|v| vip_dev(&i[k], "eth0", own, v).to_string())
                .collect::<Vec<_>>()
        };
        let a4 = |b: &str| format!("the IPv4 VMAC on {b}");
        let a6 = |b: &str| format!("the IPv6 VMAC on {b}");
        let own = "the instance's VMAC".to_string();
        assert_eq!(
            devs(0, true),
            [own.clone(), a4("eth2"), a6("eth0"), a6("eth2")]
        );
        // 10.2.7.104: use_vmac with use_vmac_addr on another interface is
        // an error and cleared, the address VMAC comes from the flag.
        assert_eq!(devs(1, false), ["eth0".into(), a4("eth0"), a4("eth2")]);
        assert_eq!(
            devs(2, false),
            ["eth0".into(), a4("eth0"), a4("eth2"), "eth2".into()]
        );
        assert_eq!(
            addr_vmacs(&i[0], "eth0", true),
            [("eth2", false), ("eth0", true), ("eth2", true)]
        );
        assert_eq!(
            addr_vmacs(&i[1], "eth0", false),
            [("eth0", false), ("eth2", false)]
        );
    }
}

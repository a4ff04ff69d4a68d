//! The order and content of the planned batches: keepalived's lazy set-up,
//! shared elements, clean-up. The kernel's view (`nft list ruleset` beside
//! keepalived's) is in tests/firewall.rs.

use super::nft::NfProto;
use super::*;

struct Tables(Vec<NfProto>);

impl Probe for Tables {
    fn has_table(&mut self, family: NfProto, _: &str) -> bool {
        self.0.contains(&family)
    }
}

fn cfg(counters: bool) -> FirewallConfig {
    FirewallConfig {
        table: "keepalived".into(),
        priority: -1,
        counters,
        force_ifindex: false,
    }
}

/// (message type, family, first string attribute) of each message.
fn summary(b: &Batch) -> Vec<(u16, u8, String)> {
    let bytes = b.finish();
    let mut out = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let len = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes([bytes[off + 4], bytes[off + 5]]);
        let fam = bytes[off + 16];
        let name = if len > 24 {
            let alen = u16::from_ne_bytes([bytes[off + 20], bytes[off + 21]]) as usize;
            let s = &bytes[off + 24..off + 20 + alen];
            String::from_utf8_lossy(s.split(|&c| c == 0).next().unwrap()).into_owned()
        } else {
            String::new()
        };
        if ty & 0xff00 == 0x0a00 {
            out.push((ty & 0xff, fam, name));
        }
        off += len;
    }
    out
}

fn types(b: &Batch) -> Vec<u16> {
    summary(b).into_iter().map(|m| m.0).collect()
}

const V4: u8 = 2;
const V6: u8 = 10;

#[test]
fn first_ipv4_vip_creates_table_chains_set_rules_then_element() {
    let mut fw = Firewall::new(cfg(false), 1);
    let b = fw.add(&[Element::V4([10, 0, 0, 1])], &mut Tables(vec![]));
    // table, chain out, chain in, set vips, rule in, rule out, element.
    assert_eq!(types(&b), vec![0, 3, 3, 9, 6, 6, 12]);
    assert!(summary(&b).iter().all(|m| m.1 == V4));
    let b = fw.add(&[Element::V4([10, 0, 0, 2])], &mut Tables(vec![]));
    assert_eq!(types(&b), vec![12]);
}

#[test]
fn leftover_tables_of_both_families_are_deleted_first() {
    let mut fw = Firewall::new(cfg(false), 1);
    let probe = &mut Tables(vec![NfProto::Ipv4, NfProto::Ipv6]);
    let b = fw.add(&[Element::V4([10, 0, 0, 1])], probe);
    let s = summary(&b);
    assert_eq!((s[0].0, s[0].1), (2, V4));
    assert_eq!((s[1].0, s[1].1), (2, V6));
    assert_eq!(
        fw.log,
        vec![
            "Deleting old ip keepalived table",
            "Deleting old ip6 keepalived table"
        ]
    );
    // Once a table exists, no more probing.
    let b = fw.add(&[Element::V6([0xfd; 16])], probe);
    assert!(!types(&b).contains(&2));
}

#[test]
fn an_element_shared_by_two_instances_stays_until_both_release_it() {
    let mut fw = Firewall::new(cfg(false), 1);
    let e = [Element::V4([10, 0, 0, 1])];
    fw.add(&e, &mut Tables(vec![]));
    assert!(fw.add(&e, &mut Tables(vec![])).is_empty());
    assert!(fw.remove(&e).is_empty());
    assert_eq!(types(&fw.remove(&e)), vec![14]);
    assert!(fw.remove(&e).is_empty());
}

#[test]
fn ipv6_link_local_vip_sets_up_the_link_local_chains_once() {
    let mut fw = Firewall::new(cfg(false), 1);
    let ll = Element::of("fe80::53".parse().unwrap(), 3, "ka0", false);
    assert_eq!(ll, {
        let a: Ipv6Addr = "fe80::53".parse().unwrap();
        Element::LinkLocal(a.octets(), 3)
    });
    let g = Element::of("fd00::53".parse().unwrap(), 3, "ka0", false);
    let b = fw.add(&[ll, g], &mut Tables(vec![]));
    // table, out, in, in_link_local, out_link_local, set vips, set nd,
    // nd elements, 6 rules, set vips_link_local, 2 rules, then the
    // elements of vips and of vips_link_local.
    assert_eq!(
        types(&b),
        vec![0, 3, 3, 3, 3, 9, 9, 12, 6, 6, 6, 6, 6, 6, 9, 6, 6, 12, 12]
    );
    let names: Vec<String> = summary(&b).into_iter().map(|m| m.2).collect();
    assert_eq!(names[3], "keepalived");
    let by_name = Element::of("fe80::54".parse().unwrap(), 3, "ka0", true);
    let b = fw.add(&[by_name], &mut Tables(vec![]));
    assert_eq!(types(&b), vec![9, 6, 6, 12]);
}

#[test]
fn vmac_creates_the_map_and_the_igmp_rule_once_per_family() {
    let mut fw = Firewall::new(cfg(true), 1);
    let b = fw.add_vmac(5, 3, &[NfProto::Ipv6], &mut Tables(vec![]));
    // table, out, map, set, 2 rules, map element, set element.
    assert_eq!(types(&b), vec![0, 3, 9, 9, 6, 6, 12, 12]);
    let b = fw.add_vmac(6, 3, &[NfProto::Ipv6, NfProto::Ipv4], &mut Tables(vec![]));
    assert_eq!(types(&b), vec![12, 12, 0, 3, 9, 6, 12]);
    assert_eq!(types(&fw.remove_vmac(6, 3, &[NfProto::Ipv4])), vec![14]);
}

#[test]
fn cleanup_deletes_only_the_tables_created() {
    let mut fw = Firewall::new(cfg(false), 1);
    assert!(fw.cleanup().is_empty());
    fw.add(&[Element::V6([0xfd; 16])], &mut Tables(vec![]));
    let s = summary(&fw.cleanup());
    assert_eq!(s, vec![(2, V6, "keepalived".to_string())]);
    // Created again from scratch after a clean-up.
    let b = fw.add(&[Element::V6([0xfd; 16])], &mut Tables(vec![]));
    assert_eq!(types(&b)[0], 0);
}

#[test]
fn counters_only_with_nftables_counters() {
    let count = |counters: bool| {
        let mut fw = Firewall::new(cfg(counters), 1);
        let b = fw.add(&[Element::V4([10, 0, 0, 1])], &mut Tables(vec![]));
        b.finish().windows(8).filter(|w| w == b"counter\0").count()
    };
    assert_eq!(count(false), 0);
    assert_eq!(count(true), 2);
}

#[test]
fn the_firewall_is_configured_as_keepalived_decides() {
    let parse = |text: &str| {
        let opts = crate::config::reader::ReaderOptions::default();
        crate::config::load_str("k.conf", text, opts).config
    };
    let plain = "vrrp_instance V { interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n";
    assert_eq!(FirewallConfig::of(&parse(plain)), (None, false));
    let strict = format!("global_defs {{\n vrrp_strict\n}}\n{plain}");
    let (fw, auto) = FirewallConfig::of(&parse(&strict));
    assert_eq!(fw.unwrap().table, "keepalived");
    assert!(auto);
    let named = format!("global_defs {{\n nftables ka\n nftables_priority -5\n}}\n{plain}");
    let (fw, auto) = FirewallConfig::of(&parse(&named));
    let fw = fw.unwrap();
    assert_eq!((fw.table.as_str(), fw.priority, auto), ("ka", -5, false));
}

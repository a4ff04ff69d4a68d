//! The receive buffer of a VRRP socket, as keepalived 2.2.7 sizes it
//! (`vrrp_create_sockpool`, `open_vrrp_read_socket`): the sum over the
//! instances on the socket of each one's `kernel_rx_buf_size`, else of
//! `vrrp_rx_bufs_policy`'s share; nothing is set when the sum is 0 (the
//! kernel's `rmem_default` stays).

use crate::config::global::GlobalDefs;
use crate::vrrp::instance::InstanceConfig;
use crate::vrrp::packet::Version;
use crate::vrrp::types::Family;

/// `vrrp_rx_bufs_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// None given: the kernel's default.
    None,
    /// A fixed size per instance.
    Size(u64),
    /// `MTU`: the multiplier times the interface's MTU.
    Mtu,
    /// `ADVERT`: the multiplier times the advert's length.
    Advert,
}

/// The policy and multiplier of `g` (keepalived: a size wins over a
/// policy, `MTU` over `ADVERT`; the number is read from the first word;
/// the multiplier defaults to 3).
pub fn policy(g: &GlobalDefs) -> (Policy, u64) {
    let mult = u64::from(g.rx_bufs_multiplier.unwrap_or(3));
    let Some(p) = g.rx_bufs_policy.as_deref() else {
        return (Policy::None, mult);
    };
    let words: Vec<&str> = p.split_whitespace().collect();
    let has = |w: &str| words.iter().any(|x| x.eq_ignore_ascii_case(w));
    let sized = words
        .iter()
        .any(|w| !w.eq_ignore_ascii_case("MTU") && !w.eq_ignore_ascii_case("ADVERT"));
    let first = words.first().and_then(|w| w.parse::<u64>().ok());
    let pol = match (sized, first) {
        (true, Some(n)) => Policy::Size(n),
        _ if has("MTU") => Policy::Mtu,
        _ if has("ADVERT") => Policy::Advert,
        _ => Policy::None,
    };
    (pol, mult)
}

/// keepalived's `vrrp_adv_len`: VRRP header, v2 authentication data and
/// the addresses, plus for IPv4 the IP header (and AH's 24 bytes); for
/// IPv6 no IP header.
pub fn advert_len(v6: bool, v2: bool, vips: usize, ah: bool) -> u64 {
    let n = vips as u64;
    if v6 {
        8 + 16 * n
    } else {
        8 + if v2 { 8 } else { 0 } + 4 * n + 20 + if ah { 24 } else { 0 }
    }
}

/// The share of instance `c` (on an interface of `mtu`) under `g`'s policy.
pub fn instance_share(g: &GlobalDefs, own: Option<u64>, c: &InstanceConfig, mtu: u32) -> u64 {
    let adv = advert_len(
        c.family == Family::V6,
        c.version == Version::V2,
        c.vips.len(),
        c.wants_ah(),
    );
    share(own, policy(g), adv, mtu)
}

/// One instance's share of its socket's buffer.
pub fn share(own: Option<u64>, (policy, mult): (Policy, u64), adv_len: u64, mtu: u32) -> u64 {
    match (own.filter(|&s| s != 0), policy) {
        (Some(s), _) => s,
        (None, Policy::Size(s)) => s,
        (None, Policy::Advert) => mult * adv_len,
        (None, Policy::Mtu) => mult * u64::from(mtu),
        (None, Policy::None) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(text: &str) -> (Policy, u64) {
        let mut g = GlobalDefs::default();
        for l in text.lines() {
            let (k, v) = l.split_once(' ').unwrap();
            match k {
                "policy" => g.rx_bufs_policy = Some(v.into()),
                _ => g.rx_bufs_multiplier = v.parse().ok(),
            }
        }
        policy(&g)
    }

    #[test]
    fn policies_as_keepalived_resolves_them() {
        assert_eq!(pol("policy MTU"), (Policy::Mtu, 3));
        assert_eq!(pol("policy advert\nmult 5"), (Policy::Advert, 5));
        assert_eq!(pol("policy MTU ADVERT"), (Policy::Mtu, 3));
        assert_eq!(pol("policy 4096 MTU"), (Policy::Size(4096), 3));
        assert_eq!(policy(&GlobalDefs::default()), (Policy::None, 3));
    }

    #[test]
    fn shares() {
        // v2 IPv4, 2 VIPs: 8 + 8 + 8 + 20.
        assert_eq!(advert_len(false, true, 2, false), 44);
        assert_eq!(advert_len(false, true, 2, true), 68);
        assert_eq!(advert_len(true, false, 1, false), 24);
        assert_eq!(share(None, (Policy::Advert, 3), 44, 1500), 132);
        assert_eq!(share(None, (Policy::Mtu, 3), 44, 1500), 4500);
        assert_eq!(share(Some(10_000), (Policy::Mtu, 3), 44, 1500), 10_000);
        assert_eq!(share(None, (Policy::None, 3), 44, 1500), 0);
    }
}

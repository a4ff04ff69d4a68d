//! Feeds arbitrary bytes to the VRRP packet decoders and to the full
//! receive path of an instance: nothing may panic on any input, and a
//! decoded advert must re-emit to bytes that decode to the same thing.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::vrrp::instance::{InstanceConfig, Received};
use keepalived_rs::vrrp::ip::{AhRepr, Ipv4Repr};
use keepalived_rs::vrrp::packet::{ChecksumCtx, Packet, Repr};
use keepalived_rs::vrrp::router::Router;
use keepalived_rs::vrrp::time::Instant;
use keepalived_rs::vrrp::{Family, IfIndex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let ctxs = [
        ChecksumCtx::Plain,
        ChecksumCtx::Pseudo { src: v4(10, 0, 0, 2), dst: v4(224, 0, 0, 18) },
        ChecksumCtx::Pseudo { src: IpAddr::V6(Ipv6Addr::LOCALHOST), dst: IpAddr::V6(Ipv6Addr::UNSPECIFIED) },
    ];
    for family in [Family::V4, Family::V6] {
        if let Ok(p) = Packet::new_checked(data, family) {
            for ctx in &ctxs {
                if let Ok(r) = Repr::parse(&p, family, ctx) {
                    if r.addrs.iter().all(|a| a.is_ipv4() == (family == Family::V4)) {
                        let bytes = r.to_bytes(ctx);
                        let again = Repr::parse(&Packet::new_unchecked(&bytes[..]), family, ctx);
                        assert_eq!(again.as_ref(), Ok(&r));
                    }
                }
            }
        }
    }
    if let Ok((_, ihl)) = Ipv4Repr::parse(data) {
        let _ = AhRepr::parse(&data[ihl..]);
    }
    let mut router = Router::new();
    let cfg = InstanceConfig::new("VI_1", data.first().copied().unwrap_or(1).max(1), 100, v4(10, 0, 0, 1), vec![v4(10, 0, 0, 100)]);
    router.add_instance(cfg, vec![]);
    let mut out = Vec::new();
    router.start(Instant(0), &mut out);
    let rx = Received { ifindex: IfIndex(1), src: v4(10, 0, 0, 2), dst: v4(224, 0, 0, 18), ttl: 255, ah: false, ah_valid: false, msg: data };
    let _ = router.handle_advert(Instant(1), Family::V4, &rx, &mut out);
});

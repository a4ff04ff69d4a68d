//! Adverts captured from keepalived 2.2.7 parse to the expected
//! representation and re-emit byte for byte.
//!
//! How they were captured: two network namespaces joined by a veth pair
//! (10.99.0.1/24 and 10.99.0.2/24); Debian's keepalived 2.2.7 ran in the
//! first (`keepalived -n -P -f X.conf`) with one instance `VI_1`, VRID 51,
//! priority 150, `advert_int 1`, state MASTER, and `tcpdump -i cv2 -w` in
//! the second recorded what arrived. The variants: v2 with `auth_type PASS`
//! / `auth_pass secret12` and VIPs 10.99.0.100/24, 10.99.0.101/24; v2 with
//! no authentication and one VIP; v3 over IPv4 with both VIPs; v3 over IPv6
//! (VIPs fe80::100/64, fd00:99::100/64, sent from the link-local address);
//! v2 unicast (`unicast_src_ip 10.99.0.1`, `unicast_peer { 10.99.0.2 }`);
//! v2 `auth_type AH`; and the priority-0 advert sent when keepalived stops.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_rs::vrrp::ip::{ah_icv, AhRepr, Ipv4Repr, IPPROTO_AH};
use keepalived_rs::vrrp::packet::{
    pass_bytes, Auth, ChecksumCtx, Packet, Repr, Version, IPPROTO_VRRP,
};
use keepalived_rs::vrrp::{Centiseconds, Family, Priority, Vrid};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const V2_PASS: &str =
    "45c0002c00010000ff70d02a0a630001e0000012 213396020101c4bb0a6300640a630065 7365637265743132";
const V2_NONE: &str =
    "45c0002800010000ff70d02e0a630001e0000012 2133960100013e030a630064 0000000000000000";
const V3_IPV4: &str = "45c0002400010000ff70d0320a630001e0000012 31339602006437e00a6300640a630065";
const V2_UNICAST: &str =
    "45c0002800010000ff70a5dc0a6300010a630002 2133960100013e030a630064 0000000000000000";
const V2_AH: &str =
    "45c0004400010000ff33d04f0a630001e0000012 700400000a63000100000001190701f7d4da1441e7ab20be \
                     213396020201313a0a6300640a630065 0000000000000000";
const V2_PRIO0: &str =
    "45c0002800030000ff70d02c0a630001e0000012 213300010001d4030a630064 0000000000000000";
/// IPv6 raw sockets give no header: source fe80::4ce2:4bff:fe13:67c, destination ff02::12, hop limit 255.
const V3_IPV6: &str =
    "3133960200649eab fe800000000000000000000000000100 fd000099000000000000000000000100";

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

/// Parses an IPv4 frame, checks it, re-emits header and message, and
/// compares the bytes.
fn roundtrip_v4(frame: &[u8], ctx_pseudo: bool) -> (Ipv4Repr, Repr) {
    let (ip, ihl) = Ipv4Repr::parse(frame).unwrap();
    assert_eq!((ip.tos, ip.ttl, ip.protocol), (0xc0, 255, IPPROTO_VRRP));
    let msg = &frame[ihl..];
    let ctx = if ctx_pseudo {
        ChecksumCtx::Pseudo {
            src: ip.src.into(),
            dst: ip.dst.into(),
        }
    } else {
        ChecksumCtx::Plain
    };
    let p = Packet::new_checked(msg, Family::V4).unwrap();
    let repr = Repr::parse(&p, Family::V4, &ctx).unwrap();
    let mut out = vec![0u8; 20 + repr.buffer_len()];
    ip.emit(&mut out[..20]);
    repr.emit(&mut Packet::new_unchecked(&mut out[20..]), &ctx);
    assert_eq!(out, frame, "re-emitted bytes differ");
    (ip, repr)
}

#[test]
fn v2_pass_advert() {
    let (ip, r) = roundtrip_v4(&hex(V2_PASS), false);
    assert_eq!(ip.dst, Ipv4Addr::new(224, 0, 0, 18));
    assert_eq!(
        r,
        Repr {
            version: Version::V2,
            msg_type: 1,
            vrid: Vrid::new(51).unwrap(),
            priority: Priority(150),
            adver_int: Centiseconds(100),
            addrs: vec![v4([10, 99, 0, 100]), v4([10, 99, 0, 101])],
            auth: Auth::Pass(pass_bytes("secret12")),
        }
    );
}

#[test]
fn v2_no_auth_advert() {
    let (_, r) = roundtrip_v4(&hex(V2_NONE), false);
    assert_eq!((r.auth, r.addrs.len()), (Auth::None, 1));
}

#[test]
fn v3_ipv4_advert_checksum_includes_pseudo_header() {
    let (_, r) = roundtrip_v4(&hex(V3_IPV4), true);
    assert_eq!((r.version, r.adver_int), (Version::V3, Centiseconds(100)));
    // Without the pseudo-header (v3_checksum_as_v2) the same bytes fail.
    let f = hex(V3_IPV4);
    let p = Packet::new_checked(&f[20..], Family::V4).unwrap();
    assert!(Repr::parse(&p, Family::V4, &ChecksumCtx::Plain).is_err());
}

#[test]
fn v3_ipv6_advert() {
    let msg = hex(V3_IPV6);
    let src: IpAddr = "fe80::4ce2:4bff:fe13:67c"
        .parse::<Ipv6Addr>()
        .unwrap()
        .into();
    let dst: IpAddr = "ff02::12".parse::<Ipv6Addr>().unwrap().into();
    let ctx = ChecksumCtx::Pseudo { src, dst };
    let p = Packet::new_checked(&msg[..], Family::V6).unwrap();
    let r = Repr::parse(&p, Family::V6, &ctx).unwrap();
    assert_eq!(
        r.addrs,
        vec![
            "fe80::100".parse::<IpAddr>().unwrap(),
            "fd00:99::100".parse().unwrap()
        ]
    );
    assert_eq!(r.to_bytes(&ctx), msg);
}

#[test]
fn v2_unicast_advert() {
    let (ip, _) = roundtrip_v4(&hex(V2_UNICAST), false);
    assert_eq!(ip.dst, Ipv4Addr::new(10, 99, 0, 2));
}

#[test]
fn v2_priority_zero_on_stop() {
    let (_, r) = roundtrip_v4(&hex(V2_PRIO0), false);
    assert_eq!(r.priority, Priority::RESIGN);
}

#[test]
fn v2_ah_advert_icv_is_keepalived_hmac_md5_96() {
    let f = hex(V2_AH);
    let (ip, ihl) = Ipv4Repr::parse(&f).unwrap();
    assert_eq!(ip.protocol, IPPROTO_AH);
    let ah = AhRepr::parse(&f[ihl..]).unwrap();
    assert_eq!(
        (ah.next_header, ah.spi, ah.seq),
        (IPPROTO_VRRP, u32::from(ip.src), 1)
    );
    assert_eq!(ah_icv(&f, ihl, &pass_bytes("secret12"), false), ah.icv);
    assert_ne!(ah_icv(&f, ihl, &pass_bytes("secret13"), false), ah.icv);
    let msg = &f[ihl + AhRepr::LEN..];
    let p = Packet::new_checked(msg, Family::V4).unwrap();
    let r = Repr::parse(&p, Family::V4, &ChecksumCtx::Plain).unwrap();
    assert_eq!(r.auth, Auth::Ah);
    // Re-emit the whole frame.
    let mut out = vec![0u8; f.len()];
    ip.emit(&mut out[..20]);
    ah.emit(&mut out[20..44]);
    r.emit(
        &mut Packet::new_unchecked(&mut out[44..]),
        &ChecksumCtx::Plain,
    );
    assert_eq!(out, f);
    // And the sender side builds the same frame from its parts.
    let built = keepalived_rs::vrrp::ip::ah_packet(
        ip.src,
        ip.dst,
        ip.ttl,
        ip.id,
        ah.seq,
        &pass_bytes("secret12"),
        msg,
    );
    assert_eq!(built, f);
}

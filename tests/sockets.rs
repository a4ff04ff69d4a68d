//! VRRP sockets on a real kernel, inside a namespace the test creates:
//! adverts leave with TTL 255 and TOS 0xc0 to 224.0.0.18 / ff02::12 and
//! arrive on the peer with what the core's checks need.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{can_run, run_in, Netns};
use keepalived_rs::daemon::socket::{PacketSocket, VrrpSocket};
use keepalived_rs::vrrp::garp::arp_frame;
use keepalived_rs::vrrp::ip::Ipv4Repr;
use keepalived_rs::vrrp::packet::{checksum, ChecksumCtx};

fn veth_pair(ns: &Netns) {
    ns.ip("link add ka0 type veth peer name ka1");
    ns.ip("link set ka0 up");
    ns.ip("link set ka1 up");
    ns.ip("addr add 10.99.0.1/24 dev ka0");
    ns.ip("addr add 10.99.0.2/24 dev ka1");
}

fn ifindex(ns: &Netns, name: &str) -> u32 {
    let out = ns.ip(&format!("-o link show {name}"));
    out.split(':').next().unwrap().trim().parse().unwrap()
}

/// Two namespaces joined by a veth pair (an IPv4 packet whose source is a
/// local address is dropped as martian, so sender and receiver must not
/// share a namespace).
fn two_hosts(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{tag}a"));
    let b = Netns::new(&format!("{tag}b"));
    a.ip(&format!(
        "link add ka0 type veth peer name ka1 netns {}",
        b.name
    ));
    a.ip("link set ka0 up");
    b.ip("link set ka1 up");
    a.ip("addr add 10.99.0.1/24 dev ka0");
    b.ip("addr add 10.99.0.2/24 dev ka1");
    (a, b)
}

#[test]
fn ipv4_multicast_advert_has_ttl_255_and_tos_c0() {
    if !can_run("ipv4_multicast_advert_has_ttl_255_and_tos_c0") {
        return;
    }
    let (a, b) = two_hosts("sock4");
    let (i0, i1) = (ifindex(&a, "ka0"), ifindex(&b, "ka1"));
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let b_name = b.name.clone();
    let rx_thread = std::thread::spawn(move || {
        run_in(&b_name, move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let rx =
                    VrrpSocket::open_v4("ka1", i1, Ipv4Addr::new(10, 99, 0, 2), Some(group), 255)
                        .unwrap();
                tokio::time::timeout(Duration::from_secs(3), rx.recv())
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    a.run(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let tx = VrrpSocket::open_v4("ka0", i0, Ipv4Addr::new(10, 99, 0, 1), Some(group), 255)
                .unwrap();
            let msg = [
                0x21u8, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3e, 0x03, 10, 99, 0, 100, 0, 0, 0, 0, 0, 0,
                0, 0,
            ];
            tx.send(&msg, IpAddr::V4(group)).await.unwrap();
        })
    });
    let got = rx_thread.join().unwrap();
    let (ip, ihl) = Ipv4Repr::parse(&got.bytes).unwrap();
    assert_eq!((ip.ttl, ip.tos, ip.protocol), (255, 0xc0, 112));
    assert_eq!(got.src, IpAddr::V4(Ipv4Addr::new(10, 99, 0, 1)));
    assert_eq!(got.dst, IpAddr::V4(group));
    assert_eq!(&got.bytes[ihl..ihl + 4], &[0x21, 0x33, 0x96, 0x01]);
}

#[test]
fn ipv6_multicast_advert_reports_hop_limit_and_destination() {
    if !can_run("ipv6_multicast_advert_reports_hop_limit_and_destination") {
        return;
    }
    let ns = Netns::new("sock6");
    veth_pair(&ns);
    ns.ip("addr add fe80::1/64 dev ka0 nodad");
    ns.ip("addr add fe80::2/64 dev ka1 nodad");
    let (i0, i1) = (ifindex(&ns, "ka0"), ifindex(&ns, "ka1"));
    let group: Ipv6Addr = "ff02::12".parse().unwrap();
    let got = ns.run(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let tx =
                VrrpSocket::open_v6("ka0", i0, "fe80::1".parse().unwrap(), Some(group)).unwrap();
            let rx =
                VrrpSocket::open_v6("ka1", i1, "fe80::2".parse().unwrap(), Some(group)).unwrap();
            // The receiver has the kernel verify the checksum
            // (IPV6_CHECKSUM), as keepalived's does: the advert carries a
            // valid one over the pseudo-header.
            let mut msg = [0x31, 0x33, 0x96, 0x00, 0x00, 0x64, 0, 0];
            let ctx = ChecksumCtx::Pseudo {
                src: "fe80::1".parse().unwrap(),
                dst: IpAddr::V6(group),
            };
            let sum = checksum(&msg, &ctx);
            msg[6..8].copy_from_slice(&sum.to_be_bytes());
            tx.send(&msg, IpAddr::V6(group)).await.unwrap();
            tokio::time::timeout(Duration::from_secs(2), rx.recv())
                .await
                .unwrap()
                .unwrap()
        })
    });
    assert_eq!(got.ttl, 255);
    assert_eq!(got.src, IpAddr::V6("fe80::1".parse().unwrap()));
    assert_eq!(got.dst, IpAddr::V6(group));
    assert_eq!(got.bytes[..2], [0x31, 0x33]);
}

#[test]
fn gratuitous_arp_goes_out_on_af_packet() {
    if !can_run("gratuitous_arp_goes_out_on_af_packet") {
        return;
    }
    let ns = Netns::new("garp");
    veth_pair(&ns);
    let i0 = ifindex(&ns, "ka0");
    let before = ns.ip("-s -j link show ka1");
    ns.run(move || {
        let s = PacketSocket::open().unwrap();
        let f = arp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 99, 0, 100));
        for _ in 0..5 {
            s.send(i0, &f).unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let after = ns.ip("-s -j link show ka1");
    assert_ne!(before, after, "no frames arrived on the peer");
}

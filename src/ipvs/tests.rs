//! Byte-level tests of the IPVS messages against the layouts of
//! `include/uapi/linux/ip_vs.h` (attribute numbers, sizes, byte order,
//! 4-byte padding), and of the client's request/ACK loop and error policy
//! against a scripted kernel.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroI32;

use netlink_packet_core::{
    DoneMessage, ErrorMessage, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK,
    NLM_F_DUMP, NLM_F_MULTIPART, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlHeader, GenlMessage};

use super::client::{Client, Transport};
use super::repr::*;
use super::request::Request;
use super::wire::*;

fn tcp_service() -> Service {
    let mut s = Service::new(ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        port: 80,
    });
    s.scheduler = "wrr".into();
    s
}

fn masq_dest() -> Dest {
    Dest {
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        port: 8080,
        forward: Forward::Masq,
        weight: 3,
        u_threshold: 0,
        l_threshold: 0,
    }
}

/// TCP 10.0.0.1:80 wrr, not persistent, as keepalived sends it.
const SERVICE_NEST: [u8; 84] = [
    0x54, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED, len 84
    0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET (u16) + pad
    0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = 6 (u16) + pad
    0x14, 0x00, 0x03, 0x00, // ADDR: nf_inet_addr, 16 bytes
    0x0a, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big-endian
    0x08, 0x00, 0x06, 0x00, b'w', b'r', b'r', 0x00, // SCHED_NAME "wrr\0"
    0x0c, 0x00, 0x07, 0x00, // FLAGS: struct ip_vs_flags
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, // flags 0, mask ~0
    0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // TIMEOUT = 0
    0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK 255.255.255.255
];

#[test]
fn service_nest_matches_uapi_layout() {
    let m = Request::NewService(tcp_service()).to_message();
    assert_eq!(m.cmd, Cmd::NewService);
    assert_eq!(m.to_bytes(), SERVICE_NEST);
}

#[test]
fn genl_header_carries_command_and_version_1() {
    let mut g = GenlMessage::from_payload(Request::DelService(tcp_service()).to_message());
    g.set_resolved_family_id(33);
    g.finalize();
    let mut nl = NetlinkMessage::from(g);
    nl.header.flags = NLM_F_REQUEST | NLM_F_ACK;
    nl.finalize();
    let mut b = vec![0; nl.buffer_len()];
    nl.serialize(&mut b);
    assert_eq!(
        &b[4..6],
        &33u16.to_ne_bytes(),
        "nlmsg_type is the family id"
    );
    assert_eq!(
        &b[16..20],
        &[3, 1, 0, 0],
        "cmd DEL_SERVICE, version 1, reserved"
    );
    assert_eq!(&b[20..], SERVICE_NEST);
}

#[test]
fn dest_nest_matches_uapi_layout() {
    let m = Request::NewDest(tcp_service(), masq_dest()).to_message();
    let b = m.to_bytes();
    assert_eq!(&b[..84], SERVICE_NEST);
    let dest: &[u8] = &[
        0x48, 0x00, 0x02, 0x80, // IPVS_CMD_ATTR_DEST | NESTED, len 72
        0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY = AF_INET
        0x14, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06,
        0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // PORT = 8080, big-endian
        0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, // FWD_METHOD = MASQ
        0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00, // WEIGHT = 3
        0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, // U_THRESH
        0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, // L_THRESH
    ];
    assert_eq!(&b[84..], dest);
}

#[test]
fn tunnel_dest_sends_type_gue_port_and_flags_before_thresholds() {
    let mut d = masq_dest();
    d.port = 80;
    d.forward = Forward::Tunnel(Tunnel {
        ty: TunnelType::Gue,
        port: 6080,
        flags: Tunnel::CSUM,
    });
    let a = d.to_attrs();
    assert_eq!(a[3], DestAttr::FwdMethod(2));
    assert_eq!(a[5], DestAttr::TunType(1));
    assert_eq!(a[6], DestAttr::TunPort(6080));
    assert_eq!(a[7], DestAttr::TunFlags(1));
    assert_eq!(a[8], DestAttr::UThresh(0));
    let b = Message {
        cmd: Cmd::NewDest,
        attrs: vec![Attr::Dest(a)],
    }
    .to_bytes();
    // TUN_TYPE u8 padded, TUN_PORT big-endian, TUN_FLAGS host order.
    let tail = &b[4 + 8 + 20 + 8 + 8 + 8..];
    assert_eq!(&tail[..8], &[5, 0, 13, 0, 1, 0, 0, 0]);
    assert_eq!(&tail[8..16], &[6, 0, 14, 0, 0x17, 0xc0, 0, 0]);
    assert_eq!(&tail[16..24], &[6, 0, 15, 0, 1, 0, 0, 0]);
}

#[test]
fn ipip_tunnel_sends_type_only_gre_adds_flags() {
    let mut d = masq_dest();
    d.forward = Forward::Tunnel(Tunnel::IPIP);
    let a = d.to_attrs();
    assert!(a.contains(&DestAttr::TunType(0)));
    assert!(!a
        .iter()
        .any(|x| matches!(x, DestAttr::TunPort(_) | DestAttr::TunFlags(_))));
    d.forward = Forward::Tunnel(Tunnel {
        ty: TunnelType::Gre,
        port: 0,
        flags: 0,
    });
    let a = d.to_attrs();
    assert!(a.contains(&DestAttr::TunFlags(0)));
    assert!(!a.iter().any(|x| matches!(x, DestAttr::TunPort(_))));
}

#[test]
fn fwmark_service_has_no_protocol_address_or_port() {
    let s = Service::new(ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 5,
    });
    let a = s.to_attrs();
    assert_eq!(a[0], SvcAttr::Af(10));
    assert_eq!(a[1], SvcAttr::Fwmark(5));
    assert!(!a.iter().any(|x| matches!(
        x,
        SvcAttr::Protocol(_) | SvcAttr::Addr(_) | SvcAttr::Port(_)
    )));
    // IPv6 netmask is the prefix length 128 as a host-order u32.
    assert_eq!(a.last(), Some(&SvcAttr::Netmask(128u32.to_ne_bytes())));
}

#[test]
fn persistence_netmask_is_raw_be32_mask_or_v6_prefix() {
    let mut s = tcp_service();
    s.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    assert!(s.to_attrs().contains(&SvcAttr::Netmask([255, 255, 255, 0])));
    let mut s6 = Service::new(ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
        port: 53,
    });
    s6.netmask = Netmask::V6(64);
    let a = s6.to_attrs();
    assert!(a.contains(&SvcAttr::Netmask(64u32.to_ne_bytes())));
    assert_eq!(a[0], SvcAttr::Af(10));
    assert_eq!(
        a[2],
        SvcAttr::Addr(Ipv6Addr::LOCALHOST.octets()),
        "all 16 bytes"
    );
}

#[test]
fn pe_name_is_sent_only_when_set() {
    let mut s = tcp_service();
    assert!(!s.to_attrs().iter().any(|a| matches!(a, SvcAttr::PeName(_))));
    s.pe_name = Some("sip".into());
    let a = s.to_attrs();
    assert_eq!(a[5], SvcAttr::PeName("sip".into()), "after SCHED_NAME");
}

#[test]
fn service_roundtrips_through_bytes() {
    let mut s = tcp_service();
    s.flags = ServiceFlags(ServiceFlags::PERSISTENT | ServiceFlags::SCHED1);
    s.timeout = 300;
    s.pe_name = Some("sip".into());
    s.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 0, 0));
    let bytes = Request::NewService(s.clone()).to_message().to_bytes();
    let m = <Message as netlink_packet_core::ParseableParametrized<[u8], GenlHeader>>::parse_with_param(
        &bytes,
        GenlHeader { cmd: 1, version: 1 },
    )
    .unwrap();
    let Attr::Service(v) = &m.attrs[0] else {
        panic!("{m:?}")
    };
    assert_eq!(Service::from_attrs(v).unwrap().0, s);
}

/// A GET_SERVICE dump entry as ip_vs_genl_fill_service builds it: HASHED
/// set, mask all ones, 32- and 64-bit stats nests.
#[test]
fn dump_entry_parses_with_kernel_flags_and_stats() {
    let stats64: Vec<u8> = [1u16, 2, 3]
        .iter()
        .flat_map(|k| {
            let mut v = vec![12, 0];
            v.extend_from_slice(&k.to_ne_bytes());
            v.extend_from_slice(&(u64::from(*k) * 10).to_ne_bytes());
            v
        })
        .collect();
    let attrs = vec![
        SvcAttr::Af(2),
        SvcAttr::Protocol(17),
        SvcAttr::Addr([10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        SvcAttr::Port(53),
        SvcAttr::SchedName("rr".into()),
        SvcAttr::Flags(FlagsMask {
            flags: 0x3,
            mask: u32::MAX,
        }),
        SvcAttr::Timeout(360),
        SvcAttr::Netmask([255, 255, 255, 255]),
        SvcAttr::Stats(vec![]),
        SvcAttr::Stats64(stats64),
    ];
    let b = Message {
        cmd: Cmd::NewService,
        attrs: vec![Attr::Service(attrs)],
    }
    .to_bytes();
    let m = <Message as netlink_packet_core::ParseableParametrized<[u8], GenlHeader>>::parse_with_param(
        &b,
        GenlHeader { cmd: 1, version: 1 },
    )
    .unwrap();
    let Attr::Service(v) = &m.attrs[0] else {
        panic!()
    };
    let (s, st) = Service::from_attrs(v).unwrap();
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "10.1.2.3".parse().unwrap(),
            port: 53
        }
    );
    assert!(s
        .flags
        .contains(ServiceFlags::PERSISTENT | ServiceFlags::HASHED));
    let st = st.unwrap();
    assert_eq!((st.conns, st.inpkts, st.outpkts), (10, 20, 30));
}

#[test]
fn dest_dump_parses_tunnel_and_counters() {
    let attrs = vec![
        DestAttr::Addr([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
        DestAttr::Port(80),
        DestAttr::FwdMethod(2),
        DestAttr::Weight(5),
        DestAttr::TunType(2),
        DestAttr::TunPort(0),
        DestAttr::TunFlags(1),
        DestAttr::UThresh(100),
        DestAttr::LThresh(10),
        DestAttr::ActiveConns(4),
        DestAttr::InactConns(6),
        DestAttr::PersistConns(0),
        DestAttr::AddrFamily(10),
    ];
    let d = Dest::from_attrs(&attrs, Family::Inet).unwrap();
    assert_eq!(d.dest.addr, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(
        d.dest.forward,
        Forward::Tunnel(Tunnel {
            ty: TunnelType::Gre,
            port: 0,
            flags: 1
        })
    );
    assert_eq!((d.dest.u_threshold, d.dest.l_threshold), (100, 10));
    assert_eq!((d.active_conns, d.inactive_conns), (4, 6));
}

#[test]
fn get_info_reply_reuses_numbers_1_and_2() {
    // IPVS_INFO_ATTR_VERSION = 1, CONN_TAB_SIZE = 2, in a SET_INFO reply.
    let b = [8, 0, 1, 0, 1, 2, 1, 0, 8, 0, 2, 0, 0, 0x10, 0, 0];
    let m = <Message as netlink_packet_core::ParseableParametrized<[u8], GenlHeader>>::parse_with_param(
        &b,
        GenlHeader { cmd: 14, version: 1 },
    )
    .unwrap();
    let i = Info::from_attrs(&m.attrs).unwrap();
    assert_eq!(i.version_string(), "1.2.1");
    assert_eq!(i.conn_tab_size, 4096);
}

#[test]
fn daemon_port_is_host_order_group_network_order() {
    let d = SyncDaemon {
        state: SyncState::Master,
        ifname: "eth0".into(),
        sync_id: 5,
        maxlen: Some(1400),
        group: Some("224.0.0.81".parse().unwrap()),
        port: Some(8848),
        ttl: Some(2),
    };
    let b = Request::NewDaemon(d).to_message().to_bytes();
    let want: &[u8] = &[
        0x40, 0x00, 0x03, 0x80, // IPVS_CMD_ATTR_DAEMON | NESTED, len 64
        8, 0, 1, 0, 1, 0, 0, 0, // STATE = MASTER
        9, 0, 2, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0, // MCAST_IFN "eth0\0"
        8, 0, 3, 0, 5, 0, 0, 0, // SYNC_ID
        6, 0, 4, 0, 0x78, 0x05, 0, 0, // SYNC_MAXLEN 1400
        6, 0, 7, 0, 0x90, 0x22, 0, 0, // MCAST_PORT 8848, host order
        5, 0, 8, 0, 2, 0, 0, 0, // MCAST_TTL
        8, 0, 5, 0, 224, 0, 0, 81, // MCAST_GROUP, network order
    ];
    assert_eq!(b, want);
    let stop = Request::DelDaemon(SyncState::Backup, 5).to_message();
    assert_eq!(
        stop.attrs,
        vec![Attr::Daemon(vec![
            DaemonAttr::State(2),
            DaemonAttr::SyncId(5)
        ])]
    );
}

#[test]
fn timeouts_are_three_top_level_u32() {
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 30,
    };
    let b = Request::SetConfig(t).to_message().to_bytes();
    assert_eq!(
        b,
        [8, 0, 4, 0, 0x84, 3, 0, 0, 8, 0, 5, 0, 0, 0, 0, 0, 8, 0, 6, 0, 30, 0, 0, 0]
    );
}

#[test]
fn get_dests_request_identifies_the_service_only() {
    let m = Request::GetDests(tcp_service().key).to_message();
    let Attr::Service(v) = &m.attrs[0] else {
        panic!()
    };
    assert_eq!(v.len(), 4, "AF, PROTOCOL, ADDR, PORT: {v:?}");
    assert!(Request::GetDests(tcp_service().key).is_dump());
}

#[test]
fn unknown_attributes_survive_parsing() {
    let b = [8, 0, 99, 0, 1, 2, 3, 4];
    let m = <Message as netlink_packet_core::ParseableParametrized<[u8], GenlHeader>>::parse_with_param(
        &b,
        GenlHeader { cmd: 99, version: 1 },
    )
    .unwrap();
    assert_eq!(m.cmd, Cmd::Other(99));
    assert!(matches!(m.attrs[0], Attr::Other(_)));
}

// ===== the client against a scripted kernel =====

enum Reply {
    Family(u16),
    NoFamily,
    Info,
    Config(Timeouts),
    Ack,
    Errno(i32),
    Dump(Vec<Message>),
}

#[derive(Default)]
struct FakeKernel {
    script: VecDeque<Reply>,
    sent: Vec<Vec<u8>>,
}

impl FakeKernel {
    fn new(script: Vec<Reply>) -> FakeKernel {
        FakeKernel {
            script: script.into(),
            sent: Vec::new(),
        }
    }
}

fn header(seq: u32) -> NetlinkHeader {
    let mut h = NetlinkHeader::default();
    h.sequence_number = seq;
    h
}

fn bytes<I: netlink_packet_core::NetlinkSerializable>(mut m: NetlinkMessage<I>) -> Vec<u8> {
    m.finalize();
    let mut b = vec![0; m.buffer_len()];
    m.serialize(&mut b);
    b
}

fn error(seq: u32, code: i32) -> Vec<u8> {
    let mut e = ErrorMessage::default();
    e.code = NonZeroI32::new(code);
    bytes(NetlinkMessage::new(
        header(seq),
        NetlinkPayload::<GenlMessage<Message>>::Error(e),
    ))
}

impl Transport for FakeKernel {
    fn send(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.sent.push(buf.to_vec());
        Ok(())
    }

    fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        let last = self.sent.last().expect("recv before send");
        let seq = u32::from_ne_bytes(last[8..12].try_into().unwrap());
        let reply = self.script.pop_front().expect("script exhausted");
        Ok(match reply {
            Reply::Family(id) => {
                let g = GenlMessage::from_payload(GenlCtrl {
                    cmd: GenlCtrlCmd::NewFamily,
                    nlas: vec![
                        GenlCtrlAttrs::FamilyName("IPVS".into()),
                        GenlCtrlAttrs::FamilyId(id),
                    ],
                });
                let mut m = NetlinkMessage::from(g);
                m.header.sequence_number = seq;
                m.header.message_type = 0x10;
                bytes(m)
            }
            Reply::NoFamily => error(seq, -libc::ENOENT),
            Reply::Info => {
                let g = GenlMessage::new(
                    GenlHeader {
                        cmd: 14,
                        version: 1,
                    },
                    Message {
                        cmd: Cmd::SetInfo,
                        attrs: vec![Attr::Version(0x010201), Attr::ConnTabSize(4096)],
                    },
                    33,
                );
                let mut m = NetlinkMessage::from(g);
                m.header.sequence_number = seq;
                let mut b = bytes(m);
                b.extend(error(seq, 0));
                b
            }
            Reply::Config(t) => {
                let g = GenlMessage::new(
                    GenlHeader {
                        cmd: 12,
                        version: 1,
                    },
                    Message {
                        cmd: Cmd::SetConfig,
                        attrs: t.to_attrs(),
                    },
                    33,
                );
                let mut m = NetlinkMessage::from(g);
                m.header.sequence_number = seq;
                let mut b = bytes(m);
                b.extend(error(seq, 0));
                b
            }
            Reply::Ack => error(seq, 0),
            Reply::Errno(e) => error(seq, -e),
            Reply::Dump(msgs) => {
                let mut b = Vec::new();
                for p in msgs {
                    let cmd = u8::from(p.cmd);
                    let g = GenlMessage::new(GenlHeader { cmd, version: 1 }, p, 33);
                    let mut m = NetlinkMessage::from(g);
                    m.header.sequence_number = seq;
                    m.header.flags = NLM_F_MULTIPART;
                    b.extend(bytes(m));
                }
                b.extend(bytes(NetlinkMessage::new(
                    header(seq),
                    NetlinkPayload::<GenlMessage<Message>>::Done(DoneMessage::default()),
                )));
                b
            }
        })
    }
}

fn connected(mut script: Vec<Reply>) -> Client<FakeKernel> {
    let mut all = vec![Reply::Family(33), Reply::Info];
    all.append(&mut script);
    Client::with_transport(FakeKernel::new(all)).unwrap()
}

fn sent_cmd(b: &[u8]) -> (u16, u8, u16) {
    let ty = u16::from_ne_bytes(b[4..6].try_into().unwrap());
    let flags = u16::from_ne_bytes(b[6..8].try_into().unwrap());
    (ty, b[16], flags)
}

#[test]
fn missing_family_is_no_ipvs_with_a_clear_message() {
    let e = match Client::with_transport(FakeKernel::new(vec![Reply::NoFamily])) {
        Err(e) => e,
        Ok(_) => panic!("connected without IPVS"),
    };
    assert!(e.is_no_ipvs());
    assert_eq!(
        e.to_string(),
        "IPVS: the kernel has no IPVS (generic netlink family IPVS not found) - is ip_vs loaded?"
    );
}

#[test]
fn connect_resolves_family_then_asks_get_info() {
    let c = connected(vec![]);
    assert_eq!(c.family_id(), 33);
    assert_eq!(c.info().version_string(), "1.2.1");
}

#[test]
fn eexist_on_add_is_success() {
    let mut c = connected(vec![Reply::Errno(libc::EEXIST), Reply::Errno(libc::EEXIST)]);
    c.add_service(&tcp_service()).unwrap();
    c.add_dest(&tcp_service(), &masq_dest()).unwrap();
}

#[test]
fn enoent_on_delete_is_success() {
    let mut c = connected(vec![Reply::Errno(libc::ENOENT), Reply::Errno(libc::ENOENT)]);
    c.del_dest(&tcp_service(), &masq_dest()).unwrap();
    c.del_service(&tcp_service()).unwrap();
}

#[test]
fn set_dest_enoent_is_retried_as_new_dest() {
    let mut c = connected(vec![Reply::Errno(libc::ENOENT), Reply::Ack]);
    c.update_dest(&tcp_service(), &masq_dest()).unwrap();
    let t = &c_transport(&c).sent;
    let (ty, cmd, flags) = sent_cmd(&t[t.len() - 2]);
    assert_eq!((ty, cmd, flags), (33, 6, NLM_F_REQUEST | NLM_F_ACK));
    let (_, cmd, _) = sent_cmd(&t[t.len() - 1]);
    assert_eq!(cmd, 5, "NEW_DEST after SET_DEST's ENOENT");
}

fn c_transport(c: &Client<FakeKernel>) -> &FakeKernel {
    c.transport()
}

#[test]
fn other_errors_name_the_command_errno_and_objects() {
    let mut c = connected(vec![Reply::Errno(libc::EEXIST), Reply::Errno(libc::ESRCH)]);
    let e = c.update_service(&tcp_service()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "IPVS cmd SET_SERVICE(2) error: File exists(17) ([10.0.0.1]:tcp:80)"
    );
    let e = c.add_dest(&tcp_service(), &masq_dest()).unwrap_err();
    assert_eq!(e.errno(), Some(libc::ESRCH));
    assert_eq!(
        e.to_string(),
        "IPVS cmd NEW_DEST(5) error: No such process(3) ([10.0.0.1]:tcp:80 -> [10.0.0.2]:tcp:8080)"
    );
}

#[test]
fn dumps_use_nlm_f_dump_and_collect_until_done() {
    let entry = |port: u16| Message {
        cmd: Cmd::NewService,
        attrs: vec![Attr::Service(
            Service::new(ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: "10.0.0.1".parse().unwrap(),
                port,
            })
            .to_attrs(),
        )],
    };
    let mut c = connected(vec![Reply::Dump(vec![entry(80), entry(443)])]);
    let s = c.services().unwrap();
    assert_eq!(s.len(), 2);
    let t = &c_transport(&c).sent;
    let (_, cmd, flags) = sent_cmd(t.last().unwrap());
    assert_eq!((cmd, flags), (4, NLM_F_REQUEST | NLM_F_DUMP));
}

#[test]
fn get_config_reads_the_three_timeouts_before_the_ack() {
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    let mut c = connected(vec![Reply::Config(t)]);
    assert_eq!(c.timeouts().unwrap(), t);
}

#[test]
fn timeouts_left_out_take_the_other_value() {
    let set = Timeouts {
        tcp: 2000,
        tcp_fin: 0,
        udp: 200,
    };
    let orig = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert_eq!(
        set.or(orig),
        Timeouts {
            tcp: 2000,
            tcp_fin: 120,
            udp: 200
        }
    );
}

//! VRRP's raw sockets, as keepalived opens them: IP protocol 112 bound to
//! the interface, multicast group joined on it, TTL / hop limit 255, TOS /
//! traffic class 0xc0, no loopback of our own packets; and the AF_PACKET
//! socket gratuitous ARPs and unsolicited NAs are sent on.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::vrrp::ip::IPPROTO_AH;
use crate::vrrp::packet::IPPROTO_VRRP;

/// keepalived's TOS / traffic class for adverts (network control).
pub const VRRP_TOS: u32 = 0xc0;

/// A received advert with the IP-level facts the core checks.
#[derive(Debug, Clone)]
pub struct RxAdvert {
    /// The interface of the socket it arrived on.
    pub ifindex: u32,
    /// Sender.
    pub src: IpAddr,
    /// Destination.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// For IPv4: the whole IP packet; for IPv6: the VRRP message.
    pub bytes: Vec<u8>,
}

/// The raw VRRP sockets of one interface and family: like keepalived's
/// sockpool, one to receive (bound to the device only, so multicast and
/// unicast both arrive) and one to send (bound to the source address).
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    tx: AsyncFd<Socket>,
    v6: bool,
    ifindex: u32,
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` points to a live T of the size we pass.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (val as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// A send-only raw socket would still get a copy of every VRRP packet of
/// its interface: like keepalived (`if_setsockopt_no_receive`), give it
/// no receive buffer and a filter that drops everything, so each packet
/// is queued once, on the receiving socket.
fn no_receive(s: &Socket) -> io::Result<()> {
    let mut drop_all = [libc::sock_filter {
        code: 0x06, // BPF_RET | BPF_K
        jt: 0,
        jf: 0,
        k: 0,
    }];
    let prog = libc::sock_fprog {
        len: 1,
        filter: drop_all.as_mut_ptr(),
    };
    setsockopt(
        s.as_raw_fd(),
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        &prog,
    )?;
    s.set_recv_buffer_size(0)
}

fn register(s: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the AsyncFd owns the socket, so the descriptor stays open
    // exactly as long as it is registered.
    unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))
}

impl VrrpSocket {
    /// SO_RCVBUF of the receiving socket (keepalived sets no force: the
    /// kernel caps it at `rmem_max`).
    pub fn set_rcvbuf(&self, size: u64) -> io::Result<()> {
        let v = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
        setsockopt(
            self.fd.get_ref().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &v,
        )
    }

    /// Opens the IPv4 socket of `ifname` (index `ifindex`): joined to
    /// `group` unless unicast, source `src`, sending TTL `ttl`.
    pub fn open_v4(
        ifname: &str,
        ifindex: u32,
        src: Ipv4Addr,
        group: Option<Ipv4Addr>,
        ttl: u32,
    ) -> io::Result<VrrpSocket> {
        Self::open_v4_proto(ifname, ifindex, src, group, ttl, IPPROTO_VRRP)
    }

    /// Opens the IPv4 sockets of an `auth_type AH` instance: IP protocol
    /// 51 (AH) received, and sent with our own IP header (`IP_HDRINCL`),
    /// since the ICV covers it: [`VrrpSocket::send`] then takes the whole
    /// IP packet.
    pub fn open_v4_ah(
        ifname: &str,
        ifindex: u32,
        src: Ipv4Addr,
        group: Option<Ipv4Addr>,
    ) -> io::Result<VrrpSocket> {
        let s = Self::open_v4_proto(ifname, ifindex, src, group, 255, IPPROTO_AH)?;
        setsockopt(s.tx.as_raw_fd(), libc::IPPROTO_IP, libc::IP_HDRINCL, &1i32)?;
        Ok(s)
    }

    fn open_v4_proto(
        ifname: &str,
        ifindex: u32,
        src: Ipv4Addr,
        group: Option<Ipv4Addr>,
        ttl: u32,
        proto: u8,
    ) -> io::Result<VrrpSocket> {
        let tx = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(proto))),
        )?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        tx.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
        tx.set_tos_v4(VRRP_TOS)?;
        tx.set_ttl_v4(ttl)?;
        tx.set_multicast_ttl_v4(255)?;
        tx.set_multicast_loop_v4(false)?;
        no_receive(&tx)?;
        tx.set_nonblocking(true)?;
        let s = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(proto))),
        )?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_tos_v4(VRRP_TOS)?;
        s.set_ttl_v4(ttl)?;
        s.set_multicast_ttl_v4(255)?;
        s.set_multicast_loop_v4(false)?;
        let fd = s.as_raw_fd();
        let mreqn = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from(group.unwrap_or(Ipv4Addr::UNSPECIFIED)).to_be(),
            },
            imr_address: libc::in_addr {
                s_addr: u32::from(src).to_be(),
            },
            imr_ifindex: ifindex as i32,
        };
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)?;
        setsockopt(
            tx.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            &mreqn,
        )?;
        if group.is_some() {
            setsockopt(fd, libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreqn)?;
        }
        // Only groups joined on this socket, not every group of the host.
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, &0i32)?;
        s.set_nonblocking(true)?;
        Ok(VrrpSocket {
            fd: register(s)?,
            tx: register(tx)?,
            v6: false,
            ifindex,
        })
    }

    /// Opens the IPv6 socket of `ifname`: source its link-local address.
    pub fn open_v6(
        ifname: &str,
        ifindex: u32,
        src: Ipv6Addr,
        group: Option<Ipv6Addr>,
    ) -> io::Result<VrrpSocket> {
        let tx = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        tx.bind_device(Some(ifname.as_bytes()))?;
        // A link-local address still tentative (DAD running, as just after
        // the link came up) cannot be bound otherwise; keepalived starts
        // such an instance at once, and so do we.
        setsockopt(
            tx.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_FREEBIND,
            &1i32,
        )?;
        tx.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, ifindex)))?;
        tx.set_multicast_hops_v6(255)?;
        tx.set_unicast_hops_v6(255)?;
        tx.set_multicast_loop_v6(false)?;
        tx.set_multicast_if_v6(ifindex)?;
        tx.set_tclass_v6(VRRP_TOS)?;
        no_receive(&tx)?;
        tx.set_nonblocking(true)?;
        let s = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        s.bind_device(Some(ifname.as_bytes()))?;
        s.set_multicast_hops_v6(255)?;
        s.set_unicast_hops_v6(255)?;
        s.set_multicast_loop_v6(false)?;
        s.set_multicast_if_v6(ifindex)?;
        s.set_tclass_v6(VRRP_TOS)?;
        if let Some(g) = group {
            s.join_multicast_v6(&g, ifindex)?;
        }
        let fd = s.as_raw_fd();
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &1i32)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &1i32)?;
        // The kernel checks the VRRPv3 checksum (at offset 6) and drops bad
        // packets, as for keepalived's socket.
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, &6i32)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_ALL, &0i32)?;
        s.set_nonblocking(true)?;
        Ok(VrrpSocket {
            fd: register(s)?,
            tx: register(tx)?,
            v6: true,
            ifindex,
        })
    }

    /// Sends a VRRP message to `dst`.
    pub async fn send(&self, msg: &[u8], dst: IpAddr) -> io::Result<()> {
        let to = SockAddr::from(SocketAddr::new(dst, 0));
        self.tx
            .async_io(Interest::WRITABLE, |s| s.send_to(msg, &to).map(|_| ()))
            .await
    }

    /// Receives one advert.
    pub async fn recv(&self) -> io::Result<RxAdvert> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| {
                if self.v6 {
                    recv_v6(s.get_ref(), self.ifindex)
                } else {
                    recv_v4(s.get_ref(), self.ifindex)
                }
            }) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }
}

fn recv_v4(s: &Socket, ifindex: u32) -> io::Result<RxAdvert> {
    // Received on the stack; only the packet's own bytes are kept.
    let mut stack = [0u8; 2048];
    // SAFETY: recv into our own buffer.
    let n = unsafe { libc::recv(s.as_raw_fd(), stack.as_mut_ptr().cast(), stack.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let buf = stack[..n as usize].to_vec();
    if buf.len() < 20 {
        // Too short for an IP header: the driver logs it as keepalived does.
        return Ok(RxAdvert {
            ifindex,
            src: Ipv4Addr::UNSPECIFIED.into(),
            dst: Ipv4Addr::UNSPECIFIED.into(),
            ttl: 0,
            bytes: buf,
        });
    }
    let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
    let dst = Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]);
    Ok(RxAdvert {
        ifindex,
        src: src.into(),
        dst: dst.into(),
        ttl: buf[8],
        bytes: buf,
    })
}

fn recv_v6(s: &Socket, ifindex: u32) -> io::Result<RxAdvert> {
    let mut stack = [0u8; 2048];
    // cmsghdr needs 8-byte alignment.
    let mut cbuf = [0u64; 16];
    // SAFETY: zeroed sockaddr storage is a valid initial value.
    let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: stack.as_mut_ptr().cast(),
        iov_len: stack.len(),
    };
    // SAFETY: msghdr fields point at our own buffers, which outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_in6).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in6>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>();
    // SAFETY: see above.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let buf = stack[..n as usize].to_vec();
    let mut ttl = 0u8;
    let mut dst = Ipv6Addr::UNSPECIFIED;
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_HOPLIMIT {
                let v: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                ttl = v as u8;
            } else if (*c).cmsg_level == libc::IPPROTO_IPV6 && (*c).cmsg_type == libc::IPV6_PKTINFO
            {
                let info: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let src = Ipv6Addr::from(from.sin6_addr.s6_addr);
    Ok(RxAdvert {
        ifindex,
        src: src.into(),
        dst: dst.into(),
        ttl,
        bytes: buf,
    })
}

/// The AF_PACKET socket gratuitous ARPs and unsolicited NAs go out on.
pub struct PacketSocket {
    fd: Socket,
}

impl PacketSocket {
    /// Opens it (one per process, like keepalived's shared channel).
    pub fn open() -> io::Result<PacketSocket> {
        // SAFETY: plain socket(2) call; ownership moves into Socket.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, owned descriptor.
        let s = unsafe { <Socket as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        Ok(PacketSocket { fd: s })
    }

    /// Sends a whole Ethernet frame on `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        // SAFETY: zeroed sockaddr_ll, then filled.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
        sll.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and sll live across the call.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

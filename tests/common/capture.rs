//! A packet capture inside a test's network namespace: an AF_PACKET socket
//! opened by a thread that entered the namespace, with the kernel's receive
//! timestamps, so failover times are measured on the wire (as tcpdump
//! would) rather than by polling.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

/// One captured frame: kernel timestamp (since the epoch) and bytes.
#[derive(Debug, Clone)]
pub struct Frame {
    pub t: Duration,
    pub data: Vec<u8>,
}

impl Frame {
    fn ipv4(&self) -> Option<&[u8]> {
        (self.data.len() >= 34 && self.data[12..14] == [0x08, 0x00]).then(|| &self.data[14..])
    }

    /// An IPv4 VRRP advert: (source, VRID, priority).
    pub fn advert(&self) -> Option<(Ipv4Addr, u8, u8)> {
        let ip = self.ipv4()?;
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        if ip[9] != 112 || ip.len() < ihl + 8 {
            return None;
        }
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        Some((src, ip[ihl + 1], ip[ihl + 2]))
    }

    /// A gratuitous ARP (sender IP = target IP): (sender MAC, address).
    pub fn garp(&self) -> Option<([u8; 6], Ipv4Addr)> {
        let d = &self.data;
        if d.len() < 42 || d[12..14] != [0x08, 0x06] {
            return None;
        }
        let a = &d[14..];
        let (sip, tip) = (&a[14..18], &a[24..28]);
        (sip == tip).then(|| {
            let mut mac = [0; 6];
            mac.copy_from_slice(&a[8..14]);
            (mac, Ipv4Addr::new(sip[0], sip[1], sip[2], sip[3]))
        })
    }
}

/// A running capture; [`Capture::stop`] returns what it saw.
pub struct Capture {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Frame>>>,
}

impl Capture {
    /// Starts capturing on `ifname` in namespace `ns`; returns once the
    /// socket is bound.
    pub fn start(ns: &str, ifname: &str) -> Capture {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (ns, ifname, flag) = (ns.to_string(), ifname.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let f = std::fs::File::open(format!("/run/netns/{ns}")).expect("open netns");
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let fd = open_socket(&ifname);
            ready_tx.send(()).unwrap();
            let mut frames = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(f) = recv(fd.as_raw_fd()) {
                    frames.push(f);
                }
            }
            frames
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("capture did not start");
        Capture {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and returns the frames in arrival order.
    pub fn stop(mut self) -> Vec<Frame> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("capture thread")
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_socket(ifname: &str) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket/setsockopt/bind calls with valid arguments; the
    // descriptor is owned by the returned OwnedFd.
    unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
        assert!(
            fd >= 0,
            "AF_PACKET socket: {}",
            std::io::Error::last_os_error()
        );
        let fd = std::os::fd::OwnedFd::from_raw_fd(fd);
        let name = std::ffi::CString::new(ifname).unwrap();
        let index = libc::if_nametoindex(name.as_ptr());
        assert!(index > 0, "no interface {ifname}");
        let on: libc::c_int = 1;
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        // Room for bursts (a takeover of hundreds of VIPs sends a few
        // gratuitous ARPs each at once); SO_RCVBUFFORCE as root.
        let size: libc::c_int = 8 << 20;
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        );
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 20_000,
        };
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        let mut sll: libc::sockaddr_ll = std::mem::zeroed();
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = index as i32;
        let r = libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert!(r == 0, "bind: {}", std::io::Error::last_os_error());
        fd
    }
}

/// One frame with its SCM_TIMESTAMPNS, or `None` on timeout.
fn recv(fd: i32) -> Option<Frame> {
    let mut buf = vec![0u8; 2048];
    let mut cbuf = [0u64; 16];
    // SAFETY: the iovec and control buffer outlive the call; CMSG_* walk
    // only the control length the kernel reported.
    unsafe {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        let n = libc::recvmsg(fd, &mut msg, 0);
        if n < 0 {
            return None;
        }
        buf.truncate(n as usize);
        let mut t = Duration::ZERO;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                t = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        Some(Frame { t, data: buf })
    }
}

/// Clean-stop takeover on the wire: from `master`'s priority-0 advert to
/// the first gratuitous ARP for `vip` after it.
pub fn resign_to_garp(
    frames: &[Frame],
    master: Ipv4Addr,
    vrid: u8,
    vip: Ipv4Addr,
) -> Option<Duration> {
    let t0 = frames
        .iter()
        .find(|f| f.advert() == Some((master, vrid, 0)))?
        .t;
    let t1 = frames
        .iter()
        .find(|f| f.t >= t0 && f.garp().is_some_and(|(_, ip)| ip == vip))?
        .t;
    Some(t1 - t0)
}

/// Crash takeover on the wire: from `master`'s last advert (priority
/// `prio`) to the first gratuitous ARP for `vip` after it.
pub fn last_advert_to_garp(
    frames: &[Frame],
    master: Ipv4Addr,
    vrid: u8,
    prio: u8,
    vip: Ipv4Addr,
) -> Option<Duration> {
    let t1 = frames
        .iter()
        .find(|f| f.garp().is_some_and(|(_, ip)| ip == vip))?
        .t;
    let t0 = frames
        .iter()
        .filter(|f| f.t < t1 && f.advert() == Some((master, vrid, prio)))
        .map(|f| f.t)
        .next_back()?;
    Some(t1 - t0)
}

//! The BFD child: runs the sans-IO sessions of [`crate::bfd`] on real
//! sockets and a real clock, and tells the VRRP and checker children when
//! a session goes up or down.
//!
//! Sockets, as keepalived 2.2.7 opens them:
//!
//! * one listening socket on UDP port 3784 for every session, IPv6
//!   dual-stack (IPv4 when IPv6 is unavailable), reporting the received
//!   TTL / hop limit and the destination address;
//! * one sending socket per session, bound to `source_ip` and a random
//!   source port in 49152–65535 within `ip_local_port_range` (RFC 5881
//!   §4), TTL / hop limit `ttl`/`hoplimit` (255 / 64). Without a
//!   `source_ip` keepalived lets the kernel pick any port; we still pick
//!   one in the RFC's range, on the wildcard address.
//!
//! Signals: SIGTERM/SIGINT stop (no AdminDown is sent, as keepalived),
//! SIGHUP reloads (sessions whose settings did not change keep their
//! state; every state is sent to the other processes again), SIGUSR1
//! writes `keepalived_bfd.data`, and the parent's "resend" signal sends
//! every state again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, SignalKind};

use crate::bfd::event::{monotonic_us, Event};
use crate::bfd::packet::{CONTROL_PORT, MAX_SOURCE_PORT, MIN_SOURCE_PORT};
use crate::bfd::session::{Action, Out, Rng, SessionConfig, Sessions};
use crate::config::bfd::BfdInstance;
use crate::config::Config;
use crate::daemon::log::log_line;
use crate::vrrp::time::Instant;

/// Where SIGUSR1 makes the BFD process write its state.
pub const DATA_FILE: &str = "/tmp/keepalived_bfd.data";

/// Why the BFD child cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BfdError {
    /// The listening socket could not be opened.
    #[error("Unable to open listening socket")]
    Listen(#[source] io::Error),
}

/// A received datagram.
struct Rx {
    src: IpAddr,
    dst: Option<IpAddr>,
    ttl: Option<u8>,
    bytes: Vec<u8>,
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    val: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a pointer to a live c_int of the size we pass.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&val as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The listening socket on port 3784.
fn open_listener() -> io::Result<AsyncFd<Socket>> {
    let s = match Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)) {
        Ok(s) => {
            s.set_only_v6(false)?;
            setsockopt_int(
                s.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_RECVHOPLIMIT,
                1,
            )?;
            setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
            s.bind(&SockAddr::from(SocketAddr::new(
                Ipv6Addr::UNSPECIFIED.into(),
                CONTROL_PORT,
            )))?;
            s
        }
        Err(_) => {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
            setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
            setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
            s.bind(&SockAddr::from(SocketAddr::new(
                Ipv4Addr::UNSPECIFIED.into(),
                CONTROL_PORT,
            )))?;
            s
        }
    };
    s.set_nonblocking(true)?;
    // SAFETY: the AsyncFd owns the socket, so the descriptor stays open
    // exactly as long as it is registered.
    unsafe { AsyncFd::register(s) }.map_err(|e| io::Error::other(e.to_string()))
}

fn v4_mapped(a: Ipv6Addr) -> IpAddr {
    match a.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(a),
    }
}

/// One datagram with its TTL and destination address.
fn recv(s: &Socket) -> io::Result<Rx> {
    let mut buf = vec![0u8; 512];
    let mut cbuf = [0u64; 16];
    // SAFETY: a zeroed sockaddr_storage is a valid initial value.
    let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr fields point at our own buffers, which outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>();
    // SAFETY: see above.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "recvmsg() message truncated",
        ));
    }
    buf.truncate(n as usize);
    let mut ttl = None;
    let mut dst = None;
    // SAFETY: walking the control messages the kernel wrote into cbuf;
    // each payload is read unaligned with its documented type.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let (level, ty) = ((*c).cmsg_level, (*c).cmsg_type);
            if (level == libc::IPPROTO_IP && ty == libc::IP_TTL)
                || (level == libc::IPPROTO_IPV6 && ty == libc::IPV6_HOPLIMIT)
            {
                let v: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                ttl = u8::try_from(v).ok();
            } else if level == libc::IPPROTO_IPV6 && ty == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                dst = Some(v4_mapped(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
            } else if level == libc::IPPROTO_IP && ty == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    info.ipi_addr.s_addr,
                ))));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    // SAFETY: the kernel wrote a sockaddr of the family it reports.
    let src = unsafe {
        match i32::from(from.ss_family) {
            libc::AF_INET => {
                let a: libc::sockaddr_in =
                    std::ptr::read_unaligned((&from as *const libc::sockaddr_storage).cast());
                IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)))
            }
            libc::AF_INET6 => {
                let a: libc::sockaddr_in6 =
                    std::ptr::read_unaligned((&from as *const libc::sockaddr_storage).cast());
                v4_mapped(Ipv6Addr::from(a.sin6_addr.s6_addr))
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unknown address family",
                ))
            }
        }
    };
    Ok(Rx {
        src,
        dst,
        ttl,
        bytes: buf,
    })
}

/// `ip_local_port_range` narrowed to RFC 5881's 49152–65535 (keepalived:
/// the whole RFC range when fewer than 1024 ports remain).
fn source_port_range() -> (u16, u16) {
    let sys = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|v| v.parse::<u32>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((49152, 60999));
    let lo = sys.0.max(u32::from(MIN_SOURCE_PORT));
    let hi = sys.1.min(u32::from(MAX_SOURCE_PORT));
    if lo + 1023 > hi {
        (MIN_SOURCE_PORT, MAX_SOURCE_PORT)
    } else {
        (lo as u16, hi as u16)
    }
}

/// A session's sending socket.
fn open_sender(c: &SessionConfig, rng: &mut Rng) -> io::Result<Socket> {
    let v4 = c.neighbor.is_ipv4();
    let s = Socket::new(
        if v4 { Domain::IPV4 } else { Domain::IPV6 },
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    let addr = c.source.unwrap_or(if v4 {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    });
    let (lo, hi) = source_port_range();
    let first = rng.range(u64::from(lo), u64::from(hi)) as u16;
    let mut port = first;
    loop {
        match s.bind(&SockAddr::from(SocketAddr::new(addr, port))) {
            Ok(()) => break,
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                port = if port >= hi { lo } else { port + 1 };
                if port == first {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    if v4 {
        s.set_ttl_v4(u32::from(c.ttl))?;
    } else {
        s.set_unicast_hops_v6(u32::from(c.ttl))?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Which processes hear of a session (`vrrp` / `checker`; both when
/// neither is given).
#[derive(Debug, Clone, Copy)]
struct Listeners {
    vrrp: bool,
    checker: bool,
}

impl Listeners {
    fn of(b: &BfdInstance) -> Listeners {
        let any = b.vrrp || b.checker;
        Listeners {
            vrrp: b.vrrp || !any,
            checker: b.checker || !any,
        }
    }
}

/// The sessions of one configuration with their sockets.
struct Running {
    sessions: Sessions,
    configs: Vec<SessionConfig>,
    listeners: Vec<Listeners>,
    senders: Vec<Option<Socket>>,
    /// A send error was logged (until a send succeeds again).
    send_error: Vec<bool>,
}

struct Driver {
    run: Running,
    /// For the data dump.
    global: crate::daemon::dump::GlobalInfo,
    rng: Rng,
    origin: tokio::time::Instant,
    detail: bool,
    pipes: (Option<RawFd>, Option<RawFd>),
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: getrandom fills our 8-byte buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n == 8 {
        u64::from_ne_bytes(b)
    } else {
        monotonic_us() ^ u64::from(std::process::id())
    }
}

fn session_configs(config: &Config) -> (Vec<SessionConfig>, Vec<Listeners>) {
    config
        .bfd
        .iter()
        .filter(|b| !b.disabled)
        .filter_map(|b| Some((SessionConfig::from_config(b)?, Listeners::of(b))))
        .unzip()
}

impl Driver {
    fn now(&self) -> Instant {
        Instant(self.origin.elapsed().as_micros() as u64)
    }

    /// Builds the sessions of `config`, keeping those of `old` whose
    /// settings did not change (state and timers go on).
    /// Also returns the sessions that start afresh and what the carried
    /// ones have to do (a Poll Sequence after a timer change).
    fn build(&mut self, config: &Config, old: Option<Running>) -> (Running, Vec<usize>, Vec<Out>) {
        let (configs, listeners) = session_configs(config);
        let mut sessions = Sessions::new(configs.clone(), self.rng.next_u64());
        let mut senders: Vec<Option<Socket>> = Vec::new();
        let mut fresh = Vec::new();
        let mut old_by_name: HashMap<String, (crate::bfd::Session, Option<Socket>)> =
            HashMap::new();
        if let Some(o) = old {
            for s in o.sessions.sessions() {
                old_by_name.insert(s.config().name.clone(), (s.clone(), None));
            }
            for (i, sock) in o.senders.into_iter().enumerate() {
                if let Some(e) = o.configs.get(i).and_then(|c| old_by_name.get_mut(&c.name)) {
                    e.1 = sock;
                }
            }
        }
        let mut polls = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let (old_s, old_sock) = match old_by_name.remove(&c.name) {
                Some((s, k)) => (Some(s), k),
                None => (None, None),
            };
            // Same settings: the session and its socket go on as they are.
            if old_s.as_ref().is_some_and(|s| s.config() == c) && old_sock.is_some() {
                if let (Some(slot), Some(s)) = (sessions.session_mut(i), old_s) {
                    *slot = s;
                }
                senders.push(old_sock);
                continue;
            }
            // Same name and peer: keepalived carries the state over and
            // polls if the timers changed; the socket is reopened.
            let carried = old_s
                .filter(|s| s.config().neighbor == c.neighbor && s.config().source == c.source);
            let sock = match open_sender(c, &mut self.rng) {
                Ok(s) => Some(s),
                Err(e) => {
                    log_line(&format!("({}) bind() error ({e})", c.name));
                    log_line(&format!(
                        "({}) Unable to open output socket, disabling instance",
                        c.name
                    ));
                    let mut out = Vec::new();
                    if let Some(s) = sessions.session_mut(i) {
                        s.admin_down(&mut out);
                    }
                    senders.push(None);
                    fresh.push(i);
                    continue;
                }
            };
            senders.push(sock);
            match carried {
                Some(o) => {
                    if let Some(s) = sessions.session_mut(i) {
                        let mut acts = Vec::new();
                        s.take_over(&o, &mut acts);
                        polls.extend(acts.into_iter().map(|action| Out { session: i, action }));
                    }
                }
                None => fresh.push(i),
            }
        }
        let n = configs.len();
        (
            Running {
                sessions,
                configs,
                listeners,
                senders,
                send_error: vec![false; n],
            },
            fresh,
            polls,
        )
    }

    fn execute(&mut self, out: Vec<Out>) {
        for o in out {
            let i = o.session;
            let Some(cfg) = self.run.configs.get(i) else {
                continue;
            };
            match o.action {
                Action::Send(p) => {
                    let Some(Some(sock)) = self.run.senders.get(i) else {
                        continue;
                    };
                    let to = SockAddr::from(SocketAddr::new(cfg.neighbor, CONTROL_PORT));
                    match sock.send_to(&p.to_bytes(), &to) {
                        Ok(_) => self.run.send_error[i] = false,
                        Err(e) => {
                            if !self.run.send_error[i] {
                                log_line(&format!("sendto() error ({e})"));
                                log_line(&format!("({}) Error sending packet", cfg.name));
                                self.run.send_error[i] = true;
                            }
                        }
                    }
                }
                Action::Event { up } => {
                    let ev = Event {
                        name: cfg.name.clone(),
                        up,
                        sent_us: monotonic_us(),
                    };
                    let l = self.run.listeners[i];
                    let bytes = ev.encode();
                    for (want, fd, who) in [
                        (l.vrrp, self.pipes.0, "vrrp"),
                        (l.checker, self.pipes.1, "checker"),
                    ] {
                        let Some(fd) = fd.filter(|_| want) else {
                            continue;
                        };
                        // SAFETY: write of our buffer to our pipe fd.
                        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
                        if n < 0 && self.detail {
                            log_line(&format!(
                                "({}) {who} pipe write() error {}",
                                cfg.name,
                                io::Error::last_os_error()
                            ));
                        }
                    }
                }
                Action::Log(l) => log_line(&l),
                Action::Detail(l) => {
                    if self.detail {
                        log_line(&l);
                    }
                }
            }
        }
    }

    fn received(&mut self, rx: Rx) {
        let now = self.now();
        let mut out = Vec::new();
        let r = self
            .run
            .sessions
            .receive(now, rx.src, rx.dst, rx.ttl, &rx.bytes, &mut out);
        if let Err(e) = r {
            if self.detail {
                log_line(&e.to_string());
            }
        }
        self.execute(out);
    }

    fn dump(&self) {
        let path = crate::daemon::dump::path(DATA_FILE);
        log_line(&format!(
            "Printing BFD data for process({}) on signal",
            std::process::id()
        ));
        if let Err(e) = crate::daemon::dump::write(&path, &data_dump(&self.global, &self.run)) {
            log_line(&format!("Unable to write {}: {e}", path.display()));
        }
    }
}

// ===== the VRRP and checker side =====

/// The read end of the BFD event pipe, when the parent gave one.
pub struct BfdEvents {
    fd: AsyncFd<OwnedFd>,
    decoder: crate::bfd::event::Decoder,
}

impl BfdEvents {
    /// The next events; `None` once the pipe is closed or broken.
    pub async fn next(&mut self) -> Option<Vec<crate::bfd::event::Event>> {
        loop {
            let mut guard = self.fd.readable().await.ok()?;
            let mut buf = [0u8; 4096];
            match guard.try_io(|f| {
                // SAFETY: read into our buffer from our non-blocking pipe.
                let n = unsafe {
                    libc::read(f.get_ref().as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }) {
                Ok(Ok(0)) => return None,
                Ok(Ok(n)) => {
                    let evs = self.decoder.feed(&buf[..n]);
                    if !evs.is_empty() {
                        return Some(evs);
                    }
                }
                Ok(Err(_)) => return None,
                Err(_would_block) => continue,
            }
        }
    }
}

/// The next events from `reader`, for a `select!` branch: never when
/// there is no pipe, or once it closed (the reader is then dropped).
pub async fn next_events(reader: &mut Option<BfdEvents>) -> Vec<Event> {
    if let Some(r) = reader.as_mut() {
        if let Some(evs) = r.next().await {
            return evs;
        }
    }
    *reader = None;
    std::future::pending().await
}

/// The BFD event pipe this process inherited, registered with the runtime.
pub fn event_reader() -> Option<BfdEvents> {
    let fd = crate::daemon::process::bfd_event_reader()?;
    // SAFETY: the fd was inherited for this purpose and nothing else owns it.
    let owned = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: the AsyncFd owns the fd, so it stays open exactly as long
    // as it is registered.
    match unsafe { AsyncFd::register(owned) } {
        Ok(fd) => Some(BfdEvents {
            fd,
            decoder: crate::bfd::event::Decoder::new(),
        }),
        Err(e) => {
            log_line(&format!("Unable to watch the BFD event pipe: {e}"));
            None
        }
    }
}

/// Logs a received event as keepalived does with `-D`.
pub fn log_received(ev: &Event) {
    let delivered = monotonic_us().saturating_sub(ev.sent_us);
    log_line(&format!(
        "Received BFD event: instance {} is in state {} (delivered in {delivered} usec)",
        ev.name,
        ev.state_str()
    ));
}

/// `keepalived_bfd.data`: the global definitions, then every session's
/// settings and state in keepalived 2.2.7's layout (its lines about
/// threads and file descriptors are left out).
fn data_dump(global: &crate::daemon::dump::GlobalInfo, r: &Running) -> String {
    let mut s = crate::daemon::dump::global_section(global, crate::daemon::dump::Process::Checker);
    s.push_str("------< BFD Topology >------\n");
    let yes = |b: bool| if b { "Yes" } else { "No" };
    for (i, sess) in r.sessions.sessions().iter().enumerate() {
        let c = sess.config();
        let l = r.listeners[i];
        let _ = writeln!(s, " BFD Instance = {}", c.name);
        let _ = writeln!(s, "   Neighbor IP = {}", c.neighbor);
        if let Some(src) = c.source {
            let _ = writeln!(s, "   Source IP = {src}");
        }
        let _ = writeln!(s, "   Required min RX interval = {} us", c.min_rx);
        let _ = writeln!(s, "   Desired min TX interval = {} us", c.min_tx);
        let _ = writeln!(s, "   Desired idle TX interval = {} us", c.idle_tx);
        let _ = writeln!(s, "   Detection multiplier = {}", c.multiplier);
        let ttl = if c.neighbor.is_ipv4() {
            "TTL"
        } else {
            "hoplimit"
        };
        let _ = writeln!(s, "   {ttl} = {}", c.ttl);
        let _ = writeln!(s, "   max_hops = {}", c.max_hops);
        let _ = writeln!(s, "   passive = {}", c.passive);
        let _ = writeln!(s, "   send event to VRRP process = {}", yes(l.vrrp));
        let _ = writeln!(s, "   send event to checker process = {}", yes(l.checker));
        let _ = writeln!(s, "   send error = {}", r.send_error[i]);
        let _ = writeln!(s, "   local state = {}", sess.state());
        let _ = writeln!(s, "   remote state = {}", sess.remote_state());
        let _ = writeln!(s, "   local discriminator = 0x{:x}", sess.local_discr());
        let _ = writeln!(s, "   remote discriminator = 0x{:x}", sess.remote_discr());
        let _ = writeln!(s, "   local diag = {}", sess.local_diag());
        let _ = writeln!(s, "   remote diag = {}", sess.remote_diag());
        let _ = writeln!(s, "   remote min tx intv = {} us", sess.remote_min_tx());
        let _ = writeln!(s, "   remote min rx intv = {} us", sess.remote_min_rx());
        let _ = writeln!(s, "   local demand = 0");
        let _ = writeln!(s, "   remote demand = {}", u8::from(sess.remote_demand()));
        let _ = writeln!(s, "   remote detect multiplier = {}", sess.remote_mult());
        let _ = writeln!(
            s,
            "   {}poll, {}final",
            if sess.polling() { "" } else { "!" },
            if sess.final_pending() { "" } else { "!" }
        );
        let _ = writeln!(s, "   local tx intv = {} us", sess.tx_interval());
        let _ = writeln!(s, "   remote tx intv = {} us", sess.remote_tx_interval());
        let _ = writeln!(s, "   local detection time = {} us", sess.detection_time());
        let _ = writeln!(
            s,
            "   remote detection time = {} us",
            sess.remote_detection_time()
        );
    }
    s
}

/// Runs the BFD child until SIGTERM; returns its exit code (1 when the
/// listening socket cannot be opened: keepalived exits FATAL then, which
/// stops the whole daemon).
pub fn run(config: &Config, detail: bool, reload: &dyn Fn() -> Option<Config>) -> u8 {
    let Some(rt) = super::runtime() else {
        return 1;
    };
    rt.block_on(run_async(config, detail, reload))
}

async fn run_async(config: &Config, detail: bool, reload: &dyn Fn() -> Option<Config>) -> u8 {
    let listener = match open_listener().map_err(BfdError::Listen) {
        Ok(l) => l,
        Err(e) => {
            let BfdError::Listen(io) = &e;
            log_line(&format!("bind() error ({io})"));
            log_line(&e.to_string());
            return 1;
        }
    };
    let mut drv = Driver {
        global: crate::daemon::dump::GlobalInfo::from_config(&config.global),
        run: Running {
            sessions: Sessions::new(Vec::new(), 0),
            configs: Vec::new(),
            listeners: Vec::new(),
            senders: Vec::new(),
            send_error: Vec::new(),
        },
        rng: Rng::new(seed()),
        origin: tokio::time::Instant::now(),
        detail,
        pipes: crate::daemon::process::bfd_event_writers(),
    };
    let (run, _, _) = drv.build(config, None);
    drv.run = run;
    let (mut term, mut int, mut hup, mut usr1, mut resend) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::from_raw(
            crate::daemon::process::bfd_resend_signal(),
        )),
    ) {
        (Ok(t), Ok(i), Ok(h), Ok(u), Ok(r)) => (t, i, h, u, r),
        _ => {
            log_line("Unable to install signal handlers");
            return 1;
        }
    };
    let mut out = Vec::new();
    let now = drv.now();
    drv.run.sessions.start(now, &mut out);
    drv.execute(out);
    crate::daemon::process::child_ready();
    loop {
        let deadline = drv
            .run
            .sessions
            .poll_timeout()
            .map(|t| drv.origin + Duration::from_micros(t.0));
        tokio::select! {
            biased;
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                match reload() {
                    Some(c) => {
                        drv.global = crate::daemon::dump::GlobalInfo::from_config(&c.global);
                        let old = std::mem::replace(&mut drv.run, Running {
                            sessions: Sessions::new(Vec::new(), 0),
                            configs: Vec::new(),
                            listeners: Vec::new(),
                            senders: Vec::new(),
                            send_error: Vec::new(),
                        });
                        let (run, fresh, polls) = drv.build(&c, Some(old));
                        drv.run = run;
                        let now = drv.now();
                        let mut out = polls;
                        // keepalived sends every state again on a reload;
                        // new sessions start (and send at once).
                        drv.run.sessions.resend_events(&mut out);
                        for i in fresh {
                            if let Some(s) = drv.run.sessions.session_mut(i) {
                                let mut acts = Vec::new();
                                s.start(now, &mut acts);
                                out.extend(
                                    acts.into_iter()
                                        .filter(|a| !matches!(a, Action::Event { .. }))
                                        .map(|action| Out { session: i, action }),
                                );
                            }
                        }
                        drv.execute(out);
                    }
                    None => log_line("The new configuration has errors - keeping the running one"),
                }
                crate::daemon::process::child_ready();
            }
            _ = usr1.recv() => drv.dump(),
            _ = resend.recv() => {
                let mut out = Vec::new();
                drv.run.sessions.resend_events(&mut out);
                drv.execute(out);
            }
            _ = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                let mut out = Vec::new();
                let now = drv.now();
                drv.run.sessions.handle_timeout(now, &mut out);
                drv.execute(out);
            }
            r = listener.readable() => {
                let Ok(mut guard) = r else { continue };
                let mut got = Vec::new();
                // At most a burst per wake-up, so timers are not starved.
                while got.len() < 64 {
                    match recv(guard.get_ref().get_ref()) {
                        Ok(rx) => got.push(rx),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            guard.clear_ready();
                            break;
                        }
                        Err(e) => {
                            log_line(&format!("recvmsg() error ({e})"));
                            break;
                        }
                    }
                }
                drop(guard);
                for rx in got {
                    drv.received(rx);
                }
            }
        }
    }
    0
}

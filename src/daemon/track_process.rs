//! The IO of `vrrp_track_process`: the kernel's process connector
//! (NETLINK_CONNECTOR, group CN_IDX_PROC) read by a task that forwards its
//! messages to the VRRP loop, and the /proc reads keepalived makes: a scan
//! of every process, and one process on an exec event. The counting lives
//! in the sans-IO [`crate::vrrp::track_process`].
//!
//! The connector only exists in the initial network namespace: elsewhere
//! the listen request is refused, as keepalived finds too.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use crate::vrrp::track_process::proc_event::{self, ProcMessage, CN_IDX_PROC};
use crate::vrrp::track_process::{comm_file, stat_comm, ProcInfo, Reads};

/// `NETLINK_CONNECTOR`.
const NETLINK_CONNECTOR: i32 = 11;

/// Why the monitor could not start; the texts are keepalived's lines.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The kernel has no connector (CONFIG_PROC_EVENTS): a `-D` line.
    #[error("track_process not available - is CONFIG_PROC_EVENTS enabled in kernel config?")]
    NotSupported,
    /// socket(2) failed.
    #[error("Failed to open process monitoring socket - errno {} - {}", errno(.0), desc(.0))]
    Open(io::Error),
    /// bind(2) failed.
    #[error("Failed to bind to process monitoring socket - errno {} - {}", errno(.0), desc(.0))]
    Bind(io::Error),
    /// The listen request was refused (another network namespace).
    #[error("Failed to set/clear process event listen - errno {} - {}", errno(.0), desc(.0))]
    Listen(io::Error),
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// C's `%m`.
fn desc(e: &io::Error) -> &'static str {
    nix::errno::Errno::from_raw(errno(e)).desc()
}

/// What the monitor task forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorMsg {
    /// A message from the kernel.
    Event(ProcMessage),
    /// The socket overflowed (ENOBUFS): events were lost.
    Lost,
    /// A line for the log (keepalived's receive errors).
    Log(String),
}

/// The connector socket.
#[derive(Debug, Clone)]
pub struct Monitor {
    fd: Arc<AsyncFd<OwnedFd>>,
}

impl Monitor {
    /// keepalived's `nl_connect`: a non-blocking socket bound to the
    /// process events group; then `bufs` (`process_monitor_rcv_bufs`,
    /// force) when configured.
    pub fn open(bufs: Option<(u32, bool)>) -> Result<Monitor, MonitorError> {
        let flags = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
        // SAFETY: plain socket(2); the result is checked.
        let raw = unsafe { libc::socket(libc::AF_NETLINK, flags, NETLINK_CONNECTOR) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPROTONOSUPPORT) => MonitorError::NotSupported,
                _ => MonitorError::Open(e),
            });
        }
        // SAFETY: `raw` is a socket we own from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_nl is plain data, all-zero is valid.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        sa.nl_groups = CN_IDX_PROC;
        sa.nl_pid = std::process::id();
        // SAFETY: bind with a valid sockaddr_nl and its size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r < 0 {
            return Err(MonitorError::Bind(io::Error::last_os_error()));
        }
        if let Some((size, force)) = bufs {
            if let Some(line) = set_rcvbuf(fd.as_raw_fd(), size, force) {
                crate::daemon::log::log_line(&line);
            }
        }
        // SAFETY: the AsyncFd owns the socket, so the descriptor stays
        // open exactly as long as it is registered.
        let fd = unsafe { AsyncFd::register(fd) }
            .map_err(|e| MonitorError::Open(io::Error::other(e.to_string())))?;
        Ok(Monitor { fd: Arc::new(fd) })
    }

    /// keepalived's `set_proc_ev_listen`: asks the kernel to send events
    /// (or to stop).
    pub fn listen(&self, on: bool) -> Result<(), MonitorError> {
        let msg = proc_event::listen_request(std::process::id(), on);
        // SAFETY: send(2) of an owned buffer on our socket.
        let r = unsafe { libc::send(self.raw(), msg.as_ptr().cast(), msg.len(), 0) };
        if r < 0 {
            return Err(MonitorError::Listen(io::Error::last_os_error()));
        }
        Ok(())
    }

    fn raw(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// After lost events keepalived doubles the receive buffer; the lines
    /// it logs.
    pub fn double_rcvbuf(&self, force: bool) -> Vec<String> {
        let mut size: u32 = 0;
        let mut len = size_of::<u32>() as libc::socklen_t;
        // SAFETY: getsockopt into a u32 with its length.
        let r = unsafe {
            libc::getsockopt(
                self.raw(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut size as *mut u32).cast(),
                &mut len,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return vec![format!(
                "Cannot get process monitor SO_RCVBUF option. errno={} ({})",
                errno(&e),
                desc(&e)
            )];
        }
        let size = size.saturating_mul(2);
        let mut lines: Vec<String> = set_rcvbuf(self.raw(), size, force).into_iter().collect();
        lines.push(format!(
            "Setting global_def process_monitor_rcv_bufs to {size} - recommend updating configuration file"
        ));
        lines
    }

    /// What the socket holds now, read without waiting (the kernel
    /// answers the listen request before `send` returns).
    pub fn drain(&self) -> Vec<MonitorMsg> {
        let mut buf = vec![0u8; 4096];
        let mut out = Vec::new();
        let cpus = num_cpus();
        loop {
            match recv_kernel(self.raw(), &mut buf) {
                Ok(Some(n)) => {
                    out.extend(proc_event::parse(&buf[..n], cpus).map(MonitorMsg::Event))
                }
                Ok(None) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => out.push(MonitorMsg::Lost),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return out,
            }
        }
    }

    /// Starts the task forwarding the kernel's messages to `tx`.
    pub fn spawn(&self, tx: mpsc::Sender<MonitorMsg>) -> tokio::task::JoinHandle<()> {
        let fd = self.fd.clone();
        let cpus = num_cpus();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok(mut guard) = fd.readable().await else {
                    return;
                };
                let r = guard.try_io(|fd| recv_kernel(fd.get_ref().as_raw_fd(), &mut buf));
                let msg = match r {
                    Err(_would_block) => continue,
                    Ok(Ok(Some(n))) => match proc_event::parse(&buf[..n], cpus) {
                        Some(m) => MonitorMsg::Event(m),
                        None => continue,
                    },
                    Ok(Ok(None)) => continue,
                    Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => MonitorMsg::Lost,
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Ok(Err(e)) => MonitorMsg::Log(format!(
                        "process monitor netlink recv error {} - {}",
                        errno(&e),
                        desc(&e)
                    )),
                };
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        })
    }
}

/// `SO_RCVBUF` (or `SO_RCVBUFFORCE`); keepalived's line on failure.
fn set_rcvbuf(fd: RawFd, size: u32, force: bool) -> Option<String> {
    let opt = if force {
        libc::SO_RCVBUFFORCE
    } else {
        libc::SO_RCVBUF
    };
    // SAFETY: setsockopt with a u32 and its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&size as *const u32).cast(),
            size_of::<u32>() as u32,
        )
    };
    (r < 0).then(|| {
        let e = io::Error::last_os_error();
        format!(
            "Cannot set process monitor SO_RCVBUF{} option. errno={} ({})",
            if force { "FORCE" } else { "" },
            errno(&e),
            desc(&e)
        )
    })
}

/// One datagram; `None` when it did not come from the kernel.
fn recv_kernel(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: sockaddr_nl is plain data, all-zero is valid.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: recvfrom into our buffer and address with their sizes.
    let n = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            0,
            (&mut sa as *mut libc::sockaddr_nl).cast(),
            &mut len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let from_kernel = len as usize == size_of::<libc::sockaddr_nl>() && sa.nl_pid == 0;
    Ok(from_kernel.then_some(n as usize))
}

/// keepalived sizes its per-CPU sequence table from the configured CPUs.
pub fn num_cpus() -> u32 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
    u32::try_from(n).unwrap_or(0)
}

/// Reads at most `max` bytes of a file (keepalived reads /proc files with
/// one read(2) of a bounded size).
fn read_some(path: &str, max: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; max];
    let n = f.read(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// keepalived's `read_procs`: every process (but zombies) with what
/// `reads` asks for; processes that vanish meanwhile are left out.
pub fn scan(reads: Reads) -> Vec<(i32, ProcInfo)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| {
            let first = n.as_bytes().first()?;
            (b'1'..=b'9')
                .contains(first)
                .then(|| n.parse::<i32>().ok())?
        }) else {
            continue;
        };
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let mut info = ProcInfo::default();
        if reads.cmdline {
            match read_some(&format!("/proc/{pid}/cmdline"), reads.scan_cmdline_len()) {
                Some(c) => info.cmdline = c,
                None => continue,
            }
        }
        if reads.comm {
            let Some(stat) = read_some(&format!("/proc/{pid}/stat"), 127) else {
                continue;
            };
            match stat_comm(&stat) {
                Some(c) => info.comm = Some(c.to_vec()),
                None => continue,
            }
        }
        out.push((pid, info));
    }
    out
}

/// keepalived's reads for an exec event: the command line and
/// `/proc/PID/comm`; `None` if either is gone.
pub fn read_process(pid: i32, reads: Reads) -> Option<ProcInfo> {
    let mut info = ProcInfo::default();
    if reads.cmdline {
        info.cmdline = read_some(&format!("/proc/{pid}/cmdline"), reads.event_cmdline_len())?;
    }
    if reads.comm {
        let c = read_some(&format!("/proc/{pid}/comm"), 16)?;
        info.comm = Some(comm_file(&c).to_vec());
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_sees_this_process() {
        let reads = Reads {
            comm: true,
            cmdline: true,
            max_name_len: 4096,
        };
        let me = std::process::id() as i32;
        let all = scan(reads);
        let (_, info) = all.iter().find(|(p, _)| *p == me).expect("own pid");
        assert!(info.comm.as_ref().is_some_and(|c| !c.is_empty()));
        assert!(!info.cmdline.is_empty());
        assert_eq!(
            read_process(me, reads).map(|i| i.comm),
            Some(info.comm.clone())
        );
    }

    #[test]
    fn errors_read_as_keepalived_logs_them() {
        let e = MonitorError::Listen(io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(
            e.to_string(),
            "Failed to set/clear process event listen - errno 111 - Connection refused"
        );
    }
}

//! What every network probe shares: where to connect from and to, the
//! connect timeout, and TCP_CHECK itself (a connect that succeeds).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};

use super::sched::{Failure, Outcome};

/// Where and how a network checker connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `connect_ip`:`connect_port` (default: the real server's).
    pub addr: SocketAddr,
    /// `connect_timeout`; also bounds each read.
    pub timeout: Duration,
    /// How the local end is set up, when configured at all: boxed, as
    /// each of thousands of checker tasks holds its target and few
    /// checkers set any of it.
    pub local: Option<Box<Local>>,
}

/// The local end of a checker's connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Local {
    /// `bindto` / `bind_port`.
    pub bind: Option<SocketAddr>,
    /// `bind_if` (needed for IPv6 link-local).
    pub bind_if: Option<String>,
    /// `fwmark` (SO_MARK on the checker's packets).
    pub fwmark: Option<u32>,
}

impl Target {
    /// A target with no binding and the given timeout.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Target {
        Target {
            addr,
            timeout,
            local: None,
        }
    }

    /// A socket of `ty`/`proto` bound and marked as configured,
    /// non-blocking and close-on-exec from its creation (`socket2` adds
    /// `SOCK_CLOEXEC`): no `fcntl` calls per probe.
    pub fn socket(&self, ty: Type, proto: Protocol) -> io::Result<Socket> {
        let s = Socket::new(
            Domain::for_address(self.addr),
            ty.nonblocking(),
            Some(proto),
        )?;
        let Some(local) = &self.local else {
            return Ok(s);
        };
        if let Some(m) = local.fwmark {
            s.set_mark(m)?;
        }
        if let Some(i) = &local.bind_if {
            s.bind_device(Some(i.as_bytes()))?;
        }
        if let Some(b) = local.bind {
            s.set_reuse_address(true)?;
            s.bind(&b.into())?;
        }
        Ok(s)
    }
}

/// Maps an IO error of a connect/read to a probe failure.
pub fn io_failure(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::TimedOut {
        Failure::Timeout
    } else {
        Failure::Connect(e.to_string())
    }
}

/// Opens a TCP connection within the target's timeout.
pub async fn tcp_connect(t: &Target) -> Result<TcpStream, Failure> {
    let s = t
        .socket(Type::STREAM, Protocol::TCP)
        .map_err(|e| Failure::Local(format!("socket: {e}")))?;
    let sock = TcpSocket::from_std_stream(std::net::TcpStream::from(s));
    match tokio::time::timeout(t.timeout, sock.connect(t.addr)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(io_failure(e)),
        Err(_) => Err(Failure::Timeout),
    }
}

/// TCP_CHECK: up when a connection can be established.
pub async fn tcp_check(t: &Target) -> Outcome {
    match tcp_connect(t).await {
        Ok(_) => Outcome::OK,
        Err(f) => Outcome::Failure(f),
    }
}

/// Runs `f` within `d`, a timeout counting as [`Failure::Timeout`].
pub async fn within<T>(
    d: Duration,
    f: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout(d, f)
        .await
        .unwrap_or(Err(Failure::Timeout))
}

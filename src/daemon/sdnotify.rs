//! systemd's readiness protocol (`Type=notify`), by hand: one datagram to
//! the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an
//! abstract socket). Without the variable every call is a no-op.
//!
//! The parent sends, as keepalived does: `READY=1` and `MAINPID=` once
//! every child has read its configuration (and again after a reload),
//! `RELOADING=1` when a reload starts, `STOPPING=1` when it stops, and
//! `ERRNO=` when a child failed for good. Children never talk to systemd:
//! the parent removes the variable from their environment.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The environment variable systemd sets.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (newline-separated `KEY=VALUE` lines). `Ok(false)` when
/// no notification socket is set.
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os(NOTIFY_SOCKET) else {
        return Ok(false);
    };
    let path = path.to_string_lossy().into_owned();
    let addr = if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())?
    } else {
        SocketAddr::from_pathname(&path)?
    };
    let sock = UnixDatagram::unbound()?;
    sock.send_to_addr(state.as_bytes(), &addr)?;
    Ok(true)
}

fn send(state: &str) {
    if let Err(e) = notify(state) {
        crate::daemon::log::log_line(&format!("systemd notify '{state}' failed: {e}"));
    }
}

/// `READY=1` with our pid as `MAINPID`.
pub fn ready() {
    send(&format!("READY=1\nMAINPID={}", std::process::id()));
}

/// `RELOADING=1`: a reload started.
pub fn reloading() {
    send("RELOADING=1");
}

/// `STOPPING=1`: the daemon is stopping.
pub fn stopping() {
    send("STOPPING=1");
}

/// `ERRNO=n`: the daemon is stopping because of a permanent error.
pub fn errno(n: i32) {
    send(&format!("ERRNO={n}"));
}

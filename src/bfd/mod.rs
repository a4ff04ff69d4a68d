//! BFD (RFC 5880 asynchronous mode, RFC 5881 single hop) as keepalived
//! 2.2.7's BFD process runs it.
//!
//! Like the VRRP core, this is sans-IO: [`packet`] reads and writes
//! Control packets, [`session`] runs the state machines on explicit
//! instants; the daemon's BFD child (`crate::daemon::bfd`) owns the
//! sockets and the clock.

pub mod event;
pub mod packet;
pub mod session;

pub use packet::{Diag, Repr, State};
pub use session::{Action, Discard, Session, SessionConfig, Sessions};

//! Errors of the IPVS client. [`Error::NoIpvs`] is separate from the rest
//! because it is the one a daemon should survive: log it and retry later
//! (keepalived's checker exits FATAL instead).

use super::wire::Cmd;

/// An IPVS client error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The generic-netlink family "IPVS" is not registered.
    #[error(
        "IPVS: the kernel has no IPVS (generic netlink family IPVS not found) - is ip_vs loaded?"
    )]
    NoIpvs,
    /// The kernel refused a command (errno), outside the tolerated ones.
    #[error("IPVS cmd {}({}) error: {}({errno}){}", cmd.name(), u8::from(*cmd), strerror(*errno), paren(context))]
    Kernel {
        /// The command.
        cmd: Cmd,
        /// Positive errno.
        errno: i32,
        /// The objects, `[vs]:tcp:80 -> [rs]:80`.
        context: String,
    },
    /// The netlink socket failed.
    #[error("IPVS netlink socket: {0}")]
    Io(#[from] std::io::Error),
    /// The kernel's reply did not parse.
    #[error("IPVS netlink: malformed reply: {0}")]
    Decode(String),
}

impl Error {
    /// True when IPVS is absent: the caller may keep running and retry.
    pub fn is_no_ipvs(&self) -> bool {
        matches!(self, Error::NoIpvs)
    }

    /// The kernel's errno, if the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

fn strerror(errno: i32) -> &'static str {
    nix::errno::Errno::from_raw(errno).desc()
}

fn paren(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" ({s})")
    }
}

/// Result of IPVS operations.
pub type Result<T> = std::result::Result<T, Error>;

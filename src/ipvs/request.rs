//! The requests keepalived makes of IPVS, as values: each knows its
//! command, whether it is a dump, how it is encoded, and the error policy
//! of reference §5 (which kernel errors count as success).

use super::repr::{Dest, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};
use super::wire::{Attr, Cmd, Message};

/// One IPVS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Version and table size (keepalived's first call).
    GetInfo,
    /// Add a service.
    NewService(Service),
    /// Modify a service.
    SetService(Service),
    /// Delete a service.
    DelService(Service),
    /// Dump all services.
    GetServices,
    /// Add a destination to a service.
    NewDest(Service, Dest),
    /// Modify a destination.
    SetDest(Service, Dest),
    /// Delete a destination.
    DelDest(Service, Dest),
    /// Dump the destinations of a service.
    GetDests(ServiceKey),
    /// Remove every service.
    Flush,
    /// Start a sync daemon.
    NewDaemon(SyncDaemon),
    /// Stop a sync daemon.
    DelDaemon(SyncState, u32),
    /// Dump running sync daemons.
    GetDaemons,
    /// Read connection timeouts.
    GetConfig,
    /// Set connection timeouts.
    SetConfig(Timeouts),
}

impl Request {
    /// The generic-netlink command.
    pub fn cmd(&self) -> Cmd {
        match self {
            Request::GetInfo => Cmd::GetInfo,
            Request::NewService(_) => Cmd::NewService,
            Request::SetService(_) => Cmd::SetService,
            Request::DelService(_) => Cmd::DelService,
            Request::GetServices => Cmd::GetService,
            Request::NewDest(..) => Cmd::NewDest,
            Request::SetDest(..) => Cmd::SetDest,
            Request::DelDest(..) => Cmd::DelDest,
            Request::GetDests(_) => Cmd::GetDest,
            Request::Flush => Cmd::Flush,
            Request::NewDaemon(_) => Cmd::NewDaemon,
            Request::DelDaemon(..) => Cmd::DelDaemon,
            Request::GetDaemons => Cmd::GetDaemon,
            Request::GetConfig => Cmd::GetConfig,
            Request::SetConfig(_) => Cmd::SetConfig,
        }
    }

    /// Sent with `NLM_F_DUMP` (the rest with `NLM_F_ACK`).
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Request::GetServices | Request::GetDests(_) | Request::GetDaemons
        )
    }

    /// The message after `genlmsghdr`.
    pub fn to_message(&self) -> Message {
        let attrs = match self {
            Request::GetInfo
            | Request::GetServices
            | Request::Flush
            | Request::GetDaemons
            | Request::GetConfig => vec![],
            Request::NewService(s) | Request::SetService(s) | Request::DelService(s) => {
                vec![Attr::Service(s.to_attrs())]
            }
            Request::NewDest(s, d) | Request::SetDest(s, d) | Request::DelDest(s, d) => {
                vec![Attr::Service(s.to_attrs()), Attr::Dest(d.to_attrs())]
            }
            Request::GetDests(k) => vec![Attr::Service(Service::key_attrs(k))],
            Request::NewDaemon(d) => vec![Attr::Daemon(d.to_attrs())],
            Request::DelDaemon(state, id) => {
                vec![Attr::Daemon(SyncDaemon::stop_attrs(*state, *id))]
            }
            Request::SetConfig(t) => t.to_attrs(),
        };
        Message {
            cmd: self.cmd(),
            attrs,
        }
    }

    /// keepalived's policy: EEXIST on an add and ENOENT on a delete mean
    /// the kernel already has what we want; so does ESRCH, the kernel's
    /// answer to stopping a sync daemon that does not run.
    pub fn tolerates(&self, errno: i32) -> bool {
        match self {
            Request::NewService(_) | Request::NewDest(..) => errno == libc::EEXIST,
            Request::DelService(_) | Request::DelDest(..) => errno == libc::ENOENT,
            Request::DelDaemon(..) => errno == libc::ENOENT || errno == libc::ESRCH,
            _ => false,
        }
    }

    /// The objects involved, as keepalived appends them to error messages.
    pub fn describe(&self) -> String {
        match self {
            Request::NewService(s) | Request::SetService(s) | Request::DelService(s) => {
                s.key.to_string()
            }
            Request::NewDest(s, d) | Request::SetDest(s, d) | Request::DelDest(s, d) => {
                format!("{} -> {}", s.key, d.display_in(&s.key))
            }
            Request::GetDests(k) => k.to_string(),
            Request::NewDaemon(d) => format!("sync daemon {} id {}", d.ifname, d.sync_id),
            Request::DelDaemon(_, id) => format!("sync daemon id {id}"),
            _ => String::new(),
        }
    }
}

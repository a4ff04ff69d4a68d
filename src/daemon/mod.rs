//! The daemon: processes, sockets, netlink and the drivers that run the
//! sans-IO cores.

pub mod log;
pub mod netlink;
pub mod parent;
pub mod pidfile;
pub mod plan;
pub mod process;
pub mod sdnotify;
pub mod socket;
pub mod vrrp;

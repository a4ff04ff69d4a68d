//! The daemon: processes, sockets, netlink and the drivers that run the
//! sans-IO cores.

pub mod checker;
pub mod dump;
pub mod log;
pub mod netlink;
pub mod parent;
pub mod pidfile;
pub mod plan;
pub mod process;
pub mod route;
pub mod sdnotify;
pub mod socket;
pub mod track_file;
pub mod vrrp;

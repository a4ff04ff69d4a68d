//! The daemon: processes, sockets, netlink and the drivers that run the
//! sans-IO cores.

pub mod checker;
pub mod dump;
pub mod netlink;
pub mod plan;
pub mod route;
pub mod socket;
pub mod track_file;
pub mod vrrp;

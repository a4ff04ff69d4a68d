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
pub mod syncd;
pub mod track_file;
pub mod vrrp;

/// The current-thread tokio runtime each child runs on; `None` (after
/// logging why) when it cannot be built.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| log::log_line(&format!("Unable to start the runtime: {e}")))
        .ok()
}

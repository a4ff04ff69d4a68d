//! The daemon: processes, sockets, netlink and the drivers that run the
//! sans-IO cores.

pub mod addr_monitor;
pub mod bfd;
pub mod checker;
pub mod core_dump;
pub mod dump;
pub mod ha_suspend;
pub mod log;
pub mod netlink;
pub mod netns;
pub mod parent;
pub mod pidfile;
pub mod plan;
pub mod process;
pub mod route;
pub mod rx_bufs;
pub mod sched;
pub mod sdnotify;
pub mod socket;
pub mod syncd;
pub mod track_file;
pub mod track_plan;
pub mod track_process;
pub mod vmac;
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

/// mimalloc's options for a small, long-lived daemon, set before its
/// first arena exists (see `main.rs`): the arena is committed as it is
/// used, not 4 MiB at once, and memory freed is returned at once, not
/// after a delay that an idle process never reaches. Eager commit cost
/// every process, the idle parent included, 2.2 MB of private memory (a
/// host running one keepalived per network namespace, as OpenStack's L3
/// agent does, pays it hundreds of times); the delay kept 1.4 MB of the
/// VRRP child's start-up at 1000 instances. `MIMALLOC_*` variables in the
/// environment still win.
pub fn allocator_options() {
    use mimalloc as _;
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // mimalloc v3's `mi_option_t` (libmimalloc-sys 0.1.49's mimalloc.h).
    const ARENA_EAGER_COMMIT: std::ffi::c_int = 4;
    const PURGE_DELAY: std::ffi::c_int = 15;
    for (option, env) in [
        (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT"),
        (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY"),
    ] {
        // SAFETY: getenv reads the environment with a NUL-terminated name
        // and allocates nothing (nothing may be allocated before the
        // options are set); mi_option_set stores an integer in mimalloc's
        // option table.
        unsafe {
            if libc::getenv(env.as_ptr()).is_null() {
                mi_option_set(option, 0);
            }
        }
    }
}

/// Hands the memory the allocator holds free back to the system; called
/// once a parsed configuration has been dropped. mimalloc (the daemon's
/// allocator, see `main.rs`) returns free pages only after a delay and only
/// from within later allocator calls, which an idle process (the parent)
/// does not make: it kept the 30 MB the parse of 10 000 real servers took.
pub fn release_free_memory() {
    // The mimalloc crate links the library but exposes no such call.
    use mimalloc as _;
    extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: mi_collect takes no pointers and may be called at any time;
    // under another global allocator it only tidies mimalloc's empty heap.
    unsafe { mi_collect(true) }
}

//! The child side of the process model.
//!
//! The parent ([`crate::daemon::parent`]) starts each child by executing
//! its own binary again with the original arguments plus the hidden
//! `--rs-child=vrrp|checker` option ([`Role`]). It passes two things in the
//! environment, which [`setup`] takes out again so that scripts the child
//! runs never see them:
//!
//! * `KEEPALIVED_RS_PARENT`: the parent's pid. The child asks the kernel
//!   for SIGTERM when its parent dies (as keepalived's children do) and
//!   exits at once if its parent is already another process;
//! * `KEEPALIVED_RS_READY_FD`: the write end of a pipe. [`child_ready`]
//!   writes one byte to it: "configuration loaded, sockets open" at start,
//!   and "reload done" after each reload. The parent logs `Startup
//!   complete` / `Reload complete` and tells systemd `READY=1` once every
//!   child has written its byte.
//! * `KEEPALIVED_RS_BFD_VRRP_FD` / `KEEPALIVED_RS_BFD_CHECKER_FD` (BFD
//!   child) and `KEEPALIVED_RS_BFD_EVENT_FD` (VRRP and checker children):
//!   the ends of the BFD event pipes ([`crate::bfd::event`]), which the
//!   parent creates once and keeps open, so that a restarted child gets
//!   them again.

use std::sync::atomic::{AtomicI32, Ordering};

/// Which child a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The VRRP child.
    Vrrp,
    /// The health-checker child.
    Checker,
    /// The BFD child.
    Bfd,
}

impl Role {
    /// The value of the hidden `--rs-child=` option.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Vrrp => "vrrp",
            Role::Checker => "checker",
            Role::Bfd => "bfd",
        }
    }

    /// Parses the value of `--rs-child=`.
    pub fn from_flag(s: &str) -> Option<Role> {
        match s {
            "vrrp" => Some(Role::Vrrp),
            "checker" => Some(Role::Checker),
            "bfd" => Some(Role::Bfd),
            _ => None,
        }
    }

    /// The name keepalived's parent uses in its messages about the child
    /// (`VRRP child process(N) died: Respawning`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Vrrp => "VRRP",
            Role::Checker => "Healthcheck",
            Role::Bfd => "BFD",
        }
    }

    /// The child's syslog ident.
    pub fn ident(self) -> crate::daemon::log::Ident {
        match self {
            Role::Vrrp => crate::daemon::log::Ident::Vrrp,
            Role::Checker => crate::daemon::log::Ident::Checker,
            Role::Bfd => crate::daemon::log::Ident::Bfd,
        }
    }
}

/// The hidden command-line option naming a child's role.
pub const CHILD_OPTION: &str = "--rs-child";
/// Environment: the parent's pid.
pub const PARENT_ENV: &str = "KEEPALIVED_RS_PARENT";
/// Environment: the readiness pipe's file descriptor.
pub const READY_FD_ENV: &str = "KEEPALIVED_RS_READY_FD";

/// Environment (BFD child): write end of the BFD → VRRP event pipe.
pub const BFD_VRRP_FD_ENV: &str = "KEEPALIVED_RS_BFD_VRRP_FD";
/// Environment (BFD child): write end of the BFD → checker event pipe.
pub const BFD_CHECKER_FD_ENV: &str = "KEEPALIVED_RS_BFD_CHECKER_FD";
/// Environment (VRRP and checker children): read end of their BFD event
/// pipe.
pub const BFD_EVENT_FD_ENV: &str = "KEEPALIVED_RS_BFD_EVENT_FD";

static READY_FD: AtomicI32 = AtomicI32::new(-1);
static BFD_VRRP_FD: AtomicI32 = AtomicI32::new(-1);
static BFD_CHECKER_FD: AtomicI32 = AtomicI32::new(-1);
static BFD_EVENT_FD: AtomicI32 = AtomicI32::new(-1);

/// The signal the parent sends the BFD child when the VRRP or checker
/// child (re)started: send every session's state again. (keepalived's
/// BFD child sends them at its own start and reload only, so a restarted
/// VRRP child waits for the next change.)
pub fn bfd_resend_signal() -> libc::c_int {
    libc::SIGRTMIN() + 5
}

/// The BFD child's event pipe write ends: (to VRRP, to checker).
pub fn bfd_event_writers() -> (Option<i32>, Option<i32>) {
    let f = |a: &AtomicI32| Some(a.load(Ordering::Relaxed)).filter(|&fd| fd >= 0);
    (f(&BFD_VRRP_FD), f(&BFD_CHECKER_FD))
}

/// The VRRP or checker child's BFD event pipe read end.
pub fn bfd_event_reader() -> Option<i32> {
    Some(BFD_EVENT_FD.load(Ordering::Relaxed)).filter(|&fd| fd >= 0)
}

/// Takes an inherited fd named by `var`: close-on-exec (scripts never
/// see it) and non-blocking.
fn take_fd(var: &str, slot: &AtomicI32) {
    let Some(fd) = std::env::var(var).ok().and_then(|f| f.parse::<i32>().ok()) else {
        return;
    };
    // SAFETY: fcntl on an fd number; a wrong number fails harmlessly.
    unsafe {
        if libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) != 0 {
            return;
        }
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    slot.store(fd, Ordering::Relaxed);
}

/// Tells the parent that this child is ready: its configuration is loaded
/// and its sockets are open (at start), or a reload is finished. Call it
/// once after start-up and once after each reload; it does nothing in a
/// process that was not started by a keepalived-rs parent.
///
/// Only calls `write(2)`, so it is safe in a signal handler.
pub fn child_ready() {
    let fd = READY_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: one byte from a static buffer to our own pipe fd; an
        // error (parent gone) is ignored.
        unsafe { libc::write(fd, b"R".as_ptr().cast(), 1) };
    }
}

/// Sets the child up, first thing in `main`: parent-death signal, the
/// handshake fd, a clean environment, and harmless default actions for
/// the signals the parent forwards (so that one arriving before the child
/// installed its handlers does not kill it).
///
/// Must run before any thread exists (it changes the environment).
pub fn setup(role: Role) {
    let parent: Option<i32> = std::env::var(PARENT_ENV).ok().and_then(|p| p.parse().ok());
    if let Some(parent) = parent {
        // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag of this process;
        // getppid has no preconditions.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong);
            if libc::getppid() != parent {
                // The parent died while starting us.
                libc::_exit(0);
            }
        }
    }
    if let Some(fd) = std::env::var(READY_FD_ENV)
        .ok()
        .and_then(|f| f.parse::<i32>().ok())
    {
        // SAFETY: F_SETFD on an fd number; a wrong number fails harmlessly.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == 0 {
            READY_FD.store(fd, Ordering::Relaxed);
        }
    }
    take_fd(BFD_VRRP_FD_ENV, &BFD_VRRP_FD);
    take_fd(BFD_CHECKER_FD_ENV, &BFD_CHECKER_FD);
    take_fd(BFD_EVENT_FD_ENV, &BFD_EVENT_FD);
    // SAFETY (edition 2021: safe fns): single-threaded at this point.
    for v in [BFD_VRRP_FD_ENV, BFD_CHECKER_FD_ENV, BFD_EVENT_FD_ENV] {
        std::env::remove_var(v);
    }
    std::env::remove_var(PARENT_ENV);
    std::env::remove_var(READY_FD_ENV);
    std::env::remove_var(crate::daemon::sdnotify::NOTIFY_SOCKET);
    // Every child: a signal forwarded while it still reads its
    // configuration must not kill it (SIGUSR1's default); the BFD child
    // also waits for its resend signal.
    let extra = (role == Role::Bfd).then(bfd_resend_signal);
    for sig in forwarded_signals().into_iter().chain(extra) {
        // A no-op handler, not SIG_IGN: handlers are reset by exec, so
        // scripts started later still get the default actions.
        // SAFETY: the action does nothing, which is signal-safe.
        let _ = unsafe { signal_hook_registry::register(sig, || {}) };
    }
}

/// The signals the parent forwards to its children besides SIGTERM.
pub fn forwarded_signals() -> [libc::c_int; 5] {
    [
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGRTMIN() + 2,
        libc::SIGRTMAX() - 1,
    ]
}

/// The line keepalived's children log when they exit (`log_stopping`):
/// `Stopped`, or with `-D` the CPU time used (and their own children's,
/// when those used any).
pub fn log_stopped_usage() {
    use crate::daemon::log::{detail, log_line};
    if !detail() {
        log_line("Stopped");
        return;
    }
    let (user, sys) = rusage(libc::RUSAGE_SELF);
    let (cuser, csys) = rusage(libc::RUSAGE_CHILDREN);
    if cuser == "0.000000" {
        log_line(&format!(
            "Stopped - used {user} user time, {sys} system time"
        ));
    } else {
        log_line(&format!(
            "Stopped - used (self/children) {user}/{cuser} user time, {sys}/{csys} system time"
        ));
    }
}

/// User and system CPU time of `who` (`RUSAGE_SELF`/`RUSAGE_CHILDREN`),
/// formatted `S.UUUUUU`.
pub fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: getrusage fills the zeroed struct we own.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let f = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (f(ru.ru_utime), f(ru.ru_stime))
}

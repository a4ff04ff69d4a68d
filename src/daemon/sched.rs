//! A process' scheduling settings from `global_defs` (`vrrp_priority`,
//! `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_no_swap`,
//! `vrrp_cpu_affinity`, the `checker_`/`bfd_` ones and the process names),
//! applied as keepalived 2.2.7's `set_process_priorities`,
//! `set_process_cpu_affinity` and `set_process_name` do. A child applies
//! them before its runtime starts: the runtime is its only thread, so the
//! whole child runs with them.

use std::sync::atomic::{AtomicI32, Ordering};

use crate::config::global::{GlobalDefs, ProcessSched};
use crate::daemon::log::log_line;
use crate::daemon::process::Role;

/// keepalived's `RT_RLIMIT_DEFAULT` (µs): RLIMIT_RTTIME's hard limit when
/// a real-time priority is set without `*_rlimit_rttime`.
const RT_RLIMIT_DEFAULT: u64 = 10_000;

/// The nice value before `*_priority` changed it, for scripts (keepalived
/// resets it in each script it starts); `NO_NICE` when unchanged.
static ORIG_NICE: AtomicI32 = AtomicI32::new(NO_NICE);
const NO_NICE: i32 = i32::MIN;

/// The settings of `role`'s process.
fn settings(g: &GlobalDefs, role: Role) -> &ProcessSched {
    match role {
        Role::Vrrp => &g.vrrp_sched,
        Role::Checker => &g.checker_sched,
        Role::Bfd => &g.bfd_sched,
    }
}

/// The name a child gives itself: its own `*_process_name`, else
/// keepalived's with `process_names`, else the parent's `process_name`
/// (keepalived's forked children inherit it; ours are executed afresh).
pub fn child_name(g: &GlobalDefs, role: Role) -> Option<&str> {
    let default = match role {
        Role::Vrrp => "keepalived_vrrp",
        Role::Checker => "keepalived_lvs",
        Role::Bfd => "keepalived_bfd",
    };
    (settings(g, role).process_name.as_deref())
        .or(g.process_names.then_some(default))
        .or(g.process_name.as_deref())
}

/// `prctl(PR_SET_NAME)`: what `ps`, `top` and `pgrep` show (the kernel
/// keeps 15 bytes, as keepalived's truncation does).
pub fn set_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
    // bytes from `buf`, which outlives the call.
    if unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr()) } != 0 {
        log_line(&format!("Failed to set process name '{name}'"));
    }
}

/// Applies `role`'s settings to this process (keepalived's order: name,
/// then priorities, then CPU affinity).
pub fn apply(g: &GlobalDefs, role: Role) {
    if let Some(n) = child_name(g, role) {
        set_name(n);
    }
    let s = settings(g, role);
    match s.rt_priority {
        Some(rt) => set_realtime(rt, s.rlimit_rttime.unwrap_or(RT_RLIMIT_DEFAULT), role),
        // keepalived ignores the nice value when a real-time priority is set.
        None => {
            if let Some(nice) = s.nice.filter(|n| *n != 0) {
                set_nice(i32::from(nice));
            }
        }
    }
    if s.no_swap {
        lock_memory();
    }
    if !s.cpu_affinity.is_empty() {
        set_affinity(&s.cpu_affinity, role);
    }
}

fn set_nice(nice: i32) {
    // SAFETY: getpriority/setpriority on this process only.
    unsafe {
        let orig = libc::getpriority(libc::PRIO_PROCESS, 0);
        if libc::setpriority(libc::PRIO_PROCESS, 0, nice) != 0 {
            let e = std::io::Error::last_os_error();
            log_line(&format!("Unable to set process priority to {nice} - {e}"));
            return;
        }
        ORIG_NICE.store(orig, Ordering::Relaxed);
    }
}

/// SCHED_RR at `rt` (reset in children: scripts run normally), then
/// RLIMIT_RTTIME soft `rlimit / 2`, hard `rlimit` µs: past the soft limit
/// the kernel sends SIGXCPU (logged), past the hard one SIGKILL.
fn set_realtime(rt: u8, rlimit: u64, role: Role) {
    let param = libc::sched_param {
        sched_priority: i32::from(rt),
    };
    // SAFETY: sched_setscheduler reads `param`, which outlives the call.
    let rc =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rc != 0 {
        log_line("child process: cannot raise priority");
        return;
    }
    if rlimit == 0 {
        return;
    }
    log_sigxcpu(role);
    let lim = libc::rlimit {
        rlim_cur: rlimit / 2,
        rlim_max: rlimit,
    };
    // SAFETY: setrlimit reads `lim`, which outlives the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) } != 0 {
        log_line("child process cannot set realtime rlimit");
    }
}

/// keepalived's SIGXCPU line: the handler writes a byte to a pipe (all a
/// signal handler may do), a small thread reads it and logs.
fn log_sigxcpu(role: Role) {
    let (name, key) = match role {
        Role::Vrrp => ("VRRP", "vrrp"),
        Role::Checker => ("Checker", "checker"),
        Role::Bfd => ("BFD", "bfd"),
    };
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let (rfd, wfd) = (fds[0], fds[1]);
    // SAFETY: the handler only calls write(2), which is async-signal-safe,
    // on an fd that stays open for the life of the process.
    let reg = unsafe {
        signal_hook_registry::register(libc::SIGXCPU, move || {
            libc::write(wfd, b"x".as_ptr().cast(), 1);
        })
    };
    if reg.is_err() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("sigxcpu".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut b = [0u8; 1];
            // SAFETY: read(2) into a 1-byte buffer of ours.
            while unsafe { libc::read(rfd, b.as_mut_ptr().cast(), 1) } == 1 {
                log_line(&format!(
                    "{name} process has used too much CPU time, {key}_rlimit_rttime may need to be increased"
                ));
            }
        });
}

/// `*_no_swap`: every page locked in memory, now and later, as it is
/// touched (keepalived's MCL_ONFAULT).
fn lock_memory() {
    // SAFETY: mlockall takes flags only.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        log_line(&format!("Unable to lock process in memory - {e}"));
    }
}

fn set_affinity(cpus: &[u32], role: Role) {
    // SAFETY: cpu_set_t is plain data; CPU_SET is given CPU numbers below
    // CPU_SETSIZE only; sched_setaffinity reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus
            .iter()
            .filter(|c| (**c as usize) < libc::CPU_SETSIZE as usize)
        {
            libc::CPU_SET(c as usize, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            let e = std::io::Error::last_os_error();
            log_line(&format!(
                "unable to set cpu affinity to {} process ({e})",
                role.flag()
            ));
        }
    }
}

/// In a script's child before exec: the nice value the daemon had before
/// `*_priority` (keepalived's `reset_process_priorities`). Real-time
/// scheduling is reset by the kernel (SCHED_RESET_ON_FORK).
pub fn reset_for_script() {
    let orig = ORIG_NICE.load(Ordering::Relaxed);
    if orig != NO_NICE {
        // SAFETY: setpriority is async-signal-safe.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, orig) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, ReaderOptions};

    fn global(text: &str) -> GlobalDefs {
        config::load_str("t.conf", text, ReaderOptions::default())
            .config
            .global
    }

    #[test]
    fn child_names_are_keepalived_s() {
        let g = global("global_defs {\n process_names\n checker_process_name hc\n}\n");
        assert_eq!(child_name(&g, Role::Vrrp), Some("keepalived_vrrp"));
        assert_eq!(child_name(&g, Role::Checker), Some("hc"));
        assert_eq!(child_name(&g, Role::Bfd), Some("keepalived_bfd"));
        let g = global("global_defs {\n process_name ka1\n}\n");
        assert_eq!(child_name(&g, Role::Vrrp), Some("ka1"));
        assert_eq!(child_name(&global(""), Role::Vrrp), None);
    }
}

//! `-m` (`--core-dump`) and `-M[PATN]` (`--core-dump-pattern`), as
//! keepalived's `core_dump_init`: the parent lifts RLIMIT_CORE to
//! unlimited (the children inherit it), scripts get the original limit
//! back, and with `-M` the kernel's `core_pattern` is set to PATN (default
//! `core`) while the daemon runs, the original restored at exit.

use std::io::{Read, Seek, Write};
use std::sync::OnceLock;

use super::log::log_line;

/// The kernel's core file name template.
pub const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// Carries the original RLIMIT_CORE (`cur max`) from the parent to its
/// children, for their scripts.
pub const SCRIPT_CORE_ENV: &str = "KEEPALIVED_RS_SCRIPT_CORE";

/// The kernel's limit on a pattern's length (`CORENAME_MAX_SIZE`).
const CORENAME_MAX_SIZE: usize = 128;

/// The limit scripts run with, when the daemon changed its own.
static SCRIPT_CORE: OnceLock<libc::rlimit> = OnceLock::new();

/// What the parent changed, to undo at exit.
#[derive(Debug, Default)]
pub struct CoreDump {
    /// The `core_pattern` found at start, when `-M` replaced it.
    original_pattern: Option<Vec<u8>>,
}

impl CoreDump {
    /// Applies `-m` / `-M` in the parent, right after the start lines;
    /// failures are logged as keepalived logs them.
    pub fn init(core_dump: bool, pattern: Option<&str>) -> CoreDump {
        let mut done = CoreDump::default();
        if let Some(p) = pattern {
            match replace_pattern(p.as_bytes()) {
                Ok(orig) => done.original_pattern = Some(orig),
                Err(_) => log_line("Unable to read/write core_pattern"),
            }
        }
        if core_dump || pattern.is_some() {
            lift_core_limit();
        }
        done
    }

    /// Puts the original `core_pattern` back (at exit).
    pub fn restore(&mut self) {
        if let Some(orig) = self.original_pattern.take() {
            if replace_pattern(&orig).is_err() {
                log_line("Unable to read/write core_pattern");
            }
        }
    }
}

/// Writes `new` to `core_pattern`; what was there before.
fn replace_pattern(new: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(CORE_PATTERN)?;
    let mut orig = Vec::with_capacity(CORENAME_MAX_SIZE);
    (&mut f)
        .take(CORENAME_MAX_SIZE as u64 - 1)
        .read_to_end(&mut orig)?;
    f.rewind()?;
    f.write_all(new)?;
    Ok(orig)
}

/// RLIMIT_CORE to unlimited; the original is kept for scripts.
fn lift_core_limit() {
    let mut orig = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: getrlimit/setrlimit read or write the struct given only.
    if unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut orig) } == -1 {
        log_line("Failed to get core file size");
    } else if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &unlimited) } == -1 {
        log_line("Failed to set core file size");
    } else {
        let _ = SCRIPT_CORE.set(orig);
    }
}

/// The variable the parent gives its children, if it changed its limit.
pub fn child_env() -> Option<(&'static str, String)> {
    let r = SCRIPT_CORE.get()?;
    Some((SCRIPT_CORE_ENV, format!("{} {}", r.rlim_cur, r.rlim_max)))
}

/// In a child: takes the scripts' limit from the parent's variable (and
/// removes it, so scripts do not see it). Call while single-threaded.
pub fn child_init() {
    if let Ok(v) = std::env::var(SCRIPT_CORE_ENV) {
        let mut it = v.split(' ').filter_map(|n| n.parse::<libc::rlim_t>().ok());
        if let (Some(rlim_cur), Some(rlim_max)) = (it.next(), it.next()) {
            let _ = SCRIPT_CORE.set(libc::rlimit { rlim_cur, rlim_max });
        }
        std::env::remove_var(SCRIPT_CORE_ENV);
    }
}

/// The RLIMIT_CORE a script must run with, if not the daemon's own.
pub fn script_limit() -> Option<libc::rlimit> {
    SCRIPT_CORE.get().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without -m nothing is set, so scripts keep the daemon's limit.
    #[test]
    fn no_option_changes_nothing() {
        let mut c = CoreDump::init(false, None);
        assert!(c.original_pattern.is_none());
        c.restore();
        assert!(child_env().is_none() || script_limit().is_some());
    }
}

//! Pid files, named and handled as keepalived 2.2.7 does.
//!
//! | condition | parent | VRRP | checker | BFD |
//! |---|---|---|---|---|
//! | default | `/run/keepalived.pid` | `/run/vrrp.pid` | `/run/checkers.pid` | `/run/bfd.pid` |
//! | `use_pid_dir`, `net_namespace` or `instance` | `/run/keepalived/keepalived.pid` | `/run/keepalived/vrrp.pid` | `/run/keepalived/checkers.pid` | `/run/keepalived/bfd.pid` |
//! | `instance NAME` | `/run/keepalived/keepalived_NAME.pid` | `…/vrrp_NAME.pid` | `…/checkers_NAME.pid` | `…/bfd_NAME.pid` |
//!
//! `-p`, `-r`, `-c` and `-b` override each name. A file holds `PID\n`; each
//! process writes its own and removes it when it exits. A file naming a
//! process that no longer exists is a "zombie" and is removed.

use std::io;
use std::path::{Path, PathBuf};

use crate::cli::Cli;
use crate::config::global::GlobalDefs;
use crate::daemon::log::log_line;

/// keepalived's pid directory when one is used.
pub const PID_DIR: &str = "/run/keepalived";

/// The pid files of the three processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidFiles {
    /// The parent's.
    pub parent: PathBuf,
    /// The VRRP child's.
    pub vrrp: PathBuf,
    /// The checker child's.
    pub checker: PathBuf,
    /// The BFD child's.
    pub bfd: PathBuf,
}

impl PidFiles {
    /// The names for this command line and configuration.
    pub fn resolve(cli: &Cli, global: &GlobalDefs) -> PidFiles {
        let in_dir =
            global.use_pid_dir || global.net_namespace.is_some() || global.instance.is_some();
        let name = |base: &str| -> PathBuf {
            if !in_dir {
                return PathBuf::from(format!("/run/{base}.pid"));
            }
            match &global.instance {
                Some(i) => PathBuf::from(format!("{PID_DIR}/{base}_{i}.pid")),
                None => PathBuf::from(format!("{PID_DIR}/{base}.pid")),
            }
        };
        PidFiles {
            parent: cli.pid.clone().unwrap_or_else(|| name("keepalived")),
            vrrp: cli.vrrp_pid.clone().unwrap_or_else(|| name("vrrp")),
            checker: cli.checkers_pid.clone().unwrap_or_else(|| name("checkers")),
            bfd: cli.bfd_pid.clone().unwrap_or_else(|| name("bfd")),
        }
    }
}

/// Writes `pid\n` to `path` (through a temporary file and a rename, so a
/// reader never sees it half written), creating keepalived's pid
/// directory if needed.
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Whatever the umask, keepalived's modes: the directory 0755, the
    // file 0644 (monitoring reads them as another user).
    if let Some(dir) = path.parent() {
        if dir == Path::new(PID_DIR) && !dir.exists() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{pid}.tmp"));
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Removes `path` if it still names `pid` (a successor's file is left
/// alone).
pub fn remove(path: &Path, pid: u32) {
    if read(path) == Some(pid) {
        let _ = std::fs::remove_file(path);
    }
    if let Some(dir) = path.parent() {
        if dir == Path::new(PID_DIR) {
            // Only succeeds when empty, as keepalived's remove_pid_dir.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The pid a file holds.
pub fn read(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether a process with this pid exists.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether the process named by `path` runs. A file naming a dead process
/// is removed (`Remove a zombie pid file ...`), as keepalived does.
pub fn running(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match text.trim().parse::<u32>() {
        Ok(pid) if pid != std::process::id() && alive(pid) => true,
        _ => {
            log_line(&format!("Remove a zombie pid file {}", path.display()));
            let _ = std::fs::remove_file(path);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("keepalived").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn names_follow_keepalived() {
        let mut g = GlobalDefs::default();
        let p = PidFiles::resolve(&cli(&[]), &g);
        assert_eq!(p.parent, Path::new("/run/keepalived.pid"));
        assert_eq!(p.vrrp, Path::new("/run/vrrp.pid"));
        assert_eq!(p.checker, Path::new("/run/checkers.pid"));
        assert_eq!(p.bfd, Path::new("/run/bfd.pid"));
        g.use_pid_dir = true;
        let p = PidFiles::resolve(&cli(&[]), &g);
        assert_eq!(p.parent, Path::new("/run/keepalived/keepalived.pid"));
        assert_eq!(p.vrrp, Path::new("/run/keepalived/vrrp.pid"));
        assert_eq!(p.bfd, Path::new("/run/keepalived/bfd.pid"));
        g.use_pid_dir = false;
        g.instance = Some("lb".into());
        let p = PidFiles::resolve(&cli(&["-r", "/x/v.pid"]), &g);
        assert_eq!(p.parent, Path::new("/run/keepalived/keepalived_lb.pid"));
        assert_eq!(p.vrrp, Path::new("/x/v.pid"));
        assert_eq!(p.checker, Path::new("/run/keepalived/checkers_lb.pid"));
        assert_eq!(p.bfd, Path::new("/run/keepalived/bfd_lb.pid"));
        let p = PidFiles::resolve(&cli(&["-b", "/x/b.pid"]), &g);
        assert_eq!(p.bfd, Path::new("/x/b.pid"));
    }

    #[test]
    fn write_read_remove() {
        let dir = std::env::temp_dir().join(format!("kars-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("p.pid");
        write(&f, 4242).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "4242\n");
        remove(&f, 1);
        assert!(f.exists(), "another pid's file is kept");
        remove(&f, 4242);
        assert!(!f.exists());
        // A dead pid is a zombie file.
        write(&f, u32::MAX - 1).unwrap();
        assert!(!running(&f));
        assert!(!f.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

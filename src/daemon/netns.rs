//! `net_namespace NAME` / `-s NAME`: the daemon runs in the network
//! namespace `ip netns` made (`/run/netns/NAME`), as keepalived 2.2.7's
//! `set_namespaces` does: the parent joins it before starting its children
//! (who inherit it), and in a private mount namespace binds
//! `/run/keepalived/NAME` on `/run/keepalived`, so that its pid files are
//! `/run/keepalived/NAME/*.pid` seen from the host and daemons of several
//! namespaces never collide.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::daemon::log::log_line;
use crate::daemon::pidfile::PID_DIR;

/// Why the namespace could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// `/run/netns/NAME` could not be opened.
    #[error("Failed to open {0}")]
    Open(String),
    /// `setns` failed.
    #[error("setns() failed with error {0}")]
    Setns(i32),
}

/// The mount set up for the pid directory, undone on drop (keepalived's
/// `clear_namespaces` and `remove_pid_dir`).
#[derive(Debug)]
pub struct Namespace {
    /// `/run/keepalived/NAME`, bound on `/run/keepalived`.
    bound: Option<PathBuf>,
}

/// Joins network namespace `name`; the pid directory is bound as
/// described above (failures of that part are logged, as keepalived's).
/// The caller must still be single-threaded (`unshare(CLONE_NEWNS)`).
pub fn enter(name: &str) -> Result<Namespace, NetnsError> {
    let path = format!("/run/netns/{name}");
    let f = File::open(&path).map_err(|_| NetnsError::Open(path.clone()))?;
    // SAFETY: a valid descriptor of a network namespace file.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(NetnsError::Setns(
            io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    Ok(Namespace {
        bound: bind_pid_dir(name),
    })
}

fn bind_pid_dir(name: &str) -> Option<PathBuf> {
    let dir = Path::new(PID_DIR).join(name);
    if std::fs::create_dir_all(&dir).is_err() {
        log_line(&format!("Unable to create directory {}", dir.display()));
        return None;
    }
    // SAFETY: unshare with a flag and no pointers.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        let e = io::Error::last_os_error();
        log_line(&format!(
            "mount unshare failed ({}) '{e}'",
            e.raw_os_error().unwrap_or(0)
        ));
        return None;
    }
    // Mounts made here must not propagate back (systemd makes / shared).
    if let Err(e) = mount(None, "/", libc::MS_REC | libc::MS_SLAVE) {
        log_line(&format!(
            "Mount slave failed, error ({}) '{e}'",
            e.raw_os_error().unwrap_or(0)
        ));
    }
    let src = dir.to_string_lossy().into_owned();
    if let Err(e) = mount(Some(&src), PID_DIR, libc::MS_BIND) {
        log_line(&format!(
            "Mount failed, error ({}) '{e}'",
            e.raw_os_error().unwrap_or(0)
        ));
        return None;
    }
    Some(dir)
}

fn mount(src: Option<&str>, target: &str, flags: libc::c_ulong) -> io::Result<()> {
    let src = CString::new(src.unwrap_or("")).map_err(io::Error::other)?;
    let target = CString::new(target).map_err(io::Error::other)?;
    // SAFETY: NUL-terminated strings that outlive the call; no data.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let Some(dir) = self.bound.take() else { return };
        let target = CString::new(PID_DIR).expect("no NUL");
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::umount(target.as_ptr()) } != 0 {
            let e = io::Error::last_os_error().raw_os_error().unwrap_or(0);
            log_line(&format!("unmount of {PID_DIR} failed - errno {e}"));
        }
        // Only when empty: another daemon may still use them.
        let _ = std::fs::remove_dir(&dir);
        let _ = std::fs::remove_dir(PID_DIR);
    }
}

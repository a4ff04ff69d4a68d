//! Notify FIFOs (reference §4.10): `notify_fifo`, `vrrp_notify_fifo`,
//! `lvs_notify_fifo`.
//!
//! The FIFO is created with mode 0644 if absent (and then unlinked at
//! [`NotifyFifo::close`]), opened `O_RDWR|O_NONBLOCK` so that opening and
//! writing never block even without a reader, and written one whole line
//! per `write(2)` (lines up to `PIPE_BUF` are atomic); a full pipe
//! (`EAGAIN`) drops the line and counts it. The optional `*_fifo_script`
//! is launched before opening, with the FIFO path appended as last
//! argument.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::exec::{ExecError, Notifier, RunAs, ScriptCommand};

/// One open notify FIFO.
#[derive(Debug)]
pub struct NotifyFifo {
    path: PathBuf,
    created: bool,
    file: Option<File>,
    dropped: u64,
}

/// Errors opening a FIFO.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    /// The path exists and is not a FIFO.
    #[error("Notify FIFO {0} exists and is not a FIFO")]
    NotAFifo(PathBuf),
    /// mkfifo/open failed.
    #[error("Unable to open notify FIFO {0}: {1}")]
    Io(PathBuf, io::Error),
    /// The FIFO script could not be started.
    #[error("Unable to run notify FIFO script: {0}")]
    Script(#[from] ExecError),
}

impl NotifyFifo {
    /// Launches `script` (if any, with the path appended, through
    /// `notifier`; needs a tokio runtime), then creates (mkfifo 0644, if
    /// absent) and opens the FIFO.
    pub fn open(
        path: impl AsRef<Path>,
        script: Option<&ScriptCommand>,
        notifier: &Notifier,
    ) -> Result<NotifyFifo, FifoError> {
        Self::open_owned(path, None, script, notifier)
    }

    /// [`Self::open`], giving a FIFO we create to `owner`
    /// (`notify_fifo PATH [USER [GROUP]]`).
    pub fn open_owned(
        path: impl AsRef<Path>,
        owner: Option<RunAs>,
        script: Option<&ScriptCommand>,
        notifier: &Notifier,
    ) -> Result<NotifyFifo, FifoError> {
        let path = path.as_ref().to_path_buf();
        if let Some(s) = script {
            notifier.spawn_notify(&s.with_args(&[path.to_string_lossy()]))?;
        }
        let created = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_fifo() => false,
            Ok(_) => return Err(FifoError::NotAFifo(path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                mkfifo(&path, 0o644).map_err(|e| FifoError::Io(path.clone(), e))?;
                if let Some(o) = owner {
                    if let Err(e) = std::os::unix::fs::chown(&path, Some(o.uid), Some(o.gid)) {
                        let _ = std::fs::remove_file(&path);
                        return Err(FifoError::Io(path, e));
                    }
                }
                true
            }
            Err(e) => return Err(FifoError::Io(path, e)),
        };
        let mut f = NotifyFifo {
            path,
            created,
            file: None,
            dropped: 0,
        };
        if let Err(e) = f.reopen() {
            f.close();
            return Err(FifoError::Io(f.path.clone(), e));
        }
        Ok(f)
    }

    /// (Re)opens the FIFO `O_RDWR|O_NONBLOCK` (at reload).
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)?;
        self.file = Some(f);
        Ok(())
    }

    /// Writes one whole line (it should end with `\n`). Returns `Ok(false)` when the line
    /// was dropped because the pipe is full (or the FIFO is not open).
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<bool> {
        let Some(f) = self.file.as_mut() else {
            self.dropped += 1;
            return Ok(false);
        };
        match f.write(line) {
            Ok(n) if n == line.len() => Ok(true),
            Ok(_) => {
                // Only possible for lines longer than PIPE_BUF.
                self.dropped += 1;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.dropped += 1;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether we created the FIFO (and will unlink it).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Closes it, unlinking it if we created it.
    pub fn close(&mut self) {
        self.file = None;
        if self.created {
            let _ = std::fs::remove_file(&self.path);
            self.created = false;
        }
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        self.close();
    }
}

fn mkfifo(path: &Path, mode: libc::mode_t) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: mkfifo only reads the NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), mode) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // The umask may have cleared bits: keepalived wants exactly 0644.
    // SAFETY: chmod only reads the NUL-terminated path.
    if unsafe { libc::chmod(c.as_ptr(), mode) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

//! `track_file`: a number read from a file whenever the file changes
//! (keepalived watches it with inotify), fed to the VRRP core as a
//! [`TrackerValue::File`](crate::vrrp::router::TrackerValue).
//!
//! The file's directory is watched rather than the file itself, so that
//! files replaced by rename (editors, `mv`) or created later are seen.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

/// The value of a tracked file: its leading integer as `strtol` reads it
/// (`"  -12abc"` is -12); a missing, unreadable or non-numeric file is 0.
pub fn read_value(path: &Path) -> i64 {
    std::fs::read_to_string(path).map_or(0, |s| parse_value(&s))
}

/// `strtol`-like: leading blanks, optional sign, decimal digits.
pub fn parse_value(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let v: i64 = digits[..end].parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// `init_file VALUE [overwrite]`: writes VALUE when the file is missing,
/// or always with `overwrite`.
pub fn init_file(path: &Path, value: i64, overwrite: bool) -> io::Result<()> {
    if overwrite || !path.exists() {
        std::fs::write(path, format!("{value}\n"))?;
    }
    Ok(())
}

/// A change: the tracker's name and the file's new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    /// `track_file` name.
    pub name: String,
    /// New value.
    pub value: i64,
}

struct Fd(Inotify);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// Watches `files` (name → path) and sends a [`FileEvent`] whenever one
/// is written, created, replaced or removed. Runs until `tx` is closed or
/// the returned handle aborts it (a reload watches the new set).
pub fn watch(
    files: Vec<(String, PathBuf)>,
    tx: mpsc::Sender<FileEvent>,
) -> io::Result<tokio::task::AbortHandle> {
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let mask = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE;
    // Directory watch descriptor → (file name in it → tracker names, path).
    let mut by_wd: HashMap<_, HashMap<OsString, (Vec<String>, PathBuf)>> = HashMap::new();
    for (name, path) in files {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Some(file) = path.file_name().map(OsString::from) else {
            continue;
        };
        let wd = ino.add_watch(&dir, mask)?;
        let e = by_wd
            .entry(wd)
            .or_default()
            .entry(file)
            .or_insert_with(|| (Vec::new(), path.clone()));
        e.0.push(name);
    }
    // SAFETY: the AsyncFd owns the Inotify, so the descriptor stays open
    // exactly as long as it is registered.
    let fd = unsafe { AsyncFd::register(Fd(ino)) }.map_err(|e| io::Error::other(e.to_string()))?;
    let task = tokio::spawn(async move {
        loop {
            let Ok(mut guard) = fd.readable().await else {
                return;
            };
            let events = match fd.get_ref().0.read_events() {
                Ok(ev) => ev,
                Err(nix::errno::Errno::EAGAIN) => {
                    guard.clear_ready();
                    continue;
                }
                Err(_) => return,
            };
            for ev in events {
                let Some(files) = by_wd.get(&ev.wd) else {
                    continue;
                };
                let Some((names, path)) = ev.name.as_ref().and_then(|n| files.get(n)) else {
                    continue;
                };
                let value = read_value(path);
                for name in names {
                    let e = FileEvent {
                        name: name.clone(),
                        value,
                    };
                    if tx.send(e).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(task.abort_handle())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_like_strtol() {
        assert_eq!(parse_value("  -12abc\n"), -12);
        assert_eq!(parse_value("+7"), 7);
        assert_eq!(parse_value("x1"), 0);
        assert_eq!(parse_value(""), 0);
        assert_eq!(read_value(Path::new("/nonexistent/track/file")), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn changes_are_reported_also_on_replace() {
        let dir = std::env::temp_dir().join(format!("kars-tf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("state");
        init_file(&f, 3, false).unwrap();
        init_file(&f, 9, false).unwrap();
        assert_eq!(read_value(&f), 3);
        let (tx, mut rx) = mpsc::channel(8);
        watch(vec![("tf".into(), f.clone())], tx).unwrap();
        std::fs::write(&f, "-5\n").unwrap();
        let e = tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            e,
            FileEvent {
                name: "tf".into(),
                value: -5
            }
        );
        // Replaced by rename, as editors do.
        let tmp = dir.join("state.new");
        std::fs::write(&tmp, "42").unwrap();
        std::fs::rename(&tmp, &f).unwrap();
        let mut last = 0;
        while let Ok(Some(e)) =
            tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv()).await
        {
            last = e.value;
        }
        assert_eq!(last, 42);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

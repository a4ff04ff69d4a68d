//! Logging as keepalived does it.
//!
//! Every process logs through [`log_line`] (and [`log_detail`] for the
//! lines keepalived only prints with `-D`). Where a line goes is set once
//! per process by [`init`], from the command line ([`LogConfig::from_cli`]):
//!
//! * syslog, unless `-G`, with the process's ident (`Keepalived`,
//!   `Keepalived_vrrp`, `Keepalived_healthcheckers`, see [`Ident`]), the
//!   pid, priority `LOG_INFO` and facility `daemon` or `-S`;
//! * the console (stderr) with `-l`, in keepalived's format
//!   `Sun Nov 22 03:22:52 2026: message`.
//!
//! * a file with `-g` ([`open_file`]), named as keepalived names it
//!   (`/tmp/keepalived.log` for the parent, `/tmp/keepalived_vrrp.log`,
//!   `_check`, `_bfd` for the children, then `_NAMESPACE`, `_INSTANCE`),
//!   lines stamped `Mon Dec 07 03:22:52.123456789 2026: message`.
//!
//! Before [`init`] (unit tests, `-t`) lines go to the console only. One
//! `write(2)` per line, so lines of the parent and of its children sharing
//! one stderr never interleave.

use std::ffi::CString;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::cli::Cli;

/// Which process is logging: its syslog ident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ident {
    /// The parent process: `Keepalived`.
    Parent,
    /// The VRRP child: `Keepalived_vrrp`.
    Vrrp,
    /// The health-checker child: `Keepalived_healthcheckers`.
    Checker,
    /// The BFD child: `Keepalived_bfd`.
    Bfd,
}

impl Ident {
    /// keepalived's syslog ident for the process.
    pub fn as_str(self) -> &'static str {
        match self {
            Ident::Parent => "Keepalived",
            Ident::Vrrp => "Keepalived_vrrp",
            Ident::Checker => "Keepalived_healthcheckers",
            Ident::Bfd => "Keepalived_bfd",
        }
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// `-l`: also print on stderr.
    pub console: bool,
    /// Not `-G`: send to syslog.
    pub syslog: bool,
    /// The syslog facility (`LOG_DAEMON` unless `-S`).
    pub facility: libc::c_int,
    /// `-D`: detailed lines ([`log_detail`]) are logged too.
    pub detail: bool,
}

impl LogConfig {
    /// The settings the command line asks for. An invalid `-S` value keeps
    /// the default facility, as keepalived does.
    pub fn from_cli(cli: &Cli) -> LogConfig {
        LogConfig {
            console: cli.log_console,
            syslog: !cli.no_syslog,
            facility: cli
                .log_facility
                .as_deref()
                .and_then(parse_facility)
                .unwrap_or(libc::LOG_DAEMON),
            detail: cli.log_detail,
        }
    }
}

/// Parses `-S`: `0`..`7` or `local0`..`local7` (LOG_LOCALn), `user`,
/// `daemon`.
pub fn parse_facility(s: &str) -> Option<libc::c_int> {
    const LOCAL: [libc::c_int; 8] = [
        libc::LOG_LOCAL0,
        libc::LOG_LOCAL1,
        libc::LOG_LOCAL2,
        libc::LOG_LOCAL3,
        libc::LOG_LOCAL4,
        libc::LOG_LOCAL5,
        libc::LOG_LOCAL6,
        libc::LOG_LOCAL7,
    ];
    match s {
        "user" => Some(libc::LOG_USER),
        "daemon" => Some(libc::LOG_DAEMON),
        _ => {
            let n = s.strip_prefix("local").unwrap_or(s);
            let n: usize = n.parse().ok().filter(|&n: &usize| n < 8)?;
            Some(LOCAL[n])
        }
    }
}

struct State {
    config: LogConfig,
    /// openlog keeps the pointer: the string lives as long as the process.
    ident: CString,
}

static STATE: OnceLock<State> = OnceLock::new();
static DETAIL: AtomicBool = AtomicBool::new(false);

/// Sets up logging for this process; later calls are ignored.
pub fn init(ident: Ident, config: LogConfig) {
    let id = CString::new(ident.as_str()).expect("ident has no NUL");
    if config.syslog {
        // SAFETY: the ident pointer stays valid: the CString is stored in
        // STATE for the life of the process (a second init returns before
        // touching openlog again).
        if STATE.get().is_none() {
            unsafe { libc::openlog(id.as_ptr(), libc::LOG_PID, config.facility) };
        }
    }
    DETAIL.store(config.detail, Ordering::Relaxed);
    let _ = STATE.set(State { config, ident: id });
}

/// Appends `_NAME` to the syslog ident, as keepalived does once the
/// configuration names an `instance` (or a `net_namespace`). Call it once,
/// while the process has a single thread.
pub fn set_ident_suffix(name: &str) {
    let Some(state) = STATE.get() else { return };
    if !state.config.syslog {
        return;
    }
    let Ok(id) = CString::new(format!("{}_{name}", state.ident.to_string_lossy())) else {
        return;
    };
    // openlog keeps the pointer: this string must live for the rest of
    // the process.
    let id: &'static std::ffi::CStr = Box::leak(id.into_boxed_c_str());
    // SAFETY: a NUL-terminated string that is never freed.
    unsafe { libc::openlog(id.as_ptr(), libc::LOG_PID, state.config.facility) };
}

/// Whether `-D` (detailed logging) is on.
pub fn detail() -> bool {
    DETAIL.load(Ordering::Relaxed)
}

/// The `-g` log file of this process, if open.
static FILE: std::sync::Mutex<Option<std::fs::File>> = std::sync::Mutex::new(None);

/// keepalived's log file name: `base` (relative names in `$TMPDIR`, else
/// `/tmp`) with `_PROG`, `_NAMESPACE` and `_INSTANCE` inserted before the
/// extension of its last component.
pub fn file_name(
    base: &str,
    prog: Option<&str>,
    namespace: Option<&str>,
    instance: Option<&str>,
) -> std::path::PathBuf {
    let mut name = if base.starts_with('/') {
        String::new()
    } else {
        let tmp = std::env::var("TMPDIR")
            .ok()
            .filter(|t| t.starts_with('/'))
            .unwrap_or_else(|| "/tmp".into());
        format!("{tmp}/")
    };
    let dir_end = base.rfind('/').map_or(0, |i| i + 1);
    let (stem, ext) = match base[dir_end..].rfind('.') {
        Some(i) => base.split_at(dir_end + i),
        None => (base, ""),
    };
    name.push_str(stem);
    for part in [prog, namespace, instance].into_iter().flatten() {
        name.push('_');
        name.push_str(part);
    }
    name.push_str(ext);
    name.into()
}

/// Starts (or restarts, under a new name) logging to a file as well, as
/// keepalived's `open_log_file`: appended to, created with mode 0666 less
/// the umask, never through a symbolic link, closed across exec.
pub fn open_file(base: &str, prog: Option<&str>, namespace: Option<&str>, instance: Option<&str>) {
    use std::os::unix::fs::OpenOptionsExt;
    let path = file_name(base, prog, namespace, instance);
    let opened = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path);
    let file = match opened {
        Ok(f) => Some(f),
        Err(e) => {
            log_line(&format!(
                "Unable to open '{}' - errno {} ({e})",
                path.display(),
                e.raw_os_error().unwrap_or(0)
            ));
            None
        }
    };
    if let Ok(mut f) = FILE.lock() {
        *f = file;
    }
}

/// Stops logging to the file (before a child is started: it opens its own).
pub fn close_file() {
    if let Ok(mut f) = FILE.lock() {
        *f = None;
    }
}

/// Writes `msg` to the `-g` file, if any: one write per line.
fn to_file(msg: &str) {
    let Ok(mut guard) = FILE.lock() else { return };
    let Some(f) = guard.as_mut() else { return };
    let now = std::time::SystemTime::now();
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let stamp = crate::sys::strftime_local(now, c"%a %b %d %T|%Y");
    let (day, year) = stamp.split_once('|').unwrap_or((&stamp, ""));
    let line = format!("{day}.{nanos:09} {year}: {msg}\n");
    let _ = f.write_all(line.as_bytes());
}

/// Logs one line (keepalived's `log_message(LOG_INFO, ...)`).
pub fn log_line(msg: &str) {
    to_file(msg);
    let (console, syslog) = match STATE.get() {
        Some(s) => (s.config.console, s.config.syslog),
        None => (true, false),
    };
    if console {
        let line = format!("{}: {msg}\n", timestamp());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    if syslog {
        let c = CString::new(msg.replace('\0', " ")).expect("NULs replaced");
        // SAFETY: a constant "%s" format with one NUL-terminated argument.
        unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), c.as_ptr()) };
    }
}

/// Logs a line only with `-D` (keepalived's detailed messages, such as
/// `(VI_1) sent 0 priority`).
pub fn log_detail(msg: &str) {
    if detail() {
        log_line(msg);
    }
}

/// Logs a line of the SMTP alert sender (its `-D` lines only with `-D`).
pub fn log_mail(l: &crate::notify::mail::LogLine) {
    if l.detail {
        log_detail(&l.text);
    } else {
        log_line(&l.text);
    }
}

/// keepalived's console time stamp (`%c` in the C locale): `Mon Dec  7 03:22:52 2026`.
pub fn timestamp() -> String {
    crate::sys::strftime_local(std::time::SystemTime::now(), c"%a %b %e %T %Y")
}

/// Logs `label: text` wrapped the way keepalived logs its command line:
/// at most 100 columns including the label, continuation lines indented
/// under the text.
pub fn log_wrapped(label: &str, text: &str) {
    for line in wrap(label, text) {
        log_line(&line);
    }
}

fn wrap(label: &str, text: &str) -> Vec<String> {
    let width = 100usize.saturating_sub(label.len()).max(20);
    let mut out = Vec::new();
    let mut rest = text.trim_start_matches(' ');
    while !rest.is_empty() {
        let cut = if rest.len() <= width {
            rest.len()
        } else {
            // The last blank within the width; a longer word is kept whole.
            let mut end = width + 1;
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            match rest[..end].rfind(' ') {
                Some(i) if i > 0 => i,
                _ => rest.find(' ').unwrap_or(rest.len()),
            }
        };
        let (chunk, tail) = rest.split_at(cut);
        if out.is_empty() {
            out.push(format!("{label}: {chunk}"));
        } else {
            out.push(format!("{:w$}{chunk}", "", w = label.len() + 2));
        }
        rest = tail.trim_start_matches(' ');
    }
    if out.is_empty() {
        out.push(format!("{label}: "));
    }
    out
}

/// `'arg0' 'arg1' ...`: keepalived's rendering of a command line.
pub fn quote_args<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    args.into_iter()
        .map(|a| format!("'{}'", a.as_ref().to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived's `make_file_name`: the parts go before the extension
    /// of the last component; relative names live in `$TMPDIR` or /tmp.
    #[test]
    fn log_file_names_match_keepalived() {
        let n = |b, p, ns, i| file_name(b, p, ns, i).display().to_string();
        assert_eq!(n("/var/log/ka.log", None, None, None), "/var/log/ka.log");
        assert_eq!(
            n("/var/log/ka.log", Some("vrrp"), Some("ns1"), Some("i1")),
            "/var/log/ka_vrrp_ns1_i1.log"
        );
        assert_eq!(n("/v.d/ka", Some("check"), None, None), "/v.d/ka_check");
        if std::env::var_os("TMPDIR").is_none() {
            assert_eq!(
                n("keepalived.log", Some("bfd"), None, None),
                "/tmp/keepalived_bfd.log"
            );
        }
    }

    #[test]
    fn facilities_match_keepalived() {
        assert_eq!(parse_facility("0"), Some(libc::LOG_LOCAL0));
        assert_eq!(parse_facility("7"), Some(libc::LOG_LOCAL7));
        assert_eq!(parse_facility("local3"), Some(libc::LOG_LOCAL3));
        assert_eq!(parse_facility("user"), Some(libc::LOG_USER));
        assert_eq!(parse_facility("daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(parse_facility("8"), None);
        assert_eq!(parse_facility("local8"), None);
        assert_eq!(parse_facility("kern"), None);
    }

    #[test]
    fn command_line_wraps_like_keepalived() {
        // Captured from keepalived 2.2.7.
        let args = [
            "/usr/sbin/keepalived",
            "-n",
            "-l",
            "-D",
            "-f",
            "/tmp/kaobs/k.conf",
            "-p",
            "/tmp/kaobs/p.pid",
            "-r",
            "/tmp/kaobs/v.pid",
            "-c",
            "/tmp/kaobs/c.pid",
        ];
        let lines = wrap("Command line", &quote_args(args));
        assert_eq!(
            lines,
            vec![
                "Command line: '/usr/sbin/keepalived' '-n' '-l' '-D' '-f' '/tmp/kaobs/k.conf' '-p' '/tmp/kaobs/p.pid'",
                "              '-r' '/tmp/kaobs/v.pid' '-c' '/tmp/kaobs/c.pid'",
            ]
        );
        assert_eq!(wrap("Command line", "'a'"), vec!["Command line: 'a'"]);
    }
}

//! Running a configured script exactly as keepalived does (reference §4.9).
//!
//! * If `argv[0]` resolves (PATH search for bare names) to an executable
//!   regular file that the kernel can exec (starts with `#!` or is an ELF
//!   binary), it is exec'd directly with the configured argv, `argv[0]`
//!   replaced by the resolved path (as keepalived's `replace_cmd_name`).
//! * Otherwise (shell syntax such as `</dev/tcp/127.0.0.1/80`, a script
//!   without a shebang, a missing file) it runs as `/bin/sh -c "<cmd as
//!   written>"`, extra arguments appended shell-quoted.
//!
//! The child runs as the script's uid/gid, in a new process group, with
//! stdin/stdout/stderr on `/dev/null`, without `IFS`, `LD_PRELOAD` and
//! `LD_LIBRARY_PATH`, and with `PR_SET_PDEATHSIG` = SIGTERM.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that spawned the child exits:
//! spawn from tokio worker threads or another long-lived thread, not from
//! `spawn_blocking` threads (which exit when idle).
//!
//! Notify scripts are fire-and-forget ([`Notifier::spawn_notify`]); tracking
//! scripts are waited for with a timeout ([`run_with_timeout`]), after which
//! the process group gets SIGTERM and, [`TERM_GRACE`] later, SIGKILL.

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Group, Pid, User};
use tokio::process::{Child, Command};

use crate::config::script::Script;

/// How long a timed-out script gets between SIGTERM and SIGKILL
/// (keepalived: 2 s).
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// The default script user's name.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Variables removed from a script's environment.
pub const REMOVED_ENV: [&str; 3] = ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"];

/// A resolved uid/gid a script runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl RunAs {
    /// Our own real uid/gid.
    pub fn current() -> RunAs {
        RunAs {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }

    /// keepalived's default: user `keepalived_script` (and its primary
    /// group) if it exists, else our own uid/gid (root for the daemon).
    pub fn keepalived_default() -> RunAs {
        Self::lookup_user(DEFAULT_SCRIPT_USER).unwrap_or_else(Self::current)
    }

    /// The user scripts run as by default: the global `script_user`
    /// (our own uid/gid if it cannot be resolved), else keepalived's
    /// default.
    pub fn from_global(g: &crate::config::global::GlobalDefs) -> RunAs {
        match &g.script_user {
            Some((u, grp)) => Self::resolve(Some(u), grp.as_deref(), Self::current())
                .unwrap_or_else(|_| Self::current()),
            None => Self::keepalived_default(),
        }
    }

    /// A user name or numeric uid, with its primary group.
    pub fn lookup_user(name: &str) -> Option<RunAs> {
        let user = match name.parse::<u32>() {
            Ok(n) => User::from_uid(n.into()).ok().flatten(),
            Err(_) => User::from_name(name).ok().flatten(),
        }?;
        Some(RunAs {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    /// A group name or numeric gid.
    pub fn lookup_group(name: &str) -> Option<u32> {
        match Group::from_name(name).ok().flatten() {
            Some(g) => Some(g.gid.as_raw()),
            None => name.parse().ok(),
        }
    }

    /// The uid/gid for `USER [GROUP]` as configured, `default` when no user
    /// is given. Errors name what could not be resolved, as keepalived's
    /// `Unable to set uid/gid` messages do.
    pub fn resolve(
        user: Option<&str>,
        group: Option<&str>,
        default: RunAs,
    ) -> Result<RunAs, ExecError> {
        let Some(user) = user else {
            return Ok(default);
        };
        let mut r =
            Self::lookup_user(user).ok_or_else(|| ExecError::UnknownUser(user.to_string()))?;
        if let Some(g) = group.filter(|g| !g.is_empty()) {
            r.gid = Self::lookup_group(g).ok_or_else(|| ExecError::UnknownGroup(g.to_string()))?;
        }
        Ok(r)
    }
}

/// Errors preparing or starting a script.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The configured user does not exist.
    #[error("Unable to set uid for script - unknown user {0}")]
    UnknownUser(String),
    /// The configured group does not exist.
    #[error("Unable to set gid for script - unknown group {0}")]
    UnknownGroup(String),
    /// The argv is empty.
    #[error("empty script command")]
    Empty,
    /// fork/exec failed.
    #[error("unable to run script: {0}")]
    Io(#[from] io::Error),
}

/// How a script is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// `execve(path, argv)`; `argv[0]` is the resolved path.
    Direct(PathBuf),
    /// `/bin/sh -c <cmd>`.
    Shell,
}

/// A script ready to run: argv, the command as written, who it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCommand {
    /// Argument vector (configured argv plus any appended arguments).
    pub argv: Vec<String>,
    /// The command as written (used for the `/bin/sh -c` fallback), with
    /// appended arguments shell-quoted.
    pub cmd: String,
    /// Who it runs as.
    pub run_as: RunAs,
}

impl ScriptCommand {
    /// From a configured [`Script`]; `default` is the user for scripts
    /// without `USER` (global `script_user` or [`RunAs::keepalived_default`]).
    pub fn from_script(s: &Script, default: RunAs) -> Result<ScriptCommand, ExecError> {
        if s.argv.is_empty() {
            return Err(ExecError::Empty);
        }
        Ok(ScriptCommand {
            argv: s.argv.clone(),
            cmd: s.cmd.clone(),
            run_as: RunAs::resolve(s.user.as_deref(), s.group.as_deref(), default)?,
        })
    }

    /// From an argv (the written command is the words joined, each
    /// shell-quoted when needed).
    pub fn from_argv<S: AsRef<str>>(argv: &[S], run_as: RunAs) -> ScriptCommand {
        let argv: Vec<String> = argv.iter().map(|a| a.as_ref().to_string()).collect();
        let cmd = argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        ScriptCommand { argv, cmd, run_as }
    }

    /// The same command with arguments appended (the generic `notify`
    /// script's `INSTANCE VI_1 MASTER 150`, a FIFO script's path).
    pub fn with_args<S: AsRef<str>>(&self, extra: &[S]) -> ScriptCommand {
        let mut c = self.clone();
        for a in extra {
            c.argv.push(a.as_ref().to_string());
            c.cmd.push(' ');
            c.cmd.push_str(&shell_quote(a.as_ref()));
        }
        c
    }

    /// How keepalived would start it.
    pub fn launch(&self) -> Launch {
        match self.argv.first().and_then(|a0| resolve_exec(a0)) {
            Some(p) => Launch::Direct(p),
            None => Launch::Shell,
        }
    }

    fn command(&self) -> Command {
        let mut c = match self.launch() {
            Launch::Direct(p) => {
                let mut c = Command::new(&p);
                c.args(&self.argv[1..]);
                c
            }
            Launch::Shell => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(&self.cmd);
                c
            }
        };
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
        for v in REMOVED_ENV {
            c.env_remove(v);
        }
        let me = RunAs::current();
        // Only change ids when they differ: an unprivileged daemon (tests)
        // can still run scripts as itself. std drops supplementary groups
        // (setgroups(0)) when root sets a uid.
        if self.run_as.gid != me.gid {
            c.gid(self.run_as.gid);
        }
        if self.run_as.uid != me.uid {
            c.uid(self.run_as.uid);
        }
        // `-m`: the daemon lifted its core size limit, scripts keep the
        // original (keepalived's set_child_rlimit).
        let core = crate::daemon::core_dump::script_limit();
        // SAFETY: prctl and setrlimit are async-signal-safe and touch no
        // memory of ours but the limit copied on the stack.
        unsafe {
            c.pre_exec(move || {
                if let Some(r) = core {
                    libc::setrlimit(libc::RLIMIT_CORE, &r);
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The daemon turned transparent huge pages off for itself
                // (main.rs); a script runs with the system's setting.
                libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0);
                crate::daemon::sched::reset_for_script();
                Ok(())
            });
        }
        c
    }

    /// Starts the child (must be called inside a tokio runtime).
    pub fn spawn(&self) -> Result<Child, ExecError> {
        if self.argv.is_empty() {
            return Err(ExecError::Empty);
        }
        Ok(self.command().spawn()?)
    }
}

/// Single-quotes `s` for `/bin/sh` unless it is made of safe characters.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&b));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Resolves `argv0` to a file keepalived would exec directly: an
/// executable regular file (found on `PATH` for bare names) starting with
/// `#!` or the ELF magic. `None` means "run via `/bin/sh -c`".
pub fn resolve_exec(argv0: &str) -> Option<PathBuf> {
    if argv0.is_empty() {
        return None;
    }
    let candidate = if argv0.contains('/') {
        Some(PathBuf::from(argv0)).filter(|p| is_exec_file(p))
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| {
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
        });
        std::env::split_paths(&path)
            .map(|d| d.join(argv0))
            .find(|p| is_exec_file(p))
    }?;
    directly_execable(&candidate).then_some(candidate)
}

fn is_exec_file(p: &Path) -> bool {
    match std::fs::metadata(p) {
        Ok(m) => m.is_file() && m.permissions().mode() & 0o111 != 0 && access_x(p.as_os_str()),
        Err(_) => false,
    }
}

fn access_x(p: &OsStr) -> bool {
    let Ok(c) = CString::new(p.as_bytes()) else {
        return false;
    };
    // SAFETY: access only reads the NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

fn directly_execable(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let Ok(mut f) = std::fs::File::open(p) else {
        // Unreadable but executable: let the kernel decide.
        return true;
    };
    let n = f.read(&mut head).unwrap_or(0);
    head[..n].starts_with(b"#!") || head[..n] == *b"\x7fELF"
}

/// How a waited-for script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Exited with this status (also when it exited by itself after our
    /// SIGTERM, as keepalived counts it).
    Exited(i32),
    /// Killed by a signal we did not send.
    Signaled(i32),
    /// Ran past its timeout and was terminated (SIGTERM/SIGKILL).
    TimedOut,
}

impl ScriptOutcome {
    /// Whether it counts as a success.
    pub fn success(self) -> bool {
        self == ScriptOutcome::Exited(0)
    }
}

fn outcome(st: ExitStatus, timed_out: bool) -> ScriptOutcome {
    use std::os::unix::process::ExitStatusExt;
    if let Some(c) = st.code() {
        return ScriptOutcome::Exited(c);
    }
    let sig = st.signal().unwrap_or(0);
    if timed_out && (sig == libc::SIGTERM || sig == libc::SIGKILL) {
        ScriptOutcome::TimedOut
    } else {
        ScriptOutcome::Signaled(sig)
    }
}

fn kill_group(pid: u32, sig: Signal) {
    let _ = killpg(Pid::from_raw(pid as i32), sig);
}

/// Runs `cmd` and waits for it; after `timeout` its process group gets
/// SIGTERM, and SIGKILL [`TERM_GRACE`] later if it is still there. When it
/// dies of our SIGTERM, the rest of its group is SIGKILLed (keepalived).
pub async fn run_with_timeout(
    cmd: &ScriptCommand,
    timeout: Duration,
) -> Result<ScriptOutcome, ExecError> {
    run_with_timeout_grace(cmd, timeout, TERM_GRACE).await
}

/// [`run_with_timeout`] with an explicit SIGTERM→SIGKILL grace.
pub async fn run_with_timeout_grace(
    cmd: &ScriptCommand,
    timeout: Duration,
    grace: Duration,
) -> Result<ScriptOutcome, ExecError> {
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    // If this future is dropped before the script ends, kill its group.
    let mut guard = GroupGuard(Some(pid));
    if let Ok(st) = tokio::time::timeout(timeout, child.wait()).await {
        guard.0 = None;
        return Ok(outcome(st?, false));
    }
    kill_group(pid, Signal::SIGTERM);
    let st = match tokio::time::timeout(grace, child.wait()).await {
        Ok(st) => {
            // Make sure any children it created die too.
            kill_group(pid, Signal::SIGKILL);
            st?
        }
        Err(_) => {
            kill_group(pid, Signal::SIGKILL);
            let _ = child.start_kill();
            child.wait().await?
        }
    };
    guard.0 = None;
    Ok(outcome(st, true))
}

struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            kill_group(pid, Signal::SIGKILL);
        }
    }
}

/// Fire-and-forget notify scripts, reaped in the background; remembers the
/// ones still running so that shutdown can wait for or kill them.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    running: Arc<Mutex<HashSet<u32>>>,
}

impl Notifier {
    /// A new, empty set.
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// Starts `cmd` without waiting (no timeout); returns its pid. Must be
    /// called inside a tokio runtime: a task reaps it.
    pub fn spawn_notify(&self, cmd: &ScriptCommand) -> Result<u32, ExecError> {
        let mut child = cmd.spawn()?;
        let pid = child.id().unwrap_or(0);
        self.running.lock().unwrap().insert(pid);
        let running = self.running.clone();
        tokio::spawn(async move {
            let _ = child.wait().await;
            running.lock().unwrap().remove(&pid);
        });
        Ok(pid)
    }

    /// Pids of notify scripts not yet reaped.
    pub fn outstanding(&self) -> Vec<u32> {
        self.running.lock().unwrap().iter().copied().collect()
    }

    /// At shutdown: waits up to `grace` (keepalived: about 1 s) for
    /// outstanding scripts, then SIGTERMs their process groups and SIGKILLs
    /// them shortly after. Returns how many had to be signalled.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.running.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.outstanding();
        for &p in &left {
            kill_group(p, Signal::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        while !self.running.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for p in self.outstanding() {
            kill_group(p, Signal::SIGKILL);
        }
        left.len()
    }
}

/// Starts a notify script without tracking it (reaped in the background).
pub fn spawn_notify(cmd: &ScriptCommand) -> Result<u32, ExecError> {
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or(0);
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
    Ok(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::diag::Loc;
    use crate::config::script::ScriptKind;

    fn script(argv: &[&str], cmd: &str, user: Option<&str>, group: Option<&str>) -> Script {
        Script {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cmd: cmd.to_string(),
            user: user.map(str::to_string),
            group: group.map(str::to_string),
            kind: ScriptKind::Notify,
            loc: Loc {
                file: Arc::new(PathBuf::from("/etc/keepalived/keepalived.conf")),
                line: 1,
            },
            owner: "VI_1".to_string(),
        }
    }

    #[test]
    fn from_script_resolves_users() {
        let def = RunAs {
            uid: 4242,
            gid: 4343,
        };
        let c = ScriptCommand::from_script(&script(&["/bin/true"], "/bin/true", None, None), def)
            .unwrap();
        assert_eq!(c.run_as, def);
        assert_eq!(c.cmd, "/bin/true");
        let root = ScriptCommand::from_script(
            &script(&["/bin/true"], "/bin/true", Some("root"), None),
            def,
        )
        .unwrap();
        assert_eq!(root.run_as, RunAs { uid: 0, gid: 0 });
        let n = ScriptCommand::from_script(
            &script(&["/bin/true"], "/bin/true", Some("0"), Some("1")),
            def,
        )
        .unwrap();
        assert_eq!(n.run_as, RunAs { uid: 0, gid: 1 });
        assert!(matches!(
            ScriptCommand::from_script(&script(&["x"], "x", Some("no-such-ka-user"), None), def),
            Err(ExecError::UnknownUser(_))
        ));
        assert!(matches!(
            ScriptCommand::from_script(
                &script(&["x"], "x", Some("root"), Some("no-such-ka-grp")),
                def
            ),
            Err(ExecError::UnknownGroup(_))
        ));
        assert!(matches!(
            ScriptCommand::from_script(&script(&[], "", None, None), def),
            Err(ExecError::Empty)
        ));
        // keepalived_script does not exist here: the default is ourselves.
        if RunAs::lookup_user(DEFAULT_SCRIPT_USER).is_none() {
            assert_eq!(RunAs::keepalived_default(), RunAs::current());
        }
    }

    #[test]
    fn quoting_and_launch() {
        assert_eq!(shell_quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let c = ScriptCommand::from_argv(&["/bin/echo", "a b"], RunAs::current());
        assert_eq!(c.cmd, "/bin/echo 'a b'");
        assert_eq!(c.launch(), Launch::Direct(PathBuf::from("/bin/echo")));
        let c = c.with_args(&["INSTANCE", "VI 1"]);
        assert_eq!(c.argv, ["/bin/echo", "a b", "INSTANCE", "VI 1"]);
        assert_eq!(c.cmd, "/bin/echo 'a b' INSTANCE 'VI 1'");
        assert_eq!(resolve_exec("</dev/tcp/127.0.0.1/80"), None);
        assert_eq!(resolve_exec("/etc/passwd"), None);
        assert_eq!(resolve_exec("/tmp"), None);
        assert_eq!(resolve_exec(""), None);
    }
}

//! The parent process: starts the children, watches them, forwards
//! signals, restarts them, and stops them.
//!
//! keepalived's model (see the module docs of [`crate::daemon::process`]
//! for the child side):
//!
//! * a VRRP child runs when the configuration has a `vrrp_instance`, a
//!   checker child when it has a `virtual_server` (`--all` starts both,
//!   `-P`/`-C` restrict to one), a BFD child when it has a `bfd_instance`
//!   (not with `-B`; `-P`/`-C` do not stop it, as in keepalived 2.2.7).
//!   Each is this binary executed again, never a bare `fork()`;
//! * the BFD child tells the others when a session goes up or down,
//!   through two pipes the parent creates once and hands to every
//!   (re)started child; when the VRRP or checker child is (re)started and
//!   ready, the parent asks the BFD child to send every state again;
//! * a child that exits 1 (FATAL), 2 (CONFIG) or 4 (missing permission)
//!   stops the whole daemon with the same exit code; any other death is
//!   restarted at once if the child ran for more than 60 s, otherwise
//!   after 0, 1, 2, 4 … 60 s (`-R`: the daemon stops instead);
//! * beyond keepalived: after an abnormal death of the VRRP child the
//!   parent deletes the virtual addresses of the configuration at once,
//!   so that a dead master does not keep answering for them while the
//!   backup takes over;
//! * SIGTERM/SIGINT stop the children (SIGKILL after `child_wait_time`,
//!   5 s by default) and the daemon; SIGHUP is forwarded (reload), as are
//!   SIGUSR1 (to every child), SIGUSR2, SIGRTMIN+2 and SIGRTMAX-1 (to the
//!   VRRP child: its statistics and JSON dumps).
//!
//! The parent has no async runtime: one blocking loop polls a signalfd
//! (every handled signal is blocked) and the children's readiness pipes.
//! The VIP clean-up builds a short-lived current-thread runtime for its
//! netlink requests and drops it before the loop continues.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::config::addr::Vip;
use crate::config::global::GlobalDefs;
use crate::config::Config;
use crate::daemon::log::{log_line, log_wrapped, quote_args};
use crate::daemon::netlink::{AddrSpec, Netlink};
use crate::daemon::pidfile::{self, PidFiles};
use crate::daemon::process::{self, Role, CHILD_OPTION, PARENT_ENV, READY_FD_ENV};
use crate::daemon::sdnotify;

/// keepalived's version as it appears in its logs.
pub const VERSION_LINE: &str = "Keepalived v2.2.7 (01/16,2022)";

/// Child exit codes that stop the whole daemon.
pub const EXIT_FATAL: i32 = 1;
/// A configuration error.
pub const EXIT_CONFIG: i32 = 2;
/// A missing permission.
pub const EXIT_MISSING_PERMISSION: i32 = 4;

/// keepalived's default `child_wait_time`.
const CHILD_WAIT: Duration = Duration::from_secs(5);

/// Detaches from the terminal as a daemon: fork (the caller's process
/// exits 0), `setsid`, fork again, `chdir /`, stdio to `/dev/null`.
///
/// Must be called while the process has a single thread, before any
/// runtime exists.
pub fn daemonise() -> io::Result<()> {
    // SAFETY: the process is single-threaded (documented precondition), so
    // the child of fork may run arbitrary code; the parents leave with
    // _exit, running nothing else.
    unsafe {
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        let root = c"/";
        libc::chdir(root.as_ptr());
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            for std_fd in 0..3 {
                libc::dup2(fd, std_fd);
            }
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
    Ok(())
}

/// Logs the first lines of a start: version, kernel, command line.
pub fn log_start(argv: &[OsString]) {
    log_line(&format!("Starting {VERSION_LINE}"));
    log_line(&format!("Running on {}", crate::sys::uname_line()));
    log_wrapped("Command line", &quote_args(argv));
}

/// How the parent runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The command line as given, `argv[0]` first: the children get it
    /// again plus their role.
    pub argv: Vec<OsString>,
    /// The directory the daemon was started from: the children start
    /// there, so that a relative `-f` still names the file.
    pub cwd: PathBuf,
    /// `-P`/`-C` allow a VRRP child (true when neither is given).
    pub allow_vrrp: bool,
    /// `-P`/`-C` allow a checker child (true when neither is given).
    pub allow_checker: bool,
    /// `--all`: start the allowed children even without configuration.
    pub all: bool,
    /// `-B`: no BFD child.
    pub no_bfd: bool,
    /// Restart dead children (not `-R`).
    pub respawn: bool,
    /// `-V`: leave VIPs in place when stopping.
    pub dont_release_vips: bool,
    /// The pid files.
    pub pids: PidFiles,
}

impl Options {
    /// The options of a command line; `cwd` is where the daemon was
    /// started (before [`daemonise`] moved it to `/`).
    pub fn new(
        cli: &crate::cli::Cli,
        config: &Config,
        argv: Vec<OsString>,
        cwd: PathBuf,
    ) -> Options {
        let (allow_vrrp, allow_checker) = if cli.vrrp || cli.check {
            (cli.vrrp, cli.check)
        } else {
            (true, true)
        };
        Options {
            argv,
            cwd,
            allow_vrrp,
            allow_checker,
            all: cli.all,
            no_bfd: cli.no_bfd,
            respawn: !cli.dont_respawn,
            dont_release_vips: cli.dont_release_vrrp,
            pids: PidFiles::resolve(cli, &config.global),
        }
    }

    /// Whether `role` runs with this configuration.
    fn runs(&self, role: Role, config: &Kept) -> bool {
        match role {
            Role::Vrrp => self.allow_vrrp && (self.all || config.has_vrrp),
            Role::Checker => self.allow_checker && (self.all || config.has_checker),
            Role::Bfd => !self.no_bfd && (self.all || config.has_bfd),
        }
    }
}

/// What the parent keeps of a configuration: the children read their own
/// and a reload reads the file again, so the rest (virtual servers,
/// instances, checkers: most of it) is dropped once this is taken.
struct Kept {
    global: GlobalDefs,
    has_vrrp: bool,
    has_checker: bool,
    has_bfd: bool,
    /// [`configured_vips`], removed after a crash of the VRRP child.
    vips: Vec<(String, Vip)>,
}

impl Kept {
    fn new(config: Config) -> Kept {
        Kept {
            has_vrrp: config.has_vrrp(),
            has_checker: config.has_checker(),
            has_bfd: config.has_bfd(),
            vips: configured_vips(&config),
            global: config.global,
        }
    }
}

/// The virtual addresses a configuration puts on this host, with the
/// interface each goes on: what a dead VRRP child may have left behind.
pub fn configured_vips(config: &Config) -> Vec<(String, Vip)> {
    let mut out = Vec::new();
    for inst in &config.vrrp.instances {
        let Some(ifname) = inst
            .interface
            .clone()
            .or_else(|| config.global.default_interface.clone())
        else {
            continue;
        };
        for v in inst.vips.iter().chain(&inst.evips) {
            out.push((v.dev.clone().unwrap_or_else(|| ifname.clone()), v.clone()));
        }
    }
    out
}

/// Deletes the given virtual addresses where present (interfaces are
/// looked up now). Returns what was removed, as `addr/len dev IF`.
pub fn remove_vips(vips: &[(String, Vip)]) -> io::Result<Vec<String>> {
    let specs: Vec<(String, AddrSpec)> = vips
        .iter()
        .filter_map(|(ifname, v)| {
            let c = std::ffi::CString::new(ifname.as_str()).ok()?;
            // SAFETY: if_nametoindex reads the NUL-terminated name.
            let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
            (idx != 0).then(|| (ifname.clone(), crate::daemon::plan::addr_spec(v, idx)))
        })
        .collect();
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    // A runtime for these few requests only: no thread outlives it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let owned: Vec<AddrSpec> = specs.iter().map(|(_, s)| s.clone()).collect();
    let removed = rt.block_on(async {
        let nl = Netlink::new().map_err(io::Error::other)?;
        let (_, removed) = nl.reconcile(&[], &owned).await.map_err(io::Error::other)?;
        Ok::<_, io::Error>(removed)
    })?;
    Ok(removed
        .iter()
        .map(|r| {
            let dev = specs
                .iter()
                .find(|(_, s)| s == r)
                .map_or("?", |(n, _)| n.as_str());
            format!("{}/{} dev {dev}", r.addr, r.prefix_len)
        })
        .collect())
}

// ===== signals =====

fn handled_signals() -> Vec<libc::c_int> {
    let mut v = vec![libc::SIGTERM, libc::SIGINT, libc::SIGCHLD];
    v.extend(process::forwarded_signals());
    v
}

extern "C" fn no_op(_: libc::c_int) {}

/// Blocks the signals the parent handles and returns a signalfd for them.
/// Each also gets a handler that does nothing (it never runs: the signals
/// stay blocked) in place of whatever disposition was inherited: an
/// ignored SIGCHLD would make the kernel reap the children itself (and
/// waitpid fail), and ignored signals would pass on to the children.
fn signal_fd() -> io::Result<OwnedFd> {
    // SAFETY: sigset manipulation on a zeroed set we own; sigaction
    // installs a handler that does nothing for signals already blocked;
    // signalfd returns a new fd that we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in handled_signals() {
            libc::sigaddset(&mut set, s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = no_op as extern "C" fn(libc::c_int) as libc::sighandler_t;
        act.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut act.sa_mask);
        for s in handled_signals() {
            libc::sigaction(s, &act, std::ptr::null_mut());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads the pending signals from the signalfd.
fn read_signals(fd: RawFd) -> Vec<libc::c_int> {
    let mut out = Vec::new();
    loop {
        // SAFETY: signalfd_siginfo is plain data; read fills at most its
        // size.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let n = unsafe {
            libc::read(
                fd,
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                std::mem::size_of::<libc::signalfd_siginfo>(),
            )
        };
        if n != std::mem::size_of::<libc::signalfd_siginfo>() as isize {
            return out;
        }
        out.push(info.ssi_signo as libc::c_int);
    }
}

fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) on a child we started and have not reaped yet.
    unsafe { libc::kill(pid, sig) };
}

fn signal_name(sig: libc::c_int) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local
    // string, copied at once.
    unsafe {
        let p = libc::strsignal(sig);
        if p.is_null() {
            format!("signal {sig}")
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

// ===== children =====

/// How a child ended, from waitpid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by a signal.
    Signaled(i32),
}

impl Death {
    fn from_status(status: libc::c_int) -> Death {
        if libc::WIFEXITED(status) {
            Death::Exited(libc::WEXITSTATUS(status))
        } else {
            Death::Signaled(libc::WTERMSIG(status))
        }
    }

    /// Whether the child did not end by itself with success.
    pub fn abnormal(self) -> bool {
        self != Death::Exited(0)
    }

    /// The permanent-error name of the exit code, if it is one.
    pub fn permanent(self) -> Option<&'static str> {
        match self {
            Death::Exited(EXIT_FATAL) => Some("FATAL"),
            Death::Exited(EXIT_CONFIG) => Some("CONFIG"),
            Death::Exited(EXIT_MISSING_PERMISSION) => Some("missing permission"),
            _ => None,
        }
    }
}

/// keepalived's respawn back-off: at once if the child ran for a minute,
/// otherwise 0 s the first time, then 1, 2, 4 … 60 s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    next: u64,
}

impl Backoff {
    /// The delay before restarting a child that ran for `ran`; `None` when
    /// it ran long enough to be restarted at once (nothing is logged).
    pub fn delay(&mut self, ran: Duration) -> Option<u64> {
        if ran >= Duration::from_secs(60) {
            self.next = 0;
            return None;
        }
        let d = self.next;
        self.next = match d {
            0 => 1,
            d if d > 30 => 60,
            d => d * 2,
        };
        Some(d)
    }
}

struct Child {
    role: Role,
    pid: Option<i32>,
    started: Instant,
    backoff: Backoff,
    restart_at: Option<Instant>,
    /// Read end of the readiness pipe.
    ready_rx: Option<OwnedFd>,
    /// Started or reloading, and not ready yet.
    pending: bool,
}

impl Child {
    fn new(role: Role) -> Child {
        Child {
            role,
            pid: None,
            started: Instant::now(),
            backoff: Backoff::default(),
            restart_at: None,
            ready_rx: None,
            pending: false,
        }
    }
}

/// The parent's state.
/// The BFD event pipes: (read, write) for VRRP and for the checker.
struct EventPipes {
    vrrp: (OwnedFd, OwnedFd),
    checker: (OwnedFd, OwnedFd),
}

impl EventPipes {
    fn new() -> io::Result<EventPipes> {
        let pipe = || -> io::Result<(OwnedFd, OwnedFd)> {
            let mut fds = [0; 2];
            // SAFETY: pipe2 fills two new fds that we own from here on.
            unsafe {
                if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
            }
        };
        Ok(EventPipes {
            vrrp: pipe()?,
            checker: pipe()?,
        })
    }

    /// The environment and inherited fds of a child.
    fn for_child(&self, role: Role) -> Vec<(&'static str, RawFd)> {
        match role {
            Role::Bfd => vec![
                (process::BFD_VRRP_FD_ENV, self.vrrp.1.as_raw_fd()),
                (process::BFD_CHECKER_FD_ENV, self.checker.1.as_raw_fd()),
            ],
            Role::Vrrp => vec![(process::BFD_EVENT_FD_ENV, self.vrrp.0.as_raw_fd())],
            Role::Checker => vec![(process::BFD_EVENT_FD_ENV, self.checker.0.as_raw_fd())],
        }
    }
}

struct Parent<'a> {
    opts: Options,
    /// `None` with `-B` or when they could not be made.
    pipes: Option<EventPipes>,
    config: Kept,
    reload_config: &'a dyn Fn() -> Option<Config>,
    children: Vec<Child>,
    sigfd: OwnedFd,
    /// `Startup complete` was logged.
    started: bool,
    reloading: bool,
    stopping: Option<Instant>,
    exit_code: u8,
}

/// Runs the parent until the daemon stops; returns the exit code.
///
/// `reload_config` reads the configuration again on SIGHUP (`None` when it
/// has a fatal error: the old one is kept).
pub fn run(opts: Options, config: Config, reload_config: &dyn Fn() -> Option<Config>) -> u8 {
    crate::daemon::dump::GlobalInfo::prepare(&config.global);
    let config = Kept::new(config);
    super::release_free_memory();
    let pids = &opts.pids;
    let roles: Vec<Role> = [Role::Vrrp, Role::Checker, Role::Bfd]
        .into_iter()
        .filter(|&r| opts.runs(r, &config))
        .collect();
    if pidfile::running(&pids.parent)
        || (roles.contains(&Role::Vrrp) && pidfile::running(&pids.vrrp))
        || (roles.contains(&Role::Checker) && pidfile::running(&pids.checker))
        || (roles.contains(&Role::Bfd) && pidfile::running(&pids.bfd))
    {
        log_line("daemon is already running");
        return 0;
    }
    let me = std::process::id();
    if let Err(e) = pidfile::write(&pids.parent, me) {
        log_line(&format!(
            "pidfile_write : Cannot open {} pidfile ({e})",
            pids.parent.display()
        ));
        return EXIT_FATAL as u8;
    }
    // keepalived's hint, after its pid file (-1 disables the feature and
    // the line).
    if config.global.max_auto_priority.unwrap_or(0) == 0 {
        log_line("NOTICE: setting config option max_auto_priority should result in better keepalived performance");
    }
    let sigfd = match signal_fd() {
        Ok(fd) => fd,
        Err(e) => {
            log_line(&format!("Unable to set up signal handling: {e}"));
            pidfile::remove(&pids.parent, me);
            return EXIT_FATAL as u8;
        }
    };
    let pipes = if opts.no_bfd {
        None
    } else {
        EventPipes::new()
            .map_err(|e| log_line(&format!("Unable to create BFD event pipes: {e}")))
            .ok()
    };
    let mut p = Parent {
        children: roles.into_iter().map(Child::new).collect(),
        pipes,
        opts,
        config,
        reload_config,
        sigfd,
        started: false,
        reloading: false,
        stopping: None,
        exit_code: 0,
    };
    if p.children.is_empty() {
        log_line("Warning - keepalived has no configuration to run");
    }
    for i in 0..p.children.len() {
        p.start(i);
    }
    p.run_loop();
    p.finish()
}

impl Parent<'_> {
    fn start(&mut self, i: usize) {
        let c = &mut self.children[i];
        c.restart_at = None;
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two new fds that we own from here on.
        let (rx, tx) = unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
                log_line(&format!(
                    "{} child process: pipe error({})",
                    c.role.name(),
                    io::Error::last_os_error()
                ));
                c.restart_at = Some(Instant::now() + Duration::from_secs(1));
                return;
            }
            (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
        };
        let tx_fd = tx.as_raw_fd();
        let inherit = self
            .pipes
            .as_ref()
            .map(|p| p.for_child(c.role))
            .unwrap_or_default();
        let inherit_fds: Vec<RawFd> = inherit.iter().map(|&(_, fd)| fd).collect();
        let mut cmd = Command::new("/proc/self/exe");
        for (var, fd) in &inherit {
            cmd.env(var, fd.to_string());
        }
        if let Some(arg0) = self.opts.argv.first() {
            cmd.arg0(arg0);
        }
        cmd.args(self.opts.argv.iter().skip(1))
            .arg(format!("{CHILD_OPTION}={}", c.role.flag()))
            .env(PARENT_ENV, std::process::id().to_string())
            .env(READY_FD_ENV, tx_fd.to_string())
            .env_remove(sdnotify::NOTIFY_SOCKET)
            .envs(crate::daemon::core_dump::child_env())
            .current_dir(&self.opts.cwd);
        // SAFETY: between fork and exec only fcntl(2) and sigprocmask(2),
        // which are async-signal-safe, on fds that exist in the child
        // and a set on the stack (the fd list was allocated before fork).
        unsafe {
            cmd.pre_exec(move || {
                if libc::fcntl(tx_fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                for &fd in &inherit_fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                // The mask is inherited across exec: unblock what the
                // parent blocked for its signalfd.
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(child) => {
                let pid = child.id() as i32;
                // We reap it ourselves (waitpid): the handle is not needed.
                drop(child);
                drop(tx);
                log_line(&format!(
                    "Starting {} child process, pid={pid}",
                    c.role.name()
                ));
                c.pid = Some(pid);
                c.started = Instant::now();
                c.ready_rx = Some(rx);
                c.pending = true;
            }
            Err(e) => {
                log_line(&format!("{} child process: fork error({e})", c.role.name()));
                c.restart_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }

    fn run_loop(&mut self) {
        loop {
            if let Some(deadline) = self.stopping {
                if self.children.iter().all(|c| c.pid.is_none()) {
                    return;
                }
                if Instant::now() >= deadline {
                    self.force_kill();
                    return;
                }
            }
            self.check_ready();
            let timeout = self.next_timeout();
            let mut pfds = vec![libc::pollfd {
                fd: self.sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let mut who = Vec::new();
            for (i, c) in self.children.iter().enumerate() {
                if let Some(fd) = &c.ready_rx {
                    pfds.push(libc::pollfd {
                        fd: fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                    who.push(i);
                }
            }
            let ms = timeout.map_or(-1, |t| {
                t.saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as i32
            });
            // SAFETY: poll on our own array of valid fds.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
            if n < 0 {
                continue;
            }
            for (k, &i) in who.iter().enumerate() {
                let re = pfds[k + 1].revents;
                if re != 0 {
                    self.read_ready(i);
                }
            }
            if pfds[0].revents & libc::POLLIN != 0 {
                for sig in read_signals(self.sigfd.as_raw_fd()) {
                    self.on_signal(sig);
                }
            }
            let now = Instant::now();
            if self.stopping.is_none() {
                for i in 0..self.children.len() {
                    if self.children[i].restart_at.is_some_and(|t| t <= now) {
                        self.start(i);
                    }
                }
            }
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        let restarts = self.children.iter().filter_map(|c| c.restart_at);
        match self.stopping {
            Some(d) => Some(d),
            None => restarts.min(),
        }
    }

    fn read_ready(&mut self, i: usize) {
        let c = &mut self.children[i];
        let Some(fd) = &c.ready_rx else { return };
        let mut buf = [0u8; 16];
        // SAFETY: read into our buffer from our non-blocking pipe.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            c.pending = false;
            // A VRRP or checker child that just started (or reloaded)
            // learns the BFD sessions' states.
            if c.role != Role::Bfd {
                for o in &self.children {
                    if let (Role::Bfd, Some(pid)) = (o.role, o.pid) {
                        kill(pid, process::bfd_resend_signal());
                    }
                }
            }
        } else if n == 0 {
            // The child closed it (exited): SIGCHLD follows.
            c.ready_rx = None;
        }
    }

    /// Logs `Startup complete` / `Reload complete` and tells systemd once
    /// every child is ready.
    fn check_ready(&mut self) {
        if self.stopping.is_some() || (self.started && !self.reloading) {
            return;
        }
        if !self.children.iter().all(|c| c.pid.is_some() && !c.pending) {
            return;
        }
        if self.reloading {
            log_line("Reload complete");
        } else if !self.children.is_empty() {
            log_line("Startup complete");
        }
        self.started = true;
        self.reloading = false;
        sdnotify::ready();
    }

    fn on_signal(&mut self, sig: libc::c_int) {
        match sig {
            libc::SIGCHLD => self.reap(),
            libc::SIGTERM | libc::SIGINT => self.begin_stop(true),
            libc::SIGHUP => self.reload(),
            libc::SIGUSR1 => {
                log_line(&format!(
                    "Printing parent data for process({}) on signal",
                    std::process::id()
                ));
                let g = crate::daemon::dump::GlobalInfo::from_config(&self.config.global);
                let path = crate::daemon::dump::path(crate::daemon::dump::PARENT_DATA_FILE);
                if let Err(e) = crate::daemon::dump::write(
                    &path,
                    &crate::daemon::dump::global_section(&g, crate::daemon::dump::Process::Parent),
                ) {
                    log_line(&format!("Unable to write {}: {e}", path.display()));
                }
                for c in &self.children {
                    if let Some(pid) = c.pid {
                        kill(pid, sig);
                    }
                }
            }
            _ => {
                // SIGUSR2, SIGRTMIN+2, SIGRTMAX-1: VRRP statistics/JSON.
                for c in &self.children {
                    if let (Role::Vrrp, Some(pid)) = (c.role, c.pid) {
                        kill(pid, sig);
                    }
                }
            }
        }
    }

    fn reload(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        log_line("Reloading ...");
        // Before start-up completed there is nothing to tell systemd yet:
        // READY=1 comes once every child is ready.
        if self.started {
            sdnotify::reloading();
            self.reloading = true;
        }
        let Some(cfg) = (self.reload_config)() else {
            // keepalived 2.2.7 dies here (its children exit CONFIG); the
            // running configuration is better than none.
            log_line("Reload failed: the new configuration has errors - keeping the running configuration");
            if self.reloading {
                self.reloading = false;
                sdnotify::ready();
            }
            return;
        };
        self.config = Kept::new(cfg);
        super::release_free_memory();
        for c in &mut self.children {
            if let Some(pid) = c.pid {
                c.pending = true;
                kill(pid, libc::SIGHUP);
            }
        }
        // A child that now has a configuration is started.
        for role in [Role::Vrrp, Role::Checker, Role::Bfd] {
            if self.opts.runs(role, &self.config) && !self.children.iter().any(|c| c.role == role) {
                self.children.push(Child::new(role));
                let i = self.children.len() - 1;
                self.start(i);
            }
        }
    }

    fn reap(&mut self) {
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid on any child, non-blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                return;
            }
            if let Some(i) = self.children.iter().position(|c| c.pid == Some(pid)) {
                self.child_died(i, pid, Death::from_status(status));
            }
        }
    }

    fn report(&self, pid: i32, death: Death) {
        match death {
            Death::Exited(0) => {}
            Death::Exited(code) => log_line(&format!("pid {pid} exited with status {code}")),
            Death::Signaled(libc::SIGSEGV) => log_line(&format!(
                "pid {pid} exited due to segmentation fault (SIGSEGV)."
            )),
            Death::Signaled(sig) => log_line(&format!(
                "pid {pid} exited due to signal {sig} ({}){}",
                signal_name(sig),
                if sig == libc::SIGKILL {
                    " - has rlimit_rttime been exceeded?"
                } else {
                    ""
                }
            )),
        }
    }

    fn child_died(&mut self, i: usize, pid: i32, death: Death) {
        let role = self.children[i].role;
        {
            let c = &mut self.children[i];
            c.pid = None;
            c.pending = false;
            c.ready_rx = None;
        }
        // The child's own pid file, if it could not remove it.
        let own_pid = match role {
            Role::Vrrp => &self.opts.pids.vrrp,
            Role::Checker => &self.opts.pids.checker,
            Role::Bfd => &self.opts.pids.bfd,
        };
        pidfile::remove(own_pid, pid as u32);
        if self.stopping.is_none() && death.permanent().is_none() {
            self.report(pid, death);
        }
        if role == Role::Vrrp
            && death.abnormal()
            && !(self.stopping.is_some() && self.opts.dont_release_vips)
        {
            self.cleanup_vips(pid);
        }
        if self.stopping.is_some() {
            return;
        }
        if let Some(what) = death.permanent() {
            let Death::Exited(code) = death else {
                unreachable!()
            };
            log_line(&format!(
                "pid {pid} exited with permanent error {what}. Terminating"
            ));
            sdnotify::errno(code);
            self.exit_code = code as u8;
            self.begin_stop(false);
            return;
        }
        if !self.opts.respawn {
            log_line(&format!(
                "{} child process({pid}) died: Exiting",
                role.name()
            ));
            self.begin_stop(true);
            return;
        }
        log_line(&format!(
            "{} child process({pid}) died: Respawning",
            role.name()
        ));
        log_line("  Please log an issue with keepalived-rs, and include a full copy");
        log_line("  of your keepalived configuration files, and copies of the");
        log_line("  keepalived system log entries around the time this happened");
        let c = &mut self.children[i];
        match c.backoff.delay(c.started.elapsed()) {
            None => self.start(i),
            Some(d) => {
                log_line(&format!(
                    "Restart of {} process delayed {d} seconds to limit respawn rate",
                    role.name()
                ));
                if d == 0 {
                    self.start(i);
                } else {
                    c.restart_at = Some(Instant::now() + Duration::from_secs(d));
                }
            }
        }
    }

    fn cleanup_vips(&self, pid: i32) {
        let vips = &self.config.vips;
        if vips.is_empty() {
            return;
        }
        match remove_vips(vips) {
            Ok(removed) if removed.is_empty() => {}
            Ok(removed) => log_line(&format!(
                "Removed VIPs left by VRRP child process({pid}): {}",
                removed.join(", ")
            )),
            Err(e) => log_line(&format!(
                "Unable to remove the VIPs of VRRP child process({pid}): {e}"
            )),
        }
    }

    /// Starts an orderly stop: SIGTERM to every child.
    fn begin_stop(&mut self, log: bool) {
        if self.stopping.is_some() {
            return;
        }
        if log {
            log_line("Stopping");
        }
        sdnotify::stopping();
        let wait = self.config.global.child_wait_time.unwrap_or(CHILD_WAIT);
        self.stopping = Some(Instant::now() + wait);
        for c in &mut self.children {
            c.restart_at = None;
            if let Some(pid) = c.pid {
                kill(pid, libc::SIGTERM);
            }
        }
    }

    /// SIGKILLs the children still running after `child_wait_time`.
    fn force_kill(&mut self) {
        for i in 0..self.children.len() {
            let Some(pid) = self.children[i].pid else {
                continue;
            };
            log_line(&format!(
                "{} child process failed to die - forcing termination",
                self.children[i].role.name()
            ));
            kill(pid, libc::SIGKILL);
            let mut status = 0;
            // SAFETY: blocking waitpid on our own child, just killed.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            self.child_died(i, pid, Death::Signaled(libc::SIGKILL));
        }
    }

    fn finish(self) -> u8 {
        let me = std::process::id();
        pidfile::remove(&self.opts.pids.parent, me);
        if crate::daemon::log::detail() {
            let (su, ss) = process::rusage(libc::RUSAGE_SELF);
            let (cu, cs) = process::rusage(libc::RUSAGE_CHILDREN);
            log_line(&format!(
                "CPU usage (self/children) user: {su}/{cu} system: {ss}/{cs}"
            ));
        }
        log_line(&format!("Stopped {VERSION_LINE}"));
        self.exit_code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_keepalived_s() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(2);
        let seq: Vec<_> = (0..9).map(|_| b.delay(quick).unwrap()).collect();
        assert_eq!(seq, [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        // A child that ran for a minute restarts at once and resets it.
        assert_eq!(b.delay(Duration::from_secs(60)), None);
        assert_eq!(b.delay(quick), Some(0));
    }

    #[test]
    fn permanent_exit_codes() {
        assert_eq!(Death::Exited(1).permanent(), Some("FATAL"));
        assert_eq!(Death::Exited(2).permanent(), Some("CONFIG"));
        assert_eq!(Death::Exited(4).permanent(), Some("missing permission"));
        assert_eq!(Death::Exited(3).permanent(), None);
        assert_eq!(Death::Exited(0).permanent(), None);
        assert_eq!(Death::Signaled(9).permanent(), None);
        assert!(!Death::Exited(0).abnormal());
        assert!(Death::Exited(3).abnormal() && Death::Signaled(9).abnormal());
    }
}

//! The `keepalived` binary.

use std::ffi::OsString;
use std::io::Write;

/// A faster allocator: parsing large configurations is allocation-bound.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options must be set before its own start-up constructor
/// (priority 101) creates the first arena: this one runs just before it.
#[used]
#[link_section = ".init_array.00100"]
static ALLOCATOR_OPTIONS: extern "C" fn() = {
    extern "C" fn set() {
        keepalived_rs::daemon::allocator_options();
    }
    set
};
use std::process::ExitCode;

use clap::Parser;
use keepalived_rs::cli::{self, Cli};
use keepalived_rs::config::{self, ReaderOptions};
use keepalived_rs::daemon::core_dump::{self, CoreDump};
use keepalived_rs::daemon::log::{self, log_line, Ident, LogConfig};
use keepalived_rs::daemon::netns;
use keepalived_rs::daemon::parent;
use keepalived_rs::daemon::pidfile::{self, PidFiles};
use keepalived_rs::daemon::process::{self, Role};
use keepalived_rs::sys;

fn main() -> ExitCode {
    // No transparent huge pages: mimalloc asks for them on its arena, and
    // a kernel that grants them (THP `always`, as Debian's) backs each
    // 2 MiB region touched whole, which cost the checker of 10 000 real
    // servers a third of its RSS. Inherited by the children across fork
    // and exec; scripts get the system's setting back (notify::exec).
    // SAFETY: prctl(PR_SET_THP_DISABLE) only sets a flag of this process.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    let args: Vec<OsString> = std::env::args_os().collect();
    // genhash: called as `genhash` (Debian's /usr/bin/genhash is a link
    // to keepalived) or with `-T`/`--genhash` first; the rest are
    // genhash's own options.
    let as_genhash = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        == Some("genhash".as_ref());
    let t_flag = matches!(
        args.get(1).and_then(|a| a.to_str()),
        Some("-T" | "--genhash")
    );
    if as_genhash || t_flag {
        let skip = if as_genhash { 1 } else { 2 };
        let rest: Vec<String> = args[skip..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        // The usage names argv[0] as given, as keepalived's does.
        let argv0 = args
            .first()
            .map_or("keepalived".into(), |a| a.to_string_lossy());
        let prog = if as_genhash {
            argv0.into_owned()
        } else {
            format!("{argv0} --genhash")
        };
        let code = keepalived_rs::check::genhash::main_with_args(&prog, &rest);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = match Cli::try_parse_from(cli::attach_optional_args(&args)) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::{ContextKind, ErrorKind};
            match e.kind() {
                ErrorKind::UnknownArgument => {
                    let arg = e
                        .get(ContextKind::InvalidArg)
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    eprintln!("Unknown option {arg}");
                }
                _ => eprintln!("{}", e.render().to_string().trim_end()),
            }
            return ExitCode::from(cli::EXIT_USAGE as u8);
        }
    };
    if cli.help {
        eprint!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    if cli.version {
        eprint!("{}", cli::version_banner());
        return ExitCode::SUCCESS;
    }
    if let Some(name) = &cli.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::from(1)
            }
        };
    }
    if !cli.extra.is_empty() {
        eprintln!("Unexpected argument(s): {} ", cli.extra.join(" "));
    }
    if let Some(log) = &cli.config_test {
        let loaded = config::load(&cli.conf_file(), reader_options(&cli));
        let mut out: Box<dyn Write> = if log.is_empty() {
            Box::new(std::io::stderr())
        } else {
            match std::fs::File::create(log) {
                Ok(f) => Box::new(f),
                Err(_) => Box::new(std::io::stderr()),
            }
        };
        for d in &loaded.report.diags {
            let _ = writeln!(out, "{d}");
        }
        if cli.dump_conf {
            let _ = writeln!(out, "{:#?}", loaded.config);
        }
        let code = loaded.report.exit_code() as u8;
        // The process ends here: freeing a large model piece by piece
        // would only cost time.
        std::mem::forget(loaded);
        return ExitCode::from(code);
    }
    if let Some(role) = &cli.rs_child {
        return child_main(role, &cli);
    }
    parent_main(&cli, args)
}

fn reader_options(cli: &Cli) -> ReaderOptions {
    ReaderOptions {
        config_id: Some(cli.config_id.clone().unwrap_or_else(sys::default_config_id)),
        all_config: cli.all_config,
        random_seed: None,
        net_namespace: cli.namespace.is_some(),
    }
}

/// Reads the configuration, logging what keepalived's parent logs about
/// it. `None` on a fatal error.
fn load_logged(cli: &Cli) -> Option<config::Config> {
    load_logged_from(cli, config::load(&cli.conf_file(), reader_options(cli)))
}

/// Logs what keepalived's parent logs about a configuration just read.
fn load_logged_from(cli: &Cli, loaded: config::Loaded) -> Option<config::Config> {
    let path = cli.conf_file();
    log_line(&format!("Configuration file {}", path.display()));
    for d in &loaded.report.diags {
        log_line(&d.headline());
    }
    for n in &loaded.notes {
        log_line(n);
    }
    for l in loaded.report.unsupported_lines() {
        log_line(&l);
    }
    if loaded.report.fatal {
        return None;
    }
    let mut config = loaded.config;
    apply_snmp_options(
        cli.snmp,
        cli.snmp_agent_socket.as_deref(),
        &mut config.global,
    );
    if cli.dump_conf {
        for l in format!("{:#?}", config).lines() {
            log_line(l);
        }
    }
    Some(config)
}

/// `-x` and `-A` as keepalived applies them to its global data (its data
/// dump shows them): `-x` enables the VRRP, checker and RFC MIBs, `-A`
/// names the agent socket over the configuration's.
fn apply_snmp_options(snmp: bool, socket: Option<&str>, g: &mut config::global::GlobalDefs) {
    if snmp {
        for k in [
            "enable_snmp_vrrp",
            "enable_snmp_checker",
            "enable_snmp_rfcv2",
            "enable_snmp_rfcv3",
        ] {
            if !g.snmp.iter().any(|s| s == k) {
                g.snmp.push(k.to_string());
            }
        }
    }
    if let Some(s) = socket {
        g.snmp_socket = Some(s.to_string());
    }
}

/// There is no SNMP agent yet: `-x` and `-A` are said, once at start, to
/// have no effect rather than ignored silently.
fn log_snmp_unsupported(cli: &Cli) {
    const NOT_YET: &str = "is not supported by this keepalived yet - no SNMP agent is started";
    if cli.snmp {
        log_line(&format!("SNMP (-x) {NOT_YET}"));
    }
    if let Some(a) = &cli.snmp_agent_socket {
        log_line(&format!("SNMP agent socket (-A {a}) {NOT_YET}"));
    }
}

/// Reads the configuration again for a reload. With `reload_check_config
/// LOG_FILE` a configuration with errors has its messages written to
/// LOG_FILE instead of the log, as keepalived does; either way the caller
/// keeps the running configuration when this returns `None`.
fn reload_logged(cli: &Cli) -> Option<config::Config> {
    let path = cli.conf_file();
    let loaded = config::load(&path, reader_options(cli));
    if let (true, Some(Some(file))) = (
        loaded.report.fatal,
        &loaded.config.global.reload_check_config,
    ) {
        let text: String = loaded
            .report
            .diags
            .iter()
            .map(|d| format!("{d}\n"))
            .collect();
        if let Err(e) = std::fs::write(file, text) {
            log_line(&format!("Unable to write {file}: {e}"));
        }
        log_line(&format!(
            "New config failed validation, see {file} for details"
        ));
        return None;
    }
    let config = load_logged_from(cli, loaded)?;
    apply_umask(cli, config.global.umask);
    Some(config)
}

/// What keepalived appends to its syslog idents: `_NAMESPACE_INSTANCE`
/// (`make_syslog_ident`), without the leading underscore.
fn instance_name(config: &config::Config) -> Option<String> {
    let g = &config.global;
    let parts: Vec<&str> = [g.net_namespace.as_deref(), g.instance.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join("_"))
}

/// keepalived's file mode mask when neither `-u` nor `umask` sets one
/// (lib/utils.c `umask_val`; its man page's 022 is wrong).
const DEFAULT_UMASK: libc::mode_t = 0o177;

/// `global_defs { umask }`, unless a valid `-u` set it (keepalived's
/// umask_handler; the mask stays when a reload removes the keyword).
fn apply_umask(cli: &Cli, conf: Option<u32>) {
    let Some(m) = conf else {
        return;
    };
    if cli.umask.as_deref().and_then(parse_umask).is_some() {
        log_line("umask command line option specified, ignoring config option");
        return;
    }
    // SAFETY: umask only changes this process's file mode mask.
    unsafe { libc::umask(m as libc::mode_t) };
}

/// keepalived's `-u`: a number in C notation (`0177`, `0x7f`, `127`).
fn parse_umask(s: &str) -> Option<libc::mode_t> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    (v <= 0o777).then_some(v as libc::mode_t)
}

/// The parent process: detach (unless `-n`), read the configuration,
/// start and watch the children.
fn parent_main(cli: &Cli, args: Vec<OsString>) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    if !cli.dont_fork {
        // Before anything else: no thread may exist when we fork.
        if let Err(e) = parent::daemonise() {
            eprintln!("Unable to daemonise: {e}");
            return ExitCode::from(1);
        }
    }
    // keepalived's default file mode mask, then `-u` (children, scripts
    // and the files of all of them inherit it).
    let umask = cli
        .umask
        .as_deref()
        .map(|m| parse_umask(m).ok_or_else(|| eprint!("Invalid --umask option {m}")));
    // SAFETY: umask only changes this process's file mode mask.
    unsafe { libc::umask(umask.and_then(Result::ok).unwrap_or(DEFAULT_UMASK)) };
    log::init(Ident::Parent, LogConfig::from_cli(cli));
    if let Some(f) = &cli.log_file {
        log::open_file(f, None, None, None);
    }
    parent::log_start(&args);
    let mut core = CoreDump::init(cli.core_dump, cli.core_dump_pattern.as_deref());
    log_snmp_unsupported(cli);
    let code = parent_configured(cli, args, cwd);
    // keepalived puts core_pattern back on every way out.
    core.restore();
    ExitCode::from(code)
}

/// The parent once started: reads the configuration, enters its
/// namespace and runs; the exit code.
fn parent_configured(cli: &Cli, args: Vec<OsString>, cwd: std::path::PathBuf) -> u8 {
    // `-s`: the configuration is read inside the namespace, where its
    // interfaces are (keepalived's parent does not check them either).
    let mut early = cli.namespace.as_deref().map(netns::enter);
    let Some(mut config) = load_logged(cli) else {
        log_line(&format!("Stopped {}", parent::VERSION_LINE));
        return parent::EXIT_CONFIG as u8;
    };
    if let Some(ns) = &cli.namespace {
        if let Some(old) = &config.global.net_namespace {
            log_line(&format!(
                "Overriding config net_namespace '{old}' with command line namespace '{ns}'"
            ));
        }
        config.global.net_namespace = Some(ns.clone());
    }
    apply_umask(cli, config.global.umask);
    if let Some(name) = &config.global.process_name {
        keepalived_rs::daemon::sched::set_name(name);
    }
    if let Some(name) = instance_name(&config) {
        log_line(&format!("Changing syslog ident to Keepalived_{name}"));
        log::set_ident_suffix(&name);
        if let Some(f) = &cli.log_file {
            let g = &config.global;
            log::open_file(f, None, g.net_namespace.as_deref(), g.instance.as_deref());
        }
    }
    // Before any thread exists: the mount namespace needs a single thread.
    let ns = config.global.net_namespace.clone();
    let _netns = match (early.take(), ns.as_deref()) {
        (Some(r), _) => Some(r),
        (None, Some(n)) => Some(netns::enter(n)),
        (None, None) => None,
    };
    if let (Some(Err(e)), Some(n)) = (&_netns, &ns) {
        log_line(&e.to_string());
        log_line(&format!("Unable to set network namespace {n} - exiting"));
        log_line(&format!("Stopped {}", parent::VERSION_LINE));
        // keepalived 2.2.7 exits 0 here (measured).
        return 0;
    }
    let opts = parent::Options::new(cli, &config, args, cwd);
    let reload = || reload_logged(cli);
    parent::run(opts, config, &reload)
}

/// A child process (`--rs-child=ROLE`, started by the parent).
fn child_main(role: &str, cli: &Cli) -> ExitCode {
    let Some(role) = Role::from_flag(role) else {
        eprintln!("Unknown child role {role}");
        return ExitCode::from(1);
    };
    process::setup(role);
    core_dump::child_init();
    log::init(role.ident(), LogConfig::from_cli(cli));
    keepalived_rs::daemon::addr_monitor::set_enabled(cli.address_monitoring);
    // The parent has logged the messages about the configuration. The
    // path is made absolute for reloads, which run from "/". SIGHUP reads
    // the same file with the same options again.
    let conf = std::path::absolute(cli.conf_file()).unwrap_or_else(|_| cli.conf_file());
    let opts = reader_options(cli);
    let snmp = (cli.snmp, cli.snmp_agent_socket.clone());
    let load = move || {
        let mut l = config::load(&conf, opts.clone());
        apply_snmp_options(snmp.0, snmp.1.as_deref(), &mut l.config.global);
        l
    };
    let reload: keepalived_rs::daemon::checker::Loader = {
        let load = load.clone();
        std::sync::Arc::new(move || Some(load()).filter(|l| !l.report.fatal).map(|l| l.config))
    };
    // Only the configuration itself is kept, not the report about it.
    let mut config = match load() {
        l if l.report.fatal => return ExitCode::from(parent::EXIT_CONFIG as u8),
        l => l.config,
    };
    if let Some(ns) = &cli.namespace {
        config.global.net_namespace = Some(ns.clone());
    }
    if let Some(name) = instance_name(&config) {
        log::set_ident_suffix(&name);
    }
    // keepalived applies them at the end of start_vrrp/start_check/start_bfd.
    keepalived_rs::daemon::sched::apply(&config.global, role);
    if let Some(f) = &cli.log_file {
        // keepalived's children append their program to the file name.
        let prog = match role {
            Role::Vrrp => "vrrp",
            Role::Checker => "check",
            Role::Bfd => "bfd",
        };
        let g = &config.global;
        log::open_file(
            f,
            Some(prog),
            g.net_namespace.as_deref(),
            g.instance.as_deref(),
        );
    }
    if !cli.dont_fork {
        // Started from the user's directory to find a relative -f.
        let _ = std::env::set_current_dir("/");
    }
    let pids = PidFiles::resolve(cli, &config.global);
    let pid_file = match role {
        Role::Vrrp => pids.vrrp,
        Role::Checker => pids.checker,
        Role::Bfd => pids.bfd,
    };
    let me = std::process::id();
    if let Err(e) = pidfile::write(&pid_file, me) {
        log_line(&format!(
            "{} child process: cannot write pidfile {} ({e})",
            role.name(),
            pid_file.display()
        ));
    }
    let code = match role {
        Role::Vrrp => {
            let opts = keepalived_rs::daemon::vrrp::DriverOptions {
                dont_release_vips: cli.dont_release_vrrp,
                detail: cli.log_detail,
            };
            keepalived_rs::daemon::vrrp::run(config, &opts, &*reload)
        }
        Role::Checker => {
            keepalived_rs::daemon::checker::run(config, !cli.dont_release_ipvs, reload)
        }
        Role::Bfd => keepalived_rs::daemon::bfd::run(&config, cli.log_detail, &*reload),
    };
    pidfile::remove(&pid_file, me);
    process::log_stopped_usage();
    ExitCode::from(code)
}

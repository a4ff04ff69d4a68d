//! The command line, spelled exactly as keepalived 2.2.7's `getopt_long`
//! table so that unit files, `/etc/default/keepalived` and exporters keep
//! working unchanged.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// Default configuration file, as keepalived's.
pub const DEFAULT_CONF: &str = "/etc/keepalived/keepalived.conf";

/// Exit code for a bad command line (keepalived exits 1).
pub const EXIT_USAGE: i32 = 1;

/// keepalived's command line.
#[derive(Debug, Clone, Parser, Default)]
#[command(
    name = "keepalived",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    override_usage = "keepalived [OPTION...]"
)]
pub struct Cli {
    /// Use the specified configuration file (default '/etc/keepalived/keepalived.conf')
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub use_file: Option<PathBuf>,
    /// Only run with VRRP subsystem
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    /// Only run with Health-checker subsystem
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Don't run BFD subsystem
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Force all child processes to run, even if have no configuration
    #[arg(long = "all")]
    pub all: bool,
    /// Log messages to local console
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
    #[arg(
        short = 'S',
        long = "log-facility",
        value_name = "([0-7]|local[0-7]|user|daemon)"
    )]
    pub log_facility: Option<String>,
    /// Also log to FILE (default /tmp/keepalived.log); a relative name is
    /// in `$TMPDIR` (else /tmp), as keepalived built with --enable-log-file.
    #[arg(short = 'g', long = "log-file", value_name = "FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "keepalived.log")]
    pub log_file: Option<String>,
    /// Flush log file on write (every line is written at once anyway)
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// Don't log via syslog
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// umask for file creation (in numeric form)
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Drop VIP on transition from signal.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Don't remove VRRP VIPs and VROUTEs on daemon stop
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Don't remove IPVS topology on daemon stop
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Don't respawn child processes
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Don't fork the daemon process
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Dump the configuration data
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Use specified pidfile for parent process
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,
    /// Use specified pidfile for VRRP child process
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    /// Enter into genhash utility mode (this should be the first option used).
    #[arg(short = 'T', long = "genhash")]
    pub genhash: bool,
    /// Use specified pidfile for checkers child process
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    /// Report all address additions/deletions notified via netlink
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// Use specified pidfile for BFD child process
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,
    /// Enable SNMP subsystem
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// Use the specified socket for master agent
    #[arg(short = 'A', long = "snmp-agent-socket", value_name = "FILE")]
    pub snmp_agent_socket: Option<String>,
    /// Run in network namespace NAME (overrides config)
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Produce core dump if terminate abnormally
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
    #[arg(short = 'M', long = "core-dump-pattern", value_name = "PATN", num_args = 0..=1,
          require_equals = true, default_missing_value = "core")]
    pub core_dump_pattern: Option<String>,
    /// Error if any configuration file missing (same as includea)
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Skip any configuration lines beginning '@' that don't match id
    #[arg(short = 'i', long = "config-id", value_name = "id")]
    pub config_id: Option<String>,
    /// Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Check the configuration for obvious errors, output to stderr by default
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// Display the version number
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub version: bool,
    /// Display this help message
    #[arg(short = 'h', long = "help", action = ArgAction::SetTrue)]
    pub help: bool,
    /// Internal: this process is a child of the daemon (`vrrp` or
    /// `checker`), started by the parent. Not a keepalived option.
    #[arg(
        long = "rs-child",
        hide = true,
        value_name = "ROLE",
        require_equals = true
    )]
    pub rs_child: Option<String>,
    /// Stray words: keepalived reports them and carries on.
    #[arg(hide = true, trailing_var_arg = false)]
    pub extra: Vec<String>,
}

impl Cli {
    /// The configuration file to read.
    pub fn conf_file(&self) -> PathBuf {
        self.use_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONF))
    }
}

/// Rewrites getopt's attached optional arguments of short options
/// (`-MPATN`, `-gFILE`, `-tLOG`, also at the end of a cluster: `-nMcore`)
/// into their long `--name=VALUE` form, which the parser understands.
/// A short option that takes a required argument ends the cluster (the
/// rest is its value), as getopt reads it; `--` ends the options.
pub fn attach_optional_args(args: &[std::ffi::OsString]) -> Vec<std::ffi::OsString> {
    const REQUIRED: &str = "fSupcrbAsi";
    let mut out = Vec::with_capacity(args.len());
    let mut options = true;
    for (i, a) in args.iter().enumerate() {
        let text = a.to_str().filter(|_| options && i > 0);
        let Some(t) = text.and_then(|t| t.strip_prefix('-')) else {
            out.push(a.clone());
            continue;
        };
        if t == "-" {
            options = false;
        }
        if t.starts_with('-') || t.is_empty() {
            out.push(a.clone());
            continue;
        }
        let mut split = None;
        for (j, ch) in t.char_indices() {
            if REQUIRED.contains(ch) {
                break;
            }
            let long = match ch {
                'g' => "log-file",
                'M' => "core-dump-pattern",
                't' => "config-test",
                _ => continue,
            };
            let value = &t[j + 1..];
            if !value.is_empty() {
                split = Some((j, long, value));
            }
            break;
        }
        match split {
            Some((j, long, value)) => {
                if j > 0 {
                    out.push(format!("-{}", &t[..j]).into());
                }
                out.push(format!("--{long}={value}").into());
            }
            None => out.push(a.clone()),
        }
    }
    out
}

/// keepalived 2.2.7's `--help` text, byte for byte (it goes to stderr).
pub const USAGE: &str = "\
Usage: keepalived [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
      --flush-log-file         Flush log file on write
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
  -v, --version                Display the version number
  -h, --help                   Display this help message
";

/// The signal a `--signum` name stands for, as keepalived maps them (glibc
/// numbering for the real-time ones, computed at run time as keepalived does).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => libc::SIGRTMAX() - 1,
        "JSON" => libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

/// The version banner printed by `-v` (to stderr, as keepalived). The first
/// line keeps keepalived's shape because exporters parse the version from it.
pub fn version_banner() -> String {
    format!(
        "Keepalived v2.2.7 (01/16,2022)\n\n\
         keepalived-rs {}: a drop-in replacement for keepalived 2.2.x written in Rust\n\
         Licensed MIT OR Apache-2.0\n\n\
         Running on {}\n",
        env!("CARGO_PKG_VERSION"),
        crate::sys::uname_line()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("keepalived").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn long_options_take_equals_forms() {
        let c = parse(&[
            "--use-file=/x.conf",
            "--log-facility=local3",
            "--config-test=/tmp/l",
        ]);
        assert_eq!(c.use_file.unwrap().to_str(), Some("/x.conf"));
        assert_eq!(c.log_facility.as_deref(), Some("local3"));
        assert_eq!(c.config_test.as_deref(), Some("/tmp/l"));
    }

    #[test]
    fn short_options_match_keepalived() {
        let c = parse(&[
            "-f", "/a", "-n", "-l", "-D", "-S", "7", "-t", "-P", "-C", "-i", "node",
        ]);
        assert!(c.dont_fork && c.log_console && c.log_detail && c.vrrp && c.check);
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.config_id.as_deref(), Some("node"));
        let c = parse(&[
            "-p", "/p", "-r", "/r", "-c", "/c", "-b", "/b", "-R", "-V", "-I", "-X",
        ]);
        assert_eq!(c.checkers_pid.unwrap().to_str(), Some("/c"));
        assert!(c.dont_respawn && c.dont_release_vrrp && c.dont_release_ipvs && c.release_vips);
    }

    #[test]
    fn config_test_optional_argument_is_attached_only() {
        // getopt's optional arguments must be attached: `-t foo` leaves `foo`
        // as a stray word.
        let c = parse(&["-t", "foo"]);
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.extra, vec!["foo"]);
    }

    /// getopt: `-MPATN` and `-gFILE` carry their optional argument
    /// attached, even at the end of a cluster; a required argument ends it.
    #[test]
    fn attached_optional_arguments_are_read_as_getopt() {
        let v = |a: &[&str]| {
            let args: Vec<std::ffi::OsString> = std::iter::once("k")
                .chain(a.iter().copied())
                .map(Into::into)
                .collect();
            let out = attach_optional_args(&args);
            Cli::try_parse_from(out).unwrap()
        };
        let c = v(&["-M/tmp/core.%p", "-g/tmp/k.log", "-nl"]);
        assert_eq!(c.core_dump_pattern.as_deref(), Some("/tmp/core.%p"));
        assert_eq!(c.log_file.as_deref(), Some("/tmp/k.log"));
        assert!(c.dont_fork && c.log_console);
        let c = v(&["-nMcore2", "-g", "-M"]);
        assert_eq!(c.core_dump_pattern.as_deref(), Some("core"));
        assert_eq!(c.log_file.as_deref(), Some("keepalived.log"));
        let c = v(&["-fM.conf", "-tlog"]);
        assert_eq!(c.use_file.unwrap().to_str(), Some("M.conf"));
        assert_eq!(c.config_test.as_deref(), Some("log"));
    }

    /// getopt lets an option come again, the last one counting.
    #[test]
    fn a_repeated_option_takes_the_last_value() {
        let c = parse(&["-D", "-D", "-f", "/a", "-f", "/b"]);
        assert!(c.log_detail);
        assert_eq!(c.use_file.unwrap().to_str(), Some("/b"));
    }

    #[test]
    fn signum_numbers_match_glibc_keepalived() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("foo"), None);
    }

    #[test]
    fn unknown_option_is_an_error() {
        assert!(Cli::try_parse_from(["keepalived", "--bogus"]).is_err());
    }
}

//! From configuration to runnable checkers: keepalived's defaults resolved
//! (checker, then real server, then virtual server, then the checker
//! type's default) once, so the probes and state machines never look at the
//! configuration again.

use std::net::SocketAddr;
use std::time::Duration;

use super::body_regex::BodyRegex;
use super::http::{HttpSpec, UrlSpec};
use super::pool::CheckerId;
use super::probe::{Local, Target};
use super::proto::{UdpSpec, DEFAULT_HELO};
use super::sched::{CheckerSm, Policy, Timing, WordKind, Wording};
use crate::config::check::{Checker, CheckerKind, ConnOpts, DnsType};
use crate::config::lvs::{Micros, RealServer, VirtualServer, VsAddr};
use crate::config::Config;
use crate::notify::exec::{RunAs, ScriptCommand};

/// keepalived's default `delay_loop`.
pub const DEFAULT_DELAY_LOOP: Duration = Duration::from_secs(60);
/// keepalived's default `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a checker probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeSpec {
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET / SSL_GET.
    Http(HttpSpec),
    /// SMTP_CHECK; the deprecated `host` blocks are extra targets that must
    /// all answer.
    Smtp {
        /// `helo_name`.
        helo: String,
        /// Targets of `host { }` blocks.
        hosts: Vec<Target>,
    },
    /// MISC_CHECK.
    Misc {
        /// The script, ready to run.
        cmd: ScriptCommand,
        /// `misc_timeout` (default `delay_loop`).
        timeout: Duration,
    },
    /// DNS_CHECK.
    Dns {
        /// `name`.
        name: String,
        /// `type`.
        qtype: DnsType,
    },
    /// UDP_CHECK.
    Udp(UdpSpec),
    /// PING_CHECK.
    Ping,
    /// FILE_CHECK: the tracked file and its weight multiplier.
    File {
        /// Path of the `track_file`.
        path: String,
        /// Weight multiplier (0: non-zero value means down).
        weight: i64,
        /// `reverse`.
        reverse: bool,
    },
    /// BFD_CHECK: follows a `bfd_instance`'s session as the BFD process
    /// reports it ([`crate::check::driver::Handle::bfd_event`]).
    Bfd {
        /// The `bfd_instance` name.
        name: String,
        /// The real server as keepalived's messages show it.
        rs: String,
    },
}

/// One runnable checker.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// Where it sits in the configuration.
    pub id: CheckerId,
    /// What it probes.
    pub probe: ProbeSpec,
    /// Where it connects.
    pub target: Target,
    /// Its state machine, not started.
    pub sm: CheckerSm,
}

fn pick<T: Copy>(a: Option<T>, b: Option<T>, c: Option<T>) -> Option<T> {
    a.or(b).or(c)
}

fn dur(m: Option<Micros>) -> Option<Duration> {
    m.map(Micros::duration)
}

fn vs_port(vs: &VirtualServer) -> u16 {
    match vs.addr {
        VsAddr::Addr(_, p) | VsAddr::Group(_, p) => p,
        VsAddr::Fwmark(_) => 0,
    }
}

fn proto_name(vs: &VirtualServer) -> &'static str {
    use crate::config::lvs::Protocol;
    match vs.protocol {
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        _ => "tcp",
    }
}

fn target(co: &ConnOpts, rs: &RealServer, vs: &VirtualServer) -> Target {
    let port = co
        .connect_port
        .unwrap_or(if rs.port != 0 { rs.port } else { vs_port(vs) });
    let addr = SocketAddr::new(co.connect_ip.unwrap_or(rs.ip), port);
    let timeout = pick(
        dur(co.connect_timeout),
        dur(rs.connect_timeout),
        dur(vs.connect_timeout),
    )
    .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    let local = Local {
        bind: co
            .bindto
            .map(|ip| SocketAddr::new(ip, co.bind_port.unwrap_or(0)))
            .or_else(|| {
                co.bind_port.map(|p| {
                    let any: std::net::IpAddr = if addr.is_ipv6() {
                        std::net::Ipv6Addr::UNSPECIFIED.into()
                    } else {
                        std::net::Ipv4Addr::UNSPECIFIED.into()
                    };
                    SocketAddr::new(any, p)
                })
            }),
        bind_if: co.bind_if.clone(),
        fwmark: co.fwmark,
    };
    Target {
        addr,
        timeout,
        local: (local != Local::default()).then(|| Box::new(local)),
    }
}

/// keepalived's `FMT_CHK`: the real server (not `connect_ip` /
/// `connect_port`), as its log lines name a checker.
fn fmt_checker(rs: &RealServer, vs: &VirtualServer) -> String {
    format!("[{}]:{}:{}", rs.ip, proto_name(vs), rs.port)
}

/// Everything needed to build checkers besides the LVS blocks.
#[derive(Debug, Clone, Copy)]
pub struct SpecOptions {
    /// User for MISC_CHECK scripts without `user` (global `script_user`,
    /// else keepalived's default).
    pub script_user: RunAs,
}

/// Builds every checker of the configuration; the strings are warnings
/// (checkers that cannot run here).
pub fn build(cfg: &Config, opts: SpecOptions) -> (Vec<CheckSpec>, Vec<String>) {
    // Sized at once: with thousands of checkers, doubling as it grows
    // would take up to twice the memory at the checker's start.
    let count = cfg
        .lvs
        .virtual_servers
        .iter()
        .filter(|vs| !vs.dropped)
        .flat_map(|vs| &vs.real_servers)
        .map(|rs| rs.checkers.len())
        .sum();
    let mut out = Vec::with_capacity(count);
    let mut warn = Vec::new();
    let log_all_global = cfg.global.checker_log_all_failures;
    for (vi, vs) in cfg.lvs.virtual_servers.iter().enumerate() {
        if vs.dropped {
            continue;
        }
        for (ri, rs) in vs.real_servers.iter().enumerate() {
            for (ci, c) in rs.checkers.iter().enumerate() {
                let id = CheckerId {
                    vs: vi,
                    rs: ri,
                    checker: ci,
                };
                match one(cfg, vs, rs, c, id, opts, log_all_global) {
                    Ok(s) => out.push(s),
                    Err(w) => warn.push(w),
                }
            }
        }
    }
    (out, warn)
}

fn one(
    cfg: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    c: &Checker,
    id: CheckerId,
    opts: SpecOptions,
    log_all_global: bool,
) -> Result<CheckSpec, String> {
    let delay_loop = pick(
        dur(c.common.delay_loop),
        dur(rs.delay_loop),
        dur(vs.delay_loop),
    )
    .unwrap_or(DEFAULT_DELAY_LOOP);
    let (retry_default, dbr_default) = match &c.kind {
        CheckerKind::Misc { .. } => (0, Duration::from_secs(1)),
        CheckerKind::Dns { .. } => (3, delay_loop),
        CheckerKind::Http(_) => (1, Duration::from_secs(3)),
        _ => (1, Duration::from_secs(1)),
    };
    let timing = Timing {
        delay_loop,
        delay_before_retry: pick(
            dur(c.common.delay_before_retry),
            dur(rs.delay_before_retry),
            dur(vs.delay_before_retry),
        )
        .unwrap_or(dbr_default),
        retry: pick(c.common.retry, rs.retry, vs.retry).unwrap_or(retry_default),
        warmup: pick(dur(c.common.warmup), dur(rs.warmup), dur(vs.warmup)).unwrap_or(delay_loop),
    };
    let alpha = c.common.alpha.or(rs.alpha).unwrap_or(vs.alpha);
    let log_all = c.common.log_all_failures.unwrap_or(log_all_global);
    let t = target(&c.conn, rs, vs);
    let chk = fmt_checker(rs, vs);
    let (probe, policy, kind) = match &c.kind {
        CheckerKind::Tcp => (
            ProbeSpec::Tcp,
            Policy::Simple {
                first_decides: true,
            },
            WordKind::Tcp,
        ),
        CheckerKind::Http(h) => {
            let vhost = h
                .virtualhost
                .clone()
                .or_else(|| rs.virtualhost.clone())
                .or_else(|| vs.virtualhost.clone());
            let urls: Vec<UrlSpec> = h
                .urls
                .iter()
                .map(|u| UrlSpec {
                    path: u.path.clone().unwrap_or_else(|| "/".into()),
                    digest: u.digest.clone(),
                    status: u.status_codes.clone(),
                    vhost: u.virtualhost.clone().or_else(|| vhost.clone()),
                    regex: u.regex.as_ref().map(|p| {
                        BodyRegex::new(
                            p,
                            &u.regex_options,
                            u.regex_no_match,
                            u.regex_min_offset,
                            u.regex_max_offset,
                        )
                        .0
                    }),
                })
                .collect();
            let paths = urls.iter().map(|u| u.path.clone()).collect();
            (
                ProbeSpec::Http(HttpSpec {
                    ssl: h.ssl,
                    protocol: h.protocol,
                    sni: h.enable_sni,
                    urls,
                }),
                Policy::Http {
                    urls: h.urls.len().max(1),
                    fast_recovery: h.fast_recovery,
                },
                WordKind::Http(paths),
            )
        }
        CheckerKind::Smtp { helo_name, hosts } => (
            ProbeSpec::Smtp {
                helo: helo_name.clone().unwrap_or_else(|| DEFAULT_HELO.into()),
                hosts: hosts.iter().map(|h| target(h, rs, vs)).collect(),
            },
            Policy::Simple {
                first_decides: false,
            },
            WordKind::Smtp,
        ),
        CheckerKind::Misc {
            path,
            timeout,
            dynamic,
        } => {
            let Some(p) = path else {
                return Err(format!("MISC_CHECK of {chk} has no misc_path"));
            };
            let cmd = ScriptCommand::from_script(p, opts.script_user)
                .map_err(|e| format!("MISC_CHECK of {chk}: {e}"))?;
            let script = p.argv.first().cloned().unwrap_or_default();
            (
                ProbeSpec::Misc {
                    cmd,
                    timeout: dur(*timeout).unwrap_or(delay_loop),
                },
                Policy::Misc { dynamic: *dynamic },
                WordKind::Misc {
                    rs: rs.ip.to_string(),
                    script,
                },
            )
        }
        CheckerKind::Dns { qtype, name } => (
            ProbeSpec::Dns {
                name: name.clone().unwrap_or_else(|| ".".into()),
                qtype: *qtype,
            },
            Policy::Simple {
                first_decides: false,
            },
            WordKind::Dns,
        ),
        CheckerKind::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } => (
            ProbeSpec::Udp(UdpSpec {
                payload: payload.clone(),
                require_reply: require_reply.clone(),
                min_len: *min_reply_length as usize,
                max_len: max_reply_length.unwrap_or(255) as usize,
            }),
            Policy::Simple {
                first_decides: true,
            },
            WordKind::Udp,
        ),
        CheckerKind::Ping => (
            ProbeSpec::Ping,
            Policy::Simple {
                first_decides: true,
            },
            WordKind::Ping { vs: vs.fmt() },
        ),
        CheckerKind::File { track_file, weight } => {
            let name = track_file.clone().unwrap_or_default();
            let tf = cfg.vrrp.track_files.iter().find(|f| f.name == name);
            let Some(path) = tf.and_then(|f| f.file.clone()) else {
                return Err(format!("FILE_CHECK of {chk}: track_file {name} not found"));
            };
            let (w, rev) = match weight {
                Some((w, r)) => (*w as i64, *r),
                None => tf.map_or((1, false), |f| (f.weight.value as i64, f.weight.reverse)),
            };
            (
                ProbeSpec::File {
                    path,
                    weight: w,
                    reverse: rev,
                },
                Policy::Simple {
                    first_decides: false,
                },
                WordKind::Tcp,
            )
        }
        CheckerKind::Bfd { name } => (
            ProbeSpec::Bfd {
                name: name.clone().unwrap_or_default(),
                rs: chk.clone(),
            },
            Policy::Simple {
                first_decides: false,
            },
            WordKind::Tcp,
        ),
    };
    let sm = CheckerSm::new(
        policy,
        timing,
        Wording { target: chk, kind },
        alpha,
        log_all,
    );
    Ok(CheckSpec {
        id,
        probe,
        target: t,
        sm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};

    fn specs(text: &str) -> Vec<CheckSpec> {
        let l = load_str("t.conf", text, ReaderOptions::default());
        build(
            &l.config,
            SpecOptions {
                script_user: RunAs::current(),
            },
        )
        .0
    }

    #[test]
    fn defaults_follow_keepalived() {
        let s = specs(
            "virtual_server 10.0.0.1 80 {
  delay_loop 10
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 {
    TCP_CHECK { }
    HTTP_GET { url { path /x } }
    MISC_CHECK { misc_path /bin/true }
    DNS_CHECK { }
  }
  real_server 10.0.0.3 8080 {
    retry 4
    TCP_CHECK { connect_port 81
      delay_before_retry 2 }
  }
}
",
        );
        let t = |i: usize| s[i].sm.timing();
        let sec = Duration::from_secs;
        assert_eq!((t(0).retry, t(0).delay_before_retry), (1, sec(1)));
        assert_eq!((t(1).retry, t(1).delay_before_retry), (1, sec(3)));
        assert_eq!((t(2).retry, t(2).delay_before_retry), (0, sec(1)));
        assert_eq!((t(3).retry, t(3).delay_before_retry), (3, sec(10)));
        assert_eq!(t(0).warmup, sec(10));
        assert_eq!(s[0].target.timeout, sec(5));
        assert_eq!((t(4).retry, t(4).delay_before_retry), (4, sec(2)));
        assert_eq!(s[4].target.addr, "10.0.0.3:81".parse().unwrap());
        // Log lines name the real server, not connect_port (keepalived
        // 2.2.7's FMT_CHK, seen in the end-to-end VM test).
        assert_eq!(s[4].sm.wording().target, "[10.0.0.3]:tcp:8080");
        match &s[1].probe {
            ProbeSpec::Http(h) => assert_eq!(h.urls[0].path, "/x"),
            p => panic!("{p:?}"),
        }
    }
}

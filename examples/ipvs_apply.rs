//! Programs IPVS from a keepalived.conf the way keepalived's checker would
//! with every real server alive, without running any checker.
//!
//! ```text
//! ipvs_apply [--down IP:PORT]... [--dry-run] CONFIG   apply (reconcile)
//! ipvs_apply --stop CONFIG                           remove CONFIG's objects
//! ipvs_apply --flush                                 remove every service
//! ```
//! `--down` marks a real server failed in every virtual server it serves
//! (IPv6 as `[addr]:port`); `--dry-run` prints the plan without a socket.
//! `lvs_timeouts`, `lvs_flush` and `lvs_flush_on_stop` are honoured;
//! `--sync-state master|backup` also starts (with `--stop`, stops) the
//! `lvs_sync_daemon`, a VRRP-side job in keepalived. Each change is
//! printed as `CMD object ...`; exit 1 on any error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use keepalived_rs::config::{self, ReaderOptions};
use keepalived_rs::ipvs::mapping::{desired, sync_daemon, timeouts, Health, RsId};
use keepalived_rs::ipvs::reconcile::{self, Op};
use keepalived_rs::ipvs::{Client, SyncState};

struct Args {
    config: Option<PathBuf>,
    down: Vec<SocketAddr>,
    flush: bool,
    stop: bool,
    dry_run: bool,
    sync: Option<SyncState>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        config: None,
        down: Vec::new(),
        flush: false,
        stop: false,
        dry_run: false,
        sync: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(w) = it.next() {
        match w.as_str() {
            "--down" => {
                let v = it.next().ok_or("--down needs IP:PORT")?;
                a.down
                    .push(v.parse().map_err(|_| format!("--down {v}: not IP:PORT"))?);
            }
            "--flush" => a.flush = true,
            "--stop" => a.stop = true,
            "--dry-run" => a.dry_run = true,
            "--sync-state" => {
                a.sync = Some(match it.next().as_deref() {
                    Some("master") => SyncState::Master,
                    Some("backup") => SyncState::Backup,
                    _ => return Err("--sync-state takes master or backup".into()),
                })
            }
            "-h" | "--help" => return Err(String::new()),
            _ if w.starts_with('-') => return Err(format!("unknown option {w}")),
            _ => a.config = Some(PathBuf::from(w)),
        }
    }
    if a.config.is_none() && !a.flush {
        return Err("a configuration file is needed".into());
    }
    Ok(a)
}

fn usage(msg: &str) -> ExitCode {
    if !msg.is_empty() {
        eprintln!("ipvs_apply: {msg}");
    }
    eprintln!(
        "usage: ipvs_apply [--down IP:PORT]... [--sync-state master|backup] [--dry-run] [--stop] CONFIG | --flush"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => return usage(&m),
    };
    if args.flush && args.config.is_none() {
        return match Client::open().and_then(|mut c| c.flush()) {
            Ok(()) => {
                println!("FLUSH");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let path = args.config.clone().unwrap_or_default();
    let loaded = config::load(&path, ReaderOptions::default());
    for d in &loaded.report.diags {
        eprintln!("config: {}", d.message);
    }
    let lvs = &loaded.config.lvs;

    let mut health = Health::all_alive();
    for down in &args.down {
        let mut found = false;
        for (i, vs) in lvs.virtual_servers.iter().enumerate() {
            for rs in vs
                .real_servers
                .iter()
                .filter(|rs| rs.ip == down.ip() && rs.port == down.port())
            {
                health.set_alive(
                    RsId {
                        vs: i,
                        addr: rs.ip,
                        port: rs.port,
                    },
                    false,
                );
                found = true;
            }
        }
        if !found {
            eprintln!("ipvs_apply: --down {down}: no such real server");
        }
    }
    let want = desired(lvs, &health);

    if args.dry_run {
        let ops = if args.stop {
            reconcile::teardown(&want)
        } else {
            reconcile::diff(&[], &want.services)
        };
        for op in ops {
            println!("{op}");
        }
        return ExitCode::SUCCESS;
    }

    let mut client = match Client::open() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    let g = &loaded.config.global;
    // lvs_flush empties IPVS before start-up; lvs_flush_on_stop flushes
    // everything (or, with VS, deletes the services whole) at stop.
    let flush_now = args.flush
        || (args.stop && g.lvs_flush_on_stop == Some(true))
        || (!args.stop && g.lvs_flush);
    if flush_now {
        match client.flush() {
            Ok(()) => println!("FLUSH"),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    let ops: Vec<Op> = if args.stop {
        match g.lvs_flush_on_stop {
            Some(true) => Vec::new(),
            Some(false) => reconcile::teardown_services(&want),
            None => reconcile::teardown(&want),
        }
    } else {
        match reconcile::current(&mut client) {
            Ok(cur) => reconcile::diff(&cur, &want.services),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let mut report = |r: keepalived_rs::ipvs::Result<()>, what: String| match r {
        Ok(()) => println!("{what}"),
        Err(e) => {
            eprintln!("{e}");
            failed = true;
        }
    };
    if !args.stop {
        if let Some(t) = timeouts(&loaded.config.global.lvs_timeouts) {
            // keepalived reads them first to restore them at exit.
            let was = match client.timeouts() {
                Ok(o) => format!(" (was {} {} {})", o.tcp, o.tcp_fin, o.udp),
                Err(e) => format!(" (GET_CONFIG: {e})"),
            };
            report(
                client.set_timeouts(&t),
                format!(
                    "SET_CONFIG tcp {} tcpfin {} udp {}{was}",
                    t.tcp, t.tcp_fin, t.udp
                ),
            );
        }
    }
    for op in &ops {
        report(client.apply(&op.request()), op.to_string());
    }
    if let Some(d) = args.sync.and_then(|s| sync_daemon(&loaded.config, s)) {
        if args.stop {
            report(
                client.stop_daemon(d.state, d.sync_id),
                format!("DEL_DAEMON id {}", d.sync_id),
            );
        } else {
            report(
                client.start_daemon(&d),
                format!("NEW_DAEMON {} id {}", d.ifname, d.sync_id),
            );
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

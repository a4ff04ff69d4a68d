//! The `keepalived` binary.

use std::io::Write;

/// A faster allocator: parsing large configurations is allocation-bound.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::Parser;
use keepalived_rs::cli::{self, Cli};
use keepalived_rs::config::{self, ReaderOptions};
use keepalived_rs::sys;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&args) {
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
    let opts = ReaderOptions {
        config_id: Some(cli.config_id.clone().unwrap_or_else(sys::default_config_id)),
        all_config: cli.all_config,
        random_seed: None,
    };
    let loaded = config::load(&cli.conf_file(), opts);
    if let Some(log) = &cli.config_test {
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
    if cli.dump_conf {
        println!("{:#?}", loaded.config);
    }
    for d in &loaded.report.diags {
        eprintln!("{}", d.headline());
    }
    if loaded.report.fatal {
        return ExitCode::from(2);
    }
    if !loaded.config.has_vrrp() {
        eprintln!("keepalived-rs: nothing to run (only VRRP instances are run so far)");
        return ExitCode::from(1);
    }
    // For now the VRRP driver runs in this process; the pid files name it
    // for both the parent (-p) and the VRRP child (-r).
    let pid_files: Vec<std::path::PathBuf> = [cli.pid.clone(), cli.vrrp_pid.clone()]
        .into_iter()
        .flatten()
        .collect();
    for p in &pid_files {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            eprintln!("Unable to write pid file {}: {e}", p.display());
        }
    }
    let opts = keepalived_rs::daemon::vrrp::DriverOptions {
        dont_release_vips: cli.dont_release_vrrp,
        detail: cli.log_detail,
    };
    let code = keepalived_rs::daemon::vrrp::run(&loaded.config, &opts);
    for p in &pid_files {
        let _ = std::fs::remove_file(p);
    }
    ExitCode::from(code)
}

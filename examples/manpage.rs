//! Writes the keepalived(8) man page, generated from the command line
//! definition (`keepalived_rs::cli::Cli`), for the Debian package.
//!
//! ```text
//! cargo run --example manpage -- target/man/keepalived.8
//! ```
//!
//! Without an argument the page goes to stdout.

use clap::CommandFactory;

/// The man page, roff source.
pub fn render() -> Vec<u8> {
    let cmd = keepalived_rs::cli::Cli::command()
        .about("Load-balancing and high-availability service (VRRP and IPVS health checking)")
        .long_about(
            "keepalived-rs is a drop-in replacement for keepalived 2.2.x written in Rust: \
             the same command line, configuration file (keepalived.conf), signals, pid \
             files and log messages. A parent process reads the configuration and runs a \
             VRRP child process (when the configuration has vrrp_instance blocks) and a \
             health-checker child process (when it has virtual_server blocks), restarting \
             them if they die.\n\n\
             Signals to the parent: SIGHUP reloads the configuration, SIGTERM and SIGINT \
             stop the daemon, SIGUSR1 writes /tmp/keepalived.data, SIGUSR2 \
             /tmp/keepalived.stats; keepalived --signum=NAME prints the number of the \
             signal for STOP, RELOAD, DATA, STATS, STATS_CLEAR and JSON.",
        )
        .version(env!("CARGO_PKG_VERSION"));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .manual("System Manager's Manual")
        .source(concat!("keepalived-rs ", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .expect("rendering to memory");
    // The synopsis lists hidden positionals too: drop the stray-words one.
    String::from_utf8(out)
        .expect("roff is UTF-8")
        .replace(" [\\fIEXTRA\\fR]", "")
        .into_bytes()
}

#[allow(dead_code)]
fn main() {
    let page = render();
    match std::env::args_os().nth(1) {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).expect("creating the output directory");
            }
            std::fs::write(&path, page).expect("writing the man page");
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&page).expect("writing stdout");
        }
    }
}

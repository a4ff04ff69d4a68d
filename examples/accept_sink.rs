//! A TCP listener for health-check benchmarks (`benches/ipvs_vm_10k.sh`):
//! accepts connections on a range of ports, closes them at once and
//! counts them, so that the checks of a benchmark succeed and their rate
//! can be measured on the listener side.
//!
//! ```text
//! accept_sink ADDR FIRST_PORT COUNT COUNT_FILE
//! ```
//!
//! Listens on `ADDR:FIRST_PORT` .. `ADDR:FIRST_PORT+COUNT-1` (one thread
//! per port, blocking `accept`, backlog 4096) and writes the number of
//! connections accepted so far into `COUNT_FILE` every 100 ms (written
//! aside and renamed, so a reader never sees a partial number).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

fn listen(addr: SocketAddr) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(s)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: accept_sink ADDR FIRST_PORT COUNT COUNT_FILE");
        std::process::exit(2);
    }
    let ip: IpAddr = args[1].parse().expect("ADDR");
    let first: u16 = args[2].parse().expect("FIRST_PORT");
    let count: u16 = args[3].parse().expect("COUNT");
    let file = std::path::PathBuf::from(&args[4]);
    let accepted = Arc::new(AtomicU64::new(0));
    for port in first..first + count {
        let l = match listen(SocketAddr::new(ip, port)) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("accept_sink: {ip}:{port}: {e}");
                std::process::exit(1);
            }
        };
        let n = accepted.clone();
        std::thread::spawn(move || loop {
            match l.accept() {
                Ok((c, _)) => {
                    drop(c);
                    n.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    eprintln!("accept_sink: accept on port {port}: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
    }
    let tmp = file.with_extension("tmp");
    loop {
        let v = accepted.load(Ordering::Relaxed);
        if std::fs::write(&tmp, format!("{v}\n")).is_ok() {
            let _ = std::fs::rename(&tmp, &file);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

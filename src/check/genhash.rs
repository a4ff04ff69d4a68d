//! `genhash` / `keepalived --genhash`: prints the MD5 of a web page's body
//! as HTTP_GET/SSL_GET's `digest` expects it, with keepalived 2.2.7's
//! options, messages and verbose dump layout (captured from its genhash).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::http::{fetch, hex, Response};
use super::probe::{Local, Target};
use super::sched::Failure;
use crate::config::check::HttpProtocol;

/// genhash's usage text after `Usage: PROG` (stderr, exit 1).
pub const USAGE: &str = " COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
";

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-s`.
    pub server: IpAddr,
    /// `-p`.
    pub port: u16,
    /// `-u`.
    pub url: String,
    /// `-S`.
    pub ssl: bool,
    /// `-I`.
    pub sni: bool,
    /// `-V`.
    pub vhost: Option<String>,
    /// `-v`.
    pub verbose: bool,
    /// `-m`.
    pub fwmark: Option<u32>,
    /// `-P`.
    pub protocol: HttpProtocol,
    /// `-t` (default 5 s).
    pub timeout: Duration,
}

/// Why the command line was rejected: an optional message, then the usage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.as_deref().unwrap_or(""))]
pub struct UsageError(pub Option<String>);

/// Parses genhash's arguments (without the program name).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<Options, UsageError> {
    let mut server = None;
    let mut port = None;
    let mut url = None;
    let mut o = Options {
        server: IpAddr::from([0, 0, 0, 0]),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        vhost: None,
        verbose: false,
        fwmark: None,
        protocol: HttpProtocol::Http10,
        timeout: Duration::from_secs(5),
    };
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(a) = it.next() {
        // -sVALUE and --server=VALUE forms as getopt_long accepts them.
        let (flag, inline) = if let Some(l) = a.strip_prefix("--") {
            match l.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (l.to_string(), None),
            }
        } else if let Some(s) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
            let (k, v) = s.split_at(1);
            (k.to_string(), (!v.is_empty()).then(|| v.to_string()))
        } else {
            return Err(UsageError(None));
        };
        let mut value = || inline.clone().or_else(|| it.next().map(str::to_string));
        match flag.as_str() {
            "S" | "use-ssl" => o.ssl = true,
            "I" | "use-sni" => o.sni = true,
            "v" | "verbose" => o.verbose = true,
            "h" | "help" => return Err(UsageError(None)),
            "s" | "server" => {
                let v = value().ok_or(UsageError(None))?;
                server =
                    Some(v.parse::<IpAddr>().map_err(|_| {
                        UsageError(Some(format!("server should be an IP, not {v}")))
                    })?);
            }
            "p" | "port" => {
                let v = value().ok_or(UsageError(None))?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|_| UsageError(Some(format!("invalid port number '{v}'"))))?,
                );
            }
            "u" | "url" => url = Some(value().ok_or(UsageError(None))?),
            "V" | "use-virtualhost" => o.vhost = Some(value().ok_or(UsageError(None))?),
            "m" | "fwmark" => {
                let v = value().ok_or(UsageError(None))?;
                o.fwmark = Some(
                    v.parse()
                        .map_err(|_| UsageError(Some(format!("invalid fwmark '{v}'"))))?,
                );
            }
            "P" | "protocol" => {
                let v = value().ok_or(UsageError(None))?;
                o.protocol = match v.as_str() {
                    "1.0" => HttpProtocol::Http10,
                    "1.0c" | "1.0C" => HttpProtocol::Http10C,
                    "1.1" => HttpProtocol::Http11,
                    _ => {
                        return Err(UsageError(Some(format!(
                            "invalid HTTP protocol version '{v}'"
                        ))))
                    }
                };
            }
            "t" | "timeout" => {
                let v = value().ok_or(UsageError(None))?;
                let s: u64 = v
                    .parse()
                    .map_err(|_| UsageError(Some(format!("invalid timeout '{v}'"))))?;
                o.timeout = Duration::from_secs(s);
            }
            _ => return Err(UsageError(None)),
        }
    }
    match (server, port, url) {
        (Some(s), Some(p), Some(u)) => {
            o.server = s;
            o.port = p;
            o.url = u;
            Ok(o)
        }
        _ => Err(UsageError(None)),
    }
}

/// keepalived's `dump_buffer`: decimal offset, 16 bytes in two groups of
/// hex, then the printable characters.
pub fn dump_buffer(buf: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    for (n, chunk) in buf.chunks(16).enumerate() {
        let mut line = format!("{:04}  ", n * 16);
        for i in 0..16 {
            if i == 8 {
                line.push_str("- ");
            }
            match chunk.get(i) {
                Some(b) => line.push_str(&format!("{b:02x} ")),
                None => line.push_str("   "),
            }
        }
        line.push_str("  ");
        for i in 0..16 {
            line.push(match chunk.get(i) {
                Some(&b) if (0x20..0x7f).contains(&b) => b as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

const BAR: &str = "-----------------------";

fn section(title: &str, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{BAR}[{title}]{BAR}")
}

/// Prints a response as genhash does.
pub fn print(
    r: &Response,
    url: &str,
    verbose: bool,
    usecs: u128,
    out: &mut impl Write,
) -> std::io::Result<()> {
    if !verbose {
        return writeln!(out, "{}", hex(&r.digest));
    }
    section("    HTTP Header Buffer    ", out)?;
    dump_buffer(&r.header, out)?;
    section(" HTTP Header Ascii Buffer ", out)?;
    out.write_all(&r.header)?;
    writeln!(out)?;
    if !r.body.is_empty() {
        section("        HTML Buffer        ", out)?;
        dump_buffer(&r.body, out)?;
    }
    writeln!(out)?;
    section("    HTML hash resulting    ", out)?;
    dump_buffer(&r.digest, out)?;
    section(" HTML hash final resulting ", out)?;
    writeln!(out, "{}", hex(&r.digest))?;
    writeln!(out)?;
    writeln!(out, "Global response time for [{url}] = {usecs} usecs")
}

/// Fetches and prints; returns the exit code (0 even when the server
/// cannot be reached, as keepalived's genhash).
pub async fn run(o: &Options, out: &mut impl Write, err: &mut impl Write) -> i32 {
    let mut t = Target::new(SocketAddr::new(o.server, o.port), o.timeout);
    t.local = o.fwmark.map(|m| {
        Box::new(Local {
            fwmark: Some(m),
            ..Local::default()
        })
    });
    let start = std::time::Instant::now();
    let r = fetch(&t, &o.url, o.vhost.as_deref(), o.protocol, o.ssl, o.sni).await;
    let usecs = start.elapsed().as_micros();
    let res = match r {
        Ok(r) => print(&r, &o.url, o.verbose, usecs, out),
        Err(Failure::Timeout) => writeln!(out, "Connection timed out"),
        Err(Failure::NoData) => writeln!(err, "no data received from remote webserver"),
        Err(Failure::Connect(_)) | Err(Failure::Local(_)) => writeln!(out, "Connection failed"),
        Err(f) => writeln!(out, "{f}"),
    };
    if res.is_err() {
        return 1;
    }
    0
}

/// The whole tool: arguments without the program name, exit code. `prog`
/// is how the usage names it: `genhash`, or `ARGV0 --genhash` for
/// `keepalived -T`, as keepalived does.
pub fn main_with_args<S: AsRef<str>>(prog: &str, args: &[S]) -> i32 {
    let o = match parse_args(args) {
        Ok(o) => o,
        Err(UsageError(msg)) => {
            if let Some(m) = msg {
                eprintln!("{m}");
            }
            eprint!("Usage: {prog}{USAGE}");
            return 1;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genhash: {e}");
            return 1;
        }
    };
    let code = rt.block_on(async {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        run(&o, &mut out, &mut err).await
    });
    let _ = std::io::stdout().flush();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_matches_keepalived_layout() {
        // Captured from keepalived 2.2.7 `genhash -v`.
        let mut o = Vec::new();
        dump_buffer(b"hello world\n", &mut o).unwrap();
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "0000  68 65 6c 6c 6f 20 77 6f - 72 6c 64 0a               hello world.    \n"
        );
        let mut o = Vec::new();
        dump_buffer(b"HTTP/1.0 200 OK\r\n\r\n", &mut o).unwrap();
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "0000  48 54 54 50 2f 31 2e 30 - 20 32 30 30 20 4f 4b 0d   HTTP/1.0 200 OK.\n\
             0016  0a 0d 0a                -                           ...             \n"
        );
    }

    #[test]
    fn arguments() {
        let o = parse_args(&[
            "-s", "10.0.0.2", "-p", "80", "-u", "/", "-V", "h", "-P", "1.1", "-S",
        ])
        .unwrap();
        assert_eq!(o.server, IpAddr::from([10, 0, 0, 2]));
        assert_eq!((o.port, o.url.as_str(), o.ssl), (80, "/", true));
        assert_eq!(o.protocol, HttpProtocol::Http11);
        assert_eq!(o.vhost.as_deref(), Some("h"));
        assert_eq!(
            parse_args(&["--server=10.0.0.2", "--port", "80", "--url=/x"])
                .unwrap()
                .url,
            "/x"
        );
        assert_eq!(
            parse_args(&["-s", "10.0.0.2", "-p", "1"]),
            Err(UsageError(None))
        );
        assert_eq!(
            parse_args(&["-s", "nothost", "-p", "80", "-u", "/"]),
            Err(UsageError(Some(
                "server should be an IP, not nothost".into()
            )))
        );
        assert_eq!(
            parse_args(&["-s", "127.0.0.1", "-p", "1", "-u", "/", "-P", "2.0"]),
            Err(UsageError(Some(
                "invalid HTTP protocol version '2.0'".into()
            )))
        );
    }
}

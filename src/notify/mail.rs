//! SMTP alerts (reference §4.11): keepalived's own minimal SMTP client,
//! reproduced command for command so that a mail server (and its logs)
//! cannot tell us apart from keepalived 2.2.7:
//!
//! ```text
//! HELO <smtp_helo_name>          250
//! MAIL FROM:<from>               250
//! RCPT TO:<to>   (each)          250
//! DATA                           354
//! Date: Fri, 27 Nov 2026 13:53:33 +0000
//! From: ka@example.com
//! Subject: [router] VRRP Instance VI_1 - Entering MASTER state
//! X-Mailer: Keepalived
//! To: a@example.com, b@example.com
//!
//! => VRRP Instance is now owning VRRP VIPs <=
//!
//! .                              250
//! QUIT                           221
//! ```
//!
//! (Captured from keepalived 2.2.7 with an aiosmtpd sink: the recipients
//! share one `To:` line separated by `, `, and an empty line follows the
//! body before the terminating dot. No EHLO, TLS or AUTH.)
//!
//! A general-purpose client (lettre) was used before; it greets with
//! `EHLO` and has no `HELO` mode, so it is not used.
//!
//! Every alert is its own connection in its own task ([`Mailer::send`]):
//! a slow or unreachable server never delays the caller. Each network
//! step (connect, every reply) is bounded by `smtp_connect_timeout`, as
//! in keepalived. Failures are [`MailError`]s whose text is keepalived's
//! log line; they are logged, never fatal.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// Where and how alerts are sent (global_defs `smtp_server`,
/// `smtp_helo_name`, `smtp_connect_timeout`, `notification_email_from`,
/// `notification_email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Server host (address or name).
    pub server: String,
    /// Port (default 25).
    pub port: u16,
    /// HELO name (default: the host name).
    pub helo_name: String,
    /// Connect (and per-reply) timeout (default 30 s).
    pub connect_timeout: Duration,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email` addresses.
    pub to: Vec<String>,
}

/// How keepalived names the server in its log lines: `[127.0.0.1]:2525`.
fn fmt_host(addr: &SocketAddr) -> String {
    format!("[{}]:{}", addr.ip(), addr.port())
}

/// Why an alert was not (completely) sent. The text is keepalived's log
/// line for the same failure.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `smtp_server` is a name that does not resolve.
    #[error("Unable to resolve SMTP server {0}: {1}")]
    Resolve(String, String),
    /// No connection within `smtp_connect_timeout`.
    #[error("Timeout opening connection to remote SMTP server {}.", fmt_host(.0))]
    ConnectTimeout(SocketAddr),
    /// Connection refused or unreachable (keepalived reports the fd).
    #[error("smtp fd {fd} returned write error")]
    Connect {
        /// The socket's descriptor number.
        fd: i32,
        /// The system's reason (not in keepalived's line).
        source: std::io::Error,
    },
    /// No (complete) reply within `smtp_connect_timeout`.
    #[error("Timeout reading data to remote SMTP server {}.", fmt_host(.0))]
    ReadTimeout(SocketAddr),
    /// The server closed the connection early.
    #[error("Remote SMTP server {} has closed the connection.", fmt_host(.0))]
    Closed(SocketAddr),
    /// Reading failed.
    #[error("Error reading data from remote SMTP server {}.", fmt_host(.0))]
    Read(SocketAddr),
    /// Sending failed.
    #[error("Cannot send data to remote SMTP server {}.", fmt_host(.0))]
    Send(SocketAddr),
    /// A reply longer than keepalived's buffer.
    #[error("Received buffer from remote SMTP server {} overflow our get read buffer length.", fmt_host(.0))]
    Overflow(SocketAddr),
    /// The server answered a command with an unexpected code.
    #[error("Error processing {cmd} cmd on SMTP server {}. SMTP status code = {code}", fmt_host(.addr))]
    Code {
        /// keepalived's name of the step (`(E)SMTP`, `HELO`, `RCPT` ...).
        cmd: &'static str,
        /// The server.
        addr: SocketAddr,
        /// What it answered.
        code: u16,
    },
}

/// One line the sender wants logged; `detail` ones only with `-D`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// keepalived logs it only with `-D` (`log_detail`).
    pub detail: bool,
    /// The text.
    pub text: String,
}

/// Where the sender's lines go (the daemons pass their logger).
pub type LogFn = fn(&LogLine);

/// RFC 2822 date as keepalived writes it (`%a, %d %b %Y %H:%M:%S %z`,
/// local time).
pub fn rfc2822_date(t: SystemTime) -> String {
    crate::sys::strftime_local(t, c"%a, %d %b %Y %H:%M:%S %z")
}

/// The DATA part of an alert (headers, blank line, body), CRLF line ends,
/// up to and including the terminating dot.
pub fn format_message(
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    date: SystemTime,
) -> String {
    format!(
        "Date: {}\r\nFrom: {from}\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\n\
         To: {}\r\n\r\n{body}\r\n\r\n.\r\n",
        rfc2822_date(date),
        to.join(", ")
    )
}

/// keepalived's envelope address: an address already in `<...>` (as in
/// `Name <a@b>`) is used as is, anything else is wrapped.
fn angle(addr: &str) -> String {
    match (addr.ends_with('>'), addr.rfind('<')) {
        (true, Some(i)) => addr[i..].to_string(),
        _ => format!("<{addr}>"),
    }
}

/// One step of the dialogue: what to send and which code must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// keepalived's name of the step, for error lines.
    pub name: &'static str,
    /// Bytes to send (empty for the greeting).
    pub send: String,
    /// The expected reply code.
    pub expect: u16,
}

/// The whole dialogue after connecting, in order (QUIT excluded: it is
/// sent however the dialogue ends).
pub fn dialogue(cfg: &SmtpConfig, subject: &str, body: &str, date: SystemTime) -> Vec<Step> {
    let step = |name, send: String, expect| Step { name, send, expect };
    let mut v = vec![
        step("(E)SMTP", String::new(), 220),
        step("HELO", format!("HELO {}\r\n", cfg.helo_name), 250),
        step("MAIL", format!("MAIL FROM:{}\r\n", angle(&cfg.from)), 250),
    ];
    for to in &cfg.to {
        v.push(step("RCPT", format!("RCPT TO:{}\r\n", angle(to)), 250));
    }
    v.push(step("DATA", "DATA\r\n".into(), 354));
    let msg = format_message(&cfg.from, &cfg.to, subject, body, date);
    v.push(step("BODY", msg, 250));
    v
}

/// keepalived's receive buffer: a reply must fit in it.
const BUFFER_MAX: usize = 1024;

/// Splits the code of the last line of a complete reply off `buf`
/// (multi-line replies `250-...` are skipped up to their `250 ...`).
/// `None` while the reply is incomplete.
pub fn parse_reply(buf: &mut Vec<u8>) -> Option<u16> {
    let mut start = 0;
    while let Some(n) = buf[start..].windows(2).position(|w| w == b"\r\n") {
        let line = &buf[start..start + n];
        start += n + 2;
        if line.get(3) == Some(&b'-') {
            continue;
        }
        // keepalived reads three digits without checking them.
        let d = |i: usize| line.get(i).map_or(0, |&c| u16::from(c.wrapping_sub(b'0')));
        let code = d(0) * 100 + d(1) * 10 + d(2);
        buf.drain(..start);
        return Some(code);
    }
    None
}

/// A connected session: reads replies with the per-reply timeout.
struct Session {
    sock: TcpStream,
    addr: SocketAddr,
    timeout: Duration,
    buf: Vec<u8>,
}

impl Session {
    async fn reply(&mut self) -> Result<u16, MailError> {
        loop {
            if let Some(code) = parse_reply(&mut self.buf) {
                return Ok(code);
            }
            let mut chunk = [0u8; BUFFER_MAX];
            let n = match tokio::time::timeout(self.timeout, self.sock.read(&mut chunk)).await {
                Err(_) => return Err(MailError::ReadTimeout(self.addr)),
                Ok(Err(_)) => return Err(MailError::Read(self.addr)),
                Ok(Ok(0)) => return Err(MailError::Closed(self.addr)),
                Ok(Ok(n)) => n,
            };
            if self.buf.len() + n >= BUFFER_MAX {
                return Err(MailError::Overflow(self.addr));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, bytes: &str) -> Result<(), MailError> {
        self.sock
            .write_all(bytes.as_bytes())
            .await
            .map_err(|_| MailError::Send(self.addr))
    }

    /// keepalived's way out after a failed step: QUIT, wait (bounded) for
    /// the answer, close.
    async fn quit(&mut self) {
        if self.send("QUIT\r\n").await.is_ok() {
            let _ = self.reply().await;
        }
    }
}

async fn resolve(cfg: &SmtpConfig) -> Result<SocketAddr, MailError> {
    if let Ok(ip) = cfg.server.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, cfg.port));
    }
    let err = |e: String| MailError::Resolve(cfg.server.clone(), e);
    tokio::net::lookup_host((cfg.server.as_str(), cfg.port))
        .await
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no address".into()))
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, MailError> {
    let sock = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    };
    let sock = sock.map_err(|source| MailError::Connect { fd: -1, source })?;
    let fd = sock.as_raw_fd();
    match tokio::time::timeout(timeout, sock.connect(addr)).await {
        Err(_) => Err(MailError::ConnectTimeout(addr)),
        Ok(Err(source)) => Err(MailError::Connect { fd, source }),
        Ok(Ok(s)) => Ok(s),
    }
}

/// Sends one alert and waits for the end of the dialogue. `log` gets the
/// `-D` lines as they happen (`Remote SMTP server [..]:25 connected.`,
/// `SMTP alert successfully sent.`); the error is the caller's to log.
pub async fn send_alert(
    cfg: &SmtpConfig,
    subject: &str,
    body: &str,
    log: LogFn,
) -> Result<(), MailError> {
    let addr = resolve(cfg).await?;
    let sock = connect(addr, cfg.connect_timeout).await?;
    log(&LogLine {
        detail: true,
        text: format!("Remote SMTP server {} connected.", fmt_host(&addr)),
    });
    let mut s = Session {
        sock,
        addr,
        timeout: cfg.connect_timeout,
        buf: Vec::new(),
    };
    for step in dialogue(cfg, subject, body, SystemTime::now()) {
        if !step.send.is_empty() {
            s.send(&step.send).await?;
        }
        let code = match s.reply().await {
            Ok(c) => c,
            Err(e @ MailError::ReadTimeout(_)) => {
                // keepalived still says QUIT after a read timeout.
                s.quit().await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        if code != step.expect {
            s.quit().await;
            return Err(MailError::Code {
                cmd: step.name,
                addr,
                code,
            });
        }
    }
    log(&LogLine {
        detail: true,
        text: "SMTP alert successfully sent.".into(),
    });
    s.quit().await;
    Ok(())
}

/// Sends alerts in the background and keeps track of those in flight, so
/// that a stopping daemon can give them a short, bounded chance to finish.
#[derive(Debug)]
pub struct Mailer {
    cfg: Option<Arc<SmtpConfig>>,
    log: LogFn,
    tasks: JoinSet<()>,
}

impl Mailer {
    /// A mailer for `cfg` (`None`: alerts are dropped, as keepalived does
    /// without `notification_email` or `smtp_server`).
    pub fn new(cfg: Option<SmtpConfig>, log: LogFn) -> Mailer {
        Mailer {
            cfg: cfg.map(Arc::new),
            log,
            tasks: JoinSet::new(),
        }
    }

    /// A reload's settings; alerts in flight finish with the old ones.
    pub fn reconfigure(&mut self, cfg: Option<SmtpConfig>) {
        self.cfg = cfg.map(Arc::new);
    }

    /// Whether alerts go anywhere.
    pub fn enabled(&self) -> bool {
        self.cfg.is_some()
    }

    /// Starts sending one alert and returns at once (needs a tokio
    /// runtime). Its outcome is logged through the mailer's `log`.
    pub fn send(&mut self, subject: String, body: String) {
        let Some(cfg) = self.cfg.clone() else {
            return;
        };
        while self.tasks.try_join_next().is_some() {}
        let log = self.log;
        self.tasks.spawn(async move {
            if let Err(e) = send_alert(&cfg, &subject, &body, log).await {
                log(&LogLine {
                    detail: false,
                    text: e.to_string(),
                });
            }
        });
    }

    /// Waits at most `bound` for the alerts in flight, then drops the rest
    /// (keepalived does not wait for them at all).
    pub async fn shutdown(&mut self, bound: Duration) {
        let all = async { while self.tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(bound, all).await;
        self.tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn cfg() -> SmtpConfig {
        SmtpConfig {
            server: "127.0.0.1".into(),
            port: 2525,
            helo_name: "lb1".into(),
            connect_timeout: Duration::from_secs(5),
            from: "ka@example.com".into(),
            to: vec!["a@example.com".into(), "Bee <b@example.com>".into()],
        }
    }

    #[test]
    fn message_layout() {
        let to = vec!["a@example.com".to_string(), "b@example.com".to_string()];
        let m = format_message("ka@example.com", &to, "Subj", "=> body <=", UNIX_EPOCH);
        let date = rfc2822_date(UNIX_EPOCH);
        assert!(date.starts_with("Thu, 01 Jan 1970") || date.starts_with("Wed, 31 Dec 1969"));
        assert_eq!(
            m,
            format!(
                "Date: {date}\r\nFrom: ka@example.com\r\nSubject: Subj\r\nX-Mailer: Keepalived\r\n\
                 To: a@example.com, b@example.com\r\n\r\n=> body <=\r\n\r\n.\r\n"
            )
        );
    }

    #[test]
    fn dialogue_is_keepalived_s() {
        let d = dialogue(&cfg(), "S", "B", UNIX_EPOCH);
        let sent: Vec<&str> = d.iter().map(|s| s.send.as_str()).collect();
        assert_eq!(
            &sent[..6],
            [
                "",
                "HELO lb1\r\n",
                "MAIL FROM:<ka@example.com>\r\n",
                "RCPT TO:<a@example.com>\r\n",
                "RCPT TO:<b@example.com>\r\n",
                "DATA\r\n"
            ]
        );
        let codes: Vec<u16> = d.iter().map(|s| s.expect).collect();
        assert_eq!(codes, [220, 250, 250, 250, 250, 354, 250]);
        assert!(sent[6].contains("To: a@example.com, Bee <b@example.com>\r\n"));
    }

    #[test]
    fn replies() {
        let mut b = b"250-sink\r\n250-8BITMIME\r\n250 HELP\r\n354".to_vec();
        assert_eq!(parse_reply(&mut b), Some(250));
        assert_eq!(b, b"354");
        assert_eq!(parse_reply(&mut b), None);
        b.extend_from_slice(b" go\r\n");
        assert_eq!(parse_reply(&mut b), Some(354));
        assert!(b.is_empty());
    }

    #[test]
    fn error_lines_are_keepalived_s() {
        let a: SocketAddr = "127.0.0.1:2525".parse().unwrap();
        assert_eq!(
            MailError::ConnectTimeout(a).to_string(),
            "Timeout opening connection to remote SMTP server [127.0.0.1]:2525."
        );
        let e = MailError::Code {
            cmd: "RCPT",
            addr: a,
            code: 550,
        };
        assert_eq!(
            e.to_string(),
            "Error processing RCPT cmd on SMTP server [127.0.0.1]:2525. SMTP status code = 550"
        );
    }
}

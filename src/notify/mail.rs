//! SMTP alerts (reference §4.11), sent with lettre's SMTP transport
//! (plain SMTP over tokio; no TLS, no AUTH, as keepalived). What a mail
//! server sees, next to keepalived 2.2.7's own client (captured with an
//! aiosmtpd sink):
//!
//! ```text
//! keepalived 2.2.7         keepalived-rs (lettre)        reply
//!                                                        220
//! HELO <smtp_helo_name>    EHLO <smtp_helo_name>         250
//! MAIL FROM:<from>         MAIL FROM:<from>              250
//! RCPT TO:<to>   (each)    the same                      250
//! DATA                     DATA                          354
//! <message>                the same bytes
//! .                        .                             250
//! QUIT                     QUIT                          221
//! ```
//!
//! where the message is
//!
//! ```text
//! Date: Fri, 27 Nov 2026 13:53:33 +0000
//! From: ka@example.com
//! Subject: [router] VRRP Instance VI_1 - Entering MASTER state
//! X-Mailer: Keepalived
//! To: a@example.com, b@example.com
//!
//! => VRRP Instance is now owning VRRP VIPs <=
//!
//! ```
//!
//! (the recipients share one `To:` line separated by `, `, and an empty
//! line follows the body before the terminating dot).
//!
//! Differences: lettre greets with `EHLO` and has no `HELO` mode, so a
//! server that refuses `EHLO` gets no alerts. A message with non-ASCII
//! bytes (a `router_id` or instance name in UTF-8) goes with `MAIL FROM:<..>
//! BODY=8BITMIME` and only to servers offering 8BITMIME; keepalived sends
//! the bytes as they are. lettre dot-stuffs lines starting with `.`;
//! keepalived does not, but none of its messages has one (headers, and
//! bodies `=> ... <=`). Addresses must be valid for lettre (`Name <a@b>`
//! stands for `a@b`, as in keepalived).
//!
//! Every alert is its own connection in its own task ([`Mailer::send`]):
//! a slow or unreachable server never delays the caller. Connecting is
//! bounded by `smtp_connect_timeout` (lettre's timeout); lettre's tokio
//! transport does not bound replies, so the whole alert is bounded by
//! twice that (keepalived bounds each reply by it). Failures are
//! [`MailError`]s whose text is keepalived's log line where lettre tells
//! enough to choose it; they are logged, never fatal.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
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
    /// The name keepalived puts in `HELO`, which we put in `EHLO`
    /// (default: the host name).
    pub helo_name: String,
    /// Connect timeout (default 30 s); twice it bounds a whole alert.
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
/// line for the same failure, where lettre's error tells which one.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// `smtp_server` is a name that does not resolve.
    #[error("Unable to resolve SMTP server {0}: {1}")]
    Resolve(String, String),
    /// An address lettre does not take (keepalived sends anything).
    #[error("Invalid SMTP alert address {0:?}: {1}")]
    Address(String, String),
    /// No connection within `smtp_connect_timeout`.
    #[error("Timeout opening connection to remote SMTP server {}.", fmt_host(.0))]
    ConnectTimeout(SocketAddr),
    /// Connection refused or unreachable.
    #[error("SMTP connection ERROR to {}.", fmt_host(.0))]
    Connect(SocketAddr, #[source] lettre::transport::smtp::Error),
    /// Connected, but the alert was not through within twice
    /// `smtp_connect_timeout` (a server that stopped answering).
    #[error("Timeout reading data to remote SMTP server {}.", fmt_host(.0))]
    ReadTimeout(SocketAddr),
    /// The server closed the connection early.
    #[error("Remote SMTP server {} has closed the connection.", fmt_host(.0))]
    Closed(SocketAddr),
    /// Reading or sending failed.
    #[error("Error reading data from remote SMTP server {}.", fmt_host(.0))]
    Read(SocketAddr, #[source] lettre::transport::smtp::Error),
    /// The server refused a step. keepalived names the command; lettre
    /// does not tell which one it was.
    #[error("Error processing SMTP cmd on SMTP server {}. SMTP status code = {code}", fmt_host(.addr))]
    Code {
        /// The server.
        addr: SocketAddr,
        /// What it answered.
        code: u16,
        /// lettre's error, with the server's text.
        source: lettre::transport::smtp::Error,
    },
    /// Anything else lettre reports (a malformed reply, a non-ASCII
    /// message to a server without 8BITMIME).
    #[error("Error sending SMTP alert to {}: {}", fmt_host(.0), .1)]
    Other(SocketAddr, #[source] lettre::transport::smtp::Error),
}

impl MailError {
    /// keepalived's failure for lettre's error `e` talking to `addr`.
    /// lettre has no `is_connection()`/`is_network()`: its text names the
    /// kind (the tests in tests/notify.rs pin each case).
    fn from_lettre(addr: SocketAddr, e: lettre::transport::smtp::Error) -> MailError {
        let text = e.to_string();
        if let Some(code) = e.status() {
            MailError::Code {
                addr,
                code: code.into(),
                source: e,
            }
        } else if text.starts_with("Connection error") {
            if e.is_timeout() {
                MailError::ConnectTimeout(addr)
            } else {
                MailError::Connect(addr, e)
            }
        } else if text.starts_with("network error") {
            MailError::Read(addr, e)
        } else if e.is_response() && text.ends_with("incomplete response") {
            MailError::Closed(addr)
        } else {
            MailError::Other(addr, e)
        }
    }

    /// Whether the connection was made before it failed (keepalived then
    /// has logged `Remote SMTP server ... connected.`).
    fn connected(&self) -> bool {
        !matches!(
            self,
            MailError::Resolve(..)
                | MailError::Address(..)
                | MailError::ConnectTimeout(_)
                | MailError::Connect(..)
        )
    }
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

/// The message of an alert (headers, blank line, body), CRLF line ends,
/// as lettre takes it: lettre ends DATA with `\r\n.\r\n`, so the server
/// receives keepalived's `<body>\r\n\r\n.\r\n`.
pub fn format_message(
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    date: SystemTime,
) -> String {
    format!(
        "Date: {}\r\nFrom: {from}\r\nSubject: {subject}\r\nX-Mailer: Keepalived\r\n\
         To: {}\r\n\r\n{body}\r\n",
        rfc2822_date(date),
        to.join(", ")
    )
}

/// The envelope address of a keepalived address: the part in `<...>` of
/// `Name <a@b>`, else all of it (keepalived sends the first as is and
/// wraps the second in `<...>`).
fn envelope_address(addr: &str) -> Result<Address, MailError> {
    let bare = match (addr.strip_suffix('>'), addr.rfind('<')) {
        (Some(a), Some(i)) => &a[i + 1..],
        _ => addr,
    };
    bare.parse()
        .map_err(|e: lettre::address::AddressError| MailError::Address(addr.into(), e.to_string()))
}

/// `MAIL FROM` and the `RCPT TO`s of an alert.
fn envelope(cfg: &SmtpConfig) -> Result<Envelope, MailError> {
    let to = cfg
        .to
        .iter()
        .map(|a| envelope_address(a))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(envelope_address(&cfg.from)?), to)
        .map_err(|e| MailError::Address(cfg.to.join(", "), e.to_string()))
}

/// The server's address, resolved once (keepalived resolves
/// `smtp_server` once too, and its log lines show the address).
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

/// `addr`'s host as lettre takes it: the address itself, so that lettre
/// connects once, to the address the log lines name (a link-local IPv6
/// address keeps its scope).
fn lettre_host(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V6(a) if a.scope_id() != 0 => format!("{}%{}", a.ip(), a.scope_id()),
        _ => addr.ip().to_string(),
    }
}

/// Sends one alert and waits for the end of the dialogue. `log` gets the
/// `-D` lines (`Remote SMTP server [..]:25 connected.`, `SMTP alert
/// successfully sent.`); the error is the caller's to log.
pub async fn send_alert(
    cfg: &SmtpConfig,
    subject: &str,
    body: &str,
    log: LogFn,
) -> Result<(), MailError> {
    let envelope = envelope(cfg)?;
    let addr = resolve(cfg).await?;
    let msg = format_message(&cfg.from, &cfg.to, subject, body, SystemTime::now());
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(lettre_host(&addr))
        .port(addr.port())
        .timeout(Some(cfg.connect_timeout))
        .hello_name(ClientId::Domain(cfg.helo_name.clone()))
        .build();
    let bound = cfg.connect_timeout.saturating_mul(2);
    let sent = match tokio::time::timeout(bound, smtp.send_raw(&envelope, msg.as_bytes())).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(MailError::from_lettre(addr, e)),
        // lettre's connect timeout is shorter: this one is the dialogue's.
        Err(_) => Err(MailError::ReadTimeout(addr)),
    };
    // lettre connects and talks in one call: the line comes afterwards.
    if sent.as_ref().map_or_else(MailError::connected, |()| true) {
        log(&LogLine {
            detail: true,
            text: format!("Remote SMTP server {} connected.", fmt_host(&addr)),
        });
    }
    if sent.is_ok() {
        log(&LogLine {
            detail: true,
            text: "SMTP alert successfully sent.".into(),
        });
    }
    sent
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

    #[test]
    fn message_layout() {
        let to = vec!["a@example.com".to_string(), "b@example.com".to_string()];
        let m = format_message("ka@example.com", &to, "Subj", "=> body <=", UNIX_EPOCH);
        let date = rfc2822_date(UNIX_EPOCH);
        assert!(date.starts_with("Thu, 01 Jan 1970") || date.starts_with("Wed, 31 Dec 1969"));
        // lettre adds "\r\n.\r\n": keepalived's "<body>\r\n\r\n.\r\n".
        assert_eq!(
            m,
            format!(
                "Date: {date}\r\nFrom: ka@example.com\r\nSubject: Subj\r\nX-Mailer: Keepalived\r\n\
                 To: a@example.com, b@example.com\r\n\r\n=> body <=\r\n"
            )
        );
    }

    #[test]
    fn envelope_addresses_are_keepalived_s() {
        let cfg = SmtpConfig {
            server: "127.0.0.1".into(),
            port: 25,
            helo_name: "lb1".into(),
            connect_timeout: Duration::from_secs(5),
            from: "Keepalived <ka@example.com>".into(),
            to: vec!["a@example.com".into(), "root@lb1".into()],
        };
        let e = envelope(&cfg).unwrap();
        assert_eq!(e.from().map(|a| a.as_ref()), Some("ka@example.com"));
        let to: Vec<&str> = e.to().iter().map(|a| a.as_ref()).collect();
        assert_eq!(to, ["a@example.com", "root@lb1"]);
        let bad = SmtpConfig {
            to: vec!["nobody".into()],
            ..cfg
        };
        let err = envelope(&bad).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invalid SMTP alert address \"nobody\": "),
            "{err}"
        );
    }

    #[test]
    fn scoped_ipv6_keeps_its_scope() {
        let a: SocketAddr = "[fe80::1%3]:25".parse().unwrap();
        assert_eq!(lettre_host(&a), "fe80::1%3");
        assert_eq!(fmt_host(&a), "[fe80::1]:25");
        let a: SocketAddr = "[2001:db8::1]:25".parse().unwrap();
        assert_eq!(lettre_host(&a), "2001:db8::1");
    }

    #[test]
    fn error_lines_are_keepalived_s() {
        let a: SocketAddr = "127.0.0.1:2525".parse().unwrap();
        assert_eq!(
            MailError::ConnectTimeout(a).to_string(),
            "Timeout opening connection to remote SMTP server [127.0.0.1]:2525."
        );
        assert_eq!(
            MailError::ReadTimeout(a).to_string(),
            "Timeout reading data to remote SMTP server [127.0.0.1]:2525."
        );
        assert_eq!(
            MailError::Closed(a).to_string(),
            "Remote SMTP server [127.0.0.1]:2525 has closed the connection."
        );
    }
}

//! SMTP alerts (reference §4.11) sent with `lettre`'s plain (no TLS, no
//! AUTH) SMTP transport.
//!
//! The message is built byte-for-byte as keepalived builds it:
//!
//! ```text
//! Date: Sun, 22 Nov 2026 03:22:52 +0000
//! From: ka@example.com
//! Subject: [router] VRRP Instance VI_1 - Entering MASTER state
//! X-Mailer: Keepalived
//! To: a@example.com, b@example.com
//!
//! => VRRP Instance is now owning VRRP VIPs <=
//!
//! .
//! ```
//!
//! (Captured from keepalived 2.2.7 with a sink: the recipients share one
//! `To:` line separated by `, `, and an empty line follows the body before
//! the terminating dot.)
//!
//! One difference remains in the dialogue: keepalived greets with `HELO`,
//! lettre always greets with `EHLO` (with the configured helo name) and has
//! no `HELO` fallback; servers that reject `EHLO` are not supported.
//! Sending runs in its own task ([`spawn_alert`]) and never blocks the
//! caller; failures come back as [`MailError`] (to be logged, not fatal).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::task::JoinHandle;

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
    /// Connect (and per-command) timeout (default 30 s).
    pub connect_timeout: Duration,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email` addresses.
    pub to: Vec<String>,
}

impl SmtpConfig {
    /// keepalived's log line on connection: `Remote SMTP server
    /// [127.0.0.1]:2525 connected.`
    pub fn connected_log(&self) -> String {
        format!(
            "Remote SMTP server [{}]:{} connected.",
            self.server, self.port
        )
    }
}

/// Errors sending an alert.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No recipients, or an address lettre cannot parse.
    #[error("Bad SMTP envelope: {0}")]
    Envelope(String),
    /// Connection or dialogue failure.
    #[error("Error sending SMTP alert to [{server}]:{port}: {msg}")]
    Smtp {
        /// Server.
        server: String,
        /// Port.
        port: u16,
        /// lettre's error.
        msg: String,
    },
    /// The overall timeout expired.
    #[error("Timeout connecting SMTP server [{0}]:{1}.")]
    Timeout(String, u16),
}

/// RFC 2822 date as keepalived writes it (`%a, %d %b %Y %H:%M:%S %z`,
/// local time).
pub fn rfc2822_date(t: SystemTime) -> String {
    crate::sys::strftime_local(t, c"%a, %d %b %Y %H:%M:%S %z")
}

/// The DATA part of an alert (headers, blank line, body), CRLF line ends.
pub fn format_message(
    from: &str,
    to: &[String],
    subject: &str,
    body: &str,
    date: SystemTime,
) -> String {
    let mut m = String::new();
    m.push_str(&format!("Date: {}\r\n", rfc2822_date(date)));
    m.push_str(&format!("From: {from}\r\n"));
    m.push_str(&format!("Subject: {subject}\r\n"));
    m.push_str("X-Mailer: Keepalived\r\n");
    m.push_str(&format!("To: {}\r\n", to.join(", ")));
    m.push_str("\r\n");
    for line in body.lines() {
        m.push_str(line);
        m.push_str("\r\n");
    }
    m
}

/// Sends one alert and waits for the result (bounded by the connect
/// timeout for connecting and for each command; overall bound 3× it).
pub async fn send_alert(cfg: &SmtpConfig, subject: &str, body: &str) -> Result<(), MailError> {
    let bad = |e: &dyn std::fmt::Display| MailError::Envelope(e.to_string());
    let from: Address = cfg.from.parse().map_err(|e| bad(&e))?;
    let to = cfg
        .to
        .iter()
        .map(|a| a.parse::<Address>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let envelope = Envelope::new(Some(from), to).map_err(|e| bad(&e))?;
    let msg = format_message(&cfg.from, &cfg.to, subject, body, SystemTime::now());
    // lettre appends "\r\n.\r\n" as keepalived does (so the body is
    // followed by an empty line before the dot, as in keepalived).
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.server.as_str())
        .port(cfg.port)
        .hello_name(ClientId::Domain(cfg.helo_name.clone()))
        .timeout(Some(cfg.connect_timeout))
        .build();
    let smtp_err = |e: lettre::transport::smtp::Error| MailError::Smtp {
        server: cfg.server.clone(),
        port: cfg.port,
        msg: e.to_string(),
    };
    let overall = cfg.connect_timeout.saturating_mul(3);
    match tokio::time::timeout(overall, transport.send_raw(&envelope, msg.as_bytes())).await {
        Ok(r) => r.map(|_| ()).map_err(smtp_err),
        Err(_) => Err(MailError::Timeout(cfg.server.clone(), cfg.port)),
    }
}

/// Sends an alert in its own task; the caller may ignore or await the
/// handle (whose error is meant to be logged).
pub fn spawn_alert(
    cfg: Arc<SmtpConfig>,
    subject: String,
    body: String,
) -> JoinHandle<Result<(), MailError>> {
    tokio::spawn(async move { send_alert(&cfg, &subject, &body).await })
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
        assert_eq!(
            m,
            format!(
                "Date: {date}\r\nFrom: ka@example.com\r\nSubject: Subj\r\nX-Mailer: Keepalived\r\n\
                 To: a@example.com, b@example.com\r\n\r\n=> body <=\r\n"
            )
        );
    }
}

//! HTTP_GET and SSL_GET probes, and the fetch that genhash shares.
//!
//! As keepalived: one `GET` per URL with `User-Agent: KeepAliveClient` and a
//! `Host` header (the virtualhost, else `ip:port`), read to end of stream,
//! status code checked against the configured ranges (default 200-299),
//! MD5 of the body (at most `Content-Length` bytes, chunked encoding not
//! decoded) compared with `digest`, then the url's `regex` run on the
//! whole response (see [`super::body_regex`]). SSL_GET does not verify the server's
//! certificate and sends SNI only with `enable_sni`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::body_regex::BodyRegex;
use super::probe::{io_failure, tcp_connect, within, Target};
use super::sched::{Failure, Outcome};
use crate::config::check::HttpProtocol;

/// One URL to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlSpec {
    /// `path`.
    pub path: String,
    /// `digest`, lower-case hex.
    pub digest: Option<String>,
    /// Accepted status codes (empty: 200-299).
    pub status: Vec<(u16, u16)>,
    /// Host header value (virtualhost), `None` for `ip:port`.
    pub vhost: Option<String>,
    /// `regex` and its settings.
    pub regex: Option<BodyRegex>,
}

/// How to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    /// SSL_GET.
    pub ssl: bool,
    /// `http_protocol`.
    pub protocol: HttpProtocol,
    /// `enable_sni` (SSL_GET): send the virtualhost as SNI.
    pub sni: bool,
    /// The URLs.
    pub urls: Vec<UrlSpec>,
}

/// A fetched response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Header bytes, up to and including the blank line.
    pub header: Vec<u8>,
    /// Body bytes that were hashed (at most Content-Length).
    pub body: Vec<u8>,
    /// Status code (0 if unparsable).
    pub status: u16,
    /// MD5 of `body`.
    pub digest: [u8; 16],
    /// Everything received: header and all the body bytes, even past
    /// `Content-Length` (what keepalived runs a url's regex on).
    pub raw: Vec<u8>,
}

/// The request keepalived sends.
pub fn request(path: &str, host: &str, proto: HttpProtocol) -> String {
    let (ver, close) = match proto {
        HttpProtocol::Http10 => ("1.0", false),
        HttpProtocol::Http10C => ("1.0", true),
        HttpProtocol::Http11 => ("1.1", true),
    };
    format!(
        "GET {path} HTTP/{ver}\r\nUser-Agent: KeepAliveClient\r\n{}Host: {host}\r\n\r\n",
        if close { "Connection: close\r\n" } else { "" }
    )
}

/// `ip:port` as the default Host header (IPv6 in brackets).
pub fn default_host(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(a) => format!("{a}:{}", addr.port()),
        IpAddr::V6(a) => format!("[{a}]:{}", addr.port()),
    }
}

/// Lower-case hex.
pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits a raw response into header and hashed body.
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let header = &raw[..end];
    let text = String::from_utf8_lossy(header);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let clen = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    let mut body = &raw[end..];
    if let Some(n) = clen {
        body = &body[..n.min(body.len())];
    }
    let digest: [u8; 16] = Md5::digest(body).into();
    Some(Response {
        header: header.to_vec(),
        body: body.to_vec(),
        status,
        digest,
        raw: raw.to_vec(),
    })
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    req: &str,
    t: &Target,
) -> Result<Vec<u8>, Failure> {
    within(t.timeout, async {
        s.write_all(req.as_bytes()).await.map_err(io_failure)
    })
    .await?;
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(t.timeout, s.read(&mut buf)).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Ok(n)) => n,
            // TLS peers often close without close_notify: keep what came.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Ok(Err(e)) => return Err(io_failure(e)),
        };
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > 64 << 20 {
            return Err(Failure::Protocol("response too large".into()));
        }
    }
}

/// Fetches `path` from the target, over TLS when `ssl`.
pub async fn fetch(
    t: &Target,
    path: &str,
    vhost: Option<&str>,
    proto: HttpProtocol,
    ssl: bool,
    sni: bool,
) -> Result<Response, Failure> {
    let host = vhost.map_or_else(|| default_host(t.addr), str::to_string);
    let req = request(path, &host, proto);
    let mut tcp = tcp_connect(t).await?;
    let raw = if ssl {
        let name = match vhost.filter(|_| sni) {
            Some(h) => rustls::pki_types::ServerName::try_from(h.to_string())
                .map_err(|e| Failure::Local(format!("SNI name: {e}")))?,
            None => rustls::pki_types::ServerName::IpAddress(t.addr.ip().into()),
        };
        let conn = tokio_rustls::TlsConnector::from(tls_config());
        let mut tls = within(t.timeout, async {
            conn.connect(name, tcp)
                .await
                .map_err(|e| Failure::Connect(format!("SSL handshake: {e}")))
        })
        .await?;
        exchange(&mut tls, &req, t).await?
    } else {
        exchange(&mut tcp, &req, t).await?
    };
    parse_response(&raw).ok_or(Failure::NoData)
}

/// Checks one URL of an HTTP_GET/SSL_GET checker.
pub async fn check_url(t: &Target, spec: &HttpSpec, url: usize) -> Outcome {
    let Some(u) = spec.urls.get(url) else {
        return Outcome::Failure(Failure::Local("no such url".into()));
    };
    let r = match fetch(
        t,
        &u.path,
        u.vhost.as_deref(),
        spec.protocol,
        spec.ssl,
        spec.sni,
    )
    .await
    {
        Ok(r) => r,
        Err(f) => return Outcome::Failure(f),
    };
    let ok = if u.status.is_empty() {
        (200..=299).contains(&r.status)
    } else {
        u.status.iter().any(|&(a, b)| (a..=b).contains(&r.status))
    };
    if !ok {
        return Outcome::Failure(Failure::Status(r.status));
    }
    let mut what = "HTTP status code";
    if let Some(d) = &u.digest {
        let got = hex(&r.digest);
        if !got.eq_ignore_ascii_case(d) {
            return Outcome::Failure(Failure::Digest(got));
        }
        what = "MD5 digest";
    }
    if let Some(rx) = &u.regex {
        if !rx.passes(&r.raw, r.header.len()) {
            return Outcome::Failure(Failure::Regex);
        }
        what = "Regex match";
    }
    Outcome::Success { status: None, what }
}

/// keepalived does not verify real servers' certificates: a health check
/// must work against self-signed test and internal certificates.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CFG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CFG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
            .with_no_client_auth();
        Arc::new(cfg)
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_keepalived() {
        // Captured from keepalived 2.2.7's genhash -P 1.1 -V foo.example.
        assert_eq!(
            request("/x", "foo.example", HttpProtocol::Http11),
            "GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: foo.example\r\n\r\n"
        );
        // genhash -s 127.0.0.1 -p 80 -u /y: the port is always there.
        assert_eq!(
            request(
                "/y",
                &default_host("127.0.0.1:80".parse().unwrap()),
                HttpProtocol::Http10
            ),
            "GET /y HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:80\r\n\r\n"
        );
        assert_eq!(default_host("[::1]:8080".parse().unwrap()), "[::1]:8080");
    }

    #[test]
    fn body_is_hashed_up_to_content_length() {
        // keepalived 2.2.7's genhash printed 900150983cd24fb0d6963f7d28e17f72
        // (md5 "abc") for this response.
        let r = parse_response(b"HTTP/1.1 404 NF\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(hex(&r.digest), "900150983cd24fb0d6963f7d28e17f72");
        let r = parse_response(b"HTTP/1.0 200 OK\r\n\r\nhello world\n").unwrap();
        assert_eq!(hex(&r.digest), "6f5902ac237024bdd0c176cb93063dc4");
        assert!(parse_response(b"HTTP/1.0 200 OK\r\n").is_none());
    }
}

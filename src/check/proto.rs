//! The small protocol probes: SMTP_CHECK (banner, HELO, QUIT), DNS_CHECK
//! (one UDP query), UDP_CHECK (datagram, optional reply) and PING_CHECK
//! (ICMP echo).

use std::net::SocketAddr;

use socket2::{Protocol, Type};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UdpSocket;

use super::probe::{io_failure, tcp_connect, within, Target};
use super::sched::{Failure, Outcome};
use crate::config::check::DnsType;

/// keepalived's default `helo_name`.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// Reads one SMTP reply (multi-line `250-` continuations) and returns its code.
async fn smtp_reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<u16, Failure> {
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await.map_err(io_failure)?;
        if n == 0 {
            return Err(Failure::Protocol("connection closed".into()));
        }
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| Failure::Protocol(format!("bad reply {:?}", line.trim_end())))?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

/// SMTP_CHECK: a `220` banner, `HELO name` answered `250`, then `QUIT`.
pub async fn smtp_check(t: &Target, helo: &str) -> Outcome {
    let r = within(t.timeout * 3, async {
        let s = tcp_connect(t).await?;
        let (rd, mut wr) = s.into_split();
        let mut rd = BufReader::new(rd);
        let c = within(t.timeout, smtp_reply(&mut rd)).await?;
        if c != 220 {
            return Err(Failure::Protocol(format!("banner {c}")));
        }
        wr.write_all(format!("HELO {helo}\r\n").as_bytes())
            .await
            .map_err(io_failure)?;
        let c = within(t.timeout, smtp_reply(&mut rd)).await?;
        if c != 250 {
            return Err(Failure::Protocol(format!("HELO answered {c}")));
        }
        wr.write_all(b"QUIT\r\n").await.map_err(io_failure)?;
        // The answer to QUIT does not matter.
        let _ = within(t.timeout, smtp_reply(&mut rd)).await;
        Ok(())
    })
    .await;
    match r {
        Ok(()) => Outcome::OK,
        Err(f) => Outcome::Failure(f),
    }
}

async fn udp_socket(t: &Target) -> Result<UdpSocket, Failure> {
    let s = t
        .socket(Type::DGRAM, Protocol::UDP)
        .map_err(|e| Failure::Local(format!("socket: {e}")))?;
    let s = UdpSocket::from_std(s.into()).map_err(|e| Failure::Local(e.to_string()))?;
    s.connect(t.addr).await.map_err(io_failure)?;
    Ok(s)
}

/// DNS query type code.
pub fn qtype_code(t: DnsType) -> u16 {
    match t {
        DnsType::A => 1,
        DnsType::Ns => 2,
        DnsType::Cname => 5,
        DnsType::Soa => 6,
        DnsType::Mx => 15,
        DnsType::Txt => 16,
        DnsType::Aaaa => 28,
        DnsType::Rrsig => 46,
        DnsType::Dnskey => 48,
    }
}

/// A DNS query for `name`/`qtype` with recursion desired.
pub fn dns_query(id: u16, name: &str, qtype: DnsType) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        q.push(l.len() as u8);
        q.extend_from_slice(l);
    }
    q.push(0);
    q.extend_from_slice(&qtype_code(qtype).to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Whether `resp` answers query `id` without error and with an answer
/// (keepalived requires RCODE 0 and at least one answer record).
pub fn dns_ok(id: u16, resp: &[u8]) -> Result<(), Failure> {
    if resp.len() < 12 {
        return Err(Failure::Protocol("short DNS reply".into()));
    }
    if u16::from_be_bytes([resp[0], resp[1]]) != id || resp[2] & 0x80 == 0 {
        return Err(Failure::Protocol("not a reply to our query".into()));
    }
    let rcode = resp[3] & 0x0f;
    if rcode != 0 {
        return Err(Failure::Protocol(format!("RCODE {rcode}")));
    }
    if u16::from_be_bytes([resp[6], resp[7]]) == 0 {
        return Err(Failure::Protocol("no answer".into()));
    }
    Ok(())
}

/// DNS_CHECK: a query over UDP that gets a successful answer.
pub async fn dns_check(t: &Target, name: &str, qtype: DnsType) -> Outcome {
    let r = within(t.timeout, async {
        let s = udp_socket(t).await?;
        let id = random_u16();
        s.send(&dns_query(id, name, qtype))
            .await
            .map_err(io_failure)?;
        let mut buf = [0u8; 4096];
        loop {
            let n = s.recv(&mut buf).await.map_err(io_failure)?;
            if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) != id {
                continue;
            }
            return dns_ok(id, &buf[..n]);
        }
    })
    .await;
    match r {
        Ok(()) => Outcome::OK,
        Err(f) => Outcome::Failure(f),
    }
}

/// Whether a UDP reply matches `require_reply` (`None` in the pattern: any
/// nibble, keepalived's `X`), compared over the shorter of the two.
pub fn reply_matches(reply: &[u8], pattern: &[u8]) -> bool {
    reply.iter().zip(pattern).all(|(a, b)| a == b)
}

/// UDP_CHECK settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    /// Bytes to send (random when not configured).
    pub payload: Option<Vec<u8>>,
    /// `require_reply [HEX]`: a reply is needed (and must match).
    pub require_reply: Option<Vec<u8>>,
    /// `min_reply_length`.
    pub min_len: usize,
    /// `max_reply_length`.
    pub max_len: usize,
}

/// UDP_CHECK: without `require_reply`, up unless an ICMP error (port
/// unreachable...) comes back within the timeout; with it, a reply of the
/// right length and content is needed.
pub async fn udp_check(t: &Target, spec: &UdpSpec) -> Outcome {
    let s = match udp_socket(t).await {
        Ok(s) => s,
        Err(f) => return Outcome::Failure(f),
    };
    let payload = spec
        .payload
        .clone()
        .unwrap_or_else(|| random_u16().to_be_bytes().to_vec());
    if let Err(e) = s.send(&payload).await {
        return Outcome::Failure(io_failure(e));
    }
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(t.timeout, s.recv(&mut buf)).await {
        Err(_) if spec.require_reply.is_none() => Outcome::OK,
        Err(_) => Outcome::Failure(Failure::Timeout),
        Ok(Err(e)) => Outcome::Failure(io_failure(e)),
        Ok(Ok(n)) => {
            let Some(want) = &spec.require_reply else {
                return Outcome::OK;
            };
            let r = &buf[..n];
            if n < spec.min_len || n > spec.max_len {
                return Outcome::Failure(Failure::Protocol(format!("reply length {n}")));
            }
            if !reply_matches(r, want) {
                return Outcome::Failure(Failure::Protocol("reply mismatch".into()));
            }
            Outcome::OK
        }
    }
}

fn random_u16() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u16
}

/// An ICMP (v4) or ICMPv6 echo request.
pub fn echo_request(v6: bool, id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(data);
    if !v6 {
        let ck = checksum(&p);
        p[2..4].copy_from_slice(&ck.to_be_bytes());
    }
    p
}

/// The Internet checksum (RFC 1071).
pub fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether `pkt` (ICMP message, or raw IPv4 packet with its header) is the
/// echo reply to `seq` (and `id` when the socket is raw: ping sockets
/// rewrite the id).
fn is_echo_reply(pkt: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> bool {
    let icmp = if raw && !v6 {
        let ihl = (pkt.first().copied().unwrap_or(0) & 0x0f) as usize * 4;
        pkt.get(ihl..).unwrap_or(&[])
    } else {
        pkt
    };
    if icmp.len() < 8 || icmp[0] != if v6 { 129 } else { 0 } {
        return false;
    }
    let rid = u16::from_be_bytes([icmp[4], icmp[5]]);
    let rseq = u16::from_be_bytes([icmp[6], icmp[7]]);
    rseq == seq && (!raw || rid == id)
}

/// PING_CHECK: one echo request answered within the timeout. Uses an
/// unprivileged ICMP socket when `ping_group_range` allows, else a raw one.
pub async fn ping_check(t: &Target, seq: u16) -> Outcome {
    let v6 = t.addr.is_ipv6();
    let proto = if v6 {
        Protocol::ICMPV6
    } else {
        Protocol::ICMPV4
    };
    let (sock, raw) = match t.socket(Type::DGRAM, proto) {
        Ok(s) => (s, false),
        Err(_) => match t.socket(Type::RAW, proto) {
            Ok(s) => (s, true),
            Err(e) => return Outcome::Failure(Failure::Local(format!("ICMP socket: {e}"))),
        },
    };
    let s = match UdpSocket::from_std(sock.into()) {
        Ok(s) => s,
        Err(e) => return Outcome::Failure(Failure::Local(e.to_string())),
    };
    let id = random_u16();
    let dst = SocketAddr::new(t.addr.ip(), 0);
    let r = within(t.timeout, async {
        s.send_to(&echo_request(v6, id, seq, b"keepalived-rs"), dst)
            .await
            .map_err(io_failure)?;
        let mut buf = [0u8; 2048];
        loop {
            let (n, from) = s.recv_from(&mut buf).await.map_err(io_failure)?;
            if from.ip() == t.addr.ip() && is_echo_reply(&buf[..n], v6, raw, id, seq) {
                return Ok(());
            }
        }
    })
    .await;
    match r {
        Ok(()) => Outcome::OK,
        Err(f) => Outcome::Failure(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_query_layout() {
        let q = dns_query(0x1234, "example.org", DnsType::A);
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..], b"\x07example\x03org\x00\x00\x01\x00\x01");
        let root = dns_query(1, ".", DnsType::Soa);
        assert_eq!(&root[12..], b"\x00\x00\x06\x00\x01");
    }

    #[test]
    fn dns_reply_validation() {
        let mut r = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        assert!(dns_ok(0x1234, &r).is_ok());
        r[3] = 0x83; // NXDOMAIN
        assert!(dns_ok(0x1234, &r).is_err());
        r[3] = 0x80;
        r[7] = 0;
        assert!(dns_ok(0x1234, &r).is_err());
    }

    #[test]
    fn echo_request_checksum_verifies() {
        let p = echo_request(false, 7, 1, b"abc");
        assert_eq!(checksum(&p), 0);
        assert!(is_echo_reply(&[0, 0, 0, 0, 0, 7, 0, 1], false, false, 9, 1));
        assert!(!is_echo_reply(&[0, 0, 0, 0, 0, 7, 0, 1], false, true, 9, 1));
    }
}

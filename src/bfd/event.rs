//! BFD session events from the BFD process to the VRRP and checker
//! processes, over pipes the parent made (keepalived's
//! `bfd_vrrp_event_pipe` / `bfd_checker_event_pipe`).
//!
//! One event is one line, `NAME UP|DOWN SENT_US\n`, well below `PIPE_BUF`
//! so that a write is atomic; `SENT_US` is the sender's `CLOCK_MONOTONIC`
//! in microseconds (keepalived logs the delivery time with `-D`).

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `bfd_instance` name.
    pub name: String,
    /// Up, or down.
    pub up: bool,
    /// When it was sent, `CLOCK_MONOTONIC` µs.
    pub sent_us: u64,
}

impl Event {
    /// The line for the pipe.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{} {} {}\n",
            self.name,
            if self.up { "UP" } else { "DOWN" },
            self.sent_us
        )
        .into_bytes()
    }

    /// keepalived's name of the state in its messages.
    pub fn state_str(&self) -> &'static str {
        if self.up {
            "Up"
        } else {
            "Down"
        }
    }
}

/// Splits bytes read from a pipe into events, keeping a partial line for
/// the next read. Malformed lines are skipped; no input can make it
/// panic or grow without bound.
#[derive(Debug, Default)]
pub struct Decoder {
    partial: Vec<u8>,
}

impl Decoder {
    /// The longest line accepted (a name is at most 31 bytes).
    const MAX_LINE: usize = 128;

    /// A decoder.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Takes bytes, returns the complete events in them.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in data {
            if b == b'\n' {
                if let Some(e) = parse_line(&self.partial) {
                    out.push(e);
                }
                self.partial.clear();
            } else if self.partial.len() < Self::MAX_LINE {
                self.partial.push(b);
            }
        }
        out
    }
}

fn parse_line(l: &[u8]) -> Option<Event> {
    let s = std::str::from_utf8(l).ok()?;
    let mut it = s.split(' ');
    let name = it.next().filter(|n| !n.is_empty())?;
    let up = match it.next()? {
        "UP" => true,
        "DOWN" => false,
        _ => return None,
    };
    let sent_us = it.next().and_then(|t| t.parse().ok()).unwrap_or(0);
    Some(Event {
        name: name.to_string(),
        up,
        sent_us,
    })
}

/// `CLOCK_MONOTONIC` in microseconds.
pub fn monotonic_us() -> u64 {
    // SAFETY: clock_gettime fills the zeroed timespec we own.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        ts
    };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_partial_reads() {
        let a = Event {
            name: "bfd1".into(),
            up: true,
            sent_us: 12,
        };
        let b = Event {
            name: "b2".into(),
            up: false,
            sent_us: 7,
        };
        let mut bytes = a.encode();
        bytes.extend(b"garbage line\n");
        bytes.extend(b.encode());
        let mut d = Decoder::new();
        let (x, y) = bytes.split_at(5);
        let mut got = d.feed(x);
        got.extend(d.feed(y));
        assert_eq!(got, vec![a, b]);
        // An endless line is cut, not stored.
        let long = vec![b'x'; 10_000];
        assert!(d.feed(&long).is_empty());
        assert!(d.partial.len() <= Decoder::MAX_LINE);
    }
}

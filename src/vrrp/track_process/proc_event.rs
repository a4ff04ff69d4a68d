//! The kernel's process connector messages (`linux/cn_proc.h`), parsed
//! from bytes so that the layout lives in one tested place. One message
//! per datagram: a netlink header, a `cn_msg`, a `proc_event`.

/// `CN_IDX_PROC`: the connector index and multicast group.
pub const CN_IDX_PROC: u32 = 1;
/// `CN_VAL_PROC`.
pub const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN`.
pub const MCAST_LISTEN: u32 = 1;
/// `PROC_CN_MCAST_IGNORE`.
pub const MCAST_IGNORE: u32 = 2;

const NLMSG_HDRLEN: usize = 16;
const CN_MSG_LEN: usize = 20;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

const EV_NONE: u32 = 0;
const EV_FORK: u32 = 1;
const EV_EXEC: u32 = 2;
const EV_COMM: u32 = 0x200;
const EV_EXIT: u32 = 0x8000_0000;

/// What a process event says, for the events keepalived acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    /// `PROC_EVENT_NONE`: the kernel's answer to the listen request.
    Ack,
    /// A new task: thread ids (`pid`) and process ids (`tgid`).
    Fork {
        /// The forking thread.
        parent_pid: i32,
        /// Its process.
        parent_tgid: i32,
        /// The new thread.
        child_pid: i32,
        /// Its process (the thread itself for a new process).
        child_tgid: i32,
    },
    /// A task called execve.
    Exec {
        /// The thread.
        pid: i32,
        /// Its process.
        tgid: i32,
    },
    /// A task changed its comm (prctl PR_SET_NAME).
    Comm {
        /// The thread.
        pid: i32,
        /// Its process.
        tgid: i32,
        /// The new comm.
        comm: Vec<u8>,
    },
    /// A task ended.
    Exit {
        /// The thread.
        pid: i32,
        /// Its process.
        tgid: i32,
    },
    /// Anything else (uid, gid, sid, ptrace, coredump...).
    Other,
}

/// A parsed message with its sequence data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcMessage {
    /// The connector's per-CPU sequence number.
    pub seq: u32,
    /// The CPU the event happened on.
    pub cpu: u32,
    /// The event.
    pub event: ProcEvent,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    u32_at(b, at).map(|v| v as i32)
}

/// One datagram from the connector socket; `None` for what keepalived
/// skips: netlink errors and no-ops, other connectors, a CPU out of range
/// (`num_cpus`), an ack flag that disagrees with the event.
pub fn parse(b: &[u8], num_cpus: u32) -> Option<ProcMessage> {
    let len = u32_at(b, 0)? as usize;
    if len < NLMSG_HDRLEN || len > b.len() {
        return None;
    }
    let ty = u16::from_ne_bytes(b.get(4..6)?.try_into().ok()?);
    if ty == NLMSG_ERROR || ty == NLMSG_NOOP {
        return None;
    }
    let cn = NLMSG_HDRLEN;
    if u32_at(b, cn)? != CN_IDX_PROC || u32_at(b, cn + 4)? != CN_VAL_PROC {
        return None;
    }
    let seq = u32_at(b, cn + 8)?;
    let ack = u32_at(b, cn + 12)?;
    let ev = cn + CN_MSG_LEN;
    let what = u32_at(b, ev)?;
    let cpu = u32_at(b, ev + 4)?;
    if cpu >= num_cpus || (what == EV_NONE) != (ack != 0) {
        return None;
    }
    let d = ev + 16;
    let event = match what {
        EV_NONE => ProcEvent::Ack,
        EV_FORK => ProcEvent::Fork {
            parent_pid: i32_at(b, d)?,
            parent_tgid: i32_at(b, d + 4)?,
            child_pid: i32_at(b, d + 8)?,
            child_tgid: i32_at(b, d + 12)?,
        },
        EV_EXEC => ProcEvent::Exec {
            pid: i32_at(b, d)?,
            tgid: i32_at(b, d + 4)?,
        },
        EV_COMM => {
            let c = b.get(d + 8..d + 24)?;
            let n = c.iter().position(|&x| x == 0).unwrap_or(c.len());
            ProcEvent::Comm {
                pid: i32_at(b, d)?,
                tgid: i32_at(b, d + 4)?,
                comm: c[..n].to_vec(),
            }
        }
        EV_EXIT => ProcEvent::Exit {
            pid: i32_at(b, d)?,
            tgid: i32_at(b, d + 4)?,
        },
        _ => ProcEvent::Other,
    };
    Some(ProcMessage { seq, cpu, event })
}

/// The listen (or ignore) request keepalived sends: a netlink header of
/// type DONE from `pid`, a `cn_msg` for the process connector, the op.
pub fn listen_request(pid: u32, listen: bool) -> Vec<u8> {
    let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&(total as u32).to_ne_bytes());
    v.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    v.extend_from_slice(&0u16.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(&pid.to_ne_bytes());
    for x in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
        v.extend_from_slice(&x.to_ne_bytes());
    }
    v.extend_from_slice(&4u16.to_ne_bytes());
    v.extend_from_slice(&0u16.to_ne_bytes());
    let op = if listen { MCAST_LISTEN } else { MCAST_IGNORE };
    v.extend_from_slice(&op.to_ne_bytes());
    v
}

/// keepalived's per-CPU sequence check: a gap is logged as missed
/// messages (unless a rescan is already due, and `-D` is off).
#[derive(Debug, Clone, Default)]
pub struct SeqCheck {
    last: Vec<Option<u32>>,
}

impl SeqCheck {
    /// For `num_cpus` CPUs.
    pub fn new(num_cpus: u32) -> SeqCheck {
        SeqCheck {
            last: vec![None; num_cpus as usize],
        }
    }

    /// Forgets every CPU's last number (after a rescan).
    pub fn reset(&mut self) {
        self.last.iter_mut().for_each(|l| *l = None);
    }

    /// Records `seq` on `cpu`; the log line when numbers were skipped.
    pub fn see(&mut self, cpu: u32, seq: u32, quiet: bool) -> Option<String> {
        let slot = self.last.get_mut(cpu as usize)?;
        let line = match *slot {
            Some(last) if !quiet && last.wrapping_add(1) != seq => Some(format!(
                "Missed {} messages on CPU {cpu}",
                i64::from(seq) - i64::from(last) - 1
            )),
            _ => None,
        };
        *slot = Some(seq);
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u32, ack: u32, what: u32, cpu: u32, data: &[u32]) -> Vec<u8> {
        let mut v = listen_request(0, true)[..NLMSG_HDRLEN].to_vec();
        v[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        for x in [CN_IDX_PROC, CN_VAL_PROC, seq, ack] {
            v.extend_from_slice(&x.to_ne_bytes());
        }
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&what.to_ne_bytes());
        v.extend_from_slice(&cpu.to_ne_bytes());
        v.extend_from_slice(&[0; 8]);
        for x in data {
            v.extend_from_slice(&x.to_ne_bytes());
        }
        let n = v.len() as u32;
        v[0..4].copy_from_slice(&n.to_ne_bytes());
        v
    }

    #[test]
    fn events_parse_and_bad_ones_are_skipped() {
        let m = parse(&msg(7, 0, EV_EXEC, 1, &[42, 42]), 2).unwrap();
        assert_eq!((m.seq, m.cpu), (7, 1));
        assert_eq!(m.event, ProcEvent::Exec { pid: 42, tgid: 42 });
        let m = parse(&msg(1, 0, EV_FORK, 0, &[1, 1, 9, 9]), 2).unwrap();
        assert!(matches!(m.event, ProcEvent::Fork { child_tgid: 9, .. }));
        let comm = u32::from_ne_bytes(*b"abc\0");
        let m = parse(&msg(1, 0, EV_COMM, 0, &[5, 5, comm, 0, 0, 0]), 2).unwrap();
        assert!(matches!(m.event, ProcEvent::Comm { ref comm, .. } if comm == b"abc"));
        assert_eq!(
            parse(&msg(1, 1, EV_NONE, 0, &[0, 0]), 2).unwrap().event,
            ProcEvent::Ack
        );
        // CPU out of range, ack flag on a real event.
        assert!(parse(&msg(1, 0, EV_EXIT, 2, &[3, 3]), 2).is_none());
        assert!(parse(&msg(1, 1, EV_EXIT, 0, &[3, 3]), 2).is_none());
        assert_eq!(listen_request(5, true).len(), 40);
    }

    #[test]
    fn sequence_gaps_are_reported() {
        let mut s = SeqCheck::new(2);
        assert_eq!(s.see(0, 10, false), None);
        assert_eq!(s.see(0, 11, false), None);
        assert_eq!(
            s.see(0, 14, false).as_deref(),
            Some("Missed 2 messages on CPU 0")
        );
        assert_eq!(s.see(0, 20, true), None);
        assert_eq!(s.see(1, u32::MAX, false), None);
        assert_eq!(s.see(1, 0, false), None);
        assert_eq!(s.see(5, 0, false), None);
    }
}

//! Which processes a `vrrp_track_process` counts: keepalived 2.2.7 matches
//! the name (`/proc/PID/comm`, or argv[0] with `full_command`) and then,
//! with `param_match`, the parameters, on the bytes it read — a command
//! line read only up to the longest configured one plus a byte or two, so
//! that a longer one is seen to differ.

use crate::config::vrrp::{ParamMatch, TrackProcess};

/// One `vrrp_track_process` as the tracker matches and counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Its name (`vrrp_track_process NAME`).
    pub name: String,
    /// `process NAME`: compared with comm or argv[0].
    pub path: Vec<u8>,
    /// `process NAME ARGS...`: the arguments, each followed by a NUL, as
    /// they appear in `/proc/PID/cmdline`.
    pub params: Option<Vec<u8>>,
    /// `param_match`.
    pub param_match: ParamMatch,
    /// `full_command`: match argv[0] rather than comm.
    pub full_command: bool,
    /// `quorum`: fewest matching processes for the tracker to be up.
    pub quorum: u32,
    /// `quorum_max` (`u32::MAX` when unset): most.
    pub quorum_max: u32,
    /// `fork_delay` in µs (0: none): a fork reaching quorum counts later.
    pub fork_delay: u64,
    /// `terminate_delay` in µs (0: none): an exit losing quorum counts later.
    pub terminate_delay: u64,
    /// `weight` (the default for instances tracking it).
    pub weight: i32,
    /// `weight ... reverse`.
    pub reverse: bool,
}

impl ProcessSpec {
    /// The spec of a parsed `vrrp_track_process`.
    pub fn from_config(t: &TrackProcess) -> ProcessSpec {
        let path = t.process.first().cloned().unwrap_or_default().into_bytes();
        let params = (t.process.len() > 1).then(|| {
            let mut v = Vec::new();
            for a in &t.process[1..] {
                v.extend_from_slice(a.as_bytes());
                v.push(0);
            }
            v
        });
        let micros = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_micros() as u64);
        ProcessSpec {
            name: t.name.clone(),
            path,
            params,
            param_match: t.param_match,
            full_command: t.full_command,
            quorum: t.quorum,
            quorum_max: t.quorum_max.unwrap_or(u32::MAX),
            fork_delay: micros(t.fork_delay),
            terminate_delay: micros(t.terminate_delay),
            weight: i32::from(t.weight.value),
            reverse: t.weight.reverse,
        }
    }

    /// keepalived's contribution to `vrrp_max_process_name_len`: the name
    /// and each parameter with their NULs.
    fn name_len(&self) -> usize {
        self.path.len() + 1 + self.params.as_ref().map_or(0, Vec::len)
    }

    /// Whether a process with this comm and command line counts. `comm`
    /// is `None` where keepalived has none (a full-command spec needs
    /// `cmdline` only).
    pub fn matches(&self, comm: Option<&[u8]>, cmdline: &[u8]) -> Match {
        let name = if self.full_command {
            until_nul(cmdline)
        } else {
            match comm {
                Some(c) => until_nul(c),
                None => return Match::Name(false),
            }
        };
        if name != self.path.as_slice() {
            return Match::Name(false);
        }
        if self.param_match == ParamMatch::None {
            return Match::Name(true);
        }
        // keepalived: the parameters start after argv[0]'s NUL and run to
        // the end of what was read (negative when no NUL was read).
        let params_len = cmdline.len() as isize - name.len() as isize - 1;
        let start = (name.len() + 1).min(cmdline.len());
        Match::Params(self.check_params(&cmdline[start..], params_len))
    }

    /// keepalived's `check_params`.
    fn check_params(&self, got: &[u8], got_len: isize) -> bool {
        let want = self.params.as_deref();
        let want_len = want.map_or(0, <[u8]>::len) as isize;
        if self.param_match == ParamMatch::Exact && want.is_none() && got_len == 0 {
            return true;
        }
        if got_len < want_len {
            return false;
        }
        let prefix = |n: usize| want.is_none_or(|w| got.len() >= n && got[..n] == w[..n]);
        match self.param_match {
            ParamMatch::Exact => got_len == want_len && prefix(want_len as usize),
            _ if want.is_none() => true,
            ParamMatch::Partial => prefix(want_len as usize),
            // Initial: the last parameter may be longer than configured.
            _ => want_len == 1 || prefix(want_len as usize - 1),
        }
    }
}

/// What matching found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Decided on the name alone.
    Name(bool),
    /// The name matched; the parameters did (true) or did not.
    Params(bool),
}

/// The bytes before the first NUL.
fn until_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

/// What the tracked processes need read from /proc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reads {
    /// Some spec matches comm.
    pub comm: bool,
    /// Some spec matches the command line.
    pub cmdline: bool,
    /// keepalived's `vrrp_max_process_name_len`.
    pub max_name_len: usize,
}

impl Reads {
    /// What `specs` need.
    pub fn of(specs: &[ProcessSpec]) -> Reads {
        Reads {
            comm: specs.iter().any(|s| !s.full_command),
            cmdline: specs.iter().any(|s| s.full_command),
            max_name_len: specs.iter().map(ProcessSpec::name_len).max().unwrap_or(0),
        }
    }

    /// Bytes of `/proc/PID/cmdline` read by the start-up scan.
    pub fn scan_cmdline_len(&self) -> usize {
        self.max_name_len + 1
    }

    /// Bytes of `/proc/PID/cmdline` read on an exec event.
    pub fn event_cmdline_len(&self) -> usize {
        self.max_name_len + 2
    }
}

/// The comm of `/proc/PID/stat` (first 127 bytes) as keepalived's scan
/// takes it: from the first `(` after the start to the next `)`; `None`
/// for a zombie or an unreadable line.
pub fn stat_comm(stat: &[u8]) -> Option<&[u8]> {
    let stat = &stat[..stat.len().min(127)];
    let stat = stat.strip_suffix(b"\n").unwrap_or(stat);
    let open = 2 + stat.get(2..)?.iter().position(|&c| c == b'(')?;
    let close = open + stat[open..].iter().position(|&c| c == b')')?;
    // keepalived looks two bytes past ')' for the state (a NUL if short).
    if stat.get(close + 2) == Some(&b'Z') {
        return None;
    }
    Some(&stat[open + 1..close])
}

/// `/proc/PID/comm` (read up to 16 bytes) without its newline.
pub fn comm_file(b: &[u8]) -> &[u8] {
    let b = &b[..b.len().min(16)];
    b.strip_suffix(b"\n").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(process: &[&str], pm: ParamMatch, full: bool) -> ProcessSpec {
        let t = TrackProcess {
            name: "tp".into(),
            process: process.iter().map(|s| s.to_string()).collect(),
            param_match: pm,
            full_command: full,
            quorum: 1,
            ..Default::default()
        };
        ProcessSpec::from_config(&t)
    }

    /// A command line as read: `len` bytes at most.
    fn read(args: &[&str], len: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for a in args {
            v.extend_from_slice(a.as_bytes());
            v.push(0);
        }
        v.truncate(len);
        v
    }

    fn ok(s: &ProcessSpec, args: &[&str]) -> bool {
        let n = Reads::of(std::slice::from_ref(s)).event_cmdline_len();
        matches!(
            s.matches(Some(b"x"), &read(args, n)),
            Match::Name(true) | Match::Params(true)
        )
    }

    #[test]
    fn names_match_comm_or_argv0() {
        let s = spec(&["sleep"], ParamMatch::None, false);
        assert_eq!(s.matches(Some(b"sleep"), b""), Match::Name(true));
        assert_eq!(s.matches(Some(b"sleepy"), b""), Match::Name(false));
        let s = spec(&["/bin/sleep"], ParamMatch::None, true);
        assert!(ok(&s, &["/bin/sleep", "10"]));
        assert!(!ok(&s, &["sleep", "10"]));
    }

    #[test]
    fn params_exact_partial_initial_as_keepalived() {
        let exact = spec(&["sleep", "100"], ParamMatch::Exact, true);
        assert!(ok(&exact, &["sleep", "100"]));
        assert!(!ok(&exact, &["sleep", "1000"]));
        assert!(!ok(&exact, &["sleep", "100", "x"]));
        assert!(!ok(&exact, &["sleep"]));
        let partial = spec(&["sleep", "100"], ParamMatch::Partial, true);
        assert!(ok(&partial, &["sleep", "100", "x"]));
        assert!(!ok(&partial, &["sleep", "1000"]));
        let initial = spec(&["sleep", "100"], ParamMatch::Initial, true);
        assert!(ok(&initial, &["sleep", "1000"]));
        assert!(ok(&initial, &["sleep", "100", "x"]));
        assert!(!ok(&initial, &["sleep", "10"]));
        // `param_match` alone: exactly no parameters.
        let none = spec(&["sleep"], ParamMatch::Exact, true);
        assert!(ok(&none, &["sleep"]));
        assert!(!ok(&none, &["sleep", "1"]));
        let any = spec(&["sleep"], ParamMatch::Partial, true);
        assert!(ok(&any, &["sleep", "1"]));
    }

    #[test]
    fn stat_comm_as_the_scan_reads_it() {
        assert_eq!(stat_comm(b"12 (sleep) S 1 2"), Some(&b"sleep"[..]));
        assert_eq!(stat_comm(b"12 (a b) R 1"), Some(&b"a b"[..]));
        // The first ')' ends it, as in keepalived.
        assert_eq!(stat_comm(b"12 (a)b) S 1"), Some(&b"a"[..]));
        assert_eq!(stat_comm(b"12 (defunct) Z 1"), None);
        assert_eq!(stat_comm(b"12 sleep"), None);
        assert_eq!(comm_file(b"sleep\n"), b"sleep");
    }
}

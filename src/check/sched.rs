//! The sans-IO state machine of one health checker: retry counting, up/down
//! transitions, `delay_before_retry` versus `delay_loop` scheduling, warmup
//! and alpha, exactly as keepalived 2.2's checker epilogues do it.
//!
//! Nothing here touches a socket or a clock. The driver asks
//! [`CheckerSm::poll_timeout`] when to wake up, calls
//! [`CheckerSm::handle_timeout`] at that time to learn whether a probe must
//! run, runs it, and feeds the result back with [`CheckerSm::handle_outcome`],
//! which returns the [`Event`]s (log lines, state reports, weight changes) for
//! the real-server aggregation in [`super::pool`].
//!
//! Three scheduling families exist in keepalived and are reproduced here:
//!
//! * [`Policy::Simple`] (TCP, SMTP, DNS, UDP, PING): after a failure while
//!   retries remain, probe again after `delay_before_retry`; once `retry`
//!   retries have failed the checker goes down and is probed every
//!   `delay_loop`. The next probe is timed from the end of the previous one.
//!   For TCP, UDP and PING the first probe decides at once (keepalived
//!   2.2.7 measured in the IPVS VM: `TCP_CHECK on service … failed.` at the
//!   first failure, even with `retry 2`).
//! * [`Policy::Misc`]: failures only count while up; the next run is timed
//!   from the *start* of the previous one.
//! * [`Policy::Http`]: several URLs, one per probe; all must pass. While
//!   recovering, one URL is checked per `delay_loop` unless `fast_recovery`.

use std::time::{Duration, Instant};

/// Which keepalived epilogue a checker follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `tcp_epilog`-style (TCP, SMTP, DNS, UDP, PING).
    Simple {
        /// The first probe's failure takes the checker down with no retry
        /// (TCP, UDP, PING).
        first_decides: bool,
    },
    /// MISC_CHECK.
    Misc {
        /// `misc_dynamic`.
        dynamic: bool,
    },
    /// HTTP_GET / SSL_GET.
    Http {
        /// Number of `url` blocks (at least 1).
        urls: usize,
        /// `fast_recovery`.
        fast_recovery: bool,
    },
}

/// The timers and counters of a checker, with defaults already resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// `delay_loop`.
    pub delay_loop: Duration,
    /// `delay_before_retry`.
    pub delay_before_retry: Duration,
    /// `retry`: failed retries before a checker that is up goes down.
    pub retry: u32,
    /// `warmup`: the first probe is at a random time in `[0, warmup]`.
    pub warmup: Duration,
}

/// The wording of a checker's log lines (keepalived's, per checker type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// `[ip]:proto:port` of what is checked (keepalived's `FMT_CHK`).
    pub target: String,
    /// The checker family.
    pub kind: WordKind,
}

/// Checker families with their own messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WordKind {
    /// TCP_CHECK.
    Tcp,
    /// HTTP_GET / SSL_GET, with the url paths.
    Http(Vec<String>),
    /// SMTP_CHECK.
    Smtp,
    /// MISC_CHECK: the real server address and the script's argv\[0\].
    Misc {
        /// Real server address as printed (no brackets).
        rs: String,
        /// The script's first word.
        script: String,
    },
    /// DNS_CHECK.
    Dns,
    /// UDP_CHECK.
    Udp,
    /// PING_CHECK, with the virtual server as printed (its failure line
    /// names it).
    Ping {
        /// `FMT_VS`.
        vs: String,
    },
}

impl Wording {
    fn prefix(&self) -> &'static str {
        match self.kind {
            WordKind::Tcp => "TCP_CHECK",
            WordKind::Http(_) => "HTTP_CHECK",
            WordKind::Smtp => "SMTP_CHECK",
            WordKind::Misc { .. } => "MISC_CHECK",
            WordKind::Dns => "DNS_CHECK",
            WordKind::Udp => "UDP_CHECK",
            WordKind::Ping { .. } => "ICMP CHECK",
        }
    }

    /// The line logged when the checker comes up.
    pub fn success(&self) -> String {
        let t = &self.target;
        match &self.kind {
            WordKind::Tcp => format!("TCP connection to {t} success."),
            WordKind::Http(_) => format!("Remote Web server {t} succeed on service."),
            WordKind::Smtp => format!("Remote SMTP server {t} succeed on service."),
            WordKind::Misc { rs, script } => {
                format!("Misc check to [{rs}] for [{script}] succeeded.")
            }
            WordKind::Dns => format!("DNS_CHECK to {t} succeeded."),
            WordKind::Udp => format!("UDP connection to {t} success."),
            WordKind::Ping { .. } => format!("ICMP connection to {t} success."),
        }
    }

    /// The line logged when the checker goes down.
    pub fn failed(&self, retries: Option<u32>, reason: &Failure) -> String {
        let t = &self.target;
        if let WordKind::Misc { rs, script } = &self.kind {
            return match reason {
                Failure::Exit(c) => {
                    format!("Misc check to [{rs}] for [{script}] failed (exited with status {c}).")
                }
                Failure::Signal(s) => {
                    format!("Misc check to [{rs}] for [{script}] failed (due to signal {s}).")
                }
                Failure::TimedOut => format!("Misc check to [{rs}] for [{script}] timed out."),
                other => format!("Misc check to [{rs}] for [{script}] failed ({other})."),
            };
        }
        if let (WordKind::Ping { vs }, Some(n)) = (&self.kind, retries) {
            return format!("ICMP CHECK on service {t} of {vs} failed after {n} retries.");
        }
        match retries {
            Some(n) => format!("{} on service {t} failed after {n} retries.", self.prefix()),
            None => format!("{} on service {t} failed.", self.prefix()),
        }
    }

    /// The line logged for one failed probe of a checker that is up, with
    /// `log_all_failures`.
    pub fn probe_failed(&self, reason: &Failure) -> String {
        let t = &self.target;
        match (&self.kind, reason) {
            (WordKind::Tcp, Failure::Timeout) => format!("TCP connection to {t} timedout."),
            (WordKind::Tcp, _) => format!("TCP connection to {t} failed."),
            (WordKind::Udp, Failure::Protocol(_)) => {
                format!("UDP check to {t} reply data mismatch.")
            }
            (WordKind::Udp, _) => format!("UDP connection to {t} failed."),
            (WordKind::Http(_), r) => format!("{} server {t}.", r.http_phrase()),
            (_, r) => format!("{} on service {t}: {r}.", self.prefix()),
        }
    }

    /// The body of the SMTP alert for an up/down transition.
    pub fn smtp_body(&self, up: bool) -> String {
        let s = if up { "succeed" } else { "failed" };
        match &self.kind {
            WordKind::Tcp => format!("=> TCP CHECK {s} on service <="),
            WordKind::Http(_) if up => "=> CHECK succeed on service <=".to_string(),
            WordKind::Http(_) => "=> CHECK failed on service : HTTP request failed <=".to_string(),
            WordKind::Smtp => format!("=> SMTP CHECK {s} on service <="),
            WordKind::Misc { .. } => {
                format!(
                    "=> MISC CHECK {} on service <=",
                    if up { "succeeded" } else { "failed" }
                )
            }
            WordKind::Dns => format!("=> DNS CHECK {s} on service <="),
            WordKind::Udp => format!("=> UDP CHECK {s} on service <="),
            WordKind::Ping { .. } => format!("=> ICMP CHECK {s} on service <="),
        }
    }
}

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing within `connect_timeout` (or the script's timeout).
    Timeout,
    /// Connection refused, unreachable, reset...
    Connect(String),
    /// The peer answered something unexpected.
    Protocol(String),
    /// HTTP status code not in the accepted set.
    Status(u16),
    /// HTTP body MD5 differs from `digest`.
    Digest(String),
    /// HTTP: the url's `regex` did not match (or matched, with
    /// `regex_no_match`).
    Regex,
    /// HTTP: no data at all.
    NoData,
    /// MISC: exit status.
    Exit(i32),
    /// MISC: killed by a signal we did not send.
    Signal(i32),
    /// MISC: ran past `misc_timeout`.
    TimedOut,
    /// The probe could not be started (socket, bind, spawn).
    Local(String),
}

impl Failure {
    fn http_phrase(&self) -> String {
        match self {
            Failure::Timeout => "Timeout connecting".into(),
            Failure::Status(c) => format!("HTTP status code error ({c}) to"),
            Failure::Digest(_) => "MD5 digest error to".into(),
            Failure::Regex => "Regex match failed".into(),
            Failure::NoData => "Read, no data received from".into(),
            Failure::Connect(e) => format!("Error connecting ({e})"),
            other => format!("{other} with"),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connect(e) => write!(f, "connection failed: {e}"),
            Failure::Protocol(e) => write!(f, "unexpected reply: {e}"),
            Failure::Status(c) => write!(f, "HTTP status code {c}"),
            Failure::Digest(d) => write!(f, "MD5 digest {d}"),
            Failure::Regex => f.write_str("regex match failed"),
            Failure::NoData => f.write_str("no data received"),
            Failure::Exit(c) => write!(f, "exited with status {c}"),
            Failure::Signal(s) => write!(f, "due to signal {s}"),
            Failure::TimedOut => f.write_str("timed out"),
            Failure::Local(e) => write!(f, "{e}"),
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered as required.
    Success {
        /// MISC_CHECK with `misc_dynamic`: the exit status (2-255 sets the
        /// weight to status - 2; 0 leaves it).
        status: Option<u8>,
        /// HTTP: what matched ("HTTP status code", "MD5 digest").
        what: &'static str,
    },
    /// It did not.
    Failure(Failure),
}

impl Outcome {
    /// A plain success.
    pub const OK: Outcome = Outcome::Success {
        status: None,
        what: "",
    };
}

/// What the checker tells the real-server aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A log line, keepalived's wording.
    Log(String),
    /// keepalived's `update_svr_checker_state`: the checker is (still) up
    /// or down; `smtp` is the alert body to send if the RS alerts by mail.
    State {
        /// Up or down.
        up: bool,
        /// Body of the RS SMTP alert.
        smtp: String,
    },
    /// MISC `misc_dynamic`: the checker wants the RS weight set to this.
    Weight(i64),
}

/// What the driver must do when [`CheckerSm::handle_timeout`] fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// HTTP: index of the URL to fetch (0 for other checkers).
    pub url: usize,
}

/// What a checker has done so far, as keepalived's dump shows it
/// (`Has run`, `Retries iterations`, `Failed URL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// A probe has completed.
    pub has_run: bool,
    /// keepalived's `retry_it`: the failed retries counted; `retry` until
    /// the first probe (keepalived starts there, so that one failure at
    /// start-up is enough).
    pub retry_it: u32,
    /// HTTP: the index of the URL that failed, while it is retried.
    pub failed_url: Option<u16>,
}

/// One checker's state.
#[derive(Debug, Clone)]
pub struct CheckerSm {
    policy: Policy,
    timing: Timing,
    wording: Wording,
    log_all_failures: bool,
    is_up: bool,
    has_run: bool,
    retry_it: u32,
    enabled: bool,
    next: Option<Instant>,
    running_since: Option<Instant>,
    url_it: usize,
    failed_url: Option<usize>,
    initial_reported: bool,
}

impl CheckerSm {
    /// A checker that starts up, or down with `alpha`.
    pub fn new(
        policy: Policy,
        timing: Timing,
        wording: Wording,
        alpha: bool,
        log_all_failures: bool,
    ) -> CheckerSm {
        CheckerSm {
            policy,
            timing,
            wording,
            log_all_failures,
            is_up: !alpha,
            has_run: false,
            retry_it: 0,
            enabled: true,
            next: None,
            running_since: None,
            url_it: 0,
            failed_url: None,
            initial_reported: false,
        }
    }

    /// Schedules the first probe at `now + warmup × frac` where `frac` in
    /// `[0, 1]` comes from the caller's random source (keepalived spreads
    /// first checks over `warmup` so that they don't all start at once).
    pub fn start(&mut self, now: Instant, frac: f64) {
        let frac = frac.clamp(0.0, 1.0);
        self.next = Some(now + self.timing.warmup.mul_f64(frac));
    }

    /// Whether the checker currently counts as up.
    pub fn is_up(&self) -> bool {
        self.is_up
    }

    /// What it has done so far (for the dumps).
    pub fn progress(&self) -> Progress {
        Progress {
            has_run: self.has_run,
            retry_it: if self.has_run {
                self.retry_it
            } else {
                self.timing.retry
            },
            failed_url: self
                .failed_url
                .map(|u| u16::try_from(u).unwrap_or(u16::MAX)),
        }
    }

    /// When the running probe started, if one is running.
    pub fn running_since(&self) -> Option<Instant> {
        self.running_since
    }

    /// The resolved timers.
    pub fn timing(&self) -> Timing {
        self.timing
    }

    /// Its log wording.
    pub fn wording(&self) -> &Wording {
        &self.wording
    }

    /// `ha_suspend`: a disabled checker does not probe and keeps its state;
    /// it looks again every `delay_loop`.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// When [`Self::handle_timeout`] must next be called; `None` while a
    /// probe is running or before [`Self::start`].
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.running_since.is_some() {
            None
        } else {
            self.next
        }
    }

    /// Called at (or after) [`Self::poll_timeout`]: returns the probe to run,
    /// or `None` if it is not yet time or the checker is disabled.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Probe> {
        let due = self.next?;
        if now < due || self.running_since.is_some() {
            return None;
        }
        if !self.enabled {
            self.next = Some(now + self.timing.delay_loop);
            return None;
        }
        self.running_since = Some(now);
        self.next = None;
        Some(Probe { url: self.url_it })
    }

    /// Feeds the result of the probe started by [`Self::handle_timeout`];
    /// `now` is when it finished.
    pub fn handle_outcome(&mut self, now: Instant, outcome: Outcome) -> Vec<Event> {
        let started = self.running_since.take().unwrap_or(now);
        let mut ev = Vec::new();
        match self.policy {
            Policy::Simple { first_decides } => self.simple(now, first_decides, outcome, &mut ev),
            Policy::Misc { dynamic } => self.misc(now, started, dynamic, outcome, &mut ev),
            Policy::Http {
                urls,
                fast_recovery,
            } => self.http(now, urls.max(1), fast_recovery, outcome, &mut ev),
        }
        ev
    }

    fn state(&mut self, up: bool, ev: &mut Vec<Event>) {
        ev.push(Event::State {
            up,
            smtp: self.wording.smtp_body(up),
        });
        self.is_up = up;
    }

    /// keepalived's `tcp_epilog`.
    fn simple(&mut self, now: Instant, first_decides: bool, outcome: Outcome, ev: &mut Vec<Event>) {
        let success = matches!(outcome, Outcome::Success { .. });
        if let Outcome::Failure(f) = &outcome {
            if self.is_up && self.log_all_failures {
                ev.push(Event::Log(self.wording.probe_failed(f)));
            }
        }
        let mut delay = self.timing.delay_loop;
        let no_retry_left = self.retry_it >= self.timing.retry || (first_decides && !self.has_run);
        if success || ((self.is_up || !self.has_run) && no_retry_left) {
            self.retry_it = 0;
            if success && (!self.is_up || !self.has_run) {
                ev.push(Event::Log(self.wording.success()));
                self.state(true, ev);
            } else if !success && (self.is_up || !self.has_run) {
                let retries = (self.timing.retry > 0 && self.has_run).then_some(self.timing.retry);
                let f = match &outcome {
                    Outcome::Failure(f) => f.clone(),
                    Outcome::Success { .. } => Failure::Timeout,
                };
                ev.push(Event::Log(self.wording.failed(retries, &f)));
                self.state(false, ev);
            }
        } else if self.is_up {
            delay = self.timing.delay_before_retry;
            self.retry_it += 1;
        }
        self.has_run = true;
        self.next = Some(now + delay);
    }

    /// keepalived's `misc_check_child_thread` result handling.
    fn misc(
        &mut self,
        now: Instant,
        started: Instant,
        dynamic: bool,
        outcome: Outcome,
        ev: &mut Vec<Event>,
    ) {
        match outcome {
            Outcome::Success { status, .. } => {
                if let Some(s) = status.filter(|&s| dynamic && s >= 2) {
                    ev.push(Event::Weight(s as i64 - 2));
                }
                if !self.is_up || !self.initial_reported {
                    self.initial_reported = true;
                    ev.push(Event::Log(self.wording.success()));
                    self.state(true, ev);
                }
                self.retry_it = 0;
            }
            Outcome::Failure(f) => {
                if self.is_up {
                    if self.retry_it < self.timing.retry {
                        self.retry_it += 1;
                    } else {
                        ev.push(Event::Log(self.wording.failed(None, &f)));
                        self.state(false, ev);
                        self.retry_it = 0;
                    }
                }
            }
        }
        self.has_run = true;
        let delay = if self.retry_it > 0 {
            self.timing.delay_before_retry
        } else {
            self.timing.delay_loop
        };
        let at = started + delay;
        self.next = Some(if at <= now {
            now + Duration::from_micros(1)
        } else {
            at
        });
    }

    /// keepalived's HTTP `epilog` / `timeout_epilog`.
    fn http(
        &mut self,
        now: Instant,
        urls: usize,
        fast_recovery: bool,
        outcome: Outcome,
        ev: &mut Vec<Event>,
    ) {
        let delay;
        match outcome {
            Outcome::Success { what, .. } => {
                if !self.is_up {
                    let path = match &self.wording.kind {
                        WordKind::Http(p) => p.get(self.url_it).cloned().unwrap_or_default(),
                        _ => String::new(),
                    };
                    let what = if what.is_empty() {
                        "HTTP status code"
                    } else {
                        what
                    };
                    ev.push(Event::Log(format!(
                        "{what} success to {} url({path})",
                        self.wording.target
                    )));
                }
                self.url_it += 1;
                self.retry_it = 0;
                if self.url_it >= urls && self.failed_url.is_none() {
                    if !self.is_up || !self.has_run {
                        ev.push(Event::Log(self.wording.success()));
                        self.state(true, ev);
                        self.has_run = true;
                    }
                    self.url_it = 0;
                    self.retry_it = 0;
                } else if self.failed_url.is_some() {
                    // The failed URL works again: check them all.
                    self.failed_url = None;
                    self.url_it = 0;
                    self.retry_it = 0;
                }
                if self.url_it >= urls {
                    self.url_it = 0;
                }
                if !self.has_run {
                    // At start-up a single failure of a later URL is enough.
                    self.retry_it = self.timing.retry;
                }
                delay = self.timing.delay_loop;
            }
            Outcome::Failure(f) => {
                if self.is_up || !self.has_run {
                    if self.log_all_failures {
                        ev.push(Event::Log(self.wording.probe_failed(&f)));
                    }
                    self.has_run = true;
                    self.retry_it += 1;
                    if self.retry_it > self.timing.retry {
                        if self.is_up {
                            let retries = (self.timing.retry > 0).then_some(self.retry_it - 1);
                            ev.push(Event::Log(self.wording.failed(retries, &f)));
                            self.state(false, ev);
                        }
                        self.failed_url = Some(self.url_it);
                    }
                }
                delay = if self.failed_url.is_some() {
                    self.timing.delay_before_retry.max(self.timing.delay_loop)
                } else {
                    self.timing.delay_before_retry
                };
            }
        }
        let fast = fast_recovery && (!self.has_run || (!self.is_up && self.failed_url.is_none()));
        self.next = Some(if fast { now } else { now + delay });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn timing(retry: u32) -> Timing {
        Timing {
            delay_loop: 6 * S,
            delay_before_retry: 2 * S,
            retry,
            warmup: Duration::ZERO,
        }
    }

    fn tcp(retry: u32, alpha: bool) -> CheckerSm {
        CheckerSm::new(
            Policy::Simple {
                first_decides: true,
            },
            timing(retry),
            Wording {
                target: "[10.0.0.2]:tcp:80".into(),
                kind: WordKind::Tcp,
            },
            alpha,
            false,
        )
    }

    fn fail() -> Outcome {
        Outcome::Failure(Failure::Connect("refused".into()))
    }

    /// Runs the probe due at the checker's next timeout with `o`, returning
    /// the probe time and the events.
    fn step(c: &mut CheckerSm, o: Outcome) -> (Instant, Vec<Event>) {
        let t = c.poll_timeout().expect("scheduled");
        assert!(c.handle_timeout(t).is_some());
        (t, c.handle_outcome(t, o))
    }

    fn states(ev: &[Event]) -> Vec<bool> {
        ev.iter()
            .filter_map(|e| match e {
                Event::State { up, .. } => Some(*up),
                _ => None,
            })
            .collect()
    }

    fn logs(ev: &[Event]) -> Vec<String> {
        ev.iter()
            .filter_map(|e| match e {
                Event::Log(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    /// The dump's view: `retry` before the first probe (keepalived's
    /// start), then the retries counted while up, reset by a success.
    #[test]
    fn progress_follows_the_probes() {
        let t0 = Instant::now();
        let mut c = tcp(2, false);
        assert_eq!(
            c.progress(),
            Progress {
                has_run: false,
                retry_it: 2,
                failed_url: None
            }
        );
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        assert_eq!((c.progress().has_run, c.progress().retry_it), (true, 0));
        step(&mut c, fail());
        assert_eq!(c.progress().retry_it, 1);
        assert!(c.running_since().is_none());
        let t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
        assert_eq!(c.running_since(), Some(t));
        c.handle_outcome(t, Outcome::OK);
        assert_eq!(c.progress().retry_it, 0);
    }

    #[test]
    fn first_success_reports_up_once() {
        let t0 = Instant::now();
        let mut c = tcp(1, false);
        c.start(t0, 0.0);
        let (t, ev) = step(&mut c, Outcome::OK);
        assert_eq!(t, t0);
        assert_eq!(logs(&ev), ["TCP connection to [10.0.0.2]:tcp:80 success."]);
        assert_eq!(states(&ev), [true]);
        // Later successes are silent and come every delay_loop.
        let (t2, ev) = step(&mut c, Outcome::OK);
        assert_eq!(t2 - t, 6 * S);
        assert!(ev.is_empty());
    }

    #[test]
    fn down_after_retry_failures_spaced_by_delay_before_retry() {
        // "retry N: failed retries before a checker that is up goes down".
        let t0 = Instant::now();
        let mut c = tcp(3, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        let (f1, ev) = step(&mut c, fail());
        assert!(ev.is_empty());
        let mut prev = f1;
        for _ in 0..2 {
            let (t, ev) = step(&mut c, fail());
            assert_eq!(t - prev, 2 * S, "retries come after delay_before_retry");
            assert!(ev.is_empty());
            prev = t;
        }
        let (t, ev) = step(&mut c, fail());
        assert_eq!(t - prev, 2 * S);
        assert_eq!(
            logs(&ev),
            ["TCP_CHECK on service [10.0.0.2]:tcp:80 failed after 3 retries."]
        );
        assert_eq!(states(&ev), [false]);
        assert!(!c.is_up());
        // Down: next probe after delay_loop, one success brings it back.
        let (t2, ev) = step(&mut c, Outcome::OK);
        assert_eq!(t2 - t, 6 * S);
        assert_eq!(states(&ev), [true]);
    }

    #[test]
    fn down_checker_is_probed_every_delay_loop() {
        // No retries while down: failures are spaced by delay_loop.
        let t0 = Instant::now();
        let mut c = tcp(2, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        for _ in 0..3 {
            step(&mut c, fail());
        }
        assert!(!c.is_up());
        let (a, ev) = step(&mut c, fail());
        assert!(ev.is_empty());
        let (b, ev) = step(&mut c, fail());
        assert!(ev.is_empty());
        assert_eq!(b - a, 6 * S);
    }

    #[test]
    fn alpha_with_retry_zero_reports_initial_failure() {
        let t0 = Instant::now();
        let mut c = tcp(0, true);
        c.start(t0, 0.0);
        let (_, ev) = step(&mut c, fail());
        assert_eq!(
            logs(&ev),
            ["TCP_CHECK on service [10.0.0.2]:tcp:80 failed."]
        );
        assert_eq!(states(&ev), [false]);
    }

    #[test]
    fn retry_zero_fails_at_once() {
        let t0 = Instant::now();
        let mut c = tcp(0, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        let (_, ev) = step(&mut c, fail());
        assert_eq!(
            logs(&ev),
            ["TCP_CHECK on service [10.0.0.2]:tcp:80 failed."]
        );
    }

    #[test]
    fn success_during_retries_resets_counter() {
        let t0 = Instant::now();
        let mut c = tcp(1, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        step(&mut c, fail());
        let (_, ev) = step(&mut c, Outcome::OK);
        assert!(ev.is_empty());
        let (_, ev) = step(&mut c, fail());
        assert!(ev.is_empty(), "the counter restarted");
        let (_, ev) = step(&mut c, fail());
        assert_eq!(states(&ev), [false]);
    }

    #[test]
    fn alpha_starts_down_and_first_success_brings_up() {
        let t0 = Instant::now();
        let mut c = tcp(1, true);
        assert!(!c.is_up());
        c.start(t0, 0.0);
        let (_, ev) = step(&mut c, Outcome::OK);
        assert_eq!(states(&ev), [true]);
    }

    /// keepalived 2.2.7 (IPVS VM, `retry 2`): the first TCP probe's
    /// failure is final, `TCP_CHECK on service … failed.` with no retry,
    /// whether the checker starts up or (alpha) down; an alpha one's
    /// state report is the initial DOWN notification (FIFO `RS … DOWN`).
    #[test]
    fn first_tcp_probe_failing_is_final() {
        for alpha in [false, true] {
            let t0 = Instant::now();
            let mut c = tcp(2, alpha);
            c.start(t0, 0.0);
            let (t, ev) = step(&mut c, fail());
            assert_eq!(
                logs(&ev),
                ["TCP_CHECK on service [10.0.0.2]:tcp:80 failed."],
                "alpha {alpha}"
            );
            assert_eq!(states(&ev), [false]);
            // Down: probed every delay_loop, silently.
            let (t2, ev) = step(&mut c, fail());
            assert_eq!(t2 - t, 6 * S);
            assert!(ev.is_empty());
        }
    }

    /// SMTP (and DNS) keep their retries at start-up.
    #[test]
    fn first_probe_of_other_simple_checkers_is_retried() {
        let t0 = Instant::now();
        let mut c = tcp(1, false);
        c.policy = Policy::Simple {
            first_decides: false,
        };
        c.start(t0, 0.0);
        let (t, ev) = step(&mut c, fail());
        assert!(ev.is_empty());
        let (t2, ev) = step(&mut c, fail());
        assert_eq!(t2 - t, 2 * S, "after delay_before_retry");
        assert_eq!(states(&ev), [false]);
    }

    #[test]
    fn warmup_spreads_first_probe() {
        let t0 = Instant::now();
        let mut c = CheckerSm::new(
            Policy::Simple {
                first_decides: true,
            },
            Timing {
                warmup: 10 * S,
                ..timing(1)
            },
            Wording {
                target: "x".into(),
                kind: WordKind::Tcp,
            },
            false,
            false,
        );
        c.start(t0, 0.25);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(2500)));
        assert!(c.handle_timeout(t0 + S).is_none(), "not yet due");
    }

    #[test]
    fn disabled_checker_does_not_probe() {
        let t0 = Instant::now();
        let mut c = tcp(1, false);
        c.start(t0, 0.0);
        c.set_enabled(false);
        assert!(c.handle_timeout(t0).is_none());
        assert_eq!(c.poll_timeout(), Some(t0 + 6 * S));
        c.set_enabled(true);
        assert!(c.handle_timeout(t0 + 6 * S).is_some());
        assert_eq!(c.poll_timeout(), None, "nothing while probing");
    }

    #[test]
    fn log_all_failures_logs_each_failed_probe() {
        let t0 = Instant::now();
        let mut c = CheckerSm::new(
            Policy::Simple {
                first_decides: true,
            },
            timing(2),
            Wording {
                target: "[10.0.0.2]:tcp:80".into(),
                kind: WordKind::Tcp,
            },
            false,
            true,
        );
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        let (_, ev) = step(&mut c, Outcome::Failure(Failure::Timeout));
        assert_eq!(logs(&ev), ["TCP connection to [10.0.0.2]:tcp:80 timedout."]);
    }

    fn misc(retry: u32, dynamic: bool) -> CheckerSm {
        CheckerSm::new(
            Policy::Misc { dynamic },
            timing(retry),
            Wording {
                target: "[10.0.0.2]:tcp:80".into(),
                kind: WordKind::Misc {
                    rs: "10.0.0.2".into(),
                    script: "/bin/chk".into(),
                },
            },
            false,
            false,
        )
    }

    #[test]
    fn misc_reports_initial_state_and_dynamic_weight() {
        let t0 = Instant::now();
        let mut c = misc(0, true);
        c.start(t0, 0.0);
        let t = c.poll_timeout().unwrap();
        c.handle_timeout(t);
        // The script ran for 1 s: the next run is timed from its start.
        let ev = c.handle_outcome(
            t + S,
            Outcome::Success {
                status: Some(12),
                what: "",
            },
        );
        assert_eq!(ev[0], Event::Weight(10));
        assert_eq!(
            logs(&ev),
            ["Misc check to [10.0.0.2] for [/bin/chk] succeeded."]
        );
        assert_eq!(c.poll_timeout(), Some(t + 6 * S));
        let (_, ev) = step(&mut c, Outcome::Failure(Failure::Exit(1)));
        assert_eq!(
            logs(&ev),
            ["Misc check to [10.0.0.2] for [/bin/chk] failed (exited with status 1)."]
        );
        assert_eq!(states(&ev), [false]);
    }

    #[test]
    fn misc_retries_only_while_up() {
        let t0 = Instant::now();
        let mut c = misc(1, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        let (t1, ev) = step(&mut c, Outcome::Failure(Failure::TimedOut));
        assert!(ev.is_empty());
        let (t2, ev) = step(&mut c, Outcome::Failure(Failure::TimedOut));
        assert_eq!(t2 - t1, 2 * S);
        assert_eq!(
            logs(&ev),
            ["Misc check to [10.0.0.2] for [/bin/chk] timed out."]
        );
        let (t3, ev) = step(&mut c, Outcome::Failure(Failure::Exit(1)));
        assert_eq!(t3 - t2, 6 * S);
        assert!(ev.is_empty(), "failures while down are silent");
    }

    fn http(urls: usize, fast: bool, alpha: bool) -> CheckerSm {
        CheckerSm::new(
            Policy::Http {
                urls,
                fast_recovery: fast,
            },
            Timing {
                delay_loop: 6 * S,
                delay_before_retry: 3 * S,
                retry: 1,
                warmup: Duration::ZERO,
            },
            Wording {
                target: "[10.0.0.2]:tcp:80".into(),
                kind: WordKind::Http((0..urls).map(|i| format!("/u{i}")).collect()),
            },
            alpha,
            false,
        )
    }

    #[test]
    fn http_checks_each_url_then_reports_up() {
        let t0 = Instant::now();
        let mut c = http(2, false, false);
        c.start(t0, 0.0);
        let t = c.poll_timeout().unwrap();
        assert_eq!(c.handle_timeout(t), Some(Probe { url: 0 }));
        assert!(c.handle_outcome(t, Outcome::OK).is_empty());
        let t = c.poll_timeout().unwrap();
        assert_eq!(c.handle_timeout(t), Some(Probe { url: 1 }));
        let ev = c.handle_outcome(t, Outcome::OK);
        assert_eq!(
            logs(&ev),
            ["Remote Web server [10.0.0.2]:tcp:80 succeed on service."]
        );
        assert_eq!(states(&ev), [true]);
        let t = c.poll_timeout().unwrap();
        assert_eq!(c.handle_timeout(t), Some(Probe { url: 0 }));
    }

    #[test]
    fn http_down_after_retries_then_recovers_url_by_url() {
        let t0 = Instant::now();
        let mut c = http(2, false, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        step(&mut c, Outcome::OK);
        let (a, ev) = step(&mut c, Outcome::Failure(Failure::Status(500)));
        assert!(ev.is_empty());
        let (b, ev) = step(&mut c, Outcome::Failure(Failure::Status(500)));
        assert_eq!(b - a, 3 * S);
        assert_eq!(
            logs(&ev),
            ["HTTP_CHECK on service [10.0.0.2]:tcp:80 failed after 1 retries."]
        );
        assert_eq!(states(&ev), [false]);
        // The failed URL is retried after max(delay_before_retry, delay_loop).
        let t = c.poll_timeout().unwrap();
        assert_eq!(t - b, 6 * S);
        assert_eq!(c.handle_timeout(t), Some(Probe { url: 0 }));
        let ev = c.handle_outcome(t, Outcome::OK);
        assert_eq!(
            logs(&ev),
            ["HTTP status code success to [10.0.0.2]:tcp:80 url(/u0)"]
        );
        assert!(states(&ev).is_empty());
        // Then all URLs again, one per delay_loop.
        let (_, ev) = step(&mut c, Outcome::OK);
        assert!(states(&ev).is_empty());
        let (_, ev) = step(&mut c, Outcome::OK);
        assert_eq!(states(&ev), [true]);
    }

    #[test]
    fn http_fast_recovery_checks_urls_back_to_back() {
        let t0 = Instant::now();
        let mut c = http(3, true, true);
        c.start(t0, 0.0);
        let (a, _) = step(&mut c, Outcome::OK);
        let (b, _) = step(&mut c, Outcome::OK);
        let (d, ev) = step(&mut c, Outcome::OK);
        assert_eq!((a, b, d), (t0, t0, t0));
        assert_eq!(states(&ev), [true]);
        assert_eq!(c.poll_timeout(), Some(t0 + 6 * S));
    }

    #[test]
    fn http_start_up_failure_after_a_good_url_is_immediate() {
        let t0 = Instant::now();
        let mut c = http(2, false, false);
        c.start(t0, 0.0);
        step(&mut c, Outcome::OK);
        let (_, ev) = step(&mut c, Outcome::Failure(Failure::Timeout));
        assert_eq!(states(&ev), [false]);
    }
}

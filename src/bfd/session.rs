//! BFD sessions in asynchronous mode (RFC 5880 §6.8), as keepalived 2.2.7
//! runs them, without IO: events come in with an explicit `now`, actions
//! (packets to send, state events, log lines) go out.
//!
//! keepalived's particulars kept here:
//!
//! * while not Up, Desired Min TX is `idle_tx` (RFC 5880 §6.8.3: not less
//!   than one second, keepalived lets the user choose); entering Up starts
//!   a Poll Sequence to switch to `min_tx`;
//! * the transmit interval is max(our Desired Min TX, their Required Min
//!   RX) minus 0–25 % jitter (10–25 % when the multiplier is 1, §6.8.7);
//! * the Detection Time is their Detect Mult × max(our Required Min RX,
//!   their Desired Min TX) (§6.8.4); it only changes on a Poll or Final
//!   while Up;
//! * a session that left Up takes a new random discriminator; one Down for
//!   a Detection Time forgets the remote (a "reset");
//! * the VRRP and checker processes hear of Up, and of Down when leaving
//!   Up (not when the neighbour signalled AdminDown);
//! * `passive` sessions send nothing until they reach Init;
//! * `max_hops` extends the GTSM check of RFC 5881 §5: a packet whose
//!   TTL/hop limit is below `ttl - max_hops` is discarded (255: no check).

use std::net::IpAddr;

use super::packet::{DecodeError, Diag, Repr, State};
use crate::vrrp::time::{us, Instant};

/// One session's settings (`bfd_instance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The instance name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip`.
    pub source: Option<IpAddr>,
    /// `min_rx`, µs: our Required Min RX Interval.
    pub min_rx: u32,
    /// `min_tx`, µs: our Desired Min TX Interval while Up.
    pub min_tx: u32,
    /// `idle_tx`, µs: our Desired Min TX Interval while not Up.
    pub idle_tx: u32,
    /// `multiplier`: our Detect Mult.
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// `ttl`/`hoplimit` of sent packets (255 IPv4, 64 IPv6 by default).
    pub ttl: u8,
    /// `max_hops`: how much lower than `ttl` a received TTL may be (255
    /// or -1: any).
    pub max_hops: i32,
}

impl SessionConfig {
    /// The settings of a configured `bfd_instance` (validated by the
    /// parser: it has a neighbour).
    pub fn from_config(b: &crate::config::bfd::BfdInstance) -> Option<SessionConfig> {
        let neighbor = b.neighbor?;
        let micros = |m: crate::config::lvs::Micros| u32::try_from(m.0).unwrap_or(u32::MAX).max(1);
        Some(SessionConfig {
            name: b.name.clone(),
            neighbor,
            source: b.source,
            min_rx: micros(b.min_rx),
            min_tx: micros(b.min_tx),
            idle_tx: micros(b.idle_tx),
            multiplier: b.multiplier.max(1),
            passive: b.passive,
            ttl: b.ttl.unwrap_or(if neighbor.is_ipv4() { 255 } else { 64 }),
            max_hops: b.max_hops.unwrap_or(0),
        })
    }

    /// A test session: 10.0.0.2, 100 ms both ways, idle 1 s, multiplier 3.
    pub fn example(name: &str) -> SessionConfig {
        SessionConfig {
            name: name.into(),
            neighbor: IpAddr::from([10, 0, 0, 2]),
            source: Some(IpAddr::from([10, 0, 0, 1])),
            min_rx: 100_000,
            min_tx: 100_000,
            idle_tx: 1_000_000,
            multiplier: 3,
            passive: false,
            ttl: 255,
            max_hops: 0,
        }
    }
}

/// What a session asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this Control packet to the neighbour.
    Send(Repr),
    /// Tell the VRRP and checker processes the session is up or down.
    Event {
        /// Up (true) or down.
        up: bool,
    },
    /// A line keepalived always logs.
    Log(String),
    /// A line keepalived logs with `-D` only.
    Detail(String),
}

/// Why a received packet was not taken by a session (logged with `-D`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discard {
    /// Malformed (RFC 5880 §6.8.6).
    #[error("Discarding bogus packet from {src} ({err})")]
    Bogus {
        /// Sender.
        src: IpAddr,
        /// What is wrong.
        err: DecodeError,
    },
    /// No session has this discriminator or neighbour.
    #[error("Discarding packet from {src} (session is not found - your discriminator field is {your_discr})")]
    NoSession {
        /// Sender.
        src: IpAddr,
        /// Your Discriminator.
        your_discr: u32,
    },
    /// TTL below `ttl - max_hops` (RFC 5881 §5).
    #[error("Packet {what}({ttl}) < {min} - discarding")]
    Ttl {
        /// "ttl" or "hop_limit".
        what: &'static str,
        /// Received TTL.
        ttl: u8,
        /// Minimum accepted.
        min: i32,
    },
    /// The Authentication bit is set (keepalived has none).
    #[error("Discarding packet from {0} (auth bit is set, but no authentication  is in use)")]
    Auth(IpAddr),
    /// Our session is AdminDown.
    #[error("Discarding packet from {0} (session is in AdminDown state)")]
    AdminDown(IpAddr),
}

/// A small pseudo-random generator (xorshift64*) for discriminators and
/// jitter; the driver seeds it from the system, tests with a constant.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator; a zero seed is replaced.
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A non-zero discriminator.
    pub fn discr(&mut self) -> u32 {
        loop {
            let d = (self.next_u64() >> 32) as u32;
            if d != 0 {
                return d;
            }
        }
    }
}

/// One BFD session.
#[derive(Debug, Clone)]
pub struct Session {
    cfg: SessionConfig,
    rng: Rng,
    local_state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diag,
    remote_diag: Diag,
    remote_min_tx: u32,
    remote_min_rx: u32,
    remote_demand: bool,
    remote_mult: u8,
    poll: bool,
    final_: bool,
    /// Our transmit interval, µs.
    local_tx: u64,
    /// Their transmit interval as we expect it, µs.
    remote_tx: u64,
    /// Our Detection Time, µs.
    local_detect: u64,
    /// Theirs, as they should compute it, µs.
    remote_detect: u64,
    last_seen: Instant,
    tx_at: Option<Instant>,
    expire_at: Option<Instant>,
    reset_at: Option<Instant>,
}

impl Session {
    /// A session in its initial state (Down, nothing scheduled until
    /// [`Session::start`]).
    pub fn new(cfg: SessionConfig, mut rng: Rng) -> Session {
        let local_discr = rng.discr();
        let idle = u64::from(cfg.idle_tx);
        Session {
            cfg,
            rng,
            local_state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diag::NONE,
            remote_diag: Diag::NONE,
            remote_min_tx: 0,
            remote_min_rx: 0,
            remote_demand: false,
            remote_mult: 0,
            poll: false,
            final_: false,
            local_tx: idle,
            remote_tx: 0,
            local_detect: 0,
            remote_detect: 0,
            last_seen: Instant::ZERO,
            tx_at: None,
            expire_at: None,
            reset_at: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }
    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.local_state
    }
    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    /// bfd.LocalDiscr.
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }
    /// bfd.RemoteDiscr.
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }
    /// bfd.LocalDiag.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }
    /// Whether a Poll Sequence is in progress.
    pub fn polling(&self) -> bool {
        self.poll
    }
    /// Whether the next packet carries the Final bit.
    pub fn final_pending(&self) -> bool {
        self.final_
    }
    /// bfd.RemoteDiag as last received.
    pub fn remote_diag(&self) -> Diag {
        self.remote_diag
    }
    /// The remote Desired Min TX Interval, µs.
    pub fn remote_min_tx(&self) -> u32 {
        self.remote_min_tx
    }
    /// The remote Required Min RX Interval, µs (bfd.RemoteMinRxInterval).
    pub fn remote_min_rx(&self) -> u32 {
        self.remote_min_rx
    }
    /// bfd.RemoteDemandMode.
    pub fn remote_demand(&self) -> bool {
        self.remote_demand
    }
    /// The remote Detect Mult.
    pub fn remote_mult(&self) -> u8 {
        self.remote_mult
    }
    /// The remote transmit interval we expect, µs.
    pub fn remote_tx_interval(&self) -> u64 {
        self.remote_tx
    }
    /// The Detection Time the remote should use, µs.
    pub fn remote_detection_time(&self) -> u64 {
        self.remote_detect
    }
    /// Our transmit interval before jitter, µs.
    pub fn tx_interval(&self) -> u64 {
        self.local_tx
    }
    /// The Detection Time, µs (0 before the first packet).
    pub fn detection_time(&self) -> u64 {
        self.local_detect
    }
    /// The next transmission, if one is scheduled.
    pub fn next_tx(&self) -> Option<Instant> {
        self.tx_at
    }

    /// Reload (keepalived's `bfd_complete_init`): this freshly configured
    /// session of the same name takes over `old`'s state and timers; when
    /// the intervals or multiplier changed it starts a Poll Sequence so
    /// that the peer learns them (RFC 5880 §6.8.3).
    pub fn take_over(&mut self, old: &Session, out: &mut Vec<Action>) {
        let cfg = std::mem::replace(&mut self.cfg, old.cfg.clone());
        let rng = self.rng.clone();
        *self = old.clone();
        let o = &old.cfg;
        let changed = (o.min_rx, o.min_tx, o.idle_tx, o.multiplier)
            != (cfg.min_rx, cfg.min_tx, cfg.idle_tx, cfg.multiplier);
        self.cfg = cfg;
        self.rng = rng;
        if changed && self.local_state != State::AdminDown {
            out.push(Action::Detail(format!(
                "({}) Starting poll sequence",
                self.cfg.name
            )));
            if !self.final_ {
                self.poll = true;
            }
        }
    }

    /// Starts the session: its state goes to the other processes, and an
    /// active one sends a first packet at once and then periodically.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.event(out);
        if !self.cfg.passive && self.local_state != State::AdminDown {
            self.schedule_tx(now);
            self.send(out);
        }
    }

    /// Tells the other processes the state again (after they restarted).
    pub fn resend_event(&self, out: &mut Vec<Action>) {
        self.event(out);
    }

    /// The earliest timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.tx_at, self.expire_at, self.reset_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.expire_at.is_some_and(|t| t <= now) {
            self.expire_at = None;
            self.expire(now, out);
        }
        if self.reset_at.is_some_and(|t| t <= now) {
            self.reset_at = None;
            self.reset();
        }
        if self.tx_at.is_some_and(|t| t <= now) {
            self.tx_at = None;
            if self.local_state != State::AdminDown {
                self.send(out);
                self.schedule_tx(now);
            }
        }
    }

    /// Takes a received packet (already checked by [`Repr::parse`]).
    /// `ttl` is the received TTL / hop limit when the socket reported it.
    pub fn receive(
        &mut self,
        now: Instant,
        src: IpAddr,
        pkt: &Repr,
        ttl: Option<u8>,
        out: &mut Vec<Action>,
    ) -> Result<(), Discard> {
        // RFC 5881 §5 (GTSM), with keepalived's max_hops extension.
        if let Some(t) = ttl.filter(|&t| t != 0) {
            let hops = self.cfg.max_hops;
            if hops != 255 && hops >= 0 && hops + i32::from(t) < i32::from(self.cfg.ttl) {
                return Err(Discard::Ttl {
                    what: if src.is_ipv4() { "ttl" } else { "hop_limit" },
                    ttl: t,
                    min: i32::from(self.cfg.ttl) - hops,
                });
            }
        }
        // RFC 5880 §6.8.6: "If the A bit is set and no authentication is in
        // use (bfd.AuthType is zero), the packet MUST be discarded."
        if pkt.auth {
            return Err(Discard::Auth(src));
        }
        // "If bfd.SessionState is AdminDown: Discard the packet"
        if self.local_state == State::AdminDown {
            return Err(Discard::AdminDown(src));
        }
        let old_rx = self.remote_min_rx;
        let old_tx = self.remote_min_tx;
        let old_mult = self.remote_mult;
        let old_detect = self.local_detect;
        let old_local_tx = self.local_tx;

        self.remote_discr = pkt.my_discr;
        self.remote_state = pkt.state;
        self.remote_diag = pkt.diag;
        self.remote_min_rx = pkt.required_min_rx;
        self.remote_min_tx = pkt.desired_min_tx;
        self.remote_demand = pkt.demand;
        self.remote_mult = pkt.detect_mult;
        // "If the Final (F) bit is set ... terminate any Poll Sequence"
        if pkt.final_ {
            self.poll = false;
        }
        // Timer changes take effect while Up only with a Poll or Final
        // (§6.8.3); otherwise at once.
        if self.local_state != State::Up || pkt.poll || pkt.final_ {
            if self.remote_state == State::Up && matches!(self.local_state, State::Init | State::Up)
            {
                self.update_local_tx();
            } else {
                self.idle_local_tx();
            }
            self.remote_tx = u64::from(self.cfg.min_rx).max(u64::from(self.remote_min_tx));
        }
        // §6.8.4: "the Detection Time ... is equal to the value of Detect
        // Mult received from the remote system, multiplied by the agreed
        // transmit interval of the remote system"
        self.local_detect = u64::from(self.remote_mult) * self.remote_tx;
        self.remote_detect = u64::from(self.cfg.multiplier) * self.local_tx;

        if self.remote_min_rx != old_rx
            || self.remote_min_tx != old_tx
            || self.remote_mult != old_mult
            || self.local_tx != old_local_tx
        {
            self.dump_timers(out);
        }
        if self.local_tx < old_local_tx && self.tx_at.is_some() {
            self.schedule_tx(now);
        }
        if self.local_detect != old_detect {
            out.push(Action::Log(format!(
                "       Detection time is {} us (was {} us)",
                self.local_detect, old_detect
            )));
        }

        // The state machine of §6.8.6 ("Update the state...").
        if self.remote_state == State::AdminDown && self.local_state != State::Down {
            self.state_down(now, Diag::NEIGHBOR_DOWN, out);
        } else {
            match (self.local_state, self.remote_state) {
                (State::Down, State::Down) => self.state_init(now),
                (State::Down, State::Init) => self.state_up(now, out),
                (State::Init, State::Init | State::Up) => self.state_up(now, out),
                (State::Up, State::Down) => self.state_down(now, Diag::NEIGHBOR_DOWN, out),
                _ => {}
            }
        }

        let both_up = self.local_state == State::Up && self.remote_state == State::Up;
        if self.remote_demand && both_up {
            self.tx_at = None;
        } else if self.tx_at.is_none() {
            self.schedule_tx(now);
        }
        // "If the Poll (P) bit is set, send a Control packet to the remote
        // system with the Poll (P) bit clear, and the Final (F) bit set"
        if pkt.poll {
            self.final_ = true;
            self.send(out);
        }
        self.last_seen = now;
        if self.local_state == State::Up && self.expire_at.is_some() {
            self.expire_at = Some(now + us(self.local_detect));
        }
        Ok(())
    }

    fn event(&self, out: &mut Vec<Action>) {
        out.push(Action::Event {
            up: self.local_state == State::Up,
        });
    }

    fn update_local_tx(&mut self) {
        self.local_tx = u64::from(self.cfg.min_tx).max(u64::from(self.remote_min_rx));
    }

    /// RFC 5880 §6.8.3: "When bfd.SessionState is not Up, the system MUST
    /// set bfd.DesiredMinTxInterval to a value of not less than one
    /// second" (keepalived: `idle_tx`).
    fn idle_local_tx(&mut self) {
        self.local_tx = u64::from(self.cfg.idle_tx).max(u64::from(self.remote_min_rx));
    }

    /// §6.8.7: "The periodic transmission of BFD Control packets MUST be
    /// jittered on a per-packet basis by up to 25% ... If bfd.DetectMult is
    /// equal to 1, the interval between transmitted BFD Control packets
    /// MUST be no more than 90% of the negotiated transmission interval,
    /// and MUST be no less than 75%".
    fn schedule_tx(&mut self, now: Instant) {
        let t = self.local_tx;
        let min = if self.cfg.multiplier == 1 { t / 10 } else { 0 };
        let jitter = self.rng.range(min, t / 4);
        self.tx_at = Some(now + us(t - jitter));
    }

    /// The packet our state describes; a pending Final is consumed.
    pub fn packet(&mut self) -> Repr {
        // A Poll that crosses a Poll from the other side: the new values
        // go out with the Final (RFC 5880 §6.5).
        if self.poll && self.final_ {
            self.poll = false;
        }
        Repr {
            diag: self.local_diag,
            state: self.local_state,
            poll: self.poll,
            final_: self.final_,
            cpi: false,
            auth: false,
            demand: false,
            detect_mult: self.cfg.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: if self.local_state == State::Up {
                self.cfg.min_tx
            } else {
                self.cfg.idle_tx
            },
            required_min_rx: self.cfg.min_rx,
            required_min_echo_rx: 0,
        }
    }

    fn send(&mut self, out: &mut Vec<Action>) {
        let p = self.packet();
        out.push(Action::Send(p));
        self.final_ = false;
    }

    fn expire(&mut self, now: Instant, out: &mut Vec<Action>) {
        let dead = (now - self.last_seen).as_micros() as u64;
        if self.local_state == State::Up {
            out.push(Action::Log(format!(
                "({}) Expired after {} ms ({} usec overdue)",
                self.cfg.name,
                dead / 1000,
                dead.saturating_sub(self.local_detect)
            )));
        }
        // §6.8.1 bfd.RemoteDiscr: "If a period of a Detection Time passes
        // without the receipt of a valid, authenticated BFD packet from the
        // remote system, this variable MUST be set to zero."
        self.remote_discr = 0;
        self.state_down(now, Diag::EXPIRED, out);
    }

    /// Down for a Detection Time: forget the remote.
    fn reset(&mut self) {
        self.local_state = State::Down;
        self.remote_state = State::Down;
        self.remote_discr = 0;
        self.remote_diag = Diag::NONE;
        self.remote_demand = false;
        self.poll = false;
        self.final_ = false;
        self.idle_local_tx();
    }

    fn state_down(&mut self, now: Instant, diag: Diag, out: &mut Vec<Action>) {
        let was = self.local_state;
        if was == State::Up {
            self.local_discr = self.rng.discr();
            out.push(Action::Log(format!(
                "({}) Entering Down state (Local diagnostic - {}, Remote diagnostic - {})",
                self.cfg.name, diag, self.remote_diag
            )));
        }
        self.local_state = State::Down;
        self.local_diag = diag;
        self.reset_at = Some(now + us(self.local_detect));
        if self.cfg.passive {
            self.tx_at = None;
        }
        self.idle_local_tx();
        self.expire_at = None;
        if was == State::Up && self.remote_state != State::AdminDown {
            self.event(out);
        }
    }

    fn rise(&mut self, now: Instant) {
        self.local_diag = Diag::NONE;
        self.reset_at = None;
        if self.expire_at.is_none() {
            self.expire_at = Some(now + us(self.local_detect));
        }
    }

    fn state_up(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.local_state = State::Up;
        out.push(Action::Log(format!(
            "({}) Entering Up state",
            self.cfg.name
        )));
        self.rise(now);
        if self.cfg.idle_tx != self.cfg.min_tx {
            out.push(Action::Detail(format!(
                "({}) Starting poll sequence",
                self.cfg.name
            )));
            if !self.final_ {
                self.poll = true;
            }
        }
        self.event(out);
    }

    fn state_init(&mut self, now: Instant) {
        self.local_state = State::Init;
        self.rise(now);
        if self.cfg.passive && self.tx_at.is_none() {
            self.schedule_tx(now);
        }
    }

    /// Stops the session administratively (a send error keepalived cannot
    /// recover from): nothing is sent or accepted any more.
    pub fn admin_down(&mut self, out: &mut Vec<Action>) {
        self.local_state = State::AdminDown;
        self.local_diag = Diag::ADMIN_DOWN;
        self.tx_at = None;
        out.push(Action::Log(format!(
            "({}) Entering AdminDown state",
            self.cfg.name
        )));
        self.idle_local_tx();
        self.expire_at = None;
    }

    fn dump_timers(&self, out: &mut Vec<Action>) {
        let shown_tx = if self.local_state == State::Up {
            self.cfg.min_tx
        } else {
            self.cfg.idle_tx
        };
        for l in [
            format!(
                "({}) ---------------< Session parameters >--------------",
                self.cfg.name
            ),
            "                min_tx  min_rx  tx_intv  mult  detect_time".to_string(),
            format!(
                "       local {:9} {:7} {:8} {:5} {:12}",
                shown_tx, self.cfg.min_rx, self.local_tx, self.cfg.multiplier, self.local_detect
            ),
            format!(
                "       remote {:8} {:7} {:8} {:5} {:12}",
                self.remote_min_tx,
                self.remote_min_rx,
                self.remote_tx,
                self.remote_mult,
                self.remote_detect
            ),
        ] {
            out.push(Action::Detail(l));
        }
    }
}

/// An action of one session of a [`Sessions`] set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Out {
    /// Index of the session.
    pub session: usize,
    /// What to do.
    pub action: Action,
}

/// All sessions of the BFD process, with packet demultiplexing (by Your
/// Discriminator, else by neighbour and local address, RFC 5880 §6.3).
#[derive(Debug, Clone)]
pub struct Sessions {
    sessions: Vec<Session>,
}

impl Sessions {
    /// Sessions for these settings; `seed` feeds the discriminators and
    /// jitter.
    pub fn new(cfgs: Vec<SessionConfig>, seed: u64) -> Sessions {
        let mut rng = Rng::new(seed);
        let mut sessions: Vec<Session> = Vec::with_capacity(cfgs.len());
        for c in cfgs {
            let mut s = Session::new(c, Rng::new(rng.next_u64()));
            // Discriminators are unique within the system (§6.3).
            while sessions.iter().any(|o| o.local_discr == s.local_discr) {
                s.local_discr = rng.discr();
            }
            sessions.push(s);
        }
        Sessions { sessions }
    }

    /// The sessions.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// One session, mutable (a driver disabling it).
    pub fn session_mut(&mut self, i: usize) -> Option<&mut Session> {
        self.sessions.get_mut(i)
    }

    fn run(
        &mut self,
        i: usize,
        out: &mut Vec<Out>,
        f: impl FnOnce(&mut Session, &mut Vec<Action>),
    ) {
        let mut acts = Vec::new();
        f(&mut self.sessions[i], &mut acts);
        out.extend(acts.into_iter().map(|action| Out { session: i, action }));
    }

    /// Starts every session.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Out>) {
        for i in 0..self.sessions.len() {
            self.run(i, out, |s, a| s.start(now, a));
        }
    }

    /// Every session's state again, as events.
    pub fn resend_events(&mut self, out: &mut Vec<Out>) {
        for i in 0..self.sessions.len() {
            self.run(i, out, |s, a| s.resend_event(a));
        }
    }

    /// The earliest timer of all sessions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions.iter().filter_map(Session::poll_timeout).min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Out>) {
        for i in 0..self.sessions.len() {
            if self.sessions[i].poll_timeout().is_some_and(|t| t <= now) {
                self.run(i, out, |s, a| s.handle_timeout(now, a));
            }
        }
    }

    /// A datagram from `src` to `dst` (when known) with TTL `ttl`; returns
    /// the session that took it.
    pub fn receive(
        &mut self,
        now: Instant,
        src: IpAddr,
        dst: Option<IpAddr>,
        ttl: Option<u8>,
        data: &[u8],
        out: &mut Vec<Out>,
    ) -> Result<usize, Discard> {
        let pkt = Repr::parse_bytes(data).map_err(|err| Discard::Bogus { src, err })?;
        // §6.8.6: "If the Your Discriminator field is nonzero, it MUST be
        // used to select the session ... If the Your Discriminator field is
        // zero, the session MUST be selected based on some combination of
        // other fields".
        let i = if pkt.your_discr != 0 {
            self.sessions
                .iter()
                .position(|s| s.local_discr == pkt.your_discr)
        } else {
            self.sessions.iter().position(|s| {
                s.cfg.neighbor == src
                    && match (s.cfg.source, dst) {
                        (Some(a), Some(d)) => a == d,
                        _ => true,
                    }
            })
        }
        .ok_or(Discard::NoSession {
            src,
            your_discr: pkt.your_discr,
        })?;
        let mut acts = Vec::new();
        self.sessions[i].receive(now, src, &pkt, ttl, &mut acts)?;
        out.extend(acts.into_iter().map(|action| Out { session: i, action }));
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_ranges_and_discriminators() {
        let mut r = Rng::new(0);
        for _ in 0..1000 {
            let v = r.range(10, 25);
            assert!((10..=25).contains(&v));
            assert_ne!(r.discr(), 0);
        }
        assert_eq!(r.range(5, 5), 5);
        assert_eq!(r.range(7, 3), 7);
    }

    #[test]
    fn config_defaults_follow_the_family() {
        let l = crate::config::load_str(
            "t.conf",
            "bfd_instance b4 {\n neighbor_ip 10.1.1.1\n}\nbfd_instance b6 {\n neighbor_ip fe80::1\n max_hops 3\n}\n",
            Default::default(),
        );
        let c4 = SessionConfig::from_config(&l.config.bfd[0]).unwrap();
        assert_eq!(
            (c4.ttl, c4.max_hops, c4.min_rx, c4.idle_tx, c4.multiplier),
            (255, 0, 10_000, 1_000_000, 5)
        );
        let c6 = SessionConfig::from_config(&l.config.bfd[1]).unwrap();
        assert_eq!((c6.ttl, c6.max_hops), (64, 3));
    }
}

//! The BFD core on a virtual clock: two sessions joined by a simulated
//! link, one test per rule, each quoting the RFC 5880 / 5881 text or the
//! keepalived 2.2.7 behaviour it checks.

use std::net::IpAddr;

use keepalived_rs::bfd::packet::{Diag, Repr, State};
use keepalived_rs::bfd::session::{Action, Discard, Out, SessionConfig, Sessions};
use keepalived_rs::vrrp::time::Instant;

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

fn cfg(name: &str, me: [u8; 4], peer: [u8; 4]) -> SessionConfig {
    SessionConfig {
        neighbor: IpAddr::from(peer),
        source: Some(IpAddr::from(me)),
        ..SessionConfig::example(name)
    }
}

/// A point-to-point link between two BFD processes with a one-way delay;
/// every packet, event and log line is recorded with its time.
struct Link {
    now: Instant,
    delay: u64,
    a: Sessions,
    b: Sessions,
    /// (sender is a, time, packet) in flight.
    flight: Vec<(bool, Instant, Repr)>,
    /// Sent packets: (from a, time, packet).
    sent: Vec<(bool, Instant, Repr)>,
    /// Events: (of a, time, up).
    events: Vec<(bool, Instant, bool)>,
    logs: Vec<String>,
    /// Whether each side runs (a dead side neither sends nor receives).
    alive: [bool; 2],
}

impl Link {
    fn new(ca: SessionConfig, cb: SessionConfig) -> Link {
        Link {
            now: Instant(0),
            delay: 100,
            a: Sessions::new(vec![ca], 1),
            b: Sessions::new(vec![cb], 2),
            flight: Vec::new(),
            sent: Vec::new(),
            events: Vec::new(),
            logs: Vec::new(),
            alive: [true, true],
        }
    }

    fn take(&mut self, from_a: bool, out: Vec<Out>) {
        for o in out {
            match o.action {
                Action::Send(p) => {
                    self.sent.push((from_a, self.now, p));
                    self.flight
                        .push((from_a, Instant(self.now.0 + self.delay), p));
                }
                Action::Event { up } => self.events.push((from_a, self.now, up)),
                Action::Log(l) | Action::Detail(l) => self.logs.push(l),
            }
        }
    }

    fn start(&mut self, a: bool, b: bool) {
        let mut out = Vec::new();
        if a {
            self.a.start(self.now, &mut out);
            self.take(true, std::mem::take(&mut out));
        }
        if b {
            self.b.start(self.now, &mut out);
            self.take(false, out);
        }
    }

    /// Runs until `end`, delivering packets and firing timers in order.
    fn run_until(&mut self, end: u64) {
        loop {
            let next_rx = self.flight.iter().map(|f| f.1).min();
            let ta = self.alive[0].then(|| self.a.poll_timeout()).flatten();
            let tb = self.alive[1].then(|| self.b.poll_timeout()).flatten();
            let Some(next) = [next_rx, ta, tb].into_iter().flatten().min() else {
                self.now = Instant(end);
                return;
            };
            if next.0 > end {
                self.now = Instant(end);
                return;
            }
            self.now = next;
            if let Some(i) = self.flight.iter().position(|f| f.1 == next) {
                let (from_a, _, p) = self.flight.remove(i);
                let to_a = !from_a;
                if !self.alive[if to_a { 0 } else { 1 }] {
                    continue;
                }
                let src = IpAddr::from(if from_a { A } else { B });
                let dst = IpAddr::from(if from_a { B } else { A });
                let mut out = Vec::new();
                let s = if to_a { &mut self.a } else { &mut self.b };
                let _ = s.receive(self.now, src, Some(dst), Some(255), &p.to_bytes(), &mut out);
                self.take(to_a, out);
                continue;
            }
            if ta == Some(next) {
                let mut out = Vec::new();
                self.a.handle_timeout(self.now, &mut out);
                self.take(true, out);
            }
            if tb == Some(next) {
                let mut out = Vec::new();
                self.b.handle_timeout(self.now, &mut out);
                self.take(false, out);
            }
        }
    }

    fn state(&self, a: bool) -> State {
        if a { &self.a } else { &self.b }.sessions()[0].state()
    }

    fn up_time(&self, a: bool) -> Option<Instant> {
        self.events.iter().find(|e| e.0 == a && e.2).map(|e| e.1)
    }
}

fn up_pair() -> Link {
    let mut l = Link::new(cfg("b1", A, B), cfg("b1", B, A));
    l.start(true, true);
    l.run_until(3_000_000);
    assert_eq!(l.state(true), State::Up);
    assert_eq!(l.state(false), State::Up);
    l
}

#[test]
fn three_way_handshake_down_init_up() {
    // RFC 5880 §6.2: Down --(Down)--> Init --(Init, Up)--> Up; Down --(Init)--> Up.
    let mut l = Link::new(cfg("b1", A, B), cfg("b1", B, A));
    l.start(true, true);
    // keepalived tells the other processes the initial state (Down) at start.
    assert_eq!(
        l.events,
        vec![(true, Instant(0), false), (false, Instant(0), false)]
    );
    // Both send a Down packet at once (keepalived: "If we are starting up, send a packet").
    assert_eq!(l.sent.len(), 2);
    assert!(l
        .sent
        .iter()
        .all(|s| s.2.state == State::Down && s.2.your_discr == 0));
    l.run_until(3_000_000);
    let seq_a: Vec<State> = l.sent.iter().filter(|s| s.0).map(|s| s.2.state).collect();
    let first_up = seq_a.iter().position(|&s| s == State::Up).unwrap();
    assert!(seq_a[..first_up].contains(&State::Init) || seq_a[..first_up].contains(&State::Down));
    assert!(l.up_time(true).is_some() && l.up_time(false).is_some());
    assert!(l.logs.contains(&"(b1) Entering Up state".to_string()));
    // Every packet after Up carries the peer's discriminator.
    let b_discr = l.b.sessions()[0].local_discr();
    assert!(l
        .sent
        .iter()
        .filter(|s| s.0 && s.2.state == State::Up)
        .all(|s| s.2.your_discr == b_discr));
}

#[test]
fn idle_tx_while_down_then_poll_sequence_to_min_tx() {
    // RFC 5880 §6.8.3: "When bfd.SessionState is not Up, the system MUST set
    // bfd.DesiredMinTxInterval to a value of not less than one second";
    // keepalived uses idle_tx (1000 ms) and polls to min_tx once Up.
    let mut l = Link::new(cfg("b1", A, B), cfg("b1", B, A));
    l.start(true, false);
    l.alive[1] = false;
    l.run_until(10_000_000);
    let times: Vec<u64> = l.sent.iter().filter(|s| s.0).map(|s| s.1 .0).collect();
    assert!(times.len() >= 10);
    for w in times.windows(2).skip(1) {
        let gap = w[1] - w[0];
        // §6.8.7: jittered by up to 25 %.
        assert!((750_000..=1_000_000).contains(&gap), "gap {gap}");
    }
    assert!(l
        .sent
        .iter()
        .all(|s| s.2.desired_min_tx == 1_000_000 && s.2.state == State::Down));

    let mut l = up_pair();
    // §6.5: "the system MUST initiate a Poll Sequence" when it changes
    // its Desired Min TX; the peer answers with Final at once.
    let poll = l.sent.iter().find(|s| s.2.poll).unwrap();
    assert_eq!(poll.2.state, State::Up);
    assert_eq!(poll.2.desired_min_tx, 100_000);
    let fin = l
        .sent
        .iter()
        .find(|s| s.2.final_ && s.0 != poll.0 && s.1 .0 >= poll.1 .0)
        .unwrap();
    assert_eq!(
        fin.1 .0,
        poll.1 .0 + l.delay,
        "Final answers the Poll on receipt"
    );
    assert!(!l.a.sessions()[0].polling() && !l.b.sessions()[0].polling());
    // Up: the transmit interval is max(min_tx, remote min_rx) = 100 ms.
    let start = l.now.0;
    l.run_until(start + 2_000_000);
    let times: Vec<u64> = l
        .sent
        .iter()
        .filter(|s| s.0 && s.1 .0 > start)
        .map(|s| s.1 .0)
        .collect();
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!((75_000..=100_000).contains(&gap), "gap {gap}");
    }
    assert_eq!(l.a.sessions()[0].tx_interval(), 100_000);
}

#[test]
fn detection_time_is_remote_mult_times_agreed_remote_interval() {
    // RFC 5880 §6.8.4: "the Detection Time ... is equal to the value of
    // Detect Mult received from the remote system, multiplied by the agreed
    // transmit interval of the remote system (the greater of
    // bfd.RequiredMinRxInterval and the last received Desired Min TX
    // Interval)".
    let mut ca = cfg("b1", A, B);
    ca.min_rx = 150_000;
    let mut cb = cfg("b1", B, A);
    cb.multiplier = 4;
    cb.min_tx = 120_000;
    let mut l = Link::new(ca, cb);
    l.start(true, true);
    l.run_until(3_000_000);
    assert_eq!(l.state(true), State::Up);
    // a: 4 × max(150 ms, 120 ms) = 600 ms; b: 3 × max(100 ms, 100 ms).
    assert_eq!(l.a.sessions()[0].detection_time(), 600_000);
    assert_eq!(l.b.sessions()[0].detection_time(), 300_000);
    // While Down both sides use idle_tx: 4 × 1 s was logged first.
    assert!(l
        .logs
        .iter()
        .any(|x| x == "       Detection time is 4000000 us (was 0 us)"));
    assert!(l
        .logs
        .iter()
        .any(|x| x == "       Detection time is 600000 us (was 4000000 us)"));
}

#[test]
fn peer_death_is_detected_within_the_detection_time() {
    // RFC 5880 §6.8.4: "If a period of a Detection Time passes without the
    // receipt of a valid ... packet ... the session has gone down" (Diag 1).
    let mut l = up_pair();
    let t0 = l.now.0;
    l.alive[1] = false;
    l.flight.retain(|f| f.0); // b's packets in flight die with it
    let last_rx = l
        .sent
        .iter()
        .filter(|s| !s.0)
        .map(|s| s.1 .0 + l.delay)
        .filter(|&t| t <= t0)
        .max()
        .unwrap();
    l.run_until(t0 + 1_000_000);
    assert_eq!(l.state(true), State::Down);
    let down = l
        .events
        .iter()
        .find(|e| e.0 && !e.2 && e.1 .0 > t0)
        .map(|e| e.1 .0);
    let detect = 300_000;
    assert_eq!(
        down,
        Some(last_rx + detect),
        "down exactly one Detection Time after the last packet"
    );
    assert!(down.unwrap() - t0 <= detect);
    assert!(l
        .logs
        .contains(&"(b1) Expired after 300 ms (0 usec overdue)".to_string()));
    assert!(l.logs.contains(
        &"(b1) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)".to_string()
    ));
    let s = &l.a.sessions()[0];
    assert_eq!(s.local_diag(), Diag::EXPIRED);
    // §6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a Detection Time.
    assert_eq!(s.remote_discr(), 0);
    // Back to idle_tx, and the packets say Down with diag 1.
    let after: Vec<&Repr> = l
        .sent
        .iter()
        .filter(|x| x.0 && x.1 .0 > down.unwrap())
        .map(|x| &x.2)
        .collect();
    assert!(!after.is_empty());
    assert!(after.iter().all(|p| p.state == State::Down
        && p.diag == Diag::EXPIRED
        && p.desired_min_tx == 1_000_000));
}

#[test]
fn comes_back_up_after_the_peer_restarts() {
    let mut l = up_pair();
    l.alive[1] = false;
    l.flight.clear();
    l.run_until(l.now.0 + 2_000_000);
    assert_eq!(l.state(true), State::Down);
    // A new process: fresh state and discriminator.
    l.b = Sessions::new(vec![cfg("b1", B, A)], 99);
    l.alive[1] = true;
    l.start(false, true);
    l.run_until(l.now.0 + 3_000_000);
    assert_eq!(l.state(true), State::Up);
    let ups = l.events.iter().filter(|e| e.0 && e.2).count();
    assert_eq!(ups, 2);
}

#[test]
fn neighbour_signalled_down_and_admin_down() {
    // §6.8.6: "If bfd.SessionState is Up and received State is Down, set
    // bfd.LocalDiag to 3 (Neighbor signaled session down)"; "If received
    // state is AdminDown ... transition to Down".
    let mut l = up_pair();
    let mut out = Vec::new();
    let peer = l.b.sessions()[0].local_discr();
    let my = l.a.sessions()[0].local_discr();
    let mut p = Repr {
        diag: Diag(0),
        state: State::Down,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: peer,
        your_discr: my,
        desired_min_tx: 1_000_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    };
    let now = Instant(l.now.0 + 1);
    l.a.receive(
        now,
        IpAddr::from(B),
        None,
        Some(255),
        &p.to_bytes(),
        &mut out,
    )
    .unwrap();
    assert_eq!(l.a.sessions()[0].state(), State::Down);
    assert_eq!(l.a.sessions()[0].local_diag(), Diag::NEIGHBOR_DOWN);
    assert!(out.iter().any(|o| o.action == Action::Event { up: false }));
    // keepalived: leaving Up takes a new discriminator.
    assert_ne!(l.a.sessions()[0].local_discr(), my);

    // AdminDown from the peer: Down, but no event to VRRP/checker
    // (keepalived: a neighbour's AdminDown is not a failure, RFC 5880 §6.8.16).
    let mut l = up_pair();
    let my = l.a.sessions()[0].local_discr();
    p.state = State::AdminDown;
    p.diag = Diag::ADMIN_DOWN;
    p.your_discr = my;
    let mut out = Vec::new();
    l.a.receive(
        Instant(l.now.0 + 1),
        IpAddr::from(B),
        None,
        Some(255),
        &p.to_bytes(),
        &mut out,
    )
    .unwrap();
    assert_eq!(l.a.sessions()[0].state(), State::Down);
    assert!(!out.iter().any(|o| matches!(o.action, Action::Event { .. })));
}

#[test]
fn gtsm_ttl_check_with_max_hops() {
    // RFC 5881 §5: "the TTL or Hop Limit value of the received packet MUST
    // be 255" unless authenticated; keepalived: max_hops N accepts N less,
    // 255 disables the check.
    let down = |mine: u32| Repr {
        diag: Diag(0),
        state: State::Down,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: 7,
        your_discr: mine,
        desired_min_tx: 1_000_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    };
    for (hops, ttl, ok) in [
        (0, 255, true),
        (0, 254, false),
        (1, 254, true),
        (1, 253, false),
        (255, 1, true),
        (-1, 1, true),
    ] {
        let mut c = cfg("b1", A, B);
        c.max_hops = hops;
        let mut s = Sessions::new(vec![c], 5);
        let mut out = Vec::new();
        let r = s.receive(
            Instant(0),
            IpAddr::from(B),
            None,
            Some(ttl),
            &down(0).to_bytes(),
            &mut out,
        );
        assert_eq!(r.is_ok(), ok, "max_hops {hops} ttl {ttl}");
        if !ok {
            assert_eq!(
                r,
                Err(Discard::Ttl {
                    what: "ttl",
                    ttl,
                    min: 255 - hops
                })
            );
        }
    }
}

#[test]
fn demultiplexing_and_discards() {
    let mut s = Sessions::new(vec![cfg("b1", A, B), cfg("b2", A, [10, 0, 0, 3])], 5);
    let d2 = s.sessions()[1].local_discr();
    let mut out = Vec::new();
    let mut p = Repr {
        diag: Diag(0),
        state: State::Init,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: 7,
        your_discr: d2,
        desired_min_tx: 1_000_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    };
    // §6.8.6: a nonzero Your Discriminator selects the session.
    assert_eq!(
        s.receive(
            Instant(0),
            IpAddr::from(B),
            None,
            None,
            &p.to_bytes(),
            &mut out
        ),
        Ok(1)
    );
    p.your_discr = 12345;
    assert_eq!(
        s.receive(
            Instant(0),
            IpAddr::from(B),
            None,
            None,
            &p.to_bytes(),
            &mut out
        ),
        Err(Discard::NoSession {
            src: IpAddr::from(B),
            your_discr: 12345
        })
    );
    // Zero: by neighbour (and local address when configured).
    p.state = State::Down;
    p.your_discr = 0;
    assert_eq!(
        s.receive(
            Instant(0),
            IpAddr::from(B),
            Some(IpAddr::from(A)),
            None,
            &p.to_bytes(),
            &mut out
        ),
        Ok(0)
    );
    assert!(s
        .receive(
            Instant(0),
            IpAddr::from(B),
            Some(IpAddr::from([10, 0, 0, 9])),
            None,
            &p.to_bytes(),
            &mut out
        )
        .is_err());
    // §6.8.6: "If the A bit is set and no authentication is in use ... discarded."
    let mut b = p.to_bytes();
    b[1] |= 0x04;
    assert_eq!(
        s.receive(Instant(0), IpAddr::from(B), None, None, &b, &mut out),
        Err(Discard::Auth(IpAddr::from(B)))
    );
    // Malformed.
    assert!(matches!(
        s.receive(Instant(0), IpAddr::from(B), None, None, &b[..10], &mut out),
        Err(Discard::Bogus { .. })
    ));
}

#[test]
fn passive_sessions_wait_for_the_peer() {
    // keepalived `passive`: nothing is sent until the session reaches Init
    // (RFC 5880 §6.1: "A system taking the Passive role MUST NOT begin
    // sending BFD packets for a particular session until it has received a
    // BFD packet for that session").
    let mut ca = cfg("b1", A, B);
    ca.passive = true;
    let mut l = Link::new(ca, cfg("b1", B, A));
    l.start(true, false);
    l.alive[1] = false;
    l.run_until(5_000_000);
    assert!(l.sent.is_empty());
    l.alive[1] = true;
    l.start(false, true);
    l.run_until(l.now.0 + 3_000_000);
    assert_eq!(l.state(true), State::Up);
    assert!(l.sent.iter().any(|s| s.0));
}

#[test]
fn multiplier_one_jitter_is_10_to_25_percent() {
    // §6.8.7: "If bfd.DetectMult is equal to 1, the interval between
    // transmitted BFD Control packets MUST be no more than 90% of the
    // negotiated transmission interval, and MUST be no less than 75%".
    let mut c = cfg("b1", A, B);
    c.multiplier = 1;
    let mut l = Link::new(c, cfg("b1", B, A));
    l.start(true, false);
    l.alive[1] = false;
    l.run_until(30_000_000);
    let times: Vec<u64> = l.sent.iter().filter(|s| s.0).map(|s| s.1 .0).collect();
    for w in times.windows(2).skip(1) {
        let gap = w[1] - w[0];
        assert!((750_000..=900_000).contains(&gap), "gap {gap}");
    }
}

#[test]
fn timer_changes_while_up_wait_for_poll_or_final() {
    // §6.8.3: changes of the timers while Up take effect with a Poll
    // Sequence; keepalived recomputes the intervals only on P or F when Up.
    let mut l = up_pair();
    let my = l.a.sessions()[0].local_discr();
    let peer = l.b.sessions()[0].local_discr();
    let mut p = Repr {
        diag: Diag(0),
        state: State::Up,
        poll: false,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: peer,
        your_discr: my,
        desired_min_tx: 500_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    };
    let mut out = Vec::new();
    let t = Instant(l.now.0 + 1);
    l.a.receive(t, IpAddr::from(B), None, Some(255), &p.to_bytes(), &mut out)
        .unwrap();
    assert_eq!(l.a.sessions()[0].detection_time(), 300_000);
    p.poll = true;
    out.clear();
    l.a.receive(t, IpAddr::from(B), None, Some(255), &p.to_bytes(), &mut out)
        .unwrap();
    assert_eq!(l.a.sessions()[0].detection_time(), 1_500_000);
    // The Poll is answered at once with the Final bit.
    let fin: Vec<&Repr> = out
        .iter()
        .filter_map(|o| match &o.action {
            Action::Send(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(fin.len(), 1);
    assert!(fin[0].final_ && !fin[0].poll);
}

#[test]
fn random_bytes_never_panic() {
    // The body of fuzz/fuzz_targets/bfd.rs on pseudo-random inputs and on
    // single-byte mutations of a valid packet.
    use keepalived_rs::bfd::session::Rng;
    let mut rng = Rng::new(42);
    let valid = Repr {
        diag: Diag(0),
        state: State::Up,
        poll: true,
        final_: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: 7,
        your_discr: 9,
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    }
    .to_bytes();
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for i in 0..24 {
        for v in [0u8, 1, 0x80, 0xff] {
            let mut d = valid.to_vec();
            d[i] = v;
            inputs.push(d);
        }
    }
    for _ in 0..20_000 {
        let len = rng.range(0, 40) as usize;
        inputs.push((0..len).map(|_| rng.next_u64() as u8).collect());
    }
    for data in inputs {
        if let Ok(r) = Repr::parse_bytes(&data) {
            if !r.auth {
                assert_eq!(Repr::parse_bytes(&r.to_bytes()), Ok(r));
            }
        }
        let mut s = Sessions::new(vec![SessionConfig::example("b1")], 1);
        let mut out = Vec::new();
        s.start(Instant(0), &mut out);
        let src = IpAddr::from(B);
        let ttl = data.first().copied();
        for t in [1u64, 2] {
            let _ = s.receive(Instant(t), src, None, ttl, &data, &mut out);
        }
        if data.len() >= 12 {
            let mut d = data.clone();
            d[8..12].copy_from_slice(&s.sessions()[0].local_discr().to_be_bytes());
            let _ = s.receive(Instant(3), src, None, ttl, &d, &mut out);
        }
        let mut now = 4;
        for _ in 0..8 {
            if let Some(t) = s.poll_timeout() {
                now = now.max(t.0);
            }
            s.handle_timeout(Instant(now), &mut out);
        }
    }
}

#[test]
fn reload_carries_state_and_polls_new_timers() {
    // keepalived (bfd_complete_init): a reloaded session of the same name
    // keeps its state and timers and, when they changed, starts a Poll
    // Sequence (RFC 5880 §6.8.3: "a Poll Sequence MUST be used" to change
    // timers while Up).
    let mut l = up_pair();
    let mut c = cfg("b1", A, B);
    c.min_tx = 200_000;
    let old = l.a.sessions()[0].clone();
    let mut fresh = Sessions::new(vec![c], 7);
    let mut out = Vec::new();
    fresh.session_mut(0).unwrap().take_over(&old, &mut out);
    assert!(out.contains(&Action::Detail("(b1) Starting poll sequence".into())));
    let s = &fresh.sessions()[0];
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.local_discr(), old.local_discr());
    assert!(s.polling());
    l.a = fresh;
    let start = l.now.0;
    l.run_until(start + 3_000_000);
    assert_eq!(l.state(true), State::Up);
    assert_eq!(l.state(false), State::Up);
    assert!(!l.events.iter().any(|e| e.1 .0 > start), "no flap");
    assert_eq!(l.a.sessions()[0].tx_interval(), 200_000);
    // The peer's Detection Time follows: 3 × max(100 ms, 200 ms).
    assert_eq!(l.b.sessions()[0].detection_time(), 600_000);
    // Unchanged timers: no poll.
    let mut same = Sessions::new(vec![cfg("b1", A, B)], 8);
    let mut out = Vec::new();
    let old = l.b.sessions()[0].clone();
    same.session_mut(0).unwrap().take_over(&old, &mut out);
    assert!(out.is_empty());
}

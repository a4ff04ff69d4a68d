//! A simulated LAN for scenario tests: N routers on a virtual clock,
//! adverts delivered with a chosen latency and seeded random loss,
//! partitions and heals. Exact to the microsecond and fully deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::action::Action;
use super::instance::{InstanceConfig, Received, State};
use super::router::{Router, TrackRef};
use super::time::Instant;
use super::types::{Family, IfIndex};

/// A seeded SplitMix64, so scenarios replay exactly.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// One simulated host.
pub struct Node {
    /// Host name, for messages.
    pub name: String,
    /// Its primary address.
    pub addr: IpAddr,
    /// Its VRRP state machines.
    pub router: Router,
    /// Whether the daemon is running.
    pub up: bool,
    /// Partition it belongs to (nodes see each other only in the same one).
    pub partition: u32,
    /// Everything it did, with times.
    pub actions: Vec<(Instant, Action)>,
}

struct Delivery {
    to: usize,
    /// The LAN segment: the sender's interface; every node numbers its
    /// interfaces alike, so the same index names the same segment.
    ifindex: IfIndex,
    from_addr: IpAddr,
    family: Family,
    msg: Vec<u8>,
}

/// The simulated LAN.
pub struct Lan {
    /// The virtual clock.
    pub now: Instant,
    /// Hosts.
    pub nodes: Vec<Node>,
    /// One-way latency.
    pub latency: Duration,
    /// Loss probability in parts per million.
    pub loss_ppm: u32,
    rng: Rng,
    queue: BinaryHeap<(Reverse<Instant>, Reverse<u64>, usize)>,
    in_flight: Vec<Option<Delivery>>,
    seq: u64,
}

impl Lan {
    /// An empty LAN with a seed.
    pub fn new(seed: u64) -> Lan {
        Lan {
            now: Instant::ZERO,
            nodes: Vec::new(),
            latency: Duration::ZERO,
            loss_ppm: 0,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            in_flight: Vec::new(),
            seq: 0,
        }
    }

    /// Adds a host with instances (not started).
    pub fn add_node(&mut self, name: &str, addr: IpAddr, instances: Vec<InstanceConfig>) -> usize {
        let mut router = Router::new();
        for mut c in instances {
            c.primary = addr;
            router.add_instance(c, Vec::<TrackRef>::new());
        }
        self.nodes.push(Node {
            name: name.into(),
            addr,
            router,
            up: false,
            partition: 0,
            actions: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Starts a host's daemon now.
    pub fn start(&mut self, n: usize) {
        let mut out = Vec::new();
        let node = &mut self.nodes[n];
        node.up = true;
        if node
            .router
            .instances()
            .iter()
            .any(|i| i.state() != State::Init)
        {
            node.router = rebuild(&node.router);
        }
        node.router.start(self.now, &mut out);
        self.emit(n, out);
    }

    /// Graceful stop (priority-0 adverts, VIPs released).
    pub fn stop(&mut self, n: usize) {
        let mut out = Vec::new();
        self.nodes[n].router.stop(self.now, true, &mut out);
        self.emit(n, out);
        self.nodes[n].up = false;
    }

    /// Crash: the host goes silent at once.
    pub fn crash(&mut self, n: usize) {
        self.nodes[n].up = false;
    }

    /// Puts a host in a partition.
    pub fn set_partition(&mut self, n: usize, p: u32) {
        self.nodes[n].partition = p;
    }

    /// Heals all partitions.
    pub fn heal(&mut self) {
        for n in &mut self.nodes {
            n.partition = 0;
        }
    }

    /// Runs a closure against a running node's router, recording actions.
    pub fn with_router(
        &mut self,
        n: usize,
        f: impl FnOnce(&mut Router, Instant, &mut Vec<Action>),
    ) {
        let mut out = Vec::new();
        f(&mut self.nodes[n].router, self.now, &mut out);
        self.emit(n, out);
    }

    fn emit(&mut self, n: usize, out: Vec<Action>) {
        for a in out {
            if let Action::SendAdvert { instance, priority } = &a {
                self.transmit(n, instance, *priority);
            }
            self.nodes[n].actions.push((self.now, a));
        }
    }

    fn transmit(&mut self, from: usize, instance: &str, priority: super::types::Priority) {
        let node = &self.nodes[from];
        let Some(inst) = node
            .router
            .instances()
            .iter()
            .find(|i| i.config().name == instance)
        else {
            return;
        };
        let family = inst.config().family;
        let ifindex = inst.config().ifindex;
        let dst = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            Family::V6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        };
        let ctx = inst.checksum_ctx(node.addr, dst);
        let msg = inst.advert_repr(priority).to_bytes(&ctx);
        let (addr, part) = (node.addr, node.partition);
        for to in 0..self.nodes.len() {
            if to == from || self.nodes[to].partition != part {
                continue;
            }
            if self.loss_ppm > 0 && self.rng.below(1_000_000) < u64::from(self.loss_ppm) {
                continue;
            }
            self.seq += 1;
            self.in_flight.push(Some(Delivery {
                to,
                ifindex,
                from_addr: addr,
                family,
                msg: msg.clone(),
            }));
            self.queue.push((
                Reverse(self.now + self.latency),
                Reverse(self.seq),
                self.in_flight.len() - 1,
            ));
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let q = self.queue.peek().map(|(Reverse(t), _, _)| *t);
        let timers = self
            .nodes
            .iter()
            .filter(|n| n.up)
            .filter_map(|n| {
                // The timer heap must agree with the instances.
                let t = n.router.poll_timeout();
                assert_eq!(
                    t,
                    n.router.scan_timeout(),
                    "{}: timer heap out of date",
                    n.name
                );
                t
            })
            .min();
        [q, timers].into_iter().flatten().min()
    }

    /// Advances the clock to `until`, processing every event on the way.
    pub fn run_until(&mut self, until: Instant) {
        let mut guard = 0u64;
        while let Some(t) = self.next_event() {
            if t > until {
                break;
            }
            guard += 1;
            assert!(guard < 10_000_000, "simulation livelock");
            self.now = t;
            if self
                .queue
                .peek()
                .is_some_and(|(Reverse(qt), _, _)| *qt == t)
            {
                let (_, _, idx) = self.queue.pop().expect("peeked");
                let Some(d) = self.in_flight[idx].take() else {
                    continue;
                };
                if !self.nodes[d.to].up {
                    continue;
                }
                let dst = match d.family {
                    Family::V4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
                    Family::V6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
                };
                let rx = Received {
                    ifindex: d.ifindex,
                    src: d.from_addr,
                    dst,
                    ttl: 255,
                    ah: false,
                    ah_valid: false,
                    msg: &d.msg,
                };
                let mut out = Vec::new();
                let _ = self.nodes[d.to]
                    .router
                    .handle_advert(t, d.family, &rx, &mut out);
                self.emit(d.to, out);
                continue;
            }
            for n in 0..self.nodes.len() {
                if self.nodes[n].up && self.nodes[n].router.poll_timeout().is_some_and(|x| x <= t) {
                    let mut out = Vec::new();
                    self.nodes[n].router.handle_timeout(t, &mut out);
                    self.emit(n, out);
                }
            }
        }
        self.now = until;
    }

    /// Advances the clock by `d`.
    pub fn run_for(&mut self, d: Duration) {
        let t = self.now + d;
        self.run_until(t);
    }

    /// Running nodes whose instance `idx` is MASTER.
    pub fn masters(&self, idx: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n].up && self.nodes[n].router.instance(idx).state() == State::Master
            })
            .collect()
    }

    /// When node `n` last entered MASTER for instance `name`.
    pub fn became_master_at(&self, n: usize, name: &str) -> Option<Instant> {
        let line = format!("({name}) Entering MASTER STATE");
        self.nodes[n]
            .actions
            .iter()
            .rev()
            .find(|(_, a)| matches!(a, Action::Log(l) if *l == line))
            .map(|(t, _)| *t)
    }
}

/// A fresh router with the same instances (a restarted daemon).
fn rebuild(r: &Router) -> Router {
    let mut n = Router::new();
    for i in r.instances() {
        n.add_instance(i.config().clone(), Vec::new());
    }
    n
}

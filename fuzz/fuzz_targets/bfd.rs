//! Feeds arbitrary bytes to the BFD Control packet decoder and to the
//! receive path of a session set: nothing may panic on any input, and a
//! decoded packet must re-emit to bytes that decode to the same thing.
#![no_main]

use std::net::IpAddr;

use keepalived_rs::bfd::packet::Repr;
use keepalived_rs::bfd::session::{SessionConfig, Sessions};
use keepalived_rs::vrrp::time::Instant;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Repr::parse_bytes(data) {
        if !r.auth {
            assert_eq!(Repr::parse_bytes(&r.to_bytes()), Ok(r));
        }
    }
    let mut s = Sessions::new(vec![SessionConfig::example("b1")], 1);
    let mut out = Vec::new();
    s.start(Instant(0), &mut out);
    let src = IpAddr::from([10, 0, 0, 2]);
    let ttl = data.first().copied();
    // The same bytes twice, then as the answer to our own discriminator.
    for t in [1u64, 2] {
        let _ = s.receive(Instant(t), src, None, ttl, data, &mut out);
    }
    if data.len() >= 12 {
        let mut d = data.to_vec();
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
});

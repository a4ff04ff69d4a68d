//! Health checking of real servers (keepalived's checker process), in two
//! layers as quinn splits its protocol from its IO:
//!
//! * sans-IO state machines fed with probe results and an explicit `now`:
//!   [`sched`] (one checker: retries, up/down, timers) and [`pool`] (real
//!   and virtual servers: alive set, weights, quorum, sorry server,
//!   notifications as [`pool::Action`]s);
//! * async probes ([`probe`], [`http`], [`proto`]) and a tokio [`driver`]
//!   that runs thousands of checkers on a current-thread runtime;
//!   [`spec`] resolves keepalived's defaults from the configuration once;
//!   [`status`] is what the dump shows of the running state.
//!
//! [`genhash`] is keepalived's `--genhash` / `genhash` tool.

pub mod body_regex;
pub mod driver;
pub mod genhash;
pub mod http;
pub mod pool;
pub mod probe;
pub mod proto;
pub mod sched;
pub mod spec;
pub mod status;

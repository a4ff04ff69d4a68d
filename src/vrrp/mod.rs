//! VRRP (RFC 3768, RFC 5798) as keepalived 2.2.7 implements it.
//!
//! The core here is sans-IO: no sockets, no runtime, no clock. It is fed
//! events with an explicit `now` and returns actions for drivers to carry
//! out, so every timing rule is tested exactly on a virtual clock.

pub mod action;
pub mod garp;
pub mod instance;
pub mod ip;
pub mod log_limit;
pub mod packet;
pub mod router;
pub mod sim;
pub mod time;
pub mod timers;
pub mod track_process;
pub mod types;

pub use types::{Centiseconds, Family, IfIndex, Priority, Vrid};

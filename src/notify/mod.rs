//! Running scripts and sending notifications the way keepalived does
//! (reference §4.9–§4.11, §3.3, §4.3): script execution ([`exec`]),
//! `vrrp_script` tracking ([`track`]), notify FIFOs ([`fifo`]), SMTP
//! alerts ([`mail`], sent when [`alert`] says so) and dispatching one
//! state notification ([`event`]).
//!
//! Everything here is tokio-based and never blocks the caller's runtime;
//! nothing here logs by itself: log lines are returned to the caller as
//! strings, worded as keepalived words them.

pub mod alert;
pub mod event;
pub mod exec;
pub mod fifo;
pub mod mail;
pub mod track;

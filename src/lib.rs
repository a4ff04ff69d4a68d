//! keepalived-rs: a drop-in replacement for keepalived 2.2.x.
//!
//! Modules are named after keepalived's concepts: [`config`] reads
//! keepalived.conf, [`cli`] is the command line; `vrrp`, `check`, `ipvs`,
//! `notify` and `daemon` arrive with the issues that build them.

#![warn(missing_docs)]

pub mod bfd;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod firewall;
pub mod ipvs;
pub mod notify;
pub mod sys;
pub mod vrrp;

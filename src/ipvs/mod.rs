//! IPVS (Linux Virtual Server) over generic netlink, as keepalived's
//! checker uses it.
//!
//! * [`wire`]: commands and attributes of `include/uapi/linux/ip_vs.h`,
//!   encoded and parsed without a socket;
//! * [`repr`]: typed services, destinations, sync daemons, timeouts;
//! * [`request`]: the requests keepalived makes and its error policy;
//! * [`client`]: the socket, the ACK/dump loop, [`Error::NoIpvs`] when the
//!   kernel has no IPVS (the daemon can keep running and retry);
//! * [`mapping`]: `virtual_server` blocks + health → desired IPVS state;
//! * [`reconcile`]: diff a dump against the desired state and apply it.

pub mod client;
pub mod error;
pub mod mapping;
pub mod reconcile;
pub mod repr;
pub mod request;
pub mod wire;

#[cfg(test)]
mod tests;

pub use client::Client;
pub use error::{Error, Result};
pub use mapping::{desired, Desired, Health, RsId, VirtualService};
pub use repr::{
    Dest, Family, Forward, Info, Netmask, Protocol, Service, ServiceFlags, ServiceKey, SyncDaemon,
    SyncState, Timeouts, Tunnel, TunnelType,
};
pub use request::Request;

//! The typed configuration: what the daemon runs from. Each block family's
//! types live in its own module; this is the root that holds them.

use super::{bfd, global, lvs, vrrp};

/// A whole keepalived configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// `global_defs` (and the root keywords that belong to it).
    pub global: global::GlobalDefs,
    /// VRRP: instances, scripts, sync groups, trackers, static addresses.
    pub vrrp: vrrp::VrrpConfig,
    /// LVS: virtual servers, their groups, real servers and checkers.
    pub lvs: lvs::LvsConfig,
    /// BFD instances.
    pub bfd: Vec<bfd::BfdInstance>,
}

impl Config {
    /// Whether the VRRP child has anything to do.
    pub fn has_vrrp(&self) -> bool {
        !self.vrrp.instances.is_empty()
    }

    /// Whether the checker child has anything to do.
    pub fn has_checker(&self) -> bool {
        !self.lvs.virtual_servers.is_empty()
    }

    /// `dynamic_interfaces`, wherever it was written: interfaces named by
    /// the configuration may appear later.
    pub fn dynamic_interfaces(&self) -> bool {
        self.global.dynamic_interfaces.is_some() || self.vrrp.early.dynamic_interfaces
    }

    /// Whether the BFD child has anything to do.
    pub fn has_bfd(&self) -> bool {
        !self.bfd.is_empty()
    }
}

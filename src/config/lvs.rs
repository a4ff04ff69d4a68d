//! LVS configuration: `virtual_server`, `virtual_server_group`,
//! `real_server` and the health checkers.

use super::parser::Keyword;

/// Everything the checker child runs from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LvsConfig {
    /// `virtual_server` blocks in file order.
    pub virtual_servers: Vec<VirtualServer>,
}

/// One `virtual_server`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VirtualServer {}

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[];

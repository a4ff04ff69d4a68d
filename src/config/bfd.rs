//! `bfd_instance` blocks.

use super::parser::Keyword;

/// One `bfd_instance`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BfdInstance {
    /// Instance name.
    pub name: String,
}

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[];

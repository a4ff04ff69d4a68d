//! Post-parse validation with keepalived 2.2.7's semantics: cross-checks
//! between blocks, interfaces present in the running namespace, script
//! security.

use super::parser::Ctx;

/// Runs every check, reporting through `ctx`.
pub fn validate(ctx: &mut Ctx) {
    super::lvs::validate(ctx);
}

//! `global_defs` and the root keywords that configure the whole daemon.

use super::parser::{block, kw, Ctx, Keyword, Res, Stmt};

/// `global_defs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GlobalDefs {
    /// `router_id` (default: the host name).
    pub router_id: Option<String>,
}

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[block("global_defs", None, GLOBAL_DEFS, None)];

/// Keywords inside `global_defs`.
pub static GLOBAL_DEFS: &[Keyword] = &[kw("router_id", router_id)];

fn router_id(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    ctx.cfg.global.router_id = Some(v);
    Ok(())
}

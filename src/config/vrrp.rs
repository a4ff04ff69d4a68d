//! VRRP configuration: `vrrp_instance`, `vrrp_script`, `vrrp_sync_group`,
//! trackers and static addresses.

use super::parser::{block, kw, Ctx, Keyword, Res, Stmt};

/// Everything the VRRP child runs from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VrrpConfig {
    /// `vrrp_instance` blocks in file order.
    pub instances: Vec<VrrpInstance>,
}

/// One `vrrp_instance`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// `interface`.
    pub interface: Option<String>,
}

/// Root keywords of this module.
pub static ROOT: &[Keyword] = &[block("vrrp_instance", Some(instance), INSTANCE, None)];

/// Keywords inside `vrrp_instance`.
pub static INSTANCE: &[Keyword] = &[kw("interface", interface)];

fn instance(ctx: &mut Ctx, s: &Stmt) -> Res {
    let name = ctx.arg(s, 1)?.to_string();
    ctx.cfg.vrrp.instances.push(VrrpInstance {
        name,
        ..Default::default()
    });
    Ok(())
}

fn interface(ctx: &mut Ctx, s: &Stmt) -> Res {
    let v = ctx.arg(s, 1)?.to_string();
    if let Some(i) = ctx.cfg.vrrp.instances.last_mut() {
        i.interface = Some(v);
    }
    Ok(())
}

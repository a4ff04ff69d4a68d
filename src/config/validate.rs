//! Post-parse validation with keepalived 2.2.7's semantics: cross-checks
//! between blocks, interfaces present in the running namespace, script
//! security.

use super::parser::Ctx;
use super::script::{self, Script};
use super::vrrp;

/// Every script of the configuration that script security covers (the
/// VRRP side and the global ones; the checker side adds its own).
pub fn all_scripts(cfg: &super::Config) -> Vec<Script> {
    let mut v: Vec<Script> = vrrp::scripts(&cfg.vrrp).into_iter().cloned().collect();
    // the VRRP child also checks the FIFO scripts it runs (the checker
    // checks `lvs_notify_fifo_script`)
    let g = &cfg.global;
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo] {
        v.extend(f.script.clone());
    }
    v
}

/// `startup_script` and `shutdown_script` (checked on their own, by the
/// parent).
pub fn start_stop_scripts(cfg: &super::Config) -> Vec<Script> {
    cfg.global
        .startup_script
        .iter()
        .chain(cfg.global.shutdown_script.iter())
        .cloned()
        .collect()
}

/// Runs every check, reporting through `ctx`.
pub fn validate(ctx: &mut Ctx) {
    let ss = start_stop_scripts(&ctx.cfg);
    if !ss.is_empty() {
        let refs: Vec<&Script> = ss.iter().collect();
        script::check_start_stop_scripts(ctx, &refs);
    }
    // keepalived validates each side in its own child process: a VRRP
    // problem that stops the VRRP checks does not stop the checker's.
    validate_checker(ctx);
    if !vrrp::validate(ctx) {
        return;
    }
    let scripts = all_scripts(&ctx.cfg);
    let refs: Vec<&Script> = scripts.iter().collect();
    let flags = script::check_scripts(ctx, &refs);
    // disable the track scripts keepalived would not run
    for (s, f) in scripts.iter().zip(flags) {
        if s.kind == script::ScriptKind::VrrpTrack && !f.usable() {
            if let Some(v) = ctx.cfg.vrrp.scripts.iter_mut().find(|v| v.name == s.owner) {
                v.disabled = true;
            }
        }
    }
}

/// The checker child's checks: LVS cross-checks, then the security of the
/// scripts it runs (MISC_CHECK, notify_up/down, quorum_up/down and
/// `lvs_notify_fifo_script`).
fn validate_checker(ctx: &mut Ctx) {
    super::lvs::validate(ctx);
    if ctx.cfg.lvs.virtual_servers.is_empty() {
        return;
    }
    let mut scripts: Vec<Script> = ctx.cfg.lvs.scripts().into_iter().cloned().collect();
    scripts.extend(ctx.cfg.global.lvs_notify_fifo.script.clone());
    let refs: Vec<&Script> = scripts.iter().collect();
    script::check_scripts_as(ctx, &refs, "check scripts");
}

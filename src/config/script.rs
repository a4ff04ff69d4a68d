//! Scripts named in the configuration (`script`, `notify*`, `misc_path`,
//! `*_fifo_script`, `quorum_up/down`...): their argv, the user they run as,
//! and keepalived's script-security checks (§4.9 of the reference).

use super::diag::Loc;
use super::lexer::split_command;
use super::parser::{Ctx, Fatal, Stmt};

/// What a script is for (decides messages and security rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// `vrrp_script { script }`.
    VrrpTrack,
    /// `notify*` of an instance or sync group, FIFO scripts, startup/shutdown.
    Notify,
    /// `MISC_CHECK { misc_path }`.
    MiscCheck,
    /// `notify_up/down`, `quorum_up/down` of the checker.
    CheckerNotify,
}

/// A configured script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Argument vector, split as keepalived splits quoted script keywords.
    pub argv: Vec<String>,
    /// The command as written.
    pub cmd: String,
    /// `USER` given after the command (or by a `user` keyword).
    pub user: Option<String>,
    /// `GROUP` given after the user.
    pub group: Option<String>,
    /// What it is for.
    pub kind: ScriptKind,
    /// Where it was configured.
    pub loc: Loc,
    /// The name of the owning object, for messages (`chk`, `VI_1`, `[rs]:tcp:80`).
    pub owner: String,
}

/// Reads `"cmd args" [USER [[:]GROUP]]` starting at word `i`.
pub fn parse(
    ctx: &mut Ctx,
    s: &Stmt,
    i: usize,
    kind: ScriptKind,
    owner: &str,
) -> Result<Script, Fatal> {
    let cmd = ctx.arg(s, i)?.to_string();
    let user = s.get(i + 1).map(str::to_string);
    let group = s.get(i + 2).map(|g| g.trim_start_matches(':').to_string());
    Ok(Script {
        argv: split_command(&cmd),
        cmd,
        user,
        group,
        kind,
        loc: s.loc.clone(),
        owner: owner.to_string(),
    })
}

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

// ===================== users and script security (§4.9) =====================

/// Looks up a user by name or numeric id: (uid, primary gid).
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    // The same few users are looked up once per script: getpwnam reads
    // the password database every time, so remember the answers for this load.
    if let Some(hit) = USER_CACHE.with(|c| c.borrow().get(name).copied()) {
        return hit;
    }
    let r = lookup_user_uncached(name);
    USER_CACHE.with(|c| c.borrow_mut().insert(name.to_string(), r));
    r
}

fn lookup_user_uncached(name: &str) -> Option<(u32, u32)> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer to static storage or NULL; we copy out at once.
    unsafe {
        let p = libc::getpwnam(c.as_ptr());
        if !p.is_null() {
            return Some(((*p).pw_uid, (*p).pw_gid));
        }
        if let Ok(uid) = name.parse::<u32>() {
            let p = libc::getpwuid(uid);
            if !p.is_null() {
                return Some(((*p).pw_uid, (*p).pw_gid));
            }
        }
    }
    None
}

/// Looks up a group by name or numeric id.
pub fn lookup_group(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getgrnam returns a pointer to static storage or NULL; we copy out at once.
    unsafe {
        let p = libc::getgrnam(c.as_ptr());
        if !p.is_null() {
            return Some((*p).gr_gid);
        }
    }
    name.parse().ok()
}

/// The default script user keepalived would use: `script_user`, else
/// `keepalived_script`, else root unless `enable_script_security`.
/// Reports "Unable to set default user keepalived_script for script" once.
fn default_user(ctx: &mut Ctx) -> Option<(u32, u32)> {
    let g = &ctx.cfg.global;
    let early = &ctx.cfg.vrrp.early;
    if g.script_user_failed || early.script_user_failed {
        return None;
    }
    let security = g.script_security || early.script_security;
    if let Some((u, grp)) = g.script_user.as_ref().or(early.script_user.as_ref()) {
        let (uid, mut gid) = lookup_user(u)?;
        if let Some(grp) = grp {
            gid = lookup_group(grp)?;
        }
        return Some((uid, gid));
    }
    if let Some(ids) = lookup_user("keepalived_script") {
        return Some(ids);
    }
    if security {
        if !DEFAULT_USER_REPORTED.with(|r| r.replace(true)) {
            ctx.err_global(
                super::diag::Level::Error,
                "Unable to set default user keepalived_script for script",
            );
        }
        return None;
    }
    Some((0, 0))
}

thread_local! {
    static DEFAULT_USER_REPORTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static USER_CACHE: std::cell::RefCell<std::collections::HashMap<String, Option<(u32, u32)>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Resets per-load state (called at the start of each load).
pub fn reset() {
    DEFAULT_USER_REPORTED.with(|r| r.set(false));
    USER_CACHE.with(|c| c.borrow_mut().clear());
}

/// Whether a script without its own user can run (keepalived removes it
/// otherwise).
pub fn default_user_available(ctx: &mut Ctx) -> bool {
    default_user(ctx).is_some()
}

/// The outcome of checking one script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFlags {
    /// The file was found (a script that would be executed).
    pub is_script: bool,
    /// Executable by its user.
    pub executable: bool,
    /// Not found or not accessible.
    pub not_found: bool,
    /// Unsafe permissions on the file or a directory above it.
    pub insecure: bool,
    /// Disabled because insecure under `enable_script_security`.
    pub inhibit: bool,
    /// Run through the shell (`</dev/tcp/...`), nothing to check.
    pub system: bool,
}

impl ScriptFlags {
    /// Whether keepalived would run it.
    pub fn usable(&self) -> bool {
        self.system || (self.executable && !self.not_found && !self.inhibit)
    }
}

fn is_executable(md: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mode = md.mode();
    (uid == 0 && mode & 0o111 != 0)
        || (uid == md.uid() && mode & 0o100 != 0)
        || (uid != md.uid()
            && ((gid == md.gid() && mode & 0o010 != 0) || (gid != md.gid() && mode & 0o001 != 0)))
}

fn find_in_path(name: &str, uid: u32, gid: u32) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin".into());
    for dir in path.split(':') {
        let p = if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        };
        if let Ok(md) = std::fs::metadata(&p) {
            if md.is_file() && is_executable(&md, uid, gid) {
                return Some(p);
            }
        }
    }
    None
}

/// keepalived's `check_script_secure` for one script run as `uid:gid`.
pub fn check_one(script: &Script, uid: u32, gid: u32, security: bool) -> ScriptFlags {
    use std::os::unix::fs::MetadataExt;
    let mut f = ScriptFlags::default();
    let Some(arg0) = script.argv.first() else {
        f.not_found = true;
        return f;
    };
    if let Some(rest) = arg0.strip_prefix('<') {
        if rest.trim_start_matches([' ', '\t']).starts_with('/') {
            f.system = true;
            return f;
        }
    }
    let path = if arg0.contains('/') {
        arg0.clone()
    } else {
        match find_in_path(arg0, uid, gid) {
            Some(p) => p,
            None => {
                f.not_found = true;
                return f;
            }
        }
    };
    let Ok(md) = std::fs::metadata(&path) else {
        f.not_found = true;
        return f;
    };
    f.is_script = true;
    let mut protect = false;
    if is_executable(&md, uid, gid) {
        f.executable = true;
        let mode = md.mode();
        protect = uid == 0
            || gid == 0
            || (md.uid() == 0 && mode & 0o100 != 0 && mode & 0o4000 != 0)
            || (md.gid() == 0 && mode & 0o010 != 0 && mode & 0o2000 != 0);
    }
    if !protect {
        return f;
    }
    // every component from / down to the file
    let mut comps: Vec<String> = vec!["/".into()];
    let mut acc = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        acc.push('/');
        acc.push_str(part);
        comps.push(acc.clone());
    }
    if !path.starts_with('/') {
        comps = vec![path.clone()];
    }
    for c in comps {
        let Ok(m) = std::fs::metadata(&c) else {
            f.not_found = true;
            return f;
        };
        let mode = m.mode();
        let sticky = mode & 0o1000 != 0;
        let is_file = m.is_file();
        if m.uid() != 0
            || ((!sticky || is_file) && ((m.gid() != 0 && mode & 0o020 != 0) || mode & 0o002 != 0))
        {
            f.insecure = true;
            if security {
                f.inhibit = true;
            }
            break;
        }
    }
    f
}

/// Script security over every script of the configuration (§4.9): finds
/// each script's user, checks the file, reports disabled track scripts,
/// and the `SECURITY VIOLATION` (exit 6) when scripts would run without
/// `enable_script_security`. Returns each script's flags, in order.
pub fn check_scripts(ctx: &mut Ctx, scripts: &[&Script]) -> Vec<ScriptFlags> {
    check_scripts_as(ctx, scripts, "scripts")
}

/// As [`check_scripts`] for the global `startup_script`/`shutdown_script`,
/// which keepalived checks (and reports) separately.
pub fn check_start_stop_scripts(ctx: &mut Ctx, scripts: &[&Script]) -> Vec<ScriptFlags> {
    check_scripts_as(ctx, scripts, "start/shutdown scripts")
}

/// As [`check_scripts`], naming the kind of scripts in the violation message
/// (keepalived's checker says "check scripts").
pub fn check_scripts_as(ctx: &mut Ctx, scripts: &[&Script], what: &str) -> Vec<ScriptFlags> {
    let security = ctx.cfg.global.script_security;
    let mut out = Vec::with_capacity(scripts.len());
    let mut any_script = false;
    let mut any_insecure = false;
    for s in scripts {
        let ids = match &s.user {
            Some(u) => lookup_user(u).map(|(uid, gid)| {
                let gid = s.group.as_deref().and_then(lookup_group).unwrap_or(gid);
                (uid, gid)
            }),
            None => default_user(ctx),
        };
        let Some((uid, gid)) = ids else {
            out.push(ScriptFlags {
                not_found: true,
                ..Default::default()
            });
            continue;
        };
        let f = check_one(s, uid, gid, security);
        any_script |= f.is_script;
        any_insecure |= f.insecure;
        if s.kind == ScriptKind::VrrpTrack {
            if f.inhibit {
                ctx.err_global(
                    super::diag::Level::Error,
                    format!("Disabling track script {} due to insecure", s.owner),
                );
            } else if f.not_found {
                ctx.err_global(
                    super::diag::Level::Error,
                    format!(
                        "Disabling track script {} since not found/accessible",
                        s.owner
                    ),
                );
            }
        }
        out.push(f);
    }
    if !security && any_script {
        let extra = if any_insecure {
            " There are insecure scripts."
        } else {
            ""
        };
        ctx.err_global(
            super::diag::Level::Security,
            format!("SECURITY VIOLATION - {what} are being executed but script_security not enabled.{extra}"),
        );
    }
    out
}

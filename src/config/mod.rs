//! The keepalived.conf front-end: preprocessor ([`reader`]), word splitting
//! ([`lexer`]), the keyword walker ([`parser`]), one module per block family
//! holding its typed model and keyword table, and post-parse validation.

pub mod addr;
pub mod bfd;
pub mod check;
pub mod diag;
pub mod global;
pub mod keyword_status;
pub mod lexer;
pub mod lvs;
pub mod model;
pub mod parser;
pub mod reader;
pub mod script;
mod sync_tracking;
pub mod validate;
pub mod vrrp;

use std::path::Path;
use std::sync::OnceLock;

pub use diag::{Diagnostic, Level, Loc, Report};
pub use model::Config;
use parser::{Ctx, Keyword};
pub use reader::ReaderOptions;

/// The root keyword table: every block family's top-level keywords.
pub fn root_keywords() -> &'static [Keyword] {
    static ROOT: OnceLock<Vec<Keyword>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let mut v = Vec::new();
        v.extend_from_slice(global::ROOT);
        v.extend_from_slice(vrrp::ROOT);
        v.extend_from_slice(lvs::ROOT);
        v.extend_from_slice(bfd::ROOT);
        v
    })
}

/// Which block a keyword is valid in, if any (for "not valid here" help).
pub fn known_elsewhere(word: &str) -> Option<String> {
    fn walk(table: &[Keyword], path: &str, word: &str, depth: usize) -> Option<String> {
        if depth > 6 {
            return None;
        }
        for k in table {
            if k.name == word {
                return Some(if path.is_empty() {
                    "the top level".into()
                } else {
                    format!("'{path}'")
                });
            }
        }
        for k in table {
            if let Some(sub) = k.sub {
                if let Some(found) = walk(sub, k.name, word, depth + 1) {
                    return Some(found);
                }
            }
        }
        None
    }
    walk(root_keywords(), "", word, 0)
}

/// A message keepalived only logs (it does not count as a config error).
pub fn note(msg: &str) {
    NOTES.with(|n| n.borrow_mut().push(msg.to_string()));
}

thread_local! {
    static NOTES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes the notes logged so far on this thread.
pub fn take_notes() -> Vec<String> {
    NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// Result of loading a configuration.
pub struct Loaded {
    /// The typed configuration.
    pub config: Config,
    /// Everything reported.
    pub report: Report,
    /// Messages keepalived only logs.
    pub notes: Vec<String>,
}

/// keepalived's parent reads `global_defs` (and the root globals) before
/// the full parse, so settings such as `dynamic_interfaces` or
/// `script_user` apply wherever they appear. This pre-pass reads only them.
fn prescan(reader: reader::Reader) -> (vrrp::EarlyGlobals, Report) {
    let overridden = reader.options().net_namespace;
    let mut ctx = Ctx::new(reader);
    let _ = ctx.process(prescan_keywords(), 0, false);
    let (cfg, report) = ctx.finish();
    let _ = take_notes();
    let g = cfg.global;
    let early = vrrp::EarlyGlobals {
        dynamic_interfaces: g.dynamic_interfaces.is_some(),
        script_security: g.script_security,
        script_user: g.script_user,
        script_user_failed: g.script_user_failed,
        net_namespace: g.net_namespace.is_some() || overridden,
    };
    (early, report)
}

/// The pre-pass table: the global keywords, and every other root keyword
/// with its block skipped.
fn prescan_keywords() -> &'static [Keyword] {
    static PRE: OnceLock<Vec<Keyword>> = OnceLock::new();
    PRE.get_or_init(|| {
        let mut v: Vec<Keyword> = global::ROOT.to_vec();
        for k in root_keywords() {
            if !v.iter().any(|g| g.name == k.name) {
                v.push(parser::kw(k.name, skip_keyword_block));
            }
        }
        v
    })
}

fn skip_keyword_block(ctx: &mut Ctx, _s: &parser::Stmt) -> parser::Res {
    ctx.skip_block(true);
    Ok(())
}

/// Parses from a reader and validates.
pub fn load_from(reader: reader::Reader) -> Loaded {
    load_with(reader, None)
}

/// Loads with a reader factory: one parse normally; a second one with the
/// `global_defs` pre-pass only when a setting that keepalived applies
/// wherever it is written (`dynamic_interfaces`, `net_namespace`) is set,
/// since only those change what the main parse reports.
fn load_twice_if_needed(mut open: impl FnMut() -> reader::Reader) -> Loaded {
    let first = load_with(open(), None);
    let g = &first.config.global;
    if !open().options().net_namespace
        && g.dynamic_interfaces.is_none()
        && g.net_namespace.is_none()
        && !first.config.vrrp.early.net_namespace
    {
        return first;
    }
    load_with(open(), Some(open()))
}

fn load_with(reader: reader::Reader, pre: Option<reader::Reader>) -> Loaded {
    let _ = take_notes();
    crate::sys::refresh_interfaces();
    script::reset();
    let (early, pre_report) = pre.map(prescan).unwrap_or_default();
    let mut ctx = Ctx::new(reader);
    ctx.cfg.vrrp.early = early;
    let fatal = ctx.process(root_keywords(), 0, false).is_err();
    if !fatal {
        validate::validate(&mut ctx);
    }
    let (config, mut report) = ctx.finish();
    report.net_namespace = config.global.net_namespace.is_some() || config.vrrp.early.net_namespace;
    if config.vrrp.early.net_namespace {
        // keepalived -t only shows what its parent reports: the children
        // run (and report) inside the namespace
        report.diags = pre_report.diags;
    }
    Loaded {
        config,
        report,
        notes: take_notes(),
    }
}

/// Reads, parses and validates a configuration file.
pub fn load(path: &Path, opts: ReaderOptions) -> Loaded {
    load_twice_if_needed(|| reader::Reader::open(path, opts.clone()))
}

/// Parses configuration text held in memory (tests, fuzzing).
pub fn load_str(name: &str, text: &str, opts: ReaderOptions) -> Loaded {
    load_twice_if_needed(|| reader::Reader::from_str(name, text, opts.clone()))
}

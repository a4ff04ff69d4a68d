//! Which keywords the daemon applies (issue #13): every keyword the parser
//! accepts is listed in `keyword_status.txt` as `applied`, `inert` (with
//! why) or `unsupported`, so that nothing is accepted and silently ignored.
//! The uses of `unsupported` keywords are logged at start.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::parser::Keyword;

/// Nesting deeper than this is not walked (the tables are acyclic; this
/// only bounds a mistake).
const MAX_DEPTH: usize = 8;

/// Every `(block path, keyword)` the parser accepts, as `block/.../keyword`
/// (`global_defs/vrrp_strict`, `virtual_server/real_server/HTTP_GET/url/digest`),
/// root keywords on their own; sorted, without duplicates.
pub fn keyword_paths() -> Vec<String> {
    fn walk(table: &[Keyword], prefix: &str, depth: usize, out: &mut Vec<String>) {
        for k in table {
            let path = if prefix.is_empty() {
                k.name.to_string()
            } else {
                format!("{prefix}/{}", k.name)
            };
            if let (Some(sub), true) = (k.sub, depth < MAX_DEPTH) {
                walk(sub, &path, depth + 1, out);
            }
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(super::root_keywords(), "", 0, &mut out);
    out.sort();
    out.dedup();
    out
}

/// What the daemon does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Applied: `file` (under the crate root) uses the setting through `token`.
    Applied {
        /// The source file that acts on it.
        file: &'static str,
        /// A field or function name that occurs in `file`.
        token: &'static str,
    },
    /// Deliberately without effect, for `reason`.
    Inert(&'static str),
    /// keepalived 2.2.7 acts on it and keepalived-rs does not yet.
    Unsupported(&'static str),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// `block/.../keyword`, as [`keyword_paths`] spells it.
    pub path: &'static str,
    /// Its status.
    pub status: Status,
}

/// The checked-in table, one row a line: `PATH applied FILE TOKEN`,
/// `PATH inert REASON...` or `PATH unsupported REASON...`; `#` comments.
pub const TABLE: &str = include_str!("keyword_status.txt");

/// The rows of `text` (the table's format); `Err` names the first
/// malformed line.
pub fn parse_table(text: &'static str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || format!("keyword_status.txt line {}: {line}", n + 1);
        let (path, rest) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
        let rest = rest.trim_start();
        let (kind, rest) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
        let rest = rest.trim();
        let status = match kind {
            "applied" => {
                let (file, token) = rest.split_once(char::is_whitespace).ok_or_else(bad)?;
                Status::Applied {
                    file,
                    token: token.trim(),
                }
            }
            "inert" if !rest.is_empty() => Status::Inert(rest),
            "unsupported" if !rest.is_empty() => Status::Unsupported(rest),
            _ => return Err(bad()),
        };
        rows.push(Row { path, status });
    }
    Ok(rows)
}

/// The table (a malformed table is caught by the tests; here it is empty).
pub fn table() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| parse_table(TABLE).unwrap_or_default())
}

/// Whether keepalived 2.2.7 acts on `path` and keepalived-rs does not.
pub fn is_unsupported(path: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        table()
            .iter()
            .filter(|r| matches!(r.status, Status::Unsupported(_)))
            .map(|r| r.path)
            .collect()
    })
    .contains(path)
}

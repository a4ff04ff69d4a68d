//! Configuration diagnostics: keepalived's message text, located by file and
//! line, plus what we add on top (the offending line, a caret, what was
//! expected, a suggestion for a misspelt keyword).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a configuration line came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file the line was read from.
    pub file: Arc<PathBuf>,
    /// 1-based line number in that file.
    pub line: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}: Line {})", self.file.display(), self.line)
    }
}

/// How bad a reported problem is. The order is keepalived's `config_err_t`
/// order: under `-t` the highest level reported decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something keepalived only logs, or that we cannot do as keepalived
    /// would (e.g. a PCRE2 feature of a `regex`): shown, but `-t` still
    /// exits 0 for it.
    Warning,
    /// A file or interface is missing: the daemon could not run as configured.
    CannotRun,
    /// Any configuration error or warning (unknown keyword, bad number...).
    Error,
    /// Scripts would run as root without `enable_script_security`.
    Security,
}

/// One reported problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity, which decides `-t`'s exit code.
    pub level: Level,
    /// Location, when the problem belongs to a line.
    pub loc: Option<Loc>,
    /// keepalived's own wording, so that users' log greps keep working.
    pub message: String,
    /// The source line, for the caret display.
    pub source: Option<String>,
    /// Byte range in `source` to underline.
    pub span: Option<(usize, usize)>,
    /// Our extra help: what was expected, or `did you mean ...?`.
    pub help: Option<String>,
}

impl Diagnostic {
    /// The one-line keepalived-compatible form: `(FILE: Line N) message`.
    pub fn headline(&self) -> String {
        match &self.loc {
            Some(loc) => format!("{loc} {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let (Some(src), Some(loc)) = (&self.source, &self.loc) {
            let num = loc.line.to_string();
            let pad = " ".repeat(num.len());
            write!(f, "\n {num} | {src}")?;
            if let Some((start, end)) = self.span {
                let start = src[..start.min(src.len())].chars().count();
                let width = src.get(start..end).map_or(1, |s| s.chars().count()).max(1);
                write!(f, "\n {pad} | {}{}", " ".repeat(start), "^".repeat(width))?;
                if let Some(help) = &self.help {
                    write!(f, " {help}")?;
                }
                return Ok(());
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n   = {help}")?;
        }
        Ok(())
    }
}

/// Everything reported while reading one configuration.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Diagnostics in the order they were found.
    pub diags: Vec<Diagnostic>,
    /// A fatal parse error stopped reading (keepalived exits 2 even under `-t`).
    pub fatal: bool,
    /// `net_namespace` is configured: keepalived 2.2.7's `-t` then exits 0
    /// whatever it reported (the check runs in a process whose result is lost).
    pub net_namespace: bool,
    /// Uses of keywords keepalived 2.2.7 acts on and keepalived-rs does not
    /// (`unsupported` in the keyword status table): logged at start, never
    /// shown by `-t`, whose output stays keepalived's.
    pub unsupported: Vec<(Loc, &'static str)>,
}

impl Report {
    /// The start-up lines for [`Report::unsupported`], one per use.
    pub fn unsupported_lines(&self) -> Vec<String> {
        self.unsupported
            .iter()
            .map(|(loc, name)| {
                format!("{loc} {name} is not supported by keepalived-rs yet - ignored")
            })
            .collect()
    }
}

impl Report {
    /// Records a problem.
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The highest level reported, if any.
    pub fn worst(&self) -> Option<Level> {
        self.diags.iter().map(|d| d.level).max()
    }

    /// `keepalived -t`'s exit code for this report.
    pub fn exit_code(&self) -> i32 {
        if self.net_namespace {
            return 0;
        }
        if self.fatal {
            return 2;
        }
        match self.worst() {
            None | Some(Level::Warning) => 0,
            Some(Level::CannotRun) => 4,
            Some(Level::Error) => 5,
            Some(Level::Security) => 6,
        }
    }
}

/// Levenshtein distance, for `did you mean` suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| {
            (
                edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_finds_misspelt_keyword() {
        let kws = ["priority", "state", "interface", "virtual_router_id"];
        assert_eq!(suggest("priorty", kws), Some("priority"));
        assert_eq!(suggest("interfce", kws), Some("interface"));
        assert_eq!(suggest("zzzzzz", kws), None);
    }

    #[test]
    fn exit_code_is_highest_level() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        let d = |level| Diagnostic {
            level,
            loc: None,
            message: String::new(),
            source: None,
            span: None,
            help: None,
        };
        r.push(d(Level::CannotRun));
        assert_eq!(r.exit_code(), 4);
        r.push(d(Level::Security));
        r.push(d(Level::Error));
        assert_eq!(r.exit_code(), 6);
        r.fatal = true;
        assert_eq!(r.exit_code(), 2);
    }

    #[test]
    fn display_shows_caret_and_help() {
        let d = Diagnostic {
            level: Level::Error,
            loc: Some(Loc {
                file: Arc::new("/k.conf".into()),
                line: 7,
            }),
            message: "Unknown keyword 'priorty'".into(),
            source: Some("    priorty 100".into()),
            span: Some((4, 11)),
            help: Some("did you mean 'priority'?".into()),
        };
        let s = d.to_string();
        assert!(s.starts_with("(/k.conf: Line 7) Unknown keyword 'priorty'"));
        assert!(
            s.contains("\n   |     ^^^^^^^ did you mean 'priority'?"),
            "{s}"
        );
    }
}

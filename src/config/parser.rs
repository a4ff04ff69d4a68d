//! The keyword walker: keepalived's `process_stream` over tables of
//! keywords, plus the typed value readers every block uses. Each block
//! module declares a `&[Keyword]` table; handlers turn words into the typed
//! model in [`super::model`] and report problems with keepalived's wording.

use super::diag::{suggest, Diagnostic, Level, Loc};
use super::lexer::{words, Word};
use super::model::Config;
use super::reader::{Line, Reader};

/// A fatal parse error: keepalived exits 2 at once, even under `-t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal;

/// Handler result.
pub type Res = Result<(), Fatal>;

/// A keyword handler.
pub type Handler = fn(&mut Ctx, &Stmt) -> Res;

/// A block's close handler, run at its `}`.
pub type CloseHandler = fn(&mut Ctx) -> Res;

/// One entry of a keyword table.
#[derive(Clone, Copy)]
pub struct Keyword {
    /// The keyword, case-sensitive.
    pub name: &'static str,
    /// Called with the keyword's line.
    pub handler: Option<Handler>,
    /// Sub-keywords, for keywords that open a `{ }` block of keywords.
    pub sub: Option<&'static [Keyword]>,
    /// Called when the block closes.
    pub close: Option<CloseHandler>,
}

/// A leaf keyword.
pub const fn kw(name: &'static str, h: Handler) -> Keyword {
    Keyword {
        name,
        handler: Some(h),
        sub: None,
        close: None,
    }
}

/// A keyword opening a block of sub-keywords.
pub const fn block(
    name: &'static str,
    h: Option<Handler>,
    sub: &'static [Keyword],
    close: Option<CloseHandler>,
) -> Keyword {
    Keyword {
        name,
        handler: h,
        sub: Some(sub),
        close,
    }
}

/// A keyword that is accepted and ignored (values keepalived parses but
/// which have no effect in this build, e.g. SNMP settings).
pub fn ignore(_: &mut Ctx, _: &Stmt) -> Res {
    Ok(())
}

/// One statement: a logical line split into words.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// Its location.
    pub loc: Loc,
    /// The line text.
    pub text: String,
    /// Its words.
    pub words: Vec<Word>,
}

impl Stmt {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the statement has no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Word `i`, if present.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(|w| w.text.as_str())
    }

    /// The keyword.
    pub fn key(&self) -> &str {
        self.get(0).unwrap_or("")
    }

    /// The words from `i` on.
    pub fn rest(&self, i: usize) -> impl Iterator<Item = &str> {
        self.words.iter().skip(i).map(|w| w.text.as_str())
    }
}

/// Parsing context handed to every handler.
pub struct Ctx {
    reader: Reader,
    /// The model being built.
    pub cfg: Config,
    skip: i32,
    /// A pre-pass that only wants some keywords: unknown keywords are not
    /// reported (and no suggestions are computed for them).
    pub quiet_unknown: bool,
    /// The blocks open around the current line, to name a keyword by its
    /// path in the keyword status table.
    path: Vec<&'static str>,
}

impl Ctx {
    /// Starts parsing from a reader.
    pub fn new(reader: Reader) -> Ctx {
        Ctx {
            reader,
            cfg: Config::default(),
            skip: 0,
            quiet_unknown: false,
            path: Vec::new(),
        }
    }

    /// Finishes, returning the model and everything reported.
    pub fn finish(self) -> (Config, super::diag::Report) {
        (self.cfg, self.reader.report)
    }

    /// Reports a problem with keepalived's message at a statement.
    pub fn report(
        &mut self,
        level: Level,
        stmt: Option<&Stmt>,
        word: Option<usize>,
        msg: String,
        help: Option<String>,
    ) {
        let (loc, source, span) = match stmt {
            Some(s) => {
                let span = word.and_then(|i| s.words.get(i)).map(|w| (w.start, w.end));
                (Some(s.loc.clone()), Some(s.text.clone()), span)
            }
            None => (None, None, None),
        };
        self.reader.report.push(Diagnostic {
            level,
            loc,
            message: msg,
            source,
            span,
            help,
        });
    }

    /// A configuration error at a statement (exit 5 under `-t`).
    pub fn err(&mut self, stmt: &Stmt, msg: impl Into<String>) {
        self.report(Level::Error, Some(stmt), None, msg.into(), None);
    }

    /// A warning at a statement: keepalived only logs it, so `-t`'s exit
    /// code does not change.
    pub fn warn(&mut self, stmt: &Stmt, msg: impl Into<String>, help: Option<String>) {
        self.report(Level::Warning, Some(stmt), None, msg.into(), help);
    }

    /// A configuration error pointing at word `i`, with what was expected.
    pub fn err_at(
        &mut self,
        stmt: &Stmt,
        i: usize,
        msg: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.report(
            Level::Error,
            Some(stmt),
            Some(i),
            msg.into(),
            Some(expected.into()),
        );
    }

    /// A configuration error reported at a remembered location.
    pub fn err_loc(&mut self, loc: Loc, msg: impl Into<String>) {
        self.reader.report.push(Diagnostic {
            level: Level::Error,
            loc: Some(loc),
            message: msg.into(),
            source: None,
            span: None,
            help: None,
        });
    }

    /// A warning reported at a remembered location.
    pub fn warn_loc(&mut self, loc: Loc, msg: impl Into<String>) {
        self.reader.report.push(Diagnostic {
            level: Level::Warning,
            loc: Some(loc),
            message: msg.into(),
            source: None,
            span: None,
            help: None,
        });
    }

    /// As [`Ctx::err_loc`], without a location when there is none.
    pub fn err_loc_opt(&mut self, loc: Option<Loc>, msg: impl Into<String>) {
        self.reader.report.push(Diagnostic {
            level: Level::Error,
            loc,
            message: msg.into(),
            source: None,
            span: None,
            help: None,
        });
    }

    /// A problem that is not tied to a line (post-parse validation).
    pub fn err_global(&mut self, level: Level, msg: impl Into<String>) {
        self.report(level, None, None, msg.into(), None);
    }

    /// Word `i` of `stmt`, or the fatal "missing a parameter" error.
    pub fn arg<'s>(&mut self, stmt: &'s Stmt, i: usize) -> Result<&'s str, Fatal> {
        if let Some(w) = stmt.get(i) {
            return Ok(w);
        }
        let msg = if i > 0 {
            format!(
                "*** Configuration line starting `{}` is missing a parameter after keyword `{}` at word position {}",
                stmt.key(),
                stmt.get(i - 1).unwrap_or(""),
                i + 1
            )
        } else {
            format!(
                "*** Configuration line starting `{}` is missing a parameter at word position {}",
                stmt.key(),
                i + 1
            )
        };
        let end = stmt.text.len();
        self.reader.report.push(Diagnostic {
            level: Level::Error,
            loc: Some(stmt.loc.clone()),
            message: msg,
            source: Some(stmt.text.clone()),
            span: Some((end, end + 1)),
            help: Some("a value is expected here".into()),
        });
        self.reader.report.fatal = true;
        Err(Fatal)
    }

    /// Skip the rest of the current block (keepalived's `skip_block`).
    pub fn skip_block(&mut self, need_block_start: bool) {
        self.skip = if need_block_start { -1 } else { 1 };
    }

    fn next_stmt(&mut self) -> Option<Stmt> {
        loop {
            let Line { loc, text } = self.reader.next_line()?;
            let words = words(&text);
            if words.is_empty() {
                continue;
            }
            return Some(Stmt { loc, text, words });
        }
    }

    /// Reads the lines of a value block (`virtual_ipaddress { ... }`),
    /// as keepalived's `alloc_value_block`: the `{` may be on the keyword
    /// line or the next one, and the block ends at `}`.
    pub fn value_block(&mut self, stmt: &Stmt) -> Vec<Stmt> {
        let mut out = Vec::new();
        let mut need_bob = true;
        if stmt.len() > 1 {
            if stmt.get(1) == Some("{") {
                need_bob = false;
            } else {
                let msg = format!(
                    "Block {} has extra parameters {} ...",
                    stmt.key(),
                    stmt.get(1).unwrap_or("")
                );
                self.err_at(
                    stmt,
                    1,
                    msg,
                    "a block takes no parameters on its keyword line",
                );
            }
        }
        while let Some(s) = self.next_stmt() {
            if need_bob {
                need_bob = false;
                if s.key() == "{" {
                    continue;
                }
                crate::config::note(&format!(
                    "'{{' missing from beginning of block {}",
                    stmt.key()
                ));
            }
            if s.key() == "}" {
                break;
            }
            out.push(s);
        }
        out
    }

    /// All words of a value block, flattened (`notification_email { a b }`).
    pub fn value_words(&mut self, stmt: &Stmt) -> Vec<String> {
        self.value_block(stmt)
            .into_iter()
            .flat_map(|s| s.words.into_iter().map(|w| w.text))
            .collect()
    }

    /// Walks the stream with a keyword table (keepalived's `process_stream`).
    /// Returns true if the block was skipped.
    pub fn process(
        &mut self,
        table: &'static [Keyword],
        level: usize,
        mut need_bob: bool,
    ) -> Result<bool, Fatal> {
        while let Some(stmt) = self.next_stmt() {
            let key = stmt.key().to_string();
            if self.skip == -1 {
                if key == "{" {
                    self.skip = 1;
                    need_bob = false;
                    continue;
                }
                self.skip = 0;
            }
            if self.skip > 0 {
                for w in &stmt.words {
                    if w.text == "{" {
                        self.skip += 1;
                    } else if w.text == "}" {
                        self.skip -= 1;
                        if self.skip == 0 {
                            break;
                        }
                    }
                }
                if key == "}" && self.skip == 0 && level > 0 {
                    return Ok(true);
                }
                continue;
            }
            if need_bob {
                need_bob = false;
                if key == "{" && level > 0 {
                    continue;
                }
                self.report(
                    Level::Error,
                    Some(&stmt),
                    Some(0),
                    "Missing '{' at beginning of configuration block".into(),
                    Some("expected '{' to open the block".into()),
                );
            } else if key == "{" {
                self.report(
                    Level::Error,
                    Some(&stmt),
                    Some(0),
                    "Unexpected '{' - ignoring".into(),
                    None,
                );
                continue;
            }
            if key == "}" && level > 0 {
                break;
            }
            match table.iter().find(|k| k.name == key) {
                Some(k) => {
                    self.note_unsupported(k.name, &stmt);
                    if let Some(h) = k.handler {
                        h(self, &stmt)?;
                    }
                    if let Some(sub) = k.sub {
                        self.path.push(k.name);
                        let skipped = self.process(sub, level + 1, true);
                        self.path.pop();
                        let skipped = skipped?;
                        if !skipped {
                            if let Some(c) = k.close {
                                c(self)?;
                            }
                        }
                    }
                }
                None if self.quiet_unknown => {}
                None => {
                    let help = suggest(&key, table.iter().map(|k| k.name))
                        .map(|s| format!("did you mean '{s}'?"))
                        .or_else(|| {
                            crate::config::known_elsewhere(&key).map(|blk| {
                                format!("'{key}' is not valid here; it belongs in {blk}")
                            })
                        });
                    self.report(
                        Level::Error,
                        Some(&stmt),
                        Some(0),
                        format!("Unknown keyword '{key}'"),
                        help,
                    );
                }
            }
        }
        Ok(false)
    }
}

impl Ctx {
    /// Records a use of a keyword keepalived 2.2.7 acts on and we do not,
    /// so that the daemon can say so at start instead of ignoring it.
    /// Inside an unsupported block only the block's line is reported.
    fn note_unsupported(&mut self, name: &'static str, stmt: &Stmt) {
        use super::keyword_status::is_unsupported;
        let mut path = String::new();
        for b in &self.path {
            path.push_str(b);
            if is_unsupported(&path) {
                return;
            }
            path.push('/');
        }
        path.push_str(name);
        if is_unsupported(&path) {
            self.reader
                .report
                .unsupported
                .push((stmt.loc.clone(), name));
        }
    }
}

// ===== value readers, with keepalived's messages =====

/// Parses an integer as C's `strtol(.., 10)` would accept it wholly.
fn parse_i64(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t']);
    let t = t.strip_prefix('+').unwrap_or(t);
    t.parse::<i64>().ok()
}

impl Ctx {
    /// `read_int`: a signed number in `[min, max]`.
    pub fn read_int(
        &mut self,
        stmt: &Stmt,
        i: usize,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, Fatal> {
        let s = self.arg(stmt, i)?;
        match parse_i64(s) {
            None => {
                self.err_at(
                    stmt,
                    i,
                    format!("invalid number '{s}'"),
                    format!("expected an integer in [{min}, {max}]"),
                );
                Ok(None)
            }
            Some(v) if v < min || v > max => {
                self.err_at(
                    stmt,
                    i,
                    format!("number '{s}' outside range [{min}, {max}]"),
                    "value out of range",
                );
                Ok(None)
            }
            Some(v) => Ok(Some(v)),
        }
    }

    /// `read_unsigned`: a non-negative number in `[min, max]`.
    pub fn read_unsigned(
        &mut self,
        stmt: &Stmt,
        i: usize,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, Fatal> {
        let s = self.arg(stmt, i)?;
        let t = s.trim_start_matches([' ', '\t']);
        if t.starts_with('-') {
            self.err_at(
                stmt,
                i,
                format!("negative number '{s}'"),
                format!("expected a number in [{min}, {max}]"),
            );
            return Ok(None);
        }
        match t.strip_prefix('+').unwrap_or(t).parse::<u64>() {
            Err(_) => {
                self.err_at(
                    stmt,
                    i,
                    format!("invalid number '{s}'"),
                    format!("expected a number in [{min}, {max}]"),
                );
                Ok(None)
            }
            Ok(v) if v < min || v > max => {
                self.err_at(
                    stmt,
                    i,
                    format!("number '{s}' outside range [{min}, {max}]"),
                    "value out of range",
                );
                Ok(None)
            }
            Ok(v) => Ok(Some(v)),
        }
    }

    /// `read_double` (as `strtod`): a decimal number in `[min, max]`.
    pub fn read_double(
        &mut self,
        stmt: &Stmt,
        i: usize,
        min: f64,
        max: f64,
    ) -> Result<Option<f64>, Fatal> {
        let s = self.arg(stmt, i)?;
        match parse_c_double(s) {
            None => {
                self.err_at(
                    stmt,
                    i,
                    format!("invalid number '{s}'"),
                    "expected a decimal number",
                );
                Ok(None)
            }
            Some(v) if v.is_infinite() => {
                self.err_at(
                    stmt,
                    i,
                    format!("infinite number '{s}'"),
                    "expected a finite number",
                );
                Ok(None)
            }
            Some(v) if v.is_nan() => {
                self.err_at(stmt, i, format!("not a number '{s}'"), "expected a number");
                Ok(None)
            }
            Some(v) if v < min || v > max => {
                self.err_at(
                    stmt,
                    i,
                    format!(
                        "number '{s}' outside range [{}, {}]",
                        fmt_g(min),
                        fmt_g(max)
                    ),
                    "value out of range",
                );
                Ok(None)
            }
            Some(v) => Ok(Some(v)),
        }
    }

    /// `read_timer`: seconds with microsecond resolution, returned in µs.
    pub fn read_timer(
        &mut self,
        stmt: &Stmt,
        i: usize,
        min_us: u64,
        max_us: u64,
    ) -> Result<Option<u64>, Fatal> {
        let max = if max_us == 0 { TIMER_MAXIMUM } else { max_us };
        Ok(self
            .read_double(stmt, i, min_us as f64 / 1e6, max as f64 / 1e6)?
            .map(|v| ((v * 1e6) as u64).min(TIMER_MAXIMUM)))
    }

    /// An optional boolean after the keyword: bare keyword means true.
    pub fn read_bool_opt(&mut self, stmt: &Stmt, i: usize) -> Option<bool> {
        let key = stmt.key().to_string();
        self.read_bool_with(stmt, i, |v| {
            format!("{key}: invalid value '{v}' - expected on|off|true|false|yes|no")
        })
    }

    /// The same, with the block's own message for a bad value.
    pub fn read_bool_with(
        &mut self,
        stmt: &Stmt,
        i: usize,
        msg: impl FnOnce(&str) -> String,
    ) -> Option<bool> {
        let Some(v) = stmt.get(i) else {
            return Some(true);
        };
        let b = check_true_false(v);
        if b.is_none() {
            self.err_at(stmt, i, msg(v), "expected on|off|true|false|yes|no");
        }
        b
    }
}

/// keepalived's `TIMER_MAXIMUM` (µs).
pub const TIMER_MAXIMUM: u64 = u64::MAX / 2;

/// `on|true|yes` / `off|false|no`.
pub fn check_true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// C `strtod` accepting the whole string (decimal, exponent, hex, inf, nan).
pub fn parse_c_double(s: &str) -> Option<f64> {
    let t = s.trim_start_matches([' ', '\t']);
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity") {
        return Some(if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if body == "nan" {
        return Some(f64::NAN);
    }
    if let Some(h) = body.strip_prefix("0x") {
        let v = u64::from_str_radix(h, 16).ok()? as f64;
        return Some(if lower.starts_with('-') { -v } else { v });
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

/// `%g` formatting for range messages.
pub fn fmt_g(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v}");
        if s.len() > 8 {
            format!("{v:e}")
        } else {
            s
        }
    }
}

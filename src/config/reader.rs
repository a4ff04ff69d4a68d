//! The preprocessor: turns configuration files into a stream of logical
//! lines exactly as keepalived's `read_line` does — comments, `@id` lines,
//! `$NAME` definitions, `~SEQ`/`~LST`, `include` and brace splitting — with
//! each line's file and line number, and with hard bounds so that no input
//! can hang it or make it allocate without limit.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostic, Level, Loc, Report};

/// keepalived reads lines into a 1024-byte buffer.
pub const MAX_LINE: usize = 1023;
/// Bound on include nesting (keepalived has none and recurses forever).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Bound on substitutions while expanding one line (`$IF=$IF` hangs keepalived).
const MAX_SUBSTITUTIONS: usize = 256;
/// Bound on all lines produced from one configuration.
const MAX_LINES: usize = 4_000_000;
/// Bound on one file's size.
const MAX_FILE: u64 = 256 << 20;

/// Preprocessor settings from the command line and the environment.
#[derive(Debug, Clone, Default)]
pub struct ReaderOptions {
    /// `-i`: id for `@ID` lines (default: nodename up to the first dot).
    pub config_id: Option<String>,
    /// `-e`: every include must match (as `includea`).
    pub all_config: bool,
    /// Seed for `${_RANDOM}`.
    pub random_seed: Option<u64>,
    /// `-s NAME`: the daemon runs in a network namespace, as with
    /// `net_namespace` (the parent reports only what precedes it).
    pub net_namespace: bool,
}

/// One logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Where it came from.
    pub loc: Loc,
    /// Its text after preprocessing (one brace at most, alone).
    pub text: String,
}

#[derive(Debug, Clone)]
struct Def {
    name: String,
    value: String,
    multiline: bool,
}

/// A file being read: its text whole, with a cursor (a `String` per line
/// took twice the file's size again).
struct Source {
    path: Arc<PathBuf>,
    dir: PathBuf,
    text: String,
    /// Byte offset of the next line; past the end when none is left.
    pos: usize,
    /// Number of the line last taken.
    line: u32,
}

impl Source {
    /// The next physical line, without its `\n`. A final `\n` ends the
    /// last line rather than starting an empty one.
    fn next_line(&mut self) -> Option<String> {
        let len = self.text.len();
        if self.pos > len || (self.pos == len && len > 0 && self.text.ends_with('\n')) {
            return None;
        }
        let rest = &self.text[self.pos..];
        let end = rest.find('\n').unwrap_or(rest.len());
        let line = rest[..end].to_string();
        self.pos += end + 1;
        self.line += 1;
        Some(line)
    }
}

/// Work queued for the current file position.
enum Pending {
    /// Text still to go through `@`, `$`, `~SEQ` and include handling.
    Text(String),
    /// Text already expanded, only brace splitting left.
    Split(String),
    /// A sequence step sets its variable before its line.
    Set(String, String),
}

/// The preprocessor state.
pub struct Reader {
    opts: ReaderOptions,
    stack: Vec<Source>,
    defs: Vec<Def>,
    queue: VecDeque<(Loc, Pending)>,
    multiline_def: Option<usize>,
    block_depth: i64,
    produced: usize,
    rng: u64,
    /// Diagnostics found while reading.
    pub report: Report,
}

impl Reader {
    /// The options it reads with.
    pub fn options(&self) -> &ReaderOptions {
        &self.opts
    }

    fn new(opts: ReaderOptions) -> Reader {
        let rng = opts.random_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        }) | 1;
        Reader {
            opts,
            stack: Vec::new(),
            defs: Vec::new(),
            queue: VecDeque::new(),
            multiline_def: None,
            block_depth: 0,
            produced: 0,
            rng,
            report: Report::default(),
        }
    }

    /// Starts reading the main configuration file.
    pub fn open(path: &Path, opts: ReaderOptions) -> Reader {
        let mut r = Reader::new(opts);
        r.include(path, IncludeKind::Main, None);
        r
    }

    /// Reads from an in-memory text (tests, fuzzing); includes are resolved
    /// against the current directory.
    pub fn from_str(name: &str, text: &str, opts: ReaderOptions) -> Reader {
        let mut r = Reader::new(opts);
        r.push_source(Arc::new(PathBuf::from(name)), Path::new("."), text.into());
        r
    }

    fn push_source(&mut self, path: Arc<PathBuf>, dir: &Path, text: String) {
        self.stack.push(Source {
            path,
            dir: dir.to_path_buf(),
            text,
            pos: 0,
            line: 0,
        });
    }

    fn error(&mut self, level: Level, loc: Option<Loc>, msg: impl Into<String>) {
        self.report.push(Diagnostic {
            level,
            loc,
            message: msg.into(),
            source: None,
            span: None,
            help: None,
        });
    }

    /// The directory relative paths are resolved against (the current file's).
    pub fn current_dir(&self) -> PathBuf {
        self.stack
            .last()
            .map_or_else(|| PathBuf::from("."), |s| s.dir.clone())
    }

    /// The next logical line, or `None` at the end of all input.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            if self.produced >= MAX_LINES {
                if self.produced == MAX_LINES {
                    self.produced += 1;
                    self.error(
                        Level::Error,
                        None,
                        "Configuration expands to too many lines - ignoring the rest",
                    );
                }
                return None;
            }
            if let Some((loc, item)) = self.queue.pop_front() {
                match item {
                    Pending::Set(name, value) => self.set_def(&name, &value, false),
                    Pending::Text(text) => self.process(loc, text),
                    Pending::Split(text) => {
                        if let Some(line) = self.split_braces(loc, text) {
                            self.produced += 1;
                            return Some(line);
                        }
                    }
                }
                continue;
            }
            let src = self.stack.last_mut()?;
            let Some(raw) = src.next_line() else {
                self.stack.pop();
                if self.stack.is_empty() {
                    if self.block_depth > 0 {
                        let n = self.block_depth;
                        self.error(
                            Level::Error,
                            None,
                            format!("There are {n} missing '}}'s or extra '{{'s"),
                        );
                        self.block_depth = 0;
                    }
                    return None;
                }
                continue;
            };
            let loc = Loc {
                file: src.path.clone(),
                line: src.line,
            };
            self.physical_line(loc, raw);
        }
    }

    fn physical_line(&mut self, loc: Loc, mut raw: String) {
        while raw.ends_with('\r') || raw.ends_with('\n') {
            raw.pop();
        }
        if raw.len() > MAX_LINE {
            self.error(Level::Error, Some(loc), "line too long - ignoring");
            return;
        }
        if raw.contains('\0') {
            self.error(
                Level::Error,
                Some(loc),
                "Configuration line contains NUL - ignoring",
            );
            return;
        }
        let (text, unterminated) = decomment(&raw);
        if unterminated {
            self.error(
                Level::Error,
                Some(loc.clone()),
                format!("Unterminated quote '{}'", text),
            );
        }
        if let Some(idx) = self.multiline_def {
            // Continuation of a multi-line `$NAME=` definition.
            if let Some(body) = text.strip_suffix('\\') {
                let body = body.trim_end_matches([' ', '\t']);
                if !body.is_empty() {
                    push_def_line(&mut self.defs[idx].value, body);
                }
            } else {
                if !text.is_empty() {
                    push_def_line(&mut self.defs[idx].value, &text);
                }
                self.multiline_def = None;
                if self.defs[idx].value.is_empty() {
                    self.defs[idx].multiline = false;
                }
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        self.process(loc, text);
    }

    /// `@id`, `$NAME=`, `~SEQ`, `$NAME` expansion and include handling.
    fn process(&mut self, loc: Loc, mut text: String) {
        let mut substitutions = 0usize;
        loop {
            if text.starts_with('@') {
                match self.conditional(&text) {
                    Some(rest) => text = rest,
                    None => return,
                }
            }
            if text.starts_with('$') {
                if let Some((name, value)) = parse_definition(&text) {
                    let multiline = value.ends_with('\\');
                    let value = if multiline {
                        value[..value.len() - 1]
                            .trim_end_matches([' ', '\t'])
                            .to_string()
                    } else {
                        value.to_string()
                    };
                    self.set_def(&name, &value, multiline);
                    if multiline {
                        self.multiline_def = self.defs.iter().position(|d| d.name == name);
                    }
                    return;
                }
            }
            if text.starts_with("~SEQ") || text.starts_with("~LST") {
                self.sequence(loc, &text);
                return;
            }
            if text.starts_with('~') || !text.contains('$') {
                break;
            }
            match self.replace_params(&loc, &text) {
                Expansion::Unchanged => break,
                Expansion::Changed(first, more) => {
                    substitutions += 1;
                    if substitutions > MAX_SUBSTITUTIONS || first.len() > MAX_LINE {
                        self.error(
                            Level::Error,
                            Some(loc),
                            format!(
                                "Parameter substitution on line '{text}' does not terminate \
                                 (a definition refers to itself) or exceeds the maximum line length - ignoring"
                            ),
                        );
                        return;
                    }
                    // Lines of a multi-line definition follow this one.
                    for l in more.into_iter().rev() {
                        self.queue.push_front((loc.clone(), Pending::Text(l)));
                    }
                    text = first;
                    if text.is_empty() {
                        return;
                    }
                }
            }
        }
        if substitutions > 0 {
            // keepalived's word splitter ends the line at a word starting
            // with `#` or `!`, which only an expansion can still produce
            // (e.g. `${_HASH}` used to comment lines out).
            text = cut_word_comment(&text);
            if text.is_empty() {
                return;
            }
        }
        if self.check_include(&loc, &text) {
            return;
        }
        self.queue.push_front((loc, Pending::Split(text)));
    }

    fn conditional(&self, text: &str) -> Option<String> {
        let (rev, body) = match text.strip_prefix("@^") {
            Some(b) => (true, b),
            None => (false, &text[1..]),
        };
        let end = body.find([' ', '\t'])?;
        let id = &body[..end];
        let matches = self.opts.config_id.as_deref() == Some(id);
        if matches == rev {
            return None;
        }
        Some(body[end..].trim_start_matches([' ', '\t']).to_string())
    }

    fn set_def(&mut self, name: &str, value: &str, multiline: bool) {
        if let Some(d) = self.defs.iter_mut().find(|d| d.name == name) {
            d.value = value.to_string();
            d.multiline = multiline;
        } else {
            self.defs.push(Def {
                name: name.to_string(),
                value: value.to_string(),
                multiline,
            });
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: deterministic with `random_seed`, like srandom().
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33
    }

    /// Replaces the first expandable `$NAME` / `${NAME}` in `text`.
    fn replace_params(&mut self, loc: &Loc, text: &str) -> Expansion {
        let bytes = text.as_bytes();
        let mut pos = 0;
        while let Some(off) = text[pos..].find('$') {
            let at = pos + off;
            pos = at + 1;
            let Some(r) = self.lookup(loc, &text[at + 1..]) else {
                continue;
            };
            let (consumed, value, multiline) = r;
            let after = &text[at + 1 + consumed..];
            if multiline {
                let mut lines = value.split('\n').map(str::to_string);
                let first = format!("{}{}", &text[..at], lines.next().unwrap_or_default());
                let mut more: Vec<String> = lines.collect();
                if let Some(last) = more.last_mut() {
                    last.push_str(after);
                } else {
                    let mut f = first;
                    f.push_str(after);
                    return Expansion::Changed(f, more);
                }
                return Expansion::Changed(first, more);
            }
            let _ = bytes;
            return Expansion::Changed(format!("{}{}{}", &text[..at], value, after), Vec::new());
        }
        Expansion::Unchanged
    }

    /// Resolves the definition named at the start of `s` (just after `$`):
    /// returns (bytes consumed after `$`, value, multiline).
    fn lookup(&mut self, loc: &Loc, s: &str) -> Option<(usize, String, bool)> {
        let braces = s.starts_with('{');
        let name_start = usize::from(braces);
        let body = &s[name_start..];
        let first = body.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let name_len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..name_len];
        let mut params = "";
        let consumed;
        if braces {
            let rest = &body[name_len..];
            let close = rest.find('}')?;
            params = rest[..close].trim();
            if !rest[..close].is_empty() && !rest[..close].starts_with(' ') {
                return None;
            }
            consumed = 1 + name_len + close + 1;
        } else {
            let next = body[name_len..].chars().next();
            if !matches!(next, None | Some(' ' | '\t' | ',' | ')')) {
                return None;
            }
            consumed = name_len;
        }
        let at_end = s.len() == consumed;
        let builtin = match name {
            "_PWD" => Some(self.current_dir().display().to_string()),
            "_INSTANCE" => Some(self.opts.config_id.clone().unwrap_or_default()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_ENV" if braces => Some(std::env::var(params).unwrap_or_default()),
            "_RANDOM" => {
                let nums: Vec<u64> = params
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect();
                let (min, max) = match nums.as_slice() {
                    [] => (0, 32767),
                    [max] => (0, *max),
                    [min, max, ..] => (*min, *max),
                };
                let span = max.saturating_sub(min).saturating_add(1);
                Some((min + self.random() % span).to_string())
            }
            _ => None,
        };
        // A user definition overrides a built-in of the same name.
        if let Some(d) = self
            .defs
            .iter()
            .find(|d| d.name == name && (at_end || !d.multiline))
        {
            if !params.is_empty() {
                return None;
            }
            return Some((consumed, d.value.clone(), d.multiline));
        }
        let _ = loc;
        builtin.map(|v| (consumed, v, false))
    }

    /// `~SEQ(var, start, step, end) text` and `~LST(var, v1, v2...) text`.
    fn sequence(&mut self, loc: Loc, text: &str) {
        let hex = text[4..].starts_with('x');
        let is_lst = text.starts_with("~LST");
        let rest = &text[4 + usize::from(hex)..];
        let rest = rest.trim_start_matches([' ', '\t']);
        let bad = |r: &mut Reader| {
            let kind = if is_lst { "~LST" } else { "~SEQ" };
            r.error(
                Level::Error,
                Some(loc.clone()),
                format!("Invalid {kind} specification '{text}'"),
            );
        };
        let Some(inner) = rest.strip_prefix('(') else {
            return bad(self);
        };
        let Some(close) = find_close_paren(inner) else {
            return bad(self);
        };
        let args_text = inner[..close].to_string();
        let body = inner[close + 1..]
            .trim_start_matches([' ', '\t'])
            .to_string();
        // Definitions may be used in the parameters.
        let mut args_text = args_text;
        for _ in 0..MAX_SUBSTITUTIONS {
            match self.replace_params(&loc, &args_text) {
                Expansion::Changed(t, m) if m.is_empty() => args_text = t,
                Expansion::Changed(..) => return bad(self),
                Expansion::Unchanged => break,
            }
        }
        let steps: Vec<Vec<(String, String)>> = if is_lst {
            match parse_lst(&args_text) {
                Some(s) => s,
                None => return bad(self),
            }
        } else {
            match parse_seq(&args_text, hex) {
                Some((var, values)) => values.into_iter().map(|v| vec![(var.clone(), v)]).collect(),
                None => return bad(self),
            }
        };
        if steps.len().saturating_mul(1 + body.len()) > MAX_LINES {
            return bad(self);
        }
        let mut items = Vec::with_capacity(steps.len() * 2);
        for step in steps {
            for (var, val) in step {
                items.push((loc.clone(), Pending::Set(var, val)));
            }
            items.push((loc.clone(), Pending::Text(body.clone())));
        }
        for it in items.into_iter().rev() {
            self.queue.push_front(it);
        }
    }

    fn check_include(&mut self, loc: &Loc, text: &str) -> bool {
        if !text.contains("include") {
            return false;
        }
        let words = super::lexer::words(text);
        if words.len() != 2 {
            return false;
        }
        let kind = match words[0].as_str() {
            "include" => IncludeKind::Plain,
            "includer" => IncludeKind::Readable,
            "includem" => IncludeKind::Match,
            "includew" => IncludeKind::Wildcard,
            "includeb" => IncludeKind::Brace,
            "includea" | "includet" => IncludeKind::All,
            _ => return false,
        };
        let pattern = words[1].text.clone();
        self.include(Path::new(&pattern), kind, Some(loc.clone()));
        true
    }

    fn include(&mut self, pattern: &Path, kind: IncludeKind, loc: Option<Loc>) {
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.error(
                Level::Error,
                loc,
                format!(
                    "include depth exceeded at '{}' - ignoring",
                    pattern.display()
                ),
            );
            return;
        }
        let base = self.current_dir();
        let pat = pattern.to_string_lossy().into_owned();
        let mut files = Vec::new();
        for p in brace_expand(&pat) {
            let full = if Path::new(&p).is_absolute() || kind == IncludeKind::Main {
                PathBuf::from(&p)
            } else {
                base.join(&p)
            };
            match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| !p.is_dir())
                        .collect();
                    found.sort();
                    if found.is_empty() && !p.contains(['*', '?', '[']) && full.exists() {
                        found.push(full.clone());
                    }
                    files.extend(found);
                }
                Err(_) => {
                    if full.is_file() {
                        files.push(full);
                    }
                }
            }
        }
        // Which missing includes are errors, as measured on keepalived 2.2.7:
        // `includem`/`includew` unless the pattern uses braces, `includeb`
        // only when it does, `includea` (and `-e`) always; `include` and
        // `includer` never. An error here makes `-t` exit 6.
        let braces = pat.contains('{');
        let strict = self.opts.all_config
            || match kind {
                IncludeKind::All => true,
                IncludeKind::Match | IncludeKind::Wildcard => !braces,
                IncludeKind::Brace => braces,
                IncludeKind::Main | IncludeKind::Plain | IncludeKind::Readable => false,
            };
        if files.is_empty() {
            if kind == IncludeKind::Main {
                self.error(
                    Level::CannotRun,
                    None,
                    format!("Config files missing '{}'.", pat),
                );
                return;
            }
            if strict {
                self.error(
                    Level::Security,
                    loc,
                    format!("Config files missing '{}'.", pat),
                );
            } else {
                // keepalived only logs this one; it does not count as an error.
                let at = loc.map(|l| format!("{l} ")).unwrap_or_default();
                crate::config::note(&format!("{at}Config files missing '{pat}'."));
            }
            return;
        }
        // Pushed in reverse so that the files are read in glob order, each
        // (with its own includes) before the next.
        for f in files.into_iter().rev() {
            match read_config_file(&f) {
                Ok(text) => {
                    // keepalived chdirs into each file's directory: `${_PWD}`
                    // is that directory, absolute.
                    let abs = std::path::absolute(&f).unwrap_or_else(|_| f.clone());
                    let dir = abs
                        .parent()
                        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
                    self.push_source(Arc::new(f), &dir, text);
                }
                Err(e) => {
                    let level = if kind == IncludeKind::Main {
                        Level::CannotRun
                    } else {
                        Level::Error
                    };
                    self.error(level, loc.clone(), e);
                }
            }
        }
    }

    /// Splits a line at its first unquoted brace, queueing the rest.
    fn split_braces(&mut self, loc: Loc, text: String) -> Option<Line> {
        let text = text.trim_matches([' ', '\t']).to_string();
        if text.is_empty() {
            return None;
        }
        let (head, rest) = if text.starts_with(['{', '}']) {
            (
                text[..1].to_string(),
                text[1..].trim_start_matches([' ', '\t']).to_string(),
            )
        } else {
            match find_unquoted_brace(&text) {
                Some(i) => (
                    text[..i].trim_end_matches([' ', '\t']).to_string(),
                    text[i..].to_string(),
                ),
                None => (text, String::new()),
            }
        };
        if !rest.is_empty() {
            self.queue.push_front((loc.clone(), Pending::Split(rest)));
        }
        if head == "{" {
            self.block_depth += 1;
        } else if head == "}" {
            self.block_depth -= 1;
            if self.block_depth < 0 {
                self.error(Level::Error, Some(loc.clone()), "Extra '}' found");
                self.block_depth = 0;
            }
        }
        Some(Line { loc, text: head })
    }
}

enum Expansion {
    Unchanged,
    Changed(String, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeKind {
    Main,
    Plain,
    Readable,
    Match,
    Wildcard,
    Brace,
    All,
}

fn push_def_line(value: &mut String, line: &str) {
    if !value.is_empty() {
        value.push('\n');
    }
    value.push_str(line);
}

fn read_config_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "Configuration file '{}' open problem ({e}) - skipping",
            path.display()
        )
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 != 0 {
        return Err(format!(
            "Configuration file '{}' is not a regular non-executable file - skipping",
            path.display()
        ));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "Configuration file '{}' is too large - skipping",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "Configuration file '{}' open problem ({e}) - skipping",
            path.display()
        )
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Removes comments (`#`/`!` outside double quotes), the escaping of comment
/// characters, and leading/trailing blanks. Returns the text and whether a
/// quote was left open.
pub fn decomment(raw: &str) -> (String, bool) {
    let s = raw.trim_start_matches([' ', '\t']);
    let mut out = String::with_capacity(s.len());
    let mut quote = false;
    let mut cont = false;
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '"' => {
                quote = !quote;
                out.push(c);
            }
            '\\' => match it.peek() {
                None => {
                    cont = true;
                    break;
                }
                Some(&n) if !quote && (n == '#' || n == '!') => {
                    out.push(n);
                    it.next();
                }
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                    it.next();
                }
            },
            '#' | '!' if !quote => {
                // Like keepalived, a backslash ending a commented line
                // still continues a multi-line definition.
                while let Some(c) = it.next() {
                    if c == '\\' && it.next().is_none() {
                        cont = true;
                    }
                }
                break;
            }
            _ => out.push(c),
        }
    }
    let mut out = out.trim_end_matches([' ', '\t']).to_string();
    if cont {
        out.push('\\');
    }
    (out, quote)
}

/// `$NAME=VALUE` (name `[A-Za-z_][A-Za-z0-9_]*`, blanks allowed before `=`).
fn parse_definition(text: &str) -> Option<(String, &str)> {
    let body = &text[1..];
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let rest = body[name_len..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix('=')?;
    Some((
        body[..name_len].to_string(),
        value.trim_start_matches([' ', '\t']),
    ))
}

/// Truncates `text` at the first unquoted word beginning with `#` or `!`.
fn cut_word_comment(text: &str) -> String {
    let mut quote = false;
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quote = !quote,
            '#' | '!' if !quote && prev_space => return text[..i].trim_end().to_string(),
            _ => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    text.to_string()
}

fn find_close_paren(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' | '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn parse_long(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `var, [start,] [step,] end` as keepalived's `add_seq`.
fn parse_seq(args: &str, hex: bool) -> Option<(String, Vec<String>)> {
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    let var = parts.first().filter(|v| !v.is_empty())?.to_string();
    let nums: Vec<i64> = parts[1..]
        .iter()
        .map(|p| parse_long(p))
        .collect::<Option<_>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (
            if *end < 0 { -1 } else { 1 },
            if *end < 1 { -1 } else { 1 },
            *end,
        ),
        [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return None,
    };
    if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
        return None;
    }
    if hex && (start < 0 || end < 0) {
        return None;
    }
    let count = ((end - start) / step).unsigned_abs().saturating_add(1);
    if count > MAX_LINES as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut v = start;
    while (step > 0 && v <= end) || (step < 0 && v >= end) {
        out.push(if hex { format!("{v:x}") } else { v.to_string() });
        v = v.checked_add(step)?;
    }
    Some((var, out))
}

/// `var, v1, v2...` or `{a,b},{1,2},{3,4}`.
fn parse_lst(args: &str) -> Option<Vec<Vec<(String, String)>>> {
    let groups = split_top(args);
    let first = groups.first()?.trim();
    if let Some(vars) = first.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
        let vars: Vec<String> = vars.split(',').map(|v| v.trim().to_string()).collect();
        let mut out = Vec::new();
        for g in &groups[1..] {
            let g = g.trim();
            let vals = g
                .strip_prefix('{')
                .and_then(|v| v.strip_suffix('}'))
                .unwrap_or(g);
            let vals: Vec<&str> = vals.split(',').map(str::trim).collect();
            out.push(
                vars.iter()
                    .cloned()
                    .zip(vals.iter().map(|v| v.to_string()))
                    .collect(),
            );
        }
        Some(out)
    } else {
        if first.is_empty() {
            return None;
        }
        Some(
            groups[1..]
                .iter()
                .map(|v| vec![(first.to_string(), v.trim().to_string())])
                .collect(),
        )
    }
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn find_unquoted_brace(s: &str) -> Option<usize> {
    let mut quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            '{' | '}' if !quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// Expands `{a,b}` alternatives as `glob(GLOB_BRACE)` does.
pub fn brace_expand(pat: &str) -> Vec<String> {
    let Some(open) = pat.find('{') else {
        return vec![pat.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pat[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pat.to_string()];
    };
    let (pre, post) = (&pat[..open], &pat[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &pat[w[0] + 1..w[1]];
        for tail in brace_expand(&format!("{alt}{post}")) {
            out.push(format!("{pre}{tail}"));
        }
        if out.len() > 4096 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ReaderOptions {
        ReaderOptions {
            config_id: Some("node1".into()),
            all_config: false,
            random_seed: Some(7),
            net_namespace: false,
        }
    }

    /// All logical lines of a text, as `line_no:text`.
    fn lines_of(text: &str) -> (Vec<String>, Report) {
        let mut r = Reader::from_str("k.conf", text, opts());
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            out.push(format!("{}:{}", l.loc.line, l.text));
        }
        (out, r.report)
    }

    fn texts(text: &str) -> Vec<String> {
        lines_of(text)
            .0
            .into_iter()
            .map(|l| l.split_once(':').unwrap().1.to_string())
            .collect()
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kars-reader-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn comment_hash_and_bang_run_to_end_of_line() {
        assert_eq!(
            texts(
                "priority 100 # c\n! whole line\nstate BACKUP ! c"
                    .replace("\\n", "\n")
                    .as_str()
            ),
            ["priority 100", "state BACKUP"]
        );
    }

    #[test]
    fn comment_chars_inside_double_quotes_are_kept() {
        assert_eq!(
            texts("script \"echo #1 !x\" # gone"),
            ["script \"echo #1 !x\""]
        );
    }

    #[test]
    fn single_quotes_do_not_protect_comments() {
        assert_eq!(texts("script 'a # b'"), ["script 'a"]);
    }

    #[test]
    fn escaped_comment_chars_are_literal_outside_quotes() {
        assert_eq!(texts("auth_pass a\\#b\\!c"), ["auth_pass a#b!c"]);
    }

    #[test]
    fn blank_lines_and_comments_keep_line_numbers() {
        let (l, _) = lines_of("\n# c\n\n  router_id x  \n");
        assert_eq!(l, ["4:router_id x"]);
    }

    #[test]
    fn braces_split_lines() {
        assert_eq!(
            texts("track_script { chk }"),
            ["track_script", "{", "chk", "}"]
        );
        assert_eq!(texts("auth_type PASS; }"), ["auth_type PASS;", "}"]);
    }

    #[test]
    fn brace_may_open_on_next_line() {
        assert_eq!(
            texts("vrrp_script chk\n{\n}"),
            ["vrrp_script chk", "{", "}"]
        );
    }

    #[test]
    fn braces_inside_quotes_do_not_split() {
        assert_eq!(texts("script \"a { b }\" {"), ["script \"a { b }\"", "{"]);
    }

    #[test]
    fn extra_close_brace_is_reported() {
        let (_, r) = lines_of("a {\n}\n}");
        assert_eq!(r.diags[0].message, "Extra '}' found");
    }

    #[test]
    fn missing_close_brace_is_reported() {
        let (_, r) = lines_of("a {\nb {\n}");
        assert_eq!(r.diags[0].message, "There are 1 missing '}'s or extra '{'s");
    }

    #[test]
    fn unterminated_quote_is_reported() {
        let (_, r) = lines_of("router_id \"a b");
        assert_eq!(r.diags[0].message, "Unterminated quote 'router_id \"a b'");
    }

    #[test]
    fn line_limit_is_1023_bytes() {
        let ok = format!("x {}", "a".repeat(MAX_LINE - 2));
        assert_eq!(texts(&ok).len(), 1);
        let (l, r) = lines_of(&format!("{ok}a\ny"));
        assert_eq!(l, ["2:y"]);
        assert_eq!(r.diags[0].message, "line too long - ignoring");
    }

    #[test]
    fn conditional_lines_match_config_id() {
        assert_eq!(
            texts("@node1 a\n@node2 b\n@^node1 c\n@^node2 d\n@node1"),
            ["a", "d"]
        );
    }

    #[test]
    fn definitions_expand_plain_and_braced() {
        assert_eq!(
            texts("$IF=eth0\ninterface $IF\nx ${IF}:1"),
            ["interface eth0", "x eth0:1"]
        );
    }

    #[test]
    fn definitions_expand_recursively_at_use_time() {
        assert_eq!(texts("$A=$B\n$B=1\nv $A\n$B=2\nv $A"), ["v 1", "v 2"]);
    }

    #[test]
    fn undefined_names_are_left_untouched() {
        assert_eq!(
            texts("$A=1\nscript \"echo $HOME ${X}\""),
            ["script \"echo $HOME ${X}\""]
        );
    }

    #[test]
    fn self_referencing_definition_is_an_error_not_a_hang() {
        // keepalived 2.2.7 loops forever on this.
        let (l, r) = lines_of("$IF=$IF\ninterface $IF\nnext");
        assert_eq!(l, ["3:next"]);
        assert!(
            r.diags[0].message.contains("does not terminate"),
            "{:?}",
            r.diags
        );
    }

    #[test]
    fn multiline_definition_expands_to_several_lines() {
        let t = "$BLK= \\\nvirtual_ipaddress { \\\n  10.0.0.1 \\\n}\nvrrp_instance X {\n$BLK\n}";
        assert_eq!(
            texts(t),
            [
                "vrrp_instance X",
                "{",
                "virtual_ipaddress",
                "{",
                "10.0.0.1",
                "}",
                "}"
            ]
        );
    }

    #[test]
    fn commented_line_ending_in_backslash_continues_a_definition() {
        let t = "$D= \\\n  router_id x \\\n# comment \\\n  bogus1\nglobal_defs {\n$D\n}";
        assert_eq!(texts(t), ["global_defs", "{", "router_id x", "bogus1", "}"]);
    }

    #[test]
    fn builtins_expand_without_user_definitions() {
        assert_eq!(texts("p ${_PWD}/x"), ["p ./x"]);
    }

    #[test]
    fn expansion_starting_a_word_with_hash_comments_out_the_rest() {
        assert_eq!(
            texts("$C=${_HASH}\n${C} weight 10\nkey a${C}b ${C} c"),
            ["key a#b"]
        );
    }

    #[test]
    fn seq_parameters_use_definitions() {
        assert_eq!(texts("$S=2\n$E=3\n~SEQ(i,$S,$E) n $i"), ["n 2", "n 3"]);
    }

    #[test]
    fn builtin_definitions() {
        std::env::set_var("KARS_TEST_ENV", "val");
        assert_eq!(
            texts("$Z=1\na x${_HASH}${_BANG} ${_INSTANCE} ${_ENV KARS_TEST_ENV}"),
            ["a x#! node1 val"]
        );
        let r = texts("$Z=1\nr ${_RANDOM 5 6}");
        assert!(r == ["r 5"] || r == ["r 6"], "{r:?}");
        assert_eq!(texts("$Z=1\np ${_PWD}"), ["p ."]);
    }

    #[test]
    fn seq_repeats_rest_of_line() {
        assert_eq!(
            texts("~SEQ(i, 1, 3) ip 10.0.0.$i"),
            ["ip 10.0.0.1", "ip 10.0.0.2", "ip 10.0.0.3"]
        );
        assert_eq!(texts("~SEQ(i, 3) n $i"), ["n 1", "n 2", "n 3"]);
        assert_eq!(texts("~SEQ(i, 5, -2, 1) n $i"), ["n 5", "n 3", "n 1"]);
        assert_eq!(texts("~SEQx(i, 9, 11) n $i"), ["n 9", "n a", "n b"]);
    }

    #[test]
    fn nested_seq() {
        assert_eq!(
            texts("~SEQ(a, 1, 2) ~SEQ(b, 1, 2) ${a}.$b"),
            ["1.1", "1.2", "2.1", "2.2"]
        );
    }

    #[test]
    fn lst_repeats_over_values() {
        assert_eq!(texts("~LST(v, x, y) k $v"), ["k x", "k y"]);
        assert_eq!(texts("~LST({a,b},{1,2},{3,4}) ${a}-$b"), ["1-2", "3-4"]);
    }

    #[test]
    fn invalid_seq_is_reported() {
        let (l, r) = lines_of("~SEQ(i, 1, 0, 3) x");
        assert!(l.is_empty());
        assert!(r.diags[0].message.starts_with("Invalid ~SEQ"));
    }

    #[test]
    fn huge_seq_is_bounded() {
        let (_, r) = lines_of("~SEQ(i, 1, 1000000000000) x");
        assert!(r.diags[0].message.starts_with("Invalid ~SEQ"));
    }

    #[test]
    fn include_glob_relative_to_including_file() {
        let d = tmpdir("glob");
        std::fs::create_dir_all(d.join("conf.d")).unwrap();
        std::fs::write(d.join("conf.d/b.conf"), "b\n").unwrap();
        std::fs::write(d.join("conf.d/a.conf"), "a\ninclude ../c.conf\n").unwrap();
        std::fs::write(d.join("c.conf"), "c\n").unwrap();
        std::fs::write(d.join("main.conf"), "first\ninclude conf.d/*.conf\nlast\n").unwrap();
        let mut r = Reader::open(&d.join("main.conf"), opts());
        let mut got = Vec::new();
        while let Some(l) = r.next_line() {
            got.push(format!(
                "{}:{}",
                l.loc.file.file_name().unwrap().to_string_lossy(),
                l.text
            ));
        }
        assert_eq!(
            got,
            [
                "main.conf:first",
                "a.conf:a",
                "c.conf:c",
                "b.conf:b",
                "main.conf:last"
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn include_brace_expansion() {
        assert_eq!(brace_expand("x/{a,b}.conf"), ["x/a.conf", "x/b.conf"]);
        assert_eq!(brace_expand("{a,b{1,2}}c"), ["ac", "b1c", "b2c"]);
        let d = tmpdir("brace");
        std::fs::write(d.join("a.conf"), "A\n").unwrap();
        std::fs::write(d.join("b.conf"), "B\n").unwrap();
        std::fs::write(d.join("m.conf"), "include {b,a}.conf\n").unwrap();
        let mut r = Reader::open(&d.join("m.conf"), opts());
        let mut got = Vec::new();
        while let Some(l) = r.next_line() {
            got.push(l.text);
        }
        assert_eq!(got, ["B", "A"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_plain_include_is_only_logged() {
        let (_, r) = lines_of("include /nonexistent/x.conf\nincluder /nonexistent/y.conf");
        assert!(r.diags.is_empty());
    }

    #[test]
    fn missing_strict_include_is_an_exit_6_error() {
        for (kw, pat, strict) in [
            ("includea", "/nonexistent/x.conf", true),
            ("includem", "/nonexistent/*.conf", true),
            ("includem", "/nonexistent/{a,b}.conf", false),
            ("includew", "/nonexistent/x.conf", true),
            ("includeb", "/nonexistent/x.conf", false),
            ("includeb", "/nonexistent/{a,b}.conf", true),
        ] {
            let (_, r) = lines_of(&format!("{kw} {pat}"));
            assert_eq!(r.exit_code(), if strict { 6 } else { 0 }, "{kw} {pat}");
        }
    }

    #[test]
    fn all_config_option_makes_every_include_strict() {
        let mut r = Reader::from_str(
            "k.conf",
            "include /nonexistent/x.conf",
            ReaderOptions {
                all_config: true,
                ..opts()
            },
        );
        while r.next_line().is_some() {}
        assert_eq!(r.report.exit_code(), 6);
    }

    #[test]
    fn include_loop_is_bounded() {
        let d = tmpdir("loop");
        std::fs::write(d.join("self.conf"), "x\ninclude self.conf\n").unwrap();
        let mut r = Reader::open(&d.join("self.conf"), opts());
        let mut n = 0;
        while r.next_line().is_some() {
            n += 1;
        }
        assert_eq!(n, MAX_INCLUDE_DEPTH);
        assert!(r.report.diags[0].message.contains("include depth"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

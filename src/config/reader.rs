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

struct Source {
    path: Arc<PathBuf>,
    dir: PathBuf,
    lines: Vec<String>,
    next: usize,
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
    /// Starts reading the main configuration file.
    pub fn open(path: &Path, opts: ReaderOptions) -> Reader {
        let rng = opts.random_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        }) | 1;
        let mut r = Reader {
            opts,
            stack: Vec::new(),
            defs: Vec::new(),
            queue: VecDeque::new(),
            multiline_def: None,
            block_depth: 0,
            produced: 0,
            rng,
            report: Report::default(),
        };
        r.include(path, IncludeKind::Main, None);
        r
    }

    /// Reads from an in-memory text (tests, fuzzing).
    pub fn from_str(name: &str, text: &str, opts: ReaderOptions) -> Reader {
        let mut r = Reader::open(Path::new("/nonexistent/\0"), opts);
        r.report = Report::default();
        r.push_source(Arc::new(PathBuf::from(name)), Path::new("."), text);
        r
    }

    fn push_source(&mut self, path: Arc<PathBuf>, dir: &Path, text: &str) {
        let lines = text.split('\n').map(str::to_string).collect::<Vec<_>>();
        let mut lines = lines;
        if text.ends_with('\n') {
            lines.pop();
        }
        self.stack.push(Source { path, dir: dir.to_path_buf(), lines, next: 0 });
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
        self.stack.last().map_or_else(|| PathBuf::from("."), |s| s.dir.clone())
    }

    /// The next logical line, or `None` at the end of all input.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            if self.produced >= MAX_LINES {
                if self.produced == MAX_LINES {
                    self.produced += 1;
                    self.error(Level::Error, None, "Configuration expands to too many lines - ignoring the rest");
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
            if src.next >= src.lines.len() {
                self.stack.pop();
                if self.stack.is_empty() {
                    if self.block_depth > 0 {
                        let n = self.block_depth;
                        self.error(Level::Error, None, format!("There are {n} missing '}}'s or extra '{{'s"));
                        self.block_depth = 0;
                    }
                    return None;
                }
                continue;
            }
            let raw = std::mem::take(&mut src.lines[src.next]);
            src.next += 1;
            let loc = Loc { file: src.path.clone(), line: src.next as u32 };
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
            self.error(Level::Error, Some(loc), "Configuration line contains NUL - ignoring");
            return;
        }
        let (text, unterminated) = decomment(&raw);
        if unterminated {
            self.error(Level::Error, Some(loc.clone()), format!("Unterminated quote '{}'", text));
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
                        value[..value.len() - 1].trim_end_matches([' ', '\t']).to_string()
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
            self.defs.push(Def { name: name.to_string(), value: value.to_string(), multiline });
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
            let Some(r) = self.lookup(loc, &text[at + 1..]) else { continue };
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
        let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
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
                let nums: Vec<u64> = params.split_whitespace().filter_map(|p| p.parse().ok()).collect();
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
        if let Some(d) = self.defs.iter().find(|d| d.name == name && (at_end || !d.multiline)) {
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
            r.error(Level::Error, Some(loc.clone()), format!("Invalid {kind} specification '{text}'"));
        };
        let Some(inner) = rest.strip_prefix('(') else { return bad(self) };
        let Some(close) = find_close_paren(inner) else { return bad(self) };
        let args_text = inner[..close].to_string();
        let body = inner[close + 1..].trim_start_matches([' ', '\t']).to_string();
        // Definitions may be used in the parameters.
        let args_text = match self.replace_params(&loc, &args_text) {
            Expansion::Changed(t, m) if m.is_empty() => t,
            Expansion::Changed(..) => return bad(self),
            Expansion::Unchanged => args_text,
        };
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
            self.error(Level::Error, loc, format!("include depth exceeded at '{}' - ignoring", pattern.display()));
            return;
        }
        let base = self.current_dir();
        let pat = pattern.to_string_lossy().into_owned();
        let mut files = Vec::new();
        let mut any_wild = false;
        for p in brace_expand(&pat) {
            let full = if Path::new(&p).is_absolute() || kind == IncludeKind::Main {
                PathBuf::from(&p)
            } else {
                base.join(&p)
            };
            any_wild |= p.contains(['*', '?', '[']);
            match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).filter(|p| !p.is_dir()).collect();
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
        let strict = self.opts.all_config
            || matches!(kind, IncludeKind::All | IncludeKind::Match)
            || (kind == IncludeKind::Wildcard && any_wild)
            || (kind == IncludeKind::Brace && pat.contains('{'));
        if files.is_empty() {
            if kind == IncludeKind::Main {
                self.error(Level::CannotRun, None, format!("Config files missing '{}'.", pat));
                return;
            }
            let level = if strict { Level::Security } else { Level::Error };
            if strict || kind != IncludeKind::Plain {
                self.error(level, loc, format!("Config files missing '{}'.", pat));
            } else {
                // keepalived only logs this one; it does not count as an error.
                crate::config::note(&format!("{} Config files missing '{}'.", loc.map(|l| l.to_string()).unwrap_or_default(), pat));
            }
            return;
        }
        // Pushed in reverse so that the files are read in glob order, each
        // (with its own includes) before the next.
        for f in files.into_iter().rev() {
            match read_config_file(&f) {
                Ok(text) => {
                    let dir = f.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
                    self.push_source(Arc::new(f), &dir, &text);
                }
                Err(e) => {
                    let level = if kind == IncludeKind::Main { Level::CannotRun } else { Level::Error };
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
            (text[..1].to_string(), text[1..].trim_start_matches([' ', '\t']).to_string())
        } else {
            match find_unquoted_brace(&text) {
                Some(i) => (text[..i].trim_end_matches([' ', '\t']).to_string(), text[i..].to_string()),
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
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("Configuration file '{}' open problem ({e}) - skipping", path.display()))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 != 0 {
        return Err(format!("Configuration file '{}' is not a regular non-executable file - skipping", path.display()));
    }
    if meta.len() > MAX_FILE {
        return Err(format!("Configuration file '{}' is too large - skipping", path.display()));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("Configuration file '{}' open problem ({e}) - skipping", path.display()))?;
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
            '#' | '!' if !quote => break,
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
    let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
    let rest = body[name_len..].trim_start_matches([' ', '\t']);
    let value = rest.strip_prefix('=')?;
    Some((body[..name_len].to_string(), value.trim_start_matches([' ', '\t'])))
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
    let nums: Vec<i64> = parts[1..].iter().map(|p| parse_long(p)).collect::<Option<_>>()?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (if *end < 0 { -1 } else { 1 }, if *end < 1 { -1 } else { 1 }, *end),
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
            let vals = g.strip_prefix('{').and_then(|v| v.strip_suffix('}')).unwrap_or(g);
            let vals: Vec<&str> = vals.split(',').map(str::trim).collect();
            out.push(vars.iter().cloned().zip(vals.iter().map(|v| v.to_string())).collect());
        }
        Some(out)
    } else {
        if first.is_empty() {
            return None;
        }
        Some(groups[1..].iter().map(|v| vec![(first.to_string(), v.trim().to_string())]).collect())
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
    let Some(open) = pat.find('{') else { return vec![pat.to_string()] };
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
    let Some(close) = close else { return vec![pat.to_string()] };
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


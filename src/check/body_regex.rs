//! HTTP_GET / SSL_GET `regex` urls: keepalived 2.2.7 compiles the pattern
//! with PCRE2; we translate it to the `regex` crate's syntax and run it on
//! the whole response once it has been read.
//!
//! What keepalived does, and we do:
//!
//! * the subject is the response as received: status line, headers and
//!   every body byte (not cut at `Content-Length`); keepalived only runs the
//!   match once body bytes have arrived, so an empty body never matches;
//! * the match is searched from `regex_min_offset` (a PCRE2 start offset:
//!   `^`, `\b` and lookbehind-free context see the bytes before it) and only
//!   counts when it starts at or before `regex_max_offset`; the leftmost
//!   match is the one checked, as keepalived checks PCRE2's first match;
//! * the url passes when the regex matched, or with `regex_no_match` when
//!   it did not, after the status code and digest checks;
//! * without `utf` the pattern and subject are bytes (`.` is any byte but
//!   `\n`, classes and case folding are ASCII), with `utf` they are UTF-8
//!   (and `\d \w \s \b` stay ASCII unless `ucp`).
//!
//! Options: `caseless`, `multiline`, `dotall`, `extended`, `ungreedy`,
//! `utf`, `ucp`, `dollar_endonly`, `firstline`, `allow_empty_class`,
//! `alt_bsux`, `never_utf` and `never_ucp` are honoured; `auto_callout`,
//! `dupnames`, `match_unset_backref`, `no_auto_capture`,
//! `no_auto_possess`, `no_dotstar_anchor`, `no_start_optimize`,
//! `never_backslash_c`, `alt_circumflex`, `alt_verbnames` and
//! `use_offset_limit` do not change whether a pattern the `regex` crate
//! accepts matches (they concern captures, callouts, optimisations or
//! constructs it has not got).
//!
//! PCRE2 syntax with no `regex` crate equivalent: look-ahead and
//! look-behind, back-references, atomic groups, possessive quantifiers,
//! recursion and subroutine calls, conditionals, callouts, backtracking
//! verbs (other than the start-of-pattern settings), `\K \G \X`, branch
//! reset `(?|`, `(*CR)`/`(*NUL)` newlines and `\p` inside a class without
//! `utf`. Such a pattern is reported when the configuration is loaded (a
//! warning with file and line; `keepalived -t` still exits as keepalived
//! does) and the url then always fails, `regex_no_match` or not.
//!
//! Differences that come from keepalived reading the response in 4 KiB
//! pieces and matching with `PCRE2_PARTIAL_HARD` are not reproduced: there a
//! match that reaches the end of the data (`x$`, `a+` at the very end) is
//! only partial and never completes, `^` can match at the start of any
//! piece, and the headers are left out when they arrive in a read of their
//! own. We match the complete response once, as if it had come in one read.

use regex::bytes::{Regex, RegexBuilder};

/// The `regex_options` keepalived 2.2.7 knows (others are ignored), in
/// its table's order (its checker dump prints them all in this order as
/// soon as one is set).
pub const OPTIONS: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ucp",
    "ungreedy",
    "utf",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

/// The options that change how we translate or run a pattern.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    caseless: bool,
    multiline: bool,
    dotall: bool,
    extended: bool,
    ungreedy: bool,
    utf: bool,
    ucp: bool,
    dollar_endonly: bool,
    firstline: bool,
    allow_empty_class: bool,
    alt_bsux: bool,
    never_utf: bool,
    never_ucp: bool,
    never_backslash_c: bool,
    crlf: bool,
    bsr_anycrlf: bool,
}

impl Flags {
    fn from_names<S: AsRef<str>>(names: &[S]) -> Flags {
        let mut f = Flags::default();
        for n in names {
            match n.as_ref() {
                "caseless" => f.caseless = true,
                "multiline" => f.multiline = true,
                "dotall" => f.dotall = true,
                "extended" => f.extended = true,
                "ungreedy" => f.ungreedy = true,
                "utf" => f.utf = true,
                "ucp" => f.ucp = true,
                "dollar_endonly" => f.dollar_endonly = true,
                "firstline" => f.firstline = true,
                "allow_empty_class" => f.allow_empty_class = true,
                "alt_bsux" => f.alt_bsux = true,
                "never_utf" => f.never_utf = true,
                "never_ucp" => f.never_ucp = true,
                "never_backslash_c" => f.never_backslash_c = true,
                _ => {}
            }
        }
        f
    }
}

/// A url's compiled regex check.
#[derive(Debug, Clone)]
pub struct BodyRegex {
    /// The PCRE2 pattern as configured.
    pub pattern: Vec<u8>,
    /// `regex_options`.
    pub options: Vec<String>,
    /// `regex_no_match`.
    pub no_match: bool,
    /// `regex_min_offset`.
    pub min_offset: u64,
    /// `regex_max_offset`: the last offset a match may start at.
    pub max_offset: Option<u64>,
    re: Option<Regex>,
    firstline: bool,
}

impl PartialEq for BodyRegex {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.pattern,
            &self.options,
            self.no_match,
            self.min_offset,
            self.max_offset,
        ) == (
            &o.pattern,
            &o.options,
            o.no_match,
            o.min_offset,
            o.max_offset,
        )
    }
}

impl Eq for BodyRegex {}

impl BodyRegex {
    /// Compiles a url's regex; one that cannot be used is kept (the url
    /// then always fails) and the reason returned.
    pub fn new(
        pattern: &[u8],
        options: &[String],
        no_match: bool,
        min_offset: u64,
        max_offset: Option<u64>,
    ) -> (BodyRegex, Option<String>) {
        let (re, err) = match compile(pattern, options) {
            Ok(re) => (Some(re), None),
            Err(e) => (None, Some(e)),
        };
        let r = BodyRegex {
            pattern: pattern.to_vec(),
            options: options.to_vec(),
            no_match,
            min_offset,
            max_offset,
            re,
            firstline: Flags::from_names(options).firstline,
        };
        (r, err)
    }

    /// Whether the pattern could be compiled.
    pub fn usable(&self) -> bool {
        self.re.is_some()
    }

    /// Whether the regex matches `response` (status line, headers and
    /// body as received); `header_len` is where the body starts.
    pub fn matches(&self, response: &[u8], header_len: usize) -> bool {
        let Some(re) = &self.re else {
            return false;
        };
        // keepalived runs the match only when body bytes arrived.
        if response.len() <= header_len {
            return false;
        }
        let Ok(start) = usize::try_from(self.min_offset) else {
            return false;
        };
        if start > response.len() {
            return false;
        }
        let Some(m) = re.find_at(response, start) else {
            return false;
        };
        if self.max_offset.is_some_and(|max| m.start() as u64 > max) {
            return false;
        }
        if self.firstline {
            if let Some(nl) = response[start..].iter().position(|&b| b == b'\n') {
                if m.start() > start + nl {
                    return false;
                }
            }
        }
        true
    }

    /// Whether the url passes the regex part of its check.
    pub fn passes(&self, response: &[u8], header_len: usize) -> bool {
        self.usable() && self.matches(response, header_len) != self.no_match
    }
}

/// Compiles a PCRE2 pattern with keepalived's option names; the error says
/// what the `regex` crate cannot do.
pub fn compile<S: AsRef<str>>(pattern: &[u8], options: &[S]) -> Result<Regex, String> {
    let mut f = Flags::from_names(options);
    let text = translate(pattern, &mut f)?;
    RegexBuilder::new(&text)
        .unicode(f.utf)
        .case_insensitive(f.caseless)
        .multi_line(f.multiline)
        .dot_matches_new_line(f.dotall)
        .ignore_whitespace(f.extended)
        .swap_greed(f.ungreedy)
        .crlf(f.crlf)
        .build()
        .map_err(|e| {
            let s = e.to_string();
            // The syntax error quotes our translation; keep its last line.
            s.lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .map_or(s.clone(), |l| l.trim_start_matches("error: ").to_string())
        })
}

fn unsupported(what: &str) -> String {
    format!("{what} not supported (PCRE2 feature without a `regex` crate equivalent)")
}

/// Start-of-pattern settings such as `(*UTF)`.
fn leading_verbs(p: &[u8], f: &mut Flags) -> Result<usize, String> {
    let mut i = 0;
    while p[i..].starts_with(b"(*") {
        let Some(len) = p[i..].iter().position(|&b| b == b')') else {
            break;
        };
        let name = String::from_utf8_lossy(&p[i + 2..i + len]).into_owned();
        let base = name.split('=').next().unwrap_or("");
        match base {
            "UTF" => {
                if f.never_utf {
                    return Err("using UTF is disabled by never_utf".into());
                }
                f.utf = true;
            }
            "UCP" => {
                if f.never_ucp {
                    return Err("using UCP is disabled by never_ucp".into());
                }
                f.ucp = true;
            }
            "LF" => f.crlf = false,
            "CRLF" | "ANYCRLF" | "ANY" => f.crlf = true,
            "BSR_ANYCRLF" => f.bsr_anycrlf = true,
            "BSR_UNICODE" => f.bsr_anycrlf = false,
            "NO_AUTO_POSSESS" | "NO_START_OPT" | "NO_DOTSTAR_ANCHOR" | "NO_JIT" | "LIMIT_MATCH"
            | "LIMIT_DEPTH" | "LIMIT_HEAP" | "LIMIT_RECURSION" => {}
            _ => return Err(unsupported(&format!("(*{name})"))),
        }
        i += len + 1;
    }
    Ok(i)
}

struct Out<'a> {
    s: String,
    f: &'a Flags,
}

impl Out<'_> {
    /// One literal byte. `\xHH` (not `\x{HH}`, which is a code point)
    /// is a byte when Unicode is off.
    fn lit_byte(&mut self, b: u8) {
        if b.is_ascii_alphanumeric() {
            self.s.push(b as char);
        } else {
            self.s.push_str(&format!("\\x{b:02X}"));
        }
    }

    fn lit_char(&mut self, c: char) {
        if c.is_ascii() {
            self.lit_byte(c as u8);
        } else {
            self.s.push(c);
        }
    }

    /// A character by number: a code point with `utf`, else a byte.
    fn code(&mut self, v: u32) -> Result<(), String> {
        if self.f.utf {
            self.s.push_str(&format!("\\x{{{v:X}}}"));
        } else if let Ok(b) = u8::try_from(v) {
            self.s.push_str(&format!("\\x{b:02X}"));
        } else {
            return Err(format!("character value {v:#x} is too large without utf"));
        }
        Ok(())
    }

    /// `\d \w \s \b` and negations: ASCII unless `ucp`.
    fn perl_class(&mut self, c: char) {
        if self.f.utf && !self.f.ucp {
            self.s.push_str(&format!("(?-u:\\{c})"));
        } else {
            self.s.push('\\');
            self.s.push(c);
        }
    }
}

/// Members of `\h` / `\v` (PCRE2's horizontal and vertical space).
fn space_members(c: u8, utf: bool) -> &'static str {
    match (c.to_ascii_lowercase(), utf) {
        (b'h', false) => "\\x09\\x20\\xA0",
        (b'h', true) => {
            "\\x{09}\\x{20}\\x{A0}\\x{1680}\\x{180E}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}"
        }
        (_, false) => "\\x0A-\\x0D\\x85",
        (_, true) => "\\x{0A}-\\x{0D}\\x{85}\\x{2028}\\x{2029}",
    }
}

fn is_hex(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b.is_ascii_hexdigit())
}

/// Reads `n` at most hex digits at `p[i..]`: (value, digits read).
fn hex_digits(p: &[u8], i: usize, n: usize) -> (u32, usize) {
    let mut v = 0u32;
    let mut k = 0;
    while k < n && is_hex(p.get(i + k)) {
        v = v * 16 + (p[i + k] as char).to_digit(16).unwrap_or(0);
        k += 1;
    }
    (v, k)
}

/// Translates a PCRE2 pattern to the `regex` crate's syntax.
fn translate(pattern: &[u8], f: &mut Flags) -> Result<String, String> {
    // keepalived passes the pattern as a C string.
    let p = match pattern.iter().position(|&b| b == 0) {
        Some(n) => &pattern[..n],
        None => pattern,
    };
    let mut i = leading_verbs(p, f)?;
    if f.utf && std::str::from_utf8(p).is_err() {
        return Err("the pattern is not valid UTF-8 (utf)".into());
    }
    // An inline `(?m)` makes `$` a line end: leave `$` to the regex crate.
    let inline_m = p.windows(2).enumerate().any(|(k, w)| {
        w == b"(?"
            && p[k + 2..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic() || **b == b'-')
                .take_while(|b| **b != b'-')
                .any(|b| *b == b'm')
    });
    let flags = *f;
    let mut o = Out {
        s: String::with_capacity(p.len() * 2),
        f: &flags,
    };
    let mut in_class = false;
    // Position right after `[` or `[^` (a `]` there is a literal).
    let mut class_start = 0usize;
    // Whether the previous item can take a quantifier suffix `?`/`+`.
    let mut after_quant = false;
    while i < p.len() {
        let c = p[i];
        let was_quant = std::mem::take(&mut after_quant);
        if c == b'\\' {
            i = escape(p, i + 1, in_class, &mut o)?;
            continue;
        }
        if !flags.utf && c >= 0x80 {
            o.lit_byte(c);
            i += 1;
            continue;
        }
        if flags.utf && c >= 0x80 {
            let s = std::str::from_utf8(&p[i..]).unwrap_or("");
            let ch = s.chars().next().unwrap_or('\u{FFFD}');
            o.lit_char(ch);
            i += ch.len_utf8().max(1);
            continue;
        }
        if in_class {
            match c {
                b']' if i != class_start => {
                    o.s.push(']');
                    in_class = false;
                }
                b'[' if p.get(i + 1) == Some(&b':') => {
                    let end = p[i + 2..]
                        .windows(2)
                        .position(|w| w == b":]")
                        .ok_or("unterminated POSIX class")?;
                    o.s.push_str(&String::from_utf8_lossy(&p[i..i + 2 + end + 2]));
                    i += 2 + end + 2;
                    continue;
                }
                b'-' if p.get(i + 1) != Some(&b'-') => o.s.push('-'),
                _ => o.lit_byte(c),
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                let neg = p.get(i + 1) == Some(&b'^');
                let j = i + 1 + usize::from(neg);
                if flags.allow_empty_class && p.get(j) == Some(&b']') {
                    o.s.push_str(if neg { "(?s-u:.)" } else { "(?-u:[a&&b])" });
                    i = j + 1;
                    after_quant = false;
                    continue;
                }
                o.s.push_str(if neg { "[^" } else { "[" });
                in_class = true;
                class_start = j;
                i = j;
                continue;
            }
            b'$' => {
                if flags.multiline || inline_m {
                    o.s.push('$');
                } else if flags.dollar_endonly {
                    o.s.push_str("\\z");
                } else {
                    o.s.push_str("(?:\\n?\\z)");
                }
            }
            b'*' | b'+' | b'?' => {
                if c == b'+' && was_quant {
                    return Err(unsupported("possessive quantifiers are"));
                }
                if c == b'?' && was_quant {
                    o.s.push('?');
                } else {
                    o.s.push(c as char);
                    after_quant = true;
                }
            }
            b'{' => match quantifier(&p[i..]) {
                Some(n) => {
                    o.s.push_str(&String::from_utf8_lossy(&p[i..i + n]));
                    i += n;
                    after_quant = true;
                    continue;
                }
                None => o.lit_byte(c),
            },
            b'}' | b']' => o.lit_byte(c),
            b'#' if flags.extended => {
                // A comment to the end of the line: copy nothing of it.
                while i < p.len() && p[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                i = group(p, i, &mut o)?;
                continue;
            }
            _ => o.s.push(c as char),
        }
        i += 1;
    }
    if in_class {
        return Err("missing terminating ] for character class".into());
    }
    Ok(o.s)
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `p` (PCRE2 10.42 treats any
/// other `{` as a literal): its length.
fn quantifier(p: &[u8]) -> Option<usize> {
    let mut i = 1;
    let d0 = i;
    while p.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == d0 {
        return None;
    }
    if p.get(i) == Some(&b',') {
        i += 1;
        while p.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    (p.get(i) == Some(&b'}')).then_some(i + 1)
}

/// A group opening at `p[i] == '('`: copies its header, returns where to go on.
fn group(p: &[u8], i: usize, o: &mut Out) -> Result<usize, String> {
    let rest = &p[i + 1..];
    if rest.starts_with(b"*") {
        return Err(unsupported("backtracking control verbs are"));
    }
    if !rest.starts_with(b"?") {
        o.s.push('(');
        return Ok(i + 1);
    }
    let r = &rest[1..];
    let bad = |what: &str| Err(unsupported(what));
    match r.first().copied() {
        Some(b'#') => {
            // A comment group.
            let n = r
                .iter()
                .position(|&b| b == b')')
                .ok_or("missing ) after (?# comment")?;
            return Ok(i + 2 + n + 1);
        }
        Some(b'=' | b'!') => return bad("look-ahead is"),
        Some(b'<') if matches!(r.get(1), Some(b'=' | b'!')) => return bad("look-behind is"),
        Some(b'>') => return bad("atomic groups are"),
        Some(b'|') => return bad("branch reset groups are"),
        Some(b'(') => return bad("conditional groups are"),
        Some(b'C') => return bad("callouts are"),
        Some(b'R' | b'&' | b'+' | b'0'..=b'9') => return bad("recursion and subroutine calls are"),
        Some(b'P') if matches!(r.get(1), Some(b'>' | b'=')) => {
            return bad("back-references and subroutine calls are")
        }
        Some(b'\'') => {
            // (?'name'...) is (?<name>...).
            let n = r[1..]
                .iter()
                .position(|&b| b == b'\'')
                .ok_or("missing ' after group name")?;
            o.s.push_str("(?<");
            o.s.push_str(&String::from_utf8_lossy(&r[1..1 + n]));
            o.s.push('>');
            return Ok(i + 2 + 1 + n + 1);
        }
        Some(b'<') | Some(b'P') => {
            let n = r
                .iter()
                .position(|&b| b == b'>')
                .ok_or("missing > after group name")?;
            o.s.push_str("(?");
            o.s.push_str(&String::from_utf8_lossy(&r[..=n]));
            return Ok(i + 2 + n + 1);
        }
        _ => {}
    }
    // Option settings: (?i) (?-m:...) etc.
    let n = r
        .iter()
        .position(|&b| !(b.is_ascii_alphabetic() || b == b'-' || b == b'^'))
        .unwrap_or(r.len());
    let letters = &r[..n];
    if letters.iter().any(|b| !b"imsxU-".contains(b)) {
        return Err(unsupported(&format!(
            "inline option (?{}) is",
            String::from_utf8_lossy(letters)
        )));
    }
    o.s.push_str("(?");
    o.s.push_str(&String::from_utf8_lossy(letters));
    Ok(i + 2 + n)
}

/// An escape after a backslash at `p[i]`; returns where to go on.
fn escape(p: &[u8], i: usize, in_class: bool, o: &mut Out) -> Result<usize, String> {
    let f = *o.f;
    let Some(&e) = p.get(i) else {
        return Err("\\ at end of pattern".into());
    };
    let mut next = i + 1;
    match e {
        b'Q' => {
            // Literal text up to \E.
            let end = p[next..]
                .windows(2)
                .position(|w| w == b"\\E")
                .map_or(p.len(), |n| next + n);
            let lit = &p[next..end];
            if f.utf {
                for ch in String::from_utf8_lossy(lit).chars() {
                    o.lit_char(ch);
                }
            } else {
                for &b in lit {
                    o.lit_byte(b);
                }
            }
            next = (end + 2).min(p.len());
        }
        b'E' => {}
        b'd' | b'D' | b'w' | b'W' | b's' | b'S' => o.perl_class(e as char),
        b'b' if in_class => o.code(8)?,
        b'b' | b'B' => o.perl_class(e as char),
        b'A' | b'z' if !in_class => {
            o.s.push('\\');
            o.s.push(e as char);
        }
        b'Z' if !in_class => o.s.push_str("(?:\\n?\\z)"),
        b'h' | b'v' => {
            let m = space_members(e, f.utf);
            o.s.push_str(&if in_class { m.to_string() } else { format!("[{m}]") });
        }
        b'H' | b'V' => o.s.push_str(&format!("[^{}]", space_members(e, f.utf))),
        b'R' if !in_class => o.s.push_str(if f.bsr_anycrlf {
            "(?:\\r\\n|\\n|\\r)"
        } else if f.utf {
            "(?:\\r\\n|[\\x{0A}-\\x{0D}\\x{85}\\x{2028}\\x{2029}])"
        } else {
            "(?:\\r\\n|[\\x0A-\\x0D\\x85])"
        }),
        b'N' if !in_class && p.get(next) != Some(&b'{') => o.s.push_str("[^\\n]"),
        b'C' if !in_class && !f.never_backslash_c => o.s.push_str("(?s-u:.)"),
        b'x' if f.alt_bsux => {
            let (v, n) = hex_digits(p, next, 2);
            if n == 2 {
                o.code(v)?;
                next += 2;
            } else {
                o.lit_byte(b'x');
            }
        }
        b'x' if p.get(next) == Some(&b'{') => {
            let (v, n) = hex_digits(p, next + 1, 8);
            if n == 0 || p.get(next + 1 + n) != Some(&b'}') {
                return Err("invalid \\x{...} escape".into());
            }
            o.code(v)?;
            next += n + 2;
        }
        b'x' => {
            let (v, n) = hex_digits(p, next, 2);
            o.code(v)?;
            next += n;
        }
        b'u' if f.alt_bsux => {
            let (v, n) = hex_digits(p, next, 4);
            if n == 4 {
                o.code(v)?;
                next += 4;
            } else {
                o.lit_byte(b'u');
            }
        }
        b'U' if f.alt_bsux => o.lit_byte(b'U'),
        b'o' if p.get(next) == Some(&b'{') => {
            let n = p[next + 1..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or("missing } after \\o{")?;
            let digits = String::from_utf8_lossy(&p[next + 1..next + 1 + n]).into_owned();
            let v = u32::from_str_radix(&digits, 8).map_err(|_| "invalid \\o{...} escape")?;
            o.code(v)?;
            next += n + 2;
        }
        b'0' => {
            let mut v = 0u32;
            let mut k = 0;
            while k < 2 && p.get(next + k).is_some_and(|b| (b'0'..=b'7').contains(b)) {
                v = v * 8 + u32::from(p[next + k] - b'0');
                k += 1;
            }
            o.code(v)?;
            next += k;
        }
        b'g' | b'k' if !in_class => return Err(unsupported("back-references are")),
        b'1'..=b'9' => {
            // PCRE2: \1-\9 and \8.., \9.. are back-references; \10 and
            // up are too when there are that many groups (taken as not
            // here), else up to three octal digits. In a class, octal.
            let n: u32 = p[i..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .take(9)
                .fold(0, |v, b| v * 10 + u32::from(b - b'0'));
            if e >= b'8' || (!in_class && n < 10) {
                return Err(unsupported("back-references are"));
            }
            let mut v = 0u32;
            let mut k = 0;
            while k < 3 && p.get(i + k).is_some_and(|b| (b'0'..=b'7').contains(b)) {
                v = v * 8 + u32::from(p[i + k] - b'0');
                k += 1;
            }
            o.code(v)?;
            next = i + k;
        }
        b'a' => o.code(7)?,
        b'e' => o.code(0x1b)?,
        b'f' | b'n' | b'r' | b't' => {
            o.s.push('\\');
            o.s.push(e as char);
        }
        b'c' => {
            let Some(&x) = p.get(next) else {
                return Err("\\c at end of pattern".into());
            };
            o.code(u32::from(x.to_ascii_uppercase() ^ 0x40))?;
            next += 1;
        }
        b'p' | b'P' => {
            let len = if p.get(next) == Some(&b'{') {
                p[next..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("malformed \\p{...}")?
                    + 1
            } else {
                1
            };
            let prop = String::from_utf8_lossy(&p[i..(next + len).min(p.len())]).into_owned();
            if f.utf {
                o.s.push('\\');
                o.s.push_str(&prop);
            } else if in_class {
                return Err(unsupported("\\p in a class without the utf option is"));
            } else {
                o.s.push_str(&format!("(?u:\\{prop})"));
            }
            next += len;
        }
        _ if e.is_ascii_alphanumeric() => {
            return Err(format!(
                "\\{} not supported (unknown escape, or a PCRE2 feature without a `regex` crate equivalent)",
                e as char
            ))
        }
        _ if e >= 0x80 && f.utf => {
            let s = std::str::from_utf8(&p[i..]).unwrap_or("");
            let ch = s.chars().next().unwrap_or('\u{FFFD}');
            o.lit_char(ch);
            next = i + ch.len_utf8();
        }
        _ => o.lit_byte(e),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, opts: &[&str], subject: &str) -> bool {
        let re = compile(pat.as_bytes(), opts).unwrap_or_else(|e| panic!("{pat}: {e}"));
        re.is_match(subject.as_bytes())
    }

    fn err(pat: &str, opts: &[&str]) -> String {
        compile(pat.as_bytes(), opts).expect_err(pat)
    }

    #[test]
    fn plain_patterns_and_options() {
        assert!(m("IBM.*up", &[], "xx IBM is up xx"));
        assert!(!m("IBM.*up", &[], "IBM\nup"));
        assert!(m("IBM.*up", &["dotall"], "IBM\nup"));
        assert!(!m("ibm", &[], "IBM"));
        assert!(m("ibm", &["caseless"], "IBM"));
        assert!(m("^up", &["multiline"], "x\nup"));
        assert!(!m("^up", &[], "x\nup"));
        assert!(m("a b # comment", &["extended"], "ab"));
        assert!(m(
            "BUILD: rpm-.{3,50} :: DATE: ../../.... .{12}",
            &[],
            "BUILD: rpm-1.2.3 :: DATE: 01/02/2024 12:00:00.000"
        ));
        // `.` is any byte but \n without utf, a UTF-8 char with it.
        assert!(compile(b"^.$", &[] as &[&str]).unwrap().is_match(b"\xff"));
        assert!(m("^..$", &[], "é"));
        assert!(m("^.$", &["utf"], "é"));
        assert!(m("(*UTF)^.$", &[], "é"));
    }

    #[test]
    fn pcre_literals_the_regex_crate_spells_differently() {
        // A brace that starts no quantifier is a literal in PCRE2 10.42.
        assert!(m(r#"{"status":"UP"}"#, &[], r#"{"status":"UP"}"#));
        assert!(m("a{,2}", &[], "a{,2}"));
        assert!(m("a{2}", &[], "aa"));
        assert!(m(r"\Q.*\E!", &[], ".*!"));
        assert!(!m(r"\Q.*\E", &[], "ab"));
        assert!(m(r"a\<b\>", &[], "a<b>"));
        assert!(m(r"\x41\101\x{42}\cA\e", &[], "AAB\x01\x1b"));
        assert!(m(r"[\w.-]+@x", &[], "a.b-c@x"));
        assert!(m(r"[]a]", &[], "]"));
        assert!(m(r"[[:digit:]]+", &[], "42"));
        assert!(m(r"[a&&b~~c]", &[], "&"));
        assert!(m(r"(?'n'a)(?#comment)b", &[], "ab"));
        assert!(m(r"\h\R\N", &[], "\t\r\nx"));
        // PCRE's $ also matches before a final newline.
        assert!(m("up$", &[], "up\n"));
        assert!(!m("up$", &["dollar_endonly"], "up\n"));
        assert!(m(r"up\Z", &[], "up\n"));
        assert!(m("(?m)up$", &[], "up\nx"));
        // Bytes: a non-ASCII literal is its UTF-8 bytes, \xHH one byte.
        let bytes = |p: &str, subj: &[u8]| {
            compile(p.as_bytes(), &[] as &[&str])
                .unwrap()
                .is_match(subj)
        };
        assert!(bytes(r"a\xa0\h[\xff]", b"a\xa0\xa0\xff"));
        assert!(bytes(r"\141", b"a"));
        assert!(!bytes(r"^\xa0$", "\u{a0}".as_bytes()));
        assert!(compile(br"\x{100}", &[] as &[&str]).is_err());
        assert!(m(r"\x{100}", &["utf"], "\u{100}"));
        assert!(m("caf\u{e9}", &[], "caf\u{e9}"));
        assert!(m(r"\u0041\U", &["alt_bsux"], "AU"));
        assert!(!m("[]", &["allow_empty_class"], "x"));
        assert!(m("a[^]b", &["allow_empty_class"], "a\nb"));
        assert!(m("ab+?c", &["ungreedy"], "abbc"));
        // \d stays ASCII with utf, Unicode with ucp.
        assert!(!m(r"^\d$", &["utf"], "\u{663}"));
        assert!(m(r"^\d$", &["utf", "ucp"], "\u{663}"));
    }

    #[test]
    fn unsupported_features_are_reported_not_panicked() {
        for p in [
            "a(?=b)",
            "(?<!a)b",
            r"(a)\1",
            "(?>a)",
            "a++",
            "a{2}+",
            "(?R)",
            "(?(1)a|b)",
            r"a\Kb",
            "(*SKIP)a",
            "(*CR)a",
            r"\G",
            "(?|a)",
            "[a",
            "(a",
            r"\y",
        ] {
            let e = err(p, &[]);
            assert!(!e.is_empty(), "{p}");
        }
        assert!(err("(*UTF)a", &["never_utf"]).contains("never_utf"));
        assert!(err("a(?=b)", &[]).contains("look-ahead"));
        // Invalid UTF-8 with utf.
        assert!(compile(b"\xff", &["utf"]).is_err());
    }

    fn rx(p: &str, opts: &[&str], no_match: bool, min: u64, max: Option<u64>) -> BodyRegex {
        let opts: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        let (r, e) = BodyRegex::new(p.as_bytes(), &opts, no_match, min, max);
        assert!(e.is_none(), "{e:?}");
        r
    }

    #[test]
    fn offsets_as_keepalived() {
        let resp = b"HTTP/1.0 200 OK\r\n\r\n0123456789 ok 0123456789 ok";
        let h = 19;
        // The subject includes the header.
        assert!(rx("200 OK", &[], false, 0, None).matches(resp, h));
        // min: searching starts there; max: the match must start by then.
        let ok_at = 19 + 11; // first "ok"
        assert!(rx("ok", &[], false, ok_at as u64, Some(ok_at as u64)).matches(resp, h));
        assert!(!rx("ok", &[], false, 0, Some(ok_at as u64 - 1)).matches(resp, h));
        // Past the first match, the second one is found but beyond max.
        assert!(!rx("ok", &[], false, ok_at as u64 + 1, Some(ok_at as u64 + 5)).matches(resp, h));
        assert!(rx("ok", &[], false, ok_at as u64 + 1, None).matches(resp, h));
        assert!(!rx("ok", &[], false, 10_000, None).matches(resp, h));
        // The start offset is context: ^ does not match there, \b sees before.
        assert!(!rx("^0", &[], false, h as u64, None).matches(resp, h));
        assert!(!rx(r"\b123", &[], false, h as u64 + 1, None).matches(resp, h));
        // An empty body never matches, even where the header would.
        assert!(!rx("HTTP", &[], false, 0, None).matches(b"HTTP/1.0 204 X\r\n\r\n", 18));
        // firstline: the match must start on the first line from the
        // offset; from 0 that is the status line.
        let two = b"H\r\n\r\nfirst\nsecond";
        assert!(!rx("first", &["firstline"], false, 0, None).matches(two, 5));
        assert!(rx("first", &["firstline"], false, 5, None).matches(two, 5));
        assert!(!rx("second", &["firstline"], false, 5, None).matches(two, 5));
        assert!(rx("second", &["firstline"], false, 11, None).matches(two, 5));
    }

    #[test]
    fn no_match_and_unusable_patterns() {
        let resp = b"HTTP/1.0 200 OK\r\n\r\nall good";
        assert!(rx("good", &[], false, 0, None).passes(resp, 19));
        assert!(!rx("good", &[], true, 0, None).passes(resp, 19));
        assert!(rx("bad", &[], true, 0, None).passes(resp, 19));
        let (r, e) = BodyRegex::new(b"(?=x)", &[], true, 0, None);
        assert!(e.is_some());
        assert!(
            !r.passes(resp, 19),
            "unusable regexes fail, no_match or not"
        );
    }
}

//! Words of one configuration line, split as keepalived's `alloc_strvec`:
//! whitespace separates words, double quotes group (and are removed, so
//! `abcd" efg "h` is one word), and C escapes are decoded inside quotes.

use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, take_while1};
use nom::combinator::{map, opt, recognize};
use nom::multi::many1;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// One word of a configuration line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes removed and escapes decoded.
    pub text: String,
    /// Byte offset of the word in the line (for carets).
    pub start: usize,
    /// Byte offset just past the word.
    pub end: usize,
    /// Whether any part of it was quoted.
    pub quoted: bool,
}

impl Word {
    /// The word as a `&str`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Decodes keepalived's in-quote escapes: `\a \b \E \f \n \r \t \v \nnn
/// \xXX \cC`, anything else stands for itself.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        let ch = match e {
            'a' => '\x07',
            'b' => '\x08',
            'E' => '\x1b',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            'x' if it.peek().is_some_and(|c| c.is_ascii_hexdigit()) => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                char::from_u32(v).unwrap_or('?')
            }
            'c' if it.peek().is_some() => {
                let c = it.next().unwrap_or('@');
                char::from_u32(c as u32 & 0x1f).unwrap_or('?')
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            it.next();
                        }
                        None => break,
                    }
                }
                char::from_u32(v & 0xff).unwrap_or('?')
            }
            other => other,
        };
        out.push(ch);
    }
    out
}

/// A quoted chunk: `"..."` with `\"` allowed inside; an unterminated quote
/// runs to the end of the line (the reader has already reported it).
fn quoted(i: &str) -> IResult<&str, String> {
    let body = recognize(many1(alt((is_not("\\\""), recognize(preceded(tag("\\"), nom::character::complete::anychar))))));
    map(
        alt((
            delimited(tag("\""), map(opt(body), |b| b.unwrap_or("")), opt(tag("\""))),
        )),
        unescape,
    )
    .parse(i)
}

fn bare(i: &str) -> IResult<&str, String> {
    map(take_while1(|c: char| !is_space(c) && c != '"'), str::to_string).parse(i)
}

/// Splits a line into words.
pub fn words(line: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(is_space);
        if trimmed.is_empty() {
            break;
        }
        let start = line.len() - trimmed.len();
        let mut text = String::new();
        let mut q = false;
        let mut cur = trimmed;
        while !cur.is_empty() && !cur.starts_with(is_space) {
            if cur.starts_with('"') {
                match quoted(cur) {
                    Ok((r, s)) => {
                        text.push_str(&s);
                        q = true;
                        cur = r;
                    }
                    Err(_) => break,
                }
            } else {
                match bare(cur) {
                    Ok((r, s)) => {
                        text.push_str(&s);
                        cur = r;
                    }
                    Err(_) => break,
                }
            }
        }
        let end = line.len() - cur.len();
        if end == start {
            break;
        }
        out.push(Word { text, start, end, quoted: q });
        rest = cur;
    }
    out
}

/// Splits a script command line (`script "cmd 'a b' c"`) into argv the way
/// keepalived does for its quoted keywords: whitespace separates, single or
/// double quotes group, backslash escapes.
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut quote: Option<char> = None;
    let mut it = cmd.chars();
    while let Some(c) = it.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = it.next() {
                    cur.push(n);
                    have = true;
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                have = true;
            }
            (None, c) if is_space(c) => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            (None, c) => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(l: &str) -> Vec<String> {
        words(l).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn whitespace_separates_words() {
        assert_eq!(texts("  priority\t100  "), ["priority", "100"]);
    }

    #[test]
    fn quotes_group_and_are_removed_even_mid_word() {
        assert_eq!(texts(r#"script "/bin/echo a b""#), ["script", "/bin/echo a b"]);
        assert_eq!(texts(r#"abcd" efg h jkl "mnop x"#), ["abcd efg h jkl mnop", "x"]);
    }

    #[test]
    fn c_escapes_inside_quotes() {
        assert_eq!(texts(r#""a\tb\x41\101\cA\q""#), ["a\tbAA\u{1}q"]);
        assert_eq!(texts(r#""say \"hi\"""#), ["say \"hi\""]);
    }

    #[test]
    fn word_offsets_for_carets() {
        let w = words("  auth_pass  secret");
        assert_eq!((w[1].start, w[1].end), (13, 19));
    }

    #[test]
    fn command_splitting_honours_single_quotes() {
        assert_eq!(split_command("/bin/x 'a b' c\\ d \"e f\""), ["/bin/x", "a b", "c d", "e f"]);
    }
}

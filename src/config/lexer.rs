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
    let body = recognize(many1(alt((
        is_not("\\\""),
        recognize(preceded(tag("\\"), nom::character::complete::anychar)),
    ))));
    map(
        alt((delimited(
            tag("\""),
            map(opt(body), |b| b.unwrap_or("")),
            opt(tag("\"")),
        ),)),
        unescape,
    )
    .parse(i)
}

fn bare(i: &str) -> IResult<&str, String> {
    map(
        take_while1(|c: char| !is_space(c) && c != '"'),
        str::to_string,
    )
    .parse(i)
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
        out.push(Word {
            text,
            start,
            end,
            quoted: q,
        });
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

/// Splits a line as keepalived's `alloc_strvec_quoted_escaped` (used for
/// `regex`): whitespace separates, single or double quotes group, and
/// backslash escapes (`\a \b \E \f \n \r \t \v`, `\x` with any number of
/// hex digits, `\cC`, up to three octal digits, anything else for itself)
/// are decoded inside and outside quotes. Works on bytes: an escape can
/// produce any byte. `Err` carries keepalived's message for an unterminated
/// quote or a trailing backslash.
pub fn split_quoted_escaped(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = line.as_bytes();
    let white = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && white(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut word = Vec::new();
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                i += 1;
                let Some(&e) = b.get(i) else {
                    return Err(format!("Missing escape char at end: '{line}'"));
                };
                let hex = |c: u8| (c as char).to_digit(16);
                if e == b'x' && b.get(i + 1).and_then(|&c| hex(c)).is_some() {
                    i += 1;
                    let mut v = 0u8;
                    while let Some(d) = b.get(i).and_then(|&c| hex(c)) {
                        v = (v << 4) | d as u8;
                        i += 1;
                    }
                    word.push(v);
                } else if e == b'c' && i + 1 < b.len() {
                    word.push(b[i + 1] & 0x1f);
                    i += 2;
                } else if (b'0'..=b'7').contains(&e) {
                    let mut v = 0u8;
                    let mut n = 0;
                    while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                        v = (v << 3).wrapping_add(b[i] - b'0');
                        i += 1;
                        n += 1;
                    }
                    word.push(v);
                } else {
                    word.push(match e {
                        b'a' => 0x07,
                        b'b' => 0x08,
                        b'E' => 0x1b,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'v' => 0x0b,
                        other => other,
                    });
                    i += 1;
                }
                continue;
            }
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => word.push(c),
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if white(c) => break,
                None => word.push(c),
            }
            i += 1;
        }
        if let Some(q) = quote {
            return Err(format!(
                "String '{line}': missing terminating {}",
                q as char
            ));
        }
        out.push(word);
    }
    Ok(out)
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
        assert_eq!(
            texts(r#"script "/bin/echo a b""#),
            ["script", "/bin/echo a b"]
        );
        assert_eq!(
            texts(r#"abcd" efg h jkl "mnop x"#),
            ["abcd efg h jkl mnop", "x"]
        );
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
        assert_eq!(
            split_command("/bin/x 'a b' c\\ d \"e f\""),
            ["/bin/x", "a b", "c d", "e f"]
        );
    }

    #[test]
    fn quoted_escaped_splitting_as_keepalived_regex() {
        let w = |l: &str| split_quoted_escaped(l).unwrap();
        assert_eq!(
            w(r#"regex "a b" c"#),
            [b"regex".to_vec(), b"a b".to_vec(), b"c".to_vec()]
        );
        // Escapes work outside quotes too: `\.` is `.`, `\\d` is `\d`.
        assert_eq!(w(r"regex a\.b\\d")[1], b"a.b\\d");
        assert_eq!(w(r"regex 'x y'")[1], b"x y");
        assert_eq!(w(r#"regex 'say "hi"'"#)[1], br#"say "hi""#);
        // \x takes every hex digit that follows, keeping the low byte.
        assert_eq!(w(r"r \x41\x4142")[1], [0x41, 0x42]);
        assert_eq!(w(r"r \101\cA\q\n")[1], b"A\x01q\n");
        assert_eq!(w("r \"\"")[1], b"");
        assert!(split_quoted_escaped("regex 'abc").is_err());
    }
}

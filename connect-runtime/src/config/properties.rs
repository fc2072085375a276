//! Java `.properties` parsing, as `java.util.Properties.load`: `=`, `:` or
//! whitespace separators, `#`/`!` comments, backslash line continuations and
//! escapes (`\t`, `\n`, `\uXXXX`, ...).

use std::collections::BTreeMap;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct PropertiesError {
    pub line: usize,
    pub message: String,
}

/// Parses properties text. Later keys replace earlier ones, as in Java.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, PropertiesError> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((idx, raw)) = lines.next() {
        let first = raw.trim_start_matches([' ', '\t', '\x0c']);
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        // Join continuation lines: an odd number of trailing backslashes.
        let mut logical = String::from(first);
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start_matches([' ', '\t', '\x0c'])),
                None => break,
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|message| PropertiesError {
            line: idx + 1,
            message,
        })?;
        let value = unescape(value).map_err(|message| PropertiesError {
            line: idx + 1,
            message,
        })?;
        out.insert(key, value);
    }
    Ok(out)
}

fn ends_with_continuation(s: &str) -> bool {
    s.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let i = i.min(bytes.len());
    let key = &line[..i];
    let mut rest = line[i..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let code = hex4(&mut chars)?;
                // A surrogate pair (`\ud83d\ude00`) is one character, as
                // Java's UTF-16 strings read it.
                let mut ahead = chars.clone();
                let low = if (0xD800..=0xDBFF).contains(&code)
                    && ahead.next() == Some('\\')
                    && ahead.next() == Some('u')
                {
                    hex4(&mut ahead)
                        .ok()
                        .filter(|l| (0xDC00..=0xDFFF).contains(l))
                } else {
                    None
                };
                match low {
                    Some(low) => {
                        chars = ahead;
                        let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    None => out.push(char::from_u32(code).unwrap_or('\u{fffd}')),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// The four hex digits of a `\uxxxx` escape.
fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, String> {
    let hex: String = chars.by_ref().take(4).collect();
    u32::from_str_radix(&hex, 16)
        .ok()
        .filter(|_| hex.len() == 4)
        .ok_or_else(|| format!("malformed \\uxxxx encoding: \\u{hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogate_pairs_are_one_character() {
        let p = parse("smile=\\ud83d\\ude00!\nlone=\\ud83dx\n").unwrap();
        assert_eq!(p["smile"], "\u{1f600}!");
        assert_eq!(p["lone"], "\u{fffd}x");
    }

    #[test]
    fn java_syntax() {
        let text = "# comment\n! also\nkey.a=1\nkey.b : two words \n  key.c   3\nempty=\nlong=a,\\\n    b\npath=C:\\\\dir\\tx\nuni=\\u0041\nk\\=eq=v\n";
        let p = parse(text).unwrap();
        assert_eq!(p["key.a"], "1");
        assert_eq!(p["key.b"], "two words ");
        assert_eq!(p["key.c"], "3");
        assert_eq!(p["empty"], "");
        assert_eq!(p["long"], "a,b");
        assert_eq!(p["path"], "C:\\dir\tx");
        assert_eq!(p["uni"], "A");
        assert_eq!(p["k=eq"], "v");
    }

    #[test]
    fn bad_unicode_escape_names_line() {
        let err = parse("a=1\nb=\\uZZ\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("\\uxxxx"));
    }
}

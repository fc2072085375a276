//! A small JSON reader and writer with Jackson's behaviour where Kafka
//! Connect's output depends on it.
//!
//! `serde_json` is not used for reading because, without its
//! `arbitrary_precision` feature, it turns every number into an `f64`/`i64`
//! and so cannot keep Decimal payloads such as `1.23456789123456789` (Kafka
//! reads them with `USE_BIG_DECIMAL_FOR_FLOATS`), nor parse floats with
//! correct rounding by default. Numbers are kept here as their source text.
//! Error messages follow `serde_json`'s wording and `line N column M`
//! positions.
//!
//! Jackson behaviour kept on reading: numbers may have leading zeros
//! (`ALLOW_LEADING_ZEROS_FOR_NUMBERS`, enabled by Kafka's JsonDeserializer); a
//! repeated object key keeps its first position and its last value; empty
//! input is "missing" rather than an error; a UTF-8 byte order mark is
//! skipped. Differences: content after the first value is an error (Jackson
//! ignores it), and nesting is limited to 128 levels (as `serde_json`).

use std::ops::Range;

/// A parsed JSON value. Numbers keep their source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JsonNode {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<JsonNode>),
    Object(Vec<(String, JsonNode)>),
}

impl JsonNode {
    /// An object member; `None` for other nodes (as Jackson's `get`).
    pub(crate) fn get(&self, key: &str) -> Option<&JsonNode> {
        match self {
            JsonNode::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Jackson's `JsonNodeType` name, used in error messages.
    pub(crate) fn node_type(&self) -> &'static str {
        match self {
            JsonNode::Null => "NULL",
            JsonNode::Bool(_) => "BOOLEAN",
            JsonNode::Number(_) => "NUMBER",
            JsonNode::String(_) => "STRING",
            JsonNode::Array(_) => "ARRAY",
            JsonNode::Object(_) => "OBJECT",
        }
    }

    /// The text of an integral number (no fraction, no exponent: Jackson's
    /// `isIntegralNumber`).
    pub(crate) fn integral_text(&self) -> Option<&str> {
        match self {
            JsonNode::Number(t) if !t.contains(['.', 'e', 'E']) => Some(t),
            _ => None,
        }
    }
}

/// A parsed document and the byte ranges of its top-level object members'
/// values (for caching by raw schema text).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: JsonNode,
    spans: Vec<(String, Range<usize>)>,
}

impl Parsed {
    /// The raw bytes of a top-level member's value (the last one, if the key
    /// repeats).
    pub(crate) fn raw_member<'a>(&self, input: &'a [u8], key: &str) -> Option<&'a [u8]> {
        let range = self.spans.iter().rev().find(|(k, _)| k == key)?.1.clone();
        input.get(range)
    }
}

const MAX_DEPTH: usize = 128;

/// Parses one JSON document. `Ok(None)` for empty or all-whitespace input
/// (Jackson's `MissingNode`).
pub(crate) fn parse(input: &[u8]) -> Result<Option<Parsed>, String> {
    let text = match std::str::from_utf8(input) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = position(input, e.valid_up_to());
            return Err(format!("invalid UTF-8 at line {line} column {col}"));
        }
    };
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut p = Parser {
        text,
        bytes: input,
        pos: start,
        depth: 0,
        spans: Vec::new(),
    };
    p.skip_ws();
    if p.pos >= input.len() {
        return Ok(None);
    }
    let root = p.value().map_err(|e| p.message(e))?;
    p.skip_ws();
    if p.pos < input.len() {
        p.pos += 1;
        return Err(p.message("trailing characters"));
    }
    Ok(Some(Parsed {
        root,
        spans: p.spans,
    }))
}

/// 1-based line and column of the byte before `pos` (serde_json's convention:
/// the column of the last byte read).
fn position(bytes: &[u8], pos: usize) -> (usize, usize) {
    let upto = &bytes[..pos.min(bytes.len())];
    let line = 1 + upto.iter().filter(|&&b| b == b'\n').count();
    let col = match upto.iter().rposition(|&b| b == b'\n') {
        Some(nl) => upto.len() - nl - 1,
        None => upto.len(),
    };
    (line, col)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    spans: Vec<(String, Range<usize>)>,
}

type PResult<T> = Result<T, &'static str>;

impl Parser<'_> {
    fn message(&self, what: &str) -> String {
        let (line, col) = position(self.bytes, self.pos);
        format!("{what} at line {line} column {col}")
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes and returns the next byte.
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> PResult<JsonNode> {
        match self.peek() {
            None => Err("EOF while parsing a value"),
            Some(b'n') => self.ident("null", JsonNode::Null),
            Some(b't') => self.ident("true", JsonNode::Bool(true)),
            Some(b'f') => self.ident("false", JsonNode::Bool(false)),
            Some(b'"') => {
                self.pos += 1;
                Ok(JsonNode::String(self.string()?))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => self.nested(Self::array),
            Some(b'{') => self.nested(Self::object),
            Some(_) => {
                self.pos += 1;
                Err("expected value")
            }
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> PResult<JsonNode>) -> PResult<JsonNode> {
        self.pos += 1;
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err("recursion limit exceeded");
        }
        let node = f(self)?;
        self.depth -= 1;
        Ok(node)
    }

    fn ident(&mut self, word: &'static str, node: JsonNode) -> PResult<JsonNode> {
        for &expected in word.as_bytes() {
            match self.next() {
                Some(b) if b == expected => {}
                Some(_) => return Err("expected ident"),
                None => return Err("EOF while parsing a value"),
            }
        }
        Ok(node)
    }

    /// Digits that must be there: none is `invalid number`, or EOF.
    fn required_digits(&mut self) -> PResult<()> {
        if self.digits() > 0 {
            return Ok(());
        }
        if self.peek().is_none() {
            return Err("EOF while parsing a value");
        }
        self.pos += 1;
        Err("invalid number")
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> PResult<JsonNode> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        self.required_digits()?;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        let text = self.text.get(start..self.pos).ok_or("invalid number")?;
        Ok(JsonNode::Number(text.to_string()))
    }

    /// Reads a string after its opening quote.
    fn string(&mut self) -> PResult<String> {
        let mut out = String::new();
        loop {
            let run = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // The run ends before an ASCII byte, so both ends are char
            // boundaries of the (already validated) text.
            out.push_str(
                self.text
                    .get(run..self.pos)
                    .ok_or("invalid unicode code point")?,
            );
            match self.next() {
                None => return Err("EOF while parsing a string"),
                Some(b'"') => return Ok(out),
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => {
                    return Err("control character (\\u0000-\\u001F) found while parsing a string");
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> PResult<()> {
        let c = match self.next() {
            None => return Err("EOF while parsing a string"),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                        return Err("unexpected end of hex escape");
                    }
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err("lone leading surrogate in hex escape");
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                char::from_u32(code).ok_or("invalid unicode code point")?
            }
            Some(_) => return Err("invalid escape"),
        };
        out.push(c);
        Ok(())
    }

    /// Four hex digits, read before they are checked (as serde_json does).
    fn hex4(&mut self) -> PResult<u32> {
        let Some(quad) = self.bytes.get(self.pos..self.pos + 4) else {
            self.pos = self.bytes.len();
            return Err("EOF while parsing a string");
        };
        self.pos += 4;
        quad.iter().try_fold(0, |v, &b| {
            char::from(b)
                .to_digit(16)
                .map(|d| v * 16 + d)
                .ok_or("invalid escape")
        })
    }

    fn array(&mut self) -> PResult<JsonNode> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonNode::Array(items));
        }
        loop {
            self.skip_ws();
            if self.peek() == Some(b']') && !items.is_empty() {
                self.pos += 1;
                return Err("trailing comma");
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.next() {
                Some(b',') => {}
                Some(b']') => return Ok(JsonNode::Array(items)),
                Some(_) => return Err("expected `,` or `]`"),
                None => return Err("EOF while parsing a list"),
            }
        }
    }

    fn object(&mut self) -> PResult<JsonNode> {
        let mut members: Vec<(String, JsonNode)> = Vec::new();
        let top = self.depth == 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonNode::Object(members));
        }
        loop {
            self.skip_ws();
            match self.next() {
                Some(b'"') => {}
                Some(b'}') if !members.is_empty() => return Err("trailing comma"),
                Some(_) => return Err("key must be a string"),
                None => return Err("EOF while parsing an object"),
            }
            let key = self.string()?;
            self.skip_ws();
            match self.next() {
                Some(b':') => {}
                Some(_) => return Err("expected `:`"),
                None => return Err("EOF while parsing an object"),
            }
            self.skip_ws();
            let start = self.pos;
            let value = self.value()?;
            if top {
                self.spans.push((key.clone(), start..self.pos));
            }
            // Jackson's ObjectNode: a repeated key keeps its place, last value wins.
            match members.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => members.push((key, value)),
            }
            self.skip_ws();
            match self.next() {
                Some(b',') => {}
                Some(b'}') => return Ok(JsonNode::Object(members)),
                Some(_) => return Err("expected `,` or `}`"),
                None => return Err("EOF while parsing an object"),
            }
        }
    }
}

/// Appends `s` as a JSON string the way Jackson's `UTF8JsonGenerator` (what
/// Kafka's `writeValueAsBytes` uses) writes it: `"` and `\` escaped,
/// `\b \t \n \f \r` short escapes, other control characters as `\u00XX`
/// with upper-case hex, characters beyond U+FFFF as their escaped UTF-16
/// surrogate pair (`\uD83D\uDE00`; Jackson 2.x does so unless
/// `COMBINE_UNICODE_SURROGATES_IN_UTF8` is on), everything else (`/`,
/// DEL, other non-ASCII) as is.
pub(crate) fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let hex4 = |out: &mut String, unit: u16| {
        out.push_str("\\u");
        for shift in [12, 8, 4, 0] {
            out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
        }
    };
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        if b >= 0xf0 {
            // The first byte of a 4-byte UTF-8 sequence: a supplementary character.
            out.push_str(&s[run..i]);
            let c = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
            for unit in c.encode_utf16(&mut [0; 2]) {
                hex4(out, *unit);
            }
            run = i + c.len_utf8();
            continue;
        }
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            hex4(out, u16::from(b));
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(s: &str) -> JsonNode {
        parse(s.as_bytes()).unwrap().unwrap().root
    }

    #[test]
    fn parses_values() {
        assert_eq!(
            parse_ok(
                r#" {"a": [1, -2.5e3, "x\u00e9\n\ud83d\ude00"], "b": {"c": null}, "d": true} "#
            ),
            JsonNode::Object(vec![
                (
                    "a".into(),
                    JsonNode::Array(vec![
                        JsonNode::Number("1".into()),
                        JsonNode::Number("-2.5e3".into()),
                        JsonNode::String("xé\n😀".into()),
                    ])
                ),
                (
                    "b".into(),
                    JsonNode::Object(vec![("c".into(), JsonNode::Null)])
                ),
                ("d".into(), JsonNode::Bool(true)),
            ])
        );
        assert_eq!(parse_ok("0012"), JsonNode::Number("0012".into()));
        assert_eq!(parse_ok("\u{feff}[]"), JsonNode::Array(vec![]));
        assert!(parse(b"").unwrap().is_none());
        assert!(parse(b" \n ").unwrap().is_none());
    }

    #[test]
    fn duplicate_keys_keep_first_place_and_last_value() {
        assert_eq!(
            parse_ok(r#"{"a":1,"b":2,"a":3}"#),
            JsonNode::Object(vec![
                ("a".into(), JsonNode::Number("3".into())),
                ("b".into(), JsonNode::Number("2".into())),
            ])
        );
    }

    #[test]
    fn raw_member_spans() {
        let input = br#"{"schema": {"type":"int32"} , "payload":5}"#;
        let parsed = parse(input).unwrap().unwrap();
        assert_eq!(
            parsed.raw_member(input, "schema").unwrap(),
            br#"{"type":"int32"}"#
        );
        assert_eq!(parsed.raw_member(input, "payload").unwrap(), b"5");
        assert!(parsed.raw_member(input, "type").is_none());
    }

    /// Error messages read like serde_json's for the same input.
    #[test]
    fn errors_match_serde_json() {
        let mut mismatches = Vec::new();
        for bad in [
            "{",
            "[1,",
            "[1 2]",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{1:2}",
            "tru",
            "x",
            "\"abc",
            "\"\\x\"",
            "[1,]",
            "{\"a\":1,}",
            "1 2",
            "-",
            "1.",
            "1e",
            "\"a\u{1}\"",
            "\n\n  {\"a\":\n  nope}",
            "\"\\ud800\"",
            "[\"\\u12\"]",
            "{\"schema\":null,\n \"payload\": tru }",
            "[-x]",
            "[1.e5]",
            "[1.5e+x]",
            "\"\\ud800\\u0041\"",
            "{\"a\":1}}",
            "nul",
            "[\"a\" \"b\"]",
            "\"\\",
        ] {
            let ours = parse(bad.as_bytes()).unwrap_err();
            let serde = serde_json::from_str::<serde_json::Value>(bad)
                .unwrap_err()
                .to_string();
            if ours != serde {
                mismatches.push(format!("{bad:?}: ours {ours:?}, serde {serde:?}"));
            }
        }
        assert!(mismatches.is_empty(), "{mismatches:#?}");
        let deep = "[".repeat(200);
        assert!(
            parse(deep.as_bytes())
                .unwrap_err()
                .starts_with("recursion limit exceeded")
        );
        assert!(parse(b"\"\xff\"").unwrap_err().starts_with("invalid UTF-8"));
    }

    #[test]
    fn writes_strings_like_jackson() {
        let mut out = String::new();
        write_string(
            &mut out,
            "a\"b\\c/d\u{1}\u{1f}\n\t\r\u{8}\u{c}éx\u{7f}\u{2028}😀z",
        );
        // The bytes Jackson 2.14's ObjectMapper.writeValueAsBytes wrote for it.
        let jackson = b"\"a\\\"b\\\\c/d\\u0001\\u001F\\n\\t\\r\\b\\f\xc3\xa9x\x7f\xe2\x80\xa8\\uD83D\\uDE00z\"";
        assert_eq!(out.as_bytes(), jackson);
    }
}

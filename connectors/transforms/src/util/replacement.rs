//! Java's `Matcher` replacement strings: `$n` and `${name}` refer to
//! groups, `\` quotes the next character.

use regex::{Captures, Regex};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

/// A parsed replacement, checked against the regex it is used with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    /// Parses `text` for `regex`, with Java's rules: after `$`, the first
    /// digit is a group number and following digits extend it while the
    /// group exists; `${name}` needs a named group. Errors are Java's
    /// messages (Java reports them when a topic first matches; here they
    /// are configuration errors).
    pub(crate) fn parse(text: &str, regex: &Regex) -> Result<Self, String> {
        let group_count = regex.captures_len() - 1;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(next) => literal.push(next),
                    None => return Err("character to be escaped is missing".to_string()),
                },
                '$' => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    match chars.next() {
                        None => {
                            return Err(
                                "Illegal group reference: group index is missing".to_string()
                            );
                        }
                        Some('{') => {
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(c) if c.is_ascii_alphanumeric() => name.push(c),
                                    _ => {
                                        return Err(
                                            "named capturing group is missing trailing '}'"
                                                .to_string(),
                                        );
                                    }
                                }
                            }
                            if name.is_empty() {
                                return Err("named capturing group has 0 length name".to_string());
                            }
                            if name.starts_with(|c: char| c.is_ascii_digit()) {
                                return Err("capturing group name {".to_string()
                                    + &name
                                    + "} starts with digit character");
                            }
                            if !regex.capture_names().flatten().any(|n| n == name) {
                                return Err(format!("No group with name {{{name}}}"));
                            }
                            parts.push(Part::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut group = d as usize - '0' as usize;
                            if group > group_count {
                                return Err(format!("No group {group}"));
                            }
                            while let Some(&next) = chars.peek() {
                                let Some(digit) = next.to_digit(10) else {
                                    break;
                                };
                                let extended = group * 10 + digit as usize;
                                if extended > group_count {
                                    break;
                                }
                                group = extended;
                                chars.next();
                            }
                            parts.push(Part::Group(group));
                        }
                        Some(_) => return Err("Illegal group reference".to_string()),
                    }
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// The replacement for one match; a group that did not take part adds
    /// nothing.
    pub(crate) fn expand(&self, caps: &Captures<'_>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
                Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
    }

    /// Java's `Matcher.replaceFirst`: the first match of `regex` in `text`
    /// replaced; `text` itself when nothing matches.
    pub(crate) fn replace_first(&self, regex: &Regex, text: &str) -> String {
        let Some(caps) = regex.captures(text) else {
            return text.to_string();
        };
        let Some(m) = caps.get(0) else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len() + 16);
        out.push_str(&text[..m.start()]);
        self.expand(&caps, &mut out);
        out.push_str(&text[m.end()..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(re: &str, rep: &str, text: &str) -> Result<String, String> {
        let regex = Regex::new(re).unwrap();
        Ok(Replacement::parse(rep, &regex)?.replace_first(&regex, text))
    }

    #[test]
    fn java_rules() {
        assert_eq!(apply("(.*)", "$1", "orig").unwrap(), "orig");
        assert_eq!(apply("(.*)", "prefix-$1", "orig").unwrap(), "prefix-orig");
        assert_eq!(apply("(.*)", "$1-suffix", "orig").unwrap(), "orig-suffix");
        assert_eq!(apply("(.*)", "$12", "orig").unwrap(), "orig2");
        assert_eq!(apply("(.*)", "\\$1", "orig").unwrap(), "$1");
        assert_eq!(apply("(?P<t>.*)", "x-${t}", "orig").unwrap(), "x-orig");
        assert_eq!(apply("a|(b)", "[$1]", "ab").unwrap(), "[]b");
        assert_eq!(apply("(.*)", "$2", "orig").unwrap_err(), "No group 2");
        assert_eq!(
            apply("(.*)", "$x", "orig").unwrap_err(),
            "Illegal group reference"
        );
        assert_eq!(
            apply("(.*)", "a\\", "orig").unwrap_err(),
            "character to be escaped is missing"
        );
        assert!(apply("(.*)", "${nope}", "orig").is_err());
    }
}

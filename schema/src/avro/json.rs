//! A small JSON tree written the way Jackson writes it (compact, Java number
//! formatting), so schema texts match what Confluent's AvroData registers.

use crate::converter::java::{java_double, java_float};

/// JSON value with Java's distinction between `float` and `double` numbers
/// (they print differently: `0.1` as a float is `0.10000000149011612` as a
/// double).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Jv {
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Double(f64),
    Str(String),
    Arr(Vec<Jv>),
    Obj(Vec<(String, Jv)>),
}

impl Jv {
    /// Appends the compact JSON text.
    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Jv::Null => out.push_str("null"),
            Jv::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Jv::Int(i) => out.push_str(&i.to_string()),
            // Jackson quotes non-finite numbers (QUOTE_NON_NUMERIC_NUMBERS).
            Jv::Float(f) if !f.is_finite() => write_string(out, &java_float(*f)),
            Jv::Float(f) => out.push_str(&java_float(*f)),
            Jv::Double(d) if !d.is_finite() => write_string(out, &java_double(*d)),
            Jv::Double(d) => out.push_str(&java_double(*d)),
            Jv::Str(s) => write_string(out, s),
            Jv::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Jv::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The same value with floats widened to doubles: Avro's Java library
    /// stores a field default through `Double`, so a float default prints as
    /// its double value.
    pub(crate) fn widen_floats(&self) -> Jv {
        match self {
            Jv::Float(f) => Jv::Double(f64::from(*f)),
            Jv::Arr(items) => Jv::Arr(items.iter().map(Jv::widen_floats).collect()),
            Jv::Obj(members) => Jv::Obj(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.widen_floats()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// A JSON string as Jackson escapes it: `"`, `\` and control characters;
/// everything else (including non-ASCII) is written as is.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_formatting() {
        let doubles = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (1e10, "1.0E10"),
            (-2.5e-7, "-2.5E-7"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (100.0, "100.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (v, expected) in doubles {
            assert_eq!(java_double(v), expected, "{v}");
        }
        assert_eq!(java_float(0.1), "0.1");
        assert_eq!(java_float(1e10), "1.0E10");
        assert_eq!(java_float(3.25), "3.25");
        assert_eq!(java_float(f32::INFINITY), "Infinity");
    }

    #[test]
    fn writes_like_jackson() {
        let v = Jv::Obj(vec![
            (
                "a".into(),
                Jv::Arr(vec![Jv::Int(1), Jv::Null, Jv::Bool(true)]),
            ),
            ("s".into(), Jv::Str("q\"\\\n\u{1}é".into())),
            ("f".into(), Jv::Float(0.1)),
            ("n".into(), Jv::Double(f64::NAN)),
        ]);
        let mut out = String::new();
        v.write(&mut out);
        assert_eq!(
            out,
            r#"{"a":[1,null,true],"s":"q\"\\\n\u0001é","f":0.1,"n":"NaN"}"#
        );
        let mut wide = String::new();
        v.widen_floats().write(&mut wide);
        assert!(wide.contains("\"f\":0.10000000149011612"), "{wide}");
    }
}

//! Kafka Connect's `SingleFieldPath` and `field.syntax.version` (KIP-821):
//! `V1` names a top-level field; `V2` walks nested structs and maps with
//! dotted paths, backticks around names that contain dots, and `\` before a
//! backtick that is part of a name.

use sluice_connect_api::config::{ConfigKey, Importance};
use sluice_connect_api::schema::{DataError, Field, Schema, SchemaType, Struct, Value};

use super::fields::{Choice, choice_field};
use super::{map, requirements};

pub(crate) const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// `field.syntax.version` (V1 or V2, case-insensitive, default V1), for a
/// [`SyntaxVersion`] field.
pub(crate) fn syntax_version_key() -> ConfigKey {
    ConfigKey::named(FIELD_SYNTAX_VERSION)
        .default_value("V1")
        .importance(Importance::High)
        .doc(
            "Defines the version of the syntax to access fields. If set to `V1`, then the field \
             paths are limited to access the elements at the root level of the struct or map. If \
             set to `V2`, the syntax will support accessing nested elements. To access nested \
             elements, dotted notation is used. If dots are already included in the field name, \
             then backtick pairs can be used to wrap field names containing dots. E.g. to access \
             the subfield `baz` from a field named \"foo.bar\" in a struct/map the following \
             format can be used to access its elements: \"`foo.bar`.baz\".",
        )
}

/// The syntax of field paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SyntaxVersion {
    #[default]
    V1,
    V2,
}

impl Choice for SyntaxVersion {
    const VALUES: &'static [(&'static str, Self)] = &[("V1", Self::V1), ("V2", Self::V2)];
    const CASE_INSENSITIVE: bool = true;
}

choice_field!(SyntaxVersion);

/// A path to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath {
    steps: Vec<String>,
}

impl FieldPath {
    /// Parses `path`; the error is Kafka Connect's message for an unclosed
    /// backtick.
    pub(crate) fn new(path: &str, version: SyntaxVersion) -> Result<Self, String> {
        let steps = match version {
            SyntaxVersion::V1 => vec![path.to_string()],
            SyntaxVersion::V2 => parse_v2(path)?,
        };
        Ok(Self { steps })
    }

    #[cfg(test)]
    pub(crate) fn steps(&self) -> &[String] {
        &self.steps
    }

    /// The field the path names in a struct schema, `None` when a step
    /// names no field. A step into a schema that is not a struct is an
    /// error, Kafka Connect's `Schema.field` message.
    pub(crate) fn field_from<'a>(
        &self,
        schema: &'a Schema,
    ) -> Result<Option<&'a Field>, DataError> {
        let Some((last, parents)) = self.steps.split_last() else {
            return Ok(None);
        };
        let lookup = |s: &'a Schema, step: &str| {
            if s.schema_type == SchemaType::Struct {
                Ok(s.field(step))
            } else {
                Err(DataError::new("Cannot look up fields on non-struct type"))
            }
        };
        let mut current = schema;
        for step in parents {
            match lookup(current, step)? {
                Some(f) => current = &f.schema,
                None => return Ok(None),
            }
        }
        lookup(current, last)
    }

    /// Moves the value at the path out of a struct. Parent steps use field
    /// defaults for null (Kafka Connect's `Struct.get`); the last step only
    /// when `with_default`. A missing field or a null parent gives null.
    pub(crate) fn take_from_struct(
        &self,
        s: Struct,
        with_default: bool,
    ) -> Result<Value, DataError> {
        let Some((last, parents)) = self.steps.split_last() else {
            return Ok(Value::Null);
        };
        let mut current = s;
        for step in parents {
            let (schema, mut values) = current.into_parts();
            let Some(field) = schema.field(step) else {
                return Ok(Value::Null);
            };
            let mut v = values
                .get_mut(field.index)
                .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
            super::schema_util::fill_default(&mut v, &field.schema, true);
            match v {
                Value::Null => return Ok(Value::Null),
                Value::Struct(next) => current = next,
                other => return Err(requirements::struct_error(&other, "nested field access")),
            }
        }
        let (schema, mut values) = current.into_parts();
        let Some(field) = schema.field(last) else {
            return Ok(Value::Null);
        };
        let mut v = values
            .get_mut(field.index)
            .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
        super::schema_util::fill_default(&mut v, &field.schema, with_default);
        Ok(v)
    }

    /// Moves the value at the path out of schemaless map entries; null when
    /// absent.
    pub(crate) fn take_from_map(&self, entries: map::Entries) -> Result<Value, DataError> {
        let Some((last, parents)) = self.steps.split_last() else {
            return Ok(Value::Null);
        };
        let mut current = entries;
        for step in parents {
            match map::take(&mut current, step) {
                Value::Null => return Ok(Value::Null),
                Value::Map(next) => current = next,
                other => return Err(requirements::map_error(&other, "nested field access")),
            }
        }
        Ok(map::take(&mut current, last))
    }
}

fn incomplete(path: &str, backtick_at: usize) -> String {
    format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick \
         at position {backtick_at} to escape it"
    )
}

/// V2 steps. Dots separate steps; a step starting with a backtick runs to
/// the next backtick that ends the path or is followed by a dot and is not
/// preceded by a backslash (an escaped one stays in the name without its
/// backslash); other backticks are part of names. A trailing dot adds an
/// empty last step.
fn parse_v2(path: &str) -> Result<Vec<String>, String> {
    let b = path.as_bytes();
    let n = b.len();
    let find = |from: usize, c: u8| b[from..].iter().position(|&x| x == c).map(|i| i + from);
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < n {
        if b[idx] != b'`' {
            match find(idx, b'.') {
                Some(dot) => {
                    steps.push(path[idx..dot].to_string());
                    idx = dot + 1;
                }
                None => {
                    steps.push(path[idx..].to_string());
                    idx = n;
                }
            }
            continue;
        }
        let backtick_at = idx;
        idx += 1;
        let mut start = idx;
        let mut field = String::new();
        loop {
            let Some(close) = find(idx, b'`') else {
                return Err(incomplete(path, backtick_at));
            };
            idx = close;
            let escaped = b[idx - 1] == b'\\';
            if idx + 1 >= n {
                if escaped {
                    return Err(incomplete(path, backtick_at));
                }
                field.push_str(&path[start..idx]);
                steps.push(field);
                idx += 1;
                break;
            }
            if b[idx + 1] != b'.' {
                idx += 1;
                continue;
            }
            if escaped {
                field.push_str(&path[start..idx - 1]);
                field.push('`');
                idx += 1;
                start = idx;
                continue;
            }
            field.push_str(&path[start..idx]);
            steps.push(field);
            idx += 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::{SchemaBuilder, Struct};

    fn v2(path: &str) -> Vec<String> {
        FieldPath::new(path, SyntaxVersion::V2)
            .unwrap()
            .steps()
            .to_vec()
    }

    #[test]
    fn v1_is_one_step() {
        for p in ["foo.bar.baz", "foo`bar`", "foo.`bar.baz`"] {
            assert_eq!(FieldPath::new(p, SyntaxVersion::V1).unwrap().steps(), [p]);
        }
    }

    #[test]
    fn v2_steps() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("..", &["", "", ""]),
            ("foo..", &["foo", "", ""]),
            (".bar.", &["", "bar", ""]),
            ("..baz", &["", "", "baz"]),
            ("foobarbaz", &["foobarbaz"]),
            ("foo.bar.baz", &["foo", "bar", "baz"]),
            ("foo`bar`baz", &["foo`bar`baz"]),
            ("`foo.bar.baz`", &["foo.bar.baz"]),
            ("foo.`bar.baz`", &["foo", "bar.baz"]),
            ("`foo.bar`.baz", &["foo.bar", "baz"]),
            ("foo.`bar`.baz", &["foo", "bar", "baz"]),
            ("foo.``bar.baz`", &["foo", "`bar.baz"]),
            ("foo.`bar.baz``", &["foo", "bar.baz`"]),
            ("foo.`ba`r.baz`", &["foo", "ba`r.baz"]),
            ("foo.ba`r.baz", &["foo", "ba`r", "baz"]),
            ("foo.``bar``.baz", &["foo", "`bar`", "baz"]),
            ("``foo.bar.baz``", &["`foo.bar.baz`"]),
            ("foo.`bar\\`.baz`", &["foo", "bar`.baz"]),
            ("foo.`bar.`baz`", &["foo", "bar.`baz"]),
            ("foo.`bar\\`.`baz`", &["foo", "bar`.`baz"]),
            ("foo.`bar\\\\`.\\`baz`", &["foo", "bar\\`.\\`baz"]),
        ];
        for (path, steps) in cases {
            assert_eq!(v2(path), *steps, "{path}");
        }
    }

    #[test]
    fn v2_incomplete_backticks() {
        for (path, at) in [
            ("`foo.bar.baz", 0),
            ("foo.`bar.baz", 4),
            ("foo.bar.`baz", 8),
            ("foo.bar.`baz\\`", 8),
        ] {
            assert_eq!(
                FieldPath::new(path, SyntaxVersion::V2).unwrap_err(),
                format!(
                    "Incomplete backtick pair in path: [{path}], consider adding a backslash \
                     before backtick at position {at} to escape it"
                )
            );
        }
    }

    #[test]
    fn finds_fields_and_values() {
        let baz = SchemaBuilder::struct_()
            .field("inner", sluice_connect_api::schema::Schema::string())
            .optional()
            .build();
        let bar = SchemaBuilder::struct_()
            .field("bar", sluice_connect_api::schema::Schema::int32())
            .field("baz", baz)
            .build();
        let schema = SchemaBuilder::struct_().field("foo", bar.clone()).build();
        let p = |s: &str| FieldPath::new(s, SyntaxVersion::V2).unwrap();
        assert_eq!(p("foo.bar").field_from(&schema).unwrap(), bar.field("bar"));
        assert!(p("foo.unknown").field_from(&schema).unwrap().is_none());
        assert!(p("un.known").field_from(&schema).unwrap().is_none());
        for (path, schema) in [
            ("foo.bar.x", &schema),
            ("foo.bar.x.y", &schema),
            ("x", &bar.fields[0].schema),
        ] {
            assert_eq!(
                p(path).field_from(schema).unwrap_err().message(),
                "Cannot look up fields on non-struct type",
                "{path}"
            );
        }
        let foo = Struct::new(bar).put("bar", Value::Int32(42)).unwrap();
        let s = Struct::new(schema).put("foo", Value::Struct(foo)).unwrap();
        assert_eq!(
            p("foo.bar").take_from_struct(s.clone(), true).unwrap(),
            Value::Int32(42)
        );
        assert_eq!(
            p("foo.baz").take_from_struct(s.clone(), true).unwrap(),
            Value::Null
        );
        assert_eq!(
            p("foo.baz.inner")
                .take_from_struct(s.clone(), true)
                .unwrap(),
            Value::Null
        );
        assert_eq!(p("unknown").take_from_struct(s, true).unwrap(), Value::Null);

        let m = || {
            vec![(
                Value::from("foo"),
                map::from_pairs([
                    ("bar".to_string(), Value::Int32(42)),
                    ("baz".to_string(), Value::Null),
                ]),
            )]
        };
        assert_eq!(p("foo.bar").take_from_map(m()).unwrap(), Value::Int32(42));
        assert_eq!(p("foo.baz").take_from_map(m()).unwrap(), Value::Null);
        assert_eq!(p("foo.baz.inner").take_from_map(m()).unwrap(), Value::Null);
        assert_eq!(p("foo.unknown").take_from_map(m()).unwrap(), Value::Null);
        let err = p("foo.bar.x").take_from_map(m()).unwrap_err();
        assert_eq!(
            err.message(),
            "Only Map objects supported in absence of schema for [nested field access], found: java.lang.Integer"
        );
    }
}

//! The names and property keys Confluent's AvroData uses, and its name
//! handling (splitting full names, scrubbing invalid characters).

use std::borrow::Cow;

/// Namespace of the records this mapping invents.
pub(crate) const NAMESPACE: &str = "io.confluent.connect.avro";
/// Name of unnamed Connect structs (`ConnectDefault2`, `3`, ... after the
/// first in one schema).
pub(crate) const DEFAULT_SCHEMA_NAME: &str = "ConnectDefault";
pub(crate) const DEFAULT_SCHEMA_FULL_NAME: &str = "io.confluent.connect.avro.ConnectDefault";
/// Record of one entry of a map whose keys are not strings.
pub(crate) const MAP_ENTRY_TYPE_NAME: &str = "MapEntry";
pub(crate) const KEY_FIELD: &str = "key";
pub(crate) const VALUE_FIELD: &str = "value";

pub(crate) const CONNECT_NAME_PROP: &str = "connect.name";
pub(crate) const CONNECT_DOC_PROP: &str = "connect.doc";
pub(crate) const CONNECT_VERSION_PROP: &str = "connect.version";
pub(crate) const CONNECT_DEFAULT_VALUE_PROP: &str = "connect.default";
pub(crate) const CONNECT_PARAMETERS_PROP: &str = "connect.parameters";
pub(crate) const CONNECT_INTERNAL_TYPE_NAME: &str = "connect.internal.type";
pub(crate) const CONNECT_TYPE_PROP: &str = "connect.type";
pub(crate) const CONNECT_TYPE_INT8: &str = "int8";
pub(crate) const CONNECT_TYPE_INT16: &str = "int16";

/// Connect parameters carrying Avro-only details.
pub(crate) const AVRO_RECORD_DOC_PROP: &str = "io.confluent.connect.avro.record.doc";
pub(crate) const AVRO_ENUM_DOC_PREFIX_PROP: &str = "io.confluent.connect.avro.enum.doc.";
pub(crate) const AVRO_FIELD_DOC_PREFIX_PROP: &str = "io.confluent.connect.avro.field.doc.";
/// Marks a Connect default that came from an Avro field default.
pub(crate) const AVRO_FIELD_DEFAULT_FLAG_PROP: &str = "io.confluent.connect.avro.field.default";
pub(crate) const AVRO_ENUM_DEFAULT_PREFIX_PROP: &str = "io.confluent.connect.avro.enum.default.";
/// Name of the Connect struct standing for a general Avro union.
pub(crate) const AVRO_TYPE_UNION: &str = "io.confluent.connect.avro.Union";
/// Parameter naming the Avro enum a Connect string came from.
pub(crate) const AVRO_TYPE_ENUM: &str = "io.confluent.connect.avro.Enum";
/// Parameter holding the size of the Avro fixed a Connect bytes came from.
pub(crate) const CONNECT_AVRO_FIXED_SIZE_PROP: &str = "connect.fixed.size";
pub(crate) const CONNECT_AVRO_DECIMAL_PRECISION_PROP: &str = "connect.decimal.precision";
pub(crate) const CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT: i64 = 64;
/// Connect parameters starting with this are copied to Avro properties
/// (and back).
pub(crate) const AVRO_PROP_PREFIX: &str = "avro";

pub(crate) const LOGICAL_TYPE_PROP: &str = "logicalType";
pub(crate) const LOGICAL_DECIMAL: &str = "decimal";
pub(crate) const LOGICAL_DATE: &str = "date";
pub(crate) const LOGICAL_TIME_MILLIS: &str = "time-millis";
pub(crate) const LOGICAL_TIMESTAMP_MILLIS: &str = "timestamp-millis";
pub(crate) const DECIMAL_SCALE_PROP: &str = "scale";
pub(crate) const DECIMAL_PRECISION_PROP: &str = "precision";

/// Avro's primitive type names: a reference with one of these names is the
/// primitive, never a named type.
pub(crate) const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Names Avro writes in full even inside their own namespace (Java's
/// `Schema.Type` names).
const RESERVED: [&str; 14] = [
    "record", "enum", "array", "map", "union", "fixed", "string", "bytes", "int", "long", "float",
    "double", "boolean", "null",
];

/// An Avro full name split into namespace and simple name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FullName {
    pub(crate) space: Option<String>,
    pub(crate) name: String,
}

impl FullName {
    /// A name written as `name` (possibly dotted) inside `space`, the way
    /// Avro reads it: a dotted name carries its own namespace; an empty
    /// namespace is none.
    pub(crate) fn new(name: &str, space: Option<&str>) -> Self {
        match name.rsplit_once('.') {
            Some((ns, simple)) => Self {
                space: Some(ns.to_string()).filter(|s| !s.is_empty()),
                name: simple.to_string(),
            },
            None => Self {
                space: space.filter(|s| !s.is_empty()).map(str::to_string),
                name: name.to_string(),
            },
        }
    }

    pub(crate) fn full(&self) -> String {
        match &self.space {
            Some(space) => format!("{space}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// How Avro refers to this name from inside namespace `space`: the simple
    /// name when the namespace is the same (and the name is not a type
    /// name), else the full name.
    pub(crate) fn qualified(&self, space: Option<&str>) -> String {
        if self.space.is_some()
            && self.space.as_deref() == space
            && !RESERVED.contains(&self.name.as_str())
        {
            self.name.clone()
        } else {
            self.full()
        }
    }
}

/// Confluent's `splitName`: the namespace (all but the last dotted part) and
/// the simple name, each part scrubbed when `scrub` is set. Empty trailing
/// parts are dropped, as Java's `String.split` does.
pub(crate) fn split_name(full: &str, scrub: bool) -> FullName {
    let mut parts: Vec<&str> = full.split('.').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    let mut parts: Vec<Cow<'_, str>> = parts
        .into_iter()
        .map(|p| {
            if scrub {
                scrub_name(p)
            } else {
                Cow::Borrowed(p)
            }
        })
        .collect();
    let name = parts.pop().map(Cow::into_owned).unwrap_or_default();
    let space = if parts.is_empty() {
        None
    } else {
        Some(parts.join("."))
    };
    FullName { space, name }
}

/// Confluent's `scrubFullName`: the name with each dotted part scrubbed.
pub(crate) fn scrub_full_name(full: &str, scrub: bool) -> String {
    if !scrub {
        return full.to_string();
    }
    split_name(full, true).full()
}

/// Confluent's `doScrubName`: a valid Avro name is kept; otherwise the name
/// is URL-encoded (UTF-8), prefixed with `x` when it starts with a digit,
/// and every character other than `[A-Za-z0-9_]` becomes `_`.
pub(crate) fn scrub_name(name: &str) -> Cow<'_, str> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let starts_with_digit = name.starts_with(|c: char| c.is_ascii_digit());
    if name.is_empty() || (name.chars().all(valid_char) && !starts_with_digit) {
        return Cow::Borrowed(name);
    }
    // URL encoding keeps [A-Za-z0-9.*_-], writes a space as '+' and other
    // bytes as %XX; every one of those punctuation characters then turns
    // into '_', so only the hex digits of %XX survive.
    let mut encoded = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*' | '_' | ' ') {
            encoded.push(if valid_char(c) { c } else { '_' });
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                encoded.push('_');
                encoded.push_str(&format!("{b:02X}"));
            }
        }
    }
    if encoded.starts_with(|c: char| c.is_ascii_digit()) {
        encoded.insert(0, 'x');
    }
    Cow::Owned(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names() {
        let n = FullName::new("com.example.User", Some("ignored"));
        assert_eq!(n.space.as_deref(), Some("com.example"));
        assert_eq!(n.name, "User");
        assert_eq!(n.full(), "com.example.User");
        assert_eq!(n.qualified(Some("com.example")), "User");
        assert_eq!(n.qualified(None), "com.example.User");
        let plain = FullName::new("User", Some(""));
        assert_eq!(plain.space, None);
        assert_eq!(plain.qualified(None), "User");
        let inherited = FullName::new("Address", Some("a.b"));
        assert_eq!(inherited.full(), "a.b.Address");
        let reserved = FullName::new("a.b.record", None);
        assert_eq!(reserved.qualified(Some("a.b")), "a.b.record");
    }

    #[test]
    fn split_names() {
        assert_eq!(
            split_name("a.b.C", false),
            FullName {
                space: Some("a.b".into()),
                name: "C".into()
            }
        );
        assert_eq!(split_name("C", false).space, None);
        assert_eq!(split_name("a.b.", false).full(), "a.b");
        assert_eq!(split_name("my-ns.my-name", true).full(), "my_ns.my_name");
    }

    #[test]
    fn scrubbing_matches_confluent() {
        assert_eq!(scrub_name("valid_Name1"), "valid_Name1");
        assert_eq!(scrub_name("foo-bar"), "foo_bar");
        assert_eq!(scrub_name("foo bar"), "foo_bar");
        assert_eq!(scrub_name("1abc"), "x1abc");
        assert_eq!(scrub_name("a$b"), "a_24b");
        assert_eq!(scrub_name("é"), "_C3_A9");
        assert_eq!(scrub_name("$a"), "_24a");
        assert_eq!(scrub_name(""), "");
        assert_eq!(scrub_full_name("com.my-co.Rec", true), "com.my_co.Rec");
        assert_eq!(scrub_full_name("com.my-co.Rec", false), "com.my-co.Rec");
    }
}

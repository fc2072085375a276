//! Subject name strategies: which subject a schema is registered under.

use crate::converter::ConvertError;

/// Confluent's subject name strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (the default).
    Topic,
    /// The record's full name.
    Record,
    /// `<topic>-<record full name>`.
    TopicRecord,
}

const PACKAGE: &str = "io.confluent.kafka.serializers.subject.";

impl SubjectNameStrategy {
    /// Parses a strategy class name, full or simple.
    pub(super) fn parse(key: &str, value: &str) -> Result<Self, ConvertError> {
        let simple = value.trim().strip_prefix(PACKAGE).unwrap_or(value.trim());
        match simple {
            "TopicNameStrategy" => Ok(Self::Topic),
            "RecordNameStrategy" => Ok(Self::Record),
            "TopicRecordNameStrategy" => Ok(Self::TopicRecord),
            _ => Err(ConvertError::config(
                key,
                format!(
                    "Class {value} could not be found; use {PACKAGE}TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy"
                ),
            )),
        }
    }

    /// The subject for a schema written to `topic`.
    pub(super) fn subject(self, topic: &str, is_key: bool, schema: &apache_avro::Schema) -> String {
        match self {
            Self::Topic => format!("{topic}-{}", if is_key { "key" } else { "value" }),
            Self::Record => record_name(schema),
            Self::TopicRecord => format!("{topic}-{}", record_name(schema)),
        }
    }
}

/// The full name of a named schema; for a union, of its first named branch;
/// otherwise the type's name (`string`, `int`, ...).
fn record_name(schema: &apache_avro::Schema) -> String {
    use apache_avro::Schema;
    match schema {
        Schema::Record(r) => r.name.fullname(None),
        Schema::Enum(e) => e.name.fullname(None),
        Schema::Fixed(f) => f.name.fullname(None),
        Schema::Ref { name } => name.fullname(None),
        Schema::Union(u) => u
            .variants()
            .iter()
            .find(|v| !matches!(v, Schema::Null))
            .map_or_else(|| "null".to_owned(), record_name),
        other => other.canonical_form().trim_matches('"').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies() {
        let schema = apache_avro::Schema::parse_str(
            r#"["null",{"type":"record","name":"User","namespace":"com.acme","fields":[]}]"#,
        )
        .unwrap();
        let s = |v: &str| SubjectNameStrategy::parse("value.subject.name.strategy", v).unwrap();
        assert_eq!(
            s("TopicNameStrategy").subject("t", false, &schema),
            "t-value"
        );
        assert_eq!(s("TopicNameStrategy").subject("t", true, &schema), "t-key");
        assert_eq!(
            s("io.confluent.kafka.serializers.subject.RecordNameStrategy")
                .subject("t", false, &schema),
            "com.acme.User"
        );
        assert_eq!(
            s("TopicRecordNameStrategy").subject("t", false, &schema),
            "t-com.acme.User"
        );
        let string = apache_avro::Schema::parse_str(r#""string""#).unwrap();
        assert_eq!(
            s("RecordNameStrategy").subject("t", false, &string),
            "string"
        );
        let err = SubjectNameStrategy::parse("key.subject.name.strategy", "Nope").unwrap_err();
        assert!(
            err.to_string().contains("key.subject.name.strategy"),
            "{err}"
        );
    }
}

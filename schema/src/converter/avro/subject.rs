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

    /// The subject for a schema written to `topic`. The record strategies
    /// take a record's full name (an optional record's too) and refuse
    /// other schemas, as Confluent's do.
    pub(super) fn subject(
        self,
        topic: &str,
        is_key: bool,
        schema: &apache_avro::Schema,
    ) -> Result<String, ConvertError> {
        let record = || {
            record_name(schema).ok_or_else(|| {
                ConvertError::Serialize(format!(
                    "topic {topic}: {self:?}NameStrategy needs a record schema, got {}",
                    schema.canonical_form()
                ))
            })
        };
        Ok(match self {
            Self::Topic => format!("{topic}-{}", if is_key { "key" } else { "value" }),
            Self::Record => record()?,
            Self::TopicRecord => format!("{topic}-{}", record()?),
        })
    }
}

/// The full name of a record, or of the record in an optional record.
fn record_name(schema: &apache_avro::Schema) -> Option<String> {
    use apache_avro::Schema;
    match schema {
        Schema::Record(r) => Some(r.name.fullname(None)),
        Schema::Ref { name } => Some(name.fullname(None)),
        Schema::Union(u) => match u.variants() {
            [Schema::Null, other] | [other, Schema::Null] => record_name(other),
            _ => None,
        },
        _ => None,
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
        let subject = |strategy: &str, is_key: bool, schema: &apache_avro::Schema| {
            s(strategy).subject("t", is_key, schema)
        };
        assert_eq!(
            subject("TopicNameStrategy", false, &schema).unwrap(),
            "t-value"
        );
        assert_eq!(
            subject("TopicNameStrategy", true, &schema).unwrap(),
            "t-key"
        );
        assert_eq!(
            subject(
                "io.confluent.kafka.serializers.subject.RecordNameStrategy",
                false,
                &schema
            )
            .unwrap(),
            "com.acme.User"
        );
        assert_eq!(
            subject("TopicRecordNameStrategy", false, &schema).unwrap(),
            "t-com.acme.User"
        );
        let string = apache_avro::Schema::parse_str(r#""string""#).unwrap();
        let err = subject("RecordNameStrategy", false, &string)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RecordNameStrategy needs a record schema"),
            "{err}"
        );
        assert_eq!(
            subject("TopicNameStrategy", false, &string).unwrap(),
            "t-value"
        );
        let err = SubjectNameStrategy::parse("key.subject.name.strategy", "Nope").unwrap_err();
        assert!(
            err.to_string().contains("key.subject.name.strategy"),
            "{err}"
        );
    }
}

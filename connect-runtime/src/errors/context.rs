//! What went wrong with which record: the stage, the original record as
//! bytes, and the dead letter queue record built from them (Kafka Connect's
//! `ProcessingContext` and `DeadLetterQueueReporter` headers).

use sluice_connect_api::{OffsetMap, SourceRecord};
use sluice_schema::converter::{Converter, ConverterConfig, JsonConverter};

/// Kafka Connect's `Stage`: where in the pipeline a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
}

impl Stage {
    /// The name Kafka Connect writes in `__connect.errors.stage`.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyConverter => "KEY_CONVERTER",
            Self::ValueConverter => "VALUE_CONVERTER",
            Self::HeaderConverter => "HEADER_CONVERTER",
            Self::Transformation => "TRANSFORMATION",
            Self::TaskPut => "TASK_PUT",
        }
    }
}

pub const DATA_EXCEPTION: &str = "org.apache.kafka.connect.errors.DataException";
pub const CONNECT_EXCEPTION: &str = "org.apache.kafka.connect.errors.ConnectException";
pub const RETRIABLE_EXCEPTION: &str = "org.apache.kafka.connect.errors.RetriableException";

/// One failed operation on one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageFailure {
    pub stage: Stage,
    /// The class that ran the stage (converter, transform or connector).
    pub class_name: String,
    /// The Java exception class Kafka Connect would report.
    pub exception_class: &'static str,
    /// The error's own message (Java's `getMessage()`).
    pub message: String,
    /// The message and its causes, one per line.
    pub trace: String,
}

impl StageFailure {
    pub fn new(
        stage: Stage,
        class_name: impl Into<String>,
        exception_class: &'static str,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        let message = error.to_string();
        let mut trace = message.clone();
        let mut cause = error.source();
        while let Some(c) = cause {
            trace.push_str("\nCaused by: ");
            trace.push_str(&c.to_string());
            cause = c.source();
        }
        Self {
            stage,
            class_name: class_name.into(),
            exception_class,
            message,
            trace,
        }
    }

    /// `exception.class: message` plus causes, where Kafka Connect puts a
    /// Java stack trace.
    pub fn stacktrace(&self) -> String {
        format!("{}: {}", self.exception_class, self.trace)
    }
}

/// The record as it was before Sluice touched it: consumed bytes for a sink,
/// the polled record rendered as schemaless JSON for a source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginalRecord {
    pub topic: String,
    pub partition: Option<i32>,
    /// Kafka offset (sink records).
    pub offset: Option<i64>,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Source partition and offset (source records).
    pub source: Option<(OffsetMap, OffsetMap)>,
}

impl OriginalRecord {
    /// Where the record is, for logs and traces.
    pub fn describe(&self) -> String {
        match (&self.source, self.partition, self.offset) {
            (_, Some(p), Some(o)) => format!("topic {} partition {p} offset {o}", self.topic),
            (Some((sp, so)), _, _) => format!(
                "source partition {} offset {} (for topic {})",
                serde_json::Value::Object(sp.clone()),
                serde_json::Value::Object(so.clone()),
                self.topic
            ),
            _ => format!("topic {}", self.topic),
        }
    }

    /// A polled source record as bytes: key and value as schemaless JSON
    /// (there are no original bytes; JSON shows any Connect value), headers
    /// as the task would have written them.
    pub fn from_source(r: &SourceRecord) -> Self {
        let json = || {
            let mut cfg = ConverterConfig::default();
            cfg.props.insert("schemas.enable".into(), "false".into());
            JsonConverter::new(&cfg).ok()
        };
        let render = |conv: &Option<JsonConverter>, v: &sluice_schema::Value| {
            if v.is_null() {
                return None;
            }
            conv.as_ref()
                .and_then(|c| c.from_connect(&r.topic, None, v).ok().flatten())
                .or_else(|| Some(format!("{v:?}").into_bytes()))
        };
        let conv = json();
        Self {
            topic: r.topic.to_string(),
            partition: r.kafka_partition,
            offset: None,
            timestamp: r.timestamp,
            key: render(&conv, &r.key),
            value: render(&conv, &r.value),
            headers: r
                .headers
                .iter()
                .map(|h| (h.key.clone(), crate::headers::to_bytes(h)))
                .collect(),
            source: Some((
                r.source_partition.as_map().clone(),
                r.source_offset.to_map(),
            )),
        }
    }
}

pub const HEADER_PREFIX: &str = "__connect.errors.";

/// A record for the dead letter queue: the original key, value and headers,
/// plus Kafka Connect's `__connect.errors.*` context headers when enabled
/// (and, for source records, `__connect.errors.source.partition` and
/// `.source.offset` as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct DlqRecord {
    pub topic: String,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl DlqRecord {
    pub fn build(
        dlq_topic: &str,
        original: &OriginalRecord,
        failure: &StageFailure,
        connector: &str,
        task: u32,
        context_headers: bool,
    ) -> Self {
        let mut headers = original.headers.clone();
        if context_headers {
            let mut add = |name: &str, value: String| {
                headers.push((format!("{HEADER_PREFIX}{name}"), Some(value.into_bytes())));
            };
            add("topic", original.topic.clone());
            if let Some(p) = original.partition {
                add("partition", p.to_string());
            }
            if let Some(o) = original.offset {
                add("offset", o.to_string());
            }
            if let Some((sp, so)) = &original.source {
                add(
                    "source.partition",
                    serde_json::Value::Object(sp.clone()).to_string(),
                );
                add(
                    "source.offset",
                    serde_json::Value::Object(so.clone()).to_string(),
                );
            }
            add("connector.name", connector.to_string());
            add("task.id", task.to_string());
            add("stage", failure.stage.name().to_string());
            add("class.name", failure.class_name.clone());
            add("exception.class.name", failure.exception_class.to_string());
            add("exception.message", failure.message.clone());
            add("exception.stacktrace", failure.stacktrace());
        }
        Self {
            topic: dlq_topic.to_string(),
            key: original.key.clone(),
            value: original.value.clone(),
            timestamp: original.timestamp,
            headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::Value;

    fn failure() -> StageFailure {
        let e = sluice_schema::DataError::new("bad json");
        StageFailure::new(
            Stage::ValueConverter,
            "org.apache.kafka.connect.json.JsonConverter",
            DATA_EXCEPTION,
            &e,
        )
    }

    #[test]
    fn sink_dlq_record_keeps_bytes_and_adds_context() {
        let orig = OriginalRecord {
            topic: "in".into(),
            partition: Some(2),
            offset: Some(41),
            timestamp: Some(7),
            key: Some(b"k".to_vec()),
            value: Some(b"{oops".to_vec()),
            headers: vec![("h".into(), Some(b"v".to_vec()))],
            source: None,
        };
        let r = DlqRecord::build("dlq", &orig, &failure(), "c", 3, true);
        assert_eq!(r.value.as_deref(), Some(&b"{oops"[..]));
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        let h = |k: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(h("h").as_deref(), Some("v"));
        assert_eq!(h("__connect.errors.topic").as_deref(), Some("in"));
        assert_eq!(h("__connect.errors.partition").as_deref(), Some("2"));
        assert_eq!(h("__connect.errors.offset").as_deref(), Some("41"));
        assert_eq!(h("__connect.errors.connector.name").as_deref(), Some("c"));
        assert_eq!(h("__connect.errors.task.id").as_deref(), Some("3"));
        assert_eq!(
            h("__connect.errors.stage").as_deref(),
            Some("VALUE_CONVERTER")
        );
        assert_eq!(
            h("__connect.errors.exception.class.name").as_deref(),
            Some(DATA_EXCEPTION)
        );
        assert_eq!(
            h("__connect.errors.exception.message").as_deref(),
            Some("bad json")
        );
        assert!(
            h("__connect.errors.exception.stacktrace")
                .unwrap()
                .contains("bad json")
        );
        let plain = DlqRecord::build("dlq", &orig, &failure(), "c", 3, false);
        assert_eq!(plain.headers.len(), 1);
    }

    #[test]
    fn source_record_rendered_as_json_with_its_position() {
        let mut sp = OffsetMap::new();
        sp.insert("filename".into(), "a.txt".into());
        let mut so = OffsetMap::new();
        so.insert("position".into(), 12.into());
        let r = SourceRecord::new(sp.into(), so.into(), "t", None, Value::String("x".into()));
        let orig = OriginalRecord::from_source(&r);
        assert_eq!(orig.value.as_deref(), Some(&b"\"x\""[..]));
        assert_eq!(orig.key, None);
        let d = DlqRecord::build("dlq", &orig, &failure(), "c", 0, true);
        let sp = d
            .headers
            .iter()
            .find(|(k, _)| k == "__connect.errors.source.partition")
            .and_then(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(sp, br#"{"filename":"a.txt"}"#.to_vec());
        assert!(orig.describe().contains("a.txt"));
    }
}

//! Records that flow between tasks and the runtime.

use std::sync::Arc;

use sluice_schema::{SchemaRef, Value};

mod source_position;

pub use source_position::{SourceOffset, SourcePartition};

/// A source partition or source offset as stored: a small JSON object,
/// exactly Kafka Connect's `Map<String, ?>` model, so the offsets REST API
/// and the offsets topic round-trip it.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

/// A topic name, shared: records to the same topic point at one string.
/// `&str`, `String` and `Arc<str>` all convert into it.
pub type Topic = Arc<str>;

/// A Kafka topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One record header with an optional schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Kafka's timestamp type of a consumed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// A record produced by a source task.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Where in the source system this record comes from (e.g. a file
    /// name). Build it once and clone it into each record.
    pub source_partition: SourcePartition,
    /// The position after this record in that partition; stored once Kafka
    /// acknowledged the record and given back to the task on restart.
    pub source_offset: SourceOffset,
    pub topic: Topic,
    /// Kafka partition; `None` lets the producer's partitioner choose.
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    /// Milliseconds since the epoch; `None` lets the producer stamp it.
    pub timestamp: Option<i64>,
    pub headers: Vec<Header>,
}

impl SourceRecord {
    /// A record with a value only (no key, no headers), the common case.
    pub fn new(
        source_partition: SourcePartition,
        source_offset: SourceOffset,
        topic: impl Into<Topic>,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> Self {
        Self {
            source_partition,
            source_offset,
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Vec::new(),
        }
    }
}

/// A record handed to a sink task.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    pub topic: Topic,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub headers: Vec<Header>,
}

impl SinkRecord {
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&*self.topic, self.kafka_partition)
    }
}

/// Where Kafka stored a produced record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

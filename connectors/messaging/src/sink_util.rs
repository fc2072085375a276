//! What the sinks share: record values as message bodies, and records that
//! cannot be published reported to the runtime's `errors.*` handling.

use sluice_connect_api::schema::Value;
use sluice_connect_api::schema::converter::{Converter, ConverterConfig, JsonConverter};
use sluice_connect_api::{
    ConnectError, ConnectResult, SinkRecord, SinkTaskContext, TimestampType, TopicPartition,
};

/// The converter for structured values: schemaless JSON.
pub(crate) fn json_converter() -> ConnectResult<JsonConverter> {
    JsonConverter::new(&ConverterConfig::new(false).with("schemas.enable", "false"))
        .map_err(|e| ConnectError::fatal(format!("JSON converter: {e}")))
}

/// A message body: bytes as they are, text as UTF-8, null as empty,
/// anything else as JSON.
pub(crate) fn body(record: &SinkRecord, json: Option<&JsonConverter>) -> Result<Vec<u8>, String> {
    Ok(match &record.value {
        Value::Bytes(b) => b.clone(),
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        other => json
            .ok_or("the task was not started")?
            .from_connect(&record.topic, record.value_schema.as_ref(), other)
            .map_err(|e| format!("the value cannot be written as JSON: {e}"))?
            .unwrap_or_default(),
    })
}

/// Why a sink could not publish a record, for the errant-record reporter.
#[derive(Debug)]
struct Unpublishable(String);

impl std::fmt::Display for Unpublishable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unpublishable {}

/// Reports a record that cannot be published: to the dead letter queue
/// and log when the runtime offers a reporter (`errors.*` decides), else
/// the task fails naming the record.
pub(crate) fn errant(
    ctx: Option<&SinkTaskContext>,
    record: &SinkRecord,
    why: &str,
) -> ConnectResult<()> {
    let why = format!(
        "record {}-{}@{}: {why}",
        record.topic, record.kafka_partition, record.kafka_offset
    );
    match ctx.and_then(SinkTaskContext::errant_record_reporter) {
        Some(reporter) => {
            reporter.report(record, &Unpublishable(why));
            Ok(())
        }
        None => Err(ConnectError::fatal(why)),
    }
}

/// [`errant`] for a record the sink no longer holds (the broker refused it
/// after the fact): a record naming its place.
pub(crate) fn errant_at(
    ctx: Option<&SinkTaskContext>,
    tp: &TopicPartition,
    offset: i64,
    why: &str,
) -> ConnectResult<()> {
    let record = SinkRecord {
        topic: tp.topic.as_str().into(),
        kafka_partition: tp.partition,
        kafka_offset: offset,
        key_schema: None,
        key: Value::Null,
        value_schema: None,
        value: Value::Null,
        timestamp: None,
        timestamp_type: TimestampType::NoTimestampType,
        headers: Vec::new(),
    };
    errant(ctx, &record, why)
}

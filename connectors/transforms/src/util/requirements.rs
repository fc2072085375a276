//! Kafka Connect's `Requirements`: what a transform needs the key or value
//! to be, with the same messages.

use sluice_connect_api::ConnectRecord;
use sluice_connect_api::schema::{DataError, Struct, Value};

use super::java;
use super::map::Entries;

pub(crate) fn struct_error(value: &Value, purpose: &str) -> DataError {
    DataError::new(format!(
        "Only Struct objects supported for [{purpose}], found: {}",
        java::class_name(value)
    ))
}

pub(crate) fn map_error(value: &Value, purpose: &str) -> DataError {
    DataError::new(format!(
        "Only Map objects supported in absence of schema for [{purpose}], found: {}",
        java::class_name(value)
    ))
}

pub(crate) fn schema_error(purpose: &str) -> DataError {
    DataError::new(format!("Schema required for [{purpose}]"))
}

/// The struct a slot holds, moved out (the slot is left null). Anything else
/// is an error and the slot is untouched.
pub(crate) fn take_struct(slot: &mut Value, purpose: &str) -> Result<Struct, DataError> {
    match std::mem::replace(slot, Value::Null) {
        Value::Struct(s) => Ok(s),
        other => {
            let err = struct_error(&other, purpose);
            *slot = other;
            Err(err)
        }
    }
}

/// The map entries a slot holds, moved out (the slot is left null).
pub(crate) fn take_map(slot: &mut Value, purpose: &str) -> Result<Entries, DataError> {
    match std::mem::replace(slot, Value::Null) {
        Value::Map(m) => Ok(m),
        other => {
            let err = map_error(&other, purpose);
            *slot = other;
            Err(err)
        }
    }
}

pub(crate) fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct, DataError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(struct_error(other, purpose)),
    }
}

pub(crate) fn require_map<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a [(Value, Value)], DataError> {
    match value {
        Value::Map(m) => Ok(m),
        other => Err(map_error(other, purpose)),
    }
}

/// The record's Kafka offset; only sink records have one.
pub(crate) fn sink_offset(record: &dyn ConnectRecord, purpose: &str) -> Result<i64, DataError> {
    record.kafka_offset().ok_or_else(|| {
        DataError::new(format!(
            "Only SinkRecord supported for [{purpose}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

//! Records and configs for the unit tests.

use sluice_connect_api::schema::{SchemaRef, Struct, Value};
use sluice_connect_api::{
    Config, ConnectRecord, Header, Predicate, SinkRecord, SourceRecord, TimestampType,
    Transformation,
};

use crate::util::map;

pub(crate) fn config(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A source record on topic `test`, partition 0, timestamp 789.
pub(crate) fn source(
    key_schema: Option<SchemaRef>,
    key: Value,
    value_schema: Option<SchemaRef>,
    value: Value,
) -> SourceRecord {
    SourceRecord {
        source_partition: Default::default(),
        source_offset: Default::default(),
        topic: "test".into(),
        kafka_partition: Some(0),
        key_schema,
        key,
        value_schema,
        value,
        timestamp: Some(789),
        headers: Vec::new(),
    }
}

/// A source record with only a value.
pub(crate) fn source_value(schema: Option<SchemaRef>, value: Value) -> SourceRecord {
    source(None, Value::Null, schema, value)
}

/// A sink record on topic `test`, partition 0, offset 42, timestamp 789.
pub(crate) fn sink(
    key_schema: Option<SchemaRef>,
    key: Value,
    value_schema: Option<SchemaRef>,
    value: Value,
) -> SinkRecord {
    SinkRecord {
        topic: "test".into(),
        kafka_partition: 0,
        kafka_offset: 42,
        key_schema,
        key,
        value_schema,
        value,
        timestamp: Some(789),
        timestamp_type: TimestampType::CreateTime,
        headers: Vec::new(),
    }
}

/// A schemaless map with string keys.
pub(crate) fn map_of(pairs: &[(&str, Value)]) -> Value {
    map::from_pairs(pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())))
}

/// A struct of `schema` with fields set (checked).
pub(crate) fn struct_of(schema: &SchemaRef, pairs: &[(&str, Value)]) -> Struct {
    let mut s = Struct::new(schema.clone());
    for (k, v) in pairs {
        s.set(k, v.clone()).expect("valid test struct");
    }
    s
}

pub(crate) fn string_header(key: &str, value: &str) -> Header {
    Header {
        key: key.to_string(),
        schema: Some(sluice_connect_api::schema::Schema::string()),
        value: Value::from(value),
    }
}

/// Configures a transform, panicking on a config error.
pub(crate) fn configured<T: Transformation>(mut t: T, pairs: &[(&str, &str)]) -> T {
    t.configure(&config(pairs)).expect("valid config");
    t
}

/// Configures a predicate, panicking on a config error.
pub(crate) fn configured_predicate<T: Predicate>(mut t: T, pairs: &[(&str, &str)]) -> T {
    t.configure(&config(pairs)).expect("valid config");
    t
}

/// The error message of a config that must fail, and its keys.
pub(crate) fn config_error<T: Transformation>(
    mut t: T,
    pairs: &[(&str, &str)],
) -> (Vec<String>, String) {
    let e = t
        .configure(&config(pairs))
        .expect_err("config must be rejected");
    (
        e.keys().into_iter().map(str::to_string).collect(),
        e.issues
            .iter()
            .map(|i| i.message.clone())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Applies a transform that must keep the record.
pub(crate) fn apply<R: ConnectRecord>(t: &mut dyn Transformation, mut record: R) -> R {
    assert!(t.apply(&mut record).expect("transform must succeed"));
    record
}

/// The message of an apply that must fail.
pub(crate) fn apply_error<R: ConnectRecord>(t: &mut dyn Transformation, mut record: R) -> String {
    t.apply(&mut record)
        .expect_err("transform must fail")
        .message()
        .to_string()
}

/// The struct a value holds.
pub(crate) fn as_struct(v: &Value) -> &Struct {
    match v {
        Value::Struct(s) => s,
        other => panic!("not a struct: {other:?}"),
    }
}

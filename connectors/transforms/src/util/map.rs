//! Schemaless values: Kafka Connect's `Map<String, Object>`, here a
//! [`Value::Map`] whose keys are strings. Entries keep their order; a `put`
//! of a new key appends (Kafka Connect's `HashMap` has no order to keep).

use sluice_connect_api::schema::{DataError, Value};

use super::java;

pub(crate) type Entries = Vec<(Value, Value)>;

fn is_key(k: &Value, name: &str) -> bool {
    matches!(k, Value::String(s) if s == name)
}

/// The value under `name`, if any.
pub(crate) fn get<'a>(entries: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| is_key(k, name))
        .map(|(_, v)| v)
}

/// Sets `name` to `value`, replacing an existing entry in place.
pub(crate) fn put(entries: &mut Entries, name: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| is_key(k, name)) {
        Some((_, slot)) => *slot = value,
        None => entries.push((Value::String(name.to_string()), value)),
    }
}

/// Removes `name`, returning its value.
pub(crate) fn remove(entries: &mut Entries, name: &str) -> Option<Value> {
    let i = entries.iter().position(|(k, _)| is_key(k, name))?;
    Some(entries.remove(i).1)
}

/// Moves the value under `name` out (leaving null behind), or null when
/// absent; for maps about to be dropped.
pub(crate) fn take(entries: &mut [(Value, Value)], name: &str) -> Value {
    entries
        .iter_mut()
        .find(|(k, _)| is_key(k, name))
        .map_or(Value::Null, |(_, v)| std::mem::replace(v, Value::Null))
}

/// A key as a field name. Kafka Connect's schemaless transforms assume
/// `Map<String, Object>`; another key type is reported instead of failing
/// with a `ClassCastException`.
pub(crate) fn key_str<'a>(key: &'a Value, purpose: &str) -> Result<&'a str, DataError> {
    match key {
        Value::String(s) => Ok(s),
        other => Err(DataError::new(format!(
            "Only Map objects with String keys supported in absence of schema for [{purpose}], found key of type: {}",
            java::class_name(other)
        ))),
    }
}

/// Map entries with string keys, in order.
pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, Value)>) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::String(k), v))
            .collect(),
    )
}

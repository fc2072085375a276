//! Schemaless values: Kafka Connect's `Map<String, Object>`, here a
//! [`Value::Map`] whose keys are strings. Entries keep their order; a `put`
//! of a new key appends (Kafka Connect's `HashMap` has no order to keep).

use std::collections::HashMap;

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

/// Merges entries whose string keys are equal, in one pass: the first
/// keeps its position and takes the value of the last, as if every entry
/// had been [`put`] in order into an empty map (Java's `Map.put`). For
/// output built by pushing entries whose names may collide.
pub(crate) fn dedup(entries: &mut Entries) {
    // Where each entry goes: the index of the first entry with its key.
    let mut target = Vec::with_capacity(entries.len());
    let mut collided = false;
    {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
        for (i, (k, _)) in entries.iter().enumerate() {
            let t = match k {
                Value::String(name) => *first.entry(name.as_str()).or_insert(i),
                _ => i,
            };
            collided |= t != i;
            target.push(t);
        }
    }
    if !collided {
        return;
    }
    // Output position of each first entry; later duplicates overwrite it.
    let mut position = vec![0; entries.len()];
    let mut out: Entries = Vec::with_capacity(entries.len());
    for ((k, v), (i, t)) in std::mem::take(entries)
        .into_iter()
        .zip(target.into_iter().enumerate())
    {
        if t == i {
            position[i] = out.len();
            out.push((k, v));
        } else {
            out[position[t]].1 = v;
        }
    }
    *entries = out;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_is_put_in_turn() {
        let k = |s: &str| Value::String(s.to_string());
        let cases: Vec<Entries> = vec![
            vec![],
            vec![(k("a"), Value::Int32(1))],
            vec![(k("a"), Value::Int32(1)), (k("b"), Value::Int32(2))],
            vec![
                (k("a"), Value::Int32(1)),
                (k("b"), Value::Int32(2)),
                (k("a"), Value::Int32(3)),
                (k("c"), Value::Int32(4)),
                (k("b"), Value::Int32(5)),
                (k("a"), Value::Int32(6)),
            ],
            vec![
                (k("x"), Value::Int32(1)),
                (Value::Int32(7), Value::Int32(2)),
                (Value::Int32(7), Value::Int32(3)),
                (k("x"), Value::Int32(4)),
            ],
        ];
        for entries in cases {
            let mut expected: Entries = Vec::new();
            for (key, v) in entries.clone() {
                match key {
                    Value::String(name) => put(&mut expected, &name, v),
                    other => expected.push((other, v)),
                }
            }
            let mut got = entries.clone();
            dedup(&mut got);
            assert_eq!(got, expected, "{entries:?}");
        }
    }
}

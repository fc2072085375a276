//! Which columns a record becomes (`pk.mode`, `pk.fields`,
//! `fields.whitelist`), as Confluent's `FieldsMetadata` decides, plus
//! schemaless values (JSON maps), whose columns come from the map.

use sluice_connect_api::SinkRecord;
use sluice_connect_api::schema::{Schema, SchemaBuilder, SchemaRef, SchemaType, Value};

use super::config::PkMode;

pub const KAFKA_TOPIC: &str = "__connect_topic";
pub const KAFKA_PARTITION: &str = "__connect_partition";
pub const KAFKA_OFFSET: &str = "__connect_offset";

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Topic,
    Partition,
    Offset,
    /// The whole (primitive) key.
    Key,
    KeyField(String),
    ValueField(String),
}

/// One column of the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkField {
    pub name: String,
    pub schema: SchemaRef,
    pub source: Source,
    pub primary: bool,
}

impl SinkField {
    /// Primary key columns are never nullable.
    pub fn optional(&self) -> bool {
        !self.primary && self.schema.optional
    }
}

/// The columns of records with one key schema and one value schema.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldsMeta {
    pub keys: Vec<SinkField>,
    pub values: Vec<SinkField>,
}

impl FieldsMeta {
    /// Keys then values: the column order of statements.
    pub fn all(&self) -> impl Iterator<Item = &SinkField> {
        self.keys.iter().chain(self.values.iter())
    }
}

/// What a record is made of, to compare batches: a change of either
/// schema means new columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub key: Option<SchemaRef>,
    pub value: Option<SchemaRef>,
}

/// The value schema of a record: its own, or for a schemaless map one
/// built from its entries (every field optional; nested maps, lists and
/// structs are JSON text).
pub fn value_schema(record: &SinkRecord) -> Result<Option<SchemaRef>, String> {
    if let Some(s) = &record.value_schema {
        return Ok(Some(s.clone()));
    }
    match &record.value {
        Value::Null => Ok(None),
        Value::Map(entries) => {
            let mut b = SchemaBuilder::struct_();
            for (k, v) in entries {
                let Value::String(name) = k else {
                    return Err("a schemaless value's keys must be strings".into());
                };
                b = b.field(name.clone(), inferred(v));
            }
            Ok(Some(b.optional().build()))
        }
        other => Err(format!(
            "schemaless {} values cannot be written to columns: send Struct values with a schema, or JSON objects",
            other.schema_type().map_or("null", SchemaType::json_name)
        )),
    }
}

fn inferred(v: &Value) -> SchemaRef {
    match v {
        Value::Boolean(_) => Schema::optional_boolean(),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            Schema::optional_int64()
        }
        Value::Float32(_) | Value::Float64(_) => Schema::optional_float64(),
        Value::Bytes(_) => Schema::optional_bytes(),
        // Strings, nulls and nested values: text (JSON for nested values).
        _ => SchemaBuilder::string().optional().name(JSON_TEXT).build(),
    }
}

/// Schema name marking a string column that holds JSON text.
pub const JSON_TEXT: &str = "io.sluice.JsonText";

/// Confluent's `FieldsMetadata.extract`, with its messages.
pub fn extract(
    table: &str,
    pk_mode: PkMode,
    pk_fields: &[String],
    whitelist: &[String],
    key_schema: Option<&SchemaRef>,
    value_schema: Option<&SchemaRef>,
) -> Result<FieldsMeta, String> {
    if let Some(v) = value_schema
        && v.schema_type != SchemaType::Struct
    {
        return Err("Value schema must be of type Struct".into());
    }
    let mut keys: Vec<SinkField> = Vec::new();
    match pk_mode {
        PkMode::None => {}
        PkMode::Kafka => {
            let names: Vec<String> = if pk_fields.is_empty() {
                vec![
                    KAFKA_TOPIC.into(),
                    KAFKA_PARTITION.into(),
                    KAFKA_OFFSET.into(),
                ]
            } else if pk_fields.len() == 3 {
                pk_fields.to_vec()
            } else {
                return Err(format!(
                    "PK mode for table '{table}' is KAFKA so there should either be no field names defined for defaults [{KAFKA_TOPIC}, {KAFKA_PARTITION}, {KAFKA_OFFSET}] to be applicable, or exactly 3, defined fields are: {}",
                    pk_fields.join(",")
                ));
            };
            let schemas = [Schema::string(), Schema::int32(), Schema::int64()];
            let sources = [Source::Topic, Source::Partition, Source::Offset];
            for ((n, s), src) in names.into_iter().zip(schemas).zip(sources) {
                keys.push(SinkField {
                    name: n,
                    schema: s,
                    source: src,
                    primary: true,
                });
            }
        }
        PkMode::RecordKey => {
            let Some(ks) = key_schema else {
                return Err(format!(
                    "PK mode for table '{table}' is RECORD_KEY, but record key schema is missing"
                ));
            };
            if ks.schema_type.is_primitive() {
                if pk_fields.len() != 1 {
                    return Err(format!(
                        "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: {}",
                        pk_fields.join(",")
                    ));
                }
                keys.push(SinkField {
                    name: pk_fields[0].clone(),
                    schema: ks.clone(),
                    source: Source::Key,
                    primary: true,
                });
            } else if ks.schema_type == SchemaType::Struct {
                let names: Vec<String> = if pk_fields.is_empty() {
                    ks.fields.iter().map(|f| f.name.clone()).collect()
                } else {
                    pk_fields.to_vec()
                };
                for n in names {
                    let f = ks.field(&n).ok_or_else(|| {
                        format!(
                            "PK mode for table '{table}' is RECORD_KEY with configured PK fields {}, but record key schema does not contain field: {n}",
                            pk_fields.join(",")
                        )
                    })?;
                    keys.push(SinkField {
                        name: n.clone(),
                        schema: f.schema.clone(),
                        source: Source::KeyField(n),
                        primary: true,
                    });
                }
            } else {
                return Err(format!(
                    "Key schema must be primitive type or Struct, but is of type: {}",
                    ks.schema_type.upper_name()
                ));
            }
        }
        PkMode::RecordValue => {
            let Some(vs) = value_schema else {
                return Err(format!(
                    "PK mode for table '{table}' is RECORD_VALUE, but record value schema is missing"
                ));
            };
            let names: Vec<String> = if pk_fields.is_empty() {
                vs.fields.iter().map(|f| f.name.clone()).collect()
            } else {
                pk_fields.to_vec()
            };
            for n in names {
                let f = vs.field(&n).ok_or_else(|| {
                    format!(
                        "PK mode for table '{table}' is RECORD_VALUE with configured PK fields {}, but record value schema does not contain field: {n}",
                        pk_fields.join(",")
                    )
                })?;
                keys.push(SinkField {
                    name: n.clone(),
                    schema: f.schema.clone(),
                    source: Source::ValueField(n),
                    primary: true,
                });
            }
        }
    }
    let mut values = Vec::new();
    if let Some(vs) = value_schema {
        for f in &vs.fields {
            if keys.iter().any(|k| k.name == f.name) {
                continue;
            }
            if !whitelist.is_empty() && !whitelist.contains(&f.name) {
                continue;
            }
            values.push(SinkField {
                name: f.name.clone(),
                schema: f.schema.clone(),
                source: Source::ValueField(f.name.clone()),
                primary: false,
            });
        }
    }
    if keys.is_empty() && values.is_empty() {
        return Err(format!(
            "No fields found using key and value schemas for table: {table}"
        ));
    }
    Ok(FieldsMeta { keys, values })
}

/// A field's value in `record`.
pub fn field_value<'a>(record: &'a SinkRecord, source: &Source) -> FieldValue<'a> {
    match source {
        Source::Topic => FieldValue::Owned(Value::String(record.topic.to_string())),
        Source::Partition => FieldValue::Owned(Value::Int32(record.kafka_partition)),
        Source::Offset => FieldValue::Owned(Value::Int64(record.kafka_offset)),
        Source::Key => FieldValue::Borrowed(&record.key),
        Source::KeyField(n) => FieldValue::Borrowed(get(&record.key, n)),
        Source::ValueField(n) => FieldValue::Borrowed(get(&record.value, n)),
    }
}

const NULL: Value = Value::Null;

fn get<'a>(v: &'a Value, name: &str) -> &'a Value {
    match v {
        Value::Struct(s) => s.get_or_default(name).unwrap_or(&NULL),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map_or(&NULL, |(_, v)| v),
        _ => &NULL,
    }
}

/// A value read from a record.
#[derive(Debug)]
pub enum FieldValue<'a> {
    Borrowed(&'a Value),
    Owned(Value),
}

impl FieldValue<'_> {
    pub fn get(&self) -> &Value {
        match self {
            FieldValue::Borrowed(v) => v,
            FieldValue::Owned(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_schema() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("id", Schema::int64())
            .field("name", Schema::optional_string())
            .field("note", Schema::optional_string())
            .build()
    }

    #[test]
    fn pk_modes_pick_columns_like_confluent() {
        let v = value_schema();
        let m = extract("t", PkMode::None, &[], &[], None, Some(&v)).unwrap();
        assert!(m.keys.is_empty());
        assert_eq!(m.values.len(), 3);
        let m = extract("t", PkMode::Kafka, &[], &["name".into()], None, Some(&v)).unwrap();
        let names: Vec<&str> = m.all().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            vec![KAFKA_TOPIC, KAFKA_PARTITION, KAFKA_OFFSET, "name"]
        );
        let m = extract(
            "t",
            PkMode::RecordValue,
            &["id".into()],
            &[],
            None,
            Some(&v),
        )
        .unwrap();
        assert_eq!(m.keys[0].name, "id");
        assert!(!m.keys[0].optional());
        assert_eq!(m.values.len(), 2);
        let e = extract(
            "t",
            PkMode::RecordKey,
            &[],
            &[],
            Some(&Schema::int64()),
            Some(&v),
        )
        .unwrap_err();
        assert!(e.starts_with("Need exactly one PK column defined"), "{e}");
        let m = extract(
            "t",
            PkMode::RecordKey,
            &["id".into()],
            &[],
            Some(&Schema::int64()),
            Some(&v),
        )
        .unwrap();
        assert_eq!(m.keys[0].source, Source::Key);
        assert_eq!(m.values.len(), 2, "the value's id is the key's");
        let e = extract("t", PkMode::RecordKey, &[], &[], None, Some(&v)).unwrap_err();
        assert_eq!(
            e,
            "PK mode for table 't' is RECORD_KEY, but record key schema is missing"
        );
        let e = extract(
            "t",
            PkMode::RecordValue,
            &["nope".into()],
            &[],
            None,
            Some(&v),
        )
        .unwrap_err();
        assert!(e.ends_with("does not contain field: nope"), "{e}");
    }
}

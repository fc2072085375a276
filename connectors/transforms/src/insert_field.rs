//! `InsertField$Key` / `InsertField$Value`: adds fields from the record's
//! metadata (`topic.field`, `partition.field`, `offset.field` for sink
//! records, `timestamp.field`) and a constant (`static.field` with
//! `static.value`). A `!` suffix makes a field required, `?` (the default)
//! optional. Null keys and values pass through.

mod config;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::logical::timestamp_schema;
use sluice_connect_api::schema::{DataError, Schema, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::config::error;
use crate::util::fields::{OrEmpty, def_of};
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

use config::{FieldSpec, InsertFieldConfig, STATIC_VALUE};

const PURPOSE: &str = "field insertion";

/// A field to insert and its schema.
#[derive(Debug, Clone)]
struct Insertion {
    name: String,
    schema: SchemaRef,
}

impl Insertion {
    /// The configured field, if any, with the `required` or `optional`
    /// schema its spec asks for.
    fn new(spec: OrEmpty<FieldSpec>, required: SchemaRef, optional: SchemaRef) -> Option<Self> {
        let spec = spec.0?;
        Some(Self {
            name: spec.name,
            schema: if spec.required { required } else { optional },
        })
    }
}

#[derive(Debug)]
struct Plan {
    schema: SchemaRef,
    /// Whether any copied field has a default (else no null needs one).
    has_defaults: bool,
}

/// The configured insertions, in the order their fields are added.
#[derive(Debug, Default)]
struct Insertions {
    topic: Option<Insertion>,
    partition: Option<Insertion>,
    offset: Option<Insertion>,
    timestamp: Option<Insertion>,
    static_field: Option<Insertion>,
}

impl Insertions {
    fn all(&self) -> [Option<&Insertion>; 5] {
        [
            self.topic.as_ref(),
            self.partition.as_ref(),
            self.offset.as_ref(),
            self.timestamp.as_ref(),
            self.static_field.as_ref(),
        ]
    }

    fn build_plan(&self, schema: &SchemaRef) -> Result<Plan, DataError> {
        let mut builder = copy_basics(schema, SchemaBuilder::struct_());
        for f in &schema.fields {
            builder = builder.field(f.name.clone(), f.schema.clone());
        }
        for ins in self.all().into_iter().flatten() {
            builder = builder.field(ins.name.clone(), ins.schema.clone());
        }
        Ok(Plan {
            schema: build_struct(builder)?,
            has_defaults: schema.fields.iter().any(|f| f.schema.default.is_some()),
        })
    }
}

/// Inserts metadata and constant fields.
#[derive(Debug)]
pub struct InsertField {
    side: Side,
    fields: Insertions,
    static_value: String,
    replace_null_with_default: bool,
    cache: SchemaCache<Plan>,
}

impl InsertField {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            fields: Insertions::default(),
            static_value: String::new(),
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `InsertField$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `InsertField$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

/// The values inserted into one record, in field order (`None`: the
/// metadata is absent, the field stays null).
struct Inserted {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    timestamp: Option<i64>,
}

impl Transformation for InsertField {
    fn config_def(&self) -> ConfigDef {
        def_of::<InsertFieldConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = InsertFieldConfig::parse(config)?;
        // Kafka Connect's `static.value` defaults to null: only a value
        // given, even empty, counts (the typed config sees the default).
        if let (Some(f), false) = (&c.static_field.0, config.contains_key(STATIC_VALUE)) {
            return Err(error(
                STATIC_VALUE,
                "null",
                format!("No value specified for static field: {}", f.name),
            ));
        }
        self.fields = Insertions {
            topic: Insertion::new(c.topic, Schema::string(), Schema::optional_string()),
            partition: Insertion::new(c.partition, Schema::int32(), Schema::optional_int32()),
            offset: Insertion::new(c.offset, Schema::int64(), Schema::optional_int64()),
            timestamp: Insertion::new(
                c.timestamp,
                timestamp_schema().build(),
                timestamp_schema().optional().build(),
            ),
            static_field: Insertion::new(
                c.static_field,
                Schema::string(),
                Schema::optional_string(),
            ),
        };
        self.static_value = c.static_value;
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let value = self.side.value(record);
        match (value, self.side.schema(record)) {
            (Value::Null, _) => return Ok(true),
            (Value::Map(_), None) | (Value::Struct(_), Some(_)) => {}
            (other, None) => return Err(requirements::map_error(other, PURPOSE)),
            (other, Some(_)) => return Err(requirements::struct_error(other, PURPOSE)),
        }
        let inserted = Inserted {
            topic: self
                .fields
                .topic
                .as_ref()
                .map(|_| record.topic().to_string()),
            partition: record.kafka_partition(),
            offset: match self.fields.offset {
                Some(_) => Some(requirements::sink_offset(record, PURPOSE)?),
                None => None,
            },
            timestamp: record.timestamp(),
        };
        let (schema_slot, value_slot) = self.side.parts(record);
        let fields = &self.fields;
        if schema_slot.is_none() {
            let mut entries = requirements::take_map(value_slot, PURPOSE)?;
            if let (Some(f), Some(t)) = (&fields.topic, inserted.topic) {
                map::put(&mut entries, &f.name, Value::String(t));
            }
            if let (Some(f), Some(p)) = (&fields.partition, inserted.partition) {
                map::put(&mut entries, &f.name, Value::Int32(p));
            }
            if let (Some(f), Some(o)) = (&fields.offset, inserted.offset) {
                map::put(&mut entries, &f.name, Value::Int64(o));
            }
            if let (Some(f), Some(t)) = (&fields.timestamp, inserted.timestamp) {
                map::put(&mut entries, &f.name, Value::Int64(t));
            }
            if let Some(f) = &fields.static_field {
                map::put(
                    &mut entries,
                    &f.name,
                    Value::String(self.static_value.clone()),
                );
            }
            *value_slot = Value::Map(entries);
            return Ok(true);
        }
        let value = requirements::take_struct(value_slot, PURPOSE)?;
        let (input_schema, mut values) = value.into_parts();
        let plan = match self
            .cache
            .get_or_try_insert(&input_schema, |s| fields.build_plan(s))
        {
            Ok(plan) => plan,
            Err(e) => {
                *value_slot = Value::Struct(Struct::from_parts_unchecked(input_schema, values));
                return Err(e);
            }
        };
        if plan.has_defaults && self.replace_null_with_default {
            for (v, f) in values.iter_mut().zip(&input_schema.fields) {
                fill_default(v, &f.schema, true);
            }
        }
        values.reserve_exact(fields.all().iter().flatten().count());
        if fields.topic.is_some() {
            values.push(inserted.topic.map_or(Value::Null, Value::String));
        }
        if fields.partition.is_some() {
            values.push(inserted.partition.map_or(Value::Null, Value::Int32));
        }
        if fields.offset.is_some() {
            values.push(inserted.offset.map_or(Value::Null, Value::Int64));
        }
        if fields.timestamp.is_some() {
            values.push(inserted.timestamp.map_or(Value::Null, Value::Int64));
        }
        if fields.static_field.is_some() {
            values.push(Value::String(self.static_value.clone()));
        }
        *value_slot = Value::Struct(Struct::from_parts_unchecked(plan.schema.clone(), values));
        *schema_slot = Some(plan.schema.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

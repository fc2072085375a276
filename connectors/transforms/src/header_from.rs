//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields of the key
//! or value into headers (`fields[i]` into `headers[i]`), with the field's
//! schema. A null key or value is an error, as in Kafka Connect.

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConfigKey, ConfigType, Importance};
use sluice_connect_api::schema::{DataError, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Header, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::config::{
    REPLACE_NULL_WITH_DEFAULT, non_empty_list, plain_error, replace_null_with_default_key,
    valid_string,
};
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

const FIELDS: &str = "fields";
const HEADERS: &str = "headers";
const OPERATION: &str = "operation";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Copy,
    Move,
}

impl Operation {
    fn purpose(self) -> &'static str {
        match self {
            Self::Copy => "header copy",
            Self::Move => "header move",
        }
    }
}

#[derive(Debug)]
struct MovePlan {
    schema: SchemaRef,
    /// Input index of each remaining field, increasing.
    kept: Vec<usize>,
}

/// Copies or moves fields into headers.
#[derive(Debug)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    operation: Operation,
    replace_null_with_default: bool,
    cache: SchemaCache<MovePlan>,
}

impl HeaderFrom {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            fields: Vec::new(),
            headers: Vec::new(),
            operation: Operation::Copy,
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `HeaderFrom$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `HeaderFrom$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }

    fn apply_schemaless(&self, value: &mut Value, out: &mut Vec<Header>) -> Result<(), DataError> {
        let Value::Map(entries) = value else {
            return Err(requirements::map_error(value, self.operation.purpose()));
        };
        for (field, header) in self.fields.iter().zip(&self.headers) {
            out.push(Header {
                key: header.clone(),
                schema: None,
                value: map::get(entries, field).cloned().unwrap_or(Value::Null),
            });
        }
        if self.operation == Operation::Move {
            for field in &self.fields {
                map::remove(entries, field);
            }
        }
        Ok(())
    }
}

impl Transformation for HeaderFrom {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .key(
                ConfigKey::new(FIELDS, ConfigType::List)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc("Field names in the record whose values are to be copied or moved to headers."),
            )
            .key(
                ConfigKey::new(HEADERS, ConfigType::List)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc(
                        "Header names, in the same order as the field names listed in the fields \
                         configuration property.",
                    ),
            )
            .key(
                ConfigKey::new(OPERATION, ConfigType::String)
                    .validator(valid_string(&["move", "copy"]))
                    .importance(Importance::High)
                    .doc(
                        "Either <code>move</code> if the fields are to be moved to the headers \
                         (removed from the key/value), or <code>copy</code> if the fields are to \
                         be copied to the headers (retained in the key/value).",
                    ),
            )
            .key(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let parsed = self.config_def().parse(config)?;
        let fields = parsed.list(FIELDS)?;
        let headers = parsed.list(HEADERS)?;
        if fields.len() != headers.len() {
            return Err(plain_error(
                HEADERS,
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        self.fields = fields;
        self.headers = headers;
        self.operation = if parsed.string(OPERATION)? == "move" {
            Operation::Move
        } else {
            Operation::Copy
        };
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let mut new_headers = Vec::with_capacity(self.fields.len());
        let schema = self.side.schema(record).cloned();
        let Some(schema) = schema else {
            let (_, value) = self.side.parts(record);
            self.apply_schemaless(value, &mut new_headers)?;
            record.headers_mut().append(&mut new_headers);
            return Ok(true);
        };
        let purpose = self.operation.purpose();
        let value = requirements::require_struct(self.side.value(record), purpose)?;
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let field_schema = schema
                .field(field)
                .ok_or_else(|| DataError::new(format!("Field does not exist: {field}")))?
                .schema
                .clone();
            let mut v = match value.schema().field(field) {
                Some(f) => value.values().get(f.index).cloned().unwrap_or(Value::Null),
                None => Value::Null,
            };
            fill_default(&mut v, &field_schema, self.replace_null_with_default);
            new_headers.push(Header {
                key: header.clone(),
                schema: Some(field_schema),
                value: v,
            });
        }
        if self.operation == Operation::Move {
            let fields = &self.fields;
            let (_, value_slot) = self.side.parts(record);
            let value = requirements::take_struct(value_slot, purpose)?;
            let (input_schema, mut values) = value.into_parts();
            let plan = self.cache.get_or_try_insert(&input_schema, |s| {
                let mut builder = copy_basics(s, SchemaBuilder::struct_());
                let mut kept = Vec::new();
                for (i, f) in s.fields.iter().enumerate() {
                    if !fields.contains(&f.name) {
                        builder = builder.field(f.name.clone(), f.schema.clone());
                        kept.push(i);
                    }
                }
                Ok(MovePlan {
                    schema: build_struct(builder)?,
                    kept,
                })
            })?;
            for (dst, (&src, f)) in plan.kept.iter().zip(&plan.schema.fields).enumerate() {
                if src != dst && src < values.len() {
                    values.swap(dst, src);
                }
                if let Some(v) = values.get_mut(dst) {
                    fill_default(v, &f.schema, self.replace_null_with_default);
                }
            }
            values.truncate(plan.kept.len());
            let schema = plan.schema.clone();
            let (schema_slot, value_slot) = self.side.parts(record);
            *value_slot = Value::Struct(Struct::from_parts_unchecked(schema.clone(), values));
            *schema_slot = Some(schema);
        }
        record.headers_mut().append(&mut new_headers);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

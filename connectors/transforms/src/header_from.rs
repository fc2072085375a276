//! `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields of the key
//! or value into headers (`fields[i]` into `headers[i]`), with the field's
//! schema. A null key or value is an error, as in Kafka Connect.

mod config;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::{DataError, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Header, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

use config::HeaderFromConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Operation {
    #[default]
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
        def_of::<HeaderFromConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = HeaderFromConfig::parse(config)?;
        self.fields = c.fields;
        self.headers = c.headers;
        self.operation = c.operation;
        self.replace_null_with_default = c.replace_null_with_default;
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

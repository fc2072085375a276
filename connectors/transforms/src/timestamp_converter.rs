//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a
//! timestamp field (`field`), or the whole key or value, between `string`
//! (with a SimpleDateFormat `format`, UTC), `unix` (a long in
//! `unix.precision`), and the `Date`, `Time` and `Timestamp` logical types.
//!
//! With a schema the source format comes from the schema (the logical
//! types, string, or int64 as unix). Schemaless, a long is unix time and a
//! string is parsed with `format`; the result of a Date, Time or Timestamp
//! conversion is the logical type's physical value (days as int32,
//! milliseconds of the day as int32, epoch milliseconds as int64), since a
//! schemaless value has no `java.util.Date`.

mod config;
mod convert;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::{
    DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::config::errors;
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

use config::TimestampConverterConfig;
use convert::{Converter, Kind};

const PURPOSE: &str = "converting timestamp formats";

#[derive(Debug)]
struct FieldPlan {
    schema: SchemaRef,
    /// The converted field's index and its source format (`None`: its
    /// schema is not a timestamp type; an error once a value needs it).
    field: Option<(usize, Result<Kind, String>)>,
    has_defaults: bool,
}

/// Converts timestamps between representations.
#[derive(Debug)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    converter: Converter,
    replace_null_with_default: bool,
    cache: SchemaCache<FieldPlan>,
}

impl TimestampConverter {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            field: String::new(),
            converter: Converter::default(),
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `TimestampConverter$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `TimestampConverter$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

fn build_field_plan(
    field: &str,
    converter: &Converter,
    schema: &Schema,
) -> Result<FieldPlan, DataError> {
    if schema.schema_type != SchemaType::Struct {
        return Err(DataError::new("Cannot list fields on non-struct type"));
    }
    let mut builder = copy_basics(schema, SchemaBuilder::struct_());
    let mut converted = None;
    for (i, f) in schema.fields.iter().enumerate() {
        if f.name == field {
            builder = builder.field(f.name.clone(), converter.target_schema(f.schema.optional));
            converted = Some((i, Kind::of_schema(&f.schema)));
        } else {
            builder = builder.field(f.name.clone(), f.schema.clone());
        }
    }
    if schema.optional {
        builder = builder.optional();
    }
    let has_defaults = schema.fields.iter().any(|f| f.schema.default.is_some());
    let without_default = build_struct(builder.clone())?;
    let schema_out = match &schema.default {
        Some(d) => {
            let s = requirements::require_struct(d, PURPOSE)?;
            let mut values = s.values().to_vec();
            convert_field(converter, &converted, &schema.fields, &mut values, false)?;
            let default = Struct::from_parts_unchecked(without_default, values);
            build_struct(builder.default_value(Value::Struct(default)))?
        }
        None => without_default,
    };
    Ok(FieldPlan {
        schema: schema_out,
        field: converted,
        has_defaults,
    })
}

/// Converts the planned field of a struct's values in place (after
/// filling defaults as asked).
fn convert_field(
    converter: &Converter,
    field: &Option<(usize, Result<Kind, String>)>,
    fields: &[sluice_connect_api::schema::Field],
    values: &mut [Value],
    replace_null_with_default: bool,
) -> Result<(), DataError> {
    if replace_null_with_default {
        for (v, f) in values.iter_mut().zip(fields) {
            fill_default(v, &f.schema, true);
        }
    }
    if let Some((i, kind)) = field {
        let kind = kind.clone().map_err(DataError::new)?;
        if let Some(v) = values.get_mut(*i) {
            *v = converter.convert(v, kind)?;
        }
    }
    Ok(())
}

impl Transformation for TimestampConverter {
    fn config_def(&self) -> ConfigDef {
        def_of::<TimestampConverterConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = TimestampConverterConfig::parse(config)?;
        self.converter = c.converter().map_err(errors)?;
        self.field = c.field;
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        let converter = &self.converter;
        let Some(schema) = schema_slot else {
            if value_slot.is_null() {
                return Ok(true);
            }
            if self.field.is_empty() {
                let kind = Kind::infer(value_slot)?;
                *value_slot = converter.convert(value_slot, kind)?;
                return Ok(true);
            }
            let Value::Map(entries) = value_slot else {
                return Err(requirements::map_error(value_slot, PURPOSE));
            };
            let converted = match map::get(entries, &self.field) {
                None | Some(Value::Null) => Value::Null,
                Some(v) => converter.convert(v, Kind::infer(v)?)?,
            };
            map::put(entries, &self.field, converted);
            return Ok(true);
        };
        if self.field.is_empty() {
            let kind = Kind::of_schema(schema).map_err(DataError::new)?;
            let converted = converter.convert(value_slot, kind)?;
            *value_slot = converted;
            *schema_slot = Some(converter.target_schema(schema.optional));
            return Ok(true);
        }
        if !matches!(value_slot, Value::Null | Value::Struct(_)) {
            return Err(requirements::struct_error(value_slot, PURPOSE));
        }
        let field = &self.field;
        let plan = self
            .cache
            .get_or_try_insert(schema, |s| build_field_plan(field, converter, s))?;
        if let Value::Struct(_) = value_slot {
            let value = requirements::take_struct(value_slot, PURPOSE)?;
            let (struct_schema, mut values) = value.into_parts();
            let rnwd = self.replace_null_with_default && plan.has_defaults;
            let result = if values.len() == plan.schema.fields.len() {
                convert_field(
                    converter,
                    &plan.field,
                    &struct_schema.fields,
                    &mut values,
                    rnwd,
                )
            } else {
                Err(DataError::new(
                    "TimestampConverter found a struct whose schema differs from the record schema",
                ))
            };
            if let Err(e) = result {
                *value_slot = Value::Struct(Struct::from_parts_unchecked(struct_schema, values));
                return Err(e);
            }
            *value_slot = Value::Struct(Struct::from_parts_unchecked(plan.schema.clone(), values));
        }
        *schema_slot = Some(plan.schema.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

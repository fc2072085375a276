//! `MaskField$Key` / `MaskField$Value`: replaces the listed fields with the
//! empty value of their type (0, false, "", empty array or map, the epoch
//! for Date/Time/Timestamp, 0 for Decimal) or with `replacement` converted
//! to the field's type (numbers and strings only). Null fields stay null;
//! a null key or value is an error, as in Kafka Connect.

mod config;

use std::collections::HashSet;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::logical::{Decimal, LogicalType, decimal_scale};
use sluice_connect_api::schema::{DataError, Schema, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::config::error;
use crate::util::fields::def_of;
use crate::util::java::{class_name_of, decimal_double_value, decimal_long_value};
use crate::util::schema_util::fill_default;
use crate::util::{map, requirements};

use config::{MaskFieldConfig, REPLACEMENT};

const PURPOSE: &str = "mask fields";

/// Masks fields.
#[derive(Debug)]
pub struct MaskField {
    side: Side,
    /// In configured order: schemaless values are masked in this order.
    fields: Vec<String>,
    /// The same names, to look struct fields up.
    field_set: HashSet<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            fields: Vec::new(),
            field_set: HashSet::new(),
            replacement: None,
            replace_null_with_default: true,
        }
    }

    /// `MaskField$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `MaskField$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }

    fn masked(&self, schema: Option<&Schema>, value: &Value) -> Result<Value, DataError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => empty_value(schema, value),
            Some(r) => replacement_value(schema, value, r),
        }
    }
}

fn unsupported(schema: Option<&Schema>, value: &Value) -> DataError {
    DataError::new(format!(
        "Cannot mask value of type: class {}",
        class_name_of(schema, value)
    ))
}

/// The "null" value of a value's type.
fn empty_value(schema: Option<&Schema>, value: &Value) -> Result<Value, DataError> {
    match schema.and_then(LogicalType::of) {
        Some(LogicalType::Decimal) => {
            let scale = schema.map_or(Ok(0), decimal_scale)?;
            return Ok(Decimal::new(0, scale).to_value());
        }
        Some(LogicalType::Date | LogicalType::Time) => return Ok(Value::Int32(0)),
        Some(LogicalType::Timestamp) => return Ok(Value::Int64(0)),
        None => {}
    }
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => return Err(unsupported(schema, other)),
    })
}

/// `replacement` converted to the value's type, as Kafka Connect's
/// `Values.convertTo*` (numbers through `BigDecimal`, truncated).
fn replacement_value(schema: Option<&Schema>, value: &Value, r: &str) -> Result<Value, DataError> {
    let not_a_number = || {
        DataError::new(format!(
            "Unable to convert {r} (class java.lang.String) to a number"
        ))
    };
    let number = || r.trim().parse::<Decimal>().map_err(|_| not_a_number());
    match schema.and_then(LogicalType::of) {
        Some(LogicalType::Decimal) => {
            let scale = schema.map_or(Ok(0), decimal_scale)?;
            let d = r.parse::<Decimal>().map_err(|_| {
                DataError::new(format!(
                    "Unable to convert {r} (class java.lang.String) to number"
                ))
            })?;
            let d = d.rescale(scale).map_err(|_| {
                DataError::new("BigDecimal has mismatching scale value for given Decimal schema")
            })?;
            return Ok(d.to_value());
        }
        Some(_) => {
            return Err(DataError::new(format!(
                "Cannot mask value of type class {} with custom replacement.",
                class_name_of(schema, value)
            )));
        }
        None => {}
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(match value {
        Value::Int8(_) => Value::Int8(decimal_long_value(&number()?) as i8),
        Value::Int16(_) => Value::Int16(decimal_long_value(&number()?) as i16),
        Value::Int32(_) => Value::Int32(decimal_long_value(&number()?) as i32),
        Value::Int64(_) => Value::Int64(decimal_long_value(&number()?)),
        Value::Float32(_) => Value::Float32(decimal_double_value(&number()?) as f32),
        Value::Float64(_) => Value::Float64(decimal_double_value(&number()?)),
        Value::String(_) => Value::String(r.to_string()),
        other => {
            return Err(DataError::new(format!(
                "Cannot mask value of type class {} with custom replacement.",
                class_name_of(schema, other)
            )));
        }
    })
}

impl Transformation for MaskField {
    fn config_def(&self) -> ConfigDef {
        def_of::<MaskFieldConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = MaskFieldConfig::parse(config)?;
        // Kafka Connect's `replacement` defaults to null and must not be
        // empty when given (the typed config sees the empty default).
        if c.replacement.0.is_none() && config.contains_key(REPLACEMENT) {
            return Err(error(REPLACEMENT, "", "String must be non-empty"));
        }
        self.field_set = c.fields.iter().cloned().collect();
        self.fields = c.fields;
        self.replacement = c.replacement.0;
        self.replace_null_with_default = c.replace_null_with_default;
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        if schema_slot.is_none() {
            let entries = requirements::require_map(value_slot, PURPOSE)?;
            let masked = self
                .fields
                .iter()
                .map(|f| {
                    Ok((
                        f,
                        self.masked(None, map::get(entries, f).unwrap_or(&Value::Null))?,
                    ))
                })
                .collect::<Result<Vec<_>, DataError>>()?;
            if let Value::Map(entries) = value_slot {
                for (f, v) in masked {
                    map::put(entries, f, v);
                }
            }
            return Ok(true);
        }
        let value = requirements::take_struct(value_slot, PURPOSE)?;
        let (schema, mut values) = value.into_parts();
        let mut result = Ok(true);
        for (f, v) in schema.fields.iter().zip(values.iter_mut()) {
            fill_default(v, &f.schema, self.replace_null_with_default);
            if self.field_set.contains(&f.name) {
                match self.masked(Some(&f.schema), v) {
                    Ok(masked) => *v = masked,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        *value_slot = Value::Struct(Struct::from_parts_unchecked(schema, values));
        result
    }
}

#[cfg(test)]
mod tests;

//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value by
//! one of its fields (Struct with a schema, Map without); nested paths with
//! `field.syntax.version=V2`. Null passes through (with a schema, the
//! schema becomes the field's).

mod config;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::{DataError, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::config::errors;
use crate::util::field_path::FieldPath;
use crate::util::fields::def_of;
use crate::util::requirements;

use config::ExtractFieldConfig;

const PURPOSE: &str = "field extraction";

/// Replaces the key or value by one of its fields.
#[derive(Debug)]
pub struct ExtractField {
    side: Side,
    original: String,
    path: FieldPath,
    replace_null_with_default: bool,
}

impl ExtractField {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            original: String::new(),
            path: FieldPath::default(),
            replace_null_with_default: true,
        }
    }

    /// `ExtractField$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `ExtractField$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

impl Transformation for ExtractField {
    fn config_def(&self) -> ConfigDef {
        def_of::<ExtractFieldConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = ExtractFieldConfig::parse(config)?;
        self.path = c.path().map_err(errors)?;
        self.original = c.field;
        self.replace_null_with_default = c.replace_null_with_default;
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        let Some(schema) = schema_slot else {
            let extracted = match std::mem::replace(value_slot, Value::Null) {
                Value::Null => Value::Null,
                Value::Map(entries) => self.path.take_from_map(entries)?,
                other => {
                    let err = requirements::map_error(&other, PURPOSE);
                    *value_slot = other;
                    return Err(err);
                }
            };
            *value_slot = extracted;
            return Ok(true);
        };
        if !matches!(value_slot, Value::Null | Value::Struct(_)) {
            return Err(requirements::struct_error(value_slot, PURPOSE));
        }
        let field_schema = self
            .path
            .field_from(schema)?
            .ok_or_else(|| DataError::new(format!("Unknown field: {}", self.original)))?
            .schema
            .clone();
        let extracted = match std::mem::replace(value_slot, Value::Null) {
            Value::Struct(s) => self
                .path
                .take_from_struct(s, self.replace_null_with_default)?,
            _ => Value::Null,
        };
        *value_slot = extracted;
        *schema_slot = Some(field_schema);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

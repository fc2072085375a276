//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name
//! and/or version of the key or value schema; a Struct is re-attached to
//! the renamed schema.

use std::sync::Arc;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConfigKey, ConfigType, Importance};
use sluice_connect_api::schema::{DataError, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::config::{
    REPLACE_NULL_WITH_DEFAULT, optional, plain_error, replace_null_with_default_key,
};
use crate::util::requirements;
use crate::util::schema_util::fill_default;

const SCHEMA_NAME: &str = "schema.name";
const SCHEMA_VERSION: &str = "schema.version";

/// Renames or re-versions the key or value schema.
#[derive(Debug)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
    cache: SchemaCache<SchemaRef>,
}

impl SetSchemaMetadata {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            name: None,
            version: None,
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `SetSchemaMetadata$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `SetSchemaMetadata$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

impl Transformation for SetSchemaMetadata {
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
            .key(
                ConfigKey::new(SCHEMA_NAME, ConfigType::String)
                    .default_value("")
                    .importance(Importance::High)
                    .doc("Schema name to set."),
            )
            .key(
                ConfigKey::new(SCHEMA_VERSION, ConfigType::String)
                    .default_value("")
                    .validator(sluice_connect_api::config::Validator::custom(|v| {
                        let s = v.to_string();
                        if s.is_empty() || s.parse::<i32>().is_ok() {
                            Ok(())
                        } else {
                            Err("Not a number of type INT".to_string())
                        }
                    }))
                    .importance(Importance::High)
                    .doc("Schema version to set."),
            )
            .key(replace_null_with_default_key())
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let parsed = self.config_def().parse(config)?;
        self.name = optional(config, SCHEMA_NAME);
        self.version = optional(config, SCHEMA_VERSION).and_then(|v| v.parse().ok());
        self.replace_null_with_default = parsed.boolean(REPLACE_NULL_WITH_DEFAULT)?;
        self.cache.clear();
        if self.name.is_none() && self.version.is_none() {
            return Err(plain_error(
                SCHEMA_NAME,
                "Neither schema name nor version configured",
            ));
        }
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        let Some(schema) = schema_slot else {
            if value_slot.is_null() {
                return Ok(true);
            }
            return Err(requirements::schema_error("updating schema metadata"));
        };
        let (name, version) = (&self.name, self.version);
        let updated = self
            .cache
            .get_or_try_insert(schema, |s| {
                let mut copy = (**s).clone();
                if name.is_some() {
                    copy.name.clone_from(name);
                }
                if version.is_some() {
                    copy.version = version;
                }
                Ok(Arc::new(copy))
            })?
            .clone();
        if let Value::Struct(_) = value_slot
            && let Value::Struct(s) = std::mem::replace(value_slot, Value::Null)
        {
            let (_, mut values) = s.into_parts();
            for (v, f) in values.iter_mut().zip(&updated.fields) {
                fill_default(v, &f.schema, self.replace_null_with_default);
            }
            values.resize(updated.fields.len(), Value::Null);
            *value_slot = Value::Struct(Struct::from_parts_unchecked(updated.clone(), values));
        }
        *schema_slot = Some(updated);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the name
//! and/or version of the key or value schema; a Struct is re-attached to
//! the renamed schema.

mod config;

use std::sync::Arc;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::{DataError, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::requirements;
use crate::util::schema_util::fill_default;

use config::SetSchemaMetadataConfig;

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
        def_of::<SetSchemaMetadataConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = SetSchemaMetadataConfig::parse(config)?;
        self.name = c.name.0;
        self.version = c.version.0.map(|v| v.0);
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
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

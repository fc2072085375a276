//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a
//! Struct (with a schema) or a Map (schemaless) of one field, `field`.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::{DataError, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::map;
use crate::util::schema_util::build_struct;

const FIELD: &str = "field";

/// Wraps the key or value in a one-field Struct or Map.
#[derive(Debug)]
pub struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache<SchemaRef>,
}

impl HoistField {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            field: String::new(),
            cache: SchemaCache::default(),
        }
    }

    /// `HoistField$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `HoistField$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

#[derive(Debug, Default)]
struct HoistFieldConfig {
    field: String,
}

impl ConnectorConfig for HoistFieldConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named(FIELD).importance(Importance::Medium).doc(
                "Field name for the single field that will be created in the resulting Struct \
                     or Map.",
            ),
            |c, v| c.field = v,
        )
    }
}

impl Transformation for HoistField {
    fn config_def(&self) -> ConfigDef {
        def_of::<HoistFieldConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        self.field = HoistFieldConfig::parse(config)?.field;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        let Some(schema) = schema_slot else {
            let value = std::mem::replace(value_slot, Value::Null);
            *value_slot = map::from_pairs([(self.field.clone(), value)]);
            return Ok(true);
        };
        if value_slot.is_null() && !schema.optional {
            return Err(DataError::new(format!(
                "Invalid value: null used for required field: \"{}\", schema type: {}",
                self.field, schema.schema_type
            )));
        }
        let field = &self.field;
        let hoisted = self
            .cache
            .get_or_try_insert(schema, |s| {
                build_struct(SchemaBuilder::struct_().field(field.clone(), s.clone()))
            })?
            .clone();
        let value = std::mem::replace(value_slot, Value::Null);
        *value_slot = Value::Struct(Struct::from_parts_unchecked(hoisted.clone(), vec![value]));
        *schema_slot = Some(hoisted);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a
//! Struct (with a schema) or Map (schemaless) of some value fields. The
//! value stays; a null value is an error, as in Kafka Connect.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::{DataError, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::cache::SchemaCache;
use crate::util::config::{non_empty_list, replace_null_with_default_key};
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, fill_default};
use crate::util::{map, requirements};

const FIELDS: &str = "fields";
const PURPOSE: &str = "copying fields from value to key";

#[derive(Debug)]
struct Plan {
    key_schema: SchemaRef,
    /// Index in the value struct of each key field.
    sources: Vec<usize>,
}

/// Builds the key from value fields.
#[derive(Debug)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
    cache: SchemaCache<Plan>,
}

impl Default for ValueToKey {
    fn default() -> Self {
        Self {
            fields: Vec::new(),
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }
}

#[derive(Debug, Default)]
struct ValueToKeyConfig {
    fields: Vec<String>,
    replace_null_with_default: bool,
}

impl ConnectorConfig for ValueToKeyConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new()
            .field(
                ConfigKey::named(FIELDS)
                    .validator(non_empty_list())
                    .importance(Importance::High)
                    .doc("Field names on the record value to extract as the record key."),
                |c, v| c.fields = v,
            )
            .field(replace_null_with_default_key(), |c, v| {
                c.replace_null_with_default = v;
            })
    }
}

impl Transformation for ValueToKey {
    fn config_def(&self) -> ConfigDef {
        def_of::<ValueToKeyConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = ValueToKeyConfig::parse(config)?;
        self.fields = c.fields;
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        if record.value_schema().is_none() {
            let entries = requirements::require_map(record.value(), PURPOSE)?;
            let key = map::from_pairs(self.fields.iter().map(|f| {
                (
                    f.clone(),
                    map::get(entries, f).cloned().unwrap_or(Value::Null),
                )
            }));
            *record.key_mut().0 = None;
            *record.key_mut().1 = key;
            return Ok(true);
        }
        let value = requirements::require_struct(record.value(), PURPOSE)?;
        let fields = &self.fields;
        let plan = self.cache.get_or_try_insert(value.schema(), |schema| {
            let mut builder = SchemaBuilder::struct_();
            let mut sources = Vec::with_capacity(fields.len());
            for name in fields {
                let f = schema
                    .field(name)
                    .ok_or_else(|| DataError::new(format!("Field does not exist: {name}")))?;
                builder = builder.field(name.clone(), f.schema.clone());
                sources.push(f.index);
            }
            Ok(Plan {
                key_schema: build_struct(builder)?,
                sources,
            })
        })?;
        let values: Vec<Value> = plan
            .sources
            .iter()
            .zip(&plan.key_schema.fields)
            .map(|(&i, f)| {
                let mut v = value.values().get(i).cloned().unwrap_or(Value::Null);
                fill_default(&mut v, &f.schema, self.replace_null_with_default);
                v
            })
            .collect();
        let key = Struct::from_parts_unchecked(plan.key_schema.clone(), values);
        let (key_schema, key_slot) = record.key_mut();
        *key_schema = Some(plan.key_schema.clone());
        *key_slot = Value::Struct(key);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

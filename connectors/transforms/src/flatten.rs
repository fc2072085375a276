//! `Flatten$Key` / `Flatten$Value`: nested Structs (with a schema) or Maps
//! (schemaless) become one level, field names joined by `delimiter`
//! (default `.`). Arrays are left as they are. A field under an optional
//! parent becomes optional; a parent's default supplies the defaults of its
//! fields. Null keys and values pass through.

use sluice_connect_api::config::{
    ConfigDef, ConfigErrors, ConfigKey, ConnectorConfig, Importance, TypedDef,
};
use sluice_connect_api::schema::{
    DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, copy_basics, copy_basics_of};
use crate::util::{java, map, requirements};

const DELIMITER: &str = "delimiter";
const PURPOSE: &str = "flattening";

/// Flattens nested structures.
#[derive(Debug)]
pub struct Flatten {
    side: Side,
    delimiter: String,
    cache: SchemaCache<SchemaRef>,
}

impl Flatten {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            delimiter: ".".to_string(),
            cache: SchemaCache::default(),
        }
    }

    /// `Flatten$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `Flatten$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

fn field_name(delimiter: &str, prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}{delimiter}{name}")
    }
}

fn unsupported_with_schema(t: SchemaType, name: &str) -> DataError {
    DataError::new(format!(
        "Flatten transformation does not support {t} for record with schemas (for field {name})."
    ))
}

/// Adds the flattened fields of `schema` to `builder`.
fn flatten_schema(
    delimiter: &str,
    schema: &Schema,
    prefix: &str,
    mut builder: SchemaBuilder,
    optional: bool,
    parent_default: Option<&Struct>,
) -> Result<SchemaBuilder, DataError> {
    for f in &schema.fields {
        let name = field_name(delimiter, prefix, &f.name);
        let optional = optional || f.schema.optional;
        let default = f.schema.default.as_ref().or_else(|| {
            parent_default
                .and_then(|p| p.values().get(f.index))
                .filter(|v| !v.is_null())
        });
        match f.schema.schema_type {
            SchemaType::Struct => {
                let nested_default = match default {
                    Some(Value::Struct(s)) => Some(s),
                    _ => None,
                };
                builder = flatten_schema(
                    delimiter,
                    &f.schema,
                    &name,
                    builder,
                    optional,
                    nested_default,
                )?;
            }
            SchemaType::Map => return Err(unsupported_with_schema(SchemaType::Map, &name)),
            _ => {
                let mut fb = copy_basics_of(&f.schema);
                if optional {
                    fb = fb.optional();
                }
                if let Some(d) = default {
                    fb = fb.default_value(d.clone());
                }
                builder = builder.field(name, fb.build());
            }
        }
    }
    Ok(builder)
}

/// Number of flattened fields a struct schema yields.
fn leaf_count(schema: &Schema) -> usize {
    schema
        .fields
        .iter()
        .map(|f| match f.schema.schema_type {
            SchemaType::Struct => leaf_count(&f.schema),
            _ => 1,
        })
        .sum()
}

/// Moves the leaf values of a struct into `out`, in flattened order. Null
/// fields take their schema's default (Kafka Connect's `Struct.get`).
fn flatten_values(
    schema: &Schema,
    values: Vec<Value>,
    out: &mut Vec<Value>,
) -> Result<(), DataError> {
    for (f, mut v) in schema.fields.iter().zip(values) {
        if v.is_null()
            && let Some(d) = &f.schema.default
        {
            v = d.clone();
        }
        match (f.schema.schema_type, v) {
            (SchemaType::Struct, Value::Struct(s)) => {
                let (nested_schema, nested) = s.into_parts();
                flatten_values(&nested_schema, nested, out)?;
            }
            (SchemaType::Struct, Value::Null) => {
                out.extend(std::iter::repeat_n(Value::Null, leaf_count(&f.schema)));
            }
            (SchemaType::Struct, other) => {
                return Err(requirements::struct_error(&other, PURPOSE));
            }
            (SchemaType::Map, _) => return Err(unsupported_with_schema(SchemaType::Map, &f.name)),
            (_, v) => out.push(v),
        }
    }
    Ok(())
}

/// Pushes the flattened entries of a map onto `out`, without merging equal
/// names; returns whether a nested map was flattened (the only way two
/// names can be equal: `a.b` next to `a` holding `b`).
fn flatten_map(
    delimiter: &str,
    entries: map::Entries,
    prefix: &str,
    out: &mut map::Entries,
) -> Result<bool, DataError> {
    let mut nested_any = false;
    for (k, v) in entries {
        let key = map::key_str(&k, PURPOSE)?;
        match v {
            Value::Map(nested) => {
                nested_any = true;
                let name = field_name(delimiter, prefix, key);
                flatten_map(delimiter, nested, &name, out)?;
            }
            Value::Struct(_) => {
                return Err(DataError::new(format!(
                    "Flatten transformation does not support class {} for record without schemas (for field {}).",
                    java::class_name(&v),
                    field_name(delimiter, prefix, key)
                )));
            }
            // At the top level the key is the name: reuse it.
            other if prefix.is_empty() => out.push((k, other)),
            other => out.push((Value::String(field_name(delimiter, prefix, key)), other)),
        }
    }
    Ok(nested_any)
}

#[derive(Debug, Default)]
struct FlattenConfig {
    delimiter: String,
}

impl ConnectorConfig for FlattenConfig {
    fn definition() -> TypedDef<Self> {
        TypedDef::<Self>::new().field(
            ConfigKey::named(DELIMITER)
                .default_value(".")
                .importance(Importance::Medium)
                .doc(
                    "Delimiter to insert between field names from the input record when \
                     generating field names for the output record",
                ),
            |c, v| c.delimiter = v,
        )
    }
}

impl Transformation for Flatten {
    fn config_def(&self) -> ConfigDef {
        def_of::<FlattenConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        self.delimiter = FlattenConfig::parse(config)?.delimiter;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        if value_slot.is_null() {
            return Ok(true);
        }
        let Some(schema) = schema_slot else {
            let entries = requirements::take_map(value_slot, PURPOSE)?;
            let mut out = Vec::with_capacity(entries.len());
            if flatten_map(&self.delimiter, entries, "", &mut out)? {
                // Kafka Connect `put`s each entry in turn: a later one
                // replaces the value of an earlier one with the same name,
                // in its place.
                map::dedup(&mut out);
            }
            *value_slot = Value::Map(out);
            return Ok(true);
        };
        if !matches!(value_slot, Value::Struct(_)) {
            return Err(requirements::struct_error(value_slot, PURPOSE));
        }
        let delimiter = &self.delimiter;
        let flat = self
            .cache
            .get_or_try_insert(schema, |s| {
                let top_default = match &s.default {
                    Some(Value::Struct(d)) => Some(d),
                    _ => None,
                };
                let builder = copy_basics(s, SchemaBuilder::struct_());
                build_struct(flatten_schema(
                    delimiter,
                    s,
                    "",
                    builder,
                    s.optional,
                    top_default,
                )?)
            })?
            .clone();
        let value = requirements::take_struct(value_slot, PURPOSE)?;
        let (input_schema, values) = value.into_parts();
        let mut out = Vec::with_capacity(flat.fields.len());
        flatten_values(&input_schema, values, &mut out)?;
        if out.len() != flat.fields.len() {
            return Err(DataError::new(
                "Flatten transformation found a struct whose schema differs from the record schema",
            ));
        }
        *value_slot = Value::Struct(Struct::from_parts_unchecked(flat.clone(), out));
        *schema_slot = Some(flat);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

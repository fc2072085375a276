//! `Cast$Key` / `Cast$Value`: casts fields (`spec=f1:int32,f2:string`) or
//! the whole key or value (`spec=int64`) to int8..int64, float32, float64,
//! boolean or string, as Java's number conversions do (narrowing wraps,
//! floats truncate and saturate). Bytes cast only to string (base64).
//! Date/Time/Timestamp cast to numbers as their days or milliseconds and
//! to strings in ISO 8601 (UTC); Decimals as numbers.
//!
//! Unlike Kafka Connect, a whole-value cast of a logical type does not keep
//! the logical name on the new schema (Kafka Connect's output there cannot
//! be serialized), and a struct schema's default value is cast field by
//! field (Kafka Connect fails on it).

mod config;
mod value;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::logical::LogicalType;
use sluice_connect_api::schema::{
    DataError, Schema, SchemaBuilder, SchemaRef, SchemaType, Struct, Value,
};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

use config::CastConfig;
use value::cast;

const PURPOSE: &str = "cast types";

/// What to cast.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Whole(SchemaType),
    Fields(Vec<(String, SchemaType)>),
}

impl Default for Spec {
    fn default() -> Self {
        Self::Fields(Vec::new())
    }
}

/// Java's `String.split(":")`: trailing empty parts are dropped.
fn java_split_colon(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(':').collect();
    while parts.last().is_some_and(|p| p.is_empty()) && parts.len() > 1 {
        parts.pop();
    }
    if parts == [""] && s.contains(':') {
        parts.clear();
    }
    parts
}

/// A type by Kafka Connect's enum name (`Schema.Type.valueOf`), in any
/// case, restricted to the types Cast produces.
fn output_type(name: &str) -> Result<SchemaType, String> {
    let t = match name.to_ascii_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => return Err(format!("Invalid type found in casting spec: {name}")),
    };
    if value::OUTPUT_TYPES.contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "Cast transformation does not support casting to {t}; supported types are {}",
            value::type_list(value::OUTPUT_TYPES)
        ))
    }
}

fn parse_spec(mappings: &[String]) -> Result<Spec, String> {
    if mappings.is_empty() {
        return Err("Must specify at least one field to cast.".to_string());
    }
    let mut fields: Vec<(String, SchemaType)> = Vec::new();
    let mut whole = None;
    for m in mappings {
        match java_split_colon(m)[..] {
            [t] => whole = Some(output_type(t.trim())?),
            [f, t] => {
                let t = output_type(t.trim())?;
                match fields.iter_mut().find(|(name, _)| name == f.trim()) {
                    Some(slot) => slot.1 = t,
                    None => fields.push((f.trim().to_string(), t)),
                }
            }
            _ => return Err(format!("Invalid cast mapping: {m}")),
        }
    }
    match whole {
        Some(_) if mappings.len() > 1 => Err(
            "Cast transformations that specify a type to cast the entire value to may only \
             specify a single cast in their spec"
                .to_string(),
        ),
        Some(t) => Ok(Spec::Whole(t)),
        None => Ok(Spec::Fields(fields)),
    }
}

#[derive(Debug)]
struct Plan {
    schema: SchemaRef,
    /// Per input field: the type to cast it to.
    casts: Vec<Option<SchemaType>>,
    /// Whether any input field has a default (else no null needs one).
    has_defaults: bool,
}

fn build_plan(spec: &Spec, schema: &Schema) -> Result<Plan, DataError> {
    let (builder, casts) = match spec {
        Spec::Whole(t) => {
            let builder = SchemaBuilder::new(*t);
            // A logical name would make the cast value unreadable.
            let builder = if LogicalType::of(schema).is_some() {
                match &schema.doc {
                    Some(doc) => builder.doc(doc.clone()),
                    None => builder,
                }
            } else {
                copy_basics(schema, builder)
            };
            (builder, Vec::new())
        }
        Spec::Fields(fields) => {
            if schema.schema_type != SchemaType::Struct {
                return Err(DataError::new("Cannot list fields on non-struct type"));
            }
            let mut builder = copy_basics(schema, SchemaBuilder::struct_());
            let mut casts = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let target = fields.iter().find(|(n, _)| *n == f.name).map(|(_, t)| *t);
                let field_schema = match target {
                    Some(t) => {
                        let mut fb = SchemaBuilder::new(t);
                        if f.schema.optional {
                            fb = fb.optional();
                        }
                        if let Some(d) = &f.schema.default {
                            fb = fb.default_value(cast(Some(&f.schema), d, t)?);
                        }
                        fb.build()
                    }
                    None => f.schema.clone(),
                };
                builder = builder.field(f.name.clone(), field_schema);
                casts.push(target);
            }
            (builder, casts)
        }
    };
    let mut builder = builder;
    if schema.optional {
        builder = builder.optional();
    }
    let has_defaults = schema.fields.iter().any(|f| f.schema.default.is_some());
    let without_default = build_struct(builder.clone())?;
    if let Some(d) = &schema.default {
        let default = match spec {
            Spec::Whole(t) => cast(Some(schema), d, *t)?,
            Spec::Fields(_) => {
                let s = requirements::require_struct(d, PURPOSE)?;
                let mut values = s.values().to_vec();
                cast_fields(&casts, &schema.fields, &mut values, false)?;
                Value::Struct(Struct::from_parts_unchecked(without_default, values))
            }
        };
        builder = builder.default_value(default);
        return Ok(Plan {
            schema: build_struct(builder)?,
            casts,
            has_defaults,
        });
    }
    Ok(Plan {
        schema: without_default,
        casts,
        has_defaults,
    })
}

/// Casts the values of a struct's fields in place.
fn cast_fields(
    casts: &[Option<SchemaType>],
    fields: &[sluice_connect_api::schema::Field],
    values: &mut [Value],
    replace_null_with_default: bool,
) -> Result<(), DataError> {
    for ((v, f), target) in values.iter_mut().zip(fields).zip(casts) {
        fill_default(v, &f.schema, replace_null_with_default);
        if let Some(t) = target {
            *v = cast(Some(&f.schema), v, *t)?;
        }
    }
    Ok(())
}

/// Casts fields or the whole key or value.
#[derive(Debug)]
pub struct Cast {
    side: Side,
    spec: Spec,
    replace_null_with_default: bool,
    cache: SchemaCache<Plan>,
}

impl Cast {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            spec: Spec::default(),
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `Cast$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `Cast$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }
}

impl Transformation for Cast {
    fn config_def(&self) -> ConfigDef {
        def_of::<CastConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        let c = CastConfig::parse(config)?;
        self.spec = c.spec;
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        if value_slot.is_null() {
            return Ok(true);
        }
        let Some(schema) = schema_slot else {
            match &self.spec {
                Spec::Whole(t) => *value_slot = cast(None, value_slot, *t)?,
                Spec::Fields(fields) => {
                    let Value::Map(entries) = value_slot else {
                        return Err(requirements::map_error(value_slot, PURPOSE));
                    };
                    let cast_values = fields
                        .iter()
                        .map(|(f, t)| cast(None, map::get(entries, f).unwrap_or(&Value::Null), *t))
                        .collect::<Result<Vec<_>, _>>()?;
                    for ((f, _), v) in fields.iter().zip(cast_values) {
                        map::put(entries, f, v);
                    }
                }
            }
            return Ok(true);
        };
        let spec = &self.spec;
        let plan = self
            .cache
            .get_or_try_insert(schema, |s| build_plan(spec, s))?;
        if let Spec::Whole(t) = spec {
            *value_slot = cast(Some(schema), value_slot, *t)?;
            *schema_slot = Some(plan.schema.clone());
            return Ok(true);
        }
        let value = requirements::take_struct(value_slot, PURPOSE)?;
        let (struct_schema, mut values) = value.into_parts();
        if values.len() != plan.casts.len() || struct_schema.fields.len() != plan.casts.len() {
            *value_slot = Value::Struct(Struct::from_parts_unchecked(struct_schema, values));
            return Err(DataError::new(
                "Cast transformation found a struct whose schema differs from the record schema",
            ));
        }
        let rnwd = self.replace_null_with_default && plan.has_defaults;
        let result = cast_fields(&plan.casts, &struct_schema.fields, &mut values, rnwd);
        if let Err(e) = result {
            *value_slot = Value::Struct(Struct::from_parts_unchecked(struct_schema, values));
            return Err(e);
        }
        *value_slot = Value::Struct(Struct::from_parts_unchecked(plan.schema.clone(), values));
        *schema_slot = Some(plan.schema.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

//! `ReplaceField$Key` / `ReplaceField$Value`: keeps, drops and renames
//! fields of a Struct or Map (`exclude` wins over `include`; `renames` is
//! `old:new,..`). Kafka Connect 3.x's deprecated `blacklist`/`whitelist`
//! are still read as `exclude`/`include` when those are absent.

mod config;

use std::collections::HashMap;

use sluice_connect_api::config::{ConfigDef, ConfigErrors, ConnectorConfig};
use sluice_connect_api::schema::{DataError, SchemaBuilder, SchemaRef, Struct, Value};
use sluice_connect_api::{Config, ConnectRecord, Transformation};

use crate::util::Side;
use crate::util::cache::SchemaCache;
use crate::util::fields::def_of;
use crate::util::schema_util::{build_struct, copy_basics, fill_default};
use crate::util::{map, requirements};

use config::{DEPRECATED, ReplaceFieldConfig};

const PURPOSE: &str = "field replacement";

/// Java's `String.split(":")`: trailing empty parts are dropped.
fn java_split_colon(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(':').collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts == [""] && s.contains(':') {
        parts.clear();
    }
    parts
}

fn parse_renames(mappings: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(mappings.len());
    for m in mappings {
        match java_split_colon(m)[..] {
            [from, to] => match out.iter_mut().find(|(f, _)| f == from) {
                Some(slot) => slot.1 = to.to_string(),
                None => out.push((from.to_string(), to.to_string())),
            },
            _ => return Err(format!("Invalid rename mapping: {m}")),
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct Plan {
    schema: SchemaRef,
    /// Input index of each output field, increasing.
    sources: Vec<usize>,
}

/// Which fields stay, under which names.
#[derive(Debug, Default)]
struct Selection {
    exclude: Vec<String>,
    include: Vec<String>,
    renames: HashMap<String, String>,
}

impl Selection {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }
}

/// Filters and renames fields.
#[derive(Debug)]
pub struct ReplaceField {
    side: Side,
    selection: Selection,
    replace_null_with_default: bool,
    cache: SchemaCache<Plan>,
}

impl ReplaceField {
    pub fn new(side: Side) -> Self {
        Self {
            side,
            selection: Selection::default(),
            replace_null_with_default: true,
            cache: SchemaCache::default(),
        }
    }

    /// `ReplaceField$Key`.
    pub fn key() -> Self {
        Self::new(Side::Key)
    }

    /// `ReplaceField$Value`.
    pub fn value() -> Self {
        Self::new(Side::Value)
    }

    fn apply_schemaless(&self, value: &mut Value) -> Result<(), DataError> {
        let entries = requirements::take_map(value, PURPOSE)?;
        let mut out: map::Entries = Vec::with_capacity(entries.len());
        let mut failure = None;
        // Only a rename can give two kept entries the same name (the input's
        // keys are distinct, as in a Java `Map`).
        let mut renamed_any = false;
        for (k, v) in entries {
            let name = match map::key_str(&k, PURPOSE) {
                Ok(name) => name,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            if self.selection.keep(name) {
                match self.selection.renames.get(name) {
                    Some(renamed) => {
                        renamed_any = true;
                        out.push((Value::String(renamed.clone()), v));
                    }
                    None => out.push((k, v)),
                }
            }
        }
        if renamed_any {
            // Kafka Connect `put`s each entry in turn: a later one replaces
            // the value of an earlier one with the same name, in its place.
            map::dedup(&mut out);
        }
        *value = Value::Map(out);
        failure.map_or(Ok(()), Err)
    }
}

impl Transformation for ReplaceField {
    fn config_def(&self) -> ConfigDef {
        def_of::<ReplaceFieldConfig>()
    }

    fn configure(&mut self, config: &Config) -> Result<(), ConfigErrors> {
        // The deprecated names count where the new ones are absent: keys
        // outside the definition, so mapped before parsing.
        let mut config = config.clone();
        for (old, new) in DEPRECATED {
            if let Some(v) = config.get(old).cloned() {
                config.entry(new.to_string()).or_insert(v);
            }
        }
        let c = ReplaceFieldConfig::parse(&config)?;
        self.selection = Selection {
            exclude: c.exclude,
            include: c.include,
            renames: c.renames.0,
        };
        self.replace_null_with_default = c.replace_null_with_default;
        self.cache.clear();
        Ok(())
    }

    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<bool, DataError> {
        let (schema_slot, value_slot) = self.side.parts(record);
        if value_slot.is_null() {
            return Ok(true);
        }
        if schema_slot.is_none() {
            self.apply_schemaless(value_slot)?;
            return Ok(true);
        }
        let value = requirements::take_struct(value_slot, PURPOSE)?;
        let (input_schema, mut values) = value.into_parts();
        let selection = &self.selection;
        let plan = self.cache.get_or_try_insert(&input_schema, |schema| {
            let mut builder = copy_basics(schema, SchemaBuilder::struct_());
            let mut sources = Vec::with_capacity(schema.fields.len());
            for (i, f) in schema.fields.iter().enumerate() {
                if selection.keep(&f.name) {
                    builder =
                        builder.field(selection.renamed(&f.name).to_string(), f.schema.clone());
                    sources.push(i);
                }
            }
            Ok(Plan {
                schema: build_struct(builder)?,
                sources,
            })
        });
        let plan = match plan {
            Ok(p) => p,
            Err(e) => {
                *value_slot = Value::Struct(Struct::from_parts_unchecked(input_schema, values));
                return Err(e);
            }
        };
        // Kept fields keep their order, so they move down in place.
        for (dst, (&src, field)) in plan.sources.iter().zip(&plan.schema.fields).enumerate() {
            if src != dst && src < values.len() {
                values.swap(dst, src);
            }
            if let Some(v) = values.get_mut(dst) {
                fill_default(v, &field.schema, self.replace_null_with_default);
            }
        }
        values.truncate(plan.sources.len());
        *value_slot = Value::Struct(Struct::from_parts_unchecked(plan.schema.clone(), values));
        *schema_slot = Some(plan.schema.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests;

//! Avro schema (JSON) → Connect schema (Confluent's
//! `AvroData.toConnectSchema`).
//!
//! The JSON is read rather than `apache_avro`'s parsed schema because the
//! parsed form drops the properties of primitive types (`connect.type`,
//! `connect.name`, ...), which carry the Connect details.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::AvroDataConfig;
use super::error::{AvroError, Path};
use super::names::*;
use crate::schema::{Field, Schema, SchemaRef, SchemaType};

/// Parses a schema text from a registry and derives its Connect schema.
///
/// `references` are the texts of the schemas it references (named types
/// defined elsewhere), already resolved, dependencies first. The Avro
/// schema returned has those definitions inlined, so it is complete for
/// [`decode_value`](super::decode_value) and
/// [`encode_value`](super::encode_value). Uses the default
/// [`AvroDataConfig`]; see [`parse_avro_schema_with`] for another.
pub fn parse_avro_schema(
    text: &str,
    references: &[String],
) -> Result<(apache_avro::Schema, SchemaRef), AvroError> {
    parse_avro_schema_with(text, references, &AvroDataConfig::default(), None)
}

/// [`parse_avro_schema`] with the given settings (e.g. `connect.meta.data`)
/// and the schema's registry version. As Confluent's AvroConverter does, the
/// version becomes the Connect schema's version unless the schema has a
/// `connect.version` property (or is a union).
pub fn parse_avro_schema_with(
    text: &str,
    references: &[String],
    cfg: &AvroDataConfig,
    version: Option<i32>,
) -> Result<(apache_avro::Schema, SchemaRef), AvroError> {
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        AvroError::schema(&Path::Root, format!("invalid Avro schema{what}: {e}"))
    };
    let json: Json = serde_json::from_str(text).map_err(|e| invalid("", &e))?;
    let ref_jsons = references
        .iter()
        .map(|r| serde_json::from_str::<Json>(r).map_err(|e| invalid(" reference", &e)))
        .collect::<Result<Vec<_>, _>>()?;
    let parsed = if references.is_empty() {
        apache_avro::Schema::parse(&json).map_err(|e| invalid("", &e))?
    } else {
        let (mut schema, named) = apache_avro::Schema::parse_str_with_list(text, references)
            .map_err(|e| invalid("", &e))?;
        schema.denormalize(&named).map_err(|e| invalid("", &e))?;
        schema
    };
    let mut conv = FromAvro::new(cfg);
    for r in &ref_jsons {
        conv.register(r, None);
    }
    conv.register(&json, None);
    let opts = Opts {
        version,
        ..Opts::default()
    };
    let connect = conv.convert(&json, None, opts, &Path::Root)?;
    Ok((parsed, connect))
}

/// Derives the Connect schema of an Avro schema given as JSON: every Avro
/// type has a Connect form, and the `connect.*` properties that
/// [`to_avro_schema`](super::to_avro_schema) writes restore the original
/// Connect schema exactly.
pub fn to_connect_schema(avro_json: &Json, cfg: &AvroDataConfig) -> Result<SchemaRef, AvroError> {
    let mut conv = FromAvro::new(cfg);
    conv.register(avro_json, None);
    conv.convert(avro_json, None, Opts::default(), &Path::Root)
}

/// How one schema is being converted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Opts<'j> {
    /// Make the result optional (a branch of a union with `null`).
    pub(crate) force_optional: bool,
    /// The enclosing field's `default`, if it has one.
    pub(crate) field_default: Option<&'j Json>,
    /// The registry version, for the top-level schema.
    pub(crate) version: Option<i32>,
}

/// A named type's definition and the namespace it was defined in.
#[derive(Debug, Clone, Copy)]
struct Def<'j> {
    object: &'j Map<String, Json>,
    space: Option<&'j str>,
}

pub(crate) struct FromAvro<'j, 'c> {
    pub(crate) cfg: &'c AvroDataConfig,
    defs: HashMap<String, Def<'j>>,
    /// Records being converted, to report recursive types.
    pub(super) in_progress: Vec<String>,
}

pub(super) fn type_field(object: &Map<String, Json>) -> Option<&Json> {
    object.get("type")
}

impl<'j, 'c> FromAvro<'j, 'c> {
    fn new(cfg: &'c AvroDataConfig) -> Self {
        Self {
            cfg,
            defs: HashMap::new(),
            in_progress: Vec::new(),
        }
    }

    /// Records every named type defined in `json` (first definition wins).
    fn register(&mut self, json: &'j Json, space: Option<&'j str>) {
        match json {
            Json::Array(branches) => branches.iter().for_each(|b| self.register(b, space)),
            Json::Object(object) => match type_field(object) {
                Some(Json::String(t)) => match t.as_str() {
                    "record" | "error" | "enum" | "fixed" => {
                        let Some(name) = object.get("name").and_then(Json::as_str) else {
                            return;
                        };
                        let own = namespace_of(object, space);
                        let full = FullName::new(name, own).full();
                        self.defs.entry(full).or_insert(Def { object, space });
                        let inner = defined_namespace(name, own);
                        if let Some(Json::Array(fields)) = object.get("fields") {
                            for f in fields {
                                if let Some(t) = f.get("type") {
                                    self.register(t, inner);
                                }
                            }
                        }
                    }
                    "array" => {
                        if let Some(items) = object.get("items") {
                            self.register(items, space);
                        }
                    }
                    "map" => {
                        if let Some(values) = object.get("values") {
                            self.register(values, space);
                        }
                    }
                    _ => {}
                },
                Some(nested) => self.register(nested, space),
                None => {}
            },
            _ => {}
        }
    }

    /// The definition a type name refers to from namespace `space`.
    fn lookup(&self, name: &str, space: Option<&str>) -> Option<Def<'j>> {
        if !name.contains('.')
            && let Some(space) = space.filter(|s| !s.is_empty())
            && let Some(def) = self.defs.get(&format!("{space}.{name}"))
        {
            return Some(*def);
        }
        self.defs.get(name).copied()
    }

    /// The object describing `json` (following name references), with the
    /// namespace it is read in: `None` for a primitive type name or a union.
    pub(super) fn resolve(
        &self,
        json: &'j Json,
        space: Option<&'j str>,
    ) -> Option<(&'j Map<String, Json>, Option<&'j str>)> {
        match json {
            Json::String(name) if PRIMITIVES.contains(&name.as_str()) => None,
            Json::String(name) => self.lookup(name, space).map(|d| (d.object, d.space)),
            Json::Object(object) => match type_field(object) {
                Some(Json::String(t)) if is_known_type(t) => Some((object, space)),
                Some(Json::String(name)) => self.lookup(name, space).map(|d| (d.object, d.space)),
                Some(nested) => self.resolve(nested, space),
                None => None,
            },
            _ => None,
        }
    }

    pub(crate) fn convert(
        &mut self,
        json: &'j Json,
        space: Option<&'j str>,
        opts: Opts<'j>,
        path: &Path<'_>,
    ) -> Result<SchemaRef, AvroError> {
        match json {
            Json::String(t) if PRIMITIVES.contains(&t.as_str()) => {
                self.convert_type(t, None, space, opts, path)
            }
            Json::String(name) => self.convert_reference(name, space, opts, path),
            Json::Array(branches) => self.convert_union(branches, space, opts, path),
            Json::Object(object) => match type_field(object) {
                Some(Json::String(t)) if is_known_type(t) => {
                    self.convert_type(t, Some(object), space, opts, path)
                }
                Some(Json::String(name)) => self.convert_reference(name, space, opts, path),
                Some(nested) => self.convert(nested, space, opts, path),
                None => Err(AvroError::schema(
                    path,
                    "Avro schema object has no \"type\"",
                )),
            },
            other => Err(AvroError::schema(
                path,
                format!("not an Avro schema: {other}"),
            )),
        }
    }

    fn convert_reference(
        &mut self,
        name: &str,
        space: Option<&'j str>,
        opts: Opts<'j>,
        path: &Path<'_>,
    ) -> Result<SchemaRef, AvroError> {
        let def = self
            .lookup(name, space)
            .ok_or_else(|| AvroError::schema(path, format!("unknown Avro type \"{name}\"")))?;
        let t = type_field(def.object)
            .and_then(Json::as_str)
            .unwrap_or("record");
        self.convert_type(t, Some(def.object), def.space, opts, path)
    }

    fn convert_union(
        &mut self,
        branches: &'j [Json],
        space: Option<&'j str>,
        opts: Opts<'j>,
        path: &Path<'_>,
    ) -> Result<SchemaRef, AvroError> {
        let is_null = |b: &Json| match b {
            Json::String(s) => s == "null",
            Json::Object(o) => type_field(o).and_then(Json::as_str) == Some("null"),
            _ => false,
        };
        // A singleton union is its branch; `[null, T]` is an optional T. The
        // field default is dropped, as Confluent does (a null stays null).
        if let [only] = branches {
            return self.convert(only, space, Opts::default(), path);
        }
        if let [a, b] = branches
            && (is_null(a) || is_null(b))
            && !(is_null(a) && is_null(b))
        {
            let other = if is_null(a) { b } else { a };
            let opts = Opts {
                force_optional: true,
                ..Opts::default()
            };
            return self.convert(other, space, opts, path);
        }
        let mut optional = false;
        let mut fields: Vec<Field> = Vec::with_capacity(branches.len());
        for branch in branches {
            if is_null(branch) {
                optional = true;
                continue;
            }
            let name = self.union_member_name(branch, space, path)?;
            if fields.iter().any(|f| f.name == name) {
                return Err(AvroError::schema(
                    path,
                    format!(
                        "Multiple union schemas map to the Connect union field name \"{name}\""
                    ),
                ));
            }
            let opts = Opts {
                force_optional: true,
                ..Opts::default()
            };
            let schema = self.convert(branch, space, opts, &path.field(&name))?;
            let index = fields.len();
            fields.push(Field {
                name,
                index,
                schema,
            });
        }
        let mut schema = Schema::primitive(SchemaType::Struct, optional || opts.force_optional);
        schema.name = Some(AVRO_TYPE_UNION.to_string());
        schema.fields = fields;
        // Confluent flags any field default here; a null one only marks the
        // field optional, so it is not flagged (a union carries no
        // connect.default the flag could stand for), which keeps optional
        // unions the same through Avro and back.
        if opts.field_default.is_some_and(|d| !d.is_null()) && self.cfg.connect_meta_data {
            schema
                .parameters
                .push((AVRO_FIELD_DEFAULT_FLAG_PROP.to_string(), "true".to_string()));
        }
        Ok(Arc::new(schema))
    }

    /// Confluent's `unionMemberFieldName`: a named type's (simple, or with
    /// enhanced support full) name, else the Avro type name.
    fn union_member_name(
        &self,
        branch: &'j Json,
        space: Option<&'j str>,
        path: &Path<'_>,
    ) -> Result<String, AvroError> {
        if let Json::String(t) = branch
            && PRIMITIVES.contains(&t.as_str())
        {
            return Ok(t.clone());
        }
        let (object, def_space) = self
            .resolve(branch, space)
            .ok_or_else(|| AvroError::schema(path, format!("invalid union branch: {branch}")))?;
        let t = type_field(object)
            .and_then(Json::as_str)
            .unwrap_or_default();
        if matches!(t, "record" | "error" | "enum" | "fixed") {
            let name = object
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let full = FullName::new(name, namespace_of(object, def_space));
            return Ok(if self.cfg.enhanced_avro_schema_support {
                full.full()
            } else {
                full.name
            });
        }
        Ok(t.to_string())
    }
}

pub(super) fn is_known_type(t: &str) -> bool {
    PRIMITIVES.contains(&t) || matches!(t, "record" | "error" | "enum" | "fixed" | "array" | "map")
}

/// The namespace a named type's own name is read in: its `namespace`
/// attribute, else the enclosing one.
pub(super) fn namespace_of<'j>(
    object: &'j Map<String, Json>,
    space: Option<&'j str>,
) -> Option<&'j str> {
    match object.get("namespace") {
        Some(Json::String(ns)) => Some(ns.as_str()),
        _ => space,
    }
}

/// The namespace of a type named `name` read in `space` (what its fields'
/// names are read in).
pub(super) fn defined_namespace<'j>(name: &'j str, space: Option<&'j str>) -> Option<&'j str> {
    match name.rsplit_once('.') {
        Some((ns, _)) => Some(ns),
        None => space,
    }
    .filter(|s| !s.is_empty())
}

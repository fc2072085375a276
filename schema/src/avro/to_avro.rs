//! Connect schema → Avro schema (Confluent's `AvroData.fromConnectSchema`).

use std::collections::HashSet;
use std::rc::Rc;

use super::error::{AvroError, Path};
use super::json::Jv;
use super::names::*;
use super::node::{Named, NamedKind, Node, Props, add_prop};
use super::to_avro_default::default_to_json;
use super::to_avro_logical::add_logical_type;
use super::{AvroDataConfig, AvroSchema};
use crate::schema::{Schema, SchemaType};

/// Translates a Connect schema to Avro: the compact JSON text Confluent's
/// AvroData would register for it, and that text parsed by `apache_avro`.
///
/// Fails for schemas Avro cannot express (e.g. names with characters Avro
/// rejects, unless `scrub_invalid_names` is set) with a message naming the
/// field.
pub fn to_avro_schema(schema: &Schema, cfg: &AvroDataConfig) -> Result<AvroSchema, AvroError> {
    let node = ToAvro::new(cfg).convert(schema, false, &Path::Root)?;
    let json = node.to_json()?;
    let parsed = apache_avro::Schema::parse_str(&json).map_err(|e| {
        AvroError::schema(
            &Path::Root,
            format!("the Avro schema for this Connect schema is not valid: {e}"),
        )
    })?;
    Ok(AvroSchema { json, parsed })
}

pub(crate) fn is_union_schema(s: &Schema) -> bool {
    s.schema_type == SchemaType::Struct && s.name.as_deref() == Some(AVRO_TYPE_UNION)
}

pub(super) fn is_fixed_schema(s: &Schema) -> bool {
    s.schema_type == SchemaType::Bytes
        && s.name.is_some()
        && s.parameter(CONNECT_AVRO_FIXED_SIZE_PROP).is_some()
}

fn non_optional(s: &Schema) -> Schema {
    Schema {
        optional: false,
        ..s.clone()
    }
}

/// Whether two non-optional schemas are the same but for their parameters.
fn same_but_parameters(a: &Schema, b: &Schema) -> bool {
    a.schema_type == b.schema_type
        && a.name == b.name
        && a.version == b.version
        && a.doc == b.doc
        && a.default == b.default
        && a.fields == b.fields
        && a.key_schema == b.key_schema
        && a.value_schema == b.value_schema
}

/// What a schema translates to before its properties are attached.
pub(super) enum Base {
    Plain(Node),
    Named(FullName, Option<String>, NamedKind),
}

/// State of one translation (Confluent's `FromConnectContext`).
pub(super) struct ToAvro<'c> {
    pub(super) cfg: &'c AvroDataConfig,
    /// Unnamed records translated so far (`ConnectDefault`, `ConnectDefault2`, ...).
    pub(super) name_index: u32,
    /// Non-optional struct, map, enum and fixed schemas already translated:
    /// the same schema again gives the same (shared) Avro type.
    pub(super) memo: Vec<(Schema, Node)>,
    /// Names of the named schemas of record fields seen so far.
    pub(super) seen_named: HashSet<String>,
    /// Entry records of unnamed maps with non-string keys.
    pub(super) map_entries: Vec<Rc<Named>>,
}

impl<'c> ToAvro<'c> {
    fn new(cfg: &'c AvroDataConfig) -> Self {
        Self {
            cfg,
            name_index: 0,
            memo: Vec::new(),
            seen_named: HashSet::new(),
            map_entries: Vec::new(),
        }
    }

    pub(super) fn name_or_default(&mut self, name: Option<&str>) -> FullName {
        match name {
            Some(name) => split_name(name, self.cfg.scrub_invalid_names),
            None => {
                self.name_index += 1;
                let name = if self.name_index > 1 {
                    format!("{DEFAULT_SCHEMA_NAME}{}", self.name_index)
                } else {
                    DEFAULT_SCHEMA_NAME.to_string()
                };
                FullName {
                    space: Some(NAMESPACE.to_string()),
                    name,
                }
            }
        }
    }

    fn memoizable(&self, s: &Schema) -> bool {
        match s.schema_type {
            SchemaType::Struct => !is_union_schema(s),
            SchemaType::Map => true,
            SchemaType::Bytes => is_fixed_schema(s),
            SchemaType::String => {
                self.cfg.enhanced_avro_schema_support && s.parameter(AVRO_TYPE_ENUM).is_some()
            }
            _ => false,
        }
    }

    fn memo_get(&self, s: &Schema) -> Option<Node> {
        if let Some((_, node)) = self.memo.iter().find(|(m, _)| m == s) {
            return Some(node.clone());
        }
        // The same named struct with other parameters (e.g. per-field tags):
        // refer to the first definition; the field carries the parameters.
        if s.schema_type == SchemaType::Struct && s.name.is_some() {
            return self
                .memo
                .iter()
                .find(|(m, _)| same_but_parameters(m, s))
                .map(|(_, node)| node.clone());
        }
        None
    }

    pub(super) fn convert(
        &mut self,
        s: &Schema,
        ignore_optional: bool,
        path: &Path<'_>,
    ) -> Result<Node, AvroError> {
        let memoizable = self.memoizable(s);
        if memoizable
            && !s.optional
            && let Some(node) = self.memo_get(s)
        {
            return Ok(node);
        }
        let mut props = Props::new();
        let mut connect_type = None;
        let base = match s.schema_type {
            SchemaType::Int8 => {
                connect_type = Some(CONNECT_TYPE_INT8);
                Base::Plain(Node::primitive("int"))
            }
            SchemaType::Int16 => {
                connect_type = Some(CONNECT_TYPE_INT16);
                Base::Plain(Node::primitive("int"))
            }
            SchemaType::Int32 => Base::Plain(Node::primitive("int")),
            SchemaType::Int64 => Base::Plain(Node::primitive("long")),
            SchemaType::Float32 => Base::Plain(Node::primitive("float")),
            SchemaType::Float64 => Base::Plain(Node::primitive("double")),
            SchemaType::Boolean => Base::Plain(Node::primitive("boolean")),
            SchemaType::String => {
                if self.cfg.enhanced_avro_schema_support && s.parameter(AVRO_TYPE_ENUM).is_some() {
                    self.enum_base(s, path)?
                } else {
                    Base::Plain(Node::primitive("string"))
                }
            }
            SchemaType::Bytes => self.bytes_base(s, &mut props, path)?,
            SchemaType::Array => {
                let items = child(s.value_schema.as_deref(), path, "array element")?;
                let items = self.convert(items, false, path)?;
                Base::Plain(Node::Array {
                    items: Box::new(items),
                    props: Props::new(),
                })
            }
            SchemaType::Map => self.map_base(s, path)?,
            SchemaType::Struct => {
                if is_union_schema(s) {
                    let mut branches = Vec::with_capacity(s.fields.len() + 1);
                    if s.optional {
                        branches.push(Node::primitive("null"));
                    }
                    for f in &s.fields {
                        let member = non_optional(&f.schema);
                        branches.push(self.convert(&member, true, &path.field(&f.name))?);
                    }
                    return Ok(Node::Union(branches));
                }
                if s.optional {
                    let inner = self.convert(&non_optional(s), false, path)?;
                    return Ok(Node::Union(vec![Node::primitive("null"), inner]));
                }
                self.record_base(s, path)?
            }
        };

        if self.cfg.connect_meta_data {
            if let Some(doc) = &s.doc {
                add_prop(&mut props, CONNECT_DOC_PROP, Jv::Str(doc.clone()));
            }
            if let Some(version) = s.version {
                add_prop(
                    &mut props,
                    CONNECT_VERSION_PROP,
                    Jv::Int(i64::from(version)),
                );
            }
            if let Some(params) = parameters_json(s) {
                add_prop(&mut props, CONNECT_PARAMETERS_PROP, params);
            }
            if let Some(default) = s.default.as_ref().filter(|d| !d.is_null())
                && s.parameter(AVRO_FIELD_DEFAULT_FLAG_PROP).is_none()
            {
                let json = default_to_json(s, default, self.cfg.scrub_invalid_names, path)?;
                add_prop(&mut props, CONNECT_DEFAULT_VALUE_PROP, json);
            }
            if let Some(name) = &s.name {
                add_prop(&mut props, CONNECT_NAME_PROP, Jv::Str(name.clone()));
            }
            if let Some(t) = connect_type {
                add_prop(&mut props, CONNECT_TYPE_PROP, Jv::Str(t.to_string()));
            }
        }
        add_logical_type(s, &base, &mut props, path)?;
        for (k, v) in &s.parameters {
            if k.starts_with(AVRO_PROP_PREFIX) {
                add_prop(&mut props, k, Jv::Str(v.clone()));
            }
        }

        let mut node = match base {
            Base::Plain(mut node) => {
                if let Some(own) = node.props_mut() {
                    own.extend(props);
                }
                node
            }
            Base::Named(name, doc, kind) => Node::Named(Rc::new(Named {
                name,
                doc,
                kind,
                props,
            })),
        };
        if !ignore_optional && s.optional {
            node = if s.default.as_ref().is_some_and(|d| !d.is_null()) {
                Node::Union(vec![node, Node::primitive("null")])
            } else {
                Node::Union(vec![Node::primitive("null"), node])
            };
        }
        if memoizable && !s.optional {
            self.memo.push((s.clone(), node.clone()));
        }
        Ok(node)
    }
}

pub(super) fn child<'s>(
    schema: Option<&'s Schema>,
    path: &Path<'_>,
    what: &str,
) -> Result<&'s Schema, AvroError> {
    schema.ok_or_else(|| AvroError::schema(path, format!("schema has no {what} schema")))
}

/// The schema's parameters as a JSON object, without the internal
/// field-default flag; `None` when that leaves none.
pub(super) fn parameters_json(s: &Schema) -> Option<Jv> {
    let members: Vec<(String, Jv)> = s
        .parameters
        .iter()
        .filter(|(k, _)| k != AVRO_FIELD_DEFAULT_FLAG_PROP)
        .map(|(k, v)| (k.clone(), Jv::Str(v.clone())))
        .collect();
    (!members.is_empty()).then_some(Jv::Obj(members))
}

//! Connect → Avro for the types that need more than a type name: enums,
//! bytes (fixed, Decimal), maps, structs and their fields.

use std::rc::Rc;

use super::error::{AvroError, Path};
use super::json::Jv;
use super::names::*;
use super::node::{FieldNode, Named, NamedKind, Node, Props, add_prop, is_valid_default};
use super::to_avro::{Base, ToAvro, child, is_fixed_schema, parameters_json};
use super::to_avro_default::default_to_json;
use super::to_avro_logical::{decimal_precision, is_decimal};
use crate::logical::decimal_scale;
use crate::schema::{Schema, SchemaType};

impl ToAvro<'_> {
    pub(super) fn enum_base(&mut self, s: &Schema, path: &Path<'_>) -> Result<Base, AvroError> {
        let prefix = format!("{AVRO_TYPE_ENUM}.");
        let symbols: Vec<String> = s
            .parameters
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
            .collect();
        let short = self.name_or_default(s.name.as_deref()).name;
        let enum_name = s.parameter(AVRO_TYPE_ENUM).unwrap_or_default();
        let doc = s
            .parameter(&format!("{AVRO_ENUM_DOC_PREFIX_PROP}{short}"))
            .map(str::to_string);
        let default = s
            .parameter(&format!("{AVRO_ENUM_DEFAULT_PREFIX_PROP}{short}"))
            .map(str::to_string);
        if let Some(d) = &default
            && !symbols.contains(d)
        {
            return Err(AvroError::schema(
                path,
                format!("the enum default {d} is not one of the enum symbols {symbols:?}"),
            ));
        }
        Ok(Base::Named(
            FullName::new(enum_name, None),
            doc,
            NamedKind::Enum { symbols, default },
        ))
    }

    pub(super) fn bytes_base(
        &mut self,
        s: &Schema,
        props: &mut Props,
        path: &Path<'_>,
    ) -> Result<Base, AvroError> {
        let base = if is_fixed_schema(s) {
            let raw = s
                .parameter(CONNECT_AVRO_FIXED_SIZE_PROP)
                .unwrap_or_default();
            let size = raw.parse::<usize>().map_err(|_| {
                AvroError::schema(
                    path,
                    format!("invalid {CONNECT_AVRO_FIXED_SIZE_PROP} parameter: \"{raw}\""),
                )
            })?;
            let name = self.name_or_default(s.name.as_deref());
            Base::Named(name, None, NamedKind::Fixed { size })
        } else {
            Base::Plain(Node::primitive("bytes"))
        };
        if is_decimal(s) {
            let scale = decimal_scale(s).map_err(|e| AvroError::schema(path, e.message()))?;
            add_prop(props, DECIMAL_SCALE_PROP, Jv::Int(i64::from(scale)));
            add_prop(
                props,
                DECIMAL_PRECISION_PROP,
                Jv::Int(decimal_precision(s, path)?),
            );
        }
        Ok(base)
    }

    pub(super) fn map_base(&mut self, s: &Schema, path: &Path<'_>) -> Result<Base, AvroError> {
        let key = child(s.key_schema.as_deref(), path, "map key")?;
        let value = child(s.value_schema.as_deref(), path, "map value")?;
        if key.schema_type == SchemaType::String && !key.optional {
            let values = self.convert(value, false, &path.value())?;
            return Ok(Base::Plain(Node::Map {
                values: Box::new(values),
                props: Props::new(),
            }));
        }
        let named = s.name.is_some();
        let name = if named {
            self.name_or_default(s.name.as_deref())
        } else {
            FullName {
                space: Some(NAMESPACE.to_string()),
                name: MAP_ENTRY_TYPE_NAME.to_string(),
            }
        };
        let mut fields = Vec::with_capacity(2);
        self.add_record_field(&mut fields, KEY_FIELD.to_string(), key, None, &path.key())?;
        self.add_record_field(
            &mut fields,
            VALUE_FIELD.to_string(),
            value,
            None,
            &path.value(),
        )?;
        let mut props = Props::new();
        if named {
            add_prop(
                &mut props,
                CONNECT_INTERNAL_TYPE_NAME,
                Jv::Str(MAP_ENTRY_TYPE_NAME.into()),
            );
        }
        let mut entry = Named {
            name,
            doc: None,
            kind: NamedKind::Record(fields),
            props,
        };
        let entry = if named {
            Rc::new(entry)
        } else if let Some(same) = self.map_entries.iter().find(|e| {
            matches!((&e.kind, &entry.kind), (NamedKind::Record(a), NamedKind::Record(b)) if a == b)
        }) {
            same.clone()
        } else {
            // Confluent names every such record MapEntry, and Avro then fails on
            // the second map of other key/value types ("Can't redefine"); the
            // later ones are numbered here instead, and marked as map entries.
            if !self.map_entries.is_empty() {
                entry.name.name = format!("{MAP_ENTRY_TYPE_NAME}{}", self.map_entries.len() + 1);
                add_prop(&mut entry.props, CONNECT_INTERNAL_TYPE_NAME, Jv::Str(MAP_ENTRY_TYPE_NAME.into()));
            }
            let entry = Rc::new(entry);
            self.map_entries.push(entry.clone());
            entry
        };
        Ok(Base::Plain(Node::Array {
            items: Box::new(Node::Named(entry)),
            props: Props::new(),
        }))
    }

    pub(super) fn record_base(&mut self, s: &Schema, path: &Path<'_>) -> Result<Base, AvroError> {
        let name = self.name_or_default(s.name.as_deref());
        let doc = s.parameter(AVRO_RECORD_DOC_PROP).map(str::to_string);
        let mut fields = Vec::with_capacity(s.fields.len());
        for f in &s.fields {
            let name = if self.cfg.scrub_invalid_names {
                scrub_name(&f.name).into_owned()
            } else {
                f.name.clone()
            };
            let doc = s
                .parameter(&format!("{AVRO_FIELD_DOC_PREFIX_PROP}{}", f.name))
                .map(str::to_string);
            self.add_record_field(&mut fields, name, &f.schema, doc, &path.field(&f.name))?;
        }
        Ok(Base::Named(name, doc, NamedKind::Record(fields)))
    }

    /// Confluent's `addAvroRecordField`.
    fn add_record_field(
        &mut self,
        fields: &mut Vec<FieldNode>,
        name: String,
        schema: &Schema,
        doc: Option<String>,
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        let default = match schema.default.as_ref().filter(|d| !d.is_null()) {
            Some(d) => {
                Some(default_to_json(schema, d, self.cfg.scrub_invalid_names, path)?.widen_floats())
            }
            None if schema.optional => Some(Jv::Null),
            None => None,
        };
        let already_seen = match &schema.name {
            Some(n) => !self
                .seen_named
                .insert(scrub_full_name(n, self.cfg.scrub_invalid_names)),
            None => false,
        };
        let node = self.convert(schema, false, path)?;
        // Avro's Java library rejects an invalid default, and Confluent then
        // writes the field without one (the connect.default stays).
        let default = default.filter(|d| is_valid_default(&node, d));
        let mut props = Props::new();
        if self.cfg.connect_meta_data
            && already_seen
            && node.is_named_or_has_named()
            && let Some(params) = parameters_json(schema)
        {
            add_prop(&mut props, CONNECT_PARAMETERS_PROP, params);
        }
        fields.push(FieldNode {
            name,
            schema: node,
            doc,
            default,
            props,
        });
        Ok(())
    }
}

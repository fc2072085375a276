//! Avro → Connect for each kind of Avro type (the type-specific part of
//! Confluent's `toConnectSchema`).

use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value as Json};

use super::error::{AvroError, Path};
use super::from_avro::{FromAvro, Opts, defined_namespace, namespace_of, type_field};
use super::from_avro_meta::{Meta, finish};
use super::names::*;
use crate::logical::{date_schema, decimal_schema, time_schema, timestamp_schema};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};

impl<'j> FromAvro<'j, '_> {
    /// One Avro type: a primitive (`object` holds its properties, if it is
    /// written as an object) or a record, enum, fixed, array or map.
    pub(super) fn convert_type(
        &mut self,
        t: &str,
        object: Option<&'j Map<String, Json>>,
        space: Option<&'j str>,
        opts: Opts<'j>,
        path: &Path<'_>,
    ) -> Result<SchemaRef, AvroError> {
        static EMPTY: LazyLock<Map<String, Json>> = LazyLock::new(Map::new);
        let props: &'j Map<String, Json> = object.unwrap_or(&EMPTY);
        let prop_str = |k: &str| props.get(k).and_then(Json::as_str);
        let logical = prop_str(LOGICAL_TYPE_PROP);
        let logical_is = |name: &str| logical.is_some_and(|l| l.eq_ignore_ascii_case(name));
        let mut meta = Meta::default();
        let schema = match t {
            "boolean" => Schema::primitive(SchemaType::Boolean, false),
            "double" => Schema::primitive(SchemaType::Float64, false),
            "float" => Schema::primitive(SchemaType::Float32, false),
            "string" => Schema::primitive(SchemaType::String, false),
            "long" if logical_is(LOGICAL_TIMESTAMP_MILLIS) => owned(timestamp_schema().build()),
            "long" => Schema::primitive(SchemaType::Int64, false),
            "int" => match (prop_str(CONNECT_TYPE_PROP), logical) {
                (_, Some(_)) if logical_is(LOGICAL_DATE) => owned(date_schema().build()),
                (_, Some(_)) if logical_is(LOGICAL_TIME_MILLIS) => owned(time_schema().build()),
                (_, Some(_)) | (None, None) => Schema::primitive(SchemaType::Int32, false),
                (Some(CONNECT_TYPE_INT8), None) => Schema::primitive(SchemaType::Int8, false),
                (Some(CONNECT_TYPE_INT16), None) => Schema::primitive(SchemaType::Int16, false),
                (Some(other), None) => {
                    return Err(AvroError::schema(
                        path,
                        format!("unknown {CONNECT_TYPE_PROP} \"{other}\" on an Avro int"),
                    ));
                }
            },
            "bytes" | "fixed" => {
                let mut s = if logical_is(LOGICAL_DECIMAL) {
                    let scale = props
                        .get(DECIMAL_SCALE_PROP)
                        .and_then(Json::as_f64)
                        .map_or(0, |f| f as i32);
                    let mut s = owned(decimal_schema(scale).build());
                    if let Some(p) = props.get(DECIMAL_PRECISION_PROP) {
                        let precision = p.as_f64().ok_or_else(|| {
                            AvroError::schema(
                                path,
                                "the decimal precision property must be a JSON integer",
                            )
                        })? as i64;
                        if precision != CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT {
                            s.parameters.push((
                                CONNECT_AVRO_DECIMAL_PRECISION_PROP.to_string(),
                                precision.to_string(),
                            ));
                        }
                    }
                    s
                } else {
                    Schema::primitive(SchemaType::Bytes, false)
                };
                if t == "fixed" {
                    let size = props.get("size").and_then(Json::as_u64).ok_or_else(|| {
                        AvroError::schema(path, "Avro fixed has no valid \"size\"")
                    })?;
                    s.parameters
                        .push((CONNECT_AVRO_FIXED_SIZE_PROP.to_string(), size.to_string()));
                    meta.avro_name = self.full_name(props, space, path)?;
                    meta.avro_name_is_connect_name = s.name.is_none();
                }
                s
            }
            "array" => self.convert_array(props, space, path)?,
            "map" => {
                let values = props
                    .get("values")
                    .ok_or_else(|| AvroError::schema(path, "Avro map has no \"values\""))?;
                let values = self.convert(values, space, Opts::default(), &path.value())?;
                let mut s = Schema::primitive(SchemaType::Map, false);
                s.key_schema = Some(crate::schema::Schema::string());
                s.value_schema = Some(values);
                s
            }
            "record" | "error" => {
                meta.avro_name = self.full_name(props, space, path)?;
                meta.avro_name_is_connect_name = true;
                self.convert_record(props, space, path)?
            }
            "enum" => {
                meta.avro_name = self.full_name(props, space, path)?;
                meta.avro_name_is_connect_name = true;
                self.convert_enum(props, space, path)?
            }
            "null" => {
                return Err(AvroError::schema(
                    path,
                    "Standalone null schemas are not supported by this converter",
                ));
            }
            other => {
                return Err(AvroError::schema(
                    path,
                    format!("unsupported Avro type \"{other}\""),
                ));
            }
        };
        finish(self.cfg, schema, props, meta, opts, path)
    }

    fn full_name(
        &self,
        object: &Map<String, Json>,
        space: Option<&str>,
        path: &Path<'_>,
    ) -> Result<Option<String>, AvroError> {
        let name = object
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| AvroError::schema(path, "Avro named type has no \"name\""))?;
        Ok(Some(
            FullName::new(name, namespace_of(object, space)).full(),
        ))
    }

    fn convert_array(
        &mut self,
        props: &'j Map<String, Json>,
        space: Option<&'j str>,
        path: &Path<'_>,
    ) -> Result<Schema, AvroError> {
        let items = props
            .get("items")
            .ok_or_else(|| AvroError::schema(path, "Avro array has no \"items\""))?;
        if let Some((entry, entry_space)) = self.resolve(items, space)
            && is_map_entry(entry, entry_space)
        {
            let fields = entry.get("fields").and_then(Json::as_array);
            let field = |name: &str| {
                fields?
                    .iter()
                    .find(|f| f.get("name").and_then(Json::as_str) == Some(name))?
                    .get("type")
            };
            let (Some(key), Some(value), Some(2)) =
                (field(KEY_FIELD), field(VALUE_FIELD), fields.map(Vec::len))
            else {
                return Err(AvroError::schema(
                    path,
                    "Found map encoded as array of key-value pairs, but array elements do not \
                     match the expected format.",
                ));
            };
            let inner = entry
                .get("name")
                .and_then(Json::as_str)
                .and_then(|n| defined_namespace(n, namespace_of(entry, entry_space)));
            let key = self.convert(key, inner, Opts::default(), &path.key())?;
            let value = self.convert(value, inner, Opts::default(), &path.value())?;
            let mut s = Schema::primitive(SchemaType::Map, false);
            s.key_schema = Some(key);
            s.value_schema = Some(value);
            return Ok(s);
        }
        let items = self.convert(items, space, Opts::default(), path)?;
        let mut s = Schema::primitive(SchemaType::Array, false);
        s.value_schema = Some(items);
        Ok(s)
    }

    fn convert_record(
        &mut self,
        object: &'j Map<String, Json>,
        space: Option<&'j str>,
        path: &Path<'_>,
    ) -> Result<Schema, AvroError> {
        let name = object
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let own = namespace_of(object, space);
        let full = FullName::new(name, own).full();
        if self.in_progress.contains(&full) {
            return Err(AvroError::schema(
                path,
                format!(
                    "the Avro record {full} contains itself; recursive types have no Connect form"
                ),
            ));
        }
        let inner = defined_namespace(name, own);
        let meta = self.cfg.connect_meta_data;
        let mut s = Schema::primitive(SchemaType::Struct, false);
        if meta && let Some(doc) = object.get("doc").and_then(Json::as_str) {
            s.parameters
                .push((AVRO_RECORD_DOC_PROP.to_string(), doc.to_string()));
        }
        let fields = object
            .get("fields")
            .and_then(Json::as_array)
            .ok_or_else(|| {
                AvroError::schema(path, format!("Avro record {full} has no \"fields\" array"))
            })?;
        self.in_progress.push(full);
        let result = self.convert_fields(&mut s, fields, inner, path);
        self.in_progress.pop();
        result?;
        Ok(s)
    }

    fn convert_fields(
        &mut self,
        s: &mut Schema,
        fields: &'j [Json],
        inner: Option<&'j str>,
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        let meta = self.cfg.connect_meta_data;
        for field in fields {
            let name = field
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| AvroError::schema(path, "Avro record field has no \"name\""))?;
            let field_path = path.field(name);
            if s.fields.iter().any(|f| f.name == name) {
                return Err(AvroError::schema(&field_path, "duplicate field name"));
            }
            if meta && let Some(doc) = field.get("doc").and_then(Json::as_str) {
                s.parameters.push((
                    format!("{AVRO_FIELD_DOC_PREFIX_PROP}{name}"),
                    doc.to_string(),
                ));
            }
            let ty = field.get("type").ok_or_else(|| {
                AvroError::schema(&field_path, "Avro record field has no \"type\"")
            })?;
            let opts = Opts {
                field_default: field.get("default"),
                ..Opts::default()
            };
            let mut schema = self.convert(ty, inner, opts, &field_path)?;
            if meta && let Some(Json::Object(params)) = field.get(CONNECT_PARAMETERS_PROP) {
                schema = apply_field_parameters(schema, params);
            }
            let index = s.fields.len();
            s.fields.push(Field {
                name: name.to_string(),
                index,
                schema,
            });
        }
        Ok(())
    }

    fn convert_enum(
        &mut self,
        object: &'j Map<String, Json>,
        space: Option<&'j str>,
        path: &Path<'_>,
    ) -> Result<Schema, AvroError> {
        let name = object
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let full = FullName::new(name, namespace_of(object, space));
        let mut s = Schema::primitive(SchemaType::String, false);
        if self.cfg.connect_meta_data {
            if let Some(doc) = object.get("doc").and_then(Json::as_str) {
                s.parameters.push((
                    format!("{AVRO_ENUM_DOC_PREFIX_PROP}{}", full.name),
                    doc.to_string(),
                ));
            }
            if let Some(default) = object.get("default").and_then(Json::as_str) {
                s.parameters.push((
                    format!("{AVRO_ENUM_DEFAULT_PREFIX_PROP}{}", full.name),
                    default.to_string(),
                ));
            }
        }
        s.parameters.push((AVRO_TYPE_ENUM.to_string(), full.full()));
        let symbols = object
            .get("symbols")
            .and_then(Json::as_array)
            .ok_or_else(|| {
                AvroError::schema(
                    path,
                    format!("Avro enum {} has no \"symbols\"", full.full()),
                )
            })?;
        for symbol in symbols {
            let symbol = symbol
                .as_str()
                .ok_or_else(|| AvroError::schema(path, "Avro enum symbols must be strings"))?;
            s.parameters
                .push((format!("{AVRO_TYPE_ENUM}.{symbol}"), symbol.to_string()));
        }
        Ok(s)
    }
}

fn owned(schema: SchemaRef) -> Schema {
    Arc::unwrap_or_clone(schema)
}

/// Confluent's `isMapEntry`: the `io.confluent.connect.avro.MapEntry` record,
/// or a record marked `connect.internal.type: MapEntry`.
fn is_map_entry(object: &Map<String, Json>, space: Option<&str>) -> bool {
    if type_field(object).and_then(Json::as_str) != Some("record") {
        return false;
    }
    let name = object
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let full = FullName::new(name, namespace_of(object, space));
    (full.space.as_deref() == Some(NAMESPACE) && full.name == MAP_ENTRY_TYPE_NAME)
        || object
            .get(CONNECT_INTERNAL_TYPE_NAME)
            .and_then(Json::as_str)
            == Some(MAP_ENTRY_TYPE_NAME)
}

/// Confluent's `applyFieldLevelParams`: parameters a field carries for a
/// shared named type override the type's own.
fn apply_field_parameters(schema: SchemaRef, params: &Map<String, Json>) -> SchemaRef {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if params
        .iter()
        .all(|(k, v)| schema.parameter(k) == Some(text(v).as_str()))
    {
        return schema;
    }
    let mut s = Arc::unwrap_or_clone(schema);
    for (k, v) in params {
        let v = text(v);
        match s.parameters.iter_mut().find(|(pk, _)| pk == k) {
            Some(slot) => slot.1 = v,
            None => s.parameters.push((k.clone(), v)),
        }
    }
    Arc::new(s)
}

//! Connect data to JSON text, byte for byte as Kafka Connect's JsonConverter
//! (Jackson, compact) writes it.

use std::borrow::Cow;
use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::text::write_string;
use super::{DecimalFormat, Settings};
use crate::converter::ConvertError;
use crate::converter::java::{java_double, java_float};
use crate::logical::{self, Decimal, LogicalType};
use crate::schema::{Schema, SchemaType};
use crate::value::Value;

fn type_name(value: &Value) -> &'static str {
    value.schema_type().map_or("null", SchemaType::upper_name)
}

/// The default value a null is replaced with, if any.
fn default_for_null<'a>(st: &Settings, schema: &'a Schema) -> Option<&'a Value> {
    schema
        .default
        .as_ref()
        .filter(|d| st.replace_null_with_default && !d.is_null())
}

/// Kafka's `asJsonSchema`: `type`, then `items` | `keys`,`values` | `fields`,
/// then `optional`, `name`, `version`, `doc`, `parameters`, `default`. A
/// struct field's entry is its schema followed by `"field":"<name>"`.
pub(super) fn write_schema(
    out: &mut String,
    st: &Settings,
    schema: &Schema,
    field: Option<&str>,
) -> Result<(), ConvertError> {
    out.push_str("{\"type\":\"");
    out.push_str(schema.schema_type.json_name());
    out.push('"');
    let nested = |out: &mut String, key: &str, s: Option<&Schema>| -> Result<(), ConvertError> {
        out.push_str(key);
        match s {
            Some(s) => write_schema(out, st, s, None),
            None => {
                out.push_str("null");
                Ok(())
            }
        }
    };
    match schema.schema_type {
        SchemaType::Array => nested(out, ",\"items\":", schema.value_schema.as_deref())?,
        SchemaType::Map => {
            nested(out, ",\"keys\":", schema.key_schema.as_deref())?;
            nested(out, ",\"values\":", schema.value_schema.as_deref())?;
        }
        SchemaType::Struct => {
            out.push_str(",\"fields\":[");
            for (i, f) in schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schema(out, st, &f.schema, Some(&f.name))?;
            }
            out.push(']');
        }
        _ => {}
    }
    out.push_str(if schema.optional {
        ",\"optional\":true"
    } else {
        ",\"optional\":false"
    });
    if let Some(name) = &schema.name {
        out.push_str(",\"name\":");
        write_string(out, name);
    }
    if let Some(version) = schema.version {
        out.push_str(",\"version\":");
        out.push_str(&version.to_string());
    }
    if let Some(doc) = &schema.doc {
        out.push_str(",\"doc\":");
        write_string(out, doc);
    }
    if !schema.parameters.is_empty() {
        out.push_str(",\"parameters\":{");
        for (i, (k, v)) in schema.parameters.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(out, k);
            out.push(':');
            write_string(out, v);
        }
        out.push('}');
    }
    if let Some(default) = schema.default.as_ref().filter(|d| !d.is_null()) {
        out.push_str(",\"default\":");
        write_value(out, st, Some(schema), default)?;
    }
    if let Some(name) = field {
        out.push_str(",\"field\":");
        write_string(out, name);
    }
    out.push('}');
    Ok(())
}

/// Kafka's `convertToJson`.
pub(super) fn write_value(
    out: &mut String,
    st: &Settings,
    schema: Option<&Schema>,
    value: &Value,
) -> Result<(), ConvertError> {
    if value.is_null() {
        let Some(schema) = schema else {
            out.push_str("null");
            return Ok(());
        };
        if let Some(default) = default_for_null(st, schema) {
            return write_value(out, st, Some(schema), default);
        }
        if schema.optional {
            out.push_str("null");
            return Ok(());
        }
        return Err(ConvertError::data(
            "Conversion error: null value for field that is required and has no default value",
        ));
    }
    if let Some(schema) = schema {
        if value.schema_type() != Some(schema.schema_type) {
            return Err(ConvertError::data(format!(
                "Invalid type for {}: {}",
                schema.schema_type,
                type_name(value)
            )));
        }
        if let Some(lt) = LogicalType::of(schema) {
            logical::validate(schema, value)?;
            return write_logical(out, st, schema, lt, value);
        }
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        // Jackson quotes non-finite numbers (QUOTE_NON_NUMERIC_NUMBERS).
        Value::Float32(v) if !v.is_finite() => write_string(out, &java_float(*v)),
        Value::Float32(v) => out.push_str(&java_float(*v)),
        Value::Float64(v) if !v.is_finite() => write_string(out, &java_double(*v)),
        Value::Float64(v) => out.push_str(&java_double(*v)),
        Value::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::String(s) => write_string(out, s),
        Value::Bytes(b) => write_base64(out, b),
        Value::Array(items) => {
            let elem = schema.and_then(|s| s.value_schema.as_deref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, st, elem, item)?;
            }
            out.push(']');
        }
        Value::Map(entries) => write_map(out, st, schema, entries)?,
        Value::Struct(s) => {
            let Some(schema) = schema.filter(|schema| schema.accepts_struct_schema(s.schema()))
            else {
                return Err(ConvertError::data("Mismatching schema."));
            };
            out.push('{');
            for (i, (f, v)) in schema.fields.iter().zip(s.values()).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, &f.name);
                out.push(':');
                write_value(out, st, Some(&f.schema), v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_base64(out: &mut String, bytes: &[u8]) {
    out.push('"');
    BASE64.encode_string(bytes, out);
    out.push('"');
}

fn write_logical(
    out: &mut String,
    st: &Settings,
    schema: &Schema,
    lt: LogicalType,
    value: &Value,
) -> Result<(), ConvertError> {
    match (lt, value) {
        (LogicalType::Decimal, _) => {
            // Re-encoded so the bytes are minimal, as BigInteger.toByteArray().
            let decimal = Decimal::from_value(schema, value)?;
            match st.decimal_format {
                DecimalFormat::Base64 => write_base64(out, &decimal.to_bytes()),
                DecimalFormat::Numeric => out.push_str(&decimal.to_java_string()),
            }
        }
        (_, Value::Int32(v)) => out.push_str(&v.to_string()),
        (_, Value::Int64(v)) => out.push_str(&v.to_string()),
        _ => {
            return Err(ConvertError::data(format!(
                "Invalid type for {}: {}",
                lt.name(),
                type_name(value)
            )));
        }
    }
    Ok(())
}

/// Maps with string keys (by schema, or all keys strings when schemaless)
/// are JSON objects; others are arrays of `[key, value]` pairs.
fn write_map(
    out: &mut String,
    st: &Settings,
    schema: Option<&Schema>,
    entries: &[(Value, Value)],
) -> Result<(), ConvertError> {
    let (key_schema, value_schema) = match schema {
        None => (None, None),
        Some(s) => {
            let ks = s
                .key_schema
                .as_deref()
                .ok_or_else(|| ConvertError::data("Map schema has no key schema"))?;
            (Some(ks), s.value_schema.as_deref())
        }
    };
    let object_mode = match key_schema {
        Some(ks) => ks.schema_type == SchemaType::String,
        None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
    };
    if !object_mode {
        out.push('[');
        for (i, (k, v)) in entries.iter().enumerate() {
            out.push_str(if i > 0 { ",[" } else { "[" });
            write_value(out, st, key_schema, k)?;
            out.push(',');
            write_value(out, st, value_schema, v)?;
            out.push(']');
        }
        out.push(']');
        return Ok(());
    }
    let mut members: Vec<(Cow<'_, str>, &Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        members.push((object_key(st, key_schema, k)?, v));
    }
    // Jackson's ObjectNode: a repeated key keeps its first place, last value.
    let mut seen = HashSet::with_capacity(members.len());
    if !members.iter().all(|(k, _)| seen.insert(k.as_ref())) {
        let mut unique: Vec<(Cow<'_, str>, &Value)> = Vec::new();
        for (k, v) in members {
            match unique.iter_mut().find(|(u, _)| *u == k) {
                Some(slot) => slot.1 = v,
                None => unique.push((k, v)),
            }
        }
        members = unique;
    }
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, st, value_schema, v)?;
    }
    out.push('}');
    Ok(())
}

/// A map key's text in object mode: Jackson's `asText()` of the converted
/// key (`"null"` for a null key of an optional key schema).
fn object_key<'a>(
    st: &Settings,
    key_schema: Option<&'a Schema>,
    key: &'a Value,
) -> Result<Cow<'a, str>, ConvertError> {
    match (key, key_schema) {
        (Value::String(s), _) => Ok(Cow::Borrowed(s)),
        (Value::Null, Some(ks)) => match default_for_null(st, ks) {
            Some(Value::String(d)) => Ok(Cow::Borrowed(d)),
            _ if ks.optional => Ok(Cow::Borrowed("null")),
            _ => Err(ConvertError::data(
                "Conversion error: null value for field that is required and has no default value",
            )),
        },
        (other, _) => Err(ConvertError::data(format!(
            "Invalid type for STRING: {}",
            type_name(other)
        ))),
    }
}

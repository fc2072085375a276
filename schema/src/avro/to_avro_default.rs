//! Connect default values as Avro JSON defaults (Confluent's
//! `defaultValueFromConnect`).

use super::error::{AvroError, Path};
use super::json::Jv;
use super::names::{AVRO_TYPE_UNION, scrub_name};
use crate::logical::{Decimal, LogicalType};
use crate::schema::{Schema, SchemaType};
use crate::value::Value;

/// `value` (a default of `schema`) as JSON: numbers as numbers, bytes as a
/// string of ISO-8859-1 characters (the Avro spec's JSON form of bytes),
/// structs as objects, maps with string keys as objects and other maps as
/// arrays of `[key, value]` pairs. Struct field names are scrubbed when
/// `scrub` is set, as the Avro field names are.
pub(crate) fn default_to_json(
    schema: &Schema,
    value: &Value,
    scrub: bool,
    path: &Path<'_>,
) -> Result<Jv, AvroError> {
    if value.is_null() {
        return Ok(Jv::Null);
    }
    let mismatch = || {
        AvroError::schema(
            path,
            format!(
                "invalid default value: expected {}, got {}",
                type_name(schema.schema_type),
                value.schema_type().map_or("null", type_name)
            ),
        )
    };
    if LogicalType::of(schema) == Some(LogicalType::Decimal) {
        let decimal = Decimal::from_value(schema, value)
            .map_err(|e| AvroError::schema(path, format!("invalid default value: {e}")))?;
        return Ok(Jv::Str(latin1(&decimal.to_bytes())));
    }
    Ok(match (schema.schema_type, value) {
        (SchemaType::Int8, Value::Int8(v)) => Jv::Int(i64::from(*v)),
        (SchemaType::Int16, Value::Int16(v)) => Jv::Int(i64::from(*v)),
        (SchemaType::Int32, Value::Int32(v)) => Jv::Int(i64::from(*v)),
        (SchemaType::Int64, Value::Int64(v)) => Jv::Int(*v),
        (SchemaType::Float32, Value::Float32(v)) => Jv::Float(*v),
        (SchemaType::Float64, Value::Float64(v)) => Jv::Double(*v),
        (SchemaType::Boolean, Value::Boolean(v)) => Jv::Bool(*v),
        (SchemaType::String, Value::String(v)) => Jv::Str(v.clone()),
        (SchemaType::Bytes, Value::Bytes(v)) => Jv::Str(latin1(v)),
        (SchemaType::Array, Value::Array(items)) => {
            let elem = child(schema.value_schema.as_deref(), path, "array element")?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(default_to_json(elem, item, scrub, &path.index(i))?);
            }
            Jv::Arr(out)
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let key = child(schema.key_schema.as_deref(), path, "map key")?;
            let val = child(schema.value_schema.as_deref(), path, "map value")?;
            let value_path = path.value();
            if key.schema_type == SchemaType::String && !key.optional {
                let mut members: Vec<(String, Jv)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else {
                        return Err(AvroError::schema(
                            &path.key(),
                            "invalid default value: map keys must be strings",
                        ));
                    };
                    let v = default_to_json(val, v, scrub, &value_path)?;
                    // An object keeps one value per key: the last one.
                    match members.iter_mut().find(|(m, _)| m == k) {
                        Some(slot) => slot.1 = v,
                        None => members.push((k.clone(), v)),
                    }
                }
                Jv::Obj(members)
            } else {
                let key_path = path.key();
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push(Jv::Arr(vec![
                        default_to_json(key, k, scrub, &key_path)?,
                        default_to_json(val, v, scrub, &value_path)?,
                    ]));
                }
                Jv::Arr(out)
            }
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            let is_union = schema.name.as_deref() == Some(AVRO_TYPE_UNION);
            let mut members = Vec::with_capacity(schema.fields.len());
            for f in &schema.fields {
                let v = s.get_or_default(&f.name).unwrap_or(&Value::Null);
                if is_union {
                    // A union's default is the value of its branch that is set.
                    if v.is_null() {
                        continue;
                    }
                    return default_to_json(&f.schema, v, scrub, &path.field(&f.name));
                }
                let name = if scrub {
                    scrub_name(&f.name).into_owned()
                } else {
                    f.name.clone()
                };
                members.push((
                    name,
                    default_to_json(&f.schema, v, scrub, &path.field(&f.name))?,
                ));
            }
            if is_union {
                return Ok(Jv::Null);
            }
            Jv::Obj(members)
        }
        _ => return Err(mismatch()),
    })
}

fn child<'s>(
    schema: Option<&'s Schema>,
    path: &Path<'_>,
    what: &str,
) -> Result<&'s Schema, AvroError> {
    schema.ok_or_else(|| AvroError::schema(path, format!("schema has no {what} schema")))
}

/// Bytes as a string of the ISO-8859-1 characters with those codes.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Connect's lower-case type names, used in messages.
pub(crate) fn type_name(t: SchemaType) -> &'static str {
    match t {
        SchemaType::Int8 => "int8",
        SchemaType::Int16 => "int16",
        SchemaType::Int32 => "int32",
        SchemaType::Int64 => "int64",
        SchemaType::Float32 => "float32",
        SchemaType::Float64 => "float64",
        SchemaType::Boolean => "boolean",
        SchemaType::String => "string",
        SchemaType::Bytes => "bytes",
        SchemaType::Array => "array",
        SchemaType::Map => "map",
        SchemaType::Struct => "struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::decimal_schema;
    use crate::schema::SchemaBuilder;
    use crate::value::Struct;

    fn json(schema: &Schema, value: &Value) -> String {
        let mut out = String::new();
        default_to_json(schema, value, false, &Path::Root)
            .unwrap()
            .write(&mut out);
        out
    }

    #[test]
    fn defaults_as_json() {
        assert_eq!(json(&Schema::int8(), &Value::Int8(-3)), "-3");
        assert_eq!(json(&Schema::float32(), &Value::Float32(0.1)), "0.1");
        assert_eq!(
            json(&Schema::bytes(), &Value::Bytes(vec![0, 0x9c, b'a'])),
            "\"\u{0}\u{9c}a\"".replace('\u{0}', "\\u0000")
        );
        let dec = decimal_schema(2).build();
        assert_eq!(
            json(&dec, &Value::Bytes(vec![0, 0, 0x9c])),
            "\"\\u0000\u{9c}\""
        );
        let map = SchemaBuilder::map(Schema::string(), Schema::int32()).build();
        let m = Value::Map(vec![
            ("a".into(), Value::Int32(1)),
            ("a".into(), Value::Int32(2)),
        ]);
        assert_eq!(json(&map, &m), r#"{"a":2}"#);
        let imap = SchemaBuilder::map(Schema::int32(), Schema::string()).build();
        let m = Value::Map(vec![(Value::Int32(1), "x".into())]);
        assert_eq!(json(&imap, &m), r#"[[1,"x"]]"#);
        let s = SchemaBuilder::struct_()
            .field(
                "a",
                SchemaBuilder::int32()
                    .default_value(Value::Int32(7))
                    .build(),
            )
            .field("b", Schema::optional_string())
            .build();
        let v = Value::Struct(Struct::new(s.clone()));
        assert_eq!(json(&s, &v), r#"{"a":7,"b":null}"#);
        let err =
            default_to_json(&Schema::int32(), &Value::from("x"), false, &Path::Root).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid default value: expected int32, got string"
        );
    }
}

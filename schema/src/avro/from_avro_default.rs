//! Avro JSON defaults (a field's `default`, or a `connect.default`
//! property) as Connect values (Confluent's `defaultValueFromAvro`).
//!
//! Confluent logs and drops a default it cannot convert; so does this
//! (`None`), so one odd default never makes a whole schema unreadable.

use serde_json::Value as Json;

use crate::logical::{Decimal, LogicalType, decimal_scale};
use crate::schema::{SchemaRef, SchemaType};
use crate::value::{Struct, Value};

/// The Connect value of `json` as a default of `schema` (the schema as it
/// is without its default), or `None` for `null` or a value that does not
/// fit.
pub(crate) fn default_from_json(schema: &SchemaRef, json: &Json) -> Option<Value> {
    if json.is_null() {
        return None;
    }
    let value = convert(schema, json)?;
    value.validate(schema).ok()?;
    Some(value)
}

fn convert(schema: &SchemaRef, json: &Json) -> Option<Value> {
    if json.is_null() {
        return schema.optional.then_some(Value::Null);
    }
    if LogicalType::of(schema) == Some(LogicalType::Decimal) {
        let bytes = latin1_bytes(json.as_str()?)?;
        let scale = decimal_scale(schema).ok()?;
        return Decimal::from_bytes(&bytes, scale)
            .ok()
            .map(|d| d.to_value());
    }
    Some(match schema.schema_type {
        SchemaType::Int8 => Value::Int8(i8::try_from(json.as_i64()?).ok()?),
        SchemaType::Int16 => Value::Int16(i16::try_from(json.as_i64()?).ok()?),
        SchemaType::Int32 => Value::Int32(i32::try_from(json.as_i64()?).ok()?),
        SchemaType::Int64 => Value::Int64(json.as_i64()?),
        SchemaType::Float32 => Value::Float32(float(json)? as f32),
        SchemaType::Float64 => Value::Float64(float(json)?),
        SchemaType::Boolean => Value::Boolean(json.as_bool()?),
        SchemaType::String => Value::String(json.as_str()?.to_string()),
        SchemaType::Bytes => Value::Bytes(latin1_bytes(json.as_str()?)?),
        SchemaType::Array => {
            let elem = schema.value_schema.as_ref()?;
            let items = json.as_array()?;
            Value::Array(
                items
                    .iter()
                    .map(|i| convert(elem, i))
                    .collect::<Option<_>>()?,
            )
        }
        SchemaType::Map => {
            let (key, val) = (schema.key_schema.as_ref()?, schema.value_schema.as_ref()?);
            let entries = if key.schema_type == SchemaType::String && !key.optional {
                json.as_object()?
                    .iter()
                    .map(|(k, v)| Some((Value::String(k.clone()), convert(val, v)?)))
                    .collect::<Option<Vec<_>>>()?
            } else {
                // `[key, value]` pairs (connect.default) or MapEntry records
                // (an Avro field default).
                json.as_array()?
                    .iter()
                    .map(|entry| {
                        let (k, v) = match entry {
                            Json::Array(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
                            Json::Object(rec) => (rec.get("key")?, rec.get("value")?),
                            _ => return None,
                        };
                        Some((convert(key, k)?, convert(val, v)?))
                    })
                    .collect::<Option<Vec<_>>>()?
            };
            Value::Map(entries)
        }
        SchemaType::Struct => {
            // Confluent cannot convert union defaults either.
            if schema.name.as_deref() == Some(super::names::AVRO_TYPE_UNION) {
                return None;
            }
            let members = json.as_object()?;
            let mut result = Struct::new(schema.clone());
            for f in &schema.fields {
                let value = match members.get(&f.name) {
                    Some(v) => convert(&f.schema, v)?,
                    None => f.schema.default.clone().unwrap_or(Value::Null),
                };
                result.set(&f.name, value).ok()?;
            }
            Value::Struct(result)
        }
    })
}

/// A JSON number, or the strings Jackson writes for non-finite numbers.
fn float(json: &Json) -> Option<f64> {
    match json {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// The bytes a string of ISO-8859-1 characters stands for (the Avro JSON
/// form of bytes); `None` if a character is above U+00FF.
pub(crate) fn latin1_bytes(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::{decimal_schema, time_schema};
    use crate::schema::{Schema, SchemaBuilder};
    use serde_json::json;

    #[test]
    fn converts_json_defaults() {
        assert_eq!(
            default_from_json(&Schema::int8(), &json!(-3)),
            Some(Value::Int8(-3))
        );
        assert_eq!(default_from_json(&Schema::int8(), &json!(300)), None);
        assert_eq!(default_from_json(&Schema::int32(), &json!("5")), None);
        assert_eq!(default_from_json(&Schema::int32(), &json!(null)), None);
        assert_eq!(
            default_from_json(&Schema::float32(), &json!(0.1)),
            Some(Value::Float32(0.1))
        );
        assert!(matches!(
            default_from_json(&Schema::float64(), &json!("NaN")),
            Some(Value::Float64(f)) if f.is_nan()
        ));
        assert_eq!(
            default_from_json(&Schema::bytes(), &json!("\u{0}\u{9c}")),
            Some(Value::Bytes(vec![0, 0x9c]))
        );
        assert_eq!(default_from_json(&Schema::bytes(), &json!("\u{100}")), None);
        let dec = decimal_schema(2).build();
        assert_eq!(
            default_from_json(&dec, &json!("\u{0}\u{0}\u{9c}")),
            Some(Value::Bytes(vec![0, 0x9c]))
        );
        assert_eq!(default_from_json(&time_schema().build(), &json!(-1)), None);
        let imap = SchemaBuilder::map(Schema::int32(), Schema::string()).build();
        let expected = Some(Value::Map(vec![(Value::Int32(1), "x".into())]));
        assert_eq!(default_from_json(&imap, &json!([[1, "x"]])), expected);
        assert_eq!(
            default_from_json(&imap, &json!([{"key": 1, "value": "x"}])),
            expected
        );
        let s = SchemaBuilder::struct_()
            .field(
                "a",
                SchemaBuilder::int32()
                    .default_value(Value::Int32(7))
                    .build(),
            )
            .field("b", Schema::optional_string())
            .build();
        let v = default_from_json(&s, &json!({"b": "x"})).unwrap();
        let Value::Struct(v) = v else { panic!("{v:?}") };
        assert_eq!(v.get("a"), Some(&Value::Int32(7)));
        assert_eq!(v.get("b"), Some(&Value::from("x")));
        let required = SchemaBuilder::struct_().field("a", Schema::int32()).build();
        assert_eq!(default_from_json(&required, &json!({})), None);
    }
}

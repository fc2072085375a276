//! JSON (parsed by [`super::text`]) to Connect schemas and values, as Kafka
//! Connect's JsonConverter `asConnectSchema` and `convertToConnect`.
//!
//! Where Kafka coerces silently (Jackson's `intValue()` truncates `300` to an
//! int8 `44`, reads a string as int `0`, a number as string `null`), this
//! reports an error instead. Quoted `"NaN"`, `"Infinity"` and `"-Infinity"`
//! are read back as floats, so the non-finite values Jackson writes that way
//! round-trip (Kafka reads them as `0.0`), and `-0.0` stays negative (Kafka
//! reads numbers as `BigDecimal`, which has no negative zero). Decimal
//! numbers are rescaled to the schema's scale, exactly or not at all (Kafka
//! keeps the number's own scale, which its Decimal writer later rejects).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use super::Settings;
use super::text::JsonNode;
use crate::converter::ConvertError;
use crate::logical::{self, Decimal, LogicalType};
use crate::schema::{SchemaBuilder, SchemaRef, SchemaType};
use crate::value::{Struct, Value};

/// Standard base64 as Jackson reads it: padding required, stray low bits in
/// the last character tolerated.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::data(message)
}

/// Kafka's `asConnectSchema`. `Ok(None)` for a JSON `null` schema.
pub(super) fn to_schema(st: &Settings, node: &JsonNode) -> Result<Option<SchemaRef>, ConvertError> {
    if *node == JsonNode::Null {
        return Ok(None);
    }
    let Some(JsonNode::String(type_name)) = node.get("type") else {
        return Err(err("Schema must contain 'type' field"));
    };
    let schema_type = SchemaType::from_json_name(type_name)
        .ok_or_else(|| err(format!("Unknown schema type: {type_name}")))?;
    let required_child = |key: &str, what: &str| -> Result<SchemaRef, ConvertError> {
        let missing = || {
            err(format!(
                "{what} schema did not specify the {} type",
                child_role(key)
            ))
        };
        let child = node.get(key).ok_or_else(missing)?;
        to_schema(st, child)?.ok_or_else(missing)
    };
    let mut builder = match schema_type {
        SchemaType::Array => SchemaBuilder::array(required_child("items", "Array")?),
        SchemaType::Map => SchemaBuilder::map(
            required_child("keys", "Map")?,
            required_child("values", "Map")?,
        ),
        SchemaType::Struct => {
            let Some(JsonNode::Array(fields)) = node.get("fields") else {
                return Err(err("Struct schema's \"fields\" argument is not an array."));
            };
            let mut b = SchemaBuilder::struct_();
            for field in fields {
                let Some(JsonNode::String(name)) = field.get("field") else {
                    return Err(err("Struct schema's field name not specified properly"));
                };
                let schema = to_schema(st, field)?
                    .ok_or_else(|| err("Struct schema's field name not specified properly"))?;
                b = b.field(name.clone(), schema);
            }
            b
        }
        other => SchemaBuilder::new(other),
    };
    if node.get("optional") == Some(&JsonNode::Bool(true)) {
        builder = builder.optional();
    }
    if let Some(JsonNode::String(name)) = node.get("name") {
        builder = builder.name(name.clone());
    }
    if let Some(text) = node.get("version").and_then(JsonNode::integral_text) {
        let version = text
            .parse::<i32>()
            .map_err(|_| err(format!("Schema version {text} is not a 32-bit integer")))?;
        builder = builder.version(version);
    }
    if let Some(JsonNode::String(doc)) = node.get("doc") {
        builder = builder.doc(doc.clone());
    }
    if let Some(JsonNode::Object(params)) = node.get("parameters") {
        for (key, value) in params {
            let JsonNode::String(value) = value else {
                return Err(err("Schema parameters must have string values."));
            };
            builder = builder.parameter(key.clone(), value.clone());
        }
    }
    let base = builder.clone().try_build()?;
    if let Some(default_node) = node.get("default") {
        // Read with the schema so far (no default yet), as Kafka does.
        let default = to_value(st, Some(&base), Some(default_node))?;
        if !default.is_null() {
            return Ok(Some(builder.default_value(default).try_build()?));
        }
    }
    Ok(Some(base))
}

fn child_role(key: &str) -> &'static str {
    match key {
        "items" => "element",
        "keys" => "key",
        _ => "value",
    }
}

/// Kafka's `convertToConnect`. `node` is `None` for a missing struct field.
pub(super) fn to_value(
    st: &Settings,
    schema: Option<&SchemaRef>,
    node: Option<&JsonNode>,
) -> Result<Value, ConvertError> {
    let Some(schema) = schema else {
        return infer(node);
    };
    let node = match node {
        None | Some(JsonNode::Null) => {
            if st.replace_null_with_default
                && let Some(default) = schema.default.as_ref().filter(|d| !d.is_null())
            {
                return Ok(default.clone());
            }
            if schema.optional {
                return Ok(Value::Null);
            }
            return Err(err(format!(
                "Invalid null value for required {} field",
                schema.schema_type
            )));
        }
        Some(node) => node,
    };
    if let Some(lt) = LogicalType::of(schema) {
        logical::check_physical(schema, lt)?;
        let value = read_logical(schema, lt, node)?;
        logical::validate(schema, &value)?;
        return Ok(value);
    }
    let mismatch = || {
        err(format!(
            "Invalid JSON for schema type {}: found {}",
            schema.schema_type,
            node.node_type()
        ))
    };
    Ok(match schema.schema_type {
        SchemaType::Boolean => match node {
            JsonNode::Bool(b) => Value::Boolean(*b),
            _ => return Err(mismatch()),
        },
        SchemaType::Int8 => Value::Int8(int(node, schema.schema_type)?),
        SchemaType::Int16 => Value::Int16(int(node, schema.schema_type)?),
        SchemaType::Int32 => Value::Int32(int(node, schema.schema_type)?),
        SchemaType::Int64 => Value::Int64(int(node, schema.schema_type)?),
        SchemaType::Float32 => Value::Float32(float(node).ok_or_else(mismatch)?),
        SchemaType::Float64 => Value::Float64(float(node).ok_or_else(mismatch)?),
        SchemaType::String => match node {
            JsonNode::String(s) => Value::String(s.clone()),
            _ => return Err(mismatch()),
        },
        SchemaType::Bytes => match node {
            JsonNode::String(s) => Value::Bytes(
                BASE64
                    .decode(s)
                    .map_err(|e| err(format!("Invalid bytes field: {e}")))?,
            ),
            _ => return Err(mismatch()),
        },
        SchemaType::Array => {
            let JsonNode::Array(items) = node else {
                return Err(mismatch());
            };
            let elem = schema.value_schema.as_ref();
            let values = items.iter().map(|item| to_value(st, elem, Some(item)));
            Value::Array(values.collect::<Result<_, _>>()?)
        }
        SchemaType::Map => read_map(st, schema, node)?,
        SchemaType::Struct => {
            let JsonNode::Object(_) = node else {
                return Err(err(format!(
                    "Structs should be encoded as JSON objects, but found {}",
                    node.node_type()
                )));
            };
            let mut result = Struct::new(schema.clone());
            for field in &schema.fields {
                let value = to_value(st, Some(&field.schema), node.get(&field.name))?;
                result.set(&field.name, value)?;
            }
            Value::Struct(result)
        }
    })
}

fn int<T: TryFrom<i64>>(node: &JsonNode, schema_type: SchemaType) -> Result<T, ConvertError> {
    let Some(text) = node.integral_text() else {
        return Err(err(format!(
            "Invalid JSON for schema type {schema_type}: expected an integer but found {}",
            if matches!(node, JsonNode::Number(_)) {
                "a fractional number"
            } else {
                node.node_type()
            }
        )));
    };
    text.parse::<i64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| {
            err(format!(
                "Value {text} is out of range for schema type {schema_type}"
            ))
        })
}

/// A float from a JSON number (parsed directly at the target precision, as
/// Java's `BigDecimal.floatValue()`), or the quoted non-finite names.
fn float<T: std::str::FromStr>(node: &JsonNode) -> Option<T> {
    match node {
        JsonNode::Number(text) => text.parse().ok(),
        JsonNode::String(s) => match s.as_str() {
            "NaN" => "NaN".parse().ok(),
            "Infinity" => "inf".parse().ok(),
            "-Infinity" => "-inf".parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn read_logical(
    schema: &SchemaRef,
    lt: LogicalType,
    node: &JsonNode,
) -> Result<Value, ConvertError> {
    let integral = |what: &str| {
        node.integral_text().ok_or_else(|| {
            err(format!(
                "Invalid type for {:?}, underlying representation should be {what} but was {}",
                lt,
                node.node_type()
            ))
        })
    };
    Ok(match lt {
        LogicalType::Decimal => {
            let scale = logical::decimal_scale(schema)?;
            let decimal = match node {
                JsonNode::Number(text) => text.parse::<Decimal>()?.rescale(scale)?,
                JsonNode::String(s) => {
                    let bytes = BASE64
                        .decode(s)
                        .map_err(|e| err(format!("Invalid bytes for Decimal field: {e}")))?;
                    Decimal::from_bytes(&bytes, scale)?
                }
                other => {
                    return Err(err(format!(
                        "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                        other.node_type()
                    )));
                }
            };
            decimal.to_value()
        }
        LogicalType::Date | LogicalType::Time => {
            let text = integral("integer")?;
            Value::Int32(text.parse().map_err(|_| {
                err(format!("Invalid type for {lt:?}, underlying representation should be integer but was {text}"))
            })?)
        }
        LogicalType::Timestamp => {
            let text = integral("integral")?;
            Value::Int64(
                text.parse()
                    .map_err(|_| err(format!("Timestamp {text} is out of range for an int64")))?,
            )
        }
    })
}

fn read_map(st: &Settings, schema: &SchemaRef, node: &JsonNode) -> Result<Value, ConvertError> {
    let key_schema = schema
        .key_schema
        .as_ref()
        .ok_or_else(|| err("Map schema has no key schema"))?;
    let value_schema = schema.value_schema.as_ref();
    let mut entries = Vec::new();
    if key_schema.schema_type == SchemaType::String {
        let JsonNode::Object(members) = node else {
            return Err(err(format!(
                "Maps with string fields should be encoded as JSON objects, but found {}",
                node.node_type()
            )));
        };
        for (k, v) in members {
            let key = JsonNode::String(k.clone());
            entries.push((
                to_value(st, Some(key_schema), Some(&key))?,
                to_value(st, value_schema, Some(v))?,
            ));
        }
    } else {
        let JsonNode::Array(items) = node else {
            return Err(err(format!(
                "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                node.node_type()
            )));
        };
        for item in items {
            let JsonNode::Array(pair) = item else {
                return Err(err(format!(
                    "Found invalid map entry instead of array tuple: {}",
                    item.node_type()
                )));
            };
            let [k, v] = pair.as_slice() else {
                return Err(err(format!(
                    "Found invalid map entry, expected length 2 but found :{}",
                    pair.len()
                )));
            };
            entries.push((
                to_value(st, Some(key_schema), Some(k))?,
                to_value(st, value_schema, Some(v))?,
            ));
        }
    }
    Ok(Value::Map(entries))
}

/// Schemaless JSON: integers as int64, other numbers as float64, objects as
/// maps with string keys, arrays as arrays.
fn infer(node: Option<&JsonNode>) -> Result<Value, ConvertError> {
    Ok(match node {
        None | Some(JsonNode::Null) => Value::Null,
        Some(JsonNode::Bool(b)) => Value::Boolean(*b),
        Some(n @ JsonNode::Number(text)) => match n.integral_text() {
            Some(t) => Value::Int64(
                t.parse()
                    .map_err(|_| err(format!("Integer {t} is out of range for an int64")))?,
            ),
            None => Value::Float64(
                text.parse()
                    .map_err(|_| err(format!("Invalid number {text}")))?,
            ),
        },
        Some(JsonNode::String(s)) => Value::String(s.clone()),
        Some(JsonNode::Array(items)) => Value::Array(
            items
                .iter()
                .map(|i| infer(Some(i)))
                .collect::<Result<_, _>>()?,
        ),
        Some(JsonNode::Object(members)) => Value::Map(
            members
                .iter()
                .map(|(k, v)| Ok((Value::String(k.clone()), infer(Some(v))?)))
                .collect::<Result<_, ConvertError>>()?,
        ),
    })
}

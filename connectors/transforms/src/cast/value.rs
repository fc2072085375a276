//! Casting one value, as Kafka Connect's `Cast.castValueToType`.

use base64::Engine;
use sluice_connect_api::schema::logical::{Decimal, LogicalType};
use sluice_connect_api::schema::{DataError, Schema, SchemaType, Value};

use crate::util::java::{
    decimal_double_value, decimal_float_value, decimal_long_value, double_to_string,
    float_to_string, parse_double, parse_float,
};
use crate::util::time::{MILLIS_PER_DAY, format_like_values};

pub(super) const INPUT_TYPES: &[SchemaType] = &[
    SchemaType::Int8,
    SchemaType::Int16,
    SchemaType::Int32,
    SchemaType::Int64,
    SchemaType::Float32,
    SchemaType::Float64,
    SchemaType::Boolean,
    SchemaType::String,
    SchemaType::Bytes,
];

pub(super) const OUTPUT_TYPES: &[SchemaType] = &[
    SchemaType::Int8,
    SchemaType::Int16,
    SchemaType::Int32,
    SchemaType::Int64,
    SchemaType::Float32,
    SchemaType::Float64,
    SchemaType::Boolean,
    SchemaType::String,
];

/// `[INT8, INT16, ...]`, as Java prints an `EnumSet`.
pub(super) fn type_list(types: &[SchemaType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.upper_name()).collect();
    format!("[{}]", names.join(", "))
}

/// A value as the Java number or object Kafka Connect would hold.
enum Source<'a> {
    Integer(i64),
    Float(f32),
    Double(f64),
    Decimal(Decimal),
    Boolean(bool),
    Str(&'a str),
    Bytes(&'a [u8]),
    /// A Date, Time or Timestamp, as epoch milliseconds, cast to a string.
    Date(i64),
}

fn out_of_range(text: &str) -> DataError {
    DataError::new(format!(
        "Value ({text}) was out of range for requested data type"
    ))
}

fn unexpected(class: &str) -> DataError {
    DataError::new(format!(
        "Unexpected type in Cast transformation: class {class}"
    ))
}

/// Casts `value` (of `schema`, or schemaless) to `target`; null stays null.
pub(super) fn cast(
    schema: Option<&Schema>,
    value: &Value,
    target: SchemaType,
) -> Result<Value, DataError> {
    let Some(value_type) = value.schema_type() else {
        return Ok(Value::Null);
    };
    let input = schema.map_or(value_type, |s| s.schema_type);
    if !INPUT_TYPES.contains(&input) {
        return Err(DataError::new(format!(
            "Cast transformation does not support casting from {input}; supported types are {}",
            type_list(INPUT_TYPES)
        )));
    }
    let logical = schema.and_then(LogicalType::of);
    let decimal_schema = schema.filter(|_| logical == Some(LogicalType::Decimal));
    let source = match (logical, value) {
        (_, _) if decimal_schema.is_some() => match decimal_schema {
            Some(s) => Source::Decimal(Decimal::from_value(s, value)?),
            None => return Ok(Value::Null),
        },
        (Some(LogicalType::Date), Value::Int32(days)) if target == SchemaType::String => {
            Source::Date(i64::from(*days) * MILLIS_PER_DAY)
        }
        (Some(LogicalType::Time), Value::Int32(ms)) if target == SchemaType::String => {
            Source::Date(i64::from(*ms))
        }
        (Some(LogicalType::Timestamp), Value::Int64(ms)) if target == SchemaType::String => {
            Source::Date(*ms)
        }
        (_, Value::Int8(v)) => Source::Integer(i64::from(*v)),
        (_, Value::Int16(v)) => Source::Integer(i64::from(*v)),
        (_, Value::Int32(v)) => Source::Integer(i64::from(*v)),
        (_, Value::Int64(v)) => Source::Integer(*v),
        (_, Value::Float32(v)) => Source::Float(*v),
        (_, Value::Float64(v)) => Source::Double(*v),
        (_, Value::Boolean(v)) => Source::Boolean(*v),
        (_, Value::String(s)) => Source::Str(s),
        (_, Value::Bytes(b)) => Source::Bytes(b),
        (_, other) => {
            return Err(DataError::new(format!(
                "Cast transformation does not support casting from {}; supported types are {}",
                other.schema_type().map_or("null", SchemaType::upper_name),
                type_list(INPUT_TYPES)
            )));
        }
    };
    match target {
        SchemaType::String => Ok(Value::String(to_string(&source))),
        SchemaType::Boolean => to_boolean(&source).map(Value::Boolean),
        SchemaType::Float32 => to_f32(&source).map(Value::Float32),
        SchemaType::Float64 => to_f64(&source).map(Value::Float64),
        integer => to_integer(&source, integer),
    }
}

fn to_string(source: &Source<'_>) -> String {
    match source {
        Source::Integer(v) => v.to_string(),
        Source::Float(v) => float_to_string(*v),
        Source::Double(v) => double_to_string(*v),
        Source::Decimal(d) => d.to_java_string(),
        Source::Boolean(b) => b.to_string(),
        Source::Str(s) => (*s).to_string(),
        Source::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Source::Date(ms) => format_like_values(*ms),
    }
}

fn to_boolean(source: &Source<'_>) -> Result<bool, DataError> {
    #[allow(clippy::cast_possible_truncation)]
    Ok(match source {
        Source::Integer(v) => *v != 0,
        Source::Float(v) => (*v as i64) != 0,
        Source::Double(v) => (*v as i64) != 0,
        Source::Decimal(d) => decimal_long_value(d) != 0,
        Source::Boolean(b) => *b,
        Source::Str(s) => s.eq_ignore_ascii_case("true"),
        Source::Bytes(_) | Source::Date(_) => return Err(unexpected("[B")),
    })
}

#[allow(clippy::cast_precision_loss)]
fn to_f32(source: &Source<'_>) -> Result<f32, DataError> {
    #[allow(clippy::cast_possible_truncation)]
    Ok(match source {
        Source::Integer(v) => *v as f32,
        Source::Float(v) => *v,
        Source::Double(v) => *v as f32,
        Source::Decimal(d) => decimal_float_value(d),
        Source::Boolean(b) => f32::from(u8::from(*b)),
        Source::Str(s) => parse_float(s).ok_or_else(|| out_of_range(s))?,
        Source::Bytes(_) | Source::Date(_) => return Err(unexpected("[B")),
    })
}

#[allow(clippy::cast_precision_loss)]
fn to_f64(source: &Source<'_>) -> Result<f64, DataError> {
    Ok(match source {
        Source::Integer(v) => *v as f64,
        Source::Float(v) => f64::from(*v),
        Source::Double(v) => *v,
        Source::Decimal(d) => decimal_double_value(d),
        Source::Boolean(b) => f64::from(u8::from(*b)),
        Source::Str(s) => parse_double(s).ok_or_else(|| out_of_range(s))?,
        Source::Bytes(_) | Source::Date(_) => return Err(unexpected("[B")),
    })
}

/// Java's narrowing: integers keep their low bits; floats convert to `int`
/// (saturating, NaN is 0) before narrowing to byte or short, to `long` for
/// long; strings parse in the target's range.
#[allow(clippy::cast_possible_truncation)]
fn to_integer(source: &Source<'_>, target: SchemaType) -> Result<Value, DataError> {
    let wide: i64 = match source {
        Source::Integer(v) => *v,
        Source::Float(v) if target == SchemaType::Int64 => *v as i64,
        Source::Float(v) => i64::from(*v as i32),
        Source::Double(v) if target == SchemaType::Int64 => *v as i64,
        Source::Double(v) => i64::from(*v as i32),
        Source::Decimal(d) => decimal_long_value(d),
        Source::Boolean(b) => i64::from(*b),
        Source::Str(s) => {
            return match target {
                SchemaType::Int8 => s.parse().map(Value::Int8),
                SchemaType::Int16 => s.parse().map(Value::Int16),
                SchemaType::Int32 => s.parse().map(Value::Int32),
                _ => s.parse().map(Value::Int64),
            }
            .map_err(|_| out_of_range(s));
        }
        Source::Bytes(_) | Source::Date(_) => return Err(unexpected("[B")),
    };
    Ok(match target {
        SchemaType::Int8 => Value::Int8(wide as i8),
        SchemaType::Int16 => Value::Int16(wide as i16),
        SchemaType::Int32 => Value::Int32(wide as i32),
        _ => Value::Int64(wide),
    })
}

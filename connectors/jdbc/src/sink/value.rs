//! Connect values as what a column receives ([`SqlValue`]), and the
//! PostgreSQL text form used by COPY.

use sluice_connect_api::schema::logical::{self, Decimal, LogicalType};
use sluice_connect_api::schema::{Schema, SchemaType, Value};

use super::fields::JSON_TEXT;
use crate::types::time::{DbZone, MICROS_PER_DAY, civil_from_days, civil_from_micros};

/// A value bound for a column.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Bool(bool),
    Int(i64),
    F32(f32),
    F64(f64),
    Decimal(Decimal),
    Text(String),
    Bytes(Vec<u8>),
    /// Days since the epoch.
    Date(i32),
    /// µs since midnight.
    Time(i64),
    /// µs since the epoch (an instant).
    Timestamp(i64),
    /// JSON text (nested structs, maps, arrays of non-primitives).
    Json(String),
    Array(Vec<SqlValue>),
}

/// `value` (of `schema`) as a column value; a null takes the schema's
/// default (`replace.null.with.default`).
pub fn to_sql(schema: &Schema, value: &Value) -> Result<SqlValue, String> {
    to_sql_with(schema, value, true)
}

/// [`to_sql`], with `use_default` false writing a null as NULL.
pub fn to_sql_with(schema: &Schema, value: &Value, use_default: bool) -> Result<SqlValue, String> {
    if value.is_null() {
        return Ok(match &schema.default {
            Some(d) if use_default && !d.is_null() => to_sql(schema, d)?,
            _ => SqlValue::Null,
        });
    }
    if let Some(lt) = LogicalType::of(schema) {
        return Ok(match (lt, value) {
            (LogicalType::Decimal, _) => {
                SqlValue::Decimal(Decimal::from_value(schema, value).map_err(|e| e.to_string())?)
            }
            (LogicalType::Date, Value::Int32(d)) => SqlValue::Date(*d),
            (LogicalType::Time, Value::Int32(ms)) => SqlValue::Time(i64::from(*ms) * 1000),
            (LogicalType::Timestamp, Value::Int64(ms)) => {
                SqlValue::Timestamp(ms.saturating_mul(1000))
            }
            (lt, v) => return Err(format!("{} value {v:?} is not valid", lt.name())),
        });
    }
    Ok(match (schema.schema_type, value) {
        (_, Value::Boolean(b)) => SqlValue::Bool(*b),
        (_, Value::Int8(i)) => SqlValue::Int(i64::from(*i)),
        (_, Value::Int16(i)) => SqlValue::Int(i64::from(*i)),
        (_, Value::Int32(i)) => SqlValue::Int(i64::from(*i)),
        (_, Value::Int64(i)) => SqlValue::Int(*i),
        (_, Value::Float32(f)) => SqlValue::F32(*f),
        (_, Value::Float64(f)) => SqlValue::F64(*f),
        (SchemaType::String, Value::String(s)) if schema.name.as_deref() == Some(JSON_TEXT) => {
            SqlValue::Text(s.clone())
        }
        (_, Value::String(s)) => SqlValue::Text(s.clone()),
        (_, Value::Bytes(b)) => SqlValue::Bytes(b.clone()),
        (SchemaType::Array, Value::Array(items))
            if schema
                .value_schema
                .as_ref()
                .is_some_and(|e| e.schema_type.is_primitive()) =>
        {
            let elem = schema.value_schema.as_deref().unwrap_or(schema);
            SqlValue::Array(
                items
                    .iter()
                    .map(|v| to_sql(elem, v))
                    .collect::<Result<_, _>>()?,
            )
        }
        (_, v @ (Value::Array(_) | Value::Map(_) | Value::Struct(_))) => {
            SqlValue::Json(to_json(v).to_string())
        }
        (_, Value::Null) => SqlValue::Null,
    })
}

/// A Connect value as JSON, for nested values written to a JSON column.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Int8(i) => J::from(*i),
        Value::Int16(i) => J::from(*i),
        Value::Int32(i) => J::from(*i),
        Value::Int64(i) => J::from(*i),
        Value::Float32(f) => J::from(f64::from(*f)),
        Value::Float64(f) => J::from(*f),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(b.iter().map(|x| format!("{x:02x}")).collect()),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Struct(s) => J::Object(
            s.schema()
                .fields
                .iter()
                .zip(s.values())
                .map(|(f, v)| (f.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// How a destination column takes text (PostgreSQL COPY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgColumnType {
    /// `timestamp without time zone`: wall-clock time in db.timezone.
    WallTimestamp,
    /// `timestamptz` and everything else.
    Other,
}

/// Appends `v` in COPY's text format (tab-separated, `\N` for NULL).
pub fn copy_text(out: &mut String, v: &SqlValue, col: PgColumnType, zone: &DbZone) {
    match v {
        SqlValue::Null => out.push_str("\\N"),
        // Nothing to escape in these: written straight into the buffer.
        SqlValue::Bool(_)
        | SqlValue::Int(_)
        | SqlValue::F32(_)
        | SqlValue::F64(_)
        | SqlValue::Decimal(_)
        | SqlValue::Date(_)
        | SqlValue::Time(_)
        | SqlValue::Timestamp(_) => literal(out, v, col, zone, false),
        SqlValue::Text(s) | SqlValue::Json(s) => escape_copy(out, s),
        other => {
            let mut text = String::new();
            literal(&mut text, other, col, zone, false);
            escape_copy(out, &text);
        }
    }
}

/// Appends `v` as an SQL literal (a quoted string PostgreSQL coerces to
/// the column's type, or NULL).
pub fn sql_literal(out: &mut String, v: &SqlValue, col: PgColumnType, zone: &DbZone) {
    if *v == SqlValue::Null {
        out.push_str("NULL");
        return;
    }
    let mut text = String::new();
    literal(&mut text, v, col, zone, false);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
}

fn escape_copy(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// PostgreSQL's input text of a value (inside arrays, elements are
/// quoted).
fn literal(out: &mut String, v: &SqlValue, col: PgColumnType, zone: &DbZone, in_array: bool) {
    use std::fmt::Write;
    match v {
        SqlValue::Null => out.push_str("NULL"),
        SqlValue::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        SqlValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        SqlValue::F32(f) => float(out, f64::from(*f), Some(*f)),
        SqlValue::F64(f) => float(out, *f, None),
        SqlValue::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        SqlValue::Text(s) | SqlValue::Json(s) => {
            if in_array {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(s);
            }
        }
        SqlValue::Bytes(b) => {
            if in_array {
                out.push('"');
                out.push_str("\\\\x");
            } else {
                out.push_str("\\x");
            }
            for x in b {
                let _ = write!(out, "{x:02x}");
            }
            if in_array {
                out.push('"');
            }
        }
        SqlValue::Date(d) => {
            let (y, m, day) = civil_from_days(i64::from(*d));
            let _ = write!(out, "{y:04}-{m:02}-{day:02}");
        }
        SqlValue::Time(us) => {
            let us = us.rem_euclid(MICROS_PER_DAY);
            let s = us / 1_000_000;
            let _ = write!(
                out,
                "{:02}:{:02}:{:02}.{:06}",
                s / 3600,
                s / 60 % 60,
                s % 60,
                us % 1_000_000
            );
        }
        SqlValue::Timestamp(us) => {
            let (shown, suffix) = match col {
                PgColumnType::WallTimestamp => (zone.utc_to_wall(*us), ""),
                PgColumnType::Other => (*us, "+00"),
            };
            let (y, mo, d, h, mi, s, micros) = civil_from_micros(shown);
            if y < 1 {
                // Year 0 is 1 BC in PostgreSQL's notation.
                let _ = write!(
                    out,
                    "{:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{micros:06}{suffix} BC",
                    1 - y
                );
            } else {
                let _ = write!(
                    out,
                    "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{micros:06}{suffix}"
                );
            }
        }
        SqlValue::Array(items) => {
            out.push('{');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                literal(out, item, col, zone, true);
            }
            out.push('}');
        }
    }
}

fn float(out: &mut String, f: f64, single: Option<f32>) {
    use std::fmt::Write;
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else if let Some(s) = single {
        // Shortest text that reads back as the same f32.
        let _ = write!(out, "{s}");
    } else {
        let _ = write!(out, "{f}");
    }
}

/// The Decimal scale of a schema, for DDL.
pub fn decimal_scale(schema: &Schema) -> i32 {
    logical::decimal_scale(schema).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::SchemaBuilder;

    fn text(v: &SqlValue, col: PgColumnType) -> String {
        let mut s = String::new();
        copy_text(&mut s, v, col, &DbZone::utc());
        s
    }

    #[test]
    fn copy_text_escapes_and_formats() {
        assert_eq!(
            text(&SqlValue::Text("a\tb\\c\nd".into()), PgColumnType::Other),
            "a\\tb\\\\c\\nd"
        );
        assert_eq!(text(&SqlValue::Null, PgColumnType::Other), "\\N");
        assert_eq!(
            text(&SqlValue::Bytes(vec![0, 255]), PgColumnType::Other),
            "\\\\x00ff"
        );
        assert_eq!(
            text(
                &SqlValue::Decimal(Decimal::new(-12345, 3)),
                PgColumnType::Other
            ),
            "-12.345"
        );
        assert_eq!(
            text(&SqlValue::Timestamp(1_500_000), PgColumnType::Other),
            "1970-01-01 00:00:01.500000+00"
        );
        assert_eq!(
            text(&SqlValue::Timestamp(1_500_000), PgColumnType::WallTimestamp),
            "1970-01-01 00:00:01.500000"
        );
        assert_eq!(text(&SqlValue::Date(-1), PgColumnType::Other), "1969-12-31");
        assert_eq!(
            text(&SqlValue::Time(3_723_000_004), PgColumnType::Other),
            "01:02:03.000004"
        );
        assert_eq!(
            text(
                &SqlValue::Array(vec![SqlValue::Text("x,\"y\"".into()), SqlValue::Null]),
                PgColumnType::Other
            ),
            "{\"x,\\\\\"y\\\\\"\",NULL}"
        );
        assert_eq!(text(&SqlValue::F32(0.1), PgColumnType::Other), "0.1");
        assert_eq!(text(&SqlValue::F64(f64::NAN), PgColumnType::Other), "NaN");
    }

    #[test]
    fn sql_literals_are_quoted_strings() {
        let mut s = String::new();
        sql_literal(
            &mut s,
            &SqlValue::Text("it's".into()),
            PgColumnType::Other,
            &DbZone::utc(),
        );
        assert_eq!(s, "'it''s'");
        let mut s = String::new();
        sql_literal(&mut s, &SqlValue::Null, PgColumnType::Other, &DbZone::utc());
        assert_eq!(s, "NULL");
    }

    #[test]
    fn connect_values_map_to_column_values() {
        let dec = logical::decimal_schema(2).build();
        assert_eq!(
            to_sql(&dec, &Decimal::new(150, 2).to_value()).unwrap(),
            SqlValue::Decimal(Decimal::new(150, 2))
        );
        let ts = logical::timestamp_schema().build();
        assert_eq!(
            to_sql(&ts, &Value::Int64(5)).unwrap(),
            SqlValue::Timestamp(5000)
        );
        let with_default = SchemaBuilder::int32()
            .optional()
            .default_value(Value::Int32(7))
            .build();
        assert_eq!(
            to_sql(&with_default, &Value::Null).unwrap(),
            SqlValue::Int(7)
        );
        let nested = SchemaBuilder::struct_().field("a", Schema::int32()).build();
        let s = sluice_connect_api::schema::Struct::new(nested.clone())
            .put("a", Value::Int32(1))
            .unwrap();
        assert_eq!(
            to_sql(&nested, &Value::Struct(s)).unwrap(),
            SqlValue::Json("{\"a\":1}".into())
        );
    }
}

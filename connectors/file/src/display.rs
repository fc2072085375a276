//! How the sink writes a value as a line: like Java's `toString` of the
//! object Kafka Connect would hold, so files match Kafka's FileStreamSink.

use std::fmt::Write;

use sluice_connect_api::schema::Value;

pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => push(out, v),
        Value::Int16(v) => push(out, v),
        Value::Int32(v) => push(out, v),
        Value::Int64(v) => push(out, v),
        Value::Float32(v) => push_float(out, f64::from(*v)),
        Value::Float64(v) => push_float(out, *v),
        Value::Boolean(v) => push(out, v),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            // Kafka Connect's Struct.toString: non-null fields only.
            out.push_str("Struct{");
            let mut first = true;
            for (field, v) in s.schema().fields.iter().zip(s.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&field.name);
                out.push('=');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn push(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

fn push_float(out: &mut String, v: f64) {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        let _ = write!(out, "{v:.1}");
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_connect_api::schema::{Schema, SchemaBuilder, Struct};

    fn show(v: &Value) -> String {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }

    #[test]
    fn like_java_to_string() {
        assert_eq!(show(&Value::String("a b".into())), "a b");
        assert_eq!(show(&Value::Null), "null");
        assert_eq!(show(&Value::Float64(2.0)), "2.0");
        assert_eq!(
            show(&Value::Array(vec![Value::Int32(1), Value::Int32(2)])),
            "[1, 2]"
        );
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .field("c", Schema::string())
            .build();
        let s = Struct::new(schema)
            .put("a", Value::Int32(1))
            .unwrap()
            .put("c", Value::String("x".into()))
            .unwrap();
        assert_eq!(show(&Value::Struct(s)), "Struct{a=1,c=x}");
    }
}

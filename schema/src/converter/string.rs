//! [`StringConverter`]: values as their string form, in UTF-8.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::java::{java_date, java_double, java_float};
use super::{ConvertError, Converter, ConverterConfig};
use crate::logical::{Decimal, LogicalType, MILLIS_PER_DAY};
use crate::schema::{Schema, SchemaRef};
use crate::value::{SchemaAndValue, Value};

/// Kafka Connect's `org.apache.kafka.connect.storage.StringConverter`.
///
/// Writing ignores the schema except to recognise logical types and writes
/// the value's string form, as Java's `Object.toString()` would:
///
/// - strings as they are; integers in decimal; booleans `true`/`false`;
///   floats and doubles as `Float.toString`/`Double.toString` (`1.0E10`);
/// - Decimal as `BigDecimal.toString()` (`1.56`, `1E-7`); Date, Time and
///   Timestamp as `java.util.Date.toString()` in UTC
///   (`Thu Jan 01 00:00:00 UTC 1970`);
/// - arrays as `[a, b]`, maps as `{k=v, k2=v2}` (Java's collection
///   `toString`, in entry order), structs as `Struct{a=1,b=x}` listing the
///   non-null fields (Kafka's `Struct.toString`), nested nulls as `null`;
/// - a top-level `BYTES` value passes through unchanged (Java would print a
///   useless `[B@1b6d3586`); bytes nested in a container are written as
///   base64.
///
/// Reading gives an optional string schema and the text; null bytes give
/// `(Some(OPTIONAL_STRING), Null)`, as Kafka's (not `SchemaAndValue::NULL`).
/// Invalid UTF-8 is an error (Java would replace it with U+FFFD).
#[derive(Debug, Clone, Default)]
pub struct StringConverter {
    _private: (),
}

impl StringConverter {
    pub const CLASS_NAME: &'static str = "org.apache.kafka.connect.storage.StringConverter";
    pub const ALIASES: &'static [&'static str] = &["StringConverter", "String"];

    /// Settings with an encoding (`converter.encoding`,
    /// `serializer.encoding`, `deserializer.encoding`) must name UTF-8: only
    /// UTF-8 is supported. Kafka's default is UTF-8 too.
    pub fn new(config: &ConverterConfig) -> Result<Self, ConvertError> {
        for key in [
            "converter.encoding",
            "serializer.encoding",
            "deserializer.encoding",
        ] {
            if let Some(encoding) = config.get(key)
                && !(encoding.eq_ignore_ascii_case("UTF-8")
                    || encoding.eq_ignore_ascii_case("UTF8"))
            {
                return Err(ConvertError::config(
                    key,
                    format!("unsupported encoding \"{encoding}\": only UTF-8 is supported"),
                ));
            }
        }
        Ok(Self::default())
    }
}

impl Converter for StringConverter {
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let mut out = Vec::new();
        Ok(self
            .from_connect_into(topic, schema, value, &mut out)?
            .then_some(out))
    }

    fn borrowed_bytes<'v>(&self, schema: Option<&SchemaRef>, value: &'v Value) -> Option<&'v [u8]> {
        match value {
            Value::String(s) => Some(s.as_bytes()),
            Value::Bytes(b) if logical(schema.map(|s| &**s), value).is_none() => Some(b),
            _ => None,
        }
    }

    fn from_connect_into(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        let schema = schema.map(|s| &**s);
        match value {
            Value::Null => return Ok(false),
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bytes(b) if logical(schema, value).is_none() => out.extend_from_slice(b),
            other => {
                // The cleared buffer is valid (empty) UTF-8: write the text
                // into it without a new allocation.
                let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
                to_java_string(&mut text, schema, other)?;
                *out = text.into_bytes();
            }
        }
        Ok(true)
    }

    fn to_connect(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let value = match bytes {
            None => Value::Null,
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::String(s.to_string()),
                Err(e) => {
                    return Err(ConvertError::Deserialize(format!(
                        "Failed to deserialize string: invalid UTF-8 at byte {}",
                        e.valid_up_to()
                    )));
                }
            },
        };
        Ok(SchemaAndValue::new(Some(Schema::optional_string()), value))
    }
}

/// The logical type of `schema` when `value` has its physical type.
fn logical(schema: Option<&Schema>, value: &Value) -> Option<LogicalType> {
    let schema = schema?;
    let logical = LogicalType::of(schema)?;
    (value.schema_type() == Some(logical.physical_type())
        && schema.schema_type == logical.physical_type())
    .then_some(logical)
}

/// Appends the text Java's `toString()` gives for the object Kafka Connect
/// would hold for `value` of `schema` (logical types included): what
/// StringConverter and Kafka's FileStreamSink write.
pub fn to_java_string(
    out: &mut String,
    schema: Option<&Schema>,
    value: &Value,
) -> Result<(), ConvertError> {
    if let (Some(logical), Some(schema)) = (logical(schema, value), schema) {
        match (logical, value) {
            (LogicalType::Decimal, _) => {
                out.push_str(&Decimal::from_value(schema, value)?.to_java_string())
            }
            (LogicalType::Date, Value::Int32(days)) => {
                out.push_str(&java_date(i64::from(*days) * MILLIS_PER_DAY));
            }
            (LogicalType::Time, Value::Int32(ms)) => out.push_str(&java_date(i64::from(*ms))),
            (LogicalType::Timestamp, Value::Int64(ms)) => out.push_str(&java_date(*ms)),
            _ => {}
        }
        return Ok(());
    }
    let child = |f: fn(&Schema) -> Option<&SchemaRef>| schema.and_then(f).map(|s| &**s);
    match value {
        Value::Null => out.push_str("null"),
        Value::Int8(v) => out.push_str(&v.to_string()),
        Value::Int16(v) => out.push_str(&v.to_string()),
        Value::Int32(v) => out.push_str(&v.to_string()),
        Value::Int64(v) => out.push_str(&v.to_string()),
        Value::Float32(v) => out.push_str(&java_float(*v)),
        Value::Float64(v) => out.push_str(&java_double(*v)),
        Value::Boolean(v) => out.push_str(if *v { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Bytes(b) => out.push_str(&BASE64.encode(b)),
        Value::Array(items) => {
            let elem = child(|s| s.value_schema.as_ref());
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                to_java_string(out, elem, item)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            let (ks, vs) = (
                child(|s| s.key_schema.as_ref()),
                child(|s| s.value_schema.as_ref()),
            );
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                to_java_string(out, ks, k)?;
                out.push('=');
                to_java_string(out, vs, v)?;
            }
            out.push('}');
        }
        Value::Struct(st) => {
            out.push_str("Struct{");
            let mut first = true;
            for (field, v) in st.schema().fields.iter().zip(st.values()) {
                if v.is_null() {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&field.name);
                out.push('=');
                to_java_string(out, Some(&field.schema), v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical::{date_schema, decimal_schema, time_schema, timestamp_schema};
    use crate::schema::SchemaBuilder;
    use crate::value::Struct;

    fn conv() -> StringConverter {
        StringConverter::new(&ConverterConfig::default()).unwrap()
    }

    fn write(schema: Option<SchemaRef>, value: Value) -> String {
        let bytes = conv()
            .from_connect("t", schema.as_ref(), &value)
            .unwrap()
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }

    /// The hot path's borrowed bytes are exactly what `from_connect` and
    /// `from_connect_into` give, or absent.
    #[test]
    fn borrowed_bytes_match_from_connect() {
        let dec = decimal_schema(2).build();
        let cases: Vec<(Option<SchemaRef>, Value)> = vec![
            (Some(Schema::string()), Value::from("héllo")),
            (None, Value::Bytes(vec![0xff, 0x00])),
            (Some(dec), Value::Bytes(vec![0x00, 0x9c])),
            (Some(Schema::int32()), Value::Int32(7)),
            (None, Value::Null),
        ];
        let byte_array = super::super::ByteArrayConverter::default();
        let converters: [&dyn Converter; 2] = [&conv(), &byte_array];
        for c in converters {
            for (schema, value) in &cases {
                let whole = c.from_connect("t", schema.as_ref(), value);
                let mut buf = b"old bytes".to_vec();
                let into = c.from_connect_into("t", schema.as_ref(), value, &mut buf);
                if let Some(b) = c.borrowed_bytes(schema.as_ref(), value) {
                    let expected = whole.as_ref().ok().cloned().flatten();
                    assert_eq!(expected.as_deref(), Some(b));
                }
                match (whole, into) {
                    (Ok(Some(w)), Ok(true)) => assert_eq!(w, buf),
                    (Ok(None), Ok(false)) => {}
                    (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                    (w, i) => {
                        panic!("{c:?} {value:?}: from_connect {w:?}, from_connect_into {i:?}")
                    }
                }
            }
        }
        assert_eq!(
            conv().borrowed_bytes(None, &Value::from("x")),
            Some(&b"x"[..])
        );
        assert_eq!(conv().borrowed_bytes(None, &Value::Int32(1)), None);
    }

    #[test]
    fn round_trip() {
        let c = conv();
        for text in ["hello", "", "héllo 😀", "{\"a\":1}"] {
            let bytes = c
                .from_connect("t", Some(&Schema::string()), &Value::from(text))
                .unwrap();
            assert_eq!(bytes.as_deref(), Some(text.as_bytes()));
            let back = c.to_connect("t", bytes.as_deref()).unwrap();
            assert_eq!(back.schema, Some(Schema::optional_string()));
            assert_eq!(back.value, Value::from(text));
        }
    }

    #[test]
    fn nulls() {
        let c = conv();
        assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            c.from_connect("t", Some(&Schema::optional_string()), &Value::Null)
                .unwrap(),
            None
        );
        let back = c.to_connect("t", None).unwrap();
        assert_eq!(
            back,
            SchemaAndValue::new(Some(Schema::optional_string()), Value::Null)
        );
    }

    #[test]
    fn java_to_string_forms() {
        assert_eq!(write(None, Value::Int32(-42)), "-42");
        assert_eq!(
            write(Some(Schema::int64()), Value::Int64(i64::MAX)),
            "9223372036854775807"
        );
        assert_eq!(write(None, Value::Boolean(true)), "true");
        assert_eq!(write(None, Value::Float64(1e10)), "1.0E10");
        assert_eq!(write(None, Value::Float64(100.0)), "100.0");
        assert_eq!(write(None, Value::Float32(0.1)), "0.1");
        let raw = conv()
            .from_connect("t", None, &Value::Bytes(b"raw\xff".to_vec()))
            .unwrap();
        assert_eq!(raw.as_deref(), Some(&b"raw\xff"[..]));
        assert_eq!(
            write(
                None,
                Value::Array(vec![
                    Value::Int64(1),
                    Value::from("a"),
                    Value::Null,
                    Value::Bytes(vec![1, 2])
                ])
            ),
            "[1, a, null, AQI=]"
        );
        assert_eq!(
            write(
                None,
                Value::Map(vec![
                    (Value::from("k"), Value::Int32(1)),
                    (Value::Int32(2), Value::Boolean(false))
                ])
            ),
            "{k=1, 2=false}"
        );
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::int32())
            .field("b", Schema::optional_string())
            .field("c", SchemaBuilder::array(Schema::string()).build())
            .build();
        let s = Struct::new(schema.clone())
            .put("a", Value::Int32(1))
            .unwrap()
            .put("c", Value::Array(vec![Value::from("x")]))
            .unwrap();
        assert_eq!(write(Some(schema), Value::Struct(s)), "Struct{a=1,c=[x]}");
    }

    /// Kafka's StringConverter wrote this for the same struct (Java's
    /// toString of Struct, List, Map, BigDecimal and java.util.Date in UTC).
    #[test]
    fn struct_like_kafka() {
        let address = SchemaBuilder::struct_()
            .optional()
            .field("street", Schema::string())
            .field("zip", Schema::optional_int32())
            .build();
        let schema = SchemaBuilder::struct_()
            .field("id", Schema::int64())
            .field("name", Schema::optional_string())
            .field("score", Schema::float64())
            .field("ratio", Schema::optional_float32())
            .field("tags", SchemaBuilder::array(Schema::string()).build())
            .field(
                "attrs",
                SchemaBuilder::map(Schema::string(), Schema::optional_int32()).build(),
            )
            .field(
                "counts",
                SchemaBuilder::map(Schema::int32(), Schema::string()).build(),
            )
            .field("balance", decimal_schema(2).build())
            .field("birthday", date_schema().build())
            .field("created", timestamp_schema().build())
            .field("address", address.clone())
            .build();
        let value = Struct::new(schema.clone())
            .put("id", Value::Int64(42))
            .and_then(|s| s.put("score", Value::Float64(1e10)))
            .and_then(|s| s.put("ratio", Value::Float32(0.5)))
            .and_then(|s| {
                s.put(
                    "tags",
                    Value::Array(vec![Value::from("a"), Value::from("b/c")]),
                )
            })
            .and_then(|s| {
                s.put(
                    "attrs",
                    Value::Map(vec![
                        (Value::from("x"), Value::Int32(1)),
                        (Value::from("y"), Value::Null),
                    ]),
                )
            })
            .and_then(|s| {
                s.put(
                    "counts",
                    Value::Map(vec![
                        (Value::Int32(1), Value::from("one")),
                        (Value::Int32(2), Value::from("two")),
                    ]),
                )
            })
            .and_then(|s| s.put("balance", Value::Bytes(vec![0x30, 0x39])))
            .and_then(|s| s.put("birthday", Value::Int32(19_000)))
            .and_then(|s| s.put("created", Value::Int64(1_700_000_000_000)))
            .and_then(|s| {
                let a = Struct::new(address).put("street", Value::from("Main"))?;
                s.put("address", Value::Struct(a))
            })
            .unwrap();
        assert_eq!(
            write(Some(schema), Value::Struct(value)),
            "Struct{id=42,score=1.0E10,ratio=0.5,tags=[a, b/c],attrs={x=1, y=null},counts={1=one, 2=two},\
             balance=123.45,birthday=Sat Jan 08 00:00:00 UTC 2022,created=Tue Nov 14 22:13:20 UTC 2023,\
             address=Struct{street=Main}}"
        );
    }

    #[test]
    fn logical_types() {
        let dec = decimal_schema(2).build();
        assert_eq!(write(Some(dec), Value::Bytes(vec![0x00, 0x9c])), "1.56");
        let tiny = decimal_schema(8).build();
        assert_eq!(write(Some(tiny), Value::Bytes(vec![15])), "1.5E-7");
        assert_eq!(
            write(Some(date_schema().build()), Value::Int32(10_000)),
            "Mon May 19 00:00:00 UTC 1997"
        );
        assert_eq!(
            write(Some(time_schema().build()), Value::Int32(14_400_000)),
            "Thu Jan 01 04:00:00 UTC 1970"
        );
        assert_eq!(
            write(Some(timestamp_schema().build()), Value::Int64(0)),
            "Thu Jan 01 00:00:00 UTC 1970"
        );
        let schema = SchemaBuilder::array(decimal_schema(1).build()).build();
        assert_eq!(
            write(Some(schema), Value::Array(vec![Value::Bytes(vec![0xff])])),
            "[-0.1]"
        );
        let bad = SchemaBuilder::bytes()
            .name(crate::logical::DECIMAL_NAME)
            .build();
        assert!(
            conv()
                .from_connect("t", Some(&bad), &Value::Bytes(vec![1]))
                .is_err()
        );
    }

    #[test]
    fn encodings() {
        for ok in ["UTF-8", "utf8", " Utf-8 "] {
            let cfg = ConverterConfig::new(false).with("converter.encoding", ok);
            assert!(StringConverter::new(&cfg).is_ok(), "{ok}");
        }
        for key in [
            "converter.encoding",
            "serializer.encoding",
            "deserializer.encoding",
        ] {
            let cfg = ConverterConfig::new(true).with(key, "UTF-16");
            match StringConverter::new(&cfg).unwrap_err() {
                ConvertError::Config { key: k, message } => {
                    assert_eq!(k, key);
                    assert!(message.contains("UTF-16"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8() {
        let err = conv().to_connect("t", Some(b"ok\xc3\x28")).unwrap_err();
        assert!(matches!(err, ConvertError::Deserialize(_)), "{err:?}");
        assert!(err.to_string().contains("invalid UTF-8 at byte 2"), "{err}");
    }
}

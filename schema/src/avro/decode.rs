//! Avro binary → Connect value.
//!
//! `apache_avro` reads the bytes (so its checks on malformed data apply);
//! the result is then mapped onto the Connect schema, moving strings and
//! byte arrays rather than copying them.

use std::sync::Once;

use apache_avro::Schema as Avro;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AValue;
use apache_avro::writer::datum::GenericDatumWriter;

use super::encode::unknown_ref;
use super::error::{AvroError, Path};
use super::named::NamedIndex;
use super::to_avro::is_union_schema;
use super::to_avro_default::type_name;
use crate::logical::{self, Decimal, LogicalType, decimal_scale};
use crate::schema::{SchemaRef, SchemaType};
use crate::value::{Struct, Value};

/// The most `apache_avro` may allocate for one string, byte array or
/// collection while decoding (its process-wide `max_allocation_bytes`,
/// set on the first decode unless something set it before): a length
/// prefix in garbage data cannot make it reserve more.
pub const MAX_ALLOCATION_BYTES: usize = 256 * 1024 * 1024;

fn limit_allocations() {
    static LIMIT: Once = Once::new();
    LIMIT.call_once(|| {
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    });
}

/// Decodes Avro binary written with `writer` into a Connect value of
/// `connect` (the schema [`to_connect_schema`](super::to_connect_schema)
/// derives from `writer`).
///
/// Truncated or garbage bytes give [`AvroError::Malformed`]; values that
/// do not fit the Connect schema (an int out of int8 range, a time of day
/// out of range) give [`AvroError::Data`]. Bytes after the datum are
/// ignored, as Confluent's deserializer ignores them. Maps come back in
/// the order `apache_avro` yields them (Avro maps are unordered).
pub fn decode_value(writer: &Avro, connect: &SchemaRef, bytes: &[u8]) -> Result<Value, AvroError> {
    limit_allocations();
    let mut reader = bytes;
    let datum = GenericDatumReader::builder(writer)
        .build()
        .and_then(|r| r.read_value(&mut reader))
        .map_err(|e| AvroError::malformed(&Path::Root, e.to_string()))?;
    Decoder {
        named: NamedIndex::new(writer),
    }
    .value(connect, writer, datum, &Path::Root)
}

struct Decoder<'s> {
    named: NamedIndex<'s>,
}

fn mismatch(conn: &SchemaRef, got: &AValue, path: &Path<'_>) -> AvroError {
    AvroError::data(
        path,
        format!(
            "expected {}, got Avro {}",
            type_name(conn.schema_type),
            format!("{:?}", apache_avro::schema::SchemaKind::from(got)).to_lowercase()
        ),
    )
}

impl<'s> Decoder<'s> {
    fn resolve(&mut self, avro: &'s Avro, path: &Path<'_>) -> Result<&'s Avro, AvroError> {
        match avro {
            Avro::Ref { name } => self.named.get(name).ok_or_else(|| unknown_ref(name, path)),
            other => Ok(other),
        }
    }

    fn value(
        &mut self,
        conn: &SchemaRef,
        avro: &'s Avro,
        datum: AValue,
        path: &Path<'_>,
    ) -> Result<Value, AvroError> {
        let avro = self.resolve(avro, path)?;
        let datum = match (avro, datum) {
            (Avro::Union(union), AValue::Union(index, inner)) => {
                let branch = union.variants().get(index as usize).ok_or_else(|| {
                    AvroError::malformed(path, format!("union branch {index} does not exist"))
                })?;
                if is_union_schema(conn) && !matches!(*inner, AValue::Null) {
                    // Connect union fields stand for the non-null branches, in order.
                    let k = union.variants()[..index as usize]
                        .iter()
                        .filter(|b| !matches!(b, Avro::Null))
                        .count();
                    let f = conn.fields.get(k).ok_or_else(|| {
                        AvroError::schema(
                            path,
                            "the Connect union has fewer fields than the Avro union",
                        )
                    })?;
                    let v = self.value(&f.schema, branch, *inner, &path.field(&f.name))?;
                    let mut s = Struct::new(conn.clone());
                    s.set(&f.name, v)
                        .map_err(|e| AvroError::data(path, e.message()))?;
                    return Ok(Value::Struct(s));
                }
                return self.value(conn, branch, *inner, path);
            }
            (_, datum) => datum,
        };
        if let AValue::Null = datum {
            if !matches!(avro, Avro::Null) {
                // apache_avro reads a boolean or string cut short as null.
                return Err(AvroError::malformed(path, "the data ends before the value"));
            }
            if conn.optional {
                return Ok(Value::Null);
            }
            return Err(AvroError::data(path, "null value for a required field"));
        }
        let value = self.non_null(conn, avro, datum, path)?;
        if LogicalType::of(conn).is_some() {
            logical::validate(conn, &value).map_err(|e| AvroError::data(path, e.message()))?;
        }
        Ok(value)
    }

    fn non_null(
        &mut self,
        conn: &SchemaRef,
        avro: &'s Avro,
        datum: AValue,
        path: &Path<'_>,
    ) -> Result<Value, AvroError> {
        use SchemaType as T;
        let narrow = |i: i32, t: &str| AvroError::data(path, format!("value {i} does not fit {t}"));
        Ok(match (conn.schema_type, datum) {
            (T::Int8, AValue::Int(i)) => {
                Value::Int8(i8::try_from(i).map_err(|_| narrow(i, "int8"))?)
            }
            (T::Int16, AValue::Int(i)) => {
                Value::Int16(i16::try_from(i).map_err(|_| narrow(i, "int16"))?)
            }
            (T::Int32, AValue::Int(i) | AValue::Date(i) | AValue::TimeMillis(i)) => Value::Int32(i),
            (
                T::Int64,
                AValue::Long(l)
                | AValue::TimestampMillis(l)
                | AValue::TimestampMicros(l)
                | AValue::TimestampNanos(l)
                | AValue::LocalTimestampMillis(l)
                | AValue::LocalTimestampMicros(l)
                | AValue::LocalTimestampNanos(l)
                | AValue::TimeMicros(l),
            ) => Value::Int64(l),
            (T::Int64, AValue::Int(i)) => Value::Int64(i64::from(i)),
            (T::Float32, AValue::Float(f)) => Value::Float32(f),
            (T::Float64, AValue::Double(d)) => Value::Float64(d),
            (T::Float64, AValue::Float(f)) => Value::Float64(f64::from(f)),
            (T::Boolean, AValue::Boolean(b)) => Value::Boolean(b),
            (T::String, AValue::String(s) | AValue::Enum(_, s)) => Value::String(s),
            (T::String, AValue::Uuid(u)) => Value::String(u.hyphenated().to_string()),
            (T::Bytes, AValue::Bytes(b) | AValue::Fixed(_, b)) => self.bytes(conn, b, path)?,
            (T::Bytes, AValue::Decimal(d)) => {
                let b = Vec::<u8>::try_from(&d)
                    .map_err(|e| AvroError::malformed(path, e.to_string()))?;
                self.bytes(conn, b, path)?
            }
            (T::Bytes, AValue::Uuid(u)) => Value::Bytes(u.as_bytes().to_vec()),
            (T::Bytes, AValue::Duration(d)) => Value::Bytes(<[u8; 12]>::from(d).to_vec()),
            (T::Bytes, AValue::BigDecimal(d)) => Value::Bytes(big_decimal_bytes(d, path)?),
            (T::Array, AValue::Array(items)) => {
                let (Avro::Array(a), Some(elem)) = (avro, conn.value_schema.as_ref()) else {
                    return Err(AvroError::schema(
                        path,
                        "array schema has no element schema",
                    ));
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    out.push(self.value(elem, &a.items, item, &path.index(i))?);
                }
                Value::Array(out)
            }
            (T::Map, AValue::Map(entries)) => {
                let (Avro::Map(m), Some(vs)) = (avro, conn.value_schema.as_ref()) else {
                    return Err(AvroError::schema(path, "map schema has no value schema"));
                };
                let value_path = path.value();
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push((Value::String(k), self.value(vs, &m.types, v, &value_path)?));
                }
                Value::Map(out)
            }
            (T::Map, AValue::Array(items)) => self.map_entries(conn, avro, items, path)?,
            (T::Struct, AValue::Record(fields)) => self.record(conn, avro, fields, path)?,
            (_, other) => return Err(mismatch(conn, &other, path)),
        })
    }

    fn bytes(&self, conn: &SchemaRef, b: Vec<u8>, path: &Path<'_>) -> Result<Value, AvroError> {
        if LogicalType::of(conn) == Some(LogicalType::Decimal) {
            let scale = decimal_scale(conn).map_err(|e| AvroError::schema(path, e.message()))?;
            let d =
                Decimal::from_bytes(&b, scale).map_err(|e| AvroError::data(path, e.message()))?;
            return Ok(d.to_value());
        }
        Ok(Value::Bytes(b))
    }

    fn map_entries(
        &mut self,
        conn: &SchemaRef,
        avro: &'s Avro,
        items: Vec<AValue>,
        path: &Path<'_>,
    ) -> Result<Value, AvroError> {
        let Avro::Array(a) = avro else {
            return Err(AvroError::schema(
                path,
                "expected an Avro array of map entries",
            ));
        };
        let Avro::Record(entry) = self.resolve(&a.items, path)? else {
            return Err(AvroError::schema(path, "map entries must be Avro records"));
        };
        let (Some(ks), Some(vs)) = (conn.key_schema.as_ref(), conn.value_schema.as_ref()) else {
            return Err(AvroError::schema(
                path,
                "map schema has no key or value schema",
            ));
        };
        let (key_path, value_path) = (path.key(), path.value());
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let AValue::Record(fields) = item else {
                return Err(AvroError::malformed(path, "map entry is not a record"));
            };
            let (mut key, mut value) = (None, None);
            for ((name, v), f) in fields.into_iter().zip(&entry.fields) {
                match name.as_str() {
                    "key" => key = Some(self.value(ks, &f.schema, v, &key_path)?),
                    "value" => value = Some(self.value(vs, &f.schema, v, &value_path)?),
                    _ => {}
                }
            }
            let (Some(k), Some(v)) = (key, value) else {
                return Err(AvroError::schema(
                    path,
                    "map entry record lacks a key or a value",
                ));
            };
            out.push((k, v));
        }
        Ok(Value::Map(out))
    }

    fn record(
        &mut self,
        conn: &SchemaRef,
        avro: &'s Avro,
        fields: Vec<(String, AValue)>,
        path: &Path<'_>,
    ) -> Result<Value, AvroError> {
        let Avro::Record(rec) = avro else {
            return Err(AvroError::schema(path, "expected an Avro record"));
        };
        let mut s = Struct::new(conn.clone());
        for (i, ((name, datum), af)) in fields.into_iter().zip(&rec.fields).enumerate() {
            let cf = match conn.fields.get(i) {
                Some(cf) if cf.name == name => cf,
                _ => match conn.field(&name) {
                    Some(cf) => cf,
                    // A field the Connect schema does not know is skipped.
                    None => continue,
                },
            };
            let field_path = path.field(&cf.name);
            let v = self.value(&cf.schema, &af.schema, datum, &field_path)?;
            s.set(&cf.name, v)
                .map_err(|e| AvroError::data(&field_path, e.message()))?;
        }
        Ok(Value::Struct(s))
    }
}

/// The bytes of an Avro `big-decimal` (which `apache_avro` parses into a
/// number): written back by `apache_avro`, without the length prefix.
fn big_decimal_bytes(d: apache_avro::BigDecimal, path: &Path<'_>) -> Result<Vec<u8>, AvroError> {
    let encoded = GenericDatumWriter::builder(&Avro::BigDecimal)
        .build()
        .and_then(|w| w.write_value_to_vec(AValue::BigDecimal(d)))
        .map_err(|e| AvroError::malformed(path, e.to_string()))?;
    // Skip the zig-zag length prefix.
    let prefix = encoded
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(encoded.len(), |i| i + 1);
    Ok(encoded[prefix..].to_vec())
}

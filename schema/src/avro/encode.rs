//! Connect value → Avro binary.
//!
//! Written directly (zig-zag varints, length-prefixed bytes, blocked arrays
//! and maps, union branch indexes) while walking the Connect schema and the
//! Avro schema together: no intermediate `apache_avro` value, no per-record
//! allocation besides the output. Tests check the bytes against
//! `apache_avro`'s own writer and read them back with its reader.

use apache_avro::Schema as Avro;
use apache_avro::schema::{Name, RecordSchema, UnionSchema, UuidSchema};

use super::binary::{block_end, block_start, write_bytes, write_bytes_as, write_long};
use super::error::{AvroError, Path};
use super::named::NamedIndex;
use super::names::{KEY_FIELD, VALUE_FIELD};
use super::to_avro::is_union_schema;
use super::to_avro_default::type_name;
use crate::logical::{self, Decimal, LogicalType};
use crate::schema::{Schema, SchemaType};
use crate::value::{Struct, Value};

/// Appends the Avro binary encoding of `value` (described by the Connect
/// `schema`, translated to `avro` by [`to_avro_schema`](super::to_avro_schema)
/// or fetched from a registry) to `out`.
///
/// A null struct field is written as the field's default, as Kafka
/// Connect's `Struct.get` reads it. On error nothing is appended.
pub fn encode_value(
    schema: &Schema,
    avro: &Avro,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), AvroError> {
    let start = out.len();
    let mut enc = Encoder {
        named: NamedIndex::new(avro),
        out,
    };
    let result = enc.value(schema, avro, value, &Path::Root);
    if result.is_err() {
        enc.out.truncate(start);
    }
    result
}

fn avro_kind(avro: &Avro) -> String {
    match avro {
        Avro::Record(r) => format!("record {}", r.name.fullname(None)),
        Avro::Enum(e) => format!("enum {}", e.name.fullname(None)),
        Avro::Fixed(f) => format!("fixed {}", f.name.fullname(None)),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

/// Whether `avro` is the natural Avro type for Connect type `t` (used to
/// pick a union branch).
fn natural_branch(t: SchemaType, avro: &Avro) -> bool {
    use SchemaType as T;
    matches!(
        (t, avro),
        (
            T::Int8 | T::Int16 | T::Int32,
            Avro::Int | Avro::Date | Avro::TimeMillis
        ) | (
            T::Int64,
            Avro::Long
                | Avro::TimestampMillis
                | Avro::TimestampMicros
                | Avro::TimestampNanos
                | Avro::LocalTimestampMillis
                | Avro::LocalTimestampMicros
                | Avro::LocalTimestampNanos
                | Avro::TimeMicros
        ) | (T::Float32, Avro::Float)
            | (T::Float64, Avro::Double)
            | (T::Boolean, Avro::Boolean)
            | (
                T::String,
                Avro::String | Avro::Enum(_) | Avro::Uuid(UuidSchema::String)
            )
            | (
                T::Bytes,
                Avro::Bytes
                    | Avro::Fixed(_)
                    | Avro::Decimal(_)
                    | Avro::BigDecimal
                    | Avro::Duration(_)
                    | Avro::Uuid(UuidSchema::Bytes | UuidSchema::Fixed(_))
            )
            | (T::Array | T::Map, Avro::Array(_))
            | (T::Map, Avro::Map(_))
            | (T::Struct, Avro::Record(_))
    )
}

struct Encoder<'s, 'o> {
    named: NamedIndex<'s>,
    out: &'o mut Vec<u8>,
}

impl<'s> Encoder<'s, '_> {
    fn resolve(&mut self, avro: &'s Avro, path: &Path<'_>) -> Result<&'s Avro, AvroError> {
        match avro {
            Avro::Ref { name } => self.named.get(name).ok_or_else(|| unknown_ref(name, path)),
            other => Ok(other),
        }
    }

    fn value(
        &mut self,
        conn: &Schema,
        avro: &'s Avro,
        value: &Value,
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        let avro = self.resolve(avro, path)?;
        if let Avro::Union(union) = avro {
            return self.union(conn, union, value, path);
        }
        let Some(actual) = value.schema_type() else {
            return Err(AvroError::data(path, "null value for a required field"));
        };
        if actual != conn.schema_type {
            return Err(AvroError::data(
                path,
                format!(
                    "expected {}, got {}",
                    type_name(conn.schema_type),
                    type_name(actual)
                ),
            ));
        }
        let logical = LogicalType::of(conn);
        if logical.is_some() {
            logical::validate(conn, value).map_err(|e| AvroError::data(path, e.message()))?;
        }
        let out = &mut *self.out;
        match (value, avro) {
            (Value::Int8(v), Avro::Int | Avro::Long) => write_long(out, i64::from(*v)),
            (Value::Int16(v), Avro::Int | Avro::Long) => write_long(out, i64::from(*v)),
            (Value::Int32(v), Avro::Int | Avro::Long | Avro::Date | Avro::TimeMillis) => {
                write_long(out, i64::from(*v))
            }
            (Value::Int64(v), a) if natural_branch(SchemaType::Int64, a) => write_long(out, *v),
            (Value::Float32(v), Avro::Float) => out.extend_from_slice(&v.to_le_bytes()),
            (Value::Float32(v), Avro::Double) => {
                out.extend_from_slice(&f64::from(*v).to_le_bytes())
            }
            (Value::Float64(v), Avro::Double) => out.extend_from_slice(&v.to_le_bytes()),
            (Value::Boolean(v), Avro::Boolean) => out.push(u8::from(*v)),
            (Value::String(s), Avro::String | Avro::Uuid(UuidSchema::String)) => {
                write_bytes(out, s.as_bytes())
            }
            (Value::String(s), Avro::Enum(e)) => {
                let index = e.symbols.iter().position(|sym| sym == s).ok_or_else(|| {
                    AvroError::data(
                        path,
                        format!(
                            "\"{s}\" is not a symbol of the Avro enum {}",
                            e.name.fullname(None)
                        ),
                    )
                })?;
                write_long(out, index as i64);
            }
            (Value::Bytes(b), a) if natural_branch(SchemaType::Bytes, a) => {
                let normalized;
                let b = if logical == Some(LogicalType::Decimal) {
                    let d = Decimal::from_value(conn, value)
                        .map_err(|e| AvroError::data(path, e.message()))?;
                    normalized = d.to_bytes();
                    &normalized
                } else {
                    b
                };
                write_bytes_as(out, b, a, path)?;
            }
            (Value::Array(items), Avro::Array(a)) if conn.schema_type == SchemaType::Array => {
                let elem = conn
                    .value_schema
                    .as_deref()
                    .ok_or_else(|| AvroError::schema(path, "array schema has no element schema"))?;
                block_start(self.out, items.len());
                for (i, item) in items.iter().enumerate() {
                    self.value(elem, &a.items, item, &path.index(i))?;
                }
                block_end(self.out);
            }
            (Value::Map(entries), Avro::Map(m)) => {
                let vs = child(conn.value_schema.as_deref(), path)?;
                block_start(self.out, entries.len());
                for (k, v) in entries {
                    let Value::String(k) = k else {
                        return Err(AvroError::data(
                            &path.key(),
                            "Avro map keys must be strings",
                        ));
                    };
                    write_bytes(self.out, k.as_bytes());
                    self.value(vs, &m.types, v, &path.value())?;
                }
                block_end(self.out);
            }
            (Value::Map(entries), Avro::Array(a)) => {
                self.map_entries(conn, &a.items, entries, path)?
            }
            (Value::Struct(s), Avro::Record(r)) => self.record(conn, r, s, path)?,
            (v, a) => {
                return Err(AvroError::data(
                    path,
                    format!(
                        "a Connect {} cannot be written as Avro {}",
                        v.schema_type().map_or("null", type_name),
                        avro_kind(a)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn union(
        &mut self,
        conn: &Schema,
        union: &'s UnionSchema,
        value: &Value,
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        let variants = union.variants();
        let null_branch = || variants.iter().position(|v| matches!(v, Avro::Null));
        let write_null = |out: &mut Vec<u8>| match null_branch() {
            Some(i) => {
                write_long(out, i as i64);
                Ok(())
            }
            None => Err(AvroError::data(path, "null value for a required field")),
        };
        if is_union_schema(conn) {
            let Value::Struct(s) = value else {
                return if value.is_null() {
                    write_null(self.out)
                } else {
                    Err(AvroError::data(path, "expected a union struct"))
                };
            };
            // The first field that is set picks the branch: fields stand for
            // the non-null branches, in order.
            for (k, f) in conn.fields.iter().enumerate() {
                let v = s.values().get(f.index).unwrap_or(&Value::Null);
                let v = if v.is_null() {
                    f.schema.default.as_ref().unwrap_or(v)
                } else {
                    v
                };
                if v.is_null() {
                    continue;
                }
                let (index, branch) = variants
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| !matches!(b, Avro::Null))
                    .nth(k)
                    .ok_or_else(|| {
                        AvroError::schema(
                            path,
                            "the Avro union has fewer branches than the Connect union",
                        )
                    })?;
                write_long(self.out, index as i64);
                return self.value(&f.schema, branch, v, &path.field(&f.name));
            }
            return write_null(self.out);
        }
        if value.is_null() {
            return write_null(self.out);
        }
        let mut non_null = variants
            .iter()
            .enumerate()
            .filter(|(_, b)| !matches!(b, Avro::Null));
        let (index, branch) = match (non_null.next(), non_null.next()) {
            (Some(only), None) => only,
            _ => self.pick_branch(conn, variants, path)?,
        };
        write_long(self.out, index as i64);
        self.value(conn, branch, value, path)
    }

    /// The branch of a union with several non-null branches to write a
    /// value of `conn` with: the first of the natural Avro type (a record
    /// of the struct's name first).
    fn pick_branch(
        &mut self,
        conn: &Schema,
        variants: &'s [Avro],
        path: &Path<'_>,
    ) -> Result<(usize, &'s Avro), AvroError> {
        let mut natural = None;
        for (i, branch) in variants.iter().enumerate() {
            let resolved = self.resolve(branch, path)?;
            if !natural_branch(conn.schema_type, resolved) {
                continue;
            }
            match (resolved, &conn.name) {
                (Avro::Record(r), Some(n)) if r.name.fullname(None) != *n => {
                    natural.get_or_insert((i, branch));
                }
                _ => return Ok((i, branch)),
            }
        }
        natural.ok_or_else(|| {
            AvroError::data(
                path,
                format!(
                    "the Avro union has no branch for a Connect {}",
                    type_name(conn.schema_type)
                ),
            )
        })
    }

    fn map_entries(
        &mut self,
        conn: &Schema,
        items: &'s Avro,
        entries: &[(Value, Value)],
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        let Avro::Record(entry) = self.resolve(items, path)? else {
            return Err(AvroError::schema(
                path,
                "a map with non-string keys needs an Avro array of key/value records",
            ));
        };
        let ks = child(conn.key_schema.as_deref(), path)?;
        let vs = child(conn.value_schema.as_deref(), path)?;
        block_start(self.out, entries.len());
        let (key_path, value_path) = (path.key(), path.value());
        for (k, v) in entries {
            for f in &entry.fields {
                match f.name.as_str() {
                    KEY_FIELD => self.value(ks, &f.schema, k, &key_path)?,
                    VALUE_FIELD => self.value(vs, &f.schema, v, &value_path)?,
                    other => {
                        return Err(AvroError::schema(
                            path,
                            format!("unexpected field \"{other}\" in a map entry record"),
                        ));
                    }
                }
            }
        }
        block_end(self.out);
        Ok(())
    }

    fn record(
        &mut self,
        conn: &Schema,
        rec: &'s RecordSchema,
        s: &Struct,
        path: &Path<'_>,
    ) -> Result<(), AvroError> {
        if !conn.accepts_struct_schema(s.schema()) {
            return Err(AvroError::data(
                path,
                "the struct's schema does not match the schema of the field",
            ));
        }
        let values = s.values();
        let positional = rec.fields.len() == conn.fields.len();
        for (i, af) in rec.fields.iter().enumerate() {
            let cf = match conn.fields.get(i) {
                Some(cf) if cf.name == af.name => cf,
                by_position => match conn.field(&af.name).or(by_position.filter(|_| positional)) {
                    Some(cf) => cf,
                    None => {
                        return Err(AvroError::schema(
                            &path.field(&af.name),
                            "the Avro record has a field the Connect struct lacks",
                        ));
                    }
                },
            };
            let v = values.get(cf.index).unwrap_or(&Value::Null);
            let v = if v.is_null() {
                cf.schema.default.as_ref().unwrap_or(v)
            } else {
                v
            };
            self.value(&cf.schema, &af.schema, v, &path.field(&cf.name))?;
        }
        Ok(())
    }
}

fn child<'a>(schema: Option<&'a Schema>, path: &Path<'_>) -> Result<&'a Schema, AvroError> {
    schema.ok_or_else(|| AvroError::schema(path, "map schema has no key or value schema"))
}

pub(crate) fn unknown_ref(name: &Name, path: &Path<'_>) -> AvroError {
    AvroError::schema(
        path,
        format!(
            "the Avro schema refers to {} but does not define it",
            name.fullname(None)
        ),
    )
}

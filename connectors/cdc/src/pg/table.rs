//! A captured table: its topic, key and row schemas, and how a tuple (from
//! the snapshot or the stream) becomes key and row values.

use std::sync::Arc;

use sluice_connect_api::schema::{SchemaBuilder, SchemaRef, SchemaType, Struct, Value};

use crate::envelope::envelope_schema;
use crate::filters::Filters;
use crate::pg::catalog::ColDesc;
use crate::pg::decode::{Mapped, map_type, value};
use crate::types::{DbzType, DecimalMode, Modes};

/// One value of a tuple, as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw<'a> {
    Null,
    /// An unchanged TOASTed value the stream left out.
    Unchanged,
    Bytes(&'a [u8]),
    /// A value in text form (the stream sends text for a type without a
    /// binary form): fine for a column left out, an error for one kept.
    Text(&'a [u8]),
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    /// The field's schema (set when mapped).
    schema: Option<SchemaRef>,
    mapped: Option<Mapped>,
    optional: bool,
    /// In the row value (mapped, and not excluded by the column filters).
    kept: bool,
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    /// `schema.table`.
    pub qualified: String,
    pub topic: Arc<str>,
    cols: Vec<Col>,
    /// Indices of the key columns.
    key: Vec<usize>,
    pub key_schema: Option<SchemaRef>,
    pub row_schema: SchemaRef,
    pub envelope_schema: SchemaRef,
    modes: Modes,
    placeholder: String,
}

/// Avro-safe schema names, as Debezium's `schema.name.adjustment.mode=avro`
/// makes them: characters outside `[A-Za-z0-9_.]` become `_`, and a leading
/// digit gets a `_` prefix.
pub fn avro_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

impl TableInfo {
    /// Builds the table from its catalog columns. Returns the table and
    /// warnings (columns left out, no key).
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        prefix: &str,
        schema: &str,
        name: &str,
        descs: &[ColDesc],
        filters: &Filters,
        modes: Modes,
        source_schema: &SchemaRef,
        placeholder: &str,
        avro_names: bool,
    ) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let qualified = format!("{schema}.{name}");
        let base = format!("{prefix}.{schema}.{name}");
        let base = if avro_names { avro_name(&base) } else { base };
        let cols: Vec<Col> = descs
            .iter()
            .map(|c| {
                let mapped = map_type(&c.ty);
                if mapped.is_none() {
                    warnings.push(format!(
                        "column '{qualified}.{}' has type '{}', which has no Debezium mapping here: it is left out of events",
                        c.name, c.ty.name
                    ));
                }
                let kept = mapped.is_some() && filters.column(schema, name, &c.name);
                Col {
                    name: c.name.clone(),
                    schema: mapped.as_ref().map(|m| m.ty.schema(modes, !c.not_null)),
                    mapped,
                    optional: !c.not_null,
                    kept,
                }
            })
            .collect();
        let key: Vec<usize> = match filters.key_columns.for_table(&qualified) {
            Some(names) => names
                .iter()
                .filter_map(|n| {
                    let i = cols
                        .iter()
                        .position(|c| &c.name == n && c.mapped.is_some());
                    if i.is_none() {
                        warnings.push(format!(
                            "message.key.columns names '{n}', which table '{qualified}' does not have (or cannot map)"
                        ));
                    }
                    i
                })
                .collect(),
            None => {
                let mut pk: Vec<(i32, usize)> = descs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, d)| d.pk_pos.filter(|_| cols[i].mapped.is_some()).map(|p| (p, i)))
                    .collect();
                pk.sort_unstable();
                pk.into_iter().map(|(_, i)| i).collect()
            }
        };
        if key.is_empty() {
            warnings.push(format!(
                "table '{qualified}' has no primary key (and no message.key.columns entry): its events have a null key"
            ));
        }
        let key_schema = (!key.is_empty()).then(|| {
            let mut b = SchemaBuilder::struct_().name(format!("{base}.Key"));
            for &i in &key {
                let c = &cols[i];
                if let Some(m) = &c.mapped {
                    b = b.field(c.name.clone(), m.ty.schema(modes, c.optional));
                }
            }
            b.build()
        });
        let mut b = SchemaBuilder::struct_()
            .optional()
            .name(format!("{base}.Value"));
        for c in cols.iter().filter(|c| c.kept) {
            if let Some(m) = &c.mapped {
                b = b.field(c.name.clone(), m.ty.schema(modes, c.optional));
            }
        }
        let row_schema = b.build();
        let envelope_schema = envelope_schema(&base, &row_schema, source_schema);
        let t = TableInfo {
            schema: schema.to_string(),
            name: name.to_string(),
            qualified: qualified.clone(),
            topic: Arc::from(format!("{prefix}.{schema}.{name}")),
            cols,
            key,
            key_schema,
            row_schema,
            envelope_schema,
            modes,
            placeholder: placeholder.to_string(),
        };
        (t, warnings)
    }

    /// Column names in tuple order, for matching a stream's relation.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.cols.iter().map(|c| c.name.as_str())
    }

    pub fn column_count(&self) -> usize {
        self.cols.len()
    }

    pub fn has_key(&self) -> bool {
        !self.key.is_empty()
    }

    /// The row value of a tuple. `prev` fills unchanged TOASTed values
    /// when given (the old image of the same row); otherwise they get the
    /// placeholder. Missing values (null in a key-only old image) of
    /// required columns get Debezium's fallback (zero) values when
    /// `fallback` is set.
    pub fn row(
        &self,
        raw: &[Raw<'_>],
        prev: Option<&[Raw<'_>]>,
        fallback: bool,
    ) -> Result<Value, String> {
        if raw.len() != self.cols.len() {
            return Err(format!(
                "{} values for {} columns",
                raw.len(),
                self.cols.len()
            ));
        }
        let mut values = Vec::with_capacity(self.cols.len());
        for (i, c) in self.cols.iter().enumerate() {
            if !c.kept {
                continue;
            }
            let Some(m) = &c.mapped else { continue };
            values.push(self.cell(c, m, raw[i], prev.map(|p| p[i]), fallback)?);
        }
        Ok(Value::Struct(Struct::from_parts_unchecked(
            self.row_schema.clone(),
            values,
        )))
    }

    fn cell(
        &self,
        c: &Col,
        m: &Mapped,
        raw: Raw<'_>,
        prev: Option<Raw<'_>>,
        fallback: bool,
    ) -> Result<Value, String> {
        let raw = match (raw, prev) {
            (Raw::Unchanged, Some(p @ Raw::Bytes(_))) => p,
            (r, _) => r,
        };
        let v = match raw {
            Raw::Null => Value::Null,
            Raw::Unchanged => {
                return Ok(m.ty.placeholder(self.modes, &self.placeholder).unwrap_or(
                    if c.optional {
                        Value::Null
                    } else {
                        fallback_value(&m.ty, self.modes)
                    },
                ));
            }
            Raw::Bytes(b) => {
                value(m, self.modes, Some(b)).map_err(|e| format!("column '{}': {e}", c.name))?
            }
            Raw::Text(_) => {
                return Err(format!(
                    "column '{}' ({:?}) came in text form, which is not decoded",
                    c.name, m.ty
                ));
            }
        };
        // Struct values (VariableScaleDecimal) carry their field's exact
        // schema, optional or not, as converters check.
        let v = match &c.schema {
            Some(s) => conform(v, s),
            None => v,
        };
        if v.is_null() && !c.optional {
            if fallback {
                return Ok(fallback_value(&m.ty, self.modes));
            }
            return Err(format!(
                "column '{}' is NOT NULL but has no value that Connect can carry",
                c.name
            ));
        }
        Ok(v)
    }

    /// The key value of a tuple (`Value::Null` without a key).
    pub fn key(&self, raw: &[Raw<'_>]) -> Result<Value, String> {
        let Some(schema) = &self.key_schema else {
            return Ok(Value::Null);
        };
        if raw.len() != self.cols.len() {
            return Err(format!(
                "{} values for {} columns",
                raw.len(),
                self.cols.len()
            ));
        }
        let mut values = Vec::with_capacity(self.key.len());
        for &i in &self.key {
            let c = &self.cols[i];
            let Some(m) = &c.mapped else { continue };
            values.push(self.cell(c, m, raw[i], None, true)?);
        }
        Ok(Value::Struct(Struct::from_parts_unchecked(
            schema.clone(),
            values,
        )))
    }
}

/// A value with struct parts re-labelled with `schema`'s struct schemas.
fn conform(v: Value, schema: &SchemaRef) -> Value {
    match v {
        Value::Struct(s) if schema.schema_type == SchemaType::Struct => {
            let (_, values) = s.into_parts();
            Value::Struct(Struct::from_parts_unchecked(schema.clone(), values))
        }
        Value::Array(items) => match &schema.value_schema {
            Some(el) if el.schema_type == SchemaType::Struct => {
                Value::Array(items.into_iter().map(|i| conform(i, el)).collect())
            }
            _ => Value::Array(items),
        },
        other => other,
    }
}

/// Debezium's value for a required column the event does not carry.
fn fallback_value(ty: &DbzType, modes: Modes) -> Value {
    match ty {
        DbzType::Bool => Value::Boolean(false),
        DbzType::Int16 => Value::Int16(0),
        DbzType::Int32 | DbzType::Date => Value::Int32(0),
        DbzType::Int64 | DbzType::Interval => Value::Int64(0),
        DbzType::Float32 => Value::Float32(0.0),
        DbzType::Float64 => Value::Float64(0.0),
        DbzType::Time(_) | DbzType::Timestamp(_) => match ty.time_value(modes, 0) {
            Value::Int32(_) if matches!(ty, DbzType::Time(_)) => Value::Int32(0),
            _ if matches!(ty, DbzType::Timestamp(_)) => Value::Int64(0),
            v => v,
        },
        DbzType::Decimal { .. } | DbzType::VariableDecimal => match modes.decimal {
            DecimalMode::Double => Value::Float64(0.0),
            DecimalMode::String => Value::String("0".into()),
            DecimalMode::Precise => match ty {
                DbzType::VariableDecimal => Value::Struct(Struct::from_parts_unchecked(
                    ty.schema(modes, false),
                    vec![Value::Int32(0), Value::Bytes(vec![0])],
                )),
                _ => Value::Bytes(vec![0]),
            },
        },
        DbzType::Bytes => DbzType::bytes_value(modes, &[]),
        DbzType::Array(_) => Value::Array(Vec::new()),
        DbzType::Text(_)
        | DbzType::Enum(_)
        | DbzType::ZonedTimestamp(_)
        | DbzType::ZonedTime(_) => Value::String(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::pg_source_schema;
    use crate::pg::decode::PgType;

    fn col(name: &str, oid: u32, not_null: bool, pk: Option<i32>) -> ColDesc {
        ColDesc {
            name: name.into(),
            ty: PgType {
                oid,
                typmod: -1,
                name: String::new(),
                enum_labels: None,
                element: None,
            },
            not_null,
            pk_pos: pk,
        }
    }

    #[test]
    fn rows_keys_and_placeholders() {
        let cols = [
            col("b", 23, true, Some(2)),
            col("a", 23, true, Some(1)),
            col("doc", 25, false, None),
            col("pt", 600, false, None),
            col("n", 20, true, None),
        ];
        let (t, warnings) = TableInfo::build(
            "srv",
            "public",
            "t-1",
            &cols,
            &Filters::default(),
            Modes::default(),
            &pg_source_schema(),
            "__debezium_unavailable_value",
            true,
        );
        assert_eq!(&*t.topic, "srv.public.t-1");
        assert_eq!(t.row_schema.name.as_deref(), Some("srv.public.t_1.Value"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let key = t.key_schema.clone().unwrap();
        let names: Vec<_> = key.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let one = 1i32.to_be_bytes();
        let two = 2i32.to_be_bytes();
        let raw = [
            Raw::Bytes(&two),
            Raw::Bytes(&one),
            Raw::Unchanged,
            Raw::Null,
            Raw::Null,
        ];
        let Value::Struct(k) = t.key(&raw).unwrap() else {
            panic!()
        };
        assert_eq!(k.values(), [Value::Int32(1), Value::Int32(2)]);
        // A required column without a value: an error, or the fallback.
        assert!(t.row(&raw, None, false).is_err());
        let Value::Struct(r) = t.row(&raw, None, true).unwrap() else {
            panic!()
        };
        assert_eq!(
            r.values(),
            [
                Value::Int32(2),
                Value::Int32(1),
                Value::String("__debezium_unavailable_value".into()),
                Value::Int64(0)
            ]
        );
        // The previous image fills an unchanged value.
        let prev = [
            Raw::Null,
            Raw::Null,
            Raw::Bytes(b"old text"),
            Raw::Null,
            Raw::Null,
        ];
        let Value::Struct(r) = t.row(&raw, Some(&prev), true).unwrap() else {
            panic!()
        };
        assert_eq!(r.values()[2], Value::String("old text".into()));
    }
}

//! [`Value`] and [`Struct`]: data described by a [`Schema`].

use crate::error::DataError;
use crate::schema::{Schema, SchemaRef, SchemaType};

/// A Kafka Connect value. Logical types use their physical representation:
/// Decimal is `Bytes` (big-endian two's-complement unscaled value), Date and
/// Time are `Int32`, Timestamp is `Int64`; see [`crate::logical`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in insertion order; keys may be any value.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The schema type this value would have, or `None` for `Null`.
    pub fn schema_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// About how many bytes this value holds: payload bytes of strings and
    /// byte arrays, 8 per scalar, summed through containers. For bounding
    /// queues, not for accounting; constant time for strings and bytes.
    pub fn approx_size(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Array(a) => a.iter().map(Value::approx_size).sum(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| k.approx_size() + v.approx_size())
                .sum(),
            Value::Struct(s) => s.values().iter().map(Value::approx_size).sum(),
            _ => 8,
        }
    }

    /// Checks this value against `schema`, as Kafka Connect's
    /// `ConnectSchema.validateValue`.
    pub fn validate(&self, schema: &Schema) -> Result<(), DataError> {
        self.validate_at(schema, None)
    }

    pub(crate) fn validate_at(&self, schema: &Schema, path: Option<&str>) -> Result<(), DataError> {
        let at = || match path {
            Some(p) => format!(" for field: \"{p}\""),
            None => String::new(),
        };
        let Some(actual) = self.schema_type() else {
            if schema.optional || schema.default.is_some() {
                return Ok(());
            }
            return Err(DataError::new(format!(
                "Invalid value: null used for required field{}, schema type: {}",
                at(),
                schema.schema_type
            )));
        };
        if actual != schema.schema_type {
            return Err(DataError::new(format!(
                "Invalid Java object for schema with type {}: {}{}",
                schema.schema_type,
                actual.upper_name(),
                at()
            )));
        }
        crate::logical::validate(schema, self).map_err(|e| match path {
            Some(p) => DataError::new(format!("{} (field \"{p}\")", e.message())),
            None => e,
        })?;
        let child = |suffix: &str| match path {
            Some(p) => format!("{p}.{suffix}"),
            None => suffix.to_string(),
        };
        match self {
            Value::Array(items) => {
                let elem = schema.value_schema.as_ref().ok_or_else(|| {
                    DataError::new("array schema has no element schema".to_string())
                })?;
                for (i, item) in items.iter().enumerate() {
                    item.validate_at(elem, Some(&child(&format!("[{i}]"))))?;
                }
            }
            Value::Map(entries) => {
                let (Some(ks), Some(vs)) = (&schema.key_schema, &schema.value_schema) else {
                    return Err(DataError::new("map schema has no key or value schema"));
                };
                for (k, v) in entries {
                    k.validate_at(ks, Some(&child("<key>")))?;
                    v.validate_at(vs, Some(&child("<value>")))?;
                }
            }
            Value::Struct(s) => {
                if !schema.accepts_struct_schema(&s.schema) {
                    return Err(DataError::new(format!(
                        "Struct schemas do not match{}",
                        at()
                    )));
                }
                s.validate_inner(path)?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

/// A schema and a value, as Kafka Connect's `SchemaAndValue`. A `None`
/// schema means schemaless data.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl SchemaAndValue {
    pub const NULL: SchemaAndValue = SchemaAndValue {
        schema: None,
        value: Value::Null,
    };

    pub fn new(schema: Option<SchemaRef>, value: Value) -> Self {
        Self { schema, value }
    }
}

/// A struct value: one slot per field of its schema, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct (every field null) of a struct schema.
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Self { schema, values }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Sets a field by name; the value is checked against the field's schema.
    pub fn put(mut self, field: &str, value: Value) -> Result<Self, DataError> {
        self.set(field, value)?;
        Ok(self)
    }

    /// Sets a field by name in place.
    pub fn set(&mut self, field: &str, value: Value) -> Result<(), DataError> {
        let f = self
            .schema
            .field(field)
            .ok_or_else(|| DataError::new(format!("{field} is not a valid field name")))?;
        value.validate_at(&f.schema, Some(field))?;
        let (index, len) = (f.index, self.values.len());
        let slot = self.values.get_mut(index).ok_or_else(|| {
            DataError::new(format!(
                "field {field} has index {index} but the struct has {len} fields"
            ))
        })?;
        *slot = value;
        Ok(())
    }

    /// A field's value as stored (`Null` when unset), or `None` when the
    /// schema has no such field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        self.values.get(f.index)
    }

    /// A field's value, falling back to the field schema's default when the
    /// stored value is null (Kafka Connect's `Struct.get`).
    pub fn get_or_default(&self, field: &str) -> Option<&Value> {
        let f = self.schema.field(field)?;
        match self.values.get(f.index) {
            Some(Value::Null) | None => f.schema.default.as_ref().or(Some(&Value::Null)),
            Some(v) => Some(v),
        }
    }

    /// Values in field order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The schema and the values in field order, without copying: for
    /// transforms that rebuild a struct from the values of another.
    pub fn into_parts(self) -> (SchemaRef, Vec<Value>) {
        (self.schema, self.values)
    }

    /// A struct from a schema and one value per field, in field order,
    /// without checking the values against the schema: the caller
    /// guarantees they fit (e.g. they were moved out of a valid struct of a
    /// schema with the same field schemas). A length mismatch is a bug,
    /// caught by a debug assertion.
    pub fn from_parts_unchecked(schema: SchemaRef, values: Vec<Value>) -> Self {
        debug_assert_eq!(
            values.len(),
            schema.fields.len(),
            "one value per field of the struct schema"
        );
        Self { schema, values }
    }

    /// Checks every field, including that required fields are set.
    pub fn validate(&self) -> Result<(), DataError> {
        self.validate_inner(None)
    }

    fn validate_inner(&self, path: Option<&str>) -> Result<(), DataError> {
        for f in &self.schema.fields {
            let p = match path {
                Some(p) => format!("{p}.{}", f.name),
                None => f.name.clone(),
            };
            // A field whose index is out of range (a hand-built schema) is unset.
            let value = self.values.get(f.index).unwrap_or(&Value::Null);
            value.validate_at(&f.schema, Some(&p))?;
        }
        Ok(())
    }
}

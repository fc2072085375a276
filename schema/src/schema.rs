//! [`Schema`]: the type of a [`Value`](crate::Value), as Kafka Connect's `Schema`.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::value::Value;

/// Shared, immutable schema. Records hold schemas by reference count so a
/// batch of records of one schema shares one allocation.
pub type SchemaRef = Arc<Schema>;

/// Kafka Connect's `Schema.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The lower-case name Kafka Connect uses in JSON schemas and messages
    /// (`int32`, `float`, `double`, `struct`, ...).
    pub fn json_name(self) -> &'static str {
        match self {
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Float32 => "float",
            Self::Float64 => "double",
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Bytes => "bytes",
            Self::Array => "array",
            Self::Map => "map",
            Self::Struct => "struct",
        }
    }

    /// Inverse of [`SchemaType::json_name`].
    pub fn from_json_name(name: &str) -> Option<Self> {
        Some(match name {
            "int8" => Self::Int8,
            "int16" => Self::Int16,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "float" => Self::Float32,
            "double" => Self::Float64,
            "boolean" => Self::Boolean,
            "string" => Self::String,
            "bytes" => Self::Bytes,
            "array" => Self::Array,
            "map" => Self::Map,
            "struct" => Self::Struct,
            _ => return None,
        })
    }

    /// Kafka Connect's upper-case enum name (`INT32`, `FLOAT64`, ...), used in
    /// error messages.
    pub fn upper_name(self) -> &'static str {
        match self {
            Self::Int8 => "INT8",
            Self::Int16 => "INT16",
            Self::Int32 => "INT32",
            Self::Int64 => "INT64",
            Self::Float32 => "FLOAT32",
            Self::Float64 => "FLOAT64",
            Self::Boolean => "BOOLEAN",
            Self::String => "STRING",
            Self::Bytes => "BYTES",
            Self::Array => "ARRAY",
            Self::Map => "MAP",
            Self::Struct => "STRUCT",
        }
    }

    pub fn is_primitive(self) -> bool {
        !matches!(self, Self::Array | Self::Map | Self::Struct)
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.upper_name())
    }
}

/// One field of a struct schema. Fields keep their declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: SchemaRef,
}

/// Kafka Connect's `Schema` (`ConnectSchema`).
///
/// Build one with [`SchemaBuilder`] or use the shared constants
/// ([`Schema::string`], [`Schema::optional_int64`], ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub schema_type: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Insertion order is kept: Kafka Connect keeps it too, and it shows in
    /// the JSON converter's output.
    pub parameters: Vec<(String, String)>,
    /// Struct fields, in order. Empty for other types.
    pub fields: Vec<Field>,
    /// Map key schema.
    pub key_schema: Option<SchemaRef>,
    /// Map value schema, or array element schema.
    pub value_schema: Option<SchemaRef>,
}

macro_rules! shared_schema {
    ($name:ident, $opt_name:ident, $ty:ident) => {
        #[doc = concat!("The shared required `", stringify!($ty), "` schema.")]
        pub fn $name() -> SchemaRef {
            static S: OnceLock<SchemaRef> = OnceLock::new();
            S.get_or_init(|| Arc::new(Schema::primitive(SchemaType::$ty, false)))
                .clone()
        }
        #[doc = concat!("The shared optional `", stringify!($ty), "` schema.")]
        pub fn $opt_name() -> SchemaRef {
            static S: OnceLock<SchemaRef> = OnceLock::new();
            S.get_or_init(|| Arc::new(Schema::primitive(SchemaType::$ty, true)))
                .clone()
        }
    };
}

impl Schema {
    /// A bare schema of a primitive type.
    pub fn primitive(schema_type: SchemaType, optional: bool) -> Self {
        Self {
            schema_type,
            optional,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            key_schema: None,
            value_schema: None,
        }
    }

    shared_schema!(int8, optional_int8, Int8);
    shared_schema!(int16, optional_int16, Int16);
    shared_schema!(int32, optional_int32, Int32);
    shared_schema!(int64, optional_int64, Int64);
    shared_schema!(float32, optional_float32, Float32);
    shared_schema!(float64, optional_float64, Float64);
    shared_schema!(boolean, optional_boolean, Boolean);
    shared_schema!(string, optional_string, String);
    shared_schema!(bytes, optional_bytes, Bytes);

    /// The struct field called `name`, if this is a struct schema that has one.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether a struct whose schema is `actual` is a valid value of this
    /// schema: the schemas are equal, or equal but for this schema's default
    /// value. (A struct default can only be built with the schema minus its
    /// own default, so strict equality would reject every struct default.)
    pub(crate) fn accepts_struct_schema(&self, actual: &Schema) -> bool {
        std::ptr::eq(self, actual)
            || self == actual
            || (actual.default.is_none()
                && self.schema_type == actual.schema_type
                && self.optional == actual.optional
                && self.name == actual.name
                && self.version == actual.version
                && self.doc == actual.doc
                && self.parameters == actual.parameters
                && self.fields == actual.fields
                && self.key_schema == actual.key_schema
                && self.value_schema == actual.value_schema)
    }

    /// A parameter's value (e.g. `scale` of a Decimal).
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Fluent builder, as Kafka Connect's `SchemaBuilder`.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    pub fn new(schema_type: SchemaType) -> Self {
        Self {
            schema: Schema::primitive(schema_type, false),
        }
    }

    pub fn int8() -> Self {
        Self::new(SchemaType::Int8)
    }
    pub fn int16() -> Self {
        Self::new(SchemaType::Int16)
    }
    pub fn int32() -> Self {
        Self::new(SchemaType::Int32)
    }
    pub fn int64() -> Self {
        Self::new(SchemaType::Int64)
    }
    pub fn float32() -> Self {
        Self::new(SchemaType::Float32)
    }
    pub fn float64() -> Self {
        Self::new(SchemaType::Float64)
    }
    pub fn boolean() -> Self {
        Self::new(SchemaType::Boolean)
    }
    pub fn string() -> Self {
        Self::new(SchemaType::String)
    }
    pub fn bytes() -> Self {
        Self::new(SchemaType::Bytes)
    }
    pub fn struct_() -> Self {
        Self::new(SchemaType::Struct)
    }

    pub fn array(value_schema: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Array);
        b.schema.value_schema = Some(value_schema);
        b
    }

    pub fn map(key_schema: SchemaRef, value_schema: SchemaRef) -> Self {
        let mut b = Self::new(SchemaType::Map);
        b.schema.key_schema = Some(key_schema);
        b.schema.value_schema = Some(value_schema);
        b
    }

    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.schema.optional = false;
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }

    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }

    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }

    /// Sets the default value. It is not validated here; call
    /// [`SchemaBuilder::try_build`] to check it against the schema.
    pub fn default_value(mut self, value: Value) -> Self {
        self.schema.default = Some(value);
        self
    }

    /// Sets a parameter, replacing an earlier value for the same key.
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.schema.parameters.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.schema.parameters.push((key, value));
        }
        self
    }

    /// Adds a struct field. A field name given twice replaces the earlier
    /// field's schema (Kafka Connect throws; builders here stay infallible and
    /// [`SchemaBuilder::try_build`] reports duplicates instead).
    pub fn field(mut self, name: impl Into<String>, schema: SchemaRef) -> Self {
        let index = self.schema.fields.len();
        self.schema.fields.push(Field {
            name: name.into(),
            index,
            schema,
        });
        self
    }

    /// Builds without checks.
    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }

    /// Builds after checking that field names are unique, that fields only
    /// appear on structs, and that the default value fits the schema.
    pub fn try_build(self) -> Result<SchemaRef, crate::DataError> {
        let s = &self.schema;
        if !s.fields.is_empty() && s.schema_type != SchemaType::Struct {
            return Err(crate::DataError::new(format!(
                "cannot add fields to a non-struct schema of type {}",
                s.schema_type
            )));
        }
        for (i, f) in s.fields.iter().enumerate() {
            if s.fields[..i].iter().any(|g| g.name == f.name) {
                return Err(crate::DataError::new(format!(
                    "cannot create field because of field name duplication: {}",
                    f.name
                )));
            }
        }
        if let Some(default) = &s.default {
            default.validate(s).map_err(|e| {
                crate::DataError::new(format!("invalid default value: {}", e.message()))
            })?;
        }
        Ok(Arc::new(self.schema))
    }
}

//! Converters between Connect data ([`SchemaAndValue`]) and record bytes, with
//! the same output as Kafka Connect's converters of the same class name.
//!
//! | converter              | Kafka Connect class                                         |
//! |------------------------|-------------------------------------------------------------|
//! | [`StringConverter`]    | `org.apache.kafka.connect.storage.StringConverter`          |
//! | [`ByteArrayConverter`] | `org.apache.kafka.connect.converters.ByteArrayConverter`    |
//! | [`JsonConverter`]      | `org.apache.kafka.connect.json.JsonConverter`               |

use std::collections::BTreeMap;

use crate::error::DataError;
use crate::schema::SchemaRef;
use crate::value::{SchemaAndValue, Value};

#[cfg(feature = "avro")]
mod avro;
mod byte_array;
pub(crate) mod java;
pub use java::civil_from_days;
mod json;
mod string;

#[cfg(feature = "avro")]
pub use avro::AvroConverter;
pub use byte_array::ByteArrayConverter;
pub use json::{DecimalFormat, JsonConverter};
pub use string::{StringConverter, to_java_string};

/// Kafka Connect's `Converter`: Connect data to record bytes and back.
pub trait Converter: Send + Sync + std::fmt::Debug {
    /// Kafka Connect's `fromConnectData`. `Ok(None)` means null bytes (e.g. a
    /// tombstone or a null key).
    #[allow(clippy::wrong_self_convention)] // named after Kafka's method
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, ConvertError>;

    /// [`Self::from_connect`] into a buffer the caller reuses from record
    /// to record: `out` is cleared, then holds the bytes; `Ok(false)` means
    /// null bytes. The default calls `from_connect` and moves its vector
    /// in; converters that write bytes themselves override it so the hot
    /// path allocates nothing per record.
    #[allow(clippy::wrong_self_convention)] // named after Kafka's method
    fn from_connect_into(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, ConvertError> {
        out.clear();
        match self.from_connect(topic, schema, value)? {
            None => Ok(false),
            Some(bytes) => {
                *out = bytes;
                Ok(true)
            }
        }
    }

    /// The bytes `from_connect` would give, when they are the value's own
    /// bytes: borrowed, no copy (StringConverter's strings,
    /// ByteArrayConverter's byte arrays). `None`: convert with
    /// [`Self::from_connect_into`]. A converter that overrides this must
    /// return exactly what `from_connect` returns.
    fn borrowed_bytes<'v>(
        &self,
        _schema: Option<&SchemaRef>,
        _value: &'v Value,
    ) -> Option<&'v [u8]> {
        None
    }

    /// Kafka Connect's `toConnectData`. `None` bytes give
    /// [`SchemaAndValue::NULL`] (schema `None`, `Value::Null`) unless the
    /// converter says otherwise.
    fn to_connect(&self, topic: &str, bytes: Option<&[u8]>)
    -> Result<SchemaAndValue, ConvertError>;
}

/// Converter settings with the `key.converter.` / `value.converter.` prefix
/// already stripped.
#[derive(Debug, Clone, Default)]
pub struct ConverterConfig {
    pub is_key: bool,
    pub props: BTreeMap<String, String>,
}

impl ConverterConfig {
    /// Settings for a key (`is_key`) or value converter, without properties.
    pub fn new(is_key: bool) -> Self {
        Self {
            is_key,
            props: BTreeMap::new(),
        }
    }

    /// Adds a property (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.props.insert(key.into(), value.into());
        self
    }

    /// A property's value, trimmed as Kafka's `ConfigDef` trims values.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(|v| v.trim())
    }

    /// A `BOOLEAN` property as Kafka's `ConfigDef` parses it: `true`/`false`,
    /// any case.
    pub fn get_bool(&self, key: &str, default: bool) -> Result<bool, ConvertError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConvertError::config(
                key,
                format!("Expected value to be either true or false, got \"{v}\""),
            )),
        }
    }

    /// An `INT` property (a 32-bit integer), as Kafka's `ConfigDef`.
    pub fn get_int(&self, key: &str, default: i32) -> Result<i32, ConvertError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<i32>().map_err(|_| {
                ConvertError::config(key, format!("Not a number of type INT: \"{v}\""))
            }),
        }
    }
}

/// Why a conversion or a converter's configuration failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A converter setting has a value the converter does not accept.
    #[error("Invalid value for converter configuration {key}: {message}")]
    Config { key: String, message: String },
    /// Connect data could not be written as bytes.
    #[error("Converting Kafka Connect data to byte[] failed: {0}")]
    Serialize(String),
    /// Bytes could not be read (malformed JSON, invalid UTF-8, ...).
    #[error("Converting byte[] to Kafka Connect data failed: {0}")]
    Deserialize(String),
    /// Data and schema do not fit together (Kafka Connect's `DataException`).
    /// The schema registry refused a request or could not be reached.
    #[error("Schema registry request failed: {0}")]
    Registry(String),
    /// The schema registry could not be reached or answered with a server
    /// error: trying again later may work (`errors.retry.timeout`).
    #[error("Schema registry request failed: {0}")]
    RegistryUnavailable(String),
    #[error(transparent)]
    Data(#[from] DataError),
}

impl ConvertError {
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// Whether trying the same conversion again later may succeed (Kafka
    /// Connect's `RetriableException`): only an unreachable or failing
    /// schema registry.
    pub fn is_retriable(&self) -> bool {
        matches!(self, Self::RegistryUnavailable(_))
    }

    pub(crate) fn data(message: impl Into<String>) -> Self {
        Self::Data(DataError::new(message))
    }
}
